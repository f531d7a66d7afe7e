//! What the hook tests share: the mock server (the browser driver's test support,
//! `partysocket-wasm/tests/support/mock.rs`), a reactive owner per test, bounded waits,
//! and a console that remembers warnings.

#![allow(dead_code, unreachable_pub)]

#[path = "../../../partysocket-wasm/tests/support/mock.rs"]
mod mock;
pub use mock::*;

use std::time::Duration;

use leptos::prelude::*;
use partysocket_leptos::{PartySocketOptionsBuilder, UsePartySocketOptions};
use wasm_bindgen::JsValue;

/// A reactive owner for one test, with the browser executor that runs effects.
pub fn owner() -> Owner {
    let _ = any_spawner::Executor::init_wasm_bindgen();
    Owner::new()
}

/// Short reconnection delays, for tests.
pub fn quick(builder: PartySocketOptionsBuilder) -> PartySocketOptionsBuilder {
    builder
        .min_reconnection_delay(Duration::from_millis(50))
        .max_reconnection_delay(Duration::from_millis(200))
        .connection_timeout(Duration::from_secs(3))
}

/// Hook options for `party`/`room` on the mock, with short reconnection delays.
pub fn options<In>(party: &str, room: impl Into<Signal<String>>) -> UsePartySocketOptions<In> {
    UsePartySocketOptions::default()
        .host(mock_host().to_owned())
        .party(party.to_owned())
        .room(room)
        .configure(quick)
}

/// What the room received: `(connection id, text)`, oldest first.
pub async fn received(party: &str, room: &str) -> Vec<(String, String)> {
    mock::received(party, room)
        .await
        .into_iter()
        .map(|(id, _kind, data)| (id, data.as_str().unwrap_or("").to_owned()))
        .collect()
}

/// What the room received: `(kind, data)`, oldest first; `kind` is `text` (`data` a
/// string) or `binary` (`data` an array of bytes).
pub async fn received_frames(party: &str, room: &str) -> Vec<(String, serde_json::Value)> {
    mock::received(party, room)
        .await
        .into_iter()
        .map(|(_id, kind, data)| (kind, data))
        .collect()
}

/// Polls a synchronous `check` until it returns true, for at most [`WAIT`].
pub async fn until(what: &str, mut check: impl FnMut() -> bool) {
    eventually(what, || std::future::ready(check())).await;
}

/// Makes `console.warn` also remember its lines, from now on; read them with
/// [`warnings`].
pub fn capture_warnings() {
    let install = js_sys::Function::new_no_args(
        "if (!globalThis.__warnings) { \
           globalThis.__warnings = []; \
           const original = console.warn; \
           console.warn = function (...args) { \
             globalThis.__warnings.push(args.join(' ')); \
             original.apply(console, args); \
           }; \
         }",
    );
    install
        .call0(&JsValue::NULL)
        .expect("console.warn is replaced");
}

/// Every line `console.warn` printed since [`capture_warnings`].
pub fn warnings() -> Vec<String> {
    let list = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("__warnings"))
        .unwrap_or(JsValue::UNDEFINED);
    if list.is_undefined() {
        return Vec::new();
    }
    js_sys::Array::from(&list)
        .iter()
        .filter_map(|line| line.as_string())
        .collect()
}
