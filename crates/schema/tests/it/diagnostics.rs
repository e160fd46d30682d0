//! Data-driven diagnostics: every directory under `tests/data/diagnostics/`
//! is a small workspace laid out as on disk (`.nonlinear/config.yaml`,
//! `.nonlinear/issues/NL-aaaa.md`, `services/x/COMPONENT.md`, artifact files
//! …) plus an `expected.txt` snapshot of what `check` reports for it.
//!
//! Snapshot format: a summary line, then one line per diagnostic,
//! `path:line:col: severity[code] field=…: message`, with its related places
//! indented below it, then one `extra` line per unknown field an item or the
//! config kept.
//!
//! A file named `NAME.repeat` stands for a file `NAME` whose content is the
//! rest of `NAME.repeat` after its first line, repeated as many times as that
//! first line says (so a 1 MiB file need not be committed).
//! `tests/data/.gitattributes` keeps git from normalizing line endings, so
//! CRLF and BOM cases stay as written.
//!
//! `UPDATE_EXPECT=1 cargo test -p nonlinear-schema --test it diagnostics`
//! rewrites the snapshots; review the diff.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nonlinear_schema::{Code, Diagnostic, Kind, Severity, Workspace};

use crate::diff;

/// Every code a test must produce. `Io` is missing on purpose: it is only
/// raised by `store` when reading from disk fails, which the sans-IO
/// `Workspace::from_files` cannot do.
const COVERED: [Code; 27] = [
    Code::FileTooLarge,
    Code::NotUtf8,
    Code::EmptyFile,
    Code::MissingFrontMatter,
    Code::UnterminatedFrontMatter,
    Code::YamlSyntax,
    Code::DuplicateKey,
    Code::TooDeep,
    Code::TooLarge,
    Code::NotAMapping,
    Code::MissingField,
    Code::WrongType,
    Code::InvalidValue,
    Code::UnknownField,
    Code::DuplicateId,
    Code::DuplicateShortId,
    Code::DanglingReference,
    Code::WrongKind,
    Code::SelfLink,
    Code::ParentCycle,
    Code::BlocksCycle,
    Code::UnknownStatus,
    Code::UnknownMember,
    Code::UnknownLabel,
    Code::UnknownCycle,
    Code::MissingFile,
    Code::MissingConfig,
];

/// Fails to compile when a code is added, so `COVERED` gets updated with it.
fn _every_code_is_listed(code: Code) {
    match code {
        // Raised outside `Workspace::check`: `Io` by `store`, and
        // `ArchitectureRule` by the CLI's `check` (tested there).
        Code::Io | Code::ArchitectureRule => {}
        Code::FileTooLarge
        | Code::NotUtf8
        | Code::EmptyFile
        | Code::MissingFrontMatter
        | Code::UnterminatedFrontMatter
        | Code::YamlSyntax
        | Code::DuplicateKey
        | Code::TooDeep
        | Code::TooLarge
        | Code::NotAMapping
        | Code::MissingField
        | Code::WrongType
        | Code::InvalidValue
        | Code::UnknownField
        | Code::DuplicateId
        | Code::DuplicateShortId
        | Code::DanglingReference
        | Code::WrongKind
        | Code::SelfLink
        | Code::ParentCycle
        | Code::BlocksCycle
        | Code::UnknownStatus
        | Code::UnknownMember
        | Code::UnknownLabel
        | Code::UnknownCycle
        | Code::MissingFile
        | Code::MissingConfig => {}
    }
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/diagnostics")
}

#[test]
fn diagnostics() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/data/diagnostics exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() > 20, "found only {} cases", cases.len());

    let mut seen = BTreeSet::new();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let (actual, codes) = check(case);
        seen.extend(codes);
        let expected_path = case.join("expected.txt");
        let expected = std::fs::read_to_string(&expected_path).ok();
        if expected.as_deref() == Some(actual.as_str()) {
            continue;
        }
        if update {
            std::fs::write(&expected_path, &actual).expect("write expected.txt");
            eprintln!("updated {}", expected_path.display());
            continue;
        }
        let mismatch = match &expected {
            None => format!("{name}: no expected.txt; actual output:\n{actual}"),
            Some(expected) => format!(
                "{name}: output differs from expected.txt (- expected, + actual):\n{}",
                diff::render(&diff::diff(expected, &actual), 2)
            ),
        };
        failures.push(mismatch);
    }
    assert!(
        failures.is_empty(),
        "{}\n\nrerun with UPDATE_EXPECT=1 to accept the new output",
        failures.join("\n")
    );

    let missing: Vec<&str> = COVERED
        .iter()
        .filter(|c| !seen.contains(*c))
        .map(|c| c.as_str())
        .collect();
    assert!(missing.is_empty(), "no case produces {missing:?}");
}

/// Loads one case, checks it and renders the result. Also returns the codes
/// it produced.
fn check(case: &Path) -> (String, BTreeSet<Code>) {
    let files = load(case);
    // A checkout that normalized line endings would make these cases test
    // nothing (see tests/data/.gitattributes).
    if case.ends_with("bom-crlf-clean") || case.ends_with("bom-crlf-positions") {
        for (path, bytes) in files.iter().filter(|(p, _)| p.ends_with(".md")) {
            let lf = bytes.iter().filter(|b| **b == b'\n').count();
            let crlf = bytes.windows(2).filter(|w| w == b"\r\n").count();
            assert!(
                bytes.starts_with("\u{feff}".as_bytes()) && lf > 0 && crlf == lf,
                "{path} in {} lost its BOM or CRLF line endings",
                case.display()
            );
        }
    }
    let ws = Workspace::from_files(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
    let probe = |path: &str| case.join(path).is_file();
    let diags = ws.check(&probe);
    (render(&ws, &diags), diags.iter().map(|d| d.code).collect())
}

/// Every file of a case except `expected.txt`, with `/`-separated relative
/// paths.
fn load(case: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![case.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable case directory") {
            let path = entry.expect("readable directory entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(case)
                .unwrap()
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            if rel == "expected.txt" {
                continue;
            }
            let bytes = std::fs::read(&path).expect("readable case file");
            out.push(match rel.strip_suffix(".repeat") {
                Some(name) => (name.to_owned(), repeat(&bytes)),
                None => (rel, bytes),
            });
        }
    }
    out.sort();
    out
}

fn repeat(spec: &[u8]) -> Vec<u8> {
    let nl = spec.iter().position(|b| *b == b'\n').expect("count line");
    let count: usize = std::str::from_utf8(&spec[..nl])
        .unwrap()
        .trim()
        .parse()
        .expect("a count on the first line");
    spec[nl + 1..].repeat(count)
}

fn render(ws: &Workspace, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    let kinds = [Kind::Component, Kind::Issue, Kind::Artifact, Kind::Comment]
        .map(|k| {
            let n = ws.items.iter().filter(|i| i.kind() == k).count();
            format!("{}={n}", k.as_str())
        })
        .join(" ");
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    writeln!(
        out,
        "# items: {kinds}; config: {}; {errors} errors, {} warnings",
        if ws.config.is_some() { "read" } else { "none" },
        diags.len() - errors,
    )
    .unwrap();
    for d in diags {
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let field = d
            .field
            .as_deref()
            .map_or(String::new(), |f| format!(" field={f}"));
        writeln!(
            out,
            "{}:{}:{}: {severity}[{}]{field}: {}",
            d.path,
            d.pos.line,
            d.pos.col,
            d.code.as_str(),
            d.message
        )
        .unwrap();
        for r in &d.related {
            writeln!(
                out,
                "    {}:{}:{}: {}",
                r.path, r.pos.line, r.pos.col, r.message
            )
            .unwrap();
        }
    }
    // Unknown fields must survive parsing, for tools that understand them.
    let config_extra = ws.config.iter().flat_map(|c| {
        c.extra
            .iter()
            .map(|(k, v)| (".nonlinear/config.yaml", k, v))
    });
    let item_extra = ws
        .items
        .iter()
        .flat_map(|i| i.extra.iter().map(move |(k, v)| (i.path.as_str(), k, v)));
    for (path, key, value) in config_extra.chain(item_extra) {
        writeln!(out, "extra {path}: {key} = {}", value.to_json()).unwrap();
    }
    out
}
