//! Identity and access over real mutual-TLS handshakes.

use dscsa_exchange::partners::Role;
use serde_json::Value;

use crate::tls_fixture::{client, spawn_partner_app, test_pki};
use dscsa_exchange::tls::pki;

/// A registered partner gets through: the refusals below are the handshake's, not a dead server.
async fn positive_control(app: &crate::tls_fixture::PartnerApp) {
    let (_, ok, _) = app.partner("0361414000018", Role::TradingPartner).await;
    let res = ok
        .get(app.url("/whoami"))
        .send()
        .await
        .expect("a valid client connects");
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn the_handshake_refuses_a_client_without_a_certificate() {
    let app = spawn_partner_app().await;
    positive_control(&app).await;
    let res = client(None).get(app.url("/whoami")).send().await;
    assert!(res.is_err(), "connected without a certificate: {res:?}");
}

#[tokio::test]
async fn the_handshake_refuses_a_certificate_from_an_unknown_ca() {
    let app = spawn_partner_app().await;
    positive_control(&app).await;
    let rogue_ca = pki::new_ca("rogue CA").unwrap();
    let rogue = pki::issue_client(&rogue_ca, "0361414000018", "Rogue", "admin").unwrap();
    let res = client(Some(&rogue)).get(app.url("/whoami")).send().await;
    assert!(
        res.is_err(),
        "a certificate of an untrusted CA got through: {res:?}"
    );
}

#[tokio::test]
async fn the_handshake_refuses_a_revoked_certificate() {
    let app = spawn_partner_app().await;
    positive_control(&app).await;
    let res = client(Some(&test_pki().revoked))
        .get(app.url("/whoami"))
        .send()
        .await;
    assert!(res.is_err(), "a revoked certificate got through: {res:?}");
}

#[tokio::test]
async fn a_valid_certificate_of_an_unregistered_partner_gets_403() {
    let app = spawn_partner_app().await;
    let stranger = test_pki().client("0312345000004", "trading_partner");
    let res = client(Some(&stranger))
        .get(app.url("/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "unknown-client-certificate");
}

#[tokio::test]
async fn a_disabled_partner_gets_403_on_its_next_request_without_restart() {
    let app = spawn_partner_app().await;
    let (_, admin, _) = app.partner("0361414000018", Role::Admin).await;
    let (_, partner, _) = app.partner("0312345000004", Role::TradingPartner).await;
    let me: Value = partner
        .get(app.url("/whoami"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "trading_partner");
    assert_eq!(me["gln"], "0312345000004");

    let res = admin
        .post(app.url("/admin/partners/0312345000004/disable"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Same client, same kept-alive connection: refused from the next request on.
    let res = partner.get(app.url("/whoami")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        res.json::<Value>().await.unwrap()["code"],
        "partner-disabled"
    );

    admin
        .post(app.url("/admin/partners/0312345000004/enable"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        partner
            .get(app.url("/whoami"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn partner_management_needs_the_admin_role() {
    let app = spawn_partner_app().await;
    let (_, partner, _) = app.partner("0312345000004", Role::TradingPartner).await;
    let (_, regulator, _) = app.partner("0361414000018", Role::Regulator).await;
    for c in [&partner, &regulator] {
        let res = c.get(app.url("/admin/partners")).send().await.unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(res.json::<Value>().await.unwrap()["code"], "forbidden");
    }
    let res = partner
        .post(app.url("/admin/partners/0361414000018/disable"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn an_admin_registers_a_partner_whose_certificate_then_works() {
    let app = spawn_partner_app().await;
    let (_, admin, _) = app.partner("0361414000018", Role::Admin).await;
    let newcomer = test_pki().client("0312345000004", "trading_partner");
    let pem = String::from_utf8(newcomer.cert_pem()).unwrap();
    let res = admin
        .post(app.url("/admin/partners"))
        .json(&serde_json::json!({
            "gln": "0312345000004", "name": "Acme Wholesale", "role": "trading_partner",
            "atp_status": "authorized", "certificate_pem": pem,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let me = client(Some(&newcomer))
        .get(app.url("/whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    // The same GLN again is a conflict; a bad GLN is a 400 naming the problem.
    let again = admin
        .post(app.url("/admin/partners"))
        .json(
            &serde_json::json!({"gln": "0312345000004", "name": "Dup", "role": "trading_partner"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let bad = admin
        .post(app.url("/admin/partners"))
        .json(
            &serde_json::json!({"gln": "0312345000002", "name": "Bad", "role": "trading_partner"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("check digit"));
}

#[tokio::test]
async fn health_stays_on_plain_http_and_partner_routes_are_not_there() {
    let app = spawn_partner_app().await;
    assert_eq!(app.app.get("/health").await.status(), 200);
    assert_eq!(app.app.get("/whoami").await.status(), 404);
    assert_eq!(
        app.app
            .get("/verify/gtin/00361414123458/lot/L/ser/S")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_partner_disabled_by_another_process_is_refused_without_restart() {
    let app = spawn_partner_app().await;
    let (_, partner, _) = app.partner("0312345000004", Role::TradingPartner).await;
    // Served (and now cached) while enabled.
    assert_eq!(
        partner
            .get(app.url("/whoami"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Another process (the CLI, psql) changes the database directly.
    app.sql("UPDATE trading_partners SET enabled = false WHERE gln = '0312345000004'")
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut status = 200;
    while std::time::Instant::now() < deadline {
        status = partner
            .get(app.url("/whoami"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 403 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        status, 403,
        "the server kept serving a partner disabled elsewhere"
    );
}
