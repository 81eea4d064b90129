//! Error policy for the HTTP API: every error a client can see, and the one place each error of
//! the layers below becomes one.
//!
//! Every error a client sees is an RFC 7807 `application/problem+json` body with a stable,
//! machine-readable `code` (kebab-case, never renamed once published; see docs/ERRORS.md, held
//! to [`CODES`] by a test), a `type` URI derived from it, a short `title`, a `detail` that says
//! what was wrong and how to fix it, and, where one request has several findings, an `errors`
//! list. Internal details (SQL, file paths, connection strings) never reach the body: they go to
//! the log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::json;

use crate::capture::{CaptureError, CaptureReport, Outcome};
use crate::compliance::ComplianceError;
use crate::flags::{FlagError, TargetError};
use crate::partners::{AuthError, Forbidden, PartnerError};
use crate::serials::label::LabelError;
use crate::serials::SerialError;
use crate::shipments::ShipmentError;
use crate::verification::{LookupError, RequestError, VerifyError};

/// Every `code` a client can be answered with, in the order of docs/ERRORS.md.
pub const CODES: [&str; 47] = [
    "not-found",
    "database-unavailable",
    "internal-error",
    "client-certificate-required",
    "unknown-client-certificate",
    "client-certificate-revoked",
    "partner-disabled",
    "forbidden",
    "invalid-verification-request",
    "invalid-link-type",
    "gtin-not-served",
    "upstream-unavailable",
    "upstream-refused",
    "upstream-timeout",
    "invalid-request",
    "invalid-partner",
    "partner-exists",
    "invalid-flag",
    "unsupported-media-type",
    "invalid-capture-request",
    "document-rejected",
    "duplicate-document",
    "capture-conflict",
    "spool-unavailable",
    "capture-limit-exceeded",
    "invalid-serial-request",
    "invalid-serial-format",
    "serial-pool-capacity",
    "serial-pool-exists",
    "serial-pool-not-found",
    "serial-request-too-large",
    "serial-quota-exceeded",
    "serial-pool-exhausted",
    "serial-key-mismatch",
    "invalid-label",
    "invalid-digital-link",
    "link-type-not-available",
    "rate-limited",
    "query-parameter-invalid",
    "query-too-large",
    "no-such-event",
    "not-acceptable",
    "invalid-shipment",
    "shipment-refused",
    "organisation-not-configured",
    "invalid-trace-request",
    "identifier-not-found",
];

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: &'static str,
    pub status: u16,
    pub code: &'static str,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<serde_json::Value>,
}

impl Problem {
    /// Private: every problem is made here, so every code is one of [`CODES`].
    fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        debug_assert!(CODES.contains(&code), "`{code}` is not in CODES");
        Problem {
            type_uri: format!("urn:dscsa-exchange:problem:{code}"),
            title,
            status: status.as_u16(),
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// An error of the EPCIS query interface: `type` is the binding's `epcisException:<name>`.
    fn epcis(
        status: StatusCode,
        exception: &'static str,
        code: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        let mut p = Self::new(status, code, exception, detail);
        p.type_uri = format!("epcisException:{exception}");
        p
    }

    /// 404 for an event that does not exist or that the caller may not see (the same answer).
    pub fn no_such_event(id: &str) -> Self {
        Self::epcis(
            StatusCode::NOT_FOUND,
            "NoSuchResourceException",
            "no-such-event",
            format!("no event `{id}` that you may see"),
        )
    }

    /// 406: the `Accept` or `GS1-EPCIS-Version` header asks for what this server cannot write.
    pub fn not_acceptable(detail: impl Into<String>) -> Self {
        Self::epcis(
            StatusCode::NOT_ACCEPTABLE,
            "NotAcceptableException",
            "not-acceptable",
            detail,
        )
    }

    /// 400 for a malformed query parameter header value (`GS1-EPC-Format`, …).
    pub fn query_parameter(detail: impl Into<String>) -> Self {
        Self::epcis(
            StatusCode::BAD_REQUEST,
            "QueryParameterException",
            "query-parameter-invalid",
            detail,
        )
    }

    pub fn with_errors(mut self, errors: Vec<serde_json::Value>) -> Self {
        self.errors = errors;
        self
    }

    /// 400 for a request the handler could not parse; `code` is the area's (`invalid-…`).
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Bad request", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn database_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database-unavailable",
            "Database unavailable",
            "The database does not answer; the server will retry on the next request.",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Internal error",
            "The server failed to handle the request; the cause is in the server log.",
        )
    }

    /// A partner route reached without a client certificate.
    pub fn certificate_required() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "client-certificate-required",
            "Client certificate required",
            "This endpoint is served only over mutual TLS with a registered client certificate.",
        )
    }

    pub fn gtin_not_served(gtin: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "gtin-not-served",
            "GTIN not served",
            format!("GTIN {gtin} is neither served by this responder nor in its lookup directory"),
        )
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            detail,
        )
    }

    pub fn capture_limit_exceeded(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "capture-limit-exceeded",
            "Capture limit exceeded",
            format!("the document is larger than the limit of {limit} bytes; split it"),
        )
    }

    /// A capture that ran but stored nothing new: the same document again (409), or one
    /// refused with its findings (400). None for one that was accepted, wholly or in part.
    pub fn capture_refused(report: &CaptureReport) -> Option<Self> {
        match report.outcome {
            Outcome::Accepted | Outcome::PartiallyAccepted => None,
            Outcome::Duplicate => Some(Self::new(
                StatusCode::CONFLICT,
                "duplicate-document",
                "Document already captured",
                format!(
                    "the same document was accepted before as {}; nothing was stored again",
                    report.document_id
                ),
            )),
            Outcome::Rejected => {
                let errors = report
                    .errors
                    .iter()
                    .map(|f| serde_json::to_value(f).unwrap_or(json!(null)))
                    .collect();
                Some(
                    Self::bad_request(
                        "document-rejected",
                        format!(
                            "document {} was rejected with {} error(s); nothing of it was stored (the document itself is archived)",
                            report.document_id,
                            report.errors.len()
                        ),
                    )
                    .with_errors(errors),
                )
            }
        }
    }

    pub fn link_type_not_available(link_type: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "link-type-not-available",
            "Link type not available",
            format!("linkType `{link_type}` is not served here; available: gs1:pip (this page), all (the linkset)"),
        )
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(wait_secs: u64) -> HttpResponse {
        let mut res = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("too many look-ups from this address; try again in {wait_secs} s"),
        )
        .error_response();
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&wait_secs.to_string()) {
            res.headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, v);
        }
        res
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("application/problem+json")
            .json(self)
    }
}

impl From<crate::query::QueryError> for Problem {
    fn from(e: crate::query::QueryError) -> Self {
        use crate::query::QueryError;
        match e {
            QueryError::Parameter { .. } | QueryError::Token(_) => {
                Problem::query_parameter(e.to_string())
            }
            QueryError::TooLarge { .. } => Problem::epcis(
                StatusCode::PAYLOAD_TOO_LARGE,
                "QueryTooLargeException",
                "query-too-large",
                e.to_string(),
            ),
            QueryError::Database(d) => {
                log::error!("query: {d}");
                Problem::database_unavailable()
            }
            QueryError::Write(w) => {
                log::error!("query: writing the answer: {w}");
                Problem::internal()
            }
        }
    }
}

/// Unknown paths answer in the same shape as every other error.
pub async fn no_route(req: actix_web::HttpRequest) -> HttpResponse {
    Problem::not_found(format!("no resource at {} {}", req.method(), req.path())).error_response()
}

/// Runs blocking database work off the executor; pool and join failures become problems.
pub async fn blocking<T, F>(f: F) -> Result<T, Problem>
where
    F: FnOnce() -> Result<T, Problem> + Send + 'static,
    T: Send + 'static,
{
    actix_web::web::block(f).await.map_err(|e| {
        log::error!("blocking task failed: {e}");
        Problem::internal()
    })?
}

/// Runs `f` on a pooled connection off the executor. When it fails with a server-side problem,
/// the connection is checked and discarded if the database has gone away.
pub async fn with_conn<T, F>(pool: crate::store::PgPool, f: F) -> Result<T, Problem>
where
    F: FnOnce(&mut diesel::PgConnection) -> Result<T, Problem> + Send + 'static,
    T: Send + 'static,
{
    blocking(move || {
        let mut conn = pool.get()?;
        let result = f(&mut conn);
        if matches!(&result, Err(p) if p.status >= 500) {
            crate::store::discard_if_dead(&mut conn);
        }
        result
    })
    .await
}

impl From<diesel::result::Error> for Problem {
    fn from(e: diesel::result::Error) -> Self {
        log::error!("database error: {e}");
        Problem::internal()
    }
}

impl From<diesel::r2d2::PoolError> for Problem {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        log::warn!("no database connection: {e}");
        Problem::database_unavailable()
    }
}

impl From<LookupError> for Problem {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::Unavailable(m) => {
                log::warn!("no database connection: {m}");
                Problem::database_unavailable()
            }
            LookupError::Query(m) => {
                log::error!("database error: {m}");
                Problem::internal()
            }
        }
    }
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

impl From<Forbidden> for Problem {
    fn from(e: Forbidden) -> Self {
        Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not permitted",
            e.to_string(),
        )
    }
}

/// A JSON body that fails validation: `errors` lists each field and the rule it broke.
impl From<validator::ValidationErrors> for Problem {
    fn from(errors: validator::ValidationErrors) -> Self {
        let list: Vec<serde_json::Value> = errors
            .field_errors()
            .iter()
            .flat_map(|(field, errs)| {
                errs.iter()
                    .map(move |e| json!({ "field": field, "rule": e.code }))
            })
            .collect();
        Problem::bad_request("invalid-request", format!("invalid fields: {errors}"))
            .with_errors(list)
    }
}

impl From<PartnerError> for Problem {
    fn from(e: PartnerError) -> Self {
        match e {
            PartnerError::Invalid(m) => Problem::bad_request("invalid-partner", m),
            PartnerError::DuplicateGln(_) | PartnerError::DuplicateCertificate(_) => Problem::new(
                StatusCode::CONFLICT,
                "partner-exists",
                "Already registered",
                e.to_string(),
            ),
            PartnerError::NotFound(_) => Problem::not_found(e.to_string()),
            PartnerError::Store(inner) => {
                log::error!("partner store: {inner}");
                Problem::internal()
            }
        }
    }
}

impl From<FlagError> for Problem {
    fn from(e: FlagError) -> Self {
        match e {
            FlagError::Invalid(m) => Problem::bad_request("invalid-flag", m),
            FlagError::UnknownSerial(_) => Problem::not_found(e.to_string()),
            FlagError::Store(inner) => inner.into(),
        }
    }
}

impl From<ComplianceError> for Problem {
    fn from(e: ComplianceError) -> Self {
        match e {
            ComplianceError::Invalid(m) => Problem::bad_request("invalid-trace-request", m),
            ComplianceError::NotFound(m) => Problem::new(
                StatusCode::NOT_FOUND,
                "identifier-not-found",
                "Identifier not known here",
                m,
            ),
            ComplianceError::NoRequest(_) => Problem::not_found(e.to_string()),
            ComplianceError::Store(inner) => inner.into(),
            ComplianceError::Render(m) => {
                log::error!("compliance report: {m}");
                Problem::internal()
            }
        }
    }
}

impl From<TargetError> for Problem {
    fn from(e: TargetError) -> Self {
        Problem::bad_request("invalid-flag", e.error().to_string())
    }
}

impl From<SerialError> for Problem {
    fn from(e: SerialError) -> Self {
        let detail = e.to_string();
        match e {
            SerialError::Invalid(_) | SerialError::UnknownPartner(_) => {
                Problem::bad_request("invalid-serial-request", detail)
            }
            SerialError::Format(_) => Problem::bad_request("invalid-serial-format", detail),
            SerialError::Capacity(_) => Problem::bad_request("serial-pool-capacity", detail),
            SerialError::PoolExists(_) => Problem::new(
                StatusCode::CONFLICT,
                "serial-pool-exists",
                "Serial pool exists",
                detail,
            ),
            SerialError::NoPool(_) => Problem::new(
                StatusCode::NOT_FOUND,
                "serial-pool-not-found",
                "No serial pool",
                format!("{detail} that you may allocate from"),
            ),
            SerialError::NoAllocation(_) => Problem::not_found(detail),
            SerialError::TooMany(_) => Problem::bad_request("serial-request-too-large", detail),
            SerialError::Quota(_) => Problem::new(
                StatusCode::FORBIDDEN,
                "serial-quota-exceeded",
                "Serial quota exceeded",
                detail,
            ),
            SerialError::Exhausted(_) => Problem::new(
                StatusCode::CONFLICT,
                "serial-pool-exhausted",
                "Serial pool exhausted",
                detail,
            ),
            SerialError::KeyMismatch { .. } => {
                log::error!("{detail}");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "serial-key-mismatch",
                    "Serial key mismatch",
                    "This server's serial key is not the key the pool was created with; the operator must configure it (see the server log).",
                )
            }
            SerialError::LabelNotPermitted => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "Not permitted", detail)
            }
            SerialError::Store(inner) => {
                log::error!("serials: {inner}");
                Problem::internal()
            }
        }
    }
}

impl From<LabelError> for Problem {
    fn from(e: LabelError) -> Self {
        Problem::bad_request("invalid-label", e.to_string())
    }
}

/// What a client is told when a capture fails for a reason other than the document.
impl From<CaptureError> for Problem {
    fn from(e: CaptureError) -> Self {
        match e {
            CaptureError::Concurrent(_) => Problem::new(
                StatusCode::CONFLICT,
                "capture-conflict",
                "Serials changed by another capture",
                e.to_string(),
            ),
            CaptureError::Spool(_) => {
                log::error!("capture spool: {e}");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "spool-unavailable",
                    "Capture temporarily unavailable",
                    "the server could not write its temporary files (spool folder full or not \
                     writable); nothing was stored, send the document again later",
                )
            }
            CaptureError::Store(_) => {
                log::error!("capture failed: {e}");
                Problem::internal()
            }
        }
    }
}

impl From<ShipmentError> for Problem {
    fn from(e: ShipmentError) -> Self {
        match e {
            ShipmentError::Invalid(i) => Problem::bad_request("invalid-shipment", i.to_string()),
            ShipmentError::NoOrganisation => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "organisation-not-configured",
                "Organisation not configured",
                e.to_string(),
            ),
            ShipmentError::Refused { ref refusals, more } => {
                let errors = refusals
                    .iter()
                    .map(|r| serde_json::to_value(r).unwrap_or(json!(null)))
                    .collect();
                let mut detail = e.to_string();
                if more > 0 {
                    detail.push_str(&format!("; {more} refusal(s) beyond those listed"));
                }
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "shipment-refused",
                    "Shipment refused",
                    detail,
                )
                .with_errors(errors)
            }
            ShipmentError::CaptureRefused(ref report) => {
                let errors = report
                    .errors
                    .iter()
                    .map(|f| serde_json::to_value(f).unwrap_or(json!(null)))
                    .collect();
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "shipment-refused",
                    "Shipment refused",
                    e.to_string(),
                )
                .with_errors(errors)
            }
            ShipmentError::Capture(c) => c.into(),
            ShipmentError::Store(d) => d.into(),
            ShipmentError::Write(_) => {
                log::error!("shipment: {e}");
                Problem::internal()
            }
        }
    }
}

/// What a capture job's status tells when the job failed other than by its document: the
/// cause is logged when the job ends, never shown.
impl From<&super::jobs::JobError> for Problem {
    fn from(_: &super::jobs::JobError) -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Internal error",
            "the capture failed; the cause is in the server log",
        )
    }
}

impl From<RequestError> for Problem {
    fn from(e: RequestError) -> Self {
        if matches!(e, RequestError::LinkType(_) | RequestError::NoLinkType) {
            return Problem::bad_request(
                "invalid-link-type",
                format!(
                    "{e}. Add linkType=verificationService to the query \
                     (…/verify/gtin/{{gtin}}/lot/{{lot}}/ser/{{serial}}?exp=YYMMDD&linkType=verificationService)"
                ),
            );
        }
        Problem::bad_request(
            "invalid-verification-request",
            format!(
                "{e}. Expected …/verify/gtin/{{gtin}}/lot/{{lot}}/ser/{{serial}}?exp=YYMMDD&linkType=verificationService \
                 or …/verify/01/{{gtin}}/10/{{lot}}/21/{{serial}}?17=YYMMDD"
            ),
        )
    }
}

impl From<VerifyError> for Problem {
    fn from(e: VerifyError) -> Self {
        let detail = e.to_string();
        match e {
            VerifyError::Request(e) => e.into(),
            VerifyError::NotServed(gtin) => Problem::gtin_not_served(gtin.as_str()),
            VerifyError::UpstreamTimeout(_) => Problem::new(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream-timeout",
                "Upstream responder timed out",
                detail,
            ),
            VerifyError::UpstreamUnavailable(_) => Problem::new(
                StatusCode::BAD_GATEWAY,
                "upstream-unavailable",
                "Upstream responder unavailable",
                detail,
            ),
            // A 4xx is the upstream's verdict on the request: its status is passed on.
            VerifyError::UpstreamRefused { status, .. } => Problem::new(
                StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
                "upstream-refused",
                "Upstream responder refused the request",
                detail,
            ),
            VerifyError::Lookup(e) => e.into(),
            VerifyError::Unavailable(e) => e.into(),
            VerifyError::Store(e) => e.into(),
            VerifyError::Blocking(m) => {
                log::error!("blocking task failed: {m}");
                Problem::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_in_docs_errors_md_and_every_code_there_is_one() {
        let doc = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ERRORS.md"),
        )
        .unwrap();
        let listed: Vec<&str> = doc
            .lines()
            .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
            .collect();
        assert_eq!(listed, CODES, "docs/ERRORS.md and CODES differ");
    }

    #[test]
    fn capture_failures_that_are_not_the_documents_fault_get_their_own_codes() {
        let p = Problem::from(CaptureError::Concurrent(3));
        assert_eq!((p.status, p.code), (409, "capture-conflict"));
        assert!(p.detail.contains("send the document again"), "{}", p.detail);
        let p = Problem::from(CaptureError::Spool(std::io::Error::other("full")));
        assert_eq!((p.status, p.code), (503, "spool-unavailable"));
        let p = Problem::from(CaptureError::Store(diesel::result::Error::NotFound));
        assert_eq!((p.status, p.code), (500, "internal-error"));
    }

    #[test]
    fn a_failed_capture_job_tells_no_internals() {
        let e = super::super::jobs::JobError::Spool(std::io::Error::other("/var/spool/x: gone"));
        let p = Problem::from(&e);
        assert_eq!((p.status, p.code), (500, "internal-error"));
        assert!(!p.detail.contains("/var/spool"), "{}", p.detail);
    }
}
