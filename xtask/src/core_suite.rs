//! The `core` suite: the sans-IO core without any driver, natively and for wasm32.

use crate::process::{cargo, ensure_rust_target, run as run_command};

/// Tests the core with default features off and checks that it builds for the browser.
pub(crate) fn run() -> Result<(), String> {
    run_command(&mut cargo(&[
        "test",
        "--locked",
        "--package",
        "partysocket",
        "--no-default-features",
    ]))?;
    ensure_rust_target("wasm32-unknown-unknown")?;
    run_command(&mut cargo(&[
        "build",
        "--locked",
        "--package",
        "partysocket",
        "--no-default-features",
        "--target",
        "wasm32-unknown-unknown",
    ]))
}
