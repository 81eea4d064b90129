//! EPCIS 2.0 JSON-LD (standards.md §3.2): the GS1 context by URL, CBV values as bare words
//! unless asked otherwise, extension elements as `prefix:name` keys. A namespace that the
//! GS1 context does not define is declared in an `@context` of the object that uses it (the
//! document for the header's, each event for its own), so nothing needs to be known before
//! the first event is written.

use std::io::{self, Write};

use super::options::Translator;
use super::{for_each_epc, has_list, is_cbvmda, parent_identifier, timestamp_text, DocMeta};
use crate::epcis::cbv::Vocab;
use crate::epcis::model::{
    BizTransaction, EpcRole, Event, EventType, ExtensionElement, Header, QuantityElement,
    SourceDest, Vocabulary,
};

/// The GS1 EPCIS 2.0 JSON-LD context.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// Terms of the GS1 context (protected there) and JSON-LD names an extension prefix must not
/// take.
const RESERVED: &[&str] = &[
    "epcis",
    "cbv",
    "cbvmda",
    "gs1",
    "owl",
    "xsd",
    "dcterms",
    "rdf",
    "rdfs",
    "sh",
    "skos",
    "schema",
    "id",
    "type",
    "set",
    "unset",
    "source",
    "destination",
    "value",
    "quantity",
];

/// Sensor report attributes that are numbers in JSON.
const SENSOR_NUMBERS: &[&str] = &[
    "value",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
];

/// Namespace → prefix bindings of one scope.
#[derive(Default)]
struct Prefixes {
    /// (namespace, prefix) in the order first used.
    map: Vec<(String, String)>,
}

impl Prefixes {
    fn get(&self, ns: &str) -> Option<&str> {
        self.map
            .iter()
            .find(|(n, _)| n == ns)
            .map(|(_, p)| p.as_str())
    }

    fn taken(&self, prefix: &str) -> bool {
        self.map.iter().any(|(_, p)| p == prefix)
    }

    /// Binds `ns` (unless the GS1 context or `outer` already does).
    fn bind(&mut self, ns: &str, wanted: &str, outer: &Prefixes) {
        if ns.is_empty() || is_cbvmda(ns) || self.get(ns).is_some() || outer.get(ns).is_some() {
            return;
        }
        let ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                && p.as_bytes()[0].is_ascii_alphabetic()
                && !RESERVED.contains(&p)
                && !self.taken(p)
                && !outer.taken(p)
        };
        let prefix = if ok(wanted) {
            wanted.to_string()
        } else {
            (1..)
                .map(|i| format!("ext{i}"))
                .find(|p| ok(p))
                .expect("some ext<n> is free")
        };
        self.map.push((ns.to_string(), prefix));
    }

    fn bind_tree(&mut self, el: &ExtensionElement, outer: &Prefixes) {
        self.bind(&el.namespace, &el.prefix, outer);
        for c in &el.children {
            self.bind_tree(c, outer);
        }
    }
}

/// Writes one EPCIS JSON-LD document.
pub(crate) struct JsonLdWriter<W: Write> {
    out: W,
    tr: Translator,
    /// Prefixes declared in the document's `@context`.
    doc_prefixes: Prefixes,
    /// Prefixes of the object being written (an event, a vocabulary element).
    local: Prefixes,
    header_open: bool,
    vocabularies_open: bool,
    first_vocabulary: bool,
    first_event: bool,
    dropped: u64,
}

impl<W: Write> JsonLdWriter<W> {
    pub(crate) fn new(out: W, tr: Translator) -> Self {
        JsonLdWriter {
            out,
            tr,
            doc_prefixes: Prefixes::default(),
            local: Prefixes::default(),
            header_open: false,
            vocabularies_open: false,
            first_vocabulary: true,
            first_event: true,
            dropped: 0,
        }
    }

    pub(crate) fn into_parts(self) -> (W, u64, u64) {
        (self.out, self.tr.untranslated, self.dropped)
    }

    pub(crate) fn start(&mut self, meta: &DocMeta, header: Option<&Header>) -> io::Result<()> {
        let none = Prefixes::default();
        if let Some(h) = header {
            for e in &h.extensions {
                self.doc_prefixes.bind_tree(e, &none);
            }
        }
        self.raw("{\"@context\":[")?;
        self.string(EPCIS_CONTEXT)?;
        if !self.doc_prefixes.map.is_empty() {
            self.raw(",")?;
            let map = std::mem::take(&mut self.doc_prefixes);
            self.context_object(&map)?;
            self.doc_prefixes = map;
        }
        self.raw("],\n\"type\":\"EPCISDocument\",\"schemaVersion\":\"2.0\",\"creationDate\":")?;
        self.string(&meta.creation_date)?;
        if let Some(s) = header.and_then(|h| h.sbdh.as_ref()) {
            // The JSON binding's pseudo-SBDH fields (standards.md §3.2).
            if let Some(p) = s.senders.first() {
                self.raw(",\"sender\":")?;
                self.string(&p.identifier)?;
            }
            if let Some(p) = s.receivers.first() {
                self.raw(",\"receiver\":")?;
                self.string(&p.identifier)?;
            }
            if let Some(i) = &s.document_identification.instance_identifier {
                self.raw(",\"instanceIdentifier\":")?;
                self.string(i)?;
            }
            let kept = 2 + usize::from(s.document_identification.instance_identifier.is_some());
            let total = s.senders.len()
                + s.receivers.len()
                + 1
                + s.other.len()
                + s.senders
                    .iter()
                    .chain(&s.receivers)
                    .map(|p| p.other.len())
                    .sum::<usize>();
            self.dropped += total.saturating_sub(kept) as u64;
        }
        if let Some(h) = header.filter(|h| !h.extensions.is_empty()) {
            self.raw(",\n\"epcisHeader\":{")?;
            self.header_open = true;
            let scope = std::mem::take(&mut self.doc_prefixes);
            let r = self.members(&h.extensions, &scope, true);
            self.doc_prefixes = scope;
            r?;
        }
        Ok(())
    }

    pub(crate) fn vocabulary(&mut self, v: &Vocabulary) -> io::Result<()> {
        if !self.vocabularies_open {
            if !self.header_open {
                self.raw(",\n\"epcisHeader\":{")?;
                self.header_open = true;
            } else {
                self.raw(",")?;
            }
            self.raw("\"epcisMasterData\":{\"vocabularyList\":[\n")?;
            self.vocabularies_open = true;
        }
        if !self.first_vocabulary {
            self.raw(",\n")?;
        }
        self.first_vocabulary = false;
        self.raw("{\"type\":")?;
        self.string(&v.vocabulary_type)?;
        self.raw(",\"vocabularyElementList\":[")?;
        for (i, el) in v.elements.iter().enumerate() {
            if i > 0 {
                self.raw(",")?;
            }
            self.raw("\n{")?;
            let mut local = Prefixes::default();
            for a in &el.attributes {
                for e in &a.elements {
                    local.bind_tree(e, &self.doc_prefixes);
                }
            }
            if !local.map.is_empty() {
                self.raw("\"@context\":")?;
                self.context_object(&local)?;
                self.raw(",")?;
            }
            self.raw("\"id\":")?;
            let id = self.tr.identifier(&el.id, None).into_owned();
            self.string(&id)?;
            if !el.attributes.is_empty() {
                self.raw(",\"attributes\":[")?;
                for (j, a) in el.attributes.iter().enumerate() {
                    if j > 0 {
                        self.raw(",")?;
                    }
                    self.raw("{\"id\":")?;
                    self.string(&a.id)?;
                    self.raw(",\"attribute\":")?;
                    if a.elements.is_empty() {
                        self.string(&a.value)?;
                    } else {
                        self.raw("{")?;
                        self.members(&a.elements, &local, true)?;
                        self.raw("}")?;
                    }
                    self.raw("}")?;
                }
                self.raw("]")?;
            }
            if !el.children.is_empty() {
                self.raw(",\"children\":[")?;
                for (j, c) in el.children.iter().enumerate() {
                    if j > 0 {
                        self.raw(",")?;
                    }
                    let id = self.tr.identifier(c, None).into_owned();
                    self.string(&id)?;
                }
                self.raw("]")?;
            }
            self.raw("}")?;
        }
        self.raw("]}")
    }

    fn close_header(&mut self) -> io::Result<()> {
        if self.vocabularies_open {
            self.raw("\n]}")?;
            self.vocabularies_open = false;
        }
        if self.header_open {
            self.raw("}")?;
            self.header_open = false;
        }
        Ok(())
    }

    pub(crate) fn begin_events(&mut self) -> io::Result<()> {
        self.close_header()?;
        self.raw(",\n\"epcisBody\":{\"eventList\":[\n")
    }

    pub(crate) fn finish(&mut self, events_open: bool) -> io::Result<()> {
        if events_open {
            self.raw("\n]}}\n")?;
        } else {
            self.close_header()?;
            self.raw(",\n\"epcisBody\":{\"eventList\":[]}}\n")?;
        }
        self.out.flush()
    }

    pub(crate) fn event(&mut self, ev: &Event) -> io::Result<()> {
        if !self.first_event {
            self.raw(",\n")?;
        }
        self.first_event = false;
        let mut local = Prefixes::default();
        let trees = ev
            .extensions
            .iter()
            .chain(&ev.ilmd.elements)
            .chain(&ev.read_point_extensions)
            .chain(&ev.biz_location_extensions)
            .chain(ev.error_declaration.iter().flat_map(|d| &d.extensions))
            .chain(ev.sensor_elements.iter().flat_map(|s| &s.children))
            .chain(
                ev.sensor_elements
                    .iter()
                    .flat_map(|s| &s.children)
                    .flat_map(|c| &c.children),
            );
        for e in trees {
            local.bind_tree(e, &self.doc_prefixes);
        }
        self.raw("{")?;
        if !local.map.is_empty() {
            self.raw("\"@context\":")?;
            self.context_object(&local)?;
            self.raw(",")?;
        }
        self.local = local;
        self.raw("\"type\":")?;
        self.string(ev.event_type.as_str())?;
        if let Some(t) = &ev.event_time {
            self.raw(",\"eventTime\":")?;
            self.string(&timestamp_text(t, true))?;
        }
        if let Some(t) = &ev.record_time {
            self.raw(",\"recordTime\":")?;
            self.string(&timestamp_text(t, true))?;
        }
        if let Some(o) = &ev.event_time_zone_offset {
            self.raw(",\"eventTimeZoneOffset\":")?;
            self.string(o)?;
        }
        match ev.certification_info.as_slice() {
            [] => {}
            [one] => {
                self.raw(",\"certificationInfo\":")?;
                self.string(one)?;
            }
            many => {
                self.raw(",\"certificationInfo\":[")?;
                for (i, c) in many.iter().enumerate() {
                    if i > 0 {
                        self.raw(",")?;
                    }
                    self.string(c)?;
                }
                self.raw("]")?;
            }
        }
        if let Some(id) = &ev.event_id {
            self.raw(",\"eventID\":")?;
            self.string(id)?;
        }
        if let Some(d) = &ev.error_declaration {
            self.raw(",\"errorDeclaration\":{")?;
            let mut first = true;
            if let Some(t) = &d.declaration_time {
                self.raw("\"declarationTime\":")?;
                self.string(&timestamp_text(t, true))?;
                first = false;
            }
            if let Some(r) = &d.reason {
                if !first {
                    self.raw(",")?;
                }
                self.raw("\"reason\":")?;
                let v = self.tr.cbv(r, Vocab::ErrorReason).into_owned();
                self.string(&v)?;
                first = false;
            }
            if !d.corrective_event_ids.is_empty() {
                if !first {
                    self.raw(",")?;
                }
                self.raw("\"correctiveEventIDs\":[")?;
                for (i, c) in d.corrective_event_ids.iter().enumerate() {
                    if i > 0 {
                        self.raw(",")?;
                    }
                    self.string(c)?;
                }
                self.raw("]")?;
                first = false;
            }
            let scope = std::mem::take(&mut self.local);
            let r = self.members(&d.extensions, &scope, first);
            self.local = scope;
            r?;
            self.raw("}")?;
        }
        if let Some(p) = &ev.parent_id {
            self.raw(",\"parentID\":")?;
            let v = self.tr.identifier(p, parent_identifier(ev)).into_owned();
            self.string(&v)?;
        }
        let lists: &[(&str, EpcRole, bool)] = match ev.event_type {
            EventType::Object | EventType::Transaction => &[("epcList", EpcRole::Epc, true)],
            EventType::Aggregation => &[("childEPCs", EpcRole::Child, true)],
            EventType::Association => &[("childEPCs", EpcRole::Child, false)],
            EventType::Transformation => &[
                ("inputEPCList", EpcRole::Input, false),
                ("outputEPCList", EpcRole::Output, false),
            ],
            EventType::Quantity => &[],
        };
        for &(name, role, always) in lists {
            if always || has_list(ev, role) {
                self.epc_list(name, ev, role)?;
            }
        }
        if ev.event_type == EventType::Quantity {
            if let Some(q) = ev.quantity_list.first() {
                self.raw(",\"epcClass\":")?;
                let class = self.tr.identifier(&q.epc_class, None).into_owned();
                self.string(&class)?;
                if let Some(n) = q.quantity {
                    self.raw(",\"quantity\":")?;
                    self.number(n)?;
                }
            }
        } else {
            for (name, list) in [
                ("quantityList", &ev.quantity_list),
                ("childQuantityList", &ev.child_quantity_list),
                ("inputQuantityList", &ev.input_quantity_list),
                ("outputQuantityList", &ev.output_quantity_list),
            ] {
                self.quantity_list(name, list)?;
            }
        }
        if let Some(a) = ev.action {
            self.raw(",\"action\":")?;
            self.string(a.as_str())?;
        }
        if let Some(t) = &ev.transformation_id {
            self.raw(",\"transformationID\":")?;
            self.string(t)?;
        }
        if let Some(b) = &ev.biz_step {
            self.raw(",\"bizStep\":")?;
            let v = self.tr.cbv(b, Vocab::BizStep).into_owned();
            self.string(&v)?;
        }
        if let Some(d) = &ev.disposition {
            self.raw(",\"disposition\":")?;
            let v = self.tr.cbv(d, Vocab::Disposition).into_owned();
            self.string(&v)?;
        }
        if let Some(pd) = &ev.persistent_disposition {
            self.raw(",\"persistentDisposition\":{")?;
            let mut first = true;
            for (name, list) in [("set", &pd.set), ("unset", &pd.unset)] {
                if list.is_empty() {
                    continue;
                }
                if !first {
                    self.raw(",")?;
                }
                first = false;
                self.raw("\"")?;
                self.raw(name)?;
                self.raw("\":[")?;
                for (i, t) in list.iter().enumerate() {
                    if i > 0 {
                        self.raw(",")?;
                    }
                    let v = self.tr.cbv(t, Vocab::Disposition).into_owned();
                    self.string(&v)?;
                }
                self.raw("]")?;
            }
            self.raw("}")?;
        }
        for (name, id, ext) in [
            ("readPoint", &ev.read_point, &ev.read_point_extensions),
            ("bizLocation", &ev.biz_location, &ev.biz_location_extensions),
        ] {
            if id.is_none() && ext.is_empty() {
                continue;
            }
            self.raw(",\"")?;
            self.raw(name)?;
            self.raw("\":{")?;
            let mut first = true;
            if let Some(id) = id {
                self.raw("\"id\":")?;
                let v = self.tr.identifier(id, None).into_owned();
                self.string(&v)?;
                first = false;
            }
            let scope = std::mem::take(&mut self.local);
            let r = self.members(ext, &scope, first);
            self.local = scope;
            r?;
            self.raw("}")?;
        }
        self.biz_transactions(&ev.biz_transactions)?;
        self.source_dest("sourceList", "source", &ev.sources)?;
        self.source_dest("destinationList", "destination", &ev.destinations)?;
        if !ev.sensor_elements.is_empty() {
            self.raw(",\"sensorElementList\":[")?;
            for (i, s) in ev.sensor_elements.iter().enumerate() {
                if i > 0 {
                    self.raw(",")?;
                }
                self.sensor_element(s)?;
            }
            self.raw("]")?;
        }
        if !ev.ilmd.elements.is_empty() {
            self.raw(",\"ilmd\":{")?;
            let scope = std::mem::take(&mut self.local);
            let r = self.members(&ev.ilmd.elements, &scope, true);
            self.local = scope;
            r?;
            self.raw("}")?;
        }
        if !ev.extensions.is_empty() {
            let scope = std::mem::take(&mut self.local);
            let r = self.members(&ev.extensions, &scope, false);
            self.local = scope;
            r?;
        }
        self.raw("}")
    }

    fn epc_list(&mut self, name: &str, ev: &Event, role: EpcRole) -> io::Result<()> {
        self.raw(",\"")?;
        self.raw(name)?;
        self.raw("\":[")?;
        let (out, tr) = (&mut self.out, &mut self.tr);
        let mut first = true;
        for_each_epc(ev, role, |uri, id| {
            let v = tr.identifier(uri, id);
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            write_string(out, &v)
        })?;
        self.raw("]")
    }

    fn quantity_list(&mut self, name: &str, list: &[QuantityElement]) -> io::Result<()> {
        if list.is_empty() {
            return Ok(());
        }
        self.raw(",\"")?;
        self.raw(name)?;
        self.raw("\":[")?;
        for (i, q) in list.iter().enumerate() {
            if i > 0 {
                self.raw(",")?;
            }
            self.raw("{\"epcClass\":")?;
            let class = self.tr.identifier(&q.epc_class, None).into_owned();
            self.string(&class)?;
            if let Some(n) = q.quantity {
                self.raw(",\"quantity\":")?;
                self.number(n)?;
                if let Some(u) = &q.uom {
                    self.raw(",\"uom\":")?;
                    self.string(u)?;
                }
            }
            self.raw("}")?;
        }
        self.raw("]")
    }

    fn biz_transactions(&mut self, list: &[BizTransaction]) -> io::Result<()> {
        if list.is_empty() {
            return Ok(());
        }
        self.raw(",\"bizTransactionList\":[")?;
        for (i, bt) in list.iter().enumerate() {
            if i > 0 {
                self.raw(",")?;
            }
            self.raw("{")?;
            if let Some(t) = &bt.transaction_type {
                self.raw("\"type\":")?;
                let v = self.tr.cbv(t, Vocab::BizTransactionType).into_owned();
                self.string(&v)?;
                self.raw(",")?;
            }
            self.raw("\"bizTransaction\":")?;
            let id = self.tr.identifier(&bt.id, None).into_owned();
            self.string(&id)?;
            self.raw("}")?;
        }
        self.raw("]")
    }

    fn source_dest(&mut self, list: &str, item: &str, v: &[SourceDest]) -> io::Result<()> {
        if v.is_empty() {
            return Ok(());
        }
        self.raw(",\"")?;
        self.raw(list)?;
        self.raw("\":[")?;
        for (i, sd) in v.iter().enumerate() {
            if i > 0 {
                self.raw(",")?;
            }
            self.raw("{\"type\":")?;
            let ty = self.tr.cbv(&sd.sd_type, Vocab::SourceDestType).into_owned();
            self.string(&ty)?;
            self.raw(",\"")?;
            self.raw(item)?;
            self.raw("\":")?;
            let id = self.tr.identifier(&sd.id, None).into_owned();
            self.string(&id)?;
            self.raw("}")?;
        }
        self.raw("]")
    }

    fn sensor_element(&mut self, s: &ExtensionElement) -> io::Result<()> {
        self.raw("{")?;
        let mut first = true;
        let meta = s
            .children
            .iter()
            .find(|c| c.namespace.is_empty() && c.local_name == "sensorMetadata");
        if let Some(m) = meta {
            self.raw("\"sensorMetadata\":")?;
            self.sensor_part(m)?;
            first = false;
        }
        let reports: Vec<&ExtensionElement> = s
            .children
            .iter()
            .filter(|c| c.namespace.is_empty() && c.local_name == "sensorReport")
            .collect();
        if !reports.is_empty() {
            if !first {
                self.raw(",")?;
            }
            self.raw("\"sensorReport\":[")?;
            for (i, r) in reports.iter().enumerate() {
                if i > 0 {
                    self.raw(",")?;
                }
                self.sensor_part(r)?;
            }
            self.raw("]")?;
            first = false;
        }
        let ext: Vec<ExtensionElement> = s
            .children
            .iter()
            .filter(|c| !c.namespace.is_empty())
            .cloned()
            .collect();
        self.dropped += s
            .children
            .iter()
            .filter(|c| {
                c.namespace.is_empty()
                    && c.local_name != "sensorMetadata"
                    && c.local_name != "sensorReport"
            })
            .count() as u64;
        let scope = std::mem::take(&mut self.local);
        let r = self.members(&ext, &scope, first);
        self.local = scope;
        r?;
        self.raw("}")
    }

    /// sensorMetadata or one sensorReport: its attributes as members.
    fn sensor_part(&mut self, el: &ExtensionElement) -> io::Result<()> {
        self.raw("{")?;
        let mut first = true;
        for (k, v) in &el.attributes {
            if k.contains(':') {
                // A namespaced attribute: the model did not keep its namespace.
                self.dropped += 1;
                continue;
            }
            if !first {
                self.raw(",")?;
            }
            first = false;
            self.string(k)?;
            self.raw(":")?;
            let v = v.trim();
            if SENSOR_NUMBERS.contains(&k.as_str()) {
                match v.parse::<f64>() {
                    Ok(n) if n.is_finite() => self.number(n)?,
                    _ => self.string(v)?,
                }
            } else if k == "booleanValue" {
                match v {
                    "true" | "1" => self.raw("true")?,
                    "false" | "0" => self.raw("false")?,
                    _ => self.string(v)?,
                }
            } else if k == "type" || k == "exception" {
                // `gs1:Temperature` in XML is the GS1 context's `Temperature`.
                let word = v
                    .strip_prefix("gs1:")
                    .or_else(|| v.strip_prefix("https://gs1.org/voc/"))
                    .unwrap_or(v);
                self.string(word)?;
            } else {
                self.string(v)?;
            }
        }
        let ext: Vec<ExtensionElement> = el
            .children
            .iter()
            .filter(|c| !c.namespace.is_empty())
            .cloned()
            .collect();
        let scope = std::mem::take(&mut self.local);
        let r = self.members(&ext, &scope, first);
        self.local = scope;
        r?;
        self.raw("}")
    }

    /// Elements as object members (`"prefix:name": value`); elements of one name become an
    /// array. `first`: no member written before in this object.
    fn members(
        &mut self,
        elements: &[ExtensionElement],
        scope: &Prefixes,
        mut first: bool,
    ) -> io::Result<()> {
        let mut done = vec![false; elements.len()];
        for i in 0..elements.len() {
            if done[i] {
                continue;
            }
            let el = &elements[i];
            let same: Vec<usize> = (i..elements.len())
                .filter(|&j| {
                    elements[j].namespace == el.namespace && elements[j].local_name == el.local_name
                })
                .collect();
            if !first {
                self.raw(",")?;
            }
            first = false;
            let key = self.key(el, scope);
            self.string(&key)?;
            self.raw(":")?;
            if same.len() > 1 {
                self.raw("[")?;
                for (n, &j) in same.iter().enumerate() {
                    done[j] = true;
                    if n > 0 {
                        self.raw(",")?;
                    }
                    self.element_value(&elements[j], scope)?;
                }
                self.raw("]")?;
            } else {
                done[i] = true;
                self.element_value(el, scope)?;
            }
        }
        Ok(())
    }

    fn element_value(&mut self, el: &ExtensionElement, scope: &Prefixes) -> io::Result<()> {
        // Attributes of extension elements have no place in the JSON binding.
        self.dropped += el.attributes.len() as u64;
        if el.children.is_empty() {
            return self.string(&el.text);
        }
        if !el.text.is_empty() {
            self.dropped += 1;
        }
        self.raw("{")?;
        self.members(&el.children, scope, true)?;
        self.raw("}")
    }

    fn key(&self, el: &ExtensionElement, scope: &Prefixes) -> String {
        if el.namespace.is_empty() {
            return el.local_name.clone();
        }
        let prefix = if is_cbvmda(&el.namespace) {
            Some("cbvmda")
        } else {
            scope
                .get(&el.namespace)
                .or_else(|| self.doc_prefixes.get(&el.namespace))
        };
        match prefix {
            Some(p) => format!("{p}:{}", el.local_name),
            // Not bound (cannot happen: every tree is bound before it is written): the IRI.
            None => format!("{}{}", el.namespace, el.local_name),
        }
    }

    fn context_object(&mut self, p: &Prefixes) -> io::Result<()> {
        self.raw("{")?;
        for (i, (ns, prefix)) in p.map.iter().enumerate() {
            if i > 0 {
                self.raw(",")?;
            }
            write_string(&mut self.out, prefix)?;
            self.out.write_all(b":")?;
            write_string(&mut self.out, ns)?;
        }
        self.raw("}")
    }

    fn number(&mut self, n: f64) -> io::Result<()> {
        write!(self.out, "{n}")
    }

    fn raw(&mut self, s: &str) -> io::Result<()> {
        self.out.write_all(s.as_bytes())
    }

    fn string(&mut self, s: &str) -> io::Result<()> {
        write_string(&mut self.out, s)
    }
}

/// A JSON string literal.
pub(crate) fn write_string(out: &mut impl Write, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.write_all(&bytes[start..i])?;
                write!(out, "\\u{b:04x}")?;
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.write_all(&bytes[start..i])?;
        out.write_all(esc)?;
        start = i + 1;
    }
    out.write_all(&bytes[start..])?;
    out.write_all(b"\"")
}
