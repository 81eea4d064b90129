//! Tests of the AI table and its checks (`super`).

use super::*;

#[test]
fn dictionary_parses_with_every_ai_and_expanded_ranges() {
    let t = table();
    assert!(t.all().len() > 500, "{}", t.all().len());
    for ai in [
        "00", "01", "10", "17", "21", "3103", "3955", "7003", "8030", "91", "99",
    ] {
        assert!(t.get(ai).is_some(), "{ai} missing");
    }
    assert!(t.get("3106").is_none());
    assert!(t.get("23").is_none());
}

#[test]
fn predefined_flag_and_lengths_come_from_the_dictionary() {
    let t = table();
    let d = |ai| t.def(t.get(ai).unwrap());
    assert!(d("01").predefined && d("17").predefined && d("3103").predefined);
    assert!(!d("7003").predefined && !d("10").predefined && !d("21").predefined);
    assert_eq!(d("7003").fixed_len, Some(10));
    assert_eq!(d("21").fixed_len, None);
    assert_eq!(d("21").max_len, 20);
    assert_eq!(d("253").format_text(), "N13 [X..17]");
    assert_eq!(d("01").dl_pkey.as_ref().unwrap().len(), 2);
}

#[test]
fn at_identifies_the_ai_prefix() {
    let t = table();
    let (i, n) = t.at(b"0100312345678906").unwrap();
    assert_eq!((t.def(i).ai, n), ("01", 2));
    let (i, n) = t.at(b"70032601011200").unwrap();
    assert_eq!((t.def(i).ai, n), ("7003", 4));
    assert!(t.at(b"2312").is_none());
}

#[test]
fn values_are_checked_by_component_and_linter() {
    let t = table();
    let d = |ai| t.def(t.get(ai).unwrap());
    assert!(d("01").validate("00312345678906", 2026).is_ok());
    assert_eq!(
        d("01").validate("00312345678907", 2026).unwrap_err().code(),
        "gs1.check_digit"
    );
    assert_eq!(
        d("17").validate("261301", 2026).unwrap_err().code(),
        "gs1.date"
    );
    assert!(d("17").validate("261200", 2026).is_ok());
    assert_eq!(
        d("7003").validate("2612000000", 2026).unwrap_err().code(),
        "gs1.date"
    );
    assert!(d("7003").validate("2612312359", 2026).is_ok());
    assert_eq!(
        d("7003").validate("2612312460", 2026).unwrap_err().code(),
        "gs1.date"
    );
    assert_eq!(
        d("21").validate("A B", 2026).unwrap_err().code(),
        "gs1.charset"
    );
    assert_eq!(
        d("8003")
            .validate("10312345000011", 2026)
            .unwrap_err()
            .code(),
        "gs1.invalid"
    );
    assert!(d("8003").validate("00312345000011XY", 2026).is_ok());
    assert!(d("8013")
        .validate("1987654Ad4X4bL5ttr2310c2K", 2026)
        .is_ok());
    assert_eq!(
        d("8013")
            .validate("1987654Ad4X4bL5ttr2310c2L", 2026)
            .unwrap_err()
            .code(),
        "gs1.check_digit"
    );
    assert!(d("8007").validate("GB82WEST12345698765432", 2026).is_ok());
    assert!(d("8007").validate("GB82WEST12345698765433", 2026).is_err());
    assert_eq!(
        d("8006")
            .validate("003123456789060302", 2026)
            .unwrap_err()
            .code(),
        "gs1.invalid"
    );
    assert!(d("8006").validate("003123456789060203", 2026).is_ok());
}

#[test]
fn patterns_match_wildcards() {
    assert!(pattern_matches("310n", "3105"));
    assert!(pattern_matches("35nn", "3512"));
    assert!(!pattern_matches("310n", "311"));
    assert!(!pattern_matches("01", "02"));
}
