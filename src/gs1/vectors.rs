//! Table-driven tests: identifiers from the shared public EPCIS fixtures, the examples the
//! GS1 Barcode Syntax Dictionary documents in its header, and our own error table.

use super::*;

/// Identifier URIs from the public EPCIS fixtures (attribution in the file header).
const CORPUS: &str = include_str!("../../fixtures/gs1/epcis-corpus-identifiers.txt");

#[test]
fn every_identifier_in_the_public_epcis_fixtures_is_an_epc_that_round_trips() {
    let mut n = 0;
    for line in CORPUS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        n += 1;
        let id = classify(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let Identifier::Epc(e) = id else {
            panic!("{line}: opaque")
        };
        assert_eq!(Epc::from_key(&e.key()).as_ref(), Ok(&e), "{line}");
        assert_eq!(
            parse_any(&e.to_canonical_digital_link()).as_ref(),
            Ok(&e),
            "{line}"
        );
        if line.starts_with("urn:") {
            // Re-rendered from the GCP length the URN itself showed.
            assert_eq!(e.to_epc_uri(&GcpResolver::new()).unwrap(), line);
        }
    }
    assert!(n > 100, "{n}");
}

#[test]
fn reference_hash_example_sscc_and_sgln_map_to_the_published_digital_links() {
    // standards.md §3.4 worked example A (RalphTro/epcis-event-hash-generator, MIT).
    let cases = [
        (
            "urn:epc:id:sscc:4012345.0000000111",
            "https://id.gs1.org/00/040123450000001112",
        ),
        (
            "urn:epc:id:sscc:4012345.0000000222",
            "https://id.gs1.org/00/040123450000002225",
        ),
        (
            "urn:epc:id:sscc:4012345.0000000333",
            "https://id.gs1.org/00/040123450000003338",
        ),
        (
            "urn:epc:id:sgln:4012345.00011.987",
            "https://id.gs1.org/414/4012345000115/254/987",
        ),
    ];
    for (urn, dl) in cases {
        let Identifier::Epc(e) = classify(urn).unwrap() else {
            panic!()
        };
        assert_eq!(e.to_canonical_digital_link(), dl);
    }
}

#[test]
fn digital_link_qualifier_examples_from_the_syntax_dictionary_header() {
    // "dlpkey=22,10,21|235" examples documented in gs1-syntax-dictionary.txt (Apache-2.0).
    let g = "https://id.gs1.org/01/00312345678906";
    let cases = [
        ("/22/V/10/L/21/S", true),
        ("/22/V/21/S", true),
        ("/10/L", true),
        ("/10/L/22/V", false),
        ("/235/T", true),
        ("/22/V/10/L/235/T", false),
    ];
    for (path, ok) in cases {
        let r = parse_digital_link(&format!("{g}{path}"));
        assert_eq!(r.is_ok(), ok, "{path}: {r:?}");
    }
}

#[test]
fn pairing_examples_from_the_syntax_dictionary() {
    // 8030 "req=00,01+21,…": 01 alone is not enough, 01 with 21 is.
    let sig = "(8030)QUJD";
    assert_eq!(
        parse_element_string(&format!("(01)00312345678906{sig}"))
            .unwrap_err()
            .code(),
        "gs1.ai_requires"
    );
    assert!(parse_element_string(&format!("(01)00312345678906(21)1{sig}")).is_ok());
    // 3920 "req=01 req=30,31nn,…": both groups must hold; patterns match 31nn.
    assert!(parse_element_string("(01)00312345678906(3103)000500(3920)1").is_ok());
    assert_eq!(
        parse_element_string("(01)00312345678906(3920)1")
            .unwrap_err()
            .code(),
        "gs1.ai_requires"
    );
    // "An AI is not exclusive of itself even if it matches a pattern" (310n ex=310n).
    assert!(parse_element_string("(01)00312345678906(3103)000500").is_ok());
    assert_eq!(
        parse_element_string("(01)00312345678906(3103)000500(3102)005000")
            .unwrap_err()
            .code(),
        "gs1.ai_excludes"
    );
}

#[test]
fn error_table_every_failure_names_input_component_and_expectation() {
    // (input, code, fragments the message must contain)
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "(01)00312345678907",
            "gs1.check_digit",
            &["00312345678907", "check digit is 7, expected 6"],
        ),
        (
            "(01)0031234567890",
            "gs1.length",
            &["AI 01", "length is 13, expected 14"],
        ),
        (
            "(17)261301(01)00312345678906",
            "gs1.date",
            &["AI 17", "month \"13\""],
        ),
        (
            "(01)00312345678906(21)AB CD",
            "gs1.charset",
            &["AI 21", "' '", "position 2"],
        ),
        (
            "(01)00312345678906(99)",
            "gs1.syntax",
            &["a value for", "AI 99"],
        ),
        (
            "(21)ABC",
            "gs1.ai_requires",
            &["(21)", "(01) or (03) or (8006)"],
        ),
        (
            "0100312345678906\u{1d}2312",
            "gs1.unknown_ai",
            &["\"2312\"", "position 17"],
        ),
        (
            "urn:epc:id:sgtin:0312345.06789.1",
            "gs1.syntax",
            &["indicator and item reference", "6 digits"],
        ),
        (
            "urn:epc:id:sgtin:0312345.067890.A B",
            "gs1.charset",
            &["position 33"],
        ),
        ("urn:epc:id:xyz:1.2", "gs1.epc_scheme", &["id:xyz"]),
        (
            "https://id.gs1.org/01/00312345678906/21/S/10/L",
            "gs1.digital_link",
            &["out of order", "/21/10"],
        ),
        (
            "https://id.gs1.org/00/103123450000000018/10/L",
            "gs1.digital_link",
            &["takes no key qualifiers"],
        ),
        ("hello world", "gs1.unrecognised_form", &["hello world"]),
    ];
    for (input, code, frags) in cases {
        let e = describe(input).unwrap_err();
        assert_eq!(e.code(), *code, "{input}: {e}");
        let msg = e.to_string();
        for f in *frags {
            assert!(msg.contains(f), "{input}: {msg:?} lacks {f:?}");
        }
    }
}

#[test]
fn errors_inside_an_element_say_where_the_element_starts() {
    let e = parse_element_string("(01)00312345678906(21)AB CD").unwrap_err();
    assert_eq!(e.code(), "gs1.charset");
    assert!(e.to_string().contains("element at position 18"), "{e}");
    assert!(
        matches!(e.root(), Gs1Error::Charset { position: 2, .. }),
        "{e:?}"
    );
    let e = parse_element_string("]d2010031234567890617261301").unwrap_err();
    assert_eq!(e.code(), "gs1.date");
    assert!(e.to_string().contains("element at position 19"), "{e}");
    let e = parse_digital_link("https://id.gs1.org/01/00312345678906/21/A%20B").unwrap_err();
    assert_eq!(e.code(), "gs1.charset");
    assert!(e.to_string().contains("element at position 40"), "{e}");
}

#[test]
fn every_ai_of_the_dictionary_accepts_a_minimal_valid_value_or_is_checked() {
    // Every AI can be looked up and described; its format text is well-formed.
    for d in ai_table().all() {
        assert!(ai_table().get(d.ai).is_some(), "{}", d.ai);
        let f = d.format_text();
        assert!(f.starts_with(['N', 'X', 'Y', 'Z']), "{}: {f}", d.ai);
        assert!(d.max_len >= 1 && d.max_len <= 90, "{}", d.ai);
    }
}
