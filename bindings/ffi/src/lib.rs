//! UniFFI bindings of [`partysocket`] for Kotlin, Swift and Python.
//!
//! One [`PartySocket`] object wraps the native driver's handle on a shared tokio
//! runtime (two worker threads, started by the first socket). It is built from a
//! [`PartySocketOptions`] record, sends synchronously (`send_text`, `send_binary`,
//! `send_coalesced` return a [`SendOutcome`]), and delivers [`Event`]s one of two ways:
//!
//! - to a foreign [`PartySocketListener`] given at creation (`on_open`, `on_message`,
//!   `on_close`, `on_error`, `on_state_change`), called in order on the socket's own
//!   listener thread (a slow callback delays no other socket);
//! - or, without a listener, through the async [`PartySocket::next_event`] (Kotlin
//!   `suspend`, Swift `async`, Python `async`).
//!
//! No panic crosses the boundary: a listener callback that throws (or panics, for a
//! Rust listener) is reported as an error event ([`SocketFailure::ListenerFailed`]) and
//! the socket keeps working.
//! `close()` closes gracefully and ends the socket's task; so does releasing the object.
//! [`shutdown()`](shutdown) closes every socket and stops every call into the
//! application, for the exit hook of an application (Python's package registers it
//! with `atexit`, so an interpreter that finalizes is never called into).
//!
//! The SDK's diagnostics (the `tracing` events of the core and the native driver) go
//! to a foreign [`PartySocketLogger`] installed with [`install_logger`] and a level
//! filter, on a thread of its own, redacted.
//!
//! The generated sources live in `bindings/{kotlin,swift,python}`; `cargo xtask
//! bindings` regenerates them.

mod credentials;
mod error;
mod event;
mod lifecycle;
mod logger;
mod options;
mod socket;

pub use crate::credentials::{
    AsyncCredentialsProvider, Credentials, CredentialsProvider, ProviderError,
};
pub use crate::error::PartySocketError;
pub use crate::event::{
    CloseFrame, ConnectionState, DropReason, Event, Message, ReadyState, SendOutcome,
    SocketFailure, StopReason,
};
pub use crate::lifecycle::shutdown;
pub use crate::logger::{
    LOG_CAPACITY, LogLevel, LogRecord, PartySocketLogger, dropped_log_records, install_logger,
    remove_logger,
};
pub use crate::options::{
    DropPolicy, FailurePolicy, Heartbeat, OptionsUpdate, PartySocketOptions, Protocol,
    always_reconnect_policy, default_failure_policy,
};
pub use crate::socket::{ListenerError, PartySocket, PartySocketListener};

/// `url` with every query value except the connection id (`_pk`) replaced by
/// `REDACTED`, for logs: query values often carry tokens. The accessors and events give
/// URLs unredacted.
#[uniffi::export]
pub fn redact_url(url: String) -> String {
    partysocket::redact_url(&url)
}

uniffi::setup_scaffolding!();
