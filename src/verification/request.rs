//! A verification request: the two LMS URL forms (`…/gtin/…/lot/…/ser/…` and the Digital Link
//! form `…/01/…/10/…/21/…`) and raw scanner data, parsed into [`Request`]; what is wrong with
//! one that does not parse ([`RequestError`]).

use crate::gs1::{self, Expiry, Gln, Gs1Error, Gtin, Lot, SerialNumber};

/// A verification request, parsed.
#[derive(Debug, Clone)]
pub struct Request {
    pub gtin: Gtin,
    pub serial: SerialNumber,
    pub lot: Option<Lot>,
    pub expiry: Option<Expiry>,
    pub context: Option<String>,
    pub req_gln: Option<Gln>,
    pub corr_uuid: String,
}

impl Request {
    pub fn epc_key(&self) -> String {
        gs1::sgtin_key(&self.gtin, &self.serial)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("linkType is `{0}`; a verification request needs linkType=verificationService")]
    LinkType(String),
    #[error(
        "the request has no linkType; a verification request needs \
         linkType=verificationService (GS1 US DSCSA verification guideline)"
    )]
    NoLinkType,
    #[error("the request names no GTIN (AI 01 / `gtin`)")]
    NoGtin,
    #[error("the request names no serial number (AI 21 / `ser`)")]
    NoSerial,
    #[error("{0}")]
    Identifier(#[from] Gs1Error),
    #[error("{0}")]
    Parameter(String),
}

/// Parses either request form: `…/gtin/{gtin}/lot/{lot}/ser/{serial}?exp=YYMMDD&…` or
/// `…/01/{gtin}/10/{lot}/21/{serial}?17=YYMMDD&…` (`path` is the request path, `query` the
/// query string without `?`). `linkType` must be `verificationService`; without
/// `require_link_type` (the compatibility setting `verification.require_link_type = false`) a
/// request without one is accepted too, but never one with another link type.
pub fn parse_request(
    path: &str,
    query: &str,
    require_link_type: bool,
) -> Result<Request, RequestError> {
    let uri = if query.is_empty() {
        format!("https://responder.invalid{path}")
    } else {
        format!("https://responder.invalid{path}?{query}")
    };
    let dl = gs1::parse_digital_link_full(&uri)?;
    check_link_type(dl.param("linkType"), require_link_type)?;
    let es = dl.elements;
    build(
        es.gtin(),
        es.serial(),
        es.lot(),
        es.expiry(),
        dl.params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
    )
}

/// Parses raw scanner data (GS1 DataMatrix: FNC1 as GS, optional symbology identifier) with the
/// LMS parameters given separately (from the query string of `POST /verify/scan`).
///
/// This is not an LMS message (a scanner's data, not a Digital Link), so `linkType` is not
/// required; when given it must be `verificationService`.
pub fn parse_scan(scan: &str, params: Vec<(&str, &str)>) -> Result<Request, RequestError> {
    let link_type = params
        .iter()
        .find(|(k, _)| *k == "linkType")
        .map(|(_, v)| *v);
    check_link_type(link_type, false)?;
    let es = gs1::parse_element_string(scan.trim_end_matches(['\r', '\n']))?;
    build(es.gtin(), es.serial(), es.lot(), es.expiry(), params)
}

/// `linkType` (GS1 US guideline: `verificationService`). The CURIE (`gs1:verificationService`)
/// and full URI (`https://gs1.org/voc/verificationService`) forms are accepted as well as the
/// bare name: which one requestors send is not confirmed by the text available to us
/// (UNVERIFIED, standards.md §4.1).
fn check_link_type(link_type: Option<&str>, required: bool) -> Result<(), RequestError> {
    match link_type {
        None | Some("") if required => Err(RequestError::NoLinkType),
        None | Some("") => Ok(()),
        Some(link_type) => {
            let short = link_type.rsplit([':', '/']).next().unwrap_or(link_type);
            if short == "verificationService" {
                Ok(())
            } else {
                Err(RequestError::LinkType(link_type.to_string()))
            }
        }
    }
}

fn build(
    gtin: Option<Gtin>,
    serial: Option<SerialNumber>,
    lot: Option<Lot>,
    expiry: Option<Expiry>,
    params: Vec<(&str, &str)>,
) -> Result<Request, RequestError> {
    let get = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let req_gln = match get("reqGLN").filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            v.parse::<Gln>()
                .map_err(|e| RequestError::Parameter(format!("reqGLN: {e}")))?,
        ),
    };
    let corr_uuid = match get("corrUUID").filter(|v| !v.is_empty()) {
        Some(v) if v.len() <= 100 && v.chars().all(|c| c.is_ascii_graphic()) => v.to_string(),
        Some(_) => {
            return Err(RequestError::Parameter(
                "corrUUID must be 1 to 100 printable ASCII characters (a UUID)".into(),
            ))
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    let context = get("context").filter(|v| !v.is_empty()).map(str::to_string);
    Ok(Request {
        gtin: gtin.ok_or(RequestError::NoGtin)?,
        serial: serial.ok_or(RequestError::NoSerial)?,
        lot,
        expiry,
        context,
        req_gln,
        corr_uuid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(lot: &str, exp: &str) -> Request {
        parse_request(
            &format!("/verify/gtin/00361414123458/lot/{lot}/ser/SN1"),
            &format!("exp={exp}&linkType=verificationService&context=dscsaSaleableReturn&reqGLN=0361414000018&corrUUID=abc-1"),
            true,
        )
        .unwrap()
    }

    #[test]
    fn both_request_forms_parse_to_the_same_request() {
        let alpha = request("LOT42", "281231");
        let numeric = parse_request(
            "/verify/01/00361414123458/10/LOT42/21/SN1",
            "17=281231&linkType=verificationService&reqGLN=0361414000018&corrUUID=abc-1",
            true,
        )
        .unwrap();
        assert_eq!(alpha.epc_key(), numeric.epc_key());
        assert_eq!(alpha.lot, numeric.lot);
        assert_eq!(alpha.expiry, numeric.expiry);
        assert_eq!(alpha.corr_uuid, "abc-1");
        assert_eq!(alpha.req_gln.unwrap().as_str(), "0361414000018");
    }

    #[test]
    fn a_wrong_link_type_or_a_bad_requestor_gln_is_refused() {
        let lt = parse_request(
            "/verify/gtin/00361414123458/lot/L/ser/S",
            "linkType=pip",
            true,
        );
        assert!(matches!(lt, Err(RequestError::LinkType(_))));
        let gln = parse_request(
            "/verify/gtin/00361414123458/lot/L/ser/S",
            "linkType=verificationService&reqGLN=0361414000019",
            true,
        );
        assert!(matches!(gln, Err(RequestError::Parameter(_))), "{gln:?}");
        let gtin = parse_request("/verify/gtin/00361414123459/lot/L/ser/S", "", true);
        assert!(matches!(gtin, Err(RequestError::Identifier(_))));
    }

    #[test]
    fn a_missing_link_type_is_refused_unless_the_compatibility_setting_allows_it() {
        let path = "/verify/gtin/00361414123458/lot/L/ser/S";
        for query in ["", "exp=281231", "linkType="] {
            let r = parse_request(path, query, true);
            assert!(matches!(r, Err(RequestError::NoLinkType)), "{query}: {r:?}");
            assert!(parse_request(path, query, false).is_ok(), "{query}");
        }
        // Another link type is refused either way; the CURIE and URI forms are the same type.
        assert!(matches!(
            parse_request(path, "linkType=gs1:pip", false),
            Err(RequestError::LinkType(_))
        ));
        for lt in [
            "verificationService",
            "gs1:verificationService",
            "https://gs1.org/voc/verificationService",
        ] {
            assert!(
                parse_request(path, &format!("linkType={lt}"), true).is_ok(),
                "{lt}"
            );
        }
    }

    #[test]
    fn a_missing_corr_uuid_is_generated() {
        let r = parse_request(
            "/verify/gtin/00361414123458/lot/L/ser/S",
            "linkType=verificationService",
            true,
        )
        .unwrap();
        assert_eq!(r.corr_uuid.len(), 36);
    }

    #[test]
    fn a_raw_datamatrix_scan_parses_with_its_symbology_identifier() {
        let scan = "]d2010036141412345817281231\u{1d}10LOT42\u{1d}21SN1";
        let r = parse_scan(scan, vec![("corrUUID", "x")]).unwrap();
        assert_eq!(r.epc_key(), "010036141412345821SN1");
        assert_eq!(r.lot.unwrap().as_str(), "LOT42");
    }
}
