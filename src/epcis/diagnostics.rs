//! Findings about a document, with stable rule ids.
//!
//! Policy: a *fatal* problem (the XML cannot be read safely or at all) ends reading with a
//! [`ReadError`](super::ReadError) whose `code` is an `EPCIS-X-…` id. Everything else is a
//! [`Diagnostic`]: the reader records it and keeps going, so the sender learns about every
//! problem in one pass. Rule ids never change meaning once published; `docs/RULES.md` is the
//! catalogue and a test checks that it lists every id defined here.

use std::fmt;

/// What the capture layer should do with a finding. Serialised as its name in lower case
/// ("reject", "warn"), as reports show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The document (or event) must be refused.
    Reject,
    /// Accepted, but the sender should fix it.
    Warn,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Reject => "reject",
            Severity::Warn => "warn",
        })
    }
}

/// One rule of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    /// What the rule checks (one line, used in docs/RULES.md).
    pub checks: &'static str,
    /// How to fix a violation.
    pub hint: &'static str,
}

/// A non-fatal finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: &'static str,
    pub severity: Severity,
    /// 1-based line of the element the finding is about.
    pub line: u32,
    /// 1-based column (in bytes) of the element's `<`.
    pub column: u32,
    /// 0-based index of the event in the document, when the finding is inside an event.
    pub event_index: Option<u64>,
    /// What is wrong, where and why.
    pub message: String,
    /// How to fix it.
    pub hint: &'static str,
}

impl Diagnostic {
    pub fn new(
        rule: &Rule,
        line: u32,
        column: u32,
        event_index: Option<u64>,
        message: String,
    ) -> Self {
        Diagnostic {
            rule: rule.id,
            severity: rule.severity,
            line,
            column,
            event_index,
            message,
            hint: rule.hint,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} [{}] {}:{}",
            self.rule, self.severity, self.line, self.column
        )?;
        if let Some(i) = self.event_index {
            write!(f, " (event {i})")?;
        }
        write!(f, ": {}", self.message)
    }
}

macro_rules! rules {
    ($( $(#[$m:meta])* $name:ident = ($id:literal, $sev:ident, $checks:literal, $hint:literal); )*) => {
        /// The rule catalogue.
        pub mod rules {
            use super::{Rule, Severity};
            $( $(#[$m])* pub const $name: Rule = Rule { id: $id, severity: Severity::$sev, checks: $checks, hint: $hint }; )*
            /// Every rule, in catalogue order.
            pub const ALL: &[Rule] = &[ $( $name ),* ];
        }
    };
}

rules! {
    // Fatal errors (ReadError codes). Severity is Reject: the whole document is refused.
    XML_SYNTAX = ("EPCIS-X-001", Reject, "The document is well-formed XML in UTF-8.", "Fix the XML syntax at the given position (unclosed or mismatched tag, bad attribute, invalid UTF-8).");
    DOCTYPE = ("EPCIS-X-002", Reject, "No DOCTYPE and no entity declarations (XXE / entity expansion protection).", "Remove the <!DOCTYPE …> declaration; EPCIS documents never need one.");
    ENTITY = ("EPCIS-X-003", Reject, "Only the five predefined entities and valid numeric character references are used.", "Replace the entity reference with the character itself or a numeric reference such as &#233;.");
    LIMIT_BYTES = ("EPCIS-X-004", Reject, "Document size stays within the configured byte limit.", "Split the document into smaller documents.");
    LIMIT_EVENTS = ("EPCIS-X-005", Reject, "Number of events stays within the configured limit.", "Split the events over several documents.");
    LIMIT_EPCS = ("EPCIS-X-006", Reject, "EPCs in one event stay within the configured limit.", "Split the event into several events with fewer EPCs.");
    LIMIT_DEPTH = ("EPCIS-X-007", Reject, "Element nesting stays within the configured depth.", "Flatten deeply nested extension elements.");
    LIMIT_TEXT = ("EPCIS-X-008", Reject, "One text value (or markup token) stays within the configured length.", "Shorten the value; large payloads do not belong in EPCIS fields.");
    LIMIT_ELEMENTS = ("EPCIS-X-009", Reject, "Elements inside one event, header or vocabulary stay within the configured limit.", "Split the event or vocabulary.");
    ROOT = ("EPCIS-X-010", Reject, "Root element is epcis:EPCISDocument (urn:epcglobal:epcis:xsd:1 or :2) or epcismd:EPCISMasterDataDocument.", "Use the EPCIS 1.2 or 2.0 root element and namespace.");
    IO = ("EPCIS-X-011", Reject, "The input can be read to its end.", "Resend the document; the transfer was interrupted.");
    JSON_BODY = ("EPCIS-X-013", Reject, "Retired: JSON bodies were refused before the JSON-LD reader existed; a body that starts with `{` or `[` is now read as EPCIS 2.0 JSON-LD (EPCIS-X-014 and the rules below apply).", "Send EPCIS 2.0 JSON-LD, 1.2 XML or 2.0 XML.");
    JSON_SYNTAX = ("EPCIS-X-014", Reject, "A JSON-LD document is well-formed JSON (RFC 8259) in UTF-8: one object, nothing after it, not truncated.", "Fix the JSON syntax at the given line:column (missing comma or quote, unescaped control character, truncated document).");
    SPILL = ("EPCIS-X-012", Reject, "The server can write the temporary file that holds a huge event's identifier lists.", "Resend later; the server's spool directory is full or not writable (its operator must free space).");

    // Structure.
    SCHEMA_VERSION = ("EPCIS-S-001", Reject, "The root has a schemaVersion attribute that is a decimal (1.x for the 1.2 namespace, 2.x for 2.0).", "Set schemaVersion=\"1.2\" (EPCIS 1.2) or \"2.0\" (EPCIS 2.0).");
    CREATION_DATE = ("EPCIS-S-002", Reject, "The root has a creationDate attribute that is a valid xsd:dateTime.", "Add creationDate, e.g. creationDate=\"2025-05-01T15:00:00Z\".");
    VERSION_MISMATCH = ("EPCIS-S-003", Warn, "schemaVersion agrees with the root namespace.", "Use schemaVersion 1.2 with urn:epcglobal:epcis:xsd:1 and 2.0 with urn:epcglobal:epcis:xsd:2.");
    REQUIRED = ("EPCIS-S-004", Reject, "Required elements are present (eventTime, eventTimeZoneOffset, action, epcList/childEPCs in 1.2, bizTransactionList in TransactionEvent, declarationTime, SBDH parts…).", "Add the missing element at the position the schema requires.");
    ORDER = ("EPCIS-S-005", Reject, "Child elements appear in the order the EPCIS XSD defines (standard.md §1.6; foreign-namespace extensions last).", "Move the element before the one named in the message.");
    UNEXPECTED = ("EPCIS-S-006", Reject, "No unknown element without a namespace where the EPCIS schema defines none.", "Remove the element, fix its spelling, or put your own data in your own XML namespace.");
    DUPLICATE = ("EPCIS-S-007", Reject, "Single-valued elements appear at most once.", "Keep one occurrence.");
    PARENT_REQUIRED = ("EPCIS-S-008", Reject, "AggregationEvent with action ADD or DELETE has a parentID.", "Add <parentID> with the container's EPC.");
    SOURCE_DEST_TYPE = ("EPCIS-S-009", Reject, "Every source, destination (and bizTransaction, if typed) has a non-empty type attribute.", "Add type=\"urn:epcglobal:cbv:sdt:owning_party\" (or possessing_party / location).");
    WRONG_VERSION_PLACE = ("EPCIS-S-010", Reject, "Elements sit where this EPCIS version puts them (1.2: inside <extension>/<baseExtension> wrappers; 2.0: flattened).", "Use the 1.2 wrapper elements in a 1.2 document and the flattened form in a 2.0 document.");
    SBDH = ("EPCIS-S-011", Reject, "An EPCIS 1.2 header holds a StandardBusinessDocumentHeader with HeaderVersion, Sender, Receiver and DocumentIdentification.", "Add the SBDH with its required children (see standards.md §1.3).");
    EMPTY_AGGREGATION = ("EPCIS-S-012", Warn, "An AggregationEvent/AssociationEvent with ADD or OBSERVE names at least one child (childEPCs or childQuantityList).", "List the children that were aggregated or observed.");
    ILMD_NOT_ADD = ("EPCIS-S-013", Warn, "ILMD appears only on ObjectEvent with action ADD (or TransformationEvent).", "Move the lot/expiry data to the commissioning (ADD) event.");
    EMPTY_VALUE = ("EPCIS-S-014", Reject, "Identifier and value elements are not empty and contain no child elements.", "Put the value as text inside the element.");
    EMPTY_DOCTYPE = ("EPCIS-S-016", Warn, "A DOCTYPE that declares nothing (`<!DOCTYPE name>`: no internal subset, no external identifier) is ignored; any other DOCTYPE is refused (EPCIS-X-002).", "Remove the <!DOCTYPE …> line: EPCIS documents need none.");
    EVENT_LOCATION = ("EPCIS-S-015", Reject, "Events sit in EPCISBody/EventList (1.2: TransformationEvent inside EventList/extension).", "Move the event into the EventList.");
    JSON_TYPE = ("EPCIS-S-018", Reject, "Each member of an EPCIS 2.0 JSON-LD document has the JSON type the EPCIS 2.0 JSON schema gives it (strings, arrays of EPC strings, objects, numbers for quantities).", "Write the value with the JSON type the message names, e.g. \"epcList\": [\"urn:epc:id:sgtin:…\"] and \"quantity\": 10.");
    JSON_CONTEXT = ("EPCIS-S-019", Warn, "The @context of a JSON-LD document is the GS1 EPCIS context URL and inline prefix maps; other context URLs are not fetched, so prefixes defined only there are unknown.", "Declare extension prefixes inline: \"@context\": [\"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld\", {\"ex\": \"https://example.com/ns/\"}].");
    UNPACK_ALL = ("EPCIS-S-017", Warn, "An EPCIS 1.2 AggregationEvent with action DELETE lists its childEPCs (required by the 1.2 schema); without them it is read as unpacking every child of the parent, as EPCIS 2.0 and an empty <childEPCs/> say.", "Add <childEPCs/> (empty: unpack all) or list the children taken out.");

    // Value formats.
    DATE_TIME = ("EPCIS-V-001", Reject, "Timestamps are valid xsd:dateTime values (YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]).", "Write the time as e.g. 2025-05-01T14:30:00.000-05:00.");
    DATE_TIME_ZONE = ("EPCIS-V-002", Reject, "Timestamps carry a time zone (required by 2.0 xsd:dateTimeStamp; in 1.2 a missing zone is a warning and UTC is assumed).", "Append Z or the offset, e.g. 2025-05-01T14:30:00-05:00.");
    TIME_ZONE_OFFSET = ("EPCIS-V-003", Reject, "eventTimeZoneOffset is ±hh:mm with hh ≤ 14 and mm < 60.", "Write the offset as e.g. -05:00 or +01:00.");
    ACTION = ("EPCIS-V-004", Reject, "action is ADD, OBSERVE or DELETE.", "Use one of ADD, OBSERVE, DELETE (upper case).");
    QUANTITY = ("EPCIS-V-005", Reject, "quantity is an xsd:decimal (QuantityEvent: an integer), uom only together with a quantity.", "Write the quantity as a plain decimal number such as 12 or 2.5.");
    CBV_VALUE = ("EPCIS-V-006", Warn, "Values in a CBV vocabulary (bizStep, disposition, bizTransaction type, source/destination type, error reason) are standard CBV terms.", "Use a standard CBV term (e.g. urn:epcglobal:cbv:bizstep:shipping) or your own URI outside the CBV namespace.");
    DATE = ("EPCIS-V-007", Reject, "ILMD itemExpirationDate (and other xsd:date values) are valid YYYY-MM-DD dates.", "Write the date as YYYY-MM-DD, e.g. 2027-06-30.");
    BOOLEAN = ("EPCIS-V-008", Reject, "Boolean values (affirmTransactionStatement) are true, false, 1 or 0.", "Write true or false.");

    // Identifiers.
    IDENTIFIER = ("EPCIS-I-001", Reject, "Every product identifier (epcList, childEPCs, parentID, input/output EPC lists, quantity epcClass) and transformationID is a valid URI and, if it is a GS1 EPC URN (id, class or idpat) or Digital Link, a valid one.", "Correct the identifier; the message gives the exact GS1 problem (check digit, length, characters).");
    NOT_URI = ("EPCIS-I-002", Reject, "Product identifier values are absolute URIs (scheme:rest) without spaces.", "Use an EPC URN (urn:epc:id:…), a GS1 Digital Link (https://id.gs1.org/…) or another absolute URI.");

    LOT = ("EPCIS-I-003", Warn, "ILMD lotNumber is a valid GS1 batch/lot (AI 10: 1-20 characters of GS1 CSET 82), as DSCSA product identifiers and verification requests need it.", "Use at most 20 characters from the GS1 CSET 82 set (letters, digits and ! \" % & ' ( ) * + , - . / : ; < = > ? _), no spaces.");

    IDENTIFIER_STORED = ("EPCIS-I-004", Warn, "A readPoint/bizLocation id, source/destination or bizTransaction id that is a malformed GS1 identifier (EPC URN or Digital Link, e.g. an SGLN with a wrong partition) is stored as given and recorded as a data-quality finding on the document.", "Correct the identifier in the sending system; the message gives the exact GS1 problem.");
    NOT_URI_STORED = ("EPCIS-I-005", Warn, "A readPoint/bizLocation id, source/destination or bizTransaction id that is not an absolute URI (e.g. `N/A`, a bare ERP order number) is stored as given and recorded as a data-quality finding on the document.", "Send a URI: an SGLN/PGLN EPC URN or Digital Link for places and parties, urn:epcglobal:cbv:bt:<GLN>:<id> for business transactions.");

    // Header / master data.
    TRANSACTION_STATEMENT = ("EPCIS-H-001", Warn, "A gs1ushc:dscsaTransactionStatement, if present, affirms the statement (affirmTransactionStatement = true).", "Set <gs1ushc:affirmTransactionStatement>true</…> only when the seller makes the §581(27) statement.");
    VOCABULARY = ("EPCIS-H-002", Reject, "Vocabulary has a type attribute and every VocabularyElement and attribute has an id.", "Add the missing type/id attribute.");
    DIAGNOSTICS_TRUNCATED = ("EPCIS-H-003", Warn, "Too many findings: further diagnostics were dropped.", "Fix the reported problems and resend; the remaining ones will then be listed.");
}

pub use rules::ALL as ALL_RULES;

/// Rules whose findings are data-quality exceptions of an accepted document (a value stored
/// as given): shown apart on the document (`GET /documents/{id}`, `dataQuality`).
pub const DATA_QUALITY_RULES: &[&str] = &[rules::IDENTIFIER_STORED.id, rules::NOT_URI_STORED.id];

/// True when findings of `rule` are data-quality exceptions (see [`DATA_QUALITY_RULES`]).
pub fn is_data_quality(rule: &str) -> bool {
    DATA_QUALITY_RULES.contains(&rule)
}
