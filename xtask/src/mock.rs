//! The `mock` suite: the mock server's own tests, then the fidelity run, which drives the
//! official `partysocket` client through one scenario against `partykit dev` and against
//! `party-mock` and requires both to produce the same observations.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crate::process::{cargo, output, run as run_command, run_bounded, workspace_root};

/// How long `partykit dev` may take to answer its first request (it starts in ~10 s).
const PARTYKIT_START: Duration = Duration::from_secs(90);
/// How long `party-mock` may take to print its address and answer.
const MOCK_START: Duration = Duration::from_secs(20);
/// How long one scenario run may take (the script gives up after 60 s on its own).
const SCENARIO_TIME: Duration = Duration::from_secs(120);
/// How long `npm ci` may take.
const NPM_TIME: Duration = Duration::from_secs(600);
/// How long a server gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// `cargo test` of the two servers (`party-mock` and the bench's `bench-server`), then
/// the fidelity run.
pub(crate) fn run() -> Result<(), String> {
    run_command(&mut cargo(&[
        "test",
        "--locked",
        "--package",
        "party-mock",
        "--package",
        "bench-server",
    ]))?;
    fidelity()
}

/// Installs and builds what the fidelity run needs, then runs it with only loopback.
fn fidelity() -> Result<(), String> {
    eprintln!("==> fidelity: partysocket against partykit dev and party-mock");
    ensure_npm_packages(&fidelity_project())?;
    build_mock()?;
    crate::loopback::run("fidelity")
}

/// The fidelity run itself (inside the loopback-only namespace): both servers, the
/// scenario against each, and the comparison. `party-mock` runs as `partykit dev`
/// behaves, with no auto-response.
pub(crate) fn fidelity_observations() -> Result<(), String> {
    let project = fidelity_project();
    let out = target_dir()?.join("fidelity");
    fs::create_dir_all(&out).map_err(|err| format!("cannot create {}: {err}", out.display()))?;

    let (mut partykit, partykit_addr) = start_partykit_dev(&project, &out)?;
    let (mut mock, mock_addr) = spawn_mock()?;

    let expected = scenario(&project, partykit_addr, &out.join("partykit-dev.json"))?;
    let actual = scenario(&project, mock_addr, &out.join("party-mock.json"))?;
    partykit.stop();
    mock.stop();
    compare(&expected, &actual)?;
    eprintln!(
        "fidelity: {} observation lines identical (saved in {})",
        expected.lines().count(),
        out.display()
    );
    Ok(())
}

/// The `party-mock` binary of the debug profile (built by `cargo build -p party-mock`).
pub(crate) fn mock_binary() -> Result<PathBuf, String> {
    Ok(target_dir()?
        .join("debug")
        .join(format!("party-mock{}", std::env::consts::EXE_SUFFIX)))
}

/// Starts the built `party-mock` on a free loopback port; returns it (stopped by PID on
/// drop) and its address once it answers HTTP.
pub(crate) fn spawn_mock() -> Result<(ServerProcess, SocketAddr), String> {
    spawn_mock_with(&[])
}

/// [`spawn_mock`] with more `party-mock` flags, such as `--websocket-auto-response PARTY`.
pub(crate) fn spawn_mock_with(flags: &[&str]) -> Result<(ServerProcess, SocketAddr), String> {
    let mut mock = ServerProcess::spawn(
        "party-mock",
        Command::new(mock_binary()?)
            .args(["--port", "0"])
            .args(flags),
        None,
    )?;
    let addr = mock.first_line_address(MOCK_START)?;
    mock.wait_until_serving(addr, MOCK_START)?;
    Ok((mock, addr))
}

/// Builds `party-mock`, then starts it as [`spawn_mock`] does: as `partykit dev`
/// behaves, with no auto-response.
pub(crate) fn start_mock() -> Result<(ServerProcess, SocketAddr), String> {
    start_mock_with(&[])
}

/// Builds `party-mock`, then starts it with `flags` as [`spawn_mock_with`] does.
pub(crate) fn start_mock_with(flags: &[&str]) -> Result<(ServerProcess, SocketAddr), String> {
    build_mock()?;
    spawn_mock_with(flags)
}

/// `cargo build -p party-mock --bin party-mock`.
fn build_mock() -> Result<(), String> {
    run_command(&mut cargo(&[
        "build",
        "--locked",
        "--package",
        "party-mock",
        "--bin",
        "party-mock",
    ]))
}

/// Installs the npm packages of the fidelity project and starts `partykit dev` on a
/// free loopback port with the TypeScript parties of `tests/fidelity/`; returns the
/// running server (stopped by PID on drop) and its address once it answers. Its log
/// goes to `out/partykit-dev.log`.
///
/// Only inside the loopback-only namespace ([`crate::loopback`]): `partykit dev`
/// listens on every interface and cannot be told otherwise.
pub(crate) fn start_partykit_dev(
    project: &Path,
    out: &Path,
) -> Result<(ServerProcess, SocketAddr), String> {
    if !crate::loopback::is_isolated() {
        return Err(
            "partykit dev listens on every interface: start it from a step run by `loopback::run`"
                .into(),
        );
    }
    ensure_npm_packages(project)?;
    let port = free_port()?;
    let log = out.join("partykit-dev.log");
    let mut partykit = ServerProcess::spawn(
        "partykit dev",
        Command::new("node")
            .arg(project.join("node_modules/partykit/dist/bin.mjs"))
            .args(["dev", "--port", &port.to_string()])
            .args([
                "--disable-request-cf-fetch",
                "--persist",
                "false",
                "--no-hotkeys",
            ])
            .current_dir(project),
        Some(&log),
    )?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    partykit.wait_until_serving(addr, PARTYKIT_START)?;
    Ok((partykit, addr))
}

/// The fidelity project: `partykit.json`, the TypeScript parties and the scenario.
pub(crate) fn fidelity_project() -> PathBuf {
    workspace_root().join("tests").join("fidelity")
}

/// Runs `npm ci` (or `npm install` without a lock file) unless `node_modules` is newer
/// than the lock file.
pub(crate) fn ensure_npm_packages(project: &Path) -> Result<(), String> {
    let lock = project.join("package-lock.json");
    let installed = project.join("node_modules").join(".package-lock.json");
    let manifest = project.join("package.json");
    let current = match (modified(&installed), modified(&lock), modified(&manifest)) {
        (Some(installed), Some(lock), Some(manifest)) => installed >= lock && installed >= manifest,
        _ => false,
    };
    if current {
        eprintln!("--> npm packages in {} are current", project.display());
        return Ok(());
    }
    let verb = if lock.exists() { "ci" } else { "install" };
    run_bounded(Command::new("npm").arg(verb).current_dir(project), NPM_TIME)
        .map_err(|err| format!("npm {verb} (is Node.js installed?): {err}"))
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|meta| meta.modified()).ok()
}

/// Cargo's target folder, as `cargo metadata` reports it.
pub(crate) fn target_dir() -> Result<PathBuf, String> {
    let metadata = output(&mut cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
    ]))
    .ok_or("cargo metadata failed")?;
    let key = "\"target_directory\":\"";
    let start = metadata
        .find(key)
        .ok_or("cargo metadata has no target_directory")?
        + key.len();
    let end = metadata[start..]
        .find('"')
        .ok_or("cargo metadata: unterminated target_directory")?;
    // JSON escapes only matter on Windows paths here.
    Ok(PathBuf::from(
        metadata[start..start + end].replace("\\\\", "\\"),
    ))
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|err| format!("cannot find a free port: {err}"))
}

/// Runs the scenario against `addr`, saves its output to `save`, and returns it.
fn scenario(project: &Path, addr: SocketAddr, save: &Path) -> Result<String, String> {
    eprintln!("--> node scenario.mjs {addr}");
    let file =
        File::create(save).map_err(|err| format!("cannot create {}: {err}", save.display()))?;
    let mut child = Command::new("node")
        .arg("scenario.mjs")
        .arg(addr.to_string())
        .current_dir(project)
        .stdout(file)
        .spawn()
        .map_err(|err| format!("cannot start node: {err}"))?;
    let status = wait_bounded(&mut child, SCENARIO_TIME);
    let status = match status {
        Some(status) => status,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the scenario against {addr} ran longer than {SCENARIO_TIME:?}"
            ));
        }
    };
    if !status.success() {
        return Err(format!("the scenario against {addr} failed ({status})"));
    }
    fs::read_to_string(save).map_err(|err| format!("cannot read {}: {err}", save.display()))
}

/// Fails with the differing lines when the two observation files differ.
fn compare(expected: &str, actual: &str) -> Result<(), String> {
    if expected == actual {
        return Ok(());
    }
    let mut report = String::from("party-mock observed something else than partykit dev:\n");
    let expected_lines: Vec<&str> = expected.lines().collect();
    let actual_lines: Vec<&str> = actual.lines().collect();
    let longest = expected_lines.len().max(actual_lines.len());
    let mut shown = 0;
    for line in 0..longest {
        let left = expected_lines.get(line).copied().unwrap_or("<end>");
        let right = actual_lines.get(line).copied().unwrap_or("<end>");
        if left != right {
            report.push_str(&format!(
                "  line {}:\n    partykit dev: {left}\n    party-mock:   {right}\n",
                line + 1
            ));
            shown += 1;
            if shown == 20 {
                report.push_str("  ...\n");
                break;
            }
        }
    }
    Err(report)
}

/// Waits up to `limit` for `child` to exit.
pub(crate) fn wait_bounded(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(100)),
            _ => return None,
        }
    }
}

/// A server this suite started; stopped by its PID on `stop` or drop, whatever happened.
pub(crate) struct ServerProcess {
    name: &'static str,
    child: Child,
    log: Option<PathBuf>,
    stopped: bool,
}

impl ServerProcess {
    /// Starts `command`; its output goes to `log` when given, else stdout is piped (for
    /// [`first_line_address`](Self::first_line_address)) and stderr inherited.
    pub(crate) fn spawn(
        name: &'static str,
        command: &mut Command,
        log: Option<&Path>,
    ) -> Result<Self, String> {
        command.stdin(Stdio::null());
        match log {
            Some(path) => {
                let file = File::create(path)
                    .map_err(|err| format!("cannot create {}: {err}", path.display()))?;
                let copy = file
                    .try_clone()
                    .map_err(|err| format!("cannot share {}: {err}", path.display()))?;
                command.stdout(file).stderr(copy);
            }
            None => {
                command.stdout(Stdio::piped());
            }
        }
        eprintln!("--> starting {name}: {command:?}");
        let child = command
            .spawn()
            .map_err(|err| format!("cannot start {name}: {err}"))?;
        Ok(ServerProcess {
            name,
            child,
            log: log.map(Path::to_owned),
            stopped: false,
        })
    }

    /// Reads the `listening on HOST:PORT` line the server prints first.
    pub(crate) fn first_line_address(&mut self, limit: Duration) -> Result<SocketAddr, String> {
        let stdout = self
            .child
            .stdout
            .take()
            .ok_or_else(|| format!("{}: stdout is not piped", self.name))?;
        let (sender, receiver) = mpsc::channel();
        // The reader keeps draining stdout so the server never blocks on a full pipe.
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = sender.send(lines.next());
            for _ in lines {}
        });
        let line = match receiver.recv_timeout(limit) {
            Ok(Some(Ok(line))) => line,
            Ok(_) => return Err(self.failure("exited before printing its address")),
            Err(_) => return Err(self.failure(&format!("printed nothing within {limit:?}"))),
        };
        line.strip_prefix("listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|addr| addr.parse().ok())
            .ok_or_else(|| self.failure(&format!("printed an unexpected first line: {line:?}")))
    }

    /// Polls `addr` with a plain HTTP request until any HTTP answer comes back.
    pub(crate) fn wait_until_serving(
        &mut self,
        addr: SocketAddr,
        limit: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(self.failure(&format!("exited early ({status})")));
            }
            if answers_http(addr) {
                eprintln!("--> {} is serving on {addr}", self.name);
                return Ok(());
            }
            thread::sleep(Duration::from_millis(250));
        }
        Err(self.failure(&format!("did not answer on {addr} within {limit:?}")))
    }

    /// An error naming the server, with the end of its log.
    fn failure(&self, what: &str) -> String {
        let mut message = format!("{} {what}", self.name);
        if let Some(log) = &self.log {
            let text = fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            message.push_str(&format!("\n--- last lines of {} ---\n", log.display()));
            for line in tail.iter().rev() {
                message.push_str(line);
                message.push('\n');
            }
        }
        message
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, a bounded wait, then SIGKILL; only ever this child's PID.
    pub(crate) fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        if wait_bounded(&mut self.child, STOP_GRACE).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        eprintln!("--> stopped {} (pid {pid})", self.name);
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether `addr` answers `GET /` with an HTTP status line within a second.
fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    let mut read = 0;
    while read < head.len() {
        match stream.read(&mut head[read..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    head.starts_with(b"HTTP/1.")
}
