//! Master data as documents give it: products (EPCClass) and locations upserted, and which of
//! a capture's GTINs and locations have none.

use diesel::prelude::*;
use diesel::sql_types::Text;

/// Product master data (EPCClass) as a document gives it; absent values keep what is stored.
#[derive(Debug, Insertable)]
#[diesel(table_name = crate::store::schema::trade_items)]
pub struct TradeItem<'a> {
    pub gtin: &'a str,
    pub ndc: Option<&'a str>,
    pub name: Option<&'a str>,
    pub dosage_form: Option<&'a str>,
    pub strength: Option<&'a str>,
    pub pack_size: Option<&'a str>,
    pub manufacturer: Option<&'a str>,
    pub attributes: serde_json::Value,
}

pub fn upsert_trade_item(conn: &mut PgConnection, item: &TradeItem<'_>) -> QueryResult<()> {
    use crate::store::schema::trade_items::dsl as t;
    type Nt = diesel::sql_types::Nullable<Text>;
    let keep =
        |col: &str| diesel::dsl::sql::<Nt>(&format!("coalesce(excluded.{col}, trade_items.{col})"));
    diesel::insert_into(t::trade_items)
        .values(item)
        .on_conflict(t::gtin)
        .do_update()
        .set((
            t::ndc.eq(keep("ndc")),
            t::name.eq(keep("name")),
            t::dosage_form.eq(keep("dosage_form")),
            t::strength.eq(keep("strength")),
            t::pack_size.eq(keep("pack_size")),
            t::manufacturer.eq(keep("manufacturer")),
            t::attributes.eq(diesel::dsl::sql::<diesel::sql_types::Jsonb>(
                "trade_items.attributes || excluded.attributes",
            )),
            t::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Location master data; a newer document's description replaces the stored one.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = crate::store::schema::locations, treat_none_as_null = true)]
pub struct Location<'a> {
    pub id: &'a str,
    pub gln: Option<&'a str>,
    pub name: Option<&'a str>,
    pub street: Option<&'a str>,
    pub city: Option<&'a str>,
    pub state: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub country: Option<&'a str>,
    pub attributes: serde_json::Value,
}

pub fn upsert_location(conn: &mut PgConnection, location: &Location<'_>) -> QueryResult<()> {
    use crate::store::schema::locations::dsl as l;
    diesel::insert_into(l::locations)
        .values(location)
        .on_conflict(l::id)
        .do_update()
        .set(location)
        .execute(conn)
        .map(|_| ())
}

/// GTINs (of the given set) that have no product master data.
pub fn gtins_without_master_data(
    conn: &mut PgConnection,
    gtins: &[String],
) -> QueryResult<Vec<String>> {
    use crate::store::schema::trade_items::dsl as t;
    let known: Vec<String> = t::trade_items
        .filter(t::gtin.eq_any(gtins))
        .select(t::gtin)
        .load(conn)?;
    Ok(gtins
        .iter()
        .filter(|g| !known.contains(g))
        .cloned()
        .collect())
}

/// Location keys (of the given set) that have no location master data.
pub fn locations_without_master_data(
    conn: &mut PgConnection,
    ids: &[String],
) -> QueryResult<Vec<String>> {
    use crate::store::schema::locations::dsl as l;
    let known: Vec<String> = l::locations
        .filter(l::id.eq_any(ids))
        .select(l::id)
        .load(conn)?;
    Ok(ids.iter().filter(|g| !known.contains(g)).cloned().collect())
}

/// Records a company prefix seen in an EPC URN (`company_prefixes`, source `learned`).
pub fn learn_company_prefix(conn: &mut PgConnection, prefix: &str) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO company_prefixes (prefix, source) VALUES ($1, 'learned')
         ON CONFLICT (prefix) DO NOTHING",
    )
    .bind::<Text, _>(prefix)
    .execute(conn)
    .map(|_| ())
}
