//! Where a browser could behave differently from the native driver, it does not (or
//! says so with a typed error): headers, query futures, the browser's own buffer,
//! `closed()`, and `max_message_size`. Each test checks what the mock observed too.

#![cfg(target_arch = "wasm32")]

mod support;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use partysocket_wasm::{
    ConnectionState, Credentials, Error, Event, HeaderError, OptionsError, OptionsUpdate,
    PartySocket, Query, QueryProvider, SendOutcome, StopReason, TransportError, diagnostics,
};
use support::{eventually, options, outcomes, received, room, sleep, until};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn handshake_headers_are_a_typed_error_not_silently_left_out() {
    let room = room("headers");
    let with_header = options("echo", &room)
        .header("Authorization", "Bearer secret")
        .build()
        .unwrap();
    let err = PartySocket::connect(with_header).unwrap_err();
    assert_eq!(
        err,
        Error::Options(OptionsError::HeadersInBrowser("Authorization".into()))
    );
    assert!(err.to_string().contains("query"), "{err}");

    // An update cannot add them either; nothing changes then.
    let (socket, mut events) =
        PartySocket::connect(options("echo", &room).build().unwrap()).unwrap();
    until(&mut events, |e| matches!(e, Event::Open { .. })).await;
    assert_eq!(
        socket.update(OptionsUpdate::new().headers([("X-Token", "t")])),
        Err(Error::Options(OptionsError::HeadersInBrowser(
            "X-Token".into()
        )))
    );
    assert!(socket.options().headers().is_empty());
    assert_eq!(socket.connection_state(), ConnectionState::Open);
    // The refused socket never reached the server.
    assert_eq!(outcomes("echo", &room).await, ["accepted"]);
}

/// A query future that never resolves and counts how many of its kind are alive.
struct Hanging {
    live: Rc<Cell<u32>>,
}

impl Drop for Hanging {
    fn drop(&mut self) {
        self.live.set(self.live.get() - 1);
    }
}

fn hanging_provider(live: &Rc<Cell<u32>>, calls: &Rc<Cell<u32>>) -> QueryProvider {
    let (live, calls) = (Rc::clone(live), Rc::clone(calls));
    QueryProvider::new(move || {
        calls.set(calls.get() + 1);
        live.set(live.get() + 1);
        let guard = Hanging {
            live: Rc::clone(&live),
        };
        async move {
            std::future::pending::<()>().await;
            drop(guard);
            Ok(Query::new())
        }
    })
}

#[wasm_bindgen_test]
async fn query_futures_are_dropped_on_timeout_replacement_and_close() {
    let (live, calls) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let before = diagnostics().live_queries;
    let room = room("hanging-query");
    let (socket, _events) = PartySocket::connect(
        options("echo", &room)
            .query(hanging_provider(&live, &calls))
            .connection_timeout(Duration::from_millis(150))
            .build()
            .unwrap(),
    )
    .unwrap();

    // Timeouts: every attempt asks again, and the futures of timed-out ones are gone.
    eventually("several attempts timed out", || {
        let calls = Rc::clone(&calls);
        async move { calls.get() >= 4 }
    })
    .await;
    assert!(live.get() <= 1, "{} futures alive", live.get());
    assert!(diagnostics().live_queries - before <= 1);

    // Replacement: reconnect() drops the running one and starts one.
    let asked = calls.get();
    socket.reconnect().unwrap();
    assert_eq!(calls.get(), asked + 1);
    sleep(20).await;
    assert_eq!(live.get(), 1);

    // Close: nothing is left running.
    socket.close().unwrap();
    sleep(20).await;
    assert_eq!(live.get(), 0);
    assert_eq!(diagnostics().live_queries, before);
    // No attempt ever reached the server.
    assert!(outcomes("echo", &room).await.is_empty());
}

#[wasm_bindgen_test]
async fn provider_headers_fail_the_attempt_with_a_typed_error() {
    let room = room("provider-headers");
    let asked = Rc::new(Cell::new(0_u32));
    let provider = {
        let asked = Rc::clone(&asked);
        QueryProvider::with_credentials(move || {
            asked.set(asked.get() + 1);
            let first = asked.get() == 1;
            async move {
                let credentials = Credentials::from(Query::new().with("token", "t1"));
                Ok(if first {
                    credentials.with_header("Authorization", "Bearer t1")
                } else {
                    credentials
                })
            }
        })
    };
    let (socket, mut events) = PartySocket::connect(
        options("echo", &room)
            .query(provider)
            .min_reconnection_delay(Duration::from_millis(20))
            .build()
            .unwrap(),
    )
    .unwrap();
    let seen = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert_eq!(
        seen.last(),
        Some(&Event::Error(TransportError::ProviderHeader(
            HeaderError::InBrowser("Authorization".into())
        )))
    );
    // The next answer has no header: that attempt connects.
    until(&mut events, |e| matches!(e, Event::Open { .. })).await;
    assert!(socket.url().unwrap().contains("token=t1"));
    assert_eq!(asked.get(), 2);
    // Only the second attempt reached the server.
    assert_eq!(outcomes("echo", &room).await.len(), 1);
}

#[wasm_bindgen_test]
async fn a_query_that_resolves_is_used_and_its_task_ends() {
    let before = diagnostics().live_queries;
    let room = room("query");
    let (socket, mut events) = PartySocket::connect(
        options("echo", &room)
            .query(QueryProvider::new(|| async {
                Ok(Query::new().with("token", "t1"))
            }))
            .build()
            .unwrap(),
    )
    .unwrap();
    until(&mut events, |e| matches!(e, Event::Open { .. })).await;
    assert!(socket.url().unwrap().contains("token=t1"));
    assert_eq!(diagnostics().live_queries, before);
}

#[wasm_bindgen_test]
async fn buffered_amount_counts_the_browser_socket_buffer() {
    let room = room("buffered");
    let (socket, mut events) =
        PartySocket::connect(options("echo", &room).build().unwrap()).unwrap();
    until(&mut events, |e| matches!(e, Event::Open { .. })).await;
    assert_eq!(socket.buffered_amount(), 0);

    // Handed to the browser at once (the machine holds nothing), but the browser only
    // empties its buffer once this task yields.
    let big = "x".repeat(256 * 1024);
    assert_eq!(socket.send(big.as_str()).unwrap(), SendOutcome::Sent);
    assert!(
        socket.buffered_amount() >= big.len(),
        "{} bytes buffered",
        socket.buffered_amount()
    );
    eventually("the browser sent its buffer", || {
        let socket = socket.clone();
        async move { socket.buffered_amount() == 0 }
    })
    .await;
    eventually("the server has the message", || {
        let room = room.clone();
        async move { received("echo", &room).await.len() == 1 }
    })
    .await;
}

#[wasm_bindgen_test]
async fn closed_resolves_with_the_stop_reason() {
    let room = room("closed");
    let (socket, mut events) =
        PartySocket::connect(options("echo", &room).build().unwrap()).unwrap();
    until(&mut events, |e| matches!(e, Event::Open { .. })).await;
    let waiter = socket.clone();
    let closer = socket.clone();
    wasm_bindgen_futures::spawn_local(async move {
        sleep(30).await;
        closer.close().unwrap();
    });
    assert_eq!(waiter.closed().await, Ok(StopReason::ClosedByApp));

    // Retries exhausted: a refused address, no retries.
    let (refused, _events) = PartySocket::connect(
        partysocket_wasm::PartySocketOptions::builder("127.0.0.1:9")
            .protocol(partysocket_wasm::Protocol::Ws)
            .room("r")
            .max_retries(0)
            .build()
            .unwrap(),
    )
    .unwrap();
    assert!(matches!(
        refused.closed().await,
        Ok(StopReason::RetriesExhausted { .. } | StopReason::GaveUp { .. })
    ));
}

#[wasm_bindgen_test]
async fn a_message_over_max_message_size_fails_the_connection_by_the_core_rule() {
    let room = room("too-big");
    let (socket, mut events) = PartySocket::connect(
        options("echo", &room)
            .id("too-big-client")
            .max_message_size(1000)
            .build()
            .unwrap(),
    )
    .unwrap();
    until(&mut events, |e| matches!(e, Event::Open { .. })).await;

    // A small echo comes back; the big one is over the limit. (The JSON greeting of
    // each connection is under it.)
    let _ = socket.send("small").unwrap();
    let _ = socket.send("y".repeat(2000)).unwrap();
    let seen = until(&mut events, |e| matches!(e, Event::Open { .. })).await;
    let messages: Vec<_> = seen
        .iter()
        .filter_map(support::text)
        .filter(|text| !text.starts_with('{'))
        .collect();
    assert_eq!(messages, ["small"], "{seen:?}");
    assert!(
        seen.iter().any(|e| matches!(
            e,
            Event::Error(TransportError::Protocol(cause)) if cause.to_string().contains("max_message_size")
        )),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|e| matches!(
            e,
            Event::Close {
                was_clean: false,
                ..
            }
        )),
        "{seen:?}"
    );
    // The faulted connection was closed and replaced.
    assert_eq!(outcomes("echo", &room).await, ["accepted", "accepted"]);
    eventually("one connection left", || {
        let room = room.clone();
        async move { support::connections("echo", &room).await.len() == 1 }
    })
    .await;
}

/// The browser build has the page's `URL` parser canonicalize IP hosts (the native one
/// imitates it): the same inputs give the same URLs, protocols and errors as natively
/// (these expectations are the native unit tests').
#[wasm_bindgen_test]
fn hosts_are_canonicalized_and_classified_as_natively() {
    use partysocket_wasm::{PartySocketOptions, Protocol};
    let built = |host: &str| PartySocketOptions::builder(host).room("r").build();
    for (input, url, protocol) in [
        ("127.1", "ws://127.0.0.1/parties/main/r", Protocol::Ws),
        (
            "0x7f.0.0.1:1999",
            "ws://127.0.0.1:1999/parties/main/r",
            Protocol::Ws,
        ),
        ("0177.0.0.1", "ws://127.0.0.1/parties/main/r", Protocol::Ws),
        ("127.0.0.1.", "ws://127.0.0.1/parties/main/r", Protocol::Ws),
        (
            "[0:0::1]:1999",
            "ws://[::1]:1999/parties/main/r",
            Protocol::Ws,
        ),
        (
            "[::FFFF:127.0.0.1]",
            "ws://[::ffff:7f00:1]/parties/main/r",
            Protocol::Ws,
        ),
        (
            "[2001:db8:0:0:1:0:0:1]",
            "wss://[2001:db8::1:0:0:1]/parties/main/r",
            Protocol::Wss,
        ),
        (
            "10.0.0.1:1999",
            "ws://10.0.0.1:1999/parties/main/r",
            Protocol::Ws,
        ),
        (
            "172.31.255.255",
            "ws://172.31.255.255/parties/main/r",
            Protocol::Ws,
        ),
        (
            "172.32.0.1",
            "wss://172.32.0.1/parties/main/r",
            Protocol::Wss,
        ),
        (
            "192.168.1.100:1999",
            "ws://192.168.1.100:1999/parties/main/r",
            Protocol::Ws,
        ),
        ("8.8.8.8", "wss://8.8.8.8/parties/main/r", Protocol::Wss),
        (
            "0.0.0.0:1999",
            "wss://0.0.0.0:1999/parties/main/r",
            Protocol::Wss,
        ),
        (
            "10.example.com",
            "wss://10.example.com/parties/main/r",
            Protocol::Wss,
        ),
        (
            "Example.COM",
            "wss://example.com/parties/main/r",
            Protocol::Wss,
        ),
        (
            "app.localhost:8080",
            "ws://app.localhost:8080/parties/main/r",
            Protocol::Ws,
        ),
    ] {
        let options = built(input).unwrap_or_else(|err| panic!("{input}: {err}"));
        assert_eq!(options.room_url(), url, "{input}");
        assert_eq!(options.protocol(), protocol, "{input}");
    }
    for bad in [
        "1.2.3.256",
        "example.123",
        "[1::2::3]",
        "[::1",
        "[127.0.0.1]",
        "::1",
        "h:99999",
        "a<b.com",
    ] {
        assert!(
            matches!(built(bad), Err(OptionsError::InvalidHost { .. })),
            "{bad}: {:?}",
            built(bad).map(|options| options.room_url())
        );
    }
}

/// Hosts with a port and a path, full URLs with a query, and their errors: the URLs
/// and typed errors of the native build (the expectations are the native test
/// `hosts_with_paths_and_full_urls_with_queries`'). Full URLs are parsed when given
/// and rebuilt without the parser when the heartbeat is mapped to application pings;
/// the rebuilt options are those of the written URL.
#[wasm_bindgen_test]
fn urls_and_url_errors_are_those_of_the_native_build() {
    use partysocket_wasm::{HEARTBEAT_PING, Heartbeat, PartySocketOptions, Protocol};
    let options = PartySocketOptions::builder("Example.COM:0443/base")
        .room("r")
        .build()
        .unwrap();
    assert_eq!(options.room_url(), "wss://example.com/base/parties/main/r");
    let options = PartySocketOptions::builder("127.1:1999/a\"b/{c}")
        .room("r")
        .build()
        .unwrap();
    assert_eq!(
        options.room_url(),
        "ws://127.0.0.1:1999/a%22b/%7Bc%7D/parties/main/r"
    );
    for (input, host, socket_url) in [
        (
            "wss://Example.COM:443/feed?x=%41&y=é",
            "example.com:443",
            "wss://example.com/feed?x=%41&y=%C3%A9",
        ),
        (
            "wss://127.1:1999/x?q",
            "127.0.0.1:1999",
            "wss://127.0.0.1:1999/x?q",
        ),
        ("wss://[0:0::1]:8443/", "[::1]:8443", "wss://[::1]:8443/"),
    ] {
        let options = PartySocketOptions::for_url(input).build().unwrap();
        assert_eq!(options.host(), host, "{input}");
        assert_eq!(options.socket_url(None), socket_url, "{input}");
        assert_eq!(options.protocol(), Protocol::Wss, "{input}");
        // `connect` maps the protocol ping to an application ping by rebuilding the
        // options; a socket that starts closed makes no connection.
        let options = PartySocketOptions::for_url(input)
            .heartbeat(Heartbeat::new(
                Duration::from_secs(30),
                Duration::from_secs(5),
            ))
            .start_closed(true)
            .build()
            .unwrap();
        let written = options.full_url().unwrap();
        let (socket, _events) = PartySocket::connect(options).unwrap();
        let rebuilt = socket.options();
        let parsed = PartySocketOptions::for_url(written.clone())
            .build()
            .unwrap();
        assert_eq!(rebuilt.full_url(), Some(written), "{input}");
        assert_eq!(rebuilt.host(), parsed.host(), "{input}");
        assert_eq!(rebuilt.socket_url(None), parsed.socket_url(None), "{input}");
        assert_eq!(
            rebuilt
                .heartbeat()
                .and_then(|heartbeat| heartbeat.ping_message()),
            Some(&partysocket_wasm::Message::from(HEARTBEAT_PING)),
            "{input}"
        );
    }
    for bad in [
        "http://example.com",
        "wss://a b",
        "wss://[::1",
        "wss://1.2.3.256/",
        "wss://h:99999/",
        "wss://user@h/",
        "wss://h/#x",
    ] {
        assert!(
            matches!(
                PartySocketOptions::for_url(bad).build(),
                Err(OptionsError::InvalidUrl { .. })
            ),
            "{bad}"
        );
    }
}

/// Makes every `WebSocket` the page creates from now on reachable from the test (the
/// driver keeps its own to itself): `globalThis.__partySockets`, newest last.
fn capture_browser_sockets() {
    js_sys::Function::new_no_args(
        "if (!globalThis.__partySockets) { \
           globalThis.__partySockets = []; \
           const Original = globalThis.WebSocket; \
           globalThis.WebSocket = class extends Original { \
             constructor(...args) { super(...args); globalThis.__partySockets.push(this); } \
           }; \
         }",
    )
    .call0(&wasm_bindgen::JsValue::NULL)
    .expect("WebSocket is wrapped");
}

/// Starts the closing handshake of the newest browser socket, behind the driver's back:
/// it is `CLOSING` at once, and its `close` event comes later.
fn close_newest_browser_socket() {
    js_sys::Function::new_no_args("globalThis.__partySockets.at(-1).close(4000, 'test')")
        .call0(&wasm_bindgen::JsValue::NULL)
        .expect("the socket closes");
}

#[wasm_bindgen_test]
async fn a_send_while_the_browser_socket_is_closing_goes_out_on_the_next_connection() {
    capture_browser_sockets();
    let room = room("closing");
    let (socket, mut events) =
        PartySocket::connect(options("echo", &room).id("closing-client").build().unwrap()).unwrap();
    until(&mut events, |e| matches!(e, Event::Open { .. })).await;

    // The driver still thinks it open; a browser would drop what a CLOSING socket is
    // given without an error. It stays queued instead.
    close_newest_browser_socket();
    let _ = socket.send("sent while closing").unwrap();
    assert_eq!(socket.buffered_amount(), "sent while closing".len());

    let seen = until(&mut events, |e| matches!(e, Event::Open { .. })).await;
    assert!(
        seen.iter().any(|e| matches!(e, Event::Close { .. })),
        "{seen:?}"
    );
    eventually("the server has the message", || {
        let room = room.clone();
        async move { !received("echo", &room).await.is_empty() }
    })
    .await;
    sleep(100).await;
    let log = received("echo", &room).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].2, serde_json::json!("sent while closing"));
    assert_eq!(outcomes("echo", &room).await, ["accepted", "accepted"]);
}
