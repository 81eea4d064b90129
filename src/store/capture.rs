//! Storage for EPCIS capture: binary COPY of events and their rows, and set-based state updates
//! of the per-serial table through a per-transaction staging table (`capture_effects`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use uuid::Uuid;

use super::schema::{
    document_chunks, documents, event_biz_transactions, event_epcs, event_ilmd,
    event_sources_destinations, events,
};

diesel::table! {
    /// Per-transaction staging table (see [`create_staging`]); one row per identifier a batch
    /// of events touches.
    capture_effects (ord, epc_key) {
        ord -> Integer,
        event_id -> BigInt,
        epc_key -> Text,
        kind -> SmallInt,
        gtin -> Nullable<Text>,
        serial_number -> Nullable<Text>,
        is_parent -> Bool,
        parent_key -> Nullable<Text>,
        lot -> Nullable<Text>,
        expiry -> Nullable<Date>,
        status -> Nullable<SmallInt>,
        disposition -> Nullable<Text>,
        owner -> Nullable<Text>,
        location -> Nullable<Text>,
        event_time -> Timestamptz,
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = capture_effects, treat_none_as_default_value = false)]
pub struct EffectRow {
    /// Index of the event inside its batch.
    pub ord: i32,
    pub event_id: i64,
    pub epc_key: String,
    pub kind: i16,
    pub gtin: Option<String>,
    pub serial_number: Option<String>,
    pub is_parent: bool,
    pub parent_key: Option<String>,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub status: Option<i16>,
    pub disposition: Option<String>,
    pub owner: Option<String>,
    pub location: Option<String>,
    pub event_time: DateTime<Utc>,
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
#[derive(Debug, Default)]
pub struct BatchRows {
    pub events: Vec<EventRow>,
    pub epcs: Vec<EpcRow>,
    pub biz_transactions: Vec<BizTransactionRow>,
    pub sources_destinations: Vec<SourceDestRow>,
    pub ilmd: Vec<IlmdRow>,
    pub effects: Vec<EffectRow>,
}

pub fn create_staging(conn: &mut PgConnection) -> QueryResult<()> {
    conn.batch_execute(
        "CREATE TEMP TABLE IF NOT EXISTS capture_effects (
            ord integer NOT NULL, event_id bigint NOT NULL, epc_key text NOT NULL,
            kind smallint NOT NULL, gtin text, serial_number text, is_parent boolean NOT NULL,
            parent_key text, lot text, expiry date, status smallint, disposition text,
            owner text, location text, event_time timestamptz NOT NULL
         ) ON COMMIT DROP",
    )
}

/// Event ids for a batch, reserved from the sequence in one round trip.
pub fn reserve_event_ids(conn: &mut PgConnection, n: usize) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let ids: Vec<Id> =
        diesel::sql_query("SELECT nextval('events_id_seq') AS id FROM generate_series(1, $1)")
            .bind::<Integer, _>(n as i32)
            .load(conn)?;
    Ok(ids.into_iter().map(|i| i.id).collect())
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
    conn.batch_execute("TRUNCATE capture_effects")?;
    if !rows.effects.is_empty() {
        diesel::copy_from(capture_effects::table)
            .from_insertable(&rows.effects)
            .execute(conn)?;
        // Nothing analyzes tables inside a transaction: without statistics the planner guesses
        // and picks nested loops over thousands of rows.
        if rows.effects.len() > 1000 {
            conn.batch_execute("ANALYZE capture_effects")?;
        }
    }
    Ok(())
}

/// A problem found in the staged effects, for the business rules.
#[derive(Debug, QueryableByName)]
pub struct Problem {
    #[diesel(sql_type = Integer)]
    pub ord: i32,
    #[diesel(sql_type = Text)]
    pub epc_key: String,
    /// `unknown`, `out_of_circulation`, `duplicate`, `lot_mismatch`, `expiry_mismatch`,
    /// `other_parent`
    #[diesel(sql_type = Text)]
    pub problem: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    pub detail: Option<String>,
}

fn problems(conn: &mut PgConnection, sql: &str) -> QueryResult<Vec<Problem>> {
    diesel::sql_query(sql).load(conn)
}

/// Serial statuses (docs/ARCHITECTURE.md): 6 decommissioned, 7 destroyed. (A dispensed pack may
/// legitimately be seen again, e.g. returned; verification still answers it as not for
/// redistribution.)
const OUT_OF_CIRCULATION: &str = "(6, 7)";

/// Commissioning: new serials are inserted; placeholders (status 8, seen before their
/// commissioning arrived) become commissioned; serials already commissioned are flagged as
/// duplicates (a potential counterfeit) and keep their first data.
/// Returns (problems, created, updated).
pub fn apply_commission(conn: &mut PgConnection) -> QueryResult<(Vec<Problem>, usize, usize)> {
    let found = problems(
        conn,
        "SELECT f.ord, f.epc_key, 'duplicate' AS problem, NULL AS detail
           FROM capture_effects f JOIN serials s ON s.epc_key = f.epc_key WHERE s.status <> 8
         UNION ALL
         SELECT f.ord, f.epc_key, 'lot_mismatch', 'stored ' || coalesce(s.lot, 'none') || ', event ' || f.lot
           FROM capture_effects f JOIN serials s ON s.epc_key = f.epc_key
          WHERE s.status <> 8 AND f.lot IS NOT NULL AND s.lot IS DISTINCT FROM f.lot
         UNION ALL
         SELECT f.ord, f.epc_key, 'expiry_mismatch',
                'stored ' || coalesce(s.expiry::text, 'none') || ', event ' || f.expiry::text
           FROM capture_effects f JOIN serials s ON s.epc_key = f.epc_key
          WHERE s.status <> 8 AND f.expiry IS NOT NULL AND s.expiry IS DISTINCT FROM f.expiry",
    )?;
    conn.batch_execute(
        "UPDATE serials s SET duplicate = true, commission_count = s.commission_count + 1,
                updated_at = now()
           FROM capture_effects f WHERE s.epc_key = f.epc_key AND s.status <> 8",
    )?;
    let updated = diesel::sql_query(
        "UPDATE serials s SET status = 1, lot = f.lot, expiry = f.expiry,
                disposition = coalesce(f.disposition, s.disposition),
                owner = coalesce(f.owner, s.owner), location = coalesce(f.location, s.location),
                last_event_id = f.event_id, commissioned_at = f.event_time,
                commission_count = 1, updated_at = now()
           FROM capture_effects f WHERE s.epc_key = f.epc_key AND s.status = 8",
    )
    .execute(conn)?;
    let created = diesel::sql_query(
        "INSERT INTO serials (epc_key, kind, gtin, serial_number, lot, expiry, status,
                              disposition, owner, location, last_event_id, commissioned_at,
                              commission_count)
         SELECT f.epc_key, f.kind, f.gtin, f.serial_number, f.lot, f.expiry, 1, f.disposition,
                f.owner, f.location, f.event_id, f.event_time, 1
           FROM capture_effects f
         ON CONFLICT (epc_key) DO NOTHING",
    )
    .execute(conn)?;
    // A large first load changes the table's size by orders of magnitude: refresh statistics.
    if created > 10_000 {
        conn.batch_execute("ANALYZE serials")?;
    }
    Ok((found, created, updated))
}

/// Serials an event names that are not known: recorded with status 8 (unknown) so that the
/// event's effects apply and a later commissioning completes them (out-of-order arrival).
fn insert_placeholders(conn: &mut PgConnection) -> QueryResult<(Vec<Problem>, usize)> {
    let unknown = problems(
        conn,
        "SELECT f.ord, f.epc_key, 'unknown' AS problem, NULL AS detail
           FROM capture_effects f
          WHERE NOT EXISTS (SELECT 1 FROM serials s WHERE s.epc_key = f.epc_key)",
    )?;
    let created = diesel::sql_query(
        "INSERT INTO serials (epc_key, kind, gtin, serial_number, status, last_event_id)
         SELECT DISTINCT ON (f.epc_key) f.epc_key, f.kind, f.gtin, f.serial_number, 8, f.event_id
           FROM capture_effects f
         ON CONFLICT (epc_key) DO NOTHING",
    )
    .execute(conn)?;
    Ok((unknown, created))
}

fn out_of_circulation(conn: &mut PgConnection) -> QueryResult<Vec<Problem>> {
    problems(
        conn,
        &format!(
            "SELECT f.ord, f.epc_key, 'out_of_circulation' AS problem,
                    CASE s.status WHEN 6 THEN 'decommissioned' ELSE 'destroyed' END AS detail
               FROM capture_effects f JOIN serials s ON s.epc_key = f.epc_key
              WHERE s.status IN {OUT_OF_CIRCULATION}"
        ),
    )
}

/// Packing (AggregationEvent ADD): children point at their parent and at the outermost
/// container; the contents of packed containers follow their new outermost container.
pub fn apply_pack(conn: &mut PgConnection) -> QueryResult<(Vec<Problem>, usize, usize)> {
    let (mut found, created) = insert_placeholders(conn)?;
    found.extend(out_of_circulation(conn)?);
    found.extend(problems(
        conn,
        "SELECT f.ord, f.epc_key, 'other_parent' AS problem, p.epc_key AS detail
           FROM capture_effects f JOIN serials s ON s.epc_key = f.epc_key
           JOIN serials p ON p.id = s.parent_id
          WHERE NOT f.is_parent AND p.epc_key <> f.parent_key",
    )?);
    let updated = diesel::sql_query(
        "UPDATE serials s SET parent_id = p.id, top_id = coalesce(p.top_id, p.id),
                status = CASE WHEN s.status = 8 THEN 8 ELSE 2 END,
                disposition = coalesce(f.disposition, s.disposition),
                location = coalesce(f.location, s.location),
                last_event_id = f.event_id, updated_at = now()
           FROM capture_effects f JOIN serials p ON p.epc_key = f.parent_key
          WHERE s.epc_key = f.epc_key AND NOT f.is_parent",
    )
    .execute(conn)?;
    // Walk down from the moved children (parent_id index): nothing to do for plain items.
    conn.batch_execute(
        "WITH RECURSIVE moved AS MATERIALIZED (
            SELECT c.id, c.top_id FROM capture_effects f JOIN serials c ON c.epc_key = f.epc_key
             WHERE NOT f.is_parent
         ), tree AS (
            SELECT x.id, m.top_id FROM moved m JOIN serials x ON x.parent_id = m.id
            UNION ALL
            SELECT x.id, tree.top_id FROM tree JOIN serials x ON x.parent_id = tree.id
         )
         UPDATE serials d SET top_id = tree.top_id FROM tree WHERE d.id = tree.id",
    )?;
    Ok((found, created, updated.saturating_sub(created)))
}

/// Unpacking (AggregationEvent DELETE). Effects list the children, or only the parent (with
/// `is_parent`) when the event names no children: then every child is taken out. Unpacked
/// children take the status of the container they leave, and become the outermost container
/// of whatever they hold.
pub fn apply_unpack(conn: &mut PgConnection) -> QueryResult<(Vec<Problem>, usize, usize)> {
    let (found, created) = insert_placeholders(conn)?;
    conn.batch_execute(
        "CREATE TEMP TABLE IF NOT EXISTS capture_roots (
            id bigint NOT NULL, event_id bigint NOT NULL, disposition text, parent_status smallint
         ) ON COMMIT DROP;
         TRUNCATE capture_roots;
         INSERT INTO capture_roots (id, event_id, disposition, parent_status)
         SELECT s.id, f.event_id, f.disposition, p.status
           FROM serials s JOIN capture_effects f ON NOT f.is_parent AND s.epc_key = f.epc_key
           LEFT JOIN serials p ON p.id = s.parent_id
         UNION ALL
         SELECT c.id, f.event_id, f.disposition, p.status
           FROM serials p JOIN capture_effects f ON f.is_parent AND p.epc_key = f.epc_key
           JOIN serials c ON c.parent_id = p.id;",
    )?;
    let updated = diesel::sql_query(
        "UPDATE serials s SET parent_id = NULL, top_id = NULL,
                status = CASE WHEN s.status = 2 THEN coalesce(r.parent_status, s.status)
                              ELSE s.status END,
                disposition = coalesce(r.disposition, s.disposition),
                last_event_id = r.event_id, updated_at = now()
           FROM capture_roots r WHERE s.id = r.id",
    )
    .execute(conn)?;
    conn.batch_execute(
        "WITH RECURSIVE tree AS (
            SELECT id, id AS root FROM capture_roots
            UNION ALL
            SELECT s.id, tree.root FROM serials s JOIN tree ON s.parent_id = tree.id
         )
         UPDATE serials s SET top_id = tree.root FROM tree
          WHERE s.id = tree.id AND tree.id <> tree.root",
    )?;
    Ok((found, created, updated.saturating_sub(created)))
}

/// Observations, shipping, receiving, dispensing, decommissioning, destroying: the status,
/// disposition, owner and location of each named serial change, and, where `inherit` holds,
/// of everything inside it (shipping a pallet ships its cases and items), in one statement.
pub fn apply_transition(
    conn: &mut PgConnection,
    inherit: bool,
) -> QueryResult<(Vec<Problem>, usize, usize)> {
    let (mut found, created) = insert_placeholders(conn)?;
    found.extend(out_of_circulation(conn)?);
    let descend = if inherit {
        "UNION ALL SELECT c.id, tree.ord FROM serials c JOIN tree ON c.parent_id = tree.id"
    } else {
        ""
    };
    let updated = diesel::sql_query(format!(
        "WITH RECURSIVE tree AS (
            SELECT s.id, f.ord FROM serials s JOIN capture_effects f ON s.epc_key = f.epc_key
            {descend}
         )
         UPDATE serials s SET
                status = CASE WHEN s.status = 8 THEN 8 ELSE coalesce(f.status, s.status) END,
                disposition = coalesce(f.disposition, s.disposition),
                owner = coalesce(f.owner, s.owner), location = coalesce(f.location, s.location),
                last_event_id = f.event_id, updated_at = now()
           FROM tree
           -- One row per event: an event's values are the same for every identifier it names.
           JOIN (SELECT DISTINCT ON (ord) * FROM capture_effects ORDER BY ord) f ON f.ord = tree.ord
          WHERE s.id = tree.id"
    ))
    .execute(conn)?;
    Ok((found, created, updated.saturating_sub(created)))
}

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
