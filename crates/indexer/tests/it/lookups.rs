//! `find`, `by_path` and the node accessors.

use nonlinear_indexer::graph::{EdgeKind, NodeKind};
use schema::model::Category;

use crate::support::{Spec, component_file, key, keys, n, sorted_keys, uuid_of};

fn lookups() -> Spec {
    let (_, api) = component_file("API", "");
    Spec::new()
        .file("services/api/COMPONENT.md", &api)
        .issue(
            "NL-a",
            "parent: API; status: in_progress; estimate: 2.5; cycle: C1",
        )
        .issue("NL-Bb", "status: done; blocks: [nl-a]")
        .artifact("NL-doc", "attached_to: [NL-a]")
        .file(
            &format!(
                ".nonlinear/comments/{}/0193a6f1-0000-7000-8000-000000000001.md",
                uuid_of("NL-a")
            ),
            "---\nid: 0193a6f1-0000-7000-8000-000000000001\nauthor: ana\n---\nA comment.\n",
        )
}

#[test]
fn find_by_uuid_short_id_and_cycle_key() {
    let g = lookups().graph();
    let a = n(&g, "NL-a");
    assert_eq!(g.find(&uuid_of("NL-a")), Some(a));
    assert_eq!(g.find(&uuid_of("NL-a").to_ascii_uppercase()), Some(a));
    assert_eq!(g.find(&format!("  {} ", uuid_of("NL-a"))), Some(a));
    assert_eq!(g.find("nl-a"), Some(a));
    assert_eq!(g.find("NL-A"), Some(a));
    assert_eq!(g.find(" nL-A\n"), Some(a));
    assert_eq!(g.find("nl-bb").map(|m| key(&g, m)), Some("NL-Bb"));
    assert_eq!(g.find("api").map(|m| key(&g, m)), Some("API"));
    assert_eq!(g.find("nl-DOC").map(|m| key(&g, m)), Some("NL-doc"));
    let c1 = n(&g, "C1");
    assert_eq!(g.node(c1).kind, NodeKind::Cycle);
    assert_eq!(g.node(c1).key, "c1");
    assert_eq!(g.node(c1).title, "Cycle one");
    assert_eq!(g.find("c2").map(|m| g.node(m).kind), Some(NodeKind::Cycle));
    assert_eq!(g.find("NL-zz"), None);
    assert_eq!(g.find(&uuid_of("NL-zz")), None);
    assert_eq!(g.find(""), None);
    // The comment is not a node.
    assert_eq!(g.find("0193a6f1-0000-7000-8000-000000000001"), None);
}

#[test]
fn by_path() {
    let g = lookups().graph();
    let at = |p: &str| g.by_path(p).map(|m| key(&g, m));
    assert_eq!(at(".nonlinear/issues/NL-a.md"), Some("NL-a"));
    assert_eq!(at(".nonlinear/issues/NL-Bb.md"), Some("NL-Bb"));
    assert_eq!(at(".nonlinear/artifacts/NL-doc.md"), Some("NL-doc"));
    assert_eq!(at("services/api/COMPONENT.md"), Some("API"));
    assert_eq!(at(".nonlinear/issues/nl-a.md"), None, "paths are exact");
    assert_eq!(at(".nonlinear/config.yaml"), None);
}

#[test]
fn nodes_and_edges() {
    let g = lookups().graph();
    // Project, two cycles, four items; no comment.
    assert_eq!(g.node_count(), 7);
    let p = g.project();
    assert_eq!(g.node(p).kind, NodeKind::Project);
    assert_eq!(g.node(p).key, "Demo");
    assert!(g.node(p).item.is_none());

    let a = g.node(n(&g, "NL-a"));
    assert_eq!(a.kind, NodeKind::Issue);
    assert_eq!(a.title, "NL-a title");
    assert_eq!(a.category, Some(Category::Started));
    assert_eq!(a.estimate(), Some(2.5));
    assert_eq!(a.id().map(|i| i.to_string()), Some(uuid_of("NL-a")));
    assert!(a.is_open_issue());
    assert!(!g.node(n(&g, "NL-Bb")).is_open_issue());
    assert!(!g.node(n(&g, "API")).is_open_issue());
    assert_eq!(g.node(n(&g, "API")).estimate(), None);

    assert_eq!(
        sorted_keys(&g, g.nodes_of(NodeKind::Issue)),
        ["NL-Bb", "NL-a"]
    );
    assert_eq!(sorted_keys(&g, g.nodes_of(NodeKind::Cycle)), ["c1", "c2"]);
    assert_eq!(keys(&g, g.nodes_of(NodeKind::Component)), ["API"]);

    let a = n(&g, "NL-a");
    assert_eq!(keys(&g, g.incoming(a, EdgeKind::Blocks)), ["NL-Bb"]);
    assert_eq!(keys(&g, g.out(a, EdgeKind::HasArtifact)), ["NL-doc"]);
    assert_eq!(keys(&g, g.out(a, EdgeKind::InCycle)), ["c1"]);
    assert_eq!(g.parent(a).map(|m| key(&g, m)), Some("API"));
    assert_eq!(g.parent(n(&g, "API")), Some(p));
    assert_eq!(g.parent(p), None);
    // HAS_CHILD project→API (1), API→NL-a (2), BLOCKS (2), HAS_ARTIFACT
    // (4), IN_CYCLE (2).
    assert_eq!(
        crate::support::edges(&g),
        [
            ("API".to_owned(), "HAS_CHILD", "NL-a".to_owned(), 2),
            ("Demo".to_owned(), "HAS_CHILD", "API".to_owned(), 1),
            ("NL-Bb".to_owned(), "BLOCKS", "NL-a".to_owned(), 2),
            ("NL-a".to_owned(), "HAS_ARTIFACT", "NL-doc".to_owned(), 4),
            ("NL-a".to_owned(), "IN_CYCLE", "c1".to_owned(), 2),
        ]
    );
}

#[test]
fn items_win_over_cycles_with_the_same_key() {
    let g = Spec::new().issue("C2", "").graph();
    let c2 = n(&g, "c2");
    assert_eq!(g.node(c2).kind, NodeKind::Issue);
    assert_eq!(g.find("c1").map(|m| g.node(m).kind), Some(NodeKind::Cycle));
}
