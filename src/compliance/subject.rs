//! What a trace is about, from any identifier form a person has in hand: an EPC URN, a GS1
//! Digital Link, a raw DataMatrix scan or element string, GTIN + serial, NDC + serial, an SSCC,
//! or GTIN / NDC + lot. Pure: the NDC's GTINs are found against the database in `trace`.

use crate::gs1::{self, Epc, Gs1Error, Gtin, Lot, Ndc, SerialNumber, Sscc};

use super::ComplianceError;

/// The identifier parameters of a trace, as given (`GET /trace?…`, the CLI).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceInput {
    /// An EPC URN, a Digital Link or an element string.
    pub epc: Option<String>,
    /// Raw scan data (`]d2`, FNC1 as ASCII 29 or `^`) or a bracketed element string.
    pub scan: Option<String>,
    pub gtin: Option<String>,
    pub ndc: Option<String>,
    pub serial: Option<String>,
    pub lot: Option<String>,
    pub sscc: Option<String>,
}

/// What a trace is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// One serialised object (SGTIN or SSCC), by its identifier key.
    Serial(String),
    /// A serial given by NDC: the GTINs the NDC may be carried in are tried.
    NdcSerial(Vec<Ndc>, SerialNumber),
    /// Every serial of a lot.
    Lot(Gtin, Lot),
    /// Every serial of a lot of the product an NDC names.
    NdcLot(Vec<Ndc>, Lot),
}

fn invalid(field: &str, e: impl std::fmt::Display) -> ComplianceError {
    ComplianceError::Invalid(format!("{field}: {e}"))
}

/// The NDC readings of a text: one for an NDC-10 (hyphenated or not) or a hyphenated NDC-11,
/// every reading of a plain 11-digit NDC-11 (the segmentation decides the NDC-10).
fn ndcs(text: &str) -> Result<Vec<Ndc>, Gs1Error> {
    let digits = text.trim();
    if digits.len() == 11 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let all = Ndc::candidates_from_ndc11(digits)?;
        if !all.is_empty() {
            return Ok(all);
        }
    }
    Ndc::parse(digits).map(|n| vec![n])
}

impl TraceInput {
    /// The subject these parameters name: exactly one form must be given.
    pub fn subject(&self) -> Result<Subject, ComplianceError> {
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let (epc, scan, gtin, ndc, serial, lot, sscc) = (
            given(&self.epc),
            given(&self.scan),
            given(&self.gtin),
            given(&self.ndc),
            given(&self.serial),
            given(&self.lot),
            given(&self.sscc),
        );
        let forms = [
            epc.is_some(),
            scan.is_some(),
            gtin.is_some(),
            ndc.is_some(),
            sscc.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if forms != 1 {
            return Err(ComplianceError::Invalid(
                "give exactly one of epc, scan, gtin (with serial or lot), ndc (with serial or \
                 lot) or sscc"
                    .into(),
            ));
        }
        let alone = |name: &str| {
            if serial.is_some() || lot.is_some() {
                Err(ComplianceError::Invalid(format!(
                    "{name} names the identifier by itself: leave out serial and lot"
                )))
            } else {
                Ok(())
            }
        };
        let serial_or_lot = |name: &str| match (serial, lot) {
            (Some(s), None) => Ok(Ok(s
                .parse::<SerialNumber>()
                .map_err(|e| invalid("serial", e))?)),
            (None, Some(l)) => Ok(Err(l.parse::<Lot>().map_err(|e| invalid("lot", e))?)),
            _ => Err(ComplianceError::Invalid(format!(
                "{name} needs either serial (one package) or lot (every package of the lot)"
            ))),
        };
        if let Some(text) = epc.or(scan) {
            alone(if epc.is_some() { "epc" } else { "scan" })?;
            let field = if epc.is_some() { "epc" } else { "scan" };
            return match gs1::parse_any(text).map_err(|e| invalid(field, e))? {
                e @ (Epc::Sgtin(_) | Epc::Sscc(_)) => Ok(Subject::Serial(e.key())),
                Epc::Lgtin(l) => Ok(Subject::Lot(*l.gtin(), *l.lot())),
                Epc::GtinClass(_) => Err(ComplianceError::Invalid(format!(
                    "{field}: a GTIN alone names no package: add the serial (21) or the lot (10)"
                ))),
                other => Err(ComplianceError::Invalid(format!(
                    "{field}: a {} is not traced: give an SGTIN, an SSCC or a GTIN with a lot",
                    other.scheme()
                ))),
            };
        }
        if let Some(text) = sscc {
            alone("sscc")?;
            let sscc: Sscc = text.parse().map_err(|e| invalid("sscc", e))?;
            return Ok(Subject::Serial(Epc::Sscc(sscc).key()));
        }
        if let Some(text) = gtin {
            let gtin: Gtin = text.parse().map_err(|e| invalid("gtin", e))?;
            return Ok(match serial_or_lot("gtin")? {
                Ok(s) => Subject::Serial(gs1::sgtin_key(&gtin, &s)),
                Err(l) => Subject::Lot(gtin, l),
            });
        }
        let text = ndc.unwrap_or_default();
        let ndcs = ndcs(text).map_err(|e| invalid("ndc", e))?;
        Ok(match serial_or_lot("ndc")? {
            Ok(s) => Subject::NdcSerial(ndcs, s),
            Err(l) => Subject::NdcLot(ndcs, l),
        })
    }
}

/// The GTINs an NDC is carried in without master data: the unit GTIN-14 (indicator 0) of
/// each NDC-10 reading (standards §5.9: `0` + `3` + NDC-10 + check digit).
pub fn unit_gtins(ndcs: &[Ndc]) -> Vec<String> {
    ndcs.iter()
        .filter_map(|n| n.to_gtin(0).ok())
        .map(|g| g.as_str().to_string())
        .collect()
}

/// The digit strings product master data may hold for these NDC readings (NDC-10 and NDC-11).
pub fn ndc_digit_forms(ndcs: &[Ndc]) -> Vec<String> {
    let mut out = Vec::new();
    for n in ndcs {
        out.push(n.digits_str().to_string());
        if let Ok(eleven) = n.to_ndc11() {
            out.push(eleven.replace('-', ""));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, &str)]) -> TraceInput {
        let mut i = TraceInput::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "epc" => i.epc = v,
                "scan" => i.scan = v,
                "gtin" => i.gtin = v,
                "ndc" => i.ndc = v,
                "serial" => i.serial = v,
                "lot" => i.lot = v,
                "sscc" => i.sscc = v,
                _ => unreachable!(),
            }
        }
        i
    }

    #[test]
    fn every_form_of_one_package_gives_the_same_key() {
        let key = "010032761180827721ABC123".to_string();
        for pairs in [
            vec![("epc", "urn:epc:id:sgtin:0327611.080827.ABC123")],
            vec![("epc", "https://id.gs1.org/01/00327611808277/21/ABC123")],
            vec![(
                "epc",
                "https://example.com/01/00327611808277/10/L1/21/ABC123?17=281231",
            )],
            vec![("scan", "]d201003276118082771728123110L1\u{1d}21ABC123")],
            vec![("scan", "(01)00327611808277(21)ABC123")],
            vec![("gtin", "00327611808277"), ("serial", "ABC123")],
        ] {
            assert_eq!(
                input(&pairs).subject().unwrap(),
                Subject::Serial(key.clone()),
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn lots_sscc_and_ndc_forms_are_told_apart() {
        assert!(matches!(
            input(&[("gtin", "00327611808277"), ("lot", "L1")]).subject().unwrap(),
            Subject::Lot(_, l) if l.as_str() == "L1"
        ));
        assert!(matches!(
            input(&[("epc", "urn:epc:class:lgtin:0327611.080827.L1")])
                .subject()
                .unwrap(),
            Subject::Lot(..)
        ));
        assert_eq!(
            input(&[("sscc", "003276110000000015")]).subject().unwrap(),
            Subject::Serial("00003276110000000015".into())
        );
        let Subject::NdcSerial(ndcs, s) = input(&[("ndc", "27611-808-27"), ("serial", "ABC123")])
            .subject()
            .unwrap()
        else {
            panic!("not an NDC serial")
        };
        assert_eq!(
            (unit_gtins(&ndcs), s.as_str()),
            (vec!["00327611808277".to_string()], "ABC123")
        );
        assert!(matches!(
            input(&[("ndc", "2761180827"), ("lot", "L1")])
                .subject()
                .unwrap(),
            Subject::NdcLot(..)
        ));
    }

    #[test]
    fn malformed_or_incomplete_input_says_which_parameter() {
        for (pairs, says) in [
            (vec![], "exactly one"),
            (
                vec![("gtin", "00327611808277"), ("sscc", "003276110000000015")],
                "exactly one",
            ),
            (vec![("gtin", "00327611808277")], "needs either serial"),
            (vec![("gtin", "00327611808273"), ("serial", "A")], "gtin:"),
            (vec![("ndc", "12-34"), ("serial", "A")], "ndc:"),
            (vec![("epc", "urn:epc:id:sgln:0327611.00000.0")], "sgln"),
            (
                vec![("epc", "https://id.gs1.org/01/00327611808277")],
                "add the serial",
            ),
            (
                vec![("epc", "urn:epc:id:sgtin:0327611.080827.A"), ("lot", "L")],
                "leave out",
            ),
        ] {
            let e = input(&pairs).subject().unwrap_err().to_string();
            assert!(e.contains(says), "{pairs:?}: {e}");
        }
    }
}
