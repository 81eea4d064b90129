//! `POST /epcis/capture`: a trading partner sends an EPCIS document (streamed, never buffered
//! whole) and gets the capture report; `GET /documents/{id}` reads it back.

use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;

use super::caller::Caller;
use super::problem::Problem;
use super::AppState;
use crate::capture::{self, documents};
use crate::partners::Role;

/// Reads the request body that the async side feeds through a bounded channel: the capture
/// runs on a blocking thread and pulls bytes as fast as it stores them (back-pressure).
pub(super) struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Result<web::Bytes, std::io::Error>>,
    current: web::Bytes,
}

impl ChannelReader {
    pub(super) fn new(rx: tokio::sync::mpsc::Receiver<Result<web::Bytes, std::io::Error>>) -> Self {
        ChannelReader {
            rx,
            current: web::Bytes::new(),
        }
    }
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// Capture bodies are EPCIS documents: XML (`application/xml`, `text/xml`) or EPCIS 2.0 JSON-LD
/// (`application/ld+json`, `application/json`); 415 otherwise. Which reader runs is decided
/// by the body's first bytes (`epcis::detect_format`), not by this header.
pub fn require_epcis_media_type(req: &HttpRequest) -> Result<(), Problem> {
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let accepted = [
        "application/xml",
        "text/xml",
        "application/ld+json",
        "application/json",
    ];
    if accepted.iter().any(|t| content_type.starts_with(t)) {
        return Ok(());
    }
    Err(Problem::unsupported_media_type(format!(
        "send the EPCIS document as application/xml (EPCIS 1.2 or 2.0 XML) or application/ld+json (EPCIS 2.0 JSON-LD) (got `{content_type}`)"
    )))
}

pub async fn capture(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    require_epcis_media_type(&req)?;
    let behaviour = super::jobs::behaviour(&req)?;
    let first = first_chunk(&mut payload).await?;
    let sender = caller.require(&[Role::TradingPartner, Role::Admin])?;
    let mut opts = state.capture.clone();
    opts.behaviour = behaviour;
    opts.partner_id = Some(sender.partner_id);
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let work = state.db(move |conn| Ok(capture::capture(conn, ChannelReader::new(rx), &opts)?));
    let (report, ()) = tokio::join!(work, feed(first, payload, tx));
    let report = report?;
    if let Some(refused) = Problem::capture_refused(&report) {
        return Err(refused);
    }
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/documents/{}", report.document_id)))
        .json(report))
}

/// The first chunk, read before the capture starts (a broken body is a 400 then).
async fn first_chunk(payload: &mut web::Payload) -> Result<Option<web::Bytes>, Problem> {
    let first = match payload.next().await {
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => {
            return Err(Problem::bad_request(
                "invalid-capture-request",
                format!("request body: {e}"),
            ))
        }
        None => None,
    };
    Ok(first)
}

/// Feeds the body to the capture, chunk by chunk, as fast as it reads.
async fn feed(
    first: Option<web::Bytes>,
    mut payload: web::Payload,
    tx: tokio::sync::mpsc::Sender<Result<web::Bytes, std::io::Error>>,
) {
    if let Some(b) = first {
        if tx.send(Ok(b)).await.is_err() {
            return;
        }
    }
    while let Some(chunk) = payload.next().await {
        let item = chunk.map_err(|e| std::io::Error::other(e.to_string()));
        let stop = item.is_err();
        // The capture has stopped reading (refused, or limit reached): stop feeding.
        if tx.send(item).await.is_err() || stop {
            break;
        }
    }
}

/// `GET /documents/{id}`: status, counts and findings of a captured document, for the partner
/// that sent it and for roles that read everything. Anyone else gets 404, not 403: whether a
/// document exists is itself another partner's data.
pub async fn document(
    state: web::Data<AppState>,
    id: web::Path<String>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let not_found = || Problem::not_found(format!("no document {id} visible to you"));
    let Ok(uuid) = uuid::Uuid::parse_str(&id) else {
        return Err(not_found());
    };
    let caller = caller.partner()?;
    let found = state
        .db(move |conn| Ok(documents::visible(conn, uuid, &caller)?))
        .await?;
    let doc = found.ok_or_else(not_found)?;
    // The document as JSON plus `dataQuality`, the exceptions a compliance officer reviews.
    let quality = documents::data_quality(&doc);
    let mut body = serde_json::to_value(doc).unwrap_or_default();
    if let Some(o) = body.as_object_mut() {
        o.insert("dataQuality".into(), serde_json::Value::Array(quality));
    }
    Ok(HttpResponse::Ok().json(body))
}
