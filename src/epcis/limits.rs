//! Resource limits for the streaming reader. Every limit turns into a fatal
//! [`ReadError`](super::ReadError) with its own code when exceeded, so a hostile or broken
//! document cannot make the reader use unbounded memory or time.

/// Limits applied while reading one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Maximum bytes read from the input (after a UTF-8 BOM).
    pub max_bytes: u64,
    /// Maximum number of events in the document.
    pub max_events: u64,
    /// Maximum EPCs in one event, all EPC lists and parentID together.
    pub max_epcs_per_event: usize,
    /// Maximum element nesting depth (the root element is depth 1).
    pub max_depth: usize,
    /// Maximum length in bytes of one text value (also of one markup token).
    pub max_text_len: usize,
    /// Maximum number of elements inside one event, header or vocabulary (any kind).
    pub max_elements_per_item: usize,
    /// Maximum diagnostics kept between two `take_diagnostics` calls; further ones are counted
    /// and reported once, so a document full of errors cannot grow memory without bound.
    pub max_diagnostics: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 2 * 1024 * 1024 * 1024,
            max_events: 10_000_000,
            max_epcs_per_event: 1_000_000,
            max_depth: 64,
            max_text_len: 1024 * 1024,
            max_elements_per_item: 4_000_000,
            max_diagnostics: 10_000,
        }
    }
}
