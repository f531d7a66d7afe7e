//! The foreign-facing socket: the native handle on one shared runtime, events through a
//! listener or `next_event()`, and a `close()` that ends the socket's task.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use partysocket::Events;
use tokio::runtime::Runtime;

use crate::credentials::{AsyncCredentialsProvider, CredentialsProvider, Provider};
use crate::error::PartySocketError;
use crate::event::{
    CloseFrame, ConnectionState, Event, Message, ReadyState, SendOutcome, SocketFailure, StopReason,
};
use crate::lifecycle;
use crate::options::{OptionsUpdate, PartySocketOptions};

/// How long after `close()` the handle is kept at most, beyond the close timeout, so the
/// accessors report the closing state until the close completes.
const CLOSE_MARGIN: Duration = Duration::from_secs(1);

/// Receives a socket's events in order, on a thread of that socket's own
/// (`partysocket-listener`): a slow callback delays only its socket's events (once
/// `event_capacity` of them wait, that socket stops reading), never another socket's
/// I/O or heartbeat. A callback that throws is reported to
/// `on_error` as [`SocketFailure::ListenerFailed`]; the socket keeps working.
///
/// The socket holds the listener until its task ends (after `close()` or when the
/// socket object is released), so a listener may refer to its socket: closing the
/// socket releases the listener.
///
/// The callbacks may throw (Kotlin and Python: any exception; Swift: any error): what
/// they throw arrives as a [`ListenerError`] instead of unwinding through the socket, so
/// a throwing listener works the same in builds that abort on panic.
#[uniffi::export(with_foreign)]
pub trait PartySocketListener: Send + Sync {
    /// A connection opened (queued messages were sent first).
    fn on_open(&self, url: String, protocol: Option<String>) -> Result<(), ListenerError>;
    /// A message arrived.
    fn on_message(&self, message: Message) -> Result<(), ListenerError>;
    /// A connection closed, or an attempt that had started a handshake failed.
    fn on_close(&self, frame: CloseFrame, was_clean: bool) -> Result<(), ListenerError>;
    /// Something failed (a transport failure, retries exhausted, evicted messages, a
    /// listener that threw), with a sentence describing it.
    fn on_error(&self, error: SocketFailure, description: String) -> Result<(), ListenerError>;
    /// The connection state changed.
    fn on_state_change(&self, state: ConnectionState) -> Result<(), ListenerError>;
}

/// What a listener callback threw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ListenerError {
    /// The callback failed; `reason` describes what it threw.
    #[error("{reason}")]
    Failed {
        /// What the callback threw.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        // Foreign exceptions arrive with their stack trace: keep the first line, the
        // exception and its message.
        let reason = error.reason.lines().next().unwrap_or_default().to_owned();
        ListenerError::Failed { reason }
    }
}

/// The runtime every socket of this process runs on: started by the first socket,
/// two worker threads named `partysocket`.
pub(crate) fn runtime() -> Result<&'static Runtime, PartySocketError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("partysocket")
                .enable_all()
                .build()
                .map_err(|err| err.to_string())
        })
        .as_ref()
        .map_err(|err| PartySocketError::Startup(format!("cannot start its threads: {err}")))
}

/// What the accessors report once the handle is released.
#[derive(Debug, Clone)]
struct Snapshot {
    id: String,
    room_url: String,
    url: Option<String>,
    protocol: Option<String>,
}

/// A socket's native handle and what its accessors report.
#[derive(Debug)]
pub(crate) struct Handle {
    /// The native handle; `None` once the socket was closed and its close completed.
    socket: Option<partysocket::PartySocket>,
    /// Set by `close()`: commands fail from then on.
    closed: bool,
    last: Snapshot,
}

/// A reconnecting PartyKit socket.
///
/// Create it from [`PartySocketOptions`] with an optional [`PartySocketListener`].
/// Events go to the listener when one is given, else to [`next_event`](Self::next_event).
/// `close()` closes the connection gracefully and ends the socket's task; releasing the
/// object (Kotlin `close()`/`use {}`, Swift `deinit`, Python garbage collection) does the
/// same with code 1000.
#[derive(Debug, uniffi::Object)]
pub struct PartySocket {
    handle: Arc<Mutex<Handle>>,
    /// The event stream for `next_event()`; `None` when a listener has it.
    events: tokio::sync::Mutex<Option<Events>>,
    /// Ends a waiting `next_event()` early (`interrupt_next_event()`).
    interrupt: tokio::sync::Notify,
    close_timeout: Duration,
}

fn lock(handle: &Mutex<Handle>) -> MutexGuard<'_, Handle> {
    // A panic cannot leave `Handle` half-updated: recover the guard.
    handle.lock().unwrap_or_else(PoisonError::into_inner)
}

#[uniffi::export]
impl PartySocket {
    /// Creates the socket and, unless `start_closed` is set, starts connecting.
    ///
    /// # Errors
    ///
    /// [`PartySocketError::InvalidOptions`] naming the first invalid option.
    /// `credentials`, when given, is asked for the query parameters before every
    /// attempt (see [`CredentialsProvider`]).
    #[uniffi::constructor(default(listener = None, credentials = None))]
    pub fn new(
        options: PartySocketOptions,
        listener: Option<Arc<dyn PartySocketListener>>,
        credentials: Option<Arc<dyn CredentialsProvider>>,
    ) -> Result<Arc<PartySocket>, PartySocketError> {
        PartySocket::create(options, listener, credentials.map(Provider::Blocking))
    }

    /// Like [`new`](Self::new) with an [`AsyncCredentialsProvider`], awaited before
    /// every attempt instead of asked on a blocking thread.
    ///
    /// # Errors
    ///
    /// [`PartySocketError::InvalidOptions`] naming the first invalid option.
    #[uniffi::constructor(default(listener = None))]
    pub fn with_async_credentials(
        options: PartySocketOptions,
        credentials: Arc<dyn AsyncCredentialsProvider>,
        listener: Option<Arc<dyn PartySocketListener>>,
    ) -> Result<Arc<PartySocket>, PartySocketError> {
        PartySocket::create(options, listener, Some(Provider::Async(credentials)))
    }

    /// Sends a text message now when open, else queues it for the next connection.
    ///
    /// # Errors
    ///
    /// [`PartySocketError::Closed`] after `close()`.
    pub fn send_text(&self, text: String) -> Result<SendOutcome, PartySocketError> {
        self.command(|socket| socket.send(text))
    }

    /// Sends a binary message now when open, else queues it.
    ///
    /// # Errors
    ///
    /// [`PartySocketError::Closed`] after `close()`.
    pub fn send_binary(&self, data: Vec<u8>) -> Result<SendOutcome, PartySocketError> {
        self.command(|socket| socket.send(data))
    }

    /// Sends a message; while disconnected, a queued message with the same `key` is
    /// replaced, so only the latest per key is sent on reconnect.
    ///
    /// # Errors
    ///
    /// [`PartySocketError::Closed`] after `close()`.
    pub fn send_coalesced(
        &self,
        key: String,
        message: Message,
    ) -> Result<SendOutcome, PartySocketError> {
        self.command(|socket| socket.send_coalesced(key, partysocket::Message::from(message)))
    }

    /// Closes with code 1000; see [`close_with`](Self::close_with).
    ///
    /// # Errors
    ///
    /// [`PartySocketError::Closed`] when already closed.
    pub fn close(&self) -> Result<(), PartySocketError> {
        self.close_with(partysocket::CloseFrame::NORMAL, String::new())
    }

    /// Closes with `code` (1000 or 3000 to 4999) and `reason` (at most 123 UTF-8
    /// bytes), for good: the close event and the `Closed` state still arrive, then the
    /// socket's task ends, `next_event()` returns nothing more and the listener is
    /// released. Messages still queued are discarded: take them first with
    /// [`drain_queue`](Self::drain_queue) if they matter.
    ///
    /// # Errors
    ///
    /// [`PartySocketError::InvalidCloseFrame`] for a code or reason an application may
    /// not send (nothing changes then); [`PartySocketError::Closed`] when already closed.
    pub fn close_with(&self, code: u16, reason: String) -> Result<(), PartySocketError> {
        let socket = {
            let mut handle = lock(&self.handle);
            if handle.closed {
                return Err(PartySocketError::Closed);
            }
            let socket = handle.socket.clone().ok_or(PartySocketError::Closed)?;
            socket.close_with(partysocket::CloseFrame::new(code, reason))?;
            handle.closed = true;
            socket
        };
        // Keep the handle until the close completes, so the accessors follow it, then
        // release it: with no handle left the task finishes the close and ends.
        let handle = Arc::clone(&self.handle);
        let limit = self.close_timeout + CLOSE_MARGIN;
        runtime()?.spawn(async move {
            let _ = tokio::time::timeout(limit, socket.closed()).await;
            let released = {
                let mut handle = lock(&handle);
                handle.last = snapshot(&socket);
                handle.socket.take()
            };
            drop(released);
        });
        Ok(())
    }

    /// Connects now: replaces the connection, cuts a backoff wait short, resets the
    /// retry count, and starts a socket created with `start_closed` or stopped by its
    /// failure policy.
    ///
    /// # Errors
    ///
    /// [`PartySocketError::InvalidOptions`] when no room or base path is set;
    /// [`PartySocketError::Closed`] after `close()`.
    pub fn reconnect(&self) -> Result<(), PartySocketError> {
        self.command(partysocket::PartySocket::reconnect)
    }

    /// Closes the connection for a while (code 1000) and keeps the socket: its id, its
    /// queue (messages sent meanwhile are queued) and its listener or events stay, and it
    /// does not reconnect until [`resume`](Self::resume). For an application going to
    /// the background; unlike `close()` it is not final.
    ///
    /// # Errors
    ///
    /// [`PartySocketError::Closed`] after `close()`.
    pub fn pause(&self) -> Result<(), PartySocketError> {
        self.command(|socket| {
            socket.close_with(partysocket::CloseFrame::new(
                partysocket::CloseFrame::NORMAL,
                String::new(),
            ))
        })
    }

    /// Connects again after [`pause`](Self::pause), with the same id; the messages
    /// queued meanwhile go out first, once. (The same as [`reconnect`](Self::reconnect).)
    ///
    /// # Errors
    ///
    /// As [`reconnect`](Self::reconnect).
    pub fn resume(&self) -> Result<(), PartySocketError> {
        self.command(partysocket::PartySocket::reconnect)
    }

    /// Changes the destination or credentials for the next connection (call
    /// [`reconnect`](Self::reconnect) to apply them now). Changes accumulate; the id
    /// stays unless set.
    ///
    /// # Errors
    ///
    /// [`PartySocketError::InvalidOptions`] when the result is invalid (nothing changes
    /// then); [`PartySocketError::Closed`] after `close()`.
    pub fn update(&self, update: OptionsUpdate) -> Result<(), PartySocketError> {
        let update = partysocket::OptionsUpdate::from(update);
        self.command(|socket| socket.update(update))
    }

    /// Removes and returns the queued messages, oldest first.
    pub fn drain_queue(&self) -> Vec<Message> {
        self.read(
            |socket| {
                socket
                    .drain_queue()
                    .into_iter()
                    .map(Message::from)
                    .collect()
            },
            |_| Vec::new(),
        )
    }

    /// The next event, or nothing once the socket was closed and every event was read.
    ///
    /// Events wait in a bounded buffer (`event_capacity`); while it is full the socket
    /// stops reading from the server. Cancelling the call loses no event. After
    /// [`shutdown`](crate::shutdown) it returns nothing.
    ///
    /// # Errors
    ///
    /// [`PartySocketError::EventsGoToListener`] on a socket created with a listener.
    pub async fn next_event(&self) -> Result<Option<Event>, PartySocketError> {
        let mut events = self.events.lock().await;
        let events = events
            .as_mut()
            .ok_or(PartySocketError::EventsGoToListener)?;
        tokio::select! {
            biased;
            () = lifecycle::shut_down() => Ok(None),
            () = self.interrupt.notified() => Err(PartySocketError::Interrupted),
            event = events.recv() => Ok(event.map(Event::from)),
        }
    }

    /// Makes the `next_event()` that waits (or, when none does, the next one) return
    /// [`PartySocketError::Interrupted`] at once, losing no event: for a language whose
    /// async calls cannot be cancelled (Swift's task cancellation calls it).
    pub fn interrupt_next_event(&self) {
        self.interrupt.notify_one();
    }

    /// Waits until the connection is open.
    ///
    /// # Errors
    ///
    /// [`PartySocketError::Stopped`] when the socket stops instead (a 401, retries
    /// exhausted); [`PartySocketError::Closed`] after `close()`.
    pub async fn opened(&self) -> Result<(), PartySocketError> {
        let socket = {
            let handle = lock(&self.handle);
            match (&handle.socket, handle.closed) {
                (Some(socket), false) => socket.clone(),
                _ => return Err(PartySocketError::Closed),
            }
        };
        tokio::select! {
            biased;
            () = lifecycle::shut_down() => Err(PartySocketError::Closed),
            opened = socket.opened() => Ok(opened?),
        }
    }

    /// Waits until the socket is closed (after `close()`, or when it gave up) and
    /// returns why.
    pub async fn closed(&self) -> StopReason {
        let socket = lock(&self.handle).socket.clone();
        let Some(socket) = socket else {
            return StopReason::ClosedByApp;
        };
        tokio::select! {
            biased;
            () = lifecycle::shut_down() => StopReason::ClosedByApp,
            closed = socket.closed() => match closed {
                Ok(reason) => StopReason::from(reason),
                Err(_) => StopReason::ClosedByApp,
            },
        }
    }

    /// The connection id (`_pk`).
    pub fn id(&self) -> String {
        self.read(partysocket::PartySocket::id, |last| last.id.clone())
    }

    /// The room URL, without query.
    pub fn room_url(&self) -> String {
        self.read(partysocket::PartySocket::room_url, |last| {
            last.room_url.clone()
        })
    }

    /// The URL of the latest attempt (query values included: redact before logging).
    pub fn url(&self) -> Option<String> {
        self.read(partysocket::PartySocket::url, |last| last.url.clone())
    }

    /// The subprotocol the server chose on the latest connection.
    pub fn protocol(&self) -> Option<String> {
        self.read(partysocket::PartySocket::protocol, |last| {
            last.protocol.clone()
        })
    }

    /// The WebSocket `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.read(|socket| socket.ready_state().into(), |_| ReadyState::Closed)
    }

    /// The detailed connection state.
    pub fn connection_state(&self) -> ConnectionState {
        self.read(
            |socket| socket.connection_state().into(),
            |_| ConnectionState::Closed {
                reason: StopReason::ClosedByApp,
            },
        )
    }

    /// Attempts since the last stable connection or `reconnect()`.
    pub fn retry_count(&self) -> u32 {
        self.read(partysocket::PartySocket::retry_count, |_| 0)
    }

    /// Payload bytes not yet handed to the operating system (UTF-8 bytes for text).
    pub fn buffered_amount(&self) -> u64 {
        self.read(
            |socket| u64::try_from(socket.buffered_amount()).unwrap_or(u64::MAX),
            |_| 0,
        )
    }
}

impl PartySocket {
    fn create(
        options: PartySocketOptions,
        listener: Option<Arc<dyn PartySocketListener>>,
        credentials: Option<Provider>,
    ) -> Result<Arc<PartySocket>, PartySocketError> {
        let tls = options.tls()?;
        let options = options.into_core(credentials)?;
        let close_timeout = options.close_timeout();
        if lifecycle::is_shut_down() {
            return Err(PartySocketError::Startup(
                "the process is shutting down (shutdown() was called)".to_owned(),
            ));
        }
        let runtime = runtime()?;
        let (socket, events) = {
            let _entered = runtime.enter();
            match tls {
                Some(tls) => partysocket::PartySocket::connect_with(options, tls)?,
                None => partysocket::PartySocket::connect(options)?,
            }
        };
        let last = Snapshot {
            id: socket.id(),
            room_url: socket.room_url(),
            url: None,
            protocol: None,
        };
        let events = match listener {
            Some(listener) => {
                // The socket's own thread: a slow callback delays only this socket.
                std::thread::Builder::new()
                    .name("partysocket-listener".to_owned())
                    .spawn(move || deliver(runtime, events, listener))
                    .map_err(|err| {
                        PartySocketError::Startup(format!(
                            "cannot start the listener's thread: {err}"
                        ))
                    })?;
                None
            }
            None => Some(events),
        };
        let handle = Arc::new(Mutex::new(Handle {
            socket: Some(socket),
            closed: false,
            last,
        }));
        if !lifecycle::register(&handle) {
            // Shut down meanwhile: closed by dropping the handle.
            return Err(PartySocketError::Startup(
                "the process is shutting down (shutdown() was called)".to_owned(),
            ));
        }
        Ok(Arc::new(PartySocket {
            handle,
            events: tokio::sync::Mutex::new(events),
            interrupt: tokio::sync::Notify::new(),
            close_timeout,
        }))
    }

    /// Runs a command on the live handle.
    fn command<T: Into<U>, U>(
        &self,
        command: impl FnOnce(&partysocket::PartySocket) -> Result<T, partysocket::Error>,
    ) -> Result<U, PartySocketError> {
        let handle = lock(&self.handle);
        match (&handle.socket, handle.closed) {
            (Some(socket), false) => Ok(command(socket)?.into()),
            _ => Err(PartySocketError::Closed),
        }
    }

    /// Reads from the handle, or from the snapshot once it is released.
    fn read<T>(
        &self,
        live: impl FnOnce(&partysocket::PartySocket) -> T,
        released: impl FnOnce(&Snapshot) -> T,
    ) -> T {
        let handle = lock(&self.handle);
        match &handle.socket {
            Some(socket) => live(socket),
            None => released(&handle.last),
        }
    }
}

/// Starts the close of a socket for [`shutdown`](crate::shutdown) (code 1000, unless
/// it is closing already); returns its native handle to wait on, if it is live.
pub(crate) fn close_for_shutdown(handle: &Mutex<Handle>) -> Option<partysocket::PartySocket> {
    let mut handle = lock(handle);
    let socket = handle.socket.clone()?;
    if !handle.closed {
        handle.closed = true;
        // Closing can only fail on a socket that is closed already.
        let _ = socket.close_with(partysocket::CloseFrame::new(
            partysocket::CloseFrame::NORMAL,
            String::new(),
        ));
    }
    Some(socket)
}

fn snapshot(socket: &partysocket::PartySocket) -> Snapshot {
    Snapshot {
        id: socket.id(),
        room_url: socket.room_url(),
        url: socket.url(),
        protocol: socket.protocol(),
    }
}

/// The listener's thread, one per socket: every event to its callback, in order, until
/// the socket's task ends; then the listener is released. After [`shutdown`](crate::shutdown) no callback
/// starts and the listener is leaked, not released: releasing a foreign object calls
/// into its runtime, which may be finalizing.
fn deliver(runtime: &Runtime, mut events: Events, listener: Arc<dyn PartySocketListener>) {
    // Waits on the runtime from this thread; the callbacks run outside of it.
    while let Some(event) = runtime.block_on(events.recv()) {
        let Some(_call) = lifecycle::enter_foreign() else {
            break;
        };
        dispatch(listener.as_ref(), Event::from(event));
    }
    // Releasing counts as a call into the application.
    match lifecycle::enter_foreign() {
        Some(_call) => drop(listener),
        None => std::mem::forget(listener),
    }
}

/// Calls the callback for `event`. What a callback throws, and any panic in it, is
/// reported to `on_error` (and a failing `on_error` is ignored), so nothing unwinds
/// further.
fn dispatch(listener: &dyn PartySocketListener, event: Event) {
    let (callback, outcome) = match event {
        Event::Open { url, protocol } => (
            "on_open",
            catch_unwind(AssertUnwindSafe(|| listener.on_open(url, protocol))),
        ),
        Event::Message { message } => (
            "on_message",
            catch_unwind(AssertUnwindSafe(|| listener.on_message(message))),
        ),
        Event::Close { frame, was_clean } => (
            "on_close",
            catch_unwind(AssertUnwindSafe(|| listener.on_close(frame, was_clean))),
        ),
        Event::Error { error, description } => (
            "on_error",
            catch_unwind(AssertUnwindSafe(|| listener.on_error(error, description))),
        ),
        Event::StateChanged { state } => (
            "on_state_change",
            catch_unwind(AssertUnwindSafe(|| listener.on_state_change(state))),
        ),
    };
    let message = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(ListenerError::Failed { reason })) => reason,
        Err(payload) => panic_message(payload.as_ref()),
    };
    if callback == "on_error" {
        return;
    }
    let failure = SocketFailure::ListenerFailed {
        callback: callback.to_owned(),
        message,
    };
    let description = failure.describe();
    let _ = catch_unwind(AssertUnwindSafe(|| listener.on_error(failure, description)));
}

/// The message of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
