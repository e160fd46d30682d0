//! Manifests of the other ecosystems — `package.json` and `tsconfig.json`,
//! `pyproject.toml`, `go.mod`, Maven `pom.xml`, Gradle build and settings
//! files — and how an import specifier of each language resolves to a
//! directory of the repository.
//!
//! Every parser takes the file's text and never fails: a manifest that
//! does not parse is a [`crate::Problem`] and adds nothing.

use std::collections::HashMap;

use serde_json::Value;

use crate::cargo::DepKind;
use crate::{join, normalize};

/// A manifest file of another ecosystem, by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    PackageJson,
    TsConfig,
    PyProject,
    GoMod,
    Pom,
    Gradle,
    GradleSettings,
}

impl ManifestKind {
    pub fn of(name: &str) -> Option<ManifestKind> {
        Some(match name {
            "package.json" => ManifestKind::PackageJson,
            "tsconfig.json" | "jsconfig.json" => ManifestKind::TsConfig,
            "pyproject.toml" => ManifestKind::PyProject,
            "go.mod" => ManifestKind::GoMod,
            "pom.xml" => ManifestKind::Pom,
            "build.gradle" | "build.gradle.kts" => ManifestKind::Gradle,
            "settings.gradle" | "settings.gradle.kts" => ManifestKind::GradleSettings,
            _ => return None,
        })
    }
}

/// One dependency entry naming a package by its published name.
#[derive(Debug, Clone, PartialEq)]
pub struct Dep {
    pub name: String,
    pub line: u32,
    pub kind: DepKind,
    pub optional: bool,
}

/// What one manifest says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Package {
    /// Workspace-relative path of the manifest.
    pub path: String,
    pub dir: String,
    /// The published name: npm name, Python distribution name (normalized),
    /// Go module path, Maven `groupId:artifactId`, Gradle project path.
    pub name: Option<String>,
    pub deps: Vec<Dep>,
    /// tsconfig `paths`: (pattern, targets relative to the repository).
    pub aliases: Aliases,
    /// Gradle settings: included project path → its directory.
    pub includes: Vec<(String, String)>,
}

/// Parses a manifest; `Err((line, message))` when it does not parse.
pub fn parse(kind: ManifestKind, path: &str, text: &str) -> Result<Package, (u32, String)> {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
    let mut p = Package {
        path: path.to_owned(),
        dir,
        ..Package::default()
    };
    match kind {
        ManifestKind::PackageJson => package_json(&mut p, text)?,
        ManifestKind::TsConfig => tsconfig(&mut p, text)?,
        ManifestKind::PyProject => pyproject(&mut p, text)?,
        ManifestKind::GoMod => go_mod(&mut p, text),
        ManifestKind::Pom => pom(&mut p, text)?,
        ManifestKind::Gradle => gradle(&mut p, text),
        ManifestKind::GradleSettings => gradle_settings(&mut p, text),
    }
    Ok(p)
}

/// The 1-based line of the first `needle` at or after byte `from`.
fn line_of(text: &str, needle: &str, from: usize) -> u32 {
    let at = text
        .get(from..)
        .and_then(|t| t.find(needle))
        .map_or(from, |i| from + i);
    text[..at.min(text.len())].matches('\n').count() as u32 + 1
}

fn package_json(p: &mut Package, text: &str) -> Result<(), (u32, String)> {
    let v: Value = serde_json::from_str(text).map_err(|e| (e.line() as u32, e.to_string()))?;
    p.name = v.get("name").and_then(Value::as_str).map(str::to_owned);
    for (table, kind, optional) in [
        ("dependencies", DepKind::Normal, false),
        ("peerDependencies", DepKind::Normal, false),
        ("optionalDependencies", DepKind::Normal, true),
        ("devDependencies", DepKind::Dev, false),
    ] {
        let Some(deps) = v.get(table).and_then(Value::as_object) else {
            continue;
        };
        let start = text.find(&format!("\"{table}\"")).unwrap_or(0);
        for name in deps.keys() {
            p.deps.push(Dep {
                name: name.clone(),
                line: line_of(text, &format!("\"{name}\""), start),
                kind,
                optional,
            });
        }
    }
    Ok(())
}

fn tsconfig(p: &mut Package, text: &str) -> Result<(), (u32, String)> {
    let v: Value = jsonc_parser::parse_to_serde_value(text, &Default::default())
        .map_err(|e| (line_of(text, "", e.range().start), e.kind().to_string()))?;
    let Some(opts) = v.get("compilerOptions") else {
        return Ok(());
    };
    let base = opts.get("baseUrl").and_then(Value::as_str).unwrap_or(".");
    let base = join(&p.dir, base);
    if let Some(paths) = opts.get("paths").and_then(Value::as_object) {
        for (pattern, targets) in paths {
            let targets = targets
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|t| join(&base, t))
                .collect();
            p.aliases.push((pattern.clone(), targets));
        }
    }
    Ok(())
}

/// PEP 503: lower case, runs of `-_.` as one `-`.
pub fn python_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The distribution name a PEP 508 requirement starts with.
fn requirement_name(req: &str) -> Option<String> {
    let name: String = req
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    (!name.is_empty()).then(|| python_name(&name))
}

fn pyproject(p: &mut Package, text: &str) -> Result<(), (u32, String)> {
    let v: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let line = e.span().map_or(1, |s| line_of(text, "", s.start));
        (line, e.message().to_owned())
    })?;
    let project = v.get("project");
    let poetry = v.get("tool").and_then(|t| t.get("poetry"));
    p.name = project
        .and_then(|x| x.get("name"))
        .or_else(|| poetry.and_then(|x| x.get("name")))
        .and_then(|n| n.as_str())
        .map(python_name);
    let mut push = |req: &str, kind, optional| {
        if let Some(name) = requirement_name(req) {
            let line = line_of(text, req.trim(), 0);
            p.deps.push(Dep {
                name,
                line,
                kind,
                optional,
            });
        }
    };
    let strs = |v: Option<&toml::Value>| -> Vec<String> {
        v.and_then(|x| x.as_array())
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    for r in strs(project.and_then(|x| x.get("dependencies"))) {
        push(&r, DepKind::Normal, false);
    }
    if let Some(opt) = project
        .and_then(|x| x.get("optional-dependencies"))
        .and_then(|x| x.as_table())
    {
        for (_, reqs) in opt {
            for r in strs(Some(reqs)) {
                push(&r, DepKind::Normal, true);
            }
        }
    }
    if let Some(groups) = v.get("dependency-groups").and_then(|x| x.as_table()) {
        for (_, reqs) in groups {
            for r in strs(Some(reqs)) {
                push(&r, DepKind::Dev, false);
            }
        }
    }
    if let Some(poetry) = poetry {
        let mut tables = vec![(poetry.get("dependencies"), DepKind::Normal)];
        tables.push((poetry.get("dev-dependencies"), DepKind::Dev));
        if let Some(groups) = poetry.get("group").and_then(|g| g.as_table()) {
            for (_, g) in groups {
                tables.push((g.get("dependencies"), DepKind::Dev));
            }
        }
        for (t, kind) in tables {
            for (name, _) in t.and_then(|x| x.as_table()).into_iter().flatten() {
                if name != "python" {
                    push(name, kind, false);
                }
            }
        }
    }
    Ok(())
}

fn go_mod(p: &mut Package, text: &str) {
    let mut in_require = false;
    for (i, raw) in text.lines().enumerate() {
        let l = raw.split("//").next().unwrap_or("").trim();
        let line = i as u32 + 1;
        if let Some(m) = l.strip_prefix("module ") {
            p.name = Some(m.trim().trim_matches('"').to_owned());
        } else if l == "require (" {
            in_require = true;
        } else if in_require && l == ")" {
            in_require = false;
        } else if let Some(r) = l.strip_prefix("require ").or(in_require.then_some(l))
            && let Some(m) = r.split_whitespace().next().filter(|m| *m != "(")
        {
            p.deps.push(Dep {
                name: m.trim_matches('"').to_owned(),
                line,
                kind: DepKind::Normal,
                optional: false,
            });
        }
    }
}

fn pom(p: &mut Package, text: &str) -> Result<(), (u32, String)> {
    let doc = roxmltree::Document::parse(text).map_err(|e| (e.pos().row, e.to_string()))?;
    let root = doc.root_element();
    let child = |n: roxmltree::Node, name: &str| -> Option<String> {
        n.children()
            .find(|c| c.has_tag_name(name))
            .and_then(|c| c.text())
            .map(|t| t.trim().to_owned())
    };
    let group = child(root, "groupId").or_else(|| {
        root.children()
            .find(|c| c.has_tag_name("parent"))
            .and_then(|parent| child(parent, "groupId"))
    });
    if let Some(artifact) = child(root, "artifactId") {
        p.name = Some(format!("{}:{artifact}", group.unwrap_or_default()));
    }
    for deps in root.children().filter(|c| c.has_tag_name("dependencies")) {
        for d in deps.children().filter(|c| c.has_tag_name("dependency")) {
            let (Some(g), Some(a)) = (child(d, "groupId"), child(d, "artifactId")) else {
                continue;
            };
            let scope = child(d, "scope").unwrap_or_default();
            p.deps.push(Dep {
                name: format!("{g}:{a}"),
                line: doc.text_pos_at(d.range().start).row,
                kind: if scope == "test" {
                    DepKind::Dev
                } else {
                    DepKind::Normal
                },
                optional: child(d, "optional").is_some_and(|o| o == "true"),
            });
        }
    }
    Ok(())
}

fn gradle(p: &mut Package, text: &str) {
    // `implementation project(':billing:model')`,
    // `testImplementation(project(":x"))`.
    for (i, l) in text.lines().enumerate() {
        let t = l.split("//").next().unwrap_or("");
        let Some(at) = t.find("project(") else {
            continue;
        };
        let config = t[..at].trim().trim_end_matches('(').trim();
        let rest = &t[at + "project(".len()..];
        let name: String = rest
            .trim_start_matches([' ', '\'', '"'])
            .chars()
            .take_while(|c| !matches!(c, '\'' | '"' | ')'))
            .collect();
        if name.starts_with(':') {
            p.deps.push(Dep {
                name,
                line: i as u32 + 1,
                kind: if config.starts_with("test") {
                    DepKind::Dev
                } else {
                    DepKind::Normal
                },
                optional: false,
            });
        }
    }
}

fn gradle_settings(p: &mut Package, text: &str) {
    for l in text.lines() {
        let t = l.split("//").next().unwrap_or("").trim();
        let Some(rest) = t.strip_prefix("include") else {
            continue;
        };
        for part in rest.split(',') {
            let name: String = part
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .trim()
                .trim_matches(['\'', '"'])
                .to_owned();
            if name.is_empty() {
                continue;
            }
            let path = if name.starts_with(':') {
                name.clone()
            } else {
                format!(":{name}")
            };
            let dir = join(&p.dir, &path.trim_start_matches(':').replace(':', "/"));
            p.includes.push((path, dir));
        }
    }
}

/// tsconfig `paths`: (pattern, targets).
type Aliases = Vec<(String, Vec<String>)>;

/// Where the packages of every ecosystem are, for resolving imports and
/// dependencies to directories.
#[derive(Debug, Default)]
pub struct Index {
    npm: HashMap<String, String>,
    python: HashMap<String, String>,
    go: Vec<(String, String)>,
    maven: HashMap<String, String>,
    gradle: HashMap<String, String>,
    /// (directory of a tsconfig, its `paths`), deepest first.
    tsconfigs: Vec<(String, Aliases)>,
    /// Python module (`billing.api`) → file.
    modules: HashMap<String, String>,
    /// Java package → its files' directories.
    packages: HashMap<String, Vec<String>>,
}

impl Index {
    pub fn new<'a>(
        manifests: &[Package],
        python_files: impl Iterator<Item = &'a str>,
        java_packages: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Index {
        let mut ix = Index::default();
        let mut python_roots = vec![String::new()];
        for m in manifests {
            let file = m.path.rsplit('/').next().unwrap_or("");
            match ManifestKind::of(file) {
                Some(ManifestKind::PackageJson) => {
                    if let Some(n) = &m.name {
                        ix.npm.entry(n.clone()).or_insert_with(|| m.dir.clone());
                    }
                }
                Some(ManifestKind::TsConfig) => {
                    ix.tsconfigs.push((m.dir.clone(), m.aliases.clone()));
                }
                Some(ManifestKind::PyProject) => {
                    if let Some(n) = &m.name {
                        ix.python.entry(n.clone()).or_insert_with(|| m.dir.clone());
                    }
                    python_roots.push(m.dir.clone());
                    python_roots.push(join(&m.dir, "src"));
                }
                Some(ManifestKind::GoMod) => {
                    if let Some(n) = &m.name {
                        ix.go.push((n.clone(), m.dir.clone()));
                    }
                }
                Some(ManifestKind::Pom) => {
                    if let Some(n) = &m.name {
                        ix.maven.entry(n.clone()).or_insert_with(|| m.dir.clone());
                    }
                }
                Some(ManifestKind::GradleSettings) => {
                    for (path, dir) in &m.includes {
                        ix.gradle.entry(path.clone()).or_insert_with(|| dir.clone());
                    }
                }
                Some(ManifestKind::Gradle) | None => {}
            }
        }
        // Deepest tsconfig first: the nearest one applies.
        ix.tsconfigs
            .sort_by_key(|(d, _)| std::cmp::Reverse(d.len()));
        ix.go.sort_by_key(|(m, _)| std::cmp::Reverse(m.len()));
        python_roots.sort();
        python_roots.dedup();
        for f in python_files {
            for root in &python_roots {
                let rel = if root.is_empty() {
                    Some(f)
                } else {
                    f.strip_prefix(root.as_str())
                        .and_then(|r| r.strip_prefix('/'))
                };
                let Some(rel) = rel else { continue };
                let Some(stem) = rel.strip_suffix(".py").or_else(|| rel.strip_suffix(".pyi"))
                else {
                    continue;
                };
                let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
                if stem
                    .split('/')
                    .all(|s| s.chars().all(|c| c.is_alphanumeric() || c == '_'))
                {
                    ix.modules
                        .entry(stem.replace('/', "."))
                        .or_insert_with(|| f.to_owned());
                }
            }
        }
        for (file, package) in java_packages {
            let dir = file.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
            let dirs = ix.packages.entry(package.to_owned()).or_default();
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        ix
    }

    /// The directory a dependency of a manifest of `kind` names.
    pub fn dependency(&self, kind: ManifestKind, name: &str) -> Option<String> {
        match kind {
            ManifestKind::PackageJson => self.npm.get(name).cloned(),
            ManifestKind::PyProject => self.python.get(name).cloned(),
            ManifestKind::GoMod => self
                .go
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, d)| d.clone()),
            ManifestKind::Pom => self.maven.get(name).cloned(),
            // Without a settings file naming it, a project's directory is
            // its path from the repository root.
            ManifestKind::Gradle => self
                .gradle
                .get(name)
                .cloned()
                .or_else(|| Some(normalize(&name.trim_start_matches(':').replace(':', "/")))),
            _ => None,
        }
    }

    /// JavaScript/TypeScript: where an import of `spec` from `file` points
    /// (a path; a directory or a file without extension).
    pub fn js(&self, file: &str, spec: &str) -> Option<String> {
        let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
        if spec.starts_with("./") || spec.starts_with("../") || spec == "." || spec == ".." {
            return Some(join(dir, spec));
        }
        for (tdir, aliases) in &self.tsconfigs {
            let applies = tdir.is_empty() || file.starts_with(&format!("{tdir}/"));
            if !applies {
                continue;
            }
            for (pattern, targets) in aliases {
                let Some(target) = targets.first() else {
                    continue;
                };
                match pattern.split_once('*') {
                    Some((pre, post)) => {
                        if let Some(mid) = spec.strip_prefix(pre).and_then(|r| r.strip_suffix(post))
                        {
                            return Some(normalize(&target.replace('*', mid)));
                        }
                    }
                    None if pattern == spec => return Some(target.clone()),
                    None => {}
                }
            }
        }
        // The longest package name that is the spec or its prefix.
        let mut best: Option<(&String, &String)> = None;
        for (name, d) in &self.npm {
            let hit = spec == name
                || spec
                    .strip_prefix(name.as_str())
                    .is_some_and(|r| r.starts_with('/'));
            if hit && best.is_none_or(|(b, _)| b.len() < name.len()) {
                best = Some((name, d));
            }
        }
        best.map(|(_, d)| d.clone())
    }

    /// Python: the file an import names. `names` are the names of
    /// `from spec import …`, which may be submodules.
    pub fn python(&self, file: &str, spec: &str, names: &[String]) -> Option<String> {
        if spec.starts_with('.') {
            let dots = spec.chars().take_while(|c| *c == '.').count();
            let mut dir = file.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
            for _ in 1..dots {
                dir = dir.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
            }
            let rest = spec[dots..].replace('.', "/");
            return Some(if rest.is_empty() {
                dir
            } else {
                join(&dir, &rest)
            });
        }
        let mut full = String::with_capacity(spec.len() + 32);
        for n in names {
            full.clear();
            full.push_str(spec);
            full.push('.');
            full.push_str(n);
            if let Some(f) = self.modules.get(&full) {
                return Some(f.clone());
            }
        }
        let mut m = spec;
        loop {
            if let Some(f) = self.modules.get(m) {
                return Some(f.clone());
            }
            m = m.rsplit_once('.')?.0;
        }
    }

    /// Go: the directory of an imported package of a module in the
    /// repository.
    pub fn go(&self, spec: &str) -> Option<String> {
        self.go.iter().find_map(|(module, dir)| {
            if spec == module {
                Some(dir.clone())
            } else {
                spec.strip_prefix(module.as_str())
                    .and_then(|r| r.strip_prefix('/'))
                    .map(|r| join(dir, r))
            }
        })
    }

    /// Java: the directories holding the package an import names (the
    /// longest package prefix of it that the repository declares).
    pub fn java(&self, spec: &str) -> &[String] {
        let mut m = spec.strip_suffix(".*").unwrap_or(spec);
        loop {
            if let Some(d) = self.packages.get(m) {
                return d;
            }
            match m.rsplit_once('.') {
                Some((p, _)) => m = p,
                None => return &[],
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests() {
        let p = parse(
            ManifestKind::PackageJson,
            "web/package.json",
            "{\n  \"name\": \"@acme/web\",\n  \"dependencies\": {\n    \"@acme/ui\": \"workspace:*\",\n    \"react\": \"18\"\n  },\n  \"devDependencies\": { \"@acme/types\": \"*\" }\n}\n",
        )
        .unwrap();
        assert_eq!(p.name.as_deref(), Some("@acme/web"));
        let d: Vec<_> = p
            .deps
            .iter()
            .map(|d| (d.name.as_str(), d.line, d.kind))
            .collect();
        assert_eq!(
            d,
            [
                ("@acme/ui", 4, DepKind::Normal),
                ("react", 5, DepKind::Normal),
                ("@acme/types", 7, DepKind::Dev)
            ]
        );
        let t = parse(
            ManifestKind::TsConfig,
            "web/tsconfig.json",
            "{ // comment\n \"compilerOptions\": { \"baseUrl\": \".\", \"paths\": { \"@billing/*\": [\"../services/billing/client/*\"], }, },\n}\n",
        )
        .unwrap();
        assert_eq!(
            t.aliases,
            [(
                "@billing/*".to_owned(),
                vec!["services/billing/client/*".to_owned()]
            )]
        );
        let py = parse(
            ManifestKind::PyProject,
            "services/billing/pyproject.toml",
            "[project]\nname = \"Acme_Billing\"\ndependencies = [\n  \"acme-auth-client>=1.0\",\n  \"fastapi\",\n]\n[dependency-groups]\ndev = [\"pytest\"]\n",
        )
        .unwrap();
        assert_eq!(py.name.as_deref(), Some("acme-billing"));
        assert_eq!(py.deps[0].name, "acme-auth-client");
        assert_eq!(py.deps[0].line, 4);
        assert_eq!(py.deps[2].kind, DepKind::Dev);
        let go = parse(
            ManifestKind::GoMod,
            "auth/go.mod",
            "module github.com/acme/shop/auth\n\ngo 1.22\n\nrequire (\n\tgithub.com/acme/shop/proto v0.0.0\n\tgoogle.golang.org/grpc v1.60.0 // indirect\n)\nreplace github.com/acme/shop/proto => ../proto\n",
        )
        .unwrap();
        assert_eq!(go.name.as_deref(), Some("github.com/acme/shop/auth"));
        assert_eq!(go.deps[0].name, "github.com/acme/shop/proto");
        assert_eq!(go.deps[0].line, 6);
        let pom = parse(
            ManifestKind::Pom,
            "ledger/pom.xml",
            "<project>\n  <groupId>com.acme</groupId>\n  <artifactId>ledger</artifactId>\n  <dependencies>\n    <dependency>\n      <groupId>com.acme</groupId>\n      <artifactId>ledger-model</artifactId>\n      <scope>test</scope>\n    </dependency>\n  </dependencies>\n</project>\n",
        )
        .unwrap();
        assert_eq!(pom.name.as_deref(), Some("com.acme:ledger"));
        assert_eq!(pom.deps[0].name, "com.acme:ledger-model");
        assert_eq!((pom.deps[0].line, pom.deps[0].kind), (5, DepKind::Dev));
        assert!(parse(ManifestKind::Pom, "x/pom.xml", "<project>").is_err());
        assert!(parse(ManifestKind::PackageJson, "x/package.json", "{").is_err());
    }

    #[test]
    fn gradle() {
        let b = parse(
            ManifestKind::Gradle,
            "app/build.gradle.kts",
            "dependencies {\n    implementation(project(\":billing:model\"))\n    // implementation project(':old')\n    testImplementation project(':testkit')\n    implementation(\"org.x:y:1\")\n}\n",
        )
        .unwrap();
        let d: Vec<_> = b
            .deps
            .iter()
            .map(|d| (d.name.as_str(), d.line, d.kind))
            .collect();
        assert_eq!(
            d,
            [
                (":billing:model", 2, DepKind::Normal),
                (":testkit", 4, DepKind::Dev)
            ]
        );
        let s = parse(
            ManifestKind::GradleSettings,
            "settings.gradle",
            "rootProject.name = 'shop'\ninclude ':billing:model', 'testkit'\n",
        )
        .unwrap();
        assert_eq!(
            s.includes,
            [
                (":billing:model".to_owned(), "billing/model".to_owned()),
                (":testkit".to_owned(), "testkit".to_owned())
            ]
        );
        let ix = Index::new(&[s], std::iter::empty(), std::iter::empty());
        assert_eq!(
            ix.dependency(ManifestKind::Gradle, ":billing:model")
                .as_deref(),
            Some("billing/model")
        );
        assert_eq!(
            ix.dependency(ManifestKind::Gradle, ":other").as_deref(),
            Some("other")
        );
    }

    #[test]
    fn python_names() {
        assert_eq!(python_name("Acme__Auth.Client"), "acme-auth-client");
        assert_eq!(
            requirement_name(" acme_auth[extra]>=1 ").as_deref(),
            Some("acme-auth")
        );
    }
}
