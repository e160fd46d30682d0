//! The graph of one workspace: nodes for components, issues, artifacts,
//! cycles and the project; typed edges, each scoped to one layer.
//!
//! Built from a [`schema::Workspace`] and kept current one file at a time
//! with [`Graph::upsert`] and [`Graph::remove`]. A reference to an item that
//! does not exist (yet) is remembered, and becomes an edge as soon as the
//! item appears: the order files arrive in never changes the graph.

// foldhash: a fast, per-process-seeded hasher; std's SipHash was a tenth
// of a 100k-issue build.
use foldhash::{HashMap, HashMapExt};
use petgraph::Direction;
use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use schema::model::Category;
use schema::{Config, Fields, Item, Kind, LinkField, Workspace};
use uuid::Uuid;

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// The workspace itself: the root above every top-level component.
    Project,
    Component,
    Issue,
    Artifact,
    /// A cycle (sprint) from the config.
    Cycle,
}

impl NodeKind {
    /// The node of an item kind; comments are not nodes.
    pub fn of(kind: Kind) -> Option<NodeKind> {
        match kind {
            Kind::Component => Some(NodeKind::Component),
            Kind::Issue => Some(NodeKind::Issue),
            Kind::Artifact => Some(NodeKind::Artifact),
            Kind::Comment => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Project => "project",
            NodeKind::Component => "component",
            NodeKind::Issue => "issue",
            NodeKind::Artifact => "artifact",
            NodeKind::Cycle => "cycle",
        }
    }
}

/// One node. Items keep their parsed file; cycles and the project have none.
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    /// Short id, component key or cycle key; the project's name.
    pub key: String,
    pub title: String,
    /// The item, for components, issues and artifacts.
    pub item: Option<Item>,
    /// The status category of an issue whose status is in the workflow.
    pub category: Option<Category>,
}

impl Node {
    /// Whether this is an issue in an open category. A status not in the
    /// workflow counts as open (check reports it); no status too.
    pub fn is_open_issue(&self) -> bool {
        self.kind == NodeKind::Issue && self.category.is_none_or(Category::is_open)
    }

    /// The issue's estimate, if it has one.
    pub fn estimate(&self) -> Option<f64> {
        self.item
            .as_ref()?
            .issue()?
            .estimate
            .as_ref()
            .map(|e| e.value)
    }

    pub fn id(&self) -> Option<Uuid> {
        self.item.as_ref()?.id.as_ref().map(|i| i.value)
    }
}

/// Edge types. Each belongs to one layer; see [`EdgeKind::layer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EdgeKind {
    /// Parent → child: components under components (layer 1), issues under
    /// components or issues (layer 2).
    HasChild,
    Blocks,
    RelatesTo,
    Duplicates,
    DependsOn,
    Imports,
    CallsApi,
    SharesDb,
    /// Component or issue → artifact.
    HasArtifact,
    /// Issue → cycle.
    InCycle,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::HasChild => "HAS_CHILD",
            EdgeKind::Blocks => "BLOCKS",
            EdgeKind::RelatesTo => "RELATES_TO",
            EdgeKind::Duplicates => "DUPLICATES",
            EdgeKind::DependsOn => "DEPENDS_ON",
            EdgeKind::Imports => "IMPORTS",
            EdgeKind::CallsApi => "CALLS_API",
            EdgeKind::SharesDb => "SHARES_DB",
            EdgeKind::HasArtifact => "HAS_ARTIFACT",
            EdgeKind::InCycle => "IN_CYCLE",
        }
    }

    /// Whether this is a Layer-3 code connection.
    pub fn is_code(self) -> bool {
        matches!(
            self,
            EdgeKind::DependsOn | EdgeKind::Imports | EdgeKind::CallsApi | EdgeKind::SharesDb
        )
    }

    /// The edge a link field declares; `reply_to` links comments, which
    /// are not in the graph.
    pub fn of(field: LinkField) -> Option<EdgeKind> {
        Some(match field {
            LinkField::Parent => EdgeKind::HasChild,
            LinkField::Blocks => EdgeKind::Blocks,
            LinkField::RelatesTo => EdgeKind::RelatesTo,
            LinkField::Duplicates => EdgeKind::Duplicates,
            LinkField::DependsOn => EdgeKind::DependsOn,
            LinkField::Imports => EdgeKind::Imports,
            LinkField::CallsApi => EdgeKind::CallsApi,
            LinkField::SharesDb => EdgeKind::SharesDb,
            LinkField::AttachedTo => EdgeKind::HasArtifact,
            LinkField::ReplyTo => return None,
        })
    }

    /// The link field that declares this edge: the inverse of
    /// [`EdgeKind::of`]. `IN_CYCLE` comes from the `cycle` field, which
    /// names a cycle, not an item.
    pub fn field(self) -> Option<LinkField> {
        Some(match self {
            EdgeKind::HasChild => LinkField::Parent,
            EdgeKind::Blocks => LinkField::Blocks,
            EdgeKind::RelatesTo => LinkField::RelatesTo,
            EdgeKind::Duplicates => LinkField::Duplicates,
            EdgeKind::DependsOn => LinkField::DependsOn,
            EdgeKind::Imports => LinkField::Imports,
            EdgeKind::CallsApi => LinkField::CallsApi,
            EdgeKind::SharesDb => LinkField::SharesDb,
            EdgeKind::HasArtifact => LinkField::AttachedTo,
            EdgeKind::InCycle => return None,
        })
    }

    /// Whether the edge points at the item whose file declares it:
    /// `parent` and `attached_to` are written in the child and the
    /// artifact, the edges run parent → child and item → artifact.
    pub fn declared_by_target(self) -> bool {
        matches!(self, EdgeKind::HasChild | EdgeKind::HasArtifact)
    }

    /// The layer of this edge when the file of a `declarer` declares it:
    /// `HAS_CHILD` is layer 1 between components and 2 for issues, code
    /// links 3, `HAS_ARTIFACT` 4, the rest (issue links, `IN_CYCLE`) 2.
    pub fn layer(self, declarer: NodeKind) -> u8 {
        match self {
            EdgeKind::HasChild if declarer == NodeKind::Component => 1,
            EdgeKind::HasArtifact => 4,
            k if k.is_code() => 3,
            _ => 2,
        }
    }
}

/// Where a Layer-3 edge comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Written in a component file.
    Manual,
    /// Found in the code by the analyzer.
    Inferred,
}

/// One edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Edge {
    pub kind: EdgeKind,
    /// 1 components, 2 issues, 3 code connections, 4 artifacts; cycles
    /// count as layer 2 (they group issues).
    pub layer: u8,
    pub source: Source,
}

/// The graph.
#[derive(Debug, Clone)]
pub struct Graph {
    g: StableDiGraph<Node, Edge>,
    project: NodeIndex,
    by_id: HashMap<Uuid, NodeIndex>,
    /// Lower-cased short ids and component keys.
    by_key: HashMap<String, NodeIndex>,
    /// Lower-cased cycle keys.
    cycles: HashMap<String, NodeIndex>,
    by_path: HashMap<String, NodeIndex>,
    /// Per node index: an open issue? Queries test this for every neighbour
    /// they look at; a dense bit per node stays in cache where the nodes
    /// themselves (hundreds of bytes each) do not.
    open: Vec<bool>,
    /// Per node index: how many open issues block it, and how many of its
    /// children are open issues. Kept by [`Graph::add_edge`] and
    /// [`Graph::remove_edge`], the only places edges change, so `ready` is
    /// one pass over two arrays instead of a walk of every adjacency list.
    open_blockers: Vec<u32>,
    open_children: Vec<u32>,
    /// Issue nodes, so queries over issues do not scan every node
    /// (unordered).
    issues: Vec<NodeIndex>,
    /// Per node index: work-queue priority (1 urgent … 4 low, 5 none).
    priority: Vec<u8>,
    /// Edges whose far end does not exist yet, by lower-cased reference:
    /// (the node whose file holds the reference, the field).
    pending: HashMap<String, Vec<(NodeIndex, LinkField)>>,
    /// The edges [`Graph::set_inferred`] added (some may be gone with a
    /// node since, their index reused: check the source before removing).
    inferred: Vec<EdgeIndex>,
    config: Option<Config>,
}

/// Builds a [`Graph`] from items that arrive one at a time, in path order
/// (what [`Graph::from_items`] does with a `Vec`): nodes as they come, links
/// once all nodes are there, so that links find their targets in one pass.
#[derive(Debug)]
pub struct Builder {
    graph: Graph,
    nodes: Vec<NodeIndex>,
}

impl Builder {
    /// `capacity`: how many items are coming, if known (0 otherwise).
    pub fn new(config: Option<Config>, capacity: usize) -> Builder {
        Builder {
            graph: Graph::with_capacity(config, capacity),
            nodes: Vec::with_capacity(capacity),
        }
    }

    /// Adds one item; comments and items without an id are skipped.
    pub fn push(&mut self, item: Item) {
        if item.kind() == Kind::Comment {
            return;
        }
        if let Some(n) = self.graph.add_node(item) {
            self.nodes.push(n);
        }
    }

    pub fn finish(self) -> Graph {
        let mut graph = self.graph;
        for n in self.nodes {
            // Out of its node while links are added, which needs `&mut self`.
            let item = graph.g[n].item.take().expect("item nodes hold their item");
            graph.add_links(n, &item);
            graph.g[n].item = Some(item);
        }
        graph
    }
}

impl Graph {
    /// Builds the graph of a loaded workspace.
    pub fn build(ws: &Workspace) -> Graph {
        let mut graph = Graph::empty(ws.config.clone());
        // Nodes first, so that links find their targets in one pass.
        let nodes: Vec<(NodeIndex, &Item)> = ws
            .items
            .iter()
            .filter(|i| i.kind() != Kind::Comment)
            .filter_map(|i| graph.add_node(i.clone()).map(|n| (n, i)))
            .collect();
        for (n, item) in nodes {
            graph.add_links(n, item);
        }
        graph
    }

    /// [`Graph::build`] taking the workspace by value: the items move into
    /// the graph instead of being cloned (half the time of a build at 100k
    /// issues).
    pub fn from_workspace(ws: Workspace) -> Graph {
        Graph::from_items(ws.config, ws.items)
    }

    /// [`Graph::from_workspace`] from the parts of a workspace: its config
    /// and items in path order (comments are skipped). No workspace
    /// indexes are built on the way.
    pub fn from_items(config: Option<Config>, items: Vec<Item>) -> Graph {
        let mut b = Builder::new(config, items.len());
        for item in items {
            b.push(item);
        }
        b.finish()
    }

    fn empty(config: Option<Config>) -> Graph {
        Graph::with_capacity(config, 0)
    }

    /// An empty graph with room for `items` item nodes (and, as a guess,
    /// three edges each): a build of 100k items then never grows, and so
    /// never copies, its tables.
    fn with_capacity(config: Option<Config>, items: usize) -> Graph {
        let nodes = items + 1 + config.as_ref().map_or(0, |c| c.cycles.len());
        let mut g = StableDiGraph::with_capacity(nodes, items * 3);
        let name = config.as_ref().map_or("workspace", |c| c.name.as_str());
        let project = g.add_node(Node {
            kind: NodeKind::Project,
            key: name.to_owned(),
            title: name.to_owned(),
            item: None,
            category: None,
        });
        let mut cycles = HashMap::new();
        for c in config.iter().flat_map(|c| &c.cycles) {
            let n = g.add_node(Node {
                kind: NodeKind::Cycle,
                key: c.key.clone(),
                title: c.name.clone(),
                item: None,
                category: None,
            });
            cycles.insert(c.key.to_ascii_lowercase(), n);
        }
        Graph {
            g,
            project,
            by_id: HashMap::with_capacity(items),
            by_key: HashMap::with_capacity(items),
            cycles,
            by_path: HashMap::with_capacity(items),
            open: Vec::with_capacity(nodes),
            open_blockers: Vec::with_capacity(nodes),
            open_children: Vec::with_capacity(nodes),
            issues: Vec::with_capacity(items),
            priority: Vec::with_capacity(nodes),
            pending: HashMap::new(),
            inferred: Vec::new(),
            config,
        }
    }

    /// The petgraph graph, for algorithms this crate does not offer.
    pub fn inner(&self) -> &StableDiGraph<Node, Edge> {
        &self.g
    }

    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref()
    }

    pub fn project(&self) -> NodeIndex {
        self.project
    }

    pub fn node(&self, n: NodeIndex) -> &Node {
        &self.g[n]
    }

    pub fn node_count(&self) -> usize {
        self.g.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.g.edge_count()
    }

    /// Finds a node by UUID, short id or component key (any case), or cycle
    /// key. O(1).
    pub fn find(&self, reference: &str) -> Option<NodeIndex> {
        let r = reference.trim();
        if let Some(id) = schema::ids::parse_uuid(r) {
            return self.by_id.get(&id).copied();
        }
        let lower = r.to_ascii_lowercase();
        self.by_key
            .get(&lower)
            .or_else(|| self.cycles.get(&lower))
            .copied()
    }

    /// The node of the item in workspace file `path`.
    pub fn by_path(&self, path: &str) -> Option<NodeIndex> {
        self.by_path.get(path).copied()
    }

    /// Every node of one kind, in no particular order.
    pub fn nodes_of(&self, kind: NodeKind) -> impl Iterator<Item = NodeIndex> + '_ {
        self.g
            .node_indices()
            .filter(move |&n| self.g[n].kind == kind)
    }

    /// Every issue node, in no particular order.
    pub fn issues(&self) -> impl Iterator<Item = NodeIndex> + '_ {
        self.issues.iter().copied()
    }

    /// Work-queue priority of an issue: 1 urgent … 4 low, 5 none.
    pub fn priority(&self, n: NodeIndex) -> u8 {
        self.priority.get(n.index()).copied().unwrap_or(5)
    }

    /// How many open issues block `n`.
    pub fn open_blocker_count(&self, n: NodeIndex) -> u32 {
        self.open_blockers.get(n.index()).copied().unwrap_or(0)
    }

    /// How many of `n`'s children are open issues.
    pub fn open_child_count(&self, n: NodeIndex) -> u32 {
        self.open_children.get(n.index()).copied().unwrap_or(0)
    }

    /// [`Node::is_open_issue`], from a dense table.
    pub fn is_open_issue(&self, n: NodeIndex) -> bool {
        self.open.get(n.index()).copied().unwrap_or(false)
    }

    /// Edges leaving `n` of `kind`, with their targets.
    pub fn out(&self, n: NodeIndex, kind: EdgeKind) -> impl Iterator<Item = NodeIndex> + '_ {
        self.g
            .edges_directed(n, Direction::Outgoing)
            .filter(move |e| e.weight().kind == kind)
            .map(|e| e.target())
    }

    /// Edges arriving at `n` of `kind`, with their sources.
    pub fn incoming(&self, n: NodeIndex, kind: EdgeKind) -> impl Iterator<Item = NodeIndex> + '_ {
        self.g
            .edges_directed(n, Direction::Incoming)
            .filter(move |e| e.weight().kind == kind)
            .map(|e| e.source())
    }

    /// The parent through `HAS_CHILD`, if any (the project for top-level
    /// components).
    pub fn parent(&self, n: NodeIndex) -> Option<NodeIndex> {
        self.incoming(n, EdgeKind::HasChild).next()
    }

    /// Adds or replaces the item of its file. Returns its node, or `None`
    /// for comments and items without an id or short id.
    pub fn upsert(&mut self, item: Item) -> Option<NodeIndex> {
        if let Some(old) = self.by_path.get(&item.path).copied() {
            // Same file, maybe a new id: drop and re-add, keeping the
            // references other files make to it.
            self.remove_node(old);
        }
        let n = self.add_node(item)?;
        let item = self.g[n].item.clone().expect("items have one");
        self.add_links(n, &item);
        Some(n)
    }

    /// Replaces the analyzer's inferred Layer-3 edges with `edges`
    /// (components named by key), as edges with `source: inferred`. Left
    /// out: an edge whose ends are not both components, and one a
    /// component file already declares (the manual edge wins). Returns how
    /// many are in the graph. Editing a component's file drops the
    /// inferred edges at its node, like all its edges: call this again
    /// after applying changes.
    pub fn set_inferred(&mut self, edges: &[crate::inferred::Inferred]) -> usize {
        for e in std::mem::take(&mut self.inferred) {
            if self
                .g
                .edge_weight(e)
                .is_some_and(|w| w.source == Source::Inferred)
            {
                self.remove_edge(e);
            }
        }
        for edge in edges {
            let component = |r: &str| {
                self.by_key
                    .get(&r.to_ascii_lowercase())
                    .copied()
                    .filter(|&n| self.g[n].kind == NodeKind::Component)
            };
            let (Some(a), Some(b)) = (component(&edge.from), component(&edge.to)) else {
                continue;
            };
            if a == b
                || self
                    .g
                    .edges_connecting(a, b)
                    .any(|e| e.weight().kind == edge.kind)
            {
                continue;
            }
            let e = self.add_edge(
                a,
                b,
                Edge {
                    kind: edge.kind,
                    layer: 3,
                    source: Source::Inferred,
                },
            );
            self.inferred.push(e);
        }
        self.inferred.len()
    }

    /// Removes the item of the file at `path`, if the graph has one.
    pub fn remove(&mut self, path: &str) -> bool {
        match self.by_path.get(path).copied() {
            Some(n) => {
                self.remove_node(n);
                true
            }
            None => false,
        }
    }

    fn add_node(&mut self, item: Item) -> Option<NodeIndex> {
        let kind = NodeKind::of(item.kind())?;
        let id = item.id.as_ref().map(|i| i.value);
        let key = item.short_str().to_owned();
        if id.is_none() && key.is_empty() {
            return None;
        }
        let category = item.issue().and_then(|i| {
            let s = i.status.as_ref()?;
            Some(self.config.as_ref()?.status(&s.value)?.category)
        });
        let n = self.g.add_node(Node {
            kind,
            key: key.clone(),
            title: item.title_str().to_owned(),
            category,
            item: Some(item),
        });
        if self.open.len() <= n.index() {
            self.open.resize(n.index() + 1, false);
            self.open_blockers.resize(n.index() + 1, 0);
            self.open_children.resize(n.index() + 1, 0);
            self.priority.resize(n.index() + 1, 5);
        }
        // A fresh node: no edges yet (indices of removed nodes are reused).
        self.open[n.index()] = self.g[n].is_open_issue();
        self.open_blockers[n.index()] = 0;
        self.open_children[n.index()] = 0;
        self.priority[n.index()] = self.g[n]
            .item
            .as_ref()
            .and_then(|i| i.issue())
            .and_then(|i| i.priority.as_ref())
            .map_or(5, |p| if p.value == 0 { 5 } else { p.value });
        if kind == NodeKind::Issue {
            self.issues.push(n);
        }
        let path = self.g[n].item.as_ref().map(|i| i.path.clone());
        if let Some(path) = path {
            self.by_path.insert(path, n);
        }
        // First come, first served on duplicates; `check` reports them.
        let mut names = Vec::new();
        // Only links waiting for a name need it spelled out; a full build
        // adds every node before any link, so nothing waits then.
        let waiting = !self.pending.is_empty();
        if let Some(id) = id {
            self.by_id.entry(id).or_insert(n);
            if waiting {
                names.push(id.to_string());
            }
        }
        if !key.is_empty() {
            let lower = key.to_ascii_lowercase();
            if waiting {
                names.push(lower.clone());
            }
            self.by_key.entry(lower).or_insert(n);
        }
        if kind == NodeKind::Component {
            // Until its own `parent` says otherwise, a component hangs off
            // the project.
            self.add_edge(self.project, n, Edge::new(EdgeKind::HasChild, 1));
        }
        // Links that were waiting for this item.
        for name in names {
            for (from, field) in self.pending.remove(&name).unwrap_or_default() {
                if self.g.contains_node(from) {
                    self.link(from, field, n);
                }
            }
        }
        Some(n)
    }

    /// Finds an item by UUID or short id: what a link field may name. Not
    /// [`Graph::find`], which also knows cycle keys: a reference resolved
    /// to a cycle would never move to an item with that key arriving later.
    fn find_item(&self, reference: &str) -> Option<NodeIndex> {
        let r = reference.trim();
        if let Some(id) = schema::ids::parse_uuid(r) {
            return self.by_id.get(&id).copied();
        }
        // Lower-cased in a reused buffer: a build resolves every reference
        // in the workspace through here.
        thread_local! {
            static LOWER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
        }
        LOWER.with_borrow_mut(|lower| {
            lower.clear();
            lower.extend(r.chars().map(|c| c.to_ascii_lowercase()));
            self.by_key.get(lower.as_str()).copied()
        })
    }

    fn add_links(&mut self, n: NodeIndex, item: &Item) {
        for (field, r) in item.references() {
            match self.find_item(&r.value) {
                Some(t) if t != n => self.link(n, field, t),
                Some(_) => {}
                None => self
                    .pending
                    .entry(normalize(&r.value))
                    .or_default()
                    .push((n, field)),
            }
        }
        if let Fields::Issue(i) = &item.fields
            && let Some(c) = &i.cycle
            && let Some(&cn) = self.cycles.get(&c.value.to_ascii_lowercase())
        {
            self.add_edge(
                n,
                cn,
                Edge::new(EdgeKind::InCycle, EdgeKind::InCycle.layer(NodeKind::Issue)),
            );
        }
    }

    /// Adds the edge that `field` in `from`'s file makes to `to`.
    fn link(&mut self, from: NodeIndex, field: LinkField, to: NodeIndex) {
        let Some(kind) = EdgeKind::of(field) else {
            return;
        };
        let edge = Edge::new(kind, kind.layer(self.g[from].kind));
        if !kind.declared_by_target() {
            self.add_edge(from, to, edge);
            return;
        }
        if kind == EdgeKind::HasChild && self.g[from].kind == NodeKind::Component {
            // A component with a parent no longer hangs off the project.
            let top = self
                .g
                .find_edge(self.project, from)
                .filter(|&e| self.g[e].kind == EdgeKind::HasChild);
            if let Some(e) = top {
                self.remove_edge(e);
            }
        }
        self.add_edge(to, from, edge);
    }

    fn add_edge(&mut self, a: NodeIndex, b: NodeIndex, edge: Edge) -> EdgeIndex {
        self.count(a, b, edge.kind, 1);
        self.g.add_edge(a, b, edge)
    }

    fn remove_edge(&mut self, e: EdgeIndex) {
        if let Some((a, b)) = self.g.edge_endpoints(e) {
            let kind = self.g[e].kind;
            self.count(a, b, kind, -1);
            self.g.remove_edge(e);
        }
    }

    /// Adjusts the counters for an edge `a → b` of `kind` coming (+1) or
    /// going (-1).
    fn count(&mut self, a: NodeIndex, b: NodeIndex, kind: EdgeKind, delta: i32) {
        let (counter, at, open) = match kind {
            EdgeKind::Blocks => (
                &mut self.open_blockers,
                b,
                self.open.get(a.index()).copied().unwrap_or(false),
            ),
            EdgeKind::HasChild => (
                &mut self.open_children,
                a,
                self.open.get(b.index()).copied().unwrap_or(false),
            ),
            _ => return,
        };
        if open && let Some(c) = counter.get_mut(at.index()) {
            *c = c.saturating_add_signed(delta);
        }
    }

    fn remove_node(&mut self, n: NodeIndex) {
        // References other files make to this node wait for it again.
        let mut incoming: Vec<(NodeIndex, LinkField)> = self
            .g
            .edges_directed(n, Direction::Incoming)
            .chain(self.g.edges_directed(n, Direction::Outgoing))
            .filter_map(|e| {
                let (other, field) = self.field_of(e.id(), n)?;
                Some((other, field))
            })
            .collect();
        // Once per file and field: the loop below re-reads every reference
        // of that field, so a file naming this node twice (by short id and
        // by UUID, say) must not be visited twice.
        incoming.sort_unstable();
        incoming.dedup();
        let edges: Vec<EdgeIndex> = self
            .g
            .edges_directed(n, Direction::Incoming)
            .chain(self.g.edges_directed(n, Direction::Outgoing))
            .map(|e| e.id())
            .collect();
        for e in edges {
            self.remove_edge(e);
        }
        let Some(node) = self.g.remove_node(n) else {
            return;
        };
        if let Some(o) = self.open.get_mut(n.index()) {
            *o = false;
        }
        if let Some(i) = self.issues.iter().position(|&x| x == n) {
            self.issues.swap_remove(i);
        }
        // A child component whose parent left hangs off the project again.
        for &(other, field) in &incoming {
            if field == LinkField::Parent
                && self.g[other].kind == NodeKind::Component
                && self.parent(other).is_none()
            {
                self.add_edge(self.project, other, Edge::new(EdgeKind::HasChild, 1));
            }
        }
        let mut names = Vec::new();
        if let Some(id) = node.id() {
            if self.by_id.get(&id) == Some(&n) {
                self.by_id.remove(&id);
            }
            names.push(id.to_string());
        }
        if !node.key.is_empty() {
            let lower = node.key.to_ascii_lowercase();
            if self.by_key.get(&lower) == Some(&n) {
                self.by_key.remove(&lower);
            }
            names.push(lower);
        }
        if let Some(item) = &node.item {
            self.by_path.remove(&item.path);
        }
        for (other, field) in incoming {
            // Which name did `other` use? Re-resolve from its own file.
            let Some(item) = self.g[other].item.clone() else {
                continue;
            };
            for (f, r) in item.references() {
                let name = normalize(&r.value);
                if f == field && names.contains(&name) {
                    self.pending.entry(name).or_default().push((other, f));
                }
            }
        }
        // Pending links this node's own file made are gone with it.
        for waiting in self.pending.values_mut() {
            waiting.retain(|(from, _)| *from != n);
        }
        self.pending.retain(|_, w| !w.is_empty());
    }

    /// For an edge at `n`, the other end whose *file* makes the edge, and
    /// the field, when that is not `n` itself.
    fn field_of(&self, e: EdgeIndex, n: NodeIndex) -> Option<(NodeIndex, LinkField)> {
        let (a, b) = self.g.edge_endpoints(e)?;
        let kind = self.g[e].kind;
        let field = kind.field()?;
        let holder = if kind.declared_by_target() { b } else { a };
        if holder == n || self.g[holder].kind == NodeKind::Project {
            None
        } else {
            Some((holder, field))
        }
    }
}

impl Edge {
    fn new(kind: EdgeKind, layer: u8) -> Edge {
        Edge {
            kind,
            layer,
            source: Source::Manual,
        }
    }
}

/// A reference as an index key: a UUID in canonical form, anything else
/// lower-cased.
pub(crate) fn normalize(reference: &str) -> String {
    let r = reference.trim();
    match schema::ids::parse_uuid(r) {
        Some(id) => id.to_string(),
        None => r.to_ascii_lowercase(),
    }
}

/// Filters (`status:`, `under:`, `is:ready` …) match against the graph
/// directly, without the workspace it was built from.
impl schema::filter::Context for GraphScope<'_> {
    fn config(&self) -> Option<&Config> {
        self.graph.config()
    }

    fn is_under(&self, item: &Item, ancestor: &str) -> bool {
        match (self.node_of(item), self.graph.find(ancestor)) {
            (Some(n), Some(root)) => crate::query::is_under(self.graph, n, root),
            _ => false,
        }
    }

    fn me(&self) -> Option<&str> {
        self.me
    }

    fn is_blocked(&self, item: &Item) -> bool {
        self.node_of(item)
            .is_some_and(|n| self.graph.open_blocker_count(n) > 0)
    }

    fn has_open_sub_issue(&self, item: &Item) -> bool {
        self.node_of(item)
            .is_some_and(|n| self.graph.open_child_count(n) > 0)
    }
}

/// A graph seen by one actor, for [`schema::filter::Filter::matches`].
#[derive(Debug, Clone, Copy)]
pub struct GraphScope<'a> {
    pub graph: &'a Graph,
    /// The acting member's handle, for `@me`.
    pub me: Option<&'a str>,
}

impl GraphScope<'_> {
    fn node_of(&self, item: &Item) -> Option<NodeIndex> {
        self.graph.by_path(&item.path)
    }
}
