//! The verification responder (GS1 Lightweight Messaging / DSCSA VRS), served over mutual TLS.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::json;

use super::caller::{authenticate, authenticated, peer};
use super::problem::{with_conn, Problem};
use super::AppState;
use crate::partners::Caller;
use crate::store::verification::VerificationRecord;
use crate::verification::{self, Outcome, Request, RequestError};

/// What goes to the verification log besides the request itself.
struct Logged {
    status: StatusCode,
    verdict: Option<verification::Verdict>,
    forwarded_to: Option<String>,
}

fn log_record(
    state: &AppState,
    started: Instant,
    caller: Option<&Caller>,
    request: Option<&Request>,
    logged: Logged,
) {
    let verdict = logged.verdict.as_ref();
    state.verification_log.record(VerificationRecord {
        received_at: Utc::now(),
        partner_id: caller.map(|c| c.partner_id),
        requester_gln: request.and_then(|r| r.req_gln.as_ref().map(|g| g.as_str().to_string())),
        corr_uuid: request.map(|r| r.corr_uuid.clone()),
        context: request.and_then(|r| r.context.clone()),
        gtin: request.map(|r| r.gtin.as_str().to_string()),
        serial_number: request.map(|r| r.serial.as_str().to_string()),
        lot: request.and_then(|r| r.lot.as_ref().map(|l| l.as_str().to_string())),
        expiry: request.and_then(|r| r.expiry.as_ref().map(|e| e.date().to_string())),
        verified: verdict.map(|v| v.verified),
        failure_reason: verdict.and_then(|v| v.verification_failure_reason.map(str::to_string)),
        additional_info: verdict.and_then(|v| v.additional_info.map(|a| vec![Some(a.to_string())])),
        http_status: logged.status.as_u16() as i16,
        forwarded_to: logged.forwarded_to,
        duration_us: i32::try_from(started.elapsed().as_micros()).ok(),
    });
}

fn request_problem(e: RequestError) -> Problem {
    if matches!(e, RequestError::LinkType(_) | RequestError::NoLinkType) {
        return Problem::bad_request(
            "invalid-link-type",
            format!(
                "{e}. Add linkType=verificationService to the query \
                 (…/verify/gtin/{{gtin}}/lot/{{lot}}/ser/{{serial}}?exp=YYMMDD&linkType=verificationService)"
            ),
        );
    }
    Problem::bad_request(
        "invalid-verification-request",
        format!(
            "{e}. Expected …/verify/gtin/{{gtin}}/lot/{{lot}}/ser/{{serial}}?exp=YYMMDD&linkType=verificationService \
             or …/verify/01/{{gtin}}/10/{{lot}}/21/{{serial}}?17=YYMMDD"
        ),
    )
}

/// `GET /verify/gtin/…/lot/…/ser/…` and `GET /verify/01/…/10/…/21/…`.
pub async fn verify_path(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let parsed =
        verification::parse_request(req.path(), req.query_string(), state.require_link_type);
    answer(state, req, parsed).await
}

/// `POST /verify/scan`: the raw DataMatrix string as the body, LMS parameters in the query.
pub async fn verify_scan(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let params: Vec<(String, String)> =
        web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default();
    let parsed = match std::str::from_utf8(&body) {
        Ok(scan) => verification::parse_scan(
            scan,
            params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
        ),
        Err(_) => Err(RequestError::Parameter(
            "the scan data is not UTF-8 text".into(),
        )),
    };
    answer(state, req, parsed).await
}

async fn answer(
    state: web::Data<AppState>,
    req: HttpRequest,
    parsed: Result<Request, RequestError>,
) -> Result<HttpResponse, Problem> {
    let started = Instant::now();
    let caller = authenticated(&state, &req).await?;
    let request = match parsed {
        Ok(r) => r,
        Err(e) => {
            let status = StatusCode::BAD_REQUEST;
            log_record(
                &state,
                started,
                Some(&caller),
                None,
                Logged {
                    status,
                    verdict: None,
                    forwarded_to: None,
                },
            );
            return Err(request_problem(e));
        }
    };
    let outcome = match state.facts.facts(request.epc_key()).await? {
        Some(facts) => Outcome::Answer(verification::respond(
            Some(&facts),
            &request,
            state.responder_gln.as_ref(),
        )),
        // Not stored: is the GTIN ours, or someone else's to forward to? (The rare path.)
        None => {
            let (r, gln) = (request.clone(), state.responder_gln);
            with_conn(state.pool.clone(), move |conn| {
                Ok(verification::unknown_serial(conn, &r, gln.as_ref())?)
            })
            .await?
        }
    };
    match outcome {
        Outcome::Answer(response) => {
            let verdict = Some(response.data.clone());
            log_record(
                &state,
                started,
                Some(&caller),
                Some(&request),
                Logged {
                    status: StatusCode::OK,
                    verdict,
                    forwarded_to: None,
                },
            );
            Ok(HttpResponse::Ok()
                .insert_header(("Cache-Control", "private, no-cache"))
                .json(response))
        }
        Outcome::NotServed => {
            let status = StatusCode::NOT_FOUND;
            log_record(
                &state,
                started,
                Some(&caller),
                Some(&request),
                Logged {
                    status,
                    verdict: None,
                    forwarded_to: None,
                },
            );
            Err(Problem::new(
                status,
                "gtin-not-served",
                "GTIN not served",
                format!(
                    "GTIN {} is neither served by this responder nor in its lookup directory",
                    request.gtin.as_str()
                ),
            ))
        }
        Outcome::Forward { responder_base } => {
            forward(&state, &req, started, &caller, &request, responder_base).await
        }
    }
}

/// Relays the request to the responder the lookup directory names, with our client certificate.
async fn forward(
    state: &AppState,
    req: &HttpRequest,
    started: Instant,
    caller: &Caller,
    request: &Request,
    base: String,
) -> Result<HttpResponse, Problem> {
    let rest = req.path().strip_prefix("/verify").unwrap_or(req.path());
    let mut url = format!("{}{}", base.trim_end_matches('/'), rest);
    if !req.query_string().is_empty() {
        url.push('?');
        url.push_str(req.query_string());
    }
    let sent = state.forwarder.get(&url).send().await;
    let log = |status: StatusCode, verdict: Option<verification::Verdict>| {
        log_record(
            state,
            started,
            Some(caller),
            Some(request),
            Logged {
                status,
                verdict,
                forwarded_to: Some(base.clone()),
            },
        );
    };
    let upstream = match sent {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            log(StatusCode::GATEWAY_TIMEOUT, None);
            return Err(Problem::new(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream-timeout",
                "Upstream responder timed out",
                format!(
                    "the responder for GTIN {} did not answer in time",
                    request.gtin.as_str()
                ),
            ));
        }
        Err(e) => {
            log::warn!("forwarding to {base} failed: {e}");
            log(StatusCode::BAD_GATEWAY, None);
            return Err(upstream_unavailable(request));
        }
    };
    let status = upstream.status();
    if status == reqwest::StatusCode::OK {
        let body: Result<serde_json::Value, _> = upstream.json().await;
        return match body {
            Ok(json) if json.get("data").is_some() => {
                let verdict = serde_json::from_value::<ForwardedData>(json["data"].clone())
                    .ok()
                    .map(|d| d.into_verdict());
                log(StatusCode::OK, verdict);
                Ok(HttpResponse::Ok()
                    .insert_header(("Cache-Control", "private, no-cache"))
                    .json(json))
            }
            _ => {
                log(StatusCode::BAD_GATEWAY, None);
                Err(upstream_unavailable(request))
            }
        };
    }
    // 4xx answers are the upstream's verdict on the request: pass them on. 5xx: it is down.
    if status.is_client_error() {
        let code = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        log(code, None);
        return Err(Problem::new(
            code,
            "upstream-refused",
            "Upstream responder refused the request",
            format!(
                "the responder for GTIN {} answered {status}",
                request.gtin.as_str()
            ),
        ));
    }
    log(StatusCode::BAD_GATEWAY, None);
    Err(upstream_unavailable(request))
}

fn upstream_unavailable(request: &Request) -> Problem {
    Problem::new(
        StatusCode::BAD_GATEWAY,
        "upstream-unavailable",
        "Upstream responder unavailable",
        format!(
            "the responder for GTIN {} is down or answered with something that is not a verification response",
            request.gtin.as_str()
        ),
    )
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ForwardedData {
    verified: bool,
    verification_failure_reason: Option<String>,
    additional_info: Option<String>,
}

impl ForwardedData {
    /// Only the standard codes are kept in the log; anything else is logged as absent.
    fn into_verdict(self) -> verification::Verdict {
        const REASONS: [&str; 7] = [
            "No_match_GTIN_Serial",
            "No_match_GTIN_Serial_Lot_Expiry",
            "No_match_GTIN_Serial_Lot",
            "No_match_GTIN_Serial_Expiry",
            "No_reason_provided",
            "Manufacturer_policy",
            "Not_for_re-distribution",
        ];
        const INFO: [&str; 5] = [
            "Expired",
            "ExpirationExtended",
            "Recalled",
            "Suspect",
            "Illegitimate",
        ];
        verification::Verdict {
            verified: self.verified,
            verification_failure_reason: self
                .verification_failure_reason
                .and_then(|r| REASONS.iter().find(|s| **s == r).copied()),
            additional_info: self
                .additional_info
                .and_then(|a| INFO.iter().find(|s| s.eq_ignore_ascii_case(&a)).copied()),
        }
    }
}

#[derive(serde::Deserialize)]
pub struct ConnectivityQuery {
    gtin: String,
}

/// `GET /verify/checkConnectivity?gtin=…&reqGLN=…`
pub async fn check_connectivity(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Result<web::Query<ConnectivityQuery>, actix_web::Error>,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let query = query.map_err(|_| {
        Problem::bad_request(
            "invalid-verification-request",
            "checkConnectivity needs ?gtin={gtin14}",
        )
    })?;
    let gtin: crate::gs1::Gtin = query.gtin.parse().map_err(|e: crate::gs1::Gs1Error| {
        Problem::bad_request("invalid-verification-request", e.to_string())
    })?;
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    let serves = with_conn(pool, move |conn| {
        authenticate(&auth, conn, &peer)?;
        Ok(verification::serves(conn, &gtin)?)
    })
    .await?;
    if !serves {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "gtin-not-served",
            "GTIN not served",
            format!(
                "GTIN {} is neither served by this responder nor in its lookup directory",
                query.gtin
            ),
        ));
    }
    Ok(HttpResponse::Ok().json(json!({
        "responderGLN": state.responder_gln.as_ref().map(|g| g.as_str()),
    })))
}
