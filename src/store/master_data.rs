//! Reads of stored master data that several use cases share (shipments write it into the
//! documents they send, tracing names parties and locations with it).

use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text};

/// Location (party) master data as stored (`locations`).
#[derive(Debug, Clone, QueryableByName)]
pub struct LocationRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub street: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub city: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub state: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub postal_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub country: Option<String>,
}

/// The master data of these location and party keys (those that have some), by key.
pub fn locations(conn: &mut PgConnection, keys: &[String]) -> QueryResult<Vec<LocationRow>> {
    diesel::sql_query(
        "SELECT id, name, street, city, state, postal_code, country FROM locations
          WHERE id = ANY($1) ORDER BY id",
    )
    .bind::<Array<Text>, _>(keys)
    .load(conn)
}
