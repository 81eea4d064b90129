//! Load benchmark of the verification responder over mutual TLS (issue 5's target:
//! >= 10,000 requests/s with p99 below 10 ms, 1,000,000 serials stored, on this 2-core machine).
//!
//! `cargo bench --bench verify_load` (options via env: VERIFY_LOAD_SERIALS, VERIFY_LOAD_SECONDS,
//! VERIFY_LOAD_WARMUP_SECONDS, VERIFY_LOAD_CONNECTIONS, VERIFY_LOAD_WORKERS, VERIFY_LOAD_POOL,
//! VERIFY_LOAD_SERVER_LOG for the server's RUST_LOG, VERIFY_LOAD_SERVER for another build of the
//! server binary to compare with).
//!
//! Instruction counts (repeatable on a shared machine, unlike times): VERIFY_LOAD_REQUESTS=N
//! sends exactly N requests per connection, one after the other, instead of a timed window,
//! and VERIFY_LOAD_WRAPPER runs the server under a command, e.g.
//! `VERIFY_LOAD_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p"`; run with
//! N and 2N requests and take the difference of the totals, so start-up and shutdown cancel
//! out (`.ci/verify_callgrind.sh` does that for two server binaries). It starts a private PostgreSQL, migrates,
//! seeds the serials with one INSERT … SELECT generate_series, registers a client certificate,
//! and starts the real server binary (`dscsa-exchange serve`) as a child process. This process
//! is then only the load generator: one thread per keep-alive HTTP/1.1 connection over blocking
//! OpenSSL, asking for random stored serials with their right lot and expiry. Only 200 answers
//! whose body says `"verified":true` count; anything else is an error. Server, PostgreSQL and
//! the generator share the machine's cores, so the figure is a floor for a deployment where the
//! load comes from elsewhere.

mod load;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use dscsa_exchange::partners::{self, AtpStatus, NewPartner, Role};
use dscsa_exchange::store::{self, private_pg::PrivatePostgres};
use load::{contains, env_or, xorshift, Connect, Load, Pki, Server};

const GTIN: &str = "00361414123458";

struct Options {
    serials: u64,
    seconds: u64,
    warmup: u64,
    connections: u64,
    workers: u64,
    pool: u64,
    server_log: String,
    requests: u64,
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing we need to honour.
    let o = Options {
        serials: env_or("VERIFY_LOAD_SERIALS", 1_000_000),
        seconds: env_or("VERIFY_LOAD_SECONDS", 15),
        warmup: env_or("VERIFY_LOAD_WARMUP_SECONDS", 3),
        connections: env_or("VERIFY_LOAD_CONNECTIONS", 32),
        workers: env_or("VERIFY_LOAD_WORKERS", 2),
        pool: env_or("VERIFY_LOAD_POOL", 16),
        server_log: std::env::var("VERIFY_LOAD_SERVER_LOG").unwrap_or_else(|_| "info".into()),
        requests: env_or("VERIFY_LOAD_REQUESTS", 0),
    };

    let dir = std::env::temp_dir().join(format!("dscsa-verify-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pg = PrivatePostgres::start_ephemeral(&dir.join("pg")).expect("start PostgreSQL");
    pg.ensure_database("bench").unwrap();
    let url = pg.url("bench");
    let mut conn = store::connect(&url).unwrap();
    store::migrate(&mut conn).unwrap();

    let started = std::time::Instant::now();
    conn.batch_execute(&format!(
        "INSERT INTO serials (epc_key, kind, gtin, serial_number, lot, expiry, status) \
         SELECT '01{GTIN}21' || 'S' || g, 1, '{GTIN}', 'S' || g, 'LOT' || (g % 100), \
                DATE '2028-12-31', 4 \
         FROM generate_series(1, {}) g; ANALYZE serials;",
        o.serials
    ))
    .unwrap();
    eprintln!("seeded {} serials in {:.1?}", o.serials, started.elapsed());

    // PKI: CA, server certificate for localhost, one registered client.
    let pki = Pki::new(&dir.join("tls"), "0312345000004", "trading_partner");
    partners::register(
        &mut conn,
        NewPartner::new("Bench", Role::TradingPartner)
            .gln(Some("0312345000004".parse().unwrap()))
            .atp_status(AtpStatus::Authorized)
            .certificate(Some(pki.client.cert.clone())),
        "bench",
    )
    .unwrap();

    let mut env = vec![
        ("RUST_LOG", o.server_log.clone()),
        ("DATABASE_URL", url.clone()),
        ("DSCSA_DATA_DIR", dir.join("data").display().to_string()),
        ("DSCSA_HTTP_WORKERS", o.workers.to_string()),
        ("DSCSA_DATABASE_POOL_SIZE", o.pool.to_string()),
        ("DSCSA_ORGANISATION_GLN", "0361414000018".into()),
        // For older builds compared with VERIFY_LOAD_SERVER, which know no [organisation].
        ("DSCSA_VERIFICATION_RESPONDER_GLN", "0361414000018".into()),
        ("DSCSA_ORGANISATION_NAME", "verify_load responder".into()),
    ];
    env.extend(pki.server_env());
    let wrapper = std::env::var("VERIFY_LOAD_WRAPPER").unwrap_or_default();
    let server =
        Server::start_wrapped(&dir, std::env::var_os("VERIFY_LOAD_SERVER"), &wrapper, &env);

    let serials = o.serials;
    let report = Load {
        connect: Connect::Tls(pki.connector(), server.partner_port.unwrap()),
        connections: o.connections,
        warmup: Duration::from_secs(o.warmup),
        measured: Duration::from_secs(o.seconds),
        // A cheap deterministic spread over the stored serials, with their right lot and expiry.
        request: move |c: u64, n: u64, out: &mut Vec<u8>| {
            let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (c + 1) ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D);
            let serial = xorshift(&mut x) % serials + 1;
            use std::io::Write;
            write!(
                out,
                "GET /verify/gtin/{GTIN}/lot/LOT{}/ser/S{serial}?exp=281231&linkType=verificationService\
                 &context=dscsaSaleableReturn&reqGLN=0312345000004&corrUUID=bench-{c}-{n} HTTP/1.1\r\n\
                 Host: localhost\r\n\r\n",
                serial % 100
            )
            .unwrap();
        },
        good: |_c: u64, _n: u64, status: u16, body: &[u8]| status == 200 && contains(body, b"\"verified\":true"),
        fixed: o.requests,
    }
    .run();

    let status = server.stop();
    let logged: i64 = {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::RunQueryDsl::get_result::<N>(
            diesel::sql_query("SELECT count(*) AS n FROM verification_requests"),
            &mut conn,
        )
        .unwrap()
        .n
    };
    drop(conn);

    println!(
        "verify_load: {} serials, {} keep-alive mTLS connections (one thread each, separate process), \
         {} s after {} s warm-up, {} server workers, pool {}, server RUST_LOG={}",
        o.serials, o.connections, o.seconds, o.warmup, o.workers, o.pool, o.server_log
    );
    // A fixed count is not a rate: print it over one second.
    report.print(
        if o.requests > 0 { 1 } else { o.seconds },
        "verified answers",
    );
    println!("  server exited with {status}; verification log rows: {logged}");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("  load average after the run: {}", load.trim());
    }
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir);
}
