//! Helpers shared by every test: a temporary git repository, a way to run
//! the real `nonlinear` binary in it, and a compact view of what git says
//! changed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_nonlinear");

/// Settings that keep the machine's git configuration (and the caller's
/// acting member) out of every child process.
pub fn isolate(cmd: &mut Command) -> &mut Command {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", "2026-11-24T09:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-11-24T09:00:00Z")
        .env_remove("NONLINEAR_ACTOR")
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .env_remove("GIT_COMMITTER_NAME")
        .env_remove("GIT_COMMITTER_EMAIL")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
}

/// What a finished `nonlinear` process printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_output(args: &[&str], out: Output) -> Run {
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        // Whatever the input, the binary never panics (a panic would also
        // exit with 101, which no test expects).
        assert!(
            !run.stderr.contains("panicked") && !run.stdout.contains("panicked"),
            "nonlinear {args:?} panicked:\n{run}"
        );
        run
    }

    /// Asserts the exit code and returns `self` for more checks.
    #[track_caller]
    pub fn code(self, want: i32) -> Run {
        assert_eq!(self.code, want, "unexpected exit code:\n{self}");
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `nonlinear ARGS` in `dir`.
pub fn nl_in(dir: &Path, args: &[&str]) -> Run {
    let out = isolate(Command::new(BIN).args(args).current_dir(dir))
        .output()
        .expect("the nonlinear binary runs");
    Run::from_output(args, out)
}

/// A git repository in a temporary directory.
#[derive(Debug)]
pub struct Repo {
    dir: tempfile::TempDir,
    /// The canonical path of `dir` (macOS's /tmp is a symlink).
    root: PathBuf,
}

impl Repo {
    /// An empty repository.
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().canonicalize().expect("canonical temp dir");
        let repo = Repo { dir, root };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// A repository holding `files` (path, content), committed.
    pub fn with_files(files: &[(&str, &str)]) -> Repo {
        let repo = Repo::new();
        for (rel, text) in files {
            repo.write(rel, text);
        }
        repo.commit("initial");
        repo
    }

    pub fn root(&self) -> &Path {
        let _ = &self.dir;
        &self.root
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("a file in a directory"))
            .expect("create parent directories");
        std::fs::write(&path, text).expect("write a file");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    pub fn read_bytes(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
    }

    /// Runs git in the repository and returns its stdout; git must succeed.
    #[track_caller]
    pub fn git(&self, args: &[&str]) -> String {
        let out = isolate(
            Command::new("git")
                .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
                .args(["-c", "commit.gpgsign=false", "-c", "core.autocrlf=false"])
                .args(args)
                .current_dir(&self.root),
        )
        .output()
        .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("git prints UTF-8 here")
    }

    /// Stages everything and commits it.
    pub fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
    }

    /// Runs `nonlinear ARGS` at the repository's top.
    pub fn nl(&self, args: &[&str]) -> Run {
        nl_in(&self.root, args)
    }

    /// Runs `nonlinear ARGS` in the subdirectory `rel`.
    pub fn nl_at(&self, rel: &str, args: &[&str]) -> Run {
        nl_in(&self.path(rel), args)
    }

    /// Everything that changed since the last commit (untracked files
    /// included), one block per file:
    ///
    /// ```text
    /// M path            (modified; followed by its -/+ lines, zero context)
    /// A path            (added; content not shown)
    /// D path            (deleted)
    /// R old -> new      (renamed; followed by its -/+ lines)
    /// ```
    ///
    /// The changes are staged (not committed) so that renames are found.
    pub fn changes(&self) -> String {
        self.git(&["add", "-A"]);
        let patch = self.git(&[
            "diff",
            "--cached",
            "-U0",
            "-M",
            "--no-color",
            "--no-ext-diff",
            "--src-prefix=a/",
            "--dst-prefix=b/",
        ]);
        render_patch(&patch)
    }

    /// Lines added and removed per file, as `git diff --numstat` prints them
    /// (renames as `old => new`).
    pub fn numstat(&self) -> String {
        self.git(&["add", "-A"]);
        self.git(&["diff", "--cached", "--numstat", "-M"])
    }

    /// Commits whatever changed, making it the base of the next `changes`.
    pub fn settle(&self) {
        self.commit("settle");
    }

    /// Workspace files that look like the store's temporary files.
    pub fn temp_files(&self) -> Vec<String> {
        let mut found = Vec::new();
        walk(&self.root, &mut |rel, _| {
            let name = rel.rsplit('/').next().unwrap_or(rel);
            if name.starts_with('.') && name.ends_with(".tmp") {
                found.push(rel.to_owned());
            }
        });
        found
    }

    #[track_caller]
    pub fn assert_no_temp_files(&self) {
        let found = self.temp_files();
        assert!(found.is_empty(), "temporary files left behind: {found:?}");
    }
}

/// Calls `f(relative path, bytes)` for every file under `root`, in sorted
/// order, skipping `.git`.
pub fn walk(root: &Path, f: &mut dyn FnMut(&str, &[u8])) {
    fn go(root: &Path, dir: &Path, f: &mut dyn FnMut(&str, &[u8])) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read a directory")
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            let kind = std::fs::symlink_metadata(&path)
                .expect("file metadata")
                .file_type();
            if kind.is_dir() {
                go(root, &path, f);
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .expect("below the root")
                .to_string_lossy()
                .replace('\\', "/");
            // A symlink stands for its target's name, not its content.
            let bytes = if kind.is_symlink() {
                let target = std::fs::read_link(&path).expect("read a link");
                target.to_string_lossy().into_owned().into_bytes()
            } else {
                std::fs::read(&path).expect("read a file")
            };
            f(&rel, &bytes);
        }
    }
    go(root, root, f);
}

/// The compact form of a `git diff -U0` patch described at
/// [`Repo::changes`].
fn render_patch(patch: &str) -> String {
    let mut out = String::new();
    let mut header: Option<(char, String)> = None;
    let mut paths = (String::new(), String::new());
    let mut in_hunk = false;
    let flush = |out: &mut String, header: &mut Option<(char, String)>| {
        if let Some((status, path)) = header.take() {
            out.push_str(&format!("{status} {path}\n"));
        }
    };
    // Split on `\n` only: a CRLF file's lines keep their `\r`.
    for line in patch.split_terminator('\n') {
        if let Some(rest) = line.strip_prefix("diff --git a/") {
            flush(&mut out, &mut header);
            let (a, b) = rest.split_once(" b/").expect("diff --git a/X b/Y");
            paths = (a.to_owned(), b.to_owned());
            header = Some(('M', a.to_owned()));
            in_hunk = false;
        } else if !in_hunk && line.starts_with("new file mode") {
            header = Some(('A', paths.1.clone()));
        } else if !in_hunk && line.starts_with("deleted file mode") {
            header = Some(('D', paths.0.clone()));
        } else if !in_hunk && line.starts_with("rename to ") {
            header = Some(('R', format!("{} -> {}", paths.0, paths.1)));
        } else if line.starts_with("@@") {
            let added = matches!(header, Some(('A', _)));
            flush(&mut out, &mut header);
            // New files are listed, not shown.
            in_hunk = !added;
        } else if in_hunk && (line.starts_with(['+', '-']) || line.starts_with("\\ ")) {
            out.push_str(line);
            out.push('\n');
        }
    }
    flush(&mut out, &mut header);
    out
}
