use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_need_no_configuration() {
    let s = Settings::load_from(None, &env(&[("DSCSA_CONFIG", "")])).unwrap();
    assert!(s.database.url.is_none());
    assert_eq!(s.http.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.data_dir, PathBuf::from("./data"));
}

#[test]
fn environment_overrides_the_file() {
    let dir = std::env::temp_dir().join(format!("dscsa-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.toml");
    std::fs::write(
        &file,
        "[http]\nlisten = \"0.0.0.0:9000\"\n[database]\npool_size = 3\n",
    )
    .unwrap();
    let s = Settings::load_from(
        Some(&file),
        &env(&[
            ("DSCSA_DATABASE_POOL_SIZE", "7"),
            ("DATABASE_URL", "postgres://a:b@h/d"),
        ]),
    )
    .unwrap();
    assert_eq!(s.http.listen.to_string(), "0.0.0.0:9000");
    assert_eq!(s.database.pool_size, 7);
    assert_eq!(s.database.url.unwrap().expose(), "postgres://a:b@h/d");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_values_name_their_key() {
    let err = Settings::load_from(None, &env(&[("DSCSA_HTTP_LISTEN", "localhost")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("http.listen"), "{err}");
    let err = Settings::load_from(None, &env(&[("DATABASE_URL", "mysql://x@y/z")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("database.url"), "{err}");
    let err = Settings::load_from(None, &env(&[("DSCSA_DATABASE_POOL_SIZE", "many")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("DSCSA_DATABASE_POOL_SIZE"), "{err}");
}

#[test]
fn capture_limits_are_configurable_and_checked() {
    let s =
        Settings::load_from(None, &env(&[("DSCSA_CAPTURE_MAX_DOCUMENT_BYTES", "1000")])).unwrap();
    assert_eq!(s.capture_limits.max_bytes, 1000);
    let s = Settings::load_from(None, &env(&[]))
        .unwrap()
        .capture_future_tolerance;
    assert_eq!(s.as_secs(), 300, "default");
    let s =
        Settings::load_from(None, &env(&[("DSCSA_CAPTURE_FUTURE_TOLERANCE_SECS", "0")])).unwrap();
    assert_eq!(s.capture_future_tolerance.as_secs(), 0);
    let err = Settings::load_from(
        None,
        &env(&[("DSCSA_CAPTURE_FUTURE_TOLERANCE_SECS", "90000")]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("capture.future_tolerance_secs"), "{err}");
    let err = Settings::load_from(None, &env(&[("DSCSA_CAPTURE_MAX_EVENTS", "0")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("capture.max_events"), "{err}");
}

#[test]
fn unknown_keys_in_the_file_are_rejected() {
    let dir = std::env::temp_dir().join(format!("dscsa-config-u-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.toml");
    std::fs::write(&file, "[database]\npoolsize = 3\n").unwrap();
    let err = Settings::load_from(Some(&file), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("poolsize"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn masking_hides_passwords_and_nothing_else() {
    assert_eq!(
        mask_url("postgres://app:s3cret@db.example:5432/dscsa"),
        "postgres://app:***@db.example:5432/dscsa"
    );
    assert_eq!(mask_url("postgres://app@db/x"), "postgres://app@db/x");
    assert_eq!(
        mask_url("postgresql:///d?host=/tmp&password=pw&user=u"),
        "postgresql:///d?host=/tmp&password=***&user=u"
    );
    let s = Settings::load_from(
        None,
        &env(&[("DATABASE_URL", "postgres://a:topsecret@h/d")]),
    )
    .unwrap();
    assert!(!s.to_masked_toml().contains("topsecret"));
    assert!(!format!("{s:?}").contains("topsecret"));
}

#[test]
fn the_organisation_comes_from_the_file_or_the_environment_and_is_checked() {
    let dir = std::env::temp_dir().join(format!("dscsa-config-o-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.toml");
    std::fs::write(
        &file,
        "[organisation]\ngln = \"0312345000004\"\nname = \"Example Pharma\"\ncompany_prefixes = [\"0312345\"]\n",
    )
    .unwrap();
    let s = Settings::load_from(Some(&file), &[]).unwrap();
    let org = s.organisation.clone().unwrap();
    assert_eq!(
        (org.gln.as_str(), org.name.as_str(), org.development),
        ("0312345000004", "Example Pharma", false)
    );
    assert_eq!(org.company_prefixes, ["0312345"]);
    assert_eq!(s.responder_gln().unwrap().as_str(), "0312345000004");
    assert!(s.to_masked_toml().contains("gln = \"0312345000004\""));
    // The environment wins; verification.responder_gln overrides responderGLN only.
    let s = Settings::load_from(
        Some(&file),
        &env(&[
            ("DSCSA_ORGANISATION_COMPANY_PREFIXES", "0312345, 03123456"),
            ("DSCSA_VERIFICATION_RESPONDER_GLN", "0361414000018"),
        ]),
    )
    .unwrap();
    assert_eq!(
        s.organisation.as_ref().unwrap().company_prefixes,
        ["0312345", "03123456"]
    );
    assert_eq!(s.responder_gln().unwrap().as_str(), "0361414000018");
    std::fs::remove_dir_all(dir).ok();

    for (pairs, key) in [
        (
            vec![
                ("DSCSA_ORGANISATION_GLN", "0312345000005"),
                ("DSCSA_ORGANISATION_NAME", "X"),
            ],
            "organisation.gln",
        ),
        (
            vec![("DSCSA_ORGANISATION_GLN", "0312345000004")],
            "organisation.name",
        ),
        (vec![("DSCSA_ORGANISATION_NAME", "X")], "organisation.gln"),
        (
            vec![
                ("DSCSA_ORGANISATION_GLN", "0312345000004"),
                ("DSCSA_ORGANISATION_NAME", "X"),
                ("DSCSA_ORGANISATION_COMPANY_PREFIXES", "03123"),
            ],
            "organisation.company_prefixes",
        ),
        (
            vec![("DSCSA_VERIFICATION_REQUIRE_LINK_TYPE", "maybe")],
            "DSCSA_VERIFICATION_REQUIRE_LINK_TYPE",
        ),
    ] {
        let err = Settings::load_from(None, &env(&pairs))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{pairs:?}: {err}");
    }
}

#[test]
fn production_is_an_external_database_or_own_certificates() {
    let dev = Settings::load_from(None, &env(&[("DSCSA_CONFIG", "")])).unwrap();
    assert_eq!(dev.production_reason(), None);
    assert!(dev.verification.require_link_type);
    assert!(dev.organisation.is_none() && dev.responder_gln().is_none());
    let db = Settings::load_from(None, &env(&[("DATABASE_URL", "postgres://a@h/d")])).unwrap();
    assert_eq!(db.production_reason(), Some("database.url is set"));
    let tls = Settings::load_from(
        None,
        &env(&[
            ("DSCSA_TLS_CERT", "s.pem"),
            ("DSCSA_TLS_KEY", "s.key"),
            ("DSCSA_TLS_CLIENT_CA", "ca.pem"),
        ]),
    )
    .unwrap();
    assert_eq!(tls.production_reason(), Some("tls.cert is set"));
    let compat = Settings::load_from(
        None,
        &env(&[("DSCSA_VERIFICATION_REQUIRE_LINK_TYPE", "false")]),
    )
    .unwrap();
    assert!(!compat.verification.require_link_type);
}

#[test]
fn the_development_identity_is_a_valid_demo_gln_kept_across_restarts() {
    let dir = std::env::temp_dir().join(format!("dscsa-config-dev-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let first = Organisation::development(&dir).unwrap();
    assert!(first.development);
    let gln = first.gln.as_str();
    assert!(gln.starts_with("952"), "{gln}");
    // Gln parsing checked the check digit; the company prefix is the GLN's.
    assert!(gln.starts_with(&first.company_prefixes[0]));
    assert_eq!(Organisation::development(&dir).unwrap(), first);
    std::fs::write(dir.join(DEV_ORGANISATION_FILE), "gln = 5\n").unwrap();
    let err = Organisation::development(&dir).unwrap_err().to_string();
    assert!(
        err.contains(DEV_ORGANISATION_FILE) && err.contains("delete the file"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}
