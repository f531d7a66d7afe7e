//! What [`use_party_socket`](crate::use_party_socket) gives back: signals, commands and
//! the socket.

use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;

use leptos::prelude::*;
use partysocket_wasm::{ConnectionState, Error, Message, PartySocket, ReadyState, SendOutcome};

use crate::codec::{Codec, MessageCodec, SendError};
use crate::session::Session;

/// The message callbacks components added with
/// [`on_message`](UsePartySocketReturn::on_message), each with its key.
pub(crate) type Subscribers<In> = StoredValue<Vec<(u64, Subscriber<In>)>, LocalStorage>;

/// One component's message callback.
pub(crate) type Subscriber<In> = Rc<dyn Fn(&In)>;

/// Calls every subscriber with `value`; none runs while the list is borrowed (one may
/// subscribe or unsubscribe).
#[cfg(all(target_arch = "wasm32", not(feature = "ssr")))]
pub(crate) fn notify<In: 'static>(subscribers: Subscribers<In>, value: &In) {
    let current: Vec<Subscriber<In>> = subscribers
        .try_with_value(|list| list.iter().map(|(_, f)| Rc::clone(f)).collect())
        .unwrap_or_default();
    for subscriber in current {
        subscriber(value);
    }
}

/// The socket of [`use_party_socket`](crate::use_party_socket) (`In` and `Out` are
/// [`Message`]), [`use_party_socket_json`](crate::use_party_socket_json) (`In` and
/// `Out` the JSON types, `C` is [`JsonCodec`](crate::JsonCodec)) or
/// [`use_party_socket_with_codec`](crate::use_party_socket_with_codec) (`C` the wire
/// format): signals to render from and commands to call.
///
/// It is `Copy`, like a signal: move it into as many closures and views as needed. The
/// commands act on whichever socket the hook holds now (reactive options may have
/// replaced it); after the owner is cleaned up (unmount), or under SSR, they return
/// [`Error::DriverStopped`].
pub struct UsePartySocketReturn<In = Message, Out = Message, C = MessageCodec>
where
    In: Send + Sync + 'static,
{
    /// The WebSocket `readyState`: `Connecting` also while waiting to reconnect.
    pub ready_state: Signal<ReadyState>,
    /// The detailed state: `Connecting { attempt }`, `Open`, `Closing`,
    /// `BackingOff { attempt, retry_at }` or `Closed { reason }`.
    pub connection_state: Signal<ConnectionState>,
    /// The latest message (decoded, for the JSON variant). A burst between two renders
    /// shows only its last; `on_message` sees every one.
    pub message: Signal<Option<In>>,
    /// Why the hook holds no working socket: `Some(Error::Options(..))` when the options
    /// cannot be used (nothing connects until they change), `Some(Error::Stopped(..))`
    /// when the socket gave up or ran out of retries. Back to `None` when a connection
    /// opens or new options are accepted. Always `None` under SSR.
    pub error: Signal<Option<Error>>,
    pub(crate) session: StoredValue<Option<Rc<Session>>, LocalStorage>,
    pub(crate) subscribers: Subscribers<In>,
    pub(crate) out: PhantomData<fn(&Out)>,
    pub(crate) codec: PhantomData<fn() -> C>,
}

impl<In: Send + Sync + 'static, Out, C> Clone for UsePartySocketReturn<In, Out, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<In: Send + Sync + 'static, Out, C> Copy for UsePartySocketReturn<In, Out, C> {}

impl<In: Send + Sync + 'static, Out, C> fmt::Debug for UsePartySocketReturn<In, Out, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsePartySocketReturn")
            .field(
                "connection_state",
                &self.connection_state.try_get_untracked(),
            )
            .finish_non_exhaustive()
    }
}

impl<In: Send + Sync + 'static, Out, C> UsePartySocketReturn<In, Out, C> {
    /// The socket the hook holds now: `None` under SSR, after unmount, or when the
    /// options could not be built. A change of options replaces it; a clone kept
    /// elsewhere then refers to the old, closed socket.
    pub fn socket(&self) -> Option<PartySocket> {
        self.session
            .try_with_value(|session| session.as_ref().and_then(|session| session.socket()))
            .flatten()
    }

    fn with_socket<R>(&self, f: impl FnOnce(&PartySocket) -> Result<R, Error>) -> Result<R, Error> {
        // The socket is cloned out first: `f` may deliver events to callbacks that use
        // this value again.
        match self.socket() {
            Some(socket) => f(&socket),
            None => Err(Error::DriverStopped),
        }
    }

    /// Calls `callback` with every message (decoded, for the JSON variant), in order,
    /// until the reactive owner this is called under is cleaned up (the component that
    /// subscribed unmounts). For components sharing a socket through
    /// [`use_party_socket_context`](crate::use_party_socket_context): the `message`
    /// signal shows only the latest of a burst, this sees each one. Under SSR it is
    /// never called.
    pub fn on_message(&self, callback: impl Fn(&In) + 'static) {
        let subscribers = self.subscribers;
        let key = subscribers.try_update_value(|list| {
            let key = list.last().map_or(0, |(key, _)| key.wrapping_add(1));
            list.push((key, Rc::new(callback)));
            key
        });
        if let Some(key) = key {
            on_cleanup(move || {
                subscribers.try_update_value(|list| list.retain(|(k, _)| *k != key));
            });
        }
    }

    /// Sends `message` now when open; otherwise queues it (sent, in order, when the next
    /// connection opens, before `on_open`).
    ///
    /// # Errors
    ///
    /// [`Error::DriverStopped`] when the hook holds no socket (SSR, unmounted).
    pub fn send(&self, message: impl Into<Message>) -> Result<SendOutcome, Error> {
        self.with_socket(|socket| socket.send(message))
    }

    /// Closes the connection (code `1000`) and stops reconnecting until
    /// [`reconnect`](Self::reconnect). The `enabled` option is not changed.
    ///
    /// # Errors
    ///
    /// [`Error::DriverStopped`] when the hook holds no socket (SSR, unmounted).
    pub fn close(&self) -> Result<(), Error> {
        self.with_socket(PartySocket::close)
    }

    /// Connects now: cuts a backoff wait short, replaces an open connection, or
    /// restarts a closed socket.
    ///
    /// # Errors
    ///
    /// [`Error::DriverStopped`] when the hook holds no socket (SSR, unmounted), and
    /// [`Error::Options`] when the options name no room.
    pub fn reconnect(&self) -> Result<(), Error> {
        self.with_socket(PartySocket::reconnect)
    }
}

impl<In: Send + Sync + 'static, Out: serde::Serialize, C> UsePartySocketReturn<In, Out, C> {
    /// Sends `value` as a JSON text message, like [`send`](Self::send).
    ///
    /// # Errors
    ///
    /// [`Error::Json`] when `value` cannot be serialized, and [`Error::DriverStopped`]
    /// when the hook holds no socket (SSR, unmounted).
    pub fn send_json(&self, value: &Out) -> Result<SendOutcome, Error> {
        self.with_socket(|socket| socket.send_json(value))
    }
}

impl<In: Send + Sync + 'static, Out, C: Codec<In, Out>> UsePartySocketReturn<In, Out, C> {
    /// Encodes `value` with the hook's codec `C` and sends the message like
    /// [`send`](Self::send): now when open, queued otherwise.
    ///
    /// # Errors
    ///
    /// [`SendError::Encode`] with the codec's error when `value` cannot be encoded
    /// (nothing is sent or queued), and [`SendError::Socket`] with
    /// [`Error::DriverStopped`] when the hook holds no socket (SSR, unmounted).
    pub fn send_value(&self, value: &Out) -> Result<SendOutcome, SendError<C::Error>> {
        let message = C::encode(value).map_err(SendError::Encode)?;
        Ok(self.send(message)?)
    }
}
