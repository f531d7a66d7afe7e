//! The socket's task: one poll loop that carries out the machine's outputs, writes,
//! flushes, reads and keeps one timer. It ends when every handle is dropped (after a
//! graceful close) or with its runtime.
//!
//! Each pass: take the machine's outputs under the lock (events go to the shared
//! queue, frames to the connection's write queue); then, without the lock, feed the
//! connection everything it accepts and flush once, read frames until none is ready or
//! the budget is spent (unless the application's events are at capacity), poll the
//! query or handshake in progress and the timer; then report what happened under the
//! lock once. A write that cannot progress never stops the reads, the timer or the
//! commands: the machine's write deadline turns it into a reconnect.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::{SinkExt, StreamExt};
use tokio::time::Sleep;
use tokio_tungstenite::tungstenite;
use web_time::Instant;

use super::shared::{Shared, State};
use super::tls::TlsConfig;
use super::transport::{self, Ws};
use crate::{
    CloseFrame, ConnectRequest, ConnectionState, Message, Output, QueryFuture, TransportError,
    TransportId,
};

/// The current time on tokio's clock (so paused-clock tests drive the machine too).
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

type Connecting =
    Pin<Box<dyn Future<Output = Result<(Ws, Option<String>), TransportError>> + Send>>;

/// Frames read in one pass before the other work gets a turn.
const READ_BUDGET: usize = 256;
/// Passes in one poll before the task yields to the runtime.
const PASSES: usize = 16;
/// Write-queue slots kept allocated between bursts.
const PENDING_KEPT: usize = 64;

/// The open connection and what waits to be written to it.
struct Open {
    transport: TransportId,
    ws: Ws,
    /// Messages taken from the machine and not yet handed to tungstenite.
    pending: VecDeque<Message>,
    pending_bytes: usize,
    ping: bool,
    /// Frames were handed to tungstenite since the last completed flush.
    unflushed: bool,
    /// Bytes written to the operating system at the last look.
    written: u64,
}

impl Open {
    fn new(transport: TransportId, ws: Ws) -> Box<Open> {
        Box::new(Open {
            transport,
            written: transport::written(&ws),
            ws,
            pending: VecDeque::new(),
            pending_bytes: 0,
            ping: false,
            unflushed: false,
        })
    }

    fn has_unwritten(&self) -> bool {
        !self.pending.is_empty() || self.ping || self.unflushed
    }

    /// Hands tungstenite everything it accepts, then flushes.
    fn write(&mut self, cx: &mut Context<'_>) -> Result<WriteStatus, tungstenite::Error> {
        while self.ping || !self.pending.is_empty() {
            if self.ws.poll_ready_unpin(cx)?.is_pending() {
                break;
            }
            let frame = if std::mem::take(&mut self.ping) {
                tungstenite::Message::Ping(bytes::Bytes::new())
            } else {
                let Some(message) = self.pending.pop_front() else {
                    break;
                };
                self.pending_bytes -= message.len();
                transport::to_wire(message)
            };
            self.ws.start_send_unpin(frame)?;
            self.unflushed = true;
        }
        if self.pending.is_empty() && self.pending.capacity() > PENDING_KEPT {
            self.pending = VecDeque::new();
        }
        if self.unflushed && self.ws.poll_flush_unpin(cx)?.is_ready() {
            self.unflushed = false;
        }
        let written = transport::written(&self.ws);
        let progressed = written != self.written;
        self.written = written;
        Ok(if self.has_unwritten() {
            WriteStatus::Blocked { progressed }
        } else {
            WriteStatus::Done
        })
    }
}

enum WriteStatus {
    Done,
    Blocked { progressed: bool },
}

/// What one pass found on the open connection.
#[derive(Default)]
struct Reads {
    frames: Vec<tungstenite::Message>,
    /// The connection ended: `Ok(None)` without a close frame, `Err` on an error.
    ended: Option<Result<(), tungstenite::Error>>,
}

pub(crate) struct Driver {
    shared: Arc<Shared>,
    tls: TlsConfig,
    resolving: Option<(TransportId, QueryFuture)>,
    connecting: Option<(TransportId, Connecting)>,
    open: Option<Box<Open>>,
    timer: Option<(Instant, Pin<Box<Sleep>>)>,
    handles_gone: bool,
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
            handles_gone: false,
        }
    }

    fn pass(&mut self, cx: &mut Context<'_>) -> Step {
        let mut progressed = false;

        // Commands, timers and outputs, under the lock.
        let shared = Arc::clone(&self.shared);
        let (deadline, events_room, wake) = {
            let mut state = shared.lock();
            state.driver_running(cx.waker());
            let at = now();
            if state.handles == 0 && !self.handles_gone {
                // Every handle is gone: close gracefully, then stop once closed.
                self.handles_gone = true;
                let _ = state.machine.close(CloseFrame::normal(), at);
            }
            if state.machine.poll_timeout().is_some_and(|due| due <= at) {
                state.machine.handle_timeout(at);
            }
            let (delivered, state_changed) = self.perform_outputs(&mut state);
            if self.handles_gone
                && self.open.is_none()
                && matches!(
                    state.machine.connection_state(),
                    ConnectionState::Closed { .. }
                )
            {
                return Step::Done;
            }
            let events_room = state.events_room();
            let events_full = events_room == 0;
            if let Some(open) = &self.open {
                if state.read_paused != events_full {
                    state.read_paused = events_full;
                    state
                        .machine
                        .handle_read_paused(open.transport, events_full, at);
                }
            }
            let consumer = if delivered {
                state.consumer.take()
            } else {
                None
            };
            (
                state.machine.poll_timeout(),
                events_room,
                Wakes {
                    consumer,
                    writers: state.writers_to_wake(),
                    changed: state_changed,
                },
            )
        };
        wake.run(&self.shared);

        progressed |= self.poll_timer(deadline, cx);

        if let Some((transport, query)) = &mut self.resolving {
            if let Poll::Ready(result) = query.as_mut().poll(cx) {
                let transport = *transport;
                self.resolving = None;
                self.shared
                    .lock()
                    .machine
                    .handle_query_resolved(transport, result, now());
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

        if let Some(open) = &mut self.open {
            let write = open.write(cx);
            let reads = if events_room == 0 || opened_now || write.is_err() {
                Reads::default()
            } else {
                // Each frame makes at most one event: never read past the capacity.
                read(&mut open.ws, cx, events_room.min(READ_BUDGET))
            };
            progressed |= !reads.frames.is_empty() || reads.ended.is_some();
            progressed |= self.report(write, reads);
        }

        if progressed { Step::Again } else { Step::Idle }
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

    /// Tells the machine what the open connection did; true when that changed
    /// anything.
    fn report(&mut self, write: Result<WriteStatus, tungstenite::Error>, reads: Reads) -> bool {
        let Some(open) = &mut self.open else {
            return false;
        };
        let transport = open.transport;
        let at = now();
        let mut state = self.shared.lock();
        let machine = &mut state.machine;
        let mut changed = false;
        let failure = match write {
            Ok(WriteStatus::Done) => {
                machine.handle_write_progress(transport);
                None
            }
            Ok(WriteStatus::Blocked { progressed }) => {
                if progressed {
                    machine.handle_write_progress(transport);
                }
                machine.handle_write_blocked(transport, at);
                None
            }
            Err(error) => Some(error),
        };
        for frame in reads.frames {
            changed = true;
            match frame {
                tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => {
                    // tungstenite answers pings itself; both directions prove the peer
                    // alive.
                    machine.handle_pong(transport, at);
                }
                tungstenite::Message::Close(frame) => {
                    // Let tungstenite send its echo and see the end of the stream, in
                    // the background and bounded.
                    let Some(open) = self.open.take() else { break };
                    let Open { ws, pending, .. } = *open;
                    machine.requeue(transport, pending.into());
                    let limit = machine.options().close_timeout();
                    machine.handle_closed(transport, Some(transport::close_from_wire(frame)), at);
                    finish_in_background(&self.shared, transport, ws, None, limit);
                    break;
                }
                frame => match transport::from_wire(frame) {
                    Some(message) => machine.handle_message(transport, message, at),
                    None => machine.handle_failed(
                        transport,
                        TransportError::Protocol("a text message was not valid UTF-8".into()),
                        at,
                    ),
                },
            }
        }
        let ended = match (failure, reads.ended) {
            (Some(error), _) | (None, Some(Err(error))) => Some(Some(error)),
            (None, Some(Ok(()))) => Some(None),
            (None, None) => None,
        };
        if let Some(error) = ended {
            if let Some(open) = self.open.take() {
                changed = true;
                machine.requeue(transport, open.pending.into());
                match error {
                    Some(error) if !transport::is_drop(&error) => {
                        machine.handle_failed(transport, transport::classify(error), at)
                    }
                    _ => machine.handle_closed(transport, None, at),
                }
            }
        }
        state.unwritten_bytes = self.open.as_ref().map_or(0, |open| open.pending_bytes);
        changed
    }

    /// Carries out the machine's outputs: whether events were delivered, and whether
    /// the connection state changed.
    fn perform_outputs(&mut self, state: &mut State) -> (bool, bool) {
        let mut delivered = false;
        let mut state_changed = false;
        while let Some(output) = state.machine.poll_output() {
            match output {
                Output::Event(event) => {
                    state_changed |= matches!(event, crate::Event::StateChanged(_));
                    if state.events_alive {
                        state.events.push_back(event);
                        delivered = true;
                    }
                }
                Output::Send { transport, message } => match &mut self.open {
                    Some(open) if open.transport == transport => {
                        open.pending_bytes += message.len();
                        open.pending.push_back(message);
                    }
                    // The machine only sends on the open transport; keep it anyway (with
                    // the sends behind it, in order).
                    _ => state.machine.requeue(transport, vec![message]),
                },
                Output::Ping { transport } => {
                    if let Some(open) = self.open.as_mut().filter(|o| o.transport == transport) {
                        open.ping = true;
                    }
                }
                Output::ResolveQuery {
                    transport,
                    provider,
                } => self.resolving = Some((transport, provider.resolve())),
                Output::Connect { transport, request } => {
                    self.connecting = Some((transport, self.connect(request)));
                }
                Output::Close { transport, frame } => self.close_transport(state, transport, frame),
            }
        }
        if state.events.is_empty() && state.events.capacity() > PENDING_KEPT {
            state.events = VecDeque::new();
        }
        state.unwritten_bytes = self.open.as_ref().map_or(0, |open| open.pending_bytes);
        (delivered, state_changed)
    }

    fn connect(&self, request: ConnectRequest) -> Connecting {
        Box::pin(transport::connect(request, self.tls.clone()))
    }

    /// Drops the query, handshake or connection of `transport`. An open connection
    /// closed with a frame writes what is pending, then closes gracefully in the
    /// background; aborted, its unwritten messages go back to the queue.
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
                let Open { ws, pending, .. } = *open;
                match frame {
                    Some(frame) => {
                        let limit = state.machine.options().close_timeout();
                        let last_words = (pending, frame);
                        finish_in_background(&self.shared, transport, ws, Some(last_words), limit);
                    }
                    None => {
                        // Abort: dropping the stream closes TCP without a close frame.
                        state.machine.requeue(transport, pending.into());
                        drop(ws);
                    }
                }
            }
        }
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
            state.unwritten_bytes = 0;
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

/// Reads the frames that are ready, up to `budget`.
fn read(ws: &mut Ws, cx: &mut Context<'_>, budget: usize) -> Reads {
    let mut reads = Reads::default();
    while reads.frames.len() < budget {
        match ws.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let closing = matches!(frame, tungstenite::Message::Close(_));
                reads.frames.push(frame);
                if closing {
                    break;
                }
            }
            Poll::Ready(Some(Err(error))) => {
                reads.ended = Some(Err(error));
                break;
            }
            Poll::Ready(None) => {
                reads.ended = Some(Ok(()));
                break;
            }
            Poll::Pending => break,
        }
    }
    reads
}

/// Writes `last_words` (pending messages, then our close frame) when given, and reads
/// until the peer's close frame or the end of the stream, within `limit`; reports the
/// outcome to the machine when we closed.
fn finish_in_background(
    shared: &Arc<Shared>,
    transport: TransportId,
    mut ws: Ws,
    last_words: Option<(VecDeque<Message>, CloseFrame)>,
    limit: std::time::Duration,
) {
    let shared = Arc::clone(shared);
    let reply_wanted = last_words.is_some();
    tokio::spawn(async move {
        let handshake = async {
            if let Some((pending, frame)) = last_words {
                for message in pending {
                    if ws.feed(transport::to_wire(message)).await.is_err() {
                        return None;
                    }
                }
                if ws
                    .close(Some(transport::close_to_wire(frame)))
                    .await
                    .is_err()
                {
                    return None;
                }
            }
            let mut answer = None;
            for _ in 0..1024 {
                match ws.next().await {
                    Some(Ok(tungstenite::Message::Close(frame))) => {
                        answer = Some(transport::close_from_wire(frame))
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                }
            }
            answer
        };
        let answer = tokio::time::timeout(limit, handshake).await.unwrap_or(None);
        if reply_wanted {
            let waker = {
                let mut state = shared.lock();
                state.machine.handle_closed(transport, answer, now());
                state.wake_driver()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    });
}
