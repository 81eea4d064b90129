//! Load benchmark of the EPCIS query interface and of `export` (issue 12's targets), on a
//! durable database as users run it.
//!
//! `cargo bench --bench query_load` builds (once; kept in `target/bench-query`) a database of
//! `QUERY_LOAD_DOCUMENTS` (default 15) generated DSCSA documents of `QUERY_LOAD_ITEMS` (default
//! 100,000) items each, captured one after another through the capture use case into the
//! private PostgreSQL exactly as `serve` starts it (fsync and full-page writes on): about
//! 1,560,000 serials and 3,190,000 event memberships with the defaults. Commissioning events
//! hold at most `QUERY_LOAD_MAX_EPCS_PER_EVENT` (default 100) EPCs each, as a packaging line
//! reports them, so that a serial's history is a few events, not one event of 100,000 EPCs.
//! `QUERY_LOAD_FRESH=1` rebuilds the database.
//!
//! Then the real server binary (`serve`) runs as a child process on that database, and this
//! process is the load generator over mutual TLS, one thread per keep-alive connection
//! (`QUERY_LOAD_CONNECTIONS`, default 32), as a regulator (who may read every event):
//!
//! 1. `GET /epcs/{sgtin}/events`, JSON-LD, random stored items (Digital Link URIs); an answer
//!    counts when it is a 200 holding the serial and its commissioning ObjectEvent;
//! 2. `GET /events?EQ_bizStep=shipping&GE_eventTime=…&perPage=100`, the first page;
//! 3. `GET /events?EQ_bizStep=packing&GE_eventTime=…&perPage=100`: the first page, and a later
//!    page (the 10th, through its signed `nextPageToken`). The generator writes one shipping event
//!    a document, so the shipping query has no later page; packing has thousands of events.
//!
//! Pages run with `QUERY_LOAD_PAGE_CONNECTIONS` (default 8) connections. Each phase runs
//! `QUERY_LOAD_SECONDS` (default 15) after `QUERY_LOAD_WARMUP_SECONDS` (default 3). Last,
//! `dscsa-exchange export` of every event to a file, JSON-LD and 1.2 XML, with its wall time and
//! peak RSS (wait4). Server workers `QUERY_LOAD_WORKERS` (2), pool `QUERY_LOAD_POOL` (16).
//! Server, PostgreSQL and the generator share the machine's cores, so the figures are a floor
//! for a deployment where the load comes from elsewhere.

mod load;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use dscsa_exchange::capture::{self, CaptureOptions, Outcome};
use dscsa_exchange::partners::{self, NewPartner, Role};
use dscsa_exchange::store::{self, private_pg::PrivatePostgres};
use load::{contains, env_or, xorshift, Answer, Connect, Load, Pki, Server};

const REGULATOR_GLN: &str = "0312345000004";

/// The generated document for this seed (made once, kept in target/bench-query/documents).
fn document(root: &Path, items: u64, max_epcs: u64, seed: u64) -> PathBuf {
    let dir = root.join("documents");
    std::fs::create_dir_all(&dir).unwrap();
    let doc = dir.join(format!("dscsa-{items}-{max_epcs}-seed{seed}.xml"));
    if !doc.exists() {
        let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/gen_epcis.py");
        let partial = doc.with_extension("partial");
        let status = Command::new("python3")
            .arg(&generator)
            .args(["-n", &items.to_string(), "--seed", &seed.to_string()])
            .args(["--master-data", "--transaction-statement", "-q"])
            .args(["--max-epcs-per-event", &max_epcs.to_string()])
            .arg("-o")
            .arg(&partial)
            .status()
            .expect("python3 and ../shared/tools/gen_epcis.py are needed");
        assert!(status.success());
        std::fs::rename(&partial, &doc).unwrap();
    }
    doc
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
}

#[derive(QueryableByName)]
struct Key {
    #[diesel(sql_type = diesel::sql_types::Text)]
    gtin: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    serial_number: String,
}

/// Builds the database unless it is there from an earlier run with the same shape.
fn build(root: &Path, pg: &PrivatePostgres, items: u64, max_epcs: u64, documents: u64) {
    let marker = root.join("built");
    let shape = format!("{items} items x {documents} documents, max {max_epcs} EPCs/event\n");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(shape.as_str()) {
        println!("database from an earlier run: {}", shape.trim());
        return;
    }
    let _ = std::fs::remove_file(&marker);
    let mut admin = store::connect(&pg.url("postgres")).unwrap();
    diesel::sql_query("DROP DATABASE IF EXISTS bench")
        .execute(&mut admin)
        .unwrap();
    pg.ensure_database("bench").unwrap();
    let mut conn = store::connect(&pg.url("bench")).unwrap();
    store::migrate(&mut conn).unwrap();
    let opts = CaptureOptions::new(&root.join("spool"));
    let started = Instant::now();
    let mut refs = 0;
    for seed in 1..=documents {
        let doc = document(root, items, max_epcs, seed);
        let t = Instant::now();
        let report =
            capture::capture(&mut conn, std::fs::File::open(&doc).unwrap(), &opts).unwrap();
        assert_eq!(
            report.outcome,
            Outcome::Accepted,
            "{:?}",
            report.errors.first()
        );
        refs += report.epc_count;
        println!(
            "  captured document {seed}/{documents}: {} EPC references in {:.1} s",
            report.epc_count,
            t.elapsed().as_secs_f64()
        );
    }
    diesel::sql_query("VACUUM ANALYZE")
        .execute(&mut conn)
        .unwrap();
    println!(
        "built the database: {refs} EPC references in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    std::fs::write(&marker, shape).unwrap();
}

/// A percent-encoded path segment.
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn request_line(out: &mut Vec<u8>, path: &str) {
    write!(
        out,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: application/ld+json\r\n\r\n"
    )
    .unwrap();
}

/// One page fetched once, for the `Link` of the next one.
fn next_link(connect: &Connect, path: &str) -> String {
    let mut s = connect.open().unwrap();
    let mut req = Vec::new();
    request_line(&mut req, path);
    s.write_all(&req).unwrap();
    let mut answer = Answer::default();
    let status = answer.read(s.as_mut()).unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let link = answer
        .header("link")
        .unwrap_or_else(|| panic!("no Link header on {path}: no later page"));
    link.trim()
        .strip_prefix('<')
        .and_then(|l| l.split_once('>'))
        .map(|(l, _)| l.to_string())
        .expect("Link: <...>; rel=\"next\"")
}

struct Phase {
    name: String,
    /// CPU seconds the server process used in the phase (warm-up included).
    server_cpu: f64,
    connections: u64,
    report: load::Report,
    seconds: u64,
}

/// CPU seconds (user + system) a process has used.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn page_phase(name: &str, connect: &Connect, path: String, o: &Options, pid: &str) -> Phase {
    let before = cpu_seconds(pid);
    let report = Load {
        connect: connect.clone(),
        connections: o.page_connections,
        warmup: Duration::from_secs(o.warmup),
        measured: Duration::from_secs(o.seconds),
        request: move |_c: u64, _n: u64, out: &mut Vec<u8>| request_line(out, &path),
        good: |_c: u64, _n: u64, status: u16, body: &[u8]| {
            status == 200 && contains(body, b"\"eventList\"")
        },
        fixed: 0,
    }
    .run();
    Phase {
        name: name.into(),
        server_cpu: cpu_seconds(pid) - before,
        connections: o.page_connections,
        report,
        seconds: o.seconds,
    }
}

/// `dscsa-exchange export` of everything: wall time, what it wrote, its own peak RSS.
fn export(dir: &Path, url: &str, format: &str) {
    let out = dir.join(format!("export.{format}"));
    let started = Instant::now();
    // Waited for with wait4 below, for its own rusage.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_dscsa-exchange"))
        .args(["export", "--format", format, "-o"])
        .arg(&out)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("DSCSA_DATA_DIR", dir.join("data"))
        .env("DSCSA_ORGANISATION_GLN", "0361414000018")
        .env("DSCSA_ORGANISATION_NAME", "query_load exporter")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run export");
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.unwrap();
    let mut said = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut said).unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 on our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(status, 0, "export failed: {said}");
    let refs: f64 = said
        .split(" events, ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("export said: {said}"));
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    let cpu = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    println!(
        "  export --format {format}: {} in {seconds:.2} s = {:.0} EPC references/s, {:.0} MB written, peak RSS {:.1} MB, export process CPU {:.2} s",
        said.trim(),
        refs / seconds,
        size as f64 / 1e6,
        usage.ru_maxrss as f64 / 1024.0,
        cpu(usage.ru_utime) + cpu(usage.ru_stime)
    );
    let _ = std::fs::remove_file(&out);
}

struct Options {
    items: u64,
    documents: u64,
    max_epcs: u64,
    seconds: u64,
    warmup: u64,
    connections: u64,
    page_connections: u64,
    workers: u64,
    pool: u64,
}

fn main() {
    let o = Options {
        items: env_or("QUERY_LOAD_ITEMS", 100_000),
        documents: env_or("QUERY_LOAD_DOCUMENTS", 15).max(1),
        max_epcs: env_or("QUERY_LOAD_MAX_EPCS_PER_EVENT", 100),
        seconds: env_or("QUERY_LOAD_SECONDS", 15),
        warmup: env_or("QUERY_LOAD_WARMUP_SECONDS", 3),
        connections: env_or("QUERY_LOAD_CONNECTIONS", 32),
        page_connections: env_or("QUERY_LOAD_PAGE_CONNECTIONS", 8),
        workers: env_or("QUERY_LOAD_WORKERS", 2),
        pool: env_or("QUERY_LOAD_POOL", 16),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-query");
    if std::env::var_os("QUERY_LOAD_FRESH").is_some() {
        let _ = std::fs::remove_dir_all(root.join("pg"));
    }
    std::fs::create_dir_all(&root).unwrap();
    // The private instance exactly as `serve` starts it: durable.
    let pg = PrivatePostgres::ensure_running(&root.join("pg")).expect("start PostgreSQL");
    build(&root, &pg, o.items, o.max_epcs, o.documents);
    let url = pg.url("bench");
    let mut conn = store::connect(&url).unwrap();
    let serials = count(&mut conn, "SELECT count(*) AS n FROM serials");
    let memberships = count(&mut conn, "SELECT count(*) AS n FROM event_epcs");
    let events = count(&mut conn, "SELECT count(*) AS n FROM events");
    println!("database: {serials} serials, {memberships} event memberships, {events} events");

    let keys: Vec<String> = diesel::sql_query(
        "SELECT gtin, serial_number FROM serials TABLESAMPLE SYSTEM (2) \
         WHERE kind = 1 LIMIT 20000",
    )
    .load::<Key>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|k| {
        segment(&format!(
            "https://id.gs1.org/01/{}/21/{}",
            k.gtin, k.serial_number
        ))
    })
    .collect();
    assert!(!keys.is_empty(), "no item serials sampled");
    let serial_of: Vec<String> = keys
        .iter()
        .map(|k| k.rsplit("%2F").next().unwrap().to_string())
        .collect();

    let dir = root.join(format!("run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pki = Pki::new(&dir.join("tls"), REGULATOR_GLN, "regulator");
    // A registration from an earlier run names another certificate: replace it.
    for sql in [
        "DELETE FROM partner_certificates",
        "DELETE FROM trading_partners WHERE name = 'Bench regulator'",
    ] {
        diesel::sql_query(sql).execute(&mut conn).unwrap();
    }
    partners::register(
        &mut conn,
        NewPartner::new("Bench regulator", Role::Regulator)
            .gln(Some(REGULATOR_GLN.parse().unwrap()))
            .certificate(Some(pki.client.cert.clone())),
        "bench",
    )
    .unwrap();
    let first_time: String = {
        #[derive(QueryableByName)]
        struct T {
            #[diesel(sql_type = diesel::sql_types::Text)]
            t: String,
        }
        diesel::sql_query(
            "SELECT to_char(min(event_time) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS t FROM events",
        )
        .get_result::<T>(&mut conn)
        .unwrap()
        .t
    };
    drop(conn);

    let mut env = vec![
        ("RUST_LOG", "warn".to_string()),
        ("DATABASE_URL", url.clone()),
        ("DSCSA_DATA_DIR", dir.join("data").display().to_string()),
        ("DSCSA_HTTP_WORKERS", o.workers.to_string()),
        ("DSCSA_DATABASE_POOL_SIZE", o.pool.to_string()),
        ("DSCSA_ORGANISATION_GLN", "0361414000018".into()),
        ("DSCSA_ORGANISATION_NAME", "query_load server".into()),
    ];
    env.extend(pki.server_env());
    let server = Server::start(&dir, None, &env);
    let connect = Connect::Tls(pki.connector(), server.partner_port.unwrap());

    let mut phases = Vec::new();
    let pick = |c: u64, n: u64, len: usize| {
        let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (c + 1) ^ n.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (xorshift(&mut x) % len as u64) as usize
    };
    let keys_c = keys.clone();
    let pid = server.pid();
    let before = cpu_seconds(&pid);
    let report = Load {
        connect: connect.clone(),
        connections: o.connections,
        warmup: Duration::from_secs(o.warmup),
        measured: Duration::from_secs(o.seconds),
        request: move |c: u64, n: u64, out: &mut Vec<u8>| {
            let path = format!("/epcs/{}/events", keys_c[pick(c, n, keys_c.len())]);
            request_line(out, &path);
        },
        // The answer must be the history of the serial asked for: its commissioning event.
        good: move |c: u64, n: u64, status: u16, body: &[u8]| {
            let serial = &serial_of[pick(c, n, serial_of.len())];
            status == 200 && contains(body, b"\"ObjectEvent\"") && contains(body, serial.as_bytes())
        },
        fixed: 0,
    }
    .run();
    phases.push(Phase {
        server_cpu: cpu_seconds(&pid) - before,
        name: "GET /epcs/{sgtin}/events (JSON-LD)".into(),
        connections: o.connections,
        report,
        seconds: o.seconds,
    });

    let shipping = format!("/events?EQ_bizStep=shipping&GE_eventTime={first_time}&perPage=100");
    phases.push(page_phase(
        "GET /events?EQ_bizStep=shipping… first page",
        &connect,
        shipping,
        &o,
        &pid,
    ));
    let packing = format!("/events?EQ_bizStep=packing&GE_eventTime={first_time}&perPage=100");
    let mut later = packing.clone();
    for _ in 0..9 {
        later = next_link(&connect, &later);
    }
    phases.push(page_phase(
        "GET /events?EQ_bizStep=packing… first page",
        &connect,
        packing,
        &o,
        &pid,
    ));
    phases.push(page_phase(
        "GET /events?EQ_bizStep=packing… 10th page (nextPageToken)",
        &connect,
        later,
        &o,
        &pid,
    ));
    let status = server.stop();

    println!(
        "query_load: {serials} serials, {memberships} memberships, {events} events; \
         private PostgreSQL as `serve` starts it (durable); regulator over mutual TLS; \
         {} server workers, pool {}; {} s after {} s warm-up each",
        o.workers, o.pool, o.seconds, o.warmup
    );
    for p in &phases {
        println!("{} — {} keep-alive connections:", p.name, p.connections);
        p.report.print(p.seconds, "good answers");
        let answers = p.report.ok as f64 * (p.seconds + o.warmup) as f64 / p.seconds as f64;
        println!(
            "  server process CPU {:.1} s over warm-up and run: about {:.0} µs per answer",
            p.server_cpu,
            p.server_cpu * 1e6 / answers.max(1.0)
        );
    }
    println!("  server exited with {status}");
    export(&dir, &url, "jsonld");
    export(&dir, &url, "xml12");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("  load average after the run: {}", load.trim());
    }
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir);
}
