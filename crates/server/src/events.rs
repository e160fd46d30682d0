//! Watcher events → the seed's live-update events, on their channels.

use indexer::change::Change;
use indexer::graph::{EdgeKind, Graph};
use indexer::watch::{CommentAction, Event};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::App;

/// Publishes `batch` (already applied to `graph`) on the hub.
pub fn publish(app: &App, graph: &Graph, batch: &[Event], actor: Option<&str>) {
    let project = format!("project:{}", graph.config().map_or("", |c| c.key.as_str()));
    let mut ids = app.ids.lock();
    // Keys first: a created node's channel is known before its events.
    for e in batch {
        if let Event::Change(c) = e {
            let key = c.key();
            if let Some(id) = graph.find(key).and_then(|n| graph.node(n).id()) {
                ids.insert(key.to_owned(), id);
            }
            if let Change::Field { field, after, .. } = c
                && field == "short_id"
                && let Some(new) = after.as_str()
                && let Some(id) = graph.find(new).and_then(|n| graph.node(n).id())
            {
                ids.insert(new.to_owned(), id);
            }
        }
    }
    let id_of = |key: &str| -> Option<Uuid> { ids.get(key).copied() };
    let node = |key: &str| id_of(key).map(|id| format!("node:{id}"));
    // A new parent is a HAS_CHILD link removed and one added (or just one
    // of them): one `node.reparented` per item, where the first was.
    let mut reparents: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    for e in batch {
        if let Event::Change(
            Change::LinkAdded {
                from,
                kind: EdgeKind::HasChild,
                to,
                ..
            }
            | Change::LinkRemoved {
                from,
                kind: EdgeKind::HasChild,
                to,
                ..
            },
        ) = e
        {
            let added = matches!(e, Event::Change(Change::LinkAdded { .. }));
            let at = match reparents.iter().position(|r| r.0 == *from) {
                Some(i) => i,
                None => {
                    reparents.push((from.clone(), None, None));
                    reparents.len() - 1
                }
            };
            if added {
                reparents[at].2 = Some(to.clone());
            } else {
                reparents[at].1 = Some(to.clone());
            }
        }
    }
    for e in batch {
        if let Event::Change(
            Change::LinkAdded {
                from,
                kind: EdgeKind::HasChild,
                ..
            }
            | Change::LinkRemoved {
                from,
                kind: EdgeKind::HasChild,
                ..
            },
        ) = e
        {
            if let Some(i) = reparents.iter().position(|r| r.0 == *from) {
                let (key, before, after) = reparents.swap_remove(i);
                let mut channels = vec![project.clone()];
                channels.extend(node(&key));
                for p in [&before, &after].into_iter().flatten() {
                    channels.extend(node(p));
                }
                app.hub.publish(
                    &channels,
                    "node.reparented",
                    actor,
                    &json!({"id": id_of(&key), "key": key, "field": "parent", "before": before, "after": after}),
                );
            }
            continue;
        }
        if let Event::Inferred(i) = e {
            // One event per link, on both components' channels.
            let both = i.added.iter().map(|l| ("added", l));
            for (action, l) in both.chain(i.removed.iter().map(|l| ("removed", l))) {
                let mut channels = vec![project.clone()];
                channels.extend(node(&l.from));
                channels.extend(node(&l.to));
                app.hub.publish(
                    &channels,
                    "connection.inferred",
                    actor,
                    &json!({
                        "action": action,
                        "from": l.from, "from_id": id_of(&l.from),
                        "to": l.to, "to_id": id_of(&l.to),
                        "type": l.kind, "layer": 3, "source": "inferred",
                        "confidence": l.confidence, "evidence": l.evidence,
                    }),
                );
            }
            continue;
        }
        let mut channels = vec![project.clone()];
        let (kind, data): (&str, Value) = match e {
            Event::Change(c) => match c {
                Change::Created {
                    key,
                    kind,
                    path,
                    title,
                } => {
                    channels.extend(node(key));
                    if let Some(a) = assignee(graph, key) {
                        channels.push(format!("user:{a}"));
                    }
                    (
                        "node.created",
                        json!({"id": id_of(key), "key": key, "kind": kind, "path": path, "title": title}),
                    )
                }
                Change::Deleted {
                    key,
                    kind,
                    path,
                    title,
                } => {
                    channels.extend(node(key));
                    (
                        "node.deleted",
                        json!({"id": id_of(key), "key": key, "kind": kind, "path": path, "title": title}),
                    )
                }
                Change::Field {
                    key,
                    field,
                    before,
                    after,
                } => {
                    channels.extend(node(key));
                    let kind = match field.as_str() {
                        "status" => "node.status_changed",
                        "parent" => "node.reparented",
                        "assignee" => {
                            for who in [before, after] {
                                if let Some(h) = who.as_str() {
                                    channels.push(format!("user:{h}"));
                                }
                            }
                            "assignment.changed"
                        }
                        _ => "node.updated",
                    };
                    (
                        kind,
                        json!({"id": id_of(key), "key": key, "field": field, "before": before, "after": after}),
                    )
                }
                Change::LinkAdded {
                    from,
                    kind,
                    to,
                    layer,
                }
                | Change::LinkRemoved {
                    from,
                    kind,
                    to,
                    layer,
                } => {
                    let added = matches!(c, Change::LinkAdded { .. });
                    channels.extend(node(from));
                    channels.extend(node(to));
                    if *kind == EdgeKind::HasArtifact {
                        // The artifact's file declares the attachment.
                        (
                            if added {
                                "artifact.attached"
                            } else {
                                "artifact.removed"
                            },
                            json!({"artifact": from, "artifact_id": id_of(from), "node": to, "node_id": id_of(to)}),
                        )
                    } else {
                        (
                            "link.changed",
                            json!({
                                "action": if added { "added" } else { "removed" },
                                "from": from, "from_id": id_of(from),
                                "to": to, "to_id": id_of(to),
                                "type": kind, "layer": layer,
                                // Links written in files are manual; the
                                // analyzer's inferred edges arrive as
                                // `connection.inferred`.
                                "source": kind.is_code().then_some("manual"),
                            }),
                        )
                    }
                }
            },
            Event::Comment(c) => {
                if let Ok(on) = c.on.parse::<Uuid>() {
                    channels.push(format!("node:{on}"));
                }
                let on_key = graph.find(&c.on).map(|n| graph.node(n).key.clone());
                (
                    match c.action {
                        CommentAction::Created => "comment.added",
                        CommentAction::Updated => "comment.edited",
                        CommentAction::Deleted => "comment.deleted",
                    },
                    json!({"id": c.id, "on": c.on, "on_key": on_key, "path": c.path}),
                )
            }
            Event::Invalid(i) => (
                "file.invalid",
                json!({"path": i.path, "diagnostic": i.diagnostic}),
            ),
            Event::Config(c) => ("project.config_changed", json!({"path": c.path})),
            Event::Rescan(r) => (
                "project.rescanned",
                json!({"reason": r.reason, "read": r.read}),
            ),
            Event::Inferred(_) => continue,
        };
        channels.dedup();
        app.hub.publish(&channels, kind, actor, &data);
    }
}

fn assignee(graph: &Graph, key: &str) -> Option<String> {
    let n = graph.find(key)?;
    let issue = graph.node(n).item.as_ref()?.issue()?;
    issue.assignee.as_ref().map(|a| a.value.clone())
}
