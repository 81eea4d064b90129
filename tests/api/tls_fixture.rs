//! A test PKI made at run time (CA, server certificate for localhost, client certificates, a
//! second CA nobody trusts, a CRL) and a server with the partner listener on it.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use dscsa_exchange::config::Settings;
use dscsa_exchange::gs1::Gln;
use dscsa_exchange::partners::{self, AtpStatus, NewPartner, Role};
use dscsa_exchange::tls::pki::{self, Issued, LeafKind};
use dscsa_exchange::tls::TlsFiles;
use openssl::nid::Nid;

use crate::helpers::{spawn_with, test_settings, TestApp, TestDb};

pub struct Pki {
    pub dir: PathBuf,
    pub ca: Issued,
    pub revoked: Issued,
}

impl Pki {
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn files(&self) -> TlsFiles {
        TlsFiles {
            cert: self.dir.join("server.pem"),
            key: self.dir.join("server.key"),
            client_ca: vec![self.ca_file()],
            crl: Some(self.dir.join("crl.pem")),
        }
    }
    pub fn client(&self, gln: &str, role: &str) -> Issued {
        pki::issue_client(&self.ca, gln, "Test partner", role).unwrap()
    }
}

/// One PKI per test run: key generation is the slow part.
pub fn test_pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("dscsa-test-pki-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = pki::new_ca("test CA").unwrap();
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
        let revoked =
            pki::issue_client(&ca, "0361414000018", "Revoked", "trading_partner").unwrap();
        let crl = pki::crl(&ca, &[&revoked.cert], 30).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.cert_pem()).unwrap();
        std::fs::write(dir.join("server.pem"), server.cert_pem()).unwrap();
        std::fs::write(dir.join("server.key"), server.key_pem()).unwrap();
        std::fs::write(dir.join("crl.pem"), crl.to_pem().unwrap()).unwrap();
        Pki { dir, ca, revoked }
    })
}

/// Settings with the partner listener on port 0 and the test PKI.
pub fn tls_settings(database_url: &str) -> Settings {
    let mut s = test_settings(database_url);
    s.tls.enabled = true;
    s.tls.listen = "127.0.0.1:0".parse().unwrap();
    s.tls.files = Some(test_pki().files());
    s.verification.responder_gln = Some("0361414000018".parse().unwrap());
    s
}

pub struct PartnerApp {
    pub app: TestApp,
    pub base: String,
}

pub async fn spawn_partner_app() -> PartnerApp {
    let db = tokio::task::spawn_blocking(TestDb::create).await.unwrap();
    let settings = tls_settings(&db.url);
    spawn_partner_app_with(db, settings).await
}

pub async fn spawn_partner_app_with(db: TestDb, settings: Settings) -> PartnerApp {
    let app = spawn_with(db, &settings).await;
    let base = format!(
        "https://localhost:{}",
        app.tls_port.expect("partner listener")
    );
    PartnerApp { app, base }
}

/// A client presenting `identity` (or none), trusting the test CA.
pub fn client(identity: Option<&Issued>) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(&test_pki().ca.cert_pem()).unwrap();
    let mut b = reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(20));
    if let Some(id) = identity {
        b = b.identity(reqwest::Identity::from_pkcs8_pem(&id.cert_pem(), &id.key_pem()).unwrap());
    }
    b.build().unwrap()
}

impl PartnerApp {
    /// Registers a partner with a fresh certificate and returns a client that presents it.
    pub async fn partner(&self, gln: &str, role: Role) -> (i64, reqwest::Client, Issued) {
        let issued = test_pki().client(gln, role.as_str());
        let cert = issued.cert.clone();
        let url = self.app.db.url.clone();
        let gln: Option<Gln> = Some(gln.parse().unwrap());
        let id = tokio::task::spawn_blocking(move || {
            let mut conn = dscsa_exchange::store::connect(&url).unwrap();
            partners::register(
                &mut conn,
                NewPartner::new(format!("{role} partner"), role)
                    .gln(gln)
                    .atp_status(AtpStatus::Authorized)
                    .certificate(Some(cert)),
                "test",
            )
            .unwrap()
            .id
        })
        .await
        .unwrap();
        (id, client(Some(&issued)), issued)
    }

    /// Runs SQL against this app's database.
    pub async fn sql(&self, sql: &str) {
        let url = self.app.db.url.clone();
        let sql = sql.to_string();
        tokio::task::spawn_blocking(move || {
            dscsa_exchange::store::connect(&url)
                .unwrap()
                .batch_execute(&sql)
                .unwrap()
        })
        .await
        .unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        self.app.partner_url(path)
    }
}

/// The request helpers of `TestApp` (`capture`, `verify`, …) on the partner listener.
impl std::ops::Deref for PartnerApp {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}
