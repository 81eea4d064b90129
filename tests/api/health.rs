use std::time::{Duration, Instant};

use dscsa_exchange::store::private_pg::PrivatePostgres;
use dscsa_exchange::store::{self};

use crate::helpers::{spawn_app, spawn_with, test_settings, TestDb};

#[tokio::test]
async fn health_and_ready_answer_200_on_a_working_database() {
    let app = spawn_app().await;
    let health = app.get("/health").await;
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
    let ready = app.get("/ready").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );
}

#[tokio::test]
async fn unknown_paths_answer_with_problem_json() {
    let app = spawn_app().await;
    let res = app.get("/no/such/thing").await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["code"], "not-found");
    assert_eq!(body["status"], 404);
    assert!(body["detail"].as_str().unwrap().contains("/no/such/thing"));
    assert_eq!(body["type"], "urn:dscsa-exchange:problem:not-found");
}

/// The "Must show" of the foundation: with DATABASE_URL pointing at another PostgreSQL, stop it
/// and `/ready` turns 503 while `/health` stays 200; start it again and `/ready` recovers with no
/// restart of the server.
#[tokio::test]
async fn ready_turns_503_while_the_database_is_down_and_recovers_without_restart() {
    let dir = std::env::temp_dir().join(format!("dscsa-external-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let start = {
        let dir = dir.clone();
        move || PrivatePostgres::ensure_running(&dir).expect("start external PostgreSQL")
    };
    let pg = tokio::task::spawn_blocking(start.clone()).await.unwrap();
    assert!(pg.owns_instance());
    let url = pg.url("dscsa");
    let migrate_url = url.clone();
    tokio::task::spawn_blocking(move || store::migrate(&mut store::connect(&migrate_url).unwrap()))
        .await
        .unwrap()
        .unwrap();
    // Not a TestDb of the shared cluster: this server talks to its own PostgreSQL.
    let settings = test_settings(&url);
    let placeholder = tokio::task::spawn_blocking(TestDb::create).await.unwrap();
    let app = spawn_with(placeholder, &settings).await;
    assert_eq!(app.get("/ready").await.status(), 200);

    let mut pg = pg;
    tokio::task::spawn_blocking(move || {
        pg.stop().unwrap();
    })
    .await
    .unwrap();
    let down = app.get("/ready").await;
    assert_eq!(down.status(), 503);
    let body: serde_json::Value = down.json().await.unwrap();
    assert_eq!(body["code"], "database-unavailable");
    assert_eq!(app.get("/health").await.status(), 200);

    let pg = tokio::task::spawn_blocking(start).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut status = 0;
    while Instant::now() < deadline {
        status = app.get("/ready").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        status, 200,
        "/ready did not recover after the database came back"
    );
    drop(app);
    tokio::task::spawn_blocking(move || drop(pg)).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
