//! API writes as commits: each commits exactly the files it touched, as
//! `git commit --only -- paths` would, and leaves the index clean for
//! them and as it was for everything else. Checked with the `git` program.

use serde_json::json;

use crate::support::{Server, Ws};

const ANA: Option<&str> = Some("ana");

/// The files the last commit changed, renames as two paths.
fn committed(ws: &Ws) -> Vec<String> {
    let out = ws.git(&["show", "--name-only", "--no-renames", "--format=", "HEAD"]);
    let mut files: Vec<String> = out.lines().map(str::to_owned).collect();
    files.sort();
    files
}

/// `paths` (relative to the top of the repository) are clean: the index
/// matches `HEAD` and, by stat alone, the work tree — `git diff-files`
/// does not refresh the index, so a stale stat shows as a change.
fn assert_clean(ws: &Ws, paths: &[&str]) {
    let with = |args: &[&'static str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.push("--");
        all.extend_from_slice(paths);
        all
    };
    ws.git(&with(&["diff-files", "--quiet"]));
    ws.git(&with(&["diff-index", "--cached", "--quiet", "HEAD"]));
    assert_eq!(ws.git(&with(&["status", "--porcelain"])), "", "{paths:?}");
}

/// The blob the index holds for `path` is the one `HEAD` holds.
fn staged_as_committed(ws: &Ws, path: &str) {
    let staged = ws.git(&["rev-parse", &format!(":{path}")]);
    let committed = ws.git(&["rev-parse", &format!("HEAD:{path}")]);
    assert_eq!(staged, committed, "{path}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_commit_exactly_their_files() {
    let ws = Ws::demo();
    // Someone's work in progress: one file staged, one edited.
    ws.write("README.md", "staged, not for the API\n");
    ws.git(&["add", "README.md"]);
    ws.write("db/seed.sql", "-- edited, not staged\n");
    ws.git(&["config", "user.name", "Early"]);
    ws.git(&["config", "user.email", "early@example.com"]);
    let s = Server::start(ws).await;
    let start = s.ws.git(&["rev-parse", "HEAD"]);

    // Modify.
    let issue = ".nonlinear/issues/NL-96kc.md";
    let u = s
        .patch("/api/v1/nodes/NL-96kc", json!({"priority": 4}), &[])
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    let id = u.body["commit"].as_str().expect("commit id");
    assert!(s.ws.git(&["rev-parse", "HEAD"]).starts_with(id), "{id}");
    assert_eq!(committed(&s.ws), [issue]);
    assert_clean(&s.ws, &[issue]);
    staged_as_committed(&s.ws, issue);
    assert_eq!(
        s.ws.git(&["rev-parse", "HEAD^"]),
        start,
        "the parent is the old HEAD"
    );
    let who = "%an <%ae>%n%cn <%ce>";
    assert_eq!(
        s.ws.git(&["log", "-1", &format!("--format={who}")]),
        "Non-Linear API <api@nonlinear.invalid>\nEarly <early@example.com>\n"
    );
    // The committer follows the config, changed while the server runs.
    s.ws.git(&["config", "user.name", "Late"]);
    s.ws.git(&["config", "user.email", "late@example.com"]);

    // Create: a new file, a new index entry.
    let c = s
        .post(
            "/api/v1/nodes",
            json!({"kind": "issue", "title": "Resize avatars", "parent": "ALBUMS"}),
            ANA,
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    let key = c.body["short_id"].as_str().expect("key").to_owned();
    let created = format!(".nonlinear/issues/{key}.md");
    assert_eq!(committed(&s.ws), [created.as_str()]);
    assert_eq!(
        s.ws.git(&["log", "-1", &format!("--format={who}")]),
        "Ana Ribeiro <ana@lumen.example>\nLate <late@example.com>\n"
    );
    assert_clean(&s.ws, &[&created]);
    staged_as_committed(&s.ws, &created);
    let stage = s.ws.git(&["ls-files", "--stage", "--", &created]);
    assert!(stage.starts_with("100644 "), "{stage}");

    // Rename: both ends in one commit.
    let r = s
        .post(
            &format!("/api/v1/nodes/{key}/rename"),
            json!({"to": "NL-avatars"}),
            ANA,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let renamed = ".nonlinear/issues/NL-avatars.md";
    let mut both = vec![created.as_str(), renamed];
    both.sort();
    assert!(committed(&s.ws).iter().eq(both.iter()), "{both:?}");
    assert_clean(&s.ws, &both);
    assert_eq!(s.ws.git(&["ls-files", "--", &created]), "");
    staged_as_committed(&s.ws, renamed);

    // Delete an issue with comments: its file and its thread go.
    let thread = ".nonlinear/comments/01a181f5-a037-7bab-9910-0f1a70d43907";
    let comments = s.ws.git(&["ls-files", "--", thread]);
    assert_eq!(comments.lines().count(), 3, "{comments}");
    let d = s.delete("/api/v1/nodes/NL-8e87", &[]).await;
    assert_eq!(d.status, 200, "{}", d.text);
    let gone: Vec<&str> = std::iter::once(".nonlinear/issues/NL-8e87.md")
        .chain(comments.lines())
        .collect();
    let files = committed(&s.ws);
    for f in &gone {
        assert!(files.iter().any(|c| c == f), "{f} in {files:?}");
        assert!(!s.ws.path(f).exists(), "{f}");
    }
    assert_clean(&s.ws, &gone);
    assert_eq!(s.ws.git(&["ls-files", "--", thread]), "");
    assert_eq!(
        s.ws.git(&["ls-tree", "-r", "--name-only", "HEAD", "--", thread]),
        ""
    );

    // The work in progress is as it was: staged, edited, in no commit.
    assert_eq!(
        s.ws.git(&["diff", "--cached", "--name-only"]),
        "README.md\n"
    );
    assert_eq!(s.ws.git(&["diff", "--name-only"]), "db/seed.sql\n");
    assert_eq!(s.ws.read("README.md"), "staged, not for the API\n");
    let touched = s.ws.git(&[
        "log",
        "--format=",
        "--name-only",
        &format!("{}..HEAD", start.trim()),
    ]);
    assert!(!touched.contains("README.md"), "{touched}");
    assert!(!touched.contains("db/seed.sql"), "{touched}");
    assert_eq!(
        s.ws.git(&["status", "--porcelain", "--untracked-files=no"]),
        "M  README.md\n M db/seed.sql\n"
    );
    // Each write moved the branch, with a reflog entry.
    let reflog = s.ws.git(&["reflog", "--format=%gs", "main"]);
    assert_eq!(reflog.lines().count(), 5, "{reflog}");
    assert!(reflog.lines().all(|l| l.starts_with("commit")), "{reflog}");
    s.ws.git(&["fsck", "--strict", "--no-dangling"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_in_a_subdirectory_of_the_repository() {
    // The demo moved to `project/` of its repository.
    let ws = Ws::demo();
    let top = ws.dir.path().to_owned();
    std::fs::create_dir(top.join("project")).expect("mkdir");
    for e in std::fs::read_dir(&top).expect("list") {
        let name = e.expect("entry").file_name();
        if name != ".git" && name != "project" {
            std::fs::rename(top.join(&name), top.join("project").join(&name)).expect("move");
        }
    }
    ws.git(&["add", "-A"]);
    ws.git(&["commit", "-q", "-m", "into project/"]);
    let mut config = ws.config();
    config.workspace = top.join("project");
    let s = Server::start_with(ws, config).await;

    let u = s
        .patch(
            "/api/v1/nodes/NL-96kc",
            json!({"status": "in_progress"}),
            &[],
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    let issue = "project/.nonlinear/issues/NL-96kc.md";
    assert_eq!(committed(&s.ws), [issue]);
    assert!(
        s.ws.git(&["show", &format!("HEAD:{issue}")])
            .contains("status: in_progress")
    );
    assert_clean(&s.ws, &[issue]);
    staged_as_committed(&s.ws, issue);
    assert_eq!(
        s.ws.git(&["status", "--porcelain", "--untracked-files=no"]),
        ""
    );
    s.ws.git(&["fsck", "--strict", "--no-dangling"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_commit_of_an_unborn_branch() {
    // A repository with no commit yet, nothing staged.
    let ws = Ws::demo();
    std::fs::remove_dir_all(ws.path(".git")).expect("rm .git");
    ws.git(&["init", "-q", "-b", "main"]);
    let s = Server::start(ws).await;

    let u = s
        .patch("/api/v1/nodes/NL-96kc", json!({"priority": 4}), &[])
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert!(u.body["commit"].is_string(), "{}", u.text);
    // A root commit with the written file only; the rest stays untracked.
    let issue = ".nonlinear/issues/NL-96kc.md";
    assert_eq!(s.ws.git(&["rev-list", "--count", "HEAD"]), "1\n");
    assert_eq!(s.ws.git(&["log", "-1", "--format=%P"]), "\n");
    assert_eq!(
        s.ws.git(&["ls-tree", "-r", "--name-only", "HEAD"]),
        format!("{issue}\n")
    );
    assert_eq!(s.ws.git(&["ls-files"]), format!("{issue}\n"));
    assert_clean(&s.ws, &[issue]);
    assert!(
        s.ws.git(&["status", "--porcelain"])
            .lines()
            .all(|l| l.starts_with("?? ")),
        "everything else is untracked"
    );
    assert_eq!(
        s.ws.git(&["reflog", "--format=%gs", "main"]).lines().next(),
        Some("commit (initial): nonlinear: update NL-96kc")
    );

    // The next write has the first as its parent.
    let first = s.ws.git(&["rev-parse", "HEAD"]);
    let u = s
        .patch("/api/v1/nodes/NL-96kc", json!({"priority": 3}), &[])
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(s.ws.git(&["rev-parse", "HEAD^"]), first);
    assert_clean(&s.ws, &[issue]);
    s.ws.git(&["fsck", "--strict", "--no-dangling"]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_in_as_git_add_puts_them() {
    let ws = Ws::demo();
    // A clean filter (stored upper-case), and new issues ignored.
    ws.write(".gitattributes", "*.md filter=shout\n");
    ws.write(".gitignore", "/.nonlinear/issues/NL-new*\n");
    ws.git(&["config", "filter.shout.clean", "tr a-z A-Z"]);
    ws.git(&["add", ".gitattributes", ".gitignore"]);
    ws.git(&["commit", "-q", "-m", "attributes"]);
    let s = Server::start(ws).await;

    let u = s
        .patch("/api/v1/nodes/NL-96kc", json!({"priority": 4}), &[])
        .await;
    assert_eq!(u.status, 200, "{}", u.text);
    let issue = ".nonlinear/issues/NL-96kc.md";
    let blob = s.ws.git(&["show", &format!("HEAD:{issue}")]);
    assert!(blob.contains("PRIORITY: 4"), "{blob}");
    assert!(s.ws.read(issue).contains("priority: 4"));
    assert_clean(&s.ws, &[issue]);

    // A new file that .gitignore ignores: git would not add it.
    let c = s
        .post(
            "/api/v1/nodes",
            json!({"kind": "issue", "title": "Ignored", "parent": "ALBUMS"}),
            ANA,
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.text);
    let key = c.body["short_id"].as_str().expect("key").to_owned();
    let r = s
        .post(
            &format!("/api/v1/nodes/{key}/rename"),
            json!({"to": "NL-newer"}),
            ANA,
        )
        .await;
    r.error(500, "internal");
    assert_eq!(
        s.ws.git(&["ls-files", "--", ".nonlinear/issues/NL-newer.md"]),
        ""
    );

    // A merge in progress: git refuses partial commits.
    std::fs::write(
        s.ws.path(".git/MERGE_HEAD"),
        s.ws.git(&["rev-parse", "HEAD"]),
    )
    .expect("merge head");
    s.patch("/api/v1/nodes/NL-96kc", json!({"priority": 3}), &[])
        .await
        .error(500, "internal");
    std::fs::remove_file(s.ws.path(".git/MERGE_HEAD")).expect("rm");
    s.ws.git(&["fsck", "--strict", "--no-dangling"]);
    s.stop().await;
}
