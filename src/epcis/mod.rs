//! EPCIS model and streaming readers. Pure: no storage, no web code.
//!
//! - [`EpcisReader`]: streaming reader for EPCIS 1.2 / 2.0 XML and master-data documents,
//!   yielding [`Item`]s and collecting [`Diagnostic`]s.
//! - [`model`]: the format-independent event model.
//! - [`hash`]: the CBV 2.0 event hash.
//! - [`diagnostics`]: stable rule ids (catalogued in `docs/RULES.md`).

pub mod cbv;
pub mod diagnostics;
pub mod hash;
pub mod ident;
mod limits;
pub mod model;
pub mod reader;
pub mod values;

pub use cbv::{CbvTerm, Vocab};
pub use diagnostics::{Diagnostic, Rule, Severity};
pub use hash::{hash_id, prehash_string};
pub use limits::Limits;
pub use model::*;
pub use reader::{EpcisReader, ReadError};

#[cfg(test)]
mod tests;
