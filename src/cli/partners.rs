//! `dscsa-exchange partners add|list|disable|enable`.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Subcommand;

use super::db::with_db;
use super::{actor, CliError};
use crate::config::Settings;
use crate::partners::{self, AtpStatus, NewPartner, Role};

#[derive(Debug, Subcommand)]
pub enum PartnersCommand {
    /// Register a trading partner, regulator, compliance officer or admin.
    Add {
        /// GLN (13 digits); optional for regulators without one.
        #[arg(long)]
        gln: Option<String>,
        #[arg(long)]
        name: String,
        /// trading_partner, regulator, compliance or admin.
        #[arg(long)]
        role: String,
        /// Client certificate (PEM) the partner authenticates with.
        #[arg(long, value_name = "PEM")]
        cert: Option<PathBuf>,
        /// unknown, authorized, suspended or revoked.
        #[arg(long, default_value = "unknown")]
        atp_status: String,
        #[arg(long)]
        licence_number: Option<String>,
        /// YYYY-MM-DD.
        #[arg(long)]
        licence_expires: Option<NaiveDate>,
    },
    /// List partners and their certificates.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a partner (by GLN or id): refused from its next request on.
    Disable { partner: String },
    /// Enable a partner again.
    Enable { partner: String },
}

pub fn run(settings: &Settings, cmd: PartnersCommand) -> Result<(), CliError> {
    match cmd {
        PartnersCommand::Add {
            gln,
            name,
            role,
            cert,
            atp_status,
            licence_number,
            licence_expires,
        } => {
            let gln =
                match gln {
                    Some(g) => Some(g.parse().map_err(|e: crate::gs1::Gs1Error| {
                        CliError::usage(format!("--gln: {e}"))
                    })?),
                    None => None,
                };
            let role: Role = role.parse().map_err(CliError::usage)?;
            let atp_status: AtpStatus = atp_status.parse().map_err(CliError::usage)?;
            let certificate = match cert {
                Some(path) => {
                    let pem = std::fs::read(&path).map_err(|e| {
                        CliError::failure(format!("cannot read {}: {e}", path.display()))
                    })?;
                    Some(openssl::x509::X509::from_pem(&pem).map_err(|_| {
                        CliError::failure(format!("{}: not a PEM certificate", path.display()))
                    })?)
                }
                None => None,
            };
            let new = NewPartner::new(name, role)
                .gln(gln)
                .atp_status(atp_status)
                .licence(licence_number, licence_expires)
                .certificate(certificate);
            let p = with_db(settings, |conn| {
                partners::register(conn, new, &actor()).map_err(CliError::failure)
            })?;
            println!(
                "registered partner {} ({}, {}){}",
                p.id,
                p.name,
                p.role,
                p.certificates
                    .first()
                    .map(|c| format!(" with certificate SHA-256 {}", c.fingerprint_sha256))
                    .unwrap_or_default()
            );
            Ok(())
        }
        PartnersCommand::List { json } => {
            let list = with_db(settings, |conn| {
                partners::list(conn).map_err(CliError::failure)
            })?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).expect("serialisable")
                );
                return Ok(());
            }
            println!(
                "{:>4}  {:13}  {:16}  {:8}  {:10}  name",
                "id", "gln", "role", "enabled", "atp"
            );
            for p in list {
                println!(
                    "{:>4}  {:13}  {:16}  {:8}  {:10}  {}",
                    p.id,
                    p.gln.as_deref().unwrap_or("-"),
                    p.role,
                    p.enabled,
                    p.atp_status,
                    p.name
                );
                for c in p.certificates {
                    println!(
                        "        certificate {} ({}){}",
                        c.fingerprint_sha256,
                        c.subject,
                        if c.revoked { " REVOKED" } else { "" }
                    );
                }
            }
            Ok(())
        }
        PartnersCommand::Disable { partner } => set_enabled(settings, &partner, false),
        PartnersCommand::Enable { partner } => set_enabled(settings, &partner, true),
    }
}

fn set_enabled(settings: &Settings, selector: &str, enabled: bool) -> Result<(), CliError> {
    let p = with_db(settings, |conn| {
        partners::set_enabled(conn, selector, enabled, &actor()).map_err(CliError::failure)
    })?;
    println!(
        "partner {} ({}) {}",
        p.id,
        p.name,
        if enabled { "enabled" } else { "disabled" }
    );
    Ok(())
}
