//! Every shared corpus file reads without a fatal error, with the expected events.

use super::{fixture, read};
use crate::epcis::{
    Action, CbvTerm, DocumentKind, EpcisVersion, EventType, Item, LotSource, Severity,
};

fn counts(types: &[EventType]) -> [usize; 6] {
    let mut c = [0; 6];
    for t in types {
        c[*t as usize] += 1;
    }
    c
}

fn check(rel: &str, version: EpcisVersion, expected: &[(EventType, usize)]) -> super::Outcome {
    let out = read(&fixture(rel));
    assert!(out.error.is_none(), "{rel}: {:?}", out.error);
    let rejects: Vec<_> = out
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Reject)
        .collect();
    assert!(rejects.is_empty(), "{rel}: {rejects:#?}");
    match out.items.first() {
        Some(Item::DocumentStart(s)) => assert_eq!(s.version, version, "{rel}"),
        other => panic!("{rel}: first item {other:?}"),
    }
    assert!(matches!(out.items.last(), Some(Item::End)), "{rel}");
    let types: Vec<EventType> = out.events().iter().map(|e| e.event_type).collect();
    let mut want = Vec::new();
    for (t, n) in expected {
        want.extend(std::iter::repeat_n(*t, *n));
    }
    assert_eq!(counts(&types), counts(&want), "{rel}: {types:?}");
    for (i, e) in out.events().iter().enumerate() {
        assert_eq!(e.index, i as u64);
        assert!(
            e.hash_id
                .as_deref()
                .is_some_and(|h| h.starts_with("ni:///sha-256;")),
            "{rel}"
        );
    }
    out
}

#[test]
fn dscsa_shipment_reads_with_header_master_data_and_typed_fields() {
    let out = check(
        "epcis12/dscsa-gs1us-2.2.1.1-shipment.xml",
        EpcisVersion::V1,
        &[(EventType::Object, 4), (EventType::Aggregation, 4)],
    );
    let header = out
        .items
        .iter()
        .find_map(|i| {
            if let Item::Header(h) = i {
                Some(h)
            } else {
                None
            }
        })
        .expect("header item");
    let sbdh = header.sbdh.as_ref().expect("sbdh");
    assert_eq!(
        sbdh.senders[0].identifier,
        "urn:epc:id:sgln:030001.111111.0"
    );
    assert_eq!(sbdh.senders[0].authority.as_deref(), Some("GS1"));
    assert_eq!(
        sbdh.document_identification.instance_identifier.as_deref(),
        Some("1100220001")
    );
    let ts = header
        .transaction_statement
        .as_ref()
        .expect("transaction statement");
    assert_eq!(ts.affirmed, Some(true));
    assert!(ts.legal_notice.as_deref().unwrap().contains("581(27)"));
    assert_eq!(
        header.guideline_version.as_deref(),
        Some("GS1 US DSCSA R1.3")
    );
    let vocabs: Vec<_> = out
        .items
        .iter()
        .filter_map(|i| {
            if let Item::MasterData(v) = i {
                Some(v)
            } else {
                None
            }
        })
        .collect();
    let classes = vocabs
        .iter()
        .find(|v| v.vocabulary_type == "urn:epcglobal:epcis:vtype:EPCClass")
        .unwrap();
    let unit = classes
        .elements
        .iter()
        .find(|e| e.id == "urn:epc:idpat:sgtin:030001.0012345.*")
        .unwrap();
    assert_eq!(
        unit.attribute("urn:epcglobal:cbv:mda#regulatedProductName"),
        Some("Epcistra")
    );
    assert_eq!(
        unit.attribute("urn:epcglobal:cbv:mda#additionalTradeItemIdentification"),
        Some("0001-0123-45")
    );
    // Master data comes before the header item, which closes the header.
    let md_at = out
        .items
        .iter()
        .position(|i| matches!(i, Item::MasterData(_)))
        .unwrap();
    let header_at = out
        .items
        .iter()
        .position(|i| matches!(i, Item::Header(_)))
        .unwrap();
    assert!(md_at < header_at);

    let events = out.events();
    let commissioning: Vec<_> = events
        .iter()
        .filter(|e| e.biz_step == Some(CbvTerm::Standard("commissioning")))
        .filter(|e| e.epc_list[0].starts_with("urn:epc:id:sgtin:"))
        .collect();
    assert_eq!(commissioning.len(), 2);
    for e in &commissioning {
        assert_eq!(e.action, Some(Action::Add));
        assert!(e.ilmd.lot_number.is_some());
        assert_eq!(e.ilmd.lot_source, Some(LotSource::Cbvmda));
        assert!(e.ilmd.item_expiration_date.is_some());
    }
    let shipping = events
        .iter()
        .find(|e| e.biz_step == Some(CbvTerm::Standard("shipping")))
        .unwrap();
    assert_eq!(shipping.disposition, Some(CbvTerm::Standard("in_transit")));
    assert!(!shipping.biz_transactions.is_empty());
    assert!(shipping
        .sources
        .iter()
        .any(|s| s.sd_type == CbvTerm::Standard("owning_party")));
    assert!(shipping
        .destinations
        .iter()
        .any(|s| s.sd_type == CbvTerm::Standard("location")));
    // The gs1ushc:dropShipment extension is kept, not dropped.
    assert!(shipping
        .extensions
        .iter()
        .any(|x| x.local_name == "dropShipment" && x.text == "false"));
    let agg = events
        .iter()
        .find(|e| e.event_type == EventType::Aggregation)
        .unwrap();
    assert!(agg.parent_id.is_some() && !agg.child_epcs.is_empty());
}

#[test]
fn eecc_33_events_read_including_association_events_in_extensions() {
    let out = check(
        "epcis12/eecc-supply-chain-33-events.xml",
        EpcisVersion::V1,
        &[
            (EventType::Object, 22),
            (EventType::Aggregation, 8),
            (EventType::Association, 3),
        ],
    );
    assert_eq!(out.events().len(), 33);
}

#[test]
fn master_data_document_with_bom_reads_vocabularies_and_nested_attribute_xml() {
    let out = check(
        "epcis12/fastnt-masterdata-document.xml",
        EpcisVersion::V1,
        &[],
    );
    match &out.items[0] {
        Item::DocumentStart(s) => {
            assert_eq!(s.kind, DocumentKind::EpcisMasterDataDocument);
            assert_eq!(s.schema_version.as_deref(), Some("1.0"));
        }
        _ => unreachable!(),
    }
    let vocabs: Vec<_> = out
        .items
        .iter()
        .filter_map(|i| {
            if let Item::MasterData(v) = i {
                Some(v)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(vocabs.len(), 2);
    let first = &vocabs[0].elements[0];
    assert_eq!(
        first.children,
        vec![
            "urn:epc:id:sgln:0037000.00729.8201",
            "urn:epc:id:sgln:0037000.00729.8202"
        ]
    );
    let address = first
        .attributes
        .iter()
        .find(|a| a.id.ends_with("address"))
        .unwrap();
    assert_eq!(address.elements[0].local_name, "Address");
    assert_eq!(address.elements[0].children[1].text, "Fancy");
    assert_eq!(
        first.attribute("http://epcis.example.com/mda/latitude"),
        Some("+18.0000")
    );
}

#[test]
fn small_openepcis_1_2_files_read() {
    check(
        "epcis12/openepcis-ObjectEvent.xml",
        EpcisVersion::V1,
        &[(EventType::Object, 1)],
    );
    let agg = check(
        "epcis12/openepcis-AggregationEvent.xml",
        EpcisVersion::V1,
        &[(EventType::Aggregation, 1)],
    );
    let e = agg.events()[0];
    assert_eq!(e.biz_transactions.len(), 3);
    assert_eq!(e.sources.len(), 1);
    assert_eq!(e.destinations.len(), 1);
    check(
        "epcis12/openepcis-TransactionEvent.xml",
        EpcisVersion::V1,
        &[(EventType::Transaction, 1)],
    );
    let t = check(
        "epcis12/openepcis-TransformationEvent.xml",
        EpcisVersion::V1,
        &[(EventType::Transformation, 1)],
    );
    let e = t.events()[0];
    assert_eq!(e.input_epcs, vec!["urn:epc:id:sgtin:4012345.011111.987"]);
    assert_eq!(e.input_quantity_list[0].quantity, None, "xsi:nil quantity");
    assert_eq!(e.output_quantity_list[0].quantity, Some(452.0));
    assert_eq!(e.output_quantity_list[0].uom.as_deref(), Some("KGM"));
    let d = e.error_declaration.as_ref().unwrap();
    assert_eq!(d.reason, Some(CbvTerm::Standard("incorrect_data")));
    assert_eq!(d.corrective_event_ids.len(), 1);
    assert_eq!(d.extensions[0].local_name, "vendorExtension");
    assert_eq!(
        e.event_id.as_deref(),
        Some("urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8")
    );
}

#[test]
fn epcis_2_0_files_read() {
    let o = check(
        "epcis20xml/openepcis-ObjectEvent.xml",
        EpcisVersion::V2,
        &[(EventType::Object, 2)],
    );
    assert!(o
        .events()
        .iter()
        .all(|e| e.event_time.as_ref().unwrap().value.is_some()));
    check(
        "epcis20xml/openepcis-AggregationEvent.xml",
        EpcisVersion::V2,
        &[(EventType::Aggregation, 1)],
    );
    check(
        "epcis20xml/openepcis-TransactionEvent.xml",
        EpcisVersion::V2,
        &[(EventType::Transaction, 2)],
    );
    let t = check(
        "epcis20xml/openepcis-TransformationEvent.xml",
        EpcisVersion::V2,
        &[(EventType::Transformation, 1)],
    );
    assert!(!t.events()[0].ilmd.is_empty());
    let a = check(
        "epcis20xml/openepcis-AssociationEvent.xml",
        EpcisVersion::V2,
        &[(EventType::Association, 2)],
    );
    assert_eq!(a.events()[1].child_quantity_list[0].quantity, Some(4.0));
    assert_eq!(a.events()[1].sensor_elements.len(), 1);
    let s = check(
        "epcis20xml/openepcis-ObjectEvent_with_sensorData.xml",
        EpcisVersion::V2,
        &[(EventType::Object, 1)],
    );
    let sensors = &s.events()[0].sensor_elements;
    assert_eq!(sensors.len(), 3);
    assert_eq!(sensors[0].children.len(), 5);
    let err = check(
        "epcis20xml/openepcis-ObjectEvent_with_error_declaration.xml",
        EpcisVersion::V2,
        &[(EventType::Object, 2)],
    );
    let d = err.events()[0].error_declaration.as_ref().unwrap();
    assert_eq!(d.corrective_event_ids.len(), 2);
    assert_eq!(
        err.events()[1].extensions[0].text,
        "Example of a vendor/user extension"
    );
    let md = check(
        "epcis20xml/fastnt-ObjectEvent-with-masterdata.xml",
        EpcisVersion::V2,
        &[(EventType::Object, 1)],
    );
    assert!(md
        .items
        .iter()
        .any(|i| matches!(i, Item::MasterData(v) if v.vocabulary_type.ends_with("ReadPoint"))));
}

#[test]
fn generated_dscsa_style_document_reads_clean() {
    // Same shape as tools/gen_epcis.py output (SBDH, master data, transaction statement).
    let out = read(&fixture("generated-small.xml"));
    assert!(out.error.is_none(), "{:?}", out.error);
    assert!(out.diagnostics.is_empty(), "{:#?}", out.diagnostics);
    assert_eq!(out.events().len(), 10);
    let epc_refs: usize = out.events().iter().map(|e| e.epc_count()).sum();
    assert_eq!(epc_refs, 58);
}

#[test]
fn epcis_2_0_persistent_disposition_and_certification_info_are_kept() {
    let doc = super::doc20(
        r#"<ObjectEvent><eventTime>2025-04-20T08:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
<certificationInfo>https://cert.example.com/c/1</certificationInfo>
<epcList><epc>https://id.gs1.org/01/00312345678906/21/S1</epc></epcList><action>OBSERVE</action>
<bizStep>inspecting</bizStep><disposition>https://ref.gs1.org/cbv/Disp-conformant</disposition>
<persistentDisposition><set>completeness_verified</set><unset>urn:epcglobal:cbv:disp:needs_replacement</unset></persistentDisposition>
</ObjectEvent>"#,
    );
    let out = read(&doc);
    assert!(
        out.error.is_none() && out.diagnostics.is_empty(),
        "{:?} {:#?}",
        out.error,
        out.diagnostics
    );
    let e = out.events()[0];
    assert_eq!(e.certification_info, vec!["https://cert.example.com/c/1"]);
    assert_eq!(e.biz_step, Some(CbvTerm::Standard("inspecting")));
    let pd = e.persistent_disposition.as_ref().unwrap();
    assert_eq!(pd.set, vec![CbvTerm::Standard("completeness_verified")]);
    assert_eq!(pd.unset, vec![CbvTerm::Standard("needs_replacement")]);
    let epcs: Vec<_> = e.epcs().collect();
    assert_eq!(
        epcs,
        vec![(
            crate::epcis::EpcRole::Epc,
            "https://id.gs1.org/01/00312345678906/21/S1"
        )]
    );
}

#[test]
fn deprecated_quantity_event_is_accepted_as_a_quantity_element() {
    let doc = super::doc12(
        r#"<QuantityEvent><eventTime>2025-04-20T08:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
<epcClass>urn:epc:idpat:sgtin:0312345.067890.*</epcClass><quantity>12</quantity>
<bizStep>urn:epcglobal:cbv:bizstep:receiving</bizStep></QuantityEvent>"#,
    );
    let out = read(&doc);
    assert!(
        out.error.is_none() && out.diagnostics.is_empty(),
        "{:?} {:#?}",
        out.error,
        out.diagnostics
    );
    let e = out.events()[0];
    assert_eq!(e.event_type, EventType::Quantity);
    assert_eq!(e.quantity_list.len(), 1);
    assert_eq!(
        e.quantity_list[0].epc_class,
        "urn:epc:idpat:sgtin:0312345.067890.*"
    );
    assert_eq!(e.quantity_list[0].quantity, Some(12.0));
}

#[test]
fn legacy_gs1ushc_lot_is_read_and_cbvmda_wins_when_both_are_given() {
    let legacy = super::OBJECT_EVENT.replace(
        "<ilmd><cbvmda:lotNumber>LOT42</cbvmda:lotNumber>",
        r#"<ilmd><gs1ushc:lotNumber xmlns:gs1ushc="http://epcis.gs1us.org/hc/ns">OLD7</gs1ushc:lotNumber><ex:grade>A</ex:grade>"#,
    );
    let out = read(&super::doc12(&legacy));
    assert!(out.diagnostics.is_empty(), "{:#?}", out.diagnostics);
    let ilmd = &out.events()[0].ilmd;
    assert_eq!(ilmd.lot_number.as_deref(), Some("OLD7"));
    assert_eq!(ilmd.lot_source, Some(LotSource::Gs1Ushc));
    assert_eq!(ilmd.elements.len(), 3, "other ILMD elements are kept");
    assert!(ilmd
        .elements
        .iter()
        .any(|e| e.local_name == "grade" && e.text == "A"));

    let both = super::OBJECT_EVENT.replace(
        "</ilmd>",
        r#"<gs1ushc:lotNumber xmlns:gs1ushc="http://epcis.gs1us.org/hc/ns">OLD7</gs1ushc:lotNumber></ilmd>"#,
    );
    let out = read(&super::doc12(&both));
    let ilmd = &out.events()[0].ilmd;
    assert_eq!(ilmd.lot_number.as_deref(), Some("LOT42"));
    assert_eq!(ilmd.lot_source, Some(LotSource::Cbvmda));
}
