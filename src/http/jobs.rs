//! EPCIS 2.0 asynchronous capture: `POST /capture` answers `202` with `Location:
//! /capture/{id}` as soon as the document is received; the capture runs on a thread of its own
//! and `GET /capture/{id}` tells how it went (EPCIS 2.0 capture job: `running`, `success`,
//! `errors`).
//!
//! Running and recently finished jobs are kept in memory (bounded); after a restart, finished
//! jobs are answered from the `documents` table. A job interrupted by a restart left nothing
//! behind (its transaction rolled back) and is unknown afterwards: the sender resends.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde_json::json;
use uuid::Uuid;

use super::caller::Caller;
use super::problem::Problem;
use super::AppState;
use crate::capture::{self, documents, CaptureOptions, CaptureReport, ErrorBehaviour, Outcome};
use crate::partners::Role;

const KEEP_FINISHED: usize = 10_000;

/// Why a capture job failed other than by its document (whose faults are in its report).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("no database connection: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("the received document could not be read back from the spool: {0}")]
    Spool(std::io::Error),
    #[error(transparent)]
    Capture(#[from] capture::CaptureError),
}

/// How a finished job ended; the error shared (a job is cloned out of the map).
type Finished = Result<CaptureReport, Arc<JobError>>;

#[derive(Clone)]
struct Job {
    partner_id: i64,
    created_at: DateTime<Utc>,
    behaviour: ErrorBehaviour,
    finished: Option<(DateTime<Utc>, Finished)>,
}

#[derive(Default)]
pub struct Jobs {
    jobs: Mutex<(HashMap<Uuid, Job>, VecDeque<Uuid>)>,
}

impl Jobs {
    fn start(&self, id: Uuid, job: Job) {
        self.jobs.lock().expect("jobs lock").0.insert(id, job);
    }

    fn finish(&self, id: Uuid, result: Result<CaptureReport, JobError>) {
        let mut guard = self.jobs.lock().expect("jobs lock");
        let (map, order) = &mut *guard;
        if let Some(job) = map.get_mut(&id) {
            job.finished = Some((Utc::now(), result.map_err(Arc::new)));
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
    payload: web::Payload,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    super::capture::require_epcis_media_type(&req)?;
    let behaviour = behaviour(&req)?;
    let sender = caller.require(&[Role::TradingPartner, Role::Admin])?;
    let id = Uuid::new_v4();
    let path = receive(&state.capture, id, payload).await?;
    run(state.into_inner(), id, path, sender.partner_id, behaviour)?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/capture/{id}")))
        .json(json!({ "captureID": id })))
}

/// Receives the whole body into the spool folder (bounded by the size limit): a blocking
/// thread writes what the request streams in, through a bounded channel.
async fn receive(
    options: &CaptureOptions,
    id: Uuid,
    payload: web::Payload,
) -> Result<PathBuf, Problem> {
    let spool_dir = options.spool_dir.clone();
    let path = spool_dir.join(format!("capture-upload-{id}.xml"));
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let write_path = path.clone();
    let writer = web::block(move || -> std::io::Result<u64> {
        std::fs::create_dir_all(&spool_dir)?;
        let mut file = std::fs::File::create(&write_path)?;
        std::io::copy(&mut super::capture::ChannelReader::new(rx), &mut file)
    });
    let (written, fed) = tokio::join!(writer, feed(payload, tx, options.limits.max_bytes));
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
    Ok(path)
}

/// Feeds the body to the spool writer; a broken body (400) or one over `limit` bytes (413)
/// stops it, and the writer is told so.
async fn feed(
    mut payload: web::Payload,
    tx: tokio::sync::mpsc::Sender<Result<web::Bytes, std::io::Error>>,
    limit: u64,
) -> Result<(), Problem> {
    let mut received: u64 = 0;
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
        received += chunk.len() as u64;
        if received > limit {
            let _ = tx.send(Err(std::io::Error::other("limit"))).await;
            return Err(Problem::capture_limit_exceeded(limit));
        }
        if tx.send(Ok(chunk)).await.is_err() {
            break;
        }
    }
    Ok(())
}

/// Registers the job and runs the capture of the received file on a thread of its own.
fn run(
    state: Arc<AppState>,
    id: Uuid,
    path: PathBuf,
    sender: i64,
    behaviour: ErrorBehaviour,
) -> Result<(), Problem> {
    state.jobs.start(
        id,
        Job {
            partner_id: sender,
            created_at: Utc::now(),
            behaviour,
            finished: None,
        },
    );
    let mut opts = state.capture.clone();
    opts.behaviour = behaviour;
    opts.partner_id = Some(sender);
    opts.document_id = Some(id);
    std::thread::Builder::new()
        .name(format!("capture-{id}"))
        .spawn(move || {
            let result = state
                .pool
                .get()
                .map_err(JobError::Pool)
                .and_then(|mut conn| {
                    let input = std::fs::File::open(&path).map_err(JobError::Spool)?;
                    Ok(capture::capture(&mut conn, input, &opts)?)
                });
            if let Err(e) = &result {
                log::error!("capture job {id} failed: {e}");
            }
            let _ = std::fs::remove_file(&path);
            state.jobs.finish(id, result);
        })
        .map_err(|_| Problem::internal())?;
    Ok(())
}

/// `GET /capture/{id}`: the capture job, for its sender and read-everything roles.
pub async fn status(
    state: web::Data<AppState>,
    id: web::Path<String>,
    caller: Caller,
) -> Result<HttpResponse, Problem> {
    let not_found = || Problem::not_found(format!("no capture job {id} visible to you"));
    let Ok(uuid) = Uuid::parse_str(&id) else {
        return Err(not_found());
    };
    let job = state.jobs.get(&uuid);
    let caller = caller.partner()?;
    let reader = caller.clone();
    let stored = state
        .db(move |conn| Ok(documents::visible(conn, uuid, &reader)?))
        .await?;
    let body = match (job, stored) {
        (Some(job), _) if caller.may_read(Some(job.partner_id)) => job.status(uuid),
        (None, Some(doc)) => json!({
            "captureID": uuid,
            "createdAt": doc.received_at,
            "finishedAt": doc.finished_at,
            "captureErrorBehaviour": doc.error_behaviour,
            "running": false,
            "success": doc.status == documents::DocumentStatus::Accepted,
            "errors": doc.errors,
        }),
        _ => return Err(not_found()),
    };
    Ok(HttpResponse::Ok().json(body))
}

impl Job {
    /// The EPCIS 2.0 capture job of a job still in memory.
    fn status(self, id: Uuid) -> serde_json::Value {
        let mut body = json!({
            "captureID": id,
            "createdAt": self.created_at,
            "captureErrorBehaviour": self.behaviour.as_str(),
            "running": self.finished.is_none(),
            "success": true,
            "errors": [],
        });
        if let Some((finished_at, result)) = self.finished {
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
                Err(e) => {
                    let p = Problem::from(&*e);
                    body["success"] = json!(false);
                    body["errors"] = json!([{"code": p.code, "detail": p.detail}]);
                }
            }
        }
        body
    }
}
