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
fn classify(uri: &str) -> Result<Identifier, Gs1Error> {
    if uri.starts_with("urn:epc:") && !uri.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return gs1::parse_epc_uri(uri).map(Identifier::Epc);
    }
    gs1::classify(uri)
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
