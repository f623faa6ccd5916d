//! What each [`Command`] does, one small function per concern: moving around, the screens,
//! placing calls, the wrap-up form, the call-log filters, help and quitting.

use super::action::Effect;
use super::dialing::{dial, open_call_dialog};
use super::finder;
use super::lists::{move_selection, refresh_queue_in_place, reload_call_log, reload_queue};
use super::state::{App, Modal, Screen};
use super::wrapup;
use crate::coord::dialer::CallKind;
use crate::domain::CallStatus;
use crate::tui::keys::{self, Command, Context};

pub(super) fn on_command(app: &mut App, cmd: Command) -> Vec<Effect> {
    use Command::*;
    if matches!(app.modal, Some(Modal::Prompt(_))) && matches!(cmd, Confirm | NextField | PrevField) {
        return super::driver_fixes::on_prompt_command(app, cmd);
    }
    if matches!(app.modal, Some(Modal::Break(_))) {
        return super::breaks::on_picker_command(app, cmd);
    }
    match cmd {
        EditDriver | SkipDriver | SnoozeDriver | CancelDial => super::driver_fixes::on_fix_command(app, cmd),
        SelectNext | SelectPrev | PageDown | PageUp | First | Last => navigate(app, cmd),
        ShowQueue | ShowCallLog | ShowStats | Refresh => screens(app, cmd),
        ShowUpcoming => finder::show_upcoming(app),
        OpenSearch => finder::open_search(app),
        BrowseResults => finder::browse_results(app),
        ShowCard => finder::show_card(app),
        Help | Quit | ConfirmQuit | Close => overlays(app, cmd),
        OpenCallDialog | DialTelecmi | DialManual | Confirm | EndCall | ReopenWrapup | MarkNotPlaced => {
            call_flow(app, cmd)
        }
        StartFilter | ClearFilter => filter(app, cmd),
        SaveFeedback | SaveAndCallNext | NextField | PrevField | PickHighlighted | PickDoNotCall | ClearOutcome => {
            super::form_keys::on_form_command(app, cmd)
        }
        CycleStatusFilter | CycleFeedbackFilter | CycleDateFilter => call_log_filters(app, cmd),
        SearchCallLog => super::driver_fixes::open_call_log_search(app),
        ToggleBreak => super::breaks::toggle(app),
        // The supervisor's: no key of the console is bound to them.
        ShowAgentCalls | MoveDrivers => vec![],
    }
}

/// Arrows and pages: in the help they scroll, in the form and the dialog they move the highlight,
/// on the lists they move the selection.
fn navigate(app: &mut App, cmd: Command) -> Vec<Effect> {
    match &app.modal {
        Some(Modal::Help) => {
            app.help_scroll = match cmd {
                Command::SelectNext => app.help_scroll.saturating_add(1),
                Command::SelectPrev => app.help_scroll.saturating_sub(1),
                Command::PageDown => app.help_scroll.saturating_add(10),
                Command::PageUp => app.help_scroll.saturating_sub(10),
                Command::First => 0,
                _ => u16::MAX,
            }
            .min(super::views::help::max_scroll(app.size.0, app.size.1));
            vec![]
        }
        Some(Modal::Feedback(_)) => super::form_keys::move_highlight(app, cmd),
        Some(Modal::Card(_)) => finder::scroll_card(app, cmd),
        _ => move_selection(app, cmd),
    }
}

fn screens(app: &mut App, cmd: Command) -> Vec<Effect> {
    match (cmd, app.screen) {
        (Command::ShowQueue, _) => {
            app.screen = Screen::Queue;
            reload_queue(app)
        }
        (Command::ShowCallLog, _) | (Command::Refresh, Screen::CallLog) => {
            app.screen = Screen::CallLog;
            reload_call_log(app)
        }
        (Command::ShowStats, _) | (Command::Refresh, Screen::Stats) => {
            app.screen = Screen::Stats;
            vec![Effect::LoadStats]
        }
        (Command::Refresh, Screen::Upcoming) => finder::show_upcoming(app),
        (Command::Refresh, Screen::Search) => finder::search_again(app),
        _ => refresh_queue_in_place(app),
    }
}

/// Help, the quit question, and `Esc` on whatever is open.
fn overlays(app: &mut App, cmd: Command) -> Vec<Effect> {
    match cmd {
        Command::Help => {
            app.help_scroll = 0;
            app.modal = Some(Modal::Help);
            vec![]
        }
        Command::Quit => quit(app, false),
        Command::ConfirmQuit => quit(app, true),
        _ => close(app),
    }
}

fn close(app: &mut App) -> Vec<Effect> {
    match app.modal.take() {
        Some(Modal::Feedback(f)) => {
            let draft = f.draft(app.me.caller_id, &app.catalog);
            wrapup::keep_aside(app, &f, draft.clone());
            let reopen = keys::key(Context::Global, Command::ReopenWrapup);
            if app.waiting.contains_key(&f.call.id) {
                app.info(format!(
                    "Wrap-up put aside and kept; its save still waits for the database and is made by itself \
                     ({reopen} reopens it)."
                ));
            } else {
                app.info(format!("Wrap-up put aside and kept; press {reopen} to finish it."));
            }
            vec![Effect::SaveDraft(draft)]
        }
        Some(Modal::ConfirmQuit(q)) if q.reopen_wrapup => wrapup::open_next_wrapup(app),
        _ => vec![],
    }
}

fn call_flow(app: &mut App, cmd: Command) -> Vec<Effect> {
    match cmd {
        Command::OpenCallDialog => open_call_dialog(app),
        Command::DialTelecmi => dial(app, CallKind::Telecmi),
        Command::DialManual => dial(app, CallKind::Manual),
        Command::Confirm => match &app.modal {
            Some(Modal::CallDialog(d)) => {
                let kind = d.highlighted;
                dial(app, kind)
            }
            _ => {
                app.queue.filtering = false;
                vec![]
            }
        },
        Command::EndCall => wrapup::end_call(app),
        Command::MarkNotPlaced => mark_not_placed(app),
        _ => {
            if app.wrapups.is_empty() {
                app.info("No wrap-up is waiting.");
                return vec![];
            }
            wrapup::open_next_wrapup(app)
        }
    }
}

fn filter(app: &mut App, cmd: Command) -> Vec<Effect> {
    if cmd == Command::StartFilter {
        app.queue.filtering = true;
        return vec![];
    }
    app.queue.filtering = false;
    if app.queue.filter.value().is_empty() {
        return vec![];
    }
    app.queue.filter.reset();
    reload_queue(app)
}

fn call_log_filters(app: &mut App, cmd: Command) -> Vec<Effect> {
    let v = &mut app.call_log;
    match cmd {
        Command::CycleStatusFilter => {
            let all: Vec<Option<String>> =
                std::iter::once(None).chain(CallStatus::ALL.iter().map(|s| Some(s.as_str().to_string()))).collect();
            let i = all.iter().position(|s| *s == v.status).unwrap_or(0);
            v.status = all[(i + 1) % all.len()].clone();
        }
        Command::CycleFeedbackFilter => {
            let n = app.catalog.all().len();
            v.feedback = match v.feedback {
                None => Some(0),
                Some(i) if i + 1 < n => Some(i + 1),
                Some(_) => None,
            };
        }
        _ => v.range = v.range.next(),
    }
    reload_call_log(app)
}

/// `n` on an unconfirmed call: only after a minute (TeleCMI may still ring before that).
fn mark_not_placed(app: &mut App) -> Vec<Effect> {
    let Some(call) = app.live.as_ref().map(|l| l.call.clone()).filter(|c| c.is_unconfirmed()) else {
        let n = keys::key(Context::Queue, Command::MarkNotPlaced);
        app.info(format!("No unconfirmed call: {n} marks a call TeleCMI never confirmed as not placed."));
        return vec![];
    };
    let wait = crate::coord::dialer::MARK_NOT_PLACED_AFTER_SECS - (app.now - call.created_at).num_seconds();
    if wait > 0 {
        let n = keys::key(Context::Queue, Command::MarkNotPlaced);
        app.info(format!("TeleCMI may still ring: {n} marks the call as not placed in {wait}s."));
        return vec![];
    }
    vec![Effect::MarkNotPlaced(call.id)]
}

/// `Command::Quit`: asks first when a call is live or a wrap-up is open.
pub(super) fn quit(app: &mut App, confirmed: bool) -> Vec<Effect> {
    if !confirmed && let Some(stakes) = app.quit_stakes() {
        let reopen_wrapup = app.form().is_some();
        if let Some(Modal::Feedback(f)) = app.modal.take() {
            // The form comes back if the agent stays; meanwhile it waits with the others.
            let draft = f.draft(app.me.caller_id, &app.catalog);
            wrapup::keep_aside(app, &f, draft);
        }
        app.modal = Some(Modal::ConfirmQuit(super::state::ConfirmQuit { stakes, reopen_wrapup }));
        return vec![];
    }
    app.quit = true;
    let caller = app.me.caller_id;
    let catalog = app.catalog.clone();
    let from_form = app.form().map(|f| f.draft(caller, &catalog));
    let aside = app.wrapups.iter().filter_map(|(_, d)| d.clone());
    from_form.into_iter().chain(aside).map(Effect::SaveDraft).collect()
}
