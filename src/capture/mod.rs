//! EPCIS capture: a trading partner's document is read as a stream, validated (structure,
//! identifiers, DSCSA business rules), stored whole or not at all in one transaction together
//! with the state of every serial it touches, and answered with a report.
//!
//! Memory stays bounded: the document is read on a thread of its own and handed over within a
//! budget of EPC references ([`reading`]); events are stored in batches of at most 50,000 EPC
//! rows by binary COPY ([`run`]), the state of the serials they name is kept in a fold of
//! bounded size that is written back when full ([`state`], [`fold`]); huge events are read
//! back from the spool in chunks ([`spilled`]); the raw bytes go to a spool file, archived at
//! the end ([`archive`]).
//!
//! Out-of-order arrival: an event that names a serial not known yet (packed or shipped before
//! its commissioning arrived, in this document or a later one) records it with status
//! `unknown` and a warning; the commissioning, when it comes, completes that row instead of
//! being reported as a duplicate. An event older than the state of what it names is applied
//! through a replay of their history in time order ([`retract`], which also serves error
//! declarations). Verification answers `No_match_GTIN_Serial` for unknown serials until then.
//!
//! Rule ids, severities and fixes: `docs/RULES.md` (business rules: `DSCSA-B-…`, catalogued in
//! [`rules`]).

mod archive;
pub mod documents;
pub mod fold;
mod issuance;
mod master_data;
mod prepare;
mod reading;
mod report;
mod retract;
pub mod rules;
mod run;
mod spilled;
mod state;

use std::io::Read;
use std::path::{Path, PathBuf};

use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::epcis::{EpcisReader, Item, Limits};
use crate::store::capture as q;
pub use prepare::key_of;
use reading::Tee;
use report::{fatal, from_diagnostic};
pub use report::{CaptureReport, Finding, Outcome};
use run::Run;

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

/// Default of [`CaptureOptions::spill_after`]: an event of 20,000 EPCs in memory takes about
/// 14 MB on its way through the reader, `prepare` and the fold (1,000,000 items in one
/// commissioning: peak RSS growth 80 MB with 20,000, 94 MB with 50,000).
const SPILL_AFTER: usize = 20_000;

/// How a capture ended.
enum Ending {
    /// Committed: with every event (accepted) or with those that passed (partially accepted).
    Stored(Outcome),
    /// `validate --db`: checked against the stored state, then rolled back.
    DryRun(Outcome),
    /// The same bytes were accepted before, as this document: rolled back.
    Duplicate(Uuid),
    /// Refused (errors under `rollback`, or no event stored): rolled back, then the document
    /// is archived as rejected with its findings.
    Refused { sha256: [u8; 32] },
}

impl Ending {
    fn outcome(&self) -> Outcome {
        match self {
            Ending::Stored(o) | Ending::DryRun(o) => *o,
            Ending::Duplicate(_) => Outcome::Duplicate,
            Ending::Refused { .. } => Outcome::Rejected,
        }
    }
}

/// Why the capture's transaction was rolled back: it ended without storing, or it failed.
enum Undo {
    Ended(Ending),
    Failed(CaptureError),
}

impl From<CaptureError> for Undo {
    fn from(e: CaptureError) -> Self {
        Undo::Failed(e)
    }
}

impl From<diesel::result::Error> for Undo {
    fn from(e: diesel::result::Error) -> Self {
        Undo::Failed(e.into())
    }
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
    let (spool, file) = archive::Spool::create(&opts.spool_dir, document_id)?;
    let mut tee = Tee::new(input, file);
    let mut run = Run::new(opts, document_id);

    let t = std::time::Instant::now();
    if crate::store::statistics::refresh_if_stale(conn)? {
        log::debug!("capture: statistics refreshed in {:?}", t.elapsed());
    }
    let result = conn.transaction(|conn| match receive(conn, &mut tee, &mut run, &spool)? {
        stored @ Ending::Stored(_) => Ok(stored),
        ending => Err(Undo::Ended(ending)),
    });
    let ending = match result {
        Ok(ending) | Err(Undo::Ended(ending)) => ending,
        Err(Undo::Failed(e)) => return Err(e),
    };
    if let Ending::Refused { sha256 } = &ending {
        // Nothing of it was applied; the document itself is kept, with its errors.
        tee.flush_spool().map_err(CaptureError::Spool)?;
        conn.transaction(|conn| {
            q::insert_document(conn, &archive::received_row(document_id, opts))?;
            archive::finish(conn, &run, Outcome::Rejected, sha256, tee.byte_count())?;
            archive::archive(conn, document_id, spool.path())
        })?;
    }
    Ok(run.into_report(&ending, tee.byte_count()))
}

/// The capture's transaction: the document is read and stored, and its ending decided. Only
/// [`Ending::Stored`] commits.
fn receive<R: Read + Send>(
    conn: &mut PgConnection,
    tee: &mut Tee<R>,
    run: &mut Run<'_>,
    spool: &archive::Spool,
) -> Result<Ending, CaptureError> {
    let opts = run.opts();
    // Capture's statements are short look-ups and bulk writes: compiling them (JIT, on by
    // default since PostgreSQL 12 wherever LLVM is installed) costs more than it saves.
    diesel::sql_query("SET LOCAL jit = off").execute(conn)?;
    q::insert_document(conn, &archive::received_row(run.document_id(), opts))?;
    reading::read_document(conn, &mut *tee, run)?;
    // Drain what the parser did not need (trailing whitespace), so the hash is of the whole
    // body, but never past the size limit: an oversized body is not spooled to the end.
    let remaining = opts.limits.max_bytes.saturating_sub(tee.byte_count());
    std::io::copy(&mut Read::take(&mut *tee, remaining), &mut std::io::sink())
        .map_err(CaptureError::Spool)?;
    let sha256 = tee.take_digest();
    if let Some(original) = q::accepted_with_hash(conn, &sha256)? {
        return Ok(Ending::Duplicate(original));
    }
    let reject = run.findings().has_errors()
        && (opts.behaviour == ErrorBehaviour::Rollback || run.tally().event_count == 0);
    if reject {
        return Ok(match opts.dry_run {
            true => Ending::DryRun(Outcome::Rejected),
            false => Ending::Refused { sha256 },
        });
    }
    run.write_back(conn)?;
    run.document_rules(conn)?;
    let outcome = if run.findings().has_errors() {
        Outcome::PartiallyAccepted
    } else {
        Outcome::Accepted
    };
    if opts.dry_run {
        return Ok(Ending::DryRun(outcome));
    }
    tee.flush_spool().map_err(CaptureError::Spool)?;
    if let Some(e) = tee.take_spool_error() {
        return Err(CaptureError::Spool(e));
    }
    let t = std::time::Instant::now();
    archive::finish(conn, run, outcome, &sha256, tee.byte_count())?;
    archive::archive(conn, run.document_id(), spool.path())?;
    log::debug!("capture: document archived in {:?}", t.elapsed());
    Ok(Ending::Stored(outcome))
}

/// `capture.future_tolerance_secs` as the capture takes it.
pub fn tolerance(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
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
