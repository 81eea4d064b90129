//! EPCIS 1.2 XML event layout: `eventID` and `errorDeclaration` in `baseExtension`, the
//! fields 1.1 added in the event's `extension`, TransformationEvent in `EventList/extension`
//! and AssociationEvent in `EventList/extension/extension` (where 1.2 documents in the wild
//! carry it). Fields only 2.0 has (persistentDisposition, sensorElementList,
//! certificationInfo) go in the innermost `extension`, which the 1.2 schema leaves open to
//! later versions of the standard.

use std::io::{self, Write};

use super::xml::XmlWriter;
use crate::epcis::model::{EpcRole, Event, EventType};

impl<W: Write> XmlWriter<W> {
    pub(super) fn event_v12(&mut self, ev: &Event) -> io::Result<()> {
        let name = ev.event_type.as_str();
        let wrappers = match ev.event_type {
            EventType::Transformation => 1,
            EventType::Association => 2,
            _ => 0,
        };
        for _ in 0..wrappers {
            self.open("extension")?;
        }
        self.open(name)?;
        self.times(ev)?;
        if ev.event_id.is_some()
            || ev.error_declaration.is_some()
            || !ev.certification_info.is_empty()
        {
            self.open("baseExtension")?;
            if let Some(id) = &ev.event_id {
                self.leaf("eventID", id)?;
            }
            if let Some(d) = &ev.error_declaration {
                self.error_declaration(d)?;
            }
            if !ev.certification_info.is_empty() {
                self.open("extension")?;
                self.certification_info(ev)?;
                self.close("extension")?;
            }
            self.close("baseExtension")?;
        }
        match ev.event_type {
            EventType::Object => {
                self.epc_list("epcList", ev, EpcRole::Epc)?;
                self.action(ev)?;
                self.step_and_disposition(ev)?;
                self.locations(ev)?;
                self.biz_transactions(&ev.biz_transactions)?;
                let outer = !ev.quantity_list.is_empty()
                    || !ev.sources.is_empty()
                    || !ev.destinations.is_empty()
                    || !ev.ilmd.elements.is_empty()
                    || has_2_0_fields(ev);
                if outer {
                    self.open("extension")?;
                    self.quantity_list("quantityList", &ev.quantity_list)?;
                    self.sources_destinations(ev)?;
                    self.ilmd(ev)?;
                    self.inner_2_0_fields(ev)?;
                    self.close("extension")?;
                }
            }
            EventType::Aggregation | EventType::Transaction => {
                if ev.event_type == EventType::Transaction {
                    self.biz_transactions(&ev.biz_transactions)?;
                    self.parent_id(ev)?;
                    self.epc_list("epcList", ev, EpcRole::Epc)?;
                } else {
                    self.parent_id(ev)?;
                    self.epc_list("childEPCs", ev, EpcRole::Child)?;
                }
                self.action(ev)?;
                self.step_and_disposition(ev)?;
                self.locations(ev)?;
                let quantities = if ev.event_type == EventType::Aggregation {
                    self.biz_transactions(&ev.biz_transactions)?;
                    ("childQuantityList", &ev.child_quantity_list)
                } else {
                    ("quantityList", &ev.quantity_list)
                };
                let outer = !quantities.1.is_empty()
                    || !ev.sources.is_empty()
                    || !ev.destinations.is_empty()
                    || has_2_0_fields(ev);
                if outer {
                    self.open("extension")?;
                    self.quantity_list(quantities.0, quantities.1)?;
                    self.sources_destinations(ev)?;
                    self.inner_2_0_fields(ev)?;
                    self.close("extension")?;
                }
            }
            EventType::Transformation => {
                self.optional_epc_list("inputEPCList", ev, EpcRole::Input)?;
                self.quantity_list("inputQuantityList", &ev.input_quantity_list)?;
                self.optional_epc_list("outputEPCList", ev, EpcRole::Output)?;
                self.quantity_list("outputQuantityList", &ev.output_quantity_list)?;
                if let Some(t) = &ev.transformation_id {
                    self.leaf("transformationID", t)?;
                }
                self.step_and_disposition(ev)?;
                self.locations(ev)?;
                self.biz_transactions(&ev.biz_transactions)?;
                self.sources_destinations(ev)?;
                self.ilmd(ev)?;
                if has_2_0_fields(ev) {
                    self.open("extension")?;
                    self.persistent_disposition(&ev.persistent_disposition)?;
                    self.sensor_elements(ev)?;
                    self.unqualified_extensions(ev)?;
                    self.close("extension")?;
                }
            }
            EventType::Association => {
                // Not a 1.2 type: written with the 2.0 field order inside the wrappers.
                self.parent_id(ev)?;
                self.optional_epc_list("childEPCs", ev, EpcRole::Child)?;
                self.quantity_list("childQuantityList", &ev.child_quantity_list)?;
                self.action(ev)?;
                self.step_and_disposition(ev)?;
                self.persistent_disposition(&ev.persistent_disposition)?;
                self.locations(ev)?;
                self.biz_transactions(&ev.biz_transactions)?;
                self.sources_destinations(ev)?;
                self.sensor_elements(ev)?;
            }
            EventType::Quantity => self.quantity_event_body(ev)?,
        }
        if matches!(ev.event_type, EventType::Quantity | EventType::Association) {
            // No wrappers of their own above: their one `extension` holds what has no namespace.
            self.elements_in_place(&ev.extensions)?;
        } else {
            self.extensions(ev)?;
        }
        self.close(name)?;
        for _ in 0..wrappers {
            self.close("extension")?;
        }
        Ok(())
    }

    /// The inner `extension` of an Object/Aggregation/TransactionEvent's `extension`.
    fn inner_2_0_fields(&mut self, ev: &Event) -> io::Result<()> {
        if !has_2_0_fields(ev) {
            return Ok(());
        }
        self.open("extension")?;
        self.persistent_disposition(&ev.persistent_disposition)?;
        self.sensor_elements(ev)?;
        self.unqualified_extensions(ev)?;
        self.close("extension")
    }
}

/// persistentDisposition, sensor data, or extension elements without a namespace: what goes in
/// the innermost `extension` (whose wildcard is `##local` in the 1.2 XSD; at event level only
/// `##other` is allowed).
fn has_2_0_fields(ev: &Event) -> bool {
    ev.persistent_disposition.is_some()
        || !ev.sensor_elements.is_empty()
        || ev.extensions.iter().any(|e| e.namespace.is_empty())
}
