//! `cargo xtask bench`: speed and memory as ratios against baselines in the same run.

use crate::process::{cargo, run as run_command, workspace_root};

/// Builds the mock server binary (so it runs in its own process and its memory is not
/// counted), then runs the `native` benchmark of the `partysocket` crate.
pub(crate) fn run() -> Result<(), String> {
    run_command(&mut cargo(&[
        "build",
        "--locked",
        "--release",
        "--package",
        "party-mock",
        "--bin",
        "party-mock",
    ]))?;
    let binary = workspace_root()
        .join("target")
        .join("release")
        .join("party-mock");
    run_command(
        cargo(&[
            "bench",
            "--locked",
            "--package",
            "partysocket",
            "--bench",
            "native",
        ])
        .env("PARTY_MOCK_BIN", binary),
    )
}
