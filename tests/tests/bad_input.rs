//! Bad input never takes the server down: each gets a clear close or HTTP error, and the
//! other rooms keep working.

mod support;

use futures_util::SinkExt;
use party_mock::{MockConfig, MockServer};
use support::{
    Seen, WAIT, connect, http, next, next_json, next_text, raw_http, send_binary, send_text, server,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

/// A room in another party that must keep working through every test.
async fn bystander_still_works(server: &MockServer) {
    let mut socket = connect(server, "/parties/echo/bystander").await;
    next_json(&mut socket).await;
    send_text(&mut socket, "alive").await;
    assert_eq!(next_text(&mut socket).await, "alive");
}

#[tokio::test]
async fn malformed_json_closes_the_sender_with_1003_and_spares_the_room() {
    let server = server().await;
    for party in ["chat", "presence", "game"] {
        let path = format!("/parties/{party}/bad");
        let mut good = connect(&server, &path).await;
        next_json(&mut good).await;
        let mut bad = connect(&server, &path).await;
        next_json(&mut bad).await;
        if party != "chat" {
            next_json(&mut good).await; // the newcomer's presence or player-join
        }
        send_text(&mut bad, "{ not json").await;
        assert_eq!(
            next(&mut bad).await,
            Seen::Close(Some((1003, "invalid JSON".into()))),
            "{party}"
        );
        let mut binary = connect(&server, &path).await;
        next_json(&mut binary).await;
        send_binary(&mut binary, b"{}").await;
        assert_eq!(
            next(&mut binary).await,
            Seen::Close(Some((1003, "invalid JSON".into()))),
            "{party}"
        );
    }
    let mut chat = connect(&server, "/parties/chat/bad").await;
    next_json(&mut chat).await;
    send_text(&mut chat, r#"{"type":"message","user":"u","text":"fine"}"#).await;
    assert_eq!(next_json(&mut chat).await["message"]["text"], "fine");
    bystander_still_works(&server).await;
}

#[tokio::test]
async fn invalid_utf8_in_a_text_frame_closes_with_1007() {
    let server = server().await;
    let mut socket = connect(&server, "/parties/echo/utf8").await;
    next_json(&mut socket).await;
    let frame = Frame::message(vec![0x66, 0x6f, 0xff, 0xfe], OpCode::Data(Data::Text), true);
    socket.send(Message::Frame(frame)).await.unwrap();
    assert!(matches!(
        next(&mut socket).await,
        Seen::Close(Some((1007, _)))
    ));
    assert!(server.received("echo", "utf8").is_empty());
    bystander_still_works(&server).await;
}

#[tokio::test]
async fn an_oversize_frame_closes_with_1009() {
    let server = MockServer::start(MockConfig {
        max_message_size: Some(64 * 1024),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let mut socket = connect(&server, "/parties/main/big").await;
    next_text(&mut socket).await;
    send_binary(&mut socket, &vec![7u8; 256 * 1024]).await;
    assert!(matches!(
        next(&mut socket).await,
        Seen::Close(Some((1009, _)))
    ));
    assert!(server.received("main", "big").is_empty());
    bystander_still_works(&server).await;
}

#[tokio::test]
async fn incomplete_upgrades_get_400_and_plain_gets_reach_on_request() {
    let server = server().await;
    let host = server.host();
    // Upgrade asked for, but no key.
    let no_key = format!(
        "GET /parties/echo/u HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let answer = raw_http(server.addr(), no_key.as_bytes()).await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("Sec-WebSocket-Key"), "{}", answer.body);
    // Upgrade asked for with the wrong version.
    let old = format!(
        "GET /parties/echo/u HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
    );
    let answer = raw_http(server.addr(), old.as_bytes()).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.header("sec-websocket-version"), Some("13"));
    // No upgrade headers at all: a plain HTTP request, answered by the party (or not).
    let answer = http(&server, "GET", "/parties/chat/u", None).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (500, "No onRequest handler")
    );
    let answer = http(&server, "GET", "/parties/main/u", None).await;
    assert_eq!(answer.status, 200);
    bystander_still_works(&server).await;
}

#[tokio::test]
async fn garbage_and_truncated_requests_get_errors_or_are_dropped() {
    let server = server().await;
    let answer = raw_http(server.addr(), b"\x16\x03\x01 definitely not http\r\n\r\n").await;
    assert_eq!(answer.status, 400);
    let oversize_head = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(20_000));
    assert_eq!(
        raw_http(server.addr(), oversize_head.as_bytes())
            .await
            .status,
        431
    );
    let chunked = b"POST /parties/main/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_eq!(raw_http(server.addr(), chunked).await.status, 411);

    // A client that sends half a head and hangs up.
    let mut half = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    half.write_all(b"GET /parties/main/x HTT").await.unwrap();
    drop(half);
    // A client that promises a body and never sends it all.
    let mut short = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    short
        .write_all(b"POST /parties/main/x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        .await
        .unwrap();
    short.shutdown().await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(WAIT, short.read_to_end(&mut rest)).await;
    assert!(
        matches!(read, Ok(Ok(0))),
        "the server hangs up without answering: {read:?}"
    );

    bystander_still_works(&server).await;
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() {
    let server = server().await;
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let two = "GET /parties/main/k HTTP/1.1\r\nHost: h\r\n\r\nGET /parties/nope/k HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    stream.write_all(two.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut bytes))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(text.matches("HTTP/1.1 ").count(), 2, "{text}");
    assert!(text.contains(r#"{"connections":0}"#));
    assert!(text.ends_with("Party nope not found"));
}
