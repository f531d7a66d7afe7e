//! Every fault, from Rust and over the `/_mock/` HTTP surface.

mod support;

use std::time::Duration;

use futures_util::SinkExt;
use party_mock::{MockConfig, MockServer, Outcome};
use support::{
    Seen, WAIT, connect, http, next, next_json, next_text, send_text, server, try_connect,
};
use tokio_tungstenite::tungstenite::{self, Message};

#[tokio::test]
async fn drop_all_ends_connections_without_a_close_frame() {
    let server = server().await;
    let mut a = connect(&server, "/parties/echo/d?_pk=a").await;
    let mut b = connect(&server, "/parties/echo/d?_pk=b").await;
    next_json(&mut a).await;
    next_json(&mut b).await;
    server.wait_for_connections(2, WAIT).await.unwrap();
    assert_eq!(server.drop_all(), 2);
    assert_eq!(next(&mut a).await, Seen::Ended);
    assert_eq!(next(&mut b).await, Seen::Ended);
    server.wait_for_connections(0, WAIT).await.unwrap();
}

#[tokio::test]
async fn drop_connection_ends_only_that_connection() {
    let server = server().await;
    let mut a = connect(&server, "/parties/echo/d1?_pk=a").await;
    let mut b = connect(&server, "/parties/echo/d1?_pk=b").await;
    next_json(&mut a).await;
    next_json(&mut b).await;
    assert_eq!(server.drop_connection("a"), 1);
    assert_eq!(server.drop_connection("nobody"), 0);
    assert_eq!(next(&mut a).await, Seen::Ended);
    send_text(&mut b, "still here").await;
    assert_eq!(next_text(&mut b).await, "still here");
}

#[tokio::test]
async fn close_all_and_close_connection_send_code_and_reason() {
    let server = server().await;
    let mut a = connect(&server, "/parties/main/c?_pk=a").await;
    let mut b = connect(&server, "/parties/main/c?_pk=b").await;
    next_text(&mut a).await;
    next_text(&mut b).await;
    assert_eq!(server.close_connection("a", 4001, "kicked"), 1);
    assert_eq!(
        next(&mut a).await,
        Seen::Close(Some((4001, "kicked".into())))
    );
    server.wait_for_connections(1, WAIT).await.unwrap();
    assert_eq!(server.close_all(1012, "service restart"), 1);
    assert_eq!(
        next(&mut b).await,
        Seen::Close(Some((1012, "service restart".into())))
    );
}

async fn refused_status(server: &MockServer, path: &str) -> (u16, Option<String>) {
    match try_connect(server, path).await {
        Err(tungstenite::Error::Http(response)) => (
            response.status().as_u16(),
            response
                .headers()
                .get("retry-after")
                .map(|value| value.to_str().unwrap().to_owned()),
        ),
        other => panic!("expected a refused handshake, got {other:?}"),
    }
}

#[tokio::test]
async fn refuse_next_refuses_exactly_n_handshakes_with_status_and_retry_after() {
    let server = server().await;
    for status in [401, 403, 429, 503] {
        server.refuse_next(2, status, Some(7));
        assert_eq!(
            refused_status(&server, "/parties/echo/r").await,
            (status, Some("7".into()))
        );
        assert_eq!(
            refused_status(&server, "/parties/echo/r").await,
            (status, Some("7".into()))
        );
        let mut socket = connect(&server, "/parties/echo/r").await;
        next_json(&mut socket).await;
    }
    server.refuse_next(1, 503, None);
    assert_eq!(
        refused_status(&server, "/parties/echo/r").await,
        (503, None)
    );
    // Plain HTTP is never refused.
    server.refuse_next(1, 503, None);
    assert_eq!(
        http(&server, "GET", "/parties/main/r", None).await.status,
        200
    );
    server.reset_faults();
    connect(&server, "/parties/echo/r").await;

    let outcomes: Vec<Outcome> = server.attempts().into_iter().map(|a| a.outcome).collect();
    assert_eq!(outcomes[0], Outcome::Refused { status: 401 });
    assert_eq!(outcomes[2], Outcome::Accepted);
}

#[tokio::test]
async fn stalled_handshakes_get_no_answer_until_stalling_stops() {
    let server = server().await;
    server.stall_handshakes(true);
    let url = server.ws_url("/parties/echo/s");
    let stalled = tokio::spawn(tokio_tungstenite::connect_async(url));
    let attempts = server.wait_for_attempts(1, WAIT).await.unwrap();
    assert_eq!(attempts[0].outcome, Outcome::Stalled);
    // Logged as stalled and still unanswered: the client's connect is pending.
    assert!(!stalled.is_finished());

    server.stall_handshakes(false);
    let mut socket = connect(&server, "/parties/echo/s").await;
    next_json(&mut socket).await;
    assert!(!stalled.is_finished());
    stalled.abort();
    // Control requests are answered while stalling.
    server.stall_handshakes(true);
    assert_eq!(
        http(&server, "GET", "/_mock/connections", None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn silent_connections_stop_reading_ponging_and_sending_until_resumed() {
    let server = server().await;
    let mut socket = connect(&server, "/parties/echo/quiet?_pk=q").await;
    next_json(&mut socket).await;
    assert_eq!(server.go_silent(true).await, 1);
    let mut other = connect(&server, "/parties/echo/quiet?_pk=other").await;
    next_json(&mut other).await;

    socket
        .send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    send_text(&mut socket, "unheard").await;
    // Connections opened after going silent are not silent.
    send_text(&mut other, "heard").await;
    assert_eq!(next_text(&mut other).await, "heard");
    assert!(
        server
            .received("echo", "quiet")
            .iter()
            .all(|r| r.connection_id != "q")
    );

    assert_eq!(server.go_silent(false).await, 2);
    assert_eq!(
        next(&mut socket).await,
        Seen::Pong(b"are you there".to_vec())
    );
    assert_eq!(next_text(&mut socket).await, "unheard");
}

#[tokio::test]
async fn stop_refuses_connections_and_restart_serves_the_same_port() {
    let server = server().await;
    let addr = server.addr();
    let mut socket = connect(&server, "/parties/main/s").await;
    next_text(&mut socket).await;
    server.stop().await;
    assert!(!server.is_listening());
    assert_eq!(next(&mut socket).await, Seen::Ended);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    server.restart().await.unwrap();
    assert!(server.is_listening());
    assert_eq!(server.addr(), addr);
    let mut again = connect(&server, "/parties/main/s").await;
    assert_eq!(next_text(&mut again).await, "Welcome to the party!");
    // A restart while running drops everyone too.
    server.restart().await.unwrap();
    assert_eq!(next(&mut again).await, Seen::Ended);
}

#[tokio::test]
async fn max_message_size_closes_with_1009_and_spares_smaller_messages() {
    let server = MockServer::start(MockConfig {
        max_message_size: Some(1024),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let mut socket = connect(&server, "/parties/echo/big").await;
    next_json(&mut socket).await;
    send_text(&mut socket, &"a".repeat(1024)).await;
    assert_eq!(next_text(&mut socket).await.len(), 1024);
    send_text(&mut socket, &"a".repeat(1025)).await;
    assert!(matches!(
        next(&mut socket).await,
        Seen::Close(Some((1009, _)))
    ));

    // A limit set later applies to connections already open.
    let mut open = connect(&server, "/parties/echo/big").await;
    next_json(&mut open).await;
    server.set_max_message_size(Some(4));
    send_text(&mut open, "12345").await;
    assert!(matches!(
        next(&mut open).await,
        Seen::Close(Some((1009, _)))
    ));
    server.set_max_message_size(None);
    let mut unlimited = connect(&server, "/parties/echo/big").await;
    next_json(&mut unlimited).await;
    send_text(&mut unlimited, &"b".repeat(100_000)).await;
    assert_eq!(next_text(&mut unlimited).await.len(), 100_000);
    assert_eq!(server.received("echo", "big").len(), 2);
}

#[tokio::test]
async fn the_log_keeps_attempts_and_messages_in_order_until_cleared() {
    let server = server().await;
    let mut a = connect(&server, "/parties/main/log?_pk=a").await;
    let mut b = connect(&server, "/parties/main/log?_pk=b").await;
    next_text(&mut a).await;
    next_text(&mut b).await;
    for n in 0..20 {
        send_text(if n % 2 == 0 { &mut a } else { &mut b }, &n.to_string()).await;
    }
    let received = server
        .wait_for_received("main", "log", 20, WAIT)
        .await
        .unwrap();
    let a_texts: Vec<&str> = received
        .iter()
        .filter(|r| r.connection_id == "a")
        .map(|r| r.message.as_text().unwrap())
        .collect();
    assert_eq!(
        a_texts,
        ["0", "2", "4", "6", "8", "10", "12", "14", "16", "18"]
    );
    let attempts = server.attempts();
    assert_eq!(attempts.len(), 2);
    assert!(attempts[0].time <= attempts[1].time);
    assert!(attempts[0].header("sec-websocket-key").is_some());

    server.clear_log();
    assert!(server.attempts().is_empty());
    assert!(server.received("main", "log").is_empty());
    let err = server
        .wait_for_received("main", "log", 1, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("main/log"), "{err}");
}

#[tokio::test]
async fn http_control_surface_arms_every_fault() {
    let server = server().await;
    let mut a = connect(&server, "/parties/main/ctl?_pk=a").await;
    let mut b = connect(&server, "/parties/main/ctl?_pk=b").await;
    next_text(&mut a).await;
    next_text(&mut b).await;

    let connections = http(&server, "GET", "/_mock/connections", None).await;
    assert_eq!(connections.json().as_array().unwrap().len(), 2);
    // Browser tests read the answers from a page on another origin.
    assert_eq!(connections.header("access-control-allow-origin"), Some("*"));
    let preflight = http(&server, "OPTIONS", "/_mock/drop", None).await;
    assert_eq!(preflight.status, 200);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));

    let closed = http(
        &server,
        "POST",
        "/_mock/close?id=a&code=4001&reason=bye",
        None,
    )
    .await;
    assert_eq!(closed.json()["closed"], 1);
    assert_eq!(next(&mut a).await, Seen::Close(Some((4001, "bye".into()))));
    let dropped = http(&server, "POST", "/_mock/drop", None).await;
    assert_eq!(dropped.json()["dropped"], 1);
    assert_eq!(next(&mut b).await, Seen::Ended);

    let refuse = http(
        &server,
        "POST",
        "/_mock/refuse?count=1&status=429&retry_after=2",
        None,
    )
    .await;
    assert_eq!(refuse.status, 200);
    assert_eq!(
        refused_status(&server, "/parties/main/ctl").await,
        (429, Some("2".into()))
    );

    let limit = http(&server, "POST", "/_mock/max-message-size?bytes=3", None).await;
    assert_eq!(limit.json()["max_message_size"], 3);
    let mut c = connect(&server, "/parties/main/ctl").await;
    next_text(&mut c).await;
    send_text(&mut c, "four").await;
    assert!(matches!(next(&mut c).await, Seen::Close(Some((1009, _)))));

    let mut d = connect(&server, "/parties/echo/ctl").await;
    next_json(&mut d).await;
    let silent = http(&server, "POST", "/_mock/silent?on=true", None).await;
    assert_eq!(silent.json()["silenced"], 1);
    http(&server, "POST", "/_mock/silent?on=false", None).await;

    let stall = http(&server, "POST", "/_mock/stall?on=true", None).await;
    assert_eq!(stall.json()["stall"], true);
    http(&server, "POST", "/_mock/reset", None).await;
    let mut e = connect(&server, "/parties/echo/ctl").await;
    next_json(&mut e).await;

    let log = http(&server, "GET", "/_mock/log", None).await.json();
    let attempts = log["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "reset cleared the log: {log}");
    assert_eq!(attempts[0]["outcome"], "accepted");
    assert!(
        attempts[0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/parties/echo/ctl")
    );

    let restart = http(&server, "POST", "/_mock/restart?down_ms=100", None).await;
    assert_eq!(restart.json()["restarting"], true);
    assert_eq!(next(&mut e).await, Seen::Ended);
    // Back on the same port after the pause; every wait is bounded.
    let mut back = None;
    for _ in 0..100 {
        if let Ok(socket) = try_connect(&server, "/parties/echo/ctl").await {
            back = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut back = back.expect("the server listens again after /_mock/restart");
    next_json(&mut back).await;
}

#[tokio::test]
async fn http_control_surface_rejects_bad_requests() {
    let server = server().await;
    let cases = [
        ("POST", "/_mock/nope", 404),
        ("GET", "/_mock/drop", 405),
        ("POST", "/_mock/log", 405),
        ("POST", "/_mock/refuse?status=200", 400),
        ("POST", "/_mock/refuse?count=x", 400),
        ("POST", "/_mock/close?code=99", 400),
        ("POST", "/_mock/stall?on=maybe", 400),
        ("POST", "/_mock/restart?down_ms=600000", 400),
    ];
    for (method, path, status) in cases {
        let answer = http(&server, method, path, None).await;
        assert_eq!(answer.status, status, "{method} {path}: {}", answer.body);
        assert!(answer.json()["error"].is_string());
    }
    assert!(server.is_listening());
}

#[tokio::test]
async fn the_message_log_can_be_turned_off_for_benchmarks() {
    let server = MockServer::start(MockConfig {
        log_messages: false,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let mut socket = connect(&server, "/parties/echo/bench").await;
    next_json(&mut socket).await;
    send_text(&mut socket, "not kept").await;
    assert_eq!(next_text(&mut socket).await, "not kept");
    assert!(server.received("echo", "bench").is_empty());
    assert_eq!(server.attempts().len(), 1, "attempts are still logged");
}
