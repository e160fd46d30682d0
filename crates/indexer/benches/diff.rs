//! Speed of `diff` between two git revisions of generated workspaces.
//!
//! `cargo bench -p nonlinear-indexer --bench diff [-- SIZES…]` (default
//! 1000 10000 100000) writes each workspace ([`schema::synth`]) into a git
//! repository under `target/bench-ws-git/<issues>/` once: a first commit
//! (tag `bench-a`), then 100 files changed — 80 issues edited (title,
//! status, assignee), 5 issues deleted, 5 created, 10 new comments — in a second
//! (tag `bench-b`), then `git repack -ad` (a clone is packed). Times, in
//! process: [`git::Repo::diff`] (incremental, what `nonlinear diff` runs),
//! [`git::Repo::diff_full`] (both sides read whole) and
//! [`git::Repo::workspace_at`] (what `--rev` reads), with the binary's
//! allocator (mimalloc). The incremental diff is timed twice: the first
//! diff in a repository (the blob cache in `.git/nonlinear/` deleted before
//! each run, so it parses every blob and fills the cache) and later ones
//! (the cache holds the unchanged files). Prints a Markdown table of
//! medians.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nonlinear_indexer::git::Repo;

/// The allocator of the `nonlinear` binary, so the numbers are its numbers.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // A test runner asking for test names: there are none.
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-ws-git");
    println!(
        "| issues | files | changed files | diff, blob cache warm | diff, first (fills the cache) | diff (whole) | workspace at rev | changes | introduced | fixed |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let dir = root.join(n.to_string());
        let files = prepare(&dir, n);
        let repo = Repo::open(&dir).expect("the bench repository");
        let blobs = dir.join(".git/nonlinear/items-by-blob.bin");
        let first = median(if n >= 100_000 { 3 } else { 5 }, || {
            let _ = std::fs::remove_file(&blobs);
            std::hint::black_box(repo.diff("bench-a", "bench-b").expect("diff"));
        });
        // Timed without freeing the result, as `nonlinear diff` exits
        // without freeing it.
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..if n >= 100_000 { 5 } else { 11 } {
            let t = Instant::now();
            let d = repo.diff("bench-a", "bench-b").expect("diff");
            times.push(t.elapsed());
            last = Some(d);
        }
        times.sort();
        let incremental = times[times.len() / 2];
        let d = last.expect("ran");
        assert!(d.incremental);
        let whole = median(if n >= 100_000 { 1 } else { 3 }, || {
            let full = repo.diff_full("bench-a", "bench-b").expect("diff");
            assert_eq!(full.diff.changes, d.diff.changes, "incremental = whole");
            assert_eq!(full.diff.introduced.len(), d.diff.introduced.len());
        });
        let at = median(if n >= 100_000 { 1 } else { 3 }, || {
            std::hint::black_box(repo.workspace_at("bench-b").expect("workspace"));
        });
        println!(
            "| {n} | {files} | {} | {} | {} | {} | {} | {} | {} | {} |",
            d.files,
            fmt(incremental),
            fmt(first),
            fmt(whole),
            fmt(at),
            d.diff.changes.len(),
            d.diff.introduced.len(),
            d.diff.fixed.len()
        );
    }
}

/// Makes the repository unless it is there; returns the number of
/// workspace files at `bench-a`.
fn prepare(dir: &Path, n: usize) -> usize {
    let files = schema::synth::generate(&schema::synth::Shape::with_issues(n), 42);
    let count = files
        .iter()
        .filter(|(p, _)| schema::parse::classify(p).is_some())
        .count();
    if dir.join(".git").exists() && git(dir, &["rev-parse", "--verify", "-q", "bench-b"]).is_some()
    {
        return count;
    }
    let t = Instant::now();
    let _ = std::fs::remove_dir_all(dir);
    for (p, text) in &files {
        write(&dir.join(p), text);
    }
    git(dir, &["init", "-q", "-b", "main"]).expect("git init");
    git(dir, &["add", "-A"]).expect("git add");
    git(dir, &["commit", "-q", "-m", "generated"]).expect("git commit");
    git(dir, &["tag", "bench-a"]).expect("git tag");

    let issues: Vec<&(String, String)> = files
        .iter()
        .filter(|(p, _)| p.starts_with(".nonlinear/issues/"))
        .collect();
    let step = (issues.len() / 100).max(1);
    let picked: Vec<&(String, String)> = issues.iter().step_by(step).take(100).copied().collect();
    // 80 edits: title, status and assignee.
    for (p, text) in &picked[..80] {
        let edited = text
            .lines()
            .map(|l| {
                if l.starts_with("title: ") {
                    format!("{l} (edited)")
                } else if l.starts_with("status: ") {
                    "status: done".to_owned()
                } else if l.starts_with("assignee: ") {
                    "assignee: dev7".to_owned()
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
        write(&dir.join(p), &edited);
    }
    // 5 deleted.
    for (p, _) in &picked[80..85] {
        std::fs::remove_file(dir.join(p)).expect("remove");
    }
    // 5 created: copies of other issues with a new id and short id.
    for (i, (_, text)) in picked[85..90].iter().enumerate() {
        let short = format!("NL-bnch{i}");
        let id = format!("0193a6f0-0000-7000-8000-0000000b{i:04}");
        let text: String = text
            .lines()
            .map(|l| {
                if l.starts_with("id: ") {
                    format!("id: {id}")
                } else if l.starts_with("short_id: ") {
                    format!("short_id: {short}")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        write(
            &dir.join(format!(".nonlinear/issues/{short}.md")),
            &(text + "\n"),
        );
    }
    // 10 new comments, on the last ten picked issues.
    for (i, (_, text)) in picked[90..100].iter().enumerate() {
        let on = text
            .lines()
            .find_map(|l| l.strip_prefix("id: "))
            .expect("an id");
        let id = format!("0193a6f0-0000-7000-8000-0000000c{i:04}");
        write(
            &dir.join(format!(".nonlinear/comments/{on}/{id}.md")),
            &format!(
                "---\nid: {id}\nauthor: dev3\ncreated_at: 2026-02-01T10:00:00Z\n---\nLooks good.\n"
            ),
        );
    }
    git(dir, &["add", "-A"]).expect("git add");
    git(dir, &["commit", "-q", "-m", "100 files"]).expect("git commit");
    git(dir, &["tag", "bench-b"]).expect("git tag");
    git(dir, &["repack", "-adq"]).expect("git repack");
    eprintln!("(made {} in {:.1?})", dir.display(), t.elapsed());
    count
}

fn write(path: &PathBuf, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    std::fs::create_dir_all(dir).ok()?;
    let out = Command::new("git")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args([
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@example.com",
        ])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn fmt(d: Duration) -> String {
    if d.as_secs_f64() >= 1.0 {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }
}
