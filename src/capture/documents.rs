//! Captured documents as their senders, and the roles that read everything, see them: status,
//! counts, findings, and the data-quality exceptions among the findings.

use diesel::prelude::*;
use uuid::Uuid;

use crate::partners::Caller;
pub use crate::store::capture::DocumentView;
pub use crate::store::codes::DocumentStatus;

/// The document `id` if the caller may see it (it sent it, or its role reads everything).
/// Otherwise None, as for a document that does not exist: whether a document exists is itself
/// another partner's data.
pub fn visible(
    conn: &mut PgConnection,
    id: Uuid,
    caller: &Caller,
) -> QueryResult<Option<DocumentView>> {
    Ok(crate::store::capture::document(conn, id)?.filter(|d| caller.may_read(d.partner_id)))
}

/// The document's warnings of the data-quality rules (values stored as given,
/// `epcis::diagnostics::DATA_QUALITY_RULES`): the exceptions a compliance officer reviews.
pub fn data_quality(doc: &DocumentView) -> Vec<serde_json::Value> {
    doc.warnings
        .as_array()
        .into_iter()
        .flatten()
        .filter(|w| {
            w["rule"]
                .as_str()
                .is_some_and(crate::epcis::diagnostics::is_data_quality)
        })
        .cloned()
        .collect()
}
