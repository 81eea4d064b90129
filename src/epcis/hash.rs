//! CBV 2.0 event hash (`ni:///sha-256;…?ver=CBV2.0`, standards.md §3.4).
//!
//! The pre-hash string follows the GS1 reference implementation's test vectors where they
//! and its README disagree: a business transaction / source / destination is written as
//! `type=…` then the value, and `destinationList` comes before `sourceList`. ILMD, user
//! extensions and extension children of readPoint/bizLocation are written as
//! `{namespace}name=value` strings, sorted together at the end. recordTime, eventID and
//! errorDeclaration are not hashed.

use std::fmt::Write;
use std::path::Path;

use super::cbv::{CbvTerm, Vocab};
use super::ident::canonical_for_hash;
use super::model::{Event, ExtensionElement, QuantityElement, Timestamp};
use super::spill::ExternalSort;
use super::values;

/// Canonical forms of the four EPC lists, computed while reading (same order and length as
/// the event's lists; `None` = the value as given), so each EPC is parsed only once.
pub(crate) type EpcListCanon = [CanonList; 4];

/// Canonical forms of one EPC list in one buffer (no allocation per EPC), or, for the list of
/// a huge event, in an external sort (the pre-hash wants them sorted).
#[derive(Default)]
pub(crate) struct CanonList {
    text: String,
    /// (start, end) in `text`; `None` = use the value as given.
    spans: Vec<Option<(usize, usize)>>,
    sorted: Option<ExternalSort>,
    /// Of a spilled list, once hashed: the canonical forms found more than once.
    pub(crate) repeated: Vec<String>,
}

/// Memory an external sort of canonical forms holds before it writes a run.
const SORT_BUDGET: usize = 4 << 20;

impl CanonList {
    pub(crate) fn capacity(&self) -> usize {
        self.text.capacity() + self.spans.capacity() * std::mem::size_of::<Option<(usize, usize)>>()
    }

    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
        self.sorted = None;
        self.repeated.clear();
    }

    /// Moves the canonical forms so far (of `given`, the list's values) to an external sort;
    /// the rest of the list comes through [`CanonList::spill_epc`] / [`CanonList::spill_given`].
    pub(crate) fn start_spill(&mut self, dir: &Path, given: &[String]) -> std::io::Result<()> {
        let mut sort = ExternalSort::new(dir, SORT_BUDGET);
        let kept = self.spans.len() == given.len();
        for (i, g) in given.iter().enumerate() {
            if kept {
                sort.push(self.get(i, g))?;
            } else {
                sort.push(&canonical_for_hash(g))?;
            }
        }
        self.text = String::new();
        self.spans = Vec::new();
        self.sorted = Some(sort);
        Ok(())
    }

    fn sort(&mut self, dir: &Path) -> &mut ExternalSort {
        self.sorted
            .get_or_insert_with(|| ExternalSort::new(dir, SORT_BUDGET))
    }

    pub(crate) fn spill_epc(&mut self, dir: &Path, epc: &crate::gs1::Epc) -> std::io::Result<()> {
        let mut s = String::with_capacity(64);
        epc.write_canonical_digital_link(&mut s);
        self.sort(dir).push(&s)
    }

    /// A value that is not a GS1 EPC: hashed as written (as [`CanonList::push`] with `None`).
    pub(crate) fn spill_given(&mut self, dir: &Path, given: &str) -> std::io::Result<()> {
        self.sort(dir).push(given)
    }

    pub(crate) fn push(&mut self, canonical: Option<&str>) {
        self.spans.push(canonical.map(|c| {
            let start = self.text.len();
            self.text.push_str(c);
            (start, self.text.len())
        }));
    }

    /// The canonical Digital Link of `epc`, rendered straight into the shared buffer.
    pub(crate) fn push_epc(&mut self, epc: &crate::gs1::Epc) {
        let start = self.text.len();
        epc.write_canonical_digital_link(&mut self.text);
        self.spans.push(Some((start, self.text.len())));
    }

    fn get<'a>(&'a self, i: usize, given: &'a str) -> &'a str {
        match self.spans[i] {
            Some((a, b)) => &self.text[a..b],
            None => given,
        }
    }
}

/// The canonical pre-hash string of an event.
///
/// Of an event whose lists were spilled to disk ([`Event::spilled`]) only the reader that
/// read it can make the hash (it sorted their canonical forms); this leaves those lists out.
pub fn prehash_string(ev: &Event) -> String {
    let mut out = String::with_capacity(256 + ev.epc_count() * 48);
    write_prehash(ev, None, &mut out).expect("no spilled list, nothing read from disk");
    out
}

/// Where pre-hash pieces go: a String, or straight into SHA-256 so a huge event never needs
/// its whole pre-hash string in memory.
trait Sink {
    fn put(&mut self, s: &str);
}

impl Sink for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

/// SHA-256 fed in blocks: the pre-hash comes in many tiny pieces (two per EPC), and one
/// library call per piece costs more than copying it.
struct BufferedSha {
    hasher: openssl::sha::Sha256,
    buf: Vec<u8>,
}

impl BufferedSha {
    const BLOCK: usize = 16 * 1024;

    fn new() -> Self {
        BufferedSha {
            hasher: openssl::sha::Sha256::new(),
            buf: Vec::with_capacity(Self::BLOCK),
        }
    }

    fn finish(mut self) -> [u8; 32] {
        self.hasher.update(&self.buf);
        self.hasher.finish()
    }
}

impl Sink for BufferedSha {
    fn put(&mut self, s: &str) {
        if self.buf.len() + s.len() > Self::BLOCK {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
        if s.len() > Self::BLOCK {
            self.hasher.update(s.as_bytes());
        } else {
            self.buf.extend_from_slice(s.as_bytes());
        }
    }
}

fn write_prehash(
    ev: &Event,
    canon: Option<&mut EpcListCanon>,
    out: &mut impl Sink,
) -> std::io::Result<()> {
    let [c_epc, c_child, c_input, c_output] = match canon {
        Some([a, b, c, d]) => [Some(a), Some(b), Some(c), Some(d)],
        None => [None, None, None, None],
    };
    out.put("eventType=");
    out.put(ev.event_type.as_str());
    if let Some(t) = &ev.event_time {
        out.put("eventTime=");
        push_time(out, t);
    }
    if let Some(o) = &ev.event_time_zone_offset {
        out.put("eventTimeZoneOffset=");
        out.put(o);
    }
    if !ev.certification_info.is_empty() {
        let mut v: Vec<String> = ev
            .certification_info
            .iter()
            .map(|c| format!("certificationInfo={}", canonical_value(c)))
            .collect();
        v.sort_unstable();
        v.iter().for_each(|s| out.put(s));
    }
    push_epcs(out, "epcList", &ev.epc_list, c_epc)?;
    if let Some(p) = &ev.parent_id {
        out.put("parentID=");
        out.put(&canonical_for_hash(p));
    }
    push_epcs(out, "inputEPCList", &ev.input_epcs, c_input)?;
    push_epcs(out, "childEPCs", &ev.child_epcs, c_child)?;
    push_quantities(out, "quantityList", &ev.quantity_list);
    push_quantities(out, "childQuantityList", &ev.child_quantity_list);
    push_quantities(out, "inputQuantityList", &ev.input_quantity_list);
    push_epcs(out, "outputEPCList", &ev.output_epcs, c_output)?;
    push_quantities(out, "outputQuantityList", &ev.output_quantity_list);
    if let Some(a) = ev.action {
        out.put("action=");
        out.put(a.as_str());
    }
    if let Some(t) = &ev.transformation_id {
        out.put("transformationID=");
        out.put(&canonical_value(t));
    }
    if let Some(b) = &ev.biz_step {
        out.put("bizStep=");
        out.put(&b.to_web_uri(Vocab::BizStep));
    }
    if let Some(d) = &ev.disposition {
        out.put("disposition=");
        out.put(&d.to_web_uri(Vocab::Disposition));
    }
    if let Some(pd) = &ev.persistent_disposition {
        if !pd.set.is_empty() || !pd.unset.is_empty() {
            out.put("persistentDisposition");
            push_sorted_terms(out, "set=", &pd.set);
            push_sorted_terms(out, "unset=", &pd.unset);
        }
    }
    if let Some(r) = &ev.read_point {
        out.put("readPointid=");
        out.put(&canonical_for_hash(r));
    }
    if let Some(b) = &ev.biz_location {
        out.put("bizLocationid=");
        out.put(&canonical_for_hash(b));
    }
    // The reference implementation (1.9.3) puts sensor data right after bizLocation.
    if !ev.sensor_elements.is_empty() {
        let mut v: Vec<String> = ev.sensor_elements.iter().map(sensor_element).collect();
        v.sort_unstable();
        out.put("sensorElementList");
        v.iter().for_each(|s| out.put(s));
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
        out.put("bizTransactionList");
        v.iter().for_each(|s| out.put(s));
    }
    push_source_dest(out, "destinationList", "destination", &ev.destinations);
    push_source_dest(out, "sourceList", "source", &ev.sources);
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
    rest.iter().for_each(|s| out.put(s));
    Ok(())
}

/// The event hash id: `ni:///sha-256;<hex>?ver=CBV2.0`.
///
/// An event whose lists were spilled ([`Event::spilled`]) carries the hash its reader made;
/// this one would leave those lists out.
pub fn hash_id(ev: &Event) -> String {
    hash_id_streamed(ev, None).expect("no spilled list, nothing read from disk")
}

/// The hash of the event being read, from the canonical forms its reader collected (and
/// sorted on disk for spilled lists: the only error is reading those back).
pub(crate) fn hash_id_with(ev: &Event, canon: &mut EpcListCanon) -> std::io::Result<String> {
    hash_id_streamed(ev, Some(canon))
}

fn hash_id_streamed(ev: &Event, canon: Option<&mut EpcListCanon>) -> std::io::Result<String> {
    // The low-level hasher also avoids OpenSSL 3's per-call algorithm fetch of `sha::sha256`.
    let mut hasher = BufferedSha::new();
    write_prehash(ev, canon, &mut hasher)?;
    Ok(ni_uri(hasher.finish()))
}

/// Hash id of a pre-hash string.
pub fn hash_id_of_prehash(prehash: &str) -> String {
    let mut hasher = openssl::sha::Sha256::new();
    hasher.update(prehash.as_bytes());
    ni_uri(hasher.finish())
}

/// The hash id of a stored digest (`ni:///sha-256;<hex>?ver=CBV2.0`).
pub fn hash_id_of_digest(digest: &[u8]) -> Option<String> {
    Some(ni_uri(digest.try_into().ok()?))
}

/// The digest of a hash id written as [`hash_id`] writes it (the `ver` query is optional).
pub fn digest_of(hash_id: &str) -> Option<Vec<u8>> {
    let hex = hash_id.strip_prefix("ni:///sha-256;")?;
    let hex = hex.split('?').next()?;
    if hex.len() != 64 {
        return None;
    }
    (0..32)
        .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn ni_uri(digest: [u8; 32]) -> String {
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

fn push_time(out: &mut impl Sink, t: &Timestamp) {
    match &t.value {
        Some(v) => {
            let mut s = String::with_capacity(24);
            values::hash_timestamp(v, &mut s);
            out.put(&s);
        }
        None => out.put(t.text.trim()),
    }
}

fn push_epcs(
    out: &mut impl Sink,
    name: &str,
    epcs: &[String],
    canon: Option<&mut CanonList>,
) -> std::io::Result<()> {
    let (canon, spilled) = match canon {
        Some(c) if c.sorted.is_some() => (None, Some(c)),
        Some(c) if c.spans.len() == epcs.len() => (Some(&*c), None),
        _ => (None, None),
    };
    if let Some(CanonList {
        sorted: Some(sort),
        repeated,
        ..
    }) = spilled
    {
        // A spilled list (the values are not in `epcs`): merged from the sorted runs. A value
        // equal to the one before it is an identifier listed twice: noted for the consumer.
        out.put(name);
        let mut last: Option<String> = None;
        sort.merge(|v| {
            out.put("epc=");
            out.put(v);
            match &mut last {
                Some(l) if l == v => {
                    if repeated.last().is_none_or(|r| r != v) {
                        repeated.push(v.to_string());
                    }
                }
                Some(l) => {
                    l.clear();
                    l.push_str(v);
                }
                None => last = Some(v.to_string()),
            }
        })?;
        return Ok(());
    }
    if epcs.is_empty() {
        return Ok(());
    }
    // Every entry starts with the same `epc=`, so sorting the values sorts the entries.
    let v: Vec<std::borrow::Cow<'_, str>> = match canon {
        Some(c) => epcs
            .iter()
            .enumerate()
            .map(|(i, e)| std::borrow::Cow::Borrowed(c.get(i, e)))
            .collect(),
        None => epcs.iter().map(|e| canonical_for_hash(e)).collect(),
    };
    out.put(name);
    for i in sorted_order(&v) {
        out.put("epc=");
        out.put(&v[i as usize]);
    }
    Ok(())
}

/// The order that sorts strings which mostly share a long prefix (Digital Links of one
/// product): only what follows the prefix common to all of them is compared, which gives the
/// same order. Its first eight bytes, zero-padded and read big-endian, order like the bytes
/// themselves (a shorter string pads with the smallest byte), so most comparisons are one
/// integer comparison of a small (key, index) pair; equal keys fall back to the bytes.
fn sorted_order(v: &[std::borrow::Cow<'_, str>]) -> Vec<u32> {
    let Some(first) = v.first() else {
        return Vec::new();
    };
    let mut common = first.len();
    for s in v.iter().skip(1) {
        common = common.min(s.len());
        common = first.as_bytes()[..common]
            .iter()
            .zip(s.as_bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(common);
    }
    let tail = |i: u32| &v[i as usize].as_bytes()[common..];
    let mut keyed: Vec<(u64, u32)> = (0..v.len() as u32)
        .map(|i| {
            let t = tail(i);
            let mut k = [0u8; 8];
            let n = t.len().min(8);
            k[..n].copy_from_slice(&t[..n]);
            (u64::from_be_bytes(k), i)
        })
        .collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| tail(a.1).cmp(tail(b.1))));
    keyed.into_iter().map(|(_, i)| i).collect()
}

fn push_quantities(out: &mut impl Sink, name: &str, list: &[QuantityElement]) {
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
    out.put(name);
    v.iter().for_each(|s| out.put(s));
}

fn push_sorted_terms(out: &mut impl Sink, key: &str, terms: &[CbvTerm]) {
    let mut v: Vec<String> = terms
        .iter()
        .map(|t| format!("{key}{}", t.to_web_uri(Vocab::Disposition)))
        .collect();
    v.sort_unstable();
    v.iter().for_each(|s| out.put(s));
}

fn push_source_dest(out: &mut impl Sink, list: &str, item: &str, v: &[super::model::SourceDest]) {
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
    out.put(list);
    strings.iter().for_each(|s| out.put(s));
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sort_ties_in_the_first_eight_bytes_fall_back_to_the_rest() {
        let v: Vec<std::borrow::Cow<'_, str>> = [
            "p/ABCDEFGHz",
            "p/ABCDEFGH",
            "p/ABCDEFGHa",
            "p/ABCDEFG",
            "p/ABCDEFGHab",
            "p/",
        ]
        .into_iter()
        .map(Into::into)
        .collect();
        let ours: Vec<&str> = sorted_order(&v)
            .into_iter()
            .map(|i| &*v[i as usize])
            .collect();
        let mut plain: Vec<&str> = v.iter().map(|s| &**s).collect();
        plain.sort_unstable();
        assert_eq!(ours, plain);
    }

    proptest! {
        #[test]
        fn prefix_sort_orders_like_a_plain_sort(tails in proptest::collection::vec("[0-9A-Za-z/%]{0,10}", 0..40), prefix in "[a-z/]{0,12}") {
            let v: Vec<std::borrow::Cow<'_, str>> = tails.iter().map(|t| format!("{prefix}{t}").into()).collect();
            let ours: Vec<&str> = sorted_order(&v).into_iter().map(|i| &*v[i as usize]).collect();
            let mut plain: Vec<&str> = v.iter().map(|s| &**s).collect();
            plain.sort_unstable();
            prop_assert_eq!(ours, plain);
        }
    }
}
