//! Format-preserving edits to front matter.
//!
//! An edit changes only the bytes it must: a status change rewrites the
//! status value and nothing else, so comments, key order, quoting style,
//! unknown fields and the Markdown body survive byte for byte, and a git diff
//! shows one line per change. We locate values with the same positioned YAML
//! tree the parser uses, then splice text; we never re-serialize a document.

use crate::ids;
use crate::text::{self, LineIndex};
use crate::yaml::{self, Node, Style, Value};

/// A value to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// Text; quoted when YAML would otherwise read it as something else.
    Str(String),
    /// Written as is: numbers, dates, timestamps, UUIDs.
    Raw(String),
}

impl Scalar {
    pub fn str(s: impl Into<String>) -> Scalar {
        Scalar::Str(s.into())
    }
    pub fn raw(s: impl Into<String>) -> Scalar {
        Scalar::Raw(s.into())
    }
}

/// One change to a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Sets a top-level scalar field, adding it if missing.
    Set { key: String, value: Scalar },
    /// Removes a top-level field (no-op if missing).
    Unset { key: String },
    /// Adds a string to a list field unless present (case-insensitive).
    Add { key: String, value: String },
    /// Removes a string from a list field; removes the field when it empties.
    Remove { key: String, value: String },
    /// Replaces the whole list.
    SetList { key: String, values: Vec<String> },
    /// Rewrites references to `from` (short id, any case) as `to`, in the
    /// scalar or list field `key`.
    Rename {
        key: String,
        from: String,
        to: String,
    },
    /// Replaces the Markdown body.
    SetBody(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("the file has no readable front matter: {0}")]
    Unreadable(String),
    #[error("field `{0}` is not a list")]
    NotAList(String),
    #[error("field `{0}` is not a single value")]
    NotAScalar(String),
}

/// Applies `ops` in order and returns the new text.
pub fn apply(text: &str, ops: &[Op]) -> Result<String, EditError> {
    // A byte order mark stays where it was, outside the edited text.
    let (bom, text) = match text.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", text),
    };
    let mut out = text.to_owned();
    for op in ops {
        out = apply_one(&out, op)?;
    }
    Ok(format!("{bom}{out}"))
}

/// Renders a new file from fields in the given order and a body.
pub fn render(fields: &[(&str, Field)], body: &str) -> String {
    let mut s = String::from("---\n");
    for (k, f) in fields {
        match f {
            Field::Scalar(v) => s.push_str(&format!("{k}: {}\n", render_scalar(v, Style::Plain))),
            Field::List(vs) => s.push_str(&format!("{k}: {}\n", render_flow(vs))),
        }
    }
    s.push_str("---\n");
    if !body.is_empty() {
        s.push('\n');
        s.push_str(body);
        if !body.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

/// A field for [`render`].
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Scalar(Scalar),
    List(Vec<String>),
}

/// The parsed shape of a file, enough to splice.
struct Doc<'t> {
    text: &'t str,
    lines: LineIndex,
    /// Line of the closing fence.
    close_line: u32,
    body_start: usize,
    entries: Vec<Entry>,
    eol: &'static str,
}

struct Entry {
    key: String,
    key_line: u32,
    /// First line after the entry.
    end_line: u32,
    value: Node,
}

impl<'t> Doc<'t> {
    fn parse(text: &'t str) -> Result<Doc<'t>, EditError> {
        let split =
            text::split_front_matter(text).map_err(|e| EditError::Unreadable(e.to_string()))?;
        let lines = LineIndex::new(text);
        let (root, problems) = yaml::parse(&text[split.yaml.clone()], split.yaml_line);
        if let Some(p) = problems.first() {
            return Err(EditError::Unreadable(format!(
                "line {}: {}",
                p.pos.line, p.kind
            )));
        }
        let close_line = lines.pos(text, split.yaml.end).line;
        let entries_raw = match root {
            Some(Node {
                value: Value::Map(m),
                ..
            }) => m,
            Some(n) if n.is_null() => Vec::new(),
            None => Vec::new(),
            Some(_) => {
                return Err(EditError::Unreadable(
                    "front matter is not a mapping".into(),
                ));
            }
        };
        let mut entries: Vec<Entry> = Vec::with_capacity(entries_raw.len());
        for (k, v) in entries_raw {
            let Some(key) = k.as_scalar() else { continue };
            entries.push(Entry {
                key: key.to_owned(),
                key_line: k.pos.line,
                end_line: close_line,
                value: v,
            });
        }
        for i in 0..entries.len() {
            let next = entries.get(i + 1).map_or(close_line, |e| e.key_line);
            // Blank and column-0 comment lines before the next key belong to it.
            let mut end = next;
            while end > entries[i].key_line + 1 {
                let l = &text[lines.line_range(text, end - 1)];
                let t = l.trim();
                if t.is_empty() || (l.starts_with('#')) {
                    end -= 1
                } else {
                    break;
                }
            }
            entries[i].end_line = end;
        }
        Ok(Doc {
            text,
            lines,
            close_line,
            body_start: split.body.start,
            entries,
            eol: text::line_ending(text),
        })
    }

    fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }

    fn line_start(&self, line: u32) -> usize {
        if line as usize > self.lines.line_count() {
            self.text.len()
        } else {
            self.lines.line_start(line)
        }
    }

    fn offset(&self, node: &Node) -> usize {
        self.lines
            .offset(self.text, node.pos.line, node.pos.col as usize - 1)
    }

    fn splice(&self, range: std::ops::Range<usize>, with: &str) -> String {
        let mut s = String::with_capacity(self.text.len() + with.len());
        s.push_str(&self.text[..range.start]);
        s.push_str(with);
        s.push_str(&self.text[range.end..]);
        s
    }

    fn entry_range(&self, e: &Entry) -> std::ops::Range<usize> {
        self.line_start(e.key_line)..self.line_start(e.end_line)
    }

    /// Inserts a new `key: value` line at the end of the front matter.
    fn insert_entry(&self, key: &str, rendered: &str) -> String {
        let at = self.line_start(self.close_line);
        self.splice(at..at, &format!("{key}: {rendered}{}", self.eol))
    }

    fn replace_entry(&self, e: &Entry, rendered: &str) -> String {
        self.splice(
            self.entry_range(e),
            &format!("{}: {rendered}{}", e.key, self.eol),
        )
    }

    /// Source range of a one-line scalar, if it can be found exactly.
    fn scalar_range(&self, node: &Node, in_flow: bool) -> Option<std::ops::Range<usize>> {
        let Value::Scalar(s) = &node.value else {
            return None;
        };
        let start = self.offset(node);
        let rest = &self.text[start..];
        let line = &rest[..rest.find(['\n', '\r']).unwrap_or(rest.len())];
        let len = match s.style {
            Style::DoubleQuoted => quoted_len(line, '"')?,
            Style::SingleQuoted => quoted_len(line, '\'')?,
            Style::Plain => {
                let mut end = line.len();
                if let Some(i) = line.find(" #").or_else(|| line.find("\t#")) {
                    end = end.min(i);
                }
                if in_flow && let Some(i) = line.find([',', ']', '}']) {
                    end = end.min(i);
                }
                let len = line[..end].trim_end().len();
                // The scalar must be exactly what we found (no multi-line plain).
                if line[..len] != *s.text {
                    return None;
                }
                len
            }
            Style::Literal | Style::Folded => return None,
        };
        Some(start..start + len)
    }

    /// Whether the entry is one line holding its value.
    fn single_line(&self, e: &Entry) -> bool {
        e.end_line == e.key_line + 1 && e.value.pos.line == e.key_line
    }
}

fn quoted_len(line: &str, q: char) -> Option<usize> {
    let mut chars = line.char_indices();
    if chars.next()?.1 != q {
        return None;
    }
    let mut prev_escape = false;
    let mut iter = chars.peekable();
    while let Some((i, c)) = iter.next() {
        if q == '"' {
            if prev_escape {
                prev_escape = false;
            } else if c == '\\' {
                prev_escape = true;
            } else if c == '"' {
                return Some(i + 1);
            }
        } else if c == '\'' {
            if iter.peek().map(|(_, c)| *c) == Some('\'') {
                iter.next();
            } else {
                return Some(i + 1);
            }
        }
    }
    None
}

fn apply_one(text: &str, op: &Op) -> Result<String, EditError> {
    let doc = Doc::parse(text)?;
    match op {
        Op::Set { key, value } => Ok(set(&doc, key, value)),
        Op::Unset { key } => Ok(match doc.entry(key) {
            Some(e) => doc.splice(doc.entry_range(e), ""),
            None => text.to_owned(),
        }),
        Op::Add { key, value } => add(&doc, key, value),
        Op::Remove { key, value } => remove(&doc, key, value),
        Op::SetList { key, values } => Ok(set_list(&doc, key, values)),
        Op::Rename { key, from, to } => rename(&doc, key, from, to),
        Op::SetBody(body) => {
            let mut s = doc.text[..doc.body_start].to_owned();
            if !body.is_empty() {
                let body = if doc.eol == "\r\n" {
                    body.replace("\r\n", "\n").replace('\n', "\r\n")
                } else {
                    body.clone()
                };
                if !body.starts_with(['\n', '\r']) {
                    s.push_str(doc.eol);
                }
                s.push_str(&body);
                if !body.ends_with('\n') {
                    s.push_str(doc.eol);
                }
            }
            Ok(s)
        }
    }
}

fn set(doc: &Doc<'_>, key: &str, value: &Scalar) -> String {
    let Some(e) = doc.entry(key) else {
        return doc.insert_entry(key, &render_scalar(value, Style::Plain));
    };
    if doc.single_line(e)
        && let Value::Scalar(s) = &e.value.value
        && let Some(range) = doc.scalar_range(&e.value, false)
    {
        let rendered = render_scalar(value, s.style);
        if range.is_empty() {
            // `key:` with nothing after: keep one space after the colon.
            let needs_space = !doc.text[..range.start].ends_with(' ');
            return doc.splice(
                range,
                &format!("{}{rendered}", if needs_space { " " } else { "" }),
            );
        }
        return doc.splice(range, &rendered);
    }
    doc.replace_entry(e, &render_scalar(value, Style::Plain))
}

fn list_items(e: &Entry) -> Option<(&[Node], bool)> {
    match &e.value.value {
        Value::Seq(s) => Some((&s.items, s.flow)),
        _ => None,
    }
}

fn item_text(n: &Node) -> Option<&str> {
    n.as_scalar()
}

fn same(a: &str, b: &str) -> bool {
    ids::normalize(a) == ids::normalize(b)
}

fn add(doc: &Doc<'_>, key: &str, value: &str) -> Result<String, EditError> {
    let Some(e) = doc.entry(key) else {
        return Ok(doc.insert_entry(key, &render_flow(&[value.to_owned()])));
    };
    if e.value.is_null() {
        return Ok(doc.replace_entry(e, &render_flow(&[value.to_owned()])));
    }
    let Some((items, flow)) = list_items(e) else {
        // A single scalar used as a one-element list.
        let Some(cur) = e.value.as_scalar() else {
            return Err(EditError::NotAList(key.into()));
        };
        if same(cur, value) {
            return Ok(doc.text.to_owned());
        }
        return Ok(doc.replace_entry(e, &render_flow(&[cur.to_owned(), value.to_owned()])));
    };
    if items
        .iter()
        .any(|n| item_text(n).is_some_and(|t| same(t, value)))
    {
        return Ok(doc.text.to_owned());
    }
    if flow {
        return flow_insert(doc, e, items, value);
    }
    // Block list: add a line after the last item, indented like it.
    let last = items.last().expect("block lists are never empty");
    let last_line = last.pos.line;
    let line = &doc.text[doc.lines.line_range(doc.text, last_line)];
    let dash = line.find('-').unwrap_or(0);
    let at = doc.line_start(e.end_line);
    Ok(doc.splice(
        at..at,
        &format!(
            "{}- {}{}",
            &line[..dash],
            render_scalar(&Scalar::Str(value.to_owned()), Style::Plain),
            doc.eol
        ),
    ))
}

/// Adds to a one-line flow list before its `]`.
fn flow_insert(doc: &Doc<'_>, e: &Entry, items: &[Node], value: &str) -> Result<String, EditError> {
    if !doc.single_line(e) {
        let mut all: Vec<String> = items
            .iter()
            .filter_map(item_text)
            .map(str::to_owned)
            .collect();
        all.push(value.to_owned());
        return Ok(doc.replace_entry(e, &render_flow(&all)));
    }
    let range = doc.entry_range(e);
    let line = &doc.text[range.clone()];
    let Some(close) = flow_close(line) else {
        let mut all: Vec<String> = items
            .iter()
            .filter_map(item_text)
            .map(str::to_owned)
            .collect();
        all.push(value.to_owned());
        return Ok(doc.replace_entry(e, &render_flow(&all)));
    };
    let at = range.start + close;
    let before = doc.text[..at].trim_end();
    let rendered = render_flow_item(value);
    let insert = if before.ends_with('[') {
        rendered
    } else {
        format!(", {rendered}")
    };
    let trimmed_at = before.len();
    Ok(doc.splice(trimmed_at..at, &insert))
}

/// Offset of the `]` closing the first flow list on a line.
fn flow_close(line: &str) -> Option<usize> {
    let open = line.find('[')?;
    let mut chars = line[open..].char_indices().peekable();
    let mut prev = ' ';
    // A quote opens a quoted scalar only where an item starts; inside a
    // plain scalar (`a"b`) it is just a character.
    let mut item_start = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' if item_start => {
                // Skip to the closing quote: `\x` escapes in double quotes,
                // `''` in single quotes.
                loop {
                    match chars.next()? {
                        (_, '\\') if c == '"' => {
                            chars.next();
                        }
                        (_, q) if q == c => {
                            if c == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') {
                                chars.next();
                            } else {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            ']' => return Some(open + i),
            '#' if prev == ' ' => return None,
            _ => {}
        }
        if c != ' ' && c != '\t' {
            item_start = matches!(c, '[' | ',');
        }
        prev = c;
    }
    None
}

fn remove(doc: &Doc<'_>, key: &str, value: &str) -> Result<String, EditError> {
    let Some(e) = doc.entry(key) else {
        return Ok(doc.text.to_owned());
    };
    let Some((items, flow)) = list_items(e) else {
        return Ok(match e.value.as_scalar() {
            Some(cur) if same(cur, value) => doc.splice(doc.entry_range(e), ""),
            _ => doc.text.to_owned(),
        });
    };
    let Some(idx) = items
        .iter()
        .position(|n| item_text(n).is_some_and(|t| same(t, value)))
    else {
        return Ok(doc.text.to_owned());
    };
    if items.len() == 1 {
        return Ok(doc.splice(doc.entry_range(e), ""));
    }
    if flow {
        let rest: Vec<String> = items
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != idx)
            .filter_map(|(_, n)| item_text(n))
            .map(str::to_owned)
            .collect();
        if doc.single_line(e) {
            // Cut the item and one separating comma, keep the rest as written.
            let Some(r) = doc.scalar_range(&items[idx], true) else {
                return Ok(doc.replace_entry(e, &render_flow(&rest)));
            };
            let (mut start, mut end) = (r.start, r.end);
            let after = &doc.text[end..];
            let before = &doc.text[..start];
            if let Some(comma) = after.find(',').filter(|&c| after[..c].trim().is_empty()) {
                end += comma + 1;
                end += doc.text[end..].len() - doc.text[end..].trim_start_matches(' ').len();
            } else if let Some(comma) = before
                .rfind(',')
                .filter(|&c| before[c + 1..].trim().is_empty())
            {
                start = comma;
            }
            return Ok(doc.splice(start..end, ""));
        }
        return Ok(doc.replace_entry(e, &render_flow(&rest)));
    }
    let line = items[idx].pos.line;
    let next_line = items.get(idx + 1).map_or(e.end_line, |n| n.pos.line);
    Ok(doc.splice(doc.line_start(line)..doc.line_start(next_line), ""))
}

fn set_list(doc: &Doc<'_>, key: &str, values: &[String]) -> String {
    if values.is_empty() {
        return match doc.entry(key) {
            Some(e) => doc.splice(doc.entry_range(e), ""),
            None => doc.text.to_owned(),
        };
    }
    match doc.entry(key) {
        None => doc.insert_entry(key, &render_flow(values)),
        Some(e) => {
            let current: Vec<&str> = match list_items(e) {
                Some((items, _)) => items.iter().filter_map(item_text).collect(),
                None => e.value.as_scalar().into_iter().collect(),
            };
            if current.len() == values.len() && current.iter().zip(values).all(|(a, b)| a == b) {
                return doc.text.to_owned();
            }
            // Apply as removals and additions so block lists change line by line.
            let mut text = doc.text.to_owned();
            for cur in &current {
                if !values.iter().any(|v| same(v, cur)) {
                    text = apply_one(
                        &text,
                        &Op::Remove {
                            key: key.into(),
                            value: (*cur).to_owned(),
                        },
                    )
                    .unwrap_or(text);
                }
            }
            for v in values {
                if !current.iter().any(|c| same(c, v)) {
                    text = apply_one(
                        &text,
                        &Op::Add {
                            key: key.into(),
                            value: v.clone(),
                        },
                    )
                    .unwrap_or(text);
                }
            }
            text
        }
    }
}

fn rename(doc: &Doc<'_>, key: &str, from: &str, to: &str) -> Result<String, EditError> {
    let Some(e) = doc.entry(key) else {
        return Ok(doc.text.to_owned());
    };
    let nodes: Vec<&Node> = match &e.value.value {
        Value::Scalar(_) => vec![&e.value],
        Value::Seq(s) => s.items.iter().collect(),
        Value::Map(_) => return Err(EditError::NotAList(key.into())),
    };
    let in_flow = matches!(&e.value.value, Value::Seq(s) if s.flow);
    // Splice from the end so earlier offsets stay valid.
    let mut text = doc.text.to_owned();
    let mut ranges = Vec::new();
    for n in nodes {
        if n.as_scalar().is_some_and(|t| same(t, from)) {
            let Some(r) = doc.scalar_range(n, in_flow) else {
                return Err(EditError::NotAScalar(key.into()));
            };
            let style = match &n.value {
                Value::Scalar(s) => s.style,
                _ => Style::Plain,
            };
            let rendered = match style {
                // Inside `[…]` a plain item must also avoid `,`, `]` and co.
                Style::Plain if in_flow => render_flow_item(to),
                _ => render_scalar(&Scalar::Str(to.to_owned()), style),
            };
            ranges.push((r, rendered));
        }
    }
    for (r, with) in ranges.into_iter().rev() {
        text.replace_range(r, &with);
    }
    Ok(text)
}

/// Renders a scalar, in `prefer`'s quoting style when it can hold the value.
pub fn render_scalar(value: &Scalar, prefer: Style) -> String {
    match value {
        Scalar::Raw(s) => s.clone(),
        Scalar::Str(s) => match prefer {
            Style::SingleQuoted if !s.chars().any(|c| c.is_control()) => {
                format!("'{}'", s.replace('\'', "''"))
            }
            Style::DoubleQuoted => double_quote(s),
            _ if plain_ok(s, false) => s.clone(),
            _ => double_quote(s),
        },
    }
}

/// One element of a flow list or mapping, quoted when it must be.
pub fn render_flow_item(s: &str) -> String {
    if plain_ok(s, true) {
        s.to_owned()
    } else {
        double_quote(s)
    }
}

/// `[a, b]`.
pub fn render_flow(values: &[String]) -> String {
    format!(
        "[{}]",
        values
            .iter()
            .map(|v| render_flow_item(v))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn double_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `s` reads back as the same string when written plain.
fn plain_ok(s: &str, in_flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // A byte order mark is not allowed in a plain scalar; YAML rejects the file.
    if s.trim() != s
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
        || s.chars().any(|c| c.is_control() || c == '\u{feff}')
    {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    // `[a -]` does not parse: a ` -` right before `,` or `]` reads as the
    // start of a scalar.
    if in_flow && (s.contains([',', '[', ']', '{', '}']) || s.ends_with(" -")) {
        return false;
    }
    // Would be read as null, a boolean or a number by YAML tools.
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "null" | "~" | "true" | "false" | "yes" | "no" | "on" | "off" | ".nan" | ".inf" | "-.inf"
    ) {
        return false;
    }
    s.parse::<f64>().is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(before: &str, ops: &[Op], after: &str) {
        let got = apply(before, ops).unwrap();
        assert_eq!(got, after, "\n--- got ---\n{got}\n--- want ---\n{after}");
    }

    const DOC: &str = "---\n# a comment\nid: 1\ntitle: \"Fix \\\"x\\\"\"  # trailing\nstatus: todo\nlabels: [bug, p1]\nblocks:\n  - NL-aaaa\n  - NL-bbbb\nx-custom: {keep: me}\n---\n\nBody *stays*.\n";

    #[test]
    fn set_keeps_everything_else() {
        check(
            DOC,
            &[Op::Set {
                key: "status".into(),
                value: Scalar::str("done"),
            }],
            &DOC.replace("status: todo", "status: done"),
        );
        check(
            DOC,
            &[Op::Set {
                key: "title".into(),
                value: Scalar::str("New"),
            }],
            &DOC.replace("\"Fix \\\"x\\\"\"", "\"New\""),
        );
        check(
            DOC,
            &[Op::Set {
                key: "assignee".into(),
                value: Scalar::str("ana"),
            }],
            &DOC.replace(
                "x-custom: {keep: me}\n",
                "x-custom: {keep: me}\nassignee: ana\n",
            ),
        );
        check(
            DOC,
            &[Op::Unset {
                key: "labels".into(),
            }],
            &DOC.replace("labels: [bug, p1]\n", ""),
        );
    }

    #[test]
    fn lists_change_one_line() {
        check(
            DOC,
            &[Op::Add {
                key: "labels".into(),
                value: "ui".into(),
            }],
            &DOC.replace("[bug, p1]", "[bug, p1, ui]"),
        );
        check(
            DOC,
            &[Op::Remove {
                key: "labels".into(),
                value: "bug".into(),
            }],
            &DOC.replace("[bug, p1]", "[p1]"),
        );
        check(
            DOC,
            &[Op::Remove {
                key: "labels".into(),
                value: "p1".into(),
            }],
            &DOC.replace("[bug, p1]", "[bug]"),
        );
        check(
            DOC,
            &[Op::Add {
                key: "blocks".into(),
                value: "NL-cccc".into(),
            }],
            &DOC.replace("  - NL-bbbb\n", "  - NL-bbbb\n  - NL-cccc\n"),
        );
        check(
            DOC,
            &[Op::Remove {
                key: "blocks".into(),
                value: "nl-AAAA".into(),
            }],
            &DOC.replace("  - NL-aaaa\n", ""),
        );
        check(
            DOC,
            &[Op::Rename {
                key: "blocks".into(),
                from: "NL-bbbb".into(),
                to: "NL-zzzz".into(),
            }],
            &DOC.replace("NL-bbbb", "NL-zzzz"),
        );
        check(
            DOC,
            &[Op::Add {
                key: "relates_to".into(),
                value: "NL-q".into(),
            }],
            &DOC.replace(
                "x-custom: {keep: me}\n",
                "x-custom: {keep: me}\nrelates_to: [NL-q]\n",
            ),
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(
            render_scalar(&Scalar::str("a: b"), Style::Plain),
            "\"a: b\""
        );
        assert_eq!(render_scalar(&Scalar::str("123"), Style::Plain), "\"123\"");
        assert_eq!(
            render_scalar(&Scalar::str("it's"), Style::SingleQuoted),
            "'it''s'"
        );
        assert_eq!(
            render_scalar(&Scalar::str("plain words"), Style::Plain),
            "plain words"
        );
    }

    #[test]
    fn crlf_is_kept() {
        let doc = "---\r\nstatus: todo\r\n---\r\nbody\r\n";
        check(
            doc,
            &[Op::Set {
                key: "assignee".into(),
                value: Scalar::str("ana"),
            }],
            "---\r\nstatus: todo\r\nassignee: ana\r\n---\r\nbody\r\n",
        );
    }
}
