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

pub mod documents;
pub mod fold;
mod prepare;
mod retract;
mod spilled;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::Utc;
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::epcis::{DocumentKind, EpcisReader, EpcisVersion, Item, Limits, Severity, Vocabulary};
use crate::store::capture::{self as q, BatchRows, DocumentHeader};
use fold::Fold;
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
    /// Check everything against the stored state, then store nothing (`validate --db`).
    pub dry_run: bool,
    /// EPC references an event keeps in memory; the rest of a bigger event's lists go to
    /// `spool_dir` and the event is stored a chunk at a time (capture/spilled.rs).
    pub spill_after: usize,
    /// The key of our serial pools: with it, a commissioned serial of one of our pools that
    /// was never allocated is flagged (DSCSA-B-015). `None` skips that check.
    pub serial_key: Option<std::sync::Arc<crate::serials::SerialKey>>,
}

impl CaptureOptions {
    /// The options of a server's or the CLI's captures: spool below `data_dir`, the configured
    /// limits and clock-skew tolerance; the serial key is the caller's to set.
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        let mut o = CaptureOptions::new(&settings.data_dir.join("spool"));
        o.limits = settings.capture_limits.clone();
        o.future_tolerance = tolerance(settings.capture_future_tolerance);
        o
    }

    pub fn new(spool_dir: &Path) -> Self {
        CaptureOptions {
            behaviour: ErrorBehaviour::Rollback,
            limits: Limits::default(),
            partner_id: None,
            spool_dir: spool_dir.to_path_buf(),
            future_tolerance: chrono::Duration::minutes(5),
            document_id: None,
            dry_run: false,
            spill_after: SPILL_AFTER,
            serial_key: None,
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
    /// Stored events retracted by error declarations in this document (their serials rebuilt).
    pub events_retracted: u64,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("database error: {0}")]
    Store(#[from] diesel::result::Error),
    #[error("spool file: {0}")]
    Spool(std::io::Error),
    /// Another capture changed some of the same serials at the same time; nothing of this
    /// document was stored, and sending it again will work.
    #[error("{0} serial(s) were changed by another capture at the same time; nothing was stored, send the document again")]
    Concurrent(usize),
}

/// Rule ids of the business rules, with the severity docs/RULES.md gives each (a test holds
/// the two together).
pub mod rules {
    /// A catalogued rule: the constant's name in this module, its id, its severity.
    pub struct Rule {
        pub name: &'static str,
        pub id: &'static str,
        pub severity: &'static str,
    }

    macro_rules! catalogue {
        ($($name:ident = $id:literal, $severity:ident;)*) => {
            $(pub const $name: &str = $id;)*
            /// Every DSCSA business rule: id and severity as docs/RULES.md lists them.
            pub const CATALOGUE: &[Rule] = &[$(Rule {
                name: stringify!($name),
                id: $id,
                severity: stringify!($severity),
            }),*];
        };
    }
    catalogue! {
        DUPLICATE_COMMISSIONING = "DSCSA-B-001", warn;
        UNKNOWN_SERIAL = "DSCSA-B-002", warn;
        OUT_OF_CIRCULATION = "DSCSA-B-003", reject;
        IN_ANOTHER_PARENT = "DSCSA-B-004", reject;
        SHIPPING_WITHOUT_SBDH_PARTIES = "DSCSA-B-005", reject;
        SHIPPING_WITHOUT_TRANSACTION_STATEMENT = "DSCSA-B-006", reject;
        GTIN_WITHOUT_MASTER_DATA = "DSCSA-B-007", warn;
        LOCATION_WITHOUT_MASTER_DATA = "DSCSA-B-008", warn;
        LOT_DISAGREES = "DSCSA-B-009", reject;
        EXPIRY_DISAGREES = "DSCSA-B-010", reject;
        EVENT_IN_THE_FUTURE = "DSCSA-B-011", reject;
        DUPLICATE_EVENT = "DSCSA-B-012", warn;
        REPEATED_IDENTIFIER = "DSCSA-B-013", warn;
        DECLARED_EVENT_UNKNOWN = "DSCSA-B-014", warn;
        NEVER_ISSUED = "DSCSA-B-015", warn;
    }

    #[cfg(test)]
    mod tests {
        /// The rows of docs/RULES.md's business-rule table: `| `id` | severity | …`.
        fn documented() -> Vec<(String, String)> {
            let doc =
                std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/RULES.md"))
                    .unwrap();
            doc.lines()
                .filter_map(|l| l.strip_prefix("| `DSCSA-B-"))
                .map(|rest| {
                    let mut cells = rest.split('|').map(str::trim);
                    let id = format!("DSCSA-B-{}", cells.next().unwrap().trim_end_matches('`'));
                    (id, cells.next().unwrap().to_string())
                })
                .collect()
        }

        #[test]
        fn every_business_rule_is_documented_once_with_its_severity_and_no_other_is() {
            let documented = documented();
            let catalogue: Vec<(String, String)> = super::CATALOGUE
                .iter()
                .map(|r| (r.id.to_string(), r.severity.to_string()))
                .collect();
            assert_eq!(documented, catalogue);
        }

        /// The severity a rule is raised with, where the source names both side by side
        /// (`rules::X,` then `Severity::Y`), agrees with the catalogue.
        #[test]
        fn rules_are_raised_with_their_catalogued_severity() {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/capture");
            let mut checked = 0;
            for entry in std::fs::read_dir(dir).unwrap() {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                let lines: Vec<&str> = text.lines().map(str::trim).collect();
                for w in lines.windows(2) {
                    let Some(name) = w[0]
                        .strip_prefix("rules::")
                        .and_then(|n| n.strip_suffix(','))
                    else {
                        continue;
                    };
                    let Some(severity) = w[1].strip_prefix("Severity::") else {
                        continue;
                    };
                    let severity = severity.trim_end_matches(',').to_lowercase();
                    let rule = super::CATALOGUE
                        .iter()
                        .find(|r| r.name == name)
                        .unwrap_or_else(|| panic!("{name} is not in the catalogue"));
                    assert_eq!(severity, rule.severity, "{name} ({})", rule.id);
                    checked += 1;
                }
            }
            assert!(checked >= 5, "only {checked} raising sites found");
        }
    }
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
#[derive(Default, Clone)]
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
    events_retracted: u64,
    batch: Vec<Prepared>,
    batch_size: usize,
    /// Rows of the events of the batch being flushed that were accepted, not written yet.
    pending: BatchRows,
    /// Containers with stored packing or unpacking later than the earliest event of the batch
    /// being flushed, and the latest such time (`q::containers_changed_after`).
    changed_containers: HashMap<Box<str>, chrono::DateTime<Utc>>,
    /// Parents of the aggregation events this capture has stored: new containers that may
    /// have stored contents (see `note_more_changed_containers`).
    packed_parents: HashSet<Box<str>>,
    /// Event indexes refused by the reader or event-level rules (skipped under `proceed`).
    refused: HashSet<u64>,
    gtins: HashSet<String>,
    locations: HashSet<String>,
    /// The state of the serials this capture touches (written back by `write_back`).
    fold: Fold,
}

/// EPC references per batch of events written together.
const BATCH_EFFECTS: usize = 50_000;
/// Serials the fold holds before it is written back and emptied: bounds memory for documents
/// of any size. 114,000 fit a hash table of 2^17 buckets (7/8 full): about 17 MB with keys.
/// A batch that alone names more (up to BATCH_EFFECTS) still goes whole.
const FOLD_CAPACITY: usize = 114_000;
/// Default of [`CaptureOptions::spill_after`]: an event of 20,000 EPCs in memory takes about
/// 14 MB on its way through the reader, `prepare` and the fold (1,000,000 items in one
/// commissioning: peak RSS growth 80 MB with 20,000, 94 MB with 50,000).
const SPILL_AFTER: usize = 20_000;
/// Keys looked up per query.
const LOAD_CHUNK: usize = 10_000;
/// Serials written back per COPY.
const WRITE_CHUNK: usize = 25_000;
/// Ids reserved from the serials sequence at a time.
const ID_CHUNK: usize = 4096;

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
        if p.spilled.is_some() {
            // A huge event, stored on its own a chunk at a time (capture/spilled.rs).
            self.flush(conn)?;
            return self.store_spilled(conn, p);
        }
        if p.is_error_declaration {
            // In a batch of its own: what it retracts may be in the events before it, and
            // what comes after it must see the rebuilt state.
            if !self.batch.is_empty() {
                self.flush(conn)?;
            }
            self.batch.push(p);
            return self.flush(conn);
        }
        if !self.batch.is_empty() && self.batch_size + p.epcs.len() > BATCH_EFFECTS {
            self.flush(conn)?;
        }
        self.batch_size += p.epcs.len() + 1;
        self.batch.push(p);
        Ok(())
    }

    /// Stores a batch of events: duplicates (same event hash) are left out; the state of the
    /// serials they name is loaded into the fold; each event, in time order (event time, then
    /// document order; event ids are given in that order), is checked against the state at
    /// its time and applied, or refused with its findings; the events that were not refused
    /// are written by binary COPY.
    fn flush(&mut self, conn: &mut PgConnection) -> Result<(), CaptureError> {
        let mut batch = std::mem::take(&mut self.batch);
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
                self.warnings.push(duplicate_event(p));
            }
            !dup
        });
        if batch.is_empty() {
            return Ok(());
        }
        // In time order: then no event of the batch is older than one applied before it, and
        // only what is older than the stored state needs a replay (`apply_late`).
        batch.sort_by_key(|p| (p.event_time, p.index));
        let mut ids = q::reserve_event_ids(conn, batch.len())?;
        ids.sort_unstable();
        let keys = batch_keys(&batch);
        self.load_with_room(conn, &keys)?;
        self.note_changed_containers(conn, batch[0].event_time, &keys)?;

        let mut declared = None;
        let mut batch: std::collections::VecDeque<(Prepared, i64)> =
            batch.into_iter().zip(ids).collect();
        while let Some((p, id)) = batch.pop_front() {
            if self.fold.is_empty() {
                // A replay or a terminal status written down the tree emptied the fold: the
                // rest of the batch is loaded again at once, not event by event, and what a
                // replayed packing changed is looked at again (stored first).
                self.copy_pending(conn)?;
                let rest = batch.iter().map(|(p, _)| p);
                let keys = batch_keys(std::iter::once(&p).chain(rest));
                self.load_with_room(conn, &keys)?;
                self.note_changed_containers(conn, p.event_time, &keys)?;
            }
            let t = std::time::Instant::now();
            let findings = self.apply_event(conn, &p, id)?;
            let refused = findings.iter().any(|f| f.severity == "reject");
            for f in findings {
                self.push(f);
            }
            if refused || self.refused.contains(&p.index) {
                continue;
            }
            if p.effect_len() > 10_000 {
                log::debug!(
                    "capture: event {} ({:?}, {} identifiers) applied in {:?}",
                    p.index,
                    p.op,
                    p.effect_len(),
                    t.elapsed()
                );
            }
            if p.is_error_declaration {
                declared = Some(retract::Declared {
                    digest: p.digest.clone(),
                    event_id: id,
                    index: p.index,
                    line: p.line,
                    column: p.column,
                });
            }
            let epcs = p.epcs.len() as u64;
            let mut rows = std::mem::take(&mut self.pending);
            self.accept(p, id, epcs, &mut rows);
            self.pending = rows;
        }
        self.copy_pending(conn)?;
        if let Some(d) = declared {
            self.retract(conn, &d)?;
        }
        Ok(())
    }

    /// Finds the containers whose contents changed (stored aggregation events) after `from`.
    /// Only these keys are looked at: [`Run::is_late`] is asked about no others until the next
    /// call (or [`Run::note_more_changed_containers`]).
    fn note_changed_containers(
        &mut self,
        conn: &mut PgConnection,
        from: chrono::DateTime<Utc>,
        keys: &[&str],
    ) -> Result<(), CaptureError> {
        self.changed_containers.clear();
        self.note_more_changed_containers(conn, from, keys)
    }

    /// Adds these keys to what [`Run::note_changed_containers`] found.
    pub(crate) fn note_more_changed_containers(
        &mut self,
        conn: &mut PgConnection,
        from: chrono::DateTime<Utc>,
        keys: &[&str],
    ) -> Result<(), CaptureError> {
        // Only a key with stored events can have stored packing events: a serial the fold
        // holds as new (not in the database) unless this capture packed into it. Commissioning
        // chunks of new serials ask nothing.
        let keys: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| {
                self.fold.get(k).is_none_or(|s| s.stored) || self.packed_parents.contains(*k)
            })
            .collect();
        let t = std::time::Instant::now();
        let changed = q::containers_changed_after(conn, from, &keys)?;
        if keys.len() >= 1000 || t.elapsed() > std::time::Duration::from_millis(20) {
            log::debug!(
                "capture: {} of {} keys changed after {from} ({:?})",
                changed.len(),
                keys.len(),
                t.elapsed()
            );
        }
        for (k, t) in changed {
            self.changed_containers.insert(k.into_boxed_str(), t);
        }
        Ok(())
    }

    /// Whether the event is older than the state of what it names (or of a container of it),
    /// or names a container whose contents changed after its time: then it goes through a
    /// replay in time order rather than being applied over the newer state.
    pub(crate) fn is_late<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k str>,
        v: &fold::Values,
    ) -> bool {
        let keys: Vec<&str> = keys.into_iter().collect();
        self.fold.is_late(keys.iter().copied(), v)
            || (!self.changed_containers.is_empty()
                && keys.iter().any(|k| {
                    self.changed_containers
                        .get(*k)
                        .is_some_and(|t| *t > v.event_time)
                }))
    }

    /// Writes the rows of the accepted events of the batch by binary COPY: at the end of the
    /// batch, and before anything reads the stored history (a replay; the contents of a
    /// container, found through its packing events, `store::capture::children_join`, which may
    /// be earlier events of this batch).
    fn copy_pending(&mut self, conn: &mut PgConnection) -> Result<(), CaptureError> {
        let mut rows = std::mem::take(&mut self.pending);
        if rows.events.is_empty() {
            return Ok(());
        }
        let t = std::time::Instant::now();
        // In index order: the BRIN on event_id is then filled left to right.
        rows.epcs.sort_unstable_by(|a, b| {
            (a.event_id, a.role, &a.epc_key).cmp(&(b.event_id, b.role, &b.epc_key))
        });
        q::copy_batch(conn, &rows)?;
        log::debug!(
            "capture batch: {} events, {} EPC rows copied in {:?}; fold holds {} serials",
            rows.events.len(),
            rows.epcs.len(),
            t.elapsed(),
            self.fold.len(),
        );
        Ok(())
    }

    /// Counts a stored event (with `epcs` identifier rows) and adds its rows, with its id, to
    /// `rows`.
    fn accept(&mut self, mut p: Prepared, id: i64, epcs: u64, rows: &mut BatchRows) {
        self.event_count += 1;
        self.epc_count += epcs;
        *self
            .events_by_type
            .entry(event_type_name(p.row.event_type))
            .or_default() += 1;
        self.gtins.extend(p.gtins.drain(..));
        self.locations.extend(p.locations.drain(..));
        if p.row.event_type == 2 {
            // (A spilled event's rows are written already: it notes its parent itself.)
            if let Some(r) = p.effect.parent.and_then(|i| p.epcs.get(i as usize)) {
                self.packed_parents.insert(r.epc_key.as_str().into());
            }
        }
        p.row.id = id;
        rows.events.push(p.row);
        rows.epcs.extend(p.epcs.into_iter().map(|mut r| {
            r.event_id = id;
            r
        }));
        rows.biz_transactions
            .extend(p.biz_transactions.into_iter().map(|mut r| {
                r.event_id = id;
                r
            }));
        rows.sources_destinations
            .extend(p.sources_destinations.into_iter().map(|mut r| {
                r.event_id = id;
                r
            }));
        if let Some(mut i) = p.ilmd {
            i.event_id = id;
            rows.ilmd.push(i);
        }
    }

    /// Loads these keys after making room for them: when they would take the fold over its
    /// capacity, it is written back and emptied first.
    fn load_with_room(
        &mut self,
        conn: &mut PgConnection,
        wanted: &[&str],
    ) -> Result<(), CaptureError> {
        let missing = wanted.iter().filter(|k| !self.fold.contains(k)).count();
        if !self.fold.is_empty() && self.fold.len() + missing > FOLD_CAPACITY {
            self.write_back(conn)?;
            self.fold.clear();
        }
        self.load(conn, wanted)
    }

    /// Loads the stored state of these keys (and of their containers, up the tree) into the
    /// fold, a chunk at a time (memory); keys with no row are recorded as absent.
    fn load(&mut self, conn: &mut PgConnection, keys: &[&str]) -> Result<(), CaptureError> {
        let t = std::time::Instant::now();
        let mut asked = 0;
        let mut wanted: Vec<String> = {
            let mut seen = HashSet::new();
            keys.iter()
                .copied()
                .filter(|k| !self.fold.contains(k) && seen.insert(*k))
                .map(str::to_string)
                .collect()
        };
        while !wanted.is_empty() {
            let mut parents = Vec::new();
            for chunk in wanted.chunks(LOAD_CHUNK) {
                let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                for r in q::load_serials(conn, &refs)? {
                    if let Some(pk) = &r.parent_key {
                        parents.push(pk.clone());
                    }
                    self.insert_stored(r);
                }
                for k in chunk {
                    if !self.fold.contains(k) {
                        self.fold
                            .insert(k, fold::Serial::absent(fold::kind_of_key(k)), None);
                    }
                }
            }
            asked += wanted.len();
            parents.retain(|k| !self.fold.contains(k));
            parents.sort_unstable();
            parents.dedup();
            wanted = parents;
        }
        if asked >= 1000 {
            log::debug!("capture: looked up {asked} serials in {:?}", t.elapsed());
        }
        Ok(())
    }

    fn insert_stored(&mut self, r: q::StoredSerial) {
        let names = &mut self.fold.names;
        let serial = fold::Serial {
            id: r.id,
            stored: true,
            dirty: false,
            duplicate: r.duplicate,
            kind: r.kind,
            status: r.status,
            commission_count: r.commission_count,
            lot: names.intern(r.lot.as_deref()),
            disposition: names.intern(r.disposition.as_deref()),
            owner: names.intern(r.owner.as_deref()),
            location: names.intern(r.location.as_deref()),
            expiry: r.expiry,
            parent_id: r.parent_id.and_then(fold::id),
            last_event_id: r.last_event_id.and_then(fold::id),
            last_event_time: r.last_event_time.and_then(fold::micros),
            loaded_event_id: r.last_event_id.and_then(fold::id),
            commissioned_at: r.commissioned_at.and_then(fold::micros),
        };
        self.fold
            .insert(&r.epc_key, serial, r.parent_key.as_deref());
    }

    /// Writes the fold's changed serials to the database, in chunks (memory).
    fn write_back(&mut self, conn: &mut PgConnection) -> Result<(), CaptureError> {
        let t = std::time::Instant::now();
        let (mut new_total, mut changed_total) = (0, 0);
        loop {
            let mut new = Vec::new();
            let mut changed = Vec::new();
            let handed = self.fold.drain_dirty(WRITE_CHUNK, |key, s, names| {
                let text = |s: fold::Sym| names.name(s).map(str::to_string);
                // Stored rows keep their key and GTIN parts; only new rows need them.
                let parts = (!s.stored)
                    .then(|| crate::gs1::sgtin_key_parts(key))
                    .flatten();
                let row = q::NewSerial {
                    id: s.id,
                    epc_key: if s.stored {
                        String::new()
                    } else {
                        key.to_string()
                    },
                    kind: s.kind,
                    gtin: parts.map(|(g, _)| g.to_string()),
                    serial_number: parts.map(|(_, n)| n.to_string()),
                    lot: text(s.lot),
                    expiry: s.expiry,
                    status: s.status,
                    disposition: text(s.disposition),
                    parent_id: s.parent_id.map(|x| x.get()),
                    owner: text(s.owner),
                    location: text(s.location),
                    last_event_id: s.last_event_id.map(|x| x.get()),
                    commissioned_at: s
                        .commissioned_at
                        .and_then(|m| chrono::DateTime::from_timestamp_micros(m.get())),
                    commission_count: s.commission_count,
                    duplicate: s.duplicate,
                };
                if s.stored {
                    let loaded = s.loaded_event_id.map(|x| x.get());
                    changed.push(q::ChangedSerial::from_row(row, loaded));
                } else {
                    new.push(row);
                }
            });
            if handed == 0 {
                break;
            }
            // In id order: the primary key is then filled at its right edge, and so mostly is
            // the index on parent_id (contents are created and packed in order). The keys of a
            // capture fall between stored ones anyway, whatever the order.
            new.sort_unstable_by_key(|r| r.id);
            let lost = q::write_serials(conn, &new, &changed)?;
            if lost > 0 {
                return Err(CaptureError::Concurrent(lost));
            }
            new_total += new.len();
            changed_total += changed.len();
        }
        log::debug!(
            "capture: wrote {new_total} new and {changed_total} changed serials in {:?}",
            t.elapsed()
        );
        Ok(())
    }

    /// Checks one event against the state just before it and, when nothing refuses it,
    /// applies it to the fold. Returns its business-rule findings.
    fn apply_event(
        &mut self,
        conn: &mut PgConnection,
        p: &Prepared,
        event_id: i64,
    ) -> Result<Vec<Finding>, CaptureError> {
        if p.op == Op::None || self.refused.contains(&p.index) {
            return Ok(Vec::new());
        }
        let e = &p.effect;
        let v = self.values_of(p, event_id);
        let mut keys: Vec<&str> = e.keys.iter().map(|i| p.key(*i)).collect();
        let outputs: Vec<&str> = e.outputs.iter().map(|i| p.key(*i)).collect();
        let parent = e.parent.map(|i| p.key(i));
        let mut all: Vec<&str> = keys.iter().chain(&outputs).copied().collect();
        all.extend(parent);
        // Loaded with the batch, unless a write-back emptied the fold since.
        self.load(conn, &all)?;
        let owned_children: Vec<String>;
        if p.op == Op::Unpack && keys.is_empty() {
            // No children named: the parent is emptied. Its children may be in the database
            // only: write the fold back, then read them.
            let Some(parent) = parent else {
                return Ok(Vec::new());
            };
            self.copy_pending(conn)?;
            self.write_back(conn)?;
            let stored_parent = self.fold.get(parent).filter(|s| s.stored).map(|s| s.id);
            let mut children = Vec::new();
            if let Some(id) = stored_parent {
                for r in q::load_children(conn, id)? {
                    children.push(r.epc_key.clone());
                    if !self.fold.contains(&r.epc_key) {
                        self.insert_stored(r);
                    }
                }
            }
            owned_children = children;
            keys = owned_children.iter().map(String::as_str).collect();
            let named: Vec<&str> = keys.iter().copied().chain(Some(parent)).collect();
            // The children were read from the database, not named by the batch.
            self.note_more_changed_containers(conn, v.event_time, &named)?;
            if self.is_late(named, &v) {
                let late = retract::Late {
                    p,
                    v,
                    keys: Vec::new(),
                    outputs: Vec::new(),
                    parent: Some(parent),
                    unpack_all: true,
                };
                return self.apply_late(conn, late, &keys);
            }
            if keys.is_empty() {
                return Ok(self.check_findings(
                    p,
                    &fold::Change::Unpack {
                        children: &[parent],
                    },
                    &v,
                    true,
                ));
            }
        }
        let Some(change) = change_of(p.op, &keys, &outputs, parent) else {
            return Ok(Vec::new());
        };
        if self.is_late(change_keys(&change).chain(parent), &v) {
            let late = retract::Late {
                p,
                v,
                keys: keys.clone(),
                outputs: outputs.clone(),
                parent,
                unpack_all: false,
            };
            return self.apply_late(conn, late, &[]);
        }
        let findings = self.check_findings(p, &change, &v, false);
        if findings.iter().any(|f| f.severity == "reject") {
            return Ok(findings);
        }
        self.apply_change(conn, p, &change, &v)?;
        Ok(findings)
    }

    /// Reserves ids for the serials the change makes present that have no row yet.
    fn reserve_for(
        &mut self,
        conn: &mut PgConnection,
        change: &fold::Change<'_>,
    ) -> Result<(), CaptureError> {
        let needed = self.fold.absent_count(change_keys(change));
        if self.fold.free_ids() < needed {
            let n = (needed - self.fold.free_ids()).max(ID_CHUNK);
            let ids = q::reserve_serial_ids(conn, n)?;
            self.fold.add_ids(ids.into_iter().rev());
        }
        Ok(())
    }

    /// What an event sets, interned in the fold's names.
    fn values_of(&mut self, p: &Prepared, event_id: i64) -> fold::Values {
        let e = &p.effect;
        let names = &mut self.fold.names;
        fold::Values {
            event_id,
            event_time: p.event_time,
            status: e.status,
            lot: names.intern(e.lot.as_deref()),
            expiry: e.expiry,
            disposition: names.intern(e.disposition.as_deref()),
            owner: names.intern(e.owner.as_deref()),
            location: names.intern(e.location.as_deref()),
        }
    }

    /// Applies a checked change (its serials loaded in the fold): ids for new rows, the fold,
    /// and terminal statuses passed down to the contents of containers.
    fn apply_change(
        &mut self,
        conn: &mut PgConnection,
        p: &Prepared,
        change: &fold::Change<'_>,
        v: &fold::Values,
    ) -> Result<(), CaptureError> {
        self.reserve_for(conn, change)?;
        let (created, updated) = self.fold.apply(change, v);
        self.serials_created += created;
        self.serials_updated += updated;
        // A terminal status (dispensed, destroyed) given to containers goes to their contents,
        // which may be in the database only: write back, update down the tree, forget.
        if let (Op::Transition { inherit: true }, Some(st), fold::Change::Transition(keys)) =
            (p.op, p.effect.status, change)
        {
            if fold::status::is_terminal(st) {
                let containers: Vec<i64> = keys
                    .iter()
                    .filter_map(|k| self.fold.get(k))
                    .map(|s| s.id)
                    .collect();
                // The rows reloaded after this read their last event's time from `events`.
                self.copy_pending(conn)?;
                self.write_back(conn)?;
                let disposition = p.effect.disposition.as_deref();
                let n = q::cascade_terminal(conn, &containers, st, disposition, v.event_id)?;
                self.serials_updated += n as u64;
                self.fold.clear();
            }
        }
        Ok(())
    }

    /// The findings of a change's problems: one per problem kind and event ("... and N more").
    fn check_findings(
        &self,
        p: &Prepared,
        change: &fold::Change<'_>,
        v: &fold::Values,
        only_unknown: bool,
    ) -> Vec<Finding> {
        let mut grouped = Grouped::new();
        for pr in self.fold.check(change, v) {
            if only_unknown && pr.kind != fold::ProblemKind::Unknown {
                continue;
            }
            group(&mut grouped, pr);
        }
        findings_of(p, grouped)
    }
}

/// Every identifier the state changes of these events name.
fn batch_keys<'p>(batch: impl IntoIterator<Item = &'p Prepared>) -> Vec<&'p str> {
    batch
        .into_iter()
        .flat_map(|p| {
            let e = &p.effect;
            e.keys
                .iter()
                .chain(&e.outputs)
                .chain(&e.parent)
                .map(move |i| p.key(*i))
        })
        .collect()
}

/// Problems of one event by kind: how many, and the first.
type Grouped = BTreeMap<fold::ProblemKind, (usize, fold::Problem)>;

fn group(grouped: &mut Grouped, pr: fold::Problem) {
    grouped
        .entry(pr.kind)
        .and_modify(|(n, _)| *n += 1)
        .or_insert((1, pr));
}

/// The change an event makes to these identifiers (`None`: no state change).
fn change_of<'a>(
    op: Op,
    keys: &'a [&'a str],
    outputs: &'a [&'a str],
    parent: Option<&'a str>,
) -> Option<fold::Change<'a>> {
    Some(match op {
        Op::Commission => fold::Change::Commission(keys),
        Op::Pack => fold::Change::Pack {
            parent: parent?,
            children: keys,
        },
        Op::Unpack => fold::Change::Unpack { children: keys },
        Op::Transition { .. } => fold::Change::Transition(keys),
        Op::Transform => fold::Change::Transform {
            inputs: keys,
            outputs,
        },
        Op::None => return None,
    })
}

/// Every identifier a change names.
fn change_keys<'a>(change: &fold::Change<'a>) -> impl Iterator<Item = &'a str> {
    let (a, b, c): (&[&str], &[&str], Option<&str>) = match *change {
        fold::Change::Commission(k) | fold::Change::Transition(k) => (k, &[], None),
        fold::Change::Pack { parent, children } => (children, &[], Some(parent)),
        fold::Change::Unpack { children } => (children, &[], None),
        fold::Change::Transform { inputs, outputs } => (inputs, outputs, None),
    };
    a.iter().chain(b).copied().chain(c)
}

/// The findings of an event's grouped problems: one per problem kind ("... and N more").
fn findings_of(p: &Prepared, grouped: Grouped) -> Vec<Finding> {
    let mut out = Vec::new();
    for (kind, (n, pr)) in grouped {
        let more = if n > 1 {
            format!(" (and {} more)", n - 1)
        } else {
            String::new()
        };
        let epc = pr.key;
        let detail = pr.detail.unwrap_or_default();
        use fold::ProblemKind as K;
        let (rule, severity, message, hint) = match kind {
                K::Duplicate => (rules::DUPLICATE_COMMISSIONING, Severity::Warn,
                    format!("{epc}{more} was already commissioned: a second commissioning is a potential counterfeit; the serial is flagged as duplicate"),
                    "investigate the serial; if the first commissioning was wrong, retract it with an error declaration"),
                K::LotMismatch => (rules::LOT_DISAGREES, Severity::Reject,
                    format!("lot of {epc}{more} disagrees with what is stored ({detail})"),
                    "send the lot the serial was commissioned with, or correct the earlier event"),
                K::ExpiryMismatch => (rules::EXPIRY_DISAGREES, Severity::Reject,
                    format!("expiry of {epc}{more} disagrees with what is stored ({detail})"),
                    "send the expiry the serial was commissioned with, or correct the earlier event"),
                K::Unknown => (rules::UNKNOWN_SERIAL, Severity::Warn,
                    format!("{epc}{more} is not known here (no commissioning received); recorded as unknown until its commissioning arrives"),
                    "send the commissioning events of these serials (upstream data)"),
                K::OutOfCirculation => (rules::OUT_OF_CIRCULATION, Severity::Reject,
                    format!("{epc}{more} is {detail} and cannot be packed, shipped, received or observed"),
                    "check the serial: a decommissioned, destroyed or dispensed identifier in circulation is suspect"),
                K::OtherParent => (rules::IN_ANOTHER_PARENT, Severity::Reject,
                    format!("{epc}{more} is already inside {detail}; unpack it first"),
                    "send the unpacking (AggregationEvent DELETE) before packing it again"),
            };
        out.push(finding(
            rule,
            severity,
            p.line,
            p.column,
            Some(p.index),
            message,
            hint,
        ));
    }
    out
}

/// The warning for an event stored before (same CBV 2.0 hash).
fn duplicate_event(p: &Prepared) -> Finding {
    finding(
        rules::DUPLICATE_EVENT,
        Severity::Warn,
        p.line,
        p.column,
        Some(p.index),
        format!(
            "event {} was captured before (same CBV 2.0 event hash); it is not stored again",
            p.index
        ),
        "nothing to do: resending an event is harmless",
    )
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
                let gln = crate::gs1::gln_of_key(&id).map(str::to_string);
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
    input: impl Read + Send,
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
        events_retracted: 0,
        batch: Vec::new(),
        batch_size: 0,
        pending: BatchRows::default(),
        changed_containers: HashMap::new(),
        packed_parents: HashSet::new(),
        refused: HashSet::new(),
        gtins: HashSet::new(),
        locations: HashSet::new(),
        fold: Fold::default(),
    };

    let mut duplicate_of = None;
    let mut dry_outcome = None;
    let mut sha256 = [0u8; 32];
    let t = std::time::Instant::now();
    if crate::store::statistics::refresh_if_stale(conn)? {
        log::debug!("capture: statistics refreshed in {:?}", t.elapsed());
    }
    let result: Result<Outcome, CaptureError> = conn.transaction(|conn| {
        // Capture's statements are short look-ups and bulk writes: compiling them (JIT, on by
        // default since PostgreSQL 12 wherever LLVM is installed) costs more than it saves.
        diesel::sql_query("SET LOCAL jit = off").execute(conn)?;
        q::insert_document(conn, &received_row(document_id, opts))?;
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
        run.write_back(conn)?;
        let t = std::time::Instant::now();
        master_data_rules(conn, &mut run)?;
        issuance_rules(conn, &mut run)?;
        log::debug!(
            "capture: master data and issuance rules in {:?}",
            t.elapsed()
        );
        let outcome = if run.errors.is_empty() {
            Outcome::Accepted
        } else {
            Outcome::PartiallyAccepted
        };
        if opts.dry_run {
            dry_outcome = Some(outcome);
            return Err(CaptureError::Store(
                diesel::result::Error::RollbackTransaction,
            ));
        }
        tee.spool.flush().map_err(CaptureError::Spool)?;
        if let Some(e) = tee.spool_error.take() {
            return Err(CaptureError::Spool(e));
        }
        let t = std::time::Instant::now();
        finish(conn, &run, outcome, &sha256, tee.bytes)?;
        archive(conn, document_id, &spool.path)?;
        log::debug!("capture: document archived in {:?}", t.elapsed());
        Ok(outcome)
    });
    let outcome = match result {
        Ok(o) => o,
        Err(CaptureError::Store(diesel::result::Error::RollbackTransaction))
            if duplicate_of.is_some() =>
        {
            Outcome::Duplicate
        }
        Err(CaptureError::Store(diesel::result::Error::RollbackTransaction))
            if dry_outcome.is_some() || opts.dry_run =>
        {
            dry_outcome.unwrap_or(Outcome::Rejected)
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
        events_retracted: if stored { run.events_retracted } else { 0 },
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

/// What the reading thread hands to the storing thread, in document order.
enum Parsed {
    Facts(DocumentFacts),
    MasterData(Vocabulary),
    Finding(Finding),
    Event(Box<Prepared>),
    /// The reader could not write a huge event's lists to the spool: a server fault, not a
    /// fault of the document.
    SpoolFailed(String),
}

/// Reads the document on its own thread (parsing, structure and identifier rules, event
/// hashes, the event-level DSCSA rules and the rows of each event), while this thread stores
/// what it hands over: the two halves of a capture use both cores. A bounded channel keeps
/// memory bounded; if storing fails, the channel closes and the reader stops.
fn read_document<R: Read + Send>(
    conn: &mut PgConnection,
    input: R,
    run: &mut Run<'_>,
) -> Result<(), CaptureError> {
    let (tx, rx) = std::sync::mpsc::channel::<Parsed>();
    let budget = Budget::default();
    let limits = run.opts.limits.clone();
    let spill = crate::epcis::SpillOptions {
        dir: run.opts.spool_dir.clone(),
        after: run.opts.spill_after,
    };
    let tolerance = run.opts.future_tolerance;
    let document_id = run.document_id;
    std::thread::scope(|scope| {
        let reader_budget = &budget;
        scope.spawn(move || {
            read_front(
                input,
                limits,
                spill,
                tolerance,
                document_id,
                tx,
                reader_budget,
            )
        });
        let mut result = Ok(());
        for msg in rx.iter() {
            if let Parsed::Event(p) = &msg {
                budget.release(p.in_flight());
            }
            result = match msg {
                Parsed::Facts(f) => {
                    run.facts = f;
                    Ok(())
                }
                Parsed::MasterData(vocab) => store_master_data(conn, &vocab),
                Parsed::Finding(f) => {
                    run.push(f);
                    Ok(())
                }
                Parsed::Event(p) => run.add_event(conn, *p),
                Parsed::SpoolFailed(m) => Err(CaptureError::Spool(std::io::Error::other(m))),
            };
            if result.is_err() {
                break;
            }
        }
        // Dropping the receiver (and closing the budget) stops the reader at its next
        // hand-over.
        budget.close();
        drop(rx);
        result?;
        run.flush(conn)
    })
}

/// EPC references handed over to the storing thread and not yet taken: the reader waits
/// while there are more than this many, so memory stays bounded whatever the event sizes.
/// Spilled references count too: the reader does not run ahead filling the spool with huge
/// events (at most one waits while another is stored).
const IN_FLIGHT_EPCS: usize = 100_000;

#[derive(Default)]
struct Budget {
    /// (EPC references in flight, closed)
    state: std::sync::Mutex<(usize, bool)>,
    taken: std::sync::Condvar,
}

impl Budget {
    /// Waits for room for `n` more; false once the storing side has stopped.
    fn acquire(&self, n: usize) -> bool {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !st.1 && st.0 > 0 && st.0 + n > IN_FLIGHT_EPCS {
            st = self.taken.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        st.0 += n;
        !st.1
    }

    fn release(&self, n: usize) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.0 = st.0.saturating_sub(n);
        self.taken.notify_all();
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.taken.notify_all();
    }
}

fn read_front<R: Read>(
    input: R,
    limits: Limits,
    spill: crate::epcis::SpillOptions,
    tolerance: chrono::Duration,
    document_id: Uuid,
    tx: std::sync::mpsc::Sender<Parsed>,
    budget: &Budget,
) {
    let send = |m: Parsed| tx.send(m).is_ok();
    let mut reader =
        EpcisReader::new(std::io::BufReader::with_capacity(1 << 16, input), limits).spill_to(spill);
    let mut facts = DocumentFacts::default();
    let mut refused: HashSet<u64> = HashSet::new();
    let now = Utc::now();
    let report = |f: Finding, refused: &mut HashSet<u64>| {
        if f.severity == "reject" {
            if let Some(i) = f.event_index {
                refused.insert(i);
            }
        }
        send(Parsed::Finding(f))
    };
    loop {
        let item = match reader.next_item() {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(e) if e.code == crate::epcis::diagnostics::rules::SPILL.id => {
                send(Parsed::SpoolFailed(e.message));
                return;
            }
            Err(e) => {
                for d in reader.take_diagnostics() {
                    report(from_diagnostic(d), &mut refused);
                }
                report(fatal(&e), &mut refused);
                return;
            }
        };
        for d in reader.take_diagnostics() {
            if !report(from_diagnostic(d), &mut refused) {
                return;
            }
        }
        match item {
            Item::DocumentStart(start) => {
                facts.format = Some(match (start.version, start.kind) {
                    (EpcisVersion::V1, DocumentKind::EpcisMasterDataDocument) => {
                        "masterdata-1.2-xml"
                    }
                    // The documents.format CHECK has no 2.0 master-data value: it is the
                    // EPCIS 2.0 XML binding, so it is recorded as such.
                    (EpcisVersion::V2, DocumentKind::EpcisMasterDataDocument) => "epcis-2.0-xml",
                    (EpcisVersion::V1, _) => "epcis-1.2-xml",
                    (EpcisVersion::V2, _) => "epcis-2.0-xml",
                });
                facts.header.creation_date = start
                    .creation_date
                    .and_then(|t| t.value)
                    .map(|t| t.with_timezone(&Utc));
                send(Parsed::Facts(facts.clone()));
            }
            Item::MasterData(vocab) => {
                send(Parsed::MasterData(vocab));
            }
            Item::Header(header) => {
                if let Some(sbdh) = &header.sbdh {
                    facts.header.sender = sbdh.senders.first().map(|p| p.identifier.clone());
                    facts.header.receiver = sbdh.receivers.first().map(|p| p.identifier.clone());
                    facts.header.instance_identifier =
                        sbdh.document_identification.instance_identifier.clone();
                    facts.has_sbdh_parties = !sbdh.senders.is_empty() && !sbdh.receivers.is_empty();
                }
                facts.has_transaction_statement = header.transaction_statement.is_some();
                facts.dscsa =
                    header.transaction_statement.is_some() || header.guideline_version.is_some();
                send(Parsed::Facts(facts.clone()));
            }
            Item::Event(event) => {
                if refused.contains(&event.index) {
                    continue;
                }
                let Some(p) = prepare::prepare(&event, document_id) else {
                    // The reader reported why; make sure the event counts as refused.
                    refused.insert(event.index);
                    continue;
                };
                drop(event);
                if p.event_time > now + tolerance {
                    report(in_the_future(&p, now, tolerance), &mut refused);
                    continue;
                }
                if p.shipping && facts.dscsa {
                    if !facts.has_sbdh_parties {
                        report(finding(rules::SHIPPING_WITHOUT_SBDH_PARTIES, Severity::Reject, p.line, p.column, Some(p.index),
                            "a DSCSA shipping event needs the SBDH sender and receiver (the transferor and transferee)".into(),
                            "add sbdh:Sender and sbdh:Receiver with their GLN or SGLN to the EPCISHeader"), &mut refused);
                        continue;
                    }
                    if !facts.has_transaction_statement {
                        report(finding(rules::SHIPPING_WITHOUT_TRANSACTION_STATEMENT, Severity::Reject, p.line, p.column, Some(p.index),
                            "a DSCSA shipping event needs the transaction statement (FD&C Act §581(27))".into(),
                            "add gs1ushc:dscsaTransactionStatement to the EPCISHeader"), &mut refused);
                        continue;
                    }
                }
                for r in &p.repeated {
                    report(
                        finding(
                            rules::REPEATED_IDENTIFIER,
                            Severity::Warn,
                            p.line,
                            p.column,
                            Some(p.index),
                            format!("{r} is listed more than once in the same list; stored once"),
                            "list each identifier once",
                        ),
                        &mut refused,
                    );
                }
                if refused.contains(&p.index) {
                    continue;
                }
                if !budget.acquire(p.in_flight()) || !send(Parsed::Event(Box::new(p))) {
                    return;
                }
            }
            Item::End => break,
        }
    }
    for d in reader.take_diagnostics() {
        report(from_diagnostic(d), &mut refused);
    }
}

/// `capture.future_tolerance_secs` as the capture takes it.
pub fn tolerance(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// DSCSA-B-011 for an event time more than the tolerance ahead of the server's clock. When
/// the time read as UTC (its offset dropped) is the server's time, within the tolerance (at
/// least a minute), the message says so: a client that writes its UTC wall-clock time
/// followed by its local offset (seen in a widely used EPCIS 2.0 SDK) looks hours ahead when
/// it is west of UTC. It stays a reject (docs/RULES.md): the time as written is in the future,
/// and storing it would put the event ahead of everything that follows it in time.
fn in_the_future(p: &Prepared, now: chrono::DateTime<Utc>, tolerance: chrono::Duration) -> Finding {
    let excess = p.event_time - now;
    let offset = chrono::Duration::seconds(i64::from(p.stated_offset_secs));
    let wall_clock_as_utc = p.event_time + offset;
    let slack = tolerance.max(chrono::Duration::minutes(1));
    let likely_offset_bug = p.stated_offset_secs < 0 && (wall_clock_as_utc - now).abs() <= slack;
    let ahead = |d: chrono::Duration| {
        let m = d.num_minutes();
        format!("{}h{:02}m", m / 60, m % 60)
    };
    let (message, hint) = if likely_offset_bug {
        let written = p.event_time.with_timezone(
            &chrono::FixedOffset::east_opt(p.stated_offset_secs).expect("a parsed offset"),
        );
        (
            format!(
                "event time {} is {} in the future (server time {}), exactly its UTC offset {}:                  likely a client bug writing the UTC wall-clock time with the local offset                  (meant {}Z?)",
                written.to_rfc3339(),
                ahead(excess),
                now.to_rfc3339(),
                written.format("%:z"),
                written.naive_local().format("%Y-%m-%dT%H:%M:%S")
            ),
            "write the local time with the local offset (or the UTC time with Z); this is a              known default of some EPCIS 2.0 SDKs",
        )
    } else {
        (
            format!(
                "event time {} is {} in the future (server time {}; {} s of clock skew allowed)",
                p.event_time.to_rfc3339(),
                ahead(excess),
                now.to_rfc3339(),
                tolerance.num_seconds()
            ),
            "send events after they happened; check the sender's clock and time zone",
        )
    };
    finding(
        rules::EVENT_IN_THE_FUTURE,
        Severity::Reject,
        p.line,
        p.column,
        Some(p.index),
        message,
        hint,
    )
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

/// Serials of our own pools that this document commissions but that were never allocated: no
/// packaging line of ours was given them, so the pack is likely counterfeit (or the line prints
/// serials it was not given). They are stored as sent, flagged suspect, and reported once per
/// event.
fn issuance_rules(conn: &mut PgConnection, run: &mut Run<'_>) -> Result<(), CaptureError> {
    let Some(key) = run.opts.serial_key.clone() else {
        return Ok(());
    };
    if run.gtins.is_empty() {
        return Ok(());
    }
    let gtins: Vec<&str> = run.gtins.iter().map(String::as_str).collect();
    let check = crate::serials::IssuanceCheck::load(conn, &key, &gtins)?;
    let pooled: Vec<String> = check.gtins().map(str::to_string).collect();
    if pooled.is_empty() {
        return Ok(());
    }
    let commissioned =
        crate::store::serials::commissioned_in_document(conn, run.document_id, &pooled)?;
    let mut suspect: Vec<String> = Vec::new();
    // (event seq, first serial, how many) per event, in document order
    let mut per_event: Vec<(i32, String, usize)> = Vec::new();
    for c in commissioned {
        let Some((gtin, serial)) = crate::gs1::sgtin_key_parts(&c.epc_key) else {
            continue;
        };
        if !check.never_issued(gtin, serial) {
            continue;
        }
        match per_event.last_mut() {
            Some((seq, _, n)) if *seq == c.seq => *n += 1,
            _ => per_event.push((c.seq, format!("{gtin} serial {serial}"), 1)),
        }
        suspect.push(c.epc_key);
    }
    if suspect.is_empty() {
        return Ok(());
    }
    crate::store::serials::mark_suspect(conn, &suspect)?;
    for (seq, first, n) in per_event {
        let more = if n > 1 {
            format!(" (and {} more in this event)", n - 1)
        } else {
            String::new()
        };
        run.push(finding(
            rules::NEVER_ISSUED,
            Severity::Warn,
            0,
            0,
            Some(seq as u64),
            format!(
                "GTIN {first}{more} is in the range of our serial pool but was never allocated: a potential counterfeit; flagged suspect"
            ),
            "check the packaging line's serial source: only serials from an allocation (`serials allocate`) may be commissioned; investigate the packs as suspect product",
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
/// No event hash is needed; huge events' lists pass through a temporary file, so memory stays
/// bounded as in a capture.
pub fn validate(input: impl Read, limits: Limits) -> Vec<Finding> {
    let spill = crate::epcis::SpillOptions {
        dir: std::env::temp_dir(),
        after: SPILL_AFTER,
    };
    let mut reader = EpcisReader::new(std::io::BufReader::with_capacity(1 << 16, input), limits)
        .with_hashing(false)
        .spill_to(spill);
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
