//! `dscsa-exchange gs1 …`: parse GS1 identifiers in any form, compute check digits.
//!
//! The logic lives in `crate::gs1::describe`; this file only reads arguments/stdin and prints.

use std::io::{BufRead, Write};

use crate::gs1::{self, Description, GcpResolver, ParseOptions};

/// Exit status: every input valid.
pub const EXIT_OK: u8 = 0;
/// Exit status: at least one input invalid (errors on stderr).
pub const EXIT_INVALID: u8 = 1;
/// Exit status: usage error (unreadable GCP table, bad option values).
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum Gs1Command {
    /// Detect the form of each input (EPC URI, Digital Link URI, bracketed element string,
    /// raw scan data with or without symbology identifier) and print every representation.
    Parse {
        /// Inputs; `^` stands for FNC1/GS in scan data, a leading `^` for FNC1 in first
        /// position (`^0112345678901231^10ABC`); `-` reads one input per line from stdin.
        #[arg(required = true)]
        inputs: Vec<String>,
        /// One JSON object per input and line.
        #[arg(long)]
        json: bool,
        /// GCP length table in GS1 GCPPrefixFormatList format (XML or JSON file).
        #[arg(long, value_name = "FILE")]
        gcp_table: Option<std::path::PathBuf>,
        /// A known GS1 Company Prefix (repeatable), used before the table.
        #[arg(long = "gcp", value_name = "PREFIX")]
        gcps: Vec<String>,
        /// Check syntax only, as the GS1 Barcode Syntax Engine's parser: every element's
        /// format, check digits, dates, exclusive and repeated AIs, Digital Link structure,
        /// but not AI requisites (e.g. a lot without a GTIN). See docs/GS1.md.
        #[arg(long)]
        syntax_only: bool,
    },
    /// Compute the GS1 mod-10 check digit of the data digits (e.g. 13 digits for a GTIN-14).
    CheckDigit {
        /// Data digits without the check digit.
        digits: String,
    },
}

/// Run a `gs1` subcommand; returns the process exit status.
pub fn run(
    cmd: Gs1Command,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    match cmd {
        Gs1Command::Parse {
            inputs,
            json,
            gcp_table,
            gcps,
            syntax_only,
        } => {
            let mut resolver = GcpResolver::new();
            for g in &gcps {
                if let Err(e) = resolver.learn(g) {
                    let _ = writeln!(err, "error: --gcp {g}: {e}");
                    return EXIT_USAGE;
                }
            }
            if let Some(path) = gcp_table {
                let text = match std::fs::read_to_string(&path) {
                    Ok(t) => t,
                    Err(e) => {
                        let _ = writeln!(err, "error: --gcp-table {}: {e}", path.display());
                        return EXIT_USAGE;
                    }
                };
                if let Err(e) = resolver.load_table(&text) {
                    let _ = writeln!(err, "error: --gcp-table {}: {e}", path.display());
                    return EXIT_USAGE;
                }
            }
            let options = if syntax_only {
                ParseOptions::SYNTAX_ONLY
            } else {
                ParseOptions::FULL
            };
            parse_inputs(&inputs, json, &resolver, options, stdin, out, err)
        }
        Gs1Command::CheckDigit { digits } => check_digit(&digits, out, err),
    }
}

fn parse_inputs(
    inputs: &[String],
    json: bool,
    resolver: &GcpResolver,
    options: ParseOptions,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let mut status = EXIT_OK;
    let mut one = |input: &str, out: &mut dyn Write, err: &mut dyn Write| {
        match gs1::describe_with_options(input, resolver, options) {
            Ok(d) => {
                let r = if json {
                    serde_json::to_string(&d)
                        .map_err(std::io::Error::other)
                        .and_then(|s| writeln!(out, "{s}"))
                } else {
                    write_text(&d, out)
                };
                if r.is_err() {
                    status = EXIT_INVALID;
                }
            }
            Err(e) => {
                status = EXIT_INVALID;
                // Most messages quote the input already; name it only when they do not.
                let msg = e.to_string();
                let shown = input.replace('\u{1d}', "^");
                if msg.contains(&shown) {
                    let _ = writeln!(err, "error: [{}] {msg}", e.code());
                } else {
                    let _ = writeln!(err, "error: {shown}: [{}] {msg}", e.code());
                }
                if json {
                    let o = serde_json::json!({"input": input, "error": {"code": e.code(), "message": e.to_string()}});
                    let _ = writeln!(out, "{o}");
                }
            }
        }
    };
    for input in inputs {
        if input == "-" {
            let mut line = String::new();
            loop {
                line.clear();
                match stdin.read_line(&mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        let l = line.trim_end_matches(['\n', '\r']);
                        if !l.trim().is_empty() {
                            one(l, out, err);
                        }
                    }
                    Err(e) => {
                        let _ = writeln!(err, "error: reading stdin: {e}");
                        return EXIT_USAGE;
                    }
                }
            }
        } else {
            one(input, out, err);
        }
    }
    status
}

fn write_text(d: &Description, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "input: {}", d.input.replace('\u{1d}', "^"))?;
    let form = serde_json::to_value(d.form).ok();
    writeln!(
        out,
        "  form: {}",
        form.as_ref().and_then(|v| v.as_str()).unwrap_or("?")
    )?;
    if let Some(s) = &d.symbology_identifier {
        match d.symbology {
            Some(name) => writeln!(out, "  symbology identifier: {s} ({name})")?,
            None => writeln!(out, "  symbology identifier: {s}")?,
        }
    }
    if d.syntax_only {
        writeln!(out, "  checks: syntax only (AI requisites not checked)")?;
    }
    for e in &d.elements {
        writeln!(out, "  ({}) {}: {}", e.ai, e.title, e.value)?;
    }
    let opt = |out: &mut dyn Write, label: &str, v: &Option<String>| -> std::io::Result<()> {
        if let Some(v) = v {
            writeln!(out, "  {label}: {v}")?;
        }
        Ok(())
    };
    if let Some(s) = d.epc_scheme {
        writeln!(out, "  EPC scheme: {s}")?;
    }
    writeln!(out, "  element string: {}", d.element_string)?;
    writeln!(out, "  scan data: {}", d.scan_data)?;
    opt(out, "digital link", &d.digital_link)?;
    opt(out, "canonical digital link", &d.canonical_digital_link)?;
    opt(out, "EPC URI", &d.epc_uri)?;
    opt(out, "EPC URI unavailable", &d.epc_uri_error)?;
    opt(out, "key", &d.key)?;
    if let (Some(n), Some(src)) = (d.gcp_length, d.gcp_source) {
        writeln!(out, "  GCP length: {n} ({src})")?;
    }
    opt(out, "GTIN", &d.gtin)?;
    opt(out, "NDC", &d.ndc)?;
    opt(out, "serial", &d.serial)?;
    opt(out, "lot", &d.lot)?;
    opt(out, "expiry", &d.expiry)?;
    for (k, v) in &d.parameters {
        writeln!(out, "  parameter {k}: {v}")?;
    }
    Ok(())
}

fn check_digit(digits: &str, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    if digits.is_empty() || digits.len() > 40 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        let _ = writeln!(
            err,
            "error: {digits:?}: expected 1 to 40 digits (the data digits without check digit)"
        );
        return EXIT_INVALID;
    }
    let c = gs1::mod10_check_digit(digits.as_bytes()) as char;
    if writeln!(out, "{c} ({digits}{c})").is_err() {
        return EXIT_INVALID;
    }
    EXIT_OK
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_parse(inputs: &[&str], json: bool, stdin: &str) -> (u8, String, String) {
        run_parse_with(inputs, json, false, stdin)
    }

    fn run_parse_with(
        inputs: &[&str],
        json: bool,
        syntax_only: bool,
        stdin: &str,
    ) -> (u8, String, String) {
        let cmd = Gs1Command::Parse {
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            json,
            gcp_table: None,
            gcps: vec![],
            syntax_only,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(cmd, &mut stdin.as_bytes(), &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn parse_prints_every_representation_of_a_scan() {
        let (code, out, err) = run_parse(&["]d2010031234567890617271200^10LOT42^21SN1"], false, "");
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("EPC URI: urn:epc:id:sgtin:0312345.067890.SN1"),
            "{out}"
        );
        assert!(
            out.contains("canonical digital link: https://id.gs1.org/01/00312345678906/21/SN1"),
            "{out}"
        );
        assert!(
            out.contains("element string: (01)00312345678906(17)271200(10)LOT42(21)SN1"),
            "{out}"
        );
    }

    #[test]
    fn parse_exit_status_is_1_when_any_input_is_invalid() {
        let (code, out, err) = run_parse(&["(01)00312345678906", "(01)00312345678907"], false, "");
        assert_eq!(code, 1);
        assert!(out.contains("00312345678906"));
        assert!(
            err.contains("[gs1.check_digit]")
                && err.contains("GTIN (AI 01) 00312345678907: check digit is 7, expected 6"),
            "{err}"
        );
    }

    #[test]
    fn parse_reads_stdin_lines_and_prints_json() {
        let (code, out, _) = run_parse(
            &["-"],
            true,
            "urn:epc:id:sscc:0312345.1000000001\n\nhttps://id.gs1.org/414/0312345000011\n",
        );
        assert_eq!(code, 0);
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["key"], "00103123450000000018");
        assert_eq!(lines[1]["epc_scheme"], "sgln");
    }

    #[test]
    fn check_digit_computes_and_refuses_non_digits() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(
            Gs1Command::CheckDigit {
                digits: "0031234567890".into(),
            },
            &mut "".as_bytes(),
            &mut out,
            &mut err,
        );
        assert_eq!(code, 0);
        assert_eq!(String::from_utf8(out).unwrap(), "6 (00312345678906)\n");
        let code = run(
            Gs1Command::CheckDigit {
                digits: "12a".into(),
            },
            &mut "".as_bytes(),
            &mut Vec::new(),
            &mut err,
        );
        assert_eq!(code, 1);
    }

    #[test]
    fn gcp_table_file_and_learned_prefixes_give_epc_uris() {
        let table = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/gs1/gcp-prefix-format-list.xml"
        );
        let cmd = Gs1Command::Parse {
            inputs: vec![
                "https://id.gs1.org/01/04012345000009/21/X".into(),
                "(00)195200538500000011".into(),
            ],
            json: false,
            gcp_table: Some(table.into()),
            gcps: vec!["952005385".into()],
            syntax_only: false,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(cmd, &mut "".as_bytes(), &mut out, &mut err), 0);
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains("EPC URI: urn:epc:id:sgtin:4012345.000000.X"),
            "{out}"
        );
        assert!(
            out.contains("EPC URI: urn:epc:id:sscc:952005385.10000001"),
            "{out}"
        );
        assert!(out.contains("GCP length: 9 (learned)"), "{out}");
    }

    #[test]
    fn unreadable_gcp_table_is_a_usage_error() {
        let cmd = Gs1Command::Parse {
            inputs: vec!["(01)00312345678906".into()],
            json: false,
            gcp_table: Some("/nonexistent/gcp.xml".into()),
            gcps: vec![],
            syntax_only: false,
        };
        assert_eq!(
            run(cmd, &mut "".as_bytes(), &mut Vec::new(), &mut Vec::new()),
            2
        );
    }

    #[test]
    fn parse_accepts_element_strings_that_start_with_caret() {
        let (code, out, err) = run_parse(&["^0112345678901231^10ABC"], false, "");
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("element string: (01)12345678901231(10)ABC"),
            "{out}"
        );
    }

    #[test]
    fn parse_syntax_only_accepts_a_lot_without_gtin_and_says_which_checks_it_made() {
        let (code, _, err) = run_parse(&["(10)ABC"], false, "");
        assert_eq!(code, 1);
        assert!(err.contains("[gs1.ai_requires]"), "{err}");
        let (code, out, err) = run_parse_with(&["(10)ABC"], false, true, "");
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("checks: syntax only (AI requisites not checked)"),
            "{out}"
        );
        assert!(out.contains("(10) BATCH/LOT: ABC"), "{out}");
        // Syntax errors stay errors.
        let (code, _, err) = run_parse_with(&["(10)ABC(17)271331"], false, true, "");
        assert_eq!(code, 1);
        assert!(err.contains("[gs1.date]"), "{err}");
    }

    #[test]
    fn parse_answers_not_gs1_data_naming_the_symbology() {
        for (scan, name) in [
            ("]Q1TESTING", "QR Code, not in GS1 mode"),
            ("]d1ABC", "Data Matrix, not in GS1 mode"),
            ("]C0ABC", "Code 128, not GS1-128"),
        ] {
            let (code, out, err) = run_parse(&[scan], false, "");
            assert_eq!(code, 1, "{scan}");
            assert!(out.is_empty());
            assert!(
                err.contains("[gs1.not_gs1_data]")
                    && err.contains("not GS1 data")
                    && err.contains(name),
                "{err}"
            );
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
}
