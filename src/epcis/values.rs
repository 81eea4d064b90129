//! Parsers for the XSD value types EPCIS uses: xsd:dateTime, time-zone offsets, xsd:date,
//! xsd:decimal, xsd:boolean. Hand-written because chrono's RFC 3339 parser rejects valid
//! xsd:dateTime forms (no zone, any number of fraction digits).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike};

/// Why a dateTime was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateTimeError {
    Syntax,
    OutOfRange,
}

/// A parsed xsd:dateTime: the instant, and whether the text carried a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedDateTime {
    /// With the written offset; a zone-less value is read as UTC.
    pub value: DateTime<FixedOffset>,
    pub has_zone: bool,
}

fn digits(b: &[u8], from: usize, n: usize) -> Option<u32> {
    let s = b.get(from..from + n)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Parse `±hh:mm` (or `Z` when `allow_z`) into seconds east of UTC.
pub fn parse_offset(text: &str, allow_z: bool) -> Option<i32> {
    if allow_z && text == "Z" {
        return Some(0);
    }
    let b = text.as_bytes();
    if b.len() != 6 || b[3] != b':' {
        return None;
    }
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h = digits(b, 1, 2)?;
    let m = digits(b, 4, 2)?;
    if m > 59 || h > 14 || (h == 14 && m != 0) {
        return None;
    }
    Some(sign * (h * 3600 + m * 60) as i32)
}

/// Parse an xsd:dateTime (`YYYY-MM-DDThh:mm:ss[.f+][Z|±hh:mm]`, years 0001–9999).
pub fn parse_date_time(text: &str) -> Result<ParsedDateTime, DateTimeError> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(DateTimeError::Syntax);
    }
    let year = digits(b, 0, 4).ok_or(DateTimeError::Syntax)?;
    let month = digits(b, 5, 2).ok_or(DateTimeError::Syntax)?;
    let day = digits(b, 8, 2).ok_or(DateTimeError::Syntax)?;
    let hour = digits(b, 11, 2).ok_or(DateTimeError::Syntax)?;
    let minute = digits(b, 14, 2).ok_or(DateTimeError::Syntax)?;
    let second = digits(b, 17, 2).ok_or(DateTimeError::Syntax)?;
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000_000u32;
        while i < b.len() && b[i].is_ascii_digit() {
            nanos += u32::from(b[i] - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return Err(DateTimeError::Syntax);
        }
    }
    let rest = &text[i..];
    let (offset, has_zone) = if rest.is_empty() {
        (0, false)
    } else {
        (parse_offset(rest, true).ok_or(DateTimeError::Syntax)?, true)
    };
    if year == 0 {
        return Err(DateTimeError::OutOfRange);
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or(DateTimeError::OutOfRange)?;
    // xsd allows 24:00:00 as the first instant of the next day.
    let naive = if hour == 24 && minute == 0 && second == 0 && nanos == 0 {
        NaiveDateTime::new(
            date.succ_opt().ok_or(DateTimeError::OutOfRange)?,
            NaiveTime::MIN,
        )
    } else {
        let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
            .filter(|_| second < 60)
            .ok_or(DateTimeError::OutOfRange)?;
        NaiveDateTime::new(date, time)
    };
    let tz = FixedOffset::east_opt(offset).ok_or(DateTimeError::OutOfRange)?;
    let value = tz
        .from_local_datetime(&naive)
        .single()
        .ok_or(DateTimeError::OutOfRange)?;
    Ok(ParsedDateTime { value, has_zone })
}

/// Format an instant the way the CBV event hash wants it: UTC, `Z`, exactly milliseconds
/// (sub-millisecond digits rounded half up).
pub fn hash_timestamp(value: &DateTime<FixedOffset>, out: &mut String) {
    use std::fmt::Write;
    let mut utc = value.with_timezone(&chrono::Utc);
    let nanos = utc.nanosecond() % 1_000_000_000;
    let rem = nanos % 1_000_000;
    if rem >= 500_000 {
        utc += chrono::Duration::nanoseconds(i64::from(1_000_000 - rem));
    } else {
        utc -= chrono::Duration::nanoseconds(i64::from(rem));
    }
    let _ = write!(out, "{}", utc.format("%Y-%m-%dT%H:%M:%S%.3fZ"));
}

/// Parse an xsd:date `YYYY-MM-DD` (an optional zone suffix is accepted and ignored).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let rest = &text[10..];
    if !rest.is_empty() && parse_offset(rest, true).is_none() {
        return None;
    }
    let y = digits(b, 0, 4)?;
    let m = digits(b, 5, 2)?;
    let d = digits(b, 8, 2)?;
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// True for an xsd:decimal lexical form: optional sign, digits, optional fraction; no exponent.
pub fn is_decimal(text: &str) -> bool {
    let t = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    let all_digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    match frac {
        None => !int.is_empty() && all_digits(int),
        Some(f) => (!int.is_empty() || !f.is_empty()) && all_digits(int) && all_digits(f),
    }
}

/// True for an xsd:int/integer lexical form.
pub fn is_integer(text: &str) -> bool {
    let t = text.strip_prefix(['+', '-']).unwrap_or(text);
    !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit())
}

/// xsd:boolean.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Canonical number text for the event hash: no `+`, no leading zeros, no trailing zeros
/// (`1` not `1.0`). Returns None when `text` is not a plain decimal number.
pub fn canonical_number(text: &str) -> Option<String> {
    if !is_decimal(text) {
        return None;
    }
    let (neg, t) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let mut out = String::with_capacity(t.len() + 2);
    if neg && !(int.is_empty() && frac.is_empty()) {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_with_offset_and_fraction_parses_to_the_right_instant() {
        let p = parse_date_time("2020-03-04T11:00:30.000+01:00").unwrap();
        assert!(p.has_zone);
        let mut s = String::new();
        hash_timestamp(&p.value, &mut s);
        assert_eq!(s, "2020-03-04T10:00:30.000Z");
    }

    #[test]
    fn date_time_without_zone_is_flagged_and_read_as_utc() {
        let p = parse_date_time("2024-03-01T09:30:00").unwrap();
        assert!(!p.has_zone);
        assert_eq!(p.value.offset().local_minus_utc(), 0);
    }

    #[test]
    fn sub_millisecond_digits_round_half_up() {
        let mut s = String::new();
        hash_timestamp(
            &parse_date_time("2020-01-01T00:00:00.1235Z").unwrap().value,
            &mut s,
        );
        assert_eq!(s, "2020-01-01T00:00:00.124Z");
        s.clear();
        hash_timestamp(
            &parse_date_time("2020-12-31T23:59:59.9996Z").unwrap().value,
            &mut s,
        );
        assert_eq!(s, "2021-01-01T00:00:00.000Z");
    }

    #[test]
    fn malformed_date_times_are_refused() {
        for t in [
            "2020-02-30T00:00:00Z",
            "2020-1-01T00:00:00Z",
            "2020-01-01 00:00:00Z",
            "2020-01-01T00:00:00+0100",
            "2020-01-01T25:00:00Z",
            "2020-01-01T00:00:00.Z",
        ] {
            assert!(parse_date_time(t).is_err(), "{t}");
        }
    }

    #[test]
    fn offsets_must_be_signed_hh_mm() {
        assert_eq!(parse_offset("-05:00", false), Some(-18000));
        assert_eq!(parse_offset("+14:00", false), Some(50400));
        for t in ["05:00", "+5:00", "+15:00", "+01:60", "Z", "+0100"] {
            assert_eq!(parse_offset(t, false), None, "{t}");
        }
    }

    #[test]
    fn decimals_and_canonical_numbers() {
        assert!(is_decimal("452") && is_decimal("-1.5") && is_decimal(".5") && is_decimal("5."));
        assert!(!is_decimal("1e5") && !is_decimal("") && !is_decimal("1,5") && !is_decimal("."));
        assert_eq!(canonical_number("1.0").as_deref(), Some("1"));
        assert_eq!(canonical_number("+007.50").as_deref(), Some("7.5"));
        assert_eq!(canonical_number("-0.0").as_deref(), Some("0"));
        assert_eq!(canonical_number("LOT1"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("2027-06-30"),
            NaiveDate::from_ymd_opt(2027, 6, 30)
        );
        assert_eq!(parse_date("2027-06-31"), None);
        assert_eq!(parse_date("20270630"), None);
    }
}
