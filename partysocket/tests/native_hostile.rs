//! Hostile servers: a frame dripped a byte at a time, a handshake response that never
//! ends, an invalid handshake, a 100 MB frame, and a flood faster than the application
//! reads. Each ends in a typed error or bounded memory, never a hang or a panic.

#![cfg(feature = "tokio")]

mod net;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use net::{PATIENCE, is_open, ms, until};
use partysocket::{Event, PartySocket, PartySocketOptions, TransportError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Serves every connection (at most 8) with `behaviour`; returns the host.
async fn serve<F, Fut>(behaviour: F) -> String
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        for _ in 0..8 {
            let Ok(Ok((tcp, _))) = tokio::time::timeout(PATIENCE, listener.accept()).await else {
                return;
            };
            tokio::spawn(behaviour(tcp));
        }
    });
    host
}

/// Reads the request head; returns the `Sec-WebSocket-Key`.
async fn read_request(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if tcp.read(&mut byte).await.unwrap_or(0) == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head)
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default()
}

async fn accept(tcp: &mut TcpStream) {
    let key = read_request(tcp).await;
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    let _ = tcp.write_all(answer.as_bytes()).await;
}

fn options(host: String) -> partysocket::PartySocketOptionsBuilder {
    PartySocketOptions::builder(host)
        .room("hostile")
        .min_reconnection_delay(ms(50))
        .max_reconnection_delay(ms(100))
        .connection_timeout(ms(500))
}

#[tokio::test]
async fn a_frame_dripped_a_byte_at_a_time_arrives_whole() {
    let host = serve(|mut tcp| async move {
        accept(&mut tcp).await;
        for byte in [0x81u8, 0x05, b'h', b'e', b'l', b'l', b'o'] {
            if tcp.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(ms(30)).await;
        }
        tokio::time::sleep(PATIENCE).await;
    })
    .await;
    let (_socket, mut events) = PartySocket::connect(options(host).build().unwrap()).unwrap();
    until(&mut events, is_open).await;
    let (message, _) = until(&mut events, |e| matches!(e, Event::Message(_))).await;
    let Event::Message(message) = message else {
        unreachable!()
    };
    assert_eq!(message.as_text(), Some("hello"));
}

#[tokio::test]
async fn a_handshake_response_that_never_ends_times_out() {
    let host = serve(|mut tcp| async move {
        read_request(&mut tcp).await;
        let _ = tcp
            .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n")
            .await;
        tokio::time::sleep(PATIENCE).await;
    })
    .await;
    let (_socket, mut events) = PartySocket::connect(options(host).build().unwrap()).unwrap();
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert_eq!(error, Event::Error(TransportError::Timeout(ms(500))));
}

#[tokio::test]
async fn an_invalid_handshake_is_a_protocol_error_then_a_retry() {
    let host = serve(|mut tcp| async move {
        read_request(&mut tcp).await;
        let _ = tcp
            .write_all(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n")
            .await;
        tokio::time::sleep(PATIENCE).await;
    })
    .await;
    let (_socket, mut events) = PartySocket::connect(options(host).build().unwrap()).unwrap();
    for _ in 0..2 {
        let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
        assert!(
            matches!(error, Event::Error(TransportError::Protocol(_))),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn a_100_mb_frame_is_refused_before_it_is_buffered() {
    let host = serve(|mut tcp| async move {
        accept(&mut tcp).await;
        // FIN + binary, 64-bit length: 100 MB, then the start of the payload.
        let mut header = vec![0x82u8, 127];
        header.extend_from_slice(&100_000_000u64.to_be_bytes());
        let _ = tcp.write_all(&header).await;
        let chunk = vec![0u8; 64 * 1024];
        for _ in 0..64 {
            if tcp.write_all(&chunk).await.is_err() {
                return;
            }
        }
    })
    .await;
    let built = options(host).max_message_size(1 << 20).build().unwrap();
    let (_socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert!(
        matches!(error, Event::Error(TransportError::Protocol(_))),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_held_back_by_tcp_while_the_application_does_not_read() {
    let written = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&written);
    let host = serve(move |mut tcp| {
        let counter = Arc::clone(&counter);
        async move {
            accept(&mut tcp).await;
            // Text frames of 1 KiB, as fast as the socket takes them: 200 MB at most.
            let mut frame = vec![0x81u8, 126, 0x04, 0x00];
            frame.extend(std::iter::repeat_n(b'f', 1024));
            for _ in 0..200_000 {
                if tcp.write_all(&frame).await.is_err() {
                    return;
                }
                counter.fetch_add(frame.len() as u64, Ordering::SeqCst);
            }
        }
    })
    .await;
    let built = options(host).event_capacity(100).build().unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    tokio::time::sleep(ms(1000)).await;
    let first = written.load(Ordering::SeqCst);
    tokio::time::sleep(ms(500)).await;
    let second = written.load(Ordering::SeqCst);
    assert!(events.len() <= 100, "{} events waiting", events.len());
    assert_eq!(first, second, "the server is blocked by TCP backpressure");
    assert!(second < 64 << 20, "{second} bytes left the server");
    // Reading resumes the flow.
    let mut read = 0;
    tokio::time::timeout(PATIENCE, async {
        while read < 5_000 {
            if let Some(Event::Message(_)) = events.recv().await {
                read += 1;
            }
        }
    })
    .await
    .expect("the flood flows again");
    assert!(written.load(Ordering::SeqCst) > second);
    drop(socket);
}

/// Reads one masked client frame; returns its opcode and payload.
async fn read_client_frame(tcp: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 2];
    tcp.read_exact(&mut head).await.ok()?;
    let mut len = u64::from(head[1] & 0x7f);
    if len == 126 {
        let mut ext = [0u8; 2];
        tcp.read_exact(&mut ext).await.ok()?;
        len = u64::from(u16::from_be_bytes(ext));
    } else if len == 127 {
        let mut ext = [0u8; 8];
        tcp.read_exact(&mut ext).await.ok()?;
        len = u64::from_be_bytes(ext);
    }
    let mut mask = [0u8; 4];
    tcp.read_exact(&mut mask).await.ok()?;
    let mut payload = vec![0u8; usize::try_from(len).ok()?];
    tcp.read_exact(&mut payload).await.ok()?;
    for (i, byte) in payload.iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
    Some((head[0] & 0x0f, payload))
}

/// A frame the client sent, with the number of the server connection that read it.
#[derive(Debug)]
struct ClientFrame {
    connection: u64,
    opcode: u8,
    payload: Vec<u8>,
}

impl ClientFrame {
    fn text(&self) -> Option<String> {
        (self.opcode == 1).then(|| String::from_utf8_lossy(&self.payload).into_owned())
    }

    /// The status code of a close frame.
    fn close_code(&self) -> Option<u16> {
        match self.payload[..] {
            [high, low, ..] if self.opcode == 8 => Some(u16::from_be_bytes([high, low])),
            _ => None,
        }
    }
}

/// When the first connection sends its first words.
#[derive(Clone, Copy)]
enum Cue {
    /// At once after the handshake (possibly in the handshake's segment).
    Handshake,
    /// Once the client sent the text "ready": the application has seen the open
    /// events and waits for more, so nothing of this connection is unread.
    Ready,
}

/// Serves connections whose first sends `first_words` (in one TCP segment) at `cue`,
/// then report every frame the client sends, with the connection's number, on the
/// returned channel.
async fn serve_first_words(
    first_words: &'static [u8],
    cue: Cue,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<ClientFrame>) {
    let (frames, received) = tokio::sync::mpsc::unbounded_channel();
    let connections = Arc::new(AtomicU64::new(0));
    let host = serve(move |mut tcp| {
        let frames = frames.clone();
        let connection = connections.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            accept(&mut tcp).await;
            let mut cue = (connection == 1).then_some(cue);
            let _ = tokio::time::timeout(PATIENCE, async {
                loop {
                    if matches!(cue, Some(Cue::Handshake)) {
                        cue = None;
                        let _ = tcp.write_all(first_words).await;
                    }
                    let Some((opcode, payload)) = read_client_frame(&mut tcp).await else {
                        break;
                    };
                    let frame = ClientFrame {
                        connection,
                        opcode,
                        payload,
                    };
                    if matches!(cue, Some(Cue::Ready)) && frame.text().as_deref() == Some("ready") {
                        cue = Some(Cue::Handshake);
                        continue;
                    }
                    let _ = frames.send(frame);
                }
            })
            .await;
        }
    })
    .await;
    (host, received)
}

/// The next frame the client sent, within [`PATIENCE`].
async fn next_frame(
    received: &mut tokio::sync::mpsc::UnboundedReceiver<ClientFrame>,
) -> ClientFrame {
    tokio::time::timeout(PATIENCE, received.recv())
        .await
        .expect("the client sends a frame in time")
        .expect("the server runs")
}

/// Waits for the socket to open, then tells the server it is ready.
async fn ready(socket: &PartySocket, events: &mut partysocket::Events) {
    until(events, |e| matches!(e, Event::Open { .. })).await;
    let _ = socket.send("ready").unwrap();
}

/// Answers "hello" with "echo:hello" as soon as it arrives.
async fn answer_hello(socket: &PartySocket, events: &mut partysocket::Events) {
    let (message, _) = until(events, |e| matches!(e, Event::Message(_))).await;
    assert_eq!(message, Event::Message("hello".into()));
    let _ = socket.send("echo:hello").unwrap();
}

/// Autobahn 3.2 and kin: a valid message, then a frame with a reserved bit set, in one
/// segment. The answer to the message goes out on that connection, then a close frame
/// with 1002 (protocol error, RFC 6455 §7.4.1); the socket reports the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_to_a_message_before_a_bad_frame_is_written_first() {
    // "hello" as text; then a text frame with RSV2 set.
    const WORDS: &[u8] = b"\x81\x05hello\xa1\x05world";
    for cue in [Cue::Handshake, Cue::Ready] {
        let (host, mut received) = serve_first_words(WORDS, cue).await;
        let (socket, mut events) = PartySocket::connect(options(host).build().unwrap()).unwrap();
        if matches!(cue, Cue::Ready) {
            ready(&socket, &mut events).await;
        }
        answer_hello(&socket, &mut events).await;
        let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
        assert!(
            matches!(error, Event::Error(TransportError::Protocol(_))),
            "{error:?}"
        );
        let answer = next_frame(&mut received).await;
        assert_eq!(
            (answer.connection, answer.text().as_deref()),
            (1, Some("echo:hello")),
            "the answer goes out on the connection it answers"
        );
        let close = next_frame(&mut received).await;
        assert_eq!((close.connection, close.close_code()), (1, Some(1002)));
        drop(socket);
    }
}

/// A valid message, then the server's close frame, in one segment: the message is
/// delivered before the close, and the answer (which the closing connection can no
/// longer carry) is not lost: it goes out on the next connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_to_a_message_before_a_close_is_kept_for_the_next_connection() {
    // "hello" as text; then close 4000.
    const WORDS: &[u8] = b"\x81\x05hello\x88\x02\x0f\xa0";
    let (host, mut received) = serve_first_words(WORDS, Cue::Handshake).await;
    let (socket, mut events) = PartySocket::connect(options(host).build().unwrap()).unwrap();
    answer_hello(&socket, &mut events).await;
    let (close, _) = until(&mut events, |e| matches!(e, Event::Close { .. })).await;
    assert!(
        matches!(&close, Event::Close { frame, .. } if frame.code == 4000),
        "{close:?}"
    );
    // The close is echoed on the first connection; the answer goes out on the second.
    let echo = next_frame(&mut received).await;
    assert_eq!((echo.connection, echo.close_code()), (1, Some(4000)));
    let answer = next_frame(&mut received).await;
    assert_eq!(answer.text().as_deref(), Some("echo:hello"));
    assert_eq!(answer.connection, 2);
    drop(socket);
}

/// Autobahn 6.*: a text frame that is not UTF-8, alone or after a valid message, at once
/// or when the application waits. The socket sends a close frame with 1007 (invalid
/// payload data, RFC 6455 §7.4.1), reports a protocol error and reconnects; it never
/// hangs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_fails_the_connection_with_1007() {
    for cue in [Cue::Handshake, Cue::Ready] {
        for words in [
            &b"\x81\x02\xc3\x28"[..],
            &b"\x81\x05hello\x81\x02\xc3\x28"[..],
        ] {
            let words: &'static [u8] = Box::leak(words.to_vec().into_boxed_slice());
            let (host, mut received) = serve_first_words(words, cue).await;
            let (socket, mut events) =
                PartySocket::connect(options(host).build().unwrap()).unwrap();
            if matches!(cue, Cue::Ready) {
                ready(&socket, &mut events).await;
            }
            let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
            assert!(
                matches!(error, Event::Error(TransportError::Protocol(_))),
                "{error:?}"
            );
            until(&mut events, |e| matches!(e, Event::Close { .. })).await;
            let close = next_frame(&mut received).await;
            assert_eq!((close.connection, close.close_code()), (1, Some(1007)));
            until(&mut events, |e| matches!(e, Event::Open { .. })).await;
            drop(socket);
        }
    }
}
