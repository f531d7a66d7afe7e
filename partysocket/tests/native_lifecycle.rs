//! The native driver against the in-process mock: opening, messaging, closing, scale.

#![cfg(feature = "tokio")]

mod net;

use std::collections::BTreeSet;

use net::{is_open, mock, next_text, options, until};
use partysocket::{
    CloseFrame, ConnectionState, Event, Message, PartySocket, ReadyState, SendOutcome,
};

#[tokio::test]
async fn lifecycle_open_echo_text_and_binary_then_close() {
    net::trace();
    let server = mock().await;
    let (socket, mut events) =
        PartySocket::connect(options(&server, "echo", "life").id("me").build().unwrap()).unwrap();
    assert_eq!(
        socket.room_url(),
        format!("ws://{}/parties/echo/life", server.host())
    );
    assert_eq!(socket.id(), "me");

    let (open, _) = until(&mut events, is_open).await;
    assert!(
        matches!(open, Event::Open { ref url, .. } if url.ends_with("/parties/echo/life?_pk=me"))
    );
    assert_eq!(socket.ready_state(), ReadyState::Open);
    assert_eq!(
        socket.url().as_deref(),
        Some(format!("ws://{}/parties/echo/life?_pk=me", server.host()).as_str())
    );

    let greeting: serde_json::Value = serde_json::from_str(&next_text(&mut events).await).unwrap();
    assert_eq!(greeting["id"], "me");

    assert_eq!(socket.send("hello").unwrap(), SendOutcome::Sent);
    assert_eq!(next_text(&mut events).await, "hello");
    let _ = socket.send(vec![0u8, 1, 2, 255]).unwrap();
    let (binary, _) = until(&mut events, net::is_message).await;
    assert_eq!(binary, Event::Message(Message::binary(vec![0, 1, 2, 255])));

    socket.close_with(CloseFrame::new(4000, "done")).unwrap();
    let (close, _) = until(&mut events, |e| matches!(e, Event::Close { .. })).await;
    assert_eq!(
        close,
        Event::Close {
            frame: CloseFrame::new(4000, "done"),
            was_clean: true
        }
    );
    assert_eq!(socket.ready_state(), ReadyState::Closed);
    let received = server.received("echo", "life");
    assert_eq!(received.len(), 2);
}

#[tokio::test]
async fn messages_sent_before_open_are_flushed_before_the_open_event() {
    let server = mock().await;
    let (socket, mut events) =
        PartySocket::connect(options(&server, "echo", "early").build().unwrap()).unwrap();
    let outcomes = [socket.send("one").unwrap(), socket.send("two").unwrap()];
    assert_eq!(outcomes, [SendOutcome::Queued, SendOutcome::Queued]);
    until(&mut events, is_open).await;
    let received = server
        .wait_for_received("echo", "early", 2, net::PATIENCE)
        .await
        .unwrap();
    let texts: Vec<&str> = received
        .iter()
        .filter_map(|r| r.message.as_text())
        .collect();
    assert_eq!(texts, ["one", "two"]);
}

#[tokio::test]
async fn order_of_ten_thousand_messages() {
    let server = mock().await;
    let (socket, mut events) =
        PartySocket::connect(options(&server, "echo", "flood").build().unwrap()).unwrap();
    socket.opened().await.unwrap();
    for i in 0..10_000 {
        let _ = socket.send(format!("m{i}")).unwrap();
    }
    let received = server
        .wait_for_received("echo", "flood", 10_000, net::PATIENCE)
        .await
        .unwrap();
    let expected: Vec<String> = (0..10_000).map(|i| format!("m{i}")).collect();
    let got: Vec<&str> = received
        .iter()
        .filter_map(|r| r.message.as_text())
        .collect();
    assert_eq!(got, expected);
    // And the echoes come back in the same order.
    let _greeting = next_text(&mut events).await;
    for want in &expected {
        assert_eq!(&next_text(&mut events).await, want);
    }
}

#[tokio::test]
async fn a_hundred_sockets_in_different_rooms_and_parties() {
    let server = mock().await;
    let parties = ["echo", "main", "chat", "presence", "game"];
    let mut sockets = Vec::new();
    for i in 0..100 {
        let party = parties[i % parties.len()];
        let built = options(&server, party, &format!("room-{i}"))
            .id(format!("client-{i}"))
            .build()
            .unwrap();
        sockets.push(PartySocket::connect(built).unwrap());
    }
    for (socket, events) in &mut sockets {
        socket.opened().await.unwrap();
        // Every party greets a new connection with something.
        let text = next_text(events).await;
        assert!(!text.is_empty());
    }
    let open = server
        .wait_for_connections(100, net::PATIENCE)
        .await
        .unwrap();
    let ids: BTreeSet<&str> = open.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 100);
    assert!(open.iter().any(|c| c.party == "game" && c.room == "room-4"));
}

#[tokio::test]
async fn dropping_every_handle_closes_the_connection() {
    let server = mock().await;
    let (socket, mut events) =
        PartySocket::connect(options(&server, "echo", "drop").build().unwrap()).unwrap();
    socket.opened().await.unwrap();
    server.wait_for_connections(1, net::PATIENCE).await.unwrap();
    drop(socket);
    server.wait_for_connections(0, net::PATIENCE).await.unwrap();
    // The events stream ends after the task's last events.
    let rest = tokio::time::timeout(net::PATIENCE, async {
        let mut rest = Vec::new();
        while let Some(event) = events.recv().await {
            rest.push(event);
        }
        rest
    })
    .await
    .unwrap();
    assert!(rest.iter().any(|e| matches!(e, Event::Close { .. })));
    assert!(matches!(
        rest.last(),
        Some(Event::StateChanged(ConnectionState::Closed { .. }))
    ));
}

#[tokio::test]
async fn start_closed_waits_for_reconnect() {
    let server = mock().await;
    let (socket, mut events) = PartySocket::connect(
        options(&server, "echo", "later")
            .start_closed(true)
            .build()
            .unwrap(),
    )
    .unwrap();
    tokio::time::sleep(net::ms(100)).await;
    assert_eq!(server.attempts().len(), 0);
    assert_eq!(socket.ready_state(), ReadyState::Closed);
    socket.reconnect().unwrap();
    until(&mut events, is_open).await;
    assert_eq!(server.attempts().len(), 1);
}

/// Text goes out and comes back without a second UTF-8 check on either side (the
/// transport trusts the types that guarantee it): multi-byte text, small and large, and
/// binary survive byte for byte.
#[tokio::test]
async fn multi_byte_text_and_binary_echo_byte_for_byte() {
    let server = mock().await;
    let (socket, mut events) =
        PartySocket::connect(options(&server, "echo", "bytes").build().unwrap()).unwrap();
    until(&mut events, is_open).await;
    let _greeting = next_text(&mut events).await;
    let small = "José ✓ 🎉 ñ";
    let large = "日本語テキスト ✓ ".repeat(4_000);
    for text in [small.to_owned(), large] {
        assert!(socket.send(text.as_str()).unwrap().is_accepted());
        assert_eq!(next_text(&mut events).await, text);
    }
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    for payload in [bytes[..300].to_vec(), bytes] {
        assert!(socket.send(payload.clone()).unwrap().is_accepted());
        let (echo, _) = until(&mut events, net::is_message).await;
        assert_eq!(echo, Event::Message(Message::binary(payload)));
    }
}

/// Once the socket's task is gone (its runtime shut down), sending is a typed error,
/// from the same handle, and nothing is queued for a task that will never run.
#[test]
fn send_after_the_runtime_is_gone_is_driver_stopped() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let options = partysocket::PartySocketOptions::builder("127.0.0.1:1")
        .room("r")
        .build()
        .unwrap();
    let (socket, _events) = runtime.block_on(async { PartySocket::connect(options).unwrap() });
    drop(runtime);
    assert_eq!(
        socket.send("late").unwrap_err(),
        partysocket::Error::DriverStopped
    );
    assert_eq!(
        socket.send_coalesced("k", "late").unwrap_err(),
        partysocket::Error::DriverStopped
    );
    assert_eq!(socket.buffered_amount(), 0, "nothing was queued");
    // The `Sink` says so too, from its first step (readiness), and takes nothing.
    let mut sink = socket.clone();
    let sent = futures_util::FutureExt::now_or_never(futures_util::SinkExt::send(
        &mut sink,
        partysocket::Message::from("late"),
    ));
    assert_eq!(sent, Some(Err(partysocket::Error::DriverStopped)));
    assert_eq!(socket.buffered_amount(), 0, "nothing was queued");
}

#[test]
fn no_runtime_is_a_typed_error() {
    let options = partysocket::PartySocketOptions::builder("localhost:1")
        .room("r")
        .build()
        .unwrap();
    assert_eq!(
        PartySocket::connect(options).unwrap_err(),
        partysocket::Error::NoRuntime
    );
}

#[tokio::test]
#[allow(clippy::result_large_err)] // tungstenite's handshake callback fixes the error type
async fn subprotocols_are_offered_and_the_choice_reported() {
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let offered = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut seen = None;
        let ws = tokio_tungstenite::accept_hdr_async(
            tcp,
            |request: &Request, mut response: Response| {
                seen = request
                    .headers()
                    .get("sec-websocket-protocol")
                    .map(|v| v.to_str().unwrap().to_owned());
                response
                    .headers_mut()
                    .insert("sec-websocket-protocol", "chat-v2".parse().unwrap());
                Ok(response)
            },
        )
        .await
        .unwrap();
        tokio::time::sleep(net::ms(500)).await;
        drop(ws);
        seen
    });
    let built = partysocket::PartySocketOptions::builder(host)
        .room("r")
        .protocols(["chat-v1", "chat-v2"])
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    let (open, _) = until(&mut events, is_open).await;
    assert!(matches!(open, Event::Open { protocol: Some(ref p), .. } if p == "chat-v2"));
    assert_eq!(socket.protocol().as_deref(), Some("chat-v2"));
    assert_eq!(offered.await.unwrap().as_deref(), Some("chat-v1, chat-v2"));
}
