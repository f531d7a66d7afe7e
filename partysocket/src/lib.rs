//! A reconnecting WebSocket client for [PartyKit](https://partykit.io) rooms: the Rust
//! counterpart of the npm `partysocket` package.
//!
//! It builds the room URL (`/parties/:party/:room?_pk=<id>`), reconnects with
//! grow-factor backoff (optionally jittered), queues messages while disconnected and
//! flushes them before the open event, times out stuck handshakes, detects half-open
//! connections with heartbeats, and stops on terminal failures (a 401 handshake) instead
//! of retrying forever.
//!
//! For a server that is not PartyKit, [`PartySocketOptions::for_url`] gives the same
//! socket for any `ws://` or `wss://` URL, used as given.
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use partysocket::{Event, PartySocket, PartySocketOptions};
//! # let server = party_mock::MockServer::start(Default::default()).await?;
//! # let host = server.host();
//!
//! // `host` is e.g. "localhost:1999" or "my-app.my-user.partykit.dev".
//! let options = PartySocketOptions::builder(host).party("echo").room("lobby").build()?;
//! let (socket, mut events) = PartySocket::connect(options)?;
//!
//! // Sent at once when open, queued (and flushed before the open event) when not.
//! socket.send("hello")?;
//!
//! while let Some(event) = events.recv().await {
//!     match event {
//!         Event::Message(message) if message.as_text() == Some("hello") => break,
//!         Event::Close { frame, .. } => println!("closed with {frame}; reconnecting"),
//!         _ => {}
//!     }
//! }
//! socket.close()?;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "tokio"))]
//! # fn main() {}
//! ```
//!
//! The crate has two layers:
//!
//! - the **sans-IO core** ([`Machine`], [`PartySocketOptions`] and the shared
//!   vocabulary: [`Message`], [`Event`], [`CloseFrame`], [`ReadyState`],
//!   [`ConnectionState`], [`SendOutcome`], [`Error`]). It performs no I/O and reads no
//!   clock, so it runs anywhere, the browser included, and is tested deterministically;
//! - drivers that give it a body: the native tokio driver in this crate (feature
//!   `tokio`, on by default), and `partysocket-wasm` for the browser.
//!
//! # The sans-IO core
//!
//! A [`Machine`] owns every decision. The driver owns the sockets and the clock and
//! follows this contract:
//!
//! 1. Create the machine with [`Machine::new`] (it may already want to connect).
//! 2. After **every** call into the machine (a command, a transport fact, a timeout),
//!    drain [`Machine::poll_output`] until it returns `None`, carrying out each
//!    [`Output`] in order: open a transport ([`Output::Connect`]), resolve a per-attempt
//!    query ([`UserCall::ResolveQuery`]), run the failure policy's predicate
//!    ([`UserCall::Decide`]), close or abort a transport, or deliver an [`Event`] to the
//!    application. Call application code (providers, predicates) outside any lock.
//! 3. Whenever the open connection can take a frame, pull the next one with
//!    [`Machine::poll_transmit`] and hand it over at once. The machine keeps every
//!    message until it is pulled, so a connection that fails or is replaced never
//!    holds one the machine does not know of; [`Machine::buffered_amount`] counts them.
//! 4. Then ask [`Machine::poll_timeout`] when to wake up, re-arm the one timer from the
//!    answer, and call [`Machine::handle_timeout`] at (or after) that instant, after
//!    reporting what the connection has already read.
//! 5. Report what transports do with the `handle_*` methods, naming the
//!    [`TransportId`] from the `Connect` output. Facts about a transport the machine has
//!    replaced are ignored, so a late callback from an old socket is harmless.
//!
//! Time is always passed in as a [`web_time::Instant`] (the standard `Instant` on
//! native targets).
//!
//! ```
//! use std::time::Duration;
//! use partysocket::{Event, Machine, Message, Output, PartySocketOptions, SendOutcome, Transmit};
//! use web_time::Instant;
//!
//! let options = PartySocketOptions::builder("localhost:1999")
//!     .room("lobby")
//!     .id("me")
//!     .build()?;
//! let start = Instant::now();
//! let mut machine = Machine::new(options, start);
//!
//! // Sent before the connection opens: queued.
//! assert_eq!(machine.send(Message::from("hello")), SendOutcome::Queued);
//!
//! // The machine asks for a connection.
//! let mut transport = None;
//! while let Some(output) = machine.poll_output() {
//!     if let Output::Connect { transport: id, request } = output {
//!         assert_eq!(request.url, "ws://localhost:1999/parties/main/lobby?_pk=me");
//!         transport = Some(id);
//!     }
//! }
//! let transport = transport.expect("the first attempt starts at once");
//!
//! // The driver reports that the WebSocket opened; the queued message waits for the
//! // driver to pull it, ahead of anything sent later.
//! machine.handle_open(transport, None, start + Duration::from_millis(20));
//! assert!(matches!(machine.poll_output(), Some(Output::Event(Event::Open { .. }))));
//! assert_eq!(machine.send(Message::from("later")), SendOutcome::Sent);
//! assert_eq!(machine.poll_transmit(transport), Some(Transmit::Message("hello".into())));
//! assert_eq!(machine.poll_transmit(transport), Some(Transmit::Message("later".into())));
//! assert_eq!(machine.poll_transmit(transport), None);
//!
//! // The server drops the connection without a close frame: report it, and the
//! // machine backs off for `min_reconnection_delay` before the next attempt.
//! let dropped = start + Duration::from_secs(1);
//! machine.handle_closed(transport, None, dropped);
//! assert_eq!(machine.poll_timeout(), Some(dropped + Duration::from_secs(3)));
//! # Ok::<(), partysocket::OptionsError>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod core;
#[cfg(feature = "tokio")]
mod native;

pub use crate::core::error::{Cause, Error, HeaderError, OptionsError, TransportError};
pub use crate::core::event::{ConnectionState, Event, ReadyState, StopReason};
pub use crate::core::machine::{
    ConnectRequest, FAULT_GRACE, Machine, Output, PolicyAnswer, PolicyQuestion, Transmit,
    TransportId, UserCall,
};
pub use crate::core::message::{CloseFrame, DropReason, Message, SendOutcome, Violation};
pub use crate::core::options::{OptionsUpdate, PartySocketOptions, PartySocketOptionsBuilder};
pub use crate::core::policy::parse_retry_after;
pub use crate::core::policy::{Decision, DropPolicy, FailurePolicy, Heartbeat};
pub use crate::core::query::{
    Credentials, CredentialsFuture, CredentialsResult, Query, QueryFuture, QueryProvider,
    QueryResult, QuerySource,
};
pub use crate::core::url::{Protocol, redact_url};
#[cfg(all(fuzzing, feature = "tokio"))]
#[doc(hidden)]
pub use crate::native::fuzz_hooks;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use crate::native::{Events, PartySocket, TlsConfig, TlsConfigBuilder};
#[cfg(feature = "fetch")]
#[cfg_attr(docsrs, doc(cfg(feature = "fetch")))]
pub use crate::native::{FetchError, FetchInit, FetchResponse};
pub use bytes::Bytes;
pub use bytestring::ByteString;
#[cfg(feature = "fetch")]
#[cfg_attr(docsrs, doc(cfg(feature = "fetch")))]
pub use reqwest::Method;
pub use web_time;
