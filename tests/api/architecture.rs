//! The dependency rule: `gs1` and `epcis` are pure and never reach into storage or the web.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn forbidden_mentions(module: &str) -> Vec<String> {
    const FORBIDDEN: [&str; 7] = [
        "diesel",
        "actix",
        "reqwest",
        "crate::store",
        "crate::http",
        "crate::cli",
        "crate::config",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(module);
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(
        !files.is_empty(),
        "no sources found under {}",
        root.display()
    );
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for word in FORBIDDEN {
                if line.contains(word) {
                    found.push(format!("{}:{}: mentions `{word}`", file.display(), n + 1));
                }
            }
        }
    }
    found
}

#[test]
fn gs1_does_not_import_storage_or_web_code() {
    let found = forbidden_mentions("gs1");
    assert!(
        found.is_empty(),
        "src/gs1 must stay pure:\n{}",
        found.join("\n")
    );
}

#[test]
fn epcis_does_not_import_storage_or_web_code() {
    let found = forbidden_mentions("epcis");
    assert!(
        found.is_empty(),
        "src/epcis must stay pure:\n{}",
        found.join("\n")
    );
}
