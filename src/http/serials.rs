//! Serial pools (admin) and allocations (admins, and trading partners named on a pool), over
//! mutual TLS. Allocations are streamed: the range is committed first, then its serials are
//! generated on a blocking thread and sent in chunks, in JSON, CSV or plain lines.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::caller::Caller;
use super::problem::Problem;
use super::AppState;
use crate::gs1::{Gs1Error, Gtin, SerialNumber};
use crate::partners::Role;
use crate::serials::output::{write_issued, Output};
use crate::serials::{self, AllocationRequest, Issued, NewPool, Requester, SerialError, SerialKey};

fn key(state: &AppState) -> Arc<SerialKey> {
    state.serial_key.clone()
}

fn gtin(s: &str) -> Result<Gtin, Problem> {
    s.parse()
        .map_err(|e: Gs1Error| Problem::bad_request("invalid-serial-request", format!("gtin: {e}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPoolBody {
    gtin: String,
    format: String,
    packaging_level: Option<String>,
    capacity: Option<u64>,
    max_per_request: Option<u32>,
    partner_quota: Option<u64>,
    #[serde(default)]
    partner_ids: Vec<i64>,
}

/// `POST /serials/pools` (admin).
pub async fn create_pool(
    state: web::Data<AppState>,
    body: web::Json<NewPoolBody>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let b = body.into_inner();
    let new = NewPool {
        gtin: gtin(&b.gtin)?,
        format: b.format.parse().map_err(SerialError::from)?,
        packaging_level: b.packaging_level.as_deref().unwrap_or("item").parse()?,
        capacity: b.capacity,
        max_per_request: b.max_per_request,
        partner_quota: b.partner_quota,
        partner_ids: b.partner_ids,
    };
    let admin = caller.require(&[Role::Admin])?;
    let key = key(&state);
    let created = state
        .db(move |conn| Ok(serials::create_pool(conn, &key, new, &admin.actor())?))
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// `GET /serials/pools` (admin).
pub async fn list_pools(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    caller.require(&[Role::Admin])?;
    let pools = state.db(|conn| Ok(serials::list_pools(conn)?)).await?;
    Ok(HttpResponse::Ok().json(pools))
}

/// The output form: `format` if given, else from the Accept header (JSON by default).
fn output(explicit: Option<&str>, req: &HttpRequest) -> Result<Output, Problem> {
    match explicit {
        Some("json") => Ok(Output::Json),
        Some("csv") => Ok(Output::Csv),
        Some("text") => Ok(Output::Text),
        Some(other) => Err(Problem::bad_request(
            "invalid-serial-request",
            format!("format `{other}` is not one of json, csv, text"),
        )),
        None => {
            let accept = req
                .headers()
                .get("accept")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            Ok(if accept.contains("text/csv") {
                Output::Csv
            } else if accept.contains("text/plain") {
                Output::Text
            } else {
                Output::Json
            })
        }
    }
}

/// Streams an allocation: generated on a blocking thread, sent as the client reads.
fn stream(issued: Issued, output: Output) -> HttpResponse {
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
    let id = issued.allocation.id;
    let (first, count) = (issued.allocation.first_counter, issued.allocation.count);
    actix_web::rt::task::spawn_blocking(move || {
        write_issued(&issued, output, |chunk| tx.blocking_send(chunk).is_ok());
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::io::Error>(web::Bytes::from(chunk)), rx))
    });
    HttpResponse::Created()
        .content_type(output.content_type())
        .insert_header(("Location", format!("/serials/allocations/{id}")))
        .insert_header(("X-Serial-Allocation", id.to_string()))
        .insert_header(("X-Serial-Count", count.to_string()))
        .insert_header(("X-Serial-First-Counter", first.to_string()))
        .streaming(body)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocateBody {
    gtin: String,
    count: u32,
    /// Purchase order, work order, packaging line.
    purpose: Option<String>,
    /// json (default), csv or text; else from the Accept header.
    format: Option<String>,
}

/// `POST /serials/allocate`: admins, and trading partners named on the GTIN's pool.
pub async fn allocate(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<AllocateBody>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let b = body.into_inner();
    let output = output(b.format.as_deref(), &req)?;
    let request = AllocationRequest {
        gtin: gtin(&b.gtin)?,
        count: b.count,
        purpose: b.purpose.filter(|p| !p.trim().is_empty()),
    };
    let requester = Requester::Partner(caller.require(&[Role::TradingPartner, Role::Admin])?);
    let key = key(&state);
    let issued = state
        .db(move |conn| Ok(serials::allocate(conn, &key, &request, &requester)?))
        .await?;
    Ok(stream(issued, output))
}

#[derive(Debug, Deserialize)]
pub struct AllocationQuery {
    format: Option<String>,
}

/// `GET /serials/allocations/{id}`: an earlier allocation again, for its partner and admins.
pub async fn allocation(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    query: web::Query<AllocationQuery>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let output = output(query.format.as_deref(), &req)?;
    let id = path.into_inner();
    let requester = Requester::Partner(caller.require(&[Role::TradingPartner, Role::Admin])?);
    let key = key(&state);
    let issued = state
        .db(move |conn| Ok(serials::allocation(conn, &key, id, &requester)?))
        .await?;
    let mut res = stream(issued, output);
    *res.status_mut() = StatusCode::OK;
    Ok(res)
}

/// `GET /serials/pools/{gtin}/reconciliation` (admin, compliance).
pub async fn reconciliation(
    state: web::Data<AppState>,
    path: web::Path<String>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let gtin = gtin(&path.into_inner())?;
    caller.require(&[Role::Compliance, Role::Admin])?;
    let key = key(&state);
    let report = state
        .db(move |conn| Ok(serials::reconcile(conn, &key, &gtin)?))
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// `GET /serials/issued/{gtin}/{serial}` (admin, compliance, regulator): was it issued here?
pub async fn issued(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let (g, s) = path.into_inner();
    let gtin = gtin(&g)?;
    let serial: SerialNumber = s.parse().map_err(|e: Gs1Error| {
        Problem::bad_request("invalid-serial-request", format!("serial: {e}"))
    })?;
    caller.require(&[Role::Regulator, Role::Compliance, Role::Admin])?;
    let key = key(&state);
    let answer = state
        .db(move |conn| Ok(serials::was_issued(conn, &key, &gtin, &serial)?))
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}
