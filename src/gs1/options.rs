//! What a parse checks: every rule (the default), or the syntax alone.

/// Which checks the element-string, scan-data and Digital Link parsers make.
///
/// Both modes check each element's syntax (known AI, length, character set, the dictionary's
/// linters: check digits, dates, ...), exclusive AIs (`ex=`), repeated AIs (same value), and
/// the Digital Link structure (primary key, qualifier order, allowed query attributes).
/// [`ParseOptions::FULL`] also checks requisites (`req=`: a lot or serial needs a GTIN, AI 715
/// needs AI 01, ...); [`ParseOptions::SYNTAX_ONLY`] does not, like the GS1 Barcode Syntax
/// Engine's parser with requisite checking off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    requisites: bool,
}

impl ParseOptions {
    /// Every check (the default).
    pub const FULL: ParseOptions = ParseOptions { requisites: true };
    /// Syntax only: no requisite (`req=`) check.
    pub const SYNTAX_ONLY: ParseOptions = ParseOptions { requisites: false };

    /// Are AI requisites (`req=`) checked?
    pub fn checks_requisites(self) -> bool {
        self.requisites
    }
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions::FULL
    }
}
