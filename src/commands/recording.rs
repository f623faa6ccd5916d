//! `calldesk recording CALL_LOG_ID -o FILE`: fetches a call's TeleCMI recording through
//! `GET /v2/play?appid=&secret=&file=` (shared/TELECMI.md). That URL carries the secret: it is
//! built here, sent, and never logged, shown or put in an error — every error names the call.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{Config, TelecmiCreds};
use crate::store::{Store, StoreError};

/// How long to wait for TeleCMI to accept the connection, and for each piece of the file.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a recording was not saved. Each names the call, never the play URL or the secret.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("{} already exists: pass --force to overwrite it, or choose another file", .0.display())]
    Exists(PathBuf),
    #[error("call {0} does not exist")]
    UnknownCall(i64),
    #[error("call {0} has no recording: TeleCMI reported none for it (only answered TeleCMI calls are recorded)")]
    NotRecorded(i64),
    #[error("call {0}: TeleCMI credentials are missing: set TELECMI_APP_ID and TELECMI_APP_SECRET")]
    NoCredentials(i64),
    /// TeleCMI answered, but not with the file.
    #[error("call {call}: TeleCMI refused the recording: {why}")]
    Refused { call: i64, why: String },
    /// The connection failed, timed out or was cut.
    #[error("call {call}: {why}")]
    Network { call: i64, why: String },
    #[error("call {call}: cannot write {}: {why}", path.display())]
    Write { call: i64, path: PathBuf, why: String },
    #[error("call {call}: {cause}")]
    Store { call: i64, cause: StoreError },
}

/// What was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub bytes: u64,
    pub filename: String,
}

/// Downloads call `call`'s recording into `out` (refusing to replace an existing file unless
/// `force`), with a progress bar on stderr when it is a terminal. The bytes go to a temporary file
/// beside `out`, renamed into place only when complete: a failure leaves no file behind.
pub async fn download(
    store: &Store,
    config: &Config,
    call: i64,
    out: &Path,
    force: bool,
) -> Result<Saved, RecordingError> {
    if !force && out.exists() {
        return Err(RecordingError::Exists(out.to_path_buf()));
    }
    let db = |cause| RecordingError::Store { call, cause };
    if store.call(call).await.map_err(db)?.is_none() {
        return Err(RecordingError::UnknownCall(call));
    }
    let rec = store.recording(call).await.map_err(db)?.ok_or(RecordingError::NotRecorded(call))?;
    let creds = config.telecmi.as_ref().ok_or(RecordingError::NoCredentials(call))?;
    let job = Job { call, out, creds };
    let mut tmp = job.part_file()?;
    let resp = job.get(&config.telecmi_base_url, &rec.filename).await?;
    let written = job.save_body(resp, &mut tmp).await?;
    let persisted = if force { tmp.persist(out) } else { tmp.persist_noclobber(out) };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            RecordingError::Exists(out.to_path_buf())
        } else {
            job.write_err(e.error)
        }
    })?;
    tracing::info!(call_id = call, bytes = written, "recording downloaded");
    Ok(Saved { bytes: written, filename: rec.filename })
}

/// One download: the call, where its file goes, and the credentials no message may carry.
struct Job<'a> {
    call: i64,
    out: &'a Path,
    creds: &'a TelecmiCreds,
}

impl Job<'_> {
    fn write_err(&self, why: impl ToString) -> RecordingError {
        RecordingError::Write { call: self.call, path: self.out.to_path_buf(), why: why.to_string() }
    }

    fn net(&self, why: &str) -> RecordingError {
        RecordingError::Network { call: self.call, why: scrub(why, self.creds) }
    }

    /// The temporary file beside `out` the bytes go to first (`.NAME.….part`).
    fn part_file(&self) -> Result<tempfile::NamedTempFile, RecordingError> {
        let dir = match self.out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self
            .out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| self.write_err("not a file name"))?;
        tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".part")
            .tempfile_in(&dir)
            .map_err(|e| self.write_err(e))
    }

    /// TeleCMI's answer to the play request for `file`, if it is the audio (a success that is not
    /// JSON); else why not.
    async fn get(&self, base_url: &str, file: &str) -> Result<reqwest::Response, RecordingError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("calldesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| self.net(&format!("cannot start an HTTP client: {}", e.without_url())))?;
        let url =
            play_url(base_url, self.creds, file).ok_or_else(|| self.net("TELECMI_BASE_URL is not a usable URL"))?;
        let resp = http.get(url).send().await.map_err(|e| self.net(&describe(e, "cannot reach TeleCMI")))?;
        let status = resp.status();
        let json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.to_ascii_lowercase().contains("json"));
        if !status.is_success() || json {
            // TeleCMI's errors are small JSON bodies; a JSON answer is never the audio.
            let body = resp.text().await.unwrap_or_default();
            let why = scrub(&refusal(status.as_u16(), &body), self.creds);
            return Err(RecordingError::Refused { call: self.call, why });
        }
        Ok(resp)
    }

    /// Writes the body into `tmp` (with a progress bar) and syncs it: how many bytes, if the body
    /// came whole and was not empty.
    async fn save_body(
        &self,
        mut resp: reqwest::Response,
        tmp: &mut tempfile::NamedTempFile,
    ) -> Result<u64, RecordingError> {
        let len = resp.content_length();
        let bar = progress_bar(len);
        let mut written: u64 = 0;
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => {
                    bar.abandon();
                    return Err(self.net(&describe(e, &format!("the download was cut off after {written} bytes"))));
                }
            };
            tmp.write_all(&chunk).map_err(|e| self.write_err(e))?;
            written += chunk.len() as u64;
            bar.set_position(written);
        }
        bar.finish_and_clear();
        if len.is_some_and(|l| l != written) {
            return Err(self.net(&format!("the download stopped at {written} of {} bytes", len.unwrap_or_default())));
        }
        if written == 0 {
            return Err(RecordingError::Refused { call: self.call, why: "TeleCMI sent an empty file".into() });
        }
        tmp.as_file().sync_all().map_err(|e| self.write_err(e))?;
        Ok(written)
    }
}

/// `{base}/v2/play?appid=…&secret=…&file=…`, each value URL-encoded.
fn play_url(base: &str, creds: &TelecmiCreds, file: &str) -> Option<reqwest::Url> {
    let mut url = reqwest::Url::parse(&format!("{}/v2/play", base.trim_end_matches('/'))).ok()?;
    url.query_pairs_mut()
        .append_pair("appid", &creds.app_id)
        .append_pair("secret", creds.secret.expose())
        .append_pair("file", file);
    Some(url)
}

/// TeleCMI's refusal in words: the HTTP status, what it means here, and TeleCMI's own message.
fn refusal(status: u16, body: &str) -> String {
    let v: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let code = v.as_ref().and_then(|v| v.get("code")).and_then(crate::telecmi::webhook::as_int);
    let msg = v
        .as_ref()
        .and_then(|v| v.get("msg").or_else(|| v.get("message")))
        .and_then(serde_json::Value::as_str)
        .map(|m| crate::domain::text::strip_controls(m).chars().take(120).collect::<String>())
        .filter(|m| !m.trim().is_empty());
    let effective = match code {
        Some(c) if (200..300).contains(&status) => c,
        _ => i64::from(status),
    };
    let meaning = match effective {
        401 | 403 | 407 => "authentication failed; check TELECMI_APP_ID and TELECMI_APP_SECRET",
        404 => "TeleCMI has no such recording (it may have been deleted)",
        _ => "unexpected answer",
    };
    let said = msg.map(|m| format!(" (TeleCMI: {m})")).unwrap_or_default();
    match code {
        Some(c) if (200..300).contains(&status) => format!("code {c}, {meaning}{said}"),
        _ => format!("HTTP {status}, {meaning}{said}"),
    }
}

/// A reqwest error in words, without its URL: what failed and why, from its source chain.
fn describe(e: reqwest::Error, what: &str) -> String {
    if e.is_connect() {
        return format!("{what}: connection failed (network down or wrong TELECMI_BASE_URL?)");
    }
    if e.is_timeout() {
        return format!("{what}: TeleCMI stopped answering (timed out)");
    }
    let e = e.without_url();
    let mut why = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        why.push_str(": ");
        why.push_str(&s.to_string());
        source = s.source();
    }
    format!("{what}: {why}")
}

/// Belt and braces: whatever a message says, it never carries the secret.
fn scrub(text: &str, creds: &TelecmiCreds) -> String {
    let secret = creds.secret.expose();
    if secret.is_empty() { text.to_string() } else { text.replace(secret, "***") }
}

fn progress_bar(len: Option<u64>) -> ProgressBar {
    let bar = match len {
        Some(l) => ProgressBar::new(l).with_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn creds() -> TelecmiCreds {
        TelecmiCreds { app_id: "33336628".into(), secret: Secret::new("s3cr&t=x y") }
    }

    #[test]
    fn the_play_url_encodes_every_value() {
        let url = play_url("http://127.0.0.1:9/", &creds(), "a b&c=d?#%.mp3").expect("url");
        assert_eq!(url.path(), "/v2/play");
        let pairs: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        assert_eq!(
            pairs,
            [
                ("appid".to_string(), "33336628".to_string()),
                ("secret".to_string(), "s3cr&t=x y".to_string()),
                ("file".to_string(), "a b&c=d?#%.mp3".to_string())
            ]
        );
    }

    #[test]
    fn refusals_say_what_went_wrong() {
        let r = refusal(401, r#"{"code":401,"error":true,"msg":"Authentication Failed"}"#);
        assert!(r.starts_with("HTTP 401, authentication failed; check TELECMI_APP_ID"), "{r}");
        assert!(r.ends_with("(TeleCMI: Authentication Failed)"), "{r}");
        assert!(refusal(404, "").starts_with("HTTP 404, TeleCMI has no such recording"));
        let r = refusal(200, r#"{"code":407,"msg":"Authentication Failed"}"#);
        assert!(r.starts_with("code 407, authentication failed"), "an error in a 200's body: {r}");
        assert!(refusal(502, "<html>").starts_with("HTTP 502, unexpected answer"));
    }

    #[test]
    fn the_secret_is_scrubbed_from_any_message() {
        assert_eq!(scrub("x s3cr&t=x y z", &creds()), "x *** z");
    }
}
