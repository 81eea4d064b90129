//! The verification log: the record of a partner's request (what was asked, what was answered,
//! where it was forwarded; kept 6 years, written in batches by `store::verification`), and
//! reading it back.

use std::time::Instant;

use chrono::Utc;
use diesel::prelude::*;

use super::{Request, Verdict};
use crate::partners::Caller;
use crate::store::verification::{self as q, LoggedRequest, VerificationRecord};

/// The newest logged requests the caller may see, newest first: a trading partner its own,
/// regulators, compliance officers and admins every partner's; of one GTIN if given. `limit`:
/// 100 by default, at most 1,000.
pub fn requests(
    conn: &mut PgConnection,
    caller: &Caller,
    gtin: Option<&str>,
    limit: Option<i64>,
) -> QueryResult<Vec<LoggedRequest>> {
    let limit = limit.unwrap_or(100).clamp(1, 1000);
    let partner = (!caller.role.reads_everything()).then_some(caller.partner_id);
    q::requests(conn, partner, gtin, limit)
}

/// The record of one request. `request` is None for a request that did not parse; `verdict`
/// for an answer that was not a verification answer (an error, or a forwarded answer that was
/// not one).
pub(super) fn record(
    started: Instant,
    partner_id: Option<i64>,
    request: Option<&Request>,
    status: u16,
    verdict: Option<&Verdict>,
    forwarded_to: Option<String>,
) -> VerificationRecord {
    VerificationRecord {
        received_at: Utc::now(),
        partner_id,
        requester_gln: request.and_then(|r| r.req_gln.as_ref().map(|g| g.as_str().to_string())),
        corr_uuid: request.map(|r| r.corr_uuid.clone()),
        context: request.and_then(|r| r.context.clone()),
        gtin: request.map(|r| r.gtin.as_str().to_string()),
        serial_number: request.map(|r| r.serial.as_str().to_string()),
        lot: request.and_then(|r| r.lot.as_ref().map(|l| l.as_str().to_string())),
        expiry: request.and_then(|r| r.expiry.as_ref().map(|e| e.date().to_string())),
        verified: verdict.map(|v| v.verified),
        failure_reason: verdict.and_then(|v| v.verification_failure_reason.map(str::to_string)),
        additional_info: verdict.and_then(|v| v.additional_info.map(|a| vec![Some(a.to_string())])),
        http_status: status as i16,
        forwarded_to,
        duration_us: i32::try_from(started.elapsed().as_micros()).ok(),
    }
}
