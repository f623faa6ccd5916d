//! Table columns that fit the width they are given: columns that must stay whole (phone numbers)
//! keep their width, flexible ones (names, outcomes) share what is left, and when the width runs
//! out the least important columns go first — nothing that must stay whole is ever cut. Spare
//! width goes first to the flexible columns whose text is cut, the most important first (a name
//! before an outcome), so a wider terminal shows whole names before it pads an empty column.

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
    /// For a flexible column, the width its widest text needs (spare width goes there first).
    pub want: u16,
    /// On a terminal too narrow for every column, columns ranked below this go before this
    /// column's text is cut (0: none does).
    pub outranks: u8,
}

impl Column {
    /// A column that keeps `width` (at least its header) and is never dropped.
    pub fn whole(header: &'static str, width: u16) -> Self {
        let width = width.max(header.chars().count() as u16);
        Self { header, width, flex: false, drop: None, want: width, outranks: 0 }
    }
    pub fn fixed(header: &'static str, width: u16, drop: u8) -> Self {
        Self { drop: Some(drop), ..Self::whole(header, width) }
    }
    pub fn flex(header: &'static str, min: u16, drop: Option<u8>) -> Self {
        Self { header, width: min, flex: true, drop, want: min, outranks: 0 }
    }
    /// The width this flexible column's text needs to be shown whole.
    pub fn wants(self, want: u16) -> Self {
        Self { want, ..self }
    }
    /// When the terminal is too narrow for every column, the columns ranked below `rank` go
    /// before this column's text (up to [`WHOLE_NAME`] cells) is cut: a name says who is called,
    /// a city or a try count less.
    pub fn whole_before(self, rank: u8) -> Self {
        Self { outranks: rank, ..self }
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

/// How much of a name [`Column::whole_before`] keeps whole: a longer one is cut rather than the
/// table emptied for it.
pub const WHOLE_NAME: u16 = 24;

/// The columns that fit `width` (`spacing` between them) and the width of each: the lowest-ranked
/// go first, then the spare width is shared, or taken back from the flexible columns.
pub fn fit(cols: &[Column], width: u16, spacing: u16) -> Fitted {
    let shown = choose(cols, width, spacing);
    let widths = share(cols, &shown, width, spacing);
    Fitted { shown, widths }
}

/// The cells between the columns `shown`.
fn gaps(shown: &[usize], spacing: u16) -> u32 {
    u32::from(spacing) * u32::try_from(shown.len().saturating_sub(1)).unwrap_or(0)
}

/// The columns `shown` at their narrowest, with the gaps.
fn need(cols: &[Column], shown: &[usize], spacing: u16) -> u32 {
    shown.iter().map(|i| u32::from(cols[*i].width)).sum::<u32>() + gaps(shown, spacing)
}

/// Which columns stay: the lowest rank goes first until the rest fit; when some had to go, the
/// columns a name outranks go before the name is cut.
fn choose(cols: &[Column], width: u16, spacing: u16) -> Vec<usize> {
    let need = |shown: &[usize]| need(cols, shown, spacing);
    // The lowest rank goes first; of equal ranks, the rightmost; only ranks below `below`.
    let lowest = |shown: &[usize], below: u8| {
        (0..shown.len())
            .filter(|p| cols[shown[*p]].drop.is_some_and(|r| r < below))
            .min_by_key(|p| (cols[shown[*p]].drop, std::cmp::Reverse(*p)))
    };
    let mut shown: Vec<usize> = (0..cols.len()).collect();
    let mut narrow = false;
    while need(&shown) > u32::from(width) {
        let Some(pos) = lowest(&shown, u8::MAX) else { break };
        shown.remove(pos);
        narrow = true;
    }
    if narrow {
        // Too narrow for every column: the columns a name outranks go before it is cut.
        let ask = |c: &Column| if c.outranks > 0 { c.width.max(c.want.min(WHOLE_NAME)) } else { c.width };
        let asked =
            |shown: &[usize]| shown.iter().map(|i| u32::from(ask(&cols[*i]))).sum::<u32>() + gaps(shown, spacing);
        let bar = shown.iter().map(|i| cols[*i].outranks).max().unwrap_or(0);
        while asked(&shown) > u32::from(width) {
            let Some(pos) = lowest(&shown, bar) else { break };
            shown.remove(pos);
        }
    }
    shown
}

/// The widths of the columns `shown`: spare width shared among the flexible columns, or taken
/// back from them when even the narrowest do not fit.
fn share(cols: &[Column], shown: &[usize], width: u16, spacing: u16) -> Vec<u16> {
    let mut widths: Vec<u16> = shown.iter().map(|i| cols[*i].width).collect();
    let flex: Vec<usize> = (0..shown.len()).filter(|p| cols[shown[*p]].flex).collect();
    let total = need(cols, shown, spacing);
    if total <= u32::from(width) {
        // Spare width goes first to flexible columns whose text is cut: the never-dropped first,
        // then by rank, the most important first; columns of one rank share it a cell at a time.
        let mut spare = u32::from(width) - total;
        let importance = |p: usize| cols[shown[p]].drop.map_or(u16::MAX, u16::from);
        let mut ranks: Vec<u16> = flex.iter().map(|p| importance(*p)).collect();
        ranks.sort_unstable_by(|a, b| b.cmp(a));
        ranks.dedup();
        for rank in ranks {
            let tier: Vec<usize> = flex.iter().copied().filter(|p| importance(*p) == rank).collect();
            while spare > 0 {
                let cut: Vec<usize> = tier.iter().copied().filter(|p| widths[*p] < cols[shown[*p]].want).collect();
                if cut.is_empty() {
                    break;
                }
                for p in cut.into_iter().take(usize::try_from(spare).unwrap_or(usize::MAX)) {
                    widths[p] += 1;
                    spare -= 1;
                }
            }
        }
        // What is left goes to the flexible columns evenly, the remainder from the left.
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
    widths
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
    fn spare_width_shows_a_cut_name_whole_before_it_pads_other_columns() {
        let cols = [
            Column::flex("Name", 10, None).wants(15),
            Column::whole("Mobile", 15),
            Column::flex("Remarks", 10, Some(0)).wants(40),
            Column::flex("Outcome", 12, Some(1)).wants(14),
        ];
        // 5 spare cells: all to the name (never dropped) before the outcome or the remarks.
        assert_eq!(fit(&cols, 55, 1).widths, [15, 15, 10, 12]);
        // One fewer: every column still fits, the name is cut by one.
        assert_eq!(fit(&cols, 54, 1).widths, [14, 15, 10, 12]);
        // The name whole, then the outcome (more important than the remarks), then the remarks.
        assert_eq!(fit(&cols, 60, 1).widths, [15, 15, 13, 14]);
        // Everything whole: what is left is shared evenly.
        assert_eq!(fit(&cols, 90, 1).widths, [16, 15, 41, 15]);
        // Two cut columns of one rank share the spare width.
        let pair = [Column::flex("Agent", 6, Some(2)).wants(20), Column::flex("Driver", 6, Some(2)).wants(9)];
        assert_eq!(fit(&pair, 17, 1).widths, [8, 8]);
        assert_eq!(fit(&pair, 25, 1).widths, [15, 9]);
    }

    #[test]
    fn a_cut_name_goes_whole_before_the_columns_it_outranks() {
        let cols = [
            Column::flex("Name", 10, None).wants(15).whole_before(3),
            Column::whole("Mobile", 15),
            Column::fixed("City", 6, 1),
            Column::fixed("Try", 3, 3),
        ];
        // Too narrow for every column (the city goes): the name is cut by two, as the tries rank
        // above it; one column less and the name is whole.
        let f = fit(&cols, 33, 1);
        assert_eq!((f.shown, f.widths), (vec![0, 1, 3], vec![13, 15, 3]));
        let f = fit(&[cols[0].whole_before(4), cols[1], cols[2], cols[3]], 33, 1);
        assert_eq!((f.shown, f.widths), (vec![0, 1], vec![17, 15]));
        // Wide enough for every column: all stay, the name gets what is spare.
        assert_eq!(fit(&cols, 38, 1).widths, [11, 15, 6, 3]);
        // A name longer than WHOLE_NAME is cut rather than the table emptied for it.
        let long = [
            Column::flex("Name", 10, None).wants(200).whole_before(3),
            Column::whole("Mobile", 12),
            Column::fixed("City", 6, 1),
            Column::fixed("Last", 20, 0),
        ];
        assert_eq!(fit(&long, 44, 1).shown, [0, 1, 2]);
        assert_eq!(fit(&long, 44, 1).widths, [24, 12, 6]);
        assert_eq!(fit(&long, 40, 1).shown, [0, 1]);
        // Columns it does not outrank stay, and the name is cut.
        let outcome = [
            Column::flex("Name", 10, None).wants(18).whole_before(2),
            Column::whole("Mobile", 15),
            Column::flex("Outcome", 14, Some(2)),
            Column::fixed("Type", 6, 1),
        ];
        assert_eq!(fit(&outcome, 44, 1).shown, [0, 1, 2]);
        assert_eq!(fit(&outcome, 44, 1).widths, [13, 15, 14]);
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
