//! Queries behind product verification, and the batched verification log.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use super::codes::SerialStatus;
use super::schema::{lookup_directory, product_flags, verification_requests};
use super::PgPool;

/// What verification needs to know about one serial.
#[derive(Debug, Clone)]
pub struct SerialFacts {
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub status: SerialStatus,
    pub suspect: bool,
    pub recalled: bool,
    pub illegitimate: bool,
    pub duplicate: bool,
    /// Active flags set on the serial's product or lot.
    pub product_flags: Vec<String>,
}

/// Facts of the stored serials among `epc_keys`, in one statement: each serial row joined with
/// the active flags on its product or lot. Built with the query builder and bound as one array,
/// so diesel prepares it once per connection whatever the number of keys.
pub fn serial_facts_many(
    conn: &mut PgConnection,
    epc_keys: &[&str],
) -> QueryResult<Vec<(String, SerialFacts)>> {
    use super::schema::serials::dsl as s;
    type Row = (
        String,
        Option<String>,
        Option<NaiveDate>,
        SerialStatus,
        bool,
        bool,
        bool,
        bool,
        Option<String>,
    );
    // The serial's own gtin column: for an SGTIN key ('01' gtin '21' serial) capture always
    // fills it with the key's GTIN.
    let rows: Vec<Row> = s::serials
        .left_join(
            product_flags::table.on(product_flags::gtin
                .nullable()
                .eq(s::gtin)
                .and(product_flags::cleared_at.is_null())
                .and(
                    product_flags::lot
                        .is_null()
                        .or(product_flags::lot.eq(s::lot)),
                )),
        )
        .filter(s::epc_key.eq_any(epc_keys))
        .select((
            s::epc_key,
            s::lot,
            s::expiry,
            s::status,
            s::suspect,
            s::recalled,
            s::illegitimate,
            s::duplicate,
            product_flags::flag.nullable(),
        ))
        .load(conn)?;
    let mut out: Vec<(String, SerialFacts)> = Vec::with_capacity(rows.len());
    for (key, lot, expiry, status, suspect, recalled, illegitimate, duplicate, flag) in rows {
        // A serial under several active flags comes once per flag (an unflagged one once).
        if flag.is_some() {
            if let Some((_, facts)) = out.iter_mut().rev().find(|(k, _)| *k == key) {
                facts.product_flags.extend(flag);
                continue;
            }
        }
        out.push((
            key,
            SerialFacts {
                lot,
                expiry,
                status,
                suspect,
                recalled,
                illegitimate,
                duplicate,
                product_flags: flag.into_iter().collect(),
            },
        ));
    }
    Ok(out)
}

/// Why a look-up through [`FactsLookup`] failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LookupError {
    #[error("no database connection: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Query(String),
}

/// Serial facts for the verification hot path, looked up in batches on threads of their own.
///
/// A request queues its key and awaits the answer; a look-up thread takes everything queued,
/// asks for all of it in one statement ([`serial_facts_many`]) and answers each waiter. Under
/// load, one thread wake-up and one database round trip serve many requests; with one request
/// in flight it costs the same single hop as the blocking pool. Nothing waits for a batch to
/// fill, so no latency is added. Diesel stays off the async executor.
///
/// Each thread keeps a connection of its own (outside the pool), set to always use the generic
/// plan of its prepared statement: with an array parameter PostgreSQL would otherwise re-plan
/// the join for every batch, which costs more than executing it.
pub struct FactsLookup {
    shared: std::sync::Arc<Shared>,
}

struct Shared {
    queue: std::sync::Mutex<Queue>,
    ready: std::sync::Condvar,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    /// Look-up threads waiting for work: notify only when someone sleeps (a wake is a syscall).
    sleeping: usize,
    closed: bool,
}

struct Pending {
    epc_key: String,
    reply: tokio::sync::oneshot::Sender<Result<Option<SerialFacts>, LookupError>>,
}

impl FactsLookup {
    /// Keys per statement at most: large enough to amortise, small enough to answer promptly.
    const MAX_BATCH: usize = 256;

    /// `url`: the database the pool connects to; without it every batch borrows a pooled
    /// connection (correct, but re-planned each time).
    pub fn start(pool: PgPool, url: Option<String>, threads: usize) -> FactsLookup {
        let shared = std::sync::Arc::new(Shared {
            queue: std::sync::Mutex::new(Queue::default()),
            ready: std::sync::Condvar::new(),
        });
        for n in 0..threads.max(1) {
            let (shared, pool, url) = (shared.clone(), pool.clone(), url.clone());
            std::thread::Builder::new()
                .name(format!("facts-lookup-{n}"))
                .spawn(move || lookup_loop(&shared, &pool, url.as_deref()))
                .expect("spawn facts look-up thread");
        }
        FactsLookup { shared }
    }

    /// The facts of one serial, or None when it is not stored.
    pub async fn facts(&self, epc_key: String) -> Result<Option<SerialFacts>, LookupError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let wake = {
            let mut q = self.shared.queue.lock().expect("facts queue lock");
            q.pending.push(Pending { epc_key, reply });
            q.sleeping > 0
        };
        if wake {
            self.shared.ready.notify_one();
        }
        answer
            .await
            .map_err(|_| LookupError::Unavailable("the look-up threads have stopped".into()))?
    }
}

impl Drop for FactsLookup {
    fn drop(&mut self) {
        self.shared.queue.lock().expect("facts queue lock").closed = true;
        self.shared.ready.notify_all();
    }
}

fn lookup_loop(shared: &Shared, pool: &PgPool, url: Option<&str>) {
    let mut own: Option<PgConnection> = None;
    loop {
        let batch: Vec<Pending> = {
            let mut q = shared.queue.lock().expect("facts queue lock");
            while q.pending.is_empty() && !q.closed {
                q.sleeping += 1;
                q = shared.ready.wait(q).expect("facts queue lock");
                q.sleeping -= 1;
            }
            if q.pending.is_empty() {
                return;
            }
            let n = q.pending.len().min(FactsLookup::MAX_BATCH);
            let batch = q.pending.drain(..n).collect();
            // More than one batch waiting: let a sleeping thread take the rest now.
            if !q.pending.is_empty() && q.sleeping > 0 {
                shared.ready.notify_one();
            }
            batch
        };
        let keys: Vec<&str> = batch.iter().map(|p| p.epc_key.as_str()).collect();
        let found = match url {
            Some(url) => look_up_own(&mut own, url, &keys),
            None => match pool.get() {
                Err(e) => Err(LookupError::Unavailable(e.to_string())),
                Ok(mut conn) => serial_facts_many(&mut conn, &keys).map_err(|e| {
                    super::discard_if_dead(&mut conn);
                    LookupError::Query(e.to_string())
                }),
            },
        };
        drop(keys);
        answer(batch, found);
    }
}

/// On the thread's own connection, (re)connecting when there is none; any failure drops it, so
/// the next batch starts on a fresh one (the database may have restarted).
fn look_up_own(
    own: &mut Option<PgConnection>,
    url: &str,
    keys: &[&str],
) -> Result<Vec<(String, SerialFacts)>, LookupError> {
    use diesel::connection::SimpleConnection;
    let conn = match own {
        Some(c) => c,
        None => {
            let mut c = super::connect(url).map_err(|e| LookupError::Unavailable(e.to_string()))?;
            c.batch_execute("SET plan_cache_mode = force_generic_plan")
                .map_err(|e| LookupError::Unavailable(e.to_string()))?;
            own.insert(c)
        }
    };
    serial_facts_many(conn, keys).map_err(|e| {
        *own = None;
        LookupError::Query(e.to_string())
    })
}

fn answer(batch: Vec<Pending>, found: Result<Vec<(String, SerialFacts)>, LookupError>) {
    match found {
        Ok(found) => {
            let found: std::collections::HashMap<String, SerialFacts> = found.into_iter().collect();
            for p in batch {
                // Cloned: the same serial may be asked for twice in one batch.
                let _ = p.reply.send(Ok(found.get(&p.epc_key).cloned()));
            }
        }
        Err(e) => {
            for p in batch {
                let _ = p.reply.send(Err(e.clone()));
            }
        }
    }
}

#[derive(QueryableByName)]
struct Served {
    #[diesel(sql_type = Bool)]
    served: bool,
}

/// Whether this server is the responder for a GTIN: it has its master data or any of its serials
/// (`serial_gtins`, kept by a trigger on `serials`: migration 10).
pub fn gtin_served(conn: &mut PgConnection, gtin: &str) -> QueryResult<bool> {
    diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM trade_items WHERE gtin = $1) \
             OR EXISTS (SELECT 1 FROM serial_gtins WHERE gtin = $1) AS served",
    )
    .bind::<Text, _>(gtin)
    .get_result::<Served>(conn)
    .map(|s| s.served)
}

/// The responder registered for the longest prefix of `gtin` (a GTIN-14 or company prefix).
pub fn responder_for(conn: &mut PgConnection, gtin: &str) -> QueryResult<Option<String>> {
    let prefixes: Vec<String> = (4..=gtin.len()).map(|n| gtin[..n].to_string()).collect();
    // GTIN-14 starts with the indicator digit; company prefixes are registered without it.
    let without_indicator: Vec<String> = (5..=gtin.len()).map(|n| gtin[1..n].to_string()).collect();
    lookup_directory::table
        .filter(
            lookup_directory::prefix
                .eq_any(&prefixes)
                .or(lookup_directory::prefix.eq_any(&without_indicator)),
        )
        .order(diesel::dsl::sql::<BigInt>("length(prefix)").desc())
        .select(lookup_directory::responder_url)
        .first(conn)
        .optional()
}

/// Name, strength and dosage form of a product, from its master data.
#[derive(Debug, Clone, Default, Queryable, serde::Serialize)]
pub struct ProductDescription {
    name: Option<String>,
    strength: Option<String>,
    dosage_form: Option<String>,
}

/// The description of a product, if its master data is known.
pub fn product_description(
    conn: &mut PgConnection,
    gtin: &str,
) -> QueryResult<Option<ProductDescription>> {
    use super::schema::trade_items as t;
    t::table
        .filter(t::gtin.eq(gtin))
        .select((t::name, t::strength, t::dosage_form))
        .first(conn)
        .optional()
}

pub fn set_responder(conn: &mut PgConnection, prefix: &str, url: &str) -> QueryResult<()> {
    diesel::insert_into(lookup_directory::table)
        .values((
            lookup_directory::prefix.eq(prefix),
            lookup_directory::responder_url.eq(url),
        ))
        .on_conflict(lookup_directory::prefix)
        .do_update()
        .set((
            lookup_directory::responder_url.eq(url),
            lookup_directory::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Sets a recall/suspect/illegitimate flag on a product or one of its lots.
pub fn flag_product(
    conn: &mut PgConnection,
    gtin: &str,
    lot: Option<&str>,
    flag: &str,
    reason: &str,
    set_by: Option<i64>,
) -> QueryResult<i64> {
    diesel::insert_into(product_flags::table)
        .values((
            product_flags::gtin.eq(gtin),
            product_flags::lot.eq(lot),
            product_flags::flag.eq(flag),
            product_flags::reason.eq(reason),
            product_flags::set_by.eq(set_by),
        ))
        .returning(product_flags::id)
        .get_result(conn)
}

/// Sets a flag on one serial; false when the serial is unknown.
pub fn flag_serial(conn: &mut PgConnection, epc_key: &str, flag: &str) -> QueryResult<bool> {
    use super::schema::serials::dsl as s;
    let target = s::serials.filter(s::epc_key.eq(epc_key));
    let now = s::updated_at.eq(diesel::dsl::now);
    let n = match flag {
        "suspect" => diesel::update(target)
            .set((s::suspect.eq(true), now))
            .execute(conn)?,
        "recalled" => diesel::update(target)
            .set((s::recalled.eq(true), now))
            .execute(conn)?,
        "illegitimate" => diesel::update(target)
            .set((s::illegitimate.eq(true), now))
            .execute(conn)?,
        _ => 0,
    };
    Ok(n == 1)
}

/// One verification request and its answer, as kept for the 6-year retention.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = verification_requests)]
// Written with COPY, which has no DEFAULT: every field is a column, None is NULL.
#[diesel(treat_none_as_default_value = false)]
pub struct VerificationRecord {
    pub received_at: DateTime<Utc>,
    pub partner_id: Option<i64>,
    pub requester_gln: Option<String>,
    pub corr_uuid: Option<String>,
    pub context: Option<String>,
    pub gtin: Option<String>,
    pub serial_number: Option<String>,
    pub lot: Option<String>,
    pub expiry: Option<String>,
    pub verified: Option<bool>,
    pub failure_reason: Option<String>,
    pub additional_info: Option<Vec<Option<String>>>,
    pub http_status: i16,
    pub forwarded_to: Option<String>,
    pub duration_us: Option<i32>,
}

/// A logged request, as `GET /verification-requests` shows it.
#[derive(Debug, Queryable, serde::Serialize)]
pub struct LoggedRequest {
    id: i64,
    received_at: DateTime<Utc>,
    partner_id: Option<i64>,
    requester_gln: Option<String>,
    corr_uuid: Option<String>,
    gtin: Option<String>,
    serial_number: Option<String>,
    lot: Option<String>,
    verified: Option<bool>,
    failure_reason: Option<String>,
    additional_info: Option<Vec<Option<String>>>,
    http_status: i16,
    forwarded_to: Option<String>,
}

/// The newest `limit` logged requests, newest first: of one partner and of one GTIN if given.
pub fn requests(
    conn: &mut PgConnection,
    partner_id: Option<i64>,
    gtin: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<LoggedRequest>> {
    use verification_requests as vr;
    let mut q = vr::table
        .select((
            vr::id,
            vr::received_at,
            vr::partner_id,
            vr::requester_gln,
            vr::corr_uuid,
            vr::gtin,
            vr::serial_number,
            vr::lot,
            vr::verified,
            vr::failure_reason,
            vr::additional_info,
            vr::http_status,
            vr::forwarded_to,
        ))
        .order(vr::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(p) = partner_id {
        q = q.filter(vr::partner_id.eq(p));
    }
    if let Some(g) = gtin {
        q = q.filter(vr::gtin.eq(g));
    }
    q.load(conn)
}

/// Writes verification records in batches on a thread of its own, so that answering a request
/// never waits for its log row. The channel is bounded: when the database falls behind,
/// requests wait rather than records being dropped (the log is a legal record).
#[derive(Clone)]
pub struct VerificationLog {
    tx: SyncSender<VerificationRecord>,
}

impl VerificationLog {
    pub fn start(pool: PgPool) -> (VerificationLog, std::thread::JoinHandle<()>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(10_000);
        let handle = std::thread::Builder::new()
            .name("verification-log".into())
            .spawn(move || write_loop(&pool, rx))
            .expect("spawn verification log writer");
        (VerificationLog { tx }, handle)
    }

    pub fn record(&self, record: VerificationRecord) {
        if self.tx.send(record).is_err() {
            log::error!("verification log writer has stopped; a record was not kept");
        }
    }
}

fn write_loop(pool: &PgPool, rx: Receiver<VerificationRecord>) {
    const BATCH: usize = 500;
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(r) => batch.push(r),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        }
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        write_batch(pool, &mut batch);
    }
    // Senders are gone (shutdown): whatever is left is written before the thread ends.
    while let Ok(r) = rx.try_recv() {
        batch.push(r);
        if batch.len() == BATCH {
            write_batch(pool, &mut batch);
        }
    }
    write_batch(pool, &mut batch);
}

fn write_batch(pool: &PgPool, batch: &mut Vec<VerificationRecord>) {
    if batch.is_empty() {
        return;
    }
    for attempt in 0..30 {
        // Binary COPY: no statement to parse per batch and no bind-parameter limit.
        let result = pool.get().map_err(|e| e.to_string()).and_then(|mut c| {
            diesel::copy_from(verification_requests::table)
                .from_insertable(&*batch)
                .execute(&mut c)
                .map_err(|e| e.to_string())
        });
        match result {
            Ok(_) => {
                batch.clear();
                return;
            }
            Err(e) => {
                log::warn!(
                    "verification log write failed (attempt {}): {e}",
                    attempt + 1
                );
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
    log::error!(
        "verification log: {} records could not be written after 30 attempts",
        batch.len()
    );
    batch.clear();
}
