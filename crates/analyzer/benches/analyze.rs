//! Speed of the analyzer, as a Markdown table: lines of Rust per second on
//! this repository and on a generated tree (~300k lines in 300 crates
//! under `target/bench-analyzer/`), a full run (empty cache) and an
//! incremental one (one file changed), and the peak RSS.
//!
//! `cargo bench -p nonlinear-analyzer --bench analyze`

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use nonlinear_analyzer::cache::Cache;
use schema::Workspace;

/// What `nonlinear` runs with: glibc's malloc is 40% of a parse.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Generated crates and modules per crate; ~100 lines a module.
const CRATES: usize = 300;
const MODULES: usize = 10;

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let repo = fs::canonicalize(&repo).expect("the repository exists");
    let mut rows = Vec::new();

    // This repository, its crates as components.
    let names: Vec<String> = fs::read_dir(repo.join("crates"))
        .expect("crates/")
        .filter_map(|e| Some(e.ok()?.file_name().to_str()?.to_owned()))
        .collect();
    let ws = workspace(names.iter().map(|n| format!("crates/{n}")));
    rows.extend(measure("this repository", &repo, &ws, None));

    // The generated tree.
    let tree = repo.join("target/bench-analyzer");
    let _ = fs::remove_dir_all(&tree);
    generate(&tree);
    let ws = workspace((0..CRATES).map(|i| format!("crates/c{i:03}")));
    let changed = tree.join("crates/c150/src/m5.rs");
    rows.extend(measure("generated tree", &tree, &ws, Some(&changed)));

    let mut out = String::new();
    let _ = writeln!(
        out,
        "| tree | run | files | lines | read | parsed | edges | time | lines/s |\n|---|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        let _ = writeln!(out, "{r}");
    }
    let _ = writeln!(
        out,
        "\nPeak RSS (VmHWM): {} MiB; {} threads",
        peak_rss_kib() / 1024,
        rayon::current_num_threads()
    );
    print!("{out}");
}

/// Full run, then incremental: one file changed (on disk for the
/// generated tree, by dropping its cache entry for the repository, whose
/// files other people are editing).
fn measure(name: &str, root: &Path, ws: &Workspace, change: Option<&Path>) -> Vec<String> {
    let mut rows = Vec::new();
    let mut cache = Cache::default();
    // A warm-up walk so the page cache is warm for both runs.
    let _ = nonlinear_analyzer::run(root, ws, &mut Cache::default());
    let t = Instant::now();
    let full = nonlinear_analyzer::run(root, ws, &mut cache);
    rows.push(row(name, "full", &full, t.elapsed().as_secs_f64()));
    match change {
        Some(p) => {
            let mut text = fs::read_to_string(p).expect("the changed file exists");
            text.push_str("\npub fn added_by_the_bench() -> u32 { 7 }\n");
            fs::write(p, text).expect("change a file");
        }
        None => {
            let k = cache
                .files
                .keys()
                .find(|k| k.ends_with("lib.rs"))
                .cloned()
                .expect("a lib.rs");
            cache.files.remove(&k);
        }
    }
    let t = Instant::now();
    let inc = nonlinear_analyzer::run(root, ws, &mut cache);
    rows.push(row(
        name,
        "one file changed",
        &inc,
        t.elapsed().as_secs_f64(),
    ));
    rows
}

fn row(name: &str, run: &str, a: &nonlinear_analyzer::Analysis, secs: f64) -> String {
    format!(
        "| {name} | {run} | {} | {} | {} | {} | {} | {:.1} ms | {:.0}k |",
        a.stats.rust_files,
        a.stats.lines,
        a.stats.read,
        a.stats.parsed,
        a.edges.len(),
        secs * 1000.0,
        a.stats.lines as f64 / secs / 1000.0
    )
}

/// A workspace whose components are the given directories.
fn workspace(dirs: impl Iterator<Item = String>) -> Workspace {
    let mut files: Vec<(String, String)> = vec![(
        ".nonlinear/config.yaml".into(),
        "version: 1\nstatuses:\n  - {key: todo, category: unstarted}\n".into(),
    )];
    for (i, dir) in dirs.enumerate() {
        let key = dir.rsplit('/').next().unwrap_or("x").to_uppercase();
        files.push((
            format!(".nonlinear/components/{key}.md"),
            format!(
                "---\nid: 01900000-0000-7000-8000-{i:012}\nshort_id: {key}\ntitle: {key}\nrepo: {{path: {dir}}}\n---\n"
            ),
        ));
    }
    Workspace::from_files(files.iter().map(|(p, t)| (p.as_str(), t.as_bytes())))
}

/// `CRATES` crates, each depending on up to three earlier ones, with
/// `MODULES` modules of about 100 lines.
fn generate(root: &Path) {
    let mut members =
        String::from("[workspace]\nmembers = [\"crates/*\"]\n\n[workspace.dependencies]\n");
    for i in 0..CRATES {
        let _ = writeln!(members, "c{i:03} = {{ path = \"crates/c{i:03}\" }}");
    }
    write(&root.join("Cargo.toml"), &members);
    for i in 0..CRATES {
        let deps: Vec<usize> = [i / 2, i / 3, i.saturating_sub(1)]
            .into_iter()
            .filter(|&d| d < i)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let dir: PathBuf = root.join(format!("crates/c{i:03}"));
        let mut manifest =
            format!("[package]\nname = \"c{i:03}\"\nversion = \"0.1.0\"\n\n[dependencies]\n");
        for d in &deps {
            let _ = writeln!(manifest, "c{d:03}.workspace = true");
        }
        write(&dir.join("Cargo.toml"), &manifest);
        let mut lib = String::from("//! Generated for the analyzer bench.\n");
        for m in 0..MODULES {
            let _ = writeln!(lib, "pub mod m{m};");
        }
        write(&dir.join("src/lib.rs"), &lib);
        for m in 0..MODULES {
            write(&dir.join(format!("src/m{m}.rs")), &module(i, m, &deps));
        }
    }
}

fn module(i: usize, m: usize, deps: &[usize]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "//! Module {m} of crate c{i:03}.\nuse std::collections::HashMap;"
    );
    for d in deps {
        let _ = writeln!(s, "use c{d:03}::m{m}::Item{m} as Dep{d};");
    }
    let _ = writeln!(
        s,
        "\n/// An item.\n#[derive(Debug, Clone, Default)]\npub struct Item{m} {{\n    pub id: u64,\n    pub name: String,\n    pub tags: Vec<String>,\n}}\n"
    );
    for f in 0..8 {
        let call = deps
            .get(f % deps.len().max(1))
            .map(|d| format!("c{d:03}::m{m}::helper_{f}(x)"))
            .unwrap_or_else(|| "x + 1".into());
        let _ = writeln!(
            s,
            "/// Function {f}: a comment with c999::fake() in it.\npub fn helper_{f}(x: u64) -> u64 {{\n    let mut map: HashMap<u64, String> = HashMap::new();\n    map.insert(x, format!(\"{{}} c998::not_a_path\", x));\n    if x > 1000 {{\n        return x;\n    }}\n    let y = {call};\n    match y % 3 {{\n        0 => y,\n        1 => self::local(y),\n        _ => crate::m{m}::local(y),\n    }}\n}}\n"
        );
    }
    let _ = writeln!(s, "fn local(y: u64) -> u64 {{\n    y.wrapping_mul(31)\n}}");
    s
}

/// Writes a file dated an hour back, like a checkout made earlier: the
/// cache then trusts the stamps of files that did not change.
fn write(p: &Path, text: &str) {
    fs::create_dir_all(p.parent().expect("a file has a directory")).expect("mkdir");
    fs::write(p, text).expect("write a generated file");
    let f = fs::File::options().write(true).open(p).expect("open");
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .expect("set the modification time");
}

fn peak_rss_kib() -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
