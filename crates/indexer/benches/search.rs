//! Speed of search on generated workspaces.
//!
//! `cargo bench -p nonlinear-indexer --bench search [-- SIZES…]` (default
//! 1000 10000 100000 issues, two comments per issue on average) uses the
//! workspaces `cargo bench -p nonlinear --bench scale` writes under
//! `target/bench-ws/` (writing them when missing), then, in process and
//! with the binary's allocator:
//!
//! * builds the index from nothing (time, size on disk);
//! * runs 300 queries of each class — one word, several words, typo'd
//!   (one typo in words of 5–8 letters, two from 9), prefix (the first 3–5
//!   letters), one word plus filters — and reports p50/p99 latency with 20
//!   hits, facets and snippets;
//! * times an edit of one issue made visible: parse, graph upsert, index
//!   update (commit and reader reload), and the search that finds it;
//! * times `grep -ril WORD` and `rg -il WORD` over the same files for
//!   exact words, and counts how many typo'd words each finds at all.
//!
//! Prints Markdown tables. `--keep` reuses the index a previous run built
//! (the build column then times a sync that finds nothing to do). The synthetic text draws on a ~90-word
//! vocabulary, so every word matches a large share of the documents: a
//! hard case for ranking and facet counting.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nonlinear_indexer::cache;
use nonlinear_indexer::search::{SearchIndex, SearchQuery};
use schema::parse::{self, Body, FileKind};
use schema::store::Store;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const QUERIES: usize = 300;

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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-ws");
    let mut build_rows = Vec::new();
    let mut query_rows = Vec::new();
    let mut grep_rows = Vec::new();
    for n in sizes {
        let dir = root.join(n.to_string());
        prepare(&dir, n);
        let store = Store::at(&dir);
        // `--keep`: time queries on the index a previous run built.
        if !std::env::args().any(|a| a == "--keep") {
            let _ = std::fs::remove_dir_all(store.path(nonlinear_indexer::search::DIR));
        }
        let (graph, _) = cache::graph(&store);

        let t = Instant::now();
        let mut ix = SearchIndex::open(&store).expect("open");
        let report = ix.sync(&store, &graph).expect("build");
        let build = t.elapsed();
        let docs = ix.len();
        let size = ix.size_on_disk();

        // Query material from the workspace's own titles.
        let ws = store.load_items(Body::Drop);
        let mut rng = fastrand::Rng::with_seed(7);
        let titles: Vec<Vec<String>> = ws
            .items
            .iter()
            .filter(|i| i.kind() == schema::Kind::Issue)
            .map(|i| {
                i.title_str()
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.len() >= 5)
                    .map(str::to_lowercase)
                    .collect::<Vec<_>>()
            })
            .filter(|w| w.len() >= 2)
            .collect();
        let mut pick = || titles[rng.usize(0..titles.len())].clone();
        let one: Vec<String> = (0..QUERIES).map(|_| pick()[0].clone()).collect();
        let multi: Vec<String> = (0..QUERIES).map(|_| pick()[..2].join(" ")).collect();
        let mut rng = fastrand::Rng::with_seed(11);
        let typo: Vec<String> = one.iter().map(|w| typo(w, &mut rng)).collect();
        let prefix: Vec<String> = one
            .iter()
            .map(|w| w.chars().take(3 + rng.usize(0..3)).collect())
            .collect();
        let filtered: Vec<String> = one
            .iter()
            .enumerate()
            .map(|(i, w)| match i % 3 {
                0 => format!("{w} status:todo"),
                1 => format!("{w} assignee:dev{} -label:p1", 3 + i % 17),
                _ => format!("{w} priority:<=2 type:issue"),
            })
            .collect();
        let mut row = vec![n.to_string()];
        for qs in [&one, &multi, &typo, &prefix, &filtered] {
            let mut times: Vec<Duration> = qs
                .iter()
                .map(|q| {
                    let t = Instant::now();
                    let r = ix.search(&SearchQuery::new(q), &graph);
                    std::hint::black_box(r);
                    t.elapsed()
                })
                .collect();
            times.sort();
            row.push(format!(
                "{} / {}",
                fmt(times[times.len() / 2]),
                fmt(times[times.len() * 99 / 100])
            ));
        }
        let found_typo = typo
            .iter()
            .filter(|q| !ix.search(&SearchQuery::new(q), &graph).hits.is_empty())
            .count();

        // One issue edited, then found by a word it did not have.
        let mut graph = graph;
        let target = ws
            .items
            .iter()
            .find(|i| i.kind() == schema::Kind::Issue)
            .map(|i| i.path.clone())
            .expect("an issue");
        let mut visible = Vec::new();
        for k in 0..11 {
            let word = format!("zebrafish{k}");
            let text = std::fs::read_to_string(dir.join(&target)).expect("read");
            let edited = text.replacen("title: ", &format!("title: {word} "), 1);
            std::fs::write(dir.join(&target), &edited).expect("write");
            let t = Instant::now();
            let Some(FileKind::Item(kind)) = parse::classify(&target) else {
                panic!("an item")
            };
            let bytes = std::fs::read(dir.join(&target)).expect("read");
            let (item, _) = parse::parse_item_with(&target, kind, &bytes, Body::Keep);
            graph.upsert(item.expect("parses"));
            ix.update(&store, &graph, std::slice::from_ref(&target))
                .expect("update");
            let r = ix.search(&SearchQuery::new(&word), &graph);
            visible.push(t.elapsed());
            assert_eq!(r.hits.len(), 1, "the edit is visible");
            std::fs::write(dir.join(&target), &text).expect("restore");
        }
        ix.update(&store, &graph, std::slice::from_ref(&target))
            .expect("update");
        visible.sort();

        build_rows.push(format!(
            "| {n} | {docs} | {} | {:.0} MB | {} | {} |",
            fmt(build),
            size as f64 / 1e6,
            report.indexed,
            fmt(visible[visible.len() / 2]),
        ));
        row.push(format!("{found_typo}/{}", typo.len()));
        query_rows.push(format!("| {} |", row.join(" | ")));

        // grep and ripgrep over the same files, exact words.
        let words: Vec<&String> = one.iter().take(10).collect();
        let ours: Vec<Duration> = words
            .iter()
            .map(|w| {
                let t = Instant::now();
                std::hint::black_box(ix.search(&SearchQuery::new(w), &graph));
                t.elapsed()
            })
            .collect();
        let tool = |cmd: &str, w: &str| -> Option<(Duration, usize)> {
            let t = Instant::now();
            let out = Command::new(cmd)
                .args(["-ril", w, ".nonlinear"])
                .current_dir(&dir)
                .stderr(Stdio::null())
                .output()
                .ok()?;
            Some((
                t.elapsed(),
                out.stdout
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .count(),
            ))
        };
        let median = |mut v: Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        let grep: Option<Vec<Duration>> =
            words.iter().map(|w| tool("grep", w).map(|x| x.0)).collect();
        let rg: Option<Vec<Duration>> = words.iter().map(|w| tool("rg", w).map(|x| x.0)).collect();
        let typo_found = |cmd: &str| -> String {
            let found = typo
                .iter()
                .take(20)
                .filter(|w| tool(cmd, w).is_some_and(|(_, n)| n > 0))
                .count();
            format!("{found}/20")
        };
        let ours = median(ours);
        let cell = |v: Option<Vec<Duration>>| match v {
            Some(v) => {
                let m = median(v);
                format!("{} ({:.0}×)", fmt(m), m.as_secs_f64() / ours.as_secs_f64())
            }
            None => "not installed".into(),
        };
        let ours_typo = typo
            .iter()
            .take(20)
            .filter(|q| !ix.search(&SearchQuery::new(q), &graph).hits.is_empty())
            .count();
        grep_rows.push(format!(
            "| {n} | {} | {} | {} | {ours_typo}/20 | {} | {} |",
            fmt(ours),
            cell(grep),
            cell(rg),
            typo_found("grep"),
            typo_found("rg"),
        ));
        eprintln!("{n}: done");
    }
    println!(
        "| issues | documents | full build | index size | indexed | one edit visible (parse, graph, index, search) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for r in build_rows {
        println!("{r}");
    }
    println!();
    println!("p50 / p99 per query class (20 hits, facets, snippets):");
    println!();
    println!(
        "| issues | one word | two words | typo'd | prefix | word + filters | typo'd queries with hits |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for r in query_rows {
        println!("{r}");
    }
    println!();
    println!(
        "Exact one-word queries against `grep -ril` and `rg -il` over `.nonlinear/` (median of 10; × = times slower than search):"
    );
    println!();
    println!("| issues | search | grep | rg | typo'd words found: search | grep | rg |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for r in grep_rows {
        println!("{r}");
    }
}

/// One typo for words of 5–8 letters, two from 9: adjacent letters
/// swapped, or one replaced.
fn typo(w: &str, rng: &mut fastrand::Rng) -> String {
    let mut c: Vec<char> = w.chars().collect();
    let edits = if c.len() >= 9 { 2 } else { 1 };
    for _ in 0..edits {
        let i = rng.usize(1..c.len() - 1);
        if rng.bool() {
            c.swap(i, i + 1);
        } else {
            c[i] = if c[i] == 'x' { 'q' } else { 'x' };
        }
    }
    c.into_iter().collect()
}

fn fmt(d: Duration) -> String {
    if d.as_secs_f64() >= 1.0 {
        format!("{:.2} s", d.as_secs_f64())
    } else if d.as_secs_f64() >= 1e-3 {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.0} µs", d.as_secs_f64() * 1e6)
    }
}

/// Writes the generated workspace unless it is there.
fn prepare(dir: &PathBuf, n: usize) {
    if dir.join(".nonlinear/config.yaml").exists() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    for (p, text) in schema::synth::generate(&schema::synth::Shape::with_issues(n), 42) {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}
