//! The dependency rule of docs/ARCHITECTURE.md (`gs1` <- `epcis` <- `store` <- use cases <-
//! `http`, `cli`), checked on the parsed sources of every file under `src/`: what each module
//! imports or names, with aliases, groups and `super::` resolved (imports.rs), held against
//! the rules below and a short list of named exceptions.

mod cases;
mod imports;

use std::path::Path;

use imports::{Sources, Target};

/// Where a top-level module sits in the layering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layer {
    Gs1,
    Epcis,
    Store,
    /// `capture`, `verification`, `partners`, `flags`, `serials`, and any module added later
    /// that is not one of the others.
    UseCase,
    /// `http`, `cli` and the binary's `main.rs`.
    Edge,
    /// `config`, `tls`: settings and certificates, read by every layer above `epcis`.
    Support,
}

fn layer_of(top: &str) -> Layer {
    match top {
        "gs1" => Layer::Gs1,
        "epcis" => Layer::Epcis,
        "store" => Layer::Store,
        "http" | "cli" | "main" => Layer::Edge,
        "config" | "tls" => Layer::Support,
        _ => Layer::UseCase,
    }
}

const GS1_ONLY: &str = "`gs1` imports nothing of the crate but `gs1`";
const EPCIS_ONLY: &str = "`epcis` imports only `gs1` and `epcis`";
const STORE_BELOW: &str = "`store` imports nothing of the use cases, `http` or `cli`";
const USE_CASES_BELOW: &str = "use cases import nothing of `http` or `cli`";
const EDGE_NO_STORE: &str = "`http` and `cli` reach the database through use cases, not `store`";
const PURE: &str = "`gs1` and `epcis` use no diesel, actix or reqwest";

/// Crates that would make `gs1` or `epcis` storage or web code.
fn impure(krate: &str) -> bool {
    krate.starts_with("diesel") || krate.starts_with("actix") || krate.starts_with("reqwest")
}

/// An edge module that may name a `store` item, and why. `from` is a module path (it and
/// its children), `to` a path prefix in the crate.
pub struct Allowed {
    from: &'static str,
    to: &'static str,
    why: &'static str,
}

const fn allow(from: &'static str, to: &'static str, why: &'static str) -> Allowed {
    Allowed { from, to, why }
}

/// `http`/`cli` -> `store` as on main today: starting the server and the commands needs a
/// database to open, connect to, migrate and pool. Everything else goes through a use case. An
/// entry nothing needs any more fails `every_allowed_exception_is_still_needed`.
pub const ALLOWED: &[Allowed] = &[
    allow(
        "cli",
        "store::Database",
        "commands open the configured database (URL or private instance)",
    ),
    allow(
        "cli",
        "store::connect",
        "commands connect to the database they were pointed at",
    ),
    allow(
        "cli",
        "store::migrate",
        "`migrate` and `serve` apply the migrations",
    ),
    allow(
        "cli",
        "store::pool",
        "`serve` builds the connection pool it hands to `http`",
    ),
    allow(
        "cli",
        "store::StoreError",
        "the CLI maps the store's errors to its exit codes",
    ),
    allow(
        "http",
        "store::PgPool",
        "handlers are given the pool built at start-up",
    ),
    allow(
        "http::problem",
        "store::discard_if_dead",
        "`with_conn` marks a dead connection broken so the pool drops it",
    ),
    allow(
        "http::health",
        "store::ping",
        "`/ready` asks whether the database answers",
    ),
];

/// A reference that breaks a rule.
#[derive(Debug)]
pub struct Violation {
    pub file: String,
    pub line: usize,
    pub rule: &'static str,
    pub what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {} breaks: {}",
            self.file, self.line, self.what, self.rule
        )
    }
}

fn starts_with(path: &[String], prefix: &str) -> bool {
    let prefix: Vec<&str> = prefix.split("::").collect();
    path.len() >= prefix.len() && path.iter().zip(&prefix).all(|(a, b)| a == b)
}

/// `path` is a module on the way to `target` (`store` for `store::connect`).
fn leads_to(path: &[String], target: &str) -> bool {
    let target: Vec<&str> = target.split("::").collect();
    path.len() < target.len() && path.iter().zip(&target).all(|(a, b)| a == b)
}

/// What the references break, and for each entry of `allowed` whether it was needed.
pub fn check(sources: &Sources, allowed: &[Allowed]) -> (Vec<Violation>, Vec<bool>) {
    let tops = sources.top_modules();
    let mut used = vec![false; allowed.len()];
    let mut violations = Vec::new();
    for r in sources.references() {
        let Some(from) = r.module.first() else {
            continue; // lib.rs: the module map
        };
        let from_layer = layer_of(from);
        let (rule, what) = match &r.target {
            Target::External(krate) => {
                if matches!(from_layer, Layer::Gs1 | Layer::Epcis) && impure(krate) {
                    (PURE, format!("`{}` uses `{krate}`", r.module.join("::")))
                } else {
                    continue;
                }
            }
            Target::Crate(path) => {
                let Some(to) = path.first().filter(|t| tops.contains(t)) else {
                    continue; // an item of the crate root, or `crate` itself
                };
                let Some(rule) = broken(from_layer, from, to) else {
                    continue;
                };
                if rule == EDGE_NO_STORE {
                    let mut covered = false;
                    for (i, a) in allowed.iter().enumerate() {
                        if !starts_with(&r.module, a.from) {
                            continue;
                        }
                        if starts_with(path, a.to) {
                            used[i] = true;
                            covered = true;
                        } else if leads_to(path, a.to) {
                            // `use crate::store::{self, …}`: the module an allowed item is
                            // named through; what is named through it is checked on its own.
                            covered = true;
                        }
                    }
                    if covered {
                        continue;
                    }
                }
                (
                    rule,
                    format!("`{}` -> `{}`", r.module.join("::"), path.join("::")),
                )
            }
        };
        violations.push(Violation {
            file: r.file,
            line: r.line,
            rule,
            what,
        });
    }
    (violations, used)
}

/// The rule a reference from top-level module `from` to `to` breaks, if any.
fn broken(from_layer: Layer, from: &str, to: &str) -> Option<&'static str> {
    let to_layer = layer_of(to);
    match from_layer {
        Layer::Gs1 => (to != "gs1").then_some(GS1_ONLY),
        Layer::Epcis => (!matches!(to_layer, Layer::Gs1 | Layer::Epcis)).then_some(EPCIS_ONLY),
        Layer::Store => matches!(to_layer, Layer::UseCase | Layer::Edge).then_some(STORE_BELOW),
        Layer::UseCase => (to_layer == Layer::Edge && to != from).then_some(USE_CASES_BELOW),
        Layer::Edge => (to_layer == Layer::Store).then_some(EDGE_NO_STORE),
        Layer::Support => None,
    }
}

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

/// Every file under `src/`, parsed.
fn crate_sources() -> Sources {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let mut sources = Sources::new(&env!("CARGO_PKG_NAME").replace('-', "_"));
    for file in &files {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        sources.add(&rel, &text).unwrap_or_else(|e| panic!("{e}"));
    }
    sources
}

#[test]
fn every_module_keeps_the_dependency_rule() {
    let sources = crate_sources();
    for top in [
        "gs1",
        "epcis",
        "store",
        "capture",
        "verification",
        "http",
        "cli",
    ] {
        assert!(
            sources.top_modules().iter().any(|t| t == top),
            "`{top}` not found: the module map changed; update this test and docs/ARCHITECTURE.md"
        );
    }
    let (violations, _) = check(&sources, ALLOWED);
    assert!(
        violations.is_empty(),
        "the dependency rule of docs/ARCHITECTURE.md is broken:\n{}",
        violations
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_allowed_exception_is_still_needed() {
    let (_, used) = check(&crate_sources(), ALLOWED);
    let stale: Vec<String> = ALLOWED
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|(a, _)| format!("`{}` -> `{}` ({})", a.from, a.to, a.why))
        .collect();
    assert!(
        stale.is_empty(),
        "no module needs these exceptions any more; delete them from ALLOWED in {}:\n{}",
        file!(),
        stale.join("\n")
    );
}
