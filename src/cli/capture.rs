//! `dscsa-exchange validate FILE…` (offline: structure and identifiers) and
//! `dscsa-exchange import FILE…` (capture into the configured database). Findings print as
//! `file:line:column: rule-id: message`.

use std::path::{Path, PathBuf};

use super::db::with_db;
use super::{CliError, EXIT_FAILURE, EXIT_USAGE};
use crate::capture::{self, CaptureOptions, Finding, Outcome};
use crate::config::Settings;
use crate::epcis::Limits;

fn print(file: &Path, f: &Finding) {
    let level = if f.severity == "reject" {
        ""
    } else {
        "warning: "
    };
    let event = f
        .event_index
        .map(|i| format!(" (event {i})"))
        .unwrap_or_default();
    eprintln!(
        "{}:{}:{}: {}: {level}{}{event}",
        file.display(),
        f.line,
        f.column,
        f.rule,
        f.message
    );
}

fn open(file: &Path) -> Result<std::fs::File, CliError> {
    std::fs::File::open(file).map_err(|e| CliError {
        code: EXIT_USAGE,
        message: format!("cannot read {}: {e}", file.display()),
    })
}

pub fn validate(files: &[PathBuf]) -> Result<(), CliError> {
    let mut rejected = 0;
    for file in files {
        let findings = capture::validate(open(file)?, Limits::default());
        for f in &findings {
            print(file, f);
        }
        let errors = findings.iter().filter(|f| f.severity == "reject").count();
        let warnings = findings.len() - errors;
        if errors > 0 {
            rejected += 1;
        }
        println!(
            "{}: {} ({errors} error(s), {warnings} warning(s))",
            file.display(),
            if errors > 0 { "rejected" } else { "valid" }
        );
    }
    if rejected > 0 {
        Err(CliError {
            code: EXIT_FAILURE,
            message: format!("{rejected} of {} file(s) rejected", files.len()),
        })
    } else {
        Ok(())
    }
}

pub fn import(settings: &Settings, files: &[PathBuf]) -> Result<(), CliError> {
    for file in files {
        open(file)?;
    }
    let mut rejected = 0;
    with_db(settings, |conn| {
        for file in files {
            let mut opts = CaptureOptions::new(&settings.data_dir.join("spool"));
            opts.limits = settings.capture_limits.clone();
            let report = capture::capture(conn, open(file)?, &opts).map_err(CliError::failure)?;
            for f in report.errors.iter().chain(&report.warnings) {
                print(file, f);
            }
            match report.outcome {
                Outcome::Accepted | Outcome::PartiallyAccepted => println!(
                    "{}: {} as document {}: {} events, {} EPC references, {} serials created, {} updated, {} duplicate events",
                    file.display(),
                    if report.outcome == Outcome::Accepted { "accepted" } else { "partially accepted" },
                    report.document_id,
                    report.event_count,
                    report.epc_count,
                    report.serials_created,
                    report.serials_updated,
                    report.duplicate_events
                ),
                Outcome::Duplicate => println!(
                    "{}: already captured as document {}; nothing stored again",
                    file.display(),
                    report.document_id
                ),
                Outcome::Rejected => {
                    rejected += 1;
                    println!(
                        "{}: rejected ({} error(s)); nothing stored, document archived as {}",
                        file.display(),
                        report.errors.len(),
                        report.document_id
                    );
                }
            }
        }
        Ok(())
    })?;
    if rejected > 0 {
        Err(CliError::failure(format!(
            "{rejected} of {} file(s) rejected",
            files.len()
        )))
    } else {
        Ok(())
    }
}
