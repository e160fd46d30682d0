//! `nonlinear`: the command line over a Non-Linear workspace.
//!
//! This crate is argument parsing, output and glue; the format, validation
//! and editing live in `nonlinear-schema`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// `println!` that ends the process quietly when stdout is closed (`| head`).
macro_rules! outln {
    ($($t:tt)*) => { $crate::emit(&format!($($t)*), true) };
}
/// `print!` with the same care.
macro_rules! out {
    ($($t:tt)*) => { $crate::emit(&format!($($t)*), false) };
}

/// glibc's allocator spends a fifth of `check` in malloc/free across
/// threads; mimalloc's thread-local heaps cut that and keep RSS lower.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod analyze;
mod check;
mod daemon;
mod edit;
mod graph;
mod history;
mod mirror;
mod output;
mod read;
mod search;
mod serve;
mod watch;

#[derive(Debug, Parser)]
#[command(
    name = "nonlinear",
    version,
    about = "A git-native project tracker: components, issues and artifacts as Markdown files next to the code."
)]
struct Cli {
    /// Run as if started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Print JSON (every read command and every edit).
    #[arg(long, global = true)]
    json: bool,
    /// Act as this member; default $NONLINEAR_ACTOR, else the member whose
    /// email is git's user.email.
    #[arg(long = "as", global = true, value_name = "HANDLE")]
    actor: Option<String>,
    /// Read the workspace as it was at this git revision, without checking
    /// it out (read commands and `check`; `log` starts there).
    #[arg(long, global = true, value_name = "REV")]
    rev: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Keep the graph in memory for the graph verbs: a daemon per
    /// workspace that watches its files and answers `ready`, `tree`,
    /// `blocked`, `path`, `near`, `impact`, `cycles` and `graph` without
    /// reading them (never stale: each answer includes every change made
    /// before it was asked).
    Daemon {
        #[command(subcommand)]
        action: DaemonAction,
        /// Exit after this many minutes without a request.
        #[arg(long, default_value_t = 60, global = true, value_name = "MINUTES")]
        idle: u64,
    },
    /// Create .nonlinear/ with a default workflow in the current directory.
    Init {
        /// Prefix of short ids.
        #[arg(long, default_value = "NL")]
        key: String,
        /// Project name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Validate every file and the rules between them.
    Check {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Report only problems introduced since this git revision.
        #[arg(long, value_name = "REV")]
        since: Option<String>,
    },
    /// Create a component, issue or artifact.
    New {
        #[command(subcommand)]
        what: edit::New,
    },
    /// Show one item with its description and comments.
    Show { id: String },
    /// List items matching a filter (issues unless `type:` says otherwise).
    List {
        /// Filter terms, e.g. `status:started label:bug -label:wontfix assignee:@me "free text"`.
        query: Vec<String>,
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Issues that can be worked on now: open, no open blocker, no open
    /// sub-issue; most urgent first.
    Ready {
        /// Only issues below this component or issue.
        #[arg(long, value_name = "ID")]
        under: Option<String>,
        /// More filter terms, e.g. `assignee:@me`.
        query: Vec<String>,
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Search issues, components, artifacts and comments: typo-tolerant
    /// words plus the filters of `list`, best match first.
    Search {
        /// Words and filter terms, e.g. `login redirct status:open`.
        query: Vec<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
    /// The decomposition tree below ROOT (the whole project by default),
    /// with progress per component and parent issue.
    Tree {
        root: Option<String>,
        /// Layers to show: 1 components, 2 issues, 3 code links, 4 artifacts.
        #[arg(long, value_name = "1,2,3,4")]
        layers: Option<String>,
        #[arg(long, value_name = "N")]
        depth: Option<usize>,
    },
    /// Blocked issues (or one) with their chains of open blockers.
    Blocked { id: Option<String> },
    /// The critical path through `blocks`, weighted by estimate.
    Path {
        /// The only mode there is; required so that `path` can grow others.
        #[arg(long, required = true)]
        critical: bool,
        #[arg(long, value_name = "ID")]
        under: Option<String>,
    },
    /// Everything within N hops of an item.
    Near {
        id: String,
        #[arg(long, default_value_t = 1)]
        hops: usize,
        #[arg(long, value_name = "1,2,3,4")]
        layers: Option<String>,
    },
    /// Components that depend on COMPONENT through code links, and their
    /// open issues.
    Impact { component: String },
    /// Every cycle in `blocks` and in `parent` (exit 1 when there is one).
    Cycles,
    /// A subgraph as Graphviz DOT, Mermaid or JSON.
    Graph {
        root: Option<String>,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        #[arg(long, value_name = "1,2,3,4")]
        layers: Option<String>,
    },
    /// What changed between two git revisions: items created and deleted,
    /// fields before → after, reparents, links added and removed, check
    /// problems introduced and fixed.
    Diff {
        /// `A..B`, `A..` (to HEAD), `A...B` (from their merge base), or `A`
        /// (to the work tree); nothing: HEAD to the work tree.
        range: Option<String>,
        /// `markdown` is ready to post as a merge request comment; `--json`
        /// means `--format json`.
        #[arg(long, value_enum, default_value_t = history::DiffFormat::Text)]
        format: history::DiffFormat,
    },
    /// The field-level history of one item from git: commit, author, date,
    /// field, before → after; follows short-id renames and moves.
    Log { id: String },
    /// Change fields: `set NL-k3x9 status done assignee ana labels +bug,-p2`.
    Set {
        id: String,
        /// FIELD VALUE pairs. Fields: title, status, assignee, labels, priority,
        /// estimate, parent, cycle, due, owner. `none` clears a field.
        #[arg(
            required = true,
            num_args = 2..,
            value_names = ["FIELD", "VALUE"],
            allow_hyphen_values = true
        )]
        pairs: Vec<String>,
    },
    /// Add a link: `link NL-a blocks NL-b`.
    Link {
        from: String,
        kind: String,
        to: String,
    },
    /// Remove a link: `unlink NL-a blocks NL-b`.
    Unlink {
        from: String,
        kind: String,
        to: String,
    },
    /// Comment on a component or issue.
    Comment {
        id: String,
        /// The comment text (Markdown); read from stdin when absent.
        body: Option<String>,
        /// Answer this comment (its id).
        #[arg(long)]
        reply_to: Option<String>,
    },
    /// React to a comment with an emoji name, e.g. `react <comment id> +1`.
    React {
        comment: String,
        emoji: String,
        /// Take the reaction back.
        #[arg(long)]
        remove: bool,
    },
    /// Rename an item's short id (or component key), rewriting every reference.
    Mv { from: String, to: String },
    /// Delete a component, issue or artifact: references to it are removed
    /// from other items and its comments deleted. Refused while it has
    /// sub-issues or child components.
    #[command(visible_alias = "delete")]
    Rm { id: String },
    /// Print what changes as files change (created, deleted, fields before →
    /// after, links added or removed), one line each, until interrupted.
    Watch,
    /// Serve the workspace: HTTP API, live updates, metrics. Writes are
    /// committed to git as the acting member.
    Serve {
        /// The workspace (default: the current directory's).
        workspace: Option<PathBuf>,
        /// Address to listen on (default 127.0.0.1:7373: this machine only).
        #[arg(long, value_name = "ADDR")]
        bind: Option<std::net::SocketAddr>,
        /// Write files without committing them.
        #[arg(long)]
        no_commit: bool,
        /// A TOML file of server settings (see docs/server.md);
        /// NONLINEAR_* environment variables override it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Serve a scratch copy: the workspace is copied into a new
        /// temporary git repository first, so writes commit there and the
        /// original is untouched (the demo, a trial run). Removed on exit.
        #[arg(long)]
        scratch: bool,
    },
    /// Infer code links (DEPENDS_ON, IMPORTS) between components from the
    /// sources and write them to .nonlinear/inferred/edges.yaml.
    Analyze {
        /// Write nothing; exit 1 when the file is out of date (for CI).
        #[arg(long)]
        check: bool,
    },
    /// Keep Postgres and Neo4j mirrors of the workspace: sync them, verify
    /// them against the files (exit 1 on a difference), or show their state.
    Mirror {
        #[command(subcommand)]
        action: MirrorAction,
        /// The Postgres mirror (default: $NONLINEAR_POSTGRES_URL).
        #[arg(long, value_name = "URL", global = true)]
        postgres: Option<String>,
        /// The Neo4j mirror, bolt://[user:password@]host:port (default:
        /// $NONLINEAR_NEO4J_URL).
        #[arg(long, value_name = "URL", global = true)]
        neo4j: Option<String>,
    },
    /// Write a synthetic workspace for benchmarks and scale tests.
    Generate {
        /// Directory to create (must not hold a workspace yet).
        #[arg(value_name = "DIR")]
        target: PathBuf,
        #[arg(long, default_value_t = 1000)]
        issues: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    Github,
}

/// How a command ended, as an exit code: 0 fine, 1 problems found or a
/// change refused, 2 usage or I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Problems,
}

/// What `nonlinear mirror` does.
#[derive(Debug, Subcommand)]
pub enum DaemonAction {
    /// Start one in the background (returns once it answers).
    Start,
    /// Stop this workspace's daemon.
    Stop,
    /// Whether one runs, and what it holds (exit status 1: none).
    Status,
    /// Run in the foreground (what `start` runs).
    Run,
}

#[derive(Debug, Subcommand)]
pub enum MirrorAction {
    /// Make the mirror hold exactly what the files say (migrating its
    /// schema first); syncing twice changes nothing.
    Sync,
    /// Compare every row with the files: orphans, missing rows, mismatched
    /// fields. Exit 1 when they differ.
    Verify {
        /// Fix what differs, then verify again.
        #[arg(long)]
        repair: bool,
    },
    /// Row counts, schema version and the last sync.
    Status,
}

/// Options of `list` and `ready` (and the global ones) that take a value.
const VALUE_OPTIONS: &[&str] = &["--limit", "--offset", "--as", "-C", "--under", "--rev"];

/// Moves the filter terms of `list`/`ready` and the arguments of `set`
/// behind a `--`, so that negated terms (`-label:wontfix`, `labels -bug`)
/// are not taken for options and options after them (`list status:todo
/// --json`, `set NL-k3x9 status done --json`) still count as options.
fn filter_terms_last(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let i = command_at(&args);
    if !matches!(
        args.get(i).and_then(|a| a.to_str()),
        Some("list" | "ready" | "set" | "search")
    ) {
        return args;
    }
    let (head, rest) = args.split_at(i + 1);
    let mut options = Vec::new();
    let mut terms = Vec::new();
    let mut rest = rest.iter();
    while let Some(a) = rest.next() {
        match a.to_str() {
            Some("--") => {
                terms.extend(rest.by_ref().cloned());
            }
            Some(o) if VALUE_OPTIONS.contains(&o) => {
                options.push(a.clone());
                options.extend(rest.next().cloned());
            }
            // Any other single-dash word is a negated term (`-crash`).
            Some(o) if o.starts_with("--") || o.starts_with("-C") || matches!(o, "-h" | "-V") => {
                options.push(a.clone())
            }
            _ => terms.push(a.clone()),
        }
    }
    let mut out = head.to_vec();
    out.extend(options);
    out.push("--".into());
    out.extend(terms);
    out
}

/// The index of the subcommand in `args`: past the global options before it.
fn command_at(args: &[std::ffi::OsString]) -> usize {
    let mut i = 1;
    while let Some(a) = args.get(i).and_then(|a| a.to_str()) {
        if VALUE_OPTIONS.contains(&a) {
            i += 2;
        } else if a.starts_with('-') {
            i += 1;
        } else {
            break;
        }
    }
    i
}

thread_local! {
    /// Where `emit` writes while a daemon runs a verb for a client.
    static CAPTURE: std::cell::RefCell<Option<Vec<u8>>> = const { std::cell::RefCell::new(None) };
}

fn emit(s: &str, newline: bool) {
    use std::io::Write;
    let captured = CAPTURE.with_borrow_mut(|c| {
        let Some(buf) = c else { return false };
        buf.extend_from_slice(s.as_bytes());
        if newline {
            buf.push(b'\n');
        }
        true
    });
    if captured {
        return;
    }
    let mut o = std::io::stdout().lock();
    let r = o
        .write_all(s.as_bytes())
        .and_then(|()| if newline { o.write_all(b"\n") } else { Ok(()) })
        .and_then(|()| o.flush());
    if r.is_err() {
        std::process::exit(0);
    }
}

/// Runs `f` with what it prints collected instead of printed.
fn capture<T>(f: impl FnOnce() -> T) -> (T, Vec<u8>) {
    CAPTURE.with_borrow_mut(|c| *c = Some(Vec::new()));
    let out = f();
    let printed = CAPTURE.with_borrow_mut(Option::take).unwrap_or_default();
    (out, printed)
}

/// The exit status of a command's result, and what it says on stderr.
fn exit_status(result: anyhow::Result<Outcome>) -> (u8, String) {
    match result {
        Ok(Outcome::Ok) => (0, String::new()),
        Ok(Outcome::Problems) => (1, String::new()),
        Err(e) => {
            let refused = e.downcast_ref::<edit::Refused>().is_some();
            (if refused { 1 } else { 2 }, format!("error: {e:#}\n"))
        }
    }
}

fn main() -> ExitCode {
    let args = filter_terms_last(std::env::args_os().collect());
    let cli = Cli::parse_from(&args);
    let Ok(base) = std::env::current_dir() else {
        eprintln!("error: the current directory is gone");
        return ExitCode::from(2);
    };
    if daemon::answers(&cli)
        && let Some(code) = daemon::ask(
            &base,
            &cli.dir.as_ref().map_or(base.clone(), |d| base.join(d)),
            &args,
        )
    {
        return code;
    }
    let (code, stderr) = exit_status(run(cli, &base, graph::Source::Files));
    eprint!("{stderr}");
    ExitCode::from(code)
}

/// The graph verbs: they read only the graph (which a daemon may hold).
fn is_graph_verb(cmd: &Cmd) -> bool {
    matches!(
        cmd,
        Cmd::Ready { .. }
            | Cmd::Tree { .. }
            | Cmd::Blocked { .. }
            | Cmd::Path { .. }
            | Cmd::Near { .. }
            | Cmd::Impact { .. }
            | Cmd::Cycles
            | Cmd::Graph { .. }
    )
}

fn reads_a_revision(cmd: &Cmd) -> bool {
    is_graph_verb(cmd)
        || matches!(
            cmd,
            Cmd::Show { .. } | Cmd::List { .. } | Cmd::Check { .. } | Cmd::Log { .. }
        )
}

/// Runs a command as if started in `base`; graph verbs take their graph
/// from `src`.
fn run(cli: Cli, base: &std::path::Path, src: graph::Source<'_>) -> anyhow::Result<Outcome> {
    let cwd = match &cli.dir {
        // Like `git -C`: the directory must exist.
        Some(d) if !base.join(d).is_dir() => {
            anyhow::bail!("cannot change to {}: not a directory", d.display())
        }
        Some(d) => base.join(d),
        None => base.to_owned(),
    };
    let json = cli.json;
    let actor = cli.actor.clone();
    let rev = cli.rev.clone();
    let editor = || edit::Editor::open(&cwd, actor.clone(), json);
    if let Some(r) = &rev
        && !reads_a_revision(&cli.cmd)
    {
        anyhow::bail!(
            "--rev {r}: only read commands (show, list, ready, tree, blocked, path, near, impact, cycles, graph, check, log) read a revision; `diff` takes a range"
        );
    }
    match cli.cmd {
        Cmd::Init { key, name } => edit::init(&cwd, &key, name.as_deref(), json),
        Cmd::Mirror {
            action,
            postgres,
            neo4j,
        } => mirror::run(&cwd, action, postgres, neo4j, json),
        Cmd::Analyze { check } => analyze::run(&cwd, check, json),
        Cmd::Daemon { action, idle } => {
            let idle = std::time::Duration::from_secs(idle.saturating_mul(60));
            match action {
                DaemonAction::Run => daemon::run(&cwd, idle),
                DaemonAction::Start => daemon::start(&cwd, idle, json),
                DaemonAction::Stop => daemon::stop(&cwd, json),
                DaemonAction::Status => daemon::status(&cwd, json),
            }
        }
        Cmd::Generate {
            target,
            issues,
            seed,
        } => edit::generate(&cwd.join(target), issues, seed, json),
        Cmd::Check { format, since } => check::run(
            &cwd,
            if json { Format::Json } else { format },
            since.as_deref(),
            rev.as_deref(),
        ),
        Cmd::Diff { range, format } => history::diff(
            &cwd,
            range.as_deref(),
            if json {
                history::DiffFormat::Json
            } else {
                format
            },
        ),
        Cmd::Log { id } => history::log(&cwd, rev.as_deref(), &id, json),
        Cmd::New { what } => edit::new(editor()?, what),
        Cmd::Set { id, pairs } => edit::set(editor()?, &id, &pairs),
        Cmd::Link { from, kind, to } => edit::link(editor()?, &from, &kind, &to, true),
        Cmd::Unlink { from, kind, to } => edit::link(editor()?, &from, &kind, &to, false),
        Cmd::Comment { id, body, reply_to } => {
            edit::comment(editor()?, &id, body, reply_to.as_deref())
        }
        Cmd::React {
            comment,
            emoji,
            remove,
        } => edit::react(editor()?, &comment, &emoji, !remove),
        Cmd::Mv { from, to } => edit::mv(editor()?, &from, &to),
        Cmd::Rm { id } => edit::rm(editor()?, &id),
        Cmd::Serve {
            workspace,
            bind,
            no_commit,
            config,
            scratch,
        } => {
            let mut c = nonlinear_server::Config::load(config.as_deref())?;
            if let Some(w) = workspace {
                c.workspace = cwd.join(w);
            } else if std::env::var_os("NONLINEAR_WORKSPACE").is_none() {
                c.workspace = cwd.clone();
            }
            let _scratch = if scratch {
                let (dir, ws) = serve::scratch_copy(&c.workspace)?;
                eprintln!(
                    "nonlinear: serving a scratch copy of {} in {}",
                    c.workspace.display(),
                    ws.display()
                );
                c.workspace = ws;
                Some(dir)
            } else {
                None
            };
            if let Some(b) = bind {
                c.bind = b;
            }
            if no_commit {
                c.commit = false;
            }
            nonlinear_server::run(c)?;
            Ok(Outcome::Ok)
        }
        cmd => {
            let ctx = match &rev {
                Some(r) => edit::Ctx::open_at(&cwd, r, actor, json)?,
                None => edit::Ctx::open(&cwd, actor, json)?,
            };
            match cmd {
                Cmd::Show { id } => read::show(&ctx, &id),
                Cmd::List { query, limit } => read::list(&ctx, &query.join(" "), limit),
                Cmd::Ready {
                    under,
                    query,
                    limit,
                } => graph::ready(&ctx, src, under.as_deref(), &query.join(" "), limit),
                Cmd::Search {
                    query,
                    limit,
                    offset,
                } => search::search(&ctx, &query.join(" "), limit, offset),
                Cmd::Tree {
                    root,
                    layers,
                    depth,
                } => graph::tree(
                    &ctx,
                    src,
                    root.as_deref(),
                    &graph::layers(layers.as_deref())?,
                    depth,
                ),
                Cmd::Blocked { id } => graph::blocked(&ctx, src, id.as_deref()),
                Cmd::Path { critical: _, under } => {
                    graph::critical_path(&ctx, src, under.as_deref())
                }
                Cmd::Near { id, hops, layers } => {
                    graph::near(&ctx, src, &id, hops, &graph::layers(layers.as_deref())?)
                }
                Cmd::Impact { component } => graph::impact(&ctx, src, &component),
                Cmd::Cycles => graph::cycles(&ctx, src),
                Cmd::Graph {
                    root,
                    format,
                    layers,
                } => graph::export(
                    &ctx,
                    src,
                    root.as_deref(),
                    &graph::layers(layers.as_deref())?,
                    match format {
                        GraphFormat::Dot => indexer::export::Format::Dot,
                        GraphFormat::Mermaid => indexer::export::Format::Mermaid,
                        GraphFormat::Json => indexer::export::Format::Json,
                    },
                ),
                Cmd::Watch => watch::run(&ctx),
                Cmd::Init { .. }
                | Cmd::Daemon { .. }
                | Cmd::Mirror { .. }
                | Cmd::Analyze { .. }
                | Cmd::Generate { .. }
                | Cmd::Check { .. }
                | Cmd::Diff { .. }
                | Cmd::Log { .. }
                | Cmd::New { .. }
                | Cmd::Set { .. }
                | Cmd::Link { .. }
                | Cmd::Unlink { .. }
                | Cmd::Comment { .. }
                | Cmd::React { .. }
                | Cmd::Mv { .. }
                | Cmd::Serve { .. }
                | Cmd::Rm { .. } => {
                    unreachable!("handled above")
                }
            }
        }
    }
}
