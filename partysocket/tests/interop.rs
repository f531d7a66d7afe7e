//! The core scenarios against a real `partykit dev` server running the TypeScript
//! parties in `tests/fidelity/`. `cargo xtask test interop` starts the server, sets
//! `PARTYKIT_HOST`, and runs these with `--ignored`; a plain `cargo test` lists them as
//! ignored rather than pretending they passed.

#![cfg(feature = "tokio")]

mod net;

use net::{is_message, is_open, next_text, until};
use partysocket::{
    CloseFrame, ConnectionState, Event, FetchInit, Heartbeat, Message, PartySocket,
    PartySocketOptions, PartySocketOptionsBuilder, TransportError,
};
use serde_json::Value;

const NEEDS: &str = "needs a partykit dev server: run `cargo xtask test interop`";

fn host() -> String {
    std::env::var("PARTYKIT_HOST").unwrap_or_else(|_| panic!("PARTYKIT_HOST is not set: {NEEDS}"))
}

/// A fresh room name per test, so a long-running server's state cannot leak in.
fn room(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

fn options(party: &str, room_name: &str) -> PartySocketOptionsBuilder {
    PartySocketOptions::builder(host())
        .party(party)
        .room(room(room_name))
        .min_reconnection_delay(net::ms(100))
        .max_reconnection_delay(net::ms(500))
}

async fn json(events: &mut partysocket::Events) -> Value {
    serde_json::from_str(&next_text(events).await).expect("JSON")
}

#[tokio::test]
#[ignore = "needs a partykit dev server: run `cargo xtask test interop`"]
async fn lifecycle_greeting_echo_and_close() {
    let (socket, mut events) = PartySocket::connect(
        options("echo", "life")
            .id("interop-me")
            .close_timeout(net::ms(300))
            .build()
            .unwrap(),
    )
    .unwrap();
    until(&mut events, is_open).await;
    let greeting = json(&mut events).await;
    assert_eq!(greeting["id"], "interop-me");
    let url = greeting["url"].as_str().unwrap();
    assert!(
        url.contains(&format!("/parties/echo/{}?_pk=interop-me", room("life"))),
        "{url}"
    );

    let _ = socket.send("text").unwrap();
    assert_eq!(next_text(&mut events).await, "text");
    let _ = socket.send(vec![1u8, 2, 3]).unwrap();
    let (binary, _) = until(&mut events, is_message).await;
    assert_eq!(binary, Event::Message(Message::binary(vec![1, 2, 3])));

    socket.close_with(CloseFrame::new(4000, "bye")).unwrap();
    let (close, _) = until(&mut events, |e| matches!(e, Event::Close { .. })).await;
    let Event::Close { frame, was_clean } = close else {
        unreachable!()
    };
    // `partykit dev` (workerd at this compatibility date) never answers a client's close
    // frame, so the close is reported when `close_timeout` passes, honestly unclean.
    assert_eq!(frame, CloseFrame::new(4000, "bye"));
    assert!(!was_clean);
    assert_eq!(socket.ready_state(), partysocket::ReadyState::Closed);
}

#[tokio::test]
#[ignore = "needs a partykit dev server: run `cargo xtask test interop`"]
async fn queued_messages_flush_in_order_and_a_thousand_echo_in_order() {
    let (socket, mut events) =
        PartySocket::connect(options("echo", "order").build().unwrap()).unwrap();
    for i in 0..3 {
        let _ = socket.send(format!("early-{i}")).unwrap();
    }
    for i in 0..1000 {
        let _ = socket.send(format!("m{i}")).unwrap();
    }
    let _greeting = json(&mut events).await;
    for i in 0..3 {
        assert_eq!(next_text(&mut events).await, format!("early-{i}"));
    }
    for i in 0..1000 {
        assert_eq!(next_text(&mut events).await, format!("m{i}"));
    }
}

#[tokio::test]
#[ignore = "needs a partykit dev server: run `cargo xtask test interop`"]
async fn main_party_welcome_broadcast_and_fetch() {
    let built = options("main", "quick").build().unwrap();
    let id = |name: &str| built.to_builder().id(name).build().unwrap();
    let (alice, mut alice_events) = PartySocket::connect(id("alice")).unwrap();
    let (bob, mut bob_events) = PartySocket::connect(id("bob")).unwrap();
    assert_eq!(next_text(&mut alice_events).await, "Welcome to the party!");
    assert_eq!(next_text(&mut bob_events).await, "Welcome to the party!");
    let _ = alice.send("hi bob").unwrap();
    assert_eq!(next_text(&mut bob_events).await, "hi bob");

    let response = PartySocket::fetch(&built, FetchInit::get()).await.unwrap();
    assert_eq!(response.status(), 200);
    let count: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(count["connections"], 2);

    let response = PartySocket::fetch(&built, FetchInit::post(r#"{"from":"http"}"#))
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), "Broadcasted");
    assert_eq!(next_text(&mut alice_events).await, r#"{"from":"http"}"#);
    assert_eq!(next_text(&mut bob_events).await, r#"{"from":"http"}"#);
    drop((alice, bob));
}

#[tokio::test]
#[ignore = "needs a partykit dev server: run `cargo xtask test interop`"]
async fn chat_history_survives_a_reconnect() {
    let (socket, mut events) =
        PartySocket::connect(options("chat", "history").build().unwrap()).unwrap();
    let sync = json(&mut events).await;
    assert_eq!(sync["type"], "sync");
    let _ = socket
        .send(r#"{"type":"message","user":"ada","text":"remember me"}"#)
        .unwrap();
    let echoed = json(&mut events).await;
    assert_eq!(echoed["type"], "message");
    assert_eq!(echoed["message"]["text"], "remember me");
    socket.reconnect().unwrap();
    let (_, _) = until(&mut events, is_open).await;
    let sync = json(&mut events).await;
    assert_eq!(sync["type"], "sync");
    let texts: Vec<&str> = sync["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, ["remember me"]);
}

#[tokio::test]
#[ignore = "needs a partykit dev server: run `cargo xtask test interop`"]
async fn a_new_token_on_every_attempt_reaches_the_server() {
    let provider = net::numbered_tokens();
    let (socket, mut events) =
        PartySocket::connect(options("echo", "tokens").query(provider).build().unwrap()).unwrap();
    let first = json(&mut events).await;
    assert!(
        first["url"].as_str().unwrap().ends_with("token=t1"),
        "{first}"
    );
    socket.reconnect().unwrap();
    let second = json(&mut events).await;
    assert!(
        second["url"].as_str().unwrap().ends_with("token=t2"),
        "{second}"
    );
}

#[tokio::test]
#[ignore = "needs a partykit dev server: run `cargo xtask test interop`"]
async fn an_unknown_party_is_a_rejected_handshake() {
    let built = options("no-such-party", "x")
        .max_retries(0)
        .build()
        .unwrap();
    let (_socket, mut events) = PartySocket::connect(built).unwrap();
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert!(
        matches!(
            error,
            Event::Error(TransportError::HandshakeRejected { status: 404, .. })
        ),
        "{error:?}"
    );
    // A party the server does not have is terminal: the socket stops, no retry.
    until(&mut events, |e| {
        matches!(
            e,
            Event::StateChanged(partysocket::ConnectionState::Closed {
                reason: partysocket::StopReason::GaveUp { .. }
            })
        )
    })
    .await;
}

/// The browser's heartbeat, run natively: `ping` after 200 ms of quiet, dead when nothing
/// arrives within 400 ms of it.
fn text_heartbeat() -> Heartbeat {
    Heartbeat::new(net::ms(200), net::ms(400)).application("ping", Some(Message::from("pong")))
}

#[tokio::test]
#[ignore = "needs a partykit dev server: run `cargo xtask test interop`"]
async fn the_text_heartbeat_stays_open_where_the_party_answers_ping() {
    let built = options("heartbeat", "answered")
        .heartbeat(text_heartbeat())
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built.clone()).unwrap();
    until(&mut events, is_open).await;

    // Ten intervals of quiet: without the answers the connection would have been
    // declared dead after 600 ms.
    let mut seen = Vec::new();
    let _ = tokio::time::timeout(net::ms(2000), async {
        while let Some(event) = events.recv().await {
            seen.push(event);
        }
    })
    .await;
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, Event::Message(_) | Event::Error(_) | Event::Close { .. })),
        "no message, error or close: {seen:?}"
    );
    assert_eq!(socket.connection_state(), ConnectionState::Open);

    // The party answered the pings (the pongs were taken by the heartbeat, not
    // delivered above).
    let response = PartySocket::fetch(&built, FetchInit::get()).await.unwrap();
    let count: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    let pings = count["pings"].as_u64().unwrap();
    assert!(pings >= 3, "a ping per quiet interval: {count}");
    drop(socket);
}

#[tokio::test]
#[ignore = "needs a partykit dev server: run `cargo xtask test interop`"]
async fn the_text_heartbeat_reconnects_where_nothing_answers_ping() {
    // The Quick Start party broadcasts `ping` to everyone else: alone in the room, nothing
    // comes back, as from most parties that do not filter it.
    let built = options("main", "unanswered")
        .heartbeat(text_heartbeat())
        .build()
        .unwrap();
    let (_socket, mut events) = PartySocket::connect(built).unwrap();
    assert_eq!(next_text(&mut events).await, "Welcome to the party!");

    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert_eq!(
        error,
        Event::Error(TransportError::HeartbeatTimeout(net::ms(400)))
    );
    let (close, _) = until(&mut events, |e| matches!(e, Event::Close { .. })).await;
    assert_eq!(
        close,
        Event::Close {
            frame: CloseFrame::abnormal(""),
            was_clean: false
        }
    );
    // The socket reconnects, and the room greets the new connection.
    let (_, before) = until(&mut events, is_open).await;
    assert!(
        before
            .iter()
            .any(|e| matches!(e, Event::StateChanged(ConnectionState::BackingOff { .. }))),
        "{before:?}"
    );
    assert_eq!(next_text(&mut events).await, "Welcome to the party!");
}
