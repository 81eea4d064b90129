//! The EPCIS 2.0 query interface on the partner listener (docs/QUERY.md): `GET /events`, one
//! event by its id, and the events of one EPC, business step, location, disposition or event
//! type. Each handler turns its path into query parameters and calls the query use case; the
//! answer is an `EPCISQueryDocument` in the format `Accept` and `GS1-EPCIS-Version` ask for.

use actix_web::http::header::{HeaderValue, CONTENT_TYPE, LINK};
use actix_web::{web, HttpRequest, HttpResponse};

use super::caller::Caller;
use super::problem::Problem;
use super::AppState;
use crate::epcis::write::{CbvFormat, DocumentWriter, EpcFormat, Format, WriteOptions};
use crate::epcis::{DocumentKind, Event};
use crate::gs1::pct_encode;
use crate::query::{self, Viewer};

/// What the caller asked the answer to be.
struct Answer {
    format: Format,
    options: WriteOptions,
}

fn header<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

impl Answer {
    /// From `Accept` (JSON-LD unless XML is preferred), `GS1-EPCIS-Version` (2.0 unless 1.2),
    /// `GS1-EPC-Format` and `GS1-CBV-XML-Format`.
    fn negotiate(req: &HttpRequest) -> Result<Answer, Problem> {
        let accept = header(req, "accept").unwrap_or("*/*").to_ascii_lowercase();
        let mut xml = None;
        for kind in accept
            .split(',')
            .map(|k| k.split(';').next().unwrap_or("").trim())
        {
            match kind {
                "application/ld+json" | "application/json" | "*/*" | "application/*" => {
                    xml = Some(false);
                    break;
                }
                "application/xml" | "text/xml" => {
                    xml = Some(true);
                    break;
                }
                _ => {}
            }
        }
        let xml = xml.ok_or_else(|| {
            Problem::not_acceptable(format!(
                "cannot answer as `{accept}`: ask for application/ld+json, application/json or application/xml"
            ))
        })?;
        // standards.md writes the version `2.0.0`, the binding's examples `2.0`: both accepted.
        let version = header(req, "gs1-epcis-version").map(|v| {
            let v = v.trim();
            v.strip_suffix(".0").filter(|s| s.len() == 3).unwrap_or(v)
        });
        let format = match (version, xml) {
            (None | Some("2.0"), false) => Format::JsonLd,
            (None | Some("2.0"), true) => Format::Xml2,
            (Some("1.2"), true) => Format::Xml12,
            (Some(v), _) => {
                return Err(Problem::not_acceptable(format!(
                    "GS1-EPCIS-Version `{v}`: this server answers 2.0 (JSON-LD or XML) and 1.2 (XML only)"
                )))
            }
        };
        let epc_format = header(req, "gs1-epc-format")
            .map(str::parse::<EpcFormat>)
            .transpose()
            .map_err(|e| Problem::query_parameter(format!("GS1-EPC-Format: {e}")))?;
        let cbv_format = header(req, "gs1-cbv-xml-format")
            .map(str::parse::<CbvFormat>)
            .transpose()
            .map_err(|e| Problem::query_parameter(format!("GS1-CBV-XML-Format: {e}")))?
            .unwrap_or(CbvFormat::NoPreference);
        Ok(Answer {
            format,
            options: WriteOptions {
                epc_format,
                cbv_format,
                ..WriteOptions::default()
            },
        })
    }

    fn content_type(&self) -> &'static str {
        match self.format {
            Format::JsonLd => "application/ld+json",
            Format::Xml2 | Format::Xml12 => "application/xml",
        }
    }

    fn version(&self) -> &'static str {
        match self.format {
            Format::Xml12 => "1.2",
            _ => "2.0",
        }
    }

    /// The events as one query document.
    fn write(self, events: &[Event]) -> Result<Vec<u8>, Problem> {
        let mut w = DocumentWriter::new(Vec::new(), self.format, self.options);
        let io = |e: std::io::Error| {
            log::error!("writing a query answer: {e}");
            Problem::internal()
        };
        w.item(&query::document_start(
            self.format,
            DocumentKind::EpcisQueryDocument,
        ))
        .map_err(io)?;
        for ev in events {
            w.event(ev).map_err(io)?;
        }
        Ok(w.finish().map_err(io)?.0)
    }
}

/// The query string as name/value pairs, in order.
fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, Problem> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| Problem::query_parameter(format!("the query string does not parse: {e}")))
}

/// The raw (still percent-encoded) path segment between `prefix` and `suffix`.
fn raw_segment(req: &HttpRequest, prefix: &str, suffix: &str) -> Result<String, Problem> {
    let path = req.uri().path();
    let inner = path
        .strip_prefix(prefix)
        .and_then(|p| p.strip_suffix(suffix))
        .filter(|p| !p.is_empty())
        .ok_or_else(|| Problem::not_found(format!("no resource at {path}")))?;
    crate::gs1::pct_decode("path segment", inner)
        .map(|v| v.into_owned())
        .map_err(|e| Problem::query_parameter(e.to_string()))
}

/// Runs a query for the caller and answers one page of it.
async fn answer(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    extra: Option<(&'static str, String)>,
) -> Result<HttpResponse, Problem> {
    let partner = caller.partner()?;
    let answer = Answer::negotiate(&req)?;
    let mut params = query_pairs(&req)?;
    if let Some((name, value)) = extra {
        params.push((name.to_string(), value));
    }
    let parsed = query::parse(&params)?;
    let viewer = Viewer::of(&partner);
    let page = state
        .db({
            let key = state.page_key.clone();
            move |conn| Ok(query::events_page(conn, &key, &viewer, &parsed)?)
        })
        .await?;
    let version = answer.version();
    let content_type = answer.content_type();
    let body = answer.write(&page.events)?;
    let mut res = HttpResponse::Ok();
    res.insert_header((CONTENT_TYPE, content_type))
        .insert_header(("GS1-EPCIS-Version", version));
    if let Some((token, expires)) = &page.next {
        let mut link = format!("{}?", req.uri().path());
        for (n, v) in params.iter().filter(|(n, _)| n != "nextPageToken") {
            link.push_str(&format!("{}={}&", pct_encode(n), pct_encode(v)));
        }
        link.push_str(&format!("nextPageToken={}", pct_encode(token)));
        if let Ok(v) = HeaderValue::from_str(&format!("<{link}>; rel=\"next\"")) {
            res.insert_header((LINK, v));
        }
        res.insert_header((
            "GS1-Next-Page-Token-Expires",
            expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ));
    }
    Ok(res.body(body))
}

/// `GET /events`: the standard query.
pub async fn events(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    answer(state, req, caller, None).await
}

/// `GET /events/{eventID}`: one event (with the error declaration that targets it, if any);
/// 404 when it does not exist or the caller may not see it.
pub async fn event(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let partner = caller.partner()?;
    let answer = Answer::negotiate(&req)?;
    let id = raw_segment(&req, "/events/", "")?;
    let viewer = Viewer::of(&partner);
    let wanted = id.clone();
    let found = state
        .db({
            let key = state.page_key.clone();
            move |conn| Ok(query::event_by_id(conn, &key, &viewer, &wanted)?)
        })
        .await?;
    let ev = found.ok_or_else(|| Problem::no_such_event(&id))?;
    let (version, content_type) = (answer.version(), answer.content_type());
    let body = answer.write(std::slice::from_ref(&ev))?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header(("GS1-EPCIS-Version", version))
        .body(body))
}

/// `GET /{resource}/{value}/events` for the resources whose value is one query parameter.
macro_rules! events_of {
    ($name:ident, $prefix:literal, $param:literal) => {
        #[doc = concat!("`GET ", $prefix, "{value}/events`: `", $param, "` = the value.")]
        pub async fn $name(
            state: web::Data<AppState>,
            req: HttpRequest,
            caller: Caller,
        ) -> Result<HttpResponse, Problem> {
            let value = raw_segment(&req, $prefix, "/events")?;
            answer(state, req, caller, Some(($param, value))).await
        }
    };
}

events_of!(epc_events, "/epcs/", "MATCH_anyEPC");
events_of!(biz_step_events, "/bizSteps/", "EQ_bizStep");
events_of!(biz_location_events, "/bizLocations/", "EQ_bizLocation");
events_of!(read_point_events, "/readPoints/", "EQ_readPoint");
events_of!(disposition_events, "/dispositions/", "EQ_disposition");
events_of!(event_type_events, "/eventTypes/", "eventType");

/// `OPTIONS` on a query resource: `204`, what may be asked of it and the versions served.
pub async fn options(caller: Caller) -> Result<HttpResponse, Problem> {
    caller.partner()?;
    Ok(HttpResponse::NoContent()
        .insert_header(("Allow", "GET, OPTIONS"))
        .insert_header(("GS1-EPCIS-Version", "2.0"))
        .insert_header(("GS1-EPCIS-Min", "1.2"))
        .insert_header(("GS1-EPCIS-Max", "2.0"))
        .insert_header(("GS1-CBV-Version", "2.0"))
        .insert_header(("GS1-CBV-Min", "1.2"))
        .insert_header(("GS1-CBV-Max", "2.0"))
        .insert_header((
            "GS1-Vendor-Version",
            concat!("dscsa-exchange/", env!("CARGO_PKG_VERSION")),
        ))
        .finish())
}

/// The routes of the query interface (partner listener): `GET` and `OPTIONS` on each.
pub fn routes(cfg: &mut web::ServiceConfig) {
    macro_rules! resource {
        ($path:literal, $handler:expr) => {
            cfg.service(
                web::resource($path)
                    .route(web::get().to($handler))
                    .route(web::method(actix_web::http::Method::OPTIONS).to(options)),
            )
        };
    }
    resource!("/events", events);
    resource!("/events/{id:.+}", event);
    resource!("/epcs/{v:.+}/events", epc_events);
    resource!("/bizSteps/{v:.+}/events", biz_step_events);
    resource!("/bizLocations/{v:.+}/events", biz_location_events);
    resource!("/readPoints/{v:.+}/events", read_point_events);
    resource!("/dispositions/{v:.+}/events", disposition_events);
    resource!("/eventTypes/{v:.+}/events", event_type_events);
}
