//! Errors: invalid options, invalid commands, and why a connection attempt failed.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A number in an error text, written without the standard library's float
/// formatting (which would add about 11 KB to every browser build that shows an
/// error): up to six decimals, trailing zeros dropped, as `{}` writes the values an
/// option takes (`1.5`, `-0.1`, `2`).
struct Shown(f64);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SCALE: u64 = 1_000_000;
        let value = self.0;
        if value.is_nan() {
            return f.write_str("NaN");
        }
        if value.is_sign_negative() && value != 0.0 {
            f.write_str("-")?;
        }
        let magnitude = value.abs();
        if magnitude.is_infinite() {
            return f.write_str("inf");
        }
        if magnitude >= 1e15 {
            return f.write_str("a number of 1e15 or more");
        }
        // Below 1e15 the scaled value fits a u64 exactly enough for six decimals.
        let scaled = (magnitude * SCALE as f64).round() as u64;
        let (whole, mut fraction) = (scaled / SCALE, scaled % SCALE);
        write!(f, "{whole}")?;
        if fraction == 0 {
            return Ok(());
        }
        let mut digits = 6;
        while fraction % 10 == 0 {
            fraction /= 10;
            digits -= 1;
        }
        write!(f, ".{fraction:0digits$}")
    }
}

/// The error underneath another one (an I/O, TLS, WebSocket or JSON error), shared so
/// that events stay cheap to clone. It displays as that error (after what was being
/// done, such as `cannot connect to localhost:1999: `), its
/// [`source`](StdError::source) is that error's source, and
/// [`downcast_ref`](Cause::downcast_ref) / [`io_kind`](Cause::io_kind) reach the
/// original value.
///
/// Two causes are equal when they display the same text.
#[derive(Clone)]
pub struct Cause(Arc<dyn StdError + Send + Sync + 'static>);

impl Cause {
    /// Wraps `error`.
    pub fn new(error: impl StdError + Send + Sync + 'static) -> Self {
        Cause(Arc::new(error))
    }

    /// The original error, when it is a `T`.
    pub fn downcast_ref<T: StdError + 'static>(&self) -> Option<&T> {
        let mut error: &(dyn StdError + Send + Sync + 'static) = &*self.0;
        while let Some(context) = error.downcast_ref::<Context>() {
            error = &*context.inner;
        }
        error.downcast_ref::<T>()
    }

    /// This cause behind `context` ("connecting to localhost:1999"): displays as
    /// `context: cause`, and its source is the original error.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn context(self, context: impl Into<String>) -> Self {
        Cause::new(Context {
            context: context.into(),
            inner: self.0,
        })
    }

    /// The kind of the [`std::io::Error`] underneath, when there is one.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        let mut current: Option<&(dyn StdError + 'static)> = Some(&*self.0);
        while let Some(error) = current {
            if let Some(io) = error.downcast_ref::<std::io::Error>() {
                return Some(io.kind());
            }
            current = error.source();
        }
        None
    }
}

/// A cause with what was being done when it happened.
#[derive(Debug)]
struct Context {
    context: String,
    inner: Arc<dyn StdError + Send + Sync + 'static>,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.inner)
    }
}

impl StdError for Context {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.inner)
    }
}

/// A cause that is only a message.
struct Message(String);

/// As the derived `Debug` writes it for ASCII text (`Message("text")`); other
/// characters are written as they are. The standard library's string `Debug` would
/// bring its Unicode tables into every browser build: a `dyn Error` always carries its
/// `Debug`.
impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What `debug_tuple("Message").field(..).finish()` writes, without the builders
        // (the quoted text has no line breaks for `{:#?}` to indent).
        let (open, close) = if f.alternate() {
            ("Message(\n    ", ",\n)")
        } else {
            ("Message(", ")")
        };
        f.write_str(open)?;
        fmt::Debug::fmt(&Quoted(&self.0), f)?;
        f.write_str(close)
    }
}

/// A string in quotes, with ASCII control characters, `"` and `\\` escaped as the
/// standard library's string `Debug` escapes them.
struct Quoted<'a>(&'a str);

impl fmt::Debug for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        let mut plain = 0;
        for (at, byte) in self.0.bytes().enumerate() {
            let escape = match byte {
                b'\t' => "\\t",
                b'\r' => "\\r",
                b'\n' => "\\n",
                b'\0' => "\\0",
                b'"' => "\\\"",
                b'\\' => "\\\\",
                _ if byte.is_ascii_control() => "",
                _ => continue,
            };
            // `at` is an ASCII byte, so both ends fall on character boundaries.
            f.write_str(self.0.get(plain..at).unwrap_or_default())?;
            if escape.is_empty() {
                write!(f, "\\u{{{byte:x}}}")?;
            } else {
                f.write_str(escape)?;
            }
            plain = at + 1;
        }
        f.write_str(self.0.get(plain..).unwrap_or_default())?;
        f.write_str("\"")
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Message {}

impl From<String> for Cause {
    fn from(message: String) -> Self {
        Cause::new(Message(message))
    }
}

impl From<&str> for Cause {
    fn from(message: &str) -> Self {
        Cause::from(message.to_owned())
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl StdError for Cause {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.to_string() == other.to_string()
    }
}

impl Eq for Cause {}

/// The options cannot describe a connection. Each message says what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// The host is empty.
    #[error(
        "host must not be empty: pass the server's host, e.g. \"localhost:1999\" or \"my-app.my-user.partykit.dev\""
    )]
    EmptyHost,
    /// The host contains characters a host cannot have.
    #[error("host {host:?} is not a valid host: {why}")]
    InvalidHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Neither a room nor a base path is set and the socket would connect at once.
    #[error(
        "neither room nor base_path is set, so there is nothing to connect to: set room(\"lobby\") or base_path(\"...\"), or use start_closed(true) to create the socket now and set them later with update()"
    )]
    MissingRoom,
    /// The path begins with `/`.
    #[error(
        "path must not start with '/': got {0:?}; write it relative to the room, e.g. \"inbox\""
    )]
    PathStartsWithSlash(String),
    /// A name (party, room, prefix) is empty where one is required.
    #[error("{0} must not be empty: {hint}", hint = empty_name_hint(.0))]
    EmptyName(&'static str),
    /// A party or room name is `.` or `..`, or a path (prefix, base path, path, the
    /// host's path) has such a segment: URL parsers remove them.
    #[error(
        "{what} {name:?} cannot be used: `.` and `..` are relative path steps that URL parsers remove"
    )]
    DotSegment {
        /// Which value: `"party"`, `"room"`, `"prefix"`, `"base_path"`, `"path"` or
        /// `"host path"`.
        what: &'static str,
        /// The name as given.
        name: String,
    },
    /// The minimum reconnection delay is above the maximum.
    #[error("min_reconnection_delay ({min:?}) must not exceed max_reconnection_delay ({max:?})")]
    MinDelayAboveMax {
        /// The minimum delay given.
        min: Duration,
        /// The maximum delay given.
        max: Duration,
    },
    /// The grow factor is below 1 or not a finite number.
    #[error("reconnection_delay_grow_factor must be a finite number >= 1.0: got {}", Shown(*.0))]
    InvalidGrowFactor(f64),
    /// The jitter fraction is outside `0.0..=1.0`.
    #[error("jitter must be between 0.0 (off) and 1.0: got {}", Shown(*.0))]
    InvalidJitter(f64),
    /// A timeout or interval that must be positive is zero.
    #[error("{0} must be greater than zero; to turn the feature off, leave the option unset")]
    ZeroDuration(&'static str),
    /// The event capacity is zero, so no event could ever be delivered.
    #[error("event_capacity must be at least 1: got 0")]
    ZeroEventCapacity,
    /// A handshake header name or value cannot be sent.
    #[error("header {name:?} cannot be sent: {}{why}", offending(*.character))]
    InvalidHeader {
        /// The header name as given.
        name: String,
        /// The first character that cannot be sent, when one is to blame.
        character: Option<char>,
        /// What is wrong with it, and what to do.
        why: &'static str,
    },
    /// A static query sets `_pk`, which carries the connection id.
    #[error("query must not set _pk: it carries the connection id; set the id with id() instead")]
    ReservedQueryKey,
    /// A full socket URL ([`PartySocketOptions::for_url`](crate::PartySocketOptions::for_url))
    /// cannot be used.
    #[error("URL {url:?} cannot be used for a socket: {why}")]
    InvalidUrl {
        /// The URL as given, query values redacted.
        url: String,
        /// What is wrong with it, and what to do.
        why: &'static str,
    },
    /// An option that builds a PartyKit room URL was set on options for a full URL.
    #[error(
        "{0} cannot be set on options made with PartySocketOptions::for_url: the URL is used as given; write it into the URL, or use PartySocketOptions::builder(host) for a PartyKit room"
    )]
    RoomOptionWithUrl(&'static str),
    /// A subprotocol name is not a valid token.
    #[error("subprotocol {0:?} is not a valid token (letters, digits and !#$%&'*+-.^_`|~ only)")]
    InvalidSubprotocol(String),
    /// Handshake headers were given to a browser socket: browsers have no way to send
    /// them, so they would be left out silently (and a server that needs them would
    /// refuse every attempt, which a browser reports only as a failed attempt).
    #[error(
        "header {0:?} cannot be sent from a browser (its WebSocket API sends no custom headers): remove the header and pass the credential in the query instead (a QueryProvider given to query() refreshes a token before every attempt)"
    )]
    HeadersInBrowser(String),
}

/// A handshake header that cannot be sent: the rule the options' static headers and a
/// provider's per-attempt headers share.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The name or the value cannot be sent.
    #[error("header {name:?} cannot be sent: {}{why}", offending(*.character))]
    Invalid {
        /// The header name as given.
        name: String,
        /// The first character that cannot be sent, when one is to blame.
        character: Option<char>,
        /// What is wrong with it, and what to do.
        why: &'static str,
    },
    /// A browser socket was given a header: browsers have no way to send one.
    #[error(
        "header {0:?} cannot be sent from a browser (its WebSocket API sends no custom headers): give the credential as a query value instead"
    )]
    InBrowser(String),
}

impl HeaderError {
    /// The header's name as given.
    pub fn name(&self) -> &str {
        match self {
            HeaderError::Invalid { name, .. } | HeaderError::InBrowser(name) => name,
        }
    }
}

impl From<HeaderError> for OptionsError {
    fn from(error: HeaderError) -> Self {
        match error {
            HeaderError::Invalid {
                name,
                character,
                why,
            } => OptionsError::InvalidHeader {
                name,
                character,
                why,
            },
            HeaderError::InBrowser(name) => OptionsError::HeadersInBrowser(name),
        }
    }
}

/// What to write instead of an empty name.
fn empty_name_hint(what: &str) -> &'static str {
    match what {
        "room" => {
            "pass the room's name, e.g. room(\"lobby\"), or leave it unset and use start_closed(true)"
        }
        "party" => {
            "pass the party's name as the server's partykit.json names it, or leave it unset for \"main\""
        }
        "prefix" => {
            "pass a path such as \"parties\" (the default), or use base_path() for a path of your own"
        }
        _ => "pass a value or leave the option unset",
    }
}

/// `"'é' (U+00E9) "`, naming a character that cannot be sent.
fn offending(character: Option<char>) -> String {
    match character {
        Some(c) if c.is_control() => format!("it contains U+{:04X}; ", u32::from(c)),
        Some(c) => format!("it contains {c:?} (U+{:04X}); ", u32::from(c)),
        None => String::new(),
    }
}

/// A command the socket cannot carry out.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The options are invalid.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// The close code may not be sent by an application.
    #[error("close code {0} cannot be sent: use 1000 or a code from 3000 to 4999")]
    InvalidCloseCode(u16),
    /// The close reason is longer than a close frame can carry.
    #[error("close reason is {0} bytes; a close frame carries at most 123 UTF-8 bytes")]
    CloseReasonTooLong(usize),
    /// The socket's driver has stopped, so the command cannot reach it.
    #[error("the socket's driver has stopped; create a new socket")]
    DriverStopped,
    /// The message was neither sent nor queued (the queue is at its cap): reported by
    /// interfaces that have no [`SendOutcome`](crate::SendOutcome), such as `Sink`.
    #[error(
        "message dropped: {0:?}; raise max_enqueued_messages/max_enqueued_bytes or use DropPolicy::DropOldest"
    )]
    MessageDropped(crate::DropReason),
    /// The native driver was started outside a tokio runtime.
    #[error(
        "no tokio runtime: create the socket from within a tokio runtime (e.g. inside #[tokio::main])"
    )]
    NoRuntime,
    /// The socket stopped (closed, gave up or ran out of retries) while the caller was
    /// waiting for it to open.
    #[error("the socket stopped: {0:?}")]
    Stopped(Box<crate::StopReason>),
    /// A value could not be serialized as JSON.
    #[error("JSON serialization failed: {0}")]
    Json(#[source] Cause),
    /// The TLS configuration could not be built.
    #[error("TLS configuration failed: {0}")]
    Tls(#[source] Cause),
    /// A trusted certificate could not be used.
    #[error("invalid certificate: {0}; pass a PEM file's contents or DER bytes")]
    InvalidCertificate(#[source] Cause),
}

/// Why a connection attempt or an open connection failed.
///
/// Drivers report these to the machine with
/// [`handle_failed`](crate::Machine::handle_failed); the machine reports them to the
/// application as [`Event::Error`](crate::Event::Error) and feeds them to the
/// [`FailurePolicy`](crate::FailurePolicy).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The connection did not open within `connection_timeout` (this includes resolving
    /// a per-attempt query).
    #[error("connection timed out after {0:?}")]
    Timeout(Duration),
    /// The server answered the handshake with an HTTP status instead of upgrading.
    #[error("handshake rejected with HTTP {status}{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    HandshakeRejected {
        /// The HTTP status code.
        status: u16,
        /// The `Retry-After` header, when present and valid.
        retry_after: Option<Duration>,
    },
    /// The per-attempt query provider failed.
    #[error("query provider failed: {0}")]
    QueryProvider(String),
    /// The per-attempt provider gave a handshake header that cannot be sent (checked
    /// like the options' headers; in a browser every header is refused).
    #[error("query provider gave a header that cannot be used: {0}")]
    ProviderHeader(HeaderError),
    /// No pong or other traffic arrived within the heartbeat timeout: the connection is
    /// presumed half-open.
    #[error("no traffic for {0:?} after a ping: connection presumed dead")]
    HeartbeatTimeout(Duration),
    /// The driver could not write anything for the write timeout: the peer stopped
    /// reading or the network is gone.
    #[error("no write progress for {0:?}: connection presumed dead")]
    WriteTimeout(Duration),
    /// DNS or TCP failed, or the connection broke; [`Cause::io_kind`] tells how.
    #[error("network error: {0}")]
    Network(#[source] Cause),
    /// The TLS handshake failed (an untrusted certificate, a name mismatch).
    #[error("TLS error: {0}")]
    Tls(#[source] Cause),
    /// The peer broke the WebSocket protocol (invalid UTF-8, oversize frame, garbage).
    #[error("protocol error: {0}")]
    Protocol(#[source] Cause),
    /// The URL could not be used.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
}

#[cfg(test)]
mod message_tests {
    use super::Message;

    /// The derived `Debug` that `Message` imitates.
    mod derived {
        #[derive(Debug)]
        pub(super) struct Message(#[allow(dead_code)] pub(super) String);
    }

    #[test]
    fn a_message_debugs_as_the_derived_debug_for_ascii_and_printable_text() {
        for text in [
            "",
            "the connection failed",
            "tab\there, \"quoted\", back\\slash, it's",
            "\r\n\0\u{1}\u{1b}\u{7f}",
            "caf\u{e9} \u{4e2d}\u{6587} \u{1f600}",
            "\"",
            "\\\\",
        ] {
            let message = Message(text.to_owned());
            let derived = derived::Message(text.to_owned());
            assert_eq!(format!("{message:?}"), format!("{derived:?}"), "{text:?}");
            assert_eq!(format!("{message:#?}"), format!("{derived:#?}"), "{text:?}");
            // Inside another value's `Debug`, as in an event's.
            let (message, derived) = (Some(vec![message]), Some(vec![derived]));
            assert_eq!(format!("{message:?}"), format!("{derived:?}"), "{text:?}");
            assert_eq!(format!("{message:#?}"), format!("{derived:#?}"), "{text:?}");
        }
    }
}

#[cfg(test)]
mod shown_tests {
    use super::Shown;

    #[test]
    fn numbers_in_error_texts_read_as_the_standard_formatting_writes_them() {
        for value in [
            0.0,
            1.0,
            2.0,
            1.5,
            -0.1,
            0.25,
            1.3,
            0.999_999,
            1e-6,
            12_345.678_9,
            -3.0,
            0.1 + 0.2,
        ] {
            let ours = Shown(value).to_string();
            let std = format!("{value}");
            // The standard formatting writes the shortest exact digits; ours rounds
            // to six decimals, which is the same for every value an option takes.
            let rounded: f64 = std.parse().unwrap();
            assert_eq!(
                ours.parse::<f64>().unwrap(),
                (rounded * 1e6).round() / 1e6,
                "{value}"
            );
            if std
                .split('.')
                .nth(1)
                .is_none_or(|decimals| decimals.len() <= 6)
            {
                assert_eq!(ours, std, "{value}");
            }
        }
        assert_eq!(Shown(f64::NAN).to_string(), "NaN");
        assert_eq!(Shown(f64::INFINITY).to_string(), "inf");
        assert_eq!(Shown(f64::NEG_INFINITY).to_string(), "-inf");
        assert_eq!(Shown(-0.0).to_string(), "0");
        assert_eq!(Shown(0.1 + 0.2).to_string(), "0.3");
        assert_eq!(Shown(1e20).to_string(), "a number of 1e15 or more");
    }
}
