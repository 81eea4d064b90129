//! The public Digital Link page on the plain-HTTP listener: verdicts, non-disclosure, rate
//! limit, logging.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use serde_json::Value;

use crate::helpers::{scalar, spawn_with, test_settings, TestApp, TestDb};

const GTIN: &str = "00312345678906";

async fn app_with_limit(per_minute: u32, burst: u32) -> TestApp {
    let db = tokio::task::spawn_blocking(TestDb::create).await.unwrap();
    let mut settings = test_settings(&db.url);
    settings.resolver.requests_per_minute = per_minute;
    settings.resolver.burst = burst;
    let app = spawn_with(db, &settings).await;
    sql(
        &app,
        &format!(
            "INSERT INTO trade_items (gtin, name, strength, dosage_form) VALUES ('{GTIN}', 'Amoxi <b>cillin</b>', '500 mg', 'capsule');
             INSERT INTO serials (epc_key, kind, gtin, serial_number, lot, expiry, status, owner, location) VALUES
               ('01{GTIN}21S1', 1, '{GTIN}', 'S1', 'L1', '2028-12-31', 4, 'urn:epc:id:sgln:0312345.00001.0', 'urn:epc:id:sgln:0312345.00002.0'),
               ('01{GTIN}21S2', 1, '{GTIN}', 'S2', 'L1', '2028-12-31', 5, NULL, NULL),
               ('01{GTIN}21S3', 1, '{GTIN}', 'S3', 'L1', '2020-01-31', 4, NULL, NULL),
               ('01{GTIN}21S4', 1, '{GTIN}', 'S4', 'L1', '2028-12-31', 4, NULL, NULL),
               ('01{GTIN}21S5', 1, '{GTIN}', 'S5', 'L2', '2028-12-31', 4, NULL, NULL);
             UPDATE serials SET suspect = true WHERE serial_number = 'S4';
             INSERT INTO product_flags (gtin, lot, flag, reason) VALUES ('{GTIN}', 'L2', 'recalled', 'test');"
        ),
    )
    .await;
    app
}

async fn sql(app: &TestApp, sql: &str) {
    let (url, sql) = (app.db.url.clone(), sql.to_string());
    tokio::task::spawn_blocking(move || {
        dscsa_exchange::store::connect(&url)
            .unwrap()
            .batch_execute(&sql)
            .unwrap()
    })
    .await
    .unwrap();
}

async fn json(app: &TestApp, path: &str) -> (u16, Value) {
    let res = app
        .client
        .get(format!("{}{path}", app.address))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_page_gives_one_verdict_and_needs_gtin_serial_lot_and_expiry_together() {
    let app = app_with_limit(6000, 1000).await;
    for (path, verdict) in [
        ("/01/00312345678906/21/S1?17=281231&10=L1", "genuine"),
        ("/01/00312345678906/10/L1/21/S1?17=281231", "genuine"),
        ("/01/00312345678906/21/S1?17=281231&10=L9", "unknown"),
        ("/01/00312345678906/21/S1?17=281230&10=L1", "unknown"),
        ("/01/00312345678906/21/S1?10=L1", "unknown"),
        ("/01/00312345678906/21/S1?17=281231", "unknown"),
        ("/01/00312345678906/21/NOPE?17=281231&10=L1", "unknown"),
        (
            "/01/00312345678906/21/S2?17=281231&10=L1",
            "already_dispensed",
        ),
        ("/01/00312345678906/21/S3?17=200131&10=L1", "expired"),
        ("/01/00312345678906/21/S4?17=281231&10=L1", "suspect"),
        ("/01/00312345678906/21/S5?17=281231&10=L2", "recalled"),
        // A wrong lot on a recalled pack still says only "unknown".
        ("/01/00312345678906/21/S5?17=281231&10=L1", "unknown"),
    ] {
        let (status, body) = json(&app, path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body["verdict"], verdict, "{path}: {body}");
        let text = body.to_string();
        assert!(
            !text.contains("sgln") && !text.contains("owner") && !text.contains("location"),
            "{path}: {text}"
        );
        if verdict == "unknown" {
            assert!(
                body.get("product").is_none(),
                "{path}: unknown shows no product"
            );
        }
    }
    let (_, body) = json(&app, "/01/00312345678906/21/S1?17=281231&10=L1").await;
    assert_eq!(body["product"]["strength"], "500 mg");
    assert_eq!(body["expiry"], "2028-12-31");

    // HTML by default, auto-escaped.
    let res = app.get("/01/00312345678906/21/S1?17=281231&10=L1").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = res.text().await.unwrap();
    assert!(html.contains("class=\"verdict genuine\""), "{html}");
    assert!(html.contains("Amoxi &lt;b&gt;cillin"), "{html}");
    assert!(!html.contains("<b>cillin"));
    let html = app
        .get("/01/00312345678906/21/%3Cscript%3E?17=281231&10=L1")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Unknown") && !html.contains("<script>"),
        "{html}"
    );
}

#[tokio::test]
async fn bad_links_and_link_types_get_problems_and_all_gives_a_linkset() {
    let app = app_with_limit(6000, 1000).await;
    let (status, body) = json(&app, "/01/00312345678907/21/S1?17=281231&10=L1").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid-digital-link"))
    );
    assert!(
        body["detail"].as_str().unwrap().contains("check digit"),
        "{body}"
    );
    let (status, body) = json(&app, "/01/00312345678906").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid-digital-link"))
    );
    let (status, body) = json(&app, "/01/00312345678906/21/S1?linkType=gs1:epil").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("link-type-not-available"))
    );
    let res = app.get("/01/00312345678906/21/S1?linkType=all").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/linkset+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["linkset"][0]["https://gs1.org/voc/pip"][0]["href"],
        "/01/00312345678906/21/S1"
    );
}

#[tokio::test]
async fn each_client_address_is_rate_limited_with_a_429_problem() {
    let app = app_with_limit(1, 3).await;
    for _ in 0..3 {
        let (status, _) = json(&app, "/01/00312345678906/21/S1?17=281231&10=L1").await;
        assert_eq!(status, 200);
    }
    let res = app
        .client
        .get(format!(
            "{}/01/00312345678906/21/S1?17=281231&10=L1",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let wait: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "rate-limited");
    // Health checks are not limited.
    assert_eq!(app.get("/health").await.status(), 200);
}

#[tokio::test]
async fn every_lookup_is_logged_like_a_verification_request() {
    let app = app_with_limit(6000, 1000).await;
    json(&app, "/01/00312345678906/21/S1?17=281231&10=L1").await;
    json(&app, "/01/00312345678906/21/S1?17=281231&10=L9").await;
    let url = app.db.url.clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let u = url.clone();
        let n = tokio::task::spawn_blocking(move || {
            scalar(
                &u,
                "SELECT count(*) FROM verification_requests WHERE context = 'digitalLinkPage' AND partner_id IS NULL",
            )
        })
        .await
        .unwrap();
        if n == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "{n} log rows");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let u = url.clone();
    let genuine = tokio::task::spawn_blocking(move || {
        scalar(
            &u,
            "SELECT count(*) FROM verification_requests WHERE verified AND lot = 'L1' AND serial_number = 'S1'",
        )
    })
    .await
    .unwrap();
    assert_eq!(genuine, 1);
}
