//! Huge events: lists the reader wrote to disk ([`crate::epcis::spill`]) are read back a chunk
//! at a time, twice. The first pass checks every identifier against the state before the
//! event (nothing is applied: a refused event changes nothing); the second applies the event
//! and writes its identifier rows. The fold is written back and emptied between chunks when
//! full, so memory stays bounded whatever the size of the event.
//!
//! The two passes work on the capture's [`State`]; what the event's findings and rows then
//! do to the capture (`Run::store_spilled`, run.rs) is the batch flow's business.

use std::collections::{HashMap, HashSet};

use diesel::PgConnection;

use super::fold::Values;
use super::prepare::{effect_side, key_of, Op, Prepared, Side};
use super::rules::{self, Grouped};
use super::state::State;
use super::{CaptureError, Finding};
use crate::epcis::{EpcRole, SpilledEpcs};
use crate::store::capture::{self as q, BatchRows, EpcRow};
use crate::store::codes::Code;

/// Identifiers read back, checked or applied at a time: as many as an event may keep in
/// memory (`CaptureOptions::spill_after`), at most this.
pub(super) const CHUNK: usize = 20_000;

/// One chunk of an event's identifiers, as keys.
#[derive(Default)]
struct Chunk {
    rows: Vec<EpcRow>,
    /// Indexes into `rows` of the named identifiers and of the outputs.
    named: Vec<u32>,
    outputs: Vec<u32>,
    gtins: Vec<String>,
}

/// The identifiers a spilled event lists more than once, found by the reader while it sorted
/// the lists for the event hash ([`crate::epcis::SpilledEpcs::repeated`]): only those are
/// tracked, so memory grows with the repeats, not with the list.
struct Repeats {
    /// (role, key) → whether it was met already.
    keys: HashMap<(i16, String), bool>,
}

impl Repeats {
    fn new(spilled: &SpilledEpcs) -> Self {
        let keys = spilled
            .repeated()
            .iter()
            .filter_map(|(role, canonical)| {
                let k = key_of(canonical)?;
                Some(((role.code(), k.key), false))
            })
            .collect();
        Repeats { keys }
    }

    /// False for the second and later occurrences of an identifier in its list.
    fn first_time(&mut self, role: i16, key: &str) -> bool {
        if self.keys.is_empty() {
            return true;
        }
        match self.keys.get_mut(&(role, key.to_string())) {
            Some(met) => !std::mem::replace(met, true),
            None => true,
        }
    }
}

/// What the checking pass found: the event's findings (a repeated identifier first, then
/// one per problem kind), and whether it is older than the state of some of what it names.
pub(super) struct Checked {
    pub findings: Vec<Finding>,
    pub late: bool,
}

/// Pass 1: checks every identifier of the event against the state before it, a chunk at a
/// time; nothing is applied. The identifiers kept in memory (`p.epcs`) come first.
pub(super) fn check(
    st: &mut State,
    conn: &mut PgConnection,
    p: &Prepared,
    spilled: &SpilledEpcs,
    chunk: usize,
    v: &Values,
) -> Result<Checked, CaptureError> {
    let parent = p.effect.parent.map(|i| p.key(i));
    let mut grouped = Grouped::new();
    let mut repeats = Repeats::new(spilled);
    let mut repeated: Vec<String> = Vec::new();
    let mut unreadable = None;
    let mut pass = Pass::default();
    let in_memory = chunk_in_memory(p, &mut repeats);
    let seen = &mut pass;
    check_chunk(st, conn, p, &in_memory, parent, v, &mut grouped, seen)?;
    let mut failed = Ok(());
    spilled
        .for_each_chunk(chunk, |items| {
            let c = chunk_of(p, items, &mut repeats, &mut repeated, &mut unreadable);
            failed = check_chunk(st, conn, p, &c, parent, v, &mut grouped, seen);
            failed.is_ok() && unreadable.is_none()
        })
        .map_err(CaptureError::Spool)?;
    failed?;
    if let Some(uri) = unreadable {
        // The reader validated these; a value that does not parse now is a server fault.
        return Err(CaptureError::Spool(std::io::Error::other(format!(
            "identifier `{uri}` of event {} could not be read back",
            p.index
        ))));
    }
    let mut findings = Vec::new();
    if let Some(first) = repeated.first() {
        let more = match repeated.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        findings.push(rules::repeated_identifier(p, &format!("{first}{more}")));
    }
    findings.extend(rules::problems(p, grouped));
    Ok(Checked {
        findings,
        late: pass.late,
    })
}

/// What the applying pass did: identifier rows stored, and (serials created, serials updated).
pub(super) struct Applied {
    pub stored: u64,
    pub counts: (u64, u64),
}

/// Pass 2: applies the event and writes its identifier rows, a chunk at a time, with the
/// repeated identifiers left out again. The GTINs it commissions go to `gtins`.
pub(super) fn apply(
    st: &mut State,
    conn: &mut PgConnection,
    p: &Prepared,
    spilled: &SpilledEpcs,
    chunk: usize,
    v: &Values,
    gtins: &mut HashSet<String>,
) -> Result<Applied, CaptureError> {
    let parent = p.effect.parent.map(|i| p.key(i));
    let mut repeats = Repeats::new(spilled);
    let mut unreadable = None;
    let in_memory = chunk_in_memory(p, &mut repeats);
    let mut applied = Applied {
        stored: in_memory.rows.len() as u64,
        counts: (0, 0),
    };
    apply_chunk(st, conn, p, in_memory, parent, v, gtins, &mut applied)?;
    let mut failed = Ok(());
    let mut ignored = Vec::new();
    spilled
        .for_each_chunk(chunk, |items| {
            let c = chunk_of(p, items, &mut repeats, &mut ignored, &mut unreadable);
            applied.stored += c.rows.len() as u64;
            failed = apply_chunk(st, conn, p, c, parent, v, gtins, &mut applied);
            failed.is_ok()
        })
        .map_err(CaptureError::Spool)?;
    failed?;
    Ok(applied)
}

/// The identifiers of a spilled event that stayed in memory, as a chunk (their rows are
/// taken from the event later, in [`apply_chunk`]).
fn chunk_in_memory(p: &Prepared, repeats: &mut Repeats) -> Chunk {
    for r in &p.epcs {
        repeats.first_time(r.role, &r.epc_key);
    }
    Chunk {
        rows: p.epcs.clone(),
        named: p.effect.keys.clone(),
        outputs: p.effect.outputs.clone(),
        gtins: p.gtins.clone(),
    }
}

/// Loads a chunk's serials (making room in the fold first) and groups its problems. The
/// parent is checked with every chunk but counted once (`Pass::parent`); whether the event
/// is older than the state of what it names is noted (`Pass::late`).
#[allow(clippy::too_many_arguments)]
fn check_chunk(
    st: &mut State,
    conn: &mut PgConnection,
    p: &Prepared,
    c: &Chunk,
    parent: Option<&str>,
    v: &Values,
    grouped: &mut Grouped,
    pass: &mut Pass,
) -> Result<(), CaptureError> {
    if c.named.is_empty() && c.outputs.is_empty() {
        return Ok(());
    }
    let (named, outputs) = make_room(st, conn, c, parent)?;
    if let Some(change) = p.op.change(&named, &outputs, parent) {
        for pr in st.fold().check(&change, v) {
            if !(pass.parent && Some(pr.key.as_str()) == parent) {
                rules::group(grouped, pr);
            }
        }
        pass.parent = true;
        let keys: Vec<&str> = change.keys().chain(parent).collect();
        // Per chunk: the map holds what this chunk names.
        st.note_changed_containers(conn, v.event_time, &keys)?;
        pass.late = pass.late || st.is_late(keys, v);
    }
    Ok(())
}

/// Applies a chunk to the fold and writes its identifier rows.
#[allow(clippy::too_many_arguments)]
fn apply_chunk(
    st: &mut State,
    conn: &mut PgConnection,
    p: &Prepared,
    mut c: Chunk,
    parent: Option<&str>,
    v: &Values,
    gtins: &mut HashSet<String>,
    applied: &mut Applied,
) -> Result<(), CaptureError> {
    if !c.named.is_empty() || !c.outputs.is_empty() {
        let (named, outputs) = make_room(st, conn, &c, parent)?;
        if let Some(change) = p.op.change(&named, &outputs, parent) {
            st.reserve_for(conn, &change)?;
            let ((created, mut updated), cascade) = st.apply_change(p, &change, v);
            if let Some(c) = cascade {
                updated += st.cascade_stored(conn, &c)?;
            }
            applied.counts.0 += created;
            applied.counts.1 += updated;
        }
    }
    if matches!(p.op, Op::Commission | Op::Transform) {
        gtins.extend(c.gtins.drain(..));
    }
    for r in &mut c.rows {
        r.event_id = v.event_id;
    }
    c.rows
        .sort_unstable_by(|a, b| (a.role, &a.epc_key).cmp(&(b.role, &b.epc_key)));
    let rows = BatchRows {
        epcs: c.rows,
        ..BatchRows::default()
    };
    q::copy_batch(conn, &rows)?;
    Ok(())
}

/// Writes the fold back and empties it when the chunk would not fit, then loads the chunk's
/// serials (and the parent). Returns the named and output keys.
fn make_room<'c>(
    st: &mut State,
    conn: &mut PgConnection,
    c: &'c Chunk,
    parent: Option<&'c str>,
) -> Result<(Vec<&'c str>, Vec<&'c str>), CaptureError> {
    let key = |i: &u32| c.rows[*i as usize].epc_key.as_str();
    let named: Vec<&str> = c.named.iter().map(key).collect();
    let outputs: Vec<&str> = c.outputs.iter().map(key).collect();
    let wanted: Vec<&str> = named
        .iter()
        .chain(&outputs)
        .copied()
        .chain(parent)
        .collect();
    st.load_with_room(conn, &wanted)?;
    Ok((named, outputs))
}

/// What the checking pass found beyond problems.
#[derive(Default)]
struct Pass {
    /// The parent was checked (with the first chunk).
    parent: bool,
    /// Some serial named (or a container of one) has a newer state than the event.
    late: bool,
}

/// Rows and state-change indexes of one chunk of spilled identifiers; repeated ones are left
/// out (and listed in `repeated`), an identifier that does not parse stops at `unreadable`.
fn chunk_of(
    p: &Prepared,
    items: &[(EpcRole, String)],
    repeats: &mut Repeats,
    repeated: &mut Vec<String>,
    unreadable: &mut Option<String>,
) -> Chunk {
    let mut c = Chunk::default();
    let has_parent = p.effect.parent.is_some();
    for (role, uri) in items {
        let Some(k) = key_of(uri) else {
            *unreadable = Some(uri.clone());
            break;
        };
        let code = role.code();
        if !repeats.first_time(code, &k.key) {
            repeated.push(uri.clone());
            continue;
        }
        let i = c.rows.len() as u32;
        match effect_side(p.op, has_parent, *role, k.class) {
            Some(Side::Named) => c.named.push(i),
            Some(Side::Output) => c.outputs.push(i),
            None => {}
        }
        c.gtins.extend(k.gtin);
        c.rows.push(EpcRow {
            event_id: 0,
            role: code,
            epc_key: k.key,
            quantity: None,
            uom: None,
        });
    }
    c
}
