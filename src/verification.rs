//! Product-identifier verification (GS1 Lightweight Messaging, the DSCSA VRS): "is this
//! package genuine?", answered from the per-serial state.
//!
//! Decision (GS1 US LMS guideline R1.3 codes): an unknown GTIN+serial answers
//! `No_match_GTIN_Serial`; a known serial whose lot and/or expiry differ answers
//! `No_match_GTIN_Serial_Lot`, `_Expiry` or `_Lot_Expiry` (serial first, then lot, then expiry).
//! A serial that was decommissioned, destroyed or dispensed is not in saleable circulation any
//! more: it answers `verified: false` with `Not_for_re-distribution`, so that a returned pack
//! carrying such an identifier is not resold. A serial seen only in events before its
//! commissioning arrived (status unknown) was not issued by this manufacturer as far as we know:
//! `No_match_GTIN_Serial`. `additionalInfo` reports the most severe of `Illegitimate`,
//! `Recalled`, `Suspect` (including serials commissioned twice) and `Expired`.

use chrono::{NaiveDate, SecondsFormat, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::gs1::{self, Expiry, Gln, Gs1Error, Gtin, Lot, SerialNumber};
use crate::store::verification::{self as q, SerialFacts};

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

/// The `data` member of the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_failure_reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<&'static str>,
}

/// `serials.status` codes (see docs/ARCHITECTURE.md).
mod status {
    pub const DISPENSED: i16 = 5;
    pub const DECOMMISSIONED: i16 = 6;
    pub const DESTROYED: i16 = 7;
    pub const UNKNOWN: i16 = 8;
}

/// The decision, from what is stored about the serial. Pure, so every path is unit-tested.
pub fn decide(facts: Option<&SerialFacts>, req: &Request, today: NaiveDate) -> Verdict {
    let no_match = |reason| Verdict {
        verified: false,
        verification_failure_reason: Some(reason),
        additional_info: None,
    };
    let Some(f) = facts else {
        return no_match("No_match_GTIN_Serial");
    };
    if f.status == status::UNKNOWN {
        return no_match("No_match_GTIN_Serial");
    }
    let has = |flag: &str| f.product_flags.iter().any(|p| p == flag);
    let additional_info = if f.illegitimate || has("illegitimate") {
        Some("Illegitimate")
    } else if f.recalled || has("recalled") {
        Some("Recalled")
    } else if f.suspect || f.duplicate || has("suspect") {
        Some("Suspect")
    } else if f.expiry.is_some_and(|e| e < today) {
        Some("Expired")
    } else {
        None
    };
    if matches!(
        f.status,
        status::DISPENSED | status::DECOMMISSIONED | status::DESTROYED
    ) {
        return Verdict {
            verified: false,
            verification_failure_reason: Some("Not_for_re-distribution"),
            additional_info,
        };
    }
    let lot_differs = req
        .lot
        .as_ref()
        .is_some_and(|l| f.lot.as_deref() != Some(l.as_str()));
    let expiry_differs = req
        .expiry
        .as_ref()
        .is_some_and(|e| f.expiry != Some(e.date()));
    let reason = match (lot_differs, expiry_differs) {
        (false, false) => None,
        (true, false) => Some("No_match_GTIN_Serial_Lot"),
        (false, true) => Some("No_match_GTIN_Serial_Expiry"),
        (true, true) => Some("No_match_GTIN_Serial_Lot_Expiry"),
    };
    Verdict {
        verified: reason.is_none(),
        verification_failure_reason: reason,
        additional_info,
    }
}

/// The whole 200 answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub verification_timestamp: String,
    #[serde(rename = "responderGLN", skip_serializing_if = "Option::is_none")]
    pub responder_gln: Option<String>,
    #[serde(rename = "corrUUID")]
    pub corr_uuid: String,
    pub data: Verdict,
}

/// What the local data says about a request.
#[derive(Debug)]
pub enum Outcome {
    Answer(Response),
    /// Not a product of ours, but the lookup directory names its responder.
    Forward {
        responder_base: String,
    },
    /// Neither ours nor in the lookup directory (404).
    NotServed,
}

pub fn now_timestamp() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The 200 answer from what is stored about the serial (None: not stored, and the GTIN is ours).
pub fn respond(
    facts: Option<&SerialFacts>,
    req: &Request,
    responder_gln: Option<&Gln>,
) -> Response {
    Response {
        verification_timestamp: now_timestamp(),
        responder_gln: responder_gln.map(|g| g.as_str().to_string()),
        corr_uuid: req.corr_uuid.clone(),
        data: decide(facts, req, Utc::now().date_naive()),
    }
}

/// A serial that is not stored: a no-match answer when the GTIN is ours, else where to forward.
pub fn unknown_serial(
    conn: &mut PgConnection,
    req: &Request,
    responder_gln: Option<&Gln>,
) -> QueryResult<Outcome> {
    if q::gtin_served(conn, req.gtin.as_str())? {
        return Ok(Outcome::Answer(respond(None, req, responder_gln)));
    }
    Ok(match q::responder_for(conn, req.gtin.as_str())? {
        Some(responder_base) => Outcome::Forward { responder_base },
        None => Outcome::NotServed,
    })
}

/// `checkConnectivity`: does this responder (or one it forwards to) serve the GTIN?
pub fn serves(conn: &mut PgConnection, gtin: &Gtin) -> QueryResult<bool> {
    Ok(q::gtin_served(conn, gtin.as_str())? || q::responder_for(conn, gtin.as_str())?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(lot: &str, expiry: (i32, u32, u32), status: i16) -> SerialFacts {
        SerialFacts {
            lot: Some(lot.into()),
            expiry: NaiveDate::from_ymd_opt(expiry.0, expiry.1, expiry.2),
            status,
            suspect: false,
            recalled: false,
            illegitimate: false,
            duplicate: false,
            product_flags: vec![],
        }
    }

    fn request(lot: &str, exp: &str) -> Request {
        parse_request(
            &format!("/verify/gtin/00361414123458/lot/{lot}/ser/SN1"),
            &format!("exp={exp}&linkType=verificationService&context=dscsaSaleableReturn&reqGLN=0361414000018&corrUUID=abc-1"),
            true,
        )
        .unwrap()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
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
    fn match_and_each_failure_reason() {
        let f = facts("LOT42", (2028, 12, 31), 4);
        let ok = decide(Some(&f), &request("LOT42", "281231"), today());
        assert_eq!((ok.verified, ok.verification_failure_reason), (true, None));
        let cases = [
            ("LOT9", "281231", "No_match_GTIN_Serial_Lot"),
            ("LOT42", "281130", "No_match_GTIN_Serial_Expiry"),
            ("LOT9", "281130", "No_match_GTIN_Serial_Lot_Expiry"),
        ];
        for (lot, exp, reason) in cases {
            let v = decide(Some(&f), &request(lot, exp), today());
            assert!(!v.verified);
            assert_eq!(v.verification_failure_reason, Some(reason), "{lot} {exp}");
        }
        let unknown = decide(None, &request("LOT42", "281231"), today());
        assert_eq!(
            unknown.verification_failure_reason,
            Some("No_match_GTIN_Serial")
        );
    }

    #[test]
    fn day_00_means_the_last_day_of_the_month() {
        let f = facts("LOT42", (2028, 12, 31), 1);
        assert!(decide(Some(&f), &request("LOT42", "281200"), today()).verified);
    }

    #[test]
    fn flags_and_expiry_become_additional_info_by_severity() {
        let mut f = facts("LOT42", (2025, 1, 31), 4);
        let r = request("LOT42", "250131");
        assert_eq!(
            decide(Some(&f), &r, today()).additional_info,
            Some("Expired")
        );
        f.duplicate = true;
        assert_eq!(
            decide(Some(&f), &r, today()).additional_info,
            Some("Suspect")
        );
        f.product_flags = vec!["recalled".into()];
        let v = decide(Some(&f), &r, today());
        assert_eq!((v.verified, v.additional_info), (true, Some("Recalled")));
        f.illegitimate = true;
        assert_eq!(
            decide(Some(&f), &r, today()).additional_info,
            Some("Illegitimate")
        );
    }

    #[test]
    fn serials_out_of_circulation_are_not_for_redistribution() {
        for status in [status::DISPENSED, status::DECOMMISSIONED, status::DESTROYED] {
            let f = facts("LOT42", (2028, 12, 31), status);
            let v = decide(Some(&f), &request("LOT42", "281231"), today());
            assert!(!v.verified);
            assert_eq!(
                v.verification_failure_reason,
                Some("Not_for_re-distribution")
            );
        }
        let seen_only = facts("LOT42", (2028, 12, 31), status::UNKNOWN);
        let v = decide(Some(&seen_only), &request("LOT42", "281231"), today());
        assert_eq!(v.verification_failure_reason, Some("No_match_GTIN_Serial"));
    }

    #[test]
    fn a_raw_datamatrix_scan_parses_with_its_symbology_identifier() {
        let scan = "]d2010036141412345817281231\u{1d}10LOT42\u{1d}21SN1";
        let r = parse_scan(scan, vec![("corrUUID", "x")]).unwrap();
        assert_eq!(r.epc_key(), "010036141412345821SN1");
        assert_eq!(r.lot.unwrap().as_str(), "LOT42");
    }
}
