//! The webhooks of one simulated call, in the order and with the gaps TeleCMI would send them.
//! [`Wire`] is the one place that writes TeleCMI's wire format (shared/TELECMI.md: `time` in epoch
//! milliseconds, `to` a string in live events and a number in reports, `app_id`/`appid`,
//! `record: true`), so the quick scenarios and the timed ones cannot drift apart. The quirks the
//! parser must also accept (`time` or `answeredsec` as strings, `record: "true"`) are tested in
//! `webhook.rs` and through the listener (`tests/recordings.rs`, `tests/ingest_durability.rs`).

use serde_json::{Value, json};

use super::{CDR_DELAY_SECS, Outcome, PlacedCall, RING_SECS, talk_secs_of};

/// One webhook and the TeleCMI seconds since the one before. `None`: lost on the way (nothing is
/// sent, but its time passes). The gaps matter only in the timed scenarios
/// ([`Outcome::is_timed`]); the others send a webhook every step, whatever their gaps say.
pub(super) type Timed = (f64, Option<Value>);

/// A live event or report sent right after the one before.
fn soon(v: Value) -> Timed {
    (0.1, Some(v))
}

/// The webhooks of call `p` placed on app `app_id`, for every [`Outcome`].
pub(super) fn script(p: &PlacedCall, app_id: &str) -> Vec<Timed> {
    let w = Wire::new(p, app_id);
    match p.outcome {
        Outcome::Answered { talk_secs } => w.answered(talk_secs, 6),
        Outcome::Duplicate => w.answered(talk_secs_of(p.outcome), 6).into_iter().flat_map(|e| [e.clone(), e]).collect(),
        Outcome::OutOfOrder => w.out_of_order(talk_secs_of(p.outcome)),
        Outcome::DriverNoAnswer => w.driver_not_reached("recv_cancel", 35),
        Outcome::Rejected => w.driver_not_reached("sent_reject", 8),
        Outcome::AgentNoAnswer => {
            vec![
                (1.0, Some(w.event("a", "started"))),
                (RING_SECS, Some(w.event("a", "hangup"))),
                soon(w.cdr_missed("a", "recv_cancel")),
            ]
        }
        Outcome::Silent | Outcome::AuthFailure | Outcome::InvalidUser | Outcome::Timeout => vec![],
        Outcome::LongTalk { talk_secs } => w.answered(talk_secs, 17),
        Outcome::SlowAnswer { events_after_secs, talk_secs, .. } => {
            let mut v = w.answered(talk_secs, 17);
            if let Some(first) = v.first_mut() {
                first.0 = f64::from(events_after_secs);
            }
            v
        }
        // The hangups and reports are lost on the way, at their times.
        Outcome::LostFinal { talk_secs } => {
            w.answered(talk_secs, 17).into_iter().enumerate().map(|(i, (t, v))| (t, v.filter(|_| i < 4))).collect()
        }
        Outcome::HangupBeforeAnswer => w.hangup_before_answer(),
        Outcome::Legacy { talk_secs } => w.legacy_call(talk_secs),
    }
}

/// What every webhook of one call shares, and the three shapes TeleCMI sends: live events,
/// reports (CDRs) and the old leg-less format.
struct Wire<'a> {
    p: &'a PlacedCall,
    call_id: String,
    /// `extra_params` as TeleCMI echoes it: a JSON-encoded string.
    extra: String,
    app: i64,
    now_ms: i64,
}

impl<'a> Wire<'a> {
    fn new(p: &'a PlacedCall, app_id: &str) -> Self {
        Self {
            p,
            call_id: format!("sim-{}", &p.request_id[..12.min(p.request_id.len())]),
            extra: serde_json::to_string(&p.extra_params).unwrap_or_default(),
            app: app_id.parse().unwrap_or_default(),
            now_ms: chrono::Utc::now().timestamp_millis(),
        }
    }

    fn leg_id(&self, leg: &str) -> String {
        format!("{}-{leg}", self.call_id)
    }

    /// A live event (`type: event`): `to` as a string, `app_id`.
    fn event(&self, leg: &str, status: &str) -> Value {
        json!({"call_id": self.call_id, "leg": leg, "type": "event", "user": self.p.user_id,
               "cmiuuid": self.leg_id(leg), "direction": "outbound", "callerid": "912240000000", "app_id": self.app,
               "time": self.now_ms, "custom": "{\"crm\":\"true\"}", "extra_params": self.extra,
               "request_id": self.p.request_id, "status": status, "to": self.p.to.to_string(),
               "conversation_uuid": self.leg_id(leg)})
    }

    /// A leg's report (`type: cdr`): `to` as a number, `appid`.
    fn cdr(&self, leg: &str, status: &str, reason: &str) -> Value {
        json!({"virtual_number": "912240000000", "call_id": self.call_id, "custom": "{\"crm\":\"true\"}", "leg": leg,
               "type": "cdr", "appid": self.app, "to": self.p.to, "cmiuuid": self.leg_id(leg), "status": status,
               "user": self.p.user_id, "time": self.now_ms, "direction": "outbound", "hangup_reason": reason,
               "request_id": self.p.request_id, "extra_params": self.extra})
    }

    /// The report of an answered leg, `secs` talked; leg B's names its recording.
    fn cdr_answered(&self, leg: &str, secs: u32, reason: &str) -> Value {
        let mut v = self.cdr(leg, "answered", reason);
        v["answeredsec"] = json!(secs);
        if leg == "b" {
            v["record"] = json!(true);
            v["filename"] = json!(format!("{}.mp3", self.call_id));
        }
        v
    }

    /// The report of a leg nobody answered (no `answeredsec`).
    fn cdr_missed(&self, leg: &str, reason: &str) -> Value {
        self.cdr(leg, "missed", reason)
    }

    /// The old format: `cmiuid` per leg, no leg, no request_id, no call_id, `click_to_call`.
    fn legacy(&self, leg: &str, status: &str, report: Option<(u32, &str)>) -> Value {
        let mut v = json!({"cmiuid": self.leg_id(leg), "status": status, "user": self.p.user_id,
               "to": self.p.to.to_string(), "click_to_call": "true", "appid": self.app, "time": self.now_ms});
        if let Some((secs, reason)) = report {
            v["answeredsec"] = json!(secs);
            v["hangup_reason"] = json!(reason);
        }
        v
    }

    /// Both legs ring and answer; nothing is sent during the talk; the hangups, then the reports
    /// after [`CDR_DELAY_SECS`]. Leg A's report counts `agent_extra` seconds more than the talk.
    fn answered(&self, talk: u32, agent_extra: u32) -> Vec<Timed> {
        vec![
            (1.0, Some(self.event("a", "started"))),
            (RING_SECS, Some(self.event("a", "answered"))),
            (0.5, Some(self.event("b", "started"))),
            (RING_SECS, Some(self.event("b", "answered"))),
            (f64::from(talk), Some(self.event("b", "hangup"))),
            soon(self.event("a", "hangup")),
            (CDR_DELAY_SECS, Some(self.cdr_answered("b", talk, "recv_bye"))),
            soon(self.cdr_answered("a", talk + agent_extra, "sent_bye")),
        ]
    }

    /// An answered call whose hangups and leg A's report overtake leg B's answer; leg B's report
    /// comes last.
    fn out_of_order(&self, talk: u32) -> Vec<Timed> {
        vec![
            soon(self.event("a", "started")),
            soon(self.event("a", "hangup")),
            soon(self.event("b", "answered")),
            soon(self.cdr_answered("a", talk + 6, "sent_bye")),
            soon(self.event("b", "started")),
            soon(self.event("b", "hangup")),
            soon(self.cdr_answered("b", talk, "recv_bye")),
        ]
    }

    /// The agent answers; the driver's phone is not answered (`recv_cancel`) or rejects
    /// (`sent_reject`); leg A's report counts `agent_secs`.
    fn driver_not_reached(&self, reason: &str, agent_secs: u32) -> Vec<Timed> {
        vec![
            (1.0, Some(self.event("a", "started"))),
            (RING_SECS, Some(self.event("a", "answered"))),
            (0.5, Some(self.event("b", "started"))),
            (RING_SECS, Some(self.event("b", "hangup"))),
            soon(self.event("a", "hangup")),
            (CDR_DELAY_SECS, Some(self.cdr_missed("b", reason))),
            soon(self.cdr_answered("a", agent_secs, "sent_bye")),
        ]
    }

    /// The agent gives up while the driver's phone still rings.
    fn hangup_before_answer(&self) -> Vec<Timed> {
        vec![
            (1.0, Some(self.event("a", "started"))),
            (RING_SECS, Some(self.event("a", "answered"))),
            (0.5, Some(self.event("b", "started"))),
            (RING_SECS / 2.0, Some(self.event("a", "hangup"))),
            soon(self.event("b", "hangup")),
            (CDR_DELAY_SECS, Some(self.cdr_missed("b", "recv_cancel"))),
            soon(self.cdr_answered("a", 9, "sent_bye")),
        ]
    }

    /// An answered call in the old format, talking for `talk` seconds.
    fn legacy_call(&self, talk: u32) -> Vec<Timed> {
        vec![
            (1.0, Some(self.legacy("a", "started", None))),
            (RING_SECS, Some(self.legacy("a", "answered", None))),
            (0.5, Some(self.legacy("b", "started", None))),
            (RING_SECS, Some(self.legacy("b", "answered", None))),
            (f64::from(talk), Some(self.legacy("b", "hangup", None))),
            soon(self.legacy("a", "hangup", None)),
            (CDR_DELAY_SECS, Some(self.legacy("a", "answered", Some((talk + 17, "sent_bye"))))),
            soon(self.legacy("b", "answered", Some((talk, "recv_bye")))),
        ]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::domain::{Leg, Signal};
    use crate::telecmi::webhook;

    const EVERY_OUTCOME: [Outcome; 15] = [
        Outcome::Answered { talk_secs: 25 },
        Outcome::DriverNoAnswer,
        Outcome::AgentNoAnswer,
        Outcome::Rejected,
        Outcome::AuthFailure,
        Outcome::InvalidUser,
        Outcome::Timeout,
        Outcome::Duplicate,
        Outcome::OutOfOrder,
        Outcome::Silent,
        Outcome::LongTalk { talk_secs: 600 },
        Outcome::SlowAnswer { answer_after_secs: 20, events_after_secs: 3, talk_secs: 40 },
        Outcome::LostFinal { talk_secs: 40 },
        Outcome::HangupBeforeAnswer,
        Outcome::Legacy { talk_secs: 40 },
    ];

    fn placed(outcome: Outcome) -> PlacedCall {
        PlacedCall {
            request_id: "R0123456789abcdef".into(),
            user_id: "5003_33336628".into(),
            to: 919876543210,
            extra_params: json!({"calldesk_call_id": 42}),
            body: Value::Null,
            outcome,
        }
    }

    fn sent(outcome: Outcome) -> Vec<Value> {
        script(&placed(outcome), "33336628").into_iter().filter_map(|(_, v)| v).collect()
    }

    /// Every scenario speaks the documented format, and the parser reads each webhook back.
    #[test]
    fn every_scenario_sends_the_documented_wire_format() {
        for outcome in EVERY_OUTCOME {
            for v in sent(outcome) {
                assert!(v["time"].is_i64(), "{outcome:?}: `time` is epoch milliseconds: {v}");
                let report = v.get("hangup_reason").is_some();
                match v.get("type").and_then(Value::as_str) {
                    Some("event") => assert!(v["to"].is_string() && v["app_id"].is_i64(), "{outcome:?}: {v}"),
                    Some("cdr") => assert!(v["to"].is_u64() && v["appid"].is_i64(), "{outcome:?}: {v}"),
                    _ => assert!(v["cmiuid"].is_string() && v.get("leg").is_none(), "{outcome:?}: old format {v}"),
                }
                if let Some(record) = v.get("record") {
                    assert_eq!(record, &Value::Bool(true), "{outcome:?}: {v}");
                }
                let ev = webhook::parse(v.to_string().as_bytes()).expect("parses");
                assert_eq!(ev.kind == "cdr", report, "{outcome:?}: {v}");
                if v.get("leg").is_some() {
                    assert_eq!(ev.call_log_id, Some(42), "{outcome:?}: extra_params carries our call id");
                }
            }
        }
    }

    #[test]
    fn an_answered_call_is_the_same_call_quick_or_timed() {
        let statuses = |o| -> Vec<(String, String, String)> {
            sent(o).iter().map(|v| (v["leg"].to_string(), v["type"].to_string(), v["status"].to_string())).collect()
        };
        assert_eq!(statuses(Outcome::Answered { talk_secs: 40 }), statuses(Outcome::LongTalk { talk_secs: 40 }));
        let b_report = sent(Outcome::Answered { talk_secs: 40 }).into_iter().rfind(|v| v["leg"] == "b");
        let ev = webhook::parse(b_report.expect("leg B's report").to_string().as_bytes()).expect("parse");
        assert_eq!((ev.leg, ev.signal, ev.duration), (Leg::B, Some(Signal::Report { answered: true }), Some(40)));
        assert_eq!(ev.recording.as_deref(), Some("sim-R0123456789a.mp3"));
    }

    #[test]
    fn timed_scenarios_keep_telecmis_gaps() {
        let gaps = |o| script(&placed(o), "33336628").into_iter().map(|(t, _)| t).collect::<Vec<_>>();
        let long = gaps(Outcome::LongTalk { talk_secs: 600 });
        assert_eq!(long[4], 600.0, "nothing is sent during the talk");
        assert_eq!(long[6], CDR_DELAY_SECS, "the reports come after the hangup");
        assert_eq!(gaps(Outcome::SlowAnswer { answer_after_secs: 20, events_after_secs: 3, talk_secs: 40 })[0], 3.0);
        let lost = script(&placed(Outcome::LostFinal { talk_secs: 40 }), "33336628");
        assert_eq!(lost.iter().filter(|(_, v)| v.is_some()).count(), 4, "only the starts and answers arrive");
    }
}
