//! Configuration, parsed in two stages: a TOML file and `DSCSA_…` environment variables are read
//! into [`RawSettings`] (everything optional, strings as given), then [`RawSettings::validate`]
//! turns them into [`Settings`], rejecting bad values with the name of the key that holds them.
//!
//! Precedence, lowest first: built-in defaults, the config file, environment variables.
//! The config file is `--config FILE`, else `$DSCSA_CONFIG`, else `./dscsa-exchange.toml` if it
//! exists. Every key is documented in `README.md` ("Configuration").

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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

/// The file and environment as read, before any checks.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub data_dir: Option<String>,
    #[serde(default)]
    pub http: RawHttp,
    #[serde(default)]
    pub database: RawDatabase,
    #[serde(default)]
    pub tls: RawTls,
    #[serde(default)]
    pub verification: RawVerification,
    #[serde(default)]
    pub capture: RawCapture,
    #[serde(default)]
    pub serials: RawSerials,
    #[serde(default)]
    pub resolver: RawResolver,
    #[serde(default, alias = "organization")]
    pub organisation: RawOrganisation,
}

/// `[organisation]`: who this server is (own GLN, name, GS1 company prefixes).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrganisation {
    pub gln: Option<String>,
    pub name: Option<String>,
    pub company_prefixes: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSerials {
    pub key_file: Option<String>,
    pub key_env: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResolver {
    pub requests_per_minute: Option<u32>,
    pub burst: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCapture {
    pub max_document_bytes: Option<u64>,
    pub max_events: Option<u64>,
    pub max_epcs_per_event: Option<usize>,
    pub max_depth: Option<usize>,
    pub future_tolerance_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub enabled: Option<bool>,
    pub listen: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub client_ca: Option<Vec<String>>,
    pub crl: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVerification {
    pub responder_gln: Option<String>,
    pub require_link_type: Option<bool>,
    pub forward_timeout_ms: Option<u64>,
    pub forward_cert: Option<String>,
    pub forward_key: Option<String>,
    pub forward_ca: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub listen: Option<String>,
    pub shutdown_timeout_secs: Option<u64>,
    pub workers: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub url: Option<String>,
    pub pool_size: Option<u32>,
    pub connect_timeout_secs: Option<u64>,
}

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

/// The organisation this server acts for: `responderGLN` of verification answers, and the seller
/// and sender of the shipments it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub gln: crate::gs1::Gln,
    pub name: String,
    /// GS1 company prefixes (6 to 12 digits, as EPC URIs can carry them).
    pub company_prefixes: Vec<String>,
    /// Generated by `serve` for trying the server out (GS1 prefix 952); never configured.
    pub development: bool,
}

/// The file under `data_dir` holding the generated development identity.
pub const DEV_ORGANISATION_FILE: &str = "dev-organisation.toml";

impl Organisation {
    /// The development identity of `data_dir`: read from [`DEV_ORGANISATION_FILE`], or generated
    /// and written there on first use, so that it stays the same across restarts.
    ///
    /// Its GLN and company prefix come from GS1 prefix 952, which GS1 reserves for
    /// demonstrations and examples: they can never be a real company's.
    pub fn development(data_dir: &Path) -> Result<Organisation, ConfigError> {
        let path = data_dir.join(DEV_ORGANISATION_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let raw: RawOrganisation =
                    toml::from_str(&text).map_err(|e| ConfigError::Syntax {
                        path: path.clone(),
                        message: format!(
                            "{} (delete the file to generate a new development identity)",
                            e.message()
                        ),
                    })?;
                let mut org = validate_organisation(raw)?.ok_or_else(|| ConfigError::Syntax {
                    path: path.clone(),
                    message: "no gln (delete the file to generate a new development identity)"
                        .into(),
                })?;
                org.development = true;
                Ok(org)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut random = [0u8; 4];
                openssl::rand::rand_bytes(&mut random).map_err(|e| {
                    ConfigError::invalid("organisation.gln", format!("no random numbers: {e}"))
                })?;
                let n = u32::from_le_bytes(random) % 10_000;
                let prefix = format!("952{n:04}");
                let data = format!("{prefix}00000");
                let check = crate::gs1::mod10_check_digit(data.as_bytes()) as char;
                let org = Organisation {
                    gln: format!("{data}{check}")
                        .parse()
                        .expect("a 12-digit number and its check digit form a GLN"),
                    name: "Development organisation (generated, not for production)".into(),
                    company_prefixes: vec![prefix],
                    development: true,
                };
                let text = format!(
                    "# Development identity generated by `dscsa-exchange serve` (GS1 prefix 952 is\n\
                     # reserved for demonstrations and examples). Not for production: configure\n\
                     # [organisation] gln, name and company_prefixes instead.\n\
                     gln = \"{}\"\nname = \"{}\"\ncompany_prefixes = [\"{}\"]\n",
                    org.gln.as_str(),
                    org.name,
                    org.company_prefixes[0]
                );
                std::fs::create_dir_all(data_dir)
                    .and_then(|()| std::fs::write(&path, text))
                    .map_err(|source| ConfigError::Unreadable {
                        path: path.clone(),
                        source,
                    })?;
                Ok(org)
            }
            Err(source) => Err(ConfigError::Unreadable { path, source }),
        }
    }
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

impl RawSettings {
    pub fn from_file(path: &Path) -> Result<RawSettings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            // toml's message spans several lines; one line is what a shell user wants.
            message: e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        })
    }

    /// Environment variables override the file. Numbers are checked here, with the variable name.
    fn apply_env(&mut self, get: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(key: &str, v: String) -> Result<T, ConfigError> {
            v.trim()
                .parse()
                .map_err(|_| ConfigError::invalid(key, format!("`{v}` is not a whole number")))
        }
        if let Some(v) = get("DSCSA_DATA_DIR") {
            self.data_dir = Some(v);
        }
        if let Some(v) = get("DSCSA_HTTP_LISTEN") {
            self.http.listen = Some(v);
        }
        if let Some(v) = get("DSCSA_HTTP_WORKERS") {
            self.http.workers = Some(num("DSCSA_HTTP_WORKERS", v)?);
        }
        if let Some(v) = get("DSCSA_HTTP_SHUTDOWN_TIMEOUT_SECS") {
            self.http.shutdown_timeout_secs = Some(num("DSCSA_HTTP_SHUTDOWN_TIMEOUT_SECS", v)?);
        }
        // DATABASE_URL is the name every PostgreSQL tool knows; DSCSA_DATABASE_URL wins if both.
        if let Some(v) = get("DSCSA_DATABASE_URL").or_else(|| get("DATABASE_URL")) {
            self.database.url = Some(v);
        }
        if let Some(v) = get("DSCSA_DATABASE_POOL_SIZE") {
            self.database.pool_size = Some(num("DSCSA_DATABASE_POOL_SIZE", v)?);
        }
        if let Some(v) = get("DSCSA_TLS_ENABLED") {
            self.tls.enabled = Some(boolean("DSCSA_TLS_ENABLED", &v)?);
        }
        for (var, slot) in [
            ("DSCSA_TLS_LISTEN", &mut self.tls.listen),
            ("DSCSA_TLS_CERT", &mut self.tls.cert),
            ("DSCSA_TLS_KEY", &mut self.tls.key),
            ("DSCSA_TLS_CRL", &mut self.tls.crl),
            (
                "DSCSA_VERIFICATION_RESPONDER_GLN",
                &mut self.verification.responder_gln,
            ),
            ("DSCSA_ORGANISATION_GLN", &mut self.organisation.gln),
            ("DSCSA_ORGANISATION_NAME", &mut self.organisation.name),
            (
                "DSCSA_VERIFICATION_FORWARD_CERT",
                &mut self.verification.forward_cert,
            ),
            (
                "DSCSA_VERIFICATION_FORWARD_KEY",
                &mut self.verification.forward_key,
            ),
            (
                "DSCSA_VERIFICATION_FORWARD_CA",
                &mut self.verification.forward_ca,
            ),
        ] {
            if let Some(v) = get(var) {
                *slot = Some(v);
            }
        }
        if let Some(v) = get("DSCSA_ORGANISATION_COMPANY_PREFIXES") {
            self.organisation.company_prefixes = Some(
                v.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect(),
            );
        }
        if let Some(v) = get("DSCSA_VERIFICATION_REQUIRE_LINK_TYPE") {
            self.verification.require_link_type =
                Some(boolean("DSCSA_VERIFICATION_REQUIRE_LINK_TYPE", &v)?);
        }
        if let Some(v) = get("DSCSA_TLS_CLIENT_CA") {
            self.tls.client_ca = Some(v.split(',').map(|p| p.trim().to_string()).collect());
        }
        if let Some(v) = get("DSCSA_VERIFICATION_FORWARD_TIMEOUT_MS") {
            self.verification.forward_timeout_ms =
                Some(num("DSCSA_VERIFICATION_FORWARD_TIMEOUT_MS", v)?);
        }
        if let Some(v) = get("DSCSA_CAPTURE_MAX_DOCUMENT_BYTES") {
            self.capture.max_document_bytes = Some(num("DSCSA_CAPTURE_MAX_DOCUMENT_BYTES", v)?);
        }
        if let Some(v) = get("DSCSA_CAPTURE_MAX_EVENTS") {
            self.capture.max_events = Some(num("DSCSA_CAPTURE_MAX_EVENTS", v)?);
        }
        if let Some(v) = get("DSCSA_CAPTURE_MAX_EPCS_PER_EVENT") {
            self.capture.max_epcs_per_event = Some(num("DSCSA_CAPTURE_MAX_EPCS_PER_EVENT", v)?);
        }
        if let Some(v) = get("DSCSA_CAPTURE_MAX_DEPTH") {
            self.capture.max_depth = Some(num("DSCSA_CAPTURE_MAX_DEPTH", v)?);
        }
        if let Some(v) = get("DSCSA_SERIALS_KEY_FILE") {
            self.serials.key_file = Some(v);
        }
        if let Some(v) = get("DSCSA_SERIALS_KEY_ENV") {
            self.serials.key_env = Some(v);
        }
        if let Some(v) = get("DSCSA_RESOLVER_REQUESTS_PER_MINUTE") {
            self.resolver.requests_per_minute = Some(num("DSCSA_RESOLVER_REQUESTS_PER_MINUTE", v)?);
        }
        if let Some(v) = get("DSCSA_RESOLVER_BURST") {
            self.resolver.burst = Some(num("DSCSA_RESOLVER_BURST", v)?);
        }
        if let Some(v) = get("DSCSA_CAPTURE_FUTURE_TOLERANCE_SECS") {
            self.capture.future_tolerance_secs =
                Some(num("DSCSA_CAPTURE_FUTURE_TOLERANCE_SECS", v)?);
        }
        if let Some(v) = get("DSCSA_DATABASE_CONNECT_TIMEOUT_SECS") {
            self.database.connect_timeout_secs =
                Some(num("DSCSA_DATABASE_CONNECT_TIMEOUT_SECS", v)?);
        }
        Ok(())
    }

    pub fn validate(self) -> Result<Settings, ConfigError> {
        let data_dir = PathBuf::from(self.data_dir.unwrap_or_else(|| "./data".into()));
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid("data_dir", "must not be empty"));
        }
        let listen_text = self.http.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError::invalid(
                "http.listen",
                format!("`{listen_text}` is not an address:port such as 127.0.0.1:8080"),
            )
        })?;
        let workers = match self.http.workers {
            None | Some(0) => None,
            Some(n) if n > 1024 => {
                return Err(ConfigError::invalid("http.workers", "at most 1024"))
            }
            Some(n) => Some(n),
        };
        let url = match self.database.url {
            None => None,
            Some(u) if u.trim().is_empty() => None,
            Some(u) => {
                let u = u.trim().to_string();
                if !(u.starts_with("postgres://") || u.starts_with("postgresql://")) {
                    return Err(ConfigError::invalid(
                        "database.url",
                        format!(
                            "`{}` is not a PostgreSQL URL; expected postgres://user:password@host:port/database",
                            mask_url(&u)
                        ),
                    ));
                }
                Some(Secret::new(u))
            }
        };
        let pool_size = self.database.pool_size.unwrap_or(10);
        if !(1..=1000).contains(&pool_size) {
            return Err(ConfigError::invalid(
                "database.pool_size",
                format!("{pool_size} is outside 1..=1000"),
            ));
        }
        let connect_timeout_secs = self.database.connect_timeout_secs.unwrap_or(5);
        if !(1..=600).contains(&connect_timeout_secs) {
            return Err(ConfigError::invalid(
                "database.connect_timeout_secs",
                format!("{connect_timeout_secs} is outside 1..=600"),
            ));
        }
        let future_tolerance_secs = self.capture.future_tolerance_secs.unwrap_or(300);
        if future_tolerance_secs > 86_400 {
            return Err(ConfigError::invalid(
                "capture.future_tolerance_secs",
                format!("{future_tolerance_secs} is outside 0..=86400 (a day)"),
            ));
        }
        let capture_limits = validate_capture(self.capture)?;
        let tls = validate_tls(self.tls)?;
        let verification = validate_verification(self.verification)?;
        let serials = SerialSettings {
            key: match (
                non_empty(self.serials.key_file),
                non_empty(self.serials.key_env),
            ) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::invalid(
                        "serials.key_file",
                        "set serials.key_file or serials.key_env, not both",
                    ))
                }
                (Some(f), None) => SerialKeySource::File(PathBuf::from(f)),
                (None, Some(v)) => SerialKeySource::Env(v),
                (None, None) => SerialKeySource::Development(data_dir.join("serials.key")),
            },
        };
        let resolver = ResolverSettings {
            requests_per_minute: self.resolver.requests_per_minute.unwrap_or(120),
            burst: self.resolver.burst.unwrap_or(20),
        };
        if !(1..=6_000_000).contains(&resolver.requests_per_minute) {
            return Err(ConfigError::invalid(
                "resolver.requests_per_minute",
                format!("{} is outside 1..=6000000", resolver.requests_per_minute),
            ));
        }
        if !(1..=100_000).contains(&resolver.burst) {
            return Err(ConfigError::invalid(
                "resolver.burst",
                format!("{} is outside 1..=100000", resolver.burst),
            ));
        }
        let organisation = validate_organisation(self.organisation)?;
        Ok(Settings {
            organisation,
            serials,
            resolver,
            capture_limits,
            capture_future_tolerance: std::time::Duration::from_secs(future_tolerance_secs),
            tls,
            verification,
            data_dir,
            http: HttpSettings {
                listen,
                shutdown_timeout_secs: self.http.shutdown_timeout_secs.unwrap_or(10),
                workers,
            },
            database: DatabaseSettings {
                url,
                pool_size,
                connect_timeout_secs,
            },
            source_file: None,
        })
    }
}

fn boolean(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::invalid(
            key,
            format!("`{v}` is not true or false"),
        )),
    }
}

fn validate_organisation(raw: RawOrganisation) -> Result<Option<Organisation>, ConfigError> {
    let name = non_empty(raw.name);
    let prefixes: Vec<String> = raw
        .company_prefixes
        .unwrap_or_default()
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let Some(gln) = non_empty(raw.gln) else {
        if name.is_some() || !prefixes.is_empty() {
            return Err(ConfigError::invalid(
                "organisation.gln",
                "organisation.name/company_prefixes are set but not the organisation's GLN \
                 (13 digits with its check digit, e.g. gln = \"0312345000004\")",
            ));
        }
        return Ok(None);
    };
    let gln: crate::gs1::Gln = gln.parse().map_err(|e: crate::gs1::Gs1Error| {
        ConfigError::invalid("organisation.gln", e.to_string())
    })?;
    let name = name.ok_or_else(|| {
        ConfigError::invalid(
            "organisation.name",
            "required with organisation.gln (the legal name trading partners know you by)",
        )
    })?;
    for p in &prefixes {
        if !(6..=12).contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::invalid(
                "organisation.company_prefixes",
                format!("`{p}` is not a GS1 company prefix (6 to 12 digits, as in EPC URIs)"),
            ));
        }
    }
    Ok(Some(Organisation {
        gln,
        name,
        company_prefixes: prefixes,
        development: false,
    }))
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn validate_tls(raw: RawTls) -> Result<TlsSettings, ConfigError> {
    let listen_text = raw.listen.unwrap_or_else(|| "127.0.0.1:8443".into());
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        ConfigError::invalid(
            "tls.listen",
            format!("`{listen_text}` is not an address:port such as 0.0.0.0:8443"),
        )
    })?;
    let cert = non_empty(raw.cert);
    let key = non_empty(raw.key);
    let client_ca: Vec<PathBuf> = raw
        .client_ca
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .map(PathBuf::from)
        .collect();
    let crl = non_empty(raw.crl).map(PathBuf::from);
    let files = match (cert, key) {
        (None, None) => {
            if !client_ca.is_empty() || crl.is_some() {
                return Err(ConfigError::invalid(
                    "tls.cert",
                    "tls.client_ca/tls.crl are set but tls.cert and tls.key are not",
                ));
            }
            None
        }
        (Some(_), None) => return Err(ConfigError::invalid("tls.key", "required with tls.cert")),
        (None, Some(_)) => return Err(ConfigError::invalid("tls.cert", "required with tls.key")),
        (Some(cert), Some(key)) => {
            if client_ca.is_empty() {
                return Err(ConfigError::invalid(
                    "tls.client_ca",
                    "mutual TLS needs at least one CA bundle for client certificates",
                ));
            }
            Some(crate::tls::TlsFiles {
                cert: cert.into(),
                key: key.into(),
                client_ca,
                crl,
            })
        }
    };
    Ok(TlsSettings {
        enabled: raw.enabled.unwrap_or(true),
        listen,
        files,
    })
}

fn validate_capture(raw: RawCapture) -> Result<crate::epcis::Limits, ConfigError> {
    let mut limits = crate::epcis::Limits::default();
    fn positive<T: PartialOrd + Default + std::fmt::Display>(
        key: &str,
        v: T,
    ) -> Result<T, ConfigError> {
        if v > T::default() {
            Ok(v)
        } else {
            Err(ConfigError::invalid(
                key,
                format!("{v} must be greater than 0"),
            ))
        }
    }
    if let Some(v) = raw.max_document_bytes {
        limits.max_bytes = positive("capture.max_document_bytes", v)?;
    }
    if let Some(v) = raw.max_events {
        limits.max_events = positive("capture.max_events", v)?;
    }
    if let Some(v) = raw.max_epcs_per_event {
        limits.max_epcs_per_event = positive("capture.max_epcs_per_event", v)?;
    }
    if let Some(v) = raw.max_depth {
        if !(8..=1000).contains(&v) {
            return Err(ConfigError::invalid(
                "capture.max_depth",
                format!("{v} is outside 8..=1000"),
            ));
        }
        limits.max_depth = v;
    }
    Ok(limits)
}

fn validate_verification(raw: RawVerification) -> Result<VerificationSettings, ConfigError> {
    let responder_gln = match non_empty(raw.responder_gln) {
        None => None,
        Some(g) => Some(
            g.parse::<crate::gs1::Gln>()
                .map_err(|e| ConfigError::invalid("verification.responder_gln", e.to_string()))?,
        ),
    };
    let forward_timeout_ms = raw.forward_timeout_ms.unwrap_or(5000);
    if !(100..=60_000).contains(&forward_timeout_ms) {
        return Err(ConfigError::invalid(
            "verification.forward_timeout_ms",
            format!("{forward_timeout_ms} is outside 100..=60000"),
        ));
    }
    let forward_cert = non_empty(raw.forward_cert).map(PathBuf::from);
    let forward_key = non_empty(raw.forward_key).map(PathBuf::from);
    if forward_cert.is_some() != forward_key.is_some() {
        return Err(ConfigError::invalid(
            "verification.forward_key",
            "forward_cert and forward_key go together",
        ));
    }
    Ok(VerificationSettings {
        responder_gln,
        require_link_type: raw.require_link_type.unwrap_or(true),
        forward_timeout_ms,
        forward_cert,
        forward_key,
        forward_ca: non_empty(raw.forward_ca).map(PathBuf::from),
    })
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
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_no_configuration() {
        let s = Settings::load_from(None, &env(&[("DSCSA_CONFIG", "")])).unwrap();
        assert!(s.database.url.is_none());
        assert_eq!(s.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = std::env::temp_dir().join(format!("dscsa-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "[http]\nlisten = \"0.0.0.0:9000\"\n[database]\npool_size = 3\n",
        )
        .unwrap();
        let s = Settings::load_from(
            Some(&file),
            &env(&[
                ("DSCSA_DATABASE_POOL_SIZE", "7"),
                ("DATABASE_URL", "postgres://a:b@h/d"),
            ]),
        )
        .unwrap();
        assert_eq!(s.http.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(s.database.pool_size, 7);
        assert_eq!(s.database.url.unwrap().expose(), "postgres://a:b@h/d");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = Settings::load_from(None, &env(&[("DSCSA_HTTP_LISTEN", "localhost")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("http.listen"), "{err}");
        let err = Settings::load_from(None, &env(&[("DATABASE_URL", "mysql://x@y/z")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("database.url"), "{err}");
        let err = Settings::load_from(None, &env(&[("DSCSA_DATABASE_POOL_SIZE", "many")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("DSCSA_DATABASE_POOL_SIZE"), "{err}");
    }

    #[test]
    fn capture_limits_are_configurable_and_checked() {
        let s = Settings::load_from(None, &env(&[("DSCSA_CAPTURE_MAX_DOCUMENT_BYTES", "1000")]))
            .unwrap();
        assert_eq!(s.capture_limits.max_bytes, 1000);
        let s = Settings::load_from(None, &env(&[]))
            .unwrap()
            .capture_future_tolerance;
        assert_eq!(s.as_secs(), 300, "default");
        let s = Settings::load_from(None, &env(&[("DSCSA_CAPTURE_FUTURE_TOLERANCE_SECS", "0")]))
            .unwrap();
        assert_eq!(s.capture_future_tolerance.as_secs(), 0);
        let err = Settings::load_from(
            None,
            &env(&[("DSCSA_CAPTURE_FUTURE_TOLERANCE_SECS", "90000")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("capture.future_tolerance_secs"), "{err}");
        let err = Settings::load_from(None, &env(&[("DSCSA_CAPTURE_MAX_EVENTS", "0")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("capture.max_events"), "{err}");
    }

    #[test]
    fn unknown_keys_in_the_file_are_rejected() {
        let dir = std::env::temp_dir().join(format!("dscsa-config-u-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, "[database]\npoolsize = 3\n").unwrap();
        let err = Settings::load_from(Some(&file), &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("poolsize"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn masking_hides_passwords_and_nothing_else() {
        assert_eq!(
            mask_url("postgres://app:s3cret@db.example:5432/dscsa"),
            "postgres://app:***@db.example:5432/dscsa"
        );
        assert_eq!(mask_url("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(
            mask_url("postgresql:///d?host=/tmp&password=pw&user=u"),
            "postgresql:///d?host=/tmp&password=***&user=u"
        );
        let s = Settings::load_from(
            None,
            &env(&[("DATABASE_URL", "postgres://a:topsecret@h/d")]),
        )
        .unwrap();
        assert!(!s.to_masked_toml().contains("topsecret"));
        assert!(!format!("{s:?}").contains("topsecret"));
    }

    #[test]
    fn the_organisation_comes_from_the_file_or_the_environment_and_is_checked() {
        let dir = std::env::temp_dir().join(format!("dscsa-config-o-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "[organisation]\ngln = \"0312345000004\"\nname = \"Example Pharma\"\ncompany_prefixes = [\"0312345\"]\n",
        )
        .unwrap();
        let s = Settings::load_from(Some(&file), &[]).unwrap();
        let org = s.organisation.clone().unwrap();
        assert_eq!(
            (org.gln.as_str(), org.name.as_str(), org.development),
            ("0312345000004", "Example Pharma", false)
        );
        assert_eq!(org.company_prefixes, ["0312345"]);
        assert_eq!(s.responder_gln().unwrap().as_str(), "0312345000004");
        assert!(s.to_masked_toml().contains("gln = \"0312345000004\""));
        // The environment wins; verification.responder_gln overrides responderGLN only.
        let s = Settings::load_from(
            Some(&file),
            &env(&[
                ("DSCSA_ORGANISATION_COMPANY_PREFIXES", "0312345, 03123456"),
                ("DSCSA_VERIFICATION_RESPONDER_GLN", "0361414000018"),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.organisation.as_ref().unwrap().company_prefixes,
            ["0312345", "03123456"]
        );
        assert_eq!(s.responder_gln().unwrap().as_str(), "0361414000018");
        std::fs::remove_dir_all(dir).ok();

        for (pairs, key) in [
            (
                vec![
                    ("DSCSA_ORGANISATION_GLN", "0312345000005"),
                    ("DSCSA_ORGANISATION_NAME", "X"),
                ],
                "organisation.gln",
            ),
            (
                vec![("DSCSA_ORGANISATION_GLN", "0312345000004")],
                "organisation.name",
            ),
            (vec![("DSCSA_ORGANISATION_NAME", "X")], "organisation.gln"),
            (
                vec![
                    ("DSCSA_ORGANISATION_GLN", "0312345000004"),
                    ("DSCSA_ORGANISATION_NAME", "X"),
                    ("DSCSA_ORGANISATION_COMPANY_PREFIXES", "03123"),
                ],
                "organisation.company_prefixes",
            ),
            (
                vec![("DSCSA_VERIFICATION_REQUIRE_LINK_TYPE", "maybe")],
                "DSCSA_VERIFICATION_REQUIRE_LINK_TYPE",
            ),
        ] {
            let err = Settings::load_from(None, &env(&pairs))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn production_is_an_external_database_or_own_certificates() {
        let dev = Settings::load_from(None, &env(&[("DSCSA_CONFIG", "")])).unwrap();
        assert_eq!(dev.production_reason(), None);
        assert!(dev.verification.require_link_type);
        assert!(dev.organisation.is_none() && dev.responder_gln().is_none());
        let db = Settings::load_from(None, &env(&[("DATABASE_URL", "postgres://a@h/d")])).unwrap();
        assert_eq!(db.production_reason(), Some("database.url is set"));
        let tls = Settings::load_from(
            None,
            &env(&[
                ("DSCSA_TLS_CERT", "s.pem"),
                ("DSCSA_TLS_KEY", "s.key"),
                ("DSCSA_TLS_CLIENT_CA", "ca.pem"),
            ]),
        )
        .unwrap();
        assert_eq!(tls.production_reason(), Some("tls.cert is set"));
        let compat = Settings::load_from(
            None,
            &env(&[("DSCSA_VERIFICATION_REQUIRE_LINK_TYPE", "false")]),
        )
        .unwrap();
        assert!(!compat.verification.require_link_type);
    }

    #[test]
    fn the_development_identity_is_a_valid_demo_gln_kept_across_restarts() {
        let dir = std::env::temp_dir().join(format!("dscsa-config-dev-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = Organisation::development(&dir).unwrap();
        assert!(first.development);
        let gln = first.gln.as_str();
        assert!(gln.starts_with("952"), "{gln}");
        // Gln parsing checked the check digit; the company prefix is the GLN's.
        assert!(gln.starts_with(&first.company_prefixes[0]));
        assert_eq!(Organisation::development(&dir).unwrap(), first);
        std::fs::write(dir.join(DEV_ORGANISATION_FILE), "gln = 5\n").unwrap();
        let err = Organisation::development(&dir).unwrap_err().to_string();
        assert!(
            err.contains(DEV_ORGANISATION_FILE) && err.contains("delete the file"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
