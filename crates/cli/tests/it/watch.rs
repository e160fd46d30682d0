//! `nonlinear watch`: the real binary, running in the background while
//! another `nonlinear` changes a file; its JSON line is read back, then
//! SIGTERM ends it with exit 0. Every wait has a timeout; nothing sleeps.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;

use crate::support::{BIN, Repo, isolate};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Kills the watcher if the test fails before it ends it.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Each line `from` prints, as it prints it.
fn lines(from: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[cfg(unix)]
#[test]
fn json_lines_until_sigterm() {
    let repo = Repo::new();
    repo.nl(&["init", "--key", "NL"]).code(0);
    let created = repo.nl(&["new", "issue", "Watch me", "--json"]).code(0);
    let id = created.json()["short_id"]
        .as_str()
        .expect("a short id")
        .to_owned();

    let mut child = isolate(
        Command::new(BIN)
            .args(["watch", "--json"])
            .current_dir(repo.root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .spawn()
    .expect("the watcher starts");
    let stdout = lines(child.stdout.take().expect("stdout"));
    let stderr = lines(child.stderr.take().expect("stderr"));
    let mut running = Running(Some(child));

    // Ready once it says so: changes from then on are seen.
    let ready = stderr
        .recv_timeout(TIMEOUT)
        .expect("a ready line on stderr");
    assert!(ready.starts_with("watching "), "{ready}");

    repo.nl(&["set", &id, "status", "in_progress"]).code(0);
    let line = stdout.recv_timeout(TIMEOUT).expect("an event line");
    assert!(
        line.starts_with(r#"{"after":"#),
        "keys in alphabetical order: {line}"
    );
    let event: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(
        event,
        json!({"event": "field", "key": id, "field": "status", "before": "todo", "after": "in_progress"})
    );

    // SIGTERM: a clean end, exit 0.
    let mut child = running.0.take().expect("running");
    let pid = child.id().to_string();
    let signal = |name: &str| Command::new("kill").args([name, &pid]).status();
    assert!(signal("-TERM").expect("kill runs").success());
    let (tx, rx) = mpsc::channel::<ExitStatus>();
    std::thread::spawn(move || {
        if let Ok(status) = child.wait() {
            let _ = tx.send(status);
        }
    });
    let status = rx.recv_timeout(TIMEOUT).unwrap_or_else(|_| {
        let _ = signal("-KILL");
        panic!("the watcher did not end on SIGTERM");
    });
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        stdout.recv_timeout(TIMEOUT).is_err(),
        "nothing more printed"
    );
}
