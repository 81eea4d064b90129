//! Who is calling: the certificate proved in the TLS handshake (read once per connection), then
//! the registered, enabled partner it belongs to (looked up per request, so that disabling a
//! partner takes effect on its next request).

use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use diesel::PgConnection;

use super::problem::{with_conn, Problem};
use super::AppState;
use crate::partners::{AuthCache, AuthError, Caller, Role};
use crate::tls::PeerCertificate;

/// Called for every new connection on the partner listener.
pub fn on_connect(conn: &dyn std::any::Any, ext: &mut actix_web::dev::Extensions) {
    use actix_tls::accept::openssl::TlsStream;
    if let Some(tls) = conn.downcast_ref::<TlsStream<actix_web::rt::net::TcpStream>>() {
        if let Some(cert) = tls.ssl().peer_certificate() {
            ext.insert(PeerCertificate::from_x509(&cert));
        }
    }
}

/// The verified client certificate of this request's connection.
pub fn peer(req: &HttpRequest) -> Result<PeerCertificate, Problem> {
    req.conn_data::<PeerCertificate>()
        .cloned()
        .ok_or_else(certificate_required)
}

fn certificate_required() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "client-certificate-required",
        "Client certificate required",
        "This endpoint is served only over mutual TLS with a registered client certificate.",
    )
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        let (code, title) = match &e {
            AuthError::UnknownCertificate(_) => {
                ("unknown-client-certificate", "Unknown client certificate")
            }
            AuthError::RevokedCertificate(_) => {
                ("client-certificate-revoked", "Client certificate revoked")
            }
            AuthError::Disabled(_) => ("partner-disabled", "Trading partner disabled"),
            AuthError::Store(inner) => {
                log::error!("authentication failed: {inner}");
                return Problem::database_unavailable();
            }
        };
        let hint = match &e {
            AuthError::UnknownCertificate(_) => {
                " Ask the operator to register it (`dscsa-exchange partners add … --cert FILE`)."
            }
            AuthError::Disabled(_) => " Ask the operator to enable the partner.",
            _ => "",
        };
        Problem::new(StatusCode::FORBIDDEN, code, title, format!("{e}.{hint}"))
    }
}

/// Authenticates the caller of a request: from the cache when it can answer (no database, no
/// thread hop), else on a pooled connection off the executor.
pub async fn authenticated(state: &AppState, req: &HttpRequest) -> Result<Caller, Problem> {
    let fingerprint = req
        .conn_data::<PeerCertificate>()
        .map(|p| p.fingerprint)
        .ok_or_else(certificate_required)?;
    if let Some(hit) = state.auth.cached(&fingerprint) {
        return Ok(hit?);
    }
    let auth = state.auth.clone();
    with_conn(state.pool.clone(), move |conn| {
        Ok(auth.authenticate(conn, &fingerprint)?)
    })
    .await
}

/// Authenticates the caller on an open connection (inside a blocking closure).
pub fn authenticate(
    auth: &AuthCache,
    conn: &mut PgConnection,
    peer: &PeerCertificate,
) -> Result<Caller, Problem> {
    Ok(auth.authenticate(conn, &peer.fingerprint)?)
}

/// Refuses callers whose role is not among `allowed`.
pub fn require(caller: &Caller, allowed: &[Role]) -> Result<(), Problem> {
    if allowed.contains(&caller.role) {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not permitted",
            format!(
                "the role {} may not do this; it needs one of: {}",
                caller.role,
                allowed
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}
