//! Namespace → prefix bindings of one JSON-LD scope (the document's `@context`, or one
//! object's): a namespace keeps the prefix it had in XML unless that prefix is taken or
//! reserved by the GS1 context, then it gets the first free `ext<n>`.

use crate::epcis::model::ExtensionElement;
use crate::epcis::write::is_cbvmda;

/// Terms of the GS1 context (protected there) and JSON-LD names an extension prefix must not
/// take.
const RESERVED: &[&str] = &[
    "epcis",
    "cbv",
    "cbvmda",
    "gs1",
    "owl",
    "xsd",
    "dcterms",
    "rdf",
    "rdfs",
    "sh",
    "skos",
    "schema",
    "id",
    "type",
    "set",
    "unset",
    "source",
    "destination",
    "value",
    "quantity",
];

/// Namespace → prefix bindings of one scope.
#[derive(Default)]
pub(super) struct Prefixes {
    /// (namespace, prefix) in the order first used.
    pub(super) map: Vec<(String, String)>,
}

impl Prefixes {
    pub(super) fn get(&self, ns: &str) -> Option<&str> {
        self.map
            .iter()
            .find(|(n, _)| n == ns)
            .map(|(_, p)| p.as_str())
    }

    fn taken(&self, prefix: &str) -> bool {
        self.map.iter().any(|(_, p)| p == prefix)
    }

    /// Binds `ns` (unless the GS1 context or `outer` already does).
    fn bind(&mut self, ns: &str, wanted: &str, outer: &Prefixes) {
        if ns.is_empty() || is_cbvmda(ns) || self.get(ns).is_some() || outer.get(ns).is_some() {
            return;
        }
        let ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                && p.as_bytes()[0].is_ascii_alphabetic()
                && !RESERVED.contains(&p)
                && !self.taken(p)
                && !outer.taken(p)
        };
        let prefix = if ok(wanted) {
            wanted.to_string()
        } else {
            (1..)
                .map(|i| format!("ext{i}"))
                .find(|p| ok(p))
                .expect("some ext<n> is free")
        };
        self.map.push((ns.to_string(), prefix));
    }

    pub(super) fn bind_tree(&mut self, el: &ExtensionElement, outer: &Prefixes) {
        self.bind(&el.namespace, &el.prefix, outer);
        for c in &el.children {
            self.bind_tree(c, outer);
        }
    }
}
