//! Huge events: lists the reader wrote to disk ([`crate::epcis::spill`]) are read back a chunk
//! at a time, twice. The first pass checks every identifier against the state before the
//! event (nothing is applied: a refused event changes nothing); the second applies the event
//! and writes its identifier rows. The fold is written back and emptied between chunks when
//! full, so memory stays bounded whatever the size of the event.

use std::collections::HashMap;

use diesel::PgConnection;

use super::prepare::{self, effect_side, key_of, Prepared, Side};
use super::{
    change_of, finding, findings_of, group, q, rules, BatchRows, CaptureError, Grouped, Run,
    Severity,
};
use crate::epcis::EpcRole;
use crate::store::capture::EpcRow;

/// Identifiers read back, checked or applied at a time: as many as an event may keep in
/// memory (`CaptureOptions::spill_after`), at most this.
const CHUNK: usize = 20_000;

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
    fn new(spilled: &crate::epcis::SpilledEpcs) -> Self {
        let keys = spilled
            .repeated()
            .iter()
            .filter_map(|(role, canonical)| {
                let k = key_of(canonical)?;
                Some(((prepare::role_code(*role), k.key), false))
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

impl Run<'_> {
    /// Stores one event whose lists were spilled: checked whole, then applied, a chunk at a
    /// time (see the module comment).
    pub(super) fn store_spilled(
        &mut self,
        conn: &mut PgConnection,
        mut p: Prepared,
    ) -> Result<(), CaptureError> {
        let spilled = p.spilled.take().expect("a spilled event");
        if self.refused.contains(&p.index) {
            return Ok(());
        }
        // A declaration has the hash of the event it declares erroneous: never a duplicate.
        if !p.is_error_declaration
            && !q::existing_hashes(conn, std::slice::from_ref(&p.digest))?.is_empty()
        {
            self.duplicate_events += 1;
            self.warnings.push(super::duplicate_event(&p));
            return Ok(());
        }
        let chunk = self.opts.spill_after.clamp(1, CHUNK);
        let event_id = q::reserve_event_ids(conn, 1)?[0];
        let v = self.values_of(&p, event_id);
        let parent = p.effect.parent.map(|i| p.key(i).to_string());

        // Pass 1: check. The identifiers kept in memory (`p.epcs`) come first.
        let started = std::time::Instant::now();
        let mut grouped = Grouped::new();
        let mut repeats = Repeats::new(&spilled);
        let mut repeated: Vec<String> = Vec::new();
        let mut unreadable = None;
        let mut pass = Checked::default();
        let in_memory = self.chunk_in_memory(&p, &mut repeats);
        let parent = parent.as_deref();
        let seen = &mut pass;
        self.check_chunk(conn, &p, &in_memory, parent, &v, &mut grouped, seen)?;
        let mut failed = Ok(());
        spilled
            .for_each_chunk(chunk, |items| {
                let c = chunk_of(&p, items, &mut repeats, &mut repeated, &mut unreadable);
                failed = self.check_chunk(conn, &p, &c, parent, &v, &mut grouped, seen);
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
        if let Some(first) = repeated.first() {
            let more = match repeated.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            self.push(finding(
                rules::REPEATED_IDENTIFIER,
                Severity::Warn,
                p.line,
                p.column,
                Some(p.index),
                format!("{first}{more} is listed more than once in the same list; stored once"),
                "list each identifier once",
            ));
        }
        let findings = findings_of(&p, grouped);
        let refused = findings.iter().any(|f| f.severity == "reject");
        for f in findings {
            self.push(f);
        }
        if refused || self.refused.contains(&p.index) {
            return Ok(());
        }
        drop(repeats);

        let checked = started.elapsed();
        // Pass 2: apply and write, with the repeated identifiers left out again.
        let mut repeats = Repeats::new(&spilled);
        let in_memory = self.chunk_in_memory(&p, &mut repeats);
        let mut stored = in_memory.rows.len() as u64;
        self.apply_chunk(conn, &p, in_memory, parent, &v)?;
        let mut failed = Ok(());
        let mut ignored = Vec::new();
        spilled
            .for_each_chunk(chunk, |items| {
                let c = chunk_of(&p, items, &mut repeats, &mut ignored, &mut unreadable);
                stored += c.rows.len() as u64;
                failed = self.apply_chunk(conn, &p, c, parent, &v);
                failed.is_ok()
            })
            .map_err(CaptureError::Spool)?;
        failed?;

        let late = pass.late && !p.is_error_declaration;
        let declared = p.is_error_declaration.then(|| super::retract::Declared {
            digest: p.digest.clone(),
            event_id,
            index: p.index,
            line: p.line,
            column: p.column,
        });
        log::debug!(
            "capture: event {} with {} spilled identifiers stored in chunks (checked in {:?}, applied in {:?})",
            p.index,
            spilled.len(),
            checked,
            started.elapsed() - checked
        );
        if let (Some(parent), 2) = (parent, p.row.event_type) {
            self.packed_parents.insert(parent.into());
        }
        // Its identifier rows are written (the in-memory ones with the first chunk).
        p.epcs = Vec::new();
        let mut rows = BatchRows::default();
        self.accept(p, event_id, stored, &mut rows);
        q::copy_batch(conn, &rows)?;
        if late {
            // Older than the state of some of what it names: applied as it came, then those
            // serials are replayed in time order (its rules were checked against the state
            // as it was, not at its time: docs/RULES.md).
            self.rebuild_after(conn, event_id)?;
        }
        if let Some(d) = declared {
            self.retract(conn, &d)?;
        }
        Ok(())
    }

    /// The identifiers of a spilled event that stayed in memory, as a chunk (their rows are
    /// taken from the event later, in [`Run::apply_chunk`]).
    fn chunk_in_memory(&self, p: &Prepared, repeats: &mut Repeats) -> Chunk {
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
    /// parent is checked with every chunk but counted once (`Checked::parent`); whether the
    /// event is older than the state of what it names is noted (`Checked::late`).
    #[allow(clippy::too_many_arguments)]
    fn check_chunk(
        &mut self,
        conn: &mut PgConnection,
        p: &Prepared,
        c: &Chunk,
        parent: Option<&str>,
        v: &super::fold::Values,
        grouped: &mut Grouped,
        pass: &mut Checked,
    ) -> Result<(), CaptureError> {
        if c.named.is_empty() && c.outputs.is_empty() {
            return Ok(());
        }
        let (named, outputs) = self.make_room(conn, c, parent)?;
        if let Some(change) = change_of(p.op, &named, &outputs, parent) {
            for pr in self.fold.check(&change, v) {
                if !(pass.parent && Some(pr.key.as_str()) == parent) {
                    group(grouped, pr);
                }
            }
            pass.parent = true;
            let keys: Vec<&str> = super::change_keys(&change).chain(parent).collect();
            // Per chunk: the map holds what this chunk names.
            self.note_changed_containers(conn, v.event_time, &keys)?;
            pass.late = pass.late || self.is_late(keys, v);
        }
        Ok(())
    }

    /// Applies a chunk to the fold and writes its identifier rows.
    fn apply_chunk(
        &mut self,
        conn: &mut PgConnection,
        p: &Prepared,
        mut c: Chunk,
        parent: Option<&str>,
        v: &super::fold::Values,
    ) -> Result<(), CaptureError> {
        if !c.named.is_empty() || !c.outputs.is_empty() {
            let (named, outputs) = self.make_room(conn, &c, parent)?;
            if let Some(change) = change_of(p.op, &named, &outputs, parent) {
                self.apply_change(conn, p, &change, v)?;
            }
        }
        if matches!(p.op, prepare::Op::Commission | prepare::Op::Transform) {
            self.gtins.extend(c.gtins.drain(..));
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

    /// Writes the fold back and empties it when the chunk would not fit, then loads the
    /// chunk's serials (and the parent). Returns the named and output keys.
    fn make_room<'c>(
        &mut self,
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
        self.load_with_room(conn, &wanted)?;
        Ok((named, outputs))
    }
}

/// What the checking pass found beyond problems.
#[derive(Default)]
struct Checked {
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
        let code = prepare::role_code(*role);
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
