//! `nonlinear watch`: the stream of `indexer::watch` events, one line each,
//! until SIGINT, SIGTERM or SIGHUP (exit 0).

use indexer::change::Change;
use indexer::watch::{Event, Watcher};
use serde_json::Value;

use crate::Outcome;
use crate::edit::Ctx;

pub fn run(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let mut watcher = Watcher::start(ctx.store.root())?;
    let stop = watcher.stopper();
    ctrlc::set_handler(move || stop.stop())?;
    // On stderr, so that stdout stays one event per line; also what tells a
    // script that changes from now on are seen.
    eprintln!(
        "watching {} ({} items); Ctrl-C stops",
        watcher.root().display(),
        watcher.items().count()
    );
    while let Some(batch) = watcher.next_batch() {
        for event in &batch {
            if ctx.json {
                // Through a `Value`: keys in alphabetical order, like every
                // other JSON output (docs/cli.md).
                outln!("{}", serde_json::to_value(event)?);
            } else {
                outln!("{}", text(event));
            }
        }
    }
    Ok(Outcome::Ok)
}

/// One event as a line of text.
fn text(event: &Event) -> String {
    match event {
        Event::Change(c) => match c {
            Change::Created {
                key, kind, title, ..
            } => format!("created {key} {} {title:?}", kind.as_str()),
            Change::Deleted {
                key, kind, title, ..
            } => format!("deleted {key} {} {title:?}", kind.as_str()),
            Change::Field {
                key,
                field,
                before,
                after,
            } => format!("{key} {field}: {} → {}", value(before), value(after)),
            Change::LinkAdded {
                from,
                kind,
                to,
                layer,
            } => format!("{from} +{} {to} (layer {layer})", kind.as_str()),
            Change::LinkRemoved {
                from,
                kind,
                to,
                layer,
            } => format!("{from} -{} {to} (layer {layer})", kind.as_str()),
        },
        Event::Invalid(i) => format!(
            "invalid {}:{}:{}: {} (keeping the last good version)",
            i.path, i.diagnostic.pos.line, i.diagnostic.pos.col, i.diagnostic.message
        ),
        Event::Comment(c) => format!(
            "comment {} on {} {}",
            c.id,
            c.on,
            match c.action {
                indexer::watch::CommentAction::Created => "added",
                indexer::watch::CommentAction::Updated => "edited",
                indexer::watch::CommentAction::Deleted => "deleted",
            }
        ),
        Event::Config(c) => format!("config changed: {} (graph rebuilt)", c.path),
        Event::Rescan(r) => format!("rescan: {} ({} changed files read again)", r.reason, r.read),
        Event::Inferred(i) => {
            let edge = |e: &indexer::inferred::Inferred| {
                format!("{} -{} {}", e.from, e.kind.as_str(), e.to)
            };
            let mut parts: Vec<String> = i.added.iter().map(|e| format!("+{}", edge(e))).collect();
            parts.extend(i.removed.iter().map(|e| format!("-{}", edge(e))));
            format!("inferred links changed: {}", parts.join(", "))
        }
    }
}

/// A field value, short: `none` for absent, strings bare (their first line,
/// at most 60 characters), lists as `[a, b]`.
fn value(v: &Value) -> String {
    match v {
        Value::Null => "none".to_owned(),
        Value::String(s) if s.is_empty() => "\"\"".to_owned(),
        Value::String(s) => {
            let first = s.lines().next().unwrap_or_default();
            let short: String = first.chars().take(60).collect();
            if short.len() < s.len() {
                format!("{short}…")
            } else {
                short
            }
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexer::graph::{EdgeKind, NodeKind};
    use serde_json::json;

    #[test]
    fn lines() {
        let field = |f: &str, before: Value, after: Value| {
            text(&Event::Change(Change::Field {
                key: "NL-k3x9".into(),
                field: f.into(),
                before,
                after,
            }))
        };
        assert_eq!(
            field("status", json!("todo"), json!("done")),
            "NL-k3x9 status: todo → done"
        );
        assert_eq!(
            field("labels", json!([]), json!(["bug", "p2"])),
            "NL-k3x9 labels: [] → [bug, p2]"
        );
        assert_eq!(
            field("estimate", Value::Null, json!(3.0)),
            "NL-k3x9 estimate: none → 3.0"
        );
        assert_eq!(
            field("description", json!("One\nTwo"), json!("One")),
            "NL-k3x9 description: One… → One"
        );
        assert_eq!(
            text(&Event::Change(Change::LinkAdded {
                from: "NL-k3x9".into(),
                kind: EdgeKind::Blocks,
                to: "NL-7mqd".into(),
                layer: 2,
            })),
            "NL-k3x9 +BLOCKS NL-7mqd (layer 2)"
        );
        assert_eq!(
            text(&Event::Change(Change::Created {
                key: "NL-x".into(),
                kind: NodeKind::Issue,
                path: ".nonlinear/issues/NL-x.md".into(),
                title: "Title".into(),
            })),
            "created NL-x issue \"Title\""
        );
    }
}
