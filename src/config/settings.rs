//! The validated settings ([`Settings`] and one type per section), and what the commands ask of
//! them: loading (file, then environment), the responder GLN, whether this is a production
//! deployment, and the effective configuration printed with secrets masked.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::raw::RawSettings;
use super::{mask_url, ConfigError, Organisation, Secret, DEFAULT_CONFIG_FILE};

/// Validated settings: every value here is usable as is.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the private PostgreSQL instance and other local state live.
    pub data_dir: PathBuf,
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub tls: TlsSettings,
    pub verification: VerificationSettings,
    /// Who this server is. `None` when not configured: `serve` then generates a development
    /// identity, or refuses to start in production ([`Settings::production_reason`]).
    pub organisation: Option<Organisation>,
    /// Limits every captured document must stay within (refusals: EPCIS-X-004…007, HTTP 413).
    pub capture_limits: crate::epcis::Limits,
    /// Where the serial-number key comes from (issue 15; docs/SERIALS.md).
    pub serials: SerialSettings,
    /// The public Digital Link page on the plain-HTTP listener.
    pub resolver: ResolverSettings,
    /// How far an event time may lie ahead of the server's clock (client clock skew) before
    /// DSCSA-B-011 refuses the event (`capture.future_tolerance_secs`, default 300).
    pub capture_future_tolerance: std::time::Duration,
    /// The config file that was read, if any.
    pub source_file: Option<PathBuf>,
}

/// Where the serial-number key is read from. The key itself is never part of the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialKeySource {
    /// `serials.key_file`: a file holding the key as 64 hex digits.
    File(PathBuf),
    /// `serials.key_env`: the name of an environment variable holding the 64 hex digits.
    Env(String),
    /// Neither set: a development key generated under `data_dir` (mode 0600) on first use.
    Development(PathBuf),
}

#[derive(Debug, Clone)]
pub struct SerialSettings {
    pub key: SerialKeySource,
}

#[derive(Debug, Clone)]
pub struct ResolverSettings {
    /// Look-ups per client address and minute (sustained rate).
    pub requests_per_minute: u32,
    /// Look-ups a client address may make at once before the rate applies.
    pub burst: u32,
}

#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Plain-HTTP listener for health, readiness and (later) metrics.
    pub listen: SocketAddr,
    pub shutdown_timeout_secs: u64,
    /// Worker threads; `None` = one per core.
    pub workers: Option<usize>,
}

/// The partner-facing HTTPS listener (mutual TLS).
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub enabled: bool,
    pub listen: SocketAddr,
    /// `None`: a development PKI under `data_dir/tls`, created on first start.
    pub files: Option<crate::tls::TlsFiles>,
}

#[derive(Debug, Clone)]
pub struct VerificationSettings {
    /// Overrides the organisation's GLN as `responderGLN` (a responder answering for another
    /// GLN of the same company).
    pub responder_gln: Option<crate::gs1::Gln>,
    /// Refuse LMS requests without `linkType` (default). `false` is a compatibility setting
    /// for requestors that omit it.
    pub require_link_type: bool,
    pub forward_timeout_ms: u64,
    /// Our client identity towards other responders (PEM files), and the CA bundle we trust
    /// for them (default: the system's).
    pub forward_cert: Option<PathBuf>,
    pub forward_key: Option<PathBuf>,
    pub forward_ca: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `None` = run the private PostgreSQL instance under `data_dir/postgres`.
    pub url: Option<Secret>,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
}

impl Settings {
    /// The GLN verification answers carry: `verification.responder_gln`, else the organisation's.
    pub fn responder_gln(&self) -> Option<crate::gs1::Gln> {
        self.verification
            .responder_gln
            .or_else(|| self.organisation.as_ref().map(|o| o.gln))
    }

    /// Why these settings are a production deployment, if they are: an external database
    /// (`database.url`) or certificates of its own (`tls.cert`). A production server must be
    /// configured with its organisation; the development default (private PostgreSQL,
    /// development PKI) may generate one.
    pub fn production_reason(&self) -> Option<&'static str> {
        if self.database.url.is_some() {
            Some("database.url is set")
        } else if self.tls.files.is_some() {
            Some("tls.cert is set")
        } else {
            None
        }
    }

    /// Reads the config file (see module docs) and the process environment.
    pub fn load(explicit_file: Option<&Path>) -> Result<Settings, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(explicit_file, &env)
    }

    /// As [`Settings::load`], with the environment given (for tests).
    pub fn load_from(
        explicit_file: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Settings, ConfigError> {
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let file = match explicit_file {
            Some(p) => Some(p.to_path_buf()),
            None => match get("DSCSA_CONFIG") {
                Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
                _ => {
                    let default = PathBuf::from(DEFAULT_CONFIG_FILE);
                    default.exists().then_some(default)
                }
            },
        };
        let mut raw = match &file {
            Some(path) => RawSettings::from_file(path)?,
            None => RawSettings::default(),
        };
        raw.apply_env(&get)?;
        let mut settings = raw.validate()?;
        settings.source_file = file;
        Ok(settings)
    }

    /// The effective configuration as TOML, secrets masked (for `dscsa-exchange config`).
    pub fn to_masked_toml(&self) -> String {
        let url = match &self.database.url {
            Some(u) => format!("{:?}", mask_url(u.expose())),
            None => "\"\" # none: private PostgreSQL under data_dir/postgres".to_string(),
        };
        let workers = match self.http.workers {
            Some(n) => n.to_string(),
            None => "0 # one per core".to_string(),
        };
        format!(
            "# config file: {}\n\
             data_dir = {:?}\n\n\
             [http]\nlisten = \"{}\"\nshutdown_timeout_secs = {}\nworkers = {}\n\n\
             [database]\nurl = {}\npool_size = {}\nconnect_timeout_secs = {}\n\n\
             [tls]\nenabled = {}\nlisten = \"{}\"\n{}\n\n\
             [verification]\nresponder_gln = {:?}\nrequire_link_type = {}\nforward_timeout_ms = {}\n\n\
             [organisation]\n{}\n\n\
             [capture]\nmax_document_bytes = {}\nmax_events = {}\nmax_epcs_per_event = {}\nmax_depth = {}\nfuture_tolerance_secs = {}\n",
            self.source_file
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(none)".into()),
            self.data_dir.display().to_string(),
            self.http.listen,
            self.http.shutdown_timeout_secs,
            workers,
            url,
            self.database.pool_size,
            self.database.connect_timeout_secs,
            self.tls.enabled,
            self.tls.listen,
            match &self.tls.files {
                None => "# cert/key: development PKI under data_dir/tls".to_string(),
                Some(f) => format!(
                    "cert = {:?}\nkey = {:?}\nclient_ca = {:?}\ncrl = {:?}",
                    f.cert.display().to_string(),
                    f.key.display().to_string(),
                    f.client_ca
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>(),
                    f.crl
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                ),
            },
            self.verification
                .responder_gln
                .as_ref()
                .map(|g| g.as_str().to_string())
                .unwrap_or_default(),
            self.verification.require_link_type,
            self.verification.forward_timeout_ms,
            match &self.organisation {
                None => "# none: `serve` generates a development identity (data_dir/dev-organisation.toml); required in production".to_string(),
                Some(o) => format!(
                    "gln = {:?}\nname = {:?}\ncompany_prefixes = {:?}",
                    o.gln.as_str(),
                    o.name,
                    o.company_prefixes
                ),
            },
            self.capture_limits.max_bytes,
            self.capture_limits.max_events,
            self.capture_limits.max_epcs_per_event,
            self.capture_limits.max_depth,
            self.capture_future_tolerance.as_secs(),
        ) + &format!(
            "\n[serials]\n{}\n\n[resolver]\nrequests_per_minute = {}\nburst = {}\n",
            match &self.serials.key {
                SerialKeySource::File(p) => format!("key_file = {:?}", p.display().to_string()),
                SerialKeySource::Env(v) => format!("key_env = {v:?}"),
                SerialKeySource::Development(p) => format!(
                    "# key: development key in {} (generated on first use)",
                    p.display()
                ),
            },
            self.resolver.requests_per_minute,
            self.resolver.burst,
        )
    }
}
