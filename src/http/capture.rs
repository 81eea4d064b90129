//! `POST /epcis/capture`: a trading partner sends an EPCIS document (streamed, never buffered
//! whole) and gets the capture report.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::json;

use super::caller::{authenticate, peer, require};
use super::problem::{with_conn, Problem};
use super::AppState;
use crate::capture::{self, ErrorBehaviour, Outcome};
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
    let behaviour = match req
        .headers()
        .get("GS1-Capture-Error-Behaviour")
        .and_then(|v| v.to_str().ok())
    {
        None | Some("rollback") => ErrorBehaviour::Rollback,
        Some("proceed") => ErrorBehaviour::Proceed,
        Some(other) => {
            return Err(Problem::bad_request(
                "invalid-capture-request",
                format!("GS1-Capture-Error-Behaviour `{other}` is not rollback or proceed"),
            ))
        }
    };
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut opts = state.capture.clone();
    opts.behaviour = behaviour;
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    let work = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        require(&caller, &[Role::TradingPartner, Role::Admin])?;
        opts.partner_id = Some(caller.partner_id);
        let reader = ChannelReader::new(rx);
        capture::capture(conn, reader, &opts).map_err(|e| {
            log::error!("capture failed: {e}");
            Problem::internal()
        })
    });
    let feed = async move {
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
        Some(doc) => Ok(HttpResponse::Ok().json(doc)),
        None => Err(not_found()),
    }
}
