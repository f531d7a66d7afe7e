//! What [`use_party_socket`](crate::use_party_socket) connects to and whom it tells.

use std::fmt;
use std::rc::Rc;

use leptos::prelude::*;
use partysocket_wasm::{CloseFrame, Message, PartySocketOptionsBuilder, Query, TransportError};

/// What happens to messages queued on a socket that a change of options replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueOnReplace {
    /// They follow the new socket when it connects to the same room URL (only the
    /// query, say a token, or the id changed); when the room, party or host changed they
    /// are dropped and a warning is logged, since they were meant for somewhere else.
    #[default]
    SameDestination,
    /// They always follow the new socket.
    Always,
    /// They are always dropped (with a warning when there were any).
    Drop,
}

pub(crate) type Configure = Rc<dyn Fn(PartySocketOptionsBuilder) -> PartySocketOptionsBuilder>;
pub(crate) type OnOpen = Rc<dyn Fn()>;
pub(crate) type OnMessage<In> = Rc<dyn Fn(&In)>;
pub(crate) type OnDecodeError = Rc<dyn Fn(&(dyn std::error::Error + 'static), &Message)>;
pub(crate) type OnClose = Rc<dyn Fn(&CloseFrame, bool)>;
pub(crate) type OnError = Rc<dyn Fn(&TransportError)>;

/// Options of [`use_party_socket`](crate::use_party_socket) and
/// [`use_party_socket_json`](crate::use_party_socket_json): a builder whose defaults
/// match the npm `partysocket` client's.
///
/// `host`, `party`, `room`, `query` and `id` take a value or any signal
/// (`RwSignal`, `Memo`, `Signal::derive(...)`): when one changes, the hook replaces the
/// socket. `enabled` closes and reopens the same socket. Everything else the core
/// knows (backoff, queue caps, heartbeat, failure policy, prefix, path) is set with
/// [`configure`](Self::configure).
///
/// ```
/// use leptos::prelude::*;
/// use partysocket_leptos::UsePartySocketOptions;
///
/// # let owner = Owner::new();
/// # owner.with(|| {
/// let room = RwSignal::new("lobby".to_owned());
/// let options = UsePartySocketOptions::default()
///     .party("chat")
///     .room(room)
///     .on_message(|message: &partysocket_leptos::Message| {
///         let _ = message.as_text();
///     });
/// # let _ = options;
/// # });
/// ```
pub struct UsePartySocketOptions<In = Message> {
    pub(crate) host: Option<Signal<String>>,
    pub(crate) url: Option<Signal<String>>,
    pub(crate) party: Signal<String>,
    pub(crate) room: Signal<String>,
    pub(crate) query: Signal<Query>,
    pub(crate) id: Signal<Option<String>>,
    pub(crate) enabled: Signal<bool>,
    pub(crate) queue_on_replace: QueueOnReplace,
    pub(crate) configure: Option<Configure>,
    pub(crate) on_open: Option<OnOpen>,
    pub(crate) on_message: Option<OnMessage<In>>,
    pub(crate) on_decode_error: Option<OnDecodeError>,
    pub(crate) on_close: Option<OnClose>,
    pub(crate) on_error: Option<OnError>,
}

impl<In> Default for UsePartySocketOptions<In> {
    /// The page's own host, party `main`, no room (set one), no query, a random id per
    /// socket, enabled, queued messages following a replacement to the same room.
    fn default() -> Self {
        UsePartySocketOptions {
            host: None,
            url: None,
            party: Signal::from("main".to_owned()),
            room: Signal::from(String::new()),
            query: Signal::from(Query::new()),
            id: Signal::from(None::<String>),
            enabled: Signal::from(true),
            queue_on_replace: QueueOnReplace::default(),
            configure: None,
            on_open: None,
            on_message: None,
            on_decode_error: None,
            on_close: None,
            on_error: None,
        }
    }
}

impl<In> fmt::Debug for UsePartySocketOptions<In> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsePartySocketOptions")
            .field("host", &self.host.map(|host| host.get_untracked()))
            .field(
                "url",
                &self
                    .url
                    .map(|url| partysocket_wasm::redact_url(&url.get_untracked())),
            )
            .field("party", &self.party.get_untracked())
            .field("room", &self.room.get_untracked())
            .field("queue_on_replace", &self.queue_on_replace)
            .finish_non_exhaustive()
    }
}

impl<In> UsePartySocketOptions<In> {
    /// The server: `name[:port]`, e.g. `my-app.my-user.partykit.dev` or
    /// `localhost:1999`. Default: the host that served the page, with `ws`/`wss`
    /// following its `http`/`https` (what a PartyKit project serving its own pages
    /// wants).
    pub fn host(mut self, host: impl Into<Signal<String>>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// A full `ws://` or `wss://` URL to connect to as given, instead of a PartyKit
    /// room: no `/parties/:party/:room` path and no `_pk` (see
    /// `PartySocketOptions::for_url`); `host`, `party` and `room` are then ignored, and
    /// the reconnects, the queue and the other options work as for a room. A change
    /// replaces the socket. An invalid URL shows in the [`error`](crate::UsePartySocketReturn::error)
    /// signal.
    pub fn url(mut self, url: impl Into<Signal<String>>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// The party. Default: `main`.
    pub fn party(mut self, party: impl Into<Signal<String>>) -> Self {
        self.party = party.into();
        self
    }

    /// The room. Required (unless [`configure`](Self::configure) sets a base path).
    pub fn room(mut self, room: impl Into<Signal<String>>) -> Self {
        self.room = room.into();
        self
    }

    /// Query parameters, such as a token. A change replaces the socket; its queued
    /// messages follow it (the room is the same). Merged with a query or provider set
    /// through [`configure`](Self::configure) (the provider wins).
    pub fn query(mut self, query: impl Into<Signal<Query>>) -> Self {
        self.query = query.into();
        self
    }

    /// The connection id (`_pk`). Default (`None`): a random id for each socket the hook
    /// creates; closing and reopening with [`enabled`](Self::enabled) keeps it.
    pub fn id(mut self, id: impl Into<Signal<Option<String>>>) -> Self {
        self.id = id.into();
        self
    }

    /// Whether the socket should be connected. `false` closes it (code `1000`) and
    /// `true` reopens the same socket, with the same id and whatever was queued
    /// meanwhile. Starting `false` creates the socket closed. Default: `true`.
    pub fn enabled(mut self, enabled: impl Into<Signal<bool>>) -> Self {
        self.enabled = enabled.into();
        self
    }

    /// What happens to queued messages when a change of options replaces the socket.
    /// Default: [`QueueOnReplace::SameDestination`].
    pub fn queue_on_replace(mut self, policy: QueueOnReplace) -> Self {
        self.queue_on_replace = policy;
        self
    }

    /// Sets any other option of the core on the builder the hook starts from, for every
    /// socket it creates. Host, party, room, id and `start_closed` are the hook's and
    /// are applied after this.
    ///
    /// A query set here and the hook's [`query`](Self::query) are merged: over a static
    /// [`Query`] set here, the hook's entries win on a key both set; a
    /// [`QueryProvider`](partysocket_wasm::QueryProvider) set here stays in force (it is
    /// asked before every attempt) and its answer wins, the hook's entries adding the
    /// keys it leaves out.
    ///
    /// ```
    /// use std::time::Duration;
    /// use partysocket_leptos::{Message, UsePartySocketOptions};
    ///
    /// let options = UsePartySocketOptions::<Message>::default().configure(|builder| {
    ///     builder
    ///         .min_reconnection_delay(Duration::from_millis(500))
    ///         .max_enqueued_messages(100)
    /// });
    /// # let _ = options;
    /// ```
    pub fn configure(
        mut self,
        configure: impl Fn(PartySocketOptionsBuilder) -> PartySocketOptionsBuilder + 'static,
    ) -> Self {
        self.configure = Some(Rc::new(configure));
        self
    }

    /// Called when a connection opens, after queued messages were sent on it. The
    /// hook's signals already say `Open`, so sending from here goes straight out.
    pub fn on_open(mut self, on_open: impl Fn() + 'static) -> Self {
        self.on_open = Some(Rc::new(on_open));
        self
    }

    /// Called with every message, in order. The `message` signal holds only the latest
    /// (signals coalesce a burst into one update); use this to keep them all.
    pub fn on_message(mut self, on_message: impl Fn(&In) + 'static) -> Self {
        self.on_message = Some(Rc::new(on_message));
        self
    }

    /// Called with the codec's error and the message when a received message does not
    /// decode (with [`use_party_socket_json`](crate::use_party_socket_json) or
    /// [`use_party_socket_with_codec`](crate::use_party_socket_with_codec)); the message
    /// is skipped either way, and a warning goes to the console. The error is the
    /// codec's [`Error`](crate::Codec::Error): `downcast_ref` recovers its type.
    ///
    /// ```
    /// use partysocket_leptos::UsePartySocketOptions;
    ///
    /// let options = UsePartySocketOptions::<serde_json::Value>::default().on_decode_error(
    ///     |err, message| {
    ///         if let Some(err) = err.downcast_ref::<serde_json::Error>() {
    ///             let _ = (err.line(), message.len());
    ///         }
    ///     },
    /// );
    /// # let _ = options;
    /// ```
    pub fn on_decode_error(
        mut self,
        on_decode_error: impl Fn(&(dyn std::error::Error + 'static), &Message) + 'static,
    ) -> Self {
        self.on_decode_error = Some(Rc::new(on_decode_error));
        self
    }

    /// Called with the close frame and whether the closing handshake completed,
    /// whenever a connection closes or an attempt fails.
    pub fn on_close(mut self, on_close: impl Fn(&CloseFrame, bool) + 'static) -> Self {
        self.on_close = Some(Rc::new(on_close));
        self
    }

    /// Called when an attempt or a connection fails (a close follows when a handshake
    /// had started).
    pub fn on_error(mut self, on_error: impl Fn(&TransportError) + 'static) -> Self {
        self.on_error = Some(Rc::new(on_error));
        self
    }
}
