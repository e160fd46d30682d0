//! `nonlinear analyze`: infer Layer-3 links from the code with
//! `nonlinear_analyzer` and write them to `.nonlinear/inferred/edges.yaml`,
//! or with `--check` only say whether that file is current (for CI).

use std::path::Path;

use nonlinear_analyzer::{Analysis, EDGES_PATH};
use schema::store::Store;

use crate::Outcome;

pub fn run(cwd: &Path, check: bool, json: bool) -> anyhow::Result<Outcome> {
    let store = Store::discover(cwd)?;
    let analysis = nonlinear_analyzer::analyze(&store)?;
    let outcome = if check {
        if nonlinear_analyzer::up_to_date(&store, &analysis) {
            Outcome::Ok
        } else {
            eprintln!("{EDGES_PATH} is out of date; run `nonlinear analyze`");
            Outcome::Problems
        }
    } else {
        if nonlinear_analyzer::write(&store, &analysis)? {
            eprintln!("wrote {EDGES_PATH}");
        }
        Outcome::Ok
    };
    if json {
        outln!("{}", serde_json::to_string_pretty(&analysis)?);
    } else {
        summary(&analysis);
    }
    Ok(outcome)
}

/// Edges by kind, then the run's counts and any file that could not be used.
fn summary(a: &Analysis) {
    outln!("{:<12} {:>6} {:>12}", "kind", "edges", "also manual");
    for (kind, n) in a.counts() {
        let manual = a
            .edges
            .iter()
            .filter(|e| e.kind == kind && e.also_manual)
            .count();
        outln!("{:<12} {n:>6} {manual:>12}", kind.field());
    }
    let s = &a.stats;
    outln!(
        "{} components, {} crates, {} Rust and {} other files ({} lines; {} parsed, {} cached), {} generated and {} vendored skipped, {} unowned, {:.0} ms",
        s.components,
        s.crates,
        s.rust_files,
        s.other_files,
        s.lines,
        s.parsed,
        s.cached,
        s.skipped_generated,
        s.skipped_vendored,
        s.unowned,
        s.elapsed.as_secs_f64() * 1000.0
    );
    for p in &a.problems {
        eprintln!("warning: {}:{}: {}", p.file, p.line, p.message);
    }
}
