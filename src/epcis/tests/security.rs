//! Hostile input: DOCTYPE, entities, malformed XML.

use super::{doc12, read, OBJECT_EVENT};
use crate::epcis::diagnostics::rules;

#[test]
fn doctype_is_refused() {
    let doc = br#"<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2" creationDate="2025-05-01T15:00:00Z"><EPCISBody><EventList/></EPCISBody></epcis:EPCISDocument>"#;
    let out = read(doc);
    let e = out.error.expect("refused");
    assert_eq!(e.code, rules::DOCTYPE.id);
    assert_eq!((e.line, e.column), (2, 1));
    assert!(out.items.is_empty());
}

#[test]
fn billion_laughs_is_refused_before_any_expansion() {
    let mut doc =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        doc.push_str(&format!(
            " <!ENTITY lol{i} \"{}\">\n",
            format!("&lol{};", i - 1).repeat(10)
        ));
    }
    doc.push_str("]>\n<lolz>&lol9;</lolz>");
    let e = read(doc.as_bytes()).error.expect("refused");
    assert_eq!(e.code, rules::DOCTYPE.id);
}

#[test]
fn undeclared_entity_reference_is_refused_with_position() {
    let doc = doc12(&OBJECT_EVENT.replace("LOT42", "LOT&custom;42"));
    let out = read(&doc);
    let e = out.error.expect("refused");
    assert_eq!(e.code, rules::ENTITY.id);
    assert!(e.message.contains("&custom;"), "{}", e.message);
    assert_eq!(e.line, 12);
}

#[test]
fn entity_in_attribute_is_refused() {
    let doc = doc12(&OBJECT_EVENT.replace("<ObjectEvent>", "<ObjectEvent ex:a=\"&ext;\">"));
    assert_eq!(read(&doc).error.expect("refused").code, rules::ENTITY.id);
}

#[test]
fn predefined_entities_and_character_references_are_resolved() {
    let doc = doc12(&OBJECT_EVENT.replace("LOT42", "  A&amp;B&lt;&#67;&#x44;&quot;&apos;&gt; "));
    let out = read(&doc);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(
        out.events()[0].ilmd.lot_number.as_deref(),
        Some("A&B<CD\"'>")
    );
}

#[test]
fn invalid_character_reference_is_refused() {
    let doc = doc12(&OBJECT_EVENT.replace("LOT42", "&#0;"));
    assert_eq!(read(&doc).error.expect("refused").code, rules::ENTITY.id);
}

#[test]
fn mismatched_tags_are_a_syntax_error_with_position() {
    let doc = doc12(&OBJECT_EVENT.replace("</action>", "</actio>"));
    let e = read(&doc).error.expect("refused");
    assert_eq!(e.code, rules::XML_SYNTAX.id);
    assert_eq!(e.line, 8, "{e}");
}

#[test]
fn wrong_root_namespace_is_refused() {
    let doc = br#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:3" schemaVersion="1.2" creationDate="2025-05-01T15:00:00Z"/>"#;
    let e = read(doc).error.expect("refused");
    assert_eq!(e.code, rules::ROOT.id);
    assert!(e.message.contains("urn:epcglobal:epcis:xsd:3"));
    let e = read(b"<html/>").error.expect("refused");
    assert_eq!(e.code, rules::ROOT.id);
}

#[test]
fn empty_input_is_refused() {
    assert_eq!(read(b"").error.expect("refused").code, rules::ROOT.id);
}

#[test]
fn truncated_document_is_a_syntax_error() {
    let doc = doc12(OBJECT_EVENT);
    let e = read(&doc[..doc.len() / 2]).error.expect("refused");
    assert_eq!(e.code, rules::XML_SYNTAX.id);
}

#[test]
fn after_an_error_iteration_ends() {
    let mut r = crate::epcis::EpcisReader::new(&b"<!DOCTYPE x><x/>"[..], Default::default());
    assert!(r.next_item().is_err());
    assert_eq!(r.next_item(), Ok(None));
}

#[test]
fn whitespace_around_values_is_trimmed_and_bom_tolerated() {
    let mut doc = b"\xEF\xBB\xBF".to_vec();
    doc.extend(doc12(&OBJECT_EVENT.replace(
        "<epc>urn:epc:id:sgtin:0312345.067890.S1001</epc>",
        "<epc>\n   urn:epc:id:sgtin:0312345.067890.S1001\n   </epc>",
    )));
    let out = read(&doc);
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(
        out.events()[0].epc_list,
        vec!["urn:epc:id:sgtin:0312345.067890.S1001"]
    );
}

mod props {
    use super::super::{doc12, read};
    use proptest::prelude::*;

    fn escape(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }

    proptest! {
        #[test]
        fn escaped_values_round_trip(value in "[a-zA-Z0-9&<>\"' ;#]{1,40}") {
            let trimmed = value.trim();
            prop_assume!(!trimmed.is_empty());
            let doc = doc12(&format!(
                "<ObjectEvent><eventTime>2024-03-01T14:30:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList/><action>ADD</action><extension><ilmd><cbvmda:lotNumber>{}</cbvmda:lotNumber></ilmd></extension><ex:note a=\"{}\">{}</ex:note></ObjectEvent>",
                escape(&value), escape(&value).replace('"', "&quot;"), escape(&value)
            ));
            let out = read(&doc);
            prop_assert!(out.error.is_none(), "{:?}", out.error);
            let ev = out.events()[0];
            prop_assert_eq!(ev.ilmd.lot_number.as_deref(), Some(trimmed));
            prop_assert_eq!(ev.extensions[0].text.as_str(), trimmed);
            prop_assert_eq!(ev.extensions[0].attributes[0].1.as_str(), value.as_str());
        }
    }
}

/// Fails after the first `ok` bytes, like a dropped connection.
struct Broken<'a> {
    data: &'a [u8],
    ok: usize,
}

impl std::io::Read for Broken<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.ok == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset",
            ));
        }
        let n = buf.len().min(self.ok).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.ok -= n;
        Ok(n)
    }
}

#[test]
fn input_error_is_reported_as_io() {
    let doc = doc12(&OBJECT_EVENT.repeat(5));
    let input = std::io::BufReader::with_capacity(
        64,
        Broken {
            data: &doc,
            ok: 700,
        },
    );
    let mut r = crate::epcis::EpcisReader::new(input, Default::default());
    let err = loop {
        match r.next_item() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the broken input cannot be read to its end"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.code, rules::IO.id);
    assert!(err.message.contains("connection reset"), "{}", err.message);
}

mod robustness {
    use super::super::{doc12, read, OBJECT_EVENT};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Corrupted documents end in an error or a result, never in a panic or a hang.
        #[test]
        fn corrupted_documents_never_panic(cut in 0usize..2000, flips in proptest::collection::vec((0usize..2000, any::<u8>()), 0..8)) {
            let mut doc = doc12(&OBJECT_EVENT.repeat(2));
            for (at, byte) in flips {
                let i = at % doc.len();
                doc[i] = byte;
            }
            doc.truncate(cut.min(doc.len()));
            let out = read(&doc);
            // Whatever happened, every finding carries a position.
            for d in &out.diagnostics {
                prop_assert!(d.line >= 1 && d.column >= 1);
            }
            if let Some(e) = out.error {
                prop_assert!(e.code.starts_with("EPCIS-X-"));
                prop_assert!(e.line >= 1);
            }
        }
    }
}
