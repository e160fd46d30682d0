//! Cargo manifests: packages, their library names, and their dependencies
//! with the line each is declared on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

/// One `Cargo.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Workspace-relative path of the file (`crates/cli/Cargo.toml`).
    pub path: String,
    /// Its directory (`crates/cli`, `""` at the root).
    pub dir: String,
    /// `[package]`, when the manifest has one.
    pub package: Option<Package>,
    /// `[workspace.dependencies]` with a `path`, when the manifest has a
    /// `[workspace]`: key → (directory relative to this manifest, `package`).
    pub workspace_deps: Option<BTreeMap<String, WorkspaceDep>>,
    pub dependencies: Vec<Dependency>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    /// The name sources use: `[lib] name`, else the package name with `-`
    /// replaced by `_`.
    pub lib_name: String,
    /// The library's root file, relative to the manifest's directory
    /// (`[lib] path`, default `src/lib.rs`).
    pub lib_path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceDep {
    pub path: Option<String>,
    pub package: Option<String>,
}

/// Which dependency table an entry is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

impl DepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DepKind::Normal => "normal",
            DepKind::Dev => "dev",
            DepKind::Build => "build",
        }
    }
}

/// One dependency entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dependency {
    /// The entry's key: the name sources use (after `-` → `_`) when the
    /// entry renames with `package`.
    pub key: String,
    /// `package = "…"`.
    pub package: Option<String>,
    /// `path = "…"`, relative to the manifest's directory.
    pub path: Option<String>,
    /// `workspace = true`: path and package come from the root's
    /// `[workspace.dependencies]`.
    pub workspace: bool,
    pub kind: DepKind,
    pub optional: bool,
    /// 1-based line of the entry (its key, or its `[dependencies.key]`
    /// header).
    pub line: u32,
}

/// A manifest that is not valid TOML.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ManifestError {
    pub path: String,
    pub message: String,
}

/// Reads a manifest's text. `path` is its workspace-relative path.
pub fn parse(path: &str, text: &str) -> Result<Manifest, ManifestError> {
    let table: Table = text.parse().map_err(|e: toml::de::Error| ManifestError {
        path: path.to_owned(),
        message: e.message().to_owned(),
    })?;
    let dir = path
        .strip_suffix("Cargo.toml")
        .unwrap_or("")
        .trim_end_matches('/')
        .to_owned();
    let lines = Lines::new(text);
    let package = table
        .get("package")
        .and_then(Value::as_table)
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .map(|name| {
            let lib = table.get("lib").and_then(Value::as_table);
            let lib_name = lib
                .and_then(|l| l.get("name"))
                .and_then(Value::as_str)
                .map_or_else(|| name.replace('-', "_"), str::to_owned);
            let lib_path = lib
                .and_then(|l| l.get("path"))
                .and_then(Value::as_str)
                .unwrap_or("src/lib.rs")
                .trim_start_matches("./")
                .to_owned();
            Package {
                name: name.to_owned(),
                lib_name,
                lib_path,
            }
        });
    let workspace_deps = table.get("workspace").and_then(Value::as_table).map(|w| {
        w.get("dependencies")
            .and_then(Value::as_table)
            .map(|deps| {
                deps.iter()
                    .map(|(k, v)| {
                        let t = v.as_table();
                        let s = |f: &str| t.and_then(|t| t.get(f)).and_then(Value::as_str);
                        (
                            k.clone(),
                            WorkspaceDep {
                                path: s("path").map(str::to_owned),
                                package: s("package").map(str::to_owned),
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    let mut dependencies = Vec::new();
    let mut tables: Vec<(Vec<String>, &Table)> = vec![(Vec::new(), &table)];
    if let Some(targets) = table.get("target").and_then(Value::as_table) {
        for (cfg, t) in targets {
            if let Some(t) = t.as_table() {
                tables.push((vec!["target".into(), cfg.clone()], t));
            }
        }
    }
    for (prefix, t) in tables {
        for (name, kind) in [
            ("dependencies", DepKind::Normal),
            ("dev-dependencies", DepKind::Dev),
            ("dev_dependencies", DepKind::Dev),
            ("build-dependencies", DepKind::Build),
            ("build_dependencies", DepKind::Build),
        ] {
            let Some(deps) = t.get(name).and_then(Value::as_table) else {
                continue;
            };
            let mut header = prefix.clone();
            header.push(name.to_owned());
            for (key, v) in deps {
                let t = v.as_table();
                let s = |f: &str| t.and_then(|t| t.get(f)).and_then(Value::as_str);
                let b = |f: &str| t.and_then(|t| t.get(f)).and_then(Value::as_bool);
                dependencies.push(Dependency {
                    key: key.clone(),
                    package: s("package").map(str::to_owned),
                    path: s("path").map(str::to_owned),
                    workspace: b("workspace").unwrap_or(false),
                    kind,
                    optional: b("optional").unwrap_or(false),
                    line: lines.find(&header, key),
                });
            }
        }
    }
    dependencies.sort_by(|a, b| (a.line, &a.key).cmp(&(b.line, &b.key)));
    Ok(Manifest {
        path: path.to_owned(),
        dir,
        package,
        workspace_deps,
        dependencies,
    })
}

/// Finds the line of a key by scanning the text: the `toml` crate's tables
/// do not keep positions.
struct Lines<'a> {
    /// (normalized table header, 1-based line) of every `[header]`.
    headers: Vec<(String, usize)>,
    lines: Vec<&'a str>,
}

/// A table path without quotes and spaces: `target.'cfg(unix)'.dependencies`
/// → `target.cfg(unix).dependencies`.
fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '"' | '\'' | '[' | ']') && !c.is_whitespace())
        .collect()
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Lines<'a> {
        let lines: Vec<&str> = text.lines().collect();
        let headers = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with('['))
            .map(|(i, l)| {
                let l = l.split('#').next().unwrap_or("");
                (normalize(l), i + 1)
            })
            .collect();
        Lines { headers, lines }
    }

    /// The line of `key` in the table `header`, or of the `[header.key]`
    /// table; 1 when not found.
    fn find(&self, header: &[String], key: &str) -> u32 {
        let table = normalize(&header.join("."));
        let own = format!("{table}.{}", normalize(key));
        for (i, (h, line)) in self.headers.iter().enumerate() {
            if *h == own || h.starts_with(&format!("{own}.")) {
                return *line as u32;
            }
            if *h != table {
                continue;
            }
            let end = self
                .headers
                .get(i + 1)
                .map_or(self.lines.len(), |(_, l)| l - 1);
            for n in *line..end {
                let l = self.lines[n].trim_start();
                let rest = l
                    .strip_prefix(key)
                    .or_else(|| l.strip_prefix(&format!("\"{key}\"")))
                    .or_else(|| l.strip_prefix(&format!("'{key}'")));
                if let Some(rest) = rest
                    && matches!(rest.trim_start().chars().next(), Some('=' | '.'))
                {
                    return n as u32 + 1;
                }
            }
        }
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_kinds() {
        let text = r#"[package]
name = "app-core"

[lib]
name = "core_lib"

[dependencies]
serde = "1"
util = { path = "../util", optional = true }
shared.workspace = true

[dev-dependencies.helper]
path = "../helper"

[target.'cfg(unix)'.build-dependencies]
gen = { path = "../gen", package = "my-gen" }
"#;
        let m = parse("crates/core/Cargo.toml", text).expect("valid toml");
        assert_eq!(m.dir, "crates/core");
        let p = m.package.expect("has a package");
        assert_eq!(p.lib_name, "core_lib");
        let got: Vec<_> = m
            .dependencies
            .iter()
            .map(|d| (d.key.as_str(), d.kind, d.line, d.optional, d.workspace))
            .collect();
        assert_eq!(
            got,
            [
                ("serde", DepKind::Normal, 8, false, false),
                ("util", DepKind::Normal, 9, true, false),
                ("shared", DepKind::Normal, 10, false, true),
                ("helper", DepKind::Dev, 12, false, false),
                ("gen", DepKind::Build, 16, false, false),
            ]
        );
    }
}
