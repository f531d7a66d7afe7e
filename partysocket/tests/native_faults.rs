//! The native driver under faults: drops, restarts, stalls, refusals, half-open
//! connections and hostile peers. Nothing queued is lost or duplicated; nothing panics.

#![cfg(feature = "tokio")]

mod net;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use net::{PATIENCE, is_open, mock, ms, next_text, options, until};
use partysocket::{
    CloseFrame, ConnectionState, Credentials, Event, FailurePolicy, Heartbeat, PartySocket,
    PartySocketOptions, Query, QueryProvider, StopReason, TransportError,
};
use tokio::io::AsyncWriteExt;

fn is_close(event: &Event) -> bool {
    matches!(event, Event::Close { .. })
}

fn texts(received: &[party_mock::Received]) -> Vec<String> {
    received
        .iter()
        .filter_map(|r| r.message.as_text().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn reconnect_after_a_drop_delivers_the_queue_exactly_once_in_order() {
    let server = mock().await;
    let (socket, mut events) =
        PartySocket::connect(options(&server, "echo", "drop").build().unwrap()).unwrap();
    until(&mut events, is_open).await;
    let _ = socket.send("before").unwrap();
    server
        .wait_for_received("echo", "drop", 1, PATIENCE)
        .await
        .unwrap();

    assert_eq!(server.drop_all(), 1);
    let (close, _) = until(&mut events, is_close).await;
    assert_eq!(
        close,
        Event::Close {
            frame: CloseFrame::abnormal(""),
            was_clean: false
        }
    );
    let queued: Vec<String> = (0..50).map(|i| format!("q{i}")).collect();
    for text in &queued {
        assert!(socket.send(text.clone()).unwrap().is_accepted());
    }
    until(&mut events, is_open).await;
    let received = server
        .wait_for_received("echo", "drop", 51, PATIENCE)
        .await
        .unwrap();
    let mut want = vec!["before".to_owned()];
    want.extend(queued);
    assert_eq!(texts(&received), want);
    // All queued messages arrived on the new connection (same id, second attempt).
    assert_eq!(server.attempts().len(), 2);
}

#[tokio::test]
async fn reconnect_after_a_server_restart_delivers_the_queue() {
    let server = mock().await;
    let (socket, mut events) =
        PartySocket::connect(options(&server, "echo", "restart").build().unwrap()).unwrap();
    until(&mut events, is_open).await;
    server.stop().await;
    until(&mut events, is_close).await;
    for i in 0..20 {
        let _ = socket.send(format!("r{i}")).unwrap();
    }
    // A few refused attempts while the server is down.
    server.wait_for_attempts(1, PATIENCE).await.unwrap();
    tokio::time::sleep(ms(300)).await;
    server.restart().await.unwrap();
    until(&mut events, is_open).await;
    let received = server
        .wait_for_received("echo", "restart", 20, PATIENCE)
        .await
        .unwrap();
    assert_eq!(
        texts(&received),
        (0..20).map(|i| format!("r{i}")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn connection_timeout_on_a_stalled_handshake_then_recovery() {
    let server = mock().await;
    server.stall_handshakes(true);
    let built = options(&server, "echo", "stall")
        .connection_timeout(ms(300))
        .build()
        .unwrap();
    let (_socket, mut events) = PartySocket::connect(built).unwrap();
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert_eq!(error, Event::Error(TransportError::Timeout(ms(300))));
    server.stall_handshakes(false);
    until(&mut events, is_open).await;
}

#[tokio::test]
async fn max_retries_then_the_exhausted_event_then_reconnect_works() {
    let server = mock().await;
    let host = server.host();
    server.stop().await;
    let built = PartySocketOptions::builder(host)
        .party("echo")
        .room("retries")
        .max_retries(2)
        .min_reconnection_delay(ms(20))
        .max_reconnection_delay(ms(40))
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    let (_, before) = until(&mut events, |e| matches!(e, Event::RetriesExhausted { .. })).await;
    assert_eq!(
        before
            .iter()
            .filter(|e| matches!(e, Event::Error(_)))
            .count(),
        3
    );
    let state = socket
        .wait_for(|s| matches!(s, ConnectionState::Closed { .. }))
        .await
        .unwrap();
    assert_eq!(
        state,
        ConnectionState::Closed {
            reason: StopReason::RetriesExhausted { attempts: 2 }
        }
    );
    server.restart().await.unwrap();
    socket.reconnect().unwrap();
    until(&mut events, is_open).await;
}

#[tokio::test]
async fn should_reconnect_predicate_stops_on_a_4xxx_close() {
    let server = mock().await;
    let policy = FailurePolicy::default().should_reconnect_on_close(|close| close.code < 4000);
    let built = options(&server, "echo", "kick")
        .failure_policy(policy)
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    server.close_all(4001, "kicked");
    let (close, _) = until(&mut events, is_close).await;
    assert_eq!(
        close,
        Event::Close {
            frame: CloseFrame::new(4001, "kicked"),
            was_clean: true
        }
    );
    let state = socket
        .wait_for(|s| matches!(s, ConnectionState::Closed { .. }))
        .await
        .unwrap();
    assert!(matches!(
        state,
        ConnectionState::Closed {
            reason: StopReason::GaveUp { .. }
        }
    ));
    tokio::time::sleep(ms(300)).await;
    assert_eq!(server.attempts().len(), 1);
}

#[tokio::test]
async fn handshake_401_stops_with_a_terminal_close() {
    let server = mock().await;
    server.refuse_next(1, 401, None);
    let (socket, mut events) =
        PartySocket::connect(options(&server, "echo", "auth").build().unwrap()).unwrap();
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert_eq!(
        error,
        Event::Error(TransportError::HandshakeRejected {
            status: 401,
            retry_after: None
        })
    );
    let state = socket
        .wait_for(|s| matches!(s, ConnectionState::Closed { .. }))
        .await
        .unwrap();
    let ConnectionState::Closed { reason } = state else {
        unreachable!()
    };
    assert!(reason.is_terminal());
    tokio::time::sleep(ms(300)).await;
    assert_eq!(server.attempts().len(), 1);
}

#[tokio::test]
async fn handshake_429_honours_retry_after() {
    let server = mock().await;
    server.refuse_next(1, 429, Some(1));
    let (_socket, mut events) =
        PartySocket::connect(options(&server, "echo", "busy").build().unwrap()).unwrap();
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert_eq!(
        error,
        Event::Error(TransportError::HandshakeRejected {
            status: 429,
            retry_after: Some(Duration::from_secs(1))
        })
    );
    until(&mut events, is_open).await;
    let attempts = server.attempts();
    assert_eq!(attempts.len(), 2);
    let waited = attempts[1].time.duration_since(attempts[0].time).unwrap();
    // The backoff alone would be 50 ms; the server asked for a second.
    assert!(
        waited >= Duration::from_millis(950),
        "retried after {waited:?}"
    );
}

#[tokio::test]
async fn half_open_connection_is_detected_and_replaced() {
    let server = mock().await;
    let built = options(&server, "echo", "silent")
        .heartbeat(Heartbeat::new(ms(200), ms(300)))
        .build()
        .unwrap();
    let (_socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    assert_eq!(server.go_silent(true).await, 1);
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert_eq!(
        error,
        Event::Error(TransportError::HeartbeatTimeout(ms(300)))
    );
    // A fresh connection replaces the dead one.
    until(&mut events, is_open).await;
    assert_eq!(server.attempts().len(), 2);
}

#[tokio::test]
async fn heartbeat_keeps_a_quiet_healthy_connection() {
    let server = mock().await;
    let built = options(&server, "echo", "quiet")
        .heartbeat(Heartbeat::new(ms(100), ms(300)))
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    tokio::time::sleep(ms(1000)).await;
    assert_eq!(socket.connection_state(), ConnectionState::Open);
    assert_eq!(server.attempts().len(), 1, "pongs kept the connection");
}

#[tokio::test]
async fn a_new_token_on_every_attempt_and_headers_on_every_handshake() {
    let server = mock().await;
    let provider = net::numbered_tokens();
    let built = options(&server, "echo", "tokens")
        .query(provider)
        .header("Authorization", "Bearer secret")
        .build()
        .unwrap();
    let (_socket, mut events) = PartySocket::connect(built).unwrap();
    for _ in 0..2 {
        until(&mut events, is_open).await;
        server.drop_all();
        until(&mut events, is_close).await;
    }
    until(&mut events, is_open).await;
    let attempts = server.attempts();
    let tokens: Vec<String> = attempts
        .iter()
        .map(|a| a.url.split("token=").nth(1).unwrap_or_default().to_owned())
        .collect();
    assert_eq!(tokens, ["t1", "t2", "t3"]);
    assert!(
        attempts
            .iter()
            .all(|a| a.header("authorization") == Some("Bearer secret"))
    );
}

#[tokio::test]
async fn a_rotated_authorization_header_on_every_handshake_and_a_401_recovered() {
    let server = mock().await;
    let issued = Arc::new(AtomicU32::new(0));
    let provider = {
        let issued = issued.clone();
        QueryProvider::with_credentials(move || {
            let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
            async move { Ok(Credentials::new().with_header("Authorization", format!("Bearer h{n}"))) }
        })
    };
    let built = options(&server, "echo", "rotated")
        .query(provider)
        .header("authorization", "Bearer static")
        .header("X-Client", "rust")
        .failure_policy(FailurePolicy::always_reconnect())
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    server.drop_all();
    until(&mut events, is_close).await;
    until(&mut events, is_open).await;
    // The next handshake is refused: the provider is asked again, no app code runs.
    server.refuse_next(1, 401, None);
    socket.reconnect().unwrap();
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert_eq!(
        error,
        Event::Error(TransportError::HandshakeRejected {
            status: 401,
            retry_after: None
        })
    );
    until(&mut events, is_open).await;
    let attempts = server.attempts();
    let sent: Vec<Vec<&str>> = attempts
        .iter()
        .map(|a| {
            a.headers
                .iter()
                .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
                .map(|(_, value)| value.as_str())
                .collect()
        })
        .collect();
    assert_eq!(
        sent,
        [["Bearer h1"], ["Bearer h2"], ["Bearer h3"], ["Bearer h4"]]
    );
    assert!(
        attempts
            .iter()
            .all(|a| a.header("x-client") == Some("rust"))
    );
}

#[tokio::test]
async fn a_failing_query_provider_is_an_error_then_a_retry() {
    let server = mock().await;
    let calls = Arc::new(AtomicU32::new(0));
    let provider = {
        let calls = calls.clone();
        QueryProvider::new(move || {
            let first = calls.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    Err("token service down".to_owned())
                } else {
                    Ok(Query::new().with("token", "ok"))
                }
            }
        })
    };
    let (_socket, mut events) = PartySocket::connect(
        options(&server, "echo", "q")
            .query(provider)
            .build()
            .unwrap(),
    )
    .unwrap();
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert_eq!(
        error,
        Event::Error(TransportError::QueryProvider("token service down".into()))
    );
    until(&mut events, is_open).await;
    assert_eq!(
        server.attempts().len(),
        1,
        "no handshake for the failed resolution"
    );
}

#[tokio::test]
async fn oversize_message_is_an_error_and_a_reconnect() {
    let server = mock().await;
    let built = options(&server, "echo", "big")
        .max_message_size(1024)
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    let _greeting = next_text(&mut events).await;
    let _ = socket.send("x".repeat(4096)).unwrap();
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert!(
        matches!(error, Event::Error(TransportError::Protocol(_))),
        "{error:?}"
    );
    until(&mut events, is_open).await;
}

/// A server that completes the handshake, then writes `bytes` raw; counts connections.
async fn hostile_server(bytes: &'static [u8]) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        for _ in 0..5 {
            let Ok(Ok((tcp, _))) = tokio::time::timeout(PATIENCE, listener.accept()).await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                if let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await {
                    let _ = ws.get_mut().write_all(bytes).await;
                    tokio::time::sleep(ms(500)).await;
                }
            });
        }
    });
    (host, accepted)
}

async fn hostile_case(bytes: &'static [u8]) {
    let (host, accepted) = hostile_server(bytes).await;
    let built = PartySocketOptions::builder(host)
        .room("r")
        .min_reconnection_delay(ms(20))
        .max_reconnection_delay(ms(40))
        .build()
        .unwrap();
    let (_socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert!(
        matches!(error, Event::Error(TransportError::Protocol(_))),
        "{error:?}"
    );
    until(&mut events, is_open).await;
    assert!(accepted.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn invalid_utf8_from_the_server_is_an_error_and_a_reconnect() {
    // FIN + text opcode, unmasked, two bytes that are not UTF-8.
    hostile_case(&[0x81, 0x02, 0xff, 0xfe]).await;
}

#[tokio::test]
async fn garbage_from_the_server_is_an_error_and_a_reconnect() {
    // A reserved opcode, then noise.
    hostile_case(&[0x8f, 0x03, 0xde, 0xad, 0x00, 0x13, 0x37]).await;
}

/// Errors keep what caused them: the `io::ErrorKind` of a refused connection is there,
/// and `source()` reaches it.
#[tokio::test]
async fn a_refused_connection_keeps_its_io_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let built = partysocket::PartySocketOptions::builder(format!("127.0.0.1:{port}"))
        .room("nobody")
        .max_retries(0)
        .build()
        .unwrap();
    let (_socket, mut events) = PartySocket::connect(built).unwrap();
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    let Event::Error(error) = error else {
        unreachable!()
    };
    let TransportError::Network(cause) = &error else {
        panic!("a network error: {error:?}")
    };
    assert_eq!(cause.io_kind(), Some(std::io::ErrorKind::ConnectionRefused));
    assert!(cause.downcast_ref::<std::io::Error>().is_some());
    assert!(std::error::Error::source(&error).is_some());
}

/// A query provider that never answers is dropped, not polled forever: on close, when
/// its attempt times out, and when `reconnect()` replaces the attempt.
#[tokio::test]
async fn a_hanging_query_provider_is_cancelled() {
    struct Alive(Arc<AtomicUsize>);
    impl Drop for Alive {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let server = mock().await;
    let alive = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let provider = {
        let (alive, started) = (Arc::clone(&alive), Arc::clone(&started));
        partysocket::QueryProvider::new(move || {
            alive.fetch_add(1, Ordering::SeqCst);
            started.fetch_add(1, Ordering::SeqCst);
            let guard = Alive(Arc::clone(&alive));
            async move {
                let _guard = guard;
                std::future::pending::<partysocket::QueryResult>().await
            }
        })
    };
    let built = options(&server, "echo", "hanging")
        .query(provider)
        .connection_timeout(ms(200))
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    // The first attempt times out: its provider future is dropped.
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert_eq!(error, Event::Error(TransportError::Timeout(ms(200))));
    let settled = |want_started: usize| {
        let (alive, started) = (Arc::clone(&alive), Arc::clone(&started));
        async move {
            tokio::time::timeout(PATIENCE, async {
                while alive.load(Ordering::SeqCst) > 1
                    || started.load(Ordering::SeqCst) < want_started
                {
                    tokio::time::sleep(ms(5)).await;
                }
            })
            .await
            .expect("stale providers are dropped");
        }
    };
    settled(2).await;
    // reconnect() replaces the attempt in progress.
    socket.reconnect().unwrap();
    settled(3).await;
    assert_eq!(
        alive.load(Ordering::SeqCst),
        1,
        "only the current attempt's provider"
    );
    // close() drops the current one.
    socket.close().unwrap();
    tokio::time::timeout(PATIENCE, async {
        while alive.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(ms(5)).await;
        }
    })
    .await
    .expect("close drops the provider's future");
}
