//! Queries of shipments (docs/SHIPMENTS.md): the packing history below the shipped
//! identifiers up to the ship time, the facts of the serials shipped, the master data the
//! document carries, the shipment rows and the sent document's bytes.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Integer, Jsonb, Nullable, SmallInt, Text};
use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

pub use super::master_data::{locations, LocationRow};

/// Keys asked about per statement (as the capture does: the array stays small enough for
/// the planner to take the unique index).
const CHUNK: usize = 10_000;

/// "A standing event": neither an error declaration nor retracted by one.
const STANDING: &str = "e.retracted_by IS NULL AND e.error_declaration_time IS NULL";

/// Every key packed, at any depth, into one of `tops` by a standing AggregationEvent ADD at or
/// before `at` (the tops included). A superset of the hierarchy at that time: what was
/// unpacked again is in it too; [`packing_history`] tells them apart.
pub fn ever_packed_below(
    conn: &mut PgConnection,
    tops: &[String],
    at: DateTime<Utc>,
) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        epc_key: String,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "WITH RECURSIVE down(epc_key, depth) AS (
              SELECT k, 0 FROM unnest($1::text[]) AS k
              UNION
              SELECT ch.epc_key, down.depth + 1 FROM down
                JOIN event_epcs pa ON pa.epc_key = down.epc_key AND pa.role = 2
                JOIN events e ON e.id = pa.event_id
                JOIN event_epcs ch ON ch.event_id = pa.event_id AND ch.role = 3
               WHERE e.event_type = 2 AND e.action = 'ADD' AND e.event_time <= $2
                 AND {STANDING} AND down.depth < 32
          )
          SELECT DISTINCT epc_key FROM down"
    ))
    .bind::<Array<Text>, _>(tops)
    .bind::<Timestamptz, _>(at)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.epc_key).collect())
}

/// A stored AggregationEvent (ADD or DELETE) as the ship-time replay needs it.
#[derive(Debug, Clone, QueryableByName)]
pub struct PackingEvent {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Timestamptz)]
    pub event_time: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub action: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub parent: Option<String>,
    /// Whether the event names children at all (a DELETE without them empties its parent).
    #[diesel(sql_type = Bool)]
    pub has_children: bool,
}

/// One child of a [`PackingEvent`] among the keys asked about.
#[derive(Debug, Clone, QueryableByName)]
pub struct PackingChild {
    #[diesel(sql_type = BigInt)]
    pub event_id: i64,
    #[diesel(sql_type = Text)]
    pub epc_key: String,
}

/// The standing ADD and DELETE aggregation events at or before `at` that name one of `keys`
/// as parent or child, plus those naming as parent a container one of `keys` was packed into
/// (it may have been emptied since): in time order (event time, then id), with their
/// children among `keys`.
pub fn packing_history(
    conn: &mut PgConnection,
    keys: &[String],
    at: DateTime<Utc>,
) -> QueryResult<(Vec<PackingEvent>, Vec<PackingChild>)> {
    #[derive(QueryableByName)]
    struct Named {
        #[diesel(sql_type = BigInt)]
        event_id: i64,
        #[diesel(sql_type = Nullable<Text>)]
        parent: Option<String>,
    }
    let named_sql = format!(
        "SELECT DISTINCT x.event_id,
                (SELECT p.epc_key FROM event_epcs p WHERE p.event_id = x.event_id AND p.role = 2
                  LIMIT 1) AS parent
           FROM event_epcs x JOIN events e ON e.id = x.event_id
          WHERE x.epc_key = ANY($1) AND x.role IN (2, 3) AND e.event_type = 2
            AND e.action IN ('ADD', 'DELETE') AND e.event_time <= $2 AND {STANDING}"
    );
    let mut ids = std::collections::BTreeSet::new();
    let known: std::collections::HashSet<&str> = keys.iter().map(String::as_str).collect();
    let mut other_parents = std::collections::BTreeSet::new();
    for chunk in keys.chunks(CHUNK) {
        let rows: Vec<Named> = diesel::sql_query(&named_sql)
            .bind::<Array<Text>, _>(chunk)
            .bind::<Timestamptz, _>(at)
            .load(conn)?;
        for r in rows {
            ids.insert(r.event_id);
            if let Some(p) = r.parent.filter(|p| !known.contains(p.as_str())) {
                other_parents.insert(p);
            }
        }
    }
    let other_parents: Vec<String> = other_parents.into_iter().collect();
    for chunk in other_parents.chunks(CHUNK) {
        let rows: Vec<Named> = diesel::sql_query(&named_sql)
            .bind::<Array<Text>, _>(chunk)
            .bind::<Timestamptz, _>(at)
            .load(conn)?;
        ids.extend(rows.into_iter().map(|r| r.event_id));
    }
    let ids: Vec<i64> = ids.into_iter().collect();
    let mut events: Vec<PackingEvent> = Vec::with_capacity(ids.len());
    let mut children = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        events.extend(
            diesel::sql_query(
                "SELECT e.id, e.event_time, e.action,
                        (SELECT p.epc_key FROM event_epcs p WHERE p.event_id = e.id AND p.role = 2
                          LIMIT 1) AS parent,
                        EXISTS (SELECT 1 FROM event_epcs c WHERE c.event_id = e.id AND c.role = 3)
                          AS has_children
                   FROM events e WHERE e.id = ANY($1)",
            )
            .bind::<Array<BigInt>, _>(chunk)
            .load::<PackingEvent>(conn)?,
        );
        let rows: Vec<PackingChild> = diesel::sql_query(
            "SELECT c.event_id, c.epc_key FROM event_epcs c
              WHERE c.event_id = ANY($1) AND c.role = 3",
        )
        .bind::<Array<BigInt>, _>(chunk)
        .load(conn)?;
        children.extend(
            rows.into_iter()
                .filter(|c| known.contains(c.epc_key.as_str())),
        );
    }
    events.sort_by_key(|e| (e.event_time, e.id));
    Ok((events, children))
}

/// What a shipment checks and writes of one serial: its own stored state, and for a
/// shipped top-level identifier its effective state (`serial_state`: inherited from the
/// container it is in).
#[derive(Debug, Clone, QueryableByName)]
pub struct SerialFacts {
    #[diesel(sql_type = Text)]
    pub epc_key: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub gtin: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub lot: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub expiry: Option<NaiveDate>,
    #[diesel(sql_type = SmallInt)]
    pub status: i16,
    #[diesel(sql_type = Nullable<Text>)]
    pub owner: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub commissioned_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    pub suspect: bool,
    #[diesel(sql_type = Bool)]
    pub recalled: bool,
    #[diesel(sql_type = Bool)]
    pub illegitimate: bool,
}

const FACT_COLUMNS: &str = "s.epc_key, s.gtin, s.lot, s.expiry, s.status, s.owner,
    s.commissioned_at, s.suspect, s.recalled, s.illegitimate";

/// The stored serials among `keys` (their own rows), in chunks through the unique index.
pub fn serial_facts(conn: &mut PgConnection, keys: &[String]) -> QueryResult<Vec<SerialFacts>> {
    let mut out = Vec::with_capacity(keys.len());
    conn.transaction(|conn| {
        conn.batch_execute("SET LOCAL enable_seqscan TO off")?;
        for chunk in keys.chunks(CHUNK) {
            out.extend(
                diesel::sql_query(format!(
                    "SELECT {FACT_COLUMNS} FROM serials s WHERE s.epc_key = ANY($1)"
                ))
                .bind::<Array<Text>, _>(chunk)
                .load::<SerialFacts>(conn)?,
            );
        }
        conn.batch_execute("SET LOCAL enable_seqscan TO DEFAULT")
    })?;
    Ok(out)
}

/// The effective state (`serial_state`: containment resolved) of a few serials.
pub fn effective_facts(conn: &mut PgConnection, keys: &[String]) -> QueryResult<Vec<SerialFacts>> {
    diesel::sql_query(format!(
        "SELECT {FACT_COLUMNS} FROM serial_state s WHERE s.epc_key = ANY($1)"
    ))
    .bind::<Array<Text>, _>(keys)
    .load(conn)
}

/// An active recall / suspect / illegitimate flag on a product or one of its lots.
#[derive(Debug, Clone, QueryableByName)]
pub struct ProductFlag {
    #[diesel(sql_type = Text)]
    pub gtin: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub lot: Option<String>,
    #[diesel(sql_type = Text)]
    pub flag: String,
    #[diesel(sql_type = Text)]
    pub reason: String,
}

pub fn active_product_flags(
    conn: &mut PgConnection,
    gtins: &[String],
) -> QueryResult<Vec<ProductFlag>> {
    diesel::sql_query(
        "SELECT gtin, lot, flag, reason FROM product_flags
          WHERE cleared_at IS NULL AND gtin = ANY($1) ORDER BY id",
    )
    .bind::<Array<Text>, _>(gtins)
    .load(conn)
}

/// Product master data as stored (`trade_items`).
#[derive(Debug, Clone, QueryableByName)]
pub struct TradeItemRow {
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
    #[diesel(sql_type = Nullable<SmallInt>)]
    pub company_prefix_length: Option<i16>,
}

pub fn trade_items(conn: &mut PgConnection, gtins: &[String]) -> QueryResult<Vec<TradeItemRow>> {
    diesel::sql_query(
        "SELECT gtin, ndc, name, dosage_form, strength, pack_size, manufacturer,
                company_prefix_length
           FROM trade_items WHERE gtin = ANY($1) ORDER BY gtin",
    )
    .bind::<Array<Text>, _>(gtins)
    .load(conn)
}

/// The company prefixes stored in `company_prefixes`.
pub fn company_prefixes(conn: &mut PgConnection) -> QueryResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        prefix: String,
    }
    let rows: Vec<Row> =
        diesel::sql_query("SELECT prefix FROM company_prefixes ORDER BY prefix").load(conn)?;
    Ok(rows.into_iter().map(|r| r.prefix).collect())
}

/// A shipment row to insert.
#[derive(Debug)]
pub struct NewShipment<'a> {
    pub id: Uuid,
    pub document_id: Uuid,
    pub capture_document_id: Uuid,
    pub instance_identifier: &'a str,
    pub buyer_partner_id: i64,
    pub seller_gln: &'a str,
    pub buyer_gln: &'a str,
    pub ship_from: &'a str,
    pub ship_to: &'a str,
    pub ship_time: DateTime<Utc>,
    pub purpose: &'a str,
    pub top_level: &'a [String],
    pub biz_transactions: serde_json::Value,
    pub serial_count: i32,
    pub item_count: i32,
    pub lot_count: i32,
    pub created_by: &'a str,
}

pub fn insert_shipment(conn: &mut PgConnection, s: &NewShipment<'_>) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO shipments (id, document_id, capture_document_id, instance_identifier,
                buyer_partner_id, seller_gln, buyer_gln, ship_from, ship_to, ship_time, purpose,
                top_level, biz_transactions, serial_count, item_count, lot_count, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind::<SqlUuid, _>(s.id)
    .bind::<SqlUuid, _>(s.document_id)
    .bind::<SqlUuid, _>(s.capture_document_id)
    .bind::<Text, _>(s.instance_identifier)
    .bind::<BigInt, _>(s.buyer_partner_id)
    .bind::<Text, _>(s.seller_gln)
    .bind::<Text, _>(s.buyer_gln)
    .bind::<Text, _>(s.ship_from)
    .bind::<Text, _>(s.ship_to)
    .bind::<Timestamptz, _>(s.ship_time)
    .bind::<Text, _>(s.purpose)
    .bind::<Array<Text>, _>(s.top_level)
    .bind::<Jsonb, _>(&s.biz_transactions)
    .bind::<Integer, _>(s.serial_count)
    .bind::<Integer, _>(s.item_count)
    .bind::<Integer, _>(s.lot_count)
    .bind::<Text, _>(s.created_by)
    .execute(conn)
    .map(|_| ())
}

/// A shipment as stored, with its sent document's format and size.
#[derive(Debug, Clone, QueryableByName)]
pub struct ShipmentRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub document_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub capture_document_id: Uuid,
    #[diesel(sql_type = Text)]
    pub instance_identifier: String,
    #[diesel(sql_type = BigInt)]
    pub buyer_partner_id: i64,
    #[diesel(sql_type = Text)]
    pub seller_gln: String,
    #[diesel(sql_type = Text)]
    pub buyer_gln: String,
    #[diesel(sql_type = Text)]
    pub ship_from: String,
    #[diesel(sql_type = Text)]
    pub ship_to: String,
    #[diesel(sql_type = Timestamptz)]
    pub ship_time: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub purpose: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Array<Text>)]
    pub top_level: Vec<String>,
    #[diesel(sql_type = Jsonb)]
    pub biz_transactions: serde_json::Value,
    #[diesel(sql_type = Integer)]
    pub serial_count: i32,
    #[diesel(sql_type = Integer)]
    pub item_count: i32,
    #[diesel(sql_type = Integer)]
    pub lot_count: i32,
    #[diesel(sql_type = Text)]
    pub created_by: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub format: String,
    #[diesel(sql_type = BigInt)]
    pub byte_size: i64,
    #[diesel(sql_type = Integer)]
    pub event_count: i32,
    #[diesel(sql_type = BigInt)]
    pub epc_count: i64,
}

const SHIPMENT_SELECT: &str = "SELECT s.id, s.document_id, s.capture_document_id,
        s.instance_identifier, s.buyer_partner_id, s.seller_gln, s.buyer_gln, s.ship_from,
        s.ship_to, s.ship_time, s.purpose, s.status, s.top_level, s.biz_transactions,
        s.serial_count, s.item_count, s.lot_count, s.created_by, s.created_at, d.format,
        d.byte_size, d.event_count, d.epc_count
   FROM shipments s JOIN documents d ON d.id = s.document_id";

pub fn shipment(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ShipmentRow>> {
    diesel::sql_query(format!("{SHIPMENT_SELECT} WHERE s.id = $1"))
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .optional()
}

/// The newest shipments first, `limit` of them; only those to `buyer` when one is given.
pub fn shipments(
    conn: &mut PgConnection,
    limit: i64,
    buyer: Option<i64>,
) -> QueryResult<Vec<ShipmentRow>> {
    diesel::sql_query(format!(
        "{SHIPMENT_SELECT} WHERE ($1::bigint IS NULL OR s.buyer_partner_id = $1)
          ORDER BY s.created_at DESC, s.id DESC LIMIT $2"
    ))
    .bind::<Nullable<BigInt>, _>(buyer)
    .bind::<BigInt, _>(limit)
    .load(conn)
}

/// Chunk `seq` of a stored document's bytes (`None` past the end).
pub fn document_chunk(conn: &mut PgConnection, id: Uuid, seq: i32) -> QueryResult<Option<Vec<u8>>> {
    use crate::store::schema::document_chunks::dsl as c;
    c::document_chunks
        .filter(c::document_id.eq(id))
        .filter(c::seq.eq(seq))
        .select(c::data)
        .first(conn)
        .optional()
}

/// Appends chunk `seq` of a document's bytes.
pub fn insert_chunk(conn: &mut PgConnection, id: Uuid, seq: i32, data: &[u8]) -> QueryResult<()> {
    use crate::store::schema::document_chunks::dsl as c;
    diesel::insert_into(c::document_chunks)
        .values((c::document_id.eq(id), c::seq.eq(seq), c::data.eq(data)))
        .execute(conn)
        .map(|_| ())
}
