//! The TDS schemes that carry no GS1 key: GID, and the US DoD, aerospace (ADI), freight
//! container (BIC) and vessel (IMO) identifiers. Each is validated and kept as its URI body.

use super::super::chars::pct_decode;
use super::super::error::Gs1Error;
use super::parse::{comp_err, Urn};
use super::{Epc, Gid, NonGs1Id};

/// `usdod:CAGE.serial` (serial: decimal below 2^36)
pub(super) fn usdod(u: Urn) -> Result<Epc, Gs1Error> {
    let f = u.fields(2)?;
    check_cage(u.uri, u.at, f[0])?;
    let ok = !f[1].is_empty()
        && f[1].bytes().all(|b| b.is_ascii_digit())
        && (f[1] == "0" || !f[1].starts_with('0'))
        && f[1].parse::<u64>().is_ok_and(|v| v < 1 << 36);
    if !ok {
        return Err(comp_err(
            u.uri,
            u.at + f[0].len() + 1,
            "serial",
            "a decimal number below 2^36 without leading zeros".into(),
            f[1],
        ));
    }
    Ok(Epc::Usdod(NonGs1Id {
        body: u.body.to_string(),
    }))
}

/// `adi:CAGE.part.serial`
pub(super) fn adi(u: Urn) -> Result<Epc, Gs1Error> {
    let uri = u.uri;
    let f = u.fields(3)?;
    check_cage(uri, u.at, f[0])?;
    let part = pct_decode("part number", f[1])?;
    let serial = pct_decode("serial", f[2])?;
    let adi_char = |b: u8| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'/';
    if part.len() > 32 || !part.bytes().all(adi_char) {
        return Err(comp_err(
            uri,
            u.at + f[0].len() + 1,
            "original part number",
            "0 to 32 characters A-Z 0-9 - /".into(),
            f[1],
        ));
    }
    let s_body = serial.strip_prefix('#').unwrap_or(&serial);
    if serial.is_empty() || serial.len() > 30 || s_body.is_empty() || !s_body.bytes().all(adi_char)
    {
        return Err(comp_err(
            uri,
            uri.len() - f[2].len(),
            "serial",
            "1 to 30 characters A-Z 0-9 - /, optionally after #".into(),
            f[2],
        ));
    }
    Ok(Epc::Adi(NonGs1Id {
        body: u.body.to_string(),
    }))
}

/// `bic:` an ISO 6346 container code
pub(super) fn bic(u: Urn) -> Result<Epc, Gs1Error> {
    check_bic(u.uri, u.at, u.body)?;
    Ok(Epc::Bic(NonGs1Id {
        body: u.body.to_string(),
    }))
}

/// `imovn:` an IMO vessel number
pub(super) fn imovn(u: Urn) -> Result<Epc, Gs1Error> {
    check_imo(u.uri, u.at, u.body)?;
    Ok(Epc::Imovn(NonGs1Id {
        body: u.body.to_string(),
    }))
}

/// `gid:manager.class.serial` (decimal, no leading zeros)
pub(super) fn gid(u: Urn) -> Result<Epc, Gs1Error> {
    let f = u.fields(3)?;
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
                u.uri,
                u.at,
                name,
                format!("a decimal number 0 to {max} without leading zeros"),
                s,
            )
        })
    };
    Ok(Epc::Gid(Gid {
        manager: num(0, "general manager number", 268_435_455)?,
        class: num(1, "object class", 16_777_215)?,
        serial: num(2, "serial number", 68_719_476_735)?,
    }))
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
