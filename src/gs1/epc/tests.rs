//! Tests of EPC URIs, keys and element strings (`super`).

use super::super::gcp::GcpResolver;
use super::super::keys::Gtin;
use super::*;

fn uri(e: &Epc) -> String {
    e.to_epc_uri(&GcpResolver::new()).unwrap()
}

#[test]
fn sgtin_uri_from_the_standards_sheet() {
    let e = parse_epc_uri("urn:epc:id:sgtin:0312345.067890.ABC").unwrap();
    let Epc::Sgtin(s) = &e else { panic!("{e:?}") };
    assert_eq!(s.gtin().as_str(), "00312345678906");
    assert_eq!(s.serial().as_str(), "ABC");
    assert_eq!(e.gcp_length_hint(), Some(7));
    assert_eq!(e.key(), "010031234567890621ABC");
    assert_eq!(
        e.to_canonical_digital_link(),
        "https://id.gs1.org/01/00312345678906/21/ABC"
    );
    assert_eq!(uri(&e), "urn:epc:id:sgtin:0312345.067890.ABC");
    let case = parse_epc_uri("urn:epc:id:sgtin:0312345.567890.1").unwrap();
    let Epc::Sgtin(s) = case else { panic!() };
    assert_eq!(s.gtin().as_str(), "50312345678901");
}

#[test]
fn sgtin_serial_escapes_round_trip() {
    let e = parse_epc_uri("urn:epc:id:sgtin:0312345.067890.A%2FB%25%22").unwrap();
    let Epc::Sgtin(s) = &e else { panic!() };
    assert_eq!(s.serial().as_str(), "A/B%\"");
    assert_eq!(uri(&e), "urn:epc:id:sgtin:0312345.067890.A%2FB%25%22");
    assert_eq!(
        e.to_canonical_digital_link(),
        "https://id.gs1.org/01/00312345678906/21/A%2FB%25%22"
    );
    let err = parse_epc_uri("urn:epc:id:sgtin:0312345.067890.A/B").unwrap_err();
    assert_eq!(err.code(), "gs1.charset");
    assert!(err.to_string().contains("position 33"), "{err}");
}

#[test]
fn escaped_serials_are_decoded_strictly() {
    assert_eq!(
        parse_epc_uri("urn:epc:id:sgtin:0312345.067890.%+1")
            .unwrap_err()
            .code(),
        "gs1.syntax"
    );
    assert_eq!(
        parse_epc_uri("urn:epc:id:sgtin:0312345.067890.%2")
            .unwrap_err()
            .code(),
        "gs1.syntax"
    );
    // 20 decoded characters are fine, 21 are not, however they were escaped.
    let ok = format!("urn:epc:id:sgtin:0312345.067890.{}", "%2F".repeat(20));
    assert!(parse_epc_uri(&ok).is_ok());
    let long = format!("urn:epc:id:sgtin:0312345.067890.{}", "%2F".repeat(21));
    assert_eq!(parse_epc_uri(&long).unwrap_err().code(), "gs1.length");
    // A space is not CSET 82, escaped or not.
    assert_eq!(
        parse_epc_uri("urn:epc:id:sgtin:0312345.067890.A%20B")
            .unwrap_err()
            .code(),
        "gs1.charset"
    );
}

#[test]
fn gcp_lengths_outside_6_to_12_cannot_make_an_epc_uri() {
    let e = Epc::from_key("010401234500000921ABC").unwrap();
    let mut r = GcpResolver::new();
    r.load_table(
        r#"<GCPPrefixFormatList><entry prefix="0401" gcpLength="5"/></GCPPrefixFormatList>"#,
    )
    .unwrap();
    assert_eq!(e.to_epc_uri(&r).unwrap_err().code(), "gs1.gcp_unknown");
}

#[test]
fn sgtin_uri_component_errors() {
    let e = parse_epc_uri("urn:epc:id:sgtin:031234.067890.1").unwrap_err();
    assert!(e.to_string().contains("7 digits"), "{e}");
    assert_eq!(
        parse_epc_uri("urn:epc:id:sgtin:03123.0678901.1")
            .unwrap_err()
            .code(),
        "gs1.syntax"
    );
    assert_eq!(
        parse_epc_uri("urn:epc:id:sgtin:0312345.067890")
            .unwrap_err()
            .code(),
        "gs1.syntax"
    );
    assert_eq!(
        parse_epc_uri("urn:epc:id:sgtin:0312345.067890.")
            .unwrap_err()
            .code(),
        "gs1.length"
    );
    assert_eq!(
        parse_epc_uri("urn:epc:id:sgtin:0312345.067890.123456789012345678901")
            .unwrap_err()
            .code(),
        "gs1.length"
    );
    assert_eq!(
        parse_epc_uri("urn:epc:id:foo:1.2").unwrap_err().code(),
        "gs1.epc_scheme"
    );
}

#[test]
fn sscc_sgln_pgln_from_the_standards_sheet() {
    let e = parse_epc_uri("urn:epc:id:sscc:0312345.1000000001").unwrap();
    assert_eq!(e.key(), "00103123450000000018");
    assert_eq!(
        e.to_canonical_digital_link(),
        "https://id.gs1.org/00/103123450000000018"
    );
    assert_eq!(uri(&e), "urn:epc:id:sscc:0312345.1000000001");
    let e = parse_epc_uri("urn:epc:id:sgln:0312345.00001.0").unwrap();
    assert_eq!(e.key(), "4140312345000011");
    assert_eq!(
        e.to_canonical_digital_link(),
        "https://id.gs1.org/414/0312345000011"
    );
    assert_eq!(uri(&e), "urn:epc:id:sgln:0312345.00001.0");
    let e = parse_epc_uri("urn:epc:id:sgln:4012345.00011.987").unwrap();
    assert_eq!(
        e.to_canonical_digital_link(),
        "https://id.gs1.org/414/4012345000115/254/987"
    );
    assert_eq!(e.key(), "4144012345000115254987");
    let e = parse_epc_uri("urn:epc:id:pgln:0312345.00001").unwrap();
    assert_eq!(e.key(), "4170312345000011");
    assert_eq!(uri(&e), "urn:epc:id:pgln:0312345.00001");
}

#[test]
fn hash_worked_example_b_identifiers() {
    // standards.md §3.4 worked example B.
    let e = parse_epc_uri("urn:epc:id:sgtin:0361414.012345.SN1002").unwrap();
    assert_eq!(
        e.to_canonical_digital_link(),
        "https://id.gs1.org/01/00361414123458/21/SN1002"
    );
    let e = parse_epc_uri("urn:epc:id:sgln:0361414.00001.0").unwrap();
    assert_eq!(
        e.to_canonical_digital_link(),
        "https://id.gs1.org/414/0361414000018"
    );
}

#[test]
fn lgtin_and_gtin_class() {
    let e = parse_epc_uri("urn:epc:class:lgtin:0312345.067890.LOT%2F1").unwrap();
    assert_eq!(e.key(), "010031234567890610LOT/1");
    assert_eq!(
        e.to_canonical_digital_link(),
        "https://id.gs1.org/01/00312345678906/10/LOT%2F1"
    );
    assert_eq!(uri(&e), "urn:epc:class:lgtin:0312345.067890.LOT%2F1");
    let e = parse_epc_uri("urn:epc:idpat:sgtin:0312345.067890.*").unwrap();
    assert_eq!(e, Epc::GtinClass(Gtin::parse("00312345678906").unwrap()));
    assert_eq!(
        e.to_canonical_digital_link(),
        "https://id.gs1.org/01/00312345678906"
    );
    assert_eq!(uri(&e), "urn:epc:idpat:sgtin:0312345.067890.*");
    assert!(parse_epc_uri("urn:epc:idpat:sgtin:0312345.*.*").is_err());
}

#[test]
fn other_tds_schemes_round_trip() {
    for u in [
        "urn:epc:id:grai:0312345.00001.ABC%2F1",
        "urn:epc:id:giai:0312345.A%2FB-1",
        "urn:epc:id:gsrn:0312345.0000000001",
        "urn:epc:id:gsrnp:0312345.0000000001",
        "urn:epc:id:gdti:0312345.00001.DOC1",
        "urn:epc:id:cpi:0312345.AB%2FC%23-1.42",
        "urn:epc:id:sgcn:0312345.00001.123",
        "urn:epc:id:ginc:0312345.CONS-1",
        "urn:epc:id:gsin:0312345.000000001",
        "urn:epc:id:itip:0312345.067890.01.02.SER1",
        "urn:epc:id:upui:0312345.067890.TPX1",
        "urn:epc:id:gid:95100000.12345.400",
        "urn:epc:id:usdod:2S194.12345678901",
        "urn:epc:id:adi:2S194.12-34%2F56.%23A1-B",
        "urn:epc:id:bic:CSQU3054383",
        "urn:epc:id:imovn:9176187",
    ] {
        let e = parse_epc_uri(u).unwrap_or_else(|err| panic!("{u}: {err}"));
        assert_eq!(uri(&e), u);
        let k =
            Epc::from_key(&e.key()).unwrap_or_else(|err| panic!("{u} key {:?}: {err}", e.key()));
        assert_eq!(k, e, "{u}");
    }
}

#[test]
fn other_scheme_errors() {
    assert!(parse_epc_uri("urn:epc:id:grai:0312345.00001.").is_err());
    assert!(parse_epc_uri("urn:epc:id:cpi:0312345.ab.1").is_err());
    assert!(parse_epc_uri("urn:epc:id:itip:0312345.067890.03.02.S").is_err());
    assert!(parse_epc_uri("urn:epc:id:gid:01.2.3").is_err());
    assert!(parse_epc_uri("urn:epc:id:gid:268435456.2.3").is_err());
    assert_eq!(
        parse_epc_uri("urn:epc:id:bic:CSQU3054384")
            .unwrap_err()
            .code(),
        "gs1.check_digit"
    );
    assert_eq!(
        parse_epc_uri("urn:epc:id:imovn:9176188")
            .unwrap_err()
            .code(),
        "gs1.check_digit"
    );
    assert!(parse_epc_uri("urn:epc:id:usdod:2s194.1").is_err());
    assert!(parse_epc_uri("urn:epc:id:usdod:2S194.01").is_err());
    assert!(parse_epc_uri("urn:epc:id:adi:2S194..").is_err());
}

#[test]
fn epc_uri_needs_a_gcp_length_when_not_parsed_from_one() {
    let e = Epc::from_key("010031234567890621ABC").unwrap();
    assert_eq!(e.gcp_length_hint(), None);
    let mut r = GcpResolver::new();
    r.set_ndc_rule(false);
    let err = e.to_epc_uri(&r).unwrap_err();
    assert_eq!(err.code(), "gs1.gcp_unknown");
    r.learn("0312345").unwrap();
    assert_eq!(
        e.to_epc_uri(&r).unwrap(),
        "urn:epc:id:sgtin:0312345.067890.ABC"
    );
}

#[test]
fn the_key_of_a_gtin_and_serial_is_the_key_of_the_sgtin() {
    let e = parse_epc_uri("urn:epc:id:sgtin:0361414.012345.S%2F1").unwrap();
    let Epc::Sgtin(s) = &e else { panic!() };
    let k = sgtin_key(s.gtin(), s.serial());
    assert_eq!(k, "010036141412345821S/1");
    assert_eq!(k, e.key());
    assert_eq!(Epc::from_key(&k).unwrap(), e);
    // One allocation of the exact size (keys are held by the million in a capture).
    assert_eq!(k.capacity(), k.len());
}

#[test]
fn keys_tell_their_kind_and_their_parts() {
    let sgtin = "010036141412345821S1";
    let sscc = parse_epc_uri("urn:epc:id:sscc:0312345.1000000001")
        .unwrap()
        .key();
    let sgln = parse_epc_uri("urn:epc:id:sgln:4012345.00011.987")
        .unwrap()
        .key();
    let lgtin = parse_epc_uri("urn:epc:class:lgtin:0312345.067890.L21")
        .unwrap()
        .key();
    let upui = parse_epc_uri("urn:epc:id:upui:0312345.067890.TPX1")
        .unwrap()
        .key();
    assert_eq!(KeyKind::of(sgtin), KeyKind::Sgtin);
    assert_eq!(KeyKind::of(&sscc), KeyKind::Sscc);
    for other in [
        sgln.as_str(),
        &lgtin,
        &upui,
        "010036141412345810LOT",
        "0010312345000000001",
        "0036141412345821",
        "urn:example:1",
        "01é3614141234521S1",
        "",
    ] {
        assert_eq!(KeyKind::of(other), KeyKind::Other, "{other}");
    }
    assert_eq!(sgtin_key_parts(sgtin), Some(("00361414123458", "S1")));
    assert_eq!(sgtin_key_parts(&sscc), None);
    assert_eq!(sgtin_key_parts(&lgtin), None);
    assert_eq!(gln_of_key(&sgln), Some("4012345000115"));
    assert_eq!(gln_of_key("4140361414000018"), Some("0361414000018"));
    assert_eq!(gln_of_key(sgtin), None);
    assert_eq!(gln_of_key("urn:example:414"), None);
    // The shape only, as the location table has always been fed.
    assert_eq!(gln_of_key("41412"), Some("12"));
}

/// `Epc::from_key` reads SGTIN keys directly; the element-string parse it skips must agree on
/// every key, accepted or refused.
#[test]
fn sgtin_keys_read_directly_equal_the_element_string_parse() {
    use super::super::element_string::parse_key_string;
    let full = |k: &str| parse_key_string(k).and_then(|es| Epc::from_element_string(&es));
    for k in [
        "010401234500000921ABC",
        "010031234567890621ABC",
        "01003123456789062110LOT",
        "0100312345678906211",
        "0100312345678906212%2F!\"",
        "01003123456789062112345678901234567890",
        "010031234567890721ABC",
        "0100312345678906219é",
        "01é3123456789062ABC",
        "0100312345678906217ABC",
    ] {
        let direct = Epc::from_key(k);
        match (&direct, full(k)) {
            (Ok(a), Ok(b)) => assert_eq!(a, &b, "{k}"),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("{k}: direct {a:?}, element string {b:?}"),
        }
    }
}
