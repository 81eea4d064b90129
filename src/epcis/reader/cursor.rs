//! Token layer over quick-xml's `NsReader`: namespace-resolved start tags copied into reused
//! buffers, text with the five predefined entities and character references resolved here,
//! DOCTYPE refused, depth and text length limited, and line:column for every token.

use std::io::BufRead;

use quick_xml::events::attributes::AttrError;
use quick_xml::events::Event as XmlEvent;
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use super::super::diagnostics::{rules, Rule};
use super::super::model::{ExtensionElement, Position};
use super::source::{Source, SourceLimit};
use super::ReadError;
use crate::epcis::Limits;

pub(crate) const NS_EPCIS1: &str = "urn:epcglobal:epcis:xsd:1";
pub(crate) const NS_EPCIS2: &str = "urn:epcglobal:epcis:xsd:2";
pub(crate) const NS_MASTERDATA: &str = "urn:epcglobal:epcis-masterdata:xsd:1";
pub(crate) const NS_MASTERDATA2: &str = "urn:epcglobal:epcis-masterdata:xsd:2";
pub(crate) const NS_SBDH: &str =
    "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader";
pub(crate) const NS_GS1USHC: &str = "http://epcis.gs1us.org/hc/ns";
pub(crate) const NS_CBVMDA: &str = "urn:epcglobal:cbv:mda";

/// Namespace of the current start tag, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    /// No namespace: every EPCIS child element (`elementFormDefault="unqualified"`).
    None,
    Epcis1,
    Epcis2,
    MasterData,
    MasterData2,
    Sbdh,
    /// Anything else; the URI is in `Cursor::ns_uri`.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    Start,
    End,
    /// A piece of text (in `Cursor::text`): a text run, CDATA or a resolved reference.
    Text,
    Eof,
}

pub(crate) struct Cursor<R> {
    xml: NsReader<Source<R>>,
    buf: Vec<u8>,
    pub(crate) ns: Ns,
    /// Namespace URI of the current start tag (empty for no namespace).
    pub(crate) ns_uri: String,
    pub(crate) local: String,
    pub(crate) prefix: String,
    /// Attributes of the current start tag: (qualified name, value), xmlns excluded.
    pub(crate) attrs: Vec<(String, String)>,
    attr_count: usize,
    pub(crate) text: String,
    /// Position of the current token.
    pub(crate) pos: Position,
    pub(crate) depth: usize,
    max_depth: usize,
    pub(crate) max_text: usize,
    /// Start tags since the current item (event, header, vocabulary) began.
    pub(crate) item_elements: usize,
    max_elements: usize,
    /// Byte offset where the current token starts.
    pub(crate) tok_start: u64,
    /// The last token was an end tag: quick-xml then sits between markup with nothing
    /// buffered, so [`Cursor::simple_element`] may take bytes from the source directly.
    after_end: bool,
    /// Bytes [`Cursor::simple_element`] consumed behind quick-xml's back; added to the offsets
    /// quick-xml reports.
    skipped: u64,
    /// Where a DOCTYPE that declares nothing was met (accepted; the reader warns).
    pub(crate) empty_doctype: Option<Position>,
    /// A start tag has been read (a DOCTYPE is only accepted before the root).
    root_seen: bool,
}

/// True for a DOCTYPE that declares nothing: `<!DOCTYPE name>` with no internal subset
/// (`[…]`) and no external identifier (`SYSTEM`/`PUBLIC`). `content` is what quick-xml gives:
/// everything between `<!DOCTYPE` plus spaces and the closing `>`.
pub(crate) fn doctype_declares_nothing(content: &str) -> bool {
    let name = content.trim_end_matches([' ', '\t', '\r', '\n']);
    !name.is_empty()
        && name.chars().all(|c| {
            !c.is_whitespace() && !matches!(c, '[' | ']' | '"' | '\'' | '<' | '>' | '%' | '&')
        })
}

impl<R: BufRead> Cursor<R> {
    pub(crate) fn new(input: R, limits: &Limits) -> Self {
        // A token may be a long text value or a start tag with many namespace declarations.
        let max_token = (limits.max_text_len as u64).saturating_add(64 * 1024);
        let mut xml = NsReader::from_reader(Source::new(input, limits.max_bytes, max_token));
        let cfg = xml.config_mut();
        cfg.expand_empty_elements = true;
        cfg.check_end_names = true;
        cfg.trim_text(false);
        Cursor {
            xml,
            buf: Vec::with_capacity(4096),
            ns: Ns::None,
            ns_uri: String::new(),
            local: String::new(),
            prefix: String::new(),
            attrs: Vec::new(),
            attr_count: 0,
            text: String::new(),
            pos: Position { line: 1, column: 1 },
            depth: 0,
            max_depth: limits.max_depth,
            max_text: limits.max_text_len,
            item_elements: 0,
            max_elements: limits.max_elements_per_item,
            tok_start: 0,
            after_end: false,
            skipped: 0,
            empty_doctype: None,
            root_seen: false,
        }
    }

    /// Attributes of the current start tag.
    pub(crate) fn attributes(&self) -> &[(String, String)] {
        &self.attrs[..self.attr_count]
    }

    /// Value of an attribute of the current start tag by local name (any prefix).
    pub(crate) fn attr(&self, local: &str) -> Option<&str> {
        self.attributes()
            .iter()
            .find(|(k, _)| k == local || k.rsplit_once(':').is_some_and(|(_, l)| l == local))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn bytes_read(&self) -> u64 {
        self.xml.get_ref().bytes_read()
    }

    /// Capacities of the internal buffers (for the bounded-memory test).
    pub(crate) fn buffer_capacities(&self) -> usize {
        self.buf.capacity() + self.text.capacity() + self.xml.get_ref().window_capacity()
    }

    pub(crate) fn error(&self, rule: &Rule, message: String) -> ReadError {
        ReadError {
            code: rule.id,
            line: self.pos.line,
            column: self.pos.column,
            message,
        }
    }

    fn error_at(&self, rule: &Rule, offset: u64, message: String) -> ReadError {
        let (line, column) = self.xml.get_ref().line_col(offset);
        ReadError {
            code: rule.id,
            line,
            column,
            message,
        }
    }

    /// Next token. Comments, processing instructions and the XML declaration are skipped.
    pub(crate) fn next_tok(&mut self) -> Result<Tok, ReadError> {
        self.after_end = false;
        loop {
            let start = self.xml.buffer_position() + self.skipped;
            self.xml.get_mut().begin_token(start);
            self.tok_start = start;
            let (line, column) = self.xml.get_ref().line_col(start);
            self.buf.clear();
            let result = self.xml.read_resolved_event_into(&mut self.buf);
            let (ns, ev) = match result {
                Ok(v) => v,
                Err(e) => return Err(self.map_xml_error(e)),
            };
            match ev {
                XmlEvent::Start(s) => {
                    self.root_seen = true;
                    // `pos` tracks start tags: it is what diagnostics point at.
                    self.pos = Position { line, column };
                    self.depth += 1;
                    self.item_elements += 1;
                    if self.item_elements > self.max_elements {
                        return Err(ReadError {
                            code: rules::LIMIT_ELEMENTS.id,
                            line,
                            column,
                            message: format!(
                                "more than {} elements in one event, header or vocabulary",
                                self.max_elements
                            ),
                        });
                    }
                    if self.depth > self.max_depth {
                        return Err(ReadError {
                            code: rules::LIMIT_DEPTH.id,
                            line,
                            column,
                            message: format!(
                                "element nesting deeper than the limit of {} levels",
                                self.max_depth
                            ),
                        });
                    }
                    self.ns_uri.clear();
                    self.ns = match ns {
                        ResolveResult::Bound(n) => {
                            let uri: &str = n.as_ref();
                            self.ns_uri.push_str(uri);
                            match uri {
                                NS_EPCIS1 => Ns::Epcis1,
                                NS_EPCIS2 => Ns::Epcis2,
                                NS_MASTERDATA => Ns::MasterData,
                                NS_MASTERDATA2 => Ns::MasterData2,
                                NS_SBDH => Ns::Sbdh,
                                _ => Ns::Other,
                            }
                        }
                        ResolveResult::Unbound => Ns::None,
                        ResolveResult::Unknown(p) => {
                            return Err(ReadError {
                                code: rules::XML_SYNTAX.id,
                                line,
                                column,
                                message: format!("namespace prefix `{p}` is not declared"),
                            })
                        }
                    };
                    let name = s.name();
                    self.local.clear();
                    self.local.push_str(name.local_name().as_ref());
                    self.prefix.clear();
                    if let Some(p) = name.prefix() {
                        self.prefix.push_str(p.as_ref());
                    }
                    self.attr_count = 0;
                    for a in s.attributes() {
                        let a = match a {
                            Ok(a) => a,
                            Err(e) => {
                                return Err(ReadError {
                                    code: rules::XML_SYNTAX.id,
                                    line,
                                    column,
                                    message: attr_error_message(&e),
                                })
                            }
                        };
                        let key: &str = a.key.as_ref();
                        if key == "xmlns" || key.starts_with("xmlns:") {
                            continue;
                        }
                        let value = match a.normalized_value(XmlVersion::Implicit1_0) {
                            Ok(v) => v,
                            Err(e) => {
                                return Err(ReadError {
                                    code: rules::ENTITY.id,
                                    line,
                                    column,
                                    message: format!("attribute `{key}`: {e} (only &lt; &gt; &amp; &apos; &quot; and character references are allowed)"),
                                })
                            }
                        };
                        if self.attr_count == self.attrs.len() {
                            self.attrs.push((String::new(), String::new()));
                        }
                        let slot = &mut self.attrs[self.attr_count];
                        slot.0.clear();
                        slot.0.push_str(key);
                        slot.1.clear();
                        slot.1.push_str(&value);
                        self.attr_count += 1;
                    }
                    return Ok(Tok::Start);
                }
                XmlEvent::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    self.after_end = true;
                    return Ok(Tok::End);
                }
                XmlEvent::Text(t) => {
                    self.text.clear();
                    self.text.push_str(&t.xml10_content());
                    return Ok(Tok::Text);
                }
                XmlEvent::CData(c) => {
                    self.text.clear();
                    self.text.push_str(&c.xml10_content());
                    return Ok(Tok::Text);
                }
                XmlEvent::GeneralRef(r) => {
                    let name: &str = &r;
                    let ch = if r.is_char_ref() {
                        match r.resolve_char_ref() {
                            Ok(Some(c)) if is_xml_char(c) => c,
                            _ => {
                                return Err(ReadError {
                                    code: rules::ENTITY.id,
                                    line,
                                    column,
                                    message: format!(
                                        "`&{name};` is not a valid XML character reference"
                                    ),
                                })
                            }
                        }
                    } else {
                        match name {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "apos" => '\'',
                            "quot" => '"',
                            _ => {
                                return Err(ReadError {
                                    code: rules::ENTITY.id,
                                    line,
                                    column,
                                    message: format!("entity reference `&{name};` is not allowed: only the five predefined entities and character references are resolved, entity declarations are refused"),
                                })
                            }
                        }
                    };
                    self.text.clear();
                    self.text.push(ch);
                    return Ok(Tok::Text);
                }
                XmlEvent::DocType(d) => {
                    // Nothing declared, so nothing to expand or fetch: harmless (GS1's own
                    // example files carry one). Every other DOCTYPE stays refused.
                    if !self.root_seen
                        && self.empty_doctype.is_none()
                        && doctype_declares_nothing(&d)
                    {
                        self.empty_doctype = Some(Position { line, column });
                        continue;
                    }
                    return Err(ReadError {
                        code: rules::DOCTYPE.id,
                        line,
                        column,
                        message: "DOCTYPE declarations are refused (they enable entity expansion and external entity attacks); EPCIS documents do not use them".into(),
                    });
                }
                XmlEvent::Eof => return Ok(Tok::Eof),
                XmlEvent::Empty(_) | XmlEvent::Comment(_) | XmlEvent::PI(_) | XmlEvent::Decl(_) => {
                }
            }
        }
    }

    fn map_xml_error(&self, e: quick_xml::Error) -> ReadError {
        if let quick_xml::Error::Io(_) = &e {
            match self.xml.get_ref().limit_hit {
                Some(SourceLimit::Bytes) => {
                    return self.error(
                        &rules::LIMIT_BYTES,
                        format!(
                            "document is larger than the limit of {} bytes",
                            self.xml.get_ref().bytes_read()
                        ),
                    )
                }
                Some(SourceLimit::Token) => {
                    return self.error(
                        &rules::LIMIT_TEXT,
                        format!(
                            "a text value or tag is longer than the limit of {} bytes",
                            self.max_text
                        ),
                    )
                }
                None => return self.error(&rules::IO, format!("input could not be read: {e}")),
            }
        }
        let offset = self.xml.error_position() + self.skipped;
        let rule = match &e {
            quick_xml::Error::Escape(_) => &rules::ENTITY,
            _ => &rules::XML_SYNTAX,
        };
        self.error_at(rule, offset, format!("not well-formed XML: {e}"))
    }

    /// Fast path for the items of a list (`<epc>` in an EPC list), which are most of a large
    /// document: right after an end tag, takes optional whitespace and an unqualified
    /// `<name>value</name>` without attributes straight from the buffered input and returns
    /// the value, with the effects reading those tokens would have (`pos`, `local`, element
    /// count; depth goes up and down again). Only a value of printable ASCII without `<` `>`
    /// `&` `]` qualifies: XML gives it no meaning beyond its bytes (no references, line ends
    /// or trimming). Anything else, a limit about to be reached, or an element crossing the
    /// end of the buffered input returns `Ok(None)` having consumed nothing, and the caller
    /// reads tokens as usual. The caller's element must have no default namespace in scope
    /// (true inside an EPC list: its own unqualified name resolved to no namespace).
    pub(crate) fn simple_element(&mut self, name: &str) -> Result<Option<String>, ReadError> {
        if !self.after_end
            || self.item_elements >= self.max_elements
            || self.depth >= self.max_depth
        {
            return Ok(None);
        }
        let base = self.xml.buffer_position() + self.skipped;
        let max_text = self.max_text;
        let src = self.xml.get_mut();
        debug_assert_eq!(base, src.bytes_read());
        src.begin_token(base);
        let buf = loop {
            match src.fill_buf() {
                Ok(b) => break b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // The token path would meet the same error: report it the same way.
                Err(e) => return Err(self.map_xml_error(quick_xml::Error::from(e))),
            }
        };
        let Some((lt, value, end)) = match_simple_element(buf, name.as_bytes(), max_text) else {
            return Ok(None);
        };
        let value = value.to_owned();
        src.consume(end);
        let (line, column) = src.line_col(base + lt as u64);
        self.skipped += end as u64;
        self.tok_start = base + (end - name.len() - 3) as u64;
        self.pos = Position { line, column };
        self.item_elements += 1;
        self.ns = Ns::None;
        self.ns_uri.clear();
        self.prefix.clear();
        self.attr_count = 0;
        if self.local != name {
            self.local.clear();
            self.local.push_str(name);
        }
        Ok(Some(value))
    }

    /// After a start tag: collect the element's text (trimmed) into `out`, skipping child
    /// elements. Returns true when child elements were present.
    pub(crate) fn read_text_into(&mut self, out: &mut String) -> Result<bool, ReadError> {
        out.clear();
        let mut had_children = false;
        loop {
            match self.next_tok()? {
                Tok::Text => {
                    if out.len() + self.text.len() > self.max_text {
                        return Err(self.error(
                            &rules::LIMIT_TEXT,
                            format!(
                                "text value longer than the limit of {} bytes",
                                self.max_text
                            ),
                        ));
                    }
                    out.push_str(&self.text);
                }
                Tok::Start => {
                    had_children = true;
                    self.skip_element()?;
                }
                Tok::End => break,
                Tok::Eof => return Err(self.unexpected_eof()),
            }
        }
        trim_in_place(out);
        Ok(had_children)
    }

    /// After a start tag: skip to its end tag.
    pub(crate) fn skip_element(&mut self) -> Result<(), ReadError> {
        let target = self.depth - 1;
        loop {
            match self.next_tok()? {
                Tok::End if self.depth == target => return Ok(()),
                Tok::Eof => return Err(self.unexpected_eof()),
                _ => {}
            }
        }
    }

    pub(crate) fn unexpected_eof(&self) -> ReadError {
        self.error(
            &rules::XML_SYNTAX,
            "not well-formed XML: unexpected end of document".into(),
        )
    }

    /// After a start tag: read the whole element as an [`ExtensionElement`] tree.
    pub(crate) fn read_any(&mut self) -> Result<ExtensionElement, ReadError> {
        let mut root = self.current_as_element();
        let mut stack: Vec<ExtensionElement> = Vec::new();
        let mut cur = std::mem::take(&mut root);
        loop {
            match self.next_tok()? {
                Tok::Start => {
                    let child = self.current_as_element();
                    stack.push(std::mem::replace(&mut cur, child));
                }
                Tok::Text => {
                    if cur.text.len() + self.text.len() > self.max_text {
                        return Err(self.error(
                            &rules::LIMIT_TEXT,
                            format!(
                                "text value longer than the limit of {} bytes",
                                self.max_text
                            ),
                        ));
                    }
                    cur.text.push_str(&self.text);
                }
                Tok::End => {
                    trim_in_place(&mut cur.text);
                    match stack.pop() {
                        Some(mut parent) => {
                            parent.children.push(cur);
                            cur = parent;
                        }
                        None => return Ok(cur),
                    }
                }
                Tok::Eof => return Err(self.unexpected_eof()),
            }
        }
    }

    /// The current start tag as an element without content.
    pub(crate) fn current_as_element(&self) -> ExtensionElement {
        ExtensionElement {
            namespace: self.ns_uri.clone(),
            prefix: self.prefix.clone(),
            local_name: self.local.clone(),
            attributes: self.attributes().to_vec(),
            text: String::new(),
            children: Vec::new(),
        }
    }
}

/// Byte classes for [`match_simple_element`] (a table: this runs over most of a document).
const SPACE: u8 = 1;
/// Allowed in a fast-path value: printable ASCII except `<` `>` `&` `]`.
const PLAIN: u8 = 2;
const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b as u8 {
            b' ' | b'\t' | b'\n' | b'\r' => SPACE,
            b'<' | b'>' | b'&' | b']' => 0,
            0x21..=0x7e => PLAIN,
            _ => 0,
        };
        b += 1;
    }
    t
};

/// `WS* <name>value</name>` at the start of `bytes`, with a value as
/// [`Cursor::simple_element`] allows: (offset of `<`, value, bytes taken).
fn match_simple_element<'a>(
    bytes: &'a [u8],
    name: &[u8],
    max_text: usize,
) -> Option<(usize, &'a str, usize)> {
    let lt = bytes.iter().position(|&b| CLASS[b as usize] != SPACE)?;
    let rest = &bytes[lt..];
    let open = rest
        .strip_prefix(b"<")?
        .strip_prefix(name)?
        .strip_prefix(b">")?;
    let len = open.iter().position(|&b| CLASS[b as usize] != PLAIN)?;
    if len == 0 || len > max_text {
        return None;
    }
    let close = open[len..]
        .strip_prefix(b"</")?
        .strip_prefix(name)?
        .strip_prefix(b">")?;
    // Printable ASCII only, so this cannot fail.
    let value = std::str::from_utf8(&open[..len]).ok()?;
    Some((lt, value, bytes.len() - close.len()))
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn attr_error_message(e: &AttrError) -> String {
    format!("not well-formed XML: bad attribute: {e}")
}

/// Trim XML whitespace in place without reallocating.
pub(crate) fn trim_in_place(s: &mut String) {
    let is_ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let end = s.trim_end_matches(is_ws).len();
    s.truncate(end);
    let start = s.len() - s.trim_start_matches(is_ws).len();
    if start > 0 {
        s.drain(..start);
    }
}
