//! An OpenSSH public key line (`ssh-ed25519 AAAA… comment`): its parts checked, and its `SHA256:`
//! fingerprint as `ssh-keygen -lf` prints it (base64 of the SHA-256 of the decoded blob, no
//! padding). No I/O: the command reads the file, the store keeps the key.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::{Digest, Sha256};

/// The key types a caller may add: what OpenSSH's `ssh-keygen` makes today (DSA is gone).
pub const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Longest comment kept (the MySQL column's size).
pub const COMMENT_MAX: usize = 255;

/// A checked public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub key_type: String,
    /// The blob as base64, as it came (it decodes, and names `key_type`).
    pub base64: String,
    /// The comment, cleaned of control characters (empty when none).
    pub comment: String,
    /// `SHA256:` and 43 base64 characters.
    pub fingerprint: String,
}

/// Why a key line is refused, in words the operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no key in it (an empty file or only comments)")]
    Empty,
    #[error("this looks like a private key: give the .pub file (the private key never leaves the agent's machine)")]
    PrivateKey,
    #[error("unsupported key type {0:?} (accepted: {list})", list = KEY_TYPES.join(", "))]
    UnsupportedType(String),
    #[error("the key data is missing after the type")]
    MissingData,
    #[error("the key data is not valid base64")]
    NotBase64,
    #[error("the key data is cut short or malformed")]
    Malformed,
    #[error("the key data is a {inside:?} key, but the line says {line:?}")]
    TypeMismatch { line: String, inside: String },
    #[error("a second key on line {0}: give one key per file")]
    SecondKey(usize),
}

impl PublicKey {
    /// Checks a key as sshd hands it to `AuthorizedKeysCommand` (`%t %k`).
    pub fn from_parts(key_type: &str, base64: &str) -> Result<Self, KeyError> {
        if !KEY_TYPES.contains(&key_type) {
            return Err(KeyError::UnsupportedType(crate::domain::text::strip_controls(key_type)));
        }
        if base64.is_empty() {
            return Err(KeyError::MissingData);
        }
        let blob = STANDARD.decode(base64).map_err(|_| KeyError::NotBase64)?;
        let inside = embedded_type(&blob).ok_or(KeyError::Malformed)?;
        if inside != key_type.as_bytes() {
            return Err(KeyError::TypeMismatch {
                line: key_type.to_string(),
                inside: crate::domain::text::strip_controls(&String::from_utf8_lossy(inside)),
            });
        }
        Ok(Self {
            key_type: key_type.to_string(),
            base64: base64.to_string(),
            comment: String::new(),
            fingerprint: fingerprint(&blob),
        })
    }

    /// Checks one line of a `.pub` file: `TYPE BASE64 [COMMENT]`.
    pub fn parse_line(line: &str) -> Result<Self, KeyError> {
        let line = line.trim();
        if line.starts_with("-----BEGIN") {
            return Err(KeyError::PrivateKey);
        }
        let (key_type, rest) = line.split_once([' ', '\t']).unwrap_or((line, ""));
        let rest = rest.trim_start();
        let (data, comment) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
        let mut key = Self::from_parts(key_type, data)?;
        let comment = crate::domain::text::strip_controls(comment.trim());
        key.comment = comment.chars().take(COMMENT_MAX).collect();
        Ok(key)
    }

    /// The one key of a `.pub` file's text: blank lines and `#` comments are skipped; a bad line
    /// or a second key is refused with its line number (1-based).
    pub fn parse_file(text: &str) -> Result<Self, (usize, KeyError)> {
        let mut found: Option<Self> = None;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if t.starts_with("-----BEGIN") {
                return Err((n, KeyError::PrivateKey));
            }
            if found.is_some() {
                return Err((n, KeyError::SecondKey(n)));
            }
            found = Some(Self::parse_line(t).map_err(|e| (n, e))?);
        }
        found.ok_or((1, KeyError::Empty))
    }
}

/// The type string a key blob starts with (a big-endian u32 length, then the name).
fn embedded_type(blob: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let name = blob.get(4..4usize.checked_add(len)?)?;
    // Every key type carries key material after its name.
    (blob.len() > 4 + len && !name.is_empty()).then_some(name)
}

/// OpenSSH's fingerprint of a decoded key blob: `SHA256:` and the unpadded base64 of its SHA-256.
pub fn fingerprint(blob: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(blob)))
}

/// Whether `s` has the shape of a fingerprint (`SHA256:` and 43 base64 characters).
pub fn is_fingerprint(s: &str) -> bool {
    s.strip_prefix("SHA256:")
        .is_some_and(|b| b.len() == 43 && b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/'))
}

/// The line `calldesk ssh authorized-keys` prints for a known key: sshd runs `exe ssh session
/// --key FINGERPRINT` whatever the client asked, with a terminal and nothing else. The path is
/// shell-quoted when it needs it (sshd hands the command to the account's shell) and its `"` are
/// escaped for the option; `None` when it holds a control character (it cannot be on one line).
pub fn authorized_line(exe: &str, key: &PublicKey) -> Option<String> {
    if exe.chars().any(char::is_control) {
        return None;
    }
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+@:,=".contains(c);
    let path = if exe.chars().all(safe) { exe.to_string() } else { format!("'{}'", exe.replace('\'', r"'\''")) };
    let command = format!("{path} ssh session --key {}", key.fingerprint).replace('"', "\\\"");
    Some(format!("restrict,pty,command=\"{command}\" {} {}", key.key_type, key.base64))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made by `ssh-keygen -t ed25519|rsa|ecdsa`; the fingerprints are what `ssh-keygen -lf`
    // (OpenSSH) printed for each file.
    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPHzidSxiWGlJJ+qGVYZdm/+5j1f4k8lYAyyWLiy18/U alice@laptop";
    const ED25519_FP: &str = "SHA256:RfimZaPNlDvKb8kooKuiigyeaEBEoYqCeMw77bst2LA";
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCdb4PjgVMGg01PGDAXIQujU5DWkrTPLMced8Ht5EkiSyj1vX85DnoYgWMx1Ovfkt2iAO7//1EvHfRKKxZcT1sm0W9LrWgyV0pce+noWUd41Cs6V8X0vm7IE4ncbJlo0aM1H36CXNd1ONgwT7XETPF+HUEjmg7wb8ux/Mer6ZQwXRzZ18IGu4H9SHw3YRqlBeE8eF0LKZmeo6HN+Hq8tL0gIC/v9l4SrVxhQuqLVrIs+GX7iypKDAiTvMpw9sf4AQZrehfremxbJkcBBccK7aF+BGPBLlOWnecH1j9USuXafQ6XTDKUOcLYr+zWztaEYFxVOW8dWY/eKo5fiFwMIfyv bob";
    const RSA_FP: &str = "SHA256:mHBkWfW5d8YVT726/ZSJpjr/Tjp7lT6NagWuF361lLs";
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNyGEw3PdMlFhH9WRQt+gWvXjt0UlyeZs40r+1oJPq/gyRdLIVRC22I9L9O3WlUgV1VBkWlukHgcOe38WjqJAIY= carol";
    const ECDSA_FP: &str = "SHA256:l6bajS/EJqQbd9s60hkSeLjCR1TVesYcBk0PMu4Y0RQ";
    // A security-key (FIDO) key: built by hand (the bytes 1..=32 as the public key, application
    // "ssh:"), since making one needs a device; `ssh-keygen -lf` accepted it and printed this.
    const SK: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gAAAABHNzaDo= dave@yubikey";
    const SK_FP: &str = "SHA256:nX0hpi5mKbTIJ10yBq5/sLQhiI1Y0RBAqN0drDdgJWs";

    #[test]
    fn fingerprints_are_ssh_keygens() {
        for (line, fp) in [(ED25519, ED25519_FP), (RSA, RSA_FP), (ECDSA, ECDSA_FP), (SK, SK_FP)] {
            let key = PublicKey::parse_line(line).expect("test key");
            assert_eq!(key.fingerprint, fp, "{line}");
            assert!(is_fingerprint(&key.fingerprint));
        }
        let key = PublicKey::parse_line(ED25519).expect("test key");
        assert_eq!(key.key_type, "ssh-ed25519");
        assert_eq!(key.comment, "alice@laptop");
        assert_eq!(PublicKey::from_parts(&key.key_type, &key.base64).expect("test key").fingerprint, ED25519_FP);
    }

    #[test]
    fn comments_may_have_spaces_or_be_missing() {
        let (t, b) =
            ED25519.split_once(' ').map(|(t, r)| (t, r.split(' ').next().expect("test key"))).expect("test key");
        assert_eq!(PublicKey::parse_line(&format!("{t} {b}")).expect("test key").comment, "");
        assert_eq!(
            PublicKey::parse_line(&format!("{t} {b} Alice  work laptop ")).expect("test key").comment,
            "Alice  work laptop"
        );
    }

    #[test]
    fn bad_lines_say_why() {
        let b = ED25519.split(' ').nth(1).expect("test key");
        assert!(matches!(PublicKey::parse_line(&format!("ssh-dss {b}")), Err(KeyError::UnsupportedType(_))));
        assert_eq!(PublicKey::parse_line("ssh-ed25519"), Err(KeyError::MissingData));
        assert_eq!(PublicKey::parse_line("ssh-ed25519 not*base64"), Err(KeyError::NotBase64));
        assert_eq!(PublicKey::parse_line("ssh-ed25519 AAAA"), Err(KeyError::Malformed));
        assert_eq!(
            PublicKey::parse_line(&format!("ssh-rsa {b}")),
            Err(KeyError::TypeMismatch { line: "ssh-rsa".into(), inside: "ssh-ed25519".into() })
        );
        assert_eq!(PublicKey::parse_file("\n# nothing\n"), Err((1, KeyError::Empty)));
        assert_eq!(
            PublicKey::parse_file("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n"),
            Err((1, KeyError::PrivateKey))
        );
        assert_eq!(PublicKey::parse_file(&format!("{ED25519}\n\n{RSA}\n")), Err((3, KeyError::SecondKey(3))));
        assert_eq!(PublicKey::parse_file(&format!("# mine\n{ED25519}\n")).expect("test key").fingerprint, ED25519_FP);
    }

    #[test]
    fn the_authorized_line_forces_the_session_command() {
        let key = PublicKey::parse_line(ED25519).expect("test key");
        let (t, b) = (&key.key_type, &key.base64);
        assert_eq!(
            authorized_line("/usr/local/bin/calldesk", &key).expect("test key"),
            format!("restrict,pty,command=\"/usr/local/bin/calldesk ssh session --key {ED25519_FP}\" {t} {b}")
        );
        assert_eq!(
            authorized_line("/opt/my \"cd\"/it's", &key).expect("test key"),
            format!("restrict,pty,command=\"'/opt/my \\\"cd\\\"/it'\\''s' ssh session --key {ED25519_FP}\" {t} {b}")
        );
        assert_eq!(authorized_line("/opt/a\nb", &key), None);
    }
}
