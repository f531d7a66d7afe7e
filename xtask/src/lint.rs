//! Formatting, clippy and documentation checks over the whole workspace.

use crate::process::{cargo, ensure_rust_target, run as run_command};
use crate::wasm::TARGET;

/// `cargo fmt --check`, `clippy -D warnings` on all targets (every feature, and the core
/// without any; the browser driver for wasm32 too), and `cargo doc` with `-Dwarnings`.
pub(crate) fn run() -> Result<(), String> {
    eprintln!("==> lint");
    run_command(&mut cargo(&["fmt", "--all", "--", "--check"]))?;
    run_command(&mut cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The core alone, as browsers and bindings build it.
    run_command(&mut cargo(&[
        "clippy",
        "--package",
        "partysocket",
        "--no-default-features",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    run_command(
        cargo(&[
            "doc",
            "--workspace",
            "--all-features",
            "--no-deps",
            "--locked",
        ])
        .env("RUSTDOCFLAGS", "-Dwarnings"),
    )?;
    // The browser driver, for the target it runs on.
    ensure_rust_target(TARGET)?;
    for package in ["partysocket-wasm", "partysocket-wasm-size-demo"] {
        run_command(&mut cargo(&[
            "clippy",
            "--package",
            package,
            "--target",
            TARGET,
            "--all-targets",
            "--all-features",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    run_command(
        cargo(&[
            "doc",
            "--package",
            "partysocket-wasm",
            "--target",
            TARGET,
            "--all-features",
            "--no-deps",
            "--locked",
        ])
        .env("RUSTDOCFLAGS", "-Dwarnings"),
    )
}
