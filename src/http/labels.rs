//! `GET /labels/{gtin}/{serial}?lot=&exp=&format=svg|png`: a GS1 DataMatrix pack label, for
//! admins and the trading partners named on the GTIN's serial pool.

use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use serde::Deserialize;

use super::caller::{authenticate, peer};
use super::problem::{blocking, with_conn, Problem};
use super::AppState;
use crate::gs1::{Expiry, Gs1Error, Lot};
use crate::partners::Role;
use crate::serials::label::LabelData;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelQuery {
    lot: Option<String>,
    /// YYMMDD (AI 17).
    exp: Option<String>,
    format: Option<String>,
}

fn bad(what: &str, e: Gs1Error) -> Problem {
    Problem::bad_request("invalid-label", format!("{what}: {e}"))
}

pub async fn label(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<LabelQuery>,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let (g, s) = path.into_inner();
    let q = query.into_inner();
    let png = match q.format.as_deref() {
        None | Some("svg") => false,
        Some("png") => true,
        Some(other) => {
            return Err(Problem::bad_request(
                "invalid-label",
                format!("format `{other}` is not svg or png"),
            ))
        }
    };
    // Parsed before anything is rendered: a wrong check digit or a character outside CSET 82
    // is refused here.
    let mut data = LabelData {
        gtin: g.parse().map_err(|e| bad("gtin", e))?,
        serial: s.parse().map_err(|e| bad("serial", e))?,
        lot: match q.lot.as_deref().filter(|l| !l.is_empty()) {
            Some(l) => Some(l.parse::<Lot>().map_err(|e| bad("lot", e))?),
            None => None,
        },
        expiry: match q.exp.as_deref().filter(|e| !e.is_empty()) {
            Some(e) => Some(e.parse::<Expiry>().map_err(|e| bad("exp", e))?),
            None => None,
        },
        ndc: None,
    };
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    let gtin = data.gtin.as_str().to_string();
    let ndc = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        let allowed = caller.role == Role::Admin
            || (caller.role == Role::TradingPartner
                && crate::store::serials::pool_by_gtin(conn, &gtin)?
                    .is_some_and(|p| p.partner_ids.contains(&caller.partner_id)));
        if !allowed {
            return Err(Problem::new(
                actix_web::http::StatusCode::FORBIDDEN,
                "forbidden",
                "Not permitted",
                "labels are printed by admins and by the partners named on the GTIN's serial pool",
            ));
        }
        use crate::store::schema::trade_items as t;
        Ok(t::table
            .filter(t::gtin.eq(&gtin))
            .select(t::ndc)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten())
    })
    .await?;
    data.ndc = ndc;
    let (body, content_type) = blocking(move || {
        let render = |e: crate::serials::label::LabelError| {
            Problem::bad_request("invalid-label", e.to_string())
        };
        Ok(if png {
            (data.png().map_err(render)?, "image/png")
        } else {
            (data.svg().map_err(render)?.into_bytes(), "image/svg+xml")
        })
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "private, no-store"))
        .body(body))
}
