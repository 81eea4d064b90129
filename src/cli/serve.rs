//! `dscsa-exchange serve`: start (or attach to) the database, migrate, serve until SIGINT/SIGTERM.

use std::time::Duration;

use diesel::PgConnection;

use super::CliError;
use crate::config::{Organisation, Settings, DEV_ORGANISATION_FILE};
use crate::http::Application;
use crate::partners::{self, NewPartner, Role};
use crate::store::{self, Database};
use crate::tls::pki::PkiPaths;
use crate::tls::TlsFiles;

pub fn run(mut settings: Settings) -> Result<(), CliError> {
    settings.organisation = Some(organisation(&settings)?);
    let mut db = Database::open_for_server(&settings)?;
    // The server's background connections (partner-change listener, verification look-ups)
    // need the URL also when it is the private instance's, which the settings do not name.
    settings.database.url = Some(crate::config::Secret::new(db.url()));
    let result = store::connect(db.url())
        .map_err(CliError::from)
        .and_then(|mut conn| {
            // Migrate once, first: the dev PKI registers its admin in the migrated schema.
            let applied = store::migrate(&mut conn)?;
            let curl = dev_pki(&mut settings, &mut conn)?;
            drop(conn);
            serve(&settings, &db, curl, &applied)
        });
    // The private instance stops only after the server has drained its requests.
    db.shutdown()?;
    result
}

/// Who this server is: the configured `[organisation]`; on the development default a generated
/// development identity (kept in `data_dir`); in production (an external database or
/// certificates of its own) a missing identity is a configuration error.
pub(super) fn organisation(settings: &Settings) -> Result<Organisation, CliError> {
    if let Some(org) = &settings.organisation {
        return Ok(org.clone());
    }
    if let Some(reason) = settings.production_reason() {
        return Err(CliError::config(format!(
            "`organisation.gln` is not set: a production server ({reason}) must know who it is \
             (responderGLN of verification answers, seller and sender of shipments). Set \
             [organisation] gln = \"…\", name = \"…\" and company_prefixes = [\"…\"] in the \
             config file, or DSCSA_ORGANISATION_GLN, DSCSA_ORGANISATION_NAME and \
             DSCSA_ORGANISATION_COMPANY_PREFIXES"
        )));
    }
    let org = Organisation::development(&settings.data_dir).map_err(CliError::config)?;
    log::warn!(
        "using the development identity GLN {} from {} (not for production: configure [organisation])",
        org.gln.as_str(),
        settings.data_dir.join(DEV_ORGANISATION_FILE).display()
    );
    Ok(org)
}

/// With no certificates configured, the partner listener runs on a development PKI under
/// `data_dir/tls`, created on first start together with a registered admin client certificate.
/// Returns a `curl` line that works against it.
fn dev_pki(settings: &mut Settings, conn: &mut PgConnection) -> Result<Option<String>, CliError> {
    if !settings.tls.enabled || settings.tls.files.is_some() {
        return Ok(None);
    }
    let pki = PkiPaths::new(&settings.data_dir.join("tls"));
    const LABEL: &str = "dev-admin";
    if !pki.exists() {
        pki.init(&[]).map_err(CliError::failure)?;
        log::warn!(
            "created a development PKI in {} (not for production: configure tls.cert, tls.key, tls.client_ca)",
            pki.dir.display()
        );
    }
    if !pki.client_cert(LABEL).exists() {
        let mut password = [0u8; 12];
        openssl::rand::rand_bytes(&mut password).map_err(CliError::failure)?;
        let password: String = password.iter().map(|b| format!("{b:02x}")).collect();
        let cert = pki
            .issue_client(LABEL, LABEL, "Development admin", "admin", &password)
            .map_err(CliError::failure)?;
        partners::register(
            conn,
            NewPartner::new("Development admin", Role::Admin).certificate(Some(cert)),
            "serve:dev-pki",
        )
        .map_err(CliError::failure)?;
    }
    settings.tls.files = Some(TlsFiles {
        cert: pki.server_cert(),
        key: pki.server_key(),
        client_ca: vec![pki.ca_cert()],
        crl: None,
    });
    Ok(Some(format!(
        "curl --cacert {} --cert {} --key {} https://localhost:{{port}}/whoami",
        pki.ca_cert().display(),
        pki.client_cert(LABEL).display(),
        pki.client_key(LABEL).display()
    )))
}

fn serve(
    settings: &Settings,
    db: &Database,
    curl: Option<String>,
    applied: &[String],
) -> Result<(), CliError> {
    let spool = settings.data_dir.join("spool");
    let removed = crate::capture::clean_spool(&spool, std::time::Duration::from_secs(3600));
    if removed > 0 {
        log::info!(
            "removed {removed} spool file(s) of interrupted captures from {}",
            spool.display()
        );
    }
    let pool = store::pool(
        db.url(),
        settings.database.pool_size,
        Duration::from_secs(settings.database.connect_timeout_secs),
    );
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings, pool).map_err(CliError::failure)?;
        app.stop_on_signals();
        print_banner(settings, db, &app, applied, curl.as_deref());
        app.run_until_stopped()
            .await
            .map_err(|e| CliError::failure(format!("server failed: {e}")))
    })?;
    println!("dscsa-exchange stopped");
    Ok(())
}

fn print_banner(
    settings: &Settings,
    db: &Database,
    app: &Application,
    applied: &[String],
    curl: Option<&str>,
) {
    let http = format!("http://{}:{}", settings.http.listen.ip(), app.port());
    println!(
        "dscsa-exchange {} listening on {http}",
        env!("CARGO_PKG_VERSION")
    );
    println!("  health:     {http}/health   readiness: {http}/ready");
    if let Some(port) = app.tls_port() {
        println!(
            "  partners:   https://{}:{port} (mutual TLS: client certificate required)",
            settings.tls.listen.ip()
        );
        if let Some(curl) = curl {
            println!(
                "  try:        {}",
                curl.replace("{port}", &port.to_string())
            );
        }
    }
    if let Some(org) = &settings.organisation {
        let gln = settings.responder_gln().unwrap_or(org.gln);
        if org.development {
            println!(
                "  identity:   DEVELOPMENT organisation, GLN {} (GS1 demo prefix 952), kept in {}",
                org.gln.as_str(),
                settings.data_dir.join(DEV_ORGANISATION_FILE).display()
            );
            println!(
                "              not for production: set [organisation] gln, name, company_prefixes"
            );
        } else {
            println!(
                "  identity:   {} (GLN {}, company prefixes {})",
                org.name,
                org.gln.as_str(),
                if org.company_prefixes.is_empty() {
                    "none configured".to_string()
                } else {
                    org.company_prefixes.join(", ")
                }
            );
        }
        if gln != org.gln {
            println!(
                "              verification answers as GLN {} (verification.responder_gln)",
                gln.as_str()
            );
        }
    }
    match db.private_instance() {
        Some(pg) => {
            println!(
                "  database:   private PostgreSQL, data in {}",
                pg.pgdata().display()
            );
            if let Some(configured) = pg.relocated_from() {
                println!(
                    "              (not in {}: the postgres user cannot reach it; {}/relocated-to points here)",
                    configured.display(),
                    configured.display()
                );
            }
            if let Some(pid) = pg.adopted_from() {
                println!(
                    "              adopted: left running by {} that is gone; stopped when this server stops",
                    if pid == 0 { "a process".to_string() } else { format!("pid {pid}") }
                );
            }
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
    if let crate::config::SerialKeySource::Development(key) = &settings.serials.key {
        println!(
            "  serials:    development key in {} (for development only: set serials.key_file or serials.key_env)",
            key.display()
        );
    }
    println!("  stop with ctrl-c (SIGINT) or SIGTERM");
}
