//! The `leptos-chat` example: built for wasm32 with the wasm-bindgen CLI into static
//! files, or server-rendered by its `leptos-chat-ssr` binary (`leptos_axum`) with the
//! `hydrate` build as its script; served next to `party-mock` (`cargo xtask serve
//! leptos-chat` / `leptos-chat-ssr`), and both driven end to end in headless Chromium
//! from Node with `playwright-core`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::mock::{ServerProcess, ensure_npm_packages, start_mock, target_dir};
use crate::process::{cargo, ensure_rust_target, run_bounded, workspace_root};
use crate::static_site::StaticSite;
use crate::wasm::{CHROMIUM, TARGET, ensure_chromium, ensure_wasm_bindgen_cli};

/// Building the example (a cold Leptos build for wasm32 takes minutes on 2 cores).
const BUILD_TIME: Duration = Duration::from_secs(1800);
/// The end-to-end script gives up after 120 s on its own.
const E2E_TIME: Duration = Duration::from_secs(180);
/// How long the SSR server may take to start listening.
const SERVER_START: Duration = Duration::from_secs(30);
/// How long `serve` keeps serving unless interrupted.
const SERVE_TIME: Duration = Duration::from_secs(8 * 60 * 60);

/// The example's source folder.
fn example_dir() -> PathBuf {
    workspace_root().join("examples").join("leptos-chat")
}

/// Builds the client-side rendered page into `target/leptos-chat/`: `index.html`,
/// `style.css` and `pkg/` (the wasm and its JS glue). Returns that folder.
pub(crate) fn build(bindgen: &Path) -> Result<PathBuf, String> {
    let site = target_dir()?.join("leptos-chat");
    build_wasm(bindgen, "csr", &site.join("pkg"))?;
    for file in ["index.html", "style.css"] {
        let from = example_dir().join(file);
        fs::copy(&from, site.join(file))
            .map_err(|err| format!("cannot copy {}: {err}", from.display()))?;
    }
    Ok(site)
}

/// Builds the server-rendered page: the `hydrate` build into
/// `target/leptos-chat-ssr/pkg/` and the `leptos-chat-ssr` server. Returns the site
/// folder (the server's argument) and the server binary.
pub(crate) fn build_ssr(bindgen: &Path) -> Result<(PathBuf, PathBuf), String> {
    let site = target_dir()?.join("leptos-chat-ssr");
    build_wasm(bindgen, "hydrate", &site.join("pkg"))?;
    run_bounded(
        &mut cargo(&[
            "build",
            "--locked",
            "--package",
            "leptos-chat",
            "--bin",
            "leptos-chat-ssr",
            "--no-default-features",
            "--features",
            "ssr",
        ]),
        BUILD_TIME,
    )?;
    let server = target_dir()?
        .join("debug")
        .join(format!("leptos-chat-ssr{}", std::env::consts::EXE_SUFFIX));
    Ok((site, server))
}

/// Builds the example's library for wasm32 with `feature` alone and runs the
/// wasm-bindgen CLI on it into `pkg`.
fn build_wasm(bindgen: &Path, feature: &str, pkg: &Path) -> Result<(), String> {
    run_bounded(
        &mut cargo(&[
            "build",
            "--locked",
            "--package",
            "leptos-chat",
            "--lib",
            "--target",
            TARGET,
            "--no-default-features",
            "--features",
            feature,
        ]),
        BUILD_TIME,
    )?;
    let wasm = target_dir()?
        .join(TARGET)
        .join("debug")
        .join("leptos_chat.wasm");
    fs::create_dir_all(pkg).map_err(|err| format!("cannot create {}: {err}", pkg.display()))?;
    run_bounded(
        Command::new(bindgen)
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(pkg)
            .arg(&wasm),
        BUILD_TIME,
    )
}

/// Starts the built `leptos-chat-ssr` on a free loopback port for `site`; returns it
/// (stopped by PID on drop) and its address once it answers HTTP.
fn start_ssr(server: &Path, site: &Path) -> Result<(ServerProcess, std::net::SocketAddr), String> {
    let mut process =
        ServerProcess::spawn("leptos-chat-ssr", Command::new(server).arg(site), None)?;
    let addr = process.first_line_address(SERVER_START)?;
    process.wait_until_serving(addr, SERVER_START)?;
    Ok((process, addr))
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

/// `cargo xtask serve leptos-chat-ssr`: builds the server-rendered page and its
/// `hydrate` script, starts `party-mock` and `leptos-chat-ssr` on loopback, prints the
/// URL, and serves until interrupted (at most [`SERVE_TIME`]).
pub(crate) fn serve_ssr() -> Result<(), String> {
    ensure_rust_target(TARGET)?;
    let bindgen = ensure_wasm_bindgen_cli()?;
    let (site, server) = build_ssr(&bindgen)?;
    let (_mock, mock_addr) = start_mock()?;
    let (_server, addr) = start_ssr(&server, &site)?;
    println!("leptos-chat-ssr: open http://{addr}/?host={mock_addr}&room=lobby");
    println!("  (add &name=you: without it the server-rendered page says `guest`; Ctrl-C stops)");
    let start = Instant::now();
    while start.elapsed() < SERVE_TIME {
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}

/// Two pages, one room, a server restart: see `examples/leptos-chat/e2e/chat.mjs`.
/// Screenshots go to `target/e2e/`.
pub(crate) fn end_to_end(bindgen: &Path) -> Result<(), String> {
    eprintln!("==> leptos-chat end to end (client-side rendered)");
    ensure_chromium()?;
    let e2e = example_dir().join("e2e");
    ensure_npm_packages(&e2e)?;
    let site = build(bindgen)?;
    let (mut mock, mock_addr) = start_mock()?;
    let pages = StaticSite::start(&site, 0)?;
    let result = drive(&format!("http://{}/", pages.addr()), mock_addr, "csr");
    drop(pages);
    mock.stop();
    result?;

    eprintln!("==> leptos-chat end to end (server-rendered with leptos_axum, hydrated)");
    let start = Instant::now();
    let (site, server) = build_ssr(bindgen)?;
    eprintln!(
        "--> the SSR page and its hydrate build took {:.0?} to build",
        start.elapsed()
    );
    let (mut mock, mock_addr) = start_mock()?;
    let (mut ssr, addr) = start_ssr(&server, &site)?;
    let result = drive(&format!("http://{addr}/"), mock_addr, "ssr");
    ssr.stop();
    mock.stop();
    result
}

/// Runs `e2e/chat.mjs` against the page at `url` in `mode` (`csr` or `ssr`).
/// Screenshots go to `target/e2e/<mode>/`.
fn drive(url: &str, mock_addr: std::net::SocketAddr, mode: &str) -> Result<(), String> {
    let shots = target_dir()?.join("e2e").join(mode);
    run_bounded(
        Command::new("node")
            .arg("chat.mjs")
            .arg(url)
            .arg(mock_addr.to_string())
            .arg(&shots)
            .arg(mode)
            .env("CHROMIUM", CHROMIUM)
            .current_dir(example_dir().join("e2e")),
        E2E_TIME,
    )
}
