//! The writers keep each event's meaning: every fixture, written as EPCIS 1.2 XML and 2.0 XML
//! with every EPC and CBV format and read back with our reader, gives the same CBV 2.0 event
//! hashes, the same header and master data, and no structure finding the original did not
//! have. (JSON-LD: `write_json.rs`.)

use super::{fixture, read, read_all, Outcome};
use crate::epcis::diagnostics::rules;
use crate::epcis::write::{CbvFormat, DocumentWriter, EpcFormat, Format, WriteOptions};
use crate::epcis::{
    DocumentKind, EpcisReader, EpcisVersion, Header, Item, Limits, Position, SpillOptions,
    Vocabulary,
};

/// Every XML fixture (relative to fixtures/epcis).
pub(crate) fn xml_fixtures() -> Vec<String> {
    let mut files: Vec<String> = vec![
        "generated/dscsa-shipment-200.xml".into(),
        "generated-small.xml".into(),
    ];
    // thirdparty/valid: documents of other systems, with extension elements of no namespace
    // in the places 1.2 allows them (once written at event level, where no reader accepts them).
    for dir in ["epcis12", "epcis20xml", "hash", "thirdparty/valid"] {
        let path = format!("{}/fixtures/epcis/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".xml"))
            .collect();
        names.sort();
        files.extend(names.into_iter().map(|n| format!("{dir}/{n}")));
    }
    files
}

pub(crate) fn write_items(items: &[Item], format: Format, options: WriteOptions) -> Vec<u8> {
    let mut w = DocumentWriter::new(Vec::new(), format, options);
    for i in items {
        w.item(i).unwrap();
    }
    w.finish().unwrap().0
}

pub(crate) fn options(epc: Option<EpcFormat>, cbv: CbvFormat) -> WriteOptions {
    WriteOptions {
        epc_format: epc,
        cbv_format: cbv,
        ..WriteOptions::default()
    }
}

/// The option combinations every test runs.
pub(crate) fn option_sets() -> Vec<(Option<EpcFormat>, CbvFormat)> {
    vec![
        (None, CbvFormat::NoPreference),
        (Some(EpcFormat::NeverTranslates), CbvFormat::NoPreference),
        (
            Some(EpcFormat::AlwaysGs1DigitalLink),
            CbvFormat::AlwaysWebUri,
        ),
        (Some(EpcFormat::AlwaysEpcUrn), CbvFormat::AlwaysUrn),
    ]
}

pub(crate) fn hashes(out: &Outcome) -> Vec<String> {
    out.events()
        .iter()
        .map(|e| e.hash_id.clone().expect("hashing is on"))
        .collect()
}

/// The header read, without its position; an empty one (a 2.0 header written only to hold
/// master data) counts as none.
fn header(out: &Outcome) -> Option<Header> {
    out.items
        .iter()
        .find_map(|i| match i {
            Item::Header(h) => Some(Header {
                position: Position::default(),
                ..(**h).clone()
            }),
            _ => None,
        })
        .filter(|h| *h != Header::default())
}

fn vocabularies(out: &Outcome) -> Vec<Vocabulary> {
    out.items
        .iter()
        .filter_map(|i| match i {
            Item::MasterData(v) => Some(Vocabulary {
                position: Position::default(),
                ..v.clone()
            }),
            _ => None,
        })
        .collect()
}

/// Findings that would mean the output is not laid out as the version's schema says.
const STRUCTURE: &[&str] = &[
    rules::ORDER.id,
    rules::UNEXPECTED.id,
    rules::DUPLICATE.id,
    rules::REQUIRED.id,
    rules::EVENT_LOCATION.id,
    rules::SBDH.id,
    rules::EMPTY_VALUE.id,
    rules::WRONG_VERSION_PLACE.id,
    rules::SCHEMA_VERSION.id,
    rules::CREATION_DATE.id,
    rules::VERSION_MISMATCH.id,
];

/// Whether an event has a field 1.2 has no element for (written in an inner `extension`,
/// which our 1.2 reader reads but reports).
fn has_2_0_only_fields(out: &Outcome) -> bool {
    out.events().iter().any(|e| {
        e.persistent_disposition.is_some()
            || !e.sensor_elements.is_empty()
            || !e.certification_info.is_empty()
    })
}

fn check_round_trip(name: &str, original: &Outcome, format: Format, options: WriteOptions) {
    let label = format!(
        "{name} as {format} ({:?}, {:?})",
        options.epc_format, options.cbv_format
    );
    let written = write_items(&original.items, format, options.clone());
    let back = read(&written);
    let text = || String::from_utf8_lossy(&written).into_owned();
    assert!(
        back.error.is_none(),
        "{label}: {:?}\n{}",
        back.error,
        text()
    );
    let version = match format {
        Format::Xml12 => EpcisVersion::V1,
        _ => EpcisVersion::V2,
    };
    match back.items.first() {
        Some(Item::DocumentStart(s)) => assert_eq!(s.version, version, "{label}"),
        other => panic!("{label}: {other:?}"),
    }
    assert_eq!(hashes(original), hashes(&back), "{label}\n{}", text());
    // The header and master data come back; identifiers as asked.
    let never = options.epc_format == Some(EpcFormat::NeverTranslates);
    if never {
        assert_eq!(header(original), header(&back), "{label}");
        assert_eq!(vocabularies(original), vocabularies(&back), "{label}");
    } else {
        assert_eq!(
            vocabularies(original).len(),
            vocabularies(&back).len(),
            "{label}"
        );
    }
    let before = original.rule_ids();
    let new: Vec<&str> = back
        .rule_ids()
        .into_iter()
        .filter(|r| !before.contains(r) && STRUCTURE.contains(r))
        .filter(|r| {
            // 2.0-only fields in a 1.2 document: in the inner extension, reported by our reader.
            !(*r == rules::WRONG_VERSION_PLACE.id
                && format == Format::Xml12
                && has_2_0_only_fields(original))
        })
        .filter(|r| {
            // A 2.0 header without SBDH (1.2 requires one; the writer invents no partners).
            !(*r == rules::SBDH.id
                && format == Format::Xml12
                && original
                    .items
                    .iter()
                    .any(|i| matches!(i, Item::Header(h) if h.sbdh.is_none())))
        })
        .collect();
    assert!(
        new.is_empty(),
        "{label}: {new:?}\n{:#?}\n{}",
        back.diagnostics,
        text()
    );
}

#[test]
fn every_fixture_written_as_xml_reads_back_with_the_same_event_hashes() {
    let mut checked = 0;
    for name in xml_fixtures() {
        let original = read(&fixture(&name));
        assert!(original.error.is_none(), "{name}: {:?}", original.error);
        for format in [Format::Xml12, Format::Xml2] {
            for (epc, cbv) in option_sets() {
                check_round_trip(&name, &original, format, options(epc, cbv));
                checked += 1;
            }
        }
    }
    assert!(checked >= 17 * 8, "{checked}");
}

#[test]
fn xml12_output_of_2_0_documents_reads_back_as_2_0_xml_with_the_same_hashes() {
    // 2.0 → 1.2 → 2.0: the 1.2 wrappers lose nothing on the way back.
    for name in xml_fixtures()
        .into_iter()
        .filter(|n| n.starts_with("epcis20"))
    {
        let original = read(&fixture(&name));
        let v12 = read(&write_items(
            &original.items,
            Format::Xml12,
            WriteOptions::default(),
        ));
        let v2 = read(&write_items(
            &v12.items,
            Format::Xml2,
            WriteOptions::default(),
        ));
        assert_eq!(hashes(&original), hashes(&v2), "{name}");
    }
}

#[test]
fn identifiers_are_written_in_the_form_asked_for() {
    let original = read(&fixture("generated-small.xml"));
    let dl = String::from_utf8(write_items(
        &original.items,
        Format::Xml2,
        WriteOptions::default(),
    ))
    .unwrap();
    assert!(dl.contains("<epc>https://id.gs1.org/01/"), "{dl}");
    assert!(!dl.contains("<epc>urn:epc:id:sgtin:"), "{dl}");
    assert!(dl.contains("<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>"));
    // Back to URNs: the prefix lengths come from what the caller knows (here: the URNs of
    // the original; the server: its company_prefixes table).
    let back = read(dl.as_bytes());
    let mut o = options(Some(EpcFormat::AlwaysEpcUrn), CbvFormat::AlwaysWebUri);
    for ev in original.events() {
        for (_, uri) in ev.epcs() {
            if let Ok(epc) = crate::gs1::parse_epc_uri(uri) {
                o.gcp.learn_from_epc(&epc);
            }
        }
    }
    let urn = String::from_utf8(write_items(&back.items, Format::Xml12, o)).unwrap();
    assert!(urn.contains("<epc>urn:epc:id:sgtin:"), "{urn}");
    assert!(!urn.contains("<epc>https://id.gs1.org/"), "{urn}");
    assert!(urn.contains("<bizStep>https://ref.gs1.org/cbv/BizStep-commissioning</bizStep>"));
    assert_eq!(hashes(&original), hashes(&read(urn.as_bytes())));
    // As given.
    let never = String::from_utf8(write_items(
        &original.items,
        Format::Xml2,
        options(Some(EpcFormat::NeverTranslates), CbvFormat::NoPreference),
    ))
    .unwrap();
    assert!(never.contains("<epc>urn:epc:id:sgtin:"));
}

#[test]
fn a_digital_link_without_a_known_prefix_length_stays_a_digital_link_and_is_counted() {
    let doc = super::doc20(
        r#"<ObjectEvent><eventTime>2025-04-20T08:00:00.000-05:00</eventTime>
<eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
<epcList><epc>https://id.gs1.org/01/09506000134352/21/A1</epc></epcList>
<action>OBSERVE</action></ObjectEvent>"#,
    );
    let original = read(&doc);
    let mut w = DocumentWriter::new(
        Vec::new(),
        Format::Xml12,
        options(Some(EpcFormat::AlwaysEpcUrn), CbvFormat::NoPreference),
    );
    for i in &original.items {
        w.item(i).unwrap();
    }
    let (out, summary) = w.finish().unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("<epc>https://id.gs1.org/01/09506000134352/21/A1</epc>"));
    assert_eq!(summary.untranslated, 1);
    assert_eq!(summary.epcs, 1);
    // With the prefix length known, the URN.
    let mut o = options(Some(EpcFormat::AlwaysEpcUrn), CbvFormat::NoPreference);
    o.gcp.learn("9506000").unwrap();
    let out = String::from_utf8(write_items(&original.items, Format::Xml12, o)).unwrap();
    assert!(
        out.contains("<epc>urn:epc:id:sgtin:9506000.013435.A1</epc>"),
        "{out}"
    );
}

#[test]
fn a_1_2_document_puts_base_fields_and_2_0_types_in_their_extension_wrappers() {
    let original = read(&fixture("epcis20xml/openepcis-AssociationEvent.xml"));
    let out = String::from_utf8(write_items(
        &original.items,
        Format::Xml12,
        WriteOptions::default(),
    ))
    .unwrap();
    assert!(
        out.contains("<extension>\n<extension>\n<AssociationEvent>"),
        "{out}"
    );
    let original = read(&fixture("epcis20xml/openepcis-TransformationEvent.xml"));
    let out = String::from_utf8(write_items(
        &original.items,
        Format::Xml12,
        WriteOptions::default(),
    ))
    .unwrap();
    assert!(out.contains("<extension>\n<TransformationEvent>"), "{out}");
    let original = read(&fixture(
        "epcis20xml/openepcis-ObjectEvent_with_error_declaration.xml",
    ));
    let out = String::from_utf8(write_items(
        &original.items,
        Format::Xml12,
        WriteOptions::default(),
    ))
    .unwrap();
    assert!(
        out.contains("<baseExtension>\n<eventID>") && out.contains("<errorDeclaration>"),
        "{out}"
    );
    // The 1.2 ObjectEvent puts source/destination and ILMD in its extension.
    let original = read(&fixture("epcis12/dscsa-gs1us-2.2.1.1-shipment.xml"));
    let out = String::from_utf8(write_items(
        &original.items,
        Format::Xml12,
        WriteOptions::default(),
    ))
    .unwrap();
    assert!(out.contains("<extension>\n<ilmd>"), "{out}");
    assert!(out.contains("<gs1ushc:dscsaTransactionStatement>"), "{out}");
    assert!(
        out.find("</extension>\n<gs1ushc:").is_some(),
        "header extensions after the master data: {out}"
    );
}

#[test]
fn unknown_extension_elements_are_written_back_with_their_namespaces() {
    let doc = super::doc12(
        r#"<ObjectEvent><eventTime>2025-04-20T08:00:00.000-05:00</eventTime>
<eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
<epcList><epc>urn:epc:id:sgtin:0312345.067890.S1</epc></epcList>
<action>OBSERVE</action>
<readPoint><id>urn:epc:id:sgln:0312345.00001.0</id><ex:dock>7</ex:dock></readPoint>
<ex:temperature unit="C" xmlns:o="https://other.example/">4<o:probe>A &amp; B</o:probe></ex:temperature>
<q:flag xmlns:q="urn:x:q"/>
</ObjectEvent>"#,
    );
    let original = read(&doc);
    for format in [Format::Xml12, Format::Xml2] {
        let out = write_items(&original.items, format, WriteOptions::default());
        let back = read(&out);
        let a = original.events()[0];
        let b = back.events()[0];
        assert_eq!(
            a.extensions,
            b.extensions,
            "{}",
            String::from_utf8_lossy(&out)
        );
        assert_eq!(a.read_point_extensions, b.read_point_extensions);
        assert_eq!(a.hash_id, b.hash_id);
    }
}

#[test]
fn a_master_data_document_stays_one_in_1_2_and_becomes_header_master_data_in_2_0() {
    let original = read(&fixture("epcis12/fastnt-masterdata-document.xml"));
    let v12 = read(&write_items(
        &original.items,
        Format::Xml12,
        WriteOptions::default(),
    ));
    match v12.items.first() {
        Some(Item::DocumentStart(s)) => assert_eq!(s.kind, DocumentKind::EpcisMasterDataDocument),
        other => panic!("{other:?}"),
    }
    let v2 = read(&write_items(
        &original.items,
        Format::Xml2,
        options(Some(EpcFormat::NeverTranslates), CbvFormat::NoPreference),
    ));
    match v2.items.first() {
        Some(Item::DocumentStart(s)) => assert_eq!(s.kind, DocumentKind::EpcisDocument),
        other => panic!("{other:?}"),
    }
    assert_eq!(vocabularies(&original), vocabularies(&v2));
    assert!(!vocabularies(&original).is_empty());
}

#[test]
fn spilled_events_are_written_from_their_files() {
    let doc = fixture("generated/dscsa-shipment-200.xml");
    let plain = read(&doc);
    let spilling = read_all(
        EpcisReader::new(&doc[..], Limits::default()).spill_to(SpillOptions {
            dir: std::env::temp_dir(),
            after: 3,
        }),
    );
    assert!(spilling.events().iter().any(|e| e.spilled.is_some()));
    for format in [Format::Xml12, Format::Xml2, Format::JsonLd] {
        for (epc, cbv) in option_sets() {
            let a = write_items(&plain.items, format, options(epc, cbv));
            let b = write_items(&spilling.items, format, options(epc, cbv));
            assert_eq!(a, b, "{format} {epc:?}");
            if format != Format::JsonLd {
                assert_eq!(hashes(&plain), hashes(&read(&b)));
            }
        }
    }
}
