//! The WebSocket opening handshake (RFC 6455 §4.1), written here rather than left to
//! tungstenite so the connection keeps no handshake buffer: the response is read in
//! small steps and whatever followed it is handed to the WebSocket layer.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::http::header::{
    CONNECTION, RETRY_AFTER, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_PROTOCOL, UPGRADE,
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
    let expected = Expected::of(request);
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
        buffer.extend_from_slice(&chunk[..read]);
        if let Some((end, protocol)) = parse_response(&buffer, &expected)? {
            return Ok(Upgraded {
                protocol,
                leftover: buffer[end..].to_vec(),
            });
        }
    }
}

fn protocol_error(message: String) -> TransportError {
    TransportError::Protocol(Cause::from(message))
}

/// `GET path HTTP/1.1` and the request's headers, names in their canonical case
/// (`Sec-WebSocket-Key`, `Authorization`): HTTP names are case-insensitive, but some
/// servers and proxies compare them as written.
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
        push_canonical_name(&mut head, name.as_str());
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    Ok(head)
}

/// Appends `name` (lower case, as the `http` crate stores it) in canonical case: each
/// word after a `-` capitalised, with the WebSocket headers' own spelling.
fn push_canonical_name(head: &mut String, name: &str) {
    const SPELLED: &[&str] = &[
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Extensions",
        "Sec-WebSocket-Accept",
    ];
    if let Some(spelled) = SPELLED.iter().find(|s| s.eq_ignore_ascii_case(name)) {
        head.push_str(spelled);
        return;
    }
    let mut word_start = true;
    for c in name.chars() {
        head.push(if word_start {
            c.to_ascii_uppercase()
        } else {
            c
        });
        word_start = c == '-';
    }
}

/// What the response must agree with: what the request offered.
#[derive(Debug)]
pub(crate) struct Expected {
    /// `Sec-WebSocket-Accept` for the request's key.
    accept: String,
    /// The subprotocols offered.
    protocols: Vec<String>,
}

impl Expected {
    fn of(request: &Request) -> Expected {
        let key = request
            .headers()
            .get(SEC_WEBSOCKET_KEY)
            .map(|key| key.as_bytes())
            .unwrap_or_default();
        let protocols = request
            .headers()
            .get(SEC_WEBSOCKET_PROTOCOL)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.split(',').map(|p| p.trim().to_owned()).collect())
            .unwrap_or_default();
        Expected {
            accept: derive_accept_key(key),
            protocols,
        }
    }

    /// For a request with `key` offering `protocols` (the fuzz target's entry).
    #[cfg_attr(not(fuzzing), allow(dead_code))]
    pub(crate) fn new(key: &[u8], protocols: &[&str]) -> Expected {
        Expected {
            accept: derive_accept_key(key),
            protocols: protocols.iter().map(|&p| p.to_owned()).collect(),
        }
    }
}

/// Reads a response head from the start of `buffer`, as tungstenite's client does:
/// `None` while the head is incomplete; once it is complete, its length and the
/// subprotocol the server chose. Line ends may be `\r\n` or a bare `\n`
/// (RFC 9112 §2.2).
///
/// # Errors
///
/// [`TransportError::HandshakeRejected`] for a status other than 101,
/// [`TransportError::Protocol`] for a head that is too long or malformed, or an
/// upgrade RFC 6455 §4.1 says the client must fail: not HTTP/1.1, no `Upgrade:
/// websocket` or `Connection: upgrade`, a wrong `Sec-WebSocket-Accept`, an extension
/// or subprotocol that was not offered.
pub(crate) fn parse_response(
    buffer: &[u8],
    expected: &Expected,
) -> Result<Option<(usize, Option<String>)>, TransportError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let end = match response.parse(buffer) {
        Ok(httparse::Status::Complete(end)) => end,
        Ok(httparse::Status::Partial) if buffer.len() > MAX_HEAD => {
            return Err(protocol_error(format!(
                "the handshake response head is over {MAX_HEAD} bytes"
            )));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(protocol_error(format!(
                "the handshake response has over {MAX_HEADERS} headers"
            )));
        }
        Err(err) => {
            return Err(protocol_error(format!(
                "an invalid handshake response: {err}"
            )));
        }
    };
    if end > MAX_HEAD {
        return Err(protocol_error(format!(
            "the handshake response head is over {MAX_HEAD} bytes"
        )));
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
    if response.version != Some(1) {
        return Err(protocol_error(
            "the server answered the upgrade with HTTP/1.0; a WebSocket upgrade needs HTTP/1.1"
                .into(),
        ));
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
    if header(SEC_WEBSOCKET_ACCEPT.as_str()) != Some(expected.accept.as_str()) {
        return Err(protocol_error(
            "the response's Sec-WebSocket-Accept is wrong".into(),
        ));
    }
    // This client offers no extension, so any the server names was not offered.
    if let Some(extensions) = response
        .headers
        .iter()
        .filter(|header| {
            header
                .name
                .eq_ignore_ascii_case(SEC_WEBSOCKET_EXTENSIONS.as_str())
        })
        .map(|header| String::from_utf8_lossy(header.value))
        .find(|value| !value.trim().is_empty())
    {
        return Err(protocol_error(format!(
            "the server chose extension {:?}, which was not offered",
            extensions.trim()
        )));
    }
    let offered = &expected.protocols;
    let protocol = match header(SEC_WEBSOCKET_PROTOCOL.as_str()) {
        // As browsers: offering subprotocols and getting none back fails.
        None if !offered.is_empty() => {
            return Err(protocol_error(
                "the server chose none of the offered subprotocols".into(),
            ));
        }
        None => None,
        Some(chosen) if offered.iter().any(|p| p == chosen) => Some(chosen.to_owned()),
        Some(chosen) => {
            return Err(protocol_error(format!(
                "the server chose subprotocol {chosen:?}, which was not offered"
            )));
        }
    };
    Ok(Some((end, protocol)))
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

    /// A 101 answer to `request` on `version` with `eol` line ends, `extra` header
    /// lines (each ending in `eol`) and `after` following the head.
    fn switching(request: &Request, version: &str, eol: &str, extra: &str, after: &str) -> String {
        format!(
            "{version} 101 Switching Protocols{eol}Upgrade: websocket{eol}Connection: Upgrade{eol}Sec-WebSocket-Accept: {}{eol}{extra}{eol}{after}",
            accept(request)
        )
    }

    /// The client's view of `answer`; a head never recognised fails after a bound
    /// instead of hanging.
    async fn answer(answer: &str, request: &Request) -> Result<Upgraded, TransportError> {
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        server.write_all(answer.as_bytes()).await.unwrap();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            upgrade(&mut client, request),
        )
        .await
        .expect("the response head was never recognised")
    }

    #[tokio::test]
    async fn bare_line_feeds_end_a_head_as_crlf_does() {
        let request = request();
        let head = switching(&request, "HTTP/1.1", "\n", "", "\u{81}\u{0}");
        let upgraded = answer(&head, &request).await.unwrap();
        assert_eq!(upgraded.leftover, "\u{81}\u{0}".as_bytes());
    }

    #[tokio::test]
    async fn a_head_split_across_reads_is_put_together() {
        let request = request();
        let head = switching(&request, "HTTP/1.1", "\r\n", "", "rest");
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        let writer = tokio::spawn(async move {
            for byte in head.as_bytes() {
                server.write_all(&[*byte]).await.unwrap();
                tokio::task::yield_now().await;
            }
            server
        });
        let upgraded = upgrade(&mut client, &request).await.unwrap();
        drop(writer.await.unwrap());
        // What followed the head is either in the leftover or still in the stream.
        let mut after = upgraded.leftover;
        client.read_to_end(&mut after).await.unwrap();
        assert_eq!(after, b"rest");
    }

    #[tokio::test]
    async fn an_http_1_0_upgrade_is_refused_but_its_refusal_keeps_the_status() {
        let request = request();
        let head = switching(&request, "HTTP/1.0", "\r\n", "", "");
        let err = answer(&head, &request).await.unwrap_err();
        assert!(err.to_string().contains("HTTP/1.1"), "{err}");
        assert!(matches!(err, TransportError::Protocol(_)), "{err:?}");
        let err = answer("HTTP/1.0 403 Forbidden\r\n\r\n", &request)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            TransportError::HandshakeRejected {
                status: 403,
                retry_after: None
            }
        );
    }

    #[tokio::test]
    async fn an_extension_that_was_not_offered_fails_the_connection() {
        let request = request();
        let head = switching(
            &request,
            "HTTP/1.1",
            "\r\n",
            "Sec-WebSocket-Extensions: permessage-deflate\r\n",
            "",
        );
        let err = answer(&head, &request).await.unwrap_err();
        assert!(matches!(err, TransportError::Protocol(_)), "{err:?}");
        assert!(err.to_string().contains("permessage-deflate"), "{err}");
    }

    #[tokio::test]
    async fn too_many_headers_are_refused() {
        let request = request();
        let mut head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
            accept(&request)
        );
        for n in 0..MAX_HEADERS {
            head.push_str(&format!("X-{n}: y\r\n"));
        }
        head.push_str("\r\n");
        let err = answer(&head, &request).await.unwrap_err();
        assert!(err.to_string().contains("headers"), "{err}");
    }

    #[test]
    fn request_header_names_go_out_in_canonical_case() {
        let mut request = request();
        request.headers_mut().insert(
            "x-user-id",
            tokio_tungstenite::tungstenite::http::HeaderValue::from_static("7"),
        );
        request.headers_mut().insert(
            "authorization",
            tokio_tungstenite::tungstenite::http::HeaderValue::from_static("Bearer t"),
        );
        let head = request_head(&request).unwrap();
        for name in [
            "\r\nHost: ",
            "\r\nConnection: Upgrade",
            "\r\nUpgrade: websocket",
            "\r\nSec-WebSocket-Version: 13",
            "\r\nSec-WebSocket-Key: ",
            "\r\nX-User-Id: 7",
            "\r\nAuthorization: Bearer t",
        ] {
            assert!(head.contains(name), "{name:?} missing from {head:?}");
        }
    }
}
