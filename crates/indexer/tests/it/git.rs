//! `git`: workspaces at revisions, the semantic diff of two revisions and
//! the history of one item, on real repositories made with `git`.

use std::path::PathBuf;
use std::process::Command;

use nonlinear_indexer::change::Change;
use nonlinear_indexer::git::{self, Repo};
use schema::{PathProbe, Workspace};

use crate::support::{artifact_file, component_file, issue_file, uuid_of};

const CONFIG: &str = "\
version: 1
key: NL
name: Git
statuses:
  - {key: todo, category: unstarted}
  - {key: started, category: started}
  - {key: done, category: completed}
members:
  - {handle: ana}
  - {handle: bo}
";

/// A repository in a temporary directory.
pub struct Git {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Git {
    pub fn new() -> Git {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().canonicalize().expect("canonical");
        let g = Git { _dir: dir, root };
        g.git(&["init", "-q", "-b", "main"]);
        g
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_DATE", "2026-11-24T09:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-11-24T09:00:00Z")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            // Who the test says committed, whatever the caller's env says.
            .env_remove("GIT_AUTHOR_NAME")
            .env_remove("GIT_AUTHOR_EMAIL")
            .env_remove("GIT_COMMITTER_NAME")
            .env_remove("GIT_COMMITTER_EMAIL")
            .args([
                "-c",
                "user.name=Ana Lima",
                "-c",
                "user.email=ana@example.com",
            ])
            .args(["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"])
            .args(args)
            .current_dir(&self.root)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.root.join(rel)).expect("remove");
    }

    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

fn write_all(g: &Git, base: &str, files: &[(String, String)]) {
    for (p, t) in files {
        g.write(&format!("{base}{p}"), t);
    }
}

fn parse(files: &[(String, String)]) -> Workspace {
    Workspace::from_files(files.iter().map(|(p, t)| (p.as_str(), t.as_bytes())))
}

fn config() -> (String, String) {
    (".nonlinear/config.yaml".into(), CONFIG.into())
}

#[test]
fn workspace_at_an_older_commit_is_the_files_as_they_were() {
    let g = Git::new();
    let v1 = vec![
        config(),
        component_file("API", ""),
        issue_file("NL-aaaa", "parent: API; assignee: ana"),
        issue_file("NL-bbbb", "blocks: [NL-aaaa]; status: bogus"),
        artifact_file("NL-art1", "kind: file; file: docs/spec.md; attached_to: [NL-aaaa]"),
        ("src/web/COMPONENT.md".into(), "---\nid: 0193a6f0-0000-7000-8000-0000000000aa\nshort_id: WEB\ntitle: Web\n---\nBody.\n".into()),
    ];
    write_all(&g, "", &v1);
    g.write("docs/spec.md", "spec\n");
    g.commit("one");
    g.write(
        ".nonlinear/issues/NL-aaaa.md",
        &issue_file("NL-aaaa", "status: done").1,
    );
    g.remove("docs/spec.md");
    g.remove(".nonlinear/issues/NL-bbbb.md");
    g.commit("two");

    let at = Repo::open(&g.root)
        .expect("a repository")
        .workspace_at("HEAD~1")
        .expect("the workspace at HEAD~1");
    let want = parse(&v1);
    assert_eq!(at.workspace.items, want.items);
    assert_eq!(at.workspace.config, want.config);
    assert_eq!(at.files, v1.len());
    assert_eq!(at.prefix, "");
    // Artifact files are looked up in that revision's tree.
    assert!(at.probe.exists("docs/spec.md"));
    assert!(at.probe.exists("./docs//spec.md"));
    assert!(!at.probe.exists("docs/../docs/spec.md"));
    assert_eq!(
        at.workspace.check(&at.probe),
        want.check(&|p: &str| p == "docs/spec.md")
    );
    // …and the free function agrees; HEAD is the second commit.
    let head = git::workspace_at(&g.root, "main").expect("HEAD");
    assert!(head.resolve("NL-bbbb").is_none());
    let codes: Vec<&str> = head
        .check(
            &Repo::open(&g.root)
                .unwrap()
                .workspace_at("main")
                .unwrap()
                .probe,
        )
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    assert!(codes.contains(&"missing-file"), "{codes:?}");
}

#[test]
fn a_workspace_in_a_subdirectory_is_found_from_below_it() {
    let g = Git::new();
    g.write("README.md", "top\n");
    write_all(
        &g,
        "product/",
        &[
            config(),
            issue_file("NL-aaaa", ""),
            issue_file("NL-bbbb", ""),
        ],
    );
    g.write(
        "product/src/api/COMPONENT.md",
        "---\nshort_id: API\ntitle: Api\nid: 0193a6f0-0000-7000-8000-0000000000ab\n---\n",
    );
    // Code below the workspace that a component walk must not mistake for
    // items, and a skipped directory.
    g.write("product/src/api/lib.rs", "fn main() {}\n");
    g.write(
        "product/node_modules/x/COMPONENT.md",
        "---\ntitle: no\n---\n",
    );
    g.commit("one");
    // Started in a directory below the workspace root (it need not exist on
    // disk any more).
    for start in ["product", "product/src/api"] {
        let at = Repo::open(&g.path(start))
            .unwrap()
            .workspace_at("HEAD")
            .unwrap();
        assert_eq!(at.prefix, "product/");
        let paths: Vec<&str> = at.workspace.items.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                ".nonlinear/issues/NL-aaaa.md",
                ".nonlinear/issues/NL-bbbb.md",
                "src/api/COMPONENT.md"
            ]
        );
        assert!(at.probe.exists("src/api/lib.rs"));
    }
    // From the top there is no workspace.
    let err = Repo::open(&g.root)
        .unwrap()
        .workspace_at("HEAD")
        .unwrap_err();
    assert!(matches!(err, git::GitError::NoWorkspace { .. }), "{err}");
    let err = Repo::open(&g.root)
        .unwrap()
        .workspace_at("nope")
        .unwrap_err();
    assert!(err.to_string().contains("`nope` is not a commit"), "{err}");
}

/// Two commits exercising every kind of change; the diff from the first to
/// the second.
fn everything() -> (Git, String, String) {
    let g = Git::new();
    write_all(
        &g,
        "",
        &[
            config(),
            component_file("API", ""),
            component_file("WEB", ""),
            issue_file(
                "NL-aaaa",
                "parent: API; assignee: ana; relates_to: [NL-cccc]",
            ),
            issue_file("NL-bbbb", "parent: API; blocks: [NL-gone]"),
            issue_file("NL-cccc", ""),
            issue_file("NL-dddd", "status: todo"),
            artifact_file(
                "NL-art1",
                "kind: file; file: docs/spec.md; attached_to: [NL-cccc]",
            ),
        ],
    );
    g.write("docs/spec.md", "spec\n");
    // A comment on NL-cccc, which stays.
    g.write(
        &format!(
            ".nonlinear/comments/{}/0193a6f0-0000-7000-8000-00000000c001.md",
            uuid_of("NL-cccc")
        ),
        "---\nid: 0193a6f0-0000-7000-8000-00000000c001\nauthor: ana\n---\nHi.\n",
    );
    let a = g.commit("before");
    // status todo → done, reassigned ana → bo, reparented API → WEB, link
    // relates_to NL-cccc removed, blocks NL-dddd added.
    g.write(
        ".nonlinear/issues/NL-aaaa.md",
        &issue_file(
            "NL-aaaa",
            "status: done; parent: WEB; assignee: bo; blocks: [NL-dddd]",
        )
        .1,
    );
    // The dangling reference is fixed…
    g.write(
        ".nonlinear/issues/NL-bbbb.md",
        &issue_file("NL-bbbb", "parent: API").1,
    );
    // …and a new issue brings an unknown status; NL-dddd is deleted while
    // NL-eeee (new) still blocks it: a dangling reference in a new file.
    g.write(
        ".nonlinear/issues/NL-eeee.md",
        &issue_file("NL-eeee", "status: bogus; blocks: [NL-cccc]").1,
    );
    g.remove(".nonlinear/issues/NL-dddd.md");
    // The artifact's file goes: a problem in a file that did not change.
    g.remove("docs/spec.md");
    // A second comment on NL-cccc: no problem.
    g.write(
        &format!(
            ".nonlinear/comments/{}/0193a6f0-0000-7000-8000-00000000c002.md",
            uuid_of("NL-cccc")
        ),
        "---\nid: 0193a6f0-0000-7000-8000-00000000c002\nauthor: bo\n---\nHo.\n",
    );
    let b = g.commit("after");
    (g, a, b)
}

fn events(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .map(|c| serde_json::to_string(c).expect("serializes"))
        .collect()
}

fn problems(d: &[schema::Diagnostic]) -> Vec<String> {
    d.iter()
        .map(|d| format!("{} {} {}", d.path, d.code.as_str(), d.message))
        .collect()
}

#[test]
fn diff_of_two_revisions() {
    let (g, a, b) = everything();
    let repo = Repo::open(&g.root).unwrap();
    let d = repo.diff(&a, &b).expect("a diff");
    assert!(d.incremental);
    assert_eq!(d.from.commit, a);
    assert_eq!(d.to.spec, b);
    assert_eq!(
        d.files, 5,
        "NL-aaaa, NL-bbbb, NL-dddd, NL-eeee and a comment"
    );
    expect_test::expect![[r#"
        {"event":"field","key":"NL-aaaa","field":"assignee","before":"ana","after":"bo"}
        {"event":"field","key":"NL-aaaa","field":"status","before":"todo","after":"done"}
        {"event":"link_removed","from":"NL-aaaa","kind":"HAS_CHILD","to":"API","layer":2}
        {"event":"link_removed","from":"NL-aaaa","kind":"RELATES_TO","to":"NL-cccc","layer":2}
        {"event":"link_added","from":"NL-aaaa","kind":"HAS_CHILD","to":"WEB","layer":2}
        {"event":"link_added","from":"NL-aaaa","kind":"BLOCKS","to":"NL-dddd","layer":2}
        {"event":"link_removed","from":"NL-bbbb","kind":"BLOCKS","to":"NL-gone","layer":2}
        {"event":"deleted","key":"NL-dddd","kind":"issue","path":".nonlinear/issues/NL-dddd.md","title":"NL-dddd title"}
        {"event":"created","key":"NL-eeee","kind":"issue","path":".nonlinear/issues/NL-eeee.md","title":"NL-eeee title"}
        {"event":"link_added","from":"NL-eeee","kind":"BLOCKS","to":"NL-cccc","layer":2}
    "#]]
    .assert_eq(&(events(&d.diff.changes).join("\n") + "\n"));
    expect_test::expect![[r#"
        [
            ".nonlinear/artifacts/NL-art1.md missing-file artifact file docs/spec.md does not exist in the repository",
            ".nonlinear/issues/NL-aaaa.md dangling-reference `blocks` refers to NL-dddd, which does not exist",
            ".nonlinear/issues/NL-eeee.md unknown-status status `bogus` is not in the workflow (todo, started, done)",
        ]
    "#]]
    .assert_debug_eq(&problems(&d.diff.introduced));
    expect_test::expect![[r#"
        [
            ".nonlinear/issues/NL-bbbb.md dangling-reference `blocks` refers to NL-gone, which does not exist",
        ]
    "#]]
    .assert_debug_eq(&problems(&d.diff.fixed));
    assert_eq!(d.diff.titles["NL-aaaa"], "NL-aaaa title");
    // Reading everything gives the same answer.
    let full = repo.diff_full(&a, &b).unwrap();
    assert!(!full.incremental);
    assert_eq!(full.diff.changes, d.diff.changes);
    assert_eq!(
        problems(&full.diff.introduced),
        problems(&d.diff.introduced)
    );
    assert_eq!(problems(&full.diff.fixed), problems(&d.diff.fixed));
    // Backwards, introduced and fixed swap.
    let back = git::diff_revs(&g.root, &b, &a).unwrap();
    assert_eq!(problems(&back.diff.fixed), problems(&d.diff.introduced));
    assert_eq!(problems(&back.diff.introduced), problems(&d.diff.fixed));
}

#[test]
fn the_blob_cache_answers_like_the_blobs_and_survives_damage() {
    let (g, a, b) = everything();
    let cache = g.root.join(".git/nonlinear/items-by-blob.bin");
    let repo = Repo::open(&g.root).unwrap();
    let first = repo.diff(&a, &b).unwrap();
    assert!(cache.is_file(), "the first diff fills the cache");
    let written = std::fs::read(&cache).unwrap();
    let same = |d: &git::RevDiff| {
        assert_eq!(d.diff.changes, first.diff.changes);
        assert_eq!(
            problems(&d.diff.introduced),
            problems(&first.diff.introduced)
        );
        assert_eq!(problems(&d.diff.fixed), problems(&first.diff.fixed));
        assert_eq!(d.new.items, first.new.items);
        assert_eq!(d.old.items, first.old.items);
    };
    same(&repo.diff(&a, &b).unwrap());
    assert_eq!(
        std::fs::read(&cache).unwrap(),
        written,
        "a diff that found everything in the cache leaves it alone"
    );
    let mut flipped = written.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x55;
    for damage in [
        b"garbage".to_vec(),
        written[..written.len() / 2].to_vec(),
        flipped,
    ] {
        std::fs::write(&cache, damage).unwrap();
        same(&repo.diff(&a, &b).unwrap());
    }
    assert_eq!(std::fs::read(&cache).unwrap(), written, "rebuilt as it was");
    assert_eq!(
        g.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "the cache is in the git directory, not the work tree"
    );
}

#[test]
fn a_reparent_reads_as_one() {
    let (g, a, b) = everything();
    let d = git::diff_revs(&g.root, &a, &b).unwrap();
    let items = nonlinear_indexer::change::by_item(&d.diff.changes);
    let aaaa = items.iter().find(|i| i.key == "NL-aaaa").unwrap();
    assert_eq!(aaaa.reparent, Some((Some("API"), Some("WEB"))));
    assert_eq!(aaaa.links.len(), 2, "relates_to removed, blocks added");
    assert_eq!(aaaa.fields.len(), 2);
    let eeee = items.iter().find(|i| i.key == "NL-eeee").unwrap();
    assert!(eeee.created.is_some() && eeee.reparent.is_none());
}

/// Problems in files that did not change, found without reading every
/// file: a deleted item others still refer to, a component moved under a
/// parent that closes a cycle, a new comment thread.
#[test]
fn incremental_diff_sees_problems_in_unchanged_files() {
    let g = Git::new();
    write_all(
        &g,
        "",
        &[
            config(),
            component_file("API", "parent: WEB"),
            component_file("WEB", ""),
            issue_file("NL-aaaa", "blocks: [NL-bbbb]"),
            issue_file("NL-bbbb", "blocks: [NL-cccc]"),
            issue_file("NL-cccc", ""),
            issue_file("NL-dddd", "relates_to: [NL-cccc]"),
        ],
    );
    let c = |item: &str, n: u32, extra: &str| {
        let id = format!("0193a6f0-0000-7000-8000-0000000{n:05}");
        (
            format!(".nonlinear/comments/{}/{id}.md", uuid_of(item)),
            format!("---\nid: {id}\nauthor: ana\n{extra}---\nText.\n"),
        )
    };
    let (p1, t1) = c("NL-cccc", 1, "");
    let (p2, t2) = c(
        "NL-cccc",
        2,
        "reply_to: 0193a6f0-0000-7000-8000-000000000001\n",
    );
    g.write(&p1, &t1);
    g.write(&p2, &t2);
    let a = g.commit("before");
    // NL-cccc goes (with its first comment, leaving the reply dangling);
    // WEB's parent becomes API: a parent cycle through an unchanged file;
    // NL-cccc's blocker NL-bbbb now blocks NL-aaaa: a blocks cycle.
    g.remove(".nonlinear/issues/NL-cccc.md");
    g.remove(&p1);
    g.write(
        ".nonlinear/components/WEB.md",
        &component_file("WEB", "parent: API").1,
    );
    g.write(
        ".nonlinear/issues/NL-bbbb.md",
        &issue_file("NL-bbbb", "blocks: [NL-aaaa]").1,
    );
    let (p3, t3) = c("NL-aaaa", 3, "");
    g.write(&p3, &t3);
    let b = g.commit("after");
    let repo = Repo::open(&g.root).unwrap();
    let d = repo.diff(&a, &b).unwrap();
    let full = repo.diff_full(&a, &b).unwrap();
    assert!(d.incremental);
    expect_test::expect![[r#"
        [
            ".nonlinear/comments/0193a6f0-0000-7000-8000-37cc0264c55a/0193a6f0-0000-7000-8000-000000000002.md dangling-reference comment is on item 0193a6f0-0000-7000-8000-37cc0264c55a, which does not exist",
            ".nonlinear/comments/0193a6f0-0000-7000-8000-37cc0264c55a/0193a6f0-0000-7000-8000-000000000002.md dangling-reference `reply_to` refers to 0193a6f0-0000-7000-8000-000000000001, which does not exist",
            ".nonlinear/components/API.md parent-cycle HAS_CHILD cycle: the parent of each item is the next: API → WEB → API",
            ".nonlinear/issues/NL-aaaa.md blocks-cycle BLOCKS cycle: each issue blocks the next, so none can start: NL-aaaa → NL-bbbb → NL-aaaa",
            ".nonlinear/issues/NL-dddd.md dangling-reference `relates_to` refers to NL-cccc, which does not exist",
        ]
    "#]]
    .assert_debug_eq(&problems(&d.diff.introduced));
    assert_eq!(
        problems(&full.diff.introduced),
        problems(&d.diff.introduced)
    );
    assert_eq!(problems(&full.diff.fixed), problems(&d.diff.fixed));
    assert_eq!(full.diff.changes, d.diff.changes);
}

#[test]
fn a_changed_config_is_read_whole() {
    let g = Git::new();
    write_all(
        &g,
        "",
        &[
            config(),
            issue_file("NL-aaaa", "assignee: bo"),
            issue_file("NL-bbbb", ""),
        ],
    );
    let a = g.commit("before");
    g.write(
        ".nonlinear/config.yaml",
        &CONFIG.replace("  - {handle: bo}\n", ""),
    );
    let b = g.commit("after");
    let d = git::diff_revs(&g.root, &a, &b).unwrap();
    assert!(!d.incremental);
    assert!(d.diff.changes.is_empty());
    assert_eq!(
        problems(&d.diff.introduced),
        [
            ".nonlinear/issues/NL-aaaa.md unknown-member `assignee` is bo, who is not a member in .nonlinear/config.yaml"
        ]
    );
}

#[test]
fn diff_from_before_the_workspace_existed() {
    let g = Git::new();
    g.write("README.md", "hi\n");
    let a = g.commit("empty");
    write_all(&g, "", &[config(), issue_file("NL-aaaa", "status: bogus")]);
    let b = g.commit("init");
    let d = git::diff_revs(&g.root, &a, &b).unwrap();
    assert_eq!(
        events(&d.diff.changes)[0],
        r#"{"event":"created","key":"NL-aaaa","kind":"issue","path":".nonlinear/issues/NL-aaaa.md","title":"NL-aaaa title"}"#
    );
    assert_eq!(d.diff.introduced.len(), 1);
    assert!(d.diff.fixed.is_empty());
}

#[test]
fn log_follows_a_short_id_rename() {
    let g = Git::new();
    write_all(&g, "", &[config(), issue_file("NL-bbbb", "")]);
    g.commit("workspace");
    g.write(
        ".nonlinear/issues/NL-aaaa.md",
        &issue_file("NL-aaaa", "assignee: ana").1,
    );
    let created = g.commit("create NL-aaaa");
    g.write(
        ".nonlinear/issues/NL-aaaa.md",
        &issue_file("NL-aaaa", "assignee: ana; status: started").1,
    );
    g.commit("start");
    g.write("unrelated.txt", "x\n");
    g.commit("unrelated");
    // `nonlinear mv NL-aaaa NL-login`: same UUID, new short id, new file.
    let renamed = issue_file("NL-aaaa", "assignee: ana; status: started")
        .1
        .replace("short_id: NL-aaaa", "short_id: NL-login");
    g.remove(".nonlinear/issues/NL-aaaa.md");
    g.write(".nonlinear/issues/NL-login.md", &renamed);
    g.commit("rename");
    g.write(
        ".nonlinear/issues/NL-login.md",
        &renamed
            .replace("status: started", "status: done")
            .replace("assignee: ana", "assignee: bo\nblocks: [NL-bbbb]"),
    );
    g.commit("finish");

    let log = git::log(&g.root, "HEAD", "nl-LOGIN").expect("a log");
    assert_eq!(log.key, "NL-login");
    assert_eq!(log.path, ".nonlinear/issues/NL-login.md");
    let summaries: Vec<&str> = log.entries.iter().map(|e| e.summary.as_str()).collect();
    assert_eq!(summaries, ["finish", "rename", "start", "create NL-aaaa"]);
    let last = log.entries.last().unwrap();
    assert_eq!(last.id, created);
    assert_eq!(last.author, "Ana Lima");
    assert_eq!(last.email, "ana@example.com");
    assert_eq!(last.date, "2026-11-24T09:00:00+00:00");
    assert_eq!(last.path, ".nonlinear/issues/NL-aaaa.md");
    let all: Vec<Vec<String>> = log.entries.iter().map(|e| events(&e.changes)).collect();
    expect_test::expect![[r#"
        [
            [
                "{\"event\":\"field\",\"key\":\"NL-login\",\"field\":\"assignee\",\"before\":\"ana\",\"after\":\"bo\"}",
                "{\"event\":\"field\",\"key\":\"NL-login\",\"field\":\"status\",\"before\":\"started\",\"after\":\"done\"}",
                "{\"event\":\"link_added\",\"from\":\"NL-login\",\"kind\":\"BLOCKS\",\"to\":\"NL-bbbb\",\"layer\":2}",
            ],
            [
                "{\"event\":\"field\",\"key\":\"NL-login\",\"field\":\"short_id\",\"before\":\"NL-aaaa\",\"after\":\"NL-login\"}",
                "{\"event\":\"field\",\"key\":\"NL-login\",\"field\":\"path\",\"before\":\".nonlinear/issues/NL-aaaa.md\",\"after\":\".nonlinear/issues/NL-login.md\"}",
            ],
            [
                "{\"event\":\"field\",\"key\":\"NL-aaaa\",\"field\":\"status\",\"before\":\"todo\",\"after\":\"started\"}",
            ],
            [
                "{\"event\":\"created\",\"key\":\"NL-aaaa\",\"kind\":\"issue\",\"path\":\".nonlinear/issues/NL-aaaa.md\",\"title\":\"NL-aaaa title\"}",
            ],
        ]
    "#]]
    .assert_debug_eq(&all);
    // From an older revision the history starts there, under the old name.
    let old = git::log(&g.root, "HEAD~2", "NL-aaaa").unwrap();
    assert_eq!(old.entries.len(), 2);
    // Unknown items are an error.
    let err = git::log(&g.root, "HEAD", "NL-nope").unwrap_err();
    assert_eq!(err.to_string(), "no item NL-nope at HEAD");
}

#[test]
fn log_of_a_component_file_outside_nonlinear() {
    let g = Git::new();
    write_all(&g, "", &[config()]);
    let text = "---\nid: 0193a6f0-0000-7000-8000-0000000000aa\nshort_id: WEB\ntitle: Web\n---\n";
    g.write("src/web/COMPONENT.md", text);
    g.commit("web");
    g.write(
        "src/web/COMPONENT.md",
        &text.replace("title: Web", "title: Web app"),
    );
    g.commit("retitle");
    let log = git::log(&g.root, "HEAD", "web").unwrap();
    assert_eq!(log.entries.len(), 2);
    assert_eq!(
        events(&log.entries[0].changes),
        [r#"{"event":"field","key":"WEB","field":"title","before":"Web","after":"Web app"}"#]
    );
}
