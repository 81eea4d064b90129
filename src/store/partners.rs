//! Queries for trading partners and their certificates.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use super::schema::{partner_certificates, trading_partners};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = trading_partners)]
pub struct PartnerRow {
    pub id: i64,
    pub gln: Option<String>,
    pub name: String,
    pub role: String,
    pub enabled: bool,
    pub atp_status: String,
    pub licence_number: Option<String>,
    pub licence_expires: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = trading_partners)]
pub struct NewPartnerRow<'a> {
    pub gln: Option<&'a str>,
    pub name: &'a str,
    pub role: &'a str,
    pub atp_status: &'a str,
    pub licence_number: Option<&'a str>,
    pub licence_expires: Option<NaiveDate>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = partner_certificates)]
pub struct CertificateRow {
    pub fingerprint_sha256: Vec<u8>,
    pub partner_id: i64,
    pub subject: String,
    pub issuer: String,
    pub serial_hex: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub fn insert(conn: &mut PgConnection, row: &NewPartnerRow<'_>) -> QueryResult<PartnerRow> {
    diesel::insert_into(trading_partners::table)
        .values(row)
        .returning(PartnerRow::as_returning())
        .get_result(conn)
}

pub fn insert_certificate(conn: &mut PgConnection, row: &CertificateRow) -> QueryResult<()> {
    diesel::insert_into(partner_certificates::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// A partner by GLN, or by numeric id when `selector` is not a GLN.
pub fn find(conn: &mut PgConnection, selector: &str) -> QueryResult<Option<PartnerRow>> {
    let query = trading_partners::table.select(PartnerRow::as_select());
    if selector.len() == 13 {
        query
            .filter(trading_partners::gln.eq(selector))
            .first(conn)
            .optional()
    } else if let Ok(id) = selector.parse::<i64>() {
        query
            .filter(trading_partners::id.eq(id))
            .first(conn)
            .optional()
    } else {
        Ok(None)
    }
}

pub fn list(conn: &mut PgConnection) -> QueryResult<Vec<(PartnerRow, Vec<CertificateRow>)>> {
    let partners: Vec<PartnerRow> = trading_partners::table
        .select(PartnerRow::as_select())
        .order(trading_partners::id)
        .load(conn)?;
    let certs: Vec<CertificateRow> = partner_certificates::table
        .select(CertificateRow::as_select())
        .order(partner_certificates::added_at)
        .load(conn)?;
    Ok(partners
        .into_iter()
        .map(|p| {
            let mine = certs
                .iter()
                .filter(|c| c.partner_id == p.id)
                .cloned()
                .collect();
            (p, mine)
        })
        .collect())
}

pub fn set_enabled(conn: &mut PgConnection, id: i64, enabled: bool) -> QueryResult<PartnerRow> {
    diesel::update(trading_partners::table.find(id))
        .set((
            trading_partners::enabled.eq(enabled),
            trading_partners::updated_at.eq(diesel::dsl::now),
        ))
        .returning(PartnerRow::as_returning())
        .get_result(conn)
}

/// The partner a certificate belongs to, with the certificate's revocation time.
pub fn by_fingerprint(
    conn: &mut PgConnection,
    fingerprint: &[u8],
) -> QueryResult<Option<(PartnerRow, Option<DateTime<Utc>>)>> {
    partner_certificates::table
        .inner_join(trading_partners::table)
        .filter(partner_certificates::fingerprint_sha256.eq(fingerprint))
        .select((PartnerRow::as_select(), partner_certificates::revoked_at))
        .first(conn)
        .optional()
}

/// Calls `on_change(true)` whenever partners or certificates change (PostgreSQL NOTIFY from the
/// triggers of migration 2) and after (re)connecting, since changes may have been missed while
/// disconnected; calls `on_change(false)` when the connection is lost, so that callers stop
/// trusting what they cached. Runs until `stop` is set; reconnects with a pause.
pub fn listen_for_changes(
    url: &str,
    stop: &std::sync::atomic::AtomicBool,
    on_change: &dyn Fn(bool),
) {
    use diesel::connection::SimpleConnection;
    use std::sync::atomic::Ordering;
    use std::time::Duration;
    while !stop.load(Ordering::Relaxed) {
        let mut conn = match super::connect(url) {
            Ok(c) => c,
            Err(e) => {
                log::warn!("partner change listener cannot connect: {e}");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        if let Err(e) = conn.batch_execute("LISTEN dscsa_partners_changed") {
            log::warn!("partner change listener: {e}");
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        on_change(true);
        'connected: while !stop.load(Ordering::Relaxed) {
            let mut changed = false;
            for n in conn.notifications_iter() {
                match n {
                    Ok(_) => changed = true,
                    Err(e) => {
                        log::warn!("partner change listener lost its connection: {e}");
                        on_change(false);
                        break 'connected;
                    }
                }
            }
            if changed {
                on_change(true);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
