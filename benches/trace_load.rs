//! Product tracing on a 1,000,000-serial database (issue 14, "Performance"): a lot trace of
//! 100,000 serials and a one-serial trace, through `compliance::trace` as `GET /trace` and the
//! CLI call it (JSON rendered), on the private PostgreSQL as `serve` starts it (durable).
//!
//! `cargo bench --bench trace_load`. The database is filled with SQL (not through capture, which
//! `capture_load` measures): `TRACE_LOTS` lots (default 10) of 100,000 items each, packed 10 to a
//! case and 100 cases to a pallet, every pallet shipped to one of ten buyers; rows shaped as a
//! capture writes them (commissioning events with ILMD, packing events, per-serial state with
//! parents and last events). Prints the fill time, then the time of each trace (three lot
//! traces, fifty serial traces: median and maximum). `TRACE_KEEP=1` keeps the cluster.

use std::time::Instant;

use diesel::connection::SimpleConnection;
use dscsa_exchange::compliance::trace::Requester;
use dscsa_exchange::compliance::{self, Format, Subject};
use dscsa_exchange::store::{self, private_pg::PrivatePostgres};

const GTIN: &str = "00327611808277";
const PER_LOT: i64 = 100_000;

fn fill(conn: &mut diesel::PgConnection, lots: i64) {
    let items = lots * PER_LOT;
    let cases = items / 10;
    let pallets = cases / 100;
    let sql = format!(
        "INSERT INTO documents (id, direction, format, status, sha256, byte_size)
              VALUES ('00000000-0000-0000-0000-000000000001'::uuid, 'received', 'epcis-1.2-xml',
                      'accepted', sha256('bench'), 0);
         CREATE TEMP TABLE plan AS SELECT timestamptz '2025-01-01 08:00Z' AS t0;
         -- Commissioning: ids 1..lots*10 (10,000 items each), cases and pallets one event each.
         INSERT INTO events (id, document_id, seq, event_type, action, event_time,
                             event_time_zone_offset, event_hash, biz_step, disposition)
         SELECT g, '00000000-0000-0000-0000-000000000001'::uuid, g, 1, 'ADD',
                (SELECT t0 FROM plan), '+00:00', sha256(('e' || g)::bytea), 'commissioning', 'active'
           FROM generate_series(1, {lots} * 10 + 2) g;
         INSERT INTO event_ilmd (event_id, lot, expiry)
         SELECT g, 'L' || ((g - 1) / 10), date '2028-12-31' FROM generate_series(1, {lots} * 10) g;
         INSERT INTO event_epcs (event_id, role, epc_key)
         SELECT i / 10000 + 1, 1, '01{GTIN}21S' || i FROM generate_series(0, {items} - 1) i;
         INSERT INTO event_epcs (event_id, role, epc_key)
         SELECT {lots} * 10 + 1, 1, '00C' || c FROM generate_series(0, {cases} - 1) c;
         INSERT INTO event_epcs (event_id, role, epc_key)
         SELECT {lots} * 10 + 2, 1, '00P' || p FROM generate_series(0, {pallets} - 1) p;
         -- Packing items into cases (ids 1,000,000 + case), cases onto pallets (2,000,000 +
         -- pallet), shipping pallets (3,000,000 + pallet).
         INSERT INTO events (id, document_id, seq, event_type, action, event_time,
                             event_time_zone_offset, event_hash, biz_step, disposition)
         SELECT 1000000 + c, '00000000-0000-0000-0000-000000000001'::uuid, 1000000 + c, 2, 'ADD',
                (SELECT t0 FROM plan) + interval '1 hour', '+00:00', sha256(('c' || c)::bytea),
                'packing', 'container_closed'
           FROM generate_series(0, {cases} - 1) c
         UNION ALL
         SELECT 2000000 + p, '00000000-0000-0000-0000-000000000001'::uuid, 2000000 + p, 2, 'ADD',
                (SELECT t0 FROM plan) + interval '2 hours', '+00:00', sha256(('p' || p)::bytea),
                'packing', 'container_closed'
           FROM generate_series(0, {pallets} - 1) p
         UNION ALL
         SELECT 3000000 + p, '00000000-0000-0000-0000-000000000001'::uuid, 3000000 + p, 1, 'OBSERVE',
                (SELECT t0 FROM plan) + interval '3 hours', '+00:00', sha256(('s' || p)::bytea),
                'shipping', 'in_transit'
           FROM generate_series(0, {pallets} - 1) p;
         INSERT INTO event_epcs (event_id, role, epc_key)
         SELECT 1000000 + c, 2, '00C' || c FROM generate_series(0, {cases} - 1) c
         UNION ALL SELECT 1000000 + i / 10, 3, '01{GTIN}21S' || i FROM generate_series(0, {items} - 1) i
         UNION ALL SELECT 2000000 + p, 2, '00P' || p FROM generate_series(0, {pallets} - 1) p
         UNION ALL SELECT 2000000 + c / 100, 3, '00C' || c FROM generate_series(0, {cases} - 1) c
         UNION ALL SELECT 3000000 + p, 1, '00P' || p FROM generate_series(0, {pallets} - 1) p;
         INSERT INTO event_sources_destinations (event_id, seq, kind, type, party)
         SELECT 3000000 + p, 0, 2, 'owning_party', '41406968530' || (p % 10) || '0009'
           FROM generate_series(0, {pallets} - 1) p;
         -- State: items packed in cases, cases on pallets, pallets shipped.
         INSERT INTO serials (id, epc_key, kind, gtin, serial_number, lot, expiry, status,
                              disposition, parent_id, last_event_id, commissioned_at,
                              commission_count)
         SELECT i + 1, '01{GTIN}21S' || i, 1, '{GTIN}', 'S' || i, 'L' || (i / {PER_LOT}),
                date '2028-12-31', 2, 'container_closed', 2000001 + i / 10, 1000000 + i / 10,
                (SELECT t0 FROM plan), 1
           FROM generate_series(0, {items} - 1) i
         UNION ALL
         SELECT 2000001 + c, '00C' || c, 2, NULL, NULL, NULL, NULL, 2, 'container_closed',
                3000001 + c / 100, 2000000 + c / 100, (SELECT t0 FROM plan), 1
           FROM generate_series(0, {cases} - 1) c
         UNION ALL
         SELECT 3000001 + p, '00P' || p, 2, NULL, NULL, NULL, NULL, 3, 'in_transit', NULL,
                3000000 + p, (SELECT t0 FROM plan), 1
           FROM generate_series(0, {pallets} - 1) p;
         UPDATE serials SET owner = '41406968530' || ((id - 3000001) % 10) || '0009'
          WHERE id > 3000000;
"
    );
    conn.batch_execute(&sql).expect("fill");
    // What autovacuum does to a table a server has been writing: visibility map and hint bits
    // set, statistics current. Right after a bulk load every first read pays for that instead.
    conn.batch_execute("VACUUM ANALYZE").expect("vacuum");
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let lots: i64 = std::env::var("TRACE_LOTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = std::env::temp_dir().join(format!("dscsa-trace-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pg = PrivatePostgres::ensure_running(&dir).expect("start PostgreSQL");
    pg.ensure_database("bench").unwrap();
    let mut conn = store::connect(&pg.url("bench")).unwrap();
    store::migrate(&mut conn).unwrap();
    let t = Instant::now();
    fill(&mut conn, lots);
    println!(
        "filled {} serials ({lots} lots of {PER_LOT}) in {:.1} s",
        lots * PER_LOT * 111 / 100,
        t.elapsed().as_secs_f64()
    );

    // Trace on a fresh session, as a server's pooled connection is (not the one that filled).
    drop(conn);
    let mut conn = store::connect(&pg.url("bench")).unwrap();
    let who = Requester {
        actor: "bench",
        request: None,
    };
    let lot = Subject::Lot(GTIN.parse().unwrap(), "L3".parse().unwrap());
    for run in 1..=3 {
        let t = Instant::now();
        let answer = compliance::trace(&mut conn, &lot, &who).unwrap();
        let traced = ms(t);
        let body = compliance::report::render(&answer, Format::Json).unwrap();
        let json = ms(t);
        let csv = compliance::report::render(&answer, Format::Csv).unwrap();
        let compliance::Trace::Lot(l) = &answer else {
            panic!("not a lot trace")
        };
        println!(
            "lot trace {run}: {} units, {} by status: traced {traced:.0} ms, with JSON ({} MB) \
             {json:.0} ms; CSV ({} MB) {:.0} ms more",
            l.units,
            l.by_status.len(),
            body.len() / 1_000_000,
            csv.len() / 1_000_000,
            ms(t) - json
        );
        assert_eq!(l.units, PER_LOT as usize);
    }
    let mut times = Vec::new();
    for n in 0..50 {
        let key = format!("01{GTIN}21S{}", 300_000 + n * 997);
        let t = Instant::now();
        let answer = compliance::trace(&mut conn, &Subject::Serial(key), &who).unwrap();
        let body = compliance::report::render(&answer, Format::Json).unwrap();
        times.push(ms(t));
        assert!(body.len() > 1000);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "serial trace (history + TH, JSON), 50 serials: median {:.1} ms, max {:.1} ms",
        times[25], times[49]
    );
    drop(conn);
    if std::env::var("TRACE_KEEP").is_err() {
        drop(pg);
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("kept {}", dir.display());
        std::mem::forget(pg);
    }
}
