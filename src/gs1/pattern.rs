//! EPC pattern URIs (`urn:epc:idpat:SCHEME:…`, EPC Tag Data Standard "EPC Pattern URI"): a
//! pure-identity EPC whose trailing fields may be `*`, meaning "any". EPCIS uses them as
//! `epcClass` of quantity elements (e.g. every GRAI of one asset type,
//! `urn:epc:idpat:grai:0614141.12345.*`).
//!
//! Grammar, per scheme: the fields of the `urn:epc:id:` form, of which any tail may be `*`
//! and nothing after a `*` may be concrete (`CP.ITEM.*`, `CP.*.*` and `*.*.*` are patterns,
//! `CP.*.SERIAL` is not). The concrete fields are validated exactly as in the `urn:epc:id:`
//! form (lengths, digits, check of the company prefix field), by parsing that form with a
//! valid stand-in for each `*`.

use super::epc::parse_epc_uri;
use super::error::{shown, Gs1Error};

/// How to stand in for a `*` field when the fields before it are validated.
#[derive(Clone, Copy)]
enum StandIn {
    /// Zeros, so that the company prefix (field 0) and this field have `n` digits together.
    Digits(usize),
    /// A fixed valid value.
    Lit(&'static str),
}

use StandIn::{Digits, Lit};

/// The schemes with a pattern form and their fields after the first (the first is the
/// company prefix, CAGE code or manager number: never stood in for, as a `*` there makes
/// every field `*`). `ginc` and `gsin` follow the same rule as the other GS1 keys (UNVERIFIED
/// against the TDS pattern grammar: accepted as the plausible form).
const SCHEMES: &[(&str, &[StandIn])] = &[
    ("sgtin", &[Digits(13), Lit("0")]),
    ("sscc", &[Digits(17)]),
    ("sgln", &[Digits(12), Lit("0")]),
    ("grai", &[Digits(12), Lit("0")]),
    ("giai", &[Lit("0")]),
    ("gsrn", &[Digits(17)]),
    ("gsrnp", &[Digits(17)]),
    ("gdti", &[Digits(12), Lit("0")]),
    ("sgcn", &[Digits(12), Lit("0")]),
    ("cpi", &[Lit("0"), Lit("0")]),
    ("itip", &[Digits(13), Lit("01"), Lit("01"), Lit("0")]),
    ("upui", &[Digits(13), Lit("0")]),
    ("pgln", &[Digits(12)]),
    ("ginc", &[Lit("0")]),
    ("gsin", &[Digits(16)]),
    ("gid", &[Lit("0"), Lit("0")]),
    ("usdod", &[Lit("0")]),
    ("adi", &[Lit("0"), Lit("0")]),
];

/// The idpat schemes, for messages.
const SCHEME_LIST: &str =
    "sgtin, sscc, sgln, grai, giai, gsrn, gsrnp, gdti, sgcn, cpi, itip, upui, pgln, ginc, gsin, gid, usdod, adi";

/// A validated EPC pattern URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpcPattern {
    scheme: &'static str,
    fields: usize,
    concrete: usize,
}

impl EpcPattern {
    /// The TDS scheme (`grai`, `sgtin`, …).
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }
    /// How many leading fields are concrete (the rest are `*`).
    pub fn concrete_fields(&self) -> usize {
        self.concrete
    }
    /// Number of fields of the scheme.
    pub fn fields(&self) -> usize {
        self.fields
    }
}

/// Parse and validate an `urn:epc:idpat:` URI (see the module documentation).
pub fn parse_epc_pattern(uri: &str) -> Result<EpcPattern, Gs1Error> {
    let invalid = |component: &str, rule: String, found: &str| Gs1Error::Invalid {
        what: "EPC pattern URI",
        input: shown(uri),
        component: component.to_string(),
        rule,
        found: found.to_string(),
    };
    let rest = uri.strip_prefix("urn:epc:idpat:").ok_or_else(|| {
        invalid(
            "prefix",
            "an EPC pattern URI starts with urn:epc:idpat:".into(),
            uri,
        )
    })?;
    let (scheme, body) = rest
        .split_once(':')
        .ok_or_else(|| invalid("scheme", "expected SCHEME:fields".into(), rest))?;
    let Some(&(name, stand_ins)) = SCHEMES.iter().find(|(n, _)| *n == scheme) else {
        return Err(Gs1Error::EpcScheme {
            input: shown(uri),
            scheme: format!("idpat:{scheme}"),
            expected: SCHEME_LIST,
        });
    };
    let n = stand_ins.len() + 1;
    let fields: Vec<&str> = body.splitn(n, '.').collect();
    if fields.len() != n {
        return Err(invalid(
            "fields",
            format!("{n} dot-separated fields for {name}"),
            body,
        ));
    }
    let concrete = fields.iter().position(|f| *f == "*").unwrap_or(n);
    if let Some(bad) = fields[concrete..].iter().find(|f| **f != "*") {
        return Err(invalid(
            "wildcard",
            "every field after a `*` must be `*` too (CP.ITEM.*, CP.*.*, *.*.*)".into(),
            bad,
        ));
    }
    if concrete > 0 {
        // Validate the concrete fields by parsing the pure-identity form with stand-ins.
        let lead_len = fields[0].len();
        let mut id = format!("urn:epc:id:{name}:{}", fields[0]);
        for (i, f) in fields.iter().enumerate().skip(1) {
            id.push('.');
            if i < concrete {
                id.push_str(f);
            } else {
                match stand_ins[i - 1] {
                    Digits(total) => id.push_str(&"0".repeat(total.saturating_sub(lead_len))),
                    Lit(v) => id.push_str(v),
                }
            }
        }
        if let Err(e) = parse_epc_uri(&id) {
            let given = fields[..concrete].join(".");
            return Err(invalid(
                "concrete fields",
                format!("they do not form a valid {name} EPC: {e}"),
                &given,
            ));
        }
    }
    Ok(EpcPattern {
        scheme: name,
        fields: n,
        concrete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_takes_its_wildcard_tails() {
        for ok in [
            "urn:epc:idpat:sgtin:0614141.107346.*",
            "urn:epc:idpat:sgtin:0614141.*.*",
            "urn:epc:idpat:sgtin:*.*.*",
            "urn:epc:idpat:sgtin:0614141.107346.2017",
            "urn:epc:idpat:sscc:0614141.*",
            "urn:epc:idpat:sscc:*.*",
            "urn:epc:idpat:sgln:0614141.12345.*",
            "urn:epc:idpat:sgln:0614141.*.*",
            "urn:epc:idpat:grai:0614141.12345.*",
            "urn:epc:idpat:grai:0614141.*.*",
            "urn:epc:idpat:grai:*.*.*",
            "urn:epc:idpat:giai:0614141.*",
            "urn:epc:idpat:gsrn:0614141.*",
            "urn:epc:idpat:gsrnp:0614141.*",
            "urn:epc:idpat:gdti:0614141.12345.*",
            "urn:epc:idpat:sgcn:4012345.67890.*",
            "urn:epc:idpat:cpi:0614141.123ABC.*",
            "urn:epc:idpat:cpi:0614141.*.*",
            "urn:epc:idpat:itip:4012345.012345.01.02.*",
            "urn:epc:idpat:itip:4012345.*.*.*.*",
            "urn:epc:idpat:upui:1234567.089456.*",
            "urn:epc:idpat:pgln:0614141.*",
            "urn:epc:idpat:gid:95100000.12345.*",
            "urn:epc:idpat:gid:95100000.*.*",
        ] {
            let p = parse_epc_pattern(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(p.concrete_fields() <= p.fields(), "{ok}");
        }
        let p = parse_epc_pattern("urn:epc:idpat:grai:0614141.12345.*").unwrap();
        assert_eq!(
            (p.scheme(), p.fields(), p.concrete_fields()),
            ("grai", 3, 2)
        );
    }

    #[test]
    fn malformed_patterns_are_refused_with_the_reason() {
        for (bad, says) in [
            // A concrete field after a wildcard.
            ("urn:epc:idpat:sgtin:0614141.*.2017", "after a `*`"),
            ("urn:epc:idpat:grai:*.12345.*", "after a `*`"),
            // Too few fields.
            ("urn:epc:idpat:grai:0614141.*", "3 dot-separated fields"),
            // Company prefix + item reference must be 13 digits.
            ("urn:epc:idpat:sgtin:0614141.10734.*", "valid sgtin"),
            // Company prefix too short.
            ("urn:epc:idpat:sscc:06141.*", "valid sscc"),
            // Letters where digits belong.
            ("urn:epc:idpat:sgln:0614141.ABCDE.*", "valid sgln"),
        ] {
            let e = parse_epc_pattern(bad).expect_err(bad).to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let e = parse_epc_pattern("urn:epc:idpat:xyz:1.*").unwrap_err();
        assert_eq!(e.code(), "gs1.epc_scheme", "{e}");
    }
}
