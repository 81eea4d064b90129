//! Turns one parsed EPCIS event into the rows that store it and the effects it has on the
//! per-serial state. No database access here.

use chrono::{DateTime, Utc};

use super::fold::Change;
use crate::epcis::{Action, EpcRole, Event, EventType, ExtensionElement};
use crate::gs1::{self, Epc, Identifier};
use crate::store::capture::{
    BatchRows, BizTransactionRow, EpcRow, EventRow, IlmdRow, SourceDestRow,
};
use crate::store::codes::{Code, PartyKind, SerialKind, SerialStatus};

/// How an event changes the state of the serials it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Commission,
    Pack,
    Unpack,
    /// Status/disposition/owner/location change; `inherit`: also for everything inside.
    Transition {
        inherit: bool,
    },
    /// Inputs consumed (decommissioned), outputs commissioned.
    Transform,
    /// Stored, no state change (error declarations, association, quantity).
    None,
}

impl Op {
    /// The change an event of this kind makes to these identifiers (`None`: no state change;
    /// a packing without a parent changes nothing either).
    pub fn change<'a>(
        self,
        keys: &'a [&'a str],
        outputs: &'a [&'a str],
        parent: Option<&'a str>,
    ) -> Option<Change<'a>> {
        Some(match self {
            Op::Commission => Change::Commission(keys),
            Op::Pack => Change::Pack {
                parent: parent?,
                children: keys,
            },
            Op::Unpack => Change::Unpack { children: keys },
            Op::Transition { .. } => Change::Transition(keys),
            Op::Transform => Change::Transform {
                inputs: keys,
                outputs,
            },
            Op::None => return None,
        })
    }
}

/// The GCP-independent key of an identifier (see docs/ARCHITECTURE.md), with what the serial
/// table wants to know about it. `None` for identifiers the reader already refused.
pub struct Key {
    pub key: String,
    pub kind: SerialKind,
    pub gtin: Option<String>,
    pub serial: Option<String>,
    /// Class-level (LGTIN, GTIN pattern): has no serial state.
    pub class: bool,
}

pub fn key_of(uri: &str) -> Option<Key> {
    Some(key_of_identifier(uri, &gs1::classify(uri).ok()?))
}

/// The key of an identifier the reader has already parsed (`Event::epc_identifiers`).
pub fn key_of_identifier(uri: &str, id: &Identifier) -> Key {
    match id {
        Identifier::Opaque => Key {
            key: uri.to_string(),
            kind: SerialKind::Other,
            gtin: None,
            serial: None,
            class: false,
        },
        Identifier::Epc(epc) => {
            let key = epc.key();
            match epc {
                Epc::Sgtin(s) => Key {
                    key,
                    kind: SerialKind::Sgtin,
                    gtin: Some(s.gtin().as_str().to_string()),
                    serial: Some(s.serial().as_str().to_string()),
                    class: false,
                },
                Epc::Sscc(_) => Key {
                    key,
                    kind: SerialKind::Sscc,
                    gtin: None,
                    serial: None,
                    class: false,
                },
                Epc::Lgtin(_) | Epc::GtinClass(_) => Key {
                    key,
                    kind: SerialKind::Other,
                    gtin: None,
                    serial: None,
                    class: true,
                },
                _ => Key {
                    key,
                    kind: SerialKind::Other,
                    gtin: None,
                    serial: None,
                    class: false,
                },
            }
        }
    }
}

/// The status an event gives the serials it names (`None`: it leaves theirs as they are).
fn status_for(event: &Event) -> Option<SerialStatus> {
    status_of(
        event.action,
        event.biz_step.as_ref().map_or("", |s| s.as_str()),
    )
}

/// The status an event with this action and bizStep (its CBV short name) gives; also used
/// when events are replayed from the database.
pub fn status_of(action: Option<Action>, step: &str) -> Option<SerialStatus> {
    Some(match (action, step) {
        (Some(Action::Delete), "destroying") => SerialStatus::Destroyed,
        (Some(Action::Delete), _) => SerialStatus::Decommissioned,
        (_, "shipping" | "departing" | "consigning") => SerialStatus::Shipped,
        (_, "receiving" | "arriving" | "accepting") => SerialStatus::Received,
        (_, "dispensing" | "retail_selling") => SerialStatus::Dispensed,
        _ => return None,
    })
}

pub fn op_for(event: &Event) -> Op {
    if event.error_declaration.is_some() {
        return Op::None;
    }
    op_of(
        event.event_type,
        event.action,
        event.biz_step.as_ref().map_or("", |s| s.as_str()),
    )
}

/// The state change of an event of this type, action and bizStep.
pub fn op_of(event_type: EventType, action: Option<Action>, step: &str) -> Op {
    match (event_type, action) {
        (EventType::Object, Some(Action::Add)) => Op::Commission,
        (EventType::Object, Some(Action::Observe)) => Op::Transition { inherit: true },
        (EventType::Object, Some(Action::Delete)) => Op::Transition {
            // Destroying a case destroys what is in it; decommissioning its label does not.
            inherit: step == "destroying",
        },
        (EventType::Aggregation, Some(Action::Add)) => Op::Pack,
        (EventType::Aggregation, Some(Action::Delete)) => Op::Unpack,
        (EventType::Aggregation, Some(Action::Observe)) => Op::Transition { inherit: false },
        (EventType::Transaction, _) => Op::Transition { inherit: true },
        (EventType::Transformation, _) => Op::Transform,
        _ => Op::None,
    }
}

pub fn is_shipping(event: &Event) -> bool {
    event
        .biz_step
        .as_ref()
        .is_some_and(|s| s.as_str() == "shipping")
}

pub fn extension_json(e: &ExtensionElement) -> serde_json::Value {
    serde_json::json!({
        "ns": e.namespace,
        "name": e.local_name,
        "attributes": e.attributes,
        "text": e.text,
        "children": e.children.iter().map(extension_json).collect::<Vec<_>>(),
    })
}

/// How one event changes the per-serial state: identifiers as indexes into its `epcs` rows
/// (the keys are there once), and the values it sets.
#[derive(Debug, Default)]
pub struct Effect {
    /// Commission / Transition: the identifiers named; Pack / Unpack: the children;
    /// Transform: the inputs.
    pub keys: Vec<u32>,
    /// Pack / Unpack: the parent.
    pub parent: Option<u32>,
    /// Transform: the outputs.
    pub outputs: Vec<u32>,
    pub status: Option<SerialStatus>,
    pub lot: Option<String>,
    pub expiry: Option<chrono::NaiveDate>,
    pub disposition: Option<String>,
    pub owner: Option<String>,
    pub location: Option<String>,
}

/// Where an identifier goes in an event's state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// [`Effect::keys`]: what is commissioned, packed, unpacked, moved or transformed.
    Named,
    /// [`Effect::outputs`]: what a transformation makes.
    Output,
}

/// The side of the state change an identifier in `role` is on (`None`: it changes no state,
/// as the parentID of most events and every class-level identifier). Packing needs a parent.
pub fn effect_side(op: Op, has_parent: bool, role: EpcRole, class: bool) -> Option<Side> {
    if class {
        return None;
    }
    match (op, role) {
        (Op::Commission, EpcRole::Epc)
        | (Op::Unpack, EpcRole::Child)
        | (Op::Transition { .. }, EpcRole::Epc | EpcRole::Parent | EpcRole::Child)
        | (Op::Transform, EpcRole::Input) => Some(Side::Named),
        (Op::Pack, EpcRole::Child) if has_parent => Some(Side::Named),
        (Op::Transform, EpcRole::Output) => Some(Side::Output),
        _ => None,
    }
}

/// One event, ready to store.
pub struct Prepared {
    pub index: u64,
    pub line: u32,
    pub column: u32,
    pub op: Op,
    pub event_time: DateTime<Utc>,
    /// The UTC offset written in the eventTime, in seconds (east positive).
    pub stated_offset_secs: i32,
    pub digest: Vec<u8>,
    pub is_error_declaration: bool,
    pub shipping: bool,
    pub row: EventRow,
    pub epcs: Vec<EpcRow>,
    pub biz_transactions: Vec<BizTransactionRow>,
    pub sources_destinations: Vec<SourceDestRow>,
    pub ilmd: Option<IlmdRow>,
    pub effect: Effect,
    /// GTINs and location keys, for the master-data rules.
    pub gtins: Vec<String>,
    pub locations: Vec<String>,
    /// Identifiers listed twice in one list (stored once).
    pub repeated: Vec<String>,
    /// The lists the reader wrote to disk (a huge event): not in `epcs` nor in `effect`.
    pub spilled: Option<std::sync::Arc<crate::epcis::SpilledEpcs>>,
}

impl Prepared {
    /// The identifier key of an `Effect` index.
    pub fn key(&self, i: u32) -> &str {
        &self.epcs[i as usize].epc_key
    }

    /// EPC references this event holds, in memory or in its spill file (the reader's budget).
    pub fn in_flight(&self) -> usize {
        self.epcs.len() + self.spilled.as_ref().map_or(0, |s| s.len() as usize)
    }

    /// Moves the event's rows, with its id, to `rows`.
    pub fn into_rows(self, id: i64, rows: &mut BatchRows) {
        let mut row = self.row;
        row.id = id;
        rows.events.push(row);
        rows.epcs.extend(self.epcs.into_iter().map(|mut r| {
            r.event_id = id;
            r
        }));
        rows.biz_transactions
            .extend(self.biz_transactions.into_iter().map(|mut r| {
                r.event_id = id;
                r
            }));
        rows.sources_destinations
            .extend(self.sources_destinations.into_iter().map(|mut r| {
                r.event_id = id;
                r
            }));
        if let Some(mut i) = self.ilmd {
            i.event_id = id;
            rows.ilmd.push(i);
        }
    }

    /// How many identifiers the event's state change names.
    pub fn effect_len(&self) -> usize {
        self.effect.keys.len()
            + self.effect.outputs.len()
            + usize::from(self.effect.parent.is_some())
    }
}

/// Identifiers already listed in an event, by a 64-bit hash of (role, key) confirmed against the
/// stored key: no copy of every key (a huge event lists a million). A different key with the
/// same hash is let through untracked (and would only meet the database's own check).
struct Seen(std::collections::HashMap<(i16, u64), u32>);

impl Seen {
    fn with_capacity(n: usize) -> Seen {
        Seen(std::collections::HashMap::with_capacity(n))
    }

    /// Whether (role, key) is in `rows` already; if not, it is about to be pushed there.
    fn repeated(&mut self, role: i16, key: &str, rows: &[EpcRow]) -> bool {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
        match self.0.entry((role, h)) {
            std::collections::hash_map::Entry::Occupied(e) => {
                rows[*e.get() as usize].epc_key == key
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(rows.len() as u32);
                false
            }
        }
    }
}

/// One event, ready to store: its rows and its state change. `None` when the event cannot be
/// stored at all (no event time, unparseable identifiers): the reader has already reported
/// why.
pub fn prepare(event: &Event, document_id: uuid::Uuid) -> Option<Prepared> {
    let stated = event.event_time.as_ref()?.value?;
    let event_time = stated.with_timezone(&Utc);
    let hash_id = match &event.hash_id {
        Some(h) => h.clone(),
        None => crate::epcis::hash_id(event),
    };
    let digest = crate::epcis::hash::digest_of(&hash_id)?;
    let ids = Identifiers::of(event)?;
    let read_point = location_key(&event.read_point);
    let biz_location = location_key(&event.biz_location);
    let ilmd = ilmd_row(event);
    let op = op_for(event);
    let disposition = event.disposition.as_ref().map(|d| d.as_str().to_string());
    let effect = effect_of(
        event,
        op,
        &ids.keys,
        ilmd.as_ref(),
        disposition.clone(),
        biz_location.clone(),
    );
    let gtins = if matches!(op, Op::Commission | Op::Transform) {
        ids.gtins.into_iter().collect()
    } else {
        Vec::new()
    };
    let locations: Vec<String> = [&read_point, &biz_location]
        .into_iter()
        .flatten()
        .filter(|k| gs1::gln_of_key(k).is_some())
        .cloned()
        .collect();
    let places = Places {
        disposition,
        read_point,
        biz_location,
    };
    let row = event_row(event, document_id, event_time, digest.clone(), places);
    Some(Prepared {
        index: event.index,
        line: event.position.line,
        column: event.position.column,
        op,
        event_time,
        stated_offset_secs: stated.offset().local_minus_utc(),
        digest,
        is_error_declaration: event.error_declaration.is_some(),
        shipping: is_shipping(event),
        row,
        epcs: ids.epcs,
        biz_transactions: biz_transaction_rows(event),
        sources_destinations: source_destination_rows(event),
        ilmd,
        effect,
        gtins,
        locations,
        repeated: ids.repeated,
        spilled: event.spilled.clone(),
    })
}

/// The identifier rows of an event (those in memory: the lists of a spilled event are read
/// back by the capture), each (role, key) once.
struct Identifiers {
    epcs: Vec<EpcRow>,
    /// Identifiers listed twice in one list (stored once).
    repeated: Vec<String>,
    /// GTINs of the SGTINs.
    gtins: std::collections::BTreeSet<String>,
    /// (role, index into `epcs`, class-level) of the EPC lists (not the quantity lists).
    keys: Vec<(EpcRole, u32, bool)>,
}

impl Identifiers {
    /// `None` when a quantity list's class does not parse (the reader reported it).
    fn of(event: &Event) -> Option<Identifiers> {
        let in_memory = event.epc_count() - event.spilled.as_ref().map_or(0, |s| s.len() as usize);
        let mut ids = Identifiers {
            epcs: Vec::with_capacity(in_memory),
            repeated: Vec::new(),
            gtins: std::collections::BTreeSet::new(),
            keys: Vec::with_capacity(in_memory),
        };
        let mut seen = Seen::with_capacity(in_memory);
        for (role, uri, id) in event.epc_identifiers() {
            // Parsed once by the reader; `None` where it refused the identifier.
            let k = key_of_identifier(uri, &*id?);
            if seen.repeated(role.code(), &k.key, &ids.epcs) {
                ids.repeated.push(uri.to_string());
                continue;
            }
            ids.gtins.extend(k.gtin);
            ids.keys.push((role, ids.epcs.len() as u32, k.class));
            ids.epcs.push(EpcRow {
                event_id: 0,
                role: role.code(),
                epc_key: k.key,
                quantity: None,
                uom: None,
            });
        }
        for (role, list) in [
            (EpcRole::Epc, &event.quantity_list),
            (EpcRole::Child, &event.child_quantity_list),
            (EpcRole::Input, &event.input_quantity_list),
            (EpcRole::Output, &event.output_quantity_list),
        ] {
            for q in list {
                let k = key_of(&q.epc_class)?;
                if seen.repeated(role.code(), &k.key, &ids.epcs) {
                    ids.repeated.push(q.epc_class.clone());
                    continue;
                }
                ids.epcs.push(EpcRow {
                    event_id: 0,
                    role: role.code(),
                    epc_key: k.key,
                    quantity: q.quantity,
                    uom: q.uom.clone(),
                });
            }
        }
        Some(ids)
    }
}

/// The key of a readPoint or bizLocation. One the reader kept as given (not a URI, or a
/// malformed GS1 identifier: data-quality warnings EPCIS-I-004/I-005) is stored as given,
/// like parties.
fn location_key(uri: &Option<String>) -> Option<String> {
    uri.as_deref()
        .map(|u| key_of(u).map_or_else(|| u.to_string(), |k| k.key))
}

/// The key of a party (source, destination, owner), or the value as given.
fn party_key(id: &str) -> String {
    key_of(id).map(|k| k.key).unwrap_or_else(|| id.to_string())
}

fn biz_transaction_rows(event: &Event) -> Vec<BizTransactionRow> {
    event
        .biz_transactions
        .iter()
        .enumerate()
        .map(|(i, bt)| BizTransactionRow {
            event_id: 0,
            seq: i as i16,
            bt_type: bt.transaction_type.as_ref().map(|t| t.as_str().to_string()),
            bt_id: bt.id.clone(),
        })
        .collect()
}

/// Sources, then destinations, numbered in that order.
fn source_destination_rows(event: &Event) -> Vec<SourceDestRow> {
    event
        .sources
        .iter()
        .map(|s| (PartyKind::Source, s))
        .chain(
            event
                .destinations
                .iter()
                .map(|d| (PartyKind::Destination, d)),
        )
        .enumerate()
        .map(|(i, (kind, sd))| SourceDestRow {
            event_id: 0,
            seq: i as i16,
            kind: kind.code(),
            sd_type: sd.sd_type.as_str().to_string(),
            party: party_key(&sd.id),
        })
        .collect()
}

fn ilmd_row(event: &Event) -> Option<IlmdRow> {
    (!event.ilmd.is_empty()).then(|| IlmdRow {
        event_id: 0,
        lot: event
            .ilmd
            .lot
            .as_ref()
            .map(|l| l.as_str().to_string())
            .or_else(|| event.ilmd.lot_number.clone()),
        expiry: event
            .ilmd
            .expiry
            .as_ref()
            .map(|e| e.date())
            .or(event.ilmd.item_expiration_date),
        other: (!event.ilmd.elements.is_empty()).then(|| {
            serde_json::Value::Array(event.ilmd.elements.iter().map(extension_json).collect())
        }),
    })
}

/// What the event does to the state of the serials it names (`keys`: its EPC lists, as
/// [`Identifiers::keys`]).
fn effect_of(
    event: &Event,
    op: Op,
    keys: &[(EpcRole, u32, bool)],
    ilmd: Option<&IlmdRow>,
    disposition: Option<String>,
    location: Option<String>,
) -> Effect {
    let owner = event
        .destinations
        .iter()
        .find(|d| d.sd_type.as_str() == "owning_party")
        .map(|d| party_key(&d.id));
    let parent = keys
        .iter()
        .find(|(r, _, _)| *r == EpcRole::Parent)
        .map(|(_, i, _)| *i);
    let mut effect = Effect {
        status: status_for(event),
        lot: ilmd.and_then(|i| i.lot.clone()),
        expiry: ilmd.and_then(|i| i.expiry),
        disposition,
        owner,
        location,
        ..Effect::default()
    };
    if matches!(op, Op::Pack | Op::Unpack) {
        effect.parent = parent;
    }
    for &(role, i, class) in keys {
        match effect_side(op, parent.is_some(), role, class) {
            Some(Side::Named) => effect.keys.push(i),
            Some(Side::Output) => effect.outputs.push(i),
            None => {}
        }
    }
    effect
}

/// The extension elements, certification info, sensor data and location extensions an
/// event carries, as one JSON object (`None`: it carries none).
fn extensions_of(event: &Event) -> Option<serde_json::Value> {
    let mut extensions = serde_json::Map::new();
    if !event.extensions.is_empty() {
        extensions.insert(
            "extensions".into(),
            event.extensions.iter().map(extension_json).collect(),
        );
    }
    if !event.certification_info.is_empty() {
        extensions.insert(
            "certificationInfo".into(),
            event.certification_info.clone().into(),
        );
    }
    if !event.sensor_elements.is_empty() {
        extensions.insert(
            "sensorElementList".into(),
            event.sensor_elements.iter().map(extension_json).collect(),
        );
    }
    if !event.read_point_extensions.is_empty() || !event.biz_location_extensions.is_empty() {
        extensions.insert(
            "readPointExtensions".into(),
            event
                .read_point_extensions
                .iter()
                .map(extension_json)
                .collect(),
        );
        extensions.insert(
            "bizLocationExtensions".into(),
            event
                .biz_location_extensions
                .iter()
                .map(extension_json)
                .collect(),
        );
    }
    (!extensions.is_empty()).then_some(serde_json::Value::Object(extensions))
}

/// The disposition and the keys of the places of an event, as its row stores them.
struct Places {
    disposition: Option<String>,
    read_point: Option<String>,
    biz_location: Option<String>,
}

fn event_row(
    event: &Event,
    document_id: uuid::Uuid,
    event_time: DateTime<Utc>,
    digest: Vec<u8>,
    places: Places,
) -> EventRow {
    let declaration = event.error_declaration.as_ref();
    EventRow {
        id: 0,
        document_id,
        seq: event.index as i32,
        event_type: event.event_type.code(),
        action: event.action.map(|a| a.as_str().to_string()),
        event_time,
        event_time_zone_offset: event
            .event_time_zone_offset
            .clone()
            .unwrap_or_else(|| "+00:00".into()),
        event_id: event.event_id.clone(),
        event_hash: digest,
        biz_step: event.biz_step.as_ref().map(|s| s.as_str().to_string()),
        disposition: places.disposition,
        read_point: places.read_point,
        biz_location: places.biz_location,
        transformation_id: event.transformation_id.clone(),
        persistent_disposition: event.persistent_disposition.as_ref().map(|p| {
            serde_json::json!({
                "set": p.set.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                "unset": p.unset.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            })
        }),
        error_declaration_time: declaration
            .and_then(|d| d.declaration_time.as_ref())
            .and_then(|t| t.value)
            .map(|t| t.with_timezone(&Utc)),
        error_reason: declaration
            .and_then(|d| d.reason.as_ref())
            .map(|r| r.as_str().to_string()),
        corrective_event_ids: declaration
            .map(|d| d.corrective_event_ids.iter().cloned().map(Some).collect()),
        extensions: extensions_of(event),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_do_not_depend_on_the_company_prefix_length_or_the_form() {
        let urn = key_of("urn:epc:id:sgtin:0361414.012345.SN1").unwrap();
        let dl = key_of("https://id.gs1.org/01/00361414123458/21/SN1").unwrap();
        assert_eq!(urn.key, "010036141412345821SN1");
        assert_eq!(urn.key, dl.key);
        assert_eq!(
            (urn.kind, urn.gtin.as_deref()),
            (SerialKind::Sgtin, Some("00361414123458"))
        );
        let opaque = key_of("urn:example:thing:1").unwrap();
        assert_eq!(
            (opaque.key.as_str(), opaque.kind),
            ("urn:example:thing:1", SerialKind::Other)
        );
        assert!(key_of("urn:epc:id:sgtin:0361414.012345").is_none());
    }

    #[test]
    fn hash_ids_parse_to_their_digest() {
        let id = "ni:///sha-256;6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7?ver=CBV2.0";
        let d = crate::epcis::hash::digest_of(id).unwrap();
        assert_eq!(d.len(), 32);
        assert_eq!(d[0], 0x6a);
        assert!(crate::epcis::hash::digest_of("ni:///sha-256;zz?ver=CBV2.0").is_none());
    }
}
