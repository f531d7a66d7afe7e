//! The socket's life in a browser against the mock server: open, messages, callbacks,
//! close, drop, the page's host, and bad input.

#![cfg(target_arch = "wasm32")]

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use partysocket_wasm::{
    CloseFrame, ConnectionState, Error, Event, Message, OptionsError, OptionsUpdate, PartySocket,
    Protocol, ReadyState, SendOutcome, StopReason, TransportError, diagnostics, page_host,
    page_options,
};
use serde_json::{Value, json};
use support::{
    collect_for, connections, eventually, mock_host, options, outcomes, received, room, text, until,
};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn lifecycle_open_accessors_and_close() {
    let before = diagnostics();
    let room = room("life");
    let (socket, mut events) =
        PartySocket::connect(options("echo", &room).id("life-1").build().unwrap()).unwrap();
    assert_eq!(socket.ready_state(), ReadyState::Connecting);
    assert_eq!(
        socket.room_url(),
        format!("ws://{}/parties/echo/{room}", mock_host())
    );

    let seen = until(&mut events, |e| matches!(e, Event::Open { .. })).await;
    assert!(
        matches!(
            seen[0],
            Event::StateChanged(ConnectionState::Connecting { attempt: 0 })
        ),
        "{seen:?}"
    );
    let Event::Open { url, protocol } = seen.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(
        url,
        &format!("ws://{}/parties/echo/{room}?_pk=life-1", mock_host())
    );
    assert_eq!(protocol, &None);
    // Accessors read the machine: already open when the open event is read.
    assert_eq!(socket.ready_state(), ReadyState::Open);
    assert_eq!(socket.connection_state(), ConnectionState::Open);
    assert_eq!(socket.url().as_deref(), Some(url.as_str()));
    assert_eq!((socket.id().as_str(), socket.retry_count()), ("life-1", 0));

    // The echo party greets with who it saw.
    let seen = until(&mut events, |e| text(e).is_some()).await;
    let hello: Value = serde_json::from_str(text(seen.last().unwrap()).unwrap()).unwrap();
    assert_eq!(hello["id"], "life-1");

    socket.close().unwrap();
    assert_eq!(socket.ready_state(), ReadyState::Closing);
    let seen = until(&mut events, |e| matches!(e, Event::Close { .. })).await;
    assert_eq!(
        seen.last(),
        Some(&Event::Close {
            frame: CloseFrame::normal(),
            was_clean: true
        })
    );
    let seen = until(&mut events, |e| matches!(e, Event::StateChanged(_))).await;
    assert_eq!(
        seen.last(),
        Some(&Event::StateChanged(ConnectionState::Closed {
            reason: StopReason::ClosedByApp
        }))
    );

    // The mock saw one accepted attempt with our id, now closed.
    let attempts = support::attempts("echo", &room).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["outcome"], "accepted");
    assert_eq!(attempts[0]["connection_id"], "life-1");
    eventually("the server forgets the connection", || async {
        connections("echo", &room).await.is_empty()
    })
    .await;
    // Closed: no socket and no timer held.
    let now = diagnostics();
    assert_eq!(
        (now.live_sockets, now.live_timers),
        (before.live_sockets, before.live_timers)
    );
}

#[wasm_bindgen_test]
async fn echo_and_broadcast_between_two_sockets() {
    let room = room("pair");
    let (a, mut a_events) =
        PartySocket::connect(options("main", &room).id("a").build().unwrap()).unwrap();
    let (b, mut b_events) =
        PartySocket::connect(options("main", &room).id("b").build().unwrap()).unwrap();
    until(&mut a_events, |e| text(e) == Some("Welcome to the party!")).await;
    until(&mut b_events, |e| text(e) == Some("Welcome to the party!")).await;

    assert_eq!(a.send("from a").unwrap(), SendOutcome::Sent);
    until(&mut b_events, |e| text(e) == Some("from a")).await;
    assert_eq!(b.send(vec![1u8, 2, 3]).unwrap(), SendOutcome::Sent);
    let seen = until(&mut a_events, |e| matches!(e, Event::Message(_))).await;
    // `main` sends to everyone but the sender: `a` gets `b`'s frame, not its own.
    let Some(Event::Message(message)) = seen.last() else {
        unreachable!()
    };
    assert!(matches!(message, Message::Binary(_)));
    assert_eq!(message.as_bytes(), [1, 2, 3]);

    let log = received("main", &room).await;
    assert_eq!(
        log,
        [
            ("a".to_owned(), "text".to_owned(), json!("from a")),
            ("b".to_owned(), "binary".to_owned(), json!([1, 2, 3])),
        ]
    );

    // The echo party sends a message back to its sender.
    let echo_room = support::room("echo");
    let (e, mut e_events) =
        PartySocket::connect(options("echo", &echo_room).build().unwrap()).unwrap();
    let _ = e.send("héllo").unwrap();
    until(&mut e_events, |event| text(event) == Some("héllo")).await;
    assert_eq!(received("echo", &echo_room).await.len(), 1);
}

#[wasm_bindgen_test]
async fn binary_round_trip() {
    let room = room("bin");
    let (socket, mut events) =
        PartySocket::connect(options("echo", &room).build().unwrap()).unwrap();
    let payload: Vec<u8> = (0..=255).collect();
    let _ = socket.send(payload.as_slice()).unwrap();
    let seen = until(&mut events, |e| {
        matches!(e, Event::Message(Message::Binary(_)))
    })
    .await;
    let Some(Event::Message(message)) = seen.last() else {
        unreachable!()
    };
    assert_eq!(message.as_bytes(), payload.as_slice());
    assert_eq!(message.as_text(), None);
    let log = received("echo", &room).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].1, "binary");
    assert_eq!(log[0].2, json!(payload));
}

#[cfg(feature = "json")]
#[wasm_bindgen_test]
async fn json_is_sent_as_text() {
    let room = room("json");
    let (socket, mut events) =
        PartySocket::connect(options("echo", &room).build().unwrap()).unwrap();
    let _ = socket.send_json(&json!({"type": "move", "x": 1})).unwrap();
    until(&mut events, |e| text(e) == Some(r#"{"type":"move","x":1}"#)).await;
}

#[wasm_bindgen_test]
async fn callbacks_see_every_event_and_may_use_the_socket() {
    let room = room("callbacks");
    let (socket, mut events) =
        PartySocket::connect(options("echo", &room).build().unwrap()).unwrap();
    let log = Rc::new(RefCell::new(Vec::<String>::new()));

    let weak = socket.downgrade();
    let seen = log.clone();
    socket.on_open(move || {
        let socket = weak.upgrade().expect("alive");
        // The state is already open in the open callback, so this is sent at once.
        let outcome = socket.send("sent from on_open").unwrap();
        seen.borrow_mut()
            .push(format!("open {:?} {outcome:?}", socket.ready_state()));
    });
    let seen = log.clone();
    socket.on_message(move |message| {
        seen.borrow_mut().push(format!(
            "message {}",
            message.as_text().unwrap_or("<binary>").len()
        ));
    });
    let seen = log.clone();
    socket.on_state_change(move |state| {
        if matches!(state, ConnectionState::Closed { .. }) {
            seen.borrow_mut().push("closed".to_owned());
        }
    });
    let seen = log.clone();
    socket.on_close(move |frame, was_clean| {
        seen.borrow_mut()
            .push(format!("close {} {was_clean}", frame.code))
    });

    until(&mut events, |e| text(e) == Some("sent from on_open")).await;
    socket.close().unwrap();
    until(&mut events, |e| {
        matches!(e, Event::StateChanged(ConnectionState::Closed { .. }))
    })
    .await;
    let log = log.borrow().clone();
    assert_eq!(log[0], "open Open Sent");
    assert!(log[1].starts_with("message "), "the greeting: {log:?}");
    assert_eq!(log[2], format!("message {}", "sent from on_open".len()));
    assert_eq!(&log[3..], ["close 1000 true", "closed"]);
    let log = received("echo", &room).await;
    assert_eq!(log[0].2, json!("sent from on_open"));
}

#[wasm_bindgen_test]
async fn dropping_the_last_handle_closes_the_socket_and_frees_everything() {
    let before = diagnostics();
    let room = room("drop");
    let (socket, mut events) =
        PartySocket::connect(options("echo", &room).id("dropper").build().unwrap()).unwrap();
    until(&mut events, |e| matches!(e, Event::Open { .. })).await;
    let held = diagnostics();
    assert_eq!(held.live_sockets, before.live_sockets + 1);
    assert_eq!(held.live_drivers, before.live_drivers + 1);

    let weak = socket.downgrade();
    let clone = socket.clone();
    drop(socket);
    // A clone keeps it open.
    support::sleep(100).await;
    assert_eq!(connections("echo", &room).await, ["dropper"]);
    drop(clone);

    // The last events report the close; then the stream ends.
    let rest = collect_for(&mut events, 500).await;
    assert!(
        rest.contains(&Event::Close {
            frame: CloseFrame::normal(),
            was_clean: false
        }),
        "{rest:?}"
    );
    assert_eq!(
        rest.last(),
        Some(&Event::StateChanged(ConnectionState::Closed {
            reason: StopReason::ClosedByApp
        }))
    );
    assert_eq!(events.recv().await, None);
    // A send after the last handle is gone is a typed error.
    assert!(matches!(weak.upgrade(), Err(Error::DriverStopped)));

    eventually("the server sees the connection closed", || async {
        connections("echo", &room).await.is_empty()
    })
    .await;
    assert_eq!(diagnostics().live_closures, before.live_closures);
    assert_eq!(diagnostics().live_timers, before.live_timers);
    assert_eq!(diagnostics().live_sockets, before.live_sockets);
    assert_eq!(diagnostics().live_drivers, before.live_drivers);
}

#[wasm_bindgen_test]
fn the_page_host_is_the_default_host() {
    let location = web_sys::window().unwrap().location();
    let host = location.host().unwrap();
    // The test runner serves the page over plain http.
    assert_eq!(page_host(), Some((host.clone(), Protocol::Ws)));
    let options = page_options().room("lobby").build().unwrap();
    assert_eq!(
        options.room_url(),
        format!("ws://{host}/parties/main/lobby")
    );
}

#[wasm_bindgen_test]
async fn bad_input_gets_typed_errors() {
    assert_eq!(
        partysocket_wasm::PartySocketOptions::builder("")
            .room("r")
            .build()
            .unwrap_err(),
        OptionsError::EmptyHost
    );
    assert!(matches!(
        options("echo", "r").path("/inbox").build(),
        Err(OptionsError::PathStartsWithSlash(_))
    ));

    let room = room("bad");
    let (socket, mut events) =
        PartySocket::connect(options("echo", &room).build().unwrap()).unwrap();
    until(&mut events, |e| matches!(e, Event::Open { .. })).await;
    assert_eq!(
        socket.close_with(CloseFrame::new(1001, "")),
        Err(Error::InvalidCloseCode(1001))
    );
    assert_eq!(
        socket.close_with(CloseFrame::new(2999, "")),
        Err(Error::InvalidCloseCode(2999))
    );
    assert_eq!(
        socket.close_with(CloseFrame::new(5000, "")),
        Err(Error::InvalidCloseCode(5000))
    );
    assert_eq!(
        socket.close_with(CloseFrame::new(4000, "x".repeat(124))),
        Err(Error::CloseReasonTooLong(124))
    );
    assert!(matches!(
        socket.update(OptionsUpdate::new().path("/inbox")),
        Err(Error::Options(OptionsError::PathStartsWithSlash(_)))
    ));
    // Nothing changed: still open.
    assert_eq!(socket.ready_state(), ReadyState::Open);
    assert_eq!(socket.close_with(CloseFrame::new(4000, "done")), Ok(()));

    // The browser refuses duplicated subprotocols, which the options allow: an error
    // event, not a panic.
    let room = support::room("dup");
    let (_socket, mut events) = PartySocket::connect(
        options("echo", &room)
            .protocols(["a", "a"])
            .max_retries(0)
            .build()
            .unwrap(),
    )
    .unwrap();
    // A local error that would repeat on every attempt stops the socket at once.
    let seen = until(&mut events, |e| {
        matches!(
            e,
            Event::StateChanged(partysocket::ConnectionState::Closed {
                reason: partysocket::StopReason::GaveUp { .. }
            })
        )
    })
    .await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, Event::Error(TransportError::InvalidUrl(_)))),
        "{seen:?}"
    );
    assert_eq!(
        outcomes("echo", &room).await,
        Vec::<String>::new(),
        "the browser never connected"
    );
}

/// The connection id is seeded from the page's `crypto.getRandomValues`: ids built one
/// after the other differ (the fallback seed, a stack address, would repeat) and are
/// version 4 UUIDs.
#[wasm_bindgen_test]
fn generated_ids_come_from_the_page_crypto() {
    let ids: Vec<String> = (0..8)
        .map(|_| options("echo", "ids").build().unwrap().id().to_owned())
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let groups: Vec<&str> = id.split('-').collect();
        let lengths: Vec<usize> = groups.iter().map(|group| group.len()).collect();
        assert_eq!(lengths, [8, 4, 4, 4, 12], "{id}");
        assert!(groups[2].starts_with('4'), "{id}");
        assert!(
            id.chars()
                .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)),
            "{id}"
        );
        assert!(!ids[..i].contains(id), "{id} repeats");
    }
}
