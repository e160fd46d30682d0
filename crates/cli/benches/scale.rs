//! End-to-end speed of the `nonlinear` binary on generated workspaces.
//!
//! `cargo bench -p nonlinear --bench scale [-- SIZES…]` (default 1000 10000
//! 100000) generates each workspace once under `target/bench-ws/`, then
//! times whole processes: `check` with a warm and a cold file cache (cold
//! needs root to drop the page cache; otherwise it says so), and the
//! single-item commands `show`, `set status` and `new issue`; then the graph
//! verbs: `ready` with the index cache warm, after one file changed (the
//! cache is brought up to date), and with the cache off
//! (`NONLINEAR_CACHE=0`), and `path --critical`; then the same through
//! `nonlinear daemon` (started, timed, stopped; every other command runs
//! with `NONLINEAR_DAEMON=0`). Peak RSS comes from GNU time when it is
//! installed. Prints two Markdown tables.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_nonlinear"));
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-ws");
    let gnu_time = Path::new("/usr/bin/time").exists();
    let can_drop = drop_caches();

    println!(
        "| issues | files | check warm | check cold | check peak RSS | show | set status | new issue |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut graph_rows = Vec::new();
    for n in sizes {
        let ws = root.join(n.to_string());
        if !ws.join(".nonlinear/config.yaml").exists() {
            let t = Instant::now();
            let _ = std::fs::remove_dir_all(&ws);
            std::fs::create_dir_all(&root).expect("bench directory");
            run(
                &bin,
                &root,
                &[
                    "generate",
                    &n.to_string(),
                    "--issues",
                    &n.to_string(),
                    "--seed",
                    "42",
                ],
                None,
            );
            eprintln!("generated {n} issues in {:.1?}", t.elapsed());
        }
        let files = count_files(&ws.join(".nonlinear"));
        let warm = median(
            (0..5)
                .map(|_| time(|| run(&bin, &ws, &["check"], None)))
                .collect(),
        );
        let cold = if can_drop {
            let runs = (0..3)
                .map(|_| {
                    drop_caches();
                    time(|| run(&bin, &ws, &["check"], None))
                })
                .collect();
            fmt(median(runs))
        } else {
            "n/a (needs root)".into()
        };
        let rss = if gnu_time {
            peak_rss(&bin, &ws)
        } else {
            "n/a".into()
        };
        let target = first_issue(&ws);
        let show = median(
            (0..21)
                .map(|_| time(|| run(&bin, &ws, &["show", &target], None)))
                .collect(),
        );
        let set = median(
            (0..21)
                .map(|i| {
                    let status = if i % 2 == 0 { "done" } else { "todo" };
                    time(|| run(&bin, &ws, &["set", &target, "status", status], None))
                })
                .collect(),
        );
        let new = median(
            (0..21)
                .map(|_| {
                    time(|| {
                        run(
                            &bin,
                            &ws,
                            &["new", "issue", "Benchmark issue"],
                            Some("agent0"),
                        )
                    })
                })
                .collect(),
        );
        println!(
            "| {n} | {files} | {} | {cold} | {rss} | {} | {} | {} |",
            fmt(warm),
            fmt(show),
            fmt(set),
            fmt(new)
        );

        let ready = |env: &[(&str, &str)]| time(|| run_env(&bin, &ws, &["ready"], env));
        ready(&[]); // builds the cache
        let warm = median((0..11).map(|_| ready(&[])).collect());
        let edited = median(
            (0..5)
                .map(|i| {
                    let status = if i % 2 == 0 { "done" } else { "todo" };
                    run(&bin, &ws, &["set", &target, "status", status], None);
                    ready(&[])
                })
                .collect(),
        );
        let off = median((0..3).map(|_| ready(&[("NONLINEAR_CACHE", "0")])).collect());
        let critical = median(
            (0..5)
                .map(|_| time(|| run(&bin, &ws, &["path", "--critical"], None)))
                .collect(),
        );
        let rss = if gnu_time {
            peak_rss_of(&bin, &ws, &["ready"])
        } else {
            "n/a".into()
        };
        // The same through `nonlinear daemon`.
        let daemon = [("NONLINEAR_DAEMON", "1")];
        let t = Instant::now();
        run_env(&bin, &ws, &["daemon", "start"], &daemon);
        let started = t.elapsed();
        let via = |args: &[&str]| time(|| run_env(&bin, &ws, args, &daemon));
        via(&["ready"]);
        let d_warm = median((0..21).map(|_| via(&["ready"])).collect());
        let d_edited = median(
            (0..11)
                .map(|i| {
                    let status = if i % 2 == 0 { "done" } else { "todo" };
                    run(&bin, &ws, &["set", &target, "status", status], None);
                    via(&["ready"])
                })
                .collect(),
        );
        let d_critical = median((0..11).map(|_| via(&["path", "--critical"])).collect());
        let d_one = median((0..11).map(|_| via(&["ready", "--limit", "20"])).collect());
        run_env(&bin, &ws, &["daemon", "stop"], &daemon);
        graph_rows.push(format!(
            "| {n} | {} | {} | {} | {} | {rss} | {} | {} | {} | {} | {} |",
            fmt(warm),
            fmt(edited),
            fmt(off),
            fmt(critical),
            fmt(started),
            fmt(d_warm),
            fmt(d_edited),
            fmt(d_one),
            fmt(d_critical),
        ));
    }
    println!();
    println!(
        "| issues | ready, cache warm | ready, one file changed | ready, cache off | path --critical | ready peak RSS | daemon start | ready via daemon | via daemon, one file changed | via daemon, --limit 20 | path --critical via daemon |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in graph_rows {
        println!("{row}");
    }
}

fn run_env(bin: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) {
    let mut cmd = Command::new(bin);
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .env("NONLINEAR_DAEMON", "0")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let out = cmd.output().expect("nonlinear runs");
    assert!(
        out.status.success(),
        "nonlinear {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run(bin: &Path, dir: &Path, args: &[&str], actor: Option<&str>) {
    let mut cmd = Command::new(bin);
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .env("NONLINEAR_DAEMON", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(a) = actor {
        cmd.env("NONLINEAR_ACTOR", a);
    }
    let out = cmd.output().expect("nonlinear runs");
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "nonlinear {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn fmt(d: Duration) -> String {
    if d.as_secs_f64() >= 1.0 {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    }
}

fn drop_caches() -> bool {
    let _ = Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

fn peak_rss(bin: &Path, ws: &Path) -> String {
    peak_rss_of(bin, ws, &["check"])
}

fn peak_rss_of(bin: &Path, ws: &Path, args: &[&str]) -> String {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(bin)
        .arg("-C")
        .arg(ws)
        .args(args)
        .env("NONLINEAR_DAEMON", "0")
        .stdout(Stdio::null())
        .output()
        .expect("time runs");
    let err = String::from_utf8_lossy(&out.stderr);
    err.lines()
        .last()
        .and_then(|l| l.trim().parse::<u64>().ok())
        .map_or("?".into(), |kb| format!("{:.0} MB", kb as f64 / 1024.0))
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        count_files(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// A short id from the middle of the issue directory.
fn first_issue(ws: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(ws.join(".nonlinear/issues"))
        .expect("issues dir")
        .filter_map(Result::ok)
        .map(|e| {
            e.file_name()
                .to_string_lossy()
                .trim_end_matches(".md")
                .to_owned()
        })
        .collect();
    names.sort();
    names[names.len() / 2].clone()
}
