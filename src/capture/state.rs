//! The state a capture works on, between the database and its in-memory [`Fold`]: serial rows
//! loaded into the fold (with room made first), written back when it is full and at the end,
//! the rows of accepted events waiting for their COPY, and what tells a late event (containers
//! whose contents changed after a time). The batch flow (`run.rs`), rebuilds (`retract.rs`)
//! and huge events (`spilled.rs`) all go through this interface.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::PgConnection;

use super::fold::{self, Change, Fold};
use super::prepare::{Op, Prepared};
use super::rules::{self, Grouped};
use super::{CaptureError, Finding};
use crate::store::capture::{self as q, BatchRows};
use crate::store::codes::SerialStatus;

/// Serials the fold holds before it is written back and emptied: bounds memory for documents
/// of any size. 114,000 fit a hash table of 2^17 buckets (7/8 full): about 17 MB with keys.
/// A batch that alone names more (up to `run::BATCH_EFFECTS`) still goes whole.
const FOLD_CAPACITY: usize = 114_000;
/// Keys looked up per query.
const LOAD_CHUNK: usize = 10_000;
/// Serials written back per COPY.
const WRITE_CHUNK: usize = 25_000;
/// Ids reserved from the serials sequence at a time.
const ID_CHUNK: usize = 4096;

#[derive(Default)]
pub(super) struct State {
    /// The state of the serials this capture touches (written back by `write_back`).
    fold: Fold,
    /// Rows of the events of the batch being flushed that were accepted, not written yet.
    pending: BatchRows,
    /// Containers with stored packing or unpacking later than the earliest event of the batch
    /// being flushed, and the latest such time (`q::containers_changed_after`).
    changed_containers: HashMap<Box<str>, DateTime<Utc>>,
    /// Parents of the aggregation events this capture has stored: new containers that may
    /// have stored contents (see `note_more_changed_containers`).
    packed_parents: HashSet<Box<str>>,
}

impl State {
    pub fn fold(&self) -> &Fold {
        &self.fold
    }

    pub fn fold_mut(&mut self) -> &mut Fold {
        &mut self.fold
    }

    /// Where the rows of accepted events wait for [`State::copy_pending`].
    pub fn pending_mut(&mut self) -> &mut BatchRows {
        &mut self.pending
    }

    /// Notes the parent of an aggregation event this capture stored.
    pub fn packed(&mut self, parent: &str) {
        self.packed_parents.insert(parent.into());
    }

    /// Finds the containers whose contents changed (stored aggregation events) after `from`.
    /// Only these keys are looked at: [`State::is_late`] is asked about no others until the
    /// next call (or [`State::note_more_changed_containers`]).
    pub fn note_changed_containers(
        &mut self,
        conn: &mut PgConnection,
        from: DateTime<Utc>,
        keys: &[&str],
    ) -> Result<(), CaptureError> {
        self.changed_containers.clear();
        self.note_more_changed_containers(conn, from, keys)
    }

    /// Adds these keys to what [`State::note_changed_containers`] found.
    pub fn note_more_changed_containers(
        &mut self,
        conn: &mut PgConnection,
        from: DateTime<Utc>,
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
    pub fn is_late<'k>(&self, keys: impl IntoIterator<Item = &'k str>, v: &fold::Values) -> bool {
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
    /// container, found through its packing events, `store::capture::serials::children_join`,
    /// which may be earlier events of this batch).
    pub fn copy_pending(&mut self, conn: &mut PgConnection) -> Result<(), CaptureError> {
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

    /// Loads these keys after making room for them: when they would take the fold over its
    /// capacity, it is written back and emptied first.
    pub fn load_with_room(
        &mut self,
        conn: &mut PgConnection,
        wanted: &[&str],
    ) -> Result<(), CaptureError> {
        let missing = wanted.iter().filter(|k| !self.fold.contains(k)).count();
        if !self.fold.is_empty() && self.fold.len() + missing > FOLD_CAPACITY {
            self.empty(conn)?;
        }
        self.load(conn, wanted)
    }

    /// Loads the stored state of these keys (and of their containers, up the tree) into the
    /// fold, a chunk at a time (memory); keys with no row are recorded as absent.
    pub fn load(&mut self, conn: &mut PgConnection, keys: &[&str]) -> Result<(), CaptureError> {
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

    /// Loads the serials stored inside these containers (one level) that the fold does not
    /// hold already, so that an AggregationEvent DELETE without children finds its parent's
    /// contents in the fold ([`Fold::children_of`]). Returns their keys. A container with no
    /// row (new in this capture, or unknown) has no stored contents and asks nothing.
    pub fn load_contents(
        &mut self,
        conn: &mut PgConnection,
        containers: &[&str],
    ) -> Result<Vec<String>, CaptureError> {
        let mut ids: Vec<i64> = containers
            .iter()
            .filter_map(|k| self.fold.get(k))
            .filter(|s| s.stored && s.id != 0)
            .map(|s| s.id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut contents = Vec::new();
        for id in ids {
            for r in q::load_children(conn, id)? {
                if !self.fold.contains(&r.epc_key) {
                    contents.push(r.epc_key.clone());
                    self.insert_stored(r);
                }
            }
        }
        Ok(contents)
    }

    fn insert_stored(&mut self, r: q::StoredSerial) {
        let names = &mut self.fold.names;
        let serial = fold::Serial {
            id: r.id,
            stored: true,
            dirty: false,
            duplicate: r.duplicate,
            kind: r.kind,
            status: Some(r.status),
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

    /// Writes the fold back and empties it.
    pub fn empty(&mut self, conn: &mut PgConnection) -> Result<(), CaptureError> {
        self.write_back(conn)?;
        self.fold.clear();
        Ok(())
    }

    /// Writes the fold's changed serials to the database, in chunks (memory).
    pub fn write_back(&mut self, conn: &mut PgConnection) -> Result<(), CaptureError> {
        let t = std::time::Instant::now();
        let (mut new_total, mut changed_total) = (0, 0);
        loop {
            let mut new = Vec::new();
            let mut changed = Vec::new();
            let handed = self.fold.drain_dirty(WRITE_CHUNK, |key, s, names| {
                let row = row_of(key, s, names);
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

    /// Reserves ids for the serials the change makes present that have no row yet.
    pub fn reserve_for(
        &mut self,
        conn: &mut PgConnection,
        change: &Change<'_>,
    ) -> Result<(), CaptureError> {
        let needed = self.fold.absent_count(change.keys());
        self.reserve(conn, needed)
    }

    /// Reserves ids for every serial among these keys that has no row yet (each key once):
    /// enough for any of them an event may make present.
    pub fn reserve_for_keys(
        &mut self,
        conn: &mut PgConnection,
        keys: &[&str],
    ) -> Result<(), CaptureError> {
        let mut seen = HashSet::new();
        let needed = self
            .fold
            .absent_count(keys.iter().copied().filter(|k| seen.insert(*k)));
        self.reserve(conn, needed)
    }

    /// Makes sure the fold has `needed` ids for new rows, reserving at least `ID_CHUNK` at a
    /// time from the sequence.
    fn reserve(&mut self, conn: &mut PgConnection, needed: usize) -> Result<(), CaptureError> {
        if self.fold.free_ids() < needed {
            let n = (needed - self.fold.free_ids()).max(ID_CHUNK);
            let ids = q::reserve_serial_ids(conn, n)?;
            self.fold.add_ids(ids.into_iter().rev());
        }
        Ok(())
    }

    /// What an event sets, interned in the fold's names.
    pub fn values_of(&mut self, p: &Prepared, event_id: i64) -> fold::Values {
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

    /// Applies a checked change in memory (its serials loaded in the fold, ids reserved for
    /// the new ones): the fold, and a terminal status given to containers passed down to the
    /// contents the fold holds. Returns (serials created, serials updated) and, when the
    /// containers have rows, the same status still to be given to contents the fold does not
    /// hold ([`State::cascade_stored`]).
    pub fn apply_change(
        &mut self,
        p: &Prepared,
        change: &Change<'_>,
        v: &fold::Values,
    ) -> ((u64, u64), Option<Cascade>) {
        let (created, mut updated) = self.fold.apply(change, v);
        let mut cascade = None;
        if let (Op::Transition { inherit: true }, Some(status), Change::Transition(keys)) =
            (p.op, p.effect.status, change)
        {
            if status.is_terminal() {
                updated += self.fold.cascade_terminal(keys, v);
                // Contents in the database only can sit in a container with a row.
                let containers: Vec<i64> = keys
                    .iter()
                    .filter_map(|k| self.fold.get(k))
                    .filter(|s| s.stored)
                    .map(|s| s.id)
                    .collect();
                cascade = (!containers.is_empty()).then(|| Cascade {
                    containers,
                    status,
                    disposition: p.effect.disposition.clone(),
                    event_id: v.event_id,
                });
            }
        }
        ((created, updated), cascade)
    }

    /// Gives the contents of containers that are in the database only the terminal status
    /// their containers got (what the fold holds got it in [`State::apply_change`], and is
    /// skipped: already terminal). The fold is written back first, so the tree walked is the
    /// one the fold holds. Returns how many serials it changed.
    pub fn cascade_stored(
        &mut self,
        conn: &mut PgConnection,
        c: &Cascade,
    ) -> Result<u64, CaptureError> {
        // The contents are found through their packing events (`children_join`), which may
        // be events of this batch.
        self.copy_pending(conn)?;
        self.write_back(conn)?;
        let disposition = c.disposition.as_deref();
        let n = q::cascade_terminal(conn, &c.containers, c.status, disposition, c.event_id)?;
        Ok(n as u64)
    }

    /// Checks one event against the state just before it and, when nothing refuses it,
    /// applies it to the fold: in memory only, every serial it needs loaded before (the
    /// batch's `load_for`), ids reserved. An AggregationEvent DELETE without children takes
    /// its parent's contents as the fold holds them.
    pub fn step(&mut self, p: &Prepared, v: &fold::Values) -> Step {
        let (mut keys, outputs, parent) = sides(p);
        debug_assert!(
            keys.iter()
                .chain(&outputs)
                .chain(&parent)
                .all(|k| self.fold.contains(k)),
            "the batch loads what its events name"
        );
        let mut contents = Vec::new();
        if p.op == Op::Unpack && keys.is_empty() {
            let Some(parent) = parent else {
                return Step::Done(Vec::new());
            };
            contents = self.fold.children_of(parent);
            keys = contents.iter().map(|k| &**k).collect();
            if self.is_late(keys.iter().copied().chain(Some(parent)), v) {
                return Step::Late {
                    unpack_all: true,
                    contents,
                };
            }
            if keys.is_empty() {
                let change = Change::Unpack {
                    children: &[parent],
                };
                return Step::Done(self.check_findings(p, &change, v, true));
            }
        }
        let Some(change) = p.op.change(&keys, &outputs, parent) else {
            return Step::Done(Vec::new());
        };
        if self.is_late(change.keys().chain(parent), v) {
            return Step::Late {
                unpack_all: false,
                contents,
            };
        }
        let findings = self.check_findings(p, &change, v, false);
        if findings.iter().any(Finding::rejects) {
            return Step::Done(findings);
        }
        let (counts, cascade) = self.apply_change(p, &change, v);
        Step::Applied {
            findings,
            counts,
            cascade,
        }
    }

    /// The findings of a change's problems: one per problem kind and event ("... and N more").
    /// `only_unknown`: only the serials not known here (a DELETE without children, whose
    /// parent is all it names).
    pub fn check_findings(
        &self,
        p: &Prepared,
        change: &Change<'_>,
        v: &fold::Values,
        only_unknown: bool,
    ) -> Vec<Finding> {
        let mut grouped = Grouped::new();
        for pr in self.fold.check(change, v) {
            if only_unknown && pr.kind != fold::ProblemKind::Unknown {
                continue;
            }
            rules::group(&mut grouped, pr);
        }
        rules::problems(p, grouped)
    }
}

/// What [`State::step`] did with an event.
pub(super) enum Step {
    /// Nothing more to do: refused, or nothing to apply; these are its findings.
    Done(Vec<Finding>),
    /// Applied to the fold: its findings, (serials created, serials updated), and a terminal
    /// status still to write down contents in the database only.
    Applied {
        findings: Vec<Finding>,
        counts: (u64, u64),
        cascade: Option<Cascade>,
    },
    /// Older than the state of what it names: to be applied through a replay in time order
    /// (`retract::apply_late`). `unpack_all`: a DELETE without children, whose parent held
    /// `contents` (for any other event, `contents` are the keys it names, when they were a
    /// parent's contents).
    Late {
        unpack_all: bool,
        contents: Vec<Box<str>>,
    },
}

/// The keys an event's state change names, its outputs, and its parent.
pub(super) fn sides(p: &Prepared) -> (Vec<&str>, Vec<&str>, Option<&str>) {
    let e = &p.effect;
    let keys = e.keys.iter().map(|i| p.key(*i)).collect();
    let outputs = e.outputs.iter().map(|i| p.key(*i)).collect();
    (keys, outputs, e.parent.map(|i| p.key(i)))
}

/// A terminal status still to be written down the stored contents of containers.
pub(super) struct Cascade {
    containers: Vec<i64>,
    status: SerialStatus,
    disposition: Option<String>,
    event_id: i64,
}

/// The row a serial of the fold is written back as.
fn row_of(key: &str, s: &fold::Serial, names: &fold::Interner) -> q::NewSerial {
    let text = |s: fold::Sym| names.name(s).map(str::to_string);
    // Stored rows keep their key and GTIN parts; only new rows need them.
    let parts = (!s.stored)
        .then(|| crate::gs1::sgtin_key_parts(key))
        .flatten();
    q::NewSerial {
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
        status: s
            .status
            .expect("only present serials are written: a rebuild removes the absent first"),
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
    }
}
