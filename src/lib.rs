//! dscsa-exchange: a GS1 EPCIS / DSCSA compliance data-exchange server.
//!
//! Module map (dependencies point one way): `gs1` (pure identifiers) <- `epcis` (model,
//! streaming XML) <- `store` (diesel, PostgreSQL) <- use cases <- `http`, `cli`.
//! See `docs/ARCHITECTURE.md`.

pub mod capture;
pub mod cli;
pub mod compliance;
pub mod config;
pub mod directory;
pub mod epcis;
pub mod flags;
pub mod gs1;
pub mod http;
pub mod partners;
pub mod query;
pub mod serials;
pub mod shipments;
pub mod store;
pub mod tls;
pub mod verification;
