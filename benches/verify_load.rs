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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use dscsa_exchange::partners::{self, AtpStatus, NewPartner, Role};
use dscsa_exchange::store::{self, private_pg::PrivatePostgres};
use dscsa_exchange::tls::pki::{self, LeafKind};
use openssl::nid::Nid;
use openssl::ssl::{SslConnector, SslMethod, SslStream, SslVerifyMode};
use openssl::x509::store::X509StoreBuilder;

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
    server_log: String,
    /// Requests per connection instead of a timed window (0: timed).
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

    let started = Instant::now();
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
    let client = pki::issue_client(&ca, "0312345000004", "Bench", "trading_partner").unwrap();
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    std::fs::write(tls.join("ca.pem"), ca.cert_pem()).unwrap();
    std::fs::write(tls.join("server.pem"), server.cert_pem()).unwrap();
    std::fs::write(tls.join("server.key"), server.key_pem()).unwrap();
    partners::register(
        &mut conn,
        NewPartner::new("Bench", Role::TradingPartner)
            .gln(Some("0312345000004".parse().unwrap()))
            .atp_status(AtpStatus::Authorized)
            .certificate(Some(client.cert.clone())),
        "bench",
    )
    .unwrap();

    // The real server binary, as deployed: its own process, configured by environment.
    let server_stderr = std::fs::File::create(dir.join("server.log")).unwrap();
    let binary = std::env::var_os("VERIFY_LOAD_SERVER")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_dscsa-exchange").into());
    let wrapper = std::env::var("VERIFY_LOAD_WRAPPER").unwrap_or_default();
    let mut command = match wrapper.split_whitespace().collect::<Vec<_>>().split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(&binary);
            c
        }
        None => Command::new(&binary),
    };
    let mut child = command
        .arg("serve")
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", &o.server_log)
        .env("DATABASE_URL", &url)
        .env("DSCSA_DATA_DIR", dir.join("data"))
        .env("DSCSA_HTTP_LISTEN", "127.0.0.1:0")
        .env("DSCSA_HTTP_WORKERS", o.workers.to_string())
        .env("DSCSA_DATABASE_POOL_SIZE", o.pool.to_string())
        .env("DSCSA_TLS_LISTEN", "127.0.0.1:0")
        .env("DSCSA_TLS_CERT", tls.join("server.pem"))
        .env("DSCSA_TLS_KEY", tls.join("server.key"))
        .env("DSCSA_TLS_CLIENT_CA", tls.join("ca.pem"))
        .env("DSCSA_ORGANISATION_GLN", "0361414000018")
        // For older builds compared with VERIFY_LOAD_SERVER, which know no [organisation].
        .env("DSCSA_VERIFICATION_RESPONDER_GLN", "0361414000018")
        .env("DSCSA_ORGANISATION_NAME", "verify_load responder")
        .stdout(Stdio::piped())
        .stderr(server_stderr)
        .spawn()
        .expect("start the server binary");
    let port = partner_port(&mut child);

    let connector = connector(&ca, &client);
    let report = if o.requests > 0 {
        fixed(&connector, port, &o)
    } else {
        drive(&connector, port, &o)
    };

    // SIGTERM: the server drains and flushes its verification log before it exits.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait().unwrap();
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
    report.print(o.seconds);
    println!("  server exited with {status}; verification log rows: {logged}");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("  load average after the run: {}", load.trim());
    }
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads the banner on the server's stdout for the partner listener's port, then keeps draining
/// stdout so that the server never blocks on a full pipe.
fn partner_port(child: &mut Child) -> u16 {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("server exited before announcing its partner listener (see server.log)")
            .unwrap();
        if let Some(rest) = line.trim().strip_prefix("partners:") {
            let addr = rest.split_whitespace().next().unwrap();
            break addr.rsplit(':').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    port
}

fn connector(ca: &pki::Issued, client: &pki::Issued) -> SslConnector {
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    let mut store = X509StoreBuilder::new().unwrap();
    store.add_cert(ca.cert.clone()).unwrap();
    b.set_verify_cert_store(store.build()).unwrap();
    b.set_verify(SslVerifyMode::PEER);
    b.set_certificate(&client.cert).unwrap();
    b.set_private_key(&client.key).unwrap();
    b.build()
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
            "  {} verified answers, {} errors: {:.0} requests/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
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

fn drive(connector: &SslConnector, port: u16, o: &Options) -> Report {
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..o.connections)
        .map(|c| {
            let (stop, measuring) = (stop.clone(), measuring.clone());
            let connector = connector.clone();
            let serials = o.serials;
            std::thread::Builder::new()
                .name(format!("load-{c}"))
                .stack_size(256 * 1024)
                .spawn(move || connection(&connector, port, c, serials, &stop, &measuring, 0))
                .unwrap()
        })
        .collect();
    // Warm-up: handshakes, caches, prepared statements; then a fixed measured window.
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

/// Exactly `o.requests` requests on each connection (all counted), for instruction counts.
fn fixed(connector: &SslConnector, port: u16, o: &Options) -> Report {
    let stop = AtomicBool::new(false);
    let measuring = AtomicBool::new(true);
    let mut report = Report {
        ok: 0,
        errors: 0,
        latencies: Vec::new(),
        sample: String::new(),
    };
    for c in 0..o.connections {
        let r = connection(connector, port, c, o.serials, &stop, &measuring, o.requests);
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

fn connect(connector: &SslConnector, port: u16) -> std::io::Result<SslStream<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    tcp.set_nodelay(true)?;
    connector
        .connect("localhost", tcp)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// One keep-alive connection, one request at a time; until `stop`, or `limit` requests (when
/// not 0).
fn connection(
    connector: &SslConnector,
    port: u16,
    c: u64,
    serials: u64,
    stop: &AtomicBool,
    measuring: &AtomicBool,
    limit: u64,
) -> Report {
    let mut r = Report {
        ok: 0,
        errors: 0,
        latencies: Vec::with_capacity(200_000),
        sample: String::new(),
    };
    let mut stream = None;
    let mut request = Vec::with_capacity(512);
    let mut buf = vec![0u8; 16 * 1024];
    // A cheap deterministic spread over the stored serials.
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (c + 1);
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) && (limit == 0 || n < limit) {
        let s = match stream.as_mut() {
            Some(s) => s,
            None => match connect(connector, port) {
                Ok(s) => stream.insert(s),
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
        n += 1;
        request.clear();
        write!(
            request,
            "GET /verify/gtin/{GTIN}/lot/LOT{}/ser/S{serial}?exp=281231&linkType=verificationService\
             &context=dscsaSaleableReturn&reqGLN=0312345000004&corrUUID=bench-{c}-{n} HTTP/1.1\r\n\
             Host: localhost\r\n\r\n",
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
            Ok((200, body)) if contains(&buf[body.clone()], b"\"verified\":true") => {
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
    s: &mut SslStream<TcpStream>,
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
