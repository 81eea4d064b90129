//! The content checks ("linters") the dictionary names for AI components: check digits,
//! dates and times, GCP positions, ISO codes, IBAN, and the like.

use super::super::chars::{alnum_check_pair, mod10_check_digit, pct_decode};
use super::super::dates;
use super::super::error::Gs1Error;
use super::Linter;

pub(super) fn lint(
    what: &'static str,
    value: &str,
    part: &str,
    component: usize,
    l: &Linter,
    year: i32,
) -> Result<(), Gs1Error> {
    let p = part.as_bytes();
    let comp = || format!("component {}", component + 1);
    let num = |s: &[u8]| s.iter().fold(0u64, |a, &c| a * 10 + (c - b'0') as u64);
    match l {
        Linter::Csum => {
            let (data, check) = p.split_at(p.len() - 1);
            let expected = mod10_check_digit(data);
            if check[0] != expected {
                return Err(Gs1Error::CheckDigit {
                    what,
                    input: value.to_string(),
                    found: (check[0] as char).to_string(),
                    expected: (expected as char).to_string(),
                });
            }
        }
        Linter::CsumAlpha => {
            if p.len() < 2 {
                return Err(Gs1Error::length(what, value, "at least 2", p.len()));
            }
            let (data, check) = p.split_at(p.len() - 2);
            match alnum_check_pair(data) {
                Some(pair) if pair == check => {}
                Some(pair) => {
                    return Err(Gs1Error::CheckDigit {
                        what,
                        input: value.to_string(),
                        found: part[part.len() - 2..].to_string(),
                        expected: String::from_utf8_lossy(&pair).into_owned(),
                    })
                }
                None => {
                    return Err(Gs1Error::invalid(
                        what,
                        value,
                        comp(),
                        "too long for a check pair",
                        part,
                    ))
                }
            }
        }
        Linter::GcpPos1 | Linter::GcpPos2 => {
            // A GS1 Company Prefix has at least 4 digits; for alphanumeric keys (GIAI, GINC,
            // CPID) the prefix must be there before any free-form reference.
            let start = if *l == Linter::GcpPos2 { 1 } else { 0 };
            let need = (start + 4).min(p.len());
            if let Some(k) = p[..need].iter().position(|c| !c.is_ascii_digit()) {
                return Err(Gs1Error::invalid(
                    what,
                    value,
                    comp(),
                    "must start with a GS1 Company Prefix (at least 4 digits)",
                    (p[k] as char).to_string(),
                ));
            }
        }
        Linter::Yymmd0 => {
            dates::parse_yymmdd(what, part, true, year)?;
        }
        Linter::Yymmdd => {
            dates::parse_yymmdd(what, part, false, year)?;
        }
        Linter::Yyyymmdd => {
            dates::parse_yyyymmdd(what, part)?;
        }
        Linter::Hhmi => dates::check_hhmi(what, part)?,
        Linter::Hh => dates::check_range(what, value, "hour", num(p) as u32, 23)?,
        Linter::Mi => dates::check_range(what, value, "minute", num(p) as u32, 59)?,
        Linter::Ss => dates::check_range(what, value, "second", num(p) as u32, 59)?,
        Linter::Zero if part != "0" => {
            return Err(Gs1Error::invalid(what, value, comp(), "must be 0", part))
        }
        Linter::NonZero if p.iter().all(|&c| c == b'0') => {
            return Err(Gs1Error::invalid(
                what,
                value,
                comp(),
                "must not be zero",
                part,
            ))
        }
        Linter::Winding if !matches!(part, "0" | "1" | "9") => {
            return Err(Gs1Error::invalid(
                what,
                value,
                comp(),
                "winding direction must be 0, 1 or 9",
                part,
            ))
        }
        Linter::YesNo if !matches!(part, "0" | "1") => {
            return Err(Gs1Error::invalid(
                what,
                value,
                comp(),
                "must be 0 or 1",
                part,
            ))
        }
        Linter::Iso5218 if !matches!(part, "0" | "1" | "2" | "9") => {
            return Err(Gs1Error::invalid(
                what,
                value,
                comp(),
                "ISO/IEC 5218 sex code must be 0, 1, 2 or 9",
                part,
            ))
        }
        Linter::Hyphen if part != "-" => {
            return Err(Gs1Error::invalid(
                what,
                value,
                comp(),
                "must be a hyphen",
                part,
            ))
        }
        Linter::PieceOfTotal => {
            let half = p.len() / 2;
            let (piece, total) = (num(&p[..half]), num(&p[half..]));
            if piece == 0 || total == 0 || piece > total {
                return Err(Gs1Error::invalid(
                    what,
                    value,
                    comp(),
                    "piece number and total must be non-zero with piece <= total",
                    part,
                ));
            }
        }
        Linter::Latitude if num(p) > 1_800_000_000 => {
            return Err(Gs1Error::invalid(
                what,
                value,
                comp(),
                "latitude must be at most 1800000000",
                part,
            ))
        }
        Linter::Longitude if num(p) > 3_600_000_000 => {
            return Err(Gs1Error::invalid(
                what,
                value,
                comp(),
                "longitude must be at most 3600000000",
                part,
            ))
        }
        Linter::NoZeroPrefix if p.len() > 1 && p[0] == b'0' => {
            return Err(Gs1Error::invalid(
                what,
                value,
                comp(),
                "must not start with 0",
                part,
            ))
        }
        Linter::HasNonDigit if p.iter().all(u8::is_ascii_digit) => {
            return Err(Gs1Error::invalid(
                what,
                value,
                comp(),
                "must contain a non-digit",
                part,
            ))
        }
        Linter::PcEnc => {
            pct_decode(what, part)?;
        }
        Linter::PosInSeqSlash => {
            let ok = p.len() == 3
                && p[1] == b'/'
                && p[0].is_ascii_digit()
                && p[2].is_ascii_digit()
                && p[0] != b'0'
                && p[0] <= p[2];
            if !ok {
                return Err(Gs1Error::invalid(
                    what,
                    value,
                    comp(),
                    "must be position/total like 1/2",
                    part,
                ));
            }
        }
        Linter::ImporterIdx
            if !p
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_') =>
        {
            return Err(Gs1Error::invalid(
                what,
                value,
                comp(),
                "importer index must be 0-9, A-Z, a-z, - or _",
                part,
            ))
        }
        Linter::Iban => check_iban(what, value, part)?,
        _ => {}
    }
    Ok(())
}

fn check_iban(what: &'static str, value: &str, part: &str) -> Result<(), Gs1Error> {
    let p = part.as_bytes();
    let shape = p.len() >= 5
        && p[..2].iter().all(u8::is_ascii_uppercase)
        && p[2..4].iter().all(u8::is_ascii_digit)
        && p[4..]
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
    if !shape {
        return Err(Gs1Error::invalid(
            what,
            value,
            "IBAN",
            "must be country letters, 2 check digits, then A-Z/0-9",
            part,
        ));
    }
    // ISO 13616: move the first four characters to the end, letters to 10..35, mod 97 == 1.
    let mut rem = 0u32;
    for &c in p[4..].iter().chain(&p[..4]) {
        let v = if c.is_ascii_digit() {
            (c - b'0') as u32
        } else {
            (c - b'A') as u32 + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    if rem != 1 {
        return Err(Gs1Error::invalid(
            what,
            value,
            "IBAN",
            "mod-97 check failed",
            part,
        ));
    }
    Ok(())
}
