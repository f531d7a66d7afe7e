//! The native driver: a cloneable handle and an event stream over one tokio task per
//! socket, sharing the core machine behind a lock.

mod dial;
mod driver;
#[cfg(feature = "fetch")]
mod fetch;
mod handshake;
mod reader;
mod shared;
mod tls;
mod transport;
mod wire;

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::{Sink, Stream};
use tracing::Instrument;

use self::driver::Driver;
#[cfg(feature = "fetch")]
pub use self::fetch::{FetchError, FetchInit, FetchResponse};
use self::shared::{SINK_HIGH_WATER, Shared};
pub use self::tls::{TlsConfig, TlsConfigBuilder};

use crate::{
    CloseFrame, ConnectionState, Error, Event, Machine, Message, OptionsUpdate, PartySocketOptions,
    ReadyState, SendOutcome,
};

/// Entry points for the cargo-fuzz targets in `fuzz/`; built only with `--cfg fuzzing`.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_hooks {
    /// Parses `bytes` as the server's answer to a handshake whose key is `key` and which
    /// offered `protocols`: `Ok(None)` while incomplete, else the head's length and
    /// the chosen subprotocol.
    pub fn handshake_response(
        bytes: &[u8],
        key: &[u8],
        protocols: &[&str],
    ) -> Result<Option<(usize, Option<String>)>, crate::TransportError> {
        super::handshake::parse_response(bytes, &super::handshake::Expected::new(key, protocols))
    }

    /// `Sec-WebSocket-Accept` for `key`.
    pub fn accept_key(key: &[u8]) -> String {
        tokio_tungstenite::tungstenite::handshake::derive_accept_key(key)
    }
}

/// A reconnecting PartyKit socket on tokio.
///
/// A cheap, cloneable, `Send + Sync` handle. Every method is synchronous: it changes
/// the socket's state at once (a send is queued or handed to the connection before it
/// returns) and wakes the socket's task, which does the I/O. Events arrive on the
/// [`Events`] stream returned next to it. When the last handle is dropped the task
/// closes the connection gracefully and ends.
///
/// ```no_run
/// use partysocket::{Event, PartySocket, PartySocketOptions};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let options = PartySocketOptions::builder("localhost:1999").room("lobby").build()?;
/// let (socket, mut events) = PartySocket::connect(options)?;
/// socket.send("hello")?;
/// while let Some(event) = events.recv().await {
///     if let Event::Message(message) = event {
///         println!("{message:?}");
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub struct PartySocket {
    shared: Arc<Shared>,
}

impl fmt::Debug for PartySocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("PartySocket")
            .field("room_url", &state.machine.room_url())
            .field("id", &state.machine.id())
            .field("state", &state.machine.connection_state())
            .finish()
    }
}

impl Clone for PartySocket {
    fn clone(&self) -> Self {
        self.shared.lock().handles += 1;
        PartySocket {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for PartySocket {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.shared.lock();
            state.handles -= 1;
            if state.handles > 0 {
                return;
            }
            state.wake_driver()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl PartySocket {
    /// Starts a socket on the current tokio runtime, trusting the bundled web roots for
    /// `wss://`. Unless the options start closed, it connects at once.
    ///
    /// # Errors
    ///
    /// [`Error::NoRuntime`] outside a tokio runtime; [`Error::Tls`] when the bundled
    /// roots cannot be loaded.
    pub fn connect(options: PartySocketOptions) -> Result<(PartySocket, Events), Error> {
        PartySocket::connect_with(options, TlsConfig::webpki_roots()?)
    }

    /// Like [`connect`](Self::connect), with the given TLS configuration (extra trusted
    /// certificates, the system's roots).
    ///
    /// # Errors
    ///
    /// [`Error::NoRuntime`] outside a tokio runtime.
    pub fn connect_with(
        options: PartySocketOptions,
        tls: TlsConfig,
    ) -> Result<(PartySocket, Events), Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let span =
            tracing::info_span!("partysocket", id = %options.id(), room = %options.room_url());
        let machine = Machine::new(options, driver::now());
        let shared = Shared::new(machine);
        runtime.spawn(Driver::new(Arc::clone(&shared), tls).instrument(span));
        Ok((
            PartySocket {
                shared: Arc::clone(&shared),
            },
            Events {
                shared,
                batch: VecDeque::new(),
                trims: 0,
            },
        ))
    }

    /// Sends a text or binary message now when open; otherwise queues it for the next
    /// connection. The outcome says which, or why it was dropped.
    ///
    /// A message reported [`SendOutcome::Sent`] is accepted for the open connection:
    /// it stays in the socket's queue, in order, until the connection can take it, so
    /// a connection that fails, is replaced ([`reconnect`](Self::reconnect)) or closes
    /// before taking it leaves it queued for the next one. Once taken (handed to the
    /// WebSocket layer on its way to the operating system) it is in flight: a
    /// connection that dies then loses it, or a server that goes on reading the
    /// abandoned connection reads it late, after newer messages on the next one (at
    /// most once, and in order on each connection), as with any WebSocket.
    ///
    /// # Errors
    ///
    /// [`Error::DriverStopped`] when the socket's task has ended (its runtime shut
    /// down).
    pub fn send(&self, message: impl Into<Message>) -> Result<SendOutcome, Error> {
        let message = message.into();
        self.shared
            .send(|machine| machine.send(message))
            .ok_or(Error::DriverStopped)
    }

    /// Like [`send`](Self::send), but while disconnected a queued message with the same
    /// `key` is replaced: only the latest per key is sent on reconnect.
    ///
    /// # Errors
    ///
    /// [`Error::DriverStopped`] when the socket's task has ended.
    pub fn send_coalesced(
        &self,
        key: impl Into<String>,
        message: impl Into<Message>,
    ) -> Result<SendOutcome, Error> {
        let (key, message) = (key.into(), message.into());
        self.shared
            .send(|machine| machine.send_coalesced(key, message))
            .ok_or(Error::DriverStopped)
    }

    /// Serializes `value` as JSON and sends it as a text message.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] when `value` cannot be serialized, [`Error::DriverStopped`] when
    /// the task has ended.
    #[cfg(feature = "json")]
    pub fn send_json<T: serde::Serialize + ?Sized>(&self, value: &T) -> Result<SendOutcome, Error> {
        let message = Message::to_json(value).map_err(|err| Error::Json(crate::Cause::new(err)))?;
        self.send(message)
    }

    /// Closes with code 1000 and stops reconnecting; see [`close_with`](Self::close_with).
    ///
    /// # Errors
    ///
    /// [`Error::DriverStopped`] when the task has ended.
    pub fn close(&self) -> Result<(), Error> {
        self.close_with(CloseFrame::normal())
    }

    /// Closes with `frame` and stops reconnecting until [`reconnect`](Self::reconnect).
    /// An open connection closes gracefully: the state is
    /// [`ConnectionState::Closing`] until the server answers or the close timeout
    /// passes, then [`Event::Close`] reports how it ended (wait for it with
    /// [`closed`](Self::closed)). Queued messages are kept.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCloseCode`] and [`Error::CloseReasonTooLong`] for frames an
    /// application may not send (nothing changes then); [`Error::DriverStopped`] when
    /// the task has ended.
    pub fn close_with(&self, frame: CloseFrame) -> Result<(), Error> {
        self.live()?;
        self.shared
            .command(|machine| machine.close(frame, driver::now()))
    }

    /// Connects now: replaces the current connection, cuts a backoff wait short, resets
    /// the retry count, and revives a socket that was closed or gave up. When it
    /// returns, [`connection_state`](Self::connection_state) already reads
    /// `Connecting` (or `BackingOff` when a server's `Retry-After` still holds).
    ///
    /// # Errors
    ///
    /// [`Error::Options`] when no room or base path is set; [`Error::DriverStopped`]
    /// when the task has ended.
    pub fn reconnect(&self) -> Result<(), Error> {
        self.live()?;
        self.shared
            .command(|machine| machine.reconnect(driver::now()))
    }

    /// Changes the destination or credentials for the next connection (call
    /// [`reconnect`](Self::reconnect) to apply them now). Changes accumulate; the id
    /// stays unless set.
    ///
    /// # Errors
    ///
    /// [`Error::Options`] when the merged options are invalid (nothing changes then);
    /// [`Error::DriverStopped`] when the task has ended.
    pub fn update(&self, update: OptionsUpdate) -> Result<(), Error> {
        self.live()?;
        self.shared.command(|machine| machine.update(update))
    }

    /// Removes and returns the queued messages, oldest first.
    pub fn drain_queue(&self) -> Vec<Message> {
        self.shared.command(Machine::drain_queue)
    }

    fn live(&self) -> Result<(), Error> {
        if self.shared.lock().driver_stopped {
            Err(Error::DriverStopped)
        } else {
            Ok(())
        }
    }

    fn read<T>(&self, read: impl FnOnce(&Machine) -> T) -> T {
        read(&self.shared.lock().machine)
    }

    /// The connection id (`_pk`).
    pub fn id(&self) -> String {
        self.read(|machine| machine.id().to_owned())
    }

    /// The room URL, without query.
    pub fn room_url(&self) -> String {
        self.read(Machine::room_url)
    }

    /// The URL of the latest attempt, `None` before the first. Query values (tokens)
    /// included: redact before logging.
    pub fn url(&self) -> Option<String> {
        self.read(|machine| machine.url().map(str::to_owned))
    }

    /// The subprotocol the server chose on the latest connection.
    pub fn protocol(&self) -> Option<String> {
        self.read(|machine| machine.protocol().map(str::to_owned))
    }

    /// The options in force (after updates).
    pub fn options(&self) -> PartySocketOptions {
        self.read(|machine| machine.options().clone())
    }

    /// The WebSocket `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.read(Machine::ready_state)
    }

    /// The detailed connection state.
    pub fn connection_state(&self) -> ConnectionState {
        self.read(Machine::connection_state)
    }

    /// Attempts since the last stable connection or `reconnect()`.
    pub fn retry_count(&self) -> u32 {
        self.read(Machine::retry_count)
    }

    /// Payload bytes not yet handed to a connection: queued while disconnected, or
    /// waiting for the open connection to take them. UTF-8 bytes for text (upstream
    /// counts UTF-16 units).
    pub fn buffered_amount(&self) -> usize {
        self.read(Machine::buffered_amount)
    }

    /// Waits until the connection state satisfies `predicate` (checked now, then on
    /// every change) and returns that state.
    ///
    /// # Errors
    ///
    /// [`Error::DriverStopped`] when the task ends first.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn wait_for(
        &self,
        mut predicate: impl FnMut(&ConnectionState) -> bool,
    ) -> Result<ConnectionState, Error> {
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let (current, stopped) = {
                let state = self.shared.lock();
                (state.machine.connection_state(), state.driver_stopped)
            };
            // The predicate is the application's code: it runs without the lock, so it
            // may use this socket (or another handle of it).
            if predicate(&current) {
                return Ok(current);
            }
            if stopped {
                return Err(Error::DriverStopped);
            }
            changed.await;
        }
    }

    /// Waits until the connection is open.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] when the socket stops (closed, gave up, retries exhausted)
    /// instead; [`Error::DriverStopped`] when the task ends.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn opened(&self) -> Result<(), Error> {
        self.wait_for(ConnectionState::is_settled)
            .await?
            .into_open_result()
    }

    /// Waits until the socket is closed (after [`close`](Self::close), or when it gave
    /// up) and returns why.
    ///
    /// # Errors
    ///
    /// [`Error::DriverStopped`] when the task ends first.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&self) -> Result<crate::StopReason, Error> {
        match self
            .wait_for(|state| matches!(state, ConnectionState::Closed { .. }))
            .await?
        {
            ConnectionState::Closed { reason } => Ok(reason),
            _ => Err(Error::DriverStopped),
        }
    }
}

/// For code written against tokio-tungstenite's `Sink`: `send(message).await` through
/// `SinkExt`. An item is accepted as by [`PartySocket::send`]; a dropped one is an
/// [`Error::MessageDropped`]. Like tokio-tungstenite's, the sink buffers: a fed
/// message goes out on the next flush (`SinkExt::send` flushes), once 128 KiB wait, or
/// with the next write the socket makes anyway, so a burst of `feed`s costs one
/// write. The sink is not ready while more than 1 MiB waits for the open connection to
/// take it, so a fast producer follows the network's pace; flushing waits until the
/// open connection has taken everything.
impl Sink<Message> for PartySocket {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // Well under the mark (the common case) no lock is needed: the figure is the
        // one the last holder of the lock left, and a sender that raced past it
        // overshoots by one message, as one that took the lock would.
        if self.shared.sink_unsent() < SINK_HIGH_WATER {
            return Poll::Ready(Ok(()));
        }
        self.poll_unwritten(cx, SINK_HIGH_WATER)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        match self.shared.feed(message).ok_or(Error::DriverStopped)? {
            SendOutcome::Dropped(reason) => Err(Error::MessageDropped(reason)),
            _ => Ok(()),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_unwritten(cx, 1)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self.as_ref().poll_unwritten(cx, 1) {
            Poll::Ready(_) => Poll::Ready(self.close()),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl PartySocket {
    /// Ready once fewer than `limit` unsent bytes wait for an open connection.
    fn poll_unwritten(&self, cx: &mut Context<'_>, limit: usize) -> Poll<Result<(), Error>> {
        let mut state = self.shared.lock();
        if state.driver_stopped {
            return Poll::Ready(Err(Error::DriverStopped));
        }
        if state.unsent_for_sink() < limit {
            return Poll::Ready(Ok(()));
        }
        if !state.writers.iter().any(|w| w.will_wake(cx.waker())) {
            state.writers.push(cx.waker().clone());
        }
        // What `start_send` fed may not have woken the driver yet.
        let driver = state.wake_driver();
        drop(state);
        if let Some(driver) = driver {
            driver.wake();
        }
        Poll::Pending
    }
}

/// The events of one socket, in order: a [`Stream`], also readable with
/// [`recv`](Events::recv). Ends when the socket's task has ended.
///
/// At most `event_capacity` events (an option, default 1024) wait here, plus the few
/// state events of a connection that ends meanwhile: when they do, the socket stops
/// reading from the server, which then feels TCP backpressure, until
/// the application catches up. Dropping the stream discards events from then on and
/// never pauses reading.
pub struct Events {
    shared: Arc<Shared>,
    /// Events taken from the shared queue in one batch, yielded one by one.
    batch: VecDeque<Event>,
    /// The driver's trim count when the batch was last trimmed.
    trims: u64,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("in_hand", &self.batch.len())
            .finish_non_exhaustive()
    }
}

impl Events {
    /// How many events wait to be read: at most the options' `event_capacity`, plus
    /// the few state events (close, error, state change) of a connection that ends
    /// while the queue is full.
    pub fn len(&self) -> usize {
        let state = self.shared.lock();
        // Events of the batch in hand that were already yielded are not counted.
        state.events.len() + self.batch.len()
    }

    /// Whether no event waits to be read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next event, or `None` once the socket's task has ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an event is never lost to a dropped future.
    pub async fn recv(&mut self) -> Option<Event> {
        std::future::poll_fn(|cx| self.poll_event(Some(cx))).await
    }

    /// The next event if one is ready, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        match self.poll_event(None) {
            Poll::Ready(event) => event,
            Poll::Pending => None,
        }
    }

    fn poll_event(&mut self, cx: Option<&mut Context<'_>>) -> Poll<Option<Event>> {
        if let Some(event) = self.batch.pop_front() {
            return Poll::Ready(Some(event));
        }
        let driver = {
            let mut state = self.shared.lock();
            if state.trims != self.trims {
                // The socket was quiet: a burst must not pin its peak here either.
                self.trims = state.trims;
                self.batch.shrink_to_fit();
            }
            if state.events.is_empty() {
                state.events_in_hand = 0;
                if state.driver_stopped {
                    return Poll::Ready(None);
                }
                if let Some(cx) = cx {
                    match &state.consumer {
                        Some(waker) if waker.will_wake(cx.waker()) => {}
                        _ => state.consumer = Some(cx.waker().clone()),
                    }
                }
                let driver = state.read_paused.then(|| state.wake_driver()).flatten();
                drop(state);
                if let Some(driver) = driver {
                    driver.wake();
                }
                return Poll::Pending;
            }
            std::mem::swap(&mut self.batch, &mut state.events);
            state.events_in_hand = self.batch.len();
            // The driver paused reading at capacity: there is room again.
            state.read_paused.then(|| state.wake_driver()).flatten()
        };
        if let Some(driver) = driver {
            driver.wake();
        }
        Poll::Ready(self.batch.pop_front())
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.get_mut().poll_event(Some(cx))
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.shared.lock();
            state.events_alive = false;
            state.events.clear();
            state.events_in_hand = 0;
            state.wake_driver()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}
