//! Socket options: every upstream `partysocket` option with its default, plus ours.

use std::fmt;
use std::time::Duration;

use super::backoff::reconnection_delay;
use super::error::{HeaderError, OptionsError};
use super::policy::{DropPolicy, FailurePolicy, Heartbeat};
use super::query::{Query, QuerySource};
use super::redact;
use super::rng::Rng;
use super::url::{self, FullUrl, ID_PARAM, Protocol};

/// Everything a socket needs to know: where to connect, how to reconnect, what to queue.
///
/// Build it with [`PartySocketOptions::builder`], which checks every value; the
/// defaults are upstream `partysocket`'s.
///
/// ```
/// use std::time::Duration;
/// use partysocket::PartySocketOptions;
///
/// let options = PartySocketOptions::builder("localhost:1999")
///     .room("lobby")
///     .party("chat")
///     .id("player-1")
///     .max_reconnection_delay(Duration::from_secs(30))
///     .build()?;
/// assert_eq!(options.room_url(), "ws://localhost:1999/parties/chat/lobby");
/// assert_eq!(
///     options.socket_url(None),
///     "ws://localhost:1999/parties/chat/lobby?_pk=player-1"
/// );
/// # Ok::<(), partysocket::OptionsError>(())
/// ```
///
/// `Debug` output keeps header names and query keys but shows their values as
/// `REDACTED`: they often carry tokens.
#[derive(Clone)]
pub struct PartySocketOptions {
    pub(crate) host: String,
    pub(crate) room: Option<String>,
    pub(crate) party: String,
    pub(crate) prefix: String,
    pub(crate) base_path: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) protocol: Option<Protocol>,
    pub(crate) protocols: Vec<String>,
    pub(crate) query: QuerySource,
    pub(crate) id: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) start_closed: bool,
    pub(crate) disable_name_validation: bool,
    pub(crate) min_reconnection_delay: Duration,
    pub(crate) max_reconnection_delay: Duration,
    pub(crate) reconnection_delay_grow_factor: f64,
    pub(crate) jitter: f64,
    pub(crate) min_uptime: Duration,
    pub(crate) connection_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) max_retries: Option<u32>,
    pub(crate) max_enqueued_messages: Option<usize>,
    pub(crate) max_enqueued_bytes: Option<usize>,
    pub(crate) drop_policy: DropPolicy,
    pub(crate) heartbeat: Option<Box<Heartbeat>>,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) event_capacity: usize,
    pub(crate) failure_policy: FailurePolicy,
    pub(crate) max_message_size: Option<usize>,
    /// The URL of options made with [`PartySocketOptions::for_url`]: no room path, no
    /// `_pk`.
    pub(crate) full_url: Option<Box<FullUrl>>,
    /// The room URL under `ws`/`wss`, written once by the builder: every attempt's URL
    /// starts with it.
    pub(crate) ws_base: String,
}

/// The default of [`PartySocketOptionsBuilder::event_capacity`].
pub(crate) const DEFAULT_EVENT_CAPACITY: usize = 1024;
/// The write timeout when neither `write_timeout` nor a heartbeat is set.
const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

impl fmt::Debug for PartySocketOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new field cannot be left out by accident.
        let PartySocketOptions {
            host,
            room,
            party,
            prefix,
            base_path,
            path,
            protocol,
            protocols,
            query,
            id,
            headers,
            start_closed,
            disable_name_validation,
            min_reconnection_delay,
            max_reconnection_delay,
            reconnection_delay_grow_factor,
            jitter,
            min_uptime,
            connection_timeout,
            close_timeout,
            max_retries,
            max_enqueued_messages,
            max_enqueued_bytes,
            drop_policy,
            heartbeat,
            write_timeout,
            event_capacity,
            failure_policy,
            max_message_size,
            full_url,
            ws_base: _,
        } = self;
        let full_url = full_url
            .as_ref()
            .map(|full| url::redact_url(&full.with_query(full.protocol.websocket_scheme(), "")));
        f.debug_struct("PartySocketOptions")
            .field("host", host)
            .field("room", room)
            .field("party", party)
            .field("prefix", prefix)
            .field("base_path", base_path)
            .field("path", path)
            .field("protocol", protocol)
            .field("protocols", protocols)
            .field("query", query)
            .field("id", id)
            .field("headers", &redact::Headers(headers))
            .field("start_closed", start_closed)
            .field("disable_name_validation", disable_name_validation)
            .field("min_reconnection_delay", min_reconnection_delay)
            .field("max_reconnection_delay", max_reconnection_delay)
            .field(
                "reconnection_delay_grow_factor",
                reconnection_delay_grow_factor,
            )
            .field("jitter", jitter)
            .field("min_uptime", min_uptime)
            .field("connection_timeout", connection_timeout)
            .field("close_timeout", close_timeout)
            .field("max_retries", max_retries)
            .field("max_enqueued_messages", max_enqueued_messages)
            .field("max_enqueued_bytes", max_enqueued_bytes)
            .field("drop_policy", drop_policy)
            .field("heartbeat", heartbeat)
            .field("write_timeout", write_timeout)
            .field("event_capacity", event_capacity)
            .field("failure_policy", failure_policy)
            .field("max_message_size", max_message_size)
            .field("full_url", &full_url)
            .finish()
    }
}

/// Builds [`PartySocketOptions`]; every setter documents its default.
#[derive(Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct PartySocketOptionsBuilder {
    draft: PartySocketOptions,
    id: Option<String>,
    /// The URL given to [`PartySocketOptions::for_url`] (or an update).
    url: Option<GivenUrl>,
    /// The first invalid header and subprotocol, found by the setters.
    found: Found,
}

/// A URL given for a socket, parsed when it is given; [`build`] reports the result in
/// its place among the checks. Parsing in the setter rather than in `build` keeps the
/// full-URL parser out of programs that never give a full URL.
///
/// [`build`]: PartySocketOptionsBuilder::build
#[derive(Clone)]
struct GivenUrl {
    /// The URL as given, for `Debug`.
    text: String,
    parsed: Result<FullUrl, OptionsError>,
}

impl GivenUrl {
    fn parse(text: String) -> GivenUrl {
        let parsed = url::parse_full_url(&text);
        GivenUrl { text, parsed }
    }
}

/// What the setters of the optional parts found wrong, kept for [`build`] to report
/// in its place among the checks: the checking code is then only in programs that set
/// headers or subprotocols.
///
/// [`build`]: PartySocketOptionsBuilder::build
#[derive(Clone, Default)]
struct Found {
    /// The first header that cannot be sent.
    header: Option<OptionsError>,
    /// The first subprotocol that is not a token.
    subprotocol: Option<OptionsError>,
}

impl Found {
    /// Records why the header `name: value` cannot be sent, unless an earlier header
    /// is recorded already.
    fn header(&mut self, name: &str, value: &str) {
        if self.header.is_none() {
            self.header = validate_header(name, value).err().map(OptionsError::from);
        }
    }

    /// Records the first subprotocol of `protocols` that is not a token, replacing
    /// what was recorded for the protocols these replace.
    fn subprotocols(&mut self, protocols: &[String]) {
        self.subprotocol = protocols
            .iter()
            .find(|protocol| protocol.is_empty() || !protocol.bytes().all(is_token_byte))
            .map(|protocol| OptionsError::InvalidSubprotocol(protocol.clone()));
    }
}

impl fmt::Debug for PartySocketOptionsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let PartySocketOptionsBuilder {
            draft,
            id,
            url,
            found: _,
        } = self;
        f.debug_struct("PartySocketOptionsBuilder")
            .field("draft", draft)
            .field("id", id)
            .field(
                "url",
                &url.as_ref().map(|given| url::redact_url(&given.text)),
            )
            .finish()
    }
}

impl PartySocketOptions {
    /// Starts options for a server at `host`: a name or address with an optional port
    /// (`"localhost:1999"`, `"my-app.my-user.partykit.dev"`). A leading `http://`,
    /// `https://`, `ws://` or `wss://` and trailing slashes are removed.
    pub fn builder(host: impl Into<String>) -> PartySocketOptionsBuilder {
        PartySocketOptionsBuilder {
            draft: PartySocketOptions {
                host: host.into(),
                room: None,
                party: "main".to_owned(),
                prefix: "parties".to_owned(),
                base_path: None,
                path: None,
                protocol: None,
                protocols: Vec::new(),
                query: QuerySource::default(),
                id: String::new(),
                headers: Vec::new(),
                start_closed: false,
                disable_name_validation: false,
                min_reconnection_delay: Duration::from_millis(3000),
                max_reconnection_delay: Duration::from_millis(10_000),
                reconnection_delay_grow_factor: 1.3,
                jitter: 0.0,
                min_uptime: Duration::from_millis(5000),
                connection_timeout: Duration::from_millis(4000),
                close_timeout: Duration::from_millis(1000),
                max_retries: None,
                max_enqueued_messages: None,
                max_enqueued_bytes: None,
                drop_policy: DropPolicy::DropNewest,
                heartbeat: None,
                write_timeout: None,
                event_capacity: DEFAULT_EVENT_CAPACITY,
                failure_policy: FailurePolicy::default(),
                max_message_size: None,
                full_url: None,
                ws_base: String::new(),
            },
            id: None,
            url: None,
            found: Found::default(),
        }
    }

    /// Starts options for a socket to any WebSocket server at `url`, a full `ws://` or
    /// `wss://` URL used as given: no `/parties/<party>/<room>` path and no `_pk`
    /// parameter (upstream's `partysocket/ws`). Reconnection, the queue, heartbeats,
    /// the failure policy and every other option work as for a room; a
    /// [`query`](PartySocketOptionsBuilder::query) is appended to the URL's own query.
    ///
    /// ```
    /// use partysocket::{PartySocketOptions, Query};
    ///
    /// let options = PartySocketOptions::for_url("wss://stream.example.com/v1/feed?format=json")
    ///     .query(Query::new().with("token", "abc"))
    ///     .build()?;
    /// assert_eq!(options.room_url(), "wss://stream.example.com/v1/feed");
    /// assert_eq!(
    ///     options.socket_url(None),
    ///     "wss://stream.example.com/v1/feed?format=json&token=abc"
    /// );
    /// # Ok::<(), partysocket::OptionsError>(())
    /// ```
    ///
    /// The URL is checked by [`build`](PartySocketOptionsBuilder::build): an
    /// [`OptionsError::InvalidUrl`] for another scheme (`http://`, none), a fragment,
    /// credentials, whitespace, a backslash, `.`/`..` segments or a bad host, and an
    /// [`OptionsError::RoomOptionWithUrl`] when room, party, prefix, base path, path or
    /// a protocol other than the URL's is set as well.
    pub fn for_url(url: impl Into<String>) -> PartySocketOptionsBuilder {
        let mut builder = PartySocketOptions::builder(String::new());
        builder.url = Some(GivenUrl::parse(url.into()));
        builder
    }

    /// A builder holding these options, id included, to change some of them.
    pub fn to_builder(&self) -> PartySocketOptionsBuilder {
        PartySocketOptionsBuilder {
            id: Some(self.id.clone()),
            draft: self.clone(),
            // What parsing the written URL gives, without the parser.
            url: self.full_url.as_ref().map(|full| GivenUrl {
                text: full.with_query(full.protocol.websocket_scheme(), ""),
                parsed: Ok(full.reparsed()),
            }),
            // Built options have no invalid header or subprotocol.
            found: Found::default(),
        }
    }

    /// The URL of options made with [`for_url`](Self::for_url), as a browser writes it
    /// (without the [`query`](PartySocketOptionsBuilder::query) entries); `None` for a
    /// PartyKit room.
    pub fn full_url(&self) -> Option<String> {
        self.full_url
            .as_ref()
            .map(|full| full.with_query(full.protocol.websocket_scheme(), ""))
    }

    /// The host, without scheme or trailing slash.
    pub fn host(&self) -> &str {
        &self.host
    }
    /// The room, when set.
    pub fn room(&self) -> Option<&str> {
        self.room.as_deref()
    }
    /// The party (upstream's `name`); `"main"` by default.
    pub fn party(&self) -> &str {
        &self.party
    }
    /// The first path segment before party and room; `"parties"` by default.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
    /// The base path that replaces `prefix/party/room`, when set.
    pub fn base_path(&self) -> Option<&str> {
        self.base_path.as_deref()
    }
    /// The path after the room, when set (without a leading `/`).
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }
    /// The connection id, sent as `_pk` (options made with
    /// [`for_url`](Self::for_url) do not send it; it still names the socket in logs).
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The protocol in use: the one set, else `ws` for local and private hosts and
    /// `wss` for the rest.
    pub fn protocol(&self) -> Protocol {
        self.protocol
            .unwrap_or_else(|| url::default_protocol(&self.host))
    }
    /// The explicit write timeout, if set; see
    /// [`write_timeout`](PartySocketOptionsBuilder::write_timeout).
    pub fn write_timeout(&self) -> Option<Duration> {
        self.write_timeout
    }
    /// How long a blocked write may make no progress before the connection is presumed
    /// dead: `write_timeout`, else the heartbeat's timeout, else 30 s.
    pub fn effective_write_timeout(&self) -> Duration {
        self.write_timeout
            .or_else(|| self.heartbeat.as_ref().map(|heartbeat| heartbeat.timeout))
            .unwrap_or(DEFAULT_WRITE_TIMEOUT)
    }
    /// How many undelivered events a driver holds before it stops reading the socket.
    pub fn event_capacity(&self) -> usize {
        self.event_capacity
    }
    /// The WebSocket subprotocols offered in the handshake.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }
    /// Where query parameters come from.
    pub fn query(&self) -> &QuerySource {
        &self.query
    }
    /// Extra handshake headers (native drivers only: browsers cannot set them).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }
    /// Whether the socket waits for `reconnect()` before its first connection.
    pub fn start_closed(&self) -> bool {
        self.start_closed
    }
    /// The liveness check, when on.
    pub fn heartbeat(&self) -> Option<&Heartbeat> {
        self.heartbeat.as_deref()
    }
    /// How long the connection may take to open, query resolution included.
    pub fn connection_timeout(&self) -> Duration {
        self.connection_timeout
    }
    /// How long a graceful close waits for the server's close frame.
    pub fn close_timeout(&self) -> Duration {
        self.close_timeout
    }
    /// The largest incoming message accepted, when limited.
    pub fn max_message_size(&self) -> Option<usize> {
        self.max_message_size
    }
    /// The policy deciding whether to reconnect after a failure or a close.
    pub fn failure_policy(&self) -> &FailurePolicy {
        &self.failure_policy
    }
    /// How many reconnection attempts are made before giving up (`None`: no limit).
    pub fn max_retries(&self) -> Option<u32> {
        self.max_retries
    }

    /// The delay before attempt `retry` without jitter (`0` for the first connect):
    /// the upper bound of the jittered delay.
    pub fn reconnection_delay(&self, retry: u32) -> Duration {
        self.delay_for(retry, 0.0)
    }

    pub(crate) fn delay_for(&self, retry: u32, unit: f64) -> Duration {
        reconnection_delay(
            retry,
            self.min_reconnection_delay,
            self.max_reconnection_delay,
            self.reconnection_delay_grow_factor,
            self.jitter,
            unit,
        )
    }

    /// Whether a room (or base path) is set, so a connection can be made.
    pub(crate) fn has_destination(&self) -> bool {
        self.full_url.is_some() || self.room.is_some() || self.base_path.is_some()
    }

    fn base(&self, scheme: &str) -> String {
        if let Some(full) = &self.full_url {
            return full.without_query(scheme);
        }
        let host = url::serialized_host(&self.host, self.protocol());
        let path = url::room_path(
            &self.prefix,
            &self.party,
            self.room.as_deref(),
            self.base_path.as_deref(),
            self.path.as_deref(),
        );
        format!("{scheme}://{host}{path}")
    }

    /// The room's URL without query: `ws(s)://host/prefix/party/room[/path]`; for
    /// options made with [`for_url`](Self::for_url), that URL without its query.
    pub fn room_url(&self) -> String {
        self.ws_base.clone()
    }

    /// The WebSocket URL: the room URL, then `_pk=<id>`, then the query in insertion
    /// order (values of `None` and any `_pk` entry left out). `resolved` is the query of
    /// a per-attempt provider; with `None`, the static query is used.
    ///
    /// For options made with [`for_url`](Self::for_url): the URL with its own query,
    /// then the query's entries (no `_pk`, and none is left out).
    pub fn socket_url(&self, resolved: Option<&Query>) -> String {
        let params = self.query_for(resolved);
        if let Some(full) = &self.full_url {
            let extra = url::form_encode(params.present());
            return full.with_query(self.protocol().websocket_scheme(), &extra);
        }
        let query = url::form_encode(
            std::iter::once((ID_PARAM, self.id.as_str())).chain(url::user_params(params)),
        );
        let mut url = String::with_capacity(self.ws_base.len() + 1 + query.len());
        url.push_str(&self.ws_base);
        url.push('?');
        url.push_str(&query);
        url
    }

    /// The HTTP URL for the same room: `http(s)://…?query`, no `_pk`, and a `?` even
    /// when the query is empty (as upstream's `PartySocket.fetch`).
    ///
    /// For options made with [`for_url`](Self::for_url): the URL under `http(s)`, with
    /// its own query and the query's entries.
    pub fn http_url(&self, resolved: Option<&Query>) -> String {
        if let Some(full) = &self.full_url {
            let extra = url::form_encode(self.query_for(resolved).present());
            return full.with_query(self.protocol().http_scheme(), &extra);
        }
        let query = url::form_encode(url::user_params(self.query_for(resolved)));
        format!("{}?{query}", self.base(self.protocol().http_scheme()))
    }

    fn query_for<'a>(&'a self, resolved: Option<&'a Query>) -> &'a Query {
        static EMPTY: Query = Query::EMPTY;
        match (resolved, &self.query) {
            (Some(query), _) => query,
            (None, QuerySource::Static(query)) => query,
            (None, QuerySource::PerAttempt(_)) => &EMPTY,
        }
    }

    /// Applies `update` on top of these options: fields it sets change, the rest (the
    /// id included) stay.
    ///
    /// # Errors
    ///
    /// The same checks as [`PartySocketOptionsBuilder::build`], on the result.
    pub fn updated(&self, update: OptionsUpdate) -> Result<PartySocketOptions, OptionsError> {
        let mut builder = self.to_builder();
        let draft = &mut builder.draft;
        let OptionsUpdate {
            host,
            room,
            party,
            prefix,
            base_path,
            path,
            protocol,
            protocols,
            query,
            id,
            headers,
            url,
        } = update;
        if let Some(url) = url {
            // A new URL replaces the whole destination.
            builder.url = Some(GivenUrl::parse(url));
            draft.room = None;
            draft.base_path = None;
            draft.path = None;
            draft.party = "main".to_owned();
            draft.prefix = "parties".to_owned();
            draft.protocol = None;
        }
        if let Some(host) = host {
            if builder.url.is_some() {
                return Err(OptionsError::RoomOptionWithUrl("host"));
            }
            draft.host = host;
        }
        if let Some(room) = room {
            draft.room = room;
        }
        if let Some(party) = party {
            draft.party = party;
        }
        if let Some(prefix) = prefix {
            draft.prefix = prefix;
        }
        if let Some(base_path) = base_path {
            draft.base_path = base_path;
        }
        if let Some(path) = path {
            draft.path = path;
        }
        if let Some(protocol) = protocol {
            draft.protocol = protocol;
        }
        if let Some(protocols) = protocols {
            builder.found.subprotocols(&protocols);
            draft.protocols = protocols;
        }
        if let Some(query) = query {
            draft.query = query;
        }
        if let Some(id) = id {
            builder.id = Some(id);
        }
        if let Some(headers) = headers {
            builder.found.header = None;
            for (name, value) in &headers {
                builder.found.header(name, value);
            }
            draft.headers = headers;
        }
        // Updates may leave the room unset while the socket is stopped; connecting
        // checks again.
        builder.validate(true)
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.draft.$name = value;
            self
        }
    };
}

impl PartySocketOptionsBuilder {
    /// The room to join. Required unless [`base_path`](Self::base_path) is set or the
    /// socket starts closed. Sent as one path segment (a `/` inside is encoded).
    pub fn room(mut self, room: impl Into<String>) -> Self {
        self.draft.room = Some(room.into());
        self
    }
    /// The party (default `"main"`).
    pub fn party(mut self, party: impl Into<String>) -> Self {
        self.draft.party = party.into();
        self
    }
    /// The path prefix before party and room (default `"parties"`); may contain `/`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.draft.prefix = prefix.into();
        self
    }
    /// A path that replaces `prefix/party/room` entirely (a leading `/` is ignored).
    pub fn base_path(mut self, base_path: impl Into<String>) -> Self {
        self.draft.base_path = Some(base_path.into());
        self
    }
    /// A path appended after the room (or base path); must not start with `/`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.draft.path = Some(path.into());
        self
    }
    /// Forces `ws`/`wss` (default: `ws` for local and private hosts, else `wss`).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.draft.protocol = Some(protocol);
        self
    }
    /// WebSocket subprotocols to offer (default none).
    pub fn protocols<S: Into<String>>(mut self, protocols: impl IntoIterator<Item = S>) -> Self {
        self.draft.protocols = protocols.into_iter().map(Into::into).collect();
        self.found.subprotocols(&self.draft.protocols);
        self
    }
    /// Query parameters: a [`Query`] sent on every attempt, or a
    /// [`QueryProvider`](crate::QueryProvider) asked before every attempt (default none).
    pub fn query(mut self, query: impl Into<QuerySource>) -> Self {
        self.draft.query = query.into();
        self
    }
    /// The connection id sent as `_pk` (default: a random UUID v4).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
    /// Adds a handshake header such as `Authorization` (native drivers; browsers
    /// cannot send headers and ignore them).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        self.found.header(&name, &value);
        self.draft.headers.push((name, value));
        self
    }
    setter!(
        /// Create the socket without connecting; `reconnect()` connects (default false).
        start_closed: bool
    );
    setter!(
        /// Do not warn about `/` in party or room names (default false).
        disable_name_validation: bool
    );
    setter!(
        /// The delay before the first reconnection (default 3000 ms).
        min_reconnection_delay: Duration
    );
    setter!(
        /// The largest reconnection delay (default 10 000 ms).
        max_reconnection_delay: Duration
    );
    setter!(
        /// How much each delay grows over the previous one (default 1.3).
        reconnection_delay_grow_factor: f64
    );
    setter!(
        /// The fraction (0.0 to 1.0) by which each delay may be randomly shortened, so a
        /// fleet of clients does not reconnect in lockstep (default 0.0: off, upstream's
        /// exact schedule).
        jitter: f64
    );
    setter!(
        /// How long a connection must stay open before the retry count resets (default
        /// 5000 ms).
        min_uptime: Duration
    );
    setter!(
        /// How long an attempt may take to open, query resolution included (default
        /// 4000 ms).
        connection_timeout: Duration
    );
    setter!(
        /// How long `close()` waits for the server's close frame (default 1000 ms).
        close_timeout: Duration
    );
    /// How many reconnection attempts to make before giving up (default unlimited).
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.draft.max_retries = Some(max_retries);
        self
    }
    /// How many messages the queue holds while disconnected (default unlimited).
    pub fn max_enqueued_messages(mut self, max: usize) -> Self {
        self.draft.max_enqueued_messages = Some(max);
        self
    }
    /// How many payload bytes the queue holds while disconnected (default unlimited).
    pub fn max_enqueued_bytes(mut self, max: usize) -> Self {
        self.draft.max_enqueued_bytes = Some(max);
        self
    }
    setter!(
        /// What to drop when the queue is full (default: the new message).
        drop_policy: DropPolicy
    );
    /// Pings to detect half-open connections (default off).
    pub fn heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.draft.heartbeat = Some(Box::new(heartbeat));
        self
    }
    setter!(
        /// Whether to reconnect after a close or failure (default: stop on handshake
        /// 401/403, honour `Retry-After` on 429/503, else reconnect).
        failure_policy: FailurePolicy
    );
    /// How long a write may make no progress (the peer stopped reading, the network
    /// is gone) before the connection is presumed dead and replaced (default: the
    /// heartbeat's timeout when a heartbeat is set, else 30 s).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.draft.write_timeout = Some(timeout);
        self
    }
    /// How many events may wait for the application before the driver stops reading
    /// the socket, so that a slow consumer holds the server back by TCP backpressure
    /// instead of growing memory (default 1024: a burst of a thousand messages passes
    /// without a pause, and an idle socket allocates nothing for it).
    pub fn event_capacity(mut self, events: usize) -> Self {
        self.draft.event_capacity = events;
        self
    }
    /// The largest incoming message to accept (default: the driver's own limit).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.draft.max_message_size = Some(bytes);
        self
    }

    /// Checks the options and fills in the id.
    ///
    /// # Errors
    ///
    /// An [`OptionsError`] naming the first invalid value: an empty or malformed host,
    /// no room and no base path (unless starting closed), a path starting with `/`, an
    /// empty party or prefix, a minimum delay above the maximum, a grow factor below 1
    /// or not finite, jitter outside `0.0..=1.0`, a zero timeout or heartbeat period, a
    /// header or subprotocol that cannot be sent, or `_pk` in a static query.
    pub fn build(self) -> Result<PartySocketOptions, OptionsError> {
        self.validate(false)
    }

    fn validate(mut self, allow_no_room: bool) -> Result<PartySocketOptions, OptionsError> {
        let o = &mut self.draft;
        match self.url.take() {
            Some(given) => {
                let full = given.parsed?;
                let room_options = [
                    ("room", o.room.is_some()),
                    ("party", o.party != "main"),
                    ("prefix", o.prefix != "parties"),
                    ("base_path", o.base_path.is_some()),
                    ("path", o.path.is_some()),
                    (
                        "protocol",
                        o.protocol.is_some_and(|protocol| protocol != full.protocol),
                    ),
                ];
                if let Some((what, _)) = room_options.iter().find(|(_, set)| *set) {
                    return Err(OptionsError::RoomOptionWithUrl(what));
                }
                o.host = full.host.clone();
                o.protocol = Some(full.protocol);
                o.full_url = Some(Box::new(full));
            }
            None => {
                o.full_url = None;
                o.host = url::normalize_host(&o.host)?;
            }
        }
        if o.room.as_deref() == Some("") {
            return Err(OptionsError::EmptyName("room"));
        }
        o.base_path = o
            .base_path
            .take()
            .map(|base| base.trim_start_matches('/').to_owned())
            .filter(|base| !base.is_empty());
        o.path = o.path.take().filter(|path| !path.is_empty());
        if let Some(path) = &o.path {
            if path.starts_with('/') {
                return Err(OptionsError::PathStartsWithSlash(path.clone()));
            }
        }
        if o.party.is_empty() {
            return Err(OptionsError::EmptyName("party"));
        }
        if o.prefix.trim_matches('/').is_empty() {
            return Err(OptionsError::EmptyName("prefix"));
        }
        o.prefix = o.prefix.trim_matches('/').to_owned();
        for (what, name) in [("party", Some(&o.party)), ("room", o.room.as_ref())] {
            if let Some(name) = name.filter(|name| matches!(name.as_str(), "." | "..")) {
                return Err(OptionsError::DotSegment {
                    what,
                    name: name.clone(),
                });
            }
        }
        let paths = [
            ("prefix", Some(o.prefix.as_str())),
            ("base_path", o.base_path.as_deref()),
            ("path", o.path.as_deref()),
            ("host path", url::host_path(&o.host)),
        ];
        for (what, path) in paths {
            if let Some(path) =
                path.filter(|path| path.split('/').any(|segment| matches!(segment, "." | "..")))
            {
                return Err(OptionsError::DotSegment {
                    what,
                    name: path.to_owned(),
                });
            }
        }
        if !o.has_destination() && !o.start_closed && !allow_no_room {
            return Err(OptionsError::MissingRoom);
        }
        if o.min_reconnection_delay > o.max_reconnection_delay {
            return Err(OptionsError::MinDelayAboveMax {
                min: o.min_reconnection_delay,
                max: o.max_reconnection_delay,
            });
        }
        let grow = o.reconnection_delay_grow_factor;
        if !grow.is_finite() || grow < 1.0 {
            return Err(OptionsError::InvalidGrowFactor(grow));
        }
        if !(0.0..=1.0).contains(&o.jitter) {
            return Err(OptionsError::InvalidJitter(o.jitter));
        }
        for (name, value) in [
            ("connection_timeout", o.connection_timeout),
            ("close_timeout", o.close_timeout),
            ("write_timeout", o.write_timeout.unwrap_or(Duration::MAX)),
        ] {
            if value.is_zero() {
                return Err(OptionsError::ZeroDuration(name));
            }
        }
        if o.event_capacity == 0 {
            return Err(OptionsError::ZeroEventCapacity);
        }
        if let Some(heartbeat) = &o.heartbeat {
            if heartbeat.interval.is_zero() {
                return Err(OptionsError::ZeroDuration("heartbeat interval"));
            }
            if heartbeat.timeout.is_zero() {
                return Err(OptionsError::ZeroDuration("heartbeat timeout"));
            }
        }
        // The setters checked the headers and subprotocols.
        if let Some(error) = self.found.header.take() {
            return Err(error);
        }
        if let Some(error) = self.found.subprotocol.take() {
            return Err(error);
        }
        if let (QuerySource::Static(query), None) = (&o.query, &o.full_url) {
            if query.get(ID_PARAM).is_some() {
                return Err(OptionsError::ReservedQueryKey);
            }
        }
        if !o.disable_name_validation {
            for (what, name) in [
                ("party", Some(o.party.as_str())),
                ("room", o.room.as_deref()),
            ] {
                if let Some(name) = name.filter(|name| name.contains('/')) {
                    tracing::warn!(
                        "{what} name {name:?} contains '/', which is sent encoded as %2F; disable_name_validation(true) silences this"
                    );
                }
            }
        }
        o.id = match self.id.take().filter(|id| !id.is_empty()) {
            Some(id) => id,
            None => Rng::from_entropy().uuid_v4(),
        };
        o.ws_base = o.base(o.protocol().websocket_scheme());
        Ok(self.draft)
    }
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Checks that a handshake header can be sent: for the options' headers and for a
/// provider's per-attempt headers alike.
pub(crate) fn validate_header(name: &str, value: &str) -> Result<(), HeaderError> {
    let invalid = |character, why| HeaderError::Invalid {
        name: name.to_owned(),
        character,
        why,
    };
    if name.is_empty() {
        return Err(invalid(None, "a header needs a name"));
    }
    if let Some(bad) = name
        .chars()
        .find(|&c| !u8::try_from(c).is_ok_and(is_token_byte))
    {
        return Err(invalid(
            Some(bad),
            "a header name is ASCII letters, digits and !#$%&'*+-.^_`|~",
        ));
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("sec-websocket-")
        || ["host", "upgrade", "connection"].contains(&lower.as_str())
    {
        return Err(invalid(
            None,
            "the socket sets this header itself (use protocols() for subprotocols)",
        ));
    }
    // RFC 9110 §5.5: visible ASCII, spaces and tabs. Other bytes are obsolete or
    // forbidden, and servers read them differently.
    if let Some(bad) = value
        .chars()
        .find(|&c| !(c == ' ' || c == '\t' || c.is_ascii_graphic()))
    {
        let why = if bad.is_ascii() {
            "a header value cannot contain control characters such as CR, LF or NUL"
        } else {
            "a header value is visible ASCII, spaces and tabs: percent-encode or base64 other text"
        };
        return Err(invalid(Some(bad), why));
    }
    Ok(())
}

/// A partial change to a socket's destination and credentials, applied with
/// `update`. Unset fields keep their current values; changes accumulate over calls and
/// the connection id stays unless set here. Takes effect at the next connection.
///
/// `Debug` output shows header and query values as `REDACTED`.
#[derive(Clone, Default)]
#[must_use]
pub struct OptionsUpdate {
    host: Option<String>,
    room: Option<Option<String>>,
    party: Option<String>,
    prefix: Option<String>,
    base_path: Option<Option<String>>,
    path: Option<Option<String>>,
    protocol: Option<Option<Protocol>>,
    protocols: Option<Vec<String>>,
    query: Option<QuerySource>,
    id: Option<String>,
    headers: Option<Vec<(String, String)>>,
    url: Option<String>,
}

impl fmt::Debug for OptionsUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let OptionsUpdate {
            host,
            room,
            party,
            prefix,
            base_path,
            path,
            protocol,
            protocols,
            query,
            id,
            headers,
            url,
        } = self;
        let url = url.as_deref().map(url::redact_url);
        f.debug_struct("OptionsUpdate")
            .field("host", host)
            .field("room", room)
            .field("party", party)
            .field("prefix", prefix)
            .field("base_path", base_path)
            .field("path", path)
            .field("protocol", protocol)
            .field("protocols", protocols)
            .field("query", query)
            .field("id", id)
            .field("headers", &headers.as_deref().map(redact::Headers))
            .field("url", &url)
            .finish()
    }
}

impl OptionsUpdate {
    /// An update that changes nothing.
    pub fn new() -> Self {
        OptionsUpdate::default()
    }
    /// Connects to a full `ws(s)://` URL from now on, as
    /// [`PartySocketOptions::for_url`] does: room, party, prefix, base path, path and
    /// protocol go back to unset. Options made with `for_url` change their URL this way
    /// (setting their host is an [`OptionsError::RoomOptionWithUrl`]).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }
    /// Changes the host.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
    /// Changes the room.
    pub fn room(mut self, room: impl Into<String>) -> Self {
        self.room = Some(Some(room.into()));
        self
    }
    /// Unsets the room (connecting then needs a base path, or a room set later).
    pub fn clear_room(mut self) -> Self {
        self.room = Some(None);
        self
    }
    /// Changes the party.
    pub fn party(mut self, party: impl Into<String>) -> Self {
        self.party = Some(party.into());
        self
    }
    /// Changes the prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }
    /// Sets the base path.
    pub fn base_path(mut self, base_path: impl Into<String>) -> Self {
        self.base_path = Some(Some(base_path.into()));
        self
    }
    /// Unsets the base path.
    pub fn clear_base_path(mut self) -> Self {
        self.base_path = Some(None);
        self
    }
    /// Sets the path after the room.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(Some(path.into()));
        self
    }
    /// Unsets the path after the room.
    pub fn clear_path(mut self) -> Self {
        self.path = Some(None);
        self
    }
    /// Forces `ws`/`wss`.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(Some(protocol));
        self
    }
    /// Goes back to choosing `ws`/`wss` from the host.
    pub fn infer_protocol(mut self) -> Self {
        self.protocol = Some(None);
        self
    }
    /// Replaces the subprotocols.
    pub fn protocols<S: Into<String>>(mut self, protocols: impl IntoIterator<Item = S>) -> Self {
        self.protocols = Some(protocols.into_iter().map(Into::into).collect());
        self
    }
    /// Replaces the query (static or per-attempt).
    pub fn query(mut self, query: impl Into<QuerySource>) -> Self {
        self.query = Some(query.into());
        self
    }
    /// Changes the connection id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
    /// Replaces the handshake headers.
    pub fn headers<N: Into<String>, V: Into<String>>(
        mut self,
        headers: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        self.headers = Some(
            headers
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        );
        self
    }
}
