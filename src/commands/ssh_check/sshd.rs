//! The sshd half of `calldesk ssh check`: sshd's effective settings for the service account
//! (`sshd -T -C user=…`, root only), read and checked against what the team host needs.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::{Account, CheckArgs, Line};

/// sshd's effective settings for the account (`sshd -T`: root only).
pub(super) fn sshd_lines(args: &CheckArgs, account: &Account, exe: &Path, me: u32) -> Vec<Line> {
    if me != 0 {
        return vec![Line::skip(format!(
            "sshd's settings for {} are not checked: `sshd -T` needs root (as root: calldesk ssh check --account {})",
            account.name, account.name
        ))];
    }
    let sshd = ["/usr/sbin/sshd", "/usr/local/sbin/sshd"].into_iter().find(|p| Path::new(p).exists()).unwrap_or("sshd");
    let spec = format!("user={},host=localhost,addr=127.0.0.1", account.name);
    let out = Command::new(sshd).arg("-T").arg("-C").arg(&spec).arg("-f").arg(&args.sshd_config).output();
    let cmd = format!("{sshd} -T -C {spec} -f {}", args.sshd_config.display());
    match out {
        Err(e) => {
            vec![Line::skip(format!("sshd's settings are not checked: {cmd}: {e} (is openssh-server installed?)"))]
        }
        Ok(o) if !o.status.success() => vec![Line::fail(
            format!("{cmd} failed: {}", String::from_utf8_lossy(&o.stderr).trim()),
            format!("correct the configuration until `{sshd} -t -f {}` is silent", args.sshd_config.display()),
        )],
        Ok(o) => {
            let settings = parse_sshd_t(&String::from_utf8_lossy(&o.stdout));
            sshd_checks(&settings, &account.name, exe, password_locked(&account.name))
        }
    }
}

/// `sshd -T` output: lowercase keyword → its values (a keyword given several times, like
/// `acceptenv`, keeps each line's).
pub fn parse_sshd_t(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        if !key.is_empty() {
            map.entry(key.to_ascii_lowercase()).or_default().push(value.trim().to_string());
        }
    }
    map
}

/// Whether the account's password field is locked (`!…`): with `UsePAM no` sshd then refuses
/// even a key. `None` when `/etc/shadow` cannot be read.
fn password_locked(name: &str) -> Option<bool> {
    let shadow = std::fs::read_to_string("/etc/shadow").ok()?;
    shadow.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some(name)).then(|| f.next().is_some_and(|p| p.starts_with('!')))
    })
}

/// The drop-in's keywords as sshd applies them to the account (`sshd -T` values: lowercase
/// keywords, `yes`/`no`). Each wrong one is a line naming the `Match User` line that fixes it.
pub fn sshd_checks(s: &BTreeMap<String, Vec<String>>, account: &str, exe: &Path, locked: Option<bool>) -> Vec<Line> {
    let one = |k: &str| first(s, k);
    let conf = "in /etc/ssh/sshd_config.d/calldesk.conf's Match User block";
    let mut lines = vec![akc_line(one("authorizedkeyscommand"), exe, conf)];
    let expect: [(&str, &str, String); 10] = [
        ("authorizedkeyscommanduser", account, format!("AuthorizedKeysCommandUser {account}")),
        ("authorizedkeysfile", "none", "AuthorizedKeysFile none (a key in ~/.ssh would open a shell)".into()),
        ("pubkeyauthentication", "yes", "PubkeyAuthentication yes".into()),
        ("passwordauthentication", "no", "PasswordAuthentication no".into()),
        ("kbdinteractiveauthentication", "no", "KbdInteractiveAuthentication no".into()),
        ("permittty", "yes", "PermitTTY yes".into()),
        ("disableforwarding", "yes", "DisableForwarding yes".into()),
        ("permittunnel", "no", "PermitTunnel no".into()),
        ("permituserrc", "no", "PermitUserRC no".into()),
        ("permituserenvironment", "no", "PermitUserEnvironment no (a global keyword: not in a Match block)".into()),
    ];
    for (key, want, fix) in expect {
        let got = one(key);
        lines.push(if got == want {
            Line::pass(format!("sshd: {key} {got}"))
        } else {
            Line::fail(format!("sshd: {key} is {got:?}, not {want}"), format!("{fix} {conf}"))
        });
    }
    lines.extend(more_sshd_checks(s, locked, account, conf));
    lines
}

fn akc_line(akc: &str, exe: &Path, conf: &str) -> Line {
    let words: Vec<&str> = akc.split_whitespace().collect();
    let same_exe =
        words.first().is_some_and(|w| std::fs::canonicalize(w).is_ok_and(|p| p == exe) || Path::new(w) == exe);
    if same_exe && words[1..] == ["ssh", "authorized-keys", "%t", "%k"] {
        Line::pass(format!("sshd: authorizedkeyscommand {akc}"))
    } else {
        Line::fail(
            format!("sshd: authorizedkeyscommand is {akc:?}, not this binary's `ssh authorized-keys %t %k`"),
            format!("AuthorizedKeysCommand {} ssh authorized-keys %t %k {conf}", exe.display()),
        )
    }
}

/// A keyword's (first) value, or "".
fn first<'a>(s: &'a BTreeMap<String, Vec<String>>, key: &str) -> &'a str {
    s.get(key).and_then(|v| v.first()).map_or("", String::as_str)
}

fn more_sshd_checks(s: &BTreeMap<String, Vec<String>>, locked: Option<bool>, account: &str, conf: &str) -> Vec<Line> {
    let one = |k: &str| first(s, k);
    let mut lines = Vec::new();
    let force = one("forcecommand");
    if !force.is_empty() && force != "none" {
        lines.push(Line::fail(
            format!("sshd: forcecommand {force:?} replaces the command calldesk binds to each key"),
            format!("remove ForceCommand for {account}"),
        ));
    }
    let accepted: Vec<&str> = s.get("acceptenv").into_iter().flatten().flat_map(|v| v.split_whitespace()).collect();
    lines.push(if accepted.iter().all(|a| *a == "none") {
        Line::pass("sshd: no client environment accepted (acceptenv)")
    } else {
        Line::fail(
            format!("sshd passes the client's {} into sessions (acceptenv)", accepted.join(" ")),
            format!("AcceptEnv none {conf} (it replaces the global AcceptEnv list for this account)"),
        )
    });
    let interval: u32 = one("clientaliveinterval").parse().unwrap_or(0);
    lines.push(if interval > 0 {
        Line::pass(format!("sshd: clientaliveinterval {interval} (a dropped line ends the session)"))
    } else {
        Line::fail(
            "sshd: clientaliveinterval 0: a dropped line may keep a session (and its draft) open for hours",
            format!("ClientAliveInterval 15 and ClientAliveCountMax 4 {conf}"),
        )
    });
    if one("usepam") == "no" && locked == Some(true) {
        lines.push(Line::fail(
            format!("the account {account} is locked (!) and sshd runs without PAM: it refuses even a known key"),
            format!("usermod -p '*' {account}"),
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::ssh_check::Mark;

    /// Abridged from `sshd -T -C user=calldesk,…` with contrib/sshd_config.d/calldesk.conf.
    const GOOD: &str = "port 2299\nusepam yes\npubkeyauthentication yes\npasswordauthentication no\n\
        kbdinteractiveauthentication no\npermittty yes\npermituserrc no\npermituserenvironment no\n\
        disableforwarding yes\npermittunnel no\nclientaliveinterval 15\nclientalivecountmax 4\n\
        authorizedkeysfile none\nauthorizedkeyscommand /usr/local/bin/calldesk ssh authorized-keys %t %k\n\
        authorizedkeyscommanduser calldesk\nacceptenv none\n";

    fn checks(text: &str, locked: Option<bool>) -> Vec<Line> {
        sshd_checks(&parse_sshd_t(text), "calldesk", Path::new("/usr/local/bin/calldesk"), locked)
    }

    #[test]
    fn sshd_t_output_is_read_by_keyword() {
        let s = parse_sshd_t("AcceptEnv LANG\nacceptenv LC_*\nauthorizedkeyscommand /x ssh authorized-keys %t %k\n");
        assert_eq!(s["acceptenv"], ["LANG", "LC_*"]);
        assert_eq!(s["authorizedkeyscommand"], ["/x ssh authorized-keys %t %k"]);
        assert_eq!(s.get("permittty"), None);
    }

    #[test]
    fn the_drop_in_passes_and_each_slip_names_its_fix() {
        let lines = checks(GOOD, Some(true));
        assert!(lines.iter().all(|l| l.mark == Mark::Pass), "{lines:#?}");
        // Debian's global AcceptEnv, a forwarding left on, an authorized_keys file, another binary.
        let bad = GOOD
            .replace("acceptenv none", "acceptenv LANG\nacceptenv LC_*")
            .replace("disableforwarding yes", "disableforwarding no")
            .replace("authorizedkeysfile none", "authorizedkeysfile .ssh/authorized_keys")
            .replace("/usr/local/bin/calldesk ssh", "/opt/other ssh")
            .replace("clientaliveinterval 15", "clientaliveinterval 0");
        let failed: Vec<String> =
            checks(&bad, Some(false)).into_iter().filter(|l| l.mark == Mark::Fail).map(|l| l.text).collect();
        assert_eq!(failed.len(), 5, "{failed:#?}");
        assert!(failed[0].contains("fix: AuthorizedKeysCommand /usr/local/bin/calldesk ssh authorized-keys %t %k"));
        assert!(failed.iter().any(|f| f.contains("authorizedkeysfile") && f.contains("fix: AuthorizedKeysFile none")));
        assert!(
            failed
                .iter()
                .any(|f| f.contains("disableforwarding is \"no\"") && f.contains("fix: DisableForwarding yes"))
        );
        assert!(failed.iter().any(|f| f.contains("client's LANG LC_*") && f.contains("fix: AcceptEnv none")));
        assert!(failed.iter().any(|f| f.contains("fix: ClientAliveInterval 15")));
        // A locked password (useradd's `!`) matters only without PAM.
        let no_pam = GOOD.replace("usepam yes", "usepam no");
        assert!(checks(&no_pam, Some(false)).iter().all(|l| l.mark == Mark::Pass));
        let failed: Vec<Line> = checks(&no_pam, Some(true)).into_iter().filter(|l| l.mark == Mark::Fail).collect();
        assert_eq!(failed.len(), 1);
        assert!(failed[0].text.ends_with("fix: usermod -p '*' calldesk"), "{failed:?}");
    }
}
