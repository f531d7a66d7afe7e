//! The `bevy` suite: the Bevy plugin's tests (two headless apps against the in-process
//! mock across a restart) and its headless game example.

use crate::process::{cargo, run as run_command};

/// `cargo test -p partysocket-bevy`, then the example for one second.
pub(crate) fn run() -> Result<(), String> {
    run_command(&mut cargo(&[
        "test",
        "--locked",
        "--package",
        "partysocket-bevy",
    ]))?;
    run_command(&mut cargo(&[
        "run",
        "--locked",
        "--quiet",
        "--package",
        "partysocket-bevy",
        "--example",
        "headless_game",
        "--",
        "--seconds",
        "1",
    ]))
}
