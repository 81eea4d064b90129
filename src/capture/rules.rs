//! The DSCSA business rules (`DSCSA-B-…`): their ids and severities as docs/RULES.md lists
//! them (a test holds the two together), and the findings each raises. Where a rule is checked
//! stays with the facts it needs (the reader thread, the fold, the end of a capture); what it
//! says, and how severe it is, is declared here once.

use chrono::Utc;

use super::fold::{Problem, ProblemKind};
use super::prepare::Prepared;
use super::Finding;
use crate::epcis::Severity;

/// A catalogued rule: its id and its severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
}

impl Rule {
    /// A finding of this rule at a place in the document (line and column 0: the document as
    /// a whole).
    pub(super) fn at(
        &self,
        line: u32,
        column: u32,
        event_index: Option<u64>,
        message: String,
        hint: &str,
    ) -> Finding {
        Finding::new(
            self.id,
            self.severity,
            line,
            column,
            event_index,
            message,
            hint,
        )
    }

    /// A finding of this rule about one event.
    pub(super) fn at_event(&self, p: &Prepared, message: String, hint: &str) -> Finding {
        self.at(p.line, p.column, Some(p.index), message, hint)
    }
}

macro_rules! catalogue {
    ($($name:ident = $id:literal, $severity:ident;)*) => {
        $(pub const $name: Rule = Rule { id: $id, severity: Severity::$severity };)*
        /// Every DSCSA business rule: id and severity as docs/RULES.md lists them.
        pub const CATALOGUE: &[Rule] = &[$($name),*];
    };
}
catalogue! {
    DUPLICATE_COMMISSIONING = "DSCSA-B-001", Warn;
    UNKNOWN_SERIAL = "DSCSA-B-002", Warn;
    OUT_OF_CIRCULATION = "DSCSA-B-003", Reject;
    IN_ANOTHER_PARENT = "DSCSA-B-004", Reject;
    SHIPPING_WITHOUT_SBDH_PARTIES = "DSCSA-B-005", Reject;
    SHIPPING_WITHOUT_TRANSACTION_STATEMENT = "DSCSA-B-006", Reject;
    GTIN_WITHOUT_MASTER_DATA = "DSCSA-B-007", Warn;
    LOCATION_WITHOUT_MASTER_DATA = "DSCSA-B-008", Warn;
    LOT_DISAGREES = "DSCSA-B-009", Reject;
    EXPIRY_DISAGREES = "DSCSA-B-010", Reject;
    EVENT_IN_THE_FUTURE = "DSCSA-B-011", Reject;
    DUPLICATE_EVENT = "DSCSA-B-012", Warn;
    REPEATED_IDENTIFIER = "DSCSA-B-013", Warn;
    DECLARED_EVENT_UNKNOWN = "DSCSA-B-014", Warn;
    NEVER_ISSUED = "DSCSA-B-015", Warn;
}

/// Problems of one event by kind: how many, and the first.
pub(super) type Grouped = std::collections::BTreeMap<ProblemKind, (usize, Problem)>;

pub(super) fn group(grouped: &mut Grouped, pr: Problem) {
    grouped
        .entry(pr.kind)
        .and_modify(|(n, _)| *n += 1)
        .or_insert((1, pr));
}

/// The findings of an event's grouped problems (found by the fold, DSCSA-B-001 to -004, -009,
/// -010): one per problem kind ("... and N more").
pub(super) fn problems(p: &Prepared, grouped: Grouped) -> Vec<Finding> {
    let mut out = Vec::new();
    for (kind, (n, pr)) in grouped {
        let more = if n > 1 {
            format!(" (and {} more)", n - 1)
        } else {
            String::new()
        };
        let epc = pr.key;
        let detail = pr.detail.unwrap_or_default();
        use ProblemKind as K;
        let (rule, message, hint) = match kind {
                K::Duplicate => (DUPLICATE_COMMISSIONING,
                    format!("{epc}{more} was already commissioned: a second commissioning is a potential counterfeit; the serial is flagged as duplicate"),
                    "investigate the serial; if the first commissioning was wrong, retract it with an error declaration"),
                K::LotMismatch => (LOT_DISAGREES,
                    format!("lot of {epc}{more} disagrees with what is stored ({detail})"),
                    "send the lot the serial was commissioned with, or correct the earlier event"),
                K::ExpiryMismatch => (EXPIRY_DISAGREES,
                    format!("expiry of {epc}{more} disagrees with what is stored ({detail})"),
                    "send the expiry the serial was commissioned with, or correct the earlier event"),
                K::Unknown => (UNKNOWN_SERIAL,
                    format!("{epc}{more} is not known here (no commissioning received); recorded as unknown until its commissioning arrives"),
                    "send the commissioning events of these serials (upstream data)"),
                K::OutOfCirculation => (OUT_OF_CIRCULATION,
                    format!("{epc}{more} is {detail} and cannot be packed, shipped, received or observed"),
                    "check the serial: a decommissioned, destroyed or dispensed identifier in circulation is suspect"),
                K::OtherParent => (IN_ANOTHER_PARENT,
                    format!("{epc}{more} is already inside {detail}; unpack it first"),
                    "send the unpacking (AggregationEvent DELETE) before packing it again"),
            };
        out.push(rule.at_event(p, message, hint));
    }
    out
}

/// DSCSA-B-005: a DSCSA shipping event in a document without the SBDH parties.
pub(super) fn shipping_without_parties(p: &Prepared) -> Finding {
    SHIPPING_WITHOUT_SBDH_PARTIES.at_event(
        p,
        "a DSCSA shipping event needs the SBDH sender and receiver (the transferor and transferee)"
            .into(),
        "add sbdh:Sender and sbdh:Receiver with their GLN or SGLN to the EPCISHeader",
    )
}

/// DSCSA-B-006: a DSCSA shipping event in a document without the transaction statement.
pub(super) fn shipping_without_statement(p: &Prepared) -> Finding {
    SHIPPING_WITHOUT_TRANSACTION_STATEMENT.at_event(
        p,
        "a DSCSA shipping event needs the transaction statement (FD&C Act §581(27))".into(),
        "add gs1ushc:dscsaTransactionStatement to the EPCISHeader",
    )
}

/// DSCSA-B-012: an event stored before (same CBV 2.0 hash).
pub(super) fn duplicate_event(p: &Prepared) -> Finding {
    DUPLICATE_EVENT.at_event(
        p,
        format!(
            "event {} was captured before (same CBV 2.0 event hash); it is not stored again",
            p.index
        ),
        "nothing to do: resending an event is harmless",
    )
}

/// DSCSA-B-013: `what` (an identifier, or the first of several with "(and N more)") is
/// listed more than once in the same list of the event.
pub(super) fn repeated_identifier(p: &Prepared, what: &str) -> Finding {
    REPEATED_IDENTIFIER.at_event(
        p,
        format!("{what} is listed more than once in the same list; stored once"),
        "list each identifier once",
    )
}

/// DSCSA-B-014: an error declaration of an event that is not stored here.
pub(super) fn declared_event_unknown(line: u32, column: u32, index: u64) -> Finding {
    DECLARED_EVENT_UNKNOWN.at(
        line,
        column,
        Some(index),
        format!(
            "event {} declares an error in an event that is not stored here (or was retracted already); the declaration is stored, no state changes",
            index
        ),
        "send the declaration to the system that holds the original event, or send the original first",
    )
}

/// DSCSA-B-007: a GTIN of the document with no product master data.
pub(super) fn gtin_without_master_data(gtin: &str) -> Finding {
    GTIN_WITHOUT_MASTER_DATA.at(
        0,
        0,
        None,
        format!(
            "GTIN {gtin} has no product master data (EPCClass: name, dosage form, strength, NDC)"
        ),
        "add an EPCClass vocabulary element for the product to the EPCISHeader master data",
    )
}

/// DSCSA-B-008: a location of the document with no location master data.
pub(super) fn location_without_master_data(location: &str) -> Finding {
    LOCATION_WITHOUT_MASTER_DATA.at(
        0,
        0,
        None,
        format!("location {location} has no Location master data (name and address)"),
        "add a Location vocabulary element with the address to the EPCISHeader master data",
    )
}

/// DSCSA-B-015: `n` serials of one event (the first one given) in one of our pools' ranges
/// that were never allocated.
pub(super) fn never_issued(seq: i32, first: &str, n: usize) -> Finding {
    let more = if n > 1 {
        format!(" (and {} more in this event)", n - 1)
    } else {
        String::new()
    };
    NEVER_ISSUED.at(
        0,
        0,
        Some(seq as u64),
        format!(
            "GTIN {first}{more} is in the range of our serial pool but was never allocated: a potential counterfeit; flagged suspect"
        ),
        "check the packaging line's serial source: only serials from an allocation (`serials allocate`) may be commissioned; investigate the packs as suspect product",
    )
}

/// DSCSA-B-011 for an event time more than the tolerance ahead of the server's clock. When
/// the time read as UTC (its offset dropped) is the server's time, within the tolerance (at
/// least a minute), the message says so: a client that writes its UTC wall-clock time
/// followed by its local offset (seen in a widely used EPCIS 2.0 SDK) looks hours ahead when
/// it is west of UTC. It stays a reject (docs/RULES.md): the time as written is in the future,
/// and storing it would put the event ahead of everything that follows it in time.
pub(super) fn in_the_future(
    p: &Prepared,
    now: chrono::DateTime<Utc>,
    tolerance: chrono::Duration,
) -> Finding {
    let excess = p.event_time - now;
    let offset = chrono::Duration::seconds(i64::from(p.stated_offset_secs));
    let wall_clock_as_utc = p.event_time + offset;
    let slack = tolerance.max(chrono::Duration::minutes(1));
    let likely_offset_bug = p.stated_offset_secs < 0 && (wall_clock_as_utc - now).abs() <= slack;
    let ahead = |d: chrono::Duration| {
        let m = d.num_minutes();
        format!("{}h{:02}m", m / 60, m % 60)
    };
    let (message, hint) = if likely_offset_bug {
        let written = p.event_time.with_timezone(
            &chrono::FixedOffset::east_opt(p.stated_offset_secs).expect("a parsed offset"),
        );
        (
            format!(
                "event time {} is {} in the future (server time {}), exactly its UTC offset {}:                  likely a client bug writing the UTC wall-clock time with the local offset                  (meant {}Z?)",
                written.to_rfc3339(),
                ahead(excess),
                now.to_rfc3339(),
                written.format("%:z"),
                written.naive_local().format("%Y-%m-%dT%H:%M:%S")
            ),
            "write the local time with the local offset (or the UTC time with Z); this is a              known default of some EPCIS 2.0 SDKs",
        )
    } else {
        (
            format!(
                "event time {} is {} in the future (server time {}; {} s of clock skew allowed)",
                p.event_time.to_rfc3339(),
                ahead(excess),
                now.to_rfc3339(),
                tolerance.num_seconds()
            ),
            "send events after they happened; check the sender's clock and time zone",
        )
    };
    EVENT_IN_THE_FUTURE.at_event(p, message, hint)
}

#[cfg(test)]
mod tests {
    /// The rows of docs/RULES.md's business-rule table: `| `id` | severity | …`.
    fn documented() -> Vec<(String, String)> {
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/RULES.md")).unwrap();
        doc.lines()
            .filter_map(|l| l.strip_prefix("| `DSCSA-B-"))
            .map(|rest| {
                let mut cells = rest.split('|').map(str::trim);
                let id = format!("DSCSA-B-{}", cells.next().unwrap().trim_end_matches('`'));
                (id, cells.next().unwrap().to_string())
            })
            .collect()
    }

    /// A finding takes its severity from its rule here, so this also holds every raised
    /// finding to what docs/RULES.md says.
    #[test]
    fn every_business_rule_is_documented_once_with_its_severity_and_no_other_is() {
        let documented = documented();
        let catalogue: Vec<(String, String)> = super::CATALOGUE
            .iter()
            .map(|r| (r.id.to_string(), r.severity.to_string()))
            .collect();
        assert_eq!(documented, catalogue);
    }
}
