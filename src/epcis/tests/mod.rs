//! Tests of the EPCIS module that read whole documents.

mod corpus;
mod fast_path;
mod hashing;
mod json_read;
mod limits;
mod rules;
mod security;
mod spill;
mod thirdparty;
mod write;
mod write_json;

use crate::epcis::{Diagnostic, EpcisReader, Event, Item, Limits, ReadError};

/// Everything one read produced.
pub(crate) struct Outcome {
    pub items: Vec<Item>,
    pub diagnostics: Vec<Diagnostic>,
    pub error: Option<ReadError>,
}

impl Outcome {
    pub fn events(&self) -> Vec<&Event> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Event(e) => Some(e.as_ref()),
                _ => None,
            })
            .collect()
    }

    pub fn rule_ids(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.diagnostics.iter().map(|d| d.rule).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

pub(crate) fn read_with(doc: &[u8], limits: Limits) -> Outcome {
    read_all(EpcisReader::new(doc, limits))
}

/// Every item up to the end or the first fatal error, and the diagnostics.
pub(crate) fn read_all<R: std::io::BufRead>(mut r: EpcisReader<R>) -> Outcome {
    let mut items = Vec::new();
    let mut error = None;
    loop {
        match r.next_item() {
            Ok(Some(i)) => items.push(i),
            Ok(None) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    Outcome {
        items,
        diagnostics: r.take_diagnostics(),
        error,
    }
}

pub(crate) fn read(doc: &[u8]) -> Outcome {
    read_with(doc, Limits::default())
}

pub(crate) fn fixture(rel: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/epcis/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A 1.2 document around `events` (EventList content).
pub(crate) fn doc12(events: &str) -> Vec<u8> {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:cbvmda="urn:epcglobal:cbv:mda" xmlns:ex="https://ns.example.com/epcis/" schemaVersion="1.2" creationDate="2025-05-01T15:00:00Z">
<EPCISBody><EventList>
{events}
</EventList></EPCISBody></epcis:EPCISDocument>"#
    )
    .into_bytes()
}

/// A 2.0 document around `events`.
pub(crate) fn doc20(events: &str) -> Vec<u8> {
    format!(
        r#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:cbvmda="urn:epcglobal:cbv:mda" schemaVersion="2.0" creationDate="2025-05-01T15:00:00Z">
<EPCISBody><EventList>
{events}
</EventList></EPCISBody></epcis:EPCISDocument>"#
    )
    .into_bytes()
}

/// A valid 1.2 commissioning ObjectEvent; `{extra}` replaces the marker positions.
pub(crate) const OBJECT_EVENT: &str = r#"<ObjectEvent>
<eventTime>2025-04-20T08:00:00.000-05:00</eventTime>
<eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
<epcList><epc>urn:epc:id:sgtin:0312345.067890.S1001</epc></epcList>
<action>ADD</action>
<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>
<disposition>urn:epcglobal:cbv:disp:active</disposition>
<readPoint><id>urn:epc:id:sgln:0312345.00001.0</id></readPoint>
<extension><ilmd><cbvmda:lotNumber>LOT42</cbvmda:lotNumber><cbvmda:itemExpirationDate>2027-06-30</cbvmda:itemExpirationDate></ilmd></extension>
</ObjectEvent>"#;
