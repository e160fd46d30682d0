//! A whole workspace in memory, and the rules that span files.

use std::collections::HashMap;

use uuid::Uuid;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::diagnostic::{self, Code, Diagnostic};
use crate::ids;
use crate::model::*;
use crate::parse;
use crate::text::Pos;

/// Every item of a workspace, its config, and the problems found reading
/// them.
#[derive(Debug, Default)]
pub struct Workspace {
    pub config: Option<Config>,
    /// Items in path order.
    pub items: Vec<Item>,
    /// Problems found while reading files (syntax, types).
    pub file_diagnostics: Vec<Diagnostic>,
    /// UUID → index in `items`. The first item (by path) wins when two
    /// share one; `check` reports the second.
    by_id: HashMap<Uuid, usize>,
    /// Lower-cased short id → index in `items`, first wins likewise.
    by_short: HashMap<String, usize>,
    /// Blocked issue → the issues that block it; built on first use.
    blocked_by: std::sync::OnceLock<HashMap<usize, Vec<usize>>>,
    /// Parent → its children (by `parent`); built on first use.
    children_of: std::sync::OnceLock<HashMap<usize, Vec<usize>>>,
}

/// Answers whether a repository path exists; how is the caller's business
/// (a directory on disk, a git tree).
pub trait PathProbe: Sync {
    fn exists(&self, path: &str) -> bool;
}

impl<F: Fn(&str) -> bool + Sync> PathProbe for F {
    fn exists(&self, path: &str) -> bool {
        self(path)
    }
}

impl Workspace {
    /// Builds a workspace from parsed parts. `items` may come in any order.
    pub fn new(
        config: Option<Config>,
        mut items: Vec<Item>,
        file_diagnostics: Vec<Diagnostic>,
    ) -> Workspace {
        items.sort_by(|a, b| a.path.cmp(&b.path));
        let mut ws = Workspace {
            config,
            items,
            file_diagnostics,
            by_id: HashMap::new(),
            by_short: HashMap::new(),
            blocked_by: std::sync::OnceLock::new(),
            children_of: std::sync::OnceLock::new(),
        };
        ws.reindex();
        ws
    }

    /// Parses files given as `(path, bytes)`; the sans-IO entry point used by
    /// tests and by loaders that read from somewhere other than a directory.
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Workspace {
        let mut config = None;
        let mut items = Vec::new();
        let mut diags = Vec::new();
        for (path, bytes) in files {
            match parse::classify(path) {
                Some(parse::FileKind::Config) => {
                    let (c, d) = parse::parse_config(path, bytes);
                    config = c;
                    diags.extend(d);
                }
                Some(parse::FileKind::Item(kind)) => {
                    let (item, d) = parse::parse_item(path, kind, bytes);
                    items.extend(item);
                    diags.extend(d);
                }
                None => {}
            }
        }
        Workspace::new(config, items, diags)
    }

    fn reindex(&mut self) {
        self.blocked_by = std::sync::OnceLock::new();
        self.children_of = std::sync::OnceLock::new();
        self.by_id.clear();
        self.by_short.clear();
        self.by_id.reserve(self.items.len());
        for (i, item) in self.items.iter().enumerate() {
            if let Some(id) = &item.id {
                self.by_id.entry(id.value).or_insert(i);
            }
            if let Some(s) = &item.short_id {
                self.by_short.entry(ids::normalize(&s.value)).or_insert(i);
            }
        }
    }

    /// Finds an item by short id (any case) or UUID.
    pub fn resolve(&self, reference: &str) -> Option<&Item> {
        self.resolve_index(reference).map(|i| &self.items[i])
    }

    pub fn resolve_index(&self, reference: &str) -> Option<usize> {
        let r = reference.trim();
        if let Some(id) = ids::parse_uuid(r) {
            return self.by_id.get(&id).copied();
        }
        // Lower-case on the stack: this runs for every reference in `check`.
        let mut buf = [0u8; 64];
        match buf.get_mut(..r.len()) {
            Some(lower) => {
                lower.copy_from_slice(r.as_bytes());
                lower.make_ascii_lowercase();
                let lower = std::str::from_utf8(lower).ok()?;
                self.by_short.get(lower).copied()
            }
            None => self.by_short.get(&ids::normalize(r)).copied(),
        }
    }

    pub fn issues(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.kind() == Kind::Issue)
    }

    /// Comments on the item with `id`, oldest first.
    pub fn comments_on(&self, id: uuid::Uuid) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(move |i| matches!(&i.fields, Fields::Comment(c) if c.on.as_ref().map(|o| o.value) == Some(id)))
    }

    /// Every problem: file problems plus the workspace rules, sorted.
    pub fn check(&self, probe: &dyn PathProbe) -> Vec<Diagnostic> {
        let mut out = self.file_diagnostics.clone();
        out.extend(self.validate(probe));
        diagnostic::sort(&mut out);
        out
    }

    /// The rules that span files.
    pub fn validate(&self, probe: &dyn PathProbe) -> Vec<Diagnostic> {
        let mut v = Validator {
            ws: self,
            out: Vec::new(),
        };
        if self.config.is_none()
            && !self
                .file_diagnostics
                .iter()
                .any(|d| d.path == parse::CONFIG_PATH)
        {
            v.out.push(Diagnostic::new(
                Code::MissingConfig,
                parse::CONFIG_PATH,
                Pos::START,
                "no .nonlinear/config.yaml; run `nonlinear init`",
            ));
        }
        v.duplicates();
        for (i, item) in self.items.iter().enumerate() {
            v.references(i, item);
            v.config_refs(item);
            v.files(item, probe);
        }
        v.parent_cycles();
        v.blocks_cycles();
        v.out
    }
}

struct Validator<'a> {
    ws: &'a Workspace,
    out: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn duplicates(&mut self) {
        let mut ids: HashMap<uuid::Uuid, usize> = HashMap::with_capacity(self.ws.items.len());
        let mut shorts: HashMap<String, usize> = HashMap::with_capacity(self.ws.items.len());
        for (i, item) in self.ws.items.iter().enumerate() {
            if let Some(id) = &item.id {
                if let Some(&first) = ids.get(&id.value) {
                    let f = &self.ws.items[first];
                    self.out.push(
                        Diagnostic::new(
                            Code::DuplicateId,
                            &item.path,
                            id.pos,
                            format!("id {} is also used by {}", id.value, f.path),
                        )
                        .field("id")
                        .len(36)
                        .related(
                            &f.path,
                            f.id.as_ref().map_or(Pos::START, |x| x.pos),
                            "first used here",
                        ),
                    );
                } else {
                    ids.insert(id.value, i);
                }
            }
            if let Some(s) = &item.short_id {
                let key = ids::normalize(&s.value);
                if let Some(&first) = shorts.get(&key) {
                    let f = &self.ws.items[first];
                    self.out.push(
                        Diagnostic::new(
                            Code::DuplicateShortId,
                            &item.path,
                            s.pos,
                            format!(
                                "short id {} is also used by {}; rename one with `nonlinear mv`",
                                s.value, f.path
                            ),
                        )
                        .field("short_id")
                        .len(s.value.len())
                        .related(
                            &f.path,
                            f.short_id.as_ref().map_or(Pos::START, |x| x.pos),
                            "first used here",
                        ),
                    );
                } else {
                    shorts.insert(key, i);
                }
            }
        }
    }

    fn references(&mut self, me: usize, item: &Item) {
        let kind = item.kind();
        for (field, r) in item.references() {
            let Some(target) = self.ws.resolve_index(&r.value) else {
                self.out.push(
                    Diagnostic::new(
                        Code::DanglingReference,
                        &item.path,
                        r.pos,
                        format!(
                            "`{}` refers to {}, which does not exist",
                            field.key(),
                            r.value
                        ),
                    )
                    .field(field.key())
                    .len(r.value.chars().count()),
                );
                continue;
            };
            if target == me {
                self.out.push(
                    Diagnostic::new(
                        Code::SelfLink,
                        &item.path,
                        r.pos,
                        format!("`{}` refers to the item itself", field.key()),
                    )
                    .field(field.key())
                    .len(r.value.chars().count()),
                );
                continue;
            }
            let t = &self.ws.items[target];
            let tk = t.kind();
            let allowed: &[Kind] = match (kind, field) {
                (Kind::Component, LinkField::Parent) => &[Kind::Component],
                (Kind::Issue, LinkField::Parent) => &[Kind::Component, Kind::Issue],
                (_, LinkField::Blocks | LinkField::RelatesTo | LinkField::Duplicates) => {
                    &[Kind::Issue]
                }
                (
                    _,
                    LinkField::DependsOn
                    | LinkField::Imports
                    | LinkField::CallsApi
                    | LinkField::SharesDb,
                ) => &[Kind::Component],
                (_, LinkField::AttachedTo) => &[Kind::Component, Kind::Issue],
                (_, LinkField::ReplyTo) => &[Kind::Comment],
                (_, LinkField::Parent) => &[],
            };
            if !allowed.contains(&tk) {
                let expected = allowed
                    .iter()
                    .map(|k| format!("{}s", k.as_str()))
                    .collect::<Vec<_>>()
                    .join(" or ");
                let why = match (kind, tk) {
                    (Kind::Component, Kind::Issue) if field == LinkField::Parent => {
                        "; an issue cannot parent a component".to_owned()
                    }
                    _ => format!(
                        " ({}`{}` links {}s to {expected})",
                        match field.layer() {
                            0 => String::new(),
                            n => format!("layer {n} "),
                        },
                        field.edge(),
                        kind.as_str()
                    ),
                };
                self.out.push(
                    Diagnostic::new(
                        Code::WrongKind,
                        &item.path,
                        r.pos,
                        format!(
                            "`{}` refers to {}, {}{why}",
                            field.key(),
                            t.short_str_or_path(),
                            a_kind(tk)
                        ),
                    )
                    .field(field.key())
                    .len(r.value.chars().count())
                    .related(
                        &t.path,
                        Pos::START,
                        format!("{} defined here", r.value),
                    ),
                );
                continue;
            }
            if field == LinkField::ReplyTo {
                let on = |i: &Item| match &i.fields {
                    Fields::Comment(c) => c.on.as_ref().map(|o| o.value),
                    _ => None,
                };
                if on(item) != on(t) {
                    self.out.push(
                        Diagnostic::new(
                            Code::WrongKind,
                            &item.path,
                            r.pos,
                            "`reply_to` refers to a comment on a different item",
                        )
                        .field("reply_to")
                        .len(r.value.chars().count())
                        .related(&t.path, Pos::START, "that comment"),
                    );
                }
            }
        }
        if let Fields::Comment(c) = &item.fields {
            match c.on.as_ref() {
                None => self.out.push(Diagnostic::new(
                    Code::InvalidValue,
                    &item.path,
                    Pos::START,
                    "comment files live in .nonlinear/comments/<item id>/, named by the commented item's UUID",
                )),
                Some(on) => match self.ws.resolve(&on.value.to_string()) {
                    None => self.out.push(Diagnostic::new(Code::DanglingReference, &item.path, Pos::START, format!("comment is on item {}, which does not exist", on.value))),
                    Some(t) if !matches!(t.kind(), Kind::Component | Kind::Issue) => self.out.push(Diagnostic::new(
                        Code::WrongKind,
                        &item.path,
                        Pos::START,
                        format!("comments belong to components and issues; {} is {}", on.value, a_kind(t.kind())),
                    )),
                    Some(_) => {}
                },
            }
        }
    }

    fn config_refs(&mut self, item: &Item) {
        let Some(config) = &self.ws.config else {
            return;
        };
        let path = &item.path;
        let member = |out: &mut Vec<Diagnostic>, field: &str, h: &Spanned<String>| {
            if config.member(&h.value).is_none() {
                out.push(
                    Diagnostic::new(
                        Code::UnknownMember,
                        path,
                        h.pos,
                        format!(
                            "`{field}` is {}, who is not a member in .nonlinear/config.yaml",
                            h.value
                        ),
                    )
                    .field(field)
                    .len(h.value.chars().count()),
                );
            }
        };
        let labels = |out: &mut Vec<Diagnostic>, labels: &[Spanned<String>]| {
            for l in labels {
                if !config.has_label(&l.value) {
                    out.push(
                        Diagnostic::new(
                            Code::UnknownLabel,
                            path,
                            l.pos,
                            format!(
                                "label `{}` is not defined in .nonlinear/config.yaml",
                                l.value
                            ),
                        )
                        .field("labels")
                        .len(l.value.chars().count()),
                    );
                }
            }
        };
        match &item.fields {
            Fields::Component(c) => {
                labels(&mut self.out, &c.labels);
                if let Some(o) = &c.owner {
                    member(&mut self.out, "owner", o);
                }
            }
            Fields::Issue(i) => {
                labels(&mut self.out, &i.labels);
                for (f, h) in [("assignee", &i.assignee), ("created_by", &i.created_by)] {
                    if let Some(h) = h {
                        member(&mut self.out, f, h);
                    }
                }
                if let Some(s) = &i.status
                    && config.status(&s.value).is_none()
                {
                    let known = config
                        .statuses
                        .iter()
                        .map(|s| s.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.out.push(
                        Diagnostic::new(
                            Code::UnknownStatus,
                            path,
                            s.pos,
                            format!("status `{}` is not in the workflow ({known})", s.value),
                        )
                        .field("status")
                        .len(s.value.chars().count()),
                    );
                }
                if let Some(c) = &i.cycle
                    && config.cycle(&c.value).is_none()
                {
                    self.out.push(
                        Diagnostic::new(
                            Code::UnknownCycle,
                            path,
                            c.pos,
                            format!(
                                "cycle `{}` is not defined in .nonlinear/config.yaml",
                                c.value
                            ),
                        )
                        .field("cycle")
                        .len(c.value.chars().count()),
                    );
                }
            }
            Fields::Artifact(a) => {
                if let Some(h) = &a.created_by {
                    member(&mut self.out, "created_by", h);
                }
            }
            Fields::Comment(c) => {
                if let Some(h) = &c.author {
                    member(&mut self.out, "author", h);
                }
                for (emoji, who) in &c.reactions {
                    for h in who {
                        member(&mut self.out, &format!("reactions.{emoji}"), h);
                    }
                }
            }
        }
    }

    fn files(&mut self, item: &Item, probe: &dyn PathProbe) {
        let Fields::Artifact(a) = &item.fields else {
            return;
        };
        let Some(f) = &a.file else {
            return;
        };
        let path = f.value.trim_start_matches("./");
        let b = path.as_bytes();
        let absolute = path.starts_with(['/', '\\'])
            || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':');
        if absolute || path.split(['/', '\\']).any(|c| c == "..") {
            self.out.push(
                Diagnostic::new(
                    Code::InvalidValue,
                    &item.path,
                    f.pos,
                    format!(
                        "artifact file {} is outside the repository; give a path relative to the workspace root",
                        f.value
                    ),
                )
                .field("file")
                .len(f.value.chars().count()),
            );
        } else if !probe.exists(path) {
            self.out.push(
                Diagnostic::new(
                    Code::MissingFile,
                    &item.path,
                    f.pos,
                    format!("artifact file {} does not exist in the repository", f.value),
                )
                .field("file")
                .len(f.value.chars().count()),
            );
        }
    }

    /// Every item has at most one parent, so following parents from each
    /// item finds every cycle in O(n).
    fn parent_cycles(&mut self) {
        let items = &self.ws.items;
        let parent: Vec<Option<usize>> = items
            .iter()
            .map(|i| i.parent().and_then(|p| self.ws.resolve_index(&p.value)))
            .collect();
        // 0 = unvisited, 1 = on the current walk, 2 = done.
        let mut state = vec![0u8; items.len()];
        for start in 0..items.len() {
            let mut walk = Vec::new();
            let mut at = Some(start);
            while let Some(i) = at {
                match state[i] {
                    0 => {
                        state[i] = 1;
                        walk.push(i);
                        at = parent[i].filter(|&p| p != i);
                    }
                    1 => {
                        let from = walk.iter().position(|&w| w == i).expect("node on the walk");
                        let cycle = walk[from..].to_vec();
                        self.report_cycle(
                            Code::ParentCycle,
                            LinkField::Parent,
                            &cycle,
                            "HAS_CHILD cycle: the parent of each item is the next",
                        );
                        break;
                    }
                    _ => break,
                }
            }
            for w in walk {
                state[w] = 2;
            }
        }
    }

    fn blocks_cycles(&mut self) {
        let mut g: DiGraph<usize, ()> = DiGraph::new();
        let mut nodes: HashMap<usize, NodeIndex> = HashMap::new();
        for (i, item) in self.ws.items.iter().enumerate() {
            let Some(issue) = item.issue() else { continue };
            for b in &issue.blocks {
                let Some(t) = self
                    .ws
                    .resolve_index(&b.value)
                    .filter(|&t| t != i && self.ws.items[t].kind() == Kind::Issue)
                else {
                    continue;
                };
                let a = *nodes.entry(i).or_insert_with(|| g.add_node(i));
                let z = *nodes.entry(t).or_insert_with(|| g.add_node(t));
                g.add_edge(a, z, ());
            }
        }
        for scc in petgraph::algo::tarjan_scc(&g) {
            if scc.len() < 2 {
                continue;
            }
            // Walk inside the component from its first node until we return:
            // a concrete cycle to print.
            let members: std::collections::HashSet<NodeIndex> = scc.iter().copied().collect();
            let start = *scc
                .iter()
                .min_by_key(|n| &self.ws.items[g[**n]].path)
                .expect("non-empty");
            let cycle = find_cycle(&g, start, &members)
                .into_iter()
                .map(|n| g[n])
                .collect::<Vec<_>>();
            self.report_cycle(
                Code::BlocksCycle,
                LinkField::Blocks,
                &cycle,
                "BLOCKS cycle: each issue blocks the next, so none can start",
            );
        }
    }

    fn report_cycle(&mut self, code: Code, field: LinkField, cycle: &[usize], what: &str) {
        let items = &self.ws.items;
        // Report at the member with the smallest path, so output is stable.
        let Some(first) = (0..cycle.len()).min_by_key(|&k| &items[cycle[k]].path) else {
            return;
        };
        let rotated: Vec<usize> = cycle[first..]
            .iter()
            .chain(&cycle[..first])
            .copied()
            .collect();
        let names: Vec<&str> = rotated
            .iter()
            .map(|&i| items[i].short_str_or_path())
            .collect();
        let chain = format!("{} → {}", names.join(" → "), names[0]);
        let ref_of = |i: usize, next: usize| -> (Pos, usize) {
            items[i]
                .references()
                .into_iter()
                .find(|(f, r)| *f == field && self.ws.resolve_index(&r.value) == Some(next))
                .map_or((Pos::START, 1), |(_, r)| (r.pos, r.value.chars().count()))
        };
        let at = rotated[0];
        let (pos, len) = ref_of(at, rotated[1 % rotated.len()]);
        let mut d = Diagnostic::new(code, &items[at].path, pos, format!("{what}: {chain}"))
            .field(field.key())
            .len(len);
        for (k, &i) in rotated.iter().enumerate().skip(1) {
            let next = rotated[(k + 1) % rotated.len()];
            d = d.related(
                &items[i].path,
                ref_of(i, next).0,
                format!(
                    "{} → {}",
                    items[i].short_str_or_path(),
                    items[next].short_str_or_path()
                ),
            );
        }
        self.out.push(d);
    }
}

/// "an issue", "a component".
fn a_kind(kind: Kind) -> String {
    kind.with_article().to_owned()
}

/// A path from `start` back to `start` inside `members` (which is strongly
/// connected, so one exists). Iterative DFS.
fn find_cycle(
    g: &DiGraph<usize, ()>,
    start: NodeIndex,
    members: &std::collections::HashSet<NodeIndex>,
) -> Vec<NodeIndex> {
    let mut stack = vec![(start, g.neighbors(start).collect::<Vec<_>>())];
    let mut on_path = std::collections::HashSet::from([start]);
    let mut visited = std::collections::HashSet::from([start]);
    while let Some((_, next)) = stack.last_mut() {
        match next.pop() {
            Some(n) if n == start => return stack.iter().map(|(n, _)| *n).collect(),
            Some(n) if members.contains(&n) && !visited.contains(&n) => {
                visited.insert(n);
                on_path.insert(n);
                let succ = g.neighbors(n).collect();
                stack.push((n, succ));
            }
            Some(_) => {}
            None => {
                let (n, _) = stack.pop().expect("non-empty");
                on_path.remove(&n);
            }
        }
    }
    vec![start]
}

impl Item {
    /// The short id, or the path for items without one.
    pub fn short_str_or_path(&self) -> &str {
        self.short_id
            .as_ref()
            .map_or(self.path.as_str(), |s| s.value.as_str())
    }
}

/// A workspace seen by one actor: what filters match against.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub ws: &'a Workspace,
    /// The acting member's handle, for `@me`.
    pub me: Option<&'a str>,
}

impl crate::filter::Context for Scope<'_> {
    fn config(&self) -> Option<&Config> {
        self.ws.config.as_ref()
    }

    fn is_under(&self, item: &Item, ancestor: &str) -> bool {
        let Some(root) = self.ws.resolve_index(ancestor) else {
            return false;
        };
        let root = &self.ws.items[root];
        let mut at = item;
        // Bounded: a parent cycle must not hang a query.
        for _ in 0..=self.ws.items.len() {
            if std::ptr::eq(at, root) {
                return true;
            }
            match at.parent().and_then(|p| self.ws.resolve(&p.value)) {
                Some(p) => at = p,
                None => return false,
            }
        }
        false
    }

    fn me(&self) -> Option<&str> {
        self.me
    }

    fn is_blocked(&self, item: &Item) -> bool {
        self.ws.open_blockers(item).next().is_some()
    }

    fn has_open_sub_issue(&self, item: &Item) -> bool {
        self.ws
            .children(item)
            .any(|c| c.kind() == Kind::Issue && self.ws.category(c).is_none_or(Category::is_open))
    }
}

impl Workspace {
    /// Items matching `filter`, issues only unless the filter names a type.
    pub fn query<'a>(
        &'a self,
        filter: &crate::filter::Filter,
        me: Option<&'a str>,
    ) -> Vec<&'a Item> {
        let scope = Scope { ws: self, me };
        let issues_only = !filter.has_kind();
        self.items
            .iter()
            .filter(|i| i.kind() != Kind::Comment || !issues_only)
            .filter(|i| !issues_only || i.kind() == Kind::Issue)
            .filter(|i| filter.matches(i, &scope))
            .collect()
    }

    /// Open issues that `blocks` this one.
    pub fn open_blockers<'a>(&'a self, item: &Item) -> impl Iterator<Item = &'a Item> + 'a {
        let index = self
            .blocked_by
            .get_or_init(|| self.reverse_index(|it| it.issue().map_or(&[][..], |x| &x.blocks)));
        self.pointing_at(index, item)
            .filter(|b| self.category(b).is_none_or(Category::is_open))
    }

    /// Target index → the items whose `refs` resolve to it.
    fn reverse_index<'a>(
        &'a self,
        refs: impl Fn(&'a Item) -> &'a [Spanned<String>],
    ) -> HashMap<usize, Vec<usize>> {
        let mut map: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, it) in self.items.iter().enumerate() {
            for r in refs(it) {
                if let Some(t) = self.resolve_index(&r.value) {
                    map.entry(t).or_default().push(i);
                }
            }
        }
        map
    }

    /// The items a [`Workspace::reverse_index`] lists for `item`.
    fn pointing_at<'a>(
        &'a self,
        index: &'a HashMap<usize, Vec<usize>>,
        item: &Item,
    ) -> impl Iterator<Item = &'a Item> + 'a {
        let me = item.id.as_ref().and_then(|id| self.by_id.get(&id.value));
        me.and_then(|i| index.get(i))
            .into_iter()
            .flatten()
            .map(|&i| &self.items[i])
    }

    /// The category of an issue's status, if the status is in the workflow.
    pub fn category(&self, item: &Item) -> Option<Category> {
        let status = item.issue()?.status.as_ref()?;
        self.config
            .as_ref()?
            .status(&status.value)
            .map(|s| s.category)
    }

    /// Direct children (components and issues whose `parent` is `item`).
    pub fn children<'a>(&'a self, item: &'a Item) -> impl Iterator<Item = &'a Item> + 'a {
        let index = self.children_of.get_or_init(|| {
            self.reverse_index(|it| it.parent().map(std::slice::from_ref).unwrap_or_default())
        });
        self.pointing_at(index, item)
    }
}
