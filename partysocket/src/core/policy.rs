//! Policies: when to give up, how to keep a connection honest, what to drop when full.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::error::TransportError;
use super::message::{CloseFrame, Message};

#[cfg(not(target_arch = "wasm32"))]
type CloseFilterFn = dyn Fn(&CloseFrame) -> bool + Send + Sync;
#[cfg(target_arch = "wasm32")]
type CloseFilterFn = dyn Fn(&CloseFrame) -> bool;

/// What the socket does after a connection ends without the application asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Back off and connect again.
    Reconnect,
    /// Connect again, but not before this long (a server's `Retry-After`).
    ReconnectAfter(Duration),
    /// Stop: the socket closes for good until `reconnect()`.
    Stop,
}

/// Decides, from a close frame and a handshake status, whether to reconnect.
///
/// Upstream `partysocket` retries everything except what its `shouldReconnectOnClose`
/// predicate refuses, including handshakes the server rejected for bad credentials. The
/// default policy here:
///
/// - runs the [`should_reconnect_on_close`](Self::should_reconnect_on_close) predicate
///   (when set) on every close, including the `1006` reported for failed attempts;
/// - stops on a handshake answered with a 4xx status other than 408 and 429 (bad
///   credentials, a party or room the server does not have, a malformed request: no
///   retry will fix them), with the status in the stop reason;
/// - stops on a local error that would repeat on every attempt (an invalid URL or
///   header: [`TransportError::InvalidUrl`]);
/// - on 429 and 503 waits at least the server's `Retry-After` (capped by
///   [`max_retry_after`](Self::max_retry_after), 5 minutes by default);
/// - reconnects on everything else.
#[derive(Clone)]
pub struct FailurePolicy {
    // Borrowed defaults: a socket with the default policy allocates nothing for them.
    stop_statuses: Cow<'static, [u16]>,
    retry_after_statuses: Cow<'static, [u16]>,
    max_retry_after: Duration,
    close_filter: Option<Arc<CloseFilterFn>>,
}

/// The handshake statuses the default policy stops on: every 4xx but 408 and 429.
static DEFAULT_STOP_STATUSES: [u16; 98] = {
    let mut statuses = [0; 98];
    let (mut status, mut at) = (400, 0);
    while status < 500 {
        if status != 408 && status != 429 {
            statuses[at] = status;
            at += 1;
        }
        status += 1;
    }
    statuses
};

impl Default for FailurePolicy {
    fn default() -> Self {
        FailurePolicy {
            stop_statuses: Cow::Borrowed(&DEFAULT_STOP_STATUSES),
            retry_after_statuses: Cow::Borrowed(&[429, 503]),
            max_retry_after: Duration::from_secs(300),
            close_filter: None,
        }
    }
}

impl fmt::Debug for FailurePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FailurePolicy")
            .field("stop_statuses", &self.stop_statuses)
            .field("retry_after_statuses", &self.retry_after_statuses)
            .field("max_retry_after", &self.max_retry_after)
            .field("should_reconnect_on_close", &self.close_filter.is_some())
            .finish()
    }
}

impl FailurePolicy {
    /// Upstream's behaviour: retry every failure, whatever the handshake status. A
    /// local error that would repeat on every attempt ([`TransportError::InvalidUrl`])
    /// still stops.
    pub fn always_reconnect() -> Self {
        FailurePolicy {
            stop_statuses: Cow::Borrowed(&[]),
            retry_after_statuses: Cow::Borrowed(&[]),
            ..FailurePolicy::default()
        }
    }

    /// Handshake statuses after which the socket stops (default every 4xx but 408
    /// Request Timeout and 429 Too Many Requests).
    pub fn stop_on_status(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.stop_statuses = Cow::Owned(statuses.into_iter().collect());
        self
    }

    /// Handshake statuses whose `Retry-After` header is honoured (default 429 and 503).
    pub fn honour_retry_after_on(mut self, statuses: impl IntoIterator<Item = u16>) -> Self {
        self.retry_after_statuses = Cow::Owned(statuses.into_iter().collect());
        self
    }

    /// The longest `Retry-After` the socket will wait (default 5 minutes).
    pub fn max_retry_after(mut self, limit: Duration) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// Upstream's `shouldReconnectOnClose`: called with every close (a server's close
    /// frame, or `1006` for a connection that failed or dropped); `false` stops the
    /// socket until `reconnect()`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn should_reconnect_on_close(
        mut self,
        predicate: impl Fn(&CloseFrame) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.close_filter = Some(Arc::new(predicate));
        self
    }

    /// Upstream's `shouldReconnectOnClose`: called with every close (a server's close
    /// frame, or `1006` for a connection that failed or dropped); `false` stops the
    /// socket until `reconnect()`.
    #[cfg(target_arch = "wasm32")]
    pub fn should_reconnect_on_close(
        mut self,
        predicate: impl Fn(&CloseFrame) -> bool + 'static,
    ) -> Self {
        self.close_filter = Some(Arc::new(predicate));
        self
    }

    /// Whether the policy holds application code (a
    /// [`should_reconnect_on_close`](Self::should_reconnect_on_close) predicate): then a
    /// driver calls [`decide`](Self::decide) outside its locks.
    pub fn has_predicate(&self) -> bool {
        self.close_filter.is_some()
    }

    /// The decision for a connection that ended with `close`, after `failure` when it
    /// failed rather than closed. Runs the application's predicate, if any.
    pub fn decide(&self, close: &CloseFrame, failure: Option<&TransportError>) -> Decision {
        if let Some(filter) = &self.close_filter {
            if !filter(close) {
                return Decision::Stop;
            }
        }
        if matches!(failure, Some(TransportError::InvalidUrl(_))) {
            return Decision::Stop;
        }
        let Some(TransportError::HandshakeRejected {
            status,
            retry_after,
        }) = failure
        else {
            return Decision::Reconnect;
        };
        if self.stop_statuses.contains(status) {
            return Decision::Stop;
        }
        match retry_after {
            Some(wait) if self.retry_after_statuses.contains(status) => {
                Decision::ReconnectAfter((*wait).min(self.max_retry_after))
            }
            _ => Decision::Reconnect,
        }
    }
}

/// Parses an HTTP `Retry-After` value given in seconds (`"120"`). The HTTP-date form
/// and anything unparsable yield `None`, and the normal backoff applies.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Liveness checks for an open connection, so a half-open connection (the peer gone
/// without a close frame) is noticed and replaced instead of swallowing sends.
///
/// After `interval` without any incoming traffic the socket pings; if nothing at all
/// arrives within `timeout` after that, the connection is presumed dead, reported as
/// [`TransportError::HeartbeatTimeout`], and the socket reconnects.
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) ping: Option<Message>,
    pub(crate) pong: Option<Message>,
}

impl Heartbeat {
    /// Protocol-level ping frames (native drivers). In the browser, which cannot send
    /// ping frames, use [`application`](Self::application).
    pub fn new(interval: Duration, timeout: Duration) -> Self {
        Heartbeat {
            interval,
            timeout,
            ping: None,
            pong: None,
        }
    }

    /// Application-level pings: send `ping` as a message. An incoming message equal to
    /// `pong` counts as the answer and is not delivered to the application (any other
    /// incoming message also proves liveness).
    ///
    /// The server must answer: a PartyKit party does it in `onMessage` (answer `ping`
    /// with `pong` to the sender and do not broadcast it), or the platform does it with
    /// Cloudflare's `setWebSocketAutoResponse("ping", "pong")`. A server that does not
    /// answer sees the ping as an ordinary message (and may pass it to other clients);
    /// in a quiet room the heartbeat then times out and the socket reconnects every
    /// interval plus timeout. The README's heartbeat section shows the server side.
    pub fn application(mut self, ping: impl Into<Message>, pong: Option<Message>) -> Self {
        self.ping = Some(ping.into());
        self.pong = pong;
        self
    }

    /// How long the connection may be quiet before a ping.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How long to wait for any traffic after a ping.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The application-level ping message, when pings are messages.
    pub fn ping_message(&self) -> Option<&Message> {
        self.ping.as_ref()
    }
}

/// What the queue does when a message arrives while it is at a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DropPolicy {
    /// Keep what is queued and drop the new message (upstream's behaviour).
    #[default]
    DropNewest,
    /// Evict the oldest queued messages until the new one fits.
    DropOldest,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_stop_statuses_are_every_4xx_but_408_and_429() {
        let expected: Vec<u16> = (400..500).filter(|s| *s != 408 && *s != 429).collect();
        assert_eq!(DEFAULT_STOP_STATUSES.as_slice(), expected.as_slice());
        assert!(matches!(
            FailurePolicy::default().stop_statuses,
            Cow::Borrowed(_)
        ));
    }

    fn rejected(status: u16, retry_after: Option<u64>) -> TransportError {
        TransportError::HandshakeRejected {
            status,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn retry_after_seconds_parse() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn default_stops_on_auth_failures() {
        let policy = FailurePolicy::default();
        let close = CloseFrame::abnormal("");
        assert_eq!(
            policy.decide(&close, Some(&rejected(401, None))),
            Decision::Stop
        );
        assert_eq!(
            policy.decide(&close, Some(&rejected(403, None))),
            Decision::Stop
        );
        assert_eq!(
            policy.decide(&close, Some(&rejected(500, None))),
            Decision::Reconnect
        );
        assert_eq!(policy.decide(&close, None), Decision::Reconnect);
    }

    #[test]
    fn default_stops_on_every_4xx_but_timeout_and_rate_limit() {
        let policy = FailurePolicy::default();
        let close = CloseFrame::abnormal("");
        for status in [400, 404, 405, 410, 426, 451] {
            assert_eq!(
                policy.decide(&close, Some(&rejected(status, None))),
                Decision::Stop,
                "{status}"
            );
        }
        for status in [408, 429, 500, 502, 503] {
            assert_eq!(
                policy.decide(&close, Some(&rejected(status, None))),
                Decision::Reconnect,
                "{status}"
            );
        }
    }

    #[test]
    fn a_local_error_that_repeats_stops_even_when_always_reconnecting() {
        let close = CloseFrame::abnormal("");
        let invalid = TransportError::InvalidUrl("header x-user is not text".into());
        for policy in [FailurePolicy::default(), FailurePolicy::always_reconnect()] {
            assert_eq!(policy.decide(&close, Some(&invalid)), Decision::Stop);
            assert!(!policy.has_predicate());
        }
        assert!(
            FailurePolicy::default()
                .should_reconnect_on_close(|_| true)
                .has_predicate()
        );
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let policy = FailurePolicy::default().max_retry_after(Duration::from_secs(10));
        let close = CloseFrame::abnormal("");
        assert_eq!(
            policy.decide(&close, Some(&rejected(429, Some(3)))),
            Decision::ReconnectAfter(Duration::from_secs(3))
        );
        assert_eq!(
            policy.decide(&close, Some(&rejected(503, Some(60)))),
            Decision::ReconnectAfter(Duration::from_secs(10))
        );
        assert_eq!(
            policy.decide(&close, Some(&rejected(429, None))),
            Decision::Reconnect
        );
    }

    #[test]
    fn always_reconnect_matches_upstream() {
        let policy = FailurePolicy::always_reconnect();
        let close = CloseFrame::abnormal("");
        assert_eq!(
            policy.decide(&close, Some(&rejected(401, None))),
            Decision::Reconnect
        );
        assert_eq!(
            policy.decide(&close, Some(&rejected(429, Some(5)))),
            Decision::Reconnect
        );
    }

    #[test]
    fn predicate_sees_every_close() {
        let policy =
            FailurePolicy::always_reconnect().should_reconnect_on_close(|close| close.code < 4000);
        assert_eq!(
            policy.decide(&CloseFrame::new(4001, "bye"), None),
            Decision::Stop
        );
        assert_eq!(
            policy.decide(&CloseFrame::new(1001, ""), None),
            Decision::Reconnect
        );
    }
}
