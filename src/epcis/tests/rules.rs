//! One test per rule: a small document that triggers exactly that rule, and the valid
//! counterpart that does not.

use super::{doc12, doc20, read, read_with, OBJECT_EVENT};
use crate::epcis::diagnostics::{rules, Rule, ALL_RULES};
use crate::epcis::{Limits, Severity};

const SBDH: &str = r#"<sbdh:StandardBusinessDocumentHeader xmlns:sbdh="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader">
<sbdh:HeaderVersion>1.0</sbdh:HeaderVersion>
<sbdh:Sender><sbdh:Identifier Authority="SGLN">urn:epc:id:sgln:0312345.00000.0</sbdh:Identifier></sbdh:Sender>
<sbdh:Receiver><sbdh:Identifier Authority="SGLN">urn:epc:id:sgln:0398765.00000.0</sbdh:Identifier></sbdh:Receiver>
<sbdh:DocumentIdentification><sbdh:Standard>EPCglobal</sbdh:Standard><sbdh:TypeVersion>1.0</sbdh:TypeVersion>
<sbdh:InstanceIdentifier>6f1c</sbdh:InstanceIdentifier><sbdh:Type>Events</sbdh:Type>
<sbdh:CreationDateAndTime>2025-05-01T15:00:00Z</sbdh:CreationDateAndTime></sbdh:DocumentIdentification>
</sbdh:StandardBusinessDocumentHeader>"#;

fn with_header(header: &str) -> Vec<u8> {
    format!(
        r#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:gs1ushc="http://epcis.gs1us.org/hc/ns" xmlns:cbvmda="urn:epcglobal:cbv:mda" schemaVersion="1.2" creationDate="2025-05-01T15:00:00Z">
<EPCISHeader>{header}</EPCISHeader><EPCISBody><EventList>{OBJECT_EVENT}</EventList></EPCISBody></epcis:EPCISDocument>"#
    )
    .into_bytes()
}

fn event(replace: &str, with: &str) -> Vec<u8> {
    assert!(OBJECT_EVENT.contains(replace), "{replace}");
    doc12(&OBJECT_EVENT.replace(replace, with))
}

const AGGREGATION: &str = r#"<AggregationEvent><eventTime>2025-04-20T08:05:00Z</eventTime><eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
<parentID>urn:epc:id:sgtin:0312345.567890.C77</parentID>
<childEPCs><epc>urn:epc:id:sgtin:0312345.067890.S1001</epc></childEPCs>
<action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:packing</bizStep></AggregationEvent>"#;

const SHIPPING_EXT: &str = r#"<extension><sourceList><source type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:sgln:0312345.00000.0</source></sourceList></extension>"#;

/// `bad` triggers exactly `rule`; `good` triggers nothing.
fn case(rule: &Rule, bad: &[u8], good: &[u8]) {
    let b = read(bad);
    assert!(b.error.is_none(), "{}: {:?}", rule.id, b.error);
    assert_eq!(
        b.rule_ids(),
        vec![rule.id],
        "{}: {:#?}",
        rule.id,
        b.diagnostics
    );
    let d = b.diagnostics.iter().find(|d| d.rule == rule.id).unwrap();
    assert!(d.line > 0 && d.column > 0);
    assert!(!d.message.is_empty() && !d.hint.is_empty());
    let g = read(good);
    assert!(g.error.is_none(), "{}: {:?}", rule.id, g.error);
    assert!(
        g.diagnostics.is_empty(),
        "{} (valid counterpart): {:#?}",
        rule.id,
        g.diagnostics
    );
}

fn root(attrs: &str) -> Vec<u8> {
    format!(r#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" {attrs}><EPCISBody><EventList/></EPCISBody></epcis:EPCISDocument>"#).into_bytes()
}

#[test]
fn schema_version_missing() {
    case(
        &rules::SCHEMA_VERSION,
        &root(r#"creationDate="2025-05-01T15:00:00Z""#),
        &root(r#"schemaVersion="1.2" creationDate="2025-05-01T15:00:00Z""#),
    );
    case(
        &rules::SCHEMA_VERSION,
        &root(r#"schemaVersion="v1.2" creationDate="2025-05-01T15:00:00Z""#),
        &root(r#"schemaVersion="1.2" creationDate="2025-05-01T15:00:00Z""#),
    );
}

#[test]
fn creation_date_missing_or_invalid() {
    case(
        &rules::CREATION_DATE,
        &root(r#"schemaVersion="1.2""#),
        &root(r#"schemaVersion="1.2" creationDate="2025-05-01T15:00:00Z""#),
    );
    case(
        &rules::CREATION_DATE,
        &root(r#"schemaVersion="1.2" creationDate="2025-13-01T15:00:00Z""#),
        &root(r#"schemaVersion="1.2" creationDate="2025-12-01T15:00:00+01:00""#),
    );
}

#[test]
fn schema_version_disagrees_with_namespace() {
    case(
        &rules::VERSION_MISMATCH,
        &root(r#"schemaVersion="2.0" creationDate="2025-05-01T15:00:00Z""#),
        &root(r#"schemaVersion="1.1" creationDate="2025-05-01T15:00:00Z""#),
    );
}

#[test]
fn required_element_missing() {
    case(
        &rules::REQUIRED,
        &event("<eventTimeZoneOffset>-05:00</eventTimeZoneOffset>", ""),
        &doc12(OBJECT_EVENT),
    );
    case(
        &rules::REQUIRED,
        &event(
            "<readPoint><id>urn:epc:id:sgln:0312345.00001.0</id></readPoint>",
            "<readPoint></readPoint>",
        ),
        &doc12(OBJECT_EVENT),
    );
}

#[test]
fn element_out_of_order_is_reported_at_its_position() {
    let bad = event(
        "<action>ADD</action>\n<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>",
        "<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>\n<action>ADD</action>",
    );
    case(&rules::ORDER, &bad, &doc12(OBJECT_EVENT));
    let d = read(&bad).diagnostics.remove(0);
    assert_eq!((d.line, d.column, d.event_index), (9, 1, Some(0)));
    assert!(
        d.message.contains("`action` must come before `bizStep`"),
        "{}",
        d.message
    );
    // A standard field after a user extension is out of order too.
    let bad = event("<readPoint>", "<ex:mine>1</ex:mine><readPoint>");
    case(
        &rules::ORDER,
        &bad,
        &event("</extension>", "</extension><ex:mine>1</ex:mine>"),
    );
}

#[test]
fn unexpected_unqualified_element() {
    case(
        &rules::UNEXPECTED,
        &event(
            "<action>ADD</action>",
            "<action>ADD</action><color>red</color>",
        ),
        &doc12(OBJECT_EVENT),
    );
}

#[test]
fn duplicate_element() {
    case(
        &rules::DUPLICATE,
        &event(
            "<action>ADD</action>",
            "<action>ADD</action><action>ADD</action>",
        ),
        &doc12(OBJECT_EVENT),
    );
}

#[test]
fn aggregation_add_without_parent() {
    case(
        &rules::PARENT_REQUIRED,
        &doc12(&AGGREGATION.replace(
            "<parentID>urn:epc:id:sgtin:0312345.567890.C77</parentID>",
            "",
        )),
        &doc12(AGGREGATION),
    );
}

#[test]
fn source_without_type() {
    let good = String::from_utf8(event(
        "<extension>",
        &SHIPPING_EXT.replace("</extension>", ""),
    ))
    .unwrap();
    let bad = good.replace(r#" type="urn:epcglobal:cbv:sdt:owning_party""#, "");
    case(&rules::SOURCE_DEST_TYPE, bad.as_bytes(), good.as_bytes());
}

#[test]
fn flattened_2_0_field_in_a_1_2_event() {
    let bad = event(
        "<extension><ilmd><cbvmda:lotNumber>LOT42</cbvmda:lotNumber><cbvmda:itemExpirationDate>2027-06-30</cbvmda:itemExpirationDate></ilmd></extension>",
        "<ilmd><cbvmda:lotNumber>LOT42</cbvmda:lotNumber><cbvmda:itemExpirationDate>2027-06-30</cbvmda:itemExpirationDate></ilmd>",
    );
    case(&rules::WRONG_VERSION_PLACE, &bad, &doc12(OBJECT_EVENT));
    let out = read(&bad);
    assert_eq!(
        out.events()[0].ilmd.lot_number.as_deref(),
        Some("LOT42"),
        "data is kept anyway"
    );
}

#[test]
fn sbdh_missing_from_1_2_header() {
    case(&rules::SBDH, &with_header(""), &with_header(SBDH));
    case(
        &rules::SBDH,
        &with_header(&SBDH.replace("<sbdh:HeaderVersion>1.0</sbdh:HeaderVersion>", "")),
        &with_header(SBDH),
    );
}

#[test]
fn aggregation_observe_without_children() {
    let good = AGGREGATION.replace("<action>ADD</action>", "<action>OBSERVE</action>");
    let bad = good.replace("<epc>urn:epc:id:sgtin:0312345.067890.S1001</epc>", "");
    case(&rules::EMPTY_AGGREGATION, &doc12(&bad), &doc12(&good));
}

#[test]
fn ilmd_on_an_observe_event() {
    let bad = event("<action>ADD</action>", "<action>OBSERVE</action>");
    case(&rules::ILMD_NOT_ADD, &bad, &doc12(OBJECT_EVENT));
}

#[test]
fn empty_epc() {
    case(
        &rules::EMPTY_VALUE,
        &event("urn:epc:id:sgtin:0312345.067890.S1001", "  "),
        &doc12(OBJECT_EVENT),
    );
}

#[test]
fn event_outside_the_event_list() {
    let good = doc12(OBJECT_EVENT);
    let bad = String::from_utf8(good.clone())
        .unwrap()
        .replace("<EPCISBody><EventList>", "<EPCISBody>")
        .replace("</EventList></EPCISBody>", "</EPCISBody>");
    case(&rules::EVENT_LOCATION, bad.as_bytes(), &good);
}

#[test]
fn invalid_date_time() {
    case(
        &rules::DATE_TIME,
        &event("2025-04-20T08:00:00.000-05:00", "20 April 2025"),
        &doc12(OBJECT_EVENT),
    );
}

#[test]
fn date_time_without_zone() {
    let ev20 = OBJECT_EVENT
        .replace("<extension><ilmd>", "<ilmd>")
        .replace("</ilmd></extension>", "</ilmd>");
    let bad = doc20(&ev20.replace("2025-04-20T08:00:00.000-05:00", "2025-04-20T08:00:00.000"));
    case(&rules::DATE_TIME_ZONE, &bad, &doc20(&ev20));
    assert_eq!(read(&bad).diagnostics[0].severity, Severity::Reject);
    // In 1.2 the zone is optional in the schema: only a warning.
    let warn = read(&event(
        "2025-04-20T08:00:00.000-05:00",
        "2025-04-20T08:00:00",
    ));
    assert_eq!(warn.rule_ids(), vec![rules::DATE_TIME_ZONE.id]);
    assert_eq!(warn.diagnostics[0].severity, Severity::Warn);
}

#[test]
fn bad_time_zone_offset() {
    case(
        &rules::TIME_ZONE_OFFSET,
        &event("<eventTimeZoneOffset>-05:00", "<eventTimeZoneOffset>-5:00"),
        &doc12(OBJECT_EVENT),
    );
}

#[test]
fn bad_action() {
    case(
        &rules::ACTION,
        &event("<action>ADD</action>", "<action>add</action>"),
        &doc12(OBJECT_EVENT),
    );
}

#[test]
fn bad_quantity() {
    let q = |v: &str| {
        event(
            "<extension><ilmd>",
            &format!("<extension><quantityList><quantityElement><epcClass>urn:epc:class:lgtin:0312345.067890.LOT42</epcClass><quantity>{v}</quantity><uom>KGM</uom></quantityElement></quantityList><ilmd>"),
        )
    };
    case(&rules::QUANTITY, &q("ten"), &q("10.5"));
}

#[test]
fn unknown_cbv_term() {
    case(
        &rules::CBV_VALUE,
        &event("bizstep:commissioning", "bizstep:comissioning"),
        &doc12(OBJECT_EVENT),
    );
}

#[test]
fn invalid_expiration_date() {
    case(
        &rules::DATE,
        &event("2027-06-30", "2027-02-30"),
        &doc12(OBJECT_EVENT),
    );
}

#[test]
fn non_boolean_affirmation() {
    let ts = |v: &str| {
        format!("{SBDH}<gs1ushc:dscsaTransactionStatement><gs1ushc:affirmTransactionStatement>{v}</gs1ushc:affirmTransactionStatement></gs1ushc:dscsaTransactionStatement>")
    };
    case(
        &rules::BOOLEAN,
        &with_header(&ts("yes")),
        &with_header(&ts("true")),
    );
    case(
        &rules::TRANSACTION_STATEMENT,
        &with_header(&ts("false")),
        &with_header(&ts("1")),
    );
}

#[test]
fn identifier_that_is_not_a_uri() {
    case(
        &rules::NOT_URI,
        &event(
            "urn:epc:id:sgtin:0312345.067890.S1001",
            "0312345.067890.S1001",
        ),
        &doc12(OBJECT_EVENT),
    );
}

#[test]
fn invalid_gs1_identifier() {
    // Wrong number of digits for a 7-digit company prefix: GCP + item reference must be 13.
    let bad = event(
        "urn:epc:id:sgtin:0312345.067890.S1001",
        "urn:epc:id:sgtin:0312345.06789.S1001",
    );
    case(&rules::IDENTIFIER, &bad, &doc12(OBJECT_EVENT));
    let d = read(&bad).diagnostics.remove(0);
    assert!(
        d.message.contains("urn:epc:id:sgtin:0312345.06789.S1001"),
        "{}",
        d.message
    );
}

#[test]
fn lot_that_is_not_a_gs1_lot() {
    case(&rules::LOT, &event("LOT42", "LOT 42"), &doc12(OBJECT_EVENT));
    let ok = read(&doc12(OBJECT_EVENT));
    let ilmd = &ok.events()[0].ilmd;
    assert_eq!(
        ilmd.lot.map(|l| l.as_str().to_owned()).as_deref(),
        Some("LOT42")
    );
    assert_eq!(
        ilmd.expiry.map(|e| e.as_str().to_owned()).as_deref(),
        Some("270630")
    );
}

#[test]
fn vocabulary_without_type() {
    let md = |t: &str| {
        format!(
            r#"{SBDH}<extension><EPCISMasterData><VocabularyList><Vocabulary {t}><VocabularyElementList><VocabularyElement id="urn:epc:id:sgln:0312345.00000.0"><attribute id="urn:epcglobal:cbv:mda#name">Seller &amp; Co</attribute></VocabularyElement></VocabularyElementList></Vocabulary></VocabularyList></EPCISMasterData></extension>"#
        )
    };
    case(
        &rules::VOCABULARY,
        &with_header(&md("")),
        &with_header(&md(r#"type="urn:epcglobal:epcis:vtype:Location""#)),
    );
    let out = read(&with_header(&md(
        r#"type="urn:epcglobal:epcis:vtype:Location""#,
    )));
    let v = out
        .items
        .iter()
        .find_map(|i| {
            if let crate::epcis::Item::MasterData(v) = i {
                Some(v)
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(
        v.elements[0].attribute("urn:epcglobal:cbv:mda#name"),
        Some("Seller & Co")
    );
}

#[test]
fn too_many_diagnostics_are_truncated_with_a_note() {
    let three = doc12(
        &[
            OBJECT_EVENT.replace("ADD", "add"),
            OBJECT_EVENT.replace("ADD", "add"),
            OBJECT_EVENT.replace("ADD", "add"),
        ]
        .concat(),
    );
    let out = read_with(
        &three,
        Limits {
            max_diagnostics: 1,
            ..Limits::default()
        },
    );
    assert_eq!(out.diagnostics.len(), 2);
    assert_eq!(out.diagnostics[1].rule, rules::DIAGNOSTICS_TRUNCATED.id);
    assert!(out.diagnostics[1].message.starts_with("2 further"));
    let all = read(&three);
    assert_eq!(
        all.diagnostics.len(),
        3,
        "every error is reported, not just the first"
    );
    assert_eq!(
        all.diagnostics
            .iter()
            .map(|d| d.event_index)
            .collect::<Vec<_>>(),
        vec![Some(0), Some(1), Some(2)]
    );
}

#[test]
fn rules_catalogue_lists_every_rule_once() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/RULES.md")).unwrap();
    let mut ids: Vec<&str> = ALL_RULES.iter().map(|r| r.id).collect();
    for r in ALL_RULES {
        let row = format!("| `{}` |", r.id);
        assert_eq!(doc.matches(&row).count(), 1, "{} in docs/RULES.md", r.id);
    }
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "rule ids are unique");
}

#[test]
fn positions_count_lines_across_crlf_and_multi_line_tags() {
    let bad =
        String::from_utf8(event("<action>ADD</action>", "<action\n   >add</action>")).unwrap();
    let crlf = bad.replace('\n', "\r\n");
    for doc in [bad, crlf] {
        let out = read(doc.as_bytes());
        let d = out
            .diagnostics
            .iter()
            .find(|d| d.rule == rules::ACTION.id)
            .expect("action finding");
        assert_eq!((d.line, d.column), (8, 1), "{doc:?}");
        // The element after the two-line tag is on line 10.
        let out2 = read(
            doc.replace(
                "<bizStep>urn:epcglobal:cbv:bizstep:commissioning",
                "<bizStep>urn:epcglobal:cbv:bizstep:x",
            )
            .as_bytes(),
        );
        let d2 = out2
            .diagnostics
            .iter()
            .find(|d| d.rule == rules::CBV_VALUE.id)
            .expect("cbv finding");
        assert_eq!((d2.line, d2.column), (10, 1));
    }
}
