//! Lenient parsing of TeleCMI webhooks (live events and CDRs) into [`ProviderEvent`]s.
//!
//! Accepts every quirk TeleCMI's own samples show: numbers as strings, `to` as number or string,
//! `appid`/`app_id`, `cmiuuid`/`cmiuid`, `record` as bool or `"true"`, `extra_params` as a
//! JSON-encoded string, older payloads without `leg`/`request_id`, unknown extra fields.

use serde_json::{Map, Value};

use super::CALL_ID_PARAM;
use crate::domain::{Leg, ProviderEvent, Signal};

/// Why a webhook body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("body is not a JSON object")]
    NotObject,
    #[error("missing field `status`")]
    NoStatus,
}

/// A string or number field as text.
pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A whole number given as a number or a string (`42`, `"42"`, `42.0`); nothing out of range.
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().and_then(float_to_int)),
        Value::String(s) => {
            s.trim().parse::<i64>().ok().or_else(|| s.trim().parse::<f64>().ok().and_then(float_to_int))
        }
        _ => None,
    }
}

fn float_to_int(f: f64) -> Option<i64> {
    (f.is_finite() && f.abs() < 9.0e15).then(|| f.round() as i64)
}

/// Longest talk time believed (a week); anything beyond is a broken report, not a duration.
const MAX_DURATION: i64 = 7 * 86_400;

fn text(o: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| o.get(*k).and_then(as_text))
}

/// `extra_params` arrives as a JSON-encoded string (or, defensively, an object).
fn extra_call_id(o: &Map<String, Value>) -> Option<i64> {
    let extra = o.get("extra_params")?;
    let parsed;
    let obj = match extra {
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s).ok()?;
            parsed.as_object()?
        }
        Value::Object(m) => m,
        _ => return None,
    };
    // Our ids are INT columns: anything outside is not ours.
    obj.get(CALL_ID_PARAM).and_then(as_int).filter(|id| (1..=i64::from(i32::MAX)).contains(id))
}

/// Whether `record` says a recording exists (`true` or `"true"`).
pub fn has_recording(o: &Map<String, Value>) -> bool {
    matches!(o.get("record"), Some(Value::Bool(true)))
        || matches!(o.get("record"), Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true"))
}

/// The longest recording file name believed; a longer one is a broken report.
const MAX_FILENAME: usize = 200;

/// A recording's file name as TeleCMI's play endpoint wants it back (`file=`), if it is one: a
/// plain name, not a path (no `/` or `\`, not `.`/`..`), no control characters, at most 200
/// characters. It travels URL-encoded; nothing here trusts it further.
pub fn recording_filename(v: &Value) -> Option<String> {
    let name = match v {
        Value::String(_) | Value::Number(_) => as_text(v)?,
        _ => return None,
    };
    let plain = name.chars().count() <= MAX_FILENAME
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c.is_control() || c == '/' || c == '\\');
    plain.then_some(name)
}

/// The recording a leg's report names: `record` true and a usable `filename`.
fn recording_of(o: &Map<String, Value>) -> Option<String> {
    has_recording(o).then(|| o.get("filename").and_then(recording_filename)).flatten()
}

/// Parses one webhook body.
pub fn parse(body: &[u8]) -> Result<ProviderEvent, ParseError> {
    parse_with_app_id(body).map(|(ev, _)| ev)
}

/// Parses one webhook body, with the TeleCMI app it names (`appid` in CDRs, `app_id` in events).
pub fn parse_with_app_id(body: &[u8]) -> Result<(ProviderEvent, Option<String>), ParseError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ParseError::NotJson(short(&e.to_string())))?;
    let o = v.as_object().ok_or(ParseError::NotObject)?;
    let status = text(o, &["status"]).ok_or(ParseError::NoStatus)?.to_ascii_lowercase();
    let hangup_reason = text(o, &["hangup_reason"]).map(|s| s.to_ascii_lowercase());
    let kind = match text(o, &["type"]).map(|s| s.to_ascii_lowercase()) {
        Some(t) if t == "cdr" || t == "event" => t,
        // Older payloads carry no type: a report has a hangup reason or a duration.
        _ if hangup_reason.is_some() || ["answeredsec", "billedsec", "duration"].iter().any(|k| o.contains_key(*k)) => {
            "cdr".into()
        }
        _ => "event".into(),
    };
    let leg = match text(o, &["leg"]).map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("a") => Leg::A,
        Some("b") => Leg::B,
        _ => Leg::Unknown,
    };
    let signal = signal_of(&kind, &status, hangup_reason.as_deref());
    let request_id = text(o, &["request_id"]);
    let call_id = text(o, &["call_id"]);
    let leg_id = text(o, &["cmiuuid", "cmiuid"]);
    let anchor = request_id.clone().or(call_id).or(leg_id.clone());
    // Older payloads name no leg but carry the leg's own id: both legs' reports share a call id,
    // so without it the second leg would be dropped as a duplicate of the first.
    let leg_part = match (leg, &leg_id) {
        (Leg::Unknown, Some(uid)) => format!("cmiuid:{uid}"),
        _ => leg.as_str().to_string(),
    };
    let dedup_key = match anchor {
        Some(a) => format!("{a}|{leg_part}|{kind}|{status}"),
        None => format!("payload|{}", crate::domain::token::hash(&String::from_utf8_lossy(body))),
    };
    let duration = if kind == "cdr" { talk_time(o) } else { None };
    let recording = if kind == "cdr" { recording_of(o) } else { None };
    let number =
        text(o, &["to"]).map(|t| t.chars().filter(char::is_ascii_digit).collect::<String>()).filter(|t| !t.is_empty());
    let event = ProviderEvent {
        dedup_key: truncate(dedup_key, 255),
        call_log_id: extra_call_id(o),
        request_id: request_id.map(|r| truncate(r, 255)),
        telecmi_user: text(o, &["user", "agent"]),
        number,
        kind,
        leg,
        provider_status: truncate(status, 50),
        signal,
        duration: if signal == Some(Signal::Report { answered: false }) { Some(0) } else { duration },
        recording,
        payload: String::from_utf8_lossy(body).into_owned(),
    };
    Ok((event, text(o, &["appid", "app_id"])))
}

/// Seconds talked: `answeredsec`, else `billedsec`, else `duration` (what TeleCMI's CDR lists and
/// some accounts' webhooks carry); the first that is a believable number.
fn talk_time(o: &Map<String, Value>) -> Option<i64> {
    ["answeredsec", "billedsec", "duration"]
        .iter()
        .find_map(|k| o.get(*k).and_then(as_int).filter(|d| (0..=MAX_DURATION).contains(d)))
}

/// TeleCMI's words mapped to what happened on the leg.
fn signal_of(kind: &str, status: &str, hangup_reason: Option<&str>) -> Option<Signal> {
    if kind == "cdr" {
        return Some(match status {
            "answered" | "completed" if hangup_reason != Some("sent_reject") => Signal::Report { answered: true },
            _ => Signal::Report { answered: false },
        });
    }
    match status {
        "started" | "ringing" | "initiated" => Some(Signal::Started),
        "answered" | "connected" => Some(Signal::Answered),
        "hangup" | "ended" | "completed" | "missed" | "cancel" | "rejected" => Some(Signal::Hangup),
        _ => None,
    }
}

fn short(s: &str) -> String {
    s.chars().take(120).collect()
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT_A_STARTED: &str = r#"{"call_id": "e51d5392-d9cf-123b-fe91-3cecefb9bfb6", "leg": "a", "type": "event", "user": "202_2222223",
 "cmiuuid": "ccd826f9-67a4-4467-acfb-a53093ff5c9d", "direction": "outbound", "callerid": "442000000000",
 "app_id": 2223343, "time": 1650635340436, "custom": "{\"crm\":\"true\"}",
 "extra_params": "{\"click2call\":\"true\"}", "request_id": "bvS68LlqtFunYMQO0db6g9klSdfS0UHHDoK9S9Qvaed",
 "status": "started", "to": "442000000001", "conversation_uuid": "ccd826f9-67a4-4467-acfb-a53093ff5c9d"}"#;

    const CDR_A_ANSWERED: &str = r#"{"virtual_number": "440000000000", "call_id": "c4504776-d91e-123b-29a7-56000429abc3", "custom": "{\"crm\":\"true\"}",
 "leg": "a", "type": "cdr", "appid": 2222223, "to": 442000000000, "cmiuuid": "10ee0eb6-c417-4f5a-b122-bffe28f96eae",
 "status": "answered", "user": "202_2222223", "time": 1650630551178, "direction": "outbound", "answeredsec": 15,
 "hangup_reason": "recv_bye", "request_id": "c0Sq3mbykoHgVgLfyWTr6cV6HB5Z0Fk4AXpZFkOClSr",
 "extra_params": "{\"click2call\":\"true\"}"}"#;

    #[test]
    fn documented_live_event_parses() {
        let e = parse(EVENT_A_STARTED.as_bytes()).expect("parse");
        assert_eq!(e.kind, "event");
        assert_eq!(e.leg, Leg::A);
        assert_eq!(e.signal, Some(Signal::Started));
        assert_eq!(e.request_id.as_deref(), Some("bvS68LlqtFunYMQO0db6g9klSdfS0UHHDoK9S9Qvaed"));
        assert_eq!(e.number.as_deref(), Some("442000000001"));
        assert_eq!(e.telecmi_user.as_deref(), Some("202_2222223"));
        assert_eq!(e.call_log_id, None, "click2call:true is not our id");
        assert_eq!(e.dedup_key, "bvS68LlqtFunYMQO0db6g9klSdfS0UHHDoK9S9Qvaed|a|event|started");
    }

    #[test]
    fn documented_cdr_parses() {
        let e = parse(CDR_A_ANSWERED.as_bytes()).expect("parse");
        assert_eq!((e.kind.as_str(), e.leg), ("cdr", Leg::A));
        assert_eq!(e.signal, Some(Signal::Report { answered: true }));
        assert_eq!(e.duration, Some(15));
        assert_eq!(e.number.as_deref(), Some("442000000000"), "numeric `to`");
    }

    #[test]
    fn leg_b_cdr_with_recording_and_string_quirks() {
        let body = r#"{"type":"cdr","leg":"b","status":"answered","answeredsec":"42","record":"true","filename":"x.mp3",
            "to":"919876543210","appid":"33336628","time":"1650630551178","request_id":"R1",
            "extra_params":"{\"calldesk_call_id\":\"17\"}","something_new":{"x":1}}"#;
        let e = parse(body.as_bytes()).expect("parse");
        assert_eq!(e.call_log_id, Some(17));
        assert_eq!(e.duration, Some(42));
        let v: Value = serde_json::from_str(body).expect("json");
        assert!(has_recording(v.as_object().expect("obj")));
        let v: Value = serde_json::from_str(r#"{"record":true}"#).expect("json");
        assert!(has_recording(v.as_object().expect("obj")));
    }

    #[test]
    fn leg_b_report_names_its_recording_with_record_as_bool_or_string() {
        let cdr = |record: &str, filename: &str| {
            let body = format!(
                r#"{{"type":"cdr","leg":"b","status":"answered","answeredsec":42,"request_id":"R1"{record}{filename}}}"#
            );
            parse(body.as_bytes()).expect("parse").recording
        };
        assert_eq!(cdr(r#","record":true"#, r#","filename":"c-1.mp3""#).as_deref(), Some("c-1.mp3"));
        assert_eq!(cdr(r#","record":"true""#, r#","filename":"c-1.mp3""#).as_deref(), Some("c-1.mp3"));
        assert_eq!(cdr(r#","record":" TRUE ""#, r#","filename":" c-1.mp3 ""#).as_deref(), Some("c-1.mp3"));
        assert_eq!(cdr(r#","record":true"#, ""), None, "no filename: nothing to fetch");
        assert_eq!(cdr(r#","record":true"#, r#","filename":"""#), None, "an empty filename");
        assert_eq!(cdr(r#","record":true"#, r#","filename":null"#), None);
        assert_eq!(cdr(r#","record":false"#, r#","filename":"c-1.mp3""#), None, "not recorded");
        assert_eq!(cdr(r#","record":"false""#, r#","filename":"c-1.mp3""#), None);
        assert_eq!(cdr("", r#","filename":"c-1.mp3""#), None, "no `record`");
        let live = br#"{"type":"event","leg":"b","status":"answered","record":true,"filename":"c-1.mp3"}"#;
        assert_eq!(parse(live).expect("parse").recording, None, "only a report names a recording");
    }

    #[test]
    fn recording_filenames_are_plain_names() {
        let name = |v: Value| recording_filename(&v);
        assert_eq!(name(Value::from("1650630551178_abc.mp3")).as_deref(), Some("1650630551178_abc.mp3"));
        assert_eq!(name(Value::from("a b&c=d?.mp3")).as_deref(), Some("a b&c=d?.mp3"), "encoded on the way out");
        assert_eq!(name(Value::from(12345)).as_deref(), Some("12345"));
        for bad in ["../etc/passwd", "a/b.mp3", "a\\b.mp3", "..", ".", "x\u{1b}[31m.mp3", "x\n.mp3", "   "] {
            assert_eq!(name(Value::from(bad)), None, "{bad:?}");
        }
        assert_eq!(name(Value::from("x".repeat(201))), None, "too long");
        assert_eq!(name(Value::Bool(true)), None);
        assert_eq!(name(serde_json::json!({"a": 1})), None);
    }

    #[test]
    fn missed_and_rejected_legs() {
        let missed = r#"{"type":"cdr","leg":"b","status":"missed","hangup_reason":"recv_cancel","request_id":"R2","to":919800000000}"#;
        let e = parse(missed.as_bytes()).expect("parse");
        assert_eq!((e.signal, e.duration), (Some(Signal::Report { answered: false }), Some(0)));
        let rejected =
            r#"{"type":"cdr","leg":"b","status":"answered","hangup_reason":"sent_reject","request_id":"R2"}"#;
        assert_eq!(parse(rejected.as_bytes()).expect("parse").signal, Some(Signal::Report { answered: false }));
    }

    #[test]
    fn older_payloads_without_leg_or_request_id() {
        let old = r#"{"cmiuid":"abc-123","status":"answered","user":"5003_33336628","to":"919876543210",
            "click_to_call":"true","answeredsec":30,"hangup_reason":"recv_bye","appid":33336628}"#;
        let e = parse(old.as_bytes()).expect("parse");
        assert_eq!((e.kind.as_str(), e.leg), ("cdr", Leg::Unknown));
        assert_eq!(e.request_id, None);
        assert_eq!(e.telecmi_user.as_deref(), Some("5003_33336628"));
        assert_eq!(e.dedup_key, "abc-123|cmiuid:abc-123|cdr|answered");
        assert_eq!(e.duration, Some(30));
    }

    #[test]
    fn legless_legs_of_one_call_have_their_own_keys() {
        let leg = |uid: &str, to: &str| {
            format!(
                r#"{{"call_id":"C-1","cmiuid":"{uid}","status":"answered","to":"{to}","answeredsec":30,"hangup_reason":"recv_bye"}}"#
            )
        };
        let a = parse(leg("uid-a", "5003").as_bytes()).expect("parse");
        let b = parse(leg("uid-b", "919876543210").as_bytes()).expect("parse");
        assert_ne!(a.dedup_key, b.dedup_key, "the second leg is not a duplicate of the first");
        assert_eq!(b.dedup_key, "C-1|cmiuid:uid-b|cdr|answered");
        assert_eq!(
            parse(leg("uid-b", "919876543210").as_bytes()).expect("parse").dedup_key,
            b.dedup_key,
            "a resend is"
        );
        // Payloads that name their leg keep the documented key.
        assert_eq!(
            parse(CDR_A_ANSWERED.as_bytes()).expect("parse").dedup_key,
            "c0Sq3mbykoHgVgLfyWTr6cV6HB5Z0Fk4AXpZFkOClSr|a|cdr|answered"
        );
    }

    #[test]
    fn talk_time_falls_back_to_billedsec_then_duration() {
        let cdr = |fields: &str| {
            parse(format!(r#"{{"type":"cdr","leg":"b","status":"answered","request_id":"R",{fields}}}"#).as_bytes())
                .expect("parse")
                .duration
        };
        assert_eq!(cdr(r#""answeredsec":42,"billedsec":60,"duration":75"#), Some(42));
        assert_eq!(cdr(r#""billedsec":"60","duration":75"#), Some(60));
        assert_eq!(cdr(r#""duration":"75""#), Some(75));
        assert_eq!(cdr(r#""duration":75.0"#), Some(75));
        assert_eq!(cdr(r#""answeredsec":"n/a","duration":75"#), Some(75), "an unreadable field is skipped");
        assert_eq!(cdr(r#""duration":-5"#), None, "out of bounds");
        assert_eq!(cdr(r#""duration":99999999"#), None, "longer than a week");
        assert_eq!(cdr(r#""hangup_reason":"recv_bye""#), None);
        let old = parse(br#"{"cmiuid":"u","status":"answered","duration":12}"#).expect("parse");
        assert_eq!((old.kind.as_str(), old.duration), ("cdr", Some(12)), "a legless report with only `duration`");
        let live = parse(br#"{"type":"event","leg":"b","status":"answered","duration":12}"#).expect("parse");
        assert_eq!(live.duration, None, "a live event carries no talk time");
    }

    #[test]
    fn app_id_from_either_spelling() {
        let app = |body: &str| parse_with_app_id(body.as_bytes()).expect("parse").1;
        assert_eq!(app(EVENT_A_STARTED).as_deref(), Some("2223343"));
        assert_eq!(app(CDR_A_ANSWERED).as_deref(), Some("2222223"));
        assert_eq!(app(r#"{"status":"started","appid":"33336628"}"#).as_deref(), Some("33336628"));
        assert_eq!(app(r#"{"status":"started"}"#), None);
    }

    #[test]
    fn bad_bodies_say_why() {
        assert!(matches!(parse(b"not json"), Err(ParseError::NotJson(_))));
        assert_eq!(parse(b"[1,2]"), Err(ParseError::NotObject));
        assert_eq!(parse(br#"{"type":"event"}"#), Err(ParseError::NoStatus));
    }

    /// Hostile bodies: mangled samples, random bytes, deep nesting, huge numbers. The parser
    /// answers every one with a value or a reason and never panics.
    #[test]
    fn never_panics_on_mangled_input() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let samples = [EVENT_A_STARTED, CDR_A_ANSWERED];
        for i in 0..5000 {
            let mut bytes = samples[i % 2].as_bytes().to_vec();
            for _ in 0..rng.random_range(1..8) {
                let at = rng.random_range(0..bytes.len());
                match rng.random_range(0..3) {
                    0 => bytes[at] = rng.random(),
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, *b"{}[]\":,0e9-".get(rng.random_range(0..13)).unwrap_or(&b'x')),
                }
            }
            let _ = parse(&bytes);
        }
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(deep.as_bytes()).is_err());
        let big = br#"{"status":"answered","type":"cdr","answeredsec":1e308,"extra_params":"{\"calldesk_call_id\":99999999999999999999}"}"#;
        let e = parse(big).expect("parses");
        assert_eq!((e.call_log_id, e.duration), (None, None));
    }

    #[test]
    fn unknown_status_is_kept_without_a_signal() {
        let e = parse(br#"{"type":"event","status":"transferred","call_id":"X"}"#).expect("parse");
        assert_eq!(e.signal, None);
    }
}
