//! The GS1 Application Identifier table, driven by the GS1 Barcode Syntax Dictionary
//! (`gs1-syntax-dictionary.txt`, Apache-2.0, GS1 AISBL; see `docs/GS1.md`).
//!
//! The dictionary is embedded at build time and parsed once on first use. Each entry gives the
//! AI's components (character set, fixed or variable length, optional parts), the content
//! checks ("linters") to run on each component, whether the AI has a predefined length (no
//! FNC1 needed after it), whether it may be a Digital Link query attribute, the mandatory and
//! exclusive pairings, and the Digital Link primary-key qualifier sequences. The linters
//! themselves are in `lint`.

use std::sync::OnceLock;

use super::chars::{bad_char, is_cset39, is_cset64, is_cset82};
use super::error::Gs1Error;

mod lint;
#[cfg(test)]
mod tests;

use lint::lint;

const DICTIONARY: &str = include_str!("../gs1-syntax-dictionary.txt");

/// Character set of one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cset {
    /// Digits.
    N,
    /// GS1 CSET 82.
    X,
    /// GS1 CSET 39.
    Y,
    /// URI-safe base64.
    Z,
}

/// Content checks applied to a component, named as in the dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linter {
    Csum,
    CsumAlpha,
    GcpPos1,
    GcpPos2,
    Yymmd0,
    Yymmdd,
    Yyyymmdd,
    Hhmi,
    Hh,
    Mi,
    Ss,
    Zero,
    NonZero,
    Winding,
    YesNo,
    Iso5218,
    Hyphen,
    PieceOfTotal,
    Latitude,
    Longitude,
    NoZeroPrefix,
    HasNonDigit,
    PcEnc,
    PosInSeqSlash,
    ImporterIdx,
    Iban,
    /// A linter whose code list we do not carry (country, currency, coupon, package type,
    /// media type codes): the component's format is still checked.
    FormatOnly(String),
}

#[derive(Debug, Clone)]
pub struct Component {
    pub cset: Cset,
    pub min: usize,
    pub max: usize,
    pub optional: bool,
    pub linters: Vec<Linter>,
}

/// One Application Identifier.
#[derive(Debug, Clone)]
pub struct AiDef {
    /// The AI digits, e.g. "01", "3103", "7003".
    pub ai: &'static str,
    /// Label for messages: "USE BY or EXPIRY (AI 17)".
    pub label: &'static str,
    /// Title from the dictionary, e.g. "USE BY or EXPIRY".
    pub title: &'static str,
    /// In the GS1 predefined-length table: never followed by FNC1.
    pub predefined: bool,
    /// Allowed as a Digital Link query-string data attribute.
    pub dl_attribute: bool,
    pub components: Vec<Component>,
    /// Total length when every component is fixed and mandatory.
    pub fixed_len: Option<usize>,
    pub max_len: usize,
    /// Each `req=` attribute: alternatives, each a set of AIs/patterns that must all be present.
    pub req: Vec<Vec<Vec<&'static str>>>,
    /// `ex=` patterns.
    pub ex: Vec<&'static str>,
    /// Digital Link primary key: alternative ordered qualifier sequences (`dlpkey`).
    pub dl_pkey: Option<Vec<Vec<&'static str>>>,
}

pub struct AiTable {
    defs: Vec<AiDef>,
    idx2: Vec<u16>,
    idx3: Vec<u16>,
    idx4: Vec<u16>,
}

const NONE: u16 = u16::MAX;

fn leak(s: String) -> &'static str {
    // The table is built once per process and lives for its whole life.
    Box::leak(s.into_boxed_str())
}

/// The parsed dictionary.
pub fn table() -> &'static AiTable {
    static TABLE: OnceLock<AiTable> = OnceLock::new();
    TABLE.get_or_init(|| parse_dictionary(DICTIONARY).expect("embedded syntax dictionary parses"))
}

fn parse_component(tok: &str) -> Result<Component, String> {
    let mut parts = tok.split(',');
    let mut ty = parts.next().ok_or("empty component")?;
    let optional = ty.starts_with('[');
    if optional {
        ty = ty
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .ok_or_else(|| format!("bad optional component {tok}"))?;
    }
    let cset = match ty.as_bytes().first() {
        Some(b'N') => Cset::N,
        Some(b'X') => Cset::X,
        Some(b'Y') => Cset::Y,
        Some(b'Z') => Cset::Z,
        _ => return Err(format!("bad component type {tok}")),
    };
    let len = &ty[1..];
    let (min, max) = if let Some(m) = len.strip_prefix("..") {
        (1, m.parse::<usize>().map_err(|e| format!("{tok}: {e}"))?)
    } else {
        let n = len.parse::<usize>().map_err(|e| format!("{tok}: {e}"))?;
        (n, n)
    };
    let linters = parts
        .map(|l| match l {
            "csum" => Linter::Csum,
            "csumalpha" => Linter::CsumAlpha,
            "gcppos1" => Linter::GcpPos1,
            "gcppos2" => Linter::GcpPos2,
            "yymmd0" => Linter::Yymmd0,
            "yymmdd" => Linter::Yymmdd,
            "yyyymmdd" => Linter::Yyyymmdd,
            "hhmi" => Linter::Hhmi,
            "hh" => Linter::Hh,
            "mi" => Linter::Mi,
            "ss" => Linter::Ss,
            "zero" => Linter::Zero,
            "nonzero" => Linter::NonZero,
            "winding" => Linter::Winding,
            "yesno" => Linter::YesNo,
            "iso5218" => Linter::Iso5218,
            "hyphen" => Linter::Hyphen,
            "pieceoftotal" => Linter::PieceOfTotal,
            "latitude" => Linter::Latitude,
            "longitude" => Linter::Longitude,
            "nozeroprefix" => Linter::NoZeroPrefix,
            "hasnondigit" => Linter::HasNonDigit,
            "pcenc" => Linter::PcEnc,
            "posinseqslash" => Linter::PosInSeqSlash,
            "importeridx" => Linter::ImporterIdx,
            "iban" => Linter::Iban,
            other => Linter::FormatOnly(other.to_string()),
        })
        .collect();
    Ok(Component {
        cset,
        min,
        max,
        optional,
        linters,
    })
}

fn parse_dictionary(text: &str) -> Result<AiTable, String> {
    let mut defs: Vec<AiDef> = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (body, title) = match line.split_once('#') {
            Some((b, t)) => (b, t.trim()),
            None => (line, ""),
        };
        let mut toks = body.split_whitespace().peekable();
        let ais = toks.next().ok_or(format!("line {lineno}: no AI"))?;
        let mut predefined = false;
        let mut dl_attribute = false;
        if let Some(f) = toks.peek() {
            if f.bytes().all(|b| b == b'*' || b == b'?') {
                predefined = f.contains('*');
                dl_attribute = f.contains('?');
                toks.next();
            }
        }
        let mut components = Vec::new();
        let mut req = Vec::new();
        let mut ex = Vec::new();
        let mut dl_pkey = None;
        for tok in toks {
            if let Some(v) = tok.strip_prefix("req=") {
                req.push(
                    v.split(',')
                        .map(|alt| alt.split('+').map(|s| leak(s.to_string())).collect())
                        .collect(),
                );
            } else if let Some(v) = tok.strip_prefix("ex=") {
                ex.extend(v.split(',').map(|s| leak(s.to_string())));
            } else if tok == "dlpkey" {
                dl_pkey = Some(vec![Vec::new()]);
            } else if let Some(v) = tok.strip_prefix("dlpkey=") {
                dl_pkey = Some(
                    v.split('|')
                        .map(|seq| seq.split(',').map(|s| leak(s.to_string())).collect())
                        .collect(),
                );
            } else {
                components.push(parse_component(tok).map_err(|e| format!("line {lineno}: {e}"))?);
            }
        }
        let fixed_len = if components.iter().all(|c| c.min == c.max && !c.optional) {
            Some(components.iter().map(|c| c.max).sum())
        } else {
            None
        };
        let max_len = components.iter().map(|c| c.max).sum();
        let (first, last) = match ais.split_once('-') {
            Some((a, b)) => (a, b),
            None => (ais, ais),
        };
        let width = first.len();
        let lo: u32 = first
            .parse()
            .map_err(|_| format!("line {lineno}: bad AI {ais}"))?;
        let hi: u32 = last
            .parse()
            .map_err(|_| format!("line {lineno}: bad AI {ais}"))?;
        let title = leak(title.to_string());
        for n in lo..=hi {
            let ai = leak(format!("{n:0width$}"));
            defs.push(AiDef {
                ai,
                label: leak(if title.is_empty() {
                    format!("AI ({ai})")
                } else {
                    format!("{title} (AI {ai})")
                }),
                title,
                predefined,
                dl_attribute,
                components: components.clone(),
                fixed_len,
                max_len,
                req: req.clone(),
                ex: ex.clone(),
                dl_pkey: dl_pkey.clone(),
            });
        }
    }
    let mut idx2 = vec![NONE; 100];
    let mut idx3 = vec![NONE; 1000];
    let mut idx4 = vec![NONE; 10000];
    for (i, d) in defs.iter().enumerate() {
        let n: usize = d.ai.parse().map_err(|_| format!("bad AI {}", d.ai))?;
        match d.ai.len() {
            2 => idx2[n] = i as u16,
            3 => idx3[n] = i as u16,
            4 => idx4[n] = i as u16,
            _ => return Err(format!("AI {} is not 2 to 4 digits", d.ai)),
        }
    }
    Ok(AiTable {
        defs,
        idx2,
        idx3,
        idx4,
    })
}

impl AiTable {
    /// All AIs in dictionary order.
    pub fn all(&self) -> &[AiDef] {
        &self.defs
    }

    pub fn def(&self, i: u16) -> &AiDef {
        &self.defs[i as usize]
    }

    /// The AI exactly equal to `ai` ("01", "7003").
    pub fn get(&self, ai: &str) -> Option<u16> {
        let b = ai.as_bytes();
        if !(2..=4).contains(&b.len()) || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n: usize = b.iter().fold(0, |a, &c| a * 10 + (c - b'0') as usize);
        let i = match b.len() {
            2 => self.idx2[n],
            3 => self.idx3[n],
            _ => self.idx4[n],
        };
        (i != NONE).then_some(i)
    }

    /// Identify the AI at the start of `data` (AIs are prefix-free). Returns the index and length.
    #[inline]
    pub fn at(&self, data: &[u8]) -> Option<(u16, usize)> {
        let mut n = 0usize;
        for (k, &c) in data.iter().take(4).enumerate() {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + (c - b'0') as usize;
            let i = match k {
                1 => self.idx2[n],
                2 => self.idx3[n],
                3 => self.idx4[n],
                _ => NONE,
            };
            if i != NONE {
                return Some((i, k + 1));
            }
        }
        None
    }
}

/// Does `ai` match a dictionary pattern like "01", "310n" or "35nn"?
pub fn pattern_matches(pattern: &str, ai: &str) -> bool {
    pattern.len() == ai.len()
        && pattern
            .bytes()
            .zip(ai.bytes())
            .all(|(p, a)| p == a || (p == b'n' && a.is_ascii_digit()))
}

impl AiDef {
    /// Validate a value against this AI's components and linters.
    pub fn validate(&self, value: &str, current_year: i32) -> Result<(), Gs1Error> {
        let what = self.label;
        let b = value.as_bytes();
        // Every GS1 character set is ASCII; refusing the rest first keeps slicing safe.
        if let Some(p) = b.iter().position(|c| !c.is_ascii()) {
            return Err(bad_char(
                what,
                value,
                p,
                "an ASCII character of the AI's character set",
            ));
        }
        if b.is_empty() {
            return Err(Gs1Error::length(what, value, &self.length_text(), 0));
        }
        if b.len() > self.max_len {
            return Err(Gs1Error::length(
                what,
                value,
                &self.length_text(),
                value.chars().count(),
            ));
        }
        let mut pos = 0usize;
        for (ci, c) in self.components.iter().enumerate() {
            if pos >= b.len() && c.optional {
                break;
            }
            let rest = b.len() - pos;
            let take = if c.min == c.max {
                if rest < c.min {
                    return Err(Gs1Error::length(
                        what,
                        value,
                        &self.length_text(),
                        value.chars().count(),
                    ));
                }
                c.min
            } else {
                rest.min(c.max)
            };
            let part = &value[pos..pos + take];
            for (k, &ch) in part.as_bytes().iter().enumerate() {
                let ok = match c.cset {
                    Cset::N => ch.is_ascii_digit(),
                    Cset::X => is_cset82(ch),
                    Cset::Y => is_cset39(ch),
                    Cset::Z => is_cset64(ch),
                };
                if !ok {
                    return Err(bad_char(
                        what,
                        value,
                        pos + k,
                        match c.cset {
                            Cset::N => "a digit 0-9",
                            Cset::X => "a GS1 CSET 82 character",
                            Cset::Y => "a GS1 CSET 39 character",
                            Cset::Z => "a URI-safe base64 character",
                        },
                    ));
                }
            }
            for l in &c.linters {
                lint(what, value, part, ci, l, current_year)?;
            }
            pos += take;
        }
        if pos < b.len() {
            return Err(Gs1Error::length(
                what,
                value,
                &self.length_text(),
                value.chars().count(),
            ));
        }
        Ok(())
    }

    /// "14", "1 to 20", "6 to 18".
    pub fn length_text(&self) -> String {
        match self.fixed_len {
            Some(n) => n.to_string(),
            None => {
                let min: usize = self
                    .components
                    .iter()
                    .filter(|c| !c.optional)
                    .map(|c| c.min)
                    .sum();
                format!("{} to {}", min.max(1), self.max_len)
            }
        }
    }

    /// The format as the General Specifications write it, e.g. `N14`, `X..20`, `N6 [N4]`.
    pub fn format_text(&self) -> String {
        self.components
            .iter()
            .map(|c| {
                let t = match c.cset {
                    Cset::N => "N",
                    Cset::X => "X",
                    Cset::Y => "Y",
                    Cset::Z => "Z",
                };
                let l = if c.min == c.max {
                    format!("{t}{}", c.max)
                } else {
                    format!("{t}..{}", c.max)
                };
                if c.optional {
                    format!("[{l}]")
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}
