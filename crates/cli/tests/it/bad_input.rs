//! Hostile and broken files are diagnosed with a file and a line, never a
//! panic, and the commands that would edit them refuse instead of guessing.
//! (Every run goes through `Run::from_output`, which fails the test on any
//! "panicked" in the output.)

use serde_json::Value;

use crate::support::Repo;

const ISSUES: &str = ".nonlinear/issues";

fn issue(id: u32, short: &str) -> String {
    format!(
        "---\nid: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e{id:04x}\nshort_id: {short}\ntitle: t\nstatus: todo\n"
    )
}

/// A workspace holding one broken file per kind of damage; returns it with
/// the expected (file name, code, line, column) of each.
fn hostile() -> (Repo, Vec<(&'static str, &'static str, u64, u64)>) {
    let repo = Repo::new();
    repo.nl(&["init"]).code(0);
    let put = |name: &str, bytes: &[u8]| repo.write(&format!("{ISSUES}/{name}"), bytes);

    let mut bin = issue(1, "NL-bin1").into_bytes();
    bin.extend_from_slice(b"x-note: caf\xe9\n---\n");
    put("NL-bin1.md", &bin);
    put("NL-emp1.md", b"");
    put("NL-ws01.md", b"  \n\n\t\r\n");
    put("NL-unt1.md", issue(2, "NL-unt1").as_bytes());
    put("NL-nofm.md", b"# Just Markdown\n\nNo front matter.\n");
    put(
        "NL-nul1.md",
        format!("{}x-nul: a\0b\n---\n", issue(3, "NL-nul1")).as_bytes(),
    );
    put("NL-list.md", b"---\n- a\n- b\n---\n");
    put(
        "NL-dupk.md",
        format!("{}title: again\n---\n", issue(4, "NL-dupk")).as_bytes(),
    );
    put(
        "NL-deep.md",
        format!(
            "{}x-deep: {}{}\n---\n",
            issue(5, "NL-deep"),
            "[".repeat(40),
            "]".repeat(40)
        )
        .as_bytes(),
    );
    let mut bomb = issue(6, "NL-bomb");
    bomb.push_str("x-0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        bomb.push_str(&format!(
            "x-{i}: &a{i} [{}]\n",
            vec![format!("*a{p}"); 10].join(", ")
        ));
    }
    bomb.push_str("---\n");
    put("NL-bomb.md", bomb.as_bytes());
    let mut big = issue(7, "NL-big1");
    big.push_str("---\n");
    big.push_str(&"x".repeat(1 << 20));
    put("NL-big1.md", big.as_bytes());
    put(
        "NL-typ1.md",
        format!(
            "{}priority: 99999999999999999999\nestimate: -1\ndue: 2026-02-30\nblocks: {{a: b}}\n---\n",
            issue(8, "NL-typ1")
        )
        .as_bytes(),
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink("loop.md", repo.path(&format!("{ISSUES}/loop.md")))
        .expect("symlink");

    let expected = vec![
        ("NL-big1.md", "file-too-large", 1, 1),
        ("NL-bin1.md", "not-utf8", 6, 12),
        ("NL-bomb.md", "too-large", 10, 11),
        ("NL-deep.md", "unknown-field", 6, 1),
        ("NL-deep.md", "too-deep", 6, 40),
        ("NL-dupk.md", "duplicate-key", 6, 1),
        ("NL-emp1.md", "empty-file", 1, 1),
        ("NL-list.md", "not-a-mapping", 2, 1),
        ("NL-nofm.md", "missing-front-matter", 1, 1),
        ("NL-nul1.md", "yaml-syntax", 6, 9),
        ("NL-typ1.md", "invalid-value", 6, 11),
        ("NL-typ1.md", "invalid-value", 7, 11),
        ("NL-typ1.md", "invalid-value", 8, 6),
        ("NL-typ1.md", "wrong-type", 9, 9),
        ("NL-unt1.md", "unterminated-front-matter", 1, 1),
        ("NL-ws01.md", "empty-file", 1, 1),
        #[cfg(unix)]
        ("loop.md", "io", 1, 1),
    ];
    (repo, expected)
}

#[test]
fn broken_files_are_reported_with_file_and_line() {
    let (repo, expected) = hostile();
    let v = repo.nl(&["check", "--format", "json"]).code(1).json();
    let got: Vec<(String, String, u64, u64)> = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["path"]
                    .as_str()
                    .expect("path")
                    .trim_start_matches(".nonlinear/issues/")
                    .to_owned(),
                d["code"].as_str().expect("code").to_owned(),
                d["line"].as_u64().expect("line"),
                d["col"].as_u64().expect("col"),
            )
        })
        .collect();
    let want: Vec<(String, String, u64, u64)> = expected
        .iter()
        .map(|(p, c, l, col)| ((*p).to_owned(), (*c).to_owned(), *l, *col))
        .collect();
    assert_eq!(got, want, "{v:#}");

    // The human report names each file:line:col, and so does GitHub's.
    let human = repo.nl(&["check"]).code(1).stdout;
    let github = repo.nl(&["check", "--format", "github"]).code(1).stdout;
    for (name, code, line, col) in &expected {
        let path = format!("{ISSUES}/{name}");
        assert!(
            human.contains(&format!("[{code}]: "))
                && human.contains(&format!("{path}:{line}:{col}\n")),
            "{path}:{line}:{col} {code} missing in\n{human}"
        );
        assert!(
            github.contains(&format!("file={path},line={line},col={col},title={code}::")),
            "{path} missing in\n{github}"
        );
    }
}

#[test]
fn commands_on_broken_files_refuse_and_change_nothing() {
    let (repo, _) = hostile();
    repo.commit("broken files");
    for id in [
        "NL-bin1", "NL-emp1", "NL-unt1", "NL-nofm", "NL-nul1", "NL-list", "NL-dupk", "NL-deep",
        "NL-bomb", "NL-big1", "loop",
    ] {
        // A duplicate key keeps the first value and an over-deep value reads
        // as null, so those two items can be shown, though not edited.
        let readable = matches!(id, "NL-dupk" | "NL-deep");
        repo.nl(&["show", id]).code(if readable { 0 } else { 1 });
        repo.nl(&["show", id, "--json"])
            .code(if readable { 0 } else { 1 });
        // Unlinking what is not linked changes nothing, successfully.
        repo.nl(&["unlink", id, "relates_to", "NL-typ1"])
            .code(if readable { 0 } else { 1 });
        for args in [
            &["set", id, "status", "done"][..],
            &["set", id, "labels", "+bug"],
            &["link", id, "blocks", "NL-typ1"],
            &["link", "NL-typ1", "blocked_by", id],
            &["mv", id, "NL-new9"],
        ] {
            let run = repo.nl(args);
            assert_eq!(run.code, 1, "nonlinear {args:?}:\n{run}");
            assert!(run.stderr.starts_with("error: "), "{run}");
        }
        repo.nl(&["list", id]).code(0);
    }
    repo.nl(&["list", "type:issue,component,artifact,comment", "--json"])
        .code(0);
    assert_eq!(repo.changes(), "");
    repo.assert_no_temp_files();
}

#[test]
fn bom_and_crlf_file_checks_clean_and_set_keeps_both() {
    let repo = Repo::new();
    repo.nl(&["init"]).code(0);
    let path = format!("{ISSUES}/NL-bom1.md");
    let text = "\u{feff}---\r\n# Saved by a Windows editor.\r\nid: 0193a6f0-8a00-7d2a-9b4e-2f1c3d5e7e02\r\nshort_id: NL-bom1\r\ntitle: 'BOM and CRLF'  # kept\r\nstatus: todo\r\nlabels: [bug]\r\n---\r\n\r\nBody line one.\r\nBody line two.\r\n";
    repo.write(&path, text);
    repo.commit("bom");
    assert_eq!(
        repo.nl(&["check"]).code(0).stdout,
        "ok: 2 files checked, no problems\n"
    );
    let v = repo.nl(&["show", "NL-bom1", "--json"]).code(0).json();
    assert_eq!(v["title"], "BOM and CRLF");
    assert_eq!(v["description"], "Body line one.\r\nBody line two.\r\n");

    repo.nl(&[
        "set", "NL-bom1", "status", "done", "labels", "+chore", "priority", "2",
    ])
    .code(0);
    let after = repo.read_bytes(&path);
    assert!(after.starts_with("\u{feff}---\r\n".as_bytes()), "BOM lost");
    let after = String::from_utf8(after).expect("UTF-8");
    assert_eq!(
        after.matches('\n').count(),
        after.matches("\r\n").count(),
        "a bare LF crept in:\n{after:?}"
    );
    assert_eq!(
        after,
        text.replace("status: todo", "status: done")
            .replace("[bug]", "[bug, chore]")
            .replace("---\r\n\r\n", "priority: 2\r\n---\r\n\r\n")
    );
    assert_eq!(
        repo.changes(),
        format!(
            "M {path}\n-status: todo\r\n-labels: [bug]\r\n+status: done\r\n+labels: [bug, chore]\r\n+priority: 2\r\n"
        )
    );
    repo.nl(&["check"]).code(0);
}

#[test]
fn broken_config_is_diagnosed_and_stops_other_commands() {
    for (config, code, line) in [
        (&b"key: NL\nname: caf\xe9\n"[..], "not-utf8", 2),
        (b"- just\n- a list\n", "not-a-mapping", 1),
        (b"statuses: [\n", "yaml-syntax", 2),
        (b"version: 1\nkey: NL\n", "missing-field", 1),
    ] {
        let repo = Repo::new();
        repo.write(".nonlinear/config.yaml", config);
        let v = repo.nl(&["check", "--json"]).code(1).json();
        let d = &v["diagnostics"][0];
        assert_eq!(d["path"], ".nonlinear/config.yaml", "{v:#}");
        assert_eq!(d["code"], code, "{v:#}");
        assert_eq!(d["line"], line, "{v:#}");
        assert_eq!(v["ok"], Value::Bool(false));
        let run = repo.nl(&["list"]).code(2);
        assert!(run.stderr.contains("config is invalid"), "{run}");
        repo.nl(&["new", "issue", "x"]).code(2);
        assert!(!repo.path(ISSUES).exists());
    }
}
