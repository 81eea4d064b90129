//! End-to-end capture benchmark (issues 4 and 10 §7): DSCSA documents from `gen_epcis.py` are
//! captured (parse, rules, events, memberships, per-serial state) into PostgreSQL as users run
//! it, durable, and into the test suite's fsync-off instance for comparison.
//!
//! `cargo bench --bench capture_load` captures into each of these targets, one after another,
//! each a fresh cluster in the temp folder (same disk as the checkout here):
//!
//! - `private`: the private PostgreSQL exactly as `serve` starts it
//!   (`PrivatePostgres::ensure_running`: initdb, then the server settings of
//!   `src/store/private_pg/settings.rs`), fsync and full-page writes on: what a user of `serve`
//!   gets;
//! - `stock`: a cluster initdb'd and started with PostgreSQL's defaults (fsync on, stock
//!   `postgresql.conf`): what a user with a `DATABASE_URL` to a default PostgreSQL 15 gets;
//! - `test`: the test suite's instance (`start_ephemeral`: fsync, synchronous_commit and
//!   full_page_writes off). Not what users get; reported beside, never instead.
//!
//! Each target gets `CAPTURE_DOCUMENTS` documents (default 2, generator seeds 1, 2, …) into the
//! same database: the first into a fresh cluster (WAL segments are created as it writes), the
//! next ones into a cluster that has been written (as a running server is). Each document
//! starts right after a `CHECKPOINT`, so every page it changes that existed before is logged
//! whole once (full-page writes), as on a server whose last checkpoint came before the capture.
//!
//! Env: CAPTURE_TARGETS (comma-separated, default `private,stock,test`); CAPTURE_FORMATS
//! (comma-separated bindings of the same document, default `xml12`: `xml12` is the generator's
//! EPCIS 1.2 XML, `xml20` and `jsonld` the same document converted by our writer to EPCIS 2.0
//! XML and JSON-LD; each format is captured into a fresh cluster of each target, and the table
//! ends with each format's rate relative to `xml12`); CAPTURE_EPC_FORMAT (the EPC form of the
//! converted documents, a `GS1-EPC-Format` value, default the writer's: Digital Links;
//! `Always_EPC_URN` keeps the generator's URNs, the same identifiers as `xml12`); CAPTURE_ITEMS (default
//! 100000); CAPTURE_DOCUMENTS (default 2); CAPTURE_MAX_EPCS_PER_EVENT (default 0 = the
//! generator's default of one event per level); CAPTURE_SPILL_AFTER (default the server's: EPCs
//! an event keeps in memory); CAPTURE_WALDUMP=1 prints `pg_waldump --stats` of each capture's
//! WAL (by resource manager: heap, btree, hash, full-page images); CAPTURE_KEEP=1 keeps the
//! clusters.
//!
//! Prints, per document: wall time and EPC references per second, WAL written
//! (`pg_current_wal_lsn()` before and after), the CPU time of the database backend, of all the
//! server's processes (backend, WAL writer, checkpointer, …) and of this process (the capture
//! with its reader thread), and the growth of peak RSS (VmHWM). CPU time moves far less with
//! other load on a shared machine than wall time does. Then a raw binary COPY of as many
//! membership rows into a copy of `event_epcs`, for scale.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use diesel::prelude::*;
use dscsa_exchange::capture::{self, CaptureOptions, Outcome};
use dscsa_exchange::store::{self, private_pg::PrivatePostgres};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Fields of /proc/<pid>/stat after the command name (which may hold spaces).
fn stat_fields(pid: &str) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace().map(str::to_string).collect()
}

/// CPU seconds (user + system, clock ticks of 10 ms) a process has used.
fn cpu_seconds(pid: &str) -> f64 {
    let f = stat_fields(pid);
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds of a postmaster and all its children (backends, WAL writer, checkpointer, …):
/// children that exited meanwhile are counted by the postmaster's `cutime`/`cstime`.
fn server_cpu_seconds(postmaster: &str) -> f64 {
    let own = {
        let f = stat_fields(postmaster);
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        (ticks(11) + ticks(12) + ticks(13) + ticks(14)) / 100.0
    };
    let children: f64 = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .filter(|p| stat_fields(p).get(1).map(String::as_str) == Some(postmaster))
        .map(|p| cpu_seconds(&p))
        .sum();
    own + children
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    Private,
    Stock,
    Test,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Private => "private instance as `serve` starts it (durable)",
            Target::Stock => "stock PostgreSQL defaults (durable)",
            Target::Test => "test instance (fsync off: NOT durable)",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Target::Private => "private",
            Target::Stock => "stock",
            Target::Test => "test, fsync off",
        }
    }
}

/// A PostgreSQL cluster the benchmark runs on, stopped (and deleted unless CAPTURE_KEEP) when
/// dropped.
enum Cluster {
    Private(PrivatePostgres),
    Stock(StockPostgres),
}

impl Cluster {
    fn start(target: Target, dir: &Path) -> Cluster {
        match target {
            Target::Private => {
                Cluster::Private(PrivatePostgres::ensure_running(dir).expect("start PostgreSQL"))
            }
            Target::Test => {
                Cluster::Private(PrivatePostgres::start_ephemeral(dir).expect("start PostgreSQL"))
            }
            Target::Stock => Cluster::Stock(StockPostgres::start(dir)),
        }
    }

    fn url(&self, database: &str) -> String {
        match self {
            Cluster::Private(pg) => {
                pg.ensure_database(database).unwrap();
                pg.url(database)
            }
            Cluster::Stock(pg) => {
                pg.psql(&format!("CREATE DATABASE {database}"));
                pg.url(database)
            }
        }
    }

    fn pgdata(&self) -> PathBuf {
        match self {
            Cluster::Private(pg) => pg.pgdata(),
            Cluster::Stock(pg) => pg.dir.join("pgdata"),
        }
    }

    fn postmaster_pid(&self) -> String {
        std::fs::read_to_string(self.pgdata().join("postmaster.pid"))
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string()
    }
}

/// A cluster with PostgreSQL's stock settings: `initdb` and `pg_ctl start` with nothing but a
/// Unix socket in our folder. As root, run as the `postgres` user (initdb refuses root).
struct StockPostgres {
    dir: PathBuf,
    bin: PathBuf,
    user: Option<(u32, u32)>,
}

impl StockPostgres {
    fn start(dir: &Path) -> StockPostgres {
        use std::os::unix::fs::PermissionsExt;
        let bin = store::private_pg::find_bin_dir().expect("PostgreSQL server binaries");
        std::fs::create_dir_all(dir.join("run")).unwrap();
        // SAFETY: geteuid has no preconditions.
        let user = (unsafe { libc::geteuid() } == 0).then(|| {
            let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
            passwd
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() > 3 && f[0] == "postgres")
                .map(|f| (f[2].parse().unwrap(), f[3].parse().unwrap()))
                .expect("a postgres system user to run PostgreSQL as")
        });
        for d in [dir.to_path_buf(), dir.join("run")] {
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
            if let Some((uid, gid)) = user {
                std::os::unix::fs::chown(&d, Some(uid), Some(gid)).unwrap();
            }
        }
        let pg = StockPostgres {
            dir: dir.to_path_buf(),
            bin,
            user,
        };
        let pgdata = dir.join("pgdata");
        pg.run(
            Command::new(pg.bin.join("initdb"))
                .arg("-D")
                .arg(&pgdata)
                .args(["-U", "bench", "--auth=trust", "--encoding=UTF8"])
                .arg("--locale=C"),
        );
        let options = format!("-k '{}' -c listen_addresses=''", dir.join("run").display());
        pg.run(
            Command::new(pg.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&pgdata)
                .arg("-l")
                .arg(dir.join("postgres.log"))
                .args(["-w", "-o", &options, "start"]),
        );
        pg
    }

    fn run(&self, cmd: &mut Command) {
        use std::os::unix::process::CommandExt;
        cmd.current_dir(&self.dir)
            .stdin(std::process::Stdio::null());
        if let Some((uid, gid)) = self.user {
            cmd.uid(uid).gid(gid).env("HOME", &self.dir);
        }
        let out = cmd.output().expect("run a PostgreSQL binary");
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn psql(&self, sql: &str) {
        self.run(
            Command::new(self.bin.join("psql"))
                .args(["-X", "-q", "-h"])
                .arg(self.dir.join("run"))
                .args(["-U", "bench", "-d", "postgres", "-c", sql]),
        );
    }

    fn url(&self, database: &str) -> String {
        let host: String = self
            .dir
            .join("run")
            .to_string_lossy()
            .bytes()
            .map(|b| match b {
                b'/' => "%2F".to_string(),
                b => (b as char).to_string(),
            })
            .collect();
        format!("postgresql://bench@/{database}?host={host}")
    }
}

impl Drop for StockPostgres {
    fn drop(&mut self) {
        self.run(
            Command::new(self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.dir.join("pgdata"))
                .args(["-m", "fast", "-w", "stop"]),
        );
    }
}

/// The generated document for this seed (made once, kept in target/bench-capture).
fn document(items: u64, max_epcs: u64, seed: u64) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/bench-capture");
    std::fs::create_dir_all(&dir).unwrap();
    // Seed 1 keeps the file name of earlier versions of this benchmark.
    let doc = if seed == 1 {
        dir.join(format!("dscsa-{items}-{max_epcs}.xml"))
    } else {
        dir.join(format!("dscsa-{items}-{max_epcs}-seed{seed}.xml"))
    };
    if !doc.exists() {
        let generator = root.join("../shared/tools/gen_epcis.py");
        let status = Command::new("python3")
            .arg(&generator)
            .args(["-n", &items.to_string(), "--seed", &seed.to_string()])
            .args(["--master-data", "--transaction-statement", "-q"])
            .args(["--max-epcs-per-event", &max_epcs.to_string()])
            .arg("-o")
            .arg(&doc)
            .status()
            .expect("python3 and ../shared/tools/gen_epcis.py are needed");
        assert!(status.success());
    }
    doc
}

/// The generator's 1.2 XML document in another binding, converted once by our writer (EPCs as
/// the writer's defaults give them: Digital Links in 2.0, CBV words in JSON-LD).
fn in_format(xml: &Path, format: &str) -> PathBuf {
    use dscsa_exchange::epcis::write::{DocumentWriter, EpcFormat, Format, WriteOptions};
    use dscsa_exchange::epcis::{EpcisReader, Limits, SpillOptions};
    let (f, ext) = match format {
        "xml12" => return xml.to_path_buf(),
        "xml20" => (Format::Xml2, "2.0.xml"),
        "jsonld" => (Format::JsonLd, "jsonld"),
        other => panic!("CAPTURE_FORMATS: unknown format `{other}` (xml12, xml20, jsonld)"),
    };
    let epc = std::env::var("CAPTURE_EPC_FORMAT").ok();
    let options = WriteOptions {
        epc_format: epc.as_deref().map(|e| {
            e.parse::<EpcFormat>()
                .unwrap_or_else(|_| panic!("CAPTURE_EPC_FORMAT: unknown `{e}`"))
        }),
        ..WriteOptions::default()
    };
    let ext = match &epc {
        Some(e) => format!("{e}.{ext}"),
        None => ext.to_string(),
    };
    let out = xml.with_extension(ext);
    if out.exists() {
        return out;
    }
    let input = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(xml).unwrap());
    let mut reader = EpcisReader::new(input, Limits::default()).spill_to(SpillOptions {
        dir: std::env::temp_dir(),
        after: 20_000,
    });
    let tmp = out.with_extension("partial");
    let file = std::io::BufWriter::new(std::fs::File::create(&tmp).unwrap());
    let mut w = DocumentWriter::new(file, f, options);
    while let Some(item) = reader.next_item().unwrap() {
        w.item(&item).unwrap();
    }
    w.finish().unwrap();
    std::fs::rename(&tmp, &out).unwrap();
    out
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

#[derive(QueryableByName)]
struct Lsn {
    #[diesel(sql_type = diesel::sql_types::Text)]
    lsn: String,
}

#[derive(QueryableByName)]
struct Bytes {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn wal_lsn(conn: &mut PgConnection) -> String {
    diesel::sql_query("SELECT pg_current_wal_lsn()::text AS lsn")
        .get_result::<Lsn>(conn)
        .unwrap()
        .lsn
}

fn wal_bytes_since(conn: &mut PgConnection, lsn: &str) -> i64 {
    diesel::sql_query(format!(
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{lsn}')::bigint AS n"
    ))
    .get_result::<Bytes>(conn)
    .unwrap()
    .n
}

/// One document captured.
struct Figures {
    target: Target,
    format: String,
    doc: u64,
    refs: u64,
    seconds: f64,
    wal: i64,
    backend_cpu: f64,
    server_cpu: f64,
    own_cpu: f64,
}

fn run_target(
    target: Target,
    format: &str,
    items: u64,
    max_epcs: u64,
    documents: u64,
) -> Vec<Figures> {
    let dir = std::env::temp_dir().join(format!(
        "dscsa-capture-bench-{}-{}-{format}",
        std::process::id(),
        target.short().split(',').next().unwrap()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cluster = Cluster::start(target, &dir.join("pg"));
    let url = cluster.url("bench");
    let postmaster = cluster.postmaster_pid();
    let mut conn = store::connect(&url).unwrap();
    store::migrate(&mut conn).unwrap();
    let backend = diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(&mut conn)
        .unwrap()
        .pid
        .to_string();
    println!("capture_load of {format} into the {}:", target.label());

    let mut out = Vec::new();
    for seed in 1..=documents {
        let doc = in_format(&document(items, max_epcs, seed), format);
        let size = std::fs::metadata(&doc).unwrap().len();
        let mut opts = CaptureOptions::new(&dir.join("spool"));
        if let Some(n) = std::env::var("CAPTURE_SPILL_AFTER")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            opts.spill_after = n;
        }
        // Start right after a checkpoint, as a capture on a running server often does: the
        // pages it changes that existed before are then logged whole once (full-page writes).
        diesel::sql_query("CHECKPOINT").execute(&mut conn).unwrap();
        let lsn = wal_lsn(&mut conn);
        let (backend_before, server_before, own_before) = (
            cpu_seconds(&backend),
            server_cpu_seconds(&postmaster),
            cpu_seconds("self"),
        );
        let hwm_before = vm_hwm_kib();
        let started = Instant::now();
        let report =
            capture::capture(&mut conn, std::fs::File::open(&doc).unwrap(), &opts).unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let f = Figures {
            target,
            format: format.to_string(),
            doc: seed,
            refs: report.epc_count,
            seconds,
            wal: wal_bytes_since(&mut conn, &lsn),
            backend_cpu: cpu_seconds(&backend) - backend_before,
            server_cpu: server_cpu_seconds(&postmaster) - server_before,
            own_cpu: cpu_seconds("self") - own_before,
        };
        let hwm_after = vm_hwm_kib();
        if std::env::var_os("CAPTURE_WALDUMP").is_some() {
            // What the WAL of this capture consists of, by resource manager, before the next
            // checkpoint recycles its segments.
            let end = wal_lsn(&mut conn);
            let bin = store::private_pg::find_bin_dir().expect("PostgreSQL binaries");
            let out = Command::new(bin.join("pg_waldump"))
                .arg("-p")
                .arg(cluster.pgdata().join("pg_wal"))
                .args(["-s", &lsn, "-e", &end, "--stats"])
                .output()
                .expect("pg_waldump");
            println!("{}", String::from_utf8_lossy(&out.stdout));
        }
        assert_eq!(
            report.outcome,
            Outcome::Accepted,
            "{:?}",
            report.errors.first()
        );
        println!(
            "  document {seed}: {items} items, {:.1} MB, {} events, {} EPC references, {} serials",
            size as f64 / 1e6,
            report.event_count,
            f.refs,
            report.serials_created
        );
        println!(
            "    {:.2} s = {:.0} EPC references/s ({:.1} MB/s); WAL {:.1} MB; peak RSS growth {:.1} MB",
            f.seconds,
            f.refs as f64 / f.seconds,
            size as f64 / 1e6 / f.seconds,
            f.wal as f64 / 1e6,
            (hwm_after.saturating_sub(hwm_before)) as f64 / 1024.0
        );
        println!(
            "    CPU: database backend {:.2} s, all server processes {:.2} s, capture process {:.2} s (reader thread included)",
            f.backend_cpu, f.server_cpu, f.own_cpu
        );
        out.push(f);
    }

    // As many (event_id, role, key) rows as the last document had references, by raw binary
    // COPY into an empty copy of event_epcs (with its indexes), for scale.
    let refs = out.last().map_or(0, |f| f.refs);
    diesel::sql_query("CREATE TABLE copy_probe (LIKE event_epcs INCLUDING ALL)")
        .execute(&mut conn)
        .unwrap();
    diesel::table! {
        copy_probe (event_id, role, epc_key) {
            event_id -> BigInt,
            role -> SmallInt,
            epc_key -> Text,
        }
    }
    #[derive(Insertable)]
    #[diesel(table_name = copy_probe, treat_none_as_default_value = false)]
    struct Row {
        event_id: i64,
        role: i16,
        epc_key: String,
    }
    let rows: Vec<Row> = (0..refs)
        .map(|i| Row {
            event_id: (i / 1000) as i64,
            role: 1,
            epc_key: format!("0100361414123458214{i:012}"),
        })
        .collect();
    let started = Instant::now();
    conn.transaction(|conn| {
        diesel::copy_from(copy_probe::table)
            .from_insertable(&rows)
            .execute(conn)
    })
    .unwrap();
    let copy = started.elapsed();
    println!(
        "  raw binary COPY of {refs} membership rows (event_epcs' columns and indexes), one transaction: {:.2} s = {:.0} rows/s",
        copy.as_secs_f64(),
        refs as f64 / copy.as_secs_f64()
    );
    drop(conn);
    drop(cluster);
    if std::env::var_os("CAPTURE_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("  kept {}", dir.display());
    }
    out
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let items = env_u64("CAPTURE_ITEMS", 100_000);
    let max_epcs = env_u64("CAPTURE_MAX_EPCS_PER_EVENT", 0);
    let documents = env_u64("CAPTURE_DOCUMENTS", 2).max(1);
    let targets: Vec<Target> = std::env::var("CAPTURE_TARGETS")
        .unwrap_or_else(|_| "private,stock,test".into())
        .split(',')
        .filter(|t| !t.trim().is_empty())
        .map(|t| match t.trim() {
            "private" => Target::Private,
            "stock" => Target::Stock,
            "test" => Target::Test,
            other => panic!("CAPTURE_TARGETS: unknown target `{other}` (private, stock, test)"),
        })
        .collect();

    let formats: Vec<String> = std::env::var("CAPTURE_FORMATS")
        .unwrap_or_else(|_| "xml12".into())
        .split(',')
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty())
        .collect();

    let mut all = Vec::new();
    for t in targets {
        for format in &formats {
            all.extend(run_target(t, format, items, max_epcs, documents));
        }
    }
    println!();
    println!(
        "{:<16} {:<6} {:>3} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "target", "format", "doc", "time s", "EPC/s", "WAL MB", "backend", "server", "capture"
    );
    for f in &all {
        println!(
            "{:<16} {:<6} {:>3} {:>7.2} {:>9.0} {:>8.1} {:>8.2} {:>8.2} {:>8.2}",
            f.target.short(),
            f.format,
            f.doc,
            f.seconds,
            f.refs as f64 / f.seconds,
            f.wal as f64 / 1e6,
            f.backend_cpu,
            f.server_cpu,
            f.own_cpu
        );
    }
    println!("(backend, server, capture: CPU seconds of the database backend, of all server processes, of this process)");
    // Each format's rate against 1.2 XML's on the same target (sums over the documents).
    let rate = |t: &str, format: &str| {
        let (refs, secs) = all
            .iter()
            .filter(|f| f.target.short() == t && f.format == format)
            .fold((0u64, 0f64), |(r, s), f| (r + f.refs, s + f.seconds));
        (secs > 0.0).then(|| refs as f64 / secs)
    };
    let mut shown = Vec::new();
    for f in &all {
        let t = f.target.short();
        if f.format == "xml12" || shown.contains(&(t, f.format.as_str())) {
            continue;
        }
        shown.push((t, f.format.as_str()));
        if let (Some(x), Some(o)) = (rate(t, "xml12"), rate(t, &f.format)) {
            println!(
                "{t}: {} {:.0} EPC references/s = {:.1}% of xml12's {:.0} ({:+.1}%)",
                f.format,
                o,
                100.0 * o / x,
                x,
                100.0 * (o / x - 1.0)
            );
        }
    }
}
