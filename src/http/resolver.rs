//! The public GS1 Digital Link page (plain-HTTP listener, no client certificate): what a
//! pharmacist or patient reaches by scanning a pack, `/01/{gtin}/21/{serial}?17=…&10=…` or
//! `/01/{gtin}/10/{lot}/21/{serial}?17=…`. The check and its non-disclosure rules are
//! `verification::page`; here the link is parsed, each client address rate-limited (429), and
//! the answer rendered (HTML, its JSON, or the linkset).

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use actix_web::{web, HttpRequest, HttpResponse};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Serialize;

use super::problem::Problem;
use super::AppState;
use crate::gs1::{self, Gtin, SerialNumber};
use crate::verification::page::{PageCheck, PageVerdict, Product};
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

/// The page's words for each verdict.
impl PageVerdict {
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

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// `GET /01/…`: the page, its JSON, or its linkset.
pub async fn page(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, Problem> {
    let ip = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if let Err(wait) = state.page_limiter.check(ip) {
        return Ok(Problem::rate_limited(wait));
    }
    let request = match parse(&req)? {
        Asked::Linkset(gtin, serial) => return Ok(linkset(&gtin, &serial)),
        Asked::Check(request) => request,
    };
    let PageCheck { verdict, product } = state.verifier.check_page(&request).await?;
    let answer = PageAnswer::new(&request, product, verdict);
    let cache = ("Cache-Control", "no-store");
    if wants_json(&req) {
        return Ok(HttpResponse::Ok().insert_header(cache).json(answer));
    }
    Ok(HttpResponse::Ok()
        .insert_header(cache)
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ))
        .content_type("text/html; charset=utf-8")
        .body(render(answer)?))
}

/// What a scanned link asks for.
enum Asked {
    /// `linkType=all`: the links there are for this pack.
    Linkset(Gtin, SerialNumber),
    /// The page (`linkType` absent, `pip` or `verificationService`).
    Check(Request),
}

fn parse(req: &HttpRequest) -> Result<Asked, Problem> {
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
        None | Some("pip") | Some("verificationService") => Ok(Asked::Check(Request {
            gtin,
            serial,
            lot: es.lot(),
            expiry: es.expiry(),
            context: Some("digitalLinkPage".into()),
            req_gln: None,
            corr_uuid: uuid::Uuid::new_v4().to_string(),
        })),
        Some("all") => Ok(Asked::Linkset(gtin, serial)),
        Some(other) => Err(Problem::link_type_not_available(other)),
    }
}

fn linkset(gtin: &Gtin, serial: &SerialNumber) -> HttpResponse {
    let href = format!("/01/{}/21/{}", gtin.as_str(), dl_path(serial.as_str()));
    HttpResponse::Ok()
        .content_type("application/linkset+json")
        .json(serde_json::json!({ "linkset": [{
            "anchor": format!("https://id.gs1.org/01/{}/21/{}", gtin.as_str(), dl_path(serial.as_str())),
            "https://gs1.org/voc/pip": [{ "href": href, "title": "Is this pack genuine?", "type": "text/html" }],
        }]}))
}

impl PageAnswer {
    fn new(request: &Request, product: Option<Product>, verdict: PageVerdict) -> PageAnswer {
        PageAnswer {
            verdict,
            gtin: request.gtin.as_str().to_string(),
            serial: request.serial.as_str().to_string(),
            lot: request.lot.as_ref().map(|l| l.as_str().to_string()),
            expiry: request.expiry.as_ref().map(|e| e.date().to_string()),
            product,
            checked_at: verification::now_timestamp(),
        }
    }
}

/// The HTML page.
fn render(answer: PageAnswer) -> Result<String, Problem> {
    let verdict = answer.verdict;
    TEMPLATES
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
        })
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
