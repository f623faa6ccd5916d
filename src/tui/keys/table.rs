//! The key table itself: every binding of every screen, grouped by where the keyboard is, in the
//! order the help overlay lists them.

use crossterm::event::{KeyCode, KeyModifiers};

use super::{Binding, Command, Context};

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
    // --- Supervisor board -------------------------------------------------------------------
    b!(Board, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "↓/j", None, "Next agent", SelectNext),
    b!(Board, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "↑/k", None, "Previous agent", SelectPrev),
    b!(
        Board,
        [(KeyCode::Enter, NONE)],
        "Enter",
        Some("calls today"),
        "The selected agent's calls today and their live call",
        ShowAgentCalls
    ),
    b!(
        Board,
        [(KeyCode::Char('a'), NONE)],
        "a",
        Some("move drivers"),
        "Move the selected agent's queued drivers to another agent",
        MoveDrivers
    ),
    // --- An agent's calls today -------------------------------------------------------------
    b!(AgentCalls, [(KeyCode::Down, NONE), (KeyCode::Char('j'), NONE)], "↓/j", None, "Next call", SelectNext),
    b!(AgentCalls, [(KeyCode::Up, NONE), (KeyCode::Char('k'), NONE)], "↑/k", None, "Previous call", SelectPrev),
    b!(AgentCalls, [(KeyCode::PageDown, NONE)], "PgDn", None, "A page down (older calls are read as you go)", PageDown),
    b!(AgentCalls, [(KeyCode::PageUp, NONE)], "PgUp", None, "A page up", PageUp),
    b!(
        AgentCalls,
        [(KeyCode::Char('a'), NONE)],
        "a",
        Some("move drivers"),
        "Move this agent's queued drivers to another agent",
        MoveDrivers
    ),
    b!(AgentCalls, [(KeyCode::Esc, NONE)], "Esc", Some("back"), "Back to the board", Close),
    // --- Moving drivers ---------------------------------------------------------------------
    b!(MoveDialog, [(KeyCode::Down, NONE)], "↓", None, "Next agent to move to", SelectNext),
    b!(MoveDialog, [(KeyCode::Up, NONE)], "↑", None, "Previous agent to move to", SelectPrev),
    b!(MoveDialog, [(KeyCode::Enter, NONE)], "Enter", Some("move"), "Move them (then Enter closes)", Confirm),
    b!(MoveDialog, [(KeyCode::Esc, NONE)], "Esc", Some("close"), "Close without moving", Close),
    b!(MoveDialog, [(KeyCode::Char('c'), CTRL)], "Ctrl+c", None, "Quit the supervisor console", Quit),
    // --- Supervisor console: everywhere in it -----------------------------------------------
    b!(Supervise, [(KeyCode::Char('r'), NONE)], "r", Some("reload now"), "Read everything again now", Refresh),
    b!(
        Supervise,
        [(KeyCode::Char('?'), NONE), (KeyCode::Char('?'), SHIFT), (KeyCode::F(1), NONE)],
        "?",
        Some("help"),
        "Show or hide this help",
        Help
    ),
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
