//! Synthetic workspaces with a realistic shape, deterministic by seed, for
//! benchmarks and scale tests.
//!
//! Shape: a component tree about four levels deep (one component per ~80
//! issues, at least 12); 70 % of issues hang off a component and the rest
//! are sub-issues of earlier issues; about a fifth block one or two later
//! issues (so BLOCKS stays acyclic); some relate to or duplicate others;
//! descriptions of 200–1,500 characters and two comments per issue on
//! average. Every generated workspace passes `check`.

use std::collections::HashSet;

use uuid::Uuid;

use crate::edit::{Field, Scalar, render};
use crate::ids;

/// How big a workspace to generate.
#[derive(Debug, Clone)]
pub struct Shape {
    pub issues: usize,
    pub components: usize,
    /// Average comments per issue.
    pub comments_per_issue: f64,
}

impl Shape {
    pub fn with_issues(issues: usize) -> Shape {
        Shape {
            issues,
            components: (issues / 80).max(12),
            comments_per_issue: 2.0,
        }
    }
}

const WORDS: &[&str] = &[
    "login",
    "token",
    "refresh",
    "session",
    "cache",
    "upload",
    "thumbnail",
    "album",
    "share",
    "invite",
    "search",
    "index",
    "query",
    "latency",
    "timeout",
    "retry",
    "queue",
    "worker",
    "webhook",
    "payment",
    "invoice",
    "billing",
    "export",
    "import",
    "migration",
    "schema",
    "column",
    "table",
    "backup",
    "restore",
    "permission",
    "role",
    "policy",
    "audit",
    "metrics",
    "dashboard",
    "alert",
    "crash",
    "memory",
    "leak",
    "render",
    "layout",
    "mobile",
    "keyboard",
    "shortcut",
    "palette",
    "filter",
    "sort",
    "pagination",
    "cursor",
    "stream",
    "socket",
    "reconnect",
    "offline",
    "sync",
    "conflict",
    "merge",
    "branch",
    "deploy",
    "rollback",
    "config",
    "secret",
    "certificate",
    "proxy",
    "header",
    "cookie",
    "redirect",
    "email",
    "notification",
    "digest",
    "onboarding",
    "signup",
    "password",
    "reset",
    "avatar",
    "profile",
    "settings",
    "theme",
    "accessibility",
    "contrast",
    "translation",
    "locale",
];
const STATUSES: &[(&str, u32)] = &[
    ("backlog", 20),
    ("todo", 25),
    ("in_progress", 12),
    ("in_review", 5),
    ("done", 33),
    ("canceled", 5),
];
const LABELS: &[&str] = &[
    "bug",
    "feature",
    "chore",
    "perf",
    "security",
    "ux",
    "docs",
    "infra",
    "api",
    "web",
    "mobile",
    "data",
    "p1",
    "tech-debt",
    "regression",
];

/// Generates `(workspace-relative path, file text)` pairs.
pub fn generate(shape: &Shape, seed: u64) -> Vec<(String, String)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut files = Vec::with_capacity(shape.issues * 4);
    let members: Vec<String> = (0..20)
        .map(|i| {
            if i < 3 {
                format!("agent{i}")
            } else {
                format!("dev{i}")
            }
        })
        .collect();
    let cycles: Vec<String> = (1..=6).map(|i| format!("2026-c{i}")).collect();
    files.push((
        crate::parse::CONFIG_PATH.to_owned(),
        config(&members, &cycles),
    ));
    files.push((".nonlinear/.gitignore".to_owned(), "cache/\n".to_owned()));

    let mut clock: i64 = 1_767_225_600_000; // 2026-01-01
    let mut next_id = |rng: &mut fastrand::Rng| {
        clock += rng.i64(1..60_000);
        let mut bytes = [0u8; 10];
        rng.fill(&mut bytes);
        uuid::Builder::from_unix_timestamp_millis(clock as u64, &bytes).into_uuid()
    };

    // Components: a tree, each parent earlier than its children.
    let mut comp_keys: Vec<String> = Vec::with_capacity(shape.components);
    let mut comp_ids = Vec::with_capacity(shape.components);
    for c in 0..shape.components {
        let id = next_id(&mut rng);
        let key = format!("C{c}");
        let parent = match c {
            0 => None,
            1..=4 => Some(0),
            _ => Some(rng.usize(1..c.clamp(2, 1 + c / 3 + 1).max(2))),
        };
        let mut fields: Vec<(&str, Field)> = vec![
            ("id", Field::Scalar(Scalar::raw(id.to_string()))),
            ("short_id", Field::Scalar(Scalar::str(&key))),
            (
                "title",
                Field::Scalar(Scalar::str(format!(
                    "{} {}",
                    cap(WORDS[rng.usize(..WORDS.len())]),
                    ["service", "module", "library", "worker", "ui"][c % 5]
                ))),
            ),
            (
                "owner",
                Field::Scalar(Scalar::str(&members[rng.usize(..members.len())])),
            ),
            (
                "repo",
                Field::Scalar(Scalar::raw(format!("{{path: src/c{c}}}"))),
            ),
        ];
        if let Some(p) = parent {
            fields.push(("parent", Field::Scalar(Scalar::str(&comp_keys[p]))));
        }
        if c > 1 && rng.u8(..4) == 0 {
            fields.push((
                "depends_on",
                Field::List(vec![comp_keys[rng.usize(1..c)].clone()]),
            ));
        }
        files.push((
            format!(".nonlinear/components/{key}.md"),
            render(&fields, &sentence(&mut rng, 30)),
        ));
        comp_keys.push(key);
        comp_ids.push(id);
    }

    // Issues.
    let len = ids::suffix_len(shape.issues);
    let mut shorts: Vec<String> = Vec::with_capacity(shape.issues);
    let mut issue_ids: Vec<Uuid> = Vec::with_capacity(shape.issues);
    let mut taken = HashSet::with_capacity(shape.issues);
    for _ in 0..shape.issues {
        let id = next_id(&mut rng);
        let mut l = len;
        let mut short = ids::short_id("NL", id, l);
        while !taken.insert(short.to_ascii_lowercase()) {
            l += 1;
            short = ids::short_id("NL", id, l);
        }
        shorts.push(short);
        issue_ids.push(id);
    }
    let total_weight: u32 = STATUSES.iter().map(|s| s.1).sum();
    for i in 0..shape.issues {
        let id = issue_ids[i];
        let mut pick = rng.u32(..total_weight);
        let status = STATUSES
            .iter()
            .find(|(_, w)| {
                if pick < *w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .map_or("todo", |s| s.0);
        let mut fields: Vec<(&str, Field)> = vec![
            ("id", Field::Scalar(Scalar::raw(id.to_string()))),
            ("short_id", Field::Scalar(Scalar::str(&shorts[i]))),
            ("title", Field::Scalar(Scalar::str(title(&mut rng)))),
            ("status", Field::Scalar(Scalar::str(status))),
            (
                "priority",
                Field::Scalar(Scalar::raw(rng.u8(0..=4).to_string())),
            ),
        ];
        let nl = rng.usize(0..3);
        if nl > 0 {
            let mut ls: Vec<String> = (0..nl)
                .map(|_| LABELS[rng.usize(..LABELS.len())].to_owned())
                .collect();
            ls.sort();
            ls.dedup();
            fields.push(("labels", Field::List(ls)));
        }
        if rng.u8(..10) < 7 {
            fields.push((
                "assignee",
                Field::Scalar(Scalar::str(&members[rng.usize(..members.len())])),
            ));
        }
        fields.push((
            "created_by",
            Field::Scalar(Scalar::str(&members[rng.usize(..members.len())])),
        ));
        fields.push(("created_at", Field::Scalar(Scalar::raw(timestamp(id)))));
        if rng.u8(..3) == 0 {
            fields.push((
                "cycle",
                Field::Scalar(Scalar::str(&cycles[rng.usize(..cycles.len())])),
            ));
        }
        if rng.u8(..4) != 0 {
            fields.push((
                "estimate",
                Field::Scalar(Scalar::raw([1, 2, 3, 5, 8][rng.usize(..5)].to_string())),
            ));
        }
        let parent = if i > 0 && rng.u8(..10) < 3 {
            shorts[rng.usize(i.saturating_sub(200)..i)].clone()
        } else {
            comp_keys[rng.usize(..comp_keys.len())].clone()
        };
        fields.push(("parent", Field::Scalar(Scalar::str(parent))));
        if i + 1 < shape.issues && rng.u8(..5) == 0 {
            let n = rng.usize(1..=2);
            let mut b: Vec<String> = (0..n)
                .map(|_| shorts[rng.usize(i + 1..(i + 300).min(shape.issues))].clone())
                .collect();
            b.dedup();
            fields.push(("blocks", Field::List(b)));
        }
        if i > 0 && rng.u8(..10) == 0 {
            fields.push((
                "relates_to",
                Field::List(vec![shorts[rng.usize(..i)].clone()]),
            ));
        }
        if i > 0 && rng.u8(..50) == 0 {
            fields.push((
                "duplicates",
                Field::List(vec![shorts[rng.usize(..i)].clone()]),
            ));
        }
        let body_len = rng.usize(200..1500);
        files.push((
            format!(".nonlinear/issues/{}.md", shorts[i]),
            render(&fields, &paragraphs(&mut rng, body_len)),
        ));

        // Comments: Poisson-ish around the average.
        let n = (rng.f64() * shape.comments_per_issue * 2.0).round() as usize;
        let mut first: Option<Uuid> = None;
        for _ in 0..n {
            let cid = next_id(&mut rng);
            let mut cf: Vec<(&str, Field)> = vec![
                ("id", Field::Scalar(Scalar::raw(cid.to_string()))),
                (
                    "author",
                    Field::Scalar(Scalar::str(&members[rng.usize(..members.len())])),
                ),
                ("created_at", Field::Scalar(Scalar::raw(timestamp(cid)))),
            ];
            if let Some(f) = first.filter(|_| rng.bool()) {
                cf.push(("reply_to", Field::Scalar(Scalar::raw(f.to_string()))));
            }
            first.get_or_insert(cid);
            let len = rng.usize(50..400);
            files.push((
                format!(".nonlinear/comments/{id}/{cid}.md"),
                render(&cf, &paragraphs(&mut rng, len)),
            ));
        }
    }
    files
}

fn config(members: &[String], cycles: &[String]) -> String {
    let mut s = String::from("version: 1\nkey: NL\nname: Synthetic\nstatuses:\n");
    for (k, cat) in [
        ("backlog", "backlog"),
        ("todo", "unstarted"),
        ("in_progress", "started"),
        ("in_review", "started"),
        ("done", "completed"),
        ("canceled", "canceled"),
    ] {
        s.push_str(&format!("  - {{key: {k}, name: {k}, category: {cat}}}\n"));
    }
    s.push_str("labels:\n");
    for l in LABELS {
        s.push_str(&format!("  - {{name: {l}}}\n"));
    }
    s.push_str("members:\n");
    for m in members {
        let kind = if m.starts_with("agent") {
            "agent"
        } else {
            "user"
        };
        s.push_str(&format!(
            "  - {{handle: {m}, name: {m}, email: {m}@example.com, kind: {kind}}}\n"
        ));
    }
    s.push_str("cycles:\n");
    for (i, c) in cycles.iter().enumerate() {
        s.push_str(&format!(
            "  - {{key: {c}, name: Cycle {}, starts: 2026-{:02}-01, ends: 2026-{:02}-14}}\n",
            i + 1,
            i + 1,
            i + 1
        ));
    }
    s
}

fn timestamp(id: Uuid) -> String {
    let ms = id.get_timestamp().map_or(0, |t| t.to_unix().0 as i64);
    jiff::Timestamp::from_second(ms)
        .map_or_else(|_| "2026-01-01T00:00:00Z".into(), |t| t.to_string())
}

fn cap(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

fn title(rng: &mut fastrand::Rng) -> String {
    let verbs = [
        "Fix",
        "Add",
        "Improve",
        "Remove",
        "Refactor",
        "Speed up",
        "Document",
        "Investigate",
    ];
    let n = rng.usize(2..5);
    let words: Vec<&str> = (0..n).map(|_| WORDS[rng.usize(..WORDS.len())]).collect();
    format!("{} {}", verbs[rng.usize(..verbs.len())], words.join(" "))
}

fn sentence(rng: &mut fastrand::Rng, words: usize) -> String {
    let mut s = cap(WORDS[rng.usize(..WORDS.len())]);
    for _ in 1..words {
        s.push(' ');
        s.push_str(WORDS[rng.usize(..WORDS.len())]);
    }
    s.push('.');
    s
}

fn paragraphs(rng: &mut fastrand::Rng, chars: usize) -> String {
    let mut s = String::with_capacity(chars + 64);
    while s.len() < chars {
        let n = rng.usize(6..16);
        s.push_str(&sentence(rng, n));
        s.push(if rng.u8(..5) == 0 { '\n' } else { ' ' });
        if rng.u8(..12) == 0 {
            s.push_str("\n- [ ] ");
        }
    }
    s.trim_end().to_owned() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Workspace;

    #[test]
    fn generated_workspaces_are_clean_and_deterministic() {
        let files = generate(&Shape::with_issues(500), 7);
        assert_eq!(files, generate(&Shape::with_issues(500), 7));
        let ws = Workspace::from_files(files.iter().map(|(p, t)| (p.as_str(), t.as_bytes())));
        assert_eq!(ws.issues().count(), 500);
        let diags = ws.check(&|_: &str| true);
        assert!(diags.is_empty(), "{diags:#?}");
    }
}
