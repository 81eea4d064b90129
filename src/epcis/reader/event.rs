//! Reading one event: walks the children against the order tables, fills the model, checks
//! values and identifiers as they are read (so each finding has the value's own position).

use std::io::BufRead;

use super::cursor::{Ns, Tok, NS_CBVMDA, NS_GS1USHC};
use super::order::{self, Field, Level, OrderTracker, Visit};
use super::{EpcisReader, ReadError};
use crate::epcis::cbv::{self, CbvTerm, Vocab};
use crate::epcis::diagnostics::rules;
use crate::epcis::model::{
    Action, BizTransaction, EpcRole, EpcisVersion, ErrorDeclaration, Event, EventType,
    ExtensionElement, LotSource, PersistentDisposition, Position, QuantityElement, SourceDest,
};
use crate::epcis::spill::SpilledEpcs;
use crate::epcis::{hash, ident, values};
use crate::gs1::Identifier;

/// Which EPC list is being read.
#[derive(Clone, Copy)]
enum EpcListKind {
    Epc,
    Child,
    Input,
    Output,
}

/// Which quantity list is being read.
#[derive(Clone, Copy)]
enum QuantityKind {
    Plain,
    Child,
    Input,
    Output,
}

impl<R: BufRead> EpcisReader<R> {
    pub(super) fn read_event(
        &mut self,
        et: EventType,
        pos: Position,
    ) -> Result<Box<Event>, ReadError> {
        let index = self.event_count;
        self.current_event = Some(index);
        self.epcs_in_event = 0;
        self.cur.item_elements = 0;
        let mut ev = Box::new(Event::new(et, index, pos));
        self.epc_canon.iter_mut().for_each(|c| c.clear());
        self.spill = None;
        self.event_children(&mut ev, Level::Event)?;
        let mut spill = self.spill.take();
        if let Some(s) = spill.as_mut() {
            s.finish().map_err(|e| self.spill_error(e))?;
        }
        if self.hashing {
            let hash = hash::hash_id_with(&ev, &mut self.epc_canon);
            ev.hash_id = Some(hash.map_err(|e| self.spill_error(e))?);
        }
        if let Some(mut s) = spill {
            let roles = [
                EpcRole::Epc,
                EpcRole::Child,
                EpcRole::Input,
                EpcRole::Output,
            ];
            let repeated = roles
                .into_iter()
                .zip(&mut self.epc_canon)
                .flat_map(|(role, c)| c.repeated.drain(..).map(move |v| (role, v)))
                .collect();
            s.set_repeated(repeated);
            ev.spilled = Some(std::sync::Arc::new(s));
        }
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

    fn text(&mut self, pos: Position, field: &str) -> Result<String, ReadError> {
        // Straight into the value's own String: one allocation, no extra copy.
        let mut s = String::new();
        let had_children = self.cur.read_text_into(&mut s)?;
        if had_children {
            self.diag(
                &rules::EMPTY_VALUE,
                pos,
                format!("`{field}` must hold text, not child elements"),
            );
        }
        Ok(s)
    }

    /// Text that must not be empty.
    fn value(&mut self, pos: Position, field: &str) -> Result<Option<String>, ReadError> {
        let t = self.text(pos, field)?;
        if t.is_empty() {
            self.diag(&rules::EMPTY_VALUE, pos, format!("`{field}` is empty"));
            return Ok(None);
        }
        Ok(Some(t))
    }

    fn identifier(&mut self, pos: Position, field: &str) -> Result<Option<String>, ReadError> {
        let v = self.value(pos, field)?;
        if let Some(id) = &v {
            self.check_identifier(id, field, pos);
        }
        Ok(v)
    }

    /// An identifier outside the product fields (readPoint/bizLocation id, source,
    /// destination, bizTransaction): real line and ERP data carries values such as `N/A`,
    /// SGLNs with a wrong partition or order numbers that are no URIs. Such a value is kept as
    /// given and reported as a data-quality warning (EPCIS-I-004 / I-005) instead of refusing
    /// the document; the product identifiers stay strict (EPCIS-I-001 / I-002).
    fn lenient_identifier(
        &mut self,
        pos: Position,
        field: &str,
    ) -> Result<Option<String>, ReadError> {
        let v = self.value(pos, field)?;
        if let Some(id) = &v {
            if let Err(e) = ident::validate(id) {
                let rule = if e.not_a_uri {
                    &rules::NOT_URI_STORED
                } else {
                    &rules::IDENTIFIER_STORED
                };
                self.diag(
                    rule,
                    pos,
                    format!(
                        "{field} `{id}`: {}; stored as given (data-quality finding)",
                        e.message
                    ),
                );
            }
        }
        Ok(v)
    }

    pub(super) fn check_identifier(&mut self, id: &str, field: &str, pos: Position) {
        if let Err(e) = ident::validate(id) {
            self.identifier_error(id, field, pos, e);
        }
    }

    fn identifier_error(&mut self, id: &str, field: &str, pos: Position, e: ident::IdentError) {
        let rule = if e.not_a_uri {
            &rules::NOT_URI
        } else {
            &rules::IDENTIFIER
        };
        self.diag(rule, pos, format!("{field} `{id}`: {}", e.message));
    }

    fn cbv(&mut self, vocab: Vocab, text: &str, pos: Position) -> CbvTerm {
        let n = cbv::normalise(vocab, text);
        if n.unknown_cbv {
            self.diag(
                &rules::CBV_VALUE,
                pos,
                format!("{} `{text}` is not a standard CBV term", vocab.field()),
            );
        }
        n.term
    }

    fn spill_error(&self, e: std::io::Error) -> ReadError {
        self.cur.error(
            &rules::SPILL,
            format!("the identifier lists of this event could not be written to the spool directory: {e}"),
        )
    }

    /// Moves the list being read (its entries so far, and their canonical forms) to a new
    /// spill file; the rest of the event's lists follow it there.
    fn start_spill(
        &mut self,
        out: &mut Vec<String>,
        parsed: &mut Vec<Option<Identifier>>,
        role: EpcRole,
        canon: usize,
    ) -> Result<(), ReadError> {
        let Some(opts) = self.spill_options.clone() else {
            return Ok(());
        };
        let mut spill = SpilledEpcs::create(&opts.dir).map_err(|e| self.spill_error(e))?;
        for epc in out.iter() {
            spill.push(role, epc).map_err(|e| self.spill_error(e))?;
        }
        if self.hashing {
            self.epc_canon[canon]
                .start_spill(&opts.dir, out)
                .map_err(|e| self.spill_error(e))?;
        }
        out.clear();
        out.shrink_to_fit();
        parsed.clear();
        parsed.shrink_to_fit();
        self.spill = Some(spill);
        Ok(())
    }

    fn count_epc(&mut self) -> Result<(), ReadError> {
        self.epcs_in_event += 1;
        if self.epcs_in_event > self.limits.max_epcs_per_event {
            return Err(self.cur.error(
                &rules::LIMIT_EPCS,
                format!(
                    "event has more than the limit of {} EPCs",
                    self.limits.max_epcs_per_event
                ),
            ));
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
            Field::EpcList => self.epc_list(ev, EpcListKind::Epc)?,
            Field::ChildEpcs => self.epc_list(ev, EpcListKind::Child)?,
            Field::InputEpcList => self.epc_list(ev, EpcListKind::Input)?,
            Field::OutputEpcList => self.epc_list(ev, EpcListKind::Output)?,
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

    fn epc_list(&mut self, ev: &mut Event, kind: EpcListKind) -> Result<(), ReadError> {
        let (list, name) = match kind {
            EpcListKind::Epc => (&mut ev.epc_list, "epcList"),
            EpcListKind::Child => (&mut ev.child_epcs, "childEPCs"),
            EpcListKind::Input => (&mut ev.input_epcs, "inputEPCList"),
            EpcListKind::Output => (&mut ev.output_epcs, "outputEPCList"),
        };
        let mut out = std::mem::take(list);
        let mut parsed = std::mem::take(&mut ev.parsed_epcs.lists[kind as usize]);
        let role = match kind {
            EpcListKind::Epc => EpcRole::Epc,
            EpcListKind::Child => EpcRole::Child,
            EpcListKind::Input => EpcRole::Input,
            EpcListKind::Output => EpcRole::Output,
        };
        let result = self.epcs_into(&mut out, &mut parsed, name, role, kind as usize);
        *match kind {
            EpcListKind::Epc => &mut ev.epc_list,
            EpcListKind::Child => &mut ev.child_epcs,
            EpcListKind::Input => &mut ev.input_epcs,
            EpcListKind::Output => &mut ev.output_epcs,
        } = out;
        ev.parsed_epcs.lists[kind as usize] = parsed;
        result
    }

    /// One EPC of a list: a single parse validates it, gives the hash its canonical form and
    /// is kept for [`Event::epc_identifiers`].
    #[allow(clippy::too_many_arguments)]
    fn epc_parsed(
        &mut self,
        epc: String,
        out: &mut Vec<String>,
        parsed: &mut Vec<Option<Identifier>>,
        list_name: &str,
        role: EpcRole,
        canon: usize,
        pos: Position,
    ) -> Result<(), ReadError> {
        let id = match ident::parse_sharing(&epc, &mut self.sgtin_cache) {
            Ok(id) => Some(id),
            Err(e) => {
                self.identifier_error(&epc, list_name, pos, e);
                None
            }
        };
        if self.spill.is_none()
            && self
                .spill_options
                .as_ref()
                .is_some_and(|o| self.epcs_in_event > o.after)
        {
            self.start_spill(out, parsed, role, canon)?;
        }
        if let Some(spill) = self.spill.as_mut() {
            // The consumer parses it again from the file; the hash gets its canonical form.
            let dir = &self.spill_options.as_ref().expect("spilling").dir;
            let list = &mut self.epc_canon[canon];
            let pushed = spill.push(role, &epc).and_then(|()| match &id {
                Some(Identifier::Epc(e)) if self.hashing => list.spill_epc(dir, e),
                _ if self.hashing => list.spill_given(dir, &epc),
                _ => Ok(()),
            });
            return pushed.map_err(|e| self.spill_error(e));
        }
        match &id {
            Some(Identifier::Epc(e)) if self.hashing => self.epc_canon[canon].push_epc(e),
            _ => self.epc_canon[canon].push(None),
        }
        parsed.push(id);
        out.push(epc);
        Ok(())
    }

    fn epcs_into(
        &mut self,
        out: &mut Vec<String>,
        parsed: &mut Vec<Option<Identifier>>,
        list_name: &str,
        role: EpcRole,
        canon: usize,
    ) -> Result<(), ReadError> {
        loop {
            // Plain `<epc>…</epc>` items skip the tokenizer (same results, see simple_element).
            if let Some(epc) = self.cur.simple_element("epc")? {
                let pos = self.cur.pos;
                self.count_epc()?;
                self.epc_parsed(epc, out, parsed, list_name, role, canon, pos)?;
                continue;
            }
            match self.cur.next_tok()? {
                Tok::End => return Ok(()),
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    if self.cur.ns == Ns::None && self.cur.local == "epc" {
                        self.count_epc()?;
                        if let Some(epc) = self.value(pos, list_name)? {
                            self.epc_parsed(epc, out, parsed, list_name, role, canon, pos)?;
                        }
                    } else {
                        self.skip_unexpected(pos, &format!("{list_name}: only <epc> is allowed"))?;
                    }
                }
            }
        }
    }

    fn quantity_list(&mut self, ev: &mut Event, kind: QuantityKind) -> Result<(), ReadError> {
        let name = match kind {
            QuantityKind::Plain => "quantityList",
            QuantityKind::Child => "childQuantityList",
            QuantityKind::Input => "inputQuantityList",
            QuantityKind::Output => "outputQuantityList",
        };
        let mut items = Vec::new();
        loop {
            match self.cur.next_tok()? {
                Tok::End => break,
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    if self.cur.ns == Ns::None && self.cur.local == "quantityElement" {
                        items.push(self.quantity_element(pos)?);
                    } else {
                        self.skip_unexpected(
                            pos,
                            &format!("{name}: only <quantityElement> is allowed"),
                        )?;
                    }
                }
            }
        }
        match kind {
            QuantityKind::Plain => ev.quantity_list.extend(items),
            QuantityKind::Child => ev.child_quantity_list.extend(items),
            QuantityKind::Input => ev.input_quantity_list.extend(items),
            QuantityKind::Output => ev.output_quantity_list.extend(items),
        }
        Ok(())
    }

    fn quantity_element(&mut self, el_pos: Position) -> Result<QuantityElement, ReadError> {
        let mut q = QuantityElement::default();
        let mut seen_class = false;
        loop {
            match self.cur.next_tok()? {
                Tok::End => break,
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    let local = if self.cur.ns == Ns::None {
                        self.cur.local.as_str()
                    } else {
                        ""
                    };
                    match local {
                        "epcClass" => {
                            seen_class = true;
                            q.epc_class = self.identifier(pos, "epcClass")?.unwrap_or_default();
                        }
                        "quantity" => {
                            let nil = self.cur.attr("nil") == Some("true");
                            let t = self.text(pos, "quantity")?;
                            if nil && t.is_empty() {
                                continue;
                            }
                            if values::is_decimal(&t) {
                                q.quantity = t.parse::<f64>().ok();
                            } else {
                                self.diag(
                                    &rules::QUANTITY,
                                    pos,
                                    format!("quantity `{t}` is not an xsd:decimal"),
                                );
                            }
                        }
                        "uom" => {
                            q.uom = self.value(pos, "uom")?;
                            if q.quantity.is_none() {
                                self.diag(
                                    &rules::QUANTITY,
                                    pos,
                                    "uom given without a quantity".into(),
                                );
                            }
                        }
                        _ => {
                            self.skip_unexpected(pos, "quantityElement")?;
                        }
                    }
                }
            }
        }
        if !seen_class {
            self.diag(
                &rules::REQUIRED,
                el_pos,
                "required element `epcClass` is missing in quantityElement".into(),
            );
        }
        Ok(q)
    }

    fn location(
        &mut self,
        pos: Position,
        name: &str,
    ) -> Result<(Option<String>, Vec<ExtensionElement>), ReadError> {
        let mut id = None;
        let mut ext = Vec::new();
        let mut seen = false;
        loop {
            match self.cur.next_tok()? {
                Tok::End => break,
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let p = self.cur.pos;
                    if self.cur.ns != Ns::None {
                        ext.push(self.cur.read_any()?);
                    } else if self.cur.local == "id" {
                        if seen {
                            self.diag(
                                &rules::DUPLICATE,
                                p,
                                format!("`id` appears more than once in {name}"),
                            );
                        }
                        seen = true;
                        let field = format!("{name}/id");
                        id = self.lenient_identifier(p, &field)?;
                    } else if self.cur.local == "extension" {
                        loop {
                            match self.cur.next_tok()? {
                                Tok::Start => ext.push(self.cur.read_any()?),
                                Tok::End => break,
                                Tok::Text => {}
                                Tok::Eof => return Err(self.cur.unexpected_eof()),
                            }
                        }
                    } else {
                        self.skip_unexpected(p, name)?;
                    }
                }
            }
        }
        if !seen {
            self.diag(
                &rules::REQUIRED,
                pos,
                format!("required element `id` is missing in {name}"),
            );
        }
        Ok((id, ext))
    }

    fn biz_transactions(&mut self, ev: &mut Event) -> Result<(), ReadError> {
        loop {
            match self.cur.next_tok()? {
                Tok::End => return Ok(()),
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    if self.cur.ns == Ns::None && self.cur.local == "bizTransaction" {
                        let ty = self.cur.attr("type").map(str::to_owned);
                        let ty = match ty {
                            Some(t) if t.trim().is_empty() => {
                                self.diag(
                                    &rules::SOURCE_DEST_TYPE,
                                    pos,
                                    "bizTransaction has an empty type attribute".into(),
                                );
                                None
                            }
                            Some(t) => Some(self.cbv(Vocab::BizTransactionType, t.trim(), pos)),
                            None => None,
                        };
                        if let Some(id) = self.lenient_identifier(pos, "bizTransaction")? {
                            ev.biz_transactions.push(BizTransaction {
                                transaction_type: ty,
                                id,
                            });
                        }
                    } else {
                        self.skip_unexpected(pos, "bizTransactionList")?;
                    }
                }
            }
        }
    }

    fn source_dest(&mut self, ev: &mut Event, source: bool) -> Result<(), ReadError> {
        let (list, item) = if source {
            ("sourceList", "source")
        } else {
            ("destinationList", "destination")
        };
        loop {
            match self.cur.next_tok()? {
                Tok::End => return Ok(()),
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    if self.cur.ns == Ns::None && self.cur.local == item {
                        let ty = self
                            .cur
                            .attr("type")
                            .map(|t| t.trim().to_owned())
                            .unwrap_or_default();
                        let term = if ty.is_empty() {
                            self.diag(
                                &rules::SOURCE_DEST_TYPE,
                                pos,
                                format!("{item} has no type attribute"),
                            );
                            CbvTerm::Other(String::new())
                        } else {
                            self.cbv(Vocab::SourceDestType, &ty, pos)
                        };
                        if let Some(id) = self.lenient_identifier(pos, item)? {
                            let sd = SourceDest { sd_type: term, id };
                            if source {
                                ev.sources.push(sd);
                            } else {
                                ev.destinations.push(sd);
                            }
                        }
                    } else {
                        self.skip_unexpected(pos, list)?;
                    }
                }
            }
        }
    }

    fn persistent_disposition(&mut self) -> Result<PersistentDisposition, ReadError> {
        let mut pd = PersistentDisposition::default();
        loop {
            match self.cur.next_tok()? {
                Tok::End => return Ok(pd),
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    let which = if self.cur.ns == Ns::None {
                        self.cur.local.clone()
                    } else {
                        String::new()
                    };
                    match which.as_str() {
                        "set" | "unset" => {
                            if let Some(t) = self.value(pos, &which)? {
                                let term = self.cbv(Vocab::Disposition, &t, pos);
                                if which == "set" {
                                    pd.set.push(term);
                                } else {
                                    pd.unset.push(term);
                                }
                            }
                        }
                        _ => {
                            self.skip_unexpected(pos, "persistentDisposition")?;
                        }
                    }
                }
            }
        }
    }

    fn error_declaration(&mut self, el_pos: Position) -> Result<ErrorDeclaration, ReadError> {
        let mut d = ErrorDeclaration::default();
        loop {
            match self.cur.next_tok()? {
                Tok::End => break,
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    if self.cur.ns != Ns::None {
                        d.extensions.push(self.cur.read_any()?);
                        continue;
                    }
                    let local = self.cur.local.clone();
                    match local.as_str() {
                        "declarationTime" => {
                            let t = self.text(pos, "declarationTime")?;
                            d.declaration_time = Some(self.timestamp_value(
                                t,
                                "declarationTime",
                                pos,
                                &rules::DATE_TIME,
                            ));
                        }
                        "reason" => {
                            if let Some(t) = self.value(pos, "reason")? {
                                d.reason = Some(self.cbv(Vocab::ErrorReason, &t, pos));
                            }
                        }
                        "correctiveEventIDs" => loop {
                            match self.cur.next_tok()? {
                                Tok::End => break,
                                Tok::Text => {}
                                Tok::Eof => return Err(self.cur.unexpected_eof()),
                                Tok::Start => {
                                    let p = self.cur.pos;
                                    if self.cur.ns == Ns::None
                                        && self.cur.local == "correctiveEventID"
                                    {
                                        if let Some(id) = self.value(p, "correctiveEventID")? {
                                            d.corrective_event_ids.push(id);
                                        }
                                    } else {
                                        self.skip_unexpected(p, "correctiveEventIDs")?;
                                    }
                                }
                            }
                        },
                        "extension" => loop {
                            match self.cur.next_tok()? {
                                Tok::Start => d.extensions.push(self.cur.read_any()?),
                                Tok::End => break,
                                Tok::Text => {}
                                Tok::Eof => return Err(self.cur.unexpected_eof()),
                            }
                        },
                        _ => {
                            self.skip_unexpected(pos, "errorDeclaration")?;
                        }
                    }
                }
            }
        }
        if d.declaration_time.is_none() {
            self.diag(
                &rules::REQUIRED,
                el_pos,
                "required element `declarationTime` is missing in errorDeclaration".into(),
            );
        }
        Ok(d)
    }

    fn ilmd(&mut self, ev: &mut Event, pos: Position) -> Result<(), ReadError> {
        let start = ev.ilmd.elements.len();
        loop {
            match self.cur.next_tok()? {
                Tok::End => break,
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let p = self.cur.pos;
                    let el = self.cur.read_any()?;
                    // ILMDType: `extension` (##local wildcard) and then ##other elements.
                    if el.namespace.is_empty() && el.local_name != "extension" {
                        let msg = format!("ILMD element `{}` has no namespace; ILMD fields must be namespace-qualified (e.g. cbvmda:lotNumber)", el.local_name);
                        self.diag(&rules::UNEXPECTED, p, msg);
                    }
                    let cbvmda = el.namespace.trim_end_matches(':') == NS_CBVMDA;
                    let legacy = el.namespace == NS_GS1USHC;
                    match el.local_name.as_str() {
                        "lotNumber"
                            if cbvmda
                                || (legacy && ev.ilmd.lot_source != Some(LotSource::Cbvmda)) =>
                        {
                            ev.ilmd.lot_number = Some(el.text.clone());
                            ev.ilmd.lot = match crate::gs1::Lot::parse(&el.text) {
                                Ok(l) => Some(l),
                                Err(e) => {
                                    let msg =
                                        format!("ILMD lotNumber `{}`: {e} [{}]", el.text, e.code());
                                    self.diag(&rules::LOT, p, msg);
                                    None
                                }
                            };
                            ev.ilmd.lot_source = Some(if cbvmda {
                                LotSource::Cbvmda
                            } else {
                                LotSource::Gs1Ushc
                            });
                        }
                        "itemExpirationDate" if cbvmda || legacy => {
                            match values::parse_date(&el.text) {
                                Some(d) => {
                                    ev.ilmd.item_expiration_date = Some(d);
                                    ev.ilmd.expiry = crate::gs1::Expiry::from_date(d).ok();
                                }
                                None => self.diag(
                                    &rules::DATE,
                                    p,
                                    format!(
                                        "itemExpirationDate `{}` is not a YYYY-MM-DD date",
                                        el.text
                                    ),
                                ),
                            }
                        }
                        _ => {}
                    }
                    ev.ilmd.elements.push(el);
                }
            }
        }
        if ev.ilmd.elements.len() > start
            && ev.event_type == EventType::Object
            && ev.action.is_some_and(|a| a != Action::Add)
        {
            let msg = format!("ILMD on an ObjectEvent with action {}; ILMD belongs to the ADD (commissioning) event", ev.action.map_or("", |a| a.as_str()));
            self.diag(&rules::ILMD_NOT_ADD, pos, msg);
        }
        Ok(())
    }

    /// Checks across fields, once the whole event is read.
    fn event_checks(&mut self, ev: &Event) {
        let pos = ev.position;
        match ev.event_type {
            EventType::Aggregation | EventType::Association => {
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
                    self.diag(&rules::PARENT_REQUIRED, pos, msg);
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
                    self.diag(&rules::EMPTY_AGGREGATION, pos, msg);
                }
            }
            _ => {}
        }
    }
}
