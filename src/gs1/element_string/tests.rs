//! Tests of element strings (`super`).

use super::*;

fn p(s: &str) -> Result<ElementString, Gs1Error> {
    parse_element_string_with_year(s, 2026)
}

#[test]
fn raw_datamatrix_scan_with_symbology_id() {
    let es = p("]d20100312345678906172612001000LOT42\u{1d}21SN1001").unwrap();
    let v: Vec<_> = es.iter().collect();
    assert_eq!(
        v,
        [
            ("01", "00312345678906"),
            ("17", "261200"),
            ("10", "00LOT42"),
            ("21", "SN1001")
        ]
    );
    assert_eq!(es.sgtin().unwrap().serial().as_str(), "SN1001");
    assert_eq!(es.expiry().unwrap().date().to_string(), "2026-12-31");
}

#[test]
fn iteration_yields_ai_value_pairs() {
    let es = p("(01)00312345678906(21)S1").unwrap();
    let mut seen = Vec::new();
    for (ai, v) in &es {
        seen.push(format!("{ai}={v}"));
    }
    assert_eq!(seen, ["01=00312345678906", "21=S1"]);
    assert_eq!(
        es.elements().map(|e| e.def.title).collect::<Vec<_>>(),
        ["GTIN", "SERIAL"]
    );
}

#[test]
fn every_gs1_symbology_id_and_leading_fnc1_is_accepted() {
    for id in ["]d2", "]C1", "]Q3", "]e0", "]J1", "\u{1d}", ""] {
        let es = p(&format!("{id}0100312345678906")).unwrap();
        assert_eq!(es.gtin().unwrap().as_str(), "00312345678906", "{id:?}");
    }
    assert_eq!(
        p("]E00312345678906").unwrap().to_bracketed(),
        "(01)00312345678906"
    );
    assert_eq!(
        p("]E412345670").unwrap().to_bracketed(),
        "(01)00000012345670"
    );
    assert_eq!(
        p("]I150312345678901").unwrap().gtin().unwrap().indicator(),
        5
    );
    assert_eq!(p("]E00312345678907").unwrap_err().code(), "gs1.check_digit");
    assert_eq!(
        parse_scan_sgtin("]E00312345678906").unwrap_err().code(),
        "gs1.syntax"
    );
    let e = p("]d10100312345678906").unwrap_err();
    assert_eq!(e.code(), "gs1.not_gs1_data", "{e}");
    assert_eq!(p("]X90100312345678906").unwrap_err().code(), "gs1.syntax");
}

#[test]
fn element_strings_starting_with_caret_are_ai_data_after_fnc1_in_first_position() {
    // The GS1 Barcode Syntax Engine's notation: `^` is FNC1, a leading `^` FNC1 in first
    // position. Refused as "not a recognised GS1 form" before.
    let es = p("^0112345678901231^10ABC").unwrap();
    assert_eq!(es.to_bracketed(), "(01)12345678901231(10)ABC");
    assert_eq!(es, p("\u{1d}0112345678901231\u{1d}10ABC").unwrap());
    assert_eq!(es, p("0112345678901231^10ABC").unwrap());
    // After a symbology identifier, and superfluous after a predefined-length element.
    assert_eq!(es, p("]d2^0112345678901231^10ABC").unwrap());
    assert_eq!(
        p("^0100312345678906^17271231^10L1^21S1").unwrap().get("21"),
        Some("S1")
    );
    // The pack-scan fast path (verification's POST /verify/scan) reads it too.
    let ps = parse_scan_sgtin("^0100312345678906^10L1^21S1").unwrap();
    assert_eq!(ps.sgtin.serial().as_str(), "S1");
    // `^` is never data, so a missing value or a trailing FNC1 stays an error.
    assert_eq!(p("^").unwrap_err().code(), "gs1.syntax");
    assert_eq!(p("^0100312345678906^").unwrap_err().code(), "gs1.syntax");
    assert_eq!(p("^10^21A").unwrap_err().code(), "gs1.syntax");
    // The bracketed form keeps `^` as a character, and CSET 82 has none.
    assert_eq!(
        p("(01)00312345678906(21)A^B").unwrap_err().code(),
        "gs1.charset"
    );
    // EPC keys use GS only.
    assert!(parse_key_string("0100312345678906^21A").is_err());
}

#[test]
fn ean_upc_and_itf_scans_must_have_exactly_their_length_and_a_valid_check_digit() {
    // A wrong check digit is refused under every symbology identifier.
    for (scan, what) in [
        ("]E00312345678907", "GTIN"),
        ("]E412345671", "GTIN"),
        ("]I150312345678902", "GTIN"),
        ("]E3031234567890712", "GTIN"),
        ("]C10100312345678907", "(AI 01)"),
        ("]e00100312345678907", "(AI 01)"),
        ("]d20100312345678907", "(AI 01)"),
        ("]Q30100312345678907", "(AI 01)"),
        ("]J10100312345678907", "(AI 01)"),
    ] {
        let e = p(scan).unwrap_err();
        assert_eq!(e.code(), "gs1.check_digit", "{scan}: {e}");
        assert!(e.to_string().contains(what), "{scan}: {e}");
    }
    // EAN-13 is 13 digits, EAN-8 is 8, ITF-14 is 14: a valid GTIN of another length is
    // not what the symbol carries (these were accepted before).
    for scan in [
        "]E000312345678906",
        "]E0312345678906",
        "]E012345670",
        "]E40312345678906",
        "]I10312345678906",
    ] {
        let e = p(scan).unwrap_err();
        assert_eq!(e.code(), "gs1.length", "{scan}: {e}");
        assert!(e.to_string().contains("position 3"), "{scan}: {e}");
    }
    assert_eq!(p("]E0031234567890A").unwrap_err().code(), "gs1.charset");
    // An add-on is no AI data: refused, saying so.
    let e = p("]E3031234567890612").unwrap_err();
    assert_eq!(e.code(), "gs1.syntax");
    assert!(e.to_string().contains("add-on"), "{e}");
    // EAN-13 with its 2D composite component, as the syntax engine transmits it.
    let es = p("]E00312345678906|]e010LOT1\u{1d}17271231").unwrap();
    assert_eq!(es.to_bracketed(), "(01)00312345678906(10)LOT1(17)271231");
    assert_eq!(
        p("]E00312345678906|]e010LOT1\u{1d}17271331")
            .unwrap_err()
            .code(),
        "gs1.date"
    );
}

#[test]
fn non_gs1_symbology_identifiers_are_not_gs1_data_naming_the_symbology() {
    for (scan, name) in [
        ("]Q1TESTING", "QR Code, not in GS1 mode"),
        ("]d1TESTING", "Data Matrix, not in GS1 mode"),
        ("]C0TESTING", "Code 128, not GS1-128"),
        ("]J0TESTING", "DotCode, not in GS1 mode"),
    ] {
        let e = p(scan).unwrap_err();
        assert_eq!(e.code(), "gs1.not_gs1_data", "{scan}");
        let msg = e.to_string();
        assert!(msg.contains("not GS1 data") && msg.contains(name), "{msg}");
        assert_eq!(
            parse_scan_sgtin(scan).unwrap_err().code(),
            "gs1.not_gs1_data"
        );
    }
    assert!(p("]Q1TESTING")
        .unwrap_err()
        .to_string()
        .contains("GS1 QR Code is ]Q3"));
}

#[test]
fn syntax_only_skips_requisites_and_keeps_every_other_check() {
    let so = |s: &str| parse_es(s, 2026, ParseOptions::SYNTAX_ONLY);
    // A lot without a GTIN: a requisite, so only the full parse refuses it.
    assert_eq!(p("(10)ABC").unwrap_err().code(), "gs1.ai_requires");
    assert_eq!(so("(10)ABC").unwrap().get("10"), Some("ABC"));
    assert_eq!(so("^10ABC^21S").unwrap().len(), 2);
    // Everything else stays checked.
    assert_eq!(so("(10)ABC(17)271331").unwrap_err().code(), "gs1.date");
    assert_eq!(
        so("(01)00312345678907").unwrap_err().code(),
        "gs1.check_digit"
    );
    assert_eq!(
        so("(01)00312345678906(02)00312345678906(37)1")
            .unwrap_err()
            .code(),
        "gs1.ai_excludes"
    );
    assert_eq!(so("(10)A(10)B").unwrap_err().code(), "gs1.ai_conflict");
    assert_eq!(so("(23)1").unwrap_err().code(), "gs1.unknown_ai");
}

#[test]
fn missing_fnc1_after_variable_field_is_caught_as_overlong_value() {
    // Without GS, "21" swallows "17261200": 14 chars is fine for AI 21, so the
    // data is different from what was meant but valid; with AI 10 max 20 the
    // overflow is detected.
    let e = p("010031234567890610ABCDEFGHIJKLMNOPQRSTU21X").unwrap_err();
    assert_eq!(e.code(), "gs1.length");
    assert!(e.to_string().contains("(AI 10)"), "{e}");
}

#[test]
fn ai_7003_is_fixed_length_but_needs_fnc1() {
    let es = p("01003123456789067003261231235910LOT").unwrap_err();
    assert_eq!(es.code(), "gs1.length", "{es}");
    let es = p("01003123456789067003261231235\u{1d}10LOT");
    assert!(es.is_err());
    let es = p("0100312345678906700326123123599\u{1d}10LOT").unwrap_err();
    assert_eq!(es.code(), "gs1.length");
    let ok = p("01003123456789067003261231235\u{1d}10LOT"
        .replace("235\u{1d}", "2359\u{1d}")
        .as_str())
    .unwrap();
    assert_eq!(ok.get("7003"), Some("2612312359"));
    assert_eq!(
        ok.to_raw(),
        "01003123456789067003261231235\u{1d}10LOT".replace("235\u{1d}", "2359\u{1d}")
    );
}

#[test]
fn bracketed_round_trips_with_escaped_parenthesis() {
    let es = p("(01)00312345678906(21)A\\(B)(10)L1").unwrap();
    assert_eq!(es.get("21"), Some("A(B)"));
    assert_eq!(es.to_bracketed(), "(01)00312345678906(21)A\\(B)(10)L1");
    assert_eq!(p(&es.to_raw()).unwrap(), es);
}

#[test]
fn pairing_rules_are_enforced() {
    let e = p("(21)ABC").unwrap_err();
    assert_eq!(e.code(), "gs1.ai_requires");
    assert!(e.to_string().contains("(01) or (03) or (8006)"), "{e}");
    let e = p("(01)00312345678906(02)00312345678906(37)1").unwrap_err();
    assert_eq!(e.code(), "gs1.ai_excludes");
    let e = p("(01)00312345678906(21)A(21)B").unwrap_err();
    assert_eq!(e.code(), "gs1.ai_conflict");
    let es = p("(01)00312345678906(21)A(21)A").unwrap();
    assert_eq!(es.len(), 2);
    assert_eq!(p("(715)1234567890").unwrap_err().code(), "gs1.ai_requires");
}

#[test]
fn unknown_ais_are_reported_with_position() {
    let e = p("0100312345678906231234").unwrap_err();
    assert_eq!(e.code(), "gs1.unknown_ai");
    assert!(
        e.to_string().contains("\"2312\"") && e.to_string().contains("position 16"),
        "{e}"
    );
    assert_eq!(p("(23)1").unwrap_err().code(), "gs1.unknown_ai");
}

#[test]
fn truncated_and_empty_data_are_errors() {
    assert_eq!(p("01003123456789").unwrap_err().code(), "gs1.length");
    assert_eq!(p("").unwrap_err().code(), "gs1.syntax");
    assert_eq!(p("]d2").unwrap_err().code(), "gs1.syntax");
    assert_eq!(
        p("0100312345678906\u{1d}").unwrap_err().code(),
        "gs1.syntax"
    );
    assert_eq!(
        p("010031234567890610\u{1d}21A").unwrap_err().code(),
        "gs1.syntax"
    );
}

#[test]
fn regression_non_ascii_inside_a_fixed_component_is_a_charset_error_not_a_panic() {
    let e = p("(8003)00;\u{1d}urn\u{1d}4:epc\u{194}d0:").unwrap_err();
    assert_eq!(e.code(), "gs1.charset");
}

#[test]
fn regression_repeated_ai_kept_once_compares_equal_to_its_rendering() {
    let es = p("\u{1d}4003d(2(22!..\u{1d}40100\u{1d}40100").unwrap();
    assert_eq!(es.len(), 2);
    assert_eq!(p(&es.to_raw()).unwrap(), es);
}

#[test]
fn pack_scan_fast_path_agrees_with_the_general_parser() {
    let scan = "]d2010036141412345817271231\u{1d}10LOT4217\u{1d}21SN1002";
    let ps = parse_scan_sgtin(scan).unwrap();
    let es = parse_element_string(scan).unwrap();
    assert_eq!(Some(ps.sgtin), es.sgtin());
    assert_eq!(ps.lot, es.lot());
    assert_eq!(ps.expiry, es.expiry());
    assert_eq!(
        parse_scan_sgtin("(01)00361414123458(21)SN1002")
            .unwrap()
            .sgtin,
        ps.sgtin
    );
    assert_eq!(
        parse_scan_sgtin("0100361414123458").unwrap_err().code(),
        "gs1.not_an_identifier"
    );
    assert_eq!(
        parse_scan_sgtin("010036141412345821A\u{1d}21B")
            .unwrap_err()
            .code(),
        "gs1.ai_conflict"
    );
    assert_eq!(
        parse_scan_sgtin("21A").unwrap_err().code(),
        "gs1.ai_requires"
    );
}

#[test]
fn digital_link_rendering_orders_qualifiers_and_puts_attributes_in_query() {
    let es = p("(01)00312345678906(17)261231(21)A/1(10)L 1"
        .replace(' ', "")
        .as_str())
    .unwrap();
    assert_eq!(
        es.to_digital_link("https://id.gs1.org").unwrap(),
        "https://id.gs1.org/01/00312345678906/10/L1/21/A%2F1?17=261231"
    );
}

#[test]
fn digital_link_rendering_escapes_semicolons_in_query_values_so_they_round_trip() {
    let es = p("(01)00312345678906(240)A;B").unwrap();
    let dl = es.to_digital_link("https://id.gs1.org").unwrap();
    assert_eq!(dl, "https://id.gs1.org/01/00312345678906?240=A%3BB");
    assert_eq!(super::super::parse_digital_link(&dl).unwrap(), es);
}
