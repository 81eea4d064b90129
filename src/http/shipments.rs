//! DSCSA shipments out (docs/SHIPMENTS.md): `POST /shipments` (our operators: the admin role),
//! `GET /shipments`, `GET /shipments/{id}` and `GET /shipments/{id}/document` (admins,
//! regulators and compliance officers; a buyer sees its own shipments).

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::caller::Caller;
use super::problem::{with_conn, Problem};
use super::AppState;
use crate::partners::Role;
use crate::shipments::{self, ShipmentRequest, ShipmentView, Shipper};

pub async fn create(
    state: web::Data<AppState>,
    body: web::Json<ShipmentRequest>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let admin = caller.require(&[Role::Admin])?;
    let request = body.into_inner();
    let st = state.clone();
    let view = state
        .db(move |conn| {
            let shipper = Shipper {
                organisation: st.organisation.as_ref(),
                capture: &st.capture,
                actor: admin.actor(),
            };
            Ok(shipments::ship(conn, &shipper, &request)?)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/shipments/{}", view.id)))
        .json(view))
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    limit: Option<i64>,
}

pub async fn list(
    state: web::Data<AppState>,
    params: web::Query<ListParams>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let caller = caller.partner()?;
    let limit = params.limit.unwrap_or(100).clamp(1, 1000);
    let list = state
        .db(move |conn| {
            Ok(shipments::list(
                conn,
                limit,
                caller.partner_id,
                caller.role,
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "shipments": list })))
}

/// The shipment if the caller may see it (one it may not see is answered as missing).
async fn visible(state: &AppState, id: &str, caller: Caller) -> Result<ShipmentView, Problem> {
    let not_found = || Problem::not_found(format!("no shipment {id} visible to you"));
    let uuid = uuid::Uuid::parse_str(id).map_err(|_| not_found())?;
    let caller = caller.partner()?;
    let found = state
        .db(move |conn| Ok(shipments::find(conn, uuid)?))
        .await?;
    found
        .filter(|s| caller.may_read(Some(s.buyer_partner_id)))
        .ok_or_else(not_found)
}

pub async fn show(
    state: web::Data<AppState>,
    id: web::Path<String>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(visible(&state, &id, caller).await?))
}

/// The document as it was written, streamed from its stored chunks (1 MiB at a time).
pub async fn document(
    state: web::Data<AppState>,
    id: web::Path<String>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let s = visible(&state, &id, caller).await?;
    let (pool, doc) = (state.pool.clone(), s.document_id);
    let body = futures_util::stream::unfold(Some(0), move |seq| {
        let pool = pool.clone();
        async move {
            let seq = seq?;
            let chunk = with_conn(pool, move |conn| {
                Ok(shipments::document_chunk(conn, doc, seq)?)
            })
            .await;
            match chunk {
                Ok(Some(bytes)) => Some((Ok(web::Bytes::from(bytes)), Some(seq + 1))),
                Ok(None) => None,
                Err(e) => Some((Err(actix_web::error::ErrorInternalServerError(e)), None)),
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type(shipments::content_type(&s.format))
        .streaming(body))
}
