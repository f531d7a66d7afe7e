//! Faults injected through the mock's control API, and what the browser driver makes of
//! them; each test checks what the mock observed.

#![cfg(target_arch = "wasm32")]

mod support;

use std::time::Duration;

use partysocket_wasm::{
    CloseFrame, ConnectionState, Event, FailurePolicy, HEARTBEAT_PING, HEARTBEAT_PONG, Heartbeat,
    Message, PartySocket, SendOutcome, StopReason, TransportError, diagnostics,
};
use serde_json::json;
use support::{
    collect_for, connections, control, eventually, options, outcomes, received, reset, room, text,
    until,
};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn count(events: &[Event], wanted: impl Fn(&Event) -> bool) -> usize {
    events.iter().filter(|e| wanted(e)).count()
}

fn is_open(event: &Event) -> bool {
    matches!(event, Event::Open { .. })
}

#[wasm_bindgen_test]
async fn messages_queued_while_the_server_is_down_arrive_once_in_order() {
    reset().await;
    let room = room("queue");
    let (socket, mut events) =
        PartySocket::connect(options("echo", &room).id("q").build().unwrap()).unwrap();
    until(&mut events, |e| text(e).is_some()).await;

    control("POST", "restart?down_ms=700").await;
    until(&mut events, |e| matches!(e, Event::Close { .. })).await;
    let sent: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    for message in &sent {
        assert_eq!(socket.send(message.as_str()).unwrap(), SendOutcome::Queued);
    }
    assert_eq!(socket.buffered_amount(), 20);

    // Sent on the new connection before its open event; echoed back in order.
    until(&mut events, is_open).await;
    // The machine handed them all over; the browser's buffer empties on its own.
    eventually("the browser sent the queue", || {
        let socket = socket.clone();
        async move { socket.buffered_amount() == 0 }
    })
    .await;
    let seen = until(&mut events, |e| text(e) == Some("m9")).await;
    let echoed: Vec<&str> = seen
        .iter()
        .filter_map(text)
        .filter(|t| t.starts_with('m'))
        .collect();
    assert_eq!(echoed, sent);

    // The server received each exactly once, in order, from this connection.
    support::sleep(300).await;
    let log = received("echo", &room).await;
    let expected: Vec<_> = sent
        .iter()
        .map(|m| ("q".to_owned(), "text".to_owned(), json!(m)))
        .collect();
    assert_eq!(log, expected);
    assert_eq!(
        outcomes("echo", &room).await.last().map(String::as_str),
        Some("accepted")
    );
}

#[wasm_bindgen_test]
async fn a_stalled_handshake_times_out_and_the_next_attempt_connects() {
    reset().await;
    control("POST", "stall?on=true").await;
    let room = room("stall");
    let (_socket, mut events) = PartySocket::connect(
        options("echo", &room)
            .connection_timeout(Duration::from_millis(400))
            .build()
            .unwrap(),
    )
    .unwrap();
    let seen = until(&mut events, |e| matches!(e, Event::Close { .. })).await;
    assert!(
        seen.contains(&Event::Error(TransportError::Timeout(
            Duration::from_millis(400)
        ))),
        "{seen:?}"
    );
    assert_eq!(
        seen.last(),
        Some(&Event::Close {
            frame: CloseFrame::abnormal(""),
            was_clean: false
        })
    );
    control("POST", "stall?on=false").await;
    until(&mut events, is_open).await;
    let outcomes = outcomes("echo", &room).await;
    assert!(outcomes.len() >= 2, "{outcomes:?}");
    assert_eq!(outcomes[0], "stalled");
    assert_eq!(outcomes.last().map(String::as_str), Some("accepted"));
}

#[wasm_bindgen_test]
async fn max_retries_ends_with_the_exhausted_event() {
    reset().await;
    control("POST", "refuse?count=10&status=503").await;
    let room = room("retries");
    let (socket, mut events) =
        PartySocket::connect(options("echo", &room).max_retries(2).build().unwrap()).unwrap();
    let seen = until(&mut events, |e| matches!(e, Event::RetriesExhausted { .. })).await;
    assert_eq!(seen.last(), Some(&Event::RetriesExhausted { attempts: 2 }));
    // Each failed attempt: one error and one close, whatever the browser fires.
    assert_eq!(
        count(&seen, |e| matches!(e, Event::Error(_))),
        3,
        "{seen:?}"
    );
    assert_eq!(
        count(&seen, |e| matches!(e, Event::Close { .. })),
        3,
        "{seen:?}"
    );
    assert_eq!(
        socket.connection_state(),
        ConnectionState::Closed {
            reason: StopReason::RetriesExhausted { attempts: 2 }
        }
    );
    // Nothing more is tried.
    assert!(
        collect_for(&mut events, 400)
            .await
            .iter()
            .all(|e| !matches!(e, Event::StateChanged(ConnectionState::Connecting { .. })))
    );
    assert_eq!(outcomes("echo", &room).await, ["refused 503"; 3]);
    reset().await;
}

#[wasm_bindgen_test]
async fn error_and_close_of_a_failed_attempt_take_one_reconnect_path() {
    reset().await;
    control("POST", "refuse?count=2&status=503").await;
    let before = diagnostics();
    let room = room("one-path");
    let (_socket, mut events) =
        PartySocket::connect(options("echo", &room).build().unwrap()).unwrap();
    let seen = until(&mut events, is_open).await;
    assert_eq!(
        count(&seen, |e| matches!(e, Event::Error(_))),
        2,
        "{seen:?}"
    );
    assert_eq!(
        count(&seen, |e| matches!(e, Event::Close { .. })),
        2,
        "{seen:?}"
    );
    assert_eq!(
        count(&seen, |e| matches!(
            e,
            Event::StateChanged(ConnectionState::Connecting { .. })
        )),
        3,
        "{seen:?}"
    );
    // Had `error` and `close` each scheduled a reconnect, there would be more attempts.
    support::sleep(400).await;
    assert_eq!(
        outcomes("echo", &room).await,
        ["refused 503", "refused 503", "accepted"]
    );
    assert_eq!(diagnostics().stale_events, before.stale_events);
}

#[wasm_bindgen_test]
async fn a_4xxx_close_stops_when_the_predicate_says_so() {
    reset().await;
    let room = room("close-code");
    let policy = FailurePolicy::default().should_reconnect_on_close(|close| close.code < 4000);
    let (socket, mut events) = PartySocket::connect(
        options("echo", &room)
            .id("closer")
            .failure_policy(policy)
            .build()
            .unwrap(),
    )
    .unwrap();
    until(&mut events, is_open).await;

    // A 3xxx close passes the predicate: reconnect.
    control("POST", "close?id=closer&code=3001&reason=again").await;
    let seen = until(&mut events, is_open).await;
    assert!(
        seen.contains(&Event::Close {
            frame: CloseFrame::new(3001, "again"),
            was_clean: true
        }),
        "{seen:?}"
    );

    // A 4xxx close does not: the socket stops.
    control("POST", "close?id=closer&code=4001&reason=bye").await;
    let seen = until(&mut events, |e| {
        matches!(e, Event::StateChanged(ConnectionState::Closed { .. }))
    })
    .await;
    let bye = CloseFrame::new(4001, "bye");
    assert!(
        seen.contains(&Event::Close {
            frame: bye.clone(),
            was_clean: true
        }),
        "{seen:?}"
    );
    assert_eq!(
        socket.connection_state(),
        ConnectionState::Closed {
            reason: StopReason::GaveUp {
                close: bye,
                failure: None
            }
        }
    );
    support::sleep(400).await;
    assert_eq!(outcomes("echo", &room).await, ["accepted", "accepted"]);
}

#[wasm_bindgen_test]
async fn a_401_handshake_is_a_failed_attempt() {
    reset().await;
    control("POST", "refuse?count=1&status=401").await;
    let room = room("auth");
    let (_socket, mut events) =
        PartySocket::connect(options("echo", &room).build().unwrap()).unwrap();
    let seen = until(&mut events, is_open).await;
    // Browsers hide the status: an error and an abnormal close, then the next attempt.
    assert!(
        matches!(
            seen.iter().find(|e| matches!(e, Event::Error(_))),
            Some(Event::Error(TransportError::Network(_)))
        ),
        "{seen:?}"
    );
    assert!(
        seen.contains(&Event::Close {
            frame: CloseFrame::abnormal(""),
            was_clean: false
        }),
        "{seen:?}"
    );
    assert_eq!(outcomes("echo", &room).await, ["refused 401", "accepted"]);
}

#[wasm_bindgen_test]
async fn the_heartbeat_finds_a_silent_server() {
    reset().await;
    let room = room("heartbeat");
    let heartbeat = Heartbeat::new(Duration::from_millis(150), Duration::from_millis(300));
    let (socket, mut events) = PartySocket::connect(
        options("echo", &room)
            .id("beating")
            .heartbeat(heartbeat.clone())
            .build()
            .unwrap(),
    )
    .unwrap();
    until(&mut events, is_open).await;
    // Browsers cannot send ping frames: the protocol heartbeat became the text pair, and
    // the socket says so.
    assert_eq!(
        socket.options().heartbeat(),
        Some(
            &heartbeat
                .clone()
                .application(HEARTBEAT_PING, Some(Message::from(HEARTBEAT_PONG)))
        )
    );

    // The greeting; then the connection stays quiet.
    until(&mut events, |e| text(e).is_some()).await;

    // `cargo xtask test wasm` turns the mock's auto-response on for `echo`: a server that
    // answers the pings. No reconnect, and the pongs are not delivered.
    let quiet = collect_for(&mut events, 1000).await;
    assert!(
        quiet.iter().all(|e| !matches!(e, Event::Close { .. })),
        "{quiet:?}"
    );
    // Not even a message: without the auto-response `echo` would send each `ping` back.
    assert!(
        quiet.iter().all(|e| !matches!(e, Event::Message(_))),
        "the pongs are taken by the heartbeat: {quiet:?}"
    );
    let pings = received("echo", &room).await;
    assert!(pings.len() >= 3, "pinged every 150 ms of quiet: {pings:?}");
    assert!(
        pings
            .iter()
            .all(|(id, kind, data)| id == "beating" && kind == "text" && data == "ping")
    );

    // A half-open connection: nothing comes back, and the heartbeat replaces it.
    control("POST", "silent?on=true&id=beating").await;
    let seen = until(&mut events, is_open).await;
    assert!(
        seen.contains(&Event::Error(TransportError::HeartbeatTimeout(
            Duration::from_millis(300)
        ))),
        "{seen:?}"
    );
    assert_eq!(outcomes("echo", &room).await, ["accepted", "accepted"]);
    reset().await;
}

#[wasm_bindgen_test]
async fn the_heartbeat_reconnects_where_the_server_does_not_answer_ping() {
    reset().await;
    // The Quick Start party has no auto-response and broadcasts what it gets: alone in
    // the room, the ping reaches the party's code and nothing comes back.
    let room = room("unanswered");
    let heartbeat = Heartbeat::new(Duration::from_millis(150), Duration::from_millis(300))
        .application(HEARTBEAT_PING, Some(Message::from(HEARTBEAT_PONG)));
    let (_socket, mut events) = PartySocket::connect(
        options("main", &room)
            .id("unanswered")
            .heartbeat(heartbeat)
            .build()
            .unwrap(),
    )
    .unwrap();
    until(&mut events, is_open).await;
    let seen = until(&mut events, is_open).await;
    assert!(
        seen.contains(&Event::Error(TransportError::HeartbeatTimeout(
            Duration::from_millis(300)
        ))),
        "{seen:?}"
    );
    assert!(
        seen.contains(&Event::Close {
            frame: CloseFrame::abnormal(""),
            was_clean: false
        }),
        "{seen:?}"
    );
    assert_eq!(outcomes("main", &room).await, ["accepted", "accepted"]);
    let pings = received("main", &room).await;
    assert!(
        pings
            .first()
            .is_some_and(|(id, kind, data)| id == "unanswered" && kind == "text" && data == "ping"),
        "the party got the ping: {pings:?}"
    );
    reset().await;
}

#[wasm_bindgen_test]
async fn two_hundred_reconnect_cycles_leave_no_closures_or_timers_behind() {
    reset().await;
    let before = diagnostics();
    let room = room("cycles");
    let (socket, mut events) =
        PartySocket::connect(options("echo", &room).id("cycler").build().unwrap()).unwrap();
    until(&mut events, is_open).await;
    let open = diagnostics();
    // One socket listener and the timer's callback; one timer (minimum uptime).
    assert_eq!(open.live_closures, before.live_closures + 2);
    assert_eq!(open.live_timers, before.live_timers + 1);
    assert_eq!(open.live_sockets, before.live_sockets + 1);

    for cycle in 1..=200 {
        if cycle % 10 == 0 {
            // The server drops the connection: the driver reconnects on its own.
            control("POST", "drop?id=cycler").await;
        } else {
            socket.reconnect().unwrap();
        }
        let seen = until(&mut events, is_open).await;
        // The replaced socket's own close event, fired later by the browser, never
        // reaches the machine: one close per cycle.
        assert_eq!(
            count(&seen, |e| matches!(e, Event::Close { .. })),
            1,
            "cycle {cycle}: {seen:?}"
        );
        let now = diagnostics();
        assert_eq!(
            (now.live_closures, now.live_timers, now.live_sockets),
            (open.live_closures, open.live_timers, open.live_sockets),
            "cycle {cycle}"
        );
    }
    assert_eq!(diagnostics().stale_events, before.stale_events);
    let outcomes = outcomes("echo", &room).await;
    assert_eq!(outcomes.len(), 201);
    assert!(outcomes.iter().all(|o| o == "accepted"));
    eventually("replaced connections are closed", || async {
        connections("echo", &room).await == ["cycler"]
    })
    .await;

    drop(socket);
    let mut last = Vec::new();
    while let Some(event) = events.recv().await {
        last.push(event);
    }
    assert!(
        last.contains(&Event::Close {
            frame: CloseFrame::normal(),
            was_clean: false
        }),
        "{last:?}"
    );
    let after = diagnostics();
    assert_eq!(
        (
            after.live_closures,
            after.live_timers,
            after.live_sockets,
            after.live_drivers
        ),
        (
            before.live_closures,
            before.live_timers,
            before.live_sockets,
            before.live_drivers
        )
    );
}
