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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use dscsa_exchange::store::{self, private_pg::PrivatePostgres};

const GTIN: &str = "00361414123458";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

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

    let server_stderr = std::fs::File::create(dir.join("server.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dscsa-exchange"))
        .arg("serve")
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", &url)
        .env("DSCSA_DATA_DIR", dir.join("data"))
        .env("DSCSA_HTTP_LISTEN", "127.0.0.1:0")
        .env("DSCSA_HTTP_WORKERS", o.workers.to_string())
        .env("DSCSA_DATABASE_POOL_SIZE", o.pool.to_string())
        .env("DSCSA_TLS_ENABLED", "false")
        // An external database is production: serve needs to know who it is.
        .env("DSCSA_ORGANISATION_GLN", "0614141000005")
        .env("DSCSA_ORGANISATION_NAME", "Resolver bench")
        .env("DSCSA_RESOLVER_REQUESTS_PER_MINUTE", "6000000")
        .env("DSCSA_RESOLVER_BURST", "100000")
        .stdout(Stdio::piped())
        .stderr(server_stderr)
        .spawn()
        .expect("start the server binary");
    let port = plain_port(&mut child);
    let report = drive(port, &o);
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().unwrap();
    drop(conn);
    println!(
        "resolver_load: {} serials, {} keep-alive plain-HTTP connections (one thread each, separate process), \
         {} s after {} s warm-up, {} server workers, pool {}",
        o.serials, o.connections, o.seconds, o.warmup, o.workers, o.pool
    );
    report.print(o.seconds);
    println!("  server exited with {status}");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("  load average after the run: {}", load.trim());
    }
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The plain listener's port from the banner; then keeps draining stdout.
fn plain_port(child: &mut Child) -> u16 {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("server exited before its banner (see server.log)")
            .unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.trim().rsplit(':').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    port
}

struct Report {
    ok: u64,
    errors: u64,
    /// Microseconds, sorted.
    latencies: Vec<u32>,
    sample: String,
}

impl Report {
    fn print(&self, seconds: u64) {
        let l = &self.latencies;
        let pct = |p: f64| {
            if l.is_empty() {
                return 0.0;
            }
            l[((l.len() as f64 * p) as usize).min(l.len() - 1)] as f64 / 1000.0
        };
        println!(
            "  {} genuine answers, {} errors: {:.0} requests/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.ok,
            self.errors,
            self.ok as f64 / seconds as f64,
            pct(0.50),
            pct(0.90),
            pct(0.99),
            l.last().copied().unwrap_or(0) as f64 / 1000.0,
        );
        println!("  sample answer: {}", self.sample);
    }
}

fn drive(port: u16, o: &Options) -> Report {
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..o.connections)
        .map(|c| {
            let (stop, measuring) = (stop.clone(), measuring.clone());
            let serials = o.serials;
            std::thread::Builder::new()
                .name(format!("load-{c}"))
                .stack_size(256 * 1024)
                .spawn(move || connection(port, c, serials, &stop, &measuring))
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_secs(o.warmup));
    measuring.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(o.seconds));
    measuring.store(false, Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    let mut report = Report {
        ok: 0,
        errors: 0,
        latencies: Vec::new(),
        sample: String::new(),
    };
    for t in threads {
        let r = t.join().unwrap();
        report.ok += r.ok;
        report.errors += r.errors;
        report.latencies.extend(r.latencies);
        if report.sample.is_empty() {
            report.sample = r.sample;
        }
    }
    report.latencies.sort_unstable();
    report
}

/// One keep-alive connection, one request at a time.
fn connection(
    port: u16,
    c: u64,
    serials: u64,
    stop: &AtomicBool,
    measuring: &AtomicBool,
) -> Report {
    let mut r = Report {
        ok: 0,
        errors: 0,
        latencies: Vec::with_capacity(200_000),
        sample: String::new(),
    };
    let mut stream: Option<TcpStream> = None;
    let mut request = Vec::with_capacity(512);
    let mut buf = vec![0u8; 16 * 1024];
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (c + 1);
    while !stop.load(Ordering::Relaxed) {
        let s = match stream.as_mut() {
            Some(s) => s,
            None => match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => {
                    s.set_nodelay(true).unwrap();
                    stream.insert(s)
                }
                Err(e) => {
                    eprintln!("connection {c}: {e}");
                    r.errors += 1;
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            },
        };
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let serial = x % serials + 1;
        request.clear();
        write!(
            request,
            "GET /01/{GTIN}/10/LOT{}/21/S{serial}?17=281231 HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n",
            serial % 100
        )
        .unwrap();
        let measured = measuring.load(Ordering::Relaxed);
        let t = Instant::now();
        let answer = s
            .write_all(&request)
            .and_then(|()| read_response(s, &mut buf));
        let elapsed = t.elapsed();
        match answer {
            Ok((200, body)) if contains(&buf[body.clone()], b"\"verdict\":\"genuine\"") => {
                if measured {
                    r.ok += 1;
                    r.latencies.push(elapsed.as_micros() as u32);
                }
                if r.sample.is_empty() {
                    r.sample = String::from_utf8_lossy(&buf[body]).into_owned();
                }
            }
            Ok((status, body)) => {
                if measured {
                    r.errors += 1;
                }
                eprintln!(
                    "connection {c}: {status} {}",
                    String::from_utf8_lossy(&buf[body])
                );
            }
            Err(e) => {
                if measured {
                    r.errors += 1;
                }
                eprintln!("connection {c}: {e}; reconnecting");
                stream = None;
            }
        }
    }
    r
}

/// Reads one HTTP/1.1 response with a Content-Length body into `buf`; returns the status and
/// where the body is.
fn read_response(
    s: &mut impl Read,
    buf: &mut [u8],
) -> std::io::Result<(u16, std::ops::Range<usize>)> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let mut filled = 0;
    let head_end = loop {
        if filled == buf.len() {
            return Err(bad("response head too large"));
        }
        let n = s.read(&mut buf[filled..])?;
        if n == 0 {
            return Err(bad("connection closed"));
        }
        filled += n;
        if let Some(i) = find(&buf[..filled], b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head =
        std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("response head is not UTF-8"))?;
    let status: u16 = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .ok_or_else(|| bad("no content-length"))?;
    let end = head_end + length;
    if end > buf.len() {
        return Err(bad("response body too large"));
    }
    while filled < end {
        let n = s.read(&mut buf[filled..end])?;
        if n == 0 {
            return Err(bad("connection closed in the body"));
        }
        filled += n;
    }
    Ok((status, head_end..end))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}
