//! EPC pure-identity URIs written (TDS): a GS1 key is split at its GS1 Company Prefix, whose
//! length comes from the URI the EPC was parsed from, else from a [`GcpResolver`].

use super::super::chars::epc_escape;
use super::super::error::Gs1Error;
use super::super::gcp::GcpResolver;
use super::Epc;

impl Epc {
    /// The GS1 Company Prefix, if its length is known from the hint or `gcp`.
    pub fn company_prefix(&self, gcp: &GcpResolver) -> Result<String, Gs1Error> {
        let n = self.gcp_len(gcp)? as usize;
        Ok(self.gcp_digits()[..n].to_string())
    }

    fn gcp_len(&self, gcp: &GcpResolver) -> Result<u8, Gs1Error> {
        if let Some(n) = self.gcp_length_hint() {
            return Ok(n);
        }
        let what = match self {
            Epc::Sgtin(_) | Epc::Lgtin(_) | Epc::GtinClass(_) | Epc::Upui(_) => "GTIN",
            Epc::Sscc(_) => "SSCC",
            Epc::Sgln(_) | Epc::Pgln(_) => "GLN",
            _ => "GS1 key",
        };
        let digits = self.gcp_digits();
        let n = gcp.gcp_length(what, digits)?;
        // The prefix must fit in the key's numeric part.
        let max = match self {
            // A non-empty reference must follow the prefix.
            Epc::Giai(_) | Epc::Ginc(_) | Epc::Cpi(_) => digits
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count()
                .min(digits.len() - 1),
            _ => 12,
        };
        // EPC URIs carry company prefixes of 6 to 12 digits (TDS).
        if !(6..=max.min(12)).contains(&(n as usize)) {
            return Err(Gs1Error::GcpUnknown {
                what,
                key: digits.to_string(),
                reason: format!(
                    "resolved GCP length {n} does not fit an EPC URI of this key (6 to {} digits)",
                    max.min(12)
                ),
            });
        }
        Ok(n)
    }

    /// The EPC pure-identity URI. GS1 keys need the GCP length: from the URI this was parsed
    /// from, else from `gcp`; an error if neither knows it.
    pub fn to_epc_uri(&self, gcp: &GcpResolver) -> Result<String, Gs1Error> {
        if let Some(u) = self.non_gs1_uri() {
            return Ok(u);
        }
        let l = self.gcp_len(gcp)? as usize;
        let mut s = String::with_capacity(64);
        match self {
            Epc::Lgtin(_) => s.push_str("urn:epc:class:lgtin:"),
            Epc::GtinClass(_) => s.push_str("urn:epc:idpat:sgtin:"),
            _ => {
                s.push_str("urn:epc:id:");
                s.push_str(self.scheme());
                s.push(':');
            }
        }
        match self {
            Epc::Sgtin(_) | Epc::Lgtin(_) | Epc::GtinClass(_) | Epc::Upui(_) | Epc::Itip(_) => {
                self.write_gtin_fields(l, &mut s)
            }
            _ => self.write_key_fields(l, &mut s),
        }
        Ok(s)
    }

    /// The fields of a GTIN-based EPC after `scheme:`, for a GCP of `l` digits.
    fn write_gtin_fields(&self, l: usize, s: &mut String) {
        match self {
            Epc::Sgtin(x) => {
                indicator_split(x.gtin.as_str(), l, s);
                s.push('.');
                epc_escape(x.serial.as_str(), s);
            }
            Epc::Lgtin(x) => {
                indicator_split(x.gtin.as_str(), l, s);
                s.push('.');
                epc_escape(x.lot.as_str(), s);
            }
            Epc::GtinClass(g) => {
                indicator_split(g.as_str(), l, s);
                s.push_str(".*");
            }
            Epc::Upui(k) => {
                indicator_split(&k.primary, l, s);
                s.push('.');
                epc_escape(k.secondary.as_deref().unwrap_or(""), s);
            }
            Epc::Itip(k) => {
                indicator_split(&k.primary, l, s);
                s.push('.');
                s.push_str(&k.primary[14..16]);
                s.push('.');
                s.push_str(&k.primary[16..18]);
                s.push('.');
                epc_escape(k.secondary.as_deref().unwrap_or(""), s);
            }
            _ => unreachable!("only GTIN-based EPCs are written here"),
        }
    }

    /// The fields of any other GS1 EPC after `scheme:`, for a GCP of `l` digits.
    fn write_key_fields(&self, l: usize, s: &mut String) {
        match self {
            Epc::Sscc(x) => {
                let v = x.as_str();
                s.push_str(&v[1..1 + l]);
                s.push('.');
                s.push_str(&v[..1]);
                s.push_str(&v[1 + l..17]);
            }
            Epc::Sgln(x) => {
                plain_split(x.gln.as_str(), l, 13, s);
                s.push('.');
                match &x.extension {
                    Some(e) => epc_escape(e.as_str(), s),
                    None => s.push('0'),
                }
            }
            Epc::Pgln(g) => plain_split(g.as_str(), l, 13, s),
            Epc::Gsrn(k) | Epc::Gsrnp(k) => plain_split(&k.primary, l, 18, s),
            Epc::Gsin(k) => plain_split(&k.primary, l, 17, s),
            Epc::Gdti(k) | Epc::Sgcn(k) => {
                plain_split(&k.primary[..13], l, 13, s);
                s.push('.');
                epc_escape(&k.primary[13..], s);
            }
            Epc::Grai(k) => {
                plain_split(&k.primary[1..14], l, 13, s);
                s.push('.');
                epc_escape(&k.primary[14..], s);
            }
            Epc::Giai(k) | Epc::Ginc(k) => {
                s.push_str(&k.primary[..l]);
                s.push('.');
                epc_escape(&k.primary[l..], s);
            }
            Epc::Cpi(k) => {
                s.push_str(&k.primary[..l]);
                s.push('.');
                // CPI references may hold '/' and '#', which TDS escapes.
                for b in k.primary[l..].bytes() {
                    match b {
                        b'/' => s.push_str("%2F"),
                        b'#' => s.push_str("%23"),
                        _ => s.push(b as char),
                    }
                }
                s.push('.');
                s.push_str(k.secondary.as_deref().unwrap_or(""));
            }
            _ => unreachable!("GTIN-based and non-GS1 EPCs are written elsewhere"),
        }
    }
}

/// Indicator-first split of a GTIN (`CP.indicator+item`): CP = digits[1..1+l], second field =
/// indicator + the rest without the check digit.
fn indicator_split(v: &str, l: usize, s: &mut String) {
    s.push_str(&v[1..1 + l]);
    s.push('.');
    s.push_str(&v[..1]);
    s.push_str(&v[1 + l..13]);
}

/// Plain split of an `n`-digit key with check digit: `CP.reference`.
fn plain_split(v: &str, l: usize, n: usize, s: &mut String) {
    s.push_str(&v[..l]);
    s.push('.');
    s.push_str(&v[l..n - 1]);
}
