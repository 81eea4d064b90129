//! US National Drug Code (NDC) and its mapping to GTIN (GS1 US pharma practice).
//!
//! - NDC-10 is labeler-product-package in 4-4-2, 5-3-2 or 5-4-1 segments.
//! - NDC-11 (billing, 5-4-2) pads the short segment with a leading zero; going back is only
//!   possible when exactly one segment starts with a 0 — otherwise the result is ambiguous
//!   and we say so (the FDA NDC directory is the only tie-breaker).
//! - GTIN-14 = indicator + `03` + NDC-10 digits + check digit; the segmentation is not in the
//!   GTIN, so an NDC read back from a GTIN has no known segmentation.

use std::fmt;
use std::str::FromStr;

use super::chars::require_digits;
use super::error::Gs1Error;
use super::keys::Gtin;

/// Segment layout of an NDC-10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum NdcFormat {
    #[serde(rename = "4-4-2")]
    F442,
    #[serde(rename = "5-3-2")]
    F532,
    #[serde(rename = "5-4-1")]
    F541,
}

impl NdcFormat {
    fn lens(self) -> (usize, usize, usize) {
        match self {
            NdcFormat::F442 => (4, 4, 2),
            NdcFormat::F532 => (5, 3, 2),
            NdcFormat::F541 => (5, 4, 1),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            NdcFormat::F442 => "4-4-2",
            NdcFormat::F532 => "5-3-2",
            NdcFormat::F541 => "5-4-1",
        }
    }
}

/// A 10-digit NDC with its segmentation when known.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ndc {
    digits: [u8; 10],
    format: Option<NdcFormat>,
}

fn ndc_err(input: &str, rule: impl Into<String>) -> Gs1Error {
    Gs1Error::Ndc {
        input: super::error::shown(input),
        rule: rule.into(),
    }
}

/// Labeler length for an NDC-10 without known segmentation: FDA 5-digit labeler codes are
/// 10000 and above (so NDC-11 padding of 4-digit codes stays unambiguous), hence an NDC-10
/// starting with 0 has a 4-digit labeler. Four-digit labeler codes above 0999 would be
/// misread; configure such products (`GcpResolver::learn_ndc`) to override.
pub(crate) fn labeler_len_rule(ndc10: &str) -> u8 {
    if ndc10.starts_with('0') {
        4
    } else {
        5
    }
}

impl Ndc {
    /// Parse `4-4-2`, `5-3-2`, `5-4-1` (hyphenated NDC-10), `5-4-2` (hyphenated NDC-11),
    /// 10 plain digits (segmentation unknown) or 11 plain digits (NDC-11).
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        if s.contains('-') {
            let segs: Vec<&str> = s.split('-').collect();
            if segs.len() != 3 {
                return Err(ndc_err(
                    s,
                    format!("expected 3 hyphen-separated segments, found {}", segs.len()),
                ));
            }
            for seg in &segs {
                require_digits("NDC", seg)?;
            }
            let lens = (segs[0].len(), segs[1].len(), segs[2].len());
            let format = match lens {
                (4, 4, 2) => NdcFormat::F442,
                (5, 3, 2) => NdcFormat::F532,
                (5, 4, 1) => NdcFormat::F541,
                (5, 4, 2) => return Self::from_ndc11(&segs.concat()),
                (a, b, c) => {
                    return Err(ndc_err(
                        s,
                        format!(
                        "segments are {a}-{b}-{c}, expected 4-4-2, 5-3-2, 5-4-1 or NDC-11 5-4-2"
                    ),
                    ))
                }
            };
            let mut digits = [0u8; 10];
            digits.copy_from_slice(segs.concat().as_bytes());
            return Ok(Ndc {
                digits,
                format: Some(format),
            });
        }
        require_digits("NDC", s)?;
        match s.len() {
            10 => {
                let mut digits = [0u8; 10];
                digits.copy_from_slice(s.as_bytes());
                Ok(Ndc {
                    digits,
                    format: None,
                })
            }
            11 => Self::from_ndc11(s),
            n => Err(Gs1Error::length("NDC", s, "10 (NDC-10) or 11 (NDC-11)", n)),
        }
    }

    /// All NDC-10 readings of an NDC-11 (one per segment that starts with the pad zero).
    pub fn candidates_from_ndc11(s: &str) -> Result<Vec<Ndc>, Gs1Error> {
        let d = s.replace('-', "");
        if d.len() != 11 {
            return Err(Gs1Error::length(
                "NDC-11",
                s,
                "11 digits",
                d.chars().count(),
            ));
        }
        require_digits("NDC-11", &d)?;
        let b = d.as_bytes();
        let mut out = Vec::new();
        let mut make = |skip: usize, f: NdcFormat| {
            let mut digits = [0u8; 10];
            let mut k = 0;
            for (i, &c) in b.iter().enumerate() {
                if i != skip {
                    digits[k] = c;
                    k += 1;
                }
            }
            out.push(Ndc {
                digits,
                format: Some(f),
            });
        };
        if b[0] == b'0' {
            make(0, NdcFormat::F442);
        }
        if b[5] == b'0' {
            make(5, NdcFormat::F532);
        }
        if b[9] == b'0' {
            make(9, NdcFormat::F541);
        }
        Ok(out)
    }

    /// NDC-11 → NDC-10, refusing when more than one reading is possible.
    pub fn from_ndc11(s: &str) -> Result<Self, Gs1Error> {
        let c = Self::candidates_from_ndc11(s)?;
        match c.as_slice() {
            [one] => Ok(*one),
            [] => Err(ndc_err(
                s,
                "NDC-11 has no zero-padded segment (labeler, product or package must start with 0)",
            )),
            many => Err(ndc_err(
                s,
                format!(
                    "NDC-11 is ambiguous: it reads as {}; the original segmentation is needed",
                    many.iter()
                        .map(|n| n.to_string())
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            )),
        }
    }

    /// NDC read from a US-pharma GTIN (indicator + `03` + NDC-10 + check).
    pub fn from_gtin(gtin: &Gtin) -> Result<Self, Gs1Error> {
        let g = gtin.as_str();
        if &g[1..3] != "03" {
            return Err(ndc_err(
                g,
                format!(
                    "GTIN digits 2-3 are {:?}, expected \"03\" for an NDC-based GTIN",
                    &g[1..3]
                ),
            ));
        }
        let mut digits = [0u8; 10];
        digits.copy_from_slice(&g.as_bytes()[3..13]);
        Ok(Ndc {
            digits,
            format: None,
        })
    }

    /// GTIN-14 with the given packaging indicator (0 for the unit, 1-8 for cases).
    pub fn to_gtin(&self, indicator: u8) -> Result<Gtin, Gs1Error> {
        if indicator > 9 {
            return Err(ndc_err(
                self.digits_str(),
                format!("indicator {indicator} must be a single digit"),
            ));
        }
        Gtin::from_data_digits(&format!("{indicator}03{}", self.digits_str()))
    }

    /// The 10 digits without hyphens.
    pub fn digits_str(&self) -> &str {
        std::str::from_utf8(&self.digits).unwrap_or("")
    }

    pub fn format(&self) -> Option<NdcFormat> {
        self.format
    }

    /// The labeler code, when the segmentation is known.
    pub fn labeler(&self) -> Option<&str> {
        self.format.map(|f| &self.digits_str()[..f.lens().0])
    }

    /// NDC-11 (5-4-2, hyphenated). Needs the segmentation.
    pub fn to_ndc11(&self) -> Result<String, Gs1Error> {
        let f = self.format.ok_or_else(|| {
            ndc_err(self.digits_str(), "NDC-11 needs the NDC-10 segmentation (4-4-2, 5-3-2 or 5-4-1), which this NDC does not carry")
        })?;
        let (a, b, _) = f.lens();
        let d = self.digits_str();
        let (l, p, k) = (&d[..a], &d[a..a + b], &d[a + b..]);
        Ok(format!("{:0>5}-{:0>4}-{:0>2}", l, p, k))
    }
}

impl fmt::Display for Ndc {
    /// Hyphenated when the segmentation is known, else the 10 digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.digits_str();
        match self.format {
            Some(fm) => {
                let (a, b, _) = fm.lens();
                write!(f, "{}-{}-{}", &d[..a], &d[a..a + b], &d[a + b..])
            }
            None => f.write_str(d),
        }
    }
}

impl fmt::Debug for Ndc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ndc({self})")
    }
}

impl FromStr for Ndc {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Gs1Error> {
        Ndc::parse(s)
    }
}

impl TryFrom<&str> for Ndc {
    type Error = Gs1Error;
    fn try_from(s: &str) -> Result<Self, Gs1Error> {
        Ndc::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndc_to_gtin_from_the_standards_sheet() {
        let n = Ndc::parse("12345-678-90").unwrap();
        assert_eq!(n.to_gtin(0).unwrap().as_str(), "00312345678906");
        assert_eq!(n.to_gtin(5).unwrap().as_str(), "50312345678901");
        assert_eq!(n.labeler(), Some("12345"));
        assert_eq!(n.to_ndc11().unwrap(), "12345-0678-90");
    }

    #[test]
    fn ndc11_padding_per_format() {
        assert_eq!(
            Ndc::parse("0002-1433-80").unwrap().to_ndc11().unwrap(),
            "00002-1433-80"
        );
        assert_eq!(
            Ndc::parse("50242-040-62").unwrap().to_ndc11().unwrap(),
            "50242-0040-62"
        );
        assert_eq!(
            Ndc::parse("12345-6789-1").unwrap().to_ndc11().unwrap(),
            "12345-6789-01"
        );
    }

    #[test]
    fn ndc11_back_to_ndc10_only_when_unambiguous() {
        assert_eq!(
            Ndc::parse("50242-0040-62").unwrap().to_string(),
            "50242-040-62"
        );
        assert_eq!(Ndc::parse("12345678911").unwrap_err().code(), "gs1.ndc");
        let e = Ndc::from_ndc11("00002-0433-80").unwrap_err();
        assert!(e.to_string().contains("ambiguous"), "{e}");
        assert!(
            e.to_string().contains("0002-0433-80") && e.to_string().contains("00002-433-80"),
            "{e}"
        );
        assert_eq!(
            Ndc::candidates_from_ndc11("00002-0433-00").unwrap().len(),
            3
        );
    }

    #[test]
    fn gtin_back_to_ndc_has_no_segmentation() {
        let g = Gtin::parse("00312345678906").unwrap();
        let n = Ndc::from_gtin(&g).unwrap();
        assert_eq!(n.to_string(), "1234567890");
        assert!(n.to_ndc11().is_err());
        assert_eq!(n.to_gtin(0).unwrap(), g);
        assert!(Ndc::from_gtin(&Gtin::parse("04012345000009").unwrap()).is_err());
    }

    #[test]
    fn malformed_ndcs() {
        assert!(Ndc::parse("1234-567-89").is_err());
        assert!(Ndc::parse("12345-678-9a").is_err());
        assert!(Ndc::parse("123456789").is_err());
        assert!(Ndc::parse("1-2-3-4").is_err());
    }
}
