//! The EPC lists of an event in XML: each `<epc>` counted, parsed and kept (or spilled) by the
//! shared [`EventEpcs`](crate::epcis::reader::lists::EventEpcs), which the JSON-LD reader uses
//! too.

use std::io::BufRead;

use crate::epcis::diagnostics::rules;
use crate::epcis::model::{Event, Position};
use crate::epcis::reader::cursor::{Ns, Tok};
use crate::epcis::reader::lists::{ListError, ListKind};
use crate::epcis::reader::{ReadError, XmlReader};

impl<R: BufRead> XmlReader<R> {
    pub(super) fn spill_error(&self, e: std::io::Error) -> ReadError {
        self.cur.error(
            &rules::SPILL,
            format!("the identifier lists of this event could not be written to the spool directory: {e}"),
        )
    }

    fn list_error(&self, e: ListError) -> ReadError {
        match e {
            ListError::Limit => self.cur.error(
                &rules::LIMIT_EPCS,
                format!(
                    "event has more than the limit of {} EPCs",
                    self.limits.max_epcs_per_event
                ),
            ),
            ListError::Spill(e) => self.spill_error(e),
        }
    }

    pub(super) fn count_epc(&mut self) -> Result<(), ReadError> {
        self.epcs.count().map_err(|e| self.list_error(e))
    }

    /// One EPC of a list: a single parse validates it, gives the hash its canonical form and
    /// is kept for [`Event::epc_identifiers`].
    fn epc_parsed(
        &mut self,
        ev: &mut Event,
        epc: String,
        kind: ListKind,
        pos: Position,
    ) -> Result<(), ReadError> {
        let mut refused = None;
        let pushed = self
            .epcs
            .push(ev, kind, epc, |v, e| refused = Some((v.to_owned(), e)));
        if let Some((value, e)) = refused {
            self.identifier_error(&value, kind.name(), pos, e);
        }
        pushed.map_err(|e| self.list_error(e))
    }

    pub(super) fn epc_list(&mut self, ev: &mut Event, kind: ListKind) -> Result<(), ReadError> {
        let list_name = kind.name();
        loop {
            // Plain `<epc>…</epc>` items skip the tokenizer (same results, see simple_element).
            if let Some(epc) = self.cur.simple_element("epc")? {
                let pos = self.cur.pos;
                self.count_epc()?;
                self.epc_parsed(ev, epc, kind, pos)?;
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
                            self.epc_parsed(ev, epc, kind, pos)?;
                        }
                    } else {
                        self.skip_unexpected(pos, &format!("{list_name}: only <epc> is allowed"))?;
                    }
                }
            }
        }
    }
}
