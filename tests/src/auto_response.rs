//! Opt-in automatic answers to one exact text message, per party.

/// An answer the connection gives itself, before the party sees the message: what a
/// Cloudflare Durable Object does after
/// `setWebSocketAutoResponse(new WebSocketRequestResponsePair(request, response))`.
///
/// `partykit dev` sets none, so [`MockConfig`](crate::MockConfig) has none by default:
/// the mock's parties then see `ping` like any other message (`echo` sends it back,
/// `main` broadcasts it, `chat` closes over invalid JSON), as the real server's do. Turn
/// one on for the party a test needs a server-side heartbeat answer from, such as the
/// browser heartbeat's `ping`/`pong`:
///
/// ```
/// use party_mock::{MockConfig, WebSocketAutoResponse};
///
/// let config = MockConfig::default().websocket_auto_response(WebSocketAutoResponse::ping_pong("echo"));
/// assert_eq!(config.websocket_auto_responses[0].request(), "ping");
/// ```
///
/// Only a text message exactly equal to the request is answered (`ping ` and
/// `{"type":"ping"}` are not); the answer goes to the sender alone. The received-message
/// log still records the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketAutoResponse {
    party: String,
    request: String,
    response: String,
}

impl WebSocketAutoResponse {
    /// Connections to `party` answer the text `request` with the text `response`.
    pub fn new(
        party: impl Into<String>,
        request: impl Into<String>,
        response: impl Into<String>,
    ) -> Self {
        WebSocketAutoResponse {
            party: party.into(),
            request: request.into(),
            response: response.into(),
        }
    }

    /// Connections to `party` answer `ping` with `pong`: the application-level
    /// heartbeat of clients that cannot send ping frames (browsers).
    pub fn ping_pong(party: impl Into<String>) -> Self {
        WebSocketAutoResponse::new(party, "ping", "pong")
    }

    /// The party whose connections answer.
    pub fn party(&self) -> &str {
        &self.party
    }

    /// The text that is answered.
    pub fn request(&self) -> &str {
        &self.request
    }

    /// The answer.
    pub fn response(&self) -> &str {
        &self.response
    }

    /// The answer to `text` on a connection to `party`, if this auto-response gives one.
    pub(crate) fn answer(&self, party: &str, text: &str) -> Option<&str> {
        (self.party == party && self.request == text).then_some(self.response.as_str())
    }
}
