//! The `bevy` suite: the Bevy plugin's tests (two headless apps against the in-process
//! mock across a restart), its headless game example, its build for the browser, and a
//! Bevy app in headless Chromium against the `party-mock` binary.

use std::time::Duration;

use crate::mock::start_mock_with;
use crate::process::{cargo, run as run_command, run_bounded};
use crate::wasm::{TARGET, browser_test_tools, browser_tests};

/// Building and running the browser test.
const BROWSER_TEST_TIME: Duration = Duration::from_secs(1500);
/// How long the runner may take for the test binary.
const BROWSER_TIMEOUT_SECS: &str = "120";

/// `cargo test -p partysocket-bevy`, the example for one second, then the plugin for
/// `wasm32-unknown-unknown` (installing the target, the wasm-bindgen CLI and Chromium
/// when missing): its build, and its browser test.
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
    ]))?;
    browser()
}

/// The plugin on `partysocket-wasm`: it builds for the browser, and a Bevy app in
/// headless Chromium joins a room on the mock.
fn browser() -> Result<(), String> {
    let (_bindgen, runner) = browser_test_tools()?;
    run_command(&mut cargo(&[
        "build",
        "--locked",
        "--package",
        "partysocket-bevy",
        "--target",
        TARGET,
    ]))?;
    let (mut mock, addr) = start_mock_with(&[])?;
    let result = run_bounded(
        &mut browser_tests(
            &["--package", "partysocket-bevy", "--test", "browser"],
            &addr.to_string(),
            &runner,
            BROWSER_TIMEOUT_SECS,
        ),
        BROWSER_TEST_TIME,
    );
    mock.stop();
    result
}
