//! The hooks: signals and commands over one [`PartySocket`](crate::PartySocket) per component.

use std::error::Error as StdError;
use std::marker::PhantomData;
use std::rc::Rc;

use leptos::prelude::*;
use partysocket_wasm::{ConnectionState, Error, Message, StopReason};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(doc)]
use crate::QueueOnReplace;
use crate::codec::{Codec, JsonCodec, MessageCodec};
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
/// connects. With the `hydrate` feature, a hook that runs while Leptos hydrates creates
/// its socket in an effect, once hydration is done (a command during hydration itself
/// returns [`Error::DriverStopped`]).
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
    use_party_socket_with_codec::<Message, Message, MessageCodec>(options)
}

/// [`use_party_socket`] speaking JSON ([`JsonCodec`]): messages are decoded into `In`
/// (one that does not decode is skipped, with a warning in the console and
/// [`on_decode_error`](UsePartySocketOptions::on_decode_error)), and
/// [`send_json`](UsePartySocketReturn::send_json) (or
/// [`send_value`](UsePartySocketReturn::send_value)) encodes `Out`.
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
) -> UsePartySocketReturn<In, Out, JsonCodec>
where
    In: DeserializeOwned + Send + Sync + 'static,
    Out: Serialize,
{
    use_party_socket_with_codec::<In, Out, JsonCodec>(options)
}

/// [`use_party_socket`] in the wire format `C`: every message is decoded with
/// [`C::decode`](Codec::decode) into `In` (the `message` signal, `on_message`), and
/// [`send_value`](UsePartySocketReturn::send_value) encodes an `Out` with
/// [`C::encode`](Codec::encode), as a text or a binary message as `C` chooses. A
/// message that does not decode is skipped: a warning goes to the console and the
/// typed error to [`on_decode_error`](UsePartySocketOptions::on_decode_error).
///
/// [`use_party_socket`] is this with [`MessageCodec`], [`use_party_socket_json`] with
/// [`JsonCodec`]. A binary format is a codec of a few lines (see [`Codec`]):
///
/// ```no_run
/// use leptos::prelude::*;
/// use partysocket_leptos::{Codec, Message, UsePartySocketOptions, use_party_socket_with_codec};
///
/// /// A counter as 4 big-endian bytes.
/// struct Counter;
///
/// #[derive(Debug)]
/// struct NotACounter;
///
/// impl std::fmt::Display for NotACounter {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("a counter is 4 bytes")
///     }
/// }
///
/// impl std::error::Error for NotACounter {}
///
/// impl Codec<u32> for Counter {
///     type Error = NotACounter;
///
///     fn encode(value: &u32) -> Result<Message, NotACounter> {
///         Ok(Message::binary(value.to_be_bytes().to_vec()))
///     }
///
///     fn decode(message: &Message) -> Result<u32, NotACounter> {
///         let bytes = message.as_bytes().try_into().map_err(|_| NotACounter)?;
///         Ok(u32::from_be_bytes(bytes))
///     }
/// }
///
/// #[component]
/// fn Clicks() -> impl IntoView {
///     let clicks = use_party_socket_with_codec::<u32, u32, Counter>(
///         UsePartySocketOptions::default()
///             .party("counter")
///             .room("lobby")
///             .on_decode_error(|err, _message| leptos::logging::warn!("{err}")),
///     );
///     let total = move || clicks.message.get().unwrap_or(0);
///     view! {
///         <button on:click=move |_| { let _ = clicks.send_value(&(total() + 1)); }>
///             {total}
///         </button>
///     }
/// }
/// ```
pub fn use_party_socket_with_codec<In, Out, C>(
    options: UsePartySocketOptions<In>,
) -> UsePartySocketReturn<In, Out, C>
where
    In: Send + Sync + 'static,
    C: Codec<In, Out>,
{
    use_party_socket_with(options, |message| {
        C::decode(message).map_err(|err| Box::new(err) as Box<dyn StdError>)
    })
}

fn use_party_socket_with<In, Out, C>(
    options: UsePartySocketOptions<In>,
    decode: Decode<In>,
) -> UsePartySocketReturn<In, Out, C>
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
        codec: PhantomData,
    }
}
