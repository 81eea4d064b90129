//! Serial pools (admin) and allocations (admins, and trading partners named on a pool), over
//! mutual TLS. Allocations are streamed: the range is committed first, then its serials are
//! generated on a blocking thread and sent in chunks, in JSON, CSV or plain lines.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::caller::{authenticate, peer, require};
use super::problem::{with_conn, Problem};
use super::AppState;
use crate::gs1::{Gs1Error, Gtin, SerialNumber};
use crate::partners::Role;
use crate::serials::output::{write_issued, Output};
use crate::serials::{self, AllocationRequest, Issued, NewPool, Requester, SerialError, SerialKey};

impl From<SerialError> for Problem {
    fn from(e: SerialError) -> Self {
        let detail = e.to_string();
        match e {
            SerialError::Invalid(_) | SerialError::UnknownPartner(_) => {
                Problem::bad_request("invalid-serial-request", detail)
            }
            SerialError::Format(_) => Problem::bad_request("invalid-serial-format", detail),
            SerialError::Capacity(_) => Problem::bad_request("serial-pool-capacity", detail),
            SerialError::PoolExists(_) => Problem::new(
                StatusCode::CONFLICT,
                "serial-pool-exists",
                "Serial pool exists",
                detail,
            ),
            SerialError::NoPool(_) => Problem::new(
                StatusCode::NOT_FOUND,
                "serial-pool-not-found",
                "No serial pool",
                format!("{detail} that you may allocate from"),
            ),
            SerialError::NoAllocation(_) => Problem::not_found(detail),
            SerialError::TooMany(_) => Problem::bad_request("serial-request-too-large", detail),
            SerialError::Quota(_) => Problem::new(
                StatusCode::FORBIDDEN,
                "serial-quota-exceeded",
                "Serial quota exceeded",
                detail,
            ),
            SerialError::Exhausted(_) => Problem::new(
                StatusCode::CONFLICT,
                "serial-pool-exhausted",
                "Serial pool exhausted",
                detail,
            ),
            SerialError::KeyMismatch { .. } => {
                log::error!("{detail}");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "serial-key-mismatch",
                    "Serial key mismatch",
                    "This server's serial key is not the key the pool was created with; the operator must configure it (see the server log).",
                )
            }
            SerialError::Store(inner) => {
                log::error!("serials: {inner}");
                Problem::internal()
            }
        }
    }
}

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
    req: HttpRequest,
    body: web::Json<NewPoolBody>,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
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
    let (pool, auth, key) = (state.pool.clone(), state.auth.clone(), key(&state));
    let created = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        require(&caller, &[Role::Admin])?;
        Ok(serials::create_pool(conn, &key, new, &caller.actor())?)
    })
    .await?;
    Ok(HttpResponse::Created().json(created))
}

/// `GET /serials/pools` (admin).
pub async fn list_pools(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    let pools = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        require(&caller, &[Role::Admin])?;
        Ok(serials::list_pools(conn)?)
    })
    .await?;
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
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let b = body.into_inner();
    let output = output(b.format.as_deref(), &req)?;
    let request = AllocationRequest {
        gtin: gtin(&b.gtin)?,
        count: b.count,
        purpose: b.purpose.filter(|p| !p.trim().is_empty()),
    };
    let (pool, auth, key) = (state.pool.clone(), state.auth.clone(), key(&state));
    let issued = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        require(&caller, &[Role::TradingPartner, Role::Admin])?;
        Ok(serials::allocate(
            conn,
            &key,
            &request,
            &Requester::Partner(caller),
        )?)
    })
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
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let output = output(query.format.as_deref(), &req)?;
    let id = path.into_inner();
    let (pool, auth, key) = (state.pool.clone(), state.auth.clone(), key(&state));
    let issued = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        require(&caller, &[Role::TradingPartner, Role::Admin])?;
        Ok(serials::allocation(
            conn,
            &key,
            id,
            &Requester::Partner(caller),
        )?)
    })
    .await?;
    let mut res = stream(issued, output);
    *res.status_mut() = StatusCode::OK;
    Ok(res)
}

/// `GET /serials/pools/{gtin}/reconciliation` (admin, compliance).
pub async fn reconciliation(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let gtin = gtin(&path.into_inner())?;
    let (pool, auth, key) = (state.pool.clone(), state.auth.clone(), key(&state));
    let report = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        require(&caller, &[Role::Compliance, Role::Admin])?;
        Ok(serials::reconcile(conn, &key, &gtin)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// `GET /serials/issued/{gtin}/{serial}` (admin, compliance, regulator): was it issued here?
pub async fn issued(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let (g, s) = path.into_inner();
    let gtin = gtin(&g)?;
    let serial: SerialNumber = s.parse().map_err(|e: Gs1Error| {
        Problem::bad_request("invalid-serial-request", format!("serial: {e}"))
    })?;
    let (pool, auth, key) = (state.pool.clone(), state.auth.clone(), key(&state));
    let answer = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        require(&caller, &[Role::Regulator, Role::Compliance, Role::Admin])?;
        Ok(serials::was_issued(conn, &key, &gtin, &serial)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}
