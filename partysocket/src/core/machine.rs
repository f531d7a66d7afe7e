//! The reconnecting socket's state machine: every decision, no I/O, no clock.

use std::collections::VecDeque;
use std::time::Duration;

use web_time::Instant;

use super::error::{Error, OptionsError, TransportError};
use super::event::{ConnectionState, Event, ReadyState, StopReason};
use super::message::{CloseFrame, Message, SendOutcome};
use super::options::{OptionsUpdate, PartySocketOptions};
use super::policy::Decision;
use super::query::{Query, QueryProvider, QuerySource};
use super::queue::Outbox;
use super::rng::Rng;
use super::url::redact_url;

/// Names one transport (one WebSocket connection attempt). Facts about a transport the
/// machine has already replaced are ignored, so drivers need not filter stale callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportId(u64);

impl TransportId {
    /// The id as a number, for logs.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// What the driver opens for an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectRequest {
    /// The WebSocket URL, `_pk` and query included.
    pub url: String,
    /// Subprotocols to offer.
    pub protocols: Vec<String>,
    /// Extra handshake headers (drivers that cannot send headers ignore them).
    pub headers: Vec<(String, String)>,
    /// The largest incoming message to accept, when limited.
    pub max_message_size: Option<usize>,
}

/// Work for the driver, in order. Drain with [`Machine::poll_output`] until `None`
/// after every call that changes the machine.
#[derive(Debug)]
pub enum Output {
    /// Resolve the per-attempt query, then report it with
    /// [`Machine::handle_query_resolved`].
    ResolveQuery {
        /// The attempt.
        transport: TransportId,
        /// The provider to call.
        provider: QueryProvider,
    },
    /// Open a WebSocket; report the outcome with [`Machine::handle_open`],
    /// [`Machine::handle_failed`] or [`Machine::handle_closed`].
    Connect {
        /// The new transport.
        transport: TransportId,
        /// Where and how to connect.
        request: ConnectRequest,
    },
    /// Send a message on the open transport.
    Send {
        /// The transport.
        transport: TransportId,
        /// The message.
        message: Message,
    },
    /// Send a protocol-level ping on the open transport.
    Ping {
        /// The transport.
        transport: TransportId,
    },
    /// Close the transport: with `Some(frame)`, send that close frame and report the
    /// server's answer with [`Machine::handle_closed`]; with `None`, drop it at once and
    /// report nothing more.
    Close {
        /// The transport.
        transport: TransportId,
        /// The close frame to send, or `None` to abort.
        frame: Option<CloseFrame>,
    },
    /// Deliver an event to the application.
    Event(Event),
}

#[derive(Debug, Clone)]
struct Liveness {
    ping_at: Instant,
    dead_at: Option<Instant>,
}

/// Why an attempt cannot start when an update removed the room. A plain string: the
/// `Display` of `OptionsError` would pull float formatting into browser builds.
const NO_DESTINATION: &str = "either room or base_path must be set to connect";

/// Output slots kept allocated between bursts.
const OUTPUTS_KEPT: usize = 64;

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
        stable_at: Option<Instant>,
        liveness: Option<Liveness>,
        /// Set while the driver has bytes it cannot write: the connection is presumed
        /// dead when nothing is written by then.
        write_deadline: Option<Instant>,
        /// The driver stopped reading (the application is behind on events): silence
        /// from the peer proves nothing, so the heartbeat waits.
        read_paused: bool,
    },
    Closing {
        transport: TransportId,
        deadline: Instant,
        frame: CloseFrame,
    },
}

/// The sans-IO reconnecting socket.
///
/// See the [crate documentation](crate#the-sans-io-core) for the calling contract.
#[derive(Debug)]
pub struct Machine {
    options: PartySocketOptions,
    rng: Rng,
    phase: Phase,
    /// Upstream's `_retryCount`: `-1` before the first attempt and after `reconnect()`,
    /// incremented per attempt, `0` once a connection has stayed up for `min_uptime`.
    retry: i64,
    should_reconnect: bool,
    next_transport: u64,
    outbox: Outbox,
    outputs: VecDeque<Output>,
    url: Option<String>,
    protocol: Option<String>,
    warned_send_after_close: bool,
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
            options,
        };
        if !machine.options.start_closed && machine.options.has_destination() {
            machine.should_reconnect = true;
            machine.next_attempt(now, None);
        }
        machine
    }

    // ----- driver contract -------------------------------------------------------------

    /// The next piece of work for the driver, in order, or `None` when there is none.
    pub fn poll_output(&mut self) -> Option<Output> {
        let output = self.outputs.pop_front();
        if output.is_none() && self.outputs.capacity() > OUTPUTS_KEPT {
            // A burst (a long queue flushed on open) must not pin its peak.
            self.outputs = VecDeque::new();
        }
        output
    }

    /// When the driver must call [`handle_timeout`](Self::handle_timeout) next, or
    /// `None` when no timer is running. Ask again after every call into the machine.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Stopped(_) => None,
            Phase::BackingOff { retry_at } => Some(*retry_at),
            Phase::Resolving { deadline, .. }
            | Phase::Connecting { deadline, .. }
            | Phase::Closing { deadline, .. } => Some(*deadline),
            Phase::Open {
                stable_at,
                liveness,
                write_deadline,
                read_paused,
                ..
            } => {
                let heartbeat = liveness
                    .as_ref()
                    .filter(|_| !*read_paused)
                    .map(|l| l.dead_at.unwrap_or(l.ping_at));
                [*stable_at, heartbeat, *write_deadline]
                    .into_iter()
                    .flatten()
                    .min()
            }
        }
    }

    /// Fires every timer due at `now`: backoff ends, connection and close timeouts,
    /// the minimum-uptime reset, heartbeat pings and their deadlines.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase.clone() {
            Phase::Stopped(_) => {}
            Phase::BackingOff { retry_at } => {
                if now >= retry_at {
                    self.start_attempt(now);
                }
            }
            Phase::Resolving { deadline, .. } | Phase::Connecting { deadline, .. } => {
                if now >= deadline {
                    let timeout = TransportError::Timeout(self.options.connection_timeout);
                    self.fail_current(now, timeout, true);
                }
            }
            Phase::Open {
                transport,
                stable_at,
                liveness,
                write_deadline,
                read_paused,
            } => {
                if write_deadline.is_some_and(|at| now >= at) {
                    let timeout = TransportError::WriteTimeout(self.write_timeout());
                    self.fail_current(now, timeout, true);
                    return;
                }
                let mut stable_at = stable_at;
                if stable_at.is_some_and(|at| now >= at) {
                    tracing::debug!("connection stable: retry count reset");
                    self.retry = 0;
                    stable_at = None;
                }
                let mut liveness = liveness;
                if let (Some(live), Some(heartbeat), false) =
                    (&mut liveness, self.options.heartbeat.clone(), read_paused)
                {
                    if live.dead_at.is_some_and(|at| now >= at) {
                        self.fail_current(
                            now,
                            TransportError::HeartbeatTimeout(heartbeat.timeout),
                            true,
                        );
                        return;
                    }
                    if live.dead_at.is_none() && now >= live.ping_at {
                        live.dead_at = Some(later(now, heartbeat.timeout));
                        self.outputs.push_back(match heartbeat.ping {
                            Some(message) => Output::Send { transport, message },
                            None => Output::Ping { transport },
                        });
                    }
                }
                self.phase = Phase::Open {
                    transport,
                    stable_at,
                    liveness,
                    write_deadline,
                    read_paused,
                };
            }
            Phase::Closing {
                transport,
                deadline,
                frame,
            } => {
                if now >= deadline {
                    self.outputs.push_back(Output::Close {
                        transport,
                        frame: None,
                    });
                    self.finish_close(frame, false);
                }
            }
        }
    }

    /// Reports the per-attempt query for `transport`.
    pub fn handle_query_resolved(
        &mut self,
        transport: TransportId,
        result: Result<Query, String>,
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
        match result {
            Ok(query) => {
                let url = self.options.socket_url(Some(&query));
                self.begin_connect(transport, deadline, url);
            }
            Err(message) => self.fail_current(now, TransportError::QueryProvider(message), false),
        }
    }

    /// Reports that `transport` opened, with the subprotocol the server chose. Queued
    /// messages are flushed to it before the [`Event::Open`].
    pub fn handle_open(&mut self, transport: TransportId, protocol: Option<String>, now: Instant) {
        if !matches!(self.phase, Phase::Connecting { transport: t, .. } if t == transport) {
            return;
        }
        let liveness = self.options.heartbeat.as_ref().map(|heartbeat| Liveness {
            ping_at: later(now, heartbeat.interval),
            dead_at: None,
        });
        self.phase = Phase::Open {
            transport,
            stable_at: Some(later(now, self.options.min_uptime)),
            liveness,
            write_deadline: None,
            read_paused: false,
        };
        self.protocol = protocol.clone();
        for message in self.outbox.drain() {
            self.outputs.push_back(Output::Send { transport, message });
        }
        let url = self.url.clone().unwrap_or_default();
        tracing::info!(url = %redact_url(&url), "connection open");
        self.emit(Event::Open { url, protocol });
        self.emit_state();
    }

    /// Reports a message received on `transport`.
    pub fn handle_message(&mut self, transport: TransportId, message: Message, now: Instant) {
        if !self.saw_traffic(transport, now) {
            return;
        }
        let is_pong = self
            .options
            .heartbeat
            .as_ref()
            .and_then(|heartbeat| heartbeat.pong.as_ref())
            .is_some_and(|pong| *pong == message);
        if !is_pong {
            self.emit(Event::Message(message));
        }
    }

    /// Reports a pong (or any other sign of life without a message) on `transport`.
    pub fn handle_pong(&mut self, transport: TransportId, now: Instant) {
        self.saw_traffic(transport, now);
    }

    /// Reports that `transport` closed: `Some(frame)` when the server sent a close
    /// frame, `None` when the connection ended without one.
    pub fn handle_closed(
        &mut self,
        transport: TransportId,
        frame: Option<CloseFrame>,
        now: Instant,
    ) {
        match self.phase.clone() {
            Phase::Closing {
                transport: t,
                frame: ours,
                ..
            } if t == transport => {
                let was_clean = frame.is_some();
                self.finish_close(frame.unwrap_or(ours), was_clean);
            }
            Phase::Connecting { transport: t, .. } | Phase::Open { transport: t, .. }
                if t == transport =>
            {
                let was_clean = frame.is_some();
                let close = frame.unwrap_or_else(|| CloseFrame::abnormal(""));
                tracing::info!(code = close.code, reason = %close.reason, was_clean, "connection closed");
                self.connection_ended(now, close, was_clean, None, true);
            }
            _ => {}
        }
    }

    /// Reports that `transport` failed: the handshake was refused, the network or TLS
    /// failed, or the peer broke the protocol.
    pub fn handle_failed(&mut self, transport: TransportId, error: TransportError, now: Instant) {
        match self.phase.clone() {
            Phase::Closing {
                transport: t,
                frame,
                ..
            } if t == transport => self.finish_close(frame, false),
            Phase::Resolving { transport: t, .. }
            | Phase::Connecting { transport: t, .. }
            | Phase::Open { transport: t, .. }
                if t == transport =>
            {
                self.fail_current(now, error, false);
            }
            _ => {}
        }
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
            write_deadline,
            ..
        } = &mut self.phase
        {
            if *current == transport && write_deadline.is_none() {
                *write_deadline = Some(later(now, timeout));
            }
        }
    }

    /// Reports that the driver wrote bytes for `transport` (or has nothing left to
    /// write): any write deadline is cleared.
    pub fn handle_write_progress(&mut self, transport: TransportId) {
        if let Phase::Open {
            transport: current,
            write_deadline,
            ..
        } = &mut self.phase
        {
            if *current == transport {
                *write_deadline = None;
            }
        }
    }

    /// Reports that the driver stopped (`paused == true`) or resumed reading
    /// `transport`, e.g. because the application's event queue is full. While paused
    /// the heartbeat neither pings nor declares the peer dead; on resume it starts over.
    pub fn handle_read_paused(&mut self, transport: TransportId, paused: bool, now: Instant) {
        let heartbeat = self.options.heartbeat.clone();
        if let Phase::Open {
            transport: current,
            liveness,
            read_paused,
            ..
        } = &mut self.phase
        {
            if *current != transport || *read_paused == paused {
                return;
            }
            *read_paused = paused;
            if let (false, Some(live), Some(heartbeat)) = (paused, liveness, heartbeat) {
                live.ping_at = later(now, heartbeat.interval);
                live.dead_at = None;
            }
        }
    }

    /// Gives back messages the driver took from [`Output::Send`] for `transport` but
    /// never wrote, because that transport failed or is being dropped. They go back to
    /// the front of the queue, oldest first, followed by the sends for `transport` the
    /// driver has not polled yet, and ahead of anything queued since; they are sent
    /// when the next connection opens (the queue's caps do not apply: they were
    /// accepted).
    ///
    /// Call it before reporting the transport's end, or while carrying out its
    /// [`Output::Close`].
    pub fn requeue(&mut self, transport: TransportId, mut messages: Vec<Message>) {
        if self
            .outputs
            .iter()
            .any(|output| matches!(output, Output::Send { transport: t, .. } if *t == transport))
        {
            let mut kept = VecDeque::with_capacity(self.outputs.len());
            for output in self.outputs.drain(..) {
                match output {
                    Output::Send {
                        transport: t,
                        message,
                    } if t == transport => messages.push(message),
                    other => kept.push_back(other),
                }
            }
            self.outputs = kept;
        }
        if messages.is_empty() {
            return;
        }
        tracing::debug!(count = messages.len(), "re-queued unwritten messages");
        match self.phase {
            // A newer connection is already open (the driver reported late): send them
            // now, in order, rather than hold them.
            Phase::Open {
                transport: open, ..
            } if open != transport => {
                for message in messages {
                    self.outputs.push_back(Output::Send {
                        transport: open,
                        message,
                    });
                }
            }
            _ => self.outbox.requeue(messages),
        }
    }

    // ----- application commands --------------------------------------------------------

    /// Sends `message` now when open, else queues it for the next connection.
    pub fn send(&mut self, message: Message) -> SendOutcome {
        self.send_inner(message, None)
    }

    /// Like [`send`](Self::send), but while disconnected a queued message with the same
    /// `key` is replaced, so only the latest per key (a position, a cursor) is sent on
    /// reconnect.
    pub fn send_coalesced(&mut self, key: impl Into<String>, message: Message) -> SendOutcome {
        self.send_inner(message, Some(key.into()))
    }

    fn send_inner(&mut self, message: Message, key: Option<String>) -> SendOutcome {
        if let Phase::Open { transport, .. } = self.phase {
            self.outputs.push_back(Output::Send { transport, message });
            return SendOutcome::Sent;
        }
        if matches!(self.phase, Phase::Stopped(StopReason::ClosedByApp))
            && !self.warned_send_after_close
        {
            self.warned_send_after_close = true;
            tracing::warn!(
                "send() was called after close(): the message is queued and is only delivered if reconnect() is called"
            );
        }
        let (outcome, evicted) = self.outbox.push(message, key);
        if !evicted.is_empty() {
            tracing::warn!(
                count = evicted.len(),
                "queue full: evicted the oldest messages"
            );
            self.emit(Event::Evicted(evicted));
        }
        outcome
    }

    /// Closes the connection with `frame` and stops reconnecting. Queued messages stay
    /// queued for a later `reconnect()`.
    ///
    /// An open connection is closed gracefully: the state is
    /// [`ConnectionState::Closing`] until the server answers or `close_timeout` passes,
    /// then [`Event::Close`] reports how it ended. A connection still in its handshake
    /// is dropped and reported closed at once. Closing a closed socket does nothing.
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
        match self.phase.clone() {
            Phase::Stopped(_) | Phase::Closing { .. } => return Ok(()),
            Phase::Open { transport, .. } => {
                self.outputs.push_back(Output::Close {
                    transport,
                    frame: Some(frame.clone()),
                });
                self.phase = Phase::Closing {
                    transport,
                    deadline: later(now, self.options.close_timeout),
                    frame,
                };
                self.emit_state();
            }
            Phase::Connecting { transport, .. } => {
                self.abandon(transport, frame);
                self.stop(StopReason::ClosedByApp);
            }
            Phase::Resolving { transport, .. } => {
                self.outputs.push_back(Output::Close {
                    transport,
                    frame: None,
                });
                self.stop(StopReason::ClosedByApp);
            }
            Phase::BackingOff { .. } => self.stop(StopReason::ClosedByApp),
        }
        Ok(())
    }

    /// Connects now: resets the retry count, re-enables reconnection (also after
    /// `close()`, retries exhausted or a policy stop), replaces an open or pending
    /// connection, and cuts short a backoff wait.
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
        let replaced = CloseFrame::normal();
        match self.phase.clone() {
            Phase::Open { transport, .. } => {
                self.outputs.push_back(Output::Close {
                    transport,
                    frame: Some(replaced.clone()),
                });
                self.emit(Event::Close {
                    frame: replaced,
                    was_clean: false,
                });
            }
            Phase::Connecting { transport, .. } => self.abandon(transport, replaced),
            Phase::Closing {
                transport, frame, ..
            } => self.abandon(transport, frame),
            Phase::Resolving { transport, .. } => self.outputs.push_back(Output::Close {
                transport,
                frame: None,
            }),
            Phase::BackingOff { .. } | Phase::Stopped(_) => {}
        }
        self.next_attempt(now, None);
        Ok(())
    }

    /// Changes the destination or credentials for the next connection; the current
    /// connection is kept (call [`reconnect`](Self::reconnect) to use them now).
    ///
    /// # Errors
    ///
    /// The [`OptionsError`] of the merged options; nothing changes then.
    pub fn update(&mut self, update: OptionsUpdate) -> Result<(), Error> {
        self.options = self.options.updated(update)?;
        Ok(())
    }

    /// Removes and returns every queued message, oldest first.
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
            Phase::Resolving { .. } | Phase::Connecting { .. } => ConnectionState::Connecting {
                attempt: self.retry_count(),
            },
            Phase::Open { .. } => ConnectionState::Open,
            Phase::Closing { .. } => ConnectionState::Closing,
        }
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

    /// Bytes of payload waiting in the queue.
    pub fn buffered_amount(&self) -> usize {
        self.outbox.bytes()
    }

    /// Messages waiting in the queue.
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
            Phase::Stopped(_) | Phase::BackingOff { .. } => None,
        }
    }

    /// How long a blocked write may make no progress before the connection is presumed
    /// dead.
    pub fn write_timeout(&self) -> Duration {
        self.options.effective_write_timeout()
    }

    // ----- internals -------------------------------------------------------------------

    fn emit(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }

    fn emit_state(&mut self) {
        let state = self.connection_state();
        self.emit(Event::StateChanged(state));
    }

    fn stop(&mut self, reason: StopReason) {
        self.should_reconnect = false;
        self.phase = Phase::Stopped(reason);
        self.emit_state();
    }

    /// Drops `transport` without waiting and reports it closed with `frame`, uncleanly.
    fn abandon(&mut self, transport: TransportId, frame: CloseFrame) {
        self.outputs.push_back(Output::Close {
            transport,
            frame: None,
        });
        self.emit(Event::Close {
            frame,
            was_clean: false,
        });
    }

    fn finish_close(&mut self, frame: CloseFrame, was_clean: bool) {
        tracing::info!(
            code = frame.code,
            was_clean,
            "connection closed by the application"
        );
        self.emit(Event::Close { frame, was_clean });
        self.stop(StopReason::ClosedByApp);
    }

    /// Inbound traffic on the open `transport`: proves liveness. False when stale.
    fn saw_traffic(&mut self, transport: TransportId, now: Instant) -> bool {
        let Phase::Open {
            transport: current,
            liveness,
            ..
        } = &mut self.phase
        else {
            return false;
        };
        if *current != transport {
            return false;
        }
        if let (Some(live), Some(heartbeat)) = (liveness, &self.options.heartbeat) {
            live.ping_at = later(now, heartbeat.interval);
            live.dead_at = None;
        }
        true
    }

    /// Upstream's `_connect`: give up when retries are exhausted, else count the attempt
    /// and start it now or after its delay.
    fn next_attempt(&mut self, now: Instant, not_before: Option<Duration>) {
        if !self.options.has_destination() {
            // An update removed the room while connected: nothing to connect to.
            let failure = TransportError::InvalidUrl(NO_DESTINATION.into());
            self.emit(Event::Error(failure.clone()));
            self.stop(StopReason::GaveUp {
                close: CloseFrame::abnormal(""),
                failure: Some(failure),
            });
            return;
        }
        if let Some(max) = self.options.max_retries {
            if self.retry >= i64::from(max) {
                let attempts = self.retry_count();
                tracing::warn!(attempts, "retries exhausted: giving up");
                self.emit(Event::RetriesExhausted { attempts });
                self.stop(StopReason::RetriesExhausted { attempts });
                return;
            }
        }
        self.retry += 1;
        let unit = self.rng.next_f64();
        let backoff = self.options.delay_for(self.retry_count(), unit);
        let delay = not_before.map_or(backoff, |floor| floor.max(backoff));
        if delay.is_zero() {
            self.start_attempt(now);
        } else {
            tracing::debug!(
                attempt = self.retry,
                delay_ms = delay.as_millis() as u64,
                "backing off"
            );
            self.phase = Phase::BackingOff {
                retry_at: later(now, delay),
            };
            self.emit_state();
        }
    }

    fn start_attempt(&mut self, now: Instant) {
        self.next_transport += 1;
        let transport = TransportId(self.next_transport);
        let deadline = later(now, self.options.connection_timeout);
        match self.options.query.clone() {
            QuerySource::Static(_) => {
                let url = self.options.socket_url(None);
                self.begin_connect(transport, deadline, url);
            }
            QuerySource::PerAttempt(provider) => {
                self.phase = Phase::Resolving {
                    transport,
                    deadline,
                };
                self.outputs.push_back(Output::ResolveQuery {
                    transport,
                    provider,
                });
            }
        }
        self.emit_state();
    }

    fn begin_connect(&mut self, transport: TransportId, deadline: Instant, url: String) {
        tracing::debug!(attempt = self.retry, url = %redact_url(&url), "connecting");
        self.url = Some(url.clone());
        self.phase = Phase::Connecting {
            transport,
            deadline,
        };
        self.outputs.push_back(Output::Connect {
            transport,
            request: ConnectRequest {
                url,
                protocols: self.options.protocols.clone(),
                headers: self.options.headers.clone(),
                max_message_size: self.options.max_message_size,
            },
        });
    }

    /// The current transport failed. `abort` asks the driver to drop it (the machine
    /// decided, e.g. on a timeout); otherwise the driver reported the failure itself.
    fn fail_current(&mut self, now: Instant, error: TransportError, abort: bool) {
        let (transport, had_handshake) = match self.phase {
            Phase::Resolving { transport, .. } => (transport, false),
            Phase::Connecting { transport, .. } | Phase::Open { transport, .. } => {
                (transport, true)
            }
            _ => return,
        };
        if abort {
            // Also for a query still resolving: the driver drops the provider's future.
            self.outputs.push_back(Output::Close {
                transport,
                frame: None,
            });
        }
        tracing::warn!(%error, "connection failed");
        self.emit(Event::Error(error.clone()));
        self.connection_ended(
            now,
            CloseFrame::abnormal(""),
            false,
            Some(error),
            had_handshake,
        );
    }

    /// A connection (or attempt) ended without the application asking: report it, then
    /// reconnect or stop as the failure policy decides.
    fn connection_ended(
        &mut self,
        now: Instant,
        close: CloseFrame,
        was_clean: bool,
        failure: Option<TransportError>,
        had_handshake: bool,
    ) {
        let decision = if had_handshake {
            self.emit(Event::Close {
                frame: close.clone(),
                was_clean,
            });
            self.options.failure_policy.decide(&close, failure.as_ref())
        } else {
            Decision::Reconnect
        };
        if !self.should_reconnect {
            self.stop(StopReason::ClosedByApp);
            return;
        }
        match decision {
            Decision::Reconnect => self.next_attempt(now, None),
            Decision::ReconnectAfter(wait) => self.next_attempt(now, Some(wait)),
            Decision::Stop => {
                tracing::warn!(code = close.code, "failure policy: not reconnecting");
                self.stop(StopReason::GaveUp { close, failure });
            }
        }
    }
}
