//! Product tracing end to end (issue 14): a manufacturer's DSCSA shipment (commissioning,
//! packing into cases and a pallet, shipping the pallet) captured over mutual TLS, then traced
//! by a regulator by every identifier form; lot traces; CSV and HTML reports; role checks of
//! every route; trace requests and their clock; the audit trail.

use dscsa_exchange::partners::Role;
use serde_json::Value;

use crate::cli::{command, one_line_error, scratch};
use crate::helpers::scalar;
use crate::tls_fixture::{spawn_partner_app, PartnerApp};

const SHIPMENT: &str = include_str!("../../fixtures/epcis/generated/dscsa-shipment-200.xml");
/// The first item of the fixture, in its case `…580827.DRFo2xXkCiWi`, on pallet
/// `sscc:0327611.6583054733`.
const ITEM_URN: &str = "urn:epc:id:sgtin:0327611.080827.1vrORcmn0iSH";
const ITEM_GTIN: &str = "00327611808277";
const SERIAL: &str = "1vrORcmn0iSH";
const CASE_URN: &str = "urn:epc:id:sgtin:0327611.580827.DRFo2xXkCiWi";
const PALLET_SSCC: &str = "603276115830547336";
const LOT: &str = "D63944";

/// A server with the shipment captured by the manufacturer, and a regulator's client.
async fn shipped() -> (PartnerApp, reqwest::Client) {
    let app = spawn_partner_app().await;
    let (_, maker, _) = app.partner("0327611000008", Role::TradingPartner).await;
    let captured = app.capture(&maker, SHIPMENT.to_string()).await;
    assert_eq!(captured.status, 201, "{:?}", captured.body);
    let (_, regulator, _) = app.partner("0614141000005", Role::Regulator).await;
    (app, regulator)
}

async fn get(
    app: &PartnerApp,
    client: &reqwest::Client,
    path: &str,
    accept: &str,
) -> (u16, String, String) {
    let res = client
        .get(app.url(path))
        .header("accept", accept)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, res.text().await.unwrap())
}

async fn trace_json(app: &PartnerApp, client: &reqwest::Client, query: &str) -> Value {
    let (status, ct, body) = get(app, client, &format!("/trace?{query}"), "application/json").await;
    assert_eq!(status, 200, "{query}: {body}");
    assert!(ct.starts_with("application/json"), "{ct}");
    serde_json::from_str(&body).unwrap()
}

fn pct(s: &str) -> String {
    dscsa_exchange::gs1::pct_encode(s)
}

#[tokio::test]
async fn a_shipped_package_traces_through_its_case_and_pallet_to_the_buyer() {
    let (app, regulator) = shipped().await;
    let t = trace_json(&app, &regulator, &format!("epc={}", pct(ITEM_URN))).await;

    assert_eq!(t["kind"], "sgtin");
    assert_eq!(t["gtin"], ITEM_GTIN);
    assert_eq!(t["serial"], SERIAL);
    assert_eq!(t["product"]["name"], "Sertraline Hydrochloride");
    let state = &t["state"];
    assert_eq!(state["status"], "shipped");
    assert_eq!(state["lot"], LOT);
    assert_eq!(state["owner"]["gln"], "0696853000009");
    assert_eq!(state["owner"]["name"], "Midwest Pharmacy Supply Co.");
    let chain: Vec<&str> = state["containerChain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["epc"].as_str().unwrap())
        .collect();
    assert_eq!(
        chain,
        [
            "https://id.gs1.org/01/50327611808272/21/DRFo2xXkCiWi",
            &format!("https://id.gs1.org/00/{PALLET_SSCC}")[..]
        ]
    );

    // Commissioning and packing name the item; the pallet's packing names its case; the
    // shipping names the pallet. In time order, each with its document, sender and hash.
    let events = t["events"].as_array().unwrap();
    let steps: Vec<(&str, Option<&str>)> = events
        .iter()
        .map(|e| (e["bizStep"].as_str().unwrap(), e["via"].as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("commissioning", None),
            ("packing", None),
            (
                "packing",
                Some("https://id.gs1.org/01/50327611808272/21/DRFo2xXkCiWi")
            ),
            (
                "shipping",
                Some(&format!("https://id.gs1.org/00/{PALLET_SSCC}")[..])
            ),
        ]
    );
    let mut times: Vec<&str> = events
        .iter()
        .map(|e| e["eventTime"].as_str().unwrap())
        .collect();
    let sorted = {
        let mut s = times.clone();
        s.sort();
        s
    };
    assert_eq!(times, sorted);
    times.clear();
    for e in events {
        assert!(
            e["hashId"].as_str().unwrap().starts_with("ni:///sha-256;"),
            "{e}"
        );
        assert_eq!(e["document"]["sender"], "urn:epc:id:sgln:0327611.00000.0");
        assert_eq!(e["document"]["partner"], "trading_partner partner");
        assert_eq!(e["document"]["transactionStatement"], true);
    }
    assert_eq!(events[0]["lot"], LOT);

    // One change of ownership: manufacturer -> wholesaler, with the PO and ASN and a TS.
    let th = t["transactions"].as_array().unwrap();
    assert_eq!(th.len(), 1, "{th:?}");
    assert_eq!(th[0]["seller"]["name"], "Harborview Pharmaceuticals Inc.");
    assert_eq!(th[0]["buyer"]["gln"], "0696853000009");
    assert_eq!(th[0]["shipTo"]["gln"], "0696853000108");
    assert_eq!(th[0]["transactionStatement"], true);
    assert_eq!(th[0]["date"], "2024-05-06T13:00:21.659Z");
    let bts: Vec<&str> = th[0]["bizTransactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert!(bts.iter().any(|b| b.ends_with("PO-4596114638")), "{bts:?}");

    // The containers it travelled in, still inside both.
    let travels = t["containers"].as_array().unwrap();
    assert_eq!(travels.len(), 2, "{travels:?}");
    assert!(travels.iter().all(|c| c["periods"][0]["to"].is_null()));
    assert_eq!(t["flags"]["recalled"], false);
    assert_eq!(t["verifications"], serde_json::json!([]));
}

#[tokio::test]
async fn every_identifier_form_of_the_package_gives_the_same_trace() {
    let (app, regulator) = shipped().await;
    let dl = format!("https://id.gs1.org/01/{ITEM_GTIN}/21/{SERIAL}");
    let scan = format!("]d201{ITEM_GTIN}10{LOT}\u{1d}21{SERIAL}");
    let forms = [
        format!("epc={}", pct(ITEM_URN)),
        format!("epc={}", pct(&dl)),
        format!("scan={}", pct(&scan)),
        format!("scan={}", pct(&format!("(01){ITEM_GTIN}(21){SERIAL}"))),
        format!("gtin={ITEM_GTIN}&serial={SERIAL}"),
        format!("ndc=27611-808-27&serial={SERIAL}"),
        format!("ndc=27611080827&serial={SERIAL}"),
    ];
    for q in &forms {
        let t = trace_json(&app, &regulator, q).await;
        assert_eq!(t["epc"], dl, "{q}");
        assert_eq!(t["events"].as_array().unwrap().len(), 4, "{q}");
    }
    // The pallet by its SSCC: shipped, its own events, no container.
    let t = trace_json(&app, &regulator, &format!("sscc={PALLET_SSCC}")).await;
    assert_eq!(t["kind"], "sscc");
    assert_eq!(t["state"]["status"], "shipped");
    assert_eq!(t["state"]["containerChain"], serde_json::json!([]));
    let steps: Vec<&str> = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["bizStep"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["commissioning", "packing", "shipping"]);

    // Unknown and malformed identifiers.
    let (status, _, body) = get(
        &app,
        &regulator,
        &format!("/trace?gtin={ITEM_GTIN}&serial=NOPE"),
        "application/json",
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("identifier-not-found"), "{body}");
    for bad in [
        "gtin=00327611808270&serial=A",
        "gtin=00327611808277",
        "epc=urn:epc:id:sgln:0327611.00000.0",
        "color=red",
    ] {
        let (status, _, body) = get(
            &app,
            &regulator,
            &format!("/trace?{bad}"),
            "application/json",
        )
        .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("invalid-trace-request"), "{bad}: {body}");
    }
}

#[tokio::test]
async fn a_lot_trace_counts_every_unit_by_status_owner_and_location() {
    let (app, regulator) = shipped().await;
    let t = trace_json(&app, &regulator, &format!("gtin={ITEM_GTIN}&lot={LOT}")).await;
    assert_eq!(t["units"], 200);
    assert_eq!(t["byStatus"], serde_json::json!({ "shipped": 200 }));
    assert_eq!(t["byOwner"].as_array().unwrap().len(), 1);
    assert_eq!(
        t["byOwner"][0]["party"]["name"],
        "Midwest Pharmacy Supply Co."
    );
    assert_eq!(t["byOwner"][0]["units"], 200);
    let serials = t["serials"].as_array().unwrap();
    assert_eq!(serials.len(), 200);
    assert!(
        serials
            .iter()
            .all(|u| u["outermostContainer"] == format!("https://id.gs1.org/00/{PALLET_SSCC}")),
        "{:?}",
        serials[0]
    );
    assert!(serials.iter().all(|u| u["outermostContainer"]
        == format!("https://id.gs1.org/00/{PALLET_SSCC}")
        && u["owner"]
            .as_str()
            .is_some_and(|o| o.starts_with("https://id.gs1.org/414/0696853000009"))));

    // By NDC: the units and the cases of the lot (both GTINs carry the NDC).
    let t = trace_json(&app, &regulator, &format!("ndc=27611-808-27&lot={LOT}")).await;
    assert_eq!(t["gtins"], serde_json::json!([ITEM_GTIN, "50327611808272"]));
    assert!(t["units"].as_u64().unwrap() > 200, "{}", t["units"]);

    let (status, _, body) = get(
        &app,
        &regulator,
        &format!("/trace?gtin={ITEM_GTIN}&lot=NOLOT"),
        "application/json",
    )
    .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn csv_and_html_reports_keep_hostile_master_data_inert() {
    let (app, regulator) = shipped().await;
    app.sql(
        "UPDATE locations SET name = '<script>alert(1)</script> & \"Sons\"' \
          WHERE id = '4140696853000009';
         UPDATE trade_items SET name = '<img src=x onerror=alert(2)>' WHERE gtin = '00327611808277'",
    )
    .await;
    let q = format!("/trace?gtin={ITEM_GTIN}&serial={SERIAL}");
    let (status, ct, html) = get(&app, &regulator, &q, "text/html").await;
    assert_eq!(status, 200, "{html}");
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; &quot;Sons&quot;"),
        "{html}"
    );
    assert!(html.contains("Transaction history"));
    assert!(!html.contains(">none<"), "a missing value printed as none");

    let (status, ct, csv) = get(
        &app,
        &regulator,
        &format!("{q}&format=csv"),
        "application/json",
    )
    .await;
    assert_eq!(status, 200, "{csv}");
    assert!(ct.starts_with("text/csv"), "{ct}");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("epc,event_time,event_type"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines[4].contains(",shipping,") && lines[4].contains(",yes,"),
        "{}",
        lines[4]
    );

    let (status, _, lot_csv) = get(
        &app,
        &regulator,
        &format!("/trace?gtin={ITEM_GTIN}&lot={LOT}"),
        "text/csv",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(lot_csv.lines().count(), 201);
    let (status, _, lot_html) = get(
        &app,
        &regulator,
        &format!("/trace?gtin={ITEM_GTIN}&lot={LOT}&format=html"),
        "*/*",
    )
    .await;
    assert_eq!(status, 200);
    assert!(lot_html.contains("&lt;script&gt;") && !lot_html.contains("<script>"));
}

#[tokio::test]
async fn only_regulators_compliance_officers_and_admins_may_trace() {
    let (app, regulator) = shipped().await;
    let (_, partner, _) = app.partner("0696853000009", Role::TradingPartner).await;
    let (_, officer, _) = app.partner("0361414000018", Role::Compliance).await;
    let (_, admin, _) = app.partner("0012345000058", Role::Admin).await;
    let q = format!("/trace?gtin={ITEM_GTIN}&serial={SERIAL}");
    let body = serde_json::json!({ "requester": "FDA", "reason": "audit", "reference": "R-1" });
    for (client, allowed) in [
        (&partner, false),
        (&regulator, true),
        (&officer, true),
        (&admin, true),
    ] {
        let want = |ok: u16| if allowed { ok } else { 403 };
        assert_eq!(app.get_as(client, &q).await.status, want(200));
        assert_eq!(
            app.get_as(client, "/trace-requests").await.status,
            want(200)
        );
        let created = client
            .post(app.url("/trace-requests"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status().as_u16(), want(201));
        assert_eq!(
            app.get_as(client, "/trace-requests/1").await.status,
            want(200)
        );
    }
    // A refused trace leaves no audit record; the allowed ones each left one.
    assert_eq!(
        scalar(
            &app.db.url,
            "SELECT count(*) FROM audit_log WHERE action = 'trace'"
        ),
        3
    );
}

#[tokio::test]
async fn a_trace_request_is_due_on_the_dscsa_clock_and_answered_by_a_trace() {
    let (app, regulator) = shipped().await;
    let create = |body: Value| {
        let (client, url) = (regulator.clone(), app.url("/trace-requests"));
        async move {
            let res = client.post(url).json(&body).send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    // Received on a Friday afternoon: one business day is Monday, past 48 h, so Sunday.
    let (status, overdue) = create(serde_json::json!({
        "requester": "FDA Office of Drug Security", "reason": "suspect", "reference": "FDA-2026-001",
        "subject": ITEM_URN, "received_at": "2026-11-27T15:00:00Z",
    }))
    .await;
    assert_eq!(status, 201, "{overdue}");
    assert_eq!(overdue["dueAt"], "2026-11-29T15:00:00Z");
    assert_eq!(overdue["overdue"], true);
    let (status, fresh) = create(serde_json::json!({
        "requester": "State Board of Pharmacy", "reason": "inspection", "reference": "SB-7",
        "due_at": "2099-01-01T00:00:00Z",
    }))
    .await;
    assert_eq!(status, 201, "{fresh}");
    assert_eq!(fresh["overdue"], false);
    let (status, bad) =
        create(serde_json::json!({ "requester": "FDA", "reason": "curiosity", "reference": "X" }))
            .await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (400, Some("invalid-trace-request"))
    );

    let open = app.get_as(&regulator, "/trace-requests?open=true").await;
    let ids: Vec<i64> = open
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            overdue["id"].as_i64().unwrap(),
            fresh["id"].as_i64().unwrap()
        ],
        "soonest due first"
    );

    // Answering: the trace names the request; the request is answered (late) and leaves the
    // open list; answering again keeps the first answer.
    let id = overdue["id"].as_i64().unwrap();
    for _ in 0..2 {
        let t = app
            .get_as(
                &regulator,
                &format!("/trace?epc={}&request={id}", pct(ITEM_URN)),
            )
            .await;
        assert_eq!(t.status, 200);
    }
    let all = app.get_as(&regulator, "/trace-requests").await.body;
    let answered = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()
        .clone();
    assert!(answered["answeredAt"].is_string(), "{answered}");
    assert_eq!(answered["overdue"], true, "answered after it was due");
    let open = app
        .get_as(&regulator, "/trace-requests?open=true")
        .await
        .body;
    assert_eq!(open.as_array().unwrap().len(), 1);
    let missing = app
        .get_as(
            &regulator,
            &format!("/trace?epc={}&request=999999", pct(ITEM_URN)),
        )
        .await;
    assert_eq!(missing.status, 404);

    // Every action is in the audit trail, and the database refuses to change it.
    let url = &app.db.url;
    assert_eq!(
        scalar(
            url,
            "SELECT count(*) FROM audit_log WHERE action = 'trace_request.create'"
        ),
        2
    );
    assert_eq!(scalar(url, &format!("SELECT count(*) FROM audit_log WHERE action = 'trace_request.answer' AND subject = 'trace_request:{id}'")), 1);
    assert_eq!(
        scalar(url, "SELECT count(*) FROM audit_log WHERE action = 'trace'"),
        2
    );
    let mut conn = dscsa_exchange::store::connect(url).unwrap();
    use diesel::connection::SimpleConnection;
    for sql in [
        "UPDATE audit_log SET actor = 'someone else' WHERE action = 'trace'",
        "DELETE FROM audit_log WHERE action LIKE 'trace%'",
        "TRUNCATE audit_log",
    ] {
        let e = conn.batch_execute(sql).unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
    assert_eq!(
        scalar(
            url,
            "SELECT count(*) FROM audit_log WHERE action LIKE 'trace%'"
        ),
        5
    );
}

#[tokio::test]
async fn the_trace_answer_keeps_its_shape() {
    let (app, regulator) = shipped().await;
    let t = trace_json(&app, &regulator, &format!("epc={}", pct(ITEM_URN))).await;
    insta::assert_json_snapshot!("trace_of_a_shipped_package", t, {
        ".generatedAt" => "[time]",
        ".events[].document.id" => "[document]",
        ".events[].document.receivedAt" => "[time]",
        ".events[].recordTime" => "[time]",
        ".transactions[].document.id" => "[document]",
        ".transactions[].document.receivedAt" => "[time]",
    });
}

#[test]
fn the_trace_command_answers_as_the_api_does_and_is_audited() {
    let dir = scratch("trace");
    let db = crate::helpers::TestDb::create();
    let run = |args: &[&str]| {
        command(&dir)
            .env("DSCSA_DATABASE_URL", &db.url)
            .env("USER", "inspector")
            .env_remove("SUDO_USER")
            .args(args)
            .output()
            .unwrap()
    };
    let file = dir.join("shipment.xml");
    std::fs::write(&file, SHIPMENT).unwrap();
    let out = run(&["import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", one_line_error(&out));

    let out = run(&["trace", ITEM_URN]);
    assert!(out.status.success(), "{}", one_line_error(&out));
    let t: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(t["state"]["status"], "shipped");
    let out = run(&["trace", ITEM_GTIN, "--lot", LOT, "--format", "csv"]);
    assert!(out.status.success(), "{}", one_line_error(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 201);
    let out = run(&[
        "trace",
        "27611-808-27",
        "--serial",
        SERIAL,
        "--format",
        "html",
    ]);
    assert!(out.status.success(), "{}", one_line_error(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("<!doctype html>"));
    let out = run(&["trace", CASE_URN]);
    assert!(out.status.success(), "{}", one_line_error(&out));

    let out = run(&["trace", "urn:epc:id:sgtin:0327611.080827.NOPE"]);
    assert_eq!(out.status.code(), Some(1), "{}", one_line_error(&out));
    let out = run(&["trace", ITEM_GTIN, "--format", "pdf"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        scalar(
            &db.url,
            "SELECT count(*) FROM audit_log WHERE action = 'trace' AND actor = 'cli:inspector'"
        ),
        4
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The lot trace computes the effective state set-based; it must be the `serial_state` view's
/// (what verification and capture read) for every unit.
#[tokio::test]
async fn the_lot_trace_gives_every_unit_the_state_the_serial_state_view_gives() {
    let (app, regulator) = shipped().await;
    // Take one case off the pallet and receive it elsewhere: its items now differ from the rest.
    let url = app.db.url.clone();
    app.sql(
        "UPDATE serials SET parent_id = NULL, status = 4, owner = '4140614141000005'
          WHERE epc_key = '015032761180827221DRFo2xXkCiWi'",
    )
    .await;
    let t = trace_json(&app, &regulator, &format!("gtin={ITEM_GTIN}&lot={LOT}")).await;
    let got: Vec<String> = t["serials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{} {} {} {}",
                u["serial"], u["status"], u["owner"], u["outermostContainer"]
            )
        })
        .collect();
    let want = tokio::task::spawn_blocking(move || {
        crate::helpers::strings(
            &url,
            "SELECT format('\"%s\" \"%s\" %s %s', s.serial_number,
                          CASE s.status WHEN 2 THEN 'packed' WHEN 3 THEN 'shipped'
                                        WHEN 4 THEN 'received' ELSE s.status::text END,
                          coalesce('\"https://id.gs1.org/414/' || substr(s.owner, 4) || '\"', 'null'),
                          coalesce('\"https://id.gs1.org/' ||
                                   CASE WHEN t.kind = 2 THEN '00/' || substr(t.epc_key, 3)
                                        ELSE '01/' || substr(t.epc_key, 3, 14) || '/21/' || substr(t.epc_key, 19) END
                                   || '\"', 'null')) AS v
               FROM serial_state s LEFT JOIN serials t ON t.id = s.top_id
              WHERE s.gtin = '00327611808277' ORDER BY s.serial_number",
        )
    })
    .await
    .unwrap();
    assert_eq!(got.len(), 200);
    assert_eq!(got, want);
    assert!(
        got.iter().filter(|g| g.contains("\"received\"")).count() > 0,
        "{got:?}"
    );
}
