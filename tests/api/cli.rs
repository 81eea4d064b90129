//! The binary as a shell user runs it: no configuration, its own private PostgreSQL, clear
//! one-line errors with non-zero exit codes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use dscsa_exchange::store;

pub const BIN: &str = env!("CARGO_BIN_EXE_dscsa-exchange");

/// The binary with a clean environment: no DATABASE_URL, no config file.
pub fn command(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("DSCSA_DATABASE_URL")
        .env("DSCSA_CONFIG", "")
        .env("DSCSA_HTTP_LISTEN", "127.0.0.1:0")
        .env("DSCSA_TLS_LISTEN", "127.0.0.1:0")
        .env("DSCSA_HTTP_SHUTDOWN_TIMEOUT_SECS", "1")
        .env("RUST_LOG", "warn");
    cmd
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dscsa-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Served {
    pub child: Child,
    pub address: String,
    pub stdout: Vec<String>,
}

impl Served {
    /// The banner line that contains `what` (panics with the banner if there is none).
    pub fn banner_line(&self, what: &str) -> &str {
        self.stdout
            .iter()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no `{what}` in the banner: {:?}", self.stdout))
    }

    /// The folder of the private cluster, as the banner names it (`data in …/pgdata`).
    pub fn pgdata(&self) -> PathBuf {
        let line = self.banner_line("private PostgreSQL, data in ");
        PathBuf::from(line.split("data in ").nth(1).unwrap().trim())
    }
}

/// Starts `serve` and reads its banner (it ends with the line that says how to stop it).
pub fn serve(dir: &Path) -> Served {
    let log = std::fs::File::create(dir.join("serve.stderr")).unwrap();
    let mut child = command(dir)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stdout = Vec::new();
    let mut address = None;
    loop {
        let Some(Ok(line)) = lines.next() else {
            let log = std::fs::read_to_string(dir.join("serve.stderr")).unwrap_or_default();
            panic!("serve exited before its banner ended: {stdout:?}\n{log}");
        };
        stdout.push(line.clone());
        if let Some(rest) = line.split("listening on ").nth(1) {
            address = Some(rest.trim().to_string());
        }
        if line.contains("stop with ctrl-c") {
            break;
        }
    }
    let address = address.expect("banner says where it listens");
    // Keep draining so that the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Served {
        child,
        address,
        stdout,
    }
}

pub fn interrupt_and_wait(mut served: Served) {
    // SAFETY: plain kill(2) on a child we own.
    unsafe { libc::kill(served.child.id() as i32, libc::SIGINT) };
    let status = served.child.wait().unwrap();
    assert!(status.success(), "serve exited with {status} after ctrl-c");
}

impl Drop for Served {
    /// A failing test must not leave a server (and its PostgreSQL) behind.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: as above.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
            let _ = self.child.wait();
        }
    }
}

/// The status code of a plain HTTP GET (a synchronous test needs no client library).
pub fn get(url: &str) -> u16 {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split_whitespace().nth(1).unwrap().parse().unwrap()
}

pub fn private_url(data_dir: &Path) -> String {
    let socket = data_dir.join("postgres").join("run");
    format!(
        "postgresql://dscsa@/dscsa?host={}",
        socket.display().to_string().replace('/', "%2F")
    )
}

#[test]
fn serve_runs_on_its_private_postgres_stops_it_on_ctrl_c_and_reuses_the_data() {
    let dir = scratch("serve");
    let data = dir.join("data");

    let first = serve(&dir);
    assert!(
        first
            .stdout
            .iter()
            .any(|l| l.contains("private PostgreSQL")),
        "banner names the private database: {:?}",
        first.stdout
    );
    assert_eq!(get(&format!("{}/health", first.address)), 200);
    assert_eq!(get(&format!("{}/ready", first.address)), 200);
    try_the_printed_curl_line(&dir, &first.stdout);
    let pid_file = data.join("postgres/pgdata/postmaster.pid");
    assert!(
        pid_file.exists(),
        "private PostgreSQL runs under ./data/postgres"
    );

    // Another command finds the running instance, uses it, and leaves it running.
    let migrate = command(&dir).arg("migrate").output().unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert!(String::from_utf8_lossy(&migrate.stdout).contains("up to date"));
    assert!(
        pid_file.exists(),
        "migrate stopped an instance it did not start"
    );

    let mut conn = store::connect(&private_url(&data)).unwrap();
    conn.batch_execute("INSERT INTO audit_log (actor, action) VALUES ('test', 'marker')")
        .unwrap();
    drop(conn);

    interrupt_and_wait(first);
    assert!(
        !pid_file.exists(),
        "ctrl-c left the private PostgreSQL running"
    );

    let second = serve(&dir);
    assert!(
        second
            .stdout
            .iter()
            .any(|l| l.contains("migrations: up to date")),
        "second start re-initialised: {:?}",
        second.stdout
    );
    assert_eq!(get(&format!("{}/ready", second.address)), 200);
    let mut conn = store::connect(&private_url(&data)).unwrap();
    let markers: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "SELECT count(*) FROM audit_log WHERE action = 'marker'",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(markers, 1, "the data of the first run is gone");
    drop(conn);
    interrupt_and_wait(second);
    assert!(!pid_file.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The banner's `try:` line (curl with the dev PKI's admin certificate) works: the dev PKI was
/// created and its admin registered. Done with reqwest, as curl may not be installed.
fn try_the_printed_curl_line(dir: &Path, banner: &[String]) {
    let (status, body) = admin_get(dir, banner, None);
    assert_eq!(status, 200);
    assert_eq!(body["role"], "admin");
}

/// A GET on the partner listener with the dev PKI's admin certificate the banner's `try:` line
/// names: `path` on its host (`None`: the line's own URL). Returns the status and JSON body.
pub fn admin_get(dir: &Path, banner: &[String], path: Option<&str>) -> (u16, serde_json::Value) {
    let line = banner
        .iter()
        .find_map(|l| l.split("try:").nth(1))
        .unwrap_or_else(|| panic!("no curl line in the banner: {banner:?}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let arg = |flag: &str| {
        let i = words.iter().position(|w| *w == flag).unwrap();
        dir.join(words[i + 1])
    };
    let mut url = words.last().unwrap().to_string();
    if let Some(path) = path {
        url = format!("{}{path}", url.trim_end_matches("/whoami"));
    }
    let ca = reqwest::Certificate::from_pem(&std::fs::read(arg("--cacert")).unwrap()).unwrap();
    let identity = reqwest::Identity::from_pkcs8_pem(
        &std::fs::read(arg("--cert")).unwrap(),
        &std::fs::read(arg("--key")).unwrap(),
    )
    .unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([ca])
        .identity(identity)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let res = client.get(&url).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    })
}

#[test]
fn migrate_starts_the_private_instance_for_its_run_and_stops_it_after() {
    let dir = scratch("migrate");
    let out = command(&dir).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let total = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(
        &dscsa_exchange::store::MIGRATIONS,
    )
    .unwrap()
    .len();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("applied {total} migration")),
        "{stdout}"
    );
    assert!(dir.join("data/postgres/pgdata/PG_VERSION").exists());
    assert!(!dir.join("data/postgres/pgdata/postmaster.pid").exists());
    let again = command(&dir).arg("migrate").output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("up to date"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// stderr of a failed command: exactly one line, `error: …`.
pub fn one_line_error(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_string()
}

#[test]
fn an_unreachable_database_url_gives_one_line_and_exit_1() {
    let dir = scratch("unreachable");
    let out = command(&dir)
        .arg("migrate")
        .env(
            "DATABASE_URL",
            "postgres://nobody:hunter2@127.0.0.1:1/nothing",
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = one_line_error(&out);
    assert!(
        line.contains("cannot connect to PostgreSQL at postgres://nobody:***@127.0.0.1:1/nothing"),
        "{line}"
    );
    assert!(!line.contains("hunter2"), "password leaked: {line}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_database_url_that_is_not_postgres_is_a_configuration_error() {
    let dir = scratch("notpg");
    let out = command(&dir)
        .arg("serve")
        .env("DATABASE_URL", "mysql://root@localhost/db")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(one_line_error(&out).contains("database.url"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unreadable_config_file_gives_one_line_and_exit_78() {
    let dir = scratch("config");
    let missing = command(&dir)
        .args(["--config", "nowhere.toml", "serve"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(78));
    assert!(one_line_error(&missing).contains("cannot read config file nowhere.toml"));

    // A folder where the file should be: unreadable even for root.
    std::fs::create_dir_all(dir.join("folder.toml")).unwrap();
    let unreadable = command(&dir)
        .args(["--config", "folder.toml", "migrate"])
        .output()
        .unwrap();
    assert_eq!(unreadable.status.code(), Some(78));
    assert!(one_line_error(&unreadable).contains("folder.toml"));

    std::fs::write(dir.join("bad.toml"), "[http]\nlisten = 8080\n").unwrap();
    let bad = command(&dir)
        .args(["--config", "bad.toml", "serve"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(78));
    assert!(one_line_error(&bad).contains("bad.toml"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_prints_the_effective_settings_with_the_password_masked() {
    let dir = scratch("print");
    let out = command(&dir)
        .arg("config")
        .env("DATABASE_URL", "postgres://app:s3cret@db.example/dscsa")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("postgres://app:***@db.example/dscsa"),
        "{text}"
    );
    assert!(!text.contains("s3cret"));
    assert!(text.contains("listen = \"127.0.0.1:0\""));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(BIN).arg("no-such-command").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `directory set` is audited as partner and flag changes are: who set which prefix to which
/// responder, in the same transaction as the entry. A typing error is refused (exit 2) before
/// the database is opened.
#[test]
fn directory_set_writes_the_entry_and_its_audit_record() {
    let dir = scratch("directory");
    let db = crate::helpers::TestDb::create();
    let run = |args: &[&str]| {
        command(&dir)
            .env("DSCSA_DATABASE_URL", &db.url)
            .env("USER", "operator")
            .env_remove("SUDO_USER")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[
        "directory",
        "set",
        "0312345",
        "https://vrs.example.com/verify",
    ]);
    assert!(out.status.success(), "{}", one_line_error(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("are forwarded to"));
    let scalar = |sql: &str| crate::helpers::scalar(&db.url, sql);
    assert_eq!(
        scalar(
            "SELECT count(*) FROM lookup_directory \
             WHERE prefix = '0312345' AND responder_url = 'https://vrs.example.com/verify'"
        ),
        1
    );
    assert_eq!(
        scalar(
            "SELECT count(*) FROM audit_log WHERE actor = 'cli:operator' \
             AND action = 'directory.set' AND subject = 'prefix:0312345' \
             AND details->>'responder_url' = 'https://vrs.example.com/verify'"
        ),
        1
    );

    for args in [
        ["directory", "set", "03x", "https://vrs.example.com/verify"],
        [
            "directory",
            "set",
            "0312345",
            "http://vrs.example.com/verify",
        ],
    ] {
        let out = run(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            one_line_error(&out)
        );
    }
    assert_eq!(
        scalar("SELECT count(*) FROM audit_log WHERE action = 'directory.set'"),
        1
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 4's must-show: a capture killed half-way leaves no rows, and the resend is stored once.
#[test]
fn a_capture_killed_half_way_leaves_nothing_and_the_resend_is_stored_once() {
    let dir = scratch("killed");
    let doc = dir.join("big.xml");
    std::fs::write(&doc, crate::helpers::large_document(60_000)).unwrap();

    let mut import = command(&dir)
        .arg("import")
        .arg(&doc)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = private_url(&dir.join("data"));
    // Wait until the capture is writing (its transaction holds a lock on the documents
    // table), then kill the process outright.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the capture never started"
        );
        assert!(
            import.try_wait().unwrap().is_none(),
            "the import finished before it was killed"
        );
        let writing = store::connect(&url).ok().and_then(|mut c| {
            diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                 WHERE c.relname = 'event_epcs' AND l.mode = 'RowExclusiveLock'",
            )
            .get_result::<i64>(&mut c)
            .ok()
        });
        if writing.unwrap_or(0) > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    import.kill().unwrap();
    let status = import.wait().unwrap();
    assert!(!status.success(), "killed mid-capture");

    let count = |table: &str| -> i64 {
        let mut conn = store::connect(&url).unwrap();
        dscsa_exchange::store::capture::count(&mut conn, table).unwrap()
    };
    // PostgreSQL rolled the transaction back when the connection died.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while count("documents") > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for table in [
        "documents",
        "document_chunks",
        "events",
        "event_epcs",
        "serials",
    ] {
        assert_eq!(count(table), 0, "{table} has rows of the killed capture");
    }

    let resend = command(&dir).arg("import").arg(&doc).output().unwrap();
    assert!(
        resend.status.success(),
        "{}",
        String::from_utf8_lossy(&resend.stderr)
    );
    assert!(String::from_utf8_lossy(&resend.stdout).contains("accepted as document"));
    let again = command(&dir).arg("import").arg(&doc).output().unwrap();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already captured"));
    // The killed import's private PostgreSQL outlived it (kill -9 runs no clean-up); the resend
    // adopted it and stopped it when it was done.
    assert!(
        !dir.join("data/postgres/pgdata/postmaster.pid").exists(),
        "the orphaned PostgreSQL of the killed import is still running"
    );
    let pg = dscsa_exchange::store::private_pg::PrivatePostgres::ensure_running(
        &dir.join("data/postgres"),
    )
    .unwrap();
    assert_eq!(count("documents"), 1);
    assert_eq!(count("serials"), 60000 + 2500, "items and cases");
    pg.stop_now().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// `validate --db` checks the business rules against what is stored and stores nothing;
/// `import --progress` shows how far it has read.
#[test]
fn validate_db_checks_the_business_rules_against_the_database_and_stores_nothing() {
    let dir = scratch("validate-db");
    let first = dir.join("first.xml");
    std::fs::write(&first, crate::helpers::large_document(100)).unwrap();
    // K0 again, with another lot than the one it was commissioned with: DSCSA-B-009.
    let second = dir.join("second.xml");
    let other_lot = String::from_utf8(crate::helpers::large_document(1))
        .unwrap()
        .replace("<cbvmda:lotNumber>L1<", "<cbvmda:lotNumber>L2<");
    std::fs::write(&second, other_lot).unwrap();

    let before = command(&dir)
        .args(["validate", "--db"])
        .arg(&second)
        .output()
        .unwrap();
    assert!(
        before.status.success(),
        "nothing stored yet: {}",
        String::from_utf8_lossy(&before.stderr)
    );
    assert!(String::from_utf8_lossy(&before.stdout).contains("nothing stored"));

    let import = command(&dir)
        .args(["import", "--progress"])
        .arg(&first)
        .output()
        .unwrap();
    assert!(import.status.success());
    let progress = String::from_utf8_lossy(&import.stderr);
    assert!(progress.contains("first.xml: 100% ("), "{progress}");

    let after = command(&dir)
        .args(["validate", "--db"])
        .arg(&second)
        .output()
        .unwrap();
    assert_eq!(after.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&after.stderr);
    assert!(
        stderr.contains("second.xml:")
            && stderr.contains(": DSCSA-B-009: lot of 010036141412345821K0 "),
        "{stderr}"
    );
    // Offline, the same file is valid: the lot rule needs the stored state.
    let offline = command(&dir).arg("validate").arg(&second).output().unwrap();
    assert!(offline.status.success());

    let url = private_url(&dir.join("data"));
    let pg = dscsa_exchange::store::private_pg::PrivatePostgres::ensure_running(
        &dir.join("data/postgres"),
    )
    .unwrap();
    let mut conn = store::connect(&url).unwrap();
    let count = |conn: &mut diesel::PgConnection, table: &str| {
        dscsa_exchange::store::capture::count(conn, table).unwrap()
    };
    assert_eq!(
        count(&mut conn, "documents"),
        1,
        "validate stored no document"
    );
    assert_eq!(count(&mut conn, "serials"), 100 + 5);
    drop(conn);
    pg.stop_now().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
