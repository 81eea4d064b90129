//! Command-line interface: one binary, subcommands. Each subcommand parses its arguments, calls
//! the same use-case functions as the HTTP API, and maps the outcome to an exit status:
//! 0 success, 1 failure (the message says what and how to fix), 2 usage error, 78 configuration
//! error (sysexits' EX_CONFIG).

mod capture;
mod certs;
mod convert;
mod db;
mod export;
mod flags;
pub mod gs1_cmd;
mod hash;
mod labels;
mod partners;
mod serials;
mod serve;
mod ship;
mod trace;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::store::{self, Database};

pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_CONFIG: u8 = 78;

#[derive(Debug, Parser)]
#[command(
    name = "dscsa-exchange",
    version,
    about = "GS1 EPCIS / DSCSA data-exchange server"
)]
pub struct Cli {
    /// Configuration file (TOML). Default: $DSCSA_CONFIG, else ./dscsa-exchange.toml if present.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (on its private PostgreSQL under ./data unless DATABASE_URL is set).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration (secrets masked).
    Config,
    /// Check EPCIS documents: offline (structure and identifiers), or with `--db` also the
    /// DSCSA business rules against the configured database (nothing is stored).
    Validate {
        /// Also check the business rules against the stored state (a capture rolled back).
        #[arg(long)]
        db: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Capture EPCIS documents into the database (as `POST /epcis/capture` does).
    Import {
        /// Show progress on stderr even when it is not a terminal (it is shown on a terminal).
        #[arg(long)]
        progress: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Manage trading partners, regulators, compliance officers and admins.
    Partners {
        #[command(subcommand)]
        cmd: partners::PartnersCommand,
    },
    /// Development PKI: CA, server and client certificates, CRLs.
    Certs {
        #[command(subcommand)]
        cmd: certs::CertsCommand,
    },
    /// Recall / suspect / illegitimate flags.
    Flags {
        #[command(subcommand)]
        cmd: flags::FlagsCommand,
    },
    /// The verification lookup directory (where to forward other GTINs).
    Directory {
        #[command(subcommand)]
        cmd: flags::DirectoryCommand,
    },
    /// Ask a verification responder whether a package is genuine.
    Verify(verify::VerifyArgs),
    /// Convert an EPCIS document to EPCIS 2.0 JSON-LD, 2.0 XML or 1.2 XML (offline).
    Convert(convert::ConvertArgs),
    /// Stream stored events a query selects as one EPCIS document (docs/QUERY.md).
    Export(export::ExportArgs),
    /// Print each event's CBV 2.0 event hash id with its file:line:column (offline).
    Hash {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Serial numbers: pools, allocation, reconciliation (see docs/SERIALS.md).
    Serials {
        #[command(subcommand)]
        cmd: serials::SerialsCommand,
    },
    /// Make a DSCSA shipment: check custody, flags and master data, write the TI/TS document,
    /// record the shipping event (docs/SHIPMENTS.md).
    Ship(ship::ShipArgs),
    /// Print GS1 DataMatrix pack labels for an allocation.
    Labels(labels::LabelsArgs),
    /// Trace a package, a container or a lot: state, events, transaction history, containers,
    /// verification requests and flags (docs/COMPLIANCE.md).
    Trace(trace::TraceArgs),
    /// Parse and convert GS1 identifiers (offline).
    Gs1 {
        #[command(subcommand)]
        cmd: gs1_cmd::Gs1Command,
    },
}

/// A failure a shell user can act on: printed as one `error: …` line.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub fn failure(message: impl std::fmt::Display) -> Self {
        CliError {
            code: EXIT_FAILURE,
            message: message.to_string(),
        }
    }
    pub fn usage(message: impl std::fmt::Display) -> Self {
        CliError {
            code: EXIT_USAGE,
            message: message.to_string(),
        }
    }
    pub fn config(message: impl std::fmt::Display) -> Self {
        CliError {
            code: EXIT_CONFIG,
            message: message.to_string(),
        }
    }
}

/// The actor recorded in the audit log for command-line changes.
fn actor() -> String {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

impl From<store::StoreError> for CliError {
    fn from(e: store::StoreError) -> Self {
        CliError::failure(e)
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.message.is_empty() {
                eprintln!("error: {}", e.message);
            }
            ExitCode::from(e.code)
        }
    }
}

fn init_logging() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_target(false)
        .init();
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    // Commands that need no configuration.
    let command = match cli.command {
        Command::Gs1 { cmd } => {
            let stdin = std::io::stdin();
            let code = gs1_cmd::run(
                cmd,
                &mut stdin.lock(),
                &mut std::io::stdout(),
                &mut std::io::stderr(),
            );
            return match code {
                0 => Ok(()),
                // gs1_cmd has printed its own precise errors.
                c => Err(CliError {
                    code: c,
                    message: String::new(),
                }),
            };
        }
        Command::Verify(args) => return verify::run(args),
        Command::Convert(args) => return convert::run(args),
        Command::Hash { files } => return hash::run(&files),
        Command::Validate { db: false, files } => return capture::validate(&files),
        other => other,
    };
    let settings = Settings::load(cli.config.as_deref()).map_err(CliError::config)?;
    match command {
        Command::Partners { cmd } => partners::run(&settings, cmd),
        Command::Import { files, progress } => capture::import(&settings, &files, progress),
        Command::Validate { db: true, files } => capture::validate_db(&settings, &files),
        Command::Certs { cmd } => certs::run(&settings, cmd),
        Command::Flags { cmd } => flags::run(&settings, cmd),
        Command::Directory { cmd } => flags::run_directory(&settings, cmd),
        Command::Serials { cmd } => serials::run(&settings, cmd),
        Command::Labels(args) => labels::run(&settings, args),
        Command::Export(args) => export::run(&settings, args),
        Command::Ship(args) => ship::run(&settings, args),
        Command::Trace(args) => trace::run(&settings, args),
        Command::Gs1 { .. }
        | Command::Verify(_)
        | Command::Validate { db: false, .. }
        | Command::Convert(_)
        | Command::Hash { .. } => {
            unreachable!("handled above")
        }
        Command::Serve => serve::run(settings),
        Command::Migrate => migrate(&settings),
        Command::Config => {
            print!("{}", settings.to_masked_toml());
            Ok(())
        }
    }
}

fn migrate(settings: &Settings) -> Result<(), CliError> {
    let mut db = Database::open(settings)?;
    let applied = store::connect(db.url()).and_then(|mut c| store::migrate(&mut c));
    // Stop a private instance this command started, whatever the outcome.
    db.shutdown()?;
    let applied = applied?;
    if applied.is_empty() {
        println!("database {} is up to date", db.display_url());
    } else {
        println!(
            "applied {} migration(s) to {}: {}",
            applied.len(),
            db.display_url(),
            applied.join(", ")
        );
    }
    Ok(())
}
