//! One JSON-LD event, read member by member into the model: EPC lists element by element
//! through the shared [`EventEpcs`](crate::epcis::reader::lists::EventEpcs) (bounded for any
//! size), the other fields as small values checked with the same rules as in XML. The event
//! type may come anywhere in the object; which fields it allows and requires is checked once
//! the object ends, against the EPCIS 2.0 tables of the XML reader.

use std::io::BufRead;

use super::context;
use super::lexer::{Kind, Scalar, Value};
use super::{values, JsonReader};
use crate::epcis::cbv::{self, CbvTerm, Vocab};
use crate::epcis::diagnostics::rules;
use crate::epcis::ident;
use crate::epcis::model::{
    Action, BizTransaction, EpcisVersion, ErrorDeclaration, Event, EventType, ExtensionElement,
    PersistentDisposition, Position, QuantityElement, SourceDest,
};
use crate::epcis::reader::event::event_findings;
use crate::epcis::reader::event::parts::ilmd_facts;
use crate::epcis::reader::lists::{ListError, ListKind};
use crate::epcis::reader::order::{self, Field, Level};
use crate::epcis::reader::ReadError;
use crate::epcis::values as v;

/// Sensor report attributes whose bare words are GS1 vocabulary terms (`Temperature` is the
/// XML binding's `gs1:Temperature`).
const SENSOR_WORDS: &[&str] = &["type", "exception"];

impl<R: BufRead> JsonReader<R> {
    /// Reads the event object at the lexer; `None` when it is refused as a whole (no or an
    /// unknown type: reported).
    pub(super) fn read_event(&mut self, path: &str) -> Result<Option<Box<Event>>, ReadError> {
        let pos = self.lex.pos();
        let index = self.event_count;
        self.current_event = Some(index);
        self.lex.values = 0;
        self.epcs.begin_event();
        let scope = self.ctx.len();
        let mut ev = Box::new(Event::new(EventType::Object, index, pos));
        let r = self.event_members(&mut ev, path);
        let r = r.and_then(|seen| self.event_end(ev, seen, path));
        self.ctx.truncate(scope);
        self.current_event = None;
        r
    }

    fn event_members(&mut self, ev: &mut Event, path: &str) -> Result<Seen, ReadError> {
        let mut seen = Seen::default();
        self.lex.begin_object().map_err(|e| self.fatal(e, path))?;
        let mut first = true;
        while let Some(key) = self.lex.next_key(first).map_err(|e| self.fatal(e, path))? {
            first = false;
            let pos = self.lex.value_pos().map_err(|e| self.fatal(e, path))?;
            let p = format!("{path}.{key}");
            match key.as_str() {
                "type" => {
                    if let Some(t) = self.string_at(&p)? {
                        seen.event_type = Some((t, pos));
                    }
                }
                "@context" => {
                    let c = self.value_at(&p)?;
                    for w in self.ctx.add(&c) {
                        self.diag(&rules::JSON_CONTEXT, pos, &p, w);
                    }
                }
                "@type" | "@id" | "id" => self.lex.skip_value().map_err(|e| self.fatal(e, &p))?,
                k if context::is_qualified(k) => {
                    let val = self.value_at(&p)?;
                    seen.extensions.push((key, val, pos));
                }
                k => match Field::from_name(k)
                    .filter(|f| !matches!(f, Field::Extension | Field::BaseExtension))
                {
                    Some(field) => {
                        if seen.fields.iter().any(|(f, _)| *f == field) {
                            self.diag(
                                &rules::DUPLICATE,
                                pos,
                                &p,
                                format!("`{k}` appears more than once in the event"),
                            );
                        }
                        seen.fields.push((field, pos));
                        self.field(ev, field, &p, pos)?;
                    }
                    None => {
                        self.diag(&rules::UNEXPECTED, pos, &p, format!("unexpected member `{k}` in an event: the EPCIS 2.0 JSON schema has no such field (extension members are compact IRIs such as `example:myField`, with the prefix in @context)"));
                        self.lex.skip_value().map_err(|e| self.fatal(e, &p))?;
                    }
                },
            }
        }
        Ok(seen)
    }

    /// The object has ended: type, allowed and required fields, extensions, the hash.
    fn event_end(
        &mut self,
        mut ev: Box<Event>,
        seen: Seen,
        path: &str,
    ) -> Result<Option<Box<Event>>, ReadError> {
        let pos = ev.position;
        let et = match &seen.event_type {
            None => {
                self.diag(&rules::REQUIRED, pos, path, "the event has no \"type\" (ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent or AssociationEvent)".into());
                return Ok(None);
            }
            Some((t, at)) => match EventType::from_name(t) {
                Some(et) => et,
                None => {
                    let at = *at;
                    self.diag(&rules::UNEXPECTED, at, &format!("{path}.type"), format!("unknown event type `{t}`; EPCIS 2.0 has ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent and AssociationEvent"));
                    return Ok(None);
                }
            },
        };
        ev.event_type = et;
        let table = order::table(EpcisVersion::V2, et, Level::Event);
        for &(field, at) in &seen.fields {
            if !table.iter().any(|s| s.0 == field) {
                let msg = format!("`{}` is not allowed in a {}", field.name(), et.as_str());
                self.diag(
                    &rules::UNEXPECTED,
                    at,
                    &format!("{path}.{}", field.name()),
                    msg,
                );
            }
        }
        for slot in table.iter().filter(|s| s.1) {
            if seen.fields.iter().any(|(f, _)| *f == slot.0) {
                continue;
            }
            if slot.0 == Field::ChildEpcs
                && et == EventType::Aggregation
                && ev.action == Some(Action::Delete)
            {
                let msg = "AggregationEvent with action DELETE has no childEPCs: read as unpacking every child of its parent".to_string();
                self.diag(&rules::UNPACK_ALL, pos, path, msg);
                continue;
            }
            let msg = format!(
                "required field `{}` is missing in {}",
                slot.0.name(),
                et.as_str()
            );
            self.diag(&rules::REQUIRED, pos, path, msg);
        }
        for (key, val, at) in seen.extensions {
            match values::element(&self.ctx, &key, &val) {
                Ok(els) => ev.extensions.extend(els),
                Err(p) => self.unknown_prefix(at, &format!("{path}.{key}"), &p),
            }
        }
        if !ev.ilmd.elements.is_empty()
            && et == EventType::Object
            && ev.action.is_some_and(|a| a != Action::Add)
        {
            let msg = format!("ILMD on an ObjectEvent with action {}; ILMD belongs to the ADD (commissioning) event", ev.action.map_or("", |a| a.as_str()));
            self.diag(&rules::ILMD_NOT_ADD, pos, &format!("{path}.ilmd"), msg);
        }
        if let Err(e) = self.epcs.finish(&mut ev) {
            return Err(self.spill_error(e, pos));
        }
        for (rule, message) in event_findings(&ev) {
            self.diag(rule, pos, path, message);
        }
        Ok(Some(ev))
    }

    fn spill_error(&self, e: std::io::Error, pos: Position) -> ReadError {
        self.error(
            &rules::SPILL,
            pos,
            format!("the identifier lists of this event could not be written to the spool directory: {e}"),
        )
    }

    fn field(
        &mut self,
        ev: &mut Event,
        field: Field,
        path: &str,
        pos: Position,
    ) -> Result<(), ReadError> {
        match field {
            Field::EventTime | Field::RecordTime => {
                if let Some(t) = self.string_at(path)? {
                    let ts = self.timestamp(t, field.name(), pos, path);
                    if field == Field::EventTime {
                        ev.event_time = Some(ts);
                    } else {
                        ev.record_time = Some(ts);
                    }
                }
            }
            Field::EventTimeZoneOffset => {
                if let Some(t) = self.string_at(path)? {
                    if v::parse_offset(&t, false).is_none() {
                        self.diag(
                            &rules::TIME_ZONE_OFFSET,
                            pos,
                            path,
                            format!("eventTimeZoneOffset `{t}` is not of the form ±hh:mm"),
                        );
                    }
                    ev.event_time_zone_offset = Some(t);
                }
            }
            Field::CertificationInfo => {
                for (t, p) in self.strings(path)? {
                    if let Some(t) = self.non_empty(t, p, path, "certificationInfo") {
                        ev.certification_info.push(t);
                    }
                }
            }
            Field::EventId => {
                if let Some(t) = self.string_at(path)? {
                    ev.event_id = self.non_empty(t, pos, path, "eventID");
                }
            }
            Field::ErrorDeclaration => {
                let val = self.value_at(path)?;
                ev.error_declaration = self.error_declaration(val, path);
            }
            Field::ParentId => {
                self.count_epc(pos)?;
                if let Some(t) = self.string_at(path)? {
                    ev.parent_id = self.non_empty(t, pos, path, "parentID");
                    ev.parsed_epcs.parent =
                        ev.parent_id.clone().map(|id| match ident::parse(&id) {
                            Ok(i) => Some(i),
                            Err(e) => {
                                self.identifier_error(&id, "parentID", pos, path, e);
                                None
                            }
                        });
                }
            }
            Field::EpcList => self.epc_list(ev, ListKind::Epc, path)?,
            Field::ChildEpcs => self.epc_list(ev, ListKind::Child, path)?,
            Field::InputEpcList => self.epc_list(ev, ListKind::Input, path)?,
            Field::OutputEpcList => self.epc_list(ev, ListKind::Output, path)?,
            Field::QuantityList
            | Field::ChildQuantityList
            | Field::InputQuantityList
            | Field::OutputQuantityList => {
                let val = self.value_at(path)?;
                let items = self.quantity_list(val, path);
                match field {
                    Field::QuantityList => ev.quantity_list.extend(items),
                    Field::ChildQuantityList => ev.child_quantity_list.extend(items),
                    Field::InputQuantityList => ev.input_quantity_list.extend(items),
                    _ => ev.output_quantity_list.extend(items),
                }
            }
            Field::EpcClass => {
                if let Some(t) = self.string_at(path)? {
                    let class = self
                        .identifier(t, pos, path, "epcClass")
                        .unwrap_or_default();
                    match ev.quantity_list.first_mut() {
                        Some(q) => q.epc_class = class,
                        None => ev.quantity_list.push(QuantityElement {
                            epc_class: class,
                            ..Default::default()
                        }),
                    }
                }
            }
            Field::Quantity => {
                let s = self.scalar_at(path)?;
                let q = match s {
                    Some(s) if s.kind == Kind::Number && v::is_integer(&s.text) => {
                        s.text.parse::<f64>().ok()
                    }
                    Some(s) => {
                        self.diag(
                            &rules::QUANTITY,
                            pos,
                            path,
                            format!("QuantityEvent quantity `{}` is not an integer", s.text),
                        );
                        None
                    }
                    None => None,
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
                if let Some(t) = self.string_at(path)? {
                    ev.action = Action::parse(&t);
                    if ev.action.is_none() {
                        self.diag(
                            &rules::ACTION,
                            pos,
                            path,
                            format!("action `{t}` is not ADD, OBSERVE or DELETE"),
                        );
                    }
                }
            }
            Field::TransformationId => {
                if let Some(t) = self.string_at(path)? {
                    ev.transformation_id = self.identifier(t, pos, path, "transformationID");
                }
            }
            Field::BizStep | Field::Disposition => {
                if let Some(t) = self.string_at(path)? {
                    let (vocab, name) = if field == Field::BizStep {
                        (Vocab::BizStep, "bizStep")
                    } else {
                        (Vocab::Disposition, "disposition")
                    };
                    if let Some(t) = self.non_empty(t, pos, path, name) {
                        let term = self.cbv(vocab, &t, pos, path);
                        if field == Field::BizStep {
                            ev.biz_step = Some(term);
                        } else {
                            ev.disposition = Some(term);
                        }
                    }
                }
            }
            Field::PersistentDisposition => {
                let val = self.value_at(path)?;
                ev.persistent_disposition = Some(self.persistent_disposition(val, path));
            }
            Field::ReadPoint | Field::BizLocation => {
                let val = self.value_at(path)?;
                let (id, ext) = self.location(val, field.name(), path);
                if field == Field::ReadPoint {
                    ev.read_point = id;
                    ev.read_point_extensions = ext;
                } else {
                    ev.biz_location = id;
                    ev.biz_location_extensions = ext;
                }
            }
            Field::BizTransactionList => {
                let val = self.value_at(path)?;
                for (i, item) in self.objects(val, path, "bizTransaction objects") {
                    let p = format!("{path}[{i}]");
                    if let Some(bt) = self.biz_transaction(item, &p) {
                        ev.biz_transactions.push(bt);
                    }
                }
            }
            Field::SourceList | Field::DestinationList => {
                let source = field == Field::SourceList;
                let val = self.value_at(path)?;
                for (i, item) in self.objects(val, path, "source/destination objects") {
                    let p = format!("{path}[{i}]");
                    if let Some(sd) = self.source_dest(item, &p, source) {
                        if source {
                            ev.sources.push(sd);
                        } else {
                            ev.destinations.push(sd);
                        }
                    }
                }
            }
            Field::SensorElementList => {
                let val = self.value_at(path)?;
                for (i, item) in self.objects(val, path, "sensorElement objects") {
                    let p = format!("{path}[{i}]");
                    let el = self.sensor_element(item, &p);
                    ev.sensor_elements.push(el);
                }
            }
            Field::Ilmd => {
                let val = self.value_at(path)?;
                let Value::Object(members, _) = val else {
                    self.diag(
                        &rules::JSON_TYPE,
                        pos,
                        path,
                        "expected an object of ILMD fields".into(),
                    );
                    return Ok(());
                };
                for (k, val) in members {
                    if k.starts_with('@') {
                        continue;
                    }
                    let at = val.position();
                    let p = format!("{path}.{k}");
                    if !context::is_qualified(&k) && k != "extension" {
                        // `extension`: the ILMD's own (1.2) wildcard, kept as in XML.
                        self.diag(&rules::UNEXPECTED, at, &p, format!("ILMD field `{k}` has no namespace; ILMD fields must be compact IRIs (e.g. cbvmda:lotNumber)"));
                    }
                    match values::element(&self.ctx, &k, &val) {
                        Ok(els) => {
                            for el in els {
                                if let Some((rule, msg)) = ilmd_facts(&mut ev.ilmd, &el) {
                                    self.diag(rule, at, &p, msg);
                                }
                                ev.ilmd.elements.push(el);
                            }
                        }
                        Err(e) => self.unknown_prefix(at, &p, &e),
                    }
                }
            }
            Field::Extension | Field::BaseExtension => {
                self.lex.skip_value().map_err(|e| self.fatal(e, path))?
            }
        }
        Ok(())
    }

    fn count_epc(&mut self, pos: Position) -> Result<(), ReadError> {
        self.epcs.count().map_err(|e| self.list_error(e, pos))
    }

    fn list_error(&self, e: ListError, pos: Position) -> ReadError {
        match e {
            ListError::Limit => self.error(
                &rules::LIMIT_EPCS,
                pos,
                format!(
                    "event has more than the limit of {} EPCs",
                    self.limits.max_epcs_per_event
                ),
            ),
            ListError::Spill(e) => self.spill_error(e, pos),
        }
    }

    /// An EPC list, element by element (never held whole beyond the event's lists).
    fn epc_list(&mut self, ev: &mut Event, kind: ListKind, path: &str) -> Result<(), ReadError> {
        if self.lex.peek_kind().map_err(|e| self.fatal(e, path))? != Kind::Array {
            return self.wrong_type(path, "an array of EPC strings");
        }
        self.lex.begin_array().map_err(|e| self.fatal(e, path))?;
        let mut i = 0usize;
        while self
            .lex
            .next_element(i == 0)
            .map_err(|e| self.fatal(e, path))?
        {
            let pos = self.lex.value_pos().map_err(|e| self.fatal(e, path))?;
            if self.lex.peek_kind().map_err(|e| self.fatal(e, path))? != Kind::String {
                self.wrong_type(&format!("{path}[{i}]"), "an EPC string")?;
                i += 1;
                continue;
            }
            let epc = self.lex.string().map_err(|e| self.fatal(e, path))?;
            self.count_epc(pos)?;
            if epc.is_empty() {
                self.diag(
                    &rules::EMPTY_VALUE,
                    pos,
                    &format!("{path}[{i}]"),
                    format!("an entry of `{}` is empty", kind.name()),
                );
                i += 1;
                continue;
            }
            let mut refused = None;
            let pushed = self
                .epcs
                .push(ev, kind, epc, |v, e| refused = Some((v.to_owned(), e)));
            if let Some((value, e)) = refused {
                self.identifier_error(&value, kind.name(), pos, &format!("{path}[{i}]"), e);
            }
            pushed.map_err(|e| self.list_error(e, pos))?;
            i += 1;
        }
        Ok(())
    }

    fn scalar_at(&mut self, path: &str) -> Result<Option<Scalar>, ReadError> {
        match self.lex.peek_kind().map_err(|e| self.fatal(e, path))? {
            Kind::Object | Kind::Array => self.wrong_type(path, "a scalar").map(|()| None),
            _ => self.lex.scalar().map(Some).map_err(|e| self.fatal(e, path)),
        }
    }

    /// A string or an array of strings.
    fn strings(&mut self, path: &str) -> Result<Vec<(String, Position)>, ReadError> {
        let pos = self.lex.pos();
        let val = self.value_at(path)?;
        let mut out = Vec::new();
        match val {
            Value::Scalar(s, p) if s.kind == Kind::String => out.push((s.text, p)),
            Value::Array(items, _) => {
                for (i, item) in items.into_iter().enumerate() {
                    match item {
                        Value::Scalar(s, p) if s.kind == Kind::String => out.push((s.text, p)),
                        other => self.diag(
                            &rules::JSON_TYPE,
                            other.position(),
                            &format!("{path}[{i}]"),
                            "expected a string".into(),
                        ),
                    }
                }
            }
            _ => self.diag(
                &rules::JSON_TYPE,
                pos,
                path,
                "expected a string or an array of strings".into(),
            ),
        }
        Ok(out)
    }

    /// The objects of an array value (others reported).
    fn objects(
        &mut self,
        val: Value,
        path: &str,
        what: &str,
    ) -> Vec<(usize, Vec<(String, Value)>)> {
        let pos = val.position();
        let Value::Array(items, _) = val else {
            self.diag(
                &rules::JSON_TYPE,
                pos,
                path,
                format!("expected an array of {what}"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Value::Object(m, _) => out.push((i, m)),
                other => self.diag(
                    &rules::JSON_TYPE,
                    other.position(),
                    &format!("{path}[{i}]"),
                    format!("expected one of the {what}"),
                ),
            }
        }
        out
    }

    fn non_empty(&mut self, t: String, pos: Position, path: &str, field: &str) -> Option<String> {
        if t.is_empty() {
            self.diag(
                &rules::EMPTY_VALUE,
                pos,
                path,
                format!("`{field}` is empty"),
            );
            return None;
        }
        Some(t)
    }

    fn identifier(&mut self, t: String, pos: Position, path: &str, field: &str) -> Option<String> {
        let t = self.non_empty(t, pos, path, field)?;
        if let Err(e) = ident::validate(&t) {
            self.identifier_error(&t, field, pos, path, e);
        }
        Some(t)
    }

    fn lenient_identifier(
        &mut self,
        t: String,
        pos: Position,
        path: &str,
        field: &str,
    ) -> Option<String> {
        let t = self.non_empty(t, pos, path, field)?;
        if let Err(e) = ident::validate(&t) {
            let rule = if e.not_a_uri {
                &rules::NOT_URI_STORED
            } else {
                &rules::IDENTIFIER_STORED
            };
            self.diag(
                rule,
                pos,
                path,
                format!(
                    "{field} `{t}`: {}; stored as given (data-quality finding)",
                    e.message
                ),
            );
        }
        Some(t)
    }

    fn identifier_error(
        &mut self,
        id: &str,
        field: &str,
        pos: Position,
        path: &str,
        e: ident::IdentError,
    ) {
        let rule = if e.not_a_uri {
            &rules::NOT_URI
        } else {
            &rules::IDENTIFIER
        };
        self.diag(rule, pos, path, format!("{field} `{id}`: {}", e.message));
    }

    fn cbv(&mut self, vocab: Vocab, text: &str, pos: Position, path: &str) -> CbvTerm {
        let n = cbv::normalise(vocab, text);
        if n.unknown_cbv {
            self.diag(
                &rules::CBV_VALUE,
                pos,
                path,
                format!("{} `{text}` is not a standard CBV term", vocab.field()),
            );
        }
        n.term
    }

    /// The string member `name` of an object's members.
    fn member_string(
        &mut self,
        m: &mut Vec<(String, Value)>,
        name: &str,
        path: &str,
    ) -> Option<(String, Position)> {
        let i = m.iter().position(|(k, _)| k == name)?;
        match m.remove(i).1 {
            Value::Scalar(s, p) if s.kind == Kind::String => Some((s.text, p)),
            other => {
                self.diag(
                    &rules::JSON_TYPE,
                    other.position(),
                    &format!("{path}.{name}"),
                    "expected a string".into(),
                );
                None
            }
        }
    }

    fn quantity_list(&mut self, val: Value, path: &str) -> Vec<QuantityElement> {
        let mut out = Vec::new();
        for (i, mut m) in self.objects(val, path, "quantityElement objects") {
            let p = format!("{path}[{i}]");
            let mut q = QuantityElement::default();
            match self.member_string(&mut m, "epcClass", &p) {
                Some((t, at)) => {
                    q.epc_class = self
                        .identifier(t, at, &format!("{p}.epcClass"), "epcClass")
                        .unwrap_or_default()
                }
                None => self.diag(
                    &rules::REQUIRED,
                    self.lex.pos(),
                    &p,
                    "required field `epcClass` is missing in quantityElement".into(),
                ),
            }
            for (k, val) in m {
                let at = val.position();
                let kp = format!("{p}.{k}");
                match (k.as_str(), val) {
                    ("quantity", Value::Scalar(s, _)) if s.kind == Kind::Number => {
                        q.quantity = s.text.parse::<f64>().ok()
                    }
                    ("quantity", Value::Scalar(s, _))
                        if s.kind == Kind::String && v::is_decimal(&s.text) =>
                    {
                        self.diag(
                            &rules::JSON_TYPE,
                            at,
                            &kp,
                            format!(
                                "quantity `{}` is a string; write it as a JSON number",
                                s.text
                            ),
                        );
                    }
                    ("quantity", _) => {
                        self.diag(&rules::QUANTITY, at, &kp, "quantity is not a number".into())
                    }
                    ("uom", Value::Scalar(s, _)) if s.kind == Kind::String => q.uom = Some(s.text),
                    ("uom", _) => self.diag(&rules::JSON_TYPE, at, &kp, "expected a string".into()),
                    _ if k.starts_with('@') => {}
                    _ => self.diag(
                        &rules::UNEXPECTED,
                        at,
                        &kp,
                        format!(
                            "unexpected member `{k}` in quantityElement (epcClass, quantity, uom)"
                        ),
                    ),
                }
            }
            if q.uom.is_some() && q.quantity.is_none() {
                self.diag(
                    &rules::QUANTITY,
                    self.lex.pos(),
                    &p,
                    "uom given without a quantity".into(),
                );
            }
            out.push(q);
        }
        out
    }

    fn error_declaration(&mut self, val: Value, path: &str) -> Option<ErrorDeclaration> {
        let pos = val.position();
        let Value::Object(members, _) = val else {
            self.diag(
                &rules::JSON_TYPE,
                pos,
                path,
                "expected an errorDeclaration object".into(),
            );
            return None;
        };
        let mut d = ErrorDeclaration::default();
        for (k, val) in members {
            let at = val.position();
            let p = format!("{path}.{k}");
            match (k.as_str(), val) {
                ("declarationTime", Value::Scalar(s, _)) if s.kind == Kind::String => {
                    d.declaration_time = Some(self.timestamp(s.text, "declarationTime", at, &p));
                }
                ("reason", Value::Scalar(s, _)) if s.kind == Kind::String => {
                    if let Some(t) = self.non_empty(s.text, at, &p, "reason") {
                        d.reason = Some(self.cbv(Vocab::ErrorReason, &t, at, &p));
                    }
                }
                ("correctiveEventIDs", Value::Array(items, _)) => {
                    for (i, item) in items.into_iter().enumerate() {
                        match item {
                            Value::Scalar(s, ip) if s.kind == Kind::String => {
                                if let Some(t) = self.non_empty(s.text, ip, &p, "correctiveEventID") {
                                    d.corrective_event_ids.push(t);
                                }
                            }
                            other => self.diag(&rules::JSON_TYPE, other.position(), &format!("{p}[{i}]"), "expected an event id string".into()),
                        }
                    }
                }
                ("declarationTime" | "reason" | "correctiveEventIDs", _) => self.diag(&rules::JSON_TYPE, at, &p, "wrong JSON type (declarationTime and reason are strings, correctiveEventIDs an array)".into()),
                (k, _) if k.starts_with('@') => {}
                // Extension members, qualified or (as the XML binding's `extension` children)
                // plain.
                (k, val) => match values::element(&self.ctx, k, &val) {
                    Ok(els) => d.extensions.extend(els),
                    Err(e) => self.unknown_prefix(at, &p, &e),
                },
            }
        }
        if d.declaration_time.is_none() {
            self.diag(
                &rules::REQUIRED,
                pos,
                path,
                "required field `declarationTime` is missing in errorDeclaration".into(),
            );
        }
        Some(d)
    }

    fn persistent_disposition(&mut self, val: Value, path: &str) -> PersistentDisposition {
        let mut pd = PersistentDisposition::default();
        let pos = val.position();
        let Value::Object(members, _) = val else {
            self.diag(
                &rules::JSON_TYPE,
                pos,
                path,
                "expected an object {\"set\": […], \"unset\": […]}".into(),
            );
            return pd;
        };
        for (k, val) in members {
            let at = val.position();
            let p = format!("{path}.{k}");
            let set = match k.as_str() {
                "set" => true,
                "unset" => false,
                _ if k.starts_with('@') => continue,
                _ => {
                    self.diag(
                        &rules::UNEXPECTED,
                        at,
                        &p,
                        format!("unexpected member `{k}` in persistentDisposition (set, unset)"),
                    );
                    continue;
                }
            };
            let items = match val {
                Value::Array(items, _) => items,
                one @ Value::Scalar(..) => vec![one],
                other => {
                    self.diag(
                        &rules::JSON_TYPE,
                        other.position(),
                        &p,
                        "expected an array of dispositions".into(),
                    );
                    continue;
                }
            };
            for item in items {
                match item {
                    Value::Scalar(s, ip) if s.kind == Kind::String => {
                        if let Some(t) = self.non_empty(s.text, ip, &p, &k) {
                            let term = self.cbv(Vocab::Disposition, &t, ip, &p);
                            if set {
                                pd.set.push(term);
                            } else {
                                pd.unset.push(term);
                            }
                        }
                    }
                    other => self.diag(
                        &rules::JSON_TYPE,
                        other.position(),
                        &p,
                        "expected a disposition string".into(),
                    ),
                }
            }
        }
        pd
    }

    fn location(
        &mut self,
        val: Value,
        name: &str,
        path: &str,
    ) -> (Option<String>, Vec<ExtensionElement>) {
        let pos = val.position();
        let Value::Object(mut members, _) = val else {
            self.diag(
                &rules::JSON_TYPE,
                pos,
                path,
                format!("expected an object {{\"id\": …}} for {name}"),
            );
            return (None, Vec::new());
        };
        let id = match self.member_string(&mut members, "id", path) {
            Some((t, at)) => {
                self.lenient_identifier(t, at, &format!("{path}.id"), &format!("{name}/id"))
            }
            None => {
                self.diag(
                    &rules::REQUIRED,
                    pos,
                    path,
                    format!("required field `id` is missing in {name}"),
                );
                None
            }
        };
        let ext = self.extension_members(members, path, name, true);
        (id, ext)
    }

    /// The remaining members of an object: compact-IRI ones as extension elements; plain
    /// names as elements of no namespace where `plain` (the XML binding's unqualified
    /// extension children of readPoint/bizLocation), reported otherwise.
    fn extension_members(
        &mut self,
        members: Vec<(String, Value)>,
        path: &str,
        what: &str,
        plain: bool,
    ) -> Vec<ExtensionElement> {
        let mut out = Vec::new();
        for (k, val) in members {
            let at = val.position();
            let p = format!("{path}.{k}");
            if k.starts_with('@') {
                continue;
            }
            if !plain && !context::is_qualified(&k) {
                self.diag(
                    &rules::UNEXPECTED,
                    at,
                    &p,
                    format!("unexpected member `{k}` in {what}"),
                );
                continue;
            }
            match values::element(&self.ctx, &k, &val) {
                Ok(els) => out.extend(els),
                Err(e) => self.unknown_prefix(at, &p, &e),
            }
        }
        out
    }

    fn biz_transaction(
        &mut self,
        mut m: Vec<(String, Value)>,
        path: &str,
    ) -> Option<BizTransaction> {
        let ty = self
            .member_string(&mut m, "type", path)
            .and_then(|(t, at)| {
                if t.trim().is_empty() {
                    self.diag(
                        &rules::SOURCE_DEST_TYPE,
                        at,
                        path,
                        "bizTransaction has an empty type".into(),
                    );
                    None
                } else {
                    Some(self.cbv(
                        Vocab::BizTransactionType,
                        t.trim(),
                        at,
                        &format!("{path}.type"),
                    ))
                }
            });
        let id = match self.member_string(&mut m, "bizTransaction", path) {
            Some((t, at)) => {
                self.lenient_identifier(t, at, &format!("{path}.bizTransaction"), "bizTransaction")
            }
            None => {
                let pos = self.lex.pos();
                self.diag(
                    &rules::REQUIRED,
                    pos,
                    path,
                    "required field `bizTransaction` is missing".into(),
                );
                None
            }
        };
        self.extension_members(m, path, "a bizTransaction", false);
        id.map(|id| BizTransaction {
            transaction_type: ty,
            id,
        })
    }

    fn source_dest(
        &mut self,
        mut m: Vec<(String, Value)>,
        path: &str,
        source: bool,
    ) -> Option<SourceDest> {
        let item = if source { "source" } else { "destination" };
        let term = match self.member_string(&mut m, "type", path) {
            Some((t, at)) if !t.trim().is_empty() => {
                self.cbv(Vocab::SourceDestType, t.trim(), at, &format!("{path}.type"))
            }
            other => {
                let pos = other.map_or(self.lex.pos(), |(_, p)| p);
                self.diag(
                    &rules::SOURCE_DEST_TYPE,
                    pos,
                    path,
                    format!("{item} has no type"),
                );
                CbvTerm::Other(String::new())
            }
        };
        let id = match self.member_string(&mut m, item, path) {
            Some((t, at)) => self.lenient_identifier(t, at, &format!("{path}.{item}"), item),
            None => {
                let pos = self.lex.pos();
                self.diag(
                    &rules::REQUIRED,
                    pos,
                    path,
                    format!("required field `{item}` is missing"),
                );
                None
            }
        };
        self.extension_members(m, path, item, false);
        id.map(|id| SourceDest { sd_type: term, id })
    }

    /// A sensorElement as the XML binding's element tree: sensorMetadata and each sensorReport
    /// an element whose members are attributes; extension members as child elements.
    fn sensor_element(&mut self, members: Vec<(String, Value)>, path: &str) -> ExtensionElement {
        let mut el = ExtensionElement {
            local_name: "sensorElement".into(),
            ..ExtensionElement::default()
        };
        for (k, val) in members {
            let p = format!("{path}.{k}");
            match (k.as_str(), val) {
                ("sensorMetadata", Value::Object(m, _)) => {
                    el.children.push(self.sensor_part("sensorMetadata", m, &p))
                }
                ("sensorReport", Value::Array(items, _)) => {
                    for (i, item) in items.into_iter().enumerate() {
                        match item {
                            Value::Object(m, _) => el.children.push(self.sensor_part(
                                "sensorReport",
                                m,
                                &format!("{p}[{i}]"),
                            )),
                            other => self.diag(
                                &rules::JSON_TYPE,
                                other.position(),
                                &format!("{p}[{i}]"),
                                "expected a sensorReport object".into(),
                            ),
                        }
                    }
                }
                ("sensorMetadata" | "sensorReport", other) => self.diag(
                    &rules::JSON_TYPE,
                    other.position(),
                    &p,
                    "sensorMetadata is an object, sensorReport an array of objects".into(),
                ),
                (k, _) if k.starts_with('@') => {}
                (k, val) => {
                    let at = val.position();
                    if context::is_qualified(k) {
                        match values::element(&self.ctx, k, &val) {
                            Ok(els) => el.children.extend(els),
                            Err(e) => self.unknown_prefix(at, &p, &e),
                        }
                    } else {
                        self.diag(&rules::UNEXPECTED, at, &p, format!("unexpected member `{k}` in sensorElement (sensorMetadata, sensorReport)"));
                    }
                }
            }
        }
        el
    }

    fn sensor_part(
        &mut self,
        name: &str,
        members: Vec<(String, Value)>,
        path: &str,
    ) -> ExtensionElement {
        let mut el = ExtensionElement {
            local_name: name.into(),
            ..ExtensionElement::default()
        };
        for (k, val) in members {
            let p = format!("{path}.{k}");
            if k.starts_with('@') {
                continue;
            }
            if context::is_qualified(&k) {
                let at = val.position();
                match values::element(&self.ctx, &k, &val) {
                    Ok(els) => el.children.extend(els),
                    Err(e) => self.unknown_prefix(at, &p, &e),
                }
                continue;
            }
            match val {
                Value::Scalar(s, _) => {
                    let mut text = values::scalar_text(&s);
                    if SENSOR_WORDS.contains(&k.as_str()) && !text.contains(':') && !text.is_empty()
                    {
                        text = format!("gs1:{text}");
                    }
                    el.attributes.push((k, text));
                }
                other => self.diag(
                    &rules::JSON_TYPE,
                    other.position(),
                    &p,
                    format!("{name} fields are strings, numbers or booleans"),
                ),
            }
        }
        el
    }
}

/// What an event object held, for the checks at its end.
#[derive(Default)]
struct Seen {
    event_type: Option<(String, Position)>,
    fields: Vec<(Field, Position)>,
    /// Extension members, expanded once the object (and its @context) is read.
    extensions: Vec<(String, Value, Position)>,
}
