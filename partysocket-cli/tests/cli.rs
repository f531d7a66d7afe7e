//! The `partysocket` binary against the in-process mock server: a pipe in, the
//! broadcast out, a restart in the middle, a 401, JSON output, full URLs, `fetch`,
//! and configuration errors.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use party_mock::{MockConfig, MockServer};

/// The longest any single wait may take.
const PATIENCE: Duration = Duration::from_secs(20);

/// The mock on a runtime of its own; the test body stays synchronous.
struct Mock {
    runtime: tokio::runtime::Runtime,
    server: MockServer,
}

impl Mock {
    fn start() -> Mock {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let server = runtime
            .block_on(MockServer::start(MockConfig::default()))
            .expect("the mock starts");
        Mock { runtime, server }
    }

    fn host(&self) -> String {
        self.server.host()
    }

    fn texts(&self, party: &str, room: &str) -> Vec<String> {
        self.server
            .received(party, room)
            .iter()
            .filter_map(|received| received.message.as_text().map(str::to_owned))
            .collect()
    }
}

/// A running `partysocket` with its output read line by line on threads.
struct Cli {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    /// Everything read so far, for failure messages.
    seen: Vec<String>,
}

fn lines(reader: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { return };
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

impl Cli {
    fn spawn(args: &[&str]) -> Cli {
        let mut child = Command::new(env!("CARGO_BIN_EXE_partysocket"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stdout = lines(child.stdout.take().expect("stdout"));
        let stderr = lines(child.stderr.take().expect("stderr"));
        Cli {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
            seen: Vec::new(),
        }
    }

    fn write_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{line}").expect("the CLI reads stdin");
        stdin.flush().expect("flush");
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits for a line on `which` output matching `want`; returns it.
    fn wait(&mut self, stdout: bool, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let receiver = if stdout { &self.stdout } else { &self.stderr };
            match receiver.recv_timeout(left) {
                Ok(line) => {
                    let matched = want(&line);
                    self.seen
                        .push(format!("{}{line}", if stdout { "out: " } else { "err: " }));
                    if matched {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no matching {} line in time; seen:\n{}",
                    if stdout { "stdout" } else { "stderr" },
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn out(&mut self, want: impl Fn(&str) -> bool) -> String {
        self.wait(true, want)
    }

    fn err(&mut self, want: impl Fn(&str) -> bool) -> String {
        self.wait(false, want)
    }

    /// Waits for the process to exit on its own.
    fn exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the CLI did not exit in time; seen:\n{}",
                self.seen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The rest of stdout after exit.
    fn rest_of_stdout(&mut self) -> Vec<String> {
        let mut rest = Vec::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(2)) {
            rest.push(line);
        }
        rest
    }

    fn rest_of_stderr(&mut self) -> String {
        let mut rest = Vec::new();
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_secs(2)) {
            rest.push(line);
        }
        rest.join("\n")
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        // Only the child this test started, by its handle.
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the CLI to completion with stdin closed.
fn run(args: &[&str]) -> (ExitStatus, Vec<String>, String) {
    let mut cli = Cli::spawn(args);
    cli.close_stdin();
    let status = cli.exit();
    let stdout = cli.rest_of_stdout();
    let stderr = cli.rest_of_stderr();
    (status, stdout, stderr)
}

const FAST: &[&str] = &["--min-delay", "50ms", "--max-delay", "200ms"];

#[test]
fn lines_piped_in_are_broadcast_to_another_terminal() {
    let mock = Mock::start();
    let host = mock.host();
    let mut watcher = Cli::spawn(&[
        "connect",
        &host,
        "--party",
        "main",
        "--room",
        "pipe",
        "--exit-after",
        "3",
    ]);
    assert_eq!(watcher.out(|_| true), "Welcome to the party!");
    watcher.err(|line| line.starts_with("connected: ws://"));

    let mut sender = Cli::spawn(&["connect", &host, "--room", "pipe", "--id", "sender"]);
    sender.write_line("hello");
    sender.write_line("world");
    sender.close_stdin();
    let status = sender.exit();
    assert!(status.success(), "{status:?}");

    assert_eq!(watcher.out(|_| true), "hello");
    assert_eq!(watcher.out(|_| true), "world");
    let status = watcher.exit();
    assert!(status.success(), "{status:?}");
    assert_eq!(mock.texts("main", "pipe"), ["hello", "world"]);
    let attempts = mock.server.attempts();
    assert!(
        attempts
            .iter()
            .any(|attempt| attempt.connection_id.as_deref() == Some("sender")),
        "{attempts:?}"
    );
}

#[test]
fn a_server_restart_in_the_middle_loses_nothing_typed_during_the_outage() {
    let mock = Mock::start();
    let host = mock.host();
    let mut args = vec!["connect", &host, "--party", "echo", "--room", "restart"];
    args.extend_from_slice(FAST);
    let mut cli = Cli::spawn(&args);
    cli.err(|line| line.starts_with("connected: "));
    // The echo party greets with a JSON line, then echoes.
    cli.out(|line| line.starts_with('{'));
    cli.write_line("before");
    assert_eq!(cli.out(|_| true), "before");

    mock.runtime.block_on(mock.server.stop());
    cli.err(|line| line.starts_with("closed: code "));
    let reconnecting = cli.err(|line| line.starts_with("reconnecting: attempt 1 in "));
    assert!(reconnecting.ends_with('s'), "{reconnecting}");
    cli.write_line("during 1");
    cli.write_line("during 2");
    mock.runtime
        .block_on(async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            mock.server.restart().await
        })
        .expect("the mock restarts");
    cli.err(|line| line.starts_with("connected: "));
    cli.out(|line| line == "during 1");
    assert_eq!(cli.out(|_| true), "during 2");
    cli.write_line("after");
    assert_eq!(cli.out(|line| !line.starts_with('{')), "after");
    cli.close_stdin();
    let status = cli.exit();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        mock.texts("echo", "restart"),
        ["before", "during 1", "during 2", "after"]
    );
}

#[test]
fn a_401_gives_up_with_exit_code_3() {
    let mock = Mock::start();
    mock.server.refuse_next(1, 401, None);
    let mut cli = Cli::spawn(&["connect", &mock.host(), "--room", "locked"]);
    let error = cli.err(|line| line.starts_with("error: "));
    assert!(error.contains("401"), "{error}");
    let gave_up = cli.err(|line| line.starts_with("gave up: "));
    assert!(gave_up.contains("401"), "{gave_up}");
    assert_eq!(cli.exit().code(), Some(3));
}

#[test]
fn max_retries_used_up_is_exit_code_3() {
    let mock = Mock::start();
    let host = mock.host();
    mock.runtime.block_on(mock.server.stop());
    let mut args = vec!["connect", &host, "--room", "gone", "--max-retries", "1"];
    args.extend_from_slice(FAST);
    let (status, _, stderr) = run(&args);
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("attempts failed in a row"), "{stderr}");
}

#[test]
fn json_prints_one_object_per_event_and_send_exits_once_sent() {
    let mock = Mock::start();
    let (status, stdout, stderr) = run(&[
        "connect",
        &mock.host(),
        "--party",
        "echo",
        "--room",
        "json",
        "--id",
        "scripted",
        "--json",
        "--send",
        "one",
        "--send",
        "two",
        "--exit-after",
        "3",
    ]);
    assert!(status.success(), "{status:?} {stderr}");
    let events: Vec<serde_json::Value> = stdout
        .iter()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert_eq!(events[0]["event"], "open", "{events:?}");
    assert!(
        events[0]["url"]
            .as_str()
            .is_some_and(|url| url.ends_with("/parties/echo/json?_pk=scripted")),
        "{events:?}"
    );
    let texts: Vec<&str> = events
        .iter()
        .filter(|event| event["event"] == "message")
        .filter_map(|event| event["text"].as_str())
        .collect();
    assert_eq!(texts.len(), 3, "{events:?}");
    assert_eq!(&texts[1..], ["one", "two"]);
    assert!(texts[0].contains("scripted"), "the greeting names the id");
    assert_eq!(events.last().unwrap()["event"], "close", "{events:?}");
    assert_eq!(mock.texts("echo", "json"), ["one", "two"]);

    // Without --exit-after, --send closes once the messages went out.
    let (status, _, stderr) = run(&[
        "connect",
        &mock.host(),
        "--party",
        "echo",
        "--room",
        "json2",
        "--send",
        "only",
    ]);
    assert!(status.success(), "{status:?} {stderr}");
    assert_eq!(mock.texts("echo", "json2"), ["only"]);
}

#[test]
fn a_full_url_is_used_as_given() {
    let mock = Mock::start();
    let url = mock.server.ws_url("/parties/echo/raw?v=1");
    let (status, stdout, stderr) = run(&[
        "connect",
        &url,
        "--query",
        "token=abc",
        "--header",
        "X-Trace: cli",
        "--send",
        "ping me",
        "--exit-after",
        "2",
    ]);
    assert!(status.success(), "{status:?} {stderr}");
    assert_eq!(stdout.last().map(String::as_str), Some("ping me"));
    assert!(
        stderr.contains("connected: ws://") && stderr.contains("?v=REDACTED&token=REDACTED"),
        "{stderr}"
    );
    let attempts = mock.server.attempts();
    assert_eq!(attempts.len(), 1);
    assert!(
        attempts[0].url.ends_with("/parties/echo/raw?v=1&token=abc"),
        "{}",
        attempts[0].url
    );
    assert_eq!(attempts[0].header("x-trace"), Some("cli"));
}

#[test]
fn configuration_errors_exit_2_with_a_message_saying_what_to_do() {
    for (args, expected) in [
        (vec!["connect", "localhost:1999"], "needs a room"),
        (
            vec!["connect", "https://example.com/socket"],
            "needs a room",
        ),
        (vec!["connect", "wss://example.com/socket#x"], "fragment"),
        (
            vec![
                "connect",
                "wss://example.com/socket",
                "--room",
                "r",
                "--path",
                "/x",
            ],
            "must not start with '/'",
        ),
        (
            vec!["connect", "wss://example.com/socket", "--party", "p"],
            "party cannot be set",
        ),
        (
            vec![
                "connect",
                "localhost:1999",
                "--room",
                "r",
                "--query",
                "novalue",
            ],
            "expected KEY=VALUE",
        ),
        (
            vec![
                "connect",
                "localhost:1999",
                "--room",
                "r",
                "--header",
                "X-Bad: \u{e9}",
            ],
            "header \"X-Bad\" cannot be sent",
        ),
        (
            vec![
                "connect",
                "localhost:1999",
                "--room",
                "r",
                "--min-delay",
                "3",
            ],
            "needs a unit",
        ),
        (
            vec!["connect", "localhost:1999", "--room", "r", "--jitter", "2"],
            "jitter must be between",
        ),
        (
            vec!["fetch", "localhost:1999", "--room", "r", "-X", "G ET"],
            "not an HTTP method",
        ),
        (vec!["bogus"], "unrecognized subcommand"),
    ] {
        let (status, _, stderr) = run(&args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn fetch_calls_the_room_handler_and_maps_error_statuses_to_exit_4() {
    let mock = Mock::start();
    let host = mock.host();
    let (status, stdout, stderr) = run(&["fetch", &host, "--room", "http"]);
    assert!(status.success(), "{status:?} {stderr}");
    assert_eq!(stdout, [r#"{"connections":0}"#]);

    let (status, stdout, stderr) = run(&[
        "fetch",
        &host,
        "--room",
        "http",
        "-d",
        r#"{"hello":1}"#,
        "--json",
    ]);
    assert!(status.success(), "{status:?} {stderr}");
    let answer: serde_json::Value = serde_json::from_str(&stdout[0]).unwrap();
    assert_eq!(answer["status"], 200);
    assert_eq!(answer["body"], "Broadcasted");

    let (status, stdout, _) = run(&["fetch", &host, "--room", "http", "-X", "POST", "-d", "nope"]);
    assert_eq!(status.code(), Some(4));
    assert_eq!(stdout, ["Invalid JSON"]);

    // A full http:// URL works too.
    let url = mock.server.http_url("/parties/main/http");
    let (status, stdout, stderr) = run(&["fetch", &url, "-i"]);
    assert!(status.success(), "{status:?} {stderr}");
    assert_eq!(stdout, [r#"{"connections":0}"#]);
    assert!(stderr.starts_with("HTTP 200"), "{stderr}");

    let requests: Vec<_> = mock
        .server
        .attempts()
        .into_iter()
        .filter(|attempt| attempt.room.as_deref() == Some("http"))
        .map(|attempt| attempt.method)
        .collect();
    assert_eq!(requests, ["GET", "POST", "POST", "GET"]);
}

#[test]
fn ctrl_c_closes_the_socket_then_exits_130() {
    let mock = Mock::start();
    let mut cli = Cli::spawn(&[
        "connect",
        &mock.host(),
        "--party",
        "echo",
        "--room",
        "sigint",
    ]);
    cli.err(|line| line.starts_with("connected: "));
    // SIGINT to this test's own child, by its PID.
    let pid = cli.child.id().to_string();
    let status = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let closed = cli.err(|line| line.starts_with("closed: "));
    assert_eq!(closed, "closed: code 1000 (no reason)");
    assert_eq!(cli.exit().code(), Some(130));
}
