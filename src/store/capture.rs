//! Storage for EPCIS capture: binary COPY of events and their rows, and the per-serial state
//! read into and written back from the capture's in-memory fold (`crate::capture::fold`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bool, Bytea, Date, Integer, Nullable, SmallInt, Text, Timestamptz,
};
use uuid::Uuid;

use super::schema::{
    document_chunks, documents, event_biz_transactions, event_epcs, event_ilmd,
    event_sources_destinations, events,
};

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
#[diesel(table_name = super::schema::serials, treat_none_as_default_value = false)]
pub struct NewSerial {
    pub id: i64,
    pub epc_key: String,
    pub kind: i16,
    pub gtin: Option<String>,
    pub serial_number: Option<String>,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub status: i16,
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
    pub status: i16,
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
    pub kind: i16,
    #[diesel(sql_type = Nullable<Text>)]
    pub lot: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub expiry: Option<NaiveDate>,
    #[diesel(sql_type = SmallInt)]
    pub status: i16,
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

const STORED_COLUMNS: &str = "s.id, s.epc_key, s.kind, s.lot, s.expiry, s.status, s.disposition,
    s.parent_id, p.epc_key AS parent_key, s.owner, s.location, s.last_event_id,
    le.event_time AS last_event_time, s.commissioned_at, s.commission_count, s.duplicate";

/// The rows [`STORED_COLUMNS`] reads: a serial, its parent's key, its last event's time.
const STORED_FROM: &str = "serials s LEFT JOIN serials p ON p.id = s.parent_id
    LEFT JOIN events le ON le.id = s.last_event_id";

/// The stored serials among these keys (one round trip; the unique index on `epc_key`).
pub fn load_serials(conn: &mut PgConnection, keys: &[&str]) -> QueryResult<Vec<StoredSerial>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    diesel::sql_query(format!(
        "SELECT {STORED_COLUMNS} FROM {STORED_FROM} WHERE s.epc_key = ANY($1)"
    ))
    .bind::<Array<Text>, _>(keys)
    .load(conn)
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

/// Where a rebuild starts: the serials an event names or last changed (an error declaration
/// retracts it; a huge event arrived older than their state), or identifier keys (an event
/// older than the state of what it names, not stored yet).
#[derive(Debug, Clone, Copy)]
pub enum Seed<'a> {
    Event(i64),
    Keys(&'a [&'a str]),
}

/// The serials whose rows a rebuild from `seed` may change, and whose history is needed to
/// rebuild them: the seed, everything inside those (now, or ever packed into them: it may
/// have been unpacked or retired with its container), and every container any of them was
/// ever packed into (their state passes down). UNION (not ALL) ends the walks on cycles.
pub fn rebuild_scope(conn: &mut PgConnection, seed: Seed<'_>) -> QueryResult<Vec<StoredSerial>> {
    let (event_id, keys): (i64, &[&str]) = match seed {
        Seed::Event(id) => (id, &[]),
        Seed::Keys(keys) => (0, keys),
    };
    diesel::sql_query(format!(
        "WITH RECURSIVE named AS (
              SELECT epc_key FROM event_epcs WHERE event_id = $1
              UNION SELECT epc_key FROM serials WHERE last_event_id = $1
              UNION SELECT unnest($2::text[])
          ), down(epc_key) AS (
              SELECT epc_key FROM named
              -- Everything ever packed into them: a child gets its parent only from a
              -- packing event, so this covers what is inside now too (no index on parent_id).
              UNION SELECT ch.epc_key FROM down
                      JOIN event_epcs pa ON pa.epc_key = down.epc_key AND pa.role = 2
                      JOIN event_epcs ch ON ch.event_id = pa.event_id AND ch.role = 3
          ), up(epc_key) AS (
              SELECT epc_key FROM down
              UNION SELECT p.epc_key FROM up
                      JOIN event_epcs ch ON ch.epc_key = up.epc_key AND ch.role = 3
                      JOIN event_epcs p ON p.event_id = ch.event_id AND p.role = 2
          )
          SELECT {STORED_COLUMNS} FROM {STORED_FROM}
           WHERE s.epc_key IN (SELECT epc_key FROM up)"
    ))
    .bind::<BigInt, _>(event_id)
    .bind::<Array<Text>, _>(keys)
    .load(conn)
}

/// A stored event, as a rebuild replays it.
#[derive(Debug, QueryableByName)]
pub struct ReplayEvent {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = SmallInt)]
    pub event_type: i16,
    #[diesel(sql_type = Nullable<Text>)]
    pub action: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub biz_step: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub disposition: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub biz_location: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub event_time: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub owner: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub lot: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub expiry: Option<NaiveDate>,
    /// Whether the event names children at all (an AggregationEvent DELETE without them
    /// empties its parent), whatever of them the rebuild looks at.
    #[diesel(sql_type = Bool)]
    pub has_children: bool,
}

/// One identifier of a replayed event.
#[derive(Debug, QueryableByName)]
pub struct ReplayEpc {
    #[diesel(sql_type = BigInt)]
    pub event_id: i64,
    #[diesel(sql_type = SmallInt)]
    pub role: i16,
    #[diesel(sql_type = Text)]
    pub epc_key: String,
}

/// The events that name these keys and stand (not declarations, not retracted), in time order
/// (event time, then event id: the order of capture), with the identifiers they name among
/// these keys (ordered by event id, not in time order).
pub fn replay_events(
    conn: &mut PgConnection,
    keys: &[&str],
) -> QueryResult<(Vec<ReplayEvent>, Vec<ReplayEpc>)> {
    let epcs: Vec<ReplayEpc> = diesel::sql_query(
        "SELECT x.event_id, x.role, x.epc_key FROM event_epcs x JOIN events e ON e.id = x.event_id
          WHERE x.epc_key = ANY($1) AND e.retracted_by IS NULL
            AND e.error_declaration_time IS NULL
          ORDER BY x.event_id, x.role, x.epc_key",
    )
    .bind::<Array<Text>, _>(keys)
    .load(conn)?;
    let mut ids: Vec<i64> = epcs.iter().map(|e| e.event_id).collect();
    ids.dedup();
    let events = diesel::sql_query(
        "SELECT e.id, e.event_type, e.action, e.biz_step, e.disposition, e.biz_location,
                e.event_time, i.lot, i.expiry,
                (SELECT sd.party FROM event_sources_destinations sd
                  WHERE sd.event_id = e.id AND sd.kind = 2 AND sd.type = 'owning_party'
                  ORDER BY sd.seq LIMIT 1) AS owner,
                EXISTS (SELECT 1 FROM event_epcs c WHERE c.event_id = e.id AND c.role = 3)
                  AS has_children
           FROM events e LEFT JOIN event_ilmd i ON i.event_id = e.id
          WHERE e.id = ANY($1) ORDER BY e.event_time, e.id",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .load(conn)?;
    Ok((events, epcs))
}

/// Of these keys, the containers whose contents changed (a stored ADD or DELETE aggregation
/// event with the container, or a container packed in it at any depth, as parent) after
/// `after`, with the time of the latest such change.
///
/// A first look at the partial index `events_aggregation_time` counts the aggregation events
/// stored after `after` (up to one more than there are keys): none is the common case
/// (documents in time order) and asks nothing more. Then the walk goes the cheaper way through
/// packing events (the relation `children_join` uses): **up** from the containers of those
/// events when there are no more of them than keys, so its cost follows the few recent
/// changes; otherwise **down** from the keys, so its cost follows what the batch names, not
/// the size of the history. Both give the same answer (`Walk`, tested both ways).
pub fn containers_changed_after(
    conn: &mut PgConnection,
    after: DateTime<Utc>,
    keys: &[&str],
) -> QueryResult<Vec<(String, DateTime<Utc>)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let later = aggregations_after(conn, after, keys.len() as i64 + 1)?;
    if later == 0 {
        return Ok(Vec::new());
    }
    let walk = if later <= keys.len() as i64 {
        Walk::Up
    } else {
        Walk::Down
    };
    containers_changed_after_by(conn, after, keys, walk)
}

/// The direction [`containers_changed_after`] walks the packing relation in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Walk {
    /// From the containers packed or unpacked after the time, up to what they were packed in.
    Up,
    /// From the keys asked about, down to what was packed in them.
    Down,
}

/// Standing ADD or DELETE aggregation events stored after `after`, counted up to `limit`.
fn aggregations_after(
    conn: &mut PgConnection,
    after: DateTime<Utc>,
    limit: i64,
) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let c: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT 1 FROM events e
                 WHERE e.event_type = 2 AND e.action IN ('ADD', 'DELETE')
                   AND e.event_time > $1 AND e.retracted_by IS NULL LIMIT $2) later",
    )
    .bind::<Timestamptz, _>(after)
    .bind::<BigInt, _>(limit)
    .get_result(conn)?;
    Ok(c.n)
}

/// [`containers_changed_after`] walking the given way (public so that a test holds the two
/// ways to the same answer).
pub fn containers_changed_after_by(
    conn: &mut PgConnection,
    after: DateTime<Utc>,
    keys: &[&str],
    walk: Walk,
) -> QueryResult<Vec<(String, DateTime<Utc>)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        epc_key: String,
        #[diesel(sql_type = Timestamptz)]
        at: DateTime<Utc>,
    }
    let query = match walk {
        // `up` holds each container reached with the latest change below it found so far; a
        // cycle of packing (a container packed in its own contents, which the rules refuse but
        // history may hold) ends because UNION keeps no row twice.
        Walk::Up => {
            "WITH RECURSIVE up(epc_key, at) AS (
                  SELECT p.epc_key, e.event_time FROM events e
                    JOIN event_epcs p ON p.event_id = e.id AND p.role = 2
                   WHERE e.event_type = 2 AND e.action IN ('ADD', 'DELETE')
                     AND e.event_time > $1 AND e.retracted_by IS NULL
                  UNION
                  SELECT p.epc_key, up.at FROM up
                    JOIN event_epcs ch ON ch.epc_key = up.epc_key AND ch.role = 3
                    JOIN event_epcs p ON p.event_id = ch.event_id AND p.role = 2
              )
              SELECT epc_key, max(at) AS at FROM up WHERE epc_key = ANY($2) GROUP BY epc_key"
        }
        Walk::Down => {
            "WITH RECURSIVE down(root, key, depth) AS (
                  SELECT DISTINCT p.epc_key, p.epc_key, 0 FROM event_epcs p
                   WHERE p.role = 2 AND p.epc_key = ANY($2)
                  UNION
                  SELECT down.root, ch.epc_key, down.depth + 1 FROM down
                    JOIN event_epcs p ON p.epc_key = down.key AND p.role = 2
                    JOIN event_epcs ch ON ch.event_id = p.event_id AND ch.role = 3
                   WHERE down.depth < 32
              )
              SELECT d.root AS epc_key, max(e.event_time) AS at
                FROM (SELECT DISTINCT root, key FROM down) d
                JOIN event_epcs p ON p.epc_key = d.key AND p.role = 2
                JOIN events e ON e.id = p.event_id
               WHERE e.event_type = 2 AND e.action IN ('ADD', 'DELETE') AND e.event_time > $1
                 AND e.retracted_by IS NULL
               GROUP BY d.root"
        }
    };
    let rows: Vec<Row> = diesel::sql_query(query)
        .bind::<Timestamptz, _>(after)
        .bind::<Array<Text>, _>(keys)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.epc_key, r.at)).collect())
}

/// Removes serial rows that no standing event names any more (their only event was retracted).
pub fn delete_serials(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM serials WHERE id = ANY($1)")
        .bind::<Array<BigInt>, _>(ids)
        .execute(conn)
}

/// Ids for new serials, reserved from the sequence in one round trip.
pub fn reserve_serial_ids(conn: &mut PgConnection, n: usize) -> QueryResult<Vec<i64>> {
    reserve_ids(conn, "serials_id_seq", n)
}

/// Event ids for a batch, reserved from the sequence in one round trip.
pub fn reserve_event_ids(conn: &mut PgConnection, n: usize) -> QueryResult<Vec<i64>> {
    reserve_ids(conn, "events_id_seq", n)
}

fn reserve_ids(conn: &mut PgConnection, sequence: &str, n: usize) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let ids: Vec<Id> = diesel::sql_query(format!(
        "SELECT nextval('{sequence}') AS id FROM generate_series(1, $1)"
    ))
    .bind::<Integer, _>(n as i32)
    .load(conn)?;
    Ok(ids.into_iter().map(|i| i.id).collect())
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
        diesel::copy_from(super::schema::serials::table)
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
    status: i16,
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
              WHERE s.id = t.id AND s.status NOT IN (5, 6, 7, 8)",
        children_join("top", "c"),
        children_join("tree", "c")
    ))
    .bind::<Array<BigInt>, _>(container_ids)
    .bind::<SmallInt, _>(status)
    .bind::<Nullable<Text>, _>(disposition)
    .bind::<BigInt, _>(event_id)
    .execute(conn)
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

/// Everything one batch writes.

#[derive(Debug, Insertable)]
#[diesel(table_name = documents)]
pub struct NewDocument<'a> {
    pub id: Uuid,
    pub direction: &'a str,
    pub format: &'a str,
    pub status: &'a str,
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
    status: &str,
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
}

/// The id of an accepted received document with these bytes, if any.
pub fn accepted_with_hash(conn: &mut PgConnection, sha256: &[u8]) -> QueryResult<Option<Uuid>> {
    documents::table
        .filter(documents::sha256.eq(sha256))
        .filter(documents::direction.eq("received"))
        .filter(documents::status.eq_any(["accepted", "partially_accepted"]))
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

/// Product master data (EPCClass) as a document gives it; absent values keep what is stored.
#[derive(Debug, Insertable)]
#[diesel(table_name = super::schema::trade_items)]
pub struct TradeItem<'a> {
    pub gtin: &'a str,
    pub ndc: Option<&'a str>,
    pub name: Option<&'a str>,
    pub dosage_form: Option<&'a str>,
    pub strength: Option<&'a str>,
    pub pack_size: Option<&'a str>,
    pub manufacturer: Option<&'a str>,
    pub attributes: serde_json::Value,
}

pub fn upsert_trade_item(conn: &mut PgConnection, item: &TradeItem<'_>) -> QueryResult<()> {
    use super::schema::trade_items::dsl as t;
    type Nt = diesel::sql_types::Nullable<Text>;
    let keep =
        |col: &str| diesel::dsl::sql::<Nt>(&format!("coalesce(excluded.{col}, trade_items.{col})"));
    diesel::insert_into(t::trade_items)
        .values(item)
        .on_conflict(t::gtin)
        .do_update()
        .set((
            t::ndc.eq(keep("ndc")),
            t::name.eq(keep("name")),
            t::dosage_form.eq(keep("dosage_form")),
            t::strength.eq(keep("strength")),
            t::pack_size.eq(keep("pack_size")),
            t::manufacturer.eq(keep("manufacturer")),
            t::attributes.eq(diesel::dsl::sql::<diesel::sql_types::Jsonb>(
                "trade_items.attributes || excluded.attributes",
            )),
            t::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Location master data; a newer document's description replaces the stored one.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = super::schema::locations, treat_none_as_null = true)]
pub struct Location<'a> {
    pub id: &'a str,
    pub gln: Option<&'a str>,
    pub name: Option<&'a str>,
    pub street: Option<&'a str>,
    pub city: Option<&'a str>,
    pub state: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub country: Option<&'a str>,
    pub attributes: serde_json::Value,
}

pub fn upsert_location(conn: &mut PgConnection, location: &Location<'_>) -> QueryResult<()> {
    use super::schema::locations::dsl as l;
    diesel::insert_into(l::locations)
        .values(location)
        .on_conflict(l::id)
        .do_update()
        .set(location)
        .execute(conn)
        .map(|_| ())
}

/// GTINs (of the given set) that have no product master data.
pub fn gtins_without_master_data(
    conn: &mut PgConnection,
    gtins: &[String],
) -> QueryResult<Vec<String>> {
    use super::schema::trade_items::dsl as t;
    let known: Vec<String> = t::trade_items
        .filter(t::gtin.eq_any(gtins))
        .select(t::gtin)
        .load(conn)?;
    Ok(gtins
        .iter()
        .filter(|g| !known.contains(g))
        .cloned()
        .collect())
}

/// Location keys (of the given set) that have no location master data.
pub fn locations_without_master_data(
    conn: &mut PgConnection,
    ids: &[String],
) -> QueryResult<Vec<String>> {
    use super::schema::locations::dsl as l;
    let known: Vec<String> = l::locations
        .filter(l::id.eq_any(ids))
        .select(l::id)
        .load(conn)?;
    Ok(ids.iter().filter(|g| !known.contains(g)).cloned().collect())
}

/// Row counts used by tests and reports.
pub fn count(conn: &mut PgConnection, table: &str) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}")).get_result(conn)?;
    Ok(n.n)
}

/// A document as its sender (or a regulator) sees it.
#[derive(Debug, Queryable, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentView {
    pub id: Uuid,
    pub status: String,
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
    use super::schema::documents::dsl as d;
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
