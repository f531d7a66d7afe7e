//! The `leptos` suite: `partysocket-leptos`'s hook tests in headless Chromium against
//! the `party-mock` binary, the hook's SSR behaviour on the host, then the chat example
//! end to end (two browser pages, a server restart) from Node with `playwright-core`.
//! Also `cargo xtask serve leptos-chat`.

use std::process::Command;
use std::time::Duration;

use crate::mock::{ServerProcess, target_dir};
use crate::process::{cargo, ensure_rust_target, run_bounded};
use crate::wasm::{CHROMEDRIVER, TARGET, ensure_chromium, ensure_wasm_bindgen_cli};

/// Building and running the hook tests (a cold Leptos build for wasm32 takes minutes).
const TEST_TIME: Duration = Duration::from_secs(1800);
/// How long the runner may take for one test binary.
const BROWSER_TIMEOUT_SECS: &str = "180";
/// How long `party-mock` may take to print its address and answer.
pub(crate) const MOCK_START: Duration = Duration::from_secs(20);

/// Installs what is missing, then runs the hook tests (browser and host) and the
/// end-to-end test of the chat example.
pub(crate) fn run() -> Result<(), String> {
    ensure_rust_target(TARGET)?;
    let bindgen = ensure_wasm_bindgen_cli()?;
    ensure_chromium()?;
    let runner = bindgen.with_file_name(format!(
        "wasm-bindgen-test-runner{}",
        std::env::consts::EXE_SUFFIX
    ));
    let mut mock = start_mock()?;
    let addr = mock.1;
    let result = run_bounded(
        cargo(&[
            "test",
            "--locked",
            "--package",
            "partysocket-leptos",
            "--target",
            TARGET,
        ])
        .env("PARTY_MOCK_HOST", addr.to_string())
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", &runner)
        .env("CHROMEDRIVER", CHROMEDRIVER)
        .env("WASM_BINDGEN_TEST_TIMEOUT", BROWSER_TIMEOUT_SECS),
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

/// Builds and starts the `party-mock` binary on a free loopback port; returns it (stopped
/// by PID on drop) and its address once it answers.
pub(crate) fn start_mock() -> Result<(ServerProcess, std::net::SocketAddr), String> {
    run_bounded(
        &mut cargo(&[
            "build",
            "--locked",
            "--package",
            "party-mock",
            "--bin",
            "party-mock",
        ]),
        TEST_TIME,
    )?;
    let mock_bin = target_dir()?
        .join("debug")
        .join(format!("party-mock{}", std::env::consts::EXE_SUFFIX));
    let mut mock = ServerProcess::spawn(
        "party-mock",
        Command::new(&mock_bin).args(["--port", "0"]),
        None,
    )?;
    let addr = mock.first_line_address(MOCK_START)?;
    mock.wait_until_serving(addr, MOCK_START)?;
    Ok((mock, addr))
}
