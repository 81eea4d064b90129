//! Symbology identifiers (ISO/IEC 15424, `]d2`, `]C1`, …): which carry GS1 AI data, which a
//! bare GTIN (EAN/UPC, ITF-14), and which no GS1 data at all (each refused with a hint).

use super::super::chars::bad_char;
use super::super::error::{shown, Gs1Error};
use super::super::keys::Gtin;
use super::{parse_raw, ElementString};

/// How the data after a symbology identifier (ISO/IEC 15424) is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Carrier {
    /// GS1 AI data (the carrier's GS1 mode: FNC1 in first position).
    Gs1,
    /// A bare GTIN of exactly this many digits (EAN/UPC, ITF-14), read as `(01)`.
    BareGtin(usize),
    /// EAN-13/UPC-A with a 2- or 5-digit add-on: the add-on is no AI data.
    AddOn,
    /// Not GS1 data; the text says where GS1 data would be.
    NotGs1(&'static str),
}

#[derive(Debug)]
pub(super) struct Symbology {
    id: &'static str,
    name: &'static str,
    pub(super) carrier: Carrier,
}

const fn sym(id: &'static str, name: &'static str, carrier: Carrier) -> Symbology {
    Symbology { id, name, carrier }
}

/// The symbology identifiers GS1 data can arrive with, and their non-GS1 siblings.
const SYMBOLOGIES: &[Symbology] = &[
    sym("]d2", "GS1 DataMatrix", Carrier::Gs1),
    sym("]C1", "GS1-128", Carrier::Gs1),
    sym("]Q3", "GS1 QR Code", Carrier::Gs1),
    sym("]e0", "GS1 DataBar", Carrier::Gs1),
    sym("]J1", "GS1 DotCode", Carrier::Gs1),
    sym("]E0", "EAN-13 or UPC-A", Carrier::BareGtin(13)),
    sym("]E4", "EAN-8", Carrier::BareGtin(8)),
    sym("]I1", "ITF-14", Carrier::BareGtin(14)),
    sym("]E3", "EAN-13 or UPC-A with an add-on", Carrier::AddOn),
    sym(
        "]E1",
        "an EAN/UPC 2-digit add-on alone",
        Carrier::NotGs1("an add-on carries no GS1 key"),
    ),
    sym(
        "]E2",
        "an EAN/UPC 5-digit add-on alone",
        Carrier::NotGs1("an add-on carries no GS1 key"),
    ),
    sym(
        "]d1",
        "Data Matrix, not in GS1 mode",
        Carrier::NotGs1("GS1 DataMatrix is ]d2"),
    ),
    sym(
        "]d0",
        "Data Matrix ECC 000-140, not GS1",
        Carrier::NotGs1("GS1 DataMatrix is ]d2"),
    ),
    sym(
        "]d3",
        "Data Matrix with FNC1 in second position, not in GS1 mode",
        Carrier::NotGs1("GS1 DataMatrix is ]d2"),
    ),
    sym(
        "]Q0",
        "QR Code model 1, not GS1",
        Carrier::NotGs1("GS1 QR Code is ]Q3"),
    ),
    sym(
        "]Q1",
        "QR Code, not in GS1 mode",
        Carrier::NotGs1(
            "GS1 QR Code is ]Q3; a GS1 Digital Link URI in it is read as a Digital Link",
        ),
    ),
    sym(
        "]Q2",
        "QR Code with ECI, not in GS1 mode",
        Carrier::NotGs1("GS1 QR Code is ]Q3"),
    ),
    sym(
        "]Q5",
        "QR Code with FNC1 in second position, not in GS1 mode",
        Carrier::NotGs1("GS1 QR Code is ]Q3"),
    ),
    sym(
        "]C0",
        "Code 128, not GS1-128",
        Carrier::NotGs1("GS1-128 is ]C1"),
    ),
    sym(
        "]C2",
        "Code 128 with FNC1 in second position, not GS1-128",
        Carrier::NotGs1("GS1-128 is ]C1"),
    ),
    sym(
        "]J0",
        "DotCode, not in GS1 mode",
        Carrier::NotGs1("GS1 DotCode is ]J1"),
    ),
    sym(
        "]I0",
        "Interleaved 2 of 5 without check digit",
        Carrier::NotGs1("ITF-14 is ]I1"),
    ),
    sym(
        "]A0",
        "Code 39",
        Carrier::NotGs1("Code 39 carries no GS1 data"),
    ),
];

/// The symbology an input's identifier (`]` + 2 characters) names, if known.
pub(super) fn symbology_of(input: &str) -> Option<&'static Symbology> {
    let id = input.get(..3)?;
    SYMBOLOGIES.iter().find(|s| s.id == id)
}

/// Name of the symbology an input's identifier names (`]d2` -> "GS1 DataMatrix").
pub(crate) fn symbology_name(input: &str) -> Option<&'static str> {
    symbology_of(input).map(|s| s.name)
}

fn not_gs1(input: &str, s: &Symbology, hint: &'static str) -> Gs1Error {
    Gs1Error::NotGs1Data {
        input: shown(input),
        symbology_id: s.id.to_string(),
        symbology: s.name,
        hint,
    }
}
/// EAN/UPC and ITF-14: exactly `digits` digits with a valid check digit, read as `(01)`. An
/// EAN/UPC may be followed by its 2D composite component (`|]e0` + AI data), as the GS1
/// Barcode Syntax Engine transmits it.
pub(super) fn parse_bare_gtin(
    input: &str,
    s: &Symbology,
    digits: usize,
    year: i32,
    es: &mut ElementString,
) -> Result<(), Gs1Error> {
    let data = &input[3..];
    let composite = s.id != "]I1"
        && data
            .get(digits..)
            .is_some_and(|rest| rest.starts_with("|]e0"));
    let primary = if composite { &data[..digits] } else { data };
    if let Some(p) = primary.bytes().position(|b| !b.is_ascii_digit()) {
        return Err(bad_char(s.name, primary, p, "a digit").at(input, 3));
    }
    if primary.len() != digits {
        return Err(
            Gs1Error::length(s.name, primary, &digits.to_string(), primary.len()).at(input, 3),
        );
    }
    let gtin = Gtin::parse(primary).map_err(|e| e.at(input, 3))?;
    es.push_checked("01", gtin.as_str(), year)?;
    if composite {
        let cc = &data[digits + 1..];
        parse_raw(cc, year, false, es).map_err(|e| e.at(input, 3 + digits + 1))?;
    }
    Ok(())
}

/// `]E3`: the add-on is not AI data. The main symbol's check digit is still checked, so a
/// misread is reported as such.
pub(super) fn add_on(input: &str, s: &Symbology) -> Gs1Error {
    let data = &input[3..];
    let primary = data.get(..13).unwrap_or(data);
    if primary.len() == 13 && primary.bytes().all(|b| b.is_ascii_digit()) {
        if let Err(e) = Gtin::parse(primary) {
            return e.at(input, 3);
        }
    }
    Gs1Error::syntax(
        "scan data",
        input,
        0,
        "an EAN-13/UPC-A without add-on (]E0)",
        format!(
            "\"{}\", {}: the add-on carries no GS1 Application Identifier; scan the symbol without it",
            s.id, s.name
        ),
    )
}

pub(super) fn strip_symbology(input: &str) -> Result<(&str, usize), Gs1Error> {
    if !input.starts_with(']') {
        return Ok((input, 0));
    }
    let expected = "a GS1 symbology identifier (]d2, ]C1, ]Q3, ]e0, ]J1)";
    match symbology_of(input) {
        Some(s) => match s.carrier {
            Carrier::Gs1 => Ok((&input[3..], 3)),
            Carrier::NotGs1(hint) => Err(not_gs1(input, s, hint)),
            Carrier::BareGtin(_) | Carrier::AddOn => Err(Gs1Error::syntax(
                "scan data",
                input,
                0,
                expected,
                format!(
                    "{:?} ({}), a carrier of a bare GTIN without serial",
                    s.id, s.name
                ),
            )),
        },
        None => Err(Gs1Error::syntax(
            "scan data",
            input,
            0,
            expected,
            format!(
                "{:?}, an unknown symbology identifier",
                input.chars().take(3).collect::<String>()
            ),
        )),
    }
}
