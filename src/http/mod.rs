//! The HTTP API: one route table per listener, thin handlers that call the use-case functions.
//!
//! Two listeners: plain HTTP (health, readiness; loopback by default) and the partner-facing
//! HTTPS listener, which requires a client certificate (mutual TLS) for every route.

mod admin;
mod caller;
mod capture;
mod health;
mod jobs;
mod labels;
pub mod problem;
mod query;
mod resolver;
mod serials;
mod shipments;
mod trace;
mod verify;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{middleware, web, App, HttpServer};

use crate::config::Settings;
use crate::store::PgPool;
use crate::tls::TlsError;
use crate::verification::{requestor, Verifier, VerifierSettings};
use problem::{with_conn, Problem};

/// Shared state handed to every handler.
pub struct AppState {
    pub pool: PgPool,
    /// Client certificate -> partner, kept current by database notifications.
    pub auth: std::sync::Arc<crate::partners::AuthCache>,
    /// Verification: serial facts in batches, the lookup directory, forwarding, the log.
    pub verifier: Verifier,
    /// Defaults for captures (limits, spool folder).
    pub capture: crate::capture::CaptureOptions,
    /// EPCIS 2.0 capture jobs (`POST /capture`).
    pub jobs: jobs::Jobs,
    /// The serial-number key (FF1), loaded at start.
    pub serial_key: std::sync::Arc<crate::serials::SerialKey>,
    /// Per-address rate limit of the public Digital Link page.
    pub page_limiter: resolver::PageLimiter,
    /// Signs the query interface's page tokens (read from the database once).
    pub page_key: crate::query::PageKey,
    /// Who we are: the seller and sender of our shipments.
    pub organisation: Option<crate::config::Organisation>,
}

impl AppState {
    /// Runs blocking database work on a pooled connection, off the executor.
    pub async fn db<T, F>(&self, f: F) -> Result<T, Problem>
    where
        F: FnOnce(&mut diesel::PgConnection) -> Result<T, Problem> + Send + 'static,
        T: Send + 'static,
    {
        with_conn(self.pool.clone(), f).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {0}: {1}")]
    Listen(std::net::SocketAddr, std::io::Error),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("forwarding client: {0}")]
    Forwarder(String),
    #[error("tls.enabled is true but no certificate files were given (tls.cert, tls.key, tls.client_ca)")]
    NoTlsFiles,
    #[error(transparent)]
    SerialKey(#[from] crate::serials::KeyError),
}

/// Built, bound, not yet running servers. `port()`/`tls_port()` tell where they listen (port 0
/// in tests).
pub struct Application {
    port: u16,
    tls_port: Option<u16>,
    servers: Vec<Server>,
    log_writer: Option<std::thread::JoinHandle<()>>,
    listener_stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Application {
    pub fn build(settings: &Settings, pool: PgPool) -> Result<Application, StartError> {
        let serial_key =
            std::sync::Arc::new(crate::serials::SerialKey::load(&settings.serials.key)?);
        let auth = std::sync::Arc::new(crate::partners::AuthCache::default());
        let listener_stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        if let Some(url) = &settings.database.url {
            let (auth, stop, url) = (
                auth.clone(),
                listener_stop.clone(),
                url.expose().to_string(),
            );
            std::thread::Builder::new()
                .name("partner-changes".into())
                .spawn(move || auth.follow_changes(&url, &stop))
                .map_err(|e| StartError::Listen(settings.http.listen, e))?;
        }
        // One look-up thread per worker: PostgreSQL can use every core, batches stay large.
        let lookup_threads = settings.http.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        });
        let (verifier, log_writer) = Verifier::start(
            pool.clone(),
            VerifierSettings {
                database_url: settings
                    .database
                    .url
                    .as_ref()
                    .map(|u| u.expose().to_string()),
                lookup_threads,
                responder_gln: settings.responder_gln(),
                require_link_type: settings.verification.require_link_type,
                forwarder: forwarder(settings)?,
            },
        );
        let state = web::Data::new(AppState {
            auth,
            verifier,
            pool,
            capture: {
                let mut o = crate::capture::CaptureOptions::from_settings(settings);
                o.serial_key = Some(serial_key.clone());
                o
            },
            jobs: jobs::Jobs::default(),
            serial_key,
            page_limiter: resolver::PageLimiter::new(&settings.resolver),
            page_key: crate::query::PageKey::default(),
            organisation: settings.organisation.clone(),
        });

        let listener = TcpListener::bind(settings.http.listen)
            .map_err(|e| StartError::Listen(settings.http.listen, e))?;
        let port = listener
            .local_addr()
            .map_err(|e| StartError::Listen(settings.http.listen, e))?
            .port();
        let plain_state = state.clone();
        let plain = HttpServer::new(move || {
            App::new()
                .wrap(middleware::Logger::new("%a \"%r\" %s %b %Dms"))
                .app_data(plain_state.clone())
                .configure(plain_routes)
                .default_service(web::to(problem::no_route))
        });
        let mut servers = vec![configure!(plain, settings)
            .listen(listener)
            .map_err(|e| StartError::Listen(settings.http.listen, e))?
            .run()];

        let mut tls_port = None;
        if settings.tls.enabled {
            let files = settings.tls.files.as_ref().ok_or(StartError::NoTlsFiles)?;
            let acceptor = crate::tls::acceptor(files)?;
            let listener = TcpListener::bind(settings.tls.listen)
                .map_err(|e| StartError::Listen(settings.tls.listen, e))?;
            tls_port = Some(
                listener
                    .local_addr()
                    .map_err(|e| StartError::Listen(settings.tls.listen, e))?
                    .port(),
            );
            let tls_state = state.clone();
            let partner =
                HttpServer::new(move || {
                    App::new()
                        .wrap(middleware::Logger::new("%a \"%r\" %s %b %Dms"))
                        .app_data(tls_state.clone())
                        .app_data(web::JsonConfig::default().limit(64 * 1024).error_handler(
                            |e, _| {
                                problem::Problem::bad_request(
                                    "invalid-request",
                                    format!("request body: {e}"),
                                )
                                .into()
                            },
                        ))
                        .configure(partner_routes)
                        .default_service(web::to(problem::no_route))
                })
                // Must come before listen: actix ignores on_connect registered after it.
                .on_connect(caller::on_connect);
            servers.push(
                configure!(partner, settings)
                    .listen_openssl(listener, acceptor)
                    .map_err(|e| StartError::Listen(settings.tls.listen, e))?
                    .run(),
            );
        }
        Ok(Application {
            port,
            tls_port,
            servers,
            log_writer: Some(log_writer),
            listener_stop,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The partner-facing (mutual TLS) port, when that listener is enabled.
    pub fn tls_port(&self) -> Option<u16> {
        self.tls_port
    }

    pub fn handles(&self) -> Vec<ServerHandle> {
        self.servers.iter().map(|s| s.handle()).collect()
    }

    /// Stops gracefully on SIGINT (ctrl-c) or SIGTERM: no new connections, in-flight requests
    /// finish (up to `http.shutdown_timeout_secs`). Call from the runtime that runs the server.
    pub fn stop_on_signals(&self) {
        use tokio::signal::unix::{signal, SignalKind};
        let handles = self.handles();
        // Installed here, before the caller announces the server: a signal that arrives
        // between the banner and the first poll of the task must not kill the process.
        let mut int = signal(SignalKind::interrupt()).expect("install SIGINT handler");
        let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
        actix_web::rt::spawn(async move {
            let name = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            log::info!("{name} received: finishing in-flight requests, then stopping");
            for h in handles {
                h.stop(true).await;
            }
        });
    }

    /// Runs until every server has stopped, then flushes the verification log.
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        let handles = self.handles();
        let results = futures_util::future::join_all(std::mem::take(&mut self.servers)).await;
        self.listener_stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
        // One listener stopping (or failing) stops the other.
        for h in handles {
            h.stop(true).await;
        }
        // Dropping the state's log sender happens when the servers' apps are dropped; the
        // writer then drains what is left.
        if let Some(writer) = self.log_writer.take() {
            let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        }
        results.into_iter().collect()
    }
}

/// Settings both servers share. A macro: `HttpServer`'s type parameters are not nameable here.
macro_rules! configure {
    ($server:expr, $settings:expr) => {{
        let server = $server
            .shutdown_timeout($settings.http.shutdown_timeout_secs)
            .client_request_timeout(Duration::from_secs(30))
            // actix stops *forcibly* on SIGINT; we want ctrl-c and SIGTERM both graceful.
            .disable_signals();
        match $settings.http.workers {
            Some(workers) => server.workers(workers),
            None => server,
        }
    }};
}
use configure;

/// The client that forwards verification requests, with our own client certificate.
fn forwarder(settings: &Settings) -> Result<reqwest::Client, StartError> {
    let v = &settings.verification;
    let read =
        |p: &std::path::Path| std::fs::read(p).map_err(|e| StartError::Tls(TlsError::file(p, e)));
    let mut options = requestor::ClientOptions {
        identity: None,
        ca: None,
        timeout: Duration::from_millis(v.forward_timeout_ms),
        connect_timeout: Some(Duration::from_millis(v.forward_timeout_ms.min(3000))),
        follow_redirects: false,
    };
    if let (Some(cert), Some(key)) = (&v.forward_cert, &v.forward_key) {
        let identity = reqwest::Identity::from_pkcs8_pem(&read(cert)?, &read(key)?)
            .map_err(|e| StartError::Forwarder(format!("{}: {e}", cert.display())))?;
        options.identity = Some(identity);
    }
    if let Some(ca) = &v.forward_ca {
        let certs = reqwest::Certificate::from_pem_bundle(&read(ca)?)
            .map_err(|e| StartError::Forwarder(format!("{}: {e}", ca.display())))?;
        options.ca = Some(certs);
    }
    requestor::client(options).map_err(|e| StartError::Forwarder(e.to_string()))
}

/// Plain HTTP: for load balancers and operators, never partner data.
pub fn plain_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::health))
        .route("/ready", web::get().to(health::ready))
        // The public GS1 Digital Link page (rate-limited; docs/SERIALS.md).
        .route("/01/{tail:.*}", web::get().to(resolver::page));
}

/// Mutual TLS: everything partners, regulators and compliance officers call.
pub fn partner_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::health))
        .route("/whoami", web::get().to(admin::whoami))
        .route(
            "/verify/checkConnectivity",
            web::get().to(verify::check_connectivity),
        )
        .route("/verify/scan", web::post().to(verify::verify_scan))
        .route("/verify/{tail:.*}", web::get().to(verify::verify_path))
        .route(
            "/verification-requests",
            web::get().to(admin::verification_requests),
        )
        .route("/epcis/capture", web::post().to(capture::capture))
        .route("/documents/{id}", web::get().to(capture::document))
        .route("/capture", web::post().to(jobs::start))
        .route("/capture/{id}", web::get().to(jobs::status))
        .route("/admin/partners", web::get().to(admin::list_partners))
        .route("/admin/partners", web::post().to(admin::add_partner))
        .route(
            "/admin/partners/{selector}/{action}",
            web::post().to(admin::set_enabled),
        )
        .route("/admin/flags", web::post().to(admin::set_flag))
        .route("/serials/pools", web::get().to(serials::list_pools))
        .route("/serials/pools", web::post().to(serials::create_pool))
        .route(
            "/serials/pools/{gtin}/reconciliation",
            web::get().to(serials::reconciliation),
        )
        .route("/serials/allocate", web::post().to(serials::allocate))
        .route(
            "/serials/allocations/{id}",
            web::get().to(serials::allocation),
        )
        .route(
            "/serials/issued/{gtin}/{serial}",
            web::get().to(serials::issued),
        )
        .route("/labels/{gtin}/{serial}", web::get().to(labels::label))
        .route("/shipments", web::post().to(shipments::create))
        .route("/shipments", web::get().to(shipments::list))
        .route("/shipments/{id}", web::get().to(shipments::show))
        .route(
            "/shipments/{id}/document",
            web::get().to(shipments::document),
        )
        .route("/trace", web::get().to(trace::trace))
        .route("/trace-requests", web::get().to(trace::list_requests))
        .route("/trace-requests", web::post().to(trace::create_request))
        .route("/trace-requests/{id}", web::get().to(trace::request))
        .configure(query::routes);
}
