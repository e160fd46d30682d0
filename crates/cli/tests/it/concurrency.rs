//! Two writers never silently lose an update. Every edit is computed from
//! the file as read under the workspace write lock and written only if the
//! file still holds those bytes; the write itself is a rename of a
//! temporary file. Many processes editing one issue at once must therefore
//! each either succeed, with their change visible at the end, or fail with
//! exit code 1 and a conflict message. The lock may well serialize them all
//! into successes: the tests assert that invariant, not a count.

use std::process::Command;
use std::sync::Barrier;

use serde_json::Value;

use crate::support::{BIN, Repo, Run, isolate};

const WRITERS: usize = 16;

/// A workspace with labels `l0`…`l15` and two issues.
fn repo() -> Repo {
    let labels: String = (0..WRITERS)
        .map(|i| format!("  - {{name: l{i}}}\n"))
        .collect();
    Repo::with_files(&[
        (
            ".nonlinear/config.yaml",
            &format!(
                "\
version: 1
key: NL
statuses:
  - {{key: todo, category: unstarted}}
  - {{key: done, category: completed}}
labels:
  - {{name: bug}}
{labels}members:
  - {{handle: ana}}
cycles:
  - {{key: c1}}
"
            ),
        ),
        (".nonlinear/.gitignore", "cache/\n"),
        (
            ".nonlinear/issues/NL-aaaa.md",
            "\
---
# Many writers edit this file at once.
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7d01
short_id: NL-aaaa
title: 'Contended'
status: todo  # starts here
labels: [bug]
x-keep: {this: [untouched]}
---

Body stays.
",
        ),
        (
            ".nonlinear/issues/NL-bbbb.md",
            "\
---
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7d02
short_id: NL-bbbb
title: Other
status: todo
---
",
        ),
    ])
}

/// Runs every command at once (released together by a barrier) and returns
/// each one's result, in the order given.
fn run_all(repo: &Repo, commands: &[Vec<String>]) -> Vec<Run> {
    let barrier = Barrier::new(commands.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = commands
            .iter()
            .map(|args| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut cmd = Command::new(BIN);
                    isolate(cmd.args(args).current_dir(repo.root()));
                    barrier.wait();
                    let out = cmd.output().expect("nonlinear runs");
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    Run::from_output(&args, out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic in the runner thread"))
            .collect()
    })
}

/// Exit 0, or exit 1 with the store's conflict message; anything else
/// (a lost file, a half-written file, a crash) fails the test. Returns
/// whether the command succeeded.
#[track_caller]
fn succeeded_or_conflicted(run: &Run) -> bool {
    match run.code {
        0 => true,
        1 if run
            .stderr
            .contains("changed on disk while it was being edited") =>
        {
            false
        }
        _ => panic!("neither success nor a conflict:\n{run}"),
    }
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

#[test]
fn concurrent_label_adds_are_never_lost() {
    let repo = repo();
    let labels: Vec<String> = (0..WRITERS).map(|i| format!("l{i}")).collect();
    let commands: Vec<Vec<String>> = labels
        .iter()
        .map(|l| args(&["set", "NL-aaaa", "labels", &format!("+{l}")]))
        .collect();
    let runs = run_all(&repo, &commands);

    let show = repo.nl(&["show", "NL-aaaa", "--json"]).code(0).json();
    let present: Vec<&str> = show["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|l| l.as_str().expect("a label"))
        .collect();
    let mut successes = 0;
    for (label, run) in labels.iter().zip(&runs) {
        if succeeded_or_conflicted(run) {
            successes += 1;
            assert!(
                present.contains(&label.as_str()),
                "`+{label}` succeeded but the file has {present:?}:\n{run}"
            );
        }
    }
    assert!(successes > 0, "every writer conflicted");
    assert_eq!(present[0], "bug", "the existing label stays first");

    // The file parses, changed on one line only, and no temporary file is
    // left behind.
    repo.nl(&["check"]).code(0);
    repo.assert_no_temp_files();
    let changes = repo.changes();
    let lines: Vec<&str> = changes.lines().collect();
    assert_eq!(lines.len(), 3, "{changes}");
    assert_eq!(lines[0], "M .nonlinear/issues/NL-aaaa.md");
    assert_eq!(lines[1], "-labels: [bug]");
    assert!(lines[2].starts_with("+labels: [bug, l"), "{changes}");
}

#[test]
fn concurrent_edits_of_different_fields_are_never_lost() {
    let repo = repo();
    let mut commands = vec![
        args(&["set", "NL-aaaa", "status", "done"]),
        args(&["set", "NL-aaaa", "priority", "urgent"]),
        args(&["set", "NL-aaaa", "estimate", "3"]),
        args(&["set", "NL-aaaa", "due", "2027-01-01"]),
        args(&["set", "NL-aaaa", "cycle", "c1"]),
        args(&["set", "NL-aaaa", "assignee", "ana"]),
        args(&["set", "NL-aaaa", "title", "Still contended"]),
        args(&["link", "NL-aaaa", "relates_to", "NL-bbbb"]),
        args(&["link", "NL-bbbb", "blocked_by", "NL-aaaa"]),
        args(&["set", "NL-aaaa", "labels", "+l1"]),
        args(&["set", "NL-aaaa", "--", "labels", "-bug"]),
    ];
    for i in 0..5 {
        commands.push(args(&[
            "--as",
            "ana",
            "comment",
            "NL-aaaa",
            &format!("comment {i}"),
        ]));
    }
    let runs = run_all(&repo, &commands);
    let ok: Vec<bool> = runs.iter().map(succeeded_or_conflicted).collect();

    let v = repo.nl(&["show", "NL-aaaa", "--json"]).code(0).json();
    let expect = |i: usize, field: &str, want: Value| {
        if ok[i] {
            assert_eq!(v[field], want, "{:?} succeeded:\n{v:#}", commands[i]);
        }
    };
    expect(0, "status", "done".into());
    expect(1, "priority", 1.into());
    expect(2, "estimate", 3.0.into());
    expect(3, "due", "2027-01-01".into());
    expect(4, "cycle", "c1".into());
    expect(5, "assignee", "ana".into());
    expect(6, "title", "Still contended".into());
    expect(7, "relates_to", serde_json::json!(["NL-bbbb"]));
    expect(8, "blocks", serde_json::json!(["NL-bbbb"]));
    let labels = &v["labels"];
    if ok[9] {
        assert!(
            labels.as_array().expect("labels").contains(&"l1".into()),
            "{labels}"
        );
    }
    if ok[10] {
        assert!(
            !labels.as_array().expect("labels").contains(&"bug".into()),
            "{labels}"
        );
    }
    let comments: Vec<&str> = v["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .map(|c| c["description"].as_str().expect("a body").trim_end())
        .collect();
    for i in 0..5 {
        if ok[11 + i] {
            assert!(
                comments.contains(&format!("comment {i}").as_str()),
                "{comments:?}"
            );
        }
    }

    repo.nl(&["check"]).code(0);
    repo.assert_no_temp_files();
    let text = repo.read(".nonlinear/issues/NL-aaaa.md");
    assert!(
        text.starts_with("---\n# Many writers edit this file at once.\n"),
        "{text}"
    );
    assert!(text.contains("\nx-keep: {this: [untouched]}\n"), "{text}");
    assert!(text.ends_with("---\n\nBody stays.\n"), "{text}");
}
