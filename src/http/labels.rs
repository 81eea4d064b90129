//! `GET /labels/{gtin}/{serial}?lot=&exp=&format=svg|png`: a GS1 DataMatrix pack label, for
//! admins and the trading partners named on the GTIN's serial pool.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::caller::Caller;
use super::problem::{blocking, Problem};
use super::AppState;
use crate::gs1::{Expiry, Gs1Error, Lot};
use crate::serials::label::LabelData;
use crate::serials::{self, Requester};

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

impl LabelQuery {
    /// Whether PNG is asked for (else SVG), and what the label carries. Parsed before anything
    /// is rendered: a wrong check digit or a character outside CSET 82 is refused here.
    fn parse(self, gtin: &str, serial: &str) -> Result<(bool, LabelData), Problem> {
        let png = match self.format.as_deref() {
            None | Some("svg") => false,
            Some("png") => true,
            Some(other) => {
                return Err(Problem::bad_request(
                    "invalid-label",
                    format!("format `{other}` is not svg or png"),
                ))
            }
        };
        let data = LabelData {
            gtin: gtin.parse().map_err(|e| bad("gtin", e))?,
            serial: serial.parse().map_err(|e| bad("serial", e))?,
            lot: match self.lot.as_deref().filter(|l| !l.is_empty()) {
                Some(l) => Some(l.parse::<Lot>().map_err(|e| bad("lot", e))?),
                None => None,
            },
            expiry: match self.exp.as_deref().filter(|e| !e.is_empty()) {
                Some(e) => Some(e.parse::<Expiry>().map_err(|e| bad("exp", e))?),
                None => None,
            },
            ndc: None,
        };
        Ok((png, data))
    }
}

pub async fn label(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<LabelQuery>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let (g, s) = path.into_inner();
    let (png, mut data) = query.into_inner().parse(&g, &s)?;
    let requester = Requester::Partner(caller.partner()?);
    let gtin = data.gtin;
    data.ndc = state
        .db(move |conn| Ok(serials::label_ndc(conn, &requester, &gtin)?))
        .await?;
    let (body, content_type) = blocking(move || {
        Ok(if png {
            (data.png()?, "image/png")
        } else {
            (data.svg()?.into_bytes(), "image/svg+xml")
        })
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "private, no-store"))
        .body(body))
}
