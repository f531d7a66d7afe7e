//! One socket for a whole subtree: provided once, used by any component below.

use leptos::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{Codec, JsonCodec};
use crate::options::UsePartySocketOptions;
use crate::return_type::UsePartySocketReturn;
use crate::use_party_socket::{
    use_party_socket, use_party_socket_json, use_party_socket_with_codec,
};

/// Opens one socket with [`use_party_socket`] and provides it to every component below
/// the caller, which gets it with [`use_party_socket_context`]: one connection for the
/// whole app (or subtree), however many components send on it and render its signals.
///
/// The socket lives as long as the calling component (usually the app's root); the
/// components that use it may mount and unmount freely. Each can follow every message
/// with [`on_message`](UsePartySocketReturn::on_message) (dropped when that component
/// unmounts), besides the shared `message` signal.
///
/// A context is found by its type: one socket of [`Message`](crate::Message)s per
/// subtree (a provider deeper down shadows it). For sockets to several rooms, use
/// [`provide_party_socket_json`] with a message type per room, or provide a struct
/// holding several [`UsePartySocketReturn`]s with Leptos' own `provide_context`.
///
/// ```no_run
/// use leptos::prelude::*;
/// use partysocket_leptos::{
///     UsePartySocketOptions, provide_party_socket, use_party_socket_context,
/// };
///
/// #[component]
/// fn App() -> impl IntoView {
///     provide_party_socket(UsePartySocketOptions::default().party("chat").room("lobby"));
///     view! { <Status/> <Composer/> }
/// }
///
/// #[component]
/// fn Status() -> impl IntoView {
///     let socket = use_party_socket_context().expect("inside App");
///     view! { <p>{move || format!("{:?}", socket.ready_state.get())}</p> }
/// }
///
/// #[component]
/// fn Composer() -> impl IntoView {
///     let socket = use_party_socket_context().expect("inside App");
///     view! { <button on:click=move |_| { let _ = socket.send("hi"); }>"say hi"</button> }
/// }
/// # fn main() {}
/// ```
pub fn provide_party_socket(options: UsePartySocketOptions) -> UsePartySocketReturn {
    let socket = use_party_socket(options);
    provide_context(socket);
    socket
}

/// The socket a component above provided with [`provide_party_socket`]; `None` when
/// none did.
pub fn use_party_socket_context() -> Option<UsePartySocketReturn> {
    use_context::<UsePartySocketReturn>()
}

/// [`provide_party_socket`] speaking JSON, as [`use_party_socket_json`]: components get
/// it with [`use_party_socket_json_context::<In, Out>`](use_party_socket_json_context).
pub fn provide_party_socket_json<In, Out>(
    options: UsePartySocketOptions<In>,
) -> UsePartySocketReturn<In, Out, JsonCodec>
where
    In: DeserializeOwned + Send + Sync + 'static,
    Out: Serialize + 'static,
{
    let socket = use_party_socket_json::<In, Out>(options);
    provide_context(socket);
    socket
}

/// The JSON socket a component above provided with [`provide_party_socket_json`] for
/// these `In` and `Out` types; `None` when none did.
pub fn use_party_socket_json_context<In, Out>() -> Option<UsePartySocketReturn<In, Out, JsonCodec>>
where
    In: Send + Sync + 'static,
    Out: 'static,
{
    use_context::<UsePartySocketReturn<In, Out, JsonCodec>>()
}

/// [`provide_party_socket`] in the wire format `C`, as [`use_party_socket_with_codec`]:
/// components get it with
/// [`use_party_socket_with_codec_context::<In, Out, C>`](use_party_socket_with_codec_context).
pub fn provide_party_socket_with_codec<In, Out, C>(
    options: UsePartySocketOptions<In>,
) -> UsePartySocketReturn<In, Out, C>
where
    In: Send + Sync + 'static,
    Out: 'static,
    C: Codec<In, Out>,
{
    let socket = use_party_socket_with_codec::<In, Out, C>(options);
    provide_context(socket);
    socket
}

/// The socket a component above provided with [`provide_party_socket_with_codec`] for
/// these `In`, `Out` and `C`; `None` when none did.
pub fn use_party_socket_with_codec_context<In, Out, C>() -> Option<UsePartySocketReturn<In, Out, C>>
where
    In: Send + Sync + 'static,
    Out: 'static,
    C: Codec<In, Out>,
{
    use_context::<UsePartySocketReturn<In, Out, C>>()
}
