//! Architecture rules: the config's `architecture:` list checked against
//! every Layer-3 link — written in component files and inferred by the
//! analyzer — so that CI can stop a change that breaks the intended
//! architecture. Each violation is a diagnostic at the place that makes
//! the link (the code line of the first piece of evidence, or the
//! component field), with the rule as a related place.
//!
//! A pattern names components by key (`AUTH`) or by code path, as a glob
//! (`web/*`, `services/**`); `*` stays within one path segment.

use globset::{Glob, GlobMatcher};
use schema::diagnostic::{Code, Diagnostic};
use schema::model::Rule;
use schema::parse::CONFIG_PATH;
use schema::text::Pos;
use schema::{Item, Workspace};

use crate::graph::EdgeKind;
use crate::inferred::{EDGES_PATH, Inferred};

/// One link to judge.
struct Link<'a> {
    kind: &'static str,
    from: &'a str,
    to: String,
    /// Where it is made: (file, line), and how it is known.
    at: (String, u32),
    how: &'static str,
}

struct Pattern {
    raw: String,
    glob: Option<GlobMatcher>,
}

impl Pattern {
    fn new(raw: &str) -> Pattern {
        let glob = Glob::new(raw.trim_matches('/'))
            .ok()
            .map(|g| g.compile_matcher());
        Pattern {
            raw: raw.to_owned(),
            glob,
        }
    }

    fn matches(&self, key: &str, path: Option<&str>) -> bool {
        if self.raw == key {
            return true;
        }
        match (&self.glob, path) {
            (Some(g), Some(p)) => g.is_match(p) || g.is_match(key),
            (Some(g), None) => g.is_match(key),
            _ => false,
        }
    }
}

/// What the field of a link kind is called in component files.
fn field(kind: EdgeKind) -> Option<&'static str> {
    Some(match kind {
        EdgeKind::DependsOn => "depends_on",
        EdgeKind::Imports => "imports",
        EdgeKind::CallsApi => "calls_api",
        EdgeKind::SharesDb => "shares_db",
        _ => return None,
    })
}

/// The violations of the workspace's architecture rules by its manual
/// links and by `inferred` (the analyzer's file), sorted.
pub fn violations(ws: &Workspace, inferred: &[Inferred]) -> Vec<Diagnostic> {
    let Some(config) = &ws.config else {
        return Vec::new();
    };
    if config.architecture.is_empty() {
        return Vec::new();
    }
    let components: Vec<&Item> = ws
        .items
        .iter()
        .filter(|i| i.component().is_some())
        .collect();
    let path_of = |key: &str| -> Option<String> {
        let item = components.iter().find(|i| i.short_str() == key)?;
        let c = item.component()?;
        let p = c.repo.path.as_ref().map(|p| p.value.clone()).or_else(|| {
            // A `COMPONENT.md` stands for its directory.
            item.path.strip_suffix("/COMPONENT.md").map(str::to_owned)
        })?;
        Some(p.trim_start_matches("./").trim_end_matches('/').to_owned())
    };
    let mut links: Vec<Link> = Vec::new();
    for item in &components {
        let c = item.component().expect("components only");
        for (kind, refs) in [
            ("depends_on", &c.depends_on),
            ("imports", &c.imports),
            ("calls_api", &c.calls_api),
            ("shares_db", &c.shares_db),
        ] {
            for r in refs {
                let Some(to) = ws.resolve(&r.value) else {
                    continue;
                };
                links.push(Link {
                    kind,
                    from: item.short_str(),
                    to: to.short_str().to_owned(),
                    at: (item.path.clone(), r.pos.line),
                    how: "declared",
                });
            }
        }
    }
    for e in inferred {
        let Some(kind) = field(e.kind) else { continue };
        let at = e
            .evidence
            .first()
            .and_then(|v| {
                let (file, line) = v.rsplit_once(':')?;
                Some((file.to_owned(), line.parse().ok()?))
            })
            .unwrap_or_else(|| (EDGES_PATH.to_owned(), 1));
        links.push(Link {
            kind,
            from: &e.from,
            to: e.to.clone(),
            at,
            how: "inferred",
        });
    }
    let mut out = Vec::new();
    for rule in &config.architecture {
        let from: Vec<Pattern> = rule.from.iter().map(|p| Pattern::new(p)).collect();
        let to: Vec<Pattern> = rule.to.iter().map(|p| Pattern::new(p)).collect();
        for l in &links {
            if !rule.kinds.iter().any(|k| k == l.kind) {
                continue;
            }
            let from_path = path_of(l.from);
            if !from.iter().any(|p| p.matches(l.from, from_path.as_deref())) {
                continue;
            }
            let to_path = path_of(&l.to);
            let to_hit = to.iter().any(|p| p.matches(&l.to, to_path.as_deref()));
            if to_hit != rule.deny {
                continue;
            }
            out.push(violation(rule, l));
        }
    }
    schema::diagnostic::sort(&mut out);
    out.dedup();
    out
}

fn violation(rule: &Rule, l: &Link) -> Diagnostic {
    let what = if rule.deny {
        format!(
            "denies {} from {} to {}",
            rule.kinds.join(", "),
            rule.from.join(", "),
            rule.to.join(", ")
        )
    } else {
        format!(
            "allows {} from {} only to {}",
            rule.kinds.join(", "),
            rule.from.join(", "),
            rule.to.join(", ")
        )
    };
    let mut message = format!(
        "{} link {} → {} ({}) breaks an architecture rule: it {what}",
        l.how, l.from, l.to, l.kind
    );
    if let Some(r) = &rule.reason {
        message.push_str(&format!(" — {r}"));
    }
    Diagnostic::new(
        Code::ArchitectureRule,
        &l.at.0,
        Pos {
            line: l.at.1.max(1),
            col: 1,
        },
        message,
    )
    .related(CONFIG_PATH, rule.pos, "the rule")
}
