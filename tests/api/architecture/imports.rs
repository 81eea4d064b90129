//! What each module of the crate refers to, read from its parsed source: every `use` tree
//! (groups, nesting, `as`, `self`, globs) and every path in code, macro arguments and attributes,
//! resolved through `crate::`, `self::`, `super::`, the module's imports and child modules, and
//! the imports a `use super::*` brings in.

use std::cell::RefCell;
use std::collections::HashMap;

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::visit::{self, Visit};

/// Where a reference points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A path inside this crate, from its root (`["store", "PgPool"]`).
    Crate(Vec<String>),
    /// Another crate, by its name (`diesel`).
    External(String),
}

/// One reference from a module to something outside it, where it is written.
#[derive(Debug)]
pub struct Reference {
    pub file: String,
    pub line: usize,
    /// The module the reference is written in (`["http", "verify"]`; `[]` is the crate root).
    pub module: Vec<String>,
    pub target: Target,
}

/// A path as written: its segments and whether it starts with `::`.
#[derive(Clone, Debug)]
struct Written {
    segments: Vec<String>,
    absolute: bool,
}

/// The names one module scope brings in: imports, child modules, and glob imports.
#[derive(Default, Debug)]
struct Scope {
    /// `use a::b as c` -> `c` => `a::b`, relative to this scope.
    names: HashMap<String, Written>,
    children: Vec<String>,
    globs: Vec<Written>,
}

struct Pending {
    file: String,
    line: usize,
    module: Vec<String>,
    path: Written,
    /// A `use` leaf always names something; a bare path of one segment may be a local.
    from_use: bool,
}

/// A name as written in a module: (module, name).
type NameIn = (Vec<String>, String);

/// The parsed crate: scopes of every module and the references still to resolve.
#[derive(Default)]
pub struct Sources {
    scopes: HashMap<Vec<String>, Scope>,
    pending: Vec<Pending>,
    /// Name under which the library is known to the binary (`src/main.rs`).
    library: Option<String>,
    /// What a name means in a module, once worked out (`None` while it is: a cycle).
    meanings: RefCell<HashMap<NameIn, Option<Target>>>,
}

/// `src/http/verify.rs` -> `["http", "verify"]`; `src/lib.rs` and `src/main.rs` -> `[]`.
pub fn module_of(file: &str) -> Vec<String> {
    let rel = file.strip_prefix("src/").unwrap_or(file);
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

impl Sources {
    /// `library`: the crate name the binary uses for the library (`dscsa_exchange`), so that
    /// `src/main.rs`'s paths into it resolve like the library's own.
    pub fn new(library: &str) -> Sources {
        Sources {
            library: Some(library.to_string()),
            ..Sources::default()
        }
    }

    /// Parses one file (`file` relative to the package, `src/…`).
    pub fn add(&mut self, file: &str, text: &str) -> Result<(), String> {
        let parsed = syn::parse_file(text).map_err(|e| {
            let at = e.span().start();
            format!("{file}:{}:{}: cannot parse: {e}", at.line, at.column + 1)
        })?;
        let module = if file == "src/main.rs" {
            // The binary is a crate of its own; it reaches the library by name, and counts
            // as an edge like `cli` (see `layer_of`).
            vec!["main".to_string()]
        } else {
            module_of(file)
        };
        self.module(file, module, &parsed.items);
        Ok(())
    }

    fn module(&mut self, file: &str, module: Vec<String>, items: &[syn::Item]) {
        let mut collector = Collector {
            file: file.to_string(),
            module: module.clone(),
            scope: Scope::default(),
            found: Vec::new(),
            inner: Vec::new(),
        };
        for item in items {
            collector.visit_item(item);
        }
        let Collector {
            scope,
            found,
            inner,
            ..
        } = collector;
        self.scopes.insert(module.clone(), scope);
        self.pending.extend(found);
        for (name, items) in inner {
            let mut child = module.clone();
            child.push(name);
            self.module(file, child, items);
        }
    }

    /// The modules `src/lib.rs` declares.
    pub fn top_modules(&self) -> Vec<String> {
        self.scopes
            .get(&Vec::new())
            .map(|s| s.children.clone())
            .unwrap_or_default()
    }

    /// Every reference, resolved.
    pub fn references(&self) -> Vec<Reference> {
        self.pending
            .iter()
            .filter_map(|p| {
                let target = self.resolve(&p.module, &p.path, p.from_use)?;
                Some(Reference {
                    file: p.file.clone(),
                    line: p.line,
                    module: p.module.clone(),
                    target,
                })
            })
            .collect()
    }

    fn resolve(&self, module: &[String], path: &Written, from_use: bool) -> Option<Target> {
        let (first, rest) = path.segments.split_first()?;
        if path.absolute {
            return Some(Target::External(first.clone()));
        }
        if module.first().map(String::as_str) == Some("main")
            && Some(first) == self.library.as_ref()
        {
            return Some(Target::Crate(rest.to_vec()));
        }
        match first.as_str() {
            "crate" => Some(Target::Crate(rest.to_vec())),
            "self" => Some(Target::Crate(join(module, rest))),
            "super" => {
                let ups = path.segments.iter().take_while(|s| *s == "super").count();
                let base = &module[..module.len().saturating_sub(ups)];
                Some(Target::Crate(join(base, &path.segments[ups..])))
            }
            "Self" => None,
            name => match self.lookup(module, name) {
                Some(Target::Crate(mut base)) => {
                    base.extend(rest.iter().cloned());
                    Some(Target::Crate(base))
                }
                Some(external) => Some(external),
                // A bare name nothing imports: a local item, a variable, or a prelude name.
                None if from_use || !rest.is_empty() => Some(Target::External(name.to_string())),
                None => None,
            },
        }
    }

    /// What `name` means in `module`: an import, a child module, or what a glob brings in.
    fn lookup(&self, module: &[String], name: &str) -> Option<Target> {
        let key = (module.to_vec(), name.to_string());
        if let Some(known) = self.meanings.borrow().get(&key) {
            return known.clone();
        }
        self.meanings.borrow_mut().insert(key.clone(), None);
        let found = self.meaning(module, name);
        self.meanings.borrow_mut().insert(key, found.clone());
        found
    }

    fn meaning(&self, module: &[String], name: &str) -> Option<Target> {
        let scope = self.scopes.get(module)?;
        if let Some(written) = scope.names.get(name) {
            // `use serde_json;` names the crate itself, not an import of the same name.
            if written.segments.len() == 1 && written.segments[0] == name && !written.absolute {
                return Some(Target::External(name.to_string()));
            }
            return self.resolve(module, written, true);
        }
        if scope.children.iter().any(|c| c == name) {
            return Some(Target::Crate(join(module, &[name.to_string()])));
        }
        for glob in &scope.globs {
            if let Some(Target::Crate(source)) = self.resolve(module, glob, true) {
                if source.as_slice() != module {
                    if let Some(found) = self.lookup(&source, name) {
                        return Some(found);
                    }
                }
            }
        }
        None
    }
}

fn join(base: &[String], rest: &[String]) -> Vec<String> {
    base.iter().chain(rest).cloned().collect()
}

/// Walks one module scope: inline child modules are set aside for a scope of their own.
struct Collector<'a> {
    file: String,
    module: Vec<String>,
    scope: Scope,
    found: Vec<Pending>,
    inner: Vec<(String, &'a [syn::Item])>,
}

impl Collector<'_> {
    fn push(&mut self, line: usize, path: Written, from_use: bool) {
        self.found.push(Pending {
            file: self.file.clone(),
            line,
            module: self.module.clone(),
            path,
            from_use,
        });
    }

    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>, absolute: bool) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix, absolute);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let (segments, name) = if n.ident == "self" {
                    (prefix.clone(), prefix.last().cloned())
                } else {
                    (
                        join(prefix, &[n.ident.to_string()]),
                        Some(n.ident.to_string()),
                    )
                };
                self.import(n.ident.span().start().line, segments, name, absolute);
            }
            syn::UseTree::Rename(r) => {
                let segments = if r.ident == "self" {
                    prefix.clone()
                } else {
                    join(prefix, &[r.ident.to_string()])
                };
                let name = (r.rename != "_").then(|| r.rename.to_string());
                self.import(r.ident.span().start().line, segments, name, absolute);
            }
            syn::UseTree::Glob(g) => {
                let written = Written {
                    segments: prefix.clone(),
                    absolute,
                };
                // Everything of the module may be used: the reference names `module::*`.
                let mut all = written.clone();
                all.segments.push("*".into());
                self.push(g.star_token.span.start().line, all, true);
                self.scope.globs.push(written);
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(t, prefix, absolute);
                }
            }
        }
    }

    fn import(&mut self, line: usize, segments: Vec<String>, name: Option<String>, absolute: bool) {
        let written = Written { segments, absolute };
        if let Some(name) = name {
            self.scope.names.insert(name, written.clone());
        }
        self.push(line, written, true);
    }

    /// Paths inside token streams the parser does not read as code (macro arguments,
    /// attribute arguments): every `a::b::c` run of identifiers.
    fn tokens(&mut self, stream: TokenStream) {
        let tokens: Vec<TokenTree> = stream.into_iter().collect();
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i] {
                TokenTree::Group(g) => {
                    self.tokens(g.stream());
                    i += 1;
                }
                TokenTree::Ident(first) => {
                    let absolute = i >= 2 && is_path_sep(&tokens[i - 2], &tokens[i - 1]);
                    let line = first.span().start().line;
                    let mut segments = vec![first.to_string()];
                    let mut j = i + 1;
                    while let (Some(a), Some(b), Some(TokenTree::Ident(next))) =
                        (tokens.get(j), tokens.get(j + 1), tokens.get(j + 2))
                    {
                        if !is_path_sep(a, b) {
                            break;
                        }
                        segments.push(next.to_string());
                        j += 3;
                    }
                    if segments.len() > 1 || absolute {
                        self.push(line, Written { segments, absolute }, false);
                    }
                    i = j;
                }
                TokenTree::Punct(_) | TokenTree::Literal(_) => i += 1,
            }
        }
    }
}

fn is_path_sep(a: &TokenTree, b: &TokenTree) -> bool {
    matches!((a, b), (TokenTree::Punct(a), TokenTree::Punct(b))
        if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':')
}

impl<'ast> Visit<'ast> for Collector<'ast> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        for attr in &m.attrs {
            self.visit_attribute(attr);
        }
        self.scope.children.push(m.ident.to_string());
        if let Some((_, items)) = &m.content {
            self.inner.push((m.ident.to_string(), items));
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        for attr in &u.attrs {
            self.visit_attribute(attr);
        }
        self.use_tree(&u.tree, &mut Vec::new(), u.leading_colon.is_some());
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(first) = p.segments.first() {
            let line = first.ident.span().start().line;
            let written = Written {
                segments,
                absolute: p.leading_colon.is_some(),
            };
            self.push(line, written, false);
        }
        // Generic arguments hold paths of their own.
        visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        visit::visit_macro(self, m);
        self.tokens(m.tokens.clone());
    }

    fn visit_attribute(&mut self, a: &'ast syn::Attribute) {
        visit::visit_attribute(self, a);
        if let syn::Meta::List(list) = &a.meta {
            self.tokens(list.tokens.clone());
        }
    }
}
