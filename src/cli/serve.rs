//! `dscsa-exchange serve`: start (or attach to) the database, migrate, serve until SIGINT/SIGTERM.

use std::time::Duration;

use super::CliError;
use crate::config::Settings;
use crate::http::Application;
use crate::store::{self, Database};

pub fn run(settings: Settings) -> Result<(), CliError> {
    let mut db = Database::open(&settings)?;
    let result = serve(&settings, &db);
    // The private instance stops only after the server has drained its requests.
    db.shutdown()?;
    result
}

fn serve(settings: &Settings, db: &Database) -> Result<(), CliError> {
    let applied = store::connect(db.url()).and_then(|mut c| store::migrate(&mut c))?;
    let pool = store::pool(
        db.url(),
        settings.database.pool_size,
        Duration::from_secs(settings.database.connect_timeout_secs),
    );
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings, pool).map_err(|e| {
            CliError::failure(format!("cannot listen on {}: {e}", settings.http.listen))
        })?;
        print_banner(settings, db, app.port(), &applied);
        app.stop_on_signals();
        app.run_until_stopped()
            .await
            .map_err(|e| CliError::failure(format!("server failed: {e}")))
    })?;
    println!("dscsa-exchange stopped");
    Ok(())
}

fn print_banner(settings: &Settings, db: &Database, port: u16, applied: &[String]) {
    let http = format!("http://{}:{port}", settings.http.listen.ip());
    println!(
        "dscsa-exchange {} listening on {http}",
        env!("CARGO_PKG_VERSION")
    );
    println!("  health:     {http}/health   readiness: {http}/ready");
    match db.private_instance() {
        Some(pg) => {
            println!(
                "  database:   private PostgreSQL, data in {}",
                pg.pgdata().display()
            );
            println!("              socket in {}", pg.socket_dir().display());
            println!(
                "              use another PostgreSQL with DATABASE_URL=postgres://user:password@host:5432/dbname"
            );
        }
        None => println!("  database:   {}", db.display_url()),
    }
    if applied.is_empty() {
        println!("  migrations: up to date");
    } else {
        println!("  migrations: applied {}", applied.join(", "));
    }
    println!("  stop with ctrl-c (SIGINT) or SIGTERM");
}
