//! The integration tests: one binary, one module per area. See helpers.rs for the harness.

mod architecture;
mod capture;
mod cli;
mod health;
mod helpers;
mod partners_tls;
mod regressions;
mod schema;
mod tls_fixture;
mod verification;
