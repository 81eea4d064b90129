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
