//! Regressions of issue 10 §2 and §4: valid EPCIS documents from other systems refused; JSON
//! given to the XML reader.

use std::path::{Path, PathBuf};

use dscsa_exchange::capture::{self, CaptureOptions, ErrorBehaviour, Outcome};
use dscsa_exchange::epcis::Limits;

use crate::helpers::{scalar, TestDb};

fn thirdparty(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/epcis/thirdparty")
        .join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(thirdparty(rel)).unwrap()
}

fn options() -> CaptureOptions {
    let mut o = CaptureOptions::new(&std::env::temp_dir().join("dscsa-test-spool"));
    o.behaviour = ErrorBehaviour::Rollback;
    o
}

/// `dscsa-exchange validate`'s decision: refused when any finding is `reject`.
fn refused_by(doc: &[u8]) -> Vec<String> {
    capture::validate(doc, Limits::default())
        .into_iter()
        .filter(|f| f.rejects())
        .map(|f| f.rule)
        .collect()
}

#[test]
fn validate_accepts_every_valid_third_party_fixture_and_refuses_every_malformed_one() {
    let mut valid = 0;
    for e in std::fs::read_dir(thirdparty("valid")).unwrap() {
        let p = e.unwrap().path();
        let refused = refused_by(&std::fs::read(&p).unwrap());
        assert!(refused.is_empty(), "{}: {refused:?}", p.display());
        valid += 1;
    }
    let mut malformed = 0;
    for e in std::fs::read_dir(thirdparty("malformed")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let rule = name.split_once("--").expect("RULE--what").0;
        let refused = refused_by(&std::fs::read(&p).unwrap());
        assert!(refused.iter().any(|r| r == rule), "{name}: {refused:?}");
        malformed += 1;
    }
    assert!(
        valid >= 12 && malformed >= 12,
        "{valid} valid, {malformed} malformed"
    );
}

#[test]
fn capture_of_a_standalone_2_0_master_data_document_upserts_its_locations() {
    let db = TestDb::create();
    for rel in [
        "valid/v20-masterdata-document.xml",
        "valid/v12-masterdata-document.xml",
    ] {
        let report = capture::capture(&mut db.conn(), &read(rel)[..], &options()).unwrap();
        assert_eq!(
            report.outcome,
            Outcome::Accepted,
            "{rel}: {:?}",
            report.errors
        );
        assert_eq!(report.event_count, 0);
    }
    let named = |name: &str| {
        scalar(
            &db.url,
            &format!("SELECT count(*) FROM locations WHERE name = '{name}' AND gln IS NOT NULL"),
        )
    };
    assert_eq!(named("Example Wholesale DC East"), 1);
    assert_eq!(named("Example Pharma Plant 2"), 1);
    assert_eq!(
        scalar(
            &db.url,
            "SELECT count(*) FROM trade_items WHERE gtin = '10614141073464'"
        ),
        1
    );
}

#[test]
fn capture_stores_non_uri_locations_parties_and_transactions_as_given_with_data_quality_warnings() {
    let db = TestDb::create();
    let doc = read("valid/v12-non-uri-locations-and-transactions.xml");
    let report = capture::capture(&mut db.conn(), &doc[..], &options()).unwrap();
    assert_eq!(report.outcome, Outcome::Accepted, "{:?}", report.errors);
    // (The unknown container also gets DSCSA-B-002: nothing commissioned it here.)
    let mut rules: Vec<&str> = report
        .warnings
        .iter()
        .map(|w| w.rule.as_str())
        .filter(|r| r.starts_with("EPCIS-"))
        .collect();
    rules.sort_unstable();
    assert_eq!(
        rules,
        [
            "EPCIS-I-004",
            "EPCIS-I-005",
            "EPCIS-I-005",
            "EPCIS-I-005",
            "EPCIS-I-005"
        ]
    );
    let count = |sql: &str| scalar(&db.url, sql);
    assert_eq!(
        count("SELECT count(*) FROM events WHERE read_point = 'N/A' AND biz_location = 'urn:epc:id:sgln:0614141.0734.0'"),
        1
    );
    assert_eq!(
        count("SELECT count(*) FROM event_biz_transactions WHERE bt_id = 'PO-4711'"),
        1
    );
    assert_eq!(
        count("SELECT count(*) FROM event_sources_destinations WHERE party IN ('ACME-DC-01', '0012345000058')"),
        2
    );
    // The shipped container's owner is the party as given; its location the SGLN-less value.
    assert_eq!(
        count("SELECT count(*) FROM serials WHERE owner = '0012345000058' AND location = 'urn:epc:id:sgln:0614141.0734.0'"),
        1
    );
    // The document row keeps the warnings.
    assert_eq!(
        count("SELECT count(*) FROM documents, jsonb_array_elements(warnings) w WHERE w->>'rule' = 'EPCIS-I-005'"),
        4
    );
}

#[test]
fn capture_stores_quantities_of_epc_pattern_classes() {
    let db = TestDb::create();
    let report = capture::capture(
        &mut db.conn(),
        &read("valid/v12-idpat-quantities.xml")[..],
        &options(),
    )
    .unwrap();
    assert_eq!(report.outcome, Outcome::Accepted, "{:?}", report.errors);
    assert_eq!(
        scalar(
            &db.url,
            "SELECT count(*) FROM event_epcs WHERE epc_key = 'urn:epc:idpat:grai:0614141.12345.*' AND quantity = 24"
        ),
        1
    );
}

#[tokio::test]
async fn capture_endpoints_take_json_ld_refuse_other_media_types_and_documents_show_data_quality_findings(
) {
    use crate::tls_fixture::spawn_partner_app;
    use dscsa_exchange::partners::Role;
    let app = spawn_partner_app().await;
    let (_, partner, _) = app.partner("0614141000005", Role::TradingPartner).await;
    // JSON-LD, once refused with 415 (EPCIS-X-013), is captured; the body decides the reader.
    let json = read("valid/v20-json-ld-document.json");
    let answer = app
        .post_as(
            &partner,
            "/epcis/capture",
            "application/ld+json",
            json.clone(),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["eventCount"], 1, "{}", answer.body);
    let answer = app
        .post_as(&partner, "/capture", "application/json", json.clone())
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    for path in ["/epcis/capture", "/capture"] {
        let answer = app
            .post_as(&partner, path, "text/plain", json.clone())
            .await;
        assert_eq!(answer.status, 415, "{path}");
        let detail = answer.body["detail"].as_str().unwrap();
        assert!(detail.contains("application/ld+json"), "{detail}");
    }
    let answer = app
        .capture(
            &partner,
            read("valid/v12-non-uri-locations-and-transactions.xml"),
        )
        .await;
    assert_eq!(answer.status, 201);
    let report = answer.body;
    let warned = report["warnings"].as_array().unwrap();
    assert!(
        warned.iter().any(|w| w["rule"] == "EPCIS-I-005"),
        "{report}"
    );
    let location = format!("/documents/{}", report["documentId"].as_str().unwrap());
    let doc = app.get_as(&partner, &location).await.body;
    let quality = doc["dataQuality"].as_array().expect("dataQuality");
    assert_eq!(quality.len(), 5, "{doc}");
    assert!(
        quality[0]["message"].as_str().unwrap().contains("N/A"),
        "{doc}"
    );
    // A standalone master-data document over HTTP.
    let answer = app
        .capture(&partner, read("valid/v20-masterdata-document.xml"))
        .await;
    assert_eq!(answer.status, 201);
}
