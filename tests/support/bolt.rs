//! A Bolt server of a test's own: `kglite-bolt-server` (on the PATH, or
//! `NONLINEAR_TEST_BOLT_SERVER`; `tests/run` installs it) with a fresh
//! in-memory graph on a free port, stopped when dropped. Shared by the
//! test crates through `#[path]`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Bolt {
    child: Option<Child>,
    pub port: u16,
    pub url: String,
    dir: tempfile::TempDir,
}

impl Bolt {
    /// Starts a server on a free port and waits until it listens.
    pub fn start() -> Bolt {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut b = Bolt {
            child: None,
            port,
            url: format!("bolt://127.0.0.1:{port}"),
            dir: tempfile::tempdir().expect("temp dir"),
        };
        b.restart();
        b
    }

    /// Kills the server: connections drop, the graph is lost.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port, with an empty graph.
    pub fn restart(&mut self) {
        self.stop();
        let bin = std::env::var("NONLINEAR_TEST_BOLT_SERVER")
            .unwrap_or_else(|_| "kglite-bolt-server".into());
        let child = Command::new(&bin)
            .arg("--graph")
            .arg(self.dir.path().join("g.kgl"))
            .args([
                "--storage",
                "memory",
                "--bind",
                "127.0.0.1",
                "--port",
                &self.port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{bin} (tests/run installs it): {e}"));
        self.child = Some(child);
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the Bolt server listens"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Bolt {
    fn drop(&mut self) {
        self.stop();
    }
}
