//! [`use_party_socket`] for [Leptos](https://leptos.dev) 0.8: a reconnecting
//! [PartyKit](https://partykit.io) socket as signals, the counterpart of React's
//! `usePartySocket` from the npm `partysocket` package, built on [`partysocket_wasm`].
//!
//! - Signals for the ready state, the detailed connection state (connecting with its
//!   attempt, open, backing off with the retry time, closed with why) and the latest
//!   message; `on_message` sees every message, since signals coalesce a burst.
//! - Reactive options: `host`, `party`, `room`, `query` and `id` may be signals; a change
//!   replaces the socket, and its queue follows only to the same room URL (a token
//!   refresh) unless [`QueueOnReplace`] says otherwise. `enabled` closes and reopens the
//!   same socket.
//! - Cleanup with the owner: unmounting closes the socket and frees its timer and
//!   closures; nothing fires afterwards.
//! - One socket for the whole app: [`provide_party_socket`] at the root, and
//!   [`use_party_socket_context`] in any component below, with the same signals and
//!   commands (one connection, however many components).
//! - An `error` signal: options that cannot be used, or a socket that gave up.
//! - A wire format as a type: [`use_party_socket_json`] for JSON, or
//!   [`use_party_socket_with_codec`] with any [`Codec`] (binary formats included), whose
//!   `send_value` encodes and whose signals hold decoded values.
//! - Inert under SSR (feature `ssr`, or any target but `wasm32`), so pages hydrate; with
//!   the feature `hydrate`, a hook running during hydration connects once it is done.
//!
//! The PartyKit guide's React chat (`usePartySocket`), in Leptos (the README shows both
//! side by side):
//!
//! ```no_run
//! use leptos::prelude::*;
//! use partysocket_leptos::{UsePartySocketOptions, use_party_socket_json};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Deserialize)]
//! #[serde(tag = "type", rename_all = "lowercase")]
//! enum Incoming {
//!     Message { text: String },
//!     #[serde(other)]
//!     Other,
//! }
//!
//! #[derive(Serialize)]
//! #[serde(tag = "type", rename_all = "lowercase")]
//! enum Outgoing {
//!     Message { text: String },
//! }
//!
//! #[component]
//! fn Chat(#[prop(into)] room_id: Signal<String>) -> impl IntoView {
//!     let (messages, set_messages) = signal(Vec::<String>::new());
//!
//!     let socket = use_party_socket_json::<Incoming, Outgoing>(
//!         UsePartySocketOptions::default()
//!             .host("your-project.partykit.dev")
//!             .room(room_id) // a signal: a new room replaces the socket
//!             .on_message(move |data: &Incoming| {
//!                 if let Incoming::Message { text } = data {
//!                     set_messages.update(|prev| prev.push(text.clone()));
//!                 }
//!             }),
//!     );
//!
//!     view! {
//!         <div>
//!             <p>"Status: " {move || format!("{:?}", socket.connection_state.get())}</p>
//!             {move || messages.get().into_iter().map(|msg| view! { <div>{msg}</div> }).collect_view()}
//!             <input on:keydown=move |e| {
//!                 if e.key() == "Enter" {
//!                     let input = event_target::<web_sys::HtmlInputElement>(&e);
//!                     let _ = socket.send_json(&Outgoing::Message { text: input.value() });
//!                     input.set_value("");
//!                 }
//!             }/>
//!         </div>
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! The hook must run under a reactive owner (a component, or an `Owner` in tests); its
//! socket lives until that owner is cleaned up.

#![cfg_attr(docsrs, feature(doc_cfg))]

mod codec;
mod context;
mod options;
mod return_type;
#[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
mod session;
#[cfg(not(all(target_arch = "wasm32", not(feature = "ssr"))))]
#[path = "inert.rs"]
mod session;
mod use_party_socket;

pub use crate::codec::{Codec, JsonCodec, MessageCodec, SendError};
pub use crate::context::{
    provide_party_socket, provide_party_socket_json, provide_party_socket_with_codec,
    use_party_socket_context, use_party_socket_json_context, use_party_socket_with_codec_context,
};
pub use crate::options::{QueueOnReplace, UsePartySocketOptions};
pub use crate::return_type::UsePartySocketReturn;
pub use crate::use_party_socket::{
    use_party_socket, use_party_socket_json, use_party_socket_with_codec,
};
pub use partysocket_wasm::{
    CloseFrame, ConnectionState, Error, Message, OptionsError, PartySocket,
    PartySocketOptionsBuilder, Query, QueryProvider, ReadyState, SendOutcome, StopReason,
    TransportError,
};
