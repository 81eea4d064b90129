//! Fuzz the element-string, EPC URI and Digital Link parsers: no panics, and whatever parses
//! must survive a render/re-parse round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unused_imports)]
#[path = "../../src/gs1/mod.rs"]
mod gs1;

use gs1::{Epc, GcpResolver};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(es) = gs1::parse_element_string(s) {
        let raw = es.to_raw();
        assert_eq!(
            gs1::parse_element_string(&raw).as_ref(),
            Ok(&es),
            "raw {raw:?}"
        );
        let br = es.to_bracketed();
        assert_eq!(
            gs1::parse_element_string(&br).as_ref(),
            Ok(&es),
            "bracketed {br:?}"
        );
        if let Ok(dl) = es.to_digital_link("https://id.gs1.org") {
            assert!(gs1::parse_digital_link(&dl).is_ok(), "dl {dl:?}");
        }
    }
    // The allocation-free pack-scan parser must agree with the general one.
    match (gs1::parse_scan_sgtin(s), gs1::parse_element_string(s)) {
        (Ok(p), Ok(es)) => {
            assert_eq!(Some(p.sgtin), es.sgtin());
            assert_eq!(p.lot, es.lot());
        }
        (Ok(p), Err(e)) => panic!("scan fast path accepted {p:?}, general parser said {e}"),
        (Err(_), _) => {}
    }
    let _ = gs1::parse_digital_link(s);
    let _ = gs1::describe(s);
    let _ = gs1::classify(s);
    if let Ok(e) = gs1::parse_any(s) {
        let key = e.key();
        assert_eq!(Epc::from_key(&key).as_ref(), Ok(&e), "key {key:?}");
        let dl = e.to_canonical_digital_link();
        assert_eq!(gs1::parse_any(&dl).as_ref(), Ok(&e), "canonical dl {dl:?}");
        if let Ok(uri) = e.to_epc_uri(&GcpResolver::new()) {
            assert_eq!(gs1::parse_epc_uri(&uri).as_ref(), Ok(&e), "uri {uri:?}");
        }
    }
});
