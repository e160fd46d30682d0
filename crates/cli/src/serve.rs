//! `serve --scratch`: a throwaway copy of a workspace in its own git
//! repository, so that trying the server (the demo) never commits into the
//! repository the workspace came from.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// Copies the workspace containing `start` (without caches and `.git`)
/// into a new temporary directory, commits it there, and returns the
/// directory (removed when dropped) and the copy's root.
pub fn scratch_copy(start: &Path) -> anyhow::Result<(tempfile::TempDir, PathBuf)> {
    let store = schema::store::Store::discover(start)?;
    let dir = tempfile::Builder::new()
        .prefix("nonlinear-scratch-")
        .tempdir()?;
    let root = dir.path().join(
        store
            .root()
            .file_name()
            .map_or_else(|| "workspace".into(), |n| n.to_owned()),
    );
    copy(store.root(), &root)?;
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &["commit", "-q", "--no-verify", "-m", "scratch copy"],
    ] {
        let out = Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .env("GIT_AUTHOR_NAME", "Non-Linear")
            .env("GIT_AUTHOR_EMAIL", "scratch@nonlinear.invalid")
            .env("GIT_COMMITTER_NAME", "Non-Linear")
            .env("GIT_COMMITTER_EMAIL", "scratch@nonlinear.invalid")
            .output()
            .context("running git")?;
        if !out.status.success() {
            bail!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    Ok((dir, root))
}

fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let (src, dst) = (entry.path(), to.join(&name));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if name == ".git"
                || name == "target"
                || name == "node_modules"
                || (name == "cache" && from.ends_with(".nonlinear"))
            {
                continue;
            }
            copy(&src, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
        }
    }
    Ok(())
}
