//! Reading one event: walks the children against the order tables, fills the model, checks
//! values and identifiers as they are read (so each finding has the value's own position).
//!
//! The parts: this file walks the event (order tables, the 1.2 wrappers and 2.0 wildcards) and
//! sends each field where it is read; `text` reads and checks one value, `epcs` the EPC lists
//! (limit, one parse per EPC, spilling to disk), `parts` the structured fields (quantities,
//! locations, business transactions, sources and destinations, error declaration, ILMD).

mod epcs;
pub(super) mod parts;
mod text;

use std::io::BufRead;

use super::cursor::{Ns, Tok};
use super::lists::ListKind;
use super::order::{self, Field, Level, OrderTracker, Visit};
use super::{ReadError, XmlReader};
use crate::epcis::cbv::Vocab;
use crate::epcis::diagnostics::{rules, Rule};
use crate::epcis::model::{
    Action, EpcRole, EpcisVersion, Event, EventType, Position, QuantityElement,
};
use crate::epcis::{ident, values};
use parts::QuantityKind;

impl<R: BufRead> XmlReader<R> {
    pub(super) fn read_event(
        &mut self,
        et: EventType,
        pos: Position,
    ) -> Result<Box<Event>, ReadError> {
        let index = self.event_count;
        self.current_event = Some(index);
        self.cur.item_elements = 0;
        let mut ev = Box::new(Event::new(et, index, pos));
        self.epcs.begin_event();
        self.event_children(&mut ev, Level::Event)?;
        self.epcs.finish(&mut ev).map_err(|e| self.spill_error(e))?;
        self.event_checks(&ev);
        self.current_event = None;
        Ok(ev)
    }

    /// Children of the event element or of one of its 1.2 wrappers, up to the end tag.
    fn event_children(&mut self, ev: &mut Event, level: Level) -> Result<(), ReadError> {
        if order::is_wildcard(self.version, ev.event_type, level) {
            return self.inner_extension(ev);
        }
        // A 1.2 AssociationEvent lives inside a `##local` wildcard (order.rs): the XSD checks
        // none of its children, so an unknown unqualified one is kept, not refused.
        let in_wildcard =
            self.version == EpcisVersion::V1 && ev.event_type == EventType::Association;
        let table = order::table(self.version, ev.event_type, level);
        let mut tracker = OrderTracker::new(table);
        let wrapper = match level {
            Level::Event => ev.event_type.as_str(),
            Level::BaseExtension => "baseExtension",
            Level::Extension | Level::InnerExtension => "extension",
        };
        loop {
            match self.cur.next_tok()? {
                Tok::End => break,
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    if self.cur.ns != Ns::None {
                        tracker.visit_foreign();
                        let el = self.cur.read_any()?;
                        ev.extensions.push(el);
                        continue;
                    }
                    let Some(field) = Field::from_name(&self.cur.local) else {
                        if in_wildcard {
                            let el = self.cur.read_any()?;
                            ev.extensions.push(el);
                            continue;
                        }
                        self.skip_unexpected(
                            pos,
                            &format!("{wrapper}: the EPCIS schema has no such element here"),
                        )?;
                        continue;
                    };
                    match tracker.visit(field) {
                        Visit::Ok => {}
                        Visit::OutOfOrder(after) => self.diag(
                            &rules::ORDER,
                            pos,
                            format!("`{}` must come before `{after}` in {wrapper} (EPCIS XSD element order)", field.name()),
                        ),
                        Visit::AfterExtension => self.diag(
                            &rules::ORDER,
                            pos,
                            format!("`{}` comes after a user extension element in {wrapper}; extension elements must come last", field.name()),
                        ),
                        Visit::Duplicate => self.diag(&rules::DUPLICATE, pos, format!("`{}` appears more than once in {wrapper}", field.name())),
                        Visit::NotAllowed => {
                            let other = match self.version {
                                EpcisVersion::V1 => EpcisVersion::V2,
                                EpcisVersion::V2 => EpcisVersion::V1,
                            };
                            if order::known_in(self.version, ev.event_type, field) || order::known_in(other, ev.event_type, field) {
                                let msg = match self.version {
                                    EpcisVersion::V1 => format!("`{}` is not allowed directly in {wrapper} in EPCIS 1.2 (1.2 puts it inside an <extension>/<baseExtension> wrapper, or it is 2.0 only)", field.name()),
                                    EpcisVersion::V2 => format!("`{}` in {wrapper} is the EPCIS 1.2 layout; EPCIS 2.0 has flattened event fields", field.name()),
                                };
                                self.diag(&rules::WRONG_VERSION_PLACE, pos, msg);
                            } else {
                                let msg = format!("`{}` is not allowed in {wrapper} of a {}", field.name(), ev.event_type.as_str());
                                self.diag(&rules::UNEXPECTED, pos, msg);
                            }
                        }
                    }
                    self.event_field(ev, field, level, pos)?;
                }
            }
        }
        let missing: Vec<Field> = tracker.missing().collect();
        for f in missing {
            if f == Field::ChildEpcs
                && level == Level::Event
                && ev.event_type == EventType::Aggregation
                && ev.action == Some(Action::Delete)
            {
                // A producer's "unpack all" (issue 10 §4): accepted, as EPCIS 2.0 reads it.
                let msg = "AggregationEvent with action DELETE has no childEPCs (required in EPCIS 1.2): read as unpacking every child of its parent".to_string();
                self.diag(&rules::UNPACK_ALL, ev.position, msg);
                continue;
            }
            let where_ = match level {
                Level::Event => ev.event_type.as_str(),
                _ => wrapper,
            };
            let pos = if level == Level::Event {
                ev.position
            } else {
                self.cur.pos
            };
            self.diag(
                &rules::REQUIRED,
                pos,
                format!("required element `{}` is missing in {where_}", f.name()),
            );
        }
        Ok(())
    }

    fn event_field(
        &mut self,
        ev: &mut Event,
        field: Field,
        level: Level,
        pos: Position,
    ) -> Result<(), ReadError> {
        match field {
            Field::EventTime => {
                let t = self.text(pos, "eventTime")?;
                ev.event_time = Some(self.timestamp_value(t, "eventTime", pos, &rules::DATE_TIME));
            }
            Field::RecordTime => {
                let t = self.text(pos, "recordTime")?;
                ev.record_time =
                    Some(self.timestamp_value(t, "recordTime", pos, &rules::DATE_TIME));
            }
            Field::EventTimeZoneOffset => {
                let t = self.text(pos, "eventTimeZoneOffset")?;
                if values::parse_offset(&t, false).is_none() {
                    self.diag(
                        &rules::TIME_ZONE_OFFSET,
                        pos,
                        format!("eventTimeZoneOffset `{t}` is not of the form ±hh:mm"),
                    );
                }
                ev.event_time_zone_offset = Some(t);
            }
            Field::CertificationInfo => {
                if let Some(v) = self.value(pos, "certificationInfo")? {
                    ev.certification_info.push(v);
                }
            }
            Field::EventId => {
                if let Some(v) = self.value(pos, "eventID")? {
                    ev.event_id = Some(v);
                }
            }
            Field::ErrorDeclaration => {
                let d = self.error_declaration(pos)?;
                ev.error_declaration = Some(d);
            }
            // 2.0: a wildcard, read like the 2.0 `extension`.
            Field::BaseExtension if self.version == EpcisVersion::V2 => {
                self.event_children_lenient(ev)?
            }
            Field::BaseExtension => self.event_children(ev, Level::BaseExtension)?,
            Field::Extension => {
                let next = match (self.version, level) {
                    (EpcisVersion::V1, Level::Event)
                        if ev.event_type != EventType::Transformation =>
                    {
                        Level::Extension
                    }
                    _ => Level::InnerExtension,
                };
                if self.version == EpcisVersion::V2 && level == Level::Event {
                    // The 2.0 `extension` wildcard: extension elements are kept; EPCIS fields
                    // in it (the 1.2 layout) are reported and read anyway, so no data is lost.
                    return self.event_children_lenient(ev);
                }
                self.event_children(ev, next)?;
            }
            Field::EpcList => self.epc_list(ev, ListKind::Epc)?,
            Field::ChildEpcs => self.epc_list(ev, ListKind::Child)?,
            Field::InputEpcList => self.epc_list(ev, ListKind::Input)?,
            Field::OutputEpcList => self.epc_list(ev, ListKind::Output)?,
            Field::ParentId => {
                self.count_epc()?;
                ev.parent_id = self.value(pos, "parentID")?;
                ev.parsed_epcs.parent = ev.parent_id.as_deref().map(|id| {
                    ident::parse(id)
                        .map_err(|e| self.identifier_error(id, "parentID", pos, e))
                        .ok()
                });
            }
            Field::QuantityList => self.quantity_list(ev, QuantityKind::Plain)?,
            Field::ChildQuantityList => self.quantity_list(ev, QuantityKind::Child)?,
            Field::InputQuantityList => self.quantity_list(ev, QuantityKind::Input)?,
            Field::OutputQuantityList => self.quantity_list(ev, QuantityKind::Output)?,
            Field::EpcClass => {
                // QuantityEvent: epcClass + quantity become one quantity element.
                let class = self.identifier(pos, "epcClass")?.unwrap_or_default();
                match ev.quantity_list.first_mut() {
                    Some(q) => q.epc_class = class,
                    None => ev.quantity_list.push(QuantityElement {
                        epc_class: class,
                        ..Default::default()
                    }),
                }
            }
            Field::Quantity => {
                let t = self.text(pos, "quantity")?;
                let q = if values::is_integer(&t) {
                    t.parse::<f64>().ok()
                } else {
                    self.diag(
                        &rules::QUANTITY,
                        pos,
                        format!("QuantityEvent quantity `{t}` is not an integer"),
                    );
                    None
                };
                match ev.quantity_list.first_mut() {
                    Some(e) => e.quantity = q,
                    None => ev.quantity_list.push(QuantityElement {
                        quantity: q,
                        ..Default::default()
                    }),
                }
            }
            Field::Action => {
                let t = self.text(pos, "action")?;
                ev.action = Action::parse(&t);
                if ev.action.is_none() {
                    self.diag(
                        &rules::ACTION,
                        pos,
                        format!("action `{t}` is not ADD, OBSERVE or DELETE"),
                    );
                }
            }
            Field::TransformationId => {
                ev.transformation_id = self.identifier(pos, "transformationID")?
            }
            Field::BizStep => {
                if let Some(t) = self.value(pos, "bizStep")? {
                    ev.biz_step = Some(self.cbv(Vocab::BizStep, &t, pos));
                }
            }
            Field::Disposition => {
                if let Some(t) = self.value(pos, "disposition")? {
                    ev.disposition = Some(self.cbv(Vocab::Disposition, &t, pos));
                }
            }
            Field::PersistentDisposition => {
                let pd = self.persistent_disposition()?;
                ev.persistent_disposition = Some(pd);
            }
            Field::ReadPoint => {
                let (id, ext) = self.location(pos, "readPoint")?;
                ev.read_point = id;
                ev.read_point_extensions = ext;
            }
            Field::BizLocation => {
                let (id, ext) = self.location(pos, "bizLocation")?;
                ev.biz_location = id;
                ev.biz_location_extensions = ext;
            }
            Field::BizTransactionList => self.biz_transactions(ev)?,
            Field::SourceList => self.source_dest(ev, true)?,
            Field::DestinationList => self.source_dest(ev, false)?,
            Field::SensorElementList => loop {
                match self.cur.next_tok()? {
                    Tok::Start => {
                        let el = self.cur.read_any()?;
                        ev.sensor_elements.push(el);
                    }
                    Tok::End => break,
                    Tok::Text => {}
                    Tok::Eof => return Err(self.cur.unexpected_eof()),
                }
            },
            Field::Ilmd => self.ilmd(ev, pos)?,
        }
        Ok(())
    }

    /// Children of an innermost 1.2 `extension`: an `xsd:any namespace="##local"
    /// processContents="lax"` wildcard in the XSD, so any unqualified element in any order.
    /// The 2.0 fields converters put there (`sensorElementList`, `persistentDisposition`,
    /// `certificationInfo`; GS1's XSL/convert-2.0-to-1.2.xsl) are read into the event as in a
    /// 2.0 document; everything else is kept as an extension element. Foreign-namespace
    /// elements, which the XSD's `##local` does not take, are kept too (docs/RULES.md).
    fn inner_extension(&mut self, ev: &mut Event) -> Result<(), ReadError> {
        loop {
            match self.cur.next_tok()? {
                Tok::End => return Ok(()),
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    let field = if self.cur.ns == Ns::None {
                        Field::from_name(&self.cur.local).filter(|f| {
                            matches!(
                                f,
                                Field::SensorElementList
                                    | Field::PersistentDisposition
                                    | Field::CertificationInfo
                            )
                        })
                    } else {
                        None
                    };
                    let Some(field) = field else {
                        let el = self.cur.read_any()?;
                        ev.extensions.push(el);
                        continue;
                    };
                    let twice = match field {
                        Field::SensorElementList => !ev.sensor_elements.is_empty(),
                        Field::PersistentDisposition => ev.persistent_disposition.is_some(),
                        _ => false,
                    };
                    if twice {
                        let msg = format!(
                            "`{}` appears more than once in {} (also in an enclosing extension)",
                            field.name(),
                            ev.event_type.as_str()
                        );
                        self.diag(&rules::DUPLICATE, pos, msg);
                    }
                    self.event_field(ev, field, Level::InnerExtension, pos)?;
                }
            }
        }
    }

    /// The `extension` of a 2.0 event (a wildcard in the 2.0 XSD): extension elements, of
    /// any namespace or none, are kept; an EPCIS event field in it is the 1.2 layout, reported
    /// (EPCIS-S-010) and read anyway.
    fn event_children_lenient(&mut self, ev: &mut Event) -> Result<(), ReadError> {
        loop {
            match self.cur.next_tok()? {
                Tok::End => return Ok(()),
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    let field = if self.cur.ns == Ns::None {
                        Field::from_name(&self.cur.local)
                    } else {
                        None
                    };
                    if let Some(f) = field {
                        let msg = format!("`{}` inside the extension of a 2.0 {} is the EPCIS 1.2 layout; EPCIS 2.0 has flattened event fields", f.name(), ev.event_type.as_str());
                        self.diag(&rules::WRONG_VERSION_PLACE, pos, msg);
                        self.event_field(ev, f, Level::InnerExtension, pos)?;
                    } else {
                        let el = self.cur.read_any()?;
                        ev.extensions.push(el);
                    }
                }
            }
        }
    }

    /// Checks across fields, once the whole event is read.
    fn event_checks(&mut self, ev: &Event) {
        for (rule, message) in event_findings(ev) {
            self.diag(rule, ev.position, message);
        }
    }
}

/// Checks across the fields of a whole event (either binding): a parent for aggregations
/// that add or delete, children for those that add or observe.
pub(crate) fn event_findings(ev: &Event) -> Vec<(&'static Rule, String)> {
    let mut out = Vec::new();
    if let EventType::Aggregation | EventType::Association = ev.event_type {
        let action = ev.action;
        if ev.event_type == EventType::Aggregation
            && matches!(action, Some(Action::Add | Action::Delete))
            && ev.parent_id.is_none()
        {
            let msg = format!(
                "{} with action {} has no parentID",
                ev.event_type.as_str(),
                action.map_or("", |a| a.as_str())
            );
            out.push((&rules::PARENT_REQUIRED, msg));
        }
        if matches!(action, Some(Action::Add | Action::Observe))
            && ev.child_epcs.is_empty()
            && ev
                .spilled
                .as_ref()
                .is_none_or(|s| s.count(EpcRole::Child) == 0)
            && ev.child_quantity_list.is_empty()
        {
            let msg = format!(
                "{} with action {} names no children",
                ev.event_type.as_str(),
                action.map_or("", |a| a.as_str())
            );
            out.push((&rules::EMPTY_AGGREGATION, msg));
        }
    }
    out
}
