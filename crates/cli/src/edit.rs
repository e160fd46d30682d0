//! The verbs that write: `init`, `new`, `set`, `link`, `unlink`, `comment`,
//! `react`, `mv`, `rm`, `generate`.
//!
//! `init` and `generate` make new workspaces. The others are thin callers
//! of `indexer::write`, which checks the request, edits the file text with
//! `schema::edit` (only the changed lines differ) and writes it
//! compare-and-swap under the workspace lock; here the acting member is
//! resolved, stdin read, and what was written printed.

use std::cell::OnceCell;
use std::fmt;
use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use clap::Subcommand;
use indexer::write::{
    self, FileAction, NewArtifact, NewComponent, NewIssue, NewItem, WriteError, Writer, Written,
};
use schema::edit::{self as ed, Scalar};
use schema::model::{ArtifactKind, Item};
use schema::store::Store;
use schema::{Config, Workspace, ids, parse};
use serde_json::json;

use crate::Outcome;

/// A change refused because of what was asked (exit code 1), as opposed to
/// a usage or I/O error (exit code 2).
#[derive(Debug)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

pub fn refuse<T>(msg: impl Into<String>) -> anyhow::Result<T> {
    Err(Refused(msg.into()).into())
}

/// A failed write as an exit code: refused (1) when the request was at
/// fault, an error (2) when the config or the file system was.
pub fn refusal(e: WriteError) -> anyhow::Error {
    match e {
        WriteError::NotFound(m)
        | WriteError::Conflict(m)
        | WriteError::Forbidden(m)
        | WriteError::Invalid { message: m, .. } => Refused(m).into(),
        WriteError::Config(m) => anyhow!(m),
        WriteError::Io(e) => e.into(),
    }
}

/// An opened workspace and who is acting, for the read commands.
pub struct Ctx {
    pub store: Store,
    pub config: Config,
    pub json: bool,
    actor_flag: Option<String>,
    actor: OnceCell<Option<String>>,
    workspace: OnceCell<Workspace>,
    /// Set by `--rev`: the workspace is the one at this revision, and the
    /// work tree is not looked at.
    pub rev: Option<indexer::git::Rev>,
}

/// An item file found by reference.
pub struct Found {
    pub rel: String,
    pub item: Item,
}

impl Ctx {
    pub fn open(cwd: &Path, actor: Option<String>, json: bool) -> anyhow::Result<Ctx> {
        let store = Store::discover(cwd)?;
        let bytes = store.read(parse::CONFIG_PATH)?;
        let (config, diags) = parse::parse_config(parse::CONFIG_PATH, &bytes);
        Ok(Ctx {
            store,
            config: write::checked_config(config, &diags).map_err(refusal)?,
            json,
            actor_flag: actor,
            actor: OnceCell::new(),
            workspace: OnceCell::new(),
            rev: None,
        })
    }

    /// The workspace as it was at git revision `rev` (`--rev`), read from
    /// the repository without a checkout; for read commands only.
    pub fn open_at(
        cwd: &Path,
        rev: &str,
        actor: Option<String>,
        json: bool,
    ) -> anyhow::Result<Ctx> {
        let repo = indexer::git::Repo::open(cwd)?;
        let mut at = repo.workspace_at(rev)?;
        let diags: Vec<_> = at
            .workspace
            .file_diagnostics
            .iter()
            .filter(|d| d.path == parse::CONFIG_PATH)
            .cloned()
            .collect();
        let config = write::checked_config(at.workspace.config.clone(), &diags).map_err(refusal)?;
        let workspace = OnceCell::new();
        let _ = workspace.set(std::mem::take(&mut at.workspace));
        Ok(Ctx {
            store: Store::at(cwd),
            config,
            json,
            actor_flag: actor,
            actor: OnceCell::new(),
            workspace,
            rev: Some(at.rev),
        })
    }

    /// The whole workspace, loaded on first use.
    pub fn workspace(&self) -> &Workspace {
        self.workspace.get_or_init(|| self.store.load())
    }

    /// The acting member's handle; see [`acting_member`].
    pub fn actor(&self) -> anyhow::Result<Option<&str>> {
        let actor = self
            .actor
            .get_or_init(|| acting_member(&self.store, &self.config, self.actor_flag.clone()));
        match actor {
            // The member's own spelling: `--as ANA` writes `ana`.
            Some(a) => match self.config.member(a) {
                Some(m) => Ok(Some(m.handle.as_str())),
                None => refuse(format!(
                    "acting member `{a}` is not in .nonlinear/config.yaml"
                )),
            },
            None => Ok(None),
        }
    }

    /// Finds an item by short id or UUID: by file name when it can, by
    /// loading the workspace otherwise.
    pub fn find(&self, reference: &str) -> anyhow::Result<Found> {
        if self.rev.is_some() {
            let Some(item) = self.workspace().resolve(reference) else {
                return refuse(format!("no item {reference} in this workspace"));
            };
            return Ok(Found {
                rel: item.path.clone(),
                item: item.clone(),
            });
        }
        let found = write::find(&self.store, || self.workspace(), reference).map_err(refusal)?;
        Ok(Found {
            rel: found.path,
            item: found.item,
        })
    }
}

/// Who acts: `--as`, `$NONLINEAR_ACTOR` (either without a leading `@`), or
/// the member whose email is git's `user.email`. A handle from the first
/// two may not be a member; whoever uses it checks.
fn acting_member(store: &Store, config: &Config, flag: Option<String>) -> Option<String> {
    if let Some(a) = flag.or_else(|| {
        std::env::var("NONLINEAR_ACTOR")
            .ok()
            .filter(|s| !s.is_empty())
    }) {
        return Some(a.trim_start_matches('@').to_owned());
    }
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(store.root())
        .args(["config", "user.email"])
        .output()
        .ok()?;
    let email = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    config
        .members
        .iter()
        .find(|m| {
            m.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(&email))
        })
        .map(|m| m.handle.clone())
}

/// What the write verbs need: a writer and how to print. Nobody acts until
/// [`Editor::acting`]: resolving the member may ask git, and most verbs
/// never need to.
pub struct Editor {
    writer: Writer,
    json: bool,
    actor_flag: Option<String>,
    /// Whether [`Editor::acting`] found nobody (refusals then say how to
    /// name someone).
    anonymous: bool,
}

impl Editor {
    pub fn open(cwd: &Path, actor: Option<String>, json: bool) -> anyhow::Result<Editor> {
        let writer = Writer::open(Store::discover(cwd)?).map_err(refusal)?;
        Ok(Editor {
            writer,
            json,
            actor_flag: actor,
            anonymous: false,
        })
    }

    /// The editor acting as the resolved member (see [`acting_member`]).
    fn acting(self) -> Editor {
        let actor = acting_member(self.writer.store(), self.writer.config(), self.actor_flag);
        Editor {
            anonymous: actor.is_none(),
            writer: self.writer.with_actor(actor),
            actor_flag: None,
            json: self.json,
        }
    }

    /// Runs `f` on the writer, refusals mapped to exit codes.
    fn write<T>(&self, f: impl FnOnce(&Writer) -> Result<T, WriteError>) -> anyhow::Result<T> {
        f(&self.writer).map_err(|e| match e {
            // Only `me` needs an actor without asking for one up front.
            WriteError::Forbidden(m) if self.anonymous => {
                Refused(format!("{m}: pass --as HANDLE or set NONLINEAR_ACTOR")).into()
            }
            e => refusal(e),
        })
    }
}

pub fn init(dir: &Path, key: &str, name: Option<&str>, json: bool) -> anyhow::Result<Outcome> {
    if !ids::is_short_id(key) || key.contains(['-', '_']) {
        return refuse(format!(
            "--key must be letters and digits starting with a letter, like NL; got `{key}`"
        ));
    }
    let config = dir.join(parse::CONFIG_PATH);
    if config.exists() {
        return refuse(format!("{} already exists", config.display()));
    }
    let name = name.map(str::to_owned).unwrap_or_else(|| {
        std::fs::canonicalize(dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "Project".into())
    });
    let members = match git_user(dir) {
        Some((handle, name, email)) => format!(
            "members:\n  - {{handle: {}, name: {}, email: {}, kind: user}}\n",
            ed::render_flow_item(&handle),
            ed::render_flow_item(&name),
            ed::render_flow_item(&email)
        ),
        None => "members: []\n".to_owned(),
    };
    let text = format!(
        "# Non-Linear workspace configuration. See docs/format.md.\nversion: 1\nkey: {key}\nname: {}\n\n{}",
        ed::render_scalar(&Scalar::str(name), schema::yaml::Style::Plain),
        DEFAULT_CONFIG.replace("members: []\n", &members)
    );
    for d in [
        parse::ISSUES_DIR,
        parse::COMPONENTS_DIR,
        parse::ARTIFACTS_DIR,
        parse::COMMENTS_DIR,
    ] {
        std::fs::create_dir_all(dir.join(d)).with_context(|| format!("creating {d}"))?;
    }
    std::fs::write(&config, text).with_context(|| format!("writing {}", config.display()))?;
    std::fs::write(dir.join(".nonlinear/.gitignore"), "cache/\n")?;
    if json {
        outln!("{}", json!({"created": parse::CONFIG_PATH, "key": key}));
    } else {
        outln!(
            "created {} (key {key}); next: `nonlinear new issue \"…\"`",
            parse::CONFIG_PATH
        );
    }
    Ok(Outcome::Ok)
}

/// The handle, name and email of git's user in `dir`, so that whoever runs
/// `init` is a member from the start. The handle is the email's local part,
/// lower-cased, letters, digits, `-` and `_` only.
fn git_user(dir: &Path) -> Option<(String, String, String)> {
    let get = |key: &str| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["config", key])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let email = get("user.email")?;
    let handle: String = email
        .split('@')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let handle = handle.trim_matches('-').to_owned();
    if handle.is_empty() || !handle.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let name = get("user.name").unwrap_or_else(|| handle.clone());
    Some((handle, name, email))
}

const DEFAULT_CONFIG: &str = "\
# Workflow: every status belongs to a category. Completed and canceled
# issues are closed; the rest are open.
statuses:
  - {key: backlog, name: Backlog, category: backlog}
  - {key: todo, name: Todo, category: unstarted}
  - {key: in_progress, name: In Progress, category: started}
  - {key: in_review, name: In Review, category: started}
  - {key: done, name: Done, category: completed}
  - {key: canceled, name: Canceled, category: canceled}

labels:
  - {name: bug, color: \"#eb5757\"}
  - {name: feature, color: \"#5e6ad2\"}
  - {name: chore, color: \"#95a2b3\"}

priorities:
  - {value: 0, name: No priority}
  - {value: 1, name: Urgent}
  - {value: 2, name: High}
  - {value: 3, name: Medium}
  - {value: 4, name: Low}

# People and agents: {handle, name, email, kind: user|agent}
members: []

# Cycles: {key, name, starts: YYYY-MM-DD, ends: YYYY-MM-DD}
cycles: []
";

#[derive(Debug, Subcommand)]
pub enum New {
    /// A new issue; prints its short id.
    Issue {
        title: String,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        priority: Option<String>,
        #[arg(long = "label", value_name = "LABEL")]
        labels: Vec<String>,
        #[arg(long)]
        assignee: Option<String>,
        /// A component or an issue (making this a sub-issue).
        #[arg(long)]
        parent: Option<String>,
        #[arg(long)]
        cycle: Option<String>,
        #[arg(long)]
        estimate: Option<String>,
        #[arg(long)]
        due: Option<String>,
        /// The description (Markdown); `-` reads stdin.
        #[arg(long)]
        body: Option<String>,
    },
    /// A new component for a code path.
    Component {
        title: String,
        /// The component key (default: from the title, e.g. AUTH-SERVICE).
        #[arg(long)]
        key: Option<String>,
        /// The code directory; its COMPONENT.md is written there when it exists.
        #[arg(long)]
        path: Option<String>,
        #[arg(long)]
        parent: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long = "label", value_name = "LABEL")]
        labels: Vec<String>,
        #[arg(long)]
        body: Option<String>,
    },
    /// A new artifact (link, file or embed) attached to items.
    Artifact {
        title: String,
        #[arg(long, default_value = "link")]
        kind: String,
        #[arg(long)]
        url: Option<String>,
        /// Repository path of the file, for --kind file.
        #[arg(long)]
        file: Option<String>,
        /// Items to attach to (repeatable).
        #[arg(long = "on", value_name = "ITEM", required = true)]
        on: Vec<String>,
        #[arg(long)]
        mime_type: Option<String>,
    },
}

fn read_body(body: Option<String>) -> anyhow::Result<String> {
    match body.as_deref() {
        Some("-") => Ok(std::io::read_to_string(std::io::stdin())?),
        Some(b) => Ok(b.to_owned()),
        None => Ok(String::new()),
    }
}

pub fn new(e: Editor, what: New) -> anyhow::Result<Outcome> {
    let new = match what {
        New::Issue {
            title,
            status,
            priority,
            labels,
            assignee,
            parent,
            cycle,
            estimate,
            due,
            body,
        } => NewItem::Issue(NewIssue {
            title,
            status,
            priority,
            labels,
            assignee,
            parent,
            cycle,
            estimate,
            due,
            body: read_body(body)?,
        }),
        New::Component {
            title,
            key,
            path,
            parent,
            owner,
            labels,
            body,
        } => NewItem::Component(NewComponent {
            title,
            key,
            path,
            parent,
            owner,
            labels,
            body: read_body(body)?,
        }),
        New::Artifact {
            title,
            kind,
            url,
            file,
            on,
            mime_type,
        } => {
            let artifact_kind = match kind.as_str() {
                "link" => ArtifactKind::Link,
                "file" => ArtifactKind::File,
                "embed" => ArtifactKind::Embed,
                other => {
                    return refuse(format!("--kind must be link, file or embed; got `{other}`"));
                }
            };
            match artifact_kind {
                ArtifactKind::File if file.is_none() => {
                    return refuse("--kind file needs --file PATH");
                }
                ArtifactKind::Link | ArtifactKind::Embed if url.is_none() => {
                    return refuse(format!("--kind {kind} needs --url"));
                }
                _ => {}
            }
            NewItem::Artifact(NewArtifact {
                title,
                kind: artifact_kind,
                url,
                file,
                on,
                mime_type,
            })
        }
    };
    let e = e.acting();
    let w = e.write(|w| w.create(new))?;
    let short = w.short_id.unwrap_or_default();
    if e.json {
        outln!(
            "{}",
            json!({"id": w.id.map(|i| i.to_string()), "short_id": short, "path": w.path})
        );
    } else {
        outln!("{short}\t{}", w.path);
    }
    Ok(Outcome::Ok)
}

pub fn set(e: Editor, reference: &str, pairs: &[String]) -> anyhow::Result<Outcome> {
    if !pairs.len().is_multiple_of(2) {
        bail!(
            "`set` takes FIELD VALUE pairs; `{}` has no value",
            pairs.last().map_or("", String::as_str)
        );
    }
    let fields: Vec<(String, String)> = pairs
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    // Only `me` asks who acts.
    let e = if fields.iter().any(|(_, v)| v == "me" || v == "@me") {
        e.acting()
    } else {
        e
    };
    let w = e.write(|w| w.set(reference, &fields, None))?;
    let key = w.short_id.as_deref().unwrap_or(&w.path);
    if e.json {
        let changes: Vec<_> = w
            .changes
            .iter()
            .map(|c| json!({"field": c.field, "before": c.before, "after": c.after}))
            .collect();
        outln!(
            "{}",
            json!({"id": w.id.map(|i| i.to_string()), "short_id": w.short_id.as_deref().unwrap_or_default(), "path": w.path, "changes": changes})
        );
    } else {
        for c in &w.changes {
            outln!(
                "{key}: {} {} → {}",
                c.field,
                show_json(&c.before),
                show_json(&c.after)
            );
        }
    }
    Ok(Outcome::Ok)
}

fn show_json(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "none".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => format!(
            "[{}]",
            a.iter().map(show_json).collect::<Vec<_>>().join(", ")
        ),
        v => v.to_string(),
    }
}

/// `link` (`add`) or `unlink`.
pub fn link(e: Editor, from: &str, kind: &str, to: &str, add: bool) -> anyhow::Result<Outcome> {
    let l = e.write(|w| {
        if add {
            w.link(from, kind, to)
        } else {
            w.unlink(from, kind, to)
        }
    })?;
    let key = l.field.key();
    if !l.changed {
        if e.json {
            outln!("{}", json!({"changed": false}));
        } else {
            outln!(
                "{} {key} {}: {}",
                l.source,
                l.target,
                if add { "already linked" } else { "not linked" }
            );
        }
    } else if e.json {
        outln!(
            "{}",
            json!({"changed": true, "source": l.source, "link": key, "edge": l.field.edge(), "layer": l.field.layer(), "target": l.target, "action": if add {"created"} else {"removed"}, "path": l.path})
        );
    } else {
        outln!(
            "{} {} {key} {}",
            if add { "linked" } else { "unlinked" },
            l.source,
            l.target
        );
    }
    Ok(Outcome::Ok)
}

pub fn comment(
    e: Editor,
    reference: &str,
    body: Option<String>,
    reply_to: Option<&str>,
) -> anyhow::Result<Outcome> {
    let e = e.acting();
    if !e.write(|w| w.actor().map(|a| a.is_some()))? {
        return refuse(
            "who is commenting? pass --as HANDLE, set NONLINEAR_ACTOR, or set git's user.email to a member's email",
        );
    }
    let body = match body {
        Some(b) if b != "-" => b,
        _ => std::io::read_to_string(std::io::stdin())?,
    };
    if let Some(r) = reply_to
        && ids::parse_uuid(r).is_none()
    {
        return refuse(format!("--reply-to takes a comment id (a UUID); got `{r}`"));
    }
    let w = e.write(|w| w.comment(reference, &body, reply_to))?;
    let id = w.id.map(|i| i.to_string()).unwrap_or_default();
    if e.json {
        // `.nonlinear/comments/<item id>/<comment id>.md`
        let on = w.path.rsplit('/').nth(1).unwrap_or_default();
        outln!("{}", json!({"id": id, "on": on, "path": w.path}));
    } else {
        outln!("{id}\t{}", w.path);
    }
    Ok(Outcome::Ok)
}

/// `react`, or `react --remove` (`add` false).
pub fn react(e: Editor, comment: &str, emoji: &str, add: bool) -> anyhow::Result<Outcome> {
    let e = e.acting();
    if !e.write(|w| w.actor().map(|a| a.is_some()))? {
        return refuse("who is reacting? pass --as HANDLE or set NONLINEAR_ACTOR");
    }
    let w = e.write(|w| {
        if add {
            w.react(comment, emoji)
        } else {
            w.remove_reaction(comment, emoji)
        }
    })?;
    let cid = w.id.map(|i| i.to_string()).unwrap_or_default();
    if e.json {
        let after = w.changes.first().map(|c| c.after.clone());
        outln!("{}", json!({"comment": cid, "reactions": after}));
    } else {
        outln!(
            "{} {emoji} on {cid}",
            if add { "reacted" } else { "removed" }
        );
    }
    Ok(Outcome::Ok)
}

pub fn mv(e: Editor, from: &str, to: &str) -> anyhow::Result<Outcome> {
    let w = e.write(|w| w.rename(from, to))?;
    let old = w
        .changes
        .iter()
        .find(|c| c.field == "short_id")
        .map(|c| show_json(&c.before))
        .unwrap_or_default();
    let changed: Vec<&str> = w.files.iter().map(|f| f.path.as_str()).collect();
    if e.json {
        outln!(
            "{}",
            json!({"from": old, "to": to, "path": w.path, "changed": changed})
        );
    } else {
        outln!(
            "renamed {old} → {to} ({}); {} file{} updated",
            w.path,
            changed.len(),
            if changed.len() == 1 { "" } else { "s" }
        );
    }
    Ok(Outcome::Ok)
}

pub fn rm(e: Editor, reference: &str) -> anyhow::Result<Outcome> {
    let w = e.write(|w| w.delete(reference, None))?;
    print_deleted(&e, &w);
    Ok(Outcome::Ok)
}

fn print_deleted(e: &Editor, w: &Written) {
    let paths = |action: fn(&FileAction) -> bool| -> Vec<&str> {
        w.files
            .iter()
            .filter(|f| action(&f.action))
            .map(|f| f.path.as_str())
            .collect()
    };
    let updated = paths(|a| *a == FileAction::Modified);
    let deleted = paths(|a| *a == FileAction::Deleted);
    let key = w.short_id.as_deref().unwrap_or(&w.path);
    if e.json {
        outln!(
            "{}",
            json!({"id": w.id.map(|i| i.to_string()), "short_id": w.short_id, "path": w.path, "updated": updated, "deleted": deleted})
        );
    } else {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        outln!(
            "deleted {key} ({}); references removed from {}, {} deleted",
            w.path,
            plural(updated.len(), "file", "files"),
            // The item itself is the last file deleted.
            plural(deleted.len().saturating_sub(1), "comment", "comments")
        );
    }
}

pub fn generate(dir: &Path, issues: usize, seed: u64, json: bool) -> anyhow::Result<Outcome> {
    if dir.join(".nonlinear").exists() {
        return refuse(format!("{} already holds a workspace", dir.display()));
    }
    let files = schema::synth::generate(&schema::synth::Shape::with_issues(issues), seed);
    let mut dirs = std::collections::HashSet::new();
    for (rel, text) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent()
            && dirs.insert(parent.to_owned())
        {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        outln!(
            "{}",
            json!({"dir": dir.display().to_string(), "files": files.len(), "issues": issues, "seed": seed})
        );
    } else {
        outln!(
            "wrote {} files ({issues} issues, seed {seed}) to {}",
            files.len(),
            dir.display()
        );
    }
    Ok(Outcome::Ok)
}
