//! `upsert` and `remove` keep the graph equal to a fresh build of the same
//! files, whatever order the files arrive in: known cases, then a property
//! test over random subsets, orders, removals and modified versions of a
//! fixed set of files that refer to each other.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use nonlinear_indexer::graph::{Graph, NodeKind};
use nonlinear_indexer::query;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

use crate::support::{
    CONFIG, Spec, artifact_file, component_file, issue_file, item, key, keys, n, show_tree,
    signature, uuid_of, workspace,
};

/// The graph of `files` built in one go.
fn fresh(files: &[(String, String)]) -> Graph {
    Graph::build(&workspace(CONFIG, files))
}

fn upsert(g: &mut Graph, (path, text): &(String, String)) {
    assert!(g.upsert(item(path, text)).is_some());
}

/// Everything a reader can observe, as text: the signature (nodes, edges),
/// lookups of every name the files use, and the answers of the queries.
fn observe(g: &Graph, names: &[String]) -> String {
    let mut out = String::new();
    let sig = signature(g);
    for node in &sig.nodes {
        let _ = writeln!(out, "node {node:?}");
    }
    for edge in &sig.edges {
        let _ = writeln!(out, "edge {edge:?}");
    }
    for name in names {
        let found = g.find(name).map(|m| (g.node(m).kind, key(g, m)));
        let _ = writeln!(out, "find {name} = {found:?}");
    }
    for (_, _, _, _, path, _) in &sig.nodes {
        if !path.is_empty() {
            let _ = writeln!(
                out,
                "path {path} = {:?}",
                g.by_path(path).map(|m| key(g, m))
            );
        }
    }
    let _ = writeln!(out, "ready {:?}", keys(g, query::ready(g, None)));
    for b in query::blocked(g, None) {
        let chain: Vec<(&str, usize)> = b.chain.iter().map(|&(m, d)| (key(g, m), d)).collect();
        let _ = writeln!(out, "blocked {} {chain:?}", key(g, b.issue));
    }
    let cp = query::critical_path(g, None);
    let mut schedule: Vec<_> = cp
        .schedule
        .iter()
        .map(|s| (key(g, s.issue), s.weight, s.earliest_start, s.slack))
        .collect();
    schedule.sort_by(|a, b| a.0.cmp(b.0));
    let mut in_cycles = keys(g, cp.in_cycles.clone());
    in_cycles.sort_unstable();
    let _ = writeln!(
        out,
        "critical {:?} {} {schedule:?} {in_cycles:?}",
        keys(g, cp.path.clone()),
        cp.length
    );
    let mut cycles: Vec<String> = query::cycles(g)
        .into_iter()
        .map(|c| {
            let mut members = keys(g, c.nodes);
            members.sort_unstable();
            format!("cycle {:?} {members:?}\n", c.kind)
        })
        .collect();
    cycles.sort();
    out.extend(cycles);
    out.push_str(&show_tree(g, &query::tree(g, g.project(), &[], None)));
    out
}

/// Asserts that `g` is the graph a fresh build of `files` gives.
#[track_caller]
fn assert_same(g: &Graph, files: &[(String, String)]) {
    let names: Vec<String> = names();
    assert_eq!(observe(g, &names), observe(&fresh(files), &names));
}

/// Every name the files of this module use, so lookups are compared too.
fn names() -> Vec<String> {
    let mut out: Vec<String> = [
        "CORE", "API", "DB", "WEB", "NL-a", "NL-b", "NL-c", "NL-d", "NL-dd", "NL-e", "NL-f",
        "NL-doc", "C1", "c2", "NL-zz",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let ids: Vec<String> = out.iter().map(|k| uuid_of(k)).collect();
    out.extend(ids);
    out.push(uuid_of("NL-e2"));
    out
}

// ---------------------------------------------------------------- known cases

#[test]
fn references_wait_for_items_that_arrive_later() {
    let child = component_file("WEB", "parent: API; imports: [API]");
    let a = issue_file("NL-a", "parent: API; blocks: [NL-b]");
    let api = component_file("API", "");
    let b = issue_file("NL-b", "");
    let all = [child.clone(), a.clone(), api.clone(), b.clone()];

    let mut g = fresh(&[child.clone(), a.clone()]);
    // Parent not there yet: WEB hangs off the project, NL-a off nothing.
    assert_eq!(g.parent(n(&g, "WEB")), Some(g.project()));
    assert_eq!(g.parent(n(&g, "NL-a")), None);
    assert_eq!(g.edge_count(), 1);

    upsert(&mut g, &api);
    assert_eq!(g.parent(n(&g, "WEB")).map(|p| key(&g, p)), Some("API"));
    assert_eq!(g.parent(n(&g, "NL-a")).map(|p| key(&g, p)), Some("API"));
    assert_eq!(g.parent(n(&g, "API")), Some(g.project()));
    upsert(&mut g, &b);
    assert_eq!(
        keys(
            &g,
            g.incoming(n(&g, "NL-b"), nonlinear_indexer::EdgeKind::Blocks)
        ),
        ["NL-a"]
    );
    assert_same(&g, &all);
    assert_eq!(
        crate::support::edges(&g),
        [
            ("API".to_owned(), "HAS_CHILD", "NL-a".to_owned(), 2),
            ("API".to_owned(), "HAS_CHILD", "WEB".to_owned(), 1),
            ("Demo".to_owned(), "HAS_CHILD", "API".to_owned(), 1),
            ("NL-a".to_owned(), "BLOCKS", "NL-b".to_owned(), 2),
            ("WEB".to_owned(), "IMPORTS", "API".to_owned(), 3),
        ]
    );
}

#[test]
fn a_component_whose_parent_leaves_hangs_off_the_project() {
    let files = vec![
        component_file("CORE", ""),
        component_file("API", "parent: CORE"),
        component_file("WEB", "parent: API"),
        issue_file("NL-a", "parent: API"),
    ];
    let mut g = fresh(&files);
    assert_eq!(g.parent(n(&g, "WEB")).map(|p| key(&g, p)), Some("API"));

    assert!(g.remove(".nonlinear/components/API.md"));
    assert_eq!(g.find("API"), None);
    assert_eq!(g.parent(n(&g, "WEB")), Some(g.project()));
    assert_eq!(g.parent(n(&g, "NL-a")), None);
    let without: Vec<_> = files
        .iter()
        .filter(|f| !f.0.ends_with("API.md"))
        .cloned()
        .collect();
    assert_same(&g, &without);
    assert_eq!(
        show_tree(&g, &query::tree(&g, g.project(), &[], None)),
        "Demo\n  CORE\n  WEB\n"
    );

    // Back again: WEB and NL-a find their parent.
    upsert(&mut g, &files[1]);
    assert_same(&g, &files);
    assert_eq!(
        show_tree(&g, &query::tree(&g, g.project(), &[], None)),
        "Demo\n  CORE\n    API\n      WEB\n      NL-a\n"
    );

    // WEB's own file drops its parent.
    let web = component_file("WEB", "");
    upsert(&mut g, &web);
    let mut changed = files.clone();
    changed[2] = web;
    assert_same(&g, &changed);
    assert_eq!(g.parent(n(&g, "WEB")), Some(g.project()));

    assert!(!g.remove(".nonlinear/components/API.md.bak"));
}

#[test]
fn upsert_of_a_modified_file_equals_a_fresh_build() {
    let files = vec![
        component_file("API", ""),
        component_file("DB", ""),
        issue_file("NL-a", "parent: API; blocks: [NL-c]"),
        issue_file(
            "NL-b",
            &format!("parent: NL-a; relates_to: [NL-c, {}]", uuid_of("NL-c")),
        ),
        issue_file("NL-c", "parent: API"),
    ];
    let mut g = fresh(&files);
    // NL-a waits for its sub-issue NL-b, NL-c for NL-a.
    assert_eq!(keys(&g, query::ready(&g, None)), ["NL-b"]);

    // Changed status, parent and blocks list, in one file.
    let a2 = issue_file("NL-a", "status: done; parent: DB; blocks: [NL-b]");
    upsert(&mut g, &a2);
    let mut changed = files.clone();
    changed[2] = a2;
    assert_same(&g, &changed);
    assert_eq!(g.parent(n(&g, "NL-a")).map(|p| key(&g, p)), Some("DB"));
    assert_eq!(keys(&g, query::ready(&g, None)), ["NL-b", "NL-c"]);
    assert_eq!(g.node_count(), 1 + 2 + 5);

    // A parent that is itself re-written keeps its children.
    let api2 = component_file("API", "title: Renamed API");
    upsert(&mut g, &api2);
    changed[0] = api2;
    assert_same(&g, &changed);
    assert_eq!(g.node(n(&g, "API")).title, "Renamed API");
    assert_eq!(g.parent(n(&g, "NL-c")).map(|p| key(&g, p)), Some("API"));

    // A new short id in the same file: the reference by the old one
    // dangles, the one by UUID follows.
    let c2 = (
        changed[4].0.clone(),
        issue_file("NL-cc", &format!("id: {}; parent: API", uuid_of("NL-c"))).1,
    );
    upsert(&mut g, &c2);
    changed[4] = c2;
    assert_same(&g, &changed);
    assert_eq!(g.find("NL-c"), None);
    assert_eq!(g.find(&uuid_of("NL-c")).map(|m| key(&g, m)), Some("NL-cc"));
    assert_eq!(
        keys(
            &g,
            g.out(n(&g, "NL-b"), nonlinear_indexer::EdgeKind::RelatesTo)
        ),
        ["NL-cc"]
    );
}

#[test]
fn remove_and_upsert_again() {
    let files = vec![
        component_file("API", ""),
        issue_file("NL-a", "parent: API; blocks: [NL-b]"),
        issue_file("NL-b", "parent: NL-a"),
        artifact_file("NL-doc", "attached_to: [NL-a, API]"),
    ];
    for (i, f) in files.iter().enumerate() {
        let mut g = fresh(&files);
        assert!(g.remove(&f.0));
        assert!(!g.remove(&f.0));
        let mut rest = files.clone();
        rest.remove(i);
        assert_same(&g, &rest);
        upsert(&mut g, f);
        assert_same(&g, &files);
        // Upserting the same file twice changes nothing.
        upsert(&mut g, f);
        assert_same(&g, &files);
    }
}

/// A reference to a name that no item has but a cycle has (`blocks: [c1]`)
/// is dangling, not an edge to the cycle: else an item that arrives later
/// with that key would never get it, unlike in a fresh build.
#[test]
fn references_never_resolve_to_cycles() {
    let f = issue_file("NL-f", "blocks: [c1]");
    let c1 = issue_file("C1", "");
    let g = fresh(std::slice::from_ref(&f));
    assert_eq!(g.edge_count(), 0);
    let mut g2 = fresh(std::slice::from_ref(&f));
    upsert(&mut g2, &c1);
    assert_same(&g2, &[f.clone(), c1.clone()]);
    assert_eq!(
        keys(
            &g2,
            g2.out(n(&g2, "NL-f"), nonlinear_indexer::EdgeKind::Blocks)
        ),
        ["C1"]
    );
    // `cycle: c1` still means the cycle, even with an item named C1.
    let e = issue_file("NL-e", "cycle: c1");
    upsert(&mut g2, &e);
    assert_eq!(
        g2.out(n(&g2, "NL-e"), nonlinear_indexer::EdgeKind::InCycle)
            .map(|m| g2.node(m).kind)
            .collect::<Vec<_>>(),
        [NodeKind::Cycle]
    );
}

/// One file naming the same item twice (by short id and by UUID) makes two
/// edges; removing and re-adding the target must give two again, not four.
#[test]
fn repeated_references_survive_remove_and_upsert() {
    let a = issue_file("NL-a", &format!("blocks: [NL-b, {}]", uuid_of("NL-b")));
    let b = issue_file("NL-b", "");
    let files = [a, b.clone()];
    let mut g = fresh(&files);
    assert_eq!(g.edge_count(), 2);
    assert!(g.remove(&b.0));
    assert_eq!(g.edge_count(), 0);
    upsert(&mut g, &b);
    assert_eq!(g.edge_count(), 2);
    assert_same(&g, &files);
    upsert(&mut g, &b);
    assert_same(&g, &files);
}

#[test]
fn comments_are_not_nodes() {
    let mut g = Spec::new().issue("NL-a", "").graph();
    let path = format!(
        ".nonlinear/comments/{}/0193a6f1-0000-7000-8000-000000000001.md",
        uuid_of("NL-a")
    );
    let c = item(
        &path,
        "---\nid: 0193a6f1-0000-7000-8000-000000000001\nauthor: ana\n---\nHi.\n",
    );
    assert_eq!(g.upsert(c), None);
    assert_eq!(g.by_path(&path), None);
    assert!(!g.remove(&path));
}

// ---------------------------------------------------------------- property

/// The files of the property test: per slot, the original and a modified
/// version at the same path. They refer to each other by short id (any
/// case) and by UUID, to items that arrive later or never (`NL-zz`), to a
/// cycle key that an item also has (`C1`), and twice to the same item.
fn slots() -> Vec<[(String, String); 2]> {
    let at = |path: &str, (_, text): (String, String)| (path.to_owned(), text);
    vec![
        [
            component_file("CORE", ""),
            component_file("CORE", "depends_on: [DB]"),
        ],
        [
            component_file("API", "parent: CORE; depends_on: [DB]"),
            component_file("API", "parent: DB"),
        ],
        [
            component_file("DB", "parent: CORE"),
            component_file("DB", "title: Database"),
        ],
        [
            component_file(
                "WEB",
                &format!(
                    "parent: API; imports: [api]; shares_db: [{}]",
                    uuid_of("DB")
                ),
            ),
            component_file("WEB", "parent: DB; calls_api: [API, CORE]"),
        ],
        [
            issue_file(
                "NL-a",
                &format!(
                    "parent: API; status: in_progress; priority: 2; estimate: 3; cycle: c1; blocks: [NL-b, {}]",
                    uuid_of("NL-b")
                ),
            ),
            issue_file("NL-a", "parent: API; status: done; blocks: [NL-c]"),
        ],
        [
            issue_file("NL-b", "parent: NL-a; blocks: [NL-c]; relates_to: [NL-d]"),
            issue_file("NL-b", "parent: DB; status: done; blocks: [NL-d, NL-e]"),
        ],
        [
            issue_file(
                "NL-c",
                "parent: WEB; status: done; estimate: 1; blocks: [NL-d]",
            ),
            issue_file("NL-c", "parent: WEB; priority: 1; blocks: [NL-d]"),
        ],
        [
            issue_file("NL-d", "parent: DB; duplicates: [NL-e]; blocks: [NL-zz]"),
            // Renamed: same file, same id, new short id.
            at(
                ".nonlinear/issues/NL-d.md",
                issue_file("NL-dd", &format!("id: {}; parent: NL-b", uuid_of("NL-d"))),
            ),
        ],
        [
            issue_file(
                "NL-e",
                "parent: NL-d; status: backlog; blocks: [NL-a]; cycle: c2",
            ),
            // Same short id, new id.
            issue_file(
                "NL-e",
                &format!("id: {}; parent: NL-dd; status: canceled", uuid_of("NL-e2")),
            ),
        ],
        [
            issue_file(
                "NL-f",
                &format!(
                    "blocks: [NL-b, c1]; relates_to: [{}, NL-dd]; duplicates: [nl-A]",
                    uuid_of("NL-e")
                ),
            ),
            issue_file("NL-f", "parent: NL-e; status: doing; blocks: [c2, NL-D]"),
        ],
        [
            artifact_file("NL-doc", "attached_to: [NL-a, WEB, NL-dd]"),
            artifact_file("NL-doc", "attached_to: [CORE]"),
        ],
        [
            issue_file("C1", "parent: CORE"),
            issue_file("C1", "status: done"),
        ],
    ]
}

/// What a step does to one slot.
#[derive(Debug, Clone, Copy)]
enum Op {
    Remove(usize),
    Upsert(usize, usize),
}

fn op(slots: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..slots).prop_map(Op::Remove),
        (0..slots, 0..2usize).prop_map(|(s, v)| Op::Upsert(s, v)),
    ]
}

/// The files present: slot → version.
fn files_of(
    slots: &[[(String, String); 2]],
    model: &BTreeMap<usize, usize>,
) -> Vec<(String, String)> {
    model.iter().map(|(&s, &v)| slots[s][v].clone()).collect()
}

const SLOTS: usize = 12;

/// Cases of the property: 300, or `NONLINEAR_FUZZ_CASES` for a long run
/// (`NONLINEAR_FUZZ_CASES=100000 cargo test -p nonlinear-indexer --release
/// --test it incremental`).
fn cases() -> u32 {
    std::env::var("NONLINEAR_FUZZ_CASES")
        .ok()
        .map(|v| v.parse().expect("NONLINEAR_FUZZ_CASES is a number"))
        .unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Start from a fresh build of a random subset (each file absent,
    /// original or modified), upsert the missing files in a random order,
    /// then apply random removals and upserts of either version. After
    /// every step the graph is the graph a fresh build of the files present
    /// gives.
    #[test]
    fn any_order_gives_the_fresh_graph(
        initial in proptest::collection::vec(0..3usize, SLOTS),
        order in Just((0..SLOTS).collect::<Vec<usize>>()).prop_shuffle(),
        ops in proptest::collection::vec(op(SLOTS), 0..24),
    ) {
        let slots = slots();
        prop_assert_eq!(slots.len(), SLOTS);
        let names = names();
        let mut model: BTreeMap<usize, usize> = initial
            .iter()
            .enumerate()
            .filter(|(_, v)| **v > 0)
            .map(|(s, v)| (s, v - 1))
            .collect();
        let mut g = fresh(&files_of(&slots, &model));
        let check = |g: &Graph, model: &BTreeMap<usize, usize>, step: &str| -> Result<(), TestCaseError> {
            let want = observe(&fresh(&files_of(&slots, model)), &names);
            let got = observe(g, &names);
            prop_assert!(got == want, "after {step}:\n--- incremental\n{got}\n--- fresh\n{want}");
            Ok(())
        };
        check(&g, &model, "the initial build")?;
        for s in order {
            if let std::collections::btree_map::Entry::Vacant(e) = model.entry(s) {
                e.insert(0);
                let (path, text) = &slots[s][0];
                prop_assert!(g.upsert(item(path, text)).is_some());
                check(&g, &model, &format!("upsert of {path}"))?;
            }
        }
        for op in ops {
            match op {
                Op::Remove(s) => {
                    let path = &slots[s][0].0;
                    prop_assert_eq!(g.remove(path), model.remove(&s).is_some());
                }
                Op::Upsert(s, v) => {
                    let (path, text) = &slots[s][v];
                    prop_assert!(g.upsert(item(path, text)).is_some());
                    model.insert(s, v);
                }
            }
            check(&g, &model, &format!("{op:?}"))?;
        }
    }
}

/// The fixed files themselves: every slot's versions share a path, and the
/// full set has the links the property relies on.
#[test]
fn property_files_are_what_they_claim() {
    let slots = slots();
    for [a, b] in &slots {
        assert_eq!(a.0, b.0);
    }
    let all: BTreeMap<usize, usize> = (0..SLOTS).map(|s| (s, 0)).collect();
    let g = fresh(&files_of(&slots, &all));
    // Two BLOCKS edges NL-a → NL-b (short id and UUID); NL-f blocks C1,
    // not the cycle c1.
    let a = n(&g, "NL-a");
    assert_eq!(
        keys(&g, g.out(a, nonlinear_indexer::EdgeKind::Blocks)),
        ["NL-b", "NL-b"]
    );
    let f = n(&g, "NL-f");
    let mut blocks = keys(&g, g.out(f, nonlinear_indexer::EdgeKind::Blocks));
    blocks.sort_unstable();
    assert_eq!(blocks, ["C1", "NL-b"]);
    assert_eq!(g.parent(n(&g, "WEB")).map(|p| key(&g, p)), Some("API"));
}
