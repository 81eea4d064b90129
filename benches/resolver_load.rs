//! Load benchmark of the public Digital Link page (issue 15's target: >= 5,000 requests/s with
//! p99 below 10 ms over plain HTTP with 32 connections, until the rate limit answers).
//!
//! `cargo bench --bench resolver_load` (env: RESOLVER_LOAD_SERIALS, RESOLVER_LOAD_SECONDS,
//! RESOLVER_LOAD_WARMUP_SECONDS, RESOLVER_LOAD_CONNECTIONS, RESOLVER_LOAD_WORKERS,
//! RESOLVER_LOAD_POOL). Like `verify_load`: a private PostgreSQL, serials seeded with
//! generate_series, the real server binary as a child process with the per-address limit
//! raised out of the way (all connections come from 127.0.0.1), and this process as the load
//! generator, one thread per keep-alive connection asking for random stored serials with their
//! right lot and expiry, `Accept: application/json`. Only 200 answers saying `"genuine"` count.

mod load;

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use dscsa_exchange::store::{self, private_pg::PrivatePostgres};
use load::{contains, env_or, xorshift, Connect, Load, Server};

const GTIN: &str = "00361414123458";

struct Options {
    serials: u64,
    seconds: u64,
    warmup: u64,
    connections: u64,
    workers: u64,
    pool: u64,
}

fn main() {
    let o = Options {
        serials: env_or("RESOLVER_LOAD_SERIALS", 1_000_000),
        seconds: env_or("RESOLVER_LOAD_SECONDS", 15),
        warmup: env_or("RESOLVER_LOAD_WARMUP_SECONDS", 3),
        connections: env_or("RESOLVER_LOAD_CONNECTIONS", 32),
        workers: env_or("RESOLVER_LOAD_WORKERS", 2),
        pool: env_or("RESOLVER_LOAD_POOL", 16),
    };
    let dir = std::env::temp_dir().join(format!("dscsa-resolver-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pg = PrivatePostgres::start_ephemeral(&dir.join("pg")).expect("start PostgreSQL");
    pg.ensure_database("bench").unwrap();
    let url = pg.url("bench");
    let mut conn = store::connect(&url).unwrap();
    store::migrate(&mut conn).unwrap();
    let started = Instant::now();
    conn.batch_execute(&format!(
        "INSERT INTO trade_items (gtin, name, strength) VALUES ('{GTIN}', 'Bench tablets', '10 mg'); \
         INSERT INTO serials (epc_key, kind, gtin, serial_number, lot, expiry, status) \
         SELECT '01{GTIN}21' || 'S' || g, 1, '{GTIN}', 'S' || g, 'LOT' || (g % 100), \
                DATE '2028-12-31', 4 \
         FROM generate_series(1, {}) g; ANALYZE serials;",
        o.serials
    ))
    .unwrap();
    eprintln!("seeded {} serials in {:.1?}", o.serials, started.elapsed());

    let env = [
        ("RUST_LOG", "warn".to_string()),
        ("DATABASE_URL", url.clone()),
        ("DSCSA_DATA_DIR", dir.join("data").display().to_string()),
        ("DSCSA_HTTP_WORKERS", o.workers.to_string()),
        ("DSCSA_DATABASE_POOL_SIZE", o.pool.to_string()),
        ("DSCSA_TLS_ENABLED", "false".into()),
        // An external database is production: serve needs to know who it is.
        ("DSCSA_ORGANISATION_GLN", "0614141000005".into()),
        ("DSCSA_ORGANISATION_NAME", "Resolver bench".into()),
        ("DSCSA_RESOLVER_REQUESTS_PER_MINUTE", "6000000".into()),
        ("DSCSA_RESOLVER_BURST", "100000".into()),
    ];
    let server = Server::start(&dir, None, &env);
    let serials = o.serials;
    let report = Load {
        connect: Connect::Plain(server.http_port),
        connections: o.connections,
        warmup: Duration::from_secs(o.warmup),
        measured: Duration::from_secs(o.seconds),
        request: move |c: u64, n: u64, out: &mut Vec<u8>| {
            let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (c + 1) ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D);
            let serial = xorshift(&mut x) % serials + 1;
            use std::io::Write;
            write!(
                out,
                "GET /01/{GTIN}/10/LOT{}/21/S{serial}?17=281231 HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n",
                serial % 100
            )
            .unwrap();
        },
        good: |_c: u64, _n: u64, status: u16, body: &[u8]| status == 200 && contains(body, b"\"verdict\":\"genuine\""),
        fixed: 0,
    }
    .run();
    let status = server.stop();
    drop(conn);
    println!(
        "resolver_load: {} serials, {} keep-alive plain-HTTP connections (one thread each, separate process), \
         {} s after {} s warm-up, {} server workers, pool {}",
        o.serials, o.connections, o.seconds, o.warmup, o.workers, o.pool
    );
    report.print(o.seconds, "genuine answers");
    println!("  server exited with {status}");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("  load average after the run: {}", load.trim());
    }
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir);
}
