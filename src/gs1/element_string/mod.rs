//! GS1 element strings: raw scanner data (FNC1 as GS, optional symbology identifier) and the
//! human-readable bracketed form, parsed into validated AI/value pairs ([`ElementString`]).
//!
//! - `symbology`: symbology identifiers (ISO/IEC 15424) and the carriers of a bare GTIN.
//! - `read`: the readers of raw data and of the bracketed form.
//! - `scan`: the allocation-free path for a DSCSA pack scan ([`parse_scan_sgtin`]).

use std::fmt;

use super::ai::{pattern_matches, table, AiDef};
use super::chars::dl_escape;
use super::dates::current_year;
use super::error::Gs1Error;
use super::keys::{Gln, Gtin, Lot, SerialNumber, Sscc};
use super::options::ParseOptions;
use super::{Expiry, Sgtin};

mod read;
mod scan;
mod symbology;
#[cfg(test)]
mod tests;

use read::{parse_bracketed, parse_raw};
pub use scan::{parse_scan_sgtin, PackScan};
pub(crate) use symbology::symbology_name;
use symbology::{add_on, parse_bare_gtin, symbology_of, Carrier};

/// ASCII 29, how scanners transmit FNC1 used as a separator.
pub const GS: u8 = 0x1d;

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
