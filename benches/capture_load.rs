//! End-to-end capture benchmark (issue 4): a DSCSA document from `gen_epcis.py` is captured
//! into a private PostgreSQL (parse, rules, events, memberships, per-serial state), and the
//! figure is set next to a raw binary COPY of the same number of membership rows.
//!
//! `cargo bench --bench capture_load` (env: CAPTURE_ITEMS, default 100000;
//! CAPTURE_MAX_EPCS_PER_EVENT, default 0 = the generator's default of one event per level;
//! CAPTURE_SPILL_AFTER, default the server's: EPCs an event keeps in memory).
//! Prints EPC references per second and the growth of peak RSS (VmHWM) during the capture.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use diesel::prelude::*;
use dscsa_exchange::capture::{self, CaptureOptions, Outcome};
use dscsa_exchange::store::{self, private_pg::PrivatePostgres};

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU seconds (user + system) a process has used, from /proc (clock ticks of 10 ms): on a
/// shared machine CPU time moves far less with other load than wall time does.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at its closing parenthesis.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let items: u64 = std::env::var("CAPTURE_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let max_epcs: u64 = std::env::var("CAPTURE_MAX_EPCS_PER_EVENT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/bench-capture");
    std::fs::create_dir_all(&dir).unwrap();
    let doc = dir.join(format!("dscsa-{items}-{max_epcs}.xml"));
    if !doc.exists() {
        let generator = root.join("../shared/tools/gen_epcis.py");
        let status = Command::new("python3")
            .arg(&generator)
            .args([
                "-n",
                &items.to_string(),
                "--master-data",
                "--transaction-statement",
                "-q",
            ])
            .args(["--max-epcs-per-event", &max_epcs.to_string()])
            .arg("-o")
            .arg(&doc)
            .status()
            .expect("python3 and ../shared/tools/gen_epcis.py are needed");
        assert!(status.success());
    }
    let size = std::fs::metadata(&doc).unwrap().len();

    let pg_dir = std::env::temp_dir().join(format!("dscsa-capture-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&pg_dir);
    let pg = PrivatePostgres::start_ephemeral(&pg_dir.join("pg")).unwrap();
    pg.ensure_database("bench").unwrap();
    let url = pg.url("bench");
    let mut conn = store::connect(&url).unwrap();
    store::migrate(&mut conn).unwrap();

    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let backend = diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(&mut conn)
        .unwrap()
        .pid
        .to_string();
    let (db_cpu_before, own_cpu_before) = (cpu_seconds(&backend), cpu_seconds("self"));
    let hwm_before = vm_hwm_kib();
    let mut opts = CaptureOptions::new(&pg_dir.join("spool"));
    if let Some(n) = std::env::var("CAPTURE_SPILL_AFTER")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        opts.spill_after = n;
    }
    let started = Instant::now();
    let report = capture::capture(&mut conn, std::fs::File::open(&doc).unwrap(), &opts).unwrap();
    let elapsed = started.elapsed();
    let hwm_after = vm_hwm_kib();
    let db_cpu = cpu_seconds(&backend) - db_cpu_before;
    let own_cpu = cpu_seconds("self") - own_cpu_before;
    assert_eq!(
        report.outcome,
        Outcome::Accepted,
        "{:?}",
        report.errors.first()
    );
    let refs = report.epc_count;
    println!(
        "capture_load: {items} items, {:.1} MB, {} events, {refs} EPC references, {} serials",
        size as f64 / 1e6,
        report.event_count,
        report.serials_created
    );
    println!(
        "  end-to-end capture: {:.2} s = {:.0} EPC references/s ({:.1} MB/s); peak RSS growth {:.1} MB",
        elapsed.as_secs_f64(),
        refs as f64 / elapsed.as_secs_f64(),
        size as f64 / 1e6 / elapsed.as_secs_f64(),
        (hwm_after.saturating_sub(hwm_before)) as f64 / 1024.0
    );
    println!(
        "  CPU: database backend {db_cpu:.2} s, capture process {own_cpu:.2} s (reader thread included)"
    );

    // The same number of (event_id, role, key) rows by raw binary COPY into an empty copy of
    // event_epcs, for comparison.
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
    diesel::copy_from(copy_probe::table)
        .from_insertable(&rows)
        .execute(&mut conn)
        .unwrap();
    let copy = started.elapsed();
    println!(
        "  raw binary COPY of {refs} membership rows (with the same two indexes): {:.2} s = {:.0} rows/s",
        copy.as_secs_f64(),
        refs as f64 / copy.as_secs_f64()
    );
    drop(conn);
    drop(pg);
}
