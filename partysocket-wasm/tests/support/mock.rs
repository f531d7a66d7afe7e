//! The mock server from a browser test: its address (compiled in), its control API
//! (`/_mock/...`) and its log, and bounded waits. Shared by the browser tests of
//! `partysocket-wasm` and `partysocket-leptos`.
//!
//! The mock runs as the `party-mock` binary, started by `cargo xtask test wasm` (or
//! `leptos`), which passes its address at build time in `PARTY_MOCK_HOST`.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The bound on every wait.
pub const WAIT: Duration = Duration::from_secs(10);

/// The mock server's `host:port`.
pub fn mock_host() -> &'static str {
    // Read at build time, so clippy and builds without a server still compile.
    match option_env!("PARTY_MOCK_HOST") {
        Some(host) => host,
        None => panic!(
            "PARTY_MOCK_HOST was not set at build time: run these tests with `cargo xtask test wasm` or `cargo xtask test leptos`"
        ),
    }
}

/// A room name no other test (or earlier run against the same server) uses.
pub fn room(name: &str) -> String {
    let nonce = (js_sys::Math::random() * 1e9) as u64;
    format!("{name}-{nonce}")
}

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let global: web_sys::Window = js_sys::global().unchecked_into();
        let _ = global.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
    });
    let _ = JsFuture::from(promise).await;
}

/// Calls the mock's control API (`/_mock/...`) and returns its JSON answer.
pub async fn control(method: &str, path_and_query: &str) -> Value {
    let url = format!("http://{}/_mock/{path_and_query}", mock_host());
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let window: web_sys::Window = js_sys::global().unchecked_into();
    let response = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .unwrap_or_else(|err| panic!("{method} {url}: {err:?}"));
    let response: web_sys::Response = response.unchecked_into();
    let text = JsFuture::from(response.text().expect("a body"))
        .await
        .expect("the body reads");
    let text = text.as_string().unwrap_or_default();
    assert!(
        response.ok(),
        "{method} {url}: {} {text}",
        response.status()
    );
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{url}: {err}: {text}"))
}

/// Disarms every fault (the log is cleared too).
pub async fn reset() {
    control("POST", "reset").await;
}

/// The WebSocket attempts the mock logged for `party`/`room`, oldest first.
pub async fn attempts(party: &str, room: &str) -> Vec<Value> {
    let log = control("GET", "log").await;
    log["attempts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|attempt| {
            attempt["kind"] == "websocket" && attempt["party"] == party && attempt["room"] == room
        })
        .collect()
}

/// The `outcome` of each attempt (`accepted`, `refused`, `stalled`), oldest first.
pub async fn outcomes(party: &str, room: &str) -> Vec<String> {
    attempts(party, room)
        .await
        .iter()
        .map(|attempt| match attempt["status"].as_u64() {
            Some(status) => format!("{} {status}", attempt["outcome"].as_str().unwrap_or("?")),
            None => attempt["outcome"].as_str().unwrap_or("?").to_owned(),
        })
        .collect()
}

/// What the room received: `(connection id, "text" or "binary", data)`, oldest first.
pub async fn received(party: &str, room: &str) -> Vec<(String, String, Value)> {
    let log = control("GET", &format!("log?party={party}&room={room}")).await;
    let Some(rooms) = log["received"].as_array() else {
        return Vec::new();
    };
    rooms
        .iter()
        .flat_map(|room| room["messages"].as_array().cloned().unwrap_or_default())
        .map(|entry| {
            (
                entry["connection_id"].as_str().unwrap_or("").to_owned(),
                entry["message"]["type"].as_str().unwrap_or("").to_owned(),
                entry["message"]["data"].clone(),
            )
        })
        .collect()
}

/// The ids of the open connections in `party`/`room`.
pub async fn connections(party: &str, room: &str) -> Vec<String> {
    let list = control("GET", "connections").await;
    list.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c["party"] == party && c["room"] == room)
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect()
}

/// Polls `check` every 50 ms until it returns true, for at most [`WAIT`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let rounds = WAIT.as_millis() / 50;
    for _ in 0..rounds {
        if check().await {
            return;
        }
        sleep(50).await;
    }
    panic!("{what}: not within {WAIT:?}");
}
