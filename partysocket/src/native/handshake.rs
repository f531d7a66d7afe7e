//! The WebSocket opening handshake (RFC 6455 §4.1), written here rather than left to
//! tungstenite so the connection keeps no handshake buffer: the response is read in
//! small steps and whatever followed it is handed to the WebSocket layer.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::http::header::{
    CONNECTION, RETRY_AFTER, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    UPGRADE,
};

use crate::core::policy::parse_retry_after;
use crate::{Cause, TransportError};

/// The largest response head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Bytes read per step while looking for the end of the head.
const STEP: usize = 512;
/// Response headers parsed at most.
const MAX_HEADERS: usize = 64;

/// The handshake's result: the subprotocol the server chose, and the bytes that
/// arrived after the response head (the first frames).
#[derive(Debug)]
pub(crate) struct Upgraded {
    pub(crate) protocol: Option<String>,
    pub(crate) leftover: Vec<u8>,
}

/// Sends `request` on `stream` and checks the server's answer.
///
/// # Errors
///
/// [`TransportError::HandshakeRejected`] when the server answers with another status
/// than 101 (its `Retry-After` included), [`TransportError::Protocol`] for a response
/// that is not a valid upgrade, [`TransportError::Network`] when the stream fails.
pub(crate) async fn upgrade<S>(
    stream: &mut S,
    request: &Request,
) -> Result<Upgraded, TransportError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let head = request_head(request)?;
    let network = |err: std::io::Error| TransportError::Network(Cause::new(err));
    stream.write_all(head.as_bytes()).await.map_err(network)?;
    stream.flush().await.map_err(network)?;

    let mut buffer = Vec::with_capacity(STEP);
    let mut chunk = [0u8; STEP];
    loop {
        let read = stream.read(&mut chunk).await.map_err(network)?;
        if read == 0 {
            return Err(TransportError::Network(Cause::new(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the server closed the connection during the handshake",
            ))));
        }
        let searched_from = buffer.len().saturating_sub(3);
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = find_head_end(&buffer[searched_from..]) {
            let end = searched_from + end;
            let protocol = check_response(&buffer[..end], request)?;
            return Ok(Upgraded {
                protocol,
                leftover: buffer[end..].to_vec(),
            });
        }
        if buffer.len() > MAX_HEAD {
            return Err(protocol_error(format!(
                "the handshake response head is over {MAX_HEAD} bytes"
            )));
        }
    }
}

fn protocol_error(message: String) -> TransportError {
    TransportError::Protocol(Cause::from(message))
}

/// `GET path HTTP/1.1` and the request's headers.
fn request_head(request: &Request) -> Result<String, TransportError> {
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", |target| target.as_str());
    let mut head = format!("GET {target} HTTP/1.1\r\n");
    for (name, value) in request.headers() {
        let value = value
            .to_str()
            .map_err(|_| TransportError::InvalidUrl(format!("header {name} is not text")))?;
        head.push_str(name.as_str());
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    Ok(head)
}

/// The offset just past `\r\n\r\n`, if the buffer holds it.
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Checks a complete response head; returns the chosen subprotocol.
fn check_response(head: &[u8], request: &Request) -> Result<Option<String>, TransportError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(protocol_error("an incomplete handshake response".into()));
        }
        Err(err) => {
            return Err(protocol_error(format!(
                "an invalid handshake response: {err}"
            )));
        }
    }
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .and_then(|header| std::str::from_utf8(header.value).ok())
            .map(str::trim)
    };
    let status = response.code.unwrap_or_default();
    if status != 101 {
        return Err(TransportError::HandshakeRejected {
            status,
            retry_after: header(RETRY_AFTER.as_str()).and_then(parse_retry_after),
        });
    }
    if !header(UPGRADE.as_str()).is_some_and(|value| value.eq_ignore_ascii_case("websocket")) {
        return Err(protocol_error(
            "the response does not upgrade to websocket".into(),
        ));
    }
    if !header(CONNECTION.as_str()).is_some_and(|value| {
        value
            .split(',')
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
    }) {
        return Err(protocol_error(
            "the response's Connection is not upgrade".into(),
        ));
    }
    let key = request
        .headers()
        .get(SEC_WEBSOCKET_KEY)
        .map(|key| key.as_bytes())
        .unwrap_or_default();
    if header(SEC_WEBSOCKET_ACCEPT.as_str()) != Some(derive_accept_key(key).as_str()) {
        return Err(protocol_error(
            "the response's Sec-WebSocket-Accept is wrong".into(),
        ));
    }
    let offered: Vec<&str> = request
        .headers()
        .get(SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(',').map(str::trim).collect())
        .unwrap_or_default();
    match header(SEC_WEBSOCKET_PROTOCOL.as_str()) {
        // As browsers: offering subprotocols and getting none back fails.
        None if !offered.is_empty() => Err(protocol_error(
            "the server chose none of the offered subprotocols".into(),
        )),
        None => Ok(None),
        Some(chosen) if offered.contains(&chosen) => Ok(Some(chosen.to_owned())),
        Some(chosen) => Err(protocol_error(format!(
            "the server chose subprotocol {chosen:?}, which was not offered"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    fn request() -> Request {
        "ws://localhost/parties/main/room?_pk=a"
            .into_client_request()
            .unwrap()
    }

    fn accept(request: &Request) -> String {
        derive_accept_key(request.headers()[SEC_WEBSOCKET_KEY].as_bytes())
    }

    #[tokio::test]
    async fn a_valid_upgrade_keeps_the_bytes_after_the_head() {
        let request = request();
        let (mut client, mut server) = tokio::io::duplex(4096);
        let answer = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n\u{81}\u{2}hi",
            accept(&request)
        );
        server.write_all(answer.as_bytes()).await.unwrap();
        let upgraded = upgrade(&mut client, &request).await.unwrap();
        assert_eq!(upgraded.protocol, None);
        assert_eq!(upgraded.leftover, "\u{81}\u{2}hi".as_bytes());
        let mut sent = vec![0u8; 4096];
        let n = server.read(&mut sent).await.unwrap();
        let sent = String::from_utf8_lossy(&sent[..n]);
        assert!(sent.starts_with("GET /parties/main/room?_pk=a HTTP/1.1\r\n"));
        assert!(sent.ends_with("\r\n\r\n"));
    }

    #[tokio::test]
    async fn a_refusal_carries_its_status_and_retry_after() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        server
            .write_all(
                b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\ncontent-length: 0\r\n\r\n",
            )
            .await
            .unwrap();
        let err = upgrade(&mut client, &request()).await.unwrap_err();
        assert_eq!(
            err,
            TransportError::HandshakeRejected {
                status: 429,
                retry_after: Some(std::time::Duration::from_secs(7)),
            }
        );
    }

    #[tokio::test]
    async fn a_wrong_accept_key_and_garbage_are_protocol_errors() {
        for answer in [
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n",
            "NOT HTTP AT ALL\r\n\r\n",
        ] {
            let (mut client, mut server) = tokio::io::duplex(4096);
            server.write_all(answer.as_bytes()).await.unwrap();
            let err = upgrade(&mut client, &request()).await.unwrap_err();
            assert!(
                matches!(err, TransportError::Protocol(_)),
                "{answer:?}: {err:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_endless_head_is_refused() {
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        let mut answer = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
        answer.extend(std::iter::repeat_n(b'x', 20_000));
        server.write_all(&answer).await.unwrap();
        let err = upgrade(&mut client, &request()).await.unwrap_err();
        assert!(matches!(err, TransportError::Protocol(_)));
    }
}
