//! The EPCIS query parameters (standards.md §3.3, the REST binding's `GET /events`) turned into
//! a stored-form filter: identifiers as keys (URN and Digital Link alike), CBV values as short
//! words, event types as codes. Values are pipe-delimited lists.

use chrono::{DateTime, Utc};

use super::QueryError;
use crate::epcis::cbv::{self, Vocab};
use crate::epcis::{EpcRole, EventType};
use crate::gs1::{self, Identifier};
use crate::store::codes::{Code, PartyKind};
use crate::store::query::{EventFilter, IdentifierMatch, OrderBy, TypedValues};

/// The default and the ceiling of `perPage` (the binding's default is 30).
pub const DEFAULT_PER_PAGE: u32 = 30;
pub const MAX_PER_PAGE: u32 = 1000;

/// One query, parsed.
#[derive(Debug, Clone)]
pub struct EventQuery {
    pub filter: EventFilter,
    pub order: OrderBy,
    pub descending: bool,
    pub per_page: u32,
    /// `eventCountLimit`: at most this many events in all pages.
    pub event_count_limit: Option<u64>,
    /// `maxEventCount`: more matching events than this is an error (QueryTooLargeException).
    pub max_event_count: Option<u64>,
    pub next_page_token: Option<String>,
    /// The parameters that define the result (not paging ones), sorted: a page token is valid
    /// only for the query it was made for.
    pub fingerprint: String,
}

fn bad(name: &str, value: &str, why: impl Into<String>) -> QueryError {
    QueryError::Parameter {
        name: name.to_string(),
        value: value.to_string(),
        reason: why.into(),
    }
}

fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split('|').map(str::trim).filter(|v| !v.is_empty())
}

fn time(name: &str, value: &str) -> Result<DateTime<Utc>, QueryError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            bad(
                name,
                value,
                format!("not a date-time with a zone (e.g. 2025-01-01T00:00:00Z): {e}"),
            )
        })
}

fn count(name: &str, value: &str) -> Result<u64, QueryError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| bad(name, value, "must be a positive whole number"))
}

fn cbv_words(vocab: Vocab, value: &str) -> Vec<String> {
    list(value)
        .map(|v| cbv::normalise(vocab, v).term.as_str().to_string())
        .collect()
}

/// The stored key of an identifier given as an EPC URN, a Digital Link or any other URI.
fn key(name: &str, value: &str) -> Result<String, QueryError> {
    match gs1::classify(value) {
        Ok(Identifier::Epc(epc)) => Ok(epc.key()),
        Ok(Identifier::Opaque) => Ok(value.to_string()),
        Err(e) => Err(bad(name, value, e.to_string())),
    }
}

/// A location (readPoint / bizLocation) or party: its key when it is a GS1 identifier, else the
/// value as given (the capture stores such values as given, docs/RULES.md EPCIS-I-004).
fn location(value: &str) -> String {
    match gs1::classify(value) {
        Ok(Identifier::Epc(epc)) => epc.key(),
        _ => value.to_string(),
    }
}

/// `LIKE` with the pattern's literal parts escaped.
fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The keys an EPC pattern (`urn:epc:idpat:…`) matches, as a `LIKE` pattern; for class
/// parameters a GTIN matches its classes (`01<gtin>`, and `01<gtin>10<lot>`).
fn pattern(name: &str, value: &str, class: bool) -> Result<String, QueryError> {
    let unsupported = || {
        bad(
            name,
            value,
            "supported EPC patterns: urn:epc:idpat:sgtin:CP.ITEM.*, urn:epc:idpat:sgtin:CP.*.*, \
             urn:epc:idpat:sscc:CP.*, urn:epc:idpat:sgln:CP.*.* (docs/QUERY.md)",
        )
    };
    let body = value
        .strip_prefix("urn:epc:idpat:")
        .ok_or_else(unsupported)?;
    let (scheme, fields) = body.split_once(':').ok_or_else(unsupported)?;
    let parts: Vec<&str> = fields.split('.').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match (scheme, parts.as_slice()) {
        ("sgtin", [cp, item, "*"]) if *item != "*" => {
            let Ok(Identifier::Epc(gs1::Epc::GtinClass(gtin))) = gs1::classify(value) else {
                return Err(unsupported());
            };
            let stem = format!("01{}", gtin.as_str());
            Ok(if class {
                format!("{}%", like_literal(&stem))
            } else {
                let _ = cp;
                format!("{}21%", like_literal(&stem))
            })
        }
        ("sgtin", [cp, "*", "*"]) if digits(cp) && cp.len() <= 12 => {
            // GTIN-14: indicator digit, company prefix, the rest of the item reference, check.
            let rest = "_".repeat(12 - cp.len());
            let tail = if class { "%" } else { "21%" };
            Ok(format!("01_{cp}{rest}{tail}"))
        }
        ("sscc", [cp, "*"]) if digits(cp) && cp.len() <= 12 => {
            // SSCC: extension digit, company prefix, serial reference, check digit.
            Ok(format!("00_{cp}%"))
        }
        ("sgln", [cp, "*", "*"]) if digits(cp) && cp.len() <= 12 => Ok(format!("414{cp}%")),
        _ => Err(unsupported()),
    }
}

/// A `MATCH_…` parameter: exact identifiers become keys, patterns `LIKE` patterns.
fn identifiers(
    name: &str,
    value: &str,
    in_roles: &[EpcRole],
    class: bool,
) -> Result<IdentifierMatch, QueryError> {
    let mut m = IdentifierMatch {
        roles: roles(in_roles),
        ..IdentifierMatch::default()
    };
    for v in list(value) {
        if v == "*" {
            m.patterns.push("%".into());
        } else if v.starts_with("urn:epc:idpat:") && v.contains('*') {
            m.patterns.push(pattern(name, v, class)?);
        } else {
            m.keys.push(key(name, v)?);
        }
    }
    Ok(m)
}

fn event_type_code(name: &str, value: &str) -> Result<i16, QueryError> {
    EventType::from_name(value).map(Code::code).ok_or_else(|| {
        bad(
            name,
            value,
            "one of ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, \
             AssociationEvent",
        )
    })
}

fn roles(list: &[EpcRole]) -> Vec<i16> {
    list.iter().map(|r| r.code()).collect()
}

const EPC: &[EpcRole] = &[EpcRole::Epc, EpcRole::Child];
const PARENT: &[EpcRole] = &[EpcRole::Parent];
const INPUT: &[EpcRole] = &[EpcRole::Input];
const OUTPUT: &[EpcRole] = &[EpcRole::Output];
const ANY: &[EpcRole] = &[
    EpcRole::Epc,
    EpcRole::Parent,
    EpcRole::Child,
    EpcRole::Input,
    EpcRole::Output,
];
const ANY_CLASS: &[EpcRole] = &[
    EpcRole::Epc,
    EpcRole::Child,
    EpcRole::Input,
    EpcRole::Output,
];

/// Parses the query parameters of `GET /events` (or of a CLI export).
pub fn parse(params: &[(String, String)]) -> Result<EventQuery, QueryError> {
    let mut f = EventFilter::default();
    let mut order = None;
    let mut direction = None;
    let mut per_page = DEFAULT_PER_PAGE;
    let mut event_count_limit = None;
    let mut max_event_count = None;
    let mut next_page_token = None;
    let mut defining: Vec<(String, String)> = Vec::new();
    for (name, value) in params {
        let (n, v) = (name.as_str(), value.as_str());
        let mut paging = false;
        match n {
            "eventType" => {
                for t in list(v) {
                    f.event_types.push(event_type_code(n, t)?);
                }
            }
            "GE_eventTime" => f.ge_event_time = Some(time(n, v)?),
            "LT_eventTime" => f.lt_event_time = Some(time(n, v)?),
            "GE_recordTime" => f.ge_record_time = Some(time(n, v)?),
            "LT_recordTime" => f.lt_record_time = Some(time(n, v)?),
            "EQ_action" => {
                for a in list(v) {
                    if !matches!(a, "ADD" | "OBSERVE" | "DELETE") {
                        return Err(bad(n, a, "one of ADD, OBSERVE, DELETE"));
                    }
                    f.actions.push(a.to_string());
                }
            }
            "EQ_bizStep" => f.biz_steps = cbv_words(Vocab::BizStep, v),
            "EQ_disposition" => f.dispositions = cbv_words(Vocab::Disposition, v),
            "EQ_readPoint" => f.read_points = list(v).map(location).collect(),
            "EQ_bizLocation" => f.biz_locations = list(v).map(location).collect(),
            "EQ_transformationID" => f.transformation_ids = list(v).map(String::from).collect(),
            "EQ_eventID" => {
                for id in list(v) {
                    match crate::epcis::hash::digest_of(id) {
                        Some(d) => f.event_hashes.push(d),
                        None => f.event_ids.push(id.to_string()),
                    }
                }
            }
            "MATCH_epc" => f.identifiers.push(identifiers(n, v, EPC, false)?),
            "MATCH_parentID" => f.identifiers.push(identifiers(n, v, PARENT, false)?),
            "MATCH_inputEPC" => f.identifiers.push(identifiers(n, v, INPUT, false)?),
            "MATCH_outputEPC" => f.identifiers.push(identifiers(n, v, OUTPUT, false)?),
            "MATCH_anyEPC" => f.identifiers.push(identifiers(n, v, ANY, false)?),
            "MATCH_epcClass" => f.identifiers.push(identifiers(n, v, EPC, true)?),
            "MATCH_inputEPCClass" => f.identifiers.push(identifiers(n, v, INPUT, true)?),
            "MATCH_outputEPCClass" => f.identifiers.push(identifiers(n, v, OUTPUT, true)?),
            "MATCH_anyEPCClass" => f.identifiers.push(identifiers(n, v, ANY_CLASS, true)?),
            "EXISTS_errorDeclaration" => f.error_declared = Some(true),
            "orderBy" => {
                order = Some(match v {
                    "eventTime" => OrderBy::EventTime,
                    "recordTime" => OrderBy::RecordTime,
                    _ => return Err(bad(n, v, "this server orders by eventTime or recordTime")),
                })
            }
            "orderDirection" => {
                direction = Some(match v {
                    "ASC" => false,
                    "DESC" => true,
                    _ => return Err(bad(n, v, "ASC or DESC")),
                })
            }
            "perPage" => {
                paging = true;
                per_page = u32::try_from(count(n, v)?)
                    .unwrap_or(u32::MAX)
                    .min(MAX_PER_PAGE);
            }
            "eventCountLimit" => event_count_limit = Some(count(n, v)?),
            "maxEventCount" => max_event_count = Some(count(n, v)?),
            "nextPageToken" => {
                paging = true;
                next_page_token = Some(v.to_string());
            }
            _ => {
                if let Some(t) = n.strip_prefix("EQ_bizTransaction_") {
                    f.biz_transactions
                        .push(typed(Vocab::BizTransactionType, t, v, false));
                } else if let Some(t) = n.strip_prefix("EQ_source_") {
                    let values = typed(Vocab::SourceDestType, t, v, true);
                    f.sources_destinations
                        .push((PartyKind::Source.code(), values));
                } else if let Some(t) = n.strip_prefix("EQ_destination_") {
                    let values = typed(Vocab::SourceDestType, t, v, true);
                    f.sources_destinations
                        .push((PartyKind::Destination.code(), values));
                } else {
                    return Err(bad(
                        n,
                        v,
                        "not a query parameter this server knows (docs/QUERY.md lists them)",
                    ));
                }
            }
        }
        if !paging {
            defining.push((name.clone(), value.clone()));
        }
    }
    if event_count_limit.is_some() && max_event_count.is_some() {
        return Err(bad(
            "maxEventCount",
            "",
            "give eventCountLimit or maxEventCount, not both",
        ));
    }
    defining.sort();
    let fingerprint = defining
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    Ok(EventQuery {
        filter: f,
        // Without orderBy the order is the stored one (record time); with it, DESC by default.
        descending: direction.unwrap_or(order.is_some()),
        order: order.unwrap_or(OrderBy::RecordTime),
        per_page,
        event_count_limit,
        max_event_count,
        next_page_token,
        fingerprint,
    })
}

/// `EQ_bizTransaction_{type}`, `EQ_source_{type}`, `EQ_destination_{type}`: the type in CBV
/// short-word form; parties (sources, destinations) as keys.
fn typed(vocab: Vocab, kind: &str, value: &str, parties: bool) -> TypedValues {
    TypedValues {
        kind: Some(cbv::normalise(vocab, kind).term.as_str().to_string()),
        values: list(value)
            .map(|v| if parties { location(v) } else { v.to_string() })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Result<EventQuery, QueryError> {
        parse(
            &pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn urn_and_digital_link_give_the_same_key() {
        let a = p(&[("MATCH_epc", "urn:epc:id:sgtin:0614141.107346.2017")]).unwrap();
        let b = p(&[("MATCH_epc", "https://id.gs1.org/01/10614141073464/21/2017")]).unwrap();
        assert_eq!(a.filter.identifiers[0].keys, b.filter.identifiers[0].keys);
        assert_eq!(
            a.filter.identifiers[0].keys,
            ["011061414107346421".to_string() + "2017"]
        );
    }

    #[test]
    fn cbv_urns_web_uris_and_bare_words_are_one_value() {
        for v in [
            "shipping",
            "urn:epcglobal:cbv:bizstep:shipping",
            "https://ref.gs1.org/cbv/BizStep-shipping",
        ] {
            assert_eq!(
                p(&[("EQ_bizStep", v)]).unwrap().filter.biz_steps,
                ["shipping"]
            );
        }
    }

    #[test]
    fn patterns_become_like_patterns() {
        let q = p(&[(
            "MATCH_epc",
            "urn:epc:idpat:sgtin:0614141.107346.*|urn:epc:idpat:sscc:0614141.*",
        )])
        .unwrap();
        assert_eq!(
            q.filter.identifiers[0].patterns,
            ["0110614141073464".to_string() + "21%", "00_0614141%".into()]
        );
        let q = p(&[("MATCH_epcClass", "urn:epc:idpat:sgtin:0614141.*.*")]).unwrap();
        assert_eq!(q.filter.identifiers[0].patterns, ["01_0614141_____%"]);
        assert!(p(&[("MATCH_epc", "urn:epc:idpat:grai:0614141.*.*")]).is_err());
    }

    #[test]
    fn bad_values_and_unknown_names_are_parameter_errors() {
        for (n, v) in [
            ("GE_eventTime", "yesterday"),
            ("eventType", "Thing"),
            ("EQ_action", "ADDED"),
            ("perPage", "0"),
            ("orderDirection", "UP"),
            ("EQ_colour", "red"),
            ("MATCH_epc", "urn:epc:id:sgtin:0614141.107346"),
        ] {
            assert!(
                matches!(p(&[(n, v)]), Err(QueryError::Parameter { .. })),
                "{n}={v}"
            );
        }
    }

    #[test]
    fn order_defaults_and_fingerprint_ignores_paging() {
        let q = p(&[("orderBy", "eventTime")]).unwrap();
        assert!(q.descending);
        let q = p(&[]).unwrap();
        assert!(!q.descending && q.order == OrderBy::RecordTime);
        let a = p(&[("EQ_bizStep", "shipping"), ("perPage", "5")]).unwrap();
        let b = p(&[("nextPageToken", "x"), ("EQ_bizStep", "shipping")]).unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.per_page, 5);
        assert_eq!(p(&[("perPage", "100000")]).unwrap().per_page, MAX_PER_PAGE);
    }
}
