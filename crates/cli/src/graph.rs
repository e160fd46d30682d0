//! The graph verbs: `tree`, `ready`, `blocked`, `path`, `near`, `impact`,
//! `cycles`, `graph`. Each loads the workspace, builds the graph
//! ([`indexer::Graph`]), asks one [`indexer::query`] and prints.

use indexer::graph::NodeKind;
use indexer::{Graph, query};
use petgraph::stable_graph::NodeIndex;
use schema::filter::Filter;

use crate::Outcome;
use crate::edit::{Ctx, Refused, refuse};

/// Where a graph verb gets its graph.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// Read from the files (through the index cache) by this process.
    Files,
    /// Kept current by a daemon (`nonlinear daemon`) that is answering.
    Shared(&'a Graph),
}

/// The graph of the workspace: its items without comments, and without
/// bodies unless a free-text filter needs them.
///
/// Read from the files, it is leaked: a graph verb builds one graph and
/// exits, and freeing 100k items one by one on the way out is a tenth of
/// a warm `ready`.
fn graph_with<'a>(ctx: &Ctx, src: Source<'a>, body: schema::parse::Body) -> &'a Graph {
    match src {
        Source::Shared(g) => g,
        Source::Files => Box::leak(Box::new(build(ctx, body))),
    }
}

fn build(ctx: &Ctx, body: schema::parse::Body) -> Graph {
    if ctx.rev.is_some() {
        // `--rev`: the workspace read from git.
        return Graph::build(ctx.workspace());
    }
    let mut g = match body {
        // The index cache holds items without bodies.
        schema::parse::Body::Drop => {
            let (g, report) = indexer::cache::graph(&ctx.store);
            if std::env::var_os("NONLINEAR_CACHE_REPORT").is_some() {
                eprintln!("{report:?}");
            }
            g
        }
        schema::parse::Body::Keep => Graph::from_workspace(ctx.store.load_items(body)),
    };
    with_inferred(&mut g, &ctx.store);
    g
}

/// Adds the analyzer's inferred links (`.nonlinear/inferred/edges.yaml`,
/// when there is one) as Layer-3 edges with `source: inferred`, as the
/// server's graph has them. A file that does not parse is a warning: the
/// graph of the items still answers.
fn with_inferred(g: &mut Graph, store: &schema::store::Store) {
    let Ok(text) = std::fs::read_to_string(store.path(indexer::inferred::EDGES_PATH)) else {
        return;
    };
    match indexer::inferred::parse(&text) {
        Ok(edges) => {
            g.set_inferred(&edges);
        }
        Err(d) => eprintln!(
            "warning: {}:{}: {}; inferred links left out",
            d.path, d.pos.line, d.message
        ),
    }
}

fn graph<'a>(ctx: &Ctx, src: Source<'a>) -> &'a Graph {
    graph_with(ctx, src, schema::parse::Body::Drop)
}

fn find(g: &Graph, reference: &str) -> anyhow::Result<NodeIndex> {
    g.find(reference)
        .ok_or_else(|| Refused(format!("no item {reference} in this workspace")).into())
}

/// `KEY  status  title` for one node.
fn line(g: &Graph, n: NodeIndex) -> String {
    let node = g.node(n);
    let status = node
        .item
        .as_ref()
        .and_then(|i| i.issue())
        .and_then(|i| i.status.as_ref())
        .map(|s| s.value.as_str())
        .unwrap_or(node.kind.as_str());
    format!("{}  {status}  {}", node.key, node.title)
}

/// Parses `--layers 1,2,4`.
pub fn layers(spec: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let Some(spec) = spec else {
        return Ok(Vec::new());
    };
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<u8>() {
            Ok(l @ 1..=4) => Ok(l),
            _ => refuse(format!(
                "--layers takes 1, 2, 3 and 4, comma-separated; found `{s}`"
            )),
        })
        .collect()
}

pub fn tree(
    ctx: &Ctx,
    src: Source<'_>,
    root: Option<&str>,
    layers: &[u8],
    depth: Option<usize>,
) -> anyhow::Result<Outcome> {
    let g = graph(ctx, src);
    let root = match root {
        Some(r) => find(g, r)?,
        None => g.project(),
    };
    let t = query::tree(g, root, layers, depth);
    if ctx.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&indexer::json::tree(g, &t))?
        );
        return Ok(Outcome::Ok);
    }
    let mut out = String::new();
    tree_text(g, &t, "", true, true, &mut out);
    out!("{out}");
    Ok(Outcome::Ok)
}

fn tree_text(g: &Graph, t: &query::Tree, prefix: &str, last: bool, root: bool, out: &mut String) {
    let node = g.node(t.node);
    let progress = indexer::json::progress_of(g, t.node)
        .map(|p| format!("  [{}/{}]", p.done, p.total))
        .unwrap_or_default();
    let label = match node.kind {
        NodeKind::Project => format!("{}{progress}", node.title),
        NodeKind::Component => format!("{}  {}{progress}", node.key, node.title),
        _ => format!("{}{progress}", line(g, t.node)),
    };
    if root {
        out.push_str(&label);
    } else {
        out.push_str(&format!(
            "{prefix}{}{label}",
            if last { "└── " } else { "├── " }
        ));
    }
    out.push('\n');
    let inner = if root {
        String::new()
    } else {
        format!("{prefix}{}", if last { "    " } else { "│   " })
    };
    for (kind, to) in &t.links {
        out.push_str(&format!(
            "{inner}  ↳ {} {}\n",
            kind.as_str(),
            g.node(*to).key
        ));
    }
    for (i, c) in t.children.iter().enumerate() {
        tree_text(g, c, &inner, i + 1 == t.children.len(), false, out);
    }
}

pub fn ready(
    ctx: &Ctx,
    src: Source<'_>,
    under: Option<&str>,
    query: &str,
    limit: Option<usize>,
) -> anyhow::Result<Outcome> {
    let filter = Filter::parse(query).map_err(|e| Refused(format!("bad filter: {e}")))?;
    let body = if filter.has_text() {
        schema::parse::Body::Keep
    } else {
        schema::parse::Body::Drop
    };
    let g = graph_with(ctx, src, body);
    let under = under.map(|u| find(g, u)).transpose()?;
    let me = if filter.mentions_me() {
        ctx.actor().ok().flatten()
    } else {
        None
    };
    let scope = indexer::GraphScope { graph: g, me };
    let mut issues: Vec<NodeIndex> = query::ready(g, under)
        .into_iter()
        .filter(|&n| {
            g.node(n)
                .item
                .as_ref()
                .is_some_and(|i| filter.matches(i, &scope))
        })
        .collect();
    let total = issues.len();
    if let Some(l) = limit {
        issues.truncate(l);
    }
    if ctx.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&indexer::json::page(g, &issues, total))?
        );
        return Ok(Outcome::Ok);
    }
    let items: Vec<&schema::Item> = issues
        .iter()
        .filter_map(|&n| g.node(n).item.as_ref())
        .collect();
    crate::emit(&crate::read::table(&items, total), false);
    Ok(Outcome::Ok)
}

pub fn blocked(ctx: &Ctx, src: Source<'_>, of: Option<&str>) -> anyhow::Result<Outcome> {
    let g = graph(ctx, src);
    let of = of.map(|r| find(g, r)).transpose()?;
    let all = query::blocked(g, of);
    if ctx.json {
        let v = indexer::json::blocked(g, &all);
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(Outcome::Ok);
    }
    let mut out = String::new();
    for b in &all {
        out.push_str(&format!("{}\n", line(g, b.issue)));
        for (n, d) in &b.chain {
            out.push_str(&format!("{}← {}\n", "  ".repeat(*d), line(g, *n)));
        }
    }
    out.push_str(&format!(
        "{} blocked issue{}\n",
        all.len(),
        if all.len() == 1 { "" } else { "s" }
    ));
    out!("{out}");
    Ok(Outcome::Ok)
}

pub fn critical_path(ctx: &Ctx, src: Source<'_>, under: Option<&str>) -> anyhow::Result<Outcome> {
    let g = graph(ctx, src);
    let under = under.map(|u| find(g, u)).transpose()?;
    let cp = query::critical_path(g, under);
    let on_path: std::collections::HashSet<NodeIndex> = cp.path.iter().copied().collect();
    if ctx.json {
        let v = indexer::json::critical_path(g, &cp);
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(Outcome::Ok);
    }
    let mut out = format!(
        "critical path: {} issue{}, length {}\n",
        cp.path.len(),
        if cp.path.len() == 1 { "" } else { "s" },
        cp.length
    );
    for s in cp.schedule.iter().filter(|s| on_path.contains(&s.issue)) {
        out.push_str(&format!(
            "  start {:>6}  weight {:>4}  {}\n",
            s.earliest_start,
            s.weight,
            line(g, s.issue)
        ));
    }
    if !cp.in_cycles.is_empty() {
        out.push_str(&format!(
            "left out, on a blocks cycle: {}\n",
            cp.in_cycles
                .iter()
                .map(|&n| g.node(n).key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out!("{out}");
    Ok(Outcome::Ok)
}

pub fn near(
    ctx: &Ctx,
    src: Source<'_>,
    id: &str,
    hops: usize,
    layers: &[u8],
) -> anyhow::Result<Outcome> {
    let g = graph(ctx, src);
    let start = find(g, id)?;
    let found = query::near(g, start, hops, layers);
    if ctx.json {
        let v = indexer::json::near(g, &found);
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(Outcome::Ok);
    }
    let mut out = String::new();
    for (n, d) in found {
        out.push_str(&format!("{d}  {}\n", line(g, n)));
    }
    out!("{out}");
    Ok(Outcome::Ok)
}

pub fn impact(ctx: &Ctx, src: Source<'_>, component: &str) -> anyhow::Result<Outcome> {
    let g = graph(ctx, src);
    let c = find(g, component)?;
    if g.node(c).kind != NodeKind::Component {
        return refuse(format!("{component} is not a component"));
    }
    let imp = query::impact(g, c);
    if ctx.json {
        let v = indexer::json::impact(g, c, &imp);
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(Outcome::Ok);
    }
    let mut out = format!(
        "{} components depend on {}\n",
        imp.components.len(),
        g.node(c).key
    );
    for (n, d) in &imp.components {
        out.push_str(&format!(
            "  {d}  {}  {}\n",
            g.node(*n).key,
            g.node(*n).title
        ));
    }
    out.push_str(&format!(
        "{} open issues on {} and its dependents\n",
        imp.issues.len(),
        g.node(c).key
    ));
    for &n in &imp.issues {
        out.push_str(&format!("  {}\n", line(g, n)));
    }
    out!("{out}");
    Ok(Outcome::Ok)
}

pub fn cycles(ctx: &Ctx, src: Source<'_>) -> anyhow::Result<Outcome> {
    let g = graph(ctx, src);
    let all = query::cycles(g);
    if ctx.json {
        let v = indexer::json::cycles(g, &all);
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let mut out = String::new();
        for c in &all {
            let mut keys: Vec<&str> = c.nodes.iter().map(|&n| g.node(n).key.as_str()).collect();
            keys.push(keys[0]);
            out.push_str(&format!("{}: {}\n", c.kind.as_str(), keys.join(" → ")));
        }
        out.push_str(&format!(
            "{} cycle{}\n",
            all.len(),
            if all.len() == 1 { "" } else { "s" }
        ));
        out!("{out}");
    }
    Ok(if all.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Problems
    })
}

pub fn export(
    ctx: &Ctx,
    src: Source<'_>,
    root: Option<&str>,
    layers: &[u8],
    format: indexer::export::Format,
) -> anyhow::Result<Outcome> {
    let g = graph(ctx, src);
    let root = root.map(|r| find(g, r)).transpose()?;
    out!("{}", indexer::export::render(g, root, layers, format));
    Ok(Outcome::Ok)
}
