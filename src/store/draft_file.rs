//! A console's local copy of its wrap-up drafts (issue 26), so what an agent types while the
//! database is away survives a crash, a kill or a dropped line: one small JSON file per database
//! and caller under `CALLDESK_DATA_DIR`, always written whole (a temporary file, fsync'd, renamed
//! over the old one, the folder fsync'd), so a kill mid-write leaves the old file or the new one,
//! never half of one.
//!
//! Two consoles of one agent on one host share the file. It names its owner, the newest console
//! session that wrote or claimed it, and a session older than the owner writes nothing: a console
//! taken over never overwrites the drafts of the console that took over, even while the database
//! (which would also say so) does not answer. Each read-check-write holds an advisory lock on a
//! lock file beside it.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::FeedbackDraft;
use crate::domain::draft::DraftVersion;

/// One call's draft as kept in the file: which edit it is, when it was written here (for people
/// reading the file; never compared), what was typed, and whether the agent pressed save on it
/// while the database was away (the save waited): a console started after this one closed makes
/// that save by itself. A file written before the flag existed reads as no save requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptDraft {
    pub version: DraftVersion,
    pub written_at: DateTime<Utc>,
    pub draft: FeedbackDraft,
    #[serde(default)]
    pub save_requested: bool,
}

/// The file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// The newest console session that wrote or claimed the file.
    pub owner: i64,
    /// By call id.
    pub drafts: BTreeMap<i64, KeptDraft>,
}

/// Why the file was not written.
#[derive(Debug, thiserror::Error)]
pub enum DraftFileError {
    /// A newer console session of this agent owns the file: this one was taken over.
    #[error("a newer console (session {0}) keeps these drafts now")]
    TakenOver(i64),
    #[error("{path}: {error}", path = .0.display(), error = .1)]
    Io(PathBuf, std::io::Error),
}

/// The local draft file of one caller on one database.
#[derive(Debug, Clone)]
pub struct DraftFile {
    path: PathBuf,
}

impl DraftFile {
    /// The file for `caller` on the database labelled `database` (without credentials:
    /// [`super::Store::label`]) in folder `dir`: named by a hash of the database's identity
    /// ([`super::database_identity`]: a SQLite file by its absolute path), so two databases never
    /// share one, and no address or name of it shows in the folder.
    pub fn new(dir: &Path, database: &str, caller: i64) -> Self {
        let hash = hex::encode(sha2::Sha256::digest(super::database_identity(database).as_bytes()));
        Self { path: dir.join(format!("drafts-{}-caller-{caller}.json", &hash[..16])) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the file holds (nothing when there is no file). A file that cannot be parsed (it was
    /// edited by hand) is set aside as `….bad` and read as empty.
    pub fn read(&self) -> Result<Kept, DraftFileError> {
        let _lock = self.lock()?;
        self.read_locked()
    }

    /// Claims the file for `session` (a console starting) and drops the drafts whose call
    /// `keep` refuses (their outcome is saved); returns what it holds. Refused when a newer
    /// session owns it.
    pub fn claim(&self, session: i64, keep: impl Fn(i64) -> bool) -> Result<Kept, DraftFileError> {
        self.change(session, |kept| kept.drafts.retain(|id, _| keep(*id)))
    }

    /// Keeps `drafts` (each replacing the call's older one) for `session`.
    pub fn put(&self, session: i64, drafts: Vec<KeptDraft>) -> Result<Kept, DraftFileError> {
        self.change(session, |kept| {
            for d in drafts {
                let id = d.draft.call_log_id;
                if kept.drafts.get(&id).is_none_or(|old| old.version <= d.version) {
                    kept.drafts.insert(id, d);
                }
            }
        })
    }

    /// Sets whether the agent asked for each call's draft to be saved (`(call id, requested)`); a
    /// call without a draft here gets `draft` (when given) as its draft, of an unknown edit.
    pub fn mark(&self, session: i64, marks: Vec<(i64, bool, Option<FeedbackDraft>)>) -> Result<Kept, DraftFileError> {
        self.change(session, |kept| {
            for (id, requested, draft) in marks {
                match (kept.drafts.get_mut(&id), draft) {
                    (Some(k), _) => k.save_requested = requested,
                    (None, Some(draft)) if requested => {
                        let version = DraftVersion::UNKNOWN;
                        kept.drafts
                            .insert(id, KeptDraft { version, written_at: Utc::now(), draft, save_requested: true });
                    }
                    (None, _) => {}
                }
            }
        })
    }

    /// Drops the drafts of `calls` (their outcome is saved).
    pub fn forget(&self, session: i64, calls: &[i64]) -> Result<Kept, DraftFileError> {
        self.change(session, |kept| kept.drafts.retain(|id, _| !calls.contains(id)))
    }

    /// Reads, checks the owner, applies `edit`, writes: all under the lock.
    fn change(&self, session: i64, edit: impl FnOnce(&mut Kept)) -> Result<Kept, DraftFileError> {
        let _lock = self.lock()?;
        let mut kept = self.read_locked()?;
        if kept.owner > session {
            return Err(DraftFileError::TakenOver(kept.owner));
        }
        kept.owner = session;
        edit(&mut kept);
        self.write_locked(&kept)?;
        Ok(kept)
    }

    fn io(&self, e: std::io::Error) -> DraftFileError {
        DraftFileError::Io(self.path.clone(), e)
    }

    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        self.path.with_file_name(name)
    }

    /// Takes the advisory lock (released when the returned file is dropped), creating the folder.
    fn lock(&self) -> Result<std::fs::File, DraftFileError> {
        std::fs::create_dir_all(self.dir()).map_err(|e| self.io(e))?;
        let file = private(std::fs::OpenOptions::new().create(true).truncate(false).write(true))
            .open(self.sibling(".lock"))
            .map_err(|e| self.io(e))?;
        file.lock().map_err(|e| self.io(e))?;
        Ok(file)
    }

    fn read_locked(&self) -> Result<Kept, DraftFileError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Kept::default()),
            Err(e) => return Err(self.io(e)),
        };
        match serde_json::from_slice(&bytes) {
            Ok(k) => Ok(k),
            Err(e) => {
                let aside = self.sibling(".bad");
                tracing::warn!(path = %self.path.display(), "local draft file unreadable ({e}); set aside as .bad");
                std::fs::rename(&self.path, &aside).map_err(|e| self.io(e))?;
                Ok(Kept::default())
            }
        }
    }

    /// Writes `kept` whole: a temporary file beside it, fsync'd, renamed over it, the folder
    /// fsync'd (so the rename itself survives a power cut).
    fn write_locked(&self, kept: &Kept) -> Result<(), DraftFileError> {
        let tmp = self.sibling(".tmp");
        let bytes = serde_json::to_vec_pretty(kept).map_err(|e| self.io(e.into()))?;
        let mut file = private(std::fs::OpenOptions::new().create(true).truncate(true).write(true))
            .open(&tmp)
            .map_err(|e| self.io(e))?;
        file.write_all(&bytes).and_then(|()| file.sync_all()).map_err(|e| self.io(e))?;
        drop(file);
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))?;
        std::fs::File::open(self.dir()).and_then(|d| d.sync_all()).map_err(|e| self.io(e))
    }
}

/// Files only the service account reads: drafts hold what agents wrote about drivers.
fn private(opts: &mut std::fs::OpenOptions) -> &mut std::fs::OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600)
    }
    #[cfg(not(unix))]
    {
        opts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(call: i64, session: i64, seq: i64, remarks: &str) -> KeptDraft {
        KeptDraft {
            version: DraftVersion::new(session, seq),
            written_at: Utc::now(),
            draft: FeedbackDraft {
                call_log_id: call,
                caller_id: 3,
                remarks: Some(remarks.into()),
                ..FeedbackDraft::default()
            },
            save_requested: false,
        }
    }

    fn remarks(k: &Kept, call: i64) -> Option<&str> {
        k.drafts.get(&call).and_then(|d| d.draft.remarks.as_deref())
    }

    #[test]
    fn one_file_per_database_and_caller_named_without_the_database() {
        let dir = Path::new("/data");
        // `calldesk.db` in two folders is two databases.
        let here = DraftFile::new(dir, "sqlite calldesk.db", 3);
        let elsewhere = std::env::temp_dir().join("other-folder").join("calldesk.db");
        assert_ne!(here.path(), DraftFile::new(dir, &format!("sqlite {}", elsewhere.display()), 3).path());
        let cwd = std::env::current_dir().expect("cwd").join("calldesk.db");
        assert_eq!(here.path(), DraftFile::new(dir, &format!("sqlite {}", cwd.display()), 3).path());
        let a = DraftFile::new(dir, "mysql db1:3306/calldesk", 3);
        assert_ne!(a.path(), DraftFile::new(dir, "mysql db2:3306/calldesk", 3).path());
        assert_ne!(a.path(), DraftFile::new(dir, "mysql db1:3306/calldesk", 4).path());
        assert!(!a.path().to_string_lossy().contains("db1"));
    }

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_nothing_beside_it() {
        let dir = tempfile::tempdir().expect("dir");
        let f = DraftFile::new(dir.path(), "db", 3);
        assert_eq!(f.read().expect("read"), Kept::default(), "no file reads as empty");
        f.put(7, vec![kept(1, 7, 1, "first")]).expect("put");
        f.put(7, vec![kept(1, 7, 2, "second"), kept(2, 7, 3, "other call")]).expect("put");
        let k = f.read().expect("read");
        assert_eq!((remarks(&k, 1), remarks(&k, 2), k.owner), (Some("second"), Some("other call"), 7));
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let stem = f.path().file_name().expect("name").to_string_lossy().into_owned();
        assert_eq!(names, vec![stem.clone(), format!("{stem}.lock")], "no temporary file left");
    }

    /// A kill between writing the temporary file and the rename leaves the old file as it was.
    #[test]
    fn a_write_killed_before_its_rename_leaves_the_old_file() {
        let dir = tempfile::tempdir().expect("dir");
        let f = DraftFile::new(dir.path(), "db", 3);
        f.put(7, vec![kept(1, 7, 1, "kept")]).expect("put");
        std::fs::write(f.sibling(".tmp"), b"{\"owner\": 7, \"drafts\": {\"1\": {\"ver").expect("half a write");
        assert_eq!(remarks(&f.read().expect("read"), 1), Some("kept"));
        f.put(7, vec![kept(1, 7, 2, "next")]).expect("the next write goes through");
        assert_eq!(remarks(&f.read().expect("read"), 1), Some("next"));
    }

    #[test]
    fn an_older_edit_never_replaces_a_newer_one() {
        let dir = tempfile::tempdir().expect("dir");
        let f = DraftFile::new(dir.path(), "db", 3);
        f.put(7, vec![kept(1, 7, 5, "newer")]).expect("put");
        f.put(7, vec![kept(1, 7, 4, "older")]).expect("put");
        assert_eq!(remarks(&f.read().expect("read"), 1), Some("newer"));
    }

    /// Issue 24's rule on one host: once a newer console claimed the file, the one it took over
    /// writes nothing, even with the database away.
    #[test]
    fn a_session_taken_over_writes_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let f = DraftFile::new(dir.path(), "db", 3);
        f.put(7, vec![kept(1, 7, 9, "typed in the old console")]).expect("put");
        let claimed = f.claim(8, |_| true).expect("the new console claims");
        assert_eq!(remarks(&claimed, 1), Some("typed in the old console"));
        f.put(8, vec![kept(1, 8, 1, "typed in the new console")]).expect("put");
        let refused = f.put(7, vec![kept(1, 7, 10, "late write of the old console")]);
        assert!(matches!(refused, Err(DraftFileError::TakenOver(8))), "{refused:?}");
        assert!(matches!(f.forget(7, &[1]), Err(DraftFileError::TakenOver(8))));
        assert!(matches!(f.claim(7, |_| true), Err(DraftFileError::TakenOver(8))));
        assert_eq!(remarks(&f.read().expect("read"), 1), Some("typed in the new console"));
    }

    #[test]
    fn a_claim_drops_saved_calls_and_forget_drops_one() {
        let dir = tempfile::tempdir().expect("dir");
        let f = DraftFile::new(dir.path(), "db", 3);
        f.put(7, vec![kept(1, 7, 1, "a"), kept(2, 7, 2, "b"), kept(3, 7, 3, "c")]).expect("put");
        let k = f.claim(8, |id| id != 2).expect("claim");
        assert_eq!(k.drafts.keys().copied().collect::<Vec<_>>(), vec![1, 3]);
        let k = f.forget(8, &[3]).expect("forget");
        assert_eq!(k.drafts.keys().copied().collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn an_unreadable_file_is_set_aside_not_lost() {
        let dir = tempfile::tempdir().expect("dir");
        let f = DraftFile::new(dir.path(), "db", 3);
        std::fs::create_dir_all(dir.path()).expect("dir");
        std::fs::write(f.path(), b"not json").expect("write");
        assert_eq!(f.read().expect("read"), Kept::default());
        assert_eq!(std::fs::read(f.sibling(".bad")).expect("set aside"), b"not json");
    }

    /// A save pressed while the database was away is in the file, survives the next edit's
    /// rewrite and a claim by the next console, goes when unmarked; a file without the flag (an
    /// older console's) reads as no save requested.
    #[test]
    fn a_requested_save_round_trips_through_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let f = DraftFile::new(dir.path(), "db", 3);
        f.put(7, vec![kept(1, 7, 1, "typed"), kept(2, 7, 2, "other")]).expect("put");
        f.mark(7, vec![(1, true, None)]).expect("mark");
        let raw: serde_json::Value = serde_json::from_slice(&std::fs::read(f.path()).expect("read")).expect("json");
        assert_eq!(raw["drafts"]["1"]["save_requested"], serde_json::Value::Bool(true));
        let mut next = kept(1, 7, 3, "typed more");
        next.save_requested = true;
        f.put(7, vec![next]).expect("put");
        let k = f.claim(8, |_| true).expect("the next console claims");
        assert!(k.drafts[&1].save_requested && !k.drafts[&2].save_requested, "{k:?}");
        assert_eq!(remarks(&k, 1), Some("typed more"));
        f.mark(8, vec![(1, false, None)]).expect("unmark");
        assert!(!f.read().expect("read").drafts[&1].save_requested);

        // A call with no draft here gets the one given with the mark.
        let draft =
            FeedbackDraft { call_log_id: 5, caller_id: 3, feedback: Some("x".into()), ..FeedbackDraft::default() };
        f.mark(8, vec![(5, true, Some(draft.clone()))]).expect("mark");
        let k = f.read().expect("read");
        assert_eq!((k.drafts[&5].save_requested, &k.drafts[&5].draft), (true, &draft));

        let old = r#"{"owner": 7, "drafts": {"4": {"version": {"session": 7, "seq": 1},
            "written_at": "2026-01-01T00:00:00Z", "draft": {"call_log_id": 4, "caller_id": 3,
            "feedback_group": null, "feedback": null, "remarks": "old", "call_duration": null}}}}"#;
        std::fs::write(f.path(), old).expect("write");
        let k = f.read().expect("read");
        assert_eq!((remarks(&k, 4), k.drafts[&4].save_requested), (Some("old"), false));
    }
}
