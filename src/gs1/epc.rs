//! EPC pure-identity URIs (GS1 Tag Data Standard) and the GCP-independent EPC key.
//!
//! Parsing splits a URN on its dots and never re-partitions: the GS1 Company Prefix length
//! the URN shows is remembered as a hint (`gcp_length_hint`) so the system can learn it.
//! Writing a URN needs that length: from the hint, else from a [`GcpResolver`].

use std::fmt;
use std::str::FromStr;

use super::chars::{dl_escape, epc_escape, is_cset39, is_cset82, pct_decode};
use super::element_string::{parse_key_string, ElementString};
use super::error::Gs1Error;
use super::gcp::GcpResolver;
use super::keys::{check_cset82, Gln, Gtin, Lot, SerialNumber, Sscc};

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
    /// Parse an `urn:epc:id:sgtin:` URI (zero allocations on success).
    pub fn from_epc_uri(uri: &str) -> Result<Self, Gs1Error> {
        let body = uri.strip_prefix("urn:epc:id:sgtin:").ok_or_else(|| {
            Gs1Error::syntax(
                "SGTIN URI",
                uri,
                0,
                "\"urn:epc:id:sgtin:\"",
                format!("{:?}", uri.chars().take(17).collect::<String>()),
            )
        })?;
        let (gtin, rest) = gtin_fields(uri, "urn:epc:id:sgtin:".len(), body)?;
        let serial = with_decoded(uri, "serial number", rest, SerialNumber::parse)?;
        Ok(Sgtin { gtin, serial })
    }

    /// [`Sgtin::from_epc_uri`] for a URI that begins with `prefix` (`urn:epc:id:sgtin:CP.ITEM.`,
    /// up to and including the second dot) of a URI already parsed into `known`: only the
    /// serial is parsed, with the same result and errors. The EPCs of one list usually share
    /// their GTIN.
    pub(crate) fn from_epc_uri_sharing_gtin(
        uri: &str,
        prefix: &str,
        known: &Sgtin,
    ) -> Option<Result<Self, Gs1Error>> {
        let rest = uri.strip_prefix(prefix)?;
        let serial = with_decoded(uri, "serial number", rest, SerialNumber::parse);
        Some(serial.map(|serial| Sgtin {
            gtin: known.gtin,
            serial,
        }))
    }

    /// The part of an SGTIN URI that names its GTIN (`urn:epc:id:sgtin:CP.ITEM.`).
    pub(crate) fn gtin_prefix_of(uri: &str) -> Option<&str> {
        let body = uri.strip_prefix("urn:epc:id:sgtin:")?;
        let body_at = uri.len() - body.len();
        let b = body.as_bytes();
        let d1 = b.iter().position(|&c| c == b'.')?;
        let d2 = b[d1 + 1..].iter().position(|&c| c == b'.')? + d1 + 1;
        uri.get(..body_at + d2 + 1)
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

const SCHEMES: &str = "sgtin, sscc, sgln, grai, giai, gsrn, gsrnp, gdti, cpi, sgcn, ginc, gsin, itip, upui, pgln, gid, usdod, adi, bic, imovn (id); lgtin (class); sgtin (idpat)";

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

    /// Visit the (AI, value) pairs in canonical order without allocating.
    fn for_each_element(&self, mut f: impl FnMut(&'static str, &str)) {
        match self {
            Epc::Sgtin(s) => {
                f("01", s.gtin.as_str());
                f("21", s.serial.as_str());
            }
            Epc::Sscc(s) => f("00", s.as_str()),
            Epc::Sgln(s) => {
                f("414", s.gln.as_str());
                if let Some(e) = &s.extension {
                    f("254", e.as_str());
                }
            }
            Epc::Lgtin(l) => {
                f("01", l.gtin.as_str());
                f("10", l.lot.as_str());
            }
            Epc::GtinClass(g) => f("01", g.as_str()),
            Epc::Pgln(g) => f("417", g.as_str()),
            _ => {
                // Rare schemes: the allocating list is fine.
                for (ai, v) in self.elements() {
                    f(ai, &v);
                }
            }
        }
    }

    /// The (AI, value) pairs of this EPC in canonical order.
    pub fn elements(&self) -> Vec<(&'static str, String)> {
        let i = self.info();
        match self {
            Epc::Sgtin(s) => vec![("01", s.gtin.to_string()), ("21", s.serial.to_string())],
            Epc::Sscc(s) => vec![("00", s.to_string())],
            Epc::Sgln(s) => {
                let mut v = vec![("414", s.gln.to_string())];
                if let Some(e) = &s.extension {
                    v.push(("254", e.to_string()));
                }
                v
            }
            Epc::Lgtin(l) => vec![("01", l.gtin.to_string()), ("10", l.lot.to_string())],
            Epc::GtinClass(g) => vec![("01", g.to_string())],
            Epc::Pgln(g) => vec![("417", g.to_string())],
            Epc::Gid(_) | Epc::Usdod(_) | Epc::Adi(_) | Epc::Bic(_) | Epc::Imovn(_) => vec![],
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
            | Epc::Upui(k) => {
                let mut v = vec![(i.ai, k.primary.clone())];
                if let (Some(ai), Some(s)) = (i.second_ai, &k.secondary) {
                    v.push((ai, s.clone()));
                }
                v
            }
        }
    }

    /// GCP-independent canonical key: the element string without parentheses, AIs in
    /// canonical order. Only the last AI is variable-length, except for CPI where an FNC1
    /// (ASCII 29) ends the variable CPID before AI 8011. Non-GS1 EPCs (GID) use their URN.
    pub fn key(&self) -> String {
        if let Some(u) = self.non_gs1_uri() {
            return u;
        }
        let mut s = String::with_capacity(48);
        let cpi = matches!(self, Epc::Cpi(_));
        self.for_each_element(|ai, v| {
            if cpi && ai == "8011" {
                s.push('\u{1d}');
            }
            s.push_str(ai);
            s.push_str(v);
        });
        s
    }

    /// Parse a key made by [`Epc::key`].
    pub fn from_key(key: &str) -> Result<Epc, Gs1Error> {
        if key.starts_with("urn:epc:") {
            return parse_epc_uri(key);
        }
        let es = parse_key_string(key)?;
        Epc::from_element_string(&es)
    }

    /// The EPC a set of AIs denotes: the most specific identifier its primary key allows.
    pub fn from_element_string(es: &ElementString) -> Result<Epc, Gs1Error> {
        let pk = es.primary_key().ok_or_else(|| {
            Gs1Error::not_an_identifier(
                &es.to_bracketed(),
                "contains no GS1 key that identifies an object (such as 01, 00, 414, 417)",
            )
        })?;
        let need = |ai: &str, what: &str| {
            Gs1Error::not_an_identifier(
                &es.to_bracketed(),
                format!("({}) without ({ai}) has no EPC form ({what})", pk.ai),
            )
        };
        let keyed = |secondary: Option<&str>| KeyedId {
            primary: pk.value.to_string(),
            secondary: secondary.map(str::to_string),
            gcp: Default::default(),
        };
        let serial_part = |n: usize| pk.value.len() > n;
        Ok(match pk.ai {
            "01" => {
                let gtin = Gtin::parse(pk.value)?;
                if let Some(s) = es.get("21") {
                    Epc::Sgtin(Sgtin::new(gtin, SerialNumber::parse(s)?))
                } else if let Some(t) = es.get("235") {
                    Epc::Upui(keyed(Some(t)))
                } else if let Some(l) = es.get("10") {
                    Epc::Lgtin(Lgtin::new(gtin, Lot::parse(l)?))
                } else {
                    Epc::GtinClass(gtin)
                }
            }
            "00" => Epc::Sscc(Sscc::parse(pk.value)?),
            "414" => Epc::Sgln(Sgln::new(Gln::parse(pk.value)?, es.get("254"))?),
            "417" => Epc::Pgln(Gln::parse(pk.value)?),
            "8003" if serial_part(14) => Epc::Grai(keyed(None)),
            "8003" => {
                return Err(need(
                    "a serial component",
                    "a GRAI without serial is an asset type",
                ))
            }
            "8004" => Epc::Giai(keyed(None)),
            "8017" => Epc::Gsrnp(keyed(None)),
            "8018" => Epc::Gsrn(keyed(None)),
            "253" if serial_part(13) => Epc::Gdti(keyed(None)),
            "253" => {
                return Err(need(
                    "a serial component",
                    "a GDTI without serial is a document type",
                ))
            }
            "255" if serial_part(13) => Epc::Sgcn(keyed(None)),
            "255" => {
                return Err(need(
                    "a serial component",
                    "a GCN without serial is a coupon type",
                ))
            }
            "401" => Epc::Ginc(keyed(None)),
            "402" => Epc::Gsin(keyed(None)),
            "8010" => match es.get("8011") {
                Some(s) => Epc::Cpi(keyed(Some(s))),
                None => return Err(need("8011", "a CPID without serial is a component type")),
            },
            "8006" => match es.get("21") {
                Some(s) => Epc::Itip(keyed(Some(s))),
                None => return Err(need("21", "an ITIP needs a serial number")),
            },
            other => {
                return Err(Gs1Error::not_an_identifier(
                    &es.to_bracketed(),
                    format!("primary key ({other}) has no EPC pure-identity scheme"),
                ))
            }
        })
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

    /// The GS1 Company Prefix, if its length is known from the hint or `gcp`.
    pub fn company_prefix(&self, gcp: &GcpResolver) -> Result<String, Gs1Error> {
        let n = self.gcp_len(gcp)? as usize;
        Ok(self.gcp_digits()[..n].to_string())
    }

    fn gcp_len(&self, gcp: &GcpResolver) -> Result<u8, Gs1Error> {
        if let Some(n) = self.gcp_length_hint() {
            return Ok(n);
        }
        let what = match self {
            Epc::Sgtin(_) | Epc::Lgtin(_) | Epc::GtinClass(_) | Epc::Upui(_) => "GTIN",
            Epc::Sscc(_) => "SSCC",
            Epc::Sgln(_) | Epc::Pgln(_) => "GLN",
            _ => "GS1 key",
        };
        let digits = self.gcp_digits();
        let n = gcp.gcp_length(what, digits)?;
        // The prefix must fit in the key's numeric part.
        let max = match self {
            // A non-empty reference must follow the prefix.
            Epc::Giai(_) | Epc::Ginc(_) | Epc::Cpi(_) => digits
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count()
                .min(digits.len() - 1),
            _ => 12,
        };
        // EPC URIs carry company prefixes of 6 to 12 digits (TDS).
        if !(6..=max.min(12)).contains(&(n as usize)) {
            return Err(Gs1Error::GcpUnknown {
                what,
                key: digits.to_string(),
                reason: format!(
                    "resolved GCP length {n} does not fit an EPC URI of this key (6 to {} digits)",
                    max.min(12)
                ),
            });
        }
        Ok(n)
    }

    /// The EPC pure-identity URI. GS1 keys need the GCP length: from the URI this was parsed
    /// from, else from `gcp`; an error if neither knows it.
    pub fn to_epc_uri(&self, gcp: &GcpResolver) -> Result<String, Gs1Error> {
        if let Some(u) = self.non_gs1_uri() {
            return Ok(u);
        }
        let l = self.gcp_len(gcp)? as usize;
        let mut s = String::with_capacity(64);
        let prefix = match self {
            Epc::Lgtin(_) => "urn:epc:class:lgtin:",
            Epc::GtinClass(_) => "urn:epc:idpat:sgtin:",
            _ => "",
        };
        if prefix.is_empty() {
            s.push_str("urn:epc:id:");
            s.push_str(self.scheme());
            s.push(':');
        } else {
            s.push_str(prefix);
        }
        // Indicator-first split: CP = digits[1..1+l], second field = indicator + rest w/o check.
        let ind_split = |v: &str, s: &mut String| {
            s.push_str(&v[1..1 + l]);
            s.push('.');
            s.push_str(&v[..1]);
            s.push_str(&v[1 + l..13]);
        };
        // Plain split of an N-digit key with check digit: CP . reference.
        let plain_split = |v: &str, n: usize, s: &mut String| {
            s.push_str(&v[..l]);
            s.push('.');
            s.push_str(&v[l..n - 1]);
        };
        match self {
            Epc::Sgtin(x) => {
                ind_split(x.gtin.as_str(), &mut s);
                s.push('.');
                epc_escape(x.serial.as_str(), &mut s);
            }
            Epc::Lgtin(x) => {
                ind_split(x.gtin.as_str(), &mut s);
                s.push('.');
                epc_escape(x.lot.as_str(), &mut s);
            }
            Epc::GtinClass(g) => {
                ind_split(g.as_str(), &mut s);
                s.push_str(".*");
            }
            Epc::Upui(k) => {
                ind_split(&k.primary, &mut s);
                s.push('.');
                epc_escape(k.secondary.as_deref().unwrap_or(""), &mut s);
            }
            Epc::Itip(k) => {
                ind_split(&k.primary, &mut s);
                s.push('.');
                s.push_str(&k.primary[14..16]);
                s.push('.');
                s.push_str(&k.primary[16..18]);
                s.push('.');
                epc_escape(k.secondary.as_deref().unwrap_or(""), &mut s);
            }
            Epc::Sscc(x) => {
                let v = x.as_str();
                s.push_str(&v[1..1 + l]);
                s.push('.');
                s.push_str(&v[..1]);
                s.push_str(&v[1 + l..17]);
            }
            Epc::Sgln(x) => {
                plain_split(x.gln.as_str(), 13, &mut s);
                s.push('.');
                match &x.extension {
                    Some(e) => epc_escape(e.as_str(), &mut s),
                    None => s.push('0'),
                }
            }
            Epc::Pgln(g) => plain_split(g.as_str(), 13, &mut s),
            Epc::Gsrn(k) | Epc::Gsrnp(k) => plain_split(&k.primary, 18, &mut s),
            Epc::Gsin(k) => plain_split(&k.primary, 17, &mut s),
            Epc::Gdti(k) | Epc::Sgcn(k) => {
                plain_split(&k.primary[..13], 13, &mut s);
                s.push('.');
                epc_escape(&k.primary[13..], &mut s);
            }
            Epc::Grai(k) => {
                plain_split(&k.primary[1..14], 13, &mut s);
                s.push('.');
                epc_escape(&k.primary[14..], &mut s);
            }
            Epc::Giai(k) | Epc::Ginc(k) => {
                s.push_str(&k.primary[..l]);
                s.push('.');
                epc_escape(&k.primary[l..], &mut s);
            }
            Epc::Cpi(k) => {
                s.push_str(&k.primary[..l]);
                s.push('.');
                // CPI references may hold '/' and '#', which TDS escapes.
                for b in k.primary[l..].bytes() {
                    match b {
                        b'/' => s.push_str("%2F"),
                        b'#' => s.push_str("%23"),
                        _ => s.push(b as char),
                    }
                }
                s.push('.');
                s.push_str(k.secondary.as_deref().unwrap_or(""));
            }
            Epc::Gid(_) | Epc::Usdod(_) | Epc::Adi(_) | Epc::Bic(_) | Epc::Imovn(_) => {
                unreachable!("handled above")
            }
        }
        Ok(s)
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

    /// The element string of this EPC (none for GID).
    pub fn to_element_string(&self) -> Result<ElementString, Gs1Error> {
        let key = self.key();
        if key.starts_with("urn:") {
            return Err(Gs1Error::not_an_identifier(
                &key,
                "not a GS1 key: no element string",
            ));
        }
        parse_key_string(&key)
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

/// Percent-decode an EPC URI component and refuse characters TDS never allows literally.
fn decode_component<'a>(
    uri: &str,
    what: &'static str,
    comp: &'a str,
) -> Result<std::borrow::Cow<'a, str>, Gs1Error> {
    if let Some(pos) = comp
        .bytes()
        .position(|b| !is_cset82(b) || matches!(b, b'"' | b'&' | b'/' | b'<' | b'>' | b'?'))
    {
        let off = uri.len() - comp.len() + pos;
        return Err(super::chars::bad_char(
            "EPC URI",
            uri,
            off,
            "a URI character of GS1 CSET 82 (\" & / < > ? must be %-escaped)",
        ));
    }
    pct_decode(what, comp)
}

/// As [`decode_component`], handing the decoded text to `f`; short escaped values are decoded
/// on the stack so the hot path does not allocate.
fn with_decoded<T>(
    uri: &str,
    what: &'static str,
    comp: &str,
    f: impl FnOnce(&str) -> Result<T, Gs1Error>,
) -> Result<T, Gs1Error> {
    // The common case in one pass: nothing escaped, nothing to escape.
    if comp.bytes().all(super::chars::is_epc_literal) {
        return f(comp);
    }
    let literal_ok = !comp
        .bytes()
        .any(|b| !is_cset82(b) || matches!(b, b'"' | b'&' | b'/' | b'<' | b'>' | b'?'));
    let mut buf = [0u8; 32];
    let b = comp.as_bytes();
    let (mut i, mut n) = (0, 0);
    let mut ok = literal_ok;
    while ok && i < b.len() {
        let byte = if b[i] == b'%' {
            let hi = b.get(i + 1).copied().and_then(super::chars::hex_val);
            let lo = b.get(i + 2).copied().and_then(super::chars::hex_val);
            i += 3;
            hi.zip(lo).map(|(h, l)| h << 4 | l)
        } else {
            i += 1;
            Some(b[i - 1])
        };
        match byte {
            Some(c) if c.is_ascii() && n < buf.len() => {
                buf[n] = c;
                n += 1;
            }
            _ => ok = false,
        }
    }
    match std::str::from_utf8(&buf[..n]) {
        Ok(s) if ok => f(s),
        // Anything unusual: the allocating path gives the precise error (or the value).
        _ => f(&decode_component(uri, what, comp)?),
    }
}

/// CAGE code (5 characters) or DoDAAC (6): upper-case letters and digits.
fn check_cage(uri: &str, at: usize, c: &str) -> Result<(), Gs1Error> {
    if !matches!(c.len(), 5 | 6)
        || !c
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(comp_err(
            uri,
            at,
            "CAGE code or DoDAAC",
            "5 or 6 characters A-Z 0-9".into(),
            c,
        ));
    }
    Ok(())
}

/// ISO 6346 container code: owner (3 letters), category (U, J or Z), 6 digits, check digit.
fn check_bic(uri: &str, at: usize, c: &str) -> Result<(), Gs1Error> {
    let b = c.as_bytes();
    let shape = b.len() == 11
        && b[..3].iter().all(u8::is_ascii_uppercase)
        && matches!(b[3], b'U' | b'J' | b'Z')
        && b[4..].iter().all(u8::is_ascii_digit);
    if !shape {
        return Err(comp_err(
            uri,
            at,
            "container code",
            "3 letters, U/J/Z, 6 digits and a check digit (ISO 6346)".into(),
            c,
        ));
    }
    // Letter values run from A = 10 upwards, skipping multiples of 11; weights are 2^position.
    let val = |ch: u8| -> u32 {
        if ch.is_ascii_digit() {
            return (ch - b'0') as u32;
        }
        let mut v = 10u32;
        for _ in b'A'..ch {
            v += 1;
            if v % 11 == 0 {
                v += 1;
            }
        }
        v
    };
    let sum: u32 = b[..10]
        .iter()
        .enumerate()
        .map(|(i, &ch)| val(ch) << i)
        .sum();
    let expected = (sum % 11 % 10) as u8 + b'0';
    if b[10] != expected {
        return Err(Gs1Error::CheckDigit {
            what: "container code",
            input: c.to_string(),
            found: (b[10] as char).to_string(),
            expected: (expected as char).to_string(),
        });
    }
    Ok(())
}

/// IMO vessel number: 7 digits, the last the check digit (weights 7..2).
fn check_imo(uri: &str, at: usize, c: &str) -> Result<(), Gs1Error> {
    let b = c.as_bytes();
    if b.len() != 7 || !b.iter().all(u8::is_ascii_digit) {
        return Err(comp_err(uri, at, "IMO number", "7 digits".into(), c));
    }
    let sum: u32 = b[..6]
        .iter()
        .zip((2..=7).rev())
        .map(|(&d, w)| (d - b'0') as u32 * w)
        .sum();
    let expected = (sum % 10) as u8 + b'0';
    if b[6] != expected {
        return Err(Gs1Error::CheckDigit {
            what: "IMO number",
            input: c.to_string(),
            found: (b[6] as char).to_string(),
            expected: (expected as char).to_string(),
        });
    }
    Ok(())
}

fn comp_err(uri: &str, pos: usize, component: &str, expected: String, found: &str) -> Gs1Error {
    Gs1Error::syntax(
        "EPC URI",
        uri,
        pos,
        format!("{component}: {expected}"),
        format!("{found:?}"),
    )
}

/// Check a GCP field (6-12 digits) and a numeric reference so that together they have
/// `total` digits. `at` is the byte offset of `cp` in `uri`.
fn check_cp_ref(
    uri: &str,
    at: usize,
    cp: &str,
    reference: &str,
    total: usize,
    ref_name: &str,
) -> Result<(), Gs1Error> {
    if !(6..=12).contains(&cp.len()) || !cp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(comp_err(
            uri,
            at,
            "company prefix",
            "6 to 12 digits".into(),
            cp,
        ));
    }
    let want = total.saturating_sub(cp.len());
    if reference.len() != want || !reference.bytes().all(|b| b.is_ascii_digit()) {
        return Err(comp_err(
            uri,
            at + cp.len() + 1,
            ref_name,
            format!(
                "{want} digits (company prefix of {} digits + {ref_name} = {total})",
                cp.len()
            ),
            reference,
        ));
    }
    Ok(())
}

/// GTIN fields `CP.IND+ITEM.rest` → (gtin with hint, rest).
fn gtin_fields<'a>(uri: &str, at: usize, body: &'a str) -> Result<(Gtin, &'a str), Gs1Error> {
    // Byte search for the two dots (hot path; a `splitn` iterator costs more here).
    let b = body.as_bytes();
    let d1 = b.iter().position(|&c| c == b'.');
    let d2 = d1.and_then(|i| {
        b[i + 1..]
            .iter()
            .position(|&c| c == b'.')
            .map(|j| i + 1 + j)
    });
    let cp = &body[..d1.unwrap_or(b.len())];
    let item = d1
        .map(|i| &body[i + 1..d2.unwrap_or(b.len())])
        .ok_or_else(|| {
            comp_err(
                uri,
                at + cp.len(),
                "fields",
                "CompanyPrefix.IndicatorItemReference.Value".into(),
                body,
            )
        })?;
    let rest = d2.map(|j| &body[j + 1..]).ok_or_else(|| {
        comp_err(
            uri,
            at + cp.len() + 1 + item.len(),
            "fields",
            "a third field after the item reference".into(),
            body,
        )
    })?;
    check_cp_ref(uri, at, cp, item, 13, "indicator and item reference")?;
    let mut d = [0u8; 13];
    d[0] = item.as_bytes()[0];
    d[1..1 + cp.len()].copy_from_slice(cp.as_bytes());
    d[1 + cp.len()..].copy_from_slice(&item.as_bytes()[1..]);
    // All digits, checked above.
    let gtin = Gtin::from_checked_data(&d).with_gcp_hint(Some(cp.len() as u8));
    Ok((gtin, rest))
}

/// Parse any `urn:epc:id:`, `urn:epc:class:` or `urn:epc:idpat:` URI strictly.
pub fn parse_epc_uri(uri: &str) -> Result<Epc, Gs1Error> {
    let (kind, rest) = if let Some(r) = uri.strip_prefix("urn:epc:id:") {
        ("id", r)
    } else if let Some(r) = uri.strip_prefix("urn:epc:class:") {
        ("class", r)
    } else if let Some(r) = uri.strip_prefix("urn:epc:idpat:") {
        ("idpat", r)
    } else {
        return Err(Gs1Error::syntax(
            "EPC URI",
            uri,
            0,
            "urn:epc:id:, urn:epc:class: or urn:epc:idpat:",
            format!("{:?}", uri.chars().take(14).collect::<String>()),
        ));
    };
    let (scheme, body) = rest.split_once(':').ok_or_else(|| {
        Gs1Error::syntax(
            "EPC URI",
            uri,
            uri.len() - rest.len(),
            "scheme:fields",
            format!("{rest:?}"),
        )
    })?;
    let at = uri.len() - body.len();
    let hint = |cp: &str| Some(cp.len() as u8);
    let keyed = |primary: String, secondary: Option<String>, cp: &str| KeyedId {
        primary,
        secondary,
        gcp: super::keys::GcpHint(hint(cp)),
    };
    let keyed_len = |primary: String, secondary: Option<String>, len: Option<u8>| KeyedId {
        primary,
        secondary,
        gcp: super::keys::GcpHint(len),
    };
    // Validate a value for its AI through the dictionary.
    let ai_ok = |ai: &str, v: &str| -> Result<(), Gs1Error> {
        let t = super::ai::table();
        let d = t.def(t.get(ai).unwrap_or(0));
        d.validate(v, super::dates::current_year())
    };
    let fields = |n: usize| -> Result<Vec<&str>, Gs1Error> {
        let f: Vec<&str> = body.splitn(n, '.').collect();
        if f.len() != n {
            return Err(comp_err(
                uri,
                at,
                "fields",
                format!("{n} dot-separated fields for {scheme}"),
                body,
            ));
        }
        Ok(f)
    };
    let with_check = |data: &str| -> String {
        let mut s = data.to_string();
        s.push(super::chars::mod10_check_digit(data.as_bytes()) as char);
        s
    };
    Ok(match (kind, scheme) {
        ("id", "sgtin") => Epc::Sgtin(Sgtin::from_epc_uri(uri)?),
        ("class", "lgtin") => {
            let (gtin, rest) = gtin_fields(uri, at, body)?;
            let lot = with_decoded(uri, "lot", rest, Lot::parse)?;
            Epc::Lgtin(Lgtin::new(gtin, lot))
        }
        ("idpat", "sgtin") => {
            let (gtin, rest) = gtin_fields(uri, at, body)?;
            if rest != "*" {
                return Err(comp_err(
                    uri,
                    uri.len() - rest.len(),
                    "serial pattern",
                    "\"*\" (only CP.ITEM.* patterns name one GTIN)".into(),
                    rest,
                ));
            }
            Epc::GtinClass(gtin)
        }
        ("id", "sscc") => {
            let f = fields(2)?;
            check_cp_ref(uri, at, f[0], f[1], 17, "extension and serial reference")?;
            let data = format!("{}{}{}", &f[1][..1], f[0], &f[1][1..]);
            Epc::Sscc(Sscc::from_data_digits(&data)?.with_gcp_hint(hint(f[0])))
        }
        ("id", "sgln") => {
            let f = fields(3)?;
            check_cp_ref(uri, at, f[0], f[1], 12, "location reference")?;
            let gln =
                Gln::from_data_digits(&format!("{}{}", f[0], f[1]))?.with_gcp_hint(hint(f[0]));
            let ext = decode_component(uri, "GLN extension", f[2])?;
            check_cset82("GLN extension", &ext, 20)?;
            Epc::Sgln(Sgln::new(gln, Some(&ext))?)
        }
        ("id", "pgln") => {
            let f = fields(2)?;
            check_cp_ref(uri, at, f[0], f[1], 12, "party reference")?;
            Epc::Pgln(
                Gln::from_data_digits(&format!("{}{}", f[0], f[1]))?.with_gcp_hint(hint(f[0])),
            )
        }
        ("id", "grai") => {
            let f = fields(3)?;
            check_cp_ref(uri, at, f[0], f[1], 12, "asset type")?;
            let serial = decode_component(uri, "serial", f[2])?;
            let v = format!("0{}{}", with_check(&format!("{}{}", f[0], f[1])), serial);
            ai_ok("8003", &v)?;
            if serial.is_empty() {
                return Err(comp_err(
                    uri,
                    uri.len(),
                    "serial",
                    "1 to 16 characters".into(),
                    "",
                ));
            }
            Epc::Grai(keyed(v, None, f[0]))
        }
        ("id", "gdti") | ("id", "sgcn") => {
            let f = fields(3)?;
            check_cp_ref(
                uri,
                at,
                f[0],
                f[1],
                12,
                if scheme == "gdti" {
                    "document type"
                } else {
                    "coupon reference"
                },
            )?;
            let serial = decode_component(uri, "serial", f[2])?;
            if serial.is_empty() {
                return Err(comp_err(
                    uri,
                    uri.len(),
                    "serial",
                    "a non-empty serial component".into(),
                    "",
                ));
            }
            let v = format!("{}{}", with_check(&format!("{}{}", f[0], f[1])), serial);
            if scheme == "gdti" {
                ai_ok("253", &v)?;
                Epc::Gdti(keyed(v, None, f[0]))
            } else {
                ai_ok("255", &v)?;
                Epc::Sgcn(keyed(v, None, f[0]))
            }
        }
        ("id", "gsrn") | ("id", "gsrnp") => {
            let f = fields(2)?;
            check_cp_ref(uri, at, f[0], f[1], 17, "service reference")?;
            let v = with_check(&format!("{}{}", f[0], f[1]));
            if scheme == "gsrn" {
                Epc::Gsrn(keyed(v, None, f[0]))
            } else {
                Epc::Gsrnp(keyed(v, None, f[0]))
            }
        }
        ("id", "gsin") => {
            let f = fields(2)?;
            check_cp_ref(uri, at, f[0], f[1], 16, "shipper reference")?;
            Epc::Gsin(keyed(with_check(&format!("{}{}", f[0], f[1])), None, f[0]))
        }
        ("id", "giai") | ("id", "ginc") => {
            let f = fields(2)?;
            check_cp_ref(uri, at, f[0], "", 0, "")?;
            let r = decode_component(uri, "reference", f[1])?;
            let v = format!("{}{}", f[0], r);
            if r.is_empty() {
                return Err(comp_err(
                    uri,
                    uri.len(),
                    "reference",
                    "a non-empty reference".into(),
                    "",
                ));
            }
            if scheme == "giai" {
                ai_ok("8004", &v)?;
                Epc::Giai(keyed(v, None, f[0]))
            } else {
                ai_ok("401", &v)?;
                Epc::Ginc(keyed(v, None, f[0]))
            }
        }
        ("id", "cpi") => {
            let f = fields(3)?;
            check_cp_ref(uri, at, f[0], "", 0, "")?;
            let r = pct_decode("component/part reference", f[1])?;
            if let Some(p) = r.bytes().position(|b| !is_cset39(b)) {
                return Err(comp_err(
                    uri,
                    at + f[0].len() + 1 + p,
                    "component/part reference",
                    "GS1 CSET 39 (0-9 A-Z # - /)".into(),
                    f[1],
                ));
            }
            let v = format!("{}{}", f[0], r);
            ai_ok("8010", &v)?;
            ai_ok("8011", f[2])?;
            Epc::Cpi(keyed(v, Some(f[2].to_string()), f[0]))
        }
        ("id", "itip") => {
            let f = fields(5)?;
            let (gtin, _) = gtin_fields(uri, at, &format!("{}.{}.x", f[0], f[1]))?;
            let piece_total = format!("{}{}", f[2], f[3]);
            let serial = decode_component(uri, "serial", f[4])?;
            let v = format!("{}{}", gtin, piece_total);
            ai_ok("8006", &v)?;
            SerialNumber::parse(&serial)?;
            Epc::Itip(keyed(v, Some(serial.into_owned()), f[0]))
        }
        ("id", "upui") => {
            let (gtin, rest) = gtin_fields(uri, at, body)?;
            let tpx = decode_component(uri, "third-party extension", rest)?;
            ai_ok("235", &tpx)?;
            Epc::Upui(keyed_len(
                gtin.to_string(),
                Some(tpx.into_owned()),
                gtin.gcp_length_hint(),
            ))
        }
        ("id", "usdod") => {
            let f = fields(2)?;
            check_cage(uri, at, f[0])?;
            let ok = !f[1].is_empty()
                && f[1].bytes().all(|b| b.is_ascii_digit())
                && (f[1] == "0" || !f[1].starts_with('0'))
                && f[1].parse::<u64>().is_ok_and(|v| v < 1 << 36);
            if !ok {
                return Err(comp_err(
                    uri,
                    at + f[0].len() + 1,
                    "serial",
                    "a decimal number below 2^36 without leading zeros".into(),
                    f[1],
                ));
            }
            Epc::Usdod(NonGs1Id {
                body: body.to_string(),
            })
        }
        ("id", "adi") => {
            let f = fields(3)?;
            check_cage(uri, at, f[0])?;
            let part = pct_decode("part number", f[1])?;
            let serial = pct_decode("serial", f[2])?;
            let adi_char =
                |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'/';
            if part.len() > 32 || !part.bytes().all(adi_char) {
                return Err(comp_err(
                    uri,
                    at + f[0].len() + 1,
                    "original part number",
                    "0 to 32 characters A-Z 0-9 - /".into(),
                    f[1],
                ));
            }
            let s_body = serial.strip_prefix('#').unwrap_or(&serial);
            if serial.is_empty()
                || serial.len() > 30
                || s_body.is_empty()
                || !s_body.bytes().all(adi_char)
            {
                return Err(comp_err(
                    uri,
                    uri.len() - f[2].len(),
                    "serial",
                    "1 to 30 characters A-Z 0-9 - /, optionally after #".into(),
                    f[2],
                ));
            }
            Epc::Adi(NonGs1Id {
                body: body.to_string(),
            })
        }
        ("id", "bic") => {
            check_bic(uri, at, body)?;
            Epc::Bic(NonGs1Id {
                body: body.to_string(),
            })
        }
        ("id", "imovn") => {
            check_imo(uri, at, body)?;
            Epc::Imovn(NonGs1Id {
                body: body.to_string(),
            })
        }
        ("id", "gid") => {
            let f = fields(3)?;
            let num = |i: usize, name: &str, max: u64| -> Result<u64, Gs1Error> {
                let s = f[i];
                let ok = !s.is_empty()
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && (s == "0" || !s.starts_with('0'));
                let v = if ok {
                    s.parse::<u64>().ok().filter(|v| *v <= max)
                } else {
                    None
                };
                v.ok_or_else(|| {
                    comp_err(
                        uri,
                        at,
                        name,
                        format!("a decimal number 0 to {max} without leading zeros"),
                        s,
                    )
                })
            };
            Epc::Gid(Gid {
                manager: num(0, "general manager number", 268_435_455)?,
                class: num(1, "object class", 16_777_215)?,
                serial: num(2, "serial number", 68_719_476_735)?,
            })
        }
        _ => {
            return Err(Gs1Error::EpcScheme {
                input: super::error::shown(uri),
                scheme: format!("{kind}:{scheme}"),
                expected: SCHEMES,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(e: &Epc) -> String {
        e.to_epc_uri(&GcpResolver::new()).unwrap()
    }

    #[test]
    fn sgtin_uri_from_the_standards_sheet() {
        let e = parse_epc_uri("urn:epc:id:sgtin:0312345.067890.ABC").unwrap();
        let Epc::Sgtin(s) = &e else { panic!("{e:?}") };
        assert_eq!(s.gtin().as_str(), "00312345678906");
        assert_eq!(s.serial().as_str(), "ABC");
        assert_eq!(e.gcp_length_hint(), Some(7));
        assert_eq!(e.key(), "010031234567890621ABC");
        assert_eq!(
            e.to_canonical_digital_link(),
            "https://id.gs1.org/01/00312345678906/21/ABC"
        );
        assert_eq!(uri(&e), "urn:epc:id:sgtin:0312345.067890.ABC");
        let case = parse_epc_uri("urn:epc:id:sgtin:0312345.567890.1").unwrap();
        let Epc::Sgtin(s) = case else { panic!() };
        assert_eq!(s.gtin().as_str(), "50312345678901");
    }

    #[test]
    fn sgtin_serial_escapes_round_trip() {
        let e = parse_epc_uri("urn:epc:id:sgtin:0312345.067890.A%2FB%25%22").unwrap();
        let Epc::Sgtin(s) = &e else { panic!() };
        assert_eq!(s.serial().as_str(), "A/B%\"");
        assert_eq!(uri(&e), "urn:epc:id:sgtin:0312345.067890.A%2FB%25%22");
        assert_eq!(
            e.to_canonical_digital_link(),
            "https://id.gs1.org/01/00312345678906/21/A%2FB%25%22"
        );
        let err = parse_epc_uri("urn:epc:id:sgtin:0312345.067890.A/B").unwrap_err();
        assert_eq!(err.code(), "gs1.charset");
        assert!(err.to_string().contains("position 33"), "{err}");
    }

    #[test]
    fn escaped_serials_are_decoded_strictly() {
        assert_eq!(
            parse_epc_uri("urn:epc:id:sgtin:0312345.067890.%+1")
                .unwrap_err()
                .code(),
            "gs1.syntax"
        );
        assert_eq!(
            parse_epc_uri("urn:epc:id:sgtin:0312345.067890.%2")
                .unwrap_err()
                .code(),
            "gs1.syntax"
        );
        // 20 decoded characters are fine, 21 are not, however they were escaped.
        let ok = format!("urn:epc:id:sgtin:0312345.067890.{}", "%2F".repeat(20));
        assert!(parse_epc_uri(&ok).is_ok());
        let long = format!("urn:epc:id:sgtin:0312345.067890.{}", "%2F".repeat(21));
        assert_eq!(parse_epc_uri(&long).unwrap_err().code(), "gs1.length");
        // A space is not CSET 82, escaped or not.
        assert_eq!(
            parse_epc_uri("urn:epc:id:sgtin:0312345.067890.A%20B")
                .unwrap_err()
                .code(),
            "gs1.charset"
        );
    }

    #[test]
    fn gcp_lengths_outside_6_to_12_cannot_make_an_epc_uri() {
        let e = Epc::from_key("010401234500000921ABC").unwrap();
        let mut r = GcpResolver::new();
        r.load_table(
            r#"<GCPPrefixFormatList><entry prefix="0401" gcpLength="5"/></GCPPrefixFormatList>"#,
        )
        .unwrap();
        assert_eq!(e.to_epc_uri(&r).unwrap_err().code(), "gs1.gcp_unknown");
    }

    #[test]
    fn sgtin_uri_component_errors() {
        let e = parse_epc_uri("urn:epc:id:sgtin:031234.067890.1").unwrap_err();
        assert!(e.to_string().contains("7 digits"), "{e}");
        assert_eq!(
            parse_epc_uri("urn:epc:id:sgtin:03123.0678901.1")
                .unwrap_err()
                .code(),
            "gs1.syntax"
        );
        assert_eq!(
            parse_epc_uri("urn:epc:id:sgtin:0312345.067890")
                .unwrap_err()
                .code(),
            "gs1.syntax"
        );
        assert_eq!(
            parse_epc_uri("urn:epc:id:sgtin:0312345.067890.")
                .unwrap_err()
                .code(),
            "gs1.length"
        );
        assert_eq!(
            parse_epc_uri("urn:epc:id:sgtin:0312345.067890.123456789012345678901")
                .unwrap_err()
                .code(),
            "gs1.length"
        );
        assert_eq!(
            parse_epc_uri("urn:epc:id:foo:1.2").unwrap_err().code(),
            "gs1.epc_scheme"
        );
    }

    #[test]
    fn sscc_sgln_pgln_from_the_standards_sheet() {
        let e = parse_epc_uri("urn:epc:id:sscc:0312345.1000000001").unwrap();
        assert_eq!(e.key(), "00103123450000000018");
        assert_eq!(
            e.to_canonical_digital_link(),
            "https://id.gs1.org/00/103123450000000018"
        );
        assert_eq!(uri(&e), "urn:epc:id:sscc:0312345.1000000001");
        let e = parse_epc_uri("urn:epc:id:sgln:0312345.00001.0").unwrap();
        assert_eq!(e.key(), "4140312345000011");
        assert_eq!(
            e.to_canonical_digital_link(),
            "https://id.gs1.org/414/0312345000011"
        );
        assert_eq!(uri(&e), "urn:epc:id:sgln:0312345.00001.0");
        let e = parse_epc_uri("urn:epc:id:sgln:4012345.00011.987").unwrap();
        assert_eq!(
            e.to_canonical_digital_link(),
            "https://id.gs1.org/414/4012345000115/254/987"
        );
        assert_eq!(e.key(), "4144012345000115254987");
        let e = parse_epc_uri("urn:epc:id:pgln:0312345.00001").unwrap();
        assert_eq!(e.key(), "4170312345000011");
        assert_eq!(uri(&e), "urn:epc:id:pgln:0312345.00001");
    }

    #[test]
    fn hash_worked_example_b_identifiers() {
        // standards.md §3.4 worked example B.
        let e = parse_epc_uri("urn:epc:id:sgtin:0361414.012345.SN1002").unwrap();
        assert_eq!(
            e.to_canonical_digital_link(),
            "https://id.gs1.org/01/00361414123458/21/SN1002"
        );
        let e = parse_epc_uri("urn:epc:id:sgln:0361414.00001.0").unwrap();
        assert_eq!(
            e.to_canonical_digital_link(),
            "https://id.gs1.org/414/0361414000018"
        );
    }

    #[test]
    fn lgtin_and_gtin_class() {
        let e = parse_epc_uri("urn:epc:class:lgtin:0312345.067890.LOT%2F1").unwrap();
        assert_eq!(e.key(), "010031234567890610LOT/1");
        assert_eq!(
            e.to_canonical_digital_link(),
            "https://id.gs1.org/01/00312345678906/10/LOT%2F1"
        );
        assert_eq!(uri(&e), "urn:epc:class:lgtin:0312345.067890.LOT%2F1");
        let e = parse_epc_uri("urn:epc:idpat:sgtin:0312345.067890.*").unwrap();
        assert_eq!(e, Epc::GtinClass(Gtin::parse("00312345678906").unwrap()));
        assert_eq!(
            e.to_canonical_digital_link(),
            "https://id.gs1.org/01/00312345678906"
        );
        assert_eq!(uri(&e), "urn:epc:idpat:sgtin:0312345.067890.*");
        assert!(parse_epc_uri("urn:epc:idpat:sgtin:0312345.*.*").is_err());
    }

    #[test]
    fn other_tds_schemes_round_trip() {
        for u in [
            "urn:epc:id:grai:0312345.00001.ABC%2F1",
            "urn:epc:id:giai:0312345.A%2FB-1",
            "urn:epc:id:gsrn:0312345.0000000001",
            "urn:epc:id:gsrnp:0312345.0000000001",
            "urn:epc:id:gdti:0312345.00001.DOC1",
            "urn:epc:id:cpi:0312345.AB%2FC%23-1.42",
            "urn:epc:id:sgcn:0312345.00001.123",
            "urn:epc:id:ginc:0312345.CONS-1",
            "urn:epc:id:gsin:0312345.000000001",
            "urn:epc:id:itip:0312345.067890.01.02.SER1",
            "urn:epc:id:upui:0312345.067890.TPX1",
            "urn:epc:id:gid:95100000.12345.400",
            "urn:epc:id:usdod:2S194.12345678901",
            "urn:epc:id:adi:2S194.12-34%2F56.%23A1-B",
            "urn:epc:id:bic:CSQU3054383",
            "urn:epc:id:imovn:9176187",
        ] {
            let e = parse_epc_uri(u).unwrap_or_else(|err| panic!("{u}: {err}"));
            assert_eq!(uri(&e), u);
            let k = Epc::from_key(&e.key())
                .unwrap_or_else(|err| panic!("{u} key {:?}: {err}", e.key()));
            assert_eq!(k, e, "{u}");
        }
    }

    #[test]
    fn other_scheme_errors() {
        assert!(parse_epc_uri("urn:epc:id:grai:0312345.00001.").is_err());
        assert!(parse_epc_uri("urn:epc:id:cpi:0312345.ab.1").is_err());
        assert!(parse_epc_uri("urn:epc:id:itip:0312345.067890.03.02.S").is_err());
        assert!(parse_epc_uri("urn:epc:id:gid:01.2.3").is_err());
        assert!(parse_epc_uri("urn:epc:id:gid:268435456.2.3").is_err());
        assert_eq!(
            parse_epc_uri("urn:epc:id:bic:CSQU3054384")
                .unwrap_err()
                .code(),
            "gs1.check_digit"
        );
        assert_eq!(
            parse_epc_uri("urn:epc:id:imovn:9176188")
                .unwrap_err()
                .code(),
            "gs1.check_digit"
        );
        assert!(parse_epc_uri("urn:epc:id:usdod:2s194.1").is_err());
        assert!(parse_epc_uri("urn:epc:id:usdod:2S194.01").is_err());
        assert!(parse_epc_uri("urn:epc:id:adi:2S194..").is_err());
    }

    #[test]
    fn epc_uri_needs_a_gcp_length_when_not_parsed_from_one() {
        let e = Epc::from_key("010031234567890621ABC").unwrap();
        assert_eq!(e.gcp_length_hint(), None);
        let mut r = GcpResolver::new();
        r.set_ndc_rule(false);
        let err = e.to_epc_uri(&r).unwrap_err();
        assert_eq!(err.code(), "gs1.gcp_unknown");
        r.learn("0312345").unwrap();
        assert_eq!(
            e.to_epc_uri(&r).unwrap(),
            "urn:epc:id:sgtin:0312345.067890.ABC"
        );
    }
}
