//! What the writers may change: the output format, the form of identifiers (`GS1-EPC-Format`)
//! and of CBV values (`GS1-CBV-XML-Format`), standards.md §3.3. Identifiers are converted by
//! the `gs1` module (EPC URN ↔ GS1 Digital Link); nothing here builds an identifier by hand.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::epcis::cbv::{CbvTerm, Vocab};
use crate::gs1::{Epc, GcpResolver, Identifier};

/// The document format written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// EPCIS 2.0 JSON-LD (`application/ld+json`).
    JsonLd,
    /// EPCIS 2.0 XML (`urn:epcglobal:epcis:xsd:2`).
    Xml2,
    /// EPCIS 1.2 XML (`urn:epcglobal:epcis:xsd:1`), 2.0-only fields in `extension` wrappers.
    Xml12,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::JsonLd => "jsonld",
            Format::Xml2 => "xml2",
            Format::Xml12 => "xml12",
        }
    }

    /// The EPC format used when the caller has no preference: Digital Link for 2.0 (the
    /// REST binding's default), EPC URNs for 1.2 (the only form 1.2 partners expect).
    pub fn default_epc_format(self) -> EpcFormat {
        match self {
            Format::JsonLd | Format::Xml2 => EpcFormat::AlwaysGs1DigitalLink,
            Format::Xml12 => EpcFormat::AlwaysEpcUrn,
        }
    }
}

impl FromStr for Format {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jsonld" | "json" | "json-ld" => Ok(Format::JsonLd),
            "xml2" | "xml" => Ok(Format::Xml2),
            "xml12" => Ok(Format::Xml12),
            _ => Err(UnknownValue::new("format", s, "jsonld, xml2, xml12")),
        }
    }
}

/// `GS1-EPC-Format`: how EPCs (and other GS1 identifiers) are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EpcFormat {
    /// As the writer prefers, which is: as captured.
    NoPreference,
    /// Every GS1 identifier as its canonical Digital Link (`https://id.gs1.org/…`).
    AlwaysGs1DigitalLink,
    /// Every GS1 identifier as an EPC URN; a Digital Link whose company prefix length is
    /// unknown stays a Digital Link (counted in [`super::WriteSummary::untranslated`]).
    AlwaysEpcUrn,
    /// As captured.
    NeverTranslates,
}

impl EpcFormat {
    /// The header value (`Always_GS1_Digital_Link`, …).
    pub fn as_header(self) -> &'static str {
        match self {
            EpcFormat::NoPreference => "No_Preference",
            EpcFormat::AlwaysGs1DigitalLink => "Always_GS1_Digital_Link",
            EpcFormat::AlwaysEpcUrn => "Always_EPC_URN",
            EpcFormat::NeverTranslates => "Never_Translates",
        }
    }
}

impl FromStr for EpcFormat {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "No_Preference" => Ok(EpcFormat::NoPreference),
            "Always_GS1_Digital_Link" => Ok(EpcFormat::AlwaysGs1DigitalLink),
            "Always_EPC_URN" => Ok(EpcFormat::AlwaysEpcUrn),
            "Never_Translates" => Ok(EpcFormat::NeverTranslates),
            _ => Err(UnknownValue::new(
                "EPC format",
                s,
                "No_Preference, Always_GS1_Digital_Link, Always_EPC_URN, Never_Translates",
            )),
        }
    }
}

/// `GS1-CBV-XML-Format`: how standard CBV values are written. JSON-LD writes bare words
/// (`shipping`) unless a URN or Web URI form is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CbvFormat {
    /// XML: CBV URNs (`urn:epcglobal:cbv:bizstep:shipping`); JSON-LD: bare words.
    NoPreference,
    /// CBV 2.0 Web URIs (`https://ref.gs1.org/cbv/BizStep-shipping`).
    AlwaysWebUri,
    /// CBV URNs.
    AlwaysUrn,
    /// The model keeps standard terms as words, not as the form captured: same as
    /// `NoPreference`.
    NeverTranslates,
}

impl CbvFormat {
    pub fn as_header(self) -> &'static str {
        match self {
            CbvFormat::NoPreference => "No_Preference",
            CbvFormat::AlwaysWebUri => "Always_Web_URI",
            CbvFormat::AlwaysUrn => "Always_URN",
            CbvFormat::NeverTranslates => "Never_Translates",
        }
    }
}

impl FromStr for CbvFormat {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "No_Preference" => Ok(CbvFormat::NoPreference),
            "Always_Web_URI" => Ok(CbvFormat::AlwaysWebUri),
            "Always_URN" => Ok(CbvFormat::AlwaysUrn),
            "Never_Translates" => Ok(CbvFormat::NeverTranslates),
            _ => Err(UnknownValue::new(
                "CBV format",
                s,
                "No_Preference, Always_Web_URI, Always_URN, Never_Translates",
            )),
        }
    }
}

/// A format or option name that is not one of the known values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}` (expected one of: {expected})")]
pub struct UnknownValue {
    pub what: &'static str,
    pub given: String,
    pub expected: &'static str,
}

impl UnknownValue {
    fn new(what: &'static str, given: &str, expected: &'static str) -> Self {
        UnknownValue {
            what,
            given: given.to_string(),
            expected,
        }
    }
}

/// Options of a document writer.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// `None`: the format's default ([`Format::default_epc_format`]).
    pub epc_format: Option<EpcFormat>,
    pub cbv_format: CbvFormat,
    /// Company prefix lengths for Digital Link → EPC URN. The writer also learns the prefixes
    /// of the EPC URNs it writes.
    pub gcp: GcpResolver,
    /// `creationDate` of the document; default: the one read, else the current time.
    pub creation_date: Option<String>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            epc_format: None,
            cbv_format: CbvFormat::NoPreference,
            gcp: GcpResolver::new(),
            creation_date: None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Applies the options to each value written.
pub(crate) struct Translator {
    epc: EpcFormat,
    cbv: CbvFormat,
    json: bool,
    gcp: GcpResolver,
    /// Company prefix last learned (most EPCs of a document share a few).
    last_learned: String,
    /// Digital Links written as such because their prefix length is unknown.
    pub(crate) untranslated: u64,
}

impl Translator {
    pub(crate) fn new(format: Format, options: &WriteOptions) -> Self {
        let epc = match options.epc_format {
            None | Some(EpcFormat::NoPreference) if format == Format::Xml12 => {
                EpcFormat::AlwaysEpcUrn
            }
            None => format.default_epc_format(),
            Some(f) => f,
        };
        Translator {
            epc,
            cbv: options.cbv_format,
            json: format == Format::JsonLd,
            gcp: options.gcp.clone(),
            last_learned: String::new(),
            untranslated: 0,
        }
    }

    /// Whether identifiers need to be parsed at all.
    pub(crate) fn translates(&self) -> bool {
        matches!(
            self.epc,
            EpcFormat::AlwaysGs1DigitalLink | EpcFormat::AlwaysEpcUrn
        )
    }

    /// `given` in the requested form; `parsed` is what it was parsed as, when known.
    pub(crate) fn identifier<'a>(
        &mut self,
        given: &'a str,
        parsed: Option<&Identifier>,
    ) -> Cow<'a, str> {
        if !self.translates() {
            return Cow::Borrowed(given);
        }
        let owned;
        let parsed = match parsed {
            Some(p) => p,
            None => {
                if !(given.starts_with("urn:epc:") || given.starts_with("http")) {
                    return Cow::Borrowed(given);
                }
                match crate::epcis::ident::classify(given) {
                    Ok(p) => {
                        owned = p;
                        &owned
                    }
                    Err(_) => return Cow::Borrowed(given),
                }
            }
        };
        let Identifier::Epc(epc) = parsed else {
            return Cow::Borrowed(given);
        };
        match self.epc {
            EpcFormat::AlwaysGs1DigitalLink => {
                let mut s = String::with_capacity(given.len() + 16);
                epc.write_canonical_digital_link(&mut s);
                if s == given {
                    Cow::Borrowed(given)
                } else {
                    Cow::Owned(s)
                }
            }
            EpcFormat::AlwaysEpcUrn => {
                if given.starts_with("urn:") {
                    self.learn(epc);
                    return Cow::Borrowed(given);
                }
                match epc.to_epc_uri(&self.gcp) {
                    Ok(u) => Cow::Owned(u),
                    Err(_) => {
                        self.untranslated += 1;
                        Cow::Borrowed(given)
                    }
                }
            }
            EpcFormat::NoPreference | EpcFormat::NeverTranslates => Cow::Borrowed(given),
        }
    }

    fn learn(&mut self, epc: &Epc) {
        let Some(n) = epc.gcp_length_hint() else {
            return;
        };
        let Some(prefix) = epc.gcp_digits().get(..n as usize) else {
            return;
        };
        if prefix != self.last_learned {
            self.last_learned.clear();
            self.last_learned.push_str(prefix);
            self.gcp.learn_from_epc(epc);
        }
    }

    /// A CBV value in the requested form.
    pub(crate) fn cbv<'a>(&self, term: &'a CbvTerm, vocab: Vocab) -> Cow<'a, str> {
        match term {
            CbvTerm::Other(s) => match self.cbv {
                CbvFormat::AlwaysWebUri => Cow::Owned(term.to_web_uri(vocab)),
                _ => Cow::Borrowed(s.as_str()),
            },
            CbvTerm::Standard(word) => match self.cbv {
                CbvFormat::AlwaysWebUri => Cow::Owned(term.to_web_uri(vocab)),
                CbvFormat::AlwaysUrn => Cow::Owned(term.to_urn(vocab)),
                CbvFormat::NoPreference | CbvFormat::NeverTranslates if self.json => {
                    Cow::Borrowed(word)
                }
                CbvFormat::NoPreference | CbvFormat::NeverTranslates => {
                    Cow::Owned(term.to_urn(vocab))
                }
            },
        }
    }
}
