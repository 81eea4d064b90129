//! Load benchmark of the verification responder over mutual TLS (issue 5's target:
//! >= 10,000 requests/s with p99 below 10 ms, 1,000,000 serials stored, on this 2-core machine).
//!
//! `cargo bench --bench verify_load` (options via env: VERIFY_LOAD_SERIALS, VERIFY_LOAD_SECONDS,
//! VERIFY_LOAD_CONNECTIONS, VERIFY_LOAD_WORKERS). It starts a private PostgreSQL, migrates,
//! seeds the serials with one INSERT … SELECT generate_series, starts the real server with a
//! test PKI, and drives it from keep-alive HTTPS connections that present a registered client
//! certificate. Server, database and load generator share the machine's cores, so the figure
//! is a floor for a deployment where the load comes from elsewhere.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use dscsa_exchange::config::RawSettings;
use dscsa_exchange::http::Application;
use dscsa_exchange::partners::{self, AtpStatus, NewPartner, Role};
use dscsa_exchange::store::{self, private_pg::PrivatePostgres};
use dscsa_exchange::tls::pki::{self, LeafKind};
use dscsa_exchange::tls::TlsFiles;
use openssl::nid::Nid;

const GTIN: &str = "00361414123458";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing we need to honour.
    let serials = env_or("VERIFY_LOAD_SERIALS", 1_000_000);
    let seconds = env_or("VERIFY_LOAD_SECONDS", 15);
    let connections = env_or("VERIFY_LOAD_CONNECTIONS", 32);
    let workers = env_or("VERIFY_LOAD_WORKERS", 2) as usize;

    let dir = std::env::temp_dir().join(format!("dscsa-verify-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pg = PrivatePostgres::start_ephemeral(&dir.join("pg")).expect("start PostgreSQL");
    pg.ensure_database("bench").unwrap();
    let url = pg.url("bench");
    let mut conn = store::connect(&url).unwrap();
    store::migrate(&mut conn).unwrap();

    let started = Instant::now();
    conn.batch_execute(&format!(
        "INSERT INTO serials (epc_key, kind, gtin, serial_number, lot, expiry, status) \
         SELECT '01{GTIN}21' || 'S' || g, 1, '{GTIN}', 'S' || g, 'LOT' || (g % 100), \
                DATE '2028-12-31', 4 \
         FROM generate_series(1, {serials}) g; ANALYZE serials;"
    ))
    .unwrap();
    eprintln!("seeded {serials} serials in {:.1?}", started.elapsed());

    // PKI: CA, server certificate for localhost, one registered client.
    let ca = pki::new_ca("bench CA").unwrap();
    let server = pki::issue(
        &ca,
        &[(Nid::COMMONNAME, "localhost")],
        LeafKind::Server {
            dns: &["localhost"],
            ips: &["127.0.0.1"],
        },
        30,
    )
    .unwrap();
    let client_cert = pki::issue_client(&ca, "0312345000004", "Bench", "trading_partner").unwrap();
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    std::fs::write(dir.join("tls/ca.pem"), ca.cert_pem()).unwrap();
    std::fs::write(dir.join("tls/server.pem"), server.cert_pem()).unwrap();
    std::fs::write(dir.join("tls/server.key"), server.key_pem()).unwrap();
    partners::register(
        &mut conn,
        NewPartner {
            gln: Some("0312345000004".parse().unwrap()),
            name: "Bench".into(),
            role: Role::TradingPartner,
            atp_status: AtpStatus::Authorized,
            licence_number: None,
            licence_expires: None,
            certificate: Some(client_cert.cert.clone()),
        },
        "bench",
    )
    .unwrap();
    drop(conn);

    let mut raw = RawSettings::default();
    raw.http.listen = Some("127.0.0.1:0".into());
    raw.http.workers = Some(workers);
    raw.database.url = Some(url.clone());
    raw.database.pool_size = Some(16);
    raw.tls.listen = Some("127.0.0.1:0".into());
    raw.verification.responder_gln = Some("0361414000018".into());
    let mut settings = raw.validate().unwrap();
    settings.tls.files = Some(TlsFiles {
        cert: dir.join("tls/server.pem"),
        key: dir.join("tls/server.key"),
        client_ca: vec![dir.join("tls/ca.pem")],
        crl: None,
    });

    let server_rt = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let pool = store::pool(&url, 16, Duration::from_secs(5));
            let app = Application::build(&settings, pool).unwrap();
            let port = app.tls_port().unwrap();
            PORT.store(port as u64, Ordering::SeqCst);
            let handles = app.handles();
            HANDLES.lock().unwrap().extend(handles);
            app.run_until_stopped().await.unwrap();
        })
    });
    while PORT.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let port = PORT.load(Ordering::SeqCst);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (count, errors, mut latencies) = rt.block_on(load(
        port,
        &ca.cert_pem(),
        &client_cert,
        serials,
        connections,
        Duration::from_secs(seconds),
    ));
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "verify_load: {serials} serials, {connections} keep-alive mTLS connections, {seconds} s, {workers} server workers"
    );
    println!(
        "  {count} requests, {errors} errors: {:.0} requests/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        count as f64 / seconds as f64,
        pct(0.50) as f64 / 1000.0,
        pct(0.90) as f64 / 1000.0,
        pct(0.99) as f64 / 1000.0,
        *latencies.last().unwrap() as f64 / 1000.0,
    );

    for h in HANDLES.lock().unwrap().drain(..) {
        rt.block_on(h.stop(true));
    }
    server_rt.join().unwrap();
    drop(pg);
}

static PORT: AtomicU64 = AtomicU64::new(0);
static HANDLES: std::sync::Mutex<Vec<actix_web::dev::ServerHandle>> =
    std::sync::Mutex::new(Vec::new());

async fn load(
    port: u64,
    ca_pem: &[u8],
    identity: &pki::Issued,
    serials: u64,
    connections: u64,
    duration: Duration,
) -> (u64, u64, Vec<u32>) {
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..connections {
        let client = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(ca_pem).unwrap()])
            .identity(
                reqwest::Identity::from_pkcs8_pem(&identity.cert_pem(), &identity.key_pem())
                    .unwrap(),
            )
            .pool_max_idle_per_host(1)
            .http1_only()
            .build()
            .unwrap();
        let (stop, measuring) = (stop.clone(), measuring.clone());
        let (count, errors) = (count.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(100_000);
            // A cheap deterministic spread over the stored serials (and some misses).
            let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (c + 1);
            while !stop.load(Ordering::Relaxed) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let serial = x % (serials + serials / 20) + 1;
                let url = format!(
                    "https://localhost:{port}/verify/gtin/{GTIN}/lot/LOT{}/ser/S{serial}?exp=281231&linkType=verificationService&context=dscsaSaleableReturn&reqGLN=0312345000004",
                    serial % 100
                );
                let t = Instant::now();
                match client.get(&url).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        if measuring.load(Ordering::Relaxed) {
                            latencies.push(t.elapsed().as_micros() as u32);
                        }
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    // Warm-up: connections handshake, caches fill; then measure a fixed window.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let base = count.load(Ordering::SeqCst);
    let base_errors = errors.load(Ordering::SeqCst);
    measuring.store(true, Ordering::SeqCst);
    tokio::time::sleep(duration).await;
    let measured = count.load(Ordering::SeqCst) - base;
    let measured_errors = errors.load(Ordering::SeqCst) - base_errors;
    stop.store(true, Ordering::SeqCst);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (measured, measured_errors, all)
}
