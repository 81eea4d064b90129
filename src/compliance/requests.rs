//! Trace requests (docs/COMPLIANCE.md, "Trace requests and the DSCSA clock"): a regulator's
//! request for tracing information is recorded with who asked, why, their reference and when
//! it is due; answering a trace with the request's id marks it answered; the list shows what
//! is overdue. Every change is audited in its own transaction.

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use diesel::prelude::*;
use serde::Serialize;

use super::ComplianceError;
use crate::store::audit;
use crate::store::trace::{self as q, NewTraceRequest, TraceRequestRow};

/// Why an official asks (DSCSA §582: recall, suspect or illegitimate product investigation;
/// also audits and inspections).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Suspect,
    Illegitimate,
    Recall,
    Audit,
    Inspection,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Suspect => "suspect",
            Reason::Illegitimate => "illegitimate",
            Reason::Recall => "recall",
            Reason::Audit => "audit",
            Reason::Inspection => "inspection",
        }
    }
}

impl std::str::FromStr for Reason {
    type Err = ComplianceError;
    fn from_str(s: &str) -> Result<Self, ComplianceError> {
        Ok(match s {
            "suspect" => Reason::Suspect,
            "illegitimate" => Reason::Illegitimate,
            "recall" => Reason::Recall,
            "audit" => Reason::Audit,
            "inspection" => Reason::Inspection,
            other => {
                return Err(ComplianceError::Invalid(format!(
                "reason `{other}` is not one of suspect, illegitimate, recall, audit, inspection"
            )))
            }
        })
    }
}

/// The DSCSA clock for a request received at `received` (standards §6.3, for manufacturers,
/// repackagers and wholesale distributors): not later than 1 business day, and not more than
/// 48 hours. A business day here is Monday to Friday in UTC (public holidays are not known to
/// the server: give `due_at` when the official sets another time).
pub fn dscsa_due(received: DateTime<Utc>) -> DateTime<Utc> {
    let mut next = received + Duration::days(1);
    while matches!(next.weekday(), Weekday::Sat | Weekday::Sun) {
        next += Duration::days(1);
    }
    next.min(received + Duration::hours(48))
}

/// A request to record.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub requester: String,
    pub reason: Reason,
    pub reference: String,
    pub subject: Option<String>,
    /// When it arrived (default: now).
    pub received_at: Option<DateTime<Utc>>,
    /// The time the official set, when not the DSCSA default.
    pub due_at: Option<DateTime<Utc>>,
}

/// A trace request as listed: the stored record, and whether it is overdue now.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceRequest {
    pub id: i64,
    pub requester: String,
    pub reason: String,
    pub reference: String,
    pub subject: Option<String>,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answered_by: Option<String>,
    pub created_by: String,
    /// Open past its due time, or answered after it.
    pub overdue: bool,
}

impl TraceRequest {
    fn from_row(r: TraceRequestRow, now: DateTime<Utc>) -> TraceRequest {
        let overdue = r.answered_at.unwrap_or(now) > r.due_at;
        TraceRequest {
            id: r.id,
            requester: r.requester,
            reason: r.reason,
            reference: r.reference,
            subject: r.subject,
            received_at: r.received_at,
            due_at: r.due_at,
            answered_at: r.answered_at,
            answered_by: r.answered_by,
            created_by: r.created_by,
            overdue,
        }
    }
}

fn required(field: &str, value: &str, max: usize) -> Result<(), ComplianceError> {
    let len = value.trim().chars().count();
    if len == 0 || len > max {
        return Err(ComplianceError::Invalid(format!(
            "{field} is required, at most {max} characters"
        )));
    }
    Ok(())
}

/// Records a request, audited.
pub fn create(
    conn: &mut PgConnection,
    new: &NewRequest,
    actor: &str,
) -> Result<TraceRequest, ComplianceError> {
    required("requester", &new.requester, 200)?;
    required("reference", &new.reference, 200)?;
    if let Some(s) = &new.subject {
        required("subject", s, 500)?;
    }
    let now = Utc::now();
    let received_at = new.received_at.unwrap_or(now);
    if received_at > now + Duration::minutes(5) {
        return Err(ComplianceError::Invalid(
            "received_at is in the future".into(),
        ));
    }
    let due_at = new.due_at.unwrap_or_else(|| dscsa_due(received_at));
    if due_at < received_at {
        return Err(ComplianceError::Invalid(
            "due_at is before received_at".into(),
        ));
    }
    conn.transaction(|conn| {
        let row = q::insert_request(
            conn,
            &NewTraceRequest {
                requester: new.requester.trim(),
                reason: new.reason.as_str(),
                reference: new.reference.trim(),
                subject: new.subject.as_deref().map(str::trim),
                received_at,
                due_at,
                created_by: actor,
            },
        )?;
        audit::record(
            conn,
            actor,
            "trace_request.create",
            &format!("trace_request:{}", row.id),
            serde_json::json!({
                "requester": row.requester, "reason": row.reason, "reference": row.reference,
                "dueAt": row.due_at,
            }),
        )?;
        Ok(TraceRequest::from_row(row, now))
    })
}

/// Trace requests: every one, newest first, or only the open ones, soonest due first.
pub fn list(
    conn: &mut PgConnection,
    open_only: bool,
    limit: i64,
) -> Result<Vec<TraceRequest>, ComplianceError> {
    let now = Utc::now();
    Ok(q::requests(conn, open_only, limit)?
        .into_iter()
        .map(|r| TraceRequest::from_row(r, now))
        .collect())
}

/// One trace request.
pub fn get(conn: &mut PgConnection, id: i64) -> Result<TraceRequest, ComplianceError> {
    let row = q::request(conn, id)?.ok_or(ComplianceError::NoRequest(id))?;
    Ok(TraceRequest::from_row(row, Utc::now()))
}

/// Marks a request answered by `actor` (the first answer stands), in the caller's
/// transaction; audited when it changed.
pub(super) fn answered(
    conn: &mut PgConnection,
    id: i64,
    actor: &str,
) -> Result<(), ComplianceError> {
    let before = q::request(conn, id)?.ok_or(ComplianceError::NoRequest(id))?;
    if before.answered_at.is_some() {
        return Ok(());
    }
    let after = q::answer_request(conn, id, actor)?.ok_or(ComplianceError::NoRequest(id))?;
    audit::record(
        conn,
        actor,
        "trace_request.answer",
        &format!("trace_request:{id}"),
        serde_json::json!({ "answeredAt": after.answered_at, "dueAt": after.due_at }),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_clock_is_one_business_day_and_at_most_48_hours() {
        // Monday 10:00 -> Tuesday 10:00.
        assert_eq!(
            dscsa_due(t("2026-11-30T10:00:00Z")),
            t("2026-12-01T10:00:00Z")
        );
        // Friday 15:00 -> Monday 15:00 is 72 h: capped at 48 h (Sunday 15:00).
        assert_eq!(
            dscsa_due(t("2026-12-04T15:00:00Z")),
            t("2026-12-06T15:00:00Z")
        );
        // Saturday 10:00 -> Monday 10:00, exactly 48 h.
        assert_eq!(
            dscsa_due(t("2026-12-05T10:00:00Z")),
            t("2026-12-07T10:00:00Z")
        );
        // Thursday -> Friday.
        assert_eq!(
            dscsa_due(t("2026-12-03T23:59:00Z")),
            t("2026-12-04T23:59:00Z")
        );
    }
}
