//! Problems found in a workspace, with enough context to point at them.

use crate::text::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Stable problem codes. They are part of the `--format json` contract and
/// the docs list every one, so never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    // Reading the file.
    Io,
    FileTooLarge,
    NotUtf8,
    EmptyFile,
    MissingFrontMatter,
    UnterminatedFrontMatter,
    YamlSyntax,
    DuplicateKey,
    TooDeep,
    TooLarge,
    NotAMapping,
    // Fields.
    MissingField,
    WrongType,
    InvalidValue,
    UnknownField,
    // Workspace rules.
    DuplicateId,
    DuplicateShortId,
    DanglingReference,
    WrongKind,
    SelfLink,
    ParentCycle,
    BlocksCycle,
    UnknownStatus,
    UnknownMember,
    UnknownLabel,
    UnknownCycle,
    MissingFile,
    MissingConfig,
    /// A Layer-3 link an `architecture:` rule of the config forbids
    /// (raised by `nonlinear check`, which also reads inferred links).
    ArchitectureRule,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Io => "io",
            Code::FileTooLarge => "file-too-large",
            Code::NotUtf8 => "not-utf8",
            Code::EmptyFile => "empty-file",
            Code::MissingFrontMatter => "missing-front-matter",
            Code::UnterminatedFrontMatter => "unterminated-front-matter",
            Code::YamlSyntax => "yaml-syntax",
            Code::DuplicateKey => "duplicate-key",
            Code::TooDeep => "too-deep",
            Code::TooLarge => "too-large",
            Code::NotAMapping => "not-a-mapping",
            Code::MissingField => "missing-field",
            Code::WrongType => "wrong-type",
            Code::InvalidValue => "invalid-value",
            Code::UnknownField => "unknown-field",
            Code::DuplicateId => "duplicate-id",
            Code::DuplicateShortId => "duplicate-short-id",
            Code::DanglingReference => "dangling-reference",
            Code::WrongKind => "wrong-kind",
            Code::SelfLink => "self-link",
            Code::ParentCycle => "parent-cycle",
            Code::BlocksCycle => "blocks-cycle",
            Code::UnknownStatus => "unknown-status",
            Code::UnknownMember => "unknown-member",
            Code::UnknownLabel => "unknown-label",
            Code::UnknownCycle => "unknown-cycle",
            Code::MissingFile => "missing-file",
            Code::MissingConfig => "missing-config",
            Code::ArchitectureRule => "architecture-rule",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Code::UnknownField => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// One problem: where, what, and which field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    /// Workspace-relative path with `/` separators.
    pub path: String,
    #[serde(flatten)]
    pub pos: Pos,
    /// How many characters to underline, at least 1.
    pub len: u32,
    /// The front matter field the problem is about, dotted for nested ones
    /// (`repo.path`, `statuses[2].category`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    /// Other places that explain this one (the first of two duplicates, the
    /// rest of a cycle).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Related {
    pub path: String,
    #[serde(flatten)]
    pub pos: Pos,
    pub message: String,
}

impl Diagnostic {
    pub fn new(code: Code, path: &str, pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: code.severity(),
            code,
            path: path.to_owned(),
            pos,
            len: 1,
            field: None,
            message: message.into(),
            related: Vec::new(),
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Diagnostic {
        self.field = Some(field.into());
        self
    }

    pub fn len(mut self, len: usize) -> Diagnostic {
        self.len = len.clamp(1, u32::MAX as usize) as u32;
        self
    }

    pub fn related(mut self, path: &str, pos: Pos, message: impl Into<String>) -> Diagnostic {
        self.related.push(Related {
            path: path.to_owned(),
            pos,
            message: message.into(),
        });
        self
    }

    /// Identity of a problem independent of where in its file it sits, used
    /// to tell problems a change introduced from ones it inherited.
    pub fn fingerprint(&self) -> (String, Code, Option<String>, String) {
        (
            self.path.clone(),
            self.code,
            self.field.clone(),
            self.message.clone(),
        )
    }
}

/// Sorts by path, line, column, code: the order every output uses.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (&a.path, a.pos, a.code, &a.message).cmp(&(&b.path, b.pos, b.code, &b.message))
    });
}

/// Problems in `now` that `before` did not have, by [`Diagnostic::fingerprint`]
/// (as many times as they appear more often now), in `now`'s order.
///
/// `check --since` and `diff` use it both ways: `introduced(new, old)` is
/// what a change introduced, `introduced(old, new)` what it fixed.
pub fn introduced(now: Vec<Diagnostic>, before: &[Diagnostic]) -> Vec<Diagnostic> {
    let mut old: std::collections::HashMap<_, usize> = std::collections::HashMap::new();
    for d in before {
        *old.entry(d.fingerprint()).or_default() += 1;
    }
    now.into_iter()
        .filter(|d| match old.get_mut(&d.fingerprint()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        })
        .collect()
}
