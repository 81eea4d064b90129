//! EPCIS 2.0 JSON-LD (standards.md §3.2): the GS1 context by URL, CBV values as bare words
//! unless asked otherwise, extension elements as `prefix:name` keys. A namespace that the
//! GS1 context does not define is declared in an `@context` of the object that uses it (the
//! document for the header's, each event for its own), so nothing needs to be known before
//! the first event is written.
//!
//! The parts: this file holds the writer and the document's frame (context, header, master
//! data, the event list); `event` writes one event's fields, `extensions` extension elements
//! and sensor data as JSON members, `prefixes` the namespace → prefix bindings of a scope.

mod event;
mod extensions;
mod prefixes;

use std::io::{self, Write};

use super::options::Translator;
use super::DocMeta;
use crate::epcis::model::{DocumentKind, Header, Vocabulary};
use prefixes::Prefixes;

/// The GS1 EPCIS 2.0 JSON-LD context.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// Writes one EPCIS JSON-LD document.
pub(crate) struct JsonLdWriter<W: Write> {
    out: W,
    tr: Translator,
    /// Prefixes declared in the document's `@context`.
    doc_prefixes: Prefixes,
    /// Prefixes of the object being written (an event, a vocabulary element).
    local: Prefixes,
    header_open: bool,
    vocabularies_open: bool,
    first_vocabulary: bool,
    first_event: bool,
    /// An `EPCISQueryDocument` (the events inside `queryResults`).
    query: bool,
    dropped: u64,
}

impl<W: Write> JsonLdWriter<W> {
    pub(crate) fn new(out: W, tr: Translator) -> Self {
        JsonLdWriter {
            out,
            tr,
            doc_prefixes: Prefixes::default(),
            local: Prefixes::default(),
            header_open: false,
            vocabularies_open: false,
            first_vocabulary: true,
            first_event: true,
            query: false,
            dropped: 0,
        }
    }

    pub(crate) fn into_parts(self) -> (W, u64, u64) {
        (self.out, self.tr.untranslated, self.dropped)
    }

    pub(crate) fn start(&mut self, meta: &DocMeta, header: Option<&Header>) -> io::Result<()> {
        let none = Prefixes::default();
        if let Some(h) = header {
            for e in &h.extensions {
                self.doc_prefixes.bind_tree(e, &none);
            }
        }
        self.raw("{\"@context\":[")?;
        self.string(EPCIS_CONTEXT)?;
        if !self.doc_prefixes.map.is_empty() {
            self.raw(",")?;
            let map = std::mem::take(&mut self.doc_prefixes);
            self.context_object(&map)?;
            self.doc_prefixes = map;
        }
        self.query = meta.kind == DocumentKind::EpcisQueryDocument;
        self.raw(if self.query {
            "],\n\"type\":\"EPCISQueryDocument\",\"schemaVersion\":\"2.0\",\"creationDate\":"
        } else {
            "],\n\"type\":\"EPCISDocument\",\"schemaVersion\":\"2.0\",\"creationDate\":"
        })?;
        self.string(&meta.creation_date)?;
        if let Some(s) = header.and_then(|h| h.sbdh.as_ref()) {
            // The JSON binding's pseudo-SBDH fields (standards.md §3.2).
            if let Some(p) = s.senders.first() {
                self.raw(",\"sender\":")?;
                self.string(&p.identifier)?;
            }
            if let Some(p) = s.receivers.first() {
                self.raw(",\"receiver\":")?;
                self.string(&p.identifier)?;
            }
            if let Some(i) = &s.document_identification.instance_identifier {
                self.raw(",\"instanceIdentifier\":")?;
                self.string(i)?;
            }
            let kept = 2 + usize::from(s.document_identification.instance_identifier.is_some());
            let total = s.senders.len()
                + s.receivers.len()
                + 1
                + s.other.len()
                + s.senders
                    .iter()
                    .chain(&s.receivers)
                    .map(|p| p.other.len())
                    .sum::<usize>();
            self.dropped += total.saturating_sub(kept) as u64;
        }
        if let Some(h) = header.filter(|h| !h.extensions.is_empty()) {
            self.raw(",\n\"epcisHeader\":{")?;
            self.header_open = true;
            let scope = std::mem::take(&mut self.doc_prefixes);
            let r = self.members(&h.extensions, &scope, true);
            self.doc_prefixes = scope;
            r?;
        }
        Ok(())
    }

    pub(crate) fn vocabulary(&mut self, v: &Vocabulary) -> io::Result<()> {
        if !self.vocabularies_open {
            if !self.header_open {
                self.raw(",\n\"epcisHeader\":{")?;
                self.header_open = true;
            } else {
                self.raw(",")?;
            }
            self.raw("\"epcisMasterData\":{\"vocabularyList\":[\n")?;
            self.vocabularies_open = true;
        }
        if !self.first_vocabulary {
            self.raw(",\n")?;
        }
        self.first_vocabulary = false;
        self.raw("{\"type\":")?;
        self.string(&v.vocabulary_type)?;
        self.raw(",\"vocabularyElementList\":[")?;
        for (i, el) in v.elements.iter().enumerate() {
            if i > 0 {
                self.raw(",")?;
            }
            self.raw("\n{")?;
            let mut local = Prefixes::default();
            for a in &el.attributes {
                for e in &a.elements {
                    local.bind_tree(e, &self.doc_prefixes);
                }
            }
            if !local.map.is_empty() {
                self.raw("\"@context\":")?;
                self.context_object(&local)?;
                self.raw(",")?;
            }
            self.raw("\"id\":")?;
            let id = self.tr.identifier(&el.id, None).into_owned();
            self.string(&id)?;
            if !el.attributes.is_empty() {
                self.raw(",\"attributes\":[")?;
                for (j, a) in el.attributes.iter().enumerate() {
                    if j > 0 {
                        self.raw(",")?;
                    }
                    self.raw("{\"id\":")?;
                    self.string(&a.id)?;
                    self.raw(",\"attribute\":")?;
                    if a.elements.is_empty() {
                        self.string(&a.value)?;
                    } else {
                        self.raw("{")?;
                        self.members(&a.elements, &local, true)?;
                        self.raw("}")?;
                    }
                    self.raw("}")?;
                }
                self.raw("]")?;
            }
            if !el.children.is_empty() {
                self.raw(",\"children\":[")?;
                for (j, c) in el.children.iter().enumerate() {
                    if j > 0 {
                        self.raw(",")?;
                    }
                    let id = self.tr.identifier(c, None).into_owned();
                    self.string(&id)?;
                }
                self.raw("]")?;
            }
            self.raw("}")?;
        }
        self.raw("]}")
    }

    fn close_header(&mut self) -> io::Result<()> {
        if self.vocabularies_open {
            self.raw("\n]}")?;
            self.vocabularies_open = false;
        }
        if self.header_open {
            self.raw("}")?;
            self.header_open = false;
        }
        Ok(())
    }

    pub(crate) fn begin_events(&mut self) -> io::Result<()> {
        self.close_header()?;
        self.raw(if self.query {
            QUERY_BODY
        } else {
            ",\n\"epcisBody\":{\"eventList\":[\n"
        })
    }

    pub(crate) fn finish(&mut self, events_open: bool) -> io::Result<()> {
        match (events_open, self.query) {
            (true, false) => self.raw("\n]}}\n")?,
            (false, false) => {
                self.close_header()?;
                self.raw(",\n\"epcisBody\":{\"eventList\":[]}}\n")?;
            }
            (open, true) => {
                if !open {
                    self.begin_events()?;
                }
                self.raw("\n]}}}}\n")?;
            }
        }
        self.out.flush()
    }

    fn context_object(&mut self, p: &Prefixes) -> io::Result<()> {
        self.raw("{")?;
        for (i, (ns, prefix)) in p.map.iter().enumerate() {
            if i > 0 {
                self.raw(",")?;
            }
            write_string(&mut self.out, prefix)?;
            self.out.write_all(b":")?;
            write_string(&mut self.out, ns)?;
        }
        self.raw("}")
    }

    fn number(&mut self, n: f64) -> io::Result<()> {
        write!(self.out, "{n}")
    }

    fn raw(&mut self, s: &str) -> io::Result<()> {
        self.out.write_all(s.as_bytes())
    }

    fn string(&mut self, s: &str) -> io::Result<()> {
        write_string(&mut self.out, s)
    }
}

/// The body of a query document up to its event list (`SimpleEventQuery`: the query the REST
/// binding's `GET /events` stands for).
const QUERY_BODY: &str = ",\n\"epcisBody\":{\"queryResults\":{\"queryName\":\"SimpleEventQuery\",\"resultsBody\":{\"eventList\":[\n";

/// A JSON string literal.
pub(crate) fn write_string(out: &mut impl Write, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.write_all(&bytes[start..i])?;
                write!(out, "\\u{b:04x}")?;
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.write_all(&bytes[start..i])?;
        out.write_all(esc)?;
        start = i + 1;
    }
    out.write_all(&bytes[start..])?;
    out.write_all(b"\"")
}
