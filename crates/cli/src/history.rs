//! `diff` and `log`: the workspace's history from git, read with
//! [`indexer::git`] (no checkout), as text, Markdown or JSON.

use std::collections::BTreeSet;
use std::path::Path;

use indexer::change::{self, Change, Diff, ItemDiff};
use indexer::git::{self, Repo};
use indexer::inferred;
use schema::store::Store;
use schema::{Diagnostic, Severity};
use serde_json::{Value, json};

use crate::Outcome;
use crate::edit::Refused;

/// How `diff` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    Text,
    /// GitHub/GitLab-flavoured Markdown, ready to post on a merge request.
    Markdown,
    Json,
}

/// One side of a diff, for headers and JSON.
struct Side {
    /// As given (`main`), or `None` for the work tree.
    spec: Option<String>,
    commit: Option<String>,
    short: Option<String>,
}

impl Side {
    fn of(rev: &git::Rev) -> Side {
        Side {
            spec: Some(rev.spec.clone()),
            commit: Some(rev.commit.clone()),
            short: Some(rev.short.clone()),
        }
    }

    fn label(&self) -> String {
        self.spec.clone().unwrap_or_else(|| "work tree".into())
    }

    fn json(&self) -> Value {
        json!({"rev": self.spec, "commit": self.commit})
    }
}

/// `A..B`, `A..` (to HEAD), `..B` (from HEAD), `A...B` (from the merge
/// base), `A` (to the work tree), nothing (HEAD to the work tree).
enum Range {
    Revs(String, String),
    WorkTree(String),
}

fn range(repo: &Repo, spec: Option<&str>) -> anyhow::Result<Range> {
    let or_head = |s: &str| {
        if s.is_empty() {
            "HEAD".to_owned()
        } else {
            s.to_owned()
        }
    };
    let Some(spec) = spec else {
        return Ok(Range::WorkTree("HEAD".into()));
    };
    if let Some((a, b)) = spec.split_once("...") {
        let (a, b) = (or_head(a), or_head(b));
        return Ok(Range::Revs(repo.merge_base(&a, &b)?, b));
    }
    if let Some((a, b)) = spec.split_once("..") {
        return Ok(Range::Revs(or_head(a), or_head(b)));
    }
    Ok(Range::WorkTree(spec.to_owned()))
}

pub fn diff(cwd: &Path, spec: Option<&str>, format: DiffFormat) -> anyhow::Result<Outcome> {
    let repo = Repo::open(cwd)?;
    let (from, to, files, d, inferred) = match range(&repo, spec)? {
        Range::Revs(a, b) => {
            let d = repo.diff(&a, &b)?;
            let inferred = inferred_changes(
                repo.read_in(&d.from, &d.prefix, inferred::EDGES_PATH)?,
                repo.read_in(&d.to, &d.prefix, inferred::EDGES_PATH)?,
            );
            let mut from = Side::of(&d.from);
            if let Some(spec) = spec.filter(|s| s.contains("...")) {
                // Name the merge base after what it was computed from.
                from.spec = Some(format!("merge base of {}", spec.replace("...", " and ")));
            }
            // The process ends soon; freeing 200k items one by one would
            // take a tenth of a second of nothing.
            std::mem::forget((d.old, d.new));
            (from, Side::of(&d.to), d.files, d.diff, inferred)
        }
        Range::WorkTree(a) => {
            // The work tree's workspace, and the same directory at `a`.
            let store = Store::discover(cwd)?;
            let here = Repo::open(store.root())?;
            let new = store.load();
            let new_problems = new.check(&store);
            let rev = here.rev(&a)?;
            let (old, old_problems) = match here.workspace_in(&a, here.start())? {
                Some(at) => {
                    let p = at.workspace.check(&at.probe);
                    (at.workspace, p)
                }
                None => (schema::Workspace::default(), Vec::new()),
            };
            let d = Diff::between(&old, &new, old_problems, new_problems);
            let files = changed_paths(&d.changes);
            let to = Side {
                spec: None,
                commit: None,
                short: None,
            };
            let inferred = inferred_changes(
                here.read_in(&rev, here.start(), inferred::EDGES_PATH)?,
                std::fs::read(store.path(inferred::EDGES_PATH)).ok(),
            );
            (Side::of(&rev), to, files, d, inferred)
        }
    };
    match format {
        DiffFormat::Json => {
            // A struct, not `json!`: events keep their field order.
            #[derive(serde::Serialize)]
            struct Out<'a> {
                from: Value,
                to: Value,
                files: usize,
                changes: &'a [Change],
                introduced: &'a [Diagnostic],
                fixed: &'a [Diagnostic],
                titles: &'a std::collections::BTreeMap<String, String>,
                /// Inferred Layer-3 links added and removed (the analyzer's
                /// generated file).
                inferred: &'a inferred::Changes,
            }
            let v = Out {
                from: from.json(),
                to: to.json(),
                files,
                changes: &d.changes,
                introduced: &d.introduced,
                fixed: &d.fixed,
                titles: &d.titles,
                inferred: &inferred,
            };
            outln!("{}", serde_json::to_string_pretty(&v)?);
        }
        DiffFormat::Text => out!(
            "{}{}",
            diff_text(&from, &to, files, &d),
            inferred_text(&inferred)
        ),
        DiffFormat::Markdown => out!(
            "{}{}",
            diff_markdown(&from, &to, files, &d, !inferred.is_empty()),
            inferred_markdown(&inferred)
        ),
    }
    Ok(Outcome::Ok)
}

/// The inferred links that changed between two versions of the
/// analyzer's file (either may be absent). A version that does not parse
/// counts as empty, with a warning.
fn inferred_changes(old: Option<Vec<u8>>, new: Option<Vec<u8>>) -> inferred::Changes {
    let read = |bytes: Option<Vec<u8>>, side: &str| {
        let text = String::from_utf8_lossy(bytes.as_deref().unwrap_or_default()).into_owned();
        inferred::parse(&text).unwrap_or_else(|d| {
            eprintln!(
                "warning: {} on the {side} side: {}",
                inferred::EDGES_PATH,
                d.message
            );
            Vec::new()
        })
    };
    inferred::changes(&read(old, "old"), &read(new, "new"))
}

fn inferred_line(e: &inferred::Inferred) -> String {
    let mut evidence: Vec<&str> = e.evidence.iter().map(String::as_str).take(3).collect();
    if e.evidence.len() > 3 {
        evidence.push("…");
    }
    format!(
        "{} → {} {} (inferred, confidence {:.2}; {})",
        e.from,
        e.to,
        e.kind.as_str(),
        e.confidence,
        evidence.join(", ")
    )
}

fn inferred_text(c: &inferred::Changes) -> String {
    if c.is_empty() {
        return String::new();
    }
    let mut out = String::from("\ninferred links (layer 3):\n");
    for e in &c.added {
        out.push_str(&format!("    + {}\n", inferred_line(e)));
    }
    for e in &c.removed {
        out.push_str(&format!("    - {}\n", inferred_line(e)));
    }
    out
}

fn inferred_markdown(c: &inferred::Changes) -> String {
    if c.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n#### Inferred links (layer 3)\n\n");
    for (sign, list) in [("added", &c.added), ("removed", &c.removed)] {
        for e in list {
            let evidence: Vec<String> = e.evidence.iter().take(5).map(|v| code(v)).collect();
            out.push_str(&format!(
                "- {sign}: {} → {} **{}** _(confidence {:.2})_ — {}\n",
                code(&e.from),
                code(&e.to),
                e.kind.as_str(),
                e.confidence,
                evidence.join(", ")
            ));
        }
    }
    out
}

/// Distinct item files the changes name (for a diff against the work tree,
/// which has no tree diff to count).
fn changed_paths(changes: &[Change]) -> usize {
    let keys: BTreeSet<&str> = changes.iter().map(Change::key).collect();
    keys.len()
}

struct Counts {
    created: usize,
    deleted: usize,
    changed: usize,
}

fn counts(items: &[ItemDiff<'_>]) -> Counts {
    let created = items.iter().filter(|i| i.created.is_some()).count();
    let deleted = items.iter().filter(|i| i.deleted.is_some()).count();
    Counts {
        created,
        deleted,
        changed: items.len() - created - deleted,
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn diff_text(from: &Side, to: &Side, files: usize, d: &Diff) -> String {
    let items = change::by_item(&d.changes);
    let c = counts(&items);
    let mut out = format!(
        "diff {}..{}{}: {}, {} created, {} deleted, {} changed; problems: {} introduced, {} fixed\n",
        from.label(),
        to.label(),
        match (&from.short, &to.short) {
            (Some(a), Some(b)) => format!(" ({a}..{b})"),
            (Some(a), None) => format!(" ({a}..)"),
            _ => String::new(),
        },
        plural(files, "file", "files"),
        c.created,
        c.deleted,
        c.changed,
        d.introduced.len(),
        d.fixed.len()
    );
    if !items.is_empty() {
        out.push('\n');
    }
    for i in &items {
        out.push_str(&item_text(i, d, "    "));
    }
    for (title, list) in [
        ("Problems introduced", &d.introduced),
        ("Problems fixed", &d.fixed),
    ] {
        if !list.is_empty() {
            out.push_str(&format!("\n{title}:\n"));
            for p in list.iter() {
                out.push_str(&format!("  {}\n", problem_text(p)));
            }
        }
    }
    out
}

/// `+ KEY  title  (kind)` / `- …` / `~ KEY  title`, then one line per
/// change, indented.
fn item_text(i: &ItemDiff<'_>, d: &Diff, indent: &str) -> String {
    let title = d.titles.get(i.key).map(String::as_str).unwrap_or("");
    let mut out = match (i.created, i.deleted) {
        (Some(Change::Created { kind, .. }), _) => {
            format!("+ {}  {title}  ({}, created)\n", i.key, kind.as_str())
        }
        (_, Some(Change::Deleted { kind, .. })) => {
            // Its links went with it.
            return format!("- {}  {title}  ({}, deleted)\n", i.key, kind.as_str());
        }
        _ => format!("~ {}  {title}\n", i.key),
    };
    for f in &i.fields {
        if let Change::Field {
            field,
            before,
            after,
            ..
        } = f
        {
            out.push_str(&format!(
                "{indent}{field:<11} {}\n",
                field_change(field, before, after)
            ));
        }
    }
    if let Some((before, after)) = i.reparent {
        let (what, text) = reparent(before, after);
        out.push_str(&format!("{indent}{what:<11} {text}\n"));
    }
    for l in &i.links {
        out.push_str(&format!("{indent}{}\n", link_text(l, false)));
    }
    out
}

/// `todo → done`; `(changed)` for descriptions.
fn field_change(field: &str, before: &Value, after: &Value) -> String {
    if field == "description" {
        return "(changed)".into();
    }
    format!("{} → {}", value(field, before), value(field, after))
}

/// `reparented  API → WEB`, `parent set  WEB`, `parent removed  API`.
fn reparent(before: Option<&str>, after: Option<&str>) -> (&'static str, String) {
    match (before, after) {
        (Some(b), Some(a)) => ("reparented", format!("{b} → {a}")),
        (None, Some(a)) => ("parent set", a.to_owned()),
        (Some(b), None) => ("unparented", format!("was {b}")),
        (None, None) => ("parent", String::new()),
    }
}

fn link_text(c: &Change, markdown: bool) -> String {
    let code = |s: &str| {
        if markdown {
            format!("`{s}`")
        } else {
            s.to_owned()
        }
    };
    match c {
        Change::LinkAdded {
            kind, to, layer, ..
        } => format!("+ {} {}  (layer {layer})", kind.as_str(), code(to)),
        Change::LinkRemoved {
            kind, to, layer, ..
        } => format!("- {} {}  (layer {layer})", kind.as_str(), code(to)),
        _ => String::new(),
    }
}

/// A field value as people write it: `none` for absent, `@handle` for
/// members, lists comma-separated.
fn value(field: &str, v: &Value) -> String {
    let person = matches!(field, "assignee" | "owner" | "created_by" | "author");
    match v {
        Value::Null => "none".into(),
        Value::String(s) if person => format!("@{s}"),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "none".into(),
        Value::Array(a) => a
            .iter()
            .map(|x| value(field, x))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn problem_text(p: &Diagnostic) -> String {
    format!(
        "{:<7} {}:{}:{}  [{}] {}",
        severity(p),
        p.path,
        p.pos.line,
        p.pos.col,
        p.code.as_str(),
        p.message
    )
}

fn severity(p: &Diagnostic) -> &'static str {
    if p.severity == Severity::Error {
        "error"
    } else {
        "warning"
    }
}

/// Escapes what Markdown would take for markup in free text (titles,
/// messages).
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(
            ch,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~'
        ) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Inline code that survives backticks inside.
fn code(s: &str) -> String {
    if s.contains('`') {
        format!("`` {s} ``")
    } else {
        format!("`{s}`")
    }
}

fn diff_markdown(from: &Side, to: &Side, files: usize, d: &Diff, more: bool) -> String {
    let items = change::by_item(&d.changes);
    let c = counts(&items);
    let mut out = format!(
        "### Non-Linear changes: {} → {}\n\n",
        code(&from.label()),
        code(&to.label())
    );
    let mut summary = Vec::new();
    if let (Some(a), b) = (&from.short, &to.short) {
        summary.push(format!(
            "{} → {}",
            code(a),
            b.as_deref().map_or_else(|| "work tree".to_owned(), code)
        ));
    }
    summary.push(plural(files, "file", "files"));
    summary.push(format!("{} created", c.created));
    summary.push(format!("{} deleted", c.deleted));
    summary.push(format!("{} changed", c.changed));
    summary.push(format!(
        "{} introduced",
        plural(d.introduced.len(), "problem", "problems")
    ));
    summary.push(format!("{} fixed", d.fixed.len()));
    out.push_str(&summary.join(" · "));
    out.push('\n');
    if items.is_empty() && d.introduced.is_empty() && d.fixed.is_empty() {
        if !more {
            out.push_str("\nNo changes to tracked items.\n");
        }
        return out;
    }
    let title = |key: &str| {
        d.titles
            .get(key)
            .map(|t| format!(" {}", md(t)))
            .unwrap_or_default()
    };
    let links = |i: &ItemDiff<'_>, out: &mut String| {
        if let Some((before, after)) = i.reparent {
            let (what, text) = match (before, after) {
                (Some(b), Some(a)) => ("reparented", format!("{} → {}", code(b), code(a))),
                (None, Some(a)) => ("parent", code(a)),
                (Some(b), None) => ("unparented", format!("was {}", code(b))),
                (None, None) => ("parent", String::new()),
            };
            out.push_str(&format!("  - {what}: {text}\n"));
        }
        for l in &i.links {
            let (sign, kind, to, layer) = match l {
                Change::LinkAdded {
                    kind, to, layer, ..
                } => ("link added", kind, to, layer),
                Change::LinkRemoved {
                    kind, to, layer, ..
                } => ("link removed", kind, to, layer),
                _ => continue,
            };
            out.push_str(&format!(
                "  - {sign}: {} {} _(layer {layer})_\n",
                kind.as_str(),
                code(to)
            ));
        }
    };
    let created: Vec<&ItemDiff<'_>> = items.iter().filter(|i| i.created.is_some()).collect();
    if !created.is_empty() {
        out.push_str("\n#### Created\n\n");
        for i in created {
            let kind = match i.created {
                Some(Change::Created { kind, .. }) => kind.as_str(),
                _ => "",
            };
            out.push_str(&format!("- {}{} _({kind})_\n", code(i.key), title(i.key)));
            links(i, &mut out);
        }
    }
    let deleted: Vec<&ItemDiff<'_>> = items.iter().filter(|i| i.deleted.is_some()).collect();
    if !deleted.is_empty() {
        out.push_str("\n#### Deleted\n\n");
        for i in deleted {
            let kind = match i.deleted {
                Some(Change::Deleted { kind, .. }) => kind.as_str(),
                _ => "",
            };
            out.push_str(&format!(
                "- ~~{}{}~~ _({kind})_\n",
                code(i.key),
                title(i.key)
            ));
        }
    }
    let changed: Vec<&ItemDiff<'_>> = items
        .iter()
        .filter(|i| i.created.is_none() && i.deleted.is_none())
        .collect();
    if !changed.is_empty() {
        out.push_str("\n#### Changed\n\n");
        for i in changed {
            out.push_str(&format!("- {}{}\n", code(i.key), title(i.key)));
            for f in &i.fields {
                if let Change::Field {
                    field,
                    before,
                    after,
                    ..
                } = f
                {
                    let text = if field == "description" {
                        "changed".to_owned()
                    } else {
                        format!(
                            "{} → {}",
                            code(&value(field, before)),
                            code(&value(field, after))
                        )
                    };
                    out.push_str(&format!("  - {field}: {text}\n"));
                }
            }
            links(i, &mut out);
        }
    }
    for (heading, mark, list) in [
        ("Problems introduced", "❌", &d.introduced),
        ("Problems fixed", "✅", &d.fixed),
    ] {
        if list.is_empty() {
            continue;
        }
        out.push_str(&format!("\n#### {heading} ({})\n\n", list.len()));
        for p in list.iter() {
            out.push_str(&format!(
                "- {mark} {} {} {}: {}\n",
                severity(p),
                code(&format!("{}:{}:{}", p.path, p.pos.line, p.pos.col)),
                code(p.code.as_str()),
                md(&p.message)
            ));
        }
    }
    out
}

pub fn log(cwd: &Path, rev: Option<&str>, reference: &str, json: bool) -> anyhow::Result<Outcome> {
    let repo = Repo::open(cwd)?;
    let log = match repo.log(rev.unwrap_or("HEAD"), reference) {
        Ok(l) => l,
        Err(e @ git::GitError::NoItem { .. }) => return Err(Refused(e.to_string()).into()),
        Err(e) => return Err(e.into()),
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&log)?);
        return Ok(Outcome::Ok);
    }
    let mut out = format!("{}  {}  ({})\n", log.key, log.title, log.path);
    for e in &log.entries {
        out.push_str(&format!(
            "\n{}  {}  {} <{}>  {}\n",
            e.commit, e.date, e.author, e.email, e.summary
        ));
        let d = Diff {
            changes: e.changes.clone(),
            ..Diff::default()
        };
        for i in change::by_item(&e.changes) {
            if let Some(Change::Created { kind, title, .. }) = i.created {
                out.push_str(&format!(
                    "    {:<11} {} {title}\n",
                    "created",
                    kind.as_str()
                ));
            }
            // The item line is the header's business; keep its changes.
            let text = item_text(&i, &d, "    ");
            for line in text.lines().skip(1) {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out!("{out}");
    Ok(Outcome::Ok)
}
