//! Stored rows made back into EPCIS events (the model the writers take). Identifiers come back
//! as canonical GS1 Digital Links (the writer turns them into EPC URNs when asked: the key does
//! not depend on the form captured), values stored as given come back as given, and every
//! extension element, ILMD element and sensor element comes back as captured. The event keeps
//! its stored hash id, which is what reading any of our output back computes (tested).

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde_json::Value;

use crate::epcis::cbv::{self, CbvTerm, Vocab};
use crate::epcis::EpcRole;
use crate::epcis::{
    Action, ErrorDeclaration, Event, EventType, ExtensionElement, PersistentDisposition, Position,
    QuantityElement, SourceDest, Timestamp,
};
use crate::epcis::{BizTransaction, Ilmd};
use crate::gs1::{Epc, Identifier};
use crate::store::codes::{Code, PartyKind};
use crate::store::query::{EventRows, StoredEpc, StoredEvent};

/// The URI of a stored key: a GS1 key as its canonical Digital Link; anything else (a URI or a
/// value stored as given) unchanged.
pub fn uri_of_key(key: &str) -> String {
    parsed(key).map_or_else(|| key.to_string(), |e| e.to_canonical_digital_link())
}

/// The GS1 identifier a stored key is (keys of GS1 identifiers begin with a digit).
fn parsed(key: &str) -> Option<Epc> {
    key.starts_with(|c: char| c.is_ascii_digit())
        .then(|| Epc::from_key(key).ok())
        .flatten()
}

/// A stored identifier row as the writers take it: its URI, what it was parsed as (the key
/// is parsed once, here), and whether it is a class-level (quantity) entry.
fn identifier(row: &StoredEpc) -> (String, Option<Identifier>, bool) {
    let epc = parsed(&row.epc_key);
    let class = row.quantity.is_some()
        || row.uom.is_some()
        || row.epc_key.starts_with("urn:epc:idpat:")
        || row.epc_key.starts_with("urn:epc:class:")
        || matches!(epc, Some(Epc::Lgtin(_) | Epc::GtinClass(_)));
    match epc {
        Some(e) => (
            e.to_canonical_digital_link(),
            Some(Identifier::Epc(e)),
            class,
        ),
        None => (row.epc_key.clone(), None, class),
    }
}

fn timestamp(t: DateTime<Utc>, offset: Option<&str>) -> Timestamp {
    let fixed = offset
        .and_then(|o| DateTime::parse_from_rfc3339(&format!("2000-01-01T00:00:00{o}")).ok())
        .map(|d| *d.offset())
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"));
    let local = t.with_timezone(&fixed);
    Timestamp {
        text: local.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        value: Some(local),
    }
}

fn term(vocab: Vocab, stored: &Option<String>) -> Option<CbvTerm> {
    stored.as_deref().map(|s| cbv::normalise(vocab, s).term)
}

/// An extension element from its stored JSON (`capture::prepare::extension_json`).
pub fn extension_of_json(v: &Value) -> Option<ExtensionElement> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let attributes = v
        .get("attributes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    let p = p.as_array()?;
                    Some((
                        p.first()?.as_str()?.to_string(),
                        p.get(1)?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(ExtensionElement {
        namespace: s("ns"),
        prefix: String::new(),
        local_name: v.get("name")?.as_str()?.to_string(),
        attributes,
        text: s("text"),
        children: elements_of_json(v.get("children")),
    })
}

fn elements_of_json(v: Option<&Value>) -> Vec<ExtensionElement> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(extension_of_json).collect())
        .unwrap_or_default()
}

/// Rebuilds the events of `rows` in the order of `ids` (ids without a row are left out).
pub fn events(rows: EventRows, ids: &[i64]) -> Vec<Event> {
    use std::collections::HashMap;
    let mut epcs: HashMap<i64, Vec<StoredEpc>> = HashMap::new();
    for r in rows.epcs {
        epcs.entry(r.event_id).or_default().push(r);
    }
    let mut parties: HashMap<i64, Vec<_>> = HashMap::new();
    for r in rows.parties {
        parties.entry(r.event_id).or_default().push(r);
    }
    let mut ilmd: HashMap<i64, _> = rows.ilmd.into_iter().map(|r| (r.event_id, r)).collect();
    let mut by_id: HashMap<i64, StoredEvent> = rows.events.into_iter().map(|e| (e.id, e)).collect();
    ids.iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let e = by_id.remove(id)?;
            let mut ev = event(e, i as u64, epcs.remove(id).unwrap_or_default());
            for p in parties.remove(id).unwrap_or_default() {
                match PartyKind::from_code(p.kind) {
                    None => ev.biz_transactions.push(BizTransaction {
                        transaction_type: term(Vocab::BizTransactionType, &p.kind_type),
                        id: p.value,
                    }),
                    Some(kind) => {
                        let sd = SourceDest {
                            sd_type: term(Vocab::SourceDestType, &p.kind_type)
                                .unwrap_or_else(|| CbvTerm::Other(String::new())),
                            id: uri_of_key(&p.value),
                        };
                        if kind == PartyKind::Source {
                            ev.sources.push(sd);
                        } else {
                            ev.destinations.push(sd);
                        }
                    }
                }
            }
            if let Some(m) = ilmd.remove(id) {
                ev.ilmd = Ilmd {
                    lot_number: m.lot.clone(),
                    lot_source: None,
                    lot: m
                        .lot
                        .as_deref()
                        .and_then(|l| crate::gs1::Lot::parse(l).ok()),
                    item_expiration_date: m.expiry,
                    expiry: None,
                    elements: elements_of_json(m.other.as_ref()),
                };
            }
            Some(ev)
        })
        .collect()
}

fn event(e: StoredEvent, index: u64, epcs: Vec<StoredEpc>) -> Event {
    let event_type = EventType::from_code(e.event_type).unwrap_or(EventType::Quantity);
    let mut ev = Event::new(event_type, index, Position::default());
    ev.event_time = Some(timestamp(e.event_time, Some(&e.event_time_zone_offset)));
    ev.record_time = Some(timestamp(e.record_time, None));
    ev.event_time_zone_offset = Some(e.event_time_zone_offset);
    ev.hash_id = crate::epcis::hash::hash_id_of_digest(&e.event_hash);
    // Every event served has an eventID: the sender's, else its hash id (the CBV 2.0 event
    // hash leaves eventID out, so this changes no hash), which `GET /events/{eventID}` finds.
    ev.event_id = e.event_id.or_else(|| ev.hash_id.clone());
    ev.action = e.action.as_deref().and_then(Action::parse);
    ev.transformation_id = e.transformation_id;
    ev.biz_step = term(Vocab::BizStep, &e.biz_step);
    ev.disposition = term(Vocab::Disposition, &e.disposition);
    ev.read_point = e.read_point.as_deref().map(uri_of_key);
    ev.biz_location = e.biz_location.as_deref().map(uri_of_key);
    if let Some(p) = &e.persistent_disposition {
        let terms = |k: &str| {
            p.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(|s| cbv::normalise(Vocab::Disposition, s).term)
                        .collect()
                })
                .unwrap_or_default()
        };
        ev.persistent_disposition = Some(PersistentDisposition {
            set: terms("set"),
            unset: terms("unset"),
        });
    }
    if let Some(x) = &e.extensions {
        ev.extensions = elements_of_json(x.get("extensions"));
        ev.sensor_elements = elements_of_json(x.get("sensorElementList"));
        ev.read_point_extensions = elements_of_json(x.get("readPointExtensions"));
        ev.biz_location_extensions = elements_of_json(x.get("bizLocationExtensions"));
        ev.certification_info = x
            .get("certificationInfo")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
    }
    if let Some(t) = e.declaration_time {
        ev.error_declaration = Some(ErrorDeclaration {
            declaration_time: Some(timestamp(t, None)),
            reason: term(Vocab::ErrorReason, &e.declaration_reason),
            corrective_event_ids: e
                .corrective_event_ids
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect(),
            extensions: Vec::new(),
        });
    }
    for r in epcs {
        let (uri, id, class) = identifier(&r);
        let role = EpcRole::from_code(r.role).unwrap_or(EpcRole::Output);
        if class {
            let q = QuantityElement {
                epc_class: uri,
                quantity: r.quantity,
                uom: r.uom,
            };
            match role {
                EpcRole::Epc => ev.quantity_list.push(q),
                EpcRole::Child => ev.child_quantity_list.push(q),
                EpcRole::Input => ev.input_quantity_list.push(q),
                _ => ev.output_quantity_list.push(q),
            }
        } else {
            // A key that is no GS1 identifier was stored as given: the writers classify it.
            let id = id.or_else(|| crate::gs1::classify(&uri).ok());
            ev.push_epc(role, uri, id);
        }
    }
    ev
}
