//! `dscsa-exchange certs init|issue|revoke`: a development PKI for trying the server out.
//! Production deployments configure `tls.cert`, `tls.key` and `tls.client_ca` from their own CA.

use std::path::PathBuf;

use clap::Subcommand;

use super::db::with_db;
use super::CliError;
use crate::config::Settings;
use crate::partners::{self, NewPartner, Role};
use crate::tls::pki::{self, PkiPaths};

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Create a development CA and a server certificate for localhost, 127.0.0.1 and ::1.
    Init {
        /// Folder for the CA and server files (default: data_dir/tls).
        #[arg(long = "ca-dir", visible_alias = "dir", value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Extra host names or IP addresses for the server certificate.
        #[arg(long = "host")]
        hosts: Vec<String>,
        /// Replace an existing PKI.
        #[arg(long)]
        force: bool,
    },
    /// Issue a client certificate (PEM, key and PKCS#12) signed by the development CA.
    Issue {
        /// The partner's GLN (13 digits), written into the certificate.
        #[arg(long)]
        gln: String,
        /// trading_partner, regulator, compliance or admin (written into the certificate).
        #[arg(long)]
        role: String,
        /// The partner's name, written into the certificate.
        #[arg(long)]
        name: String,
        /// File name label (default: the GLN).
        #[arg(long)]
        label: Option<String>,
        /// Folder of the development CA that signs the certificate, made by `certs init`; the
        /// client files are written there too (default: data_dir/tls).
        #[arg(long = "ca-dir", visible_alias = "dir", value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Also register the partner with this certificate in the database.
        #[arg(long)]
        register: bool,
    },
    /// Write a CRL revoking the given client certificates (PEM files); point `tls.crl` at it.
    Revoke {
        #[arg(required = true)]
        certs: Vec<PathBuf>,
        /// Folder of the development CA that signs the CRL; `crl.pem` is written there
        /// (default: data_dir/tls).
        #[arg(long = "ca-dir", visible_alias = "dir", value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

fn paths(settings: &Settings, dir: Option<PathBuf>) -> PkiPaths {
    PkiPaths::new(&dir.unwrap_or_else(|| settings.data_dir.join("tls")))
}

fn random_password() -> String {
    let mut bytes = [0u8; 12];
    openssl::rand::rand_bytes(&mut bytes).expect("random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn run(settings: &Settings, cmd: CertsCommand) -> Result<(), CliError> {
    match cmd {
        CertsCommand::Init { dir, hosts, force } => {
            let p = paths(settings, dir);
            if p.exists() && !force {
                return Err(CliError::failure(format!(
                    "a PKI already exists in {} (use --force to replace it)",
                    p.dir.display()
                )));
            }
            let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
            p.init(&hosts).map_err(CliError::failure)?;
            println!("development CA:      {}", p.ca_cert().display());
            println!("server certificate:  {}", p.server_cert().display());
            println!(
                "configure: tls.cert = {:?}, tls.key = {:?}, tls.client_ca = [{:?}]",
                p.server_cert().display().to_string(),
                p.server_key().display().to_string(),
                p.ca_cert().display().to_string()
            );
            Ok(())
        }
        CertsCommand::Issue {
            gln,
            role,
            name,
            label,
            dir,
            register,
        } => {
            let gln_parsed: crate::gs1::Gln = gln
                .parse()
                .map_err(|e: crate::gs1::Gs1Error| CliError::usage(format!("--gln: {e}")))?;
            let role: Role = role.parse().map_err(CliError::usage)?;
            let p = paths(settings, dir);
            if !p.exists() {
                return Err(CliError::failure(format!(
                    "no development CA in {}: run `dscsa-exchange certs init` first",
                    p.dir.display()
                )));
            }
            let label = label.unwrap_or_else(|| gln.clone());
            let password = random_password();
            let cert = p
                .issue_client(&label, gln_parsed.as_str(), &name, role.as_str(), &password)
                .map_err(CliError::failure)?;
            println!("client certificate: {}", p.client_cert(&label).display());
            println!("private key:        {}", p.client_key(&label).display());
            println!(
                "PKCS#12 bundle:     {} (password {password})",
                p.client_p12(&label).display()
            );
            println!(
                "SHA-256 fingerprint: {}",
                crate::tls::fingerprint_hex(&crate::tls::fingerprint(&cert))
            );
            if register {
                let partner = with_db(settings, |conn| {
                    partners::register(
                        conn,
                        NewPartner::new(name, role)
                            .gln(Some(gln_parsed))
                            .certificate(Some(cert)),
                        "cli:certs-issue",
                    )
                    .map_err(CliError::failure)
                })?;
                println!("registered as partner {}", partner.id);
            }
            Ok(())
        }
        CertsCommand::Revoke { certs, dir } => {
            let p = paths(settings, dir);
            let ca = p.load_ca().map_err(CliError::failure)?;
            let mut loaded = Vec::new();
            for path in &certs {
                let pem = std::fs::read(path).map_err(|e| {
                    CliError::failure(format!("cannot read {}: {e}", path.display()))
                })?;
                loaded.push(openssl::x509::X509::from_pem(&pem).map_err(|_| {
                    CliError::failure(format!("{}: not a PEM certificate", path.display()))
                })?);
            }
            let refs: Vec<&openssl::x509::X509> = loaded.iter().collect();
            let crl = pki::crl(&ca, &refs, 30).map_err(CliError::failure)?;
            let out = p.dir.join("crl.pem");
            std::fs::write(
                &out,
                crl.to_pem().map_err(|e| CliError::failure(e.to_string()))?,
            )
            .map_err(|e| CliError::failure(format!("cannot write {}: {e}", out.display())))?;
            println!(
                "CRL written to {} (set tls.crl to it and restart)",
                out.display()
            );
            Ok(())
        }
    }
}
