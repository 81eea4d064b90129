//! Test harness: a real PostgreSQL and a real server for every test.
//!
//! The database server is `TEST_DATABASE_URL` when set (any database on it; the harness uses
//! the `postgres` maintenance database to create others), otherwise a private PostgreSQL
//! instance started for this test run under the system temp folder and stopped and deleted
//! when the run ends. Migrations run once per run into a template database; every test gets
//! a fresh copy of it (CREATE DATABASE … TEMPLATE, which is fast) and drops it afterwards, so
//! tests share nothing and run in parallel.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use dscsa_exchange::config::{RawSettings, Settings};
use dscsa_exchange::http::Application;
use dscsa_exchange::store::private_pg::PrivatePostgres;
use dscsa_exchange::store::{self};

pub struct TestCluster {
    /// URL of the maintenance database (`postgres`).
    admin_url: String,
    template: String,
    _private: Option<PrivatePostgres>,
}

static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

pub fn cluster() -> &'static TestCluster {
    CLUSTER.get_or_init(|| {
        let pid = std::process::id();
        let (server_url, private) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => (url, None),
            _ => {
                let dir = std::env::temp_dir().join(format!("dscsa-test-pg-{pid}"));
                let _ = std::fs::remove_dir_all(&dir);
                let pg = PrivatePostgres::start_ephemeral(&dir)
                    .unwrap_or_else(|e| panic!("cannot start the test PostgreSQL: {e}"));
                (pg.url("postgres"), Some(pg))
            }
        };
        let admin_url = with_database(&server_url, "postgres");
        let mut admin = store::connect(&admin_url).expect("connect to the test PostgreSQL");
        drop_stale_databases(&mut admin);
        let template = format!("dscsa_tpl_{pid}");
        admin
            .batch_execute(&format!("CREATE DATABASE {template}"))
            .expect("create template database");
        let mut conn = store::connect(&with_database(&server_url, &template)).unwrap();
        store::migrate(&mut conn).expect("migrate the template database");
        // CREATE DATABASE … TEMPLATE refuses while anyone is connected to the template.
        drop(conn);
        TestCluster {
            admin_url,
            template,
            _private: private,
        }
    })
}

/// Databases left by runs that died (their process no longer exists).
fn drop_stale_databases(admin: &mut PgConnection) {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let names: Vec<Name> = diesel::sql_query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'dscsa\\_tpl\\_%' OR datname LIKE 'dscsa\\_test\\_%'",
    )
    .load(admin)
    .unwrap_or_default();
    for Name { datname } in names {
        let pid = datname
            .split('_')
            .nth(2)
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)"));
            }
        }
    }
}

/// Replaces the database name in a libpq URL (`postgres://u@h:p/db?x` or `postgresql://u@/db?host=…`).
pub fn with_database(url: &str, database: &str) -> String {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    let query_start = url[after_scheme..]
        .find('?')
        .map(|i| after_scheme + i)
        .unwrap_or(url.len());
    let path_start = url[after_scheme..query_start]
        .find('/')
        .map(|i| after_scheme + i)
        .unwrap_or(query_start);
    format!("{}/{}{}", &url[..path_start], database, &url[query_start..])
}

/// A fresh, migrated database of its own, dropped when this value is.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn create() -> TestDb {
        let cluster = cluster();
        let name = format!(
            "dscsa_test_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = store::connect(&cluster.admin_url).unwrap();
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE {}",
                cluster.template
            ))
            .expect("create test database from template");
        TestDb {
            url: with_database(&cluster.admin_url, &name),
            name,
        }
    }

    pub fn conn(&self) -> PgConnection {
        store::connect(&self.url).unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = store::connect(&cluster().admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Settings for a test server: port 0 on loopback, the given database, short timeouts.
pub fn test_settings(database_url: &str) -> Settings {
    let mut raw = RawSettings::default();
    raw.http.listen = Some("127.0.0.1:0".into());
    raw.http.shutdown_timeout_secs = Some(1);
    raw.http.workers = Some(1);
    raw.database.url = Some(database_url.into());
    raw.database.pool_size = Some(4);
    raw.database.connect_timeout_secs = Some(2);
    raw.data_dir = Some(
        std::env::temp_dir()
            .join("dscsa-test-data")
            .display()
            .to_string(),
    );
    // Tests that need the partner listener turn it on (tls_fixture.rs).
    raw.tls.enabled = Some(false);
    raw.validate().unwrap()
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    #[allow(dead_code)] // kept alive for the server; tests that inspect rows read it
    pub db: TestDb,
    handles: Vec<actix_web::dev::ServerHandle>,
    /// The partner-facing (mutual TLS) port, when enabled.
    pub tls_port: Option<u16>,
}

/// A real server on port 0 with its own fresh database.
pub async fn spawn_app() -> TestApp {
    let db = tokio::task::spawn_blocking(TestDb::create).await.unwrap();
    let settings = test_settings(&db.url);
    spawn_with(db, &settings).await
}

pub async fn spawn_with(db: TestDb, settings: &Settings) -> TestApp {
    let pool = store::pool(
        settings.database.url.as_ref().unwrap().expose(),
        settings.database.pool_size,
        Duration::from_secs(settings.database.connect_timeout_secs),
    );
    let app = Application::build(settings, pool).expect("build application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handles = app.handles();
    let tls_port = app.tls_port();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        db,
        handles,
        tls_port,
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{}", self.address, path))
            .send()
            .await
            .expect("request failed")
    }

    /// `path` on the partner (mutual TLS) listener.
    pub fn partner_url(&self, path: &str) -> String {
        let port = self.tls_port.expect("the partner listener is off");
        format!("https://localhost:{port}{path}")
    }

    /// `POST /epcis/capture` of an EPCIS XML document, as the partner whose certificate
    /// `client` presents.
    pub async fn capture(&self, client: &reqwest::Client, xml: impl Into<reqwest::Body>) -> Answer {
        self.post_xml(client, "/epcis/capture", xml).await
    }

    /// POSTs an XML body (`/epcis/capture`, `/capture`) on the partner listener.
    pub async fn post_xml(
        &self,
        client: &reqwest::Client,
        path: &str,
        xml: impl Into<reqwest::Body>,
    ) -> Answer {
        self.post_as(client, path, "application/xml", xml).await
    }

    /// POSTs a body of the given content type on the partner listener (JSON-LD captures:
    /// `application/ld+json`).
    pub async fn post_as(
        &self,
        client: &reqwest::Client,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let res = client
            .post(self.partner_url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        Answer::read(res).await
    }

    /// A GET on the partner listener (a document, a capture job, the verification log).
    pub async fn get_as(&self, client: &reqwest::Client, path: &str) -> Answer {
        let res = client
            .get(self.partner_url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        Answer::read(res).await
    }

    /// A verification request (`/verify/…`) over mutual TLS.
    pub async fn verify(&self, client: &reqwest::Client, path: &str) -> Answer {
        assert!(
            path.starts_with("/verify/"),
            "not a verification path: {path}"
        );
        self.get_as(client, path).await
    }
}

/// An answer read whole: its status, its `Location` and `Content-Type`, and its body as JSON
/// (`Null` when the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: serde_json::Value,
}

impl Answer {
    async fn read(res: reqwest::Response) -> Answer {
        let status = res.status().as_u16();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let (location, content_type) = (header("location"), header("content-type"));
        let body = res.json().await.unwrap_or(serde_json::Value::Null);
        Answer {
            status,
            location,
            content_type,
            body,
        }
    }

    /// Status and body, for `let (status, body) = …`.
    pub fn parts(self) -> (u16, serde_json::Value) {
        (self.status, self.body)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting; the database is dropped (connections forced closed) right after.
        for h in &self.handles {
            drop(h.stop(false));
        }
    }
}

/// One `bigint` from a query (counts), on a connection of its own.
pub fn scalar(url: &str, sql: &str) -> i64 {
    diesel::dsl::sql::<diesel::sql_types::BigInt>(sql)
        .get_result(&mut store::connect(url).unwrap())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A large valid EPCIS 1.2 document, built here so that tests need no outside tool:
/// `items` SGTINs commissioned in events of 10,000, cases (SSCC) of 24 commissioned, and one
/// packing event per case. Serials: `items + items.div_ceil(24)`.
pub fn large_document(items: usize) -> Vec<u8> {
    use std::fmt::Write;
    let item = |n: usize| format!("urn:epc:id:sgtin:0361414.012345.K{n}");
    let case = |n: usize| format!("urn:epc:id:sscc:0361414.1{n:09}");
    let cases = items.div_ceil(24);
    let mut out = String::with_capacity(items * 120);
    out.push_str(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:cbvmda="urn:epcglobal:cbv:mda" schemaVersion="1.2" creationDate="2025-01-01T00:00:00Z">
<EPCISBody><EventList>
"#,
    );
    let object = |out: &mut String, epcs: &mut dyn Iterator<Item = String>, minute: usize| {
        write!(out, "<ObjectEvent><eventTime>2025-01-01T08:{minute:02}:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList>").unwrap();
        for e in epcs {
            write!(out, "<epc>{e}</epc>").unwrap();
        }
        out.push_str("</epcList><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><disposition>urn:epcglobal:cbv:disp:active</disposition><extension><ilmd><cbvmda:lotNumber>L1</cbvmda:lotNumber><cbvmda:itemExpirationDate>2028-12-31</cbvmda:itemExpirationDate></ilmd></extension></ObjectEvent>\n");
    };
    for (chunk, start) in (0..items).step_by(10_000).enumerate() {
        object(
            &mut out,
            &mut (start..(start + 10_000).min(items)).map(item),
            chunk % 60,
        );
    }
    object(&mut out, &mut (0..cases).map(case), 30);
    for c in 0..cases {
        write!(out, "<AggregationEvent><eventTime>2025-01-01T09:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><parentID>{}</parentID><childEPCs>", case(c)).unwrap();
        for i in (c * 24)..((c + 1) * 24).min(items) {
            write!(out, "<epc>{}</epc>", item(i)).unwrap();
        }
        out.push_str("</childEPCs><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep></AggregationEvent>\n");
    }
    out.push_str("</EventList></EPCISBody></epcis:EPCISDocument>\n");
    out.into_bytes()
}

/// Column `v` (text) of every row of a query.
pub fn strings(url: &str, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    diesel::sql_query(sql)
        .load::<Row>(&mut store::connect(url).unwrap())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| r.v)
        .collect()
}
