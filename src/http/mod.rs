//! The HTTP API: one route table, thin handlers that call the use-case functions.

mod health;
pub mod problem;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{middleware, web, App, HttpServer};

use crate::config::Settings;
use crate::store::PgPool;

/// Shared state handed to every handler.
pub struct AppState {
    pub pool: PgPool,
}

/// A built, bound, not yet running server; `port()` tells where it listens (port 0 in tests).
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub fn build(settings: &Settings, pool: PgPool) -> std::io::Result<Application> {
        let listener = TcpListener::bind(settings.http.listen)?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState { pool });
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(middleware::Logger::new("%a \"%r\" %s %b %Dms"))
                .app_data(state.clone())
                .configure(routes)
                .default_service(web::to(problem::no_route))
        })
        .shutdown_timeout(settings.http.shutdown_timeout_secs)
        .client_request_timeout(Duration::from_secs(30))
        // actix stops *forcibly* on SIGINT; we want ctrl-c and SIGTERM both graceful.
        .disable_signals();
        if let Some(workers) = settings.http.workers {
            server = server.workers(workers);
        }
        let server = server.listen(listener)?.run();
        Ok(Application { port, server })
    }

    /// Stops gracefully on SIGINT (ctrl-c) or SIGTERM: no new connections, in-flight requests
    /// finish (up to `http.shutdown_timeout_secs`). Call from the runtime that runs the server.
    pub fn stop_on_signals(&self) {
        let handle = self.server.handle();
        actix_web::rt::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("install SIGTERM handler");
            let name = tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
            log::info!("{name} received: finishing in-flight requests, then stopping");
            handle.stop(true).await;
        });
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Runs until stopped: SIGINT/SIGTERM (graceful) or [`ServerHandle::stop`].
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The route table: every path the server answers, in one place.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health::health))
        .route("/ready", web::get().to(health::ready));
}
