//! A reconnecting WebSocket client for [PartyKit](https://partykit.io) rooms in the
//! browser: the [`partysocket`] core over `web_sys::WebSocket`, for Leptos, Yew, Dioxus
//! and plain wasm-bindgen apps.
//!
//! The API is the native driver's: [`PartySocket::connect`] returns a cloneable handle
//! with synchronous commands ([`send`](PartySocket::send),
//! [`close`](PartySocket::close), [`reconnect`](PartySocket::reconnect), ...) and the
//! [`Events`] stream, so code moves between targets unchanged. Code that is not async
//! can set callbacks instead ([`on_message`](PartySocket::on_message) and friends).
//! Every decision (backoff, queueing, timeouts, heartbeats, when to give up) is the core
//! [`Machine`](partysocket::Machine)'s; this crate only carries its orders out.
//!
//! ```no_run
//! use partysocket_wasm::{ConnectionState, Event, PartySocket, page_options};
//! use wasm_bindgen::prelude::*;
//!
//! #[wasm_bindgen(start)]
//! pub fn start() -> Result<(), JsValue> {
//!     // The server that served the page (ws on http, wss on https). For another one:
//!     // PartySocketOptions::builder("my-app.my-user.partykit.dev").
//!     let options = page_options()
//!         .party("chat")
//!         .room("lobby")
//!         .build()
//!         .map_err(|err| JsValue::from_str(&err.to_string()))?;
//!     let (socket, mut events) =
//!         PartySocket::connect(options).map_err(|err| JsValue::from_str(&err.to_string()))?;
//!
//!     // Callbacks, for code that is not async. Capture a weak handle: a strong one in
//!     // the socket's own callback would keep it open forever.
//!     let weak = socket.downgrade();
//!     socket.on_open(move || {
//!         if let Ok(socket) = weak.upgrade() {
//!             let _ = socket.send(r#"{"type":"status","status":"online"}"#);
//!         }
//!     });
//!     socket.on_message(|message| {
//!         if let Some(text) = message.as_text() {
//!             show(text);
//!         }
//!     });
//!
//!     // Or the event stream, for async code.
//!     wasm_bindgen_futures::spawn_local(async move {
//!         // Sent at once when open; queued (and sent before the open event) when not.
//!         let _ = socket.send(r#"{"type":"message","text":"hi"}"#);
//!         while let Some(event) = events.recv().await {
//!             match event {
//!                 Event::Message(message) => show(&format!("{} bytes", message.len())),
//!                 Event::StateChanged(ConnectionState::BackingOff { attempt, .. }) => {
//!                     show(&format!("reconnecting (attempt {attempt})"));
//!                 }
//!                 Event::Close { frame, was_clean } => {
//!                     show(&format!("closed with {frame} (clean: {was_clean})"));
//!                 }
//!                 _ => {}
//!             }
//!         }
//!         // The stream ends once the last handle is dropped; `socket` lives until here.
//!     });
//!     Ok(())
//! }
//!
//! /// Puts a line on the page.
//! fn show(line: &str) {
//!     # let _ = line;
//!     // e.g. append it to a list with web_sys
//! }
//! # fn main() {}
//! ```
//!
//! # In the browser
//!
//! - Without a host of your own, [`page_options`] uses the page's `location.host`, with
//!   `ws`/`wss` following the page's `http`/`https`.
//! - Binary frames arrive as bytes ([`Message::Binary`]), text as text.
//! - Browsers cannot send ping frames: the heartbeat is a text message, and it needs the
//!   server's cooperation. [`Heartbeat::application`] sets the ping and the expected
//!   pong; a protocol [`Heartbeat::new`] becomes [`HEARTBEAT_PING`]/[`HEARTBEAT_PONG`]
//!   (`"ping"`/`"pong"`), visible in [`PartySocket::options`]. The server must answer
//!   it: a PartyKit party in its `onMessage` (`if (message === "ping") { sender.send("pong");
//!   return; }`), a Cloudflare Durable Object with `setWebSocketAutoResponse`. Otherwise
//!   the ping reaches the party's code like any message (a broadcasting party sends it to
//!   every other client), and where nothing comes back a quiet connection is declared
//!   dead ([`TransportError::HeartbeatTimeout`]) and replaced every interval plus
//!   timeout. Leave the heartbeat off for a server that does not answer.
//! - Browsers hide the HTTP status of a refused handshake: a 401 looks like any failed
//!   attempt (an [`Event::Error`], then a close with code `1006`), so the
//!   [`FailurePolicy`]'s status rules cannot apply. Bound the retries with
//!   `max_retries`, or stop with `should_reconnect_on_close`.
//! - Handshake headers cannot be set: options with headers are refused with
//!   [`OptionsError::HeadersInBrowser`] (by [`PartySocket::connect`] and
//!   [`PartySocket::update`]), and a provider's headers
//!   ([`QueryProvider::with_credentials`]) fail their attempt with
//!   [`TransportError::ProviderHeader`] ([`HeaderError::InBrowser`]). Pass credentials
//!   in the query (a [`QueryProvider`] refreshes them before every attempt); a provider's future is dropped when its
//!   attempt is closed, times out or is replaced, so a hanging token endpoint holds one
//!   request at most.
//! - A message over `max_message_size` fails the connection by the native rule: nothing
//!   more is read from it, what the application sends in answer to the messages before
//!   it still goes out, then it is closed and replaced. Browsers cannot send the close
//!   code `1009`: the server sees a close without a code (`1005`).
//! - Frames go to the browser socket only while it is `OPEN`; once the server's close
//!   frame arrived, messages stay queued for the next connection (a browser would drop
//!   them silently). [`PartySocket::buffered_amount`] counts the browser socket's own
//!   `bufferedAmount` too.
//! - One `setTimeout` per socket, re-armed from the machine's next deadline; each socket
//!   attempt has one closure for its four handlers, detached and freed with the socket.
//! - A callback that panics aborts the module (wasm32 cannot unwind); the driver itself
//!   turns every browser failure into an [`Event::Error`].
//!
//! # Size
//!
//! The core's `tracing` calls cost bytes; an application that does not collect them
//! can compile them out with `tracing = { version = "0.1", features =
//! ["release_max_level_off"] }` in its own `Cargo.toml`. The allocator is the
//! application's choice: in the measured demo `lol_alloc`'s free-list allocator is
//! 3.1 KB gzipped smaller than the standard library's dlmalloc. IP hosts are
//! canonicalized by the page's own `URL` parser, so no IP parser is compiled in.
//! `cargo xtask size` measures a small demo and prints where its bytes go.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod diagnostics;
mod driver;
mod listener;
mod page;
mod socket;
mod timer;
mod transport;

#[doc(hidden)]
pub use crate::diagnostics::{Diagnostics, diagnostics};
pub use crate::page::{page_host, page_options};
pub use crate::socket::{Events, HEARTBEAT_PING, HEARTBEAT_PONG, PartySocket, WeakPartySocket};
pub use partysocket::{
    CloseFrame, ConnectionState, Credentials, DropPolicy, DropReason, Error, Event, FailurePolicy,
    HeaderError, Heartbeat, Message, OptionsError, OptionsUpdate, PartySocketOptions,
    PartySocketOptionsBuilder, Protocol, Query, QueryProvider, QuerySource, ReadyState,
    SendOutcome, StopReason, TransportError, redact_url,
};
