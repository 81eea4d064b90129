//! The EPC-list fast path (`Cursor::simple_element`) must give exactly what the tokenizer
//! gives. Fed one byte at a time, the reader never sees a whole `<epc>…</epc>` in its buffer
//! and takes the token path throughout; every document here must read the same both ways
//! (items, hashes, identifiers, diagnostics with line:column, fatal errors).

use std::io::{BufRead, Read};

use super::{doc12, doc20, fixture, read_all, read_with, Outcome, OBJECT_EVENT};
use crate::epcis::{EpcisReader, Limits};

/// A `BufRead` that hands out one byte per `fill_buf` (the first three together: the reader
/// expects a byte order mark in one piece).
struct Trickle<'a> {
    rest: &'a [u8],
    started: bool,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let b = self.fill_buf()?;
            let n = b.len().min(out.len());
            out[..n].copy_from_slice(&b[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Trickle<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        let n = if self.started { 1 } else { 3 };
        Ok(&self.rest[..self.rest.len().min(n)])
    }
    fn consume(&mut self, amt: usize) {
        self.started |= amt > 0;
        self.rest = &self.rest[amt..];
    }
}

fn read_trickled(doc: &[u8], limits: Limits) -> Outcome {
    read_all(EpcisReader::new(
        Trickle {
            rest: doc,
            started: false,
        },
        limits,
    ))
}

fn same_both_ways(name: &str, doc: &[u8], limits: Limits) {
    let fast = read_with(doc, limits.clone());
    let slow = read_trickled(doc, limits);
    assert_eq!(fast.error, slow.error, "{name}: fatal error");
    assert_eq!(fast.diagnostics, slow.diagnostics, "{name}: diagnostics");
    assert_eq!(fast.items, slow.items, "{name}: items");
    for (f, s) in fast.events().iter().zip(slow.events()) {
        assert_eq!(f.hash_id, s.hash_id, "{name}: hash");
        let ids = |e: &crate::epcis::Event| {
            e.epc_identifiers()
                .map(|(r, u, id)| (r, u.to_string(), id.map(|i| i.into_owned())))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(f), ids(s), "{name}: identifiers");
    }
}

/// An ObjectEvent whose epcList content is `epcs`.
fn with_epcs(epcs: &str) -> String {
    OBJECT_EVENT.replace(
        "<epcList><epc>urn:epc:id:sgtin:0312345.067890.S1001</epc></epcList>",
        &format!("<epcList>{epcs}</epcList>"),
    )
}

const TRICKY_LISTS: &[&str] = &[
    "<epc>urn:epc:id:sgtin:0312345.067890.S1</epc>\n  <epc>urn:epc:id:sgtin:0312345.067890.S2</epc>",
    "\r\n<epc>urn:epc:id:sgtin:0312345.067890.A</epc>\r\n\t<epc>urn:epc:id:sgtin:0312345.067890.B</epc>\r\n",
    "<epc>a:1</epc><epc></epc><epc>  </epc><epc>b:2</epc>",
    "<epc>x:1</epc><epc> urn:epc:id:sgtin:0312345.067890.S3 </epc><epc>y:2</epc>",
    "<epc>x:1</epc><!-- c --><epc>urn:epc:id:sgtin:0312345.067890.S4</epc><?pi x?><epc>z:3</epc>",
    "<epc>x:1</epc><epc>urn:epc:id:sgtin:0312345.067890.S%2F5&amp;</epc><epc>a&#58;b</epc>",
    "<epc>x:1</epc><epc>urn:epc:id:sgtin:0312345.067890.\u{e9}</epc><epc>urn:epc:id:sgtin:0312345.06789.S6</epc>",
    "<epc>x:1</epc><epc a=\"1\">q:1</epc><epc >q:2</epc><epc>q:3</epc >",
    "<epc>x:1</epc><epcx>q:1</epcx><ex:epc>q:2</ex:epc><epc>q:3<b/>r</epc><epc>q:4</epc>",
    "<epc>x:1</epc><epc><![CDATA[q:5]]></epc><epc>q]]6</epc><epc>q>7</epc><epc/>",
    "<epc>x:1</epc>text<epc>urn:epc:id:sscc:0312345.0000000011</epc>",
    "<epc>x:1</epc><epc>0312345.067890.1</epc><epc>urn:epc:id:sgtin:0312345.067890.S1</epc>",
    "<epc>x:1</epc><epc>https://id.gs1.org/01/00312345678906/21/S7</epc><epc>https://id.gs1.org/01/00312345678907/21/S8</epc>",
    "<epc>x:1</epc><epc>urn:epc:id:sgtin:0312345.067890.S9</epc></epcList><epcList><epc>x:2</epc>",
];

#[test]
fn tricky_epc_lists_read_the_same_with_and_without_the_fast_path() {
    for (i, list) in TRICKY_LISTS.iter().enumerate() {
        let ev = with_epcs(list);
        same_both_ways(&format!("1.2 list {i}"), &doc12(&ev), Limits::default());
        same_both_ways(
            &format!("2.0 list {i}"),
            &doc20(&ev.replace("<extension>", "").replace("</extension>", "")),
            Limits::default(),
        );
        let agg = format!(
            "<AggregationEvent><eventTime>2025-04-20T08:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><parentID>urn:epc:id:sscc:0312345.0000000011</parentID><childEPCs>{list}</childEPCs><action>ADD</action></AggregationEvent>"
        );
        same_both_ways(&format!("aggregation {i}"), &doc12(&agg), Limits::default());
    }
}

#[test]
fn limits_hit_inside_an_epc_list_are_the_same_with_and_without_the_fast_path() {
    let list: String = (0..40)
        .map(|i| format!("\n<epc>urn:epc:id:sgtin:0312345.067890.S{i}</epc>"))
        .collect();
    let doc = doc12(&with_epcs(&list));
    let cases = [
        Limits {
            max_epcs_per_event: 17,
            ..Limits::default()
        },
        Limits {
            max_elements_per_item: 23,
            ..Limits::default()
        },
        Limits {
            max_depth: 5,
            ..Limits::default()
        },
        Limits {
            max_text_len: 30,
            ..Limits::default()
        },
        Limits {
            max_bytes: 700,
            ..Limits::default()
        },
        Limits {
            max_diagnostics: 3,
            ..Limits::default()
        },
    ];
    for (i, limits) in cases.into_iter().enumerate() {
        same_both_ways(&format!("limits {i}"), &doc, limits);
    }
}

#[test]
fn unclosed_and_malformed_epc_lists_fail_the_same_with_and_without_the_fast_path() {
    for (i, tail) in [
        "<epc>x:1</epc><epc>x:2</epc",
        "<epc>x:1</epc><epc>x:2</epx>",
        "<epc>x:1</epc><epc>x:2",
        "<epc>x:1</epc><epc>x:2</epc><epc>&bogus;</epc>",
    ]
    .iter()
    .enumerate()
    {
        let mut doc = doc12(&with_epcs("<epc>q:0</epc>"));
        let at = doc.windows(9).position(|w| w == b"<epcList>").unwrap() + 9;
        doc.truncate(at);
        doc.extend_from_slice(tail.as_bytes());
        same_both_ways(&format!("malformed {i}"), &doc, Limits::default());
    }
}

#[test]
fn fixtures_and_corpus_read_the_same_with_and_without_the_fast_path() {
    let mut files = Vec::new();
    let roots = [
        format!("{}/fixtures/epcis", env!("CARGO_MANIFEST_DIR")),
        format!("{}/../shared/corpus", env!("CARGO_MANIFEST_DIR")),
    ];
    let mut dirs: Vec<std::path::PathBuf> = roots.iter().map(Into::into).collect();
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "xml")
                && e.metadata().is_ok_and(|m| m.len() < 2_000_000)
            {
                files.push(p);
            }
        }
    }
    assert!(files.len() > 10, "{files:?}");
    for p in files {
        let doc = std::fs::read(&p).unwrap();
        same_both_ways(&p.display().to_string(), &doc, Limits::default());
    }
    // The generated document in fixtures has the shape of the benchmark's.
    let doc = fixture("generated-small.xml");
    same_both_ways("generated-small", &doc, Limits::default());
}

#[test]
fn epc_identifiers_parse_when_the_lists_were_not_filled_by_the_reader() {
    let out = read_with(&doc12(&with_epcs(TRICKY_LISTS[11])), Limits::default());
    let ev = out.events()[0].clone();
    let from_reader: Vec<_> = ev
        .epc_identifiers()
        .map(|(_, _, id)| id.map(|i| i.into_owned()))
        .collect();
    let mut by_hand = crate::epcis::Event::new(ev.event_type, ev.index, ev.position);
    by_hand.epc_list = ev.epc_list.clone();
    let parsed: Vec<_> = by_hand
        .epc_identifiers()
        .map(|(_, _, id)| id.map(|i| i.into_owned()))
        .collect();
    assert_eq!(from_reader, parsed);
    assert_eq!(from_reader.len(), 3);
    assert!(matches!(
        from_reader[0],
        Some(crate::gs1::Identifier::Opaque)
    ));
    assert_eq!(from_reader[1], None, "not a URI");
    match &from_reader[2] {
        Some(crate::gs1::Identifier::Epc(e)) => assert_eq!(e.key(), "010031234567890621S1"),
        other => panic!("{other:?}"),
    }
}
