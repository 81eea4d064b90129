//! DSCSA shipments out (issue 13) over real mutual TLS on a real PostgreSQL: the hierarchy as
//! it stood at the ship time, one commissioning event per lot with its own ILMD, every
//! refusal, flags and the return purpose, roles, and the capture round trip (our own capture
//! of every document we produce, into a second server's fresh database, with zero findings).

use dscsa_exchange::config::Organisation;
use dscsa_exchange::gs1::mod10_check_digit;
use dscsa_exchange::partners::Role;
use serde_json::{json, Value};

use crate::helpers::{scalar, TestDb};
use crate::tls_fixture::{spawn_partner_app, spawn_partner_app_with, tls_settings, PartnerApp};

/// A GLN from its first 12 digits.
fn gln(data: &str) -> String {
    format!("{data}{}", mod10_check_digit(data.as_bytes()) as char)
}

fn seller() -> String {
    gln("031234500000")
}

fn buyer() -> String {
    gln("039876500000")
}

const SHIP_FROM: &str = "urn:epc:id:sgln:0312345.00001.0";
const SHIP_TO: &str = "urn:epc:id:sgln:0398765.00002.0";
const PALLET: &str = "urn:epc:id:sscc:0312345.1000000001";
const SHIP_TIME: &str = "2025-03-01T11:00:00Z";

fn item(n: &str) -> String {
    format!("urn:epc:id:sgtin:0312345.067890.{n}")
}
fn other(n: &str) -> String {
    format!("urn:epc:id:sgtin:0312345.011111.{n}")
}
fn case(n: &str) -> String {
    format!("urn:epc:id:sgtin:0312345.567890.{n}")
}

fn attr(name: &str, value: &str) -> String {
    format!(r#"<attribute id="urn:epcglobal:cbv:mda#{name}">{value}</attribute>"#)
}

fn class(item_ref: &str, ndc: &str, name: &str) -> String {
    format!(
        r#"<VocabularyElement id="urn:epc:idpat:sgtin:0312345.{item_ref}.*">{}{}{}{}{}{}</VocabularyElement>"#,
        attr("additionalTradeItemIdentification", ndc),
        attr("regulatedProductName", name),
        attr("manufacturerOfTradeItemPartyName", "Seller Pharma Inc"),
        attr("dosageFormType", "TABLET"),
        attr("strengthDescription", "50 mg"),
        attr("netContentDescription", "100 TABLET"),
    )
}

fn location(id: &str, name: &str) -> String {
    format!(
        r#"<VocabularyElement id="{id}">{}{}{}{}{}{}</VocabularyElement>"#,
        attr("name", name),
        attr("streetAddressOne", "1 Main Street"),
        attr("city", "Springfield"),
        attr("state", "NJ"),
        attr("postalCode", "07081"),
        attr("countryCode", "US"),
    )
}

/// Master data: three products (item GTINs A and B, case GTIN C) and the four SGLNs.
fn master_data() -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:sbdh="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader" schemaVersion="1.2" creationDate="2025-01-01T00:00:00Z">
<EPCISHeader><sbdh:StandardBusinessDocumentHeader><sbdh:HeaderVersion>1.0</sbdh:HeaderVersion>
<sbdh:Sender><sbdh:Identifier Authority="SGLN">urn:epc:id:sgln:0312345.00000.0</sbdh:Identifier></sbdh:Sender>
<sbdh:Receiver><sbdh:Identifier Authority="SGLN">urn:epc:id:sgln:0312345.00000.0</sbdh:Identifier></sbdh:Receiver>
<sbdh:DocumentIdentification><sbdh:Standard>EPCglobal</sbdh:Standard><sbdh:TypeVersion>1.0</sbdh:TypeVersion>
<sbdh:InstanceIdentifier>md-1</sbdh:InstanceIdentifier><sbdh:Type>Events</sbdh:Type>
<sbdh:CreationDateAndTime>2025-01-01T00:00:00Z</sbdh:CreationDateAndTime></sbdh:DocumentIdentification>
</sbdh:StandardBusinessDocumentHeader><extension><EPCISMasterData><VocabularyList>
<Vocabulary type="urn:epcglobal:epcis:vtype:EPCClass"><VocabularyElementList>{}{}{}</VocabularyElementList></Vocabulary>
<Vocabulary type="urn:epcglobal:epcis:vtype:Location"><VocabularyElementList>{}{}{}{}</VocabularyElementList></Vocabulary>
</VocabularyList></EPCISMasterData></extension></EPCISHeader>
<EPCISBody><EventList/></EPCISBody></epcis:EPCISDocument>"#,
        class("067890", "12345-678-90", "Examplamide"),
        class("011111", "12345-111-11", "Otherol"),
        class("567890", "12345-678-90", "Examplamide case"),
        location("urn:epc:id:sgln:0312345.00000.0", "Seller Pharma Inc"),
        location(SHIP_FROM, "Seller Pharma DC"),
        location("urn:epc:id:sgln:0398765.00000.0", "Buyer Wholesale LLC"),
        location(SHIP_TO, "Buyer Wholesale DC"),
    )
}

fn commission(time: &str, epcs: &[String], lot: Option<(&str, &str)>) -> String {
    let list: String = epcs.iter().map(|e| format!("<epc>{e}</epc>")).collect();
    let ilmd = lot.map_or(String::new(), |(l, x)| {
        format!("<extension><ilmd><cbvmda:lotNumber>{l}</cbvmda:lotNumber><cbvmda:itemExpirationDate>{x}</cbvmda:itemExpirationDate></ilmd></extension>")
    });
    format!("<ObjectEvent><eventTime>{time}</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><epcList>{list}</epcList><action>ADD</action><bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep><disposition>urn:epcglobal:cbv:disp:active</disposition><bizLocation><id>{SHIP_FROM}</id></bizLocation>{ilmd}</ObjectEvent>\n")
}

fn aggregate(time: &str, action: &str, parent: &str, children: &[String]) -> String {
    let list: String = children.iter().map(|e| format!("<epc>{e}</epc>")).collect();
    let step = if action == "ADD" {
        "packing"
    } else {
        "unpacking"
    };
    format!("<AggregationEvent><eventTime>{time}</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset><parentID>{parent}</parentID><childEPCs>{list}</childEPCs><action>{action}</action><bizStep>urn:epcglobal:cbv:bizstep:{step}</bizStep></AggregationEvent>\n")
}

fn document(events: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:cbvmda="urn:epcglobal:cbv:mda" schemaVersion="1.2" creationDate="2025-01-01T00:00:00Z">
<EPCISBody><EventList>
{events}</EventList></EPCISBody></epcis:EPCISDocument>"#
    )
}

/// The history: items of GTIN A in two lots, GTIN B loose, cases C1..C4 (C2 of mixed lots),
/// one pallet. C3 leaves the pallet before the ship time (a partial pallet); C4 goes into it
/// after the ship time.
fn history() -> String {
    let items = |ns: &[&str]| ns.iter().map(|n| item(n)).collect::<Vec<_>>();
    let cases = |ns: &[&str]| ns.iter().map(|n| case(n)).collect::<Vec<_>>();
    let t = |h: &str| format!("2025-03-01T{h}:00Z");
    let mut e = String::new();
    e += &commission(
        &t("08:00"),
        &items(&["A1", "A2", "A3", "A4"]),
        Some(("LA1", "2027-06-30")),
    );
    e += &commission(
        &t("08:05"),
        &items(&["A5", "A6"]),
        Some(("LA2", "2027-12-31")),
    );
    e += &commission(
        &t("08:10"),
        &[other("B1"), other("B2")],
        Some(("LB1", "2028-01-31")),
    );
    e += &commission(
        &t("08:15"),
        &cases(&["C1", "C2", "C3", "C4"]),
        Some(("LC1", "2027-06-30")),
    );
    e += &commission(&t("08:20"), &[PALLET.to_string()], None);
    e += &aggregate(&t("09:00"), "ADD", &case("C1"), &items(&["A1", "A2"]));
    e += &aggregate(&t("09:01"), "ADD", &case("C2"), &items(&["A3", "A5"]));
    e += &aggregate(&t("09:02"), "ADD", &case("C3"), &items(&["A4", "A6"]));
    e += &aggregate(&t("09:03"), "ADD", &case("C4"), &[other("B2")]);
    e += &aggregate(&t("09:30"), "ADD", PALLET, &cases(&["C1", "C2", "C3"]));
    e += &aggregate(&t("10:00"), "DELETE", PALLET, &cases(&["C3"]));
    e += &aggregate(&t("12:00"), "ADD", PALLET, &cases(&["C4"]));
    document(&e)
}

struct Seller {
    app: PartnerApp,
    admin: reqwest::Client,
    trader: reqwest::Client,
}

async fn seller_app() -> Seller {
    let db = tokio::task::spawn_blocking(TestDb::create).await.unwrap();
    let mut settings = tls_settings(&db.url);
    settings.organisation = Some(Organisation {
        gln: seller().parse().unwrap(),
        name: "Seller Pharma Inc".into(),
        company_prefixes: vec!["0312345".into()],
        development: false,
    });
    let app = spawn_partner_app_with(db, settings).await;
    let (_, admin, _) = app.partner("0361414000018", Role::Admin).await;
    let (_, trader, _) = app.partner(&buyer(), Role::TradingPartner).await;
    for doc in [master_data(), history()] {
        let a = app.app.capture(&admin, doc).await;
        assert!(a.status < 300, "{:?}", a.body);
        assert_eq!(a.body["errors"], json!([]), "{:?}", a.body);
    }
    Seller { app, admin, trader }
}

fn request(epcs: &[&str]) -> Value {
    json!({
        "buyer": buyer(), "ship_from": SHIP_FROM, "ship_to": SHIP_TO, "epcs": epcs,
        "ship_time": SHIP_TIME,
        "biz_transactions": [{"type": "po", "id": "PO-5512"}, {"type": "inv", "id": "INV-77"}],
    })
}

async fn ship(s: &Seller, body: &Value) -> (u16, Value) {
    let res = s
        .admin
        .post(s.app.url("/shipments"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn document_of(s: &Seller, id: &str) -> String {
    let res = s
        .admin
        .get(s.app.url(&format!("/shipments/{id}/document")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// The reasons of a refusal answer.
fn reasons(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or("").to_string(),
                e["identifier"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn count(doc: &str, needle: &str) -> usize {
    doc.matches(needle).count()
}

#[tokio::test]
async fn a_shipment_covers_the_hierarchy_as_it_stood_at_the_ship_time_each_lot_with_its_own_ilmd() {
    let s = seller_app().await;
    let (status, body) = ship(&s, &request(&[PALLET, &other("B1")])).await;
    assert_eq!(status, 201, "{body}");
    // P1, C1, C2, A1, A2, A3, A5, B1: not C3 (unpacked before), not C4 (packed after).
    assert_eq!(body["serialCount"], 8, "{body}");
    assert_eq!(body["itemCount"], 5);
    assert_eq!(body["lotCount"], 5);
    assert_eq!(body["status"], "generated");
    let id = body["id"].as_str().unwrap();
    let doc = document_of(&s, id).await;
    for present in [
        item("A1"),
        item("A2"),
        item("A3"),
        item("A5"),
        case("C1"),
        case("C2"),
    ] {
        assert!(
            doc.contains(&format!(">{present}<")),
            "{present} missing:\n{doc}"
        );
    }
    for absent in [case("C3"), case("C4"), item("A4"), item("A6"), other("B2")] {
        assert!(
            !doc.contains(&format!(">{absent}<")),
            "{absent} shipped:\n{doc}"
        );
    }
    // One commissioning event per lot, each with its own ILMD; the pallet without.
    assert_eq!(count(&doc, "bizstep:commissioning"), 5, "{doc}");
    for lot in ["LA1", "LA2", "LB1", "LC1"] {
        assert_eq!(
            count(&doc, &format!(">{lot}</cbvmda:lotNumber>")),
            1,
            "{lot}:\n{doc}"
        );
    }
    assert!(doc.contains("<cbvmda:itemExpirationDate>2027-12-31</cbvmda:itemExpirationDate>"));
    // The packing of the hierarchy at the ship time: C1, C2 and the pallet of those two.
    assert_eq!(count(&doc, "<AggregationEvent>"), 3, "{doc}");
    assert!(
        doc.contains(&format!(
        "<parentID>{PALLET}</parentID>\n<childEPCs>\n<epc>{}</epc>\n<epc>{}</epc>\n</childEPCs>",
        case("C1"),
        case("C2")
    )),
        "{doc}"
    );
    // Master data: one EPCClass per GTIN with the NDC, one Location per SGLN.
    assert_eq!(count(&doc, "urn:epc:idpat:sgtin:"), 3, "{doc}");
    assert!(doc.contains(">12345067890</attribute>"), "{doc}");
    assert_eq!(count(&doc, "#countryCode"), 4);
    // The shipping event, the SBDH and the transaction statement.
    assert!(doc.contains(&format!("urn:epcglobal:cbv:bt:{}:PO-5512", buyer())));
    assert!(doc.contains(&format!("urn:epcglobal:cbv:bt:{}:INV-77", seller())));
    assert!(doc
        .contains("<gs1ushc:affirmTransactionStatement>true</gs1ushc:affirmTransactionStatement>"));
    assert!(doc.contains("<sbdh:Receiver>\n<sbdh:Identifier Authority=\"SGLN\">urn:epc:id:sgln:0398765.00000.0</sbdh:Identifier>"), "{doc}");
    assert!(doc.contains(&format!(
        "<sbdh:InstanceIdentifier>{}</sbdh:InstanceIdentifier>",
        body["instanceIdentifier"].as_str().unwrap()
    )));

    // The shipping event is in our own history: what was shipped is out of our custody.
    let url = s.app.app.db.url.clone();
    let shipped = scalar(
        &url,
        "SELECT count(*) FROM serial_state WHERE status = 3 AND epc_key = '010031234567890621A1'",
    );
    assert_eq!(shipped, 1, "an item on the shipped pallet is not shipped");
    // Shipping the same pallet again is refused: it left our custody.
    let (status, again) = ship(&s, &request(&[PALLET])).await;
    assert_eq!(status, 422, "{again}");
    assert_eq!(again["code"], "shipment-refused");
    assert!(
        reasons(&again).iter().any(|(r, _)| r == "not-in-custody"),
        "{again}"
    );

    // Listed and shown; the buyer sees its own shipment, nobody else's.
    let list = s.app.app.get_as(&s.admin, "/shipments").await;
    assert_eq!(list.body["shipments"].as_array().unwrap().len(), 1);
    let mine = s
        .app
        .app
        .get_as(&s.trader, &format!("/shipments/{id}"))
        .await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body["buyer"], buyer());
}

#[tokio::test]
async fn our_own_capture_accepts_every_shipment_document_with_zero_findings() {
    let s = seller_app().await;
    let (status, first) = ship(&s, &request(&[PALLET])).await;
    assert_eq!(status, 201, "{first}");
    let mut xml2 = request(&[&other("B1"), &case("C3")]);
    xml2["format"] = json!("xml2");
    let (status, second) = ship(&s, &xml2).await;
    assert_eq!(status, 201, "{second}");
    let docs = [
        document_of(&s, first["id"].as_str().unwrap()).await,
        document_of(&s, second["id"].as_str().unwrap()).await,
    ];
    assert!(docs[1].contains("urn:epcglobal:epcis:xsd:2"));
    // For checking by hand against the official schemas (docs/SHIPMENTS.md, "Schema check").
    if let Ok(dir) = std::env::var("DSCSA_KEEP_SHIPMENT_DOCS") {
        for (i, d) in docs.iter().enumerate() {
            std::fs::write(
                std::path::Path::new(&dir).join(format!("shipment-{i}.xml")),
                d,
            )
            .unwrap();
        }
    }

    // The buyer's side: a fresh server and database.
    let buyer_app = spawn_partner_app().await;
    let (_, admin, _) = buyer_app.partner("0361414000018", Role::Admin).await;
    for doc in docs {
        let a = buyer_app.app.capture(&admin, doc.clone()).await;
        assert!(a.status < 300, "{:?}\n{doc}", a.body);
        assert_eq!(a.body["errors"], json!([]), "{:?}", a.body);
        assert_eq!(a.body["warnings"], json!([]), "{:?}\n{doc}", a.body);
    }
    // The buyer now holds the shipped items, with the lots they were commissioned with.
    let url = buyer_app.app.db.url.clone();
    assert_eq!(
        scalar(&url, "SELECT count(*) FROM serials WHERE lot = 'LA2'"),
        1 + 1, // A5 (in C2 on the pallet) and A6 (in C3, shipped loose)
    );
    assert_eq!(
        scalar(
            &url,
            "SELECT count(*) FROM trade_items WHERE ndc = '12345067890'"
        ),
        2
    );
}

#[tokio::test]
async fn shipments_are_refused_with_what_which_and_how_to_fix() {
    let s = seller_app().await;
    // Out of our custody, and never here: a decommissioned item, an unknown serial.
    s.app
        .sql("UPDATE serials SET status = 6 WHERE epc_key LIKE '%21A4'")
        .await;
    let cases: [(Value, &str, &str); 6] = [
        (request(&[&item("ZZ9")]), "not-in-custody", "ZZ9"),
        (request(&[&case("C3")]), "not-in-custody", "A4"),
        (request(&[&case("C1")]), "inside-a-container", "C1"),
        (
            {
                let mut r = request(&[PALLET]);
                r["buyer"] = json!(gln("095200000000"));
                r
            },
            "unknown-buyer",
            "0952000000",
        ),
        (
            {
                let mut r = request(&[PALLET]);
                r["ship_to"] = json!("urn:epc:id:sgln:0398765.00009.0");
                r
            },
            "missing-master-data",
            "414",
        ),
        (request(&[&item("Q1")]), "not-in-custody", "Q1"),
    ];
    // A GTIN without product master data (D), commissioned here.
    let d = "urn:epc:id:sgtin:0312345.022222.D1";
    let a = s
        .app
        .app
        .capture(
            &s.admin,
            document(&commission(
                "2025-03-01T08:00:00Z",
                &[d.to_string()],
                Some(("LD", "2027-01-31")),
            )),
        )
        .await;
    assert!(a.status < 300, "{:?}", a.body);
    for (body, reason, which) in cases {
        let (status, answer) = ship(&s, &body).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["code"], "shipment-refused");
        let got = reasons(&answer);
        assert!(
            got.iter().any(|(r, i)| r == reason && i.contains(which)),
            "{body}: expected {reason} on {which}, got {answer}"
        );
        assert!(answer["errors"][0]["fix"]
            .as_str()
            .is_some_and(|f| !f.is_empty()));
    }
    let gtin_d = format!(
        "0031234522222{}",
        mod10_check_digit(b"0031234522222") as char
    );
    let (status, answer) = ship(&s, &request(&[d])).await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        reasons(&answer)
            .iter()
            .any(|(r, i)| r == "missing-master-data" && *i == gtin_d),
        "{answer}"
    );
    // Nothing of a refused shipment is stored.
    assert_eq!(
        scalar(&s.app.app.db.url, "SELECT count(*) FROM shipments"),
        0
    );
    assert_eq!(
        scalar(
            &s.app.app.db.url,
            "SELECT count(*) FROM documents WHERE direction = 'sent'"
        ),
        0
    );
    // A request that does not parse is a 400 naming the field.
    let mut bad = request(&[PALLET]);
    bad["ship_from"] = json!("urn:epc:id:sscc:0312345.1000000001");
    let (status, answer) = ship(&s, &bad).await;
    assert_eq!(status, 400);
    assert_eq!(answer["code"], "invalid-shipment");
    assert!(answer["detail"].as_str().unwrap().starts_with("ship_from"));
}

#[tokio::test]
async fn flagged_product_ships_only_as_a_return_or_quarantine_move() {
    let s = seller_app().await;
    s.app
        .sql("INSERT INTO product_flags (gtin, lot, flag, reason) VALUES ('00312345678906', 'LA2', 'recalled', 'recall R-1')")
        .await;
    let (status, answer) = ship(&s, &request(&[PALLET])).await;
    assert_eq!(status, 422, "{answer}");
    let got = reasons(&answer);
    assert!(
        got.iter()
            .any(|(r, i)| r == "flagged" && i.ends_with("/21/A5")),
        "{answer}"
    );
    assert!(answer["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("recall R-1"));
    let mut back = request(&[PALLET]);
    back["purpose"] = json!("return");
    let (status, answer) = ship(&s, &back).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["purpose"], "return");
}

#[tokio::test]
async fn only_our_operators_ship_and_partners_see_only_their_own_shipments() {
    let s = seller_app().await;
    let res = s
        .trader
        .post(s.app.url("/shipments"))
        .json(&request(&[PALLET]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let (status, body) = ship(&s, &request(&[PALLET])).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap();
    let (_, stranger, _) = s
        .app
        .partner(&gln("036141400002"), Role::TradingPartner)
        .await;
    let seen = s
        .app
        .app
        .get_as(&stranger, &format!("/shipments/{id}"))
        .await;
    assert_eq!(seen.status, 404);
    let list = s.app.app.get_as(&stranger, "/shipments").await;
    assert_eq!(list.body["shipments"], json!([]));
}
