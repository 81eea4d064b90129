//! Who is calling: the certificate proved in the TLS handshake (read once per connection), then
//! the registered, enabled partner it belongs to (looked up per request, from the cache when it
//! can answer, so that disabling a partner takes effect on its next request).
//!
//! Handlers take a [`Caller`] argument and get the partner from it with a role check
//! (`caller.require(&[Role::Admin])?`) or without one (`caller.partner()?`, for reads filtered
//! with `partners::Caller::may_read`). The partner is looked up before the handler runs, but a
//! refusal is answered only when the handler asks for the partner: a request that is malformed
//! as well is told so first, as it was when each handler authenticated on its own.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::{ready, Either, LocalBoxFuture, Ready};

use super::problem::{with_conn, Problem};
use super::AppState;
use crate::partners::{self, Role};
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

/// The caller of a partner-listener request: extracting it fails only without a client
/// certificate (401); whether the certificate belongs to an enabled partner, and whether its
/// role may do what it asks, is told by [`Caller::partner`] and [`Caller::require`].
pub struct Caller {
    authenticated: Result<partners::Caller, Problem>,
}

impl Caller {
    /// The authenticated partner, whatever its role.
    pub fn partner(self) -> Result<partners::Caller, Problem> {
        self.authenticated
    }

    /// The authenticated partner, if its role is among `allowed`.
    pub fn require(self, allowed: &[Role]) -> Result<partners::Caller, Problem> {
        let partner = self.authenticated?;
        partner.require(allowed)?;
        Ok(partner)
    }
}

impl FromRequest for Caller {
    type Error = Problem;
    type Future =
        Either<Ready<Result<Caller, Problem>>, LocalBoxFuture<'static, Result<Caller, Problem>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(fingerprint) = req.conn_data::<PeerCertificate>().map(|p| p.fingerprint) else {
            return Either::Left(ready(Err(Problem::certificate_required())));
        };
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            log::error!("no application state for {}", req.path());
            return Either::Left(ready(Err(Problem::internal())));
        };
        // From the cache when it can answer: no database, no thread hop.
        if let Some(hit) = state.auth.cached(&fingerprint) {
            let authenticated = hit.map_err(Problem::from);
            return Either::Left(ready(Ok(Caller { authenticated })));
        }
        let (pool, auth) = (state.pool.clone(), state.auth.clone());
        Either::Right(Box::pin(async move {
            let authenticated =
                with_conn(pool, move |conn| Ok(auth.authenticate(conn, &fingerprint)?)).await;
            Ok(Caller { authenticated })
        }))
    }
}
