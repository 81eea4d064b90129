//! Streaming writers: EPCIS 2.0 JSON-LD, EPCIS 2.0 XML and EPCIS 1.2 XML, from the model the
//! reader produces (docs/FORMATS.md says what each format keeps).
//!
//! [`DocumentWriter`] takes the reader's [`Item`]s in document order (or the same pieces from
//! any other source: a database export) and writes each event as it comes: memory holds one
//! event, the header and its master data, never the document. The lists of a spilled event
//! ([`Event::spilled`]) are read back from their file a chunk at a time.
//!
//! ```
//! use dscsa_exchange::epcis::write::{DocumentWriter, Format, WriteOptions};
//! use dscsa_exchange::epcis::{EpcisReader, Limits};
//!
//! let xml = br#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1"
//!     schemaVersion="1.2" creationDate="2025-05-01T15:00:00Z"><EPCISBody><EventList>
//!   <ObjectEvent><eventTime>2025-04-20T08:00:00-05:00</eventTime>
//!     <eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
//!     <epcList><epc>urn:epc:id:sgtin:0312345.067890.S1</epc></epcList>
//!     <action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>
//!   </ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"#;
//! let mut reader = EpcisReader::new(&xml[..], Limits::default());
//! let mut writer = DocumentWriter::new(Vec::new(), Format::JsonLd, WriteOptions::default());
//! while let Some(item) = reader.next_item().unwrap() {
//!     writer.item(&item).unwrap();
//! }
//! let (json, summary) = writer.finish().unwrap();
//! let json = String::from_utf8(json).unwrap();
//! assert!(json.contains(r#""bizStep":"shipping""#));
//! assert!(json.contains("https://id.gs1.org/01/00312345678906/21/S1"));
//! assert_eq!(summary.events, 1);
//! ```

mod json_ld;
mod options;
mod xml;
mod xml12;
mod xml2;

use std::borrow::Cow;
use std::io::{self, BufWriter, Write};

use options::Translator;
pub use options::{CbvFormat, EpcFormat, Format, UnknownValue, WriteOptions};

use super::model::{
    DocumentKind, DocumentStart, EpcRole, EpcisVersion, Event, Header, Item, Vocabulary,
};
use crate::gs1::Identifier;

/// What a finished writer wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    pub events: u64,
    /// EPC references written (parentID and every list).
    pub epcs: u64,
    pub vocabularies: u64,
    /// Identifiers asked for as EPC URNs but written as given (a Digital Link whose company
    /// prefix length nothing knew).
    pub untranslated: u64,
    /// Values the format has no place for and that were left out (see docs/FORMATS.md).
    pub dropped: u64,
}

/// Where the writer is in the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing written yet.
    Fresh,
    /// Root and header written (master data may still follow).
    Started,
    /// The event list is open.
    Events,
    Done,
}

/// The per-format half of the writer.
enum Inner<W: Write> {
    Json(json_ld::JsonLdWriter<BufWriter<W>>),
    Xml(xml::XmlWriter<BufWriter<W>>),
}

/// Metadata of the document being written.
pub(crate) struct DocMeta {
    pub(crate) kind: DocumentKind,
    pub(crate) creation_date: String,
}

/// A streaming EPCIS document writer; see the module documentation.
pub struct DocumentWriter<W: Write> {
    inner: Inner<W>,
    state: State,
    start: Option<DocumentStart>,
    header: Option<Header>,
    /// Vocabularies of the header, which the reader gives before the header itself.
    pending: Vec<Vocabulary>,
    creation_date: Option<String>,
    summary: WriteSummary,
}

impl<W: Write> DocumentWriter<W> {
    pub fn new(out: W, format: Format, options: WriteOptions) -> Self {
        let out = BufWriter::with_capacity(64 * 1024, out);
        let tr = Translator::new(format, &options);
        let inner = match format {
            Format::JsonLd => Inner::Json(json_ld::JsonLdWriter::new(out, tr)),
            Format::Xml2 => Inner::Xml(xml::XmlWriter::new(out, tr, EpcisVersion::V2)),
            Format::Xml12 => Inner::Xml(xml::XmlWriter::new(out, tr, EpcisVersion::V1)),
        };
        DocumentWriter {
            inner,
            state: State::Fresh,
            start: None,
            header: None,
            pending: Vec::new(),
            creation_date: options.creation_date,
            summary: WriteSummary::default(),
        }
    }

    /// One item of a document, in the reader's order.
    pub fn item(&mut self, item: &Item) -> io::Result<()> {
        match item {
            Item::DocumentStart(d) => {
                self.document(d.clone());
                Ok(())
            }
            Item::MasterData(v) => self.vocabulary(v),
            Item::Header(h) => self.header((**h).clone()),
            Item::Event(e) => self.event(e),
            Item::End => self.end(),
        }
    }

    /// The document's root (kind and creation date). Optional: without it an EPCISDocument
    /// is written.
    pub fn document(&mut self, start: DocumentStart) {
        self.start = Some(start);
    }

    /// The header (SBDH, GS1 US extensions); its vocabularies come through
    /// [`DocumentWriter::vocabulary`], before or after it.
    pub fn header(&mut self, header: Header) -> io::Result<()> {
        self.header = Some(header);
        self.ensure_started()
    }

    /// One master-data vocabulary.
    pub fn vocabulary(&mut self, v: &Vocabulary) -> io::Result<()> {
        let kind = self.start.as_ref().map(|s| s.kind);
        if self.state == State::Fresh && kind != Some(DocumentKind::EpcisMasterDataDocument) {
            // The reader gives the header's vocabularies before the header item.
            self.pending.push(v.clone());
            return Ok(());
        }
        self.ensure_started()?;
        if self.state == State::Events {
            // Master data after the first event has no place in any of the formats.
            self.summary.dropped += 1;
            return Ok(());
        }
        self.summary.vocabularies += 1;
        match &mut self.inner {
            Inner::Json(w) => w.vocabulary(v),
            Inner::Xml(w) => w.vocabulary(v),
        }
    }

    /// One event.
    pub fn event(&mut self, ev: &Event) -> io::Result<()> {
        self.ensure_started()?;
        if self.state != State::Events {
            match &mut self.inner {
                Inner::Json(w) => w.begin_events()?,
                Inner::Xml(w) => w.begin_events()?,
            }
            self.state = State::Events;
        }
        self.summary.events += 1;
        self.summary.epcs += ev.epc_count() as u64;
        match &mut self.inner {
            Inner::Json(w) => w.event(ev),
            Inner::Xml(w) => w.event(ev),
        }
    }

    fn end(&mut self) -> io::Result<()> {
        if self.state == State::Done {
            return Ok(());
        }
        self.ensure_started()?;
        match &mut self.inner {
            Inner::Json(w) => w.finish(self.state == State::Events)?,
            Inner::Xml(w) => w.finish(self.state == State::Events)?,
        }
        self.state = State::Done;
        Ok(())
    }

    /// Closes the document (if [`Item::End`] did not) and flushes; gives the output back.
    pub fn finish(mut self) -> io::Result<(W, WriteSummary)> {
        self.end()?;
        let (out, untranslated, dropped) = match self.inner {
            Inner::Json(w) => w.into_parts(),
            Inner::Xml(w) => w.into_parts(),
        };
        let mut summary = self.summary;
        summary.untranslated = untranslated;
        summary.dropped += dropped;
        let out = out.into_inner().map_err(|e| e.into_error())?;
        Ok((out, summary))
    }

    fn ensure_started(&mut self) -> io::Result<()> {
        if self.state != State::Fresh {
            return Ok(());
        }
        let kind = self
            .start
            .as_ref()
            .map_or(DocumentKind::EpcisDocument, |s| s.kind);
        let creation_date = self
            .creation_date
            .clone()
            .or_else(|| {
                self.start
                    .as_ref()
                    .and_then(|s| s.creation_date.as_ref())
                    .map(|t| t.text.trim().to_string())
            })
            .unwrap_or_else(|| {
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            });
        let meta = DocMeta {
            kind,
            creation_date,
        };
        let header = self.header.as_ref();
        match &mut self.inner {
            Inner::Json(w) => w.start(&meta, header)?,
            Inner::Xml(w) => w.start(&meta, header)?,
        }
        self.state = State::Started;
        for v in std::mem::take(&mut self.pending) {
            self.summary.vocabularies += 1;
            match &mut self.inner {
                Inner::Json(w) => w.vocabulary(&v)?,
                Inner::Xml(w) => w.vocabulary(&v)?,
            }
        }
        Ok(())
    }
}

/// Index of a list in [`super::model::ParsedEpcs::lists`].
fn list_index(role: EpcRole) -> Option<usize> {
    match role {
        EpcRole::Epc => Some(0),
        EpcRole::Child => Some(1),
        EpcRole::Input => Some(2),
        EpcRole::Output => Some(3),
        EpcRole::Parent => None,
    }
}

fn list_of(ev: &Event, role: EpcRole) -> &[String] {
    match role {
        EpcRole::Epc => &ev.epc_list,
        EpcRole::Child => &ev.child_epcs,
        EpcRole::Input => &ev.input_epcs,
        EpcRole::Output => &ev.output_epcs,
        EpcRole::Parent => &[],
    }
}

/// Whether the event has entries in this list (in memory or spilled).
pub(crate) fn has_list(ev: &Event, role: EpcRole) -> bool {
    !list_of(ev, role).is_empty() || ev.spilled.as_ref().is_some_and(|s| s.count(role) > 0)
}

/// Entries read back from a spill file at a time.
const SPILL_CHUNK: usize = 8192;

/// Calls `f` for each identifier of one list, with what the reader parsed it as when known;
/// a spilled list is read back from its file in chunks.
pub(crate) fn for_each_epc(
    ev: &Event,
    role: EpcRole,
    mut f: impl FnMut(&str, Option<&Identifier>) -> io::Result<()>,
) -> io::Result<()> {
    if let Some(s) = ev.spilled.as_ref().filter(|s| s.count(role) > 0) {
        let mut failed = None;
        s.for_each_chunk(SPILL_CHUNK, |chunk| {
            for (r, uri) in chunk {
                if *r == role {
                    if let Err(e) = f(uri, None) {
                        failed = Some(e);
                        return false;
                    }
                }
            }
            true
        })?;
        return failed.map_or(Ok(()), Err);
    }
    let list = list_of(ev, role);
    let parsed = list_index(role)
        .map(|i| &ev.parsed_epcs.lists[i])
        .filter(|p| p.len() == list.len());
    for (i, uri) in list.iter().enumerate() {
        let id = parsed.and_then(|p| p[i].as_ref());
        f(uri, id)?;
    }
    Ok(())
}

/// The parentID's identifier, when the reader parsed it.
pub(crate) fn parent_identifier(ev: &Event) -> Option<&Identifier> {
    match &ev.parsed_epcs.parent {
        Some(Some(id)) if ev.parent_id.is_some() => Some(id),
        _ => None,
    }
}

/// The namespace of CBV master-data attributes and ILMD (`cbvmda`), however it was spelt.
pub(crate) fn is_cbvmda(ns: &str) -> bool {
    matches!(
        ns,
        "urn:epcglobal:cbv:mda" | "urn:epcglobal:cbv:mda:" | "urn:epcglobal:cbv:mda#"
    )
}

/// Timestamp text to write: as read, with `Z` added where 2.0 needs a zone the text lacks
/// (the reader read such a time as UTC, so the instant and the hash stay the same).
pub(crate) fn timestamp_text(t: &super::model::Timestamp, v2: bool) -> Cow<'_, str> {
    let text = t.text.trim();
    if v2 && t.value.is_some() {
        if let Ok(p) = super::values::parse_date_time(text) {
            if !p.has_zone {
                return Cow::Owned(format!("{text}Z"));
            }
        }
    }
    Cow::Borrowed(text)
}
