//! Speed of the analyzer, as a Markdown table: lines per second on this
//! repository and on a generated polyglot tree under
//! `target/bench-analyzer/` (~400k lines: Rust crates, Python, TypeScript,
//! Go and Java packages, each file with imports, routes, HTTP calls and
//! SQL), a full run (empty cache) and incremental ones (one Rust file, one
//! Python file changed), and the peak RSS.
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
const CRATES: usize = 150;
const MODULES: usize = 10;
/// Generated packages per other language (10 files of ~100 lines each).
const PACKAGES: usize = 60;

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
    let dirs = (0..CRATES)
        .map(|i| format!("crates/c{i:03}"))
        .chain((0..PACKAGES).flat_map(|i| {
            [
                format!("py/p{i:03}"),
                format!("ts/t{i:03}"),
                format!("go/g{i:03}"),
                format!("java/j{i:03}"),
            ]
        }));
    let ws = workspace(dirs);
    let changed = [
        tree.join("crates/c075/src/m5.rs"),
        tree.join("py/p030/src/p030/m5.py"),
    ];
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
fn measure(name: &str, root: &Path, ws: &Workspace, change: Option<&[PathBuf]>) -> Vec<String> {
    let mut rows = Vec::new();
    let mut cache = Cache::default();
    // A warm-up walk so the page cache is warm for both runs.
    let _ = nonlinear_analyzer::run(root, ws, &mut Cache::default());
    let t = Instant::now();
    let full = nonlinear_analyzer::run(root, ws, &mut cache);
    rows.push(row(name, "full", &full, t.elapsed().as_secs_f64()));
    match change {
        Some(paths) => {
            for p in paths {
                let mut text = fs::read_to_string(p).expect("the changed file exists");
                let (run, added) = if p.extension().is_some_and(|e| e == "py") {
                    (
                        "one Python file changed",
                        "\ndef added_by_the_bench():\n    return 7\n",
                    )
                } else {
                    (
                        "one Rust file changed",
                        "\npub fn added_by_the_bench() -> u32 { 7 }\n",
                    )
                };
                text.push_str(added);
                fs::write(p, text).expect("change a file");
                // The median of five edits of the same file.
                let mut times = Vec::new();
                let mut last = None;
                for k in 0..5 {
                    let mut text = fs::read_to_string(p).expect("read");
                    text.push_str(
                        &format!("\n# {k}\n")
                            .replace('#', if run.contains("Rust") { "//" } else { "#" }),
                    );
                    fs::write(p, text).expect("change a file");
                    let t = Instant::now();
                    let inc = nonlinear_analyzer::run(root, ws, &mut cache);
                    times.push(t.elapsed().as_secs_f64());
                    last = Some(inc);
                }
                times.sort_by(f64::total_cmp);
                if let Some(a) = &last {
                    eprintln!("{run}: walked {} {:?}", a.stats.walked, a.stats.phases);
                }
                rows.push(row(name, run, &last.expect("five runs"), times[2]));
            }
        }
        None => {
            let k = cache
                .files
                .keys()
                .find(|k| k.ends_with("lib.rs"))
                .cloned()
                .expect("a lib.rs");
            cache.files.remove(&k);
            let t = Instant::now();
            let inc = nonlinear_analyzer::run(root, ws, &mut cache);
            rows.push(row(
                name,
                "one file changed",
                &inc,
                t.elapsed().as_secs_f64(),
            ));
        }
    }
    rows
}

fn row(name: &str, run: &str, a: &nonlinear_analyzer::Analysis, secs: f64) -> String {
    format!(
        "| {name} | {run} | {} | {} | {} | {} | {} | {:.1} ms | {:.0}k |",
        a.stats.rust_files + a.stats.other_files,
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
/// `MODULES` modules of about 100 lines; then `PACKAGES` packages of each
/// other language, likewise.
fn generate(root: &Path) {
    generate_rust(root);
    for i in 0..PACKAGES {
        let deps: Vec<usize> = [i / 2, i / 3, i.saturating_sub(1)]
            .into_iter()
            .filter(|&d| d < i)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        python(root, i, &deps);
        typescript(root, i, &deps);
        go(root, i, &deps);
        java(root, i, &deps);
    }
}

/// ~100 lines of filler in a language: `n` small functions.
fn filler(lang: &str, n: usize) -> String {
    let mut s = String::new();
    for f in 0..n {
        let _ = match lang {
            "py" => writeln!(
                s,
                "\ndef helper_{f}(x):\n    # A comment that says import fake.module\n    total = 0\n    for i in range(x):\n        if i % 3 == 0:\n            total += i\n        else:\n            total -= 1\n    return total\n"
            ),
            "ts" => writeln!(
                s,
                "\n// A comment that says import x from 'fake'\nexport function helper{f}(x: number): number {{\n  let total = 0;\n  for (let i = 0; i < x; i++) {{\n    total += i % 3 === 0 ? i : -1;\n  }}\n  return total;\n}}\n"
            ),
            "go" => writeln!(
                s,
                "\n// Helper{f} is filler; \"github.com/fake/mod\" is not an import.\nfunc Helper{f}(x int) int {{\n\ttotal := 0\n\tfor i := 0; i < x; i++ {{\n\t\tif i%3 == 0 {{\n\t\t\ttotal += i\n\t\t}}\n\t}}\n\treturn total\n}}\n"
            ),
            _ => writeln!(
                s,
                "\n    /** Filler; import com.fake.Thing; is not an import. */\n    public static int helper{f}(int x) {{\n        int total = 0;\n        for (int i = 0; i < x; i++) {{\n            total += i % 3 == 0 ? i : -1;\n        }}\n        return total;\n    }}\n"
            ),
        };
    }
    s
}

fn python(root: &Path, i: usize, deps: &[usize]) {
    let dir = root.join(format!("py/p{i:03}"));
    let mut reqs = String::new();
    for d in deps {
        let _ = write!(reqs, "\"acme-p{d:03}\", ");
    }
    write(
        &dir.join("pyproject.toml"),
        &format!(
            "[project]\nname = \"acme-p{i:03}\"\nversion = \"1.0\"\ndependencies = [{reqs}]\n"
        ),
    );
    write(&dir.join(format!("src/p{i:03}/__init__.py")), "");
    for m in 0..MODULES {
        let mut s = String::from("import os\n\nimport httpx\nfrom fastapi import APIRouter\n");
        for d in deps {
            let _ = writeln!(s, "from p{d:03}.m{m} import helper_0 as dep_{d}");
        }
        let _ = writeln!(
            s,
            "\nrouter = APIRouter(prefix=\"/api/p{i:03}\")\nBASE = os.environ.get(\"BASE\", \"\")\n\n\n@router.get(\"/m{m}/items/{{item_id}}\")\ndef item(item_id: int):\n    rows = db.execute(\"SELECT id, name FROM p{i:03}_m{m} WHERE id = %s\", item_id)\n    return rows"
        );
        if let Some(d) = deps.first() {
            let _ = writeln!(
                s,
                "\n\ndef upstream(x):\n    return httpx.get(f\"{{BASE}}/api/p{d:03}/m{m}/items/{{x}}\")"
            );
        }
        s.push_str(&filler("py", 8));
        write(&dir.join(format!("src/p{i:03}/m{m}.py")), &s);
    }
}

fn typescript(root: &Path, i: usize, deps: &[usize]) {
    let dir = root.join(format!("ts/t{i:03}"));
    let mut pj = format!("{{\n  \"name\": \"@acme/t{i:03}\",\n  \"dependencies\": {{\n");
    let list: Vec<String> = deps
        .iter()
        .map(|d| format!("    \"@acme/t{d:03}\": \"workspace:*\""))
        .collect();
    pj.push_str(&list.join(",\n"));
    pj.push_str("\n  }\n}\n");
    write(&dir.join("package.json"), &pj);
    for m in 0..MODULES {
        let mut s = String::from("import express from 'express';\n");
        for d in deps {
            let _ = writeln!(
                s,
                "import {{ helper0 as dep{d} }} from '@acme/t{d:03}/src/m{m}';"
            );
        }
        let _ = writeln!(
            s,
            "\nconst app = express();\nconst API = process.env.API ?? '';\napp.get('/api/t{i:03}/m{m}/:id', (req, res) => res.json({{ id: req.params.id }}));"
        );
        if let Some(d) = deps.first() {
            let _ = writeln!(
                s,
                "\nexport async function upstream(id: string) {{\n  return fetch(`${{API}}/api/t{d:03}/m{m}/${{id}}`);\n}}"
            );
        }
        s.push_str(&filler("ts", 8));
        write(&dir.join(format!("src/m{m}.ts")), &s);
    }
}

fn go(root: &Path, i: usize, deps: &[usize]) {
    let dir = root.join(format!("go/g{i:03}"));
    let mut gomod = format!("module github.com/acme/g{i:03}\n\ngo 1.22\n\nrequire (\n");
    for d in deps {
        let _ = writeln!(gomod, "\tgithub.com/acme/g{d:03} v0.0.0");
    }
    gomod.push_str(")\n");
    write(&dir.join("go.mod"), &gomod);
    for m in 0..MODULES {
        let mut s = format!("package g{i:03}\n\nimport (\n\t\"net/http\"\n");
        for d in deps {
            let _ = writeln!(s, "\tdep{d} \"github.com/acme/g{d:03}\"");
        }
        s.push_str(")\n");
        let _ = writeln!(
            s,
            "\nfunc Routes{m}(r *gin.Engine) {{\n\tr.GET(\"/api/g{i:03}/m{m}/:id\", handle{m})\n}}\n\nfunc handle{m}(c *gin.Context) {{}}"
        );
        if let Some(d) = deps.first() {
            let _ = writeln!(
                s,
                "\nfunc Upstream{m}(base, id string) {{\n\thttp.Get(base + \"/api/g{d:03}/m{m}/\" + id)\n\t_ = dep{d}.Helper0\n}}"
            );
        }
        s.push_str(&filler("go", 8));
        write(&dir.join(format!("m{m}.go")), &s);
    }
}

fn java(root: &Path, i: usize, deps: &[usize]) {
    let dir = root.join(format!("java/j{i:03}"));
    let mut pom = format!(
        "<project>\n  <groupId>com.acme</groupId>\n  <artifactId>j{i:03}</artifactId>\n  <dependencies>\n"
    );
    for d in deps {
        let _ = writeln!(
            pom,
            "    <dependency>\n      <groupId>com.acme</groupId>\n      <artifactId>j{d:03}</artifactId>\n    </dependency>"
        );
    }
    pom.push_str("  </dependencies>\n</project>\n");
    write(&dir.join("pom.xml"), &pom);
    for m in 0..MODULES {
        let mut s = format!("package com.acme.j{i:03};\n\n");
        for d in deps {
            let _ = writeln!(s, "import com.acme.j{d:03}.M{m};");
        }
        let _ = writeln!(
            s,
            "\n@RestController\n@RequestMapping(\"/api/j{i:03}\")\npublic class M{m} {{\n    @GetMapping(\"/m{m}/{{id}}\")\n    public Object get(@PathVariable String id) {{\n        return jdbc.queryForList(\"SELECT * FROM j{i:03}_m{m} WHERE id = ?\", id);\n    }}"
        );
        if let Some(d) = deps.first() {
            let _ = writeln!(
                s,
                "\n    public Object upstream(String id) {{\n        return rest.getForObject(base + \"/api/j{d:03}/m{m}/{{id}}\", Object.class, id);\n    }}"
            );
        }
        s.push_str(&filler("java", 8));
        s.push_str("}\n");
        write(
            &dir.join(format!("src/main/java/com/acme/j{i:03}/M{m}.java")),
            &s,
        );
    }
}

fn generate_rust(root: &Path) {
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
