//! Event queries (docs/QUERY.md): which stored events match a filter, a page at a time, and
//! the rows that make those events whole again. The filter holds stored forms only (keys,
//! CBV short words, codes): `crate::query` turns the EPCIS query parameters into it.
//!
//! One SQL statement per page, built from the filter's parts, every value bound as a
//! parameter (never spliced into the text).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::BoxedSqlQuery;
use diesel::sql_types::{
    Array, BigInt, Bytea, Date, Float8, Jsonb, Nullable, SmallInt, Text, Timestamptz,
};

/// What the events must have. Every list is "any of"; empty lists and `None`s do not filter.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub event_types: Vec<i16>,
    pub ge_event_time: Option<DateTime<Utc>>,
    pub lt_event_time: Option<DateTime<Utc>>,
    pub ge_record_time: Option<DateTime<Utc>>,
    pub lt_record_time: Option<DateTime<Utc>>,
    pub actions: Vec<String>,
    pub biz_steps: Vec<String>,
    pub dispositions: Vec<String>,
    pub read_points: Vec<String>,
    pub biz_locations: Vec<String>,
    /// Stored `event_id`s (as the sender wrote them).
    pub event_ids: Vec<String>,
    /// Event hash digests (an event asked for by its hash id).
    pub event_hashes: Vec<Vec<u8>>,
    pub transformation_ids: Vec<String>,
    /// Each: the event has one of these identifiers (keys, or SQL LIKE patterns of keys) in
    /// one of these roles (`event_epcs.role`).
    pub identifiers: Vec<IdentifierMatch>,
    /// Each: a business transaction of this type (None: any type) with one of these ids.
    pub biz_transactions: Vec<TypedValues>,
    /// Each: a source (kind 1) or destination (kind 2) of this type naming one of these parties.
    pub sources_destinations: Vec<(i16, TypedValues)>,
    /// Some(true): only events an error declaration retracted; Some(false): only others.
    pub error_declared: Option<bool>,
}

/// One `MATCH_…` parameter.
#[derive(Debug, Clone, Default)]
pub struct IdentifierMatch {
    pub roles: Vec<i16>,
    pub keys: Vec<String>,
    /// `LIKE` patterns (EPC patterns: `urn:epc:idpat:…` with `*`).
    pub patterns: Vec<String>,
}

/// A type and the values that must go with it.
#[derive(Debug, Clone, Default)]
pub struct TypedValues {
    pub kind: Option<String>,
    pub values: Vec<String>,
}

/// Who asks: what they may see (docs/QUERY.md "Visibility").
#[derive(Debug, Clone)]
pub enum Visibility {
    /// Regulators, compliance officers, administrators, the operator's CLI.
    Everything,
    /// A trading partner: the events of the documents it sent, and the events whose sources or
    /// destinations, or whose document's SBDH sender or receiver, name its GLN.
    Partner {
        partner_id: i64,
        /// The party keys that are the partner (`414<gln>`), matched also with an extension.
        party_key: Option<String>,
        /// The forms an SBDH identifier of the partner may take (the GLN, its SGLN URNs).
        sbdh_forms: Vec<String>,
    },
}

/// The order of a query's events; ties are broken by the stored id, so the order is total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderBy {
    EventTime,
    RecordTime,
}

/// Where a page starts: after this (time, id) in the query's order, seeing only what this
/// snapshot (`pg_current_snapshot()` as text) saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub time: DateTime<Utc>,
    pub id: i64,
}

/// One page request.
#[derive(Debug, Clone)]
pub struct PageRequest<'a> {
    pub filter: &'a EventFilter,
    pub visibility: &'a Visibility,
    pub order: OrderBy,
    pub descending: bool,
    pub after: Option<After>,
    pub snapshot: &'a str,
    /// Rows to return (the caller asks for one more than it shows, to know whether a next
    /// page exists).
    pub limit: i64,
}

/// One matching event: its id and the time it is ordered by.
#[derive(Debug, Clone, QueryableByName)]
pub struct Hit {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Timestamptz)]
    pub time: DateTime<Utc>,
}

/// The current snapshot, as text: the first page's, carried by its token to the next pages.
pub fn snapshot(conn: &mut PgConnection) -> QueryResult<String> {
    #[derive(QueryableByName)]
    struct Snap {
        #[diesel(sql_type = Text)]
        s: String,
    }
    let s: Snap = diesel::sql_query("SELECT pg_current_snapshot()::text AS s").get_result(conn)?;
    Ok(s.s)
}

/// A statement being built: its text and its bound values, in order.
struct Sql {
    text: String,
    binds: Vec<Bind>,
}

enum Bind {
    Text(String),
    Texts(Vec<String>),
    Shorts(Vec<i16>),
    Byteas(Vec<Vec<u8>>),
    Time(DateTime<Utc>),
    Long(i64),
}

impl Sql {
    fn bind(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    fn and(&mut self, clause: String) {
        self.text.push_str(" AND ");
        self.text.push_str(&clause);
    }

    fn finish(self) -> BoxedSqlQuery<'static, Pg, diesel::query_builder::SqlQuery> {
        let mut q = diesel::sql_query(self.text).into_boxed::<Pg>();
        for b in self.binds {
            q = match b {
                Bind::Text(v) => q.bind::<Text, _>(v),
                Bind::Texts(v) => q.bind::<Array<Text>, _>(v),
                Bind::Shorts(v) => q.bind::<Array<SmallInt>, _>(v),
                Bind::Byteas(v) => q.bind::<Array<Bytea>, _>(v),
                Bind::Time(v) => q.bind::<Timestamptz, _>(v),
                Bind::Long(v) => q.bind::<BigInt, _>(v),
            };
        }
        q
    }
}

/// The events of one page, in the query's order.
pub fn page(conn: &mut PgConnection, r: &PageRequest<'_>) -> QueryResult<Vec<Hit>> {
    let column = match r.order {
        OrderBy::EventTime => "e.event_time",
        OrderBy::RecordTime => "e.record_time",
    };
    let mut sql = Sql {
        text: format!(
            "SELECT e.id, {column} AS time FROM events e
              WHERE e.error_declaration_time IS NULL"
        ),
        binds: Vec::new(),
    };
    let snap = sql.bind(Bind::Text(r.snapshot.to_string()));
    sql.and(format!(
        "(e.xact IS NULL OR pg_visible_in_snapshot(e.xact::text::xid8, {snap}::pg_snapshot))"
    ));
    filter_clauses(&mut sql, r.filter);
    visibility_clause(&mut sql, r.visibility);
    let (cmp, dir) = if r.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(a) = &r.after {
        let t = sql.bind(Bind::Time(a.time));
        let id = sql.bind(Bind::Long(a.id));
        sql.and(format!("({column}, e.id) {cmp} ({t}, {id})"));
    }
    let limit = sql.bind(Bind::Long(r.limit));
    sql.text.push_str(&format!(
        " ORDER BY {column} {dir}, e.id {dir} LIMIT {limit}"
    ));
    sql.finish().load(conn)
}

fn filter_clauses(sql: &mut Sql, f: &EventFilter) {
    if !f.event_types.is_empty() {
        let p = sql.bind(Bind::Shorts(f.event_types.clone()));
        sql.and(format!("e.event_type = ANY({p})"));
    }
    for (value, clause) in [
        (f.ge_event_time, "e.event_time >= "),
        (f.lt_event_time, "e.event_time < "),
        (f.ge_record_time, "e.record_time >= "),
        (f.lt_record_time, "e.record_time < "),
    ] {
        if let Some(t) = value {
            let p = sql.bind(Bind::Time(t));
            sql.and(format!("{clause}{p}"));
        }
    }
    for (values, column) in [
        (&f.actions, "e.action"),
        (&f.biz_steps, "e.biz_step"),
        (&f.dispositions, "e.disposition"),
        (&f.read_points, "e.read_point"),
        (&f.biz_locations, "e.biz_location"),
        (&f.transformation_ids, "e.transformation_id"),
    ] {
        if !values.is_empty() {
            let p = sql.bind(Bind::Texts(values.clone()));
            sql.and(format!("{column} = ANY({p})"));
        }
    }
    match (f.event_ids.is_empty(), f.event_hashes.is_empty()) {
        (true, true) => {}
        (false, true) => {
            let p = sql.bind(Bind::Texts(f.event_ids.clone()));
            sql.and(format!("e.event_id = ANY({p})"));
        }
        (true, false) => {
            let p = sql.bind(Bind::Byteas(f.event_hashes.clone()));
            sql.and(format!("e.event_hash = ANY({p})"));
        }
        (false, false) => {
            let ids = sql.bind(Bind::Texts(f.event_ids.clone()));
            let hashes = sql.bind(Bind::Byteas(f.event_hashes.clone()));
            sql.and(format!(
                "(e.event_id = ANY({ids}) OR e.event_hash = ANY({hashes}))"
            ));
        }
    }
    for m in &f.identifiers {
        let roles = sql.bind(Bind::Shorts(m.roles.clone()));
        let mut any = Vec::new();
        if !m.keys.is_empty() {
            let keys = sql.bind(Bind::Texts(m.keys.clone()));
            any.push(format!("x.epc_key = ANY({keys})"));
        }
        if !m.patterns.is_empty() {
            let pats = sql.bind(Bind::Texts(m.patterns.clone()));
            any.push(format!("x.epc_key LIKE ANY({pats})"));
        }
        if any.is_empty() {
            any.push("false".into());
        }
        sql.and(format!(
            "EXISTS (SELECT 1 FROM event_epcs x WHERE x.event_id = e.id
                       AND x.role = ANY({roles}) AND ({}))",
            any.join(" OR ")
        ));
    }
    for bt in &f.biz_transactions {
        let ids = sql.bind(Bind::Texts(bt.values.clone()));
        let kind = match &bt.kind {
            Some(k) => format!("AND b.type = {}", sql.bind(Bind::Text(k.clone()))),
            None => String::new(),
        };
        sql.and(format!(
            "EXISTS (SELECT 1 FROM event_biz_transactions b WHERE b.event_id = e.id
                       AND b.bt_id = ANY({ids}) {kind})"
        ));
    }
    for (side, sd) in &f.sources_destinations {
        let parties = sql.bind(Bind::Texts(sd.values.clone()));
        let side = sql.bind(Bind::Shorts(vec![*side]));
        let kind = match &sd.kind {
            Some(k) => format!("AND s.type = {}", sql.bind(Bind::Text(k.clone()))),
            None => String::new(),
        };
        sql.and(format!(
            "EXISTS (SELECT 1 FROM event_sources_destinations s WHERE s.event_id = e.id
                       AND s.kind = ANY({side}) AND s.party = ANY({parties}) {kind})"
        ));
    }
    match f.error_declared {
        Some(true) => sql.and("e.retracted_by IS NOT NULL".into()),
        Some(false) => sql.and("e.retracted_by IS NULL".into()),
        None => {}
    }
}

fn visibility_clause(sql: &mut Sql, v: &Visibility) {
    let Visibility::Partner {
        partner_id,
        party_key,
        sbdh_forms,
    } = v
    else {
        return;
    };
    let pid = sql.bind(Bind::Long(*partner_id));
    let forms = sql.bind(Bind::Texts(sbdh_forms.clone()));
    let parties = match party_key {
        Some(k) => {
            let exact = sql.bind(Bind::Text(k.clone()));
            let extended = sql.bind(Bind::Text(format!("{k}254%")));
            format!(
                " OR EXISTS (SELECT 1 FROM event_sources_destinations s WHERE s.event_id = e.id
                               AND (s.party = {exact} OR s.party LIKE {extended}))"
            )
        }
        None => String::new(),
    };
    sql.and(format!(
        "(EXISTS (SELECT 1 FROM documents d WHERE d.id = e.document_id
                    AND (d.partner_id = {pid} OR d.sender = ANY({forms})
                         OR d.receiver = ANY({forms}))){parties})"
    ));
}

/// An event's own row, as stored.
#[derive(Debug, Clone, QueryableByName)]
pub struct StoredEvent {
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
    pub event_id: Option<String>,
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
    #[diesel(sql_type = Nullable<Text>)]
    pub transformation_id: Option<String>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub persistent_disposition: Option<serde_json::Value>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub extensions: Option<serde_json::Value>,
    /// The declaration that retracted the event, when one did.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub declaration_time: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub declaration_reason: Option<String>,
    #[diesel(sql_type = Nullable<Array<Nullable<Text>>>)]
    pub corrective_event_ids: Option<Vec<Option<String>>>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub declaration_extensions: Option<serde_json::Value>,
}

/// One identifier row of an event.
#[derive(Debug, Clone, QueryableByName)]
pub struct StoredEpc {
    #[diesel(sql_type = BigInt)]
    pub event_id: i64,
    #[diesel(sql_type = SmallInt)]
    pub role: i16,
    #[diesel(sql_type = Text)]
    pub epc_key: String,
    #[diesel(sql_type = Nullable<Float8>)]
    pub quantity: Option<f64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub uom: Option<String>,
}

/// A business transaction, source or destination row (`kind`: `codes::PartyKind`, 0 for a
/// business transaction).
#[derive(Debug, Clone, QueryableByName)]
pub struct StoredParty {
    #[diesel(sql_type = BigInt)]
    pub event_id: i64,
    #[diesel(sql_type = SmallInt)]
    pub kind: i16,
    #[diesel(sql_type = Nullable<Text>)]
    pub kind_type: Option<String>,
    #[diesel(sql_type = Text)]
    pub value: String,
}

/// An event's ILMD row.
#[derive(Debug, Clone, QueryableByName)]
pub struct StoredIlmd {
    #[diesel(sql_type = BigInt)]
    pub event_id: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub lot: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub expiry: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub other: Option<serde_json::Value>,
}

/// Everything stored of some events.
#[derive(Debug, Default)]
pub struct EventRows {
    pub events: Vec<StoredEvent>,
    /// By event id, then role and key.
    pub epcs: Vec<StoredEpc>,
    /// By event id, then stored order.
    pub parties: Vec<StoredParty>,
    pub ilmd: Vec<StoredIlmd>,
}

/// Loads the events with these ids and their rows (in no particular order of events).
pub fn load(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<EventRows> {
    if ids.is_empty() {
        return Ok(EventRows::default());
    }
    let events = diesel::sql_query(
        "SELECT e.id, e.event_type, e.action, e.event_time, e.event_time_zone_offset,
                e.record_time, e.event_id, e.event_hash, e.biz_step, e.disposition,
                e.read_point, e.biz_location, e.transformation_id, e.persistent_disposition,
                e.extensions, d.error_declaration_time AS declaration_time,
                d.error_reason AS declaration_reason, d.corrective_event_ids,
                d.extensions AS declaration_extensions
           FROM events e LEFT JOIN events d ON d.id = e.retracted_by
          WHERE e.id = ANY($1)",
    )
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)?;
    let epcs = diesel::sql_query(
        "SELECT event_id, role, epc_key, quantity, uom FROM event_epcs
          WHERE event_id = ANY($1) ORDER BY event_id, role, epc_key",
    )
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)?;
    let parties = parties(conn, ids)?;
    let ilmd = diesel::sql_query(
        "SELECT event_id, lot, expiry, other FROM event_ilmd WHERE event_id = ANY($1)",
    )
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)?;
    Ok(EventRows {
        events,
        epcs,
        parties,
        ilmd,
    })
}

/// The business transactions, sources and destinations of these events, by event id, then
/// kind, then stored order.
pub fn parties(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<StoredParty>> {
    diesel::sql_query(
        "SELECT event_id, 0::smallint AS kind, type AS kind_type, bt_id AS value, seq
           FROM event_biz_transactions WHERE event_id = ANY($1)
         UNION ALL
         SELECT event_id, kind, type, party, seq
           FROM event_sources_destinations WHERE event_id = ANY($1)
         ORDER BY event_id, kind, seq",
    )
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)
}

/// The secret with this name, made (32 random bytes from OpenSSL) and stored on first use; the
/// same for every server process on the database.
pub fn secret(conn: &mut PgConnection, name: &str) -> QueryResult<Vec<u8>> {
    use super::schema::server_secrets::dsl;
    let stored = dsl::server_secrets
        .filter(dsl::name.eq(name))
        .select(dsl::secret)
        .get_result(conn)
        .optional()?;
    if let Some(s) = stored {
        return Ok(s);
    }
    let mut fresh = [0u8; 32];
    openssl::rand::rand_bytes(&mut fresh).map_err(|e| {
        diesel::result::Error::QueryBuilderError(format!("no random bytes: {e}").into())
    })?;
    diesel::insert_into(dsl::server_secrets)
        .values((dsl::name.eq(name), dsl::secret.eq(&fresh[..])))
        .on_conflict_do_nothing()
        .execute(conn)?;
    // Another process may have made it first: theirs is the one.
    dsl::server_secrets
        .filter(dsl::name.eq(name))
        .select(dsl::secret)
        .get_result(conn)
}
