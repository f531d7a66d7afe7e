//! One WebSocket connection over tokio-tungstenite: the handshake request, conversions
//! between our types and tungstenite's, and error classification.

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::{
    HeaderName, HeaderValue, RETRY_AFTER, SEC_WEBSOCKET_PROTOCOL,
};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Error as WsError};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::tls::TlsConfig;
use crate::core::policy::parse_retry_after;
use crate::{CloseFrame, ConnectRequest, Message, TransportError};

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Bytes read from the socket at a time. tungstenite's default (128 KiB) makes every
/// idle connection cost that much; 8 KiB keeps thousands of idle sockets small and
/// still reads large messages in a few chunks.
const READ_BUFFER: usize = 8 * 1024;

/// Opens the WebSocket for `request`; returns it and the subprotocol the server chose.
pub(crate) async fn connect(
    request: ConnectRequest,
    tls: TlsConfig,
) -> Result<(Ws, Option<String>), TransportError> {
    let mut http = request
        .url
        .as_str()
        .into_client_request()
        .map_err(|err| TransportError::InvalidUrl(err.to_string()))?;
    let headers = http.headers_mut();
    for (name, value) in &request.headers {
        // Options validate names and values; a failure here is a bug, reported as such.
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|err| TransportError::InvalidUrl(err.to_string()))?;
        let value = HeaderValue::from_str(value)
            .map_err(|err| TransportError::InvalidUrl(err.to_string()))?;
        headers.append(name, value);
    }
    if !request.protocols.is_empty() {
        let offered = HeaderValue::from_str(&request.protocols.join(", "))
            .map_err(|err| TransportError::InvalidUrl(err.to_string()))?;
        headers.insert(SEC_WEBSOCKET_PROTOCOL, offered);
    }
    let mut config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    if let Some(limit) = request.max_message_size {
        config = config
            .max_message_size(Some(limit))
            .max_frame_size(Some(limit));
    }
    let (ws, response) = tokio_tungstenite::connect_async_tls_with_config(
        http,
        Some(config),
        true,
        Some(Connector::Rustls(tls.rustls())),
    )
    .await
    .map_err(classify)?;
    let protocol = response
        .headers()
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    Ok((ws, protocol))
}

/// Whether `error` only says the peer went away without a close frame: reported as a
/// close with code 1006, not as an error.
pub(crate) fn is_drop(error: &WsError) -> bool {
    use std::io::ErrorKind;
    match error {
        WsError::Protocol(tungstenite::error::ProtocolError::ResetWithoutClosingHandshake) => true,
        WsError::Io(err) => matches!(
            err.kind(),
            ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}

/// Sorts a tungstenite error into what the failure policy understands.
pub(crate) fn classify(error: WsError) -> TransportError {
    match error {
        WsError::Http(response) => TransportError::HandshakeRejected {
            status: response.status().as_u16(),
            retry_after: response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(parse_retry_after),
        },
        WsError::Io(err) => match err
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => TransportError::Network(format!("TLS: {tls}")),
            None => TransportError::Network(err.to_string()),
        },
        WsError::Tls(err) => TransportError::Network(format!("TLS: {err}")),
        WsError::Url(err) => TransportError::InvalidUrl(err.to_string()),
        WsError::Capacity(err) => TransportError::Protocol(err.to_string()),
        WsError::Utf8(_) => TransportError::Protocol("a text message was not valid UTF-8".into()),
        WsError::Protocol(err) => TransportError::Protocol(err.to_string()),
        WsError::ConnectionClosed | WsError::AlreadyClosed => {
            TransportError::Network("connection closed".into())
        }
        other => TransportError::Protocol(other.to_string()),
    }
}

pub(crate) fn to_wire(message: Message) -> tungstenite::Message {
    match message {
        Message::Text(text) => tungstenite::Message::Text(text.into()),
        Message::Binary(bytes) => tungstenite::Message::Binary(bytes.into()),
    }
}

pub(crate) fn close_to_wire(frame: CloseFrame) -> tungstenite::protocol::CloseFrame {
    tungstenite::protocol::CloseFrame {
        code: CloseCode::from(frame.code),
        reason: frame.reason.into(),
    }
}

/// A received close frame; one without a status code reads as 1005, as in browsers.
pub(crate) fn close_from_wire(frame: Option<tungstenite::protocol::CloseFrame>) -> CloseFrame {
    match frame {
        Some(frame) => CloseFrame::new(u16::from(frame.code), frame.reason.as_str()),
        None => CloseFrame::new(CloseFrame::NO_STATUS, ""),
    }
}
