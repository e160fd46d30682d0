//! Reading one file: bytes in, a document and its problems out.
//!
//! Never panics and never stops at the first problem: a file with three bad
//! fields yields three diagnostics and a document with the good fields.

use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

use crate::diagnostic::{Code, Diagnostic};
use crate::ids;
use crate::model::*;
use crate::text::{self, DecodeError, Pos, SplitError};
use crate::yaml::{self, Node, ProblemKind, Value};

/// What a workspace path holds, decided by where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Config,
    Item(Kind),
}

pub const CONFIG_PATH: &str = ".nonlinear/config.yaml";
pub const ISSUES_DIR: &str = ".nonlinear/issues";
pub const COMPONENTS_DIR: &str = ".nonlinear/components";
pub const ARTIFACTS_DIR: &str = ".nonlinear/artifacts";
pub const COMMENTS_DIR: &str = ".nonlinear/comments";
pub const COMPONENT_FILE: &str = "COMPONENT.md";

/// Classifies a workspace-relative path (`/`-separated).
pub fn classify(path: &str) -> Option<FileKind> {
    if path == CONFIG_PATH {
        return Some(FileKind::Config);
    }
    if let Some(rest) = path.strip_prefix(".nonlinear/") {
        let (dir, file) = rest.split_once('/')?;
        if !file.ends_with(".md") || file.rsplit('/').next().is_some_and(|f| f.starts_with('.')) {
            return None;
        }
        return match dir {
            "issues" => Some(FileKind::Item(Kind::Issue)),
            "components" => Some(FileKind::Item(Kind::Component)),
            "artifacts" => Some(FileKind::Item(Kind::Artifact)),
            "comments" if file.contains('/') => Some(FileKind::Item(Kind::Comment)),
            _ => None,
        };
    }
    (path == COMPONENT_FILE || path.ends_with("/COMPONENT.md"))
        .then_some(FileKind::Item(Kind::Component))
}

/// The workspace paths where an item with short id (or component key)
/// `reference` would live when named after it, most likely first: issues
/// and artifacts are `<short id>.md`, components under
/// `.nonlinear/components/` `<KEY>.md`; the spelling as given, the
/// canonical one (`NL-k3x9`), all upper case. Empty for anything that is
/// not a short id (a UUID, say).
pub fn candidate_paths(reference: &str) -> Vec<String> {
    let r = reference.trim();
    if !crate::ids::is_short_id(r) {
        return Vec::new();
    }
    let mut names = vec![r.to_owned()];
    if let Some((prefix, suffix)) = r.rsplit_once('-') {
        names.push(format!(
            "{}-{}",
            prefix.to_ascii_uppercase(),
            suffix.to_ascii_lowercase()
        ));
    }
    names.push(r.to_ascii_uppercase());
    names.dedup();
    [ISSUES_DIR, ARTIFACTS_DIR, COMPONENTS_DIR]
        .iter()
        .flat_map(|dir| names.iter().map(move |n| format!("{dir}/{n}.md")))
        .collect()
}

/// Reads the front matter of any file into its top-level mapping.
///
/// Returns the entries (empty when the file could not be read) and the body.
pub fn front_matter(
    path: &str,
    bytes: &[u8],
    diags: &mut Vec<Diagnostic>,
) -> Option<(Vec<(Node, Node)>, String)> {
    front_matter_with(path, bytes, Body::Keep, diags)
}

/// Whether a parsed item keeps its Markdown body. Validation never looks at
/// bodies, and on a large workspace they are most of the memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Keep,
    Drop,
}

fn front_matter_with(
    path: &str,
    bytes: &[u8],
    body: Body,
    diags: &mut Vec<Diagnostic>,
) -> Option<(Vec<(Node, Node)>, String)> {
    let text = decode(path, bytes, diags)?;
    let split = match text::split_front_matter(text) {
        Ok(s) => s,
        Err(e) => {
            let (code, msg) = match e {
                SplitError::Empty => (
                    Code::EmptyFile,
                    "file is empty; expected `---` front matter",
                ),
                SplitError::Missing => (
                    Code::MissingFrontMatter,
                    "expected the file to start with a `---` line opening the front matter",
                ),
                SplitError::Unterminated => (
                    Code::UnterminatedFrontMatter,
                    "front matter is not closed: no `---` line after the opening one",
                ),
            };
            diags.push(Diagnostic::new(code, path, Pos::START, msg).len(3));
            return None;
        }
    };
    let map = yaml_mapping(path, &text[split.yaml.clone()], split.yaml_line, diags)?;
    let body = match body {
        Body::Keep => text[split.body].to_owned(),
        Body::Drop => String::new(),
    };
    Some((map, body))
}

fn decode<'a>(path: &str, bytes: &'a [u8], diags: &mut Vec<Diagnostic>) -> Option<&'a str> {
    match text::decode(bytes) {
        Ok(t) => Some(t),
        Err(DecodeError::TooLarge { size, limit }) => {
            diags.push(Diagnostic::new(
                Code::FileTooLarge,
                path,
                Pos::START,
                format!("file is {size} bytes; the limit is {limit}"),
            ));
            None
        }
        Err(DecodeError::NotUtf8 { pos }) => {
            diags.push(Diagnostic::new(
                Code::NotUtf8,
                path,
                pos,
                "file is not valid UTF-8",
            ));
            None
        }
    }
}

/// Parses YAML that must be a mapping (front matter or the config file).
fn yaml_mapping(
    path: &str,
    yaml: &str,
    first_line: u32,
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<(Node, Node)>> {
    let (root, problems) = yaml::parse(yaml, first_line);
    // After a syntax error or a blown budget the tree is partial: report the
    // problem, not a cascade of "missing field" errors.
    // (Nesting past the parser's own recursion limit also ends the parse:
    // a `TooDeep` with no tree.)
    let fatal = problems.iter().any(|p| {
        matches!(
            p.kind,
            ProblemKind::Syntax(_) | ProblemKind::TooManyNodes | ProblemKind::MultipleDocuments
        ) || (p.kind == ProblemKind::TooDeep && root.is_none())
    });
    for p in problems {
        diags.push(match p.kind {
            ProblemKind::Syntax(msg) => Diagnostic::new(
                Code::YamlSyntax,
                path,
                p.pos,
                format!("invalid YAML: {msg}"),
            ),
            ProblemKind::DuplicateKey { key, field, first } => Diagnostic::new(
                Code::DuplicateKey,
                path,
                p.pos,
                format!("duplicate key `{key}`"),
            )
            .field(field)
            .len(key.chars().count())
            .related(path, first, format!("`{key}` first set here")),
            ProblemKind::TooDeep => Diagnostic::new(
                Code::TooDeep,
                path,
                p.pos,
                format!("nesting deeper than {} levels", yaml::MAX_DEPTH),
            ),
            ProblemKind::TooManyNodes => Diagnostic::new(
                Code::TooLarge,
                path,
                p.pos,
                format!(
                    "more than {} YAML nodes (aliases expanded); refusing to read further",
                    yaml::MAX_NODES
                ),
            ),
            ProblemKind::NonScalarKey => Diagnostic::new(
                Code::WrongType,
                path,
                p.pos,
                "mapping keys must be plain strings",
            ),
            ProblemKind::UnknownAlias => Diagnostic::new(
                Code::YamlSyntax,
                path,
                p.pos,
                "alias refers to an unknown anchor",
            ),
            ProblemKind::MultipleDocuments => {
                Diagnostic::new(Code::YamlSyntax, path, p.pos, "more than one YAML document")
            }
        });
    }
    if fatal {
        return None;
    }
    match root {
        None => Some(Vec::new()),
        Some(Node {
            value: Value::Map(m),
            ..
        }) => Some(m),
        Some(n) if n.is_null() => Some(Vec::new()),
        Some(n) => {
            diags.push(Diagnostic::new(
                Code::NotAMapping,
                path,
                n.pos,
                format!(
                    "expected a mapping of `key: value` lines, found {}",
                    n.kind_name()
                ),
            ));
            None
        }
    }
}

/// Parses one item file of a known kind.
pub fn parse_item(path: &str, kind: Kind, bytes: &[u8]) -> (Option<Item>, Vec<Diagnostic>) {
    parse_item_with(path, kind, bytes, Body::Keep)
}

/// [`parse_item`], optionally leaving the body out (it is then empty).
pub fn parse_item_with(
    path: &str,
    kind: Kind,
    bytes: &[u8],
    body: Body,
) -> (Option<Item>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let Some((entries, body)) = front_matter_with(path, bytes, body, &mut diags) else {
        return (None, diags);
    };
    let mut r = Reader {
        path,
        diags: &mut diags,
    };
    let item = r.item(kind, entries, body);
    (Some(item), diags)
}

/// Parses `.nonlinear/config.yaml`.
pub fn parse_config(path: &str, bytes: &[u8]) -> (Option<Config>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let Some(text) = decode(path, bytes, &mut diags) else {
        return (None, diags);
    };
    let Some(entries) = yaml_mapping(path, text, 1, &mut diags) else {
        return (None, diags);
    };
    let config = Reader {
        path,
        diags: &mut diags,
    }
    .config(entries);
    (Some(config), diags)
}

/// Converts YAML nodes to typed fields, recording every problem.
struct Reader<'a> {
    path: &'a str,
    diags: &'a mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn push(&mut self, code: Code, node: &Node, field: &str, msg: String) {
        let len = node.as_scalar().map_or(1, |s| s.chars().count());
        self.diags.push(
            Diagnostic::new(code, self.path, node.pos, msg)
                .field(field)
                .len(len),
        );
    }

    fn wrong_type(&mut self, node: &Node, field: &str, expected: &str) {
        self.push(
            Code::WrongType,
            node,
            field,
            format!("`{field}` must be {expected}, found {}", node.kind_name()),
        );
    }

    fn missing(&mut self, field: &str, what: &str) {
        self.diags.push(
            Diagnostic::new(
                Code::MissingField,
                self.path,
                Pos::START,
                format!("missing required field `{field}` ({what})"),
            )
            .field(field)
            .len(3),
        );
    }

    /// A non-empty scalar. Null means "not set".
    fn string(&mut self, field: &str, node: &Node) -> Option<Spanned<String>> {
        if node.is_null() {
            return None;
        }
        match node.as_scalar() {
            Some(s) => Some(Spanned::new(s.to_owned(), node.pos)),
            None => {
                self.wrong_type(node, field, "a string");
                None
            }
        }
    }

    /// A list of scalars; a single scalar counts as a list of one.
    fn strings(&mut self, field: &str, node: &Node) -> Vec<Spanned<String>> {
        match &node.value {
            _ if node.is_null() => Vec::new(),
            Value::Scalar(s) => vec![Spanned::new(s.text.clone(), node.pos)],
            Value::Seq(seq) => seq
                .items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match item.as_scalar() {
                    Some(s) if !item.is_null() => Some(Spanned::new(s.to_owned(), item.pos)),
                    _ => {
                        self.wrong_type(item, &format!("{field}[{i}]"), "a string");
                        None
                    }
                })
                .collect(),
            Value::Map(_) => {
                self.wrong_type(node, field, "a list of strings");
                Vec::new()
            }
        }
    }

    /// A reference to another item: a short id or a UUID.
    fn reference(&mut self, field: &str, node: &Node) -> Option<Spanned<String>> {
        let s = self.string(field, node)?;
        self.check_ref(field, node, &s.value).then_some(s)
    }

    fn references(&mut self, field: &str, node: &Node) -> Vec<Spanned<String>> {
        let refs = self.strings(field, node);
        refs.into_iter()
            .filter(|r| {
                let n = Node {
                    value: Value::Scalar(yaml::Scalar {
                        text: r.value.clone(),
                        style: yaml::Style::Plain,
                    }),
                    pos: r.pos,
                };
                self.check_ref(field, &n, &r.value)
            })
            .collect()
    }

    fn check_ref(&mut self, field: &str, node: &Node, s: &str) -> bool {
        if ids::parse_uuid(s).is_some() || ids::is_short_id(s) {
            return true;
        }
        self.push(
            Code::InvalidValue,
            node,
            field,
            format!("`{s}` is not a short id (like `NL-k3x9` or `AUTH`) or a UUID"),
        );
        false
    }

    fn uuid(&mut self, field: &str, node: &Node) -> Option<Spanned<Uuid>> {
        let s = self.string(field, node)?;
        match ids::parse_uuid(&s.value) {
            Some(u) => Some(Spanned::new(u, s.pos)),
            None => {
                self.push(Code::InvalidValue, node, field, format!("`{field}` must be a UUID like `0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a90`, found `{}`", s.value));
                None
            }
        }
    }

    fn timestamp(&mut self, field: &str, node: &Node) -> Option<Spanned<Timestamp>> {
        let s = self.string(field, node)?;
        match s.value.parse::<Timestamp>() {
            Ok(t) => Some(Spanned::new(t, s.pos)),
            Err(_) => {
                self.push(Code::InvalidValue, node, field, format!("`{field}` must be an RFC 3339 timestamp like `2026-11-25T09:30:00Z`, found `{}`", s.value));
                None
            }
        }
    }

    fn date(&mut self, field: &str, node: &Node) -> Option<Spanned<Date>> {
        let s = self.string(field, node)?;
        match s.value.parse::<Date>() {
            Ok(d) if s.value.len() == 10 => Some(Spanned::new(d, s.pos)),
            _ => {
                self.push(
                    Code::InvalidValue,
                    node,
                    field,
                    format!(
                        "`{field}` must be a date like `2026-12-01`, found `{}`",
                        s.value
                    ),
                );
                None
            }
        }
    }

    fn number(&mut self, field: &str, node: &Node) -> Option<Spanned<f64>> {
        let s = self.string(field, node)?;
        match s.value.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Some(Spanned::new(v, s.pos)),
            _ => {
                self.push(
                    Code::InvalidValue,
                    node,
                    field,
                    format!("`{field}` must be a number ≥ 0, found `{}`", s.value),
                );
                None
            }
        }
    }

    fn priority(&mut self, field: &str, node: &Node) -> Option<Spanned<u8>> {
        let s = self.string(field, node)?;
        match s.value.parse::<u8>() {
            Ok(v) if v <= 4 => Some(Spanned::new(v, s.pos)),
            _ => {
                self.push(Code::InvalidValue, node, field, format!("`{field}` must be 0 (none), 1 (urgent), 2 (high), 3 (medium) or 4 (low), found `{}`", s.value));
                None
            }
        }
    }

    fn unknown(&mut self, key: &Node, name: &str, kind: &str) {
        self.diags.push(
            Diagnostic::new(
                Code::UnknownField,
                self.path,
                key.pos,
                format!(
                    "unknown field `{name}` for {} {kind}; it is kept as is",
                    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                        "an"
                    } else {
                        "a"
                    }
                ),
            )
            .field(name)
            .len(name.chars().count()),
        );
    }

    fn item(&mut self, kind: Kind, entries: Vec<(Node, Node)>, body: String) -> Item {
        let mut item = Item {
            path: self.path.to_owned(),
            id: None,
            short_id: None,
            title: None,
            fields: match kind {
                Kind::Component => Fields::Component(Box::default()),
                Kind::Issue => Fields::Issue(Box::default()),
                Kind::Artifact => Fields::Artifact(Box::new(Artifact {
                    kind: None,
                    url: None,
                    file: None,
                    mime_type: None,
                    size: None,
                    attached_to: Vec::new(),
                    created_by: None,
                    created_at: None,
                })),
                Kind::Comment => Fields::Comment(Comment {
                    on: comment_target(self.path),
                    author: None,
                    created_at: None,
                    edited_at: None,
                    reply_to: None,
                    reactions: Vec::new(),
                }),
            },
            extra: Vec::new(),
            body,
        };
        let mut seen_id = false;
        for (key, value) in entries {
            let Some(name) = key.as_scalar().map(str::to_owned) else {
                continue;
            };
            let f = name.as_str();
            match f {
                "id" => {
                    seen_id = true;
                    item.id = self.uuid(f, &value);
                }
                "short_id" if kind != Kind::Comment => {
                    if let Some(s) = self.string(f, &value) {
                        if ids::is_short_id(&s.value) {
                            item.short_id = Some(s);
                        } else {
                            self.push(Code::InvalidValue, &value, f, format!("`short_id` must be letters, digits, `-` or `_`, starting with a letter, found `{}`", s.value));
                        }
                    }
                }
                "title" if kind != Kind::Comment => item.title = self.string(f, &value),
                _ => {
                    if !self.kind_field(&mut item.fields, f, &value) {
                        self.unknown(&key, f, kind.as_str());
                        item.extra.push((name, value));
                    }
                }
            }
        }
        if !seen_id {
            self.missing("id", "a UUID; `nonlinear new` writes one");
        }
        if kind != Kind::Comment {
            if item.short_id.is_none()
                && !self
                    .diags
                    .iter()
                    .any(|d| d.field.as_deref() == Some("short_id"))
            {
                self.missing(
                    "short_id",
                    "a short id like `NL-k3x9`, or a key like `AUTH` for components",
                );
            }
            if item.title.is_none()
                && !self
                    .diags
                    .iter()
                    .any(|d| d.field.as_deref() == Some("title"))
            {
                self.missing("title", "a one-line summary");
            }
        }
        match &item.fields {
            Fields::Issue(i)
                if i.status.is_none()
                    && !self
                        .diags
                        .iter()
                        .any(|d| d.field.as_deref() == Some("status")) =>
            {
                self.missing(
                    "status",
                    "one of the workflow statuses in .nonlinear/config.yaml",
                );
            }
            Fields::Artifact(a) => {
                if a.kind.is_none()
                    && !self
                        .diags
                        .iter()
                        .any(|d| d.field.as_deref() == Some("kind"))
                {
                    self.missing("kind", "`link`, `file` or `embed`");
                }
                match a.kind.as_ref().map(|k| k.value) {
                    Some(ArtifactKind::File) if a.file.is_none() => {
                        self.missing("file", "the repository path of the file, for `kind: file`")
                    }
                    Some(ArtifactKind::Link | ArtifactKind::Embed) if a.url.is_none() => {
                        self.missing("url", "the address, for `kind: link` and `kind: embed`")
                    }
                    _ => {}
                }
            }
            Fields::Comment(c)
                if c.author.is_none()
                    && !self
                        .diags
                        .iter()
                        .any(|d| d.field.as_deref() == Some("author")) =>
            {
                self.missing("author", "the member handle who wrote it");
            }
            _ => {}
        }
        if let Fields::Component(c) = &mut item.fields
            && c.repo.path.is_none()
            && let Some(dir) = self.path.strip_suffix(COMPONENT_FILE)
        {
            let dir = dir.trim_end_matches('/');
            c.repo.path = Some(Spanned::new(
                if dir.is_empty() {
                    ".".into()
                } else {
                    dir.to_owned()
                },
                Pos::START,
            ));
        }
        item
    }

    /// Reads a kind-specific field; `false` if the kind has no such field.
    fn kind_field(&mut self, fields: &mut Fields, f: &str, v: &Node) -> bool {
        match fields {
            Fields::Component(c) => match f {
                "labels" => c.labels = self.strings(f, v),
                "owner" => c.owner = self.string(f, v),
                "parent" => c.parent = self.reference(f, v),
                "depends_on" => c.depends_on = self.references(f, v),
                "imports" => c.imports = self.references(f, v),
                "calls_api" => c.calls_api = self.references(f, v),
                "shares_db" => c.shares_db = self.references(f, v),
                "suppress" => c.suppress = self.suppressions(f, v),
                "repo" => c.repo = self.repo(v),
                _ => return false,
            },
            Fields::Issue(i) => match f {
                "status" => i.status = self.string(f, v),
                "labels" => i.labels = self.strings(f, v),
                "assignee" => i.assignee = self.string(f, v),
                "created_by" => i.created_by = self.string(f, v),
                "created_at" => i.created_at = self.timestamp(f, v),
                "cycle" => i.cycle = self.string(f, v),
                "priority" => i.priority = self.priority(f, v),
                "estimate" => i.estimate = self.number(f, v),
                "due" => i.due = self.date(f, v),
                "parent" => i.parent = self.reference(f, v),
                "blocks" => i.blocks = self.references(f, v),
                "relates_to" => i.relates_to = self.references(f, v),
                "duplicates" => i.duplicates = self.references(f, v),
                _ => return false,
            },
            Fields::Artifact(a) => match f {
                "kind" => {
                    a.kind = self.string(f, v).and_then(|s| {
                        let k = match s.value.as_str() {
                            "link" => ArtifactKind::Link,
                            "file" => ArtifactKind::File,
                            "embed" => ArtifactKind::Embed,
                            other => {
                                self.push(
                                    Code::InvalidValue,
                                    v,
                                    f,
                                    format!(
                                        "`kind` must be `link`, `file` or `embed`, found `{other}`"
                                    ),
                                );
                                return None;
                            }
                        };
                        Some(Spanned::new(k, s.pos))
                    })
                }
                "url" => a.url = self.string(f, v),
                "file" => a.file = self.string(f, v),
                "mime_type" => a.mime_type = self.string(f, v).map(|s| s.value),
                "size" => {
                    a.size = self
                        .string(f, v)
                        .and_then(|s| match s.value.parse::<u64>() {
                            Ok(n) => Some(n),
                            Err(_) => {
                                self.push(
                                    Code::InvalidValue,
                                    v,
                                    f,
                                    format!(
                                        "`size` must be a whole number of bytes, found `{}`",
                                        s.value
                                    ),
                                );
                                None
                            }
                        })
                }
                "attached_to" => a.attached_to = self.references(f, v),
                "created_by" => a.created_by = self.string(f, v),
                "created_at" => a.created_at = self.timestamp(f, v),
                _ => return false,
            },
            Fields::Comment(c) => match f {
                "author" => c.author = self.string(f, v),
                "created_at" => c.created_at = self.timestamp(f, v),
                "edited_at" => c.edited_at = self.timestamp(f, v),
                "reply_to" => c.reply_to = self.reference(f, v),
                "reactions" => match &v.value {
                    Value::Map(m) => {
                        c.reactions = m
                            .iter()
                            .filter_map(|(k, who)| {
                                let emoji = k.as_scalar()?.to_owned();
                                let handles = self.strings(&format!("reactions.{emoji}"), who);
                                Some((emoji, handles))
                            })
                            .collect()
                    }
                    _ if v.is_null() => {}
                    _ => self.wrong_type(v, f, "a mapping of emoji to handles"),
                },
                _ => return false,
            },
        }
        true
    }

    fn repo(&mut self, v: &Node) -> Repo {
        let mut repo = Repo::default();
        let Value::Map(m) = &v.value else {
            if !v.is_null() {
                self.wrong_type(
                    v,
                    "repo",
                    "a mapping with `path`, `url`, `branch`, `provider`",
                );
            }
            return repo;
        };
        for (k, val) in m {
            let Some(name) = k.as_scalar() else { continue };
            let f = format!("repo.{name}");
            match name {
                "path" => repo.path = self.string(&f, val),
                "url" => repo.url = self.string(&f, val).map(|s| s.value),
                "branch" => repo.branch = self.string(&f, val).map(|s| s.value),
                "provider" => repo.provider = self.string(&f, val).map(|s| s.value),
                _ => {
                    self.unknown(k, &f, "component");
                    repo.extra.push((name.to_owned(), val.clone()));
                }
            }
        }
        repo
    }

    fn config(&mut self, entries: Vec<(Node, Node)>) -> Config {
        let mut c = Config {
            key: "NL".into(),
            name: String::new(),
            statuses: Vec::new(),
            labels: Vec::new(),
            priorities: Vec::new(),
            members: Vec::new(),
            cycles: Vec::new(),
            architecture: Vec::new(),
            analyzer: AnalyzerConfig::default(),
            extra: Vec::new(),
        };
        let mut seen_statuses = false;
        for (key, value) in entries {
            let Some(name) = key.as_scalar().map(str::to_owned) else {
                continue;
            };
            let f = name.as_str();
            match f {
                "version" => {
                    if value.as_scalar() != Some("1") {
                        self.push(
                            Code::InvalidValue,
                            &value,
                            f,
                            "`version` must be 1; this build reads format version 1".into(),
                        );
                    }
                }
                "key" => {
                    if let Some(k) = self.string(f, &value) {
                        if ids::is_short_id(&k.value) && !k.value.contains('-') {
                            c.key = k.value;
                        } else {
                            self.push(Code::InvalidValue, &value, f, format!("`key` must be letters and digits starting with a letter, found `{}`", k.value));
                        }
                    }
                }
                "name" => c.name = self.string(f, &value).map(|s| s.value).unwrap_or_default(),
                "statuses" => {
                    seen_statuses = true;
                    c.statuses = self.list(f, &value, |r, field, m| {
                        let key = r.req_str(field, m, "key")?;
                        let name = r.opt_str(field, m, "name").unwrap_or_else(|| key.clone());
                        let cat = r.req_str(field, m, "category")?;
                        let Some(category) = Category::parse(&cat) else {
                            let node = get(m, "category").expect("read above");
                            r.push(Code::InvalidValue, node, &format!("{field}.category"), format!("category must be backlog, unstarted, started, completed or canceled, found `{cat}`"));
                            return None;
                        };
                        Some(StatusDef { key, name, category })
                    })
                }
                "labels" => {
                    c.labels = self.list(f, &value, |r, field, m| {
                        Some(LabelDef {
                            name: r.req_str(field, m, "name")?,
                            color: r.opt_str(field, m, "color"),
                            description: r.opt_str(field, m, "description"),
                        })
                    })
                }
                "priorities" => {
                    c.priorities = self.list(f, &value, |r, field, m| {
                        let v = r.req_str(field, m, "value")?;
                        let Some(value) = v.parse::<u8>().ok().filter(|p| *p <= 4) else {
                            let node = get(m, "value").expect("read above");
                            r.push(
                                Code::InvalidValue,
                                node,
                                &format!("{field}.value"),
                                format!("priority value must be 0–4, found `{v}`"),
                            );
                            return None;
                        };
                        Some(PriorityDef {
                            value,
                            name: r.req_str(field, m, "name")?,
                        })
                    })
                }
                "members" => {
                    c.members = self.list(f, &value, |r, field, m| {
                        let handle = r.req_str(field, m, "handle")?;
                        let kind = match r.opt_str(field, m, "kind").as_deref() {
                            None | Some("user") => MemberKind::User,
                            Some("agent") => MemberKind::Agent,
                            Some(other) => {
                                let node = get(m, "kind").expect("read above");
                                r.push(
                                    Code::InvalidValue,
                                    node,
                                    &format!("{field}.kind"),
                                    format!(
                                        "member kind must be `user` or `agent`, found `{other}`"
                                    ),
                                );
                                return None;
                            }
                        };
                        Some(Member {
                            name: r
                                .opt_str(field, m, "name")
                                .unwrap_or_else(|| handle.clone()),
                            handle,
                            email: r.opt_str(field, m, "email"),
                            kind,
                        })
                    })
                }
                "architecture" => c.architecture = self.rules(f, &value),
                "analyzer" => c.analyzer = self.analyzer(f, &value),
                "cycles" => {
                    c.cycles = self.list(f, &value, |r, field, m| {
                        let key = r.req_str(field, m, "key")?;
                        let starts = get(m, "starts")
                            .and_then(|n| r.date(&format!("{field}.starts"), n))
                            .map(|d| d.value);
                        let ends = get(m, "ends")
                            .and_then(|n| r.date(&format!("{field}.ends"), n))
                            .map(|d| d.value);
                        Some(CycleDef {
                            name: r.opt_str(field, m, "name").unwrap_or_else(|| key.clone()),
                            key,
                            starts,
                            ends,
                        })
                    })
                }
                _ => {
                    self.unknown(&key, f, "config");
                    c.extra.push((name, value));
                }
            }
        }
        if !seen_statuses {
            self.missing(
                "statuses",
                "the workflow: a list of `{key, name, category}`",
            );
        } else if c.statuses.is_empty()
            && !self.diags.iter().any(|d| {
                d.field
                    .as_deref()
                    .is_some_and(|f| f.starts_with("statuses"))
            })
        {
            self.diags.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    self.path,
                    Pos::START,
                    "the workflow needs at least one status",
                )
                .field("statuses"),
            );
        }
        if c.priorities.is_empty() {
            c.priorities = default_priorities();
        }
        c
    }

    /// Reads a list of mappings with `each`, naming fields `field[i].sub`.
    fn list<T>(
        &mut self,
        field: &str,
        node: &Node,
        mut each: impl FnMut(&mut Self, &str, &[(Node, Node)]) -> Option<T>,
    ) -> Vec<T> {
        let Value::Seq(seq) = &node.value else {
            if !node.is_null() {
                self.wrong_type(node, field, "a list");
            }
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in seq.items.iter().enumerate() {
            let name = format!("{field}[{i}]");
            match &item.value {
                Value::Map(m) => out.extend(each(self, &name, m)),
                _ => self.wrong_type(item, &name, "a mapping"),
            }
        }
        out
    }

    /// A Layer-3 link field name, or a diagnostic.
    fn link_kind(&mut self, field: &str, node: &Node, kind: &str) -> bool {
        if LINK_KINDS.contains(&kind) {
            return true;
        }
        self.push(
            Code::InvalidValue,
            node,
            field,
            format!(
                "`{kind}` is not a Layer-3 link kind (depends_on, imports, calls_api, shares_db)"
            ),
        );
        false
    }

    /// A component's `suppress:` list.
    fn suppressions(&mut self, field: &str, node: &Node) -> Vec<Suppression> {
        self.list(field, node, |r, field, m| {
            let kind = r.req_str(field, m, "kind");
            let to = get(m, "to");
            let reason = r.req_str(field, m, "reason");
            let kind = kind.filter(|k| {
                let n = get(m, "kind").expect("read above");
                r.link_kind(&format!("{field}.kind"), n, k)
            })?;
            let to = match to {
                Some(n) => r.reference(&format!("{field}.to"), n)?,
                None => {
                    r.req_str(field, m, "to");
                    return None;
                }
            };
            let reason = reason?;
            if reason.trim().is_empty() {
                let n = get(m, "reason").expect("read above");
                r.push(
                    Code::InvalidValue,
                    n,
                    &format!("{field}.reason"),
                    "a suppression needs a reason".into(),
                );
                return None;
            }
            Some(Suppression { kind, to, reason })
        })
    }

    /// The config's `architecture:` rules.
    fn rules(&mut self, field: &str, node: &Node) -> Vec<Rule> {
        let Value::Seq(seq) = &node.value else {
            if !node.is_null() {
                self.wrong_type(node, field, "a list");
            }
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in seq.items.iter().enumerate() {
            let name = format!("{field}[{i}]");
            let Value::Map(m) = &item.value else {
                self.wrong_type(item, &name, "a mapping");
                continue;
            };
            let (deny, allow) = (get(m, "deny"), get(m, "allow_only"));
            let (is_deny, kinds_node) = match (deny, allow) {
                (Some(d), None) => (true, d),
                (None, Some(a)) => (false, a),
                _ => {
                    self.push(
                        Code::InvalidValue,
                        item,
                        &name,
                        "a rule has either `deny: KINDS` or `allow_only: KINDS`".into(),
                    );
                    continue;
                }
            };
            let key = if is_deny { "deny" } else { "allow_only" };
            let kinds: Vec<Spanned<String>> = self.strings(&format!("{name}.{key}"), kinds_node);
            let kinds_ok = !kinds.is_empty()
                && kinds.iter().all(|k| {
                    let n = Node {
                        value: Value::Scalar(yaml::Scalar {
                            text: k.value.clone(),
                            style: yaml::Style::Plain,
                        }),
                        pos: k.pos,
                    };
                    self.link_kind(&format!("{name}.{key}"), &n, &k.value)
                });
            let mut sides = Vec::new();
            for side in ["from", "to"] {
                match get(m, side) {
                    Some(n) => sides.push(
                        self.strings(&format!("{name}.{side}"), n)
                            .into_iter()
                            .map(|s| s.value)
                            .collect::<Vec<_>>(),
                    ),
                    None => {
                        self.req_str(&name, m, side);
                        sides.push(Vec::new());
                    }
                }
            }
            let reason = self.opt_str(&name, m, "reason");
            if kinds_ok && sides.iter().all(|s| !s.is_empty()) {
                let to = sides.pop().expect("two sides");
                let from = sides.pop().expect("two sides");
                out.push(Rule {
                    deny: is_deny,
                    kinds: kinds.into_iter().map(|k| k.value).collect(),
                    from,
                    to,
                    reason,
                    pos: item.pos,
                });
            }
        }
        out
    }

    /// The config's `analyzer:` section.
    fn analyzer(&mut self, field: &str, node: &Node) -> AnalyzerConfig {
        let mut a = AnalyzerConfig::default();
        let Value::Map(m) = &node.value else {
            if !node.is_null() {
                self.wrong_type(node, field, "a mapping");
            }
            return a;
        };
        for (k, v) in m {
            let Some(key) = k.as_scalar() else { continue };
            let name = format!("{field}.{key}");
            match key {
                "generated" => {
                    a.generated = self.strings(&name, v).into_iter().map(|s| s.value).collect();
                }
                "vendored" => {
                    a.vendored = self.strings(&name, v).into_iter().map(|s| s.value).collect();
                }
                other => self.diags.push(
                    Diagnostic::new(
                        Code::UnknownField,
                        self.path,
                        k.pos,
                        format!("unknown field `{other}` in `{field}` (it has `generated` and `vendored`); ignored"),
                    )
                    .field(name)
                    .len(other.chars().count()),
                ),
            }
        }
        a
    }

    fn req_str(&mut self, field: &str, m: &[(Node, Node)], key: &str) -> Option<String> {
        let name = format!("{field}.{key}");
        match get(m, key) {
            Some(n) => self.string(&name, n).map(|s| s.value),
            None => {
                let pos = m.first().map_or(Pos::START, |(k, _)| k.pos);
                self.diags.push(
                    Diagnostic::new(
                        Code::MissingField,
                        self.path,
                        pos,
                        format!("missing `{key}` in `{field}`"),
                    )
                    .field(name),
                );
                None
            }
        }
    }

    fn opt_str(&mut self, field: &str, m: &[(Node, Node)], key: &str) -> Option<String> {
        get(m, key)
            .and_then(|n| self.string(&format!("{field}.{key}"), n))
            .map(|s| s.value)
    }
}

/// The component fields of Layer-3 links.
pub const LINK_KINDS: &[&str] = &["depends_on", "imports", "calls_api", "shares_db"];

fn get<'m>(m: &'m [(Node, Node)], key: &str) -> Option<&'m Node> {
    m.iter()
        .find(|(k, _)| k.as_scalar() == Some(key))
        .map(|(_, v)| v)
}

/// Linear's priority scale, used when the config names none.
pub fn default_priorities() -> Vec<PriorityDef> {
    ["No priority", "Urgent", "High", "Medium", "Low"]
        .iter()
        .enumerate()
        .map(|(i, n)| PriorityDef {
            value: i as u8,
            name: (*n).to_owned(),
        })
        .collect()
}

/// The item a comment belongs to: `.nonlinear/comments/<uuid>/<file>.md`.
fn comment_target(path: &str) -> Option<Spanned<Uuid>> {
    let rest = path.strip_prefix(".nonlinear/comments/")?;
    let dir = rest.split('/').next()?;
    ids::parse_uuid(dir).map(|u| Spanned::new(u, Pos::START))
}
