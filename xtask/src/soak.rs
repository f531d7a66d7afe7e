//! `cargo xtask soak`: the fault soak (`soak/`) against a `party-mock` process, and its
//! short form, the `soak` suite of `cargo xtask test`.

use crate::mock::{mock_binary, target_dir};
use crate::process::{cargo, run as run_command};

/// How long the suite's short soak runs.
const SHORT_SECONDS: &str = "30";

/// The suite: a 30-second soak with 50 sockets.
pub(crate) fn suite() -> Result<(), String> {
    run(&["--seconds", SHORT_SECONDS, "--sockets", "50"])
}

/// Builds the soak and the mock binary once, then runs the soak with `args`
/// (`--seconds N`, `--sockets N`, `--seed N`).
pub(crate) fn run(args: &[&str]) -> Result<(), String> {
    run_command(&mut cargo(&[
        "build",
        "--locked",
        "--package",
        "party-mock",
        "--package",
        "partysocket-soak",
        "--bins",
    ]))?;
    let soak_binary = target_dir()?
        .join("debug")
        .join(format!("partysocket-soak{}", std::env::consts::EXE_SUFFIX));
    let mut soak = std::process::Command::new(soak_binary);
    soak.arg("--mock").arg(mock_binary()?).args(args);
    run_command(&mut soak)
}
