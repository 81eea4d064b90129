//! The EPC lists of the event being read, shared by the XML and the JSON-LD reader: the
//! per-event count, one parse per EPC (validation, the hash's canonical form and the parsed
//! identifier at once), moving the lists to a spill file once an event has more than the spill
//! threshold, and the event hash at the end. Both readers hand every EPC here, so a huge event
//! stays bounded in memory whatever its format.

use crate::epcis::hash::{self, EpcListCanon};
use crate::epcis::ident::{self, IdentError, SgtinCache};
use crate::epcis::model::{EpcRole, Event};
use crate::epcis::spill::{SpillOptions, SpilledEpcs};
use crate::gs1::Identifier;

/// Why an EPC could not be taken.
pub(crate) enum ListError {
    /// More EPC references in the event than `Limits::max_epcs_per_event`.
    Limit,
    /// The spill file could not be written.
    Spill(std::io::Error),
}

impl From<std::io::Error> for ListError {
    fn from(e: std::io::Error) -> Self {
        ListError::Spill(e)
    }
}

/// Where a list's values go: the event's list, its parsed identifiers, the role and the index
/// of its canonical forms (`epcList`, `childEPCs`, `inputEPCList`, `outputEPCList`).
#[derive(Clone, Copy)]
pub(crate) enum ListKind {
    Epc = 0,
    Child = 1,
    Input = 2,
    Output = 3,
}

impl ListKind {
    pub(crate) fn role(self) -> EpcRole {
        match self {
            ListKind::Epc => EpcRole::Epc,
            ListKind::Child => EpcRole::Child,
            ListKind::Input => EpcRole::Input,
            ListKind::Output => EpcRole::Output,
        }
    }

    /// The list's name in both bindings.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ListKind::Epc => "epcList",
            ListKind::Child => "childEPCs",
            ListKind::Input => "inputEPCList",
            ListKind::Output => "outputEPCList",
        }
    }

    pub(crate) fn list(self, ev: &mut Event) -> &mut Vec<String> {
        match self {
            ListKind::Epc => &mut ev.epc_list,
            ListKind::Child => &mut ev.child_epcs,
            ListKind::Input => &mut ev.input_epcs,
            ListKind::Output => &mut ev.output_epcs,
        }
    }
}

/// The EPC-list state of the event being read (see the module comment).
#[derive(Default)]
pub(crate) struct EventEpcs {
    pub(crate) hashing: bool,
    /// Where huge events' lists go (off unless the reader was given a spill directory).
    pub(crate) spill_options: Option<SpillOptions>,
    /// The current event's spilled lists, once it passed the threshold.
    spill: Option<SpilledEpcs>,
    /// Canonical Digital Links of the current event's EPC lists (for the hash).
    canon: EpcListCanon,
    /// GTIN of the last SGTIN URN of an EPC list (see `ident::parse_sharing`).
    sgtin_cache: SgtinCache,
    /// EPC references in the event so far (parentID included).
    count: usize,
    max: usize,
}

impl EventEpcs {
    pub(crate) fn new(max_epcs_per_event: usize) -> Self {
        EventEpcs {
            hashing: true,
            max: max_epcs_per_event,
            ..EventEpcs::default()
        }
    }

    /// Capacity of the reusable buffers, in bytes.
    pub(crate) fn footprint(&self) -> usize {
        self.canon.iter().map(|c| c.capacity()).sum::<usize>()
    }

    pub(crate) fn begin_event(&mut self) {
        self.count = 0;
        self.canon.iter_mut().for_each(|c| c.clear());
        self.spill = None;
    }

    /// Counts one more EPC reference of the event against the limit.
    pub(crate) fn count(&mut self) -> Result<(), ListError> {
        self.count += 1;
        if self.count > self.max {
            return Err(ListError::Limit);
        }
        Ok(())
    }

    /// One EPC of a list (counted before): parsed once, its canonical form kept for the
    /// hash, the value and its identifier appended to the event (or to the spill file). A
    /// value that is no valid identifier is handed to `refused` (for the caller to report)
    /// and kept as given.
    pub(crate) fn push(
        &mut self,
        ev: &mut Event,
        kind: ListKind,
        epc: String,
        refused: impl FnOnce(&str, IdentError),
    ) -> Result<(), ListError> {
        let id = match ident::parse_sharing(&epc, &mut self.sgtin_cache) {
            Ok(id) => Some(id),
            Err(e) => {
                refused(&epc, e);
                None
            }
        };
        let canon = kind as usize;
        if self.spill.is_none()
            && self
                .spill_options
                .as_ref()
                .is_some_and(|o| self.count > o.after)
        {
            self.start_spill(ev, kind)?;
        }
        if let Some(spill) = self.spill.as_mut() {
            // The consumer parses it again from the file; the hash gets its canonical form.
            let dir = &self.spill_options.as_ref().expect("spilling").dir;
            let list = &mut self.canon[canon];
            spill.push(kind.role(), &epc)?;
            match &id {
                Some(Identifier::Epc(e)) if self.hashing => list.spill_epc(dir, e)?,
                _ if self.hashing => list.spill_given(dir, &epc)?,
                _ => {}
            }
            return Ok(());
        }
        match &id {
            Some(Identifier::Epc(e)) if self.hashing => self.canon[canon].push_epc(e),
            _ => self.canon[canon].push(None),
        }
        ev.parsed_epcs.lists[canon].push(id);
        kind.list(ev).push(epc);
        Ok(())
    }

    /// Moves the list being read (its entries so far, and their canonical forms) to a new
    /// spill file; the rest of the event's lists follow it there.
    fn start_spill(&mut self, ev: &mut Event, kind: ListKind) -> std::io::Result<()> {
        let Some(opts) = self.spill_options.clone() else {
            return Ok(());
        };
        let mut spill = SpilledEpcs::create(&opts.dir)?;
        let out = kind.list(ev);
        for epc in out.iter() {
            spill.push(kind.role(), epc)?;
        }
        if self.hashing {
            self.canon[kind as usize].start_spill(&opts.dir, out)?;
        }
        *out = Vec::new();
        ev.parsed_epcs.lists[kind as usize] = Vec::new();
        self.spill = Some(spill);
        Ok(())
    }

    /// The event is read: its spill file finished, its hash computed, the identifiers its
    /// spilled lists repeat noted.
    pub(crate) fn finish(&mut self, ev: &mut Event) -> std::io::Result<()> {
        let mut spill = self.spill.take();
        if let Some(s) = spill.as_mut() {
            s.finish()?;
        }
        if self.hashing {
            ev.hash_id = Some(hash::hash_id_with(ev, &mut self.canon)?);
        }
        if let Some(mut s) = spill {
            let roles = [
                EpcRole::Epc,
                EpcRole::Child,
                EpcRole::Input,
                EpcRole::Output,
            ];
            let repeated = roles
                .into_iter()
                .zip(&mut self.canon)
                .flat_map(|(role, c)| c.repeated.drain(..).map(move |v| (role, v)))
                .collect();
            s.set_repeated(repeated);
            ev.spilled = Some(std::sync::Arc::new(s));
        }
        Ok(())
    }
}
