//! The socket's task: one poll loop that carries out the machine's outputs, reads,
//! fires timers, pulls frames and writes them, and keeps one timer. It ends when every
//! handle is dropped (after a graceful close) or with its runtime.
//!
//! Each pass:
//!
//! 1. under the lock, carry out the machine's outputs (events go to the shared queue);
//!    the application code they ask for (a query provider, the failure policy's
//!    predicate) runs after the lock is released;
//! 2. without the lock, poll the query or handshake in progress, and read the frames
//!    that are ready (within the budget and the room left in the event queue);
//! 3. under the lock once: report the frames, then fire the timers that are due (so a
//!    pong already read is never a missed pong), then pull the next batch of frames
//!    from the machine if the connection can take them;
//! 4. without the lock, hand the batch to the connection and flush once; report a write
//!    that starts or stops blocking, and re-arm the timer from the machine's deadline.
//!
//! The driver keeps no message of its own: what it has not pulled is still the
//! machine's, so a failure, a `reconnect()` or a `close()` leaves it queued.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::SinkExt;
use tokio::time::Sleep;
use tokio_tungstenite::tungstenite;
use web_time::Instant;

use super::shared::{Shared, State};
use super::tls::TlsConfig;
use super::transport::{self, Connection};
use crate::core::trim::{TrimSchedule, TrimStep};
use crate::{
    CloseFrame, ConnectRequest, ConnectionState, CredentialsFuture, Output, Transmit,
    TransportError, TransportId, UserCall, Violation,
};

/// The current time on tokio's clock (so paused-clock tests drive the machine too).
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

type Connecting =
    Pin<Box<dyn Future<Output = Result<(Connection, Option<String>), TransportError>> + Send>>;

/// Frames read in one pass before the other work gets a turn.
const READ_BUDGET: usize = 256;
/// Frames pulled from the machine in one batch (one lock for all of them).
const WRITE_BATCH: usize = 256;
/// Payload bytes pulled in one batch: beyond the first frame, a batch stops here, so
/// that little is handed to the connection ahead of what it can write.
const WRITE_BATCH_BYTES: usize = 128 * 1024;
/// Passes in one poll before the task yields to the runtime.
const PASSES: usize = 16;
/// The open connection.
struct Open {
    transport: TransportId,
    conn: Connection,
    /// Frames were handed to tungstenite since the last completed flush.
    unflushed: bool,
    /// The machine was told that writing is blocked.
    blocked: bool,
    /// The peer broke the protocol: nothing more is read; the connection stays open
    /// for the application's answers to what came before (see
    /// [`Machine::handle_peer_fault`](crate::Machine::handle_peer_fault)).
    faulted: bool,
    /// Bytes written to the operating system at the last look.
    written: u64,
}

impl Open {
    fn new(transport: TransportId, conn: Connection) -> Open {
        Open {
            transport,
            written: transport::written(&conn.ws),
            conn,
            unflushed: false,
            blocked: false,
            faulted: false,
        }
    }
}

/// The earlier of two deadlines.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// How the open connection ended, when a pass found it ended: `Ok(())` without a
/// close frame, `Err` on an error.
type Ended = Option<Result<(), tungstenite::Error>>;

pub(crate) struct Driver {
    shared: Arc<Shared>,
    tls: TlsConfig,
    resolving: Option<(TransportId, CredentialsFuture)>,
    connecting: Option<(TransportId, Connecting)>,
    open: Option<Open>,
    timer: Option<(Instant, Pin<Box<Sleep>>)>,
    /// The frames of the batch being written (kept allocated between passes).
    batch: Vec<Transmit>,
    /// The frames one pass read (kept allocated between passes).
    frames: Vec<tungstenite::Message>,
    calls: Vec<UserCall>,
    handles_gone: bool,
    /// When the buffers give back their spare capacity.
    trim: TrimSchedule,
    /// The last batch stopped at [`WRITE_BATCH`] frames with more to pull: its write
    /// is not flushed, so the next pass adds to it and one flush carries both.
    more_to_pull: bool,
}

enum Step {
    Again,
    Idle,
    Done,
}

impl Driver {
    pub(crate) fn new(shared: Arc<Shared>, tls: TlsConfig) -> Self {
        Driver {
            shared,
            tls,
            resolving: None,
            connecting: None,
            open: None,
            timer: None,
            batch: Vec::new(),
            frames: Vec::new(),
            calls: Vec::new(),
            handles_gone: false,
            trim: TrimSchedule::default(),
            more_to_pull: false,
        }
    }

    fn pass(&mut self, cx: &mut Context<'_>) -> Step {
        let mut progressed = false;

        // 1. Commands and outputs, under the lock.
        let shared = Arc::clone(&self.shared);
        let events_room = {
            let mut state = shared.lock();
            state.driver_running(cx.waker());
            if state.handles == 0 && !self.handles_gone {
                // Every handle is gone: close gracefully, then stop once closed.
                self.handles_gone = true;
                let _ = state.machine.close(CloseFrame::normal(), now());
            }
            let (wakes, _) = self.perform_outputs(&mut state);
            if self.handles_gone
                && self.open.is_none()
                && matches!(
                    state.machine.connection_state(),
                    ConnectionState::Closed { .. }
                )
            {
                drop(state);
                wakes.run(&self.shared);
                return Step::Done;
            }
            let room = state.events_room();
            let waiting = room == 0 || self.open.as_ref().is_some_and(|open| open.faulted);
            if let Some(open) = &self.open {
                if !open.faulted && state.read_paused != (room == 0) {
                    state
                        .machine
                        .handle_read_paused(open.transport, room == 0, now());
                }
            }
            state.read_paused = waiting;
            drop(state);
            wakes.run(&self.shared);
            room
        };
        progressed |= self.run_user_calls();

        // 2. The query, the handshake and the reads, without the lock.
        if let Some((transport, query)) = &mut self.resolving {
            if let Poll::Ready(result) = query.as_mut().poll(cx) {
                let transport = *transport;
                self.resolving = None;
                self.shared
                    .lock()
                    .machine
                    .handle_credentials_resolved(transport, result, now());
                progressed = true;
            }
        }
        // Events the open adds are not counted in `events_room` yet: no reading in the
        // pass that opened the connection.
        let mut opened_now = false;
        if let Some((transport, connecting)) = &mut self.connecting {
            if let Poll::Ready(result) = connecting.as_mut().poll(cx) {
                let transport = *transport;
                self.connecting = None;
                let mut state = self.shared.lock();
                match result {
                    Ok((ws, protocol)) => {
                        opened_now = true;
                        self.open = Some(Open::new(transport, ws));
                        state.read_paused = false;
                        state.machine.handle_open(transport, protocol, now());
                    }
                    Err(error) => state.machine.handle_failed(transport, error, now()),
                }
                progressed = true;
            }
        }
        let budget = events_room.min(READ_BUDGET);
        let ended = match &mut self.open {
            Some(open) if events_room > 0 && !opened_now && !open.faulted => {
                // Each frame makes at most one event: never read past the capacity.
                read(open, cx, budget, &mut self.frames)
            }
            _ => None,
        };
        // What was read is handed over in step 3 of this pass; only a read that stopped
        // at its budget (more may be ready, or the events reached capacity) or an end
        // needs another pass. A read that stopped at `Pending` left the waker with the
        // stream.
        progressed |= self.frames.len() >= budget || ended.is_some();
        let sink_ready = match &mut self.open {
            Some(open) => match open.conn.ws.poll_ready_unpin(cx) {
                Poll::Ready(Ok(())) => Ok(true),
                Poll::Ready(Err(error)) => Err(error),
                Poll::Pending => Ok(false),
            },
            None => Ok(false),
        };

        // 3. Facts, timers and the next frames, under the lock once.
        let (deadline, trim_at) = {
            let mut state = shared.lock();
            let mut delivered = false;
            let sink_failed = sink_ready.as_ref().err();
            progressed |= self.report_reads(&mut state, ended, sink_failed, &mut delivered);
            let at = now();
            if state.machine.poll_timeout().is_some_and(|due| due <= at) {
                state.machine.handle_timeout(at);
                progressed = true;
            }
            // The events of what was read go to the application now, not a pass later;
            // a connection to open or close, or a user call, takes another pass.
            let (mut wakes, performed) = self.perform_outputs(&mut state);
            progressed |= performed;
            if delivered && wakes.consumer.is_none() {
                wakes.consumer = state.consumer.take();
            }
            if sink_ready.is_ok_and(|ready| ready) {
                self.pull_batch(&mut state);
            }
            // Its outputs (the close, the events) are carried out in the next pass.
            progressed |= self.check_caught_up(&mut state);
            let writers = state.writers_to_wake();
            // A batch to write is progress too.
            progressed |= !self.batch.is_empty();
            let trim_at = self.trim_buffers(&mut state, at, progressed);
            let deadline = earliest(state.machine.poll_timeout(), trim_at);
            drop(state);
            wakes.run(&self.shared);
            for writer in writers {
                writer.wake();
            }
            (deadline, trim_at)
        };

        // 4. The writes, without the lock; then the timer.
        let deadline = match self.write(cx) {
            Some(fact) => earliest(self.report_write(fact), trim_at),
            None => deadline,
        };
        progressed |= self.poll_timer(deadline, cx);

        if progressed { Step::Again } else { Step::Idle }
    }

    /// Gives back what a burst left in the buffers when the schedule says so (soon
    /// after the socket went quiet, or once per period while it stays busy); returns
    /// when to look again.
    fn trim_buffers(&mut self, state: &mut State, now: Instant, busy: bool) -> Option<Instant> {
        let step = self.trim.after_pass(now, busy, || {
            state.machine.spare_capacity() > 0
                || state.events.capacity() > state.events.len()
                || self.batch.capacity() > self.batch.len()
                || self.frames.capacity() > self.frames.len()
                || self
                    .open
                    .as_ref()
                    .is_some_and(|open| open.conn.has_spare_capacity())
        });
        match step {
            TrimStep::LookAt(at) => at,
            TrimStep::Trim => {
                state.machine.trim();
                state.events.shrink_to_fit();
                state.trims += 1;
                // An idle socket keeps neither (the batch may hold the frames just
                // pulled: those stay).
                self.batch.shrink_to_fit();
                self.frames.shrink_to_fit();
                if let Some(open) = &mut self.open {
                    open.conn.trim();
                }
                None
            }
        }
    }

    /// Pulls the next frames for the open connection, within the batch limits.
    fn pull_batch(&mut self, state: &mut State) {
        self.more_to_pull = false;
        let Some(open) = &self.open else { return };
        let mut bytes = 0;
        while bytes < WRITE_BATCH_BYTES {
            if self.batch.len() == WRITE_BATCH {
                self.more_to_pull = state.machine.wants_transmit(open.transport);
                break;
            }
            match state.machine.poll_transmit(open.transport) {
                Some(frame) => {
                    if let Transmit::Message(message) = &frame {
                        bytes += message.len();
                    }
                    self.batch.push(frame);
                }
                None => break,
            }
        }
    }

    /// Hands the batch to the connection and flushes; returns what the machine must
    /// learn about the write, if anything changed.
    fn write(&mut self, cx: &mut Context<'_>) -> Option<WriteFact> {
        // It holds for the batch just pulled only.
        let more_to_pull = std::mem::take(&mut self.more_to_pull);
        let Some(open) = &mut self.open else {
            self.batch.clear();
            return None;
        };
        let mut failed = None;
        for frame in self.batch.drain(..) {
            let frame = match frame {
                Transmit::Message(message) => transport::to_wire(message),
                Transmit::Ping => tungstenite::Message::Ping(bytes::Bytes::new()),
                Transmit::Close(frame) => {
                    tungstenite::Message::Close(Some(transport::close_to_wire(frame)))
                }
            };
            // After a would-block tungstenite keeps the frame buffered: nothing pulled
            // is dropped here.
            if let Err(error) = open.conn.ws.start_send_unpin(frame) {
                failed = Some(error);
                break;
            }
            open.unflushed = true;
        }
        self.batch.clear();
        if failed.is_none() && more_to_pull {
            // Small frames that filled a batch: the next pass (at once) pulls and
            // flushes the rest with these.
            return None;
        }
        if failed.is_none() && open.unflushed {
            match open.conn.ws.poll_flush_unpin(cx) {
                Poll::Ready(Ok(())) => open.unflushed = false,
                Poll::Ready(Err(error)) => failed = Some(error),
                Poll::Pending => {}
            }
        }
        let transport = open.transport;
        if let Some(error) = failed {
            return Some(WriteFact::Failed(transport, error));
        }
        let written = transport::written(&open.conn.ws);
        let moved = written != open.written;
        open.written = written;
        match (open.unflushed, open.blocked) {
            (true, false) => {
                open.blocked = true;
                Some(WriteFact::Blocked(transport))
            }
            (true, true) if moved => Some(WriteFact::Progressed {
                transport,
                still_blocked: true,
            }),
            (false, true) => {
                open.blocked = false;
                Some(WriteFact::Progressed {
                    transport,
                    still_blocked: false,
                })
            }
            _ => None,
        }
    }

    /// Tells the machine how the write went; returns its next deadline.
    fn report_write(&mut self, fact: WriteFact) -> Option<Instant> {
        let at = now();
        let mut state = self.shared.lock();
        let machine = &mut state.machine;
        match fact {
            WriteFact::Blocked(transport) => machine.handle_write_blocked(transport, at),
            WriteFact::Progressed {
                transport,
                still_blocked,
            } => {
                machine.handle_write_progress(transport);
                if still_blocked {
                    machine.handle_write_blocked(transport, at);
                }
            }
            WriteFact::Failed(transport, error) => {
                if let Some(open) = self.open.take() {
                    drop(open);
                    report_end(machine, transport, Err(error), at);
                }
            }
        }
        state.machine.poll_timeout()
    }

    /// A faulted connection ends once the application has taken every event (those
    /// still among the machine's outputs too) and what it sent meanwhile is written;
    /// true when it ended.
    fn check_caught_up(&mut self, state: &mut State) -> bool {
        let Some(open) = self.open.as_ref().filter(|open| open.faulted) else {
            return false;
        };
        let caught_up = !state.machine.has_output()
            && state.events.is_empty()
            && state.events_in_hand == 0
            && self.batch.is_empty()
            && !open.unflushed
            && !state.machine.wants_transmit(open.transport);
        if caught_up {
            state.machine.handle_caught_up(open.transport, now());
        }
        caught_up
    }

    /// Keeps the one timer armed for `deadline`; true when it fired. The timer moves
    /// only when the deadline comes earlier: a later deadline (the heartbeat pushed
    /// back by traffic) lets it fire early once and re-arm, instead of resetting it on
    /// every message.
    fn poll_timer(&mut self, deadline: Option<Instant>, cx: &mut Context<'_>) -> bool {
        let Some(at) = deadline else {
            // Nothing to wait for: an idle socket holds no timer.
            self.timer = None;
            return false;
        };
        let target = tokio::time::Instant::from_std(at);
        match &mut self.timer {
            Some((armed, sleep)) if *armed > at => {
                *armed = at;
                sleep.as_mut().reset(target);
            }
            Some(_) => {}
            None => self.timer = Some((at, Box::pin(tokio::time::sleep_until(target)))),
        }
        let fired = self
            .timer
            .as_mut()
            .is_some_and(|(_, sleep)| sleep.as_mut().poll(cx).is_ready());
        if fired {
            self.timer = None;
        }
        fired
    }

    /// Tells the machine what the open connection read; true when the connection ended
    /// or faulted. `sink_failed` is a write-side error found while polling readiness;
    /// `delivered` is set when a message went straight onto the events.
    fn report_reads(
        &mut self,
        state: &mut State,
        ended: Ended,
        sink_failed: Option<&tungstenite::Error>,
        delivered: &mut bool,
    ) -> bool {
        let mut frames = std::mem::take(&mut self.frames);
        // Frames after one that ended the connection are dropped with the iterator.
        let ended = self.report_frames(state, frames.drain(..), ended, sink_failed, delivered);
        self.frames = frames;
        ended
    }

    fn report_frames(
        &mut self,
        state: &mut State,
        frames: impl Iterator<Item = tungstenite::Message>,
        ended: Ended,
        sink_failed: Option<&tungstenite::Error>,
        delivered: &mut bool,
    ) -> bool {
        let Some(open) = &mut self.open else {
            return false;
        };
        let transport = open.transport;
        let at = now();
        let machine = &mut state.machine;
        for frame in frames {
            match frame {
                tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => {
                    // tungstenite answers pings itself; both directions prove the peer
                    // alive.
                    machine.handle_pong(transport, at);
                }
                tungstenite::Message::Close(frame) => {
                    // Let tungstenite send its echo and see the end of the stream, in
                    // the background and bounded.
                    let limit = machine.options().close_timeout();
                    machine.handle_closed(transport, Some(transport::close_from_wire(frame)), at);
                    if let Some(open) = self.open.take() {
                        retire(open.conn, None, limit);
                    }
                    return true;
                }
                frame => match transport::from_wire(frame) {
                    Some(message) if state.events_alive => {
                        let events = &mut state.events;
                        *delivered |= machine.handle_message_into(transport, message, at, events);
                    }
                    Some(message) => machine.handle_message(transport, message, at),
                    None => {
                        let error = TransportError::Protocol(transport::INVALID_UTF8.into());
                        self.peer_fault(state, transport, Violation::InvalidPayload, error, at);
                        return true;
                    }
                },
            }
        }
        let ended = match (sink_failed, ended) {
            (_, Some(end)) => Some(end),
            (Some(_), None) => Some(Err(tungstenite::Error::ConnectionClosed)),
            (None, None) => None,
        };
        let Some(end) = ended else {
            return false;
        };
        match end.map_err(|error| (violation(&error), error)) {
            Err((Some(violation), error)) => {
                let error = transport::classify(error);
                self.peer_fault(state, transport, violation, error, at);
            }
            end => {
                if self.open.take().is_some() {
                    let end = end.map_err(|(_, error)| error);
                    report_end(&mut state.machine, transport, end, at);
                }
            }
        }
        true
    }

    /// The peer broke the protocol: nothing more is read, and the connection stays
    /// open for the application's answers to what came before (tungstenite still
    /// writes after a read error; not after a close frame). It ends with the
    /// violation's close frame once the application caught up (see
    /// [`check_caught_up`](Self::check_caught_up)), or after the machine's grace.
    fn peer_fault(
        &mut self,
        state: &mut State,
        transport: TransportId,
        violation: Violation,
        error: TransportError,
        at: Instant,
    ) {
        if let Some(open) = self.open.as_mut() {
            open.faulted = true;
            state.read_paused = true;
        }
        state
            .machine
            .handle_peer_fault(transport, violation, error, at);
    }

    /// Carries out the machine's outputs; application code they ask for is set aside
    /// in `self.calls`. Returns who to wake once the lock is released, and whether any
    /// output was more than an event (a connection to open or close, a user call).
    fn perform_outputs(&mut self, state: &mut State) -> (Wakes, bool) {
        let mut delivered = false;
        let mut state_changed = false;
        let mut performed = false;
        while let Some(output) = state.machine.poll_output() {
            match output {
                Output::Event(event) => {
                    state_changed |= matches!(event, crate::Event::StateChanged(_));
                    if state.events_alive {
                        state.events.push_back(event);
                        delivered = true;
                    }
                }
                Output::UserCall(call) => {
                    performed = true;
                    self.calls.push(call);
                }
                Output::Connect { transport, request } => {
                    performed = true;
                    self.connecting = Some((transport, self.connect(request)));
                }
                Output::Close { transport, frame } => {
                    performed = true;
                    self.close_transport(state, transport, frame);
                }
            }
        }
        let wakes = Wakes {
            consumer: if delivered {
                state.consumer.take()
            } else {
                None
            },
            writers: state.writers_to_wake(),
            changed: state_changed,
        };
        (wakes, performed)
    }

    /// Runs the providers and predicates the machine asked for, without the lock (they
    /// may call back into the socket); true when there were any.
    fn run_user_calls(&mut self) -> bool {
        if self.calls.is_empty() {
            return false;
        }
        for call in std::mem::take(&mut self.calls) {
            match call {
                UserCall::ResolveQuery {
                    transport,
                    provider,
                } => {
                    self.resolving = Some((transport, provider.resolve_credentials()));
                }
                UserCall::Decide(question) => {
                    let answer = question.ask();
                    self.shared.lock().machine.handle_decision(answer, now());
                }
            }
        }
        true
    }

    fn connect(&self, request: ConnectRequest) -> Connecting {
        Box::pin(transport::connect(request, self.tls.clone()))
    }

    /// Drops the query, handshake or connection of `transport`. A connection given a
    /// close frame sends it and finishes in the background; without one it is dropped.
    fn close_transport(
        &mut self,
        state: &mut State,
        transport: TransportId,
        frame: Option<CloseFrame>,
    ) {
        if self
            .resolving
            .as_ref()
            .is_some_and(|(t, _)| *t == transport)
        {
            self.resolving = None;
        }
        if self
            .connecting
            .as_ref()
            .is_some_and(|(t, _)| *t == transport)
        {
            self.connecting = None;
        }
        if self
            .open
            .as_ref()
            .is_some_and(|open| open.transport == transport)
        {
            if let Some(open) = self.open.take() {
                match frame {
                    Some(frame) => {
                        let limit = state.machine.options().close_timeout();
                        retire(open.conn, Some(frame), limit);
                    }
                    // Abort: dropping the stream closes TCP without a close frame.
                    None => drop(open),
                }
            }
        }
    }
}

/// A change in how the open connection writes.
enum WriteFact {
    Blocked(TransportId),
    Progressed {
        transport: TransportId,
        still_blocked: bool,
    },
    Failed(TransportId, tungstenite::Error),
}

/// Reports that `transport` ended: cleanly (`Ok`) or with an error.
fn report_end(
    machine: &mut crate::Machine,
    transport: TransportId,
    end: Result<(), tungstenite::Error>,
    at: Instant,
) {
    match end {
        Err(error) if !transport::is_drop(&error) => {
            machine.handle_failed(transport, transport::classify(error), at)
        }
        _ => machine.handle_closed(transport, None, at),
    }
}

/// How `error` breaks the protocol, when it is the peer breaking it (a bad frame,
/// invalid UTF-8, a message over the limit) rather than the connection going away.
fn violation(error: &tungstenite::Error) -> Option<Violation> {
    if transport::is_drop(error) {
        return None;
    }
    match error {
        tungstenite::Error::Protocol(_) => Some(Violation::Protocol),
        tungstenite::Error::Utf8(_) => Some(Violation::InvalidPayload),
        tungstenite::Error::Capacity(_) => Some(Violation::TooBig),
        _ => None,
    }
}

impl Future for Driver {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        for _ in 0..PASSES {
            match this.pass(cx) {
                Step::Again => {}
                Step::Idle => return Poll::Pending,
                Step::Done => return Poll::Ready(()),
            }
        }
        // Still busy: let the runtime's other tasks run first.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Drop for Driver {
    /// Whether it finished or its runtime dropped it: handles and the event stream
    /// learn that the task is gone.
    fn drop(&mut self) {
        let wake = {
            let mut state = self.shared.lock();
            state.driver_stopped = true;
            Wakes {
                consumer: state.consumer.take(),
                writers: std::mem::take(&mut state.writers),
                changed: true,
            }
        };
        wake.run(&self.shared);
    }
}

/// Who to wake once the lock is released.
struct Wakes {
    consumer: Option<std::task::Waker>,
    writers: Vec<std::task::Waker>,
    changed: bool,
}

impl Wakes {
    fn run(self, shared: &Shared) {
        if let Some(consumer) = self.consumer {
            consumer.wake();
        }
        for writer in self.writers {
            writer.wake();
        }
        if self.changed {
            shared.changed.notify_waiters();
        }
    }
}

/// Reads the frames that are ready, up to `budget`, and queues the answers the
/// protocol asks for: a pong for a ping, the echo of a close.
fn read(
    open: &mut Open,
    cx: &mut Context<'_>,
    budget: usize,
    frames: &mut Vec<tungstenite::Message>,
) -> Ended {
    while frames.len() < budget {
        match open.conn.poll_read(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let closing = match &frame {
                    tungstenite::Message::Ping(data) => {
                        // tungstenite refuses it once our close is sent, when no pong is
                        // due; a write error shows again at the flush.
                        let pong = tungstenite::Message::Pong(data.clone());
                        open.unflushed |= open.conn.ws.start_send_unpin(pong).is_ok();
                        false
                    }
                    tungstenite::Message::Close(echo) => {
                        // The echo (refused when our own close went first, when none is
                        // due), written now, before the application hears of the close
                        // (and perhaps exits); what cannot be written at once is
                        // finished in the background.
                        let echo = tungstenite::Message::Close(echo.clone());
                        let _ = open.conn.ws.start_send_unpin(echo);
                        let _ = open.conn.ws.poll_flush_unpin(cx);
                        true
                    }
                    _ => false,
                };
                frames.push(frame);
                if closing {
                    break;
                }
            }
            Poll::Ready(Some(Err(error))) => return Some(Err(error)),
            Poll::Ready(None) => return Some(Ok(())),
            Poll::Pending => break,
        }
    }
    None
}

/// Lets a connection the machine is done with finish on its own, in the background:
/// sends `frame` when given (and whatever tungstenite still buffers, such as the answer
/// to the peer's close), then reads until the end of the stream, within `limit`.
/// Reports nothing: the machine has moved on.
fn retire(mut conn: Connection, frame: Option<CloseFrame>, limit: std::time::Duration) {
    tokio::spawn(async move {
        let finish = async {
            let sent = match frame {
                Some(frame) => conn.ws.close(Some(transport::close_to_wire(frame))).await,
                None => conn.ws.flush().await,
            };
            if sent.is_err() {
                return;
            }
            for _ in 0..1024 {
                match std::future::poll_fn(|cx| conn.poll_read(cx)).await {
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                }
            }
        };
        let _ = tokio::time::timeout(limit, finish).await;
    });
}
