//! `show` and `list`.

use schema::filter::Filter;
use schema::model::{Category, Fields, Item, Kind};
use schema::parse;
use serde_json::json;

use crate::Outcome;
use crate::edit::{Ctx, Refused};
use crate::output;

pub fn show(ctx: &Ctx, reference: &str) -> anyhow::Result<Outcome> {
    let found = ctx.find(reference)?;
    let item = &found.item;
    let comments = comments_of(ctx, item)?;
    if ctx.json {
        let mut v = output::detail(item, Some(&ctx.config));
        v["comments"] = json!(
            comments
                .iter()
                .map(|c| output::detail(c, Some(&ctx.config)))
                .collect::<Vec<_>>()
        );
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(Outcome::Ok);
    }
    let mut out = String::new();
    out.push_str(&format!(
        "{}  {}\n",
        item.short_str_or_path(),
        item.title_str()
    ));
    let mut line = |k: &str, v: String| {
        if !v.is_empty() {
            out.push_str(&format!("  {k:<11} {v}\n"));
        }
    };
    let join = |v: &[schema::model::Spanned<String>]| {
        v.iter()
            .map(|s| s.value.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &item.fields {
        Fields::Issue(i) => {
            let status = i
                .status
                .as_ref()
                .map(|s| s.value.clone())
                .unwrap_or_default();
            let def = ctx.config.status(&status);
            line(
                "status",
                def.map_or(status.clone(), |d| {
                    format!("{} ({})", d.name, d.category.as_str())
                }),
            );
            let p = i.priority.as_ref().map_or(0, |p| p.value);
            line(
                "priority",
                ctx.config
                    .priorities
                    .iter()
                    .find(|d| d.value == p)
                    .map_or(p.to_string(), |d| d.name.clone()),
            );
            line(
                "assignee",
                i.assignee
                    .as_ref()
                    .map(|a| format!("@{}", a.value))
                    .unwrap_or_default(),
            );
            line("labels", join(&i.labels));
            line(
                "cycle",
                i.cycle
                    .as_ref()
                    .map(|c| c.value.clone())
                    .unwrap_or_default(),
            );
            line(
                "estimate",
                i.estimate
                    .as_ref()
                    .map(|e| e.value.to_string())
                    .unwrap_or_default(),
            );
            line(
                "due",
                i.due
                    .as_ref()
                    .map(|d| d.value.to_string())
                    .unwrap_or_default(),
            );
            line(
                "parent",
                i.parent
                    .as_ref()
                    .map(|p| p.value.clone())
                    .unwrap_or_default(),
            );
            line("blocks", join(&i.blocks));
            line("relates to", join(&i.relates_to));
            line("duplicates", join(&i.duplicates));
            line(
                "created",
                [
                    i.created_by.as_ref().map(|c| format!("@{}", c.value)),
                    i.created_at.as_ref().map(|c| c.value.to_string()),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
            );
        }
        Fields::Component(c) => {
            line(
                "path",
                c.repo
                    .path
                    .as_ref()
                    .map(|p| p.value.clone())
                    .unwrap_or_default(),
            );
            line(
                "owner",
                c.owner
                    .as_ref()
                    .map(|a| format!("@{}", a.value))
                    .unwrap_or_default(),
            );
            line("labels", join(&c.labels));
            line(
                "parent",
                c.parent
                    .as_ref()
                    .map(|p| p.value.clone())
                    .unwrap_or_default(),
            );
            line("depends on", join(&c.depends_on));
            line("imports", join(&c.imports));
            line("calls api", join(&c.calls_api));
            line("shares db", join(&c.shares_db));
        }
        Fields::Artifact(a) => {
            line(
                "kind",
                a.kind
                    .as_ref()
                    .map(|k| format!("{:?}", k.value).to_lowercase())
                    .unwrap_or_default(),
            );
            line(
                "url",
                a.url.as_ref().map(|u| u.value.clone()).unwrap_or_default(),
            );
            line(
                "file",
                a.file.as_ref().map(|u| u.value.clone()).unwrap_or_default(),
            );
            line("attached to", join(&a.attached_to));
        }
        Fields::Comment(_) => {}
    }
    line("source", found.rel.clone());
    let body = item.body.trim();
    if !body.is_empty() {
        out.push('\n');
        for l in body.lines() {
            // Blank lines stay blank, not indentation left as trailing spaces.
            if !l.is_empty() {
                out.push_str("  ");
                out.push_str(l);
            }
            out.push('\n');
        }
    }
    if !comments.is_empty() {
        out.push_str(&format!(
            "\n── {} comment{} ──\n",
            comments.len(),
            if comments.len() == 1 { "" } else { "s" }
        ));
        for c in &comments {
            let Fields::Comment(f) = &c.fields else {
                continue;
            };
            let indent = if f.reply_to.is_some() { "    " } else { "" };
            out.push_str(&format!(
                "{indent}@{} · {}{}\n",
                f.author.as_ref().map_or("?", |a| a.value.as_str()),
                f.created_at
                    .as_ref()
                    .map(|t| t.value.to_string())
                    .unwrap_or_default(),
                c.id.as_ref()
                    .map(|i| format!("  ({})", i.value))
                    .unwrap_or_default()
            ));
            for l in c.body.trim().lines() {
                if !l.is_empty() {
                    out.push_str(&format!("{indent}  {l}"));
                }
                out.push('\n');
            }
            if !f.reactions.is_empty() {
                out.push_str(&format!(
                    "{indent}  {}\n",
                    f.reactions
                        .iter()
                        .map(|(e, w)| format!(":{e}: {}", w.len()))
                        .collect::<Vec<_>>()
                        .join("  ")
                ));
            }
        }
    }
    out!("{out}");
    Ok(Outcome::Ok)
}

/// Comments on `item`, read from its comment directory, oldest first.
fn comments_of(ctx: &Ctx, item: &Item) -> anyhow::Result<Vec<Item>> {
    let Some(id) = item.id.as_ref().map(|i| i.value) else {
        return Ok(Vec::new());
    };
    if !matches!(item.kind(), Kind::Component | Kind::Issue) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let dir = format!("{}/{id}", parse::COMMENTS_DIR);
    if ctx.rev.is_some() {
        // `--rev`: the comments are in the workspace read from git.
        out.extend(
            ctx.workspace()
                .items
                .iter()
                .filter(|c| {
                    c.kind() == Kind::Comment
                        && c.path.rsplit_once('/').is_some_and(|(d, _)| d == dir)
                })
                .cloned(),
        );
    } else {
        let Ok(entries) = std::fs::read_dir(ctx.store.path(&dir)) else {
            return Ok(Vec::new());
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".md") && !n.starts_with('.'))
            .collect();
        names.sort();
        for n in names {
            let rel = format!("{dir}/{n}");
            let bytes = ctx.store.read(&rel)?;
            if let (Some(c), _) = parse::parse_item(&rel, Kind::Comment, &bytes) {
                out.push(c);
            }
        }
    }
    // Threads: each reply right after the comment it answers (then by time).
    out.sort_by_key(|c| {
        let created = match &c.fields {
            Fields::Comment(f) => f.created_at.as_ref().map(|t| t.value),
            _ => None,
        };
        (created, c.path.clone())
    });
    let mut ordered = Vec::with_capacity(out.len());
    let roots: Vec<usize> = (0..out.len())
        .filter(|&i| matches!(&out[i].fields, Fields::Comment(f) if f.reply_to.is_none()))
        .collect();
    let mut placed = vec![false; out.len()];
    for r in roots {
        let mut stack = vec![r];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut placed[i], true) {
                continue;
            }
            ordered.push(i);
            let my = out[i].id.as_ref().map(|x| x.value.to_string());
            let mut replies: Vec<usize> = (0..out.len()).filter(|&j| matches!(&out[j].fields, Fields::Comment(f) if f.reply_to.as_ref().map(|r| r.value.clone()) == my)).collect();
            replies.reverse();
            stack.extend(replies);
        }
    }
    ordered.extend((0..out.len()).filter(|&i| !placed[i]));
    let mut slots: Vec<Option<Item>> = out.into_iter().map(Some).collect();
    Ok(ordered
        .into_iter()
        .filter_map(|i| slots[i].take())
        .collect())
}

fn category_rank(c: Option<Category>) -> u8 {
    match c {
        Some(Category::Started) => 0,
        Some(Category::Unstarted) => 1,
        Some(Category::Backlog) => 2,
        Some(Category::Completed) => 3,
        Some(Category::Canceled) => 4,
        None => 5,
    }
}

pub fn list(ctx: &Ctx, query: &str, limit: Option<usize>) -> anyhow::Result<Outcome> {
    let filter = Filter::parse(query).map_err(|e| Refused(format!("bad filter: {e}")))?;
    let ws = ctx.workspace();
    let me = if filter.mentions_me() {
        ctx.actor().ok().flatten()
    } else {
        None
    };
    let mut items = ws.query(&filter, me);
    // Linear's order: in flight first, then by priority (urgent first, none last).
    items.sort_by_key(|i| {
        let p = i
            .issue()
            .and_then(|x| x.priority.as_ref())
            .map_or(5, |p| if p.value == 0 { 5 } else { p.value });
        (
            i.kind(),
            category_rank(ws.category(i)),
            p,
            i.short_str().to_owned(),
        )
    });
    let total = items.len();
    if let Some(n) = limit {
        items.truncate(n);
    }
    if ctx.json {
        let rows: Vec<_> = items
            .iter()
            .map(|i| output::item(i, ws.config.as_ref()))
            .collect();
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({"total": total, "items": rows}))?
        );
        return Ok(Outcome::Ok);
    }
    crate::emit(&table(&items, total), false);
    Ok(Outcome::Ok)
}

/// Items as aligned rows (id, status or kind, priority, assignee, title)
/// and a `N of TOTAL items` line.
///
/// Two passes over borrowed cells — widths, then rows — and no allocation
/// per cell: `ready` prints tens of thousands of rows at 100k issues.
pub fn table(items: &[&Item], total: usize) -> String {
    use std::fmt::Write as _;

    /// The cells of one row; the assignee without its `@`.
    fn cells(i: &Item) -> [&str; 5] {
        let (status, prio, who) = match i.issue() {
            Some(x) => (
                x.status.as_ref().map_or("", |s| s.value.as_str()),
                x.priority
                    .as_ref()
                    .and_then(|p| ["-", "urgent", "high", "medium", "low"].get(p.value as usize))
                    .copied()
                    .unwrap_or("-"),
                x.assignee.as_ref().map_or("", |a| a.value.as_str()),
            ),
            None => (i.kind().as_str(), "", ""),
        };
        [i.short_str_or_path(), status, prio, who, i.title_str()]
    }
    fn width(s: &str) -> usize {
        if s.is_ascii() {
            s.len()
        } else {
            s.chars().count()
        }
    }
    // Each item's cells read once, in parallel: at 100k issues a 40k-row
    // table is bound by the memory latency of reaching every item's fields.
    use rayon::prelude::*;
    let rows: Vec<[&str; 5]> = items.par_iter().map(|i| cells(i)).collect();
    // Columns as wide as their widest cell, so long keys and handles align.
    let widths = rows
        .par_iter()
        .map(|c| {
            let mut w = [0; 4];
            for k in 0..4 {
                w[k] = width(c[k]) + usize::from(k == 3 && !c[3].is_empty());
            }
            w
        })
        .reduce(|| [0; 4], |a, b| std::array::from_fn(|k| a[k].max(b[k])));
    // Padding by hand: `format!`'s width handling was most of the time of
    // a 40k-row table.
    fn pad(out: &mut String, s: &str, w: usize) {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', w.saturating_sub(width(s))));
    }
    let [w0, w1, w2, w3] = widths;
    let parts: Vec<String> = rows
        .par_chunks(2048)
        .map(|chunk| {
            let mut out = String::with_capacity(chunk.len() * (w0 + w1 + w2 + w3 + 60));
            for &[id, status, prio, who, title] in chunk {
                pad(&mut out, id, w0 + 2);
                pad(&mut out, status, w1 + 2);
                pad(&mut out, prio, w2 + 2);
                if who.is_empty() {
                    out.extend(std::iter::repeat_n(' ', w3 + 2));
                } else {
                    out.push('@');
                    pad(&mut out, who, w3 + 1);
                }
                out.push_str(title);
                out.truncate(out.trim_end().len());
                out.push('\n');
            }
            out
        })
        .collect();
    let mut out = String::with_capacity(parts.iter().map(String::len).sum::<usize>() + 32);
    for p in &parts {
        out.push_str(p);
    }
    let _ = writeln!(
        out,
        "{} of {total} item{}",
        items.len(),
        if total == 1 { "" } else { "s" }
    );
    out
}
