//! What the browser tests share: the mock server (in `mock.rs`, shared with the Leptos
//! hook's tests), bounded waits on events, and small options.

#![allow(dead_code, unreachable_pub)]

mod mock;
pub use mock::*;

use std::time::Duration;

use futures_util::future::{Either, select};
use partysocket_wasm::{Event, Events, PartySocketOptions, PartySocketOptionsBuilder, Protocol};
use wasm_bindgen::JsValue;

/// Options for `party`/`room` on the mock, with short reconnection delays.
pub fn options(party: &str, room: &str) -> PartySocketOptionsBuilder {
    PartySocketOptions::builder(mock_host())
        .protocol(Protocol::Ws)
        .party(party)
        .room(room)
        .min_reconnection_delay(Duration::from_millis(50))
        .max_reconnection_delay(Duration::from_millis(200))
        .connection_timeout(Duration::from_secs(3))
}

/// The next event, within `limit`.
pub async fn next_within(events: &mut Events, limit: Duration) -> Option<Event> {
    let timeout = Box::pin(sleep(limit.as_millis() as u32));
    let next = Box::pin(events.recv());
    match select(next, timeout).await {
        Either::Left((event, _)) => event,
        Either::Right(_) => None,
    }
}

/// Reads events until one satisfies `wanted`; returns every event read, that one last.
/// Panics with the events seen when none does within [`WAIT`].
pub async fn until(events: &mut Events, mut wanted: impl FnMut(&Event) -> bool) -> Vec<Event> {
    let start = js_sys::Date::now();
    let mut seen = Vec::new();
    loop {
        let left = WAIT.as_millis() as f64 - (js_sys::Date::now() - start);
        if left <= 0.0 {
            panic!("no wanted event within {WAIT:?}; saw {seen:#?}");
        }
        match next_within(events, Duration::from_millis(left as u64)).await {
            Some(event) => {
                let done = wanted(&event);
                seen.push(event);
                if done {
                    return seen;
                }
            }
            None => panic!("no wanted event within {WAIT:?} (or the stream ended); saw {seen:#?}"),
        }
    }
}

/// Every event that arrives within `ms` milliseconds.
pub async fn collect_for(events: &mut Events, ms: u64) -> Vec<Event> {
    let end = js_sys::Date::now() + ms as f64;
    let mut seen = Vec::new();
    loop {
        let left = end - js_sys::Date::now();
        if left <= 0.0 {
            return seen;
        }
        match next_within(events, Duration::from_millis(left as u64)).await {
            Some(event) => seen.push(event),
            None => return seen,
        }
    }
}

/// The text of a message event.
pub fn text(event: &Event) -> Option<&str> {
    match event {
        Event::Message(message) => message.as_text(),
        _ => None,
    }
}

/// Makes a JavaScript value readable in a panic message.
pub fn show(value: &JsValue) -> String {
    format!("{value:?}")
}
