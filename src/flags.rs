//! Recall, suspect and illegitimate flags set by compliance officers. Verification reports them
//! at once (`additionalInfo`); the full recall and investigation workflows build on them.

use diesel::prelude::*;

use crate::gs1::{self, Gs1Error, Gtin, Lot, SerialNumber};
use crate::store::{audit, verification as q};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Recalled,
    Suspect,
    Illegitimate,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Recalled => "recalled",
            Flag::Suspect => "suspect",
            Flag::Illegitimate => "illegitimate",
        }
    }
}

impl std::str::FromStr for Flag {
    type Err = FlagError;
    fn from_str(s: &str) -> Result<Self, FlagError> {
        match s {
            "recalled" => Ok(Flag::Recalled),
            "suspect" => Ok(Flag::Suspect),
            "illegitimate" => Ok(Flag::Illegitimate),
            other => Err(FlagError::Invalid(format!(
                "flag `{other}` is not one of recalled, suspect, illegitimate"
            ))),
        }
    }
}

/// What is flagged: one serial, one lot of a product, or a whole product.
#[derive(Debug, Clone)]
pub enum Target {
    Serial(Gtin, SerialNumber),
    Lot(Gtin, Lot),
    Product(Gtin),
}

impl Target {
    /// The target as the API and the CLI name it: a serial when one is given (the lot is then
    /// not looked at), else a lot when one is given, else the whole product.
    pub fn parse(
        gtin: &str,
        lot: Option<&str>,
        serial: Option<&str>,
    ) -> Result<Target, TargetError> {
        let at = |field| {
            move |error| TargetError {
                field,
                error: Box::new(error),
            }
        };
        let gtin = gtin.parse().map_err(at("gtin"))?;
        Ok(match (serial, lot) {
            (Some(s), _) => Target::Serial(gtin, s.parse().map_err(at("serial"))?),
            (None, Some(l)) => Target::Lot(gtin, l.parse().map_err(at("lot"))?),
            (None, None) => Target::Product(gtin),
        })
    }
}

/// A flag target's identifier that does not parse, and which one it is.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {error}")]
pub struct TargetError {
    field: &'static str,
    error: Box<Gs1Error>,
}

impl TargetError {
    /// `gtin`, `lot` or `serial`.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// Why it does not parse.
    pub fn error(&self) -> &Gs1Error {
        &self.error
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    #[error("{0}")]
    Invalid(String),
    #[error("serial {0} is not known here")]
    UnknownSerial(String),
    #[error("database error: {0}")]
    Store(#[from] diesel::result::Error),
}

pub fn set(
    conn: &mut PgConnection,
    target: &Target,
    flag: Flag,
    reason: &str,
    actor: &str,
    actor_partner: Option<i64>,
) -> Result<(), FlagError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(FlagError::Invalid(
            "a reason is required (it is kept in the audit log)".into(),
        ));
    }
    conn.transaction(|conn| {
        let subject = match target {
            Target::Serial(gtin, serial) => {
                let key = gs1::sgtin_key(gtin, serial);
                if !q::flag_serial(conn, &key, flag.as_str())? {
                    return Err(FlagError::UnknownSerial(format!(
                        "(01){}(21){}",
                        gtin.as_str(),
                        serial.as_str()
                    )));
                }
                format!("serial:{key}")
            }
            Target::Lot(gtin, lot) => {
                q::flag_product(
                    conn,
                    gtin.as_str(),
                    Some(lot.as_str()),
                    flag.as_str(),
                    reason,
                    actor_partner,
                )?;
                format!("lot:{}/{}", gtin.as_str(), lot.as_str())
            }
            Target::Product(gtin) => {
                q::flag_product(
                    conn,
                    gtin.as_str(),
                    None,
                    flag.as_str(),
                    reason,
                    actor_partner,
                )?;
                format!("product:{}", gtin.as_str())
            }
        };
        audit::record(
            conn,
            actor,
            &format!("flag.{}", flag.as_str()),
            &subject,
            serde_json::json!({ "reason": reason }),
        )?;
        Ok(())
    })
}
