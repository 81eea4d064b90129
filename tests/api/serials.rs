//! Serial issuance over real mutual TLS on a real PostgreSQL: pools, allocation (JSON, CSV,
//! lines), roles, caps and quotas, "was it issued?", reconciliation, and concurrent
//! allocation from two server processes on one database.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use diesel::prelude::*;
use dscsa_exchange::partners::Role;
use dscsa_exchange::serials::{self, AllocationRequest, Requester, SerialKey, WasIssued};
use serde_json::{json, Value};

use crate::helpers::{scalar, test_settings, TestDb};
use crate::tls_fixture::{client, spawn_partner_app, test_pki, PartnerApp};

const GTIN: &str = "00312345678906";

async fn problem(res: reqwest::Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    (
        status,
        body["code"].as_str().unwrap_or("").to_string(),
        body["detail"].as_str().unwrap_or("").to_string(),
    )
}

async fn create_pool(app: &PartnerApp, admin: &reqwest::Client, body: Value) -> reqwest::Response {
    admin
        .post(app.url("/serials/pools"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The serials of a JSON allocation answer.
fn serials_of(body: &Value) -> Vec<String> {
    body["serials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

async fn allocate(app: &PartnerApp, c: &reqwest::Client, body: Value) -> reqwest::Response {
    c.post(app.url("/serials/allocate"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_partner_named_on_a_pool_gets_unique_serials_as_json_csv_and_lines() {
    let app = spawn_partner_app().await;
    let (_, admin, _) = app.partner("0361414000018", Role::Admin).await;
    let (packager_id, packager, _) = app.partner("0312345000004", Role::TradingPartner).await;
    let res = create_pool(
        &app,
        &admin,
        json!({"gtin": GTIN, "format": "numeric:12", "partner_ids": [packager_id]}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let pool: Value = res.json().await.unwrap();
    assert_eq!(pool["format"], "numeric:12");
    assert_eq!(pool["capacity"], 89_999_999);
    assert_eq!(pool["domain"], "900000000000");

    let res = allocate(
        &app,
        &packager,
        json!({"gtin": GTIN, "count": 1000, "purpose": "PO 4711"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["allocation"]["count"], 1000);
    assert_eq!(body["allocation"]["purpose"], "PO 4711");
    assert_eq!(body["allocation"]["partner_id"], packager_id);
    let json_serials = serials_of(&body);

    let res = allocate(
        &app,
        &packager,
        json!({"gtin": GTIN, "count": 500, "format": "csv"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let csv = res.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("gtin,serial"));
    let csv_serials: Vec<String> = lines
        .map(|l| {
            let (g, s) = l.split_once(',').unwrap();
            assert_eq!(g, GTIN);
            s.to_string()
        })
        .collect();

    let res = packager
        .post(app.url("/serials/allocate"))
        .header("Accept", "text/plain")
        .json(&json!({"gtin": GTIN, "count": 250}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let allocation_id: i64 = res.headers()["x-serial-allocation"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let text = res.text().await.unwrap();
    let line_serials: Vec<String> = text.lines().map(str::to_string).collect();

    let all: Vec<&String> = json_serials
        .iter()
        .chain(&csv_serials)
        .chain(&line_serials)
        .collect();
    assert_eq!(all.len(), 1750);
    let unique: HashSet<&&String> = all.iter().collect();
    assert_eq!(unique.len(), 1750, "no serial twice");
    for s in &all {
        assert_eq!(s.len(), 12, "{s}");
        assert!(s.bytes().all(|b| b.is_ascii_digit()), "{s}");
        assert!(!s.starts_with('0'), "{s}");
    }
    // Not a counter in disguise: consecutive serials are far apart.
    let sorted_gap = json_serials
        .windows(2)
        .filter(|w| {
            let (a, b): (i64, i64) = (w[0].parse().unwrap(), w[1].parse().unwrap());
            (a - b).abs() < 1_000
        })
        .count();
    assert!(sorted_gap < 5, "{sorted_gap} neighbours closer than 1000");

    // The allocation can be fetched again, with the same serials.
    let again = packager
        .get(app.url(&format!("/serials/allocations/{allocation_id}?format=text")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.text().await.unwrap(), text);

    let url = app.app.db.url.clone();
    let (allocations, audits, counter) = tokio::task::spawn_blocking(move || {
        (
            scalar(&url, "SELECT count(*) FROM serial_allocations"),
            scalar(
                &url,
                "SELECT count(*) FROM audit_log WHERE action IN ('serials.pool.create', 'serials.allocate')",
            ),
            scalar(&url, "SELECT next_counter FROM serial_pools"),
        )
    })
    .await
    .unwrap();
    assert_eq!((allocations, audits, counter), (3, 4, 1750));

    let pools: Value = admin
        .get(app.url("/serials/pools"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pools[0]["allocated"], 1750);
}

#[tokio::test]
async fn only_admins_manage_pools_and_only_named_partners_and_admins_allocate() {
    let app = spawn_partner_app().await;
    let (_, admin, _) = app.partner("0361414000018", Role::Admin).await;
    let (named_id, named, _) = app.partner("0312345000004", Role::TradingPartner).await;
    let (_, stranger, _) = app.partner("0312345000011", Role::TradingPartner).await;
    let (_, regulator, _) = app.partner("0312345000028", Role::Regulator).await;
    for c in [&named, &regulator] {
        let res = create_pool(&app, c, json!({"gtin": GTIN, "format": "numeric:12"})).await;
        assert_eq!(problem(res).await.1, "forbidden");
        let res = c.get(app.url("/serials/pools")).send().await.unwrap();
        assert_eq!(res.status(), 403);
    }
    let res = create_pool(
        &app,
        &admin,
        json!({"gtin": GTIN, "format": "alnum:10", "partner_ids": [named_id]}),
    )
    .await;
    assert_eq!(res.status(), 201);
    // A partner not named learns nothing: the same answer as for a GTIN without a pool.
    let (status, code, _) =
        problem(allocate(&app, &stranger, json!({"gtin": GTIN, "count": 5})).await).await;
    assert_eq!((status, code.as_str()), (404, "serial-pool-not-found"));
    let (status, code, _) = problem(
        allocate(
            &app,
            &stranger,
            json!({"gtin": "00361414123458", "count": 5}),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (404, "serial-pool-not-found"));
    let (status, code, _) =
        problem(allocate(&app, &regulator, json!({"gtin": GTIN, "count": 5})).await).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    for c in [&named, &admin] {
        let res = allocate(&app, c, json!({"gtin": GTIN, "count": 5, "format": "text"})).await;
        assert_eq!(res.status(), 201);
        let text = res.text().await.unwrap();
        assert_eq!(text.lines().count(), 5);
        assert!(text.lines().all(|s| s.len() == 10
            && s.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())));
    }
    // One pool per GTIN.
    let (status, code, _) =
        problem(create_pool(&app, &admin, json!({"gtin": GTIN, "format": "numeric:12"})).await)
            .await;
    assert_eq!((status, code.as_str()), (409, "serial-pool-exists"));
}

#[tokio::test]
async fn pool_settings_that_break_the_guessing_bar_and_requests_over_caps_are_refused() {
    let app = spawn_partner_app().await;
    let (_, admin, _) = app.partner("0361414000018", Role::Admin).await;
    let (partner_id, partner, _) = app.partner("0312345000004", Role::TradingPartner).await;

    let (status, code, detail) =
        problem(create_pool(&app, &admin, json!({"gtin": GTIN, "format": "numeric:6"})).await)
            .await;
    assert_eq!((status, code.as_str()), (400, "invalid-serial-format"));
    assert!(
        detail.contains("at least 1,000,000") && detail.contains("numeric:7"),
        "{detail}"
    );

    let (status, code, detail) = problem(
        create_pool(
            &app,
            &admin,
            json!({"gtin": GTIN, "format": "numeric:8", "capacity": 1_000_000}),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (400, "serial-pool-capacity"));
    assert!(
        detail.contains("at most 8999") && detail.contains("numeric:11"),
        "{detail}"
    );

    let (_, code, _) = problem(
        create_pool(
            &app,
            &admin,
            json!({"gtin": "00312345678907", "format": "numeric:12"}),
        )
        .await,
    )
    .await;
    assert_eq!(code, "invalid-serial-request", "wrong check digit");

    let res = create_pool(
        &app,
        &admin,
        json!({"gtin": GTIN, "format": "numeric:9", "capacity": 1000, "max_per_request": 300,
               "partner_quota": 500, "partner_ids": [partner_id]}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let (status, code, _) =
        problem(allocate(&app, &partner, json!({"gtin": GTIN, "count": 301})).await).await;
    assert_eq!((status, code.as_str()), (400, "serial-request-too-large"));
    let (_, code, _) =
        problem(allocate(&app, &partner, json!({"gtin": GTIN, "count": 0})).await).await;
    assert_eq!(code, "invalid-serial-request");
    for _ in 0..2 {
        let res = allocate(&app, &partner, json!({"gtin": GTIN, "count": 250})).await;
        assert_eq!(res.status(), 201);
        res.bytes().await.unwrap();
    }
    let (status, code, detail) =
        problem(allocate(&app, &partner, json!({"gtin": GTIN, "count": 1})).await).await;
    assert_eq!((status, code.as_str()), (403, "serial-quota-exceeded"));
    assert!(detail.contains("taken 500 of its quota of 500"), "{detail}");
    // Admins have no quota; the pool's capacity still holds.
    let res = allocate(&app, &admin, json!({"gtin": GTIN, "count": 300})).await;
    assert_eq!(res.status(), 201);
    res.bytes().await.unwrap();
    let (status, code, detail) =
        problem(allocate(&app, &admin, json!({"gtin": GTIN, "count": 201})).await).await;
    assert_eq!((status, code.as_str()), (409, "serial-pool-exhausted"));
    assert!(detail.contains("has 200 serials left of 1000"), "{detail}");
    // A refused request advanced nothing.
    let url = app.app.db.url.clone();
    let counter =
        tokio::task::spawn_blocking(move || scalar(&url, "SELECT next_counter FROM serial_pools"))
            .await
            .unwrap();
    assert_eq!(counter, 800);
}

fn key() -> SerialKey {
    let db_settings = test_settings("postgres://unused/x");
    SerialKey::load(&db_settings.serials.key).unwrap()
}

#[test]
fn was_issued_tells_issued_never_issued_and_not_our_pool_and_reconciliation_counts_them() {
    let db = TestDb::create();
    let mut conn = db.conn();
    let key = key();
    let gtin = GTIN.parse().unwrap();
    serials::create_pool(
        &mut conn,
        &key,
        serials::NewPool {
            gtin,
            format: "numeric:10".parse().unwrap(),
            packaging_level: serials::PackagingLevel::Item,
            capacity: None,
            max_per_request: None,
            partner_quota: None,
            partner_ids: vec![],
        },
        "test",
    )
    .unwrap();
    let take = |conn: &mut PgConnection, n: u32| {
        let issued = serials::allocate(
            conn,
            &key,
            &AllocationRequest {
                gtin,
                count: n,
                purpose: None,
            },
            &Requester::Operator,
        )
        .unwrap();
        let mut list = Vec::new();
        issued.for_each(|s| list.push(String::from_utf8(s.to_vec()).unwrap()));
        (issued.allocation.id, list)
    };
    let (first_id, first) = take(&mut conn, 100);
    let (second_id, second) = take(&mut conn, 50);
    let check = |conn: &mut PgConnection, serial: &str| {
        serials::was_issued(conn, &key, &gtin, &serial.parse().unwrap()).unwrap()
    };
    assert_eq!(
        check(&mut conn, &first[7]),
        WasIssued::Issued {
            allocation_id: first_id,
            partner_id: None
        }
    );
    assert_eq!(
        check(&mut conn, &second[49]),
        WasIssued::Issued {
            allocation_id: second_id,
            partner_id: None
        }
    );
    // A serial of the right shape that no allocation gave out: its counter is beyond the pool's.
    let never = (1_000_000_000u64..)
        .map(|n| n.to_string())
        .find(|s| !first.contains(s) && !second.contains(s))
        .unwrap();
    assert_eq!(check(&mut conn, &never), WasIssued::NeverIssued);
    assert_eq!(
        check(&mut conn, "ABC"),
        WasIssued::NotOurPool,
        "other shape"
    );
    assert_eq!(
        check(&mut conn, "0123456789"),
        WasIssued::NotOurPool,
        "leading zero"
    );
    assert_eq!(
        serials::was_issued(
            &mut conn,
            &key,
            &"00361414123458".parse().unwrap(),
            &first[0].parse().unwrap()
        )
        .unwrap(),
        WasIssued::NotOurPool,
        "GTIN without a pool"
    );

    // Capture has commissioned 3 of the first allocation, 1 of the second, one never-issued
    // serial and one of another system's format.
    let commissioned = [
        &first[0],
        &first[1],
        &first[2],
        &second[0],
        &never,
        &"X-1".to_string(),
    ];
    for s in commissioned {
        diesel::sql_query(format!(
            "INSERT INTO serials (epc_key, kind, gtin, serial_number, status) VALUES ('01{GTIN}21{s}', 1, '{GTIN}', '{s}', 1)"
        ))
        .execute(&mut conn)
        .unwrap();
    }
    let r = serials::reconcile(&mut conn, &key, &gtin).unwrap();
    assert_eq!(
        (
            r.allocated,
            r.commissioned,
            r.unused,
            r.never_issued,
            r.other_format
        ),
        (150, 4, 146, 1, 1)
    );
    let per: Vec<(i64, i64, i64)> = r
        .allocations
        .iter()
        .map(|a| (a.count, a.commissioned, a.unused))
        .collect();
    assert_eq!(per, vec![(100, 3, 97), (50, 1, 49)]);
}

#[test]
fn a_server_with_another_key_refuses_to_issue_from_the_pool() {
    let db = TestDb::create();
    let mut conn = db.conn();
    let gtin = GTIN.parse().unwrap();
    let key = key();
    serials::create_pool(
        &mut conn,
        &key,
        serials::NewPool {
            gtin,
            format: "numeric:12".parse().unwrap(),
            packaging_level: serials::PackagingLevel::Item,
            capacity: None,
            max_per_request: None,
            partner_quota: None,
            partner_ids: vec![],
        },
        "test",
    )
    .unwrap();
    let other = SerialKey::from_bytes(&[9u8; 32], false);
    let e = serials::allocate(
        &mut conn,
        &other,
        &AllocationRequest {
            gtin,
            count: 1,
            purpose: None,
        },
        &Requester::Operator,
    )
    .err()
    .unwrap();
    assert!(matches!(e, serials::SerialError::KeyMismatch { .. }), "{e}");
    assert_eq!(
        scalar(&db.url, "SELECT next_counter FROM serial_pools"),
        0,
        "nothing was issued"
    );
}

/// A `dscsa-exchange serve` process on the test database with the test PKI.
struct Server {
    child: Child,
    tls_port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) on a child we own.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn start_server(db_url: &str, key_file: &std::path::Path, data_dir: &std::path::Path) -> Server {
    let files = test_pki().files();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dscsa-exchange"))
        .arg("serve")
        .env("DSCSA_CONFIG", "")
        .env("DSCSA_DATABASE_URL", db_url)
        .env("DSCSA_DATABASE_POOL_SIZE", "8")
        .env("DSCSA_DATA_DIR", data_dir)
        .env("DSCSA_HTTP_LISTEN", "127.0.0.1:0")
        .env("DSCSA_HTTP_SHUTDOWN_TIMEOUT_SECS", "1")
        .env("DSCSA_HTTP_WORKERS", "2")
        .env("DSCSA_TLS_ENABLED", "true")
        .env("DSCSA_TLS_LISTEN", "127.0.0.1:0")
        .env("DSCSA_TLS_CERT", &files.cert)
        .env("DSCSA_TLS_KEY", &files.key)
        .env("DSCSA_TLS_CLIENT_CA", &files.client_ca[0])
        .env("DSCSA_SERIALS_KEY_FILE", key_file)
        // An external database is production: serve needs to know who it is.
        .env("DSCSA_ORGANISATION_GLN", "0614141000005")
        .env("DSCSA_ORGANISATION_NAME", "Serial test manufacturer")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut tls_port = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split("partners:   https://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap();
            tls_port = Some(addr.rsplit(':').next().unwrap().parse().unwrap());
        }
        if line.contains("stop with ctrl-c") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        tls_port: tls_port.expect("the banner names the partner port"),
    }
}

/// 16 clients allocate concurrently through two server processes sharing one database; every
/// serial is put into a table with a UNIQUE index and counted. The issue's full size is
/// 200 allocations per client (3,200,000 serials):
/// `SERIALS_ALLOCATIONS_PER_CLIENT=200 cargo test --release --test api concurrent_allocations`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_allocations_from_two_server_processes_never_share_a_serial() {
    const CLIENTS: usize = 16;
    const PER_ALLOCATION: usize = 1000;
    let rounds: usize = std::env::var("SERIALS_ALLOCATIONS_PER_CLIENT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let db = tokio::task::spawn_blocking(TestDb::create).await.unwrap();
    let dir = std::env::temp_dir().join(format!("dscsa-serials-conc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("serials.key");
    std::fs::write(&key_file, "ab".repeat(32)).unwrap();
    let key = SerialKey::load(&dscsa_exchange::config::SerialKeySource::File(
        key_file.clone(),
    ))
    .unwrap();

    let issued = test_pki().client("0312345000004", "trading_partner");
    {
        let mut conn = db.conn();
        let partner = dscsa_exchange::partners::register(
            &mut conn,
            dscsa_exchange::partners::NewPartner::new("Packager", Role::TradingPartner)
                .gln(Some("0312345000004".parse().unwrap()))
                .atp_status(dscsa_exchange::partners::AtpStatus::Authorized)
                .certificate(Some(issued.cert.clone())),
            "test",
        )
        .unwrap();
        serials::create_pool(
            &mut conn,
            &key,
            serials::NewPool {
                gtin: GTIN.parse().unwrap(),
                format: "numeric:12".parse().unwrap(),
                packaging_level: serials::PackagingLevel::Item,
                capacity: None,
                max_per_request: None,
                partner_quota: None,
                partner_ids: vec![partner.id],
            },
            "test",
        )
        .unwrap();
    }
    let (url, k) = (db.url.clone(), key_file.clone());
    let (d1, d2) = (dir.join("a"), dir.join("b"));
    let servers = tokio::task::spawn_blocking(move || {
        [start_server(&url, &k, &d1), start_server(&url, &k, &d2)]
    })
    .await
    .unwrap();
    let ports: Vec<u16> = servers.iter().map(|s| s.tls_port).collect();

    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let port = ports[c % 2];
        let http = client(Some(&issued));
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::with_capacity(rounds * PER_ALLOCATION);
            for _ in 0..rounds {
                let res = http
                    .post(format!("https://localhost:{port}/serials/allocate"))
                    .json(&json!({"gtin": GTIN, "count": PER_ALLOCATION, "format": "text"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
                let text = res.text().await.unwrap();
                got.extend(text.lines().map(str::to_string));
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    drop(servers);
    let total = CLIENTS * rounds * PER_ALLOCATION;
    assert_eq!(all.len(), total);
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), total, "a serial was issued twice");

    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = dscsa_exchange::store::connect(&url).unwrap();
        diesel::sql_query("CREATE TABLE issued_check (serial text NOT NULL)")
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query("CREATE UNIQUE INDEX issued_check_unique ON issued_check (serial)")
            .execute(&mut conn)
            .unwrap();
        for chunk in all.chunks(20_000) {
            diesel::sql_query("INSERT INTO issued_check SELECT unnest($1::text[])")
                .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(chunk)
                .execute(&mut conn)
                .expect("the UNIQUE index accepts every serial");
        }
        assert_eq!(scalar(&url, "SELECT count(*) FROM issued_check"), total as i64);
        assert_eq!(
            scalar(&url, "SELECT next_counter FROM serial_pools"),
            total as i64
        );
        assert_eq!(
            scalar(&url, "SELECT count(*) FROM serial_allocations"),
            (CLIENTS * rounds) as i64
        );
        // Ranges tile the counter space without overlap.
        assert_eq!(
            scalar(
                &url,
                "SELECT count(*) FROM (SELECT first_counter, count, lead(first_counter) OVER (ORDER BY first_counter) AS next FROM serial_allocations) r WHERE next IS NOT NULL AND next <> first_counter + count"
            ),
            0
        );
    })
    .await
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The CLI on the same database: pool, allocation as lines, "was it issued?", reconciliation,
/// a label sheet, and one-line errors.
#[test]
fn the_cli_creates_a_pool_allocates_checks_and_prints_a_label_sheet() {
    let db = TestDb::create();
    let dir = std::env::temp_dir().join(format!("dscsa-serials-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("serials.key");
    std::fs::write(&key_file, "cd".repeat(32)).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_dscsa-exchange"))
            .args(args)
            .env("DSCSA_CONFIG", "")
            .env("DSCSA_DATABASE_URL", &db.url)
            .env("DSCSA_DATA_DIR", &dir)
            .env("DSCSA_SERIALS_KEY_FILE", &key_file)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, _, err) = run(&[
        "serials",
        "pool",
        "create",
        "--gtin",
        GTIN,
        "--format",
        "numeric:5",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("error: --format: serial format numeric:5 has 90000 serials"),
        "{err}"
    );
    let (code, out, err) = run(&[
        "serials",
        "pool",
        "create",
        "--gtin",
        GTIN,
        "--format",
        "numeric:9",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("numeric:9 (900000000 serials, at most 89999 to be issued"),
        "{out}"
    );
    let (code, out, err) = run(&[
        "serials",
        "allocate",
        "--gtin",
        GTIN,
        "--count",
        "7",
        "--purpose",
        "WO-1",
    ]);
    assert_eq!(code, 0, "{err}");
    let serials: Vec<&str> = out.lines().collect();
    assert_eq!(serials.len(), 7);
    assert!(serials.iter().all(|s| s.len() == 9 && !s.starts_with('0')));
    assert!(err.contains("allocation 1: 7 serials"), "{err}");
    let (_, out, _) = run(&["serials", "issued", "--gtin", GTIN, "--serial", serials[3]]);
    assert_eq!(out.trim(), "issued (allocation 1)");
    let (_, out, _) = run(&["serials", "reconcile", "--gtin", GTIN]);
    assert!(
        out.contains("7 allocated of 89999, 0 commissioned, 7 unused"),
        "{out}"
    );
    let (code, out, _) = run(&["serials", "pool", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("{GTIN}\tnumeric:9\t7\t89999")),
        "{out}"
    );
    let sheet = dir.join("sheet.svg");
    let (code, _, err) = run(&[
        "labels",
        "--allocation",
        "1",
        "--lot",
        "L1",
        "--exp",
        "281231",
        "--sheet",
        sheet.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let svg = std::fs::read_to_string(&sheet).unwrap();
    for s in &serials {
        assert!(svg.contains(&format!(">SN {s}<")), "{s} on the sheet");
    }
    let (code, _, err) = run(&[
        "serials",
        "allocate",
        "--gtin",
        "00312345678907",
        "--count",
        "1",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: --gtin:") && err.contains("check digit"),
        "{err}"
    );
    let (code, _, err) = run(&["serials", "allocate", "--gtin", GTIN, "--count", "90000"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("error: the pool for GTIN"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A commissioning of a serial that our pool never gave out is a counterfeit signal: the
/// document is stored, the serial is flagged suspect (DSCSA-B-015) and verification says so;
/// the issued serial beside it is not flagged.
#[tokio::test]
async fn commissioning_a_serial_of_our_pool_that_was_never_allocated_flags_it_suspect() {
    use crate::capture::{commission, doc};
    let app = spawn_partner_app().await;
    let (_, admin, _) = app.partner("0361414000018", Role::Admin).await;
    let (_, partner, _) = app.partner("0312345000004", Role::TradingPartner).await;
    let res = create_pool(&app, &admin, json!({"gtin": GTIN, "format": "numeric:10"})).await;
    assert_eq!(res.status(), 201);
    let body: Value = allocate(&app, &admin, json!({"gtin": GTIN, "count": 3}))
        .await
        .json()
        .await
        .unwrap();
    let issued = serials_of(&body);
    // Right shape (10 digits, no leading zero), never allocated.
    let never: Vec<String> = (1_000_000_000u64..)
        .map(|n| n.to_string())
        .filter(|s| !issued.contains(s))
        .take(2)
        .collect();
    // GTIN 00312345678906 as an SGTIN with a 7-digit company prefix.
    let epc = |s: &str| format!("urn:epc:id:sgtin:0312345.067890.{s}");
    let events = [
        commission(1, &[epc(&issued[0]), epc(&issued[1])], "L1"),
        commission(2, &[epc(&never[0]), epc(&issued[2]), epc(&never[1])], "L1"),
    ]
    .concat();
    let answer = app.capture(&partner, doc("", &events)).await;
    assert_eq!(answer.status, 201);
    let report = answer.body;
    assert_eq!(report["outcome"], "accepted", "{report}");
    let b015: Vec<&Value> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["rule"] == "DSCSA-B-015")
        .collect();
    assert_eq!(b015.len(), 1, "one warning for the one event: {report}");
    let message = b015[0]["message"].as_str().unwrap();
    assert!(message.contains(&never[0]), "{message}");
    assert!(message.contains("and 1 more"), "{message}");

    let url = app.app.db.url.clone();
    let suspects: Vec<i64> = tokio::task::spawn_blocking(move || {
        ["suspect", "NOT suspect"]
            .iter()
            .map(|w| scalar(&url, &format!("SELECT count(*) FROM serials WHERE {w}")))
            .collect()
    })
    .await
    .unwrap();
    assert_eq!(suspects, vec![2, 3]);

    let path = |serial: &str| {
        format!("/verify/gtin/{GTIN}/lot/L1/ser/{serial}?exp=281231&linkType=verificationService")
    };
    let genuine = app.verify(&partner, &path(&issued[2])).await.body;
    assert!(genuine["data"].get("additionalInfo").is_none(), "{genuine}");
    let flagged = app.verify(&partner, &path(&never[1])).await.body;
    assert_eq!(flagged["data"]["additionalInfo"], "Suspect", "{flagged}");
}
