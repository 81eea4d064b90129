//! Hot paths of the GS1 module: parse + validate an SGTIN EPC URI and a raw DataMatrix scan.
//! Targets (2-core machine, per core): >= 5 million SGTIN URIs/s, >= 2 million scans/s.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dscsa_exchange::gs1::{self, Epc, Sgtin};

const SGTIN_URI: &str = "urn:epc:id:sgtin:0361414.012345.SN1002AB%2F77";
/// A typical DSCSA pack: GTIN, expiry, lot, serial, as a GS1 DataMatrix scanner sends it.
const SCAN: &str = "]d201003614141234581727123110LOT4217\u{1d}21SN1002AB77";

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("gs1");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sgtin_uri/Sgtin::from_epc_uri", |b| {
        b.iter(|| Sgtin::from_epc_uri(black_box(SGTIN_URI)).unwrap())
    });
    g.bench_function("sgtin_uri/classify", |b| {
        b.iter(|| gs1::classify(black_box(SGTIN_URI)).unwrap())
    });
    g.bench_function("scan/parse_element_string", |b| {
        b.iter(|| gs1::parse_element_string(black_box(SCAN)).unwrap())
    });
    g.bench_function("scan/parse_scan_sgtin", |b| {
        b.iter(|| gs1::parse_scan_sgtin(black_box(SCAN)).unwrap())
    });
    g.bench_function("sgtin/canonical_digital_link", |b| {
        let e = Epc::Sgtin(Sgtin::from_epc_uri(SGTIN_URI).unwrap());
        b.iter(|| black_box(&e).to_canonical_digital_link())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
