//! Property tests: no input makes a parser panic, and the path rules hold.

use nonlinear_analyzer::code::{self, Lang};
use nonlinear_analyzer::ecosys::{self, ManifestKind};
use nonlinear_analyzer::{api, sql};
use proptest::prelude::*;

const LANGS: [Lang; 6] = [
    Lang::Python,
    Lang::JavaScript,
    Lang::TypeScript,
    Lang::Tsx,
    Lang::Go,
    Lang::Java,
];

const KINDS: [ManifestKind; 7] = [
    ManifestKind::PackageJson,
    ManifestKind::TsConfig,
    ManifestKind::PyProject,
    ManifestKind::GoMod,
    ManifestKind::Pom,
    ManifestKind::Gradle,
    ManifestKind::GradleSettings,
];

/// Source-like garbage: tokens the grammars and the rules care about.
fn tokens() -> impl Strategy<Value = String> {
    let fixed = proptest::sample::select(vec![
        "import ",
        "from ",
        "export ",
        "'",
        "\"",
        "`",
        "${",
        "}",
        "{",
        "(",
        ")",
        "@app.get(",
        "/api/x/{id}",
        "requests.get(f\"",
        "SELECT a FROM t",
        "postgres://h/db",
        "package a.b;",
        "// ",
        "/*",
        "\n",
        "+",
        "%s",
    ])
    .prop_map(str::to_owned);
    proptest::collection::vec(prop_oneof![fixed, "[a-z]{1,6}", ".{0,4}"], 0..60)
        .prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sources_never_panic(text in prop_oneof![tokens(), ".{0,300}"]) {
        for lang in LANGS {
            let f = code::derive(code::facts(lang, &text));
            let lines = text.lines().count().max(1) as u32 + 1;
            for i in &f.imports {
                prop_assert!(i.line >= 1 && i.line <= lines);
            }
            for e in f.routes.iter().chain(&f.calls) {
                prop_assert!(e.path.starts_with('/'));
                let again = api::normalize(&e.path);
                prop_assert_eq!(again.as_deref(), Some(e.path.as_str()));
            }
        }
        let _ = code::proto(&text);
    }

    #[test]
    fn manifests_never_panic(text in prop_oneof![tokens(), ".{0,300}"]) {
        for kind in KINDS {
            let _ = ecosys::parse(kind, "x/manifest", &text);
        }
    }

    #[test]
    fn sql_never_panics(text in prop_oneof![tokens(), ".{0,200}"]) {
        for t in sql::tables(&text) {
            prop_assert_eq!(t.clone(), t.to_ascii_lowercase());
            prop_assert!(!t.is_empty());
        }
        let _ = sql::tables_in_file(&text);
        let _ = sql::urls_in_text(&text);
        let _ = sql::database_of_url(&text);
    }

    /// A normalized path normalizes to itself and matches itself.
    #[test]
    fn normalize_is_idempotent(text in prop_oneof![tokens(), "(/[a-zA-Z{}:<>$]{0,6}){0,5}"]) {
        if let Some(n) = api::normalize(&text) {
            let again = api::normalize(&n);
            prop_assert_eq!(again.as_deref(), Some(n.as_str()));
            prop_assert!(api::matches(&n, &n).is_some());
        }
    }
}
