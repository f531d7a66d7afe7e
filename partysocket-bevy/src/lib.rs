//! PartyKit rooms in a [Bevy](https://bevyengine.org) app, with only `bevy_app` and
//! `bevy_ecs` (no rendering: headless servers and bots use it too).
//!
//! - [`PartySocketPlugin`] owns the I/O: natively a tokio runtime on a background
//!   thread; in the browser (`wasm32-unknown-unknown`) the page's event loop drives
//!   [`partysocket-wasm`](https://docs.rs/partysocket-wasm) sockets, with no thread.
//! - A socket is a [`PartySocketConnection`] component on an entity, so an app can be
//!   in several rooms at once. Open one with
//!   [`PartySocketCommands::open_party_socket`] (a `Commands` extension), close it with
//!   [`PartySocketCommands::close_party_socket`] or by despawning the entity.
//! - Systems send directly through [`PartySockets`], a system parameter that gives
//!   each entity's [`PartySocket`]: the library's synchronous handle (`send`,
//!   `send_coalesced` for positions), which queues while disconnected and reconnects
//!   on its own. Natively `PartySocketConnection::socket()` gives it too.
//! - What arrives becomes Bevy messages, read with `MessageReader`: [`SocketOpened`],
//!   [`SocketMessage`], [`SocketClosed`], [`SocketError`], [`SocketStateChanged`] and
//!   [`SocketEvicted`]. They are drained in `PreUpdate`, at most
//!   [`PartySocketPlugin::events_per_frame`] per socket per frame, so a burst cannot
//!   stall a frame; the rest waits for the next one (and the socket stops reading while
//!   its event buffer is full, holding the server back).
//!
//! ```no_run
//! use bevy_app::{App, Startup, Update};
//! use bevy_ecs::prelude::*;
//! use partysocket::PartySocketOptions;
//! use partysocket_bevy::{PartySocketCommands, PartySocketPlugin, SocketMessage};
//!
//! fn join(mut commands: Commands) {
//!     match PartySocketOptions::builder("localhost:1999").party("game").room("arena").build() {
//!         Ok(options) => {
//!             commands.open_party_socket(options);
//!         }
//!         Err(err) => eprintln!("{err}"),
//!     }
//! }
//!
//! fn print(mut messages: MessageReader<SocketMessage>) {
//!     for arrived in messages.read() {
//!         println!("{:?} got {:?}", arrived.entity, arrived.message);
//!     }
//! }
//!
//! App::new()
//!     .add_plugins(PartySocketPlugin::default())
//!     .add_systems(Startup, join)
//!     .add_systems(Update, print)
//!     .run();
//! ```

//! # In the browser
//!
//! The same plugin, commands, messages and budget build for `wasm32-unknown-unknown`,
//! where [`PartySocket`] is `partysocket-wasm`'s handle. What differs:
//!
//! - That handle is not `Send`, so it cannot be a component: the sockets live in the
//!   non-`Send` `BrowserSockets` resource, keyed by entity, and
//!   [`PartySocketConnection`] holds only the socket's id (it has no `socket()`).
//!   Reach the handle with [`PartySockets`], which works on both targets.
//! - No I/O thread: the page's event loop runs the sockets between frames, and each
//!   socket's listener fills a queue that `PreUpdate` drains within the budget. A
//!   browser cannot stop reading a WebSocket, so events beyond the budget wait in that
//!   queue without holding the server back.
//! - A despawned entity's socket closes in the next frame's `PreUpdate` (natively at
//!   once, with its component).
//! - The browser's own rules apply (see `partysocket-wasm`): no handshake headers
//!   (options with headers fail with [`SocketFailure::Open`]), a refused handshake's
//!   HTTP status is hidden, and a heartbeat is a text ping the server must answer.
//! - Open sockets from the main thread (Bevy's single-threaded executor, the default
//!   in the browser): a command carries only an id, and the options wait in the
//!   opening thread's storage.

mod commands;
#[cfg(target_arch = "wasm32")]
#[path = "browser.rs"]
mod driver;
#[cfg(not(target_arch = "wasm32"))]
#[path = "native.rs"]
mod driver;
mod messages;
mod plugin;

pub use crate::commands::PartySocketCommands;
#[cfg(target_arch = "wasm32")]
pub use crate::driver::BrowserSockets;
#[cfg(not(target_arch = "wasm32"))]
pub use crate::driver::SocketRuntime;
pub use crate::driver::{PartySocketConnection, PartySockets};
pub use crate::messages::{
    SocketClosed, SocketError, SocketEvicted, SocketFailure, SocketMessage, SocketOpened,
    SocketStateChanged,
};
pub use crate::plugin::PartySocketPlugin;
/// The socket handle [`PartySockets`] gives: the native driver's, or in the browser
/// `partysocket-wasm`'s (the same methods).
#[cfg(not(target_arch = "wasm32"))]
pub use partysocket::PartySocket;
/// The socket handle [`PartySockets`] gives: the native driver's, or in the browser
/// `partysocket-wasm`'s (the same methods).
#[cfg(target_arch = "wasm32")]
pub use partysocket_wasm::PartySocket;
