//! `search`: brings the workspace's search index up to date with the files,
//! then asks it ([`indexer::search`]).

use std::io::IsTerminal;

use indexer::search::{Hit, SearchIndex, SearchQuery};

use crate::Outcome;
use crate::edit::Ctx;

pub fn search(ctx: &Ctx, query: &str, limit: usize, offset: usize) -> anyhow::Result<Outcome> {
    let (graph, _) = indexer::cache::graph(&ctx.store);
    let mut index = SearchIndex::open(&ctx.store)?;
    let sync = index.sync(&ctx.store, &graph)?;
    if let Some(why) = &sync.rebuilt
        && !ctx.json
        && sync.indexed > 1000
    {
        eprintln!(
            "search index built ({why}): {} documents in {:.1?}",
            sync.indexed, sync.took
        );
    }
    let me = ctx.actor().ok().flatten();
    let results = index.search(
        &SearchQuery {
            text: query,
            me,
            limit,
            offset,
            ..SearchQuery::new(query)
        },
        &graph,
    );
    // The process ends next; freeing the graph item by item is wasted time.
    std::mem::forget(graph);
    if ctx.json {
        outln!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(Outcome::Ok);
    }
    let bold = std::io::stdout().is_terminal();
    let mut out = String::new();
    let key_width = results
        .hits
        .iter()
        .map(|h| h.key.chars().count())
        .max()
        .unwrap_or(0);
    for hit in &results.hits {
        out.push_str(&line(hit, key_width, bold));
    }
    let facets = [
        ("status", &results.facets.status),
        ("labels", &results.facets.labels),
        ("assignee", &results.facets.assignee),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(name, v)| {
        let top: Vec<String> = v.iter().take(6).map(|(k, n)| format!("{k} {n}")).collect();
        format!("{name}: {}", top.join(", "))
    })
    .collect::<Vec<_>>();
    if !facets.is_empty() {
        out.push_str(&facets.join("  ·  "));
        out.push('\n');
    }
    out.push_str(&format!(
        "{} of {} result{}{}\n",
        results.hits.len(),
        results.total,
        if results.total == 1 { "" } else { "s" },
        if results.literal {
            " (searched as plain words: the query is not a valid filter)"
        } else {
            ""
        }
    ));
    out!("{out}");
    Ok(Outcome::Ok)
}

/// `KEY  kind  status  title` and, below it, the snippet.
fn line(hit: &Hit, key_width: usize, bold: bool) -> String {
    let what = match hit.kind {
        schema::Kind::Comment => "comment".to_owned(),
        k => hit.status.clone().unwrap_or_else(|| k.as_str().to_owned()),
    };
    let mut s = format!(
        "{:<key_width$}  {what:<11}  {}\n",
        hit.key,
        marked(&hit.title, &hit.title_highlights, bold)
    );
    if !hit.snippet.text.is_empty() && !hit.snippet.highlights.is_empty() {
        s.push_str(&format!(
            "{:key_width$}  {:<11}  {}\n",
            "",
            "",
            marked(&hit.snippet.text, &hit.snippet.highlights, bold)
        ));
    }
    s
}

/// `text` with its highlighted ranges in bold (on a terminal) or as is.
fn marked(text: &str, ranges: &[(usize, usize)], bold: bool) -> String {
    if !bold {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut at = 0;
    for &(a, b) in ranges {
        if a < at || b > text.len() || !text.is_char_boundary(a) || !text.is_char_boundary(b) {
            continue;
        }
        out.push_str(&text[at..a]);
        out.push_str("\x1b[1m");
        out.push_str(&text[a..b]);
        out.push_str("\x1b[0m");
        at = b;
    }
    out.push_str(&text[at..]);
    out
}
