//! Every verb that writes leaves the minimal git diff: one line per changed
//! field, and nothing else in the file (comments, key order, quoting,
//! unknown fields, the Markdown body) moves. New items add exactly one file;
//! `mv` renames one file and rewrites each reference in place.
//!
//! Each test starts from the committed workspace of [`crate::ws`], runs the
//! real binary and compares [`Repo::changes`] (a `git diff -U0` digest) with
//! the expected lines. Afterwards the workspace must still check without
//! errors and hold no temporary files.

use crate::support::{Repo, Run};
use crate::ws;

/// Runs `args` on a fresh copy of the workspace, expects success and
/// exactly `expected` as the change.
#[track_caller]
fn edit(args: &[&str], expected: &str) -> (Repo, Run) {
    let repo = ws::repo();
    let run = repo.nl(args).code(0);
    assert_eq!(
        repo.changes(),
        expected,
        "after `nonlinear {args:?}`:\n{run}"
    );
    sound(&repo);
    (repo, run)
}

/// Runs `args` on a fresh copy of the workspace, expects a refusal (exit 1)
/// mentioning `message` and no change at all.
#[track_caller]
fn refused(args: &[&str], message: &str) {
    let repo = ws::repo();
    let run = repo.nl(args).code(1);
    assert!(
        run.stderr.starts_with("error: ") && run.stderr.contains(message),
        "expected a refusal mentioning {message:?}:\n{run}"
    );
    assert_eq!(repo.changes(), "", "a refused `nonlinear {args:?}` wrote");
    sound(&repo);
}

/// Runs `args` on a fresh copy of the workspace, expects success and no
/// change (an existing link, an absent unlink, a repeated reaction).
#[track_caller]
fn unchanged(args: &[&str]) -> Run {
    let repo = ws::repo();
    let run = repo.nl(args).code(0);
    assert_eq!(
        repo.changes(),
        "",
        "`nonlinear {args:?}` should change nothing"
    );
    run
}

/// The workspace still has no errors and no leftover temporary files.
#[track_caller]
fn sound(repo: &Repo) {
    repo.nl(&["check"]).code(0);
    repo.assert_no_temp_files();
}

// ---- set ------------------------------------------------------------------

#[test]
fn set_status_keeps_single_quotes_and_trailing_comment() {
    let (repo, run) = edit(
        &["set", "NL-aaaa", "status", "In Progress"],
        "\
M .nonlinear/issues/NL-aaaa.md
-status: 'todo'  # workflow key
+status: 'in_progress'  # workflow key
",
    );
    assert_eq!(run.stdout, "NL-aaaa: status todo → in_progress\n");
    assert_eq!(repo.numstat(), format!("1\t1\t{}\n", ws::A));
}

#[test]
fn set_status_refuses_unknown_status() {
    refused(
        &["set", "NL-aaaa", "status", "doing"],
        "unknown status `doing`",
    );
}

#[test]
fn set_assignee_keeps_double_quotes() {
    edit(
        &["set", "nl-AAAA", "assignee", "@BOB"],
        "\
M .nonlinear/issues/NL-aaaa.md
-assignee: \"ana\"
+assignee: \"bob\"
",
    );
}

#[test]
fn set_assignee_none_removes_only_its_line() {
    edit(
        &["set", "NL-aaaa", "assignee", "none"],
        "\
M .nonlinear/issues/NL-aaaa.md
-assignee: \"ana\"
",
    );
}

#[test]
fn set_absent_field_adds_one_line_before_the_closing_fence() {
    let (repo, _) = edit(
        &["--as", "ana", "set", "NL-cccc", "assignee", "me"],
        "\
M .nonlinear/issues/NL-cccc.md
+assignee: ana
",
    );
    assert!(
        repo.read(ws::C)
            .ends_with("  - 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a05\nassignee: ana\n---\n"),
        "{}",
        repo.read(ws::C)
    );
}

#[test]
fn set_assignee_refuses_non_member() {
    refused(
        &["set", "NL-aaaa", "assignee", "zed"],
        "`zed` is not a member",
    );
}

#[test]
fn set_labels_add_and_remove_in_a_block_list() {
    let (_, run) = edit(
        &["set", "NL-aaaa", "labels", "+feature,-chore"],
        "\
M .nonlinear/issues/NL-aaaa.md
-  - 'chore'
+  - feature
",
    );
    assert_eq!(
        run.stdout,
        "NL-aaaa: labels [bug, chore] → [bug, feature]\n"
    );
}

#[test]
fn set_labels_remove_after_double_dash() {
    edit(
        &["set", "NL-aaaa", "--", "labels", "-BUG"],
        "\
M .nonlinear/issues/NL-aaaa.md
-  - bug  # seen in prod
",
    );
}

#[test]
fn set_labels_remove_without_double_dash_and_options_after_pairs() {
    // Like `list`, `set` sets its arguments apart from its options: `-bug`
    // is a value and `--json` after the pairs is still the option.
    let (_, run) = edit(
        &["set", "NL-aaaa", "labels", "-chore", "--json"],
        "\
M .nonlinear/issues/NL-aaaa.md
-  - 'chore'
",
    );
    assert_eq!(
        run.json()["changes"][0]["after"],
        serde_json::json!(["bug"])
    );
}

#[test]
fn set_labels_on_an_issue_without_labels_adds_a_flow_list() {
    edit(
        &["set", "NL-eeee", "labels", "+Bug,+chore"],
        "\
M .nonlinear/issues/NL-eeee.md
+labels: [bug, chore]
",
    );
}

#[test]
fn set_labels_removing_every_label_removes_the_field() {
    edit(
        &["set", "NL-aaaa", "--", "labels", "-bug,-chore"],
        "\
M .nonlinear/issues/NL-aaaa.md
-labels:
-  - bug  # seen in prod
-  - 'chore'
",
    );
}

#[test]
fn set_labels_refuses_unknown_label() {
    refused(
        &["set", "NL-aaaa", "labels", "+nope"],
        "label `nope` is not defined",
    );
}

#[test]
fn set_priority_by_name() {
    edit(
        &["set", "NL-aaaa", "priority", "High"],
        "\
M .nonlinear/issues/NL-aaaa.md
-priority: 3
+priority: 2
",
    );
}

#[test]
fn set_priority_none_writes_zero_and_labels_none_removes_the_field() {
    edit(
        &["set", "NL-aaaa", "priority", "none", "labels", "none"],
        "\
M .nonlinear/issues/NL-aaaa.md
-priority: 3
-labels:
-  - bug  # seen in prod
-  - 'chore'
+priority: 0
",
    );
    refused(&["set", "NL-aaaa", "title", "none"], "needs a title");
}

#[test]
fn set_estimate() {
    edit(
        &["set", "NL-aaaa", "estimate", "0.5"],
        "\
M .nonlinear/issues/NL-aaaa.md
-estimate: 2
+estimate: 0.5
",
    );
}

#[test]
fn set_parent_writes_the_targets_short_id() {
    edit(
        &["set", "NL-aaaa", "parent", "billing"],
        "\
M .nonlinear/issues/NL-aaaa.md
-parent: AUTH
+parent: BILLING
",
    );
}

#[test]
fn set_parent_refuses_a_cycle() {
    refused(&["set", "NL-bbbb", "parent", "NL-dddd"], "cycle");
}

#[test]
fn set_cycle_keeps_single_quotes() {
    edit(
        &["set", "NL-aaaa", "cycle", "2026-W49"],
        "\
M .nonlinear/issues/NL-aaaa.md
-cycle: '2026-w48'
+cycle: '2026-w49'
",
    );
}

#[test]
fn set_due() {
    edit(
        &["set", "NL-aaaa", "due", "2027-01-15"],
        "\
M .nonlinear/issues/NL-aaaa.md
-due: 2026-12-01
+due: 2027-01-15
",
    );
}

#[test]
fn set_due_refuses_a_bad_date() {
    refused(&["set", "NL-aaaa", "due", "2027-13-01"], "dates look like");
}

#[test]
fn set_title_keeps_single_quotes_and_comment() {
    edit(
        &["set", "NL-aaaa", "title", "Fix login redirect: loop"],
        "\
M .nonlinear/issues/NL-aaaa.md
-title: 'Fix login redirect'  # shown in lists
+title: 'Fix login redirect: loop'  # shown in lists
",
    );
}

#[test]
fn set_several_fields_in_one_edit_prints_json_changes() {
    let (_, run) = edit(
        &[
            "set", "NL-aaaa", "status", "done", "priority", "urgent", "estimate", "none", "--json",
        ],
        "\
M .nonlinear/issues/NL-aaaa.md
-status: 'todo'  # workflow key
-priority: 3
+status: 'done'  # workflow key
+priority: 1
-estimate: 2
",
    );
    assert_eq!(
        run.json(),
        serde_json::json!({
            "id": ws::A_ID,
            "short_id": "NL-aaaa",
            "path": ws::A,
            "changes": [
                {"field": "status", "before": "todo", "after": "done"},
                {"field": "priority", "before": 3, "after": 1},
                {"field": "estimate", "before": 2.0, "after": null},
            ],
        })
    );
}

#[test]
fn set_component_owner_in_a_component_md() {
    edit(
        &["set", "AUTH", "owner", "bob"],
        "\
M services/auth/COMPONENT.md
-owner: ana
+owner: bob
",
    );
}

#[test]
fn set_odd_number_of_arguments_is_a_usage_error() {
    let repo = ws::repo();
    let run = repo
        .nl(&["set", "NL-aaaa", "status", "done", "priority"])
        .code(2);
    assert!(run.stderr.contains("FIELD VALUE pairs"), "{run}");
    assert_eq!(repo.changes(), "");
}

#[test]
fn set_unknown_item_is_refused() {
    refused(&["set", "NL-zzzz", "status", "done"], "no item NL-zzzz");
}

// ---- link / unlink -------------------------------------------------------

#[test]
fn link_blocks_appends_to_a_flow_list() {
    let (_, run) = edit(
        &["link", "NL-aaaa", "blocks", "nl-cccc"],
        "\
M .nonlinear/issues/NL-aaaa.md
-blocks: [NL-bbbb]
+blocks: [NL-bbbb, NL-cccc]
",
    );
    assert_eq!(run.stdout, "linked NL-aaaa blocks NL-cccc\n");
}

#[test]
fn link_relates_to_keeps_the_quoted_element() {
    edit(
        &["link", "NL-aaaa", "relates-to", "NL-dddd"],
        "\
M .nonlinear/issues/NL-aaaa.md
-relates_to: ['NL-cccc']
+relates_to: ['NL-cccc', NL-dddd]
",
    );
}

#[test]
fn link_duplicates_adds_the_field() {
    edit(
        &["link", "NL-aaaa", "duplicates", "NL-eeee"],
        "\
M .nonlinear/issues/NL-aaaa.md
+duplicates: [NL-eeee]
",
    );
}

#[test]
fn link_blocked_by_writes_the_other_file() {
    let (_, run) = edit(
        &["link", "NL-dddd", "blocked_by", "NL-cccc", "--json"],
        "\
M .nonlinear/issues/NL-cccc.md
+blocks: [NL-dddd]
",
    );
    assert_eq!(
        run.json(),
        serde_json::json!({
            "changed": true, "action": "created", "source": "NL-cccc", "link": "blocks",
            "edge": "BLOCKS", "layer": 2, "target": "NL-dddd", "path": ws::C,
        })
    );
}

#[test]
fn link_blocked_by_adds_to_the_blockers_block_list() {
    edit(
        &["link", "NL-eeee", "blocked-by", "NL-bbbb"],
        "\
M .nonlinear/issues/NL-bbbb.md
+  - NL-eeee
",
    );
}

#[test]
fn link_component_and_artifact_links() {
    edit(
        &["link", "AUTH", "calls_api", "BILLING"],
        "\
M services/auth/COMPONENT.md
+calls_api: [BILLING]
",
    );
    edit(
        &["link", "NL-art1", "attached_to", "NL-aaaa"],
        "\
M .nonlinear/artifacts/NL-art1.md
-attached_to: [NL-bbbb, AUTH]
+attached_to: [NL-bbbb, AUTH, NL-aaaa]
",
    );
}

#[test]
fn link_that_exists_changes_nothing() {
    let run = unchanged(&["link", "NL-aaaa", "blocks", "NL-BBBB"]);
    assert!(run.stdout.contains("already linked"), "{run}");
    let run = unchanged(&["link", "NL-bbbb", "blocked_by", "NL-aaaa", "--json"]);
    assert_eq!(run.json(), serde_json::json!({"changed": false}));
}

#[test]
fn link_refuses_a_blocks_cycle() {
    refused(&["link", "NL-dddd", "blocks", "NL-aaaa"], "cycle");
    refused(&["link", "NL-bbbb", "blocked_by", "NL-dddd"], "cycle");
}

#[test]
fn link_refuses_parent_self_and_wrong_kinds() {
    refused(&["link", "NL-dddd", "parent", "NL-aaaa"], "set ID parent X");
    refused(&["link", "NL-aaaa", "blocks", "NL-aaaa"], "itself");
    refused(&["link", "NL-aaaa", "blocks", "AUTH"], "AUTH a component");
    refused(&["link", "NL-aaaa", "blocks", "NL-nope"], "no item NL-nope");
}

#[test]
fn unlink_last_element_removes_the_field() {
    let (_, run) = edit(
        &["unlink", "NL-aaaa", "blocks", "NL-bbbb"],
        "\
M .nonlinear/issues/NL-aaaa.md
-blocks: [NL-bbbb]
",
    );
    assert_eq!(run.stdout, "unlinked NL-aaaa blocks NL-bbbb\n");
}

#[test]
fn unlink_blocked_by_writes_the_other_file() {
    edit(
        &["unlink", "NL-bbbb", "blocked_by", "NL-aaaa"],
        "\
M .nonlinear/issues/NL-aaaa.md
-blocks: [NL-bbbb]
",
    );
}

#[test]
fn unlink_finds_references_in_any_case_and_by_uuid() {
    edit(
        &["unlink", "NL-cccc", "relates_to", "NL-bbbb"],
        "\
M .nonlinear/issues/NL-cccc.md
-  - 'nl-BBBB'   # written in another case
",
    );
    edit(
        &["unlink", "NL-cccc", "relates_to", "NL-eeee"],
        "\
M .nonlinear/issues/NL-cccc.md
-  - 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a05
",
    );
    edit(
        &["unlink", "NL-eeee", "relates_to", "NL-bbbb"],
        "\
M .nonlinear/issues/NL-eeee.md
-relates_to: [0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a02]  # NL-bbbb by UUID
",
    );
}

#[test]
fn unlink_duplicates_and_absent_links() {
    let repo = ws::repo();
    repo.nl(&["link", "NL-aaaa", "duplicates", "NL-eeee"])
        .code(0);
    repo.settle();
    repo.nl(&["unlink", "NL-aaaa", "duplicates", "NL-eeee"])
        .code(0);
    assert_eq!(
        repo.changes(),
        "\
M .nonlinear/issues/NL-aaaa.md
-duplicates: [NL-eeee]
"
    );
    let run = unchanged(&["unlink", "NL-aaaa", "blocks", "NL-dddd"]);
    assert!(run.stdout.contains("not linked"), "{run}");
}

// ---- comment / react -----------------------------------------------------

#[test]
fn comment_adds_exactly_one_file_under_the_items_uuid() {
    let repo = ws::repo();
    let run = repo
        .nl(&[
            "--as",
            "ana",
            "comment",
            "NL-aaaa",
            "Reproduced on **staging**.",
        ])
        .code(0);
    let (id, path) = run
        .stdout
        .trim_end()
        .split_once('\t')
        .expect("`<id>\\t<path>`");
    assert_eq!(path, format!(".nonlinear/comments/{}/{id}.md", ws::A_ID));
    assert_eq!(repo.changes(), format!("A {path}\n"));
    let text = repo.read(path);
    assert!(
        text.starts_with(&format!("---\nid: {id}\nauthor: ana\ncreated_at: 20")),
        "{text}"
    );
    assert!(
        text.ends_with("---\n\nReproduced on **staging**.\n"),
        "{text}"
    );
    sound(&repo);

    // A reply, with the author found through git's user.email.
    repo.settle();
    repo.git(&["config", "user.email", "ANA@example.com"]);
    let run = repo
        .nl(&[
            "comment",
            "NL-aaaa",
            "--reply-to",
            ws::C1_ID,
            "--json",
            "Agreed.",
        ])
        .code(0);
    let v = run.json();
    let path = v["path"].as_str().expect("a path");
    assert_eq!(v["on"], ws::A_ID);
    assert_eq!(repo.changes(), format!("A {path}\n"));
    let text = repo.read(path);
    assert!(text.contains("\nauthor: ana\n"), "{text}");
    assert!(
        text.contains(&format!("\nreply_to: {}\n", ws::C1_ID)),
        "{text}"
    );
    sound(&repo);
}

#[test]
fn comment_reads_stdin() {
    use std::io::Write as _;
    let repo = ws::repo();
    let mut child = crate::support::isolate(
        std::process::Command::new(crate::support::BIN)
            .args(["--as", "bob", "comment", "AUTH", "-"])
            .current_dir(repo.root())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    )
    .spawn()
    .expect("spawn");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(b"From stdin.\n")
        .expect("write stdin");
    let run = Run::from_output(&["comment"], child.wait_with_output().expect("wait")).code(0);
    let path = run.stdout.trim_end().split('\t').nth(1).expect("a path");
    assert!(repo.read(path).ends_with("\n\nFrom stdin.\n"));
    assert_eq!(repo.changes(), format!("A {path}\n"));
}

#[test]
fn comment_is_refused_without_an_actor_or_on_an_artifact() {
    refused(&["comment", "NL-aaaa", "hi"], "who is commenting?");
    refused(
        &["--as", "zed", "comment", "NL-aaaa", "hi"],
        "`zed` is not in",
    );
    refused(
        &["--as", "ana", "comment", "NL-art1", "hi"],
        "comments go on components and issues",
    );
    refused(&["--as", "ana", "comment", "NL-aaaa", "  "], "empty");
}

#[test]
fn react_changes_one_line_of_the_comment() {
    let repo = ws::repo();
    repo.nl(&["--as", "ana", "react", ws::C1_ID, "+1"]).code(0);
    assert_eq!(
        repo.changes(),
        format!(
            "\
M {}
-reactions: {{\"+1\": [bob]}}
+reactions: {{\"+1\": [bob, ana]}}
",
            ws::C1
        )
    );
    sound(&repo);
    repo.settle();

    let run = repo
        .nl(&["--as", "ana", "--json", "react", ws::C1_ID, "rocket"])
        .code(0);
    assert_eq!(
        run.json(),
        serde_json::json!({"comment": ws::C1_ID, "reactions": {"+1": ["bob", "ana"], "rocket": ["ana"]}})
    );
    assert_eq!(
        repo.changes(),
        format!(
            "\
M {}
-reactions: {{\"+1\": [bob, ana]}}
+reactions: {{\"+1\": [bob, ana], rocket: [ana]}}
",
            ws::C1
        )
    );
    sound(&repo);
    repo.settle();

    // Reacting again changes nothing.
    repo.nl(&["--as", "ana", "react", ws::C1_ID, "rocket"])
        .code(0);
    assert_eq!(repo.changes(), "");

    // Taking every reaction back removes the field's line.
    for (who, emoji) in [("ana", "rocket"), ("ana", "+1"), ("bob", "+1")] {
        repo.nl(&["--as", who, "react", ws::C1_ID, emoji, "--remove"])
            .code(0);
    }
    assert_eq!(
        repo.changes(),
        format!(
            "\
M {}
-reactions: {{\"+1\": [bob, ana], rocket: [ana]}}
",
            ws::C1
        )
    );
    sound(&repo);
}

#[test]
fn react_refuses_unknown_comment_and_bad_emoji() {
    refused(
        &[
            "--as",
            "ana",
            "react",
            "0193a6f1-0000-7000-8000-00000000dead",
            "+1",
        ],
        "no comment",
    );
    refused(
        &["--as", "ana", "react", ws::C1_ID, "two words"],
        "one word",
    );
    refused(&["react", ws::C1_ID, "+1"], "who is reacting?");
}

// ---- new -----------------------------------------------------------------

/// The one added file, from a `changes` digest.
#[track_caller]
fn one_added(changes: &str) -> String {
    let lines: Vec<&str> = changes.lines().collect();
    assert_eq!(lines.len(), 1, "expected exactly one new file:\n{changes}");
    lines[0]
        .strip_prefix("A ")
        .unwrap_or_else(|| panic!("expected an added file:\n{changes}"))
        .to_owned()
}

#[test]
fn new_issue_adds_exactly_one_file() {
    let repo = ws::repo();
    let run = repo
        .nl(&[
            "--as",
            "ana",
            "new",
            "issue",
            "Fix logout: redirect",
            "--label",
            "BUG,chore",
            "--parent",
            "auth",
            "--priority",
            "high",
            "--assignee",
            "@me",
            "--cycle",
            "2026-w49",
            "--estimate",
            "3",
            "--due",
            "2026-12-24",
            "--body",
            "Steps:\n\n1. log out",
        ])
        .code(0);
    let path = one_added(&repo.changes());
    let (short, printed) = run.stdout.trim_end().split_once('\t').expect("id\tpath");
    assert_eq!(printed, path);
    assert_eq!(path, format!(".nonlinear/issues/{short}.md"));
    assert!(short.starts_with("NL-") && short.len() == 7, "{short}");
    let text = repo.read(&path);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "---");
    assert!(lines[1].starts_with("id: "), "{text}");
    assert_eq!(lines[2], format!("short_id: {short}"));
    assert_eq!(
        &lines[3..9],
        [
            "title: \"Fix logout: redirect\"",
            "status: todo",
            "priority: 2",
            "labels: [bug, chore]",
            "assignee: ana",
            "created_by: ana",
        ]
    );
    assert!(lines[9].starts_with("created_at: 20") && lines[9].ends_with('Z'));
    assert_eq!(
        &lines[10..],
        [
            "cycle: 2026-w49",
            "estimate: 3",
            "due: 2026-12-24",
            "parent: AUTH",
            "---",
            "",
            "Steps:",
            "",
            "1. log out",
        ]
    );
    sound(&repo);
}

#[test]
fn new_issue_without_an_actor_has_no_created_by() {
    let repo = ws::repo();
    let run = repo.nl(&["new", "issue", "Anonymous", "--json"]).code(0);
    let v = run.json();
    let path = v["path"].as_str().expect("a path");
    assert_eq!(one_added(&repo.changes()), path);
    let text = repo.read(path);
    assert!(!text.contains("created_by"), "{text}");
    assert!(text.contains("\nstatus: todo\n"), "{text}");
    refused(&["--as", "zed", "new", "issue", "x"], "acting member `zed`");
}

#[test]
fn new_component_next_to_its_code_or_in_nonlinear() {
    let repo = ws::repo();
    repo.write("services/pay/main.go", "package pay\n");
    repo.settle();
    let run = repo
        .nl(&[
            "new",
            "component",
            "Payments",
            "--path",
            "./services/pay/",
            "--parent",
            "BILLING",
            "--owner",
            "bob",
        ])
        .code(0);
    assert_eq!(run.stdout, "PAYMENTS\tservices/pay/COMPONENT.md\n");
    assert_eq!(one_added(&repo.changes()), "services/pay/COMPONENT.md");
    sound(&repo);
    repo.settle();

    let run = repo
        .nl(&[
            "new",
            "component",
            "Search v2",
            "--path",
            "services/search",
            "--json",
        ])
        .code(0);
    assert_eq!(run.json()["short_id"], "SEARCH-V2");
    assert_eq!(
        one_added(&repo.changes()),
        ".nonlinear/components/SEARCH-V2.md"
    );
    assert!(
        repo.read(".nonlinear/components/SEARCH-V2.md")
            .contains("\nrepo: {path: services/search}\n")
    );
    sound(&repo);
    repo.settle();

    refused(&["new", "component", "Auth"], "AUTH is already used");
}

#[test]
fn new_artifact_adds_exactly_one_file() {
    let repo = ws::repo();
    repo.write("docs/design.md", "# Design\n");
    repo.settle();
    let run = repo
        .nl(&[
            "new",
            "artifact",
            "Design doc",
            "--kind",
            "file",
            "--file",
            "docs/design.md",
            "--on",
            "NL-aaaa",
            "--on",
            "auth",
        ])
        .code(0);
    let path = one_added(&repo.changes());
    assert!(run.stdout.ends_with(&format!("\t{path}\n")), "{run}");
    let text = repo.read(&path);
    for line in [
        "\nkind: file\n",
        "\nfile: docs/design.md\n",
        "\nmime_type: text/markdown\n",
        "\nsize: 9\n",
        "\nattached_to: [NL-aaaa, AUTH]\n",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
    sound(&repo);
    repo.settle();

    let run = repo
        .nl(&[
            "new",
            "artifact",
            "Board",
            "--url",
            "https://example.com/b",
            "--on",
            "NL-bbbb",
            "--json",
        ])
        .code(0);
    assert_eq!(one_added(&repo.changes()), run.json()["path"]);
    sound(&repo);

    refused(&["new", "artifact", "X", "--on", "NL-aaaa"], "needs --url");
    refused(
        &[
            "new",
            "artifact",
            "X",
            "--url",
            "https://x",
            "--on",
            "NL-art1",
        ],
        "artifacts attach to components and issues",
    );
}

// ---- mv ------------------------------------------------------------------

#[test]
fn mv_renames_the_file_and_rewrites_each_reference_in_place() {
    let (repo, run) = edit(
        &["mv", "nl-bbbb", "NL-zzzz"],
        "\
M .nonlinear/artifacts/NL-art1.md
-attached_to: [NL-bbbb, AUTH]
+attached_to: [NL-zzzz, AUTH]
M .nonlinear/issues/NL-aaaa.md
-blocks: [NL-bbbb]
+blocks: [NL-zzzz]
M .nonlinear/issues/NL-cccc.md
-  - 'nl-BBBB'   # written in another case
+  - 'NL-zzzz'   # written in another case
M .nonlinear/issues/NL-dddd.md
-parent: NL-bbbb
+parent: NL-zzzz
R .nonlinear/issues/NL-bbbb.md -> .nonlinear/issues/NL-zzzz.md
-short_id: NL-bbbb
+short_id: NL-zzzz
",
    );
    assert_eq!(
        run.stdout,
        "renamed NL-bbbb → NL-zzzz (.nonlinear/issues/NL-zzzz.md); 5 files updated\n"
    );
    assert_eq!(
        repo.numstat(),
        "\
1\t1\t.nonlinear/artifacts/NL-art1.md
1\t1\t.nonlinear/issues/NL-aaaa.md
1\t1\t.nonlinear/issues/NL-cccc.md
1\t1\t.nonlinear/issues/NL-dddd.md
1\t1\t.nonlinear/issues/{NL-bbbb.md => NL-zzzz.md}
"
    );
}

#[test]
fn mv_interrupted_can_be_run_again() {
    let repo = ws::repo();
    // As if an earlier `mv` stopped after rewriting NL-aaaa.
    repo.write(ws::A, ws::A_TEXT.replace("[NL-bbbb]", "[NL-zzzz]"));
    repo.settle();
    repo.nl(&["mv", "NL-bbbb", "NL-zzzz"]).code(0);
    let changes = repo.changes();
    assert!(!changes.contains("NL-aaaa"), "{changes}");
    assert!(
        changes.contains("R .nonlinear/issues/NL-bbbb.md -> .nonlinear/issues/NL-zzzz.md\n"),
        "{changes}"
    );
    assert_eq!(changes.lines().filter(|l| l.starts_with('+')).count(), 4);
    sound(&repo);
}

#[test]
fn mv_component_keeps_component_md_name() {
    let (_, run) = edit(
        &["mv", "AUTH", "IAM", "--json"],
        "\
M .nonlinear/artifacts/NL-art1.md
-attached_to: [NL-bbbb, AUTH]
+attached_to: [NL-bbbb, IAM]
M .nonlinear/components/BILLING.md
-depends_on: [AUTH]  # sessions for invoices
+depends_on: [IAM]  # sessions for invoices
M .nonlinear/issues/NL-aaaa.md
-parent: AUTH
+parent: IAM
M .nonlinear/issues/NL-bbbb.md
-parent: AUTH
+parent: IAM
M services/auth/COMPONENT.md
-short_id: AUTH
+short_id: IAM
",
    );
    let v = run.json();
    assert_eq!(v["from"], "AUTH");
    assert_eq!(v["to"], "IAM");
    assert_eq!(v["path"], ws::AUTH);
    assert_eq!(v["changed"].as_array().map(Vec::len), Some(5));
    assert_eq!(v["changed"][4], ws::AUTH, "the item is written last");
}

#[test]
fn mv_refuses_used_ids_and_lowercase_component_keys() {
    refused(&["mv", "NL-aaaa", "NL-BBBB"], "already used");
    refused(&["mv", "AUTH", "Auth2"], "uppercase");
    refused(&["mv", "NL-aaaa", "NL aaaa"], "not a valid short id");
}

// ---- rm ------------------------------------------------------------------

#[test]
fn rm_removes_the_file_and_each_reference_in_place() {
    let (_, run) = edit(
        &["rm", "nl-CCCC"],
        "\
M .nonlinear/issues/NL-aaaa.md
-relates_to: ['NL-cccc']
D .nonlinear/issues/NL-cccc.md
----
-id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a03
-short_id: NL-cccc
-title: \"Audit cookies\"
-status: backlog
-relates_to:
-  - 'nl-BBBB'   # written in another case
-  - 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a05
----
M .nonlinear/issues/NL-eeee.md
-blocks: [NL-cccc]
",
    );
    assert_eq!(
        run.stdout,
        "deleted NL-cccc (.nonlinear/issues/NL-cccc.md); references removed from 2 files, 0 comments deleted\n"
    );
}

#[test]
fn rm_removes_references_by_uuid_and_the_comments() {
    let (repo, run) = edit(
        &["delete", "NL-eeee", "--json"],
        "\
M .nonlinear/issues/NL-cccc.md
-  - 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a05
D .nonlinear/issues/NL-eeee.md
----
-id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a05
-short_id: NL-eeee
-title: Cookie flags
-status: done
-blocks: [NL-cccc]
-relates_to: [0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a02]  # NL-bbbb by UUID
----
",
    );
    let v = run.json();
    assert_eq!(v["short_id"], "NL-eeee");
    assert_eq!(v["path"], ws::E);
    assert_eq!(v["updated"], serde_json::json!([ws::C]));
    assert_eq!(v["deleted"], serde_json::json!([ws::E]));

    let run = repo.nl(&["rm", "NL-aaaa"]).code(0);
    assert_eq!(
        run.stdout,
        "deleted NL-aaaa (.nonlinear/issues/NL-aaaa.md); references removed from 0 files, 1 comment deleted\n"
    );
    let changes = repo.changes();
    assert!(changes.contains(&format!("D {}\n", ws::A)), "{changes}");
    assert!(changes.contains(&format!("D {}\n", ws::C1)), "{changes}");
    assert!(
        !repo.path(ws::C1).parent().expect("a thread").exists(),
        "the comment thread's directory is left behind"
    );
    sound(&repo);
}

#[test]
fn rm_refuses_items_with_children() {
    refused(
        &["rm", "NL-bbbb"],
        "NL-bbbb still has 1 child: NL-dddd; move or delete it first",
    );
    refused(
        &["rm", "AUTH"],
        "AUTH still has 2 children: NL-aaaa, NL-bbbb",
    );
    refused(&["rm", "NL-zzzz"], "no item NL-zzzz");
}
