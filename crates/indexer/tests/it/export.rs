//! DOT, Mermaid and JSON of a tiny graph, as snapshots.

use expect_test::expect;
use nonlinear_indexer::export::{Format, render};

use crate::support::{Spec, n};

fn tiny() -> nonlinear_indexer::Graph {
    let mut spec = Spec::new()
        .component("API", "title: API service")
        .issue(
            "NL-a",
            "parent: API; blocks: [NL-b]; cycle: c1; title: Say \"hi\"",
        )
        .issue("NL-b", "status: done")
        .artifact("NL-doc", "attached_to: [NL-a]");
    spec.config = "name: Tiny\nstatuses:\n  - {key: todo, category: unstarted}\n  - {key: done, category: completed}\ncycles:\n  - {key: c1, name: Week 1}\n".to_owned();
    spec.graph()
}

#[test]
fn dot() {
    let g = tiny();
    expect![[r#"
        digraph nonlinear {
          rankdir=LR;
          project_Tiny [shape=doubleoctagon, label="Tiny\nTiny"];
          component_API [shape=box, label="API\nAPI service"];
          issue_NL_a [shape=ellipse, label="NL-a\nSay \"hi\""];
          issue_NL_b [shape=ellipse, label="NL-b\nNL-b title"];
          artifact_NL_doc [shape=note, label="NL-doc\nNL-doc title"];
          cycle_c1 [shape=hexagon, label="c1\nWeek 1"];
          component_API -> issue_NL_a [label="HAS_CHILD"];
          issue_NL_a -> issue_NL_b [label="BLOCKS"];
          issue_NL_a -> artifact_NL_doc [label="HAS_ARTIFACT"];
          issue_NL_a -> cycle_c1 [label="IN_CYCLE"];
          project_Tiny -> component_API [label="HAS_CHILD"];
        }
    "#]]
    .assert_eq(&render(&g, None, &[], Format::Dot));
}

#[test]
fn mermaid() {
    let g = tiny();
    expect![[r#"
        flowchart LR
          project_Tiny["Tiny Tiny"]
          component_API["API API service"]
          issue_NL_a("NL-a Say #quot;hi#quot;")
          issue_NL_b("NL-b NL-b title")
          artifact_NL_doc[/"NL-doc NL-doc title"/]
          cycle_c1{{"c1 Week 1"}}
          component_API -->|HAS_CHILD| issue_NL_a
          issue_NL_a -->|BLOCKS| issue_NL_b
          issue_NL_a -->|HAS_ARTIFACT| artifact_NL_doc
          issue_NL_a -->|IN_CYCLE| cycle_c1
          project_Tiny -->|HAS_CHILD| component_API
    "#]]
    .assert_eq(&render(&g, None, &[], Format::Mermaid));
}

#[test]
fn json() {
    let g = tiny();
    expect![[r#"
        {
          "edges": [
            {
              "from": "API",
              "kind": "HAS_CHILD",
              "layer": 2,
              "to": "NL-a"
            },
            {
              "from": "NL-a",
              "kind": "BLOCKS",
              "layer": 2,
              "to": "NL-b"
            },
            {
              "from": "NL-a",
              "kind": "HAS_ARTIFACT",
              "layer": 4,
              "to": "NL-doc"
            },
            {
              "from": "NL-a",
              "kind": "IN_CYCLE",
              "layer": 2,
              "to": "c1"
            },
            {
              "from": "Tiny",
              "kind": "HAS_CHILD",
              "layer": 1,
              "to": "API"
            }
          ],
          "nodes": [
            {
              "id": null,
              "key": "Tiny",
              "kind": "project",
              "path": null,
              "title": "Tiny"
            },
            {
              "id": "0193a6f0-0000-7000-8000-c019056aae07",
              "key": "API",
              "kind": "component",
              "path": ".nonlinear/components/API.md",
              "title": "API service"
            },
            {
              "id": "0193a6f0-0000-7000-8000-f6bace0e34cd",
              "key": "NL-a",
              "kind": "issue",
              "path": ".nonlinear/issues/NL-a.md",
              "title": "Say \"hi\""
            },
            {
              "id": "0193a6f0-0000-7000-8000-f3bace0e2fb4",
              "key": "NL-b",
              "kind": "issue",
              "path": ".nonlinear/issues/NL-b.md",
              "title": "NL-b title"
            },
            {
              "id": "0193a6f0-0000-7000-8000-7abde9a8f250",
              "key": "NL-doc",
              "kind": "artifact",
              "path": ".nonlinear/artifacts/NL-doc.md",
              "title": "NL-doc title"
            },
            {
              "id": null,
              "key": "c1",
              "kind": "cycle",
              "path": null,
              "title": "Week 1"
            }
          ]
        }
    "#]]
    .assert_eq(&render(&g, None, &[], Format::Json));
}

#[test]
fn subtree_and_layers() {
    let g = tiny();
    let api = n(&g, "API");
    // Below API: API and NL-a, plus the cycle NL-a is in (its artifact is
    // layer 4); not NL-b, which has no parent, nor the project.
    expect![[r#"
        digraph nonlinear {
          rankdir=LR;
          component_API [shape=box, label="API\nAPI service"];
          issue_NL_a [shape=ellipse, label="NL-a\nSay \"hi\""];
          cycle_c1 [shape=hexagon, label="c1\nWeek 1"];
          component_API -> issue_NL_a [label="HAS_CHILD"];
          issue_NL_a -> cycle_c1 [label="IN_CYCLE"];
        }
    "#]]
    .assert_eq(&render(&g, Some(api), &[1, 2], Format::Dot));
    // Layer 2 alone: components always stay (edges of every layer meet
    // them), so the layer-2 HAS_CHILD edge API → NL-a is drawn.
    expect![[r#"
        digraph nonlinear {
          rankdir=LR;
          component_API [shape=box, label="API\nAPI service"];
          issue_NL_a [shape=ellipse, label="NL-a\nSay \"hi\""];
          cycle_c1 [shape=hexagon, label="c1\nWeek 1"];
          component_API -> issue_NL_a [label="HAS_CHILD"];
          issue_NL_a -> cycle_c1 [label="IN_CYCLE"];
        }
    "#]]
    .assert_eq(&render(&g, Some(api), &[2], Format::Dot));
    // Layer 4 alone: components and the artifact; the issue it hangs off
    // is layer 2, so neither it nor its HAS_ARTIFACT edge is drawn.
    expect![[r#"
        flowchart LR
          component_API["API API service"]
          artifact_NL_doc[/"NL-doc NL-doc title"/]
    "#]]
    .assert_eq(&render(&g, Some(api), &[4], Format::Mermaid));
}
