//! `dscsa-exchange hash FILE…`: each event's CBV 2.0 event hash id, one line per event as
//! `file:line:column ni:///sha-256;…?ver=CBV2.0` (the position of the event's start tag).
//! Offline; huge events are hashed through a temporary file. Findings go to stderr.

use std::io::{BufReader, Write};
use std::path::PathBuf;

use super::convert::print_finding;
use super::{CliError, EXIT_USAGE};
use crate::epcis::{EpcisReader, Item, Limits, SpillOptions};

pub fn run(files: &[PathBuf]) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed = 0;
    for file in files {
        let input = std::fs::File::open(file).map_err(|e| CliError {
            code: EXIT_USAGE,
            message: format!("cannot read {}: {e}", file.display()),
        })?;
        let mut reader =
            EpcisReader::new(BufReader::with_capacity(1 << 16, input), Limits::default()).spill_to(
                SpillOptions {
                    dir: std::env::temp_dir(),
                    after: 20_000,
                },
            );
        loop {
            let item = reader.next_item();
            for d in reader.take_diagnostics() {
                print_finding(file, &d);
            }
            match item {
                Ok(Some(Item::Event(ev))) => {
                    let hash = ev.hash_id.as_deref().unwrap_or_default();
                    writeln!(
                        out,
                        "{}:{}:{} {hash}",
                        file.display(),
                        ev.position.line,
                        ev.position.column
                    )
                    .map_err(|e| CliError::failure(format!("cannot write: {e}")))?;
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    eprintln!(
                        "{}:{}:{}: {}: {}",
                        file.display(),
                        e.line,
                        e.column,
                        e.code,
                        e.message
                    );
                    failed += 1;
                    break;
                }
            }
        }
    }
    out.flush()
        .map_err(|e| CliError::failure(format!("cannot write: {e}")))?;
    if failed > 0 {
        return Err(CliError::failure(format!(
            "{failed} of {} file(s) could not be read to the end",
            files.len()
        )));
    }
    Ok(())
}
