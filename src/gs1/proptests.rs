//! Property tests: every representation round-trips, every single-digit error is caught.

use proptest::prelude::*;

use super::*;

const CSET82: &[u8] =
    b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

fn digits(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..10, n)
        .prop_map(|v| v.into_iter().map(|d| (b'0' + d) as char).collect())
}

fn cset82(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(CSET82), 1..=max)
        .prop_map(|v| String::from_utf8(v).unwrap())
}

fn gtin() -> impl Strategy<Value = Gtin> {
    digits(13).prop_map(|d| Gtin::from_data_digits(&d).unwrap())
}

fn gcp_len() -> impl Strategy<Value = usize> {
    6usize..=12
}

/// A resolver that knows exactly one prefix.
fn resolver(prefix: &str) -> GcpResolver {
    let mut r = GcpResolver::new();
    r.set_ndc_rule(false);
    r.learn(prefix).unwrap();
    r
}

/// Every way to change one digit of `s` must be refused by `parse`.
fn all_single_digit_corruptions_fail<T, E>(
    s: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<(), TestCaseError> {
    let b = s.as_bytes();
    for i in 0..b.len() {
        for d in b'0'..=b'9' {
            if d == b[i] {
                continue;
            }
            let mut c = b.to_vec();
            c[i] = d;
            let c = String::from_utf8(c).unwrap();
            prop_assert!(parse(&c).is_err(), "corruption {} of {} accepted", c, s);
        }
    }
    Ok(())
}

/// Every representation of an EPC must parse back to it.
fn round_trips(e: &Epc, r: &GcpResolver) -> Result<(), TestCaseError> {
    let uri = e.to_epc_uri(r).unwrap();
    let from_uri = parse_epc_uri(&uri).unwrap();
    prop_assert_eq!(&from_uri, e);
    prop_assert_eq!(
        from_uri.to_epc_uri(&GcpResolver::new()).unwrap(),
        uri.clone()
    );
    prop_assert_eq!(classify(&uri).unwrap(), Identifier::Epc(e.clone()));
    let dl = e.to_canonical_digital_link();
    prop_assert_eq!(&parse_any(&dl).unwrap(), e);
    prop_assert_eq!(&Epc::from_key(&e.key()).unwrap(), e);
    let es = e.to_element_string().unwrap();
    prop_assert_eq!(&parse_any(&es.to_bracketed()).unwrap(), e);
    prop_assert_eq!(
        &Epc::from_element_string(&parse_element_string(&es.to_raw()).unwrap()).unwrap(),
        e
    );
    prop_assert_eq!(
        &Epc::from_element_string(&parse_element_string(&format!("]d2{}", es.to_raw())).unwrap())
            .unwrap(),
        e
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn gtin_round_trips_and_every_digit_error_is_caught(g in gtin()) {
        prop_assert_eq!(Gtin::parse(g.as_str()).unwrap(), g);
        prop_assert_eq!(g.to_string().parse::<Gtin>().unwrap(), g);
        all_single_digit_corruptions_fail(g.as_str(), Gtin::parse)?;
    }

    #[test]
    fn gln_and_sscc_catch_every_digit_error(d12 in digits(12), d17 in digits(17)) {
        let gln = Gln::from_data_digits(&d12).unwrap();
        prop_assert_eq!(Gln::parse(gln.as_str()).unwrap(), gln);
        all_single_digit_corruptions_fail(gln.as_str(), Gln::parse)?;
        let sscc = Sscc::from_data_digits(&d17).unwrap();
        prop_assert_eq!(Sscc::parse(sscc.as_str()).unwrap(), sscc);
        all_single_digit_corruptions_fail(sscc.as_str(), Sscc::parse)?;
    }

    #[test]
    fn corrupted_gtin_in_a_digital_link_or_scan_is_caught(g in gtin(), ser in cset82(20)) {
        let e = Epc::Sgtin(Sgtin::new(g, SerialNumber::parse(&ser).unwrap()));
        let dl = e.to_canonical_digital_link();
        let base = "https://id.gs1.org/01/";
        all_single_digit_corruptions_fail(g.as_str(), |c| parse_digital_link(&dl.replacen(&format!("{base}{g}"), &format!("{base}{c}"), 1)))?;
        all_single_digit_corruptions_fail(g.as_str(), |c| parse_element_string(&format!("01{c}21{ser}")))?;
    }

    #[test]
    fn sgtin_round_trips_through_every_form(g in gtin(), ser in cset82(20), l in gcp_len()) {
        let r = resolver(&g.as_str()[1..1 + l]);
        let e = Epc::Sgtin(Sgtin::new(g, SerialNumber::parse(&ser).unwrap()));
        round_trips(&e, &r)?;
        let Epc::Sgtin(s) = &e else { unreachable!() };
        prop_assert_eq!(&s.to_string().parse::<Sgtin>().unwrap(), s);
        prop_assert_eq!(Sgtin::from_epc_uri(&e.to_epc_uri(&r).unwrap()).unwrap(), *s);
    }

    #[test]
    fn lgtin_and_gtin_class_round_trip(g in gtin(), lot in cset82(20), l in gcp_len()) {
        let r = resolver(&g.as_str()[1..1 + l]);
        round_trips(&Epc::Lgtin(Lgtin::new(g, Lot::parse(&lot).unwrap())), &r)?;
        round_trips(&Epc::GtinClass(g), &r)?;
    }

    #[test]
    fn sscc_round_trips(d in digits(17), l in gcp_len()) {
        let s = Sscc::from_data_digits(&d).unwrap();
        let r = resolver(&s.as_str()[1..1 + l]);
        round_trips(&Epc::Sscc(s), &r)?;
    }

    #[test]
    fn sgln_and_pgln_round_trip(d in digits(12), ext in proptest::option::of(cset82(20)), l in gcp_len()) {
        let gln = Gln::from_data_digits(&d).unwrap();
        let r = resolver(&gln.as_str()[..l]);
        round_trips(&Epc::Sgln(Sgln::new(gln, ext.as_deref()).unwrap()), &r)?;
        round_trips(&Epc::Pgln(gln), &r)?;
    }

    #[test]
    fn other_schemes_round_trip(d12 in digits(12), d17 in digits(17), ser in cset82(16), l in gcp_len(), num in 1u64..999_999_999_999) {
        let gln = Gln::from_data_digits(&d12).unwrap();
        let cp = &d12[..l];
        let r = resolver(cp);
        let grai = Epc::from_key(&format!("80030{gln}{ser}")).unwrap();
        round_trips(&grai, &r)?;
        let gdti = Epc::from_key(&format!("253{gln}{ser}")).unwrap();
        round_trips(&gdti, &r)?;
        let sgcn = Epc::from_key(&format!("255{gln}{num}")).unwrap();
        round_trips(&sgcn, &r)?;
        let giai = Epc::from_key(&format!("8004{cp}{ser}")).unwrap();
        round_trips(&giai, &r)?;
        let gsrn = Sscc::from_data_digits(&format!("{d12}{}", &d17[..5])).unwrap();
        round_trips(&Epc::from_key(&format!("8018{gsrn}")).unwrap(), &r)?;
        round_trips(&Epc::from_key(&format!("8017{gsrn}")).unwrap(), &r)?;
    }

    #[test]
    fn expiry_round_trips(days in 0i64..(365 * 40)) {
        let start = chrono::NaiveDate::from_ymd_opt(super::dates::current_year() - 10, 1, 1).unwrap();
        let date = start + chrono::Duration::days(days);
        let e = Expiry::from_date(date).unwrap();
        prop_assert_eq!(e.date(), date);
        prop_assert_eq!(Expiry::parse(e.as_str()).unwrap(), e);
        prop_assert_eq!(Expiry::from_iso_date(&date.to_string()).unwrap(), e);
    }

    #[test]
    fn ndc_round_trips_and_maps_to_gtin(d in digits(10), f in 0usize..3, ind in 0u8..9) {
        let (a, b) = [(4, 4), (5, 3), (5, 4)][f];
        let hyph = format!("{}-{}-{}", &d[..a], &d[a..a + b], &d[a + b..]);
        let n = Ndc::parse(&hyph).unwrap();
        prop_assert_eq!(n.to_string(), hyph.clone());
        prop_assert!(Ndc::candidates_from_ndc11(&n.to_ndc11().unwrap()).unwrap().contains(&n));
        let g = n.to_gtin(ind).unwrap();
        prop_assert_eq!(g.indicator(), ind);
        prop_assert_eq!(Ndc::from_gtin(&g).unwrap().digits_str().to_string(), n.digits_str());
    }

    #[test]
    fn element_strings_round_trip_through_raw_bracketed_and_digital_link(
        g in gtin(), ser in cset82(20), lot in proptest::option::of(cset82(20)), days in 0i64..3000
    ) {
        let date = chrono::NaiveDate::from_ymd_opt(super::dates::current_year(), 1, 1).unwrap() + chrono::Duration::days(days);
        let exp = Expiry::from_date(date).unwrap();
        let mut b = format!("(01){g}(17){exp}");
        if let Some(l) = &lot {
            b.push_str(&format!("(10){}", l.replace('(', "\\(")));
        }
        b.push_str(&format!("(21){}", ser.replace('(', "\\(")));
        let es = parse_element_string(&b).unwrap();
        prop_assert_eq!(es.to_bracketed(), b);
        prop_assert_eq!(&parse_element_string(&es.to_raw()).unwrap(), &es);
        let dl = es.to_digital_link("https://example.com/vrs").unwrap();
        let back = parse_digital_link(&dl).unwrap();
        prop_assert_eq!(back.gtin(), Some(g));
        prop_assert_eq!(back.serial().unwrap().as_str().to_string(), ser.as_str());
        prop_assert_eq!(back.lot().map(|l| l.as_str().to_string()), lot);
        prop_assert_eq!(back.expiry(), Some(exp));
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_text(s in "\\PC{0,60}") {
        let _ = classify(&s);
        let _ = parse_any(&s);
        let _ = describe(&s);
        let _ = Epc::from_key(&s);
    }
}
