//! Error policy for the HTTP API.
//!
//! Every error a client sees is an RFC 7807 `application/problem+json` body with a stable,
//! machine-readable `code` (kebab-case, never renamed once published; see docs/ERRORS.md), a
//! `type` URI derived from it, a short `title`, a `detail` that says what was wrong and how to
//! fix it, and, where one request has several findings, an `errors` list. Internal details
//! (SQL, file paths, connection strings) never reach the body: they go to the log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

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
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            type_uri: format!("urn:dscsa-exchange:problem:{code}"),
            title,
            status: status.as_u16(),
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn with_errors(mut self, errors: Vec<serde_json::Value>) -> Self {
        self.errors = errors;
        self
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

/// Unknown paths answer in the same shape as every other error.
pub async fn no_route(req: actix_web::HttpRequest) -> HttpResponse {
    Problem::not_found(format!("no resource at {} {}", req.method(), req.path())).error_response()
}

impl Problem {
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "Bad request", detail)
    }
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

impl From<crate::store::verification::LookupError> for Problem {
    fn from(e: crate::store::verification::LookupError) -> Self {
        use crate::store::verification::LookupError;
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

impl From<diesel::r2d2::PoolError> for Problem {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        log::warn!("no database connection: {e}");
        Problem::database_unavailable()
    }
}
