//! `diff`, `log` and `--rev`: the workspace's history read from git.

use crate::support::Repo;
use crate::ws;

/// The hand-written workspace plus a problem (commit A), then one commit
/// (B) with a status change, a reassignment, a reparent, a link added and
/// one removed, an item created and one deleted, a problem introduced and
/// one fixed.
struct Scenario {
    repo: Repo,
    a: String,
    b: String,
}

impl Scenario {
    fn new() -> Scenario {
        let repo = ws::repo();
        repo.write(
            ".nonlinear/issues/NL-gggg.md",
            "---\nid: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a07\nshort_id: NL-gggg\ntitle: Odd status\nstatus: bogus\n---\n",
        );
        repo.commit("a problem");
        let a = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
        repo.nl(&["set", "NL-aaaa", "status", "done", "assignee", "bob"])
            .code(0);
        repo.nl(&["set", "NL-dddd", "parent", "AUTH"]).code(0);
        repo.nl(&["link", "NL-cccc", "blocks", "NL-dddd"]).code(0);
        repo.nl(&["unlink", "NL-aaaa", "relates_to", "NL-cccc"])
            .code(0);
        repo.nl(&["set", "NL-gggg", "status", "todo"]).code(0);
        repo.write(
            ".nonlinear/issues/NL-ffff.md",
            "---\nid: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a06\nshort_id: NL-ffff\ntitle: New *thing*\nstatus: todo\nparent: AUTH\nblocks: [NL-gone]\n---\n",
        );
        std::fs::remove_file(repo.path(ws::E)).expect("remove NL-eeee");
        repo.commit("work");
        let b = repo.git(&["rev-parse", "HEAD"]).trim().to_owned();
        Scenario { repo, a, b }
    }

    /// `s` with the abbreviated commit ids replaced by `A` and `B`.
    fn names(&self, s: &str) -> String {
        let short = |c: &str| {
            self.repo
                .git(&["rev-parse", "--short", c])
                .trim()
                .to_owned()
        };
        s.replace(&short(&self.a), "<A>")
            .replace(&short(&self.b), "<B>")
    }
}

#[test]
fn diff_as_text() {
    let s = Scenario::new();
    let run = s.repo.nl(&["diff", "HEAD~1..HEAD"]).code(0);
    assert_eq!(
        s.names(&run.stdout),
        "\
diff HEAD~1..HEAD (<A>..<B>): 6 files, 1 created, 1 deleted, 4 changed; problems: 2 introduced, 1 fixed

~ NL-aaaa  Fix login redirect
    assignee    @ana → @bob
    status      todo → done
    - RELATES_TO NL-cccc  (layer 2)
~ NL-cccc  Audit cookies
    + BLOCKS NL-dddd  (layer 2)
~ NL-dddd  Expire idle sessions
    reparented  NL-bbbb → AUTH
- NL-eeee  Cookie flags  (issue, deleted)
+ NL-ffff  New *thing*  (issue, created)
    parent set  AUTH
    + BLOCKS NL-gone  (layer 2)
~ NL-gggg  Odd status
    status      bogus → todo

Problems introduced:
  error   .nonlinear/issues/NL-cccc.md:8:5  [dangling-reference] `relates_to` refers to 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a05, which does not exist
  error   .nonlinear/issues/NL-ffff.md:7:10  [dangling-reference] `blocks` refers to NL-gone, which does not exist

Problems fixed:
  error   .nonlinear/issues/NL-gggg.md:5:9  [unknown-status] status `bogus` is not in the workflow (backlog, todo, in_progress, done, canceled)
",
        "{run}"
    );
    // `A..` is A..HEAD; a range of full commit ids says the same.
    let open = s.repo.nl(&["diff", &format!("{}..", s.a)]).code(0);
    let full = s.repo.nl(&["diff", &format!("{}..{}", s.a, s.b)]).code(0);
    let body = |r: &crate::support::Run| r.stdout.split_once('\n').map(|x| x.1.to_owned());
    assert_eq!(body(&open), body(&run));
    assert_eq!(body(&full), body(&run));
}

#[test]
fn diff_as_markdown() {
    let s = Scenario::new();
    let run = s
        .repo
        .nl(&["diff", "HEAD~1..HEAD", "--format", "markdown"])
        .code(0);
    assert_eq!(
        s.names(&run.stdout),
        "\
### Non-Linear changes: `HEAD~1` → `HEAD`

`<A>` → `<B>` · 6 files · 1 created · 1 deleted · 4 changed · 2 problems introduced · 1 fixed

#### Created

- `NL-ffff` New \\*thing\\* _(issue)_
  - parent: `AUTH`
  - link added: BLOCKS `NL-gone` _(layer 2)_

#### Deleted

- ~~`NL-eeee` Cookie flags~~ _(issue)_

#### Changed

- `NL-aaaa` Fix login redirect
  - assignee: `@ana` → `@bob`
  - status: `todo` → `done`
  - link removed: RELATES_TO `NL-cccc` _(layer 2)_
- `NL-cccc` Audit cookies
  - link added: BLOCKS `NL-dddd` _(layer 2)_
- `NL-dddd` Expire idle sessions
  - reparented: `NL-bbbb` → `AUTH`
- `NL-gggg` Odd status
  - status: `bogus` → `todo`

#### Problems introduced (2)

- ❌ error `.nonlinear/issues/NL-cccc.md:8:5` `dangling-reference`: \\`relates\\_to\\` refers to 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a05, which does not exist
- ❌ error `.nonlinear/issues/NL-ffff.md:7:10` `dangling-reference`: \\`blocks\\` refers to NL-gone, which does not exist

#### Problems fixed (1)

- ✅ error `.nonlinear/issues/NL-gggg.md:5:9` `unknown-status`: status \\`bogus\\` is not in the workflow (backlog, todo, in\\_progress, done, canceled)
",
        "{run}"
    );
}

#[test]
fn diff_as_json() {
    let s = Scenario::new();
    let v = s
        .repo
        .nl(&["diff", "HEAD~1..HEAD", "--format", "json"])
        .code(0)
        .json();
    // `--json` is the same.
    assert_eq!(s.repo.nl(&["diff", "HEAD~1..HEAD", "--json"]).json(), v);
    assert_eq!(v["from"]["rev"], "HEAD~1");
    assert_eq!(v["from"]["commit"], s.a.as_str());
    assert_eq!(v["to"]["commit"], s.b.as_str());
    assert_eq!(v["files"], 6);
    let changes = v["changes"].as_array().expect("changes");
    assert!(changes.contains(&serde_json::json!({
        "event": "field", "key": "NL-aaaa", "field": "status", "before": "todo", "after": "done"
    })));
    assert!(changes.contains(&serde_json::json!({
        "event": "link_removed", "from": "NL-dddd", "kind": "HAS_CHILD", "to": "NL-bbbb", "layer": 2
    })));
    assert!(changes.contains(&serde_json::json!({
        "event": "deleted", "key": "NL-eeee", "kind": "issue", "path": ws::E, "title": "Cookie flags"
    })));
    let codes = |k: &str| -> Vec<String> {
        v[k].as_array()
            .expect("a list")
            .iter()
            .map(|d| {
                format!(
                    "{} {}",
                    d["path"].as_str().unwrap(),
                    d["code"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        codes("introduced"),
        [
            ".nonlinear/issues/NL-cccc.md dangling-reference",
            ".nonlinear/issues/NL-ffff.md dangling-reference"
        ]
    );
    assert_eq!(
        codes("fixed"),
        [".nonlinear/issues/NL-gggg.md unknown-status"]
    );
    assert_eq!(v["titles"]["NL-ffff"], "New *thing*");
}

#[test]
fn diff_against_the_work_tree() {
    let repo = ws::repo();
    // Nothing changed yet.
    let run = repo.nl(&["diff"]).code(0);
    assert!(
        run.stdout
            .contains(": 0 files, 0 created, 0 deleted, 0 changed;"),
        "{run}"
    );
    repo.nl(&["set", "NL-bbbb", "assignee", "ana"]).code(0);
    for args in [&["diff"][..], &["diff", "HEAD"]] {
        let run = repo.nl(args).code(0);
        assert!(run.stdout.starts_with("diff HEAD..work tree ("), "{run}");
        assert!(
            run.stdout
                .ends_with("\n~ NL-bbbb  Session store\n    assignee    @bob → @ana\n"),
            "{run}"
        );
    }
    let v = repo.nl(&["diff", "--json"]).json();
    assert_eq!(v["to"], serde_json::json!({"rev": null, "commit": null}));
    // A bad revision is a usage error.
    let run = repo.nl(&["diff", "nope..HEAD"]).code(2);
    assert!(run.stderr.contains("`nope` is not a commit"), "{run}");
}

#[test]
fn diff_in_a_subdirectory_workspace() {
    let repo = Repo::new();
    repo.write("README.md", "top\n");
    for (p, t) in ws::files() {
        repo.write(&format!("product/{p}"), t);
    }
    repo.commit("one");
    repo.nl_at("product", &["set", "NL-bbbb", "status", "done"])
        .code(0);
    repo.commit("two");
    let run = repo
        .nl_at("product/services", &["diff", "HEAD~1.."])
        .code(0);
    assert!(
        run.stdout
            .ends_with("\n~ NL-bbbb  Session store\n    status      in_progress → done\n"),
        "{run}"
    );
}

#[test]
fn log_of_an_item_across_a_rename() {
    let repo = ws::repo();
    repo.nl(&["set", "NL-bbbb", "status", "done"]).code(0);
    repo.commit("finish the session store");
    repo.nl(&["mv", "NL-bbbb", "NL-sess"]).code(0);
    repo.commit("rename");
    repo.nl(&["set", "NL-sess", "assignee", "ana"]).code(0);
    repo.commit("hand over");
    let short = |c: &str| repo.git(&["rev-parse", "--short", c]).trim().to_owned();
    let run = repo.nl(&["log", "nl-sess"]).code(0);
    let expected = format!(
        "\
NL-sess  Session store  (.nonlinear/issues/NL-sess.md)

{}  2026-11-24T09:00:00+00:00  Test <test@example.com>  hand over
    assignee    @bob → @ana

{}  2026-11-24T09:00:00+00:00  Test <test@example.com>  rename
    short_id    NL-bbbb → NL-sess
    path        .nonlinear/issues/NL-bbbb.md → .nonlinear/issues/NL-sess.md

{}  2026-11-24T09:00:00+00:00  Test <test@example.com>  finish the session store
    status      in_progress → done

{}  2026-11-24T09:00:00+00:00  Test <test@example.com>  initial
    created     issue Session store
    parent set  AUTH
    + BLOCKS NL-dddd  (layer 2)
",
        short("HEAD"),
        short("HEAD~1"),
        short("HEAD~2"),
        short("HEAD~3")
    );
    assert_eq!(run.stdout, expected, "{run}");
    let v = repo.nl(&["log", "NL-sess", "--json"]).code(0).json();
    assert_eq!(v["key"], "NL-sess");
    let entries = v["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[1]["summary"], "rename");
    assert_eq!(entries[1]["author"], "Test");
    assert_eq!(entries[1]["changes"][0]["field"], "short_id");
    assert_eq!(entries[3]["changes"][0]["event"], "created");
    // From an older revision, under its old name.
    let v = repo
        .nl(&["log", "NL-bbbb", "--rev", "HEAD~2", "--json"])
        .code(0)
        .json();
    assert_eq!(v["entries"].as_array().map(Vec::len), Some(2));
    // No such item: refused.
    let run = repo.nl(&["log", "NL-nope"]).code(1);
    assert!(run.stderr.contains("no item NL-nope at HEAD"), "{run}");
}

#[test]
fn read_commands_at_a_revision() {
    let s = Scenario::new();
    let r = &s.repo;
    // The work tree has NL-eeee no more; HEAD~1 does.
    r.nl(&["show", "NL-eeee"]).code(1);
    let run = r.nl(&["show", "NL-eeee", "--rev", "HEAD~1"]).code(0);
    assert!(run.stdout.starts_with("NL-eeee  Cookie flags\n"), "{run}");
    let run = r.nl(&["--rev", "HEAD~1", "show", "NL-aaaa"]).code(0);
    assert!(run.stdout.contains("status      Todo (unstarted)"), "{run}");
    // Comments come from that revision too.
    assert!(run.stdout.contains("── 1 comment ──"), "{run}");
    let list = r
        .nl(&["list", "--rev", "HEAD~1", "status:todo", "--json"])
        .code(0)
        .json();
    let keys: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["short_id"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["NL-aaaa", "NL-dddd"]);
    let ready = r.nl(&["ready", "--rev", "HEAD~1", "--json"]).code(0).stdout;
    assert!(ready.contains("NL-aaaa"), "{ready}");
    // NL-dddd was NL-bbbb's sub-issue then; it hangs off AUTH now.
    let tree = r.nl(&["tree", "NL-bbbb", "--rev", "HEAD~1"]).code(0).stdout;
    assert!(tree.contains("NL-dddd"), "{tree}");
    let now = r.nl(&["tree", "NL-bbbb"]).code(0).stdout;
    assert!(!now.contains("NL-dddd"), "{now}");
    // check at a revision: its problems, not the work tree's.
    let old = r.nl(&["check", "--rev", "HEAD~1", "--json"]).code(1).json();
    assert_eq!(old["errors"], 1);
    let errors: Vec<&serde_json::Value> = old["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert_eq!(errors[0]["code"], "unknown-status");
    let run = r.nl(&["check", "--rev", "HEAD~1"]).code(1);
    // The snippet is the file as it was.
    assert!(run.stdout.contains("status: bogus"), "{run}");
    let now = r.nl(&["check", "--json"]).code(1).json();
    assert_eq!(now["errors"], 2);
    // --rev with --since: what HEAD introduced since HEAD~1.
    let since = r
        .nl(&["check", "--rev", "HEAD", "--since", "HEAD~1", "--json"])
        .code(1)
        .json();
    assert_eq!(since["errors"], 2);
    // Writes refuse --rev; a bad revision is a usage error.
    let run = r
        .nl(&["set", "NL-aaaa", "status", "todo", "--rev", "HEAD~1"])
        .code(2);
    assert!(run.stderr.contains("only read commands"), "{run}");
    let run = r.nl(&["list", "--rev", "nope"]).code(2);
    assert!(run.stderr.contains("`nope` is not a commit"), "{run}");
}

#[test]
fn check_at_a_revision_looks_for_artifact_files_in_its_tree() {
    let repo = ws::repo();
    repo.write("docs/spec.md", "spec\n");
    repo.write(
        ".nonlinear/artifacts/NL-art2.md",
        "---\nid: 0193a6f0-9b00-7d2a-9b4e-2f1c3d5e7a04\nshort_id: NL-art2\ntitle: Spec\nkind: file\nfile: docs/spec.md\nattached_to: [AUTH]\n---\n",
    );
    repo.commit("spec");
    std::fs::remove_file(repo.path("docs/spec.md")).expect("remove");
    repo.commit("no spec");
    repo.nl(&["check", "--rev", "HEAD~1"]).code(0);
    let run = repo
        .nl(&["check", "--rev", "HEAD", "--json"])
        .code(1)
        .json();
    assert_eq!(run["errors"], 1);
    assert!(
        run["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "missing-file"),
        "{run}"
    );
    // Restored in the work tree only: HEAD still lacks it.
    repo.write("docs/spec.md", "spec\n");
    repo.nl(&["check"]).code(0);
    repo.nl(&["check", "--rev", "HEAD"]).code(1);
}

/// A merge request that adds a call from one service to another: after
/// `analyze`, `diff` names the new inferred CALLS_API link with the file
/// and line of the call, in every format.
#[test]
fn diff_shows_inferred_links() {
    let comp = |n: u32, key: &str, path: &str| {
        (
            format!(".nonlinear/components/{key}.md"),
            format!(
                "---\nid: 01930000-0000-7000-8000-{n:012}\nshort_id: {key}\ntitle: {key}\nrepo: {{path: {path}}}\n---\n"
            ),
        )
    };
    let (b, a) = (comp(1, "BILLING", "billing"), comp(2, "AUTH", "auth"));
    let repo = Repo::with_files(&[
        (
            ".nonlinear/config.yaml",
            "version: 1\nkey: NL\nstatuses:\n  - {key: todo, category: unstarted}\n",
        ),
        (b.0.as_str(), b.1.as_str()),
        (a.0.as_str(), a.1.as_str()),
        (
            "auth/app.py",
            "@app.get(\"/api/users/{user_id}\")\ndef user(user_id): ...\n",
        ),
        ("billing/app.py", "import requests\n"),
    ]);
    repo.nl(&["analyze"]).code(0);
    repo.commit("analyzed");
    let impact = repo.nl(&["impact", "AUTH"]).code(0).stdout;
    assert!(!impact.contains("BILLING"), "{impact}");
    repo.write(
        "billing/app.py",
        "import requests\n\ndef owner(uid):\n    return requests.get(f\"{AUTH}/api/users/{uid}\")\n",
    );
    repo.nl(&["analyze", "--check"]).code(1);
    repo.nl(&["analyze"]).code(0);
    repo.commit("billing calls auth");
    // The graph verbs see inferred links too.
    let impact = repo.nl(&["impact", "AUTH"]).code(0).stdout;
    assert!(impact.contains("BILLING"), "{impact}");

    let text = repo.nl(&["diff", "HEAD~1..HEAD"]).code(0).stdout;
    assert!(
        text.contains("+ BILLING → AUTH CALLS_API (inferred, confidence 1.00; billing/app.py:4)"),
        "{text}"
    );
    let md = repo
        .nl(&["diff", "HEAD~1..HEAD", "--format", "markdown"])
        .code(0)
        .stdout;
    assert!(
        md.contains(
            "- added: `BILLING` → `AUTH` **CALLS_API** _(confidence 1.00)_ — `billing/app.py:4`"
        ),
        "{md}"
    );
    let json = repo.nl(&["diff", "HEAD~1..HEAD", "--json"]).code(0).json();
    assert_eq!(json["inferred"]["added"][0]["type"], "CALLS_API");
    assert_eq!(
        json["inferred"]["added"][0]["evidence"][0],
        "billing/app.py:4"
    );
    assert_eq!(
        json["inferred"]["removed"].as_array().map(Vec::len),
        Some(0)
    );

    // Against the work tree: removing the call removes the link.
    repo.write("billing/app.py", "import requests\n");
    repo.nl(&["analyze"]).code(0);
    let text = repo.nl(&["diff", "HEAD"]).code(0).stdout;
    assert!(text.contains("- BILLING → AUTH CALLS_API"), "{text}");
}
