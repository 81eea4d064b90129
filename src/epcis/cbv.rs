//! CBV vocabularies: normalise bizStep, disposition, business transaction type,
//! source/destination type and error reason to CBV short words. Accepts CBV 1.2 URNs
//! (`urn:epcglobal:cbv:bizstep:shipping`), CBV 2.0 Web URIs
//! (`https://ref.gs1.org/cbv/BizStep-shipping`) and bare words (`shipping`); anything else is
//! kept as given.

use std::fmt;

/// Which CBV vocabulary a value belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vocab {
    BizStep,
    Disposition,
    BizTransactionType,
    SourceDestType,
    ErrorReason,
}

impl Vocab {
    fn urn_prefix(self) -> &'static str {
        match self {
            Vocab::BizStep => "urn:epcglobal:cbv:bizstep:",
            Vocab::Disposition => "urn:epcglobal:cbv:disp:",
            Vocab::BizTransactionType => "urn:epcglobal:cbv:btt:",
            Vocab::SourceDestType => "urn:epcglobal:cbv:sdt:",
            Vocab::ErrorReason => "urn:epcglobal:cbv:er:",
        }
    }

    /// Prefix of the CBV 2.0 Web URI (`https://ref.gs1.org/cbv/BizStep-`).
    pub fn web_prefix(self) -> &'static str {
        match self {
            Vocab::BizStep => "https://ref.gs1.org/cbv/BizStep-",
            Vocab::Disposition => "https://ref.gs1.org/cbv/Disp-",
            Vocab::BizTransactionType => "https://ref.gs1.org/cbv/BTT-",
            Vocab::SourceDestType => "https://ref.gs1.org/cbv/SDT-",
            Vocab::ErrorReason => "https://ref.gs1.org/cbv/ER-",
        }
    }

    /// Element name used in messages.
    pub fn field(self) -> &'static str {
        match self {
            Vocab::BizStep => "bizStep",
            Vocab::Disposition => "disposition",
            Vocab::BizTransactionType => "bizTransaction type",
            Vocab::SourceDestType => "source/destination type",
            Vocab::ErrorReason => "errorDeclaration reason",
        }
    }

    fn words(self) -> &'static [&'static str] {
        match self {
            Vocab::BizStep => BIZ_STEPS,
            Vocab::Disposition => DISPOSITIONS,
            Vocab::BizTransactionType => BTT,
            Vocab::SourceDestType => SDT,
            Vocab::ErrorReason => ER,
        }
    }
}

const BIZ_STEPS: &[&str] = &[
    "accepting",
    "arriving",
    "assembling",
    "collecting",
    "commissioning",
    "consigning",
    "creating_class_instance",
    "cycle_counting",
    "decommissioning",
    "departing",
    "destroying",
    "disassembling",
    "dispensing",
    "encoding",
    "entering_exiting",
    "holding",
    "inspecting",
    "installing",
    "killing",
    "loading",
    "other",
    "packing",
    "picking",
    "receiving",
    "removing",
    "repackaging",
    "repairing",
    "replacing",
    "reserving",
    "retail_selling",
    "shipping",
    "staging_outbound",
    "stock_taking",
    "stocking",
    "storing",
    "transporting",
    "unloading",
    "unpacking",
    "void_shipping",
    "sampling",
    "sensor_reporting",
];

const DISPOSITIONS: &[&str] = &[
    "active",
    "container_closed",
    "damaged",
    "destroyed",
    "dispensed",
    "disposed",
    "encoded",
    "expired",
    "in_progress",
    "in_transit",
    "inactive",
    "no_pedigree_match",
    "non_sellable_other",
    "partially_dispensed",
    "recalled",
    "reserved",
    "retail_sold",
    "returned",
    "sellable_accessible",
    "sellable_not_accessible",
    "stolen",
    "unknown",
    "available",
    "completeness_verified",
    "completeness_inferred",
    "conformant",
    "container_open",
    "mismatch_instance",
    "mismatch_class",
    "mismatch_quantity",
    "needs_replacement",
    "non_conformant",
    "unavailable",
];

const BTT: &[&str] = &[
    "bol",
    "desadv",
    "inv",
    "pedigree",
    "po",
    "poc",
    "prodorder",
    "recadv",
    "rma",
    "cert",
    "testprd",
    "testres",
    "upevt",
];

const SDT: &[&str] = &["owning_party", "possessing_party", "location"];

const ER: &[&str] = &["did_not_occur", "incorrect_data"];

/// A CBV value: a standard term (short word) or a non-standard value kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CbvTerm {
    Standard(&'static str),
    Other(String),
}

impl CbvTerm {
    /// The short word for standard terms, the text as given otherwise.
    pub fn as_str(&self) -> &str {
        match self {
            CbvTerm::Standard(s) => s,
            CbvTerm::Other(s) => s,
        }
    }

    pub fn is_standard(&self) -> bool {
        matches!(self, CbvTerm::Standard(_))
    }

    /// CBV 1.2 URN form of a standard term; non-standard values as given.
    pub fn to_urn(&self, vocab: Vocab) -> String {
        match self {
            CbvTerm::Standard(s) => format!("{}{}", vocab.urn_prefix(), s),
            CbvTerm::Other(s) => s.clone(),
        }
    }

    /// CBV 2.0 Web URI form (what the event hash uses). A non-standard value written in the
    /// CBV URN namespace is rewritten too, like the reference hash implementation does.
    pub fn to_web_uri(&self, vocab: Vocab) -> String {
        match self {
            CbvTerm::Standard(s) => format!("{}{}", vocab.web_prefix(), s),
            CbvTerm::Other(s) => match s.strip_prefix(vocab.urn_prefix()) {
                Some(rest) => format!("{}{}", vocab.web_prefix(), rest),
                None => s.clone(),
            },
        }
    }
}

impl fmt::Display for CbvTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result of normalising a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalised {
    pub term: CbvTerm,
    /// True when the value claims to be CBV (CBV URN/Web URI prefix or a bare word) but is
    /// not a known term: worth a warning.
    pub unknown_cbv: bool,
}

/// Normalise `text` (already trimmed) in vocabulary `vocab`.
pub fn normalise(vocab: Vocab, text: &str) -> Normalised {
    let words = vocab.words();
    let lookup = |w: &str| words.iter().copied().find(|k| *k == w);
    let candidate = if let Some(rest) = text.strip_prefix(vocab.urn_prefix()) {
        Some(rest)
    } else if let Some(rest) = text.strip_prefix(vocab.web_prefix()) {
        Some(rest)
    } else if !text.contains(':') && !text.contains('/') {
        Some(text)
    } else {
        None
    };
    match candidate {
        Some(word) => match lookup(word) {
            Some(k) => Normalised {
                term: CbvTerm::Standard(k),
                unknown_cbv: false,
            },
            None => Normalised {
                term: CbvTerm::Other(text.to_owned()),
                unknown_cbv: true,
            },
        },
        None => Normalised {
            term: CbvTerm::Other(text.to_owned()),
            unknown_cbv: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urn_web_uri_and_bare_word_give_the_same_term() {
        for text in [
            "urn:epcglobal:cbv:bizstep:shipping",
            "https://ref.gs1.org/cbv/BizStep-shipping",
            "shipping",
        ] {
            let n = normalise(Vocab::BizStep, text);
            assert_eq!(n.term, CbvTerm::Standard("shipping"), "{text}");
            assert!(!n.unknown_cbv);
        }
    }

    #[test]
    fn a_misspelt_cbv_urn_is_kept_and_flagged() {
        let n = normalise(Vocab::Disposition, "urn:epcglobal:cbv:disp:in_transitt");
        assert_eq!(
            n.term,
            CbvTerm::Other("urn:epcglobal:cbv:disp:in_transitt".into())
        );
        assert!(n.unknown_cbv);
    }

    #[test]
    fn a_private_uri_is_kept_without_a_flag() {
        let n = normalise(Vocab::BizStep, "https://example.com/steps/relabel");
        assert_eq!(
            n.term,
            CbvTerm::Other("https://example.com/steps/relabel".into())
        );
        assert!(!n.unknown_cbv);
    }

    #[test]
    fn web_uri_form_is_what_the_hash_uses() {
        let t = normalise(Vocab::SourceDestType, "urn:epcglobal:cbv:sdt:owning_party").term;
        assert_eq!(
            t.to_web_uri(Vocab::SourceDestType),
            "https://ref.gs1.org/cbv/SDT-owning_party"
        );
        assert_eq!(
            t.to_urn(Vocab::SourceDestType),
            "urn:epcglobal:cbv:sdt:owning_party"
        );
        let odd = CbvTerm::Other("urn:epcglobal:cbv:bizstep:x".into());
        assert_eq!(
            odd.to_web_uri(Vocab::BizStep),
            "https://ref.gs1.org/cbv/BizStep-x"
        );
    }
}
