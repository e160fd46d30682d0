//! Questions asked of the graph. Each is a plain function of a [`Graph`];
//! the CLI, the server and agents call the same ones.
//!
//! Which statuses are open: an issue whose status is in a `completed` or
//! `canceled` category is closed; every other issue (backlog, unstarted,
//! started, or a status not in the workflow) is open.
//!
//! What blocks readiness: an open issue that `blocks` it (a `BLOCKS` edge
//! from an open issue), and an open sub-issue (`HAS_CHILD` to an open
//! issue: a parent is done when its children are, so the children are the
//! work to pick up). `relates_to` and `duplicates` never block, and neither
//! does a closed blocker or the component an issue sits under.

use std::collections::{HashMap, HashSet, VecDeque};

use petgraph::Direction;
use petgraph::stable_graph::NodeIndex;
use petgraph::visit::EdgeRef;
use schema::model::Category;

use crate::graph::{EdgeKind, Graph, NodeKind};

/// Whether `n` is `root` or below it through `HAS_CHILD`.
pub fn is_under(g: &Graph, n: NodeIndex, root: NodeIndex) -> bool {
    let mut at = n;
    // Bounded: `check` reports parent cycles, queries must not hang on them.
    for _ in 0..=g.node_count() {
        if at == root {
            return true;
        }
        match g.parent(at) {
            Some(p) => at = p,
            None => return false,
        }
    }
    false
}

/// Every node below `root` through `HAS_CHILD` (not `root` itself), in
/// breadth-first order.
pub fn descendants(g: &Graph, root: NodeIndex) -> Vec<NodeIndex> {
    let mut out = Vec::new();
    let mut seen = HashSet::from([root]);
    let mut queue = VecDeque::from([root]);
    while let Some(n) = queue.pop_front() {
        for c in g.out(n, EdgeKind::HasChild) {
            if seen.insert(c) {
                out.push(c);
                queue.push_back(c);
            }
        }
    }
    out
}

fn open_blockers(g: &Graph, n: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
    g.incoming(n, EdgeKind::Blocks)
        .filter(|&b| g.is_open_issue(b))
}

/// Issues that can be worked on now: open, no open sub-issue, no open
/// blocker; below `under` when given. Most urgent first (priority 1 … 4,
/// then none), started before not started, then by key.
pub fn ready(g: &Graph, under: Option<NodeIndex>) -> Vec<NodeIndex> {
    let mut out = ready_unordered(g, under);
    sort_for_work(g, &mut out);
    out
}

/// [`ready`] in no particular order: for callers that filter further and
/// then want only the first few ([`first_for_work`]).
pub fn ready_unordered(g: &Graph, under: Option<NodeIndex>) -> Vec<NodeIndex> {
    g.issues()
        .filter(|&n| {
            g.is_open_issue(n) && g.open_blocker_count(n) == 0 && g.open_child_count(n) == 0
        })
        .filter(|&n| under.is_none_or(|u| is_under(g, n, u)))
        .collect()
}

/// The first `limit` of `issues` in work-queue order ([`sort_for_work`]),
/// without sorting the rest: O(n + limit log limit).
pub fn first_for_work(g: &Graph, issues: &mut Vec<NodeIndex>, limit: usize) {
    if issues.len() > limit {
        let key = work_key(g);
        let cmp = |a: &NodeIndex, b: &NodeIndex| {
            key(*a)
                .cmp(&key(*b))
                .then_with(|| g.node(*a).key.cmp(&g.node(*b).key))
                .then(a.cmp(b))
        };
        if limit == 0 {
            issues.clear();
            return;
        }
        issues.select_nth_unstable_by(limit - 1, cmp);
        issues.truncate(limit);
    }
    sort_for_work(g, issues);
}

/// The cheap part of the work-queue order: priority, not started, the
/// first eight bytes of the key.
fn work_key(g: &Graph) -> impl Fn(NodeIndex) -> (u8, bool, u64) + '_ {
    move |n| {
        let node = g.node(n);
        let mut b = [0u8; 8];
        let k = node.key.as_bytes();
        let len = k.len().min(8);
        b[..len].copy_from_slice(&k[..len]);
        (
            g.priority(n),
            node.category != Some(Category::Started),
            u64::from_be_bytes(b),
        )
    }
}

/// Sorts issues the way a work queue reads: priority, in flight first, key.
pub fn sort_for_work(g: &Graph, issues: &mut [NodeIndex]) {
    // Sort keys from dense tables plus the first eight bytes of the short
    // id as an integer: most comparisons never touch a string.
    let key = work_key(g);
    let mut keyed: Vec<(u8, bool, u64, NodeIndex)> = issues
        .iter()
        .map(|&n| {
            let (p, s, k) = key(n);
            (p, s, k, n)
        })
        .collect();
    keyed.sort_unstable_by(|a, b| {
        (a.0, a.1, a.2)
            .cmp(&(b.0, b.1, b.2))
            .then_with(|| g.node(a.3).key.cmp(&g.node(b.3).key))
            .then(a.3.cmp(&b.3))
    });
    for (slot, k) in issues.iter_mut().zip(keyed) {
        *slot = k.3;
    }
}

/// An open issue that an open issue blocks, and everything open that
/// blocks it, transitively.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocked {
    pub issue: NodeIndex,
    /// Open blockers, nearest first, then by key: `(blocker, distance)`,
    /// distance 1 for a direct blocker.
    pub chain: Vec<(NodeIndex, usize)>,
}

/// Blocked issues with their chains of open blockers: every one, or just
/// `of`.
pub fn blocked(g: &Graph, of: Option<NodeIndex>) -> Vec<Blocked> {
    let candidates: Vec<NodeIndex> = match of {
        Some(n) => vec![n],
        None => g.nodes_of(NodeKind::Issue).collect(),
    };
    let mut out: Vec<Blocked> = candidates
        .into_iter()
        .filter(|&n| g.node(n).is_open_issue())
        .filter_map(|n| {
            let mut chain = Vec::new();
            let mut seen = HashSet::from([n]);
            let mut queue = VecDeque::from([(n, 0)]);
            while let Some((at, d)) = queue.pop_front() {
                for b in open_blockers(g, at) {
                    if seen.insert(b) {
                        chain.push((b, d + 1));
                        queue.push_back((b, d + 1));
                    }
                }
            }
            // Nearest first, then by key: not by edge order, which depends
            // on the order the files arrived in.
            chain.sort_by(|a, b| (a.1, &g.node(a.0).key).cmp(&(b.1, &g.node(b.0).key)));
            (!chain.is_empty()).then_some(Blocked { issue: n, chain })
        })
        .collect();
    out.sort_by(|a, b| g.node(a.issue).key.cmp(&g.node(b.issue).key));
    out
}

/// The longest chain of work through `BLOCKS` among open issues.
#[derive(Debug, Clone, PartialEq)]
pub struct CriticalPath {
    /// Issues on the critical path, first to last.
    pub path: Vec<NodeIndex>,
    /// Its total weight (sum of estimates, 1 for an issue without one).
    pub length: f64,
    /// Every scheduled issue with its earliest start and slack (how much it
    /// may slip without delaying the end), in topological order.
    pub schedule: Vec<Slot>,
    /// Open issues left out because they sit on a `BLOCKS` cycle, or wait
    /// (through `BLOCKS`) on an issue that does.
    pub in_cycles: Vec<NodeIndex>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot {
    pub issue: NodeIndex,
    pub weight: f64,
    pub earliest_start: f64,
    pub slack: f64,
}

/// The critical path (CPM) through `BLOCKS` among open issues, below
/// `under` when given. O(V + E).
pub fn critical_path(g: &Graph, under: Option<NodeIndex>) -> CriticalPath {
    let nodes: Vec<NodeIndex> = g
        .nodes_of(NodeKind::Issue)
        .filter(|&n| g.node(n).is_open_issue())
        .filter(|&n| under.is_none_or(|u| is_under(g, n, u)))
        .collect();
    let index: HashMap<NodeIndex, usize> = nodes.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let weight: Vec<f64> = nodes
        .iter()
        .map(|&n| g.node(n).estimate().filter(|e| *e > 0.0).unwrap_or(1.0))
        .collect();
    let succ: Vec<Vec<usize>> = nodes
        .iter()
        .map(|&n| {
            g.out(n, EdgeKind::Blocks)
                .filter_map(|t| index.get(&t).copied())
                .collect()
        })
        .collect();
    // Kahn's algorithm; whatever is left sits on (or behind) a cycle.
    let mut indegree = vec![0usize; nodes.len()];
    for s in succ.iter().flatten() {
        indegree[*s] += 1;
    }
    let mut queue: VecDeque<usize> = (0..nodes.len()).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = queue.pop_front() {
        order.push(i);
        for &s in &succ[i] {
            indegree[s] -= 1;
            if indegree[s] == 0 {
                queue.push_back(s);
            }
        }
    }
    let scheduled: HashSet<usize> = order.iter().copied().collect();
    let in_cycles = (0..nodes.len())
        .filter(|i| !scheduled.contains(i))
        .map(|i| nodes[i])
        .collect();
    // Forward pass: earliest start and finish.
    let mut es = vec![0.0f64; nodes.len()];
    for &i in &order {
        let ef = es[i] + weight[i];
        for &s in &succ[i] {
            if scheduled.contains(&s) && es[s] < ef {
                es[s] = ef;
            }
        }
    }
    let end = order
        .iter()
        .map(|&i| es[i] + weight[i])
        .fold(0.0f64, f64::max);
    // Backward pass: latest finish.
    let mut lf = vec![end; nodes.len()];
    for &i in order.iter().rev() {
        for &s in &succ[i] {
            if scheduled.contains(&s) {
                lf[i] = lf[i].min(lf[s] - weight[s]);
            }
        }
    }
    let slack = |i: usize| lf[i] - weight[i] - es[i];
    // The path: from the critical issue that starts first, follow critical
    // successors that start when it finishes.
    let mut path = Vec::new();
    let critical = |i: usize| slack(i).abs() < 1e-9;
    let mut at = order
        .iter()
        .copied()
        .filter(|&i| critical(i) && es[i] == 0.0)
        .min_by(|&a, &b| g.node(nodes[a]).key.cmp(&g.node(nodes[b]).key));
    while let Some(i) = at {
        path.push(nodes[i]);
        at = succ[i]
            .iter()
            .copied()
            .filter(|&s| scheduled.contains(&s) && critical(s))
            .filter(|&s| (es[s] - (es[i] + weight[i])).abs() < 1e-9)
            .min_by(|&a, &b| g.node(nodes[a]).key.cmp(&g.node(nodes[b]).key));
    }
    CriticalPath {
        path,
        length: end,
        schedule: order
            .iter()
            .map(|&i| Slot {
                issue: nodes[i],
                weight: weight[i],
                earliest_start: es[i],
                slack: slack(i),
            })
            .collect(),
        in_cycles,
    }
}

/// Nodes within `hops` edges of `start` (either direction), over edges of
/// the given layers (all when empty), with their distance; `start` first,
/// then by distance, kind and key.
pub fn near(g: &Graph, start: NodeIndex, hops: usize, layers: &[u8]) -> Vec<(NodeIndex, usize)> {
    let inner = g.inner();
    let mut out = vec![(start, 0)];
    let mut seen = HashSet::from([start]);
    let mut queue = VecDeque::from([(start, 0)]);
    while let Some((n, d)) = queue.pop_front() {
        if d == hops {
            continue;
        }
        let edges = inner
            .edges_directed(n, Direction::Outgoing)
            .map(|e| (e.target(), *e.weight()))
            .chain(
                inner
                    .edges_directed(n, Direction::Incoming)
                    .map(|e| (e.source(), *e.weight())),
            );
        for (m, e) in edges {
            if (layers.is_empty() || layers.contains(&e.layer))
                && g.node(m).kind != NodeKind::Project
                && seen.insert(m)
            {
                out.push((m, d + 1));
                queue.push_back((m, d + 1));
            }
        }
    }
    out.sort_by(|a, b| {
        (a.1, g.node(a.0).kind, &g.node(a.0).key).cmp(&(b.1, g.node(b.0).kind, &g.node(b.0).key))
    });
    out
}

/// What a change to a component can break.
#[derive(Debug, Clone, PartialEq)]
pub struct Impact {
    /// Components that depend on it through Layer-3 edges, transitively,
    /// with their distance (1: a direct dependent).
    pub components: Vec<(NodeIndex, usize)>,
    /// Open issues that sit under the component or one of those (nearest
    /// component ancestor), most urgent first.
    pub issues: Vec<NodeIndex>,
}

pub fn impact(g: &Graph, component: NodeIndex) -> Impact {
    let mut components = Vec::new();
    let mut seen = HashSet::from([component]);
    let mut queue = VecDeque::from([(component, 0)]);
    let inner = g.inner();
    while let Some((n, d)) = queue.pop_front() {
        for e in inner.edges_directed(n, Direction::Incoming) {
            if e.weight().kind.is_code() && seen.insert(e.source()) {
                components.push((e.source(), d + 1));
                queue.push_back((e.source(), d + 1));
            }
        }
    }
    components.sort_by(|a, b| (a.1, &g.node(a.0).key).cmp(&(b.1, &g.node(b.0).key)));
    let mut issues: Vec<NodeIndex> = g
        .nodes_of(NodeKind::Issue)
        .filter(|&n| g.node(n).is_open_issue())
        .filter(|&n| nearest_component(g, n).is_some_and(|c| seen.contains(&c)))
        .collect();
    sort_for_work(g, &mut issues);
    Impact { components, issues }
}

/// The first component above `n` through `HAS_CHILD`.
pub fn nearest_component(g: &Graph, n: NodeIndex) -> Option<NodeIndex> {
    let mut at = g.parent(n)?;
    for _ in 0..=g.node_count() {
        if g.node(at).kind == NodeKind::Component {
            return Some(at);
        }
        at = g.parent(at)?;
    }
    None
}

/// A cycle of one edge kind, as the nodes around it (the last links back to
/// the first).
#[derive(Debug, Clone, PartialEq)]
pub struct Cycle {
    pub kind: EdgeKind,
    pub nodes: Vec<NodeIndex>,
}

/// Every cycle in `BLOCKS` and in `HAS_CHILD`: one per strongly connected
/// set, shown as one closed walk through it.
pub fn cycles(g: &Graph) -> Vec<Cycle> {
    let mut out = Vec::new();
    for kind in [EdgeKind::Blocks, EdgeKind::HasChild] {
        let filtered =
            petgraph::visit::EdgeFiltered::from_fn(g.inner(), |e| e.weight().kind == kind);
        for scc in petgraph::algo::tarjan_scc(&filtered) {
            let members: HashSet<NodeIndex> = scc.iter().copied().collect();
            let looped = scc.len() > 1 || g.out(scc[0], kind).any(|t| t == scc[0]);
            if !looped {
                continue;
            }
            let start = *scc
                .iter()
                .min_by(|a, b| g.node(**a).key.cmp(&g.node(**b).key))
                .expect("an SCC has members");
            out.push(Cycle {
                kind,
                nodes: walk_cycle(g, kind, start, &members),
            });
        }
    }
    out
}

/// A path from `start` back to `start` inside `members` (strongly
/// connected, so one exists). Iterative DFS.
fn walk_cycle(
    g: &Graph,
    kind: EdgeKind,
    start: NodeIndex,
    members: &HashSet<NodeIndex>,
) -> Vec<NodeIndex> {
    let mut stack = vec![(start, g.out(start, kind).collect::<Vec<_>>())];
    let mut visited = HashSet::from([start]);
    while let Some((_, next)) = stack.last_mut() {
        match next.pop() {
            Some(n) if n == start => return stack.iter().map(|(n, _)| *n).collect(),
            Some(n) if members.contains(&n) && visited.insert(n) => {
                let succ = g.out(n, kind).collect();
                stack.push((n, succ));
            }
            Some(_) => {}
            None => {
                stack.pop();
            }
        }
    }
    vec![start]
}

/// Issue counts and estimates below a component or parent issue.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Progress {
    /// Issues in a completed status.
    pub done: usize,
    /// Issues that count: every issue below but the canceled ones.
    pub total: usize,
    pub estimate_done: f64,
    pub estimate_total: f64,
}

impl Progress {
    /// `done / total`, 0 when there is nothing to do.
    pub fn ratio(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.done as f64 / self.total as f64
        }
    }
}

/// Roll-up over every issue below `n` (sub-issues of sub-issues, issues of
/// sub-components). Canceled issues count for nothing.
pub fn progress(g: &Graph, n: NodeIndex) -> Progress {
    let mut p = Progress::default();
    for d in descendants(g, n) {
        let node = g.node(d);
        if node.kind != NodeKind::Issue || node.category == Some(Category::Canceled) {
            continue;
        }
        let estimate = node.estimate().unwrap_or(0.0);
        p.total += 1;
        p.estimate_total += estimate;
        if node.category == Some(Category::Completed) {
            p.done += 1;
            p.estimate_done += estimate;
        }
    }
    p
}

/// A subtree for display.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub node: NodeIndex,
    pub children: Vec<Tree>,
    /// Layer-3 edges leaving this node: `(kind, target)`.
    pub links: Vec<(EdgeKind, NodeIndex)>,
}

/// The decomposition below `root`, `depth` levels deep (at most
/// [`MAX_TREE_DEPTH`], also when `None`), showing components (layer 1),
/// issues (2), code connections as links (3) and artifacts (4) as `layers`
/// says. Children in key order.
pub fn tree(g: &Graph, root: NodeIndex, layers: &[u8], depth: Option<usize>) -> Tree {
    let want = |l: u8| layers.is_empty() || layers.contains(&l);
    let mut seen = HashSet::new();
    let depth = depth.unwrap_or(MAX_TREE_DEPTH).min(MAX_TREE_DEPTH);
    build_tree(g, root, &want, Some(depth), &mut seen)
}

/// Deepest [`tree`] built: the tree and everything that prints it recurse,
/// and a `parent` chain written in files must not overflow the stack. No
/// real decomposition comes near it.
pub const MAX_TREE_DEPTH: usize = 256;

fn build_tree(
    g: &Graph,
    n: NodeIndex,
    want: &dyn Fn(u8) -> bool,
    depth: Option<usize>,
    seen: &mut HashSet<NodeIndex>,
) -> Tree {
    seen.insert(n);
    let mut children = Vec::new();
    if depth != Some(0) {
        let mut kids: Vec<NodeIndex> = g
            .out(n, EdgeKind::HasChild)
            .filter(|&c| match g.node(c).kind {
                NodeKind::Component => want(1),
                NodeKind::Issue => want(2),
                _ => false,
            })
            .chain(g.out(n, EdgeKind::HasArtifact).filter(|_| want(4)))
            .filter(|c| !seen.contains(c))
            .collect();
        kids.sort_by(|a, b| {
            (g.node(*a).kind, &g.node(*a).key).cmp(&(g.node(*b).kind, &g.node(*b).key))
        });
        kids.dedup();
        for c in kids {
            if !seen.contains(&c) {
                children.push(build_tree(g, c, want, depth.map(|d| d - 1), seen));
            }
        }
    }
    let mut links: Vec<(EdgeKind, NodeIndex)> = if want(3) {
        g.inner()
            .edges_directed(n, Direction::Outgoing)
            .filter(|e| e.weight().kind.is_code())
            .map(|e| (e.weight().kind, e.target()))
            .collect()
    } else {
        Vec::new()
    };
    links.sort_by(|a, b| (a.0, &g.node(a.1).key).cmp(&(b.0, &g.node(b.1).key)));
    Tree {
        node: n,
        children,
        links,
    }
}
