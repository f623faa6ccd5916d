//! Typing into the wrap-up form: its keys, the outcome list, the text fields.
//!
//! Focus rules, so no key sequence changes a picked outcome or drops typed text unseen: while a
//! text field has focus every printable key is text; letters pick outcomes only in the outcome
//! list, and only while none is chosen — once one is, typing there goes on into the remarks
//! (Alt+letter, or ↑↓ and Space, change the choice from anywhere / the list).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use super::action::Effect;
use super::state::{App, FeedbackForm, Field};
use super::wrapup::{last_key, save};
use crate::domain::FeedbackCatalog;
use crate::tui::keys::{self, Command, Context};

/// A key the key table did not claim, typed into the form.
pub(super) fn on_form_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    let catalog = app.catalog.clone();
    let Some(f) = app.form_mut() else { return vec![] };
    if let (KeyCode::Char(c), KeyModifiers::ALT) = (key.code, key.modifiers) {
        pick_by_key(f, &catalog, c);
        return vec![];
    }
    match f.focus {
        Field::Outcome => on_list_key(f, &catalog, key),
        Field::Remarks => {
            let max = f.remarks_max();
            type_into(f, key, |f| &mut f.remarks, Some(max));
        }
        Field::Duration => {
            if std::mem::take(&mut f.duration_guessed) && printable(&key).is_some() {
                // Typing a number replaces calldesk's guess rather than adding digits to it.
                f.duration = Input::default();
            }
            type_into(f, key, |f| &mut f.duration, None);
        }
    }
    vec![]
}

fn printable(key: &KeyEvent) -> Option<char> {
    match (key.code, key.modifiers) {
        (KeyCode::Char(c), KeyModifiers::NONE | KeyModifiers::SHIFT) => Some(c),
        _ => None,
    }
}

fn on_list_key(f: &mut FeedbackForm, catalog: &FeedbackCatalog, key: KeyEvent) {
    let Some(c) = printable(&key) else { return };
    if f.chosen.is_some() {
        // An outcome is chosen: what follows is the remarks, not another pick.
        f.focus = Field::Remarks;
        let max = f.remarks_max();
        type_into(f, key, |f| &mut f.remarks, Some(max));
        return;
    }
    if c.is_ascii_lowercase() {
        pick_by_key(f, catalog, c);
        return;
    }
    // A capital, a digit or punctuation is the start of a sentence, not an outcome key: it goes
    // to the remarks, and the save asks for an outcome.
    f.focus = Field::Remarks;
    let max = f.remarks_max();
    type_into(f, key, |f| &mut f.remarks, Some(max));
    let back = keys::key(Context::Feedback, Command::PrevField);
    f.error =
        Some(format!("Typing in the remarks. Pick an outcome too: {back}, then a letter a–{}.", last_key(catalog)));
}

/// Edits one text field with `key`, keeping it within `max` characters.
fn type_into(f: &mut FeedbackForm, key: KeyEvent, field: fn(&mut FeedbackForm) -> &mut Input, max: Option<usize>) {
    let Some(req) = to_input_request(&crossterm::event::Event::Key(key)) else { return };
    let input = field(f);
    let before = input.clone();
    input.handle(req);
    if max.is_some_and(|m| input.value().chars().count() > m) {
        *input = before;
        f.error = Some(format!("Remarks are limited to {} characters here.", max.unwrap_or_default()));
        return;
    }
    if before.value() != field(f).value() {
        f.dirty = true;
        f.error = None;
    }
}

fn pick_by_key(f: &mut FeedbackForm, catalog: &FeedbackCatalog, c: char) {
    match catalog.by_key(c.to_ascii_lowercase()) {
        Some((i, _)) => choose(f, catalog, i),
        None => f.error = Some(format!("No outcome on key {c:?}; use a–{}.", last_key(catalog))),
    }
}

/// Chooses the `index`-th outcome if it fits the call; otherwise says why and keeps the choice.
pub(super) fn choose(f: &mut FeedbackForm, catalog: &FeedbackCatalog, index: usize) {
    f.cursor = index;
    if let Some(why) = f.refusal(catalog, index) {
        let label = catalog.all().get(index).map_or("", |o| o.label.as_str());
        f.error = Some(format!("\"{label}\" does not fit: {why}."));
        return;
    }
    f.chosen = Some(index);
    f.preselected = false;
    f.error = None;
    f.dirty = true;
}

/// ↑↓ in the outcome list move the highlight (in display order); elsewhere they do nothing.
pub(super) fn move_highlight(app: &mut App, cmd: Command) -> Vec<Effect> {
    let order = app.catalog.display_order();
    let Some(f) = app.form_mut().filter(|f| f.focus == Field::Outcome) else { return vec![] };
    let n = order.len().max(1);
    let at = order.iter().position(|i| *i == f.cursor).unwrap_or(0);
    let next = match cmd {
        Command::SelectNext => (at + 1) % n,
        Command::SelectPrev => (at + n - 1) % n,
        Command::First => 0,
        Command::Last => n - 1,
        _ => at,
    };
    f.cursor = order.get(next).copied().unwrap_or(0);
    vec![]
}

/// The form's own commands: save, save and call next, Tab / Shift+Tab, Space and Delete.
pub(super) fn on_form_command(app: &mut App, cmd: Command) -> Vec<Effect> {
    let catalog = app.catalog.clone();
    let Some(f) = app.form_mut() else { return vec![] };
    match cmd {
        Command::SaveFeedback => save(app, false),
        Command::SaveAndCallNext => save(app, true),
        Command::PickHighlighted => {
            let i = f.cursor;
            choose(f, &catalog, i);
            vec![]
        }
        Command::PickDoNotCall => {
            match catalog.do_not_call() {
                Some((i, _)) => choose(f, &catalog, i),
                None => f.error = Some("There is no do-not-call outcome here.".into()),
            }
            vec![]
        }
        Command::ClearOutcome => {
            f.chosen = None;
            f.preselected = false;
            f.dirty = true;
            vec![]
        }
        _ => {
            let order = f.fields();
            let i = order.iter().position(|x| *x == f.focus).unwrap_or(0);
            let n = order.len();
            f.focus = order[if cmd == Command::NextField { (i + 1) % n } else { (i + n - 1) % n }];
            vec![]
        }
    }
}
