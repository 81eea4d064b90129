//! Streaming reader for EPCIS 2.0 JSON-LD documents (`EPCISDocument`, `EPCISQueryDocument`):
//! the same [`Item`]s, model and findings as the XML reader, one event at a time.
//!
//! The document is walked with a pull tokenizer (`lexer`), never deserialized whole: the
//! frame (context, pseudo-SBDH, header, master data, body) is a stack of open objects, each
//! event is read member by member into the model, and its EPC lists go through the same
//! [`EventEpcs`] as in XML (one parse per EPC, spilled to disk past the threshold), so memory
//! is bounded by one event's fields without its lists, whatever the document or event size.
//!
//! Findings name the JSON path and line:column (`epcisBody.eventList[3].epcList[7]`). Fields
//! are read in any order within an object, as JSON allows, with one exception a streaming
//! reader needs: `@context` must come before the members that use its prefixes (every producer
//! writes it first); `type`, `schemaVersion` and `creationDate` may come anywhere.

mod context;
mod event;
pub(crate) mod lexer;
mod values;

use std::collections::VecDeque;
use std::io::BufRead;

use super::header::header_extension;
use super::lists::EventEpcs;
use super::ReadError;
use crate::epcis::diagnostics::{rules, Diagnostic, Rule};
use crate::epcis::model::{
    DocumentKind, DocumentStart, EpcisVersion, Header, Item, MasterDataAttribute, Partner,
    Position, Sbdh, Timestamp, Vocabulary, VocabularyElement,
};
use crate::epcis::spill::SpillOptions;
use crate::epcis::{values as v, Limits};
use context::Context;
use lexer::{Kind, LexError, LexErrorKind, Lexer, Value};

/// Where the reader is: one entry per open object or array of the document's frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Top,
    Header,
    MasterData,
    VocabularyList,
    Body,
    QueryResults,
    ResultsBody,
    EventList,
}

pub(crate) struct JsonReader<R: BufRead> {
    lex: Lexer<R>,
    limits: Limits,
    /// Open frames, each with "no member/element read yet".
    stack: Vec<(Frame, bool)>,
    started: bool,
    finished: bool,
    pending: VecDeque<Item>,
    ctx: Context,
    kind: Option<DocumentKind>,
    schema_version: Option<String>,
    creation_date: Option<Timestamp>,
    start_sent: bool,
    header: Option<Header>,
    header_sent: bool,
    vocabularies: usize,
    diagnostics: Vec<Diagnostic>,
    dropped_diagnostics: u64,
    event_count: u64,
    /// Events of the list seen (read or refused), for paths.
    list_index: u64,
    /// Index of the event being read (for diagnostics).
    current_event: Option<u64>,
    /// Path of the event list (`epcisBody.eventList` or the query document's).
    list_path: &'static str,
    epcs: EventEpcs,
}

impl<R: BufRead> JsonReader<R> {
    pub(crate) fn new(input: R, limits: Limits) -> Self {
        JsonReader {
            lex: Lexer::new(
                input,
                limits.max_depth,
                limits.max_text_len,
                limits.max_bytes,
            ),
            epcs: EventEpcs::new(limits.max_epcs_per_event),
            limits,
            stack: Vec::with_capacity(8),
            started: false,
            finished: false,
            pending: VecDeque::new(),
            ctx: Context::default(),
            kind: None,
            schema_version: None,
            creation_date: None,
            start_sent: false,
            header: None,
            header_sent: false,
            vocabularies: 0,
            diagnostics: Vec::new(),
            dropped_diagnostics: 0,
            event_count: 0,
            list_index: 0,
            current_event: None,
            list_path: "epcisBody.eventList",
        }
    }

    pub(crate) fn spill_to(&mut self, options: SpillOptions) {
        self.epcs.spill_options = Some(options);
    }

    pub(crate) fn with_hashing(&mut self, on: bool) {
        self.epcs.hashing = on;
    }

    pub(crate) fn bytes_read(&self) -> u64 {
        self.lex.bytes_read()
    }

    pub(crate) fn event_count(&self) -> u64 {
        self.event_count
    }

    pub(crate) fn buffer_footprint(&self) -> usize {
        self.lex.footprint() + self.stack.capacity() + self.epcs.footprint()
    }

    pub(crate) fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        if self.dropped_diagnostics > 0 {
            let n = std::mem::take(&mut self.dropped_diagnostics);
            let pos = self.lex.pos();
            self.diagnostics.push(Diagnostic::new(
                &rules::DIAGNOSTICS_TRUNCATED,
                pos.line,
                pos.column,
                None,
                format!(
                    "{n} further findings were dropped (limit {} per batch)",
                    self.limits.max_diagnostics
                ),
            ));
        }
        std::mem::take(&mut self.diagnostics)
    }

    /// A finding at `pos` about the value at `path` (empty: the document).
    fn diag(&mut self, rule: &Rule, pos: Position, path: &str, message: String) {
        if self.diagnostics.len() >= self.limits.max_diagnostics {
            self.dropped_diagnostics += 1;
            return;
        }
        let message = if path.is_empty() {
            message
        } else {
            format!("at {path}: {message}")
        };
        self.diagnostics.push(Diagnostic::new(
            rule,
            pos.line,
            pos.column,
            self.current_event,
            message,
        ));
    }

    /// A lexer error as a fatal read error, with the path it happened in.
    fn fatal(&self, e: LexError, path: &str) -> ReadError {
        let code = match e.kind {
            LexErrorKind::Syntax | LexErrorKind::Eof => rules::JSON_SYNTAX.id,
            LexErrorKind::Depth => rules::LIMIT_DEPTH.id,
            LexErrorKind::Text => rules::LIMIT_TEXT.id,
            LexErrorKind::Bytes => rules::LIMIT_BYTES.id,
            LexErrorKind::Io => rules::IO.id,
        };
        let code = if e.kind == LexErrorKind::Text && e.message.contains("JSON values") {
            rules::LIMIT_ELEMENTS.id
        } else {
            code
        };
        let message = if path.is_empty() {
            e.message
        } else {
            format!("{} (in {path})", e.message)
        };
        ReadError {
            code,
            line: e.pos.line,
            column: e.pos.column,
            message,
        }
    }

    fn error(&self, rule: &Rule, pos: Position, message: String) -> ReadError {
        ReadError {
            code: rule.id,
            line: pos.line,
            column: pos.column,
            message,
        }
    }

    /// Reports a value of the wrong JSON type and skips it.
    fn wrong_type(&mut self, path: &str, expected: &str) -> Result<(), ReadError> {
        let pos = self.lex.pos();
        let found = self.lex.peek_kind().map_err(|e| self.fatal(e, path))?;
        self.diag(
            &rules::JSON_TYPE,
            pos,
            path,
            format!(
                "expected {expected}, found {} (EPCIS 2.0 JSON schema)",
                found.name()
            ),
        );
        self.lex.skip_value().map_err(|e| self.fatal(e, path))
    }

    /// A string member; anything else is reported and skipped (`None`).
    fn string_at(&mut self, path: &str) -> Result<Option<String>, ReadError> {
        match self.lex.peek_kind().map_err(|e| self.fatal(e, path))? {
            Kind::String => self.lex.string().map(Some).map_err(|e| self.fatal(e, path)),
            _ => self.wrong_type(path, "a string").map(|()| None),
        }
    }

    /// A whole value (bounded by the per-item element limit).
    fn value_at(&mut self, path: &str) -> Result<Value, ReadError> {
        self.lex
            .value(self.limits.max_elements_per_item)
            .map_err(|e| self.fatal(e, path))
    }

    pub(crate) fn timestamp(
        &mut self,
        text: String,
        field: &str,
        pos: Position,
        path: &str,
    ) -> Timestamp {
        match v::parse_date_time(&text) {
            Ok(p) => {
                if !p.has_zone {
                    self.diag(
                        &rules::DATE_TIME_ZONE,
                        pos,
                        path,
                        format!("{field} `{text}` has no time zone; UTC is assumed"),
                    );
                }
                Timestamp {
                    text,
                    value: Some(p.value),
                }
            }
            Err(_) => {
                self.diag(
                    &rules::DATE_TIME,
                    pos,
                    path,
                    format!("{field} `{text}` is not a valid xsd:dateTime (YYYY-MM-DDThh:mm:ss[.fff]±hh:mm)"),
                );
                Timestamp { text, value: None }
            }
        }
    }

    pub(crate) fn next_item(&mut self) -> Result<Option<Item>, ReadError> {
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

    fn step(&mut self) -> Result<Option<Item>, ReadError> {
        if !self.started {
            self.started = true;
            self.lex.skip_bom().map_err(|e| self.fatal(e, ""))?;
            match self.lex.peek_kind().map_err(|e| self.fatal(e, ""))? {
                Kind::Object => {}
                k => {
                    let pos = self.lex.pos();
                    return Err(self.error(
                        &rules::ROOT,
                        pos,
                        format!("the document is {}, not an EPCIS 2.0 JSON-LD document (one object with \"type\": \"EPCISDocument\"); send one document per request", k.name()),
                    ));
                }
            }
            self.lex.begin_object().map_err(|e| self.fatal(e, ""))?;
            self.stack.push((Frame::Top, true));
        }
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(Some(item));
            }
            let Some(&(frame, first)) = self.stack.last() else {
                return Ok(None);
            };
            if let Some(top) = self.stack.last_mut() {
                top.1 = false;
            }
            match frame {
                Frame::EventList => {
                    let path = self.list_path;
                    if !self
                        .lex
                        .next_element(first)
                        .map_err(|e| self.fatal(e, path))?
                    {
                        self.stack.pop();
                        continue;
                    }
                    if let Some(item) = self.event_in_list()? {
                        return Ok(Some(item));
                    }
                }
                Frame::VocabularyList => {
                    let path = "epcisHeader.epcisMasterData.vocabularyList";
                    if !self
                        .lex
                        .next_element(first)
                        .map_err(|e| self.fatal(e, path))?
                    {
                        self.stack.pop();
                        continue;
                    }
                    let index = self.vocabularies;
                    self.vocabularies += 1;
                    if let Some(v) = self.vocabulary(index)? {
                        return Ok(Some(Item::MasterData(v)));
                    }
                }
                _ => {
                    let path = frame_path(frame);
                    let key = self.lex.next_key(first).map_err(|e| self.fatal(e, path))?;
                    match key {
                        None => {
                            self.stack.pop();
                            if frame == Frame::Top {
                                self.end_of_document()?;
                            }
                        }
                        Some(key) => self.member(frame, key)?,
                    }
                }
            }
        }
    }

    /// One member of an object of the frame.
    fn member(&mut self, frame: Frame, key: String) -> Result<(), ReadError> {
        let pos = self.lex.value_pos().map_err(|e| self.fatal(e, &key))?;
        let path = match frame_path(frame) {
            "" => key.clone(),
            p => format!("{p}.{key}"),
        };
        match (frame, key.as_str()) {
            (Frame::Top, "@context") => {
                let v = self.value_at(&path)?;
                for w in self.ctx.add(&v) {
                    self.diag(&rules::JSON_CONTEXT, pos, &path, w);
                }
            }
            (Frame::Top, "type") => {
                if let Some(t) = self.string_at(&path)? {
                    let kind = match t.as_str() {
                        "EPCISDocument" => DocumentKind::EpcisDocument,
                        "EPCISQueryDocument" => DocumentKind::EpcisQueryDocument,
                        _ => return Err(self.error(&rules::ROOT, pos, format!("document type `{t}` is not EPCISDocument or EPCISQueryDocument (EPCIS 2.0 JSON-LD)"))),
                    };
                    if self.start_sent && self.kind != Some(kind) {
                        return Err(self.error(&rules::ROOT, pos, format!("document type `{t}` comes after the body it types; put \"type\" before epcisBody")));
                    }
                    self.kind = Some(kind);
                }
            }
            (Frame::Top, "schemaVersion") => {
                let t = match self.lex.peek_kind().map_err(|e| self.fatal(e, &path))? {
                    // A number (2.0) is read as its text.
                    Kind::String | Kind::Number => {
                        Some(self.lex.scalar().map_err(|e| self.fatal(e, &path))?.text)
                    }
                    _ => {
                        self.wrong_type(&path, "a string such as \"2.0\"")?;
                        None
                    }
                };
                if let Some(t) = t {
                    if !v::is_decimal(&t) {
                        self.diag(
                            &rules::SCHEMA_VERSION,
                            pos,
                            &path,
                            format!("schemaVersion `{t}` is not a decimal number such as 2.0"),
                        );
                    } else if t.trim_start_matches('+').split('.').next() != Some("2") {
                        self.diag(&rules::VERSION_MISMATCH, pos, &path, format!("schemaVersion `{t}` in a JSON-LD document (EPCIS 2.0 only; expected 2.x)"));
                    }
                    self.schema_version = Some(t);
                }
            }
            (Frame::Top, "creationDate") => {
                if let Some(t) = self.string_at(&path)? {
                    self.creation_date = Some(self.timestamp(t, "creationDate", pos, &path));
                }
            }
            (Frame::Top, "sender" | "receiver" | "instanceIdentifier") => {
                if let Some(t) = self.string_at(&path)? {
                    self.pseudo_sbdh(&key, t, pos);
                }
            }
            (Frame::Top, "epcisHeader") => {
                self.send_start();
                if self.header.is_none() {
                    self.header = Some(Header {
                        position: pos,
                        ..Header::default()
                    });
                }
                self.enter(Frame::Header, &path)?;
            }
            (Frame::Top, "epcisBody") => {
                self.send_start();
                self.send_header();
                self.enter(Frame::Body, &path)?;
            }
            (Frame::Header, "epcisMasterData") => self.enter(Frame::MasterData, &path)?,
            (Frame::MasterData, "vocabularyList") => {
                if self.lex.peek_kind().map_err(|e| self.fatal(e, &path))? == Kind::Array {
                    self.lex.begin_array().map_err(|e| self.fatal(e, &path))?;
                    self.stack.push((Frame::VocabularyList, true));
                } else {
                    self.wrong_type(&path, "an array of vocabularies")?;
                }
            }
            (Frame::Body, "eventList") if self.kind != Some(DocumentKind::EpcisQueryDocument) => {
                self.enter_list("epcisBody.eventList")?
            }
            (Frame::Body, "queryResults")
                if self.kind == Some(DocumentKind::EpcisQueryDocument) =>
            {
                self.enter(Frame::QueryResults, &path)?
            }
            (Frame::QueryResults, "resultsBody") => self.enter(Frame::ResultsBody, &path)?,
            (Frame::ResultsBody, "eventList") => {
                self.enter_list("epcisBody.queryResults.resultsBody.eventList")?
            }
            (Frame::QueryResults, "queryName" | "subscriptionID") | (Frame::Top, "id" | "@id") => {
                self.lex.skip_value().map_err(|e| self.fatal(e, &path))?
            }
            (Frame::Header, _) if context::is_qualified(&key) => {
                let v = self.value_at(&path)?;
                match values::element(&self.ctx, &key, &v) {
                    Ok(els) => {
                        for el in els {
                            let h = self.header.get_or_insert_with(Header::default);
                            for (rule, message) in header_extension(h, el) {
                                self.diag(rule, pos, &path, message);
                            }
                        }
                    }
                    Err(p) => self.unknown_prefix(pos, &path, &p),
                }
            }
            // Extension members elsewhere in the frame: nothing models them.
            (_, _) if context::is_qualified(&key) => {
                self.lex.skip_value().map_err(|e| self.fatal(e, &path))?
            }
            _ => {
                let wher = match frame_path(frame) {
                    "" => "the document",
                    p => p,
                };
                let msg = if frame == Frame::Body {
                    match self.kind {
                        Some(DocumentKind::EpcisQueryDocument) => format!("unexpected member `{key}` in {wher}; an EPCISQueryDocument has queryResults.resultsBody.eventList"),
                        _ => format!("unexpected member `{key}` in {wher}; an EPCISDocument has epcisBody.eventList (and \"type\" comes before epcisBody)"),
                    }
                } else {
                    format!("unexpected member `{key}` in {wher}: the EPCIS 2.0 JSON schema has no such member here (extension members are compact IRIs such as `example:myField`, with the prefix in @context)")
                };
                self.diag(&rules::UNEXPECTED, pos, &path, msg);
                self.lex.skip_value().map_err(|e| self.fatal(e, &path))?;
            }
        }
        Ok(())
    }

    fn unknown_prefix(&mut self, pos: Position, path: &str, prefix: &context::UnknownPrefix) {
        self.diag(
            &rules::UNEXPECTED,
            pos,
            path,
            format!(
                "the prefix `{}` is not defined in @context; declare it, e.g. \"@context\": [\"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld\", {{\"{}\": \"https://example.com/ns/\"}}]",
                prefix.0, prefix.0
            ),
        );
    }

    /// Opens an object of the frame (or reports a value of another type and skips it).
    fn enter(&mut self, frame: Frame, path: &str) -> Result<(), ReadError> {
        if self.lex.peek_kind().map_err(|e| self.fatal(e, path))? == Kind::Object {
            self.lex.begin_object().map_err(|e| self.fatal(e, path))?;
            self.stack.push((frame, true));
            Ok(())
        } else {
            self.wrong_type(path, "an object")
        }
    }

    fn enter_list(&mut self, path: &'static str) -> Result<(), ReadError> {
        if self.lex.peek_kind().map_err(|e| self.fatal(e, path))? == Kind::Array {
            self.lex.begin_array().map_err(|e| self.fatal(e, path))?;
            self.list_path = path;
            self.list_index = 0;
            self.stack.push((Frame::EventList, true));
            Ok(())
        } else {
            self.wrong_type(path, "an array of events")
        }
    }

    fn pseudo_sbdh(&mut self, key: &str, value: String, pos: Position) {
        if self.header_sent {
            // The header went to the capture with the body's first event.
            self.diag(
                &rules::ORDER,
                pos,
                key,
                format!("`{key}` comes after epcisBody; the pseudo-SBDH fields (sender, receiver, instanceIdentifier) must come before it, where a streaming reader can use them"),
            );
            return;
        }
        let h = self.header.get_or_insert_with(Header::default);
        let sbdh = h.sbdh.get_or_insert_with(Sbdh::default);
        match key {
            "sender" => sbdh.senders.push(Partner {
                identifier: value,
                ..Partner::default()
            }),
            "receiver" => sbdh.receivers.push(Partner {
                identifier: value,
                ..Partner::default()
            }),
            _ => sbdh.document_identification.instance_identifier = Some(value),
        }
    }

    fn send_start(&mut self) {
        if self.start_sent {
            return;
        }
        self.start_sent = true;
        self.pending.push_back(Item::DocumentStart(DocumentStart {
            version: EpcisVersion::V2,
            kind: self.kind.unwrap_or(DocumentKind::EpcisDocument),
            schema_version: self.schema_version.clone(),
            creation_date: self.creation_date.clone(),
        }));
    }

    fn send_header(&mut self) {
        if self.header_sent {
            return;
        }
        self.header_sent = true;
        if let Some(h) = self.header.take() {
            self.pending.push_back(Item::Header(Box::new(h)));
        }
    }

    fn end_of_document(&mut self) -> Result<(), ReadError> {
        if !self.lex.at_end().map_err(|e| self.fatal(e, ""))? {
            let pos = self.lex.pos();
            return Err(self.error(
                &rules::JSON_SYNTAX,
                pos,
                "text after the end of the document object; send one JSON document".into(),
            ));
        }
        let pos = self.lex.pos();
        if self.kind.is_none() {
            self.diag(
                &rules::REQUIRED,
                pos,
                "",
                "the document has no \"type\" (EPCISDocument or EPCISQueryDocument)".into(),
            );
        }
        if self.schema_version.is_none() {
            self.diag(
                &rules::SCHEMA_VERSION,
                pos,
                "",
                "the document has no schemaVersion".into(),
            );
        }
        if self.creation_date.is_none() {
            self.diag(
                &rules::CREATION_DATE,
                pos,
                "",
                "the document has no creationDate".into(),
            );
        }
        self.send_start();
        self.send_header();
        self.pending.push_back(Item::End);
        Ok(())
    }

    fn event_in_list(&mut self) -> Result<Option<Item>, ReadError> {
        let index = self.list_index;
        self.list_index += 1;
        let path = format!("{}[{index}]", self.list_path);
        if self.event_count >= self.limits.max_events {
            let pos = self.lex.pos();
            return Err(self.error(
                &rules::LIMIT_EVENTS,
                pos,
                format!(
                    "document has more than the limit of {} events",
                    self.limits.max_events
                ),
            ));
        }
        if self.lex.peek_kind().map_err(|e| self.fatal(e, &path))? != Kind::Object {
            self.wrong_type(&path, "an event object")?;
            return Ok(None);
        }
        match self.read_event(&path)? {
            Some(ev) => {
                self.event_count += 1;
                Ok(Some(Item::Event(ev)))
            }
            None => Ok(None),
        }
    }

    /// One vocabulary of the header's master data.
    fn vocabulary(&mut self, index: usize) -> Result<Option<Vocabulary>, ReadError> {
        let path = format!("epcisHeader.epcisMasterData.vocabularyList[{index}]");
        let pos = self.lex.pos();
        self.lex.values = 0;
        let v = self.value_at(&path)?;
        let Value::Object(members, _) = v else {
            self.diag(
                &rules::JSON_TYPE,
                pos,
                &path,
                "expected a vocabulary object".into(),
            );
            return Ok(None);
        };
        let mut voc = Vocabulary {
            position: pos,
            ..Vocabulary::default()
        };
        let mut typed = false;
        for (k, val) in members {
            let p = format!("{path}.{k}");
            match (k.as_str(), val) {
                ("type", Value::Scalar(s, _)) if s.kind == Kind::String => {
                    typed = true;
                    voc.vocabulary_type = s.text;
                }
                ("vocabularyElementList", Value::Array(items, _)) => {
                    for (i, item) in items.into_iter().enumerate() {
                        let p = format!("{p}[{i}]");
                        if let Some(el) = self.vocabulary_element(item, &p) {
                            voc.elements.push(el);
                        }
                    }
                }
                (_, val) if k.starts_with('@') => drop(val),
                (_, val) => {
                    let at = val.position();
                    self.diag(&rules::UNEXPECTED, at, &p, format!("unexpected member `{k}` in a vocabulary (it has type and vocabularyElementList)"));
                }
            }
        }
        if !typed {
            self.diag(
                &rules::VOCABULARY,
                pos,
                &path,
                "vocabulary has no type".into(),
            );
        }
        Ok(Some(voc))
    }

    fn vocabulary_element(&mut self, item: Value, path: &str) -> Option<VocabularyElement> {
        let pos = item.position();
        let Value::Object(members, _) = item else {
            self.diag(
                &rules::JSON_TYPE,
                pos,
                path,
                "expected a vocabulary element object".into(),
            );
            return None;
        };
        let scope = self.ctx.len();
        if let Some((_, c)) = members.iter().find(|(k, _)| k == "@context") {
            for w in self.ctx.add(c) {
                self.diag(&rules::JSON_CONTEXT, pos, path, w);
            }
        }
        let mut el = VocabularyElement::default();
        let mut has_id = false;
        for (k, val) in members {
            let p = format!("{path}.{k}");
            match (k.as_str(), val) {
                ("id", Value::Scalar(s, _)) if s.kind == Kind::String => {
                    has_id = true;
                    el.id = s.text;
                }
                ("attributes", Value::Array(attrs, _)) => {
                    for (i, a) in attrs.into_iter().enumerate() {
                        let p = format!("{p}[{i}]");
                        if let Some(a) = self.attribute(a, &p) {
                            el.attributes.push(a);
                        }
                    }
                }
                ("children", Value::Array(ch, _)) => {
                    for c in ch {
                        match c {
                            Value::Scalar(s, _) if s.kind == Kind::String => {
                                el.children.push(s.text)
                            }
                            other => self.diag(
                                &rules::JSON_TYPE,
                                other.position(),
                                &p,
                                "a child id must be a string".into(),
                            ),
                        }
                    }
                }
                (_, _) if k.starts_with('@') => {}
                (_, val) => {
                    let at = val.position();
                    self.diag(&rules::UNEXPECTED, at, &p, format!("unexpected member `{k}` in a vocabulary element (it has id, attributes and children)"));
                }
            }
        }
        self.ctx.truncate(scope);
        if !has_id {
            self.diag(
                &rules::VOCABULARY,
                pos,
                path,
                "vocabulary element has no id".into(),
            );
        }
        Some(el)
    }

    fn attribute(&mut self, a: Value, path: &str) -> Option<MasterDataAttribute> {
        let pos = a.position();
        let Value::Object(members, _) = a else {
            self.diag(
                &rules::JSON_TYPE,
                pos,
                path,
                "expected an attribute object {\"id\": …, \"attribute\": …}".into(),
            );
            return None;
        };
        let mut out = MasterDataAttribute::default();
        let mut has_id = false;
        for (k, val) in members {
            match (k.as_str(), val) {
                ("id", Value::Scalar(s, _)) if s.kind == Kind::String => {
                    has_id = true;
                    out.id = s.text;
                }
                ("attribute", Value::Scalar(s, _)) => out.value = values::scalar_text(&s),
                ("attribute", Value::Object(m, _)) => {
                    for (ck, cv) in m {
                        if ck.starts_with('@') {
                            continue;
                        }
                        match values::element(&self.ctx, &ck, &cv) {
                            Ok(els) => out.elements.extend(els),
                            Err(p) => self.unknown_prefix(cv.position(), path, &p),
                        }
                    }
                }
                ("attribute", other) => self.diag(
                    &rules::JSON_TYPE,
                    other.position(),
                    path,
                    "an attribute value must be a string, number, boolean or object".into(),
                ),
                _ => {}
            }
        }
        if !has_id {
            self.diag(&rules::VOCABULARY, pos, path, "attribute has no id".into());
        }
        Some(out)
    }
}

fn frame_path(frame: Frame) -> &'static str {
    match frame {
        Frame::Top => "",
        Frame::Header => "epcisHeader",
        Frame::MasterData => "epcisHeader.epcisMasterData",
        Frame::VocabularyList => "epcisHeader.epcisMasterData.vocabularyList",
        Frame::Body => "epcisBody",
        Frame::QueryResults => "epcisBody.queryResults",
        Frame::ResultsBody => "epcisBody.queryResults.resultsBody",
        Frame::EventList => "epcisBody.eventList",
    }
}
