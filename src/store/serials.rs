//! Queries behind serial issuance: pools, the atomic counter, allocations, partner quotas.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::codes::{SerialKind, SerialStatus};
use super::schema::{serial_allocations, serial_partner_usage, serial_pools, serials};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = serial_pools)]
pub struct PoolRow {
    pub id: i64,
    pub gtin: String,
    pub format: String,
    pub length: i16,
    pub packaging_level: String,
    pub key_id: String,
    pub capacity: i64,
    pub next_counter: i64,
    pub max_per_request: i32,
    pub partner_quota: Option<i64>,
    pub partner_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = serial_pools)]
pub struct NewPoolRow<'a> {
    pub gtin: &'a str,
    pub format: &'a str,
    pub length: i16,
    pub packaging_level: &'a str,
    pub key_id: &'a str,
    pub capacity: i64,
    pub max_per_request: i32,
    pub partner_quota: Option<i64>,
    pub partner_ids: &'a [i64],
    pub created_by: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = serial_allocations)]
pub struct AllocationRow {
    pub id: i64,
    pub pool_id: i64,
    pub first_counter: i64,
    pub count: i32,
    pub partner_id: Option<i64>,
    pub actor: String,
    pub purpose: Option<String>,
    pub allocated_at: DateTime<Utc>,
}

pub fn insert_pool(conn: &mut PgConnection, row: &NewPoolRow<'_>) -> QueryResult<PoolRow> {
    diesel::insert_into(serial_pools::table)
        .values(row)
        .returning(PoolRow::as_returning())
        .get_result(conn)
}

pub fn pools(conn: &mut PgConnection) -> QueryResult<Vec<PoolRow>> {
    serial_pools::table
        .order(serial_pools::id)
        .select(PoolRow::as_select())
        .load(conn)
}

/// The NDC recorded in a product's master data, if any.
pub fn trade_item_ndc(conn: &mut PgConnection, gtin: &str) -> QueryResult<Option<String>> {
    use super::schema::trade_items as t;
    Ok(t::table
        .filter(t::gtin.eq(gtin))
        .select(t::ndc)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

pub fn pool_by_gtin(conn: &mut PgConnection, gtin: &str) -> QueryResult<Option<PoolRow>> {
    serial_pools::table
        .filter(serial_pools::gtin.eq(gtin))
        .select(PoolRow::as_select())
        .first(conn)
        .optional()
}

/// Adds `count` to what `partner_id` has taken from the pool, unless that would pass `quota`.
/// The row lock serialises one partner's concurrent requests. False: over the quota.
pub fn take_quota(
    conn: &mut PgConnection,
    pool_id: i64,
    partner_id: i64,
    count: i64,
    quota: i64,
) -> QueryResult<bool> {
    if count > quota {
        return Ok(false);
    }
    use diesel::sql_types::BigInt;
    let rows = diesel::sql_query(
        "INSERT INTO serial_partner_usage (pool_id, partner_id, allocated) VALUES ($1, $2, $3) \
         ON CONFLICT (pool_id, partner_id) DO UPDATE \
         SET allocated = serial_partner_usage.allocated + EXCLUDED.allocated \
         WHERE serial_partner_usage.allocated + EXCLUDED.allocated <= $4",
    )
    .bind::<BigInt, _>(pool_id)
    .bind::<BigInt, _>(partner_id)
    .bind::<BigInt, _>(count)
    .bind::<BigInt, _>(quota)
    .execute(conn)?;
    Ok(rows == 1)
}

/// What a partner has taken from a pool so far.
pub fn quota_used(conn: &mut PgConnection, pool_id: i64, partner_id: i64) -> QueryResult<i64> {
    Ok(serial_partner_usage::table
        .filter(serial_partner_usage::pool_id.eq(pool_id))
        .filter(serial_partner_usage::partner_id.eq(partner_id))
        .select(serial_partner_usage::allocated)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// The atomic counter: advances the pool by `count` in one statement and returns the first
/// counter of the range, or None when the pool has fewer than `count` left. Concurrent calls
/// (any number of servers) queue on the row lock and each gets a range of its own.
pub fn advance(conn: &mut PgConnection, pool_id: i64, count: i64) -> QueryResult<Option<i64>> {
    use serial_pools::dsl as p;
    diesel::update(p::serial_pools)
        .filter(p::id.eq(pool_id))
        .filter(p::next_counter.le(p::capacity - count))
        .set(p::next_counter.eq(p::next_counter + count))
        .returning(p::next_counter - count)
        .get_result(conn)
        .optional()
}

pub fn insert_allocation(
    conn: &mut PgConnection,
    pool_id: i64,
    first_counter: i64,
    count: i32,
    partner_id: Option<i64>,
    actor: &str,
    purpose: Option<&str>,
) -> QueryResult<AllocationRow> {
    diesel::insert_into(serial_allocations::table)
        .values((
            serial_allocations::pool_id.eq(pool_id),
            serial_allocations::first_counter.eq(first_counter),
            serial_allocations::count.eq(count),
            serial_allocations::partner_id.eq(partner_id),
            serial_allocations::actor.eq(actor),
            serial_allocations::purpose.eq(purpose),
        ))
        .returning(AllocationRow::as_returning())
        .get_result(conn)
}

/// The allocation whose range holds `counter`, if any.
pub fn allocation_holding(
    conn: &mut PgConnection,
    pool_id: i64,
    counter: i64,
) -> QueryResult<Option<AllocationRow>> {
    let row: Option<AllocationRow> = serial_allocations::table
        .filter(serial_allocations::pool_id.eq(pool_id))
        .filter(serial_allocations::first_counter.le(counter))
        .order(serial_allocations::first_counter.desc())
        .select(AllocationRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.filter(|a| counter < a.first_counter + i64::from(a.count)))
}

pub fn allocation(conn: &mut PgConnection, id: i64) -> QueryResult<Option<AllocationRow>> {
    serial_allocations::table
        .find(id)
        .select(AllocationRow::as_select())
        .first(conn)
        .optional()
}

pub fn pool(conn: &mut PgConnection, id: i64) -> QueryResult<Option<PoolRow>> {
    serial_pools::table
        .find(id)
        .select(PoolRow::as_select())
        .first(conn)
        .optional()
}

/// A pool's allocations in counter order.
pub fn allocations(conn: &mut PgConnection, pool_id: i64) -> QueryResult<Vec<AllocationRow>> {
    serial_allocations::table
        .filter(serial_allocations::pool_id.eq(pool_id))
        .order(serial_allocations::first_counter)
        .select(AllocationRow::as_select())
        .load(conn)
}

/// Serial numbers of `gtin` that capture has seen commissioned (any state but unknown).
pub fn commissioned_serials(conn: &mut PgConnection, gtin: &str) -> QueryResult<Vec<String>> {
    serials::table
        .filter(serials::gtin.eq(gtin))
        .filter(serials::kind.eq(SerialKind::Sgtin))
        .filter(serials::status.ne(SerialStatus::Unknown))
        .select(serials::serial_number.assume_not_null())
        .load(conn)
}

/// The pools of these GTINs (one query for a capture's GTINs).
pub fn pools_of_gtins(conn: &mut PgConnection, gtins: &[&str]) -> QueryResult<Vec<PoolRow>> {
    serial_pools::table
        .filter(serial_pools::gtin.eq_any(gtins))
        .select(PoolRow::as_select())
        .load(conn)
}

/// A serial a document commissioned: the event's position in the document and its key.
#[derive(Debug, QueryableByName)]
pub struct CommissionedKey {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub seq: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub epc_key: String,
}

/// The SGTINs of these GTINs that a document's stored events commission (ObjectEvent ADD
/// `epcList`, TransformationEvent outputs), in document order.
pub fn commissioned_in_document(
    conn: &mut PgConnection,
    document_id: uuid::Uuid,
    gtins: &[String],
) -> QueryResult<Vec<CommissionedKey>> {
    use diesel::sql_types::{Array, Text, Uuid};
    diesel::sql_query(
        "SELECT e.seq, x.epc_key FROM events e JOIN event_epcs x ON x.event_id = e.id
          WHERE e.document_id = $1 AND e.retracted_by IS NULL
            AND ((e.event_type = 1 AND e.action = 'ADD' AND x.role = 1)
                 OR (e.event_type = 4 AND x.role = 5))
            AND left(x.epc_key, 2) = '01' AND substr(x.epc_key, 17, 2) = '21'
            AND substr(x.epc_key, 3, 14) = ANY($2)
          ORDER BY e.seq, x.epc_key",
    )
    .bind::<Uuid, _>(document_id)
    .bind::<Array<Text>, _>(gtins)
    .load(conn)
}

/// Flags serials as suspect (they stay in circulation; verification answers "suspect").
pub fn mark_suspect(conn: &mut PgConnection, keys: &[String]) -> QueryResult<usize> {
    diesel::update(serials::table.filter(serials::epc_key.eq_any(keys)))
        .set((
            serials::suspect.eq(true),
            serials::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
}
