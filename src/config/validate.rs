//! The second stage: [`RawSettings::validate`] checks every raw value and fills in the defaults,
//! naming the key of a bad value, and returns [`Settings`].

use std::net::SocketAddr;
use std::path::PathBuf;

use super::organisation::validate_organisation;
use super::raw::{RawCapture, RawSettings, RawTls, RawVerification};
use super::{
    mask_url, ConfigError, DatabaseSettings, HttpSettings, ResolverSettings, Secret,
    SerialKeySource, SerialSettings, Settings, TlsSettings, VerificationSettings,
};

impl RawSettings {
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

pub(super) fn non_empty(v: Option<String>) -> Option<String> {
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
