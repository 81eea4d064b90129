//! EPC URIs read strictly (TDS): `urn:epc:id:`, `urn:epc:class:lgtin:` and
//! `urn:epc:idpat:sgtin:`, one function per scheme; the non-GS1 schemes are in `parse_other`.
//! The SGTIN is the hot path (every item of a capture): it is parsed without allocating.

use super::super::ai::table;
use super::super::chars::{
    bad_char, hex_val, is_cset39, is_cset82, is_epc_literal, mod10_check_digit, pct_decode,
};
use super::super::dates::current_year;
use super::super::error::{shown, Gs1Error};
use super::super::keys::{check_cset82, GcpHint, Gln, Gtin, Lot, SerialNumber, Sscc};
use super::parse_other;
use super::{Epc, KeyedId, Lgtin, Sgln, Sgtin};

const SCHEMES: &str = "sgtin, sscc, sgln, grai, giai, gsrn, gsrnp, gdti, cpi, sgcn, ginc, gsin, itip, upui, pgln, gid, usdod, adi, bic, imovn (id); lgtin (class); sgtin (idpat)";

/// Parse any `urn:epc:id:`, `urn:epc:class:` or `urn:epc:idpat:` URI strictly.
pub fn parse_epc_uri(uri: &str) -> Result<Epc, Gs1Error> {
    let (kind, rest) = if let Some(r) = uri.strip_prefix("urn:epc:id:") {
        ("id", r)
    } else if let Some(r) = uri.strip_prefix("urn:epc:class:") {
        ("class", r)
    } else if let Some(r) = uri.strip_prefix("urn:epc:idpat:") {
        ("idpat", r)
    } else {
        return Err(Gs1Error::syntax(
            "EPC URI",
            uri,
            0,
            "urn:epc:id:, urn:epc:class: or urn:epc:idpat:",
            format!("{:?}", uri.chars().take(14).collect::<String>()),
        ));
    };
    let (scheme, body) = rest.split_once(':').ok_or_else(|| {
        Gs1Error::syntax(
            "EPC URI",
            uri,
            uri.len() - rest.len(),
            "scheme:fields",
            format!("{rest:?}"),
        )
    })?;
    let u = Urn {
        uri,
        scheme,
        body,
        at: uri.len() - body.len(),
    };
    match (kind, scheme) {
        ("id", "sgtin") => Sgtin::from_epc_uri(uri).map(Epc::Sgtin),
        ("class", "lgtin") => lgtin(u),
        ("idpat", "sgtin") => gtin_class(u),
        ("id", "sscc") => sscc(u),
        ("id", "sgln") => sgln(u),
        ("id", "pgln") => pgln(u),
        ("id", "grai") => grai(u),
        ("id", "gdti") | ("id", "sgcn") => gdti_or_sgcn(u),
        ("id", "gsrn") | ("id", "gsrnp") => gsrn_or_gsrnp(u),
        ("id", "gsin") => gsin(u),
        ("id", "giai") | ("id", "ginc") => giai_or_ginc(u),
        ("id", "cpi") => cpi(u),
        ("id", "itip") => itip(u),
        ("id", "upui") => upui(u),
        ("id", "usdod") => parse_other::usdod(u),
        ("id", "adi") => parse_other::adi(u),
        ("id", "bic") => parse_other::bic(u),
        ("id", "imovn") => parse_other::imovn(u),
        ("id", "gid") => parse_other::gid(u),
        _ => Err(Gs1Error::EpcScheme {
            input: shown(uri),
            scheme: format!("{kind}:{scheme}"),
            expected: SCHEMES,
        }),
    }
}

/// An EPC URI being parsed: the whole URI (errors name positions in it), its scheme, and the
/// fields after `scheme:`, which begin at byte `at`.
#[derive(Clone, Copy)]
pub(super) struct Urn<'a> {
    pub(super) uri: &'a str,
    pub(super) scheme: &'a str,
    pub(super) body: &'a str,
    pub(super) at: usize,
}

impl<'a> Urn<'a> {
    /// Exactly `n` dot-separated fields (the last one keeps any further dots).
    pub(super) fn fields(&self, n: usize) -> Result<Vec<&'a str>, Gs1Error> {
        let f: Vec<&str> = self.body.splitn(n, '.').collect();
        if f.len() != n {
            return Err(comp_err(
                self.uri,
                self.at,
                "fields",
                format!("{n} dot-separated fields for {}", self.scheme),
                self.body,
            ));
        }
        Ok(f)
    }
}

impl Sgtin {
    /// Parse an `urn:epc:id:sgtin:` URI (zero allocations on success).
    pub fn from_epc_uri(uri: &str) -> Result<Self, Gs1Error> {
        let body = uri.strip_prefix("urn:epc:id:sgtin:").ok_or_else(|| {
            Gs1Error::syntax(
                "SGTIN URI",
                uri,
                0,
                "\"urn:epc:id:sgtin:\"",
                format!("{:?}", uri.chars().take(17).collect::<String>()),
            )
        })?;
        let (gtin, rest) = gtin_fields(uri, "urn:epc:id:sgtin:".len(), body)?;
        let serial = with_decoded(uri, "serial number", rest, SerialNumber::parse)?;
        Ok(Sgtin { gtin, serial })
    }

    /// [`Sgtin::from_epc_uri`] for a URI that begins with `prefix` (`urn:epc:id:sgtin:CP.ITEM.`,
    /// up to and including the second dot) of a URI already parsed into `known`: only the
    /// serial is parsed, with the same result and errors. The EPCs of one list usually share
    /// their GTIN.
    pub(crate) fn from_epc_uri_sharing_gtin(
        uri: &str,
        prefix: &str,
        known: &Sgtin,
    ) -> Option<Result<Self, Gs1Error>> {
        let rest = uri.strip_prefix(prefix)?;
        let serial = with_decoded(uri, "serial number", rest, SerialNumber::parse);
        Some(serial.map(|serial| Sgtin {
            gtin: known.gtin,
            serial,
        }))
    }

    /// The part of an SGTIN URI that names its GTIN (`urn:epc:id:sgtin:CP.ITEM.`).
    pub(crate) fn gtin_prefix_of(uri: &str) -> Option<&str> {
        let body = uri.strip_prefix("urn:epc:id:sgtin:")?;
        let body_at = uri.len() - body.len();
        let b = body.as_bytes();
        let d1 = b.iter().position(|&c| c == b'.')?;
        let d2 = b[d1 + 1..].iter().position(|&c| c == b'.')? + d1 + 1;
        uri.get(..body_at + d2 + 1)
    }
}

/// `lgtin:CP.IndicatorItem.lot`
fn lgtin(u: Urn) -> Result<Epc, Gs1Error> {
    let (gtin, rest) = gtin_fields(u.uri, u.at, u.body)?;
    let lot = with_decoded(u.uri, "lot", rest, Lot::parse)?;
    Ok(Epc::Lgtin(Lgtin::new(gtin, lot)))
}

/// `idpat:sgtin:CP.IndicatorItem.*`: every instance of one GTIN.
fn gtin_class(u: Urn) -> Result<Epc, Gs1Error> {
    let uri = u.uri;
    let (gtin, rest) = gtin_fields(uri, u.at, u.body)?;
    if rest != "*" {
        return Err(comp_err(
            uri,
            uri.len() - rest.len(),
            "serial pattern",
            "\"*\" (only CP.ITEM.* patterns name one GTIN)".into(),
            rest,
        ));
    }
    Ok(Epc::GtinClass(gtin))
}

/// `sscc:CP.ExtensionSerial`
fn sscc(u: Urn) -> Result<Epc, Gs1Error> {
    let f = u.fields(2)?;
    check_cp_ref(
        u.uri,
        u.at,
        f[0],
        f[1],
        17,
        "extension and serial reference",
    )?;
    let data = format!("{}{}{}", &f[1][..1], f[0], &f[1][1..]);
    Ok(Epc::Sscc(
        Sscc::from_data_digits(&data)?.with_gcp_hint(hint(f[0])),
    ))
}

/// `sgln:CP.LocationReference.extension` (extension "0": none)
fn sgln(u: Urn) -> Result<Epc, Gs1Error> {
    let f = u.fields(3)?;
    check_cp_ref(u.uri, u.at, f[0], f[1], 12, "location reference")?;
    let gln = Gln::from_data_digits(&format!("{}{}", f[0], f[1]))?.with_gcp_hint(hint(f[0]));
    let ext = decode_component(u.uri, "GLN extension", f[2])?;
    check_cset82("GLN extension", &ext, 20)?;
    Ok(Epc::Sgln(Sgln::new(gln, Some(&ext))?))
}

/// `pgln:CP.PartyReference`
fn pgln(u: Urn) -> Result<Epc, Gs1Error> {
    let f = u.fields(2)?;
    check_cp_ref(u.uri, u.at, f[0], f[1], 12, "party reference")?;
    Ok(Epc::Pgln(
        Gln::from_data_digits(&format!("{}{}", f[0], f[1]))?.with_gcp_hint(hint(f[0])),
    ))
}

/// `grai:CP.AssetType.serial` (AI 8003 with a serial component)
fn grai(u: Urn) -> Result<Epc, Gs1Error> {
    let uri = u.uri;
    let f = u.fields(3)?;
    check_cp_ref(uri, u.at, f[0], f[1], 12, "asset type")?;
    let serial = decode_component(uri, "serial", f[2])?;
    let v = format!("0{}{}", with_check(&format!("{}{}", f[0], f[1])), serial);
    ai_ok("8003", &v)?;
    if serial.is_empty() {
        return Err(comp_err(
            uri,
            uri.len(),
            "serial",
            "1 to 16 characters".into(),
            "",
        ));
    }
    Ok(Epc::Grai(keyed(v, None, f[0])))
}

/// `gdti:CP.DocumentType.serial` and `sgcn:CP.CouponReference.serial`
fn gdti_or_sgcn(u: Urn) -> Result<Epc, Gs1Error> {
    let (uri, gdti) = (u.uri, u.scheme == "gdti");
    let f = u.fields(3)?;
    check_cp_ref(
        uri,
        u.at,
        f[0],
        f[1],
        12,
        if gdti {
            "document type"
        } else {
            "coupon reference"
        },
    )?;
    let serial = decode_component(uri, "serial", f[2])?;
    if serial.is_empty() {
        return Err(comp_err(
            uri,
            uri.len(),
            "serial",
            "a non-empty serial component".into(),
            "",
        ));
    }
    let v = format!("{}{}", with_check(&format!("{}{}", f[0], f[1])), serial);
    if gdti {
        ai_ok("253", &v)?;
        Ok(Epc::Gdti(keyed(v, None, f[0])))
    } else {
        ai_ok("255", &v)?;
        Ok(Epc::Sgcn(keyed(v, None, f[0])))
    }
}

/// `gsrn:CP.ServiceReference` and `gsrnp:CP.ServiceReference`
fn gsrn_or_gsrnp(u: Urn) -> Result<Epc, Gs1Error> {
    let f = u.fields(2)?;
    check_cp_ref(u.uri, u.at, f[0], f[1], 17, "service reference")?;
    let v = with_check(&format!("{}{}", f[0], f[1]));
    if u.scheme == "gsrn" {
        Ok(Epc::Gsrn(keyed(v, None, f[0])))
    } else {
        Ok(Epc::Gsrnp(keyed(v, None, f[0])))
    }
}

/// `gsin:CP.ShipperReference`
fn gsin(u: Urn) -> Result<Epc, Gs1Error> {
    let f = u.fields(2)?;
    check_cp_ref(u.uri, u.at, f[0], f[1], 16, "shipper reference")?;
    Ok(Epc::Gsin(keyed(
        with_check(&format!("{}{}", f[0], f[1])),
        None,
        f[0],
    )))
}

/// `giai:CP.AssetReference` and `ginc:CP.ConsignmentReference`
fn giai_or_ginc(u: Urn) -> Result<Epc, Gs1Error> {
    let uri = u.uri;
    let f = u.fields(2)?;
    check_cp_ref(uri, u.at, f[0], "", 0, "")?;
    let r = decode_component(uri, "reference", f[1])?;
    let v = format!("{}{}", f[0], r);
    if r.is_empty() {
        return Err(comp_err(
            uri,
            uri.len(),
            "reference",
            "a non-empty reference".into(),
            "",
        ));
    }
    if u.scheme == "giai" {
        ai_ok("8004", &v)?;
        Ok(Epc::Giai(keyed(v, None, f[0])))
    } else {
        ai_ok("401", &v)?;
        Ok(Epc::Ginc(keyed(v, None, f[0])))
    }
}

/// `cpi:CP.ComponentPartReference.serial`
fn cpi(u: Urn) -> Result<Epc, Gs1Error> {
    let f = u.fields(3)?;
    check_cp_ref(u.uri, u.at, f[0], "", 0, "")?;
    let r = pct_decode("component/part reference", f[1])?;
    if let Some(p) = r.bytes().position(|b| !is_cset39(b)) {
        return Err(comp_err(
            u.uri,
            u.at + f[0].len() + 1 + p,
            "component/part reference",
            "GS1 CSET 39 (0-9 A-Z # - /)".into(),
            f[1],
        ));
    }
    let v = format!("{}{}", f[0], r);
    ai_ok("8010", &v)?;
    ai_ok("8011", f[2])?;
    Ok(Epc::Cpi(keyed(v, Some(f[2].to_string()), f[0])))
}

/// `itip:CP.IndicatorItem.piece.total.serial`
fn itip(u: Urn) -> Result<Epc, Gs1Error> {
    let f = u.fields(5)?;
    let (gtin, _) = gtin_fields(u.uri, u.at, &format!("{}.{}.x", f[0], f[1]))?;
    let piece_total = format!("{}{}", f[2], f[3]);
    let serial = decode_component(u.uri, "serial", f[4])?;
    let v = format!("{}{}", gtin, piece_total);
    ai_ok("8006", &v)?;
    SerialNumber::parse(&serial)?;
    Ok(Epc::Itip(keyed(v, Some(serial.into_owned()), f[0])))
}

/// `upui:CP.IndicatorItem.ThirdPartyExtension`
fn upui(u: Urn) -> Result<Epc, Gs1Error> {
    let (gtin, rest) = gtin_fields(u.uri, u.at, u.body)?;
    let tpx = decode_component(u.uri, "third-party extension", rest)?;
    ai_ok("235", &tpx)?;
    Ok(Epc::Upui(KeyedId {
        primary: gtin.to_string(),
        secondary: Some(tpx.into_owned()),
        gcp: GcpHint(gtin.gcp_length_hint()),
    }))
}

/// The GCP length hint a company prefix field gives.
fn hint(cp: &str) -> Option<u8> {
    Some(cp.len() as u8)
}

/// A [`KeyedId`] whose GCP is the field `cp`.
fn keyed(primary: String, secondary: Option<String>, cp: &str) -> KeyedId {
    KeyedId {
        primary,
        secondary,
        gcp: GcpHint(hint(cp)),
    }
}

/// Validate a value for its AI through the dictionary.
fn ai_ok(ai: &str, v: &str) -> Result<(), Gs1Error> {
    let t = table();
    let d = t.def(t.get(ai).unwrap_or(0));
    d.validate(v, current_year())
}

/// `data` with its mod-10 check digit appended.
fn with_check(data: &str) -> String {
    let mut s = data.to_string();
    s.push(mod10_check_digit(data.as_bytes()) as char);
    s
}

/// Percent-decode an EPC URI component and refuse characters TDS never allows literally.
fn decode_component<'a>(
    uri: &str,
    what: &'static str,
    comp: &'a str,
) -> Result<std::borrow::Cow<'a, str>, Gs1Error> {
    if let Some(pos) = comp
        .bytes()
        .position(|b| !is_cset82(b) || matches!(b, b'"' | b'&' | b'/' | b'<' | b'>' | b'?'))
    {
        let off = uri.len() - comp.len() + pos;
        return Err(bad_char(
            "EPC URI",
            uri,
            off,
            "a URI character of GS1 CSET 82 (\" & / < > ? must be %-escaped)",
        ));
    }
    pct_decode(what, comp)
}

/// As [`decode_component`], handing the decoded text to `f`; short escaped values are decoded
/// on the stack so the hot path does not allocate.
fn with_decoded<T>(
    uri: &str,
    what: &'static str,
    comp: &str,
    f: impl FnOnce(&str) -> Result<T, Gs1Error>,
) -> Result<T, Gs1Error> {
    // The common case in one pass: nothing escaped, nothing to escape.
    if comp.bytes().all(is_epc_literal) {
        return f(comp);
    }
    let literal_ok = !comp
        .bytes()
        .any(|b| !is_cset82(b) || matches!(b, b'"' | b'&' | b'/' | b'<' | b'>' | b'?'));
    let mut buf = [0u8; 32];
    let b = comp.as_bytes();
    let (mut i, mut n) = (0, 0);
    let mut ok = literal_ok;
    while ok && i < b.len() {
        let byte = if b[i] == b'%' {
            let hi = b.get(i + 1).copied().and_then(hex_val);
            let lo = b.get(i + 2).copied().and_then(hex_val);
            i += 3;
            hi.zip(lo).map(|(h, l)| h << 4 | l)
        } else {
            i += 1;
            Some(b[i - 1])
        };
        match byte {
            Some(c) if c.is_ascii() && n < buf.len() => {
                buf[n] = c;
                n += 1;
            }
            _ => ok = false,
        }
    }
    match std::str::from_utf8(&buf[..n]) {
        Ok(s) if ok => f(s),
        // Anything unusual: the allocating path gives the precise error (or the value).
        _ => f(&decode_component(uri, what, comp)?),
    }
}

pub(super) fn comp_err(
    uri: &str,
    pos: usize,
    component: &str,
    expected: String,
    found: &str,
) -> Gs1Error {
    Gs1Error::syntax(
        "EPC URI",
        uri,
        pos,
        format!("{component}: {expected}"),
        format!("{found:?}"),
    )
}

/// Check a GCP field (6-12 digits) and a numeric reference so that together they have
/// `total` digits. `at` is the byte offset of `cp` in `uri`.
fn check_cp_ref(
    uri: &str,
    at: usize,
    cp: &str,
    reference: &str,
    total: usize,
    ref_name: &str,
) -> Result<(), Gs1Error> {
    if !(6..=12).contains(&cp.len()) || !cp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(comp_err(
            uri,
            at,
            "company prefix",
            "6 to 12 digits".into(),
            cp,
        ));
    }
    let want = total.saturating_sub(cp.len());
    if reference.len() != want || !reference.bytes().all(|b| b.is_ascii_digit()) {
        return Err(comp_err(
            uri,
            at + cp.len() + 1,
            ref_name,
            format!(
                "{want} digits (company prefix of {} digits + {ref_name} = {total})",
                cp.len()
            ),
            reference,
        ));
    }
    Ok(())
}

/// GTIN fields `CP.IND+ITEM.rest` → (gtin with hint, rest).
fn gtin_fields<'a>(uri: &str, at: usize, body: &'a str) -> Result<(Gtin, &'a str), Gs1Error> {
    // Byte search for the two dots (hot path; a `splitn` iterator costs more here).
    let b = body.as_bytes();
    let d1 = b.iter().position(|&c| c == b'.');
    let d2 = d1.and_then(|i| {
        b[i + 1..]
            .iter()
            .position(|&c| c == b'.')
            .map(|j| i + 1 + j)
    });
    let cp = &body[..d1.unwrap_or(b.len())];
    let item = d1
        .map(|i| &body[i + 1..d2.unwrap_or(b.len())])
        .ok_or_else(|| {
            comp_err(
                uri,
                at + cp.len(),
                "fields",
                "CompanyPrefix.IndicatorItemReference.Value".into(),
                body,
            )
        })?;
    let rest = d2.map(|j| &body[j + 1..]).ok_or_else(|| {
        comp_err(
            uri,
            at + cp.len() + 1 + item.len(),
            "fields",
            "a third field after the item reference".into(),
            body,
        )
    })?;
    check_cp_ref(uri, at, cp, item, 13, "indicator and item reference")?;
    let mut d = [0u8; 13];
    d[0] = item.as_bytes()[0];
    d[1..1 + cp.len()].copy_from_slice(cp.as_bytes());
    d[1 + cp.len()..].copy_from_slice(&item.as_bytes()[1..]);
    // All digits, checked above.
    let gtin = Gtin::from_checked_data(&d).with_gcp_hint(Some(cp.len() as u8));
    Ok((gtin, rest))
}
