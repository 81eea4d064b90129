//! One event as a JSON-LD object: its fields in the order of the EPCIS 2.0 JSON schema, EPC and
//! quantity lists, business transactions, sources and destinations.

use std::io::{self, Write};

use super::prefixes::Prefixes;
use super::{write_string, JsonLdWriter};
use crate::epcis::cbv::Vocab;
use crate::epcis::model::{
    BizTransaction, EpcRole, Event, EventType, ExtensionElement, QuantityElement, SourceDest,
};
use crate::epcis::write::{for_each_epc, has_list, parent_identifier, timestamp_text};

impl<W: Write> JsonLdWriter<W> {
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
        // An element of no namespace has no IRI, so no JSON-LD member can stand for it: left
        // out and counted (docs/FORMATS.md).
        let unqualified = ev
            .extensions
            .iter()
            .filter(|e| e.namespace.is_empty())
            .count();
        self.dropped += unqualified as u64;
        if ev.extensions.len() > unqualified {
            // A copy only when some are left out (rare): the common case writes the list as is.
            let qualified: std::borrow::Cow<'_, [ExtensionElement]> = if unqualified == 0 {
                std::borrow::Cow::Borrowed(&ev.extensions)
            } else {
                ev.extensions
                    .iter()
                    .filter(|e| !e.namespace.is_empty())
                    .cloned()
                    .collect()
            };
            let scope = std::mem::take(&mut self.local);
            let r = self.members(&qualified, &scope, false);
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
}
