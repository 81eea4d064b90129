//! `dscsa-exchange trace IDENTIFIER [--serial S | --lot L] [--format json|csv|html]`: the same
//! trace as `GET /trace` (docs/COMPLIANCE.md), run as the operator and audited as `cli:USER`.

use std::io::Write;
use std::path::PathBuf;

use super::db::with_db;
use super::{actor, CliError};
use crate::compliance::trace::Requester;
use crate::compliance::{self, ComplianceError, Format, TraceInput};
use crate::config::Settings;

#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// What to trace: an EPC URN (SGTIN, SSCC, LGTIN), a GS1 Digital Link, raw scan data or an
    /// element string `(01)…(21)…`, an SSCC (18 digits); with --serial or --lot a GTIN or NDC.
    pub identifier: String,
    /// The serial of the GTIN or NDC given as IDENTIFIER.
    #[arg(long, conflicts_with = "lot")]
    pub serial: Option<String>,
    /// Trace every serial of this lot of the GTIN or NDC given as IDENTIFIER.
    #[arg(long)]
    pub lot: Option<String>,
    /// json, csv or html (a printable report).
    #[arg(long, default_value = "json", value_parser = parse_format)]
    pub format: Format,
    /// The trace request (id) this trace answers: it is marked answered.
    #[arg(long)]
    pub request: Option<i64>,
    /// Output file (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse().map_err(|e: ComplianceError| e.to_string())
}

/// The trace input the arguments stand for.
pub fn input(args: &TraceArgs) -> TraceInput {
    let id = args.identifier.trim().to_string();
    let mut input = TraceInput::default();
    if args.serial.is_some() || args.lot.is_some() {
        // A GTIN is 8 to 14 digits and passes its check digit; anything else is read as NDC.
        if id.bytes().all(|b| b.is_ascii_digit()) && id.parse::<crate::gs1::Gtin>().is_ok() {
            input.gtin = Some(id);
        } else {
            input.ndc = Some(id);
        }
        input.serial = args.serial.clone();
        input.lot = args.lot.clone();
    } else if id.len() == 18 && id.bytes().all(|b| b.is_ascii_digit()) {
        input.sscc = Some(id);
    } else {
        input.epc = Some(id);
    }
    input
}

pub fn run(settings: &Settings, args: TraceArgs) -> Result<(), CliError> {
    let subject = input(&args)
        .subject()
        .map_err(|e| CliError::usage(e.to_string()))?;
    let who = actor();
    let body = with_db(settings, |conn| {
        let requester = Requester {
            actor: &who,
            request: args.request,
        };
        let trace = compliance::trace(conn, &subject, &requester).map_err(|e| match e {
            ComplianceError::Invalid(_) => CliError::usage(e),
            other => CliError::failure(other),
        })?;
        compliance::report::render(&trace, args.format).map_err(CliError::failure)
    })?;
    match &args.output {
        Some(p) => std::fs::write(p, &body)
            .map_err(|e| CliError::failure(format!("cannot write {}: {e}", p.display()))),
        None => std::io::stdout()
            .lock()
            .write_all(&body)
            .map_err(|e| CliError::failure(format!("standard output: {e}"))),
    }
}
