//! EPCIS 2.0 XML event layout: every field a direct child of the event, in the order of the
//! 2.0 schema as the reader checks it (`reader/order.rs`); extension elements last.

use std::io::{self, Write};

use super::xml::XmlWriter;
use crate::epcis::model::{EpcRole, Event, EventType};

impl<W: Write> XmlWriter<W> {
    pub(super) fn event_v2(&mut self, ev: &Event) -> io::Result<()> {
        let name = ev.event_type.as_str();
        self.open(name)?;
        self.times(ev)?;
        self.certification_info(ev)?;
        if let Some(id) = &ev.event_id {
            self.leaf("eventID", id)?;
        }
        if let Some(d) = &ev.error_declaration {
            self.error_declaration(d)?;
        }
        match ev.event_type {
            EventType::Object => {
                self.epc_list("epcList", ev, EpcRole::Epc)?;
                self.action(ev)?;
                self.what_where(ev)?;
                self.biz_transactions(&ev.biz_transactions)?;
                self.quantity_list("quantityList", &ev.quantity_list)?;
                self.sources_destinations(ev)?;
                self.sensor_elements(ev)?;
                self.ilmd(ev)?;
            }
            EventType::Aggregation => {
                self.parent_id(ev)?;
                self.epc_list("childEPCs", ev, EpcRole::Child)?;
                self.action(ev)?;
                self.what_where(ev)?;
                self.biz_transactions(&ev.biz_transactions)?;
                self.quantity_list("childQuantityList", &ev.child_quantity_list)?;
                self.sources_destinations(ev)?;
                self.sensor_elements(ev)?;
            }
            EventType::Transaction => {
                self.biz_transactions(&ev.biz_transactions)?;
                self.parent_id(ev)?;
                self.epc_list("epcList", ev, EpcRole::Epc)?;
                self.action(ev)?;
                self.what_where(ev)?;
                self.quantity_list("quantityList", &ev.quantity_list)?;
                self.sources_destinations(ev)?;
                self.sensor_elements(ev)?;
            }
            EventType::Transformation => {
                self.optional_epc_list("inputEPCList", ev, EpcRole::Input)?;
                self.quantity_list("inputQuantityList", &ev.input_quantity_list)?;
                self.optional_epc_list("outputEPCList", ev, EpcRole::Output)?;
                self.quantity_list("outputQuantityList", &ev.output_quantity_list)?;
                if let Some(t) = &ev.transformation_id {
                    self.leaf("transformationID", t)?;
                }
                self.what_where(ev)?;
                self.biz_transactions(&ev.biz_transactions)?;
                self.sources_destinations(ev)?;
                self.sensor_elements(ev)?;
                self.ilmd(ev)?;
            }
            EventType::Association => {
                self.parent_id(ev)?;
                self.optional_epc_list("childEPCs", ev, EpcRole::Child)?;
                self.quantity_list("childQuantityList", &ev.child_quantity_list)?;
                self.action(ev)?;
                self.what_where(ev)?;
                self.biz_transactions(&ev.biz_transactions)?;
                self.sources_destinations(ev)?;
                self.sensor_elements(ev)?;
            }
            EventType::Quantity => self.quantity_event_body(ev)?,
        }
        self.extensions(ev)?;
        self.close(name)
    }

    /// bizStep, disposition, persistentDisposition, readPoint, bizLocation (2.0 order).
    fn what_where(&mut self, ev: &Event) -> io::Result<()> {
        self.step_and_disposition(ev)?;
        self.persistent_disposition(&ev.persistent_disposition)?;
        self.locations(ev)
    }

    /// The deprecated QuantityEvent (read, never created): epcClass and quantity, then the
    /// fields it shares with the others.
    pub(super) fn quantity_event_body(&mut self, ev: &Event) -> io::Result<()> {
        if let Some(q) = ev.quantity_list.first() {
            let class = self.tr.identifier(&q.epc_class, None).into_owned();
            self.leaf("epcClass", &class)?;
            if let Some(n) = q.quantity {
                self.leaf("quantity", &n.to_string())?;
            }
        }
        self.step_and_disposition(ev)?;
        self.locations(ev)?;
        self.biz_transactions(&ev.biz_transactions)
    }
}
