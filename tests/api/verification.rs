//! Every answer path of the verification responder, over mutual TLS, from real per-serial state.

use std::time::{Duration, Instant};

use dscsa_exchange::partners::Role;
use serde_json::Value;

use crate::helpers::TestDb;
use crate::tls_fixture::{
    spawn_partner_app, spawn_partner_app_with, test_pki, tls_settings, PartnerApp,
};

pub(crate) const GTIN: &str = "00361414123458";
const LT: &str = "&linkType=verificationService";

/// A serial as capture would have left it: status 4 = received.
pub(crate) async fn seed(app: &PartnerApp, serial: &str, lot: &str, expiry: &str, status: i16) {
    app.sql(&format!(
        "INSERT INTO serials (epc_key, kind, gtin, serial_number, lot, expiry, status) \
         VALUES ('01{GTIN}21{serial}', 1, '{GTIN}', '{serial}', '{lot}', '{expiry}', {status})"
    ))
    .await;
}

fn path(serial: &str, lot: &str, exp: &str) -> String {
    format!(
        "/verify/gtin/{GTIN}/lot/{lot}/ser/{serial}?exp={exp}&linkType=verificationService\
         &context=dscsaSaleableReturn&reqGLN=0312345000004&corrUUID=6f1c2a3e-0000-4000-8000-000000000001"
    )
}

/// Status and body of a verification request as `c`'s partner (`TestApp::verify`).
async fn verify(app: &PartnerApp, c: &reqwest::Client, path: &str) -> (u16, Value) {
    app.verify(c, path).await.parts()
}

/// The verification log as `client` may read it.
async fn log(app: &PartnerApp, client: &reqwest::Client) -> Vec<Value> {
    let answer = app.get_as(client, "/verification-requests").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    serde_json::from_value(answer.body).unwrap()
}

#[tokio::test]
async fn every_answer_path_of_the_responder() {
    let app = spawn_partner_app().await;
    let (_, c, _) = app.partner("0312345000004", Role::TradingPartner).await;
    seed(&app, "SN1", "LOT42", "2028-12-31", 4).await;
    seed(&app, "OLD1", "LOT7", "2024-01-31", 4).await;
    seed(&app, "GONE1", "LOT42", "2028-12-31", 6).await;

    // Match.
    let (status, body) = verify(&app, &c, &path("SN1", "LOT42", "281231")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["verified"], true);
    assert!(body["data"].get("verificationFailureReason").is_none());
    assert_eq!(body["responderGLN"], "0361414000018");
    assert_eq!(body["corrUUID"], "6f1c2a3e-0000-4000-8000-000000000001");
    assert!(body["verificationTimestamp"]
        .as_str()
        .unwrap()
        .ends_with('Z'));

    // The numeric Digital Link form gives the same answer.
    let numeric =
        format!("/verify/01/{GTIN}/10/LOT42/21/SN1?17=281231&linkType=verificationService");
    assert_eq!(verify(&app, &c, &numeric).await.1["data"]["verified"], true);

    // Each failure reason.
    for (serial, lot, exp, reason) in [
        ("NOPE", "LOT42", "281231", "No_match_GTIN_Serial"),
        ("SN1", "LOT9", "281231", "No_match_GTIN_Serial_Lot"),
        ("SN1", "LOT42", "281130", "No_match_GTIN_Serial_Expiry"),
        ("SN1", "LOT9", "281130", "No_match_GTIN_Serial_Lot_Expiry"),
        ("GONE1", "LOT42", "281231", "Not_for_re-distribution"),
    ] {
        let (status, body) = verify(&app, &c, &path(serial, lot, exp)).await;
        assert_eq!(status, 200);
        assert_eq!(body["data"]["verified"], false, "{serial}");
        assert_eq!(
            body["data"]["verificationFailureReason"], reason,
            "{serial} {lot} {exp}"
        );
    }

    // Expired.
    let (_, body) = verify(&app, &c, &path("OLD1", "LOT7", "240131")).await;
    assert_eq!(
        (&body["data"]["verified"], &body["data"]["additionalInfo"]),
        (&Value::Bool(true), &Value::from("Expired"))
    );

    // Bad parameters: 400 problem naming what is wrong.
    for bad in [
        "/verify/gtin/00361414123459/lot/LOT42/ser/SN1?exp=281231&linkType=verificationService"
            .to_string(),
        format!("/verify/gtin/{GTIN}/lot/LOT42/ser/SN1?exp=281232&linkType=verificationService"),
        format!("/verify/gtin/{GTIN}/lot/LOT42/ser/SN1?reqGLN=123&linkType=verificationService"),
        format!("/verify/gtin/{GTIN}/lot/LOT42?linkType=verificationService"),
    ] {
        let (status, body) = verify(&app, &c, &bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["code"], "invalid-verification-request");
    }
    // A link type other than verificationService, or none: 400 with a code of its own.
    for bad in [
        format!("/verify/gtin/{GTIN}/lot/LOT42/ser/SN1?exp=281231&linkType=pip"),
        format!("/verify/gtin/{GTIN}/lot/LOT42/ser/SN1?exp=281231"),
    ] {
        let (status, body) = verify(&app, &c, &bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["code"], "invalid-link-type", "{bad}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("linkType=verificationService"),
            "{body}"
        );
    }

    // A GTIN nobody serves: 404.
    let (status, body) = verify(
        &app,
        &c,
        "/verify/gtin/00312345678906/lot/L/ser/S?exp=281231&linkType=verificationService",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "gtin-not-served");

    // checkConnectivity.
    let (status, body) = verify(
        &app,
        &c,
        &format!("/verify/checkConnectivity?gtin={GTIN}&reqGLN=0312345000004"),
    )
    .await;
    assert_eq!(
        (status, &body["responderGLN"]),
        (200, &Value::from("0361414000018"))
    );
    let (status, _) = verify(&app, &c, "/verify/checkConnectivity?gtin=00312345678906").await;
    assert_eq!(status, 404);

    // A handheld scanner's raw DataMatrix string.
    let scan = format!("]d201{GTIN}17281231\u{1d}10LOT42\u{1d}21SN1");
    let res = c
        .post(app.url("/verify/scan?corrUUID=scan-1"))
        .body(scan)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (&body["data"]["verified"], &body["corrUUID"]),
        (&Value::Bool(true), &Value::from("scan-1"))
    );
}

#[tokio::test]
async fn compliance_flags_show_at_once_as_recalled_suspect_and_illegitimate() {
    let app = spawn_partner_app().await;
    let (_, c, _) = app.partner("0312345000004", Role::TradingPartner).await;
    let (_, officer, _) = app.partner("0361414000018", Role::Compliance).await;
    seed(&app, "SN1", "LOT42", "2028-12-31", 4).await;
    seed(&app, "SN2", "LOT43", "2028-12-31", 4).await;

    // A trading partner may not set flags.
    let res = c
        .post(app.url("/admin/flags"))
        .json(&serde_json::json!({"gtin": GTIN, "lot": "LOT42", "flag": "recalled", "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let flag = |body: Value| {
        let officer = officer.clone();
        let url = app.url("/admin/flags");
        async move {
            officer
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(flag(serde_json::json!({"gtin": GTIN, "lot": "LOT42", "flag": "recalled", "reason": "FDA recall Z-1234-2026"})).await, 201);
    let (_, body) = verify(&app, &c, &path("SN1", "LOT42", "281231")).await;
    assert_eq!(
        (&body["data"]["verified"], &body["data"]["additionalInfo"]),
        (&Value::Bool(true), &Value::from("Recalled"))
    );
    // The other lot is not affected.
    let (_, body) = verify(&app, &c, &path("SN2", "LOT43", "281231")).await;
    assert!(body["data"].get("additionalInfo").is_none(), "{body}");

    assert_eq!(flag(serde_json::json!({"gtin": GTIN, "serial": "SN2", "flag": "suspect", "reason": "damaged seal"})).await, 201);
    let (_, body) = verify(&app, &c, &path("SN2", "LOT43", "281231")).await;
    assert_eq!(body["data"]["additionalInfo"], "Suspect");
    assert_eq!(flag(serde_json::json!({"gtin": GTIN, "serial": "SN2", "flag": "illegitimate", "reason": "counterfeit confirmed"})).await, 201);
    let (_, body) = verify(&app, &c, &path("SN2", "LOT43", "281231")).await;
    assert_eq!(body["data"]["additionalInfo"], "Illegitimate");

    // Unknown serials cannot be flagged; every flag is audited.
    assert_eq!(
        flag(serde_json::json!({"gtin": GTIN, "serial": "NOPE", "flag": "suspect", "reason": "x"}))
            .await,
        404
    );
    let url = app.app.db.url.clone();
    let audited: i64 = tokio::task::spawn_blocking(move || {
        crate::helpers::scalar(
            &url,
            "SELECT count(*) FROM audit_log WHERE action LIKE 'flag.%'",
        )
    })
    .await
    .unwrap();
    assert_eq!(audited, 3);
}

/// Many requests in flight at once are looked up together (one statement per batch): each gets
/// the answer for its own serial, also when a batch holds the same serial twice, an unknown
/// one, or a serial under several flags.
#[tokio::test]
async fn concurrent_requests_each_get_their_own_answer() {
    let app = spawn_partner_app().await;
    let (_, c, _) = app.partner("0312345000004", Role::TradingPartner).await;
    for n in 0..20 {
        seed(
            &app,
            &format!("C{n}"),
            &format!("LOT{}", n % 2),
            "2028-12-31",
            4,
        )
        .await;
    }
    // LOT1 is recalled and its product suspect: two flag rows for each LOT1 serial.
    app.sql(&format!(
        "INSERT INTO product_flags (gtin, lot, flag, reason) VALUES \
         ('{GTIN}', 'LOT1', 'recalled', 'r'), ('{GTIN}', NULL, 'suspect', 's')"
    ))
    .await;
    let asks: Vec<(String, &str)> = (0..60)
        .map(|i| match i % 3 {
            0 => (format!("C{}", i % 20), "match"),
            1 => (format!("C{}", (i + 7) % 20), "match"),
            _ => (format!("NOPE{i}"), "unknown"),
        })
        .collect();
    let paths: Vec<String> = asks
        .iter()
        .map(|(serial, _)| {
            let n: usize = serial
                .trim_start_matches(char::is_alphabetic)
                .parse()
                .unwrap();
            path(serial, &format!("LOT{}", n % 2), "281231")
        })
        .collect();
    let answers = futures_util::future::join_all(paths.iter().map(|p| verify(&app, &c, p))).await;
    for ((serial, kind), (status, body)) in asks.iter().zip(answers) {
        assert_eq!(status, 200, "{serial}: {body}");
        if *kind == "unknown" {
            assert_eq!(
                body["data"]["verificationFailureReason"],
                "No_match_GTIN_Serial"
            );
            continue;
        }
        assert_eq!(body["data"]["verified"], true, "{serial}: {body}");
        let n: usize = serial[1..].parse().unwrap();
        // Recalled outranks suspect; the product-wide suspect flag covers every lot.
        let info = if n % 2 == 1 { "Recalled" } else { "Suspect" };
        assert_eq!(body["data"]["additionalInfo"], info, "{serial}: {body}");
    }
}

/// Polls the verification log until `n` rows exist (the log is written in the background).
async fn wait_for_log_rows(app: &PartnerApp, n: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = app.app.db.url.clone();
        let count: i64 = tokio::task::spawn_blocking(move || {
            crate::helpers::scalar(&url, "SELECT count(*) FROM verification_requests")
        })
        .await
        .unwrap();
        if count >= n || Instant::now() > deadline {
            return count;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_request_is_logged_and_a_partner_reads_only_its_own_requests() {
    let app = spawn_partner_app().await;
    let (a_id, a, _) = app.partner("0312345000004", Role::TradingPartner).await;
    let (_, b, _) = app.partner("0999990000018", Role::TradingPartner).await;
    let (_, regulator, _) = app.partner("0361414000018", Role::Regulator).await;
    seed(&app, "SN1", "LOT42", "2028-12-31", 4).await;

    verify(&app, &a, &path("SN1", "LOT42", "281231")).await;
    verify(&app, &a, &path("SN1", "LOT9", "281231")).await;
    verify(&app, &b, &path("SN1", "LOT42", "281231")).await;
    verify(
        &app,
        &b,
        "/verify/gtin/00361414123458/lot/L/ser/S?linkType=nope",
    )
    .await;
    assert_eq!(wait_for_log_rows(&app, 4).await, 4);

    let mine: Vec<Value> = log(&app, &a).await;
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(mine.iter().all(|r| r["partner_id"] == a_id));
    assert!(mine
        .iter()
        .any(|r| r["failure_reason"] == "No_match_GTIN_Serial_Lot"));
    assert!(mine
        .iter()
        .all(|r| r["requester_gln"] == "0312345000004" && r["serial_number"] == "SN1"));
    let theirs: Vec<Value> = log(&app, &b).await;
    assert_eq!(theirs.len(), 2);
    assert!(theirs.iter().any(|r| r["http_status"] == 400));
    let all: Vec<Value> = log(&app, &regulator).await;
    assert_eq!(all.len(), 4);
}

#[tokio::test]
async fn requests_for_other_gtins_are_forwarded_with_our_certificate() {
    // The upstream responder: another server, with its own database and products.
    let upstream = spawn_partner_app().await;
    let upstream_gtin = "00312345678906";
    upstream
        .sql(&format!(
            "INSERT INTO serials (epc_key, kind, gtin, serial_number, lot, expiry, status) \
             VALUES ('01{upstream_gtin}21U1', 1, '{upstream_gtin}', 'U1', 'UL1', '2029-01-31', 1)"
        ))
        .await;
    // We are registered there as a trading partner, with the certificate we forward with.
    let (_, _, ours) = upstream
        .partner("0361414000018", Role::TradingPartner)
        .await;
    let dir = test_pki()
        .dir
        .join(format!("forward-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ours.pem"), ours.cert_pem()).unwrap();
    std::fs::write(dir.join("ours.key"), ours.key_pem()).unwrap();

    let db = tokio::task::spawn_blocking(TestDb::create).await.unwrap();
    let mut settings = tls_settings(&db.url);
    settings.verification.forward_cert = Some(dir.join("ours.pem"));
    settings.verification.forward_key = Some(dir.join("ours.key"));
    settings.verification.forward_ca = Some(test_pki().ca_file());
    settings.verification.forward_timeout_ms = 1500;
    let app = spawn_partner_app_with(db, settings).await;
    let (_, c, _) = app.partner("0312345000004", Role::TradingPartner).await;

    // A responder that accepts connections and never answers, and a port nobody listens on.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    app.sql(&format!(
        "INSERT INTO lookup_directory (prefix, responder_url) VALUES \
         ('0312345', '{}/verify'), \
         ('00999990', 'https://localhost:{silent_port}/verify'), \
         ('00888880', 'https://localhost:{closed_port}/verify')",
        upstream.base
    ))
    .await;

    let forwarded = format!("/verify/gtin/{upstream_gtin}/lot/UL1/ser/U1?exp=290131&linkType=verificationService&corrUUID=fwd-1");
    let (status, body) = verify(&app, &c, &forwarded).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["verified"], true);
    assert_eq!(body["corrUUID"], "fwd-1");
    let (_, body) = verify(
        &app,
        &c,
        &format!("/verify/gtin/{upstream_gtin}/lot/WRONG/ser/U1?exp=290131{LT}"),
    )
    .await;
    assert_eq!(
        body["data"]["verificationFailureReason"],
        "No_match_GTIN_Serial_Lot"
    );
    // checkConnectivity knows forwarded GTINs too.
    let (status, _) = verify(
        &app,
        &c,
        &format!("/verify/checkConnectivity?gtin={upstream_gtin}"),
    )
    .await;
    assert_eq!(status, 200);

    // Upstream silent: 504. Upstream down: 502.
    let (status, body) = verify(
        &app,
        &c,
        "/verify/gtin/00999990000018/lot/L/ser/S?exp=290131&linkType=verificationService",
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (504, &Value::from("upstream-timeout")),
        "{body}"
    );
    let (status, body) = verify(
        &app,
        &c,
        "/verify/gtin/00888880000019/lot/L/ser/S?exp=290131&linkType=verificationService",
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (502, &Value::from("upstream-unavailable")),
        "{body}"
    );
    drop(silent);

    // The log says where each request went.
    assert_eq!(wait_for_log_rows(&app, 4).await, 4);
    let url = app.app.db.url.clone();
    let forwarded_rows: i64 = tokio::task::spawn_blocking(move || {
        crate::helpers::scalar(
            &url,
            "SELECT count(*) FROM verification_requests WHERE forwarded_to IS NOT NULL",
        )
    })
    .await
    .unwrap();
    assert_eq!(forwarded_rows, 4);
}

/// `responderGLN` is the organisation's GLN unless `verification.responder_gln` overrides it;
/// `verification.require_link_type = false` accepts requests without `linkType` (never one
/// with another link type).
#[tokio::test]
async fn answers_carry_the_organisation_gln_and_link_type_can_be_made_optional() {
    let db = tokio::task::spawn_blocking(TestDb::create).await.unwrap();
    let mut settings = tls_settings(&db.url);
    settings.verification.responder_gln = None;
    settings.verification.require_link_type = false;
    settings.organisation = Some(dscsa_exchange::config::Organisation {
        gln: "0312345000011".parse().unwrap(),
        name: "Example Pharma".into(),
        company_prefixes: vec!["0312345".into()],
        development: false,
    });
    let app = spawn_partner_app_with(db, settings).await;
    let (_, c, _) = app.partner("0312345000004", Role::TradingPartner).await;
    seed(&app, "SN1", "LOT42", "2028-12-31", 4).await;

    let (status, body) = verify(&app, &c, &path("SN1", "LOT42", "281231")).await;
    assert_eq!(
        (status, &body["responderGLN"]),
        (200, &Value::from("0312345000011"))
    );
    let (_, body) = verify(&app, &c, &format!("/verify/checkConnectivity?gtin={GTIN}")).await;
    assert_eq!(body["responderGLN"], "0312345000011");

    let no_link_type = format!("/verify/gtin/{GTIN}/lot/LOT42/ser/SN1?exp=281231");
    let (status, body) = verify(&app, &c, &no_link_type).await;
    assert_eq!(
        (status, &body["data"]["verified"]),
        (200, &Value::Bool(true))
    );
    let (status, body) = verify(
        &app,
        &c,
        &format!("/verify/gtin/{GTIN}/lot/LOT42/ser/SN1?exp=281231&linkType=pip"),
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (400, &Value::from("invalid-link-type"))
    );
}
