//! Every query on small workspaces, with answers worked out by hand.

use std::collections::BTreeMap;

use nonlinear_indexer::graph::EdgeKind;
use nonlinear_indexer::query::{self, Progress};

use crate::support::{Spec, dist, key, keys, n, show_tree, sorted_keys};

// ---------------------------------------------------------------- ready

#[test]
fn ready_open_blockers_block_closed_ones_do_not() {
    let g = Spec::new()
        .issue("NL-a", "blocks: [NL-b]")
        .issue("NL-b", "")
        .issue("NL-c", "status: done; blocks: [NL-d]")
        .issue("NL-d", "")
        .issue("NL-e", "relates_to: [NL-f]; duplicates: [NL-g]")
        .issue("NL-f", "")
        .issue("NL-g", "")
        .issue("NL-h", "status: canceled")
        .issue("NL-i", "status: canceled; blocks: [NL-j]")
        .issue("NL-j", "")
        .issue("NL-k", "status: backlog; blocks: [NL-l]")
        .issue("NL-l", "")
        .graph();
    // NL-b: open blocker NL-a. NL-d: its blocker is done. NL-f/NL-g: only
    // related/duplicated. NL-h/NL-i canceled. NL-j: blocker canceled.
    // NL-l: a backlog blocker is open.
    assert_eq!(
        keys(&g, query::ready(&g, None)),
        ["NL-a", "NL-d", "NL-e", "NL-f", "NL-g", "NL-j", "NL-k"]
    );
}

#[test]
fn ready_parents_wait_for_open_sub_issues() {
    let g = Spec::new()
        .issue("NL-p", "")
        .issue("NL-p1", "parent: NL-p")
        .issue("NL-p2", "parent: NL-p; status: done")
        .issue("NL-q", "")
        .issue("NL-q1", "parent: NL-q; status: done")
        .issue("NL-q2", "parent: NL-q; status: canceled")
        .issue("NL-r", "status: done")
        .issue("NL-r1", "parent: NL-r")
        .issue("NL-s", "")
        .issue("NL-s1", "parent: NL-s; status: doing")
        .graph();
    // NL-p has an open sub-issue; NL-q's are all closed; NL-r is itself
    // closed (its open sub-issue is still ready); NL-s1's status is not in
    // the workflow, so it is open and holds NL-s back.
    assert_eq!(
        keys(&g, query::ready(&g, None)),
        ["NL-p1", "NL-q", "NL-r1", "NL-s1"]
    );
}

#[test]
fn ready_unknown_status_is_open_and_blocks() {
    let g = Spec::new()
        .issue("NL-u", "status: doing; blocks: [NL-v]")
        .issue("NL-v", "")
        .issue("NL-w", "status: canceled")
        .graph();
    assert_eq!(g.node(n(&g, "NL-u")).category, None);
    assert!(g.node(n(&g, "NL-u")).is_open_issue());
    assert_eq!(keys(&g, query::ready(&g, None)), ["NL-u"]);
}

/// Two top-level components, one with two sub-components; issues and
/// sub-issues under them; one blocker across subtrees.
fn subtrees() -> Spec {
    Spec::new()
        .component("APP", "")
        .component("APP-API", "parent: APP")
        .component("APP-WEB", "parent: APP")
        .component("OPS", "")
        .issue("NL-a1", "parent: APP-API")
        .issue("NL-a2", "parent: NL-a1")
        .issue("NL-w1", "parent: APP-WEB")
        .issue("NL-w2", "parent: APP-WEB; status: in_progress")
        .issue("NL-o1", "parent: OPS; blocks: [NL-w1]")
        .issue("NL-x", "")
}

#[test]
fn ready_under_restricts_to_a_subtree_and_blockers_cross_subtrees() {
    let g = subtrees().graph();
    // NL-a1 waits for its sub-issue, NL-w1 for NL-o1 in the other subtree.
    // No priorities: started NL-w2 first, then by key.
    assert_eq!(
        keys(&g, query::ready(&g, None)),
        ["NL-w2", "NL-a2", "NL-o1", "NL-x"]
    );
    let under = |r: &str| keys(&g, query::ready(&g, Some(n(&g, r))));
    assert_eq!(under("APP"), ["NL-w2", "NL-a2"]);
    assert_eq!(under("APP-WEB"), ["NL-w2"]);
    assert_eq!(under("APP-API"), ["NL-a2"]);
    assert_eq!(under("NL-a1"), ["NL-a2"]);
    assert_eq!(under("OPS"), ["NL-o1"]);
    assert_eq!(under("NL-w1"), Vec::<&str>::new());
    // The project is above every component, but not above NL-x.
    let all = keys(&g, query::ready(&g, Some(g.project())));
    assert_eq!(all, ["NL-w2", "NL-a2", "NL-o1"]);
}

#[test]
fn ready_order_priority_then_started_then_key() {
    let g = Spec::new()
        .issue("NL-a", "priority: 0")
        .issue("NL-b", "priority: 4")
        .issue("NL-c", "priority: 1")
        .issue("NL-d", "priority: 1; status: in_progress")
        .issue("NL-e", "status: in_progress")
        .issue("NL-f", "priority: 2; status: backlog")
        .issue("NL-g", "priority: 2")
        .issue("NL-h", "priority: 3; status: doing")
        .issue("NL-k", "priority: 1")
        .issue("NL-m", "")
        .graph();
    assert_eq!(
        keys(&g, query::ready(&g, None)),
        [
            "NL-d", "NL-c", "NL-k", // urgent: started first, then key
            "NL-f", "NL-g", // high: backlog is not started
            "NL-h", // medium, status outside the workflow
            "NL-b", // low
            "NL-e", "NL-a", "NL-m", // none (0 = none): started first
        ]
    );
}

// ---------------------------------------------------------------- blocked

#[test]
fn blocked_chains_with_distances() {
    let g = Spec::new()
        .issue("NL-a", "blocks: [NL-b]")
        .issue("NL-b", "blocks: [NL-c]")
        .issue("NL-c", "blocks: [NL-d]")
        .issue("NL-d", "")
        .graph();
    let all: Vec<(&str, Vec<(&str, usize)>)> = query::blocked(&g, None)
        .into_iter()
        .map(|b| (key(&g, b.issue), dist(&g, b.chain)))
        .collect();
    assert_eq!(
        all,
        [
            ("NL-b", vec![("NL-a", 1)]),
            ("NL-c", vec![("NL-b", 1), ("NL-a", 2)]),
            ("NL-d", vec![("NL-c", 1), ("NL-b", 2), ("NL-a", 3)]),
        ]
    );
}

#[test]
fn blocked_diamond_lists_each_blocker_once() {
    // NL-a blocks NL-b and NL-c; both block NL-d. Written twice, with the
    // files in both orders, so that edge order cannot leak into the chain.
    let specs = [
        Spec::new()
            .issue("NL-a", "blocks: [NL-b, NL-c]")
            .issue("NL-b", "blocks: [NL-d]")
            .issue("NL-c", "blocks: [NL-d]")
            .issue("NL-d", ""),
        Spec::new()
            .issue("NL-a", "blocks: [NL-c, NL-b]")
            .issue("NL-c", "blocks: [NL-d]")
            .issue("NL-b", "blocks: [NL-d]")
            .issue("NL-d", ""),
    ];
    for spec in specs {
        let g = spec.graph();
        let d = query::blocked(&g, Some(n(&g, "NL-d")));
        assert_eq!(d.len(), 1);
        assert_eq!(key(&g, d[0].issue), "NL-d");
        assert_eq!(
            dist(&g, d[0].chain.clone()),
            [("NL-b", 1), ("NL-c", 1), ("NL-a", 2)]
        );
        let issues: Vec<&str> = query::blocked(&g, None)
            .iter()
            .map(|b| key(&g, b.issue))
            .collect();
        assert_eq!(issues, ["NL-b", "NL-c", "NL-d"]);
    }
}

#[test]
fn blocked_closed_blockers_cut_chains() {
    let g = Spec::new()
        .issue("NL-x", "blocks: [NL-y]")
        .issue("NL-y", "status: done; blocks: [NL-z]")
        .issue("NL-z", "")
        .issue("NL-p", "blocks: [NL-q]")
        .issue("NL-q", "status: in_progress; blocks: [NL-r]")
        .issue("NL-r", "")
        .issue("NL-s", "status: canceled; blocks: [NL-r]")
        .graph();
    let all: Vec<(&str, Vec<(&str, usize)>)> = query::blocked(&g, None)
        .into_iter()
        .map(|b| (key(&g, b.issue), dist(&g, b.chain)))
        .collect();
    // NL-y is closed, so neither listed nor blocking NL-z; NL-s (canceled)
    // does not appear in NL-r's chain.
    assert_eq!(
        all,
        [
            ("NL-q", vec![("NL-p", 1)]),
            ("NL-r", vec![("NL-q", 1), ("NL-p", 2)]),
        ]
    );
    let of = |r: &str| query::blocked(&g, Some(n(&g, r)));
    assert!(of("NL-z").is_empty());
    assert!(of("NL-x").is_empty());
    assert!(of("NL-y").is_empty(), "closed issues are never blocked");
    let q = of("NL-q");
    assert_eq!(q.len(), 1);
    assert_eq!(dist(&g, q[0].chain.clone()), [("NL-p", 1)]);
}

#[test]
fn blocked_terminates_on_cycles() {
    let g = Spec::new()
        .issue("NL-a", "blocks: [NL-b]")
        .issue("NL-b", "blocks: [NL-a]")
        .graph();
    let a = query::blocked(&g, Some(n(&g, "NL-a")));
    assert_eq!(dist(&g, a[0].chain.clone()), [("NL-b", 1)]);
}

// ---------------------------------------------------------------- critical path

/// `(weight, earliest start, slack)` by key.
fn schedule(
    g: &nonlinear_indexer::Graph,
    cp: &query::CriticalPath,
) -> BTreeMap<String, (f64, f64, f64)> {
    cp.schedule
        .iter()
        .map(|s| {
            (
                key(g, s.issue).to_owned(),
                (s.weight, s.earliest_start, s.slack),
            )
        })
        .collect()
}

fn diamond_with_estimates() -> Spec {
    Spec::new()
        .component("X", "")
        .component("Y", "")
        .issue("NL-a", "parent: X; estimate: 2; blocks: [NL-b, NL-c]")
        .issue("NL-b", "parent: X; estimate: 3; blocks: [NL-d]")
        .issue("NL-c", "parent: Y; estimate: 1; blocks: [NL-d]")
        .issue("NL-d", "parent: Y; estimate: 4")
        .issue("NL-e", "")
        .issue("NL-f", "status: done; estimate: 10; blocks: [NL-a]")
}

#[test]
fn critical_path_of_a_diamond() {
    let g = diamond_with_estimates().graph();
    let cp = query::critical_path(&g, None);
    // Forward: a 0–2, b 2–5, c 2–3, d max(5, 3)–9, e 0–1 (no estimate: 1).
    // Backward from 9: d 5–9, b 2–5, c may finish at 5 (slack 2), a 0–2,
    // e may finish at 9 (slack 8). NL-f is done and left out.
    assert_eq!(keys(&g, cp.path.clone()), ["NL-a", "NL-b", "NL-d"]);
    assert_eq!(cp.length, 9.0);
    let want: BTreeMap<String, (f64, f64, f64)> = [
        ("NL-a", (2.0, 0.0, 0.0)),
        ("NL-b", (3.0, 2.0, 0.0)),
        ("NL-c", (1.0, 2.0, 2.0)),
        ("NL-d", (4.0, 5.0, 0.0)),
        ("NL-e", (1.0, 0.0, 8.0)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(schedule(&g, &cp), want);
    assert!(cp.in_cycles.is_empty());
    // The schedule is in topological order: every blocker before the issues
    // it blocks.
    let pos = |k: &str| cp.schedule.iter().position(|s| key(&g, s.issue) == k);
    for (a, b) in [
        ("NL-a", "NL-b"),
        ("NL-a", "NL-c"),
        ("NL-b", "NL-d"),
        ("NL-c", "NL-d"),
    ] {
        assert!(pos(a) < pos(b), "{a} before {b}");
    }
}

#[test]
fn critical_path_under_a_component() {
    let g = diamond_with_estimates().graph();
    let x = query::critical_path(&g, Some(n(&g, "X")));
    assert_eq!(keys(&g, x.path.clone()), ["NL-a", "NL-b"]);
    assert_eq!(x.length, 5.0);
    assert_eq!(
        schedule(&g, &x).into_iter().collect::<Vec<_>>(),
        [
            ("NL-a".to_owned(), (2.0, 0.0, 0.0)),
            ("NL-b".to_owned(), (3.0, 2.0, 0.0)),
        ]
    );
    // Under Y, NL-a's edges leave the subtree: c 0–1, d 1–5.
    let y = query::critical_path(&g, Some(n(&g, "Y")));
    assert_eq!(keys(&g, y.path.clone()), ["NL-c", "NL-d"]);
    assert_eq!(y.length, 5.0);
    assert_eq!(
        schedule(&g, &y).into_iter().collect::<Vec<_>>(),
        [
            ("NL-c".to_owned(), (1.0, 0.0, 0.0)),
            ("NL-d".to_owned(), (4.0, 1.0, 0.0)),
        ]
    );
}

#[test]
fn critical_path_default_weight_and_ties() {
    // Without estimates every issue weighs 1 (an estimate of 0 too). Two
    // chains of length 2: the path starts at the smaller key.
    let g = Spec::new()
        .issue("NL-p", "blocks: [NL-q]")
        .issue("NL-q", "estimate: 0")
        .issue("NL-m", "blocks: [NL-n]")
        .issue("NL-n", "")
        .issue("NL-z", "estimate: 0.5")
        .graph();
    let cp = query::critical_path(&g, None);
    assert_eq!(cp.length, 2.0);
    assert_eq!(keys(&g, cp.path.clone()), ["NL-m", "NL-n"]);
    let s = schedule(&g, &cp);
    assert_eq!(s["NL-q"], (1.0, 1.0, 0.0));
    assert_eq!(s["NL-p"], (1.0, 0.0, 0.0));
    assert_eq!(s["NL-z"], (0.5, 0.0, 1.5));
}

#[test]
fn critical_path_sets_blocks_cycles_aside() {
    let g = Spec::new()
        .issue("NL-a", "blocks: [NL-b]")
        .issue("NL-b", "blocks: [NL-c]")
        .issue("NL-c", "blocks: [NL-a, NL-d]")
        .issue("NL-d", "")
        .issue("NL-x", "estimate: 2; blocks: [NL-y]")
        .issue("NL-y", "estimate: 1")
        .graph();
    let cp = query::critical_path(&g, None);
    // NL-d sits behind the cycle: it can never start, so it is set aside
    // with the cycle's members.
    assert_eq!(
        sorted_keys(&g, cp.in_cycles.clone()),
        ["NL-a", "NL-b", "NL-c", "NL-d"]
    );
    assert_eq!(keys(&g, cp.path.clone()), ["NL-x", "NL-y"]);
    assert_eq!(cp.length, 3.0);
    assert_eq!(
        schedule(&g, &cp).into_iter().collect::<Vec<_>>(),
        [
            ("NL-x".to_owned(), (2.0, 0.0, 0.0)),
            ("NL-y".to_owned(), (1.0, 2.0, 0.0)),
        ]
    );
}

#[test]
fn critical_path_of_nothing() {
    let g = Spec::new().issue("NL-a", "status: done").graph();
    let cp = query::critical_path(&g, None);
    assert!(cp.path.is_empty() && cp.schedule.is_empty() && cp.in_cycles.is_empty());
    assert_eq!(cp.length, 0.0);
}

// ---------------------------------------------------------------- near

fn neighbourhood() -> Spec {
    Spec::new()
        .component("CORE", "")
        .component("API", "parent: CORE; depends_on: [DB]")
        .component("DB", "parent: CORE")
        .component("WEB", "calls_api: [API]")
        .issue("NL-a", "parent: API; blocks: [NL-b]")
        .issue("NL-b", "parent: WEB")
        .issue("NL-c", "parent: NL-a; cycle: c1")
        .artifact("NL-doc", "attached_to: [API]")
}

#[test]
fn near_by_hops() {
    let g = neighbourhood().graph();
    let api = n(&g, "API");
    // Hop 1: CORE (parent), DB (depends on), WEB (calls it), NL-a (child),
    // NL-doc (artifact); components, then issues, then artifacts.
    assert_eq!(
        dist(&g, query::near(&g, api, 1, &[])),
        [
            ("API", 0),
            ("CORE", 1),
            ("DB", 1),
            ("WEB", 1),
            ("NL-a", 1),
            ("NL-doc", 1)
        ]
    );
    // Hop 2 adds NL-b (WEB's child, and blocked by NL-a) and NL-c; not the
    // project above CORE and WEB.
    assert_eq!(
        dist(&g, query::near(&g, api, 2, &[])),
        [
            ("API", 0),
            ("CORE", 1),
            ("DB", 1),
            ("WEB", 1),
            ("NL-a", 1),
            ("NL-doc", 1),
            ("NL-b", 2),
            ("NL-c", 2)
        ]
    );
    // Hop 3: the cycle NL-c is in. The project never shows up.
    let three = query::near(&g, api, 3, &[]);
    assert_eq!(dist(&g, three.clone()).last(), Some(&("c1", 3)));
    assert!(three.iter().all(|&(m, _)| m != g.project()));
    assert_eq!(dist(&g, query::near(&g, api, 0, &[])), [("API", 0)]);
}

#[test]
fn near_by_layers() {
    let g = neighbourhood().graph();
    let api = n(&g, "API");
    assert_eq!(
        dist(&g, query::near(&g, api, 2, &[3])),
        [("API", 0), ("DB", 1), ("WEB", 1)]
    );
    // Layer 1 reaches CORE; through it DB; the project is skipped.
    assert_eq!(
        dist(&g, query::near(&g, api, 2, &[1])),
        [("API", 0), ("CORE", 1), ("DB", 2)]
    );
    assert_eq!(
        dist(&g, query::near(&g, api, 1, &[4])),
        [("API", 0), ("NL-doc", 1)]
    );
    // From an issue over layer 2: its component (the HAS_CHILD edge of an
    // issue is layer 2), the issue it blocks, its sub-issue; then the cycle.
    let a = n(&g, "NL-a");
    assert_eq!(
        dist(&g, query::near(&g, a, 2, &[2])),
        [
            ("NL-a", 0),
            ("API", 1),
            ("NL-b", 1),
            ("NL-c", 1),
            ("WEB", 2),
            ("c1", 2),
        ]
    );
    // The project itself may be the start.
    let p = g.project();
    assert_eq!(
        dist(&g, query::near(&g, p, 1, &[])),
        [("Demo", 0), ("CORE", 1), ("WEB", 1)]
    );
}

// ---------------------------------------------------------------- impact

#[test]
fn impact_follows_code_edges_and_nearest_components() {
    let g = Spec::new()
        .component("C", "")
        .component("B", "depends_on: [C]")
        .component("A", "imports: [B]")
        .component("E", "shares_db: [C]")
        .component("F", "calls_api: [A]")
        .component("C-SUB", "parent: C")
        .component("X", "")
        .issue("NL-1", "parent: C")
        .issue("NL-2", "parent: C; status: done")
        .issue("NL-3", "parent: NL-1")
        .issue("NL-4", "parent: C-SUB")
        .issue("NL-5", "parent: A; priority: 1")
        .issue("NL-6", "parent: B; status: in_progress")
        .issue("NL-7", "parent: X")
        .issue("NL-8", "")
        .issue("NL-9", "parent: E; status: canceled")
        .graph();
    let c = query::impact(&g, n(&g, "C"));
    assert_eq!(
        dist(&g, c.components.clone()),
        [("B", 1), ("E", 1), ("A", 2), ("F", 3)]
    );
    // Open issues whose nearest component is C, B, E, A or F: NL-1, NL-3
    // (through its parent issue), NL-5, NL-6. Not NL-2 (done), NL-9
    // (canceled), NL-4 (nearest component C-SUB), NL-7, NL-8.
    assert_eq!(keys(&g, c.issues), ["NL-5", "NL-6", "NL-1", "NL-3"]);

    let a = query::impact(&g, n(&g, "A"));
    assert_eq!(dist(&g, a.components), [("F", 1)]);
    assert_eq!(keys(&g, a.issues), ["NL-5"]);

    let f = query::impact(&g, n(&g, "F"));
    assert!(f.components.is_empty() && f.issues.is_empty());

    // C-SUB has no dependents; its own issue is the impact.
    let sub = query::impact(&g, n(&g, "C-SUB"));
    assert!(sub.components.is_empty());
    assert_eq!(keys(&g, sub.issues), ["NL-4"]);
}

#[test]
fn nearest_component_skips_parent_issues() {
    let g = Spec::new()
        .component("C", "")
        .issue("NL-a", "parent: C")
        .issue("NL-b", "parent: NL-a")
        .issue("NL-c", "")
        .graph();
    let nearest = |r: &str| query::nearest_component(&g, n(&g, r)).map(|c| key(&g, c));
    assert_eq!(nearest("NL-b"), Some("C"));
    assert_eq!(nearest("NL-a"), Some("C"));
    assert_eq!(nearest("NL-c"), None);
    // A top-level component's parent is the project, not a component.
    assert_eq!(nearest("C"), None);
}

// ---------------------------------------------------------------- cycles

#[test]
fn cycles_each_reported_once() {
    let g = Spec::new()
        .issue("NL-a", "blocks: [NL-c]")
        .issue("NL-c", "blocks: [NL-b]")
        .issue("NL-b", "blocks: [NL-a]")
        .issue("NL-x", "blocks: [NL-y]")
        .issue("NL-y", "")
        .component("P", "parent: Q")
        .component("Q", "parent: P")
        .component("R", "parent: P")
        .graph();
    let found: Vec<(EdgeKind, Vec<&str>)> = query::cycles(&g)
        .into_iter()
        .map(|c| (c.kind, keys(&g, c.nodes)))
        .collect();
    // Each walk starts at its smallest key and follows the edges.
    assert_eq!(
        found,
        [
            (EdgeKind::Blocks, vec!["NL-a", "NL-c", "NL-b"]),
            (EdgeKind::HasChild, vec!["P", "Q"]),
        ]
    );
    // Neither P nor Q hangs off the project: each has a parent.
    assert_eq!(g.parent(n(&g, "P")).map(|p| key(&g, p)), Some("Q"));
    assert_eq!(g.parent(n(&g, "Q")).map(|p| key(&g, p)), Some("P"));
    assert!(query::descendants(&g, g.project()).is_empty());
}

#[test]
fn no_cycles_in_a_dag() {
    let g = diamond_with_estimates().graph();
    assert!(query::cycles(&g).is_empty());
    let g = subtrees().graph();
    assert!(query::cycles(&g).is_empty());
}

// ---------------------------------------------------------------- progress

#[test]
fn progress_rolls_up_sub_components_and_sub_issues() {
    let g = Spec::new()
        .component("ROOT", "")
        .component("SUB", "parent: ROOT")
        .component("SUB2", "parent: SUB")
        .issue("NL-a", "parent: ROOT; status: done; estimate: 2")
        .issue("NL-b", "parent: ROOT; estimate: 3")
        .issue("NL-c", "parent: NL-b; status: done; estimate: 1")
        .issue("NL-d", "parent: SUB; status: canceled; estimate: 5")
        .issue("NL-e", "parent: SUB; status: in_progress")
        .issue("NL-f", "parent: SUB2; status: done; estimate: 0.5")
        .issue("NL-h", "parent: SUB2; status: doing")
        .issue("NL-g", "status: done; estimate: 8")
        .graph();
    let p = |r: &str| query::progress(&g, n(&g, r));
    // ROOT: a, b, c, e, f, h count (d canceled, g elsewhere); a, c, f done.
    assert_eq!(
        p("ROOT"),
        Progress {
            done: 3,
            total: 6,
            estimate_done: 3.5,
            estimate_total: 6.5
        }
    );
    assert_eq!(p("ROOT").ratio(), 0.5);
    assert_eq!(
        p("SUB"),
        Progress {
            done: 1,
            total: 3,
            estimate_done: 0.5,
            estimate_total: 0.5
        }
    );
    assert_eq!(
        p("SUB2"),
        Progress {
            done: 1,
            total: 2,
            estimate_done: 0.5,
            estimate_total: 0.5
        }
    );
    assert_eq!(
        p("NL-b"),
        Progress {
            done: 1,
            total: 1,
            estimate_done: 1.0,
            estimate_total: 1.0
        }
    );
    assert_eq!(p("NL-a"), Progress::default());
    assert_eq!(p("NL-a").ratio(), 0.0);
    // The project: everything under ROOT (NL-g has no parent).
    assert_eq!(query::progress(&g, g.project()), p("ROOT"));
}

// ---------------------------------------------------------------- tree

fn forest() -> Spec {
    Spec::new()
        .component("APP", "")
        .component("WEB", "parent: APP; calls_api: [API]; depends_on: [LIB]")
        .component("API", "parent: APP")
        .component("LIB", "")
        .issue("NL-b", "parent: APP")
        .issue("NL-a", "parent: API")
        .issue("NL-a1", "parent: NL-a")
        .issue("NL-c", "")
        .artifact("NL-doc", "attached_to: [APP]")
        .artifact("NL-spec", "attached_to: [NL-a, LIB]")
}

#[test]
fn tree_by_layers() {
    let g = forest().graph();
    let t = |layers: &[u8]| show_tree(&g, &query::tree(&g, g.project(), layers, None));
    assert_eq!(t(&[1]), "Demo\n  APP\n    API\n    WEB\n  LIB\n");
    // Issues after components; NL-c has no parent, so it is in no tree.
    assert_eq!(
        t(&[1, 2]),
        "Demo\n  APP\n    API\n      NL-a\n        NL-a1\n    WEB\n    NL-b\n  LIB\n"
    );
    // Artifacts last; one attached twice shows once, where it is met
    // first (depth first, APP before LIB).
    assert_eq!(
        t(&[1, 2, 4]),
        "Demo\n  APP\n    API\n      NL-a\n        NL-a1\n        NL-spec\n    WEB\n    NL-b\n    NL-doc\n  LIB\n"
    );
    assert_eq!(
        t(&[1, 3]),
        "Demo\n  APP\n    API\n    WEB -> DEPENDS_ON LIB, CALLS_API API\n  LIB\n"
    );
    assert_eq!(
        t(&[]),
        "Demo\n  APP\n    API\n      NL-a\n        NL-a1\n        NL-spec\n    WEB -> DEPENDS_ON LIB, CALLS_API API\n    NL-b\n    NL-doc\n  LIB\n"
    );
    // Layer 2 alone: issues hang off components, which are hidden.
    assert_eq!(t(&[2]), "Demo\n");
    let api = n(&g, "API");
    assert_eq!(
        show_tree(&g, &query::tree(&g, api, &[2], None)),
        "API\n  NL-a\n    NL-a1\n"
    );
    let web = n(&g, "WEB");
    assert_eq!(
        show_tree(&g, &query::tree(&g, web, &[3], None)),
        "WEB -> DEPENDS_ON LIB, CALLS_API API\n"
    );
}

#[test]
fn tree_depth() {
    let g = forest().graph();
    let t = |depth| show_tree(&g, &query::tree(&g, g.project(), &[], Some(depth)));
    assert_eq!(t(0), "Demo\n");
    assert_eq!(t(1), "Demo\n  APP\n  LIB\n");
    assert_eq!(
        t(2),
        "Demo\n  APP\n    API\n    WEB -> DEPENDS_ON LIB, CALLS_API API\n    NL-b\n    NL-doc\n  LIB\n    NL-spec\n"
    );
}

#[test]
fn descendants_and_is_under() {
    let g = subtrees().graph();
    let app = n(&g, "APP");
    assert_eq!(
        sorted_keys(&g, query::descendants(&g, app)),
        ["APP-API", "APP-WEB", "NL-a1", "NL-a2", "NL-w1", "NL-w2"]
    );
    assert!(query::is_under(&g, n(&g, "NL-a2"), app));
    assert!(query::is_under(&g, app, app));
    assert!(!query::is_under(&g, n(&g, "NL-o1"), app));
    assert!(!query::is_under(&g, n(&g, "NL-x"), g.project()));
    assert!(query::is_under(&g, n(&g, "NL-o1"), g.project()));
}

#[test]
fn tree_of_a_very_deep_parent_chain_is_bounded() {
    let mut spec = Spec::new();
    // NL-0 ← NL-1 ← … ← NL-2999: far deeper than any stack should go.
    spec = spec.issue("NL-0", "status: todo");
    for i in 1..3000 {
        spec = spec.issue(
            &format!("NL-{i}"),
            &format!("status: todo; parent: NL-{}", i - 1),
        );
    }
    let g = spec.graph();
    let root = g.find("NL-0").expect("root");
    let t = query::tree(&g, root, &[], None);
    let mut depth = 0;
    let mut at = &t;
    while let Some(c) = at.children.first() {
        depth += 1;
        at = c;
    }
    assert_eq!(depth, query::MAX_TREE_DEPTH);
}

#[test]
fn first_for_work_is_the_head_of_ready() {
    let mut spec = Spec::new();
    for i in 0..40 {
        let p = i % 5;
        spec = spec.issue(&format!("NL-{i:02}"), &format!("priority: {p}"));
    }
    let g = spec.graph();
    let all = query::ready(&g, None);
    for limit in [0, 1, 7, 40, 100] {
        let mut some = query::ready_unordered(&g, None);
        query::first_for_work(&g, &mut some, limit);
        assert_eq!(some, all[..limit.min(all.len())], "limit {limit}");
    }
}
