//! The JSON the CLI prints for items. Documented in docs/cli.md; fields are
//! only ever added, never renamed or removed.

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
