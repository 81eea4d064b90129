//! Serial generation (FF1 + cycle-walking, one core), an allocation written as JSON, and pack
//! labels. Targets (issue 15): >= 1,000,000 serials/s on one core for numeric:12 pools, an
//! allocation of 500,000 serials streamed in < 1 s, >= 2,000 DataMatrix SVGs/s.
//!
//! `cargo bench --bench serials`. The end-to-end concurrency check at the full size is
//! a test: `SERIALS_ALLOCATIONS_PER_CLIENT=200 cargo test --release --test api concurrent_allocations`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dscsa_exchange::serials::label::LabelData;
use dscsa_exchange::serials::output::{write_issued, Output};
use dscsa_exchange::serials::{Allocation, Issued, PoolCipher, SerialKey};

const GTIN: &str = "00312345678906";

fn cipher(format: &str) -> PoolCipher {
    let key = SerialKey::from_bytes(&[0x5a; 32], false);
    PoolCipher::new(key.ff1(), format.parse().unwrap(), &GTIN.parse().unwrap())
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("serials");
    const N: u64 = 100_000;
    g.throughput(Throughput::Elements(N));
    for format in ["numeric:12", "numeric:20", "alnum:10"] {
        let pc = cipher(format);
        g.bench_function(format!("generate_100k/{format}"), |b| {
            b.iter(|| {
                let mut sum = 0u64;
                pc.for_each(black_box(12_345), N, |s| sum += u64::from(s[0]));
                sum
            })
        });
    }
    let pc = cipher("numeric:12");
    let serials: Vec<String> = (0..1000).map(|i| pc.serial(i)).collect();
    g.throughput(Throughput::Elements(1000));
    g.bench_function("counter_of_serial_1k/numeric:12", |b| {
        b.iter(|| {
            serials
                .iter()
                .filter_map(|s| pc.counter(black_box(s)))
                .sum::<u64>()
        })
    });
    g.throughput(Throughput::Elements(500_000));
    g.sample_size(10);
    g.bench_function("allocation_500k_as_json", |b| {
        let issued = Issued {
            allocation: Allocation {
                id: 1,
                pool_id: 1,
                gtin: GTIN.into(),
                format: "numeric:12".into(),
                first_counter: 1_000_000,
                count: 500_000,
                partner_id: None,
                actor: "bench".into(),
                purpose: None,
                allocated_at: chrono::Utc::now(),
            },
            cipher: cipher("numeric:12"),
        };
        b.iter(|| {
            let mut bytes = 0;
            write_issued(&issued, Output::Json, |chunk| {
                bytes += chunk.len();
                true
            });
            bytes
        })
    });
    g.finish();

    let mut g = c.benchmark_group("labels");
    g.throughput(Throughput::Elements(1));
    let label = LabelData {
        gtin: GTIN.parse().unwrap(),
        serial: "ABCDEFGHIJ1234567890".parse().unwrap(),
        lot: Some("LOT2026-11A".parse().unwrap()),
        expiry: Some("281231".parse().unwrap()),
        ndc: None,
    };
    g.bench_function("svg", |b| b.iter(|| black_box(&label).svg().unwrap()));
    g.bench_function("png", |b| b.iter(|| black_box(&label).png().unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
