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
    /// The supervisor console, whatever is open in it.
    Supervise,
    /// The supervisor's board of agents (nothing open over it).
    Board,
    /// One agent's calls today, opened from the board.
    AgentCalls,
    /// Moving an agent's queued drivers to another agent.
    MoveDialog,
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
    // The supervisor's board
    /// The selected agent's calls today.
    ShowAgentCalls,
    /// Move the selected agent's queued drivers.
    MoveDrivers,
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

/// Every binding, in the order the help lists them (one table: see [`table`]).
pub use table::BINDINGS;

mod table;

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
        Context::Board => "The board of agents (alerts first: ⚠ idle or on a break too long)",
        Context::AgentCalls => "An agent's calls today (newest first)",
        Context::MoveDialog => "Moving drivers (type how many; empty = every one that may move)",
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
