//! Queries of product tracing (`compliance::trace`, docs/COMPLIANCE.md): one serial's state,
//! its containers, the events about it and about what it travelled in, the documents they came
//! in, master data for names, verification requests and flags; a lot's units with their
//! effective state in one set-based statement; and the trace-request records.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bool, Bytea, Date, Integer, Jsonb, Nullable, SmallInt, Text, Timestamptz,
    Uuid as SqlUuid,
};
use uuid::Uuid;

pub use super::master_data::{locations, LocationRow};

use super::codes::{SerialKind, SerialStatus};
use super::schema::trace_requests;

/// A serial's effective state (the `serial_state` view: containment resolved).
#[derive(Debug, Clone, QueryableByName)]
pub struct SerialRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub epc_key: String,
    #[diesel(sql_type = SmallInt)]
    pub kind: SerialKind,
    #[diesel(sql_type = Nullable<Text>)]
    pub gtin: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub serial_number: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub lot: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub expiry: Option<NaiveDate>,
    #[diesel(sql_type = SmallInt)]
    pub status: SerialStatus,
    #[diesel(sql_type = Nullable<Text>)]
    pub disposition: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub owner: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub location: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub parent_id: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_event_time: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub commissioned_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Integer)]
    pub commission_count: i32,
    #[diesel(sql_type = Bool)]
    pub suspect: bool,
    #[diesel(sql_type = Bool)]
    pub recalled: bool,
    #[diesel(sql_type = Bool)]
    pub illegitimate: bool,
    #[diesel(sql_type = Bool)]
    pub duplicate: bool,
}

/// Plans the look-ups of one serial's trace by their indexes, for the rest of the transaction:
/// the walk up the packing events joins `event_epcs` to itself, and with the few rows of a
/// recursive step the planner otherwise hashes a sequential scan of the whole table (260 ms at
/// 2.3 million rows, against 8 ms by the BRIN on `event_id`); JIT compilation, which those
/// estimates also set off, is of no use for statements this small.
pub fn plan_for_one_serial(conn: &mut PgConnection) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute("SET LOCAL enable_seqscan = off; SET LOCAL jit = off")
}

/// The effective state of the serial with this key, if it is stored.
pub fn serial(conn: &mut PgConnection, key: &str) -> QueryResult<Option<SerialRow>> {
    diesel::sql_query(
        "SELECT s.id, s.epc_key, s.kind, s.gtin::text AS gtin, s.serial_number, s.lot, s.expiry,
                s.status, s.disposition, s.owner, s.location, s.parent_id, s.last_event_time,
                s.commissioned_at, s.commission_count, s.suspect, s.recalled, s.illegitimate,
                s.duplicate
           FROM serial_state s WHERE s.epc_key = $1",
    )
    .bind::<Text, _>(key)
    .get_result(conn)
    .optional()
}

/// Which of these keys are stored serials.
pub fn stored_keys(conn: &mut PgConnection, keys: &[String]) -> QueryResult<Vec<String>> {
    use super::schema::serials::dsl as s;
    s::serials
        .filter(s::epc_key.eq_any(keys))
        .select(s::epc_key)
        .order(s::epc_key)
        .load(conn)
}

/// One container of a serial now, innermost first.
#[derive(Debug, Clone, QueryableByName)]
pub struct ContainerRow {
    #[diesel(sql_type = Integer)]
    pub depth: i32,
    #[diesel(sql_type = Text)]
    pub epc_key: String,
    #[diesel(sql_type = SmallInt)]
    pub status: SerialStatus,
}

/// The containers a serial is in now, from its parent (depth 1) to the outermost.
pub fn container_chain(conn: &mut PgConnection, parent_id: i64) -> QueryResult<Vec<ContainerRow>> {
    diesel::sql_query(
        "SELECT a.depth, c.epc_key, c.status FROM serial_ancestors($1) a
           JOIN serials c ON c.id = a.id ORDER BY a.depth",
    )
    .bind::<BigInt, _>(parent_id)
    .load(conn)
}

#[derive(QueryableByName)]
struct Key {
    #[diesel(sql_type = Text)]
    epc_key: String,
}

/// The key and every container it was ever packed into, at any depth (packing events, as
/// `capture::history::rebuild_scope` walks them up; UNION ends the walk on cycles).
pub fn ever_containers(conn: &mut PgConnection, key: &str) -> QueryResult<Vec<String>> {
    let rows: Vec<Key> = diesel::sql_query(
        "WITH RECURSIVE up(epc_key) AS (
              SELECT $1::text
              UNION SELECT p.epc_key FROM up
                      JOIN event_epcs ch ON ch.epc_key = up.epc_key AND ch.role = 3
                      JOIN event_epcs p ON p.event_id = ch.event_id AND p.role = 2
          ) SELECT epc_key FROM up",
    )
    .bind::<Text, _>(key)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.epc_key).collect())
}

/// An identifier row of an event, for the keys a trace follows.
#[derive(Debug, Clone, QueryableByName)]
pub struct Naming {
    #[diesel(sql_type = BigInt)]
    pub event_id: i64,
    #[diesel(sql_type = SmallInt)]
    pub role: i16,
    #[diesel(sql_type = Text)]
    pub epc_key: String,
}

/// Which events name these keys, in which role.
pub fn namings(conn: &mut PgConnection, keys: &[String]) -> QueryResult<Vec<Naming>> {
    diesel::sql_query(
        "SELECT x.event_id, x.role, x.epc_key FROM event_epcs x WHERE x.epc_key = ANY($1)
          ORDER BY x.event_id, x.role, x.epc_key",
    )
    .bind::<Array<Text>, _>(keys)
    .load(conn)
}

/// An event as a trace shows it: its own fields, the document it came in, and whether a
/// declaration retracted it. Not its identifier lists (a commissioning event may list many
/// thousands): the trace says which of its keys an event names.
#[derive(Debug, Clone, QueryableByName)]
pub struct EventRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = SmallInt)]
    pub event_type: i16,
    #[diesel(sql_type = Nullable<Text>)]
    pub action: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub event_time: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub event_time_zone_offset: String,
    #[diesel(sql_type = Timestamptz)]
    pub record_time: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub eid: Option<String>,
    #[diesel(sql_type = Bytea)]
    pub event_hash: Vec<u8>,
    #[diesel(sql_type = Nullable<Text>)]
    pub biz_step: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub disposition: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub read_point: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub biz_location: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub retracted_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub retracted_reason: Option<String>,
    #[diesel(sql_type = SqlUuid)]
    pub document_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    pub sender: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub receiver: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub instance_identifier: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub received_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub partner_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub partner_name: Option<String>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub transaction_statement: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<Text>)]
    pub lot: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub expiry: Option<NaiveDate>,
    #[diesel(sql_type = Bool)]
    pub has_children: bool,
}

/// These events (error declarations left out: they show as the retraction of the event they
/// declare), in time order (event time, then id).
pub fn events(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<EventRow>> {
    diesel::sql_query(
        "SELECT e.id, e.event_type, e.action, e.event_time, e.event_time_zone_offset,
                e.record_time, e.event_id AS eid, e.event_hash, e.biz_step, e.disposition,
                e.read_point, e.biz_location, r.error_declaration_time AS retracted_at,
                r.error_reason AS retracted_reason, d.id AS document_id, d.sender, d.receiver,
                d.instance_identifier, d.received_at, d.partner_id, tp.name AS partner_name,
                d.transaction_statement, i.lot, i.expiry,
                EXISTS (SELECT 1 FROM event_epcs c WHERE c.event_id = e.id AND c.role = 3)
                  AS has_children
           FROM events e
           JOIN documents d ON d.id = e.document_id
           LEFT JOIN trading_partners tp ON tp.id = d.partner_id
           LEFT JOIN events r ON r.id = e.retracted_by
           LEFT JOIN event_ilmd i ON i.event_id = e.id
          WHERE e.id = ANY($1) AND e.error_declaration_time IS NULL
          ORDER BY e.event_time, e.id",
    )
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)
}

/// Product master data of a GTIN.
#[derive(Debug, Clone, QueryableByName)]
pub struct ProductRow {
    #[diesel(sql_type = Text)]
    pub gtin: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub ndc: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub dosage_form: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub strength: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub pack_size: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub manufacturer: Option<String>,
}

pub fn products(conn: &mut PgConnection, gtins: &[String]) -> QueryResult<Vec<ProductRow>> {
    diesel::sql_query(
        "SELECT gtin::text AS gtin, ndc, name, dosage_form, strength, pack_size, manufacturer
           FROM trade_items WHERE gtin = ANY($1::bpchar[]) ORDER BY gtin",
    )
    .bind::<Array<Text>, _>(gtins)
    .load(conn)
}

/// GTINs whose product master data carries one of these NDC digit strings (hyphens ignored).
pub fn gtins_of_ndc(conn: &mut PgConnection, digits: &[String]) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct G {
        #[diesel(sql_type = Text)]
        gtin: String,
    }
    let rows: Vec<G> = diesel::sql_query(
        "SELECT gtin::text AS gtin FROM trade_items
          WHERE ndc IS NOT NULL AND replace(ndc, '-', '') = ANY($1) ORDER BY gtin",
    )
    .bind::<Array<Text>, _>(digits)
    .load(conn)?;
    Ok(rows.into_iter().map(|g| g.gtin).collect())
}

/// A verification request logged about a serial.
#[derive(Debug, Clone, QueryableByName)]
pub struct VerificationRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Timestamptz)]
    pub received_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub partner_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub partner_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub requester_gln: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub corr_uuid: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub context: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub lot: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub verified: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    pub failure_reason: Option<String>,
    #[diesel(sql_type = Nullable<Array<Nullable<Text>>>)]
    pub additional_info: Option<Vec<Option<String>>>,
    #[diesel(sql_type = SmallInt)]
    pub http_status: i16,
    #[diesel(sql_type = Nullable<Text>)]
    pub forwarded_to: Option<String>,
}

/// The verification requests about one GTIN + serial, oldest first.
pub fn verifications(
    conn: &mut PgConnection,
    gtin: &str,
    serial: &str,
) -> QueryResult<Vec<VerificationRow>> {
    diesel::sql_query(
        "SELECT v.id, v.received_at, v.partner_id, tp.name AS partner_name, v.requester_gln,
                v.corr_uuid, v.context, v.lot, v.verified, v.failure_reason, v.additional_info,
                v.http_status, v.forwarded_to
           FROM verification_requests v LEFT JOIN trading_partners tp ON tp.id = v.partner_id
          WHERE v.gtin = $1 AND v.serial_number = $2 ORDER BY v.received_at, v.id",
    )
    .bind::<Text, _>(gtin)
    .bind::<Text, _>(serial)
    .load(conn)
}

/// A product or lot flag, active or cleared.
#[derive(Debug, Clone, QueryableByName)]
pub struct FlagRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub gtin: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub lot: Option<String>,
    #[diesel(sql_type = Text)]
    pub flag: String,
    #[diesel(sql_type = Text)]
    pub reason: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub set_by: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub set_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub cleared_at: Option<DateTime<Utc>>,
}

/// Every flag set on these products, or on the lot when one is given (a product-wide flag
/// covers every lot), oldest first.
pub fn flags(
    conn: &mut PgConnection,
    gtins: &[String],
    lot: Option<&str>,
) -> QueryResult<Vec<FlagRow>> {
    diesel::sql_query(
        "SELECT f.id, f.gtin::text AS gtin, f.lot, f.flag, f.reason, tp.name AS set_by,
                f.set_at, f.cleared_at
           FROM product_flags f LEFT JOIN trading_partners tp ON tp.id = f.set_by
          WHERE f.gtin = ANY($1::bpchar[]) AND (f.lot IS NULL OR f.lot = $2)
          ORDER BY f.set_at, f.id",
    )
    .bind::<Array<Text>, _>(gtins)
    .bind::<Nullable<Text>, _>(lot)
    .load(conn)
}

/// One unit of a lot with its effective state.
#[derive(Debug, Clone, QueryableByName)]
pub struct UnitRow {
    #[diesel(sql_type = Text)]
    pub epc_key: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub gtin: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub serial_number: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub expiry: Option<NaiveDate>,
    #[diesel(sql_type = SmallInt)]
    pub status: SerialStatus,
    #[diesel(sql_type = Nullable<Text>)]
    pub disposition: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub owner: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub location: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub top_key: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_event_time: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    pub suspect: bool,
    #[diesel(sql_type = Bool)]
    pub recalled: bool,
    #[diesel(sql_type = Bool)]
    pub illegitimate: bool,
    #[diesel(sql_type = Bool)]
    pub duplicate: bool,
}

/// Every serial of the lot of these GTINs with its effective state, in one statement.
///
/// The units come from the lot's commissioning events (`event_ilmd_lot`, then their
/// identifiers and `serials.epc_key`), as ARCHITECTURE.md's look-up table says. Their state is
/// the `serial_state` view's, computed once per distinct container instead of once per unit:
/// the containers of every unit's parent are walked up (`serial_ancestors`) for each distinct
/// parent, the newest of them by (event time, id) and the outermost taken per parent, and a
/// unit takes the newest one's state when it is newer than its own and the unit is not
/// dispensed, decommissioned, destroyed or unknown (the view's rule: a container whose status
/// is unknown passes nothing down). Ordered by serial.
pub fn lot_units(
    conn: &mut PgConnection,
    gtins: &[String],
    lot: &str,
) -> QueryResult<Vec<UnitRow>> {
    let terminal = SerialStatus::terminal_or_unknown_codes();
    diesel::sql_query(format!(
        "WITH lot_serials AS MATERIALIZED (
              SELECT s.id, s.epc_key, s.gtin, s.serial_number, s.expiry, s.status, s.disposition,
                     s.owner, s.location, s.parent_id, s.last_event_id, se.event_time AS own_time,
                     s.suspect, s.recalled, s.illegitimate, s.duplicate
                FROM serials s LEFT JOIN events se ON se.id = s.last_event_id
               WHERE s.epc_key IN (SELECT x.epc_key FROM event_ilmd i
                                     JOIN event_epcs x ON x.event_id = i.event_id AND x.role = 1
                                    WHERE i.lot = $2)
                 AND s.gtin = ANY($1::bpchar[]) AND s.lot = $2
          ), parents AS (
              SELECT DISTINCT parent_id AS id FROM lot_serials WHERE parent_id IS NOT NULL
          ), chain AS MATERIALIZED (
              SELECT p.id AS start, a.depth, c.epc_key, c.status, c.disposition, c.owner,
                     c.location, c.last_event_id, ce.event_time
                FROM parents p
                CROSS JOIN LATERAL serial_ancestors(p.id) a
                JOIN serials c ON c.id = a.id
                LEFT JOIN events ce ON ce.id = c.last_event_id
          ), outermost AS MATERIALIZED (
              SELECT DISTINCT ON (start) start, epc_key FROM chain ORDER BY start, depth DESC
          ), newest AS MATERIALIZED (
              SELECT DISTINCT ON (start) start, status, disposition, owner, location,
                     last_event_id, event_time
                FROM chain WHERE status <> 8 AND event_time IS NOT NULL
               ORDER BY start, event_time DESC, last_event_id DESC
          ), effective AS (
              SELECT l.*, n.status AS n_status, n.disposition AS n_disposition,
                     n.owner AS n_owner, n.location AS n_location, n.event_time AS n_time,
                     o.epc_key AS top_key,
                     coalesce(l.status NOT IN ({terminal})
                              AND (n.event_time, n.last_event_id) > (l.own_time, l.last_event_id),
                              false) AS inherits
                FROM lot_serials l
                LEFT JOIN newest n ON n.start = l.parent_id
                LEFT JOIN outermost o ON o.start = l.parent_id
          )
          SELECT epc_key, gtin::text AS gtin, serial_number, expiry,
                 CASE WHEN inherits THEN n_status ELSE status END AS status,
                 CASE WHEN inherits THEN n_disposition ELSE disposition END AS disposition,
                 CASE WHEN inherits THEN n_owner ELSE owner END AS owner,
                 CASE WHEN inherits THEN n_location ELSE location END AS location,
                 top_key,
                 CASE WHEN inherits THEN n_time ELSE own_time END AS last_event_time,
                 suspect, recalled, illegitimate, duplicate
            FROM effective
           ORDER BY serial_number, epc_key"
    ))
    .bind::<Array<Text>, _>(gtins)
    .bind::<Text, _>(lot)
    .load(conn)
}

/// A trace request, as stored.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = trace_requests)]
pub struct TraceRequestRow {
    pub id: i64,
    pub requester: String,
    pub reason: String,
    pub reference: String,
    pub subject: Option<String>,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answered_by: Option<String>,
    pub created_by: String,
}

/// A new trace request.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = trace_requests)]
pub struct NewTraceRequest<'a> {
    pub requester: &'a str,
    pub reason: &'a str,
    pub reference: &'a str,
    pub subject: Option<&'a str>,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub created_by: &'a str,
}

pub fn insert_request(
    conn: &mut PgConnection,
    new: &NewTraceRequest<'_>,
) -> QueryResult<TraceRequestRow> {
    diesel::insert_into(trace_requests::table)
        .values(new)
        .returning(TraceRequestRow::as_returning())
        .get_result(conn)
}

pub fn request(conn: &mut PgConnection, id: i64) -> QueryResult<Option<TraceRequestRow>> {
    trace_requests::table
        .find(id)
        .select(TraceRequestRow::as_select())
        .get_result(conn)
        .optional()
}

/// Trace requests, newest first; only the open ones (by due time, soonest first) when asked.
pub fn requests(
    conn: &mut PgConnection,
    open_only: bool,
    limit: i64,
) -> QueryResult<Vec<TraceRequestRow>> {
    use trace_requests::dsl as t;
    let q = t::trace_requests
        .select(TraceRequestRow::as_select())
        .limit(limit);
    if open_only {
        q.filter(t::answered_at.is_null())
            .order((t::due_at, t::id))
            .load(conn)
    } else {
        q.order(t::id.desc()).load(conn)
    }
}

/// Marks a request answered now, unless it was answered before (the first answer stands);
/// the row as it is afterwards, or None when there is no such request.
pub fn answer_request(
    conn: &mut PgConnection,
    id: i64,
    by: &str,
) -> QueryResult<Option<TraceRequestRow>> {
    use trace_requests::dsl as t;
    diesel::update(t::trace_requests.find(id).filter(t::answered_at.is_null()))
        .set((t::answered_at.eq(diesel::dsl::now), t::answered_by.eq(by)))
        .execute(conn)?;
    request(conn, id)
}
