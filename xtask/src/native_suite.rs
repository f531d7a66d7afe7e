//! The `native` suite: the tokio driver against the in-process mock, and the examples.

use crate::process::{cargo, run as run_command};

/// Runs the driver's unit, integration and doc tests with every feature, then the
/// quickstart example, which must show the reconnection story and exit 0.
pub(crate) fn run() -> Result<(), String> {
    run_command(&mut cargo(&[
        "test",
        "--locked",
        "--package",
        "partysocket",
        "--all-features",
    ]))?;
    run_command(&mut cargo(&[
        "build",
        "--locked",
        "--package",
        "partysocket-examples",
        "--examples",
    ]))?;
    run_command(&mut cargo(&[
        "run",
        "--locked",
        "--quiet",
        "--example",
        "quickstart",
    ]))?;
    run_command(&mut cargo(&[
        "run",
        "--locked",
        "--quiet",
        "--example",
        "game",
        "--",
        "--seconds",
        "1",
    ]))?;
    run_command(&mut cargo(&[
        "run",
        "--locked",
        "--quiet",
        "--example",
        "presence",
        "--",
        "--seconds",
        "1",
    ]))
}
