//! Running commands from the workspace root, with their output streamed.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (the parent of `xtask/`).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// A `cargo` command run from the workspace root.
pub(crate) fn cargo(args: &[&str]) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(cargo);
    command.args(args).current_dir(workspace_root());
    command
}

/// Runs `command` to completion, failing with its command line when it exits non-zero.
pub(crate) fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    eprintln!("--> {shown}");
    let status = command
        .status()
        .map_err(|err| format!("could not start {shown}: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} exited with {status}"))
    }
}

/// Runs `command` and returns its standard output, or `None` when it cannot start or fails.
pub(crate) fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Makes sure the rustup target `target` is installed (a no-op when it is).
pub(crate) fn ensure_rust_target(target: &str) -> Result<(), String> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|line| line.trim() == target) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", target]))
}

/// Like [`run`], but kills `command` (by its PID) when it runs longer than `limit`.
pub(crate) fn run_bounded(command: &mut Command, limit: std::time::Duration) -> Result<(), String> {
    let shown = format!("{command:?}");
    eprintln!("--> {shown}");
    let mut child = command
        .spawn()
        .map_err(|err| format!("could not start {shown}: {err}"))?;
    match crate::mock::wait_bounded(&mut child, limit) {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(format!("{shown} exited with {status}")),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!("{shown} ran longer than {limit:?}"))
        }
    }
}
