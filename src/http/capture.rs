//! `POST /epcis/capture`: a trading partner sends an EPCIS document (streamed, never buffered
//! whole) and gets the capture report.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::json;

use super::caller::{authenticate, peer, require};
use super::problem::{with_conn, Problem};
use super::AppState;
use crate::capture::{self, Outcome};
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

/// 415 for a JSON body (EPCIS 2.0 JSON-LD, not supported yet): EPCIS-X-013.
fn json_not_supported() -> Problem {
    Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        format!(
            "{} [{}]",
            crate::epcis::JSON_BODY_MESSAGE,
            crate::epcis::diagnostics::rules::JSON_BODY.id
        ),
    )
}

/// The first chunk of a capture body: a body that is JSON (`epcis::detect_format`, the one
/// place that decides it) is answered 415 before anything is read or stored.
pub fn refuse_json_body(first_chunk: &[u8]) -> Result<(), Problem> {
    match crate::epcis::detect_format(first_chunk) {
        crate::epcis::BodyFormat::Json => Err(json_not_supported()),
        crate::epcis::BodyFormat::Xml => Ok(()),
    }
}

/// Capture bodies are EPCIS XML (JSON-LD is not supported yet): 415 otherwise.
pub fn require_xml(req: &HttpRequest) -> Result<(), Problem> {
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/xml") || content_type.starts_with("text/xml") {
        return Ok(());
    }
    if content_type.starts_with("application/json")
        || content_type.starts_with("application/ld+json")
    {
        return Err(json_not_supported());
    }
    Err(Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        "Unsupported media type",
        format!("send the EPCIS document as application/xml (got `{content_type}`)"),
    ))
}

pub async fn capture(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    require_xml(&req)?;
    let behaviour = super::jobs::behaviour(&req)?;
    // The first chunk tells a JSON body (415) before a capture starts.
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
    if let Some(b) = &first {
        refuse_json_body(b)?;
    }
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut opts = state.capture.clone();
    opts.behaviour = behaviour;
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    let work = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        require(&caller, &[Role::TradingPartner, Role::Admin])?;
        opts.partner_id = Some(caller.partner_id);
        let reader = ChannelReader::new(rx);
        capture::capture(conn, reader, &opts).map_err(capture_problem)
    });
    let feed = async move {
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
    };
    let (report, ()) = tokio::join!(work, feed);
    let report = report?;
    match report.outcome {
        Outcome::Accepted | Outcome::PartiallyAccepted => Ok(HttpResponse::Created()
            .insert_header(("Location", format!("/documents/{}", report.document_id)))
            .json(report)),
        Outcome::Duplicate => Err(Problem::new(
            StatusCode::CONFLICT,
            "duplicate-document",
            "Document already captured",
            format!(
                "the same document was accepted before as {}; nothing was stored again",
                report.document_id
            ),
        )),
        Outcome::Rejected => {
            let errors = report
                .errors
                .iter()
                .map(|f| serde_json::to_value(f).unwrap_or(json!(null)))
                .collect();
            Err(Problem::bad_request(
                "document-rejected",
                format!(
                    "document {} was rejected with {} error(s); nothing of it was stored (the document itself is archived)",
                    report.document_id,
                    report.errors.len()
                ),
            )
            .with_errors(errors))
        }
    }
}

/// `GET /documents/{id}`: status, counts and findings of a captured document, for the partner
/// that sent it and for roles that read everything. Anyone else gets 404, not 403: whether a
/// document exists is itself another partner's data.
pub async fn document(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let not_found = || Problem::not_found(format!("no document {id} visible to you"));
    let Ok(uuid) = uuid::Uuid::parse_str(&id) else {
        return Err(not_found());
    };
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    let found = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        let doc = crate::store::capture::document(conn, uuid)?;
        Ok(doc
            .filter(|d| caller.role.reads_everything() || d.partner_id == Some(caller.partner_id)))
    })
    .await?;
    match found {
        Some(doc) => Ok(HttpResponse::Ok().json(with_data_quality(doc))),
        None => Err(not_found()),
    }
}

/// The document as JSON plus `dataQuality`: its warnings of the data-quality rules (values
/// stored as given, `epcis::diagnostics::DATA_QUALITY_RULES`), the exceptions a compliance
/// officer reviews.
fn with_data_quality(doc: crate::store::capture::DocumentView) -> serde_json::Value {
    let quality: Vec<serde_json::Value> = doc
        .warnings
        .as_array()
        .into_iter()
        .flatten()
        .filter(|w| {
            w["rule"]
                .as_str()
                .is_some_and(crate::epcis::diagnostics::is_data_quality)
        })
        .cloned()
        .collect();
    let mut v = serde_json::to_value(doc).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("dataQuality".into(), serde_json::Value::Array(quality));
    }
    v
}

/// What a client is told when a capture fails for a reason other than the document.
pub(crate) fn capture_problem(e: capture::CaptureError) -> Problem {
    match e {
        capture::CaptureError::Concurrent(_) => Problem::new(
            StatusCode::CONFLICT,
            "capture-conflict",
            "Serials changed by another capture",
            e.to_string(),
        ),
        capture::CaptureError::Spool(_) => {
            log::error!("capture spool: {e}");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "spool-unavailable",
                "Capture temporarily unavailable",
                "the server could not write its temporary files (spool folder full or not \
                 writable); nothing was stored, send the document again later",
            )
        }
        capture::CaptureError::Store(_) => {
            log::error!("capture failed: {e}");
            Problem::internal()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_failures_that_are_not_the_documents_fault_get_their_own_codes() {
        let p = capture_problem(capture::CaptureError::Concurrent(3));
        assert_eq!((p.status, p.code), (409, "capture-conflict"));
        assert!(p.detail.contains("send the document again"), "{}", p.detail);
        let p = capture_problem(capture::CaptureError::Spool(std::io::Error::other("full")));
        assert_eq!((p.status, p.code), (503, "spool-unavailable"));
        let p = capture_problem(capture::CaptureError::Store(
            diesel::result::Error::NotFound,
        ));
        assert_eq!((p.status, p.code), (500, "internal-error"));
    }
}
