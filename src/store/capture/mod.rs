//! Storage for EPCIS capture, by table group: [`events`] (binary COPY of events and their
//! rows), [`serials`] (the per-serial state read into and written back from the capture's
//! in-memory fold, `crate::capture::fold`), [`history`] (what rebuilds and the late-event check
//! read of the stored history), [`documents`] and [`master_data`]. Everything is re-exported
//! here, so callers name `store::capture::…`.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};

pub mod documents;
pub mod events;
pub mod history;
pub mod master_data;
pub mod serials;

pub use documents::*;
pub use events::*;
pub use history::*;
pub use master_data::*;
pub use serials::*;

/// Row counts used by tests and reports.
pub fn count(conn: &mut PgConnection, table: &str) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}")).get_result(conn)?;
    Ok(n.n)
}

/// Ids reserved from a sequence in one round trip.
pub(super) fn reserve_ids(
    conn: &mut PgConnection,
    sequence: &str,
    n: usize,
) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let ids: Vec<Id> = diesel::sql_query(format!(
        "SELECT nextval('{sequence}') AS id FROM generate_series(1, $1)"
    ))
    .bind::<Integer, _>(n as i32)
    .load(conn)?;
    Ok(ids.into_iter().map(|i| i.id).collect())
}
