//! What [`use_party_socket`](crate::use_party_socket) gives back: signals, commands and
//! the socket.

use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;

use leptos::prelude::*;
use partysocket_wasm::{ConnectionState, Error, Message, PartySocket, ReadyState, SendOutcome};

use crate::session::Session;

/// The socket of [`use_party_socket`](crate::use_party_socket) (`In` = [`Message`]) or
/// [`use_party_socket_json`](crate::use_party_socket_json) (`In` and `Out` the JSON
/// types): signals to render from and commands to call.
///
/// It is `Copy`, like a signal: move it into as many closures and views as needed. The
/// commands act on whichever socket the hook holds now (reactive options may have
/// replaced it); after the owner is cleaned up (unmount), or under SSR, they return
/// [`Error::DriverStopped`].
pub struct UsePartySocketReturn<In = Message, Out = Message>
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
    pub(crate) session: StoredValue<Option<Rc<Session>>, LocalStorage>,
    pub(crate) out: PhantomData<fn(&Out)>,
}

impl<In: Send + Sync + 'static, Out> Clone for UsePartySocketReturn<In, Out> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<In: Send + Sync + 'static, Out> Copy for UsePartySocketReturn<In, Out> {}

impl<In: Send + Sync + 'static, Out> fmt::Debug for UsePartySocketReturn<In, Out> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsePartySocketReturn")
            .field(
                "connection_state",
                &self.connection_state.try_get_untracked(),
            )
            .finish_non_exhaustive()
    }
}

impl<In: Send + Sync + 'static, Out> UsePartySocketReturn<In, Out> {
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

impl<In: Send + Sync + 'static, Out: serde::Serialize> UsePartySocketReturn<In, Out> {
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
