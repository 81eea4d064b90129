//! Partner management (admin), flags (compliance), and reads of the verification log.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;
use validator::Validate;

use super::caller::{authenticate, peer, require};
use super::problem::{with_conn, Problem};
use super::AppState;
use crate::flags::{self, Flag, FlagError, Target};
use crate::partners::{self, AtpStatus, NewPartner, PartnerError, Role};
use crate::store::schema::verification_requests as vr;

impl From<PartnerError> for Problem {
    fn from(e: PartnerError) -> Self {
        match e {
            PartnerError::Invalid(m) => Problem::bad_request("invalid-partner", m),
            PartnerError::DuplicateGln(_) | PartnerError::DuplicateCertificate(_) => Problem::new(
                StatusCode::CONFLICT,
                "partner-exists",
                "Already registered",
                e.to_string(),
            ),
            PartnerError::NotFound(_) => Problem::not_found(e.to_string()),
            PartnerError::Store(inner) => {
                log::error!("partner store: {inner}");
                Problem::internal()
            }
        }
    }
}

impl From<FlagError> for Problem {
    fn from(e: FlagError) -> Self {
        match e {
            FlagError::Invalid(m) => Problem::bad_request("invalid-flag", m),
            FlagError::UnknownSerial(_) => Problem::not_found(e.to_string()),
            FlagError::Store(inner) => inner.into(),
        }
    }
}

fn invalid(errors: validator::ValidationErrors) -> Problem {
    let list: Vec<serde_json::Value> = errors
        .field_errors()
        .iter()
        .flat_map(|(field, errs)| {
            errs.iter()
                .map(move |e| json!({ "field": field, "rule": e.code }))
        })
        .collect();
    Problem::bad_request("invalid-request", format!("invalid fields: {errors}")).with_errors(list)
}

pub async fn whoami(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    let caller = with_conn(pool, move |conn| authenticate(&auth, conn, &peer)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "partnerId": caller.partner_id, "gln": caller.gln, "name": caller.name, "role": caller.role,
    })))
}

pub async fn list_partners(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    let list = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        require(&caller, &[Role::Admin])?;
        Ok(partners::list(conn)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewPartnerBody {
    #[validate(length(equal = 13))]
    gln: Option<String>,
    #[validate(length(min = 1, max = 200))]
    name: String,
    role: String,
    atp_status: Option<String>,
    #[validate(length(min = 1, max = 100))]
    licence_number: Option<String>,
    licence_expires: Option<NaiveDate>,
    /// The client certificate, PEM.
    #[validate(length(max = 20000))]
    certificate_pem: Option<String>,
}

pub async fn add_partner(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<NewPartnerBody>,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let body = body.into_inner();
    body.validate().map_err(invalid)?;
    let gln = match &body.gln {
        Some(g) => Some(g.parse().map_err(|e: crate::gs1::Gs1Error| {
            Problem::bad_request("invalid-partner", e.to_string())
        })?),
        None => None,
    };
    let role: Role = body.role.parse()?;
    let atp_status = match &body.atp_status {
        Some(s) => s.parse()?,
        None => AtpStatus::Unknown,
    };
    let certificate = match &body.certificate_pem {
        Some(pem) => Some(openssl::x509::X509::from_pem(pem.as_bytes()).map_err(|_| {
            Problem::bad_request(
                "invalid-partner",
                "certificate_pem is not a PEM certificate",
            )
        })?),
        None => None,
    };
    let new = NewPartner::new(body.name, role)
        .gln(gln)
        .atp_status(atp_status)
        .licence(body.licence_number, body.licence_expires)
        .certificate(certificate);
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    let partner = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        require(&caller, &[Role::Admin])?;
        Ok(partners::register(conn, new, &caller.actor())?)
    })
    .await?;
    Ok(HttpResponse::Created().json(partner))
}

pub async fn set_enabled(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let (selector, action) = path.into_inner();
    let enabled = match action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => {
            return Err(Problem::not_found(format!(
                "no action `{action}`: use enable or disable"
            )))
        }
    };
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    let partner = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        require(&caller, &[Role::Admin])?;
        let partner = partners::set_enabled(conn, &selector, enabled, &caller.actor())?;
        // Effective for the next request on this server now, not when the NOTIFY arrives.
        auth.invalidate();
        Ok(partner)
    })
    .await?;
    Ok(HttpResponse::Ok().json(partner))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct FlagBody {
    gtin: String,
    lot: Option<String>,
    serial: Option<String>,
    flag: String,
    #[validate(length(min = 1, max = 2000))]
    reason: String,
}

pub async fn set_flag(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<FlagBody>,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let body = body.into_inner();
    body.validate().map_err(invalid)?;
    let target = Target::parse(&body.gtin, body.lot.as_deref(), body.serial.as_deref())
        .map_err(|e| Problem::bad_request("invalid-flag", e.error().to_string()))?;
    let flag: Flag = body.flag.parse()?;
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        require(&caller, &[Role::Compliance, Role::Admin])?;
        Ok(flags::set(
            conn,
            &target,
            flag,
            &body.reason,
            &caller.actor(),
            Some(caller.partner_id),
        )?)
    })
    .await?;
    Ok(HttpResponse::Created().json(json!({ "flag": flag.as_str(), "status": "set" })))
}

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    gtin: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Queryable, serde::Serialize)]
struct LogRow {
    id: i64,
    received_at: chrono::DateTime<chrono::Utc>,
    partner_id: Option<i64>,
    requester_gln: Option<String>,
    corr_uuid: Option<String>,
    gtin: Option<String>,
    serial_number: Option<String>,
    lot: Option<String>,
    verified: Option<bool>,
    failure_reason: Option<String>,
    additional_info: Option<Vec<Option<String>>>,
    http_status: i16,
    forwarded_to: Option<String>,
}

/// `GET /verification-requests`: a trading partner sees its own requests; regulators,
/// compliance officers and admins see every partner's.
pub async fn verification_requests(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LogQuery>,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(100).clamp(1, 1000);
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    let rows = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        let mut q = vr::table
            .select((
                vr::id,
                vr::received_at,
                vr::partner_id,
                vr::requester_gln,
                vr::corr_uuid,
                vr::gtin,
                vr::serial_number,
                vr::lot,
                vr::verified,
                vr::failure_reason,
                vr::additional_info,
                vr::http_status,
                vr::forwarded_to,
            ))
            .order(vr::id.desc())
            .limit(limit)
            .into_boxed();
        if !caller.role.reads_everything() {
            q = q.filter(vr::partner_id.eq(caller.partner_id));
        }
        if let Some(g) = query.gtin {
            q = q.filter(vr::gtin.eq(g));
        }
        Ok(q.load::<LogRow>(conn)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(rows))
}
