//! The polyglot fixture (`fixtures/polyglot`): six languages, every edge
//! kind, and traps; precision and recall per edge kind against its
//! ground truth, `expected-edges.txt`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use nonlinear_analyzer::EdgeKind;

use crate::analyze;
use crate::this_repo::copy_tree;

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/polyglot");
    copy_tree(&from, dir.path());
    dir
}

fn expected() -> BTreeSet<(String, String, String)> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/polyglot/expected-edges.txt");
    fs::read_to_string(path)
        .expect("the ground truth")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(w.len(), 3, "`kind from to`: {l}");
            (w[0].to_owned(), w[1].to_owned(), w[2].to_owned())
        })
        .collect()
}

#[test]
fn precision_and_recall_per_kind() {
    let dir = fixture();
    let a = analyze(dir.path());
    assert!(a.problems.is_empty(), "{:?}", a.problems);
    let got: BTreeSet<(String, String, String)> = a
        .edges
        .iter()
        .map(|e| (e.kind.field().to_owned(), e.from.clone(), e.to.clone()))
        .collect();
    let want = expected();
    let mut report = String::new();
    let mut failed = Vec::new();
    for kind in [
        EdgeKind::DependsOn,
        EdgeKind::Imports,
        EdgeKind::CallsApi,
        EdgeKind::SharesDb,
    ] {
        let k = kind.field();
        let g: BTreeSet<_> = got.iter().filter(|e| e.0 == k).collect();
        let w: BTreeSet<_> = want.iter().filter(|e| e.0 == k).collect();
        assert!(!w.is_empty(), "the fixture has {k} edges");
        let tp = g.intersection(&w).count() as f64;
        let precision = if g.is_empty() {
            0.0
        } else {
            tp / g.len() as f64
        };
        let recall = tp / w.len() as f64;
        report.push_str(&format!(
            "{k:<12} precision {precision:.2} recall {recall:.2} ({} found, {} true)\n",
            g.len(),
            w.len()
        ));
        if precision < 0.95 || recall < 0.90 {
            failed.push((
                k,
                g.difference(&w).cloned().collect::<Vec<_>>(),
                w.difference(&g).cloned().collect::<Vec<_>>(),
            ));
        }
    }
    eprint!("{report}");
    assert!(
        failed.is_empty(),
        "{report}wrong or missing (kind, extra, missing): {failed:#?}"
    );
}

/// Every edge says why: evidence whose file exists and whose line is in
/// it; a call names the route it reaches, and that place exists too.
#[test]
fn evidence_points_at_real_lines() {
    let dir = fixture();
    let a = analyze(dir.path());
    let lines_of = |file: &str| {
        fs::read_to_string(dir.path().join(file))
            .unwrap_or_else(|_| panic!("{file} exists"))
            .lines()
            .count() as u32
    };
    for e in &a.edges {
        assert!(!e.evidence.is_empty(), "{e:?}");
        assert!(e.confidence > 0.0 && e.confidence <= 1.0, "{e:?}");
        for ev in &e.evidence {
            assert!(ev.line >= 1 && ev.line <= lines_of(&ev.file), "{ev:?}");
            if let Some((_, other)) = ev.note.rsplit_once(" at ") {
                let (file, line) = other.rsplit_once(':').expect("file:line");
                let line: u32 = line.parse().expect("a line number");
                assert!(line >= 1 && line <= lines_of(file), "{ev:?}");
            }
        }
    }
    // The same tree gives the same bytes.
    let again = analyze(dir.path());
    assert_eq!(a.render(), again.render());
}

/// Editing one Python file re-parses that file only, and the edge it
/// carried goes away.
#[test]
fn one_changed_file() {
    let dir = fixture();
    let first = analyze(dir.path());
    assert!(
        first
            .edges
            .iter()
            .any(|e| e.kind == EdgeKind::CallsApi && e.from == "AUTHCLIENT")
    );
    let f = dir.path().join("authclient/src/auth_client/client.py");
    let text = fs::read_to_string(&f).expect("read");
    fs::write(&f, text.replace("/api/users/", "/api/people/")).expect("write");
    let second = analyze(dir.path());
    assert_eq!(second.stats.parsed, 1, "{:?}", second.stats);
    assert!(
        !second
            .edges
            .iter()
            .any(|e| e.kind == EdgeKind::CallsApi && e.from == "AUTHCLIENT"),
        "the call no longer matches a route"
    );
}

/// A component suppresses a wrong inferred link with a reason: the link
/// leaves `edges`, shows under `suppressed` with the reason; a suppression
/// that matches nothing is reported as stale.
#[test]
fn suppressions() {
    let dir = fixture();
    let web = dir.path().join(".nonlinear/components/WEB.md");
    let text = fs::read_to_string(&web).expect("read");
    fs::write(
        &web,
        text.replacen(
            "repo: {path: web}\n",
            "repo: {path: web}\nsuppress:\n  - {kind: calls_api, to: BILLING, reason: \"goes through the gateway in production\"}\n  - {kind: shares_db, to: AUTH, reason: stale}\n",
            1,
        ),
    )
    .expect("write");
    let a = analyze(dir.path());
    assert!(
        !a.edges
            .iter()
            .any(|e| e.kind == EdgeKind::CallsApi && e.from == "WEB" && e.to == "BILLING")
    );
    assert_eq!(a.suppressed.len(), 1);
    assert_eq!(
        a.suppressed[0].reason,
        "goes through the gateway in production"
    );
    assert!(
        a.render().contains(
            "suppressed:\n  - {kind: calls_api, from: WEB, to: BILLING, occurrences: 1, reason: \"goes through the gateway in production\"}\n"
        ),
        "{}",
        a.render()
    );
    let stale: Vec<_> = a
        .problems
        .iter()
        .map(|p| (p.file.as_str(), p.line))
        .collect();
    assert_eq!(
        stale,
        [(".nonlinear/components/WEB.md", 8)],
        "{:?}",
        a.problems
    );
}
