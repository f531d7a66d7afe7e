//! Formatting, clippy and documentation checks over the whole workspace, the README's
//! snippets and Markdown structure, and the publishing check.

use crate::process::{cargo, ensure_rust_target, run as run_command};
use crate::wasm::TARGET;

/// The Markdown structure check (and its own tests), `cargo fmt --check`,
/// `clippy -D warnings` on all targets (every feature, and the core without any; the
/// browser crates for wasm32 too), `cargo doc` with `-Dwarnings`, the README's Rust
/// snippets compiled as doctests, and `cargo package` of the library crates.
pub(crate) fn run() -> Result<(), String> {
    eprintln!("==> lint");
    crate::markdown::run()?;
    run_command(&mut cargo(&[
        "test",
        "--locked",
        "--package",
        "xtask",
        "--quiet",
    ]))?;
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
    // The server half of the server-rendered chat page, on the host.
    run_command(&mut cargo(&[
        "clippy",
        "--package",
        "leptos-chat",
        "--all-targets",
        "--no-default-features",
        "--features",
        "ssr",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The browser crates, for the target they run on.
    ensure_rust_target(TARGET)?;
    // The Leptos crates with their default features: `ssr` would leave out the code
    // that runs in the browser.
    for (package, features) in [
        ("partysocket-wasm", "--all-features"),
        ("partysocket-wasm-size-demo", "--all-features"),
        ("partysocket-leptos", "--features="),
        ("partysocket-leptos", "--features=hydrate"),
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
    // The Bevy plugin on partysocket-wasm, and its browser test (its example is a native
    // program: it starts the bundled server on tokio).
    run_command(&mut cargo(&[
        "clippy",
        "--package",
        "partysocket-bevy",
        "--target",
        TARGET,
        "--lib",
        "--tests",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    run_command(
        cargo(&[
            "doc",
            "--package",
            "partysocket-bevy",
            "--target",
            TARGET,
            "--no-deps",
            "--locked",
        ])
        .env("RUSTDOCFLAGS", "-Dwarnings"),
    )?;
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
    // The browser half of the server-rendered chat page.
    run_command(&mut cargo(&[
        "clippy",
        "--package",
        "leptos-chat",
        "--target",
        TARGET,
        "--lib",
        "--no-default-features",
        "--features",
        "hydrate",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
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
    )?;
    // Every Rust snippet of the README, compiled (warnings denied) on the host.
    run_command(&mut cargo(&[
        "test",
        "--locked",
        "--package",
        "readme-doctests",
        "--doc",
    ]))?;
    crate::package::run()
}
