//! `nonlinear check`: every problem, rendered for people, machines or
//! GitHub.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use anyhow::anyhow;
use indexer::{git, inferred};
use schema::store::Store;
use schema::{Diagnostic, Severity};

use crate::{Format, Outcome};

/// The violations of the config's architecture rules by manual links and
/// by the analyzer's inferred ones (its file, when there is one; a file
/// that does not parse is itself the problem).
fn architecture(ws: &schema::Workspace, edges: Option<&str>) -> Vec<Diagnostic> {
    let (list, mut out) = match edges.map(inferred::parse) {
        None => (Vec::new(), Vec::new()),
        Some(Ok(list)) => (list, Vec::new()),
        Some(Err(d)) => (Vec::new(), vec![d]),
    };
    out.extend(indexer::rules::violations(ws, &list));
    out
}

pub fn run(
    cwd: &Path,
    format: Format,
    since: Option<&str>,
    rev: Option<&str>,
) -> anyhow::Result<Outcome> {
    // The tree checked: the work tree, or a revision's (`--rev`).
    let (mut diags, files, mut sources, prefix, since_at) = match rev {
        None => {
            let store = Store::discover(cwd)?;
            let (ws, files) = store.load_with(schema::parse::Body::Drop);
            let mut diags = ws.check(&store);
            let edges = std::fs::read_to_string(store.path(inferred::EDGES_PATH)).ok();
            diags.extend(architecture(&ws, edges.as_deref()));
            // The process ends soon; freeing 300k items one by one would
            // take a tenth of a second of nothing.
            std::mem::forget(ws);
            let root = store.root().to_owned();
            let read = root.clone();
            let sources = Sources::new(Box::new(move |p| std::fs::read(read.join(p)).ok()));
            (
                diags,
                files,
                sources,
                LazyPrefix::Disk(root.clone()),
                (root, None),
            )
        }
        Some(r) => {
            let repo = git::Repo::open(cwd)?;
            let at = repo.workspace_at(r)?;
            let mut diags = at.workspace.check(&at.probe);
            let edges = repo
                .read(&at, inferred::EDGES_PATH)
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            diags.extend(architecture(&at.workspace, edges.as_deref()));
            let (files, prefix) = (at.files, at.prefix.clone());
            let top = repo.clone();
            let sources = Sources::new(Box::new(move |p| top.read(&at, p)));
            (
                diags,
                files,
                sources,
                LazyPrefix::Known(prefix.clone()),
                (cwd.to_owned(), Some(prefix)),
            )
        }
    };
    if let Some(since) = since {
        let old = diagnostics_at(&since_at.0, since_at.1.as_deref(), since)?;
        diags = schema::diagnostic::introduced(diags, &old);
    }
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags.len() - errors;
    match format {
        Format::Json => {
            let out = serde_json::json!({
                "ok": errors == 0,
                "files": files,
                "errors": errors,
                "warnings": warnings,
                "since": since,
                "diagnostics": diags,
            });
            outln!("{}", serde_json::to_string_pretty(&out)?);
        }
        Format::Github => {
            let prefix = prefix.get();
            for d in &diags {
                let level = if d.severity == Severity::Error {
                    "error"
                } else {
                    "warning"
                };
                outln!(
                    "::{level} file={},line={},col={},title={}::{}",
                    esc_prop(&format!("{prefix}{}", d.path)),
                    d.pos.line,
                    d.pos.col,
                    esc_prop(d.code.as_str()),
                    esc_data(&message_with_field(d))
                );
            }
            outln!("{}", summary(files, errors, warnings, since));
        }
        Format::Human => {
            let renderer = if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                Renderer::styled()
            } else {
                Renderer::plain()
            };
            for d in &diags {
                outln!("{}\n", render(&renderer, d, &mut sources));
            }
            outln!("{}", summary(files, errors, warnings, since));
        }
    }
    Ok(if errors > 0 {
        Outcome::Problems
    } else {
        Outcome::Ok
    })
}

fn summary(files: usize, errors: usize, warnings: usize, since: Option<&str>) -> String {
    let scope = since
        .map(|r| format!(" introduced since {r}"))
        .unwrap_or_default();
    if errors + warnings == 0 {
        format!("ok: {files} files checked, no problems{scope}")
    } else {
        format!(
            "{}: {files} files checked, {errors} error{}, {warnings} warning{}{scope}",
            if errors > 0 { "error" } else { "warning" },
            plural(errors),
            plural(warnings)
        )
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn message_with_field(d: &Diagnostic) -> String {
    match &d.field {
        Some(f) => format!("{} [field `{f}`]", d.message),
        None => d.message.clone(),
    }
}

/// Reads a workspace file's bytes.
type ReadFile = Box<dyn Fn(&str) -> Option<Vec<u8>>>;

/// File texts for snippets, read once each (from disk, or from the tree of
/// a revision).
struct Sources {
    read: ReadFile,
    files: HashMap<String, Option<String>>,
}

/// The workspace root relative to the repository's top, for GitHub
/// annotations: asked of git only when needed.
enum LazyPrefix {
    Disk(PathBuf),
    Known(String),
}

impl LazyPrefix {
    fn get(&self) -> String {
        match self {
            LazyPrefix::Disk(root) => git_prefix(root),
            LazyPrefix::Known(p) => p.clone(),
        }
    }
}

impl Sources {
    fn new(read: ReadFile) -> Sources {
        Sources {
            read,
            files: HashMap::new(),
        }
    }

    fn line(&mut self, path: &str, line: u32) -> Option<String> {
        let read = &self.read;
        let text = self
            .files
            .entry(path.to_owned())
            .or_insert_with(|| read(path).map(|b| String::from_utf8_lossy(&b).into_owned()));
        let text = text.as_deref()?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        text.split('\n')
            .nth(line as usize - 1)
            .map(|l| l.trim_end_matches('\r').to_owned())
    }
}

/// Byte span of `len` characters from 1-based character column `col`.
fn span(line: &str, col: u32, len: u32) -> std::ops::Range<usize> {
    let mut idx = line
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(line.len()));
    let start = idx
        .nth(col.saturating_sub(1) as usize)
        .unwrap_or(line.len());
    let end = line[start..]
        .char_indices()
        .nth(len as usize)
        .map_or(line.len(), |(i, _)| start + i);
    start..end.max(start)
}

fn render(renderer: &Renderer, d: &Diagnostic, sources: &mut Sources) -> String {
    let level = if d.severity == Severity::Error {
        Level::ERROR
    } else {
        Level::WARNING
    };
    let title = message_with_field(d);
    let main_line = sources.line(&d.path, d.pos.line);
    let mut related_lines = Vec::new();
    for r in &d.related {
        related_lines.push((r, sources.line(&r.path, r.pos.line)));
    }
    let label = d
        .field
        .as_deref()
        .map(|f| format!("`{f}`"))
        .unwrap_or_default();
    let mut group = Group::with_title(level.primary_title(&title).id(d.code.as_str()));
    match &main_line {
        Some(src) => {
            group = group.element(
                Snippet::source(src.as_str())
                    .line_start(d.pos.line as usize)
                    .path(d.path.as_str())
                    .annotation(
                        AnnotationKind::Primary
                            .span(span(src, d.pos.col, d.len))
                            .label(&label),
                    ),
            );
        }
        None => {
            group = group
                .element(Level::NOTE.message(format!("in {}:{}:{}", d.path, d.pos.line, d.pos.col)))
        }
    }
    for (r, src) in &related_lines {
        match src {
            Some(src) if !src.is_empty() => {
                group = group.element(
                    Snippet::source(src.as_str())
                        .line_start(r.pos.line as usize)
                        .path(r.path.as_str())
                        .annotation(
                            AnnotationKind::Context
                                .span(span(src, r.pos.col, 1))
                                .label(&r.message),
                        ),
                );
            }
            _ => {
                group = group.element(Level::NOTE.message(format!(
                    "{}: {}:{}:{}",
                    r.message, r.path, r.pos.line, r.pos.col
                )))
            }
        }
    }
    renderer.render(&[group])
}

/// Problems of the workspace as it was at `rev`, read from git: rooted at
/// `prefix` (relative to the repository's top; by default the directory
/// `dir` is). No problems when the workspace did not exist then.
fn diagnostics_at(dir: &Path, prefix: Option<&str>, rev: &str) -> anyhow::Result<Vec<Diagnostic>> {
    let not_a_rev = || anyhow!("--since {rev}: not a git revision in {}", dir.display());
    let repo = git::Repo::open(dir).map_err(|_| not_a_rev())?;
    let prefix = prefix.unwrap_or(repo.start()).to_owned();
    match repo.workspace_in(rev, &prefix) {
        Ok(Some(at)) => {
            let mut diags = at.workspace.check(&at.probe);
            let edges = repo
                .read(&at, inferred::EDGES_PATH)
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            diags.extend(architecture(&at.workspace, edges.as_deref()));
            Ok(diags)
        }
        Ok(None) => Ok(Vec::new()),
        Err(git::GitError::Rev { .. }) => Err(not_a_rev()),
        Err(e) => Err(e.into()),
    }
}

/// The workspace root relative to its git repository's top, with a
/// trailing `/` (empty at the top or outside git).
fn git_prefix(root: &Path) -> String {
    git_output(root, &["rev-parse", "--show-prefix"]).unwrap_or_default()
}

/// The trimmed standard output of a successful `git` command run in `dir`.
fn git_output(dir: &Path, args: &[&str]) -> Option<String> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

fn esc_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn esc_prop(s: &str) -> String {
    esc_data(s).replace(':', "%3A").replace(',', "%2C")
}
