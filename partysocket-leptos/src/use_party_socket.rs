//! The hooks: signals and commands over one [`PartySocket`](crate::PartySocket) per component.

use std::marker::PhantomData;
use std::rc::Rc;

use leptos::prelude::*;
use partysocket_wasm::{ConnectionState, Error, StopReason};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(doc)]
use crate::QueueOnReplace;
use crate::options::UsePartySocketOptions;
use crate::return_type::{Subscribers, UsePartySocketReturn};
use crate::session::{Decode, Session};

/// A reconnecting socket to a PartyKit room, as signals: the counterpart of React's
/// `usePartySocket`.
///
/// The socket connects at once (unless `enabled` starts `false`), reconnects with
/// backoff, queues what is sent while disconnected, and is closed, with its timer and
/// closures freed, when the calling component's owner is cleaned up. A change of `host`,
/// `party`, `room`, `query` or `id` replaces it (see [`QueueOnReplace`] for what
/// happens to its queue); `enabled` closes and reopens it.
///
/// With the crate's `ssr` feature, and on any target but `wasm32`, the hook is inert:
/// it returns signals in their initial state (`Connecting`, or `Closed` when not
/// enabled) and creates nothing, so server-rendered HTML hydrates; the browser then
/// connects.
///
/// ```no_run
/// use leptos::prelude::*;
/// use partysocket_leptos::{UsePartySocketOptions, use_party_socket};
///
/// #[component]
/// fn Ticker() -> impl IntoView {
///     let socket = use_party_socket(
///         UsePartySocketOptions::default()
///             .host("my-app.my-user.partykit.dev")
///             .room("ticks"),
///     );
///     let latest = move || {
///         socket
///             .message
///             .get()
///             .and_then(|message| message.as_text().map(str::to_owned))
///     };
///     view! {
///         <p>{move || format!("{:?}", socket.ready_state.get())}": "{latest}</p>
///         <button on:click=move |_| { let _ = socket.send("tick"); }>"tick"</button>
///     }
/// }
/// ```
pub fn use_party_socket(options: UsePartySocketOptions) -> UsePartySocketReturn {
    use_party_socket_with(options, |message| Some(message.clone()))
}

/// [`use_party_socket`] speaking JSON: messages are decoded into `In` (one that does
/// not decode is skipped with a warning in the console), and
/// [`send_json`](UsePartySocketReturn::send_json) encodes `Out`.
///
/// ```no_run
/// use leptos::prelude::*;
/// use partysocket_leptos::{UsePartySocketOptions, use_party_socket_json};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Deserialize)]
/// #[serde(tag = "type", rename_all = "lowercase")]
/// enum Incoming {
///     Presence { users: serde_json::Map<String, serde_json::Value> },
/// }
///
/// #[derive(Serialize)]
/// #[serde(tag = "type", rename_all = "lowercase")]
/// enum Outgoing {
///     Status { status: String },
/// }
///
/// #[component]
/// fn Online() -> impl IntoView {
///     let presence = use_party_socket_json::<Incoming, Outgoing>(
///         UsePartySocketOptions::default().party("presence").room("lobby"),
///     );
///     let away = move |_| {
///         let _ = presence.send_json(&Outgoing::Status { status: "away".into() });
///     };
///     view! {
///         <p>{move || match presence.message.get() {
///             Some(Incoming::Presence { users }) => format!("{} online", users.len()),
///             None => "…".to_owned(),
///         }}</p>
///         <button on:click=away>"away"</button>
///     }
/// }
/// ```
pub fn use_party_socket_json<In, Out>(
    options: UsePartySocketOptions<In>,
) -> UsePartySocketReturn<In, Out>
where
    In: DeserializeOwned + Send + Sync + 'static,
    Out: Serialize,
{
    use_party_socket_with(options, |message| match message.json::<In>() {
        Ok(value) => Some(value),
        Err(err) => {
            leptos::logging::warn!(
                "use_party_socket_json: skipped a message that is not the expected JSON: {err}"
            );
            None
        }
    })
}

fn use_party_socket_with<In, Out>(
    options: UsePartySocketOptions<In>,
    decode: Decode<In>,
) -> UsePartySocketReturn<In, Out>
where
    In: Send + Sync + 'static,
{
    let initial = if options.enabled.get_untracked() {
        ConnectionState::Connecting { attempt: 0 }
    } else {
        ConnectionState::Closed {
            reason: StopReason::NotStarted,
        }
    };
    let connection_state = RwSignal::new(initial);
    let ready_state = Memo::new(move |_| connection_state.with(ConnectionState::ready_state));
    let message = RwSignal::new(None::<In>);
    let error = RwSignal::new(None::<Error>);
    let session = StoredValue::new_local(None::<Rc<Session>>);
    let subscribers: Subscribers<In> = StoredValue::new_local(Vec::new());

    #[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
    crate::session::start(
        options,
        crate::session::Signals {
            decode,
            connection_state,
            message,
            error,
            subscribers,
        },
        session,
    );
    #[cfg(not(all(target_arch = "wasm32", not(feature = "ssr"))))]
    let _ = (options, decode);

    UsePartySocketReturn {
        ready_state: ready_state.into(),
        connection_state: connection_state.read_only().into(),
        message: message.read_only().into(),
        error: error.read_only().into(),
        session,
        subscribers,
        out: PhantomData,
    }
}
