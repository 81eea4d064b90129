//! A pull tokenizer for JSON (RFC 8259) over a `BufRead`: the reader asks for the next
//! member name, array element or scalar, so nothing is ever held but the value being read.
//! Every token knows its line:column; nesting is counted against a depth limit (a deeply
//! nested document is refused, never a stack overflow: skipping and reading values are loops
//! with an explicit stack); strings are bounded by the text limit and taken straight out of
//! the input buffer when they hold no escape.

use std::io::BufRead;

use crate::epcis::model::Position;

/// A syntax or limit error of the JSON text.
#[derive(Debug)]
pub(crate) struct LexError {
    pub(crate) kind: LexErrorKind,
    pub(crate) pos: Position,
    pub(crate) message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LexErrorKind {
    Syntax,
    Eof,
    Depth,
    Text,
    Bytes,
    Io,
}

/// What the next value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Object => "an object",
            Kind::Array => "an array",
            Kind::String => "a string",
            Kind::Number => "a number",
            Kind::Bool => "a boolean",
            Kind::Null => "null",
        }
    }
}

/// A scalar as written: a string's value, or the text of a number, `true`, `false`, `null`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scalar {
    pub(crate) kind: Kind,
    pub(crate) text: String,
}

/// A whole (small) JSON value, for extension members and master-data attributes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Scalar(Scalar, Position),
    Array(Vec<Value>, Position),
    Object(Vec<(String, Value)>, Position),
}

impl Value {
    pub(crate) fn position(&self) -> Position {
        match self {
            Value::Scalar(_, p) | Value::Array(_, p) | Value::Object(_, p) => *p,
        }
    }
}

pub(crate) struct Lexer<R: BufRead> {
    input: R,
    line: u32,
    /// Column of the next byte (1-based, in bytes).
    column: u32,
    bytes: u64,
    depth: usize,
    max_depth: usize,
    max_text: usize,
    max_bytes: u64,
    /// Values read by [`Lexer::value`] since the last reset (bounded by the caller).
    pub(crate) values: usize,
    scratch: Vec<u8>,
}

type Result<T> = std::result::Result<T, LexError>;

impl<R: BufRead> Lexer<R> {
    pub(crate) fn new(input: R, max_depth: usize, max_text: usize, max_bytes: u64) -> Self {
        Lexer {
            input,
            line: 1,
            column: 1,
            bytes: 0,
            depth: 0,
            max_depth,
            max_text,
            max_bytes,
            values: 0,
            scratch: Vec::new(),
        }
    }

    pub(crate) fn pos(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    /// The position of the next value (whitespace before it skipped).
    pub(crate) fn value_pos(&mut self) -> Result<Position> {
        self.peek()?;
        Ok(self.pos())
    }

    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn footprint(&self) -> usize {
        self.scratch.capacity()
    }

    pub(crate) fn error(&self, kind: LexErrorKind, message: impl Into<String>) -> LexError {
        LexError {
            kind,
            pos: self.pos(),
            message: message.into(),
        }
    }

    fn fill(&mut self) -> Result<&[u8]> {
        match self.input.fill_buf() {
            Ok(b) => Ok(b),
            Err(e) => Err(LexError {
                kind: LexErrorKind::Io,
                pos: Position {
                    line: self.line,
                    column: self.column,
                },
                message: format!("the input could not be read: {e}"),
            }),
        }
    }

    fn consume(&mut self, n: usize) -> Result<()> {
        self.input.consume(n);
        self.bytes += n as u64;
        if self.bytes > self.max_bytes {
            return Err(self.error(
                LexErrorKind::Bytes,
                format!(
                    "document is larger than the limit of {} bytes",
                    self.max_bytes
                ),
            ));
        }
        Ok(())
    }

    /// Skips an optional UTF-8 byte order mark (before the first token only).
    pub(crate) fn skip_bom(&mut self) -> Result<()> {
        if self.fill()?.starts_with(b"\xEF\xBB\xBF") {
            self.input.consume(3);
        }
        Ok(())
    }

    /// The next non-whitespace byte, not consumed; `None` at the end of the input.
    fn peek(&mut self) -> Result<Option<u8>> {
        loop {
            let (skip, found, newlines, col) = {
                let buf = self.fill()?;
                if buf.is_empty() {
                    return Ok(None);
                }
                let mut newlines = 0u32;
                let mut col = None;
                let mut i = 0;
                while i < buf.len() {
                    match buf[i] {
                        b' ' | b'\t' | b'\r' => {}
                        b'\n' => {
                            newlines += 1;
                            col = Some(i);
                        }
                        _ => break,
                    }
                    i += 1;
                }
                (i, buf.get(i).copied(), newlines, col)
            };
            if newlines > 0 {
                self.line += newlines;
                self.column = 1 + (skip - col.expect("a newline") - 1) as u32;
            } else {
                self.column += skip as u32;
            }
            if skip > 0 {
                self.consume(skip)?;
            }
            if found.is_some() {
                return Ok(found);
            }
        }
    }

    fn eof(&self, what: &str) -> LexError {
        self.error(
            LexErrorKind::Eof,
            format!("the document ends in the middle of {what} (truncated?)"),
        )
    }

    fn expect_byte(&mut self, b: u8, what: &str) -> Result<()> {
        match self.peek()? {
            Some(c) if c == b => {
                self.column += 1;
                self.consume(1)
            }
            Some(c) => Err(self.error(
                LexErrorKind::Syntax,
                format!("expected {what}, found {}", describe(c)),
            )),
            None => Err(self.eof(what)),
        }
    }

    /// What the next value is (nothing consumed).
    pub(crate) fn peek_kind(&mut self) -> Result<Kind> {
        match self.peek()? {
            Some(b'{') => Ok(Kind::Object),
            Some(b'[') => Ok(Kind::Array),
            Some(b'"') => Ok(Kind::String),
            Some(b'-' | b'0'..=b'9') => Ok(Kind::Number),
            Some(b't' | b'f') => Ok(Kind::Bool),
            Some(b'n') => Ok(Kind::Null),
            Some(c) => Err(self.error(
                LexErrorKind::Syntax,
                format!("expected a JSON value, found {}", describe(c)),
            )),
            None => Err(self.eof("a value")),
        }
    }

    /// True when nothing but whitespace is left.
    pub(crate) fn at_end(&mut self) -> Result<bool> {
        Ok(self.peek()?.is_none())
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err(self.error(
                LexErrorKind::Depth,
                format!(
                    "objects and arrays are nested more than {} deep",
                    self.max_depth
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn begin_object(&mut self) -> Result<()> {
        self.expect_byte(b'{', "`{`")?;
        self.enter()
    }

    pub(crate) fn begin_array(&mut self) -> Result<()> {
        self.expect_byte(b'[', "`[`")?;
        self.enter()
    }

    /// The next member name of the object being read (and its `:`), or `None` at its `}`.
    /// `first`: no member was read yet.
    pub(crate) fn next_key(&mut self, first: bool) -> Result<Option<String>> {
        match self.peek()? {
            Some(b'}') => {
                self.column += 1;
                self.consume(1)?;
                self.depth -= 1;
                return Ok(None);
            }
            Some(b',') if !first => {
                self.column += 1;
                self.consume(1)?;
            }
            Some(_) if !first => {
                return Err(self.error(
                    LexErrorKind::Syntax,
                    "expected `,` or `}` after an object member",
                ))
            }
            Some(_) => {}
            None => return Err(self.eof("an object")),
        }
        match self.peek()? {
            Some(b'"') => {}
            Some(c) => {
                return Err(self.error(
                    LexErrorKind::Syntax,
                    format!(
                        "expected a member name in double quotes, found {}",
                        describe(c)
                    ),
                ))
            }
            None => return Err(self.eof("an object")),
        }
        let key = self.string()?;
        self.expect_byte(b':', "`:` after the member name")?;
        Ok(Some(key))
    }

    /// Whether the array being read has another element (its `,` consumed), or `false` at
    /// its `]`.
    pub(crate) fn next_element(&mut self, first: bool) -> Result<bool> {
        match self.peek()? {
            Some(b']') => {
                self.column += 1;
                self.consume(1)?;
                self.depth -= 1;
                Ok(false)
            }
            Some(b',') if !first => {
                self.column += 1;
                self.consume(1)?;
                Ok(true)
            }
            Some(_) if !first => Err(self.error(
                LexErrorKind::Syntax,
                "expected `,` or `]` after an array element",
            )),
            Some(_) => Ok(true),
            None => Err(self.eof("an array")),
        }
    }

    /// A string value.
    pub(crate) fn string(&mut self) -> Result<String> {
        self.expect_byte(b'"', "a string")?;
        // Fast path: the whole string, without escapes, in the buffer.
        {
            let max = self.max_text;
            let buf = self.fill()?;
            if let Some(end) = buf
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            {
                if buf[end] == b'"' && end <= max {
                    if let Ok(s) = std::str::from_utf8(&buf[..end]) {
                        let s = s.to_owned();
                        self.column += end as u32 + 1;
                        self.consume(end + 1)?;
                        return Ok(s);
                    }
                }
            }
        }
        self.string_slow()
    }

    fn string_slow(&mut self) -> Result<String> {
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let r = self.string_bytes(&mut out);
        let s = r.and_then(|()| {
            std::str::from_utf8(&out)
                .map(str::to_owned)
                .map_err(|_| self.error(LexErrorKind::Syntax, "a string is not valid UTF-8"))
        });
        self.scratch = out;
        s
    }

    fn string_bytes(&mut self, out: &mut Vec<u8>) -> Result<()> {
        loop {
            let b = self.byte("a string")?;
            match b {
                b'"' => return Ok(()),
                b'\\' => {
                    let e = self.byte("an escape sequence")?;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut c = self.hex4()?;
                            if (0xD800..0xDC00).contains(&c) {
                                if self.byte("an escape sequence")? != b'\\'
                                    || self.byte("an escape sequence")? != b'u'
                                {
                                    return Err(self.error(
                                        LexErrorKind::Syntax,
                                        "a \\u escape of a high surrogate is not followed by a low surrogate",
                                    ));
                                }
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.error(
                                        LexErrorKind::Syntax,
                                        "invalid surrogate pair in a \\u escape",
                                    ));
                                }
                                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                            }
                            let Some(ch) = char::from_u32(c) else {
                                return Err(self.error(
                                    LexErrorKind::Syntax,
                                    "a \\u escape names no character (a lone low surrogate)",
                                ));
                            };
                            let mut tmp = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                        }
                        c => {
                            return Err(self.error(
                                LexErrorKind::Syntax,
                                format!("invalid escape sequence `\\{}`", c as char),
                            ))
                        }
                    }
                }
                0..=0x1f => return Err(self.error(
                    LexErrorKind::Syntax,
                    "a control character (such as a line break) inside a string must be escaped",
                )),
                _ => out.push(b),
            }
            if out.len() > self.max_text {
                return Err(self.error(
                    LexErrorKind::Text,
                    format!(
                        "a string is longer than the limit of {} bytes",
                        self.max_text
                    ),
                ));
            }
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let b = self.byte("a \\u escape")?;
            let d = (b as char).to_digit(16).ok_or_else(|| {
                self.error(LexErrorKind::Syntax, "a \\u escape needs four hex digits")
            })?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    /// One raw byte (inside a string or literal).
    fn byte(&mut self, what: &str) -> Result<u8> {
        let b = match self.fill()?.first() {
            Some(&b) => b,
            None => return Err(self.eof(what)),
        };
        self.column += 1;
        self.consume(1)?;
        Ok(b)
    }

    /// A scalar (string, number, boolean or null); an object or array is a syntax error here.
    pub(crate) fn scalar(&mut self) -> Result<Scalar> {
        let kind = self.peek_kind()?;
        match kind {
            Kind::String => Ok(Scalar {
                kind,
                text: self.string()?,
            }),
            Kind::Number | Kind::Bool | Kind::Null => {
                let mut text = String::new();
                while let Some(&b) = self.fill()?.first() {
                    if !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.')) {
                        break;
                    }
                    text.push(b as char);
                    self.column += 1;
                    self.consume(1)?;
                    if text.len() > 64 {
                        break;
                    }
                }
                let ok = match kind {
                    Kind::Number => is_json_number(&text),
                    Kind::Bool => text == "true" || text == "false",
                    _ => text == "null",
                };
                if !ok {
                    return Err(self.error(
                        LexErrorKind::Syntax,
                        format!("`{text}` is not a JSON value"),
                    ));
                }
                Ok(Scalar { kind, text })
            }
            Kind::Object | Kind::Array => Err(self.error(
                LexErrorKind::Syntax,
                "expected a scalar, found an object or array",
            )),
        }
    }

    /// Skips the next value, however deeply nested (a loop; the depth limit holds).
    pub(crate) fn skip_value(&mut self) -> Result<()> {
        // One entry per open container: (is_object, first).
        let mut stack: Vec<(bool, bool)> = Vec::new();
        loop {
            match self.peek_kind()? {
                Kind::Object => {
                    self.begin_object()?;
                    stack.push((true, true));
                }
                Kind::Array => {
                    self.begin_array()?;
                    stack.push((false, true));
                }
                _ => {
                    self.scalar()?;
                }
            }
            // Move to the next value to read, closing finished containers.
            loop {
                let Some(top) = stack.last_mut() else {
                    return Ok(());
                };
                let (is_object, first) = *top;
                top.1 = false;
                let more = if is_object {
                    self.next_key(first)?.is_some()
                } else {
                    self.next_element(first)?
                };
                if more {
                    break;
                }
                stack.pop();
            }
        }
    }

    /// Reads the next value whole (a loop; the depth limit holds). Each value counts in
    /// [`Lexer::values`], so the caller can bound the size of what it keeps.
    pub(crate) fn value(&mut self, max_values: usize) -> Result<Value> {
        enum Open {
            Object(Vec<(String, Value)>, Position, Option<String>),
            Array(Vec<Value>, Position),
        }
        let mut stack: Vec<Open> = Vec::new();
        loop {
            self.values += 1;
            if self.values > max_values {
                return Err(self.error(
                    LexErrorKind::Text,
                    format!(
                        "more than {max_values} JSON values in one event, header or vocabulary"
                    ),
                ));
            }
            let kind = self.peek_kind()?;
            let pos = self.pos();
            let mut done = match kind {
                Kind::Object => {
                    self.begin_object()?;
                    stack.push(Open::Object(Vec::new(), pos, None));
                    None
                }
                Kind::Array => {
                    self.begin_array()?;
                    stack.push(Open::Array(Vec::new(), pos));
                    None
                }
                _ => Some(Value::Scalar(self.scalar()?, pos)),
            };
            loop {
                if let Some(v) = done.take() {
                    match stack.last_mut() {
                        None => return Ok(v),
                        Some(Open::Object(members, _, key)) => {
                            members.push((key.take().expect("a member name"), v))
                        }
                        Some(Open::Array(items, _)) => items.push(v),
                    }
                }
                let next = match stack.last_mut() {
                    None => unreachable!("a finished value returns"),
                    Some(Open::Object(members, _, key)) => {
                        let first = members.is_empty();
                        match self.next_key(first)? {
                            Some(k) => {
                                *key = Some(k);
                                true
                            }
                            None => false,
                        }
                    }
                    Some(Open::Array(items, _)) => {
                        let first = items.is_empty();
                        self.next_element(first)?
                    }
                };
                if next {
                    break;
                }
                done = Some(match stack.pop().expect("an open container") {
                    Open::Object(m, p, _) => Value::Object(m, p),
                    Open::Array(a, p) => Value::Array(a, p),
                });
            }
        }
    }
}

fn describe(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// RFC 8259 number syntax.
fn is_json_number(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = 0;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let s = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let s = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == s {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(s: &str) -> Lexer<&[u8]> {
        Lexer::new(s.as_bytes(), 8, 1000, 1 << 20)
    }

    #[test]
    fn numbers_follow_rfc_8259() {
        for ok in ["0", "-1", "26.0", "1e5", "1.5E-3", "-0.0"] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in ["01", "1.", ".5", "+1", "1e", "--1", "0x10", ""] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn strings_with_escapes_and_surrogates_decode() {
        let mut l = lex(r#""a\"b\\c\u00e9\ud83d\ude00\n" "plain""#);
        assert_eq!(l.string().unwrap(), "a\"b\\c\u{e9}\u{1f600}\n");
        assert_eq!(l.string().unwrap(), "plain");
        assert!(l.at_end().unwrap());
    }

    #[test]
    fn positions_count_lines_and_columns() {
        let mut l = lex("{\n  \"a\": [1,\n   true]}");
        l.begin_object().unwrap();
        assert_eq!(l.next_key(true).unwrap().as_deref(), Some("a"));
        l.begin_array().unwrap();
        assert!(l.next_element(true).unwrap());
        l.scalar().unwrap();
        assert!(l.next_element(false).unwrap());
        assert_eq!(l.peek_kind().unwrap(), Kind::Bool);
        assert_eq!((l.pos().line, l.pos().column), (3, 4));
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let mut l = Lexer::new(deep.as_bytes(), 64, 1000, 1 << 20);
        let e = l.skip_value().unwrap_err();
        assert_eq!(e.kind, LexErrorKind::Depth);
        let mut l = Lexer::new(deep.as_bytes(), 64, 1000, 1 << 20);
        assert_eq!(l.value(1 << 20).unwrap_err().kind, LexErrorKind::Depth);
    }

    #[test]
    fn values_read_whole_and_skip_alike() {
        let text = r#"{"a":{"b":[1,"x",null,{"c":false}]},"d":[]} 7"#;
        let mut l = lex(text);
        let v = l.value(100).unwrap();
        let Value::Object(m, _) = v else {
            panic!("an object")
        };
        assert_eq!(m.len(), 2);
        assert_eq!(l.scalar().unwrap().text, "7");
        let mut l = lex(text);
        l.skip_value().unwrap();
        assert_eq!(l.scalar().unwrap().text, "7");
    }

    #[test]
    fn truncated_and_malformed_text_is_an_error() {
        for (text, kind) in [
            (r#"{"a": "#, LexErrorKind::Eof),
            (r#"{"a" 1}"#, LexErrorKind::Syntax),
            (r#"{"a": 1,}"#, LexErrorKind::Syntax),
            (r#"["a\x"]"#, LexErrorKind::Syntax),
            ("[\"a\nb\"]", LexErrorKind::Syntax),
            ("[tru]", LexErrorKind::Syntax),
        ] {
            let mut l = lex(text);
            assert_eq!(l.skip_value().unwrap_err().kind, kind, "{text}");
        }
    }
}
