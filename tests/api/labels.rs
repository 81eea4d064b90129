//! Labels rendered by the server, decoded by an independent decoder: zxing-cpp's `ZXingReader`
//! (Debian `zxing-cpp-tools`) reads the PNG, and the SVG after librsvg (`rsvg-convert`) has
//! rasterised it. Both tools are required: a missing one fails these tests.

use std::path::Path;
use std::process::Command;

use dscsa_exchange::partners::Role;
use serde_json::Value;

use crate::tls_fixture::{spawn_partner_app, PartnerApp};

const GTIN: &str = "00312345678906";

fn encode_path(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn tool(name: &str) -> Command {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .unwrap();
    assert!(
        found.status.success(),
        "{name} is required (apt-get install zxing-cpp-tools librsvg2-bin; .ci/run installs them)"
    );
    Command::new(name)
}

/// What ZXingReader reports for one image: (raw bytes, its text output).
fn decode(png: &Path) -> (Vec<u8>, String) {
    let bytes = tool("ZXingReader")
        .args(["-format", "DataMatrix", "-bytes"])
        .arg(png)
        .output()
        .unwrap();
    let report = tool("ZXingReader")
        .args(["-format", "DataMatrix"])
        .arg(png)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout).to_string();
    (bytes.stdout, report)
}

fn field<'a>(report: &'a str, name: &str) -> Option<&'a str> {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .map(|v| v.trim_start_matches(':').trim())
}

async fn fetch(app: &PartnerApp, c: &reqwest::Client, path: &str) -> reqwest::Response {
    c.get(app.url(path)).send().await.unwrap()
}

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dscsa-labels-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn labels_decode_back_to_the_element_string_for_every_serial_character_class() {
    let app = spawn_partner_app().await;
    let (_, admin, _) = app.partner("0361414000018", Role::Admin).await;
    let dir = scratch();
    let serials = [
        "1",
        "12345678901234567890",
        "ABCDEFGHIJKLMNOPQRST",
        "abcdefghijklmnopqrst",
        "!\"%&'()*+,-./:;<=>?_",
        "Az09-_.:x",
    ];
    for (i, serial) in serials.iter().enumerate() {
        let lot = if i % 2 == 0 { "LOT-42/A" } else { "L1" };
        // GS after the serial (variable length); AI 17 has a predefined length, so none after it.
        let expected = format!("01{GTIN}21{serial}\x1d1728123110{lot}");
        for format in ["png", "svg"] {
            let path = format!(
                "/labels/{GTIN}/{}?lot={}&exp=281231&format={format}",
                encode_path(serial),
                encode_path(lot)
            );
            let res = fetch(&app, &admin, &path).await;
            assert_eq!(res.status(), 200, "{path}: {:?}", res.text().await);
            let body = res.bytes().await.unwrap();
            let png = dir.join(format!("{i}.png"));
            if format == "png" {
                std::fs::write(&png, &body).unwrap();
            } else {
                let svg = dir.join(format!("{i}.svg"));
                std::fs::write(&svg, &body).unwrap();
                let text = String::from_utf8(body.to_vec()).unwrap();
                assert!(text.contains(&format!(">GTIN {GTIN}<")), "{text}");
                assert!(text.contains(">EXP 2028-12-31<"), "{text}");
                assert!(text.contains(">NDC 1234567890<"), "{text}");
                let out = tool("rsvg-convert")
                    .arg("-o")
                    .arg(&png)
                    .arg(&svg)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "rsvg-convert: {out:?}");
            }
            let (bytes, report) = decode(&png);
            assert_eq!(
                String::from_utf8_lossy(&bytes),
                expected,
                "{format} of {serial:?}: ZXingReader said {report}"
            );
            assert_eq!(field(&report, "Identifier"), Some("]d2"), "{report}");
            assert_eq!(field(&report, "Content"), Some("GS1"), "{report}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_wrong_check_digit_or_a_bad_character_is_refused_before_rendering() {
    let app = spawn_partner_app().await;
    let (_, admin, _) = app.partner("0361414000018", Role::Admin).await;
    for (path, mentions) in [
        (
            "/labels/00312345678907/ABC?lot=L1&exp=281231",
            "check digit",
        ),
        ("/labels/00312345678906/AB%20C?lot=L1&exp=281231", "serial"),
        ("/labels/00312345678906/ABC?lot=L1&exp=281331", "exp"),
        ("/labels/00312345678906/123456789012345678901", "serial"),
        ("/labels/00312345678906/ABC?format=gif", "svg or png"),
    ] {
        let res = fetch(&app, &admin, path).await;
        assert_eq!(res.status(), 400, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "invalid-label", "{path}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(mentions), "{path}: {detail}");
    }
}

#[tokio::test]
async fn labels_are_for_admins_and_the_partners_named_on_the_pool() {
    let app = spawn_partner_app().await;
    let (_, admin, _) = app.partner("0361414000018", Role::Admin).await;
    let (named_id, named, _) = app.partner("0312345000004", Role::TradingPartner).await;
    let (_, other, _) = app.partner("0312345000011", Role::TradingPartner).await;
    let path = format!("/labels/{GTIN}/ABC?lot=L1&exp=281231");
    for c in [&named, &other] {
        assert_eq!(fetch(&app, c, &path).await.status(), 403);
    }
    let res = admin
        .post(app.url("/serials/pools"))
        .json(&serde_json::json!({"gtin": GTIN, "format": "numeric:12", "partner_ids": [named_id]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(fetch(&app, &named, &path).await.status(), 200);
    assert_eq!(fetch(&app, &other, &path).await.status(), 403);
}
