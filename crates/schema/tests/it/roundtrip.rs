//! Format-preserving edits: every `edit::Op` on realistic files (comments,
//! odd key order, quoting styles, unknown fields, CRLF) must
//!
//! (a) produce a file that parses without errors to the intended value,
//! (b) change exactly the lines it has to (the snapshot header counts them),
//! (c) leave every other byte alone: the LCS line diff compares lines with
//!     their terminators, so any other change would show up in the snapshot.
//!
//! `check` also replays each edit on the CRLF version of the file and demands
//! the CRLF version of the same result.

use expect_test::{Expect, expect};
use nonlinear_schema::edit::{self, Op, Scalar};
use nonlinear_schema::parse::parse_item;
use nonlinear_schema::{Diagnostic, Item, Kind, Severity};

use crate::diff;

/// An issue as a person might leave it: comments everywhere, keys in no
/// particular order, every quoting style, fields this version does not know.
const ISSUE: &str = "\
---
# Edited by hand; keep this comment.
title: 'Refresh tokens: rotate on use'  # reworded in review
id: 0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a90
status: todo   # triaged
short_id: NL-k3x9
x-jira: {key: ACME-12, synced: true}
labels: [bug, backend]
assignee: \"ana\"
blocks:
  - NL-aaaa  # first
  - NL-bbbb

# Related work lives elsewhere.
relates_to: NL-cccc
priority: 2
---

Rotate the refresh token on every use.

- [ ] revoke the old one
";

const COMPONENT: &str = "\
---
id: 0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a91
short_id: AUTH
title: Auth service
repo:
  url: https://example.com/acme/app   # monorepo
  path: services/auth
depends_on:
- DB
- CACHE
owner: ana
---
Issues sessions.
";

/// Applies `ops` to `before` (a file of `kind`), checks the invariants above
/// and snapshots the line diff. Returns the edited item for value checks.
fn check(kind: Kind, before: &str, ops: &[Op], expect: Expect) -> Item {
    let after = edit::apply(before, ops).expect("edit applies");

    let crlf_before = before.replace('\n', "\r\n");
    let crlf_after = edit::apply(&crlf_before, ops).expect("edit applies to CRLF");
    assert_eq!(
        crlf_after,
        after.replace('\n', "\r\n"),
        "CRLF file edited differently"
    );

    let (old, old_diags) = parse_item("x.md", kind, before.as_bytes());
    let (new, new_diags) = parse_item("x.md", kind, after.as_bytes());
    let errors: Vec<&Diagnostic> = new_diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(
        errors.is_empty(),
        "edited file has errors: {errors:#?}\n{after}"
    );
    // Unknown fields are still there and still only warnings.
    let warnings = |ds: &[Diagnostic]| ds.iter().map(|d| d.fingerprint()).collect::<Vec<_>>();
    assert_eq!(warnings(&old_diags), warnings(&new_diags));
    let (old, new) = (old.unwrap(), new.unwrap());
    let extra = |i: &Item| {
        i.extra
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect::<Vec<_>>()
    };
    assert_eq!(extra(&old), extra(&new), "unknown fields changed");
    if !ops.iter().any(|op| matches!(op, Op::SetBody(_))) {
        assert_eq!(old.body, new.body, "body changed");
    }

    let lines = diff::diff(before, &after);
    let (del, ins) = diff::counts(&lines);
    expect.assert_eq(&format!("-{del} +{ins}\n{}", diff::render(&lines, 1)));
    new
}

fn set(key: &str, value: &str) -> Op {
    Op::Set {
        key: key.into(),
        value: Scalar::str(value),
    }
}

fn add(key: &str, value: &str) -> Op {
    Op::Add {
        key: key.into(),
        value: value.into(),
    }
}

fn remove(key: &str, value: &str) -> Op {
    Op::Remove {
        key: key.into(),
        value: value.into(),
    }
}

fn issue(item: &Item) -> &nonlinear_schema::model::Issue {
    item.issue().expect("an issue")
}

fn strings(list: &[nonlinear_schema::model::Spanned<String>]) -> Vec<&str> {
    list.iter().map(|s| s.value.as_str()).collect()
}

#[test]
fn set_plain_scalar_keeps_trailing_comment() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[set("status", "done")],
        expect![[r#"
            -1 +1
            @@ line 4 @@
             id: 0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a90
            -status: todo   # triaged
            +status: done   # triaged
             short_id: NL-k3x9
        "#]],
    );
    assert_eq!(issue(&item).status.as_ref().unwrap().value, "done");
}

#[test]
fn set_single_quoted_keeps_style() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[set("title", "It's done: mostly")],
        expect![[r#"
            -1 +1
            @@ line 2 @@
             # Edited by hand; keep this comment.
            -title: 'Refresh tokens: rotate on use'  # reworded in review
            +title: 'It''s done: mostly'  # reworded in review
             id: 0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a90
        "#]],
    );
    assert_eq!(item.title_str(), "It's done: mostly");
}

#[test]
fn set_double_quoted_keeps_style() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[set("assignee", "bo \"the builder\"")],
        expect![[r#"
            -1 +1
            @@ line 8 @@
             labels: [bug, backend]
            -assignee: "ana"
            +assignee: "bo \"the builder\""
             blocks:
        "#]],
    );
    assert_eq!(
        issue(&item).assignee.as_ref().unwrap().value,
        "bo \"the builder\""
    );
}

#[test]
fn set_plain_scalar_quotes_when_it_must() {
    // `status: a: b` would be a nested mapping and `2` a number.
    let item = check(
        Kind::Issue,
        ISSUE,
        &[
            set("status", "blocked: waiting"),
            Op::Set {
                key: "priority".into(),
                value: Scalar::raw("1"),
            },
        ],
        expect![[r#"
            -2 +2
            @@ line 4 @@
             id: 0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a90
            -status: todo   # triaged
            +status: "blocked: waiting"   # triaged
             short_id: NL-k3x9
            @@ line 15 @@
             relates_to: NL-cccc
            -priority: 2
            +priority: 1
             ---
        "#]],
    );
    let i = issue(&item);
    assert_eq!(i.status.as_ref().unwrap().value, "blocked: waiting");
    assert_eq!(i.priority.as_ref().unwrap().value, 1);
}

#[test]
fn set_new_key_appends_one_line() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[set("cycle", "2026-W48")],
        expect![[r#"
            -0 +1
            @@ line 16 @@
             priority: 2
            +cycle: 2026-W48
             ---
        "#]],
    );
    assert_eq!(issue(&item).cycle.as_ref().unwrap().value, "2026-W48");
}

#[test]
fn set_value_that_looks_like_a_number_is_quoted() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[set("cycle", "2026"), set("assignee", "null")],
        expect![[r#"
            -1 +2
            @@ line 8 @@
             labels: [bug, backend]
            -assignee: "ana"
            +assignee: "null"
             blocks:
            @@ line 16 @@
             priority: 2
            +cycle: "2026"
             ---
        "#]],
    );
    let i = issue(&item);
    assert_eq!(i.cycle.as_ref().unwrap().value, "2026");
    assert_eq!(i.assignee.as_ref().unwrap().value, "null");
}

#[test]
fn unset_removes_the_entry_only() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[Op::Unset {
            key: "priority".into(),
        }],
        expect![[r#"
            -1 +0
            @@ line 15 @@
             relates_to: NL-cccc
            -priority: 2
             ---
        "#]],
    );
    assert_eq!(issue(&item).priority, None);
}

#[test]
fn unset_block_list_takes_its_lines_not_the_next_comment() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[Op::Unset {
            key: "blocks".into(),
        }],
        expect![[r#"
            -3 +0
            @@ line 9 @@
             assignee: "ana"
            -blocks:
            -  - NL-aaaa  # first
            -  - NL-bbbb
             ⏎
        "#]],
    );
    assert!(issue(&item).blocks.is_empty());
    assert_eq!(strings(&issue(&item).relates_to), ["NL-cccc"]);
}

#[test]
fn unset_missing_key_changes_nothing() {
    check(
        Kind::Issue,
        ISSUE,
        &[Op::Unset { key: "due".into() }],
        expect![[r#"
            -0 +0
        "#]],
    );
}

#[test]
fn add_to_flow_list() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[add("labels", "ui"), add("labels", "needs, triage")],
        expect![[r#"
            -1 +1
            @@ line 7 @@
             x-jira: {key: ACME-12, synced: true}
            -labels: [bug, backend]
            +labels: [bug, backend, ui, "needs, triage"]
             assignee: "ana"
        "#]],
    );
    assert_eq!(
        strings(&issue(&item).labels),
        ["bug", "backend", "ui", "needs, triage"]
    );
}

#[test]
fn add_existing_is_a_no_op() {
    check(
        Kind::Issue,
        ISSUE,
        &[add("labels", "BUG"), add("blocks", "nl-AAAA")],
        expect![[r#"
            -0 +0
        "#]],
    );
}

#[test]
fn add_to_block_list() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[add("blocks", "NL-dddd")],
        expect![[r#"
            -0 +1
            @@ line 12 @@
               - NL-bbbb
            +  - NL-dddd
             ⏎
        "#]],
    );
    assert_eq!(
        strings(&issue(&item).blocks),
        ["NL-aaaa", "NL-bbbb", "NL-dddd"]
    );
}

#[test]
fn add_to_unindented_block_list() {
    let item = check(
        Kind::Component,
        COMPONENT,
        &[add("depends_on", "QUEUE")],
        expect![[r#"
            -0 +1
            @@ line 10 @@
             - CACHE
            +- QUEUE
             owner: ana
        "#]],
    );
    let c = item.component().unwrap();
    assert_eq!(strings(&c.depends_on), ["DB", "CACHE", "QUEUE"]);
}

#[test]
fn add_to_scalar_turns_it_into_a_list() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[add("relates_to", "NL-dddd")],
        expect![[r#"
            -1 +1
            @@ line 14 @@
             # Related work lives elsewhere.
            -relates_to: NL-cccc
            +relates_to: [NL-cccc, NL-dddd]
             priority: 2
        "#]],
    );
    assert_eq!(strings(&issue(&item).relates_to), ["NL-cccc", "NL-dddd"]);
}

#[test]
fn add_new_list_field() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[add("duplicates", "NL-eeee")],
        expect![[r#"
            -0 +1
            @@ line 16 @@
             priority: 2
            +duplicates: [NL-eeee]
             ---
        "#]],
    );
    assert_eq!(strings(&issue(&item).duplicates), ["NL-eeee"]);
}

#[test]
fn remove_from_flow_list() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[remove("labels", "bug")],
        expect![[r#"
            -1 +1
            @@ line 7 @@
             x-jira: {key: ACME-12, synced: true}
            -labels: [bug, backend]
            +labels: [backend]
             assignee: "ana"
        "#]],
    );
    assert_eq!(strings(&issue(&item).labels), ["backend"]);
}

#[test]
fn remove_from_block_list_takes_its_comment() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[remove("blocks", "nl-aaaa")],
        expect![[r#"
            -1 +0
            @@ line 10 @@
             blocks:
            -  - NL-aaaa  # first
               - NL-bbbb
        "#]],
    );
    assert_eq!(strings(&issue(&item).blocks), ["NL-bbbb"]);
}

#[test]
fn remove_last_item_removes_the_field() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[remove("labels", "bug"), remove("labels", "backend")],
        expect![[r#"
            -1 +0
            @@ line 7 @@
             x-jira: {key: ACME-12, synced: true}
            -labels: [bug, backend]
             assignee: "ana"
        "#]],
    );
    assert!(issue(&item).labels.is_empty());

    let item = check(
        Kind::Issue,
        ISSUE,
        &[remove("blocks", "NL-aaaa"), remove("blocks", "NL-bbbb")],
        expect![[r#"
            -3 +0
            @@ line 9 @@
             assignee: "ana"
            -blocks:
            -  - NL-aaaa  # first
            -  - NL-bbbb
             ⏎
        "#]],
    );
    assert!(issue(&item).blocks.is_empty());

    let item = check(
        Kind::Issue,
        ISSUE,
        &[remove("relates_to", "NL-CCCC")],
        expect![[r#"
            -1 +0
            @@ line 14 @@
             # Related work lives elsewhere.
            -relates_to: NL-cccc
             priority: 2
        "#]],
    );
    assert!(issue(&item).relates_to.is_empty());
}

#[test]
fn remove_missing_value_changes_nothing() {
    check(
        Kind::Issue,
        ISSUE,
        &[
            remove("labels", "ui"),
            remove("blocks", "NL-zzzz"),
            remove("due", "x"),
        ],
        expect![[r#"
            -0 +0
        "#]],
    );
}

#[test]
fn set_list_on_flow_list() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[Op::SetList {
            key: "labels".into(),
            values: vec!["backend".into(), "ui".into(), "needs: triage".into()],
        }],
        expect![[r#"
            -1 +1
            @@ line 7 @@
             x-jira: {key: ACME-12, synced: true}
            -labels: [bug, backend]
            +labels: [backend, ui, "needs: triage"]
             assignee: "ana"
        "#]],
    );
    assert_eq!(
        strings(&issue(&item).labels),
        ["backend", "ui", "needs: triage"]
    );
}

#[test]
fn set_list_on_block_list_changes_line_by_line() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[Op::SetList {
            key: "blocks".into(),
            values: vec!["NL-bbbb".into(), "NL-dddd".into()],
        }],
        expect![[r#"
            -1 +1
            @@ line 10 @@
             blocks:
            -  - NL-aaaa  # first
               - NL-bbbb
            +  - NL-dddd
             ⏎
        "#]],
    );
    assert_eq!(strings(&issue(&item).blocks), ["NL-bbbb", "NL-dddd"]);
}

#[test]
fn set_list_empty_removes_and_new_adds() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[
            Op::SetList {
                key: "labels".into(),
                values: vec![],
            },
            Op::SetList {
                key: "duplicates".into(),
                values: vec!["NL-eeee".into(), "NL-ffff".into()],
            },
        ],
        expect![[r#"
            -1 +1
            @@ line 7 @@
             x-jira: {key: ACME-12, synced: true}
            -labels: [bug, backend]
             assignee: "ana"
            @@ line 16 @@
             priority: 2
            +duplicates: [NL-eeee, NL-ffff]
             ---
        "#]],
    );
    assert!(issue(&item).labels.is_empty());
    assert_eq!(strings(&issue(&item).duplicates), ["NL-eeee", "NL-ffff"]);
}

#[test]
fn rename_in_scalar() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[Op::Rename {
            key: "relates_to".into(),
            from: "nl-CCCC".into(),
            to: "NL-zzzz".into(),
        }],
        expect![[r#"
            -1 +1
            @@ line 14 @@
             # Related work lives elsewhere.
            -relates_to: NL-cccc
            +relates_to: NL-zzzz
             priority: 2
        "#]],
    );
    assert_eq!(strings(&issue(&item).relates_to), ["NL-zzzz"]);
}

#[test]
fn rename_in_lists() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[
            Op::Rename {
                key: "blocks".into(),
                from: "NL-aaaa".into(),
                to: "NL-zzzz".into(),
            },
            Op::Rename {
                key: "labels".into(),
                from: "backend".into(),
                to: "api".into(),
            },
        ],
        expect![[r#"
            -2 +2
            @@ line 7 @@
             x-jira: {key: ACME-12, synced: true}
            -labels: [bug, backend]
            +labels: [bug, api]
             assignee: "ana"
             blocks:
            -  - NL-aaaa  # first
            +  - NL-zzzz  # first
               - NL-bbbb
        "#]],
    );
    assert_eq!(strings(&issue(&item).blocks), ["NL-zzzz", "NL-bbbb"]);
    assert_eq!(strings(&issue(&item).labels), ["bug", "api"]);
}

#[test]
fn rename_elsewhere_changes_nothing() {
    check(
        Kind::Issue,
        ISSUE,
        &[Op::Rename {
            key: "blocks".into(),
            from: "NL-cccc".into(),
            to: "NL-zzzz".into(),
        }],
        expect![[r#"
            -0 +0
        "#]],
    );
}

#[test]
fn set_body_keeps_front_matter() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[Op::SetBody(
            "New description.\n\nWith two paragraphs.".into(),
        )],
        expect![[r#"
            -2 +2
            @@ line 18 @@
             ⏎
            -Rotate the refresh token on every use.
            +New description.
             ⏎
            -- [ ] revoke the old one
            +With two paragraphs.
        "#]],
    );
    assert_eq!(item.body, "\nNew description.\n\nWith two paragraphs.\n");
}

#[test]
fn set_body_empty() {
    let item = check(
        Kind::Component,
        COMPONENT,
        &[Op::SetBody(String::new())],
        expect![[r#"
            -1 +0
            @@ line 12 @@
             ---
            -Issues sessions.
        "#]],
    );
    assert_eq!(item.body, "");
}

#[test]
fn nested_mapping_and_component_fields() {
    let item = check(
        Kind::Component,
        COMPONENT,
        &[set("owner", "bo"), remove("depends_on", "DB")],
        expect![[r#"
            -2 +1
            @@ line 8 @@
             depends_on:
            -- DB
             - CACHE
            -owner: ana
            +owner: bo
             ---
        "#]],
    );
    let c = item.component().unwrap();
    assert_eq!(c.owner.as_ref().unwrap().value, "bo");
    assert_eq!(strings(&c.depends_on), ["CACHE"]);
    assert_eq!(c.repo.path.as_ref().unwrap().value, "services/auth");
}

#[test]
fn set_empty_value() {
    let before = "---\nid: 0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a90\nshort_id: NL-k3x9\ntitle: T\nstatus: todo\nassignee:\ncycle: ~ # none yet\n---\n";
    let item = check(
        Kind::Issue,
        before,
        &[set("assignee", "ana"), set("cycle", "2026-W48")],
        expect![[r#"
            -2 +2
            @@ line 5 @@
             status: todo
            -assignee:
            -cycle: ~ # none yet
            +assignee: ana
            +cycle: 2026-W48 # none yet
             ---
        "#]],
    );
    let i = issue(&item);
    assert_eq!(i.assignee.as_ref().unwrap().value, "ana");
    assert_eq!(i.cycle.as_ref().unwrap().value, "2026-W48");
}

#[test]
fn set_multi_line_value_rewrites_the_entry() {
    let before = "---\nid: 0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a90\nshort_id: NL-k3x9\ntitle: >-\n  A title folded\n  over two lines\n# about status\nstatus: todo\n---\n";
    let item = check(
        Kind::Issue,
        before,
        &[set("title", "Short")],
        expect![[r#"
            -3 +1
            @@ line 3 @@
             short_id: NL-k3x9
            -title: >-
            -  A title folded
            -  over two lines
            +title: Short
             # about status
        "#]],
    );
    assert_eq!(item.title_str(), "Short");
}

// Regressions found by `props::edits_round_trip`: each of these edits used to
// write a file that no longer parsed, or parsed to other values.

#[test]
fn byte_order_mark_in_a_value_is_quoted() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[add("labels", "\u{feff}x"), set("cycle", "w\u{feff}1")],
        expect![[r#"
            -1 +2
            @@ line 7 @@
             x-jira: {key: ACME-12, synced: true}
            -labels: [bug, backend]
            +labels: [bug, backend, "<U+FEFF>x"]
             assignee: "ana"
            @@ line 16 @@
             priority: 2
            +cycle: "w<U+FEFF>1"
             ---
        "#]],
    );
    assert_eq!(
        strings(&issue(&item).labels),
        ["bug", "backend", "\u{feff}x"]
    );
    assert_eq!(issue(&item).cycle.as_ref().unwrap().value, "w\u{feff}1");
}

#[test]
fn flow_item_ending_in_a_dash_is_quoted() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[add("labels", "to do -")],
        expect![[r#"
            -1 +1
            @@ line 7 @@
             x-jira: {key: ACME-12, synced: true}
            -labels: [bug, backend]
            +labels: [bug, backend, "to do -"]
             assignee: "ana"
        "#]],
    );
    assert_eq!(strings(&issue(&item).labels), ["bug", "backend", "to do -"]);
}

#[test]
fn add_steps_over_quotes_inside_flow_items() {
    // A `"` inside a plain item opens nothing; `\\` before a closing `"`
    // does not escape it; `''` does not close a single-quoted item.
    let before = "---\nid: 0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a90\nshort_id: NL-k3x9\ntitle: T\nstatus: todo\nlabels: [a\"b, \"c: \\\\\", 'it''s ]', \"]\"]\n---\n";
    let item = check(
        Kind::Issue,
        before,
        &[add("labels", "new")],
        expect![[r#"
            -1 +1
            @@ line 5 @@
             status: todo
            -labels: [a"b, "c: \\", 'it''s ]', "]"]
            +labels: [a"b, "c: \\", 'it''s ]', "]", new]
             ---
        "#]],
    );
    assert_eq!(
        strings(&issue(&item).labels),
        ["a\"b", "c: \\", "it's ]", "]", "new"]
    );
}

#[test]
fn rename_in_flow_list_quotes_for_the_list() {
    let item = check(
        Kind::Issue,
        ISSUE,
        &[Op::Rename {
            key: "labels".into(),
            from: "bug".into(),
            to: "bug, really".into(),
        }],
        expect![[r#"
            -1 +1
            @@ line 7 @@
             x-jira: {key: ACME-12, synced: true}
            -labels: [bug, backend]
            +labels: ["bug, really", backend]
             assignee: "ana"
        "#]],
    );
    assert_eq!(strings(&issue(&item).labels), ["bug, really", "backend"]);
}

#[test]
fn edits_keep_a_byte_order_mark() {
    let before = "\u{feff}---\nid: 0193a6f0-0000-7000-8000-000000000000\nstatus: todo\n---\nbody\n";
    let after = edit::apply(
        before,
        &[Op::Set {
            key: "status".into(),
            value: Scalar::Str("done".into()),
        }],
    )
    .expect("edits");
    assert_eq!(
        after,
        "\u{feff}---\nid: 0193a6f0-0000-7000-8000-000000000000\nstatus: done\n---\nbody\n"
    );
}
