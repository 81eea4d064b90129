//! The verification decision (pure) and the answer it makes. The table of answers is in
//! docs/VERIFICATION.md.

use chrono::{NaiveDate, SecondsFormat, Utc};
use serde::Serialize;

use super::Request;
use crate::gs1::Gln;
use crate::store::codes::SerialStatus;
use crate::store::verification::SerialFacts;

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
    if f.status == SerialStatus::Unknown {
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
    if f.status.is_terminal() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verification::parse_request;

    fn facts(lot: &str, expiry: (i32, u32, u32), status: SerialStatus) -> SerialFacts {
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
    fn match_and_each_failure_reason() {
        let f = facts("LOT42", (2028, 12, 31), SerialStatus::Received);
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
        let f = facts("LOT42", (2028, 12, 31), SerialStatus::Commissioned);
        assert!(decide(Some(&f), &request("LOT42", "281200"), today()).verified);
    }

    #[test]
    fn flags_and_expiry_become_additional_info_by_severity() {
        let mut f = facts("LOT42", (2025, 1, 31), SerialStatus::Received);
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
        for status in [
            SerialStatus::Dispensed,
            SerialStatus::Decommissioned,
            SerialStatus::Destroyed,
        ] {
            let f = facts("LOT42", (2028, 12, 31), status);
            let v = decide(Some(&f), &request("LOT42", "281231"), today());
            assert!(!v.verified);
            assert_eq!(
                v.verification_failure_reason,
                Some("Not_for_re-distribution")
            );
        }
        let seen_only = facts("LOT42", (2028, 12, 31), SerialStatus::Unknown);
        let v = decide(Some(&seen_only), &request("LOT42", "281231"), today());
        assert_eq!(v.verification_failure_reason, Some("No_match_GTIN_Serial"));
    }
}
