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
//! - Inert under SSR (feature `ssr`, or any target but `wasm32`), so pages hydrate.
//!
//! ```no_run
//! use leptos::prelude::*;
//! use partysocket_leptos::{Message, UsePartySocketOptions, use_party_socket};
//!
//! #[component]
//! fn Chat(room: Signal<String>) -> impl IntoView {
//!     let (messages, set_messages) = signal(Vec::<String>::new());
//!     let socket = use_party_socket(
//!         UsePartySocketOptions::default()
//!             .host("my-app.my-user.partykit.dev")
//!             .room(room)
//!             .on_message(move |message: &Message| {
//!                 if let Some(text) = message.as_text() {
//!                     set_messages.update(|all| all.push(text.to_owned()));
//!                 }
//!             }),
//!     );
//!     view! {
//!         <p>"Status: "{move || format!("{:?}", socket.ready_state.get())}</p>
//!         <For each=move || messages.get().into_iter().enumerate() key=|(i, _)| *i let:item>
//!             <div>{item.1}</div>
//!         </For>
//!         <input on:keydown=move |event| {
//!             if event.key() == "Enter" {
//!                 let input = event_target_value(&event);
//!                 let _ = socket.send(input);
//!             }
//!         }/>
//!     }
//! }
//! ```
//!
//! The hook must run under a reactive owner (a component, or an `Owner` in tests); its
//! socket lives until that owner is cleaned up.

mod options;
mod return_type;
#[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
mod session;
#[cfg(not(all(target_arch = "wasm32", not(feature = "ssr"))))]
#[path = "inert.rs"]
mod session;
mod use_party_socket;

pub use crate::options::{QueueOnReplace, UsePartySocketOptions};
pub use crate::return_type::UsePartySocketReturn;
pub use crate::use_party_socket::{use_party_socket, use_party_socket_json};
pub use partysocket_wasm::{
    CloseFrame, ConnectionState, Error, Message, PartySocket, PartySocketOptionsBuilder, Query,
    ReadyState, SendOutcome, StopReason, TransportError,
};
