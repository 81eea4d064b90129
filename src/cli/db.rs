//! Database access for one-shot commands: the configured database, or the private instance
//! (attached to if `serve` runs it, started for this command and stopped after otherwise).

use diesel::PgConnection;

use super::CliError;
use crate::config::Settings;
use crate::store::{self, Database};

/// Runs `f` on a migrated database connection.
pub fn with_db<T>(
    settings: &Settings,
    f: impl FnOnce(&mut PgConnection) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let mut db = Database::open(settings)?;
    let result = store::connect(db.url())
        .map_err(CliError::from)
        .and_then(|mut conn| {
            store::migrate(&mut conn)?;
            f(&mut conn)
        });
    db.shutdown()?;
    result
}
