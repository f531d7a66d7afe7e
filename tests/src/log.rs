//! What the server saw: every request to a party route and every message each room received.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// A WebSocket or HTTP message as a room received it (or a party sends it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "lowercase")]
pub enum Message {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

impl Message {
    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text),
            Message::Binary(_) => None,
        }
    }

    /// The payload length in bytes.
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
}

/// Whether a logged request asked for a WebSocket or was plain HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptKind {
    /// A WebSocket upgrade request (a connection attempt).
    WebSocket,
    /// A plain HTTP request to a party route.
    Http,
}

/// How the server answered a logged request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The WebSocket handshake completed (101).
    Accepted,
    /// A `refuse_next` fault answered with this status.
    Refused {
        /// The HTTP status sent.
        status: u16,
    },
    /// A `stall_handshakes` fault held the connection without an answer.
    Stalled,
    /// An HTTP answer other than a refusal: a party's `onRequest` response, a 404 for an
    /// unknown route or party, or a 400 for a malformed upgrade.
    Answered {
        /// The HTTP status sent.
        status: u16,
    },
}

/// One request to a party route: a WebSocket connection attempt or an HTTP request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// When the request head arrived.
    #[serde(serialize_with = "serialize_time")]
    pub time: SystemTime,
    /// WebSocket attempt or plain HTTP.
    pub kind: AttemptKind,
    /// The HTTP method.
    pub method: String,
    /// The absolute URL the party sees (`http(s)://{Host}{path and query}`).
    pub url: String,
    /// The request headers in arrival order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The party the path names, when a route matched.
    pub party: Option<String>,
    /// The room the path names, when a route matched.
    pub room: Option<String>,
    /// The connection id (first `_pk` value, else a generated UUID) of a WebSocket attempt
    /// that reached a party.
    pub connection_id: Option<String>,
    /// How the server answered.
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Attempt {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// One message a room received, in arrival order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Received {
    /// When the message arrived.
    #[serde(serialize_with = "serialize_time")]
    pub time: SystemTime,
    /// The id of the connection that sent it.
    pub connection_id: String,
    /// Which of the server's connections it came on: a number that grows with every
    /// connection the server accepts (several connections may share one id).
    pub connection: u64,
    /// The message.
    pub message: Message,
}

fn serialize_time<S: serde::Serializer>(
    time: &SystemTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let millis = time
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or_default();
    serializer.serialize_u64(u64::try_from(millis).unwrap_or(u64::MAX))
}

/// The server's record, kept across stops and restarts until cleared.
#[derive(Debug, Default)]
pub(crate) struct Log {
    pub(crate) attempts: Vec<Attempt>,
    pub(crate) received: HashMap<(String, String), Vec<Received>>,
}
