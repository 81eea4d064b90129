//! The append-only audit log.

use diesel::prelude::*;

use super::schema::audit_log;

/// Records who did what to which subject. Call inside the transaction of the change itself, so
/// that a change and its audit record commit or roll back together.
pub fn record(
    conn: &mut PgConnection,
    actor: &str,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor.eq(actor),
            audit_log::action.eq(action),
            audit_log::subject.eq(subject),
            audit_log::details.eq(details),
        ))
        .execute(conn)
        .map(|_| ())
}
