//! Character sets, check digits, inline strings and percent-encoding shared by the identifiers.

use super::error::Gs1Error;

/// GS1 AI encodable character set 82 (General Specifications figure 7.11-1).
#[inline]
pub fn is_cset82(b: u8) -> bool {
    // A table lookup: the range match compiles to branches that mispredict on random serials.
    CLASS[b as usize] & CSET82 != 0
}

/// Byte classes, one bit each, looked up in [`CLASS`].
const CSET82: u8 = 1;
/// Percent-encoded in Digital Link values ([`dl_escape`]).
const DL_ESCAPE: u8 = 2;
/// Stands for itself in an EPC URI component: CSET 82 without `%` and what TDS requires to
/// be escaped.
const EPC_LITERAL: u8 = 4;

/// True when `b` stands for itself in an EPC URI component (no escape, no decoding).
#[inline]
pub(crate) fn is_epc_literal(b: u8) -> bool {
    CLASS[b as usize] & EPC_LITERAL != 0
}

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if matches!(b,
            b'!' | b'"' | b'%' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'-' | b'.' | b'/'
            | b'0'..=b'9' | b':' | b';' | b'<' | b'=' | b'>' | b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
        {
            t[i] |= CSET82;
        }
        if dl_must_escape_slow(b) {
            t[i] |= DL_ESCAPE;
        }
        if t[i] & CSET82 != 0 && !epc_must_escape(b) {
            t[i] |= EPC_LITERAL;
        }
        i += 1;
    }
    t
};

/// GS1 AI encodable character set 39 (used by CPID, AI 8010).
#[inline]
pub fn is_cset39(b: u8) -> bool {
    matches!(b, b'#' | b'-' | b'/' | b'0'..=b'9' | b'A'..=b'Z')
}

/// File-safe / URI-safe base64 alphabet (AI 8030 digital signature).
#[inline]
pub fn is_cset64(b: u8) -> bool {
    matches!(b, b'-' | b'_' | b'=' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z')
}

/// The CSET 82 characters in the order used by the alphanumeric check-character-pair algorithm.
const CSET82_ORDER: &[u8] =
    b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
/// The 32 characters a check-character pair is drawn from.
const CSET32: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// GS1 mod-10 check digit over ASCII digits (weights 3,1,3,… from the rightmost data digit).
/// Callers guarantee `data` holds only ASCII digits.
#[inline]
pub fn mod10_check_digit(data: &[u8]) -> u8 {
    let mut sum = 0u32;
    for (i, &b) in data.iter().rev().enumerate() {
        let d = (b - b'0') as u32;
        sum += if i % 2 == 0 { d * 3 } else { d };
    }
    b'0' + ((10 - (sum % 10)) % 10) as u8
}

/// GS1 alphanumeric check character pair (GMN, AI 8013; MUDI, AI 8014): weights are the
/// primes from 2 upwards assigned right to left, sum modulo 1021, split in base 32.
pub fn alnum_check_pair(data: &[u8]) -> Option<[u8; 2]> {
    const PRIMES: [u32; 23] = [
        2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
    ];
    if data.len() > PRIMES.len() {
        return None;
    }
    let mut sum = 0u32;
    for (i, &b) in data.iter().rev().enumerate() {
        let v = CSET82_ORDER.iter().position(|&c| c == b)? as u32;
        sum += v * PRIMES[i];
    }
    let sum = sum % 1021;
    Some([CSET32[(sum >> 5) as usize], CSET32[(sum & 31) as usize]])
}

/// Require every byte to be an ASCII digit.
pub fn require_digits(what: &'static str, s: &str) -> Result<(), Gs1Error> {
    match s.bytes().position(|b| !b.is_ascii_digit()) {
        None => Ok(()),
        Some(pos) => Err(Gs1Error::charset(
            what,
            s,
            pos,
            s[pos..].chars().next().unwrap_or('?'),
            "a digit 0-9",
        )),
    }
}

/// Verify the final digit of an all-digit string as a mod-10 check digit.
pub fn require_mod10(what: &'static str, s: &str) -> Result<(), Gs1Error> {
    let b = s.as_bytes();
    let (data, check) = b.split_at(b.len() - 1);
    let expected = mod10_check_digit(data);
    if check[0] != expected {
        return Err(Gs1Error::CheckDigit {
            what,
            input: s.to_string(),
            found: (check[0] as char).to_string(),
            expected: (expected as char).to_string(),
        });
    }
    Ok(())
}

/// Build a charset error for the character starting at byte `pos`, reporting its char index.
pub fn bad_char(what: &'static str, s: &str, pos: usize, expected: &'static str) -> Gs1Error {
    // `pos` may point inside a multi-byte character: back up to its start.
    let mut start = pos;
    while !s.is_char_boundary(start) {
        start -= 1;
    }
    let c = s[start..].chars().next().unwrap_or('?');
    Gs1Error::charset(what, s, s[..start].chars().count(), c, expected)
}

/// A string of at most `N` ASCII bytes stored inline, so identifiers need no heap allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InlineStr<const N: usize> {
    len: u8,
    buf: [u8; N],
}

impl<const N: usize> InlineStr<N> {
    /// Copy `s` in; `None` if it is longer than `N` bytes or not ASCII.
    #[inline]
    pub fn new(s: &str) -> Option<Self> {
        if s.len() > N || !s.is_ascii() {
            return None;
        }
        let mut buf = [0u8; N];
        buf[..s.len()].copy_from_slice(s.as_bytes());
        Some(InlineStr {
            len: s.len() as u8,
            buf,
        })
    }

    #[inline]
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored (checked in `new`), so this cannot fail.
        std::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }
}

impl<const N: usize> std::fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Characters that TDS requires to be percent-escaped in EPC URI components (TDS §7 table).
#[inline]
const fn epc_must_escape(b: u8) -> bool {
    matches!(b, b'"' | b'%' | b'&' | b'/' | b'<' | b'>' | b'?')
}

/// Escape a CSET 82 value for an EPC URI component.
pub fn epc_escape(s: &str, out: &mut String) {
    for b in s.bytes() {
        if epc_must_escape(b) {
            push_pct(out, b);
        } else {
            out.push(b as char);
        }
    }
}

/// Characters percent-encoded in Digital Link path and query values: the set GS1 Digital
/// Link table 7-1 names (`! space # % & ( ) * + , / :`) plus those TDS escapes in EPC URIs
/// (`" < > ?`). `' ; = . - _` stay literal, as the CBV 2.0 reference hash implementation
/// writes them, so canonical Digital Links (and event hashes) match other tools.
const fn dl_must_escape_slow(b: u8) -> bool {
    matches!(
        b,
        b'!' | b' '
            | b'#'
            | b'%'
            | b'&'
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b'/'
            | b':'
            | b'"'
            | b'<'
            | b'>'
            | b'?'
    ) || !b.is_ascii_graphic()
}

#[inline]
fn dl_must_escape(b: u8) -> bool {
    CLASS[b as usize] & DL_ESCAPE != 0
}

/// Percent-encode a value for a Digital Link path segment or query value.
pub fn dl_escape(s: &str, out: &mut String) {
    // Copy runs of literal bytes at once. Literal bytes are printable ASCII (every non-ASCII
    // byte is escaped), so a non-empty run starts and ends on char boundaries.
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if dl_must_escape(c) {
            if start < i {
                out.push_str(&s[start..i]);
            }
            push_pct(out, c);
            start = i + 1;
        }
    }
    if start < b.len() {
        out.push_str(&s[start..]);
    }
}

fn push_pct(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[(b >> 4) as usize] as char);
    out.push(HEX[(b & 15) as usize] as char);
}

pub(crate) fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for a URI path segment or
/// query value).
pub fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decode `%XX` escapes. Returns the input borrowed when it has none. `what` names the
/// component for errors; the result must be UTF-8.
pub fn pct_decode<'a>(
    what: &'static str,
    s: &'a str,
) -> Result<std::borrow::Cow<'a, str>, Gs1Error> {
    if !s.contains('%') {
        return Ok(std::borrow::Cow::Borrowed(s));
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = b.get(i + 1).copied().and_then(hex_val);
            let lo = b.get(i + 2).copied().and_then(hex_val);
            match (hi, lo) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    return Err(Gs1Error::syntax(
                        what,
                        s,
                        s[..i].chars().count(),
                        "a percent-escape %XX with two hex digits",
                        format!("{:?}", s[i..].chars().take(3).collect::<String>()),
                    ))
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(std::borrow::Cow::Owned)
        .map_err(|_| Gs1Error::invalid(what, s, "percent-escapes", "must decode to UTF-8", s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod10_matches_the_standards_sheet_examples() {
        assert_eq!(mod10_check_digit(b"0031234567890"), b'6');
        assert_eq!(mod10_check_digit(b"5031234567890"), b'1');
        assert_eq!(mod10_check_digit(b"10312345000000001"), b'8');
    }

    #[test]
    fn alnum_check_pair_matches_the_gmn_example() {
        // GMN example from the GS1 General Specifications (AI 8013): "1987654Ad4X4bL5ttr2310c2K".
        let gmn = b"1987654Ad4X4bL5ttr2310c";
        assert_eq!(alnum_check_pair(gmn), Some(*b"2K"));
    }

    #[test]
    fn cset82_has_82_members_and_excludes_space_and_hash() {
        let n = (0u8..=255).filter(|&b| is_cset82(b)).count();
        assert_eq!(n, 82);
        assert!(!is_cset82(b' ') && !is_cset82(b'#') && !is_cset82(b'^'));
        assert_eq!(CSET82_ORDER.len(), 82);
        assert!(CSET82_ORDER.iter().all(|&b| is_cset82(b)));
    }

    #[test]
    fn epc_escape_round_trips_through_pct_decode() {
        let raw = "A/B%C&D\"<>?x";
        let mut e = String::new();
        epc_escape(raw, &mut e);
        assert_eq!(e, "A%2FB%25C%26D%22%3C%3E%3Fx");
        assert_eq!(pct_decode("serial", &e).unwrap(), raw);
    }

    #[test]
    fn dl_escape_covers_the_digital_link_and_epc_sets_only() {
        let mut e = String::new();
        dl_escape("A'B;C=D.E-F_G!H(I)J*K+L,M/N:O%P&Q\"R<S>T?U", &mut e);
        assert_eq!(
            e,
            "A'B;C=D.E-F_G%21H%28I%29J%2AK%2BL%2CM%2FN%3AO%25P%26Q%22R%3CS%3ET%3FU"
        );
    }

    #[test]
    fn dl_escape_escapes_every_byte_of_non_ascii_characters() {
        let mut e = String::from("x");
        dl_escape("\u{e9}a\u{20ac} b\u{1}", &mut e);
        assert_eq!(e, "x%C3%A9a%E2%82%AC%20b%01");
    }

    #[test]
    fn byte_class_table_matches_the_sets() {
        let slow82 = |b: u8| b"!\"%&'()*+,-./:;<=>?_".contains(&b) || b.is_ascii_alphanumeric();
        for b in 0..=255u8 {
            assert_eq!(is_cset82(b), slow82(b), "{b}");
            assert_eq!(dl_must_escape(b), dl_must_escape_slow(b), "{b}");
            assert_eq!(
                is_epc_literal(b),
                slow82(b) && !b"\"%&/<>?".contains(&b),
                "{b}"
            );
        }
    }

    #[test]
    fn pct_decode_rejects_truncated_escape() {
        let e = pct_decode("serial", "AB%2").unwrap_err();
        assert_eq!(e.code(), "gs1.syntax");
        assert!(e.to_string().contains("position 2"), "{e}");
    }

    #[test]
    fn inline_str_rejects_too_long_and_non_ascii() {
        assert!(InlineStr::<3>::new("abcd").is_none());
        assert!(InlineStr::<3>::new("é").is_none());
        assert_eq!(InlineStr::<3>::new("abc").unwrap().as_str(), "abc");
    }
}
