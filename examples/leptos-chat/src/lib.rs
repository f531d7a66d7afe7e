//! The PartyKit guide's chat as a client-side rendered Leptos page: history on join,
//! live messages, a presence count and a connection status that shows reconnecting.
//! A message typed while disconnected shows at once as pending (the socket queues it
//! and sends it when it reconnects; the server's echo replaces it), and the presence
//! count is marked stale while the presence socket is not open and until the server
//! has sent a fresh count.
//!
//! The same page also runs server-rendered: with the feature `ssr`, the
//! `leptos-chat-ssr` binary renders it with `leptos_axum` (the hooks are inert on the
//! server), and the `hydrate` build hydrates it in the browser, after which the sockets
//! connect (`cargo xtask serve leptos-chat-ssr`).
//!
//! It talks to the guide's `chat` party (history as `sync`, then each `message`) and its
//! `presence` party (everyone online), one [`use_party_socket_json`] each. Build and
//! serve it with `cargo xtask serve leptos-chat`, which starts the bundled mock server
//! and prints the page's URL. The page reads `?room=`, `?name=` and `?host=` (the
//! PartyKit server; without it, the server that served the page, as a PartyKit project
//! serving its own static files would).

use leptos::prelude::*;
use partysocket_leptos::{
    ConnectionState, Query, ReadyState, UsePartySocketOptions, use_party_socket_json,
};
use serde::{Deserialize, Serialize};
#[cfg(any(feature = "csr", feature = "hydrate"))]
use wasm_bindgen::prelude::*;

/// One stored chat message, as the `chat` party keeps it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChatMessage {
    /// Given by the server.
    pub id: String,
    /// Who wrote it.
    pub user: String,
    /// What they wrote.
    pub text: String,
}

/// What the `chat` party sends.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ChatEvent {
    /// On joining: the latest messages, oldest first.
    Sync {
        /// The history.
        messages: Vec<ChatMessage>,
    },
    /// Someone (this page included) wrote something.
    Message {
        /// What they wrote.
        message: ChatMessage,
    },
}

/// What the page sends to the `chat` party.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ChatCommand {
    /// A new message.
    Message {
        /// The author.
        user: String,
        /// The text.
        text: String,
    },
}

/// A message this page sent that the server has not echoed yet.
#[derive(Debug, Clone, PartialEq)]
struct Pending {
    /// A key for the list, unique on this page.
    key: u64,
    /// What was typed.
    text: String,
}

/// What the `presence` party sends: everyone online, by connection id.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum PresenceEvent {
    /// The users online now.
    Presence {
        /// Connection id to `{ name, status }`.
        users: serde_json::Map<String, serde_json::Value>,
    },
}

/// Where the page connects, from its URL's query: `?room=` (default `lobby`), `?name=`
/// and `?host=`.
#[derive(Debug, Clone, PartialEq)]
pub struct PageParams {
    /// The PartyKit server; `None` for the page's own.
    pub host: Option<String>,
    /// The room, in both parties.
    pub room: String,
    /// This user's name; `None` when the URL gives none.
    pub name: Option<String>,
}

impl PageParams {
    /// Reads `search` (a URL's query, with or without its `?`). The server and the
    /// browser both read the page's URL with this, so a hydrated page renders what the
    /// server rendered.
    pub fn from_search(search: &str) -> Self {
        let search = search.strip_prefix('?').unwrap_or(search);
        let get = |key: &str| {
            form_urlencoded::parse(search.as_bytes())
                .find(|(name, value)| name == key && !value.is_empty())
                .map(|(_, value)| value.into_owned())
        };
        PageParams {
            host: get("host"),
            room: get("room").unwrap_or_else(|| "lobby".to_owned()),
            name: get("name"),
        }
    }

    /// The params of the page the browser shows.
    #[cfg(any(feature = "csr", feature = "hydrate"))]
    fn of_this_page() -> Self {
        PageParams::from_search(&window().location().search().unwrap_or_default())
    }
}

/// The name of a user whose URL gives none, on a server-rendered page: the server and
/// the browser must render the same.
pub const SSR_GUEST: &str = "guest";

#[cfg(feature = "csr")]
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Math, js_name = random)]
    fn math_random() -> f64;
}

/// The status line's text and its machine-readable state (`data-state`).
fn status(state: &ConnectionState, was_open: bool) -> (&'static str, String) {
    match state {
        ConnectionState::Open => ("connected", "connected".to_owned()),
        ConnectionState::Connecting { .. } | ConnectionState::BackingOff { .. } if was_open => {
            let attempt = match state {
                ConnectionState::Connecting { attempt }
                | ConnectionState::BackingOff { attempt, .. } => *attempt,
                _ => 0,
            };
            (
                "reconnecting",
                format!("reconnecting… (attempt {})", attempt + 1),
            )
        }
        ConnectionState::Connecting { .. } | ConnectionState::BackingOff { .. } => {
            ("connecting", "connecting…".to_owned())
        }
        _ => ("disconnected", "disconnected".to_owned()),
    }
}

/// Options for `party` in `room`, this user's query, on `host` (else the page's host).
fn socket_options<In>(
    party: &str,
    room: &str,
    query: &Query,
    host: Option<&str>,
) -> UsePartySocketOptions<In> {
    let options = UsePartySocketOptions::default()
        .party(party.to_owned())
        .room(room.to_owned())
        .query(query.clone());
    match host {
        Some(host) => options.host(host.to_owned()),
        None => options,
    }
}

/// The chat: history, messages, who is online, and the connection's status.
#[component]
pub fn Chat(
    /// The room, in both parties.
    room: String,
    /// This user's name.
    name: String,
    /// The PartyKit server; `None` for the page's own.
    host: Option<String>,
) -> impl IntoView {
    let (messages, set_messages) = signal(Vec::<ChatMessage>::new());
    // Sent but not yet echoed by the server: typed offline, these wait in the socket's
    // queue until it reconnects.
    let pending = RwSignal::new(Vec::<Pending>::new());
    let next_key = StoredValue::new(0_u64);
    let query = Query::new().with("name", name.clone());
    let me = name.clone();
    let chat = use_party_socket_json::<ChatEvent, ChatCommand>(
        socket_options("chat", &room, &query, host.as_deref()).on_message(
            move |event: &ChatEvent| match event {
                // History replaces what is shown: after a reconnect it holds everything,
                // so nothing appears twice.
                ChatEvent::Sync { messages } => set_messages.set(messages.clone()),
                ChatEvent::Message { message } => {
                    if message.user == me {
                        // The server has it: the oldest pending copy gives way.
                        pending.update(|waiting| {
                            if let Some(at) = waiting.iter().position(|p| p.text == message.text) {
                                waiting.remove(at);
                            }
                        });
                    }
                    set_messages.update(|shown| shown.push(message.clone()));
                }
            },
        ),
    );
    // Whether the count shown came from the presence socket's current connection: it
    // goes stale when that connection closes, and fresh again with the first count
    // after the next open.
    let awaiting_count = RwSignal::new(true);
    let presence = use_party_socket_json::<PresenceEvent, serde_json::Value>(
        socket_options("presence", &room, &query, host.as_deref())
            .on_open(move || awaiting_count.set(true))
            .on_message(move |_: &PresenceEvent| awaiting_count.set(false)),
    );

    let was_open = RwSignal::new(false);
    Effect::new(move || {
        if chat
            .connection_state
            .with(|state| *state == ConnectionState::Open)
        {
            was_open.set(true);
        }
    });
    let status = Memo::new(move |_| {
        chat.connection_state
            .with(|state| status(state, was_open.get()))
    });
    let presence_state = Memo::new(move |_| {
        let open = presence.ready_state.get() == ReadyState::Open;
        match presence.message.with(Option::is_some) {
            false => "unknown",
            true if open && !awaiting_count.get() => "fresh",
            true => "stale",
        }
    });
    let online = move || match presence.message.get() {
        Some(PresenceEvent::Presence { users }) if presence_state.get() == "stale" => {
            format!("{} online (stale)", users.len())
        }
        Some(PresenceEvent::Presence { users }) => format!("{} online", users.len()),
        None => "… online".to_owned(),
    };

    let author = name.clone();
    let send = move |event: web_sys::KeyboardEvent| {
        if event.key() != "Enter" {
            return;
        }
        let input = event_target::<web_sys::HtmlInputElement>(&event);
        let text = input.value();
        if text.trim().is_empty() {
            return;
        }
        // Sent now when connected, queued until the reconnect otherwise; shown as
        // pending until the server echoes it.
        let sent = chat.send_json(&ChatCommand::Message {
            user: author.clone(),
            text: text.clone(),
        });
        match sent {
            Ok(outcome) if outcome.is_accepted() => {
                let key = next_key.get_value();
                next_key.set_value(key.wrapping_add(1));
                pending.update(|waiting| waiting.push(Pending { key, text }));
                input.set_value("");
            }
            // The input keeps the text, to try again.
            Ok(outcome) => leptos::logging::warn!("leptos-chat: not sent: {outcome:?}"),
            Err(err) => leptos::logging::warn!("leptos-chat: not sent: {err}"),
        }
    };
    let pending_author = name.clone();

    view! {
        <header>
            <h1>"# " {room.clone()}</h1>
            <span id="status" data-state=move || status.get().0 class=move || status.get().0>
                {move || status.get().1}
            </span>
            <span id="online" data-state=move || presence_state.get() class=move || presence_state.get()>
                {online}
            </span>
        </header>
        <ul id="messages">
            <For
                each=move || messages.get()
                key=|message| message.id.clone()
                children=move |message| {
                    let mine = message.user == name;
                    view! {
                        <li class:mine=mine>
                            <b>{message.user}</b>
                            <span class="text">{message.text}</span>
                        </li>
                    }
                }
            />
            <For
                each=move || pending.get()
                key=|waiting| waiting.key
                children=move |waiting| {
                    view! {
                        <li class="mine pending" data-state="pending">
                            <b>{pending_author.clone()}</b>
                            <span class="text">{waiting.text}</span>
                            <small class="pending-label">"pending"</small>
                        </li>
                    }
                }
            />
        </ul>
        <input id="message" placeholder="Type a message and press Enter" autofocus on:keydown=send/>
    }
}

/// Mounts the chat on the page's body (the client-side rendered page). A user whose URL
/// gives no name gets a random guest name.
#[cfg(feature = "csr")]
#[wasm_bindgen(start)]
pub fn start() {
    let PageParams { host, room, name } = PageParams::of_this_page();
    let name = name.unwrap_or_else(|| format!("guest-{}", (math_random() * 1000.0) as u32));
    leptos::mount::mount_to_body(move || view! { <Chat room=room name=name host=host/> });
}

/// Hydrates the server-rendered page (`shell`, feature `ssr`); the hydration script in
/// the server's HTML calls it. Once hydration is done, the root element gets
/// `data-hydrated="true"` and the sockets connect (their hooks wait for it).
#[cfg(feature = "hydrate")]
#[wasm_bindgen]
pub fn hydrate() {
    let PageParams { host, room, name } = PageParams::of_this_page();
    let name = name.unwrap_or_else(|| SSR_GUEST.to_owned());
    leptos::mount::hydrate_body(move || view! { <Chat room=room name=name host=host/> });
    if let Some(root) = window()
        .document()
        .and_then(|document| document.document_element())
    {
        let _ = root.set_attribute("data-hydrated", "true");
    }
}

/// The page's styles, shared by `index.html` (as a file) and the server-rendered shell.
#[cfg(feature = "ssr")]
const STYLE: &str = include_str!("../style.css");

/// The whole server-rendered page for the request in the context (leptos_axum provides
/// it): the chat for the URL's query with the hooks inert, and the scripts that load
/// the `hydrate` build and call its `hydrate` function.
#[cfg(feature = "ssr")]
pub fn shell(options: leptos::config::LeptosOptions) -> impl IntoView {
    use leptos::hydration::HydrationScripts;

    let search = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.uri.query().map(str::to_owned))
        .unwrap_or_default();
    let PageParams { host, room, name } = PageParams::from_search(&search);
    let name = name.unwrap_or_else(|| SSR_GUEST.to_owned());
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <title>"partysocket-leptos chat"</title>
                <link rel="icon" href="data:,"/>
                <style>{STYLE}</style>
                <HydrationScripts options/>
            </head>
            <body>
                <Chat room=room name=name host=host/>
            </body>
        </html>
    }
}
