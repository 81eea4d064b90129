//! Huge events' lists spilled to disk: the events, their hashes and their identifiers are the
//! same as when read in memory.

use super::{fixture, read, read_all};
use crate::epcis::{EpcRole, EpcisReader, Event, Limits, SpillOptions};

fn read_spilling(doc: &[u8], after: usize) -> super::Outcome {
    let options = SpillOptions {
        dir: std::env::temp_dir(),
        after,
    };
    read_all(EpcisReader::new(doc, Limits::default()).spill_to(options))
}

/// The lists of `ev` as (role, value) pairs: in memory, then from its spill file.
fn all_epcs(ev: &Event) -> Vec<(EpcRole, String)> {
    let mut v: Vec<(EpcRole, String)> = ev
        .epcs()
        .filter(|(r, _)| *r != EpcRole::Parent)
        .map(|(r, s)| (r, s.to_string()))
        .collect();
    if let Some(s) = &ev.spilled {
        s.for_each_chunk(7, |c| {
            v.extend(c.iter().cloned());
            true
        })
        .unwrap();
    }
    v.sort();
    v
}

#[test]
fn spilled_events_keep_their_hash_and_identifiers() {
    let mut files: Vec<String> = vec!["generated/dscsa-shipment-200.xml".into()];
    for dir in ["epcis12", "epcis20xml", "hash"] {
        let path = format!("{}/fixtures/epcis/{dir}", env!("CARGO_MANIFEST_DIR"));
        for e in std::fs::read_dir(&path).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".xml") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    let mut spilled_events = 0;
    for f in &files {
        let doc = fixture(f);
        let plain = read(&doc);
        // From the first identifier on, and after 2: then some spill part-way through a list.
        for after in [0, 2] {
            let spilling = read_spilling(&doc, after);
            assert_eq!(
                plain.error.as_ref().map(|e| e.code),
                spilling.error.as_ref().map(|e| e.code),
                "{f}"
            );
            assert_eq!(plain.rule_ids(), spilling.rule_ids(), "{f}");
            let (a, b) = (plain.events(), spilling.events());
            assert_eq!(a.len(), b.len(), "{f}");
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x.hash_id, y.hash_id, "{f}: event {}", x.index);
                assert_eq!(x.epc_count(), y.epc_count(), "{f}: event {}", x.index);
                assert_eq!(all_epcs(x), all_epcs(y), "{f}: event {}", x.index);
                assert!(x.spilled.is_none());
                if y.spilled.is_some() {
                    spilled_events += 1;
                }
            }
        }
    }
    assert!(spilled_events > 60, "only {spilled_events} events spilled");
}

#[test]
fn events_under_the_threshold_stay_in_memory() {
    let doc = fixture("generated/dscsa-shipment-200.xml");
    let out = read_spilling(&doc, 1_000_000);
    assert!(out.events().iter().all(|e| e.spilled.is_none()));
}

#[test]
fn an_unwritable_spill_directory_is_a_clear_fatal_error() {
    let doc = fixture("generated/dscsa-shipment-200.xml");
    let options = SpillOptions {
        dir: std::path::PathBuf::from("/nonexistent/spool"),
        after: 2,
    };
    let out = read_all(EpcisReader::new(&doc[..], Limits::default()).spill_to(options));
    let e = out.error.expect("a fatal error");
    assert_eq!(e.code, "EPCIS-X-012");
    assert!(e.message.contains("spool directory"), "{}", e.message);
}

#[test]
fn identifiers_listed_twice_in_a_spilled_list_are_named_once() {
    let doc = super::doc12(
        "<ObjectEvent><eventTime>2025-04-20T08:00:00Z</eventTime>\
         <eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList>\
         <epc>urn:epc:id:sgtin:0361414.012345.A</epc>\
         <epc>https://id.gs1.org/01/00361414123458/21/B</epc>\
         <epc>urn:epc:id:sgtin:0361414.012345.B</epc>\
         <epc>urn:epc:id:sgtin:0361414.012345.A</epc>\
         <epc>urn:epc:id:sgtin:0361414.012345.A</epc>\
         <epc>urn:example:other:1</epc><epc>urn:example:other:1</epc>\
         <epc>urn:epc:id:sgtin:0361414.012345.C</epc></epcList>\
         <action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>\
         </ObjectEvent>",
    );
    let out = read_spilling(&doc, 1);
    let events = out.events();
    let spilled = events[0].spilled.as_ref().expect("spilled");
    let mut repeated = spilled.repeated().to_vec();
    repeated.sort();
    assert_eq!(
        repeated,
        vec![
            (
                EpcRole::Epc,
                "https://id.gs1.org/01/00361414123458/21/A".to_string()
            ),
            (
                EpcRole::Epc,
                "https://id.gs1.org/01/00361414123458/21/B".to_string()
            ),
            (EpcRole::Epc, "urn:example:other:1".to_string()),
        ],
        "the same EPC as URN and Digital Link counts as repeated"
    );
    assert_eq!(spilled.len(), 8, "the file keeps every value as written");
    // In memory, nothing is reported this way.
    assert!(read(&doc).events()[0].spilled.is_none());
}
