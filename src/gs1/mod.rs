//! GS1 identifiers: parse, validate and convert. Pure: no I/O, no storage, no web code.
//!
//! - Keys and attributes: [`Gtin`], [`Gln`], [`Sscc`], [`SerialNumber`], [`Lot`], [`Expiry`],
//!   [`Ndc`]; combined identifiers [`Sgtin`], [`Sgln`], [`Lgtin`] and every TDS scheme in [`Epc`].
//! - Representations: EPC URIs ([`parse_epc_uri`], [`Epc::to_epc_uri`]), element strings
//!   ([`parse_element_string`]), Digital Link ([`parse_digital_link`]), the GCP-independent
//!   key ([`Epc::key`]) and the canonical Digital Link used by event hashing.
//! - [`classify`] sorts any URI found in an EPCIS document; [`describe`] renders every form
//!   of one input (the `gs1 parse` command).
//!
//! See `docs/GS1.md` for the forms accepted, error codes and the GCP resolution order.

mod ai;
mod chars;
mod dates;
mod describe;
mod digital_link;
mod element_string;
mod epc;
mod error;
mod gcp;
mod keys;
mod ndc;
mod options;
mod pattern;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod vectors;

pub use ai::{table as ai_table, AiDef, AiTable, Cset, Linter};
pub use chars::{mod10_check_digit, pct_decode, pct_encode};
pub use dates::{century_rule, Expiry};
pub use describe::{
    describe, describe_with, describe_with_options, DescribedElement, Description, Form,
};
pub use digital_link::{
    parse_digital_link, parse_digital_link_full, parse_digital_link_with, DigitalLink,
};
pub use element_string::{
    parse_element_string, parse_element_string_with, parse_element_string_with_year,
    parse_scan_sgtin, Element, ElementString, PackScan, GS,
};
pub use epc::{
    gln_of_key, parse_epc_uri, sgtin_key, sgtin_key_parts, Epc, Gid, KeyKind, KeyedId, Lgtin, Sgln,
    Sgtin, CANONICAL_DL_BASE,
};
pub use error::Gs1Error;
pub use gcp::{GcpResolver, GcpSource};
pub use keys::{Gln, Gtin, Lot, SerialNumber, Sscc};
pub use ndc::{Ndc, NdcFormat};
pub use options::ParseOptions;
pub use pattern::{parse_epc_pattern, EpcPattern};

/// What an identifier URI in an EPCIS document is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identifier {
    /// A GS1 EPC, from an EPC URN or a GS1 Digital Link.
    Epc(Epc),
    /// Any other absolute URI: kept as is.
    Opaque,
}

/// Classify any identifier URI found in an EPCIS document.
/// - `urn:epc:…`: parsed strictly (a malformed GS1 URN is an error); an `urn:epc:idpat:`
///   pattern other than a GTIN class (`sgtin` CP.ITEM.*) is validated and opaque.
/// - `http(s)` GS1 Digital Link: parsed; a path that starts with a primary key AI but is not
///   valid Digital Link is an error. Valid Digital Links whose key has no EPC scheme (GMN,
///   GRAI without serial, …) and other web URIs are opaque.
/// - Any other absolute URI is opaque; anything that is not a URI is an error.
pub fn classify(uri: &str) -> Result<Identifier, Gs1Error> {
    check_absolute_uri(uri)?;
    // "urn" and the namespace "epc" are case-insensitive (RFC 8141), so any spelling claims
    // to be an EPC; TDS URIs are lower case, so anything else is refused, not passed through.
    if uri
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:epc:"))
    {
        if uri.starts_with("urn:epc:idpat:") {
            // `sgtin` CP.ITEM.* names one GTIN (an EPC class); every other valid pattern
            // (any TDS scheme, any wildcard tail) is kept as given.
            return match parse_epc_uri(uri) {
                Ok(e) => Ok(Identifier::Epc(e)),
                Err(_) => parse_epc_pattern(uri).map(|_| Identifier::Opaque),
            };
        }
        return parse_epc_uri(uri).map(Identifier::Epc);
    }
    let lower = uri.get(..8).unwrap_or(uri).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return match parse_digital_link(uri) {
            Ok(es) => Ok(Epc::from_element_string(&es).map_or(Identifier::Opaque, Identifier::Epc)),
            Err(e) if digital_link::claims_digital_link(uri) => Err(e),
            Err(_) => Ok(Identifier::Opaque),
        };
    }
    Ok(Identifier::Opaque)
}

/// RFC 3986 scheme, then ':' and something; no whitespace or control characters.
fn check_absolute_uri(uri: &str) -> Result<(), Gs1Error> {
    let not = |reason| Gs1Error::NotUri {
        input: error::shown(uri),
        reason,
    };
    let colon = uri
        .find(':')
        .ok_or_else(|| not("no scheme (\"scheme:\")"))?;
    let scheme = &uri[..colon];
    let mut sb = scheme.bytes();
    if !sb.next().is_some_and(|b| b.is_ascii_alphabetic())
        || !sb.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return Err(not(
            "the scheme must start with a letter and hold only letters, digits, + - .",
        ));
    }
    if colon + 1 == uri.len() {
        return Err(not("nothing after the scheme"));
    }
    let bad = if uri.is_ascii() {
        uri.bytes().any(|b| b <= b' ' || b == 0x7f)
    } else {
        uri.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if bad {
        return Err(not("contains whitespace or control characters"));
    }
    Ok(())
}

/// Parse any representation of an EPC: EPC URI, Digital Link, element string or raw scan
/// (where `^` may stand for FNC1, also in first position).
pub fn parse_any(input: &str) -> Result<Epc, Gs1Error> {
    if input.starts_with("urn:") {
        return parse_epc_uri(input);
    }
    let lower = input.get(..8).unwrap_or(input).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Epc::from_element_string(&parse_digital_link(input)?);
    }
    Epc::from_element_string(&parse_element_string(input)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_sorts_epcis_identifiers() {
        let Identifier::Epc(Epc::Sgtin(s)) =
            classify("urn:epc:id:sgtin:0312345.067890.A1").unwrap()
        else {
            panic!()
        };
        assert_eq!(s.serial().as_str(), "A1");
        let Identifier::Epc(e) = classify("https://id.gs1.org/01/00312345678906/21/A1").unwrap()
        else {
            panic!()
        };
        assert_eq!(e, Epc::Sgtin(s));
        assert_eq!(
            classify("urn:epc:id:sgtin:0312345.067890")
                .unwrap_err()
                .code(),
            "gs1.syntax"
        );
        assert!(classify("https://id.gs1.org/01/00312345678907/21/A1").is_err());
        assert_eq!(
            classify("https://example.com/po/4711").unwrap(),
            Identifier::Opaque
        );
        assert_eq!(
            classify("urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8").unwrap(),
            Identifier::Opaque
        );
        assert_eq!(
            classify("urn:epcglobal:cbv:bt:0312345000011:PO1").unwrap(),
            Identifier::Opaque
        );
        assert!(classify("URN:EPC:id:sgtin:0312345.067890.A1").is_err());
        assert_eq!(classify("not a uri").unwrap_err().code(), "gs1.not_uri");
        assert_eq!(classify("0312345").unwrap_err().code(), "gs1.not_uri");
        assert_eq!(
            classify("https://id.gs1.org/8013/1987654Ad4X4bL5ttr2310c2K").unwrap(),
            Identifier::Opaque
        );
    }

    #[test]
    fn classify_maps_each_dl_key_to_its_epc() {
        let cases = [
            ("https://id.gs1.org/00/103123450000000018", "sscc"),
            ("https://id.gs1.org/414/0312345000011", "sgln"),
            ("https://id.gs1.org/417/0312345000011", "pgln"),
            ("https://id.gs1.org/01/00312345678906/10/L1", "lgtin"),
            ("https://id.gs1.org/01/00312345678906", "sgtin"),
        ];
        for (u, scheme) in cases {
            let Identifier::Epc(e) = classify(u).unwrap() else {
                panic!("{u}")
            };
            assert_eq!(e.scheme(), scheme, "{u}");
            assert_eq!(e.to_canonical_digital_link(), u);
        }
    }

    #[test]
    fn parse_any_accepts_every_form_of_the_same_sgtin() {
        let forms = [
            "urn:epc:id:sgtin:0312345.067890.SN1",
            "https://id.gs1.org/01/00312345678906/21/SN1",
            "https://vrs.example.com/verify/gtin/00312345678906/ser/SN1",
            "(01)00312345678906(21)SN1",
            "]d2010031234567890621SN1",
            "010031234567890621SN1",
            "21SN1^0100312345678906",
            "^0100312345678906^21SN1",
            "https://example.com/01/x/01/00312345678906/21/SN1",
        ];
        let first = parse_any(forms[0]).unwrap();
        for f in forms {
            assert_eq!(parse_any(f).unwrap(), first, "{f}");
        }
        assert_eq!(
            first.to_string(),
            "https://id.gs1.org/01/00312345678906/21/SN1"
        );
        let s: Sgtin = "(01)00312345678906(21)SN1".parse().unwrap();
        assert_eq!(s.to_string().parse::<Sgtin>().unwrap(), s);
    }

    #[test]
    fn classify_reads_a_digital_link_whose_resolver_path_looks_like_a_key() {
        // Was an error: the first "00" was taken for the key.
        let Identifier::Epc(e) = classify("https://a/00/faux/00/006141411234567890").unwrap()
        else {
            panic!()
        };
        assert_eq!(e.scheme(), "sscc");
        // Paths that do not start like a Digital Link stay opaque when invalid, as before.
        assert_eq!(
            classify("https://example.com/po/01/4711").unwrap(),
            Identifier::Opaque
        );
    }
}
