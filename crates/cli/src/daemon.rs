//! `nonlinear daemon`: a process that keeps a workspace's graph in memory
//! and answers the graph verbs (`ready`, `tree`, `blocked`, `path`, `near`,
//! `impact`, `cycles`, `graph`) for every `nonlinear` started in that
//! workspace — git's fsmonitor daemon, for our reads.
//!
//! Without it, a graph verb must at least look at every item file to be
//! sure nothing changed (the index cache's never-stale rule): at 100k
//! issues that is 100k `stat`s, ~90 ms on a small virtual machine, before
//! any work. The daemon instead watches the files ([`indexer::watch`]) and,
//! for each request, syncs to now with a cookie file
//! ([`Watcher::sync`]): every change made before the request is in the
//! answer, however it was made, and nothing else is read.
//!
//! The client side is [`ask`]: `main` calls it before running a graph verb
//! without `--rev`. It connects to the workspace's socket, sends the
//! arguments, and prints what comes back; when no daemon answers (none
//! running, a stale socket, a daemon of another build or environment) the
//! verb runs in-process as always, so the daemon only ever makes a command
//! faster, never different. `NONLINEAR_DAEMON=0` keeps commands off it.
//!
//! The socket lives in `$XDG_RUNTIME_DIR/nonlinear/` (else
//! `<temp>/nonlinear-<uid>/`, created mode 0700 and refused unless it is
//! ours and private), named by a hash of the workspace root, so work trees
//! never share a daemon. The daemon exits after an idle time (`--idle`,
//! 60 minutes), when its workspace goes away, when its binary is replaced,
//! and on `nonlinear daemon stop`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indexer::watch::{Options, Watcher};
use schema::store::Store;
use serde::{Deserialize, Serialize};

use crate::graph::Source;
use crate::{Cli, Outcome};

/// How long a sync may wait for its cookie before rescanning instead.
const SYNC_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `start` waits for a new daemon to load the workspace.
const START_TIMEOUT: Duration = Duration::from_secs(300);

/// What a client asks.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    /// Run one graph verb: the arguments after `filter_terms_last`, from
    /// `cwd`.
    Run {
        /// The client's [`build`] and [`environment`].
        build: String,
        env: String,
        root: PathBuf,
        cwd: PathBuf,
        args: Vec<String>,
    },
    Status,
    Stop,
}

/// The first line of every answer; a `Run`'s standard output follows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Reply {
    /// Whether the request was served; when not, `why`, and the client
    /// runs the verb itself.
    ok: bool,
    #[serde(default)]
    why: Option<String>,
    #[serde(default)]
    code: u8,
    #[serde(default)]
    stderr: String,
    #[serde(default)]
    status: Option<Status>,
    /// How many bytes of standard output follow: a daemon that dies
    /// mid-answer closes the socket early, and that must not pass for a
    /// short answer.
    #[serde(default)]
    len: usize,
}

/// What `nonlinear daemon status` reports.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub pid: u32,
    pub root: PathBuf,
    pub socket: PathBuf,
    /// Graph nodes held (items, cycles, the project).
    pub nodes: usize,
    pub requests: u64,
    pub uptime_s: u64,
}

/// Whether commands may use a daemon (`NONLINEAR_DAEMON` is not `0`/`off`).
pub fn enabled() -> bool {
    std::env::var_os("NONLINEAR_DAEMON").is_none_or(|v| v != "0" && v != "off")
}

/// The verbs a daemon answers: those that read only the graph.
pub fn answers(cli: &Cli) -> bool {
    cli.rev.is_none() && crate::is_graph_verb(&cli.cmd)
}

/// This build of `nonlinear`: the executable's path, size and
/// modification time. A daemon asked by another build exits (it is out of
/// date, or the client is); the client runs the verb itself.
fn build() -> String {
    let exe = std::env::current_exe().ok();
    let meta = exe.as_ref().and_then(|e| std::fs::metadata(e).ok());
    format!(
        "{} {:?} {:?} {:?}",
        env!("CARGO_PKG_VERSION"),
        exe,
        meta.as_ref().map(MetadataExt::size),
        meta.as_ref().map(|m| (m.mtime(), m.mtime_nsec())),
    )
}

/// What the verbs read from the environment: the acting member, git's
/// configuration, the cache switch. A client in another environment runs
/// the verb itself.
fn environment() -> String {
    [
        "NONLINEAR_ACTOR",
        "HOME",
        "XDG_CONFIG_HOME",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "GIT_CONFIG_NOSYSTEM",
        "NONLINEAR_CACHE",
    ]
    .iter()
    .map(|k| format!("{k}={:?}", std::env::var_os(k)))
    .collect::<Vec<_>>()
    .join(" ")
}

/// The private directory sockets live in, created when missing and
/// `create` (a client only looks); `None` when it is not there or is not
/// ours alone.
fn socket_dir(create: bool) -> Option<PathBuf> {
    let uid = rustix::process::getuid().as_raw();
    let dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(run) => PathBuf::from(run).join("nonlinear"),
        None => std::env::temp_dir().join(format!("nonlinear-{uid}")),
    };
    if create && std::fs::create_dir(&dir).is_ok() {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).ok()?;
    }
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    (meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0).then_some(dir)
}

/// The socket of the workspace at `root` (canonical).
fn socket_path(root: &Path, create: bool) -> Option<PathBuf> {
    let hash = xxhash_rust::xxh3::xxh3_64(root.as_os_str().as_encoded_bytes());
    Some(socket_dir(create)?.join(format!("{hash:016x}.sock")))
}

/// Connects to the daemon of the workspace containing `cwd`, if one
/// listens.
fn connect(cwd: &Path) -> Option<(UnixStream, PathBuf)> {
    let root = Store::discover(cwd).ok()?.root().to_owned();
    let stream = UnixStream::connect(socket_path(&root, false)?).ok()?;
    Some((stream, root))
}

/// Sends one request and reads the first line of the answer.
fn exchange<'s>(
    stream: &'s mut UnixStream,
    req: &Request,
) -> Option<(Reply, BufReader<&'s UnixStream>)> {
    let mut line = serde_json::to_vec(req).ok()?;
    line.push(b'\n');
    stream.write_all(&line).ok()?;
    stream.shutdown(std::net::Shutdown::Write).ok()?;
    let mut reader = BufReader::new(&*stream);
    let mut head = String::new();
    reader.read_line(&mut head).ok()?;
    let reply: Reply = serde_json::from_str(&head).ok()?;
    Some((reply, reader))
}

/// Has the workspace's daemon run the verb `args` describe, started in
/// `base` (`cwd`: there, after `-C`), printing its output; `None` (nothing
/// printed) when no daemon answered.
pub fn ask(base: &Path, cwd: &Path, args: &[std::ffi::OsString]) -> Option<ExitCode> {
    if !enabled() {
        return None;
    }
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_str().map(str::to_owned))
        .collect::<Option<_>>()?;
    let (mut stream, root) = connect(cwd)?;
    let req = Request::Run {
        build: build(),
        env: environment(),
        root,
        cwd: base.to_owned(),
        args,
    };
    let (reply, mut reader) = exchange(&mut stream, &req)?;
    if !reply.ok {
        return None;
    }
    let mut out = std::io::stdout().lock();
    let mut buf = vec![0; 1 << 16];
    let mut got = 0;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got += n;
                // `| head`: stdout closed; end quietly, as `emit` does.
                if out.write_all(&buf[..n]).is_err() {
                    std::process::exit(0);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if out.flush().is_err() {
        std::process::exit(0);
    }
    // The daemon died mid-answer: part of the output is printed, so
    // running the verb again would print it twice.
    if got != reply.len {
        eprintln!(
            "error: the daemon stopped answering ({got} of {} bytes)",
            reply.len
        );
        return Some(ExitCode::from(2));
    }
    eprint!("{}", reply.stderr);
    Some(ExitCode::from(reply.code))
}

/// `nonlinear daemon run`: serves the workspace containing `cwd` until
/// stopped, idle for `idle`, or the workspace is gone.
pub fn run(cwd: &Path, idle: Duration) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    // A short debounce: a sync waits about one interval for its cookie.
    let options = Options {
        debounce: Duration::from_millis(8),
        // Answers as a fresh load would: a file that does not parse is
        // not an item.
        keep_last_good: false,
        ..Options::default()
    };
    let mut watcher = Watcher::start_with(cwd, options)?;
    // The notifications of the load itself (every file opened): processed
    // now, not by the first request.
    watcher.sync(SYNC_TIMEOUT);
    let root = watcher.root().to_owned();
    let socket = socket_path(&root, true).ok_or_else(|| {
        anyhow::anyhow!("no private directory for the daemon's socket (XDG_RUNTIME_DIR or the temporary directory)")
    })?;
    if UnixStream::connect(&socket).is_ok() {
        anyhow::bail!(
            "a daemon already serves {} ({})",
            root.display(),
            socket.display()
        );
    }
    // Nobody answers: a socket left by a daemon that died.
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)?;
    let bound = std::fs::metadata(&socket)?.ino();
    let (my_build, my_env) = (build(), environment());
    let last = Arc::new(AtomicU64::new(0));
    {
        // Ends the process when idle or when the workspace is gone.
        let (last, root, socket) = (last.clone(), root.clone(), socket.clone());
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let quiet = started.elapsed().as_millis() as u64 - last.load(Ordering::Relaxed);
                let gone = !root.join(schema::parse::CONFIG_PATH).exists();
                if gone || quiet >= idle.as_millis() as u64 {
                    leave(&socket, bound);
                }
            }
        });
    }
    eprintln!(
        "nonlinear: daemon for {} on {}",
        root.display(),
        socket.display()
    );
    let mut requests = 0u64;
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        // One request at a time: a client that connects and says nothing
        // must not hold up the others for long.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        last.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        let mut line = String::new();
        if BufReader::new(&stream).read_line(&mut line).is_err() {
            continue;
        }
        let (reply, stdout) = match serde_json::from_str::<Request>(&line) {
            Err(e) => (refusal(format!("not a request: {e}")), Vec::new()),
            Ok(Request::Stop) => {
                let _ = send(&mut stream, &served(0, String::new()), &[]);
                leave(&socket, bound);
            }
            Ok(Request::Status) => {
                let mut r = served(0, String::new());
                r.status = Some(Status {
                    pid: std::process::id(),
                    root: root.clone(),
                    socket: socket.clone(),
                    nodes: watcher.graph().node_count(),
                    requests,
                    uptime_s: started.elapsed().as_secs(),
                });
                (r, Vec::new())
            }
            Ok(Request::Run {
                build,
                env,
                root: theirs,
                cwd,
                args,
            }) => {
                if build != my_build {
                    let _ = send(&mut stream, &refusal("another build"), &[]);
                    leave(&socket, bound);
                }
                if env != my_env {
                    (refusal("another environment"), Vec::new())
                } else if theirs != root {
                    (refusal("another workspace"), Vec::new())
                } else {
                    requests += 1;
                    watcher.sync(SYNC_TIMEOUT);
                    serve(&cwd, args, Source::Shared(watcher.graph()))
                }
            }
        };
        // A client gone mid-answer is no concern of the next one.
        let _ = send(&mut stream, &reply, &stdout);
    }
    Ok(Outcome::Ok)
}

/// Removes the socket (when it is still the one this daemon bound) and
/// exits.
fn leave(socket: &Path, bound: u64) -> ! {
    if std::fs::metadata(socket).is_ok_and(|m| m.ino() == bound) {
        let _ = std::fs::remove_file(socket);
    }
    std::process::exit(0)
}

fn refusal(why: impl Into<String>) -> Reply {
    Reply {
        ok: false,
        why: Some(why.into()),
        code: 0,
        stderr: String::new(),
        status: None,
        len: 0,
    }
}

fn served(code: u8, stderr: String) -> Reply {
    Reply {
        ok: true,
        why: None,
        code,
        stderr,
        status: None,
        len: 0,
    }
}

fn send(stream: &mut UnixStream, reply: &Reply, stdout: &[u8]) -> std::io::Result<()> {
    let reply = Reply {
        len: stdout.len(),
        ..reply.clone()
    };
    let mut head = serde_json::to_vec(&reply)?;
    head.push(b'\n');
    stream.write_all(&head)?;
    stream.write_all(stdout)
}

/// Runs one graph verb over the daemon's graph, its output captured.
fn serve(cwd: &Path, args: Vec<String>, src: Source<'_>) -> (Reply, Vec<u8>) {
    use clap::Parser;
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) if answers(&cli) => cli,
        // The client parsed these arguments: it will say what is wrong.
        _ => return (refusal("not a graph verb"), Vec::new()),
    };
    let (result, stdout) = crate::capture(|| crate::run(cli, cwd, src));
    let (code, stderr) = crate::exit_status(result);
    (served(code, stderr), stdout)
}

/// `nonlinear daemon start`: starts a daemon for the workspace containing
/// `cwd` in the background, and returns once it answers.
pub fn start(cwd: &Path, idle: Duration, json: bool) -> anyhow::Result<Outcome> {
    if let Some(s) = status_of(cwd) {
        return report(&s, json, "already running");
    }
    let root = Store::discover(cwd)?.root().to_owned();
    let cache = root.join(indexer::cache::DIR);
    let log = cache.join("daemon.log");
    let _ = std::fs::create_dir_all(&cache);
    let stderr = std::fs::File::create(&log)
        .map(std::process::Stdio::from)
        .unwrap_or_else(|_| std::process::Stdio::null());
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .arg("-C")
        .arg(&root)
        .args(["daemon", "run", "--idle"])
        .arg(idle.as_secs().div_ceil(60).max(1).to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        // Not in the terminal's process group: Ctrl-C there is not for it.
        .process_group(0)
        .spawn()?;
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if let Some(s) = status_of(cwd) {
            return report(&s, json, "started");
        }
        if let Ok(Some(exit)) = child.try_wait() {
            let why = std::fs::read_to_string(&log).unwrap_or_default();
            anyhow::bail!("the daemon exited ({exit}): {}", why.trim());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    anyhow::bail!(
        "the daemon did not answer within {} s (see {})",
        START_TIMEOUT.as_secs(),
        log.display()
    )
}

use std::os::unix::process::CommandExt as _;

/// `nonlinear daemon stop`.
pub fn stop(cwd: &Path, json: bool) -> anyhow::Result<Outcome> {
    let pid = status_of(cwd).map(|s| s.pid);
    let Some((mut stream, root)) = connect(cwd) else {
        return not_running(cwd, json);
    };
    exchange(&mut stream, &Request::Stop);
    if json {
        outln!(
            "{}",
            serde_json::json!({"stopped": true, "root": root, "pid": pid})
        );
    } else {
        outln!("stopped the daemon for {}", root.display());
    }
    Ok(Outcome::Ok)
}

/// `nonlinear daemon status`: exit status 1 when none runs.
pub fn status(cwd: &Path, json: bool) -> anyhow::Result<Outcome> {
    match status_of(cwd) {
        Some(s) => report(&s, json, "running"),
        None => not_running(cwd, json),
    }
}

fn status_of(cwd: &Path) -> Option<Status> {
    let (mut stream, _) = connect(cwd)?;
    exchange(&mut stream, &Request::Status)?.0.status
}

fn not_running(cwd: &Path, json: bool) -> anyhow::Result<Outcome> {
    let root = Store::discover(cwd)?.root().to_owned();
    if json {
        outln!("{}", serde_json::json!({"running": false, "root": root}));
    } else {
        outln!("no daemon for {}", root.display());
    }
    Ok(Outcome::Problems)
}

fn report(s: &Status, json: bool, what: &str) -> anyhow::Result<Outcome> {
    if json {
        let mut v = serde_json::to_value(s)?;
        v["running"] = true.into();
        outln!("{v}");
    } else {
        outln!(
            "{what}: pid {} for {} ({} nodes, {} requests, up {} s; socket {})",
            s.pid,
            s.root.display(),
            s.nodes,
            s.requests,
            s.uptime_s,
            s.socket.display()
        );
    }
    Ok(Outcome::Ok)
}
