//! JSON-LD output: well-formed JSON of the EPCIS 2.0 shape (our own checks: the GS1 JSON
//! Schema is not ours to ship, see schemas/README.md), and the same meaning: each event,
//! read back from the JSON with the small test-only JSON → model mapping below, has the CBV
//! 2.0 hash of the event captured. The mapping is itself checked against the JSON-LD twins of
//! the 2.0 XML fixtures (published by openepcis), which must give the XML twins' hashes.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::write::{hashes, option_sets, options, write_items, xml_fixtures};
use super::{fixture, read};
use crate::epcis::cbv::{normalise, Vocab};
use crate::epcis::hash::hash_id;
use crate::epcis::write::{CbvFormat, EpcFormat, Format, WriteOptions};
use crate::epcis::{
    Action, BizTransaction, ErrorDeclaration, Event, EventType, ExtensionElement,
    PersistentDisposition, Position, QuantityElement, SourceDest, Timestamp,
};

const GS1_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// Prefixes in scope: the GS1 context's own and those declared in `@context` objects.
#[derive(Clone)]
struct Context(HashMap<String, String>);

impl Context {
    fn gs1() -> Self {
        let mut m = HashMap::new();
        m.insert("cbvmda".to_string(), "urn:epcglobal:cbv:mda".to_string());
        m.insert("gs1".to_string(), "https://gs1.org/voc/".to_string());
        Context(m)
    }

    /// This scope plus the declarations of `obj`'s `@context`, if any.
    fn with(&self, obj: &Map<String, Value>) -> Self {
        let mut c = self.clone();
        let mut add = |v: &Value| {
            if let Value::Object(m) = v {
                for (k, v) in m {
                    if let Value::String(ns) = v {
                        c.0.insert(k.clone(), ns.clone());
                    }
                }
            }
        };
        match obj.get("@context") {
            Some(Value::Array(a)) => a.iter().for_each(&mut add),
            Some(v) => add(v),
            None => {}
        }
        c
    }

    fn split(&self, key: &str) -> Option<(String, String, String)> {
        let (p, local) = key.split_once(':')?;
        let ns = self.0.get(p)?;
        Some((ns.clone(), p.to_string(), local.to_string()))
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().map(|f| f.to_string()).unwrap_or_default(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => panic!("not a scalar: {other}"),
    }
}

/// `"prefix:name": value` as elements (an array gives one element per entry).
fn elements(key: &str, v: &Value, ctx: &Context) -> Vec<ExtensionElement> {
    let (namespace, prefix, local_name) = ctx
        .split(key)
        .unwrap_or_else(|| (String::new(), String::new(), key.to_string()));
    let one = |v: &Value| {
        let mut el = ExtensionElement {
            namespace: namespace.clone(),
            prefix: prefix.clone(),
            local_name: local_name.clone(),
            ..Default::default()
        };
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    el.children.extend(elements(k, v, ctx));
                }
            }
            other => el.text = text(other).trim().to_string(),
        }
        el
    };
    match v {
        Value::Array(a) => a.iter().map(one).collect(),
        other => vec![one(other)],
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(text).collect(),
        other => vec![text(other)],
    }
}

fn timestamp(v: &Value) -> Timestamp {
    let t = text(v);
    Timestamp {
        value: crate::epcis::values::parse_date_time(&t)
            .ok()
            .map(|p| p.value),
        text: t,
    }
}

fn quantities(v: &Value) -> Vec<QuantityElement> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|q| QuantityElement {
            epc_class: text(&q["epcClass"]),
            quantity: q.get("quantity").and_then(Value::as_f64),
            uom: q.get("uom").map(text),
        })
        .collect()
}

/// sensorMetadata / sensorReport: members as attributes, `type` words as `gs1:` CURIEs.
fn sensor_part(name: &str, v: &Value, ctx: &Context) -> ExtensionElement {
    let mut el = ExtensionElement {
        local_name: name.to_string(),
        ..Default::default()
    };
    for (k, v) in v.as_object().unwrap() {
        if ctx.split(k).is_some() {
            el.children.extend(elements(k, v, ctx));
            continue;
        }
        let mut t = text(v);
        if (k == "type" || k == "exception") && !t.contains(':') {
            t = format!("gs1:{t}");
        }
        el.attributes.push((k.clone(), t));
    }
    el
}

fn sensor_element(v: &Value, ctx: &Context) -> ExtensionElement {
    let m = v.as_object().unwrap();
    let ctx = ctx.with(m);
    let mut el = ExtensionElement {
        local_name: "sensorElement".into(),
        ..Default::default()
    };
    for (k, v) in m {
        match k.as_str() {
            "sensorMetadata" => el.children.push(sensor_part(k, v, &ctx)),
            "sensorReport" => {
                for r in v.as_array().unwrap() {
                    el.children.push(sensor_part(k, r, &ctx));
                }
            }
            _ => el.children.extend(elements(k, v, &ctx)),
        }
    }
    el
}

/// One JSON-LD event in the model (what a JSON-LD reader would make of it, enough to hash).
fn event_from_json(v: &Value, doc: &Context) -> Event {
    let m = v.as_object().expect("an event is an object");
    let ctx = doc.with(m);
    let ty = EventType::from_name(m["type"].as_str().unwrap()).unwrap();
    let mut ev = Event::new(ty, 0, Position::default());
    let cbv = |vocab, v: &Value| normalise(vocab, &text(v)).term;
    for (k, v) in m {
        match k.as_str() {
            "@context" | "type" | "recordTime" => {}
            "eventTime" => ev.event_time = Some(timestamp(v)),
            "eventTimeZoneOffset" => ev.event_time_zone_offset = Some(text(v)),
            "certificationInfo" => ev.certification_info = strings(v),
            "eventID" => ev.event_id = Some(text(v)),
            "errorDeclaration" => {
                let mut d = ErrorDeclaration::default();
                for (k, v) in v.as_object().unwrap() {
                    match k.as_str() {
                        "declarationTime" => d.declaration_time = Some(timestamp(v)),
                        "reason" => d.reason = Some(cbv(Vocab::ErrorReason, v)),
                        "correctiveEventIDs" => d.corrective_event_ids = strings(v),
                        _ => d.extensions.extend(elements(k, v, &ctx)),
                    }
                }
                ev.error_declaration = Some(d);
            }
            "parentID" => ev.parent_id = Some(text(v)),
            "epcList" => ev.epc_list = strings(v),
            "childEPCs" => ev.child_epcs = strings(v),
            "inputEPCList" => ev.input_epcs = strings(v),
            "outputEPCList" => ev.output_epcs = strings(v),
            "quantityList" => ev.quantity_list = quantities(v),
            "childQuantityList" => ev.child_quantity_list = quantities(v),
            "inputQuantityList" => ev.input_quantity_list = quantities(v),
            "outputQuantityList" => ev.output_quantity_list = quantities(v),
            "epcClass" => {
                if ev.quantity_list.is_empty() {
                    ev.quantity_list.push(QuantityElement::default());
                }
                ev.quantity_list[0].epc_class = text(v);
            }
            "quantity" => {
                if ev.quantity_list.is_empty() {
                    ev.quantity_list.push(QuantityElement::default());
                }
                ev.quantity_list[0].quantity = v.as_f64();
            }
            "action" => ev.action = Action::parse(&text(v)),
            "transformationID" => ev.transformation_id = Some(text(v)),
            "bizStep" => ev.biz_step = Some(cbv(Vocab::BizStep, v)),
            "disposition" => ev.disposition = Some(cbv(Vocab::Disposition, v)),
            "persistentDisposition" => {
                let mut pd = PersistentDisposition::default();
                if let Some(s) = v.get("set") {
                    pd.set = strings(s)
                        .iter()
                        .map(|t| normalise(Vocab::Disposition, t).term)
                        .collect();
                }
                if let Some(s) = v.get("unset") {
                    pd.unset = strings(s)
                        .iter()
                        .map(|t| normalise(Vocab::Disposition, t).term)
                        .collect();
                }
                ev.persistent_disposition = Some(pd);
            }
            "readPoint" | "bizLocation" => {
                let mut ext = Vec::new();
                let mut id = None;
                for (k, v) in v.as_object().unwrap() {
                    if k == "id" {
                        id = Some(text(v));
                    } else {
                        ext.extend(elements(k, v, &ctx));
                    }
                }
                if k == "readPoint" {
                    ev.read_point = id;
                    ev.read_point_extensions = ext;
                } else {
                    ev.biz_location = id;
                    ev.biz_location_extensions = ext;
                }
            }
            "bizTransactionList" => {
                for bt in v.as_array().unwrap() {
                    ev.biz_transactions.push(BizTransaction {
                        transaction_type: bt.get("type").map(|t| cbv(Vocab::BizTransactionType, t)),
                        id: text(&bt["bizTransaction"]),
                    });
                }
            }
            "sourceList" | "destinationList" => {
                let item = if k == "sourceList" {
                    "source"
                } else {
                    "destination"
                };
                for sd in v.as_array().unwrap() {
                    let sd = SourceDest {
                        sd_type: cbv(Vocab::SourceDestType, &sd["type"]),
                        id: text(&sd[item]),
                    };
                    if item == "source" {
                        ev.sources.push(sd);
                    } else {
                        ev.destinations.push(sd);
                    }
                }
            }
            "sensorElementList" => {
                for s in v.as_array().unwrap() {
                    ev.sensor_elements.push(sensor_element(s, &ctx));
                }
            }
            "ilmd" => {
                for (k, v) in v.as_object().unwrap() {
                    ev.ilmd.elements.extend(elements(k, v, &ctx));
                }
            }
            _ => {
                assert!(
                    ctx.split(k).is_some(),
                    "event member `{k}` is neither EPCIS nor a declared prefix"
                );
                ev.extensions.extend(elements(k, v, &ctx));
            }
        }
    }
    ev
}

fn json_hashes(doc: &Value) -> Vec<String> {
    let ctx = Context::gs1().with(doc.as_object().unwrap());
    doc["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| hash_id(&event_from_json(e, &ctx)))
        .collect()
}

fn parse(bytes: &[u8]) -> Value {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", String::from_utf8_lossy(bytes)))
}

/// The shape the EPCIS 2.0 JSON binding gives a document.
fn check_shape(label: &str, doc: &Value) {
    let ctx = doc["@context"].as_array().expect("@context array");
    assert_eq!(ctx[0], GS1_CONTEXT, "{label}");
    assert_eq!(doc["type"], "EPCISDocument", "{label}");
    assert_eq!(doc["schemaVersion"], "2.0", "{label}");
    assert!(doc["creationDate"].is_string(), "{label}");
    let offset = |s: &str| {
        let b = s.as_bytes();
        b.len() == 6
            && (b[0] == b'+' || b[0] == b'-')
            && b[1..3].iter().all(u8::is_ascii_digit)
            && b[3] == b':'
            && b[4..].iter().all(u8::is_ascii_digit)
    };
    if let Some(md) = doc
        .get("epcisHeader")
        .and_then(|h| h.get("epcisMasterData"))
    {
        for v in md["vocabularyList"].as_array().unwrap() {
            assert!(v["type"].is_string(), "{label}");
            for e in v["vocabularyElementList"].as_array().unwrap() {
                assert!(e["id"].is_string(), "{label}");
            }
        }
    }
    for ev in doc["epcisBody"]["eventList"].as_array().expect("eventList") {
        let ty = ev["type"].as_str().expect("type");
        assert!(EventType::from_name(ty).is_some(), "{label}: {ty}");
        assert!(ev["eventTime"].is_string(), "{label}");
        assert!(
            ev["eventTimeZoneOffset"].as_str().is_some_and(offset),
            "{label}"
        );
        if ty != "TransformationEvent" && ty != "QuantityEvent" {
            assert!(
                matches!(ev["action"].as_str(), Some("ADD" | "OBSERVE" | "DELETE")),
                "{label}"
            );
        }
        for list in ["epcList", "childEPCs", "inputEPCList", "outputEPCList"] {
            if let Some(l) = ev.get(list) {
                assert!(
                    l.as_array().unwrap().iter().all(Value::is_string),
                    "{label}"
                );
            }
        }
        match ty {
            "ObjectEvent" | "TransactionEvent" => assert!(ev["epcList"].is_array(), "{label}"),
            "AggregationEvent" => assert!(ev["childEPCs"].is_array(), "{label}"),
            _ => {}
        }
        if ty == "TransactionEvent" {
            assert!(!ev["bizTransactionList"].as_array().unwrap().is_empty());
        }
        for bt in ev
            .get("bizTransactionList")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            assert!(bt["bizTransaction"].is_string(), "{label}");
        }
        for (list, item) in [("sourceList", "source"), ("destinationList", "destination")] {
            for sd in ev.get(list).and_then(Value::as_array).into_iter().flatten() {
                assert!(sd["type"].is_string() && sd[item].is_string(), "{label}");
            }
        }
        for rp in ["readPoint", "bizLocation"] {
            if let Some(v) = ev.get(rp) {
                assert!(v["id"].is_string(), "{label}");
            }
        }
        for q in [
            "quantityList",
            "childQuantityList",
            "inputQuantityList",
            "outputQuantityList",
        ] {
            for e in ev.get(q).and_then(Value::as_array).into_iter().flatten() {
                assert!(e["epcClass"].is_string(), "{label}");
                if let Some(n) = e.get("quantity") {
                    assert!(n.is_number(), "{label}");
                }
            }
        }
    }
}

/// The hashes JSON-LD output must have: the events' own, but for event-level extension
/// elements of no namespace, which JSON-LD has no member for (left out and counted).
fn json_ld_hashes(original: &crate::epcis::tests::Outcome) -> Vec<String> {
    original
        .events()
        .iter()
        .map(|e| {
            if e.extensions.iter().all(|x| !x.namespace.is_empty()) {
                return e.hash_id.clone().expect("hashing is on");
            }
            let mut e = (*e).clone();
            e.extensions.retain(|x| !x.namespace.is_empty());
            crate::epcis::hash_id(&e)
        })
        .collect()
}

#[test]
fn every_fixture_written_as_json_ld_has_the_same_event_hashes() {
    let mut checked = 0;
    for name in xml_fixtures() {
        let original = read(&fixture(&name));
        for (epc, cbv) in option_sets() {
            let label = format!("{name} ({epc:?}, {cbv:?})");
            let out = write_items(&original.items, Format::JsonLd, options(epc, cbv));
            let doc = parse(&out);
            check_shape(&label, &doc);
            assert_eq!(
                json_ld_hashes(&original),
                json_hashes(&doc),
                "{label}\n{}",
                String::from_utf8_lossy(&out)
            );
            checked += 1;
        }
    }
    assert!(checked >= 17 * 4, "{checked}");
}

#[test]
fn the_json_ld_twins_of_the_xml_fixtures_give_the_xml_hashes() {
    // Checks the JSON → model mapping of these tests against JSON-LD someone else wrote.
    let dir = format!("{}/fixtures/epcis/epcis20json", env!("CARGO_MANIFEST_DIR"));
    let mut pairs = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let xml = read(&fixture(&format!("epcis20xml/{stem}.xml")));
        let json = parse(&fixture(&format!("epcis20json/{name}")));
        assert_eq!(hashes(&xml), json_hashes(&json), "{name}");
        pairs += 1;
    }
    assert!(pairs >= 5, "{pairs}");
}

#[test]
fn json_ld_writes_bare_cbv_words_and_digital_links_by_default() {
    let original = read(&fixture("epcis12/dscsa-gs1us-2.2.1.1-shipment.xml"));
    let doc = parse(&write_items(
        &original.items,
        Format::JsonLd,
        WriteOptions::default(),
    ));
    let events = doc["epcisBody"]["eventList"].as_array().unwrap();
    let first = &events[0];
    assert_eq!(first["bizStep"], "commissioning");
    assert_eq!(first["disposition"], "active");
    assert!(first["epcList"][0]
        .as_str()
        .unwrap()
        .starts_with("https://id.gs1.org/01/"));
    assert!(first["ilmd"]["cbvmda:lotNumber"].is_string(), "{first}");
    // The pseudo-SBDH fields and the GS1 US header extension, its prefix declared.
    assert!(
        doc["sender"].is_string() && doc["receiver"].is_string(),
        "{doc}"
    );
    let ctx = &doc["@context"][1];
    let prefix = ctx
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, ns)| *ns == "http://epcis.gs1us.org/hc/ns")
        .map(|(p, _)| p.clone())
        .expect("gs1ushc declared");
    assert!(doc["epcisHeader"][format!("{prefix}:dscsaTransactionStatement")].is_object());
    assert!(!doc["epcisHeader"]["epcisMasterData"]["vocabularyList"]
        .as_array()
        .unwrap()
        .is_empty());
    // URNs when asked.
    let doc = parse(&write_items(
        &original.items,
        Format::JsonLd,
        options(Some(EpcFormat::AlwaysEpcUrn), CbvFormat::AlwaysUrn),
    ));
    let first = &doc["epcisBody"]["eventList"][0];
    assert_eq!(first["bizStep"], "urn:epcglobal:cbv:bizstep:commissioning");
    assert!(first["epcList"][0]
        .as_str()
        .unwrap()
        .starts_with("urn:epc:id:sgtin:"));
}

#[test]
fn an_extension_namespace_is_declared_in_the_event_that_uses_it() {
    let original = read(&fixture(
        "epcis20xml/openepcis-ObjectEvent_with_error_declaration.xml",
    ));
    let doc = parse(&write_items(
        &original.items,
        Format::JsonLd,
        WriteOptions::default(),
    ));
    let ev = &doc["epcisBody"]["eventList"][1];
    let ctx = ev["@context"].as_object().expect("event @context");
    let (prefix, _) = ctx
        .iter()
        .find(|(_, ns)| *ns == "http://ns.example.com/epcis/")
        .unwrap();
    assert!(ev[format!("{prefix}:myField")].is_string(), "{ev}");
}
