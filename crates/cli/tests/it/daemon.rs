//! `nonlinear daemon`: the real binary as a background daemon over a
//! generated workspace. Every graph verb answered through it is compared
//! with the same verb run without it (`NONLINEAR_DAEMON=0`), right after
//! each kind of edit — in place, by rename, created, deleted, through the
//! CLI — with no waiting in between: the daemon is never stale. The
//! daemon's request counter proves it answered; a daemon of another build
//! or environment, a killed one and a stopped one are never used.

use std::path::Path;
use std::process::Command;

use crate::support::{BIN, Repo, Run, isolate};

/// A workspace with its own socket directory, and the daemon stopped (or
/// killed) when the test ends, pass or fail.
struct Daemon {
    repo: Repo,
    sockets: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

impl Daemon {
    /// A generated workspace of `issues` issues, committed.
    fn workspace(issues: usize) -> Daemon {
        let repo = Repo::new();
        let n = issues.to_string();
        repo.nl(&["generate", ".", "--issues", &n, "--seed", "5"])
            .code(0);
        repo.commit("generated");
        Daemon {
            repo,
            sockets: tempfile::tempdir().expect("a socket directory"),
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        isolate(&mut cmd)
            .args(args)
            .current_dir(self.repo.root())
            .env("XDG_RUNTIME_DIR", self.sockets.path())
            .env_remove("NONLINEAR_DAEMON");
        cmd
    }

    fn run(&self, cmd: &mut Command, args: &[&str]) -> Run {
        Run::from_output(args, cmd.output().expect("nonlinear runs"))
    }

    /// `nonlinear ARGS`, through the daemon when one answers.
    fn nl(&self, args: &[&str]) -> Run {
        self.run(&mut self.cmd(args), args)
    }

    /// `nonlinear ARGS` without the daemon.
    fn local(&self, args: &[&str]) -> Run {
        self.run(self.cmd(args).env("NONLINEAR_DAEMON", "0"), args)
    }

    fn status(&self) -> Option<serde_json::Value> {
        let run = self.nl(&["daemon", "status", "--json"]);
        (run.code == 0).then(|| run.json())
    }

    fn pid(&self) -> Option<u64> {
        self.status()?["pid"].as_u64()
    }

    fn requests(&self) -> u64 {
        self.status().expect("the daemon runs")["requests"]
            .as_u64()
            .expect("a request count")
    }

    /// Asserts that `args` print the same through the daemon as without
    /// it, and that the daemon answered.
    #[track_caller]
    fn same(&self, args: &[&str]) {
        let before = self.requests();
        let theirs = self.nl(args);
        assert_eq!(self.requests(), before + 1, "the daemon answered {args:?}");
        let ours = self.local(args);
        assert_eq!(theirs.code, ours.code, "{args:?}\n{theirs}\n{ours}");
        assert_eq!(theirs.stdout, ours.stdout, "{args:?} through the daemon");
        assert_eq!(theirs.stderr, ours.stderr, "{args:?} through the daemon");
    }

    fn issue_files(&self) -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(self.repo.path(".nonlinear/issues"))
            .expect("issues")
            .map(|e| {
                format!(
                    ".nonlinear/issues/{}",
                    e.expect("entry").file_name().to_string_lossy()
                )
            })
            .collect();
        files.sort();
        files
    }
}

/// Rewrites `rel` in place (same inode: no rename, no directory change).
fn write_in_place(root: &Path, rel: &str, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(root.join(rel))
        .expect("open for writing");
    f.write_all(text.as_bytes()).expect("write");
}

const VERBS: &[&[&str]] = &[
    &["ready"],
    &["ready", "--json"],
    &["ready", "priority:<=2", "--limit", "7"],
    // Free text reads descriptions, which the daemon holds.
    &["ready", "leak"],
    &["blocked"],
    &["path", "--critical"],
    &["cycles"],
    &["tree", "--depth", "2"],
    &["graph", "--format", "mermaid"],
];

#[cfg(unix)]
#[test]
fn answers_like_the_files_and_is_never_stale() {
    let d = Daemon::workspace(300);
    assert!(d.status().is_none(), "no daemon yet");
    d.nl(&["daemon", "start"]).code(0);
    assert!(d.status().is_some(), "started");

    for verb in VERBS {
        d.same(verb);
    }
    // Verbs that name an item, and errors, answered alike.
    let some = d.local(&["ready", "--json", "--limit", "1"]).json();
    let key = some["items"][0]["short_id"]
        .as_str()
        .expect("a ready issue");
    d.same(&["near", key, "--hops", "2"]);
    d.same(&["blocked", key]);
    d.same(&["near", "NL-nonesuch"]);
    d.same(&["impact", "nonesuch"]);

    let files = d.issue_files();
    let root = d.repo.root().to_owned();
    for (round, rel) in files.iter().take(12).enumerate() {
        let text = d.repo.read(rel);
        let edited = match round % 3 {
            // Closed: leaves `ready`, may unblock others.
            0 => text.replacen("status: ", "status: done\nx_was: ", 1),
            // A new title.
            1 => text.replacen("title: ", &format!("title: Renamed {round} "), 1),
            // Started.
            _ => text.replacen("status: ", "status: in_progress\nx_was: ", 1),
        };
        assert_ne!(edited, text, "{rel} changed");
        // In place, as `echo >>` or an editor without atomic saves.
        write_in_place(&root, rel, &edited);
        d.same(&["ready"]);
        d.same(&["path", "--critical"]);
    }

    // Saved by rename, as editors and our own writes do.
    let rel = &files[20];
    let text = d.repo.read(rel);
    let tmp = root.join(".nonlinear/issues/.swap.tmp");
    std::fs::write(&tmp, text.replacen("title: ", "title: Swapped ", 1)).expect("write");
    std::fs::rename(&tmp, root.join(rel)).expect("rename over");
    d.same(&["ready"]);

    // Deleted: gone at once, no grace period.
    std::fs::remove_file(root.join(&files[21])).expect("remove");
    d.same(&["ready"]);
    d.same(&["blocked"]);

    // Created by another `nonlinear`, and by hand.
    d.nl(&["new", "issue", "Made through the CLI", "--priority", "1"])
        .code(0);
    d.same(&["ready"]);
    std::fs::write(
        root.join(".nonlinear/issues/NL-byhand.md"),
        "---\nid: 0b2f7a1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b\nshort_id: NL-byhand\ntitle: Written by hand\nstatus: todo\npriority: 1\n---\n",
    )
    .expect("write");
    d.same(&["ready"]);
    d.same(&["ready", "--json"]);

    // A file that stops parsing is no item, as for a fresh load; fixed,
    // it is one again.
    let rel = &files[22];
    let text = d.repo.read(rel);
    write_in_place(&root, rel, &text.replacen("---\n", "---\n: [unclosed\n", 1));
    d.same(&["ready"]);
    write_in_place(&root, rel, &text);
    d.same(&["ready"]);

    // A whole directory moved away and back.
    let issues = root.join(".nonlinear/issues");
    let away = root.join("issues-away");
    std::fs::rename(&issues, &away).expect("move away");
    d.same(&["ready"]);
    std::fs::rename(&away, &issues).expect("move back");
    d.same(&["ready"]);

    d.nl(&["daemon", "stop"]).code(0);
    assert!(d.status().is_none(), "stopped");
    // Without a daemon the verbs still answer, from the files.
    let r = d.nl(&["ready"]).code(0);
    assert_eq!(r.stdout, d.local(&["ready"]).stdout);
}

#[cfg(unix)]
#[test]
fn another_environment_a_killed_daemon_and_a_stale_socket_are_not_used() {
    let d = Daemon::workspace(60);
    d.nl(&["daemon", "start"]).code(0);
    let before = d.requests();

    // Another acting member: the daemon's answers could differ (`@me`).
    let ready = d.local(&["ready", "--json"]).json();
    let who = ready["items"]
        .as_array()
        .expect("items")
        .iter()
        .find_map(|i| i["assignee"].as_str())
        .expect("an assigned ready issue")
        .trim_start_matches('@')
        .to_owned();
    let args = ["ready", "assignee:@me"];
    let other = d.run(d.cmd(&args).env("NONLINEAR_ACTOR", &who), &args);
    let want = d.run(
        d.cmd(&args)
            .env("NONLINEAR_ACTOR", &who)
            .env("NONLINEAR_DAEMON", "0"),
        &args,
    );
    assert_eq!(other.stdout, want.stdout);
    assert!(other.stdout.contains(&format!("@{who}")), "{other}");
    // `--rev` reads git, which the daemon does not hold.
    let at = d.nl(&["ready", "--rev", "HEAD"]).code(0);
    assert_eq!(at.stdout, d.local(&["ready", "--rev", "HEAD"]).stdout);
    // `NONLINEAR_DAEMON=0`.
    d.local(&["ready"]).code(0);
    assert_eq!(d.requests(), before, "none of these went to the daemon");

    // Killed without a word: its socket stays behind, and is ignored.
    let pid = d.pid().expect("a pid");
    let killed = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let sockets: Vec<_> = std::fs::read_dir(d.sockets.path().join("nonlinear"))
        .expect("the socket directory")
        .collect();
    assert_eq!(sockets.len(), 1, "the dead daemon's socket is still there");
    let r = d.nl(&["ready"]).code(0);
    assert_eq!(r.stdout, d.local(&["ready"]).stdout);
    d.nl(&["daemon", "status"]).code(1);
    // And a new daemon takes its place.
    d.nl(&["daemon", "start"]).code(0);
    d.same(&["ready"]);
}

#[cfg(unix)]
#[test]
fn socket_directory_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let d = Daemon::workspace(10);
    let shared = d.sockets.path().join("nonlinear");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let r = d.nl(&["daemon", "run"]).code(2);
    assert!(r.stderr.contains("private directory"), "{r}");
    d.nl(&["ready"]).code(0);
}
