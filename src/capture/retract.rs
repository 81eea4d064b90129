//! Error declarations (standards.md §1.8): an event that repeats a stored event with an
//! `errorDeclaration` says the stored one did not happen as recorded. The original stays
//! (marked `retracted_by`), and the rows of every serial it may have changed are rebuilt by
//! replaying, through the same fold as a capture, the events about them that still stand.
//!
//! The same replay serves events older than the state of what they name (the late path,
//! docs/ARCHITECTURE.md): their serials are rebuilt in time order with the late event checked
//! and applied at its place. Everything here works on the capture's [`State`] alone.

use std::collections::HashMap;

use diesel::PgConnection;

use super::fold::{self, Change, Values};
use super::prepare::{effect_side, op_of, status_of, Op, Prepared, Side};
use super::state::State;
use super::{CaptureError, Finding};
use crate::epcis::{Action, EpcRole, EventType};
use crate::store::capture as q;
use crate::store::codes::Code;

/// A declaration stored by this capture, and where it stands in the document.
pub(super) struct Declared {
    pub digest: Vec<u8>,
    pub event_id: i64,
    pub index: u64,
    pub line: u32,
    pub column: u32,
}

impl Declared {
    /// The declaration `p`, stored with this id.
    pub fn of(p: &Prepared, event_id: i64) -> Declared {
        Declared {
            digest: p.digest.clone(),
            event_id,
            index: p.index,
            line: p.line,
            column: p.column,
        }
    }
}

/// Retracts what the declaration names and rebuilds the serials concerned. The fold is
/// written back and emptied first: the rebuild works on stored rows. Returns how many stored
/// events it retracted (none: the declared event is not stored here).
pub(super) fn retract(
    st: &mut State,
    conn: &mut PgConnection,
    d: &Declared,
) -> Result<u64, CaptureError> {
    st.empty(conn)?;
    let retracted = q::retract_events(conn, &d.digest, d.event_id)?;
    for &event_id in &retracted {
        rebuild(st, conn, event_id)?;
    }
    Ok(retracted.len() as u64)
}

/// Replays the standing events of every serial the retracted event may have changed.
fn rebuild(st: &mut State, conn: &mut PgConnection, retracted: i64) -> Result<(), CaptureError> {
    let scope = q::rebuild_scope(conn, q::Seed::Event(retracted))?;
    let (serials, events, gone) = replay(st, conn, scope, None)?.counts;
    log::debug!(
        "capture: event {retracted} retracted; {serials} serials rebuilt from {events} events, {gone} removed",
    );
    Ok(())
}

/// Rebuilds, in time order, the serials a stored event names (a huge event that was older
/// than their state: capture/spilled.rs stores it first, then calls this).
pub(super) fn rebuild_after(
    st: &mut State,
    conn: &mut PgConnection,
    event_id: i64,
) -> Result<(), CaptureError> {
    st.empty(conn)?;
    let scope = q::rebuild_scope(conn, q::Seed::Event(event_id))?;
    let (serials, events, _) = replay(st, conn, scope, None)?.counts;
    log::debug!(
        "capture: event {event_id} was late; {serials} serials replayed from {events} events"
    );
    Ok(())
}

/// What applying a late event did: its findings, and (serials created, serials updated) as a
/// direct application would count them (zero when it was refused).
pub(super) struct LateApplied {
    pub findings: Vec<Finding>,
    pub counts: (u64, u64),
}

/// Checks and applies an event that is older than the state of what it names: the serials
/// concerned are rebuilt from their standing events with this one put in its place in time,
/// where its rules are checked against the state at its time (a refused event changes
/// nothing; the replay leaves the state as it was). `current_children`: for a DELETE without
/// children, the children its parent has now (the report counts them as a direct application
/// would).
pub(super) fn apply_late(
    st: &mut State,
    conn: &mut PgConnection,
    late: Late<'_>,
    current_children: &[&str],
) -> Result<LateApplied, CaptureError> {
    let keys: &[&str] = if late.unpack_all {
        current_children
    } else {
        &late.keys
    };
    let counts = late
        .p
        .op
        .change(keys, &late.outputs, late.parent)
        .map(|c| st.fold().effect_counts(&c))
        .unwrap_or_default();
    // The replay reads the stored history: what this batch applied so far goes first.
    st.copy_pending(conn)?;
    st.empty(conn)?;
    let seeds: Vec<&str> = late
        .keys
        .iter()
        .chain(&late.outputs)
        .chain(current_children)
        .copied()
        .chain(late.parent)
        .collect();
    let scope = q::rebuild_scope(conn, q::Seed::Keys(&seeds))?;
    let index = late.p.index;
    let replayed = replay(st, conn, scope, Some(late))?;
    let (serials, events, _) = replayed.counts;
    log::debug!(
        "capture: event {index} is older than the state it changes; {serials} serials replayed from {events} events",
    );
    Ok(LateApplied {
        findings: replayed.findings,
        counts: if replayed.accepted { counts } else { (0, 0) },
    })
}

/// Rebuilds the `scope` rows from the events about them that stand, in time order (event
/// time, then event id), through a fresh fold; with `late`, that event is checked and
/// applied at its place in time (after the stored events of the same time: its id is
/// newer). Writes the rows back (deleting those no standing event makes present) and
/// empties the fold.
fn replay(
    st: &mut State,
    conn: &mut PgConnection,
    scope: Vec<q::StoredSerial>,
    mut late: Option<Late<'_>>,
) -> Result<Replayed, CaptureError> {
    let keys: Vec<String> = scope.iter().map(|r| r.epc_key.clone()).collect();
    // Every row starts absent with its own id: the replay makes present what the events
    // that stand make present; what none of them names any more is deleted.
    for r in scope {
        let serial = fold::Serial {
            id: r.id,
            stored: true,
            dirty: true,
            loaded_event_id: r.last_event_id.and_then(fold::id),
            ..fold::Serial::absent(r.kind)
        };
        st.fold_mut().insert(&r.epc_key, serial, None);
    }
    if let Some(l) = &late {
        // What it names beyond the scope has no row: absent.
        let named = l.keys.iter().chain(&l.outputs).copied().chain(l.parent);
        st.load(conn, &named.collect::<Vec<_>>())?;
    }
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (events, epcs) = q::replay_events(conn, &key_refs)?;
    // The identifiers of each event (ordered by event id; the events by time).
    let mut named_by: HashMap<i64, std::ops::Range<usize>> = HashMap::new();
    let mut at = 0;
    while at < epcs.len() {
        let start = at;
        while at < epcs.len() && epcs[at].event_id == epcs[start].event_id {
            at += 1;
        }
        named_by.insert(epcs[start].event_id, start..at);
    }
    let mut out = Replayed {
        findings: Vec::new(),
        accepted: false,
        counts: (keys.len(), events.len(), 0),
    };
    for ev in &events {
        if let Some(l) = late.take_if(|l| l.v.event_time < ev.event_time) {
            replay_late(st, conn, l, &mut out)?;
        }
        let named = named_by
            .get(&ev.id)
            .map_or(&epcs[..0], |r| &epcs[r.clone()]);
        replay_stored(st, ev, named);
    }
    if let Some(l) = late.take() {
        replay_late(st, conn, l, &mut out)?;
    }
    let gone = st.fold_mut().remove_absent();
    if !gone.is_empty() {
        q::delete_serials(conn, &gone)?;
    }
    st.empty(conn)?;
    out.counts.0 -= gone.len();
    out.counts.2 = gone.len();
    Ok(out)
}

/// The new event, at its place in a replay: checked against the state at its time, and
/// applied unless something refuses it.
fn replay_late(
    st: &mut State,
    conn: &mut PgConnection,
    l: Late<'_>,
    out: &mut Replayed,
) -> Result<(), CaptureError> {
    let owned: Vec<Box<str>>;
    let mut keys: Vec<&str> = l.keys.clone();
    if l.unpack_all {
        let parent = l.parent.expect("a DELETE without children has a parent");
        owned = st.fold().children_of(parent);
        keys = owned.iter().map(|k| &**k).collect();
        if keys.is_empty() {
            let only = [parent];
            let parent_only = Change::Unpack { children: &only };
            out.findings = st.check_findings(l.p, &parent_only, &l.v, true);
            out.accepted = true;
            return Ok(());
        }
    }
    let Some(change) = l.p.op.change(&keys, &l.outputs, l.parent) else {
        out.accepted = true;
        return Ok(());
    };
    out.findings = st.check_findings(l.p, &change, &l.v, false);
    if out.findings.iter().any(Finding::rejects) {
        return Ok(());
    }
    st.reserve_for(conn, &change)?;
    st.fold_mut().apply(&change, &l.v);
    if l.p.op == (Op::Transition { inherit: true }) {
        st.fold_mut().cascade_terminal(&keys, &l.v);
    }
    out.accepted = true;
    Ok(())
}

/// A stored event applied again in a replay (no rules: it was accepted when captured).
fn replay_stored(st: &mut State, ev: &q::ReplayEvent, named: &[q::ReplayEpc]) {
    let Some(event_type) = EventType::from_code(ev.event_type) else {
        return;
    };
    let action = ev.action.as_deref().and_then(Action::parse);
    let step = ev.biz_step.as_deref().unwrap_or("");
    let names = &mut st.fold_mut().names;
    let v = Values {
        event_id: ev.id,
        event_time: ev.event_time,
        status: status_of(action, step),
        lot: names.intern(ev.lot.as_deref()),
        expiry: ev.expiry,
        disposition: names.intern(ev.disposition.as_deref()),
        owner: names.intern(ev.owner.as_deref()),
        location: names.intern(ev.biz_location.as_deref()),
    };
    let op = op_of(event_type, action, step);
    let parent = named
        .iter()
        .find(|x| EpcRole::from_code(x.role) == Some(EpcRole::Parent))
        .map(|x| x.epc_key.as_str());
    // The same sides of the change as a capture gives them (only serial keys are
    // replayed, so nothing here is class-level).
    let (mut keys, mut outputs) = (Vec::new(), Vec::new());
    for x in named {
        let Some(role) = EpcRole::from_code(x.role) else {
            continue;
        };
        match effect_side(op, parent.is_some(), role, false) {
            Some(Side::Named) => keys.push(x.epc_key.as_str()),
            Some(Side::Output) => outputs.push(x.epc_key.as_str()),
            None => {}
        }
    }
    let owned: Vec<Box<str>>;
    if op == Op::Unpack && !ev.has_children {
        // A DELETE that named no children emptied its parent.
        if let Some(parent) = parent {
            owned = st.fold().children_of(parent);
            keys = owned.iter().map(|k| &**k).collect();
        }
    }
    let Some(change) = op.change(&keys, &outputs, parent) else {
        return;
    };
    st.fold_mut().apply(&change, &v);
    if op == (Op::Transition { inherit: true }) {
        st.fold_mut().cascade_terminal(&keys, &v);
    }
}

/// An event older than the state of what it names, on its way through [`replay`].
pub(super) struct Late<'a> {
    pub p: &'a Prepared,
    pub v: Values,
    pub keys: Vec<&'a str>,
    pub outputs: Vec<&'a str>,
    pub parent: Option<&'a str>,
    /// An AggregationEvent DELETE without children: its parent's children at its time.
    pub unpack_all: bool,
}

/// What a replay did: the late event's findings and whether it was applied; (serials
/// rebuilt, events replayed, rows removed).
struct Replayed {
    findings: Vec<Finding>,
    accepted: bool,
    counts: (usize, usize, usize),
}
