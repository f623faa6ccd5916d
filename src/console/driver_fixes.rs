//! Fixing a driver from the queue: correct a driver's name or mobile, skip a driver to the end of
//! the queue, snooze one until a time, and cancel a dial started by mistake; and the small prompts
//! these open (the call-log search uses one too).

use chrono::{DateTime, Duration, NaiveTime, Utc};
use crossterm::event::KeyEvent;
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

use super::action::Effect;
use super::state::{App, Modal, Prompt, PromptFor};
use crate::domain::text::strip_controls;
use crate::tui::keys::{self, Command, Context};

fn selected(app: &mut App) -> Option<crate::store::QueueEntry> {
    let e = app.queue.selected_entry().cloned();
    if e.is_none() {
        app.info("Select a driver in the queue first.");
    }
    e
}

pub(super) fn on_fix_command(app: &mut App, cmd: Command) -> Vec<Effect> {
    match cmd {
        Command::CancelDial => return cancel_dial(app),
        Command::SkipDriver => {
            let Some(e) = selected(app) else { return vec![] };
            let what = format!("{} moved to the end of the queue.", strip_controls(&e.name));
            return vec![Effect::Reschedule { driver_id: e.driver_id, due_at: app.now, what }];
        }
        _ => {}
    }
    let Some(e) = selected(app) else { return vec![] };
    let name = strip_controls(&e.name);
    let prompt = if cmd == Command::EditDriver {
        Prompt {
            purpose: PromptFor::EditDriver { driver_id: e.driver_id },
            title: format!(" Edit {name} "),
            fields: vec![
                ("Name", Input::new(e.name.clone())),
                ("Mobile", Input::new(crate::domain::phone::readable(&e.mobile))),
            ],
            focus: 0,
            error: None,
            saving: false,
        }
    } else {
        Prompt {
            purpose: PromptFor::Snooze { driver_id: e.driver_id, name: name.clone() },
            title: format!(" Snooze {name} until… "),
            fields: vec![("Until (30m, 2h, 18:00)", Input::default())],
            focus: 0,
            error: None,
            saving: false,
        }
    };
    app.modal = Some(Modal::Prompt(Box::new(prompt)));
    vec![]
}

/// `t` on the call log: a name or number to look for (empty clears it).
pub(super) fn open_call_log_search(app: &mut App) -> Vec<Effect> {
    let current = app.call_log.text.clone().unwrap_or_default();
    app.modal = Some(Modal::Prompt(Box::new(Prompt {
        purpose: PromptFor::CallLogSearch,
        title: " Search the call log ".into(),
        fields: vec![("Name or number", Input::new(current))],
        focus: 0,
        error: None,
        saving: false,
    })));
    vec![]
}

/// A key typed into the prompt's focused field.
pub(super) fn on_prompt_key(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    if let Some(Modal::Prompt(p)) = &mut app.modal
        && let Some(req) = to_input_request(&crossterm::event::Event::Key(key))
        && let Some((_, input)) = p.fields.get_mut(p.focus)
    {
        input.handle(req);
        p.error = None;
    }
    vec![]
}

/// Tab / Shift+Tab / Enter in the prompt: Enter on the last field submits.
pub(super) fn on_prompt_command(app: &mut App, cmd: Command) -> Vec<Effect> {
    let (now, tz) = (app.now, app.tz);
    if cmd == Command::Confirm
        && let Some(Modal::Prompt(p)) = &app.modal
        && p.purpose == PromptFor::CallLogSearch
    {
        let text = p.fields.first().map(|(_, v)| v.value().trim().to_string()).filter(|t| !t.is_empty());
        app.modal = None;
        app.call_log.text = text;
        return super::lists::reload_call_log(app);
    }
    let Some(Modal::Prompt(p)) = &mut app.modal else { return vec![] };
    let n = p.fields.len().max(1);
    match cmd {
        Command::NextField => p.focus = (p.focus + 1) % n,
        Command::PrevField => p.focus = (p.focus + n - 1) % n,
        _ if p.focus + 1 < n => p.focus += 1,
        _ if !p.saving => match submit(p, now, tz) {
            Ok(effect) => {
                p.saving = true;
                return vec![effect];
            }
            Err(why) => p.error = Some(why),
        },
        _ => {}
    }
    vec![]
}

fn submit(p: &Prompt, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Result<Effect, String> {
    let value = |i: usize| p.fields.get(i).map(|(_, v)| v.value().trim().to_string()).unwrap_or_default();
    match &p.purpose {
        PromptFor::EditDriver { driver_id } => {
            let name = strip_controls(&value(0));
            if name.is_empty() {
                return Err("The name cannot be empty.".into());
            }
            Ok(Effect::EditDriver { driver_id: driver_id.clone(), name: Some(name), mobile: Some(value(1)) })
        }
        PromptFor::CallLogSearch => Err(format!("Press {} to search.", keys::key(Context::Prompt, Command::Confirm))),
        PromptFor::Snooze { driver_id, name } => {
            let until = parse_until(&value(0), now, tz)?;
            let what = format!("Snoozed {name} until {}.", day_and_time(until, now, tz));
            Ok(Effect::Snooze { driver_id: driver_id.clone(), until, what })
        }
    }
}

/// `today 18:00`, `tomorrow 10:00`, else `Thu 26 Nov 10:00`, in the team's zone.
pub fn day_and_time(t: DateTime<Utc>, now: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    let (local, today) = (t.with_timezone(&tz), crate::domain::hours::local_date(now, tz));
    let day = match (local.date_naive() - today).num_days() {
        0 => "today".to_string(),
        1 => "tomorrow".to_string(),
        _ => local.format("%a %-d %b").to_string(),
    };
    format!("{day} {}", local.format("%H:%M"))
}

/// `30m`, `2h`, `90` (minutes) or `18:00` (the next time it is 18:00 here).
pub fn parse_until(s: &str, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, String> {
    let s = s.trim().to_ascii_lowercase();
    let bad = || format!("\"{s}\" is not a time: try 30m, 2h or 18:00.");
    if let Ok(t) = NaiveTime::parse_from_str(&s, "%H:%M") {
        // In the team zone; "tomorrow" is the next calendar day, so a clock change keeps 18:00.
        let date = crate::domain::hours::local_date(now, tz);
        let today = crate::domain::hours::resolve(tz, date, t);
        if today > now {
            return Ok(today);
        }
        return date.succ_opt().map(|d| crate::domain::hours::resolve(tz, d, t)).ok_or_else(bad);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().map_err(|_| bad())?;
    let d = match unit.trim() {
        "" | "m" | "min" | "mins" => Duration::minutes(n),
        "h" | "hr" | "hrs" => Duration::hours(n),
        _ => return Err(bad()),
    };
    if n <= 0 || d > Duration::days(14) {
        return Err("Snooze for between a minute and 14 days.".into());
    }
    Ok(now + d)
}

fn cancel_dial(app: &mut App) -> Vec<Effect> {
    let Some(l) = app.live.as_ref().filter(|l| l.call.call_status().is_live()) else {
        app.info("No call in progress to cancel.");
        return vec![];
    };
    if l.call.call_status() == crate::domain::CallStatus::Connected {
        let end = keys::key(Context::Queue, Command::EndCall);
        app.error(format!("The driver answered: this call cannot be cancelled. Press {end} when it ends."));
        return vec![];
    }
    if l.kind == crate::coord::dialer::CallKind::Telecmi {
        // calldesk cannot stop a call TeleCMI is placing: what happens next is TeleCMI's to report.
        app.error(
            "TeleCMI is already placing this call and calldesk cannot stop it: decline it on your phone \
             (the driver is then not called and keeps their attempts).",
        );
        return vec![];
    }
    vec![Effect::CancelDial(l.call.id)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn snooze_times() {
        let tz = chrono_tz::Asia::Kolkata;
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).single().expect("now"); // 11:30 local
        assert_eq!(parse_until("30m", now, tz), Ok(now + Duration::minutes(30)));
        assert_eq!(parse_until("2h", now, tz), Ok(now + Duration::hours(2)));
        assert_eq!(parse_until("18:00", now, tz), Ok(now + Duration::minutes(390)));
        assert_eq!(parse_until("09:00", now, tz), Ok(now + Duration::hours(21) + Duration::minutes(30)));
        assert!(parse_until("soon", now, tz).is_err());
        assert!(parse_until("0m", now, tz).is_err());
    }

    #[test]
    fn snooze_messages_say_today_or_tomorrow() {
        let tz = chrono_tz::Asia::Kolkata;
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 6, 0, 0).single().expect("now"); // Tue 11:30 local
        let at = |s: &str| parse_until(s, now, tz).expect("time");
        assert_eq!(day_and_time(at("2h"), now, tz), "today 13:30");
        assert_eq!(day_and_time(at("10:00"), now, tz), "tomorrow 10:00");
        // 23:00 local is 17:30 UTC, still today here.
        assert_eq!(day_and_time(at("23:00"), now, tz), "today 23:00");
        assert_eq!(day_and_time(now + Duration::days(3), now, tz), "Fri 27 Nov 11:30");
    }
}
