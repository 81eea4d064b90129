//! Regressions of issue 10 §3: GS1 identifier parsing disagreed with the GS1 syntax engine.
//! (The parser's own cases are unit tests in `src/gs1`; this is the command a user runs.)

use std::process::Command;

use crate::cli::BIN;

/// `gs1 parse` as a shell user runs it: element strings that start with `^` were "not a
/// recognised GS1 form", a lot without a GTIN could not be checked for syntax alone, and
/// non-GS1 scan data got no clear answer (now exit 1, one line naming the symbology).
#[test]
fn gs1_parse_reads_caret_data_checks_syntax_only_on_request_and_names_non_gs1_symbologies() {
    let run = |args: &[&str]| {
        Command::new(BIN)
            .arg("gs1")
            .arg("parse")
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["^0112345678901231^10ABC"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("(01)12345678901231(10)ABC"));

    assert_eq!(run(&["(10)ABC"]).status.code(), Some(1));
    let out = run(&["--syntax-only", "(10)ABC"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("syntax only"));

    let out = run(&["]Q1TESTING"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not GS1 data") && err.contains("QR Code, not in GS1 mode"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
