//! Formatting, clippy and documentation checks over the whole workspace.

use crate::process::{cargo, run as run_command};

/// `cargo fmt --check`, `clippy -D warnings` on all targets, and `cargo doc` with `-Dwarnings`.
pub(crate) fn run() -> Result<(), String> {
    eprintln!("==> lint");
    run_command(&mut cargo(&["fmt", "--all", "--", "--check"]))?;
    run_command(&mut cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    run_command(
        cargo(&["doc", "--workspace", "--no-deps", "--locked"]).env("RUSTDOCFLAGS", "-Dwarnings"),
    )
}
