//! The `leptos-chat` example: built for wasm32 with the wasm-bindgen CLI into static
//! files, served next to `party-mock` (`cargo xtask serve leptos-chat`), and driven end
//! to end in headless Chromium from Node with `playwright-core`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::mock::start_mock;
use crate::mock::{ensure_npm_packages, target_dir};
use crate::process::{cargo, ensure_rust_target, run_bounded, workspace_root};
use crate::static_site::StaticSite;
use crate::wasm::{CHROMIUM, TARGET, ensure_chromium, ensure_wasm_bindgen_cli};

/// Building the example (a cold Leptos build for wasm32 takes minutes on 2 cores).
const BUILD_TIME: Duration = Duration::from_secs(1800);
/// The end-to-end script gives up after 120 s on its own.
const E2E_TIME: Duration = Duration::from_secs(180);
/// How long `serve` keeps serving unless interrupted.
const SERVE_TIME: Duration = Duration::from_secs(8 * 60 * 60);

/// The example's source folder.
fn example_dir() -> PathBuf {
    workspace_root().join("examples").join("leptos-chat")
}

/// Builds the page into `target/leptos-chat/`: `index.html` and `pkg/` (the wasm and
/// its JS glue). Returns that folder.
pub(crate) fn build(bindgen: &Path) -> Result<PathBuf, String> {
    run_bounded(
        &mut cargo(&[
            "build",
            "--locked",
            "--package",
            "leptos-chat",
            "--target",
            TARGET,
        ]),
        BUILD_TIME,
    )?;
    let target = target_dir()?;
    let wasm = target.join(TARGET).join("debug").join("leptos_chat.wasm");
    let site = target.join("leptos-chat");
    let pkg = site.join("pkg");
    fs::create_dir_all(&pkg).map_err(|err| format!("cannot create {}: {err}", pkg.display()))?;
    run_bounded(
        Command::new(bindgen)
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(&pkg)
            .arg(&wasm),
        BUILD_TIME,
    )?;
    let index = example_dir().join("index.html");
    fs::copy(&index, site.join("index.html"))
        .map_err(|err| format!("cannot copy {}: {err}", index.display()))?;
    Ok(site)
}

/// `cargo xtask serve leptos-chat`: builds the page, starts `party-mock` and a static
/// file server on loopback, prints the URL, and serves until interrupted (at most
/// [`SERVE_TIME`]).
pub(crate) fn serve() -> Result<(), String> {
    ensure_rust_target(TARGET)?;
    let bindgen = ensure_wasm_bindgen_cli()?;
    let site = build(&bindgen)?;
    let (_mock, mock_addr) = start_mock()?;
    let pages = StaticSite::start(&site, 0)?;
    let url = format!("http://{}/?host={mock_addr}&room=lobby", pages.addr());
    println!("leptos-chat: open {url}");
    println!("  (add &name=you; open it twice to chat with yourself; Ctrl-C stops)");
    println!(
        "  restart the server to watch it reconnect: curl -X POST http://{mock_addr}/_mock/restart?down_ms=3000"
    );
    let start = Instant::now();
    while start.elapsed() < SERVE_TIME {
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}

/// Two pages, one room, a server restart: see `examples/leptos-chat/e2e/chat.mjs`.
/// Screenshots go to `target/e2e/`.
pub(crate) fn end_to_end(bindgen: &Path) -> Result<(), String> {
    eprintln!("==> leptos-chat end to end");
    ensure_chromium()?;
    let e2e = example_dir().join("e2e");
    ensure_npm_packages(&e2e)?;
    let site = build(bindgen)?;
    let shots = target_dir()?.join("e2e");
    let (mut mock, mock_addr) = start_mock()?;
    let pages = StaticSite::start(&site, 0)?;
    let result = run_bounded(
        Command::new("node")
            .arg("chat.mjs")
            .arg(format!("http://{}/", pages.addr()))
            .arg(mock_addr.to_string())
            .arg(&shots)
            .env("CHROMIUM", CHROMIUM)
            .current_dir(&e2e),
        E2E_TIME,
    );
    drop(pages);
    mock.stop();
    result
}
