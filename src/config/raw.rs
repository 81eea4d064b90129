//! The configuration as read from the TOML file and the `DSCSA_…` environment, before any
//! checks: every key optional, strings as given (numbers and booleans from the environment are
//! parsed here, with the variable's name in the error).

use std::path::Path;

use serde::Deserialize;

use super::ConfigError;

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
    pub(super) fn apply_env(
        &mut self,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
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
}

pub(super) fn boolean(key: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError::invalid(
            key,
            format!("`{v}` is not true or false"),
        )),
    }
}
