//! EPCIS capture: a trading partner's document is read as a stream, validated (structure,
//! identifiers, DSCSA business rules), stored whole or not at all in one transaction together
//! with the state of every serial it touches, and answered with a report.
//!
//! Memory stays bounded: events are applied in batches (consecutive events of the same kind
//! that name disjoint identifiers, so document order is kept where it matters) with binary COPY
//! and set-based SQL; the raw bytes go to a spool file, archived at the end.
//!
//! Out-of-order arrival: an event that names a serial not known yet (packed or shipped before
//! its commissioning arrived, in this document or a later one) records it with status
//! `unknown` and a warning; the commissioning, when it comes, completes that row instead of
//! being reported as a duplicate. Verification answers `No_match_GTIN_Serial` for such serials
//! until then.
//!
//! Rule ids, severities and fixes: `docs/RULES.md` (business rules: `DSCSA-B-…`).

mod prepare;

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::epcis::{DocumentKind, EpcisReader, EpcisVersion, Item, Limits, Severity, Vocabulary};
use crate::store::capture::{self as q, BatchRows, DocumentHeader};
pub use prepare::key_of;
use prepare::{Op, Prepared};

/// EPCIS 2.0 `GS1-Capture-Error-Behaviour`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorBehaviour {
    /// Store everything or nothing (EPCIS 1.2 semantics; the default).
    Rollback,
    /// Store the events that pass; report the others.
    Proceed,
}

impl ErrorBehaviour {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorBehaviour::Rollback => "rollback",
            ErrorBehaviour::Proceed => "proceed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CaptureOptions {
    pub behaviour: ErrorBehaviour,
    pub limits: Limits,
    /// The authenticated partner that sent the document.
    pub partner_id: Option<i64>,
    /// Where the raw bytes are spooled while the document is read.
    pub spool_dir: PathBuf,
    /// How far in the future an event time may be (clock skew) before it is refused.
    pub future_tolerance: chrono::Duration,
    /// The id the document gets (a capture job announces it before capturing); new if `None`.
    pub document_id: Option<Uuid>,
}

impl CaptureOptions {
    pub fn new(spool_dir: &Path) -> Self {
        CaptureOptions {
            behaviour: ErrorBehaviour::Rollback,
            limits: Limits::default(),
            partner_id: None,
            spool_dir: spool_dir.to_path_buf(),
            future_tolerance: chrono::Duration::minutes(5),
            document_id: None,
        }
    }
}

/// One finding, as reported to the sender.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub rule: String,
    pub severity: &'static str,
    pub line: u32,
    pub column: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_index: Option<u64>,
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.rule, self.message
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Accepted,
    PartiallyAccepted,
    Rejected,
    /// The same bytes were accepted before; nothing was stored again.
    Duplicate,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureReport {
    pub document_id: Uuid,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<Uuid>,
    pub format: &'static str,
    pub byte_size: u64,
    pub event_count: u64,
    pub events_by_type: BTreeMap<&'static str, u64>,
    pub epc_count: u64,
    pub serials_created: u64,
    pub serials_updated: u64,
    /// Events already stored (same CBV 2.0 hash): not stored again.
    pub duplicate_events: u64,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("database error: {0}")]
    Store(#[from] diesel::result::Error),
    #[error("spool file: {0}")]
    Spool(std::io::Error),
}

/// Rule ids of the business rules (catalogued in docs/RULES.md).
pub mod rules {
    pub const DUPLICATE_COMMISSIONING: &str = "DSCSA-B-001";
    pub const UNKNOWN_SERIAL: &str = "DSCSA-B-002";
    pub const OUT_OF_CIRCULATION: &str = "DSCSA-B-003";
    pub const IN_ANOTHER_PARENT: &str = "DSCSA-B-004";
    pub const SHIPPING_WITHOUT_SBDH_PARTIES: &str = "DSCSA-B-005";
    pub const SHIPPING_WITHOUT_TRANSACTION_STATEMENT: &str = "DSCSA-B-006";
    pub const GTIN_WITHOUT_MASTER_DATA: &str = "DSCSA-B-007";
    pub const LOCATION_WITHOUT_MASTER_DATA: &str = "DSCSA-B-008";
    pub const LOT_DISAGREES: &str = "DSCSA-B-009";
    pub const EXPIRY_DISAGREES: &str = "DSCSA-B-010";
    pub const EVENT_IN_THE_FUTURE: &str = "DSCSA-B-011";
    pub const DUPLICATE_EVENT: &str = "DSCSA-B-012";
    pub const REPEATED_IDENTIFIER: &str = "DSCSA-B-013";
}

/// Reads through to the parser while spooling the bytes and hashing them.
struct Tee<R> {
    inner: R,
    spool: std::io::BufWriter<std::fs::File>,
    sha: openssl::sha::Sha256,
    bytes: u64,
    spool_error: Option<std::io::Error>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        if let Err(e) = self.spool.write_all(&buf[..n]) {
            self.spool_error.get_or_insert(e);
        }
        Ok(n)
    }
}

/// A spool file removed when dropped.
struct Spool {
    path: PathBuf,
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What the document said in its start and header.
#[derive(Default)]
struct DocumentFacts {
    format: Option<&'static str>,
    header: DocumentHeader,
    /// Carries GS1 US healthcare header elements: the DSCSA rules for shipments apply.
    dscsa: bool,
    has_sbdh_parties: bool,
    has_transaction_statement: bool,
}

/// Progress of one capture.
struct Run<'a> {
    opts: &'a CaptureOptions,
    document_id: Uuid,
    facts: DocumentFacts,
    errors: Vec<Finding>,
    warnings: Vec<Finding>,
    events_by_type: BTreeMap<&'static str, u64>,
    event_count: u64,
    epc_count: u64,
    serials_created: u64,
    serials_updated: u64,
    duplicate_events: u64,
    batch: Vec<Prepared>,
    batch_keys: HashSet<String>,
    batch_size: usize,
    /// Event indexes refused by the reader or event-level rules (skipped under `proceed`).
    refused: HashSet<u64>,
    gtins: HashSet<String>,
    locations: HashSet<String>,
}

const BATCH_EFFECTS: usize = 50_000;

fn finding(
    rule: &str,
    severity: Severity,
    line: u32,
    column: u32,
    event_index: Option<u64>,
    message: String,
    hint: &str,
) -> Finding {
    Finding {
        rule: rule.to_string(),
        severity: match severity {
            Severity::Reject => "reject",
            Severity::Warn => "warn",
        },
        line,
        column,
        event_index,
        message,
        hint: hint.to_string(),
    }
}

impl Run<'_> {
    fn push(&mut self, f: Finding) {
        if f.severity == "reject" {
            if let Some(i) = f.event_index {
                self.refused.insert(i);
            }
            self.errors.push(f);
        } else {
            self.warnings.push(f);
        }
    }

    fn add_event(&mut self, conn: &mut PgConnection, p: Prepared) -> Result<(), CaptureError> {
        let keys: Vec<&String> = p.effects.iter().map(|e| &e.epc_key).collect();
        let conflict = self.batch.first().is_some_and(|first| first.op != p.op)
            || keys.iter().any(|k| self.batch_keys.contains(*k))
            || self.batch_size + p.effects.len() > BATCH_EFFECTS;
        if conflict {
            self.flush(conn)?;
        }
        for e in &p.effects {
            self.batch_keys.insert(e.epc_key.clone());
        }
        self.batch_size += p.effects.len() + 1;
        self.batch.push(p);
        Ok(())
    }

    /// Stores the batch and applies its effects; business-rule findings are reported. Under
    /// `proceed`, events refused by a business rule are taken out and the batch is applied
    /// again (inside a savepoint), so the others are kept.
    fn flush(&mut self, conn: &mut PgConnection) -> Result<(), CaptureError> {
        let mut batch = std::mem::take(&mut self.batch);
        self.batch_keys.clear();
        self.batch_size = 0;
        if batch.is_empty() {
            return Ok(());
        }
        // Events stored before (same hash) are not stored again, nor applied again.
        let digests: Vec<Vec<u8>> = batch
            .iter()
            .filter(|p| !p.is_error_declaration)
            .map(|p| p.digest.clone())
            .collect();
        let existing: HashSet<Vec<u8>> = q::existing_hashes(conn, &digests)?.into_iter().collect();
        let mut in_batch = HashSet::new();
        batch.retain(|p| {
            let dup = !p.is_error_declaration
                && (existing.contains(&p.digest) || !in_batch.insert(p.digest.clone()));
            if dup {
                self.duplicate_events += 1;
                self.warnings.push(finding(
                    rules::DUPLICATE_EVENT,
                    Severity::Warn,
                    p.line,
                    p.column,
                    Some(p.index),
                    format!("event {} was captured before (same CBV 2.0 event hash); it is not stored again", p.index),
                    "nothing to do: resending an event is harmless",
                ));
            }
            !dup
        });
        for attempt in 0..3 {
            if self.opts.behaviour == ErrorBehaviour::Proceed {
                conn.batch_execute("SAVEPOINT capture_batch")?;
            }
            let found = self.apply(conn, &batch)?;
            let refused: HashSet<usize> = found
                .iter()
                .filter(|(_, f)| f.severity == "reject")
                .map(|(ord, _)| *ord)
                .collect();
            if refused.is_empty() || self.opts.behaviour == ErrorBehaviour::Rollback || attempt == 2
            {
                for (_, f) in found {
                    self.push(f);
                }
                if self.opts.behaviour == ErrorBehaviour::Proceed && !refused.is_empty() {
                    // Third attempt still refused: give up on the whole batch.
                    conn.batch_execute("ROLLBACK TO SAVEPOINT capture_batch")?;
                    for p in &batch {
                        self.refused.insert(p.index);
                    }
                    return Ok(());
                }
                break;
            }
            conn.batch_execute("ROLLBACK TO SAVEPOINT capture_batch")?;
            for (ord, f) in found {
                if refused.contains(&ord) {
                    self.push(f);
                }
            }
            let mut ord = 0;
            batch.retain(|_| {
                let keep = !refused.contains(&ord);
                ord += 1;
                keep
            });
        }
        for p in &batch {
            self.event_count += 1;
            self.epc_count += p.epcs.len() as u64;
            *self
                .events_by_type
                .entry(event_type_name(p.row.event_type))
                .or_default() += 1;
            self.gtins.extend(p.gtins.iter().cloned());
            self.locations.extend(p.locations.iter().cloned());
        }
        Ok(())
    }

    /// Writes one batch and applies its state; returns findings with the batch position
    /// (`ord`) of the event they are about.
    fn apply(
        &mut self,
        conn: &mut PgConnection,
        batch: &[Prepared],
    ) -> Result<Vec<(usize, Finding)>, CaptureError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let ids = q::reserve_event_ids(conn, batch.len())?;
        let mut rows = BatchRows::default();
        for (ord, (p, id)) in batch.iter().zip(&ids).enumerate() {
            let mut row = p.row.clone();
            row.id = *id;
            rows.events.push(row);
            rows.epcs.extend(p.epcs.iter().cloned().map(|mut r| {
                r.event_id = *id;
                r
            }));
            rows.biz_transactions
                .extend(p.biz_transactions.iter().cloned().map(|mut r| {
                    r.event_id = *id;
                    r
                }));
            rows.sources_destinations
                .extend(p.sources_destinations.iter().cloned().map(|mut r| {
                    r.event_id = *id;
                    r
                }));
            if let Some(i) = &p.ilmd {
                let mut i = i.clone();
                i.event_id = *id;
                rows.ilmd.push(i);
            }
            rows.effects.extend(p.effects.iter().cloned().map(|mut e| {
                e.ord = ord as i32;
                e.event_id = *id;
                e
            }));
        }
        let t0 = std::time::Instant::now();
        q::copy_batch(conn, &rows)?;
        let t1 = t0.elapsed();
        let (problems, created, updated) = match batch[0].op {
            Op::Commission => q::apply_commission(conn)?,
            Op::Pack => q::apply_pack(conn)?,
            Op::Unpack => q::apply_unpack(conn)?,
            Op::Transition { inherit } => q::apply_transition(conn, inherit)?,
            Op::None => (Vec::new(), 0, 0),
        };
        log::debug!(
            "capture batch: {:?}, {} events, {} effects: copy {:?}, state {:?}",
            batch[0].op,
            batch.len(),
            rows.effects.len(),
            t1,
            t0.elapsed() - t1
        );
        self.serials_created += created as u64;
        self.serials_updated += updated as u64;
        // One finding per event and problem kind: a pallet of unknown items is one warning.
        let mut grouped: BTreeMap<(i32, String), (usize, q::Problem)> = BTreeMap::new();
        for pr in problems {
            grouped
                .entry((pr.ord, pr.problem.clone()))
                .and_modify(|(n, _)| *n += 1)
                .or_insert((1, pr));
        }
        let mut out = Vec::new();
        for ((ord, kind), (n, pr)) in grouped {
            let p = &batch[ord as usize];
            let more = if n > 1 {
                format!(" (and {} more)", n - 1)
            } else {
                String::new()
            };
            let epc = pr.epc_key.clone();
            let (rule, severity, message, hint) = match kind.as_str() {
                "duplicate" => (rules::DUPLICATE_COMMISSIONING, Severity::Warn,
                    format!("{epc}{more} was already commissioned: a second commissioning is a potential counterfeit; the serial is flagged as duplicate"),
                    "investigate the serial; if the first commissioning was wrong, retract it with an error declaration"),
                "lot_mismatch" => (rules::LOT_DISAGREES, Severity::Reject,
                    format!("lot of {epc}{more} disagrees with what is stored ({})", pr.detail.unwrap_or_default()),
                    "send the lot the serial was commissioned with, or correct the earlier event"),
                "expiry_mismatch" => (rules::EXPIRY_DISAGREES, Severity::Reject,
                    format!("expiry of {epc}{more} disagrees with what is stored ({})", pr.detail.unwrap_or_default()),
                    "send the expiry the serial was commissioned with, or correct the earlier event"),
                "unknown" => (rules::UNKNOWN_SERIAL, Severity::Warn,
                    format!("{epc}{more} is not known here (no commissioning received); recorded as unknown until its commissioning arrives"),
                    "send the commissioning events of these serials (upstream data)"),
                "out_of_circulation" => (rules::OUT_OF_CIRCULATION, Severity::Reject,
                    format!("{epc}{more} is {} and cannot be packed, shipped, received or observed", pr.detail.unwrap_or_default()),
                    "check the serial: a decommissioned, destroyed or dispensed identifier in circulation is suspect"),
                _ => (rules::IN_ANOTHER_PARENT, Severity::Reject,
                    format!("{epc}{more} is already inside {}; unpack it first", pr.detail.unwrap_or_default()),
                    "send the unpacking (AggregationEvent DELETE) before packing it again"),
            };
            out.push((
                ord as usize,
                finding(
                    rule,
                    severity,
                    p.line,
                    p.column,
                    Some(p.index),
                    message,
                    hint,
                ),
            ));
        }
        Ok(out)
    }
}

fn event_type_name(code: i16) -> &'static str {
    match code {
        1 => "ObjectEvent",
        2 => "AggregationEvent",
        3 => "TransactionEvent",
        4 => "TransformationEvent",
        5 => "AssociationEvent",
        _ => "QuantityEvent",
    }
}

fn attr<'a>(v: &'a crate::epcis::VocabularyElement, name: &str) -> Option<&'a str> {
    v.attribute(&format!("urn:epcglobal:cbv:mda#{name}"))
        .or_else(|| v.attribute(&format!("https://ref.gs1.org/cbv/mda#{name}")))
        .or_else(|| v.attribute(&format!("cbvmda:{name}")))
}

/// Products (EPCClass) and locations from master data.
fn store_master_data(conn: &mut PgConnection, vocab: &Vocabulary) -> Result<(), CaptureError> {
    let kind = vocab
        .vocabulary_type
        .rsplit([':', '/', '#'])
        .next()
        .unwrap_or("");
    for el in &vocab.elements {
        let attributes: serde_json::Map<String, serde_json::Value> = el
            .attributes
            .iter()
            .map(|a| (a.id.clone(), serde_json::Value::String(a.value.clone())))
            .collect();
        match kind {
            "EPCClass" => {
                let gtin = match crate::gs1::classify(&el.id) {
                    Ok(crate::gs1::Identifier::Epc(crate::gs1::Epc::GtinClass(g))) => {
                        g.as_str().to_string()
                    }
                    Ok(crate::gs1::Identifier::Epc(crate::gs1::Epc::Lgtin(l))) => {
                        l.gtin().as_str().to_string()
                    }
                    _ => continue,
                };
                let ndc = attr(el, "additionalTradeItemIdentification");
                q::upsert_trade_item(
                    conn,
                    &q::TradeItem {
                        gtin: &gtin,
                        ndc,
                        name: attr(el, "regulatedProductName")
                            .or_else(|| attr(el, "tradeItemDescription")),
                        dosage_form: attr(el, "dosageFormType"),
                        strength: attr(el, "strengthDescription"),
                        pack_size: attr(el, "netContentDescription"),
                        manufacturer: attr(el, "manufacturerOfTradeItemPartyName"),
                        attributes: serde_json::Value::Object(attributes),
                    },
                )?;
            }
            "Location" | "BusinessLocation" | "ReadPoint" => {
                let id = key_of(&el.id)
                    .map(|k| k.key)
                    .unwrap_or_else(|| el.id.clone());
                let gln = id
                    .strip_prefix("414")
                    .map(|r| r[..13.min(r.len())].to_string());
                q::upsert_location(
                    conn,
                    &q::Location {
                        id: &id,
                        gln: gln.as_deref(),
                        name: attr(el, "name"),
                        street: attr(el, "streetAddressOne"),
                        city: attr(el, "city"),
                        state: attr(el, "state"),
                        postal_code: attr(el, "postalCode"),
                        country: attr(el, "countryCode"),
                        attributes: serde_json::Value::Object(attributes),
                    },
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Captures one document. Returns the report; `Err` only for failures of the server itself
/// (database, disk), after which nothing of the document is stored.
pub fn capture(
    conn: &mut PgConnection,
    input: impl Read,
    opts: &CaptureOptions,
) -> Result<CaptureReport, CaptureError> {
    std::fs::create_dir_all(&opts.spool_dir).map_err(CaptureError::Spool)?;
    let document_id = opts.document_id.unwrap_or_else(Uuid::new_v4);
    let spool = Spool {
        path: opts.spool_dir.join(format!("capture-{document_id}.xml")),
    };
    let file = std::fs::File::create(&spool.path).map_err(CaptureError::Spool)?;
    let mut tee = Tee {
        inner: input,
        spool: std::io::BufWriter::with_capacity(1 << 20, file),
        sha: openssl::sha::Sha256::new(),
        bytes: 0,
        spool_error: None,
    };
    let mut run = Run {
        opts,
        document_id,
        facts: DocumentFacts::default(),
        errors: Vec::new(),
        warnings: Vec::new(),
        events_by_type: BTreeMap::new(),
        event_count: 0,
        epc_count: 0,
        serials_created: 0,
        serials_updated: 0,
        duplicate_events: 0,
        batch: Vec::new(),
        batch_keys: HashSet::new(),
        batch_size: 0,
        refused: HashSet::new(),
        gtins: HashSet::new(),
        locations: HashSet::new(),
    };

    let mut duplicate_of = None;
    let mut sha256 = [0u8; 32];
    let result: Result<Outcome, CaptureError> = conn.transaction(|conn| {
        q::insert_document(conn, &received_row(document_id, opts))?;
        q::create_staging(conn)?;
        read_document(conn, &mut tee, &mut run)?;
        // Drain what the parser did not need (trailing whitespace), so the hash is of the whole
        // body, but never past the size limit: an oversized body is not spooled to the end.
        let remaining = opts.limits.max_bytes.saturating_sub(tee.bytes);
        std::io::copy(&mut Read::take(&mut tee, remaining), &mut std::io::sink())
            .map_err(CaptureError::Spool)?;
        sha256 = std::mem::replace(&mut tee.sha, openssl::sha::Sha256::new()).finish();
        if let Some(original) = q::accepted_with_hash(conn, &sha256)? {
            duplicate_of = Some(original);
            return Err(CaptureError::Store(
                diesel::result::Error::RollbackTransaction,
            ));
        }
        let reject = !run.errors.is_empty()
            && (opts.behaviour == ErrorBehaviour::Rollback || run.event_count == 0);
        if reject {
            return Err(CaptureError::Store(
                diesel::result::Error::RollbackTransaction,
            ));
        }
        master_data_rules(conn, &mut run)?;
        let outcome = if run.errors.is_empty() {
            Outcome::Accepted
        } else {
            Outcome::PartiallyAccepted
        };
        tee.spool.flush().map_err(CaptureError::Spool)?;
        if let Some(e) = tee.spool_error.take() {
            return Err(CaptureError::Spool(e));
        }
        finish(conn, &run, outcome, &sha256, tee.bytes)?;
        archive(conn, document_id, &spool.path)?;
        Ok(outcome)
    });
    let outcome = match result {
        Ok(o) => o,
        Err(CaptureError::Store(diesel::result::Error::RollbackTransaction))
            if duplicate_of.is_some() =>
        {
            Outcome::Duplicate
        }
        Err(CaptureError::Store(diesel::result::Error::RollbackTransaction)) => {
            // Rejected: nothing of it was applied; the document itself is kept, with its errors.
            tee.spool.flush().map_err(CaptureError::Spool)?;
            conn.transaction(|conn| {
                q::insert_document(conn, &received_row(document_id, opts))?;
                finish(conn, &run, Outcome::Rejected, &sha256, tee.bytes)?;
                archive(conn, document_id, &spool.path)
            })?;
            Outcome::Rejected
        }
        Err(e) => return Err(e),
    };
    let stored = matches!(outcome, Outcome::Accepted | Outcome::PartiallyAccepted);
    Ok(CaptureReport {
        document_id: duplicate_of.unwrap_or(document_id),
        outcome,
        duplicate_of,
        format: run.facts.format.unwrap_or("unknown"),
        byte_size: tee.bytes,
        event_count: if stored { run.event_count } else { 0 },
        events_by_type: if stored {
            run.events_by_type
        } else {
            BTreeMap::new()
        },
        epc_count: if stored { run.epc_count } else { 0 },
        serials_created: if stored { run.serials_created } else { 0 },
        serials_updated: if stored { run.serials_updated } else { 0 },
        duplicate_events: run.duplicate_events,
        errors: run.errors,
        warnings: run.warnings,
    })
}

/// The document row as created when reception starts; `finish` completes it (status, hash,
/// size, header, counts, findings).
fn received_row(id: Uuid, opts: &CaptureOptions) -> q::NewDocument<'static> {
    q::NewDocument {
        id,
        direction: "received",
        format: "unknown",
        status: "processing",
        error_behaviour: opts.behaviour.as_str(),
        sha256: vec![0; 32],
        byte_size: 0,
        partner_id: opts.partner_id,
    }
}

fn finish(
    conn: &mut PgConnection,
    run: &Run<'_>,
    outcome: Outcome,
    sha256: &[u8],
    bytes: u64,
) -> Result<(), CaptureError> {
    let status = match outcome {
        Outcome::Accepted => "accepted",
        Outcome::PartiallyAccepted => "partially_accepted",
        _ => "rejected",
    };
    let stored = status != "rejected";
    q::finish_document(
        conn,
        run.document_id,
        status,
        run.facts.format.unwrap_or("unknown"),
        sha256,
        bytes as i64,
        &run.facts.header,
        if stored { run.event_count as i32 } else { 0 },
        if stored { run.epc_count as i64 } else { 0 },
        serde_json::to_value(&run.errors).unwrap_or_default(),
        serde_json::to_value(&run.warnings).unwrap_or_default(),
    )?;
    Ok(())
}

fn archive(conn: &mut PgConnection, id: Uuid, path: &Path) -> Result<(), CaptureError> {
    let mut file = std::fs::File::open(path).map_err(CaptureError::Spool)?;
    file.rewind().map_err(CaptureError::Spool)?;
    q::store_chunks(conn, id, |buf| file.read(buf))?;
    Ok(())
}

fn read_document<R: Read>(
    conn: &mut PgConnection,
    input: R,
    run: &mut Run<'_>,
) -> Result<(), CaptureError> {
    let mut reader = EpcisReader::new(
        std::io::BufReader::with_capacity(1 << 16, input),
        run.opts.limits.clone(),
    );
    let now = Utc::now();
    loop {
        let item = match reader.next_item() {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(e) => {
                for d in reader.take_diagnostics() {
                    run.push(from_diagnostic(d));
                }
                run.push(fatal(&e));
                return Ok(());
            }
        };
        for d in reader.take_diagnostics() {
            run.push(from_diagnostic(d));
        }
        match item {
            Item::DocumentStart(start) => {
                run.facts.format = Some(match (start.version, start.kind) {
                    (_, DocumentKind::EpcisMasterDataDocument) => "masterdata-1.2-xml",
                    (EpcisVersion::V1, _) => "epcis-1.2-xml",
                    (EpcisVersion::V2, _) => "epcis-2.0-xml",
                });
                run.facts.header.creation_date = start
                    .creation_date
                    .and_then(|t| t.value)
                    .map(|t| t.with_timezone(&Utc));
            }
            Item::MasterData(vocab) => store_master_data(conn, &vocab)?,
            Item::Header(header) => {
                if let Some(sbdh) = &header.sbdh {
                    run.facts.header.sender = sbdh.senders.first().map(|p| p.identifier.clone());
                    run.facts.header.receiver =
                        sbdh.receivers.first().map(|p| p.identifier.clone());
                    run.facts.header.instance_identifier =
                        sbdh.document_identification.instance_identifier.clone();
                    run.facts.has_sbdh_parties =
                        !sbdh.senders.is_empty() && !sbdh.receivers.is_empty();
                }
                run.facts.has_transaction_statement = header.transaction_statement.is_some();
                run.facts.dscsa =
                    header.transaction_statement.is_some() || header.guideline_version.is_some();
            }
            Item::Event(event) => {
                if run.refused.contains(&event.index) {
                    continue;
                }
                let Some(p) = prepare::prepare(&event, run.document_id) else {
                    // The reader reported why; make sure the event counts as refused.
                    run.refused.insert(event.index);
                    continue;
                };
                if p.event_time > now + run.opts.future_tolerance {
                    run.push(finding(
                        rules::EVENT_IN_THE_FUTURE,
                        Severity::Reject,
                        p.line,
                        p.column,
                        Some(p.index),
                        format!(
                            "event time {} is in the future (server time {})",
                            p.event_time.to_rfc3339(),
                            now.to_rfc3339()
                        ),
                        "send events after they happened; check the sender's clock and time zone",
                    ));
                    continue;
                }
                if p.shipping && run.facts.dscsa {
                    if !run.facts.has_sbdh_parties {
                        run.push(finding(rules::SHIPPING_WITHOUT_SBDH_PARTIES, Severity::Reject, p.line, p.column, Some(p.index),
                            "a DSCSA shipping event needs the SBDH sender and receiver (the transferor and transferee)".into(),
                            "add sbdh:Sender and sbdh:Receiver with their GLN or SGLN to the EPCISHeader"));
                        continue;
                    }
                    if !run.facts.has_transaction_statement {
                        run.push(finding(rules::SHIPPING_WITHOUT_TRANSACTION_STATEMENT, Severity::Reject, p.line, p.column, Some(p.index),
                            "a DSCSA shipping event needs the transaction statement (FD&C Act §581(27))".into(),
                            "add gs1ushc:dscsaTransactionStatement to the EPCISHeader"));
                        continue;
                    }
                }
                for r in &p.repeated {
                    run.push(finding(
                        rules::REPEATED_IDENTIFIER,
                        Severity::Warn,
                        p.line,
                        p.column,
                        Some(p.index),
                        format!("{r} is listed more than once in the same list; stored once"),
                        "list each identifier once",
                    ));
                }
                if run.refused.contains(&p.index) {
                    continue;
                }
                run.add_event(conn, p)?;
            }
            Item::End => break,
        }
    }
    for d in reader.take_diagnostics() {
        run.push(from_diagnostic(d));
    }
    run.flush(conn)
}

fn master_data_rules(conn: &mut PgConnection, run: &mut Run<'_>) -> Result<(), CaptureError> {
    if !run.facts.dscsa {
        return Ok(());
    }
    let gtins: Vec<String> = run.gtins.iter().cloned().collect();
    for g in q::gtins_without_master_data(conn, &gtins)? {
        run.push(finding(
            rules::GTIN_WITHOUT_MASTER_DATA,
            Severity::Warn,
            0,
            0,
            None,
            format!(
                "GTIN {g} has no product master data (EPCClass: name, dosage form, strength, NDC)"
            ),
            "add an EPCClass vocabulary element for the product to the EPCISHeader master data",
        ));
    }
    let locations: Vec<String> = run.locations.iter().cloned().collect();
    for l in q::locations_without_master_data(conn, &locations)? {
        run.push(finding(
            rules::LOCATION_WITHOUT_MASTER_DATA,
            Severity::Warn,
            0,
            0,
            None,
            format!("location {l} has no Location master data (name and address)"),
            "add a Location vocabulary element with the address to the EPCISHeader master data",
        ));
    }
    Ok(())
}

/// A fatal reader error (reading stopped there) as a finding.
fn fatal(e: &crate::epcis::ReadError) -> Finding {
    Finding {
        rule: e.code.to_string(),
        severity: "reject",
        line: e.line,
        column: e.column,
        event_index: None,
        message: e.message.clone(),
        hint: "fix the document so that it is well-formed EPCIS XML within the limits".into(),
    }
}

fn from_diagnostic(d: crate::epcis::Diagnostic) -> Finding {
    finding(
        d.rule,
        d.severity,
        d.line,
        d.column,
        d.event_index,
        d.message,
        d.hint,
    )
}

/// Removes spool files of captures that were interrupted (process killed) more than `age` ago.
/// Their transactions were rolled back by PostgreSQL; only the spooled bytes are left.
pub fn clean_spool(dir: &Path, age: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let stale = e
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| t.elapsed().unwrap_or_default() > age)
            .unwrap_or(false);
        if name.to_string_lossy().starts_with("capture-")
            && stale
            && std::fs::remove_file(e.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Offline validation (structure and identifiers, no database): the findings of the reader.
pub fn validate(input: impl Read, limits: Limits) -> Vec<Finding> {
    let mut reader = EpcisReader::new(std::io::BufReader::with_capacity(1 << 16, input), limits);
    let mut out = Vec::new();
    loop {
        match reader.next_item() {
            Ok(Some(Item::End)) | Ok(None) => break,
            Ok(Some(_)) => out.extend(reader.take_diagnostics().into_iter().map(from_diagnostic)),
            Err(e) => {
                out.extend(reader.take_diagnostics().into_iter().map(from_diagnostic));
                out.push(fatal(&e));
                return out;
            }
        }
    }
    out.extend(reader.take_diagnostics().into_iter().map(from_diagnostic));
    out
}
