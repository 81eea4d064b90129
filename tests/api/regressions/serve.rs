//! Regressions of issue 10 §1, §5, §6: start from any folder, organisation identity, CLI output.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{
    admin_get, command, get, interrupt_and_wait, one_line_error, private_url, scratch, serve,
};

const LMS: &str = "linkType=verificationService&context=dscsaSaleableReturn&reqGLN=0312345000004";

/// Whether a private cluster's PostgreSQL runs (its pid file exists).
fn postgres_runs(pgdata: &Path) -> bool {
    pgdata.join("postmaster.pid").exists()
}

/// Issue 10 §1: as root, from a checkout whose parents the `postgres` user cannot traverse
/// (mode 0700, like `/root` or `mktemp -d`), `serve` stopped with `cannot prepare
/// /usr/lib/postgresql/15/bin: Permission denied`. Now the cluster is placed where that user
/// can reach it, the banner says where, every command finds it, and the 0700 folders stay 0700.
/// (Not as root, PostgreSQL runs as the caller, who can reach the folder: the test still runs
/// the whole path.)
#[test]
fn serve_starts_from_a_checkout_below_a_folder_only_its_owner_may_enter() {
    let dir = scratch("private-home");
    let home = dir.join("home");
    let app = home.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();

    let served = serve(&app);
    assert_eq!(get(&format!("{}/ready", served.address)), 200);
    let pgdata = served.pgdata();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        assert!(
            pgdata.starts_with(dscsa_exchange::store::private_pg::RELOCATION_BASE),
            "{}",
            pgdata.display()
        );
        served.banner_line("the postgres user cannot reach it");
        let pointer = std::fs::read_to_string(app.join("data/postgres/relocated-to")).unwrap();
        assert_eq!(Path::new(pointer.trim()), pgdata.parent().unwrap());
        let cluster = std::fs::metadata(pgdata.parent().unwrap()).unwrap();
        assert_eq!(cluster.permissions().mode() & 0o777, 0o700);
        let base = std::fs::metadata(dscsa_exchange::store::private_pg::RELOCATION_BASE).unwrap();
        assert_eq!((base.uid(), base.permissions().mode() & 0o777), (0, 0o711));
    } else {
        assert_eq!(
            pgdata,
            app.join("data/postgres/pgdata").canonicalize().unwrap()
        );
    }
    // Nothing was loosened: the private folder and the socket folder are still 0700.
    assert_eq!(
        std::fs::metadata(&home).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let socket = served.banner_line("socket in ");
    let socket = PathBuf::from(socket.split("socket in ").nth(1).unwrap().trim());
    assert_eq!(
        std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777,
        0o700
    );
    assert!(postgres_runs(&pgdata));

    // Another command from the same checkout finds the same cluster and leaves it running.
    let migrate = command(&app).arg("migrate").output().unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert!(String::from_utf8_lossy(&migrate.stdout).contains("up to date"));
    assert!(
        postgres_runs(&pgdata),
        "migrate stopped the server's cluster"
    );

    interrupt_and_wait(served);
    assert!(!postgres_runs(&pgdata), "ctrl-c left PostgreSQL running");

    // The next start uses the same cluster.
    let again = serve(&app);
    assert_eq!(again.pgdata(), pgdata);
    again.banner_line("migrations: up to date");
    interrupt_and_wait(again);
    if root {
        let _ = std::fs::remove_dir_all(pgdata.parent().unwrap());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 10 §1, where it cannot work: a cluster initialised in place whose folder later became
/// unreachable for the `postgres` user is not moved; the error was `cannot prepare
/// /usr/lib/postgresql/15/bin: Permission denied`, naming a path that was fine. Now one line
/// names the folder that blocks, why, and the fix.
#[test]
fn a_cluster_whose_folder_became_unreachable_names_the_folder_that_blocks() {
    let dir = scratch("became-private");
    let home = dir.join("home");
    let app = home.join("app");
    std::fs::create_dir_all(&app).unwrap();
    let first = command(&app).arg("migrate").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = command(&app).arg("migrate").output().unwrap();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        assert_eq!(out.status.code(), Some(1));
        let line = one_line_error(&out);
        let home = home.canonicalize().unwrap();
        for part in [
            format!(
                "cannot reach {}",
                app.canonicalize().unwrap().join("data/postgres").display()
            ),
            format!("{} is not traversable for it (mode 0700", home.display()),
            format!("`chmod o+x {}`", home.display()),
            "not moved automatically".to_string(),
        ] {
            assert!(line.contains(&part), "`{part}` not in: {line}");
        }
        assert!(!line.contains("/usr/lib/postgresql"), "{line}");
    } else {
        // Not as root PostgreSQL runs as the folder's owner, who can still enter it.
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 10 §5: with the default configuration every verification answer and
/// `checkConnectivity` carried `"responderGLN": null`, and a request without `linkType` was
/// answered 200. Now `serve` generates a development identity (GS1 demo prefix 952, kept under
/// data_dir), prints it, and answers with it; `linkType` is required.
#[test]
fn default_serve_answers_verification_with_its_development_gln_and_requires_link_type() {
    let dir = scratch("dev-identity");
    let served = serve(&dir);
    let line = served.banner_line("DEVELOPMENT organisation, GLN ");
    let gln: String = line
        .split("GLN ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert_eq!(gln.len(), 13, "{line}");
    assert!(gln.starts_with("952"), "{line}");
    let check = dscsa_exchange::gs1::mod10_check_digit(&gln.as_bytes()[..12]);
    assert_eq!(gln.as_bytes()[12], check, "check digit of {gln}");
    let kept = std::fs::read_to_string(dir.join("data/dev-organisation.toml")).unwrap();
    assert!(kept.contains(&gln), "{kept}");

    // A product to verify: 3 items commissioned (GTIN 00361414123458, lot L1, 2028-12-31).
    let doc = dir.join("doc.xml");
    std::fs::write(&doc, crate::helpers::large_document(3)).unwrap();
    let import = command(&dir).arg("import").arg(&doc).output().unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );

    let path = format!("/verify/gtin/00361414123458/lot/L1/ser/K0?exp=281231&{LMS}");
    let (status, body) = admin_get(&dir, &served.stdout, Some(&path));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["verified"], true, "{body}");
    assert_eq!(body["responderGLN"], gln.as_str(), "{body}");
    let (status, body) = admin_get(
        &dir,
        &served.stdout,
        Some("/verify/checkConnectivity?gtin=00361414123458&reqGLN=0312345000004"),
    );
    assert_eq!(
        (status, &body["responderGLN"]),
        (200, &serde_json::json!(gln))
    );

    let (status, body) = admin_get(
        &dir,
        &served.stdout,
        Some("/verify/gtin/00361414123458/lot/L1/ser/K0?exp=281231"),
    );
    assert_eq!(
        (status, &body["code"]),
        (400, &serde_json::json!("invalid-link-type"))
    );
    interrupt_and_wait(served);

    // The identity is stable across restarts.
    let again = serve(&dir);
    again.banner_line(&format!("GLN {gln} "));
    interrupt_and_wait(again);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 10 §5: in production (an external database here) a missing organisation identity is a
/// configuration error naming the key; given one, `serve` goes on (to fail connecting to the
/// unreachable database, which is exit 1, not 78).
#[test]
fn serve_on_an_external_database_without_an_organisation_is_a_configuration_error() {
    let dir = scratch("no-organisation");
    let url = "postgres://nobody:secret@127.0.0.1:1/nothing";
    let out = command(&dir)
        .arg("serve")
        .env("DATABASE_URL", url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let line = one_line_error(&out);
    assert!(line.contains("`organisation.gln` is not set"), "{line}");
    assert!(line.contains("database.url is set"), "{line}");
    assert!(!dir.join("data/dev-organisation.toml").exists());

    let configured = command(&dir)
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("DSCSA_ORGANISATION_GLN", "0312345000004")
        .env("DSCSA_ORGANISATION_NAME", "Example Pharma")
        .env("DSCSA_ORGANISATION_COMPANY_PREFIXES", "0312345")
        .output()
        .unwrap();
    assert_eq!(
        configured.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&configured.stderr)
    );
    assert!(one_line_error(&configured).contains("cannot connect to PostgreSQL"));

    let bad = command(&dir)
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("DSCSA_ORGANISATION_GLN", "0312345000005")
        .env("DSCSA_ORGANISATION_NAME", "Example Pharma")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(78));
    assert!(one_line_error(&bad).contains("organisation.gln"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 10 §6: after `serve` was killed with SIGKILL its private PostgreSQL kept running, and
/// the next `serve` attached to it and left it running on ctrl-c, so the orphan outlived every
/// server. Now the next `serve` adopts it (a command run meanwhile leaves it alone) and stops it.
#[test]
fn a_postgres_orphaned_by_a_killed_serve_is_adopted_and_stopped_by_the_next_serve() {
    let dir = scratch("orphan");
    let pgdata = dir.join("data/postgres/pgdata");
    let mut first = serve(&dir);
    assert!(postgres_runs(&pgdata));
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    drop(first);
    // The orphan still serves.
    std::thread::sleep(Duration::from_millis(200));
    assert!(postgres_runs(&pgdata));
    assert!(dscsa_exchange::store::connect(&private_url(&dir.join("data"))).is_ok());

    let second = serve(&dir);
    second.banner_line("adopted: left running by pid ");
    assert_eq!(get(&format!("{}/ready", second.address)), 200);
    // A command that attaches while the adopting server runs leaves the instance to it.
    let migrate = command(&dir).arg("migrate").output().unwrap();
    assert!(migrate.status.success());
    assert!(
        postgres_runs(&pgdata),
        "migrate stopped the server's instance"
    );
    interrupt_and_wait(second);
    assert!(
        !postgres_runs(&pgdata),
        "the adopted PostgreSQL outlived the server that adopted it"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 10 §6: `flags set` printed Rust debug output (`Lot(Gtin("…"), Lot("…"))`).
#[test]
fn flags_set_names_the_flagged_product_as_a_person_reads_it() {
    let dir = scratch("flags-output");
    let out = command(&dir)
        .args([
            "flags",
            "set",
            "--gtin",
            "00361414123458",
            "--lot",
            "L1",
            "--flag",
            "recalled",
            "--reason",
            "FDA recall Z-1234-2026",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "recalled flag set on lot L1 (GTIN 00361414123458)"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 10 §6: `certs issue --dir` had no help text, and it is the CA's folder. Now it is
/// `--ca-dir` (with `--dir` kept as an alias) and says what it is.
#[test]
fn certs_issue_names_the_ca_folder_option_and_explains_it() {
    let dir = scratch("certs-ca-dir");
    let help = command(&dir)
        .args(["certs", "issue", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let line = help
        .lines()
        .find(|l| l.contains("--ca-dir"))
        .unwrap_or_else(|| panic!("no --ca-dir in: {help}"));
    assert!(line.contains("CA"), "{line}");
    assert!(help.contains("dir"), "the alias is shown: {help}");

    let ca = dir.join("my-ca");
    let init = command(&dir)
        .args(["certs", "init", "--ca-dir"])
        .arg(&ca)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    for option in ["--ca-dir", "--dir"] {
        let issue = command(&dir)
            .args(["certs", "issue", "--gln", "0312345000004", "--role"])
            .args(["trading_partner", "--name", "Example", "--label"])
            .arg(option.trim_start_matches('-'))
            .arg(option)
            .arg(&ca)
            .output()
            .unwrap();
        assert!(
            issue.status.success(),
            "{option}: {}",
            String::from_utf8_lossy(&issue.stderr)
        );
        assert!(String::from_utf8_lossy(&issue.stdout).contains(&ca.display().to_string()));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 10 §6, the other way round: a `serve` started while a command (`import`) runs on the
/// command's own instance takes the instance over, so that the command, finishing first, does
/// not stop the database under the server.
#[test]
fn a_serve_started_during_an_import_keeps_the_database_the_import_started() {
    use diesel::prelude::*;
    let dir = scratch("takeover");
    let pgdata = dir.join("data/postgres/pgdata");
    let doc = dir.join("big.xml");
    std::fs::write(&doc, crate::helpers::large_document(40_000)).unwrap();
    let mut import = command(&dir)
        .arg("import")
        .arg(&doc)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the import is writing, on the instance it started.
    let url = private_url(&dir.join("data"));
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the import never started"
        );
        assert!(
            import.try_wait().unwrap().is_none(),
            "the import finished too soon"
        );
        let writing = dscsa_exchange::store::connect(&url).ok().and_then(|mut c| {
            diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
                 WHERE c.relname = 'event_epcs' AND l.mode = 'RowExclusiveLock'",
            )
            .get_result::<i64>(&mut c)
            .ok()
        });
        if writing.unwrap_or(0) > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let served = serve(&dir);
    let out = import.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        postgres_runs(&pgdata),
        "the import stopped the database the server runs on"
    );
    assert_eq!(get(&format!("{}/ready", served.address)), 200);
    interrupt_and_wait(served);
    assert!(
        !postgres_runs(&pgdata),
        "the server left PostgreSQL running"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
