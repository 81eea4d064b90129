//! `dscsa-exchange export [--format jsonld|xml2|xml12] [query flags] [-o FILE]`: the stored
//! events a query selects, streamed from the database as one EPCIS document (a page of events
//! in memory at a time). The same query as `GET /events` (docs/QUERY.md), run as the operator:
//! every event is visible.

use std::io::Write;
use std::path::PathBuf;

use super::convert::{parse, WriteArgs};
use super::db::with_db;
use super::CliError;
use crate::config::Settings;
use crate::epcis::write::Format;
use crate::query::{self, QueryError, Viewer};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Output format: jsonld (EPCIS 2.0 JSON-LD), xml2 (EPCIS 2.0 XML), xml12 (EPCIS 1.2 XML).
    #[arg(long, default_value = "jsonld", value_parser = parse::<Format>)]
    pub format: Format,
    /// Events naming this identifier (EPC URN, Digital Link or EPC pattern; MATCH_anyEPC).
    #[arg(long)]
    pub epc: Vec<String>,
    /// Events at or after this time (GE_eventTime), e.g. 2025-01-01T00:00:00Z.
    #[arg(long)]
    pub from: Option<String>,
    /// Events before this time (LT_eventTime).
    #[arg(long)]
    pub to: Option<String>,
    /// Events with this business step (EQ_bizStep: CBV word, URN or Web URI).
    #[arg(long)]
    pub biz_step: Option<String>,
    /// Any other EPCIS query parameter, as NAME=VALUE (repeatable), e.g.
    /// `--param eventType=AggregationEvent`.
    #[arg(long, value_name = "NAME=VALUE")]
    pub param: Vec<String>,
    // EPC URNs are written for the company prefixes of `[organisation]` and of `--gcp-table`;
    // other Digital Links stay as they are.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output file (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
}

/// The query parameters the flags stand for.
pub fn parameters(args: &ExportArgs) -> Result<Vec<(String, String)>, CliError> {
    let mut params = Vec::new();
    if !args.epc.is_empty() {
        params.push(("MATCH_anyEPC".to_string(), args.epc.join("|")));
    }
    for (name, value) in [
        ("GE_eventTime", &args.from),
        ("LT_eventTime", &args.to),
        ("EQ_bizStep", &args.biz_step),
    ] {
        if let Some(v) = value {
            params.push((name.to_string(), v.clone()));
        }
    }
    for p in &args.param {
        let (n, v) = p
            .split_once('=')
            .ok_or_else(|| CliError::usage(format!("--param `{p}`: write it as NAME=VALUE")))?;
        params.push((n.to_string(), v.to_string()));
    }
    Ok(params)
}

pub fn run(settings: &Settings, args: ExportArgs) -> Result<(), CliError> {
    let query = query::parse(&parameters(&args)?).map_err(|e| CliError::usage(e.to_string()))?;
    let mut options = args.write.options()?;
    if let Some(org) = &settings.organisation {
        for gcp in &org.company_prefixes {
            // Validated with the configuration.
            let _ = options.gcp.learn(gcp);
        }
    }
    let out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p).map_err(
            |e| CliError::failure(format!("cannot create {}: {e}", p.display())),
        )?)),
        None => Box::new(std::io::stdout().lock()),
    };
    let user = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    let viewer = Viewer::everything(&format!("cli:{user}"));
    let result = with_db(settings, |conn| {
        query::export(conn, &viewer, &query, args.format, options, out).map_err(|e| match e {
            QueryError::Parameter { .. } | QueryError::TooLarge { .. } => {
                CliError::usage(e.to_string())
            }
            other => CliError::failure(other.to_string()),
        })
    });
    match result {
        Ok((_, summary)) => {
            eprintln!(
                "exported {} events, {} EPC references ({})",
                summary.events,
                summary.epcs,
                args.format.as_str()
            );
            Ok(())
        }
        Err(e) => {
            if let Some(p) = &args.output {
                // A half-written document is worse than none.
                let _ = std::fs::remove_file(p);
            }
            Err(e)
        }
    }
}
