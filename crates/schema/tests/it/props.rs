//! Property tests.
//!
//! * No input makes the reader, the validator, the editor or the filter
//!   parser panic: arbitrary bytes, arbitrary strings, and "structured
//!   garbage" assembled from front matter fragments (fences, known keys,
//!   anchors and aliases, unterminated quotes, deep nesting, tabs, CRLF, BOM,
//!   unicode), alone and as whole workspaces whose items refer to each other.
//!   Every diagnostic must also point at a line that exists in a file the
//!   workspace holds.
//! * Cycles: on random graphs of valid items, `check` reports exactly one
//!   `parent-cycle`/`blocks-cycle` per cycle (per strongly connected set for
//!   `blocks`) and the chain it prints is made of real links.
//! * Edits round-trip: any sequence of `Set`/`Add`/`Remove` (and `Unset`,
//!   `SetList`, `Rename`, `SetBody`) with arbitrary printable values on a
//!   valid issue either fails or yields a file that parses without errors to
//!   exactly the values a model of the operations predicts (so quoting
//!   works), with the body byte-for-byte intact; and one `Set`/`Add`/
//!   `Remove` touches at most two lines, all of its own entry.
//!
//! * The YAML fast path builds exactly the tree (positions included) the
//!   full parser builds, or defers to it: checked on YAML-ish garbage and on
//!   near-simple front matter that the fast path mostly accepts.
//!
//! Case counts: the eight no-panic and cycle properties run
//! `NO_PANIC_CASES` (2,000) inputs each, the two edit properties
//! `EDIT_CASES` (500) sequences each: 17,000 cases, about 10 s in a debug
//! build. (Each `arbitrary_*`/`structured_garbage` input is read as all four
//! item kinds, as a config and as a workspace.) `NONLINEAR_FUZZ_CASES=N`
//! sets every property to N cases for a long run:
//!
//! ```text
//! NONLINEAR_FUZZ_CASES=200000 cargo test -p nonlinear-schema --release --test it props
//! ```

use std::collections::HashSet;
use std::sync::LazyLock;

use nonlinear_schema::edit::{self, Op, Scalar};
use nonlinear_schema::filter::Filter;
use nonlinear_schema::ids;
use nonlinear_schema::parse::{self, parse_config, parse_item};
use nonlinear_schema::{Diagnostic, Item, Kind, Severity, Workspace, yaml};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

/// Inputs per no-panic property.
const NO_PANIC_CASES: u32 = 2_000;
/// Edit sequences per editing property.
const EDIT_CASES: u32 = 500;

fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("NONLINEAR_FUZZ_CASES")
        .ok()
        .map(|v| v.parse().expect("NONLINEAR_FUZZ_CASES is a number"))
        .unwrap_or(default);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

const KINDS: [Kind; 4] = [Kind::Component, Kind::Issue, Kind::Artifact, Kind::Comment];

// ------------------------------------------------------------ fragments

/// Ids of the items of generated workspaces: item `k` mostly gets
/// `UUIDS[k]` and `SHORTS[k]`, sometimes another's (a duplicate).
const UUIDS: [&str; 8] = [
    "0193a6f0-0000-7000-8000-000000000000",
    "0193a6f0-0000-7000-8000-000000000001",
    "0193a6f0-0000-7000-8000-000000000002",
    "0193a6f0-0000-7000-8000-000000000003",
    "0193a6f0-0000-7000-8000-000000000004",
    "0193a6f0-0000-7000-8000-000000000005",
    "0193a6f0-0000-7000-8000-000000000006",
    "0193a6f0-0000-7000-8000-000000000007",
];
const SHORTS: [&str; 8] = [
    "NL-aaaa", "NL-bbbb", "NL-cccc", "NL-dddd", "AUTH", "DB", "CACHE", "nl-AAAA",
];

/// Every key any file kind or the config knows, and a few it does not.
const KEYS: &[&str] = &[
    "id",
    "short_id",
    "title",
    "status",
    "labels",
    "assignee",
    "created_by",
    "created_at",
    "cycle",
    "priority",
    "estimate",
    "due",
    "parent",
    "blocks",
    "relates_to",
    "duplicates",
    "depends_on",
    "imports",
    "calls_api",
    "shares_db",
    "repo",
    "path",
    "owner",
    "kind",
    "url",
    "file",
    "mime_type",
    "size",
    "attached_to",
    "author",
    "edited_at",
    "reply_to",
    "reactions",
    "version",
    "key",
    "name",
    "statuses",
    "category",
    "members",
    "handle",
    "cycles",
    "starts",
    "priorities",
    "value",
    "x-custom",
    "\"quoted key\"",
    "? complex",
    "",
];

/// YAML-ish values, valid and not.
const VALUES: &[&str] = &[
    "",
    "~",
    "null",
    "todo",
    "done",
    "ana",
    "@ana",
    "bug",
    "2",
    "9",
    "-1",
    "1.5",
    ".nan",
    "1e999",
    "2026-12-01",
    "2026-13-45",
    "2026-11-25T09:30:00Z",
    "yes",
    "link",
    "file",
    "docs/a.txt",
    "./docs/a.txt",
    "../../etc/passwd",
    "https://example.com/a#b",
    "[",
    "]",
    "{",
    "}",
    "[]",
    "{}",
    "[a, b]",
    "[a, [b, [c]]]",
    "{a: 1, b: [2]}",
    "{a: *x}",
    "&a",
    "&x value",
    "*a",
    "*x",
    "*undefined",
    "!!str 1",
    "!tag x",
    "!!binary aGk=",
    "\"unterminated",
    "'unterminated",
    "\"esc \\u00e9 \\x41 \\t\"",
    "\"bad \\q escape\"",
    "'it''s'",
    "|",
    "|-",
    ">",
    ">+2",
    "- a",
    "- - a",
    "? a",
    ": b",
    "a: b: c",
    "#",
    "# comment",
    "a # comment",
    "%YAML 1.2",
    "---",
    "...",
    "\t",
    "a\tb",
    "é",
    "日本語",
    "🎉",
    "\u{200b}",
    "\u{feff}",
    "\u{2028}",
    "\u{202e}rtl",
    "a\u{301}",
    "\u{0}",
    "\u{7f}",
    "\u{85}",
];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    proptest::sample::select(list).prop_map(str::to_owned)
}

/// A reference: known short ids and UUIDs (so links resolve, collide and
/// form cycles), or something else.
fn reference() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(&UUIDS[..]).prop_map(str::to_owned),
        8 => proptest::sample::select(&SHORTS[..]).prop_map(str::to_owned),
        1 => pick(VALUES),
    ]
}

/// One YAML-ish value, possibly nested deeply.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => pick(VALUES),
        3 => reference(),
        1 => "\\PC{0,12}",
        1 => (1usize..80).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
        1 => (1usize..80).prop_map(|n| "[".repeat(n)),
        1 => (1usize..40).prop_map(|n| format!("{}x{}", "{a: ".repeat(n), "}".repeat(n))),
        1 => prop::collection::vec(reference(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
    ]
}

/// One front matter (or config) line, without its terminator.
fn line() -> impl Strategy<Value = String> {
    let indent = prop_oneof![
        6 => Just(""),
        2 => Just("  "),
        1 => Just("    "),
        1 => Just("\t"),
        1 => Just(" "),
    ];
    prop_oneof![
        8 => (indent.clone(), pick(KEYS), value()).prop_map(|(i, k, v)| format!("{i}{k}: {v}")),
        2 => (indent.clone(), pick(KEYS)).prop_map(|(i, k)| format!("{i}{k}:")),
        3 => (indent.clone(), value()).prop_map(|(i, v)| format!("{i}- {v}")),
        1 => (indent, pick(KEYS), pick(KEYS), value())
            .prop_map(|(i, k, k2, v)| format!("{i}- {{{k}: {v}, {k2}: x}}")),
        1 => pick(VALUES),
        1 => Just(String::new()),
        1 => Just("# comment".to_owned()),
    ]
}

/// A line the YAML fast path is meant to take, or one just outside it:
/// odd spacing, trailing blanks, lists at other indents, comments.
fn simple_line() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        4 => "[a-zA-Z0-9][a-zA-Z0-9._/-]{0,10}",
        1 => "[a-z]{1,4} [a-z:#'\"]{1,4}",
        1 => "[a-z]{0,3}[{}\\[\\],&*!|>%@`?~=-][a-z{}\\[\\] ]{0,3}",
        1 => pick(VALUES),
        1 => Just("é😀 x".to_owned()),
    ];
    let key = prop_oneof![4 => pick(&["id", "title", "status", "labels", "blocks", "x-y", "a_b"]), 1 => "[a-z][a-z0-9_-]{0,5}"];
    let pad = prop_oneof![6 => Just(""), 1 => Just(" "), 1 => Just("  ")];
    prop_oneof![
        6 => (key.clone(), pad.clone(), word.clone(), pad.clone())
            .prop_map(|(k, p, w, q)| format!("{k}: {p}{w}{q}")),
        2 => (key.clone(), prop::collection::vec(word.clone(), 0..4), pad.clone())
            .prop_map(|(k, ws, p)| format!("{k}: [{p}{}]", ws.join(", "))),
        2 => key.prop_map(|k| format!("{k}:")),
        3 => (pad.clone(), word, pad).prop_map(|(p, w, q)| format!("{p}- {w}{q}")),
        1 => Just(String::new()),
        1 => Just("# note".to_owned()),
        1 => Just("  # indented note".to_owned()),
    ]
}

fn eol() -> impl Strategy<Value = &'static str> {
    prop_oneof![6 => Just("\n"), 2 => Just("\r\n"), 1 => Just("\r")]
}

/// A file assembled from fragments: maybe a BOM, maybe an opening fence,
/// lines of YAML-ish text, maybe a closing fence, a body.
fn garbage_item() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop_oneof![8 => Just("---"), 1 => Just("--- "), 1 => Just(""), 1 => Just("----")],
        prop::collection::vec(line(), 0..24),
        prop_oneof![6 => Just("---"), 1 => Just("..."), 1 => Just(""), 1 => Just("--- x")],
        "\\PC{0,40}",
        eol(),
    )
        .prop_map(|(bom, open, lines, close, body, eol)| {
            let mut s = String::new();
            if bom {
                s.push('\u{feff}');
            }
            s.push_str(open);
            s.push_str(eol);
            for l in lines {
                s.push_str(&l);
                s.push_str(eol);
            }
            s.push_str(close);
            s.push_str(eol);
            s.push_str(&body);
            s
        })
}

/// A config file assembled from fragments.
fn garbage_config() -> impl Strategy<Value = String> {
    (prop::collection::vec(line(), 0..24), any::<bool>(), eol()).prop_map(
        |(lines, statuses, eol)| {
            let mut s = String::new();
            if statuses {
                for l in [
                    "statuses:",
                    "  - {key: todo, category: unstarted}",
                    "  - {key: done, category: completed}",
                ] {
                    s.push_str(l);
                    s.push_str(eol);
                }
            }
            for l in lines {
                s.push_str(&l);
                s.push_str(eol);
            }
            s
        },
    )
}

/// A mostly valid item with references into the shared pools and now and
/// then a garbage line, so the workspace rules (duplicates, dangling and
/// wrong-kind links, cycles) get exercised. It is item `me` of `n`; its
/// links mostly point at the others.
fn near_valid_item(me: usize, n: usize) -> impl Strategy<Value = String> {
    let pool = |own: &'static str, all: &'static [&'static str]| {
        prop_oneof![
            16 => Just(own.to_owned()),
            2 => proptest::sample::select(all).prop_map(str::to_owned),
            1 => pick(VALUES),
        ]
    };
    // `parent` and `blocks` most often, so cycles form.
    let link_keys = proptest::sample::select(
        &[
            "parent",
            "parent",
            "parent",
            "blocks",
            "blocks",
            "blocks",
            "relates_to",
            "duplicates",
            "depends_on",
            "imports",
            "attached_to",
            "reply_to",
        ][..],
    );
    (
        pool(UUIDS[me % UUIDS.len()], &UUIDS),
        pool(SHORTS[me % SHORTS.len()], &SHORTS),
        prop::collection::vec(
            (
                link_keys,
                prop::collection::vec(
                    prop_oneof![
                        8 => (0..n).prop_map(|k| SHORTS[k % SHORTS.len()].to_owned()),
                        4 => (0..n).prop_map(|k| UUIDS[k % UUIDS.len()].to_owned()),
                        1 => reference(),
                    ],
                    0..3,
                ),
                any::<bool>(),
            ),
            0..4,
        ),
        prop_oneof![6 => Just(Vec::new()), 1 => prop::collection::vec(line(), 1..3)],
        pick(&["todo", "done", "nope", "file", "link"]),
    )
        .prop_map(|(id, short, links, junk, word)| {
            let mut s = format!(
                "---\nid: {id}\nshort_id: {short}\ntitle: T\nstatus: {word}\nkind: {word}\nfile: docs/a.txt\nurl: x\nauthor: ana\n"
            );
            let mut seen = HashSet::new();
            for (key, refs, flow) in links {
                if !seen.insert(key) {
                    continue;
                }
                if matches!(key, "parent" | "reply_to") {
                    if let Some(r) = refs.first() {
                        s.push_str(&format!("{key}: {r}\n"));
                    }
                } else if flow {
                    s.push_str(&format!("{key}: [{}]\n", refs.join(", ")));
                } else {
                    s.push_str(&format!("{key}:\n"));
                    for r in refs {
                        s.push_str(&format!("  - {r}\n"));
                    }
                }
            }
            for l in junk {
                s.push_str(&l);
                s.push('\n');
            }
            s.push_str("---\nbody\n");
            s
        })
}

/// A valid config for the near-valid items.
const CONFIG: &str = "statuses:\n  - {key: todo, category: unstarted}\n  - {key: done, category: completed}\nlabels:\n  - {name: bug}\nmembers:\n  - {handle: ana}\ncycles:\n  - {key: w1}\n";

/// The path of item `me`: mostly an issue, else any other kind of file.
fn item_path(me: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(format!(".nonlinear/issues/NL-{me}.md")),
        1 => Just(format!(".nonlinear/components/C{me}.md")),
        1 => Just(format!("services/s{me}/COMPONENT.md")),
        1 => Just(format!(".nonlinear/artifacts/A{me}.md")),
        1 => proptest::sample::select(&UUIDS[..])
            .prop_map(move |on| format!(".nonlinear/comments/{on}/{}.md", UUIDS[me % UUIDS.len()])),
        1 => Just(format!(".nonlinear/comments/not-a-uuid/{me}.md")),
    ]
}

fn workspace() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let config = prop_oneof![
        2 => prop_oneof![Just(Vec::new()), prop::collection::vec(line(), 1..3)].prop_map(|junk| {
            let mut s = CONFIG.to_owned();
            for l in junk {
                s.push_str(&l);
                s.push('\n');
            }
            s
        }),
        1 => garbage_config(),
    ];
    let items = (1usize..10).prop_flat_map(|n| {
        (0..n)
            .map(|me| {
                let content = prop_oneof![
                    6 => near_valid_item(me, n).prop_map(String::into_bytes),
                    2 => garbage_item().prop_map(String::into_bytes),
                    1 => prop::collection::vec(any::<u8>(), 0..64),
                ];
                (item_path(me), content)
            })
            .collect::<Vec<_>>()
    });
    (prop::option::weighted(0.9, config), items).prop_map(|(config, items)| {
        let mut files: Vec<(String, Vec<u8>)> = config
            .map(|c| (parse::CONFIG_PATH.to_owned(), c.into_bytes()))
            .into_iter()
            .collect();
        // One file per path, as on disk (comment paths can repeat).
        let mut seen = HashSet::new();
        files.extend(items.into_iter().filter(|(p, _)| seen.insert(p.clone())));
        files
    })
}

/// Per item of a [`linked_workspace`]: whether it is an issue, its parent
/// and the items it blocks.
type Graph = Vec<(bool, Option<usize>, Vec<usize>)>;

/// A valid workspace of issues and components whose `parent` and `blocks`
/// links point at each other at random: item `k` is `NL-k` with id
/// `UUIDS[k]`, referred to by either. Returns the files and the graph.
fn linked_workspace() -> impl Strategy<Value = (Vec<(String, String)>, Graph)> {
    (2usize..8)
        .prop_flat_map(|n| {
            let item = (
                prop::bool::weighted(0.75),
                prop::option::of(0..n),
                prop::collection::vec(0..n, 0..3),
                any::<bool>(),
                any::<bool>(),
            );
            prop::collection::vec(item, n)
        })
        .prop_map(|items| {
            let mut files = vec![(parse::CONFIG_PATH.to_owned(), CONFIG.to_owned())];
            let mut graph = Vec::new();
            for (k, (issue, parent, mut blocks, by_uuid, flow)) in items.into_iter().enumerate() {
                blocks.sort_unstable();
                blocks.dedup();
                let name = |t: usize| {
                    if by_uuid {
                        UUIDS[t].to_owned()
                    } else {
                        format!("nl-{t}")
                    }
                };
                let mut s = format!("---\nid: {}\nshort_id: NL-{k}\ntitle: Item {k}\n", UUIDS[k]);
                if issue {
                    s.push_str("status: todo\n");
                }
                if let Some(p) = parent {
                    s.push_str(&format!("parent: {}\n", name(p)));
                }
                if issue && !blocks.is_empty() {
                    if flow {
                        let refs: Vec<String> = blocks.iter().map(|&b| name(b)).collect();
                        s.push_str(&format!("blocks: [{}]\n", refs.join(", ")));
                    } else {
                        s.push_str("blocks:\n");
                        for &b in &blocks {
                            s.push_str(&format!("  - {}\n", name(b)));
                        }
                    }
                }
                s.push_str("---\n");
                let path = if issue {
                    format!(".nonlinear/issues/NL-{k}.md")
                } else {
                    format!("services/s{k}/COMPONENT.md")
                };
                files.push((path, s));
                graph.push((issue, parent, if issue { blocks } else { Vec::new() }));
            }
            (files, graph)
        })
}

/// Strongly connected components with more than one member, by brute force.
fn cycles(edges: &[Vec<usize>]) -> usize {
    let n = edges.len();
    let mut reach = vec![vec![false; n]; n];
    for (a, out) in edges.iter().enumerate() {
        for &b in out {
            reach[a][b] = true;
        }
    }
    for k in 0..n {
        for a in 0..n {
            for b in 0..n {
                if reach[a][k] && reach[k][b] {
                    reach[a][b] = true;
                }
            }
        }
    }
    let mut seen = vec![false; n];
    let mut count = 0;
    for a in 0..n {
        if seen[a] {
            continue;
        }
        let scc: Vec<usize> = (0..n)
            .filter(|&b| b == a || reach[a][b] && reach[b][a])
            .collect();
        for &b in &scc {
            seen[b] = true;
        }
        if scc.len() > 1 {
            count += 1;
        }
    }
    count
}

// ------------------------------------------------------------ checks

/// Parses `bytes` as every kind of file and as a config, then as a
/// one-file workspace, checking what comes out.
fn read_everything(bytes: &[u8]) {
    for kind in KINDS {
        let (item, diags) = parse_item("f.md", kind, bytes);
        assert!(item.is_some() || diags.iter().any(|d| d.severity == Severity::Error));
        check_positions(&[("f.md", bytes)], &diags);
    }
    let (_, diags) = parse_config(parse::CONFIG_PATH, bytes);
    check_positions(&[(parse::CONFIG_PATH, bytes)], &diags);
    check_workspace(&[
        (".nonlinear/issues/NL-x.md".to_owned(), bytes.to_vec()),
        (parse::CONFIG_PATH.to_owned(), bytes.to_vec()),
    ]);
}

fn check_workspace(files: &[(String, Vec<u8>)]) {
    let ws = Workspace::from_files(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
    let probe = |p: &str| p.starts_with("docs/");
    let diags = ws.check(&probe);
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    check_positions(&files, &diags);
    // Lookups and queries work on whatever was read.
    for item in &ws.items {
        for (_, r) in item.references() {
            let _ = ws.resolve(&r.value);
        }
        let _ = ws.children(item).count();
    }
    let filter = Filter::parse("is:open under:AUTH -label:bug priority:<=2 no:assignee").unwrap();
    let _ = ws.query(&filter, Some("ana"));
}

/// Every diagnostic points at a file of the workspace (or the config path),
/// at a line that exists, with a column of at least 1; related places too.
fn check_positions(files: &[(&str, &[u8])], diags: &[Diagnostic]) {
    // Lines as YAML counts them: `\r\n`, `\n` and a lone `\r` each end one.
    let lines_of = |path: &str| -> Option<u32> {
        let (_, bytes) = files.iter().find(|(p, _)| *p == path)?;
        let lone_cr = bytes
            .windows(2)
            .filter(|w| w[0] == b'\r' && w[1] != b'\n')
            .count()
            + usize::from(bytes.last() == Some(&b'\r'));
        let lf = bytes.iter().filter(|b| **b == b'\n').count();
        Some((lf + lone_cr) as u32 + 1)
    };
    for d in diags {
        let places =
            std::iter::once((&d.path, d.pos)).chain(d.related.iter().map(|r| (&r.path, r.pos)));
        for (path, pos) in places {
            assert!(pos.line >= 1 && pos.col >= 1, "{d:?}");
            match lines_of(path) {
                Some(lines) => assert!(pos.line <= lines, "{d:?} is past the end ({lines} lines)"),
                None => assert_eq!(path, parse::CONFIG_PATH, "{d:?} names an unknown file"),
            }
        }
        assert!(d.len >= 1);
    }
}

proptest! {
    #![proptest_config(config(NO_PANIC_CASES))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        read_everything(&bytes);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        read_everything(text.as_bytes());
    }

    #[test]
    fn structured_garbage_never_panics(text in garbage_item()) {
        read_everything(text.as_bytes());
    }

    #[test]
    fn garbage_config_never_panics(text in garbage_config()) {
        let (_, diags) = parse_config(parse::CONFIG_PATH, text.as_bytes());
        check_positions(&[(parse::CONFIG_PATH, text.as_bytes())], &diags);
    }

    #[test]
    fn yaml_fast_path_agrees_with_full_parser(
        lines in prop::collection::vec(prop_oneof![line(), simple_line()], 0..12),
        eol in eol(),
        first in 1u32..5,
    ) {
        let text = lines.join(eol) + eol;
        prop_assert_eq!(yaml::parse(&text, first), yaml::parse_full(&text, first), "{:?}", text);
    }

    #[test]
    fn garbage_workspaces_never_panic(files in workspace()) {
        check_workspace(&files);
    }

    #[test]
    fn cycles_are_found_and_real((files, graph) in linked_workspace()) {
        let ws = Workspace::from_files(files.iter().map(|(p, t)| (p.as_str(), t.as_bytes())));
        let diags = ws.check(&|_: &str| true);
        // Self-links are reported as such, not as cycles.
        let parents: Vec<Vec<usize>> = graph
            .iter()
            .enumerate()
            .map(|(k, (_, p, _))| p.iter().copied().filter(|&p| p != k).collect())
            .collect();
        let blocks: Vec<Vec<usize>> = graph
            .iter()
            .enumerate()
            .map(|(k, (_, _, b))| b.iter().copied().filter(|&b| b != k && graph[b].0).collect())
            .collect();
        for (code, edges) in [
            (nonlinear_schema::Code::ParentCycle, &parents),
            (nonlinear_schema::Code::BlocksCycle, &blocks),
        ] {
            let reported: Vec<&Diagnostic> = diags.iter().filter(|d| d.code == code).collect();
            prop_assert_eq!(reported.len(), cycles(edges), "{:?}: {:#?}", code, reported);
            // The chain printed is a real cycle: `NL-a → NL-b → … → NL-a`.
            for d in reported {
                let (_, chain) = d.message.rsplit_once(": ").unwrap();
                let names: Vec<usize> = chain
                    .split(" → ")
                    .map(|n| n.strip_prefix("NL-").unwrap().parse().unwrap())
                    .collect();
                prop_assert_eq!(names.first(), names.last());
                prop_assert!(names.len() >= 3, "{}", d.message);
                let members: HashSet<usize> = names[1..].iter().copied().collect();
                prop_assert_eq!(members.len(), names.len() - 1, "{} repeats an item", d.message);
                for w in names.windows(2) {
                    prop_assert!(edges[w[0]].contains(&w[1]), "{} is not an edge: {}", w[0], d.message);
                }
                prop_assert_eq!(d.related.len(), names.len() - 2);
            }
        }
        for d in &diags {
            prop_assert!(
                matches!(d.code.as_str(), "parent-cycle" | "blocks-cycle" | "self-link" | "wrong-kind"),
                "{:?}", d
            );
        }
    }

    #[test]
    fn editing_garbage_never_panics(
        text in prop_oneof![garbage_item(), near_valid_item(0, 3), any::<String>()],
        ops in prop::collection::vec(any_op(), 1..4),
    ) {
        // Errors are fine; panics and invalid UTF-8 slicing are not.
        let _ = edit::apply(&text, &ops);
    }

    #[test]
    fn filter_parser_never_panics(query in prop_oneof![any::<String>(), filter_query()]) {
        if let Ok(filter) = Filter::parse(&query) {
            let _ = FILTER_WS.query(&filter, Some("ana"));
            let _ = FILTER_WS.query(&filter, None);
        }
    }
}

/// A small workspace to run parsed filters against (with a parent cycle, so
/// `under:` must not loop).
static FILTER_WS: LazyLock<Workspace> =
    LazyLock::new(|| Workspace::from_files(FILTER_FILES.iter().map(|(p, t)| (*p, t.as_bytes()))));

const FILTER_FILES: &[(&str, &str)] = &[
    (
        ".nonlinear/config.yaml",
        "statuses:\n  - {key: todo, category: unstarted}\n  - {key: done, category: completed}\nmembers:\n  - {handle: ana}\n",
    ),
    (
        ".nonlinear/issues/NL-aaaa.md",
        "---\nid: 0193a6f0-0000-7000-8000-000000000001\nshort_id: NL-aaaa\ntitle: Fix ünïcode\nstatus: todo\nassignee: ana\npriority: 2\nestimate: 3\ndue: 2026-12-01\nlabels: [bug]\nparent: NL-bbbb\ncycle: w1\n---\nBody.\n",
    ),
    (
        ".nonlinear/issues/NL-bbbb.md",
        "---\nid: 0193a6f0-0000-7000-8000-000000000002\nshort_id: NL-bbbb\ntitle: Parent\nstatus: done\nparent: NL-aaaa\n---\n",
    ),
];

fn filter_query() -> impl Strategy<Value = String> {
    let term = (
        any::<bool>(),
        prop_oneof![
            pick(nonlinear_schema::filter::KEYS),
            pick(&["bogus", "http", "", "STATUS"]),
            "\\PC{0,4}",
        ],
        prop::collection::vec(
            prop_oneof![
                pick(&[
                    "",
                    "<",
                    "<=",
                    ">",
                    ">=",
                    "=",
                    "@me",
                    "me",
                    "none",
                    "open",
                    "closed",
                    "blocked",
                    "ready",
                    "READY",
                    "issue",
                    "2",
                    "9",
                    "-1",
                    "1.5",
                    "nan",
                    "2026-12-01",
                    "2026-13-01",
                    "urgent",
                    "\"",
                    "\"a b\"",
                    "//x",
                    ",",
                    ":",
                    "é",
                    "🎉",
                    "assignee",
                    "label",
                ]),
                "\\PC{0,4}",
            ],
            0..4,
        ),
    )
        .prop_map(|(neg, key, values)| {
            format!("{}{key}:{}", if neg { "-" } else { "" }, values.join(","))
        });
    prop::collection::vec(prop_oneof![3 => term, 1 => "\\PC{0,8}"], 0..6)
        .prop_map(|terms| terms.join(" "))
}

fn any_op() -> impl Strategy<Value = Op> {
    let key = prop_oneof![pick(KEYS), "\\PC{0,6}"];
    let text = printable();
    prop_oneof![
        (key.clone(), text.clone()).prop_map(|(key, v)| Op::Set {
            key,
            value: Scalar::Str(v)
        }),
        (key.clone(), text.clone()).prop_map(|(key, v)| Op::Set {
            key,
            value: Scalar::Raw(v)
        }),
        key.clone().prop_map(|key| Op::Unset { key }),
        (key.clone(), text.clone()).prop_map(|(key, value)| Op::Add { key, value }),
        (key.clone(), text.clone()).prop_map(|(key, value)| Op::Remove { key, value }),
        (key.clone(), prop::collection::vec(text.clone(), 0..3))
            .prop_map(|(key, values)| Op::SetList { key, values }),
        (key, text.clone(), text.clone()).prop_map(|(key, from, to)| Op::Rename { key, from, to }),
        text.prop_map(Op::SetBody),
    ]
}

// ------------------------------------------------------------ edits

/// Strings a person might type: any printable text, plus the characters
/// YAML cares about.
fn printable() -> impl Strategy<Value = String> + Clone {
    let tricky = pick(&[
        "'",
        "\"",
        ":",
        ": ",
        " #",
        "#",
        "-",
        "- ",
        "--- ",
        "?",
        "&",
        "*",
        "!",
        "|",
        ">",
        "%",
        "@",
        "`",
        ",",
        "[",
        "]",
        "{",
        "}",
        "\\",
        " ",
        "  ",
        "\t",
        "~",
        "null",
        "true",
        "no",
        "1",
        "0x1F",
        "1e3",
        ".5",
        "-.inf",
        "2026-12-01",
        "é",
        "日本",
        "🎉",
        "\u{a0}",
        "\u{2028}",
        "\u{feff}",
        "\u{200b}",
        "a",
    ]);
    prop_oneof![
        3 => "\\PC{0,16}",
        2 => "[ -~]{0,16}",
        3 => prop::collection::vec(tricky, 0..6).prop_map(|v| v.concat()),
    ]
}

/// A short id, so it reads back as a valid reference.
fn short_id() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_-]{0,8}"
}

/// The fields the editing property tracks, as the file should hold them.
#[derive(Debug, Clone, PartialEq)]
struct Model {
    title: String,
    status: String,
    assignee: Option<String>,
    x_note: Option<String>,
    labels: Vec<String>,
    blocks: Vec<String>,
}

impl Model {
    fn of(item: &Item) -> Model {
        let issue = item.issue().expect("an issue");
        let list = |l: &[nonlinear_schema::model::Spanned<String>]| {
            l.iter().map(|s| s.value.clone()).collect::<Vec<_>>()
        };
        Model {
            title: item.title_str().to_owned(),
            status: issue
                .status
                .as_ref()
                .map(|s| s.value.clone())
                .unwrap_or_default(),
            assignee: issue.assignee.as_ref().map(|s| s.value.clone()),
            x_note: item
                .extra
                .iter()
                .find(|(k, _)| k == "x-note")
                .and_then(|(_, v)| v.as_scalar().map(str::to_owned)),
            labels: list(&issue.labels),
            blocks: list(&issue.blocks),
        }
    }

    /// What `op` should do, by the editor's documented semantics.
    fn apply(&mut self, op: &Op) {
        match op {
            Op::Set {
                key,
                value: Scalar::Str(v),
            } => match key.as_str() {
                "title" => self.title = v.clone(),
                "status" => self.status = v.clone(),
                "assignee" => self.assignee = Some(v.clone()),
                "x-note" => self.x_note = Some(v.clone()),
                _ => unreachable!("generated keys only"),
            },
            Op::Add { key, value } => {
                let list = self.list(key);
                if !list
                    .iter()
                    .any(|l| ids::normalize(l) == ids::normalize(value))
                {
                    list.push(value.clone());
                }
            }
            Op::Remove { key, value } => {
                let list = self.list(key);
                if let Some(i) = list
                    .iter()
                    .position(|l| ids::normalize(l) == ids::normalize(value))
                {
                    list.remove(i);
                }
            }
            Op::Unset { key } => match key.as_str() {
                "assignee" => self.assignee = None,
                "x-note" => self.x_note = None,
                key => self.list(key).clear(),
            },
            Op::SetList { key, values } => {
                // Line by line: keep what stays, append what is new.
                let same = |a: &String, b: &String| ids::normalize(a) == ids::normalize(b);
                let list = self.list(key);
                if list.is_empty() {
                    // A missing field is written as given.
                    list.clone_from(values);
                } else if values.is_empty() {
                    list.clear();
                } else if list != values {
                    list.retain(|c| values.iter().any(|v| same(v, c)));
                    for v in values {
                        if !list.iter().any(|c| same(c, v)) {
                            list.push(v.clone());
                        }
                    }
                }
            }
            Op::Rename { key, from, to } => {
                for item in self.list(key) {
                    if ids::normalize(item) == ids::normalize(from) {
                        item.clone_from(to);
                    }
                }
            }
            _ => unreachable!("generated ops only"),
        }
    }

    fn list(&mut self, key: &str) -> &mut Vec<String> {
        match key {
            "labels" => &mut self.labels,
            "blocks" => &mut self.blocks,
            _ => unreachable!("generated keys only"),
        }
    }
}

fn edit_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            pick(&["title", "status", "assignee", "x-note"]),
            printable()
        )
            .prop_map(|(key, v)| Op::Set {
                key,
                value: Scalar::Str(v)
            }),
        printable().prop_map(|value| Op::Add {
            key: "labels".into(),
            value
        }),
        printable().prop_map(|value| Op::Remove {
            key: "labels".into(),
            value
        }),
        short_id().prop_map(|value| Op::Add {
            key: "blocks".into(),
            value
        }),
        short_id().prop_map(|value| Op::Remove {
            key: "blocks".into(),
            value
        }),
    ]
}

/// `edit_op` plus the other operations a valid issue can take.
fn any_edit_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => edit_op(),
        1 => pick(&["assignee", "x-note", "labels", "blocks"]).prop_map(|key| Op::Unset { key }),
        1 => prop::collection::vec(printable(), 0..4)
            .prop_map(|values| Op::SetList { key: "labels".into(), values }),
        1 => prop::collection::vec(short_id(), 0..4)
            .prop_map(|values| Op::SetList { key: "blocks".into(), values }),
        1 => (printable(), printable())
            .prop_map(|(from, to)| Op::Rename { key: "labels".into(), from, to }),
        1 => (pick(&["bug", "UI", "]", "a\"b", "x, y"]), printable())
            .prop_map(|(from, to)| Op::Rename { key: "labels".into(), from, to }),
        1 => (pick(&["NL-aaaa", "nl-BBBB", "NL-cccc"]), short_id())
            .prop_map(|(from, to)| Op::Rename { key: "blocks".into(), from, to }),
        1 => "(\\PC|\n){0,40}".prop_map(Op::SetBody),
    ]
}

/// The body `SetBody(new)` gives a file with line ending `eol`.
fn set_body(new: &str, eol: &str) -> String {
    if new.is_empty() {
        return String::new();
    }
    let mut body = new.replace('\n', eol);
    if !body.starts_with(['\n', '\r']) {
        body.insert_str(0, eol);
    }
    if !body.ends_with('\n') {
        body.push_str(eol);
    }
    body
}

/// A valid issue written in one of many styles: keys in any order, every
/// quoting style, comments, blank lines, flow or block lists, unknown
/// fields, LF or CRLF, any body.
fn valid_issue() -> impl Strategy<Value = String> {
    let quoted = |s: &'static str| {
        prop_oneof![
            Just(s.to_owned()),
            Just(format!("'{s}'")),
            Just(format!("\"{s}\"")),
        ]
    };
    let comment = prop_oneof![3 => Just(""), 1 => Just("  # note"), 1 => Just(" #")];
    // Items as written: some quoted, with quotes, escapes and brackets
    // inside, which the editor must step over.
    let list = |pool: &'static [&'static str]| {
        (
            proptest::sample::subsequence(pool, 1..4).prop_shuffle(),
            0..3,
        )
            .prop_map(|(items, style)| match style {
                0 => format!("[{}]", items.join(", ")),
                1 => items.iter().map(|i| format!("\n  - {i}")).collect(),
                _ => items.iter().map(|i| format!("\n- {i}")).collect(),
            })
    };
    let entries = (
        (quoted("Fix the thing"), comment.clone()).prop_map(|(v, c)| format!("title: {v}{c}")),
        (quoted("todo"), comment.clone()).prop_map(|(v, c)| format!("status: {v}{c}")),
        prop::option::of(quoted("ana").prop_map(|v| format!("assignee: {v}"))),
        prop::option::of(
            list(&[
                "bug",
                "ui",
                "\"a: \\\\\"",
                "'it''s ]'",
                "\"]\"",
                "a\"b",
                "\"x, y\"",
                "'#'",
                "é",
            ])
            .prop_map(|v| format!("labels: {v}")),
        ),
        prop::option::of(
            list(&["NL-aaaa", "'NL-bbbb'", "\"NL-cccc\""]).prop_map(|v| format!("blocks: {v}")),
        ),
        prop::option::of(Just("x-note: kept".to_owned())),
        prop::option::of(Just("x-jira: {key: ACME-1, tags: [a, b]}".to_owned())),
    );
    (
        entries,
        any::<u64>(),
        prop::collection::vec(prop_oneof![Just(""), Just("# a comment")], 0..3),
        "(\\PC|\n){0,60}",
        any::<bool>(),
    )
        .prop_map(
            |(
                (title, status, assignee, labels, blocks, note, jira),
                seed,
                extra_lines,
                body,
                crlf,
            )| {
                let mut lines: Vec<String> = vec![
                    "id: 0193a6f0-7c1e-7d2a-9b4e-2f1c3d5e7a90".into(),
                    "short_id: NL-k3x9".into(),
                    title,
                    status,
                ];
                lines.extend([assignee, labels, blocks, note, jira].into_iter().flatten());
                // Shuffle deterministically from the generated seed.
                let mut seed = seed | 1;
                for i in (1..lines.len()).rev() {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    lines.swap(i, (seed % (i as u64 + 1)) as usize);
                }
                for (i, l) in extra_lines.into_iter().enumerate() {
                    let at = (i * 3) % (lines.len() + 1);
                    lines.insert(at, l.to_owned());
                }
                let mut s = format!("---\n{}\n---\n{body}", lines.join("\n"));
                if crlf {
                    s = s.replace('\n', "\r\n");
                }
                s
            },
        )
}

proptest! {
    #![proptest_config(config(EDIT_CASES))]

    #[test]
    fn edits_round_trip(file in valid_issue(), ops in prop::collection::vec(any_edit_op(), 1..8)) {
        let (item, diags) = parse_item("x.md", Kind::Issue, file.as_bytes());
        prop_assert!(diags.iter().all(|d| d.severity != Severity::Error), "{diags:#?}\n{file}");
        let item = item.unwrap();
        let mut body = item.body.clone();
        let eol = if file.contains("\r\n") { "\r\n" } else { "\n" };
        let mut model = Model::of(&item);
        let mut text = file.clone();
        for op in &ops {
            let Ok(next) = edit::apply(&text, std::slice::from_ref(op)) else {
                continue;
            };
            match op {
                Op::SetBody(new) => body = set_body(new, eol),
                op => model.apply(op),
            }
            let (item, diags) = parse_item("x.md", Kind::Issue, next.as_bytes());
            let errors: Vec<&Diagnostic> =
                diags.iter().filter(|d| d.severity == Severity::Error).collect();
            prop_assert!(errors.is_empty(), "{op:?} made\n{next}\n{errors:#?}");
            let item = item.unwrap();
            prop_assert_eq!(&Model::of(&item), &model, "{:?} made\n{}", op, next);
            prop_assert_eq!(&item.body, &body, "{:?} changed the body", op);
            prop_assert!(next.ends_with(&body));
            text = next;
        }
    }

    #[test]
    fn edits_touch_only_their_lines(file in valid_issue(), op in edit_op()) {
        let Ok(after) = edit::apply(&file, std::slice::from_ref(&op)) else {
            return Ok(());
        };
        // A scalar set, or an add or remove on a list, changes at most
        // the lines of that one entry; every other line is kept verbatim.
        let key = match &op {
            Op::Set { key, .. } | Op::Add { key, .. } | Op::Remove { key, .. } => key.clone(),
            _ => unreachable!("generated ops only"),
        };
        let before_lines: HashSet<&str> = file.split_inclusive('\n').collect();
        for line in after.split_inclusive('\n') {
            if !before_lines.contains(line) {
                let t = line.trim_start();
                prop_assert!(
                    t.starts_with(&format!("{key}:")) || t.starts_with('-'),
                    "{op:?} wrote an unexpected line {line:?} into\n{file}\ngiving\n{after}"
                );
            }
        }
        // At most one line is rewritten or added; removing the last item of
        // a block list takes its key line too.
        let lines = crate::diff::diff(&file, &after);
        let (del, ins) = crate::diff::counts(&lines);
        prop_assert!(ins <= 1 && del + ins <= 2, "{op:?} changed -{del} +{ins} lines:\n{file}\n{after}");
    }
}
