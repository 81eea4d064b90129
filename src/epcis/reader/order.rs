//! Element order of event children per EPCIS version (standards.md §1.5, §1.6, §3.1; 2.0 puts
//! the former 1.2 `extension` fields where the wrapper was, AssociationEvent excepted), as
//! tables the reader walks while it reads: out-of-order, duplicate and missing children are
//! found in one pass without keeping the children.

use crate::epcis::model::{EpcisVersion, EventType};

/// Every event child element the model knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    EventTime,
    RecordTime,
    EventTimeZoneOffset,
    CertificationInfo,
    EventId,
    ErrorDeclaration,
    BaseExtension,
    EpcList,
    ParentId,
    ChildEpcs,
    InputEpcList,
    OutputEpcList,
    QuantityList,
    ChildQuantityList,
    InputQuantityList,
    OutputQuantityList,
    EpcClass,
    Quantity,
    Action,
    TransformationId,
    BizStep,
    Disposition,
    PersistentDisposition,
    ReadPoint,
    BizLocation,
    BizTransactionList,
    SourceList,
    DestinationList,
    SensorElementList,
    Ilmd,
    Extension,
}

impl Field {
    pub(crate) fn from_name(name: &str) -> Option<Field> {
        use Field::*;
        Some(match name {
            "eventTime" => EventTime,
            "recordTime" => RecordTime,
            "eventTimeZoneOffset" => EventTimeZoneOffset,
            "certificationInfo" => CertificationInfo,
            "eventID" => EventId,
            "errorDeclaration" => ErrorDeclaration,
            "baseExtension" => BaseExtension,
            "epcList" => EpcList,
            "parentID" => ParentId,
            "childEPCs" => ChildEpcs,
            "inputEPCList" => InputEpcList,
            "outputEPCList" => OutputEpcList,
            "quantityList" => QuantityList,
            "childQuantityList" => ChildQuantityList,
            "inputQuantityList" => InputQuantityList,
            "outputQuantityList" => OutputQuantityList,
            "epcClass" => EpcClass,
            "quantity" => Quantity,
            "action" => Action,
            "transformationID" => TransformationId,
            "bizStep" => BizStep,
            "disposition" => Disposition,
            "persistentDisposition" => PersistentDisposition,
            "readPoint" => ReadPoint,
            "bizLocation" => BizLocation,
            "bizTransactionList" => BizTransactionList,
            "sourceList" => SourceList,
            "destinationList" => DestinationList,
            "sensorElementList" => SensorElementList,
            "ilmd" => Ilmd,
            "extension" => Extension,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        use Field::*;
        match self {
            EventTime => "eventTime",
            RecordTime => "recordTime",
            EventTimeZoneOffset => "eventTimeZoneOffset",
            CertificationInfo => "certificationInfo",
            EventId => "eventID",
            ErrorDeclaration => "errorDeclaration",
            BaseExtension => "baseExtension",
            EpcList => "epcList",
            ParentId => "parentID",
            ChildEpcs => "childEPCs",
            InputEpcList => "inputEPCList",
            OutputEpcList => "outputEPCList",
            QuantityList => "quantityList",
            ChildQuantityList => "childQuantityList",
            InputQuantityList => "inputQuantityList",
            OutputQuantityList => "outputQuantityList",
            EpcClass => "epcClass",
            Quantity => "quantity",
            Action => "action",
            TransformationId => "transformationID",
            BizStep => "bizStep",
            Disposition => "disposition",
            PersistentDisposition => "persistentDisposition",
            ReadPoint => "readPoint",
            BizLocation => "bizLocation",
            BizTransactionList => "bizTransactionList",
            SourceList => "sourceList",
            DestinationList => "destinationList",
            SensorElementList => "sensorElementList",
            Ilmd => "ilmd",
            Extension => "extension",
        }
    }
}

/// One allowed child: the field, whether it is required, whether it may repeat, and whether
/// it may stand anywhere in the list (outside the order the other children follow).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot(pub Field, pub bool, pub bool, pub bool);

const fn o(f: Field) -> Slot {
    Slot(f, false, false, false)
}
const fn r(f: Field) -> Slot {
    Slot(f, true, false, false)
}
/// Optional, in any position (see the tables that use it).
const fn f(f: Field) -> Slot {
    Slot(f, false, false, true)
}
/// Required, in any position.
const fn rf(f: Field) -> Slot {
    Slot(f, true, false, true)
}

use Field::*;

macro_rules! head1 { ($($s:expr),* $(,)?) => { &[r(EventTime), o(RecordTime), r(EventTimeZoneOffset), o(BaseExtension), $($s),*] } }
// 2.0: the published XSD text is not at hand (standards.md §3 is UNVERIFIED on it) and the
// drafts in gs1/EPCIS and copies of it differ on two positions: `certificationInfo` (before
// `eventID`, or after `errorDeclaration`) and `persistentDisposition` (after `disposition`, or
// after `sensorElementList`). Both forms are accepted: those two may stand anywhere among the
// event's fields. Every variant has an optional `baseExtension` after `errorDeclaration` and
// ends with an optional `extension` (both wildcards) before the `##other` elements.
macro_rules! head2 { ($($s:expr),* $(,)?) => { &[r(EventTime), o(RecordTime), r(EventTimeZoneOffset), Slot(CertificationInfo, false, true, true), o(EventId), o(ErrorDeclaration), o(BaseExtension), $($s),*, o(Extension)] } }

const OBJECT_1: &[Slot] = head1![
    r(EpcList),
    r(Action),
    o(BizStep),
    o(Disposition),
    o(ReadPoint),
    o(BizLocation),
    o(BizTransactionList),
    o(Extension)
];
// The 1.2 XSD's first-level `extension` of an event is a sequence without a wildcard. GS1's
// own 2.0 -> 1.2 converter (XSL/convert-2.0-to-1.2.xsl) writes the 2.0-only
// `persistentDisposition` and `sensorElementList` of an ObjectEvent there, after
// `destinationList` (in either order), so they are accepted in any position of this wrapper
// (a deliberate difference from the XSD, docs/RULES.md); the innermost `extension` (an
// `xsd:any namespace="##local"` wildcard) takes them too.
const OBJECT_1_EXT: &[Slot] = &[
    o(QuantityList),
    o(SourceList),
    o(DestinationList),
    f(PersistentDisposition),
    f(SensorElementList),
    o(Ilmd),
    o(Extension),
];
const AGGREGATION_1: &[Slot] = head1![
    o(ParentId),
    r(ChildEpcs),
    r(Action),
    o(BizStep),
    o(Disposition),
    o(ReadPoint),
    o(BizLocation),
    o(BizTransactionList),
    o(Extension)
];
const AGGREGATION_1_EXT: &[Slot] = &[
    o(ChildQuantityList),
    o(SourceList),
    o(DestinationList),
    f(PersistentDisposition),
    f(SensorElementList),
    o(Extension),
];
const TRANSACTION_1: &[Slot] = head1![
    r(BizTransactionList),
    o(ParentId),
    r(EpcList),
    r(Action),
    o(BizStep),
    o(Disposition),
    o(ReadPoint),
    o(BizLocation),
    o(Extension)
];
const TRANSACTION_1_EXT: &[Slot] = &[
    o(QuantityList),
    o(SourceList),
    o(DestinationList),
    f(PersistentDisposition),
    f(SensorElementList),
    o(Extension),
];
const TRANSFORMATION_1: &[Slot] = head1![
    o(InputEpcList),
    o(InputQuantityList),
    o(OutputEpcList),
    o(OutputQuantityList),
    o(TransformationId),
    o(BizStep),
    o(Disposition),
    o(ReadPoint),
    o(BizLocation),
    o(BizTransactionList),
    o(SourceList),
    o(DestinationList),
    o(Ilmd),
    o(Extension)
];
const QUANTITY_1: &[Slot] = head1![
    r(EpcClass),
    r(Quantity),
    o(BizStep),
    o(Disposition),
    o(ReadPoint),
    o(BizLocation),
    o(BizTransactionList),
    o(Extension)
];
// A 1.2 AssociationEvent sits in `EventList/extension/extension`, an `xsd:any
// namespace="##local" processContents="lax"` wildcard: the 1.2 XSD checks nothing inside
// it, and GS1's own 1.2 examples (XSL/1.2/XML/AssociationEvent.xml) put `childQuantityList`
// after `readPoint`. Its children are therefore taken in any order (the event head keeps
// its place); duplicates and missing required fields are still reported.
const ASSOCIATION_1: &[Slot] = head1![
    f(ParentId),
    f(ChildEpcs),
    f(ChildQuantityList),
    rf(Action),
    f(BizStep),
    f(Disposition),
    f(PersistentDisposition),
    f(ReadPoint),
    f(BizLocation),
    f(BizTransactionList),
    f(SourceList),
    f(DestinationList),
    f(SensorElementList),
    f(Extension)
];
/// The innermost 1.2 `extension` (`ObjectEventExtension2Type`, `EPCISEventExtension2Type`,
/// `TransformationEventExtensionType`, `QuantityEventExtensionType`, …) is an `xsd:any
/// namespace="##local"` wildcard: no order table, any unqualified element (see
/// `EpcisReader::inner_extension`).
const INNER_EXT: &[Slot] = &[];
const BASE_EXTENSION: &[Slot] = &[o(EventId), o(ErrorDeclaration), o(Extension)];

const OBJECT_2: &[Slot] = head2![
    o(EpcList),
    r(Action),
    o(BizStep),
    o(Disposition),
    f(PersistentDisposition),
    o(ReadPoint),
    o(BizLocation),
    o(BizTransactionList),
    o(QuantityList),
    o(SourceList),
    o(DestinationList),
    o(SensorElementList),
    o(Ilmd)
];
const AGGREGATION_2: &[Slot] = head2![
    o(ParentId),
    o(ChildEpcs),
    r(Action),
    o(BizStep),
    o(Disposition),
    f(PersistentDisposition),
    o(ReadPoint),
    o(BizLocation),
    o(BizTransactionList),
    o(ChildQuantityList),
    o(SourceList),
    o(DestinationList),
    o(SensorElementList)
];
const TRANSACTION_2: &[Slot] = head2![
    r(BizTransactionList),
    o(ParentId),
    o(EpcList),
    r(Action),
    o(BizStep),
    o(Disposition),
    f(PersistentDisposition),
    o(ReadPoint),
    o(BizLocation),
    o(QuantityList),
    o(SourceList),
    o(DestinationList),
    o(SensorElementList)
];
const TRANSFORMATION_2: &[Slot] = head2![
    o(InputEpcList),
    o(InputQuantityList),
    o(OutputEpcList),
    o(OutputQuantityList),
    o(TransformationId),
    o(BizStep),
    o(Disposition),
    f(PersistentDisposition),
    o(ReadPoint),
    o(BizLocation),
    o(BizTransactionList),
    o(SourceList),
    o(DestinationList),
    o(SensorElementList),
    o(Ilmd)
];
const ASSOCIATION_2: &[Slot] = head2![
    o(ParentId),
    o(ChildEpcs),
    o(ChildQuantityList),
    r(Action),
    o(BizStep),
    o(Disposition),
    f(PersistentDisposition),
    o(ReadPoint),
    o(BizLocation),
    o(BizTransactionList),
    o(SourceList),
    o(DestinationList),
    o(SensorElementList)
];
const QUANTITY_2: &[Slot] = head2![
    r(EpcClass),
    r(Quantity),
    o(BizStep),
    o(Disposition),
    o(ReadPoint),
    o(BizLocation),
    o(BizTransactionList)
];

/// Which list of children is being walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// Direct children of the event element.
    Event,
    /// Children of the first 1.2 `extension` wrapper.
    Extension,
    /// Children of a nested 1.2 `extension`.
    InnerExtension,
    BaseExtension,
}

pub(crate) fn table(version: EpcisVersion, et: EventType, level: Level) -> &'static [Slot] {
    use EventType as T;
    match (version, level) {
        (_, Level::BaseExtension) => BASE_EXTENSION,
        (_, Level::InnerExtension) => INNER_EXT,
        (EpcisVersion::V1, Level::Event) => match et {
            T::Object => OBJECT_1,
            T::Aggregation => AGGREGATION_1,
            T::Transaction => TRANSACTION_1,
            T::Transformation => TRANSFORMATION_1,
            T::Quantity => QUANTITY_1,
            T::Association => ASSOCIATION_1,
        },
        (EpcisVersion::V1, Level::Extension) => match et {
            T::Object => OBJECT_1_EXT,
            T::Aggregation => AGGREGATION_1_EXT,
            T::Transaction => TRANSACTION_1_EXT,
            _ => INNER_EXT,
        },
        (EpcisVersion::V2, Level::Event) => match et {
            T::Object => OBJECT_2,
            T::Aggregation => AGGREGATION_2,
            T::Transaction => TRANSACTION_2,
            T::Transformation => TRANSFORMATION_2,
            T::Quantity => QUANTITY_2,
            T::Association => ASSOCIATION_2,
        },
        // 2.0's `extension` is a wildcard, read by `EpcisReader::event_children_lenient`.
        (EpcisVersion::V2, Level::Extension) => INNER_EXT,
    }
}

/// True when the children at `level` are an `xsd:any namespace="##local"` wildcard (the
/// innermost 1.2 `extension`): any unqualified element, in any order.
pub(crate) fn is_wildcard(version: EpcisVersion, et: EventType, level: Level) -> bool {
    level != Level::Event && table(version, et, level).is_empty()
}

/// True when `field` is a child of `et` somewhere in `version` (any wrapper level).
pub(crate) fn known_in(version: EpcisVersion, et: EventType, field: Field) -> bool {
    [Level::Event, Level::Extension, Level::BaseExtension]
        .iter()
        .any(|&l| table(version, et, l).iter().any(|s| s.0 == field))
}

/// Outcome of visiting a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visit {
    Ok,
    /// Appears after the named field although the schema puts it before.
    OutOfOrder(&'static str),
    /// Appears after a foreign-namespace extension element.
    AfterExtension,
    Duplicate,
    NotAllowed,
}

/// Walks one list of children against a table.
pub(crate) struct OrderTracker {
    table: &'static [Slot],
    last: usize,
    seen: u64,
    after_foreign: bool,
}

impl OrderTracker {
    pub(crate) fn new(table: &'static [Slot]) -> Self {
        debug_assert!(table.len() <= 64);
        OrderTracker {
            table,
            last: 0,
            seen: 0,
            after_foreign: false,
        }
    }

    pub(crate) fn visit(&mut self, field: Field) -> Visit {
        let Some(idx) = self.table.iter().position(|s| s.0 == field) else {
            return Visit::NotAllowed;
        };
        let bit = 1u64 << idx;
        let slot = self.table[idx];
        let result = if self.after_foreign {
            Visit::AfterExtension
        } else if self.seen & bit != 0 && !slot.2 {
            Visit::Duplicate
        } else if idx < self.last && !slot.3 {
            Visit::OutOfOrder(self.table[self.last].0.name())
        } else {
            Visit::Ok
        };
        self.seen |= bit;
        // A field in any position does not move the order on.
        if idx > self.last && !slot.3 {
            self.last = idx;
        }
        result
    }

    /// A foreign-namespace element: allowed only after every standard child.
    pub(crate) fn visit_foreign(&mut self) {
        self.after_foreign = true;
    }

    /// Required fields never seen.
    pub(crate) fn missing(&self) -> impl Iterator<Item = Field> + '_ {
        self.table
            .iter()
            .enumerate()
            .filter(move |(i, s)| s.1 && self.seen & (1u64 << i) == 0)
            .map(|(_, s)| s.0)
    }
}
