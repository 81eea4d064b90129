//! Regressions of issue 10 §7 that were about the plan PostgreSQL chose, not the result.

use crate::capture::capture;
use crate::helpers::{large_document, TestDb};
use dscsa_exchange::store::statistics;

/// A second 100,000-item document took 50 s instead of 3: the tables had grown from nothing in
/// the first capture and their statistics still said empty, so the look-up of containers
/// changed later was planned as nested loops over sequential scans. Capture now analyzes the
/// tables first when they are much bigger than their statistics say.
#[test]
fn statistics_of_tables_grown_by_a_capture_are_refreshed_by_the_next_one() {
    let db = TestDb::create();
    let mut conn = db.conn();
    assert!(!statistics::stale(&mut conn).unwrap(), "empty tables");
    let first = capture(&db, &large_document(20_000));
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert!(
        statistics::stale(&mut conn).unwrap(),
        "20,000 items grew the tables past their statistics"
    );
    // The next capture (of anything) refreshes them before it starts.
    let _ = capture(&db, b"<not-epcis/>");
    assert!(!statistics::stale(&mut conn).unwrap());
    let pages: i64 = crate::helpers::scalar(
        &db.url,
        "SELECT relpages::bigint FROM pg_class WHERE oid = 'event_epcs'::regclass",
    );
    assert!(pages > 128, "analyzed: {pages} pages");
}

/// A later document whose events overlap the stored ones in time spent 0.4 s of a 3 s capture
/// walking down from every container a shipping batch named to each item packed in it. The
/// walk now goes up from the few containers changed later when that is cheaper; both ways must
/// give the same containers and times, for every time, over nested packing (items in cases in
/// a pallet: the generated DSCSA shipment).
#[test]
fn containers_changed_later_are_the_same_walked_up_or_down() {
    use dscsa_exchange::store::capture::{containers_changed_after_by, Walk};
    let db = TestDb::create();
    let doc = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/epcis/generated/dscsa-shipment-200.xml"),
    )
    .unwrap();
    let report = capture(&db, &doc);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let mut conn = db.conn();
    let keys: Vec<String> = crate::helpers::strings(
        &db.url,
        "SELECT DISTINCT epc_key AS v FROM event_epcs WHERE role = 2
         UNION ALL (SELECT epc_key FROM event_epcs WHERE role = 3 ORDER BY epc_key LIMIT 50)",
    );
    let times: Vec<String> = crate::helpers::strings(
        &db.url,
        "SELECT DISTINCT to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS v
           FROM events WHERE event_type = 2 ORDER BY 1",
    );
    assert!(
        keys.len() > 50 && times.len() > 3,
        "{} keys, {} times",
        keys.len(),
        times.len()
    );
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let mut nonempty = 0;
    for t in std::iter::once("2000-01-01T00:00:00.000Z").chain(times.iter().map(String::as_str)) {
        let after: chrono::DateTime<chrono::Utc> = t.parse().unwrap();
        let mut up = containers_changed_after_by(&mut conn, after, &refs, Walk::Up).unwrap();
        let mut down = containers_changed_after_by(&mut conn, after, &refs, Walk::Down).unwrap();
        up.sort();
        down.sort();
        assert_eq!(up, down, "after {t}");
        nonempty += usize::from(!up.is_empty());
    }
    assert!(nonempty > 2, "the walks found changes at {nonempty} times");

    // Nested, where only the contents changed later: a case packed into a pallet at 09:00,
    // an item packed into the case at 10:00. After 09:30 the pallet changed (at 10:00) through
    // its case, though no event after 09:30 names it.
    let report = capture(&db, NESTED_LATER.as_bytes());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let pallet = crate::helpers::strings(
        &db.url,
        "SELECT p.epc_key AS v FROM event_epcs p JOIN events e ON e.id = p.event_id
          WHERE p.role = 2 AND e.event_time = '2025-03-01T09:00:00Z'",
    );
    let pallet: Vec<&str> = pallet.iter().map(String::as_str).collect();
    assert_eq!(pallet.len(), 1);
    let after = "2025-03-01T09:30:00Z".parse().unwrap();
    for walk in [Walk::Up, Walk::Down] {
        let found = containers_changed_after_by(&mut conn, after, &pallet, walk).unwrap();
        assert_eq!(found.len(), 1, "{walk:?}: {found:?}");
        assert_eq!(
            found[0].1,
            "2025-03-01T10:00:00Z"
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap(),
            "{walk:?}"
        );
    }
}

const NESTED_LATER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2" creationDate="2025-03-01T00:00:00Z">
<EPCISBody><EventList>
<ObjectEvent><eventTime>2025-03-01T08:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList><epc>urn:epc:id:sgtin:0361414.012345.N1</epc><epc>urn:epc:id:sscc:0361414.2000000001</epc><epc>urn:epc:id:sscc:0361414.1000000001</epc></epcList><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><disposition>urn:epcglobal:cbv:disp:active</disposition></ObjectEvent>
<AggregationEvent><eventTime>2025-03-01T09:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><parentID>urn:epc:id:sscc:0361414.1000000001</parentID><childEPCs><epc>urn:epc:id:sscc:0361414.2000000001</epc></childEPCs><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep></AggregationEvent>
<AggregationEvent><eventTime>2025-03-01T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><parentID>urn:epc:id:sscc:0361414.2000000001</parentID><childEPCs><epc>urn:epc:id:sgtin:0361414.012345.N1</epc></childEPCs><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep></AggregationEvent>
</EventList></EPCISBody></epcis:EPCISDocument>
"#;
