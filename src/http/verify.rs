//! The verification responder (GS1 Lightweight Messaging / DSCSA VRS), served over mutual TLS:
//! each handler parses the request, calls `verification::Verifier`, and answers.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::caller::Caller;
use super::problem::Problem;
use super::AppState;
use crate::verification::{self, Request, RequestError, Route, Verified};

/// `GET /verify/gtin/…/lot/…/ser/…` and `GET /verify/01/…/10/…/21/…`.
pub async fn verify_path(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let parsed = verification::parse_request(
        req.path(),
        req.query_string(),
        state.verifier.require_link_type(),
    );
    answer(&state, &req, caller, parsed).await
}

/// `POST /verify/scan`: the raw DataMatrix string as the body, LMS parameters in the query.
pub async fn verify_scan(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
    caller: Caller,
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
    answer(&state, &req, caller, parsed).await
}

async fn answer(
    state: &AppState,
    req: &HttpRequest,
    caller: Caller,
    parsed: Result<Request, RequestError>,
) -> Result<HttpResponse, Problem> {
    let caller = caller.partner()?;
    let route = Route::new(req.path(), req.query_string());
    let verified = state.verifier.verify(&caller, parsed, route).await?;
    let mut ok = HttpResponse::Ok();
    ok.insert_header(("Cache-Control", "private, no-cache"));
    Ok(match verified {
        Verified::Answer(response) => ok.json(response),
        Verified::Forwarded(answer) => ok.json(answer),
    })
}

#[derive(serde::Deserialize)]
pub struct ConnectivityQuery {
    gtin: String,
}

/// `GET /verify/checkConnectivity?gtin=…&reqGLN=…`
pub async fn check_connectivity(
    state: web::Data<AppState>,
    query: Result<web::Query<ConnectivityQuery>, actix_web::Error>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let query = query.map_err(|_| {
        Problem::bad_request(
            "invalid-verification-request",
            "checkConnectivity needs ?gtin={gtin14}",
        )
    })?;
    let gtin: crate::gs1::Gtin = query.gtin.parse().map_err(|e: crate::gs1::Gs1Error| {
        Problem::bad_request("invalid-verification-request", e.to_string())
    })?;
    caller.partner()?;
    if !state.verifier.serves(gtin).await? {
        return Err(Problem::gtin_not_served(&query.gtin));
    }
    Ok(HttpResponse::Ok().json(json!({
        "responderGLN": state.verifier.responder_gln().map(|g| g.as_str()),
    })))
}
