//! `init`, and `check`: its three formats, its exit codes (0 clean or
//! warnings only, 1 errors, 2 usage or no workspace) and `--since`.

use serde_json::{Value, json};

use crate::support::{Repo, nl_in};
use crate::ws;

#[test]
fn init_creates_the_workspace_and_check_says_ok() {
    let repo = Repo::new();
    let run = repo
        .nl(&["init", "--key", "AC", "--name", "Acme corp"])
        .code(0);
    assert_eq!(
        run.stdout,
        "created .nonlinear/config.yaml (key AC); next: `nonlinear new issue \"…\"`\n"
    );
    let config = repo.read(".nonlinear/config.yaml");
    assert!(config.contains("\nkey: AC\nname: Acme corp\n"), "{config}");
    for dir in ["issues", "components", "artifacts", "comments"] {
        assert!(repo.path(&format!(".nonlinear/{dir}")).is_dir(), "{dir}");
    }
    assert_eq!(repo.read(".nonlinear/.gitignore"), "cache/\n");

    let run = repo.nl(&["check"]).code(0);
    assert_eq!(run.stdout, "ok: 1 files checked, no problems\n");

    // The workspace works: a new issue gets the key and checks clean.
    let run = repo.nl(&["new", "issue", "First"]).code(0);
    assert!(run.stdout.starts_with("AC-"), "{run}");
    let run = repo.nl(&["check"]).code(0);
    assert_eq!(run.stdout, "ok: 2 files checked, no problems\n");
    // The write lock lives in the git-ignored cache.
    assert!(repo.path(".nonlinear/cache/write.lock").is_file());
    assert!(!repo.changes().contains("cache/"));
}

#[test]
fn init_in_another_directory_and_refusals() {
    let repo = Repo::new();
    std::fs::create_dir(repo.path("proj")).expect("mkdir");
    let run = repo.nl(&["-C", "proj", "init", "--json"]).code(0);
    assert_eq!(
        run.json(),
        json!({"created": ".nonlinear/config.yaml", "key": "NL"})
    );
    assert!(
        repo.read("proj/.nonlinear/config.yaml")
            .contains("\nname: proj\n")
    );
    repo.nl_at("proj", &["check"]).code(0);

    let run = repo.nl(&["-C", "proj", "init"]).code(1);
    assert!(run.stderr.contains("already exists"), "{run}");
    for key in ["N-L", "N_L", "1NL", ""] {
        let run = repo.nl(&["init", "--key", key]).code(1);
        assert!(run.stderr.contains("--key must be"), "{run}");
    }
    assert!(!repo.path(".nonlinear").exists());
}

/// A workspace with three known errors: an unknown status, a dangling
/// `blocks` reference and a duplicate short id.
fn broken() -> Repo {
    let repo = Repo::new();
    repo.nl(&["init"]).code(0);
    repo.write(
        ".nonlinear/issues/NL-bad1.md",
        "\
---
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7b01
short_id: NL-bad1
title: Bad one
status: doing
blocks: [NL-zzzz]
---
",
    );
    repo.write(
        ".nonlinear/issues/NL-dup1.md",
        "\
---
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7b02
short_id: NL-dup1
title: First
status: todo
---
",
    );
    repo.write(
        ".nonlinear/issues/copy.md",
        "\
---
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7b03
title: Copy
short_id: nl-DUP1
status: todo
---
",
    );
    repo.commit("broken");
    repo
}

#[test]
fn check_human_format_names_each_problem_and_exits_1() {
    let repo = broken();
    let run = repo.nl(&["check"]).code(1);
    let out = &run.stdout;
    for want in [
        "error[unknown-status]: status `doing` is not in the workflow (backlog, todo, in_progress, in_review, done, canceled) [field `status`]\n",
        " --> .nonlinear/issues/NL-bad1.md:5:9\n",
        "5 | status: doing\n",
        "error[dangling-reference]: `blocks` refers to NL-zzzz, which does not exist [field `blocks`]\n",
        " --> .nonlinear/issues/NL-bad1.md:6:10\n",
        "error[duplicate-short-id]: ",
        "error: 4 files checked, 3 errors, 0 warnings\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{run}");
    }
    assert!(out.ends_with("error: 4 files checked, 3 errors, 0 warnings\n"));
    assert_eq!(run.stderr, "");
}

#[test]
fn check_json_format_has_the_documented_fields() {
    let repo = broken();
    let run = repo.nl(&["check", "--format", "json"]).code(1);
    let v = run.json();
    // `--json` is the same as `--format json`.
    assert_eq!(repo.nl(&["--json", "check"]).code(1).json(), v);
    assert_eq!(repo.nl(&["check", "--json"]).code(1).json(), v);

    let keys: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["diagnostics", "errors", "files", "ok", "since", "warnings"]
    );
    assert_eq!(v["ok"], false);
    assert_eq!(v["files"], 4);
    assert_eq!(v["errors"], 3);
    assert_eq!(v["warnings"], 0);
    assert_eq!(v["since"], Value::Null);
    let diags = v["diagnostics"].as_array().expect("an array");
    assert_eq!(diags.len(), 3);
    for d in diags {
        for key in [
            "severity", "code", "path", "line", "col", "len", "field", "message",
        ] {
            assert!(d.get(key).is_some(), "{key} missing in {d}");
        }
        assert_eq!(d["severity"], "error");
        assert!(d["len"].as_u64().is_some_and(|n| n >= 1), "{d}");
    }
    // Sorted by path, line, column, code.
    let codes: Vec<(&str, &str, u64, u64, &str)> = diags
        .iter()
        .map(|d| {
            (
                d["code"].as_str().expect("code"),
                d["path"].as_str().expect("path"),
                d["line"].as_u64().expect("line"),
                d["col"].as_u64().expect("col"),
                d["field"].as_str().expect("field"),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            (
                "unknown-status",
                ".nonlinear/issues/NL-bad1.md",
                5,
                9,
                "status"
            ),
            (
                "dangling-reference",
                ".nonlinear/issues/NL-bad1.md",
                6,
                10,
                "blocks"
            ),
            (
                "duplicate-short-id",
                ".nonlinear/issues/copy.md",
                4,
                11,
                "short_id"
            ),
        ]
    );
    assert_eq!(
        diags[1]["message"],
        "`blocks` refers to NL-zzzz, which does not exist"
    );
    assert_eq!(diags[1]["len"], 7);
    // The duplicate points at the first definition.
    let related = diags[2]["related"].as_array().expect("related locations");
    assert_eq!(related[0]["path"], ".nonlinear/issues/NL-dup1.md");
    assert_eq!(related[0]["line"], 3);
    // Diagnostics without related locations omit the key.
    assert!(diags[0].get("related").is_none(), "{}", diags[0]);
}

#[test]
fn check_github_format_prints_workflow_commands() {
    let repo = broken();
    let run = repo.nl(&["check", "--format", "github"]).code(1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{run}");
    assert_eq!(
        lines[0],
        "::error file=.nonlinear/issues/NL-bad1.md,line=5,col=9,title=unknown-status::status `doing` is not in the workflow (backlog%2C todo%2C in_progress%2C in_review%2C done%2C canceled) [field `status`]"
            .replace("%2C", ",")
    );
    assert_eq!(
        lines[1],
        "::error file=.nonlinear/issues/NL-bad1.md,line=6,col=10,title=dangling-reference::`blocks` refers to NL-zzzz, which does not exist [field `blocks`]"
    );
    assert!(
        lines[2].starts_with(
            "::error file=.nonlinear/issues/copy.md,line=4,col=11,title=duplicate-short-id::"
        ),
        "{run}"
    );
    assert_eq!(lines[3], "error: 4 files checked, 3 errors, 0 warnings");
}

#[test]
fn check_warnings_alone_exit_0() {
    let repo = ws::repo();
    let run = repo.nl(&["check"]).code(0);
    assert!(
        run.stdout
            .ends_with("warning: 10 files checked, 0 errors, 3 warnings\n"),
        "{run}"
    );
    assert!(run.stdout.contains("warning[unknown-field]"), "{run}");
    let v = repo.nl(&["check", "--format", "json"]).code(0).json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["warnings"], 3);
    let run = repo.nl(&["check", "--format", "github"]).code(0);
    assert!(
        run.stdout.starts_with(
            "::warning file=.nonlinear/comments/0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a01/0193a6f1-0000-7000-8000-000000000001.md,line=7,col=1,title=unknown-field::"
        ),
        "{run}"
    );
}

#[test]
fn check_usage_errors_exit_2() {
    let repo = broken();
    for args in [
        &["check", "--bogus"][..],
        &["check", "--format", "xml"],
        &["check", "--since"],
        &["frobnicate"],
        &[],
    ] {
        let run = repo.nl(args).code(2);
        assert!(run.stdout.is_empty(), "{run}");
        assert!(!run.stderr.is_empty(), "{run}");
    }
}

#[test]
fn check_without_a_workspace_exits_2() {
    let repo = Repo::new();
    std::fs::create_dir(repo.path("empty")).expect("mkdir");
    let run = repo.nl_at("empty", &["check"]).code(2);
    assert!(
        run.stderr
            .starts_with("error: no Non-Linear workspace (.nonlinear/config.yaml) in "),
        "{run}"
    );
    for args in [&["list"][..], &["show", "NL-aaaa"], &["new", "issue", "x"]] {
        repo.nl_at("empty", args).code(2);
    }
    let run = nl_in(repo.root(), &["-C", "does/not/exist", "check"]).code(2);
    assert!(run.stderr.starts_with("error: "), "{run}");
}

#[test]
fn invalid_config_stops_commands_but_not_check() {
    let repo = ws::repo();
    repo.write(
        ".nonlinear/config.yaml",
        ws::CONFIG.replace("category: completed", "category: finished"),
    );
    let run = repo.nl(&["check"]).code(1);
    assert!(
        run.stdout.contains("error[invalid-value]")
            && run.stdout.contains(" --> .nonlinear/config.yaml:10:39\n"),
        "{run}"
    );
    let run = repo.nl(&["list"]).code(2);
    assert!(run.stderr.contains("config is invalid"), "{run}");
    repo.nl(&["set", "NL-aaaa", "status", "done"]).code(2);
    assert_eq!(
        repo.changes(),
        "M .nonlinear/config.yaml\n-  - {key: done, name: Done, category: completed}\n+  - {key: done, name: Done, category: finished}\n"
    );
}

// ---- check --since ---------------------------------------------------------

const OLD_PROBLEM: &str = "\
---
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7c01
short_id: NL-old1
title: Old problem
status: doing
---
";

const NEW_PROBLEM: &str = "\
---
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7c02
short_id: NL-new1
title: New problem
status: todo
blocks: [NL-gone]
---
";

/// The `--since` scenario for a workspace at `ws` (`""` for the repository
/// top, else a subdirectory): an old problem committed, a new one in the
/// work tree.
fn since_scenario(ws: &str) {
    let repo = Repo::new();
    repo.write("README.md", "# A project\n");
    let dir = |rel: &str| {
        if ws.is_empty() {
            rel.to_owned()
        } else {
            format!("{ws}/{rel}")
        }
    };
    std::fs::create_dir_all(repo.path(&dir(""))).expect("mkdir");
    repo.nl_at(ws, &["init"]).code(0);
    repo.write(&dir(".nonlinear/issues/NL-old1.md"), OLD_PROBLEM);
    repo.commit("an old problem");

    // A new problem, and the old one moved down by a line.
    repo.write(&dir(".nonlinear/issues/NL-new1.md"), NEW_PROBLEM);
    repo.write(
        &dir(".nonlinear/issues/NL-old1.md"),
        OLD_PROBLEM.replace("title:", "priority: 2\ntitle:"),
    );

    let v = repo
        .nl_at(ws, &["check", "--since", "HEAD", "--format", "json"])
        .code(1)
        .json();
    assert_eq!(v["since"], "HEAD");
    assert_eq!(v["errors"], 1, "{v:#}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["files"], 3);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "dangling-reference");
    assert_eq!(d["path"], ".nonlinear/issues/NL-new1.md");
    assert_eq!(v["diagnostics"].as_array().map(Vec::len), Some(1));

    let run = repo.nl_at(ws, &["check", "--since", "HEAD"]).code(1);
    assert!(
        run.stdout
            .ends_with("error: 3 files checked, 1 error, 0 warnings introduced since HEAD\n"),
        "{run}"
    );
    assert!(!run.stdout.contains("unknown-status"), "{run}");

    // GitHub annotations name the file from the repository's top.
    let run = repo
        .nl_at(ws, &["check", "--since", "HEAD", "--format", "github"])
        .code(1);
    assert_eq!(
        run.stdout.lines().next(),
        Some(
            format!(
                "::error file={},line=6,col=10,title=dangling-reference::`blocks` refers to NL-gone, which does not exist [field `blocks`]",
                dir(".nonlinear/issues/NL-new1.md")
            )
            .as_str()
        )
    );

    // Without --since both problems count.
    let v = repo.nl_at(ws, &["check", "--json"]).code(1).json();
    assert_eq!(v["errors"], 2);

    // Fixing the new problem: clean since HEAD, though the old one remains.
    repo.write(
        &dir(".nonlinear/issues/NL-new1.md"),
        NEW_PROBLEM.replace("blocks: [NL-gone]\n", ""),
    );
    let run = repo.nl_at(ws, &["check", "--since", "HEAD"]).code(0);
    assert_eq!(
        run.stdout,
        "ok: 3 files checked, no problems introduced since HEAD\n"
    );
    // Also with a full commit id and from a directory below the workspace.
    let head = repo.git(&["rev-parse", "HEAD"]);
    repo.nl_at(
        &dir(".nonlinear/issues"),
        &["check", "--since", head.trim()],
    )
    .code(0);
    repo.nl_at(ws, &["check"]).code(1);
}

#[test]
fn check_since_reports_only_new_problems_at_the_repository_top() {
    since_scenario("");
}

#[test]
fn check_since_reports_only_new_problems_in_a_subdirectory_workspace() {
    since_scenario("sub");
    since_scenario("deeper/sub dir");
}

#[test]
fn check_since_a_revision_without_the_workspace_counts_everything() {
    for (ws, committed) in [
        ("", &["README.md"][..]),
        ("sub", &["README.md"]),
        ("sub", &["README.md", "sub/README.md"]),
    ] {
        let repo = Repo::new();
        for f in committed {
            repo.write(f, "x\n");
        }
        repo.commit("before the workspace");
        let at = if ws.is_empty() { "." } else { ws };
        std::fs::create_dir_all(repo.path(at)).expect("mkdir");
        repo.nl_at(at, &["init"]).code(0);
        let issues = if ws.is_empty() {
            ".nonlinear/issues".to_owned()
        } else {
            format!("{ws}/.nonlinear/issues")
        };
        repo.write(&format!("{issues}/NL-old1.md"), OLD_PROBLEM);
        repo.write(&format!("{issues}/NL-new1.md"), NEW_PROBLEM);

        let all = repo.nl_at(at, &["check", "--json"]).code(1).json();
        let since = repo
            .nl_at(at, &["check", "--json", "--since", "HEAD"])
            .code(1)
            .json();
        assert_eq!(all["errors"], 2, "{ws:?} {committed:?}");
        assert_eq!(since["errors"], 2, "{ws:?} {committed:?}");
        assert_eq!(since["diagnostics"], all["diagnostics"]);
    }
}

#[test]
fn check_since_a_bad_revision_exits_2() {
    let repo = broken();
    let run = repo.nl(&["check", "--since", "no-such-branch"]).code(2);
    assert!(
        run.stderr
            .starts_with("error: --since no-such-branch: not a git revision"),
        "{run}"
    );
    assert!(run.stdout.is_empty(), "{run}");
    // A blob is not a commit.
    let blob = repo.git(&["rev-parse", "HEAD:.nonlinear/config.yaml"]);
    repo.nl(&["check", "--since", blob.trim()]).code(2);
    // A repository without commits has no HEAD.
    let empty = Repo::new();
    empty.nl(&["init"]).code(0);
    empty.nl(&["check", "--since", "HEAD"]).code(2);
}

/// `architecture:` rules in the config: `check` reports every inferred and
/// declared link that breaks one, at the line that makes the link, and
/// exits 1; `--since` reports only violations the change introduced.
#[test]
fn check_enforces_architecture_rules() {
    let comp = |n: u32, key: &str, path: &str, extra: &str| {
        (
            format!(".nonlinear/components/{key}.md"),
            format!(
                "---\nid: 01930000-0000-7000-8000-{n:012}\nshort_id: {key}\ntitle: {key}\nrepo: {{path: {path}}}\n{extra}---\n"
            ),
        )
    };
    let web = comp(1, "WEB", "web/app", "");
    let db = comp(2, "DB", "db/schema", "");
    let api = comp(3, "API", "api", "depends_on: [DB]\n");
    let repo = Repo::with_files(&[
        (
            ".nonlinear/config.yaml",
            "version: 1\nkey: NL\nstatuses:\n  - {key: todo, category: unstarted}\narchitecture:\n  - deny: [imports, depends_on]\n    from: web/*\n    to: db/*\n    reason: the web tier reaches the database through the API\n  - allow_only: depends_on\n    from: API\n    to: [AUTH]\n",
        ),
        (web.0.as_str(), web.1.as_str()),
        (db.0.as_str(), db.1.as_str()),
        (api.0.as_str(), api.1.as_str()),
        ("db/schema/package.json", "{\"name\": \"@acme/db\"}\n"),
        ("web/app/package.json", "{\"name\": \"@acme/web\"}\n"),
        ("web/app/main.ts", "import { x } from './util';\n"),
    ]);
    repo.nl(&["analyze"]).code(0);
    repo.commit("analyzed");
    // The declared API → DB link breaks the allow-only rule.
    let run = repo.nl(&["check", "--format", "json"]).code(1);
    let v = run.json();
    let codes: Vec<(&str, &str)> = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or(""),
                d["path"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [("architecture-rule", ".nonlinear/components/API.md")],
        "{v}"
    );

    // A change makes the web tier import the database package.
    repo.write(
        "web/app/main.ts",
        "import { x } from './util';\nimport { pool } from '@acme/db';\n",
    );
    repo.nl(&["analyze"]).code(0);
    let run = repo.nl(&["check"]).code(1);
    assert!(
        run.stdout.contains("error[architecture-rule]: inferred link WEB → DB (imports) breaks an architecture rule: it denies imports, depends_on from web/* to db/* — the web tier reaches the database through the API"),
        "{run}"
    );
    assert!(run.stdout.contains("--> web/app/main.ts:2:1"), "{run}");
    // Only the new violation is the change's.
    let run = repo
        .nl(&["check", "--since", "HEAD", "--format", "json"])
        .code(1);
    let v = run.json();
    let paths: Vec<&str> = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["path"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(paths, ["web/app/main.ts"], "{v}");

    // Suppressing the link with a reason clears it.
    repo.write(
        &web.0,
        web.1.replacen(
            "repo: {path: web/app}\n",
            "repo: {path: web/app}\nsuppress:\n  - {kind: imports, to: DB, reason: \"type-only use of the row types\"}\n",
            1,
        ),
    );
    repo.nl(&["analyze"]).code(0);
    let edges = repo.read(".nonlinear/inferred/edges.yaml");
    assert!(
        edges.contains("suppressed:\n  - {kind: imports, from: WEB, to: DB, occurrences: 1, reason: \"type-only use of the row types\"}"),
        "{edges}"
    );
    let run = repo.nl(&["check", "--format", "json"]).code(1);
    assert_eq!(
        run.json()["diagnostics"].as_array().map(Vec::len),
        Some(1),
        "{run}"
    );
}
