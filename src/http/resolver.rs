//! The public GS1 Digital Link page (plain-HTTP listener, no client certificate): what a
//! pharmacist or patient reaches by scanning a pack, `/01/{gtin}/21/{serial}?17=…&10=…` or
//! `/01/{gtin}/10/{lot}/21/{serial}?17=…`.
//!
//! Non-disclosure rules: a verdict needs GTIN, serial, lot and expiry together, and any
//! mismatch answers "unknown" (never "wrong lot"), so the page cannot be used to find valid
//! serials or lots piece by piece; it shows no owner, location or history; each client address
//! is rate-limited (429). Every look-up goes to the verification log (context
//! `digitalLinkPage`). The decision is `verification::decide`, as for partners.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use chrono::Utc;
use diesel::prelude::*;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Serialize;

use super::problem::{with_conn, Problem};
use super::AppState;
use crate::gs1;
use crate::store::verification::{SerialFacts, VerificationRecord};
use crate::verification::{self, Request};

/// Per-client-address limit of the page.
pub struct PageLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl PageLimiter {
    pub fn new(settings: &crate::config::ResolverSettings) -> PageLimiter {
        let per_minute =
            std::num::NonZeroU32::new(settings.requests_per_minute.max(1)).expect("at least 1");
        let burst = std::num::NonZeroU32::new(settings.burst.max(1)).expect("at least 1");
        PageLimiter {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
            checks: AtomicU64::new(0),
        }
    }

    /// Ok, or the seconds to wait.
    fn check(&self, ip: IpAddr) -> Result<(), u64> {
        // Forget addresses whose allowance has refilled, now and then, so memory stays bounded.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 10_000 == 9_999 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            wait.as_secs().max(1)
        })
    }
}

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
    fn as_str(self) -> &'static str {
        match self {
            PageVerdict::Genuine => "genuine",
            PageVerdict::Unknown => "unknown",
            PageVerdict::Recalled => "recalled",
            PageVerdict::Suspect => "suspect",
            PageVerdict::Expired => "expired",
            PageVerdict::AlreadyDispensed => "already_dispensed",
        }
    }
    fn title(self) -> &'static str {
        match self {
            PageVerdict::Genuine => "Genuine",
            PageVerdict::Unknown => "Unknown",
            PageVerdict::Recalled => "Recalled",
            PageVerdict::Suspect => "Suspect",
            PageVerdict::Expired => "Expired",
            PageVerdict::AlreadyDispensed => "Already dispensed",
        }
    }
    fn advice(self) -> &'static str {
        match self {
            PageVerdict::Genuine => "The manufacturer issued this pack's identifier, with this lot and expiry.",
            PageVerdict::Unknown => "This identifier, with this lot and expiry, is not known here. Check that the whole code was scanned; if it was, do not use the pack and ask your pharmacist.",
            PageVerdict::Recalled => "This pack belongs to a recall. Do not use it; return it to your pharmacy.",
            PageVerdict::Suspect => "This pack is under investigation. Do not use it; return it to your pharmacy.",
            PageVerdict::Expired => "This pack has passed its expiry date. Do not use it.",
            PageVerdict::AlreadyDispensed => "This pack's identifier was already dispensed. If you were just given it as new, ask your pharmacist.",
        }
    }
}

/// `serials.status` code of a dispensed serial (docs/ARCHITECTURE.md, "Codes").
const DISPENSED: i16 = 5;

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
    let v = verification::decide(Some(f), req, today);
    match (v.verification_failure_reason, v.additional_info) {
        (Some(r), _) if r.starts_with("No_match") => PageVerdict::Unknown,
        (_, Some("Illegitimate" | "Suspect")) => PageVerdict::Suspect,
        (_, Some("Recalled")) => PageVerdict::Recalled,
        (Some("Not_for_re-distribution"), _) if f.status == DISPENSED => {
            PageVerdict::AlreadyDispensed
        }
        // Decommissioned or destroyed, yet a pack is in someone's hands.
        (Some(_), _) => PageVerdict::Suspect,
        (None, Some("Expired")) => PageVerdict::Expired,
        (None, _) => PageVerdict::Genuine,
    }
}

#[derive(Debug, Clone, Serialize, Default)]
struct Product {
    name: Option<String>,
    strength: Option<String>,
    dosage_form: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PageAnswer {
    verdict: PageVerdict,
    gtin: String,
    serial: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    lot: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<Product>,
    checked_at: String,
}

static TEMPLATES: LazyLock<minijinja::Environment<'static>> = LazyLock::new(|| {
    let mut env = minijinja::Environment::new();
    // A name ending in .html turns on HTML auto-escaping.
    env.add_template(
        "digital_link.html",
        include_str!("templates/digital_link.html"),
    )
    .expect("the Digital Link template parses");
    env
});

fn rate_limited(wait_secs: u64) -> HttpResponse {
    let mut res = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "Too many requests",
        format!("too many look-ups from this address; try again in {wait_secs} s"),
    )
    .error_response();
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&wait_secs.to_string()) {
        res.headers_mut()
            .insert(actix_web::http::header::RETRY_AFTER, v);
    }
    res
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// `GET /01/…`: the page, its JSON, or its linkset.
pub async fn page(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, Problem> {
    let started = Instant::now();
    let ip = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if let Err(wait) = state.page_limiter.check(ip) {
        return Ok(rate_limited(wait));
    }
    let uri = format!(
        "https://resolver.invalid{}{}{}",
        req.path(),
        if req.query_string().is_empty() {
            ""
        } else {
            "?"
        },
        req.query_string()
    );
    let invalid = |detail: String| {
        Problem::bad_request(
            "invalid-digital-link",
            format!("{detail}. Expected /01/{{gtin}}/21/{{serial}}?17=YYMMDD&10={{lot}} or /01/{{gtin}}/10/{{lot}}/21/{{serial}}?17=YYMMDD"),
        )
    };
    let dl = gs1::parse_digital_link_full(&uri).map_err(|e| invalid(e.to_string()))?;
    let link_type = dl.param("linkType").map(|l| {
        l.trim_start_matches("https://gs1.org/voc/")
            .trim_start_matches("gs1:")
            .to_string()
    });
    let es = &dl.elements;
    let (Some(gtin), Some(serial)) = (es.gtin(), es.serial()) else {
        return Err(invalid(
            "the page needs a GTIN (01) and a serial number (21)".into(),
        ));
    };
    match link_type.as_deref() {
        None | Some("pip") | Some("verificationService") => {}
        Some("all") => {
            let href = format!("/01/{}/21/{}", gtin.as_str(), dl_path(serial.as_str()));
            return Ok(HttpResponse::Ok()
                .content_type("application/linkset+json")
                .json(serde_json::json!({ "linkset": [{
                    "anchor": format!("https://id.gs1.org/01/{}/21/{}", gtin.as_str(), dl_path(serial.as_str())),
                    "https://gs1.org/voc/pip": [{ "href": href, "title": "Is this pack genuine?", "type": "text/html" }],
                }]})));
        }
        Some(other) => {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                "link-type-not-available",
                "Link type not available",
                format!("linkType `{other}` is not served here; available: gs1:pip (this page), all (the linkset)"),
            ))
        }
    }
    let request = Request {
        gtin,
        serial,
        lot: es.lot(),
        expiry: es.expiry(),
        context: Some("digitalLinkPage".into()),
        req_gln: None,
        corr_uuid: uuid::Uuid::new_v4().to_string(),
    };
    // Incomplete codes are not looked up: nothing to learn from them.
    let facts = if request.lot.is_some() && request.expiry.is_some() {
        state.facts.facts(request.epc_key()).await?
    } else {
        None
    };
    let today = Utc::now().date_naive();
    let verdict = page_verdict(facts.as_ref(), &request, today);
    let decision = verification::decide(facts.as_ref(), &request, today);
    let product = if verdict == PageVerdict::Unknown {
        None
    } else {
        let g = request.gtin.as_str().to_string();
        Some(
            with_conn(state.pool.clone(), move |conn| {
                use crate::store::schema::trade_items as t;
                let row: Option<(Option<String>, Option<String>, Option<String>)> = t::table
                    .filter(t::gtin.eq(&g))
                    .select((t::name, t::strength, t::dosage_form))
                    .first(conn)
                    .optional()?;
                Ok(row
                    .map(|(name, strength, dosage_form)| Product {
                        name,
                        strength,
                        dosage_form,
                    })
                    .unwrap_or_default())
            })
            .await?,
        )
    };
    state.verification_log.record(VerificationRecord {
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
    let answer = PageAnswer {
        verdict,
        gtin: request.gtin.as_str().to_string(),
        serial: request.serial.as_str().to_string(),
        lot: request.lot.as_ref().map(|l| l.as_str().to_string()),
        expiry: request.expiry.as_ref().map(|e| e.date().to_string()),
        product,
        checked_at: verification::now_timestamp(),
    };
    let cache = ("Cache-Control", "no-store");
    if wants_json(&req) {
        return Ok(HttpResponse::Ok().insert_header(cache).json(answer));
    }
    let html = TEMPLATES
        .get_template("digital_link.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                verdict => verdict.as_str(),
                title => verdict.title(),
                advice => verdict.advice(),
                product => answer.product,
                gtin => answer.gtin,
                serial => answer.serial,
                lot => answer.lot,
                expiry => answer.expiry,
                checked_at => answer.checked_at,
            })
        })
        .map_err(|e| {
            log::error!("Digital Link page template: {e}");
            Problem::internal()
        })?;
    Ok(HttpResponse::Ok()
        .insert_header(cache)
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ))
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// A serial as a Digital Link path segment.
fn dl_path(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn facts(status: i16) -> SerialFacts {
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
        let f = facts(1);
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
            page_verdict(Some(&facts(5)), &ok, today),
            PageVerdict::AlreadyDispensed
        );
        assert_eq!(
            page_verdict(Some(&facts(7)), &ok, today),
            PageVerdict::Suspect
        );
        assert_eq!(
            page_verdict(Some(&facts(8)), &ok, today),
            PageVerdict::Unknown
        );
        let mut recalled = facts(1);
        recalled.product_flags = vec!["recalled".into()];
        assert_eq!(
            page_verdict(Some(&recalled), &ok, today),
            PageVerdict::Recalled
        );
        let mut suspect = facts(5);
        suspect.suspect = true;
        assert_eq!(
            page_verdict(Some(&suspect), &ok, today),
            PageVerdict::Suspect
        );
        let late = NaiveDate::from_ymd_opt(2029, 1, 1).unwrap();
        assert_eq!(page_verdict(Some(&f), &ok, late), PageVerdict::Expired);
    }
}
