//! The document a capture receives, as stored: its spool file while it is read, its row
//! (created when reception starts, finished with the outcome, hash, size, header, counts and
//! findings) and its archived bytes.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use diesel::PgConnection;
use uuid::Uuid;

use super::run::Run;
use super::{CaptureError, CaptureOptions, Outcome};
use crate::store::capture as q;
use crate::store::codes::DocumentStatus;

/// A spool file removed when dropped.
pub(super) struct Spool {
    path: PathBuf,
}

impl Spool {
    /// Creates the spool file of a document in `dir`.
    pub fn create(dir: &Path, document_id: Uuid) -> Result<(Spool, std::fs::File), CaptureError> {
        let spool = Spool {
            path: dir.join(format!("capture-{document_id}.xml")),
        };
        let file = std::fs::File::create(&spool.path).map_err(CaptureError::Spool)?;
        Ok((spool, file))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The document row as created when reception starts; [`finish`] completes it (status, hash,
/// size, header, counts, findings).
pub(super) fn received_row(id: Uuid, opts: &CaptureOptions) -> q::NewDocument<'static> {
    q::NewDocument {
        id,
        direction: "received",
        format: "unknown",
        status: DocumentStatus::Processing,
        error_behaviour: opts.behaviour.as_str(),
        sha256: vec![0; 32],
        byte_size: 0,
        partner_id: opts.partner_id,
    }
}

/// Completes the document row: the outcome, what the document was, and what of it was stored.
pub(super) fn finish(
    conn: &mut PgConnection,
    run: &Run<'_>,
    outcome: Outcome,
    sha256: &[u8],
    bytes: u64,
) -> Result<(), CaptureError> {
    let status = match outcome {
        Outcome::Accepted => DocumentStatus::Accepted,
        Outcome::PartiallyAccepted => DocumentStatus::PartiallyAccepted,
        _ => DocumentStatus::Rejected,
    };
    let stored = status != DocumentStatus::Rejected;
    let facts = run.facts();
    let (tally, findings) = (run.tally(), run.findings());
    q::finish_document(
        conn,
        run.document_id(),
        status,
        facts.format.unwrap_or("unknown"),
        sha256,
        bytes as i64,
        &facts.header,
        if stored { tally.event_count as i32 } else { 0 },
        if stored { tally.epc_count as i64 } else { 0 },
        serde_json::to_value(findings.errors()).unwrap_or_default(),
        serde_json::to_value(findings.warnings()).unwrap_or_default(),
    )?;
    Ok(())
}

/// Archives the spooled bytes with the document (1 MiB chunks).
pub(super) fn archive(conn: &mut PgConnection, id: Uuid, path: &Path) -> Result<(), CaptureError> {
    let mut file = std::fs::File::open(path).map_err(CaptureError::Spool)?;
    file.rewind().map_err(CaptureError::Spool)?;
    q::store_chunks(conn, id, |buf| file.read(buf))?;
    Ok(())
}
