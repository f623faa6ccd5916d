//! `calldesk caller list`: the registered callers as a table, in `dnc list`'s style.

use crate::domain::text::strip_controls;
use crate::store::Caller;

/// The callers as aligned columns under a header, then a count; no callers says how to add one.
/// `extension` gives a caller's TeleCMI extension (`TELECMI_AGENTS`), if they may place TeleCMI calls.
pub fn table<'a>(callers: &[Caller], extension: impl Fn(i64) -> Option<&'a str>) -> String {
    if callers.is_empty() {
        return "No callers registered: add one with `calldesk caller add ID NAME`.\n".into();
    }
    let names: Vec<String> = callers.iter().map(|c| strip_controls(&c.name)).collect();
    let id_w = callers.iter().map(|c| c.id.to_string().len()).max().unwrap_or(0).max("ID".len());
    let name_w = names.iter().map(|n| n.chars().count()).max().unwrap_or(0).clamp("NAME".len(), 30);
    let role_w = callers.iter().map(|c| c.role.len()).max().unwrap_or(0).max("ROLE".len());
    let mut s = format!("{:>id_w$}  {:<name_w$}  {:<role_w$}  TELECMI EXT\n", "ID", "NAME", "ROLE");
    for (c, name) in callers.iter().zip(names) {
        let name: String = name.chars().take(name_w).collect();
        let ext = extension(c.id).unwrap_or("-");
        s.push_str(&format!("{:>id_w$}  {name:<name_w$}  {:<role_w$}  {ext}\n", c.id, c.role));
    }
    s.push_str(&format!("{}.\n", crate::domain::text::plural(callers.len(), "caller")));
    s
}

#[cfg(test)]
mod tests {
    use super::table;
    use crate::store::Caller;

    #[test]
    fn the_list_is_a_readable_table() {
        assert_eq!(table(&[], |_| None), "No callers registered: add one with `calldesk caller add ID NAME`.\n");
        let c = |id, name: &str, role: &str| Caller { id, name: name.into(), role: role.into() };
        let t = table(&[c(3, "Pooja", "agent"), c(12, "Meera Iyer", "supervisor")], |id| (id == 3).then_some("5003"));
        assert_eq!(
            t,
            "ID  NAME        ROLE        TELECMI EXT\n \
             3  Pooja       agent       5003\n\
             12  Meera Iyer  supervisor  -\n\
             2 callers.\n"
        );
    }
}
