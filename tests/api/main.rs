//! The integration tests: one binary, one module per area. See helpers.rs for the harness.

mod answers;
mod architecture;
mod capture;
mod capture_json;
mod cli;
mod convert_cli;
mod health;
mod helpers;
mod labels;
mod partners_tls;
mod query;
mod regressions;
mod resolver;
mod schema;
mod serials;
mod shipments;
mod tls_fixture;
mod trace;
mod verification;
