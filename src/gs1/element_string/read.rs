//! The two readers of element strings: raw data (scanner output, EPC keys), split at FNC1 and
//! at the dictionary's predefined lengths, and the bracketed form `(01)…(21)…`.

use super::super::ai::table;
use super::super::error::{shown, Gs1Error};
use super::symbology::strip_symbology;
use super::{ElementString, GS};

pub(super) fn parse_raw(
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
pub(super) fn walk_raw<'a>(
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
    let raw = Raw {
        input,
        body,
        offset,
        key_form,
        caret,
    };
    while pos < b.len() {
        let ai_pos = pos;
        let Some((di, ai_len)) = t.at(&b[pos..]) else {
            return Err(unknown_ai(input, body, offset, pos));
        };
        let def = t.def(di);
        let vstart = pos + ai_len;
        let (vend, next) = raw.value_end(def, vstart)?;
        pos = next;
        let value = raw.value(def, vstart, vend)?;
        def.validate(value, year)
            .map_err(|e| e.at(input, offset + ai_pos))?;
        f(di, value)?;
    }
    Ok(())
}

/// Raw data being walked: the input, its body after the symbology identifier (at `offset`),
/// and what stands for FNC1.
struct Raw<'a> {
    input: &'a str,
    body: &'a str,
    offset: usize,
    key_form: bool,
    /// `^` in scan data, GS (again) in EPC keys.
    caret: u8,
}

impl<'a> Raw<'a> {
    fn fnc1(&self, c: u8) -> bool {
        c == GS || c == self.caret
    }

    /// Where the value starting at `vstart` ends, and where the next AI starts (past an
    /// FNC1 that ends the value, or a superfluous one after a predefined length).
    fn value_end(
        &self,
        def: &super::super::ai::AiDef,
        vstart: usize,
    ) -> Result<(usize, usize), Gs1Error> {
        let b = self.body.as_bytes();
        let vend = if let (true, Some(n)) = (def.predefined || self.key_form, def.fixed_len) {
            // Predefined length: the next AI follows directly.
            if vstart + n > b.len() || b[vstart..vstart + n].iter().any(|&c| self.fnc1(c)) {
                let got = b[vstart..].iter().take_while(|&&c| !self.fnc1(c)).count();
                return Err(Gs1Error::length(
                    def.label,
                    &self.body[vstart..],
                    &n.to_string(),
                    got,
                ));
            }
            vstart + n
        } else {
            b[vstart..]
                .iter()
                .position(|&c| self.fnc1(c))
                .map_or(b.len(), |k| vstart + k)
        };
        // An FNC1 ends a variable-length value; after a predefined-length element one is
        // superfluous and harmless: skipped either way, unless it ends the data.
        let mut pos = vend;
        if b.get(pos).is_some_and(|&c| self.fnc1(c)) {
            pos += 1;
            if pos == b.len() {
                return Err(trailing_gs(self.input, self.offset + pos - 1));
            }
        }
        Ok((vend, pos))
    }

    /// The value between `vstart` and `vend`: ASCII and not empty.
    fn value(
        &self,
        def: &super::super::ai::AiDef,
        vstart: usize,
        vend: usize,
    ) -> Result<&'a str, Gs1Error> {
        let (input, offset) = (self.input, self.offset);
        let value = self.body.get(vstart..vend).ok_or_else(|| {
            Gs1Error::charset("scan data", input, offset + vstart, '?', "ASCII data")
        })?;
        if value.is_empty() {
            return Err(Gs1Error::syntax(
                "scan data",
                input,
                offset + vstart,
                format!("a value for {}", def.label),
                if vstart >= self.body.len() {
                    "end of data".into()
                } else {
                    "FNC1 (GS)".to_string()
                },
            ));
        }
        Ok(value)
    }
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
        input: shown(input),
        position: offset + pos,
        ai: digits,
    }
}

pub(super) fn parse_bracketed(
    input: &str,
    year: i32,
    es: &mut ElementString,
) -> Result<(), Gs1Error> {
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
                    input: shown(input),
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
