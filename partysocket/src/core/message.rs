//! What travels over the socket: messages, close frames, and what became of a send.

use std::fmt;

use bytes::Bytes;
use bytestring::ByteString;

/// One WebSocket message, text or binary.
///
/// Payloads are reference-counted ([`Bytes`], and [`ByteString`] for UTF-8 text):
/// cloning a message, queueing it, or receiving it from a driver copies no payload.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// A UTF-8 text frame.
    Text(ByteString),
    /// A binary frame.
    Binary(Bytes),
}

impl Message {
    /// The payload size in bytes (UTF-8 bytes for text).
    ///
    /// This is what [`buffered_amount`](crate::Machine::buffered_amount) and the queue's
    /// byte cap count.
    pub fn len(&self) -> usize {
        match self {
            Message::Text(text) => text.len(),
            Message::Binary(bytes) => bytes.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text, when this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text),
            Message::Binary(_) => None,
        }
    }

    /// The payload bytes (UTF-8 bytes for text).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(text) => text.as_bytes(),
            Message::Binary(bytes) => bytes,
        }
    }

    /// A text message, taking `text` without copying when it is a `String`.
    pub fn text(text: impl Into<ByteString>) -> Self {
        Message::Text(text.into())
    }

    /// A binary message, taking `bytes` without copying when it is a `Vec<u8>` or
    /// [`Bytes`].
    pub fn binary(bytes: impl Into<Bytes>) -> Self {
        Message::Binary(bytes.into())
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// The payload as [`Bytes`] (UTF-8 bytes for text), without copying.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(bytes) => bytes,
        }
    }
}

#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
impl Message {
    /// Parses the payload (text or binary) as JSON.
    ///
    /// # Errors
    ///
    /// When the payload is not valid JSON for `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(self.as_bytes())
    }

    /// A text message holding `value` as JSON.
    ///
    /// # Errors
    ///
    /// When `value` cannot be serialized (a map with non-string keys, a failing
    /// `Serialize` implementation).
    pub fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Message, serde_json::Error> {
        serde_json::to_string(value).map(Message::text)
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Payloads can be large or secret: show a bounded preview.
        const PREVIEW: usize = 64;
        match self {
            Message::Text(text) if text.len() <= PREVIEW => {
                f.debug_tuple("Text").field(text).finish()
            }
            Message::Text(text) => {
                let cut = (0..=PREVIEW)
                    .rev()
                    .find(|&i| text.is_char_boundary(i))
                    .unwrap_or(0);
                write!(
                    f,
                    "Text({:?}… {} bytes)",
                    text.get(..cut).unwrap_or_default(),
                    text.len()
                )
            }
            Message::Binary(bytes) => write!(f, "Binary({} bytes)", bytes.len()),
        }
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text.into())
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.into())
    }
}

impl From<ByteString> for Message {
    fn from(text: ByteString) -> Self {
        Message::Text(text)
    }
}

impl From<Vec<u8>> for Message {
    fn from(bytes: Vec<u8>) -> Self {
        Message::Binary(bytes.into())
    }
}

impl From<&[u8]> for Message {
    fn from(bytes: &[u8]) -> Self {
        Message::Binary(Bytes::copy_from_slice(bytes))
    }
}

impl From<Bytes> for Message {
    fn from(bytes: Bytes) -> Self {
        Message::Binary(bytes)
    }
}

/// A close code and reason, as carried by a WebSocket close frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CloseFrame {
    /// The close code (RFC 6455 §7.4), e.g. `1000` for a normal closure.
    pub code: u16,
    /// The reason text; at most 123 UTF-8 bytes on the wire.
    pub reason: String,
}

impl CloseFrame {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The endpoint is going away.
    pub const GOING_AWAY: u16 = 1001;
    /// The peer broke the protocol (a reserved bit or opcode, a bad fragment).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Reserved: a close frame arrived without a status code. Never sent on the wire.
    pub const NO_STATUS: u16 = 1005;
    /// Reserved: the connection closed without a close frame. Never sent on the wire.
    pub const ABNORMAL: u16 = 1006;
    /// A message's data did not match its type (a text message that is not UTF-8).
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// Policy violation.
    pub const POLICY: u16 = 1008;
    /// A message was larger than the endpoint accepts.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
    /// The server hit an unexpected condition.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// The longest reason a close frame can carry, in UTF-8 bytes.
    pub const MAX_REASON_BYTES: usize = 123;

    /// A close frame with `code` and `reason`.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        CloseFrame {
            code,
            reason: reason.into(),
        }
    }

    /// `1000` with an empty reason: what `close()` sends when given nothing.
    pub fn normal() -> Self {
        CloseFrame::new(Self::NORMAL, "")
    }

    /// `1006` with `reason`: how the socket reports a connection that ended without a
    /// close frame (a drop, a failed handshake, a timeout).
    pub fn abnormal(reason: impl Into<String>) -> Self {
        CloseFrame::new(Self::ABNORMAL, reason)
    }
}

/// How the peer broke the WebSocket protocol: it decides the status code of the close
/// frame the socket fails the connection with (RFC 6455 §7.4.1). See
/// [`Machine::handle_peer_fault`](crate::Machine::handle_peer_fault).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Violation {
    /// A frame the protocol forbids: a reserved bit or opcode, a bad fragment, a control
    /// frame too long. Answered with `1002`.
    Protocol,
    /// A text message that is not UTF-8. Answered with `1007`.
    InvalidPayload,
    /// A message or frame over the `max_message_size` option. Answered with `1009`.
    TooBig,
}

impl Violation {
    /// The close frame that fails the connection for this violation.
    pub fn close_frame(self) -> CloseFrame {
        match self {
            Violation::Protocol => CloseFrame::new(CloseFrame::PROTOCOL_ERROR, "protocol error"),
            Violation::InvalidPayload => {
                CloseFrame::new(CloseFrame::INVALID_PAYLOAD, "invalid UTF-8")
            }
            Violation::TooBig => CloseFrame::new(CloseFrame::MESSAGE_TOO_BIG, "message too big"),
        }
    }
}

impl Default for CloseFrame {
    fn default() -> Self {
        CloseFrame::normal()
    }
}

impl fmt::Display for CloseFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{} {:?}", self.code, self.reason)
        }
    }
}

/// What became of a message handed to `send`.
///
/// Upstream `partysocket` returns `true` only for "sent" and `false` for queued and
/// dropped alike; this tells the three apart.
#[must_use = "a message may have been queued or dropped instead of sent; check the outcome"]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendOutcome {
    /// Handed to the open connection.
    Sent,
    /// Held in the queue; it is sent, in order, when the next connection opens.
    Queued,
    /// Held in the queue in place of an older queued message with the same coalescing
    /// key, which was discarded.
    Coalesced,
    /// Not sent and not queued.
    Dropped(DropReason),
}

impl SendOutcome {
    /// Whether the message was sent or will be sent (not dropped).
    pub fn is_accepted(self) -> bool {
        !matches!(self, SendOutcome::Dropped(_))
    }
}

/// Why a message was dropped rather than queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The queue was at its message-count or byte cap and the drop policy keeps older
    /// messages.
    QueueFull,
    /// The message alone is larger than the queue's byte cap.
    TooLarge,
}
