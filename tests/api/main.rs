//! The integration tests: one binary, one module per area. See helpers.rs for the harness.

mod architecture;
mod capture;
mod cli;
mod health;
mod helpers;
mod labels;
mod partners_tls;
mod resolver;
mod schema;
mod serials;
mod tls_fixture;
mod verification;
