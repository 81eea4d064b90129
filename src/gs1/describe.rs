//! Detect the form of one input and render every representation of it (the core of the
//! `gs1 parse` command; serialisable for `--json`).

use serde::Serialize;

use super::digital_link::parse_digital_link_full;
use super::element_string::{parse_element_string, ElementString};
use super::epc::{parse_epc_uri, Epc, CANONICAL_DL_BASE};
use super::error::Gs1Error;
use super::gcp::{GcpResolver, GcpSource};
use super::ndc::Ndc;

/// The form an input was recognised as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    EpcUri,
    DigitalLink,
    /// Legacy alpha path names (`/gtin/…/ser/…`).
    DigitalLinkAlpha,
    ElementString,
    /// Raw scanner data (FNC1 as GS or `^`), with or without a symbology identifier.
    ScanData,
    /// A bare GTIN (8, 12, 13 or 14 digits) or SSCC (18 digits) that is not valid scan data.
    BareKey,
}

fn bare_key(input: &str) -> Option<ElementString> {
    if !input.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bracketed = match input.len() {
        8 | 12 | 13 | 14 => format!("(01){}", super::keys::Gtin::parse(input).ok()?),
        18 => format!("(00){input}"),
        _ => return None,
    };
    parse_element_string(&bracketed).ok()
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
    let mut symbology = None;
    let mut params = Vec::new();
    let (form, es, epc) = if input.starts_with("urn:") {
        let epc = parse_epc_uri(input)?;
        let es = epc.to_element_string().ok();
        (Form::EpcUri, es, Some(epc))
    } else if input
        .get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
        || input
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("http://"))
    {
        let dl = parse_digital_link_full(input)?;
        params = dl.params.clone();
        let form = if dl.alpha {
            Form::DigitalLinkAlpha
        } else {
            Form::DigitalLink
        };
        let epc = Epc::from_element_string(&dl.elements).ok();
        (form, Some(dl.elements), epc)
    } else if input.starts_with('(') {
        let es = parse_element_string(input)?;
        let epc = Epc::from_element_string(&es).ok();
        (Form::ElementString, Some(es), epc)
    } else if input.starts_with(']')
        || input.starts_with('\u{1d}')
        || input.starts_with(|c: char| c.is_ascii_digit())
    {
        if input.starts_with(']') {
            symbology = input.get(..3).map(str::to_string);
        }
        let data = input.replace('^', "\u{1d}");
        match parse_element_string(&data) {
            Ok(es) => {
                let epc = Epc::from_element_string(&es).ok();
                (Form::ScanData, Some(es), epc)
            }
            // A bare GTIN or SSCC typed on a command line is not scan data; read it as the
            // key it looks like, and if that fails too, report the scan-data error.
            Err(scan_err) => match bare_key(input) {
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
        symbology_identifier: symbology,
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
}
