//! GS1 Digital Link URIs (uncompressed): numeric (`/01/…/10/…/21/…?17=…`) and the
//! deprecated convenience alphas of Digital Link 1.0/1.1 (`/gtin/…/lot/…/ser/…?exp=…`) that
//! deployed verification services use. docs/GS1.md ("Digital Link decisions") says which
//! rule of the standard each check follows.
//!
//! The primary key is found from the end of the path, as the GS1 Barcode Syntax Engine does:
//! walking back over `/AI/value` pairs, the first pair whose AI is a Digital Link primary key
//! starts the GS1 path; everything before it is the resolver's own path (`/vrs/verify`,
//! `/some/path`), even when that path holds segments that look like AIs. Qualifiers must
//! follow the order the syntax dictionary's `dlpkey` attribute gives; query parameters that
//! are AIs must be Digital Link data attributes.

use super::ai::table;
use super::chars::pct_decode;
use super::dates::current_year;
use super::element_string::ElementString;
use super::error::{shown, Gs1Error};
use super::options::ParseOptions;

/// A parsed Digital Link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigitalLink {
    /// `scheme://host` plus any path before the primary key.
    pub base: String,
    /// Primary key, qualifiers (path order), then query data attributes.
    pub elements: ElementString,
    /// Query parameters that are not AIs (`linkType`, `context`, `reqGLN`, ...), decoded.
    pub params: Vec<(String, String)>,
    /// True when deprecated convenience alphas (`gtin`, `lot`, `ser`, `exp`) were used.
    pub alpha: bool,
}

/// Convenience alphas of the Digital Link 1.1 grammar for path segments (case-sensitive).
/// Deprecated since Digital Link 1.2 and never written by this module, but still what GS1 US
/// verification (VRS) requests use. The 1.1 keys `shipTo`, `billTo`, `purchasedFrom`,
/// `shipFor` and `glnProd` (AIs 410-413, 416) are left out: those AIs are no Digital Link
/// primary keys in the current syntax dictionary. There never was an alpha for 235 (TPX) or
/// 7040.
const PATH_ALPHAS: &[(&str, &str)] = &[
    ("gtin", "01"),
    ("itip", "8006"),
    ("gmn", "8013"),
    ("cpid", "8010"),
    ("sscc", "00"),
    ("gln", "414"),
    ("payTo", "415"),
    ("party", "417"),
    ("gsrnp", "8017"),
    ("gsrn", "8018"),
    ("gcn", "255"),
    ("gdti", "253"),
    ("ginc", "401"),
    ("gsin", "402"),
    ("giai", "8004"),
    ("grai", "8003"),
    ("cpv", "22"),
    ("lot", "10"),
    ("ser", "21"),
    ("glnx", "254"),
    ("refno", "8020"),
    ("srin", "8019"),
    ("cpsn", "8011"),
];

/// Convenience alphas of the Digital Link 1.1 grammar for query parameters.
const QUERY_ALPHAS: &[(&str, &str)] = &[("exp", "17"), ("expdt", "7003"), ("lot", "10")];

fn resolve_in(alphas: &[(&str, &'static str)], seg: &str) -> Option<(&'static str, bool)> {
    if let Some(&(_, ai)) = alphas.iter().find(|(a, _)| *a == seg) {
        return Some((ai, true));
    }
    if !seg.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = table();
    t.get(seg).map(|i| (t.def(i).ai, false))
}

/// A path segment that names an AI: its number, and whether it was an alpha.
fn resolve_name(seg: &str) -> Option<(&'static str, bool)> {
    resolve_in(PATH_ALPHAS, seg)
}

fn is_pkey(ai: &str) -> bool {
    let t = table();
    t.get(ai).is_some_and(|i| t.def(i).dl_pkey.is_some())
}

/// Does this URI's path start like a Digital Link (first segment a primary key AI or alias)?
pub fn claims_digital_link(uri: &str) -> bool {
    let Some(rest) = strip_scheme(uri) else {
        return false;
    };
    let path_start = rest.find('/').map_or(rest.len(), |i| i);
    let path = &rest[path_start..];
    let first = path
        .trim_start_matches('/')
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("");
    resolve_name(first).is_some_and(|(ai, _)| is_pkey(ai))
}

/// The part after `http://` or `https://`, the scheme in any case (RFC 3986 section 3.1;
/// the Digital Link ABNF's `"http"` / `"https"` are case-insensitive ABNF strings).
fn strip_scheme(uri: &str) -> Option<&str> {
    if uri
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    {
        Some(&uri[8..])
    } else if uri
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
    {
        Some(&uri[7..])
    } else {
        None
    }
}

/// Parse a Digital Link URI into its element string (primary key, qualifiers, data attributes).
pub fn parse_digital_link(uri: &str) -> Result<ElementString, Gs1Error> {
    parse_digital_link_full(uri).map(|d| d.elements)
}

fn dl_err(uri: &str, rule: impl Into<String>, found: impl Into<String>) -> Gs1Error {
    Gs1Error::DigitalLink {
        input: shown(uri),
        rule: rule.into(),
        found: found.into(),
    }
}

/// Parse a Digital Link URI keeping the base, non-AI parameters and the form used.
pub fn parse_digital_link_full(uri: &str) -> Result<DigitalLink, Gs1Error> {
    parse_dl(uri, current_year(), ParseOptions::FULL)
}

/// As [`parse_digital_link_full`], checking what `options` asks for.
pub fn parse_digital_link_with(uri: &str, options: ParseOptions) -> Result<DigitalLink, Gs1Error> {
    parse_dl(uri, current_year(), options)
}

/// The authority (`host[:port]`) as the Digital Link grammar has it: RFC 3986 `host`
/// (IP-literal, IPv4 address or reg-name) and an optional numeric port; no user information.
fn check_authority(uri: &str, authority: &str, at: usize) -> Result<(), Gs1Error> {
    let err = |pos: usize, expected: &str, found: String| {
        Gs1Error::syntax("Digital Link", uri, at + pos, expected, found)
    };
    if authority.is_empty() {
        return Err(err(0, "a host name", "nothing".into()));
    }
    let port_from = if let Some(inner) = authority.strip_prefix('[') {
        let close = inner
            .find(']')
            .ok_or_else(|| err(0, "an IPv6 address in brackets", "no ']'".into()))?;
        let ip = &inner[..close];
        if let Some(z) = ip.find('%') {
            // RFC 3986 IP-literal (which the Digital Link grammar uses) has no zone; a zone
            // (RFC 6874) names an interface of one machine, meaningless in an identifier.
            return Err(err(
                1 + z,
                "an IPv6 address without zone identifier (a zone such as %25eth0 is local to one machine)",
                format!("{:?}", &ip[z..]),
            ));
        }
        let future = ip.starts_with(['v', 'V']);
        if ip.is_empty()
            || !future
                && !ip
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err(err(1, "an IPv6 address", format!("{ip:?}")));
        }
        close + 2
    } else {
        let end = authority.rfind(':').unwrap_or(authority.len());
        let host = &authority[..end];
        if let Some(p) = host
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b)))
        {
            let found = host[p..].chars().next().unwrap_or('?');
            return Err(err(
                p,
                if found == '@' {
                    "a host name (user information \"user@\" is not part of a Digital Link)"
                } else {
                    "a host name character (letters, digits, - . _ ~, %XX, ! $ & ' ( ) * + , ; =)"
                },
                format!("{found:?}"),
            ));
        }
        if host.is_empty() {
            return Err(err(0, "a host name", "nothing".into()));
        }
        end
    };
    let rest = &authority[port_from.min(authority.len())..];
    if !rest.is_empty() {
        let port = rest
            .strip_prefix(':')
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()));
        if port.is_none() {
            return Err(err(
                port_from,
                "\":\" and a port number",
                format!("{rest:?}"),
            ));
        }
    }
    Ok(())
}

/// Index of the primary key segment: walking back from the end over `/AI/value` pairs, the
/// first AI that is a primary key. None when a pair's first segment is no AI before that.
fn find_primary_key(segs: &[&str]) -> Option<usize> {
    let mut i = segs.len();
    while i >= 2 {
        let (ai, _) = resolve_name(segs[i - 2])?;
        if is_pkey(ai) {
            return Some(i - 2);
        }
        i -= 2;
    }
    None
}

pub(crate) fn parse_dl(
    uri: &str,
    year: i32,
    options: ParseOptions,
) -> Result<DigitalLink, Gs1Error> {
    let rest = strip_scheme(uri).ok_or_else(|| {
        Gs1Error::syntax(
            "Digital Link",
            uri,
            0,
            "\"https://\" or \"http://\"",
            format!("{:?}", uri.chars().take(8).collect::<String>()),
        )
    })?;
    if let Some(p) = uri.bytes().position(|b| b <= b' ' || b >= 0x7f) {
        return Err(super::chars::bad_char(
            "Digital Link",
            uri,
            p,
            "a printable ASCII URI character (escape others as %XX)",
        ));
    }
    let scheme_len = uri.len() - rest.len();
    let no_frag = rest.split('#').next().unwrap_or("");
    let (before_query, query) = match no_frag.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (no_frag, None),
    };
    let path_start = before_query.find('/').unwrap_or(before_query.len());
    check_authority(uri, &before_query[..path_start], scheme_len)?;
    let path = &before_query[path_start..];
    // One trailing slash is tolerated on input (the standard's own regular expression allows
    // it, its ABNF does not; the syntax engine refuses it). It is never written.
    let path = path.strip_suffix('/').unwrap_or(path);
    let segs: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path[1..].split('/').collect()
    };

    // No GS1 path at the end: if a primary key with an even number of segments from it
    // exists, parse from there so the error names the segment that is wrong.
    let start = find_primary_key(&segs)
        .or_else(|| {
            (0..segs.len()).find(|&i| {
                (segs.len() - i) % 2 == 0
                    && resolve_name(segs[i]).is_some_and(|(ai, _)| is_pkey(ai))
            })
        })
        .ok_or_else(|| {
            dl_err(
                uri,
                "the path must end in a primary key AI followed by its value and its qualifiers (e.g. /01/{gtin}/21/{serial})",
                format!("path {path:?}"),
            )
        })?;

    let mut es = ElementString::new();
    let mut alpha = false;
    let t = table();
    let (pk_ai, pk_alpha) = resolve_name(segs[start]).unwrap_or(("", false));
    alpha |= pk_alpha;
    let pk_def = t.def(t.get(pk_ai).unwrap_or(0));
    let mut pk_value = pct_decode(pk_def.label, segs[start + 1])?;
    // GTIN-8/12/13 in a Digital Link are accepted and normalised to 14 digits.
    if pk_ai == "01"
        && matches!(pk_value.len(), 8 | 12 | 13)
        && pk_value.bytes().all(|b| b.is_ascii_digit())
    {
        pk_value = format!("{:0>14}", pk_value).into();
    }
    // Errors in a value say where its segment starts in the URI.
    let at = |seg: &str| seg.as_ptr() as usize - uri.as_ptr() as usize;
    es.push_checked(pk_ai, &pk_value, year)
        .map_err(|e| e.at(uri, at(segs[start + 1])))?;

    // Qualifiers: the sequence must be an ordered subsequence of one dlpkey alternative.
    let seqs = pk_def.dl_pkey.clone().unwrap_or_default();
    let mut quals: Vec<&'static str> = Vec::new();
    for pair in segs[start + 2..].chunks(2) {
        let (q, is_alpha) = resolve_name(pair[0]).ok_or_else(|| {
            dl_err(
                uri,
                format!("path segment after ({pk_ai}) must be a key qualifier AI"),
                format!("{:?}", pair[0]),
            )
        })?;
        alpha |= is_alpha;
        if !seqs.iter().any(|s| s.contains(&q)) {
            let allowed: Vec<String> = seqs
                .iter()
                .map(|s| s.join(","))
                .filter(|s| !s.is_empty())
                .collect();
            return Err(dl_err(
                uri,
                if allowed.is_empty() {
                    format!("({pk_ai}) takes no key qualifiers")
                } else {
                    format!("qualifiers of ({pk_ai}) are {}", allowed.join(" or "))
                },
                format!("({q})"),
            ));
        }
        quals.push(q);
        let v = pct_decode(t.def(t.get(q).unwrap_or(0)).label, pair[1])?;
        es.push_checked(q, &v, year)
            .map_err(|e| e.at(uri, at(pair[1])))?;
    }
    if !quals.is_empty() {
        let ordered = seqs.iter().any(|s| {
            let mut it = s.iter();
            quals.iter().all(|q| it.any(|x| x == q))
        });
        if !ordered {
            let order: Vec<String> = seqs
                .iter()
                .map(|s| s.iter().map(|q| format!("/{q}")).collect::<String>())
                .collect();
            return Err(dl_err(
                uri,
                format!(
                    "key qualifiers out of order; allowed order after /{pk_ai} is {}",
                    order.join(" or ")
                ),
                quals.iter().map(|q| format!("/{q}")).collect::<String>(),
            ));
        }
    }

    let mut params = Vec::new();
    let mut in_query: Vec<&'static str> = Vec::new();
    if let Some(q) = query {
        // `&` and `;` both separate parameters (the grammar's queryStringDelim); empty
        // parameters (`?&&17=…`) are skipped.
        for kv in q.split(['&', ';']).filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let numeric = !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit());
            let named = resolve_in(QUERY_ALPHAS, k).filter(|(_, a)| *a);
            if numeric || named.is_some() {
                let (ai, is_alpha) = match named {
                    Some(n) => n,
                    // Every all-digit key claims to be an AI, as in the syntax engine.
                    None => resolve_in(&[], k).ok_or_else(|| Gs1Error::UnknownAi {
                        input: shown(uri),
                        position: at(kv),
                        ai: k.to_string(),
                    })?,
                };
                alpha |= is_alpha;
                let def = t.def(t.get(ai).unwrap_or(0));
                if !def.dl_attribute || def.dl_pkey.is_some() && ai == pk_ai {
                    return Err(dl_err(
                        uri,
                        format!(
                            "{} is not allowed as a Digital Link query attribute",
                            def.label
                        ),
                        kv.to_string(),
                    ));
                }
                if quals.contains(&ai) {
                    return Err(dl_err(
                        uri,
                        format!("{} is already a path qualifier", def.label),
                        kv.to_string(),
                    ));
                }
                if in_query.contains(&ai) {
                    return Err(dl_err(
                        uri,
                        format!("{} appears twice in the query", def.label),
                        kv.to_string(),
                    ));
                }
                in_query.push(ai);
                if v.is_empty() {
                    return Err(Gs1Error::syntax(
                        "Digital Link",
                        uri,
                        at(kv) + k.len(),
                        format!("\"=\" and a value for {}", def.label),
                        if kv.contains('=') {
                            "nothing"
                        } else {
                            "no \"=\""
                        },
                    ));
                }
                // In the query `+` is a space (form encoding, as the syntax engine reads it);
                // a literal plus is written %2B.
                let spaced: std::borrow::Cow<str> = if v.contains('+') {
                    v.replace('+', " ").into()
                } else {
                    v.into()
                };
                let v = pct_decode(def.label, &spaced)?;
                es.push_checked(ai, &v, year)
                    .map_err(|e| e.at(uri, at(kv)))?;
            } else {
                let k = pct_decode("Digital Link query key", k)?.into_owned();
                let v = pct_decode("Digital Link query value", &v.replace('+', " "))?.into_owned();
                params.push((k, v));
            }
        }
    }
    es.check_pairs_with(options)?;
    let base_end =
        scheme_len + path_start + segs[..start].iter().map(|s| s.len() + 1).sum::<usize>();
    Ok(DigitalLink {
        base: uri[..base_end].to_string(),
        elements: es,
        params,
        alpha,
    })
}

impl DigitalLink {
    /// Value of a non-AI query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<DigitalLink, Gs1Error> {
        parse_dl(s, 2026, ParseOptions::FULL)
    }

    #[test]
    fn numeric_vrs_request_form() {
        let d = p("https://vrs.example.com/01/00312345678906/10/LOT42/21/SN%2F1?17=261200&linkType=verificationService&context=dscsaSaleableReturn&reqGLN=0312345000011").unwrap();
        assert_eq!(d.base, "https://vrs.example.com");
        let e = &d.elements;
        assert_eq!(e.get("01"), Some("00312345678906"));
        assert_eq!(e.get("10"), Some("LOT42"));
        assert_eq!(e.get("21"), Some("SN/1"));
        assert_eq!(e.get("17"), Some("261200"));
        assert_eq!(d.param("linkType"), Some("verificationService"));
        assert_eq!(d.param("reqGLN"), Some("0312345000011"));
        assert!(!d.alpha);
    }

    #[test]
    fn alpha_vrs_request_form_with_base_path() {
        let d = p("https://vrs.example.com/vrs/verify/gtin/00312345678906/lot/LOT42/ser/SN1?exp=261231&linkType=verificationService").unwrap();
        assert_eq!(d.base, "https://vrs.example.com/vrs/verify");
        assert_eq!(
            d.elements.to_bracketed(),
            "(01)00312345678906(10)LOT42(21)SN1(17)261231"
        );
        assert!(d.alpha);
    }

    #[test]
    fn qualifier_order_and_membership_are_enforced() {
        let e = p("https://id.gs1.org/01/00312345678906/21/S/10/L").unwrap_err();
        assert_eq!(e.code(), "gs1.digital_link");
        assert!(e.to_string().contains("out of order"), "{e}");
        let e = p("https://id.gs1.org/00/103123450000000018/21/S").unwrap_err();
        assert!(e.to_string().contains("takes no key qualifiers"), "{e}");
        let e = p("https://id.gs1.org/01/00312345678906/235/X/21/S").unwrap_err();
        assert_eq!(e.code(), "gs1.digital_link");
        assert!(p("https://id.gs1.org/414/0312345000011/254/7").is_ok());
    }

    #[test]
    fn query_attributes_must_be_allowed_ais() {
        assert_eq!(
            p("https://id.gs1.org/01/00312345678906?21=S")
                .unwrap_err()
                .code(),
            "gs1.digital_link"
        );
        assert_eq!(
            p("https://id.gs1.org/01/00312345678906?2399=S")
                .unwrap_err()
                .code(),
            "gs1.unknown_ai"
        );
        assert_eq!(
            p("https://id.gs1.org/01/00312345678906?17=261331")
                .unwrap_err()
                .code(),
            "gs1.date"
        );
        let d = p("https://id.gs1.org/01/00312345678906?3103=000500&x=a+b").unwrap();
        assert_eq!(d.elements.get("3103"), Some("000500"));
        assert_eq!(d.param("x"), Some("a b"));
    }

    #[test]
    fn values_are_percent_decoded_and_validated() {
        assert_eq!(
            p("https://id.gs1.org/01/00312345678907")
                .unwrap_err()
                .code(),
            "gs1.check_digit"
        );
        assert_eq!(
            p("https://id.gs1.org/01/00312345678906/21/A%20B")
                .unwrap_err()
                .code(),
            "gs1.charset"
        );
        assert_eq!(
            p("https://id.gs1.org/01/00312345678906/21/A%2")
                .unwrap_err()
                .code(),
            "gs1.syntax"
        );
        assert_eq!(
            p("https://id.gs1.org/01/312345678906")
                .unwrap()
                .elements
                .get("01"),
            Some("00312345678906")
        );
    }

    #[test]
    fn non_dl_paths_are_refused() {
        assert_eq!(
            p("https://example.com/about").unwrap_err().code(),
            "gs1.digital_link"
        );
        assert_eq!(
            p("ftp://x/01/00312345678906").unwrap_err().code(),
            "gs1.syntax"
        );
        assert!(claims_digital_link("https://id.gs1.org/01/x"));
        assert!(!claims_digital_link("https://example.com/about/01/x"));
    }

    #[test]
    fn the_primary_key_is_the_rightmost_one_reached_by_ai_value_pairs_from_the_end() {
        // GS1 Barcode Syntax Engine test vector (Apache-2.0, gs1/gs1-syntax-engine dl.c):
        // "fake AI in stem, stop at rightmost key". Refused before (the first 00 was taken).
        let d = p("https://a/00/faux/00/006141411234567890").unwrap();
        assert_eq!(d.elements.to_bracketed(), "(00)006141411234567890");
        assert_eq!(d.base, "https://a/00/faux");
        let d = p("https://example.com/some/path/01/12345678901231/10/ABC").unwrap();
        assert_eq!(d.base, "https://example.com/some/path");
        assert_eq!(d.elements.to_bracketed(), "(01)12345678901231(10)ABC");
        let d = p("https://example.com/01/x/01/00312345678906/21/S").unwrap();
        assert_eq!(d.base, "https://example.com/01/x");
        let d = p("https://example.com/a/b/c/414/0312345000011/254/7?linkType=all").unwrap();
        assert_eq!(d.base, "https://example.com/a/b/c");
        // A GS1 path must end the path: anything after it is an error naming the segment.
        let e = p("https://id.gs1.org/01/00312345678906/foo/bar").unwrap_err();
        assert!(e.to_string().contains("\"foo\""), "{e}");
        let e = p("https://example.com/some/path").unwrap_err();
        assert_eq!(e.code(), "gs1.digital_link");
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        // RFC 3986 section 3.1, and ABNF strings ("http" / "https" in the Digital Link
        // grammar) are case-insensitive. (The syntax engine refuses mixed case.)
        for u in [
            "HtTp://example.com/01/00312345678906",
            "HTTPS://example.com/01/00312345678906",
            "hTTpS://example.com/01/00312345678906",
        ] {
            assert_eq!(
                p(u).unwrap().elements.get("01"),
                Some("00312345678906"),
                "{u}"
            );
        }
    }

    #[test]
    fn ip_hosts_are_accepted_and_an_ipv6_zone_identifier_is_refused() {
        for u in [
            "https://[2001:db8::1]/01/00312345678906",
            "https://[2001:db8::1]:8443/01/00312345678906",
            "https://192.0.2.1:65535/01/00312345678906",
            "https://xn--fsq.xn--0zwm56d/01/00312345678906",
            "https://a./01/00312345678906",
        ] {
            assert!(p(u).is_ok(), "{u}: {:?}", p(u));
        }
        // The Digital Link grammar's host is RFC 3986's: an IP-literal has no zone.
        let e = p("http://[fe80::1%25eth0]/01/00312345678906").unwrap_err();
        assert_eq!(e.code(), "gs1.syntax");
        assert!(e.to_string().contains("zone"), "{e}");
        // No user information, no stray characters, a numeric port.
        for u in [
            "https://user@example.com/01/00312345678906",
            "https://exa mple.com/01/00312345678906",
            "https://ex\"ample.com/01/00312345678906",
            "https://example.com:80a/01/00312345678906",
            "https://[2001:db8::1/01/00312345678906",
            "https:///01/00312345678906",
        ] {
            assert!(p(u).is_err(), "{u}");
        }
    }

    #[test]
    fn convenience_alphas_of_digital_link_1_1_are_read_and_tpx_never_was_one() {
        let d = p("https://id.gs1.org/gtin/00312345678906/cpv/V1/lot/L1/ser/S1?exp=271231&expdt=2712312359").unwrap();
        assert!(d.alpha);
        assert_eq!(
            d.elements.to_bracketed(),
            "(01)00312345678906(22)V1(10)L1(21)S1(17)271231(7003)2712312359"
        );
        assert_eq!(
            p("https://id.gs1.org/sscc/106141412345678908")
                .unwrap()
                .elements
                .get("00"),
            Some("106141412345678908")
        );
        assert_eq!(
            p("https://id.gs1.org/gln/0312345000011/glnx/7")
                .unwrap()
                .elements
                .get("254"),
            Some("7")
        );
        // Alphas are case-sensitive (%s"gtin" in the 1.1 grammar), and 235 had none.
        assert!(p("https://id.gs1.org/GTIN/00312345678906").is_err());
        assert!(p("https://id.gs1.org/01/00312345678906/tpx/X1").is_err());
        assert!(p("https://id.gs1.org/01/00312345678906/235/X1").is_ok());
        // In the query only exp, expdt and lot were alphas; other names are parameters.
        let d = p("https://id.gs1.org/01/00312345678906?ser=S1").unwrap();
        assert_eq!(d.param("ser"), Some("S1"));
        assert!(!d.alpha);
        // Rendering never writes alphas.
        assert_eq!(
            p("https://x/gtin/00312345678906/ser/S1")
                .unwrap()
                .elements
                .to_digital_link("https://id.gs1.org")
                .unwrap(),
            "https://id.gs1.org/01/00312345678906/21/S1"
        );
    }

    #[test]
    fn percent_escapes_and_plus_signs_decode_as_the_standard_says() {
        // %XX in either case; a lone or short % is not a URI; %00 is no character of data.
        let a = p("https://id.gs1.org/01/00312345678906/21/A%2fB").unwrap();
        let b = p("https://id.gs1.org/01/00312345678906/21/A%2FB").unwrap();
        assert_eq!(a.elements.get("21"), Some("A/B"));
        assert_eq!(a.elements, b.elements);
        assert_eq!(
            p("https://id.gs1.org/01/00312345678906/21/A%2")
                .unwrap_err()
                .code(),
            "gs1.syntax"
        );
        assert!(p("https://id.gs1.org/01/00312345678906/21/A%00").is_err());
        // `+` is itself in the path; in the query it is a space (form encoding).
        assert_eq!(
            p("https://id.gs1.org/01/00312345678906/22/A+1")
                .unwrap()
                .elements
                .get("22"),
            Some("A+1")
        );
        assert_eq!(
            p("https://id.gs1.org/01/00312345678906?240=A+1")
                .unwrap_err()
                .code(),
            "gs1.charset"
        );
        assert_eq!(
            p("https://id.gs1.org/01/00312345678906?240=A%2B1")
                .unwrap()
                .elements
                .get("240"),
            Some("A+1")
        );
    }

    #[test]
    fn query_parameters_follow_the_digital_link_grammar() {
        // `&` and `;` separate; empty parameters are skipped; a name alone is a parameter.
        let d = p("https://id.gs1.org/01/00312345678906?&&17=271231;linkType=all&&flag").unwrap();
        assert_eq!(d.elements.get("17"), Some("271231"));
        assert_eq!(d.param("linkType"), Some("all"));
        assert_eq!(d.param("flag"), Some(""));
        assert!(p("https://id.gs1.org/01/00312345678906?").is_ok());
        // An AI needs a value, once.
        assert_eq!(
            p("https://id.gs1.org/01/00312345678906?17=")
                .unwrap_err()
                .code(),
            "gs1.syntax"
        );
        let e = p("https://id.gs1.org/01/00312345678906?17=271231&17=271231").unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
        // Every all-digit name claims to be an AI.
        assert_eq!(
            p("https://id.gs1.org/01/00312345678906?12345=x")
                .unwrap_err()
                .code(),
            "gs1.unknown_ai"
        );
        // A fragment ends the data.
        assert_eq!(
            p("https://id.gs1.org/01/00312345678906/21/S#17=x")
                .unwrap()
                .elements
                .len(),
            2
        );
    }

    #[test]
    fn a_trailing_slash_is_tolerated_on_input() {
        // The standard's regular expression allows it (its ABNF does not, the syntax engine
        // refuses it); a resolver's client may add it. It is never written.
        let d = p("https://id.gs1.org/01/00312345678906/21/S1/").unwrap();
        assert_eq!(d.elements.get("21"), Some("S1"));
        assert!(p("https://id.gs1.org/01/00312345678906//").is_err());
    }

    #[test]
    fn syntax_only_digital_links_skip_requisites_only() {
        // 8020 (payment reference) requires 415; a Digital Link of 415 always has it, so use
        // a query attribute whose requisite the key does not give: 7003 requires 01 or 02.
        let u = "https://id.gs1.org/00/106141412345678908?7003=2712312359";
        assert_eq!(p(u).unwrap_err().code(), "gs1.ai_requires");
        let d = parse_dl(u, 2026, ParseOptions::SYNTAX_ONLY).unwrap();
        assert_eq!(d.elements.get("7003"), Some("2712312359"));
        assert_eq!(
            parse_dl(
                "https://id.gs1.org/01/00312345678907",
                2026,
                ParseOptions::SYNTAX_ONLY
            )
            .unwrap_err()
            .code(),
            "gs1.check_digit"
        );
    }
}
