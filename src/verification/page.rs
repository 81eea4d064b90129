//! The check behind the public GS1 Digital Link page: what a pharmacist or patient learns by
//! scanning a pack. The decision is [`decide`](super::decide), as for partners, narrowed to one
//! verdict for the public.
//!
//! Non-disclosure: a verdict needs GTIN, serial, lot and expiry together, and any mismatch
//! answers "unknown" (never "wrong lot"), so the page cannot be used to find valid serials or
//! lots piece by piece; it tells no owner, location or history. Every look-up goes to the
//! verification log (context `digitalLinkPage`).

use chrono::Utc;
use serde::Serialize;

use super::{decide, Request, Verifier, VerifyError};
use crate::store::codes::SerialStatus;
use crate::store::verification::{self as q, SerialFacts, VerificationRecord};

/// One verdict for the public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PageVerdict {
    Genuine,
    Unknown,
    Recalled,
    Suspect,
    Expired,
    AlreadyDispensed,
}

impl PageVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            PageVerdict::Genuine => "genuine",
            PageVerdict::Unknown => "unknown",
            PageVerdict::Recalled => "recalled",
            PageVerdict::Suspect => "suspect",
            PageVerdict::Expired => "expired",
            PageVerdict::AlreadyDispensed => "already_dispensed",
        }
    }
}

/// The page's verdict from the verification decision. Lot and expiry must both be given and
/// both match, else "unknown"; then the most serious flag, then the serial's state.
pub fn page_verdict(
    facts: Option<&SerialFacts>,
    req: &Request,
    today: chrono::NaiveDate,
) -> PageVerdict {
    let (Some(f), Some(lot), Some(exp)) = (facts, &req.lot, &req.expiry) else {
        return PageVerdict::Unknown;
    };
    if f.lot.as_deref() != Some(lot.as_str()) || f.expiry != Some(exp.date()) {
        return PageVerdict::Unknown;
    }
    let v = decide(Some(f), req, today);
    match (v.verification_failure_reason, v.additional_info) {
        (Some(r), _) if r.starts_with("No_match") => PageVerdict::Unknown,
        (_, Some("Illegitimate" | "Suspect")) => PageVerdict::Suspect,
        (_, Some("Recalled")) => PageVerdict::Recalled,
        (Some("Not_for_re-distribution"), _) if f.status == SerialStatus::Dispensed => {
            PageVerdict::AlreadyDispensed
        }
        // Decommissioned or destroyed, yet a pack is in someone's hands.
        (Some(_), _) => PageVerdict::Suspect,
        (None, Some("Expired")) => PageVerdict::Expired,
        (None, _) => PageVerdict::Genuine,
    }
}

/// What the page says about the product (master data), when the verdict is not "unknown".
pub use crate::store::verification::ProductDescription as Product;

/// The page's check of one scanned code.
#[derive(Debug)]
pub struct PageCheck {
    pub verdict: PageVerdict,
    pub product: Option<Product>,
}

impl Verifier {
    /// Checks a scanned code for the page (`request.context` is `digitalLinkPage`) and logs
    /// the look-up.
    pub async fn check_page(&self, request: &Request) -> Result<PageCheck, VerifyError> {
        let started = std::time::Instant::now();
        // Incomplete codes are not looked up: nothing to learn from them.
        let facts = if request.lot.is_some() && request.expiry.is_some() {
            self.facts.facts(request.epc_key()).await?
        } else {
            None
        };
        let today = Utc::now().date_naive();
        let verdict = page_verdict(facts.as_ref(), request, today);
        let decision = decide(facts.as_ref(), request, today);
        let product = if verdict == PageVerdict::Unknown {
            None
        } else {
            let g = request.gtin.as_str().to_string();
            let found = self
                .on_connection(move |conn| q::product_description(conn, &g))
                .await?;
            Some(found.unwrap_or_default())
        };
        self.log.record(VerificationRecord {
            received_at: Utc::now(),
            partner_id: None,
            requester_gln: None,
            corr_uuid: Some(request.corr_uuid.clone()),
            context: request.context.clone(),
            gtin: Some(request.gtin.as_str().to_string()),
            serial_number: Some(request.serial.as_str().to_string()),
            lot: request.lot.as_ref().map(|l| l.as_str().to_string()),
            expiry: request.expiry.as_ref().map(|e| e.date().to_string()),
            verified: Some(verdict == PageVerdict::Genuine),
            failure_reason: decision.verification_failure_reason.map(str::to_string),
            additional_info: Some(vec![Some(verdict.as_str().to_string())]),
            http_status: 200,
            forwarded_to: None,
            duration_us: i32::try_from(started.elapsed().as_micros()).ok(),
        });
        Ok(PageCheck { verdict, product })
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn facts(status: SerialStatus) -> SerialFacts {
        SerialFacts {
            lot: Some("L1".into()),
            expiry: NaiveDate::from_ymd_opt(2028, 12, 31),
            status,
            suspect: false,
            recalled: false,
            illegitimate: false,
            duplicate: false,
            product_flags: vec![],
        }
    }

    fn request(lot: Option<&str>, exp: Option<&str>) -> Request {
        Request {
            gtin: "00312345678906".parse().unwrap(),
            serial: "S1".parse().unwrap(),
            lot: lot.map(|l| l.parse().unwrap()),
            expiry: exp.map(|e| e.parse().unwrap()),
            context: None,
            req_gln: None,
            corr_uuid: "x".into(),
        }
    }

    #[test]
    fn the_page_verdict_needs_lot_and_expiry_and_hides_which_one_is_wrong() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let ok = request(Some("L1"), Some("281231"));
        let f = facts(SerialStatus::Commissioned);
        assert_eq!(page_verdict(Some(&f), &ok, today), PageVerdict::Genuine);
        assert_eq!(page_verdict(None, &ok, today), PageVerdict::Unknown);
        for r in [
            request(Some("L2"), Some("281231")),
            request(Some("L1"), Some("281230")),
            request(None, Some("281231")),
            request(Some("L1"), None),
        ] {
            assert_eq!(
                page_verdict(Some(&f), &r, today),
                PageVerdict::Unknown,
                "{r:?}"
            );
        }
        assert_eq!(
            page_verdict(Some(&facts(SerialStatus::Dispensed)), &ok, today),
            PageVerdict::AlreadyDispensed
        );
        assert_eq!(
            page_verdict(Some(&facts(SerialStatus::Destroyed)), &ok, today),
            PageVerdict::Suspect
        );
        assert_eq!(
            page_verdict(Some(&facts(SerialStatus::Unknown)), &ok, today),
            PageVerdict::Unknown
        );
        let mut recalled = facts(SerialStatus::Commissioned);
        recalled.product_flags = vec!["recalled".into()];
        assert_eq!(
            page_verdict(Some(&recalled), &ok, today),
            PageVerdict::Recalled
        );
        let mut suspect = facts(SerialStatus::Dispensed);
        suspect.suspect = true;
        assert_eq!(
            page_verdict(Some(&suspect), &ok, today),
            PageVerdict::Suspect
        );
        let late = NaiveDate::from_ymd_opt(2029, 1, 1).unwrap();
        assert_eq!(page_verdict(Some(&f), &ok, late), PageVerdict::Expired);
    }
}
