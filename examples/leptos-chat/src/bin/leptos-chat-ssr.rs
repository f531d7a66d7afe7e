//! The chat page rendered on the server with `leptos_axum` and hydrated in the browser.
//!
//! usage: `leptos-chat-ssr <site folder> [port]`. The site folder holds `pkg/`, the
//! `hydrate` build of this crate after `wasm-bindgen --target web` (`leptos_chat.js` and
//! `leptos_chat_bg.wasm`). It listens on 127.0.0.1 (port 0, the default, picks a free
//! one), prints `listening on ADDR` once it accepts, and serves
//! `/` (the page: `?host=`, `?room=`, `?name=` as in the client-side rendered page) and
//! `/pkg/`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use axum::Router;
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos_chat::shell;
use tower_http::services::ServeDir;

const USAGE: &str = "usage: leptos-chat-ssr <site folder holding pkg/> [port]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("leptos-chat-ssr: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), String> {
    // Leptos runs its tasks (rendering, effects) on the tokio runtime.
    any_spawner::Executor::init_tokio()
        .map_err(|err| format!("cannot give Leptos the tokio runtime: {err:?}"))?;
    let mut args = std::env::args().skip(1);
    let site = PathBuf::from(args.next().ok_or(USAGE)?);
    let port = match args.next() {
        Some(port) => port
            .parse::<u16>()
            .map_err(|err| format!("port {port:?}: {err}; {USAGE}"))?,
        None => 0,
    };
    let pkg = site.join("pkg");
    if !pkg.join("leptos_chat.js").is_file() {
        return Err(format!(
            "{} has no leptos_chat.js: build the `hydrate` feature for wasm32 and run wasm-bindgen into it",
            pkg.display()
        ));
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|err| format!("cannot listen on 127.0.0.1:{port}: {err}"))?;
    let addr = listener
        .local_addr()
        .map_err(|err| format!("cannot read the listening address: {err}"))?;
    let options = LeptosOptions::builder()
        .output_name("leptos_chat")
        .site_root(site.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let page = leptos_axum::render_app_to_stream(move || shell(options.clone()));
    let app = Router::new()
        .route("/", get(page))
        .nest_service("/pkg", ServeDir::new(pkg));
    println!("listening on {addr} (the chat page: http://{addr}/)");
    axum::serve(listener, app)
        .await
        .map_err(|err| format!("the server stopped: {err}"))
}
