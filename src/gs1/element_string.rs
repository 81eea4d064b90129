//! GS1 element strings: raw scanner data (FNC1 as GS, optional symbology identifier) and the
//! human-readable bracketed form, parsed into validated AI/value pairs.

use std::fmt;

use super::ai::{pattern_matches, table, AiDef};
use super::chars::dl_escape;
use super::dates::current_year;
use super::error::Gs1Error;
use super::keys::{Gln, Gtin, Lot, SerialNumber, Sscc};
use super::options::ParseOptions;
use super::{Expiry, Sgtin};

/// ASCII 29, how scanners transmit FNC1 used as a separator.
pub const GS: u8 = 0x1d;

/// How the data after a symbology identifier (ISO/IEC 15424) is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Carrier {
    /// GS1 AI data (the carrier's GS1 mode: FNC1 in first position).
    Gs1,
    /// A bare GTIN of exactly this many digits (EAN/UPC, ITF-14), read as `(01)`.
    BareGtin(usize),
    /// EAN-13/UPC-A with a 2- or 5-digit add-on: the add-on is no AI data.
    AddOn,
    /// Not GS1 data; the text says where GS1 data would be.
    NotGs1(&'static str),
}

#[derive(Debug)]
struct Symbology {
    id: &'static str,
    name: &'static str,
    carrier: Carrier,
}

const fn sym(id: &'static str, name: &'static str, carrier: Carrier) -> Symbology {
    Symbology { id, name, carrier }
}

/// The symbology identifiers GS1 data can arrive with, and their non-GS1 siblings.
const SYMBOLOGIES: &[Symbology] = &[
    sym("]d2", "GS1 DataMatrix", Carrier::Gs1),
    sym("]C1", "GS1-128", Carrier::Gs1),
    sym("]Q3", "GS1 QR Code", Carrier::Gs1),
    sym("]e0", "GS1 DataBar", Carrier::Gs1),
    sym("]J1", "GS1 DotCode", Carrier::Gs1),
    sym("]E0", "EAN-13 or UPC-A", Carrier::BareGtin(13)),
    sym("]E4", "EAN-8", Carrier::BareGtin(8)),
    sym("]I1", "ITF-14", Carrier::BareGtin(14)),
    sym("]E3", "EAN-13 or UPC-A with an add-on", Carrier::AddOn),
    sym(
        "]E1",
        "an EAN/UPC 2-digit add-on alone",
        Carrier::NotGs1("an add-on carries no GS1 key"),
    ),
    sym(
        "]E2",
        "an EAN/UPC 5-digit add-on alone",
        Carrier::NotGs1("an add-on carries no GS1 key"),
    ),
    sym(
        "]d1",
        "Data Matrix, not in GS1 mode",
        Carrier::NotGs1("GS1 DataMatrix is ]d2"),
    ),
    sym(
        "]d0",
        "Data Matrix ECC 000-140, not GS1",
        Carrier::NotGs1("GS1 DataMatrix is ]d2"),
    ),
    sym(
        "]d3",
        "Data Matrix with FNC1 in second position, not in GS1 mode",
        Carrier::NotGs1("GS1 DataMatrix is ]d2"),
    ),
    sym(
        "]Q0",
        "QR Code model 1, not GS1",
        Carrier::NotGs1("GS1 QR Code is ]Q3"),
    ),
    sym(
        "]Q1",
        "QR Code, not in GS1 mode",
        Carrier::NotGs1(
            "GS1 QR Code is ]Q3; a GS1 Digital Link URI in it is read as a Digital Link",
        ),
    ),
    sym(
        "]Q2",
        "QR Code with ECI, not in GS1 mode",
        Carrier::NotGs1("GS1 QR Code is ]Q3"),
    ),
    sym(
        "]Q5",
        "QR Code with FNC1 in second position, not in GS1 mode",
        Carrier::NotGs1("GS1 QR Code is ]Q3"),
    ),
    sym(
        "]C0",
        "Code 128, not GS1-128",
        Carrier::NotGs1("GS1-128 is ]C1"),
    ),
    sym(
        "]C2",
        "Code 128 with FNC1 in second position, not GS1-128",
        Carrier::NotGs1("GS1-128 is ]C1"),
    ),
    sym(
        "]J0",
        "DotCode, not in GS1 mode",
        Carrier::NotGs1("GS1 DotCode is ]J1"),
    ),
    sym(
        "]I0",
        "Interleaved 2 of 5 without check digit",
        Carrier::NotGs1("ITF-14 is ]I1"),
    ),
    sym(
        "]A0",
        "Code 39",
        Carrier::NotGs1("Code 39 carries no GS1 data"),
    ),
];

/// The symbology an input's identifier (`]` + 2 characters) names, if known.
fn symbology_of(input: &str) -> Option<&'static Symbology> {
    let id = input.get(..3)?;
    SYMBOLOGIES.iter().find(|s| s.id == id)
}

/// Name of the symbology an input's identifier names (`]d2` -> "GS1 DataMatrix").
pub(crate) fn symbology_name(input: &str) -> Option<&'static str> {
    symbology_of(input).map(|s| s.name)
}

fn not_gs1(input: &str, s: &Symbology, hint: &'static str) -> Gs1Error {
    Gs1Error::NotGs1Data {
        input: super::error::shown(input),
        symbology_id: s.id.to_string(),
        symbology: s.name,
        hint,
    }
}

/// Validated AI element string. Equality is by the (AI, value) sequence.
#[derive(Clone)]
pub struct ElementString {
    data: String,
    items: Vec<Item>,
}

impl<'a> IntoIterator for &'a ElementString {
    type Item = (&'static str, &'a str);
    type IntoIter = Box<dyn Iterator<Item = (&'static str, &'a str)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl PartialEq for ElementString {
    fn eq(&self, other: &Self) -> bool {
        self.items.len() == other.items.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}
impl Eq for ElementString {}
impl std::hash::Hash for ElementString {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        for e in self.elements() {
            e.ai.hash(h);
            e.value.hash(h);
        }
    }
}

#[derive(Clone, Copy)]
struct Item {
    def: u16,
    start: u32,
    end: u32,
}

/// One AI and its value.
#[derive(Clone, Copy, Debug)]
pub struct Element<'a> {
    pub ai: &'static str,
    pub value: &'a str,
    pub def: &'static AiDef,
}

impl fmt::Debug for ElementString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ElementString({})", self.to_bracketed())
    }
}

impl fmt::Display for ElementString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_bracketed())
    }
}

/// Parse raw scan data (optionally prefixed by a GS1 symbology identifier such as `]d2`, FNC1
/// separators as ASCII 29 or `^`) or a bracketed element string `(01)…(21)…`. Validates every
/// value and the AI pairing rules ([`ParseOptions::FULL`]).
pub fn parse_element_string(input: &str) -> Result<ElementString, Gs1Error> {
    parse_es(input, current_year(), ParseOptions::FULL)
}

/// As [`parse_element_string`], checking what `options` asks for.
pub fn parse_element_string_with(
    input: &str,
    options: ParseOptions,
) -> Result<ElementString, Gs1Error> {
    parse_es(input, current_year(), options)
}

/// As [`parse_element_string`] with the date century window anchored at `year`.
pub fn parse_element_string_with_year(input: &str, year: i32) -> Result<ElementString, Gs1Error> {
    parse_es(input, year, ParseOptions::FULL)
}

fn parse_es(input: &str, year: i32, options: ParseOptions) -> Result<ElementString, Gs1Error> {
    let mut es = ElementString {
        data: String::with_capacity(input.len()),
        items: Vec::with_capacity(6),
    };
    if input.starts_with('(') {
        parse_bracketed(input, year, &mut es)?;
    } else {
        match symbology_of(input).map(|s| (s, s.carrier)) {
            Some((s, Carrier::BareGtin(digits))) => {
                parse_bare_gtin(input, s, digits, year, &mut es)?
            }
            Some((s, Carrier::AddOn)) => return Err(add_on(input, s)),
            _ => parse_raw(input, year, false, &mut es)?,
        }
    }
    es.check_pairs_with(options)?;
    Ok(es)
}

/// EAN/UPC and ITF-14: exactly `digits` digits with a valid check digit, read as `(01)`. An
/// EAN/UPC may be followed by its 2D composite component (`|]e0` + AI data), as the GS1
/// Barcode Syntax Engine transmits it.
fn parse_bare_gtin(
    input: &str,
    s: &Symbology,
    digits: usize,
    year: i32,
    es: &mut ElementString,
) -> Result<(), Gs1Error> {
    let data = &input[3..];
    let composite = s.id != "]I1"
        && data
            .get(digits..)
            .is_some_and(|rest| rest.starts_with("|]e0"));
    let primary = if composite { &data[..digits] } else { data };
    if let Some(p) = primary.bytes().position(|b| !b.is_ascii_digit()) {
        return Err(super::chars::bad_char(s.name, primary, p, "a digit").at(input, 3));
    }
    if primary.len() != digits {
        return Err(
            Gs1Error::length(s.name, primary, &digits.to_string(), primary.len()).at(input, 3),
        );
    }
    let gtin = Gtin::parse(primary).map_err(|e| e.at(input, 3))?;
    es.push_checked("01", gtin.as_str(), year)?;
    if composite {
        let cc = &data[digits + 1..];
        parse_raw(cc, year, false, es).map_err(|e| e.at(input, 3 + digits + 1))?;
    }
    Ok(())
}

/// `]E3`: the add-on is not AI data. The main symbol's check digit is still checked, so a
/// misread is reported as such.
fn add_on(input: &str, s: &Symbology) -> Gs1Error {
    let data = &input[3..];
    let primary = data.get(..13).unwrap_or(data);
    if primary.len() == 13 && primary.bytes().all(|b| b.is_ascii_digit()) {
        if let Err(e) = Gtin::parse(primary) {
            return e.at(input, 3);
        }
    }
    Gs1Error::syntax(
        "scan data",
        input,
        0,
        "an EAN-13/UPC-A without add-on (]E0)",
        format!(
            "\"{}\", {}: the add-on carries no GS1 Application Identifier; scan the symbol without it",
            s.id, s.name
        ),
    )
}

/// Parse an EPC key (see `Epc::key`): raw element string where every fixed-length AI is
/// followed directly by the next one, FNC1 only after a variable-length value.
pub(crate) fn parse_key_string(key: &str) -> Result<ElementString, Gs1Error> {
    let mut es = ElementString {
        data: String::with_capacity(key.len()),
        items: Vec::with_capacity(2),
    };
    if key.starts_with(']') || key.starts_with('\u{1d}') {
        return Err(Gs1Error::syntax(
            "EPC key",
            key,
            0,
            "an Application Identifier",
            "a symbology identifier or FNC1",
        ));
    }
    parse_raw(key, current_year(), true, &mut es)?;
    es.check_pairs()?;
    Ok(es)
}

fn strip_symbology(input: &str) -> Result<(&str, usize), Gs1Error> {
    if !input.starts_with(']') {
        return Ok((input, 0));
    }
    let expected = "a GS1 symbology identifier (]d2, ]C1, ]Q3, ]e0, ]J1)";
    match symbology_of(input) {
        Some(s) => match s.carrier {
            Carrier::Gs1 => Ok((&input[3..], 3)),
            Carrier::NotGs1(hint) => Err(not_gs1(input, s, hint)),
            Carrier::BareGtin(_) | Carrier::AddOn => Err(Gs1Error::syntax(
                "scan data",
                input,
                0,
                expected,
                format!(
                    "{:?} ({}), a carrier of a bare GTIN without serial",
                    s.id, s.name
                ),
            )),
        },
        None => Err(Gs1Error::syntax(
            "scan data",
            input,
            0,
            expected,
            format!(
                "{:?}, an unknown symbology identifier",
                input.chars().take(3).collect::<String>()
            ),
        )),
    }
}

fn parse_raw(
    input: &str,
    year: i32,
    key_form: bool,
    es: &mut ElementString,
) -> Result<(), Gs1Error> {
    walk_raw(input, year, key_form, |di, v| {
        es.push(di, v);
        Ok(())
    })
}

/// Split and validate raw data, handing each (AI index, value) to `f`; no allocation.
fn walk_raw<'a>(
    input: &'a str,
    year: i32,
    key_form: bool,
    mut f: impl FnMut(u16, &'a str) -> Result<(), Gs1Error>,
) -> Result<(), Gs1Error> {
    let t = table();
    let (body, offset) = strip_symbology(input)?;
    let b = body.as_bytes();
    // FNC1 is ASCII 29 (GS) or `^`, the GS1 Barcode Syntax Engine's notation for it in
    // unbracketed AI data (`^0112345678901231^10ABC`). `^` is in no AI character set (CSET 82,
    // 39, 64, digits), so it never stands for data. EPC keys use GS only.
    let caret = if key_form { GS } else { b'^' };
    let fnc1 = |c: u8| c == GS || c == caret;
    let mut pos = 0usize;
    // Some scanners send a leading FNC1 in place of the symbology identifier; the syntax
    // engine writes FNC1 in first position as a leading `^`.
    if b.first().is_some_and(|&c| fnc1(c)) {
        pos = 1;
    }
    if pos >= b.len() {
        return Err(Gs1Error::syntax(
            "scan data",
            input,
            offset + pos,
            "an Application Identifier",
            "end of data",
        ));
    }
    while pos < b.len() {
        let ai_pos = pos;
        let Some((di, ai_len)) = t.at(&b[pos..]) else {
            return Err(unknown_ai(input, body, offset, pos));
        };
        let def = t.def(di);
        let vstart = pos + ai_len;
        let vend;
        if let (true, Some(n)) = (def.predefined || key_form, def.fixed_len) {
            // Predefined length: the next AI follows directly.
            if vstart + n > b.len() || b[vstart..vstart + n].iter().any(|&c| fnc1(c)) {
                let got = b[vstart..].iter().take_while(|&&c| !fnc1(c)).count();
                return Err(Gs1Error::length(
                    def.label,
                    &body[vstart..],
                    &n.to_string(),
                    got,
                ));
            }
            vend = vstart + n;
            pos = vend;
            // A superfluous FNC1 after a predefined-length element is harmless; skip it.
            if b.get(pos).is_some_and(|&c| fnc1(c)) {
                pos += 1;
                if pos == b.len() {
                    return Err(trailing_gs(input, offset + pos - 1));
                }
            }
        } else {
            vend = b[vstart..]
                .iter()
                .position(|&c| fnc1(c))
                .map_or(b.len(), |k| vstart + k);
            pos = vend;
            if pos < b.len() {
                pos += 1;
                if pos == b.len() {
                    return Err(trailing_gs(input, offset + pos - 1));
                }
            }
        }
        let value = body.get(vstart..vend).ok_or_else(|| {
            Gs1Error::charset("scan data", input, offset + vstart, '?', "ASCII data")
        })?;
        if value.is_empty() {
            return Err(Gs1Error::syntax(
                "scan data",
                input,
                offset + vstart,
                format!("a value for {}", def.label),
                if vstart >= b.len() {
                    "end of data".into()
                } else {
                    "FNC1 (GS)".to_string()
                },
            ));
        }
        def.validate(value, year)
            .map_err(|e| e.at(input, offset + ai_pos))?;
        f(di, value)?;
    }
    Ok(())
}

fn trailing_gs(input: &str, position: usize) -> Gs1Error {
    Gs1Error::syntax(
        "scan data",
        input,
        position,
        "an Application Identifier after FNC1",
        "end of data",
    )
}

fn unknown_ai(input: &str, body: &str, offset: usize, pos: usize) -> Gs1Error {
    let digits: String = body[pos..]
        .chars()
        .take(4)
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if digits.len() < 2 {
        let found = body[pos..].chars().next().unwrap_or(' ');
        return Gs1Error::syntax(
            "scan data",
            input,
            input[..offset + pos].chars().count(),
            "an Application Identifier (2 to 4 digits)",
            format!("{found:?}"),
        );
    }
    Gs1Error::UnknownAi {
        input: super::error::shown(input),
        position: offset + pos,
        ai: digits,
    }
}

fn parse_bracketed(input: &str, year: i32, es: &mut ElementString) -> Result<(), Gs1Error> {
    let t = table();
    let b = input.as_bytes();
    let mut pos = 0usize;
    let mut value = String::new();
    while pos < b.len() {
        if b[pos] != b'(' {
            return Err(Gs1Error::syntax(
                "element string",
                input,
                pos,
                "'('",
                format!("{:?}", b[pos] as char),
            ));
        }
        let close = input[pos + 1..]
            .find(')')
            .map(|k| pos + 1 + k)
            .ok_or_else(|| {
                Gs1Error::syntax(
                    "element string",
                    input,
                    pos,
                    "an AI in parentheses",
                    "no ')'",
                )
            })?;
        let ai = &input[pos + 1..close];
        let di = match t.get(ai) {
            Some(di) => di,
            None if ai.len() >= 2 && ai.len() <= 4 && ai.bytes().all(|c| c.is_ascii_digit()) => {
                return Err(Gs1Error::UnknownAi {
                    input: super::error::shown(input),
                    position: pos + 1,
                    ai: ai.to_string(),
                })
            }
            None => {
                return Err(Gs1Error::syntax(
                    "element string",
                    input,
                    pos + 1,
                    "an Application Identifier (2 to 4 digits)",
                    format!("{ai:?}"),
                ))
            }
        };
        let def = t.def(di);
        // The value runs to the next unescaped '('; "\(" stands for a literal '('.
        value.clear();
        let mut k = close + 1;
        while k < b.len() && b[k] != b'(' {
            if b[k] == b'\\' && b.get(k + 1) == Some(&b'(') {
                value.push('(');
                k += 2;
            } else {
                let ch = input[k..].chars().next().unwrap_or('?');
                value.push(ch);
                k += ch.len_utf8();
            }
        }
        if value.is_empty() {
            return Err(Gs1Error::syntax(
                "element string",
                input,
                close + 1,
                format!("a value for {}", def.label),
                "nothing",
            ));
        }
        def.validate(&value, year).map_err(|e| e.at(input, pos))?;
        es.push(di, &value);
        pos = k;
    }
    if es.items.is_empty() {
        return Err(Gs1Error::syntax(
            "element string",
            input,
            0,
            "an AI in parentheses",
            "nothing",
        ));
    }
    Ok(())
}

/// Repeated AIs must agree; mandatory (`req=`) and exclusive (`ex=`) pairings must hold.
fn check_rules(list: &[(u16, &str)], requisites: bool) -> Result<(), Gs1Error> {
    let t = table();
    for (i, &(d, v)) in list.iter().enumerate() {
        if let Some(&(_, first)) = list[..i].iter().find(|o| o.0 == d) {
            if first != v {
                return Err(Gs1Error::AiConflict {
                    ai: t.def(d).ai.to_string(),
                    first: first.to_string(),
                    second: v.to_string(),
                });
            }
        }
    }
    let present = |p: &str| list.iter().any(|&(d, _)| pattern_matches(p, t.def(d).ai));
    for &(d, _) in list {
        let def = t.def(d);
        for group in def.req.iter().filter(|_| requisites) {
            if !group.iter().any(|alt| alt.iter().all(|p| present(p))) {
                let requires = group
                    .iter()
                    .map(|alt| {
                        alt.iter()
                            .map(|p| format!("({p})"))
                            .collect::<Vec<_>>()
                            .join(" with ")
                    })
                    .collect::<Vec<_>>()
                    .join(" or ");
                let found = list
                    .iter()
                    .map(|&(x, _)| format!("({})", t.def(x).ai))
                    .collect::<String>();
                return Err(Gs1Error::AiRequires {
                    ai: def.ai.to_string(),
                    requires,
                    found,
                });
            }
        }
        for p in &def.ex {
            if let Some(&(o, _)) = list
                .iter()
                .find(|&&(o, _)| o != d && pattern_matches(p, t.def(o).ai))
            {
                return Err(Gs1Error::AiExcludes {
                    ai: def.ai.to_string(),
                    other: t.def(o).ai.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// What a DSCSA pack scan carries: the SGTIN, and lot and expiry when present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackScan {
    pub sgtin: Sgtin,
    pub lot: Option<Lot>,
    pub expiry: Option<Expiry>,
}

/// Parse raw scan data (or a bracketed string) that must identify an SGTIN, with the same
/// validation as [`parse_element_string`] but without heap allocation for typical scans.
pub fn parse_scan_sgtin(input: &str) -> Result<PackScan, Gs1Error> {
    const MAX: usize = 24;
    let year = current_year();
    let mut items: [(u16, &str); MAX] = [(0, ""); MAX];
    let mut n = 0usize;
    let mut overflow = false;
    let walked = if input.starts_with('(') {
        Err(None)
    } else {
        walk_raw(input, year, false, |di, v| {
            if n == MAX {
                overflow = true;
            } else {
                items[n] = (di, v);
                n += 1;
            }
            Ok(())
        })
        .map_err(Some)
    };
    let need = |what: &str| {
        Gs1Error::not_an_identifier(
            input,
            format!("scan data has no {what}, so it is not an SGTIN"),
        )
    };
    match walked {
        Err(Some(e)) => Err(e),
        Ok(()) if !overflow => {
            let items = &items[..n];
            check_rules(items, true)?;
            let t = table();
            let get = |ai: &str| {
                let want = t.get(ai)?;
                items.iter().find(|&&(d, _)| d == want).map(|&(_, v)| v)
            };
            // The values passed the dictionary checks (N14 + check digit, CSET 82 up to 20),
            // which are the newtypes' rules; no need to validate them twice.
            let gtin = get("01").ok_or_else(|| need("GTIN (01)"))?;
            let serial = get("21").ok_or_else(|| need("serial (21)"))?;
            let expiry = match get("17") {
                Some(v) => Some(Expiry::parse_with_year(v, year)?),
                None => None,
            };
            match (
                Gtin::from_validated(gtin),
                SerialNumber::from_validated(serial),
            ) {
                (Some(g), Some(s)) => Ok(PackScan {
                    sgtin: Sgtin::new(g, s),
                    lot: get("10").and_then(Lot::from_validated),
                    expiry,
                }),
                _ => Err(need("valid GTIN and serial")),
            }
        }
        _ => {
            // Bracketed input or unusually many elements: the general path.
            let es = parse_element_string_with_year(input, year)?;
            Ok(PackScan {
                sgtin: es
                    .sgtin()
                    .ok_or_else(|| need("GTIN (01) with serial (21)"))?,
                lot: es.lot(),
                expiry: es
                    .get("17")
                    .map(|v| Expiry::parse_with_year(v, year))
                    .transpose()?,
            })
        }
    }
}

impl ElementString {
    pub(crate) fn new() -> Self {
        ElementString {
            data: String::new(),
            items: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, def: u16, value: &str) {
        let start = self.data.len() as u32;
        self.data.push_str(value);
        self.items.push(Item {
            def,
            start,
            end: self.data.len() as u32,
        });
    }

    /// Add an AI by code with validation (used by the Digital Link parser and builders).
    pub(crate) fn push_checked(
        &mut self,
        ai: &str,
        value: &str,
        year: i32,
    ) -> Result<(), Gs1Error> {
        let t = table();
        let di = t.get(ai).ok_or_else(|| Gs1Error::UnknownAi {
            input: ai.to_string(),
            position: 0,
            ai: ai.to_string(),
        })?;
        t.def(di).validate(value, year)?;
        self.push(di, value);
        Ok(())
    }

    /// Iterate over (AI, value) pairs in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.elements().map(|e| (e.ai, e.value))
    }

    /// Iterate over the elements with their dictionary entries.
    pub fn elements(&self) -> impl Iterator<Item = Element<'_>> + '_ {
        let t = table();
        self.items.iter().map(move |it| {
            let def = t.def(it.def);
            Element {
                ai: def.ai,
                value: &self.data[it.start as usize..it.end as usize],
                def,
            }
        })
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The value of `ai`, if present.
    pub fn get(&self, ai: &str) -> Option<&str> {
        self.elements().find(|e| e.ai == ai).map(|e| e.value)
    }

    pub fn has(&self, ai: &str) -> bool {
        self.elements().any(|e| e.ai == ai)
    }

    // Values were validated against the dictionary, which implies the newtype rules; the
    // `.ok()` below only drops impossible failures.
    pub fn gtin(&self) -> Option<Gtin> {
        self.get("01").and_then(|v| Gtin::parse(v).ok())
    }
    pub fn serial(&self) -> Option<SerialNumber> {
        self.get("21").and_then(|v| SerialNumber::parse(v).ok())
    }
    pub fn lot(&self) -> Option<Lot> {
        self.get("10").and_then(|v| Lot::parse(v).ok())
    }
    pub fn expiry(&self) -> Option<Expiry> {
        self.get("17").and_then(|v| Expiry::parse(v).ok())
    }
    pub fn sscc(&self) -> Option<Sscc> {
        self.get("00").and_then(|v| Sscc::parse(v).ok())
    }
    pub fn gln(&self) -> Option<Gln> {
        self.get("414").and_then(|v| Gln::parse(v).ok())
    }
    pub fn sgtin(&self) -> Option<Sgtin> {
        Some(Sgtin::new(self.gtin()?, self.serial()?))
    }

    /// Mandatory (`req=`) and exclusive (`ex=`) pairings, and repeated AIs.
    pub(crate) fn check_pairs(&mut self) -> Result<(), Gs1Error> {
        self.check_pairs_with(ParseOptions::FULL)
    }

    /// As [`check_pairs`](Self::check_pairs); requisites only when `options` asks for them.
    pub(crate) fn check_pairs_with(&mut self, options: ParseOptions) -> Result<(), Gs1Error> {
        let list: Vec<(u16, &str)> = self
            .items
            .iter()
            .map(|it| (it.def, &self.data[it.start as usize..it.end as usize]))
            .collect();
        check_rules(&list, options.checks_requisites())?;
        // Repeated AIs (same value, checked above) are kept once.
        let mut i = 0;
        while i < self.items.len() {
            let d = self.items[i].def;
            if self.items[..i].iter().any(|o| o.def == d) {
                self.items.remove(i);
            } else {
                i += 1;
            }
        }
        Ok(())
    }

    /// Human-readable form `(01)…(21)…`; a literal '(' in a value is written `\(`.
    pub fn to_bracketed(&self) -> String {
        let mut s = String::with_capacity(self.data.len() + 6 * self.items.len());
        for e in self.elements() {
            s.push('(');
            s.push_str(e.ai);
            s.push(')');
            for ch in e.value.chars() {
                if ch == '(' {
                    s.push('\\');
                }
                s.push(ch);
            }
        }
        s
    }

    /// Raw data as a scanner transmits it (no symbology identifier): FNC1 (ASCII 29) after
    /// every element that is not of predefined length, except the last.
    pub fn to_raw(&self) -> String {
        self.to_raw_with_separator('\u{1d}')
    }

    /// As [`to_raw`](Self::to_raw) with another separator character (e.g. `^` for display).
    pub fn to_raw_with_separator(&self, sep: char) -> String {
        let mut s = String::with_capacity(self.data.len() + 6 * self.items.len());
        let n = self.items.len();
        for (i, e) in self.elements().enumerate() {
            s.push_str(e.ai);
            s.push_str(e.value);
            if i + 1 < n && !e.def.predefined {
                s.push(sep);
            }
        }
        s
    }

    /// The first AI that is a Digital Link primary key, if any.
    pub fn primary_key(&self) -> Option<Element<'_>> {
        self.elements().find(|e| e.def.dl_pkey.is_some())
    }

    /// GS1 Digital Link URI on `base` (e.g. `https://id.gs1.org`): the primary key, its
    /// qualifiers in the defined order as path segments, other data attributes in the query.
    pub fn to_digital_link(&self, base: &str) -> Result<String, Gs1Error> {
        let pk = self.primary_key().ok_or_else(|| {
            Gs1Error::not_an_identifier(
                &self.to_bracketed(),
                "no AI that can be a Digital Link primary key",
            )
        })?;
        let seqs = pk.def.dl_pkey.as_deref().unwrap_or(&[]);
        // Pick the qualifier sequence that covers the qualifiers present.
        let mut best: &[&str] = &[];
        let mut best_n = 0;
        for seq in seqs {
            let n = seq.iter().filter(|q| self.has(q)).count();
            if n > best_n {
                best = seq;
                best_n = n;
            }
        }
        let mut s = String::with_capacity(base.len() + self.data.len() + 32);
        s.push_str(base.trim_end_matches('/'));
        s.push('/');
        s.push_str(pk.ai);
        s.push('/');
        dl_escape(pk.value, &mut s);
        for q in best {
            if let Some(v) = self.get(q) {
                s.push('/');
                s.push_str(q);
                s.push('/');
                dl_escape(v, &mut s);
            }
        }
        let mut first = true;
        for e in self.elements() {
            if e.ai == pk.ai || best.contains(&e.ai) {
                continue;
            }
            if !e.def.dl_attribute {
                return Err(Gs1Error::not_an_identifier(
                    &self.to_bracketed(),
                    format!(
                        "{} is neither a qualifier of ({}) nor a Digital Link data attribute",
                        e.def.label, pk.ai
                    ),
                ));
            }
            s.push(if first { '?' } else { '&' });
            first = false;
            s.push_str(e.ai);
            s.push('=');
            // `;` separates query parameters in the Digital Link grammar, like `&`.
            for (i, part) in e.value.split(';').enumerate() {
                if i > 0 {
                    s.push_str("%3B");
                }
                dl_escape(part, &mut s);
            }
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<ElementString, Gs1Error> {
        parse_element_string_with_year(s, 2026)
    }

    #[test]
    fn raw_datamatrix_scan_with_symbology_id() {
        let es = p("]d20100312345678906172612001000LOT42\u{1d}21SN1001").unwrap();
        let v: Vec<_> = es.iter().collect();
        assert_eq!(
            v,
            [
                ("01", "00312345678906"),
                ("17", "261200"),
                ("10", "00LOT42"),
                ("21", "SN1001")
            ]
        );
        assert_eq!(es.sgtin().unwrap().serial().as_str(), "SN1001");
        assert_eq!(es.expiry().unwrap().date().to_string(), "2026-12-31");
    }

    #[test]
    fn iteration_yields_ai_value_pairs() {
        let es = p("(01)00312345678906(21)S1").unwrap();
        let mut seen = Vec::new();
        for (ai, v) in &es {
            seen.push(format!("{ai}={v}"));
        }
        assert_eq!(seen, ["01=00312345678906", "21=S1"]);
        assert_eq!(
            es.elements().map(|e| e.def.title).collect::<Vec<_>>(),
            ["GTIN", "SERIAL"]
        );
    }

    #[test]
    fn every_gs1_symbology_id_and_leading_fnc1_is_accepted() {
        for id in ["]d2", "]C1", "]Q3", "]e0", "]J1", "\u{1d}", ""] {
            let es = p(&format!("{id}0100312345678906")).unwrap();
            assert_eq!(es.gtin().unwrap().as_str(), "00312345678906", "{id:?}");
        }
        assert_eq!(
            p("]E00312345678906").unwrap().to_bracketed(),
            "(01)00312345678906"
        );
        assert_eq!(
            p("]E412345670").unwrap().to_bracketed(),
            "(01)00000012345670"
        );
        assert_eq!(
            p("]I150312345678901").unwrap().gtin().unwrap().indicator(),
            5
        );
        assert_eq!(p("]E00312345678907").unwrap_err().code(), "gs1.check_digit");
        assert_eq!(
            parse_scan_sgtin("]E00312345678906").unwrap_err().code(),
            "gs1.syntax"
        );
        let e = p("]d10100312345678906").unwrap_err();
        assert_eq!(e.code(), "gs1.not_gs1_data", "{e}");
        assert_eq!(p("]X90100312345678906").unwrap_err().code(), "gs1.syntax");
    }

    #[test]
    fn element_strings_starting_with_caret_are_ai_data_after_fnc1_in_first_position() {
        // The GS1 Barcode Syntax Engine's notation: `^` is FNC1, a leading `^` FNC1 in first
        // position. Refused as "not a recognised GS1 form" before.
        let es = p("^0112345678901231^10ABC").unwrap();
        assert_eq!(es.to_bracketed(), "(01)12345678901231(10)ABC");
        assert_eq!(es, p("\u{1d}0112345678901231\u{1d}10ABC").unwrap());
        assert_eq!(es, p("0112345678901231^10ABC").unwrap());
        // After a symbology identifier, and superfluous after a predefined-length element.
        assert_eq!(es, p("]d2^0112345678901231^10ABC").unwrap());
        assert_eq!(
            p("^0100312345678906^17271231^10L1^21S1").unwrap().get("21"),
            Some("S1")
        );
        // The pack-scan fast path (verification's POST /verify/scan) reads it too.
        let ps = parse_scan_sgtin("^0100312345678906^10L1^21S1").unwrap();
        assert_eq!(ps.sgtin.serial().as_str(), "S1");
        // `^` is never data, so a missing value or a trailing FNC1 stays an error.
        assert_eq!(p("^").unwrap_err().code(), "gs1.syntax");
        assert_eq!(p("^0100312345678906^").unwrap_err().code(), "gs1.syntax");
        assert_eq!(p("^10^21A").unwrap_err().code(), "gs1.syntax");
        // The bracketed form keeps `^` as a character, and CSET 82 has none.
        assert_eq!(
            p("(01)00312345678906(21)A^B").unwrap_err().code(),
            "gs1.charset"
        );
        // EPC keys use GS only.
        assert!(parse_key_string("0100312345678906^21A").is_err());
    }

    #[test]
    fn ean_upc_and_itf_scans_must_have_exactly_their_length_and_a_valid_check_digit() {
        // A wrong check digit is refused under every symbology identifier.
        for (scan, what) in [
            ("]E00312345678907", "GTIN"),
            ("]E412345671", "GTIN"),
            ("]I150312345678902", "GTIN"),
            ("]E3031234567890712", "GTIN"),
            ("]C10100312345678907", "(AI 01)"),
            ("]e00100312345678907", "(AI 01)"),
            ("]d20100312345678907", "(AI 01)"),
            ("]Q30100312345678907", "(AI 01)"),
            ("]J10100312345678907", "(AI 01)"),
        ] {
            let e = p(scan).unwrap_err();
            assert_eq!(e.code(), "gs1.check_digit", "{scan}: {e}");
            assert!(e.to_string().contains(what), "{scan}: {e}");
        }
        // EAN-13 is 13 digits, EAN-8 is 8, ITF-14 is 14: a valid GTIN of another length is
        // not what the symbol carries (these were accepted before).
        for scan in [
            "]E000312345678906",
            "]E0312345678906",
            "]E012345670",
            "]E40312345678906",
            "]I10312345678906",
        ] {
            let e = p(scan).unwrap_err();
            assert_eq!(e.code(), "gs1.length", "{scan}: {e}");
            assert!(e.to_string().contains("position 3"), "{scan}: {e}");
        }
        assert_eq!(p("]E0031234567890A").unwrap_err().code(), "gs1.charset");
        // An add-on is no AI data: refused, saying so.
        let e = p("]E3031234567890612").unwrap_err();
        assert_eq!(e.code(), "gs1.syntax");
        assert!(e.to_string().contains("add-on"), "{e}");
        // EAN-13 with its 2D composite component, as the syntax engine transmits it.
        let es = p("]E00312345678906|]e010LOT1\u{1d}17271231").unwrap();
        assert_eq!(es.to_bracketed(), "(01)00312345678906(10)LOT1(17)271231");
        assert_eq!(
            p("]E00312345678906|]e010LOT1\u{1d}17271331")
                .unwrap_err()
                .code(),
            "gs1.date"
        );
    }

    #[test]
    fn non_gs1_symbology_identifiers_are_not_gs1_data_naming_the_symbology() {
        for (scan, name) in [
            ("]Q1TESTING", "QR Code, not in GS1 mode"),
            ("]d1TESTING", "Data Matrix, not in GS1 mode"),
            ("]C0TESTING", "Code 128, not GS1-128"),
            ("]J0TESTING", "DotCode, not in GS1 mode"),
        ] {
            let e = p(scan).unwrap_err();
            assert_eq!(e.code(), "gs1.not_gs1_data", "{scan}");
            let msg = e.to_string();
            assert!(msg.contains("not GS1 data") && msg.contains(name), "{msg}");
            assert_eq!(
                parse_scan_sgtin(scan).unwrap_err().code(),
                "gs1.not_gs1_data"
            );
        }
        assert!(p("]Q1TESTING")
            .unwrap_err()
            .to_string()
            .contains("GS1 QR Code is ]Q3"));
    }

    #[test]
    fn syntax_only_skips_requisites_and_keeps_every_other_check() {
        let so = |s: &str| parse_es(s, 2026, ParseOptions::SYNTAX_ONLY);
        // A lot without a GTIN: a requisite, so only the full parse refuses it.
        assert_eq!(p("(10)ABC").unwrap_err().code(), "gs1.ai_requires");
        assert_eq!(so("(10)ABC").unwrap().get("10"), Some("ABC"));
        assert_eq!(so("^10ABC^21S").unwrap().len(), 2);
        // Everything else stays checked.
        assert_eq!(so("(10)ABC(17)271331").unwrap_err().code(), "gs1.date");
        assert_eq!(
            so("(01)00312345678907").unwrap_err().code(),
            "gs1.check_digit"
        );
        assert_eq!(
            so("(01)00312345678906(02)00312345678906(37)1")
                .unwrap_err()
                .code(),
            "gs1.ai_excludes"
        );
        assert_eq!(so("(10)A(10)B").unwrap_err().code(), "gs1.ai_conflict");
        assert_eq!(so("(23)1").unwrap_err().code(), "gs1.unknown_ai");
    }

    #[test]
    fn missing_fnc1_after_variable_field_is_caught_as_overlong_value() {
        // Without GS, "21" swallows "17261200": 14 chars is fine for AI 21, so the
        // data is different from what was meant but valid; with AI 10 max 20 the
        // overflow is detected.
        let e = p("010031234567890610ABCDEFGHIJKLMNOPQRSTU21X").unwrap_err();
        assert_eq!(e.code(), "gs1.length");
        assert!(e.to_string().contains("(AI 10)"), "{e}");
    }

    #[test]
    fn ai_7003_is_fixed_length_but_needs_fnc1() {
        let es = p("01003123456789067003261231235910LOT").unwrap_err();
        assert_eq!(es.code(), "gs1.length", "{es}");
        let es = p("01003123456789067003261231235\u{1d}10LOT");
        assert!(es.is_err());
        let es = p("0100312345678906700326123123599\u{1d}10LOT").unwrap_err();
        assert_eq!(es.code(), "gs1.length");
        let ok = p("01003123456789067003261231235\u{1d}10LOT"
            .replace("235\u{1d}", "2359\u{1d}")
            .as_str())
        .unwrap();
        assert_eq!(ok.get("7003"), Some("2612312359"));
        assert_eq!(
            ok.to_raw(),
            "01003123456789067003261231235\u{1d}10LOT".replace("235\u{1d}", "2359\u{1d}")
        );
    }

    #[test]
    fn bracketed_round_trips_with_escaped_parenthesis() {
        let es = p("(01)00312345678906(21)A\\(B)(10)L1").unwrap();
        assert_eq!(es.get("21"), Some("A(B)"));
        assert_eq!(es.to_bracketed(), "(01)00312345678906(21)A\\(B)(10)L1");
        assert_eq!(p(&es.to_raw()).unwrap(), es);
    }

    #[test]
    fn pairing_rules_are_enforced() {
        let e = p("(21)ABC").unwrap_err();
        assert_eq!(e.code(), "gs1.ai_requires");
        assert!(e.to_string().contains("(01) or (03) or (8006)"), "{e}");
        let e = p("(01)00312345678906(02)00312345678906(37)1").unwrap_err();
        assert_eq!(e.code(), "gs1.ai_excludes");
        let e = p("(01)00312345678906(21)A(21)B").unwrap_err();
        assert_eq!(e.code(), "gs1.ai_conflict");
        let es = p("(01)00312345678906(21)A(21)A").unwrap();
        assert_eq!(es.len(), 2);
        assert_eq!(p("(715)1234567890").unwrap_err().code(), "gs1.ai_requires");
    }

    #[test]
    fn unknown_ais_are_reported_with_position() {
        let e = p("0100312345678906231234").unwrap_err();
        assert_eq!(e.code(), "gs1.unknown_ai");
        assert!(
            e.to_string().contains("\"2312\"") && e.to_string().contains("position 16"),
            "{e}"
        );
        assert_eq!(p("(23)1").unwrap_err().code(), "gs1.unknown_ai");
    }

    #[test]
    fn truncated_and_empty_data_are_errors() {
        assert_eq!(p("01003123456789").unwrap_err().code(), "gs1.length");
        assert_eq!(p("").unwrap_err().code(), "gs1.syntax");
        assert_eq!(p("]d2").unwrap_err().code(), "gs1.syntax");
        assert_eq!(
            p("0100312345678906\u{1d}").unwrap_err().code(),
            "gs1.syntax"
        );
        assert_eq!(
            p("010031234567890610\u{1d}21A").unwrap_err().code(),
            "gs1.syntax"
        );
    }

    #[test]
    fn regression_non_ascii_inside_a_fixed_component_is_a_charset_error_not_a_panic() {
        let e = p("(8003)00;\u{1d}urn\u{1d}4:epc\u{194}d0:").unwrap_err();
        assert_eq!(e.code(), "gs1.charset");
    }

    #[test]
    fn regression_repeated_ai_kept_once_compares_equal_to_its_rendering() {
        let es = p("\u{1d}4003d(2(22!..\u{1d}40100\u{1d}40100").unwrap();
        assert_eq!(es.len(), 2);
        assert_eq!(p(&es.to_raw()).unwrap(), es);
    }

    #[test]
    fn pack_scan_fast_path_agrees_with_the_general_parser() {
        let scan = "]d2010036141412345817271231\u{1d}10LOT4217\u{1d}21SN1002";
        let ps = parse_scan_sgtin(scan).unwrap();
        let es = parse_element_string(scan).unwrap();
        assert_eq!(Some(ps.sgtin), es.sgtin());
        assert_eq!(ps.lot, es.lot());
        assert_eq!(ps.expiry, es.expiry());
        assert_eq!(
            parse_scan_sgtin("(01)00361414123458(21)SN1002")
                .unwrap()
                .sgtin,
            ps.sgtin
        );
        assert_eq!(
            parse_scan_sgtin("0100361414123458").unwrap_err().code(),
            "gs1.not_an_identifier"
        );
        assert_eq!(
            parse_scan_sgtin("010036141412345821A\u{1d}21B")
                .unwrap_err()
                .code(),
            "gs1.ai_conflict"
        );
        assert_eq!(
            parse_scan_sgtin("21A").unwrap_err().code(),
            "gs1.ai_requires"
        );
    }

    #[test]
    fn digital_link_rendering_orders_qualifiers_and_puts_attributes_in_query() {
        let es = p("(01)00312345678906(17)261231(21)A/1(10)L 1"
            .replace(' ', "")
            .as_str())
        .unwrap();
        assert_eq!(
            es.to_digital_link("https://id.gs1.org").unwrap(),
            "https://id.gs1.org/01/00312345678906/10/L1/21/A%2F1?17=261231"
        );
    }

    #[test]
    fn digital_link_rendering_escapes_semicolons_in_query_values_so_they_round_trip() {
        let es = p("(01)00312345678906(240)A;B").unwrap();
        let dl = es.to_digital_link("https://id.gs1.org").unwrap();
        assert_eq!(dl, "https://id.gs1.org/01/00312345678906?240=A%3BB");
        assert_eq!(super::super::parse_digital_link(&dl).unwrap(), es);
    }
}
