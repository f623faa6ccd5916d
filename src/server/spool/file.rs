//! The spool file itself: webhooks acknowledged while the database did not answer, one JSON line
//! each (`{"at": received, "body": raw body}`), appended and fsync'd before the answer goes out.
//!
//! Beside it, two small files: `.applied` holds how far (in bytes) the spool has been applied, so
//! a restart does not apply it again from the top (de-duplication would make that harmless, but
//! it is work); `.rejected` keeps, one JSON line each, the events the database refused for a
//! reason of their own (set aside so they never block the spool; an operator reads them).
//!
//! One file per database (its name holds a hash of the database's identity, never the password)
//! and one process per file: an advisory lock, held while the file is open. Each line names its
//! database too (`"db"`: the same identity), so an operator can tell where an orphaned spool
//! belongs (a spool whose database is now spelled otherwise: [`orphans`]). The spool and its two
//! small files are the service account's only (0600): they hold phone numbers and recordings.
//!
//! A crash mid-append leaves a torn last line: it was never acknowledged (the answer waits for
//! the fsync), so opening the file cuts it off, with a warning.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One spooled webhook: when it was received, and its body as it came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub body: String,
    /// The database it was kept for ([`database_identity`]; never a password). Absent in lines
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
}

/// A line not yet applied: where it ends in the file, and the entry (or the line itself, when
/// it cannot be read as one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub end: u64,
    pub entry: Result<Entry, String>,
}

/// Why a spool could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error(
        "the webhook spool {} is in use by another calldesk process on this host for the same database \
         (and so are its numbered siblings: 8 listeners of one database per host at most); stop one, or give \
         this one its own CALLDESK_DATA_DIR",
        .0.display()
    )]
    Held(PathBuf),
    #[error("the webhook spool {}: {}", .0.display(), .1)]
    Io(PathBuf, io::Error),
}

/// An open, locked spool file.
#[derive(Debug)]
pub struct SpoolFile {
    path: PathBuf,
    file: File,
    /// Bytes in the file (complete lines only).
    len: u64,
    /// Bytes applied so far (a line boundary).
    applied: u64,
}

/// What opening found.
#[derive(Debug)]
pub struct Opened {
    pub spool: SpoolFile,
    /// Bytes of a torn last line cut off (0 when none).
    pub torn: u64,
}

/// The file name of the spool for the database `store_label` names ([`crate::store::Store::label`]:
/// `mysql HOST:PORT/DB` or `sqlite FILE`, never a password) in `dir`: `webhooks-<hash>.spool`.
pub fn path_for(dir: &Path, store_label: &str) -> PathBuf {
    path_for_nth(dir, store_label, 1)
}

/// Listeners of one database on one host (`serve`, and a console's own listener beside it) each
/// keep their own spool: the first is [`path_for`], the `n`th `webhooks-<hash>-<n>.spool`.
pub fn path_for_nth(dir: &Path, store_label: &str, n: usize) -> PathBuf {
    let digest = Sha256::digest(database_identity(store_label).as_bytes());
    let hash = &hex::encode(digest)[..16];
    if n <= 1 { dir.join(format!("webhooks-{hash}.spool")) } else { dir.join(format!("webhooks-{hash}-{n}.spool")) }
}

/// What names a database: the store's label, a SQLite file as an absolute path (`calldesk.db`
/// from two folders is two databases).
pub fn database_identity(store_label: &str) -> String {
    match store_label.strip_prefix("sqlite ") {
        Some(file) => {
            let path = std::path::absolute(file).unwrap_or_else(|_| PathBuf::from(file));
            format!("sqlite {}", path.display())
        }
        None => store_label.to_string(),
    }
}

fn sidecar(path: &Path, ext: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(ext);
    PathBuf::from(s)
}

impl SpoolFile {
    /// Opens (creating it and its folder) and locks the spool at `path`, cuts off a torn last line
    /// and reads how far it was applied.
    pub fn open(path: &Path) -> Result<Opened, SpoolError> {
        let io_err = |e| SpoolError::Io(path.to_path_buf(), e);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err)?;
        }
        let created = !path.exists();
        let file = private(OpenOptions::new().read(true).append(true).create(true)).open(path).map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(SpoolError::Held(path.to_path_buf())),
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(e)),
        }
        if created && let Some(dir) = path.parent() {
            // The new file's name on disk too, before anything is acknowledged from it.
            File::open(dir).and_then(|d| d.sync_all()).map_err(io_err)?;
        }
        // A spool (or its files) from before they were made private.
        for p in [path.to_path_buf(), sidecar(path, ".applied"), sidecar(path, ".rejected")] {
            if p.exists() {
                make_private(&p).map_err(io_err)?;
            }
        }
        let mut spool = Self { path: path.to_path_buf(), file, len: 0, applied: 0 };
        let torn = spool.cut_torn_line().map_err(io_err)?;
        spool.applied = spool.read_mark().min(spool.len);
        Ok(Opened { spool, torn })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Cuts whatever follows the last newline (a line whose append never finished); returns how
    /// many bytes went.
    fn cut_torn_line(&mut self) -> io::Result<u64> {
        let mut all = Vec::new();
        (&self.file).seek(SeekFrom::Start(0))?;
        (&self.file).read_to_end(&mut all)?;
        let whole = all.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) as u64;
        let torn = all.len() as u64 - whole;
        if torn > 0 {
            self.file.set_len(whole)?;
            self.file.sync_all()?;
        }
        self.len = whole;
        Ok(torn)
    }

    fn read_mark(&self) -> u64 {
        std::fs::read_to_string(sidecar(&self.path, ".applied")).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
    }

    fn write_mark(&self, at: u64) -> io::Result<()> {
        let mut f = private(OpenOptions::new().write(true).create(true).truncate(true))
            .open(sidecar(&self.path, ".applied"))?;
        f.write_all(at.to_string().as_bytes())?;
        f.sync_data()
    }

    /// Appends `entry` as one line and waits until it is on disk.
    pub fn append(&mut self, entry: &Entry) -> io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        if let Err(e) = self.file.write_all(&line).and_then(|()| self.file.sync_data()) {
            // A half-written line must not be followed by the next one: cut it off now.
            let _ = self.file.set_len(self.len);
            return Err(e);
        }
        self.len += line.len() as u64;
        Ok(())
    }

    /// The lines not yet applied, in order.
    pub fn pending(&self) -> io::Result<Vec<Pending>> {
        let mut bytes = Vec::new();
        (&self.file).seek(SeekFrom::Start(self.applied))?;
        (&self.file).take(self.len - self.applied).read_to_end(&mut bytes)?;
        let mut end = self.applied;
        let mut out = Vec::new();
        for line in bytes.split_inclusive(|b| *b == b'\n') {
            end += line.len() as u64;
            let text = String::from_utf8_lossy(line).trim_end().to_string();
            if text.is_empty() {
                continue;
            }
            let entry = serde_json::from_str::<Entry>(&text).map_err(|_| text);
            out.push(Pending { end, entry });
        }
        Ok(out)
    }

    /// Bytes applied so far.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Everything up to byte `end` (a line's end) is applied (or set aside).
    pub fn applied_to(&mut self, end: u64) -> io::Result<()> {
        let end = end.min(self.len);
        if end > self.applied {
            self.write_mark(end)?;
            self.applied = end;
        }
        Ok(())
    }

    /// Empties the spool once all of it is applied; whether it is empty now. The mark goes back to
    /// 0 before the file is cut, so a crash between the two replays the spool (harmless: every
    /// event is de-duplicated) rather than skipping new lines.
    pub fn clear_if_drained(&mut self) -> io::Result<bool> {
        if self.applied < self.len {
            return Ok(false);
        }
        if self.len > 0 {
            self.write_mark(0)?;
            self.file.set_len(0)?;
            self.file.sync_all()?;
            self.len = 0;
            self.applied = 0;
        }
        Ok(true)
    }

    /// Keeps a line the database refused, with why, in the `.rejected` file beside the spool.
    pub fn set_aside(&self, line: &str, why: &str) -> io::Result<PathBuf> {
        let path = sidecar(&self.path, ".rejected");
        let mut f = private(OpenOptions::new().create(true).append(true)).open(&path)?;
        let row = serde_json::json!({"set_aside_at": Utc::now(), "why": why, "line": line});
        f.write_all(format!("{row}\n").as_bytes())?;
        f.sync_data()?;
        Ok(path)
    }
}

/// A file only the service account reads (created 0600).
fn private(opts: &mut OpenOptions) -> &mut OpenOptions {
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

fn make_private(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Another spool in the folder that holds webhooks not yet applied, and no process has open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub path: PathBuf,
    /// Lines not yet applied.
    pub lines: usize,
    /// The database its lines name (`None` for lines written before it was recorded).
    pub db: Option<String>,
}

/// The spools in `dir` other than `ours` that hold unapplied webhooks and that no listener holds
/// (a listener of another database may share the folder): left behind when the database's
/// address came to be spelled otherwise (`localhost` for `127.0.0.1`, a proxy for a node), they
/// are never applied by anyone unless an operator moves them (README, "When the database goes
/// away").
pub fn orphans(dir: &Path, ours: &Path) -> Vec<Orphan> {
    let Ok(list) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out = Vec::new();
    for item in list.flatten() {
        let path = item.path();
        let name = item.file_name().to_string_lossy().into_owned();
        if path == ours || !name.starts_with("webhooks-") || !name.ends_with(".spool") {
            continue;
        }
        if item.metadata().map_or(true, |m| m.len() == 0) {
            continue;
        }
        let Ok(file) = File::open(&path) else { continue };
        if file.try_lock_shared().is_err() {
            continue; // another listener's, in use
        }
        let spool = SpoolFile { path: path.clone(), file, len: 0, applied: 0 };
        let len = std::fs::metadata(&path).map_or(0, |m| m.len());
        let spool = SpoolFile { len, applied: spool.read_mark().min(len), ..spool };
        let Ok(pending) = spool.pending() else { continue };
        let whole: Vec<_> = pending.iter().filter(|p| p.end <= len).collect();
        if whole.is_empty() {
            continue;
        }
        let db = whole.iter().find_map(|p| p.entry.as_ref().ok().and_then(|e| e.db.clone()));
        out.push(Orphan { path, lines: whole.len(), db });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u32) -> Entry {
        Entry { at: Utc::now(), body: format!("{{\"n\":{n},\"quote\":\"a \\\"b\\\"\\n\"}}"), db: None }
    }

    fn bodies(p: &[Pending]) -> Vec<String> {
        p.iter().map(|p| p.entry.as_ref().map(|e| e.body.clone()).unwrap_or_else(|l| format!("BAD {l}"))).collect()
    }

    #[test]
    fn appended_entries_come_back_in_order_after_a_reopen() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sub").join("w.spool");
        let mut s = SpoolFile::open(&path).expect("open").spool;
        for n in 0..3 {
            s.append(&entry(n)).expect("append");
        }
        let first = s.pending().expect("pending");
        assert_eq!(first.len(), 3);
        drop(s);
        let opened = SpoolFile::open(&path).expect("reopen");
        assert_eq!(opened.torn, 0);
        assert_eq!(bodies(&opened.spool.pending().expect("pending")), bodies(&first));
        assert_eq!(first[0].entry.as_ref().expect("entry").body, entry(0).body, "the body as it came");
    }

    #[test]
    fn the_progress_mark_survives_a_reopen_and_a_drained_spool_is_emptied() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("w.spool");
        let mut s = SpoolFile::open(&path).expect("open").spool;
        for n in 0..3 {
            s.append(&entry(n)).expect("append");
        }
        let p = s.pending().expect("pending");
        s.applied_to(p[1].end).expect("mark");
        assert!(!s.clear_if_drained().expect("clear"), "one still waits");
        drop(s);
        let mut s = SpoolFile::open(&path).expect("reopen").spool;
        let left = s.pending().expect("pending");
        assert_eq!(bodies(&left), bodies(&p[2..]), "only the unapplied line");
        s.applied_to(left[0].end).expect("mark");
        assert!(s.clear_if_drained().expect("clear"));
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), 0, "emptied");
        s.append(&entry(9)).expect("append after clearing");
        drop(s);
        let s = SpoolFile::open(&path).expect("reopen").spool;
        assert_eq!(bodies(&s.pending().expect("pending")), vec![entry(9).body], "a fresh line is not skipped");
    }

    #[test]
    fn a_torn_last_line_is_cut_off_and_later_lines_follow_cleanly() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("w.spool");
        let mut s = SpoolFile::open(&path).expect("open").spool;
        s.append(&entry(1)).expect("append");
        drop(s);
        let mut f = OpenOptions::new().append(true).open(&path).expect("raw");
        let torn = b"{\"at\":\"2026-12-06T00:00:00Z\",\"bo";
        f.write_all(torn).expect("torn");
        drop(f);
        let opened = SpoolFile::open(&path).expect("reopen");
        assert_eq!(opened.torn, torn.len() as u64);
        let mut s = opened.spool;
        s.append(&entry(2)).expect("append");
        assert_eq!(bodies(&s.pending().expect("pending")), vec![entry(1).body, entry(2).body]);
    }

    #[test]
    fn an_unreadable_line_is_reported_as_it_is_and_rejects_are_kept() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("w.spool");
        std::fs::write(&path, "not json\n").expect("write");
        let s = SpoolFile::open(&path).expect("open").spool;
        let p = s.pending().expect("pending");
        assert_eq!(p[0].entry, Err("not json".to_string()));
        let kept = s.set_aside("not json", "not a spool line").expect("set aside");
        let text = std::fs::read_to_string(kept).expect("read");
        assert!(text.contains("not a spool line") && text.contains("not json"), "{text}");
    }

    #[test]
    fn one_process_per_spool_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("w.spool");
        let _held = SpoolFile::open(&path).expect("open");
        let again = SpoolFile::open(&path).expect_err("locked");
        assert!(matches!(again, SpoolError::Held(_)), "{again}");
        assert!(again.to_string().contains("another calldesk process"), "{again}");
    }

    #[test]
    fn the_file_name_depends_on_the_database() {
        let dir = Path::new("/d");
        let a = path_for(dir, "mysql db:3306/calldesk");
        assert_eq!(a, path_for(dir, "mysql db:3306/calldesk"));
        assert_ne!(a, path_for(dir, "mysql db:3306/other"));
        assert_ne!(a, path_for(dir, "mysql db2:3306/calldesk"));
        assert_ne!(path_for(dir, "sqlite a.db"), path_for(dir, "sqlite b.db"));
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(path_for(dir, "sqlite a.db"), path_for(dir, &format!("sqlite {}", cwd.join("a.db").display())));
    }

    #[cfg(unix)]
    #[test]
    fn the_spool_and_its_files_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("w.spool");
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        let mut s = SpoolFile::open(&path).expect("open").spool;
        s.append(&entry(1)).expect("append");
        let p = s.pending().expect("pending");
        s.applied_to(p[0].end).expect("mark");
        let rejected = s.set_aside("x", "why").expect("set aside");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&sidecar(&path, ".applied")), 0o600);
        assert_eq!(mode(&rejected), 0o600);
        // One from before: made private on open.
        drop(s);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let _s = SpoolFile::open(&path).expect("reopen");
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_spool_of_another_spelling_of_the_database_is_found_with_its_database() {
        let dir = tempfile::tempdir().expect("dir");
        let ours = path_for(dir.path(), "mysql 127.0.0.1:3306/calldesk");
        let other = path_for(dir.path(), "mysql localhost:3306/calldesk");
        let empty = path_for(dir.path(), "mysql empty:3306/calldesk");
        let _mine = SpoolFile::open(&ours).expect("ours");
        let mut o = SpoolFile::open(&other).expect("other").spool;
        for n in 0..3 {
            o.append(&Entry { db: Some("mysql localhost:3306/calldesk".into()), ..entry(n) }).expect("append");
        }
        let p = o.pending().expect("pending");
        o.applied_to(p[0].end).expect("mark");
        drop(SpoolFile::open(&empty).expect("empty"));
        let held = path_for(dir.path(), "mysql held:3306/calldesk");
        let mut h = SpoolFile::open(&held).expect("held").spool;
        h.append(&entry(7)).expect("append");
        assert!(orphans(dir.path(), &ours).is_empty(), "one in use is no orphan");
        drop(o);
        let found = orphans(dir.path(), &ours);
        assert_eq!(
            found,
            vec![Orphan { path: other, lines: 2, db: Some("mysql localhost:3306/calldesk".into()) }],
            "only the unapplied lines; not ours, not an empty one, not one in use"
        );
    }
}
