//! What a source file says that is not a Rust path: imports in Python,
//! JavaScript, TypeScript, Go and Java (read with tree-sitter), and, in
//! every language including Rust, the raw material of the
//! language-independent links — call sites and decorators (HTTP routes and
//! clients, gRPC stubs, see [`crate::api`]), SQL and connection strings
//! (see [`crate::sql`]), `.proto` services.
//!
//! Extraction keeps facts, not conclusions: a call site is its callee as
//! written and its first arguments as *templates* (string literals with
//! every interpolated or concatenated part replaced by `{}`), so that the
//! rules that turn them into routes and calls can change without a new
//! grammar walk, and the per-file cache stays small. Text in comments is
//! never a node of interest, and a string is only ever an argument or a
//! literal, never an import.

use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Parser};

/// A language read with tree-sitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    Java,
}

impl Lang {
    /// By file extension; `None` for anything else.
    pub fn of(path: &str) -> Option<Lang> {
        let ext = path.rsplit_once('.')?.1;
        Some(match ext {
            "py" | "pyi" => Lang::Python,
            "js" | "mjs" | "cjs" | "jsx" => Lang::JavaScript,
            "ts" | "mts" | "cts" => Lang::TypeScript,
            "tsx" => Lang::Tsx,
            "go" => Lang::Go,
            "java" => Lang::Java,
            _ => return None,
        })
    }

    fn grammar(self) -> tree_sitter::Language {
        match self {
            Lang::Python => tree_sitter_python::LANGUAGE.into(),
            Lang::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Lang::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Lang::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Lang::Go => tree_sitter_go::LANGUAGE.into(),
            Lang::Java => tree_sitter_java::LANGUAGE.into(),
        }
    }

    fn is_js(self) -> bool {
        matches!(self, Lang::JavaScript | Lang::TypeScript | Lang::Tsx)
    }
}

/// Facts of one file that [`crate::api`], [`crate::sql`] and the import
/// resolution of the ecosystems work from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CodeFacts {
    pub imports: Vec<Import>,
    /// Java: the `package` declaration.
    pub package: Option<String>,
    /// Call sites and decorators as read; [`derive`] turns them into
    /// `routes`, `calls` and `grpc` and empties this list (the cache keeps
    /// the conclusions, not the raw material).
    pub sites: Vec<Site>,
    /// HTTP routes the file declares ([`crate::api::routes`]).
    pub routes: Vec<crate::api::Endpoint>,
    /// HTTP calls the file makes ([`crate::api::calls`]).
    pub calls: Vec<crate::api::Endpoint>,
    /// gRPC servers and clients ([`crate::api::grpc`]).
    pub grpc: Vec<crate::api::Grpc>,
    /// String literals that look like SQL or a database URL (templates);
    /// after [`derive`], the database URLs only.
    pub strings: Vec<(String, u32)>,
    /// Tables an ORM declaration names (`__tablename__`, `db_table`,
    /// `TableName()`), with the line; after [`derive`], also those the
    /// SQL literals touch.
    pub tables: Vec<(String, u32)>,
    /// `.proto`: the services declared.
    pub services: Vec<(String, u32)>,
    /// The first syntax error, when the grammar had to recover.
    pub error: Option<(u32, String)>,
}

/// An import as written: a module specifier (`./x`, `@acme/ui`,
/// `billing.api`, `github.com/acme/shop/auth`, `com.acme.auth.Client`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Import {
    pub spec: String,
    /// Python `from m import a, b`: `a`, `b` (each may be a submodule).
    pub names: Vec<String>,
    pub line: u32,
    /// TypeScript `import type` / `export type … from`.
    pub type_only: bool,
}

/// A call or a decorator/annotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub decorator: bool,
    /// The callee as written, without whitespace (`app.get`,
    /// `requests.post`, `webClient.get().uri`, `GetMapping`).
    pub callee: String,
    pub args: Vec<Arg>,
    pub line: u32,
    /// The variable the call's result is assigned to (`router` in
    /// `router = APIRouter(prefix="/api")`).
    pub target: Option<String>,
    /// Java: the path of the enclosing class's `@RequestMapping`.
    pub prefix: Option<String>,
}

/// An argument: a string template, a named argument, or anything else (as
/// text, shortened).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Arg {
    Str(String),
    Named(String, Box<Arg>),
    Other(String),
}

impl Arg {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Arg::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text of an argument whatever its form.
    pub fn text(&self) -> &str {
        match self {
            Arg::Str(s) | Arg::Other(s) => s,
            Arg::Named(_, v) => v.text(),
        }
    }
}

/// Arguments kept per site.
const MAX_ARGS: usize = 4;
/// Longest callee or `Other` text kept.
const MAX_TEXT: usize = 160;

thread_local! {
    static PARSERS: std::cell::RefCell<Vec<(Lang, Parser)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Reads one file. Never panics; a file the grammar had to recover from
/// keeps what was read and says where the first error is.
pub fn facts(lang: Lang, text: &str) -> CodeFacts {
    let tree = PARSERS.with(|p| {
        let mut parsers = p.borrow_mut();
        let i = match parsers.iter().position(|(l, _)| *l == lang) {
            Some(i) => i,
            None => {
                let mut parser = Parser::new();
                parser
                    .set_language(&lang.grammar())
                    .expect("grammars are built for this tree-sitter");
                parsers.push((lang, parser));
                parsers.len() - 1
            }
        };
        parsers[i].1.parse(text, None)
    });
    let Some(tree) = tree else {
        return CodeFacts {
            error: Some((1, "not parsed".into())),
            ..CodeFacts::default()
        };
    };
    let mut w = Walker {
        lang,
        src: text.as_bytes(),
        out: CodeFacts::default(),
        prefix: Vec::new(),
        function: Vec::new(),
    };
    let root = tree.root_node();
    if root.has_error() {
        w.out.error =
            first_error(root).map(|n| (line(n), "syntax error; read what could be".into()));
    }
    w.walk(root);
    w.out
}

fn first_error(n: Node) -> Option<Node> {
    if n.is_error() || n.is_missing() {
        return Some(n);
    }
    let mut c = n.walk();
    for child in n.children(&mut c) {
        if child.has_error()
            && let Some(e) = first_error(child)
        {
            return Some(e);
        }
    }
    None
}

fn line(n: Node) -> u32 {
    n.start_position().row as u32 + 1
}

struct Walker<'s> {
    lang: Lang,
    src: &'s [u8],
    out: CodeFacts,
    /// Java: `@RequestMapping` paths of the enclosing classes.
    prefix: Vec<Option<String>>,
    /// Names of the enclosing functions (Go `TableName`).
    function: Vec<String>,
}

impl<'s> Walker<'s> {
    fn text(&self, n: Node) -> &'s str {
        std::str::from_utf8(&self.src[n.byte_range()]).unwrap_or("")
    }

    /// Depth-first, with an explicit stack: generated or minified files
    /// nest deeper than a thread's stack would allow.
    fn walk(&mut self, root: Node) {
        enum Step<'t> {
            Enter(Node<'t>),
            Leave(Node<'t>),
        }
        let mut stack = vec![Step::Enter(root)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Leave(n) => self.leave(n),
                Step::Enter(n) => {
                    if !self.enter(n) {
                        continue;
                    }
                    stack.push(Step::Leave(n));
                    let mut c = n.walk();
                    let children: Vec<Node> = n.named_children(&mut c).collect();
                    for child in children.into_iter().rev() {
                        stack.push(Step::Enter(child));
                    }
                }
            }
        }
    }

    /// Handles a node; returns whether to visit its children.
    fn enter(&mut self, n: Node) -> bool {
        let kind = n.kind();
        match (self.lang, kind) {
            (_, "comment" | "line_comment" | "block_comment") => return false,
            // Imports.
            (l, "import_statement" | "export_statement") if l.is_js() => {
                if let Some(src) = n.child_by_field_name("source")
                    && let Some(spec) = self.template(src)
                {
                    let type_only = has_token(n, "type");
                    self.import(spec, Vec::new(), line(n), type_only);
                }
                return kind == "export_statement";
            }
            (Lang::Python, "import_statement") => {
                let mut c = n.walk();
                for name in n.children_by_field_name("name", &mut c) {
                    let dotted = match name.kind() {
                        "aliased_import" => name.child_by_field_name("name"),
                        _ => Some(name),
                    };
                    if let Some(d) = dotted {
                        self.import(self.text(d).to_owned(), Vec::new(), line(n), false);
                    }
                }
                return false;
            }
            (Lang::Python, "import_from_statement") => {
                if let Some(m) = n.child_by_field_name("module_name") {
                    let spec: String = self.text(m).split_whitespace().collect();
                    let mut c = n.walk();
                    let names = n
                        .children_by_field_name("name", &mut c)
                        .filter_map(|x| match x.kind() {
                            "aliased_import" => x.child_by_field_name("name"),
                            _ => Some(x),
                        })
                        .map(|x| self.text(x).to_owned())
                        .collect();
                    self.import(spec, names, line(n), false);
                }
                return false;
            }
            (Lang::Go, "import_spec") => {
                if let Some(p) = n.child_by_field_name("path")
                    && let Some(spec) = self.template(p)
                {
                    self.import(spec, Vec::new(), line(n), false);
                }
                return false;
            }
            (Lang::Java, "import_declaration") => {
                let mut c = n.walk();
                let mut spec = String::new();
                for child in n.named_children(&mut c) {
                    match child.kind() {
                        "scoped_identifier" | "identifier" => spec = self.text(child).to_owned(),
                        "asterisk" => spec.push_str(".*"),
                        _ => {}
                    }
                }
                if !spec.is_empty() {
                    self.import(spec, Vec::new(), line(n), false);
                }
                return false;
            }
            (Lang::Java, "package_declaration") => {
                let mut c = n.walk();
                if let Some(id) = n
                    .named_children(&mut c)
                    .find(|x| matches!(x.kind(), "scoped_identifier" | "identifier"))
                {
                    self.out.package = Some(self.text(id).to_owned());
                }
                return false;
            }
            // Calls.
            (l, "call_expression") if l.is_js() => {
                let f = n.child_by_field_name("function");
                let args = n.child_by_field_name("arguments");
                if let (Some(f), Some(args)) = (f, args) {
                    let callee = self.callee(f);
                    // `require('x')`, `import('x')`.
                    if (callee == "require" || callee == "import")
                        && let Some(first) = self.args(args).into_iter().next()
                        && let Arg::Str(spec) = first
                        && !spec.contains("{}")
                    {
                        self.import(spec, Vec::new(), line(n), false);
                    } else {
                        self.site(false, callee, args, n);
                    }
                }
            }
            (Lang::Python, "call") | (Lang::Go, "call_expression") => {
                if let (Some(f), Some(args)) = (
                    n.child_by_field_name("function"),
                    n.child_by_field_name("arguments"),
                ) {
                    let callee = self.callee(f);
                    self.site(false, callee, args, n);
                }
            }
            (Lang::Java, "method_invocation") => {
                if let (Some(name), Some(args)) = (
                    n.child_by_field_name("name"),
                    n.child_by_field_name("arguments"),
                ) {
                    let callee = match n.child_by_field_name("object") {
                        Some(o) => format!("{}.{}", self.callee(o), self.text(name)),
                        None => self.text(name).to_owned(),
                    };
                    self.site(false, callee, args, n);
                }
            }
            (Lang::Java, "object_creation_expression") => {
                if let (Some(t), Some(args)) = (
                    n.child_by_field_name("type"),
                    n.child_by_field_name("arguments"),
                ) {
                    let callee = format!("new {}", self.callee(t));
                    self.site(false, callee, args, n);
                }
            }
            // Decorators and annotations.
            (Lang::Python, "decorator")
            | (Lang::JavaScript | Lang::TypeScript | Lang::Tsx, "decorator") => {
                let mut c = n.walk();
                if let Some(e) = n.named_children(&mut c).next() {
                    if matches!(e.kind(), "call" | "call_expression") {
                        if let (Some(f), Some(args)) = (
                            e.child_by_field_name("function"),
                            e.child_by_field_name("arguments"),
                        ) {
                            let callee = self.callee(f);
                            self.site(true, callee, args, n);
                        }
                    } else {
                        let callee = self.callee(e);
                        self.push_site(true, callee, Vec::new(), n);
                    }
                }
                return false;
            }
            (Lang::Java, "annotation" | "marker_annotation") => {
                if let Some(name) = n.child_by_field_name("name") {
                    let callee = self.text(name).to_owned();
                    // A class's own `@RequestMapping` is the prefix of its
                    // methods' routes (`class_mapping`), not a route.
                    let on_class = n
                        .parent()
                        .and_then(|m| m.parent())
                        .is_some_and(|c| c.kind() == "class_declaration");
                    if on_class && callee.ends_with("RequestMapping") {
                        return false;
                    }
                    match n.child_by_field_name("arguments") {
                        Some(args) => self.site(true, callee, args, n),
                        None => self.push_site(true, callee, Vec::new(), n),
                    }
                }
                return false;
            }
            (Lang::Java, "class_declaration") => {
                self.prefix.push(self.class_mapping(n));
            }
            (Lang::Java, "superclass") => {
                // `extends AuthGrpc.AuthImplBase`: a gRPC server, by name.
                let t: String = self.text(n).split_whitespace().collect();
                let t = t.strip_prefix("extends").unwrap_or(&t).to_owned();
                self.push_site(false, format!("extends {t}"), Vec::new(), n);
                return false;
            }
            // ORM table declarations.
            (Lang::Python, "assignment") => {
                if let (Some(l), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                ) && matches!(self.text(l), "__tablename__" | "db_table")
                    && let Some(t) = self.template(r)
                    && !t.contains("{}")
                {
                    self.out.tables.push((t, line(n)));
                }
            }
            (Lang::Go, "method_declaration" | "function_declaration") => {
                let name = n
                    .child_by_field_name("name")
                    .map_or("", |x| self.text(x))
                    .to_owned();
                self.function.push(name);
            }
            (Lang::Go, "return_statement")
                if self.function.last().is_some_and(|f| f == "TableName") =>
            {
                let mut c = n.walk();
                let first = n.named_children(&mut c).next();
                let first = first.and_then(|e| {
                    if e.kind() == "expression_list" {
                        let mut c = e.walk();
                        e.named_children(&mut c).next()
                    } else {
                        Some(e)
                    }
                });
                if let Some(e) = first
                    && let Some(t) = self.template(e)
                    && !t.contains("{}")
                {
                    self.out.tables.push((t, line(n)));
                }
            }
            _ => {}
        }
        if is_string(self.lang, kind) {
            if let Some(t) = self.template(n) {
                keep_string(&mut self.out.strings, t, line(n));
            }
            return false;
        }
        true
    }

    fn leave(&mut self, n: Node) {
        match (self.lang, n.kind()) {
            (Lang::Java, "class_declaration") => {
                self.prefix.pop();
            }
            (Lang::Go, "method_declaration" | "function_declaration") => {
                self.function.pop();
            }
            _ => {}
        }
    }

    fn import(&mut self, spec: String, names: Vec<String>, line: u32, type_only: bool) {
        if !spec.is_empty() {
            self.out.imports.push(Import {
                spec,
                names,
                line,
                type_only,
            });
        }
    }

    /// A callee's text without whitespace; long chains keep their end.
    fn callee(&self, f: Node) -> String {
        let t: String = self.text(f).split_whitespace().collect();
        shorten_start(t)
    }

    fn site(&mut self, decorator: bool, callee: String, args: Node, at: Node) {
        let args = self.args(args);
        self.push_site(decorator, callee, args, at);
    }

    fn push_site(&mut self, decorator: bool, callee: String, args: Vec<Arg>, at: Node) {
        let target = self.assigned_to(at);
        let prefix = if self.lang == Lang::Java && decorator {
            self.prefix.last().cloned().flatten()
        } else {
            None
        };
        self.out.sites.push(Site {
            decorator,
            callee,
            args,
            line: line(at),
            target,
            prefix,
        });
    }

    /// The variable a call's value is assigned to, if it is.
    fn assigned_to(&self, n: Node) -> Option<String> {
        let p = n.parent()?;
        let left = match (self.lang, p.kind()) {
            (Lang::Python, "assignment") => p.child_by_field_name("left")?,
            (l, "variable_declarator") if l.is_js() => p.child_by_field_name("name")?,
            (Lang::Java, "variable_declarator") => p.child_by_field_name("name")?,
            (Lang::Go, "expression_list") => {
                let q = p.parent()?;
                if !matches!(q.kind(), "short_var_declaration" | "assignment_statement") {
                    return None;
                }
                let l = q.child_by_field_name("left")?;
                let mut c = l.walk();
                l.named_children(&mut c).next()?
            }
            _ => return None,
        };
        let t = self.text(left);
        (t.len() <= 64
            && t.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.'))
        .then(|| t.to_owned())
    }

    fn args(&self, list: Node) -> Vec<Arg> {
        let mut out = Vec::new();
        let mut c = list.walk();
        // A JS tagged template is called with the template itself.
        if list.kind() == "template_string" {
            if let Some(t) = self.template(list) {
                out.push(Arg::Str(t));
            }
            return out;
        }
        for a in list.named_children(&mut c) {
            if out.len() == MAX_ARGS {
                break;
            }
            if matches!(a.kind(), "comment" | "line_comment" | "block_comment") {
                continue;
            }
            out.push(self.arg(a));
        }
        out
    }

    fn arg(&self, a: Node) -> Arg {
        match a.kind() {
            "keyword_argument" | "element_value_pair" => {
                let name = a
                    .child_by_field_name("name")
                    .or_else(|| a.child_by_field_name("key"))
                    .map_or("", |n| self.text(n));
                let value = a
                    .child_by_field_name("value")
                    .map_or(Arg::Other(String::new()), |v| self.arg(v));
                Arg::Named(name.to_owned(), Box::new(value))
            }
            // `{"/a", "/b"}` in an annotation, `["GET"]` in Python: the
            // first element.
            "element_value_array_initializer" | "list" | "array" => {
                let mut c = a.walk();
                let items: Vec<Node> = a.named_children(&mut c).collect();
                match items.as_slice() {
                    [one] => self.arg(*one),
                    _ => Arg::Other(shorten_end(self.text(a).split_whitespace().collect())),
                }
            }
            _ => match self.template(a) {
                Some(t) => Arg::Str(t),
                None => {
                    let t: String = self
                        .text(a)
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ");
                    Arg::Other(shorten_end(t))
                }
            },
        }
    }

    /// A string-valued expression as a template: literal text, with every
    /// part computed at run time as `{}`; `None` when no part is literal.
    fn template(&self, n: Node) -> Option<String> {
        let kind = n.kind();
        if is_string(self.lang, kind) {
            return Some(self.string(n));
        }
        match kind {
            "parenthesized_expression" => {
                let mut c = n.walk();
                let inner = n.named_children(&mut c).next()?;
                self.template(inner)
            }
            "concatenated_string" => {
                let mut c = n.walk();
                let parts: Vec<String> = n
                    .named_children(&mut c)
                    .filter_map(|s| self.template(s))
                    .collect();
                Some(parts.concat())
            }
            "binary_expression" | "binary_operator" => {
                let op = n
                    .child_by_field_name("operator")
                    .map_or("", |o| self.text(o));
                let l = n.child_by_field_name("left")?;
                let r = n.child_by_field_name("right")?;
                match op {
                    "+" => {
                        let (lt, rt) = (self.template(l), self.template(r));
                        if lt.is_none() && rt.is_none() {
                            return None;
                        }
                        Some(format!(
                            "{}{}",
                            lt.unwrap_or_else(|| "{}".into()),
                            rt.unwrap_or_else(|| "{}".into())
                        ))
                    }
                    // Python `"…%s…" % x`.
                    "%" => self.template(l).map(|t| printf_holes(&t)),
                    _ => None,
                }
            }
            "call" | "call_expression" | "method_invocation" => {
                // `fmt.Sprintf(f, …)`, `String.format(f, …)`,
                // `"…{}…".format(…)`.
                let callee = match self.lang {
                    Lang::Java => {
                        let name = n.child_by_field_name("name").map_or("", |x| self.text(x));
                        let obj = n.child_by_field_name("object").map_or("", |x| self.text(x));
                        format!("{obj}.{name}")
                    }
                    _ => n
                        .child_by_field_name("function")
                        .map_or(String::new(), |f| self.text(f).split_whitespace().collect()),
                };
                let args = n.child_by_field_name("arguments")?;
                let mut c = args.walk();
                let first = args.named_children(&mut c).next();
                match callee.as_str() {
                    "fmt.Sprintf" | "String.format" => {
                        self.template(first?).map(|t| printf_holes(&t))
                    }
                    c if c.ends_with(".format") && self.lang == Lang::Python => {
                        let f = n.child_by_field_name("function")?;
                        let obj = f.child_by_field_name("object")?;
                        self.template(obj)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// A string literal's content, interpolations as `{}`.
    fn string(&self, n: Node) -> String {
        let mut out = String::new();
        let mut c = n.walk();
        let mut any_child = false;
        for child in n.named_children(&mut c) {
            any_child = true;
            match child.kind() {
                "string_fragment"
                | "string_content"
                | "interpreted_string_literal_content"
                | "raw_string_literal_content"
                | "multiline_string_fragment" => out.push_str(self.text(child)),
                "escape_sequence" => out.push_str(unescape(self.text(child))),
                "template_substitution" | "interpolation" | "string_interpolation" => {
                    out.push_str("{}")
                }
                _ => {}
            }
        }
        if !any_child {
            // A grammar without content nodes: strip the quotes.
            let t = self.text(n);
            let t = t
                .trim_start_matches(['"', '\'', '`'])
                .trim_end_matches(['"', '\'', '`']);
            out.push_str(t);
        }
        out
    }

    /// Java: the path of a class's own `@RequestMapping`, if any.
    fn class_mapping(&self, class: Node) -> Option<String> {
        let mut c = class.walk();
        let mods = class
            .named_children(&mut c)
            .find(|x| x.kind() == "modifiers")?;
        let mut c = mods.walk();
        for a in mods.named_children(&mut c) {
            if a.kind() != "annotation" {
                continue;
            }
            let name = a.child_by_field_name("name").map_or("", |x| self.text(x));
            if name.rsplit('.').next() != Some("RequestMapping") {
                continue;
            }
            let args = self.args(a.child_by_field_name("arguments")?);
            for arg in args {
                match arg {
                    Arg::Str(s) => return Some(s),
                    Arg::Named(k, v) if matches!(k.as_str(), "value" | "path") => {
                        return v.as_str().map(str::to_owned);
                    }
                    _ => {}
                }
            }
        }
        None
    }
}

fn is_string(lang: Lang, kind: &str) -> bool {
    match lang {
        Lang::Python => kind == "string",
        Lang::JavaScript | Lang::TypeScript | Lang::Tsx => {
            matches!(kind, "string" | "template_string")
        }
        Lang::Go => matches!(kind, "interpreted_string_literal" | "raw_string_literal"),
        Lang::Java => kind == "string_literal",
    }
}

fn has_token(n: Node, token: &str) -> bool {
    let mut c = n.walk();
    n.children(&mut c)
        .any(|x| !x.is_named() && x.kind() == token)
}

fn unescape(e: &str) -> &str {
    match e {
        "\\n" => "\n",
        "\\t" => "\t",
        "\\\"" => "\"",
        "\\'" => "'",
        "\\\\" => "\\",
        "\\/" => "/",
        _ => "",
    }
}

/// Turns a file's call sites into its routes, calls and gRPC uses, and
/// drops the sites: done once when the file is read, so that a run with
/// one changed file does not redo it for every cached file.
pub fn derive(mut facts: CodeFacts) -> CodeFacts {
    facts.routes = crate::api::routes(&facts);
    facts.calls = crate::api::calls(&facts);
    facts.grpc = crate::api::grpc(&facts);
    facts.sites = Vec::new();
    // SQL literals become the tables they touch; database URLs stay.
    let mut urls = Vec::new();
    for (s, line) in std::mem::take(&mut facts.strings) {
        if crate::sql::database_of_url(&s).is_some() {
            urls.push((s, line));
        } else {
            for t in crate::sql::tables(&s) {
                facts.tables.push((t, line));
            }
        }
    }
    facts.strings = urls;
    facts
}

/// `%s`, `%d`, `%v`, `%08.3f` … → `{}`.
pub fn printf_holes(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        // Flags, width, precision, then the verb.
        while chars
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '#' | ' ' | '.' | '0'))
        {
            chars.next();
        }
        if chars.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            chars.next();
            out.push_str("{}");
        } else {
            out.push('%');
        }
    }
    out
}

fn shorten_start(t: String) -> String {
    if t.len() <= MAX_TEXT {
        return t;
    }
    let mut at = t.len() - MAX_TEXT;
    while !t.is_char_boundary(at) {
        at += 1;
    }
    t[at..].to_owned()
}

fn shorten_end(mut t: String) -> String {
    if t.len() > MAX_TEXT {
        let mut at = MAX_TEXT;
        while !t.is_char_boundary(at) {
            at -= 1;
        }
        t.truncate(at);
    }
    t
}

/// Keeps a literal that looks like SQL or a database URL.
pub fn keep_string(out: &mut Vec<(String, u32)>, t: String, line: u32) {
    if crate::sql::looks_like_sql(&t) || crate::sql::database_of_url(&t).is_some() {
        out.push((t, line));
    }
}

/// `.proto`: `service Name {` declarations, outside comments.
pub fn proto(text: &str) -> CodeFacts {
    let mut out = CodeFacts::default();
    let mut in_block = false;
    for (i, raw) in text.lines().enumerate() {
        let mut l = raw;
        if in_block {
            match l.find("*/") {
                Some(e) => {
                    l = &l[e + 2..];
                    in_block = false;
                }
                None => continue,
            }
        }
        if let Some(s) = l.find("/*") {
            in_block = !l[s..].contains("*/");
            l = &l[..s];
        }
        let l = l.split("//").next().unwrap_or("").trim();
        if let Some(rest) = l.strip_prefix("service ") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.services.push((name, i as u32 + 1));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(f: &CodeFacts) -> Vec<(&str, u32, bool)> {
        f.imports
            .iter()
            .map(|i| (i.spec.as_str(), i.line, i.type_only))
            .collect()
    }

    #[test]
    fn typescript_imports_and_traps() {
        let f = facts(
            Lang::TypeScript,
            r#"import { Button } from '@acme/ui';
import type { Invoice } from "@acme/types";
// import x from 'commented';
const s = `import y from 'in-a-template' ${from}`;
export { a } from './local';
const lazy = await import('./lazy');
const r = require("legacy");
/* from 'block' */
"#,
        );
        assert_eq!(
            specs(&f),
            [
                ("@acme/ui", 1, false),
                ("@acme/types", 2, true),
                ("./local", 5, false),
                ("./lazy", 6, false),
                ("legacy", 7, false),
            ]
        );
    }

    #[test]
    fn python_imports_and_sites() {
        let f = facts(
            Lang::Python,
            r#"import os, billing.api as api
from auth_client import client, models
from . import sibling
from ..pkg.mod import x

router = APIRouter(prefix="/api")

@router.get("/invoices/{invoice_id}")
def get(invoice_id: int):
    return requests.get(f"{AUTH}/users/{invoice_id}", timeout=3)

class Invoice(Base):
    __tablename__ = "invoices"
"#,
        );
        assert_eq!(
            specs(&f),
            [
                ("os", 1, false),
                ("billing.api", 1, false),
                ("auth_client", 2, false),
                (".", 3, false),
                ("..pkg.mod", 4, false)
            ]
        );
        assert_eq!(f.imports[2].names, ["client", "models"]);
        let r = &f.sites[0];
        assert_eq!(
            (r.callee.as_str(), r.target.as_deref()),
            ("APIRouter", Some("router"))
        );
        assert_eq!(
            r.args,
            [Arg::Named(
                "prefix".into(),
                Box::new(Arg::Str("/api".into()))
            )]
        );
        let d = f.sites.iter().find(|s| s.decorator).unwrap();
        assert_eq!(
            (d.callee.as_str(), d.args[0].as_str(), d.line),
            ("router.get", Some("/invoices/{invoice_id}"), 8)
        );
        let c = f.sites.iter().find(|s| s.callee == "requests.get").unwrap();
        assert_eq!(c.args[0].as_str(), Some("{}/users/{}"));
        assert_eq!(f.tables, [("invoices".to_owned(), 13)]);
    }

    #[test]
    fn go_java_templates() {
        let f = facts(
            Lang::Go,
            "package main\nimport (\n  \"fmt\"\n  pb \"github.com/acme/shop/proto\"\n)\nfunc (User) TableName() string { return \"users\" }\nfunc f() { http.Get(base + \"/api/users/\" + id); fmt.Sprintf(\"%s/x/%d\", a, b) }\n",
        );
        assert_eq!(
            specs(&f),
            [("fmt", 3, false), ("github.com/acme/shop/proto", 4, false)]
        );
        assert_eq!(f.tables, [("users".to_owned(), 6)]);
        let get = f.sites.iter().find(|s| s.callee == "http.Get").unwrap();
        assert_eq!(get.args[0].as_str(), Some("{}/api/users/{}"));

        let j = facts(
            Lang::Java,
            r#"package com.acme.ledger;
import com.acme.billing.model.Invoice;
import static com.acme.util.Strings.*;
@RestController
@RequestMapping("/api")
class C extends AuthGrpc.AuthImplBase {
  @GetMapping(value = "/ledgers/{id}")
  Object g() { return rest.getForObject(base + "/API/Invoices/{invoiceId}", Invoice.class); }
}
"#,
        );
        assert_eq!(j.package.as_deref(), Some("com.acme.ledger"));
        assert_eq!(
            specs(&j),
            [
                ("com.acme.billing.model.Invoice", 2, false),
                ("com.acme.util.Strings.*", 3, false)
            ]
        );
        let g = j.sites.iter().find(|s| s.callee == "GetMapping").unwrap();
        assert_eq!(g.prefix.as_deref(), Some("/api"));
        assert!(
            j.sites
                .iter()
                .any(|s| s.callee == "extends AuthGrpc.AuthImplBase")
        );
        let r = j
            .sites
            .iter()
            .find(|s| s.callee == "rest.getForObject")
            .unwrap();
        assert_eq!(r.args[0].as_str(), Some("{}/API/Invoices/{invoiceId}"));
    }

    #[test]
    fn printf() {
        assert_eq!(printf_holes("%s/users/%05d?q=100%%"), "{}/users/{}?q=100%");
    }

    #[test]
    fn proto_services() {
        let f = proto(
            "// service Fake {\nservice Auth {\n  rpc Login (A) returns (B);\n}\n/* service Hidden */\nservice Billing{}\n",
        );
        assert_eq!(
            f.services,
            [("Auth".to_owned(), 2), ("Billing".to_owned(), 6)]
        );
    }

    #[test]
    fn garbage_never_panics() {
        for lang in [
            Lang::Python,
            Lang::JavaScript,
            Lang::TypeScript,
            Lang::Tsx,
            Lang::Go,
            Lang::Java,
        ] {
            for text in [
                "",
                "(((((",
                "import",
                "\u{0}\u{ffff}",
                "@@@ from '",
                "\"unterminated",
            ] {
                let _ = facts(lang, text);
            }
        }
    }
}
