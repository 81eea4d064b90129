//! GS1 dates: YYMMDD with the century rule, DD = 00, and the `Expiry` type (AI 17).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

use super::error::Gs1Error;

/// GS1 General Specifications §7.12 sliding window: a two-digit year YY is placed in the
/// century that keeps it within 49 years in the past / 50 years in the future of `current_year`.
pub fn century_rule(yy: u32, current_year: i32) -> i32 {
    let cur_yy = current_year.rem_euclid(100);
    let century = current_year - cur_yy;
    let diff = yy as i32 - cur_yy;
    if diff >= 51 {
        century - 100 + yy as i32
    } else if diff <= -50 {
        century + 100 + yy as i32
    } else {
        century + yy as i32
    }
}

fn two(b: &[u8]) -> u32 {
    ((b[0] - b'0') as u32) * 10 + (b[1] - b'0') as u32
}

/// Days in `month` (1-12) of `year`, proleptic Gregorian.
pub(crate) fn last_day_of_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Validate YYMMDD (digits checked by the caller or here) and return the calendar date.
/// `allow_day_zero` accepts DD = 00 (AIs 11-17), read as the last day of the month.
pub fn parse_yymmdd(
    what: &'static str,
    s: &str,
    allow_day_zero: bool,
    current_year: i32,
) -> Result<NaiveDate, Gs1Error> {
    let b = s.as_bytes();
    if b.len() != 6 {
        return Err(Gs1Error::length(what, s, "6 (YYMMDD)", s.chars().count()));
    }
    super::chars::require_digits(what, s)?;
    let year = century_rule(two(&b[0..2]), current_year);
    ymd(what, s, year, two(&b[2..4]), two(&b[4..6]), allow_day_zero)
}

/// Validate YYYYMMDD.
pub fn parse_yyyymmdd(what: &'static str, s: &str) -> Result<NaiveDate, Gs1Error> {
    let b = s.as_bytes();
    if b.len() != 8 {
        return Err(Gs1Error::length(what, s, "8 (YYYYMMDD)", s.chars().count()));
    }
    super::chars::require_digits(what, s)?;
    let year = (two(&b[0..2]) * 100 + two(&b[2..4])) as i32;
    ymd(what, s, year, two(&b[4..6]), two(&b[6..8]), false)
}

fn ymd(
    what: &'static str,
    s: &str,
    year: i32,
    month: u32,
    day: u32,
    allow_day_zero: bool,
) -> Result<NaiveDate, Gs1Error> {
    if !(1..=12).contains(&month) {
        return Err(Gs1Error::Date {
            what,
            input: s.to_string(),
            component: "month",
            found: format!("{month:02}"),
            rule: "month must be 01 to 12",
        });
    }
    let last = last_day_of_month(year, month);
    let day = if day == 0 && allow_day_zero {
        last
    } else if day == 0 {
        return Err(Gs1Error::Date {
            what,
            input: s.to_string(),
            component: "day",
            found: "00".into(),
            rule: "day 00 is not allowed for this date",
        });
    } else if day > last {
        return Err(Gs1Error::Date {
            what,
            input: s.to_string(),
            component: "day",
            found: format!("{day:02}"),
            rule: "day is past the end of the month",
        });
    } else {
        day
    };
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| Gs1Error::Date {
        what,
        input: s.to_string(),
        component: "date",
        found: s.to_string(),
        rule: "not a calendar date",
    })
}

/// HHMI (hours 00-23, minutes 00-59).
pub fn check_hhmi(what: &'static str, s: &str) -> Result<(), Gs1Error> {
    let b = s.as_bytes();
    if b.len() != 4 || !b.iter().all(u8::is_ascii_digit) {
        return Err(Gs1Error::length(
            what,
            s,
            "4 digits (HHMI)",
            s.chars().count(),
        ));
    }
    check_range(what, s, "hour", two(&b[0..2]), 23)?;
    check_range(what, s, "minute", two(&b[2..4]), 59)
}

pub(crate) fn check_range(
    what: &'static str,
    s: &str,
    component: &'static str,
    v: u32,
    max: u32,
) -> Result<(), Gs1Error> {
    if v > max {
        return Err(Gs1Error::Date {
            what,
            input: s.to_string(),
            component,
            found: format!("{v:02}"),
            rule: match component {
                "hour" => "hour must be 00 to 23",
                _ => "minutes and seconds must be 00 to 59",
            },
        });
    }
    Ok(())
}

pub(crate) fn current_year() -> i32 {
    chrono::Utc::now().year()
}

/// Expiration date (AI 17, YYMMDD). Keeps the six digits as given (DD may be 00) and the
/// resolved calendar date (DD = 00 → last day of the month).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Expiry {
    date: NaiveDate,
    yymmdd: [u8; 6],
}

impl Expiry {
    /// Parse YYMMDD with the century window relative to the current year.
    pub fn parse(s: &str) -> Result<Self, Gs1Error> {
        Self::parse_with_year(s, current_year())
    }

    /// Parse YYMMDD with the century window relative to `current_year` (deterministic for tests).
    pub fn parse_with_year(s: &str, current_year: i32) -> Result<Self, Gs1Error> {
        let date = parse_yymmdd("expiry date (AI 17)", s, true, current_year)?;
        let mut yymmdd = [0u8; 6];
        yymmdd.copy_from_slice(s.as_bytes());
        Ok(Expiry { date, yymmdd })
    }

    /// From an ISO date "YYYY-MM-DD" (as EPCIS `itemExpirationDate` carries it).
    pub fn from_iso_date(s: &str) -> Result<Self, Gs1Error> {
        let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            Gs1Error::invalid("expiry date", s, "ISO date", "must be YYYY-MM-DD", s)
        })?;
        if s.len() != 10 {
            return Err(Gs1Error::length(
                "expiry date",
                s,
                "10 (YYYY-MM-DD)",
                s.chars().count(),
            ));
        }
        Self::from_date(date)
    }

    /// From a calendar date; the year must be representable in the GS1 window of today.
    pub fn from_date(date: NaiveDate) -> Result<Self, Gs1Error> {
        let cur = current_year();
        let yy = date.year().rem_euclid(100) as u32;
        if century_rule(yy, cur) != date.year() {
            return Err(Gs1Error::invalid(
                "expiry date",
                &date.to_string(),
                "year",
                "outside the GS1 two-digit-year window around the current year",
                date.year().to_string(),
            ));
        }
        let txt = format!("{:02}{:02}{:02}", yy, date.month(), date.day());
        let mut yymmdd = [0u8; 6];
        yymmdd.copy_from_slice(txt.as_bytes());
        Ok(Expiry { date, yymmdd })
    }

    /// The calendar date (DD = 00 resolved to the last day of the month).
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// The six digits as given.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.yymmdd).unwrap_or("")
    }

    /// True when the day was given as 00 (only year and month are known).
    pub fn day_unspecified(&self) -> bool {
        &self.yymmdd[4..] == b"00"
    }
}

impl fmt::Display for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Expiry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Expiry({} = {})", self.as_str(), self.date)
    }
}

impl FromStr for Expiry {
    type Err = Gs1Error;
    fn from_str(s: &str) -> Result<Self, Gs1Error> {
        Expiry::parse(s)
    }
}

impl TryFrom<&str> for Expiry {
    type Error = Gs1Error;
    fn try_from(s: &str) -> Result<Self, Gs1Error> {
        Expiry::parse(s)
    }
}

impl serde::Serialize for Expiry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.date.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn century_rule_follows_the_sliding_window() {
        assert_eq!(century_rule(26, 2026), 2026);
        assert_eq!(century_rule(76, 2026), 2076);
        assert_eq!(century_rule(77, 2026), 1977);
        assert_eq!(century_rule(99, 2026), 1999);
        assert_eq!(century_rule(75, 2025), 2075);
        assert_eq!(century_rule(76, 2025), 1976);
        // Near the end of a century the window reaches into the next one.
        assert_eq!(century_rule(10, 2090), 2110);
        assert_eq!(century_rule(40, 2090), 2140);
        assert_eq!(century_rule(41, 2090), 2041);
    }

    #[test]
    fn day_zero_means_the_last_day_of_the_month() {
        let e = Expiry::parse_with_year("240200", 2026).unwrap();
        assert_eq!(e.date(), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        assert!(e.day_unspecified());
        assert_eq!(e.as_str(), "240200");
        let e = Expiry::parse_with_year("250200", 2026).unwrap();
        assert_eq!(e.date(), NaiveDate::from_ymd_opt(2025, 2, 28).unwrap());
    }

    #[test]
    fn impossible_dates_are_refused_with_the_component() {
        let e = Expiry::parse_with_year("261301", 2026).unwrap_err();
        assert_eq!(e.code(), "gs1.date");
        assert!(e.to_string().contains("month \"13\""), "{e}");
        let e = Expiry::parse_with_year("250229", 2026).unwrap_err();
        assert!(e.to_string().contains("day \"29\""), "{e}");
        assert!(Expiry::parse_with_year("240229", 2026).is_ok());
        assert_eq!(
            Expiry::parse_with_year("2602", 2026).unwrap_err().code(),
            "gs1.length"
        );
    }

    #[test]
    fn iso_dates_round_trip() {
        let e = Expiry::from_iso_date("2026-12-31").unwrap();
        assert_eq!(e.as_str(), "261231");
        assert_eq!(e.date().to_string(), "2026-12-31");
        assert!(Expiry::from_iso_date("2026-02-30").is_err());
        assert!(Expiry::from_iso_date("1900-01-01").is_err());
    }

    #[test]
    fn month_lengths_follow_the_gregorian_calendar() {
        for (y, m, d) in [
            (2024, 2, 29),
            (2025, 2, 28),
            (2000, 2, 29),
            (2100, 2, 28),
            (2026, 4, 30),
            (2026, 12, 31),
        ] {
            assert_eq!(last_day_of_month(y, m), d, "{y}-{m}");
            assert!(NaiveDate::from_ymd_opt(y, m, d).is_some());
            assert!(NaiveDate::from_ymd_opt(y, m, d + 1).is_none());
        }
    }

    #[test]
    fn hhmi_ranges() {
        assert!(check_hhmi("t", "2359").is_ok());
        assert_eq!(check_hhmi("t", "2400").unwrap_err().code(), "gs1.date");
        assert!(check_hhmi("t", "1260").is_err());
    }
}
