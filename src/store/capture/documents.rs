//! Document rows: created when reception starts, finished with the outcome, the archived
//! bytes in chunks, the duplicate-document look-up, and the view a sender is shown.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::store::codes::DocumentStatus;
use crate::store::schema::{document_chunks, documents};

#[derive(Debug, Insertable)]
#[diesel(table_name = documents)]
pub struct NewDocument<'a> {
    pub id: Uuid,
    pub direction: &'a str,
    pub format: &'a str,
    pub status: DocumentStatus,
    pub error_behaviour: &'a str,
    pub sha256: Vec<u8>,
    pub byte_size: i64,
    pub partner_id: Option<i64>,
}

pub fn insert_document(conn: &mut PgConnection, doc: &NewDocument<'_>) -> QueryResult<()> {
    diesel::insert_into(documents::table)
        .values(doc)
        .execute(conn)
        .map(|_| ())
}

/// The final state of a document.
#[allow(clippy::too_many_arguments)]
pub fn finish_document(
    conn: &mut PgConnection,
    id: Uuid,
    status: DocumentStatus,
    format: &str,
    sha256: &[u8],
    byte_size: i64,
    header: &DocumentHeader,
    event_count: i32,
    epc_count: i64,
    errors: serde_json::Value,
    warnings: serde_json::Value,
) -> QueryResult<()> {
    diesel::update(documents::table.find(id))
        .set((
            documents::status.eq(status),
            documents::format.eq(format),
            documents::sha256.eq(sha256),
            documents::byte_size.eq(byte_size),
            documents::sender.eq(&header.sender),
            documents::receiver.eq(&header.receiver),
            documents::instance_identifier.eq(&header.instance_identifier),
            documents::creation_date.eq(header.creation_date),
            documents::transaction_statement.eq(&header.transaction_statement),
            documents::event_count.eq(event_count),
            documents::epc_count.eq(epc_count),
            documents::errors.eq(errors),
            documents::warnings.eq(warnings),
            documents::finished_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Default, Clone)]
pub struct DocumentHeader {
    pub sender: Option<String>,
    pub receiver: Option<String>,
    pub instance_identifier: Option<String>,
    pub creation_date: Option<DateTime<Utc>>,
    /// The DSCSA transaction statement of the header, when it had one:
    /// `{"affirmed": bool|null, "legalNotice": text|null}` (migration 14).
    pub transaction_statement: Option<serde_json::Value>,
}

/// The id of an accepted received document with these bytes, if any.
pub fn accepted_with_hash(conn: &mut PgConnection, sha256: &[u8]) -> QueryResult<Option<Uuid>> {
    documents::table
        .filter(documents::sha256.eq(sha256))
        .filter(documents::direction.eq("received"))
        .filter(
            documents::status.eq_any([DocumentStatus::Accepted, DocumentStatus::PartiallyAccepted]),
        )
        .select(documents::id)
        .first(conn)
        .optional()
}

/// Archives the raw bytes in chunks (`read` fills the buffer, returns 0 at the end).
pub fn store_chunks(
    conn: &mut PgConnection,
    id: Uuid,
    mut read: impl FnMut(&mut [u8]) -> std::io::Result<usize>,
) -> QueryResult<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut seq = 0;
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            let n = read(&mut buf[filled..])
                .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            return Ok(());
        }
        diesel::insert_into(document_chunks::table)
            .values((
                document_chunks::document_id.eq(id),
                document_chunks::seq.eq(seq),
                document_chunks::data.eq(&buf[..filled]),
            ))
            .execute(conn)?;
        seq += 1;
    }
}

/// A document as its sender (or a regulator) sees it.
#[derive(Debug, Queryable, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentView {
    pub id: Uuid,
    pub status: DocumentStatus,
    pub format: String,
    pub error_behaviour: String,
    pub byte_size: i64,
    pub sender: Option<String>,
    pub receiver: Option<String>,
    pub received_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub event_count: i32,
    pub epc_count: i64,
    pub errors: serde_json::Value,
    pub warnings: serde_json::Value,
    #[serde(skip)]
    pub partner_id: Option<i64>,
}

pub fn document(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<DocumentView>> {
    use crate::store::schema::documents::dsl as d;
    d::documents
        .find(id)
        .select((
            d::id,
            d::status,
            d::format,
            d::error_behaviour,
            d::byte_size,
            d::sender,
            d::receiver,
            d::received_at,
            d::finished_at,
            d::event_count,
            d::epc_count,
            d::errors,
            d::warnings,
            d::partner_id,
        ))
        .first(conn)
        .optional()
}
