//! The stored history of serials, as a rebuild and the capture's check for late events read
//! it: the serials a rebuild concerns, the standing events about them in time order, and the
//! containers whose contents changed after a time.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Nullable, SmallInt, Text, Timestamptz};

use super::serials::{StoredSerial, STORED_COLUMNS, STORED_FROM};

/// Where a rebuild starts: the serials an event names or last changed (an error declaration
/// retracts it; a huge event arrived older than their state), or identifier keys (an event
/// older than the state of what it names, not stored yet).
#[derive(Debug, Clone, Copy)]
pub enum Seed<'a> {
    Event(i64),
    Keys(&'a [&'a str]),
}

/// The serials whose rows a rebuild from `seed` may change, and whose history is needed to
/// rebuild them: the seed, everything inside those (now, or ever packed into them: it may
/// have been unpacked or retired with its container), and every container any of them was
/// ever packed into (their state passes down). UNION (not ALL) ends the walks on cycles.
pub fn rebuild_scope(conn: &mut PgConnection, seed: Seed<'_>) -> QueryResult<Vec<StoredSerial>> {
    let (event_id, keys): (i64, &[&str]) = match seed {
        Seed::Event(id) => (id, &[]),
        Seed::Keys(keys) => (0, keys),
    };
    diesel::sql_query(format!(
        "WITH RECURSIVE named AS (
              SELECT epc_key FROM event_epcs WHERE event_id = $1
              UNION SELECT epc_key FROM serials WHERE last_event_id = $1
              UNION SELECT unnest($2::text[])
          ), down(epc_key) AS (
              SELECT epc_key FROM named
              -- Everything ever packed into them: a child gets its parent only from a
              -- packing event, so this covers what is inside now too (no index on parent_id).
              UNION SELECT ch.epc_key FROM down
                      JOIN event_epcs pa ON pa.epc_key = down.epc_key AND pa.role = 2
                      JOIN event_epcs ch ON ch.event_id = pa.event_id AND ch.role = 3
          ), up(epc_key) AS (
              SELECT epc_key FROM down
              UNION SELECT p.epc_key FROM up
                      JOIN event_epcs ch ON ch.epc_key = up.epc_key AND ch.role = 3
                      JOIN event_epcs p ON p.event_id = ch.event_id AND p.role = 2
          )
          SELECT {STORED_COLUMNS} FROM {STORED_FROM}
           WHERE s.epc_key IN (SELECT epc_key FROM up)"
    ))
    .bind::<BigInt, _>(event_id)
    .bind::<Array<Text>, _>(keys)
    .load(conn)
}

/// A stored event, as a rebuild replays it.
#[derive(Debug, QueryableByName)]
pub struct ReplayEvent {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = SmallInt)]
    pub event_type: i16,
    #[diesel(sql_type = Nullable<Text>)]
    pub action: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub biz_step: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub disposition: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub biz_location: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub event_time: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub owner: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub lot: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub expiry: Option<NaiveDate>,
    /// Whether the event names children at all (an AggregationEvent DELETE without them
    /// empties its parent), whatever of them the rebuild looks at.
    #[diesel(sql_type = Bool)]
    pub has_children: bool,
}

/// One identifier of a replayed event.
#[derive(Debug, QueryableByName)]
pub struct ReplayEpc {
    #[diesel(sql_type = BigInt)]
    pub event_id: i64,
    #[diesel(sql_type = SmallInt)]
    pub role: i16,
    #[diesel(sql_type = Text)]
    pub epc_key: String,
}

/// The events that name these keys and stand (not declarations, not retracted), in time order
/// (event time, then event id: the order of capture), with the identifiers they name among
/// these keys (ordered by event id, not in time order).
pub fn replay_events(
    conn: &mut PgConnection,
    keys: &[&str],
) -> QueryResult<(Vec<ReplayEvent>, Vec<ReplayEpc>)> {
    let epcs: Vec<ReplayEpc> = diesel::sql_query(
        "SELECT x.event_id, x.role, x.epc_key FROM event_epcs x JOIN events e ON e.id = x.event_id
          WHERE x.epc_key = ANY($1) AND e.retracted_by IS NULL
            AND e.error_declaration_time IS NULL
          ORDER BY x.event_id, x.role, x.epc_key",
    )
    .bind::<Array<Text>, _>(keys)
    .load(conn)?;
    let mut ids: Vec<i64> = epcs.iter().map(|e| e.event_id).collect();
    ids.dedup();
    let events = diesel::sql_query(
        "SELECT e.id, e.event_type, e.action, e.biz_step, e.disposition, e.biz_location,
                e.event_time, i.lot, i.expiry,
                (SELECT sd.party FROM event_sources_destinations sd
                  WHERE sd.event_id = e.id AND sd.kind = 2 AND sd.type = 'owning_party'
                  ORDER BY sd.seq LIMIT 1) AS owner,
                EXISTS (SELECT 1 FROM event_epcs c WHERE c.event_id = e.id AND c.role = 3)
                  AS has_children
           FROM events e LEFT JOIN event_ilmd i ON i.event_id = e.id
          WHERE e.id = ANY($1) ORDER BY e.event_time, e.id",
    )
    .bind::<Array<BigInt>, _>(&ids)
    .load(conn)?;
    Ok((events, epcs))
}

/// Of these keys, the containers whose contents changed (a stored ADD or DELETE aggregation
/// event with the container, or a container packed in it at any depth, as parent) after
/// `after`, with the time of the latest such change.
///
/// A first look at the partial index `events_aggregation_time` counts the aggregation events
/// stored after `after` (up to one more than there are keys): none is the common case
/// (documents in time order) and asks nothing more. Then the walk goes the cheaper way through
/// packing events (the relation `children_join` uses): **up** from the containers of those
/// events when there are no more of them than keys, so its cost follows the few recent
/// changes; otherwise **down** from the keys, so its cost follows what the batch names, not
/// the size of the history. Both give the same answer (`Walk`, tested both ways).
pub fn containers_changed_after(
    conn: &mut PgConnection,
    after: DateTime<Utc>,
    keys: &[&str],
) -> QueryResult<Vec<(String, DateTime<Utc>)>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let later = aggregations_after(conn, after, keys.len() as i64 + 1)?;
    if later == 0 {
        return Ok(Vec::new());
    }
    let walk = if later <= keys.len() as i64 {
        Walk::Up
    } else {
        Walk::Down
    };
    containers_changed_after_by(conn, after, keys, walk)
}

/// The direction [`containers_changed_after`] walks the packing relation in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Walk {
    /// From the containers packed or unpacked after the time, up to what they were packed in.
    Up,
    /// From the keys asked about, down to what was packed in them.
    Down,
}

/// Standing ADD or DELETE aggregation events stored after `after`, counted up to `limit`.
fn aggregations_after(
    conn: &mut PgConnection,
    after: DateTime<Utc>,
    limit: i64,
) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let c: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM (SELECT 1 FROM events e
                 WHERE e.event_type = 2 AND e.action IN ('ADD', 'DELETE')
                   AND e.event_time > $1 AND e.retracted_by IS NULL LIMIT $2) later",
    )
    .bind::<Timestamptz, _>(after)
    .bind::<BigInt, _>(limit)
    .get_result(conn)?;
    Ok(c.n)
}

/// [`containers_changed_after`] walking the given way (public so that a test holds the two
/// ways to the same answer).
pub fn containers_changed_after_by(
    conn: &mut PgConnection,
    after: DateTime<Utc>,
    keys: &[&str],
    walk: Walk,
) -> QueryResult<Vec<(String, DateTime<Utc>)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        epc_key: String,
        #[diesel(sql_type = Timestamptz)]
        at: DateTime<Utc>,
    }
    let query = match walk {
        // `up` holds each container reached with the latest change below it found so far; a
        // cycle of packing (a container packed in its own contents, which the rules refuse but
        // history may hold) ends because UNION keeps no row twice.
        Walk::Up => {
            "WITH RECURSIVE up(epc_key, at) AS (
                  SELECT p.epc_key, e.event_time FROM events e
                    JOIN event_epcs p ON p.event_id = e.id AND p.role = 2
                   WHERE e.event_type = 2 AND e.action IN ('ADD', 'DELETE')
                     AND e.event_time > $1 AND e.retracted_by IS NULL
                  UNION
                  SELECT p.epc_key, up.at FROM up
                    JOIN event_epcs ch ON ch.epc_key = up.epc_key AND ch.role = 3
                    JOIN event_epcs p ON p.event_id = ch.event_id AND p.role = 2
              )
              SELECT epc_key, max(at) AS at FROM up WHERE epc_key = ANY($2) GROUP BY epc_key"
        }
        Walk::Down => {
            "WITH RECURSIVE down(root, key, depth) AS (
                  SELECT DISTINCT p.epc_key, p.epc_key, 0 FROM event_epcs p
                   WHERE p.role = 2 AND p.epc_key = ANY($2)
                  UNION
                  SELECT down.root, ch.epc_key, down.depth + 1 FROM down
                    JOIN event_epcs p ON p.epc_key = down.key AND p.role = 2
                    JOIN event_epcs ch ON ch.event_id = p.event_id AND ch.role = 3
                   WHERE down.depth < 32
              )
              SELECT d.root AS epc_key, max(e.event_time) AS at
                FROM (SELECT DISTINCT root, key FROM down) d
                JOIN event_epcs p ON p.epc_key = d.key AND p.role = 2
                JOIN events e ON e.id = p.event_id
               WHERE e.event_type = 2 AND e.action IN ('ADD', 'DELETE') AND e.event_time > $1
                 AND e.retracted_by IS NULL
               GROUP BY d.root"
        }
    };
    let rows: Vec<Row> = diesel::sql_query(query)
        .bind::<Timestamptz, _>(after)
        .bind::<Array<Text>, _>(keys)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.epc_key, r.at)).collect())
}
