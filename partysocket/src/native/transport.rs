//! One WebSocket connection over tokio-tungstenite: the handshake request, conversions
//! between our types and tungstenite's, and error classification.

use rustls_pki_types::ServerName;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::{
    HeaderName, HeaderValue, RETRY_AFTER, SEC_WEBSOCKET_PROTOCOL,
};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Error as WsError};

use std::task::{Context, Poll};

use super::dial::{dial, target};
use super::handshake;
use super::reader::Reader;
use super::tls::TlsConfig;
use super::wire::{Stream, Wire};
use crate::core::policy::parse_retry_after;
use crate::{Cause, CloseFrame, ConnectRequest, Message, TransportError};

pub(crate) type Ws = WebSocketStream<Stream>;

/// tungstenite's read buffer: none, because [`Reader`] reads (tungstenite only writes).
const READ_BUFFER: usize = 0;
/// How much tungstenite gathers before writing to the socket (its default is 128 KiB);
/// the driver flushes once per pass anyway.
const WRITE_BUFFER: usize = 128 * 1024;

/// Bytes written to the operating system on this connection so far.
pub(crate) fn written(ws: &Ws) -> u64 {
    ws.get_ref().written()
}

/// An open connection: tungstenite's stream writes, the [`Reader`] reads from the
/// same byte stream.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) ws: Ws,
    pub(crate) reader: Reader,
}

impl Connection {
    /// The next frame read; see [`Reader::poll_next`].
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<tungstenite::Message, WsError>>> {
        self.reader.poll_next(self.ws.get_mut(), cx)
    }

    /// Frees the read buffers when nothing in them waits to be read.
    pub(crate) fn trim(&mut self) {
        self.reader.trim();
        self.ws.get_mut().trim();
    }

    /// Whether [`trim`](Self::trim) would free anything.
    pub(crate) fn has_spare_capacity(&self) -> bool {
        self.reader.has_spare_capacity() || self.ws.get_ref().has_spare_capacity()
    }
}

/// Opens the WebSocket for `request`; returns it and the subprotocol the server chose.
pub(crate) async fn connect(
    request: ConnectRequest,
    tls: TlsConfig,
) -> Result<(Connection, Option<String>), TransportError> {
    let invalid = |err: &dyn std::fmt::Display| TransportError::InvalidUrl(err.to_string());
    let mut http = request
        .url
        .as_str()
        .into_client_request()
        .map_err(|err| invalid(&err))?;
    let headers = http.headers_mut();
    for (name, value) in &request.headers {
        // Options validate names and values; a failure here is a bug, reported as such.
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|err| invalid(&err))?;
        let value = HeaderValue::from_str(value).map_err(|err| invalid(&err))?;
        headers.append(name, value);
    }
    if !request.protocols.is_empty() {
        let offered =
            HeaderValue::from_str(&request.protocols.join(", ")).map_err(|err| invalid(&err))?;
        headers.insert(SEC_WEBSOCKET_PROTOCOL, offered);
    }
    let mut config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER);
    if let Some(limit) = request.max_message_size {
        config = config
            .max_message_size(Some(limit))
            .max_frame_size(Some(limit));
    }
    let uri = http.uri();
    let secure = uri.scheme_str() == Some("wss");
    let host = uri
        .host()
        .map(|host| {
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned()
        })
        .ok_or_else(|| TransportError::InvalidUrl(format!("{} has no host", request.url)))?;
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let network = |err: std::io::Error| TransportError::Network(Cause::new(err));
    let tcp = dial(&host, port).await?;
    // Small messages go out at once, as browsers send them.
    tcp.set_nodelay(true).map_err(network)?;
    let wire = Wire::new(tcp);
    let mut stream = if secure {
        let name = ServerName::try_from(host.clone())
            .map_err(|err| TransportError::InvalidUrl(err.to_string()))?;
        // Boxed: the TLS handshake's state is large, and inline it would make every
        // connection attempt's future that large, `ws://` ones too.
        let tls = Box::pin(TlsConnector::from(tls.rustls()).connect(name, wire))
            .await
            .map_err(|err| {
                TransportError::Tls(
                    Cause::new(err).context(format!("TLS with {}", target(&host, port))),
                )
            })?;
        Stream::Tls(Box::new(tls))
    } else {
        Stream::Plain(wire)
    };
    let upgraded = handshake::upgrade(&mut stream, &http)
        .await
        .map_err(|err| match err {
            TransportError::Network(cause) => TransportError::Network(
                cause.context(format!("handshake with {}", target(&host, port))),
            ),
            other => other,
        })?;
    let reader = Reader::new(upgraded.leftover, &config);
    let ws = WebSocketStream::from_raw_socket(stream, Role::Client, Some(config)).await;
    Ok((Connection { ws, reader }, upgraded.protocol))
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

/// What the socket reports for a text message that is not UTF-8.
pub(crate) const INVALID_UTF8: &str = "a text message was not valid UTF-8";

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
            Some(_) => TransportError::Tls(Cause::new(err)),
            None => TransportError::Network(Cause::new(err)),
        },
        WsError::Tls(err) => TransportError::Tls(Cause::new(err)),
        WsError::Url(err) => TransportError::InvalidUrl(err.to_string()),
        WsError::Capacity(err) => TransportError::Protocol(Cause::new(err)),
        WsError::Utf8(_) => TransportError::Protocol(INVALID_UTF8.into()),
        WsError::Protocol(err) => TransportError::Protocol(Cause::new(err)),
        WsError::ConnectionClosed | WsError::AlreadyClosed => {
            TransportError::Network("connection closed".into())
        }
        other => TransportError::Protocol(Cause::new(other)),
    }
}

/// Our message as tungstenite's, sharing the payload: no copy, no second UTF-8 check.
pub(crate) fn to_wire(message: Message) -> tungstenite::Message {
    match message {
        Message::Text(text) => {
            // SAFETY: a `ByteString` holds UTF-8 (its invariant), which is all
            // `Utf8Bytes` requires; checking again would cost a pass over every payload.
            #[allow(unsafe_code)]
            let text = unsafe { tungstenite::Utf8Bytes::from_bytes_unchecked(text.into_bytes()) };
            tungstenite::Message::Text(text)
        }
        Message::Binary(bytes) => tungstenite::Message::Binary(bytes),
    }
}

/// A received data frame as our message, sharing the payload; `None` for control
/// frames.
pub(crate) fn from_wire(message: tungstenite::Message) -> Option<Message> {
    match message {
        tungstenite::Message::Text(text) => {
            // SAFETY: a `Utf8Bytes` holds UTF-8 (its invariant: the reader makes them
            // with the checked `Utf8Bytes::try_from`); checking again would cost a pass
            // over every payload.
            #[allow(unsafe_code)]
            let text = unsafe { bytestring::ByteString::from_bytes_unchecked(text.into()) };
            Some(Message::Text(text))
        }
        tungstenite::Message::Binary(bytes) => Some(Message::Binary(bytes)),
        _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_crosses_to_and_from_the_wire_unchanged_and_shared() {
        let text = "José ✓ 🎉".repeat(100);
        let ours = Message::from(text.clone());
        let sent = to_wire(ours.clone());
        assert!(matches!(&sent, tungstenite::Message::Text(t) if t.as_str() == text));
        let back = from_wire(sent).unwrap();
        assert_eq!(back, ours);
        let binary = Message::binary(vec![0xff, 0, 0xfe]);
        assert_eq!(from_wire(to_wire(binary.clone())), Some(binary));
        assert_eq!(
            from_wire(tungstenite::Message::Pong(bytes::Bytes::new())),
            None
        );
    }
}
