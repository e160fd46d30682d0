//! The write operations every front end shares: create an item, set
//! fields, replace a description, link and unlink, comment, edit a comment,
//! react, rename a short id, delete.
//!
//! Every operation takes the workspace write lock, reads the files it
//! changes, checks the request against the config and the workspace
//! (statuses, members, labels, cycles, priorities, dates, kinds, parent and
//! `blocks` cycles), edits the text with [`schema::edit`] so that only the
//! changed lines differ, re-parses the result to be sure the edit made the
//! file no worse, and writes it back compare-and-swap through [`Store`]: a
//! file that changed since it was read is refused
//! ([`WriteError::Conflict`]), never overwritten. Operations on several
//! files ([`Writer::rename`], [`Writer::delete`]) compute every edit before
//! the first write and order their writes so that running them again after
//! an interruption finishes the job.
//!
//! A [`Writer`] is cheap to make: [`Writer::open`] reads the config and
//! nothing else. The workspace is loaded only by an operation that needs it
//! (a cycle check, a reference by UUID, a comment by id), once per
//! operation, so a long-lived process can keep a writer or make one per
//! request; its config is the one read at `open`.
//!
//! Who acts is the caller's business ([`Writer::with_actor`]): the command
//! line resolves `--as` and git's `user.email`, a server its authenticated
//! client. The handle must be a member; it is checked when an operation
//! uses it.
//!
//! ```
//! use nonlinear_indexer::write::{NewIssue, NewItem, Writer};
//! use schema::store::Store;
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::create_dir_all(dir.path().join(".nonlinear"))?;
//! std::fs::write(
//!     dir.path().join(".nonlinear/config.yaml"),
//!     "key: NL\nstatuses:\n  - {key: todo, category: unstarted}\n  - {key: done, category: completed}\n",
//! )?;
//! let writer = Writer::open(Store::at(dir.path()))?;
//! let new = writer.create(NewItem::Issue(NewIssue { title: "Ship it".into(), ..Default::default() }))?;
//! let short_id = new.short_id.as_deref().expect("issues have a short id");
//! let done = writer.set(short_id, &[("status".into(), "done".into())], new.etag.as_deref())?;
//! assert_eq!(done.changes[0].before, "todo");
//! assert_eq!(done.changes[0].after, "done");
//! // The ETag the create returned is stale now.
//! assert!(writer.set(short_id, &[("title".into(), "Shipped".into())], new.etag.as_deref()).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet, VecDeque};

use schema::edit::{self as ed, Field, Op, Scalar};
use schema::model::{ArtifactKind, Fields, Item, Kind, LinkField};
use schema::store::{Store, StoreError, WriteLock};
use schema::{Config, Diagnostic, Severity, Workspace, ids, parse};
use serde_json::Value;
use uuid::Uuid;

/// Why a write was refused or failed. Nothing was written, except for an
/// [`WriteError::Io`] or [`WriteError::Conflict`] half way through a
/// rename or delete, which running the operation again finishes.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// No such item or comment.
    #[error("{0}")]
    NotFound(String),
    /// A value the config or the workspace does not allow, the wrong kind
    /// of item, a cycle, an edit that would make a file invalid. `field`
    /// names the field at fault when one is.
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    /// The file is not what the caller read (a stale `if_match`), it
    /// changed while the operation ran, or the short id or file is taken.
    #[error("{0}")]
    Conflict(String),
    /// Not the acting member's to do (another author's comment), or an
    /// operation that needs an acting member has none, or one that is not
    /// a member.
    #[error("{0}")]
    Forbidden(String),
    /// The workspace config is missing, invalid, or lacks what the
    /// operation needs.
    #[error("{0}")]
    Config(String),
    /// Reading or writing a file failed.
    #[error(transparent)]
    Io(StoreError),
}

/// A store conflict (the file changed, or exists already) is a
/// [`WriteError::Conflict`]; anything else an [`WriteError::Io`].
impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> WriteError {
        match e {
            StoreError::Conflict(_) | StoreError::Exists(_) => WriteError::Conflict(e.to_string()),
            e => WriteError::Io(e),
        }
    }
}

/// What a write did.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The UUID of the item (or comment) written.
    pub id: Option<Uuid>,
    /// Its short id or component key; `None` for comments.
    pub short_id: Option<String>,
    /// Its workspace-relative path after the write.
    pub path: String,
    /// The fields changed, in the order asked (a rename that moves the
    /// file adds `path`); empty for a created item or comment and for a
    /// delete.
    pub changes: Vec<FieldChange>,
    /// Every file written, in the order written (empty when the values
    /// asked for were there already).
    pub files: Vec<Touched>,
    /// The [`etag`] of the item's file after the write; `None` after a
    /// delete.
    pub etag: Option<String>,
}

/// One field before → after. Values are JSON: strings, numbers, arrays
/// (`labels`), objects (`reactions`), `null` for absent. `description` is
/// the Markdown body.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// A file a write touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    /// Workspace-relative path (the new one for a rename).
    pub path: String,
    pub action: FileAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAction {
    Created,
    Modified,
    Deleted,
    /// Moved from `from` (and possibly edited).
    Renamed {
        from: String,
    },
}

/// What [`Writer::link`] and [`Writer::unlink`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    /// Whether the file changed: `false` for a link that was there already
    /// or an unlink of one that was not.
    pub changed: bool,
    /// The short id of the item whose file holds the link (for
    /// `blocked_by`, the blocker).
    pub source: String,
    /// The field holding the link; its key, edge type and layer.
    pub field: LinkField,
    /// The other end, as written in the file (its short id).
    pub target: String,
    /// The file holding the link.
    pub path: String,
    /// The [`etag`] of that file after the operation.
    pub etag: String,
}

/// A new item for [`Writer::create`].
#[derive(Debug, Clone)]
pub enum NewItem {
    Issue(NewIssue),
    Component(NewComponent),
    Artifact(NewArtifact),
}

/// A new issue. Values are read like [`Writer::set`]'s; `None` leaves a
/// field out (the status defaults to the workflow's first one).
#[derive(Debug, Clone, Default)]
pub struct NewIssue {
    pub title: String,
    pub status: Option<String>,
    pub priority: Option<String>,
    /// Label names; an element may hold several separated by commas.
    pub labels: Vec<String>,
    pub assignee: Option<String>,
    /// A component or an issue (making this a sub-issue).
    pub parent: Option<String>,
    pub cycle: Option<String>,
    pub estimate: Option<String>,
    pub due: Option<String>,
    /// The description (Markdown).
    pub body: String,
}

/// A new component.
#[derive(Debug, Clone, Default)]
pub struct NewComponent {
    pub title: String,
    /// The component key; derived from the title when `None`
    /// (`Auth service` → `AUTH-SERVICE`).
    pub key: Option<String>,
    /// The code directory (repository-relative). When it exists and has no
    /// `COMPONENT.md` yet, the component is written there; otherwise under
    /// `.nonlinear/components/` with `repo: {path: …}`.
    pub path: Option<String>,
    pub parent: Option<String>,
    pub owner: Option<String>,
    pub labels: Vec<String>,
    pub body: String,
}

/// A new artifact attached to components and issues.
#[derive(Debug, Clone)]
pub struct NewArtifact {
    pub title: String,
    pub kind: ArtifactKind,
    /// The address, for links and embeds.
    pub url: Option<String>,
    /// The repository path of the file, for `kind: file`.
    pub file: Option<String>,
    /// References of the items it is attached to (at least one).
    pub on: Vec<String>,
    /// Guessed from the file name for files when `None`.
    pub mime_type: Option<String>,
}

/// An item file found by reference, with the bytes it was read from.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: String,
    pub bytes: Vec<u8>,
    pub item: Item,
}

/// The strong ETag of a file's content: its xxh3, quoted.
pub fn etag(bytes: &[u8]) -> String {
    format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(bytes))
}

/// The config, unless it is missing or has errors (the first one is named).
pub fn checked_config(
    config: Option<Config>,
    diagnostics: &[Diagnostic],
) -> Result<Config, WriteError> {
    match config {
        Some(c) if !diagnostics.iter().any(|d| d.severity == Severity::Error) => Ok(c),
        _ => {
            let first = diagnostics
                .first()
                .map(|d| format!("{}:{}:{}: {}", d.path, d.pos.line, d.pos.col, d.message))
                .unwrap_or_default();
            Err(WriteError::Config(format!(
                "the workspace config is invalid ({first}); run `nonlinear check`"
            )))
        }
    }
}

/// Finds an item by short id or UUID: by file name when it can (reading one
/// file), through `workspace` otherwise.
pub fn find<'w>(
    store: &Store,
    workspace: impl FnOnce() -> &'w Workspace,
    reference: &str,
) -> Result<Found, WriteError> {
    if let Some(rel) = store.locate(reference)
        && let Some(parse::FileKind::Item(kind)) = parse::classify(&rel)
    {
        let bytes = store.read(&rel)?;
        if let (Some(item), _) = parse::parse_item(&rel, kind, &bytes)
            && item
                .short_id
                .as_ref()
                .is_some_and(|s| ids::normalize(&s.value) == ids::normalize(reference))
        {
            return Ok(Found {
                path: rel,
                bytes,
                item,
            });
        }
    }
    let Some(item) = workspace().resolve(reference) else {
        return Err(WriteError::NotFound(format!(
            "no item {reference} in this workspace"
        )));
    };
    let bytes = store.read(&item.path)?;
    Ok(Found {
        path: item.path.clone(),
        bytes,
        item: item.clone(),
    })
}

/// Writes to one workspace; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Writer {
    store: Store,
    config: Config,
    /// The acting member's handle as given; checked against the config
    /// when an operation uses it.
    actor: Option<String>,
}

impl Writer {
    /// A writer for the workspace in `store`; reads and checks its config.
    /// Nobody acts until [`Writer::with_actor`] says who.
    pub fn open(store: Store) -> Result<Writer, WriteError> {
        let bytes = store.read(parse::CONFIG_PATH)?;
        let (config, diagnostics) = parse::parse_config(parse::CONFIG_PATH, &bytes);
        Ok(Writer {
            config: checked_config(config, &diagnostics)?,
            store,
            actor: None,
        })
    }

    /// Acts as the member with this handle (a leading `@` is dropped), or
    /// anonymously: then `created_by` is left out, and comments, reactions
    /// and `me` are refused.
    pub fn with_actor(self, actor: Option<String>) -> Writer {
        Writer {
            actor: actor.map(|a| a.trim_start_matches('@').to_owned()),
            ..self
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The acting member's handle as the config spells it (`None`:
    /// anonymous); [`WriteError::Forbidden`] when the handle given is not a
    /// member.
    pub fn actor(&self) -> Result<Option<&str>, WriteError> {
        match &self.actor {
            Some(a) => match self.config.member(a) {
                Some(m) => Ok(Some(m.handle.as_str())),
                None => Err(WriteError::Forbidden(format!(
                    "acting member `{a}` is not in .nonlinear/config.yaml"
                ))),
            },
            None => Ok(None),
        }
    }

    /// Creates an issue, component or artifact file.
    pub fn create(&self, new: NewItem) -> Result<Written, WriteError> {
        let id = ids::new_id();
        let lock = self.store.lock()?;
        let op = Operation::new(self);
        let (rel, short, text) = match new {
            NewItem::Issue(n) => op.new_issue(id, n)?,
            NewItem::Component(n) => op.new_component(id, n)?,
            NewItem::Artifact(n) => op.new_artifact(id, n)?,
        };
        self.store.write(&lock, &rel, None, text.as_bytes())?;
        Ok(Written {
            id: Some(id),
            short_id: Some(short),
            etag: Some(etag(text.as_bytes())),
            files: vec![Touched::new(&rel, FileAction::Created)],
            path: rel,
            changes: Vec::new(),
        })
    }

    /// Changes fields of an item in one edit of its file: `(field, value)`
    /// pairs, applied in order.
    ///
    /// Fields: `title` (all but comments), `status`, `assignee`, `priority`,
    /// `estimate`, `due`, `cycle` (issues), `owner` (components), `labels`
    /// and `parent` (issues and components), `url` (artifacts). `none` or
    /// `""` removes a field (`priority` becomes 0; `title` cannot be
    /// removed); `labels` takes `a,b` (the new set) or `+a,-b` (changes);
    /// `assignee` and `owner` take `me`. With `if_match`, the file must
    /// still have that [`etag`].
    pub fn set(
        &self,
        reference: &str,
        fields: &[(String, String)],
        if_match: Option<&str>,
    ) -> Result<Written, WriteError> {
        if fields.is_empty() {
            return Err(refused("nothing to set: name at least one field"));
        }
        let lock = self.store.lock()?;
        let op = Operation::new(self);
        let found = op.find(reference)?;
        check_if_match(&found, if_match)?;
        let item = &found.item;
        let kind = item.kind();
        let mut ops = Vec::new();
        let mut changes = Vec::new();
        for (field, value) in fields {
            let (field, value) = (field.as_str(), value.as_str());
            let clear = value == "none" || value.is_empty();
            let allowed: &[&str] = match kind {
                Kind::Issue => &[
                    "title", "status", "assignee", "labels", "priority", "estimate", "parent",
                    "cycle", "due",
                ],
                Kind::Component => &["title", "labels", "owner", "parent"],
                Kind::Artifact => &["title", "url"],
                Kind::Comment => &[],
            };
            if !allowed.contains(&field) {
                return Err(invalid(
                    field,
                    format!(
                        "{} has no settable field `{field}`; settable: {}",
                        kind.with_article(),
                        allowed.join(", ")
                    ),
                ));
            }
            let scalar = |v: String, raw: bool| Op::Set {
                key: field.to_owned(),
                value: if raw { Scalar::Raw(v) } else { Scalar::Str(v) },
            };
            let unset = Op::Unset {
                key: field.to_owned(),
            };
            let (field_ops, after): (Vec<Op>, Value) = match field {
                "title" if clear => {
                    return Err(invalid(
                        "title",
                        "an item needs a title; `none` cannot clear it",
                    ));
                }
                "title" => {
                    let t = title_ok(value)?.to_owned();
                    (vec![scalar(t.clone(), false)], t.into())
                }
                "url" if clear => (vec![unset], Value::Null),
                "url" => (vec![scalar(value.to_owned(), false)], value.into()),
                "status" => {
                    let s = self.status_key(value)?;
                    (vec![scalar(s.clone(), false)], s.into())
                }
                "assignee" | "owner" if clear => (vec![unset], Value::Null),
                "assignee" | "owner" => {
                    let m = self.member(field, value)?;
                    (vec![scalar(m.clone(), false)], m.into())
                }
                "priority" => {
                    let p = priority_value(value)?;
                    (vec![scalar(p.to_string(), true)], p.into())
                }
                "estimate" if clear => (vec![unset], Value::Null),
                "estimate" => (
                    vec![scalar(estimate_value(value)?, true)],
                    value.parse::<f64>().map(Value::from).unwrap_or_default(),
                ),
                "due" if clear => (vec![unset], Value::Null),
                "due" => {
                    let d = date_value(value)?;
                    (vec![scalar(d.clone(), true)], d.into())
                }
                "cycle" if clear => (vec![unset], Value::Null),
                "cycle" => {
                    let c = self.cycle_key(value)?;
                    (vec![scalar(c.clone(), false)], c.into())
                }
                "parent" if clear => (vec![unset], Value::Null),
                "parent" => {
                    let target = op.find_value("parent", value)?;
                    op.check_parent(item, &target.item)?;
                    let r = reference_of(&target.item);
                    (vec![scalar(r.clone(), false)], r.into())
                }
                "labels" => self.label_ops(item, value)?,
                _ => unreachable!("checked against allowed"),
            };
            changes.push(FieldChange {
                field: field.to_owned(),
                before: current_value(item, field),
                after,
            });
            ops.extend(field_ops);
        }
        let new = edited(&found, &ops)?;
        let mut files = Vec::new();
        self.put(&lock, &found, &new, &mut files)?;
        Ok(Written {
            changes,
            files,
            etag: Some(etag(new.as_bytes())),
            ..written(&found)
        })
    }

    /// Replaces the description (the Markdown body) of a component, issue
    /// or artifact; the front matter stays byte for byte.
    pub fn set_body(
        &self,
        reference: &str,
        body: &str,
        if_match: Option<&str>,
    ) -> Result<Written, WriteError> {
        let lock = self.store.lock()?;
        let found = Operation::new(self).find(reference)?;
        if found.item.kind() == Kind::Comment {
            return Err(refused(format!(
                "{reference} is a comment; a comment's text is changed by editing the comment"
            )));
        }
        check_if_match(&found, if_match)?;
        self.replace_body(&lock, found, body, None)
    }

    /// Adds a link: `from kind to`, where `kind` is a link field (`blocks`,
    /// `relates_to`, `duplicates` between issues; `depends_on`, `imports`,
    /// `calls_api`, `shares_db` between components; `attached_to` from an
    /// artifact) or `blocked_by` (written as `blocks` in `to`'s file); `-`
    /// may stand for `_`. A link that is there already changes nothing.
    pub fn link(&self, from: &str, kind: &str, to: &str) -> Result<Linked, WriteError> {
        self.change_link(from, kind, to, true)
    }

    /// Removes a link [`Writer::link`] would add, whether written as a short
    /// id (any case) or a UUID. An absent link changes nothing.
    pub fn unlink(&self, from: &str, kind: &str, to: &str) -> Result<Linked, WriteError> {
        self.change_link(from, kind, to, false)
    }

    /// Comments on a component or issue as the acting member, optionally
    /// answering another comment on it (`reply_to`, a comment UUID).
    pub fn comment(
        &self,
        reference: &str,
        body: &str,
        reply_to: Option<&str>,
    ) -> Result<Written, WriteError> {
        let Some(author) = self.actor()? else {
            return Err(WriteError::Forbidden(
                "who is commenting? a comment needs an acting member".into(),
            ));
        };
        if body.trim().is_empty() {
            return Err(invalid("description", "the comment is empty"));
        }
        let lock = self.store.lock()?;
        let target = Operation::new(self).find(reference)?;
        if !matches!(target.item.kind(), Kind::Component | Kind::Issue) {
            return Err(refused(format!(
                "comments go on components and issues; {reference} is {}",
                target.item.kind().with_article()
            )));
        }
        let Some(item_id) = target.item.id.as_ref().map(|i| i.value) else {
            return Err(refused(format!("{reference} has no id; fix it first")));
        };
        let dir = format!("{}/{item_id}", parse::COMMENTS_DIR);
        let reply_to = match reply_to {
            Some(r) => {
                let Some(r) = ids::parse_uuid(r) else {
                    return Err(invalid(
                        "reply_to",
                        format!("reply_to takes a comment id (a UUID); got `{r}`"),
                    ));
                };
                if !self.store.path(&format!("{dir}/{r}.md")).is_file() {
                    return Err(invalid(
                        "reply_to",
                        format!("no comment {r} on {reference}"),
                    ));
                }
                Some(r)
            }
            None => None,
        };
        let id = ids::new_id();
        let mut fields: Vec<(&str, Field)> = vec![
            ("id", Field::Scalar(Scalar::raw(id.to_string()))),
            ("author", Field::Scalar(Scalar::str(author))),
            ("created_at", Field::Scalar(Scalar::raw(now()))),
        ];
        if let Some(r) = reply_to {
            fields.push(("reply_to", Field::Scalar(Scalar::raw(r.to_string()))));
        }
        let rel = format!("{dir}/{id}.md");
        let text = ed::render(&fields, body);
        self.store.write(&lock, &rel, None, text.as_bytes())?;
        Ok(Written {
            id: Some(id),
            short_id: None,
            etag: Some(etag(text.as_bytes())),
            files: vec![Touched::new(&rel, FileAction::Created)],
            path: rel,
            changes: Vec::new(),
        })
    }

    /// Replaces the text of a comment and sets its `edited_at`. Only its
    /// author may.
    pub fn edit_comment(
        &self,
        comment_id: &str,
        body: &str,
        if_match: Option<&str>,
    ) -> Result<Written, WriteError> {
        let Some(me) = self.actor()? else {
            return Err(WriteError::Forbidden(
                "who is editing? editing a comment needs an acting member".into(),
            ));
        };
        if body.trim().is_empty() {
            return Err(invalid("description", "the comment is empty"));
        }
        let lock = self.store.lock()?;
        let found = Operation::new(self).find_comment(comment_id)?;
        let author = match &found.item.fields {
            Fields::Comment(c) => c.author.as_ref().map(|a| a.value.as_str()),
            _ => None,
        };
        if !author.is_some_and(|a| a.eq_ignore_ascii_case(me)) {
            return Err(WriteError::Forbidden(format!(
                "comment {comment_id} was written by {}; only its author may edit it",
                author.unwrap_or("nobody named")
            )));
        }
        check_if_match(&found, if_match)?;
        let at = now();
        let change = FieldChange {
            field: "edited_at".into(),
            before: edited_at(&found.item),
            after: at.clone().into(),
        };
        let set = Op::Set {
            key: "edited_at".into(),
            value: Scalar::raw(at),
        };
        self.replace_body(&lock, found, body, Some((set, change)))
    }

    /// Adds the acting member's reaction (an emoji name such as `+1` or
    /// `rocket`) to a comment; a reaction that is there already changes
    /// nothing.
    pub fn react(&self, comment_id: &str, emoji: &str) -> Result<Written, WriteError> {
        self.change_reaction(comment_id, emoji, true)
    }

    /// Takes the acting member's reaction back; an absent one changes
    /// nothing.
    pub fn remove_reaction(&self, comment_id: &str, emoji: &str) -> Result<Written, WriteError> {
        self.change_reaction(comment_id, emoji, false)
    }

    /// Renames a short id (a component's key): rewrites every reference in
    /// other files first, then the item's `short_id`, then its file name if
    /// the file is named after the old id. Every edit is computed before
    /// the first write; interrupted, running it again finishes the job.
    pub fn rename(&self, from: &str, to: &str) -> Result<Written, WriteError> {
        if !ids::is_short_id(to) {
            return Err(invalid(
                "short_id",
                format!(
                    "`{to}` is not a valid short id: letters, digits, `-`, `_`, starting with a letter"
                ),
            ));
        }
        let lock = self.store.lock()?;
        let op = Operation::new(self);
        let ws = op.workspace();
        let Some(item) = ws.resolve(from) else {
            return Err(WriteError::NotFound(format!("no item {from}")));
        };
        if item.kind() == Kind::Comment {
            return Err(refused("comments have no short id"));
        }
        if item.kind() == Kind::Component && !ids::is_component_key(to) {
            return Err(invalid(
                "short_id",
                format!("component keys are uppercase (like AUTH); got `{to}`"),
            ));
        }
        if let Some(other) = ws.resolve(to)
            && !std::ptr::eq(other, item)
        {
            return Err(WriteError::Conflict(format!(
                "{to} is already used by {}",
                other.path
            )));
        }
        let old = item.short_str().to_owned();
        // References first, the item last: should the process die half
        // way, the item still answers to the old id and the same rename
        // finishes the job.
        let mut edits: Vec<(Found, String)> = Vec::new();
        for other in &ws.items {
            if std::ptr::eq(other, item) {
                continue;
            }
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
            if fields.is_empty() {
                continue;
            }
            let found = self.found(other)?;
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
        let found = self.found(item)?;
        let own = edited(
            &found,
            &[Op::Set {
                key: "short_id".into(),
                value: Scalar::str(to),
            }],
        )?;
        let mut files = Vec::new();
        for (f, new) in &edits {
            self.put(&lock, f, new, &mut files)?;
        }
        self.store
            .write(&lock, &found.path, Some(&found.bytes), own.as_bytes())?;
        let mut changes = vec![FieldChange {
            field: "short_id".into(),
            before: old.clone().into(),
            after: to.into(),
        }];
        let mut path = found.path.clone();
        let file = path.rsplit('/').next().unwrap_or_default();
        if file
            .strip_suffix(".md")
            .is_some_and(|stem| ids::normalize(stem) == ids::normalize(&old))
        {
            let dir = &path[..path.len() - file.len()];
            let new_path = format!("{dir}{to}.md");
            self.store
                .rename(&lock, &found.path, own.as_bytes(), &new_path)?;
            changes.push(FieldChange {
                field: "path".into(),
                before: found.path.clone().into(),
                after: new_path.clone().into(),
            });
            files.push(Touched::new(
                &new_path,
                FileAction::Renamed {
                    from: found.path.clone(),
                },
            ));
            path = new_path;
        } else {
            files.push(Touched::new(&path, FileAction::Modified));
        }
        Ok(Written {
            short_id: Some(to.to_owned()),
            path,
            changes,
            files,
            etag: Some(etag(own.as_bytes())),
            ..written(&found)
        })
    }

    /// Deletes a component, issue or artifact: removes every reference to
    /// it from other items' link fields, deletes its comments, then its
    /// file. Refused while components or issues have it as their parent
    /// (move or delete them first). Every edit is computed before the first
    /// write; interrupted, running it again finishes the job.
    pub fn delete(&self, reference: &str, if_match: Option<&str>) -> Result<Written, WriteError> {
        let lock = self.store.lock()?;
        let op = Operation::new(self);
        let ws = op.workspace();
        let Some(item) = ws.resolve(reference) else {
            return Err(WriteError::NotFound(format!(
                "no item {reference} in this workspace"
            )));
        };
        if item.kind() == Kind::Comment {
            return Err(refused(format!(
                "{reference} is a comment; only components, issues and artifacts are deleted"
            )));
        }
        let name = item.short_str_or_path().to_owned();
        let children: Vec<&str> = ws.children(item).map(Item::short_str_or_path).collect();
        if !children.is_empty() {
            return Err(refused(format!(
                "{name} still has {} {}: {}; move or delete {} first",
                children.len(),
                if children.len() == 1 {
                    "child"
                } else {
                    "children"
                },
                children.join(", "),
                if children.len() == 1 { "it" } else { "them" },
            )));
        }
        let found = self.found(item)?;
        check_if_match(&found, if_match)?;
        let id = item.id.as_ref().map(|i| i.value);
        let names_it = |r: &str| {
            (!item.short_str().is_empty() && ids::normalize(r) == ids::normalize(item.short_str()))
                || id.is_some_and(|id| ids::parse_uuid(r) == Some(id))
        };
        // References first, then the comments, the item last: should the
        // process die half way, the item is still there to delete again.
        let mut edits: Vec<(Found, String)> = Vec::new();
        for other in &ws.items {
            if std::ptr::eq(other, item) || other.kind() == Kind::Comment {
                continue;
            }
            let ops: Vec<Op> = other
                .references()
                .into_iter()
                .filter(|(f, r)| *f != LinkField::Parent && names_it(&r.value))
                .map(|(f, r)| Op::Remove {
                    key: f.key().into(),
                    value: r.value.clone(),
                })
                .collect();
            if ops.is_empty() {
                continue;
            }
            let found = self.found(other)?;
            let new = edited(&found, &ops)?;
            edits.push((found, new));
        }
        let comments = match id {
            Some(id) => ws
                .comments_on(id)
                .map(|c| self.found(c))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let mut files = Vec::new();
        for (f, new) in &edits {
            self.put(&lock, f, new, &mut files)?;
        }
        for c in comments.iter().chain([&found]) {
            self.store.remove(&lock, &c.path, &c.bytes)?;
            files.push(Touched::new(&c.path, FileAction::Deleted));
        }
        Ok(Written {
            files,
            etag: None,
            ..written(&found)
        })
    }

    /// A workspace item with the bytes of its file, for a compare-and-swap.
    fn found(&self, item: &Item) -> Result<Found, WriteError> {
        Ok(Found {
            path: item.path.clone(),
            bytes: self.store.read(&item.path)?,
            item: item.clone(),
        })
    }

    /// Writes `new` over `found` unless it is the same text; records the
    /// file in `files`.
    fn put(
        &self,
        lock: &WriteLock,
        found: &Found,
        new: &str,
        files: &mut Vec<Touched>,
    ) -> Result<(), WriteError> {
        if new.as_bytes() != found.bytes {
            self.store
                .write(lock, &found.path, Some(&found.bytes), new.as_bytes())?;
            files.push(Touched::new(&found.path, FileAction::Modified));
        }
        Ok(())
    }

    /// Replaces the body of `found`, plus one more field edit if given.
    fn replace_body(
        &self,
        lock: &WriteLock,
        found: Found,
        body: &str,
        and: Option<(Op, FieldChange)>,
    ) -> Result<Written, WriteError> {
        let mut ops = vec![Op::SetBody(body.to_owned())];
        let mut changes = vec![FieldChange {
            field: "description".into(),
            before: description(&found.item.body).into(),
            after: description(body).into(),
        }];
        if let Some((op, change)) = and {
            ops.push(op);
            changes.push(change);
        }
        let new = edited(&found, &ops)?;
        let mut files = Vec::new();
        self.put(lock, &found, &new, &mut files)?;
        Ok(Written {
            changes,
            files,
            etag: Some(etag(new.as_bytes())),
            ..written(&found)
        })
    }

    fn change_link(
        &self,
        from: &str,
        kind: &str,
        to: &str,
        add: bool,
    ) -> Result<Linked, WriteError> {
        let (field, reversed) = match kind.replace('-', "_").as_str() {
            "blocked_by" => (LinkField::Blocks, true),
            k => match LinkField::parse(k) {
                Some(f) if f != LinkField::Parent && f != LinkField::ReplyTo => (f, false),
                _ => {
                    return Err(invalid(
                        "kind",
                        format!(
                            "unknown link `{kind}`; links are blocks, blocked_by, relates_to, duplicates (issues), depends_on, imports, calls_api, shares_db (components), attached_to (artifact → item); use `set ID parent X` for parents"
                        ),
                    ));
                }
            },
        };
        let lock = self.store.lock()?;
        let op = Operation::new(self);
        // The file written is the owner's: FROM's, or TO's for `blocked_by`.
        // FROM is what the caller acts on (not found: `NotFound`), TO a
        // value (not found: `Invalid`).
        let (owner_ref, target_ref) = if reversed { (to, from) } else { (from, to) };
        let (owner, target) = if reversed {
            let owner = op.find_value(field.key(), to)?;
            (owner, op.find(from)?)
        } else {
            let owner = op.find(from)?;
            (owner, op.find_value(field.key(), to)?)
        };
        let (ok_from, ok_to): (&[Kind], &[Kind]) = match field.layer() {
            2 => (&[Kind::Issue], &[Kind::Issue]),
            3 => (&[Kind::Component], &[Kind::Component]),
            _ => (&[Kind::Artifact], &[Kind::Component, Kind::Issue]),
        };
        if !ok_from.contains(&owner.item.kind()) || !ok_to.contains(&target.item.kind()) {
            return Err(invalid(
                field.key(),
                format!(
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
                ),
            ));
        }
        if owner.item.id == target.item.id {
            return Err(invalid(field.key(), "an item cannot link to itself"));
        }
        let target_name = reference_of(&target.item);
        let present = owner
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
            .map(|(_, r)| r.value.clone());
        let linked = |changed: bool, bytes: &[u8]| Linked {
            changed,
            source: owner.item.short_str().to_owned(),
            field,
            target: target_name.clone(),
            path: owner.path.clone(),
            etag: etag(bytes),
        };
        if add == present.is_some() {
            return Ok(linked(false, &owner.bytes));
        }
        if add && field == LinkField::Blocks {
            // Would the new edge close a BLOCKS cycle? Look for target →* owner.
            if let Some(path) = blocks_path(op.workspace(), &target_name, owner.item.short_str()) {
                return Err(invalid(
                    "blocks",
                    format!(
                        "{} already blocks {} ({}); this link would make a cycle",
                        target_name,
                        owner.item.short_str(),
                        path.join(" → ")
                    ),
                ));
            }
        }
        let change = match present {
            None => Op::Add {
                key: field.key().into(),
                value: target_name.clone(),
            },
            Some(value) => Op::Remove {
                key: field.key().into(),
                value,
            },
        };
        let new = edited(&owner, &[change])?;
        self.put(&lock, &owner, &new, &mut Vec::new())?;
        Ok(linked(true, new.as_bytes()))
    }

    fn change_reaction(
        &self,
        comment_id: &str,
        emoji: &str,
        add: bool,
    ) -> Result<Written, WriteError> {
        let Some(me) = self.actor()?.map(str::to_owned) else {
            return Err(WriteError::Forbidden(
                "who is reacting? a reaction needs an acting member".into(),
            ));
        };
        if emoji.is_empty() || emoji.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                "reactions",
                "an emoji name is one word, like +1 or rocket",
            ));
        }
        let lock = self.store.lock()?;
        let found = Operation::new(self).find_comment(comment_id)?;
        let Fields::Comment(c) = &found.item.fields else {
            unreachable!("find_comment finds comments")
        };
        let before: Vec<(String, Vec<String>)> = c
            .reactions
            .iter()
            .map(|(e, who)| (e.clone(), who.iter().map(|w| w.value.clone()).collect()))
            .collect();
        let mut reactions = before.clone();
        match reactions.iter_mut().find(|(e, _)| e == emoji) {
            Some((_, who)) if !add => who.retain(|w| !w.eq_ignore_ascii_case(&me)),
            Some((_, who)) => {
                if !who.iter().any(|w| w.eq_ignore_ascii_case(&me)) {
                    who.push(me.clone());
                }
            }
            None if !add => {}
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
        let changes = vec![FieldChange {
            field: "reactions".into(),
            before: reactions_json(&before),
            after: reactions_json(&reactions),
        }];
        if reactions == before {
            return Ok(Written {
                changes,
                ..written(&found)
            });
        }
        let new = edited(&found, &[op])?;
        let mut files = Vec::new();
        self.put(&lock, &found, &new, &mut files)?;
        Ok(Written {
            changes,
            files,
            etag: Some(etag(new.as_bytes())),
            ..written(&found)
        })
    }

    fn status_key(&self, s: &str) -> Result<String, WriteError> {
        let found = self
            .config
            .statuses
            .iter()
            .find(|d| d.key.eq_ignore_ascii_case(s) || d.name.eq_ignore_ascii_case(s));
        match found {
            Some(d) => Ok(d.key.clone()),
            None => Err(invalid(
                "status",
                format!(
                    "unknown status `{s}`; the workflow has {}",
                    self.config
                        .statuses
                        .iter()
                        .map(|s| s.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// A member handle for `field`, as the config spells it; `me` is the
    /// acting member.
    fn member(&self, field: &str, h: &str) -> Result<String, WriteError> {
        let h = if h == "@me" || h == "me" {
            self.actor()?
                .ok_or_else(|| WriteError::Forbidden("`me` needs an acting member".into()))?
        } else {
            h
        };
        match self.config.member(h) {
            Some(m) => Ok(m.handle.clone()),
            None => Err(invalid(
                field,
                format!(
                    "`{h}` is not a member; members are {}",
                    self.config
                        .members
                        .iter()
                        .map(|m| m.handle.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// Label names as the config spells them; each element may hold
    /// several, separated by commas.
    fn label_names(&self, labels: &[String]) -> Result<Vec<String>, WriteError> {
        labels
            .iter()
            .flat_map(|l| l.split(','))
            .filter(|l| !l.is_empty())
            .map(|l| self.label_name(l))
            .collect()
    }

    fn label_name(&self, l: &str) -> Result<String, WriteError> {
        match self
            .config
            .labels
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(l))
        {
            Some(d) => Ok(d.name.clone()),
            None => Err(invalid(
                "labels",
                format!("label `{l}` is not defined in .nonlinear/config.yaml"),
            )),
        }
    }

    /// The edits and the labels after for `set … labels VALUE`.
    fn label_ops(&self, item: &Item, value: &str) -> Result<(Vec<Op>, Value), WriteError> {
        let mut after: Vec<String> = item.labels().iter().map(|l| l.value.clone()).collect();
        let mut ops = Vec::new();
        let parts: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if value == "none" || value.is_empty() {
            ops.push(Op::SetList {
                key: "labels".into(),
                values: Vec::new(),
            });
            after.clear();
        } else if parts.iter().all(|p| p.starts_with(['+', '-'])) {
            for p in parts {
                let name = &p[1..];
                if p.starts_with('+') {
                    let n = self.label_name(name)?;
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
            let names =
                self.label_names(&parts.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
            after = names.clone();
            ops.push(Op::SetList {
                key: "labels".into(),
                values: names,
            });
        }
        Ok((ops, after.into()))
    }

    fn cycle_key(&self, c: &str) -> Result<String, WriteError> {
        match self.config.cycle(c) {
            Some(d) => Ok(d.key.clone()),
            None => Err(invalid(
                "cycle",
                format!("cycle `{c}` is not defined in .nonlinear/config.yaml"),
            )),
        }
    }
}

/// One operation's view of the workspace: loaded on first use, at most
/// once, and never kept past the operation (a writer may live long).
struct Operation<'w> {
    writer: &'w Writer,
    workspace: OnceCell<Workspace>,
}

impl<'w> Operation<'w> {
    fn new(writer: &'w Writer) -> Operation<'w> {
        Operation {
            writer,
            workspace: OnceCell::new(),
        }
    }

    fn workspace(&self) -> &Workspace {
        self.workspace.get_or_init(|| self.writer.store.load())
    }

    /// The item the operation is about.
    fn find(&self, reference: &str) -> Result<Found, WriteError> {
        find(&self.writer.store, || self.workspace(), reference)
    }

    /// An item named as the value of `field`: not finding it is an invalid
    /// value, not a missing subject.
    fn find_value(&self, field: &str, reference: &str) -> Result<Found, WriteError> {
        self.find(reference).map_err(|e| match e {
            WriteError::NotFound(message) => invalid(field, message),
            e => e,
        })
    }

    /// A comment by its UUID.
    fn find_comment(&self, comment_id: &str) -> Result<Found, WriteError> {
        let Some(cid) = ids::parse_uuid(comment_id) else {
            return Err(WriteError::NotFound(format!(
                "`{comment_id}` is not a comment id"
            )));
        };
        let rel = self
            .workspace()
            .items
            .iter()
            .find(|i| i.kind() == Kind::Comment && i.id.as_ref().is_some_and(|x| x.value == cid))
            .map(|i| i.path.clone())
            .ok_or_else(|| WriteError::NotFound(format!("no comment {cid}")))?;
        let bytes = self.writer.store.read(&rel)?;
        let (Some(item), _) = parse::parse_item(&rel, Kind::Comment, &bytes) else {
            return Err(refused(format!(
                "{rel} cannot be read; run `nonlinear check`"
            )));
        };
        Ok(Found {
            path: rel,
            bytes,
            item,
        })
    }

    /// Refuses a parent that is the wrong kind or would close a parent
    /// cycle.
    fn check_parent(&self, child: &Item, parent: &Item) -> Result<(), WriteError> {
        let ok = match child.kind() {
            Kind::Component => parent.kind() == Kind::Component,
            Kind::Issue => matches!(parent.kind(), Kind::Component | Kind::Issue),
            _ => false,
        };
        if !ok {
            return Err(invalid(
                "parent",
                format!(
                    "{} cannot have {} as parent",
                    child.kind().with_article(),
                    parent.kind().with_article()
                ),
            ));
        }
        let ws = self.workspace();
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
                return Err(invalid(
                    "parent",
                    format!(
                        "{} is below {} ({}); that parent would make a cycle",
                        parent.short_str_or_path(),
                        child.short_str_or_path(),
                        chain.join(" → ")
                    ),
                ));
            }
            at = a.parent().and_then(|p| ws.resolve(&p.value));
            if let Some(a) = at {
                chain.push(a.short_str_or_path().to_owned());
            }
        }
        Ok(())
    }

    fn new_issue(&self, id: Uuid, n: NewIssue) -> Result<(String, String, String), WriteError> {
        let w = self.writer;
        let short = fresh_short_id(&w.store, &w.config.key, id);
        let mut fields: Vec<(&str, Field)> = vec![
            ("id", Field::Scalar(Scalar::raw(id.to_string()))),
            ("short_id", Field::Scalar(Scalar::str(&short))),
            ("title", Field::Scalar(Scalar::str(title_ok(&n.title)?))),
        ];
        let status = match n.status {
            Some(s) => w.status_key(&s)?,
            None => w
                .config
                .default_status()
                .map(|s| s.key.clone())
                .ok_or_else(|| WriteError::Config("the workflow has no statuses".into()))?,
        };
        fields.push(("status", Field::Scalar(Scalar::str(status))));
        if let Some(p) = n.priority {
            fields.push((
                "priority",
                Field::Scalar(Scalar::raw(priority_value(&p)?.to_string())),
            ));
        }
        if !n.labels.is_empty() {
            fields.push(("labels", Field::List(w.label_names(&n.labels)?)));
        }
        if let Some(a) = n.assignee {
            fields.push((
                "assignee",
                Field::Scalar(Scalar::str(w.member("assignee", &a)?)),
            ));
        }
        if let Some(me) = w.actor()? {
            fields.push(("created_by", Field::Scalar(Scalar::str(me))));
        }
        fields.push(("created_at", Field::Scalar(Scalar::raw(now()))));
        if let Some(c) = n.cycle {
            fields.push(("cycle", Field::Scalar(Scalar::str(w.cycle_key(&c)?))));
        }
        if let Some(e) = n.estimate {
            fields.push(("estimate", Field::Scalar(Scalar::raw(estimate_value(&e)?))));
        }
        if let Some(d) = n.due {
            fields.push(("due", Field::Scalar(Scalar::raw(date_value(&d)?))));
        }
        if let Some(p) = n.parent {
            let target = self.find_value("parent", &p)?;
            if !matches!(target.item.kind(), Kind::Component | Kind::Issue) {
                return Err(invalid(
                    "parent",
                    format!(
                        "an issue's parent must be a component or an issue; {p} is {}",
                        target.item.kind().with_article()
                    ),
                ));
            }
            fields.push((
                "parent",
                Field::Scalar(Scalar::str(reference_of(&target.item))),
            ));
        }
        let text = ed::render(&fields, &n.body);
        Ok((format!("{}/{short}.md", parse::ISSUES_DIR), short, text))
    }

    fn new_component(
        &self,
        id: Uuid,
        n: NewComponent,
    ) -> Result<(String, String, String), WriteError> {
        let w = self.writer;
        let key = n.key.unwrap_or_else(|| ids::component_key(&n.title));
        if !ids::is_component_key(&key) {
            return Err(invalid(
                "key",
                format!(
                    "component keys are uppercase letters, digits, `-` and `_`, starting with a letter; got `{key}`"
                ),
            ));
        }
        if let Some(other) = self.workspace().resolve(&key) {
            return Err(WriteError::Conflict(format!(
                "{key} is already used by {}; pick another key",
                other.path
            )));
        }
        let mut fields: Vec<(&str, Field)> = vec![
            ("id", Field::Scalar(Scalar::raw(id.to_string()))),
            ("short_id", Field::Scalar(Scalar::str(&key))),
            ("title", Field::Scalar(Scalar::str(title_ok(&n.title)?))),
        ];
        if !n.labels.is_empty() {
            fields.push(("labels", Field::List(w.label_names(&n.labels)?)));
        }
        if let Some(o) = n.owner {
            fields.push(("owner", Field::Scalar(Scalar::str(w.member("owner", &o)?))));
        }
        if let Some(p) = n.parent {
            let target = self.find_value("parent", &p)?;
            if target.item.kind() != Kind::Component {
                return Err(invalid(
                    "parent",
                    format!(
                        "a component's parent must be a component; {p} is {}",
                        target.item.kind().with_article()
                    ),
                ));
            }
            fields.push((
                "parent",
                Field::Scalar(Scalar::str(reference_of(&target.item))),
            ));
        }
        let path = match n.path {
            Some(p) => Some(repo_path("path", &p)?),
            None => None,
        };
        let rel = match &path {
            Some(p)
                if w.store.path(p).is_dir()
                    && !w.store.path(p).join(parse::COMPONENT_FILE).exists() =>
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
        let text = ed::render(&fields, &n.body);
        Ok((rel, key, text))
    }

    fn new_artifact(
        &self,
        id: Uuid,
        n: NewArtifact,
    ) -> Result<(String, String, String), WriteError> {
        let w = self.writer;
        let short = fresh_short_id(&w.store, &w.config.key, id);
        let kind = match n.kind {
            ArtifactKind::Link => "link",
            ArtifactKind::File => "file",
            ArtifactKind::Embed => "embed",
        };
        let mut fields: Vec<(&str, Field)> = vec![
            ("id", Field::Scalar(Scalar::raw(id.to_string()))),
            ("short_id", Field::Scalar(Scalar::str(&short))),
            ("title", Field::Scalar(Scalar::str(title_ok(&n.title)?))),
            ("kind", Field::Scalar(Scalar::str(kind))),
        ];
        match n.kind {
            ArtifactKind::File => {
                let Some(f) = n.file else {
                    return Err(invalid(
                        "file",
                        "an artifact of kind file needs the repository path of the file",
                    ));
                };
                let f = repo_path("file", &f)?;
                let meta = std::fs::metadata(w.store.path(&f))
                    .ok()
                    .filter(std::fs::Metadata::is_file)
                    .ok_or_else(|| {
                        invalid("file", format!("{f} does not exist in the workspace"))
                    })?;
                let mime = n.mime_type.unwrap_or_else(|| guess_mime(&f).to_owned());
                fields.push(("file", Field::Scalar(Scalar::str(f))));
                fields.push(("mime_type", Field::Scalar(Scalar::str(mime))));
                fields.push(("size", Field::Scalar(Scalar::raw(meta.len().to_string()))));
            }
            ArtifactKind::Link | ArtifactKind::Embed => {
                let Some(u) = n.url else {
                    return Err(invalid(
                        "url",
                        format!("an artifact of kind {kind} needs a url"),
                    ));
                };
                fields.push(("url", Field::Scalar(Scalar::str(u))));
                if let Some(m) = n.mime_type {
                    fields.push(("mime_type", Field::Scalar(Scalar::str(m))));
                }
            }
        }
        if n.on.is_empty() {
            return Err(invalid(
                "attached_to",
                "an artifact is attached to at least one component or issue",
            ));
        }
        let mut targets = Vec::new();
        for o in &n.on {
            let t = self.find_value("attached_to", o)?;
            if !matches!(t.item.kind(), Kind::Component | Kind::Issue) {
                return Err(invalid(
                    "attached_to",
                    format!(
                        "artifacts attach to components and issues; {o} is {}",
                        t.item.kind().with_article()
                    ),
                ));
            }
            targets.push(reference_of(&t.item));
        }
        fields.push(("attached_to", Field::List(targets)));
        if let Some(me) = w.actor()? {
            fields.push(("created_by", Field::Scalar(Scalar::str(me))));
        }
        fields.push(("created_at", Field::Scalar(Scalar::raw(now()))));
        let text = ed::render(&fields, "");
        Ok((format!("{}/{short}.md", parse::ARTIFACTS_DIR), short, text))
    }
}

impl Touched {
    fn new(path: &str, action: FileAction) -> Touched {
        Touched {
            path: path.to_owned(),
            action,
        }
    }
}

impl FileAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            FileAction::Created => "created",
            FileAction::Modified => "modified",
            FileAction::Deleted => "deleted",
            FileAction::Renamed { .. } => "renamed",
        }
    }
}

/// A [`Written`] for `found`, nothing done yet.
fn written(found: &Found) -> Written {
    let item = &found.item;
    Written {
        id: item.id.as_ref().map(|i| i.value),
        short_id: item.short_id.as_ref().map(|s| s.value.clone()),
        path: found.path.clone(),
        changes: Vec::new(),
        files: Vec::new(),
        etag: Some(etag(&found.bytes)),
    }
}

fn invalid(field: &str, message: impl Into<String>) -> WriteError {
    WriteError::Invalid {
        field: Some(field.to_owned()),
        message: message.into(),
    }
}

/// An invalid request no one field is to blame for.
fn refused(message: impl Into<String>) -> WriteError {
    WriteError::Invalid {
        field: None,
        message: message.into(),
    }
}

/// Refuses when `if_match` (ETags as an HTTP `If-Match` holds them:
/// quoted or not, `W/` or not, several separated by commas, or `*`) does
/// not name the file's current content.
fn check_if_match(found: &Found, if_match: Option<&str>) -> Result<(), WriteError> {
    let Some(want) = if_match else {
        return Ok(());
    };
    let have = etag(&found.bytes);
    let bare = |t: &str| {
        let t = t.trim();
        t.strip_prefix("W/")
            .unwrap_or(t)
            .trim_matches('"')
            .to_owned()
    };
    if want.trim() == "*" || want.split(',').any(|w| bare(w) == bare(&have)) {
        return Ok(());
    }
    Err(WriteError::Conflict(format!(
        "{} changed since it was read (ETag {have}, not {}); nothing was written",
        found.path,
        want.trim()
    )))
}

/// The text of `found` after `ops`, refused if the edit fails or adds
/// errors to the file.
fn edited(found: &Found, ops: &[Op]) -> Result<String, WriteError> {
    let text = std::str::from_utf8(&found.bytes).map_err(|_| {
        refused(format!(
            "{} is not UTF-8; fix it before editing",
            found.path
        ))
    })?;
    let new = ed::apply(text, ops).map_err(|e| refused(format!("{}: {e}", found.path)))?;
    let kind = found.item.kind();
    let errors = |bytes: &[u8]| {
        parse::parse_item(&found.path, kind, bytes)
            .1
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    };
    if errors(new.as_bytes()) > errors(&found.bytes) {
        let (_, d) = parse::parse_item(&found.path, kind, new.as_bytes());
        return Err(WriteError::Invalid {
            field: d
                .iter()
                .find(|d| d.severity == Severity::Error)
                .and_then(|d| d.field.clone()),
            message: format!(
                "the edit would make {} invalid: {}",
                found.path,
                d.iter()
                    .map(|d| d.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        });
    }
    Ok(new)
}

/// The canonical way to refer to an item in a file: its short id (its UUID
/// when it has none).
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

/// A `blocks` path from `from` to `to`, if one exists (breadth first).
fn blocks_path(ws: &Workspace, from: &str, to: &str) -> Option<Vec<String>> {
    let start = ws.resolve_index(from)?;
    let goal = ws.resolve_index(to)?;
    let mut prev: HashMap<usize, usize> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    let mut seen = HashSet::from([start]);
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

/// The value of a settable field before a `set`, as JSON.
fn current_value(item: &Item, field: &str) -> Value {
    match (field, &item.fields) {
        ("title", _) => item.title.as_ref().map(|t| t.value.clone()).into(),
        ("status", Fields::Issue(i)) => i.status.as_ref().map(|s| s.value.clone()).into(),
        ("assignee", Fields::Issue(i)) => i.assignee.as_ref().map(|s| s.value.clone()).into(),
        ("priority", Fields::Issue(i)) => i.priority.as_ref().map(|s| s.value).into(),
        ("estimate", Fields::Issue(i)) => i.estimate.as_ref().map(|s| s.value).into(),
        ("cycle", Fields::Issue(i)) => i.cycle.as_ref().map(|s| s.value.clone()).into(),
        ("due", Fields::Issue(i)) => i.due.as_ref().map(|s| s.value.to_string()).into(),
        ("owner", Fields::Component(c)) => c.owner.as_ref().map(|s| s.value.clone()).into(),
        ("parent", _) => item.parent().map(|s| s.value.clone()).into(),
        ("labels", _) => item
            .labels()
            .iter()
            .map(|l| l.value.clone())
            .collect::<Vec<_>>()
            .into(),
        ("url", Fields::Artifact(a)) => a.url.as_ref().map(|s| s.value.clone()).into(),
        _ => Value::Null,
    }
}

/// A comment's `edited_at` as JSON (`null` when absent).
fn edited_at(item: &Item) -> Value {
    match &item.fields {
        Fields::Comment(c) => c
            .edited_at
            .as_ref()
            .map_or(Value::Null, |t| t.value.to_string().into()),
        _ => Value::Null,
    }
}

/// A body as a description: without the blank lines that separate it from
/// the front matter.
fn description(body: &str) -> &str {
    body.trim_start_matches(['\n', '\r'])
}

fn reactions_json(reactions: &[(String, Vec<String>)]) -> Value {
    Value::Object(
        reactions
            .iter()
            .map(|(e, who)| (e.clone(), Value::from(who.clone())))
            .collect(),
    )
}

fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
}

/// A short id not used by any issue or artifact file yet.
fn fresh_short_id(store: &Store, key: &str, id: Uuid) -> String {
    let count = [parse::ISSUES_DIR, parse::ARTIFACTS_DIR]
        .iter()
        .map(|d| std::fs::read_dir(store.path(d)).map_or(0, |r| r.count()))
        .sum();
    let mut len = ids::suffix_len(count);
    loop {
        let short = ids::short_id(key, id, len);
        if store.locate(&short).is_none() || len >= ids::MAX_SUFFIX {
            return short;
        }
        len += 1;
    }
}

/// A repository-relative path as written (`./a/b/` → `a/b`), refused when
/// it is absolute or climbs out of the repository.
fn repo_path(field: &str, p: &str) -> Result<String, WriteError> {
    let p = p.trim_end_matches('/').trim_start_matches("./");
    if p.is_empty()
        || p.starts_with(['/', '\\'])
        || p.split(['/', '\\']).any(|c| c == "..")
        || std::path::Path::new(p).is_absolute()
    {
        return Err(invalid(
            field,
            format!("`{p}` is not a path inside the repository"),
        ));
    }
    Ok(p.to_owned())
}

fn title_ok(t: &str) -> Result<&str, WriteError> {
    let t = t.trim();
    if t.is_empty() || t.contains(['\n', '\r']) {
        return Err(invalid("title", "a title is one non-empty line"));
    }
    Ok(t)
}

fn priority_value(p: &str) -> Result<u8, WriteError> {
    Ok(match p.to_ascii_lowercase().as_str() {
        "none" | "no" => 0,
        "urgent" => 1,
        "high" => 2,
        "medium" => 3,
        "low" => 4,
        n => match n.parse::<u8>() {
            Ok(v) if v <= 4 => v,
            _ => {
                return Err(invalid(
                    "priority",
                    format!("priority must be 0–4 or none/urgent/high/medium/low; got `{p}`"),
                ));
            }
        },
    })
}

fn estimate_value(e: &str) -> Result<String, WriteError> {
    match e.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(e.to_owned()),
        _ => Err(invalid(
            "estimate",
            format!("estimate must be a number ≥ 0; got `{e}`"),
        )),
    }
}

fn date_value(d: &str) -> Result<String, WriteError> {
    match d.parse::<jiff::civil::Date>() {
        Ok(date) if d.len() == 10 => Ok(date.to_string()),
        _ => Err(invalid(
            "due",
            format!("dates look like 2026-12-01; got `{d}`"),
        )),
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
