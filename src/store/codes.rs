//! The codes the store keeps instead of text (docs/ARCHITECTURE.md, "Codes"; the migrations'
//! CHECKs hold the same values): `smallint` codes of event types, EPC roles, source and
//! destination kinds, serial kinds and serial statuses, and the text status of a document.
//! Each is a Rust enum; its numbers (or words) are written here once.
//!
//! The enums of the EPCIS model (`EventType`, `EpcRole`) stay pure: their codes are a
//! [`Code`] conversion, used where rows are built and read. The store's own enums
//! ([`SerialStatus`], [`SerialKind`], [`DocumentStatus`]) are diesel SQL values themselves.
//!
//! SQL text names codes as literals (`role = 2`, `event_type = 2`), as the migrations do: a
//! partial index (`events_aggregation_time`: `event_type = 2`) is only used by a statement
//! whose text states its predicate. The test below holds the numbers to the schema.

use std::io::Write;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{SmallInt, Text};

use crate::epcis::{EpcRole, EventType};
use crate::gs1::KeyKind;

/// An enum stored as a `smallint` code.
pub trait Code: Sized + Copy {
    /// The stored code.
    fn code(self) -> i16;
    /// The value of a stored code (`None` for a code no value has).
    fn from_code(code: i16) -> Option<Self>;
}

macro_rules! codes {
    ($t:ident { $($variant:ident = $code:literal),* $(,)? }) => {
        impl Code for $t {
            fn code(self) -> i16 {
                match self {
                    $($t::$variant => $code,)*
                }
            }

            fn from_code(code: i16) -> Option<Self> {
                match code {
                    $($code => Some($t::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

/// `event_sources_destinations.kind`: which list of the event a party is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyKind {
    Source,
    Destination,
}

/// `serials.kind`: the scheme of a serial's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = SmallInt)]
pub enum SerialKind {
    Sgtin,
    Sscc,
    /// Any other identifier with state of its own (SGLN, GRAI, URIs kept as given, …).
    Other,
}

impl SerialKind {
    /// The kind of an identifier key, read from its shape (`gs1::KeyKind`).
    pub fn of_key(key: &str) -> SerialKind {
        match KeyKind::of(key) {
            KeyKind::Sgtin => SerialKind::Sgtin,
            KeyKind::Sscc => SerialKind::Sscc,
            KeyKind::Other => SerialKind::Other,
        }
    }
}

/// `serials.status`: where a serial stands in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = SmallInt)]
pub enum SerialStatus {
    Commissioned,
    Packed,
    Shipped,
    Received,
    Dispensed,
    Decommissioned,
    Destroyed,
    /// Named by an event before its commissioning arrived (warning DSCSA-B-002).
    Unknown,
}

impl SerialStatus {
    /// Out of the supply chain for good (dispensed, decommissioned, destroyed): a container
    /// given one passes it down to its contents.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SerialStatus::Dispensed | SerialStatus::Decommissioned | SerialStatus::Destroyed
        )
    }

    /// Terminal or unknown: a serial in such a status keeps it whatever its containers get
    /// (the `serial_state` view of migration 8, and the terminal status passed down).
    pub fn is_terminal_or_unknown(self) -> bool {
        self.is_terminal() || self == SerialStatus::Unknown
    }

    /// The status as the API and reports name it (`commissioned`, `packed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SerialStatus::Commissioned => "commissioned",
            SerialStatus::Packed => "packed",
            SerialStatus::Shipped => "shipped",
            SerialStatus::Received => "received",
            SerialStatus::Dispensed => "dispensed",
            SerialStatus::Decommissioned => "decommissioned",
            SerialStatus::Destroyed => "destroyed",
            SerialStatus::Unknown => "unknown",
        }
    }

    /// The codes of [`SerialStatus::is_terminal_or_unknown`], for SQL: `5, 6, 7, 8`.
    pub fn terminal_or_unknown_codes() -> String {
        ALL_STATUSES
            .iter()
            .filter(|s| s.is_terminal_or_unknown())
            .map(|s| s.code().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

const ALL_STATUSES: [SerialStatus; 8] = [
    SerialStatus::Commissioned,
    SerialStatus::Packed,
    SerialStatus::Shipped,
    SerialStatus::Received,
    SerialStatus::Dispensed,
    SerialStatus::Decommissioned,
    SerialStatus::Destroyed,
    SerialStatus::Unknown,
];

codes!(EventType {
    Object = 1,
    Aggregation = 2,
    Transaction = 3,
    Transformation = 4,
    Association = 5,
    Quantity = 6,
});
codes!(EpcRole {
    Epc = 1,
    Parent = 2,
    Child = 3,
    Input = 4,
    Output = 5,
});
codes!(PartyKind {
    Source = 1,
    Destination = 2,
});
codes!(SerialKind {
    Sgtin = 1,
    Sscc = 2,
    Other = 9,
});
codes!(SerialStatus {
    Commissioned = 1,
    Packed = 2,
    Shipped = 3,
    Received = 4,
    Dispensed = 5,
    Decommissioned = 6,
    Destroyed = 7,
    Unknown = 8,
});

/// ToSql / FromSql of a store enum as its `smallint` code.
macro_rules! small_int_sql {
    ($t:ident) => {
        impl ToSql<SmallInt, Pg> for $t {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                out.write_all(&self.code().to_be_bytes())?;
                Ok(IsNull::No)
            }
        }

        impl FromSql<SmallInt, Pg> for $t {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                let code = <i16 as FromSql<SmallInt, Pg>>::from_sql(bytes)?;
                $t::from_code(code)
                    .ok_or_else(|| format!("no {} has the code {code}", stringify!($t)).into())
            }
        }
    };
}
small_int_sql!(SerialKind);
small_int_sql!(SerialStatus);

/// `documents.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum DocumentStatus {
    Receiving,
    /// Being captured (the row is created when reception starts).
    Processing,
    Accepted,
    PartiallyAccepted,
    Rejected,
    Failed,
}

impl DocumentStatus {
    const ALL: [DocumentStatus; 6] = [
        DocumentStatus::Receiving,
        DocumentStatus::Processing,
        DocumentStatus::Accepted,
        DocumentStatus::PartiallyAccepted,
        DocumentStatus::Rejected,
        DocumentStatus::Failed,
    ];

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Receiving => "receiving",
            DocumentStatus::Processing => "processing",
            DocumentStatus::Accepted => "accepted",
            DocumentStatus::PartiallyAccepted => "partially_accepted",
            DocumentStatus::Rejected => "rejected",
            DocumentStatus::Failed => "failed",
        }
    }

    /// The status of a stored word.
    pub fn parse(s: &str) -> Option<DocumentStatus> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

impl ToSql<Text, Pg> for DocumentStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.as_str().as_bytes())?;
        Ok(IsNull::No)
    }
}

/// Written as its stored word (`GET /documents/{id}`: `"status": "accepted"`).
impl serde::Serialize for DocumentStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl FromSql<Text, Pg> for DocumentStatus {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let s = std::str::from_utf8(bytes.as_bytes())?;
        DocumentStatus::parse(s).ok_or_else(|| format!("no document status `{s}`").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values stored: docs/ARCHITECTURE.md ("Codes") and the migrations' CHECKs. They
    /// never change (stored rows hold them).
    #[test]
    fn the_stored_codes_are_those_of_the_schema() {
        let types = [
            EventType::Object,
            EventType::Aggregation,
            EventType::Transaction,
            EventType::Transformation,
            EventType::Association,
            EventType::Quantity,
        ];
        assert_eq!(types.map(Code::code), [1, 2, 3, 4, 5, 6]);
        let roles = [
            EpcRole::Epc,
            EpcRole::Parent,
            EpcRole::Child,
            EpcRole::Input,
            EpcRole::Output,
        ];
        assert_eq!(roles.map(Code::code), [1, 2, 3, 4, 5]);
        assert_eq!(
            [PartyKind::Source, PartyKind::Destination].map(Code::code),
            [1, 2]
        );
        assert_eq!(
            [SerialKind::Sgtin, SerialKind::Sscc, SerialKind::Other].map(Code::code),
            [1, 2, 9]
        );
        assert_eq!(ALL_STATUSES.map(Code::code), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(SerialStatus::terminal_or_unknown_codes(), "5, 6, 7, 8");
        let words = DocumentStatus::ALL.map(DocumentStatus::as_str);
        assert_eq!(
            words,
            [
                "receiving",
                "processing",
                "accepted",
                "partially_accepted",
                "rejected",
                "failed"
            ]
        );
    }

    #[test]
    fn every_code_reads_back_and_no_other_does() {
        for code in -1..=10 {
            if let Some(s) = SerialStatus::from_code(code) {
                assert_eq!(s.code(), code);
            }
            if let Some(r) = EpcRole::from_code(code) {
                assert_eq!(r.code(), code);
            }
            if let Some(t) = EventType::from_code(code) {
                assert_eq!(t.code(), code);
            }
        }
        assert_eq!(SerialStatus::from_code(0), None);
        assert_eq!(SerialKind::from_code(3), None);
        for d in DocumentStatus::ALL {
            assert_eq!(DocumentStatus::parse(d.as_str()), Some(d));
        }
    }

    #[test]
    fn keys_tell_their_kind() {
        assert_eq!(
            SerialKind::of_key("010036141412345821S1"),
            SerialKind::Sgtin
        );
        assert_eq!(SerialKind::of_key("00103614140000000015"), SerialKind::Sscc);
        assert_eq!(SerialKind::of_key("urn:example:1"), SerialKind::Other);
        assert_eq!(
            SerialKind::of_key("010036141412345810LOT"),
            SerialKind::Other
        );
    }
}
