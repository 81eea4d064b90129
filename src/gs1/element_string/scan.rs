//! A DSCSA pack scan read without heap allocation for typical scans: the SGTIN, and lot and
//! expiry when present.

use super::super::ai::table;
use super::super::dates::current_year;
use super::super::error::Gs1Error;
use super::super::keys::{Gtin, Lot, SerialNumber};
use super::super::{Expiry, Sgtin};
use super::read::walk_raw;
use super::{check_rules, parse_element_string_with_year};

/// What a DSCSA pack scan carries: the SGTIN, and lot and expiry when present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackScan {
    pub sgtin: Sgtin,
    pub lot: Option<Lot>,
    pub expiry: Option<Expiry>,
}

/// Parse raw scan data (or a bracketed string) that must identify an SGTIN, with the same
/// validation as [`parse_element_string`] but without heap allocation for typical scans.
pub fn parse_scan_sgtin(input: &str) -> Result<PackScan, Gs1Error> {
    const MAX: usize = 24;
    let year = current_year();
    let mut items: [(u16, &str); MAX] = [(0, ""); MAX];
    let mut n = 0usize;
    let mut overflow = false;
    let walked = if input.starts_with('(') {
        Err(None)
    } else {
        walk_raw(input, year, false, |di, v| {
            if n == MAX {
                overflow = true;
            } else {
                items[n] = (di, v);
                n += 1;
            }
            Ok(())
        })
        .map_err(Some)
    };
    let need = |what: &str| {
        Gs1Error::not_an_identifier(
            input,
            format!("scan data has no {what}, so it is not an SGTIN"),
        )
    };
    match walked {
        Err(Some(e)) => Err(e),
        Ok(()) if !overflow => {
            let items = &items[..n];
            check_rules(items, true)?;
            let t = table();
            let get = |ai: &str| {
                let want = t.get(ai)?;
                items.iter().find(|&&(d, _)| d == want).map(|&(_, v)| v)
            };
            // The values passed the dictionary checks (N14 + check digit, CSET 82 up to 20),
            // which are the newtypes' rules; no need to validate them twice.
            let gtin = get("01").ok_or_else(|| need("GTIN (01)"))?;
            let serial = get("21").ok_or_else(|| need("serial (21)"))?;
            let expiry = match get("17") {
                Some(v) => Some(Expiry::parse_with_year(v, year)?),
                None => None,
            };
            match (
                Gtin::from_validated(gtin),
                SerialNumber::from_validated(serial),
            ) {
                (Some(g), Some(s)) => Ok(PackScan {
                    sgtin: Sgtin::new(g, s),
                    lot: get("10").and_then(Lot::from_validated),
                    expiry,
                }),
                _ => Err(need("valid GTIN and serial")),
            }
        }
        _ => {
            // Bracketed input or unusually many elements: the general path.
            let es = parse_element_string_with_year(input, year)?;
            Ok(PackScan {
                sgtin: es
                    .sgtin()
                    .ok_or_else(|| need("GTIN (01) with serial (21)"))?,
                lot: es.lot(),
                expiry: es
                    .get("17")
                    .map(|v| Expiry::parse_with_year(v, year))
                    .transpose()?,
            })
        }
    }
}
