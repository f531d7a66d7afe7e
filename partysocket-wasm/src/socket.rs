//! The application's side: a cloneable handle, the event stream and the callbacks.

use std::cell::RefCell;
use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use futures_core::Stream;
use partysocket::{
    CloseFrame, ConnectionState, Error, Event, Heartbeat, Message, OptionsError, OptionsUpdate,
    PartySocketOptions, ReadyState, SendOutcome, StopReason, TransportError,
};

use crate::driver::{
    Driver, EventQueue, OnClose, OnError, OnMessage, OnOpen, OnState, SharedDriver, act,
};

/// The text an application-level heartbeat sends when the options ask for protocol
/// pings, which browsers cannot send. It is an ordinary message: the server's code sees
/// it (and a broadcasting party forwards it to other clients) unless the server answers
/// and filters it.
pub const HEARTBEAT_PING: &str = "ping";
/// The answer that [`HEARTBEAT_PING`] expects: a PartyKit server sends it from its
/// `onMessage`, a Cloudflare Durable Object with
/// `setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"))`. It is
/// taken by the heartbeat, not delivered.
pub const HEARTBEAT_PONG: &str = "pong";

/// A reconnecting WebSocket to a PartyKit room, in the browser.
///
/// A cheap, cloneable handle; every clone drives the same socket. Commands and accessors
/// are synchronous and act on the core state machine directly, so they always agree
/// with the events already delivered. Dropping the last handle closes the connection
/// (code `1000`) and ends the [`Events`] stream; a handle captured by one of the
/// socket's own callbacks would keep it alive, so capture a [`WeakPartySocket`] there.
///
/// See the [crate documentation](crate) for an example.
#[derive(Clone)]
pub struct PartySocket {
    handle: Rc<Handle>,
}

/// Owns the driver; its drop is the last handle's.
struct Handle {
    driver: SharedDriver,
}

impl Drop for Handle {
    fn drop(&mut self) {
        act(&self.driver, |driver, now| driver.shut_down(now));
    }
}

impl fmt::Debug for PartySocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let driver = self.handle.driver.borrow();
        f.debug_struct("PartySocket")
            .field("id", &driver.machine.id())
            .field("state", &driver.machine.connection_state())
            .finish()
    }
}

impl PartySocket {
    /// Starts a socket: it connects at once (unless the options start closed) and
    /// reconnects as the options say. Events arrive on the returned [`Events`] and at
    /// the callbacks set with [`on_message`](Self::on_message) and friends.
    ///
    /// Browsers cannot send ping frames: a protocol [`Heartbeat::new`] in the options
    /// becomes an application-level heartbeat sending [`HEARTBEAT_PING`] and expecting
    /// [`HEARTBEAT_PONG`], as [`options`](Self::options) then reports. Only a server that
    /// answers the ping keeps such a heartbeat happy: where nothing comes back, a quiet
    /// connection ends with [`TransportError::HeartbeatTimeout`] and is replaced, every
    /// interval plus timeout (see the [crate documentation](crate)).
    ///
    /// # Errors
    ///
    /// [`Error::Options`] when the options cannot be used:
    /// [`OptionsError::HeadersInBrowser`] when they set handshake headers, which
    /// browsers cannot send (pass credentials in the query instead).
    pub fn connect(options: PartySocketOptions) -> Result<(PartySocket, Events), Error> {
        let options = browser_options(options)?;
        let queue = Rc::new(RefCell::new(EventQueue::default()));
        let driver = Driver::start(options, &queue);
        Ok((
            PartySocket {
                handle: Rc::new(Handle { driver }),
            },
            Events { queue },
        ))
    }

    fn act<R>(&self, f: impl FnOnce(&mut Driver, partysocket::web_time::Instant) -> R) -> R {
        act(&self.handle.driver, f)
    }

    fn read<R>(&self, f: impl FnOnce(&partysocket::Machine) -> R) -> R {
        f(&self.handle.driver.borrow().machine)
    }

    /// Sends `message` now when open, else queues it; queued messages are sent, in
    /// order, when the next connection opens, before its [`Event::Open`].
    ///
    /// # Errors
    ///
    /// None today; the `Result` matches the native driver's signature.
    pub fn send(&self, message: impl Into<Message>) -> Result<SendOutcome, Error> {
        let message = message.into();
        Ok(self.act(|driver, _| driver.machine.send(message)))
    }

    /// Like [`send`](Self::send), but while disconnected a queued message with the same
    /// `key` is replaced, so only the latest per key is sent on reconnect.
    ///
    /// # Errors
    ///
    /// None today; the `Result` matches the native driver's signature.
    pub fn send_coalesced(
        &self,
        key: impl Into<String>,
        message: impl Into<Message>,
    ) -> Result<SendOutcome, Error> {
        let (key, message) = (key.into(), message.into());
        Ok(self.act(|driver, _| driver.machine.send_coalesced(key, message)))
    }

    /// Sends `value` as a JSON text message.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] when `value` cannot be serialized.
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    pub fn send_json<T: serde::Serialize + ?Sized>(&self, value: &T) -> Result<SendOutcome, Error> {
        let message =
            Message::to_json(value).map_err(|err| Error::Json(partysocket::Cause::new(err)))?;
        self.send(message)
    }

    /// Closes the connection with code `1000` and stops reconnecting; see
    /// [`close_with`](Self::close_with).
    ///
    /// # Errors
    ///
    /// None for this frame; the `Result` matches [`close_with`](Self::close_with).
    pub fn close(&self) -> Result<(), Error> {
        self.close_with(CloseFrame::normal())
    }

    /// Closes the connection with `frame` and stops reconnecting until
    /// [`reconnect`](Self::reconnect). An open connection is `Closing` until the server
    /// answers (or `close_timeout` passes); then [`Event::Close`] reports how it ended.
    /// Queued messages stay queued.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCloseCode`] unless the code is 1000 or in 3000..=4999, and
    /// [`Error::CloseReasonTooLong`] for a reason over 123 bytes; nothing changes then.
    pub fn close_with(&self, frame: CloseFrame) -> Result<(), Error> {
        self.act(|driver, now| driver.machine.close(frame, now))
    }

    /// Connects now: resets the retry count, replaces an open or pending connection,
    /// cuts a backoff wait short, and restarts a closed or stopped socket.
    ///
    /// # Errors
    ///
    /// [`Error::Options`] when neither a room nor a base path is set.
    pub fn reconnect(&self) -> Result<(), Error> {
        self.act(|driver, now| driver.machine.reconnect(now))
    }

    /// Changes the destination or credentials for the next connection (call
    /// [`reconnect`](Self::reconnect) to use them now). Changes accumulate; the id
    /// stays unless set.
    ///
    /// # Errors
    ///
    /// [`Error::Options`] when the merged options are invalid, or set handshake
    /// headers ([`OptionsError::HeadersInBrowser`]); nothing changes then.
    pub fn update(&self, update: OptionsUpdate) -> Result<(), Error> {
        self.act(|driver, _| {
            let merged = driver.machine.options().updated(update.clone())?;
            refuse_headers(&merged)?;
            driver.machine.update(update)
        })
    }

    /// Removes and returns every queued message, oldest first.
    pub fn drain_queue(&self) -> Vec<Message> {
        self.act(|driver, _| driver.machine.drain_queue())
    }

    /// The connection id (`_pk`).
    pub fn id(&self) -> String {
        self.read(|machine| machine.id().to_owned())
    }

    /// The room URL, without query.
    pub fn room_url(&self) -> String {
        self.read(partysocket::Machine::room_url)
    }

    /// The URL of the latest attempt (query values included: do not log it), `None`
    /// before the first.
    pub fn url(&self) -> Option<String> {
        self.read(|machine| machine.url().map(str::to_owned))
    }

    /// The subprotocol the server chose on the latest connection, if any.
    pub fn protocol(&self) -> Option<String> {
        self.read(|machine| machine.protocol().map(str::to_owned))
    }

    /// The options in force (after [`update`](Self::update)s).
    pub fn options(&self) -> PartySocketOptions {
        self.read(|machine| machine.options().clone())
    }

    /// The WebSocket `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.read(partysocket::Machine::ready_state)
    }

    /// The detailed connection state.
    pub fn connection_state(&self) -> ConnectionState {
        self.read(partysocket::Machine::connection_state)
    }

    /// Attempts since the last stable connection or `reconnect()`.
    pub fn retry_count(&self) -> u32 {
        self.read(partysocket::Machine::retry_count)
    }

    /// Payload bytes not yet on the network: queued while disconnected, waiting for
    /// the open connection, or held by the browser socket (its `bufferedAmount`).
    /// UTF-8 bytes for text, as natively.
    pub fn buffered_amount(&self) -> usize {
        self.handle.driver.borrow().buffered_amount()
    }

    /// Waits until the connection state satisfies `predicate` (checked now, then on
    /// every change) and returns that state.
    ///
    /// # Errors
    ///
    /// None today; the `Result` matches the native driver's signature.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn wait_for(
        &self,
        mut predicate: impl FnMut(&ConnectionState) -> bool,
    ) -> Result<ConnectionState, Error> {
        poll_fn(|cx| {
            let state = self.connection_state();
            if predicate(&state) {
                return Poll::Ready(Ok(state));
            }
            self.handle.driver.borrow_mut().wait(cx.waker());
            Poll::Pending
        })
        .await
    }

    /// Waits until the connection is open.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] when the socket stops (closed, gave up, retries exhausted, or
    /// not started) instead.
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
    /// up or exhausted its retries) and returns why.
    ///
    /// # Errors
    ///
    /// None today; the `Result` matches the native driver's signature.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&self) -> Result<StopReason, Error> {
        match self
            .wait_for(|state| matches!(state, ConnectionState::Closed { .. }))
            .await?
        {
            ConnectionState::Closed { reason } => Ok(reason),
            _ => Err(Error::DriverStopped),
        }
    }

    /// Calls `callback` when a connection opens (after queued messages were sent on it).
    /// Replaces the previous open callback.
    pub fn on_open(&self, callback: impl FnMut() + 'static) {
        let callback: OnOpen = Rc::new(RefCell::new(callback));
        let old = self.set(|callbacks| callbacks.open.replace(callback));
        drop(old);
    }

    /// Calls `callback` with every message (text, or binary as bytes). Replaces the
    /// previous message callback.
    pub fn on_message(&self, callback: impl FnMut(&Message) + 'static) {
        let callback: OnMessage = Rc::new(RefCell::new(callback));
        let old = self.set(|callbacks| callbacks.message.replace(callback));
        drop(old);
    }

    /// Calls `callback` with the close frame and whether the closing handshake
    /// completed, whenever a connection closes or an attempt fails. Replaces the
    /// previous close callback.
    pub fn on_close(&self, callback: impl FnMut(&CloseFrame, bool) + 'static) {
        let callback: OnClose = Rc::new(RefCell::new(callback));
        let old = self.set(|callbacks| callbacks.close.replace(callback));
        drop(old);
    }

    /// Calls `callback` when an attempt or a connection fails (a close follows when a
    /// handshake had started). Replaces the previous error callback.
    pub fn on_error(&self, callback: impl FnMut(&TransportError) + 'static) {
        let callback: OnError = Rc::new(RefCell::new(callback));
        let old = self.set(|callbacks| callbacks.error.replace(callback));
        drop(old);
    }

    /// Calls `callback` with every new [`ConnectionState`]. Replaces the previous state
    /// callback.
    pub fn on_state_change(&self, callback: impl FnMut(&ConnectionState) + 'static) {
        let callback: OnState = Rc::new(RefCell::new(callback));
        let old = self.set(|callbacks| callbacks.state.replace(callback));
        drop(old);
    }

    /// Swaps a callback; the old one is dropped by the caller, outside the borrow (it may
    /// own a handle whose drop needs the driver).
    fn set<R>(&self, f: impl FnOnce(&mut crate::driver::Callbacks) -> R) -> R {
        f(&mut self.handle.driver.borrow_mut().callbacks)
    }

    /// A handle that does not keep the socket alive: capture it in callbacks.
    pub fn downgrade(&self) -> WeakPartySocket {
        WeakPartySocket {
            handle: Rc::downgrade(&self.handle),
        }
    }
}

/// A handle to a [`PartySocket`] that does not keep it alive, for the socket's own
/// callbacks (a strong handle there would keep the socket open forever).
///
/// ```no_run
/// # fn demo(socket: partysocket_wasm::PartySocket) {
/// let weak = socket.downgrade();
/// socket.on_open(move || {
///     if let Ok(socket) = weak.upgrade() {
///         let _ = socket.send("hello");
///     }
/// });
/// # }
/// ```
#[derive(Clone)]
pub struct WeakPartySocket {
    handle: Weak<Handle>,
}

impl fmt::Debug for WeakPartySocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakPartySocket")
    }
}

impl WeakPartySocket {
    /// The socket, while some [`PartySocket`] still holds it.
    ///
    /// # Errors
    ///
    /// [`Error::DriverStopped`] once the last handle was dropped.
    pub fn upgrade(&self) -> Result<PartySocket, Error> {
        self.handle
            .upgrade()
            .map(|handle| PartySocket { handle })
            .ok_or(Error::DriverStopped)
    }
}

/// The events of one socket, in order: a [`Stream`], also readable with
/// [`recv`](Events::recv). It ends after the last [`PartySocket`] handle is dropped.
///
/// A browser cannot stop reading a WebSocket, so events cannot push back on the server:
/// they queue without bound until read. Read them promptly, or drop the stream: then
/// nothing is queued and the callbacks alone see the events.
pub struct Events {
    queue: Rc<RefCell<EventQueue>>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("queued", &self.queue.borrow().events.len())
            .finish()
    }
}

impl Events {
    /// The next event, or `None` once the socket is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an event is never lost to a dropped future.
    pub async fn recv(&mut self) -> Option<Event> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.queue.borrow_mut().events.pop_front()
    }

    /// How many events wait to be read.
    pub fn len(&self) -> usize {
        self.queue.borrow().events.len()
    }

    /// Whether no event waits to be read.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut queue = self.queue.borrow_mut();
        if let Some(event) = queue.events.pop_front() {
            return Poll::Ready(Some(event));
        }
        if queue.ended {
            return Poll::Ready(None);
        }
        queue.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.get_mut().poll_recv(cx)
    }
}

/// Protocol pings become application pings: browsers cannot send ping frames. The
/// mapping is visible in the options the socket reports, so it is never silent.
fn browser_options(options: PartySocketOptions) -> Result<PartySocketOptions, Error> {
    refuse_headers(&options)?;
    match options.heartbeat() {
        Some(heartbeat) if heartbeat.ping_message().is_none() => {
            let heartbeat = Heartbeat::new(heartbeat.interval(), heartbeat.timeout())
                .application(HEARTBEAT_PING, Some(Message::from(HEARTBEAT_PONG)));
            Ok(options.to_builder().heartbeat(heartbeat).build()?)
        }
        _ => Ok(options),
    }
}

/// Browsers cannot send handshake headers: options that set some are refused, rather
/// than connecting without them (a server that needs them would refuse every attempt,
/// and a browser reports that only as a failed attempt).
fn refuse_headers(options: &PartySocketOptions) -> Result<(), OptionsError> {
    match options.headers().first() {
        Some((name, _)) => Err(OptionsError::HeadersInBrowser(name.clone())),
        None => Ok(()),
    }
}
