//! The one place where the EPCIS module asks the `gs1` module about identifiers: validation
//! of every identifier the reader meets, and the EPC → canonical GS1 Digital Link conversion
//! the event hash needs.

use std::borrow::Cow;

use crate::gs1::{self, Gs1Error, Identifier};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentError {
    /// The value is not even an absolute URI (rule EPCIS-I-002 rather than EPCIS-I-001).
    pub not_a_uri: bool,
    /// Machine-readable code of the underlying problem.
    pub code: &'static str,
    /// Precise, human-readable reason.
    pub message: String,
}

/// Validate one identifier (EPC URN, Digital Link, or any other absolute URI) with the
/// `gs1` module: malformed GS1 URNs and Digital Links are refused, other URIs pass.
pub fn validate(uri: &str) -> Result<(), IdentError> {
    match classify(uri) {
        Ok(_) => Ok(()),
        Err(e) => Err(IdentError {
            not_a_uri: matches!(e, Gs1Error::NotUri { .. }),
            code: e.code(),
            message: format!("{e} [{}]", e.code()),
        }),
    }
}

/// [`validate`], keeping what the identifier was parsed as (so nothing needs to parse it again).
pub fn parse(uri: &str) -> Result<Identifier, IdentError> {
    classify(uri).map_err(ident_error)
}

/// The GTIN part of the last SGTIN URN or Digital Link [`parse_sharing`] parsed, so that the
/// next one of the same product parses only its serial.
#[derive(Debug, Default)]
pub(crate) struct SgtinCache {
    /// `urn:epc:id:sgtin:CP.ITEM.`, or `https://id.gs1.org/01/GTIN/21/` (`dl`), of `sgtin`.
    prefix: String,
    sgtin: Option<gs1::Sgtin>,
    dl: bool,
}

/// The part of an SGTIN Digital Link that names its GTIN (`https://id.gs1.org/01/GTIN/21/`),
/// when the rest is a plain serial (see [`is_plain_serial`]): the URI is then exactly that
/// prefix and the serial.
fn dl_gtin_prefix(uri: &str) -> Option<&str> {
    let rest = uri.strip_prefix("https://id.gs1.org/01/")?;
    let (gtin, serial) = rest.split_at_checked(14)?;
    let serial = serial.strip_prefix("/21/")?;
    (gtin.bytes().all(|b| b.is_ascii_digit()) && is_plain_serial(serial))
        .then(|| &uri[..uri.len() - serial.len()])
}

/// Letters and digits only: a Digital Link path segment that needs no decoding and holds no
/// further path, query or fragment, so the serial parser alone decides it.
fn is_plain_serial(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// [`parse`], reusing the GTIN of the previous SGTIN URN (or Digital Link) when this one has
/// the same GTIN part (same bytes, so the same GTIN, hint and errors as a full parse).
pub(crate) fn parse_sharing(uri: &str, cache: &mut SgtinCache) -> Result<Identifier, IdentError> {
    if let Some(known) = &cache.sgtin {
        if cache.dl {
            // `https://id.gs1.org/01/GTIN/21/` and a plain serial that parses: what the full
            // Digital Link parse gives; anything else (an invalid serial too) takes it.
            let serial = uri
                .strip_prefix(cache.prefix.as_str())
                .filter(|s| is_plain_serial(s));
            if let Some(Ok(serial)) = serial.map(gs1::SerialNumber::parse) {
                let s = gs1::Sgtin::new(*known.gtin(), serial);
                return Ok(Identifier::Epc(gs1::Epc::Sgtin(s)));
            }
        } else if is_clean(uri) {
            // A clean URN is what `classify` sends straight to the EPC URN parser.
            if let Some(r) = gs1::Sgtin::from_epc_uri_sharing_gtin(uri, &cache.prefix, known) {
                return r
                    .map(|s| Identifier::Epc(gs1::Epc::Sgtin(s)))
                    .map_err(ident_error);
            }
        }
    }
    let r = classify(uri);
    if let Ok(Identifier::Epc(gs1::Epc::Sgtin(s))) = &r {
        let (p, dl) = match gs1::Sgtin::gtin_prefix_of(uri) {
            Some(p) => (Some(p), false),
            None => (dl_gtin_prefix(uri), true),
        };
        if let Some(p) = p {
            cache.prefix.clear();
            cache.prefix.push_str(p);
            cache.sgtin = Some(*s);
            cache.dl = dl;
        }
    }
    r.map_err(ident_error)
}

fn ident_error(e: Gs1Error) -> IdentError {
    IdentError {
        not_a_uri: matches!(e, Gs1Error::NotUri { .. }),
        code: e.code(),
        message: format!("{e} [{}]", e.code()),
    }
}

/// [`validate`] and [`canonical_for_hash`] with one parse: `Ok(Some(dl))` when the identifier
/// is a GS1 EPC (its canonical Digital Link), `Ok(None)` when it stays as given.
pub fn validate_with_canonical(uri: &str) -> Result<Option<String>, IdentError> {
    match classify(uri) {
        Ok(Identifier::Epc(epc)) => Ok(Some(epc.to_canonical_digital_link())),
        Ok(Identifier::Opaque) => Ok(None),
        Err(e) => Err(IdentError {
            not_a_uri: matches!(e, Gs1Error::NotUri { .. }),
            code: e.code(),
            message: format!("{e} [{}]", e.code()),
        }),
    }
}

/// Canonical form of an identifier for the CBV 2.0 event hash: EPC URNs and GS1 Digital
/// Links become the canonical `https://id.gs1.org/…` Digital Link; other URIs (and invalid
/// ones, which validation has already reported) stay as given.
pub fn canonical_for_hash(uri: &str) -> Cow<'_, str> {
    // Only EPC URNs and http(s) URIs can be GS1 identifiers; skip the parser for the rest.
    if !(uri.starts_with("urn:epc:") || uri.starts_with("http")) {
        return Cow::Borrowed(uri);
    }
    match classify(uri) {
        Ok(Identifier::Epc(epc)) => Cow::Owned(epc.to_canonical_digital_link()),
        Ok(Identifier::Opaque) | Err(_) => Cow::Borrowed(uri),
    }
}

/// `gs1::classify`, with a shortcut for the common case: an EPC URN without whitespace or
/// control characters (so certainly an absolute URI) goes straight to the EPC URN parser,
/// which is what `classify` would do after its generic URI check.
pub(crate) fn classify(uri: &str) -> Result<Identifier, Gs1Error> {
    if uri.starts_with("urn:epc:") && !uri.starts_with("urn:epc:idpat:") && is_clean(uri) {
        return gs1::parse_epc_uri(uri).map(Identifier::Epc);
    }
    gs1::classify(uri)
}

/// No whitespace or control characters.
fn is_clean(uri: &str) -> bool {
    // Without an early exit the check compiles to a vector loop.
    !uri.bytes()
        .fold(false, |bad, b| bad | (b <= b' ') | (b == 0x7f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_that_are_not_absolute_uris_are_refused() {
        for v in [
            "0312345.067890.1",
            "urn:epc:id:sgtin:0312345.067890.1 2",
            "1abc:x",
            "abc:",
        ] {
            let e = validate(v).unwrap_err();
            assert!(e.not_a_uri, "{v}");
        }
        assert!(validate("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6").is_ok());
        assert!(validate("geo:47.506694,11.104301").is_ok());
    }

    #[test]
    fn gs1_errors_carry_the_gs1_message_and_code() {
        let e = validate("urn:epc:id:sgtin:0312345.06789.S1001").unwrap_err();
        assert!(!e.not_a_uri);
        assert!(e.code.starts_with("gs1."), "{}", e.code);
        assert!(e.message.contains(e.code));
        assert!(validate("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6").is_ok());
        assert!(validate("urn:epc:id:sgtin:0312345.067890.S1001").is_ok());
    }

    #[test]
    fn shortcut_agrees_with_gs1_classify() {
        for uri in [
            "urn:epc:id:sgtin:0312345.067890.S1001",
            "urn:epc:id:sgtin:0312345.06789.S1001",
            "urn:epc:id:sscc:4012345.0000000111",
            "urn:epc:idpat:sgtin:0312345.067890.*",
            "urn:epc:class:lgtin:0312345.067890.LOT%2F1",
            "urn:epc:id:sgln:4012345.00011.987",
            "urn:epc:id:bogus:1.2",
            "urn:epc:id:sgtin:0312345.067890.S\u{e9}",
        ] {
            assert_eq!(classify(uri), gs1::classify(uri), "{uri}");
        }
    }

    #[test]
    fn sharing_the_gtin_gives_what_a_full_parse_gives() {
        let mut cache = SgtinCache::default();
        for uri in [
            "https://id.gs1.org/01/00312345678906/21/S0",
            "urn:epc:id:sgtin:0312345.067890.S1",
            "urn:epc:id:sgtin:0312345.067890.S%2F2",
            "urn:epc:id:sgtin:0312345.067890.S 3",
            "urn:epc:id:sgtin:0312345.067890.S#4",
            "urn:epc:id:sgtin:0312345.067890.",
            "urn:epc:id:sgtin:0312345.067890.S123456789012345678901",
            "urn:epc:id:sgtin:0312345.067890.S.5",
            "urn:epc:id:sgtin:0312345.067890",
            "urn:epc:id:sgtin:0312345.0678901.S6",
            "urn:epc:id:sgtin:031234.5067890.S7",
            "urn:epc:id:sgtin:031234.5067890.S8",
            "urn:epc:idpat:sgtin:031234.5067890.*",
            "urn:epc:id:sgtin:031234.5067890.S9",
            "https://id.gs1.org/01/00312345678906/21/S10",
            "urn:epc:id:sgtin:031234.5067890.S11",
        ] {
            let shared = parse_sharing(uri, &mut cache);
            let full = parse(uri);
            assert_eq!(shared, full, "{uri}");
            if let Ok(Identifier::Epc(e)) = &shared {
                assert_eq!(
                    e.gcp_length_hint(),
                    full.as_ref().ok().and_then(|i| match i {
                        Identifier::Epc(e) => e.gcp_length_hint(),
                        Identifier::Opaque => None,
                    }),
                    "{uri}"
                );
            }
        }
        assert_eq!(cache.prefix, "urn:epc:id:sgtin:031234.5067890.");
    }

    #[test]
    fn sharing_the_gtin_of_digital_links_gives_what_a_full_parse_gives() {
        let mut cache = SgtinCache::default();
        let mut shared_once = false;
        for uri in [
            "https://id.gs1.org/01/00312345678906/21/S0",
            "https://id.gs1.org/01/00312345678906/21/S1",
            "https://id.gs1.org/01/00312345678906/21/S%2F2",
            "https://id.gs1.org/01/00312345678906/21/S3/10/LOT",
            "https://id.gs1.org/01/00312345678906/21/S4?17=270630",
            "https://id.gs1.org/01/00312345678906/21/S5#x",
            "https://id.gs1.org/01/00312345678906/21/",
            "https://id.gs1.org/01/00312345678906/21/S123456789012345678901",
            "https://id.gs1.org/01/00312345678906/21/S.6",
            "https://id.gs1.org/01/00312345678906/21/S 7",
            "https://id.gs1.org/01/00312345678907/21/S8",
            "https://id.gs1.org/01/00312345678913/21/S9",
            "https://id.gs1.org/01/00312345678913/21/S10",
            "https://example.com/01/00312345678913/21/S11",
            "urn:epc:id:sgtin:0312345.067891.S12",
            "https://id.gs1.org/01/00312345678913/21/S13",
            "https://id.gs1.org/01/00312345678913/21/S14",
        ] {
            let before = cache.dl && uri.starts_with(cache.prefix.as_str());
            shared_once |= before;
            let shared = parse_sharing(uri, &mut cache);
            let full = parse(uri);
            assert_eq!(shared, full, "{uri}");
        }
        assert!(shared_once);
        assert_eq!(cache.prefix, "https://id.gs1.org/01/00312345678913/21/");
    }

    #[test]
    fn epc_urns_become_canonical_digital_links() {
        assert_eq!(
            canonical_for_hash("urn:epc:id:sscc:4012345.0000000111"),
            "https://id.gs1.org/00/040123450000001112"
        );
        assert_eq!(
            canonical_for_hash("urn:epc:id:sgln:4012345.00011.987"),
            "https://id.gs1.org/414/4012345000115/254/987"
        );
        assert_eq!(canonical_for_hash("urn:uuid:x"), "urn:uuid:x");
    }
}
