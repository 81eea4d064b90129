//! Print the CBV 2.0 pre-hash string and hash id of every event in an EPCIS XML file, to
//! compare with other implementations: `cargo run --example epcis_prehash -- FILE`.

use std::fs::File;
use std::io::BufReader;

use dscsa_exchange::epcis::{hash, EpcisReader, Item, Limits};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: epcis_prehash FILE.xml");
    let file = File::open(&path).expect("open input");
    let mut r = EpcisReader::new(BufReader::new(file), Limits::default());
    while let Some(item) = r.next_item().expect("readable document") {
        if let Item::Event(e) = item {
            println!("{}\n{}", hash::prehash_string(&e), hash::hash_id(&e));
        }
    }
}
