//! EPCIS 2.0 asynchronous capture: `POST /capture` answers `202` with `Location:
//! /capture/{id}` as soon as the document is received; the capture runs on a thread of its own
//! and `GET /capture/{id}` tells how it went (EPCIS 2.0 capture job: `running`, `success`,
//! `errors`).
//!
//! Running and recently finished jobs are kept in memory (bounded); after a restart, finished
//! jobs are answered from the `documents` table. A job interrupted by a restart left nothing
//! behind (its transaction rolled back) and is unknown afterwards: the sender resends.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::json;
use uuid::Uuid;

use super::caller::{authenticate, peer, require};
use super::problem::{with_conn, Problem};
use super::AppState;
use crate::capture::{self, CaptureReport, ErrorBehaviour, Outcome};
use crate::partners::Role;

const KEEP_FINISHED: usize = 10_000;

#[derive(Clone)]
struct Job {
    partner_id: i64,
    created_at: DateTime<Utc>,
    behaviour: ErrorBehaviour,
    finished: Option<(DateTime<Utc>, Result<CaptureReport, String>)>,
}

#[derive(Default)]
pub struct Jobs {
    jobs: Mutex<(HashMap<Uuid, Job>, VecDeque<Uuid>)>,
}

impl Jobs {
    fn start(&self, id: Uuid, job: Job) {
        self.jobs.lock().expect("jobs lock").0.insert(id, job);
    }

    fn finish(&self, id: Uuid, result: Result<CaptureReport, String>) {
        let mut guard = self.jobs.lock().expect("jobs lock");
        let (map, order) = &mut *guard;
        if let Some(job) = map.get_mut(&id) {
            job.finished = Some((Utc::now(), result));
        }
        order.push_back(id);
        while order.len() > KEEP_FINISHED {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    fn get(&self, id: &Uuid) -> Option<Job> {
        self.jobs.lock().expect("jobs lock").0.get(id).cloned()
    }
}

/// The `GS1-Capture-Error-Behaviour` header of both capture endpoints (absent: rollback).
pub(super) fn behaviour(req: &HttpRequest) -> Result<ErrorBehaviour, Problem> {
    match req
        .headers()
        .get("GS1-Capture-Error-Behaviour")
        .and_then(|v| v.to_str().ok())
    {
        None | Some("rollback") => Ok(ErrorBehaviour::Rollback),
        Some("proceed") => Ok(ErrorBehaviour::Proceed),
        Some(other) => Err(Problem::bad_request(
            "invalid-capture-request",
            format!("GS1-Capture-Error-Behaviour `{other}` is not rollback or proceed"),
        )),
    }
}

/// `POST /capture`
pub async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    super::capture::require_xml(&req)?;
    let behaviour = behaviour(&req)?;
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    let caller = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        require(&caller, &[Role::TradingPartner, Role::Admin])?;
        Ok(caller)
    })
    .await?;

    // Receive the whole body into the spool folder first (bounded by the size limit).
    let id = Uuid::new_v4();
    let spool_dir = state.capture.spool_dir.clone();
    let path = spool_dir.join(format!("capture-upload-{id}.xml"));
    let limit = state.capture.limits.max_bytes;
    // A blocking thread writes what the request streams in, through a bounded channel.
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let write_path = path.clone();
    let writer = web::block(move || -> std::io::Result<u64> {
        std::fs::create_dir_all(&spool_dir)?;
        let mut file = std::fs::File::create(&write_path)?;
        std::io::copy(&mut super::capture::ChannelReader::new(rx), &mut file)
    });
    let feed = async move {
        let mut received: u64 = 0;
        let mut first = true;
        while let Some(chunk) = payload.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return Err(Problem::bad_request(
                        "invalid-capture-request",
                        format!("request body: {e}"),
                    ));
                }
            };
            if std::mem::take(&mut first) {
                if let Err(p) = super::capture::refuse_json_body(&chunk) {
                    let _ = tx.send(Err(std::io::Error::other("json"))).await;
                    return Err(p);
                }
            }
            received += chunk.len() as u64;
            if received > limit {
                let _ = tx.send(Err(std::io::Error::other("limit"))).await;
                return Err(Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "capture-limit-exceeded",
                    "Capture limit exceeded",
                    format!("the document is larger than the limit of {limit} bytes; split it"),
                ));
            }
            if tx.send(Ok(chunk)).await.is_err() {
                break;
            }
        }
        Ok(())
    };
    let (written, fed) = tokio::join!(writer, feed);
    if let Err(p) = fed {
        let _ = std::fs::remove_file(&path);
        return Err(p);
    }
    if let Err(e) = written
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
    {
        log::error!("capture spool: {e}");
        let _ = std::fs::remove_file(&path);
        return Err(Problem::internal());
    }

    state.jobs.start(
        id,
        Job {
            partner_id: caller.partner_id,
            created_at: Utc::now(),
            behaviour,
            finished: None,
        },
    );
    let mut opts = state.capture.clone();
    opts.behaviour = behaviour;
    opts.partner_id = Some(caller.partner_id);
    opts.document_id = Some(id);
    let state = state.into_inner();
    std::thread::Builder::new()
        .name(format!("capture-{id}"))
        .spawn(move || {
            let result = state
                .pool
                .get()
                .map_err(|e| e.to_string())
                .and_then(|mut conn| {
                    let input = std::fs::File::open(&path).map_err(|e| e.to_string())?;
                    capture::capture(&mut conn, input, &opts).map_err(|e| e.to_string())
                });
            if let Err(e) = &result {
                log::error!("capture job {id} failed: {e}");
            }
            let _ = std::fs::remove_file(&path);
            state.jobs.finish(id, result);
        })
        .map_err(|_| Problem::internal())?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/capture/{id}")))
        .json(json!({ "captureID": id })))
}

/// `GET /capture/{id}`: the capture job, for its sender and read-everything roles.
pub async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let peer = peer(&req)?;
    let not_found = || Problem::not_found(format!("no capture job {id} visible to you"));
    let Ok(uuid) = Uuid::parse_str(&id) else {
        return Err(not_found());
    };
    let job = state.jobs.get(&uuid);
    let (pool, auth) = (state.pool.clone(), state.auth.clone());
    let (caller, stored) = with_conn(pool, move |conn| {
        let caller = authenticate(&auth, conn, &peer)?;
        let stored = crate::store::capture::document(conn, uuid)?;
        Ok((caller, stored))
    })
    .await?;
    let visible =
        |owner: Option<i64>| caller.role.reads_everything() || owner == Some(caller.partner_id);
    let body = match (job, stored) {
        (Some(job), _) if visible(Some(job.partner_id)) => {
            let mut body = json!({
                "captureID": uuid,
                "createdAt": job.created_at,
                "captureErrorBehaviour": job.behaviour.as_str(),
                "running": job.finished.is_none(),
                "success": true,
                "errors": [],
            });
            if let Some((finished_at, result)) = job.finished {
                body["finishedAt"] = json!(finished_at);
                match result {
                    Ok(report) => {
                        body["success"] = json!(matches!(
                            report.outcome,
                            Outcome::Accepted | Outcome::Duplicate
                        ));
                        body["errors"] = json!(report.errors);
                        body["report"] = json!(report);
                    }
                    Err(_) => {
                        body["success"] = json!(false);
                        body["errors"] = json!([{"code": "internal-error", "detail": "the capture failed; the cause is in the server log"}]);
                    }
                }
            }
            body
        }
        (None, Some(doc)) if visible(doc.partner_id) => json!({
            "captureID": uuid,
            "createdAt": doc.received_at,
            "finishedAt": doc.finished_at,
            "captureErrorBehaviour": doc.error_behaviour,
            "running": false,
            "success": doc.status == "accepted",
            "errors": doc.errors,
        }),
        _ => return Err(not_found()),
    };
    Ok(HttpResponse::Ok().json(body))
}
