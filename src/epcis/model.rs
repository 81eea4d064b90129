//! The EPCIS data model, independent of the wire format: the XML reader fills it today and a
//! JSON-LD reader can fill the same types later. Values keep the text the sender wrote where
//! re-emission or hashing needs it, plus a typed view where the business rules need one.

use chrono::{DateTime, FixedOffset, NaiveDate};

use std::borrow::Cow;

use super::cbv::CbvTerm;
use crate::gs1::Identifier;

// Its own leaf module, so that `spill` can name it without depending on the model (the model
// depends on `spill`: an event holds its spilled lists).
pub use super::role::EpcRole;

/// EPCIS major version of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EpcisVersion {
    /// EPCIS 1.x (`urn:epcglobal:epcis:xsd:1`, and `urn:epcglobal:epcis-masterdata:xsd:1`).
    V1,
    /// EPCIS 2.0 (`urn:epcglobal:epcis:xsd:2`).
    V2,
}

/// Which root element the document has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    EpcisDocument,
    EpcisMasterDataDocument,
    /// The answer to a query (`EPCISQueryDocument`, written by the query interface; the
    /// events go in `queryResults/resultsBody/eventList`).
    EpcisQueryDocument,
}

/// A position in the document (1-based; column counted in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// A timestamp as written plus its parsed value (`None` when the text is not a valid
/// xsd:dateTime; a diagnostic then says why). A value written without a zone is read as UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    pub text: String,
    pub value: Option<DateTime<FixedOffset>>,
}

/// First item of every document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentStart {
    pub version: EpcisVersion,
    pub kind: DocumentKind,
    pub schema_version: Option<String>,
    pub creation_date: Option<Timestamp>,
}

/// An element the model has no field for, kept so it can be re-emitted and hashed:
/// namespace-qualified name, attributes, text and children.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtensionElement {
    /// Namespace URI (empty for no namespace).
    pub namespace: String,
    /// Prefix used in the document (informational; re-emitters may choose their own).
    pub prefix: String,
    pub local_name: String,
    /// Attributes as (qualified name as written, value), namespace declarations excluded.
    pub attributes: Vec<(String, String)>,
    /// Trimmed text content (text directly inside this element).
    pub text: String,
    pub children: Vec<ExtensionElement>,
}

impl ExtensionElement {
    /// True when the element has the given namespace and local name.
    pub fn is(&self, namespace: &str, local_name: &str) -> bool {
        self.namespace == namespace && self.local_name == local_name
    }

    /// First child with the given namespace and local name.
    pub fn child(&self, namespace: &str, local_name: &str) -> Option<&ExtensionElement> {
        self.children.iter().find(|c| c.is(namespace, local_name))
    }
}

/// SBDH partner (Sender or Receiver).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Partner {
    pub identifier: String,
    /// `Authority` attribute of `sbdh:Identifier` (e.g. `GLN`, `SGLN`).
    pub authority: Option<String>,
    /// `sbdh:ContactInformation` and anything else, kept as written.
    pub other: Vec<ExtensionElement>,
}

/// `sbdh:DocumentIdentification`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentIdentification {
    pub standard: Option<String>,
    pub type_version: Option<String>,
    pub instance_identifier: Option<String>,
    pub document_type: Option<String>,
    pub multiple_type: Option<String>,
    pub creation_date_and_time: Option<Timestamp>,
}

/// `sbdh:StandardBusinessDocumentHeader`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sbdh {
    pub header_version: Option<String>,
    pub senders: Vec<Partner>,
    pub receivers: Vec<Partner>,
    pub document_identification: DocumentIdentification,
    /// `Manifest`, `BusinessScope` and unknown children, kept as written.
    pub other: Vec<ExtensionElement>,
}

/// GS1 US `gs1ushc:dscsaTransactionStatement`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransactionStatement {
    /// `affirmTransactionStatement` (None when absent or not a boolean).
    pub affirmed: Option<bool>,
    pub legal_notice: Option<String>,
}

/// The GS1 US healthcare namespace (`gs1ushc`) of the transaction statement.
pub const NS_GS1USHC: &str = "http://epcis.gs1us.org/hc/ns";

impl TransactionStatement {
    /// The header element a writer emits for this statement (GS1 US guideline:
    /// `gs1ushc:dscsaTransactionStatement` with `affirmTransactionStatement` first, then
    /// `legalNotice`); the reader reads it back into the same value.
    pub fn to_element(&self) -> ExtensionElement {
        let child = |name: &str, text: String| ExtensionElement {
            namespace: NS_GS1USHC.into(),
            prefix: "gs1ushc".into(),
            local_name: name.into(),
            text,
            ..ExtensionElement::default()
        };
        let mut children = Vec::new();
        if let Some(a) = self.affirmed {
            children.push(child("affirmTransactionStatement", a.to_string()));
        }
        if let Some(n) = &self.legal_notice {
            children.push(child("legalNotice", n.clone()));
        }
        ExtensionElement {
            namespace: NS_GS1USHC.into(),
            prefix: "gs1ushc".into(),
            local_name: "dscsaTransactionStatement".into(),
            children,
            ..ExtensionElement::default()
        }
    }
}

/// `EPCISHeader` without its master data (vocabularies come as separate items).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    pub sbdh: Option<Sbdh>,
    /// Typed view of `gs1ushc:dscsaTransactionStatement`, when present.
    pub transaction_statement: Option<TransactionStatement>,
    /// `gs1ushc:guidelineVersion`, when present.
    pub guideline_version: Option<String>,
    /// Every `##other` header element (including the gs1ushc ones above), kept as written.
    pub extensions: Vec<ExtensionElement>,
    pub position: Position,
}

/// One master-data attribute: id → value (text, or nested XML kept as elements).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MasterDataAttribute {
    pub id: String,
    pub value: String,
    pub elements: Vec<ExtensionElement>,
}

/// `VocabularyElement`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VocabularyElement {
    pub id: String,
    pub attributes: Vec<MasterDataAttribute>,
    /// `children/id` values.
    pub children: Vec<String>,
}

impl VocabularyElement {
    /// Value of the attribute with this id (exact match).
    pub fn attribute(&self, id: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.value.as_str())
    }
}

/// One `Vocabulary` (e.g. `urn:epcglobal:epcis:vtype:EPCClass`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vocabulary {
    pub vocabulary_type: String,
    pub elements: Vec<VocabularyElement>,
    pub position: Position,
}

/// Event types (QuantityEvent is deprecated but accepted on input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Object,
    Aggregation,
    Transaction,
    Transformation,
    Association,
    Quantity,
}

impl EventType {
    /// XML element name / JSON `type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Object => "ObjectEvent",
            EventType::Aggregation => "AggregationEvent",
            EventType::Transaction => "TransactionEvent",
            EventType::Transformation => "TransformationEvent",
            EventType::Association => "AssociationEvent",
            EventType::Quantity => "QuantityEvent",
        }
    }

    pub fn from_name(name: &str) -> Option<EventType> {
        Some(match name {
            "ObjectEvent" => EventType::Object,
            "AggregationEvent" => EventType::Aggregation,
            "TransactionEvent" => EventType::Transaction,
            "TransformationEvent" => EventType::Transformation,
            "AssociationEvent" => EventType::Association,
            "QuantityEvent" => EventType::Quantity,
            _ => return None,
        })
    }
}

/// `action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Add,
    Observe,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "ADD",
            Action::Observe => "OBSERVE",
            Action::Delete => "DELETE",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        match text {
            "ADD" => Some(Action::Add),
            "OBSERVE" => Some(Action::Observe),
            "DELETE" => Some(Action::Delete),
            _ => None,
        }
    }
}

/// `quantityElement`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuantityElement {
    pub epc_class: String,
    pub quantity: Option<f64>,
    pub uom: Option<String>,
}

/// `bizTransaction`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BizTransaction {
    pub transaction_type: Option<CbvTerm>,
    pub id: String,
}

/// `source` or `destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceDest {
    pub sd_type: CbvTerm,
    pub id: String,
}

/// `errorDeclaration`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorDeclaration {
    pub declaration_time: Option<Timestamp>,
    pub reason: Option<CbvTerm>,
    pub corrective_event_ids: Vec<String>,
    pub extensions: Vec<ExtensionElement>,
}

/// `persistentDisposition` (2.0).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersistentDisposition {
    pub set: Vec<CbvTerm>,
    pub unset: Vec<CbvTerm>,
}

/// Where the lot number came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LotSource {
    /// `cbvmda:lotNumber` (CBV 1.2+).
    Cbvmda,
    /// Legacy `gs1ushc:lotNumber` (GS1 US guideline before R1.2).
    Gs1Ushc,
}

/// Instance/lot master data (`ilmd`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ilmd {
    pub lot_number: Option<String>,
    pub lot_source: Option<LotSource>,
    /// The lot as a GS1 batch/lot (AI 10), when it is a valid one.
    pub lot: Option<crate::gs1::Lot>,
    /// `itemExpirationDate` as a date (None when absent or invalid).
    pub item_expiration_date: Option<NaiveDate>,
    /// The expiry as a GS1 expiration date (AI 17), when representable.
    pub expiry: Option<crate::gs1::Expiry>,
    /// Every ILMD element as written (including the two above); used for hashing/re-emission.
    pub elements: Vec<ExtensionElement>,
}

impl Ilmd {
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }
}

/// One EPCIS event of any type. Fields a type does not have stay empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// 0-based index in the document.
    pub index: u64,
    /// Position of the event's start tag.
    pub position: Position,
    pub event_type: EventType,
    pub event_time: Option<Timestamp>,
    pub record_time: Option<Timestamp>,
    pub event_time_zone_offset: Option<String>,
    pub event_id: Option<String>,
    pub error_declaration: Option<ErrorDeclaration>,
    /// 2.0 `certificationInfo` values.
    pub certification_info: Vec<String>,
    pub parent_id: Option<String>,
    /// `epcList` (ObjectEvent, TransactionEvent).
    pub epc_list: Vec<String>,
    /// `childEPCs` (AggregationEvent, AssociationEvent).
    pub child_epcs: Vec<String>,
    pub input_epcs: Vec<String>,
    pub output_epcs: Vec<String>,
    /// `quantityList` (and the single class/quantity of a QuantityEvent).
    pub quantity_list: Vec<QuantityElement>,
    pub child_quantity_list: Vec<QuantityElement>,
    pub input_quantity_list: Vec<QuantityElement>,
    pub output_quantity_list: Vec<QuantityElement>,
    pub action: Option<Action>,
    pub transformation_id: Option<String>,
    pub biz_step: Option<CbvTerm>,
    pub disposition: Option<CbvTerm>,
    pub persistent_disposition: Option<PersistentDisposition>,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    pub biz_transactions: Vec<BizTransaction>,
    pub sources: Vec<SourceDest>,
    pub destinations: Vec<SourceDest>,
    /// 2.0 `sensorElement`s, kept as element trees (no namespace).
    pub sensor_elements: Vec<ExtensionElement>,
    pub ilmd: Ilmd,
    /// Foreign-namespace elements of the event (from any extension level), kept as written.
    pub extensions: Vec<ExtensionElement>,
    /// Foreign-namespace children of `readPoint` / `bizLocation`.
    pub read_point_extensions: Vec<ExtensionElement>,
    pub biz_location_extensions: Vec<ExtensionElement>,
    /// CBV 2.0 event hash (`ni:///sha-256;…?ver=CBV2.0`), filled by the reader when hashing is on.
    pub hash_id: Option<String>,
    /// The lists of a huge event that the reader wrote to disk (see [`super::spill`]): such a
    /// list is empty here and wholly in this file. Only with [`super::EpcisReader::spill_to`].
    pub spilled: Option<std::sync::Arc<super::spill::SpilledEpcs>>,
    /// What the reader parsed each EPC reference as; read through [`Event::epc_identifiers`].
    pub(crate) parsed_epcs: ParsedEpcs,
}

/// The identifiers the reader parsed while validating an event's EPC references, in the
/// order of the event's lists. A cache of what the public fields say: it takes no part in
/// equality, and [`Event::epc_identifiers`] ignores it when the lists no longer match it.
#[derive(Clone, Default)]
pub(crate) struct ParsedEpcs {
    /// `Some` when the reader set `parent_id`: its identifier, `None` when refused.
    pub(crate) parent: Option<Option<Identifier>>,
    /// `epc_list`, `child_epcs`, `input_epcs`, `output_epcs`.
    pub(crate) lists: [Vec<Option<Identifier>>; 4],
}

impl PartialEq for ParsedEpcs {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for ParsedEpcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedEpcs").finish_non_exhaustive()
    }
}

impl Event {
    pub fn new(event_type: EventType, index: u64, position: Position) -> Self {
        Event {
            index,
            position,
            event_type,
            event_time: None,
            record_time: None,
            event_time_zone_offset: None,
            event_id: None,
            error_declaration: None,
            certification_info: Vec::new(),
            parent_id: None,
            epc_list: Vec::new(),
            child_epcs: Vec::new(),
            input_epcs: Vec::new(),
            output_epcs: Vec::new(),
            quantity_list: Vec::new(),
            child_quantity_list: Vec::new(),
            input_quantity_list: Vec::new(),
            output_quantity_list: Vec::new(),
            action: None,
            transformation_id: None,
            biz_step: None,
            disposition: None,
            persistent_disposition: None,
            read_point: None,
            biz_location: None,
            biz_transactions: Vec::new(),
            sources: Vec::new(),
            destinations: Vec::new(),
            sensor_elements: Vec::new(),
            ilmd: Ilmd::default(),
            extensions: Vec::new(),
            read_point_extensions: Vec::new(),
            biz_location_extensions: Vec::new(),
            hash_id: None,
            spilled: None,
            parsed_epcs: ParsedEpcs::default(),
        }
    }

    /// Every EPC with its role (parentID first, then the lists in document-model order);
    /// without the lists in [`Event::spilled`].
    pub fn epcs(&self) -> impl Iterator<Item = (EpcRole, &str)> {
        let parent = self.parent_id.iter().map(|p| (EpcRole::Parent, p.as_str()));
        let list = self.epc_list.iter().map(|e| (EpcRole::Epc, e.as_str()));
        let child = self.child_epcs.iter().map(|e| (EpcRole::Child, e.as_str()));
        let input = self.input_epcs.iter().map(|e| (EpcRole::Input, e.as_str()));
        let output = self
            .output_epcs
            .iter()
            .map(|e| (EpcRole::Output, e.as_str()));
        parent.chain(list).chain(child).chain(input).chain(output)
    }

    /// Every EPC reference as [`Event::epcs`] lists it, with the identifier it denotes:
    /// `Some(Identifier::Epc(..))` for a GS1 EPC (EPC URN or Digital Link; its GCP-independent
    /// key is [`crate::gs1::Epc::key`]), `Some(Identifier::Opaque)` for any other absolute URI,
    /// `None` for a value the reader refused (it reported why). An event from
    /// [`crate::epcis::EpcisReader`] carries what the reader parsed while validating, so this
    /// parses nothing again; for any other event (or lists changed after reading) each value
    /// is parsed here with [`crate::gs1::classify`].
    pub fn epc_identifiers(
        &self,
    ) -> impl Iterator<Item = (EpcRole, &str, Option<Cow<'_, Identifier>>)> {
        let p = &self.parsed_epcs;
        let fresh = p.parent.is_some() == self.parent_id.is_some()
            && [
                &self.epc_list,
                &self.child_epcs,
                &self.input_epcs,
                &self.output_epcs,
            ]
            .iter()
            .zip(&p.lists)
            .all(|(l, q)| l.len() == q.len());
        let parsed = p
            .parent
            .iter()
            .chain(p.lists.iter().flatten())
            .map(|id| id.as_ref().map(Cow::Borrowed));
        let mut parsed = fresh.then_some(parsed);
        self.epcs().map(move |(role, uri)| {
            let id = match parsed.as_mut() {
                Some(it) => it.next().flatten(),
                None => crate::epcis::ident::classify(uri).ok().map(Cow::Owned),
            };
            (role, uri, id)
        })
    }

    /// Adds an EPC reference whose identifier is already known (events rebuilt from stored
    /// keys, which were parsed once there): [`Event::epc_identifiers`] and the writers then
    /// parse nothing again. Mixing this with pushes onto the public lists is allowed; the
    /// lists are then parsed afresh when read.
    pub fn push_epc(&mut self, role: EpcRole, uri: String, id: Option<Identifier>) {
        let p = &mut self.parsed_epcs;
        let list = match role {
            EpcRole::Parent => {
                self.parent_id = Some(uri);
                p.parent = Some(id);
                return;
            }
            EpcRole::Epc => 0,
            EpcRole::Child => 1,
            EpcRole::Input => 2,
            EpcRole::Output => 3,
        };
        p.lists[list].push(id);
        [
            &mut self.epc_list,
            &mut self.child_epcs,
            &mut self.input_epcs,
            &mut self.output_epcs,
        ][list]
            .push(uri);
    }

    /// Number of EPC references (parentID and spilled lists included).
    pub fn epc_count(&self) -> usize {
        usize::from(self.parent_id.is_some())
            + self.spilled.as_ref().map_or(0, |s| s.len() as usize)
            + self.epc_list.len()
            + self.child_epcs.len()
            + self.input_epcs.len()
            + self.output_epcs.len()
    }
}

/// One item of the document, in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    DocumentStart(DocumentStart),
    /// One vocabulary of the header's master data (or of a master-data document).
    MasterData(Vocabulary),
    /// Emitted when `EPCISHeader` closes, i.e. after the header's vocabularies.
    Header(Box<Header>),
    Event(Box<Event>),
    End,
}
