//! Parse + structure/identifier checks + CBV event hash of a DSCSA-style document with
//! 100,000 items (~17 MB, ~213k EPC references), generated into `target/` on first run with
//! `/work/shared/tools/gen_epcis.py` (override with `EPCIS_GEN=/path/to/gen_epcis.py`).
//!
//! The same document converted to EPCIS 2.0 JSON-LD by our writer is read too: with Digital
//! Links (the writer's default, `…_jsonld`) and with the generator's EPC URNs (`…_jsonld_urns`,
//! the same identifiers as the XML): the JSON-LD reader against the XML reader.
//!
//! Instruction counts (repeatable on a busy machine), one read of the document:
//! `cargo bench --bench epcis_parse --no-run`, then
//! `EPCIS_PARSE_ONCE=1 valgrind --tool=callgrind target/release/deps/epcis_parse-<hash> --bench`.

use std::path::PathBuf;
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dscsa_exchange::epcis::write::{DocumentWriter, EpcFormat, Format, WriteOptions};
use dscsa_exchange::epcis::{EpcisReader, Item, Limits};

/// The document as EPCIS 2.0 JSON-LD: EPCs as Digital Links (our writer's default) or, with
/// `urns`, as the generator's EPC URNs.
fn as_json_ld(doc: &[u8], urns: bool) -> Vec<u8> {
    let mut r = EpcisReader::new(doc, Limits::default());
    let options = WriteOptions {
        epc_format: urns.then_some(EpcFormat::AlwaysEpcUrn),
        ..WriteOptions::default()
    };
    let mut w = DocumentWriter::new(Vec::new(), Format::JsonLd, options);
    while let Some(item) = r.next_item().expect("valid document") {
        w.item(&item).expect("written");
    }
    w.finish().expect("written").0
}

fn document() -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    let path = dir.join("epcis-bench-100000.xml");
    if !path.exists() {
        let generator =
            std::env::var("EPCIS_GEN").unwrap_or_else(|_| "/work/shared/tools/gen_epcis.py".into());
        let status = Command::new("python3")
            .args([
                generator.as_str(),
                "-n",
                "100000",
                "--master-data",
                "--transaction-statement",
                "-q",
                "-o",
            ])
            .arg(&path)
            .status()
            .expect("run python3 gen_epcis.py");
        assert!(status.success(), "gen_epcis.py failed");
    }
    std::fs::read(&path).expect("read generated document")
}

/// Reads the whole document; returns (events, EPC references, diagnostics).
fn read_all(doc: &[u8]) -> (u64, u64, usize) {
    let mut r = EpcisReader::new(doc, Limits::default());
    let (mut events, mut epcs, mut diags) = (0u64, 0u64, 0usize);
    while let Some(item) = r.next_item().expect("valid document") {
        if let Item::Event(e) = item {
            events += 1;
            epcs += e.epc_count() as u64;
            std::hint::black_box(&e.hash_id);
        }
        diags += r.take_diagnostics().len();
    }
    (events, epcs, diags)
}

fn bench(c: &mut Criterion) {
    let doc = document();
    let (events, epcs, diags) = read_all(&doc);
    eprintln!(
        "document: {} bytes, {events} events, {epcs} EPC references, {diags} diagnostics",
        doc.len()
    );
    let json = as_json_ld(&doc, false);
    let json_urn = as_json_ld(&doc, true);
    let (json_events, json_epcs, json_diags) = read_all(&json);
    eprintln!(
        "as JSON-LD: {} bytes, {json_events} events, {json_epcs} EPC references, {json_diags} diagnostics",
        json.len()
    );
    assert_eq!((json_events, json_epcs), (events, epcs));
    // One pass and no criterion run: for instruction counts under
    // `valgrind --tool=callgrind`, which stay repeatable on a busy machine.
    if std::env::var_os("EPCIS_PARSE_ONCE").is_some() {
        return;
    }
    let mut g = c.benchmark_group("epcis_parse");
    g.sample_size(10);
    g.throughput(Throughput::Elements(epcs));
    g.bench_function("read_validate_hash_100k_items", |b| {
        b.iter(|| read_all(&doc))
    });
    g.bench_function("read_validate_hash_100k_items_jsonld", |b| {
        b.iter(|| read_all(&json))
    });
    g.bench_function("read_validate_hash_100k_items_jsonld_urns", |b| {
        b.iter(|| read_all(&json_urn))
    });
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.bench_function("read_validate_hash_100k_items_bytes", |b| {
        b.iter(|| read_all(&doc))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
