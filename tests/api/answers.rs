//! Snapshots of the answers other systems read, so that refactoring (and the export work)
//! cannot change them unnoticed: the capture report, problem+json bodies of each error kind,
//! and the LMS verification responses. Each is stored as JSON under `tests/api/snapshots/`
//! with what varies per run (document ids, timestamps) redacted.
//!
//! A changed answer fails the test with a diff. When the change is meant:
//! `INSTA_UPDATE=always cargo test --test api answers`, review `git diff tests/api/snapshots`,
//! commit the snapshots with the change.

use dscsa_exchange::partners::Role;
use insta::internals::{Content, ContentPath};
use serde_json::{json, Value};

use crate::capture::BROKEN;
use crate::helpers::Answer;
use crate::tls_fixture::{spawn_partner_app, PartnerApp};
use crate::verification::{seed, GTIN};

fn fixture(rel: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What a client sees of an answer: status, content type, body.
fn seen(answer: Answer) -> Value {
    json!({
        "status": answer.status,
        "contentType": answer.content_type,
        "body": answer.body,
    })
}

/// Every UUID in a string as `[uuid]` (a document id inside a problem's detail).
fn mask_uuids(value: Content, _: ContentPath<'_>) -> String {
    let text = value.as_str().unwrap_or_default();
    let bytes = text.as_bytes();
    let is_uuid = |at: usize| {
        bytes.len() >= at + 36
            && bytes[at..at + 36].iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
    };
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        if is_uuid(i) {
            out.push_str("[uuid]");
            i += 36;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// A problem+json answer, with the document id a detail may name redacted.
fn problem(name: &str, answer: Answer) {
    assert!(answer.status >= 400, "{name}: {}", answer.body);
    insta::assert_json_snapshot!(name, seen(answer), {
        ".body.detail" => insta::dynamic_redaction(mask_uuids),
    });
}

/// A capture report, without its document id.
fn report(name: &str, answer: Answer) {
    assert_eq!(answer.status, 201, "{name}: {}", answer.body);
    insta::assert_json_snapshot!(name, seen(answer), { ".body.documentId" => "[uuid]" });
}

/// An LMS answer, without the time it was given.
fn lms(name: &str, answer: Answer) {
    assert_eq!(answer.status, 200, "{name}: {}", answer.body);
    insta::assert_json_snapshot!(name, seen(answer), {
        ".body.verificationTimestamp" => "[timestamp]",
    });
}

async fn partner_app() -> (PartnerApp, reqwest::Client) {
    let app = spawn_partner_app().await;
    let (_, sender, _) = app.partner("0361414000018", Role::TradingPartner).await;
    (app, sender)
}

#[tokio::test]
async fn capture_reports_and_capture_problems() {
    let (app, sender) = partner_app().await;
    let shipment = fixture("epcis/generated/dscsa-shipment-200.xml");

    let answer = app.capture(&sender, shipment.clone()).await;
    report("capture_report_accepted", answer);
    let answer = app
        .capture(
            &sender,
            fixture("epcis/thirdparty/valid/v12-non-uri-locations-and-transactions.xml"),
        )
        .await;
    report("capture_report_with_warnings", answer);

    let answer = app.capture(&sender, shipment.clone()).await;
    problem("problem_duplicate_document", answer);
    let answer = app.capture(&sender, BROKEN).await;
    problem("problem_document_rejected", answer);
    // A body of a media type that is no EPCIS binding.
    let answer = app
        .post_as(&sender, "/epcis/capture", "text/plain", "shipment")
        .await;
    problem("problem_unsupported_media_type", answer);
    let (_, regulator, _) = app.partner("0312345000004", Role::Regulator).await;
    let answer = app.capture(&regulator, shipment).await;
    problem("problem_forbidden", answer);
    let answer = app
        .get_as(&sender, "/documents/6f1c2a3e-0000-4000-8000-00000000d0c5")
        .await;
    problem("problem_not_found_document", answer);
    let answer = app.get_as(&sender, "/no/such/resource").await;
    problem("problem_no_route", answer);
}

#[tokio::test]
async fn lms_verification_answers_and_problems() {
    let (app, requester) = partner_app().await;
    seed(&app, "SN1", "LOT42", "2028-12-31", 4).await;
    seed(&app, "OLD1", "LOT7", "2024-01-31", 4).await;
    let path = |serial: &str, lot: &str, exp: &str| {
        format!(
            "/verify/gtin/{GTIN}/lot/{lot}/ser/{serial}?exp={exp}&linkType=verificationService\
             &context=dscsaSaleableReturn&reqGLN=0312345000004&corrUUID=snapshot-1"
        )
    };

    let answer = app
        .verify(&requester, &path("SN1", "LOT42", "281231"))
        .await;
    assert_eq!(answer.body["data"]["verified"], true, "{}", answer.body);
    lms("lms_verified", answer);
    let answer = app.verify(&requester, &path("SN1", "LOT9", "281231")).await;
    assert_eq!(answer.body["data"]["verified"], false, "{}", answer.body);
    lms("lms_not_verified", answer);
    let answer = app
        .verify(&requester, &path("OLD1", "LOT7", "240131"))
        .await;
    assert_eq!(
        answer.body["data"]["additionalInfo"], "Expired",
        "{}",
        answer.body
    );
    lms("lms_verified_expired", answer);
    let answer = app
        .verify(
            &requester,
            &format!("/verify/checkConnectivity?gtin={GTIN}&reqGLN=0312345000004"),
        )
        .await;
    lms("lms_check_connectivity", answer);

    let answer = app
        .verify(
            &requester,
            "/verify/gtin/00361414123459/lot/LOT42/ser/SN1?exp=281231&linkType=verificationService",
        )
        .await;
    problem("problem_invalid_verification_request", answer);
    let answer = app
        .verify(
            &requester,
            &format!("/verify/gtin/{GTIN}/lot/LOT42/ser/SN1?exp=281231&linkType=pip"),
        )
        .await;
    problem("problem_invalid_link_type", answer);
    let answer = app
        .verify(
            &requester,
            "/verify/gtin/00312345678906/lot/L/ser/S?exp=281231&linkType=verificationService",
        )
        .await;
    problem("problem_gtin_not_served", answer);
}
