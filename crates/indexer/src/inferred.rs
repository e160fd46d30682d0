//! Reading the analyzer's generated file of inferred Layer-3 links,
//! `.nonlinear/inferred/edges.yaml` (written by `nonlinear analyze`; the
//! format is in `docs/analyzer.md`), so that they join the graph as edges
//! with `source: inferred`.

use schema::diagnostic::{Code, Diagnostic};
use schema::text::Pos;
use serde::{Deserialize, Serialize};

use crate::graph::EdgeKind;

/// Where the analyzer writes its edges, relative to the workspace root.
pub const EDGES_PATH: &str = ".nonlinear/inferred/edges.yaml";

/// One inferred link between two components, named by key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inferred {
    #[serde(rename = "type")]
    pub kind: EdgeKind,
    pub from: String,
    pub to: String,
    pub confidence: f64,
    /// The first places in the code that support the link (`file:line`).
    pub evidence: Vec<String>,
}

impl Inferred {
    /// What identifies the link: two files saying the same (kind, from,
    /// to) with other evidence describe the same edge, changed.
    pub fn key(&self) -> (EdgeKind, &str, &str) {
        (self.kind, &self.from, &self.to)
    }
}

#[derive(Deserialize)]
struct File {
    version: u32,
    #[serde(default)]
    edges: Vec<RawEdge>,
}

#[derive(Deserialize)]
struct RawEdge {
    kind: String,
    from: String,
    to: String,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(default)]
    evidence: Vec<RawEvidence>,
}

#[derive(Deserialize)]
struct RawEvidence {
    file: String,
    line: u32,
}

/// Parses the file's text. Unknown fields are ignored (the analyzer may
/// add some); a wrong version, a missing field or an unknown kind is a
/// diagnostic naming the file and the problem.
pub fn parse(text: &str) -> Result<Vec<Inferred>, Diagnostic> {
    let bad =
        |message: String| Diagnostic::new(Code::InvalidValue, EDGES_PATH, Pos::START, message);
    let (node, problems) = schema::yaml::parse_full(text, 1);
    if let Some(p) = problems.into_iter().next() {
        return Err(Diagnostic::new(
            Code::YamlSyntax,
            EDGES_PATH,
            p.pos,
            p.kind.to_string(),
        ));
    }
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    let file: File = serde_json::from_value(node.to_json())
        .map_err(|e| bad(format!("not an inferred-edges file: {e}")))?;
    if file.version != 1 {
        return Err(bad(format!(
            "version {} (this build reads version 1)",
            file.version
        )));
    }
    file.edges
        .into_iter()
        .map(|e| {
            let kind = match e.kind.as_str() {
                "depends_on" => EdgeKind::DependsOn,
                "imports" => EdgeKind::Imports,
                "calls_api" => EdgeKind::CallsApi,
                "shares_db" => EdgeKind::SharesDb,
                other => return Err(bad(format!("`{other}` is not a Layer-3 link kind"))),
            };
            Ok(Inferred {
                kind,
                from: e.from,
                to: e.to,
                confidence: e.confidence.unwrap_or(1.0),
                evidence: e
                    .evidence
                    .into_iter()
                    .map(|v| format!("{}:{}", v.file, v.line))
                    .collect(),
            })
        })
        .collect()
}

/// How the inferred links changed from one version of the file to another
/// (for `nonlinear diff`): links that appeared and links that went, each
/// with its evidence.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Changes {
    pub added: Vec<Inferred>,
    pub removed: Vec<Inferred>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// The links of `new` not in `old` and those of `old` not in `new`, by
/// (kind, from, to), in file order.
pub fn changes(old: &[Inferred], new: &[Inferred]) -> Changes {
    let had: std::collections::HashSet<_> = old.iter().map(Inferred::key).collect();
    let has: std::collections::HashSet<_> = new.iter().map(Inferred::key).collect();
    Changes {
        added: new
            .iter()
            .filter(|e| !had.contains(&e.key()))
            .cloned()
            .collect(),
        removed: old
            .iter()
            .filter(|e| !has.contains(&e.key()))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analyzer lists suppressed links apart; they are not edges.
    #[test]
    fn suppressed_links_are_not_edges() {
        let text = "version: 1\nedges:\n  - kind: imports\n    from: A\n    to: B\n    source: inferred\n    confidence: 1.00\n    occurrences: 1\n    evidence:\n      - {file: a/x.ts, line: 3, note: \"import `b`\"}\nsuppressed:\n  - {kind: calls_api, from: A, to: C, occurrences: 2, reason: \"not a dependency\"}\n";
        let edges = parse(text).expect("parses");
        assert_eq!(edges.len(), 1);
        assert_eq!(edges[0].key(), (EdgeKind::Imports, "A", "B"));
        assert_eq!(edges[0].evidence, ["a/x.ts:3"]);
    }

    #[test]
    fn reads_the_demo_file() {
        let text = include_str!("../../../fixtures/demo/.nonlinear/inferred/edges.yaml");
        let edges = parse(text).expect("parses");
        assert!(!edges.is_empty());
        let first = &edges[0];
        assert_eq!(first.key(), (EdgeKind::DependsOn, "GATEWAY", "AUTH"));
        assert_eq!(first.evidence, ["services/gateway/Cargo.toml:14"]);
    }

    #[test]
    fn bad_files_are_diagnostics() {
        for text in [
            "version: 2\nedges: []\n",
            "version: 1\nedges:\n  - kind: calls\n    from: A\n    to: B\n",
            "version: 1\nedges:\n  - kind: imports\n    from: A\n",
            "version: [\n",
            "- just\n- a list\n",
        ] {
            let e = parse(text).expect_err(text);
            assert_eq!(e.path, EDGES_PATH, "{text}");
        }
        assert_eq!(parse("").expect("empty is no edges"), Vec::new());
    }

    proptest::proptest! {
        /// Any text: edges or a diagnostic naming the file, never a panic.
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            if let Err(d) = parse(&text) {
                proptest::prop_assert_eq!(d.path, EDGES_PATH);
            }
        }

        /// Edited versions of a real file: the same.
        #[test]
        fn edits_of_a_real_file(at in 0usize..800, insert in "[ :\\-\\[\\]{}a-z0-9\n]{0,6}") {
            let text = include_str!("../../../fixtures/demo/.nonlinear/inferred/edges.yaml");
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let edited = format!("{}{insert}{}", &text[..at], &text[at..]);
            if let Err(d) = parse(&edited) {
                proptest::prop_assert_eq!(d.path, EDGES_PATH);
            }
        }
    }
}
