//! EPC identifiers (GS1 Tag Data Standard): the [`Epc`] type, one variant per TDS scheme, and
//! the combined identifiers it is made of ([`Sgtin`], [`Sgln`], [`Lgtin`], [`KeyedId`], [`Gid`]).
//!
//! - `key`: the GCP-independent key (`01<gtin>21<serial>`, …): built, read and taken apart
//!   there and nowhere else; element strings of an EPC.
//! - `parse`: EPC URIs read strictly, one function per scheme (`parse_other`: the non-GS1
//!   schemes).
//! - `write`: EPC URIs written, which needs the GS1 Company Prefix length.
//!
//! Parsing splits a URN on its dots and never re-partitions: the GS1 Company Prefix length
//! the URN shows is remembered as a hint (`gcp_length_hint`) so the system can learn it.
//! Writing a URN needs that length: from the hint, else from a [`GcpResolver`].
//!
//! [`GcpResolver`]: super::GcpResolver

use std::fmt;
use std::str::FromStr;

use super::chars::dl_escape;
use super::error::Gs1Error;
use super::keys::{Gln, Gtin, Lot, SerialNumber, Sscc};

mod key;
mod parse;
mod parse_other;
#[cfg(test)]
mod tests;
mod write;

pub use key::{gln_of_key, sgtin_key, sgtin_key_parts, KeyKind};
pub use parse::parse_epc_uri;

/// Canonical Digital Link host used for event hashing (CBV 2.0).
pub const CANONICAL_DL_BASE: &str = "https://id.gs1.org";

/// Serialised GTIN: GTIN + serial number (AI 01 + AI 21).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Sgtin {
    gtin: Gtin,
    serial: SerialNumber,
}

impl Sgtin {
    pub fn new(gtin: Gtin, serial: SerialNumber) -> Self {
        Sgtin { gtin, serial }
    }
    pub fn gtin(&self) -> &Gtin {
        &self.gtin
    }
    pub fn serial(&self) -> &SerialNumber {
        &self.serial
    }
}

impl fmt::Display for Sgtin {
    /// Canonical form: the element string `(01)…(21)…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(01){}(21){}",
            self.gtin,
            self.serial.as_str().replace('(', "\\(")
        )
    }
}

impl FromStr for Sgtin {
    type Err = Gs1Error;
    /// Any form: EPC URI, Digital Link, element string.
    fn from_str(s: &str) -> Result<Self, Gs1Error> {
        match super::parse_any(s)? {
            Epc::Sgtin(x) => Ok(x),
            other => Err(wrong_kind(s, "an SGTIN", &other)),
        }
    }
}

/// Serialised GLN: GLN + optional extension (AI 414 + AI 254). Extension "0" means none.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Sgln {
    gln: Gln,
    extension: Option<SerialNumber>,
}

impl Sgln {
    pub fn new(gln: Gln, extension: Option<&str>) -> Result<Self, Gs1Error> {
        let extension = match extension {
            None | Some("0") => None,
            Some(e) => Some(SerialNumber::parse(e).map_err(|e| rename(e, "GLN extension"))?),
        };
        Ok(Sgln { gln, extension })
    }
    pub fn gln(&self) -> &Gln {
        &self.gln
    }
    /// The AI 254 extension; `None` when the TDS extension is "0".
    pub fn extension(&self) -> Option<&str> {
        self.extension.as_ref().map(|e| e.as_str())
    }
}

impl fmt::Display for Sgln {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(414){}", self.gln)?;
        if let Some(e) = &self.extension {
            write!(f, "(254){}", e.as_str().replace('(', "\\("))?;
        }
        Ok(())
    }
}

impl FromStr for Sgln {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Gs1Error> {
        match super::parse_any(s)? {
            Epc::Sgln(x) => Ok(x),
            other => Err(wrong_kind(s, "an SGLN", &other)),
        }
    }
}

/// GTIN + batch/lot (AI 01 + AI 10), the EPC class `urn:epc:class:lgtin:`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Lgtin {
    gtin: Gtin,
    lot: Lot,
}

impl Lgtin {
    pub fn new(gtin: Gtin, lot: Lot) -> Self {
        Lgtin { gtin, lot }
    }
    pub fn gtin(&self) -> &Gtin {
        &self.gtin
    }
    pub fn lot(&self) -> &Lot {
        &self.lot
    }
}

impl fmt::Display for Lgtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(01){}(10){}",
            self.gtin,
            self.lot.as_str().replace('(', "\\(")
        )
    }
}

impl FromStr for Lgtin {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Gs1Error> {
        match super::parse_any(s)? {
            Epc::Lgtin(x) => Ok(x),
            other => Err(wrong_kind(s, "an LGTIN", &other)),
        }
    }
}

/// A GS1 key of the less common EPC schemes, held as its element-string values (validated
/// against the AI dictionary): `primary` is the value of the scheme's key AI, `secondary` the
/// value of its second AI where the scheme has one (CPI 8011, ITIP 21, UPUI 235).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct KeyedId {
    primary: String,
    secondary: Option<String>,
    gcp: super::keys::GcpHint,
}

impl KeyedId {
    pub fn primary(&self) -> &str {
        &self.primary
    }
    pub fn secondary(&self) -> Option<&str> {
        self.secondary.as_deref()
    }
}

/// General Identifier (`urn:epc:id:gid:`), the one non-GS1-key scheme of TDS that carries no
/// company prefix: manager number, object class, serial (decimal, no leading zeros).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Gid {
    pub manager: u64,
    pub class: u64,
    pub serial: u64,
}

/// An EPC: one variant per Tag Data Standard scheme.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Epc {
    Sgtin(Sgtin),
    Sscc(Sscc),
    Sgln(Sgln),
    /// `urn:epc:class:lgtin:`
    Lgtin(Lgtin),
    /// `urn:epc:idpat:sgtin:CP.ITEM.*`: every instance of one GTIN.
    GtinClass(Gtin),
    Pgln(Gln),
    Grai(KeyedId),
    Giai(KeyedId),
    Gsrn(KeyedId),
    Gsrnp(KeyedId),
    Gdti(KeyedId),
    Cpi(KeyedId),
    Sgcn(KeyedId),
    Ginc(KeyedId),
    Gsin(KeyedId),
    Itip(KeyedId),
    Upui(KeyedId),
    Gid(Gid),
    /// US Department of Defense identifier (`urn:epc:id:usdod:CAGE.serial`).
    Usdod(NonGs1Id),
    /// Aerospace and defence identifier (`urn:epc:id:adi:CAGE.part.serial`).
    Adi(NonGs1Id),
    /// ISO 6346 freight container code (`urn:epc:id:bic:`).
    Bic(NonGs1Id),
    /// IMO vessel number (`urn:epc:id:imovn:`).
    Imovn(NonGs1Id),
}

/// A validated non-GS1 TDS identifier, kept as its URI body (after `urn:epc:id:scheme:`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NonGs1Id {
    body: String,
}

impl NonGs1Id {
    pub fn body(&self) -> &str {
        &self.body
    }
}

/// Static description of a scheme.
#[derive(Clone, Copy)]
struct SchemeInfo {
    name: &'static str,
    ai: &'static str,
    second_ai: Option<&'static str>,
}

impl Epc {
    fn info(&self) -> SchemeInfo {
        let (name, ai, second_ai) = match self {
            Epc::Sgtin(_) => ("sgtin", "01", Some("21")),
            Epc::Sscc(_) => ("sscc", "00", None),
            Epc::Sgln(_) => ("sgln", "414", Some("254")),
            Epc::Lgtin(_) => ("lgtin", "01", Some("10")),
            Epc::GtinClass(_) => ("sgtin", "01", None),
            Epc::Pgln(_) => ("pgln", "417", None),
            Epc::Grai(_) => ("grai", "8003", None),
            Epc::Giai(_) => ("giai", "8004", None),
            Epc::Gsrn(_) => ("gsrn", "8018", None),
            Epc::Gsrnp(_) => ("gsrnp", "8017", None),
            Epc::Gdti(_) => ("gdti", "253", None),
            Epc::Cpi(_) => ("cpi", "8010", Some("8011")),
            Epc::Sgcn(_) => ("sgcn", "255", None),
            Epc::Ginc(_) => ("ginc", "401", None),
            Epc::Gsin(_) => ("gsin", "402", None),
            Epc::Itip(_) => ("itip", "8006", Some("21")),
            Epc::Upui(_) => ("upui", "01", Some("235")),
            Epc::Gid(_) => ("gid", "", None),
            Epc::Usdod(_) => ("usdod", "", None),
            Epc::Adi(_) => ("adi", "", None),
            Epc::Bic(_) => ("bic", "", None),
            Epc::Imovn(_) => ("imovn", "", None),
        };
        SchemeInfo {
            name,
            ai,
            second_ai,
        }
    }

    /// TDS scheme name (`sgtin`, `lgtin`, ...).
    pub fn scheme(&self) -> &'static str {
        self.info().name
    }

    /// Canonical GS1 Digital Link on `https://id.gs1.org` (CBV 2.0 event hash rule);
    /// non-GS1 EPCs (GID) stay as their URN.
    pub fn to_canonical_digital_link(&self) -> String {
        let mut s = String::with_capacity(64);
        self.write_canonical_digital_link(&mut s);
        s
    }

    /// [`Epc::to_canonical_digital_link`] appended to `out`, so a caller rendering many EPCs
    /// into one buffer allocates nothing per EPC.
    pub fn write_canonical_digital_link(&self, out: &mut String) {
        if let Epc::Sgtin(s) = self {
            // The common case written directly: a GTIN is digits, which are never escaped.
            out.push_str(CANONICAL_DL_BASE);
            out.push_str("/01/");
            out.push_str(s.gtin.as_str());
            out.push_str("/21/");
            dl_escape(s.serial.as_str(), out);
            return;
        }
        if let Some(u) = self.non_gs1_uri() {
            out.push_str(&u);
            return;
        }
        out.push_str(CANONICAL_DL_BASE);
        self.for_each_element(|ai, v| {
            out.push('/');
            out.push_str(ai);
            out.push('/');
            dl_escape(v, out);
        });
    }

    /// The GCP length seen in the URI this was parsed from.
    pub fn gcp_length_hint(&self) -> Option<u8> {
        match self {
            Epc::Sgtin(s) => s.gtin.gcp_length_hint(),
            Epc::Lgtin(l) => l.gtin.gcp_length_hint(),
            Epc::GtinClass(g) => g.gcp_length_hint(),
            Epc::Sscc(s) => s.gcp_length_hint(),
            Epc::Sgln(s) => s.gln.gcp_length_hint(),
            Epc::Pgln(g) => g.gcp_length_hint(),
            Epc::Gid(_) | Epc::Usdod(_) | Epc::Adi(_) | Epc::Bic(_) | Epc::Imovn(_) => None,
            Epc::Grai(k)
            | Epc::Giai(k)
            | Epc::Gsrn(k)
            | Epc::Gsrnp(k)
            | Epc::Gdti(k)
            | Epc::Cpi(k)
            | Epc::Sgcn(k)
            | Epc::Ginc(k)
            | Epc::Gsin(k)
            | Epc::Itip(k)
            | Epc::Upui(k) => k.gcp.0,
        }
    }

    /// The digits a GCP table is matched against, and the GCP itself when `len` is known.
    /// GTIN-based keys skip the indicator, SSCC the extension digit, GRAI its leading 0.
    pub fn gcp_digits(&self) -> &str {
        match self {
            Epc::Sgtin(s) => &s.gtin.as_str()[1..],
            Epc::Lgtin(l) => &l.gtin.as_str()[1..],
            Epc::GtinClass(g) => &g.as_str()[1..],
            Epc::Sscc(s) => &s.as_str()[1..],
            Epc::Sgln(s) => s.gln.as_str(),
            Epc::Pgln(g) => g.as_str(),
            Epc::Itip(k) | Epc::Upui(k) => &k.primary[1..],
            Epc::Grai(k) => &k.primary[1..],
            Epc::Giai(k)
            | Epc::Gsrn(k)
            | Epc::Gsrnp(k)
            | Epc::Gdti(k)
            | Epc::Cpi(k)
            | Epc::Sgcn(k)
            | Epc::Ginc(k)
            | Epc::Gsin(k) => &k.primary,
            Epc::Gid(_) | Epc::Usdod(_) | Epc::Adi(_) | Epc::Bic(_) | Epc::Imovn(_) => "",
        }
    }

    /// The URN of a non-GS1 EPC (their key and "Digital Link" are the URN itself).
    fn non_gs1_uri(&self) -> Option<String> {
        match self {
            Epc::Gid(g) => Some(format!(
                "urn:epc:id:gid:{}.{}.{}",
                g.manager, g.class, g.serial
            )),
            Epc::Usdod(x) | Epc::Adi(x) | Epc::Bic(x) | Epc::Imovn(x) => {
                Some(format!("urn:epc:id:{}:{}", self.scheme(), x.body))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Epc {
    /// The canonical Digital Link (GCP-independent).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_digital_link())
    }
}

impl FromStr for Epc {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Gs1Error> {
        super::parse_any(s)
    }
}

fn wrong_kind(input: &str, wanted: &str, got: &Epc) -> Gs1Error {
    Gs1Error::not_an_identifier(
        input,
        format!(
            "expected {wanted}, found an {} identifier",
            got.scheme().to_uppercase()
        ),
    )
}

fn rename(e: Gs1Error, what: &'static str) -> Gs1Error {
    match e {
        Gs1Error::Length {
            input,
            expected,
            found,
            ..
        } => Gs1Error::Length {
            what,
            input,
            expected,
            found,
        },
        Gs1Error::Charset {
            input,
            position,
            found,
            expected,
            ..
        } => Gs1Error::Charset {
            what,
            input,
            position,
            found,
            expected,
        },
        other => other,
    }
}
