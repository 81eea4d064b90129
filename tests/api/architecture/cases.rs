//! The boundary test can fail: small crates held in memory, each breaking one rule the way
//! real code would (grouped, nested, aliased imports; `super::`; paths in code, macros and
//! attributes), and what must not count (a child module of the same name, strings, comments).

use super::imports::{Sources, Target};
use super::{
    check, Allowed, ALLOWED, EDGE_NO_STORE, EPCIS_ONLY, GS1_ONLY, PURE, STORE_BELOW,
    USE_CASES_BELOW,
};

const LIB: &str = "pub mod capture; pub mod cli; pub mod config; pub mod epcis; pub mod flags; \
                   pub mod gs1; pub mod http; pub mod shipments; pub mod store;";

fn parse(files: &[(&str, &str)]) -> Sources {
    let mut sources = Sources::new("dscsa_exchange");
    sources.add("src/lib.rs", LIB).unwrap();
    for (file, text) in files {
        sources.add(file, text).unwrap();
    }
    sources
}

/// Each violation as `file:line rule`.
fn broken_with(files: &[(&str, &str)], allowed: &[Allowed]) -> Vec<String> {
    let (violations, _) = check(&parse(files), allowed);
    violations
        .iter()
        .map(|v| format!("{}:{} {}", v.file, v.line, v.rule))
        .collect()
}

fn broken(files: &[(&str, &str)]) -> Vec<String> {
    broken_with(files, ALLOWED)
}

#[test]
fn a_grouped_import_of_store_in_gs1_is_caught() {
    // The case the substring test let through.
    let found = broken(&[(
        "src/gs1/mod.rs",
        "use crate::{store, epcis::Event};\nuse crate::gs1::Gtin;\n",
    )]);
    assert_eq!(
        found,
        [
            format!("src/gs1/mod.rs:1 {GS1_ONLY}"),
            format!("src/gs1/mod.rs:1 {GS1_ONLY}")
        ]
    );
}

#[test]
fn aliases_nested_groups_and_paths_in_code_are_followed() {
    let found = broken(&[(
        "src/gs1/keys.rs",
        "use crate::{epcis::{self as e, model::{Event as Ev}}};\n\
         fn f() {\n    let _ = e::hash::digest();\n    let _: Option<Ev> = None;\n}\n",
    )]);
    // The two imports (line 1), the path through the alias (line 3), the aliased type (line 4).
    let lines: Vec<&str> = found.iter().map(|f| f.split(' ').next().unwrap()).collect();
    assert_eq!(
        lines,
        [
            "src/gs1/keys.rs:1",
            "src/gs1/keys.rs:1",
            "src/gs1/keys.rs:3",
            "src/gs1/keys.rs:4"
        ]
    );
    assert!(found.iter().all(|f| f.ends_with(GS1_ONLY)), "{found:?}");
}

#[test]
fn super_paths_from_deep_inside_epcis_are_resolved() {
    let found = broken(&[(
        "src/epcis/reader/mod.rs",
        "use super::model::Event;\nuse super::super::gs1::Gtin;\nuse super::super::config::Settings;\n",
    )]);
    assert_eq!(found, [format!("src/epcis/reader/mod.rs:3 {EPCIS_ONLY}")]);
}

#[test]
fn storage_and_web_crates_in_epcis_and_gs1_are_caught() {
    let found = broken(&[
        (
            "src/epcis/model.rs",
            "use diesel::prelude::*;\n#[derive(Debug, diesel::Queryable)]\nstruct Row;\n",
        ),
        (
            "src/gs1/digital_link.rs",
            "async fn f() { let _ = ::reqwest::get(\"x\").await; actix_web::web::block(|| 1); }\n",
        ),
    ]);
    let mut found = found;
    found.sort();
    assert_eq!(
        found,
        [
            format!("src/epcis/model.rs:1 {PURE}"),
            format!("src/epcis/model.rs:2 {PURE}"),
            format!("src/gs1/digital_link.rs:1 {PURE}"),
            format!("src/gs1/digital_link.rs:1 {PURE}"),
        ]
    );
}

#[test]
fn store_reaching_up_to_a_use_case_or_the_edge_is_caught() {
    let found = broken(&[(
        "src/store/capture.rs",
        "use crate::http as web;\nuse web::problem::Problem;\n\
         fn f() {\n    crate::capture::run();\n    let _ = crate::gs1::Gtin::new();\n}\n",
    )]);
    assert_eq!(
        found,
        [
            format!("src/store/capture.rs:1 {STORE_BELOW}"),
            format!("src/store/capture.rs:2 {STORE_BELOW}"),
            format!("src/store/capture.rs:4 {STORE_BELOW}"),
        ]
    );
}

#[test]
fn a_use_case_reaching_into_http_or_cli_is_caught_also_a_new_one_and_inside_macros() {
    let found = broken(&[
        (
            "src/flags.rs",
            "use crate::cli::CliError;\nuse crate::store::audit;\n",
        ),
        (
            "src/shipments/mod.rs",
            "fn f() {\n    println!(\"{}\", crate::http::problem::code());\n}\n",
        ),
    ]);
    assert_eq!(
        found,
        [
            format!("src/flags.rs:1 {USE_CASES_BELOW}"),
            format!("src/shipments/mod.rs:2 {USE_CASES_BELOW}"),
        ]
    );
}

#[test]
fn http_and_cli_naming_store_are_caught_unless_allowed() {
    let files = [
        (
            "src/http/serials.rs",
            "use crate::store::{self, PgPool, schema::documents};\n\
             fn f(_: PgPool) { store::capture::document(); }\n",
        ),
        (
            "src/cli/mod.rs",
            "use crate::store;\nfn open() { store::connect(); }\n\
             #[cfg(test)]\nmod tests {\n    use super::*;\n    fn t() { store::schema::serials::table; }\n}\n",
        ),
    ];
    let mut found = broken(&files);
    found.sort();
    // The pool type and `connect` are allowed; the schema and the direct read are not, nor
    // the path a test module reaches through `use super::*`.
    assert_eq!(
        found,
        [
            format!("src/cli/mod.rs:6 {EDGE_NO_STORE}"),
            format!("src/http/serials.rs:1 {EDGE_NO_STORE}"),
            format!("src/http/serials.rs:2 {EDGE_NO_STORE}"),
        ]
    );
    // Without exceptions every use of `store` counts, the module import too.
    assert_eq!(broken_with(&files, &[]).len(), 8);
}

#[test]
fn the_message_names_file_line_what_and_the_rule() {
    let (violations, _) = check(
        &parse(&[(
            "src/http/admin.rs",
            "\n\nuse crate::store::schema::verification_requests as vr;\n",
        )]),
        &[],
    );
    assert_eq!(
        violations[0].to_string(),
        format!(
            "src/http/admin.rs:3: `http::admin` -> `store::schema::verification_requests` breaks: {EDGE_NO_STORE}"
        )
    );
}

#[test]
fn what_only_looks_like_a_forbidden_path_is_not_counted() {
    let found = broken(&[(
        "src/gs1/mod.rs",
        "//! Not `crate::store`.\nmod store { pub fn open() {} }\n\
         /// See crate::http.\nfn f() { store::open(); let _ = \"crate::store::x\"; }\n\
         #[cfg(test)]\nmod tests { use super::*; fn t() { store::open(); } }\n",
    )]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn imports_resolve_through_self_rename_and_the_binary() {
    let sources = parse(&[
        (
            "src/http/verify.rs",
            "use crate::store::{self as db, verification::{FactsLookup as Facts}};\n\
             use super::problem::*;\nfn f() { db::ping(); let _ = Facts::start(); }\n",
        ),
        (
            "src/main.rs",
            "fn main() { dscsa_exchange::cli::main(); }\n",
        ),
    ]);
    let targets: Vec<(usize, Target)> = sources
        .references()
        .into_iter()
        .filter(|r| matches!(&r.target, Target::Crate(p) if !p.is_empty()))
        .map(|r| (r.line, r.target))
        .collect();
    let path = |p: &str| Target::Crate(p.split("::").map(str::to_string).collect());
    for expected in [
        (1, path("store")),
        (1, path("store::verification::FactsLookup")),
        (2, path("http::problem::*")),
        (3, path("store::ping")),
        (3, path("store::verification::FactsLookup::start")),
        (1, path("cli::main")),
    ] {
        assert!(
            targets.contains(&expected),
            "{expected:?} not in {targets:?}"
        );
    }
}
