//! Product tracing (docs/COMPLIANCE.md, "Tracing"): for one serial, its current state, every
//! event about it and about the containers while it was inside them (each with its document,
//! sender and hash), the transaction history (each change of ownership, its TI document and
//! whether a TS came with it), the containers it travelled in, the verification requests about
//! it and its flags; for a lot, every unit's state with counts by status, owner and location.
//!
//! The same function answers `GET /trace` and `dscsa-exchange trace`; each trace is audited.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::subject::{ndc_digit_forms, unit_gtins, Subject};
use super::ComplianceError;
use crate::gs1::{self, Ndc};
use crate::query::rebuild::uri_of_key;
use crate::store::codes::{Code, SerialKind};
use crate::store::query::{self as events_q, StoredParty};
use crate::store::trace::{self as q, EventRow, LocationRow, SerialRow, UnitRow};
use crate::store::{audit, codes::PartyKind};

/// A trace's answer.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Trace {
    Serial(Box<SerialTrace>),
    Lot(Box<LotTrace>),
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A party or location: its identifier, GLN, and name and address from master data.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gln: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// Master data of the parties a trace names, looked up once.
struct Names(HashMap<String, LocationRow>);

impl Names {
    fn load(conn: &mut PgConnection, keys: HashSet<String>) -> QueryResult<Names> {
        let keys: Vec<String> = keys.into_iter().collect();
        Ok(Names(
            q::locations(conn, &keys)?
                .into_iter()
                .map(|l| (l.id.clone(), l))
                .collect(),
        ))
    }

    fn party(&self, key: &str) -> Party {
        let row = self.0.get(key);
        let address = row.and_then(|l| {
            let parts: Vec<&str> = [&l.street, &l.city, &l.state, &l.postal_code, &l.country]
                .into_iter()
                .filter_map(|p| p.as_deref())
                .filter(|p| !p.is_empty())
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        });
        Party {
            id: uri_of_key(key),
            gln: gs1::gln_of_key(key).map(str::to_string),
            name: row.and_then(|l| l.name.clone()),
            address,
        }
    }
}

/// Product master data.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub gtin: String,
    pub ndc: Option<String>,
    pub name: Option<String>,
    pub strength: Option<String>,
    pub dosage_form: Option<String>,
    pub pack_size: Option<String>,
    pub manufacturer: Option<String>,
}

fn products(conn: &mut PgConnection, gtins: &[String]) -> QueryResult<Vec<Product>> {
    Ok(q::products(conn, gtins)?
        .into_iter()
        .map(|p| Product {
            gtin: p.gtin,
            ndc: p.ndc,
            name: p.name,
            strength: p.strength,
            dosage_form: p.dosage_form,
            pack_size: p.pack_size,
            manufacturer: p.manufacturer,
        })
        .collect())
}

/// One serial's trace.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SerialTrace {
    /// The identifier traced, as a canonical GS1 Digital Link.
    pub epc: String,
    pub kind: &'static str,
    pub gtin: Option<String>,
    pub serial: Option<String>,
    pub product: Option<Product>,
    pub state: State,
    /// Every event about it, oldest first.
    pub events: Vec<TraceEvent>,
    /// Each change of ownership, oldest first.
    pub transactions: Vec<Transaction>,
    /// The containers it travelled in, and when it was inside each.
    pub containers: Vec<Travel>,
    pub verifications: Vec<Verification>,
    pub flags: Flags,
    pub generated_at: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    pub status: &'static str,
    pub disposition: Option<String>,
    pub owner: Option<Party>,
    pub location: Option<Party>,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub commissioned_at: Option<String>,
    pub last_event_time: Option<String>,
    /// Commissioned more than once: a potential counterfeit.
    pub commission_count: i32,
    /// The containers it is in now, from its parent to the outermost.
    pub container_chain: Vec<ChainLink>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainLink {
    pub depth: i32,
    pub epc: String,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: String,
}

/// The document an event came in.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub id: String,
    pub sender: Option<String>,
    pub receiver: Option<String>,
    pub instance_identifier: Option<String>,
    pub received_at: String,
    /// The authenticated partner that sent it.
    pub partner: Option<String>,
    /// Whether its header carried a DSCSA transaction statement, and if it was affirmed.
    pub transaction_statement: bool,
    pub transaction_statement_affirmed: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceEvent {
    pub event_id: Option<String>,
    pub hash_id: Option<String>,
    #[serde(rename = "type")]
    pub event_type: &'static str,
    pub action: Option<String>,
    pub event_time: String,
    pub event_time_zone_offset: String,
    pub record_time: String,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    /// The container the event names when it names the serial only through it.
    pub via: Option<String>,
    /// How the event names the traced identifier or its container: epc, parent, child, …
    pub roles: Vec<&'static str>,
    pub sources: Vec<Reference>,
    pub destinations: Vec<Reference>,
    pub biz_transactions: Vec<Reference>,
    pub lot: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub document: Document,
    /// Retracted by an error declaration (when, why): kept in the history, not in the state.
    pub retracted: Option<Retraction>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retraction {
    pub at: String,
    pub reason: Option<String>,
}

/// One change of ownership (DSCSA transaction information, as EPCIS carries it).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub date: String,
    pub seller: Option<Party>,
    pub buyer: Party,
    pub ship_from: Option<Party>,
    pub ship_to: Option<Party>,
    pub biz_step: Option<String>,
    pub hash_id: Option<String>,
    /// PO, invoice, despatch advice numbers.
    pub biz_transactions: Vec<Reference>,
    /// The document that carried the TI.
    pub document: Document,
    /// Whether a transaction statement came with it.
    pub transaction_statement: bool,
}

/// A container the serial was in, and the periods it was inside (to: None while it still is).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Travel {
    pub epc: String,
    pub periods: Vec<Period>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub from: String,
    pub to: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub received_at: String,
    pub partner: Option<String>,
    pub requester_gln: Option<String>,
    pub corr_uuid: Option<String>,
    pub context: Option<String>,
    pub verified: Option<bool>,
    pub failure_reason: Option<String>,
    pub additional_info: Vec<String>,
    pub http_status: i16,
    pub forwarded_to: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flags {
    pub suspect: bool,
    pub recalled: bool,
    pub illegitimate: bool,
    pub duplicate: bool,
    /// Flags on the product or its lot, active and cleared.
    pub product_flags: Vec<ProductFlag>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductFlag {
    pub gtin: String,
    pub lot: Option<String>,
    pub flag: String,
    pub reason: String,
    pub set_by: Option<String>,
    pub set_at: String,
    pub cleared_at: Option<String>,
}

fn product_flags(
    conn: &mut PgConnection,
    gtins: &[String],
    lot: Option<&str>,
) -> QueryResult<Vec<ProductFlag>> {
    Ok(q::flags(conn, gtins, lot)?
        .into_iter()
        .map(|f| ProductFlag {
            gtin: f.gtin,
            lot: f.lot,
            flag: f.flag,
            reason: f.reason,
            set_by: f.set_by,
            set_at: time(f.set_at),
            cleared_at: f.cleared_at.map(time),
        })
        .collect())
}

/// A lot's trace.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LotTrace {
    pub gtins: Vec<String>,
    pub lot: String,
    pub products: Vec<Product>,
    pub units: usize,
    pub by_status: BTreeMap<&'static str, usize>,
    pub by_owner: Vec<Count>,
    pub by_location: Vec<Count>,
    pub flags: Vec<ProductFlag>,
    /// Where every unit is now.
    pub serials: Vec<Unit>,
    pub generated_at: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Count {
    pub party: Option<Party>,
    pub units: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unit {
    pub epc: String,
    pub serial: Option<String>,
    pub expiry: Option<NaiveDate>,
    pub status: &'static str,
    pub disposition: Option<String>,
    pub owner: Option<String>,
    pub location: Option<String>,
    pub outermost_container: Option<String>,
    pub last_event_time: Option<String>,
    pub flags: Vec<&'static str>,
}

/// Who asks, for the audit log.
#[derive(Debug, Clone)]
pub struct Requester<'a> {
    pub actor: &'a str,
    /// The trace request this trace answers, if any (marked answered).
    pub request: Option<i64>,
}

/// Traces the subject, audits it (and marks the trace request answered), in one transaction.
pub fn trace(
    conn: &mut PgConnection,
    subject: &Subject,
    who: &Requester<'_>,
) -> Result<Trace, ComplianceError> {
    conn.transaction(|conn| {
        let (answer, described) = match subject {
            Subject::Serial(key) => (serial_trace(conn, key)?, key.clone()),
            Subject::NdcSerial(ndcs, serial) => {
                let keys: Vec<String> = ndc_gtins(conn, ndcs)?
                    .iter()
                    .filter_map(|g| g.parse().ok())
                    .map(|g| gs1::sgtin_key(&g, serial))
                    .collect();
                let found = q::stored_keys(conn, &keys)?;
                match found.as_slice() {
                    [] => {
                        return Err(ComplianceError::NotFound(format!(
                            "no package with serial {} of NDC {} is known here",
                            serial.as_str(),
                            ndc_text(ndcs)
                        )))
                    }
                    [one] => (serial_trace(conn, one)?, one.clone()),
                    many => {
                        return Err(ComplianceError::Invalid(format!(
                            "NDC {} with serial {} names several packages ({}): ask by GTIN",
                            ndc_text(ndcs),
                            serial.as_str(),
                            many.iter()
                                .map(|k| uri_of_key(k))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )))
                    }
                }
            }
            Subject::Lot(gtin, lot) => (
                lot_trace(conn, &[gtin.as_str().to_string()], lot.as_str())?,
                format!("lot:{}/{}", gtin.as_str(), lot.as_str()),
            ),
            Subject::NdcLot(ndcs, lot) => {
                let gtins = ndc_gtins(conn, ndcs)?;
                (
                    lot_trace(conn, &gtins, lot.as_str())?,
                    format!("lot:ndc {}/{}", ndc_text(ndcs), lot.as_str()),
                )
            }
        };
        if let Some(id) = who.request {
            super::requests::answered(conn, id, who.actor)?;
        }
        audit::record(
            conn,
            who.actor,
            "trace",
            &described,
            serde_json::json!({ "request": who.request }),
        )?;
        Ok(answer)
    })
}

fn ndc_text(ndcs: &[Ndc]) -> String {
    ndcs.first().map(|n| n.to_string()).unwrap_or_default()
}

/// The GTINs an NDC stands for here: those of product master data with that NDC, and the
/// unit GTIN the NDC makes without it.
fn ndc_gtins(conn: &mut PgConnection, ndcs: &[Ndc]) -> QueryResult<Vec<String>> {
    let mut gtins = q::gtins_of_ndc(conn, &ndc_digit_forms(ndcs))?;
    gtins.extend(unit_gtins(ndcs));
    gtins.sort();
    gtins.dedup();
    Ok(gtins)
}

/// A time and event id: the order of state (docs/RULES.md, "State follows event time").
type At = (DateTime<Utc>, i64);

/// A period inside a container: from, to (None: still inside), the event that ended it.
type Span = (At, Option<At>, Option<i64>);

/// When a child was inside a parent: from its packing to its unpacking (None: still inside).
#[derive(Debug, Clone)]
struct Inside {
    child: String,
    parent: String,
    from: At,
    to: Option<At>,
    /// The event that ended it.
    ended_by: Option<i64>,
}

/// The packing intervals the standing aggregation events among `events` give, for children
/// and parents among the keys.
fn intervals(events: &[EventRow], namings: &[q::Naming]) -> Vec<Inside> {
    let mut by_event: HashMap<i64, Vec<&q::Naming>> = HashMap::new();
    for n in namings {
        by_event.entry(n.event_id).or_default().push(n);
    }
    let mut out: Vec<Inside> = Vec::new();
    for e in events {
        if e.event_type != 2 || e.retracted_at.is_some() {
            continue;
        }
        let names = by_event.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
        let Some(parent) = names
            .iter()
            .find(|n| n.role == 2)
            .map(|n| n.epc_key.clone())
        else {
            continue;
        };
        let at = (e.event_time, e.id);
        let children: Vec<&str> = names
            .iter()
            .filter(|n| n.role == 3)
            .map(|n| n.epc_key.as_str())
            .collect();
        match e.action.as_deref() {
            Some("ADD") => {
                for c in children {
                    if !out
                        .iter()
                        .any(|i| i.child == c && i.parent == parent && i.to.is_none())
                    {
                        out.push(Inside {
                            child: c.to_string(),
                            parent: parent.clone(),
                            from: at,
                            to: None,
                            ended_by: None,
                        });
                    }
                }
            }
            Some("DELETE") => {
                for i in out.iter_mut().filter(|i| {
                    i.parent == parent
                        && i.to.is_none()
                        && (!e.has_children || children.contains(&i.child.as_str()))
                }) {
                    i.to = Some(at);
                    i.ended_by = Some(e.id);
                }
            }
            _ => {}
        }
    }
    out
}

/// The periods `key` was inside `container`, directly or through containers in between.
fn periods_inside(all: &[Inside], key: &str, container: &str, depth: usize) -> Vec<Span> {
    if depth > 32 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for i in all.iter().filter(|i| i.child == key) {
        if i.parent == container {
            out.push((i.from, i.to, i.ended_by));
        } else {
            for (from, to, _) in periods_inside(all, &i.parent, container, depth + 1) {
                let start = from.max(i.from);
                let end = match (to, i.to) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                if end.is_none_or(|e| start < e) {
                    out.push((start, end, None));
                }
            }
        }
    }
    out.sort_by_key(|p| p.0);
    out
}

fn role_name(role: i16) -> &'static str {
    match role {
        1 => "epc",
        2 => "parent",
        3 => "child",
        4 => "input",
        5 => "output",
        _ => "other",
    }
}

fn document_of(e: &EventRow) -> Document {
    let ts = e.transaction_statement.as_ref();
    Document {
        id: e.document_id.to_string(),
        sender: e.sender.clone(),
        receiver: e.receiver.clone(),
        instance_identifier: e.instance_identifier.clone(),
        received_at: time(e.received_at),
        partner: e.partner_name.clone(),
        transaction_statement: ts.is_some(),
        transaction_statement_affirmed: ts
            .and_then(|v| v.get("affirmed"))
            .and_then(serde_json::Value::as_bool),
    }
}

fn serial_trace(conn: &mut PgConnection, key: &str) -> Result<Trace, ComplianceError> {
    // `trace` runs in a transaction, so this holds for this trace only.
    q::plan_for_one_serial(conn)?;
    let Some(row) = q::serial(conn, key)? else {
        return Err(ComplianceError::NotFound(format!(
            "{} is not known here",
            uri_of_key(key)
        )));
    };
    let chain = match row.parent_id {
        Some(p) => q::container_chain(conn, p)?,
        None => Vec::new(),
    };
    let keys = q::ever_containers(conn, key)?;
    let namings = q::namings(conn, &keys)?;
    let mut ids: Vec<i64> = namings.iter().map(|n| n.event_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = q::events(conn, &ids)?;
    let all = intervals(&rows, &namings);
    let containers: Vec<String> = keys.iter().filter(|k| *k != key).cloned().collect();
    let periods: HashMap<&str, Vec<Span>> = containers
        .iter()
        .map(|c| (c.as_str(), periods_inside(&all, key, c, 0)))
        .collect();

    // The events about the serial: those naming it, and those naming a container it was in
    // at the time (as its epc list or as a child packed into a larger one), with the
    // unpacking that took it out.
    let mut named: HashMap<i64, Vec<&q::Naming>> = HashMap::new();
    for n in &namings {
        named.entry(n.event_id).or_default().push(n);
    }
    let inside_at = |c: &str, at: At, id: i64| {
        periods.get(c).is_some_and(|ps| {
            ps.iter().any(|(from, to, ended)| {
                (at >= *from && to.is_none_or(|t| at < t)) || *ended == Some(id)
            })
        })
    };
    let mut kept: Vec<(&EventRow, Option<String>, Vec<&'static str>)> = Vec::new();
    for e in &rows {
        let names = named.get(&e.id).map(Vec::as_slice).unwrap_or(&[]);
        let own: Vec<&'static str> = names
            .iter()
            .filter(|n| n.epc_key == key)
            .map(|n| role_name(n.role))
            .collect();
        if !own.is_empty() {
            kept.push((e, None, own));
            continue;
        }
        let at = (e.event_time, e.id);
        // As parent, a container's event concerns the serial only when it took it out.
        let ended_here = |c: &str| {
            periods
                .get(c)
                .is_some_and(|ps| ps.iter().any(|p| p.2 == Some(e.id)))
        };
        if let Some(n) = names.iter().find(|n| {
            n.epc_key != key
                && match n.role {
                    2 => ended_here(&n.epc_key),
                    _ => inside_at(&n.epc_key, at, e.id),
                }
        }) {
            kept.push((e, Some(n.epc_key.clone()), vec![role_name(n.role)]));
        }
    }
    let kept_ids: Vec<i64> = kept.iter().map(|(e, _, _)| e.id).collect();
    let parties = events_q::parties(conn, &kept_ids)?;
    let mut by_event: HashMap<i64, Vec<&StoredParty>> = HashMap::new();
    for p in &parties {
        by_event.entry(p.event_id).or_default().push(p);
    }
    let mut name_keys: HashSet<String> = parties
        .iter()
        .filter(|p| p.kind != 0)
        .map(|p| p.value.clone())
        .collect();
    name_keys.extend(row.owner.clone());
    name_keys.extend(row.location.clone());
    let names = Names::load(conn, name_keys)?;

    let refs = |id: i64, kind: Option<PartyKind>| -> Vec<Reference> {
        let code = kind.map_or(0, Code::code);
        by_event
            .get(&id)
            .map(|ps| {
                ps.iter()
                    .filter(|p| p.kind == code)
                    .map(|p| Reference {
                        kind: p.kind_type.clone(),
                        id: if code == 0 {
                            p.value.clone()
                        } else {
                            uri_of_key(&p.value)
                        },
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let party_of = |id: i64, kind: PartyKind, ty: &str| -> Option<String> {
        by_event.get(&id).and_then(|ps| {
            ps.iter()
                .find(|p| p.kind == kind.code() && p.kind_type.as_deref() == Some(ty))
                .map(|p| p.value.clone())
        })
    };

    let mut events = Vec::with_capacity(kept.len());
    let mut transactions = Vec::new();
    let mut owner: Option<String> = None;
    for (e, via, roles) in &kept {
        let hash_id = crate::epcis::hash::hash_id_of_digest(&e.event_hash);
        let document = document_of(e);
        if e.retracted_at.is_none() {
            if let Some(buyer) = party_of(e.id, PartyKind::Destination, "owning_party") {
                if owner.as_deref() != Some(buyer.as_str()) {
                    let seller =
                        party_of(e.id, PartyKind::Source, "owning_party").or(owner.clone());
                    transactions.push(Transaction {
                        date: time(e.event_time),
                        seller: seller.as_deref().map(|s| names.party(s)),
                        buyer: names.party(&buyer),
                        ship_from: party_of(e.id, PartyKind::Source, "location")
                            .map(|s| names.party(&s)),
                        ship_to: party_of(e.id, PartyKind::Destination, "location")
                            .map(|s| names.party(&s)),
                        biz_step: e.biz_step.clone(),
                        hash_id: hash_id.clone(),
                        biz_transactions: refs(e.id, None),
                        transaction_statement: document.transaction_statement,
                        document: document.clone(),
                    });
                    owner = Some(buyer);
                }
            }
        }
        events.push(TraceEvent {
            event_id: e.eid.clone(),
            hash_id,
            event_type: crate::epcis::EventType::from_code(e.event_type)
                .map_or("unknown", |t| t.as_str()),
            action: e.action.clone(),
            event_time: time(e.event_time),
            event_time_zone_offset: e.event_time_zone_offset.clone(),
            record_time: time(e.record_time),
            biz_step: e.biz_step.clone(),
            disposition: e.disposition.clone(),
            read_point: e.read_point.as_deref().map(uri_of_key),
            biz_location: e.biz_location.as_deref().map(uri_of_key),
            via: via.as_deref().map(uri_of_key),
            roles: roles.clone(),
            sources: refs(e.id, Some(PartyKind::Source)),
            destinations: refs(e.id, Some(PartyKind::Destination)),
            biz_transactions: refs(e.id, None),
            lot: e.lot.clone(),
            expiry: e.expiry,
            document,
            retracted: e.retracted_at.map(|at| Retraction {
                at: time(at),
                reason: e.retracted_reason.clone(),
            }),
        });
    }

    let mut travels: Vec<Travel> = containers
        .iter()
        .filter_map(|c| {
            let ps = periods.get(c.as_str())?;
            (!ps.is_empty()).then(|| Travel {
                epc: uri_of_key(c),
                periods: ps
                    .iter()
                    .map(|(from, to, _)| Period {
                        from: time(from.0),
                        to: to.map(|t| time(t.0)),
                    })
                    .collect(),
            })
        })
        .collect();
    travels.sort_by(|a, b| {
        a.periods[0]
            .from
            .cmp(&b.periods[0].from)
            .then(a.epc.cmp(&b.epc))
    });

    let gtins: Vec<String> = row.gtin.iter().cloned().collect();
    let verifications = match (&row.gtin, &row.serial_number) {
        (Some(g), Some(s)) => q::verifications(conn, g, s)?
            .into_iter()
            .map(|v| Verification {
                received_at: time(v.received_at),
                partner: v.partner_name,
                requester_gln: v.requester_gln,
                corr_uuid: v.corr_uuid,
                context: v.context,
                verified: v.verified,
                failure_reason: v.failure_reason,
                additional_info: v
                    .additional_info
                    .unwrap_or_default()
                    .into_iter()
                    .flatten()
                    .collect(),
                http_status: v.http_status,
                forwarded_to: v.forwarded_to,
            })
            .collect(),
        _ => Vec::new(),
    };
    let flags = Flags {
        suspect: row.suspect,
        recalled: row.recalled,
        illegitimate: row.illegitimate,
        duplicate: row.duplicate,
        product_flags: product_flags(conn, &gtins, row.lot.as_deref())?,
    };
    let product = products(conn, &gtins)?.into_iter().next();
    Ok(Trace::Serial(Box::new(SerialTrace {
        epc: uri_of_key(&row.epc_key),
        kind: match row.kind {
            SerialKind::Sgtin => "sgtin",
            SerialKind::Sscc => "sscc",
            SerialKind::Other => "other",
        },
        gtin: row.gtin.clone(),
        serial: row.serial_number.clone(),
        product,
        state: state_of(&row, &names, chain),
        events,
        transactions,
        containers: travels,
        verifications,
        flags,
        generated_at: time(Utc::now()),
    })))
}

fn state_of(row: &SerialRow, names: &Names, chain: Vec<q::ContainerRow>) -> State {
    State {
        status: row.status.as_str(),
        disposition: row.disposition.clone(),
        owner: row.owner.as_deref().map(|o| names.party(o)),
        location: row.location.as_deref().map(|l| names.party(l)),
        lot: row.lot.clone(),
        expiry: row.expiry,
        commissioned_at: row.commissioned_at.map(time),
        last_event_time: row.last_event_time.map(time),
        commission_count: row.commission_count,
        container_chain: chain
            .into_iter()
            .map(|c| ChainLink {
                depth: c.depth,
                epc: uri_of_key(&c.epc_key),
                status: c.status.as_str(),
            })
            .collect(),
    }
}

fn unit_flags(u: &UnitRow) -> Vec<&'static str> {
    [
        (u.suspect, "suspect"),
        (u.recalled, "recalled"),
        (u.illegitimate, "illegitimate"),
        (u.duplicate, "duplicate"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect()
}

fn lot_trace(
    conn: &mut PgConnection,
    gtins: &[String],
    lot: &str,
) -> Result<Trace, ComplianceError> {
    let units = q::lot_units(conn, gtins, lot)?;
    if units.is_empty() {
        return Err(ComplianceError::NotFound(format!(
            "no serial of lot {lot} of GTIN {} is known here",
            gtins.join(" or ")
        )));
    }
    let mut by_status: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut owners: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    let mut locations: BTreeMap<Option<&str>, usize> = BTreeMap::new();
    for u in &units {
        *by_status.entry(u.status.as_str()).or_default() += 1;
        *owners.entry(u.owner.as_deref()).or_default() += 1;
        *locations.entry(u.location.as_deref()).or_default() += 1;
    }
    let keys: HashSet<String> = owners
        .keys()
        .chain(locations.keys())
        .filter_map(|k| k.map(str::to_string))
        .collect();
    let names = Names::load(conn, keys)?;
    let counts = |m: BTreeMap<Option<&str>, usize>| -> Vec<Count> {
        let mut v: Vec<Count> = m
            .into_iter()
            .map(|(k, n)| Count {
                party: k.map(|k| names.party(k)),
                units: n,
            })
            .collect();
        v.sort_by_key(|c| std::cmp::Reverse(c.units));
        v
    };
    let mut found: Vec<String> = units.iter().filter_map(|u| u.gtin.clone()).collect();
    found.sort();
    found.dedup();
    // Owners, locations and containers repeat across units: each key is written once.
    let mut uris: HashMap<String, String> = HashMap::new();
    let mut uri = |k: Option<&str>| -> Option<String> {
        k.map(|k| {
            uris.entry(k.to_string())
                .or_insert_with(|| uri_of_key(k))
                .clone()
        })
    };
    let serials = units
        .iter()
        .map(|u| Unit {
            epc: uri_of_key(&u.epc_key),
            serial: u.serial_number.clone(),
            expiry: u.expiry,
            status: u.status.as_str(),
            disposition: u.disposition.clone(),
            owner: uri(u.owner.as_deref()),
            location: uri(u.location.as_deref()),
            outermost_container: uri(u.top_key.as_deref()),
            last_event_time: u.last_event_time.map(time),
            flags: unit_flags(u),
        })
        .collect();
    Ok(Trace::Lot(Box::new(LotTrace {
        products: products(conn, &found)?,
        flags: product_flags(conn, &found, Some(lot))?,
        gtins: found,
        lot: lot.to_string(),
        units: units.len(),
        by_status,
        by_owner: counts(owners),
        by_location: counts(locations),
        serials,
        generated_at: time(Utc::now()),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(min: i64, id: i64) -> At {
        (DateTime::from_timestamp(min * 60, 0).unwrap(), id)
    }

    #[test]
    fn periods_through_nested_containers_are_the_overlap_of_each_level() {
        let all = vec![
            Inside {
                child: "item".into(),
                parent: "case".into(),
                from: at(1, 1),
                to: Some(at(9, 9)),
                ended_by: Some(9),
            },
            Inside {
                child: "case".into(),
                parent: "pallet".into(),
                from: at(3, 3),
                to: None,
                ended_by: None,
            },
            Inside {
                child: "case".into(),
                parent: "other".into(),
                from: at(10, 10),
                to: None,
                ended_by: None,
            },
        ];
        assert_eq!(periods_inside(&all, "item", "case", 0).len(), 1);
        let p = periods_inside(&all, "item", "pallet", 0);
        assert_eq!(
            p.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
            vec![(at(3, 3), Some(at(9, 9)))]
        );
        // The case went on another pallet after the item had left it.
        assert!(periods_inside(&all, "item", "other", 0).is_empty());
    }
}
