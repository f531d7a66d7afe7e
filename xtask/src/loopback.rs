//! Steps that run `partykit dev` run in a network namespace of their own, with only a
//! loopback interface.
//!
//! `partykit dev` listens on every interface (its server on `0.0.0.0`, its Node process
//! on more ports, among them an inspector) and has no option to change that. Inside a
//! namespace that has nothing but `lo`, "every interface" is loopback, so nothing it
//! opens can be reached from another machine. The step's clients (the scenario, the
//! interop tests, `party-mock`) run in the same namespace, so they reach it on
//! `127.0.0.1` as before. Installs and builds happen before, outside: they may need the
//! network.

use std::process::{Command, Stdio};

use crate::process::run as run_command;

/// Set (to the step's name) in the process that runs a step inside the namespace.
const INSIDE: &str = "XTASK_LOOPBACK_ONLY_STEP";

/// A step that runs inside the namespace.
type Step = fn() -> Result<(), String>;

/// The steps that can run isolated, by name.
const STEPS: &[(&str, Step)] = &[
    ("fidelity", crate::mock::fidelity_observations),
    ("interop", crate::interop::against_partykit_dev),
];

/// Whether this process runs inside the loopback-only namespace.
pub(crate) fn is_isolated() -> bool {
    std::env::var_os(INSIDE).is_some()
}

/// Runs the step `name` in a new loopback-only network namespace: this program again,
/// as `xtask loopback-only NAME`, under `unshare`.
pub(crate) fn run(name: &str) -> Result<(), String> {
    if is_isolated() {
        return run_step(name);
    }
    let exe = std::env::current_exe()
        .map_err(|err| format!("cannot find the xtask program to re-run: {err}"))?;
    // As root a network namespace needs no more; otherwise a user namespace makes the
    // caller root of it, where unprivileged user namespaces are allowed.
    let unshare_flags: &[&str] = if unshare_works(&["--net"]) {
        &["--net"]
    } else if unshare_works(&["--map-root-user", "--net"]) {
        &["--map-root-user", "--net"]
    } else {
        return Err("`partykit dev` listens on every interface, so this step runs it in a network namespace with only loopback; `unshare --net` (util-linux) failed: run as root or allow unprivileged user namespaces".into());
    };
    eprintln!("==> {name}: in a network namespace with only loopback");
    run_command(
        Command::new("unshare")
            .args(unshare_flags)
            .args(["--", "sh", "-c", r#"ip link set lo up && exec "$0" "$@""#])
            .arg(exe)
            .args(["loopback-only", name])
            .env(INSIDE, name),
    )
}

/// `xtask loopback-only NAME`: the step itself, refused outside the namespace.
pub(crate) fn run_step(name: &str) -> Result<(), String> {
    if !is_isolated() {
        return Err(format!(
            "`loopback-only {name}` runs inside the namespace that `cargo xtask test` creates; run the suite instead"
        ));
    }
    match STEPS.iter().find(|(step, _)| *step == name) {
        Some((_, step)) => step(),
        None => Err(format!("unknown loopback-only step `{name}`")),
    }
}

/// Whether `unshare FLAGS true` succeeds here.
fn unshare_works(flags: &[&str]) -> bool {
    Command::new("unshare")
        .args(flags)
        .arg("true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
