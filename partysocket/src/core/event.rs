//! What the socket tells the application, and the states it can be in.

use std::fmt;

use web_time::Instant;

use super::error::TransportError;
use super::message::{CloseFrame, Message};

/// The WebSocket `readyState`, with the standard numeric values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ReadyState {
    /// `0`: connecting, or waiting to reconnect.
    Connecting = 0,
    /// `1`: open; sends go straight out.
    Open = 1,
    /// `2`: a requested close is in progress.
    Closing = 2,
    /// `3`: closed and not reconnecting on its own.
    Closed = 3,
}

/// Why the socket stopped and will not connect until `reconnect()`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StopReason {
    /// Created with `start_closed(true)` and not yet connected.
    NotStarted,
    /// The application called `close()`.
    ClosedByApp,
    /// `max_retries` attempts failed in a row.
    RetriesExhausted {
        /// Attempts made since the last stable connection or `reconnect()`.
        attempts: u32,
    },
    /// The [`FailurePolicy`](crate::FailurePolicy) decided not to reconnect after this
    /// close (and this failure, when the connection failed).
    GaveUp {
        /// The close that ended the last connection.
        close: CloseFrame,
        /// The failure behind it, for example a handshake rejected with 401.
        failure: Option<TransportError>,
    },
}

impl StopReason {
    /// Whether the socket stopped on its own (gave up), rather than because the
    /// application asked or has not started it yet.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            StopReason::RetriesExhausted { .. } | StopReason::GaveUp { .. }
        )
    }
}

/// Where the socket is in its lifecycle: richer than [`ReadyState`], which cannot tell
/// "waiting 8 seconds to retry" from "connecting now" or "given up".
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// An attempt is under way.
    Connecting {
        /// The retry count of this attempt: `0` for the first connect and right after
        /// `reconnect()` or a stable connection.
        attempt: u32,
    },
    /// The connection is open.
    Open,
    /// A requested close is waiting for the server's close frame.
    Closing,
    /// Waiting before the next attempt.
    BackingOff {
        /// The retry count of the coming attempt.
        attempt: u32,
        /// When the attempt starts.
        retry_at: Instant,
    },
    /// Not connecting until `reconnect()`.
    Closed {
        /// Why.
        reason: StopReason,
    },
}

impl ConnectionState {
    /// The WebSocket `readyState` for this state.
    pub fn ready_state(&self) -> ReadyState {
        match self {
            ConnectionState::Connecting { .. } | ConnectionState::BackingOff { .. } => {
                ReadyState::Connecting
            }
            ConnectionState::Open => ReadyState::Open,
            ConnectionState::Closing => ReadyState::Closing,
            ConnectionState::Closed { .. } => ReadyState::Closed,
        }
    }

    /// Whether a wait for the connection to open is over: it is open, or it stopped.
    pub fn is_settled(&self) -> bool {
        matches!(self, ConnectionState::Open | ConnectionState::Closed { .. })
    }

    /// What a wait for the connection to open returns once [settled](Self::is_settled):
    /// `Ok` unless the socket stopped.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`](crate::Error::Stopped) with the reason, for a closed socket.
    pub fn into_open_result(self) -> Result<(), crate::Error> {
        match self {
            ConnectionState::Closed { reason } => Err(crate::Error::Stopped(Box::new(reason))),
            _ => Ok(()),
        }
    }
}

/// Something the application should hear about, in the order it happened.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A connection opened. Messages queued while disconnected have already been sent
    /// on it, in order.
    Open {
        /// The URL connected to (query values included: do not log it unredacted).
        url: String,
        /// The subprotocol the server chose, if any.
        protocol: Option<String>,
    },
    /// A message arrived.
    Message(Message),
    /// A connection closed, or an attempt that had started a handshake failed.
    Close {
        /// The server's close frame; `1006` when the connection ended without one; the
        /// application's own frame when it closed the connection.
        frame: CloseFrame,
        /// Whether the closing handshake completed.
        was_clean: bool,
    },
    /// An attempt or a connection failed. A [`Close`](Event::Close) follows when a
    /// handshake had started.
    Error(TransportError),
    /// The [`ConnectionState`] changed.
    StateChanged(ConnectionState),
    /// `max_retries` was reached: the socket stopped. `reconnect()` starts again.
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
    },
    /// The queue was full and the drop policy evicted these older messages, oldest first.
    Evicted(Vec<Message>),
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Open { url, protocol } => f
                .debug_struct("Open")
                .field("url", &super::url::redact_url(url))
                .field("protocol", protocol)
                .finish(),
            Event::Message(message) => f.debug_tuple("Message").field(message).finish(),
            Event::Close { frame, was_clean } => f
                .debug_struct("Close")
                .field("frame", frame)
                .field("was_clean", was_clean)
                .finish(),
            Event::Error(error) => f.debug_tuple("Error").field(error).finish(),
            Event::StateChanged(state) => f.debug_tuple("StateChanged").field(state).finish(),
            Event::RetriesExhausted { attempts } => f
                .debug_struct("RetriesExhausted")
                .field("attempts", attempts)
                .finish(),
            Event::Evicted(messages) => f.debug_tuple("Evicted").field(messages).finish(),
        }
    }
}
