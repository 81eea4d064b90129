//! Regressions of issue 10 §4: state follows event time; client clock offsets; DELETE without childEPCs.

use diesel::prelude::*;
use dscsa_exchange::capture::{self, Outcome};

use crate::capture::{
    aggregation, capture, commission, doc, item, item_key, object, rules, shipped_to, state, CASE,
    CASE_KEY, OWNER,
};
use crate::helpers::TestDb;

const PALLET: &str = "urn:epc:id:sscc:0361414.1000000002";
const PALLET_KEY: &str = "00103614140000000022";

/// Issue 10 §4: a document listing its events by type (the ObjectEvents, then the
/// AggregationEvents) put the packing, older than the shipping of the pallet, after it: the
/// items stayed "packed" with no owner inside a shipped pallet.
#[test]
fn a_document_listing_events_by_type_leaves_the_state_their_times_give() {
    let db = TestDb::create();
    let items = [item(1), item(2)];
    let mut all = items.to_vec();
    all.extend([CASE.to_string(), PALLET.to_string()]);
    let events = [
        commission(1, &all, "L1"),
        shipped_to(9, &[PALLET.into()], OWNER),
        aggregation(5, "ADD", CASE, &items),
        aggregation(6, "ADD", PALLET, &[CASE.into()]),
    ]
    .concat();
    let report = capture(&db, &doc("", &events));
    assert_eq!(report.outcome, Outcome::Accepted, "{:?}", report.errors);
    let owner = capture::key_of(OWNER).unwrap().key;
    for key in [item_key(1), item_key(2), CASE_KEY.to_string()] {
        let s = state(&db, &key);
        assert_eq!(
            (s.status, s.owner.as_deref(), s.top.as_deref()),
            (3, Some(owner.as_str()), Some(PALLET_KEY)),
            "{key}"
        );
    }
}

/// Issue 10 §4: an event older than the stored state of its serial, arriving in a later
/// document, overwrote the newer state.
#[test]
fn an_older_event_arriving_later_does_not_overwrite_a_newer_state() {
    let db = TestDb::create();
    let events = [
        commission(1, &[item(1)], "L1"),
        shipped_to(9, &[item(1)], OWNER),
    ]
    .concat();
    assert_eq!(capture(&db, &doc("", &events)).outcome, Outcome::Accepted);
    let late = capture(
        &db,
        &doc("", &object(5, "OBSERVE", &[item(1)], "receiving")),
    );
    assert_eq!(late.outcome, Outcome::Accepted, "{:?}", late.errors);
    let s = state(&db, &item_key(1));
    let owner = capture::key_of(OWNER).unwrap().key;
    assert_eq!((s.status, s.owner.as_deref()), (3, Some(owner.as_str())));
    // The commissioning of a serial first seen packed and shipped, arriving last, leaves it
    // shipped inside its case (it was "commissioned", by capture order).
    let early = [
        aggregation(2, "ADD", CASE, &[item(2)]),
        object(3, "OBSERVE", &[CASE.into()], "shipping"),
    ]
    .concat();
    capture(&db, &doc("", &early));
    capture(&db, &doc("", &commission(1, &[item(2), CASE.into()], "L1")));
    let s = state(&db, &item_key(2));
    assert_eq!(
        (s.status, s.parent.as_deref(), s.lot.as_deref()),
        (3, Some(CASE_KEY), Some("L1"))
    );
}

/// Issue 10 §4: business rules of an event that arrives late are checked against the state
/// at its time, not the newest: shipping before a (stored, later) decommissioning is fine.
#[test]
fn a_late_event_is_checked_against_the_state_at_its_time() {
    let db = TestDb::create();
    let events = [
        commission(1, &[item(1), item(2)], "L1"),
        object(9, "DELETE", &[item(1)], "decommissioning"),
    ]
    .concat();
    capture(&db, &doc("", &events));
    let late = capture(&db, &doc("", &object(5, "OBSERVE", &[item(1)], "shipping")));
    assert_eq!(late.outcome, Outcome::Accepted, "{:?}", late.errors);
    assert_eq!(state(&db, &item_key(1)).status, 6, "still decommissioned");
    // After its time the decommissioning stands: B-003 as before.
    let after = capture(
        &db,
        &doc("", &object(10, "OBSERVE", &[item(1)], "shipping")),
    );
    assert_eq!(rules(&after.errors), vec!["DSCSA-B-003"]);
    // A late packing into a case that is (at its time) already holding the item elsewhere is
    // refused (B-004), though the item is free now.
    let events = [
        commission(1, &[CASE.into(), PALLET.into()], "L1"),
        aggregation(2, "ADD", CASE, &[item(2)]),
        aggregation(8, "DELETE", CASE, &[item(2)]),
    ]
    .concat();
    capture(&db, &doc("", &events));
    let late = capture(&db, &doc("", &aggregation(5, "ADD", PALLET, &[item(2)])));
    assert_eq!(rules(&late.errors), vec!["DSCSA-B-004"]);
    assert_eq!(state(&db, &item_key(2)).parent, None);
}

#[test]
fn serial_state_compares_containers_by_event_time_not_by_event_id() {
    let db = TestDb::create();
    capture(&db, &doc("", &commission(1, &[item(1), CASE.into()], "L1")));
    capture(
        &db,
        &doc("", &object(9, "OBSERVE", &[CASE.into()], "shipping")),
    );
    // A later capture (higher event id), an older time: the newer shipping still shows.
    capture(&db, &doc("", &aggregation(5, "ADD", CASE, &[item(1)])));
    #[derive(QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::SmallInt)]
        status: i16,
    }
    let s: S = diesel::sql_query("SELECT status FROM serial_state WHERE epc_key = $1")
        .bind::<diesel::sql_types::Text, _>(item_key(1))
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(s.status, 3);
}

/// An ObjectEvent at `time` (as written, with its offset).
fn observed_at(time: &str, offset: &str) -> String {
    format!(
        "<ObjectEvent><eventTime>{time}</eventTime><eventTimeZoneOffset>{offset}</eventTimeZoneOffset>\
         <epcList><epc>{}</epc></epcList><action>OBSERVE</action>\
         <bizStep>urn:epcglobal:cbv:bizstep:inspecting</bizStep></ObjectEvent>",
        item(1)
    )
}

/// Issue 10 §4: an EPCIS 2.0 SDK writes UTC wall-clock time with the client's local offset; a
/// client west of UTC reads hours ahead. Still refused (B-011), but the message names the
/// likely cause; a configured tolerance lets true clock skew through.
#[test]
fn an_event_time_of_utc_wall_clock_with_a_local_offset_is_refused_naming_the_likely_bug() {
    let db = TestDb::create();
    capture(&db, &doc("", &commission(1, &[item(1)], "L1")));
    let wall = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S");
    let report = capture(
        &db,
        &doc("", &observed_at(&format!("{wall}-05:00"), "-05:00")),
    );
    assert_eq!(rules(&report.errors), vec!["DSCSA-B-011"]);
    let message = &report.errors[0].message;
    assert!(
        message.contains("UTC offset -05:00") && message.contains("likely a client bug"),
        "{message}"
    );
    // Ahead by something else than its offset: the plain message.
    let ahead = (chrono::Utc::now() + chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ");
    let report = capture(&db, &doc("", &observed_at(&ahead.to_string(), "+00:00")));
    assert_eq!(rules(&report.errors), vec!["DSCSA-B-011"]);
    assert!(!report.errors[0].message.contains("client bug"));
    // Within a configured tolerance of three hours: accepted.
    let mut o = crate::capture::options(capture::ErrorBehaviour::Rollback);
    o.future_tolerance = chrono::Duration::hours(3);
    let r = capture::capture(
        &mut db.conn(),
        doc("", &observed_at(&ahead.to_string(), "+00:00")).as_slice(),
        &o,
    )
    .unwrap();
    assert_eq!(r.outcome, Outcome::Accepted, "{:?}", r.errors);
}

/// Issue 10 §4: an EPCIS 1.2 AggregationEvent DELETE without `childEPCs` (a producer's "unpack
/// all") was refused as a missing required element.
#[test]
fn an_aggregation_delete_without_child_epcs_unpacks_every_child_with_a_warning() {
    let db = TestDb::create();
    let events = [
        commission(1, &[item(1), item(2), CASE.into()], "L1"),
        aggregation(2, "ADD", CASE, &[item(1), item(2)]),
    ]
    .concat();
    capture(&db, &doc("", &events));
    let delete = aggregation(3, "DELETE", CASE, &[]).replace("<childEPCs></childEPCs>", "");
    assert!(!delete.contains("childEPCs"));
    let report = capture(&db, &doc("", &delete));
    assert_eq!(report.outcome, Outcome::Accepted, "{:?}", report.errors);
    assert_eq!(rules(&report.warnings), vec!["EPCIS-S-017"]);
    for n in [1, 2] {
        assert_eq!(state(&db, &item_key(n)).parent, None, "item {n}");
    }
}
