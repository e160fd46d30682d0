//! `write`: every operation on a temporary workspace, checked by the text
//! it leaves (only the lines it must change differ), plus its refusals,
//! each of which must leave every file as it was.
//!
//! The workspace (files written the way people leave them: comments, odd
//! quoting, block and flow lists, a body):
//!
//! ```text
//! AUTH
//!  ├── NL-aaaa todo, bug+chore, blocks NL-bbbb, relates_to NL-cccc
//!  └── NL-bbbb in_progress, blocks NL-dddd, duplicates NL-cccc (by UUID)
//!        └── NL-dddd
//! NL-cccc  relates_to NL-bbbb; comments C1 (bob) and C2 (ana, reply)
//! NL-art1  attached_to NL-cccc, AUTH
//! ```

use nonlinear_indexer::write::{
    self, FileAction, NewArtifact, NewComponent, NewIssue, NewItem, Touched, WriteError, Writer,
};
use schema::model::{ArtifactKind, LinkField};
use serde_json::json;

use crate::support::TempWs;

const CONFIG: &str = "\
version: 1
key: NL
name: Write
statuses:
  - {key: todo, name: Todo, category: unstarted}
  - {key: in_progress, name: In Progress, category: started}
  - {key: done, name: Done, category: completed}
labels:
  - {name: bug}
  - {name: chore}
members:
  - {handle: ana, name: Ana}
  - {handle: bob, name: Bob}
cycles:
  - {key: w48, name: Week 48}
";

const AUTH: &str = ".nonlinear/components/AUTH.md";
const AUTH_TEXT: &str = "\
---
id: 0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a90
short_id: AUTH
title: Auth service
---
";

const A: &str = ".nonlinear/issues/NL-aaaa.md";
const A_TEXT: &str = "\
---
# Triaged by hand; keep this comment.
title: 'Fix login redirect'  # shown in lists
short_id: NL-aaaa
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a01
status: 'todo'  # workflow key
labels:
  - bug  # seen in prod
  - 'chore'
parent: AUTH
blocks: [NL-bbbb]
relates_to: ['NL-cccc']
x-team: {name: core}
---

The redirect loops when the cookie domain differs.

---

- [ ] fix it
";

const B: &str = ".nonlinear/issues/NL-bbbb.md";
const B_TEXT: &str = "\
---
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a02
short_id: NL-bbbb
title: Session store
status: in_progress
parent: AUTH
blocks:
  - NL-dddd
duplicates: [0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a03]  # NL-cccc by UUID
---
Sessions live in Redis.
";

const C: &str = ".nonlinear/issues/NL-cccc.md";
const C_ID: &str = "0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a03";
const C_TEXT: &str = "\
---
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a03
short_id: NL-cccc
title: \"Audit cookies\"
status: todo
relates_to:
  - 'nl-BBBB'   # written in another case
---
";

const D: &str = ".nonlinear/issues/NL-dddd.md";
const D_TEXT: &str = "\
---
id: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a04
short_id: NL-dddd
title: Expire idle sessions
status: todo
parent: NL-bbbb
---
";

const ART: &str = ".nonlinear/artifacts/NL-art1.md";
const ART_TEXT: &str = "\
---
id: 0193a6f0-9b00-7d2a-9b4e-2f1c3d5e7a03
short_id: NL-art1
title: Session design
kind: link
url: 'https://example.com/sessions'
attached_to: [NL-cccc, AUTH]
---
";

const THREAD: &str = ".nonlinear/comments/0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a03";
const C1_ID: &str = "0193a6f1-0000-7000-8000-000000000001";
const C1: &str = ".nonlinear/comments/0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a03/0193a6f1-0000-7000-8000-000000000001.md";
const C1_TEXT: &str = "\
---
# A hand-written comment.
author: bob
id: 0193a6f1-0000-7000-8000-000000000001
created_at: 2026-11-24T11:00:00Z
reactions: {\"+1\": [bob]}
x-client: 'mail'
---

Looks like the cookie `Domain` attribute.
";

const C2: &str = ".nonlinear/comments/0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a03/0193a6f1-0000-7000-8000-000000000002.md";
const C2_TEXT: &str = "\
---
id: 0193a6f1-0000-7000-8000-000000000002
author: ana
created_at: 2026-11-24T12:00:00Z
reply_to: 0193a6f1-0000-7000-8000-000000000001
---

Agreed.
";

const FILES: [(&str, &str); 8] = [
    (AUTH, AUTH_TEXT),
    (A, A_TEXT),
    (B, B_TEXT),
    (C, C_TEXT),
    (D, D_TEXT),
    (ART, ART_TEXT),
    (C1, C1_TEXT),
    (C2, C2_TEXT),
];

/// The workspace on disk.
fn ws() -> TempWs {
    let ws = TempWs::new(CONFIG);
    for (rel, text) in FILES {
        ws.write(rel, text);
    }
    ws
}

fn writer(ws: &TempWs, actor: Option<&str>) -> Writer {
    Writer::open(ws.store.clone())
        .expect("the config is valid")
        .with_actor(actor.map(str::to_owned))
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(f, v)| ((*f).to_owned(), (*v).to_owned()))
        .collect()
}

/// `text` with each `(from, to)` replaced exactly once: the expected text
/// after a minimal edit.
#[track_caller]
fn replaced(text: &str, edits: &[(&str, &str)]) -> String {
    let mut out = text.to_owned();
    for (from, to) in edits {
        assert_eq!(out.matches(from).count(), 1, "{from:?} once in\n{out}");
        out = out.replacen(from, to, 1);
    }
    out
}

/// Every fixture file still holds its original text.
#[track_caller]
fn untouched(ws: &TempWs) {
    for (rel, text) in FILES {
        assert_eq!(ws.read(rel), text, "{rel} changed");
    }
}

/// Every fixture file but `changed` still holds its original text.
#[track_caller]
fn untouched_but(ws: &TempWs, changed: &[&str]) {
    for (rel, text) in FILES {
        if !changed.contains(&rel) {
            assert_eq!(ws.read(rel), text, "{rel} changed");
        }
    }
}

/// The field an `Invalid` blames.
#[track_caller]
fn invalid_field(e: WriteError) -> Option<String> {
    match e {
        WriteError::Invalid { field, .. } => field,
        e => panic!("expected Invalid, got {e:?}"),
    }
}

fn touched(path: &str, action: FileAction) -> Touched {
    Touched {
        path: path.to_owned(),
        action,
    }
}

#[test]
fn a_writer_can_move_to_another_thread() {
    fn send<T: Send + Sync>() {}
    send::<Writer>();
}

#[test]
fn open_refuses_an_invalid_config() {
    let ws = TempWs::new("key: NL\nstatuses: 3\n");
    let err = Writer::open(ws.store.clone()).expect_err("invalid config");
    assert!(
        matches!(&err, WriteError::Config(m) if m.contains("config is invalid")),
        "{err:?}"
    );
}

// ---- etag and if_match ----------------------------------------------------

#[test]
fn etag_is_a_quoted_content_hash() {
    let tag = write::etag(b"hello");
    assert_eq!(tag.len(), 18);
    assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
    assert_eq!(tag, write::etag(b"hello"));
    assert_ne!(tag, write::etag(b"hello\n"));
}

#[test]
fn if_match_accepts_the_current_etag_in_any_spelling() {
    let ws = ws();
    let w = writer(&ws, None);
    let tag = write::etag(A_TEXT.as_bytes());
    let bare = tag.trim_matches('"').to_owned();
    for spelling in [
        tag.clone(),
        bare.clone(),
        format!("W/{tag}"),
        format!("\"x\", {tag}"),
        "*".into(),
    ] {
        let done = w
            .set("NL-aaaa", &pairs(&[("status", "done")]), Some(&spelling))
            .unwrap_or_else(|e| panic!("{spelling}: {e}"));
        assert_eq!(done.etag, Some(write::etag(ws.read(A).as_bytes())));
        // Back to the original for the next spelling.
        ws.write(A, A_TEXT);
    }
}

#[test]
fn stale_if_match_is_a_conflict_and_writes_nothing() {
    let ws = ws();
    let w = writer(&ws, Some("ana"));
    let stale = write::etag(b"what the client saw");
    let err = w
        .set("NL-aaaa", &pairs(&[("status", "done")]), Some(&stale))
        .expect_err("stale");
    assert!(
        matches!(&err, WriteError::Conflict(m) if m.contains(A) && m.contains("changed since it was read")),
        "{err:?}"
    );
    assert!(matches!(
        w.set_body("NL-aaaa", "New.", Some(&stale)),
        Err(WriteError::Conflict(_))
    ));
    assert!(matches!(
        w.delete("NL-cccc", Some(&stale)),
        Err(WriteError::Conflict(_))
    ));
    assert!(matches!(
        w.edit_comment(
            C2.rsplit('/').next().unwrap().trim_end_matches(".md"),
            "x",
            Some(&stale)
        ),
        Err(WriteError::Conflict(_))
    ));
    untouched(&ws);
}

// ---- create ---------------------------------------------------------------

#[test]
fn create_issue_writes_one_file_in_the_fixed_order() {
    let ws = ws();
    let w = writer(&ws, Some("@ANA"));
    let new = w
        .create(NewItem::Issue(NewIssue {
            title: " Fix logout: redirect ".into(),
            status: Some("in progress".into()),
            priority: Some("high".into()),
            labels: vec!["BUG,chore".into()],
            assignee: Some("me".into()),
            parent: Some("auth".into()),
            cycle: Some("W48".into()),
            estimate: Some("3".into()),
            due: Some("2026-12-24".into()),
            body: "Steps:\n\n1. log out".into(),
        }))
        .expect("created");
    let short = new.short_id.clone().expect("a short id");
    assert_eq!(new.path, format!(".nonlinear/issues/{short}.md"));
    assert_eq!(new.files, [touched(&new.path, FileAction::Created)]);
    assert!(new.changes.is_empty());
    let text = ws.read(&new.path);
    assert_eq!(new.etag, Some(write::etag(text.as_bytes())));
    let id = new.id.expect("an id");
    let created_at = text
        .lines()
        .find_map(|l| l.strip_prefix("created_at: "))
        .expect("created_at");
    assert_eq!(
        text,
        format!(
            "---\nid: {id}\nshort_id: {short}\ntitle: \"Fix logout: redirect\"\nstatus: in_progress\npriority: 2\nlabels: [bug, chore]\nassignee: ana\ncreated_by: ana\ncreated_at: {created_at}\ncycle: w48\nestimate: 3\ndue: 2026-12-24\nparent: AUTH\n---\n\nSteps:\n\n1. log out\n"
        )
    );
    untouched(&ws);
}

#[test]
fn create_issue_refusals_name_the_field() {
    let ws = ws();
    let w = writer(&ws, None);
    let issue = |f: fn(&mut NewIssue)| {
        let mut n = NewIssue {
            title: "T".into(),
            ..Default::default()
        };
        f(&mut n);
        w.create(NewItem::Issue(n)).expect_err("refused")
    };
    assert_eq!(
        invalid_field(issue(|n| n.title = " ".into())).as_deref(),
        Some("title")
    );
    assert_eq!(
        invalid_field(issue(|n| n.status = Some("doing".into()))).as_deref(),
        Some("status")
    );
    assert_eq!(
        invalid_field(issue(|n| n.priority = Some("9".into()))).as_deref(),
        Some("priority")
    );
    assert_eq!(
        invalid_field(issue(|n| n.labels = vec!["nope".into()])).as_deref(),
        Some("labels")
    );
    assert_eq!(
        invalid_field(issue(|n| n.assignee = Some("zed".into()))).as_deref(),
        Some("assignee")
    );
    assert_eq!(
        invalid_field(issue(|n| n.cycle = Some("w99".into()))).as_deref(),
        Some("cycle")
    );
    assert_eq!(
        invalid_field(issue(|n| n.estimate = Some("-1".into()))).as_deref(),
        Some("estimate")
    );
    assert_eq!(
        invalid_field(issue(|n| n.due = Some("2026-13-01".into()))).as_deref(),
        Some("due")
    );
    assert_eq!(
        invalid_field(issue(|n| n.parent = Some("NL-zzzz".into()))).as_deref(),
        Some("parent")
    );
    assert_eq!(
        invalid_field(issue(|n| n.parent = Some("NL-art1".into()))).as_deref(),
        Some("parent")
    );
    // `me` with nobody acting, and an actor who is not a member.
    assert!(matches!(
        issue(|n| n.assignee = Some("@me".into())),
        WriteError::Forbidden(_)
    ));
    let err = writer(&ws, Some("zed"))
        .create(NewItem::Issue(NewIssue {
            title: "T".into(),
            ..Default::default()
        }))
        .expect_err("not a member");
    assert!(
        matches!(&err, WriteError::Forbidden(m) if m.contains("acting member `zed`")),
        "{err:?}"
    );
    assert_eq!(
        ws.store.item_files().len(),
        FILES.len() - 2 + 1,
        "no file written"
    );
    untouched(&ws);
}

#[test]
fn create_component_next_to_its_code_or_in_nonlinear() {
    let ws = ws();
    ws.write("services/pay/main.go", "package pay\n");
    let w = writer(&ws, None);
    let pay = w
        .create(NewItem::Component(NewComponent {
            title: "Payments".into(),
            path: Some("./services/pay/".into()),
            owner: Some("bob".into()),
            ..Default::default()
        }))
        .expect("created");
    assert_eq!(pay.short_id.as_deref(), Some("PAYMENTS"));
    assert_eq!(pay.path, "services/pay/COMPONENT.md");
    let id = pay.id.expect("an id");
    assert_eq!(
        ws.read(&pay.path),
        format!("---\nid: {id}\nshort_id: PAYMENTS\ntitle: Payments\nowner: bob\n---\n")
    );
    // No such directory: under .nonlinear/, with the path recorded.
    let web = w
        .create(NewItem::Component(NewComponent {
            title: "Web".into(),
            key: Some("WEB".into()),
            path: Some("web".into()),
            parent: Some("auth".into()),
            ..Default::default()
        }))
        .expect("created");
    assert_eq!(web.path, ".nonlinear/components/WEB.md");
    assert!(
        ws.read(&web.path)
            .ends_with("title: Web\nparent: AUTH\nrepo: {path: web}\n---\n")
    );
    let err = w
        .create(NewItem::Component(NewComponent {
            title: "Auth".into(),
            ..Default::default()
        }))
        .expect_err("taken");
    assert!(
        matches!(&err, WriteError::Conflict(m) if m.contains("AUTH is already used by .nonlinear/components/AUTH.md")),
        "{err:?}"
    );
    for bad in ["../outside", "/etc"] {
        let err = w
            .create(NewItem::Component(NewComponent {
                title: "Out".into(),
                path: Some(bad.into()),
                ..Default::default()
            }))
            .expect_err("outside the repository");
        assert_eq!(invalid_field(err).as_deref(), Some("path"));
    }
    untouched(&ws);
}

#[test]
fn create_artifact_attaches_to_items() {
    let ws = ws();
    ws.write("docs/design.pdf", "%PDF");
    let w = writer(&ws, Some("bob"));
    let new = w
        .create(NewItem::Artifact(NewArtifact {
            title: "Design".into(),
            kind: ArtifactKind::File,
            url: None,
            file: Some("./docs/design.pdf".into()),
            on: vec!["nl-aaaa".into(), C_ID.into()],
            mime_type: None,
        }))
        .expect("created");
    let text = ws.read(&new.path);
    assert!(
        new.path.starts_with(".nonlinear/artifacts/NL-"),
        "{}",
        new.path
    );
    assert!(
        text.contains("\nkind: file\nfile: docs/design.pdf\nmime_type: application/pdf\nsize: 4\nattached_to: [NL-aaaa, NL-cccc]\ncreated_by: bob\n"),
        "{text}"
    );
    let link = |url: Option<&str>, on: &[&str]| NewArtifact {
        title: "L".into(),
        kind: ArtifactKind::Link,
        url: url.map(str::to_owned),
        file: None,
        on: on.iter().map(|s| (*s).to_owned()).collect(),
        mime_type: None,
    };
    let refused =
        |a: NewArtifact| invalid_field(w.create(NewItem::Artifact(a)).expect_err("refused"));
    assert_eq!(refused(link(None, &["NL-aaaa"])).as_deref(), Some("url"));
    assert_eq!(
        refused(link(Some("u"), &[])).as_deref(),
        Some("attached_to")
    );
    assert_eq!(
        refused(link(Some("u"), &["NL-zzzz"])).as_deref(),
        Some("attached_to")
    );
    assert_eq!(
        refused(link(Some("u"), &["NL-art1"])).as_deref(),
        Some("attached_to")
    );
    untouched(&ws);
}

// ---- set ------------------------------------------------------------------

#[test]
fn set_changes_only_the_lines_of_the_fields_set() {
    let ws = ws();
    let w = writer(&ws, Some("bob"));
    let done = w
        .set(
            "nl-AAAA",
            &pairs(&[
                ("status", "In Progress"),
                ("labels", "-chore"),
                ("assignee", "@me"),
                ("priority", "urgent"),
                ("title", "Fix the login redirect"),
            ]),
            None,
        )
        .expect("set");
    let after = replaced(
        A_TEXT,
        &[
            (
                "title: 'Fix login redirect'",
                "title: 'Fix the login redirect'",
            ),
            ("status: 'todo'", "status: 'in_progress'"),
            ("  - 'chore'\n", ""),
            (
                "x-team: {name: core}\n",
                "x-team: {name: core}\nassignee: bob\npriority: 1\n",
            ),
        ],
    );
    assert_eq!(ws.read(A), after);
    assert_eq!(done.path, A);
    assert_eq!(done.short_id.as_deref(), Some("NL-aaaa"));
    assert_eq!(done.files, [touched(A, FileAction::Modified)]);
    assert_eq!(done.etag, Some(write::etag(after.as_bytes())));
    let changes: Vec<_> = done
        .changes
        .iter()
        .map(|c| json!([c.field, c.before, c.after]))
        .collect();
    assert_eq!(
        changes,
        [
            json!(["status", "todo", "in_progress"]),
            json!(["labels", ["bug", "chore"], ["bug"]]),
            json!(["assignee", null, "bob"]),
            json!(["priority", null, 1]),
            json!(["title", "Fix login redirect", "Fix the login redirect"]),
        ]
    );
    untouched_but(&ws, &[A]);
}

#[test]
fn set_clears_with_none_and_checks_parents() {
    let ws = ws();
    let w = writer(&ws, None);
    w.set(
        "NL-aaaa",
        &pairs(&[("labels", "none"), ("parent", "")]),
        None,
    )
    .expect("set");
    assert_eq!(
        ws.read(A),
        replaced(
            A_TEXT,
            &[
                ("labels:\n  - bug  # seen in prod\n  - 'chore'\n", ""),
                ("parent: AUTH\n", "")
            ]
        )
    );
    let err = w
        .set("NL-bbbb", &pairs(&[("parent", "NL-dddd")]), None)
        .expect_err("a cycle");
    assert!(
        matches!(&err, WriteError::Invalid { field: Some(f), message } if f == "parent" && message.contains("NL-dddd is below NL-bbbb")),
        "{err:?}"
    );
    untouched_but(&ws, &[A]);
}

#[test]
fn set_refusals() {
    let ws = ws();
    let w = writer(&ws, None);
    let err = w
        .set("NL-aaaa", &pairs(&[("status", "doing")]), None)
        .expect_err("unknown status");
    assert!(
        matches!(&err, WriteError::Invalid { field: Some(f), message } if f == "status" && message.contains("unknown status `doing`; the workflow has todo, in_progress, done")),
        "{err:?}"
    );
    // Every pair is checked before anything is written.
    let err = w
        .set(
            "NL-aaaa",
            &pairs(&[("status", "done"), ("owner", "ana")]),
            None,
        )
        .expect_err("issues have no owner");
    assert_eq!(invalid_field(err).as_deref(), Some("owner"));
    let err = w
        .set("NL-zzzz", &pairs(&[("status", "done")]), None)
        .expect_err("missing");
    assert!(
        matches!(&err, WriteError::NotFound(m) if m == "no item NL-zzzz in this workspace"),
        "{err:?}"
    );
    assert!(matches!(
        w.set("NL-aaaa", &[], None),
        Err(WriteError::Invalid { .. })
    ));
    untouched(&ws);
}

#[test]
fn set_body_replaces_only_the_description() {
    let ws = ws();
    let w = writer(&ws, None);
    let tag = write::etag(B_TEXT.as_bytes());
    let done = w
        .set_body("NL-bbbb", "Sessions live in Postgres now.\n", Some(&tag))
        .expect("set");
    assert_eq!(
        ws.read(B),
        replaced(
            B_TEXT,
            &[(
                "---\nSessions live in Redis.\n",
                "---\n\nSessions live in Postgres now.\n"
            )]
        )
    );
    assert_eq!(done.changes.len(), 1);
    assert_eq!(done.changes[0].field, "description");
    assert_eq!(done.changes[0].before, "Sessions live in Redis.\n");
    assert_eq!(done.changes[0].after, "Sessions live in Postgres now.\n");
    // A comment's text belongs to its author: `edit_comment`.
    assert!(matches!(
        w.set_body(C1_ID, "x", None),
        Err(WriteError::Invalid { .. })
    ));
    untouched_but(&ws, &[B]);
}

// ---- link -----------------------------------------------------------------

#[test]
fn link_and_unlink_edit_the_owners_list() {
    let ws = ws();
    let w = writer(&ws, None);
    let l = w.link("NL-aaaa", "blocks", "nl-cccc").expect("linked");
    assert!(l.changed);
    assert_eq!(
        (
            l.source.as_str(),
            l.field,
            l.target.as_str(),
            l.path.as_str()
        ),
        ("NL-aaaa", LinkField::Blocks, "NL-cccc", A)
    );
    assert_eq!(
        ws.read(A),
        replaced(
            A_TEXT,
            &[("blocks: [NL-bbbb]", "blocks: [NL-bbbb, NL-cccc]")]
        )
    );
    assert_eq!(l.etag, write::etag(ws.read(A).as_bytes()));
    // Again: nothing to do.
    assert!(
        !w.link("NL-aaaa", "blocks", "NL-cccc")
            .expect("no-op")
            .changed
    );

    // `blocked_by` writes the other file.
    let l = w.link("NL-cccc", "blocked-by", "NL-dddd").expect("linked");
    assert_eq!((l.source.as_str(), l.path.as_str()), ("NL-dddd", D));
    assert_eq!(
        ws.read(D),
        replaced(
            D_TEXT,
            &[("parent: NL-bbbb\n", "parent: NL-bbbb\nblocks: [NL-cccc]\n")]
        )
    );

    // Unlink finds a reference written in another case.
    let l = w
        .unlink("NL-cccc", "relates_to", "NL-bbbb")
        .expect("unlinked");
    assert!(l.changed);
    assert_eq!(
        ws.read(C),
        replaced(
            C_TEXT,
            &[(
                "relates_to:\n  - 'nl-BBBB'   # written in another case\n",
                ""
            )]
        )
    );
    assert!(
        !w.unlink("NL-cccc", "relates_to", "NL-bbbb")
            .expect("no-op")
            .changed
    );
    untouched_but(&ws, &[A, C, D]);
}

#[test]
fn link_refusals() {
    let ws = ws();
    let w = writer(&ws, None);
    let err = w.link("NL-dddd", "blocks", "NL-aaaa").expect_err("a cycle");
    assert!(
        matches!(&err, WriteError::Invalid { field: Some(f), message } if f == "blocks" && message.contains("NL-aaaa → NL-bbbb → NL-dddd")),
        "{err:?}"
    );
    assert_eq!(
        invalid_field(w.link("NL-aaaa", "parent", "AUTH").expect_err("not a link")).as_deref(),
        Some("kind")
    );
    assert_eq!(
        invalid_field(w.link("NL-aaaa", "blocks", "NL-aaaa").expect_err("self")).as_deref(),
        Some("blocks")
    );
    assert_eq!(
        invalid_field(w.link("NL-aaaa", "blocks", "AUTH").expect_err("kind")).as_deref(),
        Some("blocks")
    );
    assert_eq!(
        invalid_field(
            w.link("NL-aaaa", "blocks", "NL-zzzz")
                .expect_err("no target")
        )
        .as_deref(),
        Some("blocks")
    );
    assert!(matches!(
        w.link("NL-zzzz", "blocks", "NL-aaaa"),
        Err(WriteError::NotFound(_))
    ));
    untouched(&ws);
}

// ---- comments -------------------------------------------------------------

#[test]
fn comment_adds_one_file_in_the_items_thread() {
    let ws = ws();
    let w = writer(&ws, Some("ana"));
    let c = w
        .comment("NL-cccc", "Fixed in the proxy.", Some(C1_ID))
        .expect("commented");
    let id = c.id.expect("an id");
    assert_eq!(c.path, format!("{THREAD}/{id}.md"));
    assert_eq!(c.short_id, None);
    let text = ws.read(&c.path);
    let created_at = text
        .lines()
        .find_map(|l| l.strip_prefix("created_at: "))
        .expect("created_at");
    assert_eq!(
        text,
        format!(
            "---\nid: {id}\nauthor: ana\ncreated_at: {created_at}\nreply_to: {C1_ID}\n---\n\nFixed in the proxy.\n"
        )
    );
    untouched(&ws);
}

#[test]
fn comment_refusals() {
    let ws = ws();
    assert!(matches!(
        writer(&ws, None).comment("NL-cccc", "hi", None),
        Err(WriteError::Forbidden(_))
    ));
    assert!(matches!(
        writer(&ws, Some("zed")).comment("NL-cccc", "hi", None),
        Err(WriteError::Forbidden(_))
    ));
    let w = writer(&ws, Some("ana"));
    assert!(matches!(
        w.comment("NL-zzzz", "hi", None),
        Err(WriteError::NotFound(_))
    ));
    assert!(matches!(
        w.comment("NL-art1", "hi", None),
        Err(WriteError::Invalid { .. })
    ));
    assert_eq!(
        invalid_field(w.comment("NL-cccc", " \n", None).expect_err("empty")).as_deref(),
        Some("description")
    );
    assert_eq!(
        invalid_field(
            w.comment("NL-aaaa", "hi", Some(C1_ID))
                .expect_err("C1 is on NL-cccc")
        )
        .as_deref(),
        Some("reply_to")
    );
    untouched(&ws);
}

#[test]
fn edit_comment_replaces_the_text_and_sets_edited_at() {
    let ws = ws();
    let done = writer(&ws, Some("BOB"))
        .edit_comment(
            C1_ID,
            "It is the `Domain` attribute.",
            Some(&write::etag(C1_TEXT.as_bytes())),
        )
        .expect("edited");
    let text = ws.read(C1);
    let edited_at = text
        .lines()
        .find_map(|l| l.strip_prefix("edited_at: "))
        .expect("edited_at");
    assert_eq!(
        text,
        replaced(
            C1_TEXT,
            &[
                (
                    "x-client: 'mail'\n",
                    &format!("x-client: 'mail'\nedited_at: {edited_at}\n")
                ),
                (
                    "\nLooks like the cookie `Domain` attribute.\n",
                    "\nIt is the `Domain` attribute.\n"
                ),
            ]
        )
    );
    let fields: Vec<&str> = done.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["description", "edited_at"]);
    assert_eq!(done.changes[1].before, json!(null));
    untouched_but(&ws, &[C1]);
}

#[test]
fn edit_comment_by_anyone_else_is_forbidden() {
    let ws = ws();
    let err = writer(&ws, Some("ana"))
        .edit_comment(C1_ID, "Mine now.", None)
        .expect_err("bob wrote it");
    assert!(
        matches!(&err, WriteError::Forbidden(m) if m.contains("written by bob")),
        "{err:?}"
    );
    assert!(matches!(
        writer(&ws, None).edit_comment(C1_ID, "Anonymous.", None),
        Err(WriteError::Forbidden(_))
    ));
    assert!(matches!(
        writer(&ws, Some("bob")).edit_comment("0193a6f1-0000-7000-8000-00000000dead", "x", None),
        Err(WriteError::NotFound(_))
    ));
    untouched(&ws);
}

#[test]
fn react_rewrites_one_line_and_is_idempotent() {
    let ws = ws();
    let ana = writer(&ws, Some("ana"));
    let r = ana.react(C1_ID, "+1").expect("reacted");
    assert_eq!(
        ws.read(C1),
        replaced(
            C1_TEXT,
            &[(
                "reactions: {\"+1\": [bob]}",
                "reactions: {\"+1\": [bob, ana]}"
            )]
        )
    );
    assert_eq!(r.changes[0].before, json!({"+1": ["bob"]}));
    assert_eq!(r.changes[0].after, json!({"+1": ["bob", "ana"]}));
    assert_eq!(r.files, [touched(C1, FileAction::Modified)]);
    // Again: nothing written.
    let again = ana.react(C1_ID, "+1").expect("no-op");
    assert!(again.files.is_empty());
    // Taking every reaction back removes the field.
    ana.remove_reaction(C1_ID, "+1").expect("removed");
    writer(&ws, Some("bob"))
        .remove_reaction(C1_ID, "+1")
        .expect("removed");
    assert_eq!(
        ws.read(C1),
        replaced(C1_TEXT, &[("reactions: {\"+1\": [bob]}\n", "")])
    );
    assert!(matches!(
        ana.react(C1_ID, "two words"),
        Err(WriteError::Invalid { .. })
    ));
    assert!(matches!(
        ana.react("not-a-uuid", "+1"),
        Err(WriteError::NotFound(_))
    ));
    assert!(matches!(
        writer(&ws, None).react(C1_ID, "+1"),
        Err(WriteError::Forbidden(_))
    ));
    untouched_but(&ws, &[C1]);
}

// ---- rename ---------------------------------------------------------------

#[test]
fn rename_rewrites_references_then_the_item_and_its_file_name() {
    let ws = ws();
    let w = writer(&ws, None);
    let done = w.rename("nl-bbbb", "NL-sess").expect("renamed");
    const NEW: &str = ".nonlinear/issues/NL-sess.md";
    assert_eq!(done.path, NEW);
    assert_eq!(done.short_id.as_deref(), Some("NL-sess"));
    assert_eq!(
        done.files,
        [
            touched(A, FileAction::Modified),
            touched(C, FileAction::Modified),
            touched(D, FileAction::Modified),
            touched(NEW, FileAction::Renamed { from: B.into() }),
        ]
    );
    assert_eq!(
        ws.read(A),
        replaced(A_TEXT, &[("blocks: [NL-bbbb]", "blocks: [NL-sess]")])
    );
    assert_eq!(ws.read(C), replaced(C_TEXT, &[("'nl-BBBB'", "'NL-sess'")]));
    assert_eq!(
        ws.read(D),
        replaced(D_TEXT, &[("parent: NL-bbbb", "parent: NL-sess")])
    );
    assert_eq!(
        ws.read(NEW),
        replaced(B_TEXT, &[("short_id: NL-bbbb", "short_id: NL-sess")])
    );
    assert!(!ws.path(B).exists());
    assert_eq!(done.etag, Some(write::etag(ws.read(NEW).as_bytes())));

    assert!(matches!(
        w.rename("NL-aaaa", "NL-sess"),
        Err(WriteError::Conflict(_))
    ));
    assert!(matches!(
        w.rename("NL-zzzz", "NL-x"),
        Err(WriteError::NotFound(_))
    ));
    assert_eq!(
        invalid_field(w.rename("AUTH", "Auth2").expect_err("lowercase")).as_deref(),
        Some("short_id")
    );
    assert_eq!(
        invalid_field(w.rename("NL-aaaa", "NL aaaa").expect_err("syntax")).as_deref(),
        Some("short_id")
    );
}

// ---- delete ---------------------------------------------------------------

#[test]
fn delete_removes_references_comments_and_the_file() {
    let ws = ws();
    let done = writer(&ws, None)
        .delete("NL-cccc", Some(&write::etag(C_TEXT.as_bytes())))
        .expect("deleted");
    assert_eq!(
        ws.read(A),
        replaced(A_TEXT, &[("relates_to: ['NL-cccc']\n", "")])
    );
    assert_eq!(
        ws.read(B),
        replaced(
            B_TEXT,
            &[(
                "duplicates: [0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7a03]  # NL-cccc by UUID\n",
                ""
            )]
        )
    );
    assert_eq!(
        ws.read(ART),
        replaced(ART_TEXT, &[("[NL-cccc, AUTH]", "[AUTH]")])
    );
    for gone in [C, C1, C2, THREAD] {
        assert!(!ws.path(gone).exists(), "{gone} is still there");
    }
    assert_eq!(done.path, C);
    assert_eq!(done.etag, None);
    assert_eq!(
        done.files,
        [
            // Path order.
            touched(ART, FileAction::Modified),
            touched(A, FileAction::Modified),
            touched(B, FileAction::Modified),
            touched(C1, FileAction::Deleted),
            touched(C2, FileAction::Deleted),
            touched(C, FileAction::Deleted),
        ]
    );
    untouched_but(&ws, &[A, B, ART, C, C1, C2]);
    // What is left checks clean: nothing refers to NL-cccc any more.
    let left = ws.store.load();
    let problems: Vec<String> = left
        .check(&|_: &str| true)
        .iter()
        .filter(|d| d.severity == schema::Severity::Error)
        .map(|d| format!("{}: {}", d.path, d.message))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn delete_is_refused_while_the_item_has_children() {
    let ws = ws();
    let w = writer(&ws, None);
    let err = w.delete("AUTH", None).expect_err("two children");
    assert!(
        matches!(&err, WriteError::Invalid { field: None, message } if message == "AUTH still has 2 children: NL-aaaa, NL-bbbb; move or delete them first"),
        "{err:?}"
    );
    let err = w.delete("NL-bbbb", None).expect_err("a sub-issue");
    assert!(
        matches!(&err, WriteError::Invalid { message, .. } if message == "NL-bbbb still has 1 child: NL-dddd; move or delete it first"),
        "{err:?}"
    );
    assert!(matches!(
        w.delete("NL-zzzz", None),
        Err(WriteError::NotFound(_))
    ));
    assert!(matches!(
        w.delete(C1_ID, None),
        Err(WriteError::Invalid { .. })
    ));
    untouched(&ws);
}

#[test]
fn delete_of_an_artifact_leaves_its_items_alone() {
    let ws = ws();
    let done = writer(&ws, None).delete("NL-art1", None).expect("deleted");
    assert_eq!(done.files, [touched(ART, FileAction::Deleted)]);
    assert!(!ws.path(ART).exists());
    untouched_but(&ws, &[ART]);
}
