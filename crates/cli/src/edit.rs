//! The verbs that write: `init`, `new`, `set`, `link`, `unlink`, `comment`,
//! `react`, `mv`, `generate`.
//!
//! Every write takes the workspace lock, edits the file text with
//! `schema::edit` (only the changed lines differ), re-parses the result to
//! make sure the edit introduced no problem, and replaces the file
//! atomically. A file that changed underneath is refused, never overwritten.

use std::cell::OnceCell;
use std::fmt;
use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use clap::Subcommand;
use schema::edit::{self as ed, Field, Op, Scalar};
use schema::model::{ArtifactKind, Fields, Item, Kind, LinkField};
use schema::store::{Store, WriteLock};
use schema::{Config, Workspace, ids, parse};
use serde_json::json;
use uuid::Uuid;

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

/// An opened workspace and who is acting.
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

/// The config, unless it is missing or has errors.
fn valid_config(config: Option<Config>, diags: &[schema::Diagnostic]) -> anyhow::Result<Config> {
    let Some(config) =
        config.filter(|_| !diags.iter().any(|d| d.severity == schema::Severity::Error))
    else {
        let first = diags
            .first()
            .map(|d| format!("{}:{}:{}: {}", d.path, d.pos.line, d.pos.col, d.message))
            .unwrap_or_default();
        bail!("the workspace config is invalid ({first}); run `nonlinear check`");
    };
    Ok(config)
}

/// An item file found by reference.
pub struct Found {
    pub rel: String,
    pub bytes: Vec<u8>,
    pub item: Item,
}

impl Ctx {
    pub fn open(cwd: &Path, actor: Option<String>, json: bool) -> anyhow::Result<Ctx> {
        let store = Store::discover(cwd)?;
        let bytes = store.read(parse::CONFIG_PATH)?;
        let (config, diags) = parse::parse_config(parse::CONFIG_PATH, &bytes);
        Ok(Ctx {
            store,
            config: valid_config(config, &diags)?,
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
        let config = valid_config(at.workspace.config.clone(), &diags)?;
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

    /// The acting member's handle: `--as`, `$NONLINEAR_ACTOR`, or the member
    /// whose email is git's `user.email`.
    pub fn actor(&self) -> anyhow::Result<Option<&str>> {
        let actor = self.actor.get_or_init(|| {
            if let Some(a) = self.actor_flag.clone().or_else(|| {
                std::env::var("NONLINEAR_ACTOR")
                    .ok()
                    .filter(|s| !s.is_empty())
            }) {
                return Some(a.trim_start_matches('@').to_owned());
            }
            let out = std::process::Command::new("git")
                .arg("-C")
                .arg(self.store.root())
                .args(["config", "user.email"])
                .output()
                .ok()?;
            let email = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            self.config
                .members
                .iter()
                .find(|m| {
                    m.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(&email))
                })
                .map(|m| m.handle.clone())
        });
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
                bytes: Vec::new(),
                item: item.clone(),
            });
        }
        if let Some(rel) = self.store.locate(reference) {
            let bytes = self.store.read(&rel)?;
            let kind = match parse::classify(&rel) {
                Some(parse::FileKind::Item(k)) => k,
                _ => unreachable!("locate returns item files"),
            };
            if let (Some(item), _) = parse::parse_item(&rel, kind, &bytes)
                && item
                    .short_id
                    .as_ref()
                    .is_some_and(|s| ids::normalize(&s.value) == ids::normalize(reference))
            {
                return Ok(Found { rel, bytes, item });
            }
        }
        let ws = self.workspace();
        let Some(item) = ws.resolve(reference) else {
            return refuse(format!("no item {reference} in this workspace"));
        };
        let bytes = self.store.read(&item.path)?;
        Ok(Found {
            rel: item.path.clone(),
            bytes,
            item: item.clone(),
        })
    }

    /// The canonical way to refer to an item in a file: its short id.
    fn reference_of(item: &Item) -> String {
        item.short_id.as_ref().map_or_else(
            || {
                item.id
                    .as_ref()
                    .map(|i| i.value.to_string())
                    .unwrap_or_default()
            },
            |s| s.value.clone(),
        )
    }
}

/// Applies `ops` to a found item and writes it, refusing edits that would
/// make the file worse.
fn write_item(ctx: &Ctx, lock: &WriteLock, found: &Found, ops: &[Op]) -> anyhow::Result<Vec<u8>> {
    let new = edited(found, ops)?;
    ctx.store
        .write(lock, &found.rel, Some(&found.bytes), new.as_bytes())
        .map_err(conflict)?;
    Ok(new.into_bytes())
}

/// The text of `found` after `ops`, refused if the edit fails or adds
/// errors to the file.
fn edited(found: &Found, ops: &[Op]) -> anyhow::Result<String> {
    let text = std::str::from_utf8(&found.bytes)
        .map_err(|_| Refused(format!("{} is not UTF-8; fix it before editing", found.rel)))?;
    let new = ed::apply(text, ops).map_err(|e| Refused(format!("{}: {e}", found.rel)))?;
    let kind = found.item.kind();
    let errors = |bytes: &[u8]| {
        parse::parse_item(&found.rel, kind, bytes)
            .1
            .into_iter()
            .filter(|d| d.severity == schema::Severity::Error)
            .count()
    };
    if errors(new.as_bytes()) > errors(&found.bytes) {
        let (_, d) = parse::parse_item(&found.rel, kind, new.as_bytes());
        return refuse(format!(
            "the edit would make {} invalid: {}",
            found.rel,
            d.iter()
                .map(|d| d.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    Ok(new)
}

fn conflict(e: schema::store::StoreError) -> anyhow::Error {
    match e {
        schema::store::StoreError::Conflict(_) | schema::store::StoreError::Exists(_) => {
            Refused(e.to_string()).into()
        }
        e => e.into(),
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

fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
}

/// A short id not used by any issue or artifact file yet.
fn fresh_short_id(ctx: &Ctx, id: Uuid) -> String {
    let count = [parse::ISSUES_DIR, parse::ARTIFACTS_DIR]
        .iter()
        .map(|d| std::fs::read_dir(ctx.store.path(d)).map_or(0, |r| r.count()))
        .sum();
    let mut len = ids::suffix_len(count);
    loop {
        let short = ids::short_id(&ctx.config.key, id, len);
        if ctx.store.locate(&short).is_none() || len >= ids::MAX_SUFFIX {
            return short;
        }
        len += 1;
    }
}

pub fn new(ctx: &Ctx, what: New) -> anyhow::Result<Outcome> {
    let id = ids::new_id();
    let lock = ctx.store.lock()?;
    let (rel, short, text) = match what {
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
        } => {
            let short = fresh_short_id(ctx, id);
            let mut fields: Vec<(&str, Field)> = vec![
                ("id", Field::Scalar(Scalar::raw(id.to_string()))),
                ("short_id", Field::Scalar(Scalar::str(&short))),
                ("title", Field::Scalar(Scalar::str(title_ok(&title)?))),
            ];
            let status = match status {
                Some(s) => status_key(ctx, &s)?,
                None => ctx
                    .config
                    .default_status()
                    .map(|s| s.key.clone())
                    .ok_or_else(|| anyhow!("the workflow has no statuses"))?,
            };
            fields.push(("status", Field::Scalar(Scalar::str(status))));
            if let Some(p) = priority {
                fields.push((
                    "priority",
                    Field::Scalar(Scalar::raw(priority_value(&p)?.to_string())),
                ));
            }
            if !labels.is_empty() {
                fields.push(("labels", Field::List(label_names(ctx, &labels)?)));
            }
            if let Some(a) = assignee {
                fields.push(("assignee", Field::Scalar(Scalar::str(member(ctx, &a)?))));
            }
            if let Some(me) = ctx.actor()? {
                fields.push(("created_by", Field::Scalar(Scalar::str(me))));
            }
            fields.push(("created_at", Field::Scalar(Scalar::raw(now()))));
            if let Some(c) = cycle {
                fields.push(("cycle", Field::Scalar(Scalar::str(cycle_key(ctx, &c)?))));
            }
            if let Some(e) = estimate {
                fields.push(("estimate", Field::Scalar(Scalar::raw(estimate_value(&e)?))));
            }
            if let Some(d) = due {
                fields.push(("due", Field::Scalar(Scalar::raw(date_value(&d)?))));
            }
            if let Some(p) = parent {
                let target = ctx.find(&p)?;
                if !matches!(target.item.kind(), Kind::Component | Kind::Issue) {
                    return refuse(format!(
                        "an issue's parent must be a component or an issue; {p} is {}",
                        target.item.kind().with_article()
                    ));
                }
                fields.push((
                    "parent",
                    Field::Scalar(Scalar::str(Ctx::reference_of(&target.item))),
                ));
            }
            let text = ed::render(&fields, &read_body(body)?);
            (format!("{}/{short}.md", parse::ISSUES_DIR), short, text)
        }
        New::Component {
            title,
            key,
            path,
            parent,
            owner,
            labels,
            body,
        } => {
            let key = key.unwrap_or_else(|| ids::component_key(&title));
            if !ids::is_component_key(&key) {
                return refuse(format!(
                    "component keys are uppercase letters, digits, `-` and `_`, starting with a letter; got `{key}`"
                ));
            }
            if ctx.workspace().resolve(&key).is_some() {
                return refuse(format!("{key} is already used; pick another with --key"));
            }
            let mut fields: Vec<(&str, Field)> = vec![
                ("id", Field::Scalar(Scalar::raw(id.to_string()))),
                ("short_id", Field::Scalar(Scalar::str(&key))),
                ("title", Field::Scalar(Scalar::str(title_ok(&title)?))),
            ];
            if !labels.is_empty() {
                fields.push(("labels", Field::List(label_names(ctx, &labels)?)));
            }
            if let Some(o) = owner {
                fields.push(("owner", Field::Scalar(Scalar::str(member(ctx, &o)?))));
            }
            if let Some(p) = parent {
                let target = ctx.find(&p)?;
                if target.item.kind() != Kind::Component {
                    return refuse(format!(
                        "a component's parent must be a component; {p} is {}",
                        target.item.kind().with_article()
                    ));
                }
                fields.push((
                    "parent",
                    Field::Scalar(Scalar::str(Ctx::reference_of(&target.item))),
                ));
            }
            let path = path.map(|p| p.trim_end_matches('/').trim_start_matches("./").to_owned());
            let rel = match &path {
                Some(p)
                    if ctx.store.path(p).is_dir()
                        && !ctx.store.path(p).join(parse::COMPONENT_FILE).exists() =>
                {
                    format!("{p}/{}", parse::COMPONENT_FILE)
                }
                Some(p) => {
                    fields.push((
                        "repo",
                        Field::Scalar(Scalar::raw(format!(
                            "{{path: {}}}",
                            ed::render_flow_item(p)
                        ))),
                    ));
                    format!("{}/{key}.md", parse::COMPONENTS_DIR)
                }
                None => format!("{}/{key}.md", parse::COMPONENTS_DIR),
            };
            (rel, key, ed::render(&fields, &read_body(body)?))
        }
        New::Artifact {
            title,
            kind,
            url,
            file,
            on,
            mime_type,
        } => {
            let short = fresh_short_id(ctx, id);
            let k = match kind.as_str() {
                "link" => ArtifactKind::Link,
                "file" => ArtifactKind::File,
                "embed" => ArtifactKind::Embed,
                other => {
                    return refuse(format!("--kind must be link, file or embed; got `{other}`"));
                }
            };
            let mut fields: Vec<(&str, Field)> = vec![
                ("id", Field::Scalar(Scalar::raw(id.to_string()))),
                ("short_id", Field::Scalar(Scalar::str(&short))),
                ("title", Field::Scalar(Scalar::str(title_ok(&title)?))),
                ("kind", Field::Scalar(Scalar::str(kind.clone()))),
            ];
            match k {
                ArtifactKind::File => {
                    let Some(f) = file else {
                        return refuse("--kind file needs --file PATH");
                    };
                    let f = f.trim_start_matches("./").to_owned();
                    let meta = std::fs::metadata(ctx.store.path(&f))
                        .map_err(|_| Refused(format!("{f} does not exist in the workspace")))?;
                    let mime = mime_type.unwrap_or_else(|| guess_mime(&f).to_owned());
                    fields.push(("file", Field::Scalar(Scalar::str(f))));
                    fields.push(("mime_type", Field::Scalar(Scalar::str(mime))));
                    fields.push(("size", Field::Scalar(Scalar::raw(meta.len().to_string()))));
                }
                ArtifactKind::Link | ArtifactKind::Embed => {
                    let Some(u) = url else {
                        return refuse(format!("--kind {kind} needs --url"));
                    };
                    fields.push(("url", Field::Scalar(Scalar::str(u))));
                    if let Some(m) = mime_type {
                        fields.push(("mime_type", Field::Scalar(Scalar::str(m))));
                    }
                }
            }
            let mut targets = Vec::new();
            for o in &on {
                let t = ctx.find(o)?;
                if !matches!(t.item.kind(), Kind::Component | Kind::Issue) {
                    return refuse(format!(
                        "artifacts attach to components and issues; {o} is {}",
                        t.item.kind().with_article()
                    ));
                }
                targets.push(Ctx::reference_of(&t.item));
            }
            fields.push(("attached_to", Field::List(targets)));
            if let Some(me) = ctx.actor()? {
                fields.push(("created_by", Field::Scalar(Scalar::str(me))));
            }
            fields.push(("created_at", Field::Scalar(Scalar::raw(now()))));
            (
                format!("{}/{short}.md", parse::ARTIFACTS_DIR),
                short,
                ed::render(&fields, ""),
            )
        }
    };
    ctx.store
        .write(&lock, &rel, None, text.as_bytes())
        .map_err(conflict)?;
    if ctx.json {
        outln!(
            "{}",
            json!({"id": id.to_string(), "short_id": short, "path": rel})
        );
    } else {
        outln!("{short}\t{rel}");
    }
    Ok(Outcome::Ok)
}

fn title_ok(t: &str) -> anyhow::Result<&str> {
    let t = t.trim();
    if t.is_empty() || t.contains(['\n', '\r']) {
        return refuse("a title is one non-empty line");
    }
    Ok(t)
}

fn status_key(ctx: &Ctx, s: &str) -> anyhow::Result<String> {
    let found = ctx
        .config
        .statuses
        .iter()
        .find(|d| d.key.eq_ignore_ascii_case(s) || d.name.eq_ignore_ascii_case(s));
    match found {
        Some(d) => Ok(d.key.clone()),
        None => refuse(format!(
            "unknown status `{s}`; the workflow has {}",
            ctx.config
                .statuses
                .iter()
                .map(|s| s.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn member(ctx: &Ctx, h: &str) -> anyhow::Result<String> {
    let h = if h == "@me" || h == "me" {
        ctx.actor()?.ok_or_else(|| {
            Refused("`me` needs an acting member: pass --as HANDLE or set NONLINEAR_ACTOR".into())
        })?
    } else {
        h
    };
    match ctx.config.member(h) {
        Some(m) => Ok(m.handle.clone()),
        None => refuse(format!(
            "`{h}` is not a member; members are {}",
            ctx.config
                .members
                .iter()
                .map(|m| m.handle.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn label_names(ctx: &Ctx, labels: &[String]) -> anyhow::Result<Vec<String>> {
    labels
        .iter()
        .flat_map(|l| l.split(','))
        .filter(|l| !l.is_empty())
        .map(|l| {
            match ctx
                .config
                .labels
                .iter()
                .find(|d| d.name.eq_ignore_ascii_case(l))
            {
                Some(d) => Ok(d.name.clone()),
                None => refuse(format!(
                    "label `{l}` is not defined in .nonlinear/config.yaml"
                )),
            }
        })
        .collect()
}

fn cycle_key(ctx: &Ctx, c: &str) -> anyhow::Result<String> {
    match ctx.config.cycle(c) {
        Some(d) => Ok(d.key.clone()),
        None => refuse(format!(
            "cycle `{c}` is not defined in .nonlinear/config.yaml"
        )),
    }
}

fn priority_value(p: &str) -> anyhow::Result<u8> {
    Ok(match p.to_ascii_lowercase().as_str() {
        "none" | "no" => 0,
        "urgent" => 1,
        "high" => 2,
        "medium" => 3,
        "low" => 4,
        n => match n.parse::<u8>() {
            Ok(v) if v <= 4 => v,
            _ => {
                return refuse(format!(
                    "priority must be 0–4 or none/urgent/high/medium/low; got `{p}`"
                ));
            }
        },
    })
}

fn estimate_value(e: &str) -> anyhow::Result<String> {
    match e.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(e.to_owned()),
        _ => refuse(format!("estimate must be a number ≥ 0; got `{e}`")),
    }
}

fn date_value(d: &str) -> anyhow::Result<String> {
    match d.parse::<jiff::civil::Date>() {
        Ok(date) if d.len() == 10 => Ok(date.to_string()),
        _ => refuse(format!("dates look like 2026-12-01; got `{d}`")),
    }
}

fn guess_mime(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "md" => "text/markdown",
        "txt" => "text/plain",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "json" => "application/json",
        "csv" => "text/csv",
        "html" => "text/html",
        _ => "application/octet-stream",
    }
}

/// One field change, for output.
struct Change {
    field: String,
    before: serde_json::Value,
    after: serde_json::Value,
}

pub fn set(ctx: &Ctx, reference: &str, pairs: &[String]) -> anyhow::Result<Outcome> {
    if !pairs.len().is_multiple_of(2) {
        bail!(
            "`set` takes FIELD VALUE pairs; `{}` has no value",
            pairs.last().map_or("", String::as_str)
        );
    }
    let lock = ctx.store.lock()?;
    let found = ctx.find(reference)?;
    let item = &found.item;
    let kind = item.kind();
    let mut ops = Vec::new();
    let mut changes = Vec::new();
    let current_scalar = |key: &str| -> serde_json::Value {
        match (key, &item.fields) {
            ("title", _) => item.title.as_ref().map(|t| t.value.clone()).into(),
            ("status", Fields::Issue(i)) => i.status.as_ref().map(|s| s.value.clone()).into(),
            ("assignee", Fields::Issue(i)) => i.assignee.as_ref().map(|s| s.value.clone()).into(),
            ("priority", Fields::Issue(i)) => i.priority.as_ref().map(|s| s.value).into(),
            ("estimate", Fields::Issue(i)) => i.estimate.as_ref().map(|s| s.value).into(),
            ("cycle", Fields::Issue(i)) => i.cycle.as_ref().map(|s| s.value.clone()).into(),
            ("due", Fields::Issue(i)) => i.due.as_ref().map(|s| s.value.to_string()).into(),
            ("owner", Fields::Component(c)) => c.owner.as_ref().map(|s| s.value.clone()).into(),
            ("parent", _) => item.parent().map(|s| s.value.clone()).into(),
            _ => serde_json::Value::Null,
        }
    };
    for pair in pairs.chunks(2) {
        let (field, value) = (pair[0].as_str(), pair[1].as_str());
        let clear = value == "none" || value.is_empty();
        let allowed: &[&str] = match kind {
            Kind::Issue => &[
                "title", "status", "assignee", "labels", "priority", "estimate", "parent", "cycle",
                "due",
            ],
            Kind::Component => &["title", "labels", "owner", "parent"],
            Kind::Artifact => &["title", "url"],
            Kind::Comment => &[],
        };
        if !allowed.contains(&field) {
            return refuse(format!(
                "{} has no settable field `{field}`; settable: {}",
                kind.with_article(),
                allowed.join(", ")
            ));
        }
        let before = current_scalar(field);
        let scalar = |v: String, raw: bool| Op::Set {
            key: field.to_owned(),
            value: if raw { Scalar::Raw(v) } else { Scalar::Str(v) },
        };
        let unset = Op::Unset {
            key: field.to_owned(),
        };
        let (op, after): (Vec<Op>, serde_json::Value) = match field {
            "title" if clear => return refuse("an item needs a title; `none` cannot clear it"),
            "title" => {
                let t = title_ok(value)?.to_owned();
                (vec![scalar(t.clone(), false)], t.into())
            }
            "url" if clear => (vec![unset], serde_json::Value::Null),
            "url" => (vec![scalar(value.to_owned(), false)], value.into()),
            "status" => {
                let s = status_key(ctx, value)?;
                (vec![scalar(s.clone(), false)], s.into())
            }
            "assignee" | "owner" if clear => (vec![unset], serde_json::Value::Null),
            "assignee" | "owner" => {
                let m = member(ctx, value)?;
                (vec![scalar(m.clone(), false)], m.into())
            }
            "priority" => {
                let p = priority_value(value)?;
                (vec![scalar(p.to_string(), true)], p.into())
            }
            "estimate" if clear => (vec![unset], serde_json::Value::Null),
            "estimate" => (
                vec![scalar(estimate_value(value)?, true)],
                value
                    .parse::<f64>()
                    .map(serde_json::Value::from)
                    .unwrap_or_default(),
            ),
            "due" if clear => (vec![unset], serde_json::Value::Null),
            "due" => {
                let d = date_value(value)?;
                (vec![scalar(d.clone(), true)], d.into())
            }
            "cycle" if clear => (vec![unset], serde_json::Value::Null),
            "cycle" => {
                let c = cycle_key(ctx, value)?;
                (vec![scalar(c.clone(), false)], c.into())
            }
            "parent" if clear => (vec![unset], serde_json::Value::Null),
            "parent" => {
                let target = ctx.find(value)?;
                check_parent(ctx, item, &target.item)?;
                let r = Ctx::reference_of(&target.item);
                (vec![scalar(r.clone(), false)], r.into())
            }
            "labels" => {
                let before_labels: Vec<String> =
                    item.labels().iter().map(|l| l.value.clone()).collect();
                let mut ops = Vec::new();
                let mut after = before_labels.clone();
                let parts: Vec<&str> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                if clear {
                    ops.push(Op::SetList {
                        key: "labels".into(),
                        values: Vec::new(),
                    });
                    after.clear();
                } else if parts.iter().all(|p| p.starts_with(['+', '-'])) {
                    for p in parts {
                        let name = &p[1..];
                        if p.starts_with('+') {
                            let n = label_names(ctx, &[name.to_owned()])?.remove(0);
                            if !after.iter().any(|a| a.eq_ignore_ascii_case(&n)) {
                                after.push(n.clone());
                            }
                            ops.push(Op::Add {
                                key: "labels".into(),
                                value: n,
                            });
                        } else {
                            after.retain(|a| !a.eq_ignore_ascii_case(name));
                            ops.push(Op::Remove {
                                key: "labels".into(),
                                value: name.to_owned(),
                            });
                        }
                    }
                } else {
                    let names = label_names(
                        ctx,
                        &parts.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                    )?;
                    after = names.clone();
                    ops.push(Op::SetList {
                        key: "labels".into(),
                        values: names,
                    });
                }
                changes.push(Change {
                    field: "labels".into(),
                    before: before_labels.into(),
                    after: after.into(),
                });
                (ops, serde_json::Value::Null)
            }
            _ => unreachable!("checked against allowed"),
        };
        if field != "labels" {
            changes.push(Change {
                field: field.to_owned(),
                before,
                after,
            });
        }
        ops.extend(op);
    }
    write_item(ctx, &lock, &found, &ops)?;
    report(ctx, item, &found.rel, &changes);
    Ok(Outcome::Ok)
}

fn report(ctx: &Ctx, item: &Item, rel: &str, changes: &[Change]) {
    if ctx.json {
        let changes: Vec<_> = changes
            .iter()
            .map(|c| json!({"field": c.field, "before": c.before, "after": c.after}))
            .collect();
        outln!(
            "{}",
            json!({"id": item.id.as_ref().map(|i| i.value.to_string()), "short_id": item.short_str(), "path": rel, "changes": changes})
        );
    } else {
        for c in changes {
            outln!(
                "{}: {} {} → {}",
                item.short_str_or_path(),
                c.field,
                show_json(&c.before),
                show_json(&c.after)
            );
        }
    }
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

/// Refuses a parent that is the wrong kind or would close a HAS_CHILD cycle.
fn check_parent(ctx: &Ctx, child: &Item, parent: &Item) -> anyhow::Result<()> {
    let ok = match child.kind() {
        Kind::Component => parent.kind() == Kind::Component,
        Kind::Issue => matches!(parent.kind(), Kind::Component | Kind::Issue),
        _ => false,
    };
    if !ok {
        return refuse(format!(
            "{} cannot have {} as parent",
            child.kind().with_article(),
            parent.kind().with_article()
        ));
    }
    let ws = ctx.workspace();
    let mut at = ws.resolve(parent.short_str_or_path()).or_else(|| {
        parent
            .id
            .as_ref()
            .and_then(|i| ws.resolve(&i.value.to_string()))
    });
    let mut chain = vec![parent.short_str_or_path().to_owned()];
    for _ in 0..=ws.items.len() {
        let Some(a) = at else { break };
        if a.id.as_ref().map(|i| i.value) == child.id.as_ref().map(|i| i.value) {
            return refuse(format!(
                "{} is below {} ({}); that parent would make a cycle",
                parent.short_str_or_path(),
                child.short_str_or_path(),
                chain.join(" → ")
            ));
        }
        at = a.parent().and_then(|p| ws.resolve(&p.value));
        if let Some(a) = at {
            chain.push(a.short_str_or_path().to_owned());
        }
    }
    Ok(())
}

pub fn link(ctx: &Ctx, from: &str, kind: &str, to: &str, add: bool) -> anyhow::Result<Outcome> {
    let (field, reversed) = match kind.replace('-', "_").as_str() {
        "blocked_by" => (LinkField::Blocks, true),
        k => match LinkField::parse(k) {
            Some(f) if f != LinkField::Parent && f != LinkField::ReplyTo => (f, false),
            _ => {
                return refuse(format!(
                    "unknown link `{kind}`; links are blocks, blocked_by, relates_to, duplicates (issues), depends_on, imports, calls_api, shares_db (components), attached_to (artifact → item); use `set ID parent X` for parents"
                ));
            }
        },
    };
    let (owner_ref, target_ref) = if reversed { (to, from) } else { (from, to) };
    let lock = ctx.store.lock()?;
    let owner = ctx.find(owner_ref)?;
    let target = ctx.find(target_ref)?;
    let (ok_from, ok_to): (&[Kind], &[Kind]) = match field.layer() {
        2 => (&[Kind::Issue], &[Kind::Issue]),
        3 => (&[Kind::Component], &[Kind::Component]),
        _ => (&[Kind::Artifact], &[Kind::Component, Kind::Issue]),
    };
    if !ok_from.contains(&owner.item.kind()) || !ok_to.contains(&target.item.kind()) {
        return refuse(format!(
            "`{}` links {} to {}; {} is {} and {} {}",
            field.key(),
            ok_from[0].with_article(),
            ok_to
                .iter()
                .map(|k| k.with_article())
                .collect::<Vec<_>>()
                .join(" or "),
            owner_ref,
            owner.item.kind().with_article(),
            target_ref,
            target.item.kind().with_article()
        ));
    }
    if owner.item.id == target.item.id {
        return refuse("an item cannot link to itself");
    }
    let target_name = Ctx::reference_of(&target.item);
    let present = owner.item.references().iter().any(|(f, r)| {
        *f == field
            && (ids::normalize(&r.value) == ids::normalize(&target_name)
                || target
                    .item
                    .id
                    .as_ref()
                    .is_some_and(|i| i.value.to_string() == r.value))
    });
    if add && present || !add && !present {
        if !ctx.json {
            outln!(
                "{} {} {}: {}",
                owner.item.short_str(),
                field.key(),
                target_name,
                if add { "already linked" } else { "not linked" }
            );
        } else {
            outln!("{}", json!({"changed": false}));
        }
        return Ok(Outcome::Ok);
    }
    if add && field == LinkField::Blocks {
        // Would the new edge close a BLOCKS cycle? Look for target →* owner.
        let ws = ctx.workspace();
        if let Some(path) = blocks_path(ws, &target_name, owner.item.short_str()) {
            return refuse(format!(
                "{} already blocks {} ({}); this link would make a cycle",
                target_name,
                owner.item.short_str(),
                path.join(" → ")
            ));
        }
    }
    let op = if add {
        Op::Add {
            key: field.key().into(),
            value: target_name.clone(),
        }
    } else {
        let written = owner
            .item
            .references()
            .into_iter()
            .find(|(f, r)| {
                *f == field
                    && (ids::normalize(&r.value) == ids::normalize(&target_name)
                        || target
                            .item
                            .id
                            .as_ref()
                            .is_some_and(|i| i.value.to_string() == r.value))
            })
            .map(|(_, r)| r.value.clone())
            .unwrap_or(target_name.clone());
        Op::Remove {
            key: field.key().into(),
            value: written,
        }
    };
    write_item(ctx, &lock, &owner, &[op])?;
    if ctx.json {
        outln!(
            "{}",
            json!({"changed": true, "source": owner.item.short_str(), "link": field.key(), "edge": field.edge(), "layer": field.layer(), "target": target_name, "action": if add {"created"} else {"removed"}, "path": owner.rel})
        );
    } else {
        outln!(
            "{} {} {} {}",
            if add { "linked" } else { "unlinked" },
            owner.item.short_str(),
            field.key(),
            target_name
        );
    }
    Ok(Outcome::Ok)
}

/// A BLOCKS path from `from` to `to`, if one exists (breadth first).
fn blocks_path(ws: &Workspace, from: &str, to: &str) -> Option<Vec<String>> {
    let start = ws.resolve_index(from)?;
    let goal = ws.resolve_index(to)?;
    let mut prev: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut seen = std::collections::HashSet::from([start]);
    while let Some(at) = queue.pop_front() {
        if at == goal {
            let mut path = vec![ws.items[at].short_str().to_owned()];
            let mut cur = at;
            while let Some(&p) = prev.get(&cur) {
                path.push(ws.items[p].short_str().to_owned());
                cur = p;
            }
            path.reverse();
            return Some(path);
        }
        for b in ws.items[at]
            .issue()
            .map(|i| i.blocks.as_slice())
            .unwrap_or_default()
        {
            if let Some(n) = ws.resolve_index(&b.value)
                && seen.insert(n)
            {
                prev.insert(n, at);
                queue.push_back(n);
            }
        }
    }
    None
}

pub fn comment(
    ctx: &Ctx,
    reference: &str,
    body: Option<String>,
    reply_to: Option<&str>,
) -> anyhow::Result<Outcome> {
    let Some(author) = ctx.actor()?.map(str::to_owned) else {
        return refuse(
            "who is commenting? pass --as HANDLE, set NONLINEAR_ACTOR, or set git's user.email to a member's email",
        );
    };
    let body = match body {
        Some(b) if b != "-" => b,
        _ => std::io::read_to_string(std::io::stdin())?,
    };
    if body.trim().is_empty() {
        return refuse("the comment is empty");
    }
    let lock = ctx.store.lock()?;
    let target = ctx.find(reference)?;
    if !matches!(target.item.kind(), Kind::Component | Kind::Issue) {
        return refuse(format!(
            "comments go on components and issues; {reference} is {}",
            target.item.kind().with_article()
        ));
    }
    let Some(item_id) = target.item.id.as_ref().map(|i| i.value) else {
        return refuse(format!("{reference} has no id; fix it first"));
    };
    let dir = format!("{}/{item_id}", parse::COMMENTS_DIR);
    if let Some(r) = reply_to {
        let Some(r) = ids::parse_uuid(r) else {
            return refuse(format!("--reply-to takes a comment id (a UUID); got `{r}`"));
        };
        if !ctx.store.path(&format!("{dir}/{r}.md")).is_file() {
            return refuse(format!("no comment {r} on {reference}"));
        }
    }
    let id = ids::new_id();
    let mut fields: Vec<(&str, Field)> = vec![
        ("id", Field::Scalar(Scalar::raw(id.to_string()))),
        ("author", Field::Scalar(Scalar::str(&author))),
        ("created_at", Field::Scalar(Scalar::raw(now()))),
    ];
    if let Some(r) = reply_to {
        fields.push(("reply_to", Field::Scalar(Scalar::raw(r.to_owned()))));
    }
    let rel = format!("{dir}/{id}.md");
    ctx.store
        .write(&lock, &rel, None, ed::render(&fields, &body).as_bytes())
        .map_err(conflict)?;
    if ctx.json {
        outln!(
            "{}",
            json!({"id": id.to_string(), "on": item_id.to_string(), "path": rel})
        );
    } else {
        outln!("{id}\t{rel}");
    }
    Ok(Outcome::Ok)
}

pub fn react(ctx: &Ctx, comment: &str, emoji: &str, remove: bool) -> anyhow::Result<Outcome> {
    let Some(me) = ctx.actor()?.map(str::to_owned) else {
        return refuse("who is reacting? pass --as HANDLE or set NONLINEAR_ACTOR");
    };
    let Some(cid) = ids::parse_uuid(comment) else {
        return refuse(format!("`{comment}` is not a comment id"));
    };
    if emoji.is_empty() || emoji.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return refuse("an emoji name is one word, like +1 or rocket");
    }
    let lock = ctx.store.lock()?;
    let rel = ctx
        .workspace()
        .items
        .iter()
        .find(|i| i.kind() == Kind::Comment && i.id.as_ref().is_some_and(|x| x.value == cid))
        .map(|i| i.path.clone())
        .ok_or_else(|| Refused(format!("no comment {cid}")))?;
    let bytes = ctx.store.read(&rel)?;
    let (Some(item), _) = parse::parse_item(&rel, Kind::Comment, &bytes) else {
        return refuse(format!("{rel} cannot be read; run `nonlinear check`"));
    };
    let Fields::Comment(c) = &item.fields else {
        unreachable!("parsed as a comment")
    };
    let mut reactions: Vec<(String, Vec<String>)> = c
        .reactions
        .iter()
        .map(|(e, who)| (e.clone(), who.iter().map(|w| w.value.clone()).collect()))
        .collect();
    match reactions.iter_mut().find(|(e, _)| e == emoji) {
        Some((_, who)) if remove => who.retain(|w| !w.eq_ignore_ascii_case(&me)),
        Some((_, who)) => {
            if !who.iter().any(|w| w.eq_ignore_ascii_case(&me)) {
                who.push(me.clone());
            }
        }
        None if remove => {}
        None => reactions.push((emoji.to_owned(), vec![me.clone()])),
    }
    reactions.retain(|(_, who)| !who.is_empty());
    let op = if reactions.is_empty() {
        Op::Unset {
            key: "reactions".into(),
        }
    } else {
        let body = reactions
            .iter()
            .map(|(e, who)| format!("{}: {}", ed::render_flow_item(e), ed::render_flow(who)))
            .collect::<Vec<_>>()
            .join(", ");
        Op::Set {
            key: "reactions".into(),
            value: Scalar::Raw(format!("{{{body}}}")),
        }
    };
    let found = Found {
        rel: rel.clone(),
        bytes,
        item,
    };
    write_item(ctx, &lock, &found, &[op])?;
    if ctx.json {
        outln!(
            "{}",
            json!({"comment": cid.to_string(), "reactions": reactions.iter().map(|(e, w)| (e.clone(), json!(w))).collect::<serde_json::Map<_, _>>()})
        );
    } else {
        outln!(
            "{} {emoji} on {cid}",
            if remove { "removed" } else { "reacted" }
        );
    }
    Ok(Outcome::Ok)
}

/// Renames a short id: rewrites every reference in other files first, then
/// the item itself (and its file name). Interrupted, it can be run again:
/// files already rewritten no longer mention the old id.
pub fn mv(ctx: &Ctx, from: &str, to: &str) -> anyhow::Result<Outcome> {
    if !ids::is_short_id(to) {
        return refuse(format!(
            "`{to}` is not a valid short id: letters, digits, `-`, `_`, starting with a letter"
        ));
    }
    let lock = ctx.store.lock()?;
    let ws = ctx.workspace();
    let Some(item) = ws.resolve(from) else {
        return refuse(format!("no item {from}"));
    };
    if item.kind() == Kind::Comment {
        return refuse("comments have no short id");
    }
    if item.kind() == Kind::Component && !ids::is_component_key(to) {
        return refuse(format!(
            "component keys are uppercase (like AUTH); got `{to}`"
        ));
    }
    if let Some(other) = ws.resolve(to)
        && !std::ptr::eq(other, item)
    {
        return refuse(format!("{to} is already used by {}", other.path));
    }
    let old = item.short_str().to_owned();
    // Every edit is computed (and refused, if it must be) before the first
    // write. The references go first and the item itself last: should the
    // process die half way, running the same `mv` again finishes the job.
    let mut edits: Vec<(Found, String)> = Vec::new();
    for other in &ws.items {
        let fields: Vec<&str> = LinkField::ALL
            .iter()
            .filter(|f| {
                other
                    .references()
                    .iter()
                    .any(|(g, r)| g == *f && ids::normalize(&r.value) == ids::normalize(&old))
            })
            .map(|f| f.key())
            .collect();
        if fields.is_empty() || std::ptr::eq(other, item) {
            continue;
        }
        let bytes = ctx.store.read(&other.path)?;
        let found = Found {
            rel: other.path.clone(),
            bytes,
            item: other.clone(),
        };
        let ops: Vec<Op> = fields
            .iter()
            .map(|f| Op::Rename {
                key: (*f).into(),
                from: old.clone(),
                to: to.to_owned(),
            })
            .collect();
        let new = edited(&found, &ops)?;
        edits.push((found, new));
    }
    let bytes = ctx.store.read(&item.path)?;
    let found = Found {
        rel: item.path.clone(),
        bytes,
        item: item.clone(),
    };
    let own = edited(
        &found,
        &[Op::Set {
            key: "short_id".into(),
            value: Scalar::str(to),
        }],
    )?;
    let mut changed = Vec::new();
    for (f, new) in &edits {
        ctx.store
            .write(&lock, &f.rel, Some(&f.bytes), new.as_bytes())
            .map_err(conflict)?;
        changed.push(f.rel.clone());
    }
    ctx.store
        .write(&lock, &found.rel, Some(&found.bytes), own.as_bytes())
        .map_err(conflict)?;
    let new_bytes = own.into_bytes();
    let mut new_path = item.path.clone();
    let file = item.path.rsplit('/').next().unwrap_or_default();
    if file
        .strip_suffix(".md")
        .is_some_and(|stem| ids::normalize(stem) == ids::normalize(&old))
    {
        let dir = &item.path[..item.path.len() - file.len()];
        new_path = format!("{dir}{to}.md");
        ctx.store
            .rename(&lock, &item.path, &new_bytes, &new_path)
            .map_err(conflict)?;
    }
    changed.push(new_path.clone());
    if ctx.json {
        outln!(
            "{}",
            json!({"from": old, "to": to, "path": new_path, "changed": changed})
        );
    } else {
        outln!(
            "renamed {old} → {to} ({new_path}); {} file{} updated",
            changed.len(),
            if changed.len() == 1 { "" } else { "s" }
        );
    }
    Ok(Outcome::Ok)
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
