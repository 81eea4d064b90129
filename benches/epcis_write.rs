//! The streaming writers: 1,000,000 EPC references written as EPCIS 2.0 JSON-LD (identifiers
//! converted to Digital Links, CBV values to bare words: the defaults) and as EPCIS 1.2 XML
//! (EPC URNs as captured), into `io::sink()` so the figure is the writer's, not the disk's.
//! Issue 12's target: ≥ 500,000 EPC references/s (the database export streams through these).
//!
//! The input is the capture benchmark's DSCSA document, generated into `target/` on first run
//! with `/work/shared/tools/gen_epcis.py -n 470000 --max-epcs-per-event 10000 --master-data
//! --transaction-statement` (about 1,000,000 EPC references; override the generator with
//! `EPCIS_GEN=/path/to/gen_epcis.py`), read once into memory before timing.
//! `EPCIS_WRITE_ONCE=1 cargo bench --bench epcis_write` writes each format once and prints
//! the rate, without criterion.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dscsa_exchange::epcis::write::{DocumentWriter, Format, WriteOptions};
use dscsa_exchange::epcis::{EpcisReader, Item, Limits};

const ITEMS: &str = "470000";

fn items() -> (Vec<Item>, u64) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    let path = dir.join(format!("epcis-bench-write-{ITEMS}.xml"));
    if !path.exists() {
        let generator =
            std::env::var("EPCIS_GEN").unwrap_or_else(|_| "/work/shared/tools/gen_epcis.py".into());
        let status = Command::new("python3")
            .args([
                generator.as_str(),
                "-n",
                ITEMS,
                "--max-epcs-per-event",
                "10000",
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
    let doc = std::fs::read(&path).expect("read generated document");
    let mut r = EpcisReader::new(&doc[..], Limits::default()).with_hashing(false);
    let mut items = Vec::new();
    let mut epcs = 0;
    while let Some(item) = r.next_item().expect("valid document") {
        if let Item::Event(e) = &item {
            epcs += e.epc_count() as u64;
        }
        items.push(item);
        r.take_diagnostics();
    }
    (items, epcs)
}

fn write(items: &[Item], format: Format) -> u64 {
    let mut w = DocumentWriter::new(std::io::sink(), format, WriteOptions::default());
    for i in items {
        w.item(i).expect("sink never fails");
    }
    w.finish().expect("sink never fails").1.epcs
}

fn bench(c: &mut Criterion) {
    let (items, epcs) = items();
    eprintln!("document: {} items, {epcs} EPC references", items.len());
    if std::env::var_os("EPCIS_WRITE_ONCE").is_some() {
        for format in [Format::JsonLd, Format::Xml2, Format::Xml12] {
            let t = Instant::now();
            let n = write(&items, format);
            let s = t.elapsed().as_secs_f64();
            eprintln!(
                "{format}: {n} EPC references in {s:.3} s = {:.0} references/s",
                n as f64 / s
            );
        }
        return;
    }
    let mut g = c.benchmark_group("epcis_write");
    g.sample_size(10);
    g.throughput(Throughput::Elements(epcs));
    g.bench_function("jsonld_1m_epcs", |b| {
        b.iter(|| write(&items, Format::JsonLd))
    });
    g.bench_function("xml12_1m_epcs", |b| b.iter(|| write(&items, Format::Xml12)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
