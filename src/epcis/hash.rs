//! CBV 2.0 event hash (`ni:///sha-256;…?ver=CBV2.0`, standards.md §3.4).
//!
//! The pre-hash string follows the GS1 reference implementation's test vectors where they
//! and its README disagree: a business transaction / source / destination is written as
//! `type=…` then the value, and `destinationList` comes before `sourceList`. ILMD, user
//! extensions and extension children of readPoint/bizLocation are written as
//! `{namespace}name=value` strings, sorted together at the end. recordTime, eventID and
//! errorDeclaration are not hashed.

use std::fmt::Write;

use super::cbv::{CbvTerm, Vocab};
use super::ident::canonical_for_hash;
use super::model::{Event, ExtensionElement, QuantityElement, Timestamp};
use super::values;

/// Canonical forms of the four EPC lists, computed while reading (same order and length as
/// the event's lists; `None` = the value as given), so each EPC is parsed only once.
pub(crate) type EpcListCanon = [Vec<Option<String>>; 4];

/// The canonical pre-hash string of an event.
pub fn prehash_string(ev: &Event) -> String {
    prehash_string_with(ev, None)
}

pub(crate) fn prehash_string_with(ev: &Event, canon: Option<&EpcListCanon>) -> String {
    let pick =
        |i: usize, list: &[String]| canon.map(|c| &c[i][..]).filter(|c| c.len() == list.len());
    let mut out = String::with_capacity(256 + ev.epc_count() * 48);
    out.push_str("eventType=");
    out.push_str(ev.event_type.as_str());
    if let Some(t) = &ev.event_time {
        out.push_str("eventTime=");
        push_time(&mut out, t);
    }
    if let Some(o) = &ev.event_time_zone_offset {
        out.push_str("eventTimeZoneOffset=");
        out.push_str(o);
    }
    if !ev.certification_info.is_empty() {
        let mut v: Vec<String> = ev
            .certification_info
            .iter()
            .map(|c| format!("certificationInfo={}", canonical_value(c)))
            .collect();
        v.sort_unstable();
        v.iter().for_each(|s| out.push_str(s));
    }
    push_epcs(&mut out, "epcList", &ev.epc_list, pick(0, &ev.epc_list));
    if let Some(p) = &ev.parent_id {
        out.push_str("parentID=");
        out.push_str(&canonical_for_hash(p));
    }
    push_epcs(
        &mut out,
        "inputEPCList",
        &ev.input_epcs,
        pick(2, &ev.input_epcs),
    );
    push_epcs(
        &mut out,
        "childEPCs",
        &ev.child_epcs,
        pick(1, &ev.child_epcs),
    );
    push_quantities(&mut out, "quantityList", &ev.quantity_list);
    push_quantities(&mut out, "childQuantityList", &ev.child_quantity_list);
    push_quantities(&mut out, "inputQuantityList", &ev.input_quantity_list);
    push_epcs(
        &mut out,
        "outputEPCList",
        &ev.output_epcs,
        pick(3, &ev.output_epcs),
    );
    push_quantities(&mut out, "outputQuantityList", &ev.output_quantity_list);
    if let Some(a) = ev.action {
        out.push_str("action=");
        out.push_str(a.as_str());
    }
    if let Some(t) = &ev.transformation_id {
        out.push_str("transformationID=");
        out.push_str(&canonical_value(t));
    }
    if let Some(b) = &ev.biz_step {
        out.push_str("bizStep=");
        out.push_str(&b.to_web_uri(Vocab::BizStep));
    }
    if let Some(d) = &ev.disposition {
        out.push_str("disposition=");
        out.push_str(&d.to_web_uri(Vocab::Disposition));
    }
    if let Some(pd) = &ev.persistent_disposition {
        if !pd.set.is_empty() || !pd.unset.is_empty() {
            out.push_str("persistentDisposition");
            push_sorted_terms(&mut out, "set=", &pd.set);
            push_sorted_terms(&mut out, "unset=", &pd.unset);
        }
    }
    if let Some(r) = &ev.read_point {
        out.push_str("readPointid=");
        out.push_str(&canonical_for_hash(r));
    }
    if let Some(b) = &ev.biz_location {
        out.push_str("bizLocationid=");
        out.push_str(&canonical_for_hash(b));
    }
    // The reference implementation (1.9.3) puts sensor data right after bizLocation.
    if !ev.sensor_elements.is_empty() {
        let mut v: Vec<String> = ev.sensor_elements.iter().map(sensor_element).collect();
        v.sort_unstable();
        out.push_str("sensorElementList");
        v.iter().for_each(|s| out.push_str(s));
    }
    if !ev.biz_transactions.is_empty() {
        let mut v: Vec<String> = ev
            .biz_transactions
            .iter()
            .map(|bt| {
                let mut s = String::new();
                if let Some(t) = &bt.transaction_type {
                    s.push_str("type=");
                    s.push_str(&t.to_web_uri(Vocab::BizTransactionType));
                }
                s.push_str("bizTransaction=");
                s.push_str(&canonical_for_hash(&bt.id));
                s
            })
            .collect();
        v.sort_unstable();
        out.push_str("bizTransactionList");
        v.iter().for_each(|s| out.push_str(s));
    }
    push_source_dest(&mut out, "destinationList", "destination", &ev.destinations);
    push_source_dest(&mut out, "sourceList", "source", &ev.sources);
    // Everything without a fixed place: ILMD, user extensions, readPoint/bizLocation
    // extensions, sorted as whole strings.
    let mut rest: Vec<String> = Vec::new();
    if !ev.ilmd.elements.is_empty() {
        let mut s = String::from("ilmd");
        push_sorted_elements(&mut s, &ev.ilmd.elements);
        rest.push(s);
    }
    for (name, list) in [
        ("readPoint", &ev.read_point_extensions),
        ("bizLocation", &ev.biz_location_extensions),
    ] {
        if !list.is_empty() {
            let mut s = String::from(name);
            push_sorted_elements(&mut s, list);
            rest.push(s);
        }
    }
    rest.extend(ev.extensions.iter().map(element_string));
    rest.sort_unstable();
    rest.iter().for_each(|s| out.push_str(s));
    out
}

/// The event hash id: `ni:///sha-256;<hex>?ver=CBV2.0`.
pub fn hash_id(ev: &Event) -> String {
    hash_id_of_prehash(&prehash_string(ev))
}

pub(crate) fn hash_id_with(ev: &Event, canon: &EpcListCanon) -> String {
    hash_id_of_prehash(&prehash_string_with(ev, Some(canon)))
}

/// Hash id of a pre-hash string.
pub fn hash_id_of_prehash(prehash: &str) -> String {
    // The low-level hasher avoids OpenSSL 3's per-call algorithm fetch of `sha::sha256`.
    let mut hasher = openssl::sha::Sha256::new();
    hasher.update(prehash.as_bytes());
    let digest = hasher.finish();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(14 + 64 + 11);
    out.push_str("ni:///sha-256;");
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out.push_str("?ver=CBV2.0");
    out
}

fn push_time(out: &mut String, t: &Timestamp) {
    match &t.value {
        Some(v) => values::hash_timestamp(v, out),
        None => out.push_str(t.text.trim()),
    }
}

fn push_epcs(out: &mut String, name: &str, epcs: &[String], canon: Option<&[Option<String>]>) {
    if epcs.is_empty() {
        return;
    }
    // Every entry starts with the same `epc=`, so sorting the values sorts the entries.
    let mut v: Vec<std::borrow::Cow<'_, str>> = match canon {
        Some(c) => epcs
            .iter()
            .zip(c)
            .map(|(e, c)| std::borrow::Cow::Borrowed(c.as_deref().unwrap_or(e)))
            .collect(),
        None => epcs.iter().map(|e| canonical_for_hash(e)).collect(),
    };
    v.sort_unstable();
    out.push_str(name);
    for e in &v {
        out.push_str("epc=");
        out.push_str(e);
    }
}

fn push_quantities(out: &mut String, name: &str, list: &[QuantityElement]) {
    if list.is_empty() {
        return;
    }
    let mut v: Vec<String> = list
        .iter()
        .map(|q| {
            let mut s = String::from("quantityElement");
            if !q.epc_class.is_empty() {
                s.push_str("epcClass=");
                s.push_str(&canonical_for_hash(&q.epc_class));
            }
            if let Some(n) = q.quantity {
                let _ = write!(s, "quantity={n}");
            }
            if let Some(u) = &q.uom {
                s.push_str("uom=");
                s.push_str(u);
            }
            s
        })
        .collect();
    v.sort_unstable();
    out.push_str(name);
    v.iter().for_each(|s| out.push_str(s));
}

fn push_sorted_terms(out: &mut String, key: &str, terms: &[CbvTerm]) {
    let mut v: Vec<String> = terms
        .iter()
        .map(|t| format!("{key}{}", t.to_web_uri(Vocab::Disposition)))
        .collect();
    v.sort_unstable();
    v.iter().for_each(|s| out.push_str(s));
}

fn push_source_dest(out: &mut String, list: &str, item: &str, v: &[super::model::SourceDest]) {
    if v.is_empty() {
        return;
    }
    let mut strings: Vec<String> = v
        .iter()
        .map(|sd| {
            let mut s = String::new();
            let ty = sd.sd_type.to_web_uri(Vocab::SourceDestType);
            if !ty.is_empty() {
                s.push_str("type=");
                s.push_str(&ty);
            }
            s.push_str(item);
            s.push('=');
            s.push_str(&canonical_for_hash(&sd.id));
            s
        })
        .collect();
    strings.sort_unstable();
    out.push_str(list);
    strings.iter().for_each(|s| out.push_str(s));
}

/// Canonical form of a free value: CBV URN → Web URI, plain number → canonical number,
/// GS1 identifier → canonical Digital Link.
fn canonical_value(text: &str) -> String {
    let t = text.trim();
    for vocab in [
        Vocab::BizStep,
        Vocab::Disposition,
        Vocab::BizTransactionType,
        Vocab::SourceDestType,
        Vocab::ErrorReason,
    ] {
        let term = CbvTerm::Other(t.to_owned());
        let web = term.to_web_uri(vocab);
        if web != t {
            return web;
        }
    }
    if let Some(n) = values::canonical_number(t) {
        return n;
    }
    canonical_for_hash(t).into_owned()
}

fn qualified_name(out: &mut String, el: &ExtensionElement) {
    if !el.namespace.is_empty() {
        out.push('{');
        out.push_str(&el.namespace);
        out.push('}');
    }
    out.push_str(&el.local_name);
}

fn element_string(el: &ExtensionElement) -> String {
    let mut s = String::new();
    qualified_name(&mut s, el);
    if !el.text.is_empty() {
        s.push('=');
        s.push_str(&canonical_value(&el.text));
    }
    push_sorted_elements(&mut s, &el.children);
    s
}

fn push_sorted_elements(out: &mut String, list: &[ExtensionElement]) {
    let mut v: Vec<String> = list.iter().map(element_string).collect();
    v.sort_unstable();
    v.iter().for_each(|s| out.push_str(s));
}

/// Attribute order of sensorMetadata and sensorReport in the pre-hash string.
const SENSOR_METADATA: &[&str] = &[
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
];
const SENSOR_REPORT: &[&str] = &[
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
];

fn sensor_part(name: &str, el: &ExtensionElement, order: &[&str]) -> String {
    let mut s = String::from(name);
    for key in order {
        if let Some((_, v)) = el.attributes.iter().find(|(k, _)| k == key) {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            s.push_str(key);
            s.push('=');
            if key.to_ascii_lowercase().contains("time") {
                match values::parse_date_time(v) {
                    Ok(p) => values::hash_timestamp(&p.value, &mut s),
                    Err(_) => s.push_str(v),
                }
            } else if let Some(rest) = v.strip_prefix("gs1:") {
                s.push_str("https://gs1.org/voc/");
                s.push_str(rest);
            } else {
                s.push_str(&canonical_value(v));
            }
        }
    }
    push_sorted_elements(
        &mut s,
        &el.children
            .iter()
            .filter(|c| !c.namespace.is_empty())
            .cloned()
            .collect::<Vec<_>>(),
    );
    s
}

fn sensor_element(el: &ExtensionElement) -> String {
    let mut s = String::from("sensorElement");
    if let Some(m) = el
        .children
        .iter()
        .find(|c| c.namespace.is_empty() && c.local_name == "sensorMetadata")
    {
        s.push_str(&sensor_part("sensorMetadata", m, SENSOR_METADATA));
    }
    let mut reports: Vec<String> = el
        .children
        .iter()
        .filter(|c| c.namespace.is_empty() && c.local_name == "sensorReport")
        .map(|r| sensor_part("sensorReport", r, SENSOR_REPORT))
        .collect();
    reports.sort_unstable();
    reports.iter().for_each(|r| s.push_str(r));
    let ext: Vec<ExtensionElement> = el
        .children
        .iter()
        .filter(|c| !c.namespace.is_empty())
        .cloned()
        .collect();
    push_sorted_elements(&mut s, &ext);
    s
}
