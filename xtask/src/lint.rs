//! Formatting, clippy and documentation checks over the whole workspace.

use crate::process::{cargo, ensure_rust_target, run as run_command};
use crate::wasm::TARGET;

/// `cargo fmt --check`, `clippy -D warnings` on all targets (every feature, and the core
/// without any; the browser crates for wasm32 too), and `cargo doc` with `-Dwarnings`.
pub(crate) fn run() -> Result<(), String> {
    eprintln!("==> lint");
    run_command(&mut cargo(&["fmt", "--all", "--", "--check"]))?;
    // The Leptos chat page only runs in a browser: it is linted for wasm32 below.
    run_command(&mut cargo(&[
        "clippy",
        "--workspace",
        "--exclude",
        "leptos-chat",
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
            "--exclude",
            "leptos-chat",
            "--all-features",
            "--no-deps",
            "--locked",
        ])
        .env("RUSTDOCFLAGS", "-Dwarnings"),
    )?;
    // The browser crates, for the target they run on.
    ensure_rust_target(TARGET)?;
    // The Leptos crates with their default features: `ssr` would leave out the code
    // that runs in the browser.
    for (package, features) in [
        ("partysocket-wasm", "--all-features"),
        ("partysocket-wasm-size-demo", "--all-features"),
        ("partysocket-leptos", "--features="),
        ("leptos-chat", "--features="),
    ] {
        run_command(&mut cargo(&[
            "clippy",
            "--package",
            package,
            "--target",
            TARGET,
            "--all-targets",
            features,
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
    )?;
    run_command(
        cargo(&[
            "doc",
            "--package",
            "partysocket-leptos",
            "--package",
            "leptos-chat",
            "--target",
            TARGET,
            "--no-deps",
            "--locked",
        ])
        .env("RUSTDOCFLAGS", "-Dwarnings"),
    )
}
