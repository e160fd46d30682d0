//! In-process speed of the graph engine on generated workspaces.
//!
//! `cargo bench -p nonlinear-indexer --bench graph [-- SIZES…]` (default
//! 1000 10000 100000) generates each workspace in memory
//! ([`schema::synth`]), parses it, then times: building the graph from the
//! parsed items, `ready`, `blocked`, the critical path, and one incremental
//! update (parse one changed file + `upsert`). Prints a Markdown table of
//! medians.

use std::time::{Duration, Instant};

use nonlinear_indexer::{Graph, query};
use schema::Workspace;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    println!(
        "| issues | graph nodes | graph edges | build graph | ready | blocked (all) | critical path | upsert one file |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let files = schema::synth::generate(&schema::synth::Shape::with_issues(n), 42);
        let ws = Workspace::from_files(files.iter().map(|(p, t)| (p.as_str(), t.as_bytes())));
        let build = median(5, || {
            std::hint::black_box(Graph::build(&ws));
        });
        let mut g = Graph::build(&ws);
        let ready = median(21, || {
            std::hint::black_box(query::ready(&g, None));
        });
        let blocked = median(11, || {
            std::hint::black_box(query::blocked(&g, None));
        });
        let cp = median(11, || {
            std::hint::black_box(query::critical_path(&g, None));
        });
        // One issue file edited: its status flips; parse + upsert.
        let (path, text) = files
            .iter()
            .find(|(p, _)| p.starts_with(".nonlinear/issues/") && p.ends_with(".md"))
            .expect("an issue file");
        let mut flip = false;
        let upsert = median(101, || {
            flip = !flip;
            let changed = if flip {
                text.replacen("status: ", "status: done\nx-was: ", 1)
            } else {
                text.clone()
            };
            let kind = schema::Kind::Issue;
            let (item, _) = schema::parse::parse_item(path, kind, changed.as_bytes());
            if let Some(item) = item {
                g.upsert(item);
            }
        });
        println!(
            "| {n} | {} | {} | {} | {} | {} | {} | {} |",
            g.node_count(),
            g.edge_count(),
            fmt(build),
            fmt(ready),
            fmt(blocked),
            fmt(cp),
            fmt(upsert)
        );
    }
}

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut v: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

fn fmt(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}
