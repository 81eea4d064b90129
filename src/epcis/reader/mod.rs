//! Streaming EPCIS readers: XML (1.2, 2.0 and standalone master-data documents) and EPCIS 2.0
//! JSON-LD (`json`), behind one [`EpcisReader`] that tells them apart by the first bytes
//! ([`detect_format`]).
//!
//! Pull API: [`EpcisReader::next_item`] returns one [`Item`] at a time in document order;
//! memory is bounded by the largest single item (one event, one vocabulary, the header), never
//! by the document. Fatal problems end reading with a [`ReadError`]; everything else becomes a
//! [`Diagnostic`] collected by [`EpcisReader::take_diagnostics`] while reading continues.

mod cursor;
mod event;
mod header;
mod json;
mod lists;
pub(crate) mod order;
mod source;

use std::io::BufRead;

use cursor::{Cursor, Ns, Tok};

use super::diagnostics::{rules, Diagnostic, Rule};
use super::model::{DocumentKind, DocumentStart, EpcisVersion, Header, Item, Position, Timestamp};
use super::values;
use super::Limits;

/// A fatal error: reading stops. `code` is a stable rule id (`EPCIS-X-…`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} at {line}:{column}: {message}")]
pub struct ReadError {
    pub code: &'static str,
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// What a document body is, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// Anything else: given to the XML reader (which says what is wrong with it, if anything).
    Xml,
    /// Starts with `{` or `[` after an optional UTF-8 BOM and whitespace: JSON, read as EPCIS
    /// 2.0 JSON-LD.
    Json,
}

/// Tells JSON from XML by the first non-whitespace byte after an optional UTF-8 BOM. The one
/// place that decides it: [`EpcisReader::new`] picks the JSON-LD or the XML reader with it.
pub fn detect_format(first_bytes: &[u8]) -> BodyFormat {
    let b = first_bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(first_bytes);
    match b.iter().find(|c| !c.is_ascii_whitespace()) {
        Some(b'{' | b'[') => BodyFormat::Json,
        _ => BodyFormat::Xml,
    }
}

/// The message for a JSON body (EPCIS-X-013), the same from every entry point.
pub const JSON_BODY_MESSAGE: &str = "the document is JSON, not XML: it is read by the JSON-LD reader (epcis::EpcisReader chooses it by the first bytes), not by the XML reader";

/// Streaming reader of an EPCIS document in any binding we accept: EPCIS 1.2 / 2.0 XML (and
/// master-data documents) or EPCIS 2.0 JSON-LD, chosen by content ([`detect_format`] on the
/// first buffered bytes), never by a file name or media type. Both yield the same items,
/// model, findings and event hashes for the same content.
pub struct EpcisReader<R: BufRead> {
    inner: Binding<R>,
}

enum Binding<R: BufRead> {
    Xml(Box<XmlReader<R>>),
    Json(Box<json::JsonReader<R>>),
}

impl<R: BufRead> EpcisReader<R> {
    pub fn new(mut input: R, limits: Limits) -> Self {
        // An input that cannot be read is left to the XML reader, which reports it.
        let format = match input.fill_buf() {
            Ok(b) => detect_format(b),
            Err(_) => BodyFormat::Xml,
        };
        let inner = match format {
            BodyFormat::Json => Binding::Json(Box::new(json::JsonReader::new(input, limits))),
            BodyFormat::Xml => Binding::Xml(Box::new(XmlReader::new(input, limits))),
        };
        EpcisReader { inner }
    }

    /// The binding being read.
    pub fn format(&self) -> BodyFormat {
        match self.inner {
            Binding::Xml(_) => BodyFormat::Xml,
            Binding::Json(_) => BodyFormat::Json,
        }
    }

    /// Events with more than `options.after` EPC references write the rest of their lists to
    /// a temporary file in `options.dir` ([`crate::epcis::Event::spilled`]), and the hash sorts
    /// their canonical forms on disk: memory stays bounded for events of any size.
    pub fn spill_to(mut self, options: super::spill::SpillOptions) -> Self {
        self.inner = match self.inner {
            Binding::Xml(x) => Binding::Xml(Box::new(x.spill_to(options))),
            Binding::Json(mut j) => {
                j.spill_to(options);
                Binding::Json(j)
            }
        };
        self
    }

    /// Turn the CBV 2.0 event hash on (default) or off. When on, every event's `hash_id` is set.
    pub fn with_hashing(mut self, on: bool) -> Self {
        self.inner = match self.inner {
            Binding::Xml(x) => Binding::Xml(Box::new(x.with_hashing(on))),
            Binding::Json(mut j) => {
                j.with_hashing(on);
                Binding::Json(j)
            }
        };
        self
    }

    /// Non-fatal findings since the last call.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        match &mut self.inner {
            Binding::Xml(x) => x.take_diagnostics(),
            Binding::Json(j) => j.take_diagnostics(),
        }
    }

    /// Bytes read from the input so far.
    pub fn bytes_read(&self) -> u64 {
        match &self.inner {
            Binding::Xml(x) => x.bytes_read(),
            Binding::Json(j) => j.bytes_read(),
        }
    }

    /// Events returned so far.
    pub fn event_count(&self) -> u64 {
        match &self.inner {
            Binding::Xml(x) => x.event_count(),
            Binding::Json(j) => j.event_count(),
        }
    }

    /// Total capacity of the reader's reusable buffers, in bytes. Stays flat however many
    /// events a document has (checked by a test).
    pub fn buffer_footprint(&self) -> usize {
        match &self.inner {
            Binding::Xml(x) => x.buffer_footprint(),
            Binding::Json(j) => j.buffer_footprint(),
        }
    }

    /// Next item in document order; `Ok(None)` after [`Item::End`] or after an error.
    pub fn next_item(&mut self) -> Result<Option<Item>, ReadError> {
        match &mut self.inner {
            Binding::Xml(x) => x.next_item(),
            Binding::Json(j) => j.next_item(),
        }
    }
}

/// Where the reader is in the document tree (one entry per open container element).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Children of the root element.
    Top,
    Header,
    /// `EPCISHeader/extension`.
    HeaderExtension,
    MasterData,
    VocabularyList,
    Body,
    EventList,
    /// 1.2 `EventList/extension` (`EPCISEventListExtensionType`: TransformationEvent or
    /// another `extension`).
    EventListExtension,
    /// 1.2 `EventList/extension/extension` (`EPCISEventListExtension2Type`, a `##local`
    /// wildcard): events found there (AssociationEvent) are read, anything else is skipped.
    EventListWildcard,
}

/// The streaming XML reader; see the module documentation.
pub(crate) struct XmlReader<R: BufRead> {
    cur: Cursor<R>,
    limits: Limits,
    stack: Vec<State>,
    started: bool,
    finished: bool,
    version: EpcisVersion,
    kind: DocumentKind,
    header: Option<Header>,
    diagnostics: Vec<Diagnostic>,
    dropped_diagnostics: u64,
    event_count: u64,
    /// Index of the event being read (for diagnostics).
    current_event: Option<u64>,
    /// The EPC lists of the event being read (count, spill, canonical forms, hash).
    epcs: lists::EventEpcs,
    /// Reused text buffer.
    scratch: String,
}

impl<R: BufRead> XmlReader<R> {
    pub fn new(input: R, limits: Limits) -> Self {
        XmlReader {
            epcs: lists::EventEpcs::new(limits.max_epcs_per_event),
            cur: Cursor::new(input, &limits),
            limits,
            stack: Vec::with_capacity(8),
            started: false,
            finished: false,
            version: EpcisVersion::V1,
            kind: DocumentKind::EpcisDocument,
            header: None,
            diagnostics: Vec::new(),
            dropped_diagnostics: 0,
            event_count: 0,
            current_event: None,
            scratch: String::with_capacity(256),
        }
    }

    /// Events with more than `options.after` EPC references write the rest of their lists to
    /// a temporary file in `options.dir` ([`crate::epcis::Event::spilled`]), and the hash sorts
    /// their canonical forms on disk: memory stays bounded for events of any size.
    pub fn spill_to(mut self, options: super::spill::SpillOptions) -> Self {
        self.epcs.spill_options = Some(options);
        self
    }

    /// Turn the CBV 2.0 event hash on (default) or off. When on, every event's `hash_id` is set.
    pub fn with_hashing(mut self, on: bool) -> Self {
        self.epcs.hashing = on;
        self
    }

    /// Non-fatal findings since the last call.
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        if self.dropped_diagnostics > 0 {
            let n = std::mem::take(&mut self.dropped_diagnostics);
            let (line, column) = (self.cur.pos.line, self.cur.pos.column);
            self.diagnostics.push(Diagnostic::new(
                &rules::DIAGNOSTICS_TRUNCATED,
                line,
                column,
                None,
                format!(
                    "{n} further findings were dropped (limit {} per batch)",
                    self.limits.max_diagnostics
                ),
            ));
        }
        std::mem::take(&mut self.diagnostics)
    }

    /// Bytes read from the input so far.
    pub fn bytes_read(&self) -> u64 {
        self.cur.bytes_read()
    }

    /// Events returned so far.
    pub fn event_count(&self) -> u64 {
        self.event_count
    }

    /// Total capacity of the reader's reusable buffers, in bytes. Stays flat however many
    /// events a document has (checked by a test).
    pub fn buffer_footprint(&self) -> usize {
        self.cur.buffer_capacities()
            + self.scratch.capacity()
            + self.stack.capacity()
            + self.epcs.footprint()
    }

    /// Next item in document order; `Ok(None)` after [`Item::End`] or after an error.
    pub fn next_item(&mut self) -> Result<Option<Item>, ReadError> {
        if self.finished {
            return Ok(None);
        }
        match self.step() {
            Ok(item) => {
                if matches!(item, None | Some(Item::End)) {
                    self.finished = true;
                }
                Ok(item)
            }
            Err(e) => {
                self.finished = true;
                Err(e)
            }
        }
    }

    pub(crate) fn diag(&mut self, rule: &Rule, pos: Position, message: String) {
        if self.diagnostics.len() >= self.limits.max_diagnostics {
            self.dropped_diagnostics += 1;
            return;
        }
        self.diagnostics.push(Diagnostic::new(
            rule,
            pos.line,
            pos.column,
            self.current_event,
            message,
        ));
    }

    fn step(&mut self) -> Result<Option<Item>, ReadError> {
        if !self.started {
            return self.read_root().map(Some);
        }
        loop {
            let Some(&state) = self.stack.last() else {
                return Ok(Some(Item::End));
            };
            match self.cur.next_tok()? {
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::End => {
                    self.stack.pop();
                    match state {
                        State::Header => {
                            let header = self.header.take().unwrap_or_default();
                            self.header_checks(header.position, header.sbdh.is_some());
                            return Ok(Some(Item::Header(Box::new(header))));
                        }
                        State::Top => return Ok(Some(Item::End)),
                        _ => {}
                    }
                }
                Tok::Start => {
                    if let Some(item) = self.start_in(state)? {
                        return Ok(Some(item));
                    }
                }
            }
        }
    }

    /// A start tag inside a container in `state`.
    fn start_in(&mut self, state: State) -> Result<Option<Item>, ReadError> {
        let pos = self.cur.pos;
        let unqualified = self.cur.ns == Ns::None;
        let is = |name: &str, cur: &Cursor<R>| unqualified && cur.local == name;
        match state {
            State::Top => {
                if is("EPCISHeader", &self.cur) {
                    self.cur.item_elements = 0;
                    self.header = Some(Header {
                        position: pos,
                        ..Header::default()
                    });
                    self.stack.push(State::Header);
                } else if is("EPCISBody", &self.cur) {
                    self.stack.push(State::Body);
                } else if is("extension", &self.cur) || !unqualified {
                    self.cur.skip_element()?;
                } else {
                    self.skip_unexpected(pos, "the document root")?;
                }
            }
            State::Header => {
                if self.cur.ns == Ns::Sbdh && self.cur.local == "StandardBusinessDocumentHeader" {
                    let sbdh = self.read_sbdh()?;
                    if let Some(h) = self.header.as_mut() {
                        h.sbdh = Some(sbdh);
                    }
                } else if is("extension", &self.cur) {
                    self.stack.push(State::HeaderExtension);
                } else if unqualified {
                    self.skip_unexpected(pos, "EPCISHeader")?;
                } else {
                    self.read_header_extension()?;
                }
            }
            State::HeaderExtension => {
                if is("EPCISMasterData", &self.cur) {
                    self.stack.push(State::MasterData);
                } else if is("extension", &self.cur) {
                    // EPCISHeaderExtension2Type: a `##local` wildcard nothing here models.
                    self.cur.skip_element()?;
                } else if unqualified {
                    self.skip_unexpected(pos, "EPCISHeader/extension")?;
                } else {
                    self.read_header_extension()?;
                }
            }
            State::MasterData => {
                if is("VocabularyList", &self.cur) {
                    self.stack.push(State::VocabularyList);
                } else if is("extension", &self.cur) || !unqualified {
                    self.cur.skip_element()?;
                } else {
                    self.skip_unexpected(pos, "EPCISMasterData")?;
                }
            }
            State::VocabularyList => {
                if is("Vocabulary", &self.cur) {
                    self.cur.item_elements = 0;
                    let v = self.read_vocabulary()?;
                    return Ok(Some(Item::MasterData(v)));
                } else if is("extension", &self.cur) || !unqualified {
                    self.cur.skip_element()?;
                } else {
                    self.skip_unexpected(pos, "VocabularyList")?;
                }
            }
            State::Body => {
                if self.kind == DocumentKind::EpcisDocument && is("EventList", &self.cur) {
                    self.stack.push(State::EventList);
                } else if self.kind == DocumentKind::EpcisMasterDataDocument
                    && is("VocabularyList", &self.cur)
                {
                    self.stack.push(State::VocabularyList);
                } else if is("extension", &self.cur) || !unqualified {
                    self.cur.skip_element()?;
                } else if unqualified
                    && super::model::EventType::from_name(&self.cur.local).is_some()
                {
                    self.diag(
                        &rules::EVENT_LOCATION,
                        pos,
                        format!(
                            "`{}` sits directly in EPCISBody; events belong in EPCISBody/EventList",
                            self.cur.local
                        ),
                    );
                    self.cur.skip_element()?;
                } else {
                    self.skip_unexpected(pos, "EPCISBody")?;
                }
            }
            State::EventList | State::EventListExtension | State::EventListWildcard => {
                if unqualified {
                    if let Some(et) = super::model::EventType::from_name(&self.cur.local) {
                        return self.event_in_list(et, state, pos).map(Some);
                    }
                    if self.cur.local == "extension" {
                        if self.version == EpcisVersion::V2 && state == State::EventList {
                            self.diag(
                                &rules::WRONG_VERSION_PLACE,
                                pos,
                                "EventList/extension is an EPCIS 1.2 construct; in 2.0 events are direct children of EventList".into(),
                            );
                        }
                        self.stack.push(match state {
                            State::EventList => State::EventListExtension,
                            _ => State::EventListWildcard,
                        });
                        return Ok(None);
                    }
                    if state == State::EventListWildcard {
                        // Unqualified content of the wildcard: valid, and nothing to read.
                        self.cur.skip_element()?;
                        return Ok(None);
                    }
                    self.skip_unexpected(pos, "EventList")?;
                } else {
                    self.cur.skip_element()?;
                }
            }
        }
        Ok(None)
    }

    fn event_in_list(
        &mut self,
        et: super::model::EventType,
        state: State,
        pos: Position,
    ) -> Result<Item, ReadError> {
        use super::model::EventType as T;
        if self.version == EpcisVersion::V1
            && state == State::EventList
            && matches!(et, T::Transformation | T::Association)
        {
            self.diag(
                &rules::WRONG_VERSION_PLACE,
                pos,
                format!(
                    "in EPCIS 1.2 a {} sits inside EventList/extension, not directly in EventList",
                    et.as_str()
                ),
            );
        }
        if self.event_count >= self.limits.max_events {
            return Err(self.cur.error(
                &rules::LIMIT_EVENTS,
                format!(
                    "document has more than the limit of {} events",
                    self.limits.max_events
                ),
            ));
        }
        let ev = self.read_event(et, pos)?;
        self.event_count += 1;
        Ok(Item::Event(ev))
    }

    /// Reports the current element as unexpected `in {context}` and skips it.
    pub(super) fn skip_unexpected(
        &mut self,
        pos: Position,
        context: &str,
    ) -> Result<(), ReadError> {
        let msg = format!("unexpected element `{}` in {context}", self.cur.local);
        self.diag(&rules::UNEXPECTED, pos, msg);
        self.cur.skip_element()
    }

    /// Reads up to and including the root start tag.
    fn read_root(&mut self) -> Result<Item, ReadError> {
        loop {
            match self.cur.next_tok()? {
                Tok::Text => {
                    if detect_format(self.cur.text.as_bytes()) == BodyFormat::Json {
                        return Err(self.cur.error(&rules::JSON_BODY, JSON_BODY_MESSAGE.into()));
                    }
                    if !self.cur.text.trim().is_empty() {
                        return Err(self.cur.error(
                            &rules::XML_SYNTAX,
                            "not well-formed XML: text before the root element".into(),
                        ));
                    }
                }
                Tok::Eof => {
                    return Err(self.cur.error(&rules::ROOT, "the document is empty".into()))
                }
                Tok::End => return Err(self.cur.unexpected_eof()),
                Tok::Start => break,
            }
        }
        self.started = true;
        if let Some(p) = self.cur.empty_doctype.take() {
            self.diag(
                &rules::EMPTY_DOCTYPE,
                p,
                "DOCTYPE without declarations ignored (no internal subset, no external DTD); EPCIS documents need none".into(),
            );
        }
        let pos = self.cur.pos;
        let (version, kind) = match (self.cur.ns, self.cur.local.as_str()) {
            (Ns::Epcis1, "EPCISDocument") => (EpcisVersion::V1, DocumentKind::EpcisDocument),
            (Ns::Epcis2, "EPCISDocument") => (EpcisVersion::V2, DocumentKind::EpcisDocument),
            (Ns::MasterData, "EPCISMasterDataDocument") => {
                (EpcisVersion::V1, DocumentKind::EpcisMasterDataDocument)
            }
            (Ns::MasterData2, "EPCISMasterDataDocument") => {
                (EpcisVersion::V2, DocumentKind::EpcisMasterDataDocument)
            }
            _ => {
                let ns = if self.cur.ns_uri.is_empty() {
                    "no namespace".to_string()
                } else {
                    format!("namespace `{}`", self.cur.ns_uri)
                };
                return Err(self.cur.error(
                    &rules::ROOT,
                    format!(
                        "root element `{}` in {ns} is not an EPCIS document; expected EPCISDocument in urn:epcglobal:epcis:xsd:1 or urn:epcglobal:epcis:xsd:2, or EPCISMasterDataDocument in urn:epcglobal:epcis-masterdata:xsd:1 or :2",
                        self.cur.local
                    ),
                ));
            }
        };
        self.version = version;
        self.kind = kind;
        let schema_version = self.cur.attr("schemaVersion").map(str::to_owned);
        let creation_text = self.cur.attr("creationDate").map(str::to_owned);
        match &schema_version {
            None => self.diag(
                &rules::SCHEMA_VERSION,
                pos,
                "root element has no schemaVersion attribute".into(),
            ),
            Some(v) if !values::is_decimal(v) => self.diag(
                &rules::SCHEMA_VERSION,
                pos,
                format!("schemaVersion `{v}` is not a decimal number such as 1.2 or 2.0"),
            ),
            Some(v) => {
                let major = v.trim_start_matches('+').split('.').next().unwrap_or("");
                let expected = match version {
                    EpcisVersion::V1 => "1",
                    EpcisVersion::V2 => "2",
                };
                if major != expected {
                    self.diag(
                        &rules::VERSION_MISMATCH,
                        pos,
                        format!("schemaVersion `{v}` does not match the root namespace `{}` (expected {expected}.x)", self.cur.ns_uri),
                    );
                }
            }
        }
        let creation_date = match creation_text {
            None => {
                self.diag(
                    &rules::CREATION_DATE,
                    pos,
                    "root element has no creationDate attribute".into(),
                );
                None
            }
            Some(text) => {
                Some(self.timestamp_value(text, "creationDate", pos, &rules::CREATION_DATE))
            }
        };
        self.stack.push(State::Top);
        Ok(Item::DocumentStart(DocumentStart {
            version,
            kind,
            schema_version,
            creation_date,
        }))
    }

    /// Parse a timestamp, reporting `invalid_rule` when it is not an xsd:dateTime and
    /// EPCIS-V-002 when the zone is missing (reject in 2.0, warn in 1.2).
    pub(crate) fn timestamp_value(
        &mut self,
        text: String,
        field: &str,
        pos: Position,
        invalid_rule: &Rule,
    ) -> Timestamp {
        match values::parse_date_time(&text) {
            Ok(p) => {
                if !p.has_zone {
                    let mut rule = rules::DATE_TIME_ZONE;
                    if self.version == EpcisVersion::V1 {
                        rule.severity = super::diagnostics::Severity::Warn;
                    }
                    self.diag(
                        &rule,
                        pos,
                        format!("{field} `{text}` has no time zone; UTC is assumed"),
                    );
                }
                Timestamp {
                    text,
                    value: Some(p.value),
                }
            }
            Err(_) => {
                self.diag(invalid_rule, pos, format!("{field} `{text}` is not a valid xsd:dateTime (YYYY-MM-DDThh:mm:ss[.fff]±hh:mm)"));
                Timestamp { text, value: None }
            }
        }
    }
}
