//! Limits and bounded memory.

use super::{doc12, read_with, OBJECT_EVENT};
use crate::epcis::diagnostics::rules;
use crate::epcis::{EpcisReader, Item, Limits};

#[test]
fn byte_limit() {
    let doc = doc12(&OBJECT_EVENT.repeat(20));
    let out = read_with(
        &doc,
        Limits {
            max_bytes: 2000,
            ..Limits::default()
        },
    );
    assert_eq!(out.error.expect("refused").code, rules::LIMIT_BYTES.id);
    assert!(read_with(
        &doc,
        Limits {
            max_bytes: doc.len() as u64,
            ..Limits::default()
        }
    )
    .error
    .is_none());
}

#[test]
fn event_limit() {
    let doc = doc12(&OBJECT_EVENT.repeat(3));
    let out = read_with(
        &doc,
        Limits {
            max_events: 2,
            ..Limits::default()
        },
    );
    assert_eq!(out.events().len(), 2);
    assert_eq!(out.error.expect("refused").code, rules::LIMIT_EVENTS.id);
    assert!(read_with(
        &doc,
        Limits {
            max_events: 3,
            ..Limits::default()
        }
    )
    .error
    .is_none());
}

#[test]
fn epcs_per_event_limit() {
    let three = OBJECT_EVENT.replace(
        "<epc>urn:epc:id:sgtin:0312345.067890.S1001</epc>",
        "<epc>urn:epc:id:sgtin:0312345.067890.S1</epc><epc>urn:epc:id:sgtin:0312345.067890.S2</epc><epc>urn:epc:id:sgtin:0312345.067890.S3</epc>",
    );
    let doc = doc12(&three);
    let e = read_with(
        &doc,
        Limits {
            max_epcs_per_event: 2,
            ..Limits::default()
        },
    )
    .error
    .expect("refused");
    assert_eq!(e.code, rules::LIMIT_EPCS.id);
    assert!(read_with(
        &doc,
        Limits {
            max_epcs_per_event: 3,
            ..Limits::default()
        }
    )
    .error
    .is_none());
}

#[test]
fn depth_limit() {
    let nested = format!("{}{}", "<ex:a>".repeat(30), "</ex:a>".repeat(30));
    let doc = doc12(&OBJECT_EVENT.replace("</ObjectEvent>", &format!("{nested}</ObjectEvent>")));
    let e = read_with(
        &doc,
        Limits {
            max_depth: 20,
            ..Limits::default()
        },
    )
    .error
    .expect("refused");
    assert_eq!(e.code, rules::LIMIT_DEPTH.id);
    assert!(read_with(&doc, Limits::default()).error.is_none());
}

#[test]
fn text_length_limit() {
    let doc = doc12(&OBJECT_EVENT.replace("LOT42", &"L".repeat(5000)));
    let e = read_with(
        &doc,
        Limits {
            max_text_len: 1000,
            ..Limits::default()
        },
    )
    .error
    .expect("refused");
    assert_eq!(e.code, rules::LIMIT_TEXT.id);
    assert!(read_with(
        &doc,
        Limits {
            max_text_len: 5000,
            ..Limits::default()
        }
    )
    .error
    .is_none());
}

#[test]
fn elements_per_item_limit() {
    let many = "<ex:x/>".repeat(50);
    let doc = doc12(&OBJECT_EVENT.replace("</ObjectEvent>", &format!("{many}</ObjectEvent>")));
    let e = read_with(
        &doc,
        Limits {
            max_elements_per_item: 40,
            ..Limits::default()
        },
    )
    .error
    .expect("refused");
    assert_eq!(e.code, rules::LIMIT_ELEMENTS.id);
    assert!(read_with(
        &doc,
        Limits {
            max_elements_per_item: 80,
            ..Limits::default()
        }
    )
    .error
    .is_none());
}

/// A `BufRead` that produces a 1.2 document with `n` events on the fly, so the test itself
/// holds no large buffer.
struct Generated {
    n: usize,
    emitted: usize,
    chunk: Vec<u8>,
    at: usize,
    done: bool,
}

impl Generated {
    fn new(n: usize) -> Self {
        let head = String::from_utf8(doc12("")).unwrap();
        let (start, _) = head.split_once("\n</EventList>").unwrap();
        Generated {
            n,
            emitted: 0,
            chunk: start.as_bytes().to_vec(),
            at: 0,
            done: false,
        }
    }
}

impl std::io::Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::BufRead;
        let n = {
            let b = self.fill_buf()?;
            let n = b.len().min(buf.len());
            buf[..n].copy_from_slice(&b[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl std::io::BufRead for Generated {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.at == self.chunk.len() && !self.done {
            self.at = 0;
            if self.emitted < self.n {
                self.chunk = OBJECT_EVENT
                    .replace("S1001", &format!("S{}", self.emitted))
                    .into_bytes();
                self.emitted += 1;
            } else {
                self.chunk = b"\n</EventList></EPCISBody></epcis:EPCISDocument>".to_vec();
                self.done = true;
            }
        }
        Ok(&self.chunk[self.at..])
    }

    fn consume(&mut self, amt: usize) {
        self.at += amt;
    }
}

#[test]
fn reader_buffers_do_not_grow_with_event_count() {
    let mut r = EpcisReader::new(Generated::new(20_000), Limits::default());
    let mut footprint_at_100 = 0;
    let mut events = 0u64;
    while let Some(item) = r.next_item().expect("reads") {
        if let Item::Event(_) = item {
            events += 1;
            if events == 100 {
                footprint_at_100 = r.buffer_footprint();
            }
            // Diagnostics are taken as the HTTP layer would; none are expected.
            assert!(r.take_diagnostics().is_empty());
        }
    }
    assert_eq!(events, 20_000);
    assert!(footprint_at_100 > 0);
    assert_eq!(
        r.buffer_footprint(),
        footprint_at_100,
        "internal buffers grew with the event count"
    );
}
