//! One text value of an event, read and checked: non-empty, an identifier (strict for the
//! product fields, lenient elsewhere), a CBV term.

use std::io::BufRead;

use crate::epcis::cbv::{self, CbvTerm, Vocab};
use crate::epcis::diagnostics::rules;
use crate::epcis::ident;
use crate::epcis::model::Position;
use crate::epcis::reader::{ReadError, XmlReader};

impl<R: BufRead> XmlReader<R> {
    pub(super) fn text(&mut self, pos: Position, field: &str) -> Result<String, ReadError> {
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
    pub(super) fn value(
        &mut self,
        pos: Position,
        field: &str,
    ) -> Result<Option<String>, ReadError> {
        let t = self.text(pos, field)?;
        if t.is_empty() {
            self.diag(&rules::EMPTY_VALUE, pos, format!("`{field}` is empty"));
            return Ok(None);
        }
        Ok(Some(t))
    }

    pub(super) fn identifier(
        &mut self,
        pos: Position,
        field: &str,
    ) -> Result<Option<String>, ReadError> {
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
    pub(super) fn lenient_identifier(
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

    pub(super) fn identifier_error(
        &mut self,
        id: &str,
        field: &str,
        pos: Position,
        e: ident::IdentError,
    ) {
        let rule = if e.not_a_uri {
            &rules::NOT_URI
        } else {
            &rules::IDENTIFIER
        };
        self.diag(rule, pos, format!("{field} `{id}`: {}", e.message));
    }

    pub(super) fn cbv(&mut self, vocab: Vocab, text: &str, pos: Position) -> CbvTerm {
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
}
