//! Invariants every query must keep on the demo workspace
//! (`fixtures/demo`), whose contents other tests may change.

use std::collections::{BTreeMap, HashSet};

use nonlinear_indexer::graph::{EdgeKind, Graph, NodeKind};
use nonlinear_indexer::query;
use petgraph::stable_graph::NodeIndex;
use schema::Kind;
use schema::model::Category;
use schema::store::Store;

use crate::support::{key, signature};

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/demo");

fn demo() -> (schema::Workspace, Graph) {
    let ws = Store::at(DEMO).load();
    let g = Graph::build(&ws);
    (ws, g)
}

fn open_blocker(g: &Graph, n: NodeIndex) -> bool {
    g.incoming(n, EdgeKind::Blocks)
        .any(|b| g.node(b).is_open_issue())
}

fn open_sub_issue(g: &Graph, n: NodeIndex) -> bool {
    g.out(n, EdgeKind::HasChild)
        .any(|c| g.node(c).is_open_issue())
}

#[test]
fn the_demo_is_a_real_workspace() {
    let (ws, g) = demo();
    let items: Vec<_> = ws
        .items
        .iter()
        .filter(|i| i.kind() != Kind::Comment)
        .collect();
    assert!(items.len() > 100, "the demo has {} items", items.len());
    for item in &items {
        let n = g.by_path(&item.path).expect("every item has a node");
        assert_eq!(g.node(n).key, item.short_str());
        assert_eq!(g.find(item.short_str()), Some(n));
    }
    let cycles = g.config().map_or(0, |c| c.cycles.len());
    assert_eq!(g.node_count(), 1 + cycles + items.len());
}

#[test]
fn ready_issues_are_open_and_unblocked_and_the_others_are_not() {
    let (_, g) = demo();
    let ready = query::ready(&g, None);
    assert!(!ready.is_empty());
    let set: HashSet<NodeIndex> = ready.iter().copied().collect();
    for n in g.nodes_of(NodeKind::Issue) {
        let node = g.node(n);
        let can_start = node.is_open_issue() && !open_blocker(&g, n) && !open_sub_issue(&g, n);
        assert_eq!(set.contains(&n), can_start, "{}", node.key);
    }
    // Work-queue order: priority (none last), then started first.
    let rank = |n: NodeIndex| {
        let node = g.node(n);
        let p = node
            .item
            .as_ref()
            .and_then(|i| i.issue())
            .and_then(|i| i.priority.as_ref())
            .map_or(5, |p| if p.value == 0 { 5 } else { p.value });
        (
            p,
            node.category != Some(Category::Started),
            node.key.clone(),
        )
    };
    assert!(ready.windows(2).all(|w| rank(w[0]) < rank(w[1])));
    // Under a component: exactly the ready issues below it.
    for c in g.nodes_of(NodeKind::Component) {
        let below: Vec<NodeIndex> = ready
            .iter()
            .copied()
            .filter(|&i| query::is_under(&g, i, c))
            .collect();
        assert_eq!(query::ready(&g, Some(c)), below, "{}", key(&g, c));
    }
}

#[test]
fn blocked_chains_are_open_and_real() {
    let (_, g) = demo();
    for b in query::blocked(&g, None) {
        assert!(g.node(b.issue).is_open_issue());
        assert!(open_blocker(&g, b.issue));
        assert!(
            b.chain.windows(2).all(|w| w[0].1 <= w[1].1),
            "nearest first"
        );
        for &(m, d) in &b.chain {
            assert!(g.node(m).is_open_issue());
            assert_ne!(m, b.issue);
            if d == 1 {
                assert!(g.incoming(b.issue, EdgeKind::Blocks).any(|x| x == m));
            } else {
                // Something one step nearer is blocked by it.
                assert!(
                    b.chain.iter().any(
                        |&(x, e)| e == d - 1 && g.incoming(x, EdgeKind::Blocks).any(|y| y == m)
                    )
                );
            }
        }
        assert_eq!(query::blocked(&g, Some(b.issue)), [b]);
    }
}

#[test]
fn no_cycles_in_the_demo() {
    let (_, g) = demo();
    assert_eq!(query::cycles(&g), []);
}

#[test]
fn progress_never_exceeds_its_totals() {
    let (ws, g) = demo();
    let issues = ws.issues().count();
    let root = query::progress(&g, g.project());
    assert!(root.total > 0);
    assert!(root.done <= root.total && root.total <= issues);
    assert!(root.estimate_done <= root.estimate_total);
    for c in g.nodes_of(NodeKind::Component) {
        let p = query::progress(&g, c);
        assert!(p.done <= p.total && p.estimate_done <= p.estimate_total);
        // A part never has more than its whole.
        if let Some(parent) = g.parent(c) {
            let whole = query::progress(&g, parent);
            assert!(
                p.total <= whole.total && p.done <= whole.done,
                "{}",
                key(&g, c)
            );
            assert!(p.estimate_total <= whole.estimate_total);
        }
        assert!((0.0..=1.0).contains(&p.ratio()));
    }
}

#[test]
fn critical_path_schedule_is_consistent() {
    let (_, g) = demo();
    let cp = query::critical_path(&g, None);
    assert!(cp.in_cycles.is_empty());
    assert!(!cp.path.is_empty());
    let slots: BTreeMap<NodeIndex, query::Slot> =
        cp.schedule.iter().map(|s| (s.issue, *s)).collect();
    let open = g
        .nodes_of(NodeKind::Issue)
        .filter(|&n| g.node(n).is_open_issue())
        .count();
    assert_eq!(slots.len(), open, "every open issue is scheduled");
    let end = cp
        .schedule
        .iter()
        .map(|s| s.earliest_start + s.weight)
        .fold(0.0, f64::max);
    assert_eq!(cp.length, end);
    for s in &cp.schedule {
        assert!(
            s.slack >= -1e-9,
            "{} has slack {}",
            key(&g, s.issue),
            s.slack
        );
        assert!(s.earliest_start + s.weight + s.slack <= end + 1e-9);
        // Nothing starts before the open issues blocking it finish.
        for b in g.incoming(s.issue, EdgeKind::Blocks) {
            if let Some(sb) = slots.get(&b) {
                assert!(sb.earliest_start + sb.weight <= s.earliest_start + 1e-9);
            }
        }
    }
    // The path: zero slack, starts at 0, each issue blocks the next and
    // starts when it finishes, and it ends at the end.
    let first = slots[&cp.path[0]];
    assert_eq!(first.earliest_start, 0.0);
    for w in cp.path.windows(2) {
        assert!(g.out(w[0], EdgeKind::Blocks).any(|t| t == w[1]));
        let (a, b) = (slots[&w[0]], slots[&w[1]]);
        assert!((a.earliest_start + a.weight - b.earliest_start).abs() < 1e-9);
    }
    for p in &cp.path {
        assert!(slots[p].slack.abs() < 1e-9, "{} is critical", key(&g, *p));
    }
    let last = slots[cp.path.last().expect("a path")];
    assert!((last.earliest_start + last.weight - cp.length).abs() < 1e-9);
    let sum: f64 = cp.path.iter().map(|p| slots[p].weight).sum();
    assert!((sum - cp.length).abs() < 1e-9);
}

#[test]
fn near_impact_and_tree_stay_in_bounds() {
    let (_, g) = demo();
    let tree = query::tree(&g, g.project(), &[1], None);
    fn count(t: &query::Tree) -> usize {
        1 + t.children.iter().map(count).sum::<usize>()
    }
    // Without parent cycles every component is in the project's tree.
    assert_eq!(count(&tree), 1 + g.nodes_of(NodeKind::Component).count());
    for c in g.nodes_of(NodeKind::Component) {
        let near = query::near(&g, c, 2, &[]);
        assert_eq!(near[0], (c, 0));
        assert!(
            near.iter()
                .all(|&(m, d)| d <= 2 && g.node(m).kind != NodeKind::Project)
        );
        let impact = query::impact(&g, c);
        assert!(impact.components.iter().all(|&(m, d)| d >= 1 && m != c));
        assert!(impact.issues.iter().all(|&i| g.node(i).is_open_issue()));
    }
}

/// The demo built one file at a time, in reverse path order, is the demo
/// built at once; so is removing and re-adding every file.
#[test]
fn demo_built_incrementally() {
    let (ws, g) = demo();
    let want = signature(&g);
    let mut inc = Graph::build(&schema::Workspace::new(
        ws.config.clone(),
        Vec::new(),
        Vec::new(),
    ));
    for item in ws.items.iter().rev() {
        inc.upsert(item.clone());
    }
    assert_eq!(signature(&inc), want);
    for item in ws.items.iter().filter(|i| i.kind() != Kind::Comment) {
        assert!(inc.remove(&item.path));
        assert!(inc.upsert(item.clone()).is_some());
    }
    assert_eq!(signature(&inc), want);
    assert_eq!(
        query::ready(&inc, None)
            .iter()
            .map(|&n| key(&inc, n))
            .collect::<Vec<_>>(),
        query::ready(&g, None)
            .iter()
            .map(|&n| key(&g, n))
            .collect::<Vec<_>>()
    );
}
