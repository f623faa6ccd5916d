//! Callers' SSH keys on SQLite and MariaDB (one caller per key, removal), and through the real
//! binary: `caller key add|list|remove` and `ssh authorized-keys` as sshd runs it.

mod common;

use std::process::{Command, Output};

use calldesk::domain::Role;
use calldesk::domain::ssh_key::PublicKey;
use calldesk::store::KeyAdded;
use common::each_backend;

// Made by `ssh-keygen`; the fingerprints are what `ssh-keygen -lf` printed for them.
const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHzidSxiWGlJJ+qGVYZdm/+5j1f4k8lYAyyWLiy18/U alice@laptop";
const ED25519_FP: &str = "SHA256:RfimZaPNlDvKb8kooKuiigyeaEBEoYqCeMw77bst2LA";
const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNyGEw3PdMlFhH9WRQt+gWvXjt0UlyeZs40r+1oJPq/gyRdLIVRC22I9L9O3WlUgV1VBkWlukHgcOe38WjqJAIY= carol";
const ECDSA_FP: &str = "SHA256:l6bajS/EJqQbd9s60hkSeLjCR1TVesYcBk0PMu4Y0RQ";

fn parts(line: &str) -> (&str, &str) {
    let mut p = line.split(' ');
    (p.next().expect("test key"), p.next().expect("test key"))
}

#[tokio::test]
async fn a_key_belongs_to_one_caller_on_both_backends() {
    each_backend(|db| async move {
        let s = &db.store;
        let now = chrono::Utc::now();
        s.add_caller(3, "Pooja", Role::Agent, now).await.expect("caller");
        s.add_caller(4, "Meera", Role::Supervisor, now).await.expect("caller");
        let ed = PublicKey::parse_line(ED25519).expect("test key");
        let ec = PublicKey::parse_line(ECDSA).expect("test key");

        let KeyAdded::Added(k) = s.add_ssh_key(3, &ed, now).await.expect("add") else { panic!("not added") };
        assert_eq!((k.caller_id, k.fingerprint.as_str(), k.comment.as_str()), (3, ED25519_FP, "alice@laptop"));
        assert_eq!(k.key_base64, parts(ED25519).1);
        // The same key again, for the same caller or another: refused, naming its owner.
        for caller in [3, 4] {
            match s.add_ssh_key(caller, &ed, now).await.expect("add again") {
                KeyAdded::Taken(k) => assert_eq!(k.caller_id, 3),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(s.add_ssh_key(99, &ec, now).await.expect("unknown"), KeyAdded::UnknownCaller);
        assert!(matches!(s.add_ssh_key(4, &ec, now).await.expect("add"), KeyAdded::Added(_)));

        let all: Vec<_> =
            s.ssh_keys(None).await.expect("list").into_iter().map(|k| (k.caller_id, k.fingerprint)).collect();
        assert_eq!(all, vec![(3, ED25519_FP.to_string()), (4, ECDSA_FP.to_string())]);
        assert_eq!(s.ssh_keys(Some(4)).await.expect("list").len(), 1);
        assert!(s.ssh_keys(Some(5)).await.expect("list").is_empty());

        // A fingerprint differs from another only in letter case: not the same key.
        assert!(s.ssh_key(&ED25519_FP.to_lowercase()).await.expect("lookup").is_none());
        assert_eq!(s.ssh_key(ED25519_FP).await.expect("lookup").map(|k| k.caller_id), Some(3));
        assert_eq!(s.remove_ssh_key(ED25519_FP).await.expect("remove").map(|k| k.caller_id), Some(3));
        assert_eq!(s.remove_ssh_key(ED25519_FP).await.expect("remove again"), None);
        assert!(s.ssh_key(ED25519_FP).await.expect("lookup").is_none());
        // Removed, it can be given to another caller.
        assert!(matches!(s.add_ssh_key(4, &ed, now).await.expect("add"), KeyAdded::Added(_)));
    })
    .await;
}

struct Cli {
    dir: tempfile::TempDir,
    url: String,
}

impl Cli {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let url = format!("sqlite://{}", dir.path().join("cli.db").display());
        Self { dir, url }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_calldesk"))
            .args(args)
            .current_dir(self.dir.path())
            // The ssh commands read $HOME/.env: none here, so the environment's settings stand.
            .env("HOME", self.dir.path())
            .env("DATABASE_URL", &self.url)
            .env("CALLDESK_LOG_DIR", self.dir.path().join("logs"))
            .env_remove("TELECMI_APP_SECRET")
            .output()
            .expect("run calldesk")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} succeeded: {}", String::from_utf8_lossy(&out.stdout));
        assert!(out.stdout.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write key file");
        path.display().to_string()
    }

    /// What sshd would read: stdout, after checking the command succeeded and said nothing else.
    fn authorized(&self, line: &str) -> String {
        let (t, k) = parts(line);
        let out = self.run(&["ssh", "authorized-keys", t, k]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[test]
fn caller_keys_through_the_binary_and_what_sshd_is_told() {
    let cli = Cli::new();
    cli.ok(&["caller", "add", "3", "Pooja"]);
    cli.ok(&["caller", "add", "4", "Meera", "--role", "supervisor"]);
    let ed = cli.file("alice.pub", &format!("{ED25519}\n"));
    let ec = cli.file("carol.pub", &format!("# carol's laptop\n\n{ECDSA}\n"));

    let out = cli.ok(&["caller", "key", "add", "3", &ed]);
    assert!(out.contains(ED25519_FP) && out.contains("caller 3"), "{out}");
    let err = cli.refused(&["caller", "key", "add", "3", &ed]);
    assert!(err.contains("caller 3 has this key already"), "{err}");
    let err = cli.refused(&["caller", "key", "add", "4", &ed]);
    assert!(err.contains("belongs to caller 3"), "{err}");
    let err = cli.refused(&["caller", "key", "add", "9", &ec]);
    assert!(err.contains("caller 9 is not registered"), "{err}");
    cli.ok(&["caller", "key", "add", "4", &ec]);

    // Bad files name the file, the line and what is wrong; nothing is stored.
    let (_, blob) = parts(ED25519);
    let mismatch = cli.file("mismatch.pub", &format!("ssh-rsa {blob} x\n"));
    let err = cli.refused(&["caller", "key", "add", "4", &mismatch]);
    assert!(
        err.contains("mismatch.pub:1:") && err.contains("\"ssh-ed25519\" key, but the line says \"ssh-rsa\""),
        "{err}"
    );
    let two = cli.file("two.pub", &format!("{ED25519}\n{ECDSA}\n"));
    let err = cli.refused(&["caller", "key", "add", "4", &two]);
    assert!(err.contains("two.pub:2: a second key"), "{err}");
    let private = cli.file("id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n");
    let err = cli.refused(&["caller", "key", "add", "4", &private]);
    assert!(err.contains("id_ed25519:1: this looks like a private key"), "{err}");
    let err = cli.refused(&["caller", "key", "add", "4", "/nonexistent/k.pub"]);
    assert!(err.contains("cannot read /nonexistent/k.pub"), "{err}");

    let list = cli.ok(&["caller", "key", "list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 4, "{list}");
    assert!(lines[0].starts_with("CALLER  TYPE") && lines[0].contains("FINGERPRINT") && lines[0].contains("COMMENT"));
    assert!(lines[1].contains("3  ssh-ed25519") && lines[1].contains(ED25519_FP) && lines[1].ends_with("alice@laptop"));
    assert!(lines[2].contains("4  ecdsa-sha2-nistp256") && lines[2].contains(ECDSA_FP) && lines[2].ends_with("carol"));
    assert_eq!(lines[3], "2 keys.");
    let mine = cli.ok(&["caller", "key", "list", "4"]);
    assert!(mine.contains(ECDSA_FP) && !mine.contains(ED25519_FP), "{mine}");
    assert!(cli.ok(&["caller", "key", "list", "5"]).starts_with("No SSH keys for caller 5"));

    // sshd: a known key gets exactly one line forcing this binary's session for that key.
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_calldesk")).expect("exe");
    let (t, k) = parts(ED25519);
    assert_eq!(
        cli.authorized(ED25519),
        format!("restrict,pty,command=\"{} ssh session --key {ED25519_FP}\" {t} {k}\n", exe.display())
    );
    // An unknown key, a malformed one or an unsupported type: nothing, and success (sshd refuses).
    let other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7m8cJ0d3cH8t2Pq6LrS0TnY8oXk1V6xW2yZ3aB4cD5 x";
    assert_eq!(cli.authorized(other), "");
    assert_eq!(cli.authorized("ssh-ed25519 AAAA"), "");
    assert_eq!(cli.authorized(&format!("ssh-dss {k}")), "");

    let out = cli.ok(&["caller", "key", "remove", ED25519_FP]);
    assert!(out.contains("removed"), "{out}");
    let err = cli.refused(&["caller", "key", "remove", ED25519_FP]);
    assert!(err.contains(&format!("no key {ED25519_FP}")), "{err}");
    let err = cli.refused(&["caller", "key", "remove", "RfimZaPN"]);
    assert!(err.contains("is not a fingerprint"), "{err}");
    // A removed key is unknown at once.
    assert_eq!(cli.authorized(ED25519), "");
    assert!(cli.authorized(ECDSA).contains(ECDSA_FP));
}

#[test]
fn authorized_keys_creates_no_database() {
    let cli = Cli::new();
    let out = cli.run(&["ssh", "authorized-keys", parts(ED25519).0, parts(ED25519).1]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(!cli.dir.path().join("cli.db").exists(), "a database was created");
}
