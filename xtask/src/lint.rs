//! Formatting, clippy and documentation checks over the whole workspace.

use crate::process::{cargo, run};

/// `cargo fmt --check`, `clippy -D warnings` on all targets, and `cargo doc` with `-Dwarnings`.
pub(crate) fn run() -> Result<(), String> {
    eprintln!("==> lint");
    run(&mut cargo(&["fmt", "--all", "--", "--check"]))?;
    run(&mut cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo(&["doc", "--workspace", "--no-deps", "--locked"]).env("RUSTDOCFLAGS", "-Dwarnings"))
}
