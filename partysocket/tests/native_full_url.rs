//! The native driver on options for a full URL (`PartySocketOptions::for_url`): the
//! URL goes out as given, without `_pk`, and reconnection and the queue work as for a
//! room.

#![cfg(feature = "tokio")]

mod net;

use net::{PATIENCE, is_open, mock, ms, next_text, until};
use partysocket::{Event, PartySocket, PartySocketOptions, Query, SendOutcome, TransportError};

fn is_close(event: &Event) -> bool {
    matches!(event, Event::Close { .. })
}

#[tokio::test]
async fn a_full_url_connects_as_given_and_survives_a_restart_with_the_queue() {
    net::trace();
    let server = mock().await;
    let url = server.ws_url("/parties/echo/raw-room?v=2");
    let options = PartySocketOptions::for_url(&url)
        .query(Query::new().with("token", "t"))
        .header("X-Client", "full-url-test")
        .id("not-sent")
        .min_reconnection_delay(ms(50))
        .max_reconnection_delay(ms(200))
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(options).unwrap();
    let (open, _) = until(&mut events, is_open).await;
    let expected = format!("{url}&token=t");
    assert!(
        matches!(&open, Event::Open { url, .. } if *url == expected),
        "{open:?}"
    );
    assert_eq!(socket.room_url(), server.ws_url("/parties/echo/raw-room"));

    let attempts = server.attempts();
    assert_eq!(attempts.len(), 1);
    let attempt = &attempts[0];
    assert!(
        attempt.url.ends_with("/parties/echo/raw-room?v=2&token=t"),
        "{}",
        attempt.url
    );
    assert!(!attempt.url.contains("_pk"), "{}", attempt.url);
    assert_eq!(attempt.header("X-Client"), Some("full-url-test"));
    // Without `_pk` the server names the connection itself.
    let server_id = attempt.connection_id.clone().expect("a connection id");
    assert_ne!(server_id, "not-sent");

    // The echo party greets with the connection's id, then echoes.
    let greeting: serde_json::Value = serde_json::from_str(&next_text(&mut events).await).unwrap();
    assert_eq!(greeting["id"], server_id.as_str());
    assert_eq!(socket.send("before").unwrap(), SendOutcome::Sent);
    assert_eq!(next_text(&mut events).await, "before");

    server.stop().await;
    until(&mut events, is_close).await;
    for i in 0..10 {
        assert_eq!(socket.send(format!("q{i}")).unwrap(), SendOutcome::Queued);
    }
    // A few refused attempts while the server is down.
    tokio::time::sleep(ms(300)).await;
    server.restart().await.unwrap();
    until(&mut events, is_open).await;
    let received = server
        .wait_for_received("echo", "raw-room", 11, PATIENCE)
        .await
        .unwrap();
    let texts: Vec<&str> = received
        .iter()
        .filter_map(|received| received.message.as_text())
        .collect();
    let mut want = vec!["before".to_owned()];
    want.extend((0..10).map(|i| format!("q{i}")));
    assert_eq!(texts, want);
    // Every attempt, refused or not, went to the same URL.
    for attempt in server.attempts() {
        assert!(attempt.url.ends_with("?v=2&token=t"), "{}", attempt.url);
    }
}

#[tokio::test]
async fn a_full_url_to_a_route_the_server_does_not_have_reports_the_status() {
    let server = mock().await;
    let options = PartySocketOptions::for_url(server.ws_url("/not-a-party"))
        .max_retries(0)
        .build()
        .unwrap();
    let (_socket, mut events) = PartySocket::connect(options).unwrap();
    let (error, _) = until(&mut events, |event| matches!(event, Event::Error(_))).await;
    assert!(
        matches!(
            error,
            Event::Error(TransportError::HandshakeRejected { status: 404, .. })
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_update_moves_a_room_socket_to_a_full_url_then_a_host_is_refused() {
    let server = mock().await;
    let options = net::options(&server, "echo", "room-first")
        .id("mover")
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(options).unwrap();
    until(&mut events, is_open).await;
    let target = server.ws_url("/parties/echo/url-second?via=update");
    socket
        .update(partysocket::OptionsUpdate::new().url(&target))
        .unwrap();
    socket.reconnect().unwrap();
    let (open, _) = until(&mut events, is_open).await;
    assert!(
        matches!(&open, Event::Open { url, .. } if *url == target),
        "{open:?}"
    );
    assert_eq!(socket.send("moved").unwrap(), SendOutcome::Sent);
    server
        .wait_for_received("echo", "url-second", 1, PATIENCE)
        .await
        .unwrap();
    // A host cannot be set on a socket that now follows a URL.
    assert!(
        socket
            .update(partysocket::OptionsUpdate::new().host("localhost:1"))
            .is_err()
    );
    assert_eq!(
        socket.options().full_url().as_deref(),
        Some(target.as_str())
    );
}
