//! Rust sources: the paths a file names, read with syn. Only what can name
//! another crate is kept: roots of `use` trees, `extern crate`, the first
//! segment of paths with at least two segments (`indexer::query::ready`),
//! also inside macro calls (`assert_eq!(schema::x(), …)`, by their tokens).
//! Comments and string literals are not tokens of the syntax tree, so text
//! in them never counts.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};
use serde::{Deserialize, Serialize};
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};

use crate::code::{Arg, CodeFacts, Site, keep_string};

/// How a path was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RefKind {
    Use,
    ExternCrate,
    Path,
}

/// A path naming something outside the file: its first two segments and
/// the line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ref {
    pub first: String,
    /// The second segment, when there is one (`schema` `store` for
    /// `schema::store::Store`); a facade crate's re-exports are looked up
    /// by it.
    pub second: Option<String>,
    pub line: u32,
    pub kind: RefKind,
}

/// What the analyzer keeps of one Rust file (cached by content hash).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RustFacts {
    /// Paths naming something outside the file, sorted, at most
    /// [`MAX_LINES_PER_REF`] lines for each (first, second) pair.
    pub refs: Vec<Ref>,
    /// Names a plain path may mean locally: modules declared in the file
    /// and names brought in by `use`. `foo::bar()` after `mod foo;` is not
    /// the crate `foo`.
    pub local: Vec<String>,
    /// Items defined at the top of the file (for a crate root: what the
    /// crate defines itself rather than re-exports).
    pub defined: Vec<String>,
    /// `pub use` at the top of the file: (name it is exported as, first
    /// segment of the source path).
    pub reexports: Vec<(String, String)>,
    /// `pub use x::…::*` at the top of the file: the first segments.
    pub globs: Vec<String>,
    /// Why the file did not parse, if it did not (line, message).
    pub error: Option<(u32, String)>,
}

/// Occurrences kept per (first, second) segment pair and file.
pub const MAX_LINES_PER_REF: usize = 3;

/// First segments that never name a crate of the repository.
const NOT_CRATES: &[&str] = &["crate", "self", "super", "Self", "std", "core", "alloc"];

/// Reads one file's paths, and its call sites, route attributes and SQL
/// or database-URL literals ([`CodeFacts`]). Never panics; a file that
/// does not parse has `error` set and nothing else.
pub fn facts(text: &str) -> (RustFacts, CodeFacts) {
    let file = match syn::parse_file(text) {
        Ok(f) => f,
        Err(e) => {
            let error = Some((e.span().start().line as u32, e.to_string()));
            drop(e);
            proc_macro2::extra::invalidate_current_thread_spans();
            return (
                RustFacts {
                    error,
                    ..RustFacts::default()
                },
                CodeFacts::default(),
            );
        }
    };
    let mut v = Collector::default();
    for item in &file.items {
        top_level(item, &mut v);
    }
    v.visit_file(&file);
    drop(file);
    // With `span-locations`, proc-macro2 keeps every parsed text in a
    // per-thread source map; lines are read, so free it (no span of this
    // file outlives this function).
    proc_macro2::extra::invalidate_current_thread_spans();
    v.finish()
}

#[derive(Default)]
struct Collector {
    code: CodeFacts,
    refs: Vec<Ref>,
    local: BTreeSet<String>,
    defined: BTreeSet<String>,
    reexports: BTreeSet<(String, String)>,
    globs: BTreeSet<String>,
}

impl Collector {
    fn add(&mut self, first: &syn::Ident, second: Option<String>, kind: RefKind) {
        let name = first.to_string();
        let name = name.strip_prefix("r#").unwrap_or(&name);
        if NOT_CRATES.contains(&name) || name.starts_with(|c: char| c.is_uppercase()) {
            return;
        }
        self.refs.push(Ref {
            first: name.to_owned(),
            second,
            line: first.span().start().line as u32,
            kind,
        });
    }

    fn finish(mut self) -> (RustFacts, CodeFacts) {
        // Plain paths through a local name are not crate references; `use`
        // roots are (2018 paths: a `use` root is a crate or a module, and a
        // module shadowing a dependency is an ambiguity error).
        let local = self.local;
        self.refs
            .retain(|r| r.kind != RefKind::Path || !local.contains(&r.first));
        self.refs.sort();
        self.refs.dedup();
        let mut kept = Vec::with_capacity(self.refs.len());
        let mut run = 0;
        for (i, r) in self.refs.iter().enumerate() {
            let same = i > 0 && {
                let p = &self.refs[i - 1];
                p.first == r.first && p.second == r.second
            };
            run = if same { run + 1 } else { 0 };
            if run < MAX_LINES_PER_REF {
                kept.push(r.clone());
            }
        }
        let facts = RustFacts {
            refs: kept,
            local: local.into_iter().collect(),
            defined: self.defined.into_iter().collect(),
            reexports: self.reexports.into_iter().collect(),
            globs: self.globs.into_iter().collect(),
            error: None,
        };
        (facts, self.code)
    }

    fn site(&mut self, decorator: bool, callee: String, args: Vec<Arg>, line: usize) {
        self.code.sites.push(Site {
            decorator,
            callee,
            args,
            line: line as u32,
            target: None,
            prefix: None,
        });
    }

    /// Route attributes (`#[get("/p")]`, `#[route("/p", method = "GET")]`)
    /// and ORM table names (`#[diesel(table_name = users)]`,
    /// `#[sea_orm(table_name = "users")]`).
    fn attrs(&mut self, attrs: &[syn::Attribute]) {
        for a in attrs {
            let Some(name) = a.path().segments.last().map(|s| s.ident.to_string()) else {
                continue;
            };
            let line = a.pound_token.span.start().line;
            if matches!(
                name.as_str(),
                "get" | "post" | "put" | "delete" | "patch" | "head" | "route"
            ) {
                let args = a
                    .parse_args_with(Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
                    .map(|list| list.iter().take(4).map(arg).collect())
                    .unwrap_or_default();
                self.site(true, name, args, line);
            } else if let syn::Meta::List(list) = &a.meta {
                let tokens: Vec<TokenTree> = list.tokens.clone().into_iter().collect();
                for w in tokens.windows(3) {
                    if let (TokenTree::Ident(k), TokenTree::Punct(p)) = (&w[0], &w[1])
                        && k == "table_name"
                        && p.as_char() == '='
                    {
                        let t = match &w[2] {
                            TokenTree::Ident(i) => Some(i.to_string()),
                            TokenTree::Literal(l) => lit_str(l),
                            _ => None,
                        };
                        if let Some(t) = t {
                            self.code.tables.push((t, line as u32));
                        }
                    }
                }
            }
        }
    }

    /// The roots of a `use` tree, and the names it brings in.
    fn use_tree(&mut self, tree: &syn::UseTree, root: bool) {
        match tree {
            syn::UseTree::Path(p) => {
                if root {
                    let second = match &*p.tree {
                        syn::UseTree::Path(q) => Some(q.ident.to_string()),
                        syn::UseTree::Name(n) => Some(n.ident.to_string()),
                        syn::UseTree::Rename(r) => Some(r.ident.to_string()),
                        _ => None,
                    };
                    self.add(&p.ident, second, RefKind::Use);
                }
                self.use_tree(&p.tree, false);
            }
            syn::UseTree::Name(n) => {
                if root {
                    self.add(&n.ident, None, RefKind::Use);
                }
                self.local.insert(n.ident.to_string());
            }
            syn::UseTree::Rename(r) => {
                if root {
                    self.add(&r.ident, None, RefKind::Use);
                }
                self.local.insert(r.rename.to_string());
            }
            syn::UseTree::Glob(_) => {}
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(t, root);
                }
            }
        }
    }

    /// `ident :: ident` sequences in a macro call's tokens.
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, t) in trees.iter().enumerate() {
            match t {
                TokenTree::Group(g) => self.tokens(g.stream()),
                TokenTree::Literal(l) => {
                    if let Some(v) = lit_str(l) {
                        keep_string(&mut self.code.strings, v, l.span().start().line as u32);
                    }
                }
                TokenTree::Ident(id) => {
                    let colons = |j: usize| {
                        matches!(trees.get(j), Some(TokenTree::Punct(p)) if p.as_char() == ':')
                            && matches!(trees.get(j + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':')
                    };
                    // `b` in `a::b` or `T<U>::b` continues a path; in
                    // `::b` it starts one.
                    let after_path = i >= 3
                        && colons(i - 2)
                        && match &trees[i - 3] {
                            TokenTree::Ident(_) => true,
                            TokenTree::Punct(p) => p.as_char() == '>',
                            _ => false,
                        };
                    // `$name::x` in a `macro_rules!` body is a metavariable.
                    let metavar = i >= 1
                        && matches!(&trees[i - 1], TokenTree::Punct(p) if p.as_char() == '$');
                    if !after_path
                        && !metavar
                        && colons(i + 1)
                        && let Some(TokenTree::Ident(second)) = trees.get(i + 3)
                    {
                        self.add(id, Some(second.to_string()), RefKind::Path);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Records what a top-level item defines or re-exports.
fn top_level(item: &syn::Item, v: &mut Collector) {
    let name = match item {
        syn::Item::Const(i) => Some(&i.ident),
        syn::Item::Enum(i) => Some(&i.ident),
        syn::Item::Fn(i) => Some(&i.sig.ident),
        syn::Item::Mod(i) => Some(&i.ident),
        syn::Item::Static(i) => Some(&i.ident),
        syn::Item::Struct(i) => Some(&i.ident),
        syn::Item::Trait(i) => Some(&i.ident),
        syn::Item::Type(i) => Some(&i.ident),
        syn::Item::Union(i) => Some(&i.ident),
        syn::Item::Macro(i) => i.ident.as_ref(),
        syn::Item::Use(u) if matches!(u.vis, syn::Visibility::Public(_)) => {
            reexports(&u.tree, None, v);
            None
        }
        _ => None,
    };
    if let Some(n) = name {
        v.defined.insert(n.to_string());
    }
}

fn reexports(tree: &syn::UseTree, root: Option<&str>, v: &mut Collector) {
    match tree {
        syn::UseTree::Path(p) => {
            let ident = p.ident.to_string();
            reexports(&p.tree, Some(root.unwrap_or(&ident)), v);
        }
        syn::UseTree::Name(n) => {
            if let Some(r) = root {
                v.reexports.insert((n.ident.to_string(), r.to_owned()));
            }
        }
        syn::UseTree::Rename(r) => {
            if let Some(root) = root {
                v.reexports.insert((r.rename.to_string(), root.to_owned()));
            }
        }
        syn::UseTree::Glob(_) => {
            if let Some(r) = root {
                v.globs.insert(r.to_owned());
            }
        }
        syn::UseTree::Group(g) => {
            for t in &g.items {
                reexports(t, root, v);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_use(&mut self, i: &'ast syn::ItemUse) {
        self.use_tree(&i.tree, true);
    }

    fn visit_item_extern_crate(&mut self, i: &'ast syn::ItemExternCrate) {
        self.add(&i.ident, None, RefKind::ExternCrate);
        if let Some((_, rename)) = &i.rename {
            self.local.insert(rename.to_string());
        }
    }

    fn visit_item_mod(&mut self, i: &'ast syn::ItemMod) {
        self.local.insert(i.ident.to_string());
        visit::visit_item_mod(self, i);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if p.segments.len() >= 2 {
            let second = p.segments.get(1).map(|s| s.ident.to_string());
            if let Some(first) = p.segments.first() {
                self.add(&first.ident, second, RefKind::Path);
            }
        }
        visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // diesel `table! { users (id) { … } }`.
        if m.path.segments.last().is_some_and(|s| s.ident == "table")
            && let Some(TokenTree::Ident(t)) = m.tokens.clone().into_iter().next()
        {
            self.code
                .tables
                .push((t.to_string(), t.span().start().line as u32));
        }
        self.tokens(m.tokens.clone());
        visit::visit_macro(self, m);
    }

    fn visit_lit_str(&mut self, l: &'ast syn::LitStr) {
        keep_string(
            &mut self.code.strings,
            l.value(),
            l.span().start().line as u32,
        );
    }

    fn visit_expr_method_call(&mut self, c: &'ast syn::ExprMethodCall) {
        let callee = format!("{}.{}", text(&c.receiver), c.method);
        let args = c.args.iter().take(4).map(arg).collect();
        self.site(false, callee, args, c.method.span().start().line);
        visit::visit_expr_method_call(self, c);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let syn::Expr::Path(p) = &*c.func {
            let args = c.args.iter().take(4).map(arg).collect();
            let line = p
                .path
                .segments
                .last()
                .map_or(0, |s| s.ident.span().start().line);
            self.site(false, path_text(&p.path), args, line);
        }
        visit::visit_expr_call(self, c);
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.attrs(&f.attrs);
        visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.attrs(&f.attrs);
        visit::visit_impl_item_fn(self, f);
    }

    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        self.attrs(&s.attrs);
        visit::visit_item_struct(self, s);
    }
}

/// The value of a string literal token, if it is one.
fn lit_str(l: &proc_macro2::Literal) -> Option<String> {
    let s = l.to_string();
    if !(s.starts_with('"') || s.starts_with('r')) {
        return None;
    }
    syn::parse_str::<syn::LitStr>(&s).ok().map(|v| v.value())
}

fn path_text(p: &syn::Path) -> String {
    p.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// A receiver or an argument as short text: paths, fields and calls,
/// `()` for arguments (`client.get().uri`, `get().post()`).
fn text(e: &syn::Expr) -> String {
    let t = match e {
        syn::Expr::Path(p) => path_text(&p.path),
        syn::Expr::Field(f) => match &f.member {
            syn::Member::Named(n) => format!("{}.{n}", text(&f.base)),
            syn::Member::Unnamed(i) => format!("{}.{}", text(&f.base), i.index),
        },
        syn::Expr::MethodCall(m) => format!("{}.{}()", text(&m.receiver), m.method),
        syn::Expr::Call(c) => format!("{}()", text(&c.func)),
        syn::Expr::Reference(r) => text(&r.expr),
        syn::Expr::Paren(p) => text(&p.expr),
        syn::Expr::Await(a) => text(&a.base),
        syn::Expr::Try(t) => text(&t.expr),
        _ => "_".to_owned(),
    };
    if t.len() > 160 {
        let mut at = t.len() - 160;
        while !t.is_char_boundary(at) {
            at += 1;
        }
        return t[at..].to_owned();
    }
    t
}

/// An argument: a literal or `format!` template, a named argument
/// (`method = "GET"` in an attribute), or short text.
fn arg(e: &syn::Expr) -> Arg {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Arg::Str(s.value()),
        syn::Expr::Reference(r) => arg(&r.expr),
        syn::Expr::Paren(p) => arg(&p.expr),
        syn::Expr::Assign(a) => Arg::Named(text(&a.left), Box::new(arg(&a.right))),
        syn::Expr::Macro(m) if m.mac.path.is_ident("format") => {
            match m.mac.tokens.clone().into_iter().next() {
                Some(TokenTree::Literal(l)) => match lit_str(&l) {
                    Some(f) => Arg::Str(format_holes(&f)),
                    None => Arg::Other("format!".into()),
                },
                _ => Arg::Other("format!".into()),
            }
        }
        e => Arg::Other(text(e)),
    }
}

/// `format!` placeholders (`{}`, `{base}`, `{:?}`) → `{}`; `{{` → `{`.
fn format_holes(f: &str) -> String {
    let mut out = String::with_capacity(f.len());
    let mut chars = f.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                }
                out.push_str("{}");
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_and_traps() {
        let (f, _) = facts(
            r#"//! use fake::x;
use schema::{store::Store, Item};
use crate::local;
extern crate alloc_crate as ac;
mod graph;
/// `indexer::query::ready()` in a doc comment
fn f() {
    let s = "use strings::no;";
    indexer::query::ready();
    graph::build();
    assert_eq!(other::x(), 1, "{}", "not::this");
    println!("{:?}", ::absolute::y(), $meta::z, a::b::c);
}
pub use core_lib::Thing;
pub use deep::*;
"#,
        );
        let got: Vec<_> = f
            .refs
            .iter()
            .map(|r| (r.first.as_str(), r.line, r.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("a", 12, RefKind::Path),
                ("absolute", 12, RefKind::Path),
                ("alloc_crate", 4, RefKind::ExternCrate),
                ("core_lib", 14, RefKind::Use),
                ("deep", 15, RefKind::Use),
                ("indexer", 9, RefKind::Path),
                ("other", 11, RefKind::Path),
                ("schema", 2, RefKind::Use),
            ]
        );
        assert_eq!(f.reexports, [("Thing".to_owned(), "core_lib".to_owned())]);
        assert_eq!(f.globs, ["deep"]);
        assert_eq!(f.defined, ["f", "graph"]);
    }

    #[test]
    fn routes_calls_sql() {
        let (_, c) = facts(
            r#"#[get("/users/{id}")]
async fn user() {}
fn app() -> Router {
    Router::new().route("/api/orders/:id", get(show).post(create))
}
async fn call(client: &reqwest::Client) {
    client.get(format!("{base}/api/invoices/{}", id)).send().await;
    sqlx::query!("SELECT id FROM orders WHERE id = $1", 1);
    let url = "postgres://db/shop";
    AuthClient::connect(url).await;
}
diesel::table! { carts (id) { id -> Int4, } }
"#,
        );
        let r: Vec<_> = crate::api::routes(&c)
            .into_iter()
            .map(|e| (e.method, e.path))
            .collect();
        assert_eq!(
            r,
            [
                (Some("GET".into()), "/api/orders/{}".into()),
                (Some("GET".into()), "/users/{}".into()),
                (Some("POST".into()), "/api/orders/{}".into()),
            ]
        );
        let calls: Vec<_> = crate::api::calls(&c).into_iter().map(|e| e.path).collect();
        assert_eq!(calls, ["/api/invoices/{}"]);
        assert_eq!(crate::api::grpc(&c)[0].service, "Auth");
        assert!(
            c.strings
                .iter()
                .any(|(s, l)| s.starts_with("SELECT") && *l == 8),
            "{:?}",
            c.strings
        );
        assert!(c.strings.iter().any(|(s, _)| s == "postgres://db/shop"));
        assert_eq!(c.tables, [("carts".to_owned(), 12)]);
    }

    #[test]
    fn broken_file() {
        let (f, _) = facts("fn x( {");
        assert!(f.error.is_some());
        assert!(f.refs.is_empty());
    }
}
