//! The per-serial state of one capture, folded in memory event by event.
//!
//! Every serial a document touches is loaded once (or found absent), changed in memory by each
//! event in document order, with the business rules checked against the state just before the
//! event, and written back once when the capture flushes (at the end, or when the fold holds
//! [`Fold::len`] past its capacity, so memory stays bounded for any document size). A serial
//! that is commissioned, packed and shipped in one document is written once, not four times.
//!
//! Containment is resolved at read time: packing writes a child's `parent_id`; what happens
//! later to a container (shipping, receiving, ...) is written on the container only, and its
//! contents inherit it (the `serial_state` view; [`Fold::effective`] here). The exception is a
//! terminal status (dispensed, decommissioned, destroyed) given to a container with contents:
//! the capture writes it down the tree, because verification answers from a serial's own row.
//!
//! No database access here: the capture loads rows into the fold and writes its dirty rows.

use std::collections::HashMap;
use std::num::{NonZeroI64, NonZeroU32};

use chrono::{DateTime, NaiveDate, Utc};

use crate::store::codes::{SerialKind, SerialStatus};

/// A serial's status in the fold: `None` while it is absent (no row, or a rebuild has not
/// made it present yet), which only the fold knows.
pub type State = Option<SerialStatus>;

/// An interned text value (lot, disposition, owner, location): documents repeat a handful of
/// them over thousands of serials.
pub type Sym = Option<NonZeroU32>;

#[derive(Default)]
pub struct Interner {
    ids: HashMap<Box<str>, NonZeroU32>,
    names: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, s: Option<&str>) -> Sym {
        let s = s?;
        if let Some(id) = self.ids.get(s) {
            return Some(*id);
        }
        self.names.push(s.into());
        let id = NonZeroU32::new(self.names.len() as u32).expect("at least one name");
        self.ids.insert(s.into(), id);
        Some(id)
    }

    pub fn name(&self, sym: Sym) -> Option<&str> {
        sym.map(|id| &*self.names[id.get() as usize - 1])
    }
}

/// A database id (sequences start at 1) or a time in microseconds, in 8 bytes with its
/// `None`: the fold holds hundreds of thousands of serials.
pub type Id = Option<NonZeroI64>;

pub fn id(x: i64) -> Id {
    NonZeroI64::new(x)
}

pub fn micros(t: DateTime<Utc>) -> Id {
    NonZeroI64::new(t.timestamp_micros())
}

/// One serial as this capture knows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Serial {
    /// `serials.id` (reserved from its sequence for new rows); 0 while absent.
    pub id: i64,
    /// The row exists in the database (an UPDATE writes it) rather than being new here.
    pub stored: bool,
    pub dirty: bool,
    pub duplicate: bool,
    pub kind: SerialKind,
    pub status: State,
    pub commission_count: i32,
    pub lot: Sym,
    pub disposition: Sym,
    pub owner: Sym,
    pub location: Sym,
    pub expiry: Option<NaiveDate>,
    pub parent_id: Id,
    pub last_event_id: Id,
    /// The event time of `last_event_id` (microseconds): state follows event time.
    pub last_event_time: Id,
    /// `last_event_id` as loaded: the write-back checks nobody changed the row meanwhile.
    pub loaded_event_id: Id,
    /// Microseconds since 1970.
    pub commissioned_at: Id,
}

impl Serial {
    pub fn absent(kind: SerialKind) -> Self {
        Serial {
            id: 0,
            stored: false,
            dirty: false,
            duplicate: false,
            kind,
            status: None,
            commission_count: 0,
            lot: None,
            disposition: None,
            owner: None,
            location: None,
            expiry: None,
            parent_id: None,
            last_event_id: None,
            last_event_time: None,
            loaded_event_id: None,
            commissioned_at: None,
        }
    }

    /// Where its state stands in time: (event time, event id) of its last change. Events are
    /// ordered by event time; equal times by event id, which follows the order of capture
    /// (within a batch, document order).
    pub fn at(&self) -> (Id, Id) {
        (self.last_event_time, self.last_event_id)
    }

    /// Records the event as the serial's last change.
    fn touch(&mut self, v: &Values) {
        self.last_event_id = id(v.event_id);
        self.last_event_time = micros(v.event_time);
        self.dirty = true;
    }
}

/// What one event sets, interned.
#[derive(Debug, Clone, Copy)]
pub struct Values {
    pub event_id: i64,
    pub event_time: DateTime<Utc>,
    /// The status it gives (`None`: it leaves the status as it is).
    pub status: Option<SerialStatus>,
    pub lot: Sym,
    pub expiry: Option<NaiveDate>,
    pub disposition: Sym,
    pub owner: Sym,
    pub location: Sym,
}

impl Values {
    /// Where the event stands in time, comparable with [`Serial::at`].
    pub fn at(&self) -> (Id, Id) {
        (micros(self.event_time), id(self.event_id))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProblemKind {
    /// Commissioned again: a potential counterfeit (warning; the serial is flagged).
    Duplicate,
    LotMismatch,
    ExpiryMismatch,
    /// Not known here: recorded as unknown until its commissioning arrives (warning).
    Unknown,
    /// Decommissioned or destroyed, yet packed, shipped, received or observed.
    OutOfCirculation,
    /// Packed while inside another container.
    OtherParent,
}

impl ProblemKind {
    pub fn rejects(self) -> bool {
        !matches!(self, ProblemKind::Duplicate | ProblemKind::Unknown)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub key: String,
    pub detail: Option<String>,
}

/// How one event changes the state; keys are identifier keys (docs/ARCHITECTURE.md).
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    Commission(&'a [&'a str]),
    Pack {
        parent: &'a str,
        children: &'a [&'a str],
    },
    /// Children taken out of their containers (`parent`, if named, for the message only).
    Unpack {
        children: &'a [&'a str],
    },
    Transition(&'a [&'a str]),
    /// Inputs consumed (decommissioned), outputs commissioned.
    Transform {
        inputs: &'a [&'a str],
        outputs: &'a [&'a str],
    },
}

impl<'a> Change<'a> {
    /// Every identifier the change names.
    pub fn keys(self) -> impl Iterator<Item = &'a str> {
        let (a, b, c): (&[&str], &[&str], Option<&str>) = match self {
            Change::Commission(k) | Change::Transition(k) => (k, &[], None),
            Change::Pack { parent, children } => (children, &[], Some(parent)),
            Change::Unpack { children } => (children, &[], None),
            Change::Transform { inputs, outputs } => (inputs, outputs, None),
        };
        a.iter().chain(b).copied().chain(c)
    }
}

/// The `serials.kind` of an identifier key.
pub fn kind_of_key(key: &str) -> SerialKind {
    SerialKind::of_key(key)
}

#[derive(Default)]
pub struct Fold {
    serials: HashMap<Box<str>, Serial>,
    /// Keys of the containers the fold knows by id (parents of loaded or packed serials).
    id_keys: HashMap<i64, Box<str>>,
    /// Reserved `serials.id` values for new rows.
    free_ids: Vec<i64>,
    pub names: Interner,
}

/// Far deeper than any real packaging hierarchy; stops a corrupt cycle.
const MAX_DEPTH: usize = 32;

impl Fold {
    pub fn len(&self) -> usize {
        self.serials.len()
    }

    pub fn is_empty(&self) -> bool {
        self.serials.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&Serial> {
        self.serials.get(key)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.serials.contains_key(key)
    }

    /// Adds a row read from the database (or, with `Serial::absent`, the news that there is
    /// none); `parent_key` is the key of its parent, if any.
    pub fn insert(&mut self, key: &str, serial: Serial, parent_key: Option<&str>) {
        if let (Some(pid), Some(pk)) = (serial.parent_id, parent_key) {
            self.id_keys.entry(pid.get()).or_insert_with(|| pk.into());
        }
        self.serials.insert(key.into(), serial);
    }

    pub fn add_ids(&mut self, ids: impl IntoIterator<Item = i64>) {
        self.free_ids.extend(ids);
    }

    pub fn free_ids(&self) -> usize {
        self.free_ids.len()
    }

    /// How many of these keys need a new row (and so a reserved id).
    pub fn absent_count<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> usize {
        keys.into_iter()
            .filter(|k| self.serials.get(*k).is_none_or(|s| s.status.is_none()))
            .count()
    }

    /// The key of a container the fold knows by id.
    pub fn key_of_id(&self, id: i64) -> Option<&str> {
        self.id_keys.get(&id).map(|k| &**k)
    }

    /// The serials the fold knows inside this container (one level).
    pub fn children_of(&self, parent: &str) -> Vec<Box<str>> {
        let Some(pid) = self.serials.get(parent).map(|s| s.id).filter(|id| *id != 0) else {
            return Vec::new();
        };
        let mut keys: Vec<Box<str>> = self
            .serials
            .iter()
            .filter(|(_, s)| s.parent_id.map(|p| p.get()) == Some(pid))
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort_unstable();
        keys
    }

    /// Gives what the fold knows inside these containers (all levels) the terminal status of
    /// the event, as the capture does in the database for contents it does not hold
    /// (`store::capture::cascade_terminal`, the same rule). Returns how many serials it changed.
    pub fn cascade_terminal(&mut self, containers: &[&str], v: &Values) -> u64 {
        let Some(st) = v.status.filter(|s| s.is_terminal()) else {
            return 0;
        };
        // Only containers the fold knows by id can hold serials of the fold: most terminal
        // events (dispensing single packs) name none, and ask nothing more.
        let is_container = |f: &Fold, k: &str| {
            f.get(k)
                .is_some_and(|s| s.id != 0 && f.id_keys.contains_key(&s.id))
        };
        let mut todo: Vec<Box<str>> = containers
            .iter()
            .filter(|k| is_container(self, k))
            .map(|k| (*k).into())
            .collect();
        if todo.is_empty() {
            return 0;
        }
        let contents = self.contents_by_parent();
        let mut changed = 0;
        for _ in 0..MAX_DEPTH {
            let mut next = Vec::new();
            for c in &todo {
                let Some(pid) = self.get(c).map(|s| s.id).filter(|id| *id != 0) else {
                    continue;
                };
                for k in contents.get(&pid).into_iter().flatten() {
                    let s = self.serial_mut(k);
                    if !s.status.is_some_and(SerialStatus::is_terminal_or_unknown) {
                        s.status = Some(st);
                        s.disposition = v.disposition.or(s.disposition);
                        s.touch(v);
                        changed += 1;
                    }
                    next.push(k.clone());
                }
            }
            if next.is_empty() {
                break;
            }
            todo = next;
        }
        changed
    }

    /// The keys of the serials inside each container the fold holds (one level, by the
    /// container's id), sorted: one pass over the fold.
    fn contents_by_parent(&self) -> HashMap<i64, Vec<Box<str>>> {
        let mut by_parent: HashMap<i64, Vec<Box<str>>> = HashMap::new();
        for (k, s) in &self.serials {
            if let Some(p) = s.parent_id {
                by_parent.entry(p.get()).or_default().push(k.clone());
            }
        }
        for keys in by_parent.values_mut() {
            keys.sort_unstable();
        }
        by_parent
    }

    /// Removes the stored serials that are absent (a rebuild found no standing event naming
    /// them) and returns their ids, for deletion.
    pub fn remove_absent(&mut self) -> Vec<i64> {
        let mut ids = Vec::new();
        self.serials.retain(|_, s| {
            let gone = s.status.is_none() && s.stored;
            if gone {
                ids.push(s.id);
            }
            !gone
        });
        ids
    }

    /// Forgets everything (after a write-back); reserved ids are kept.
    pub fn clear(&mut self) {
        self.serials.clear();
        self.id_keys.clear();
    }

    /// Hands every dirty serial (with the interner for its values) to `write`, and marks it
    /// clean and stored: the caller writes them.
    /// At most `limit` at a time (memory); returns how many it handed.
    pub fn drain_dirty(
        &mut self,
        limit: usize,
        mut write: impl FnMut(&str, &Serial, &Interner),
    ) -> usize {
        let mut n = 0;
        for (k, s) in self.serials.iter_mut() {
            if n == limit {
                break;
            }
            if s.dirty {
                write(k, s, &self.names);
                s.dirty = false;
                s.stored = true;
                s.loaded_event_id = s.last_event_id;
                n += 1;
            }
        }
        n
    }

    /// The problems the change would meet, in the state just before it.
    pub fn check(&self, change: &Change<'_>, v: &Values) -> Vec<Problem> {
        let mut out = Vec::new();
        match *change {
            Change::Commission(keys) => self.check_commission(keys, v, &mut out),
            Change::Pack { parent, children } => {
                let all = std::iter::once(parent).chain(children.iter().copied());
                self.check_present(all.clone(), &mut out);
                self.check_in_circulation(all, &mut out);
                let parent_id = self.get(parent).and_then(|p| id(p.id));
                for c in children {
                    if let Some(pid) = self.get(c).and_then(|s| s.parent_id) {
                        if Some(pid) != parent_id {
                            out.push(Problem {
                                kind: ProblemKind::OtherParent,
                                key: c.to_string(),
                                detail: Some(
                                    self.key_of_id(pid.get())
                                        .map(str::to_string)
                                        .unwrap_or_else(|| format!("container #{pid}")),
                                ),
                            });
                        }
                    }
                }
            }
            Change::Unpack { children } => self.check_present(children.iter().copied(), &mut out),
            Change::Transition(keys) => {
                self.check_present(keys.iter().copied(), &mut out);
                self.check_in_circulation(keys.iter().copied(), &mut out);
            }
            Change::Transform { inputs, outputs } => {
                self.check_present(inputs.iter().copied(), &mut out);
                self.check_in_circulation(inputs.iter().copied(), &mut out);
                self.check_commission(outputs, v, &mut out);
            }
        }
        out
    }

    fn check_commission(&self, keys: &[&str], v: &Values, out: &mut Vec<Problem>) {
        for k in keys {
            let Some(s) = self.get(k) else { continue };
            if matches!(s.status, None | Some(SerialStatus::Unknown)) {
                continue;
            }
            out.push(Problem {
                kind: ProblemKind::Duplicate,
                key: k.to_string(),
                detail: None,
            });
            if v.lot.is_some() && s.lot != v.lot {
                out.push(Problem {
                    kind: ProblemKind::LotMismatch,
                    key: k.to_string(),
                    detail: Some(format!(
                        "stored {}, event {}",
                        self.names.name(s.lot).unwrap_or("none"),
                        self.names.name(v.lot).unwrap_or("none")
                    )),
                });
            }
            if v.expiry.is_some() && s.expiry != v.expiry {
                out.push(Problem {
                    kind: ProblemKind::ExpiryMismatch,
                    key: k.to_string(),
                    detail: Some(format!(
                        "stored {}, event {}",
                        s.expiry.map(|d| d.to_string()).unwrap_or("none".into()),
                        v.expiry.map(|d| d.to_string()).unwrap_or_default()
                    )),
                });
            }
        }
    }

    fn check_present<'k>(&self, keys: impl Iterator<Item = &'k str>, out: &mut Vec<Problem>) {
        for k in keys {
            if self.get(k).is_none_or(|s| s.status.is_none()) {
                out.push(Problem {
                    kind: ProblemKind::Unknown,
                    key: k.to_string(),
                    detail: None,
                });
            }
        }
    }

    fn check_in_circulation<'k>(
        &self,
        keys: impl Iterator<Item = &'k str>,
        out: &mut Vec<Problem>,
    ) {
        for k in keys {
            let Some(s) = self.get(k) else { continue };
            let detail = match s.status {
                Some(SerialStatus::Decommissioned) => "decommissioned",
                Some(SerialStatus::Destroyed) => "destroyed",
                _ => continue,
            };
            out.push(Problem {
                kind: ProblemKind::OutOfCirculation,
                key: k.to_string(),
                detail: Some(detail.into()),
            });
        }
    }

    /// The id for a serial that becomes present: its own when the row exists (a rebuild
    /// starts from stored rows made absent), else a reserved one. With whether it is stored.
    fn id_for(&mut self, key: &str) -> (i64, bool, Id) {
        match self.serials.get(key) {
            Some(s) if s.id != 0 => (s.id, s.stored, s.loaded_event_id),
            _ => (self.next_id(), false, None),
        }
    }

    fn next_id(&mut self) -> i64 {
        self.free_ids
            .pop()
            .expect("the capture reserves ids for absent serials before applying an event")
    }

    /// The serial (present after this), created as `unknown` when absent: seen before its
    /// commissioning arrived. Returns whether it was created.
    fn placeholder(&mut self, key: &str, v: &Values) -> bool {
        let absent = self.serials.get(key).is_none_or(|s| s.status.is_none());
        if absent {
            let (new_id, stored, loaded_event_id) = self.id_for(key);
            let s = Serial {
                id: new_id,
                stored,
                loaded_event_id,
                dirty: true,
                status: Some(SerialStatus::Unknown),
                last_event_id: id(v.event_id),
                last_event_time: micros(v.event_time),
                ..Serial::absent(kind_of_key(key))
            };
            self.serials.insert(key.into(), s);
        }
        absent
    }

    /// The serial an event changes, made present (as `unknown`) when absent, and counted as
    /// created or updated.
    fn present(
        &mut self,
        key: &str,
        v: &Values,
        created: &mut u64,
        updated: &mut u64,
    ) -> &mut Serial {
        if self.placeholder(key, v) {
            *created += 1;
        } else {
            *updated += 1;
        }
        self.serial_mut(key)
    }

    fn serial_mut(&mut self, key: &str) -> &mut Serial {
        self.serials
            .get_mut(key)
            .expect("the capture loads every key before applying an event")
    }

    /// Applies a change (after [`Fold::check`] found nothing that rejects it). Returns
    /// (serials created, serials updated).
    pub fn apply(&mut self, change: &Change<'_>, v: &Values) -> (u64, u64) {
        let mut created = 0;
        let mut updated = 0;
        match *change {
            Change::Commission(keys) => self.commission(keys, v, &mut created, &mut updated),
            Change::Pack { parent, children } => {
                created += u64::from(self.placeholder(parent, v));
                let parent_id = self.serial_mut(parent).id;
                self.id_keys.insert(parent_id, parent.into());
                for c in children {
                    let s = self.present(c, v, &mut created, &mut updated);
                    s.parent_id = id(parent_id);
                    if s.status != Some(SerialStatus::Unknown) {
                        s.status = Some(SerialStatus::Packed);
                    }
                    s.disposition = v.disposition.or(s.disposition);
                    s.location = v.location.or(s.location);
                    s.touch(v);
                }
            }
            Change::Unpack { children } => {
                for c in children {
                    self.present(c, v, &mut created, &mut updated);
                    // What the child inherited inside its container becomes its own; out of
                    // every container it is no longer "packed" but as its container is.
                    let inherited = self.effective(c);
                    let outer = self.outer_status(c);
                    let s = self.serial_mut(c);
                    if let Some(from) = inherited {
                        s.status = from.status;
                        s.disposition = from.disposition.or(s.disposition);
                        s.owner = from.owner.or(s.owner);
                        s.location = from.location.or(s.location);
                    }
                    if s.status == Some(SerialStatus::Packed) {
                        s.status = outer.unwrap_or(Some(SerialStatus::Commissioned));
                    }
                    s.parent_id = None;
                    s.disposition = v.disposition.or(s.disposition);
                    s.touch(v);
                }
            }
            Change::Transition(keys) => self.transition(keys, v, &mut created, &mut updated),
            Change::Transform { inputs, outputs } => {
                let consumed = Values {
                    status: Some(SerialStatus::Decommissioned),
                    ..*v
                };
                self.transition(inputs, &consumed, &mut created, &mut updated);
                self.commission(outputs, v, &mut created, &mut updated);
            }
        }
        (created, updated)
    }

    fn commission(&mut self, keys: &[&str], v: &Values, created: &mut u64, updated: &mut u64) {
        for k in keys {
            let current = self.serials.get(*k).copied();
            match current.and_then(|s| s.status) {
                None => {
                    let (new_id, stored, loaded_event_id) = self.id_for(k);
                    let s = Serial {
                        id: new_id,
                        stored,
                        loaded_event_id,
                        dirty: true,
                        status: Some(SerialStatus::Commissioned),
                        commission_count: 1,
                        lot: v.lot,
                        expiry: v.expiry,
                        disposition: v.disposition,
                        owner: v.owner,
                        location: v.location,
                        last_event_id: id(v.event_id),
                        last_event_time: micros(v.event_time),
                        commissioned_at: micros(v.event_time),
                        ..Serial::absent(kind_of_key(k))
                    };
                    self.serials.insert((*k).into(), s);
                    *created += 1;
                }
                Some(SerialStatus::Unknown) => {
                    let s = self.serial_mut(k);
                    s.status = Some(SerialStatus::Commissioned);
                    s.lot = v.lot;
                    s.expiry = v.expiry;
                    s.disposition = v.disposition.or(s.disposition);
                    s.owner = v.owner.or(s.owner);
                    s.location = v.location.or(s.location);
                    s.touch(v);
                    s.commissioned_at = micros(v.event_time);
                    s.commission_count = 1;
                    *updated += 1;
                }
                Some(_) => {
                    // Commissioned again: flagged, the first data kept.
                    let s = self.serial_mut(k);
                    s.duplicate = true;
                    s.commission_count += 1;
                    s.dirty = true;
                    *updated += 1;
                }
            }
        }
    }

    fn transition(&mut self, keys: &[&str], v: &Values, created: &mut u64, updated: &mut u64) {
        for k in keys {
            let s = self.present(k, v, created, updated);
            if s.status != Some(SerialStatus::Unknown) {
                s.status = v.status.or(s.status);
            }
            s.disposition = v.disposition.or(s.disposition);
            s.owner = v.owner.or(s.owner);
            s.location = v.location.or(s.location);
            s.touch(v);
        }
    }

    /// Whether the event is older than the state of a serial it names or of a container of
    /// one: applying it now would put an older state over a newer one, so the capture
    /// replays their history in time order instead (capture/retract.rs, `replay`).
    pub fn is_late<'k>(&self, keys: impl IntoIterator<Item = &'k str>, v: &Values) -> bool {
        let at = v.at();
        keys.into_iter().any(|k| {
            let mut next = self.get(k);
            for _ in 0..MAX_DEPTH {
                let Some(s) = next else { return false };
                if s.status.is_some() && s.at() > at {
                    return true;
                }
                next = s
                    .parent_id
                    .and_then(|p| self.key_of_id(p.get()))
                    .and_then(|k| self.get(k));
            }
            false
        })
    }

    /// (serials created, serials updated) that applying the change now would count, as
    /// [`Fold::apply`] does: the figures a report gives for an event whichever way the
    /// capture applies it.
    pub fn effect_counts(&self, change: &Change<'_>) -> (u64, u64) {
        let absent = |k: &str| self.get(k).is_none_or(|s| s.status.is_none());
        let split = |keys: &[&str]| {
            let created = keys.iter().filter(|k| absent(k)).count() as u64;
            (created, keys.len() as u64 - created)
        };
        match *change {
            Change::Commission(keys)
            | Change::Transition(keys)
            | Change::Unpack { children: keys } => split(keys),
            Change::Pack { parent, children } => {
                let (c, u) = split(children);
                (c + u64::from(absent(parent)), u)
            }
            Change::Transform { inputs, outputs } => {
                let (c1, u1) = split(inputs);
                let (c2, u2) = split(outputs);
                (c1 + c2, u1 + u2)
            }
        }
    }

    /// The state of the nearest container that is not itself packed (or unknown); `None`
    /// when there is no such container.
    fn outer_status(&self, key: &str) -> Option<State> {
        let mut next = self.get(key)?.parent_id;
        for _ in 0..MAX_DEPTH {
            let a = self.get(self.key_of_id(next?.get())?)?;
            if !matches!(a.status, Some(SerialStatus::Packed | SerialStatus::Unknown)) {
                return Some(a.status);
            }
            next = a.parent_id;
        }
        None
    }

    /// The ancestor whose state a serial inherits: of its containers (as far as the fold knows
    /// them), the one with the newest event (by [`Serial::at`]: event time, then event id),
    /// if newer than the serial's own; none for serials whose own status is terminal or
    /// unknown. The same rule as the `serial_state` view (migration 8).
    pub fn effective(&self, key: &str) -> Option<Serial> {
        let s = self.get(key)?;
        if s.status.is_some_and(SerialStatus::is_terminal_or_unknown) {
            return None;
        }
        let mut best: Option<Serial> = None;
        let mut next = s.parent_id;
        for _ in 0..MAX_DEPTH {
            let Some(a) = next
                .and_then(|id| self.key_of_id(id.get()))
                .and_then(|k| self.get(k))
            else {
                break;
            };
            let newer_than = |x: &Serial| a.at() > x.at();
            if a.status != Some(SerialStatus::Unknown)
                && newer_than(s)
                && best.is_none_or(|b| newer_than(&b))
            {
                best = Some(*a);
            }
            next = a.parent_id;
        }
        best
    }
}

#[cfg(test)]
mod tests;
