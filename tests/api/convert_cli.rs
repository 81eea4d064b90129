//! `convert` and `hash` as a shell user runs them: offline (no database, no configuration),
//! each format readable again with the same event hashes, one-line errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_dscsa-exchange");

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/epcis")
        .join(rel)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dscsa-convert-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary with no database and no configuration to find.
fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("DSCSA_DATABASE_URL")
        .env("DSCSA_CONFIG", "")
        .env("DSCSA_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap()
}

/// The hash ids `hash` prints for a file (positions dropped).
fn hashes(file: &Path) -> Vec<String> {
    let out = run(&["hash", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.to_string())
        .collect()
}

#[test]
fn convert_writes_every_format_and_the_xml_ones_hash_like_the_original() {
    let dir = scratch("formats");
    for name in [
        "epcis12/dscsa-gs1us-2.2.1.1-shipment.xml",
        "epcis20xml/openepcis-AssociationEvent.xml",
        "generated/dscsa-shipment-200.xml",
    ] {
        let input = fixture(name);
        let original = hashes(&input);
        assert!(!original.is_empty());
        for (to, epc) in [
            ("xml12", "Always_EPC_URN"),
            ("xml2", "Always_GS1_Digital_Link"),
            ("xml2", "Never_Translates"),
            ("jsonld", "Always_GS1_Digital_Link"),
        ] {
            let out_file = dir.join(format!("out-{to}-{epc}"));
            let out = run(&[
                "convert",
                "--to",
                to,
                "--epc-format",
                epc,
                input.to_str().unwrap(),
                "-o",
                out_file.to_str().unwrap(),
            ]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{name} {to}: {stderr}");
            assert!(
                stderr.contains(&format!("{} event(s)", original.len())),
                "{stderr}"
            );
            if to == "jsonld" {
                let doc: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
                let events = doc["epcisBody"]["eventList"].as_array().unwrap();
                assert_eq!(events.len(), original.len(), "{name}");
            }
            // Every output, JSON-LD too, reads back (by content) with the original hashes.
            assert_eq!(hashes(&out_file), original, "{name} as {to} ({epc})");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn convert_writes_to_standard_output_without_a_database() {
    let input = fixture("epcis12/openepcis-ObjectEvent.xml");
    let out = run(&["convert", "--to", "xml2", input.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("urn:epcglobal:epcis:xsd:2"), "{xml}");
}

#[test]
fn hash_prints_each_event_with_its_position() {
    let input = fixture("generated-small.xml");
    let out = run(&["hash", input.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 10, "{text}");
    let source = std::fs::read_to_string(&input).unwrap();
    for l in lines {
        let (pos, hash) = l.rsplit_once(' ').unwrap();
        assert!(hash.starts_with("ni:///sha-256;") && hash.ends_with("?ver=CBV2.0"));
        let mut parts = pos.rsplitn(3, ':');
        let column: usize = parts.next().unwrap().parse().unwrap();
        let line: usize = parts.next().unwrap().parse().unwrap();
        assert_eq!(parts.next().unwrap(), input.to_str().unwrap());
        // The position is the event's start tag.
        let at = &source.lines().nth(line - 1).unwrap()[column - 1..];
        assert!(
            at.starts_with("<ObjectEvent") || at.starts_with("<AggregationEvent"),
            "{at}"
        );
    }
}

#[test]
fn convert_and_hash_errors_are_one_line_with_exit_codes() {
    // Unknown format: usage error.
    let out = run(&["convert", "--to", "csv", "x.xml"]);
    assert_eq!(out.status.code(), Some(2));
    // Missing file: usage error, one line.
    let out = run(&["convert", "--to", "jsonld", "/nonexistent/file.xml"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // Not EPCIS: exit 1, and no half-written output left behind.
    let dir = scratch("errors");
    let bad = dir.join("bad.xml");
    std::fs::write(&bad, "<html><body/></html>").unwrap();
    let target = dir.join("out.json");
    let out = run(&[
        "convert",
        "--to",
        "jsonld",
        bad.to_str().unwrap(),
        "-o",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("EPCIS-X-010"));
    assert!(!target.exists());
    let out = run(&["hash", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn json_ld_files_are_read_by_content_and_convert_back_to_xml_with_their_hashes() {
    let expected =
        std::fs::read_to_string(fixture("hash/ReferenceEventHashAlgorithm.hashes")).unwrap();
    assert_eq!(
        hashes(&fixture("hash/ReferenceEventHashAlgorithm.jsonld")),
        vec![expected.trim().to_string()]
    );
    let dir = scratch("json-in");
    let input = fixture("epcis20json/openepcis-TransactionEvent.json");
    let original = hashes(&input);
    assert_eq!(
        original,
        hashes(&fixture("epcis20xml/openepcis-TransactionEvent.xml"))
    );
    // The extension is not what decides: a JSON-LD file named .xml is read as JSON-LD.
    let renamed = dir.join("really-json.xml");
    std::fs::copy(&input, &renamed).unwrap();
    assert_eq!(hashes(&renamed), original);
    let out_file = dir.join("out.xml");
    let out = run(&[
        "convert",
        "--to",
        "xml2",
        input.to_str().unwrap(),
        "-o",
        out_file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(hashes(&out_file), original);
    // Broken JSON: the error names the file, line and column, exit 1.
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        "{\"type\": \"EPCISDocument\",\n \"epcisBody\": {\"eventList\": [}",
    )
    .unwrap();
    let out = run(&["hash", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap_or("");
    assert!(
        first.contains("EPCIS-X-014") && first.contains("bad.json:2:30"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
