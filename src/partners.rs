//! Trading partners, regulators, compliance officers and admins: who may call the server, as
//! what, identified by the SHA-256 fingerprint of their client certificate.
//!
//! Used by the `partners` CLI, the admin API and the per-request caller check. Every change is
//! written to the audit log in the same transaction.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use openssl::x509::X509;
use serde::Serialize;

use crate::gs1::Gln;
use crate::store::partners::{self as q, CertificateRow, NewPartnerRow, PartnerRow};
use crate::store::{audit, StoreError};
use crate::tls::{fingerprint, fingerprint_hex, subject_line};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees and sends data about products it traded.
    TradingPartner,
    /// Reads everything (FDA, state officials).
    Regulator,
    /// Reads everything and sets recall/suspect flags.
    Compliance,
    /// Manages partners.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::TradingPartner => "trading_partner",
            Role::Regulator => "regulator",
            Role::Compliance => "compliance",
            Role::Admin => "admin",
        }
    }

    /// Roles that may read every partner's data.
    pub fn reads_everything(self) -> bool {
        matches!(self, Role::Regulator | Role::Compliance | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = PartnerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "trading_partner" | "trading-partner" => Ok(Role::TradingPartner),
            "regulator" => Ok(Role::Regulator),
            "compliance" => Ok(Role::Compliance),
            "admin" => Ok(Role::Admin),
            other => Err(PartnerError::Invalid(format!(
                "role `{other}` is not one of trading_partner, regulator, compliance, admin"
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AtpStatus {
    Unknown,
    Authorized,
    Suspended,
    Revoked,
}

impl AtpStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AtpStatus::Unknown => "unknown",
            AtpStatus::Authorized => "authorized",
            AtpStatus::Suspended => "suspended",
            AtpStatus::Revoked => "revoked",
        }
    }
}

impl FromStr for AtpStatus {
    type Err = PartnerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unknown" => Ok(AtpStatus::Unknown),
            "authorized" => Ok(AtpStatus::Authorized),
            "suspended" => Ok(AtpStatus::Suspended),
            "revoked" => Ok(AtpStatus::Revoked),
            other => Err(PartnerError::Invalid(format!(
                "ATP status `{other}` is not one of unknown, authorized, suspended, revoked"
            ))),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    #[error("{0}")]
    Invalid(String),
    #[error("a partner with GLN {0} is already registered")]
    DuplicateGln(String),
    #[error("certificate {0} is already registered")]
    DuplicateCertificate(String),
    #[error("no partner with GLN or id `{0}`")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for PartnerError {
    fn from(e: diesel::result::Error) -> Self {
        PartnerError::Store(StoreError::Query(e))
    }
}

/// A registered partner, as shown by `partners list` and the admin API.
#[derive(Debug, Clone, Serialize)]
pub struct Partner {
    pub id: i64,
    pub gln: Option<String>,
    pub name: String,
    pub role: Role,
    pub enabled: bool,
    pub atp_status: String,
    pub licence_number: Option<String>,
    pub licence_expires: Option<NaiveDate>,
    pub certificates: Vec<Certificate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Certificate {
    pub fingerprint_sha256: String,
    pub subject: String,
    pub not_after: DateTime<Utc>,
    pub revoked: bool,
}

impl Partner {
    fn from_rows(p: PartnerRow, certs: Vec<CertificateRow>) -> Partner {
        Partner {
            id: p.id,
            gln: p.gln,
            name: p.name,
            // The column's CHECK constraint admits only the four roles.
            role: p.role.parse().unwrap_or(Role::TradingPartner),
            enabled: p.enabled,
            atp_status: p.atp_status,
            licence_number: p.licence_number,
            licence_expires: p.licence_expires,
            certificates: certs
                .into_iter()
                .map(|c| Certificate {
                    fingerprint_sha256: fingerprint_hex(&c.fingerprint_sha256),
                    subject: c.subject,
                    not_after: c.not_after,
                    revoked: c.revoked_at.is_some(),
                })
                .collect(),
        }
    }
}

/// What `partners add`, `certs issue --register`, the development PKI of `serve` and
/// `POST /admin/partners` register: built here only, the optional parts set as given.
#[derive(Debug)]
pub struct NewPartner {
    gln: Option<Gln>,
    name: String,
    role: Role,
    atp_status: AtpStatus,
    licence_number: Option<String>,
    licence_expires: Option<NaiveDate>,
    certificate: Option<X509>,
}

impl NewPartner {
    /// A partner without GLN, licence or certificate, ATP status unknown.
    pub fn new(name: impl Into<String>, role: Role) -> NewPartner {
        NewPartner {
            gln: None,
            name: name.into(),
            role,
            atp_status: AtpStatus::Unknown,
            licence_number: None,
            licence_expires: None,
            certificate: None,
        }
    }

    pub fn gln(mut self, gln: Option<Gln>) -> NewPartner {
        self.gln = gln;
        self
    }

    pub fn atp_status(mut self, atp_status: AtpStatus) -> NewPartner {
        self.atp_status = atp_status;
        self
    }

    pub fn licence(mut self, number: Option<String>, expires: Option<NaiveDate>) -> NewPartner {
        self.licence_number = number;
        self.licence_expires = expires;
        self
    }

    /// The client certificate the partner authenticates with.
    pub fn certificate(mut self, certificate: Option<X509>) -> NewPartner {
        self.certificate = certificate;
        self
    }
}

fn certificate_row(partner_id: i64, cert: &X509) -> Result<CertificateRow, PartnerError> {
    let time = |t: &openssl::asn1::Asn1TimeRef| -> Result<DateTime<Utc>, PartnerError> {
        let epoch = openssl::asn1::Asn1Time::from_unix(0)
            .map_err(|e| PartnerError::Invalid(e.to_string()))?;
        let diff = epoch
            .diff(t)
            .map_err(|e| PartnerError::Invalid(e.to_string()))?;
        let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
        DateTime::from_timestamp(secs, 0)
            .ok_or_else(|| PartnerError::Invalid("certificate validity out of range".into()))
    };
    let serial = cert
        .serial_number()
        .to_bn()
        .and_then(|b| b.to_hex_str().map(|s| s.to_string()))
        .map_err(|e| PartnerError::Invalid(e.to_string()))?;
    let issuer = cert
        .issuer_name()
        .entries()
        .filter_map(|e| {
            Some(format!(
                "{}={}",
                e.object().nid().short_name().ok()?,
                e.data().to_string().ok()?
            ))
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(CertificateRow {
        fingerprint_sha256: fingerprint(cert).to_vec(),
        partner_id,
        subject: subject_line(cert),
        issuer,
        serial_hex: serial,
        not_before: time(cert.not_before())?,
        not_after: time(cert.not_after())?,
        revoked_at: None,
    })
}

fn unique_violation(e: &diesel::result::Error) -> Option<String> {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info,
        ) => Some(info.constraint_name().unwrap_or_default().to_string()),
        _ => None,
    }
}

/// Registers a partner (and its certificate, if given).
pub fn register(
    conn: &mut PgConnection,
    new: NewPartner,
    actor: &str,
) -> Result<Partner, PartnerError> {
    let name = new.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(PartnerError::Invalid(
            "name must be 1 to 200 characters".into(),
        ));
    }
    let gln = new.gln.as_ref().map(|g| g.as_str().to_string());
    conn.transaction(|conn| {
        let row = q::insert(
            conn,
            &NewPartnerRow {
                gln: gln.as_deref(),
                name,
                role: new.role.as_str(),
                atp_status: new.atp_status.as_str(),
                licence_number: new.licence_number.as_deref(),
                licence_expires: new.licence_expires,
            },
        )
        .map_err(|e| match unique_violation(&e) {
            Some(_) => PartnerError::DuplicateGln(gln.clone().unwrap_or_default()),
            None => e.into(),
        })?;
        let mut certs = Vec::new();
        if let Some(cert) = &new.certificate {
            let c = certificate_row(row.id, cert)?;
            q::insert_certificate(conn, &c).map_err(|e| match unique_violation(&e) {
                Some(_) => PartnerError::DuplicateCertificate(fingerprint_hex(&c.fingerprint_sha256)),
                None => e.into(),
            })?;
            certs.push(c);
        }
        audit::record(
            conn,
            actor,
            "partner.register",
            &format!("partner:{}", row.id),
            serde_json::json!({
                "gln": row.gln, "name": row.name, "role": row.role,
                "certificates": certs.iter().map(|c| fingerprint_hex(&c.fingerprint_sha256)).collect::<Vec<_>>(),
            }),
        )?;
        Ok(Partner::from_rows(row, certs))
    })
}

pub fn list(conn: &mut PgConnection) -> Result<Vec<Partner>, PartnerError> {
    Ok(q::list(conn)?
        .into_iter()
        .map(|(p, c)| Partner::from_rows(p, c))
        .collect())
}

/// The id of the partner a GLN or id names, if one is registered.
pub fn find_id(conn: &mut PgConnection, selector: &str) -> QueryResult<Option<i64>> {
    Ok(q::find(conn, selector)?.map(|p| p.id))
}

/// Enables or disables a partner (by GLN or id). Takes effect on its next request.
pub fn set_enabled(
    conn: &mut PgConnection,
    selector: &str,
    enabled: bool,
    actor: &str,
) -> Result<Partner, PartnerError> {
    conn.transaction(|conn| {
        let found =
            q::find(conn, selector)?.ok_or_else(|| PartnerError::NotFound(selector.into()))?;
        let row = q::set_enabled(conn, found.id, enabled)?;
        audit::record(
            conn,
            actor,
            if enabled {
                "partner.enable"
            } else {
                "partner.disable"
            },
            &format!("partner:{}", row.id),
            serde_json::json!({ "gln": row.gln }),
        )?;
        Ok(Partner::from_rows(row, Vec::new()))
    })
}

/// Who is calling, once the certificate has been matched to an enabled partner.
#[derive(Debug, Clone)]
pub struct Caller {
    pub partner_id: i64,
    pub gln: Option<String>,
    pub name: String,
    pub role: Role,
}

impl Caller {
    /// The actor name written to the audit log.
    pub fn actor(&self) -> String {
        format!("partner:{}", self.partner_id)
    }

    /// Refuses a caller whose role is not among `allowed`.
    pub fn require(&self, allowed: &[Role]) -> Result<(), Forbidden> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(Forbidden {
                role: self.role,
                allowed: allowed.to_vec(),
            })
        }
    }

    /// Whether the caller may read data that belongs to `owner` (the partner that sent it):
    /// its own, or everyone's for the roles that read everything.
    pub fn may_read(&self, owner: Option<i64>) -> bool {
        self.role.reads_everything() || owner == Some(self.partner_id)
    }
}

/// A caller's role may not do what it asked.
#[derive(Debug, thiserror::Error)]
#[error("the role {role} may not do this; it needs one of: {}", names(allowed))]
pub struct Forbidden {
    role: Role,
    allowed: Vec<Role>,
}

fn names(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the client certificate (SHA-256 {0}) is not registered to any trading partner")]
    UnknownCertificate(String),
    #[error("the client certificate (SHA-256 {0}) has been revoked")]
    RevokedCertificate(String),
    #[error("trading partner {0} is disabled")]
    Disabled(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Maps a verified client certificate to the enabled partner it is registered to.
pub fn authenticate(conn: &mut PgConnection, fingerprint: &[u8]) -> Result<Caller, AuthError> {
    let found = q::by_fingerprint(conn, fingerprint).map_err(StoreError::Query)?;
    let hex = || fingerprint_hex(fingerprint);
    match found {
        None => Err(AuthError::UnknownCertificate(hex())),
        Some((_, Some(_revoked))) => Err(AuthError::RevokedCertificate(hex())),
        Some((p, None)) if !p.enabled => Err(AuthError::Disabled(
            p.gln.unwrap_or_else(|| p.id.to_string()),
        )),
        Some((p, None)) => Ok(Caller {
            partner_id: p.id,
            gln: p.gln,
            name: p.name,
            role: p.role.parse().unwrap_or(Role::TradingPartner),
        }),
    }
}

/// Who a certificate belongs to, remembered between requests. Forgotten whenever partners or
/// certificates change: at once for changes made through this process, and within
/// milliseconds for changes made elsewhere (a PostgreSQL NOTIFY; see
/// `store::partners::listen_for_changes`). Until the listener is connected the cache is
/// bypassed, so a disabled partner is never served from a stale entry.
#[derive(Default)]
pub struct AuthCache {
    entries: std::sync::RwLock<std::collections::HashMap<[u8; 32], CachedAuth>>,
    generation: std::sync::atomic::AtomicU64,
    listening: std::sync::atomic::AtomicBool,
}

#[derive(Clone)]
enum CachedAuth {
    Caller(Caller),
    Refused(RefusalKind),
}

#[derive(Clone, Copy)]
enum RefusalKind {
    Unknown,
    Revoked,
    Disabled,
}

impl AuthCache {
    /// Forget everything (a partner or certificate changed).
    pub fn invalidate(&self) {
        use std::sync::atomic::Ordering;
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.write().expect("auth cache lock").clear();
    }

    /// Follows partner and certificate changes made anywhere (PostgreSQL NOTIFY) until `stop`
    /// is set, forgetting what it cached on each; while disconnected the cache is bypassed. Run
    /// on a thread of its own.
    pub fn follow_changes(&self, url: &str, stop: &std::sync::atomic::AtomicBool) {
        q::listen_for_changes(url, stop, &|connected| self.set_listening(connected));
        self.set_listening(false);
    }

    /// Called by the listener: whether change notifications are being received.
    pub fn set_listening(&self, on: bool) {
        self.invalidate();
        self.listening
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// The cached answer for a certificate, without touching the database; None when it must
    /// be looked up (not cached, or change notifications are not being received).
    pub fn cached(&self, fingerprint: &[u8; 32]) -> Option<Result<Caller, AuthError>> {
        use std::sync::atomic::Ordering;
        if !self.listening.load(Ordering::SeqCst) {
            return None;
        }
        let entries = self.entries.read().expect("auth cache lock");
        let hex = || fingerprint_hex(fingerprint);
        Some(match entries.get(fingerprint)? {
            CachedAuth::Caller(c) => Ok(c.clone()),
            CachedAuth::Refused(RefusalKind::Unknown) => Err(AuthError::UnknownCertificate(hex())),
            CachedAuth::Refused(RefusalKind::Revoked) => Err(AuthError::RevokedCertificate(hex())),
            CachedAuth::Refused(RefusalKind::Disabled) => Err(AuthError::Disabled(hex())),
        })
    }

    pub fn authenticate(
        &self,
        conn: &mut PgConnection,
        fingerprint: &[u8; 32],
    ) -> Result<Caller, AuthError> {
        use std::sync::atomic::Ordering;
        if !self.listening.load(Ordering::SeqCst) {
            return authenticate(conn, fingerprint);
        }
        if let Some(hit) = self.cached(fingerprint) {
            return hit;
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let result = authenticate(conn, fingerprint);
        let entry = match &result {
            Ok(c) => Some(CachedAuth::Caller(c.clone())),
            Err(AuthError::UnknownCertificate(_)) => {
                Some(CachedAuth::Refused(RefusalKind::Unknown))
            }
            Err(AuthError::RevokedCertificate(_)) => {
                Some(CachedAuth::Refused(RefusalKind::Revoked))
            }
            Err(AuthError::Disabled(_)) => Some(CachedAuth::Refused(RefusalKind::Disabled)),
            Err(AuthError::Store(_)) => None,
        };
        if let Some(entry) = entry {
            let mut map = self.entries.write().expect("auth cache lock");
            // A change that happened while we were reading makes what we read stale.
            if self.generation.load(Ordering::SeqCst) == generation {
                map.insert(*fingerprint, entry);
            }
        }
        result
    }
}
