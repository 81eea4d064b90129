//! `dscsa-exchange convert --to jsonld|xml2|xml12 [--epc-format …] [--cbv-format …] FILE
//! [-o OUT]`: an EPCIS XML document in another format, offline (no database, no
//! configuration), streamed: one event at a time, huge events through a temporary file.
//! Findings of the reader print on stderr as `file:line:column: rule-id: message`.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use super::{CliError, EXIT_USAGE};
use crate::epcis::write::{CbvFormat, DocumentWriter, EpcFormat, Format, WriteOptions};
use crate::epcis::{Diagnostic, EpcisReader, Limits, Severity, SpillOptions};

/// EPC references an event keeps in memory before the rest of its lists go to a temporary
/// file (what capture does too).
const SPILL_AFTER: usize = 20_000;

#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// Output format: jsonld (EPCIS 2.0 JSON-LD), xml2 (EPCIS 2.0 XML), xml12 (EPCIS 1.2 XML).
    #[arg(long, value_parser = parse::<Format>)]
    pub to: Format,
    #[command(flatten)]
    pub write: WriteArgs,
    /// Output file (default: standard output).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// The EPCIS XML document to convert.
    pub file: PathBuf,
}

/// How identifiers and CBV values are written: the options `convert` and `export` share.
#[derive(Debug, clap::Args)]
pub struct WriteArgs {
    /// How EPCs are written (GS1-EPC-Format): No_Preference, Always_GS1_Digital_Link (default
    /// for jsonld and xml2), Always_EPC_URN (default for xml12), Never_Translates.
    #[arg(long, value_parser = parse::<EpcFormat>)]
    pub epc_format: Option<EpcFormat>,
    /// How CBV values are written (GS1-CBV-XML-Format): No_Preference (URNs in XML, bare
    /// words in JSON-LD), Always_Web_URI, Always_URN, Never_Translates.
    #[arg(long, value_parser = parse::<CbvFormat>, default_value = "No_Preference")]
    pub cbv_format: CbvFormat,
    /// A GS1 company prefix length table (GCPPrefixFormatList, XML or JSON) for writing EPC
    /// URNs from Digital Links.
    #[arg(long, value_name = "FILE")]
    pub gcp_table: Option<PathBuf>,
}

impl WriteArgs {
    /// The writer's options, with the company prefix table loaded.
    pub fn options(&self) -> Result<WriteOptions, CliError> {
        let mut options = WriteOptions {
            epc_format: self.epc_format,
            cbv_format: self.cbv_format,
            ..WriteOptions::default()
        };
        if let Some(t) = &self.gcp_table {
            let text = std::fs::read_to_string(t).map_err(|e| CliError {
                code: EXIT_USAGE,
                message: format!("cannot read {}: {e}", t.display()),
            })?;
            options.gcp.load_table(&text).map_err(|e| {
                CliError::usage(format!("{}: not a GCP length table: {e}", t.display()))
            })?;
        }
        Ok(options)
    }
}

pub(super) fn parse<T: std::str::FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>().map_err(|e| e.to_string())
}

/// Prints a reader finding; true when it rejects the document.
pub(super) fn print_finding(file: &Path, d: &Diagnostic) -> bool {
    let reject = d.severity == Severity::Reject;
    let level = if reject { "" } else { "warning: " };
    eprintln!(
        "{}:{}:{}: {}: {level}{}",
        file.display(),
        d.line,
        d.column,
        d.rule,
        d.message
    );
    reject
}

pub fn run(args: ConvertArgs) -> Result<(), CliError> {
    let input = std::fs::File::open(&args.file).map_err(|e| CliError {
        code: EXIT_USAGE,
        message: format!("cannot read {}: {e}", args.file.display()),
    })?;
    let options = args.write.options()?;
    let out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(
            std::fs::File::create(p)
                .map_err(|e| CliError::failure(format!("cannot create {}: {e}", p.display())))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let result = convert(&args, input, out, options);
    if result.is_err() {
        if let Some(p) = &args.output {
            // A half-written document is worse than none.
            let _ = std::fs::remove_file(p);
        }
    }
    result
}

fn convert(
    args: &ConvertArgs,
    input: std::fs::File,
    out: Box<dyn Write>,
    options: WriteOptions,
) -> Result<(), CliError> {
    let file = &args.file;
    let mut reader = EpcisReader::new(BufReader::with_capacity(1 << 16, input), Limits::default())
        .with_hashing(false)
        .spill_to(SpillOptions {
            dir: std::env::temp_dir(),
            after: SPILL_AFTER,
        });
    let mut writer = DocumentWriter::new(out, args.to, options);
    let mut rejects = 0;
    let written = |e: std::io::Error| CliError::failure(format!("cannot write the output: {e}"));
    loop {
        let item = reader.next_item();
        for d in reader.take_diagnostics() {
            rejects += usize::from(print_finding(file, &d));
        }
        match item {
            Ok(Some(item)) => writer.item(&item).map_err(written)?,
            Ok(None) => break,
            Err(e) => {
                return Err(CliError::failure(format!(
                    "{}:{}:{}: {}: {}",
                    file.display(),
                    e.line,
                    e.column,
                    e.code,
                    e.message
                )))
            }
        }
    }
    let (_, summary) = writer.finish().map_err(written)?;
    let target = args
        .output
        .as_ref()
        .map_or("standard output".to_string(), |p| p.display().to_string());
    eprintln!(
        "{} -> {target}: {} event(s), {} EPC reference(s) as {}{}{}",
        file.display(),
        summary.events,
        summary.epcs,
        args.to,
        if summary.untranslated > 0 {
            format!(
                "; {} identifier(s) kept as Digital Links (company prefix length unknown: --gcp-table)",
                summary.untranslated
            )
        } else {
            String::new()
        },
        if summary.dropped > 0 {
            format!(
                "; {} value(s) the format has no place for were left out (docs/FORMATS.md)",
                summary.dropped
            )
        } else {
            String::new()
        },
    );
    if rejects > 0 {
        return Err(CliError::failure(format!(
            "{}: {rejects} error(s) in the input; the output was written but may not be what the sender meant",
            file.display()
        )));
    }
    Ok(())
}
