//! The JSON shapes of items, shared by the CLI (`--json`) and the server.
//! Documented in docs/cli.md; fields are only ever added, never renamed or
//! removed.

use schema::Config;
use schema::model::{Fields, Item};
use serde_json::{Map, Value, json};

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

fn strs(v: &[schema::model::Spanned<String>]) -> Value {
    Value::Array(v.iter().map(|s| Value::String(s.value.clone())).collect())
}

/// The summary shape used by `list`; `show` adds description and comments.
pub fn item(item: &Item, config: Option<&Config>) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!(item.kind()));
    m.insert(
        "id".into(),
        opt(item.id.as_ref().map(|i| i.value.to_string())),
    );
    m.insert(
        "short_id".into(),
        opt(item.short_id.as_ref().map(|s| s.value.clone())),
    );
    m.insert(
        "title".into(),
        opt(item.title.as_ref().map(|s| s.value.clone())),
    );
    m.insert("path".into(), json!(item.path));
    match &item.fields {
        Fields::Issue(i) => {
            let status = i.status.as_ref().map(|s| s.value.clone());
            let def = status
                .as_deref()
                .and_then(|s| config.and_then(|c| c.status(s)));
            m.insert("status".into(), opt(status.clone()));
            m.insert("status_name".into(), opt(def.map(|d| d.name.clone())));
            m.insert(
                "status_category".into(),
                opt(def.map(|d| d.category.as_str())),
            );
            m.insert(
                "priority".into(),
                json!(i.priority.as_ref().map_or(0, |p| p.value)),
            );
            m.insert("labels".into(), strs(&i.labels));
            m.insert(
                "assignee".into(),
                opt(i.assignee.as_ref().map(|s| s.value.clone())),
            );
            m.insert(
                "created_by".into(),
                opt(i.created_by.as_ref().map(|s| s.value.clone())),
            );
            m.insert(
                "created_at".into(),
                opt(i.created_at.as_ref().map(|s| s.value.to_string())),
            );
            m.insert(
                "cycle".into(),
                opt(i.cycle.as_ref().map(|s| s.value.clone())),
            );
            m.insert("estimate".into(), opt(i.estimate.as_ref().map(|s| s.value)));
            m.insert(
                "due".into(),
                opt(i.due.as_ref().map(|s| s.value.to_string())),
            );
            m.insert(
                "parent".into(),
                opt(i.parent.as_ref().map(|s| s.value.clone())),
            );
            m.insert("blocks".into(), strs(&i.blocks));
            m.insert("relates_to".into(), strs(&i.relates_to));
            m.insert("duplicates".into(), strs(&i.duplicates));
        }
        Fields::Component(c) => {
            m.insert("labels".into(), strs(&c.labels));
            m.insert(
                "owner".into(),
                opt(c.owner.as_ref().map(|s| s.value.clone())),
            );
            m.insert(
                "parent".into(),
                opt(c.parent.as_ref().map(|s| s.value.clone())),
            );
            let mut repo = json!({
                "path": c.repo.path.as_ref().map(|p| p.value.clone()),
                "url": c.repo.url, "branch": c.repo.branch, "provider": c.repo.provider,
            });
            if !c.repo.extra.is_empty()
                && let Some(r) = repo.as_object_mut()
            {
                r.insert(
                    "extra".into(),
                    c.repo
                        .extra
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_json()))
                        .collect::<serde_json::Map<_, _>>()
                        .into(),
                );
            }
            m.insert("repo".into(), repo);
            m.insert("depends_on".into(), strs(&c.depends_on));
            m.insert("imports".into(), strs(&c.imports));
            m.insert("calls_api".into(), strs(&c.calls_api));
            m.insert("shares_db".into(), strs(&c.shares_db));
            if !c.suppress.is_empty() {
                let list: Vec<Value> = c
                    .suppress
                    .iter()
                    .map(|s| json!({"kind": s.kind, "to": s.to.value, "reason": s.reason}))
                    .collect();
                m.insert("suppress".into(), list.into());
            }
        }
        Fields::Artifact(a) => {
            m.insert(
                "artifact_kind".into(),
                opt(a.kind.as_ref().map(|k| json!(k.value))),
            );
            m.insert("url".into(), opt(a.url.as_ref().map(|s| s.value.clone())));
            m.insert("file".into(), opt(a.file.as_ref().map(|s| s.value.clone())));
            m.insert("mime_type".into(), opt(a.mime_type.clone()));
            m.insert("size".into(), opt(a.size));
            m.insert("attached_to".into(), strs(&a.attached_to));
            m.insert(
                "created_by".into(),
                opt(a.created_by.as_ref().map(|s| s.value.clone())),
            );
            m.insert(
                "created_at".into(),
                opt(a.created_at.as_ref().map(|s| s.value.to_string())),
            );
        }
        Fields::Comment(c) => {
            m.insert("on".into(), opt(c.on.as_ref().map(|s| s.value.to_string())));
            m.insert(
                "author".into(),
                opt(c.author.as_ref().map(|s| s.value.clone())),
            );
            m.insert(
                "created_at".into(),
                opt(c.created_at.as_ref().map(|s| s.value.to_string())),
            );
            m.insert(
                "edited_at".into(),
                opt(c.edited_at.as_ref().map(|s| s.value.to_string())),
            );
            m.insert(
                "reply_to".into(),
                opt(c.reply_to.as_ref().map(|s| s.value.clone())),
            );
            m.insert(
                "reactions".into(),
                Value::Object(
                    c.reactions
                        .iter()
                        .map(|(e, who)| (e.clone(), strs(who)))
                        .collect(),
                ),
            );
        }
    }
    m.insert(
        "extra".into(),
        Value::Object(
            item.extra
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        ),
    );
    Value::Object(m)
}

/// `item` plus the description (Markdown and sanitized HTML).
pub fn detail(it: &Item, config: Option<&Config>) -> Value {
    let mut v = item(it, config);
    if let Value::Object(m) = &mut v {
        m.insert(
            "description".into(),
            json!(it.body.trim_start_matches(['\n', '\r'])),
        );
        m.insert(
            "description_html".into(),
            json!(schema::markdown::to_html(&it.body)),
        );
    }
    v
}

// ---------------------------------------------------------------------
// Graph query answers: the shapes of `tree`, `ready`, `blocked`, `path
// --critical`, `near`, `impact` and `cycles` (CLI `--json` and the server).

use petgraph::stable_graph::NodeIndex;

use crate::graph::{Graph, NodeKind};
use crate::query;

/// One node: the item's fields for items, kind/key/title otherwise.
pub fn node(g: &Graph, n: NodeIndex) -> Value {
    let node = g.node(n);
    match &node.item {
        Some(it) => item(it, g.config()),
        None => json!({"kind": node.kind.as_str(), "key": node.key, "title": node.title}),
    }
}

/// Done/total roll-up of a component, issue or the project; `None` when
/// nothing is below it.
pub fn progress_of(g: &Graph, n: NodeIndex) -> Option<query::Progress> {
    matches!(
        g.node(n).kind,
        NodeKind::Component | NodeKind::Issue | NodeKind::Project
    )
    .then(|| query::progress(g, n))
    .filter(|p| p.total > 0)
}

pub fn tree(g: &Graph, t: &query::Tree) -> Value {
    let mut v = node(g, t.node);
    if let Some(m) = v.as_object_mut() {
        m.insert("progress".into(), json!(progress_of(g, t.node)));
        m.insert(
            "links".into(),
            t.links
                .iter()
                .map(|(k, to)| json!({"kind": k.as_str(), "to": g.node(*to).key}))
                .collect(),
        );
        m.insert(
            "children".into(),
            t.children.iter().map(|c| tree(g, c)).collect(),
        );
    }
    v
}

/// A page of issues out of `total`.
pub fn page(g: &Graph, issues: &[NodeIndex], total: usize) -> Value {
    let items: Vec<Value> = issues.iter().map(|&n| node(g, n)).collect();
    // Moved in: `json!` would copy every item through serialization.
    let mut m = Map::new();
    m.insert("total".into(), total.into());
    m.insert("items".into(), items.into());
    Value::Object(m)
}

pub fn blocked(g: &Graph, all: &[query::Blocked]) -> Value {
    all.iter()
        .map(|b| {
            json!({
                "issue": node(g, b.issue),
                "blockers": b.chain.iter().map(|(n, d)| json!({"key": g.node(*n).key, "distance": d, "title": g.node(*n).title})).collect::<Vec<_>>(),
            })
        })
        .collect()
}

pub fn critical_path(g: &Graph, cp: &query::CriticalPath) -> Value {
    let on_path: std::collections::HashSet<NodeIndex> = cp.path.iter().copied().collect();
    json!({
        "length": cp.length,
        "path": cp.path.iter().map(|&n| g.node(n).key.clone()).collect::<Vec<_>>(),
        "schedule": cp.schedule.iter().map(|s| json!({
            "key": g.node(s.issue).key,
            "weight": s.weight,
            "earliest_start": s.earliest_start,
            "slack": s.slack,
            "critical": on_path.contains(&s.issue),
        })).collect::<Vec<_>>(),
        "in_cycles": cp.in_cycles.iter().map(|&n| g.node(n).key.clone()).collect::<Vec<_>>(),
    })
}

pub fn near(g: &Graph, found: &[(NodeIndex, usize)]) -> Value {
    found
        .iter()
        .map(|&(n, d)| {
            let mut v = node(g, n);
            if let Some(m) = v.as_object_mut() {
                m.insert("distance".into(), json!(d));
            }
            v
        })
        .collect()
}

pub fn impact(g: &Graph, component: NodeIndex, imp: &query::Impact) -> Value {
    json!({
        "component": g.node(component).key,
        "dependents": imp.components.iter().map(|(n, d)| json!({"key": g.node(*n).key, "title": g.node(*n).title, "distance": d})).collect::<Vec<_>>(),
        "issues": imp.issues.iter().map(|&n| node(g, n)).collect::<Vec<_>>(),
    })
}

pub fn cycles(g: &Graph, all: &[query::Cycle]) -> Value {
    all.iter()
        .map(|c| json!({"kind": c.kind.as_str(), "nodes": c.nodes.iter().map(|&n| g.node(n).key.clone()).collect::<Vec<_>>()}))
        .collect()
}
