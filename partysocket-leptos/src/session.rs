//! The hook's life in the browser: the socket it holds, replaced when the destination
//! changes, closed and reopened with `enabled`, let go with its owner.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use leptos::prelude::*;
use partysocket_wasm::{
    ConnectionState, Credentials, Error, Message, PartySocket, PartySocketOptions, Query,
    QueryProvider, QuerySource, StopReason,
};

use crate::options::{
    Configure, OnClose, OnDecodeError, OnError, OnMessage, OnOpen, QueueOnReplace,
    UsePartySocketOptions,
};
use crate::return_type::{Subscribers, notify};

/// What turns a received message into the hook's `In` (the codec's `decode`); an
/// error skips the message.
pub(crate) type Decode<In> = fn(&Message) -> Result<In, Box<dyn std::error::Error>>;

/// The reactive inputs that decide where a socket connects, read together.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Destination {
    host: Option<String>,
    url: Option<String>,
    party: String,
    room: String,
    query: Query,
    id: Option<String>,
}

/// The hook's state, shared by its effects, its cleanup and its return value.
pub(crate) struct Session {
    socket: RefCell<Option<PartySocket>>,
    /// Bumped whenever the socket is replaced or let go: callbacks of an older socket
    /// compare it with their own and do nothing.
    generation: Rc<Cell<u64>>,
    /// Where the current socket connects (`None` before the first).
    destination: RefCell<Option<Destination>>,
    enabled: Cell<bool>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("socket", &self.socket.borrow())
            .field("generation", &self.generation.get())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn socket(&self) -> Option<PartySocket> {
        self.socket.borrow().clone()
    }

    /// Lets go of the current socket: its callbacks go stale and are replaced by
    /// nothing (freeing what they captured), its queue is returned, and it is closed.
    /// Returns the queue and the room URL it was for.
    fn let_go(&self) -> Option<(Vec<Message>, String)> {
        self.generation.set(self.generation.get().wrapping_add(1));
        let socket = self.socket.borrow_mut().take()?;
        socket.on_open(|| {});
        socket.on_message(|_| {});
        socket.on_close(|_, _| {});
        socket.on_error(|_| {});
        socket.on_state_change(|_| {});
        let queue = socket.drain_queue();
        let room_url = socket.room_url();
        // A clone the application kept would keep it open: close it explicitly.
        let _ = socket.close();
        Some((queue, room_url))
    }
}

/// The signals and subscribers the hook returns, for the session to update.
pub(crate) struct Signals<In: Send + Sync + 'static> {
    pub(crate) decode: Decode<In>,
    pub(crate) connection_state: RwSignal<ConnectionState>,
    pub(crate) message: RwSignal<Option<In>>,
    pub(crate) error: RwSignal<Option<Error>>,
    pub(crate) subscribers: Subscribers<In>,
}

/// What a socket's callbacks update and call.
struct Wiring<In: Send + Sync + 'static> {
    connection_state: RwSignal<ConnectionState>,
    message: RwSignal<Option<In>>,
    error: RwSignal<Option<Error>>,
    subscribers: Subscribers<In>,
    decode: Decode<In>,
    on_open: Option<OnOpen>,
    on_message: Option<OnMessage<In>>,
    on_decode_error: Option<OnDecodeError>,
    on_close: Option<OnClose>,
    on_error: Option<OnError>,
}

impl<In: Send + Sync + 'static> Wiring<In> {
    /// Sets the callbacks of `socket`, live while the session's generation is `live`.
    fn attach(&self, socket: &PartySocket, generation: &Rc<Cell<u64>>, live: u64) {
        let is_live = {
            let generation = Rc::clone(generation);
            move || generation.get() == live
        };
        let (connection_state, error) = (self.connection_state, self.error);
        {
            let is_live = is_live.clone();
            socket.on_state_change(move |state| {
                if !is_live() {
                    return;
                }
                match state {
                    ConnectionState::Open => error.set(None),
                    // A terminal failure; a close the application asked for is none.
                    ConnectionState::Closed {
                        reason: reason @ (StopReason::GaveUp { .. } | StopReason::RetriesExhausted { .. }),
                    } => error.set(Some(Error::Stopped(Box::new(reason.clone())))),
                    _ => {}
                }
                connection_state.set(state.clone());
            });
        }
        {
            let is_live = is_live.clone();
            let on_open = self.on_open.clone();
            socket.on_open(move || {
                if is_live() {
                    // The state change follows the open event: say `Open` before the
                    // application's callback runs, so what it reads agrees.
                    connection_state.set(ConnectionState::Open);
                    if let Some(on_open) = &on_open {
                        on_open();
                    }
                }
            });
        }
        {
            let is_live = is_live.clone();
            let (message, decode, subscribers) = (self.message, self.decode, self.subscribers);
            let on_message = self.on_message.clone();
            let on_decode_error = self.on_decode_error.clone();
            socket.on_message(move |received| {
                if !is_live() {
                    return;
                }
                let value = match decode(received) {
                    Ok(value) => value,
                    Err(err) => {
                        leptos::logging::warn!(
                            "use_party_socket: skipped a message that does not decode: {err}"
                        );
                        if let Some(on_decode_error) = &on_decode_error {
                            on_decode_error(&*err, received);
                        }
                        return;
                    }
                };
                if let Some(on_message) = &on_message {
                    on_message(&value);
                }
                if is_live() {
                    notify(subscribers, &value);
                }
                // The callback may have unmounted the component.
                if is_live() {
                    message.set(Some(value));
                }
            });
        }
        {
            let is_live = is_live.clone();
            let on_close = self.on_close.clone();
            socket.on_close(move |frame, was_clean| {
                if let (true, Some(on_close)) = (is_live(), &on_close) {
                    on_close(frame, was_clean);
                }
            });
        }
        let on_error = self.on_error.clone();
        socket.on_error(move |error| {
            if let (true, Some(on_error)) = (is_live(), &on_error) {
                on_error(error);
            }
        });
    }
}

/// Builds the core options for `destination`: `configure` first, then the hook's own
/// options. The hook's query is merged with one that `configure` set: over a static
/// query its entries win; a [`QueryProvider`] is kept and its answer wins, the hook's
/// entries filling in the keys it leaves out.
fn build_options(
    destination: &Destination,
    configure: Option<&Configure>,
    enabled: bool,
) -> Result<PartySocketOptions, partysocket_wasm::OptionsError> {
    let mut builder = match (&destination.url, &destination.host) {
        (Some(url), _) => PartySocketOptions::for_url(url.clone()),
        (None, Some(host)) => PartySocketOptions::builder(host.clone()),
        (None, None) => partysocket_wasm::page_options(),
    };
    if let Some(configure) = configure {
        builder = configure(builder);
    }
    if destination.url.is_none() {
        builder = builder.party(destination.party.clone());
        if !destination.room.is_empty() {
            builder = builder.room(destination.room.clone());
        }
    }
    if let Some(id) = &destination.id {
        builder = builder.id(id.clone());
    }
    let options = builder.start_closed(!enabled).build()?;
    if destination.query.is_empty() {
        return Ok(options);
    }
    let query = compose_query(options.query(), &destination.query);
    options.to_builder().query(query).build()
}

/// `base` (what `configure` set) with the hook's `hook` entries; see [`build_options`].
fn compose_query(base: &QuerySource, hook: &Query) -> QuerySource {
    match base {
        QuerySource::Static(base) => QuerySource::Static(fill_in(hook, base)),
        QuerySource::PerAttempt(provider) => {
            let (provider, hook) = (provider.clone(), hook.clone());
            QuerySource::PerAttempt(QueryProvider::with_credentials(move || {
                let (answer, hook) = (provider.resolve_credentials(), hook.clone());
                async move {
                    let (query, headers) = answer.await?.into_parts();
                    let mut merged = Credentials::new().with_query(fill_in(&query, &hook));
                    // Kept, so the browser driver refuses them as it refuses any header.
                    for (name, value) in headers {
                        merged = merged.with_header(name, value);
                    }
                    Ok(merged)
                }
            }))
        }
    }
}

/// `first`'s entries, then those of `rest` whose key `first` does not set.
fn fill_in(first: &Query, rest: &Query) -> Query {
    let mut merged = first.clone();
    for (key, value) in rest.present() {
        if first.get(key).is_none() {
            merged = merged.with(key, value);
        }
    }
    merged
}

/// Whether the queue of a socket for `old_room_url` follows one for `new_room_url`.
fn queue_follows(policy: QueueOnReplace, old_room_url: &str, new_room_url: Option<&str>) -> bool {
    match policy {
        QueueOnReplace::Always => true,
        QueueOnReplace::Drop => false,
        QueueOnReplace::SameDestination => new_room_url == Some(old_room_url),
    }
}

/// Creates the first socket now and the effects that follow the options.
pub(crate) fn start<In: Send + Sync + 'static>(
    options: UsePartySocketOptions<In>,
    signals: Signals<In>,
    stored: StoredValue<Option<Rc<Session>>, LocalStorage>,
) {
    let Signals {
        decode,
        connection_state,
        message,
        error,
        subscribers,
    } = signals;
    let UsePartySocketOptions {
        host,
        url,
        party,
        room,
        query,
        id,
        enabled,
        queue_on_replace,
        configure,
        on_open,
        on_message,
        on_decode_error,
        on_close,
        on_error,
    } = options;
    let wiring = Rc::new(Wiring {
        connection_state,
        message,
        error,
        subscribers,
        decode,
        on_open,
        on_message,
        on_decode_error,
        on_close,
        on_error,
    });
    let session = Rc::new(Session {
        socket: RefCell::new(None),
        generation: Rc::new(Cell::new(0)),
        destination: RefCell::new(None),
        enabled: Cell::new(enabled.get_untracked()),
    });
    stored.set_value(Some(Rc::clone(&session)));

    let read_destination = move || Destination {
        host: host.map(|host| host.get()),
        url: url.map(|url| url.get()),
        party: party.get(),
        room: room.get(),
        query: query.get(),
        id: id.get(),
    };
    let replace = {
        let session = Rc::clone(&session);
        move |destination: &Destination| {
            replace(
                &session,
                &wiring,
                destination,
                configure.as_ref(),
                queue_on_replace,
            );
        }
    };
    // While hydrating server-rendered HTML, the first socket waits for the effect below
    // (effects run once hydration is done): the page the server rendered had none.
    if !hydrating() {
        replace(&untrack(read_destination));
    }

    // Effects run on a later tick, never inside a socket callback. Their first run
    // (immediate) compares too: a signal set before it must not be missed, and it
    // creates the first socket after hydration.
    Effect::watch(
        read_destination,
        {
            let session = Rc::clone(&session);
            move |destination, _, _| {
                if session.destination.borrow().as_ref() != Some(destination) {
                    replace(destination);
                }
            }
        },
        true,
    );
    Effect::watch(
        move || enabled.get(),
        {
            let session = Rc::clone(&session);
            move |&on, _, _| {
                if session.enabled.replace(on) == on {
                    return;
                }
                let Some(socket) = session.socket() else {
                    return;
                };
                let done = if on {
                    socket.reconnect()
                } else {
                    socket.close()
                };
                if let Err(err) = done {
                    leptos::logging::error!("use_party_socket: {err}");
                    error.set(Some(err));
                }
            }
        },
        true,
    );

    on_cleanup(move || {
        if let Some(Some(session)) = stored.try_get_value() {
            session.let_go();
            *session.destination.borrow_mut() = None;
        }
    });
}

/// Whether the hook runs while Leptos hydrates server-rendered HTML (feature `hydrate`).
fn hydrating() -> bool {
    #[cfg(feature = "hydrate")]
    {
        Owner::current_shared_context().is_some_and(|context| context.during_hydration())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

/// Replaces the session's socket (if any) with one for `destination`.
fn replace<In: Send + Sync + 'static>(
    session: &Session,
    wiring: &Wiring<In>,
    destination: &Destination,
    configure: Option<&Configure>,
    policy: QueueOnReplace,
) {
    *session.destination.borrow_mut() = Some(destination.clone());
    let options = build_options(destination, configure, session.enabled.get());
    let new_room_url = options.as_ref().ok().map(PartySocketOptions::room_url);
    let carried = match session.let_go() {
        Some((queue, old_room_url))
            if !queue.is_empty()
                && !queue_follows(policy, &old_room_url, new_room_url.as_deref()) =>
        {
            leptos::logging::warn!(
                "use_party_socket: dropped {} queued message(s) meant for {old_room_url}: the socket was replaced by one for {}",
                queue.len(),
                new_room_url.as_deref().unwrap_or("nothing")
            );
            Vec::new()
        }
        Some((queue, _)) => queue,
        None => Vec::new(),
    };
    let connected = options
        .map_err(partysocket_wasm::Error::from)
        .and_then(PartySocket::connect);
    let socket = match connected {
        Ok((socket, events)) => {
            // Callbacks alone see the events: an unread stream would grow.
            drop(events);
            socket
        }
        Err(err) => {
            leptos::logging::error!("use_party_socket: cannot connect: {err}");
            wiring.error.set(Some(err));
            wiring.connection_state.set(ConnectionState::Closed {
                reason: StopReason::NotStarted,
            });
            return;
        }
    };
    wiring.error.set(None);
    wiring.attach(&socket, &session.generation, session.generation.get());
    for message in carried {
        let _ = socket.send(message);
    }
    wiring.connection_state.set(socket.connection_state());
    *session.socket.borrow_mut() = Some(socket);
}
