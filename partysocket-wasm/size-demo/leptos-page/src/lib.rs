//! One small Leptos page built twice: with the feature `hook` on
//! `partysocket_leptos::use_party_socket`, without it on a plain `web_sys::WebSocket`.
//! Both show whether the socket is open and the latest text message, and send what is
//! typed. `cargo xtask size` builds both with the `wasm-size` profile; the difference
//! is what `partysocket-leptos` adds to a Leptos page.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

/// The room both pages join on the page's own server.
const ROOM: &str = "demo";

/// What the page needs from a connection: whether it is open, the latest text message,
/// and a way to send.
struct Connection {
    online: Signal<bool>,
    latest: Signal<String>,
    send: Box<dyn Fn(String)>,
}

/// The connection through the hook: reconnects, queues while offline, the page's host.
#[cfg(feature = "hook")]
fn connect() -> Connection {
    use partysocket_leptos::{ReadyState, UsePartySocketOptions, use_party_socket};

    let socket = use_party_socket(UsePartySocketOptions::default().room(ROOM.to_owned()));
    Connection {
        online: Signal::derive(move || socket.ready_state.get() == ReadyState::Open),
        latest: Signal::derive(move || {
            socket
                .message
                .get()
                .and_then(|message| message.as_text().map(str::to_owned))
                .unwrap_or_default()
        }),
        send: Box::new(move |text| {
            let _ = socket.send(text);
        }),
    }
}

/// The connection on a bare `WebSocket` to the same URL (no reconnect, no queue).
#[cfg(not(feature = "hook"))]
fn connect() -> Connection {
    use wasm_bindgen::closure::Closure;
    use web_sys::{MessageEvent, WebSocket};

    let online = RwSignal::new(false);
    let latest = RwSignal::new(String::new());
    let url = web_sys::window()
        .map(|window| window.location())
        .and_then(|location| Some((location.protocol().ok()?, location.host().ok()?)))
        .map(|(scheme, host)| {
            let scheme = if scheme == "https:" { "wss" } else { "ws" };
            format!("{scheme}://{host}/parties/main/{ROOM}")
        });
    let socket = url.and_then(|url| WebSocket::new(&url).ok());
    if let Some(socket) = &socket {
        let opened = Closure::<dyn FnMut()>::new(move || online.set(true));
        let closed = Closure::<dyn FnMut()>::new(move || online.set(false));
        let message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(text) = event.data().as_string() {
                latest.set(text);
            }
        });
        socket.set_onopen(Some(opened.as_ref().unchecked_ref()));
        socket.set_onclose(Some(closed.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(message.as_ref().unchecked_ref()));
        // The page keeps its socket for its whole life.
        opened.forget();
        closed.forget();
        message.forget();
    }
    Connection {
        online: online.into(),
        latest: latest.into(),
        send: Box::new(move |text| {
            if let Some(socket) = &socket {
                let _ = socket.send_with_str(&text);
            }
        }),
    }
}

/// The page: the state, the latest message, a text field and a send button.
#[component]
fn Room() -> impl IntoView {
    let Connection {
        online,
        latest,
        send,
    } = connect();
    let draft = RwSignal::new(String::new());
    view! {
        <p>{move || if online.get() { "online" } else { "offline" }}</p>
        <p>{move || latest.get()}</p>
        <input prop:value=draft on:input=move |event| draft.set(event_target_value(&event)) />
        <button on:click=move |_| send(draft.get_untracked())>"send"</button>
    }
}

/// Mounts the page.
#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(Room);
}
