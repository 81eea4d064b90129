//! The verification lookup directory: which responder answers verification requests for the
//! GTINs of a prefix (a GTIN-14 or a company prefix). Requests for a GTIN this server does not
//! serve are forwarded there (`verification`). Every change is written to the audit log in the
//! same transaction, as partner and flag changes are.

use diesel::prelude::*;

use crate::store::{audit, verification as q};

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("PREFIX must be 4 to 14 digits")]
    Prefix,
    #[error("URL must start with https:// (responders use mutual TLS)")]
    Url,
    #[error(transparent)]
    Store(#[from] diesel::result::Error),
}

/// One directory entry, checked: checked before the database is opened, so a typing error is
/// told without waiting for it.
#[derive(Debug, Clone)]
pub struct Entry {
    prefix: String,
    url: String,
}

impl Entry {
    /// `prefix`: 4 to 14 digits; `url`: the responder's base, e.g.
    /// `https://vrs.example.com/verify` (responders are reached over mutual TLS only).
    pub fn new(prefix: &str, url: &str) -> Result<Entry, DirectoryError> {
        if !(4..=14).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DirectoryError::Prefix);
        }
        if !url.starts_with("https://") {
            return Err(DirectoryError::Url);
        }
        Ok(Entry {
            prefix: prefix.to_string(),
            url: url.to_string(),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

/// Forwards verification requests for GTINs starting with the entry's prefix to its responder,
/// replacing an earlier entry for the prefix; audited.
pub fn set_responder(
    conn: &mut PgConnection,
    entry: &Entry,
    actor: &str,
) -> Result<(), DirectoryError> {
    conn.transaction(|conn| {
        q::set_responder(conn, &entry.prefix, &entry.url)?;
        audit::record(
            conn,
            actor,
            "directory.set",
            &format!("prefix:{}", entry.prefix),
            serde_json::json!({ "responder_url": entry.url }),
        )?;
        Ok(())
    })
}
