//! A small line diff (longest common subsequence), shared by the snapshot
//! comparisons of `diagnostics` and the edit checks of `roundtrip`.

/// One line of a diff. Lines keep their terminators, so two lines are `Same`
/// only when they are byte-for-byte equal (`\r\n` included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    Same(&'a str),
    Del(&'a str),
    Ins(&'a str),
}

/// The minimal edit script turning `a` into `b`, line by line.
pub fn diff<'a>(a: &'a str, b: &'a str) -> Vec<Line<'a>> {
    let a: Vec<&str> = a.split_inclusive('\n').collect();
    let b: Vec<&str> = b.split_inclusive('\n').collect();
    // lcs[i][j] = length of the LCS of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(Line::Same(a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(Line::Del(a[i]));
            i += 1;
        } else {
            out.push(Line::Ins(b[j]));
            j += 1;
        }
    }
    out
}

/// How many lines were removed and added.
pub fn counts(lines: &[Line<'_>]) -> (usize, usize) {
    let del = lines.iter().filter(|l| matches!(l, Line::Del(_))).count();
    let ins = lines.iter().filter(|l| matches!(l, Line::Ins(_))).count();
    (del, ins)
}

/// Renders changed lines with `context` unchanged lines around each hunk,
/// `@@ line N @@` headers (N is the 1-based line in the old text where the
/// hunk starts), and invisible bytes made visible: `\r` is shown as `␍`,
/// trailing spaces as `·`, an empty line as `⏎`, a missing final newline as
/// `⊘` and invisible characters as `<U+FEFF>`, so snapshots hold neither
/// blank lines nor trailing or invisible whitespace.
pub fn render(lines: &[Line<'_>], context: usize) -> String {
    let changed: Vec<bool> = lines.iter().map(|l| !matches!(l, Line::Same(_))).collect();
    let near = |k: usize| {
        let lo = k.saturating_sub(context);
        let hi = (k + context + 1).min(lines.len());
        changed[lo..hi].iter().any(|c| *c)
    };
    let mut out = String::new();
    let mut old_line = 1;
    let mut in_hunk = false;
    for (k, line) in lines.iter().enumerate() {
        if near(k) {
            if !in_hunk {
                out.push_str(&format!("@@ line {old_line} @@\n"));
                in_hunk = true;
            }
            let (sign, text) = match line {
                Line::Same(t) => (' ', t),
                Line::Del(t) => ('-', t),
                Line::Ins(t) => ('+', t),
            };
            out.push(sign);
            out.push_str(&visible(text));
            out.push('\n');
        } else {
            in_hunk = false;
        }
        if !matches!(line, Line::Ins(_)) {
            old_line += 1;
        }
    }
    out
}

fn visible(line: &str) -> String {
    let (text, end) = match line.strip_suffix('\n') {
        Some(l) => match l.strip_suffix('\r') {
            Some(l) => (l, "␍"),
            None => (l, ""),
        },
        None => (line, "⊘"),
    };
    if text.is_empty() {
        return format!("⏎{end}");
    }
    let trimmed = text.trim_end_matches(' ');
    let spaces = "·".repeat(text.len() - trimmed.len());
    let shown: String = trimmed
        .chars()
        .map(|c| match c {
            '\u{feff}' | '\u{200b}' | '\u{2028}' | '\u{2029}' => format!("<U+{:04X}>", c as u32),
            c if c.is_control() && c != '\t' => format!("<U+{:04X}>", c as u32),
            c => c.to_string(),
        })
        .collect();
    format!("{shown}{spaces}{end}")
}
