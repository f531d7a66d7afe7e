//! `use_party_socket` in headless Chromium against the mock server: an `Owner` per test
//! stands in for a component.

#![cfg(target_arch = "wasm32")]

mod support;

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use partysocket_leptos::{
    Codec, ConnectionState, Error, Message, PartySocket, Query, ReadyState, SendError, SendOutcome,
    StopReason, UsePartySocketOptions, UsePartySocketReturn, provide_party_socket,
    use_party_socket, use_party_socket_context, use_party_socket_json, use_party_socket_with_codec,
};
use partysocket_wasm::{PartySocketOptions, QueryProvider, diagnostics};
use serde_json::Value;
use support::{
    attempts, capture_warnings, connections, eventually, mock_host, options, owner, quick,
    received, received_frames, room, sleep, until, warnings,
};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// The texts `on_message` saw, in order.
type Seen = Rc<RefCell<Vec<String>>>;

fn recorder() -> (Seen, impl Fn(&Message) + 'static) {
    let seen: Seen = Rc::default();
    let record = {
        let seen = Rc::clone(&seen);
        move |message: &Message| {
            seen.borrow_mut()
                .push(message.as_text().unwrap_or("<binary>").to_owned());
        }
    };
    (seen, record)
}

fn is_open(state: &ConnectionState) -> bool {
    matches!(state, ConnectionState::Open)
}

#[wasm_bindgen_test]
async fn connects_and_sees_every_message() {
    let room = room("hook");
    let owner = owner();
    let (seen, record) = recorder();
    // What the signals said when `on_open` ran: the state is set before callbacks.
    let at_open: Rc<RefCell<Option<(ReadyState, ConnectionState)>>> = Rc::default();
    let socket = owner.with(|| {
        let signals = Rc::new(RefCell::new(None::<UsePartySocketReturn>));
        let socket = use_party_socket(
            options("echo", room.clone())
                .id(Some("hook-1".to_owned()))
                .on_message(record)
                .on_open({
                    let (signals, at_open) = (Rc::clone(&signals), Rc::clone(&at_open));
                    move || {
                        let socket = signals.borrow().expect("set before the open");
                        *at_open.borrow_mut() = Some((
                            socket.ready_state.get_untracked(),
                            socket.connection_state.get_untracked(),
                        ));
                        // Goes straight out: the socket is open.
                        assert_eq!(socket.send("from on_open").unwrap(), SendOutcome::Sent);
                    }
                }),
        );
        *signals.borrow_mut() = Some(socket);
        socket
    });
    assert_eq!(
        socket.connection_state.get_untracked(),
        ConnectionState::Connecting { attempt: 0 }
    );
    assert_eq!(socket.ready_state.get_untracked(), ReadyState::Connecting);
    // Queued while connecting, sent before the open event.
    assert_eq!(socket.send("queued").unwrap(), SendOutcome::Queued);

    until("the socket opens", || {
        is_open(&socket.connection_state.get_untracked())
    })
    .await;
    assert_eq!(
        *at_open.borrow(),
        Some((ReadyState::Open, ConnectionState::Open))
    );
    assert_eq!(socket.ready_state.get_untracked(), ReadyState::Open);
    assert_eq!(socket.socket().unwrap().id(), "hook-1");

    // A burst: the callback sees every message, the signal the last.
    for n in 0..20 {
        assert_eq!(
            socket.send(format!("burst {n}")).unwrap(),
            SendOutcome::Sent
        );
    }
    until("the echo of the burst", || seen.borrow().len() == 23).await;
    let seen = seen.borrow().clone();
    let hello: Value = serde_json::from_str(&seen[0]).unwrap();
    assert_eq!(hello["id"], "hook-1");
    assert_eq!(&seen[1..3], ["queued", "from on_open"]);
    let burst: Vec<String> = (0..20).map(|n| format!("burst {n}")).collect();
    assert_eq!(seen[3..], burst[..]);
    assert_eq!(
        socket
            .message
            .get_untracked()
            .and_then(|message| message.as_text().map(str::to_owned))
            .as_deref(),
        Some("burst 19")
    );
    owner.cleanup();
}

#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
struct Echoed {
    n: u32,
}

#[derive(serde::Serialize)]
struct Sent {
    n: u32,
}

#[wasm_bindgen_test]
async fn json_variant_decodes_and_skips_what_does_not() {
    let room = room("json");
    let owner = owner();
    let seen: Rc<RefCell<Vec<Echoed>>> = Rc::default();
    let socket = owner.with(|| {
        let seen = Rc::clone(&seen);
        use_party_socket_json::<Echoed, Sent>(options("echo", room.clone()).on_message(
            move |value: &Echoed| {
                seen.borrow_mut().push(value.clone());
            },
        ))
    });
    let _ = socket.send_json(&Sent { n: 1 }).unwrap();
    let _ = socket.send("not json").unwrap();
    let _ = socket.send_json(&Sent { n: 2 }).unwrap();
    until("both JSON echoes", || seen.borrow().len() == 2).await;
    // The greeting `{"id","url"}` has no `n` and was skipped like the plain text.
    assert_eq!(*seen.borrow(), [Echoed { n: 1 }, Echoed { n: 2 }]);
    assert_eq!(socket.message.get_untracked(), Some(Echoed { n: 2 }));
    owner.cleanup();
}

/// A test wire format: a `u32` as 4 big-endian bytes in a binary message; refuses to
/// encode `u32::MAX`.
struct Be32;

#[derive(Debug, Clone, PartialEq)]
enum Be32Error {
    NotFourBytes(usize),
    Reserved,
}

impl std::fmt::Display for Be32Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Be32Error::NotFourBytes(len) => write!(f, "expected 4 bytes, got {len}"),
            Be32Error::Reserved => f.write_str("u32::MAX is reserved"),
        }
    }
}

impl std::error::Error for Be32Error {}

impl Codec<u32> for Be32 {
    type Error = Be32Error;

    fn encode(value: &u32) -> Result<Message, Be32Error> {
        if *value == u32::MAX {
            return Err(Be32Error::Reserved);
        }
        Ok(Message::binary(value.to_be_bytes().to_vec()))
    }

    fn decode(message: &Message) -> Result<u32, Be32Error> {
        let bytes: [u8; 4] = message
            .as_bytes()
            .try_into()
            .map_err(|_| Be32Error::NotFourBytes(message.len()))?;
        Ok(u32::from_be_bytes(bytes))
    }
}

#[wasm_bindgen_test]
async fn a_codec_type_parameter_sends_and_decodes_binary() {
    let room = room("codec");
    let owner = owner();
    let seen: Rc<RefCell<Vec<u32>>> = Rc::default();
    let failures: Rc<RefCell<Vec<(Be32Error, bool)>>> = Rc::default();
    let socket = owner.with(|| {
        let (seen, failures) = (Rc::clone(&seen), Rc::clone(&failures));
        use_party_socket_with_codec::<u32, u32, Be32>(
            options("echo", room.clone())
                .on_message(move |value: &u32| seen.borrow_mut().push(*value))
                .on_decode_error(move |err, message| {
                    let err = err
                        .downcast_ref::<Be32Error>()
                        .expect("the codec's error type");
                    failures.borrow_mut().push((err.clone(), message.is_text()));
                }),
        )
    });
    // Refused by the codec: neither sent nor queued.
    assert!(matches!(
        socket.send_value(&u32::MAX),
        Err(SendError::Encode(Be32Error::Reserved))
    ));
    assert_eq!(socket.send_value(&7).unwrap(), SendOutcome::Queued);
    let _ = socket.send("abc").unwrap();
    let _ = socket.send_value(&0x0102_0304).unwrap();
    until("both binary echoes", || seen.borrow().len() == 2).await;
    assert_eq!(*seen.borrow(), [7, 0x0102_0304]);
    assert_eq!(socket.message.get_untracked(), Some(0x0102_0304));
    // The JSON greeting and the 3-byte text did not decode: each reported with its
    // typed error, in order.
    until("two decode errors", || failures.borrow().len() == 2).await;
    let failures = failures.borrow().clone();
    assert!(matches!(failures[0], (Be32Error::NotFourBytes(len), true) if len > 4));
    assert_eq!(failures[1], (Be32Error::NotFourBytes(3), true));
    // What the server got: each value as 4 bytes in a binary frame, and the text.
    let frames = received_frames("echo", &room).await;
    assert_eq!(
        frames,
        [
            ("binary".to_owned(), serde_json::json!([0, 0, 0, 7])),
            ("text".to_owned(), serde_json::json!("abc")),
            ("binary".to_owned(), serde_json::json!([1, 2, 3, 4])),
        ]
    );
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_room_change_replaces_the_socket_and_closes_the_old_one() {
    let (first, second) = (room("from"), room("to"));
    let owner = owner();
    let (target, socket) = owner.with(|| {
        let target = RwSignal::new(first.clone());
        (target, use_party_socket(options("echo", target)))
    });
    until("the first socket opens", || {
        is_open(&socket.connection_state.get_untracked())
    })
    .await;
    let old: PartySocket = socket.socket().unwrap();
    let old_id = old.id();
    eventually("the mock sees the first connection", || async {
        connections("echo", &first).await == [old_id.clone()]
    })
    .await;

    target.set(second.clone());
    until("a new socket", || {
        socket
            .socket()
            .is_some_and(|new| new.room_url() != old.room_url())
    })
    .await;
    until("the new socket opens", || {
        is_open(&socket.connection_state.get_untracked())
    })
    .await;
    let new_id = socket.socket().unwrap().id();
    assert_ne!(new_id, old_id, "each socket gets its own random id");
    // The old one was closed, and the mock agrees.
    assert_eq!(old.ready_state(), ReadyState::Closed);
    eventually("the first room empties", || async {
        connections("echo", &first).await.is_empty()
    })
    .await;
    assert_eq!(connections("echo", &second).await, [new_id]);
    assert!(
        socket
            .socket()
            .unwrap()
            .room_url()
            .ends_with(&format!("/parties/echo/{second}"))
    );
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_token_change_carries_the_queue_over() {
    let room = room("token");
    let owner = owner();
    let (token, enabled, socket) = owner.with(|| {
        let token = RwSignal::new(Query::new().with("token", "old"));
        let enabled = RwSignal::new(false);
        let socket = use_party_socket(options("echo", room.clone()).query(token).enabled(enabled));
        (token, enabled, socket)
    });
    assert_eq!(socket.ready_state.get_untracked(), ReadyState::Closed);
    assert_eq!(socket.send("one").unwrap(), SendOutcome::Queued);
    assert_eq!(socket.send("two").unwrap(), SendOutcome::Queued);
    let old = socket.socket().unwrap();

    token.set(Query::new().with("token", "new"));
    until("a new socket", || {
        socket.socket().is_some_and(|new| new.id() != old.id())
    })
    .await;
    let new = socket.socket().unwrap();
    assert_eq!(new.buffered_amount(), "one".len() + "two".len());
    assert_eq!(old.buffered_amount(), 0);

    enabled.set(true);
    eventually("the queue arrives", || async {
        received("echo", &room).await.len() == 2
    })
    .await;
    let log = received("echo", &room).await;
    assert_eq!(
        log,
        [(new.id(), "one".to_owned()), (new.id(), "two".to_owned())]
    );
    // Only the new socket ever connected, with the new token.
    let tried = attempts("echo", &room).await;
    assert_eq!(tried.len(), 1, "{tried:#?}");
    let url = tried[0]["url"].as_str().unwrap();
    assert!(url.contains("token=new"), "{url}");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_destination_change_drops_the_queue_with_a_warning() {
    capture_warnings();
    let (first, second) = (room("drop-from"), room("drop-to"));
    let owner = owner();
    let (target, enabled, socket) = owner.with(|| {
        let target = RwSignal::new(first.clone());
        let enabled = RwSignal::new(false);
        let socket = use_party_socket(options("echo", target).enabled(enabled));
        (target, enabled, socket)
    });
    assert_eq!(
        socket.send("meant for the first room").unwrap(),
        SendOutcome::Queued
    );
    let before = warnings().len();

    target.set(second.clone());
    until("a new socket", || {
        socket
            .socket()
            .is_some_and(|new| new.room_url().ends_with(&second))
    })
    .await;
    assert_eq!(socket.socket().unwrap().buffered_amount(), 0);
    let new_warnings = warnings()[before..].to_vec();
    assert!(
        new_warnings
            .iter()
            .any(|line| line.contains("dropped 1 queued message(s)") && line.contains(&first)),
        "{new_warnings:#?}"
    );

    enabled.set(true);
    until("the new socket opens", || {
        is_open(&socket.connection_state.get_untracked())
    })
    .await;
    sleep(200).await;
    assert!(received("echo", &first).await.is_empty());
    assert!(received("echo", &second).await.is_empty());
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn enabled_closes_and_reopens_the_same_socket() {
    let room = room("enabled");
    let owner = owner();
    let (enabled, socket) = owner.with(|| {
        let enabled = RwSignal::new(true);
        (
            enabled,
            use_party_socket(options("echo", room.clone()).enabled(enabled)),
        )
    });
    until("open", || is_open(&socket.connection_state.get_untracked())).await;
    let first = socket.socket().unwrap();
    let id = first.id();

    enabled.set(false);
    until("closed", || {
        socket.ready_state.get_untracked() == ReadyState::Closed
    })
    .await;
    eventually("the mock sees it leave", || async {
        connections("echo", &room).await.is_empty()
    })
    .await;
    assert_eq!(socket.send("while disabled").unwrap(), SendOutcome::Queued);

    enabled.set(true);
    until("open again", || {
        is_open(&socket.connection_state.get_untracked())
    })
    .await;
    assert_eq!(socket.socket().unwrap().id(), id);
    assert_eq!(connections("echo", &room).await, std::slice::from_ref(&id));
    let ids: Vec<String> = attempts("echo", &room)
        .await
        .iter()
        .map(|attempt| attempt["connection_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [id.clone(), id.clone()]);
    eventually("the queued message arrives", || async {
        received("echo", &room).await == [(id.clone(), "while disabled".to_owned())]
    })
    .await;
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn unmount_closes_and_nothing_fires_after() {
    let room = room("unmount");
    let before = diagnostics();
    let owner = owner();
    let fired = Rc::new(RefCell::new(Vec::<&'static str>::new()));
    let socket = owner.with(|| {
        let log = |what: &'static str| {
            let fired = Rc::clone(&fired);
            move || fired.borrow_mut().push(what)
        };
        let (open, message, close, error) =
            (log("open"), log("message"), log("close"), log("error"));
        use_party_socket(
            options("main", room.clone())
                .id(Some("leaving".to_owned()))
                .on_open(open)
                .on_message(move |_: &Message| message())
                .on_close(move |_, _| close())
                .on_error(move |_| error()),
        )
    });
    until("open and greeted", || fired.borrow().len() == 2).await;
    assert_eq!(*fired.borrow(), ["open", "message"]);
    let during = diagnostics();
    assert_eq!(during.live_drivers, before.live_drivers + 1);

    // Someone else in the room, to broadcast after the unmount.
    let (peer, _events) = PartySocket::connect(
        quick(PartySocketOptions::builder(mock_host()))
            .protocol(partysocket_wasm::Protocol::Ws)
            .room(room.clone())
            .id("peer")
            .build()
            .unwrap(),
    )
    .unwrap();
    peer.opened().await.unwrap();

    owner.cleanup();
    let fired_at_unmount = fired.borrow().clone();
    assert_eq!(fired_at_unmount, ["open", "message"]);
    eventually("the mock sees the hook's socket leave", || async {
        connections("main", &room).await == ["peer"]
    })
    .await;
    assert_eq!(peer.send("after the unmount").unwrap(), SendOutcome::Sent);
    sleep(300).await;
    assert_eq!(*fired.borrow(), fired_at_unmount);

    // The commands know the socket is gone; the driver, its timer and closures too.
    assert!(matches!(socket.send("late"), Err(Error::DriverStopped)));
    assert!(socket.socket().is_none());
    drop(peer);
    sleep(50).await;
    let after = diagnostics();
    assert_eq!(
        (
            after.live_drivers,
            after.live_timers,
            after.live_closures,
            after.live_sockets
        ),
        (
            before.live_drivers,
            before.live_timers,
            before.live_closures,
            before.live_sockets
        )
    );
}

thread_local! {
    /// What each `Member` component's subscription saw: `(member, text)`.
    static MEMBERS_SAW: RefCell<Vec<(&'static str, String)>> = const { RefCell::new(Vec::new()) };
}

fn member_saw(name: &str) -> Vec<String> {
    MEMBERS_SAW.with(|saw| {
        saw.borrow()
            .iter()
            .filter(|(member, _)| *member == name)
            .map(|(_, text)| text.clone())
            .collect()
    })
}

/// A component that uses the shared socket: renders its state, sends its name once,
/// and records every message it sees.
#[component]
fn Member(name: &'static str) -> impl IntoView {
    let socket = use_party_socket_context().expect("a provider above");
    socket.on_message(move |message: &Message| {
        let text = message.as_text().unwrap_or("<binary>").to_owned();
        MEMBERS_SAW.with(|saw| saw.borrow_mut().push((name, text)));
    });
    let _ = socket.send(name);
    view! { <p class="member">{name}": "{move || format!("{:?}", socket.ready_state.get())}</p> }
}

#[wasm_bindgen_test]
async fn components_on_one_page_share_one_connection() {
    let room = room("shared");
    MEMBERS_SAW.with(|saw| saw.borrow_mut().clear());
    let before = diagnostics();
    let body = leptos::prelude::document().body().expect("a page body");
    let show_c = RwSignal::new(true);
    let provided = Rc::new(RefCell::new(None::<UsePartySocketReturn>));
    let handle = {
        let (room, provided) = (room.clone(), Rc::clone(&provided));
        leptos::mount::mount_to(body, move || {
            let socket =
                provide_party_socket(options("echo", room).id(Some("shared-socket".to_owned())));
            *provided.borrow_mut() = Some(socket);
            view! {
                <Member name="a"/>
                <Member name="b"/>
                <Show when=move || show_c.get()>
                    <Member name="c"/>
                </Show>
            }
        })
    };
    let socket = provided.borrow().expect("provided at mount");
    until("every member saw every member's message", || {
        ["a", "b", "c"].iter().all(|member| {
            let saw = member_saw(member);
            ["a", "b", "c"]
                .iter()
                .all(|name| saw.iter().any(|t| t == name))
        })
    })
    .await;
    let page = leptos::prelude::document()
        .body()
        .unwrap()
        .text_content()
        .unwrap_or_default();
    for member in ["a: Open", "b: Open", "c: Open"] {
        assert!(page.contains(member), "{page}");
    }
    // One socket in the browser, one connection at the server, every message on it.
    assert_eq!(diagnostics().live_drivers, before.live_drivers + 1);
    assert_eq!(attempts("echo", &room).await.len(), 1);
    assert_eq!(connections("echo", &room).await, ["shared-socket"]);
    let log = received("echo", &room).await;
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(log.iter().all(|(id, _)| id == "shared-socket"), "{log:?}");

    // A member that unmounts stops seeing messages; the socket stays.
    show_c.set(false);
    sleep(50).await;
    let c_before = member_saw("c").len();
    assert_eq!(socket.send("after c left").unwrap(), SendOutcome::Sent);
    until("a and b see it", || {
        member_saw("a").iter().any(|t| t == "after c left")
            && member_saw("b").iter().any(|t| t == "after c left")
    })
    .await;
    assert_eq!(member_saw("c").len(), c_before);
    assert_eq!(attempts("echo", &room).await.len(), 1);

    // Unmounting the provider closes the one connection.
    drop(handle);
    eventually("the connection closes with the app", || async {
        connections("echo", &room).await.is_empty()
    })
    .await;
    assert!(use_party_socket_context().is_none(), "no provider out here");
}

#[wasm_bindgen_test]
async fn the_error_signal_reports_invalid_options_and_giving_up() {
    let owner = owner();
    let target = RwSignal::new("..".to_owned());
    let socket = owner.with(|| use_party_socket(options("echo", target)));
    assert!(
        matches!(
            socket.error.get_untracked(),
            Some(Error::Options(
                partysocket_wasm::OptionsError::DotSegment { .. }
            ))
        ),
        "{:?}",
        socket.error.get_untracked()
    );
    assert!(socket.socket().is_none());

    // Options that work clear it.
    let good = room("error-signal");
    target.set(good.clone());
    until("the socket opens", || {
        is_open(&socket.connection_state.get_untracked())
    })
    .await;
    assert_eq!(socket.error.get_untracked(), None);
    owner.cleanup();

    // A socket that runs out of retries says so.
    let owner = self::owner();
    let socket = owner.with(|| {
        use_party_socket(
            UsePartySocketOptions::default()
                .host("127.0.0.1:9".to_owned())
                .room("nowhere".to_owned())
                .configure(|builder| quick(builder).max_retries(1)),
        )
    });
    until("the socket gives up", || {
        socket.error.get_untracked().is_some()
    })
    .await;
    assert!(
        matches!(
            socket.error.get_untracked(),
            Some(Error::Stopped(reason)) if matches!(*reason, StopReason::RetriesExhausted { .. })
        ),
        "{:?}",
        socket.error.get_untracked()
    );
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn the_hook_query_and_a_configured_query_compose() {
    // A provider set through `configure` stays, and wins on the keys it sets.
    let room = room("compose");
    let owner = owner();
    let socket = owner.with(|| {
        use_party_socket(
            options("echo", room.clone())
                .query(Query::new().with("token", "from-hook").with("lang", "en"))
                .configure(|builder| {
                    quick(builder).query(QueryProvider::new(|| async {
                        Ok(Query::new().with("token", "from-provider"))
                    }))
                }),
        )
    });
    until("the socket opens", || {
        is_open(&socket.connection_state.get_untracked())
    })
    .await;
    let url = socket.socket().unwrap().url().unwrap();
    assert!(url.contains("token=from-provider"), "{url}");
    assert!(url.contains("lang=en"), "{url}");
    assert!(!url.contains("from-hook"), "{url}");
    owner.cleanup();

    // Over a static query, the hook's entries win.
    let room = self::room("compose-static");
    let owner = self::owner();
    let socket = owner.with(|| {
        use_party_socket(
            options("echo", room.clone())
                .query(Query::new().with("token", "from-hook"))
                .configure(|builder| {
                    quick(builder).query(Query::new().with("token", "static").with("keep", "k"))
                }),
        )
    });
    until("the socket opens", || {
        is_open(&socket.connection_state.get_untracked())
    })
    .await;
    let url = socket.socket().unwrap().url().unwrap();
    assert!(url.contains("token=from-hook"), "{url}");
    assert!(url.contains("keep=k"), "{url}");
    assert!(!url.contains("token=static"), "{url}");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_full_url_connects_as_given() {
    let room = room("full-url");
    let owner = owner();
    let (seen, record) = recorder();
    let socket = owner.with(|| {
        use_party_socket(
            UsePartySocketOptions::default()
                .url(format!("ws://{}/parties/echo/{room}?v=1", mock_host()))
                // Ignored with a URL.
                .room("elsewhere".to_owned())
                .configure(quick)
                .on_message(record),
        )
    });
    until("the socket opens", || {
        is_open(&socket.connection_state.get_untracked())
    })
    .await;
    assert_eq!(socket.send("over the url").unwrap(), SendOutcome::Sent);
    until("the greeting and the echo", || seen.borrow().len() == 2).await;
    let seen = seen.borrow().clone();
    let hello: Value = serde_json::from_str(&seen[0]).unwrap();
    let url = hello["url"].as_str().unwrap_or_default();
    assert!(url.contains(&format!("/parties/echo/{room}?v=1")), "{url}");
    assert!(!url.contains("_pk"), "a full URL gets no _pk: {url}");
    assert_eq!(seen[1], "over the url");
    assert!(socket.error.get_untracked().is_none());
    owner.cleanup();
}
