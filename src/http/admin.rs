//! Partner management (admin), flags (compliance), and reads of the verification log.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use validator::Validate;

use super::caller::Caller;
use super::problem::Problem;
use super::AppState;
use crate::flags::{self, Flag, Target};
use crate::partners::{self, AtpStatus, NewPartner, Role};
use crate::verification;

pub async fn whoami(caller: Caller) -> Result<HttpResponse, Problem> {
    let caller = caller.partner()?;
    Ok(HttpResponse::Ok().json(json!({
        "partnerId": caller.partner_id, "gln": caller.gln, "name": caller.name, "role": caller.role,
    })))
}

pub async fn list_partners(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    caller.require(&[Role::Admin])?;
    let list = state.db(|conn| Ok(partners::list(conn)?)).await?;
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

impl NewPartnerBody {
    fn parse(self) -> Result<NewPartner, Problem> {
        self.validate()?;
        let gln = match &self.gln {
            Some(g) => Some(g.parse().map_err(|e: crate::gs1::Gs1Error| {
                Problem::bad_request("invalid-partner", e.to_string())
            })?),
            None => None,
        };
        let role: Role = self.role.parse()?;
        let atp_status = match &self.atp_status {
            Some(s) => s.parse()?,
            None => AtpStatus::Unknown,
        };
        let certificate = match &self.certificate_pem {
            Some(pem) => Some(openssl::x509::X509::from_pem(pem.as_bytes()).map_err(|_| {
                Problem::bad_request(
                    "invalid-partner",
                    "certificate_pem is not a PEM certificate",
                )
            })?),
            None => None,
        };
        Ok(NewPartner::new(self.name, role)
            .gln(gln)
            .atp_status(atp_status)
            .licence(self.licence_number, self.licence_expires)
            .certificate(certificate))
    }
}

pub async fn add_partner(
    state: web::Data<AppState>,
    body: web::Json<NewPartnerBody>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let new = body.into_inner().parse()?;
    let admin = caller.require(&[Role::Admin])?;
    let partner = state
        .db(move |conn| Ok(partners::register(conn, new, &admin.actor())?))
        .await?;
    Ok(HttpResponse::Created().json(partner))
}

pub async fn set_enabled(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
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
    let admin = caller.require(&[Role::Admin])?;
    let auth = state.auth.clone();
    let partner = state
        .db(move |conn| {
            let partner = partners::set_enabled(conn, &selector, enabled, &admin.actor())?;
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
    body: web::Json<FlagBody>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    body.validate()?;
    let target = Target::parse(&body.gtin, body.lot.as_deref(), body.serial.as_deref())?;
    let flag: Flag = body.flag.parse()?;
    let officer = caller.require(&[Role::Compliance, Role::Admin])?;
    state
        .db(move |conn| {
            let (actor, id) = (officer.actor(), Some(officer.partner_id));
            Ok(flags::set(conn, &target, flag, &body.reason, &actor, id)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(json!({ "flag": flag.as_str(), "status": "set" })))
}

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    gtin: Option<String>,
    limit: Option<i64>,
}

/// `GET /verification-requests`: a trading partner sees its own requests; regulators,
/// compliance officers and admins see every partner's.
pub async fn verification_requests(
    state: web::Data<AppState>,
    query: web::Query<LogQuery>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let LogQuery { gtin, limit } = query.into_inner();
    let caller = caller.partner()?;
    let rows = state
        .db(move |conn| {
            Ok(verification::requests(
                conn,
                &caller,
                gtin.as_deref(),
                limit,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}
