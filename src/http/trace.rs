//! Product tracing and trace requests (docs/COMPLIANCE.md) for regulators, compliance officers
//! and admins; trading partners are refused (403).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::caller::Caller;
use super::problem::Problem;
use super::AppState;
use crate::compliance::trace::Requester;
use crate::compliance::{self, requests, Format, NewRequest, TraceInput};
use crate::partners::Role;

/// Who may trace and see trace requests.
const TRACERS: [Role; 3] = [Role::Regulator, Role::Compliance, Role::Admin];

/// The parameters of `GET /trace`: the identifier (one form), `format`, and `request` (the
/// trace request it answers).
fn parse_trace(
    params: Vec<(String, String)>,
    req: &HttpRequest,
) -> Result<(TraceInput, Format, Option<i64>), Problem> {
    let mut input = TraceInput::default();
    let mut format = None;
    let mut request = None;
    for (name, value) in params {
        let slot = match name.as_str() {
            "epc" => &mut input.epc,
            "scan" => &mut input.scan,
            "gtin" => &mut input.gtin,
            "ndc" => &mut input.ndc,
            "serial" => &mut input.serial,
            "lot" => &mut input.lot,
            "sscc" => &mut input.sscc,
            "format" => {
                format = Some(value.parse::<Format>()?);
                continue;
            }
            "request" => {
                request = Some(value.parse::<i64>().map_err(|_| {
                    Problem::bad_request("invalid-trace-request", "request: not a trace request id")
                })?);
                continue;
            }
            other => {
                return Err(Problem::bad_request(
                    "invalid-trace-request",
                    format!("unknown parameter `{other}` (epc, scan, gtin, ndc, serial, lot, sscc, format, request)"),
                ))
            }
        };
        *slot = Some(value);
    }
    let format = format.unwrap_or_else(|| {
        Format::from_accept(
            req.headers()
                .get("accept")
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        )
    });
    Ok((input, format, request))
}

/// `GET /trace?epc=…` (or `scan=`, `gtin=&serial=`, `ndc=&serial=`, `sscc=`, `gtin=&lot=`,
/// `ndc=&lot=`), as JSON, CSV or HTML.
pub async fn trace(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    params: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, Problem> {
    let (input, format, request) = parse_trace(params.into_inner(), &req)?;
    let subject = input.subject()?;
    let caller = caller.require(&TRACERS)?;
    let body = state
        .db(move |conn| {
            let who = Requester {
                actor: &caller.actor(),
                request,
            };
            let answer = compliance::trace(conn, &subject, &who)?;
            Ok(compliance::report::render(&answer, format)?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .body(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRequestBody {
    requester: String,
    reason: String,
    reference: String,
    subject: Option<String>,
    received_at: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
}

/// `POST /trace-requests`: records a request and its due time.
pub async fn create_request(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<NewRequestBody>,
) -> Result<HttpResponse, Problem> {
    let b = body.into_inner();
    let new = NewRequest {
        reason: b.reason.parse()?,
        requester: b.requester,
        reference: b.reference,
        subject: b.subject,
        received_at: b.received_at,
        due_at: b.due_at,
    };
    let caller = caller.require(&TRACERS)?;
    let created = state
        .db(move |conn| Ok(requests::create(conn, &new, &caller.actor())?))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/trace-requests/{}", created.id)))
        .json(created))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only the requests not answered yet.
    #[serde(default)]
    open: bool,
    limit: Option<i64>,
}

/// `GET /trace-requests[?open=true]`: newest first, or the open ones soonest due first; each
/// says whether it is overdue.
pub async fn list_requests(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, Problem> {
    caller.require(&TRACERS)?;
    let (open, limit) = (query.open, query.limit.unwrap_or(500).clamp(1, 10_000));
    let list = state
        .db(move |conn| Ok(requests::list(conn, open, limit)?))
        .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// `GET /trace-requests/{id}`.
pub async fn request(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    caller.require(&TRACERS)?;
    let id = id.into_inner();
    let found = state.db(move |conn| Ok(requests::get(conn, id)?)).await?;
    Ok(HttpResponse::Ok().json(found))
}
