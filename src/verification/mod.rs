//! Product-identifier verification (GS1 Lightweight Messaging, the DSCSA VRS): "is this
//! package genuine?", answered from the per-serial state.
//!
//! Decision (GS1 US LMS guideline R1.3 codes): an unknown GTIN+serial answers
//! `No_match_GTIN_Serial`; a known serial whose lot and/or expiry differ answers
//! `No_match_GTIN_Serial_Lot`, `_Expiry` or `_Lot_Expiry` (serial first, then lot, then expiry).
//! A serial that was decommissioned, destroyed or dispensed is not in saleable circulation any
//! more: it answers `verified: false` with `Not_for_re-distribution`, so that a returned pack
//! carrying such an identifier is not resold. A serial seen only in events before its
//! commissioning arrived (status unknown) was not issued by this manufacturer as far as we know:
//! `No_match_GTIN_Serial`. `additionalInfo` reports the most severe of `Illegitimate`,
//! `Recalled`, `Suspect` (including serials commissioned twice) and `Expired`.
//!
//! The use case is [`Verifier::verify`]: look the serial up, decide (`decide.rs`), or forward
//! a GTIN the lookup directory names to its responder (`requestor.rs`), and log every request
//! (`record.rs`, which also reads the log back). `request.rs` parses requests; `page.rs` is the public Digital Link page's check.

mod decide;
pub mod page;
mod record;
mod request;
pub mod requestor;

use std::time::Instant;

use diesel::prelude::*;

pub use decide::{decide, now_timestamp, respond, Response, Verdict};
pub use record::requests;
pub use request::{parse_request, parse_scan, Request, RequestError};
// Why serial facts could not be looked up: part of `VerifyError`.
pub use crate::store::verification::LookupError;

use crate::gs1::{Gln, Gtin};
use crate::partners::Caller;
use crate::store::verification::{self as q, FactsLookup, VerificationLog};
use crate::store::PgPool;

/// The verification service: serial facts looked up in batches, the lookup directory, the
/// client that forwards, and the verification log.
pub struct Verifier {
    facts: FactsLookup,
    log: VerificationLog,
    pool: PgPool,
    responder_gln: Option<Gln>,
    require_link_type: bool,
    forwarder: reqwest::Client,
}

/// How the service is set up.
pub struct VerifierSettings {
    /// The database the pool connects to: the look-up threads keep connections of their own
    /// to it (without it they borrow pooled ones; correct, but re-planned each time).
    pub database_url: Option<String>,
    pub lookup_threads: usize,
    /// `responderGLN` of the answers.
    pub responder_gln: Option<Gln>,
    /// `verification.require_link_type`: refuse LMS requests without `linkType`.
    pub require_link_type: bool,
    /// Forwards requests, with our own client certificate ([`requestor::client`]).
    pub forwarder: reqwest::Client,
}

/// A verification request answered: by this responder, or by the one it was forwarded to
/// (its answer passed on as it came).
#[derive(Debug)]
pub enum Verified {
    Answer(Response),
    Forwarded(serde_json::Value),
}

/// Why a request got no verification answer.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("GTIN {0} is neither served by this responder nor in its lookup directory")]
    NotServed(Gtin),
    #[error("the responder for GTIN {0} did not answer in time")]
    UpstreamTimeout(Gtin),
    #[error("the responder for GTIN {0} is down or answered with something that is not a verification response")]
    UpstreamUnavailable(Gtin),
    #[error("the responder for GTIN {gtin} answered {status}")]
    UpstreamRefused {
        gtin: Gtin,
        status: reqwest::StatusCode,
    },
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("no database connection: {0}")]
    Unavailable(#[from] diesel::r2d2::PoolError),
    #[error("database error: {0}")]
    Store(#[from] diesel::result::Error),
    #[error("blocking task failed: {0}")]
    Blocking(String),
}

/// Where a request came in, so that a forwarded one goes to the same place under the
/// responder's base: the path after `/verify`, and the query string.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    path: &'a str,
    query: &'a str,
}

impl<'a> Route<'a> {
    /// `path`: the request path (`/verify/…`); `query` without `?`.
    pub fn new(path: &'a str, query: &'a str) -> Route<'a> {
        Route {
            path: path.strip_prefix("/verify").unwrap_or(path),
            query,
        }
    }

    fn under(&self, base: &str) -> String {
        let mut url = format!("{}{}", base.trim_end_matches('/'), self.path);
        if !self.query.is_empty() {
            url.push('?');
            url.push_str(self.query);
        }
        url
    }
}

/// What the local data says about a request.
enum Outcome {
    Answer(Response),
    /// Not a product of ours, but the lookup directory names its responder.
    Forward {
        responder_base: String,
    },
    /// Neither ours nor in the lookup directory (404).
    NotServed,
}

impl Verifier {
    /// Starts the look-up threads and the log writer; the handle ends when the last `Verifier`
    /// (and so the log's sender) is dropped and the log has been written.
    pub fn start(
        pool: PgPool,
        settings: VerifierSettings,
    ) -> (Verifier, std::thread::JoinHandle<()>) {
        let (log, writer) = VerificationLog::start(pool.clone());
        let facts =
            FactsLookup::start(pool.clone(), settings.database_url, settings.lookup_threads);
        let verifier = Verifier {
            facts,
            log,
            pool,
            responder_gln: settings.responder_gln,
            require_link_type: settings.require_link_type,
            forwarder: settings.forwarder,
        };
        (verifier, writer)
    }

    /// Whether requests without `linkType` are refused ([`parse_request`]).
    pub fn require_link_type(&self) -> bool {
        self.require_link_type
    }

    pub fn responder_gln(&self) -> Option<&Gln> {
        self.responder_gln.as_ref()
    }

    /// Answers a verification request of `caller` (`parsed`: what its request parsed to), from
    /// the stored serial or through the responder the lookup directory names. Every request
    /// that parsed, and every one that did not, is logged; one that failed for want of the
    /// database is not (there is nothing to say about it).
    pub async fn verify(
        &self,
        caller: &Caller,
        parsed: Result<Request, RequestError>,
        route: Route<'_>,
    ) -> Result<Verified, VerifyError> {
        let started = Instant::now();
        let partner = Some(caller.partner_id);
        let request = match parsed {
            Ok(r) => r,
            Err(e) => {
                self.log
                    .record(record::record(started, partner, None, 400, None, None));
                return Err(e.into());
            }
        };
        let outcome = match self.facts.facts(request.epc_key()).await? {
            Some(facts) => {
                Outcome::Answer(respond(Some(&facts), &request, self.responder_gln.as_ref()))
            }
            // Not stored: is the GTIN ours, or someone else's to forward to? (The rare path.)
            None => {
                let (r, gln) = (request.clone(), self.responder_gln);
                self.on_connection(move |conn| unknown_serial(conn, &r, gln.as_ref()))
                    .await?
            }
        };
        let (status, verdict, forwarded_to, answer) = match outcome {
            Outcome::Answer(response) => {
                let verdict = Some(response.data.clone());
                (200, verdict, None, Ok(Verified::Answer(response)))
            }
            Outcome::NotServed => (404, None, None, Err(VerifyError::NotServed(request.gtin))),
            Outcome::Forward { responder_base } => {
                let url = route.under(&responder_base);
                let relayed =
                    requestor::relay(&self.forwarder, &url, &request.gtin, &responder_base).await;
                let answer = relayed.answer.map(Verified::Forwarded);
                (
                    relayed.status,
                    relayed.verdict,
                    Some(responder_base),
                    answer,
                )
            }
        };
        self.log.record(record::record(
            started,
            partner,
            Some(&request),
            status,
            verdict.as_ref(),
            forwarded_to,
        ));
        answer
    }

    /// `checkConnectivity`: does this responder (or one it forwards to) serve the GTIN?
    pub async fn serves(&self, gtin: Gtin) -> Result<bool, VerifyError> {
        self.on_connection(move |conn| {
            Ok(q::gtin_served(conn, gtin.as_str())?
                || q::responder_for(conn, gtin.as_str())?.is_some())
        })
        .await
    }

    /// Runs `f` on a pooled connection on a blocking thread (diesel stays off the async
    /// executor); a connection whose query failed is checked and dropped if the database has
    /// gone away.
    async fn on_connection<T, F>(&self, f: F) -> Result<T, VerifyError>
    where
        F: FnOnce(&mut PgConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn).map_err(|e| {
                crate::store::discard_if_dead(&mut conn);
                VerifyError::Store(e)
            })
        })
        .await
        .map_err(|e| VerifyError::Blocking(e.to_string()))?
    }
}

/// A serial that is not stored: a no-match answer when the GTIN is ours, else where to forward.
fn unknown_serial(
    conn: &mut PgConnection,
    req: &Request,
    responder_gln: Option<&Gln>,
) -> QueryResult<Outcome> {
    if q::gtin_served(conn, req.gtin.as_str())? {
        return Ok(Outcome::Answer(respond(None, req, responder_gln)));
    }
    Ok(match q::responder_for(conn, req.gtin.as_str())? {
        Some(responder_base) => Outcome::Forward { responder_base },
        None => Outcome::NotServed,
    })
}
