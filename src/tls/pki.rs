//! A development PKI built with the openssl crate: a CA, a server certificate for
//! localhost/127.0.0.1, client certificates naming a partner (GLN, role), PKCS#12 bundles and
//! CRLs. For trying the server out and for tests; production deployments bring their own CA.

use std::path::{Path, PathBuf};

use openssl::asn1::{Asn1Integer, Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{
    X509Builder, X509Crl, X509CrlBuilder, X509Extension, X509Name, X509NameBuilder,
    X509RevokedBuilder, X509,
};

use super::TlsError;

/// A certificate with its private key.
pub struct Issued {
    pub cert: X509,
    pub key: PKey<Private>,
}

impl Issued {
    pub fn cert_pem(&self) -> Vec<u8> {
        self.cert.to_pem().expect("encode certificate")
    }
    /// PKCS#8, the only private-key form every TLS client library accepts.
    pub fn key_pem(&self) -> Vec<u8> {
        self.key
            .private_key_to_pem_pkcs8()
            .expect("encode private key")
    }
}

fn new_key() -> Result<PKey<Private>, TlsError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

fn random_serial() -> Result<Asn1Integer, TlsError> {
    let mut bn = BigNum::new()?;
    bn.rand(127, MsbOption::MAYBE_ZERO, false)?;
    Ok(bn.to_asn1_integer()?)
}

fn name(entries: &[(Nid, &str)]) -> Result<X509Name, TlsError> {
    let mut name = X509NameBuilder::new()?;
    for (nid, value) in entries {
        name.append_entry_by_nid(*nid, value)?;
    }
    Ok(name.build())
}

fn builder(
    subject: &[(Nid, &str)],
    key: &PKey<Private>,
    days: u32,
) -> Result<X509Builder, TlsError> {
    let name = name(subject)?;
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = random_serial()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_pubkey(key)?;
    // Backdated a little so that clocks that lag do not reject a fresh certificate.
    let not_before = Asn1Time::from_unix(chrono::Utc::now().timestamp() - 3600)?;
    b.set_not_before(&not_before)?;
    let not_after = Asn1Time::days_from_now(days)?;
    b.set_not_after(&not_after)?;
    Ok(b)
}

/// A self-signed CA certificate.
pub fn new_ca(common_name: &str) -> Result<Issued, TlsError> {
    let key = new_key()?;
    let subject = [
        (Nid::ORGANIZATIONNAME, "dscsa-exchange development"),
        (Nid::COMMONNAME, common_name),
    ];
    let mut b = builder(&subject, &key, 3650)?;
    let issuer = name(&subject)?;
    b.set_issuer_name(&issuer)?;
    b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    b.sign(&key, MessageDigest::sha256())?;
    Ok(Issued {
        cert: b.build(),
        key,
    })
}

/// What a leaf certificate is for.
pub enum LeafKind<'a> {
    Server {
        dns: &'a [&'a str],
        ips: &'a [&'a str],
    },
    Client,
}

/// A leaf certificate signed by `ca`.
pub fn issue(
    ca: &Issued,
    subject: &[(Nid, &str)],
    kind: LeafKind<'_>,
    days: u32,
) -> Result<Issued, TlsError> {
    let key = new_key()?;
    let mut b = builder(subject, &key, days)?;
    b.set_issuer_name(ca.cert.subject_name())?;
    b.append_extension(BasicConstraints::new().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .key_agreement()
            .build()?,
    )?;
    match kind {
        LeafKind::Server { dns, ips } => {
            b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
            let mut san = SubjectAlternativeName::new();
            for d in dns {
                san.dns(d);
            }
            for ip in ips {
                san.ip(ip);
            }
            let san = san.build(&b.x509v3_context(Some(&ca.cert), None))?;
            b.append_extension(san)?;
        }
        LeafKind::Client => {
            b.append_extension(ExtendedKeyUsage::new().client_auth().build()?)?;
        }
    }
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&b.x509v3_context(Some(&ca.cert), None))?;
    b.append_extension(aki)?;
    b.sign(&ca.key, MessageDigest::sha256())?;
    Ok(Issued {
        cert: b.build(),
        key,
    })
}

/// A client certificate naming a trading partner: O = name, CN = its GLN (or another label
/// for parties without one), OU = role.
pub fn issue_client(ca: &Issued, gln: &str, name: &str, role: &str) -> Result<Issued, TlsError> {
    issue(
        ca,
        &[
            (Nid::ORGANIZATIONNAME, name),
            (Nid::ORGANIZATIONALUNITNAME, role),
            (Nid::COMMONNAME, gln),
        ],
        LeafKind::Client,
        825,
    )
}

/// A CRL signed by `ca` revoking `revoked`, valid for `days`.
pub fn crl(ca: &Issued, revoked: &[&X509], days: u32) -> Result<X509Crl, TlsError> {
    let mut b = X509CrlBuilder::new()?;
    b.set_issuer_name(ca.cert.subject_name())?;
    let now = chrono::Utc::now().timestamp();
    let this_update = Asn1Time::from_unix(now - 60)?;
    let next_update = Asn1Time::days_from_now(days)?;
    b.set_last_update(&this_update)?;
    b.set_next_update(&next_update)?;
    for cert in revoked {
        let mut r = X509RevokedBuilder::new()?;
        r.set_serial_number(cert.serial_number())?;
        r.set_revocation_date(&this_update)?;
        b.add_revoked(r.build())?;
    }
    // The crate builds these two extensions only for certificates, so their DER is written
    // here: AuthorityKeyIdentifier ::= SEQUENCE { [0] keyIdentifier } and CRLNumber ::= INTEGER.
    let key_id = ca
        .cert
        .subject_key_id()
        .map(|k| k.as_slice().to_vec())
        .ok_or_else(|| TlsError::Pki("the CA certificate has no subject key identifier".into()))?;
    let mut aki = vec![0x80, key_id.len() as u8];
    aki.extend(&key_id);
    let mut aki_seq = vec![0x30, aki.len() as u8];
    aki_seq.extend(aki);
    let aki_oid = Asn1Object::from_str("2.5.29.35")?;
    let aki_value = Asn1OctetString::new_from_bytes(&aki_seq)?;
    b.append_extension(X509Extension::new_from_der(&aki_oid, false, &aki_value)?)?;
    let number = (now as u64).to_be_bytes();
    let mut crl_number = vec![0x02, 9, 0];
    crl_number.extend(number);
    let number_oid = Asn1Object::from_str("2.5.29.20")?;
    let number_value = Asn1OctetString::new_from_bytes(&crl_number)?;
    b.append_extension(X509Extension::new_from_der(
        &number_oid,
        false,
        &number_value,
    )?)?;
    b.sort()?;
    b.sign(&ca.key, MessageDigest::sha256())?;
    Ok(b.build()?)
}

/// PKCS#12 bundle (certificate, key, CA) for browsers and tools that want one file.
pub fn pkcs12(issued: &Issued, ca: &X509, name: &str, password: &str) -> Result<Vec<u8>, TlsError> {
    let mut chain = openssl::stack::Stack::new()?;
    chain.push(ca.clone())?;
    let p12 = Pkcs12::builder()
        .name(name)
        .pkey(&issued.key)
        .cert(&issued.cert)
        .ca(chain)
        .build2(password)?;
    Ok(p12.to_der()?)
}

/// Files of a PKI folder (`data_dir/tls` by default).
pub struct PkiPaths {
    pub dir: PathBuf,
}

impl PkiPaths {
    pub fn new(dir: &Path) -> Self {
        PkiPaths {
            dir: dir.to_path_buf(),
        }
    }
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn ca_key(&self) -> PathBuf {
        self.dir.join("ca.key")
    }
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }
    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server.key")
    }
    pub fn client_cert(&self, label: &str) -> PathBuf {
        self.dir.join(format!("client-{label}.pem"))
    }
    pub fn client_key(&self, label: &str) -> PathBuf {
        self.dir.join(format!("client-{label}.key"))
    }
    pub fn client_p12(&self, label: &str) -> PathBuf {
        self.dir.join(format!("client-{label}.p12"))
    }
    pub fn exists(&self) -> bool {
        self.ca_cert().exists() && self.server_cert().exists() && self.server_key().exists()
    }

    /// Creates the dev CA and a server certificate for localhost/127.0.0.1/::1.
    pub fn init(&self, extra_hosts: &[&str]) -> Result<(), TlsError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| TlsError::file(&self.dir, e))?;
        let ca = new_ca("dscsa-exchange development CA")?;
        let mut dns = vec!["localhost"];
        let mut ips = vec!["127.0.0.1", "::1"];
        for h in extra_hosts {
            if h.parse::<std::net::IpAddr>().is_ok() {
                ips.push(h);
            } else {
                dns.push(h);
            }
        }
        let server = issue(
            &ca,
            &[(Nid::COMMONNAME, "localhost")],
            LeafKind::Server {
                dns: &dns,
                ips: &ips,
            },
            825,
        )?;
        write(&self.ca_cert(), &ca.cert_pem(), 0o644)?;
        write(&self.ca_key(), &ca.key_pem(), 0o600)?;
        write(&self.server_cert(), &server.cert_pem(), 0o644)?;
        write(&self.server_key(), &server.key_pem(), 0o600)?;
        Ok(())
    }

    pub fn load_ca(&self) -> Result<Issued, TlsError> {
        let cert = std::fs::read(self.ca_cert()).map_err(|e| TlsError::file(&self.ca_cert(), e))?;
        let key = std::fs::read(self.ca_key()).map_err(|e| TlsError::file(&self.ca_key(), e))?;
        Ok(Issued {
            cert: X509::from_pem(&cert)?,
            key: PKey::private_key_from_pem(&key)?,
        })
    }

    /// Issues a client certificate for a partner and writes PEM, key and PKCS#12 (password
    /// `p12_password`). Returns the certificate.
    pub fn issue_client(
        &self,
        label: &str,
        gln: &str,
        name: &str,
        role: &str,
        p12_password: &str,
    ) -> Result<X509, TlsError> {
        let ca = self.load_ca()?;
        let client = issue_client(&ca, gln, name, role)?;
        write(&self.client_cert(label), &client.cert_pem(), 0o644)?;
        write(&self.client_key(label), &client.key_pem(), 0o600)?;
        let p12 = pkcs12(&client, &ca.cert, label, p12_password)?;
        write(&self.client_p12(label), &p12, 0o600)?;
        Ok(client.cert)
    }
}

fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| TlsError::file(path, e))?;
    f.write_all(bytes).map_err(|e| TlsError::file(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::X509StoreContext;

    fn verifies(ca: &X509, leaf: &X509) -> bool {
        let mut store = X509StoreBuilder::new().unwrap();
        store.add_cert(ca.clone()).unwrap();
        let store = store.build();
        let chain = openssl::stack::Stack::new().unwrap();
        let mut ctx = X509StoreContext::new().unwrap();
        ctx.init(&store, leaf, &chain, |c| c.verify_cert()).unwrap()
    }

    #[test]
    fn client_certificates_chain_to_their_ca_and_not_to_another() {
        let ca = new_ca("test CA").unwrap();
        let other = new_ca("other CA").unwrap();
        let client =
            issue_client(&ca, "0312345000004", "Acme Wholesale", "trading_partner").unwrap();
        assert!(verifies(&ca.cert, &client.cert));
        assert!(!verifies(&other.cert, &client.cert));
        let cn = client
            .cert
            .subject_name()
            .entries_by_nid(Nid::COMMONNAME)
            .next()
            .unwrap()
            .data()
            .to_string()
            .unwrap();
        assert_eq!(cn, "0312345000004");
    }

    #[test]
    fn a_crl_lists_exactly_the_revoked_serials_and_verifies_with_the_ca_key() {
        let ca = new_ca("test CA").unwrap();
        let revoked = issue_client(&ca, "0312345000004", "A", "trading_partner").unwrap();
        let kept = issue_client(&ca, "0361414000018", "B", "trading_partner").unwrap();
        let crl = crl(&ca, &[&revoked.cert], 30).unwrap();
        assert!(crl.verify(&ca.key).unwrap());
        let listed: Vec<Vec<u8>> = crl
            .get_revoked()
            .unwrap()
            .iter()
            .map(|r| r.serial_number().to_bn().unwrap().to_vec())
            .collect();
        assert_eq!(
            listed,
            vec![revoked.cert.serial_number().to_bn().unwrap().to_vec()]
        );
        assert!(!listed.contains(&kept.cert.serial_number().to_bn().unwrap().to_vec()));
    }

    #[test]
    fn pkcs12_bundles_open_with_their_password() {
        let ca = new_ca("test CA").unwrap();
        let client = issue_client(&ca, "0312345000004", "A", "regulator").unwrap();
        let der = pkcs12(&client, &ca.cert, "a", "pw").unwrap();
        let parsed = Pkcs12::from_der(&der).unwrap().parse2("pw").unwrap();
        assert_eq!(
            parsed.cert.unwrap().to_der().unwrap(),
            client.cert.to_der().unwrap()
        );
        assert!(Pkcs12::from_der(&der).unwrap().parse2("wrong").is_err());
    }
}
