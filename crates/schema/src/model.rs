//! The validated domain model: what a workspace's files mean.
//!
//! These are not wire types. The CLI and the server each own the JSON they
//! print; this module only says what the files hold.

use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

use crate::text::Pos;
use crate::yaml::Node;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spanned<T> {
    pub value: T,
    pub pos: Pos,
}

impl<T> Spanned<T> {
    pub fn new(value: T, pos: Pos) -> Self {
        Spanned { value, pos }
    }
}

/// The four kinds of item file.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Component,
    Issue,
    Artifact,
    Comment,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Component => "component",
            Kind::Issue => "issue",
            Kind::Artifact => "artifact",
            Kind::Comment => "comment",
        }
    }

    /// The name with its indefinite article: "an issue", "a component".
    pub fn with_article(self) -> &'static str {
        match self {
            Kind::Component => "a component",
            Kind::Issue => "an issue",
            Kind::Artifact => "an artifact",
            Kind::Comment => "a comment",
        }
    }
}

/// The category every workflow status belongs to; it decides whether an
/// issue counts as open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Backlog,
    Unstarted,
    Started,
    Completed,
    Canceled,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Backlog,
        Category::Unstarted,
        Category::Started,
        Category::Completed,
        Category::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Backlog => "backlog",
            Category::Unstarted => "unstarted",
            Category::Started => "started",
            Category::Completed => "completed",
            Category::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Completed and canceled issues are closed; everything else is open.
    pub fn is_open(self) -> bool {
        !matches!(self, Category::Completed | Category::Canceled)
    }
}

/// `.nonlinear/config.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Prefix of generated short ids, e.g. `NL`.
    pub key: String,
    pub name: String,
    pub statuses: Vec<StatusDef>,
    pub labels: Vec<LabelDef>,
    pub priorities: Vec<PriorityDef>,
    pub members: Vec<Member>,
    pub cycles: Vec<CycleDef>,
    /// `architecture:` rules on Layer-3 links, checked by `nonlinear check`.
    pub architecture: Vec<Rule>,
    /// `analyzer:` paths `nonlinear analyze` never reads, beyond its
    /// built-in rules.
    pub analyzer: AnalyzerConfig,
    /// Unknown top-level keys, kept for tools that understand them.
    pub extra: Vec<(String, Node)>,
}

/// One architecture rule: `deny` links of some kinds from some components
/// to others, or allow `from` components links of those kinds `allow_only`
/// to the `to` ones. Components are matched by key or by code path
/// (globs: `web/*`, `services/**`, `AUTH`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub deny: bool,
    /// Layer-3 link fields: `depends_on`, `imports`, `calls_api`,
    /// `shares_db`.
    pub kinds: Vec<String>,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub reason: Option<String>,
    /// Where the rule is written in the config.
    pub pos: Pos,
}

/// The `analyzer:` section of the config.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnalyzerConfig {
    /// Globs of generated files (skipped, counted as generated).
    pub generated: Vec<String>,
    /// Globs of vendored files (skipped, counted as vendored).
    pub vendored: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatusDef {
    pub key: String,
    pub name: String,
    pub category: Category,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelDef {
    pub name: String,
    pub color: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PriorityDef {
    pub value: u8,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberKind {
    User,
    Agent,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub handle: String,
    pub name: String,
    pub email: Option<String>,
    pub kind: MemberKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CycleDef {
    pub key: String,
    pub name: String,
    pub starts: Option<Date>,
    pub ends: Option<Date>,
}

impl Config {
    pub fn status(&self, key: &str) -> Option<&StatusDef> {
        self.statuses.iter().find(|s| s.key == key)
    }

    /// The status new issues get: the first `unstarted` one, else the first.
    pub fn default_status(&self) -> Option<&StatusDef> {
        self.statuses
            .iter()
            .find(|s| s.category == Category::Unstarted)
            .or(self.statuses.first())
    }

    pub fn member(&self, handle: &str) -> Option<&Member> {
        let handle = handle.strip_prefix('@').unwrap_or(handle);
        self.members
            .iter()
            .find(|m| m.handle.eq_ignore_ascii_case(handle))
    }

    pub fn has_label(&self, name: &str) -> bool {
        self.labels
            .iter()
            .any(|l| l.name.eq_ignore_ascii_case(name))
    }

    pub fn cycle(&self, key: &str) -> Option<&CycleDef> {
        self.cycles.iter().find(|c| c.key.eq_ignore_ascii_case(key))
    }
}

/// One component, issue, artifact or comment file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Item {
    /// Workspace-relative path with `/` separators.
    pub path: String,
    pub id: Option<Spanned<Uuid>>,
    /// Short id (`NL-k3x9`) or component key (`AUTH`); comments have none.
    pub short_id: Option<Spanned<String>>,
    pub title: Option<Spanned<String>>,
    pub fields: Fields,
    /// Front matter keys this version does not know, in file order.
    pub extra: Vec<(String, Node)>,
    /// The Markdown body (the description), without the front matter.
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Fields {
    // Boxed so an `Item` is the size of a comment's fields, the most common
    // item by far: a third of the memory of a loaded workspace.
    Component(Box<Component>),
    Issue(Box<Issue>),
    Artifact(Box<Artifact>),
    Comment(Comment),
}

impl Item {
    pub fn kind(&self) -> Kind {
        match &self.fields {
            Fields::Component(_) => Kind::Component,
            Fields::Issue(_) => Kind::Issue,
            Fields::Artifact(_) => Kind::Artifact,
            Fields::Comment(_) => Kind::Comment,
        }
    }

    pub fn title_str(&self) -> &str {
        self.title.as_ref().map_or("", |t| t.value.as_str())
    }

    pub fn short_str(&self) -> &str {
        self.short_id.as_ref().map_or("", |t| t.value.as_str())
    }

    pub fn issue(&self) -> Option<&Issue> {
        match &self.fields {
            Fields::Issue(i) => Some(i),
            _ => None,
        }
    }

    pub fn component(&self) -> Option<&Component> {
        match &self.fields {
            Fields::Component(c) => Some(c),
            _ => None,
        }
    }

    /// Labels of components and issues.
    pub fn labels(&self) -> &[Spanned<String>] {
        match &self.fields {
            Fields::Component(c) => &c.labels,
            Fields::Issue(i) => &i.labels,
            _ => &[],
        }
    }

    /// The `parent` reference of a component or issue.
    pub fn parent(&self) -> Option<&Spanned<String>> {
        match &self.fields {
            Fields::Component(c) => c.parent.as_ref(),
            Fields::Issue(i) => i.parent.as_ref(),
            _ => None,
        }
    }

    /// Every reference to another item this file makes, with the field that
    /// makes it.
    pub fn references(&self) -> Vec<(LinkField, &Spanned<String>)> {
        let mut out = Vec::new();
        match &self.fields {
            Fields::Component(c) => {
                out.extend(c.parent.iter().map(|r| (LinkField::Parent, r)));
                out.extend(c.depends_on.iter().map(|r| (LinkField::DependsOn, r)));
                out.extend(c.imports.iter().map(|r| (LinkField::Imports, r)));
                out.extend(c.calls_api.iter().map(|r| (LinkField::CallsApi, r)));
                out.extend(c.shares_db.iter().map(|r| (LinkField::SharesDb, r)));
            }
            Fields::Issue(i) => {
                out.extend(i.parent.iter().map(|r| (LinkField::Parent, r)));
                out.extend(i.blocks.iter().map(|r| (LinkField::Blocks, r)));
                out.extend(i.relates_to.iter().map(|r| (LinkField::RelatesTo, r)));
                out.extend(i.duplicates.iter().map(|r| (LinkField::Duplicates, r)));
            }
            Fields::Artifact(a) => {
                out.extend(a.attached_to.iter().map(|r| (LinkField::AttachedTo, r)))
            }
            Fields::Comment(c) => out.extend(c.reply_to.iter().map(|r| (LinkField::ReplyTo, r))),
        }
        out
    }
}

/// A front matter field that refers to other items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkField {
    Parent,
    Blocks,
    RelatesTo,
    Duplicates,
    DependsOn,
    Imports,
    CallsApi,
    SharesDb,
    AttachedTo,
    ReplyTo,
}

impl LinkField {
    pub const ALL: [LinkField; 10] = [
        LinkField::Parent,
        LinkField::Blocks,
        LinkField::RelatesTo,
        LinkField::Duplicates,
        LinkField::DependsOn,
        LinkField::Imports,
        LinkField::CallsApi,
        LinkField::SharesDb,
        LinkField::AttachedTo,
        LinkField::ReplyTo,
    ];

    /// The front matter key.
    pub fn key(self) -> &'static str {
        match self {
            LinkField::Parent => "parent",
            LinkField::Blocks => "blocks",
            LinkField::RelatesTo => "relates_to",
            LinkField::Duplicates => "duplicates",
            LinkField::DependsOn => "depends_on",
            LinkField::Imports => "imports",
            LinkField::CallsApi => "calls_api",
            LinkField::SharesDb => "shares_db",
            LinkField::AttachedTo => "attached_to",
            LinkField::ReplyTo => "reply_to",
        }
    }

    pub fn parse(key: &str) -> Option<LinkField> {
        LinkField::ALL.into_iter().find(|f| f.key() == key)
    }

    /// The graph edge this field declares, in the seed's vocabulary.
    pub fn edge(self) -> &'static str {
        match self {
            LinkField::Parent => "HAS_CHILD",
            LinkField::Blocks => "BLOCKS",
            LinkField::RelatesTo => "RELATES_TO",
            LinkField::Duplicates => "DUPLICATES",
            LinkField::DependsOn => "DEPENDS_ON",
            LinkField::Imports => "IMPORTS",
            LinkField::CallsApi => "CALLS_API",
            LinkField::SharesDb => "SHARES_DB",
            LinkField::AttachedTo => "HAS_ARTIFACT",
            LinkField::ReplyTo => "REPLY_TO",
        }
    }

    /// Which layer the edge belongs to (1–4); `reply_to` threads comments
    /// and belongs to none.
    pub fn layer(self) -> u8 {
        match self {
            LinkField::Parent => 1,
            LinkField::Blocks | LinkField::RelatesTo | LinkField::Duplicates => 2,
            LinkField::DependsOn
            | LinkField::Imports
            | LinkField::CallsApi
            | LinkField::SharesDb => 3,
            LinkField::AttachedTo => 4,
            LinkField::ReplyTo => 0,
        }
    }

    /// Whether the field holds a list (every link field but `parent` and
    /// `reply_to`).
    pub fn is_list(self) -> bool {
        !matches!(self, LinkField::Parent | LinkField::ReplyTo)
    }
}

/// Layer 1: a part of the system, mapped to a code path.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Component {
    pub labels: Vec<Spanned<String>>,
    pub owner: Option<Spanned<String>>,
    pub repo: Repo,
    pub parent: Option<Spanned<String>>,
    pub depends_on: Vec<Spanned<String>>,
    pub imports: Vec<Spanned<String>>,
    pub calls_api: Vec<Spanned<String>>,
    pub shares_db: Vec<Spanned<String>>,
    /// Inferred links this component says are wrong, each with a reason.
    pub suppress: Vec<Suppression>,
}

/// `suppress: [{kind: calls_api, to: AUTH, reason: …}]` in a component:
/// the analyzer leaves that inferred link out.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Suppression {
    /// A Layer-3 link field (`calls_api`, …).
    pub kind: String,
    pub to: Spanned<String>,
    pub reason: String,
}

/// Where a component's code lives.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Repo {
    pub provider: Option<String>,
    pub url: Option<String>,
    /// Repository-relative directory. For a `COMPONENT.md` it defaults to the
    /// file's own directory.
    pub path: Option<Spanned<String>>,
    pub branch: Option<String>,
    /// Keys under `repo:` this version does not know, kept like
    /// [`Item::extra`].
    pub extra: Vec<(String, crate::yaml::Node)>,
}

/// Layer 2: a piece of work.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Issue {
    pub status: Option<Spanned<String>>,
    pub labels: Vec<Spanned<String>>,
    pub assignee: Option<Spanned<String>>,
    pub created_by: Option<Spanned<String>>,
    #[serde(with = "wire::timestamp")]
    pub created_at: Option<Spanned<Timestamp>>,
    pub cycle: Option<Spanned<String>>,
    pub priority: Option<Spanned<u8>>,
    pub estimate: Option<Spanned<f64>>,
    #[serde(with = "wire::date")]
    pub due: Option<Spanned<Date>>,
    pub parent: Option<Spanned<String>>,
    pub blocks: Vec<Spanned<String>>,
    pub relates_to: Vec<Spanned<String>>,
    pub duplicates: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    Link,
    File,
    Embed,
}

/// Layer 4: context attached to components and issues.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Artifact {
    pub kind: Option<Spanned<ArtifactKind>>,
    pub url: Option<Spanned<String>>,
    /// Repository-relative path of the file, for `kind: file`.
    pub file: Option<Spanned<String>>,
    pub mime_type: Option<String>,
    pub size: Option<u64>,
    pub attached_to: Vec<Spanned<String>>,
    pub created_by: Option<Spanned<String>>,
    #[serde(with = "wire::timestamp")]
    pub created_at: Option<Spanned<Timestamp>>,
}

/// A comment on a component or issue. One file each, so concurrent comments
/// never conflict in a merge.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Comment {
    /// The id of the commented item: the name of the directory the file is in
    /// (`.nonlinear/comments/<item id>/<comment id>.md`).
    pub on: Option<Spanned<Uuid>>,
    pub author: Option<Spanned<String>>,
    #[serde(with = "wire::timestamp")]
    pub created_at: Option<Spanned<Timestamp>>,
    #[serde(with = "wire::timestamp")]
    pub edited_at: Option<Spanned<Timestamp>>,
    /// The comment this one answers (its id).
    pub reply_to: Option<Spanned<String>>,
    /// Emoji → handles of who reacted.
    pub reactions: Vec<(String, Vec<Spanned<String>>)>,
}

/// Compact serde encodings for binary caches: jiff writes timestamps and
/// dates as strings, which are slow to read back by the hundred thousand.
mod wire {
    pub mod timestamp {
        use jiff::Timestamp;
        use serde::de::Error;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        use crate::model::Spanned;

        pub fn serialize<S: Serializer>(
            v: &Option<Spanned<Timestamp>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            v.as_ref()
                .map(|t| {
                    let parts = (t.value.as_second(), t.value.subsec_nanosecond());
                    Spanned::new(parts, t.pos)
                })
                .serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Spanned<Timestamp>>, D::Error> {
            let v: Option<Spanned<(i64, i32)>> = Deserialize::deserialize(d)?;
            v.map(|t| {
                Timestamp::new(t.value.0, t.value.1)
                    .map(|ts| Spanned::new(ts, t.pos))
                    .map_err(D::Error::custom)
            })
            .transpose()
        }
    }

    pub mod date {
        use jiff::civil::Date;
        use serde::de::Error;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        use crate::model::Spanned;

        pub fn serialize<S: Serializer>(
            v: &Option<Spanned<Date>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            v.as_ref()
                .map(|d| Spanned::new((d.value.year(), d.value.month(), d.value.day()), d.pos))
                .serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Spanned<Date>>, D::Error> {
            let v: Option<Spanned<(i16, i8, i8)>> = Deserialize::deserialize(d)?;
            v.map(|t| {
                let (y, m, day) = t.value;
                Date::new(y, m, day)
                    .map(|date| Spanned::new(date, t.pos))
                    .map_err(D::Error::custom)
            })
            .transpose()
        }
    }
}
