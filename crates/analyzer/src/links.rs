//! The links of every language but Rust's own paths and Cargo manifests:
//! `DEPENDS_ON` from the other ecosystems' manifests, `IMPORTS` from the
//! tree-sitter languages, `CALLS_API` from routes, calls and gRPC stubs,
//! `SHARES_DB` from tables and the databases components name.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::api::{self, Endpoint};
use crate::code::Lang;
use crate::ecosys::{self, ManifestKind};
use crate::edges::{self, EdgeKind};
use crate::{EdgeBuilder, Note, Owners, Pending, cache, sql};

type Files<'a> = [(&'a String, &'a cache::Entry)];

impl Owners {
    /// The component owning a directory (or a file) of the repository.
    pub(crate) fn of_dir(&self, dir: &str) -> Option<&str> {
        match self.by_dir.get(dir) {
            Some(k) => Some(k),
            None => self.of(dir),
        }
    }
}

fn text(note: String) -> Note<'static> {
    Note::Text(note)
}

/// `DEPENDS_ON`: a manifest's dependency on another package of the
/// repository (npm, Python, Go modules, Maven, Gradle projects).
pub(crate) fn depends_on<'a>(
    manifests: &'a [(ManifestKind, ecosys::Package)],
    index: &ecosys::Index,
    owners: &'a Owners,
    out: &mut EdgeBuilder<'a>,
) {
    for (kind, m) in manifests {
        let Some(from) = owners.of(&m.path) else {
            continue;
        };
        for d in &m.deps {
            let Some(dir) = index.dependency(*kind, &d.name) else {
                continue;
            };
            if dir == m.dir {
                continue;
            }
            let Some(to) = owners.of_dir(&dir) else {
                continue;
            };
            let what = match kind {
                ManifestKind::PackageJson => "npm package",
                ManifestKind::PyProject => "Python distribution",
                ManifestKind::GoMod => "Go module",
                ManifestKind::Pom => "Maven artifact",
                _ => "Gradle project",
            };
            out.add(
                EdgeKind::DependsOn,
                from,
                to,
                1.0,
                Pending {
                    file: &m.path,
                    line: d.line,
                    dependency: Some(edges::Dependency {
                        kind: d.kind,
                        optional: d.optional,
                    }),
                    note: text(format!("{what} `{}` ({dir})", d.name)),
                },
            );
        }
    }
}

/// `IMPORTS` of Python, JavaScript/TypeScript, Go and Java files.
pub(crate) fn imports<'a>(
    files: &Files<'a>,
    index: &ecosys::Index,
    owners: &'a Owners,
    out: &mut EdgeBuilder<'a>,
) {
    for &(path, entry) in files {
        let Some(lang) = Lang::of(path) else { continue };
        if entry.generated {
            continue;
        }
        let Some(from) = owners.of(path) else {
            continue;
        };
        for i in &entry.code.imports {
            let targets: Vec<String> = match lang {
                Lang::Python => index.python(path, &i.spec, &i.names).into_iter().collect(),
                Lang::JavaScript | Lang::TypeScript | Lang::Tsx => {
                    index.js(path, &i.spec).into_iter().collect()
                }
                Lang::Go => index.go(&i.spec).into_iter().collect(),
                Lang::Java => index.java(&i.spec).to_vec(),
            };
            let owners_of: BTreeSet<&str> = targets
                .iter()
                .filter_map(|t| owners.of_dir(t))
                .filter(|to| *to != from)
                .collect();
            // A Java package split over several components: each, less sure.
            let confidence = 1.0 / owners_of.len().max(1) as f32;
            for to in owners_of {
                out.add(
                    EdgeKind::Imports,
                    from,
                    to,
                    confidence,
                    Pending {
                        file: path,
                        line: i.line,
                        dependency: None,
                        note: Note::Import {
                            spec: &i.spec,
                            type_only: i.type_only,
                        },
                    },
                );
            }
        }
    }
}

/// Route paths by segment, so that a call finds the routes it may reach
/// without being compared with every route: a literal segment follows its
/// own branch and the parameter branch; a parameter follows every branch.
#[derive(Default)]
struct Trie<'a> {
    nodes: Vec<TrieNode<'a>>,
}

#[derive(Default)]
struct TrieNode<'a> {
    literal: HashMap<&'a str, usize>,
    param: Option<usize>,
    /// Routes ending here.
    routes: Vec<usize>,
}

impl<'a> Trie<'a> {
    fn new(paths: impl Iterator<Item = &'a str>) -> Trie<'a> {
        let mut t = Trie {
            nodes: vec![TrieNode::default()],
        };
        for (i, path) in paths.enumerate() {
            let mut n = 0;
            for seg in path.split('/').filter(|s| !s.is_empty()) {
                let next = if seg == "{}" {
                    t.nodes[n].param
                } else {
                    t.nodes[n].literal.get(seg).copied()
                };
                n = match next {
                    Some(x) => x,
                    None => {
                        let x = t.nodes.len();
                        t.nodes.push(TrieNode::default());
                        if seg == "{}" {
                            t.nodes[n].param = Some(x);
                        } else {
                            t.nodes[n].literal.insert(seg, x);
                        }
                        x
                    }
                };
            }
            t.nodes[n].routes.push(i);
        }
        t
    }

    /// Every route `call` matches ([`api::matches`]), with its score.
    fn find(&self, call: &str, out: &mut Vec<(usize, usize)>) {
        let segs: Vec<&str> = call.split('/').filter(|s| !s.is_empty()).collect();
        self.walk(0, &segs, 0, out);
    }

    fn walk(&self, n: usize, segs: &[&str], score: usize, out: &mut Vec<(usize, usize)>) {
        let node = &self.nodes[n];
        let Some((first, rest)) = segs.split_first() else {
            out.extend(node.routes.iter().map(|&r| (r, score)));
            return;
        };
        if *first == "{}" {
            for &x in node.literal.values() {
                self.walk(x, rest, score, out);
            }
        } else if let Some(&x) = node.literal.get(first) {
            self.walk(x, rest, score + 1, out);
        }
        if let Some(x) = node.param {
            self.walk(x, rest, score, out);
        }
    }
}

/// A route or a gRPC server, where it is declared.
struct Provided<'a> {
    component: &'a str,
    file: &'a str,
    line: u32,
}

/// `CALLS_API`: an HTTP call whose path matches a route of another
/// component, and a gRPC client of a service another component serves.
pub(crate) fn calls_api<'a>(files: &Files<'a>, owners: &'a Owners, out: &mut EdgeBuilder<'a>) {
    let mut routes: Vec<(&'a Endpoint, Provided<'a>)> = Vec::new();
    let mut calls: Vec<(&'a Endpoint, &'a str, &'a str)> = Vec::new();
    let mut services: BTreeSet<&str> = BTreeSet::new();
    let mut grpc: Vec<(api::Grpc, &'a str, &'a str)> = Vec::new();
    for &(path, entry) in files {
        if entry.generated {
            continue;
        }
        for (s, _) in &entry.code.services {
            services.insert(s);
        }
        let Some(c) = owners.of(path) else { continue };
        for r in &entry.code.routes {
            let line = r.line;
            routes.push((
                r,
                Provided {
                    component: c,
                    file: path,
                    line,
                },
            ));
        }
        for call in &entry.code.calls {
            calls.push((call, c, path));
        }
        for g in &entry.code.grpc {
            grpc.push((g.clone(), c, path));
        }
    }
    let trie = Trie::new(routes.iter().map(|r| r.0.path.as_str()));
    let mut found = Vec::new();
    for (call, from, file) in &calls {
        // The most specific matching routes, by method and path.
        found.clear();
        trie.find(&call.path, &mut found);
        let mut best: Vec<&(&Endpoint, Provided)> = Vec::new();
        let mut best_score = 0;
        for &(i, score) in &found {
            let r = &routes[i];
            let methods_agree = match (&call.method, &r.0.method) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            if !methods_agree {
                continue;
            }
            if best.is_empty() || score > best_score {
                best = vec![r];
                best_score = score;
            } else if score == best_score {
                best.push(r);
            }
        }
        // A call the caller serves itself is a self-call.
        if best.iter().any(|r| r.1.component == *from) {
            continue;
        }
        let providers: BTreeSet<&str> = best.iter().map(|r| r.1.component).collect();
        for to in &providers {
            let r = best
                .iter()
                .find(|r| r.1.component == *to)
                .expect("a provider has a route");
            let exact_method = call.method.is_some() && r.0.method.is_some();
            let confidence = (if exact_method { 1.0 } else { 0.9 }) / providers.len() as f32;
            let method = call
                .method
                .as_deref()
                .or(r.0.method.as_deref())
                .unwrap_or("*");
            out.add(
                EdgeKind::CallsApi,
                from,
                to,
                confidence,
                Pending {
                    file,
                    line: call.line,
                    dependency: None,
                    note: text(format!(
                        "{method} {} → route at {}:{}",
                        call.path, r.1.file, r.1.line
                    )),
                },
            );
        }
    }
    // gRPC: a service declared in a `.proto` file, served by one component
    // and used by another.
    let mut servers: BTreeMap<&str, Vec<(&str, &str, u32)>> = BTreeMap::new();
    for (g, c, file) in &grpc {
        if g.server && services.contains(g.service.as_str()) {
            servers
                .entry(&g.service)
                .or_default()
                .push((c, file, g.line));
        }
    }
    for (g, from, file) in &grpc {
        if g.server || !services.contains(g.service.as_str()) {
            continue;
        }
        let Some(list) = servers.get(g.service.as_str()) else {
            continue;
        };
        if list.iter().any(|(c, _, _)| c == from) {
            continue;
        }
        for (to, sfile, sline) in list {
            out.add(
                EdgeKind::CallsApi,
                from,
                to,
                1.0,
                Pending {
                    file,
                    line: g.line,
                    dependency: None,
                    note: text(format!(
                        "gRPC client of {} → server registered at {sfile}:{sline}",
                        g.service
                    )),
                },
            );
        }
    }
}

/// (component, file, line).
type Place<'c, 'a> = (&'c str, &'a str, u32);

/// `SHARES_DB`: two components touching a table of the same name in a
/// database of the same name ([`crate::sql`]). One edge per pair, from the
/// smaller key to the larger.
pub(crate) fn shares_db<'a>(files: &Files<'a>, owners: &'a Owners, out: &mut EdgeBuilder<'a>) {
    // Each component's databases, by the URLs its files name.
    let mut dbs: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    // (component, table) → first place touched.
    let mut touches: BTreeMap<(&str, String), (&'a str, u32)> = BTreeMap::new();
    for &(path, entry) in files {
        if entry.generated {
            continue;
        }
        let Some(c) = owners.of(path) else { continue };
        for (s, _) in &entry.code.strings {
            if let Some(db) = sql::database_of_url(s) {
                dbs.entry(c).or_default().insert(db);
            }
        }
        for (t, line) in &entry.code.tables {
            touches
                .entry((c, t.to_ascii_lowercase()))
                .or_insert((path, *line));
        }
    }
    // (database, table) → components touching it.
    let mut by_table: BTreeMap<(Option<&str>, &str), Vec<Place<'_, 'a>>> = BTreeMap::new();
    for ((c, table), (file, line)) in &touches {
        match dbs.get(c) {
            Some(names) => {
                for db in names {
                    by_table
                        .entry((Some(db.as_str()), table.as_str()))
                        .or_default()
                        .push((c, file, *line));
                }
            }
            None => by_table
                .entry((None, table.as_str()))
                .or_default()
                .push((c, file, *line)),
        }
    }
    for ((db, table), users) in by_table {
        for (i, a) in users.iter().enumerate() {
            for b in &users[i + 1..] {
                let (x, y) = if a.0 <= b.0 { (a, b) } else { (b, a) };
                let many = |c: &str| dbs.get(c).is_some_and(|d| d.len() > 1);
                let confidence = match db {
                    None => 0.6,
                    Some(_) if many(x.0) || many(y.0) => 0.7,
                    Some(_) => 1.0,
                };
                let db_name = db.map_or_else(
                    || "the unnamed database".to_owned(),
                    |d| format!("database `{d}`"),
                );
                out.add(
                    EdgeKind::SharesDb,
                    x.0,
                    y.0,
                    confidence,
                    Pending {
                        file: x.1,
                        line: x.2,
                        dependency: None,
                        note: text(format!(
                            "table `{table}` in {db_name}, also at {}:{}",
                            y.1, y.2
                        )),
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn path() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![Just("{}"), Just("a"), Just("b"), Just("api")],
            0..5,
        )
        .prop_map(|segs| format!("/{}", segs.join("/")))
    }

    proptest! {
        /// The trie finds exactly the routes `api::matches` accepts, with
        /// the same scores.
        #[test]
        fn trie_agrees_with_matches(routes in proptest::collection::vec(path(), 0..12), call in path()) {
            let trie = Trie::new(routes.iter().map(String::as_str));
            let mut got = Vec::new();
            trie.find(&call, &mut got);
            got.sort();
            let mut want: Vec<(usize, usize)> = routes
                .iter()
                .enumerate()
                .filter_map(|(i, r)| Some((i, api::matches(&call, r)?)))
                .collect();
            want.sort();
            prop_assert_eq!(got, want);
        }
    }
}
