//! The serial-number key: 32 bytes (AES-256 for FF1), read from a file or an environment
//! variable named in the configuration, or, in development, generated under `data_dir`.
//!
//! The key never leaves this module in clear: `Debug` is masked, it is not logged, and the
//! database keeps only its check value ([`SerialKey::id`]) so that a server started with a
//! different key refuses to issue from pools made with another (it would break uniqueness).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::ff1::Ff1;
use crate::config::SerialKeySource;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("serial key file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("serial key: environment variable {0} is not set")]
    EnvMissing(String),
    #[error("serial key from {source_name}: expected 64 hex digits (32 bytes), found {found}")]
    Malformed { source_name: String, found: String },
}

pub struct SerialKey {
    ff1: Ff1,
    id: String,
    /// True for the generated development key.
    development: bool,
}

impl std::fmt::Debug for SerialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SerialKey(id {}, ***)", self.id)
    }
}

fn parse_hex(text: &str, source_name: &str) -> Result<[u8; 32], KeyError> {
    let t = text.trim();
    let malformed = |found: String| KeyError::Malformed {
        source_name: source_name.to_string(),
        found,
    };
    if t.len() != 64 {
        return Err(malformed(format!("{} characters", t.len())));
    }
    let mut key = [0u8; 32];
    for (i, slot) in key.iter_mut().enumerate() {
        *slot = u8::from_str_radix(&t[2 * i..2 * i + 2], 16)
            .map_err(|_| malformed("a character that is not a hex digit".into()))?;
    }
    Ok(key)
}

impl SerialKey {
    pub fn from_bytes(key: &[u8; 32], development: bool) -> SerialKey {
        let mut input = b"dscsa-exchange serial key id\0".to_vec();
        input.extend_from_slice(key);
        let digest = openssl::sha::sha256(&input);
        let id = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        SerialKey {
            ff1: Ff1::new(key).expect("32-byte key"),
            id,
            development,
        }
    }

    /// Loads the key the settings name; the development key is created if missing.
    pub fn load(source: &SerialKeySource) -> Result<SerialKey, KeyError> {
        match source {
            SerialKeySource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| KeyError::File {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                Ok(Self::from_bytes(
                    &parse_hex(&text, &path.display().to_string())?,
                    false,
                ))
            }
            SerialKeySource::Env(var) => {
                let text = std::env::var(var).map_err(|_| KeyError::EnvMissing(var.clone()))?;
                Ok(Self::from_bytes(&parse_hex(&text, var)?, false))
            }
            SerialKeySource::Development(path) => {
                let key = development_key(path)?;
                Ok(Self::from_bytes(&key, true))
            }
        }
    }

    /// The check value stored with each pool (16 hex digits of a SHA-256 of the key).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn is_development(&self) -> bool {
        self.development
    }

    pub fn ff1(&self) -> &Ff1 {
        &self.ff1
    }
}

/// Reads the development key, or creates it (mode 0600) so that concurrent first starts agree:
/// the key is written to a temporary file and linked into place, and whoever links first wins.
fn development_key(path: &Path) -> Result<[u8; 32], KeyError> {
    let err = |e: std::io::Error| KeyError::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    if !path.exists() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut key = [0u8; 32];
        openssl::rand::rand_bytes(&mut key).map_err(|e| KeyError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        // Unique per attempt: threads of one process may race here too.
        let mut nonce = [0u8; 8];
        openssl::rand::rand_bytes(&mut nonce).map_err(|e| KeyError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = path.with_extension(format!("tmp-{}-{nonce}", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        f.write_all(format!("{hex}\n").as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(err(e)),
        }
    }
    let mode = std::fs::metadata(path).map_err(err)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::File {
            path: path.to_path_buf(),
            message: format!(
                "readable by others (mode {:o}); run chmod 600 on it",
                mode & 0o777
            ),
        });
    }
    let text = std::fs::read_to_string(path).map_err(err)?;
    parse_hex(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_key_is_created_once_with_mode_0600_and_read_back() {
        let dir = std::env::temp_dir().join(format!("dscsa-key-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("serials.key");
        let source = SerialKeySource::Development(path.clone());
        let first = SerialKey::load(&source).unwrap();
        let second = SerialKey::load(&source).unwrap();
        assert_eq!(first.id(), second.id());
        assert!(first.is_development());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!format!("{first:?}").contains(&std::fs::read_to_string(&path).unwrap()[..16]));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = SerialKey::load(&source).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_malformed_key_is_refused_without_echoing_it() {
        let e = parse_hex("00112233", "KEYVAR").unwrap_err().to_string();
        assert_eq!(
            e,
            "serial key from KEYVAR: expected 64 hex digits (32 bytes), found 8 characters"
        );
        let bad = "zz".repeat(32);
        let e = parse_hex(&bad, "f").unwrap_err().to_string();
        assert!(!e.contains("zz"));
    }
}
