//! EPCIS capture into a real PostgreSQL: the corpus, a DSCSA shipment, atomicity, idempotency,
//! and one test per business rule.

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use dscsa_exchange::capture::{self, CaptureOptions, CaptureReport, ErrorBehaviour, Outcome};
use dscsa_exchange::store::capture::count;

use crate::helpers::TestDb;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/epcis")
}

pub(crate) fn options(behaviour: ErrorBehaviour) -> CaptureOptions {
    let mut o = CaptureOptions::new(&std::env::temp_dir().join("dscsa-test-spool"));
    o.behaviour = behaviour;
    o
}

pub(crate) fn capture_with(db: &TestDb, xml: &[u8], behaviour: ErrorBehaviour) -> CaptureReport {
    capture::capture(&mut db.conn(), xml, &options(behaviour)).unwrap()
}

pub(crate) fn capture(db: &TestDb, xml: &[u8]) -> CaptureReport {
    capture_with(db, xml, ErrorBehaviour::Rollback)
}

pub(crate) fn rules(findings: &[capture::Finding]) -> Vec<&str> {
    let mut r: Vec<&str> = findings.iter().map(|f| f.rule.as_str()).collect();
    r.sort();
    r.dedup();
    r
}

pub(crate) fn rows(db: &TestDb, table: &str) -> i64 {
    count(&mut db.conn(), table).unwrap()
}

#[derive(QueryableByName, Debug)]
pub(crate) struct State {
    #[diesel(sql_type = diesel::sql_types::SmallInt)]
    pub(crate) status: i16,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub(crate) parent: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub(crate) top: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub(crate) owner: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub(crate) lot: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub(crate) duplicate: bool,
}

pub(crate) fn state(db: &TestDb, key: &str) -> State {
    diesel::sql_query(
        "SELECT s.status, p.epc_key AS parent, t.epc_key AS top, s.owner, s.lot, s.duplicate \
         FROM serial_state s LEFT JOIN serials p ON p.id = s.parent_id \
         LEFT JOIN serials t ON t.id = s.top_id WHERE s.epc_key = $1",
    )
    .bind::<diesel::sql_types::Text, _>(key)
    .get_result(&mut db.conn())
    .unwrap_or_else(|e| panic!("no serial {key}: {e}"))
}

// ---- small EPCIS 1.2 documents -------------------------------------------------------------

const ITEM_PREFIX: &str = "urn:epc:id:sgtin:0361414.012345.";
pub(crate) fn item(n: u32) -> String {
    format!("{ITEM_PREFIX}S{n}")
}
pub(crate) fn item_key(n: u32) -> String {
    format!("010036141412345821S{n}")
}
pub(crate) const CASE: &str = "urn:epc:id:sscc:0361414.1000000001";
pub(crate) const CASE_KEY: &str = "00103614140000000015";
pub(crate) const CASE2: &str = "urn:epc:id:sscc:0361414.1000000002";

pub(crate) fn doc(header: &str, events: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:cbvmda="urn:epcglobal:cbv:mda"
  xmlns:sbdh="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
  xmlns:gs1ushc="http://epcis.gs1us.org/hc/ns" schemaVersion="1.2" creationDate="2025-01-01T00:00:00Z">{header}
<EPCISBody><EventList>{events}
</EventList></EPCISBody></epcis:EPCISDocument>"#
    )
    .into_bytes()
}

pub(crate) fn epc_list(epcs: &[String]) -> String {
    epcs.iter().map(|e| format!("<epc>{e}</epc>")).collect()
}

pub(crate) fn commission(minute: u32, epcs: &[String], lot: &str) -> String {
    format!(
        "<ObjectEvent><eventTime>2025-01-01T08:{minute:02}:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>\
         <epcList>{}</epcList><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>\
         <disposition>urn:epcglobal:cbv:disp:active</disposition>\
         <extension><ilmd><cbvmda:lotNumber>{lot}</cbvmda:lotNumber><cbvmda:itemExpirationDate>2028-12-31</cbvmda:itemExpirationDate></ilmd></extension>\
         </ObjectEvent>",
        epc_list(epcs)
    )
}

pub(crate) fn aggregation(minute: u32, action: &str, parent: &str, children: &[String]) -> String {
    format!(
        "<AggregationEvent><eventTime>2025-01-01T08:{minute:02}:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>\
         <parentID>{parent}</parentID><childEPCs>{}</childEPCs><action>{action}</action>\
         <bizStep>urn:epcglobal:cbv:bizstep:{}</bizStep></AggregationEvent>",
        epc_list(children),
        if action == "ADD" { "packing" } else { "unpacking" }
    )
}

pub(crate) fn object(minute: u32, action: &str, epcs: &[String], step: &str) -> String {
    format!(
        "<ObjectEvent><eventTime>2025-01-01T08:{minute:02}:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>\
         <epcList>{}</epcList><action>{action}</action><bizStep>urn:epcglobal:cbv:bizstep:{step}</bizStep></ObjectEvent>",
        epc_list(epcs)
    )
}

// ---- tests ----------------------------------------------------------------------------------

#[test]
fn every_corpus_file_is_captured_or_rejected_by_the_right_rule() {
    let db = TestDb::create();
    for dir in ["epcis12", "epcis20xml"] {
        let mut files: Vec<_> = std::fs::read_dir(fixtures().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        files.sort();
        assert!(!files.is_empty());
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let report = capture(&db, &bytes);
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with("eecc-") {
                // Five of its events are dated 2029: refused as events in the future, and
                // nothing else is wrong with it.
                assert_eq!(report.outcome, Outcome::Rejected, "{name}");
                assert_eq!(
                    rules(&report.errors),
                    vec!["DSCSA-B-011"],
                    "{name}: {:?}",
                    report.errors
                );
            } else {
                assert!(
                    matches!(report.outcome, Outcome::Accepted),
                    "{name}: {:?} {:?}",
                    report.outcome,
                    report.errors
                );
            }
        }
    }
    // Proceed stores the 28 events that are not in the future.
    let eecc = std::fs::read(fixtures().join("epcis12/eecc-supply-chain-33-events.xml")).unwrap();
    let report = capture_with(&TestDb::create(), &eecc, ErrorBehaviour::Proceed);
    assert_eq!(report.outcome, Outcome::PartiallyAccepted);
    assert_eq!(report.event_count, 28);
}

#[test]
fn a_dscsa_shipment_leaves_every_serial_shipped_inside_its_pallet() {
    let db = TestDb::create();
    let bytes = std::fs::read(fixtures().join("generated/dscsa-shipment-200.xml")).unwrap();
    let report = capture(&db, &bytes);
    assert_eq!(report.outcome, Outcome::Accepted, "{:?}", report.errors);
    assert_eq!(report.event_count, 14);
    assert_eq!(report.epc_count, 430);
    assert_eq!(report.serials_created, 210);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(rows(&db, "serials"), 210);
    assert_eq!(rows(&db, "event_epcs"), 430);
    assert_eq!(
        rows(&db, "trade_items"),
        2,
        "item and case products from the master data"
    );

    // Every item and case: shipped (3), inside the pallet, owned by the buyer.
    let pallet = "00603276115830547336".to_string();
    #[derive(QueryableByName)]
    struct Summary {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let shipped_inside: Summary = diesel::sql_query(
        "SELECT count(*) AS n FROM serial_state s JOIN serials t ON t.id = s.top_id \
         WHERE s.status = 3 AND t.epc_key = $1 AND s.owner = '4140696853000009'",
    )
    .bind::<diesel::sql_types::Text, _>(&pallet)
    .get_result(&mut db.conn())
    .unwrap();
    assert_eq!(shipped_inside.n, 209, "200 items and 9 cases");
    let p = state(&db, &pallet);
    assert_eq!(
        (p.status, p.owner.as_deref()),
        (3, Some("4140696853000009"))
    );
    // The document and its raw bytes are kept.
    let archived: Vec<u8> = dscsa_exchange::store::schema::document_chunks::table
        .order(dscsa_exchange::store::schema::document_chunks::seq)
        .select(dscsa_exchange::store::schema::document_chunks::data)
        .load::<Vec<u8>>(&mut db.conn())
        .unwrap()
        .concat();
    assert_eq!(archived, bytes);
}

#[test]
fn capturing_the_same_document_twice_stores_it_once() {
    let db = TestDb::create();
    let bytes = std::fs::read(fixtures().join("generated/dscsa-shipment-200.xml")).unwrap();
    let first = capture(&db, &bytes);
    let second = capture(&db, &bytes);
    assert_eq!(second.outcome, Outcome::Duplicate);
    assert_eq!(second.duplicate_of, Some(first.document_id));
    assert_eq!(rows(&db, "events"), 14);
    assert_eq!(rows(&db, "documents"), 1);
}

#[test]
fn the_same_event_in_another_document_is_stored_once() {
    let db = TestDb::create();
    let event = commission(1, &[item(1)], "L1");
    capture(&db, &doc("", &event));
    // Same event, different document bytes (a second event added).
    let report = capture(
        &db,
        &doc("", &format!("{event}{}", commission(2, &[item(2)], "L1"))),
    );
    assert_eq!(report.outcome, Outcome::Accepted);
    assert_eq!(report.duplicate_events, 1);
    assert_eq!(rules(&report.warnings), vec!["DSCSA-B-012"]);
    assert_eq!(rows(&db, "events"), 2);
    assert!(
        !state(&db, &item_key(1)).duplicate,
        "a resent event is not a second commissioning"
    );
}

#[test]
fn a_rejected_document_stores_no_event_and_no_state_but_is_archived() {
    let db = TestDb::create();
    let future = "<ObjectEvent><eventTime>2099-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>\
                  <epcList><epc>urn:epc:id:sgtin:0361414.012345.S9</epc></epcList><action>OBSERVE</action></ObjectEvent>";
    let bytes = doc(
        "",
        &format!("{}{future}", commission(1, &[item(1), item(2)], "L1")),
    );
    let report = capture(&db, &bytes);
    assert_eq!(report.outcome, Outcome::Rejected);
    let e = &report.errors[0];
    // Where the refused event starts, computed from the document itself.
    let text = String::from_utf8(bytes.clone()).unwrap();
    let at = text.find("<ObjectEvent><eventTime>2099").unwrap();
    let line = text[..at].matches('\n').count() as u32 + 1;
    let column = (at - text[..at].rfind('\n').map_or(0, |i| i + 1)) as u32 + 1;
    assert_eq!(
        (e.rule.as_str(), e.event_index, e.line, e.column),
        ("DSCSA-B-011", Some(1), line, column)
    );
    assert_eq!(rows(&db, "events"), 0);
    assert_eq!(rows(&db, "event_epcs"), 0);
    assert_eq!(rows(&db, "serials"), 0);
    assert_eq!(rows(&db, "documents"), 1);
    assert_eq!(rows(&db, "document_chunks"), 1);
    // Fixed and sent again, it is accepted (a rejected copy does not block it).
    let fixed = doc("", &commission(1, &[item(1), item(2)], "L1"));
    assert_eq!(capture(&db, &fixed).outcome, Outcome::Accepted);
}

#[test]
fn commissioning_an_already_commissioned_serial_flags_it_as_a_duplicate() {
    let db = TestDb::create();
    capture(&db, &doc("", &commission(1, &[item(1)], "L1")));
    let again = capture(&db, &doc("", &commission(5, &[item(1)], "L1")));
    assert_eq!(again.outcome, Outcome::Accepted);
    assert_eq!(rules(&again.warnings), vec!["DSCSA-B-001"]);
    assert!(state(&db, &item_key(1)).duplicate);
}

#[test]
fn commissioning_with_another_lot_than_stored_is_refused() {
    let db = TestDb::create();
    capture(&db, &doc("", &commission(1, &[item(1)], "L1")));
    let report = capture(&db, &doc("", &commission(5, &[item(1)], "L2")));
    assert_eq!(report.outcome, Outcome::Rejected);
    assert!(
        rules(&report.errors).contains(&"DSCSA-B-009"),
        "{:?}",
        report.errors
    );
    assert_eq!(state(&db, &item_key(1)).lot.as_deref(), Some("L1"));
    assert!(
        !state(&db, &item_key(1)).duplicate,
        "the rejected document changed nothing"
    );
}

#[test]
fn packing_a_child_that_is_inside_another_parent_is_refused() {
    let db = TestDb::create();
    let events = format!(
        "{}{}",
        commission(1, &[item(1), CASE.into(), CASE2.into()], "L1"),
        aggregation(2, "ADD", CASE, &[item(1)])
    );
    capture(&db, &doc("", &events));
    assert_eq!(state(&db, &item_key(1)).parent.as_deref(), Some(CASE_KEY));
    let report = capture(&db, &doc("", &aggregation(3, "ADD", CASE2, &[item(1)])));
    assert_eq!(report.outcome, Outcome::Rejected);
    assert_eq!(rules(&report.errors), vec!["DSCSA-B-004"]);
}

#[test]
fn shipping_a_decommissioned_serial_is_refused() {
    let db = TestDb::create();
    let events = format!(
        "{}{}",
        commission(1, &[item(1)], "L1"),
        object(2, "DELETE", &[item(1)], "decommissioning")
    );
    capture(&db, &doc("", &events));
    assert_eq!(state(&db, &item_key(1)).status, 6);
    let report = capture(&db, &doc("", &object(3, "OBSERVE", &[item(1)], "shipping")));
    assert_eq!(report.outcome, Outcome::Rejected);
    assert_eq!(rules(&report.errors), vec!["DSCSA-B-003"]);
}

#[test]
fn events_that_arrive_before_the_commissioning_are_completed_by_it() {
    let db = TestDb::create();
    // Packing and shipping arrive first (another document, or earlier in this one).
    let early = format!(
        "{}{}",
        aggregation(2, "ADD", CASE, &[item(1), item(2)]),
        object(3, "OBSERVE", &[CASE.into()], "shipping")
    );
    let report = capture(&db, &doc("", &early));
    assert_eq!(report.outcome, Outcome::Accepted);
    assert_eq!(rules(&report.warnings), vec!["DSCSA-B-002"]);
    assert_eq!(
        state(&db, &item_key(1)).status,
        8,
        "unknown until commissioned"
    );
    // The commissioning arrives later: not a duplicate, and the containment is kept. It is
    // older than the packing and the shipping, so the item is shipped in its case (state
    // follows event time; by capture order it read "commissioned").
    let late = capture(
        &db,
        &doc("", &commission(1, &[item(1), item(2), CASE.into()], "L1")),
    );
    assert_eq!(late.outcome, Outcome::Accepted);
    assert!(late.warnings.is_empty(), "{:?}", late.warnings);
    let s = state(&db, &item_key(1));
    assert_eq!(
        (s.status, s.parent.as_deref(), s.duplicate),
        (3, Some(CASE_KEY), false)
    );
    assert_eq!(s.lot.as_deref(), Some("L1"));
}

#[test]
fn shipping_a_case_ships_what_is_inside_and_unpacking_empties_it() {
    let db = TestDb::create();
    let events = format!(
        "{}{}{}",
        commission(1, &[item(1), item(2), CASE.into()], "L1"),
        aggregation(2, "ADD", CASE, &[item(1), item(2)]),
        object(3, "OBSERVE", &[CASE.into()], "shipping")
    );
    capture(&db, &doc("", &events));
    let s = state(&db, &item_key(2));
    assert_eq!((s.status, s.top.as_deref()), (3, Some(CASE_KEY)));
    // Receiving, then unpacking with no children named: the case is emptied.
    let events = format!(
        "{}{}",
        object(4, "OBSERVE", &[CASE.into()], "receiving"),
        aggregation(5, "DELETE", CASE, &[])
    );
    assert_eq!(capture(&db, &doc("", &events)).outcome, Outcome::Accepted);
    for n in [1, 2] {
        let s = state(&db, &item_key(n));
        assert_eq!((s.status, s.parent, s.top), (4, None, None), "item {n}");
    }
}

#[test]
fn unpacking_all_of_a_case_packed_earlier_in_the_same_document_empties_it() {
    // The contents of a container are found through its packing events (migration 10 dropped
    // the index on parent_id): the packing, in the same batch, must be found too.
    let db = TestDb::create();
    let events = format!(
        "{}{}{}{}",
        commission(1, &[item(1), item(2), CASE.into()], "L1"),
        aggregation(2, "ADD", CASE, &[item(1), item(2)]),
        aggregation(3, "DELETE", CASE, &[]),
        object(4, "OBSERVE", &[CASE.into()], "shipping")
    );
    assert_eq!(capture(&db, &doc("", &events)).outcome, Outcome::Accepted);
    for n in [1, 2] {
        let s = state(&db, &item_key(n));
        assert_eq!((s.status, s.parent, s.top), (1, None, None), "item {n}");
    }
    assert_eq!(state(&db, CASE_KEY).status, 3);
}

/// The same event with a 1.2 error declaration (not part of the event hash, so it names the
/// stored event it retracts).
pub(crate) fn declared(event: &str) -> String {
    event.replacen(
        "</eventTimeZoneOffset>",
        "</eventTimeZoneOffset><baseExtension><errorDeclaration>\
         <declarationTime>2025-01-02T00:00:00Z</declarationTime>\
         <reason>urn:epcglobal:cbv:er:incorrect_data</reason></errorDeclaration></baseExtension>",
        1,
    )
}

#[test]
fn an_error_declaration_undoes_a_wrong_packing_so_the_right_one_is_accepted() {
    let db = TestDb::create();
    let wrong = aggregation(2, "ADD", CASE, &[item(1)]);
    let events = format!(
        "{}{wrong}",
        commission(1, &[item(1), CASE.into(), CASE2.into()], "L1")
    );
    capture(&db, &doc("", &events));
    // Retracted and packed right in one document: the packing sees the rebuilt state.
    let events = format!(
        "{}{}",
        declared(&wrong),
        aggregation(3, "ADD", CASE2, &[item(1)])
    );
    let report = capture(&db, &doc("", &events));
    assert_eq!(report.outcome, Outcome::Accepted, "{:?}", report.errors);
    assert_eq!(report.events_retracted, 1);
    let s = state(&db, &item_key(1));
    assert_eq!(
        (s.status, s.parent.as_deref()),
        (2, Some("00103614140000000022"))
    );
    // The wrong event is kept, marked.
    let marked: i64 = rows(&db, "events WHERE retracted_by IS NOT NULL");
    assert_eq!(marked, 1);
}

#[test]
fn an_error_declaration_of_a_decommissioning_puts_the_serial_back_in_circulation() {
    let db = TestDb::create();
    let wrong = object(2, "DELETE", &[item(1)], "decommissioning");
    let events = format!(
        "{}{}{wrong}",
        commission(1, &[item(1), CASE.into()], "L1"),
        object(2, "OBSERVE", &[item(1)], "receiving")
    );
    capture(&db, &doc("", &events));
    assert_eq!(state(&db, &item_key(1)).status, 6);
    assert_eq!(
        capture(&db, &doc("", &declared(&wrong))).events_retracted,
        1
    );
    let s = state(&db, &item_key(1));
    assert_eq!((s.status, s.lot.as_deref()), (4, Some("L1")));
    let report = capture(&db, &doc("", &object(3, "OBSERVE", &[item(1)], "shipping")));
    assert_eq!(report.outcome, Outcome::Accepted, "{:?}", report.errors);
    assert_eq!(state(&db, &item_key(1)).status, 3);
}

#[test]
fn an_error_declaration_of_a_destroyed_case_restores_what_is_inside() {
    let db = TestDb::create();
    let wrong = object(3, "DELETE", &[CASE.into()], "destroying");
    let events = format!(
        "{}{}{}{wrong}",
        commission(1, &[item(1), item(2), CASE.into()], "L1"),
        aggregation(2, "ADD", CASE, &[item(1), item(2)]),
        object(2, "OBSERVE", &[CASE.into()], "shipping")
    );
    capture(&db, &doc("", &events));
    assert_eq!(
        state(&db, &item_key(2)).status,
        7,
        "destroyed with its case"
    );
    capture(&db, &doc("", &declared(&wrong)));
    for n in [1, 2] {
        let s = state(&db, &item_key(n));
        assert_eq!(
            (s.status, s.top.as_deref()),
            (3, Some(CASE_KEY)),
            "item {n}"
        );
    }
}

#[test]
fn an_error_declaration_of_a_second_commissioning_clears_the_duplicate_flag() {
    let db = TestDb::create();
    capture(&db, &doc("", &commission(1, &[item(1)], "L1")));
    let again = commission(5, &[item(1)], "L1");
    capture(&db, &doc("", &again));
    assert!(state(&db, &item_key(1)).duplicate);
    capture(&db, &doc("", &declared(&again)));
    assert!(!state(&db, &item_key(1)).duplicate);
}

#[test]
fn an_error_declaration_of_the_only_commissioning_removes_the_serial() {
    let db = TestDb::create();
    let wrong = commission(1, &[item(1)], "L1");
    capture(
        &db,
        &doc("", &format!("{wrong}{}", commission(1, &[item(2)], "L1"))),
    );
    capture(&db, &doc("", &declared(&wrong)));
    assert_eq!(
        rows(&db, "serials"),
        1,
        "item 2 stays, item 1 never existed"
    );
}

#[test]
fn an_error_declaration_of_an_unknown_event_is_stored_with_a_warning() {
    let db = TestDb::create();
    capture(&db, &doc("", &commission(1, &[item(1)], "L1")));
    let report = capture(&db, &doc("", &declared(&commission(9, &[item(1)], "L1"))));
    assert_eq!(report.outcome, Outcome::Accepted);
    assert_eq!(rules(&report.warnings), vec!["DSCSA-B-014"]);
    assert_eq!(report.events_retracted, 0);
    assert_eq!(state(&db, &item_key(1)).status, 1);
}

#[test]
fn a_dscsa_shipment_without_transaction_statement_is_refused() {
    let db = TestDb::create();
    let header = "<EPCISHeader><sbdh:StandardBusinessDocumentHeader><sbdh:HeaderVersion>1.0</sbdh:HeaderVersion>\
        <sbdh:Sender><sbdh:Identifier Authority=\"SGLN\">urn:epc:id:sgln:0361414.00000.0</sbdh:Identifier></sbdh:Sender>\
        <sbdh:Receiver><sbdh:Identifier Authority=\"SGLN\">urn:epc:id:sgln:0312345.00000.0</sbdh:Identifier></sbdh:Receiver>\
        <sbdh:DocumentIdentification><sbdh:Standard>EPCglobal</sbdh:Standard><sbdh:TypeVersion>1.0</sbdh:TypeVersion>\
        <sbdh:InstanceIdentifier>1</sbdh:InstanceIdentifier><sbdh:Type>Events</sbdh:Type>\
        <sbdh:CreationDateAndTime>2025-01-01T00:00:00Z</sbdh:CreationDateAndTime></sbdh:DocumentIdentification>\
        </sbdh:StandardBusinessDocumentHeader><gs1ushc:guidelineVersion>1.2</gs1ushc:guidelineVersion></EPCISHeader>";
    let events = format!(
        "{}{}",
        commission(1, &[item(1)], "L1"),
        object(2, "OBSERVE", &[item(1)], "shipping")
    );
    let report = capture(&db, &doc(header, &events));
    assert_eq!(report.outcome, Outcome::Rejected);
    assert!(
        rules(&report.errors).contains(&"DSCSA-B-006"),
        "{:?}",
        report.errors
    );
    // The same shipment outside a DSCSA document is fine.
    assert_eq!(capture(&db, &doc("", &events)).outcome, Outcome::Accepted);
}

#[tokio::test]
async fn capture_over_mutual_tls_then_verify_the_captured_package() {
    use crate::tls_fixture::spawn_partner_app;
    use dscsa_exchange::partners::Role;
    let app = spawn_partner_app().await;
    let (_, manufacturer, _) = app.partner("0361414000018", Role::TradingPartner).await;
    let (_, regulator, _) = app.partner("0312345000004", Role::Regulator).await;
    let bytes = std::fs::read(fixtures().join("generated/dscsa-shipment-200.xml")).unwrap();

    let answer = app.capture(&manufacturer, bytes.clone()).await;
    assert_eq!(answer.status, 201);
    assert!(answer.location.unwrap().starts_with("/documents/"));
    let report = answer.body;
    assert_eq!(report["outcome"], "accepted");
    assert_eq!(report["eventsByType"]["AggregationEvent"], 10);
    assert_eq!(report["epcCount"], 430);

    // The sender reads its document; another trading partner cannot see it; a regulator can.
    let location = format!("/documents/{}", report["documentId"].as_str().unwrap());
    let mine = app.get_as(&manufacturer, &location).await.body;
    assert_eq!(
        (&mine["status"], &mine["eventCount"]),
        (&serde_json::json!("accepted"), &serde_json::json!(14))
    );
    let (_, other, _) = app.partner("0999990000018", Role::TradingPartner).await;
    assert_eq!(app.get_as(&other, &location).await.status, 404);
    assert_eq!(app.get_as(&regulator, &location).await.status, 200);

    // The resend: 409 with the original document.
    let answer = app.capture(&manufacturer, bytes.clone()).await;
    assert_eq!(answer.status, 409);
    let problem = answer.body;
    assert_eq!(problem["code"], "duplicate-document");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains(report["documentId"].as_str().unwrap()));

    // A broken document: 400 with every error, with line and column.
    let answer = app.capture(&manufacturer, BROKEN).await;
    assert_eq!(answer.status, 400);
    let problem = answer.body;
    assert_eq!(problem["code"], "document-rejected");
    let errors = problem["errors"].as_array().unwrap();
    assert!(errors.len() >= 2, "{problem}");
    assert!(errors
        .iter()
        .all(|e| e["line"] == 1 && e["column"].as_u64().unwrap() > 1));

    // Only trading partners (and admins) send documents; EPCIS media types only. A JSON body
    // is read as JSON-LD: `{}` is no EPCIS document (400, with its findings).
    assert_eq!(app.capture(&regulator, bytes.clone()).await.status, 403);
    let json = app
        .post_as(&manufacturer, "/epcis/capture", "application/json", "{}")
        .await;
    assert_eq!(json.status, 400, "{}", json.body);
    assert_eq!(json.body["code"], "document-rejected");
    let text = app
        .post_as(&manufacturer, "/epcis/capture", "text/plain", "{}")
        .await;
    assert_eq!(text.status, 415);

    // A captured package verifies: GTIN 00327611808277, first item serial, lot and expiry of
    // the generator's product.
    let path = "/verify/gtin/00327611808277/lot/D63944/ser/1vrORcmn0iSH?exp=260506&linkType=verificationService";
    let answer = app.verify(&regulator, path).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["data"]["verified"], true, "{}", answer.body);
    let wrong_lot = "/verify/gtin/00327611808277/lot/OTHER/ser/1vrORcmn0iSH?exp=260506&linkType=verificationService";
    assert_eq!(
        app.verify(&regulator, wrong_lot).await.body["data"]["verificationFailureReason"],
        "No_match_GTIN_Serial_Lot"
    );
}

/// A document the reader refuses twice on its first line (an event time that is no time, and
/// no action).
pub(crate) const BROKEN: &[u8] = b"<epcis:EPCISDocument xmlns:epcis=\"urn:epcglobal:epcis:xsd:1\" schemaVersion=\"1.2\" creationDate=\"2025-01-01T00:00:00Z\"><EPCISBody><EventList><ObjectEvent><eventTime>yesterday</eventTime></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>";

#[tokio::test]
async fn the_epcis_2_capture_job_api_accepts_then_reports() {
    use crate::tls_fixture::spawn_partner_app;
    use dscsa_exchange::partners::Role;
    let app = spawn_partner_app().await;
    let (_, sender, _) = app.partner("0361414000018", Role::TradingPartner).await;
    let (_, other, _) = app.partner("0999990000018", Role::TradingPartner).await;
    let bytes = std::fs::read(fixtures().join("generated/dscsa-shipment-200.xml")).unwrap();

    let poll = |location: String| {
        let (app, sender) = (&app, &sender);
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                let job = app.get_as(sender, &location).await.body;
                if job["running"] == false || std::time::Instant::now() > deadline {
                    return job;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };

    let answer = app.post_xml(&sender, "/capture", bytes.clone()).await;
    assert_eq!(answer.status, 202);
    let location = answer.location.unwrap();
    assert!(location.starts_with("/capture/"));
    let job = poll(location.clone()).await;
    assert_eq!(
        (&job["running"], &job["success"]),
        (&serde_json::json!(false), &serde_json::json!(true)),
        "{job}"
    );
    assert_eq!(job["report"]["eventCount"], 14);
    assert_eq!(job["captureErrorBehaviour"], "rollback");
    // The job is its sender's: another partner does not see it.
    assert_eq!(app.get_as(&other, &location).await.status, 404);
    // The captured document is the job's id.
    let id = location.trim_start_matches("/capture/");
    let document = format!("/documents/{id}");
    assert_eq!(app.get_as(&sender, &document).await.status, 200);

    // A document the rules refuse: the job finishes with success false and every error.
    let broken = doc("", &format!(
        "{}<ObjectEvent><eventTime>2099-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList/><action>OBSERVE</action></ObjectEvent>",
        commission(1, &[item(7)], "L7")
    ));
    let answer = app.post_xml(&sender, "/capture", broken).await;
    assert_eq!(answer.status, 202);
    let job = poll(answer.location.unwrap()).await;
    assert_eq!(job["success"], false, "{job}");
    assert_eq!(job["errors"][0]["rule"], "DSCSA-B-011");
}

#[tokio::test]
async fn documents_over_the_configured_size_limit_are_refused() {
    use crate::tls_fixture::{spawn_partner_app_with, tls_settings};
    use dscsa_exchange::partners::Role;
    let db = tokio::task::spawn_blocking(TestDb::create).await.unwrap();
    let mut settings = tls_settings(&db.url);
    settings.capture_limits.max_bytes = 10_000;
    let app = spawn_partner_app_with(db, settings).await;
    let (_, sender, _) = app.partner("0361414000018", Role::TradingPartner).await;
    let bytes = std::fs::read(fixtures().join("generated/dscsa-shipment-200.xml")).unwrap();
    assert!(bytes.len() > 10_000);
    // Synchronous capture: the reader stops at the limit; the problem names the rule.
    let answer = app.capture(&sender, bytes.clone()).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["errors"][0]["rule"], "EPCIS-X-004",
        "{}",
        answer.body
    );
    // Capture job: refused before anything is queued.
    let answer = app.post_xml(&sender, "/capture", bytes.clone()).await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.body["code"], "capture-limit-exceeded");
    assert_eq!(
        crate::helpers::scalar(&app.app.db.url, "SELECT count(*) FROM events"),
        0
    );
}

// ---- huge events: lists spilled to disk ----------------------------------------------------

/// What the captures left in the database, comparable across runs (ids and document ids
/// differ; event hashes and positions do not).
pub(crate) fn fingerprint(db: &TestDb) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text)]
        line: String,
    }
    let mut out = Vec::new();
    for sql in [
        "SELECT concat_ws('|', 'serial', s.epc_key, s.kind, s.gtin, s.serial_number, s.lot, \
                s.expiry, s.status, s.disposition, p.epc_key, s.owner, s.location, \
                s.commission_count, s.duplicate, s.commissioned_at, encode(e.event_hash, 'hex')) \
                AS line \
           FROM serials s LEFT JOIN serials p ON p.id = s.parent_id \
           LEFT JOIN events e ON e.id = s.last_event_id",
        "SELECT concat_ws('|', 'epc', e.seq, encode(e.event_hash, 'hex'), x.role, x.epc_key) \
                AS line FROM event_epcs x JOIN events e ON e.id = x.event_id",
        "SELECT concat_ws('|', 'event', seq, encode(event_hash, 'hex'), event_type, action, \
                retracted_by IS NULL, error_declaration_time) AS line FROM events",
    ] {
        let mut lines: Vec<String> = diesel::sql_query(sql)
            .load::<Line>(&mut db.conn())
            .unwrap()
            .into_iter()
            .map(|l| l.line)
            .collect();
        lines.sort();
        out.extend(lines);
    }
    out
}

/// A report without what legitimately differs: ids, and how repeated identifiers are listed
/// (one finding each in memory, one for all of an event when spilled).
fn summary(r: &CaptureReport) -> String {
    let findings = |f: &[capture::Finding]| -> Vec<String> {
        let mut v: Vec<String> = f
            .iter()
            .map(|f| match f.rule.as_str() {
                "DSCSA-B-013" => format!("{} {:?}", f.rule, f.event_index),
                _ => format!("{} {:?} {}", f.rule, f.event_index, f.message),
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    format!(
        "{:?} events {} epcs {} created {} updated {} dup {} retracted {} errors {:?} warnings {:?}",
        r.outcome,
        r.event_count,
        r.epc_count,
        r.serials_created,
        r.serials_updated,
        r.duplicate_events,
        r.events_retracted,
        findings(&r.errors),
        findings(&r.warnings)
    )
}

#[test]
fn huge_events_stored_from_disk_leave_the_same_state_as_in_memory() {
    let items: Vec<String> = (1..=14).map(item).collect();
    let mut all = items.clone();
    all.extend([CASE.to_string(), CASE2.to_string()]);
    let decommissioning = object(9, "DELETE", &[item(11)], "decommissioning");
    let mut documents: Vec<(Vec<u8>, ErrorBehaviour)> = vec![(
        std::fs::read(fixtures().join("generated/dscsa-shipment-200.xml")).unwrap(),
        ErrorBehaviour::Rollback,
    )];
    let first = [
        commission(1, &all[..13], "L1"),
        commission(2, &all[13..], "L1"),
        aggregation(3, "ADD", CASE, &items[..6]),
        aggregation(4, "ADD", CASE2, &items[6..9]),
        // Listed twice: stored once (B-013).
        object(5, "OBSERVE", &[item(10), item(12), item(10)], "inspecting"),
        object(6, "OBSERVE", &[CASE.into(), item(12)], "shipping"),
        aggregation(7, "DELETE", CASE, &items[..2]),
        // Not known here: recorded as unknown (B-002), the parent too in the second.
        aggregation(8, "ADD", CASE2, &[item(40), item(41)]),
        aggregation(
            8,
            "ADD",
            "urn:epc:id:sscc:0361414.1000000003",
            &[item(42), item(43)],
        ),
        decommissioning.clone(),
        object(10, "OBSERVE", &[CASE2.into()], "receiving"),
    ]
    .concat();
    documents.push((doc("", &first), ErrorBehaviour::Rollback));
    // Refused: a decommissioned serial shipped (B-003), a packed one packed again (B-004).
    let refused = [
        object(11, "OBSERVE", &[item(11), item(13)], "shipping"),
        aggregation(12, "ADD", CASE2, &[item(4), item(13)]),
        object(13, "OBSERVE", &[item(13), item(14)], "shipping"),
    ]
    .concat();
    documents.push((doc("", &refused), ErrorBehaviour::Rollback));
    documents.push((doc("", &refused), ErrorBehaviour::Proceed));
    // A second commissioning (B-001), a lot that disagrees (B-009), and the decommissioning
    // declared erroneous: the serial is back in circulation.
    let last = [
        commission(14, &[item(12), item(14)], "L1"),
        commission(15, &[item(13)], "L2"),
        declared(&decommissioning),
        object(16, "OBSERVE", &[item(11)], "shipping"),
    ]
    .concat();
    documents.push((doc("", &last), ErrorBehaviour::Proceed));
    // Out of order: a document listing its events by type (the packing, older than the
    // shipping of the pallet, after it), an older event arriving after a newer state, and a
    // commissioning arriving after the packing and shipping it precedes. In memory the
    // document is applied in time order; spilled, each event is stored on its own and the
    // late ones are replayed.
    let (case4, pallet5, case6) = (
        "urn:epc:id:sscc:0361414.1000000004",
        "urn:epc:id:sscc:0361414.1000000005",
        "urn:epc:id:sscc:0361414.1000000006",
    );
    let grouped_items: Vec<String> = (20..=23).map(item).collect();
    let mut grouped_all = grouped_items.clone();
    grouped_all.extend([case4.to_string(), pallet5.to_string()]);
    let by_type = [
        commission(20, &grouped_all, "L1"),
        shipped_to(29, &[pallet5.into()], OWNER),
        aggregation(25, "ADD", case4, &grouped_items[..3]),
        aggregation(26, "ADD", pallet5, &[case4.into()]),
        aggregation(24, "ADD", pallet5, &grouped_items[3..]),
    ]
    .concat();
    documents.push((doc("", &by_type), ErrorBehaviour::Rollback));
    let older = object(27, "OBSERVE", &[pallet5.into()], "inspecting");
    documents.push((doc("", &older), ErrorBehaviour::Rollback));
    let early = [
        aggregation(31, "ADD", case6, &[item(30), item(31)]),
        object(32, "OBSERVE", &[case6.into()], "shipping"),
    ]
    .concat();
    documents.push((doc("", &early), ErrorBehaviour::Rollback));
    let commissioning = commission(30, &[item(30), item(31), case6.into()], "L1");
    documents.push((doc("", &commissioning), ErrorBehaviour::Rollback));

    let run = |spill_after: usize| -> (Vec<String>, Vec<String>) {
        let db = TestDb::create();
        let mut reports = Vec::new();
        for (xml, behaviour) in &documents {
            let mut o = options(*behaviour);
            o.spill_after = spill_after;
            let r = capture::capture(&mut db.conn(), &xml[..], &o).unwrap();
            reports.push(summary(&r));
        }
        (reports, fingerprint(&db))
    };
    let (reports, state) = run(usize::MAX);
    // The documents do what the comments say (else the comparison proves little).
    let joined = reports.join("\n");
    for rule in ["B-001", "B-002", "B-003", "B-004", "B-009", "B-013"] {
        assert!(joined.contains(rule), "{rule} missing from\n{joined}");
    }
    assert!(reports[2].starts_with("Rejected"), "{}", reports[2]);
    assert!(
        reports[3].starts_with("PartiallyAccepted"),
        "{}",
        reports[3]
    );
    assert!(reports[4].contains("retracted 1"), "{}", reports[4]);
    // From the first identifier on, and part-way through lists.
    for spill_after in [0, 1, 2, 5] {
        let (r, s) = run(spill_after);
        assert_eq!(r, reports, "reports, spilling after {spill_after}");
        assert_eq!(s.len(), state.len(), "rows, spilling after {spill_after}");
        for (a, b) in s.iter().zip(&state) {
            assert_eq!(a, b, "spilling after {spill_after}");
        }
    }
}

// ---- state follows event time, whatever the order of arrival --------------------------------

pub(crate) const OWNER: &str = "urn:epc:id:sgln:0312345.00000.0";

/// A shipping ObjectEvent that gives the shipped EPCs an owning party.
pub(crate) fn shipped_to(minute: u32, epcs: &[String], owner: &str) -> String {
    format!(
        "<ObjectEvent><eventTime>2025-01-01T08:{minute:02}:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>\
         <epcList>{}</epcList><action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>\
         <disposition>urn:epcglobal:cbv:disp:in_transit</disposition>\
         <extension><destinationList><destination type=\"urn:epcglobal:cbv:sdt:owning_party\">{owner}</destination>\
         </destinationList></extension></ObjectEvent>",
        epc_list(epcs)
    )
}

/// Identifiers of their own for each run `ns` of the order tests (all runs share one database):
/// three items, a case and a pallet.
struct Shipment {
    items: Vec<String>,
    case: String,
    pallet: String,
}

impl Shipment {
    fn new(ns: usize) -> Shipment {
        Shipment {
            items: (1..=3)
                .map(|i| format!("urn:epc:id:sgtin:0361414.012345.N{ns}S{i}"))
                .collect(),
            case: format!("urn:epc:id:sscc:0361414.2{ns:04}00001"),
            pallet: format!("urn:epc:id:sscc:0361414.2{ns:04}00002"),
        }
    }

    /// The shipment's events, in time order: commissioning, packing into the case, the case
    /// onto the pallet, shipping the pallet, one item taken out of the case again.
    fn events(&self) -> Vec<String> {
        let mut all = self.items.clone();
        all.extend([self.case.clone(), self.pallet.clone()]);
        vec![
            commission(1, &all, "L1"),
            aggregation(2, "ADD", &self.case, &self.items),
            aggregation(3, "ADD", &self.pallet, std::slice::from_ref(&self.case)),
            shipped_to(4, std::slice::from_ref(&self.pallet), OWNER),
            aggregation(5, "DELETE", &self.case, &self.items[2..]),
        ]
    }

    /// Every stored row of the shipment's serials, own and effective (`serial_state`), with
    /// identifiers named by role so that runs compare.
    fn state(&self, db: &TestDb) -> Vec<String> {
        #[derive(QueryableByName)]
        struct Line {
            #[diesel(sql_type = diesel::sql_types::Text)]
            line: String,
        }
        let mut named: Vec<(String, String)> = self
            .items
            .iter()
            .enumerate()
            .map(|(i, e)| (e.clone(), format!("item{}", i + 1)))
            .collect();
        named.push((self.case.clone(), "case".into()));
        named.push((self.pallet.clone(), "pallet".into()));
        let labels: Vec<(String, String)> = named
            .iter()
            .map(|(e, l)| (capture::key_of(e).unwrap().key, l.clone()))
            .collect();
        labels
            .iter()
            .map(|(key, label)| {
                let line = diesel::sql_query(
                    "SELECT concat_ws('|', s.status, s.disposition, s.owner, s.location, s.lot, \
                            s.expiry, s.commission_count, s.duplicate, s.commissioned_at, \
                            p.epc_key, e.event_time, e.biz_step, e.action, v.status, \
                            v.disposition, v.owner, v.location, t.epc_key, v.last_event_time) \
                            AS line \
                       FROM serials s JOIN serial_state v ON v.id = s.id \
                       LEFT JOIN serials p ON p.id = s.parent_id \
                       LEFT JOIN serials t ON t.id = v.top_id \
                       LEFT JOIN events e ON e.id = s.last_event_id WHERE s.epc_key = $1",
                )
                .bind::<diesel::sql_types::Text, _>(key)
                .get_result::<Line>(&mut db.conn())
                .optional()
                .unwrap_or_else(|e| panic!("state of {label}: {e}"))
                .map_or_else(|| "absent".into(), |l| l.line);
                let line = labels
                    .iter()
                    .fold(line, |l, (k, name)| l.replace(k.as_str(), name));
                format!("{label}: {line}")
            })
            .collect()
    }
}

/// Every order of 0..n (Heap's algorithm).
fn permutations(n: usize) -> Vec<Vec<usize>> {
    fn heap(k: usize, a: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if k <= 1 {
            out.push(a.clone());
            return;
        }
        for i in 0..k {
            heap(k - 1, a, out);
            let j = if k % 2 == 0 { i } else { 0 };
            a.swap(j, k - 1);
        }
    }
    let mut out = Vec::new();
    heap(n, &mut (0..n).collect(), &mut out);
    out
}

fn accepted(r: &CaptureReport) {
    assert_ne!(r.outcome, Outcome::Rejected, "{:?}", r.errors);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

#[test]
fn every_order_of_a_documents_events_leaves_the_state_their_times_give() {
    let db = TestDb::create();
    let first = Shipment::new(0);
    accepted(&capture(&db, &doc("", &first.events().concat())));
    let expected = first.state(&db);
    // What the times say: items in the case on the shipped pallet are shipped to the owner;
    // the item taken out after the shipping keeps what it had inside (shipped, the owner).
    let owner_key = capture::key_of(OWNER).unwrap().key;
    for line in &expected {
        if line.starts_with("item") || line.starts_with("case") {
            assert!(
                line.contains(&format!("|3|in_transit|{owner_key}|")),
                "{line}"
            );
        }
    }
    let orders = permutations(5);
    assert_eq!(orders.len(), 120);
    for (n, order) in orders.iter().enumerate().skip(1) {
        let s = Shipment::new(n);
        let events = s.events();
        let listed: String = order.iter().map(|i| events[*i].as_str()).collect();
        accepted(&capture(&db, &doc("", &listed)));
        assert_eq!(s.state(&db), expected, "events in the order {order:?}");
    }
}

#[test]
fn events_split_over_documents_captured_in_any_order_leave_the_same_state() {
    let db = TestDb::create();
    let first = Shipment::new(0);
    for e in first.events() {
        accepted(&capture(&db, &doc("", &e)));
    }
    let expected = first.state(&db);
    for (n, order) in permutations(5).iter().enumerate().skip(1) {
        // One document per event, and the same order in two documents (2 + 3 events).
        for (run, split) in [(2 * n, false), (2 * n + 1, true)] {
            let s = Shipment::new(run);
            let events = s.events();
            let listed: Vec<&str> = order.iter().map(|i| events[*i].as_str()).collect();
            let documents: Vec<String> = if split {
                vec![listed[..2].concat(), listed[2..].concat()]
            } else {
                listed.iter().map(|e| e.to_string()).collect()
            };
            for d in &documents {
                accepted(&capture(&db, &doc("", d)));
            }
            assert_eq!(
                s.state(&db),
                expected,
                "events in the order {order:?}, {} documents",
                documents.len()
            );
        }
    }
}
