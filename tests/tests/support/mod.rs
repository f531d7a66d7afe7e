//! What the integration tests share: a WebSocket client with bounded waits and a raw
//! HTTP/1.1 client.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use party_mock::{MockConfig, MockServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The bound on every wait in these tests.
pub const WAIT: Duration = Duration::from_secs(5);

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A server with the default configuration.
pub async fn server() -> MockServer {
    MockServer::start(MockConfig::default())
        .await
        .expect("the mock server starts")
}

/// Connects to `path` on `server`, panicking when the handshake fails.
pub async fn connect(server: &MockServer, path: &str) -> Socket {
    try_connect(server, path)
        .await
        .unwrap_or_else(|err| panic!("connect {path}: {err}"))
}

/// Connects to `path` on `server`.
pub async fn try_connect(server: &MockServer, path: &str) -> Result<Socket, tungstenite::Error> {
    let url = server.ws_url(path);
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url)).await {
        Ok(result) => result.map(|(socket, _response)| socket),
        Err(_) => panic!("connect {path}: no answer within {WAIT:?}"),
    }
}

/// What a client saw next on its socket.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    Text(String),
    Binary(Vec<u8>),
    Pong(Vec<u8>),
    /// A close frame: code and reason.
    Close(Option<(u16, String)>),
    /// The connection ended without a close frame.
    Ended,
}

/// The next frame (pings are answered by the library and skipped).
pub async fn next(socket: &mut Socket) -> Seen {
    let frame = tokio::time::timeout(WAIT, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Ping(_) | Message::Frame(_))) => continue,
                other => return other,
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no frame within {WAIT:?}"));
    match frame {
        Some(Ok(Message::Text(text))) => Seen::Text(text.as_str().to_owned()),
        Some(Ok(Message::Binary(bytes))) => Seen::Binary(bytes.to_vec()),
        Some(Ok(Message::Pong(bytes))) => Seen::Pong(bytes.to_vec()),
        Some(Ok(Message::Close(frame))) => Seen::Close(
            frame.map(|CloseFrame { code, reason }| (u16::from(code), reason.as_str().to_owned())),
        ),
        Some(Ok(Message::Ping(_) | Message::Frame(_))) => unreachable!("skipped above"),
        Some(Err(_)) | None => Seen::Ended,
    }
}

/// The next frame, which must be text.
pub async fn next_text(socket: &mut Socket) -> String {
    match next(socket).await {
        Seen::Text(text) => text,
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// The next frame, which must be JSON text.
pub async fn next_json(socket: &mut Socket) -> serde_json::Value {
    let text = next_text(socket).await;
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

/// Sends a text frame.
pub async fn send_text(socket: &mut Socket, text: &str) {
    socket
        .send(Message::text(text))
        .await
        .expect("the frame is sent");
}

/// Sends a binary frame.
pub async fn send_binary(socket: &mut Socket, bytes: &[u8]) {
    socket
        .send(Message::binary(bytes.to_vec()))
        .await
        .expect("the frame is sent");
}

/// A plain HTTP answer.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.body))
    }
}

/// Sends `raw` bytes as they are and reads the answer until the server closes.
pub async fn raw_http(addr: SocketAddr, raw: &[u8]) -> HttpAnswer {
    tokio::time::timeout(WAIT, async {
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        stream.write_all(raw).await.expect("request written");
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes).await;
        parse_answer(&bytes)
    })
    .await
    .unwrap_or_else(|_| panic!("no HTTP answer within {WAIT:?}"))
}

/// `method path` with an optional body, `Connection: close`.
pub async fn http(server: &MockServer, method: &str, path: &str, body: Option<&str>) -> HttpAnswer {
    let body = body.unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        server.host(),
        body.len()
    );
    raw_http(server.addr(), request.as_bytes()).await
}

pub fn parse_answer(bytes: &[u8]) -> HttpAnswer {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    HttpAnswer {
        status,
        headers,
        body: body.to_owned(),
    }
}
