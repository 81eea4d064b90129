//! The JSON-LD reader: the JSON-LD twins of the 2.0 XML fixtures give the XML twins' events
//! and hashes; every fixture written as JSON-LD by our writer reads back with its hashes; the
//! GS1 hash reference example; errors with paths and positions; limits (depth, EPCs, spill).

use super::write::{hashes, option_sets, options, write_items, xml_fixtures};
use super::{fixture, read, read_with, Outcome};
use crate::epcis::diagnostics::rules;
use crate::epcis::write::Format;
use crate::epcis::{detect_format, BodyFormat, EpcisReader, Item, Limits, Severity, SpillOptions};

fn rejects(out: &Outcome) -> Vec<String> {
    out.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Reject)
        .map(|d| d.to_string())
        .collect()
}

/// A JSON-LD document around `events` (the members of eventList).
fn doc(events: &str) -> Vec<u8> {
    format!(
        r#"{{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{{"ex":"https://ns.example.com/epcis/"}}],
"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2025-05-01T15:00:00Z",
"epcisBody":{{"eventList":[
{events}
]}}}}"#
    )
    .into_bytes()
}

const EVENT: &str = r#"{"type":"ObjectEvent","eventTime":"2025-04-20T08:00:00.000-05:00","eventTimeZoneOffset":"-05:00",
 "epcList":["urn:epc:id:sgtin:0312345.067890.S1001","https://id.gs1.org/01/00312345678906/21/S1002"],
 "action":"ADD","bizStep":"commissioning","disposition":"active",
 "readPoint":{"id":"urn:epc:id:sgln:0312345.00001.0"},
 "ilmd":{"cbvmda:lotNumber":"LOT42","cbvmda:itemExpirationDate":"2027-06-30"}}"#;

#[test]
fn the_json_ld_twins_read_as_the_xml_twins_events_with_their_hashes() {
    let dir = format!("{}/fixtures/epcis/epcis20json", env!("CARGO_MANIFEST_DIR"));
    let mut pairs = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let xml = read(&fixture(&format!("epcis20xml/{stem}.xml")));
        let json = read(&fixture(&format!("epcis20json/{name}")));
        assert!(json.error.is_none(), "{name}: {:?}", json.error);
        assert_eq!(rejects(&json), Vec::<String>::new(), "{name}");
        assert_eq!(hashes(&xml), hashes(&json), "{name}");
        for (x, j) in xml.events().iter().zip(json.events()) {
            assert_eq!(x.epc_list, j.epc_list, "{name}");
            assert_eq!(x.child_epcs, j.child_epcs, "{name}");
            assert_eq!(x.biz_step, j.biz_step, "{name}");
            assert_eq!(x.disposition, j.disposition, "{name}");
            assert_eq!(x.biz_transactions, j.biz_transactions, "{name}");
            assert_eq!(x.sources, j.sources, "{name}");
            assert_eq!(x.quantity_list, j.quantity_list, "{name}");
        }
        pairs += 1;
    }
    assert!(pairs >= 7, "{pairs}");
}

#[test]
fn the_gs1_reference_example_in_json_ld_has_the_reference_hash() {
    let json = read(&fixture("hash/ReferenceEventHashAlgorithm.jsonld"));
    assert!(json.error.is_none(), "{:?}", json.error);
    let expected = String::from_utf8(fixture("hash/ReferenceEventHashAlgorithm.hashes")).unwrap();
    assert_eq!(hashes(&json), vec![expected.trim().to_string()]);
}

/// The hashes JSON-LD output keeps: the events' own, but for event-level extension elements
/// of no namespace (JSON-LD has no member for them; the writer leaves them out and counts).
fn kept_hashes(original: &Outcome) -> Vec<String> {
    original
        .events()
        .iter()
        .map(|e| {
            let mut e = (*e).clone();
            e.extensions.retain(|x| !x.namespace.is_empty());
            crate::epcis::hash_id(&e)
        })
        .collect()
}

#[test]
fn every_fixture_written_as_json_ld_reads_back_with_the_same_hashes_and_no_new_findings() {
    let mut checked = 0;
    for name in xml_fixtures() {
        let original = read(&fixture(&name));
        for (epc, cbv) in option_sets() {
            let label = format!("{name} ({epc:?}, {cbv:?})");
            let out = write_items(&original.items, Format::JsonLd, options(epc, cbv));
            assert_eq!(detect_format(&out), BodyFormat::Json);
            let back = read(&out);
            assert!(back.error.is_none(), "{label}: {:?}", back.error);
            assert_eq!(kept_hashes(&original), hashes(&back), "{label}");
            // A finding of the JSON is one the original had too (the writer adds none).
            let before = original.rule_ids();
            for d in &back.diagnostics {
                assert!(
                    before.contains(&d.rule) || d.rule == rules::JSON_CONTEXT.id,
                    "{label}: new finding {d}\n{}",
                    String::from_utf8_lossy(&out)
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 17 * 4, "{checked}");
}

#[test]
fn a_json_ld_event_reads_into_the_model_with_lot_expiry_and_identifiers() {
    let out = read(&doc(EVENT));
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(rejects(&out), Vec::<String>::new());
    let ev = out.events()[0];
    assert_eq!(ev.ilmd.lot_number.as_deref(), Some("LOT42"));
    assert!(ev.ilmd.expiry.is_some());
    assert_eq!(ev.epc_list.len(), 2);
    let keys: Vec<_> = ev
        .epc_identifiers()
        .map(|(_, _, id)| id.map(|i| i.into_owned()))
        .collect();
    assert!(keys.iter().all(|k| k.is_some()));
    assert!(matches!(out.items[0], Item::DocumentStart(_)));
    assert!(matches!(out.items.last(), Some(Item::End)));
    // The same event in XML has the same hash.
    let xml = read(&super::doc20(
        r#"<ObjectEvent><eventTime>2025-04-20T08:00:00.000-05:00</eventTime><eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
<epcList><epc>urn:epc:id:sgtin:0312345.067890.S1001</epc><epc>https://id.gs1.org/01/00312345678906/21/S1002</epc></epcList>
<action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><disposition>urn:epcglobal:cbv:disp:active</disposition>
<readPoint><id>urn:epc:id:sgln:0312345.00001.0</id></readPoint>
<ilmd><cbvmda:lotNumber>LOT42</cbvmda:lotNumber><cbvmda:itemExpirationDate>2027-06-30</cbvmda:itemExpirationDate></ilmd></ObjectEvent>"#,
    ));
    assert_eq!(hashes(&xml), hashes(&out));
}

#[test]
fn members_may_come_in_any_order_and_extensions_expand_through_the_context() {
    let ev = r#"{"ex:note":{"ex:a":"1","ex:b":["2","3"]},"action":"OBSERVE","epcList":["urn:epc:id:sscc:0312345.0000000001"],
      "eventTimeZoneOffset":"+00:00","bizStep":"urn:epcglobal:cbv:bizstep:shipping","eventTime":"2025-04-20T08:00:00Z","type":"ObjectEvent"}"#;
    let out = read(&doc(ev));
    assert_eq!(rejects(&out), Vec::<String>::new());
    let e = out.events()[0];
    assert_eq!(e.biz_step.as_ref().map(|s| s.as_str()), Some("shipping"));
    let x = &e.extensions[0];
    assert_eq!(
        (x.namespace.as_str(), x.local_name.as_str()),
        ("https://ns.example.com/epcis/", "note")
    );
    assert_eq!(x.children.len(), 3);
}

/// The one finding of `rule` in a read of `json`.
fn finding(json: &[u8], rule: &str) -> crate::epcis::Diagnostic {
    let out = read(json);
    let found: Vec<_> = out
        .diagnostics
        .iter()
        .filter(|d| d.rule == rule)
        .cloned()
        .collect();
    assert!(
        !found.is_empty(),
        "no {rule} in {:?} / {:?}",
        out.diagnostics,
        out.error
    );
    found[0].clone()
}

#[test]
fn a_bad_epc_is_reported_with_its_json_path_and_line_and_column() {
    let ev = "{\"type\":\"ObjectEvent\",\"eventTime\":\"2025-04-20T08:00:00Z\",\"eventTimeZoneOffset\":\"+00:00\",\"action\":\"OBSERVE\",\n\"epcList\":[\"urn:epc:id:sgtin:0312345.067890.S1\",\n  \"urn:epc:id:sgtin:0312345.06789.S2\"]}";
    let d = finding(&doc(&format!("{EVENT},{ev}")), rules::IDENTIFIER.id);
    assert!(
        d.message.contains("epcisBody.eventList[1].epcList[1]"),
        "{d}"
    );
    assert_eq!(d.event_index, Some(1));
    assert_eq!((d.line, d.column), (10, 3), "{d}");
}

#[test]
fn wrong_json_types_are_reported_and_reading_goes_on() {
    let ev = r#"{"type":"ObjectEvent","eventTime":"2025-04-20T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE",
      "epcList":"urn:epc:id:sgtin:0312345.067890.S1","quantityList":[{"epcClass":"urn:epc:class:lgtin:0312345.067890.L1","quantity":"5"}]}"#;
    let out = read(&doc(&format!("{ev},{EVENT}")));
    assert!(out.error.is_none());
    let types: Vec<_> = out
        .diagnostics
        .iter()
        .filter(|d| d.rule == rules::JSON_TYPE.id)
        .collect();
    assert_eq!(types.len(), 2, "{:?}", out.diagnostics);
    assert!(
        types[0].message.contains("epcisBody.eventList[0].epcList"),
        "{}",
        types[0]
    );
    assert!(
        types[0].message.contains("expected an array"),
        "{}",
        types[0]
    );
    assert_eq!(out.events().len(), 2);
}

#[test]
fn an_unknown_event_type_is_refused_with_its_name() {
    let ev = r#"{"type":"ShippingEvent","eventTime":"2025-04-20T08:00:00Z","eventTimeZoneOffset":"+00:00"}"#;
    let out = read(&doc(&format!("{ev},{EVENT}")));
    let d = out
        .diagnostics
        .iter()
        .find(|d| d.rule == rules::UNEXPECTED.id)
        .expect("reported");
    assert!(
        d.message.contains("ShippingEvent") && d.message.contains("eventList[0].type"),
        "{d}"
    );
    assert_eq!(out.events().len(), 1, "only the known event");
}

#[test]
fn an_undeclared_prefix_and_an_unknown_member_are_refused() {
    let ev = r#"{"type":"ObjectEvent","eventTime":"2025-04-20T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE",
      "epcList":[],"nope:field":"x","colour":"red"}"#;
    let out = read(&doc(ev));
    let msgs: Vec<_> = out
        .diagnostics
        .iter()
        .filter(|d| d.rule == rules::UNEXPECTED.id)
        .map(|d| d.message.clone())
        .collect();
    assert!(msgs.iter().any(|m| m.contains("prefix `nope`")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("`colour`")), "{msgs:?}");
}

#[test]
fn truncated_and_malformed_json_end_with_a_syntax_error_at_its_position() {
    let full = doc(EVENT);
    for cut in [10, full.len() / 2, full.len() - 3] {
        let out = read(&full[..cut]);
        let e = out.error.expect("an error");
        assert_eq!(e.code, rules::JSON_SYNTAX.id, "{cut}: {e}");
        assert!(
            e.message.contains("truncated") || e.message.contains("expected"),
            "{e}"
        );
    }
    let bad = String::from_utf8(doc(EVENT))
        .unwrap()
        .replace("\"action\":", "\"action\" ");
    let e = read(bad.as_bytes()).error.expect("an error");
    assert_eq!(e.code, rules::JSON_SYNTAX.id);
    assert!(
        e.message.contains("expected `:`") && e.message.contains("eventList[0]"),
        "{e}"
    );
    assert_eq!(e.line, 6, "{e}");
    let e = read(b"[{\"type\":\"EPCISDocument\"}]")
        .error
        .expect("an error");
    assert_eq!(e.code, rules::ROOT.id);
    let mut trailing = doc(EVENT);
    trailing.extend_from_slice(b"{}");
    assert_eq!(
        read(&trailing).error.expect("an error").code,
        rules::JSON_SYNTAX.id
    );
}

#[test]
fn deeply_nested_json_is_refused_at_the_depth_limit_without_overflowing_the_stack() {
    for depth in [100, 1_000_000] {
        let nested = "[".repeat(depth) + &"]".repeat(depth);
        let ev = format!(r#"{{"type":"ObjectEvent","ex:deep":{nested}}}"#);
        let e = read(&doc(&ev)).error.expect("refused");
        assert_eq!(e.code, rules::LIMIT_DEPTH.id, "{e}");
        // Also where the reader only skips.
        let ev = format!(r#"{{"type":"ObjectEvent","eventID":{nested}}}"#);
        assert_eq!(
            read(&doc(&ev)).error.expect("refused").code,
            rules::LIMIT_DEPTH.id
        );
    }
}

fn big_event(n: usize) -> String {
    let epcs: Vec<String> = (0..n)
        .map(|i| format!("\"urn:epc:id:sgtin:0312345.067890.{i}\""))
        .collect();
    format!(
        r#"{{"type":"ObjectEvent","eventTime":"2025-04-20T08:00:00Z","eventTimeZoneOffset":"+00:00","action":"ADD","bizStep":"commissioning","epcList":[{}]}}"#,
        epcs.join(",")
    )
}

#[test]
fn the_epc_limit_holds_for_json_events() {
    let limits = Limits {
        max_epcs_per_event: 100,
        ..Limits::default()
    };
    let e = read_with(&doc(&big_event(101)), limits)
        .error
        .expect("refused");
    assert_eq!(e.code, rules::LIMIT_EPCS.id);
}

#[test]
fn a_huge_json_event_spills_its_lists_and_keeps_its_hash() {
    let json = doc(&big_event(5_000));
    let spilled = super::read_all(EpcisReader::new(&json[..], Limits::default()).spill_to(
        SpillOptions {
            dir: std::env::temp_dir(),
            after: 1_000,
        },
    ));
    let in_memory = read(&json);
    let ev = spilled.events()[0];
    assert!(ev.spilled.is_some(), "spilled");
    assert!(ev.epc_list.len() <= 1_000, "{}", ev.epc_list.len());
    assert_eq!(ev.epc_count(), 5_000);
    assert_eq!(hashes(&spilled), hashes(&in_memory));
}

#[test]
fn the_reader_buffers_stay_flat_however_many_events_a_document_has() {
    let few = [EVENT; 10].join(",");
    let many = [EVENT; 5_000].join(",");
    let footprint = |json: Vec<u8>| {
        let mut r = EpcisReader::new(&json[..], Limits::default());
        let mut max = 0;
        while r.next_item().unwrap().is_some() {
            max = max.max(r.buffer_footprint());
        }
        max
    };
    assert_eq!(footprint(doc(&few)), footprint(doc(&many)));
}

#[test]
fn a_query_document_and_master_data_in_the_header_are_read() {
    let json = format!(
        r#"{{"@context":"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld","type":"EPCISQueryDocument","schemaVersion":"2.0","creationDate":"2025-05-01T15:00:00Z",
"sender":"urn:epc:id:sgln:0312345.00000.0","receiver":"urn:epc:id:sgln:0398765.00000.0",
"epcisHeader":{{"epcisMasterData":{{"vocabularyList":[{{"type":"urn:epcglobal:epcis:vtype:EPCClass","vocabularyElementList":[{{"id":"urn:epc:idpat:sgtin:0312345.067890.*","attributes":[{{"id":"urn:epcglobal:cbv:mda#regulatedProductName","attribute":"Drug"}}]}}]}}]}}}},
"epcisBody":{{"queryResults":{{"queryName":"SimpleEventQuery","resultsBody":{{"eventList":[{EVENT}]}}}}}}}}"#
    );
    let out = read(json.as_bytes());
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(rejects(&out), Vec::<String>::new());
    let kinds: Vec<&str> = out
        .items
        .iter()
        .map(|i| match i {
            Item::DocumentStart(_) => "start",
            Item::MasterData(_) => "vocabulary",
            Item::Header(_) => "header",
            Item::Event(_) => "event",
            Item::End => "end",
        })
        .collect();
    assert_eq!(kinds, ["start", "vocabulary", "header", "event", "end"]);
    let Item::Header(h) = &out.items[2] else {
        unreachable!()
    };
    assert_eq!(
        h.sbdh.as_ref().unwrap().senders[0].identifier,
        "urn:epc:id:sgln:0312345.00000.0"
    );
}

#[test]
fn pseudo_sbdh_fields_after_the_body_are_refused_as_out_of_order() {
    let mut json = String::from_utf8(doc(EVENT)).unwrap();
    json.truncate(json.rfind('}').unwrap());
    json.push_str(",\"sender\":\"urn:epc:id:sgln:0312345.00000.0\"}");
    let out = read(json.as_bytes());
    assert!(out.error.is_none(), "{:?}", out.error);
    let d = out
        .diagnostics
        .iter()
        .find(|d| d.rule == rules::ORDER.id)
        .expect("reported");
    assert!(d.message.contains("`sender` comes after epcisBody"), "{d}");
}
