//! The `interop` suite: the native client's core scenarios against a real `partykit
//! dev` server running the TypeScript parties of `tests/fidelity/`.

use std::fs;

use crate::mock::{ensure_npm_packages, fidelity_project, start_partykit_dev, target_dir};
use crate::process::{cargo, run as run_command};

const TESTS: &[&str] = &[
    "test",
    "--locked",
    "--package",
    "partysocket",
    "--all-features",
    "--test",
    "interop",
];

/// Installs the npm packages and builds the tests (both may need the network), then runs
/// them against `partykit dev` in a loopback-only network namespace.
pub(crate) fn run() -> Result<(), String> {
    ensure_npm_packages(&fidelity_project())?;
    // Build first, so the server does not idle through a compilation.
    run_command(&mut cargo(&[TESTS, &["--no-run"]].concat()))?;
    crate::loopback::run("interop")
}

/// Starts `partykit dev`, runs `partysocket`'s `interop` tests against it (they are
/// `#[ignore]`d elsewhere), and stops the server whatever happened.
pub(crate) fn against_partykit_dev() -> Result<(), String> {
    let out = target_dir()?.join("interop");
    fs::create_dir_all(&out).map_err(|err| format!("cannot create {}: {err}", out.display()))?;
    let (mut server, addr) = start_partykit_dev(&fidelity_project(), &out)?;
    let result = run_command(
        cargo(&[TESTS, &["--", "--ignored"]].concat()).env("PARTYKIT_HOST", addr.to_string()),
    );
    server.stop();
    result.map_err(|err| {
        format!(
            "{err}; the server's log is in {}",
            out.join("partykit-dev.log").display()
        )
    })
}
