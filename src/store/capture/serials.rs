//! Serial rows as the capture reads them into its fold and writes them back: loaded by key
//! (with their parent's key and their last event's time), the contents of a container, new
//! rows by binary COPY, changed rows through a staging table and one guarded UPDATE, a
//! terminal status written down a container's tree.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bool, Date, Integer, Nullable, SmallInt, Text, Timestamptz,
};

use crate::store::codes::{SerialKind, SerialStatus};

diesel::table! {
    /// Per-transaction staging table (see [`write_serials`]): changed rows of stored serials.
    capture_serials (id) {
        id -> BigInt,
        lot -> Nullable<Text>,
        expiry -> Nullable<Date>,
        status -> SmallInt,
        disposition -> Nullable<Text>,
        parent_id -> Nullable<BigInt>,
        owner -> Nullable<Text>,
        location -> Nullable<Text>,
        last_event_id -> Nullable<BigInt>,
        loaded_event_id -> Nullable<BigInt>,
        commissioned_at -> Nullable<Timestamptz>,
        commission_count -> Integer,
        duplicate -> Bool,
    }
}

/// A serial row as the capture writes it: new rows in full, stored rows their state.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = crate::store::schema::serials, treat_none_as_default_value = false)]
pub struct NewSerial {
    pub id: i64,
    pub epc_key: String,
    pub kind: SerialKind,
    pub gtin: Option<String>,
    pub serial_number: Option<String>,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub status: SerialStatus,
    pub disposition: Option<String>,
    pub parent_id: Option<i64>,
    pub owner: Option<String>,
    pub location: Option<String>,
    pub last_event_id: Option<i64>,
    pub commissioned_at: Option<DateTime<Utc>>,
    pub commission_count: i32,
    pub duplicate: bool,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = capture_serials, treat_none_as_default_value = false)]
pub struct ChangedSerial {
    pub id: i64,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub status: SerialStatus,
    pub disposition: Option<String>,
    pub parent_id: Option<i64>,
    pub owner: Option<String>,
    pub location: Option<String>,
    pub last_event_id: Option<i64>,
    pub loaded_event_id: Option<i64>,
    pub commissioned_at: Option<DateTime<Utc>>,
    pub commission_count: i32,
    pub duplicate: bool,
}

impl ChangedSerial {
    /// The state part of a row (its key and GTIN parts are not rewritten), and the
    /// `last_event_id` it had when loaded: the UPDATE only applies when that is unchanged.
    pub fn from_row(row: NewSerial, loaded_event_id: Option<i64>) -> ChangedSerial {
        ChangedSerial {
            id: row.id,
            lot: row.lot,
            expiry: row.expiry,
            status: row.status,
            disposition: row.disposition,
            parent_id: row.parent_id,
            owner: row.owner,
            location: row.location,
            last_event_id: row.last_event_id,
            loaded_event_id,
            commissioned_at: row.commissioned_at,
            commission_count: row.commission_count,
            duplicate: row.duplicate,
        }
    }
}

/// A stored serial, as the capture's fold needs it.
#[derive(Debug, QueryableByName)]
pub struct StoredSerial {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub epc_key: String,
    #[diesel(sql_type = SmallInt)]
    pub kind: SerialKind,
    #[diesel(sql_type = Nullable<Text>)]
    pub lot: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub expiry: Option<NaiveDate>,
    #[diesel(sql_type = SmallInt)]
    pub status: SerialStatus,
    #[diesel(sql_type = Nullable<Text>)]
    pub disposition: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub parent_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub parent_key: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub owner: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub location: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub last_event_id: Option<i64>,
    /// The event time of `last_event_id`: state follows event time (migration 8).
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_event_time: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub commissioned_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Integer)]
    pub commission_count: i32,
    #[diesel(sql_type = Bool)]
    pub duplicate: bool,
}

pub(super) const STORED_COLUMNS: &str =
    "s.id, s.epc_key, s.kind, s.lot, s.expiry, s.status, s.disposition,
    s.parent_id, p.epc_key AS parent_key, s.owner, s.location, s.last_event_id,
    le.event_time AS last_event_time, s.commissioned_at, s.commission_count, s.duplicate";

/// The rows [`STORED_COLUMNS`] reads: a serial, its parent's key, its last event's time.
pub(super) const STORED_FROM: &str = "serials s LEFT JOIN serials p ON p.id = s.parent_id
    LEFT JOIN events le ON le.id = s.last_event_id";

/// The stored serials among these keys (the unique index on `epc_key`).
///
/// The planner takes every key of the array for a stored serial (the index is unique), so for
/// a chunk of 10,000 keys it expects 10,000 rows and, up to a few hundred thousand serials,
/// prefers a sequential scan: 30 ms for 10,000 keys at 104,000 serials against 8 ms through
/// the index, and growing with the table. Keys a capture asks about are mostly new (a
/// commissioning), so the index is always the better way: sequential scans are off for this
/// one statement (issue 10 §7).
pub fn load_serials(conn: &mut PgConnection, keys: &[&str]) -> QueryResult<Vec<StoredSerial>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    conn.batch_execute("SET LOCAL enable_seqscan = off")?;
    let rows = diesel::sql_query(format!(
        "SELECT {STORED_COLUMNS} FROM {STORED_FROM} WHERE s.epc_key = ANY($1)"
    ))
    .bind::<Array<Text>, _>(keys)
    .load(conn);
    conn.batch_execute("SET LOCAL enable_seqscan TO DEFAULT")?;
    rows
}

/// How the serials directly inside a container are found, with no index on `parent_id`
/// (migration 10): every child got its `parent_id` from an AggregationEvent that names it
/// (role 3) with the container as parent (role 2), so the container's events lead to the
/// candidates (hash index on `event_epcs.epc_key`, then the BRIN on `event_id`), and
/// `parent_id` says which of them are inside it now. `{c}` is the child, `{p}` the container
/// (both `serials` aliases); the joins go after `FROM serials {p}`.
fn children_join(p: &str, c: &str) -> String {
    format!(
        "JOIN event_epcs {p}_pe ON {p}_pe.epc_key = {p}.epc_key AND {p}_pe.role = 2
         JOIN event_epcs {p}_ch ON {p}_ch.event_id = {p}_pe.event_id AND {p}_ch.role = 3
         JOIN serials {c} ON {c}.epc_key = {p}_ch.epc_key AND {c}.parent_id = {p}.id"
    )
}

/// The serials directly inside a container.
pub fn load_children(conn: &mut PgConnection, parent_id: i64) -> QueryResult<Vec<StoredSerial>> {
    diesel::sql_query(format!(
        "SELECT {STORED_COLUMNS} FROM {STORED_FROM}
          WHERE s.id IN (SELECT c.id FROM serials top {} WHERE top.id = $1)",
        children_join("top", "c")
    ))
    .bind::<BigInt, _>(parent_id)
    .load(conn)
}

/// Removes serial rows that no standing event names any more (their only event was retracted).
pub fn delete_serials(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM serials WHERE id = ANY($1)")
        .bind::<Array<BigInt>, _>(ids)
        .execute(conn)
}

/// Ids for new serials, reserved from the sequence in one round trip.
pub fn reserve_serial_ids(conn: &mut PgConnection, n: usize) -> QueryResult<Vec<i64>> {
    super::reserve_ids(conn, "serials_id_seq", n)
}

/// A stored serial changed by another transaction between the capture reading and writing it.
#[derive(Debug, thiserror::Error)]
#[error("{0} serial(s) were changed by another capture at the same time")]
pub struct ConcurrentChange(pub usize);

/// Writes the fold's dirty rows: new ones by binary COPY, changed ones through a staging
/// table and one UPDATE, which only applies where the row is as it was read (the count of
/// rows that were not is returned: another capture changed them meanwhile).
pub fn write_serials(
    conn: &mut PgConnection,
    new: &[NewSerial],
    changed: &[ChangedSerial],
) -> QueryResult<usize> {
    if !new.is_empty() {
        diesel::copy_from(crate::store::schema::serials::table)
            .from_insertable(new)
            .execute(conn)?;
    }
    if changed.is_empty() {
        return Ok(0);
    }
    conn.batch_execute(
        "CREATE TEMP TABLE IF NOT EXISTS capture_serials (
            id bigint NOT NULL, lot text, expiry date, status smallint NOT NULL,
            disposition text, parent_id bigint, owner text, location text,
            last_event_id bigint, loaded_event_id bigint, commissioned_at timestamptz,
            commission_count integer NOT NULL, duplicate boolean NOT NULL
         ) ON COMMIT DROP;
         TRUNCATE capture_serials;",
    )?;
    diesel::copy_from(capture_serials::table)
        .from_insertable(changed)
        .execute(conn)?;
    if changed.len() > 1000 {
        conn.batch_execute("ANALYZE capture_serials")?;
    }
    let updated = diesel::sql_query(
        "UPDATE serials s SET lot = c.lot, expiry = c.expiry, status = c.status,
                disposition = c.disposition, parent_id = c.parent_id, owner = c.owner,
                location = c.location, last_event_id = c.last_event_id,
                commissioned_at = c.commissioned_at, commission_count = c.commission_count,
                duplicate = c.duplicate, updated_at = now()
           FROM capture_serials c
          WHERE s.id = c.id AND s.last_event_id IS NOT DISTINCT FROM c.loaded_event_id",
    )
    .execute(conn)?;
    Ok(changed.len() - updated)
}

/// Gives everything inside these containers (all levels) the terminal status, disposition,
/// owner and location of the event that gave it to the containers (dispensing, destroying).
pub fn cascade_terminal(
    conn: &mut PgConnection,
    container_ids: &[i64],
    status: SerialStatus,
    disposition: Option<&str>,
    event_id: i64,
) -> QueryResult<usize> {
    diesel::sql_query(format!(
        "WITH RECURSIVE tree(id, epc_key, depth) AS (
                SELECT c.id, c.epc_key, 1 FROM serials top {}
                 WHERE top.id = ANY($1)
                UNION
                SELECT c.id, c.epc_key, tree.depth + 1 FROM tree {}
                 WHERE tree.depth < 32
             )
             UPDATE serials s SET status = $2, disposition = coalesce($3, s.disposition),
                    last_event_id = $4, updated_at = now()
               FROM (SELECT DISTINCT id FROM tree) t
              WHERE s.id = t.id AND s.status NOT IN ({})",
        children_join("top", "c"),
        children_join("tree", "c"),
        SerialStatus::terminal_or_unknown_codes()
    ))
    .bind::<Array<BigInt>, _>(container_ids)
    .bind::<SmallInt, _>(status)
    .bind::<Nullable<Text>, _>(disposition)
    .bind::<BigInt, _>(event_id)
    .execute(conn)
}
