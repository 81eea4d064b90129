//! Liveness and readiness, for load balancers and orchestrators.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::problem::Problem;
use super::AppState;

/// The process is up and serving HTTP; says nothing about the database.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The database answers; 503 while it does not, recovering by itself when it comes back.
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let pool = state.pool.clone();
    match web::block(move || crate::store::ping(&pool)).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().json(json!({ "status": "ready" }))),
        Ok(Err(e)) => {
            log::warn!("readiness check failed: {e}");
            Err(Problem::database_unavailable())
        }
        Err(e) => {
            log::error!("readiness check could not run: {e}");
            Err(Problem::internal())
        }
    }
}
