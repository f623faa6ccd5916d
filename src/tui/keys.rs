//! The one key table: the dispatcher, the footer and the help overlay all read it, so they
//! cannot disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where the keyboard is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// Any main screen (queue, call log, stats), no modal open.
    Global,
    Queue,
    CallLog,
    Filter,
    CallDialog,
    /// Typing a search (find anyone).
    SearchInput,
    /// The search results have the keyboard.
    Search,
    /// The driver card.
    Card,
    /// A small form (edit a driver, snooze one).
    Prompt,
    /// The break picker: a reason for the break.
    BreakPicker,
    /// The wrap-up form, whatever field has focus.
    Feedback,
    /// The wrap-up form while its outcome list has focus.
    FeedbackList,
    Help,
    /// "Quit now?"
    ConfirmQuit,
    /// The read-only supervisor console.
    Supervise,
}

/// A user intent, named by what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    // Moving around
    SelectNext,
    SelectPrev,
    PageDown,
    PageUp,
    First,
    Last,
    ShowQueue,
    ShowCallLog,
    ShowStats,
    ShowUpcoming,
    OpenSearch,
    /// Find anyone: the results take the keyboard.
    BrowseResults,
    ShowCard,
    Help,
    Refresh,
    Quit,
    // The call
    OpenCallDialog,
    StartFilter,
    ClearFilter,
    EndCall,
    ReopenWrapup,
    DialTelecmi,
    DialManual,
    MarkNotPlaced,
    EditDriver,
    SkipDriver,
    SnoozeDriver,
    CancelDial,
    // Breaks
    ToggleBreak,
    // Forms
    Confirm,
    Close,
    SaveFeedback,
    SaveAndCallNext,
    NextField,
    PrevField,
    PickHighlighted,
    /// Pick "Asked not to be called" (no letter of its own: a chord, so no stray key lists a number).
    PickDoNotCall,
    ClearOutcome,
    ConfirmQuit,
    // Call log filters
    CycleStatusFilter,
    CycleFeedbackFilter,
    CycleDateFilter,
    SearchCallLog,
}

#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub ctx: Context,
    pub keys: &'static [(KeyCode, KeyModifiers)],
    /// How the key is written on screen.
    pub shown: &'static str,
    /// Short label for the footer; `None` keeps it out of the footer.
    pub footer: Option<&'static str>,
    pub help: &'static str,
    pub cmd: Command,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;

macro_rules! b {
    ($ctx:ident, [$($k:expr),+], $shown:expr, $footer:expr, $help:expr, $cmd:ident) => {
        Binding { ctx: Context::$ctx, keys: &[$($k),+], shown: $shown, footer: $footer, help: $help, cmd: Command::$cmd }
    };
}

pub const BINDINGS: &[Binding] = &[
    // --- Queue screen -----------------------------------------------------------------------
    b!(
        Queue,
        [(KeyCode::Enter, NONE), (KeyCode::Char('c'), NONE)],
        "Enter/c",
        Some("call"),
        "Call the selected driver",
        OpenCallDialog
    ),
    b!(Queue, [(KeyCode::Char('f'), NONE)], "f", None, "Filter the due queue by name, mobile or TMID", StartFilter),
    b!(Queue, [(KeyCode::Char('x'), NONE)], "x", None, "Clear the filter", ClearFilter),
    b!(Queue, [(KeyCode::Char('e'), NONE)], "e", Some("end call"), "The call has ended: open the wrap-up", EndCall),
    b!(
        Queue,
        [(KeyCode::Char('s'), NONE)],
        "s",
        None,
        "Skip: move the selected driver to the end of the queue",
        SkipDriver
    ),
    b!(
        Queue,
        [(KeyCode::Char('z'), NONE)],
        "z",
        None,
        "Snooze the selected driver until a time (30m, 2h, 18:00)",
        SnoozeDriver
    ),
    b!(
        Queue,
        [(KeyCode::Char('E'), SHIFT), (KeyCode::Char('E'), NONE)],
        "E",
        None,
        "Edit the selected driver's name or mobile (the old values are kept)",
        EditDriver
    ),
    b!(
        Queue,
        [(KeyCode::Char('X'), SHIFT), (KeyCode::Char('X'), NONE)],
        "X",
        None,
        "Cancel a manual call logged by mistake (the driver keeps their attempts)",
        CancelDial
    ),
    b!(
        Queue,
        [(KeyCode::Char('n'), NONE)],
        "n",
        None,
        "Mark an unconfirmed call (TeleCMI never answered) as not placed, after a minute",
        MarkNotPlaced
    ),
    // --- Call log screen --------------------------------------------------------------------
    b!(CallLog, [(KeyCode::Char('s'), NONE)], "s", Some("status"), "Cycle the status filter", CycleStatusFilter),
    b!(CallLog, [(KeyCode::Char('f'), NONE)], "f", Some("feedback"), "Cycle the feedback filter", CycleFeedbackFilter),
    b!(CallLog, [(KeyCode::Char('d'), NONE)], "d", Some("dates"), "Cycle the date range", CycleDateFilter),
    b!(
        CallLog,
        [(KeyCode::Char('t'), NONE)],
        "t",
        Some("search"),
        "Search the log by name or number (empty clears)",
        SearchCallLog
    ),
    b!(CallLog, [(KeyCode::Enter, NONE)], "Enter", None, "The call in full: its driver's card", ShowCard),
    // --- Everywhere on the main screens -----------------------------------------------------
    b!(Global, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "↓/j", None, "Next row", SelectNext),
    b!(Global, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "↑/k", None, "Previous row", SelectPrev),
    b!(Global, [(KeyCode::PageDown, NONE)], "PgDn", None, "Page down", PageDown),
    b!(Global, [(KeyCode::PageUp, NONE)], "PgUp", None, "Page up", PageUp),
    b!(Global, [(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)], "Home/g", None, "First row", First),
    b!(
        Global,
        [(KeyCode::End, NONE), (KeyCode::Char('G'), SHIFT), (KeyCode::Char('G'), NONE)],
        "End/G",
        None,
        "Last loaded row",
        Last
    ),
    b!(
        Global,
        [(KeyCode::Char('1'), NONE)],
        "1–4",
        Some("screens"),
        "Screens: 1 queue · 2 call log · 3 stats · 4 upcoming",
        ShowQueue
    ),
    b!(Global, [(KeyCode::Char('2'), NONE)], "2", None, "Call log", ShowCallLog),
    b!(Global, [(KeyCode::Char('3'), NONE)], "3", None, "Statistics", ShowStats),
    b!(Global, [(KeyCode::Char('4'), NONE)], "4", None, "Upcoming callbacks and retries", ShowUpcoming),
    b!(
        Global,
        [(KeyCode::Char('/'), NONE)],
        "/",
        Some("find"),
        "Find anyone: name, TMID or number in any format, due or not",
        OpenSearch
    ),
    b!(
        Global,
        [(KeyCode::Char('i'), NONE)],
        "i",
        Some("card"),
        "The driver card: details and every earlier call with full remarks",
        ShowCard
    ),
    b!(Global, [(KeyCode::Char('r'), NONE)], "r", None, "Reload from the database", Refresh),
    b!(Global, [(KeyCode::Char('w'), NONE)], "w", None, "Open a waiting wrap-up (from any screen)", ReopenWrapup),
    b!(
        Global,
        [(KeyCode::Char('b'), NONE)],
        "b",
        None,
        "Take a break (pick the reason); on a break, back to ready",
        ToggleBreak
    ),
    b!(
        Global,
        [(KeyCode::Char('?'), NONE), (KeyCode::Char('?'), SHIFT), (KeyCode::F(1), NONE)],
        "?",
        Some("help"),
        "This help",
        Help
    ),
    b!(
        Global,
        [(KeyCode::Char('q'), NONE), (KeyCode::Char('c'), CTRL)],
        "q",
        Some("quit"),
        "Quit (asks first while a call is live or a wrap-up is open)",
        Quit
    ),
    // --- Filter being typed -----------------------------------------------------------------
    b!(
        Filter,
        [(KeyCode::Enter, NONE), (KeyCode::Down, NONE)],
        "Enter",
        Some("keep"),
        "Keep the filter and go back to the list",
        Confirm
    ),
    b!(Filter, [(KeyCode::Esc, NONE)], "Esc", Some("clear"), "Clear the filter", ClearFilter),
    // --- Find anyone ------------------------------------------------------------------------
    b!(
        SearchInput,
        [(KeyCode::Enter, NONE), (KeyCode::Down, NONE)],
        "Enter/↓",
        Some("to the results"),
        "Go to the results",
        BrowseResults
    ),
    b!(SearchInput, [(KeyCode::Esc, NONE)], "Esc", Some("back"), "Back to the queue", ShowQueue),
    b!(
        Search,
        [(KeyCode::Enter, NONE), (KeyCode::Char('c'), NONE)],
        "Enter",
        Some("call"),
        "Call this driver",
        OpenCallDialog
    ),
    b!(Search, [(KeyCode::Esc, NONE)], "Esc", Some("back"), "Back to the queue", ShowQueue),
    // --- Driver card ------------------------------------------------------------------------
    b!(
        Card,
        [(KeyCode::Enter, NONE), (KeyCode::Char('c'), NONE)],
        "Enter",
        Some("call"),
        "Call this driver",
        OpenCallDialog
    ),
    b!(Card, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "↓", Some("scroll"), "Scroll down", SelectNext),
    b!(Card, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "↑", None, "Scroll up", SelectPrev),
    b!(Card, [(KeyCode::PageDown, NONE), (KeyCode::Char(' '), NONE)], "PgDn", None, "Scroll a page down", PageDown),
    b!(Card, [(KeyCode::PageUp, NONE)], "PgUp", None, "Scroll a page up", PageUp),
    b!(
        Card,
        [(KeyCode::Esc, NONE), (KeyCode::Char('i'), NONE), (KeyCode::Char('q'), NONE)],
        "Esc",
        Some("close"),
        "Close the card",
        Close
    ),
    b!(Card, [(KeyCode::Char('w'), NONE)], "w", None, "Close the card and open a waiting wrap-up", ReopenWrapup),
    // --- Prompt -----------------------------------------------------------------------------
    b!(
        Prompt,
        [(KeyCode::Enter, NONE)],
        "Enter",
        Some("save"),
        "Save (on the last field; else the next field)",
        Confirm
    ),
    b!(Prompt, [(KeyCode::Tab, NONE)], "Tab", Some("next field"), "Next field", NextField),
    b!(Prompt, [(KeyCode::BackTab, SHIFT), (KeyCode::BackTab, NONE)], "Shift+Tab", None, "Previous field", PrevField),
    b!(Prompt, [(KeyCode::Esc, NONE)], "Esc", Some("cancel"), "Close without saving", Close),
    // --- Call dialog ------------------------------------------------------------------------
    b!(
        CallDialog,
        [(KeyCode::Char('t'), NONE), (KeyCode::Char('1'), NONE)],
        "t",
        Some("TeleCMI IVR"),
        "TeleCMI rings your phone, then the driver",
        DialTelecmi
    ),
    b!(
        CallDialog,
        [(KeyCode::Char('m'), NONE), (KeyCode::Char('2'), NONE)],
        "m",
        Some("manual"),
        "Dial by hand; calldesk logs the call",
        DialManual
    ),
    b!(
        CallDialog,
        [(KeyCode::Enter, NONE)],
        "Enter",
        Some("place call"),
        "Place the highlighted kind of call",
        Confirm
    ),
    b!(CallDialog, [(KeyCode::Down, NONE), (KeyCode::Tab, NONE)], "↓", None, "Highlight the next option", SelectNext),
    b!(
        CallDialog,
        [(KeyCode::Up, NONE), (KeyCode::BackTab, SHIFT)],
        "↑",
        None,
        "Highlight the previous option",
        SelectPrev
    ),
    b!(
        CallDialog,
        [(KeyCode::Esc, NONE), (KeyCode::Char('q'), NONE)],
        "Esc",
        Some("cancel"),
        "Close without calling",
        Close
    ),
    // --- Break picker (a letter picks a reason too) ------------------------------------------
    b!(
        BreakPicker,
        [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)],
        "↓",
        None,
        "Highlight the next reason",
        SelectNext
    ),
    b!(
        BreakPicker,
        [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)],
        "↑",
        None,
        "Highlight the previous reason",
        SelectPrev
    ),
    b!(
        BreakPicker,
        [(KeyCode::Enter, NONE)],
        "Enter",
        Some("take break"),
        "Go on break for the highlighted reason",
        Confirm
    ),
    b!(
        BreakPicker,
        [(KeyCode::Esc, NONE), (KeyCode::Char('b'), NONE), (KeyCode::Char('q'), NONE)],
        "Esc",
        Some("stay ready"),
        "Close without a break",
        Close
    ),
    // --- Feedback form (any field) -----------------------------------------------------------
    b!(
        Feedback,
        [(KeyCode::Enter, NONE), (KeyCode::Char('s'), CTRL)],
        "Enter",
        Some("save"),
        "Save the outcome (nothing is saved until an outcome is picked)",
        SaveFeedback
    ),
    b!(
        Feedback,
        [(KeyCode::Char('n'), CTRL)],
        "Ctrl+N",
        Some("save & call next"),
        "Save, then call the first driver in the queue the same way (if no call is in progress)",
        SaveAndCallNext
    ),
    b!(
        Feedback,
        [(KeyCode::Tab, NONE)],
        "Tab",
        Some("next field"),
        "Next field: Outcome › Remarks › Duration",
        NextField
    ),
    b!(Feedback, [(KeyCode::BackTab, SHIFT), (KeyCode::BackTab, NONE)], "Shift+Tab", None, "Previous field", PrevField),
    b!(
        Feedback,
        [(KeyCode::Char('d'), CTRL)],
        "Ctrl+D",
        None,
        "Pick \"Asked not to be called\": saving puts the number on the do-not-call list and closes the driver",
        PickDoNotCall
    ),
    b!(Feedback, [(KeyCode::Esc, NONE)], "Esc", Some("later"), "Put the wrap-up aside (kept; w reopens it)", Close),
    b!(Feedback, [(KeyCode::Char('c'), CTRL)], "Ctrl+C", None, "Quit (asks first)", Quit),
    // --- Feedback form, outcome list focused ------------------------------------------------
    b!(FeedbackList, [(KeyCode::Down, NONE)], "↓", None, "Highlight the next outcome", SelectNext),
    b!(FeedbackList, [(KeyCode::Up, NONE)], "↑", None, "Highlight the previous outcome", SelectPrev),
    b!(
        FeedbackList,
        [(KeyCode::Char(' '), NONE)],
        "Space",
        Some("pick"),
        "Pick the highlighted outcome",
        PickHighlighted
    ),
    b!(
        FeedbackList,
        [(KeyCode::Backspace, NONE), (KeyCode::Delete, NONE)],
        "Del",
        None,
        "Clear the picked outcome (then a letter picks again)",
        ClearOutcome
    ),
    // --- Supervisor console (read-only: nothing here places a call or changes data) ----------
    b!(Supervise, [(KeyCode::Char('r'), NONE)], "r", Some("reload now"), "Read everything again now", Refresh),
    b!(
        Supervise,
        [(KeyCode::Char('?'), NONE), (KeyCode::Char('?'), SHIFT), (KeyCode::F(1), NONE)],
        "?",
        Some("help"),
        "Show or hide this help",
        Help
    ),
    b!(Supervise, [(KeyCode::Esc, NONE)], "Esc", None, "Close the help", Close),
    b!(Supervise, [(KeyCode::Char('q'), NONE), (KeyCode::Char('c'), CTRL)], "q", Some("quit"), "Quit", Quit),
    // --- Help -------------------------------------------------------------------------------
    b!(
        Help,
        [(KeyCode::Esc, NONE), (KeyCode::Char('?'), NONE), (KeyCode::Char('q'), NONE), (KeyCode::Enter, NONE)],
        "Esc",
        Some("close"),
        "Close help",
        Close
    ),
    b!(Help, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "↓/j", Some("scroll"), "Scroll down", SelectNext),
    b!(Help, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "↑/k", None, "Scroll up", SelectPrev),
    b!(Help, [(KeyCode::PageDown, NONE), (KeyCode::Char(' '), NONE)], "PgDn", None, "Scroll a page down", PageDown),
    b!(Help, [(KeyCode::PageUp, NONE)], "PgUp", None, "Scroll a page up", PageUp),
    b!(Help, [(KeyCode::Home, NONE), (KeyCode::Char('g'), NONE)], "Home/g", None, "Scroll to the top", First),
    b!(Help, [(KeyCode::End, NONE), (KeyCode::Char('G'), SHIFT)], "End/G", None, "Scroll to the end", Last),
    // --- Quit question ----------------------------------------------------------------------
    b!(
        ConfirmQuit,
        [(KeyCode::Char('y'), NONE), (KeyCode::Char('Y'), SHIFT), (KeyCode::Char('q'), NONE)],
        "y",
        Some("quit now"),
        "Quit anyway",
        ConfirmQuit
    ),
    b!(
        ConfirmQuit,
        [(KeyCode::Char('n'), NONE), (KeyCode::Esc, NONE), (KeyCode::Enter, NONE)],
        "n/Esc",
        Some("stay"),
        "Stay in calldesk",
        Close
    ),
];

/// The command bound to `key` in `ctx` (contexts are tried in the order given).
pub fn lookup(ctxs: &[Context], key: &KeyEvent) -> Option<Command> {
    ctxs.iter().find_map(|ctx| {
        BINDINGS
            .iter()
            .filter(|b| b.ctx == *ctx)
            .find(|b| b.keys.iter().any(|(code, mods)| *code == key.code && key.modifiers == *mods))
            .map(|b| b.cmd)
    })
}

/// Footer entries for these contexts, in table order.
pub fn footer(ctxs: &[Context]) -> Vec<(&'static str, &'static str)> {
    ctxs.iter()
        .flat_map(|ctx| BINDINGS.iter().filter(move |b| b.ctx == *ctx))
        .filter_map(|b| b.footer.map(|f| (b.shown, f)))
        .collect()
}

/// The binding of `cmd` in `ctx`, if it has one.
pub fn binding(ctx: Context, cmd: Command) -> Option<&'static Binding> {
    BINDINGS.iter().find(|b| b.ctx == ctx && b.cmd == cmd)
}

/// How the key of `cmd` in `ctx` is written on screen (`e`, `Enter/c`); empty if it has none.
pub fn key(ctx: Context, cmd: Command) -> &'static str {
    binding(ctx, cmd).map_or("", |b| b.shown)
}

/// The first of the keys of `cmd` in `ctx`, for a sentence that names one: `press Enter`, not
/// `press Enter/c`; `↑` of `↑/k`.
pub fn first_key(ctx: Context, cmd: Command) -> &'static str {
    let shown = key(ctx, cmd);
    shown.split_once('/').filter(|(first, _)| !first.is_empty()).map_or(shown, |(first, _)| first)
}

/// How the keys of `cmds` in `ctx` are written on screen, run together (`↑` and `↓` give `↑↓`),
/// so a hint drawn anywhere names the keys the dispatcher really uses.
pub fn shown(ctx: Context, cmds: &[Command]) -> String {
    cmds.iter().filter_map(|c| binding(ctx, *c)).map(|b| b.shown).collect()
}

/// A key hint: the keys of `cmds` in `ctx` and the footer label of the first (or `label`).
pub fn hint(ctx: Context, cmds: &[Command], label: Option<&'static str>) -> (String, &'static str) {
    let label = label.or_else(|| cmds.first().and_then(|c| binding(ctx, *c)).and_then(|b| b.footer));
    (shown(ctx, cmds), label.unwrap_or(""))
}

/// A key the agent pressed, as written on screen (`e`, `Space`, `Esc`, `Shift+Tab`, `Ctrl+x`,
/// `Alt+a`, `Enter`): for a key that matched no command, where the table has nothing to say.
pub fn pressed(key: &KeyEvent) -> String {
    let code = match key.code {
        KeyCode::Char(' ') => "Space".into(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::BackTab => "Shift+Tab".into(),
        other => format!("{other}"),
    };
    match key.modifiers {
        m if m.contains(KeyModifiers::CONTROL) => format!("Ctrl+{code}"),
        m if m.contains(KeyModifiers::ALT) => format!("Alt+{code}"),
        _ => code,
    }
}

pub fn context_title(ctx: Context) -> &'static str {
    match ctx {
        Context::Global => "Everywhere",
        Context::Queue => "Queue",
        Context::CallLog => "Call log (rec = recorded: calldesk recording ID -o FILE downloads it)",
        Context::Filter => "Typing a filter",
        Context::CallDialog => "Call dialog",
        Context::BreakPicker => "Break reasons (the letter shown picks one)",
        Context::Feedback => "Wrap-up form (Alt+letter picks an outcome from any field)",
        Context::FeedbackList => {
            "Wrap-up outcome list (a letter picks while none is picked; then typing goes to remarks)"
        }
        Context::Help => "Help",
        Context::ConfirmQuit => "Quit?",
        Context::SearchInput => "Typing a search",
        Context::Search => "Search results",
        Context::Card => "Driver card",
        Context::Prompt => "Editing a driver / snoozing",
        Context::Supervise => "Supervisor console",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn no_key_is_bound_twice_in_one_context() {
        for a in BINDINGS {
            for b in BINDINGS {
                if std::ptr::eq(a, b) || a.ctx != b.ctx {
                    continue;
                }
                for k in a.keys {
                    assert!(!b.keys.contains(k), "{:?} bound to {:?} and {:?} in {:?}", k, a.cmd, b.cmd, a.ctx);
                }
            }
        }
    }

    #[test]
    fn lookup_prefers_the_first_context() {
        assert_eq!(lookup(&[Context::Queue, Context::Global], &key(KeyCode::Char('c'))), Some(Command::OpenCallDialog));
        assert_eq!(
            lookup(&[Context::CallLog, Context::Global], &key(KeyCode::Char('s'))),
            Some(Command::CycleStatusFilter)
        );
        assert_eq!(lookup(&[Context::Queue, Context::Global], &key(KeyCode::Char('v'))), None);
        assert_eq!(
            lookup(&[Context::Global], &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Command::Quit)
        );
    }

    #[test]
    fn a_sentence_names_the_first_key() {
        assert_eq!(first_key(Context::Queue, Command::OpenCallDialog), "Enter");
        assert_eq!(first_key(Context::Help, Command::SelectPrev), "↑");
        assert_eq!(first_key(Context::Global, Command::OpenSearch), "/");
        assert_eq!(super::key(Context::Queue, Command::EndCall), "e");
        assert_eq!(super::key(Context::Supervise, Command::EndCall), "");
    }

    #[test]
    fn footer_comes_from_the_table() {
        let f = footer(&[Context::Queue, Context::Global]);
        assert_eq!(f.first(), Some(&("Enter/c", "call")));
        assert!(f.contains(&("?", "help")));
    }
}
