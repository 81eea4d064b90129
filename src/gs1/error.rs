//! The one error type of the GS1 module.
//!
//! Error policy:
//! - Every error names the input (shortened to [`MAX_SHOWN`] characters), the component or
//!   position that failed, the rule that was broken, and what was expected versus found.
//! - `Display` is the precise human message; [`Gs1Error::code`] is a stable machine-readable
//!   code (`gs1.*`) that callers may map to API error codes. Codes never change meaning; new
//!   failure kinds get new codes.
//! - Positions are 0-based character offsets into the input as given.

use std::fmt;

/// Longest slice of an input copied into an error (inputs may be arbitrarily long scanner data).
pub const MAX_SHOWN: usize = 120;

/// Shorten an input for an error message, keeping it recognisable.
pub(crate) fn shown(input: &str) -> String {
    let mut s: String = input
        .chars()
        .take(MAX_SHOWN)
        .map(|c| if c == '\u{1d}' { '^' } else { c })
        .collect();
    if input.chars().count() > MAX_SHOWN {
        s.push('…');
    }
    s
}

/// What an expected length looks like ("14", "1 to 20", "8, 12, 13 or 14").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected(pub String);

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Gs1Error {
    /// Wrong number of characters for a fixed or bounded field.
    #[error("{what} {input:?}: length is {found}, expected {expected}")]
    Length {
        what: &'static str,
        input: String,
        expected: Expected,
        found: usize,
    },
    /// A character outside the allowed set.
    #[error("{what} {input:?}: character {found:?} at position {position} is not allowed (expected {expected})")]
    Charset {
        what: &'static str,
        input: String,
        position: usize,
        found: char,
        expected: &'static str,
    },
    /// Mod-10 (or alphanumeric pair) check character mismatch.
    #[error("{what} {input}: check digit is {found}, expected {expected}")]
    CheckDigit {
        what: &'static str,
        input: String,
        found: String,
        expected: String,
    },
    /// A date or time component that does not exist (month 13, 31 April, hour 24, ...).
    #[error("{what} {input:?}: {component} {found:?} is invalid ({rule})")]
    Date {
        what: &'static str,
        input: String,
        component: &'static str,
        found: String,
        rule: &'static str,
    },
    /// A field whose content breaks a rule (value ranges, fixed digits, code lists...).
    #[error("{what} {input:?}: {component}: {rule} (found {found:?})")]
    Invalid {
        what: &'static str,
        input: String,
        component: String,
        rule: String,
        found: String,
    },
    /// Structural syntax error in a URI or element string.
    #[error("{what} {input:?}: at position {position}: expected {expected}, found {found}")]
    Syntax {
        what: &'static str,
        input: String,
        position: usize,
        expected: String,
        found: String,
    },
    /// An Application Identifier that the GS1 General Specifications do not define.
    #[error("element string {input:?}: unknown Application Identifier starting {ai:?} at position {position}")]
    UnknownAi {
        input: String,
        position: usize,
        ai: String,
    },
    /// An AI present without one of the AIs it requires (e.g. 21 without 01).
    #[error("AI ({ai}) requires {requires} in the same data, found only {found}")]
    AiRequires {
        ai: String,
        requires: String,
        found: String,
    },
    /// Two AIs that must not appear together.
    #[error("AI ({ai}) must not appear together with AI ({other})")]
    AiExcludes { ai: String, other: String },
    /// The same AI twice with different values.
    #[error("AI ({ai}) appears twice with different values: {first:?} and {second:?}")]
    AiConflict {
        ai: String,
        first: String,
        second: String,
    },
    /// Digital Link structure: key qualifiers out of order or not allowed for the primary key.
    #[error("Digital Link {input:?}: {rule} (found {found})")]
    DigitalLink {
        input: String,
        rule: String,
        found: String,
    },
    /// An EPC URI with a scheme we do not know, or one that has no EPC form.
    #[error(
        "EPC URI {input:?}: unknown or unsupported scheme {scheme:?} (expected one of {expected})"
    )]
    EpcScheme {
        input: String,
        scheme: String,
        expected: &'static str,
    },
    /// Data that is valid GS1 but does not form the identifier asked for.
    #[error("{input:?}: {rule}")]
    NotAnIdentifier { input: String, rule: String },
    /// Not a URI at all.
    #[error("{input:?} is not an absolute URI: {reason}")]
    NotUri { input: String, reason: &'static str },
    /// The GS1 Company Prefix length is needed but not known.
    #[error("{what} {key}: GS1 Company Prefix length unknown ({reason}); load a GCP length table or learn it from an EPC URI")]
    GcpUnknown {
        what: &'static str,
        key: String,
        reason: String,
    },
    /// A malformed GCP length table.
    #[error("GCP length table: at position {position}: {reason}")]
    GcpTable { position: usize, reason: String },
    /// NDC problems, including ambiguous NDC-11 → NDC-10 conversion.
    #[error("NDC {input:?}: {rule}")]
    Ndc { input: String, rule: String },
    /// An error inside one element of a longer input (scan data, element string, Digital
    /// Link): where that element starts. `code()` is the code of the inner error.
    #[error("{input:?}: element at position {position}: {source}")]
    InElement {
        input: String,
        position: usize,
        source: Box<Gs1Error>,
    },
    /// Scan data whose symbology identifier says it is not GS1 data (`]Q1`: QR Code not in
    /// GS1 mode, `]d1`, `]C0`, ...), or a GS1 carrier form this module does not read.
    #[error(
        "{input:?}: not GS1 data: symbology identifier {symbology_id} is {symbology} ({hint})"
    )]
    NotGs1Data {
        input: String,
        symbology_id: String,
        symbology: &'static str,
        hint: &'static str,
    },
    /// An input whose form could not be recognised at all.
    #[error("{input:?}: not a recognised GS1 form (expected an EPC URI, a Digital Link URI, a bracketed element string or raw scan data)")]
    UnrecognisedForm { input: String },
}

impl Gs1Error {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Gs1Error::Length { .. } => "gs1.length",
            Gs1Error::Charset { .. } => "gs1.charset",
            Gs1Error::CheckDigit { .. } => "gs1.check_digit",
            Gs1Error::Date { .. } => "gs1.date",
            Gs1Error::Invalid { .. } => "gs1.invalid",
            Gs1Error::Syntax { .. } => "gs1.syntax",
            Gs1Error::UnknownAi { .. } => "gs1.unknown_ai",
            Gs1Error::AiRequires { .. } => "gs1.ai_requires",
            Gs1Error::AiExcludes { .. } => "gs1.ai_excludes",
            Gs1Error::AiConflict { .. } => "gs1.ai_conflict",
            Gs1Error::DigitalLink { .. } => "gs1.digital_link",
            Gs1Error::EpcScheme { .. } => "gs1.epc_scheme",
            Gs1Error::NotAnIdentifier { .. } => "gs1.not_an_identifier",
            Gs1Error::NotUri { .. } => "gs1.not_uri",
            Gs1Error::GcpUnknown { .. } => "gs1.gcp_unknown",
            Gs1Error::GcpTable { .. } => "gs1.gcp_table",
            Gs1Error::Ndc { .. } => "gs1.ndc",
            Gs1Error::UnrecognisedForm { .. } => "gs1.unrecognised_form",
            Gs1Error::NotGs1Data { .. } => "gs1.not_gs1_data",
            Gs1Error::InElement { source, .. } => source.code(),
        }
    }

    /// The innermost error (without the element position wrapper).
    pub fn root(&self) -> &Gs1Error {
        match self {
            Gs1Error::InElement { source, .. } => source.root(),
            other => other,
        }
    }

    /// Say where in `input` (byte offset `byte`) the element with this error starts.
    pub(crate) fn at(self, input: &str, byte: usize) -> Self {
        let position = input.get(..byte).map_or(byte, |s| s.chars().count());
        Gs1Error::InElement {
            input: shown(input),
            position,
            source: Box::new(self),
        }
    }

    /// Every code, for documentation and tests.
    pub const CODES: &'static [&'static str] = &[
        "gs1.length",
        "gs1.charset",
        "gs1.check_digit",
        "gs1.date",
        "gs1.invalid",
        "gs1.syntax",
        "gs1.unknown_ai",
        "gs1.ai_requires",
        "gs1.ai_excludes",
        "gs1.ai_conflict",
        "gs1.digital_link",
        "gs1.epc_scheme",
        "gs1.not_an_identifier",
        "gs1.not_uri",
        "gs1.gcp_unknown",
        "gs1.gcp_table",
        "gs1.ndc",
        "gs1.unrecognised_form",
        "gs1.not_gs1_data",
    ];

    pub(crate) fn length(what: &'static str, input: &str, expected: &str, found: usize) -> Self {
        Gs1Error::Length {
            what,
            input: shown(input),
            expected: Expected(expected.to_string()),
            found,
        }
    }

    pub(crate) fn charset(
        what: &'static str,
        input: &str,
        position: usize,
        found: char,
        expected: &'static str,
    ) -> Self {
        Gs1Error::Charset {
            what,
            input: shown(input),
            position,
            found,
            expected,
        }
    }

    pub(crate) fn invalid(
        what: &'static str,
        input: &str,
        component: impl Into<String>,
        rule: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Gs1Error::Invalid {
            what,
            input: shown(input),
            component: component.into(),
            rule: rule.into(),
            found: shown(&found.into()),
        }
    }

    pub(crate) fn syntax(
        what: &'static str,
        input: &str,
        position: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Gs1Error::Syntax {
            what,
            input: shown(input),
            position,
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub(crate) fn not_an_identifier(input: &str, rule: impl Into<String>) -> Self {
        Gs1Error::NotAnIdentifier {
            input: shown(input),
            rule: rule.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_listed_code() {
        let samples = [
            Gs1Error::length("GTIN", "123", "14", 3),
            Gs1Error::charset("GTIN", "12a", 2, 'a', "a digit"),
            Gs1Error::UnrecognisedForm { input: "x".into() },
            Gs1Error::NotGs1Data {
                input: "]Q1x".into(),
                symbology_id: "]Q1".into(),
                symbology: "QR Code, not in GS1 mode",
                hint: "GS1 QR Code is ]Q3",
            },
            Gs1Error::NotUri {
                input: "x".into(),
                reason: "no scheme",
            },
        ];
        for e in samples {
            assert!(Gs1Error::CODES.contains(&e.code()), "{}", e.code());
        }
    }

    #[test]
    fn long_inputs_are_shortened_and_gs_is_shown_as_caret() {
        let long = "1".repeat(500);
        let e = Gs1Error::length("GTIN", &long, "14", 500);
        assert!(e.to_string().len() < 300);
        assert_eq!(shown("01\u{1d}21"), "01^21");
    }
}
