//! The filter grammar shared by `list`, search, the server and the UI.
//!
//! ```text
//! status:started label:p1 assignee:@me under:AUTH priority:<=2 -label:wontfix "free text"
//! ```
//!
//! * Terms are separated by spaces and must all match (AND).
//! * `key:a,b` matches either value (OR); a leading `-` negates a term.
//! * `priority`, `estimate` and `due` take comparisons: `<`, `<=`, `>`, `>=`,
//!   `=` (default `=`).
//! * Bare words and `"quoted phrases"` match the title, body or short id,
//!   case-insensitively.
//!
//! `docs/cli.md` (section Filters) lists every key.

use jiff::civil::Date;

use crate::model::{Category, Config, Fields, Item, Kind};

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub negated: bool,
    pub pred: Pred,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pred {
    /// Status keys or categories (`status:started` matches every status in
    /// the started category).
    Status(Vec<String>),
    Label(Vec<String>),
    /// Handles; `@me` is resolved by the caller's [`Context`].
    Assignee(Vec<String>),
    Owner(Vec<String>),
    CreatedBy(Vec<String>),
    Priority(Vec<(Cmp, u8)>),
    Estimate(Vec<(Cmp, f64)>),
    Due(Vec<(Cmp, Date)>),
    /// Items in the subtree of one of these (the item itself included).
    Under(Vec<String>),
    Cycle(Vec<String>),
    Kind(Vec<Kind>),
    /// `is:open`, `is:closed`.
    Open(bool),
    /// `is:blocked`: an open issue blocks it.
    Blocked,
    /// `is:ready`: open, no open blocker, no open sub-issue — what can be
    /// worked on now (the graph engine's `ready`).
    Ready,
    /// `no:assignee` and friends: the field is empty.
    Missing(MissingField),
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Cmp {
    fn test<T: PartialOrd>(self, a: &T, b: &T) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Eq => a == b,
            Cmp::Ge => a >= b,
            Cmp::Gt => a > b,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingField {
    Assignee,
    Label,
    Cycle,
    Parent,
    Estimate,
    Priority,
    Due,
}

/// A query that could not be read, with the character offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {offset})")]
pub struct FilterError {
    pub offset: usize,
    pub message: String,
}

/// What matching needs from the workspace.
pub trait Context {
    fn config(&self) -> Option<&Config>;
    /// Whether `item` is `ancestor` or below it (by `parent`).
    fn is_under(&self, item: &Item, ancestor: &str) -> bool;
    /// The acting member's handle, for `@me`.
    fn me(&self) -> Option<&str>;
    /// Whether an open issue `blocks` this one.
    fn is_blocked(&self, item: &Item) -> bool;
    /// Whether one of this item's sub-issues is open.
    fn has_open_sub_issue(&self, item: &Item) -> bool;
}

/// Every filter key.
pub const KEYS: &[&str] = &[
    "status",
    "label",
    "assignee",
    "owner",
    "created_by",
    "priority",
    "estimate",
    "due",
    "under",
    "cycle",
    "type",
    "is",
    "no",
];

impl Filter {
    pub fn parse(query: &str) -> Result<Filter, FilterError> {
        let mut terms = Vec::new();
        for (offset, raw) in tokenize(query)? {
            let (negated, tok) = match raw.strip_prefix('-') {
                Some(rest) if !rest.is_empty() => (true, rest.to_owned()),
                _ => (false, raw.clone()),
            };
            let quoted = tok.starts_with('"');
            let pred = match tok.split_once(':') {
                Some((key, value))
                    if !quoted && KEYS.contains(&key.to_ascii_lowercase().as_str()) =>
                {
                    term(&key.to_ascii_lowercase(), value, offset)?
                }
                Some((key, value))
                    if !quoted
                        && !value.starts_with("//")
                        && key.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
                        && !key.is_empty() =>
                {
                    return Err(FilterError {
                        offset,
                        message: format!("unknown filter `{key}:`; known: {}", KEYS.join(", ")),
                    });
                }
                _ => Pred::Text(tok.trim_matches('"').to_lowercase()),
            };
            terms.push(Term { negated, pred });
        }
        Ok(Filter { terms })
    }

    /// Whether the query restricts the item type; callers default to issues
    /// when it does not.
    pub fn has_kind(&self) -> bool {
        self.terms.iter().any(|t| matches!(t.pred, Pred::Kind(_)))
    }

    /// Whether the query has no terms (it matches everything).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether a term names `@me`: only then must the caller find out who
    /// is acting (which may ask git).
    pub fn mentions_me(&self) -> bool {
        self.terms.iter().any(|t| match &t.pred {
            Pred::Assignee(v) | Pred::Owner(v) | Pred::CreatedBy(v) => v.iter().any(|h| is_me(h)),
            _ => false,
        })
    }

    /// Whether a term searches free text, which reads item bodies.
    pub fn has_text(&self) -> bool {
        self.terms.iter().any(|t| matches!(t.pred, Pred::Text(_)))
    }

    pub fn matches(&self, item: &Item, ctx: &dyn Context) -> bool {
        self.terms
            .iter()
            .all(|t| t.pred.matches(item, ctx) != t.negated)
    }
}

fn tokenize(q: &str) -> Result<Vec<(usize, String)>, FilterError> {
    let mut out = Vec::new();
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let mut tok = String::new();
        let mut in_quote = false;
        while i < chars.len() && (in_quote || !chars[i].is_whitespace()) {
            if chars[i] == '"' {
                in_quote = !in_quote;
            }
            tok.push(chars[i]);
            i += 1;
        }
        if in_quote {
            return Err(FilterError {
                offset: start,
                message: "unterminated quote".into(),
            });
        }
        out.push((start, tok));
    }
    Ok(out)
}

fn term(key: &str, value: &str, offset: usize) -> Result<Pred, FilterError> {
    let err = |message: String| FilterError { offset, message };
    // Fixed words (priority names, kinds, `is:`/`no:` values) match in any
    // case; keys already did.
    let lower = value.to_ascii_lowercase();
    let fixed = matches!(key, "priority" | "type" | "is" | "no");
    let value = if fixed { lower.as_str() } else { value };
    if value.is_empty() {
        return Err(err(format!("`{key}:` needs a value")));
    }
    let values: Vec<String> = value
        .split(',')
        .filter(|v| !v.is_empty())
        .map(|v| v.trim_matches('"').to_owned())
        .collect();
    let cmp = |v: &str| -> (Cmp, String) {
        for (p, c) in [
            ("<=", Cmp::Le),
            (">=", Cmp::Ge),
            ("<", Cmp::Lt),
            (">", Cmp::Gt),
            ("=", Cmp::Eq),
        ] {
            if let Some(rest) = v.strip_prefix(p) {
                return (c, rest.to_owned());
            }
        }
        (Cmp::Eq, v.to_owned())
    };
    Ok(match key {
        "status" => Pred::Status(values),
        "label" => Pred::Label(values),
        "assignee" => Pred::Assignee(values),
        "owner" => Pred::Owner(values),
        "created_by" => Pred::CreatedBy(values),
        "under" => Pred::Under(values),
        "cycle" => Pred::Cycle(values),
        "priority" => Pred::Priority(
            values
                .iter()
                .map(|v| {
                    let (c, n) = cmp(v);
                    let p = match n.as_str() {
                        "none" => Some(0),
                        "urgent" => Some(1),
                        "high" => Some(2),
                        "medium" => Some(3),
                        "low" => Some(4),
                        n => n.parse::<u8>().ok().filter(|p| *p <= 4),
                    };
                    p.map(|p| (c, p)).ok_or_else(|| {
                        err(format!(
                            "priority must be 0–4 or none/urgent/high/medium/low, found `{n}`"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        "estimate" => Pred::Estimate(
            values
                .iter()
                .map(|v| {
                    let (c, n) = cmp(v);
                    n.parse::<f64>()
                        .map(|e| (c, e))
                        .map_err(|_| err(format!("estimate must be a number, found `{n}`")))
                })
                .collect::<Result<_, _>>()?,
        ),
        "due" => Pred::Due(
            values
                .iter()
                .map(|v| {
                    let (c, n) = cmp(v);
                    n.parse::<Date>().map(|d| (c, d)).map_err(|_| {
                        err(format!("due must be a date like 2026-12-01, found `{n}`"))
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        "type" => Pred::Kind(
            values
                .iter()
                .map(|v| match v.as_str() {
                    "issue" => Ok(Kind::Issue),
                    "component" => Ok(Kind::Component),
                    "artifact" => Ok(Kind::Artifact),
                    "comment" => Ok(Kind::Comment),
                    other => Err(err(format!(
                        "type must be issue, component, artifact or comment, found `{other}`"
                    ))),
                })
                .collect::<Result<_, _>>()?,
        ),
        "is" => match value {
            "open" => Pred::Open(true),
            "closed" => Pred::Open(false),
            "blocked" => Pred::Blocked,
            "ready" => Pred::Ready,
            other => {
                return Err(err(format!(
                    "`is:` takes open, closed, blocked or ready, found `{other}`"
                )));
            }
        },
        "no" => Pred::Missing(match value {
            "assignee" => MissingField::Assignee,
            "label" | "labels" => MissingField::Label,
            "cycle" => MissingField::Cycle,
            "parent" => MissingField::Parent,
            "estimate" => MissingField::Estimate,
            "priority" => MissingField::Priority,
            "due" => MissingField::Due,
            other => {
                return Err(err(format!(
                    "`no:` takes assignee, label, cycle, parent, estimate, priority or due, found `{other}`"
                )));
            }
        }),
        _ => unreachable!("key checked against KEYS"),
    })
}

/// Whether a handle in a filter is `@me` (or `me`).
fn is_me(handle: &str) -> bool {
    handle.strip_prefix('@').unwrap_or(handle) == "me"
}

fn handle_matches(have: Option<&str>, want: &str, ctx: &dyn Context) -> bool {
    let want = if is_me(want) {
        ctx.me().unwrap_or("\u{0}")
    } else {
        want.strip_prefix('@').unwrap_or(want)
    };
    match have {
        None => want == "none",
        Some(h) => h.strip_prefix('@').unwrap_or(h).eq_ignore_ascii_case(want),
    }
}

impl Pred {
    fn matches(&self, item: &Item, ctx: &dyn Context) -> bool {
        let issue = item.issue();
        // The category of an issue's status; a status not in the workflow
        // counts as unstarted. `None` for items without a status.
        let category = || {
            let status = issue?.status.as_ref()?;
            Some(
                ctx.config()
                    .and_then(|c| c.status(&status.value))
                    .map_or(Category::Unstarted, |s| s.category),
            )
        };
        match self {
            Pred::Kind(kinds) => kinds.contains(&item.kind()),
            Pred::Text(t) => {
                item.title_str().to_lowercase().contains(t)
                    || item.short_str().to_lowercase() == *t
                    || item.body.to_lowercase().contains(t)
            }
            Pred::Label(ls) => ls.iter().any(|l| {
                item.labels()
                    .iter()
                    .any(|x| x.value.eq_ignore_ascii_case(l))
            }),
            Pred::Under(roots) => roots.iter().any(|r| ctx.is_under(item, r)),
            Pred::Owner(hs) => {
                let owner = item
                    .component()
                    .and_then(|c| c.owner.as_ref())
                    .map(|o| o.value.as_str());
                hs.iter().any(|h| handle_matches(owner, h, ctx))
            }
            Pred::Status(ss) => {
                let Some(status) = issue.and_then(|i| i.status.as_ref()) else {
                    return false;
                };
                let category = ctx
                    .config()
                    .and_then(|c| c.status(&status.value))
                    .map(|s| s.category);
                ss.iter().any(|s| {
                    s.eq_ignore_ascii_case(&status.value)
                        || category.is_some_and(|c| c.as_str().eq_ignore_ascii_case(s))
                })
            }
            Pred::Blocked => issue.is_some() && ctx.is_blocked(item),
            Pred::Ready => {
                category().is_some_and(Category::is_open)
                    && !ctx.is_blocked(item)
                    && !ctx.has_open_sub_issue(item)
            }
            Pred::Open(open) => category().is_some_and(|c| c.is_open() == *open),
            Pred::Assignee(hs) => {
                issue.is_some()
                    && hs.iter().any(|h| {
                        handle_matches(
                            issue
                                .and_then(|i| i.assignee.as_ref())
                                .map(|a| a.value.as_str()),
                            h,
                            ctx,
                        )
                    })
            }
            Pred::CreatedBy(hs) => {
                let by = match &item.fields {
                    Fields::Issue(i) => i.created_by.as_ref(),
                    Fields::Artifact(a) => a.created_by.as_ref(),
                    Fields::Comment(c) => c.author.as_ref(),
                    Fields::Component(_) => None,
                };
                hs.iter()
                    .any(|h| handle_matches(by.map(|b| b.value.as_str()), h, ctx))
            }
            Pred::Priority(cs) => {
                let Some(i) = issue else { return false };
                let p = i.priority.as_ref().map_or(0, |p| p.value);
                cs.iter().any(|(c, want)| {
                    // Priority 0 means "none": it is never "more urgent" than anything.
                    if *want != 0 && p == 0 && matches!(c, Cmp::Lt | Cmp::Le) {
                        false
                    } else {
                        c.test(&p, want)
                    }
                })
            }
            Pred::Estimate(cs) => issue
                .and_then(|i| i.estimate.as_ref())
                .is_some_and(|e| cs.iter().any(|(c, want)| c.test(&e.value, want))),
            Pred::Due(cs) => issue
                .and_then(|i| i.due.as_ref())
                .is_some_and(|d| cs.iter().any(|(c, want)| c.test(&d.value, want))),
            Pred::Cycle(cs) => {
                let cycle = issue
                    .and_then(|i| i.cycle.as_ref())
                    .map(|c| c.value.as_str());
                cs.iter().any(|c| match cycle {
                    None => c == "none",
                    Some(have) => have.eq_ignore_ascii_case(c),
                })
            }
            Pred::Missing(f) => match f {
                MissingField::Label => item.labels().is_empty(),
                MissingField::Parent => item.parent().is_none(),
                _ => match issue {
                    None => false,
                    Some(i) => match f {
                        MissingField::Assignee => i.assignee.is_none(),
                        MissingField::Cycle => i.cycle.is_none(),
                        MissingField::Estimate => i.estimate.is_none(),
                        MissingField::Priority => i.priority.as_ref().is_none_or(|p| p.value == 0),
                        MissingField::Due => i.due.is_none(),
                        MissingField::Label | MissingField::Parent => unreachable!("handled above"),
                    },
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let f = Filter::parse(r#"status:started label:p1 assignee:@me under:AUTH priority:<=2 -label:wontfix "free text""#).unwrap();
        assert_eq!(f.terms.len(), 7);
        assert_eq!(f.terms[4].pred, Pred::Priority(vec![(Cmp::Le, 2)]));
        assert!(f.terms[5].negated);
        assert_eq!(f.terms[6].pred, Pred::Text("free text".into()));
        assert_eq!(Filter::parse("bogus:1").unwrap_err().offset, 0);
        assert!(Filter::parse("a \"open").is_err());
        assert!(Filter::parse("priority:9").is_err());
        // URLs and times are text, not unknown keys.
        assert_eq!(
            Filter::parse("http://x").unwrap().terms[0].pred,
            Pred::Text("http://x".into())
        );
    }
}
