//! The shared vocabulary as foreign types: messages, close frames, states, events.

use std::time::Duration;

use partysocket::web_time::Instant;

/// A text or binary message.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Message {
    /// A text frame.
    Text {
        /// The text.
        text: String,
    },
    /// A binary frame.
    Binary {
        /// The bytes.
        data: Vec<u8>,
    },
}

impl From<partysocket::Message> for Message {
    fn from(message: partysocket::Message) -> Self {
        match message {
            partysocket::Message::Text(text) => Message::Text {
                text: String::from(&*text),
            },
            partysocket::Message::Binary(data) => Message::Binary {
                data: data.to_vec(),
            },
        }
    }
}

impl From<Message> for partysocket::Message {
    fn from(message: Message) -> Self {
        match message {
            Message::Text { text } => partysocket::Message::from(text),
            Message::Binary { data } => partysocket::Message::from(data),
        }
    }
}

/// A close code and reason.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CloseFrame {
    /// The close code, e.g. `1000`; `1006` when a connection ended without a frame.
    pub code: u16,
    /// The reason.
    pub reason: String,
}

impl From<partysocket::CloseFrame> for CloseFrame {
    fn from(frame: partysocket::CloseFrame) -> Self {
        CloseFrame {
            code: frame.code,
            reason: frame.reason,
        }
    }
}

/// Why a message was dropped rather than queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DropReason {
    /// The queue is at `max_enqueued_messages` or `max_enqueued_bytes`.
    QueueFull,
    /// The message alone is larger than `max_enqueued_bytes`.
    TooLarge,
}

/// What became of a sent message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SendOutcome {
    /// Handed to the open connection.
    Sent,
    /// Queued; sent in order when the next connection opens.
    Queued,
    /// Queued in place of an older message with the same coalescing key.
    Coalesced,
    /// Neither sent nor queued.
    Dropped {
        /// Why.
        reason: DropReason,
    },
}

impl From<partysocket::SendOutcome> for SendOutcome {
    fn from(outcome: partysocket::SendOutcome) -> Self {
        match outcome {
            partysocket::SendOutcome::Sent => SendOutcome::Sent,
            partysocket::SendOutcome::Queued => SendOutcome::Queued,
            partysocket::SendOutcome::Coalesced => SendOutcome::Coalesced,
            partysocket::SendOutcome::Dropped(reason) => SendOutcome::Dropped {
                reason: match reason {
                    partysocket::DropReason::QueueFull => DropReason::QueueFull,
                    partysocket::DropReason::TooLarge => DropReason::TooLarge,
                },
            },
        }
    }
}

/// The WebSocket `readyState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReadyState {
    /// Connecting, or waiting to reconnect.
    Connecting,
    /// Open.
    Open,
    /// A requested close is in progress.
    Closing,
    /// Closed and not reconnecting on its own.
    Closed,
}

impl From<partysocket::ReadyState> for ReadyState {
    fn from(state: partysocket::ReadyState) -> Self {
        match state {
            partysocket::ReadyState::Connecting => ReadyState::Connecting,
            partysocket::ReadyState::Open => ReadyState::Open,
            partysocket::ReadyState::Closing => ReadyState::Closing,
            partysocket::ReadyState::Closed => ReadyState::Closed,
        }
    }
}

/// Why a connection attempt or an open connection failed, or what else went wrong:
/// the payload of error events.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SocketFailure {
    /// The connection did not open within `connection_timeout_ms`.
    Timeout {
        /// The timeout, in milliseconds.
        after_ms: u64,
    },
    /// The server answered the handshake with an HTTP status (401 and 403 stop the
    /// socket by default).
    HandshakeRejected {
        /// The HTTP status.
        status: u16,
        /// The server's `Retry-After`, in milliseconds.
        retry_after_ms: Option<u64>,
    },
    /// No traffic within the heartbeat timeout: the connection was presumed dead.
    HeartbeatTimeout {
        /// The timeout, in milliseconds.
        after_ms: u64,
    },
    /// No write progress within the write timeout: the connection was presumed dead.
    WriteTimeout {
        /// The timeout, in milliseconds.
        after_ms: u64,
    },
    /// DNS, TCP or TLS failed.
    Network {
        /// What failed.
        message: String,
    },
    /// The peer broke the WebSocket protocol, or another transport failure.
    Protocol {
        /// What failed.
        message: String,
    },
    /// `max_retries` attempts failed in a row: the socket stopped.
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
    },
    /// The queue was full and `DropOldest` evicted these messages, oldest first.
    MessagesEvicted {
        /// The evicted messages.
        messages: Vec<Message>,
    },
    /// The credentials provider gave a header that cannot be sent (a control
    /// character, a header the socket sets itself). The attempt failed; the socket
    /// backs off and asks the provider again.
    InvalidHeader {
        /// The header's name as the provider gave it.
        name: String,
        /// What is wrong with it, and what to do.
        message: String,
    },
    /// A listener callback threw (or panicked). The socket keeps working.
    ListenerFailed {
        /// The callback: `on_open`, `on_message`, `on_close`, `on_error` or
        /// `on_state_change`.
        callback: String,
        /// What it threw.
        message: String,
    },
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl From<partysocket::TransportError> for SocketFailure {
    fn from(error: partysocket::TransportError) -> Self {
        use partysocket::TransportError;
        match error {
            TransportError::Timeout(after) => SocketFailure::Timeout {
                after_ms: ms(after),
            },
            TransportError::HandshakeRejected {
                status,
                retry_after,
            } => SocketFailure::HandshakeRejected {
                status,
                retry_after_ms: retry_after.map(ms),
            },
            TransportError::HeartbeatTimeout(after) => SocketFailure::HeartbeatTimeout {
                after_ms: ms(after),
            },
            TransportError::WriteTimeout(after) => SocketFailure::WriteTimeout {
                after_ms: ms(after),
            },
            TransportError::Network(cause) => SocketFailure::Network {
                message: cause.to_string(),
            },
            TransportError::Tls(cause) => SocketFailure::Network {
                message: format!("TLS: {cause}"),
            },
            TransportError::ProviderHeader(error) => SocketFailure::InvalidHeader {
                name: error.name().to_owned(),
                message: error.to_string(),
            },
            other => SocketFailure::Protocol {
                message: other.to_string(),
            },
        }
    }
}

impl SocketFailure {
    /// A sentence for logs and error dialogs.
    pub(crate) fn describe(&self) -> String {
        match self {
            SocketFailure::Timeout { after_ms } => {
                format!("connection timed out after {after_ms} ms")
            }
            SocketFailure::HandshakeRejected {
                status,
                retry_after_ms,
            } => match retry_after_ms {
                Some(wait) => {
                    format!("handshake rejected with HTTP {status} (retry after {wait} ms)")
                }
                None => format!("handshake rejected with HTTP {status}"),
            },
            SocketFailure::HeartbeatTimeout { after_ms } => {
                format!("no traffic for {after_ms} ms after a ping: connection presumed dead")
            }
            SocketFailure::WriteTimeout { after_ms } => {
                format!("no write progress for {after_ms} ms: connection presumed dead")
            }
            SocketFailure::Network { message } => format!("network error: {message}"),
            SocketFailure::Protocol { message } => message.clone(),
            SocketFailure::RetriesExhausted { attempts } => {
                format!(
                    "gave up after {attempts} attempts (max_retries); call reconnect() to try again"
                )
            }
            SocketFailure::MessagesEvicted { messages } => format!(
                "the queue was full: {} older messages were evicted (drop policy DropOldest)",
                messages.len()
            ),
            SocketFailure::ListenerFailed { callback, message } => {
                format!("the listener's {callback} threw: {message}")
            }
            SocketFailure::InvalidHeader { message, .. } => message.clone(),
        }
    }
}

/// Why the socket stopped and will not connect on its own.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum StopReason {
    /// Created with `start_closed` and not yet connected.
    NotStarted,
    /// The application closed it.
    ClosedByApp,
    /// `max_retries` attempts failed in a row.
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
    },
    /// The failure policy stopped it after this close (and failure).
    GaveUp {
        /// The close that ended the last connection.
        close: CloseFrame,
        /// The failure behind it, e.g. a handshake rejected with 401.
        failure: Option<SocketFailure>,
    },
}

/// Where the socket is in its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ConnectionState {
    /// An attempt is under way.
    Connecting {
        /// The retry count of this attempt (`0` for the first).
        attempt: u32,
    },
    /// Open.
    Open,
    /// A requested close waits for the server's close frame.
    Closing,
    /// Waiting before the next attempt.
    BackingOff {
        /// The retry count of the coming attempt.
        attempt: u32,
        /// How long until it starts, in milliseconds, as of when this state was read.
        retry_in_ms: u64,
    },
    /// Not connecting until `reconnect()`.
    Closed {
        /// Why.
        reason: StopReason,
    },
}

impl From<partysocket::ConnectionState> for ConnectionState {
    fn from(state: partysocket::ConnectionState) -> Self {
        use partysocket::ConnectionState as Core;
        match state {
            Core::Connecting { attempt } => ConnectionState::Connecting { attempt },
            Core::Open => ConnectionState::Open,
            Core::Closing => ConnectionState::Closing,
            Core::BackingOff { attempt, retry_at } => ConnectionState::BackingOff {
                attempt,
                retry_in_ms: ms(retry_at.saturating_duration_since(Instant::now())),
            },
            Core::Closed { reason } => ConnectionState::Closed {
                reason: reason.into(),
            },
            // A state this binding does not know yet shows as its ready state.
            other => match other.ready_state() {
                partysocket::ReadyState::Connecting => ConnectionState::Connecting { attempt: 0 },
                partysocket::ReadyState::Open => ConnectionState::Open,
                partysocket::ReadyState::Closing => ConnectionState::Closing,
                partysocket::ReadyState::Closed => ConnectionState::Closed {
                    reason: StopReason::GaveUp {
                        close: partysocket::CloseFrame::abnormal("").into(),
                        failure: None,
                    },
                },
            },
        }
    }
}

impl From<partysocket::StopReason> for StopReason {
    fn from(reason: partysocket::StopReason) -> Self {
        match reason {
            partysocket::StopReason::NotStarted => StopReason::NotStarted,
            partysocket::StopReason::ClosedByApp => StopReason::ClosedByApp,
            partysocket::StopReason::RetriesExhausted { attempts } => {
                StopReason::RetriesExhausted { attempts }
            }
            partysocket::StopReason::GaveUp { close, failure } => StopReason::GaveUp {
                close: close.into(),
                failure: failure.map(SocketFailure::from),
            },
            // A reason this binding does not know yet: stopped on its own.
            other => StopReason::GaveUp {
                close: partysocket::CloseFrame::abnormal("").into(),
                failure: Some(SocketFailure::Protocol {
                    message: format!("{other:?}"),
                }),
            },
        }
    }
}

/// Something that happened, in order: what `next_event()` returns, and what the
/// listener's five callbacks receive.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum Event {
    /// A connection opened; messages queued while disconnected were sent first.
    Open {
        /// The URL connected to (query values included: redact before logging).
        url: String,
        /// The subprotocol the server chose.
        protocol: Option<String>,
    },
    /// A message arrived.
    Message {
        /// The message.
        message: Message,
    },
    /// A connection closed, or an attempt that had started a handshake failed.
    Close {
        /// The server's frame; `1006` without one; the application's own on `close()`.
        frame: CloseFrame,
        /// Whether the closing handshake completed.
        was_clean: bool,
    },
    /// Something failed; the socket reconnects unless a state change says it stopped.
    Error {
        /// What failed.
        error: SocketFailure,
        /// A sentence describing it.
        description: String,
    },
    /// The connection state changed.
    StateChanged {
        /// The new state.
        state: ConnectionState,
    },
}

impl Event {
    /// An error event for `failure`, with its description.
    pub(crate) fn error(failure: SocketFailure) -> Event {
        Event::Error {
            description: failure.describe(),
            error: failure,
        }
    }
}

impl From<partysocket::Event> for Event {
    fn from(event: partysocket::Event) -> Self {
        use partysocket::Event as Core;
        match event {
            Core::Open { url, protocol } => Event::Open { url, protocol },
            Core::Message(message) => Event::Message {
                message: message.into(),
            },
            Core::Close { frame, was_clean } => Event::Close {
                frame: frame.into(),
                was_clean,
            },
            Core::Error(error) => Event::error(error.into()),
            Core::StateChanged(state) => Event::StateChanged {
                state: state.into(),
            },
            Core::RetriesExhausted { attempts } => {
                Event::error(SocketFailure::RetriesExhausted { attempts })
            }
            Core::Evicted(messages) => Event::error(SocketFailure::MessagesEvicted {
                messages: messages.into_iter().map(Message::from).collect(),
            }),
            // An event this binding does not know yet: reported, never dropped silently.
            other => Event::error(SocketFailure::Protocol {
                message: format!("{other:?}"),
            }),
        }
    }
}
