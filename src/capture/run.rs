//! One capture in progress, on the storing thread: events join batches; a batch is flushed
//! (duplicates dropped, the state of what it names loaded, its events checked and applied in
//! time order, their rows copied); error declarations and huge events go on their own; at the
//! end the document-level rules run over what was stored.

use std::collections::{HashSet, VecDeque};

use diesel::PgConnection;
use uuid::Uuid;

use super::prepare::{Op, Prepared};
use super::reading::DocumentFacts;
use super::report::{CaptureReport, Findings, Tally};
use super::retract::{self, Declared, Late};
use super::state::{sides, State, Step};
use super::{issuance, master_data, rules, spilled, CaptureError, CaptureOptions, Ending, Finding};
use crate::epcis::EventType;
use crate::store::capture::{self as q, BatchRows};
use crate::store::codes::Code;

/// EPC references per batch of events written together.
const BATCH_EFFECTS: usize = 50_000;

/// Progress of one capture.
pub(super) struct Run<'a> {
    opts: &'a CaptureOptions,
    document_id: Uuid,
    facts: DocumentFacts,
    findings: Findings,
    tally: Tally,
    batch: Vec<Prepared>,
    /// EPC references (and events) in `batch`.
    batch_size: usize,
    /// GTINs and location keys of the stored events, for the master-data and issuance rules.
    gtins: HashSet<String>,
    locations: HashSet<String>,
    state: State,
}

impl<'a> Run<'a> {
    pub fn new(opts: &'a CaptureOptions, document_id: Uuid) -> Self {
        Run {
            opts,
            document_id,
            facts: DocumentFacts::default(),
            findings: Findings::default(),
            tally: Tally::default(),
            batch: Vec::new(),
            batch_size: 0,
            gtins: HashSet::new(),
            locations: HashSet::new(),
            state: State::default(),
        }
    }

    pub fn opts(&self) -> &'a CaptureOptions {
        self.opts
    }

    pub fn document_id(&self) -> Uuid {
        self.document_id
    }

    pub fn facts(&self) -> &DocumentFacts {
        &self.facts
    }

    pub fn set_facts(&mut self, facts: DocumentFacts) {
        self.facts = facts;
    }

    pub fn findings(&self) -> &Findings {
        &self.findings
    }

    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    pub fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// The report of the capture, ended so, of a document of `byte_size` bytes.
    pub fn into_report(self, ending: &Ending, byte_size: u64) -> CaptureReport {
        let format = self.facts.format.unwrap_or("unknown");
        CaptureReport::new(
            self.document_id,
            ending,
            format,
            byte_size,
            self.tally,
            self.findings,
        )
    }

    /// Writes the state still held in memory back to the database.
    pub fn write_back(&mut self, conn: &mut PgConnection) -> Result<(), CaptureError> {
        self.state.write_back(conn)
    }

    /// The rules about the document as a whole, over what was stored: master data of its
    /// products and locations (DSCSA-B-007, -008) and serials never issued (DSCSA-B-015).
    pub fn document_rules(&mut self, conn: &mut PgConnection) -> Result<(), CaptureError> {
        let t = std::time::Instant::now();
        if self.facts.dscsa {
            master_data::check(conn, &self.gtins, &self.locations, &mut self.findings)?;
        }
        if let Some(key) = &self.opts.serial_key {
            let document_id = self.document_id;
            issuance::check(conn, key, document_id, &self.gtins, &mut self.findings)?;
        }
        log::debug!(
            "capture: master data and issuance rules in {:?}",
            t.elapsed()
        );
        Ok(())
    }

    pub fn add_event(&mut self, conn: &mut PgConnection, p: Prepared) -> Result<(), CaptureError> {
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
    pub fn flush(&mut self, conn: &mut PgConnection) -> Result<(), CaptureError> {
        let batch = std::mem::take(&mut self.batch);
        self.batch_size = 0;
        if batch.is_empty() {
            return Ok(());
        }
        let mut batch = self.without_duplicates(conn, batch)?;
        if batch.is_empty() {
            return Ok(());
        }
        // In time order: then no event of the batch is older than one applied before it, and
        // only what is older than the stored state needs a replay (`retract::apply_late`).
        batch.sort_by_key(|p| (p.event_time, p.index));
        let mut ids = q::reserve_event_ids(conn, batch.len())?;
        ids.sort_unstable();
        self.load_for(conn, batch.iter())?;
        let declared = self.apply_batch(conn, batch.into_iter().zip(ids).collect())?;
        self.state.copy_pending(conn)?;
        if let Some(d) = declared {
            self.retract(conn, &d)?;
        }
        Ok(())
    }

    /// The batch without the events stored before (same hash) or listed twice in it: they
    /// are not stored again, nor applied again.
    fn without_duplicates(
        &mut self,
        conn: &mut PgConnection,
        mut batch: Vec<Prepared>,
    ) -> Result<Vec<Prepared>, CaptureError> {
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
                self.tally.duplicate_events += 1;
                self.findings.push(rules::duplicate_event(p));
            }
            !dup
        });
        Ok(batch)
    }

    /// Loads everything checking and applying these events (in time order) needs, so that
    /// the fold does it in memory: the serials they name with their containers up the tree
    /// (room made first), the stored contents of the containers that a DELETE without
    /// children empties, the containers whose contents changed after the first event's time
    /// (what tells a late event), and ids for the serials that have no row yet.
    fn load_for<'p>(
        &mut self,
        conn: &mut PgConnection,
        events: impl Iterator<Item = &'p Prepared> + Clone,
    ) -> Result<(), CaptureError> {
        let Some(from) = events.clone().next().map(|p| p.event_time) else {
            return Ok(());
        };
        let keys = batch_keys(events.clone());
        self.state.load_with_room(conn, &keys)?;
        let emptied: Vec<&str> = events
            .filter(|p| p.op == Op::Unpack && p.effect.keys.is_empty())
            .filter(|p| !self.findings.refused(p.index))
            .filter_map(|p| p.effect.parent.map(|i| p.key(i)))
            .collect();
        let contents = self.state.load_contents(conn, &emptied)?;
        let mut named = keys.clone();
        named.extend(contents.iter().map(String::as_str));
        self.state.note_changed_containers(conn, from, &named)?;
        self.state.reserve_for_keys(conn, &keys)?;
        Ok(())
    }

    /// Checks and applies the events of a batch (with their ids) one after the other, their
    /// serials loaded. Returns the error declaration among them, if it was accepted.
    fn apply_batch(
        &mut self,
        conn: &mut PgConnection,
        mut batch: VecDeque<(Prepared, i64)>,
    ) -> Result<Option<Declared>, CaptureError> {
        let mut declared = None;
        while let Some((p, id)) = batch.pop_front() {
            if self.state.fold().is_empty() {
                // A replay emptied the fold: the rest of the batch is loaded again at once,
                // not event by event, and what a replayed packing changed is looked at again
                // (stored first).
                self.state.copy_pending(conn)?;
                let rest = batch.iter().map(|(p, _)| p);
                self.load_for(conn, std::iter::once(&p).chain(rest))?;
            }
            let t = std::time::Instant::now();
            let findings = self.apply_event(conn, &p, id)?;
            let refused = findings.iter().any(Finding::rejects);
            for f in findings {
                self.push(f);
            }
            if refused || self.findings.refused(p.index) {
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
                declared = Some(Declared::of(&p, id));
            }
            self.accept(p, id);
        }
        Ok(declared)
    }

    /// Checks one event against the state just before it and, when nothing refuses it,
    /// applies it to the fold (in memory: `load_for` loaded what it needs); then what the
    /// fold cannot do alone: a replay for a late event, a terminal status written down
    /// contents in the database only. Returns its business-rule findings.
    fn apply_event(
        &mut self,
        conn: &mut PgConnection,
        p: &Prepared,
        event_id: i64,
    ) -> Result<Vec<Finding>, CaptureError> {
        if p.op == Op::None || self.findings.refused(p.index) {
            return Ok(Vec::new());
        }
        let v = self.state.values_of(p, event_id);
        match self.state.step(p, &v) {
            Step::Done(findings) => Ok(findings),
            Step::Applied {
                findings,
                counts: (created, mut updated),
                cascade,
            } => {
                if let Some(c) = cascade {
                    updated += self.state.cascade_stored(conn, &c)?;
                }
                self.tally.serials((created, updated));
                Ok(findings)
            }
            Step::Late {
                unpack_all,
                contents,
            } => {
                let (mut keys, mut outputs, parent) = sides(p);
                let contents: Vec<&str> = contents.iter().map(|k| &**k).collect();
                if unpack_all {
                    (keys, outputs) = (Vec::new(), Vec::new());
                } else if !contents.is_empty() {
                    keys = contents.clone();
                }
                let late = Late {
                    p,
                    v,
                    keys,
                    outputs,
                    parent,
                    unpack_all,
                };
                let current: &[&str] = if unpack_all { &contents } else { &[] };
                self.apply_late(conn, late, current)
            }
        }
    }

    /// An event older than the state of what it names, applied through a replay in time
    /// order (`retract::apply_late`). Returns its findings.
    fn apply_late(
        &mut self,
        conn: &mut PgConnection,
        late: Late<'_>,
        current_children: &[&str],
    ) -> Result<Vec<Finding>, CaptureError> {
        let applied = retract::apply_late(&mut self.state, conn, late, current_children)?;
        self.tally.serials(applied.counts);
        Ok(applied.findings)
    }

    /// Counts an accepted event of the batch and queues its rows for the batch's COPY.
    fn accept(&mut self, mut p: Prepared, id: i64) {
        let epcs = p.epcs.len() as u64;
        self.count_accepted(&mut p, epcs);
        p.into_rows(id, self.state.pending_mut());
    }

    /// Counts a stored event (with `epcs` identifier rows) and keeps what the document-level
    /// rules and the late-event check need of it.
    fn count_accepted(&mut self, p: &mut Prepared, epcs: u64) {
        self.tally.event(p.row.event_type, epcs);
        self.gtins.extend(p.gtins.drain(..));
        self.locations.extend(p.locations.drain(..));
        if p.row.event_type == EventType::Aggregation.code() {
            if let Some(r) = p.effect.parent.and_then(|i| p.epcs.get(i as usize)) {
                self.state.packed(&r.epc_key);
            }
        }
    }

    /// Retracts what an accepted error declaration names (`retract::retract`).
    fn retract(&mut self, conn: &mut PgConnection, d: &Declared) -> Result<(), CaptureError> {
        let retracted = retract::retract(&mut self.state, conn, d)?;
        if retracted == 0 {
            self.push(rules::declared_event_unknown(d.line, d.column, d.index));
        }
        self.tally.events_retracted += retracted;
        Ok(())
    }

    /// Stores one event whose lists were spilled: checked whole, then applied, a chunk at a
    /// time (capture/spilled.rs).
    fn store_spilled(
        &mut self,
        conn: &mut PgConnection,
        mut p: Prepared,
    ) -> Result<(), CaptureError> {
        let spilled = p.spilled.take().expect("a spilled event");
        if self.findings.refused(p.index) {
            return Ok(());
        }
        // A declaration has the hash of the event it declares erroneous: never a duplicate.
        if !p.is_error_declaration
            && !q::existing_hashes(conn, std::slice::from_ref(&p.digest))?.is_empty()
        {
            self.tally.duplicate_events += 1;
            self.push(rules::duplicate_event(&p));
            return Ok(());
        }
        let chunk = self.opts.spill_after.clamp(1, spilled::CHUNK);
        let event_id = q::reserve_event_ids(conn, 1)?[0];
        let v = self.state.values_of(&p, event_id);

        let started = std::time::Instant::now();
        let checked = spilled::check(&mut self.state, conn, &p, &spilled, chunk, &v)?;
        let refused = checked.findings.iter().any(Finding::rejects);
        for f in checked.findings {
            self.push(f);
        }
        if refused || self.findings.refused(p.index) {
            return Ok(());
        }
        let check_time = started.elapsed();
        let gtins = &mut self.gtins;
        let applied = spilled::apply(&mut self.state, conn, &p, &spilled, chunk, &v, gtins)?;
        self.tally.serials(applied.counts);
        log::debug!(
            "capture: event {} with {} spilled identifiers stored in chunks (checked in {:?}, applied in {:?})",
            p.index,
            spilled.len(),
            check_time,
            started.elapsed() - check_time
        );

        let late = checked.late && !p.is_error_declaration;
        let declared = p.is_error_declaration.then(|| Declared::of(&p, event_id));
        self.count_accepted(&mut p, applied.stored);
        // Its identifier rows are written (the in-memory ones with the first chunk).
        p.epcs = Vec::new();
        let mut rows = BatchRows::default();
        p.into_rows(event_id, &mut rows);
        q::copy_batch(conn, &rows)?;
        if late {
            // Older than the state of some of what it names: applied as it came, then those
            // serials are replayed in time order (its rules were checked against the state
            // as it was, not at its time: docs/RULES.md).
            retract::rebuild_after(&mut self.state, conn, event_id)?;
        }
        if let Some(d) = declared {
            self.retract(conn, &d)?;
        }
        Ok(())
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
