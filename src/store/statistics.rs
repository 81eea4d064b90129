//! Planner statistics for the tables capture writes in bulk.
//!
//! Capture's look-ups (stored state of the serials a batch names, containers changed after an
//! event's time) are planned from `pg_class.reltuples`/`relpages` and `pg_statistic`. On a
//! database that has just grown a lot, as during a first import of several large documents
//! back to back, those still describe the empty tables until autovacuum's next analyze (a
//! minute or more later): PostgreSQL then picks nested loops with a sequential scan inside,
//! and the second 100,000-item document took 50 s instead of 3 (issue 10 §7). So a capture
//! first looks whether a table is much bigger than its statistics say and, if it is, analyzes
//! the three tables itself, outside its transaction (ANALYZE holds its lock only while it runs).

use diesel::prelude::*;
use diesel::sql_types::Bool;

/// The tables capture depends on, with the columns its statements filter and join on: a
/// column list keeps the analyze short (the sizes, `relpages`/`reltuples`, are refreshed
/// whatever the list); autovacuum's analyze fills in the other columns later.
const TABLES: &str = "events (id, event_type, action, event_time, retracted_by, \
                      error_declaration_time, event_hash), \
                      event_epcs (event_id, role, epc_key), serials (id, epc_key, parent_id)";

/// Whether any of the tables has grown past 1.2 times (plus 128 pages, 1 MB) the size its
/// statistics were taken at. `pg_relation_size` is exact at once; the activity counters
/// (`n_mod_since_analyze`) reach other sessions only up to a second after a commit.
pub fn stale(conn: &mut PgConnection) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Bool)]
        stale: bool,
    }
    let row: Row = diesel::sql_query(
        "SELECT coalesce(bool_or(pg_relation_size(c.oid) / current_setting('block_size')::int
                                 > c.relpages * 1.2 + 128), false) AS stale
           FROM pg_class c
          WHERE c.oid IN ('events'::regclass, 'event_epcs'::regclass, 'serials'::regclass)",
    )
    .get_result(conn)?;
    Ok(row.stale)
}

/// Analyzes the tables when their statistics are stale; returns whether it did. Call it
/// outside a transaction.
pub fn refresh_if_stale(conn: &mut PgConnection) -> QueryResult<bool> {
    if !stale(conn)? {
        return Ok(false);
    }
    diesel::sql_query(format!("ANALYZE {TABLES}")).execute(conn)?;
    Ok(true)
}
