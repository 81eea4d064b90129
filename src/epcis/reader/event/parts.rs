//! The structured fields of an event: quantity lists, readPoint and bizLocation, business
//! transactions, sources and destinations, persistent disposition, error declaration and ILMD.

use std::io::BufRead;

use crate::epcis::cbv::{CbvTerm, Vocab};
use crate::epcis::diagnostics::{rules, Rule};
use crate::epcis::model::{
    Action, BizTransaction, ErrorDeclaration, Event, EventType, ExtensionElement, Ilmd, LotSource,
    PersistentDisposition, Position, QuantityElement, SourceDest,
};
use crate::epcis::reader::cursor::{Ns, Tok, NS_CBVMDA, NS_GS1USHC};
use crate::epcis::reader::{ReadError, XmlReader};
use crate::epcis::values;

/// Which quantity list is being read.
#[derive(Clone, Copy)]
pub(super) enum QuantityKind {
    Plain,
    Child,
    Input,
    Output,
}

impl<R: BufRead> XmlReader<R> {
    pub(super) fn quantity_list(
        &mut self,
        ev: &mut Event,
        kind: QuantityKind,
    ) -> Result<(), ReadError> {
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

    pub(super) fn location(
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

    pub(super) fn biz_transactions(&mut self, ev: &mut Event) -> Result<(), ReadError> {
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

    pub(super) fn source_dest(&mut self, ev: &mut Event, source: bool) -> Result<(), ReadError> {
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

    pub(super) fn persistent_disposition(&mut self) -> Result<PersistentDisposition, ReadError> {
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

    pub(super) fn error_declaration(
        &mut self,
        el_pos: Position,
    ) -> Result<ErrorDeclaration, ReadError> {
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

    pub(super) fn ilmd(&mut self, ev: &mut Event, pos: Position) -> Result<(), ReadError> {
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
                    if let Some((rule, msg)) = ilmd_facts(&mut ev.ilmd, &el) {
                        self.diag(rule, p, msg);
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
}

/// The typed view of one ILMD element (either binding): the lot (`cbvmda:lotNumber`, or the
/// legacy `gs1ushc:lotNumber` unless a cbvmda one was given) and the expiry date; a finding
/// about its value is returned for the reader to place.
pub(crate) fn ilmd_facts(
    ilmd: &mut Ilmd,
    el: &ExtensionElement,
) -> Option<(&'static Rule, String)> {
    let cbvmda = el.namespace.trim_end_matches(':') == NS_CBVMDA;
    let legacy = el.namespace == NS_GS1USHC;
    match el.local_name.as_str() {
        "lotNumber" if cbvmda || (legacy && ilmd.lot_source != Some(LotSource::Cbvmda)) => {
            ilmd.lot_number = Some(el.text.clone());
            ilmd.lot_source = Some(if cbvmda {
                LotSource::Cbvmda
            } else {
                LotSource::Gs1Ushc
            });
            match crate::gs1::Lot::parse(&el.text) {
                Ok(l) => {
                    ilmd.lot = Some(l);
                    None
                }
                Err(e) => {
                    ilmd.lot = None;
                    Some((
                        &rules::LOT,
                        format!("ILMD lotNumber `{}`: {e} [{}]", el.text, e.code()),
                    ))
                }
            }
        }
        "itemExpirationDate" if cbvmda || legacy => match values::parse_date(&el.text) {
            Some(d) => {
                ilmd.item_expiration_date = Some(d);
                ilmd.expiry = crate::gs1::Expiry::from_date(d).ok();
                None
            }
            None => Some((
                &rules::DATE,
                format!("itemExpirationDate `{}` is not a YYYY-MM-DD date", el.text),
            )),
        },
        _ => None,
    }
}
