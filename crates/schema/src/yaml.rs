//! A small, bounded YAML tree with positions, built from `saphyr-parser`
//! events.
//!
//! We do not deserialize front matter with serde: serde stops at the first
//! error and forgets where values were. This tree keeps the position of every
//! node, reports *all* duplicate keys, and bounds what hostile input can cost:
//! nesting depth and the number of nodes (alias expansion included) are
//! capped, so an alias bomb or `[[[[…` is a diagnostic, not a hang.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::text::Pos;

/// Deepest nesting accepted. Front matter needs three levels; the slack is
/// for config files.
pub const MAX_DEPTH: usize = 32;
/// Most nodes one document may expand to, aliases included.
pub const MAX_NODES: usize = 20_000;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Node {
    pub value: Value,
    /// Where the node starts in the file (anchors and tags excluded for
    /// scalars that carry them is not guaranteed; good enough for messages).
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    Scalar(Scalar),
    Seq(Seq),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scalar {
    pub text: String,
    pub style: Style,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Seq {
    pub items: Vec<Node>,
    /// `[a, b]` rather than a block list.
    pub flow: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

impl Node {
    /// A plain empty scalar, `~` or `null`.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar(s) if s.style == Style::Plain && matches!(s.text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(&s.text),
            _ => None,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Scalar(_) if self.is_null() => "null",
            Value::Scalar(_) => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Converts to JSON, keeping YAML 1.2 core-schema typing for plain
    /// scalars (`3` is a number, `true` a boolean, `~` null).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Scalar(_) if self.is_null() => J::Null,
            Value::Scalar(s) if s.style == Style::Plain => match s.text.as_str() {
                "true" | "True" | "TRUE" => J::Bool(true),
                "false" | "False" | "FALSE" => J::Bool(false),
                t => {
                    if let Ok(i) = t.parse::<i64>() {
                        J::from(i)
                    } else if let Some(f) = t.parse::<f64>().ok().filter(|f| f.is_finite()) {
                        J::from(f)
                    } else {
                        J::String(t.to_owned())
                    }
                }
            },
            Value::Scalar(s) => J::String(s.text.clone()),
            Value::Seq(seq) => J::Array(seq.items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_scalar()
                                .map_or_else(|| format!("{:?}", k.to_json()), str::to_owned),
                            v.to_json(),
                        )
                    })
                    .collect(),
            ),
        }
    }
}

/// A problem found while reading YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pos: Pos,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    Syntax(String),
    /// `field` is the dotted path of the key (`repo.path`) when it is
    /// nested in mappings, else the key itself.
    DuplicateKey {
        key: String,
        field: String,
        first: Pos,
    },
    TooDeep,
    TooManyNodes,
    NonScalarKey,
    UnknownAlias,
    MultipleDocuments,
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProblemKind::Syntax(msg) => write!(f, "invalid YAML: {msg}"),
            ProblemKind::DuplicateKey { field, .. } => write!(f, "duplicate key `{field}`"),
            ProblemKind::TooDeep => write!(f, "nesting deeper than {MAX_DEPTH} levels"),
            ProblemKind::TooManyNodes => write!(f, "more than {MAX_NODES} YAML nodes"),
            ProblemKind::NonScalarKey => write!(f, "a mapping key must be a plain value"),
            ProblemKind::UnknownAlias => write!(f, "alias to an unknown anchor"),
            ProblemKind::MultipleDocuments => write!(f, "more than one YAML document"),
        }
    }
}

/// Parses `yaml` (which starts on 1-based `first_line` of its file) into one
/// node. Returns `None` for an empty document or one that could not be read.
pub fn parse(yaml: &str, first_line: u32) -> (Option<Node>, Vec<Problem>) {
    if let Some(node) = simple::parse(yaml, first_line) {
        return (Some(node), Vec::new());
    }
    parse_full(yaml, first_line)
}

/// [`parse`] without the fast path: every document goes through
/// `saphyr-parser`. Public so tests can compare the two.
pub fn parse_full(yaml: &str, first_line: u32) -> (Option<Node>, Vec<Problem>) {
    let mut b = Builder {
        first_line,
        end: end_pos(yaml, first_line),
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(yaml);
    loop {
        match parser.next_event() {
            None => break,
            Some(Ok((ev, span))) => {
                if b.event(ev, span) {
                    break;
                }
            }
            Some(Err(e)) => {
                let m = e.marker();
                // saphyr's own guard against deep recursion is our TooDeep.
                let kind = if e.info().contains("recursion limit") {
                    ProblemKind::TooDeep
                } else {
                    ProblemKind::Syntax(e.info().to_owned())
                };
                b.problems.push(Problem {
                    pos: b.pos_of(m.line(), m.col()),
                    kind,
                });
                return (None, b.problems);
            }
        }
    }
    (b.root, b.problems)
}

/// A fast path for the front matter nearly every file has: a flat mapping
/// of plain keys to plain scalars, flow lists `[a, b]` and block lists of
/// plain scalars, with full-line comments. It builds exactly the tree the
/// full parser builds (positions included) or gives up with `None` at the
/// first thing outside that subset — quotes, nesting, anchors, tags, inline
/// comments, duplicate keys, tabs, odd indentation — and the caller runs
/// the full parser. On a 300k-file workspace it saves half of `check`'s
/// parsing time; `tests/it/props.rs` checks it against the full parser.
mod simple {
    use super::{Node, Scalar, Seq, Style, Value};
    use crate::text::Pos;

    /// More nodes than any real front matter; past this let the full
    /// parser (and its node budget) decide.
    const MAX_SIMPLE_NODES: usize = 1_000;

    pub(super) fn parse(yaml: &str, first_line: u32) -> Option<Node> {
        let mut entries: Vec<(Node, Node)> = Vec::new();
        let mut lines = yaml.split('\n').enumerate().peekable();
        let mut nodes = 1;
        while let Some((i, raw)) = lines.next() {
            let line = strip_cr(raw)?;
            let lno = first_line + i as u32;
            if is_blank_or_comment(line) {
                continue;
            }
            let (key, rest) = line.split_once(':')?;
            if !is_simple_key(key) || entries.iter().any(|(k, _)| k.as_scalar() == Some(key)) {
                return None;
            }
            let key_node = scalar(key, lno, 1);
            let value = if rest.is_empty() {
                match block_list(&mut lines, first_line)? {
                    Some(seq) => seq,
                    None => scalar("", lno, key.len() as u32 + 1),
                }
            } else {
                let v = rest.strip_prefix(' ')?;
                let col = key.len() as u32 + 3 + leading_spaces(v);
                let v = v.trim_matches(' ');
                if v.is_empty() {
                    return None;
                }
                if v.starts_with('[') {
                    flow_list(v, lno, col)?
                } else if is_simple_scalar(v) {
                    scalar(v, lno, col)
                } else {
                    return None;
                }
            };
            nodes += 2 + match &value.value {
                Value::Seq(seq) => seq.items.len(),
                _ => 0,
            };
            if nodes > MAX_SIMPLE_NODES {
                return None;
            }
            entries.push((key_node, value));
        }
        let pos = entries.first()?.0.pos;
        Some(Node {
            value: Value::Map(entries),
            pos,
        })
    }

    fn strip_cr(line: &str) -> Option<&str> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // A lone CR is a line break to YAML; leave that to the full parser.
        (!line.contains('\r')).then_some(line)
    }

    fn is_blank_or_comment(line: &str) -> bool {
        let t = line.trim_start_matches(' ');
        t.is_empty() || t.starts_with('#')
    }

    fn leading_spaces(s: &str) -> u32 {
        (s.len() - s.trim_start_matches(' ').len()) as u32
    }

    fn scalar(text: &str, line: u32, col: u32) -> Node {
        Node {
            value: Value::Scalar(Scalar {
                text: text.to_owned(),
                style: Style::Plain,
            }),
            pos: Pos { line, col },
        }
    }

    fn is_simple_key(key: &str) -> bool {
        let b = key.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphabetic()
            && b.iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    }

    /// A plain scalar that means the same to every YAML reader: starts with
    /// no indicator, holds no `: ` or ` #`, no tab or control character, does
    /// not end in `:`.
    fn is_simple_scalar(v: &str) -> bool {
        let Some(first) = v.chars().next() else {
            return false;
        };
        !"-?:,[]{}#&*!|>'\"%@`".contains(first)
            && !v.ends_with(':')
            && !v.contains(": ")
            && !v.contains(" #")
            && !v
                .chars()
                .any(|c| c.is_control() || (c.is_whitespace() && c != ' ') || c == '\u{feff}')
            && v == v.trim()
            && !matches!(v, "---" | "...")
    }

    /// `[a, b, c]` on one line, items simple scalars without `,[]{}`.
    fn flow_list(v: &str, line: u32, col: u32) -> Option<Node> {
        let inner = v.strip_prefix('[')?.strip_suffix(']')?;
        let mut items = Vec::new();
        if !inner.trim_matches(' ').is_empty() {
            // Columns count characters, not bytes.
            let mut at = col + 1;
            for part in inner.split(',') {
                let lead = leading_spaces(part);
                let item = part.trim_matches(' ');
                if item.is_empty() || !is_simple_scalar(item) || item.contains(['[', ']', '{', '}'])
                {
                    return None;
                }
                items.push(scalar(item, line, at + lead));
                at += part.chars().count() as u32 + 1;
            }
        } else if !inner.is_empty() {
            return None;
        }
        Some(Node {
            value: Value::Seq(Seq { items, flow: true }),
            pos: Pos { line, col },
        })
    }

    /// The block list after a `key:` line, if the next lines are `- item`s
    /// (all at one indentation). `Some(None)`: no list follows.
    fn block_list<'a>(
        lines: &mut std::iter::Peekable<impl Iterator<Item = (usize, &'a str)>>,
        first_line: u32,
    ) -> Option<Option<Node>> {
        let mut items = Vec::new();
        let mut indent = None;
        let mut start = None;
        while let Some(&(i, raw)) = lines.peek() {
            let line = strip_cr(raw)?;
            let t = line.trim_start_matches(' ');
            // A blank or comment line ends the list here; should the list
            // go on after it, the next `- item` line is not a `key:` line
            // and the whole document goes to the full parser.
            let Some(rest) = t.strip_prefix('-') else {
                break;
            };
            let this = leading_spaces(line);
            if *indent.get_or_insert(this) != this {
                return None;
            }
            let lno = first_line + i as u32;
            let v = rest.strip_prefix(' ')?;
            let col = this + 3 + leading_spaces(v);
            let v = v.trim_matches(' ');
            if !is_simple_scalar(v) {
                return None;
            }
            // The full parser places an indentless list (`- a` right
            // under its key) at its first item, an indented one at the dash.
            start.get_or_insert(Pos {
                line: lno,
                col: if this == 0 { col } else { this + 1 },
            });
            items.push(scalar(v, lno, col));
            lines.next();
            if items.len() > MAX_SIMPLE_NODES {
                return None;
            }
        }
        Some(start.map(|pos| Node {
            value: Value::Seq(Seq { items, flow: false }),
            pos,
        }))
    }
}

/// The position just past the last character of `yaml`, counting line
/// breaks as the parser does (`\r\n`, `\n` or a lone `\r`).
fn end_pos(yaml: &str, first_line: u32) -> Pos {
    let (mut line, mut col) = (first_line, 1);
    let mut chars = yaml.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                line += 1;
                col = 1;
            }
            _ => col += 1,
        }
    }
    Pos { line, col }
}

#[derive(Default)]
struct Builder {
    first_line: u32,
    /// Just past the last character; see [`Builder::pos_of`].
    end: Pos,
    stack: Vec<Frame>,
    root: Option<Node>,
    documents: usize,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    /// Depth of containers being skipped because they are too deep or over
    /// budget; while > 0 nothing is built.
    skipping: usize,
    problems: Vec<Problem>,
}

struct Frame {
    node: Node,
    anchor: usize,
    /// For mappings: a key waiting for its value.
    pending_key: Option<Node>,
}

impl Builder {
    fn pos_of(&self, line: usize, col: usize) -> Pos {
        // At the end of input without a final newline the parser reports
        // the start of a line that does not exist.
        Pos {
            line: line as u32 + self.first_line - 1,
            col: col as u32 + 1,
        }
        .min(self.end)
    }

    /// Feeds one event; returns `true` to stop reading.
    fn event(&mut self, ev: Event<'_>, span: Span) -> bool {
        let pos = self.pos_of(span.start.line(), span.start.col());
        match ev {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    self.problems.push(Problem {
                        pos,
                        kind: ProblemKind::MultipleDocuments,
                    });
                    return true;
                }
            }
            Event::Alias(id) => {
                if self.skipping > 0 {
                    return false;
                }
                match self.anchors.get(&id).map(|t| (count(t), t.clone())) {
                    Some((size, target)) => {
                        if !self.charge(size, pos) {
                            return true;
                        }
                        let mut node = target;
                        node.pos = pos;
                        self.push_value(node);
                    }
                    None => self.problems.push(Problem {
                        pos,
                        kind: ProblemKind::UnknownAlias,
                    }),
                }
            }
            Event::Scalar(text, style, anchor, _tag) => {
                if self.skipping > 0 {
                    return false;
                }
                if !self.charge(1, pos) {
                    return true;
                }
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let node = Node {
                    value: Value::Scalar(Scalar {
                        text: text.into_owned(),
                        style,
                    }),
                    pos,
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_value(node);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.skipping > 0 {
                    self.skipping += 1;
                    return false;
                }
                if self.stack.len() >= MAX_DEPTH {
                    self.problems.push(Problem {
                        pos,
                        kind: ProblemKind::TooDeep,
                    });
                    self.skipping = 1;
                    return false;
                }
                if !self.charge(1, pos) {
                    return true;
                }
                let value = if matches!(ev, Event::SequenceStart(..)) {
                    // A flow sequence's start span covers its `[`.
                    let flow = span.end.index() > span.start.index();
                    Value::Seq(Seq {
                        items: Vec::new(),
                        flow,
                    })
                } else {
                    Value::Map(Vec::new())
                };
                self.stack.push(Frame {
                    node: Node { value, pos },
                    anchor,
                    pending_key: None,
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if self.skipping > 0 {
                    self.skipping -= 1;
                    if self.skipping == 0 {
                        // The skipped container still occupies a slot.
                        self.push_value(Node {
                            value: Value::Scalar(Scalar {
                                text: String::new(),
                                style: Style::Plain,
                            }),
                            pos,
                        });
                    }
                    return false;
                }
                let Some(frame) = self.stack.pop() else {
                    return false;
                };
                if let Some(key) = frame.pending_key {
                    // Cannot happen with a well-formed event stream; keep the key.
                    let null = Node {
                        value: Value::Scalar(Scalar {
                            text: String::new(),
                            style: Style::Plain,
                        }),
                        pos,
                    };
                    let mut node = frame.node;
                    if let Value::Map(m) = &mut node.value {
                        m.push((key, null));
                    }
                    self.push_value(node);
                    return false;
                }
                if frame.anchor > 0 {
                    self.anchors.insert(frame.anchor, frame.node.clone());
                }
                self.push_value(frame.node);
            }
        }
        false
    }

    /// Counts `n` more nodes against the budget.
    fn charge(&mut self, n: usize, pos: Pos) -> bool {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            self.problems.push(Problem {
                pos,
                kind: ProblemKind::TooManyNodes,
            });
            return false;
        }
        true
    }

    fn push_value(&mut self, node: Node) {
        // Keys of the enclosing mappings, outermost first, for field names.
        let outer: Vec<&str> = self
            .stack
            .iter()
            .rev()
            .skip(1)
            .rev()
            .filter_map(|f| f.pending_key.as_ref().and_then(Node::as_scalar))
            .collect();
        let field_prefix = outer.join(".");
        let Some(top) = self.stack.last_mut() else {
            self.root = Some(node);
            return;
        };
        match &mut top.node.value {
            Value::Seq(seq) => seq.items.push(node),
            Value::Map(entries) => match top.pending_key.take() {
                None => {
                    if !matches!(node.value, Value::Scalar(_)) {
                        self.problems.push(Problem {
                            pos: node.pos,
                            kind: ProblemKind::NonScalarKey,
                        });
                    }
                    top.pending_key = Some(node);
                }
                Some(key) => {
                    if let Some(k) = key.as_scalar()
                        && let Some((first, _)) =
                            entries.iter().find(|(e, _)| e.as_scalar() == Some(k))
                    {
                        self.problems.push(Problem {
                            pos: key.pos,
                            kind: ProblemKind::DuplicateKey {
                                key: k.to_owned(),
                                field: if field_prefix.is_empty() {
                                    k.to_owned()
                                } else {
                                    format!("{field_prefix}.{k}")
                                },
                                first: first.pos,
                            },
                        });
                        // Keep the first value; the second is reported.
                        return;
                    }
                    entries.push((key, node));
                }
            },
            Value::Scalar(_) => {}
        }
    }
}

fn count(node: &Node) -> usize {
    match &node.value {
        Value::Scalar(_) => 1,
        Value::Seq(s) => 1 + s.items.iter().map(count).sum::<usize>(),
        Value::Map(m) => 1 + m.iter().map(|(k, v)| count(k) + count(v)).sum::<usize>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_bomb_is_bounded() {
        let mut y = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            y.push_str(&format!(
                "{}: &{} [*{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}]\n",
                (b'a' + i) as char,
                (b'a' + i) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char,
                (b'a' + i - 1) as char
            ));
        }
        let (_, problems) = parse(&y, 1);
        assert!(
            problems.iter().any(|p| p.kind == ProblemKind::TooManyNodes),
            "{problems:?}"
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let y = format!("a: {}{}\nb: 1\n", "[".repeat(100), "]".repeat(100));
        let (root, problems) = parse(&y, 1);
        assert!(
            problems.iter().any(|p| p.kind == ProblemKind::TooDeep),
            "{problems:?}"
        );
        assert!(matches!(root, Some(Node { value: Value::Map(m), .. }) if m.len() == 2));
        // Far deeper input hits the parser's own recursion limit: still a problem, not a crash.
        let y = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        assert!(!parse(&y, 1).1.is_empty());
    }

    #[test]
    fn fast_path_takes_ordinary_front_matter() {
        let y = "id: 019b8083-6e50-7e5b-a059-73fcc00046d6\r\nshort_id: NL-000hpp\r\n\
                 title: Document export socket\r\nlabels: [bug, p1]\r\n\
                 blocks:\r\n  - NL-a1b2\r\n  - NL-c3d4\r\n# a note\r\nparent:\r\n";
        let fast = simple::parse(y, 2).expect("simple front matter takes the fast path");
        assert_eq!((Some(fast), vec![]), parse_full(y, 2));
        for outside in [
            "a: 'q'\n",
            "a: b # c\n",
            "a:\n  b: c\n",
            "a: 1\na: 2\n",
            "a: &x 1\n",
        ] {
            assert_eq!(simple::parse(outside, 1), None, "{outside:?}");
        }
    }

    #[test]
    fn duplicate_keys_name_both_lines() {
        let (_, problems) = parse("a: 1\nb: 2\na: 3\n", 2);
        assert_eq!(
            problems,
            vec![Problem {
                pos: Pos { line: 4, col: 1 },
                kind: ProblemKind::DuplicateKey {
                    key: "a".into(),
                    field: "a".into(),
                    first: Pos { line: 2, col: 1 }
                }
            }]
        );
    }
}
