//! The EPC lists of an event: the per-event limit, one parse per EPC (validation, the hash's
//! canonical form and the parsed identifier at once), and moving the lists to a spill file once
//! an event has more than the spill threshold.

use std::io::BufRead;

use crate::epcis::diagnostics::rules;
use crate::epcis::ident;
use crate::epcis::model::{EpcRole, Event, Position};
use crate::epcis::reader::cursor::{Ns, Tok};
use crate::epcis::reader::{EpcisReader, ReadError};
use crate::epcis::spill::SpilledEpcs;
use crate::gs1::Identifier;

/// Which EPC list is being read.
#[derive(Clone, Copy)]
pub(super) enum EpcListKind {
    Epc,
    Child,
    Input,
    Output,
}

impl<R: BufRead> EpcisReader<R> {
    pub(super) fn spill_error(&self, e: std::io::Error) -> ReadError {
        self.cur.error(
            &rules::SPILL,
            format!("the identifier lists of this event could not be written to the spool directory: {e}"),
        )
    }

    /// Moves the list being read (its entries so far, and their canonical forms) to a new
    /// spill file; the rest of the event's lists follow it there.
    fn start_spill(
        &mut self,
        out: &mut Vec<String>,
        parsed: &mut Vec<Option<Identifier>>,
        role: EpcRole,
        canon: usize,
    ) -> Result<(), ReadError> {
        let Some(opts) = self.spill_options.clone() else {
            return Ok(());
        };
        let mut spill = SpilledEpcs::create(&opts.dir).map_err(|e| self.spill_error(e))?;
        for epc in out.iter() {
            spill.push(role, epc).map_err(|e| self.spill_error(e))?;
        }
        if self.hashing {
            self.epc_canon[canon]
                .start_spill(&opts.dir, out)
                .map_err(|e| self.spill_error(e))?;
        }
        out.clear();
        out.shrink_to_fit();
        parsed.clear();
        parsed.shrink_to_fit();
        self.spill = Some(spill);
        Ok(())
    }

    pub(super) fn count_epc(&mut self) -> Result<(), ReadError> {
        self.epcs_in_event += 1;
        if self.epcs_in_event > self.limits.max_epcs_per_event {
            return Err(self.cur.error(
                &rules::LIMIT_EPCS,
                format!(
                    "event has more than the limit of {} EPCs",
                    self.limits.max_epcs_per_event
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn epc_list(&mut self, ev: &mut Event, kind: EpcListKind) -> Result<(), ReadError> {
        let (list, name) = match kind {
            EpcListKind::Epc => (&mut ev.epc_list, "epcList"),
            EpcListKind::Child => (&mut ev.child_epcs, "childEPCs"),
            EpcListKind::Input => (&mut ev.input_epcs, "inputEPCList"),
            EpcListKind::Output => (&mut ev.output_epcs, "outputEPCList"),
        };
        let mut out = std::mem::take(list);
        let mut parsed = std::mem::take(&mut ev.parsed_epcs.lists[kind as usize]);
        let role = match kind {
            EpcListKind::Epc => EpcRole::Epc,
            EpcListKind::Child => EpcRole::Child,
            EpcListKind::Input => EpcRole::Input,
            EpcListKind::Output => EpcRole::Output,
        };
        let result = self.epcs_into(&mut out, &mut parsed, name, role, kind as usize);
        *match kind {
            EpcListKind::Epc => &mut ev.epc_list,
            EpcListKind::Child => &mut ev.child_epcs,
            EpcListKind::Input => &mut ev.input_epcs,
            EpcListKind::Output => &mut ev.output_epcs,
        } = out;
        ev.parsed_epcs.lists[kind as usize] = parsed;
        result
    }

    /// One EPC of a list: a single parse validates it, gives the hash its canonical form and
    /// is kept for [`Event::epc_identifiers`].
    #[allow(clippy::too_many_arguments)]
    fn epc_parsed(
        &mut self,
        epc: String,
        out: &mut Vec<String>,
        parsed: &mut Vec<Option<Identifier>>,
        list_name: &str,
        role: EpcRole,
        canon: usize,
        pos: Position,
    ) -> Result<(), ReadError> {
        let id = match ident::parse_sharing(&epc, &mut self.sgtin_cache) {
            Ok(id) => Some(id),
            Err(e) => {
                self.identifier_error(&epc, list_name, pos, e);
                None
            }
        };
        if self.spill.is_none()
            && self
                .spill_options
                .as_ref()
                .is_some_and(|o| self.epcs_in_event > o.after)
        {
            self.start_spill(out, parsed, role, canon)?;
        }
        if let Some(spill) = self.spill.as_mut() {
            // The consumer parses it again from the file; the hash gets its canonical form.
            let dir = &self.spill_options.as_ref().expect("spilling").dir;
            let list = &mut self.epc_canon[canon];
            let pushed = spill.push(role, &epc).and_then(|()| match &id {
                Some(Identifier::Epc(e)) if self.hashing => list.spill_epc(dir, e),
                _ if self.hashing => list.spill_given(dir, &epc),
                _ => Ok(()),
            });
            return pushed.map_err(|e| self.spill_error(e));
        }
        match &id {
            Some(Identifier::Epc(e)) if self.hashing => self.epc_canon[canon].push_epc(e),
            _ => self.epc_canon[canon].push(None),
        }
        parsed.push(id);
        out.push(epc);
        Ok(())
    }

    fn epcs_into(
        &mut self,
        out: &mut Vec<String>,
        parsed: &mut Vec<Option<Identifier>>,
        list_name: &str,
        role: EpcRole,
        canon: usize,
    ) -> Result<(), ReadError> {
        loop {
            // Plain `<epc>…</epc>` items skip the tokenizer (same results, see simple_element).
            if let Some(epc) = self.cur.simple_element("epc")? {
                let pos = self.cur.pos;
                self.count_epc()?;
                self.epc_parsed(epc, out, parsed, list_name, role, canon, pos)?;
                continue;
            }
            match self.cur.next_tok()? {
                Tok::End => return Ok(()),
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    if self.cur.ns == Ns::None && self.cur.local == "epc" {
                        self.count_epc()?;
                        if let Some(epc) = self.value(pos, list_name)? {
                            self.epc_parsed(epc, out, parsed, list_name, role, canon, pos)?;
                        }
                    } else {
                        self.skip_unexpected(pos, &format!("{list_name}: only <epc> is allowed"))?;
                    }
                }
            }
        }
    }
}
