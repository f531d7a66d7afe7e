//! The `core` suite: the sans-IO core without any driver, natively and for wasm32.

use crate::process::{cargo, ensure_rust_target, run};

/// Tests the core with default features off and checks that it builds for the browser.
pub(crate) fn run() -> Result<(), String> {
    run(&mut cargo(&[
        "test",
        "--locked",
        "--package",
        "partysocket",
        "--no-default-features",
    ]))?;
    ensure_rust_target("wasm32-unknown-unknown")?;
    run(&mut cargo(&[
        "build",
        "--locked",
        "--package",
        "partysocket",
        "--no-default-features",
        "--target",
        "wasm32-unknown-unknown",
    ]))
}
