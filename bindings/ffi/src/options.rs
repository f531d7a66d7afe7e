//! Socket options as plain records: every core option that can cross a foreign-function
//! boundary, with the core's defaults. Durations are whole milliseconds (`*_ms`).

use std::collections::HashMap;
use std::time::Duration;

use crate::credentials::{Provider, query_provider};
use crate::error::PartySocketError;
use crate::event::Message;

/// `ws`/`wss`; left unset, `ws` for local and private hosts and `wss` for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Protocol {
    /// `ws://`.
    Ws,
    /// `wss://`.
    Wss,
}

/// What a full queue drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DropPolicy {
    /// Keep what is queued; drop the new message (the default).
    DropNewest,
    /// Evict the oldest queued messages (reported as an error event) until the new one
    /// fits.
    DropOldest,
}

/// Pings after a quiet `interval_ms`; no traffic within `timeout_ms` after a ping turns
/// a half-open connection into a reconnect. Protocol ping frames by default; with
/// `ping`, application-level pings (a message the server answers, for servers or
/// proxies that do not answer ping frames).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Heartbeat {
    /// Quiet time before a ping, in milliseconds.
    pub interval_ms: u64,
    /// How long to wait for any traffic after a ping, in milliseconds.
    pub timeout_ms: u64,
    /// The message sent as the ping (default none: protocol ping frames). The server must
    /// answer it, e.g. a party answering `ping` with `pong` to the sender only.
    #[uniffi(default = None)]
    pub ping: Option<Message>,
    /// The server's answer: an incoming message equal to it counts as the answer and is
    /// not delivered to the application (default none: the answer is delivered; any
    /// incoming message proves liveness). Needs `ping`.
    #[uniffi(default = None)]
    pub pong: Option<Message>,
}

/// Whether to reconnect after a failure: the core's `FailurePolicy` in data.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FailurePolicy {
    /// Handshake HTTP statuses after which the socket stops (the core's default: 401
    /// and 403).
    pub stop_on_status: Vec<u16>,
    /// Handshake statuses whose `Retry-After` is honoured (default 429 and 503).
    pub honour_retry_after_on: Vec<u16>,
    /// The longest `Retry-After` waited, in milliseconds (default 300 000).
    #[uniffi(default = 300000)]
    pub max_retry_after_ms: u64,
    /// Close codes from the server after which the socket stops instead of
    /// reconnecting (upstream's `shouldReconnectOnClose` returning false); default none.
    #[uniffi(default)]
    pub stop_on_close_codes: Vec<u16>,
}

/// The default failure policy: stop on 401/403, honour `Retry-After` on 429/503.
#[uniffi::export]
pub fn default_failure_policy() -> FailurePolicy {
    FailurePolicy {
        stop_on_status: vec![401, 403],
        honour_retry_after_on: vec![429, 503],
        max_retry_after_ms: 300_000,
        stop_on_close_codes: Vec::new(),
    }
}

/// Upstream `partysocket`'s policy: retry every failure, whatever the status.
#[uniffi::export]
pub fn always_reconnect_policy() -> FailurePolicy {
    FailurePolicy {
        stop_on_status: Vec::new(),
        honour_retry_after_on: Vec::new(),
        ..default_failure_policy()
    }
}

/// Everything a socket needs: where to connect, how to reconnect, what to queue. Only
/// `host` is required (and `room`, unless `base_path` is set or the socket starts
/// closed); every other field has the core's default.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PartySocketOptions {
    /// Server host with optional port: `"localhost:1999"`, `"my-app.my-user.partykit.dev"`.
    /// Ignored (give `""`) when `url` is set.
    pub host: String,
    /// A full `ws://` or `wss://` URL to connect to as given, instead of a PartyKit room:
    /// no `/parties/:party/:room` path and no `_pk`; reconnects, the queue and every
    /// other option work as for a room. With it, leave `room`, `party`, `prefix`,
    /// `base_path`, `path` and `protocol` at their defaults (an error says which is set).
    #[uniffi(default = None)]
    pub url: Option<String>,
    /// The room to join.
    #[uniffi(default = None)]
    pub room: Option<String>,
    /// The party (default `"main"`).
    #[uniffi(default = "main")]
    pub party: String,
    /// The path before party and room (default `"parties"`).
    #[uniffi(default = "parties")]
    pub prefix: String,
    /// Replaces `prefix/party/room` entirely.
    #[uniffi(default = None)]
    pub base_path: Option<String>,
    /// Appended after the room; must not start with `/`.
    #[uniffi(default = None)]
    pub path: Option<String>,
    /// Forces `ws`/`wss`.
    #[uniffi(default = None)]
    pub protocol: Option<Protocol>,
    /// WebSocket subprotocols to offer (leave empty for PartyKit servers).
    #[uniffi(default)]
    pub protocols: Vec<String>,
    /// Query parameters sent on every attempt, in key order.
    #[uniffi(default)]
    pub query: HashMap<String, String>,
    /// The connection id sent as `_pk` (default: a random UUID v4).
    #[uniffi(default = None)]
    pub id: Option<String>,
    /// Handshake headers such as `Authorization`, sent in name order.
    #[uniffi(default)]
    pub headers: HashMap<String, String>,
    /// Create the socket without connecting; `reconnect()` connects.
    #[uniffi(default = false)]
    pub start_closed: bool,
    /// Do not warn about `/` in party or room names.
    #[uniffi(default = false)]
    pub disable_name_validation: bool,
    /// The first reconnection delay (default 3000 ms).
    #[uniffi(default = 3000)]
    pub min_reconnection_delay_ms: u64,
    /// The delay cap (default 10 000 ms).
    #[uniffi(default = 10000)]
    pub max_reconnection_delay_ms: u64,
    /// Growth of the delay per attempt (default 1.3).
    #[uniffi(default = 1.3)]
    pub reconnection_delay_grow_factor: f64,
    /// Fraction (0.0 to 1.0) by which a delay may be randomly shortened (default 0.0).
    #[uniffi(default = 0.0)]
    pub jitter: f64,
    /// Uptime before the retry count resets (default 5000 ms).
    #[uniffi(default = 5000)]
    pub min_uptime_ms: u64,
    /// How long an attempt may take to open (default 4000 ms).
    #[uniffi(default = 4000)]
    pub connection_timeout_ms: u64,
    /// How long a close waits for the server's close frame (default 1000 ms).
    #[uniffi(default = 1000)]
    pub close_timeout_ms: u64,
    /// How long a write may make no progress (default: the heartbeat's timeout, else
    /// 30 s).
    #[uniffi(default = None)]
    pub write_timeout_ms: Option<u64>,
    /// Attempts before giving up (default unlimited).
    #[uniffi(default = None)]
    pub max_retries: Option<u32>,
    /// Queue cap by count while disconnected (default unlimited).
    #[uniffi(default = None)]
    pub max_enqueued_messages: Option<u64>,
    /// Queue cap by payload bytes while disconnected (default unlimited).
    #[uniffi(default = None)]
    pub max_enqueued_bytes: Option<u64>,
    /// What a full queue drops (default `DropNewest`).
    #[uniffi(default = None)]
    pub drop_policy: Option<DropPolicy>,
    /// Liveness pings (default off).
    #[uniffi(default = None)]
    pub heartbeat: Option<Heartbeat>,
    /// Undelivered events held before the socket stops reading (default 1024).
    #[uniffi(default = 1024)]
    pub event_capacity: u32,
    /// The largest incoming message accepted (default: the driver's limit).
    #[uniffi(default = None)]
    pub max_message_size: Option<u64>,
    /// Whether to reconnect after failures (default: [`default_failure_policy`]).
    #[uniffi(default = None)]
    pub failure_policy: Option<FailurePolicy>,
    /// More trusted root certificates for `wss://`, as PEM text (each may hold several
    /// certificates): a development server's or a private CA (default none). The bundled
    /// Mozilla roots stay trusted.
    #[uniffi(default)]
    pub root_certificates_pem: Vec<String>,
    /// Also trust the operating system's root store where one can be read (Linux, macOS,
    /// Windows; on Android and iOS give `root_certificates_pem`) (default false).
    #[uniffi(default = false)]
    pub platform_roots: bool,
}

/// A change to the destination or credentials, applied with `update()`: unset fields
/// keep their values, and changes take effect at the next connection (call
/// `reconnect()` to apply them now). An empty `room`, `base_path` or `path` unsets it.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct OptionsUpdate {
    /// A new host.
    #[uniffi(default = None)]
    pub host: Option<String>,
    /// A new room (empty: none).
    #[uniffi(default = None)]
    pub room: Option<String>,
    /// A new party.
    #[uniffi(default = None)]
    pub party: Option<String>,
    /// A new prefix.
    #[uniffi(default = None)]
    pub prefix: Option<String>,
    /// A new base path (empty: none).
    #[uniffi(default = None)]
    pub base_path: Option<String>,
    /// A new path after the room (empty: none).
    #[uniffi(default = None)]
    pub path: Option<String>,
    /// Forces `ws`/`wss`.
    #[uniffi(default = None)]
    pub protocol: Option<Protocol>,
    /// Goes back to choosing `ws`/`wss` from the host (wins over `protocol`).
    #[uniffi(default = false)]
    pub infer_protocol: bool,
    /// Replaces the subprotocols.
    #[uniffi(default = None)]
    pub protocols: Option<Vec<String>>,
    /// Replaces the query.
    #[uniffi(default = None)]
    pub query: Option<HashMap<String, String>>,
    /// A new connection id.
    #[uniffi(default = None)]
    pub id: Option<String>,
    /// Replaces the handshake headers.
    #[uniffi(default = None)]
    pub headers: Option<HashMap<String, String>>,
}

fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Maps in key order, so the URL and the headers do not depend on hash order.
fn sorted(map: HashMap<String, String>) -> Vec<(String, String)> {
    let mut entries: Vec<_> = map.into_iter().collect();
    entries.sort();
    entries
}

fn to_usize(value: u64, name: &str) -> Result<usize, PartySocketError> {
    usize::try_from(value).map_err(|_| {
        PartySocketError::InvalidOptions(format!(
            "{name} is {value}, more than this platform can address; use a smaller value"
        ))
    })
}

impl From<Protocol> for partysocket::Protocol {
    fn from(protocol: Protocol) -> Self {
        match protocol {
            Protocol::Ws => partysocket::Protocol::Ws,
            Protocol::Wss => partysocket::Protocol::Wss,
        }
    }
}

impl From<FailurePolicy> for partysocket::FailurePolicy {
    fn from(policy: FailurePolicy) -> Self {
        let core = partysocket::FailurePolicy::default()
            .stop_on_status(policy.stop_on_status)
            .honour_retry_after_on(policy.honour_retry_after_on)
            .max_retry_after(millis(policy.max_retry_after_ms));
        if policy.stop_on_close_codes.is_empty() {
            core
        } else {
            let codes = policy.stop_on_close_codes;
            core.should_reconnect_on_close(move |frame| !codes.contains(&frame.code))
        }
    }
}

impl PartySocketOptions {
    /// The TLS roots these name, or `None` for the bundled roots alone.
    pub(crate) fn tls(&self) -> Result<Option<partysocket::TlsConfig>, PartySocketError> {
        if self.root_certificates_pem.is_empty() && !self.platform_roots {
            return Ok(None);
        }
        let mut builder = partysocket::TlsConfig::builder().native_roots(self.platform_roots);
        for (index, pem) in self.root_certificates_pem.iter().enumerate() {
            builder = builder.add_root_certificate_pem(pem).map_err(|err| {
                PartySocketError::InvalidOptions(format!(
                    "root_certificates_pem[{index}] holds no usable certificate ({err}): give the PEM text, starting with -----BEGIN CERTIFICATE-----, not a file path"
                ))
            })?;
        }
        builder.build().map(Some).map_err(|err| {
            PartySocketError::InvalidOptions(format!(
                "root_certificates_pem: a certificate is not a usable root ({err})"
            ))
        })
    }

    /// The core options these describe, checked by the core's builder.
    ///
    /// With `credentials`, the query and headers are asked of it before every attempt
    /// (over the static `query` and `headers`), and without a `failure_policy` a 401 or 403 does not stop the socket.
    pub(crate) fn into_core(
        self,
        credentials: Option<Provider>,
    ) -> Result<partysocket::PartySocketOptions, PartySocketError> {
        let failure_policy = match (self.failure_policy, &credentials) {
            (Some(policy), _) => Some(policy),
            (None, Some(_)) => Some(FailurePolicy {
                stop_on_status: Vec::new(),
                ..default_failure_policy()
            }),
            (None, None) => None,
        };
        let query: partysocket::QuerySource = match credentials {
            Some(credentials) => query_provider(credentials, self.query).into(),
            None => sorted(self.query)
                .into_iter()
                .collect::<partysocket::Query>()
                .into(),
        };
        let builder = match self.url {
            Some(url) => {
                let mut builder = partysocket::PartySocketOptions::for_url(url);
                // The record's defaults are nobody's choice: only a party or prefix that
                // differs from them is set, for the core to refuse with the URL.
                if self.party != "main" {
                    builder = builder.party(self.party);
                }
                if self.prefix != "parties" {
                    builder = builder.prefix(self.prefix);
                }
                builder
            }
            None => partysocket::PartySocketOptions::builder(self.host)
                .party(self.party)
                .prefix(self.prefix),
        };
        let mut builder = builder
            .protocols(self.protocols)
            .query(query)
            .start_closed(self.start_closed)
            .disable_name_validation(self.disable_name_validation)
            .min_reconnection_delay(millis(self.min_reconnection_delay_ms))
            .max_reconnection_delay(millis(self.max_reconnection_delay_ms))
            .reconnection_delay_grow_factor(self.reconnection_delay_grow_factor)
            .jitter(self.jitter)
            .min_uptime(millis(self.min_uptime_ms))
            .connection_timeout(millis(self.connection_timeout_ms))
            .close_timeout(millis(self.close_timeout_ms))
            .event_capacity(to_usize(u64::from(self.event_capacity), "event_capacity")?);
        for (name, value) in sorted(self.headers) {
            builder = builder.header(name, value);
        }
        if let Some(room) = self.room {
            builder = builder.room(room);
        }
        if let Some(base_path) = self.base_path {
            builder = builder.base_path(base_path);
        }
        if let Some(path) = self.path {
            builder = builder.path(path);
        }
        if let Some(protocol) = self.protocol {
            builder = builder.protocol(protocol.into());
        }
        if let Some(id) = self.id {
            builder = builder.id(id);
        }
        if let Some(timeout) = self.write_timeout_ms {
            builder = builder.write_timeout(millis(timeout));
        }
        if let Some(retries) = self.max_retries {
            builder = builder.max_retries(retries);
        }
        if let Some(max) = self.max_enqueued_messages {
            builder = builder.max_enqueued_messages(to_usize(max, "max_enqueued_messages")?);
        }
        if let Some(max) = self.max_enqueued_bytes {
            builder = builder.max_enqueued_bytes(to_usize(max, "max_enqueued_bytes")?);
        }
        if let Some(policy) = self.drop_policy {
            builder = builder.drop_policy(match policy {
                DropPolicy::DropNewest => partysocket::DropPolicy::DropNewest,
                DropPolicy::DropOldest => partysocket::DropPolicy::DropOldest,
            });
        }
        if let Some(heartbeat) = self.heartbeat {
            let mut core = partysocket::Heartbeat::new(
                millis(heartbeat.interval_ms),
                millis(heartbeat.timeout_ms),
            );
            match (heartbeat.ping, heartbeat.pong) {
                (Some(ping), pong) => {
                    core = core.application(
                        partysocket::Message::from(ping),
                        pong.map(partysocket::Message::from),
                    );
                }
                (None, Some(_)) => {
                    return Err(PartySocketError::InvalidOptions(
                        "heartbeat.pong is set without heartbeat.ping: set the ping message the server answers with it, or leave both unset for protocol pings".to_owned(),
                    ));
                }
                (None, None) => {}
            }
            builder = builder.heartbeat(core);
        }
        if let Some(max) = self.max_message_size {
            builder = builder.max_message_size(to_usize(max, "max_message_size")?);
        }
        if let Some(policy) = failure_policy {
            builder = builder.failure_policy(policy.into());
        }
        Ok(builder.build()?)
    }
}

impl From<OptionsUpdate> for partysocket::OptionsUpdate {
    fn from(update: OptionsUpdate) -> Self {
        let mut core = partysocket::OptionsUpdate::new();
        if let Some(host) = update.host {
            core = core.host(host);
        }
        if let Some(room) = update.room {
            core = if room.is_empty() {
                core.clear_room()
            } else {
                core.room(room)
            };
        }
        if let Some(party) = update.party {
            core = core.party(party);
        }
        if let Some(prefix) = update.prefix {
            core = core.prefix(prefix);
        }
        if let Some(base_path) = update.base_path {
            core = if base_path.is_empty() {
                core.clear_base_path()
            } else {
                core.base_path(base_path)
            };
        }
        if let Some(path) = update.path {
            core = if path.is_empty() {
                core.clear_path()
            } else {
                core.path(path)
            };
        }
        if update.infer_protocol {
            core = core.infer_protocol();
        } else if let Some(protocol) = update.protocol {
            core = core.protocol(protocol.into());
        }
        if let Some(protocols) = update.protocols {
            core = core.protocols(protocols);
        }
        if let Some(query) = update.query {
            core = core.query(sorted(query).into_iter().collect::<partysocket::Query>());
        }
        if let Some(id) = update.id {
            core = core.id(id);
        }
        if let Some(headers) = update.headers {
            core = core.headers(sorted(headers));
        }
        core
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(host: &str) -> PartySocketOptions {
        PartySocketOptions {
            host: host.to_owned(),
            url: None,
            room: Some("lobby".to_owned()),
            party: "main".to_owned(),
            prefix: "parties".to_owned(),
            base_path: None,
            path: None,
            protocol: None,
            protocols: Vec::new(),
            query: HashMap::new(),
            id: None,
            headers: HashMap::new(),
            start_closed: false,
            disable_name_validation: false,
            min_reconnection_delay_ms: 3000,
            max_reconnection_delay_ms: 10_000,
            reconnection_delay_grow_factor: 1.3,
            jitter: 0.0,
            min_uptime_ms: 5000,
            connection_timeout_ms: 4000,
            close_timeout_ms: 1000,
            write_timeout_ms: None,
            max_retries: None,
            max_enqueued_messages: None,
            max_enqueued_bytes: None,
            drop_policy: None,
            heartbeat: None,
            event_capacity: 1024,
            max_message_size: None,
            failure_policy: None,
            root_certificates_pem: Vec::new(),
            platform_roots: false,
        }
    }

    #[test]
    fn query_is_sent_in_key_order() {
        let mut input = options("localhost:1999");
        input.id = Some("me".to_owned());
        input.query = HashMap::from([
            ("token".to_owned(), "t".to_owned()),
            ("name".to_owned(), "ada".to_owned()),
        ]);
        let core = input.into_core(None).unwrap();
        assert_eq!(
            core.socket_url(None),
            "ws://localhost:1999/parties/main/lobby?_pk=me&name=ada&token=t"
        );
    }

    #[test]
    fn a_full_url_is_used_as_given() {
        let mut input = options("");
        input.room = None;
        input.url = Some("wss://echo.example.com/socket?v=2".to_owned());
        input.query = HashMap::from([("token".to_owned(), "t".to_owned())]);
        let core = input.into_core(None).unwrap();
        assert_eq!(
            core.socket_url(None),
            "wss://echo.example.com/socket?v=2&token=t"
        );
    }

    #[test]
    fn a_full_url_with_room_options_is_refused() {
        let mut input = options("");
        input.url = Some("ws://localhost:1999/socket".to_owned());
        // `room` is still "lobby".
        let error = input.into_core(None).unwrap_err();
        assert!(
            matches!(&error, PartySocketError::InvalidOptions(message) if message.contains("room")),
            "{error:?}"
        );
        let mut input = options("");
        input.room = None;
        input.url = Some("https://localhost:1999/socket".to_owned());
        let error = input.into_core(None).unwrap_err();
        assert!(
            matches!(&error, PartySocketError::InvalidOptions(message) if message.contains("wss://")),
            "{error:?}"
        );
    }

    #[test]
    fn invalid_options_say_what_to_change() {
        let mut input = options("localhost:1999");
        input.path = Some("/inbox".to_owned());
        let error = input.into_core(None).unwrap_err();
        assert!(
            matches!(&error, PartySocketError::InvalidOptions(message) if message.contains("must not start with '/'")),
            "{error:?}"
        );
    }

    #[test]
    fn failure_policy_stops_on_listed_close_codes() {
        let policy: partysocket::FailurePolicy = FailurePolicy {
            stop_on_close_codes: vec![4001],
            ..default_failure_policy()
        }
        .into();
        let stop = partysocket::CloseFrame::new(4001, "kicked");
        let other = partysocket::CloseFrame::new(4002, "");
        assert_eq!(policy.decide(&stop, None), partysocket::Decision::Stop);
        assert_eq!(
            policy.decide(&other, None),
            partysocket::Decision::Reconnect
        );
    }
}
