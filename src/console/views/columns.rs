//! Table columns that fit the width they are given: columns that must stay whole (phone numbers)
//! keep their width, flexible ones (names, outcomes) share what is left, and when the width runs
//! out the least important columns go first — nothing that must stay whole is ever cut.

use ratatui::layout::Constraint;
use ratatui::text::Text;
use ratatui::widgets::{Cell, Row};

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub header: &'static str,
    /// Its width; for a flexible column, the least it gets before other columns are dropped.
    pub width: u16,
    /// Grows into spare width and, once nothing is left to drop, shrinks below `width`.
    pub flex: bool,
    /// Columns with a lower rank are dropped first; `None`: never dropped.
    pub drop: Option<u8>,
}

impl Column {
    /// A column that keeps `width` (at least its header) and is never dropped.
    pub fn whole(header: &'static str, width: u16) -> Self {
        Self { header, width: width.max(header.chars().count() as u16), flex: false, drop: None }
    }
    pub fn fixed(header: &'static str, width: u16, drop: u8) -> Self {
        Self { drop: Some(drop), ..Self::whole(header, width) }
    }
    pub fn flex(header: &'static str, min: u16, drop: Option<u8>) -> Self {
        Self { header, width: min, flex: true, drop }
    }
}

/// The widest of `texts` in terminal cells (for columns sized to their content).
pub fn widest<'a>(texts: impl IntoIterator<Item = &'a str>) -> u16 {
    texts.into_iter().map(|t| t.chars().count()).max().unwrap_or(0).try_into().unwrap_or(u16::MAX)
}

/// Which columns are shown within `width` (with `spacing` between them) and how wide each is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted {
    /// Indices of the shown columns, left to right.
    pub shown: Vec<usize>,
    pub widths: Vec<u16>,
}

impl Fitted {
    pub fn constraints(&self) -> Vec<Constraint> {
        self.widths.iter().map(|w| Constraint::Length(*w)).collect()
    }

    /// A header row of the shown columns.
    pub fn header(&self, cols: &[Column]) -> Row<'static> {
        Row::new(self.shown.iter().filter_map(|i| cols.get(*i)).map(|c| Cell::from(c.header)))
    }

    /// The shown cells of a full row (one cell per column).
    pub fn row<'a>(&self, cells: Vec<Text<'a>>) -> Row<'a> {
        let mut cells: Vec<Option<Text<'a>>> = cells.into_iter().map(Some).collect();
        Row::new(self.shown.iter().map(|i| Cell::from(cells.get_mut(*i).and_then(Option::take).unwrap_or_default())))
    }
}

pub fn fit(cols: &[Column], width: u16, spacing: u16) -> Fitted {
    let need = |shown: &[usize]| -> u32 {
        let gaps = u32::from(spacing) * u32::try_from(shown.len().saturating_sub(1)).unwrap_or(0);
        shown.iter().map(|i| u32::from(cols[*i].width)).sum::<u32>() + gaps
    };
    let mut shown: Vec<usize> = (0..cols.len()).collect();
    while need(&shown) > u32::from(width) {
        // The lowest rank goes first; of equal ranks, the rightmost.
        let Some(pos) = (0..shown.len())
            .filter(|p| cols[shown[*p]].drop.is_some())
            .min_by_key(|p| (cols[shown[*p]].drop, std::cmp::Reverse(*p)))
        else {
            break;
        };
        shown.remove(pos);
    }
    let mut widths: Vec<u16> = shown.iter().map(|i| cols[*i].width).collect();
    let flex: Vec<usize> = (0..shown.len()).filter(|p| cols[shown[*p]].flex).collect();
    let total = need(&shown);
    if total <= u32::from(width) {
        // Spare width goes to the flexible columns, evenly, the remainder from the left.
        let spare = u32::from(width) - total;
        let n = u32::try_from(flex.len()).unwrap_or(1).max(1);
        for (k, p) in flex.iter().enumerate() {
            let extra = spare / n + u32::from(u32::try_from(k).unwrap_or(u32::MAX) < spare % n);
            widths[*p] = widths[*p].saturating_add(u16::try_from(extra).unwrap_or(u16::MAX));
        }
    } else {
        // Nothing left to drop: flexible columns give up width, the rightmost first.
        let mut over = total - u32::from(width);
        for p in flex.iter().rev() {
            let give = over.min(u32::from(widths[*p]));
            widths[*p] -= u16::try_from(give).unwrap_or(0);
            over -= give;
        }
    }
    Fitted { shown, widths }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<Column> {
        vec![
            Column::flex("Name", 10, None),
            Column::whole("Mobile", 12),
            Column::fixed("TMID", 8, 2),
            Column::fixed("City", 10, 1),
            Column::flex("Last", 10, Some(0)),
        ]
    }

    #[test]
    fn everything_fits_and_flexible_columns_share_the_rest() {
        let f = fit(&cols(), 60, 1);
        assert_eq!(f.shown, [0, 1, 2, 3, 4]);
        assert_eq!(f.widths, [13, 12, 8, 10, 13]);
    }

    #[test]
    fn least_important_columns_go_first_and_whole_columns_never_shrink() {
        let f = fit(&cols(), 40, 1);
        assert_eq!(f.shown, [0, 1, 2], "Last, then City go");
        assert_eq!(f.widths, [18, 12, 8]);
        let f = fit(&cols(), 18, 1);
        assert_eq!(f.shown, [0, 1]);
        assert_eq!(f.widths, [5, 12], "the name shrinks; the mobile keeps all 12 digits");
    }
}
