//! Compliance use cases (issue 14, docs/COMPLIANCE.md): product tracing for regulators and
//! compliance officers ([`trace`]), its report formats ([`report`]: JSON, CSV, printable HTML),
//! and trace requests with their DSCSA clock ([`requests`]). Every action is written to the
//! append-only audit log in the transaction that does it.

pub mod report;
pub mod requests;
pub mod subject;
pub mod trace;

pub use report::Format;
pub use requests::{NewRequest, Reason, TraceRequest};
pub use subject::{Subject, TraceInput};
pub use trace::{trace, Trace};

/// Why a compliance action was not done.
#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    /// The request is malformed: which parameter, and why.
    #[error("{0}")]
    Invalid(String),
    /// Nothing stored matches the identifier.
    #[error("{0}")]
    NotFound(String),
    /// No trace request with this id.
    #[error("no trace request {0}")]
    NoRequest(i64),
    #[error("database: {0}")]
    Store(#[from] diesel::result::Error),
    #[error("rendering the report: {0}")]
    Render(String),
}
