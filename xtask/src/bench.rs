//! `cargo xtask bench`: speed and memory as ratios against baselines in the same run.
//!
//! Builds `bench-server` (an echo and broadcast server that flushes once per batch, so
//! that it does not set the pace, and answers `wss://` on the same port with a
//! certificate it makes at start) and the `native` bench of `partysocket-bench` in
//! release mode, installs the JS client's npm packages, starts the server in its own
//! process and runs the bench against it. With two cores or more (and `taskset`),
//! client and server are pinned to different cores. Both run with the soft descriptor
//! limit raised to the hard limit (the idle-memory figure opens 10,000 sockets). The
//! bench prints a table and updates `target/bench/report.json`; `BENCHMARKS.md`
//! describes every figure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::mock::{ServerProcess, ensure_npm_packages, fidelity_project, target_dir, wait_bounded};
use crate::process::{cargo, output, run as run_command, workspace_root};

/// How long `bench-server` may take to print its address.
const SERVER_START: Duration = Duration::from_secs(20);
/// How long the bench may run; every measurement inside is bounded on its own.
const BENCH_TIME: Duration = Duration::from_secs(15 * 60);

pub(crate) fn run() -> Result<(), String> {
    let began = Instant::now();
    run_command(&mut cargo(&[
        "build",
        "--locked",
        "--release",
        "--package",
        "bench-server",
        "--bin",
        "bench-server",
    ]))?;
    let bench = bench_executable()?;
    let target = target_dir()?;
    let server_binary = target
        .join("release")
        .join(format!("bench-server{}", std::env::consts::EXE_SUFFIX));
    let report = target.join("bench").join("report.json");
    // The server answers wss:// too, with an authority it makes at start and writes here.
    let ca = target.join("bench").join("bench-server-ca.pem");
    std::fs::create_dir_all(target.join("bench"))
        .map_err(|err| format!("cannot create {}: {err}", target.join("bench").display()))?;
    let ca_arg = ca.display().to_string();
    let project = fidelity_project();
    let js = match ensure_npm_packages(&project) {
        Ok(()) => Some(project),
        Err(err) => {
            eprintln!("xtask: the JS client is skipped: {err}");
            None
        }
    };

    let cores = pinning();
    match cores {
        Some((client, server)) => {
            eprintln!("--> client pinned to core {client}, server to core {server}")
        }
        None => eprintln!("--> client and server not pinned (one core, or no taskset)"),
    }
    let mut server = ServerProcess::spawn(
        "bench-server",
        &mut limited(
            cores.map(|(_, server)| server),
            &server_binary,
            &["--port", "0", "--host", "127.0.0.1", "--tls-ca", &ca_arg],
        ),
        None,
    )?;
    // It prints its address once it listens: connections made from then on wait in
    // the backlog until it accepts them.
    let addr = server.first_line_address(SERVER_START)?;

    let mut args = vec![
        "--server".to_owned(),
        addr.to_string(),
        "--server-pid".to_owned(),
        server.pid().to_string(),
        "--report".to_owned(),
        report.display().to_string(),
        "--tls-ca".to_owned(),
        ca_arg.clone(),
    ];
    if let Some((_, server_core)) = cores {
        args.extend(["--server-cpu".to_owned(), server_core.to_string()]);
    }
    if let Some(project) = &js {
        args.extend(["--js-project".to_owned(), project.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command = limited(cores.map(|(client, _)| client), &bench, &args);
    command.current_dir(workspace_root()).stdin(Stdio::null());
    eprintln!("--> {command:?}");
    let result = match command.spawn() {
        Ok(mut child) => match wait_bounded(&mut child, BENCH_TIME) {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(format!(
                "a measurement broke ({status}); the table above and {} still hold every figure measured",
                report.display()
            )),
            None => {
                // Only the bench's own PID (the shell and taskset exec into it).
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("the bench ran longer than {BENCH_TIME:?}"))
            }
        },
        Err(err) => Err(format!("cannot start the bench: {err}")),
    };
    server.stop();
    eprintln!(
        "xtask bench: {:.0} s in all, builds included",
        began.elapsed().as_secs_f64()
    );
    result
}

/// Builds the `native` bench (release) and returns its executable, from the build
/// messages cargo prints as JSON.
fn bench_executable() -> Result<PathBuf, String> {
    let mut build = cargo(&[
        "bench",
        "--locked",
        "--package",
        "partysocket-bench",
        "--bench",
        "native",
        "--no-run",
        "--message-format",
        "json",
    ]);
    eprintln!("--> {build:?}");
    let messages = output(build.stderr(Stdio::inherit())).ok_or("building the bench failed")?;
    let key = "\"executable\":\"";
    messages
        .lines()
        .filter(|line| line.contains("\"name\":\"native\"") && line.contains("\"bench\""))
        .find_map(|line| {
            let start = line.find(key)? + key.len();
            let end = line[start..].find('"')?;
            // JSON escapes only matter on Windows paths here.
            Some(PathBuf::from(
                line[start..start + end].replace("\\\\", "\\"),
            ))
        })
        .ok_or_else(|| "cargo did not report the bench executable".to_owned())
}

/// Two different cores this process may use, for the client and the server, when
/// `taskset` is available.
fn pinning() -> Option<(u32, u32)> {
    let taskset = Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !taskset {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))?;
    let cores = cpu_list(list.trim());
    match cores.as_slice() {
        [client, server, ..] => Some((*client, *server)),
        _ => None,
    }
}

/// The cores of a list such as `0-3,6`, in order.
fn cpu_list(list: &str) -> Vec<u32> {
    let mut cores = Vec::new();
    for part in list.split(',') {
        let range = match part.split_once('-') {
            Some((first, last)) => first
                .trim()
                .parse::<u32>()
                .ok()
                .zip(last.trim().parse().ok()),
            None => part.trim().parse().ok().map(|core| (core, core)),
        };
        if let Some((first, last)) = range {
            cores.extend(first..=last);
        }
    }
    cores
}

/// `program args`, started by a shell that first raises the soft descriptor limit to
/// the hard limit, pinned to `core` by `taskset` when given. The shell and `taskset`
/// exec into the program, so the child's PID is the program's.
fn limited(core: Option<u32>, program: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("sh");
    command.args([
        "-c",
        r#"hard=$(ulimit -H -n); [ "$hard" = unlimited ] || ulimit -n "$hard"; exec "$@""#,
        "sh",
    ]);
    if let Some(core) = core {
        command.args(["taskset", "-c", &core.to_string()]);
    }
    command.arg(program).args(args);
    command
}
