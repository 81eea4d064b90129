//! The XML half shared by EPCIS 2.0 and 1.2 output: document frame, SBDH, master data,
//! element trees with their namespaces, and the event fields both versions write alike. The
//! event layouts are in `xml2.rs` and `xml12.rs`.

use std::io::{self, Write};

use super::options::Translator;
use super::{for_each_epc, parent_identifier, timestamp_text, DocMeta};
use crate::epcis::cbv::Vocab;
use crate::epcis::model::{
    BizTransaction, DocumentKind, EpcRole, EpcisVersion, ErrorDeclaration, Event, ExtensionElement,
    Header, Partner, PersistentDisposition, QuantityElement, Sbdh, SourceDest, Timestamp,
    Vocabulary,
};

pub(crate) const NS_EPCIS1: &str = "urn:epcglobal:epcis:xsd:1";
pub(crate) const NS_EPCIS2: &str = "urn:epcglobal:epcis:xsd:2";
pub(crate) const NS_MASTER_DATA1: &str = "urn:epcglobal:epcis-masterdata:xsd:1";
pub(crate) const NS_QUERY1: &str = "urn:epcglobal:epcis-query:xsd:1";
pub(crate) const NS_QUERY2: &str = "urn:epcglobal:epcis-query:xsd:2";
pub(crate) const NS_SBDH: &str =
    "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader";
pub(crate) const NS_CBVMDA: &str = "urn:epcglobal:cbv:mda";
pub(crate) const NS_GS1USHC: &str = "http://epcis.gs1us.org/hc/ns";
pub(crate) const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Writes one EPCIS XML document.
pub(crate) struct XmlWriter<W: Write> {
    pub(super) out: W,
    pub(super) tr: Translator,
    pub(super) version: EpcisVersion,
    /// Namespace bindings in scope: (prefix, namespace), innermost last.
    ns: Vec<(String, String)>,
    /// 1.2 master-data document: vocabularies go in the body.
    md_document: bool,
    /// An `EPCISQueryDocument`: the event list goes inside `QueryResults/resultsBody`.
    query: bool,
    header_open: bool,
    /// `EPCISHeader/extension/EPCISMasterData/VocabularyList` (or the body's list) is open.
    vocabularies_open: bool,
    body_open: bool,
    /// The header's `##other` elements, written after its master data.
    header_extensions: Vec<ExtensionElement>,
    root: &'static str,
    pub(super) dropped: u64,
}

impl<W: Write> XmlWriter<W> {
    pub(crate) fn new(out: W, tr: Translator, version: EpcisVersion) -> Self {
        XmlWriter {
            out,
            tr,
            version,
            ns: Vec::new(),
            md_document: false,
            query: false,
            header_open: false,
            vocabularies_open: false,
            body_open: false,
            header_extensions: Vec::new(),
            root: "epcis:EPCISDocument",
            dropped: 0,
        }
    }

    pub(crate) fn into_parts(self) -> (W, u64, u64) {
        (self.out, self.tr.untranslated, self.dropped)
    }

    pub(crate) fn start(&mut self, meta: &DocMeta, header: Option<&Header>) -> io::Result<()> {
        let v1 = self.version == EpcisVersion::V1;
        self.md_document = v1 && meta.kind == DocumentKind::EpcisMasterDataDocument;
        self.query = meta.kind == DocumentKind::EpcisQueryDocument;
        let (root_prefix, root_ns) = if self.md_document {
            self.root = "epcismd:EPCISMasterDataDocument";
            ("epcismd", NS_MASTER_DATA1)
        } else if self.query {
            self.root = "epcisq:EPCISQueryDocument";
            ("epcisq", if v1 { NS_QUERY1 } else { NS_QUERY2 })
        } else if v1 {
            ("epcis", NS_EPCIS1)
        } else {
            ("epcis", NS_EPCIS2)
        };
        self.ns = [
            (root_prefix, root_ns),
            ("sbdh", NS_SBDH),
            ("cbvmda", NS_CBVMDA),
            ("gs1ushc", NS_GS1USHC),
            ("xsi", NS_XSI),
        ]
        .iter()
        .map(|(p, n)| (p.to_string(), n.to_string()))
        .collect();
        self.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<")?;
        self.raw(self.root)?;
        for i in 0..self.ns.len() {
            let (p, n) = self.ns[i].clone();
            self.raw(" xmlns:")?;
            self.raw(&p)?;
            self.raw("=\"")?;
            self.attr_text(&n)?;
            self.raw("\"")?;
        }
        self.raw(if v1 {
            " schemaVersion=\"1.2\" creationDate=\""
        } else {
            " schemaVersion=\"2.0\" creationDate=\""
        })?;
        self.attr_text(&meta.creation_date)?;
        self.raw("\">\n")?;
        if let Some(h) = header {
            self.raw("<EPCISHeader>\n")?;
            self.header_open = true;
            if let Some(s) = &h.sbdh {
                self.sbdh(s)?;
            }
            self.header_extensions = h.extensions.clone();
        }
        Ok(())
    }

    pub(crate) fn vocabulary(&mut self, v: &Vocabulary) -> io::Result<()> {
        if !self.vocabularies_open {
            if self.md_document {
                self.close_header()?;
                self.raw("<EPCISBody>\n<VocabularyList>\n")?;
                self.body_open = true;
            } else {
                if !self.header_open {
                    self.raw("<EPCISHeader>\n")?;
                    self.header_open = true;
                }
                self.raw("<extension>\n<EPCISMasterData>\n<VocabularyList>\n")?;
            }
            self.vocabularies_open = true;
        }
        self.raw("<Vocabulary type=\"")?;
        self.attr_text(&v.vocabulary_type)?;
        self.raw("\">\n")?;
        if !v.elements.is_empty() {
            self.raw("<VocabularyElementList>\n")?;
            for el in &v.elements {
                self.raw("<VocabularyElement id=\"")?;
                let id = self.tr.identifier(&el.id, None).into_owned();
                self.attr_text(&id)?;
                self.raw("\">\n")?;
                for a in &el.attributes {
                    self.raw("<attribute id=\"")?;
                    self.attr_text(&a.id)?;
                    self.raw("\">")?;
                    if a.elements.is_empty() {
                        self.text(&a.value)?;
                    } else {
                        for e in &a.elements {
                            self.element(e)?;
                        }
                    }
                    self.raw("</attribute>\n")?;
                }
                if !el.children.is_empty() {
                    self.raw("<children>\n")?;
                    for c in &el.children {
                        let id = self.tr.identifier(c, None).into_owned();
                        self.leaf("id", &id)?;
                    }
                    self.raw("</children>\n")?;
                }
                self.raw("</VocabularyElement>\n")?;
            }
            self.raw("</VocabularyElementList>\n")?;
        }
        self.raw("</Vocabulary>\n")
    }

    fn close_header(&mut self) -> io::Result<()> {
        if !self.header_open {
            return Ok(());
        }
        if self.vocabularies_open && !self.md_document {
            self.raw("</VocabularyList>\n</EPCISMasterData>\n</extension>\n")?;
            self.vocabularies_open = false;
        }
        for e in std::mem::take(&mut self.header_extensions) {
            self.element(&e)?;
        }
        self.header_open = false;
        self.raw("</EPCISHeader>\n")
    }

    pub(crate) fn begin_events(&mut self) -> io::Result<()> {
        self.close_header()?;
        if self.md_document {
            // A 1.2 master-data document has no events; those given are not written.
            return Ok(());
        }
        self.body_open = true;
        self.raw(if self.query {
            "<EPCISBody>\n<epcisq:QueryResults>\n<queryName>SimpleEventQuery</queryName>\n<resultsBody>\n<EventList>\n"
        } else {
            "<EPCISBody>\n<EventList>\n"
        })
    }

    pub(crate) fn finish(&mut self, events_open: bool) -> io::Result<()> {
        if self.md_document {
            self.close_header()?;
            if self.vocabularies_open {
                self.raw("</VocabularyList>\n</EPCISBody>\n")?;
            } else {
                self.raw("<EPCISBody>\n<VocabularyList/>\n</EPCISBody>\n")?;
            }
        } else if self.query {
            if !events_open {
                self.begin_events()?;
            }
            self.raw("</EventList>\n</resultsBody>\n</epcisq:QueryResults>\n</EPCISBody>\n")?;
        } else if events_open {
            self.raw("</EventList>\n</EPCISBody>\n")?;
        } else {
            self.close_header()?;
            self.raw("<EPCISBody>\n<EventList/>\n</EPCISBody>\n")?;
        }
        self.raw("</")?;
        self.raw(self.root)?;
        self.raw(">\n")?;
        self.out.flush()
    }

    pub(crate) fn event(&mut self, ev: &Event) -> io::Result<()> {
        if self.md_document {
            self.dropped += 1;
            return Ok(());
        }
        match self.version {
            EpcisVersion::V2 => self.event_v2(ev),
            EpcisVersion::V1 => self.event_v12(ev),
        }
    }

    // ---- SBDH -------------------------------------------------------------------------

    fn sbdh(&mut self, s: &Sbdh) -> io::Result<()> {
        self.raw("<sbdh:StandardBusinessDocumentHeader>\n")?;
        self.leaf(
            "sbdh:HeaderVersion",
            s.header_version.as_deref().unwrap_or("1.0"),
        )?;
        for p in &s.senders {
            self.partner("sbdh:Sender", p)?;
        }
        for p in &s.receivers {
            self.partner("sbdh:Receiver", p)?;
        }
        let d = &s.document_identification;
        self.raw("<sbdh:DocumentIdentification>\n")?;
        for (name, v) in [
            ("sbdh:Standard", &d.standard),
            ("sbdh:TypeVersion", &d.type_version),
            ("sbdh:InstanceIdentifier", &d.instance_identifier),
            ("sbdh:Type", &d.document_type),
            ("sbdh:MultipleType", &d.multiple_type),
        ] {
            if let Some(v) = v {
                self.leaf(name, v)?;
            }
        }
        if let Some(t) = &d.creation_date_and_time {
            self.leaf("sbdh:CreationDateAndTime", t.text.trim())?;
        }
        self.raw("</sbdh:DocumentIdentification>\n")?;
        for e in &s.other {
            self.element(e)?;
        }
        self.raw("</sbdh:StandardBusinessDocumentHeader>\n")
    }

    fn partner(&mut self, name: &str, p: &Partner) -> io::Result<()> {
        self.open(name)?;
        self.raw("<sbdh:Identifier")?;
        if let Some(a) = &p.authority {
            self.raw(" Authority=\"")?;
            self.attr_text(a)?;
            self.raw("\"")?;
        }
        self.raw(">")?;
        self.text(&p.identifier)?;
        self.raw("</sbdh:Identifier>\n")?;
        for e in &p.other {
            self.element(e)?;
        }
        self.close(name)
    }

    // ---- element trees ----------------------------------------------------------------

    fn lookup(&self, prefix: &str) -> Option<&str> {
        self.ns
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, n)| n.as_str())
    }

    /// The prefix to write `namespace` with, and whether it must be declared here.
    fn prefix_for(&self, namespace: &str, wanted: &str) -> (String, bool) {
        if !wanted.is_empty() && wanted != "xml" && !wanted.starts_with("xmlns") {
            let declared = self.lookup(wanted) == Some(namespace);
            return (wanted.to_string(), !declared);
        }
        if let Some((p, _)) = self
            .ns
            .iter()
            .rev()
            .find(|(p, n)| n == namespace && self.lookup(p) == Some(namespace))
        {
            return (p.clone(), false);
        }
        let mut i = self.ns.len();
        loop {
            let p = format!("ns{i}");
            if self.lookup(&p).is_none() {
                return (p, true);
            }
            i += 1;
        }
    }

    /// An element kept as read (extension, ILMD field, sensor element, SBDH part), with the
    /// namespace declarations it needs.
    pub(super) fn element(&mut self, el: &ExtensionElement) -> io::Result<()> {
        let mark = self.ns.len();
        let name = if el.namespace.is_empty() {
            el.local_name.clone()
        } else {
            let (prefix, declare) = self.prefix_for(&el.namespace, &el.prefix);
            if declare {
                self.ns.push((prefix.clone(), el.namespace.clone()));
            }
            format!("{prefix}:{}", el.local_name)
        };
        self.raw("<")?;
        self.raw(&name)?;
        for i in mark..self.ns.len() {
            let (p, n) = self.ns[i].clone();
            self.raw(" xmlns:")?;
            self.raw(&p)?;
            self.raw("=\"")?;
            self.attr_text(&n)?;
            self.raw("\"")?;
        }
        for (k, v) in &el.attributes {
            let known = match k.split_once(':') {
                None => true,
                Some(("xml", _)) => true,
                Some((p, _)) => self.lookup(p).is_some(),
            };
            if !known || k.starts_with("xmlns") {
                // An attribute in a namespace the model did not keep: no valid way to write it.
                self.dropped += 1;
                continue;
            }
            self.raw(" ")?;
            self.raw(k)?;
            self.raw("=\"")?;
            self.attr_text(v)?;
            self.raw("\"")?;
        }
        if el.text.is_empty() && el.children.is_empty() {
            self.raw("/>\n")?;
        } else {
            self.raw(">")?;
            self.text(&el.text)?;
            if !el.children.is_empty() {
                self.raw("\n")?;
                for c in &el.children {
                    self.element(c)?;
                }
            }
            self.raw("</")?;
            self.raw(&name)?;
            self.raw(">\n")?;
        }
        self.ns.truncate(mark);
        Ok(())
    }

    // ---- event fields -----------------------------------------------------------------

    pub(super) fn time(&mut self, name: &str, t: &Timestamp) -> io::Result<()> {
        let v2 = self.version == EpcisVersion::V2;
        let text = timestamp_text(t, v2).into_owned();
        self.leaf(name, &text)
    }

    /// eventTime, recordTime, eventTimeZoneOffset.
    pub(super) fn times(&mut self, ev: &Event) -> io::Result<()> {
        if let Some(t) = &ev.event_time {
            self.time("eventTime", t)?;
        }
        if let Some(t) = &ev.record_time {
            self.time("recordTime", t)?;
        }
        if let Some(o) = &ev.event_time_zone_offset {
            self.leaf("eventTimeZoneOffset", o)?;
        }
        Ok(())
    }

    pub(super) fn error_declaration(&mut self, d: &ErrorDeclaration) -> io::Result<()> {
        self.raw("<errorDeclaration>\n")?;
        if let Some(t) = &d.declaration_time {
            self.time("declarationTime", t)?;
        }
        if let Some(r) = &d.reason {
            let v = self.tr.cbv(r, Vocab::ErrorReason).into_owned();
            self.leaf("reason", &v)?;
        }
        if !d.corrective_event_ids.is_empty() {
            self.raw("<correctiveEventIDs>\n")?;
            for id in &d.corrective_event_ids {
                self.leaf("correctiveEventID", id)?;
            }
            self.raw("</correctiveEventIDs>\n")?;
        }
        self.elements_in_place(&d.extensions)?;
        self.raw("</errorDeclaration>\n")
    }

    /// An EPC list, written even when empty (the schemas require some of them).
    pub(super) fn epc_list(&mut self, name: &str, ev: &Event, role: EpcRole) -> io::Result<()> {
        if !super::has_list(ev, role) {
            self.raw("<")?;
            self.raw(name)?;
            return self.raw("/>\n");
        }
        self.open(name)?;
        let (out, tr) = (&mut self.out, &mut self.tr);
        for_each_epc(ev, role, |uri, id| {
            let v = tr.identifier(uri, id);
            out.write_all(b"<epc>")?;
            write_escaped(out, &v, false)?;
            out.write_all(b"</epc>\n")
        })?;
        self.close(name)
    }

    pub(super) fn optional_epc_list(
        &mut self,
        name: &str,
        ev: &Event,
        role: EpcRole,
    ) -> io::Result<()> {
        if super::has_list(ev, role) {
            self.epc_list(name, ev, role)?;
        }
        Ok(())
    }

    pub(super) fn parent_id(&mut self, ev: &Event) -> io::Result<()> {
        if let Some(p) = &ev.parent_id {
            let v = self.tr.identifier(p, parent_identifier(ev)).into_owned();
            self.leaf("parentID", &v)?;
        }
        Ok(())
    }

    pub(super) fn quantity_list(&mut self, name: &str, list: &[QuantityElement]) -> io::Result<()> {
        if list.is_empty() {
            return Ok(());
        }
        self.open(name)?;
        for q in list {
            self.raw("<quantityElement>\n")?;
            let class = self.tr.identifier(&q.epc_class, None).into_owned();
            self.leaf("epcClass", &class)?;
            if let Some(n) = q.quantity {
                self.leaf("quantity", &n.to_string())?;
                if let Some(u) = &q.uom {
                    self.leaf("uom", u)?;
                }
            }
            self.raw("</quantityElement>\n")?;
        }
        self.close(name)
    }

    pub(super) fn action(&mut self, ev: &Event) -> io::Result<()> {
        if let Some(a) = ev.action {
            self.leaf("action", a.as_str())?;
        }
        Ok(())
    }

    pub(super) fn step_and_disposition(&mut self, ev: &Event) -> io::Result<()> {
        if let Some(b) = &ev.biz_step {
            let v = self.tr.cbv(b, Vocab::BizStep).into_owned();
            self.leaf("bizStep", &v)?;
        }
        if let Some(d) = &ev.disposition {
            let v = self.tr.cbv(d, Vocab::Disposition).into_owned();
            self.leaf("disposition", &v)?;
        }
        Ok(())
    }

    pub(super) fn persistent_disposition(
        &mut self,
        pd: &Option<PersistentDisposition>,
    ) -> io::Result<()> {
        let Some(pd) = pd else { return Ok(()) };
        self.raw("<persistentDisposition>\n")?;
        for (name, list) in [("unset", &pd.unset), ("set", &pd.set)] {
            for t in list {
                let v = self.tr.cbv(t, Vocab::Disposition).into_owned();
                self.leaf(name, &v)?;
            }
        }
        self.raw("</persistentDisposition>\n")
    }

    /// readPoint and bizLocation.
    pub(super) fn locations(&mut self, ev: &Event) -> io::Result<()> {
        for (name, id, ext) in [
            ("readPoint", &ev.read_point, &ev.read_point_extensions),
            ("bizLocation", &ev.biz_location, &ev.biz_location_extensions),
        ] {
            if id.is_none() && ext.is_empty() {
                continue;
            }
            self.open(name)?;
            if let Some(id) = id {
                let v = self.tr.identifier(id, None).into_owned();
                self.leaf("id", &v)?;
            }
            self.elements_in_place(ext)?;
            self.close(name)?;
        }
        Ok(())
    }

    pub(super) fn biz_transactions(&mut self, list: &[BizTransaction]) -> io::Result<()> {
        if list.is_empty() {
            return Ok(());
        }
        self.raw("<bizTransactionList>\n")?;
        for bt in list {
            self.raw("<bizTransaction")?;
            if let Some(t) = &bt.transaction_type {
                let v = self.tr.cbv(t, Vocab::BizTransactionType).into_owned();
                self.raw(" type=\"")?;
                self.attr_text(&v)?;
                self.raw("\"")?;
            }
            self.raw(">")?;
            let id = self.tr.identifier(&bt.id, None).into_owned();
            self.text(&id)?;
            self.raw("</bizTransaction>\n")?;
        }
        self.raw("</bizTransactionList>\n")
    }

    pub(super) fn sources_destinations(&mut self, ev: &Event) -> io::Result<()> {
        self.source_dest("sourceList", "source", &ev.sources)?;
        self.source_dest("destinationList", "destination", &ev.destinations)
    }

    fn source_dest(&mut self, list: &str, item: &str, v: &[SourceDest]) -> io::Result<()> {
        if v.is_empty() {
            return Ok(());
        }
        self.open(list)?;
        for sd in v {
            let ty = self.tr.cbv(&sd.sd_type, Vocab::SourceDestType).into_owned();
            self.raw("<")?;
            self.raw(item)?;
            self.raw(" type=\"")?;
            self.attr_text(&ty)?;
            self.raw("\">")?;
            let id = self.tr.identifier(&sd.id, None).into_owned();
            self.text(&id)?;
            self.raw("</")?;
            self.raw(item)?;
            self.raw(">\n")?;
        }
        self.close(list)
    }

    pub(super) fn sensor_elements(&mut self, ev: &Event) -> io::Result<()> {
        if ev.sensor_elements.is_empty() {
            return Ok(());
        }
        self.raw("<sensorElementList>\n")?;
        for e in &ev.sensor_elements {
            self.element(e)?;
        }
        self.raw("</sensorElementList>\n")
    }

    pub(super) fn ilmd(&mut self, ev: &Event) -> io::Result<()> {
        if ev.ilmd.elements.is_empty() {
            return Ok(());
        }
        self.raw("<ilmd>\n")?;
        for e in &ev.ilmd.elements {
            self.element(e)?;
        }
        self.raw("</ilmd>\n")
    }

    /// The event's own extension elements: last, as the schemas' `##other`.
    /// The event's extension elements at its end: those of a namespace there (`##other`);
    /// those without one (allowed only inside an `extension`) in 2.0 in the event's
    /// `extension` element, in 1.2 in the innermost one ([`XmlWriter::unqualified_extensions`],
    /// written with the other fields of that level).
    pub(super) fn extensions(&mut self, ev: &Event) -> io::Result<()> {
        if self.version == EpcisVersion::V2 {
            return self.elements_in_place(&ev.extensions);
        }
        for e in ev.extensions.iter().filter(|e| !e.namespace.is_empty()) {
            self.element(e)?;
        }
        Ok(())
    }

    /// Elements kept as read, at the end of an element whose schema type ends with an
    /// `extension` element (wildcard `##local`) and an `##other` wildcard (readPoint,
    /// bizLocation, errorDeclaration, a 2.0 event): those without a namespace in an
    /// `extension`, the others after it.
    pub(super) fn elements_in_place(&mut self, els: &[ExtensionElement]) -> io::Result<()> {
        if els.iter().any(|e| e.namespace.is_empty()) {
            self.raw("<extension>")?;
            for e in els.iter().filter(|e| e.namespace.is_empty()) {
                self.element(e)?;
            }
            self.raw("</extension>\n")?;
        }
        for e in els.iter().filter(|e| !e.namespace.is_empty()) {
            self.element(e)?;
        }
        Ok(())
    }

    /// The event's extension elements without a namespace.
    pub(super) fn unqualified_extensions(&mut self, ev: &Event) -> io::Result<()> {
        for e in ev.extensions.iter().filter(|e| e.namespace.is_empty()) {
            self.element(e)?;
        }
        Ok(())
    }

    pub(super) fn certification_info(&mut self, ev: &Event) -> io::Result<()> {
        for c in &ev.certification_info {
            self.leaf("certificationInfo", c)?;
        }
        Ok(())
    }

    // ---- output -------------------------------------------------------------------------

    pub(super) fn raw(&mut self, s: &str) -> io::Result<()> {
        self.out.write_all(s.as_bytes())
    }

    pub(super) fn text(&mut self, s: &str) -> io::Result<()> {
        write_escaped(&mut self.out, s, false)
    }

    fn attr_text(&mut self, s: &str) -> io::Result<()> {
        write_escaped(&mut self.out, s, true)
    }

    pub(super) fn open(&mut self, name: &str) -> io::Result<()> {
        self.raw("<")?;
        self.raw(name)?;
        self.raw(">\n")
    }

    pub(super) fn close(&mut self, name: &str) -> io::Result<()> {
        self.raw("</")?;
        self.raw(name)?;
        self.raw(">\n")
    }

    pub(super) fn leaf(&mut self, name: &str, value: &str) -> io::Result<()> {
        self.raw("<")?;
        self.raw(name)?;
        self.raw(">")?;
        self.text(value)?;
        self.raw("</")?;
        self.raw(name)?;
        self.raw(">\n")
    }
}

/// Writes `s` with the XML special characters escaped (and, in an attribute, quotes and the
/// whitespace characters an attribute value would otherwise lose).
pub(crate) fn write_escaped(out: &mut impl Write, s: &str, attr: bool) -> io::Result<()> {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' if attr => b"&quot;",
            b'\t' if attr => b"&#9;",
            b'\n' if attr => b"&#10;",
            b'\r' => b"&#13;",
            _ => continue,
        };
        out.write_all(&bytes[start..i])?;
        out.write_all(rep)?;
        start = i + 1;
    }
    out.write_all(&bytes[start..])
}
