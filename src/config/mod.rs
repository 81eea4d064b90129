//! Configuration, parsed in two stages: a TOML file and `DSCSA_…` environment variables are read
//! into [`RawSettings`] (everything optional, strings as given), then [`RawSettings::validate`]
//! turns them into [`Settings`], rejecting bad values with the name of the key that holds them.
//!
//! Precedence, lowest first: built-in defaults, the config file, environment variables.
//! The config file is `--config FILE`, else `$DSCSA_CONFIG`, else `./dscsa-exchange.toml` if it
//! exists. Every key is documented in `README.md` ("Configuration").
//!
//! The parts: `raw` (the file and environment as read), `validate` (raw values checked into
//! [`Settings`]), `settings` (the validated sections and what the commands ask of them),
//! `organisation` (who this server is, and its generated development identity).

use std::fmt;
use std::path::PathBuf;

mod organisation;
mod raw;
mod settings;
mod validate;

pub use organisation::{Organisation, DEV_ORGANISATION_FILE};
pub use raw::{
    RawCapture, RawDatabase, RawHttp, RawOrganisation, RawResolver, RawSerials, RawSettings,
    RawTls, RawVerification,
};
pub use settings::{
    DatabaseSettings, HttpSettings, ResolverSettings, SerialKeySource, SerialSettings, Settings,
    TlsSettings, VerificationSettings,
};

/// Name of the config file looked for in the working directory when none is given.
pub const DEFAULT_CONFIG_FILE: &str = "dscsa-exchange.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("invalid value for `{key}`: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    fn invalid(key: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// A value that must never be printed or logged as is (database passwords, key passphrases).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The real value: call only where it is handed to the library that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Hides the password of a connection URL (`postgres://user:***@host/db`), and any `password=`
/// query parameter, so URLs can be printed and logged.
pub fn mask_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map(|i| rest_start + i)
            .unwrap_or(out.len());
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = rest_start + colon + 1;
                out.replace_range(start..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find("password=") {
        let end = out[q..].find('&').map(|i| q + i).unwrap_or(out.len());
        out.replace_range(q + "password=".len()..end, "***");
    }
    out
}

#[cfg(test)]
mod tests;
