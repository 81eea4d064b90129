//! Third-party-style documents (`fixtures/epcis/thirdparty/`, written for this project in the
//! styles other EPCIS software writes; see fixtures/README.md): every document under `valid/`
//! reads with no `reject` finding, every one under `malformed/` is refused by the rule its file
//! name starts with (`EPCIS-S-005--….xml`). The same decision as `dscsa-exchange validate`: a
//! fatal error or any `reject` diagnostic refuses the document.

use super::read;
use crate::epcis::{Diagnostic, Severity};

fn folder(sub: &str) -> Vec<(String, Vec<u8>)> {
    let dir = format!(
        "{}/fixtures/epcis/thirdparty/{sub}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// The rules that refuse the document: the fatal error's code and every `reject` finding.
fn refusals(doc: &[u8]) -> (Vec<&'static str>, Vec<Diagnostic>) {
    let out = read(doc);
    let mut ids: Vec<&'static str> = out
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Reject)
        .map(|d| d.rule)
        .collect();
    ids.extend(out.error.map(|e| e.code));
    (ids, out.diagnostics)
}

#[test]
fn third_party_style_valid_documents_are_accepted() {
    let files = folder("valid");
    assert!(files.len() >= 12, "{} valid fixtures", files.len());
    for (name, doc) in &files {
        let (refused, all) = refusals(doc);
        assert!(
            refused.is_empty(),
            "{name} refused by {refused:?}: {all:#?}"
        );
    }
}

#[test]
fn third_party_style_malformed_documents_are_refused_by_their_rule() {
    let files = folder("malformed");
    assert!(files.len() >= 12, "{} malformed fixtures", files.len());
    for (name, doc) in &files {
        let (rule, _) = name
            .split_once("--")
            .unwrap_or_else(|| panic!("{name}: name the expected rule, RULE--what.xml"));
        let (refused, all) = refusals(doc);
        assert!(
            refused.contains(&rule),
            "{name}: expected {rule}, refused by {refused:?}: {all:#?}"
        );
    }
}

fn fixture_doc(name: &str) -> Vec<u8> {
    super::fixture(&format!("thirdparty/{name}"))
}

fn warnings(out: &super::Outcome) -> Vec<&'static str> {
    out.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warn)
        .map(|d| d.rule)
        .collect()
}

#[test]
fn unqualified_elements_in_innermost_extensions_are_kept_not_refused() {
    let out = read(&fixture_doc("valid/v12-ns0-prefix-inner-extension.xml"));
    assert!(
        out.error.is_none() && out.diagnostics.is_empty(),
        "{:?}",
        out.diagnostics
    );
    let ev = out.events()[0];
    let names: Vec<&str> = ev
        .extensions
        .iter()
        .map(|e| e.local_name.as_str())
        .collect();
    // baseExtension/extension, extension/extension, and the foreign element after them.
    assert_eq!(
        names,
        ["sourceSystem", "inspectionResult", "operator", "camera"]
    );
    assert_eq!(ev.extensions[2].attributes, [("shift".into(), "B".into())]);
    assert_eq!(ev.read_point_extensions[0].local_name, "station");
    assert_eq!(
        ev.event_id.as_deref(),
        Some("urn:uuid:7d3c0f2e-52a4-4c8e-9d0e-0b1a4f8e2c11")
    );
    // Header extension/extension and ilmd/extension are wildcards too.
    let out = read(&fixture_doc(
        "valid/v12-default-sbdh-namespace-header-extension.xml",
    ));
    assert!(
        out.error.is_none() && out.diagnostics.is_empty(),
        "{:?}",
        out.diagnostics
    );
    assert_eq!(out.events()[0].ilmd.lot_number.as_deref(), Some("L2311A"));
}

#[test]
fn converter_placed_sensor_data_and_persistent_disposition_in_1_2_are_read_as_in_2_0() {
    let out = read(&fixture_doc(
        "valid/v12-converter-objectevent-sensor-persistent.xml",
    ));
    assert!(
        out.error.is_none() && out.diagnostics.is_empty(),
        "{:?}",
        out.diagnostics
    );
    let evs = out.events();
    assert_eq!(evs[0].sensor_elements.len(), 1);
    let pd = evs[0].persistent_disposition.as_ref().expect("read");
    assert_eq!(pd.set[0].as_str(), "completeness_verified");
    assert_eq!(evs[0].ilmd.lot_number.as_deref(), Some("L22"));
    assert_eq!(evs[1].sensor_elements.len(), 1);
    assert_eq!(
        evs[1].persistent_disposition.as_ref().unwrap().unset.len(),
        1
    );
    let out = read(&fixture_doc(
        "valid/v12-converter-aggregation-transformation-sensor.xml",
    ));
    assert!(
        out.error.is_none() && out.diagnostics.is_empty(),
        "{:?}",
        out.diagnostics
    );
    let evs = out.events();
    assert_eq!(evs[0].sensor_elements.len(), 1);
    assert!(evs[0].persistent_disposition.is_some());
    assert_eq!(evs[0].extensions[0].local_name, "palletLabelPrinted");
    assert_eq!(evs[1].sensor_elements.len(), 1);
    assert!(evs[1].persistent_disposition.is_some());
}

#[test]
fn association_event_in_1_2_takes_the_child_order_of_gs1_conversions() {
    let out = read(&fixture_doc("valid/v12-association-gs1-order.xml"));
    assert!(
        out.error.is_none() && out.diagnostics.is_empty(),
        "{:?}",
        out.diagnostics
    );
    let evs = out.events();
    assert_eq!(evs[0].child_quantity_list[0].quantity, Some(60.0));
    assert_eq!(evs[1].sensor_elements.len(), 1);
    assert_eq!(evs[1].sources.len(), 1);
    // Still one action only.
    let twice = String::from_utf8(fixture_doc("valid/v12-association-gs1-order.xml"))
        .unwrap()
        .replacen(
            "<action>ADD</action>",
            "<action>ADD</action><action>ADD</action>",
            1,
        );
    assert!(read(twice.as_bytes()).rule_ids().contains(&"EPCIS-S-007"));
}

#[test]
fn non_product_identifiers_are_stored_as_given_with_data_quality_warnings() {
    let out = read(&fixture_doc(
        "valid/v12-non-uri-locations-and-transactions.xml",
    ));
    assert!(out.error.is_none());
    let mut w = warnings(&out);
    w.sort_unstable();
    assert_eq!(
        w,
        [
            "EPCIS-I-004",
            "EPCIS-I-005",
            "EPCIS-I-005",
            "EPCIS-I-005",
            "EPCIS-I-005"
        ],
        "{:#?}",
        out.diagnostics
    );
    assert!(out
        .diagnostics
        .iter()
        .all(|d| crate::epcis::diagnostics::is_data_quality(d.rule)));
    let ev = out.events()[0];
    assert_eq!(ev.read_point.as_deref(), Some("N/A"));
    assert_eq!(
        ev.biz_location.as_deref(),
        Some("urn:epc:id:sgln:0614141.0734.0")
    );
    assert_eq!(ev.biz_transactions[0].id, "PO-4711");
    assert_eq!(ev.sources[0].id, "ACME-DC-01");
    assert_eq!(ev.destinations[0].id, "0012345000058");
    let d = &out.diagnostics[0];
    assert_eq!((d.rule, d.line, d.column), ("EPCIS-I-005", 15, 11));
    assert!(
        d.message.contains("readPoint/id `N/A`") && d.message.contains("stored as given"),
        "{}",
        d.message
    );
    // Product identifiers stay strict.
    let strict = read(&fixture_doc(
        "malformed/EPCIS-I-001--sgtin-wrong-partition-in-epclist.xml",
    ));
    assert!(
        strict.rule_ids().contains(&"EPCIS-I-001"),
        "{:?}",
        strict.diagnostics
    );
}

#[test]
fn epc_pattern_uris_of_every_scheme_are_valid_epc_classes() {
    let out = read(&fixture_doc("valid/v12-idpat-quantities.xml"));
    assert!(
        out.error.is_none() && out.diagnostics.is_empty(),
        "{:?}",
        out.diagnostics
    );
    let q = &out.events()[0].quantity_list;
    assert_eq!(q.len(), 7);
    assert_eq!(q[0].epc_class, "urn:epc:idpat:grai:0614141.12345.*");
    let bad = read(&fixture_doc(
        "malformed/EPCIS-I-001--idpat-concrete-field-after-wildcard.xml",
    ));
    let d = bad
        .diagnostics
        .iter()
        .find(|d| d.rule == "EPCIS-I-001")
        .expect("refused");
    assert!(d.message.contains("after a `*`"), "{}", d.message);
}

#[test]
fn standalone_master_data_documents_of_1_2_and_2_0_are_read() {
    use crate::epcis::{DocumentKind, EpcisVersion, Item};
    for (name, version) in [
        ("valid/v12-masterdata-document.xml", EpcisVersion::V1),
        ("valid/v20-masterdata-document.xml", EpcisVersion::V2),
    ] {
        let out = read(&fixture_doc(name));
        assert!(
            out.error.is_none() && out.diagnostics.is_empty(),
            "{name}: {:?}",
            out.diagnostics
        );
        let Item::DocumentStart(s) = &out.items[0] else {
            panic!("{name}: no start")
        };
        assert_eq!(
            (s.kind, s.version),
            (DocumentKind::EpcisMasterDataDocument, version)
        );
        assert!(
            out.items.iter().any(
                |i| matches!(i, Item::MasterData(v) if v.vocabulary_type.ends_with("Location"))
            ),
            "{name}"
        );
    }
}

#[test]
fn doctype_that_declares_nothing_is_accepted_with_a_warning() {
    let out = read(&fixture_doc("valid/v12-empty-doctype.xml"));
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(warnings(&out), ["EPCIS-S-016"]);
    let d = &out.diagnostics[0];
    assert_eq!((d.line, d.column), (2, 1));
    assert_eq!(out.events().len(), 1);
    // Anything declared, or a DOCTYPE after the root started, stays refused.
    for doc in [
        &b"<!DOCTYPE a [ ]><a/>"[..],
        b"<!DOCTYPE a[]><a/>",
        b"<!DOCTYPE a SYSTEM \"a.dtd\"><a/>",
        b"<!DOCTYPE a PUBLIC \"-//x//y\" \"a.dtd\"><a/>",
        b"<!DOCTYPE a><!DOCTYPE b><a/>",
    ] {
        let e = read(doc).error.expect("refused");
        assert_eq!(e.code, "EPCIS-X-002", "{}", String::from_utf8_lossy(doc));
    }
}

#[test]
fn json_given_to_the_xml_reader_alone_is_reported_as_json() {
    use crate::epcis::{detect_format, BodyFormat};
    // `EpcisReader` hands JSON to the JSON-LD reader; the XML reader by itself says what it is.
    let doc = fixture_doc("valid/v20-json-ld-document.json");
    let mut xml = crate::epcis::reader::XmlReader::new(&doc[..], crate::epcis::Limits::default());
    let e = xml.next_item().expect_err("refused");
    assert_eq!((e.code, e.line, e.column), ("EPCIS-X-013", 1, 1));
    assert!(e.message.contains("JSON-LD reader"), "{}", e.message);
    let ev = read(&doc);
    assert!(
        ev.error.is_none() && ev.events().len() == 1,
        "{:?}",
        ev.error
    );
    for (body, f) in [
        (&b"{}"[..], BodyFormat::Json),
        (b"\xEF\xBB\xBF \n\t[{\"type\":1}]", BodyFormat::Json),
        (b"  <epcis:EPCISDocument/>", BodyFormat::Xml),
        (b"", BodyFormat::Xml),
        (b"hello", BodyFormat::Xml),
    ] {
        assert_eq!(detect_format(body), f, "{}", String::from_utf8_lossy(body));
    }
    // JSON that is no document object: refused by the JSON-LD reader.
    let e = read(b"\xEF\xBB\xBF\n  [1,2]").error.expect("refused");
    assert_eq!(e.code, "EPCIS-X-010");
    // Other text before the root is still a syntax error.
    assert_eq!(read(b"hello <a/>").error.unwrap().code, "EPCIS-X-001");
}

#[test]
fn event_fields_of_2_0_take_either_position_the_xsd_variants_give_and_extension_is_kept() {
    let out = read(&fixture_doc(
        "valid/v20-extension-and-alternative-field-positions.xml",
    ));
    assert!(
        out.error.is_none() && out.diagnostics.is_empty(),
        "{:?}",
        out.diagnostics
    );
    let ev = out.events()[0];
    assert_eq!(ev.certification_info.len(), 1);
    assert_eq!(ev.persistent_disposition.as_ref().unwrap().set.len(), 1);
    let names: Vec<&str> = ev
        .extensions
        .iter()
        .map(|e| e.local_name.as_str())
        .collect();
    assert_eq!(names, ["testRun", "analyst"]);
    // The other variant: persistentDisposition right after disposition, certificationInfo
    // before eventID.
    let doc = String::from_utf8(fixture_doc(
        "valid/v20-extension-and-alternative-field-positions.xml",
    ))
    .unwrap();
    let pd_start = doc.find("        <persistentDisposition>").unwrap();
    let pd_end =
        doc.find("</persistentDisposition>\n").unwrap() + "</persistentDisposition>\n".len();
    let pd = &doc[pd_start..pd_end];
    let moved = doc.replacen(pd, "", 1).replacen(
        "        <readPoint>",
        &format!("{pd}        <readPoint>"),
        1,
    );
    let out = read(moved.as_bytes());
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    // A 1.2 layout inside the 2.0 extension is still reported, and its data read.
    let own =
        "        <extension>\n          <testRun>TR-2024-0820-1</testRun>\n        </extension>\n";
    assert!(doc.contains(own));
    let layout = doc
        .replacen(own, "", 1)
        .replacen("<ilmd>", "<extension><ilmd>", 1)
        .replacen("</ilmd>", "</ilmd></extension>", 1);
    let out = read(layout.as_bytes());
    assert_eq!(out.rule_ids(), ["EPCIS-S-010"], "{:?}", out.diagnostics);
    assert_eq!(out.events()[0].ilmd.lot_number.as_deref(), Some("L24H"));
    // 2.0 `baseExtension` (after errorDeclaration in every XSD variant) is a wildcard too.
    let base = doc.replacen(
        "<certificationInfo>",
        "<baseExtension><auditTrail>A-1</auditTrail></baseExtension><certificationInfo>",
        1,
    );
    let out = read(base.as_bytes());
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    assert_eq!(out.events()[0].extensions[0].local_name, "auditTrail");
}

#[test]
fn unqualified_content_of_the_1_2_event_list_wildcard_is_accepted() {
    let out = read(&fixture_doc("valid/v12-default-namespace-root.xml"));
    assert!(
        out.error.is_none() && out.diagnostics.is_empty(),
        "{:?}",
        out.diagnostics
    );
    assert_eq!(out.events().len(), 1);
    // Directly in EventList/extension (a choice of TransformationEvent or extension) it is not.
    let doc = super::doc12("<extension><exportNote>x</exportNote></extension>");
    assert_eq!(read(&doc).rule_ids(), ["EPCIS-S-006"]);
}
