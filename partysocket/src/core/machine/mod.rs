//! The reconnecting socket's state machine: every decision, no I/O, no clock.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use web_time::Instant;

use super::error::{Error, HeaderError, OptionsError, TransportError};
use super::event::{ConnectionState, Event, ReadyState, StopReason};
use super::message::{CloseFrame, Message, SendOutcome, Violation};
use super::options::{OptionsUpdate, PartySocketOptions};
use super::query::{Credentials, Query};
use super::queue::{Outbox, Pushed};
use super::rng::Rng;
use super::timers::{Timer, Timers};
use super::url::redact_url;

mod contract;
mod lifecycle;

use contract::Question;

pub use contract::{
    ConnectRequest, Output, PolicyAnswer, PolicyQuestion, Transmit, TransportId, UserCall,
};

/// How long a connection whose peer broke the protocol stays open for writing, so that
/// what the application sends in answer to the messages before the fault goes out on it.
pub const FAULT_GRACE: Duration = Duration::from_secs(1);

/// How far ahead a deadline may lie: far enough to mean "never", near enough that no
/// `Instant` arithmetic overflows on any platform.
const FAR_FUTURE: Duration = Duration::from_secs(60 * 60 * 24 * 365 * 30);

/// `now + wait`, saturated, so that no option value or server header (a huge
/// `Retry-After`, `Duration::MAX` as a timeout) can overflow an `Instant`.
fn later(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait.min(FAR_FUTURE))
        .or_else(|| now.checked_add(Duration::from_secs(60 * 60 * 24)))
        .unwrap_or(now)
}

#[derive(Debug, Clone)]
enum Phase {
    Stopped(StopReason),
    BackingOff {
        retry_at: Instant,
    },
    Resolving {
        transport: TransportId,
        deadline: Instant,
    },
    Connecting {
        transport: TransportId,
        deadline: Instant,
    },
    Open {
        transport: TransportId,
        timers: Timers,
        /// A heartbeat ping waits to be pulled.
        ping_due: bool,
        /// The peer broke the protocol: the connection ends at [`Timer::End`] or when
        /// the driver reports the application caught up.
        /// Boxed: a fault is rare, and an open socket keeps its phase for its lifetime.
        fault: Option<Box<(Violation, TransportError)>>,
    },
    Closing {
        transport: TransportId,
        deadline: Instant,
        frame: CloseFrame,
        /// The close frame was pulled: only the server's answer is awaited.
        frame_sent: bool,
    },
    /// A connection ended and the failure policy's predicate is being asked.
    Deciding {
        transport: TransportId,
        close: CloseFrame,
        failure: Option<TransportError>,
    },
}

/// The sans-IO reconnecting socket.
///
/// See the [crate documentation](crate#the-sans-io-core) for the calling contract. Its
/// `Debug` leaves out query values and header values.
pub struct Machine {
    options: PartySocketOptions,
    rng: Rng,
    phase: Phase,
    /// Upstream's `_retryCount`: `-1` before the first attempt and after `reconnect()`,
    /// incremented per attempt, `0` once a connection has stayed up for `min_uptime`.
    retry: i64,
    should_reconnect: bool,
    next_transport: u64,
    /// Every message not yet handed to a connection, in order.
    outbox: Outbox,
    outputs: VecDeque<Output>,
    url: Option<String>,
    protocol: Option<String>,
    warned_send_after_close: bool,
    /// Whether the driver can send handshake headers (a browser cannot).
    sends_headers: bool,
}

impl fmt::Debug for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Machine")
            .field("state", &self.connection_state())
            .field("retry_count", &self.retry_count())
            .field("room_url", &self.room_url())
            .field("url", &self.url.as_deref().map(redact_url))
            .field("queued_messages", &self.outbox.len())
            .field("buffered_amount", &self.outbox.bytes())
            .field("outputs", &self.outputs.len())
            .finish_non_exhaustive()
    }
}

impl Machine {
    /// A machine for `options`, seeded from the system's entropy. Unless the options
    /// start closed, the first attempt is already in the output queue.
    pub fn new(options: PartySocketOptions, now: Instant) -> Self {
        Machine::with_rng(options, now, Rng::from_entropy())
    }

    /// Like [`new`](Self::new) with a fixed seed for the jitter, so runs repeat exactly.
    pub fn with_seed(options: PartySocketOptions, now: Instant, seed: u64) -> Self {
        Machine::with_rng(options, now, Rng::from_seed(seed))
    }

    fn with_rng(options: PartySocketOptions, now: Instant, rng: Rng) -> Self {
        let outbox = Outbox::new(
            options.max_enqueued_messages,
            options.max_enqueued_bytes,
            options.drop_policy,
        );
        let mut machine = Machine {
            rng,
            phase: Phase::Stopped(StopReason::NotStarted),
            retry: -1,
            should_reconnect: false,
            next_transport: 0,
            outbox,
            outputs: VecDeque::new(),
            url: None,
            protocol: None,
            warned_send_after_close: false,
            sends_headers: true,
            options,
        };
        if !machine.options.start_closed && machine.options.has_destination() {
            machine.should_reconnect = true;
            machine.next_attempt(now, None);
        }
        machine
    }

    // ----- driver contract -------------------------------------------------------------

    /// Whether [`poll_output`](Self::poll_output) has an output waiting.
    pub fn has_output(&self) -> bool {
        !self.outputs.is_empty()
    }

    /// The next piece of work for the driver, in order, or `None` when there is none.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Gives back the capacity a burst left in the machine's queues (its outputs and
    /// its unsent messages): all of it that is not in use.
    ///
    /// The queues keep their capacity while the socket is busy, so that a steady flow
    /// does not allocate anew for every burst; a driver calls this once the socket has
    /// been quiet for a while (the native driver: a tenth of a second, or a second
    /// after they grew under a load that never pauses), so that a burst does not pin
    /// its peak either.
    pub fn trim(&mut self) {
        self.outputs.shrink_to_fit();
        self.outbox.trim();
    }

    /// How many allocated slots of the machine's queues are not in use: what
    /// [`trim`](Self::trim) would give back.
    pub fn spare_capacity(&self) -> usize {
        (self.outputs.capacity() - self.outputs.len()) + self.outbox.spare_capacity()
    }

    /// The next frame for `transport`, or `None` when it has nothing to send (or is
    /// not the connection in use).
    ///
    /// Call it only when the connection can take a frame now, and hand the frame over
    /// at once: a message stays the machine's until it is pulled, so a connection that
    /// fails, is replaced or closes never holds a message the machine does not know of.
    /// What was pulled is in flight, and is lost if the connection dies before the
    /// peer has it. A heartbeat ping comes before queued messages; during a graceful
    /// close the messages sent before `close()` come first, then the close frame.
    pub fn poll_transmit(&mut self, transport: TransportId) -> Option<Transmit> {
        match &mut self.phase {
            Phase::Open {
                transport: current,
                ping_due,
                ..
            } if *current == transport => {
                if std::mem::take(ping_due) {
                    return Some(match self.options.heartbeat.as_ref()?.ping.clone() {
                        Some(message) => Transmit::Message(message),
                        None => Transmit::Ping,
                    });
                }
                self.outbox.pop().map(Transmit::Message)
            }
            Phase::Closing {
                transport: current,
                frame,
                frame_sent,
                ..
            } if *current == transport => {
                if let Some(message) = self.outbox.pop() {
                    return Some(Transmit::Message(message));
                }
                if std::mem::replace(frame_sent, true) {
                    return None;
                }
                Some(Transmit::Close(frame.clone()))
            }
            _ => None,
        }
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) has a frame for `transport`.
    pub fn wants_transmit(&self, transport: TransportId) -> bool {
        match &self.phase {
            Phase::Open {
                transport: current,
                ping_due,
                ..
            } => *current == transport && (*ping_due || self.outbox.has_poppable()),
            Phase::Closing {
                transport: current,
                frame_sent,
                ..
            } => *current == transport && (!*frame_sent || self.outbox.has_poppable()),
            _ => false,
        }
    }

    /// When the driver must call [`handle_timeout`](Self::handle_timeout) next, or
    /// `None` when no timer is running. Ask again after every call into the machine
    /// (a command, a fact, a timeout), and re-arm the driver's timer from the answer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Stopped(_) | Phase::Deciding { .. } => None,
            Phase::BackingOff { retry_at } => Some(*retry_at),
            Phase::Resolving { deadline, .. }
            | Phase::Connecting { deadline, .. }
            | Phase::Closing { deadline, .. } => Some(*deadline),
            Phase::Open { timers, .. } => timers.next(),
        }
    }

    /// Fires every timer due at `now`: backoff ends, connection and close timeouts,
    /// the minimum-uptime reset, heartbeat pings and their deadlines, the write
    /// timeout. Report what the connection has already read first: a pong waiting in
    /// the socket's buffer is not a missed pong.
    pub fn handle_timeout(&mut self, now: Instant) {
        match &self.phase {
            Phase::Stopped(_) | Phase::Deciding { .. } => {}
            Phase::BackingOff { retry_at } => {
                if now >= *retry_at {
                    self.start_attempt(now);
                }
            }
            Phase::Resolving { deadline, .. } | Phase::Connecting { deadline, .. } => {
                if now >= *deadline {
                    let timeout = TransportError::Timeout(self.options.connection_timeout);
                    self.fail_current(now, timeout, true);
                }
            }
            Phase::Open { .. } => self.open_timers_due(now),
            Phase::Closing {
                transport,
                deadline,
                frame,
                ..
            } => {
                if now >= *deadline {
                    let (transport, frame) = (*transport, frame.clone());
                    self.outputs.push_back(Output::Close {
                        transport,
                        frame: None,
                    });
                    self.finish_close(frame, false);
                }
            }
        }
    }

    fn open_timers_due(&mut self, now: Instant) {
        let heartbeat = self.options.heartbeat.clone();
        loop {
            let Phase::Open {
                timers,
                ping_due,
                fault,
                ..
            } = &mut self.phase
            else {
                return;
            };
            let Some(timer) = timers.take_expired(now) else {
                return;
            };
            match timer {
                Timer::End => {
                    let fault = fault.take().map_or_else(
                        || {
                            (
                                Violation::Protocol,
                                TransportError::Protocol("protocol error".into()),
                            )
                        },
                        |fault| *fault,
                    );
                    self.fail_faulted(now, fault);
                }
                Timer::Write => {
                    let timeout = TransportError::WriteTimeout(self.write_timeout());
                    self.fail_current(now, timeout, true);
                }
                Timer::Dead => {
                    let timeout = heartbeat.as_ref().map_or(Duration::ZERO, |h| h.timeout);
                    self.fail_current(now, TransportError::HeartbeatTimeout(timeout), true);
                }
                Timer::Stable => {
                    tracing::debug!("connection stable: retry count reset");
                    self.retry = 0;
                }
                Timer::Ping => {
                    if let Some(heartbeat) = &heartbeat {
                        *ping_due = true;
                        timers.set(Timer::Dead, later(now, heartbeat.timeout));
                    }
                }
            }
        }
    }

    /// Tells the machine that its driver cannot send handshake headers (a browser's
    /// WebSocket API sends none): from then on a provider's answer that has headers
    /// fails its attempt with [`HeaderError::InBrowser`] instead of being sent without
    /// them. Call it right after creating the machine.
    pub fn refuse_headers(&mut self) {
        self.sends_headers = false;
    }

    /// Reports the per-attempt query for `transport`; like
    /// [`handle_credentials_resolved`](Self::handle_credentials_resolved) without headers.
    pub fn handle_query_resolved(
        &mut self,
        transport: TransportId,
        result: Result<Query, String>,
        now: Instant,
    ) {
        self.handle_credentials_resolved(transport, result.map(Credentials::from), now);
    }

    /// Reports the per-attempt credentials for `transport` (the answer of
    /// [`QueryProvider::resolve_credentials`](crate::QueryProvider::resolve_credentials)).
    ///
    /// Their query is merged over the static query and their headers over the static
    /// headers (a provider's header replaces a static one of the same name, ignoring
    /// ASCII case) for this attempt alone. A header that cannot be sent, or any header
    /// after [`refuse_headers`](Self::refuse_headers), fails the attempt with
    /// [`TransportError::ProviderHeader`]; an `Err` fails it with
    /// [`TransportError::QueryProvider`]. A report for an attempt that is no longer
    /// resolving is ignored.
    pub fn handle_credentials_resolved(
        &mut self,
        transport: TransportId,
        result: Result<Credentials, String>,
        now: Instant,
    ) {
        let Phase::Resolving {
            transport: current,
            deadline,
        } = self.phase
        else {
            return;
        };
        if current != transport {
            return;
        }
        let credentials = match result {
            Ok(credentials) => credentials,
            Err(message) => {
                return self.fail_current(now, TransportError::QueryProvider(message), false);
            }
        };
        if let Err(error) = self.check_provider_headers(&credentials) {
            return self.fail_current(now, TransportError::ProviderHeader(error), false);
        }
        let (query, extra) = credentials.into_parts();
        let url = self.options.socket_url(Some(&query));
        let mut headers = self.options.headers.clone();
        if !extra.is_empty() {
            headers.retain(|(name, _)| !extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)));
            headers.extend(extra);
        }
        self.begin_connect(transport, deadline, url, headers);
    }

    /// A provider's headers pass the rule the options' headers pass, and none reach a
    /// driver that cannot send them.
    fn check_provider_headers(&self, credentials: &Credentials) -> Result<(), HeaderError> {
        if let (false, Some((name, _))) = (self.sends_headers, credentials.headers().first()) {
            return Err(HeaderError::InBrowser(name.clone()));
        }
        // `Credentials::with_header` checked each header as it was added.
        match credentials.invalid_header() {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    /// Reports that `transport` opened, with the subprotocol the server chose. Queued
    /// messages are ready to be pulled (ahead of anything sent from now on) before the
    /// [`Event::Open`] is delivered.
    pub fn handle_open(&mut self, transport: TransportId, protocol: Option<String>, now: Instant) {
        if !matches!(self.phase, Phase::Connecting { transport: t, .. } if t == transport) {
            return;
        }
        let mut timers = Timers::default();
        timers.set(Timer::Stable, later(now, self.options.min_uptime));
        if let Some(heartbeat) = &self.options.heartbeat {
            timers.set(Timer::Ping, later(now, heartbeat.interval));
        }
        self.phase = Phase::Open {
            transport,
            timers,
            ping_due: false,
            fault: None,
        };
        self.protocol = protocol.clone();
        let url = self.url.clone().unwrap_or_default();
        tracing::info!(url = %redact_url(&url), queued = self.outbox.len(), "connection open");
        self.emit(Event::Open { url, protocol });
        self.emit_state();
    }

    /// Reports a message received on `transport`.
    pub fn handle_message(&mut self, transport: TransportId, message: Message, now: Instant) {
        if let Some(event) = self.accept_message(transport, message, now) {
            self.emit(event);
        }
    }

    /// Like [`handle_message`](Self::handle_message), for a driver that keeps its own
    /// queue of events taken from [`poll_output`](Self::poll_output): when no output
    /// waits ahead of the message's event, the event goes straight onto `delivered`'s
    /// back, one move fewer per message; otherwise it is queued behind the outputs, so
    /// the order holds either way. True when it went onto `delivered`.
    pub fn handle_message_into(
        &mut self,
        transport: TransportId,
        message: Message,
        now: Instant,
        delivered: &mut VecDeque<Event>,
    ) -> bool {
        if !self.outputs.is_empty() {
            self.handle_message(transport, message, now);
            return false;
        }
        let Some(event) = self.accept_message(transport, message, now) else {
            return false;
        };
        delivered.push_back(event);
        true
    }

    /// The event for `message` read on `transport`, unless it came on a connection the
    /// machine is done with or is the heartbeat's pong.
    fn accept_message(
        &mut self,
        transport: TransportId,
        message: Message,
        now: Instant,
    ) -> Option<Event> {
        if !self.saw_traffic(transport, now) {
            return None;
        }
        let is_pong = self
            .options
            .heartbeat
            .as_ref()
            .and_then(|heartbeat| heartbeat.pong.as_ref())
            .is_some_and(|pong| *pong == message);
        (!is_pong).then_some(Event::Message(message))
    }

    /// Reports a pong (or any other sign of life without a message) on `transport`.
    pub fn handle_pong(&mut self, transport: TransportId, now: Instant) {
        self.saw_traffic(transport, now);
    }

    /// Reports that `transport` closed: `Some(frame)` when the server sent a close
    /// frame (or answered ours), `None` when the connection ended without one.
    pub fn handle_closed(
        &mut self,
        transport: TransportId,
        frame: Option<CloseFrame>,
        now: Instant,
    ) {
        match &self.phase {
            Phase::Closing {
                transport: t,
                frame: ours,
                ..
            } if *t == transport => {
                let was_clean = frame.is_some();
                let ours = ours.clone();
                self.finish_close(frame.unwrap_or(ours), was_clean);
            }
            Phase::Connecting { transport: t, .. } | Phase::Open { transport: t, .. }
                if *t == transport =>
            {
                let was_clean = frame.is_some();
                let close = frame.unwrap_or_else(|| CloseFrame::abnormal(""));
                tracing::info!(code = close.code, reason = %close.reason, was_clean, "connection closed");
                self.connection_ended(now, transport, close, was_clean, None, true);
            }
            _ => {}
        }
    }

    /// Reports that `transport` failed: the handshake was refused, the network or TLS
    /// failed, or the peer broke the protocol.
    pub fn handle_failed(&mut self, transport: TransportId, error: TransportError, now: Instant) {
        match &self.phase {
            Phase::Closing {
                transport: t,
                frame,
                ..
            } if *t == transport => {
                let frame = frame.clone();
                self.finish_close(frame, false);
            }
            Phase::Resolving { transport: t, .. }
            | Phase::Connecting { transport: t, .. }
            | Phase::Open { transport: t, .. }
                if *t == transport =>
            {
                self.fail_current(now, error, false);
            }
            _ => {}
        }
    }

    /// Reports that the peer of the open `transport` broke the protocol (`violation`,
    /// described by `error`). The connection stays open for writing, so that what the
    /// application sends in answer to the messages before the fault goes out on it,
    /// until the driver reports [`handle_caught_up`](Self::handle_caught_up) (report it
    /// at once when nothing is left to answer) or [`FAULT_GRACE`] passes. Then the
    /// connection fails with `error`: the machine asks to close it with the
    /// violation's close frame (RFC 6455 §7.4.1; `Output::Close` with a frame, sent
    /// after what was pulled before it), and reconnects as the failure policy decides.
    /// Read nothing more from it meanwhile.
    pub fn handle_peer_fault(
        &mut self,
        transport: TransportId,
        violation: Violation,
        error: TransportError,
        now: Instant,
    ) {
        match &mut self.phase {
            Phase::Open {
                transport: t,
                timers,
                fault,
                ..
            } if *t == transport => {
                if fault.is_none() {
                    tracing::debug!(%error, "peer fault: answering what came before it first");
                    *fault = Some(Box::new((violation, error)));
                    *timers = Timers::default();
                    timers.set(Timer::End, later(now, FAULT_GRACE));
                }
            }
            _ => self.handle_failed(transport, error, now),
        }
    }

    /// Reports that the application has taken every event of `transport` and that the
    /// driver wrote everything pulled for it: a connection kept open after a
    /// [peer fault](Self::handle_peer_fault) fails now.
    pub fn handle_caught_up(&mut self, transport: TransportId, now: Instant) {
        if let Phase::Open {
            transport: t,
            fault,
            ..
        } = &mut self.phase
        {
            if *t == transport {
                if let Some(fault) = fault.take() {
                    self.fail_faulted(now, *fault);
                }
            }
        }
    }

    /// Fails the open connection after a peer fault: closes it with the violation's
    /// close frame, then reports `error`.
    fn fail_faulted(&mut self, now: Instant, (violation, error): (Violation, TransportError)) {
        if let Phase::Open { transport, .. } = self.phase {
            self.outputs.push_back(Output::Close {
                transport,
                frame: Some(violation.close_frame()),
            });
        }
        self.fail_current(now, error, false);
    }

    /// Whether the open `transport` is kept only to answer what came before a peer
    /// fault (read nothing more from it).
    pub fn is_faulted(&self, transport: TransportId) -> bool {
        matches!(&self.phase, Phase::Open { transport: t, fault: Some(_), .. } if *t == transport)
    }

    /// Reports the failure policy's answer, asked by [`UserCall::Decide`]. An answer
    /// about a transport the machine has moved on from (after `reconnect()` or
    /// `close()`) is ignored.
    pub fn handle_decision(&mut self, answer: PolicyAnswer, now: Instant) {
        let PolicyAnswer {
            transport,
            decision,
        } = answer;
        let Phase::Deciding {
            transport: t,
            close,
            failure,
        } = &self.phase
        else {
            return;
        };
        if *t != transport {
            return;
        }
        let (close, failure) = (close.clone(), failure.clone());
        self.apply_decision(now, decision, close, failure);
    }

    /// Reports that the driver holds bytes for `transport` that it cannot write (the
    /// socket's send buffer is full). Unless [`handle_write_progress`] follows within
    /// the write timeout (the `write_timeout` option, else the heartbeat's timeout, else
    /// 30 s), the connection is presumed dead and replaced, as after a missed pong.
    /// Repeated calls keep the first deadline.
    ///
    /// [`handle_write_progress`]: Self::handle_write_progress
    pub fn handle_write_blocked(&mut self, transport: TransportId, now: Instant) {
        let timeout = self.write_timeout();
        if let Phase::Open {
            transport: current,
            timers,
            fault: None,
            ..
        } = &mut self.phase
        {
            if *current == transport && !timers.is_running(Timer::Write) {
                timers.set(Timer::Write, later(now, timeout));
            }
        }
    }

    /// Reports that the driver wrote bytes for `transport` (or has nothing left to
    /// write): any write deadline is cleared.
    pub fn handle_write_progress(&mut self, transport: TransportId) {
        if let Phase::Open {
            transport: current,
            timers,
            ..
        } = &mut self.phase
        {
            if *current == transport {
                timers.stop(Timer::Write);
            }
        }
    }

    /// Reports that the driver stopped (`paused == true`) or resumed reading
    /// `transport`, e.g. because the application's event queue is full. While paused
    /// the heartbeat neither pings nor declares the peer dead; on resume it starts over.
    pub fn handle_read_paused(&mut self, transport: TransportId, paused: bool, now: Instant) {
        let interval = self.options.heartbeat.as_ref().map(|h| h.interval);
        if let Phase::Open {
            transport: current,
            timers,
            ..
        } = &mut self.phase
        {
            if *current != transport || timers.read_paused() == paused {
                return;
            }
            timers.set_read_paused(paused);
            if let (false, Some(interval)) = (paused, interval) {
                timers.set(Timer::Ping, later(now, interval));
                timers.stop(Timer::Dead);
            }
        }
    }

    // ----- application commands --------------------------------------------------------

    /// Sends `message` on the open connection (it waits in the machine until the driver
    /// pulls it), else queues it for the next connection.
    pub fn send(&mut self, message: Message) -> SendOutcome {
        self.send_inner(message, None)
    }

    /// Like [`send`](Self::send), but an unsent message with the same `key` (queued
    /// while disconnected, or not yet pulled by a slow connection) is replaced, so only
    /// the latest per key (a position, a cursor) goes out.
    pub fn send_coalesced(&mut self, key: impl Into<String>, message: Message) -> SendOutcome {
        self.send_inner(message, Some(key.into()))
    }

    fn send_inner(&mut self, message: Message, key: Option<String>) -> SendOutcome {
        if matches!(self.phase, Phase::Open { .. }) {
            return if self.outbox.push_open(message, key) {
                SendOutcome::Coalesced
            } else {
                SendOutcome::Sent
            };
        }
        if matches!(self.phase, Phase::Stopped(StopReason::ClosedByApp))
            && !self.warned_send_after_close
        {
            self.warned_send_after_close = true;
            tracing::warn!(
                "send() was called after close(): the message is queued and is only delivered if reconnect() is called"
            );
        }
        let Pushed { outcome, evicted } = self.outbox.push(message, key);
        if !evicted.is_empty() {
            tracing::warn!(
                count = evicted.len(),
                "queue full: evicted the oldest messages"
            );
            self.emit(Event::Evicted(evicted));
        }
        outcome
    }

    /// Closes the connection with `frame` and stops reconnecting.
    ///
    /// An open connection is closed gracefully: the messages sent before this call go
    /// out first, then the close frame; the state is [`ConnectionState::Closing`] until
    /// the server answers or `close_timeout` passes, then [`Event::Close`] reports how
    /// it ended. Whatever the connection had not taken by then stays queued, in order,
    /// for a later `reconnect()`, as does everything sent after this call. A connection
    /// still in its handshake is dropped and reported closed at once. Closing a closed
    /// socket does nothing.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCloseCode`] unless the code is 1000 or in 3000..=4999, and
    /// [`Error::CloseReasonTooLong`] for a reason over 123 bytes. Nothing changes then.
    pub fn close(&mut self, frame: CloseFrame, now: Instant) -> Result<(), Error> {
        if frame.code != CloseFrame::NORMAL && !(3000..=4999).contains(&frame.code) {
            return Err(Error::InvalidCloseCode(frame.code));
        }
        if frame.reason.len() > CloseFrame::MAX_REASON_BYTES {
            return Err(Error::CloseReasonTooLong(frame.reason.len()));
        }
        self.should_reconnect = false;
        match &self.phase {
            Phase::Stopped(_) | Phase::Closing { .. } => return Ok(()),
            Phase::Open { transport, .. } => {
                let transport = *transport;
                self.outbox.limit_to_queued();
                self.phase = Phase::Closing {
                    transport,
                    deadline: later(now, self.options.close_timeout),
                    frame,
                    frame_sent: false,
                };
                self.emit_state();
            }
            Phase::Connecting { transport, .. } => {
                let transport = *transport;
                self.abandon(transport, frame);
                self.stop(StopReason::ClosedByApp);
            }
            Phase::Resolving { transport, .. } => {
                let transport = *transport;
                self.outputs.push_back(Output::Close {
                    transport,
                    frame: None,
                });
                self.stop(StopReason::ClosedByApp);
            }
            Phase::BackingOff { .. } | Phase::Deciding { .. } => self.stop(StopReason::ClosedByApp),
        }
        Ok(())
    }

    /// Connects now: resets the retry count, re-enables reconnection (also after
    /// `close()`, retries exhausted or a policy stop), replaces an open or pending
    /// connection, and cuts short a backoff wait. Messages the replaced connection had
    /// not taken stay queued, in order, for the new one.
    ///
    /// # Errors
    ///
    /// [`OptionsError::MissingRoom`] when neither a room nor a base path is set.
    pub fn reconnect(&mut self, now: Instant) -> Result<(), Error> {
        if !self.options.has_destination() {
            return Err(OptionsError::MissingRoom.into());
        }
        self.should_reconnect = true;
        self.warned_send_after_close = false;
        self.retry = -1;
        self.outbox.unlimit();
        let replaced = CloseFrame::normal();
        match &self.phase {
            Phase::Open { transport, .. } => {
                let transport = *transport;
                self.outputs.push_back(Output::Close {
                    transport,
                    frame: Some(replaced.clone()),
                });
                self.emit(Event::Close {
                    frame: replaced,
                    was_clean: false,
                });
            }
            Phase::Connecting { transport, .. } => {
                let transport = *transport;
                self.abandon(transport, replaced);
            }
            Phase::Closing {
                transport, frame, ..
            } => {
                let (transport, frame) = (*transport, frame.clone());
                self.abandon(transport, frame);
            }
            Phase::Resolving { transport, .. } => {
                let transport = *transport;
                self.outputs.push_back(Output::Close {
                    transport,
                    frame: None,
                });
            }
            Phase::BackingOff { .. } | Phase::Stopped(_) | Phase::Deciding { .. } => {}
        }
        self.next_attempt(now, None);
        Ok(())
    }

    /// Changes the destination or credentials for the next connection; the current
    /// connection and every unsent message are kept (call
    /// [`reconnect`](Self::reconnect) to use them now).
    ///
    /// # Errors
    ///
    /// The [`OptionsError`] of the merged options; nothing changes then.
    pub fn update(&mut self, update: OptionsUpdate) -> Result<(), Error> {
        self.options = self.options.updated(update)?;
        Ok(())
    }

    /// Removes and returns every unsent message, oldest first.
    pub fn drain_queue(&mut self) -> Vec<Message> {
        self.outbox.drain()
    }

    // ----- accessors -------------------------------------------------------------------

    /// The options in force.
    pub fn options(&self) -> &PartySocketOptions {
        &self.options
    }

    /// The connection id (`_pk`).
    pub fn id(&self) -> &str {
        self.options.id()
    }

    /// The room URL, without query.
    pub fn room_url(&self) -> String {
        self.options.room_url()
    }

    /// The URL of the latest attempt (query values included), `None` before the first.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The subprotocol the server chose on the latest connection, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The detailed connection state.
    pub fn connection_state(&self) -> ConnectionState {
        match &self.phase {
            Phase::Stopped(reason) => ConnectionState::Closed {
                reason: reason.clone(),
            },
            Phase::BackingOff { retry_at } => ConnectionState::BackingOff {
                attempt: self.retry_count(),
                retry_at: *retry_at,
            },
            Phase::Resolving { .. } | Phase::Connecting { .. } | Phase::Deciding { .. } => {
                ConnectionState::Connecting {
                    attempt: self.retry_count(),
                }
            }
            Phase::Open { .. } => ConnectionState::Open,
            Phase::Closing { .. } => ConnectionState::Closing,
        }
    }

    /// Whether a connection is open: `ready_state() == ReadyState::Open`, without
    /// building the state (a send path asks on every message).
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open { .. })
    }

    /// The WebSocket `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.connection_state().ready_state()
    }

    /// Attempts since the last stable connection or `reconnect()` (upstream's
    /// `retryCount`).
    pub fn retry_count(&self) -> u32 {
        u32::try_from(self.retry.max(0)).unwrap_or(u32::MAX)
    }

    /// Whether the socket will connect again on its own after a close.
    pub fn should_reconnect(&self) -> bool {
        self.should_reconnect
    }

    /// Bytes of payload not yet handed to a connection: queued while disconnected, or
    /// waiting for the open connection to take them. UTF-8 bytes for text.
    pub fn buffered_amount(&self) -> usize {
        self.outbox.bytes()
    }

    /// Messages not yet handed to a connection.
    pub fn queued_messages(&self) -> usize {
        self.outbox.len()
    }

    /// The transport in flight (connecting, open or closing), if any.
    pub fn transport(&self) -> Option<TransportId> {
        match self.phase {
            Phase::Resolving { transport, .. }
            | Phase::Connecting { transport, .. }
            | Phase::Open { transport, .. }
            | Phase::Closing { transport, .. } => Some(transport),
            Phase::Stopped(_) | Phase::BackingOff { .. } | Phase::Deciding { .. } => None,
        }
    }

    /// How long a blocked write may make no progress before the connection is presumed
    /// dead.
    pub fn write_timeout(&self) -> Duration {
        self.options.effective_write_timeout()
    }
}
