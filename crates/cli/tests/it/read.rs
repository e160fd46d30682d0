//! The read commands: `show` and `list`/`ready` with their filters, as text
//! and as the JSON documented in docs/cli.md ("JSON output").
//!
//! In the workspace of [`crate::ws`], NL-aaaa blocks NL-bbbb, which blocks
//! NL-dddd; NL-eeee (done) blocks NL-cccc. So NL-bbbb and NL-dddd are
//! blocked, and NL-aaaa (todo) and NL-cccc (backlog) are ready.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{BIN, Repo, Run, isolate};
use crate::ws;

/// The short ids of a `list --json` answer, checking `total` on the way.
#[track_caller]
fn ids(run: &Run, total: usize) -> Vec<String> {
    let v = run.json();
    assert_eq!(v["total"], total, "{v:#}");
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            i["short_id"]
                .as_str()
                .or(i["path"].as_str())
                .expect("an id")
                .to_owned()
        })
        .collect()
}

#[track_caller]
fn list(repo: &Repo, args: &[&str]) -> Vec<String> {
    let mut all = vec!["list"];
    all.extend_from_slice(args);
    all.push("--json");
    let run = repo.nl(&all).code(0);
    let v = run.json();
    let n = v["items"].as_array().map_or(0, Vec::len);
    ids(&run, n)
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

const ITEM: &[&str] = &["extra", "id", "kind", "path", "short_id", "title"];
const ISSUE: &[&str] = &[
    "assignee",
    "blocks",
    "created_at",
    "created_by",
    "cycle",
    "due",
    "duplicates",
    "estimate",
    "labels",
    "parent",
    "priority",
    "relates_to",
    "status",
    "status_category",
    "status_name",
];
const COMPONENT: &[&str] = &[
    "calls_api",
    "depends_on",
    "imports",
    "labels",
    "owner",
    "parent",
    "repo",
    "shares_db",
];
const ARTIFACT: &[&str] = &[
    "artifact_kind",
    "attached_to",
    "created_at",
    "created_by",
    "file",
    "mime_type",
    "size",
    "url",
];
const COMMENT: &[&str] = &[
    "author",
    "created_at",
    "edited_at",
    "on",
    "reactions",
    "reply_to",
];
const DETAIL: &[&str] = &["comments", "description", "description_html"];

/// The documented keys of an item of `kind`, sorted, plus `more`.
fn documented(kind: &str, more: &[&str]) -> Vec<String> {
    let own = match kind {
        "issue" => ISSUE,
        "component" => COMPONENT,
        "artifact" => ARTIFACT,
        "comment" => COMMENT,
        other => panic!("unknown kind {other}"),
    };
    let mut all: Vec<String> = ITEM
        .iter()
        .chain(own)
        .chain(more)
        .map(|k| (*k).to_owned())
        .collect();
    all.sort();
    all
}

#[test]
fn show_json_has_the_documented_shape() {
    let repo = ws::repo();
    let v = repo.nl(&["show", "nl-AAAA", "--json"]).code(0).json();
    assert_eq!(keys(&v), documented("issue", DETAIL));
    let html = v["description_html"].as_str().expect("html").to_owned();
    assert!(
        html.contains("<hr>") && html.contains("type=\"checkbox\""),
        "{html}"
    );
    let comment = &v["comments"][0];
    assert_eq!(
        keys(comment),
        documented("comment", &["description", "description_html"])
    );
    assert_eq!(
        v,
        json!({
            "kind": "issue",
            "id": ws::A_ID,
            "short_id": "NL-aaaa",
            "title": "Fix login redirect",
            "path": ws::A,
            "extra": {"x-jira": "ACME-1", "x-team": {"name": "core", "size": 3}},
            "status": "todo",
            "status_name": "Todo",
            "status_category": "unstarted",
            "priority": 3,
            "labels": ["bug", "chore"],
            "assignee": "ana",
            "created_by": null,
            "created_at": null,
            "cycle": "2026-w48",
            "estimate": 2.0,
            "due": "2026-12-01",
            "parent": "AUTH",
            "blocks": ["NL-bbbb"],
            "relates_to": ["NL-cccc"],
            "duplicates": [],
            "description": "The redirect loops when the cookie domain differs.\n\n---\n\n- [ ] fix it\n",
            "description_html": html,
            "comments": [{
                "kind": "comment",
                "id": ws::C1_ID,
                "short_id": null,
                "title": null,
                "path": ws::C1,
                "extra": {"x-client": "mail"},
                "on": ws::A_ID,
                "author": "bob",
                "created_at": "2026-11-24T11:00:00Z",
                "edited_at": null,
                "reply_to": null,
                "reactions": {"+1": ["bob"]},
                "description": "Looks like the cookie `Domain` attribute.\n",
                "description_html": "<p>Looks like the cookie <code>Domain</code> attribute.</p>\n",
            }],
        })
    );

    // Components (found by key in any case, stored next to their code) and
    // artifacts.
    let v = repo.nl(&["--json", "show", "auth"]).code(0).json();
    assert_eq!(keys(&v), documented("component", DETAIL));
    assert_eq!(v["short_id"], "AUTH");
    assert_eq!(
        v["repo"],
        json!({"path": "services/auth", "url": null, "branch": null, "provider": null})
    );
    assert_eq!(v["owner"], "ana");
    assert_eq!(v["comments"], json!([]));
    let v = repo.nl(&["show", "NL-art1", "--json"]).code(0).json();
    assert_eq!(keys(&v), documented("artifact", DETAIL));
    assert_eq!(v["artifact_kind"], "link");
    assert_eq!(v["attached_to"], json!(["NL-bbbb", "AUTH"]));
    assert_eq!(v["size"], Value::Null);
    // By UUID.
    let v = repo.nl(&["show", ws::B_ID, "--json"]).code(0).json();
    assert_eq!(v["short_id"], "NL-bbbb");
}

#[test]
fn show_text_prints_fields_body_and_comment_threads() {
    let repo = ws::repo();
    repo.write(
        ".nonlinear/comments/0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a01/0193a6f1-0000-7000-8000-000000000002.md",
        "---\nid: 0193a6f1-0000-7000-8000-000000000002\nauthor: ana\ncreated_at: 2026-11-24T12:00:00Z\nreply_to: 0193a6f1-0000-7000-8000-000000000001\n---\nConfirmed.\n",
    );
    let run = repo.nl(&["show", "NL-aaaa"]).code(0);
    assert_eq!(
        run.stdout,
        "\
NL-aaaa  Fix login redirect
  status      Todo (unstarted)
  priority    Medium
  assignee    @ana
  labels      bug, chore
  cycle       2026-w48
  estimate    2
  due         2026-12-01
  parent      AUTH
  blocks      NL-bbbb
  relates to  NL-cccc
  source      .nonlinear/issues/NL-aaaa.md

  The redirect loops when the cookie domain differs.

  ---

  - [ ] fix it

── 2 comments ──
@bob · 2026-11-24T11:00:00Z  (0193a6f1-0000-7000-8000-000000000001)
  Looks like the cookie `Domain` attribute.
  :+1: 1
    @ana · 2026-11-24T12:00:00Z  (0193a6f1-0000-7000-8000-000000000002)
      Confirmed.
"
    );
    let run = repo.nl(&["show", "NL-nope"]).code(1);
    assert_eq!(run.stderr, "error: no item NL-nope in this workspace\n");
}

#[test]
fn list_json_items_have_the_documented_shape() {
    let repo = ws::repo();
    let v = repo
        .nl(&["list", "type:component,issue,artifact,comment", "--json"])
        .code(0)
        .json();
    assert_eq!(keys(&v), ["items", "total"]);
    assert_eq!(v["total"], 10 - 1, "every item but the config");
    for item in v["items"].as_array().expect("items") {
        let kind = item["kind"].as_str().expect("a kind");
        assert_eq!(keys(item), documented(kind, &[]), "{item:#}");
    }
    // Order: components, issues, artifacts, comments.
    let kinds: Vec<&str> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        [
            "component",
            "component",
            "issue",
            "issue",
            "issue",
            "issue",
            "issue",
            "artifact",
            "comment"
        ]
    );
}

#[test]
fn list_text_is_sorted_and_aligned() {
    let repo = ws::repo();
    let run = repo.nl(&["list"]).code(0);
    assert_eq!(
        run.stdout,
        "\
NL-bbbb  in_progress  -       @bob  Session store
NL-aaaa  todo         medium  @ana  Fix login redirect
NL-dddd  todo         -             Expire idle sessions
NL-cccc  backlog      -             Audit cookies
NL-eeee  done         -             Cookie flags
5 of 5 items
"
    );
    let run = repo.nl(&["list", "--limit", "2"]).code(0);
    assert!(run.stdout.ends_with("\n2 of 5 items\n"), "{run}");
    let run = repo.nl(&["list", "status:canceled"]).code(0);
    assert_eq!(run.stdout, "0 of 0 items\n");
}

#[test]
fn list_filters_status_and_negated_labels() {
    let repo = ws::repo();
    assert_eq!(list(&repo, &["status:todo"]), ["NL-aaaa", "NL-dddd"]);
    assert_eq!(
        list(&repo, &["status:started,completed"]),
        ["NL-bbbb", "NL-eeee"]
    );
    // A negated term needs no `--`, and options after the terms are
    // options.
    assert_eq!(
        list(&repo, &["-label:bug"]),
        ["NL-bbbb", "NL-dddd", "NL-cccc", "NL-eeee"]
    );
    let run = repo
        .nl(&["list", "-label:bug", "--limit", "1", "--json"])
        .code(0);
    assert_eq!(ids(&run, 4), ["NL-bbbb"]);
    let run = repo.nl(&["list", "--json", "--", "-label:BUG", "-status:done"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(ids(&run, 3), ["NL-bbbb", "NL-dddd", "NL-cccc"]);
    let run = repo
        .nl(&["--json", "list", "status:todo", "-C", "."])
        .code(0);
    assert_eq!(ids(&run, 2), ["NL-aaaa", "NL-dddd"]);
    // Free text: title, body or short id.
    assert_eq!(list(&repo, &["cookie"]), ["NL-aaaa", "NL-cccc", "NL-eeee"]);
    assert_eq!(list(&repo, &["\"idle sessions\""]), ["NL-dddd"]);
}

#[test]
fn list_filters_assignee_me() {
    let repo = ws::repo();
    assert_eq!(list(&repo, &["assignee:@me", "--as", "ana"]), ["NL-aaaa"]);
    assert_eq!(list(&repo, &["--as", "@Bob", "assignee:me"]), ["NL-bbbb"]);
    assert_eq!(
        list(&repo, &["assignee:none"]),
        ["NL-dddd", "NL-cccc", "NL-eeee"]
    );
    // No acting member: @me matches nothing, and that is not an error.
    assert!(list(&repo, &["assignee:@me"]).is_empty());
    assert!(list(&repo, &["assignee:@me", "--as", "zed"]).is_empty());
    // The actor from the environment, then from git's user.email.
    let out = isolate(
        std::process::Command::new(BIN)
            .args(["list", "assignee:@me", "--json"])
            .current_dir(repo.root()),
    )
    .env("NONLINEAR_ACTOR", "bob")
    .output()
    .expect("runs");
    let run = Run::from_output(&["list"], out).code(0);
    assert_eq!(ids(&run, 1), ["NL-bbbb"]);
    repo.git(&["config", "user.email", "Ana@Example.com"]);
    assert_eq!(list(&repo, &["assignee:@me"]), ["NL-aaaa"]);
}

#[test]
fn list_filters_under_blocked_and_ready() {
    let repo = ws::repo();
    assert_eq!(
        list(&repo, &["under:auth"]),
        ["NL-bbbb", "NL-aaaa", "NL-dddd"]
    );
    assert_eq!(
        list(&repo, &["under:AUTH", "type:component,issue"]),
        ["AUTH", "NL-bbbb", "NL-aaaa", "NL-dddd"]
    );
    assert_eq!(list(&repo, &["under:NL-bbbb"]), ["NL-bbbb", "NL-dddd"]);
    assert!(list(&repo, &["under:NOPE"]).is_empty());
    assert_eq!(list(&repo, &["is:blocked"]), ["NL-bbbb", "NL-dddd"]);
    assert_eq!(list(&repo, &["is:ready"]), ["NL-aaaa", "NL-cccc"]);
    assert_eq!(
        list(&repo, &["-is:blocked", "is:open"]),
        ["NL-aaaa", "NL-cccc"]
    );

    let run = repo.nl(&["ready"]).code(0);
    assert_eq!(
        run.stdout,
        "\
NL-aaaa  todo     medium  @ana  Fix login redirect
NL-cccc  backlog  -             Audit cookies
2 of 2 items
"
    );
    let run = repo
        .nl(&["ready", "assignee:@me", "--as", "ana", "--json"])
        .code(0);
    assert_eq!(ids(&run, 1), ["NL-aaaa"]);
    let run = repo.nl(&["ready", "-label:bug", "--json"]).code(0);
    assert_eq!(ids(&run, 1), ["NL-cccc"]);

    // Closing the blocker unblocks NL-bbbb (started, so still not ready)
    // and NL-dddd stays blocked by NL-bbbb.
    repo.nl(&["set", "NL-aaaa", "status", "done"]).code(0);
    assert_eq!(list(&repo, &["is:blocked"]), ["NL-dddd"]);
    assert_eq!(list(&repo, &["is:ready"]), ["NL-cccc"]);
}

#[test]
fn graph_verbs_answer_from_the_index_cache_and_never_stale() {
    let repo = ws::repo();
    let without_cache = |args: &[&str]| {
        let out = isolate(Command::new(BIN).args(args).current_dir(repo.root()))
            .env("NONLINEAR_CACHE", "0")
            .output()
            .expect("the nonlinear binary runs");
        Run::from_output(args, out).code(0).stdout
    };
    let off = without_cache(&["ready"]);
    assert!(
        !repo.path(".nonlinear/cache/items.bin").exists(),
        "NONLINEAR_CACHE=0 writes no cache"
    );
    // First run builds the cache, second reads it: same answers as the files.
    for _ in 0..2 {
        assert_eq!(repo.nl(&["ready"]).code(0).stdout, off);
        assert_eq!(
            repo.nl(&["blocked", "--json"]).code(0).stdout,
            without_cache(&["blocked", "--json"])
        );
    }
    assert!(repo.path(".nonlinear/cache/items.bin").is_file());
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "the cache is invisible to git"
    );
    // A write through the CLI and an edit behind its back both show at once.
    repo.nl(&["set", "NL-aaaa", "status", "done"]).code(0);
    let text = repo.read(".nonlinear/issues/NL-cccc.md");
    repo.write(
        ".nonlinear/issues/NL-cccc.md",
        text.replace("status: backlog", "status: canceled"),
    );
    let ready = repo.nl(&["ready"]).code(0).stdout;
    assert_eq!(ready, without_cache(&["ready"]));
    assert!(
        !ready.contains("NL-aaaa") && !ready.contains("NL-cccc"),
        "{ready}"
    );
    // A damaged cache is rebuilt without a word.
    repo.write(".nonlinear/cache/items.bin", "garbage");
    let run = repo.nl(&["ready"]).code(0);
    assert_eq!(run.stdout, ready);
    assert_eq!(run.stderr, "");
}

#[test]
fn list_bad_filters_exit_1() {
    let repo = ws::repo();
    for (query, message) in [
        (
            "bogus:x",
            "error: bad filter: unknown filter `bogus:`; known: ",
        ),
        ("\"unterminated", "error: bad filter: "),
        ("priority:<=urgentish", "error: bad filter: "),
    ] {
        let run = repo.nl(&["list", query]).code(1);
        assert!(run.stderr.starts_with(message), "{query}: {run}");
        assert!(run.stdout.is_empty(), "{run}");
        let run = repo.nl(&["ready", query, "--json"]).code(1);
        assert!(run.stderr.starts_with("error: bad filter: "), "{run}");
    }
    let run = repo.nl(&["list", "status:todo", "bogus:x"]).code(1);
    assert!(run.stderr.contains("(at character 12)"), "{run}");
    // Not filters: free text.
    repo.nl(&["list", "http://x.y", "10:30"]).code(0);
}

#[test]
fn search_forgives_typos_filters_and_sees_edits_at_once() {
    let repo = ws::repo();
    // One typo in a 5–8 letter word; the last word as a prefix.
    let run = repo.nl(&["search", "lgoin", "redir"]).code(0);
    assert!(run.stdout.starts_with("NL-aaaa  todo"), "{}", run.stdout);
    // Then documents with the first word only (the last one dropped), then
    // with any word.
    assert!(run.stdout.contains("3 of 3 results"), "{}", run.stdout);
    let order: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .take(3)
        .collect();
    assert_eq!(order, ["NL-aaaa", "AUTH", "NL-bbbb"], "{}", run.stdout);
    // Filters of `list`, and JSON.
    let v = repo
        .nl(&["search", "sesion", "type:issue", "--json"])
        .code(0)
        .json();
    let keys: Vec<&str> = v["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["key"].as_str().expect("a key"))
        .collect();
    assert!(keys.contains(&"NL-bbbb"), "{v}");
    assert!(v["facets"]["status"].is_array(), "{v}");
    // An edit through the CLI is found by the next search.
    repo.nl(&["set", "NL-cccc", "title", "Audit zeppelin cookies"])
        .code(0);
    let v = repo.nl(&["search", "zepelin", "--json"]).code(0).json();
    assert_eq!(v["hits"][0]["key"], "NL-cccc", "{v}");
    assert_eq!(v["total"], 1, "{v}");
    // Never an error for a query: a bad filter is searched as words.
    let run = repo.nl(&["search", "status:", "\"unterminated"]).code(0);
    assert!(
        run.stdout.contains("searched as plain words"),
        "{}",
        run.stdout
    );
    assert_eq!(
        repo.git(&["status", "--porcelain", "--untracked-files=all"]),
        " M .nonlinear/issues/NL-cccc.md\n",
        "the index stays out of git"
    );
}
