//! The numeric GS1 keys (GTIN, GLN, SSCC) and the CSET 82 attributes (serial number, lot).

use std::fmt;
use std::str::FromStr;

use super::chars::{
    bad_char, is_cset82, mod10_check_digit, require_digits, require_mod10, InlineStr,
};
use super::error::Gs1Error;

/// GCP length learned from an EPC URI. Not part of an identifier's identity: equality,
/// ordering and hashing ignore it, so the same key parsed from a URN or a Digital Link is equal.
#[derive(Clone, Copy, Default, Debug)]
pub struct GcpHint(pub Option<u8>);

impl PartialEq for GcpHint {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for GcpHint {}
impl std::hash::Hash for GcpHint {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}
impl PartialOrd for GcpHint {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for GcpHint {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

macro_rules! digits_key {
    ($(#[$m:meta])* $name:ident, $len:expr, $what:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; $len], GcpHint);

        impl $name {
            /// GCP length seen in the EPC URI this was parsed from, if any.
            pub fn gcp_length_hint(&self) -> Option<u8> {
                self.1 .0
            }

            pub(crate) fn with_gcp_hint(mut self, len: Option<u8>) -> Self {
                self.1 = GcpHint(len);
                self
            }

            /// The digits, check digit included.
            #[inline]
            pub fn as_str(&self) -> &str {
                // Only ASCII digits are ever stored.
                std::str::from_utf8(&self.0).unwrap_or("")
            }

            /// Build from the data digits (without check digit), computing the check digit.
            pub fn from_data_digits(data: &str) -> Result<Self, Gs1Error> {
                if data.len() != $len - 1 {
                    return Err(Gs1Error::length(
                        concat!($what, " data digits"),
                        data,
                        &($len - 1usize).to_string(),
                        data.chars().count(),
                    ));
                }
                require_digits($what, data)?;
                let mut d = [0u8; $len];
                d[..$len - 1].copy_from_slice(data.as_bytes());
                d[$len - 1] = mod10_check_digit(&d[..$len - 1]);
                Ok($name(d, GcpHint(None)))
            }

            /// The check digit as a number.
            pub fn check_digit(&self) -> u8 {
                self.0[$len - 1] - b'0'
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Gs1Error;
            fn from_str(s: &str) -> Result<Self, Gs1Error> {
                $name::parse(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Gs1Error;
            fn try_from(s: &str) -> Result<Self, Gs1Error> {
                $name::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

digits_key!(
    /// Global Trade Item Number, always held as GTIN-14 (GTIN-8/12/13 are left-padded).
    Gtin,
    14,
    "GTIN"
);
digits_key!(
    /// Global Location Number (13 digits with check digit).
    Gln,
    13,
    "GLN"
);
digits_key!(
    /// Serial Shipping Container Code (18 digits: extension digit, GCP + serial reference, check digit).
    Sscc,
    18,
    "SSCC"
);

fn parse_fixed<const N: usize>(what: &'static str, s: &str) -> Result<[u8; N], Gs1Error> {
    if s.len() != N {
        return Err(Gs1Error::length(what, s, &N.to_string(), s.chars().count()));
    }
    require_digits(what, s)?;
    require_mod10(what, s)?;
    let mut d = [0u8; N];
    d.copy_from_slice(s.as_bytes());
    Ok(d)
}

impl Gtin {
    /// Parse a GTIN-8, -12, -13 or -14 (digits only) and normalise it to 14 digits.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        let n = s.len();
        if !matches!(n, 8 | 12 | 13 | 14) {
            return Err(Gs1Error::length(
                "GTIN",
                s,
                "8, 12, 13 or 14",
                s.chars().count(),
            ));
        }
        require_digits("GTIN", s)?;
        let mut d = [b'0'; 14];
        d[14 - n..].copy_from_slice(s.as_bytes());
        let expected = mod10_check_digit(&d[..13]);
        if d[13] != expected {
            return Err(Gs1Error::CheckDigit {
                what: "GTIN",
                input: s.to_string(),
                found: (d[13] as char).to_string(),
                expected: (expected as char).to_string(),
            });
        }
        Ok(Gtin(d, GcpHint(None)))
    }

    /// From a value the AI dictionary already validated as N14 with check digit; falls back
    /// to full parsing if it is not 14 bytes.
    #[inline]
    pub(crate) fn from_validated(s: &str) -> Option<Self> {
        <[u8; 14]>::try_from(s.as_bytes())
            .ok()
            .map(|d| Gtin(d, GcpHint(None)))
    }

    /// From 13 data digits already known to be ASCII digits.
    pub(crate) fn from_checked_data(data: &[u8; 13]) -> Self {
        let mut d = [0u8; 14];
        d[..13].copy_from_slice(data);
        d[13] = mod10_check_digit(data);
        Gtin(d, GcpHint(None))
    }

    /// Indicator digit (first of 14): 0 for GTIN-8/12/13, 1-8 packaging levels, 9 variable measure.
    pub fn indicator(&self) -> u8 {
        self.0[0] - b'0'
    }
}

impl Gln {
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        parse_fixed::<13>("GLN", s).map(|d| Gln(d, GcpHint(None)))
    }
}

impl Sscc {
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        parse_fixed::<18>("SSCC", s).map(|d| Sscc(d, GcpHint(None)))
    }

    pub fn extension_digit(&self) -> u8 {
        self.0[0] - b'0'
    }
}

/// Validate a CSET 82 value of 1..=max characters.
pub(crate) fn check_cset82(what: &'static str, s: &str, max: usize) -> Result<(), Gs1Error> {
    if s.is_empty() || s.len() > max {
        if let Some(pos) = s.bytes().position(|b| !is_cset82(b)) {
            return Err(bad_char(what, s, pos, "a GS1 CSET 82 character"));
        }
        return Err(Gs1Error::length(
            what,
            s,
            &format!("1 to {max}"),
            s.chars().count(),
        ));
    }
    match s.bytes().position(|b| !is_cset82(b)) {
        None => Ok(()),
        Some(pos) => Err(bad_char(what, s, pos, "a GS1 CSET 82 character")),
    }
}

macro_rules! cset82_text {
    ($(#[$m:meta])* $name:ident, $max:expr, $what:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(InlineStr<$max>);

        impl $name {
            /// Validate: 1 to
            #[doc = stringify!($max)]
            /// characters of GS1 CSET 82 (already percent-decoded).
            #[inline]
            pub fn parse(s: &str) -> Result<Self, Gs1Error> {
                check_cset82($what, s, $max)?;
                // CSET 82 is ASCII and the length was checked, so this cannot fail.
                InlineStr::new(s)
                    .map($name)
                    .ok_or_else(|| Gs1Error::length($what, s, concat!("1 to ", $max), s.len()))
            }

            #[inline]
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// From a value the AI dictionary already validated (CSET 82, 1 to 20).
            #[inline]
            pub(crate) fn from_validated(s: &str) -> Option<Self> {
                InlineStr::new(s).filter(|_| !s.is_empty()).map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Gs1Error;
            fn from_str(s: &str) -> Result<Self, Gs1Error> {
                $name::parse(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Gs1Error;
            fn try_from(s: &str) -> Result<Self, Gs1Error> {
                $name::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

cset82_text!(
    /// Serial number (AI 21): 1-20 characters of GS1 CSET 82.
    SerialNumber,
    20,
    "serial number"
);
cset82_text!(
    /// Batch or lot number (AI 10): 1-20 characters of GS1 CSET 82.
    Lot,
    20,
    "lot"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtin_lengths_normalise_to_14() {
        assert_eq!(
            Gtin::parse("00312345678906").unwrap().as_str(),
            "00312345678906"
        );
        assert_eq!(
            Gtin::parse("0312345678906").unwrap().as_str(),
            "00312345678906"
        );
        assert_eq!(
            Gtin::parse("312345678906").unwrap().as_str(),
            "00312345678906"
        );
        assert_eq!(Gtin::parse("12345670").unwrap().as_str(), "00000012345670");
        assert_eq!(Gtin::parse("50312345678901").unwrap().indicator(), 5);
    }

    #[test]
    fn gtin_check_digit_error_names_found_and_expected() {
        let e = Gtin::parse("00312345678907").unwrap_err();
        assert_eq!(e.code(), "gs1.check_digit");
        assert_eq!(
            e.to_string(),
            "GTIN 00312345678907: check digit is 7, expected 6"
        );
    }

    #[test]
    fn gtin_rejects_bad_lengths_and_letters() {
        let e = Gtin::parse("123456789").unwrap_err();
        assert_eq!(e.code(), "gs1.length");
        assert!(e.to_string().contains("expected 8, 12, 13 or 14"), "{e}");
        let e = Gtin::parse("0031234567890A").unwrap_err();
        assert_eq!(e.code(), "gs1.charset");
        assert!(e.to_string().contains("position 13"), "{e}");
    }

    #[test]
    fn gln_and_sscc_validate_their_check_digits() {
        assert!(Gln::parse("0312345000011").is_ok());
        assert_eq!(
            Gln::parse("0312345000012").unwrap_err().code(),
            "gs1.check_digit"
        );
        let s = Sscc::parse("103123450000000018").unwrap();
        assert_eq!(s.extension_digit(), 1);
        assert_eq!(
            Sscc::parse("103123450000000019").unwrap_err().code(),
            "gs1.check_digit"
        );
        assert_eq!(
            Sscc::from_data_digits("10312345000000001")
                .unwrap()
                .as_str(),
            "103123450000000018"
        );
    }

    #[test]
    fn serial_accepts_cset82_up_to_20_and_rejects_others() {
        assert_eq!(
            SerialNumber::parse("ABC/1%\"'").unwrap().as_str(),
            "ABC/1%\"'"
        );
        assert_eq!(SerialNumber::parse("").unwrap_err().code(), "gs1.length");
        assert_eq!(
            SerialNumber::parse(&"9".repeat(21)).unwrap_err().code(),
            "gs1.length"
        );
        let e = SerialNumber::parse("AB C").unwrap_err();
        assert_eq!(e.code(), "gs1.charset");
        assert!(e.to_string().contains("position 2"), "{e}");
        assert_eq!(
            SerialNumber::parse("AB#").unwrap_err().code(),
            "gs1.charset"
        );
        assert_eq!(Lot::parse("é").unwrap_err().code(), "gs1.charset");
    }
}
