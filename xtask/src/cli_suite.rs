//! The `cli` suite: the `partysocket` command line's tests (the binary against the
//! in-process mock), then the built binary against the `party-mock` process, as a user
//! runs the two from a terminal.

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::mock::{start_mock, target_dir, wait_bounded};
use crate::process::{cargo, run as run_command};

/// How long one command-line run against the mock process may take.
const RUN_TIME: Duration = Duration::from_secs(60);

/// `cargo test -p partysocket-cli`, then a session and a request against `party-mock`.
pub(crate) fn run() -> Result<(), String> {
    run_command(&mut cargo(&[
        "test",
        "--locked",
        "--package",
        "partysocket-cli",
    ]))?;
    run_command(&mut cargo(&[
        "build",
        "--locked",
        "--package",
        "partysocket-cli",
        "--bin",
        "partysocket",
    ]))?;
    let (mut mock, addr) = start_mock()?;
    let result = against(addr);
    mock.stop();
    result
}

/// A `connect` that sends and reads its echo, and a `fetch` of the same room.
fn against(addr: SocketAddr) -> Result<(), String> {
    let host = addr.to_string();
    let out = partysocket(&[
        "connect",
        &host,
        "--party",
        "echo",
        "--room",
        "xtask-cli",
        "--send",
        "hello from the cli suite",
        "--exit-after",
        "2",
    ])?;
    if out.lines().last() != Some("hello from the cli suite") {
        return Err(format!("connect did not print the echo; stdout:\n{out}"));
    }
    let out = partysocket(&["fetch", &host, "--room", "xtask-cli"])?;
    if !out.contains("\"connections\"") {
        return Err(format!(
            "fetch did not print the room's answer; stdout:\n{out}"
        ));
    }
    eprintln!("==> cli: connect and fetch against party-mock at {addr} passed");
    Ok(())
}

/// Runs the built binary with `args` (stdin empty), bounded in time; its stdout when it
/// exits 0.
fn partysocket(args: &[&str]) -> Result<String, String> {
    let binary = target_dir()?
        .join("debug")
        .join(format!("partysocket{}", std::env::consts::EXE_SUFFIX));
    eprintln!("--> partysocket {}", args.join(" "));
    let mut child = Command::new(&binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot start {}: {err}", binary.display()))?;
    let Some(status) = wait_bounded(&mut child, RUN_TIME) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "partysocket {} ran longer than {RUN_TIME:?}",
            args.join(" ")
        ));
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout
            .read_to_string(&mut out)
            .map_err(|err| format!("cannot read the output: {err}"))?;
    }
    if status.success() {
        Ok(out)
    } else {
        Err(format!(
            "partysocket {} exited with {status}; stdout:\n{out}",
            args.join(" ")
        ))
    }
}
