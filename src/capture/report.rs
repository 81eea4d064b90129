//! What a capture tells its sender: the findings (errors and warnings, each with its rule and
//! place), the counts of what was stored, and the report made of them at the end.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use uuid::Uuid;

use super::Ending;
use crate::epcis::Severity;
use crate::store::codes::Code;

/// One finding, as reported to the sender.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub line: u32,
    pub column: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_index: Option<u64>,
    pub message: String,
    pub hint: String,
}

impl Finding {
    pub(super) fn new(
        rule: &str,
        severity: Severity,
        line: u32,
        column: u32,
        event_index: Option<u64>,
        message: String,
        hint: &str,
    ) -> Finding {
        Finding {
            rule: rule.to_string(),
            severity,
            line,
            column,
            event_index,
            message,
            hint: hint.to_string(),
        }
    }

    /// Whether it refuses what it is about (the event, or the document).
    pub fn rejects(&self) -> bool {
        self.severity == Severity::Reject
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.rule, self.message
        )
    }
}

/// A fatal reader error (reading stopped there) as a finding.
pub(super) fn fatal(e: &crate::epcis::ReadError) -> Finding {
    Finding {
        rule: e.code.to_string(),
        severity: Severity::Reject,
        line: e.line,
        column: e.column,
        event_index: None,
        message: e.message.clone(),
        hint: "fix the document so that it is well-formed EPCIS XML within the limits".into(),
    }
}

/// A finding of the reader (structure, identifiers, CBV) as reported.
pub(super) fn from_diagnostic(d: crate::epcis::Diagnostic) -> Finding {
    Finding::new(
        d.rule,
        d.severity,
        d.line,
        d.column,
        d.event_index,
        d.message,
        d.hint,
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Accepted,
    PartiallyAccepted,
    Rejected,
    /// The same bytes were accepted before; nothing was stored again.
    Duplicate,
}

impl Outcome {
    /// Whether the document's events were stored (or, in a dry run, would have been).
    pub(super) fn stores(self) -> bool {
        matches!(self, Outcome::Accepted | Outcome::PartiallyAccepted)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureReport {
    pub document_id: Uuid,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<Uuid>,
    pub format: &'static str,
    pub byte_size: u64,
    pub event_count: u64,
    pub events_by_type: BTreeMap<&'static str, u64>,
    pub epc_count: u64,
    pub serials_created: u64,
    pub serials_updated: u64,
    /// Events already stored (same CBV 2.0 hash): not stored again.
    pub duplicate_events: u64,
    /// Stored events retracted by error declarations in this document (their serials rebuilt).
    pub events_retracted: u64,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

impl CaptureReport {
    /// The report of a capture that ended so: what was stored is counted only when the
    /// document was (or, in a dry run, would have been) stored.
    pub(super) fn new(
        document_id: Uuid,
        ending: &Ending,
        format: &'static str,
        byte_size: u64,
        tally: Tally,
        findings: Findings,
    ) -> CaptureReport {
        let outcome = ending.outcome();
        let duplicate_of = match ending {
            Ending::Duplicate(original) => Some(*original),
            _ => None,
        };
        let stored = outcome.stores();
        let counted = |n: u64| if stored { n } else { 0 };
        CaptureReport {
            document_id: duplicate_of.unwrap_or(document_id),
            outcome,
            duplicate_of,
            format,
            byte_size,
            event_count: counted(tally.event_count),
            events_by_type: if stored {
                tally.events_by_type
            } else {
                BTreeMap::new()
            },
            epc_count: counted(tally.epc_count),
            serials_created: counted(tally.serials_created),
            serials_updated: counted(tally.serials_updated),
            duplicate_events: tally.duplicate_events,
            events_retracted: counted(tally.events_retracted),
            errors: findings.errors,
            warnings: findings.warnings,
        }
    }
}

/// The findings of a capture so far, and the events they refuse.
#[derive(Default)]
pub(super) struct Findings {
    errors: Vec<Finding>,
    warnings: Vec<Finding>,
    /// Event indexes refused by the reader or event-level rules (skipped under `proceed`).
    refused: HashSet<u64>,
}

impl Findings {
    pub fn push(&mut self, f: Finding) {
        if f.rejects() {
            if let Some(i) = f.event_index {
                self.refused.insert(i);
            }
            self.errors.push(f);
        } else {
            self.warnings.push(f);
        }
    }

    /// Whether a finding refused the event with this index.
    pub fn refused(&self, index: u64) -> bool {
        self.refused.contains(&index)
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn errors(&self) -> &[Finding] {
        &self.errors
    }

    pub fn warnings(&self) -> &[Finding] {
        &self.warnings
    }
}

/// What a capture has stored so far.
#[derive(Default)]
pub(super) struct Tally {
    pub event_count: u64,
    pub epc_count: u64,
    pub events_by_type: BTreeMap<&'static str, u64>,
    pub serials_created: u64,
    pub serials_updated: u64,
    pub duplicate_events: u64,
    pub events_retracted: u64,
}

impl Tally {
    /// Counts a stored event of this `events.event_type` code with `epcs` identifier rows.
    pub fn event(&mut self, event_type: i16, epcs: u64) {
        self.event_count += 1;
        self.epc_count += epcs;
        *self
            .events_by_type
            .entry(event_type_name(event_type))
            .or_default() += 1;
    }

    /// Counts serials created and updated (`(created, updated)`).
    pub fn serials(&mut self, (created, updated): (u64, u64)) {
        self.serials_created += created;
        self.serials_updated += updated;
    }
}

/// The name of an event type in the report, by its stored code.
fn event_type_name(code: i16) -> &'static str {
    use crate::epcis::EventType;
    EventType::from_code(code)
        .unwrap_or(EventType::Quantity)
        .as_str()
}
