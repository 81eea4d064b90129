//! EPCIS model and streaming readers: no storage, no web code (huge events' lists may go to a
//! temporary file, [`spill`]).
//!
//! - [`EpcisReader`]: streaming reader for EPCIS 1.2 / 2.0 XML and master-data documents,
//!   yielding [`Item`]s and collecting [`Diagnostic`]s.
//! - [`model`]: the format-independent event model.
//! - [`hash`]: the CBV 2.0 event hash.
//! - [`write`]: streaming writers (EPCIS 2.0 JSON-LD, 2.0 XML, 1.2 XML).
//! - [`diagnostics`]: stable rule ids (catalogued in `docs/RULES.md`).
//! - [`ident`]: the single bridge to the `gs1` module (identifier validation, EPC → Digital
//!   Link for the hash).
//!
//! ```
//! use dscsa_exchange::epcis::{EpcisReader, Item, Limits, Severity};
//!
//! let xml = br#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1"
//!     schemaVersion="1.2" creationDate="2025-05-01T15:00:00Z"><EPCISBody><EventList>
//!   <ObjectEvent><eventTime>2025-04-20T08:00:00-05:00</eventTime>
//!     <eventTimeZoneOffset>-05:00</eventTimeZoneOffset>
//!     <epcList><epc>urn:epc:id:sgtin:0312345.067890.S1</epc></epcList>
//!     <action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>
//!   </ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"#;
//! let mut reader = EpcisReader::new(&xml[..], Limits::default());
//! let mut events = 0;
//! while let Some(item) = reader.next_item().expect("not a fatal error") {
//!     if let Item::Event(ev) = item {
//!         assert_eq!(ev.biz_step.as_ref().map(|s| s.as_str()), Some("shipping"));
//!         assert!(ev.hash_id.as_deref().unwrap().starts_with("ni:///sha-256;"));
//!         events += 1;
//!     }
//!     // Findings so far; the reader keeps going after non-fatal ones.
//!     for d in reader.take_diagnostics() {
//!         assert_ne!(d.severity, Severity::Reject, "{d}");
//!     }
//! }
//! assert_eq!(events, 1);
//! ```

pub mod cbv;
pub mod diagnostics;
pub mod hash;
pub mod ident;
mod limits;
pub mod model;
pub mod reader;
mod role;
pub mod spill;
pub mod values;
pub mod write;

pub use cbv::{CbvTerm, Vocab};
pub use diagnostics::{Diagnostic, Rule, Severity};
pub use hash::{hash_id, prehash_string};
pub use limits::Limits;
pub use model::*;
pub use reader::{detect_format, BodyFormat, EpcisReader, ReadError, JSON_BODY_MESSAGE};
pub use spill::{SpillOptions, SpilledEpcs};

#[cfg(test)]
mod tests;
