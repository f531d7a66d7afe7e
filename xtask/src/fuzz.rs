//! `cargo xtask fuzz [--seconds N]`: every cargo-fuzz target in `fuzz/` for N seconds
//! each (default 60), on the nightly toolchain. Installs nightly and cargo-fuzz when
//! they are missing; prints the executions each target ran and fails on a finding
//! (libFuzzer saves the input under `fuzz/artifacts/`).

use std::process::Command;

use crate::process::{output, run as run_command, workspace_root};

const TARGETS: &[&str] = &["options_url", "machine", "handshake_response"];

pub(crate) fn run(args: &[&str]) -> Result<(), String> {
    let seconds = match args {
        [] => 60,
        ["--seconds", n] => n
            .parse::<u64>()
            .map_err(|_| format!("--seconds takes a whole number, got {n:?}"))?,
        _ => return Err("usage: cargo xtask fuzz [--seconds N]".into()),
    };
    ensure_tools()?;
    let dir = workspace_root().join("fuzz");
    let mut report = Vec::new();
    for target in TARGETS {
        eprintln!("==> fuzz {target} for {seconds} s");
        let out = Command::new("cargo")
            .args([
                "+nightly",
                "fuzz",
                "run",
                target,
                "--",
                "-print_final_stats=1",
            ])
            .arg(format!("-max_total_time={seconds}"))
            .current_dir(&dir)
            .output()
            .map_err(|err| format!("cannot start cargo fuzz: {err}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        let executions = log
            .lines()
            .find_map(|line| line.strip_prefix("stat::number_of_executed_units:"))
            .map(str::trim)
            .unwrap_or("?")
            .to_owned();
        if !out.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "fuzz target {target} found a failure after {executions} executions:\n{}",
                tail.join("\n")
            ));
        }
        report.push(format!(
            "{target}: {executions} executions in {seconds} s, no failure"
        ));
    }
    for line in report {
        eprintln!("fuzz: {line}");
    }
    Ok(())
}

fn ensure_tools() -> Result<(), String> {
    let toolchains = output(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    if !toolchains.lines().any(|line| line.starts_with("nightly")) {
        run_command(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    if output(Command::new("cargo").args(["+nightly", "fuzz", "--version"])).is_none() {
        run_command(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    Ok(())
}
