//! GS1 Company Prefix (GCP) length resolution.
//!
//! Writing an EPC URI from a GTIN, SSCC or GLN needs the GCP length, which the key's digits
//! alone do not give. Order of resolution (first that knows wins):
//! 1. prefixes the system has learned at run time (URIs seen in received documents,
//!    configured trade items) — [`GcpResolver::learn`];
//! 2. the US-pharma NDC rule for GTINs whose digits after the indicator start `03`
//!    (GCP = `03` + NDC labeler code) — [`GcpResolver::set_ndc_rule`];
//! 3. a GCP length table in GS1's `GCPPrefixFormatList` format that the operator loads
//!    (XML or JSON text; reading the file is the caller's job) — [`GcpResolver::load_table`].
//!
//! When none knows, the answer is an error: a wrong guess would mint wrong EPC URIs.

use std::collections::{BTreeMap, HashMap};

use super::error::Gs1Error;

/// Resolves GCP lengths. Fill it at start-up and as documents arrive; share it read-only.
#[derive(Clone, Debug)]
pub struct GcpResolver {
    learned: HashMap<String, ()>,
    ndc_rule: bool,
    ndc_labelers: HashMap<String, u8>,
    table: BTreeMap<String, u8>,
    table_date: Option<String>,
}

impl Default for GcpResolver {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a resolved length came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GcpSource {
    Learned,
    NdcRule,
    Table,
}

impl GcpResolver {
    /// Empty resolver with the NDC rule enabled.
    pub fn new() -> Self {
        GcpResolver {
            learned: HashMap::new(),
            ndc_rule: true,
            ndc_labelers: HashMap::new(),
            table: BTreeMap::new(),
            table_date: None,
        }
    }

    /// Enable or disable the US-pharma NDC rule (on by default).
    pub fn set_ndc_rule(&mut self, on: bool) {
        self.ndc_rule = on;
    }

    /// Learn a company prefix (6 to 12 digits), e.g. from an EPC URI seen in a document.
    pub fn learn(&mut self, gcp: &str) -> Result<(), Gs1Error> {
        if !(6..=12).contains(&gcp.len()) {
            return Err(Gs1Error::length(
                "GS1 Company Prefix",
                gcp,
                "6 to 12",
                gcp.chars().count(),
            ));
        }
        super::chars::require_digits("GS1 Company Prefix", gcp)?;
        self.learned.insert(gcp.to_string(), ());
        Ok(())
    }

    /// Learn the prefix an EPC URI showed (no-op for EPCs without a hint).
    pub fn learn_from_epc(&mut self, epc: &super::Epc) {
        if let Some(n) = epc.gcp_length_hint() {
            let d = epc.gcp_digits();
            if let Some(p) = d.get(..n as usize) {
                // A hint is always 6-12 digits from a parsed URI.
                let _ = self.learn(p);
            }
        }
    }

    /// Register an NDC labeler code with its known length (4 or 5 digits), from configured
    /// products whose NDC segmentation (e.g. 4-4-2) is known. Overrides the leading-digit rule.
    pub fn learn_ndc(&mut self, ndc: &super::Ndc) {
        if let Some(lab) = ndc.labeler() {
            self.ndc_labelers.insert(lab.to_string(), lab.len() as u8);
        }
    }

    /// Number of table entries loaded.
    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// The `date` attribute of the loaded table.
    pub fn table_date(&self) -> Option<&str> {
        self.table_date.as_deref()
    }

    /// Load a GCP length table (GS1 `GCPPrefixFormatList`) from XML or JSON text. Entries are
    /// added to (and override) what was loaded before. Returns the number of entries read.
    pub fn load_table(&mut self, text: &str) -> Result<usize, Gs1Error> {
        let t = text.trim_start_matches('\u{feff}').trim_start();
        if t.starts_with('{') {
            self.load_json(t)
        } else {
            self.load_xml(t)
        }
    }

    fn add_entry(&mut self, position: usize, prefix: &str, len: &str) -> Result<(), Gs1Error> {
        if prefix.is_empty() || prefix.len() > 12 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Gs1Error::GcpTable {
                position,
                reason: format!("prefix {prefix:?} must be 1 to 12 digits"),
            });
        }
        let n: u8 = len.parse().map_err(|_| Gs1Error::GcpTable {
            position,
            reason: format!("gcpLength {len:?} is not a number"),
        })?;
        if n != 0 && !(4..=12).contains(&n) {
            return Err(Gs1Error::GcpTable {
                position,
                reason: format!("gcpLength {n} must be 0 or 4 to 12"),
            });
        }
        self.table.insert(prefix.to_string(), n);
        Ok(())
    }

    fn load_xml(&mut self, xml: &str) -> Result<usize, Gs1Error> {
        if !xml.contains("GCPPrefixFormatList") {
            return Err(Gs1Error::GcpTable {
                position: 0,
                reason: "no <GCPPrefixFormatList> element".into(),
            });
        }
        if let Some(root) = xml.find("<GCPPrefixFormatList") {
            let end = xml[root..].find('>').map_or(xml.len(), |e| root + e);
            self.table_date = attr(&xml[root..end], "date").map(str::to_string);
        }
        let mut n = 0;
        let mut from = 0;
        while let Some(k) = xml[from..].find("<entry") {
            let start = from + k;
            let end = xml[start..]
                .find('>')
                .map(|e| start + e)
                .ok_or(Gs1Error::GcpTable {
                    position: start,
                    reason: "unterminated <entry".into(),
                })?;
            let tag = &xml[start..end];
            let prefix = attr(tag, "prefix").ok_or(Gs1Error::GcpTable {
                position: start,
                reason: "<entry> without prefix attribute".into(),
            })?;
            let len = attr(tag, "gcpLength").ok_or(Gs1Error::GcpTable {
                position: start,
                reason: "<entry> without gcpLength attribute".into(),
            })?;
            self.add_entry(start, prefix, len)?;
            n += 1;
            from = end;
        }
        Ok(n)
    }

    fn load_json(&mut self, json: &str) -> Result<usize, Gs1Error> {
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| Gs1Error::GcpTable {
            position: e.column(),
            reason: format!("JSON: {e}"),
        })?;
        let list = &v["GCPPrefixFormatList"];
        self.table_date = list["date"].as_str().map(str::to_string);
        let entries = list["entry"].as_array().ok_or(Gs1Error::GcpTable {
            position: 0,
            reason: "no GCPPrefixFormatList.entry array".into(),
        })?;
        for (i, e) in entries.iter().enumerate() {
            let prefix = e["prefix"].as_str().ok_or(Gs1Error::GcpTable {
                position: i,
                reason: format!("entry {i} has no string prefix"),
            })?;
            let len = match &e["gcpLength"] {
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::String(s) => s.clone(),
                _ => {
                    return Err(Gs1Error::GcpTable {
                        position: i,
                        reason: format!("entry {i} has no gcpLength"),
                    })
                }
            };
            self.add_entry(i, prefix, &len)?;
        }
        Ok(entries.len())
    }

    /// The GCP length for a key's digits (for a GTIN: the 13 digits after the indicator; for
    /// an SSCC: after the extension digit). `what` names the key for the error message.
    pub fn gcp_length(&self, what: &'static str, digits: &str) -> Result<u8, Gs1Error> {
        self.resolve(what, digits).map(|(n, _)| n)
    }

    /// As [`gcp_length`](Self::gcp_length), also saying which source answered.
    pub fn resolve(&self, what: &'static str, digits: &str) -> Result<(u8, GcpSource), Gs1Error> {
        let unknown = |reason: String| Gs1Error::GcpUnknown {
            what,
            key: digits.to_string(),
            reason,
        };
        // 1. Learned prefixes. GCPs are prefix-free; if learned data disagrees, refuse.
        let hits: Vec<usize> = (6..=12.min(digits.len()))
            .filter(|&n| self.learned.contains_key(&digits[..n]))
            .collect();
        match hits.as_slice() {
            [n] => return Ok((*n as u8, GcpSource::Learned)),
            [] => {}
            many => {
                return Err(unknown(format!(
                    "learned prefixes of lengths {many:?} all match; the learned data conflicts"
                )))
            }
        }
        // 2. NDC rule: GTIN digits after the indicator "03" + NDC-10.
        if self.ndc_rule && what == "GTIN" && digits.len() == 13 && digits.starts_with("03") {
            let ndc10 = &digits[2..12];
            if let Some(n) = self.ndc_labelers.get(&ndc10[..4]).filter(|&&n| n == 4) {
                return Ok((2 + n, GcpSource::NdcRule));
            }
            if let Some(n) = self.ndc_labelers.get(&ndc10[..5]).filter(|&&n| n == 5) {
                return Ok((2 + n, GcpSource::NdcRule));
            }
            return Ok((2 + super::ndc::labeler_len_rule(ndc10), GcpSource::NdcRule));
        }
        // 3. The table: longest matching prefix.
        if !self.table.is_empty() {
            for n in (1..=digits.len().min(12)).rev() {
                if let Some(&len) = self.table.get(&digits[..n]) {
                    if len == 0 {
                        return Err(unknown(format!(
                            "the GCP length table marks prefix {} as not issued for company prefixes",
                            &digits[..n]
                        )));
                    }
                    return Ok((len, GcpSource::Table));
                }
            }
            return Err(unknown("no entry of the GCP length table matches".into()));
        }
        Err(unknown(
            "no learned prefix matches and no GCP length table is loaded".into(),
        ))
    }
}

/// Value of `name="…"` or `name='…'` inside a start tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    while let Some(k) = tag[from..].find(name) {
        let i = from + k;
        let before_ok = i > 0 && tag.as_bytes()[i - 1].is_ascii_whitespace();
        let rest = tag[i + name.len()..].trim_start();
        if before_ok {
            if let Some(r) = rest.strip_prefix('=') {
                let r = r.trim_start();
                let q = r.chars().next()?;
                if q == '"' || q == '\'' {
                    let end = r[1..].find(q)?;
                    return Some(&r[1..1 + end]);
                }
            }
        }
        from = i + name.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    // A small table of our own in the GCPPrefixFormatList format (not GS1's data).
    const TABLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<GCPPrefixFormatList date="2026-11-01T00:00:00">
  <entry prefix="061" gcpLength="7"/>
  <entry prefix="0614" gcpLength="9" />
  <entry prefix='0999' gcpLength='0'/>
  <entry prefix="40" gcpLength="7"/>
</GCPPrefixFormatList>"#;

    #[test]
    fn table_longest_prefix_wins() {
        let mut r = GcpResolver::new();
        assert_eq!(r.load_table(TABLE).unwrap(), 4);
        assert_eq!(r.table_date(), Some("2026-11-01T00:00:00"));
        assert_eq!(
            r.resolve("GTIN", "0614141000005").unwrap(),
            (9, GcpSource::Table)
        );
        assert_eq!(r.gcp_length("GTIN", "0615141000005").unwrap(), 7);
        assert_eq!(r.gcp_length("GLN", "4012345000115").unwrap(), 7);
        let e = r.gcp_length("GTIN", "0999141000005").unwrap_err();
        assert_eq!(e.code(), "gs1.gcp_unknown");
        assert!(r.gcp_length("GTIN", "5012345000005").is_err());
    }

    #[test]
    fn json_table_is_read_too() {
        let mut r = GcpResolver::new();
        let n = r
            .load_table(r#"{"GCPPrefixFormatList":{"date":"x","entry":[{"prefix":"061","gcpLength":8},{"prefix":"40","gcpLength":"7"}]}}"#)
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(r.gcp_length("GTIN", "0614141000005").unwrap(), 8);
    }

    #[test]
    fn malformed_tables_are_refused_with_position() {
        let mut r = GcpResolver::new();
        let e = r.load_table("<GCPPrefixFormatList><entry prefix=\"06a\" gcpLength=\"7\"/></GCPPrefixFormatList>").unwrap_err();
        assert_eq!(e.code(), "gs1.gcp_table");
        assert!(e.to_string().contains("position 21"), "{e}");
        assert!(r.load_table("<GCPPrefixFormatList><entry prefix=\"06\" gcpLength=\"13\"/></GCPPrefixFormatList>").is_err());
        assert!(r.load_table("<x/>").is_err());
    }

    #[test]
    fn learned_prefixes_come_before_the_ndc_rule_and_the_table() {
        let mut r = GcpResolver::new();
        r.load_table(TABLE).unwrap();
        r.learn("061414100").unwrap();
        assert_eq!(
            r.resolve("GTIN", "0614141000005").unwrap(),
            (9, GcpSource::Learned)
        );
        r.learn("0312345678").unwrap();
        assert_eq!(
            r.resolve("GTIN", "0312345678906").unwrap(),
            (10, GcpSource::Learned)
        );
        r.learn("03123456").unwrap();
        assert!(
            r.resolve("GTIN", "0312345678906").is_err(),
            "conflicting learned data"
        );
        assert!(r.learn("12345").is_err());
    }

    #[test]
    fn ndc_rule_gives_03_plus_labeler() {
        let r = GcpResolver::new();
        assert_eq!(
            r.resolve("GTIN", "0312345678906").unwrap(),
            (7, GcpSource::NdcRule)
        );
        assert_eq!(
            r.resolve("GTIN", "0300021433801").unwrap(),
            (6, GcpSource::NdcRule)
        );
        // Not a GTIN: the NDC rule does not apply to GLNs.
        assert!(r.resolve("GLN", "0312345000011").is_err());
        let mut off = GcpResolver::new();
        off.set_ndc_rule(false);
        assert!(off.resolve("GTIN", "0312345678906").is_err());
    }
}
