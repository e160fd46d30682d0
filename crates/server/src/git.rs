//! Committing API writes: the `git` program, run in the workspace.
//!
//! Only the files a write touched are committed (`git commit --only`
//! semantics: other staged or unstaged edits in the work tree stay as they
//! are, uncommitted). The acting member is the author; the committer is
//! whoever the repository's config names, or the server's own identity
//! when it names nobody.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone)]
pub struct Git {
    /// The workspace root; the paths given are relative to it.
    root: PathBuf,
    /// Set when the repository has no `user.email`: git would refuse to
    /// commit without a committer.
    committer: Option<(String, String)>,
}

/// Who a commit is by.
#[derive(Debug, Clone)]
pub struct Author {
    pub name: String,
    pub email: String,
}

#[derive(Debug, thiserror::Error)]
#[error("git {args}: {message}")]
pub struct GitError {
    args: String,
    message: String,
}

impl Git {
    /// The repository holding `root`, if it is in one and `git` runs.
    pub fn detect(root: &Path) -> Option<Git> {
        let out = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(["rev-parse", "--show-toplevel"])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let email = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(["config", "user.email"])
            .output()
            .ok()
            .filter(|o| o.status.success() && !o.stdout.trim_ascii().is_empty());
        Some(Git {
            root: root.to_owned(),
            committer: email.is_none().then(|| {
                (
                    "Non-Linear server".to_owned(),
                    "server@nonlinear.invalid".to_owned(),
                )
            }),
        })
    }

    fn run(
        &self,
        args: &[&str],
        paths: &[String],
        author: Option<&Author>,
    ) -> Result<String, GitError> {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.root).args(args);
        if !paths.is_empty() {
            cmd.arg("--").args(paths);
        }
        if let Some((name, email)) = &self.committer {
            cmd.env("GIT_COMMITTER_NAME", name)
                .env("GIT_COMMITTER_EMAIL", email);
        }
        if let Some(a) = author {
            cmd.env("GIT_AUTHOR_NAME", &a.name)
                .env("GIT_AUTHOR_EMAIL", &a.email);
        }
        // Never ask anything on a terminal; hooks and signing are the
        // repository's business (a failing hook fails the write's commit).
        cmd.env("GIT_TERMINAL_PROMPT", "0");
        let err = |message: String| GitError {
            args: args.join(" "),
            message,
        };
        let out = cmd.output().map_err(|e| err(e.to_string()))?;
        if !out.status.success() {
            let mut m = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            if m.is_empty() {
                m = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            }
            return Err(err(m));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Commits `paths` (workspace-relative; created, modified or deleted)
    /// with `message`. Returns the new commit's id, or `None` when the
    /// files already match `HEAD`.
    pub fn commit(
        &self,
        paths: &[String],
        message: &str,
        author: &Author,
    ) -> Result<Option<String>, GitError> {
        if paths.is_empty() {
            return Ok(None);
        }
        // Stages additions, modifications and deletions of these paths only.
        self.run(&["add", "-A"], paths, None)?;
        match self.run(
            &["commit", "--no-verify", "--only", "-m", message],
            paths,
            Some(author),
        ) {
            // `[main 1a2b3c4] message`, or `[main (root-commit) 1a2b3c4] …`.
            Ok(out) => Ok(out
                .lines()
                .next()
                .and_then(|l| l.split(']').next())
                .and_then(|l| l.split_whitespace().last())
                .map(str::to_owned)),
            Err(e)
                if e.message.contains("nothing to commit")
                    || e.message.contains("no changes added") =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
