//! The GCP-independent identifier key (docs/ARCHITECTURE.md, "Identifier keys") and the element
//! strings of an EPC. Keys are built ([`Epc::key`], [`sgtin_key`]), parsed back
//! ([`Epc::from_key`]) and read by shape ([`KeyKind::of`], [`sgtin_key_parts`], [`gln_of_key`])
//! here and nowhere else: `01<gtin14>21<serial>`, `00<sscc18>`, `414<gln13>[254<ext>]`,
//! `01<gtin14>10<lot>`, …; a non-GS1 EPC's key is its URN.

use super::super::element_string::{parse_key_string, ElementString};
use super::super::error::Gs1Error;
use super::super::keys::{Gln, Gtin, Lot, SerialNumber, Sscc};
use super::{parse_epc_uri, Epc, KeyedId, Lgtin, Sgln, Sgtin};

/// The key of a GTIN and a serial number, `01<gtin14>21<serial>`: what [`Epc::key`] gives for
/// an SGTIN. One allocation of the exact size.
pub fn sgtin_key(gtin: &Gtin, serial: &SerialNumber) -> String {
    let (g, s) = (gtin.as_str(), serial.as_str());
    let mut key = String::with_capacity(4 + g.len() + s.len());
    key.push_str("01");
    key.push_str(g);
    key.push_str("21");
    key.push_str(s);
    key
}

/// What a key names, as far as per-serial state cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `01<gtin14>21<serial>`
    Sgtin,
    /// `00<sscc18>`
    Sscc,
    /// Any other key (SGLN, LGTIN, other schemes, URIs kept as given).
    Other,
}

impl KeyKind {
    /// The kind of a key, read from its shape alone (no parse, no check digit): for a key
    /// made by [`Epc::key`] that is its scheme.
    pub fn of(key: &str) -> KeyKind {
        let b = key.as_bytes();
        if b.len() == 20 && b.starts_with(b"00") && b.iter().all(u8::is_ascii_digit) {
            KeyKind::Sscc
        } else if b.len() > 18
            && b.starts_with(b"01")
            && b[2..16].iter().all(u8::is_ascii_digit)
            && &b[16..18] == b"21"
        {
            KeyKind::Sgtin
        } else {
            KeyKind::Other
        }
    }
}

/// The GTIN and the serial number of an SGTIN key (`None` for any other kind).
pub fn sgtin_key_parts(key: &str) -> Option<(&str, &str)> {
    // Bytes 0..18 are ASCII digits when the kind is SGTIN, so these are character boundaries.
    (KeyKind::of(key) == KeyKind::Sgtin).then(|| (&key[2..16], &key[18..]))
}

/// The GLN of an SGLN key (`414<gln13>[254<ext>]`): up to 13 characters after `414`, `None`
/// for a key that does not start with `414`. Only the shape is read: in a key made by
/// [`Epc::key`] these are the GLN's digits.
pub fn gln_of_key(key: &str) -> Option<&str> {
    key.strip_prefix("414")
        .map(|rest| rest.get(..13).unwrap_or(rest))
}

impl Epc {
    /// Visit the (AI, value) pairs in canonical order without allocating.
    pub(super) fn for_each_element(&self, mut f: impl FnMut(&'static str, &str)) {
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
        if let Epc::Sgtin(x) = self {
            // The capture's hot path, and the one place an SGTIN key is spelled.
            return sgtin_key(&x.gtin, &x.serial);
        }
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
        // Most keys are SGTINs made by `sgtin_key` (`01` GTIN `21` serial, nothing after):
        // read those directly; anything else, or any part refused, takes the full parse below,
        // which gives the same answer and the error.
        if let Some((g, s)) = sgtin_key_parts(key) {
            if let (Ok(gtin), Ok(serial)) = (Gtin::parse(g), SerialNumber::parse(s)) {
                return Ok(Epc::Sgtin(Sgtin::new(gtin, serial)));
            }
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
        Ok(match pk.ai {
            "01" => {
                let gtin = Gtin::parse(pk.value)?;
                if let Some(s) = es.get("21") {
                    Epc::Sgtin(Sgtin::new(gtin, SerialNumber::parse(s)?))
                } else if let Some(t) = es.get("235") {
                    Epc::Upui(keyed(pk.value, Some(t)))
                } else if let Some(l) = es.get("10") {
                    Epc::Lgtin(Lgtin::new(gtin, Lot::parse(l)?))
                } else {
                    Epc::GtinClass(gtin)
                }
            }
            "00" => Epc::Sscc(Sscc::parse(pk.value)?),
            "414" => Epc::Sgln(Sgln::new(Gln::parse(pk.value)?, es.get("254"))?),
            "417" => Epc::Pgln(Gln::parse(pk.value)?),
            ai => return keyed_epc(es, ai, pk.value),
        })
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

/// A [`KeyedId`] as an element string gives it (no GCP length known).
fn keyed(primary: &str, secondary: Option<&str>) -> KeyedId {
    KeyedId {
        primary: primary.to_string(),
        secondary: secondary.map(str::to_string),
        gcp: Default::default(),
    }
}

/// The EPC of an element string whose primary key `ai` (value `value`) is one of the less
/// common schemes, held as a [`KeyedId`].
fn keyed_epc(es: &ElementString, ai: &str, value: &str) -> Result<Epc, Gs1Error> {
    let need = |second: &str, what: &str| {
        Gs1Error::not_an_identifier(
            &es.to_bracketed(),
            format!("({ai}) without ({second}) has no EPC form ({what})"),
        )
    };
    let id = |secondary: Option<&str>| keyed(value, secondary);
    let serial_part = |n: usize| value.len() > n;
    Ok(match ai {
        "8003" if serial_part(14) => Epc::Grai(id(None)),
        "8003" => {
            return Err(need(
                "a serial component",
                "a GRAI without serial is an asset type",
            ))
        }
        "8004" => Epc::Giai(id(None)),
        "8017" => Epc::Gsrnp(id(None)),
        "8018" => Epc::Gsrn(id(None)),
        "253" if serial_part(13) => Epc::Gdti(id(None)),
        "253" => {
            return Err(need(
                "a serial component",
                "a GDTI without serial is a document type",
            ))
        }
        "255" if serial_part(13) => Epc::Sgcn(id(None)),
        "255" => {
            return Err(need(
                "a serial component",
                "a GCN without serial is a coupon type",
            ))
        }
        "401" => Epc::Ginc(id(None)),
        "402" => Epc::Gsin(id(None)),
        "8010" => match es.get("8011") {
            Some(s) => Epc::Cpi(id(Some(s))),
            None => return Err(need("8011", "a CPID without serial is a component type")),
        },
        "8006" => match es.get("21") {
            Some(s) => Epc::Itip(id(Some(s))),
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
