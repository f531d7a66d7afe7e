//! The `leptos` suite: `partysocket-leptos`'s hook tests in headless Chromium against
//! the `party-mock` binary, the hook's SSR behaviour on the host, then the chat example
//! end to end (two browser pages, a server restart) from Node with `playwright-core`,
//! client-side rendered and then server-rendered with `leptos_axum` and hydrated. Also
//! `cargo xtask serve leptos-chat` and `serve leptos-chat-ssr`.

use std::time::Duration;

use crate::mock::start_mock;
use crate::process::{cargo, run_bounded};
use crate::wasm::{browser_test_tools, browser_tests};

/// Building and running the hook tests (a cold Leptos build for wasm32 takes minutes).
const TEST_TIME: Duration = Duration::from_secs(1800);
/// How long the runner may take for one test binary.
const BROWSER_TIMEOUT_SECS: &str = "180";

/// Installs what is missing, then runs the hook tests (browser and host) and the
/// end-to-end test of the chat example.
pub(crate) fn run() -> Result<(), String> {
    let (bindgen, runner) = browser_test_tools()?;
    let mut mock = start_mock()?;
    let addr = mock.1;
    let result = run_bounded(
        &mut browser_tests(
            &["--package", "partysocket-leptos"],
            &addr.to_string(),
            &runner,
            BROWSER_TIMEOUT_SECS,
        ),
        TEST_TIME,
    );
    mock.0.stop();
    result?;
    // Under SSR the hook is inert: checked on the host, where servers run.
    run_bounded(
        &mut cargo(&[
            "test",
            "--locked",
            "--package",
            "partysocket-leptos",
            "--features",
            "ssr",
        ]),
        TEST_TIME,
    )?;
    crate::leptos_chat::end_to_end(&bindgen)
}
