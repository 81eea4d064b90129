//! Event rows: what one batch writes (binary COPY of events and the rows that hang off them),
//! event ids reserved in advance, stored hashes (duplicates), retraction by an error
//! declaration.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea};
use uuid::Uuid;

use crate::store::schema::{
    event_biz_transactions, event_epcs, event_ilmd, event_sources_destinations, events,
};

/// Marks the stored events with this hash (not declarations, not retracted yet) as retracted
/// by the declaring event; returns their ids.
pub fn retract_events(conn: &mut PgConnection, digest: &[u8], by: i64) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let ids: Vec<Id> = diesel::sql_query(
        "UPDATE events SET retracted_by = $2
          WHERE event_hash = $1 AND error_declaration_time IS NULL AND retracted_by IS NULL
            AND id <> $2
         RETURNING id",
    )
    .bind::<Bytea, _>(digest)
    .bind::<BigInt, _>(by)
    .load(conn)?;
    Ok(ids.into_iter().map(|r| r.id).collect())
}

/// Event ids for a batch, reserved from the sequence in one round trip.
pub fn reserve_event_ids(conn: &mut PgConnection, n: usize) -> QueryResult<Vec<i64>> {
    super::reserve_ids(conn, "events_id_seq", n)
}

/// Everything one batch writes.
#[derive(Debug, Default)]
pub struct BatchRows {
    pub events: Vec<EventRow>,
    pub epcs: Vec<EpcRow>,
    pub biz_transactions: Vec<BizTransactionRow>,
    pub sources_destinations: Vec<SourceDestRow>,
    pub ilmd: Vec<IlmdRow>,
}

/// Which of these event hashes are stored already (duplicates are not stored twice).
pub fn existing_hashes(conn: &mut PgConnection, hashes: &[Vec<u8>]) -> QueryResult<Vec<Vec<u8>>> {
    events::table
        .filter(events::event_hash.eq_any(hashes))
        .filter(events::error_declaration_time.is_null())
        .select(events::event_hash)
        .load(conn)
}

pub fn copy_batch(conn: &mut PgConnection, rows: &BatchRows) -> QueryResult<()> {
    if !rows.events.is_empty() {
        diesel::copy_from(events::table)
            .from_insertable(&rows.events)
            .execute(conn)?;
    }
    if !rows.epcs.is_empty() {
        diesel::copy_from(event_epcs::table)
            .from_insertable(&rows.epcs)
            .execute(conn)?;
    }
    if !rows.biz_transactions.is_empty() {
        diesel::copy_from(event_biz_transactions::table)
            .from_insertable(&rows.biz_transactions)
            .execute(conn)?;
    }
    if !rows.sources_destinations.is_empty() {
        diesel::copy_from(event_sources_destinations::table)
            .from_insertable(&rows.sources_destinations)
            .execute(conn)?;
    }
    if !rows.ilmd.is_empty() {
        diesel::copy_from(event_ilmd::table)
            .from_insertable(&rows.ilmd)
            .execute(conn)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events, treat_none_as_default_value = false)]
pub struct EventRow {
    pub id: i64,
    pub document_id: Uuid,
    pub seq: i32,
    pub event_type: i16,
    pub action: Option<String>,
    pub event_time: DateTime<Utc>,
    pub event_time_zone_offset: String,
    pub event_id: Option<String>,
    pub event_hash: Vec<u8>,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    pub transformation_id: Option<String>,
    pub persistent_disposition: Option<serde_json::Value>,
    pub error_declaration_time: Option<DateTime<Utc>>,
    pub error_reason: Option<String>,
    pub corrective_event_ids: Option<Vec<Option<String>>>,
    pub extensions: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = event_epcs, treat_none_as_default_value = false)]
pub struct EpcRow {
    pub event_id: i64,
    pub role: i16,
    pub epc_key: String,
    pub quantity: Option<f64>,
    pub uom: Option<String>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = event_biz_transactions, treat_none_as_default_value = false)]
pub struct BizTransactionRow {
    pub event_id: i64,
    pub seq: i16,
    #[diesel(column_name = type_)]
    pub bt_type: Option<String>,
    pub bt_id: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = event_sources_destinations, treat_none_as_default_value = false)]
pub struct SourceDestRow {
    pub event_id: i64,
    pub seq: i16,
    pub kind: i16,
    #[diesel(column_name = type_)]
    pub sd_type: String,
    pub party: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = event_ilmd, treat_none_as_default_value = false)]
pub struct IlmdRow {
    pub event_id: i64,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub other: Option<serde_json::Value>,
}
