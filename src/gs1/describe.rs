//! Detect the form of one input and render every representation of it (the core of the
//! `gs1 parse` command; serialisable for `--json`).

use serde::Serialize;

use super::digital_link::parse_digital_link_with;
use super::element_string::{parse_element_string_with, symbology_name, ElementString};
use super::epc::{parse_epc_uri, Epc, CANONICAL_DL_BASE};
use super::error::Gs1Error;
use super::gcp::{GcpResolver, GcpSource};
use super::ndc::Ndc;
use super::options::ParseOptions;

/// The form an input was recognised as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    EpcUri,
    DigitalLink,
    /// Deprecated convenience alphas (`/gtin/…/ser/…`, Digital Link 1.0/1.1).
    DigitalLinkAlpha,
    ElementString,
    /// Raw scanner data (FNC1 as GS or `^`), with or without a symbology identifier, and the
    /// syntax engine's unbracketed AI data (`^01…^10…`, FNC1 in first position as `^`).
    ScanData,
    /// A bare GTIN (8, 12, 13 or 14 digits) or SSCC (18 digits) that is not valid scan data.
    BareKey,
}

fn bare_key(input: &str, options: ParseOptions) -> Option<ElementString> {
    if !input.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bracketed = match input.len() {
        8 | 12 | 13 | 14 => format!("(01){}", super::keys::Gtin::parse(input).ok()?),
        18 => format!("(00){input}"),
        _ => return None,
    };
    parse_element_string_with(&bracketed, options).ok()
}

fn is_http(s: &str) -> bool {
    s.get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
        || s.get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DescribedElement {
    pub ai: String,
    pub title: String,
    pub value: String,
}

/// Every representation of one valid input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Description {
    pub input: String,
    pub form: Form,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbology_identifier: Option<String>,
    /// What the symbology identifier names (`]d2` -> "GS1 DataMatrix").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbology: Option<&'static str>,
    /// True when parsed with [`ParseOptions::SYNTAX_ONLY`]: AI requisites were not checked.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub syntax_only: bool,
    /// TDS scheme when the data forms an EPC (`sgtin`, `sscc`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epc_scheme: Option<&'static str>,
    pub elements: Vec<DescribedElement>,
    /// Human-readable element string.
    pub element_string: String,
    /// Raw data as a scanner sends it, FNC1 shown as `^`.
    pub scan_data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical_digital_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epc_uri: Option<String>,
    /// Why no EPC URI could be written (e.g. GCP length unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epc_uri_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gcp_length: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gcp_source: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ndc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// Expiry as an ISO date (DD = 00 resolved to the month's last day).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
    /// Non-AI Digital Link query parameters.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<(String, String)>,
}

/// Describe `input` with a resolver that knows only the NDC rule.
pub fn describe(input: &str) -> Result<Description, Gs1Error> {
    describe_with(input, &GcpResolver::new())
}

/// Describe `input`, resolving GCP lengths with `gcp`.
pub fn describe_with(input: &str, gcp: &GcpResolver) -> Result<Description, Gs1Error> {
    describe_with_options(input, gcp, ParseOptions::FULL)
}

/// Describe `input`, resolving GCP lengths with `gcp` and checking what `options` asks for.
pub fn describe_with_options(
    input: &str,
    gcp: &GcpResolver,
    options: ParseOptions,
) -> Result<Description, Gs1Error> {
    let mut symbology = None;
    let mut params = Vec::new();
    // A GS1 Digital Link QR Code (or Data Matrix) is plain data: `]Q1` / `]d1` + the URI.
    let (input_uri, dl_symbology) = match input.get(..3) {
        Some(id @ ("]Q1" | "]d1")) if is_http(&input[3..]) => (&input[3..], Some(id)),
        _ => (input, None),
    };
    let (form, es, epc) = if input.starts_with("urn:") {
        let epc = parse_epc_uri(input)?;
        let es = epc.to_element_string().ok();
        (Form::EpcUri, es, Some(epc))
    } else if is_http(input_uri) {
        symbology = dl_symbology.map(str::to_string);
        let dl = parse_digital_link_with(input_uri, options)?;
        params = dl.params.clone();
        let form = if dl.alpha {
            Form::DigitalLinkAlpha
        } else {
            Form::DigitalLink
        };
        let epc = Epc::from_element_string(&dl.elements).ok();
        (form, Some(dl.elements), epc)
    } else if input.starts_with('(') {
        let es = parse_element_string_with(input, options)?;
        let epc = Epc::from_element_string(&es).ok();
        (Form::ElementString, Some(es), epc)
    } else if input.starts_with([']', '\u{1d}', '^'])
        || input.starts_with(|c: char| c.is_ascii_digit())
    {
        if input.starts_with(']') {
            symbology = input.get(..3).map(str::to_string);
        }
        match parse_element_string_with(input, options) {
            Ok(es) => {
                let epc = Epc::from_element_string(&es).ok();
                (Form::ScanData, Some(es), epc)
            }
            // A bare GTIN or SSCC typed on a command line is not scan data; read it as the
            // key it looks like, and if that fails too, report the scan-data error.
            Err(scan_err) => match bare_key(input, options) {
                Some(es) => {
                    let epc = Epc::from_element_string(&es).ok();
                    (Form::BareKey, Some(es), epc)
                }
                None => return Err(scan_err),
            },
        }
    } else {
        return Err(Gs1Error::UnrecognisedForm {
            input: super::error::shown(input),
        });
    };
    let es: Option<ElementString> = es;
    let elements = es
        .as_ref()
        .map(|es| {
            es.elements()
                .map(|e| DescribedElement {
                    ai: e.ai.to_string(),
                    title: e.def.title.to_string(),
                    value: e.value.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let (epc_uri, epc_uri_error) = match &epc {
        Some(e) => match e.to_epc_uri(gcp) {
            Ok(u) => (Some(u), None),
            Err(err) => (None, Some(err.to_string())),
        },
        None => (None, None),
    };
    let (gcp_length, gcp_source) = match &epc {
        Some(e) if e.gcp_length_hint().is_some() => (e.gcp_length_hint(), Some("epc_uri")),
        Some(e) if !e.gcp_digits().is_empty() => {
            let what = if matches!(
                e,
                Epc::Sgtin(_) | Epc::Lgtin(_) | Epc::GtinClass(_) | Epc::Upui(_)
            ) {
                "GTIN"
            } else {
                "GS1 key"
            };
            match gcp.resolve(what, e.gcp_digits()) {
                Ok((n, src)) => (
                    Some(n),
                    Some(match src {
                        GcpSource::Learned => "learned",
                        GcpSource::NdcRule => "ndc_rule",
                        GcpSource::Table => "table",
                    }),
                ),
                Err(_) => (None, None),
            }
        }
        _ => (None, None),
    };
    let gtin = es.as_ref().and_then(|e| e.gtin());
    Ok(Description {
        input: input.to_string(),
        form,
        symbology: symbology.as_deref().and_then(symbology_name),
        symbology_identifier: symbology,
        syntax_only: !options.checks_requisites(),
        epc_scheme: epc.as_ref().map(|e| e.scheme()),
        elements,
        element_string: es.as_ref().map(|e| e.to_bracketed()).unwrap_or_default(),
        scan_data: es
            .as_ref()
            .map(|e| e.to_raw_with_separator('^'))
            .unwrap_or_default(),
        digital_link: es
            .as_ref()
            .and_then(|e| e.to_digital_link(CANONICAL_DL_BASE).ok()),
        canonical_digital_link: epc.as_ref().map(|e| e.to_canonical_digital_link()),
        epc_uri,
        epc_uri_error,
        key: epc.as_ref().map(|e| e.key().replace('\u{1d}', "^")),
        gcp_length,
        gcp_source,
        ndc: gtin
            .as_ref()
            .and_then(|g| Ndc::from_gtin(g).ok())
            .map(|n| n.to_string()),
        gtin: gtin.map(|g| g.to_string()),
        serial: es.as_ref().and_then(|e| e.get("21")).map(str::to_string),
        lot: es.as_ref().and_then(|e| e.get("10")).map(str::to_string),
        expiry: es
            .as_ref()
            .and_then(|e| e.expiry())
            .map(|x| x.date().to_string()),
        parameters: params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_a_datamatrix_scan_in_every_form() {
        let d = describe("]d2010031234567890617271200^10LOT42^21SN1").unwrap();
        assert_eq!(d.form, Form::ScanData);
        assert_eq!(d.symbology_identifier.as_deref(), Some("]d2"));
        assert_eq!(d.epc_scheme, Some("sgtin"));
        assert_eq!(
            d.element_string,
            "(01)00312345678906(17)271200(10)LOT42(21)SN1"
        );
        assert_eq!(
            d.scan_data,
            "010031234567890617271200(10)LOT42^21SN1".replace("(10)", "10")
        );
        assert_eq!(
            d.epc_uri.as_deref(),
            Some("urn:epc:id:sgtin:0312345.067890.SN1")
        );
        assert_eq!(d.gcp_source, Some("ndc_rule"));
        assert_eq!(
            d.canonical_digital_link.as_deref(),
            Some("https://id.gs1.org/01/00312345678906/21/SN1")
        );
        assert_eq!(
            d.digital_link.as_deref(),
            Some("https://id.gs1.org/01/00312345678906/10/LOT42/21/SN1?17=271200")
        );
        assert_eq!(d.ndc.as_deref(), Some("1234567890"));
        assert_eq!(d.expiry.as_deref(), Some("2027-12-31"));
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["form"], "scan_data");
        assert_eq!(json["key"], "010031234567890621SN1");
    }

    #[test]
    fn describes_uris_and_reports_unknown_gcp_without_failing() {
        let d = describe("https://id.gs1.org/01/04012345000009/21/X").unwrap();
        assert_eq!(d.form, Form::DigitalLink);
        assert!(d.epc_uri.is_none());
        assert!(d
            .epc_uri_error
            .as_deref()
            .unwrap()
            .contains("Company Prefix length unknown"));
        let d = describe("urn:epc:id:sscc:0312345.1000000001").unwrap();
        assert_eq!(d.form, Form::EpcUri);
        assert_eq!(d.element_string, "(00)103123450000000018");
        assert_eq!(d.gcp_source, Some("epc_uri"));
    }

    #[test]
    fn bare_gtins_and_ssccs_are_read_as_keys() {
        let d = describe("00312345678906").unwrap();
        assert_eq!(d.form, Form::BareKey);
        assert_eq!(d.gtin.as_deref(), Some("00312345678906"));
        let d = describe("312345678906").unwrap();
        assert_eq!(d.element_string, "(01)00312345678906");
        let d = describe("103123450000000018").unwrap();
        assert_eq!(d.epc_scheme, Some("sscc"));
        // Valid scan data wins: "0100312345678906" is (01) with a GTIN.
        assert_eq!(describe("0100312345678906").unwrap().form, Form::ScanData);
        // Neither: the scan-data error is reported.
        assert_eq!(describe("00312345678907").unwrap_err().code(), "gs1.length");
    }

    #[test]
    fn unrecognised_and_invalid_inputs_are_errors() {
        assert_eq!(
            describe("hello").unwrap_err().code(),
            "gs1.unrecognised_form"
        );
        assert_eq!(
            describe("(01)00312345678907").unwrap_err().code(),
            "gs1.check_digit"
        );
    }

    #[test]
    fn describes_caret_element_strings_digital_link_qr_codes_and_names_non_gs1_symbologies() {
        let d = describe("^0112345678901231^10ABC").unwrap();
        assert_eq!(d.form, Form::ScanData);
        assert_eq!(d.element_string, "(01)12345678901231(10)ABC");
        // (01) has a predefined length: no FNC1 after it.
        assert_eq!(d.scan_data, "011234567890123110ABC");
        let d = describe("]d2010031234567890621S1").unwrap();
        assert_eq!(d.symbology, Some("GS1 DataMatrix"));
        // A GS1 Digital Link QR Code is a plain QR Code holding the URI.
        let d = describe("]Q1https://id.gs1.org/01/00312345678906/21/S1").unwrap();
        assert_eq!(d.form, Form::DigitalLink);
        assert_eq!(d.symbology_identifier.as_deref(), Some("]Q1"));
        assert_eq!(d.epc_scheme, Some("sgtin"));
        let e = describe("]Q1TESTING").unwrap_err();
        assert_eq!(e.code(), "gs1.not_gs1_data");
        assert!(e.to_string().contains("QR Code, not in GS1 mode"), "{e}");
    }

    #[test]
    fn syntax_only_describes_a_lot_without_gtin_and_says_so() {
        let gcp = GcpResolver::new();
        assert_eq!(describe("(10)ABC").unwrap_err().code(), "gs1.ai_requires");
        let d = describe_with_options("(10)ABC", &gcp, ParseOptions::SYNTAX_ONLY).unwrap();
        assert!(d.syntax_only);
        assert_eq!(d.lot.as_deref(), Some("ABC"));
        assert!(d.epc_scheme.is_none());
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["syntax_only"], true);
        let full = serde_json::to_value(describe("(01)00312345678906").unwrap()).unwrap();
        assert!(full.get("syntax_only").is_none());
    }
}
