//! Storage: PostgreSQL through diesel. The schema lives in `migrations/` (embedded in the
//! binary) and is mirrored by `schema.rs`; queries are grouped by use in submodules.
//!
//! Blocking diesel work never runs on the async executor: HTTP handlers call it through
//! `web::block`, and the CLI calls it directly.

pub mod audit;
pub mod capture;
pub mod codes;
pub mod master_data;
pub mod partners;
pub mod private_pg;
pub mod query;
pub mod schema;
pub mod serials;
pub mod shipments;
pub mod statistics;
pub mod trace;
pub mod verification;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::{mask_url, Settings};
use private_pg::{PrivatePgError, PrivatePostgres};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Arbitrary constant: the advisory lock that serialises migrations across processes.
const MIGRATION_LOCK: i64 = 0x4453_4353_415f_4d49;

pub type PgPool = Pool<ConnectionManager<PgConnection>>;
pub type PgPooled = PooledConnection<ConnectionManager<PgConnection>>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    PrivateInstance(#[from] PrivatePgError),
    #[error("cannot connect to PostgreSQL at {url}: {message}")]
    Connect { url: String, message: String },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
}

/// Where the data lives: the private instance (which this handle may own) or an external URL.
#[derive(Debug)]
pub struct Database {
    url: String,
    private: Option<PrivatePostgres>,
}

impl Database {
    /// Resolves the configured database: `database.url` if set, otherwise the private instance
    /// under `data_dir/postgres` (attached to if running, started for this process if not).
    pub fn open(settings: &Settings) -> Result<Database, StoreError> {
        Self::open_as(settings, private_pg::Role::Command)
    }

    /// As [`Database::open`], for `serve`: a private instance it finds owned by a short-lived
    /// command is taken over (see `private_pg`, "Owner").
    pub fn open_for_server(settings: &Settings) -> Result<Database, StoreError> {
        Self::open_as(settings, private_pg::Role::Server)
    }

    fn open_as(settings: &Settings, role: private_pg::Role) -> Result<Database, StoreError> {
        match &settings.database.url {
            Some(url) => Ok(Database {
                url: url.expose().to_string(),
                private: None,
            }),
            None => {
                let pg =
                    PrivatePostgres::ensure_running_as(&settings.data_dir.join("postgres"), role)?;
                Ok(Database {
                    url: pg.url(private_pg::DATABASE),
                    private: Some(pg),
                })
            }
        }
    }

    /// The connection URL (may contain a password: print [`Database::display_url`] instead).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn display_url(&self) -> String {
        mask_url(&self.url)
    }

    pub fn private_instance(&self) -> Option<&PrivatePostgres> {
        self.private.as_ref()
    }

    /// Stops the private instance if this process started it.
    pub fn shutdown(&mut self) -> Result<(), StoreError> {
        if let Some(pg) = self.private.as_mut() {
            pg.stop()?;
        }
        Ok(())
    }
}

/// One connection, for the CLI and for start-up work.
pub fn connect(url: &str) -> Result<PgConnection, StoreError> {
    PgConnection::establish(url).map_err(|e| StoreError::Connect {
        url: mask_url(url),
        message: one_line(&e.to_string()),
    })
}

/// A pool that does not connect up front: `/ready` must be able to report a database that is
/// down at start-up or later, and recover when it comes back, without a restart.
///
/// Connections are not tested on every checkout (that would cost a round trip per request);
/// instead work that fails calls [`discard_if_dead`], which drops a connection whose server has
/// gone away, so the pool heals after a database restart.
pub fn pool(url: &str, size: u32, connect_timeout: Duration) -> PgPool {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(connect_timeout)
        .test_on_check_out(false)
        .build_unchecked(ConnectionManager::new(url))
}

/// After a failure: if the connection no longer answers, mark it broken so that the pool
/// discards it instead of handing it out again.
pub fn discard_if_dead(conn: &mut PgConnection) {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    if conn.batch_execute("SELECT 1").is_err() {
        AnsiTransactionManager::transaction_manager_status_mut(conn).set_in_error();
    }
}

/// Applies pending migrations, serialised across processes by an advisory lock.
/// Returns the versions applied.
pub fn migrate(conn: &mut PgConnection) -> Result<Vec<String>, StoreError> {
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
    let result = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|v| v.iter().map(|m| m.to_string()).collect())
        .map_err(|e| StoreError::Migration(one_line(&e.to_string())));
    conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
    result
}

/// `SELECT 1` through the pool: the readiness check.
pub fn ping(pool: &PgPool) -> Result<(), StoreError> {
    let mut conn = pool
        .get()
        .map_err(|e| StoreError::Unavailable(one_line(&e.to_string())))?;
    if let Err(e) = conn.batch_execute("SELECT 1") {
        discard_if_dead(&mut conn);
        return Err(e.into());
    }
    Ok(())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
