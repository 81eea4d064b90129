//! DSCSA-B-015: serials of our own pools that a document commissions but that were never
//! allocated. No packaging line of ours was given them, so the pack is likely counterfeit (or
//! the line prints serials it was not given). They are stored as sent, flagged suspect, and
//! reported once per event.

use std::collections::HashSet;

use diesel::PgConnection;
use uuid::Uuid;

use super::report::Findings;
use super::{rules, CaptureError};
use crate::serials::SerialKey;

/// Checks the serials the document `document_id` commissioned of these GTINs against our
/// pools (`key`) and flags the ones never issued.
pub(super) fn check(
    conn: &mut PgConnection,
    key: &SerialKey,
    document_id: Uuid,
    gtins: &HashSet<String>,
    findings: &mut Findings,
) -> Result<(), CaptureError> {
    if gtins.is_empty() {
        return Ok(());
    }
    let gtins: Vec<&str> = gtins.iter().map(String::as_str).collect();
    let check = crate::serials::IssuanceCheck::load(conn, key, &gtins)?;
    let pooled: Vec<String> = check.gtins().map(str::to_string).collect();
    if pooled.is_empty() {
        return Ok(());
    }
    let commissioned = crate::store::serials::commissioned_in_document(conn, document_id, &pooled)?;
    let mut suspect: Vec<String> = Vec::new();
    // (event seq, first serial, how many) per event, in document order
    let mut per_event: Vec<(i32, String, usize)> = Vec::new();
    for c in commissioned {
        let Some((gtin, serial)) = crate::gs1::sgtin_key_parts(&c.epc_key) else {
            continue;
        };
        if !check.never_issued(gtin, serial) {
            continue;
        }
        match per_event.last_mut() {
            Some((seq, _, n)) if *seq == c.seq => *n += 1,
            _ => per_event.push((c.seq, format!("{gtin} serial {serial}"), 1)),
        }
        suspect.push(c.epc_key);
    }
    if suspect.is_empty() {
        return Ok(());
    }
    crate::store::serials::mark_suspect(conn, &suspect)?;
    for (seq, first, n) in per_event {
        findings.push(rules::never_issued(seq, &first, n));
    }
    Ok(())
}
