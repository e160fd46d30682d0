//! What changed between two versions of an item, or of a workspace, as
//! typed events: created, deleted, a field's before → after, a link added
//! or removed (with its layer).
//!
//! The watcher streams these as files change, `diff` lists them between two
//! git revisions, `log` between successive versions of one file. Items are
//! matched by UUID, so a renamed short id or a moved file is an update, not
//! a delete plus a create.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use schema::model::{Fields, Item};
use schema::{Diagnostic, Kind, Workspace};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::graph::{EdgeKind, NodeKind};

/// One change. `key` is the item's short id (its path when it has none).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Change {
    Created {
        key: String,
        kind: NodeKind,
        path: String,
        title: String,
    },
    Deleted {
        key: String,
        kind: NodeKind,
        path: String,
        title: String,
    },
    /// A field other than a link changed; `null` stands for absent.
    /// `field` is the front matter key, `description` for the body, `path`
    /// for a moved file.
    Field {
        key: String,
        field: String,
        before: Value,
        after: Value,
    },
    LinkAdded {
        from: String,
        kind: EdgeKind,
        to: String,
        layer: u8,
    },
    LinkRemoved {
        from: String,
        kind: EdgeKind,
        to: String,
        layer: u8,
    },
}

impl Change {
    /// The item the change is about (for links, the one whose file holds it).
    pub fn key(&self) -> &str {
        match self {
            Change::Created { key, .. }
            | Change::Deleted { key, .. }
            | Change::Field { key, .. } => key,
            Change::LinkAdded { from, .. } | Change::LinkRemoved { from, .. } => from,
        }
    }
}

/// Turns a reference as written into the name to show: callers resolve it
/// to the target's current short id where they can.
pub trait Names {
    fn name(&self, reference: &str) -> String;
}

/// References shown as written.
#[derive(Debug, Clone, Copy)]
pub struct AsWritten;

impl Names for AsWritten {
    fn name(&self, reference: &str) -> String {
        reference.trim().to_owned()
    }
}

/// References resolved through a workspace (short id of the target), as
/// written when they do not resolve.
impl Names for Workspace {
    fn name(&self, reference: &str) -> String {
        match self.resolve(reference) {
            Some(i) if !i.short_str().is_empty() => i.short_str().to_owned(),
            _ => reference.trim().to_owned(),
        }
    }
}

fn key_of(item: &Item) -> String {
    item.short_id
        .as_ref()
        .map_or_else(|| item.path.clone(), |s| s.value.clone())
}

/// The non-link fields of an item, as JSON values, by front matter key.
fn fields(item: &Item) -> BTreeMap<String, Value> {
    let s = |v: &Option<schema::model::Spanned<String>>| {
        v.as_ref().map_or(Value::Null, |s| json!(s.value))
    };
    let list = |v: &[schema::model::Spanned<String>]| -> Value {
        v.iter().map(|s| s.value.clone()).collect::<Vec<_>>().into()
    };
    let mut m = BTreeMap::new();
    m.insert("title".into(), s(&item.title));
    match &item.fields {
        Fields::Issue(i) => {
            m.insert("status".into(), s(&i.status));
            m.insert("labels".into(), list(&i.labels));
            m.insert("assignee".into(), s(&i.assignee));
            m.insert("created_by".into(), s(&i.created_by));
            m.insert("cycle".into(), s(&i.cycle));
            m.insert(
                "priority".into(),
                i.priority.as_ref().map_or(Value::Null, |p| json!(p.value)),
            );
            m.insert(
                "estimate".into(),
                i.estimate.as_ref().map_or(Value::Null, |e| json!(e.value)),
            );
            m.insert(
                "due".into(),
                i.due
                    .as_ref()
                    .map_or(Value::Null, |d| json!(d.value.to_string())),
            );
        }
        Fields::Component(c) => {
            m.insert("labels".into(), list(&c.labels));
            m.insert("owner".into(), s(&c.owner));
            m.insert("repo.path".into(), s(&c.repo.path));
            m.insert("repo.url".into(), json!(c.repo.url));
            m.insert("repo.branch".into(), json!(c.repo.branch));
        }
        Fields::Artifact(a) => {
            m.insert(
                "kind".into(),
                a.kind.as_ref().map_or(Value::Null, |k| {
                    json!(format!("{:?}", k.value).to_lowercase())
                }),
            );
            m.insert("url".into(), s(&a.url));
            m.insert("file".into(), s(&a.file));
            m.insert("mime_type".into(), json!(a.mime_type));
            m.insert("size".into(), json!(a.size));
        }
        Fields::Comment(c) => {
            m.insert("author".into(), s(&c.author));
        }
    }
    for (k, v) in &item.extra {
        m.insert(k.clone(), v.to_json());
    }
    m
}

/// A link: edge kind, layer, and the target (as written, normalized; or
/// its name).
type Link = (EdgeKind, u8, String);

/// Links an item's file makes: `(edge kind, layer, reference as written,
/// normalized)` → the target's name.
fn links(item: &Item, names: &dyn Names) -> BTreeMap<Link, String> {
    let key = crate::graph::normalize;
    let Some(declarer) = NodeKind::of(item.kind()) else {
        return Default::default();
    };
    item.references()
        .into_iter()
        .filter_map(|(field, r)| {
            let kind = EdgeKind::of(field)?;
            Some((
                (kind, kind.layer(declarer), key(&r.value)),
                names.name(&r.value),
            ))
        })
        .chain(item.issue().and_then(|i| i.cycle.as_ref()).map(|c| {
            let kind = EdgeKind::InCycle;
            ((kind, kind.layer(declarer), key(&c.value)), c.value.clone())
        }))
        .collect()
}

/// Links removed and added between two versions of a file: a reference
/// written the same on both sides is the same link, whatever its target is
/// called now (a target deleted shows as the target's `Deleted` and a
/// check problem, not as a link change here); one rewritten to name the
/// same target (short id ↔ UUID) is no change either.
fn link_changes(
    before: BTreeMap<Link, String>,
    after: BTreeMap<Link, String>,
) -> (BTreeSet<Link>, BTreeSet<Link>) {
    let only = |a: &BTreeMap<Link, String>, b: &BTreeMap<Link, String>| {
        a.iter()
            .filter(|(k, _)| !b.contains_key(*k))
            .map(|((kind, layer, _), name)| (*kind, *layer, name.clone()))
            .collect::<BTreeSet<_>>()
    };
    let (removed, added) = (only(&before, &after), only(&after, &before));
    (
        removed.difference(&added).cloned().collect(),
        added.difference(&removed).cloned().collect(),
    )
}

/// Changes from `old` to `new` (either absent: created or deleted) of one
/// item. References in `old` are named through `old_names`, in `new`
/// through `new_names`. A link `from` is always the item itself; for
/// `HAS_CHILD` and `HAS_ARTIFACT` the edge in the graph points the other
/// way, the event says which file declares it. Comments yield nothing.
pub fn item_changes(
    old: Option<&Item>,
    new: Option<&Item>,
    old_names: &dyn Names,
    new_names: &dyn Names,
) -> Vec<Change> {
    let mut out = Vec::new();
    let either = new.or(old);
    let Some(kind) = either.and_then(|i| NodeKind::of(i.kind())) else {
        return out;
    };
    let key = either.map(key_of).unwrap_or_default();
    let summary = |i: &Item| (key_of(i), i.path.clone(), i.title_str().to_owned());
    match (old, new) {
        (None, Some(n)) => {
            let (key, path, title) = summary(n);
            out.push(Change::Created {
                key,
                kind,
                path,
                title,
            });
        }
        (Some(o), None) => {
            let (key, path, title) = summary(o);
            out.push(Change::Deleted {
                key,
                kind,
                path,
                title,
            });
        }
        (Some(o), Some(n)) => {
            if key_of(o) != key_of(n) {
                out.push(Change::Field {
                    key: key.clone(),
                    field: "short_id".into(),
                    before: json!(key_of(o)),
                    after: json!(key_of(n)),
                });
            }
            if o.path != n.path {
                out.push(Change::Field {
                    key: key.clone(),
                    field: "path".into(),
                    before: json!(o.path),
                    after: json!(n.path),
                });
            }
            let (fo, fnew) = (fields(o), fields(n));
            let names: BTreeSet<&String> = fo.keys().chain(fnew.keys()).collect();
            for f in names {
                let before = fo.get(f).cloned().unwrap_or(Value::Null);
                let after = fnew.get(f).cloned().unwrap_or(Value::Null);
                if before != after {
                    out.push(Change::Field {
                        key: key.clone(),
                        field: f.clone(),
                        before,
                        after,
                    });
                }
            }
            if o.body.trim() != n.body.trim() {
                out.push(Change::Field {
                    key: key.clone(),
                    field: "description".into(),
                    before: json!(o.body.trim()),
                    after: json!(n.body.trim()),
                });
            }
        }
        (None, None) => return out,
    }
    let before = old.map(|o| links(o, old_names)).unwrap_or_default();
    let after = new.map(|n| links(n, new_names)).unwrap_or_default();
    let (removed, added) = link_changes(before, after);
    for (kind, layer, to) in removed {
        out.push(Change::LinkRemoved {
            from: key.clone(),
            kind,
            to,
            layer,
        });
    }
    for (kind, layer, to) in added {
        out.push(Change::LinkAdded {
            from: key.clone(),
            kind,
            to,
            layer,
        });
    }
    out
}

/// Every change from workspace `old` to `new`, items matched by UUID (by
/// path for items without one), in key order.
pub fn workspace_changes(old: &Workspace, new: &Workspace) -> Vec<Change> {
    changes_between(&old.items, &new.items, old, new)
}

/// [`workspace_changes`] between two sets of items (say, the items of the
/// files that differ between two revisions), references named through
/// `old_names` and `new_names`. Items are matched by UUID (by path for
/// items without one); comments are skipped; the result is in key order.
pub fn changes_between(
    old: &[Item],
    new: &[Item],
    old_names: &dyn Names,
    new_names: &dyn Names,
) -> Vec<Change> {
    fn index(items: &[Item]) -> HashMap<Match, &Item> {
        items
            .iter()
            .filter(|i| i.kind() != Kind::Comment)
            .map(|i| (Match::of(i), i))
            .collect()
    }
    let (a, b) = (index(old), index(new));
    let mut keys: Vec<&Match> = a
        .keys()
        .chain(b.keys().filter(|k| !a.contains_key(k)))
        .collect();
    keys.sort();
    let mut out = Vec::new();
    for k in keys {
        out.extend(item_changes(
            a.get(k).copied(),
            b.get(k).copied(),
            old_names,
            new_names,
        ));
    }
    out.sort_by(|x, y| x.key().cmp(y.key()));
    out
}

/// A semantic diff: the changes of the items whose files differ, and the
/// check problems that introduced or fixed (compared by
/// [`Diagnostic::fingerprint`](schema::Diagnostic::fingerprint), so a
/// problem that only moved is neither).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Diff {
    pub changes: Vec<Change>,
    pub introduced: Vec<Diagnostic>,
    pub fixed: Vec<Diagnostic>,
    /// The title of every changed item by key (the new one; the old one for
    /// deleted items), for output that names items.
    pub titles: BTreeMap<String, String>,
}

impl Diff {
    /// The diff of the items of changed files `old_changed` → `new_changed`
    /// (references named through `old_names` and `new_names`), given every
    /// problem of each side.
    pub fn of(
        old_changed: &[Item],
        new_changed: &[Item],
        old_names: &dyn Names,
        new_names: &dyn Names,
        old_problems: Vec<Diagnostic>,
        new_problems: Vec<Diagnostic>,
    ) -> Diff {
        let changes = changes_between(old_changed, new_changed, old_names, new_names);
        let mut titles = BTreeMap::new();
        for i in old_changed.iter().chain(new_changed) {
            if i.kind() != Kind::Comment {
                titles.insert(key_of(i), i.title_str().to_owned());
            }
        }
        let fixed = schema::diagnostic::introduced(old_problems.clone(), &new_problems);
        let introduced = schema::diagnostic::introduced(new_problems, &old_problems);
        Diff {
            changes,
            introduced,
            fixed,
            titles,
        }
    }

    /// The diff between two whole workspaces: the changed items are those
    /// that differ from the item at the same path on the other side.
    pub fn between(
        old: &Workspace,
        new: &Workspace,
        old_problems: Vec<Diagnostic>,
        new_problems: Vec<Diagnostic>,
    ) -> Diff {
        fn differing(a: &Workspace, b: &Workspace) -> Vec<Item> {
            let at: HashMap<&str, &Item> = b.items.iter().map(|i| (i.path.as_str(), i)).collect();
            a.items
                .iter()
                .filter(|i| at.get(i.path.as_str()).is_none_or(|o| *o != *i))
                .cloned()
                .collect()
        }
        Diff::of(
            &differing(old, new),
            &differing(new, old),
            old,
            new,
            old_problems,
            new_problems,
        )
    }
}

/// The changes of one item, grouped for people to read: a parent that
/// changed reads as one reparent, not a `HAS_CHILD` link removed and
/// another added.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemDiff<'a> {
    pub key: &'a str,
    /// The `Created` event, when the item is new.
    pub created: Option<&'a Change>,
    /// The `Deleted` event, when the item is gone.
    pub deleted: Option<&'a Change>,
    /// `Field` events, in order.
    pub fields: Vec<&'a Change>,
    /// The parent before and after, when it changed (`None`: no parent).
    pub reparent: Option<(Option<&'a str>, Option<&'a str>)>,
    /// Every other link added or removed.
    pub links: Vec<&'a Change>,
}

/// Groups `changes` (in key order, as [`workspace_changes`] returns them)
/// by item, keeping their order.
pub fn by_item(changes: &[Change]) -> Vec<ItemDiff<'_>> {
    let mut out: Vec<ItemDiff<'_>> = Vec::new();
    for c in changes {
        if out.last().is_none_or(|d| d.key != c.key()) {
            out.push(ItemDiff {
                key: c.key(),
                created: None,
                deleted: None,
                fields: Vec::new(),
                reparent: None,
                links: Vec::new(),
            });
        }
        let d = out.last_mut().expect("pushed above");
        match c {
            Change::Created { .. } => d.created = Some(c),
            Change::Deleted { .. } => d.deleted = Some(c),
            Change::Field { .. } => d.fields.push(c),
            Change::LinkRemoved {
                kind: EdgeKind::HasChild,
                to,
                ..
            } if d.reparent.is_none_or(|(before, _)| before.is_none()) => {
                let after = d.reparent.and_then(|(_, a)| a);
                d.reparent = Some((Some(to), after));
            }
            Change::LinkAdded {
                kind: EdgeKind::HasChild,
                to,
                ..
            } if d.reparent.is_none_or(|(_, after)| after.is_none()) => {
                let before = d.reparent.and_then(|(b, _)| b);
                d.reparent = Some((before, Some(to)));
            }
            Change::LinkAdded { .. } | Change::LinkRemoved { .. } => d.links.push(c),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Match {
    Id(Uuid),
    Path(String),
}

impl Match {
    fn of(item: &Item) -> Match {
        item.id
            .as_ref()
            .map_or_else(|| Match::Path(item.path.clone()), |i| Match::Id(i.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "key: NL\nstatuses:\n  - {key: todo, category: unstarted}\n  - {key: done, category: completed}\n";

    fn ws(files: &[(&str, &str)]) -> Workspace {
        Workspace::from_files(
            std::iter::once((".nonlinear/config.yaml", CONFIG))
                .chain(files.iter().copied())
                .map(|(p, t)| (p, t.as_bytes())),
        )
    }

    #[test]
    fn status_link_rename_create_delete() {
        let a1 = "---\nid: 0193a6f0-0000-7000-8000-000000000001\nshort_id: NL-aaaa\ntitle: A\nstatus: todo\n---\n";
        let a2 = "---\nid: 0193a6f0-0000-7000-8000-000000000001\nshort_id: NL-a2\ntitle: A\nstatus: done\nblocks: [0193a6f0-0000-7000-8000-000000000002]\n---\n";
        let b = "---\nid: 0193a6f0-0000-7000-8000-000000000002\nshort_id: NL-bbbb\ntitle: B\nstatus: todo\n---\n";
        let c = "---\nid: 0193a6f0-0000-7000-8000-000000000003\nshort_id: NL-cccc\ntitle: C\nstatus: todo\n---\n";
        let old = ws(&[
            (".nonlinear/issues/NL-aaaa.md", a1),
            (".nonlinear/issues/NL-cccc.md", c),
        ]);
        let new = ws(&[
            (".nonlinear/issues/NL-a2.md", a2),
            (".nonlinear/issues/NL-bbbb.md", b),
        ]);
        let got: Vec<String> = workspace_changes(&old, &new)
            .iter()
            .map(|c| serde_json::to_string(c).expect("serializes"))
            .collect();
        assert_eq!(
            got,
            [
                r#"{"event":"field","key":"NL-a2","field":"short_id","before":"NL-aaaa","after":"NL-a2"}"#,
                r#"{"event":"field","key":"NL-a2","field":"path","before":".nonlinear/issues/NL-aaaa.md","after":".nonlinear/issues/NL-a2.md"}"#,
                r#"{"event":"field","key":"NL-a2","field":"status","before":"todo","after":"done"}"#,
                r#"{"event":"link_added","from":"NL-a2","kind":"BLOCKS","to":"NL-bbbb","layer":2}"#,
                r#"{"event":"created","key":"NL-bbbb","kind":"issue","path":".nonlinear/issues/NL-bbbb.md","title":"B"}"#,
                r#"{"event":"deleted","key":"NL-cccc","kind":"issue","path":".nonlinear/issues/NL-cccc.md","title":"C"}"#,
            ]
        );
    }
}
