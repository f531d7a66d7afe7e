//! The `native` suite: the tokio driver against the in-process mock, and the examples.

use crate::process::{cargo, run};

/// Runs the driver's unit, integration and doc tests with every feature, then the
/// quickstart example, which must show the reconnection story and exit 0.
pub(crate) fn run() -> Result<(), String> {
    run(&mut cargo(&[
        "test",
        "--locked",
        "--package",
        "partysocket",
        "--all-features",
    ]))?;
    run(&mut cargo(&[
        "build",
        "--locked",
        "--package",
        "partysocket-examples",
        "--examples",
    ]))?;
    run(&mut cargo(&[
        "run",
        "--locked",
        "--quiet",
        "--example",
        "quickstart",
    ]))?;
    run(&mut cargo(&[
        "run",
        "--locked",
        "--quiet",
        "--example",
        "game",
        "--",
        "--seconds",
        "1",
    ]))?;
    run(&mut cargo(&[
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
