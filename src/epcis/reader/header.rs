//! Header parts: SBDH, `##other` header elements (GS1 US transaction statement), vocabularies.

use std::io::BufRead;

use super::cursor::{Ns, Tok, NS_GS1USHC};
use super::{ReadError, XmlReader};
use crate::epcis::diagnostics::{rules, Rule};
use crate::epcis::model::{
    DocumentIdentification, EpcisVersion, ExtensionElement, Header, MasterDataAttribute, Partner,
    Position, Sbdh, TransactionStatement, Vocabulary, VocabularyElement,
};
use crate::epcis::values;

impl<R: BufRead> XmlReader<R> {
    /// Text of the current element (trimmed), child elements ignored.
    fn plain_text(&mut self) -> Result<String, ReadError> {
        let mut s = std::mem::take(&mut self.scratch);
        self.cur.read_text_into(&mut s)?;
        let out = s.clone();
        self.scratch = s;
        Ok(out)
    }

    pub(super) fn read_sbdh(&mut self) -> Result<Sbdh, ReadError> {
        let pos = self.cur.pos;
        let mut sbdh = Sbdh::default();
        let mut has_doc_id = false;
        loop {
            match self.cur.next_tok()? {
                Tok::End => break,
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    if self.cur.ns != Ns::Sbdh {
                        sbdh.other.push(self.cur.read_any()?);
                        continue;
                    }
                    let local = self.cur.local.clone();
                    match local.as_str() {
                        "HeaderVersion" => sbdh.header_version = Some(self.plain_text()?),
                        "Sender" => {
                            let p = self.read_partner()?;
                            sbdh.senders.push(p);
                        }
                        "Receiver" => {
                            let p = self.read_partner()?;
                            sbdh.receivers.push(p);
                        }
                        "DocumentIdentification" => {
                            has_doc_id = true;
                            sbdh.document_identification = self.read_document_identification()?;
                        }
                        _ => sbdh.other.push(self.cur.read_any()?),
                    }
                }
            }
        }
        let mut missing = Vec::new();
        if sbdh.header_version.is_none() {
            missing.push("HeaderVersion");
        }
        if sbdh.senders.is_empty() {
            missing.push("Sender");
        }
        if sbdh.receivers.is_empty() {
            missing.push("Receiver");
        }
        if !has_doc_id {
            missing.push("DocumentIdentification");
        }
        if !missing.is_empty() {
            self.diag(
                &rules::SBDH,
                pos,
                format!(
                    "StandardBusinessDocumentHeader lacks {}",
                    missing.join(", ")
                ),
            );
        }
        Ok(sbdh)
    }

    fn read_partner(&mut self) -> Result<Partner, ReadError> {
        let pos = self.cur.pos;
        let mut p = Partner::default();
        let mut has_id = false;
        loop {
            match self.cur.next_tok()? {
                Tok::End => break,
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    if self.cur.ns == Ns::Sbdh && self.cur.local == "Identifier" {
                        has_id = true;
                        p.authority = self.cur.attr("Authority").map(str::to_owned);
                        p.identifier = self.plain_text()?;
                    } else {
                        p.other.push(self.cur.read_any()?);
                    }
                }
            }
        }
        if !has_id || p.identifier.is_empty() {
            self.diag(
                &rules::SBDH,
                pos,
                "SBDH Sender/Receiver has no Identifier".into(),
            );
        }
        Ok(p)
    }

    fn read_document_identification(&mut self) -> Result<DocumentIdentification, ReadError> {
        let mut d = DocumentIdentification::default();
        loop {
            match self.cur.next_tok()? {
                Tok::End => break,
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    let local = self.cur.local.clone();
                    let text = self.plain_text()?;
                    match local.as_str() {
                        "Standard" => d.standard = Some(text),
                        "TypeVersion" => d.type_version = Some(text),
                        "InstanceIdentifier" => d.instance_identifier = Some(text),
                        "Type" => d.document_type = Some(text),
                        "MultipleType" => d.multiple_type = Some(text),
                        "CreationDateAndTime" => {
                            d.creation_date_and_time = Some(self.timestamp_value(
                                text,
                                "CreationDateAndTime",
                                pos,
                                &rules::DATE_TIME,
                            ));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(d)
    }

    /// A foreign-namespace header element (`##other`), e.g. the GS1 US transaction statement.
    pub(super) fn read_header_extension(&mut self) -> Result<(), ReadError> {
        let pos = self.cur.pos;
        let el = self.cur.read_any()?;
        if let Some(h) = self.header.as_mut() {
            for (rule, message) in header_extension(h, el) {
                self.diag(rule, pos, message);
            }
        }
        Ok(())
    }

    pub(super) fn header_checks(&mut self, pos: Position, has_sbdh: bool) {
        if self.version == EpcisVersion::V1 && !has_sbdh {
            self.diag(
                &rules::SBDH,
                pos,
                "EPCIS 1.2 EPCISHeader has no sbdh:StandardBusinessDocumentHeader".into(),
            );
        }
    }

    pub(super) fn read_vocabulary(&mut self) -> Result<Vocabulary, ReadError> {
        let pos = self.cur.pos;
        let mut v = Vocabulary {
            position: pos,
            ..Vocabulary::default()
        };
        match self.cur.attr("type") {
            Some(t) if !t.trim().is_empty() => v.vocabulary_type = t.trim().to_owned(),
            _ => self.diag(
                &rules::VOCABULARY,
                pos,
                "Vocabulary has no type attribute".into(),
            ),
        }
        loop {
            match self.cur.next_tok()? {
                Tok::End => break,
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    if self.cur.ns == Ns::None && self.cur.local == "VocabularyElementList" {
                        self.read_vocabulary_elements(&mut v)?;
                    } else {
                        self.cur.skip_element()?;
                    }
                }
            }
        }
        Ok(v)
    }

    fn read_vocabulary_elements(&mut self, v: &mut Vocabulary) -> Result<(), ReadError> {
        loop {
            match self.cur.next_tok()? {
                Tok::End => return Ok(()),
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    if !(self.cur.ns == Ns::None && self.cur.local == "VocabularyElement") {
                        self.cur.skip_element()?;
                        continue;
                    }
                    let mut el = VocabularyElement::default();
                    match self.cur.attr("id") {
                        Some(id) if !id.trim().is_empty() => el.id = id.trim().to_owned(),
                        _ => self.diag(
                            &rules::VOCABULARY,
                            pos,
                            "VocabularyElement has no id attribute".into(),
                        ),
                    }
                    self.read_vocabulary_element(&mut el)?;
                    v.elements.push(el);
                }
            }
        }
    }

    fn read_vocabulary_element(&mut self, el: &mut VocabularyElement) -> Result<(), ReadError> {
        loop {
            match self.cur.next_tok()? {
                Tok::End => return Ok(()),
                Tok::Text => {}
                Tok::Eof => return Err(self.cur.unexpected_eof()),
                Tok::Start => {
                    let pos = self.cur.pos;
                    let unqualified = self.cur.ns == Ns::None;
                    if unqualified && self.cur.local == "attribute" {
                        let id = self
                            .cur
                            .attr("id")
                            .map(|s| s.trim().to_owned())
                            .unwrap_or_default();
                        if id.is_empty() {
                            self.diag(
                                &rules::VOCABULARY,
                                pos,
                                "master-data attribute has no id attribute".into(),
                            );
                        }
                        // Mixed content: text value and/or nested XML, kept as a tree.
                        let tree = self.cur.read_any()?;
                        el.attributes.push(MasterDataAttribute {
                            id,
                            value: tree.text,
                            elements: tree.children,
                        });
                    } else if unqualified && self.cur.local == "children" {
                        loop {
                            match self.cur.next_tok()? {
                                Tok::End => break,
                                Tok::Text => {}
                                Tok::Eof => return Err(self.cur.unexpected_eof()),
                                Tok::Start => {
                                    let t = self.plain_text()?;
                                    if !t.is_empty() {
                                        el.children.push(t);
                                    }
                                }
                            }
                        }
                    } else {
                        self.cur.skip_element()?;
                    }
                }
            }
        }
    }
}

/// One extension element of the header (either binding) added to `h`, with the typed views of
/// the GS1 US healthcare elements (transaction statement, guideline version); the findings
/// about it are returned for the reader to place.
pub(super) fn header_extension(
    h: &mut Header,
    el: ExtensionElement,
) -> Vec<(&'static Rule, String)> {
    let mut findings = Vec::new();
    if el.namespace == NS_GS1USHC {
        match el.local_name.as_str() {
            "dscsaTransactionStatement" => {
                let mut ts = TransactionStatement::default();
                if let Some(a) = el.child(NS_GS1USHC, "affirmTransactionStatement") {
                    ts.affirmed = values::parse_bool(&a.text);
                    match ts.affirmed {
                        None => findings.push((
                            &rules::BOOLEAN,
                            format!("affirmTransactionStatement `{}` is not a boolean", a.text),
                        )),
                        Some(false) => findings.push((
                            &rules::TRANSACTION_STATEMENT,
                            "the DSCSA transaction statement is present but not affirmed (affirmTransactionStatement = false)".into(),
                        )),
                        Some(true) => {}
                    }
                } else {
                    findings.push((
                        &rules::TRANSACTION_STATEMENT,
                        "dscsaTransactionStatement has no affirmTransactionStatement".into(),
                    ));
                }
                ts.legal_notice = el.child(NS_GS1USHC, "legalNotice").map(|n| n.text.clone());
                h.transaction_statement = Some(ts);
            }
            "guidelineVersion" => h.guideline_version = Some(el.text.clone()),
            _ => {}
        }
    }
    h.extensions.push(el);
    findings
}
