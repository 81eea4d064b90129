//! Mutual TLS for the partner-facing listener.
//!
//! The handshake itself refuses clients without a certificate, with a certificate from a CA we do
//! not trust, or with a revoked certificate (CRL). Who the client *is* is decided after the
//! handshake, per request: the SHA-256 fingerprint of its leaf certificate is looked up among
//! the registered trading partners (see `crate::partners`), so disabling a partner takes effect
//! on its next request without a restart.

pub mod pki;

use std::path::{Path, PathBuf};

use openssl::hash::MessageDigest;
use openssl::ssl::{
    SslAcceptor, SslAcceptorBuilder, SslFiletype, SslMethod, SslVerifyMode, SslVersion,
};
use openssl::x509::store::{X509Lookup, X509StoreBuilder};
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509Crl, X509};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("TLS: {0}")]
    OpenSsl(#[from] openssl::error::ErrorStack),
    #[error("PKI: {0}")]
    Pki(String),
}

impl TlsError {
    pub fn file(path: &Path, source: std::io::Error) -> Self {
        TlsError::File {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Files of the partner-facing listener.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Server certificate chain (PEM, leaf first).
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CA bundles whose client certificates are accepted.
    pub client_ca: Vec<PathBuf>,
    /// Optional certificate revocation list (PEM), checked for every client certificate.
    pub crl: Option<PathBuf>,
}

/// The identity a client proved in the handshake: its leaf certificate's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    pub fingerprint: [u8; 32],
    pub subject: String,
}

impl PeerCertificate {
    pub fn from_x509(cert: &X509) -> Self {
        PeerCertificate {
            fingerprint: fingerprint(cert),
            subject: subject_line(cert),
        }
    }
}

/// SHA-256 over the DER encoding: what partners are registered under.
pub fn fingerprint(cert: &X509) -> [u8; 32] {
    let digest = cert
        .digest(MessageDigest::sha256())
        .expect("SHA-256 is always available");
    let mut out = [0u8; 32];
    out.copy_from_slice(&digest);
    out
}

pub fn fingerprint_hex(fp: &[u8]) -> String {
    fp.iter().map(|b| format!("{b:02x}")).collect()
}

/// `CN=…, O=…` for logs and listings.
pub fn subject_line(cert: &X509) -> String {
    cert.subject_name()
        .entries()
        .filter_map(|e| {
            let key = e.object().nid().short_name().ok()?;
            let value = e.data().to_string().ok()?;
            Some(format!("{key}={value}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::file(path, e))
}

fn pem_error(path: &Path, what: &str, e: openssl::error::ErrorStack) -> TlsError {
    TlsError::Pem {
        path: path.to_path_buf(),
        message: format!("not a PEM {what} ({e})"),
    }
}

/// The acceptor: TLS 1.2+, Mozilla "intermediate" ciphers, client certificate required and
/// verified against `client_ca` (and the CRL, when given).
pub fn acceptor(files: &TlsFiles) -> Result<SslAcceptorBuilder, TlsError> {
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls())?;
    b.set_min_proto_version(Some(SslVersion::TLS1_2))?;
    let chain = read(&files.cert)?;
    let mut certs =
        X509::stack_from_pem(&chain).map_err(|e| pem_error(&files.cert, "certificate chain", e))?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: files.cert.clone(),
            message: "no certificate in the file".into(),
        });
    }
    let leaf = certs.remove(0);
    b.set_certificate(&leaf)?;
    for c in certs {
        b.add_extra_chain_cert(c)?;
    }
    let key = read(&files.key)?;
    let key = openssl::pkey::PKey::private_key_from_pem(&key)
        .map_err(|e| pem_error(&files.key, "private key", e))?;
    b.set_private_key(&key)?;
    b.check_private_key().map_err(|e| TlsError::Pem {
        path: files.key.clone(),
        message: format!(
            "does not match the certificate in {} ({e})",
            files.cert.display()
        ),
    })?;

    let mut store = X509StoreBuilder::new()?;
    if files.client_ca.is_empty() {
        return Err(TlsError::Pki(
            "no client CA configured: mutual TLS needs at least one `tls.client_ca` file".into(),
        ));
    }
    for path in &files.client_ca {
        let pem = read(path)?;
        let cas = X509::stack_from_pem(&pem).map_err(|e| pem_error(path, "CA bundle", e))?;
        for ca in cas {
            b.add_client_ca(&ca)?;
            store.add_cert(ca)?;
        }
    }
    if let Some(path) = &files.crl {
        // Parse first, so that a bad file gets a message naming it.
        let pem = read(path)?;
        X509Crl::from_pem(&pem).map_err(|e| pem_error(path, "CRL", e))?;
        store
            .add_lookup(X509Lookup::file())?
            .load_crl_file(path, SslFiletype::PEM)
            .map_err(|e| pem_error(path, "CRL", e))?;
        store.set_flags(X509VerifyFlags::CRL_CHECK)?;
    }
    b.set_verify_cert_store(store.build())?;
    b.set_verify_callback(
        SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
        |ok, ctx| {
            if !ok {
                let subject = ctx
                    .current_cert()
                    .map(|c| subject_line(&c.to_owned()))
                    .unwrap_or_default();
                log::warn!(
                    "TLS client refused at depth {}: {} ({subject})",
                    ctx.error_depth(),
                    ctx.error()
                );
            }
            ok
        },
    );
    Ok(b)
}
