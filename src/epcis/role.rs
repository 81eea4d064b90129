//! The role of an EPC reference in an event. A leaf module: the model ([`super::model`], which
//! re-exports it) and the spill file of huge events ([`super::spill`]) both name it, and the
//! model depends on `spill`, never the other way.

/// Role of an EPC in an event (for indexing by the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EpcRole {
    /// `epcList` (ObjectEvent, TransactionEvent).
    Epc,
    Parent,
    Child,
    Input,
    Output,
}
