//! GS1 Digital Link URIs (uncompressed): numeric (`/01/…/10/…/21/…?17=…`) and the legacy
//! alpha path names (`/gtin/…/lot/…/ser/…?exp=…`) that deployed verification services use.
//!
//! The primary key is the first path segment that names a Digital Link primary key and is
//! followed by an even number of segments (anything before it is the resolver's own path,
//! e.g. `/vrs/verify`). Qualifiers must follow the order the syntax dictionary's `dlpkey`
//! attribute gives; query parameters that are AIs must be Digital Link data attributes.

use super::ai::table;
use super::chars::pct_decode;
use super::dates::current_year;
use super::element_string::ElementString;
use super::error::{shown, Gs1Error};

/// A parsed Digital Link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigitalLink {
    /// `scheme://host` plus any path before the primary key.
    pub base: String,
    /// Primary key, qualifiers (path order), then query data attributes.
    pub elements: ElementString,
    /// Query parameters that are not AIs (`linkType`, `context`, `reqGLN`, ...), decoded.
    pub params: Vec<(String, String)>,
    /// True when legacy alpha names (`gtin`, `lot`, `ser`, `exp`) were used.
    pub alpha: bool,
}

/// Legacy (Digital Link 1.0/1.1) short names.
const ALIASES: &[(&str, &str)] = &[
    ("gtin", "01"),
    ("itip", "8006"),
    ("gmn", "8013"),
    ("cpid", "8010"),
    ("sscc", "00"),
    ("gln", "414"),
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
    ("srin", "8019"),
    ("tpx", "235"),
    ("cpsn", "8011"),
    ("exp", "17"),
];

fn resolve_name(seg: &str) -> Option<(&'static str, bool)> {
    if let Some(&(_, ai)) = ALIASES.iter().find(|(a, _)| *a == seg) {
        return Some((ai, true));
    }
    let t = table();
    t.get(seg).map(|i| (t.def(i).ai, false))
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

fn strip_scheme(uri: &str) -> Option<&str> {
    let lower = uri.get(..8).map(|s| s.to_ascii_lowercase());
    match lower.as_deref() {
        Some("https://") => Some(&uri[8..]),
        _ if uri
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://")) =>
        {
            Some(&uri[7..])
        }
        _ => None,
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
    parse_dl(uri, current_year())
}

pub(crate) fn parse_dl(uri: &str, year: i32) -> Result<DigitalLink, Gs1Error> {
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
    let host = &before_query[..path_start];
    if host.is_empty() {
        return Err(Gs1Error::syntax(
            "Digital Link",
            uri,
            scheme_len,
            "a host name",
            "nothing",
        ));
    }
    let path = &before_query[path_start..];
    let path = path.strip_suffix('/').unwrap_or(path);
    let segs: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path[1..].split('/').collect()
    };

    let start = (0..segs.len())
        .find(|&i| {
            (segs.len() - i) % 2 == 0 && resolve_name(segs[i]).is_some_and(|(ai, _)| is_pkey(ai))
        })
        .ok_or_else(|| {
            dl_err(
                uri,
                "the path must contain a primary key AI followed by its value (e.g. /01/{gtin})",
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
    if let Some(q) = query {
        for kv in q.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let numeric = (2..=4).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_digit());
            let named = resolve_name(k).filter(|(_, a)| *a);
            if numeric || named.is_some() {
                let (ai, is_alpha) = match named {
                    Some(n) => n,
                    None => resolve_name(k).ok_or_else(|| Gs1Error::UnknownAi {
                        input: shown(uri),
                        position: uri.find(kv).unwrap_or(0),
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
                let v = pct_decode(def.label, v)?;
                es.push_checked(ai, &v, year)
                    .map_err(|e| e.at(uri, at(kv)))?;
            } else {
                let k = pct_decode("Digital Link query key", k)?.into_owned();
                let v = pct_decode("Digital Link query value", &v.replace('+', " "))?.into_owned();
                params.push((k, v));
            }
        }
    }
    es.check_pairs()?;
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
        parse_dl(s, 2026)
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
}
