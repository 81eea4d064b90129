//! Error declarations (standards.md §1.8): an event that repeats a stored event with an
//! `errorDeclaration` says the stored one did not happen as recorded. The original stays
//! (marked `retracted_by`), and the rows of every serial it may have changed are rebuilt by
//! replaying, through the same fold as a capture, the events about them that still stand.

use diesel::PgConnection;

use super::fold::{self, Values};
use super::prepare::{effect_side, event_type_of_code, op_of, role_of_code, status_of, Op, Side};
use super::{change_of, finding, rules, CaptureError, Run, Severity};
use crate::epcis::Action;
use crate::store::capture as q;

/// A declaration stored by this capture, and where it stands in the document.
pub(super) struct Declared {
    pub digest: Vec<u8>,
    pub event_id: i64,
    pub index: u64,
    pub line: u32,
    pub column: u32,
}

impl Run<'_> {
    /// Retracts what the declaration names and rebuilds the serials concerned. The fold is
    /// written back and emptied first: the rebuild works on stored rows.
    pub(super) fn retract(
        &mut self,
        conn: &mut PgConnection,
        d: &Declared,
    ) -> Result<(), CaptureError> {
        self.write_back(conn)?;
        self.fold.clear();
        let retracted = q::retract_events(conn, &d.digest, d.event_id)?;
        if retracted.is_empty() {
            self.warnings.push(finding(
                rules::DECLARED_EVENT_UNKNOWN,
                Severity::Warn,
                d.line,
                d.column,
                Some(d.index),
                format!(
                    "event {} declares an error in an event that is not stored here (or was retracted already); the declaration is stored, no state changes",
                    d.index
                ),
                "send the declaration to the system that holds the original event, or send the original first",
            ));
            return Ok(());
        }
        for event_id in retracted {
            self.rebuild(conn, event_id)?;
            self.events_retracted += 1;
        }
        Ok(())
    }

    /// Replays the standing events of every serial the retracted event may have changed.
    fn rebuild(&mut self, conn: &mut PgConnection, retracted: i64) -> Result<(), CaptureError> {
        let scope = q::rebuild_scope(conn, retracted)?;
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
            self.fold.insert(&r.epc_key, serial, None);
        }
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let (events, epcs) = q::replay_events(conn, &key_refs)?;
        let mut at = 0;
        for ev in &events {
            let start = at;
            while at < epcs.len() && epcs[at].event_id == ev.id {
                at += 1;
            }
            let named = &epcs[start..at];
            let Some(event_type) = event_type_of_code(ev.event_type) else {
                continue;
            };
            let action = ev.action.as_deref().and_then(Action::parse);
            let step = ev.biz_step.as_deref().unwrap_or("");
            let names = &mut self.fold.names;
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
                .find(|x| x.role == 2)
                .map(|x| x.epc_key.as_str());
            // The same sides of the change as a capture gives them (only serial keys are
            // replayed, so nothing here is class-level).
            let (mut keys, mut outputs) = (Vec::new(), Vec::new());
            for x in named {
                let Some(role) = role_of_code(x.role) else {
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
                    owned = self.fold.children_of(parent);
                    keys = owned.iter().map(|k| &**k).collect();
                }
            }
            let Some(change) = change_of(op, &keys, &outputs, parent) else {
                continue;
            };
            self.fold.apply(&change, &v);
            if op == (Op::Transition { inherit: true }) {
                self.fold.cascade_terminal(&keys, &v);
            }
        }
        let gone = self.fold.remove_absent();
        if !gone.is_empty() {
            q::delete_serials(conn, &gone)?;
        }
        self.write_back(conn)?;
        self.fold.clear();
        log::debug!(
            "capture: event {retracted} retracted; {} serials rebuilt from {} events, {} removed",
            keys.len() - gone.len(),
            events.len(),
            gone.len()
        );
        Ok(())
    }
}
