//! A small, real PartyKit-compatible server for tests, and the `party-mock` binary.
//!
//! It serves WebSocket and HTTP on the routes of `partykit dev` (`/parties/:party/:room`
//! and the classic `/party/:room` for the party `main`, plus any prefix or base path in a
//! [`RouteTable`]) and runs the server patterns of the PartyKit guide as parties:
//!
//! | party | on connect | on message | over HTTP |
//! | --- | --- | --- | --- |
//! | `main` | `Welcome to the party!` | broadcast to all but the sender | GET `{"connections":N}`, POST broadcasts the JSON body and answers `Broadcasted`, else 404 |
//! | `echo` | `{"id","url"}` | echoed to the sender (text and binary) | `{"method","url","body"}` |
//! | `chat` | `{"type":"sync","messages":[last 100]}` | `{"type":"message","user","text"}` is stored and broadcast as `{"type":"message","message":{id,user,text,timestamp}}` | 500 `No onRequest handler` |
//! | `presence` | `{"type":"presence","users":{id:{name,status}}}` to all | `{"type":"status","status"}` | 500 |
//! | `game` | `init` to the newcomer, `player-join` to the others | `{"type":"move","x","y"}` → `player-move` | 500 |
//!
//! An unknown party answers 404 `Party X not found`; the connection id is the first `_pk`
//! query value, else a generated UUID; `name` comes from the `name` query parameter. Chat
//! history lives in per-room storage that survives reconnects and [`MockServer::restart`].
//! Malformed JSON to `chat`, `presence` or `game` closes the sender with 1003.
//! Like `partykit dev`, nothing answers a message but the party: an application-level
//! heartbeat's `ping` reaches it like any other text, unless a
//! [`WebSocketAutoResponse`] is turned on for that party.
//!
//! Faults are armed from Rust ([`MockServer::drop_all`], [`MockServer::refuse_next`], …)
//! or over HTTP under `/_mock/` (see the crate's README). The server logs every request to
//! a party route ([`MockServer::attempts`]) and every message each room received
//! ([`MockServer::received`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use party_mock::{MockConfig, MockServer};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let server = MockServer::start(MockConfig::default()).await?;
//! println!("connect to {}", server.ws_url("/parties/chat/lobby"));
//! // ... a client joins and sends two messages ...
//! let received = server.wait_for_received("chat", "lobby", 2, Duration::from_secs(5)).await?;
//! assert_eq!(received.len(), 2);
//! server.drop_all(); // the client sees 1006 and reconnects
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod auto_response;
mod connection;
mod control;
mod http;
mod log;
mod parties;
mod routing;
mod server;
mod tls;

pub use auto_response::WebSocketAutoResponse;
pub use log::{Attempt, AttemptKind, Message, Outcome, Received};
pub use parties::PARTY_NAMES;
pub use routing::{Route, RouteMatch, RouteTable};
pub use server::{ConnectionInfo, MockConfig, MockServer, WaitTimeout};
