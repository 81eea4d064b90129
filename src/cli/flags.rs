//! `dscsa-exchange flags set` and `dscsa-exchange directory set`: compliance flags and the
//! verification lookup directory.

use clap::Subcommand;

use super::db::with_db;
use super::{actor, CliError};
use crate::config::Settings;
use crate::directory::{self, Entry};
use crate::flags::{self, Flag, Target};

#[derive(Debug, Subcommand)]
pub enum FlagsCommand {
    /// Flag a serial, a lot or a whole product as recalled, suspect or illegitimate.
    Set {
        /// The product (GTIN-14, or GTIN-8/12/13).
        #[arg(long)]
        gtin: String,
        /// Flag this lot of the product only.
        #[arg(long)]
        lot: Option<String>,
        /// Flag this serial of the product only (it must be known here).
        #[arg(long)]
        serial: Option<String>,
        /// recalled, suspect or illegitimate.
        #[arg(long)]
        flag: String,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: String,
    },
}

pub fn run(settings: &Settings, cmd: FlagsCommand) -> Result<(), CliError> {
    let FlagsCommand::Set {
        gtin,
        lot,
        serial,
        flag,
        reason,
    } = cmd;
    let target = Target::parse(&gtin, lot.as_deref(), serial.as_deref())
        .map_err(|e| CliError::usage(format!("--{e}")))?;
    let flag: Flag = flag.parse().map_err(CliError::usage)?;
    with_db(settings, |conn| {
        flags::set(conn, &target, flag, &reason, "cli", None).map_err(CliError::failure)
    })?;
    println!("{} flag set on {}", flag.as_str(), describe(&target));
    Ok(())
}

/// A flag's target as a person reads it: `serial SN1 (GTIN 00361414123458)`.
fn describe(target: &Target) -> String {
    match target {
        Target::Serial(gtin, serial) => format!("serial {serial} (GTIN {gtin})"),
        Target::Lot(gtin, lot) => format!("lot {lot} (GTIN {gtin})"),
        Target::Product(gtin) => format!("every pack of GTIN {gtin}"),
    }
}

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Forward verification requests for GTINs starting with PREFIX (a GTIN-14 or a company
    /// prefix) to the responder at URL (its base, e.g. https://vrs.example.com/verify).
    Set { prefix: String, url: String },
}

pub fn run_directory(settings: &Settings, cmd: DirectoryCommand) -> Result<(), CliError> {
    let DirectoryCommand::Set { prefix, url } = cmd;
    let entry = Entry::new(&prefix, &url).map_err(CliError::usage)?;
    with_db(settings, |conn| {
        directory::set_responder(conn, &entry, &actor()).map_err(CliError::failure)
    })?;
    println!("verification requests for {prefix}… are forwarded to {url}");
    Ok(())
}
