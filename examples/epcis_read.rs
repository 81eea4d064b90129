//! Stream an EPCIS XML file through the reader and print a summary. Used to measure peak RSS:
//! `/usr/bin/time -v cargo run --release --example epcis_read -- FILE [--no-hash]`.

use std::fs::File;
use std::io::BufReader;
use std::time::Instant;

use dscsa_exchange::epcis::{EpcisReader, Item, Limits};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: epcis_read FILE.xml [--no-hash]");
    let hashing = std::env::args().nth(2).as_deref() != Some("--no-hash");
    let file = File::open(&path).expect("open input");
    let started = Instant::now();
    let mut r = EpcisReader::new(BufReader::with_capacity(64 * 1024, file), Limits::default())
        .with_hashing(hashing);
    let (mut events, mut epcs, mut diags, mut vocabularies) = (0u64, 0u64, 0usize, 0usize);
    loop {
        match r.next_item() {
            Ok(Some(Item::Event(e))) => {
                events += 1;
                epcs += e.epc_count() as u64;
            }
            Ok(Some(Item::MasterData(_))) => vocabularies += 1,
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                eprintln!("fatal: {e}");
                std::process::exit(1);
            }
        }
        for d in r.take_diagnostics() {
            diags += 1;
            if diags <= 20 {
                eprintln!("{d}");
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let bytes = r.bytes_read();
    println!(
        "{bytes} bytes, {events} events, {epcs} EPC refs, {vocabularies} vocabularies, {diags} diagnostics in {secs:.3} s ({:.1} MB/s, {:.0} EPC refs/s)",
        bytes as f64 / secs / 1e6,
        epcs as f64 / secs
    );
}
