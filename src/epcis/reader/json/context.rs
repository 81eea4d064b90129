//! `@context` as far as EPCIS needs it: the prefixes that compact IRIs (`example:myField`) of
//! extension members and master data use. The GS1 EPCIS 2.0 context is known (never
//! fetched): its prefixes are always bound; a document adds its own in inline context objects
//! (of the document, or of one event or vocabulary element). A context given only by a URL
//! other than GS1's cannot be read (no network fetch): prefixes it would define stay unknown.

use super::lexer::{Kind, Value};

/// The prefixes of the GS1 EPCIS 2.0 context. `cbvmda` is bound to the namespace the XML
/// bindings use (`urn:epcglobal:cbv:mda`), so ILMD and master data hash and store alike in
/// both bindings.
const GS1_PREFIXES: &[(&str, &str)] = &[
    ("epcis", "https://ref.gs1.org/epcis/"),
    ("cbv", "https://ref.gs1.org/cbv/"),
    ("cbvmda", "urn:epcglobal:cbv:mda"),
    ("gs1", "https://gs1.org/voc/"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("dcterms", "http://purl.org/dc/terms/"),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("skos", "http://www.w3.org/2004/02/skos/core#"),
    ("sh", "http://www.w3.org/ns/shacl#"),
    ("schema", "http://schema.org/"),
];

/// An expanded member name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name {
    pub(crate) namespace: String,
    pub(crate) prefix: String,
    pub(crate) local: String,
}

/// Why a name could not be expanded.
pub(crate) struct UnknownPrefix(pub(crate) String);

/// The prefix bindings in scope: the document's, then those of the object being read.
#[derive(Default)]
pub(crate) struct Context {
    /// (prefix, namespace); later entries win.
    entries: Vec<(String, String)>,
}

impl Context {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Drops the bindings added after `len` (the end of an object's scope).
    pub(crate) fn truncate(&mut self, len: usize) {
        self.entries.truncate(len);
    }

    fn get(&self, prefix: &str) -> Option<&str> {
        if let Some((_, ns)) = self.entries.iter().rev().find(|(p, _)| p == prefix) {
            return Some(ns);
        }
        GS1_PREFIXES
            .iter()
            .find(|(p, _)| *p == prefix)
            .map(|(_, ns)| *ns)
    }

    /// Adds the bindings of an `@context` value (a URL, an object, or an array of those);
    /// returns what could not be used, for a warning.
    pub(crate) fn add(&mut self, v: &Value) -> Vec<String> {
        let mut ignored = Vec::new();
        match v {
            Value::Array(items, _) => {
                for i in items {
                    ignored.extend(self.add(i));
                }
            }
            Value::Scalar(s, _) if s.kind == Kind::String => {
                // A context URL: the GS1 one is known; others cannot be fetched.
                if !s.text.starts_with("https://ref.gs1.org/standards/epcis/")
                    && !s.text.starts_with("https://gs1.github.io/EPCIS/")
                {
                    ignored.push(format!("the context `{}` is not fetched", s.text));
                }
            }
            Value::Object(members, _) => {
                for (k, v) in members {
                    if k.starts_with('@') {
                        continue;
                    }
                    let ns = match v {
                        Value::Scalar(s, _) if s.kind == Kind::String => Some(s.text.as_str()),
                        Value::Object(m, _) => m.iter().find_map(|(k, v)| match v {
                            Value::Scalar(s, _) if k == "@id" && s.kind == Kind::String => {
                                Some(s.text.as_str())
                            }
                            _ => None,
                        }),
                        _ => None,
                    };
                    match ns {
                        // A term defined as a compact IRI of another prefix.
                        Some(ns) => {
                            let full = self.expand_iri(ns);
                            self.entries.push((k.clone(), full));
                        }
                        None => ignored.push(format!("the context entry `{k}` is not a prefix")),
                    }
                }
            }
            _ => ignored.push("an @context that is not a URL, an object or an array".into()),
        }
        ignored
    }

    fn expand_iri(&self, v: &str) -> String {
        if let Some((p, rest)) = v.split_once(':') {
            if !rest.starts_with("//") {
                if let Some(ns) = self.get(p) {
                    return format!("{ns}{rest}");
                }
            }
        }
        v.to_owned()
    }

    /// The namespace and local name of a member name: `prefix:local` with a bound prefix, an
    /// absolute IRI (split after its last `/`, `#` or `:`), a term bound in the context, or a
    /// plain name (no namespace).
    pub(crate) fn expand(&self, key: &str) -> Result<Name, UnknownPrefix> {
        if let Some((prefix, local)) = key.split_once(':') {
            if let Some(ns) = (!local.starts_with("//"))
                .then(|| self.get(prefix))
                .flatten()
            {
                return Ok(Name {
                    namespace: ns.to_owned(),
                    prefix: prefix.to_owned(),
                    local: local.to_owned(),
                });
            }
            if is_iri_scheme(prefix) {
                let cut = key.rfind(['/', '#']).filter(|&i| i + 1 < key.len());
                let cut = cut.or_else(|| key.rfind(':').filter(|&i| i + 1 < key.len()));
                if let Some(i) = cut {
                    return Ok(Name {
                        namespace: key[..=i].to_owned(),
                        prefix: String::new(),
                        local: key[i + 1..].to_owned(),
                    });
                }
            }
            return Err(UnknownPrefix(prefix.to_owned()));
        }
        if let Some((_, ns)) = self.entries.iter().rev().find(|(p, _)| p == key) {
            // A term mapped to a full IRI.
            let cut = ns.rfind(['/', '#', ':']).filter(|&i| i + 1 < ns.len());
            if let Some(i) = cut {
                return Ok(Name {
                    namespace: ns[..=i].to_owned(),
                    prefix: String::new(),
                    local: ns[i + 1..].to_owned(),
                });
            }
        }
        Ok(Name {
            namespace: String::new(),
            prefix: String::new(),
            local: key.to_owned(),
        })
    }
}

fn is_iri_scheme(p: &str) -> bool {
    matches!(p, "http" | "https" | "urn")
}

/// True for a member name that is a compact or absolute IRI (an extension member).
pub(crate) fn is_qualified(key: &str) -> bool {
    key.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epcis::reader::json::lexer::Lexer;

    fn context(json: &str) -> Context {
        let mut c = Context::default();
        let v = Lexer::new(json.as_bytes(), 16, 1000, 1 << 20)
            .value(1000)
            .unwrap();
        c.add(&v);
        c
    }

    #[test]
    fn compact_iris_expand_through_document_and_gs1_prefixes() {
        let c = context(
            r#"["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"example":"http://ns.example.com/epcis/"}]"#,
        );
        let n = c.expand("example:myField").ok().unwrap();
        assert_eq!(n.namespace, "http://ns.example.com/epcis/");
        assert_eq!(n.local, "myField");
        let n = c.expand("cbvmda:lotNumber").ok().unwrap();
        assert_eq!(n.namespace, "urn:epcglobal:cbv:mda");
        let n = c.expand("https://ns.example.com/x#field").ok().unwrap();
        assert_eq!(
            (n.namespace.as_str(), n.local.as_str()),
            ("https://ns.example.com/x#", "field")
        );
        assert!(c.expand("nope:field").is_err());
        assert_eq!(c.expand("plain").ok().unwrap().namespace, "");
    }

    #[test]
    fn inner_scopes_end_with_their_object() {
        let mut c = context(r#"{"a":"urn:one:"}"#);
        let len = c.len();
        let v = Lexer::new(br#"{"a":"urn:two:"}"#.as_slice(), 16, 1000, 1 << 20)
            .value(100)
            .unwrap();
        c.add(&v);
        assert_eq!(c.expand("a:x").ok().unwrap().namespace, "urn:two:");
        c.truncate(len);
        assert_eq!(c.expand("a:x").ok().unwrap().namespace, "urn:one:");
    }
}
