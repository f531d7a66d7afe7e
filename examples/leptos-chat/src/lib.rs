//! The PartyKit guide's chat as a client-side rendered Leptos page: history on join,
//! live messages, a presence count and a connection status that shows reconnecting.
//! A message typed while disconnected shows at once as pending (the socket queues it
//! and sends it when it reconnects; the server's echo replaces it), and the presence
//! count is marked stale while the presence socket is not open and until the server
//! has sent a fresh count.
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

/// Where the page connects, from its URL.
#[derive(Debug, Clone)]
struct PageParams {
    host: Option<String>,
    room: String,
    name: String,
}

impl PageParams {
    fn read() -> Self {
        let search = window().location().search().unwrap_or_default();
        let params = web_sys::UrlSearchParams::new_with_str(&search).ok();
        let get = |key: &str| {
            params
                .as_ref()
                .and_then(|params| params.get(key))
                .filter(|value| !value.is_empty())
        };
        PageParams {
            host: get("host"),
            room: get("room").unwrap_or_else(|| "lobby".to_owned()),
            name: get("name")
                .unwrap_or_else(|| format!("guest-{}", (math_random() * 1000.0) as u32)),
        }
    }
}

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

/// Mounts the chat on the page's body.
#[wasm_bindgen(start)]
pub fn start() {
    let PageParams { host, room, name } = PageParams::read();
    leptos::mount::mount_to_body(move || view! { <Chat room=room name=name host=host/> });
}
