//! EPCIS queries and export (issue 12): what comes out keeps each event's meaning (the CBV 2.0
//! hash of every event read back from our 1.2 and 2.0 XML equals the hash it was captured
//! with), pages are stable under a concurrent capture, and a partner sees only its events.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dscsa_exchange::capture::{ErrorBehaviour, Outcome};
use dscsa_exchange::epcis::write::{Format, WriteOptions};
use dscsa_exchange::epcis::{EpcisReader, Item, Limits};
use dscsa_exchange::partners::Role;
use dscsa_exchange::query::{self, PageKey, Viewer};

use crate::capture::capture_with;
use crate::helpers::TestDb;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/epcis")
}

/// Every XML fixture that is an event document: the corpus, the generated shipments and the
/// third-party documents that must be accepted.
fn event_fixtures() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["epcis12", "epcis20xml", "thirdparty/valid", "generated"] {
        for e in std::fs::read_dir(fixtures().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "xml") {
                files.push(p);
            }
        }
    }
    files.push(fixtures().join("generated-small.xml"));
    files.sort();
    files
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn stored_hashes(db: &TestDb) -> BTreeSet<String> {
    crate::helpers::strings(
        &db.url,
        "SELECT 'ni:///sha-256;' || encode(event_hash, 'hex') || '?ver=CBV2.0' AS v
           FROM events WHERE error_declaration_time IS NULL",
    )
    .into_iter()
    .collect()
}

fn hashes_read_back(doc: &[u8]) -> Vec<String> {
    let mut reader = EpcisReader::new(doc, Limits::default());
    let mut hashes = Vec::new();
    while let Some(item) = reader.next_item().expect("our output reads back") {
        if let Item::Event(ev) = item {
            hashes.push(ev.hash_id.clone().unwrap());
        }
    }
    hashes
}

#[test]
fn every_stored_event_exported_as_1_2_or_2_0_xml_hashes_as_captured() {
    let db = TestDb::create();
    let mut accepted = 0;
    for f in event_fixtures() {
        let report = capture_with(&db, &std::fs::read(&f).unwrap(), ErrorBehaviour::Proceed);
        if report.outcome != Outcome::Rejected {
            accepted += 1;
        }
    }
    assert!(accepted >= 20, "{accepted} fixtures accepted");
    let stored = stored_hashes(&db);
    assert!(stored.len() > 50, "{} events stored", stored.len());
    let viewer = Viewer::everything("test");
    let all = query::parse(&[]).unwrap();
    let mut conn = db.conn();
    for format in [Format::Xml12, Format::Xml2] {
        let (doc, summary) = query::export(
            &mut conn,
            &viewer,
            &all,
            format,
            WriteOptions::default(),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(summary.events as usize, stored.len(), "{format:?}");
        let read: Vec<String> = hashes_read_back(&doc);
        assert_eq!(read.len(), stored.len(), "{format:?}: each event once");
        let read: BTreeSet<String> = read.into_iter().collect();
        let lost: Vec<_> = stored.difference(&read).take(5).collect();
        assert!(
            lost.is_empty(),
            "{format:?}: events whose meaning changed: {lost:?}"
        );
    }
    // JSON-LD (no reader yet): one event per stored event, each with its eventID.
    let (doc, _) = query::export(
        &mut conn,
        &viewer,
        &all,
        Format::JsonLd,
        WriteOptions::default(),
        Vec::new(),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&doc).unwrap();
    let events = json["epcisBody"]["eventList"].as_array().unwrap();
    assert_eq!(events.len(), stored.len());
    assert!(events.iter().all(|e| e["eventID"].is_string()));
}

#[test]
fn filters_select_what_they_name_and_nothing_else() {
    let db = TestDb::create();
    let doc = std::fs::read(fixtures().join("generated/dscsa-shipment-200.xml")).unwrap();
    assert_eq!(
        capture_with(&db, &doc, ErrorBehaviour::Rollback).outcome,
        Outcome::Accepted
    );
    let mut conn = db.conn();
    let viewer = Viewer::everything("test");
    let count = |conn: &mut diesel::PgConnection, p: &[(&str, &str)]| {
        let mut q = query::parse(&params(p)).unwrap();
        q.per_page = 1000;
        query::events_page(conn, &PageKey::default(), &viewer, &q)
            .unwrap()
            .events
            .len()
    };
    let total = count(&mut conn, &[]);
    let aggregations = count(&mut conn, &[("eventType", "AggregationEvent")]);
    assert_eq!(aggregations, 10);
    assert_eq!(
        count(&mut conn, &[("eventType", "AggregationEvent|ObjectEvent")]),
        total
    );
    for v in [
        "shipping",
        "urn:epcglobal:cbv:bizstep:shipping",
        "https://ref.gs1.org/cbv/BizStep-shipping",
    ] {
        assert_eq!(count(&mut conn, &[("EQ_bizStep", v)]), 1, "{v}");
    }
    assert_eq!(count(&mut conn, &[("EQ_bizStep", "receiving")]), 0);
    assert_eq!(count(&mut conn, &[("EQ_action", "DELETE")]), 0);
    // A serial named in commissioning and packing: URN and Digital Link find the same events.
    let item = crate::helpers::strings(
        &db.url,
        "SELECT epc_key AS v FROM event_epcs WHERE role = 3 AND epc_key LIKE '01%' LIMIT 1",
    )
    .remove(0);
    let dl = dscsa_exchange::query::rebuild::uri_of_key(&item);
    let by_dl = count(&mut conn, &[("MATCH_epc", &dl)]);
    assert_eq!(by_dl, 2, "commissioned and packed: {dl}");
    assert_eq!(count(&mut conn, &[("MATCH_anyEPC", &dl)]), 2);
    assert_eq!(count(&mut conn, &[("MATCH_parentID", &dl)]), 0);
    let gtin = &item[2..16];
    let (cp, rest) = (&gtin[1..8], &gtin[8..13]);
    let pattern = format!("urn:epc:idpat:sgtin:{cp}.{}{rest}.*", &gtin[..1]);
    assert!(
        count(&mut conn, &[("MATCH_epc", &pattern)]) >= 2,
        "{pattern}"
    );
    let t = "2024-05-06T13:00:10Z";
    let before = count(&mut conn, &[("LT_eventTime", t)]);
    let after = count(&mut conn, &[("GE_eventTime", t)]);
    assert!(before > 0 && after > 0 && before + after == total);
    assert_eq!(
        count(
            &mut conn,
            &[(
                "EQ_destination_owning_party",
                "urn:epc:id:sgln:0696853.00000.0"
            )]
        ),
        1
    );
    assert_eq!(
        count(
            &mut conn,
            &[("EQ_source_owning_party", "urn:epc:id:sgln:0696853.00000.0")]
        ),
        0
    );

    // maxEventCount: more matching events than allowed is QueryTooLargeException.
    let too_many = query::parse(&params(&[("maxEventCount", "3")])).unwrap();
    assert!(matches!(
        query::events_page(&mut conn, &PageKey::default(), &viewer, &too_many),
        Err(query::QueryError::TooLarge { max: 3 })
    ));
    let enough = query::parse(&params(&[("maxEventCount", "1000")])).unwrap();
    assert!(query::events_page(&mut conn, &PageKey::default(), &viewer, &enough).is_ok());
    // eventCountLimit: at most that many events over all pages.
    let mut served = 0;
    let mut token: Option<String> = None;
    loop {
        let mut p = params(&[("eventCountLimit", "5"), ("perPage", "2")]);
        if let Some(t) = &token {
            p.push(("nextPageToken".into(), t.clone()));
        }
        let page = query::events_page(
            &mut conn,
            &PageKey::default(),
            &viewer,
            &query::parse(&p).unwrap(),
        )
        .unwrap();
        served += page.events.len();
        match page.next {
            Some((t, _)) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(served, 5);
}

#[test]
fn pages_are_stable_under_a_concurrent_capture_and_tokens_are_checked() {
    let db = TestDb::create();
    let doc = std::fs::read(fixtures().join("generated/dscsa-shipment-200.xml")).unwrap();
    assert_eq!(
        capture_with(&db, &doc, ErrorBehaviour::Rollback).outcome,
        Outcome::Accepted
    );
    let viewer = Viewer::everything("test");
    let mut conn = db.conn();
    let orders = [
        vec![],
        vec![("orderBy", "eventTime")],
        vec![("orderBy", "eventTime"), ("orderDirection", "ASC")],
    ];
    for (round, order) in orders.into_iter().enumerate() {
        let mut unpaged = query::parse(&params(&order)).unwrap();
        unpaged.per_page = 1000;
        let expected: Vec<String> =
            query::events_page(&mut conn, &PageKey::default(), &viewer, &unpaged)
                .unwrap()
                .events
                .into_iter()
                .map(|e| e.hash_id.unwrap())
                .collect();
        let mut paged = params(&order);
        paged.push(("perPage".into(), "3".into()));
        let mut got = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut p = paged.clone();
            if let Some(t) = &token {
                p.push(("nextPageToken".into(), t.clone()));
            }
            let page = query::events_page(
                &mut conn,
                &PageKey::default(),
                &viewer,
                &query::parse(&p).unwrap(),
            )
            .unwrap();
            got.extend(page.events.into_iter().map(|e| e.hash_id.unwrap()));
            pages += 1;
            if pages == 1 {
                // Between two pages: events before, among and after the ones paged.
                let r = capture_with(
                    &db,
                    &interleaved(round).into_bytes(),
                    ErrorBehaviour::Rollback,
                );
                assert_eq!(r.outcome, Outcome::Accepted, "{:?}", r.errors);
            }
            match page.next {
                Some((t, _)) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(
            got, expected,
            "{order:?}: pages in order, none twice, none missed"
        );
        assert!(pages > 3);
    }
    // A token altered, made for another query, or another caller's, is a parameter error.
    let first = query::events_page(
        &mut conn,
        &PageKey::default(),
        &viewer,
        &query::parse(&params(&[("perPage", "2")])).unwrap(),
    )
    .unwrap();
    let (token, _) = first.next.unwrap();
    let with = |t: &str, extra: &[(&str, &str)]| {
        let mut p = params(&[("perPage", "2"), ("nextPageToken", t)]);
        p.extend(params(extra));
        query::parse(&p).unwrap()
    };
    let mut altered = token.clone().into_bytes();
    altered[3] = if altered[3] == b'x' { b'y' } else { b'x' };
    let altered = String::from_utf8(altered).unwrap();
    for (q, who) in [
        (with(&altered, &[]), &viewer),
        (with(&token, &[("eventType", "ObjectEvent")]), &viewer),
        (with(&token, &[]), &Viewer::partner(1, None)),
    ] {
        assert!(matches!(
            query::events_page(&mut conn, &PageKey::default(), who, &q),
            Err(query::QueryError::Token(_))
        ));
    }
}

/// Three commissioning events of new serials: before, among and after the shipment's times.
fn interleaved(round: usize) -> String {
    let event = |time: &str, n: usize| {
        format!(
            "<ObjectEvent><eventTime>{time}</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>\
             <epcList><epc>urn:epc:id:sgtin:0361414.012345.R{round}N{n}</epc></epcList><action>ADD</action>\
             <bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep></ObjectEvent>"
        )
    };
    format!(
        r#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2" creationDate="2024-05-07T00:00:00Z"><EPCISBody><EventList>{}{}{}</EventList></EPCISBody></epcis:EPCISDocument>"#,
        event("2024-05-06T12:00:00Z", 1),
        event("2024-05-06T13:00:10Z", 2),
        event("2024-05-06T23:00:00Z", 3)
    )
}

#[tokio::test]
async fn partners_see_their_events_and_nothing_of_the_others_over_mutual_tls() {
    use crate::tls_fixture::spawn_partner_app;
    let app = spawn_partner_app().await;
    let gln_of = |sgln: &str| match dscsa_exchange::gs1::classify(sgln).unwrap() {
        dscsa_exchange::gs1::Identifier::Epc(dscsa_exchange::gs1::Epc::Sgln(s)) => {
            s.gln().as_str().to_string()
        }
        other => panic!("{other:?}"),
    };
    let sender_gln = gln_of("urn:epc:id:sgln:0327611.00000.0");
    let receiver_gln = gln_of("urn:epc:id:sgln:0696853.00000.0");
    let (_, sender, _) = app.partner(&sender_gln, Role::TradingPartner).await;
    let (_, receiver, _) = app.partner(&receiver_gln, Role::TradingPartner).await;
    let (_, stranger, _) = app.partner("0312345000004", Role::TradingPartner).await;
    let (_, regulator, _) = app.partner("0614141000005", Role::Regulator).await;
    let doc = std::fs::read(fixtures().join("generated/dscsa-shipment-200.xml")).unwrap();
    let res = sender
        .post(app.url("/epcis/capture"))
        .header("content-type", "application/xml")
        .body(doc)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let events = |c: &reqwest::Client, q: &str| {
        let url = app.url(&format!("/events{q}"));
        let c = c.clone();
        async move {
            let res = c.get(url).send().await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(res.headers()["content-type"], "application/ld+json");
            let link = res
                .headers()
                .get("link")
                .map(|l| l.to_str().unwrap().to_string());
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["type"], "EPCISQueryDocument");
            let list = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                .as_array()
                .unwrap()
                .clone();
            (list, link)
        }
    };
    let (all, _) = events(&sender, "?perPage=1000").await;
    assert!(all.len() > 10, "{} events", all.len());
    let (seen, _) = events(&receiver, "?perPage=1000").await;
    assert_eq!(
        seen.len(),
        all.len(),
        "the receiver the SBDH names sees the shipment"
    );
    let (none, _) = events(&stranger, "?perPage=1000").await;
    assert!(
        none.is_empty(),
        "a partner the document does not name sees nothing"
    );
    let (everything, _) = events(&regulator, "?perPage=1000").await;
    assert_eq!(everything.len(), all.len());

    // One event by its id: found by a partner that may see it, 404 for one that may not.
    let id = all[0]["eventID"].as_str().unwrap().to_string();
    let path = format!("/events/{}", dscsa_exchange::gs1::pct_encode(&id));
    let res = receiver.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["eventID"],
        id.as_str()
    );
    let res = stranger.get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let problem: serde_json::Value = res.json().await.unwrap();
    assert_eq!(problem["type"], "epcisException:NoSuchResourceException");

    // Pages by Link header: the union is the whole result.
    let (mut got, mut link) = events(&sender, "?perPage=4").await;
    assert!(link.is_some());
    while let Some(l) = link {
        let next = l
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap()
            .to_string();
        let res = sender.get(app.url(&next)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers().contains_key("gs1-next-page-token-expires")
                || res.headers().get("link").is_none()
        );
        link = res
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_string());
        let body: serde_json::Value = res.json().await.unwrap();
        got.extend(
            body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                .as_array()
                .unwrap()
                .clone(),
        );
    }
    assert_eq!(got, all);

    // The events of one EPC, by its Digital Link.
    let epc = all
        .iter()
        .find_map(|e| {
            e["epcList"]
                .as_array()
                .and_then(|l| l.first())
                .and_then(|v| v.as_str())
        })
        .unwrap()
        .to_string();
    let res = sender
        .get(app.url(&format!(
            "/epcs/{}/events",
            dscsa_exchange::gs1::pct_encode(&epc)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        !body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Errors: a forged token, an unknown parameter, an unsatisfiable Accept.
    for (q, status, kind) in [
        (
            "?nextPageToken=abc.def",
            400,
            "epcisException:QueryParameterException",
        ),
        (
            "?EQ_colour=red",
            400,
            "epcisException:QueryParameterException",
        ),
    ] {
        let res = sender
            .get(app.url(&format!("/events{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{q}");
        let problem: serde_json::Value = res.json().await.unwrap();
        assert_eq!(problem["type"], kind, "{q}");
    }
    let res = sender
        .get(app.url("/events"))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 406);
    // OPTIONS: 204 with what may be asked and the versions served.
    let res = sender
        .request(reqwest::Method::OPTIONS, app.url("/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(res.headers()["allow"], "GET, OPTIONS");
    assert_eq!(res.headers()["gs1-epcis-max"], "2.0");
    // 1.2 XML when asked.
    let res = sender
        .get(app.url("/events?perPage=2"))
        .header("accept", "application/xml")
        .header("GS1-EPCIS-Version", "1.2.0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["gs1-epcis-version"], "1.2");
    let text = res.text().await.unwrap();
    assert!(
        text.contains("urn:epcglobal:epcis-query:xsd:1") && text.contains("<resultsBody>"),
        "{text}"
    );
}

#[test]
fn export_streams_what_import_stored_and_refuses_a_bad_parameter() {
    let db = TestDb::create();
    let dir = crate::cli::scratch("export");
    let run = |args: &[&str]| {
        crate::cli::command(&dir)
            .env("DATABASE_URL", &db.url)
            .env("DSCSA_ORGANISATION_GLN", "0361414000018")
            .env("DSCSA_ORGANISATION_NAME", "Export test")
            .env("DSCSA_ORGANISATION_COMPANY_PREFIXES", "0327611")
            .args(args)
            .output()
            .unwrap()
    };
    let doc = fixtures().join("generated/dscsa-shipment-200.xml");
    let imported = run(&["import", doc.to_str().unwrap()]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let out = dir.join("all.xml");
    let exported = run(&["export", "--format", "xml12", "-o", out.to_str().unwrap()]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let xml = std::fs::read(&out).unwrap();
    let mut read: Vec<String> = hashes_read_back(&xml);
    read.sort();
    assert_eq!(read, stored_hashes(&db).into_iter().collect::<Vec<_>>());
    // The organisation's company prefix makes EPC URNs of its identifiers in 1.2.
    assert!(String::from_utf8_lossy(&xml).contains("urn:epc:id:sgtin:0327611."));

    let one = dir.join("one.json");
    let epc = crate::helpers::strings(
        &db.url,
        "SELECT epc_key AS v FROM event_epcs WHERE role = 3 AND epc_key LIKE '01%' LIMIT 1",
    )
    .remove(0);
    let dl = query::rebuild::uri_of_key(&epc);
    let filtered = run(&["export", "--epc", &dl, "-o", one.to_str().unwrap()]);
    assert!(filtered.status.success());
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&one).unwrap()).unwrap();
    assert_eq!(json["epcisBody"]["eventList"].as_array().unwrap().len(), 2);

    let bad = run(&["export", "--param", "EQ_colour=red"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("EQ_colour"));
    let _ = std::fs::remove_dir_all(&dir);
}
