//! The native driver: a tokio task per socket, a cloneable handle, and a stream of
//! events.

mod driver;
mod fetch;
mod tls;
mod transport;

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

use self::driver::{Command, Driver, Snapshot};
pub use self::fetch::{FetchError, FetchInit};
pub use self::tls::{TlsConfig, TlsConfigBuilder};
use crate::{
    CloseFrame, ConnectionState, Error, Event, Machine, Message, OptionsUpdate, PartySocketOptions,
    ReadyState, SendOutcome,
};

/// A reconnecting PartyKit socket on tokio.
///
/// A cheap, cloneable, `Send + Sync` handle to a task that owns the connection. Events
/// arrive on the [`Events`] stream returned next to it. The task stops, after closing
/// the connection gracefully, when the last handle is dropped.
///
/// ```no_run
/// use partysocket::{Event, PartySocket, PartySocketOptions};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let options = PartySocketOptions::builder("localhost:1999").room("lobby").build()?;
/// let (socket, mut events) = PartySocket::connect(options)?;
/// socket.send("hello").await?;
/// while let Some(event) = events.next().await {
///     if let Event::Message(message) = event {
///         println!("{message:?}");
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PartySocket {
    commands: mpsc::UnboundedSender<Command>,
    snapshot: watch::Receiver<Snapshot>,
}

impl fmt::Debug for PartySocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot.borrow();
        f.debug_struct("PartySocket")
            .field("room_url", &snapshot.options.room_url())
            .field("id", &snapshot.options.id())
            .field("state", &snapshot.state)
            .finish()
    }
}

impl PartySocket {
    /// Starts a socket on the current tokio runtime, trusting the bundled web roots for
    /// `wss://`. Unless the options start closed, it connects at once.
    ///
    /// # Errors
    ///
    /// [`Error::NoRuntime`] outside a tokio runtime.
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
        let machine = Machine::new(options, tokio::time::Instant::now().into_std());
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (snapshot_tx, snapshot_rx) = watch::channel(Snapshot::of(&machine));
        let driver = Driver::new(machine, commands_rx, events_tx, snapshot_tx, tls);
        runtime.spawn(driver.run().instrument(span));
        Ok((
            PartySocket {
                commands: commands_tx,
                snapshot: snapshot_rx,
            },
            Events { events: events_rx },
        ))
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .map_err(|_| Error::DriverStopped)?;
        answer.await.map_err(|_| Error::DriverStopped)
    }

    /// Sends a text or binary message now when open; otherwise queues it for the next
    /// connection. The outcome says which, or why it was dropped.
    ///
    /// # Errors
    ///
    /// [`Error::DriverStopped`] when the socket's task has ended (the runtime shut down).
    ///
    /// # Cancel safety
    ///
    /// The message is handed to the task before the first await point returns; if the
    /// future is dropped after that, the message is still sent or queued and only the
    /// outcome is lost.
    pub async fn send(&self, message: impl Into<Message>) -> Result<SendOutcome, Error> {
        let message = message.into();
        self.ask(|reply| Command::Send {
            message,
            key: None,
            reply,
        })
        .await
    }

    /// Like [`send`](Self::send), but while disconnected a queued message with the same
    /// `key` is replaced: only the latest per key is sent on reconnect.
    ///
    /// # Errors
    ///
    /// [`Error::DriverStopped`] when the socket's task has ended.
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send).
    pub async fn send_coalesced(
        &self,
        key: impl Into<String>,
        message: impl Into<Message>,
    ) -> Result<SendOutcome, Error> {
        let (key, message) = (Some(key.into()), message.into());
        self.ask(|reply| Command::Send {
            message,
            key,
            reply,
        })
        .await
    }

    /// Serializes `value` as JSON and sends it as a text message.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] when `value` cannot be serialized, [`Error::DriverStopped`] when
    /// the task has ended.
    ///
    /// # Cancel safety
    ///
    /// As [`send`](Self::send).
    #[cfg(feature = "json")]
    pub async fn send_json<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
    ) -> Result<SendOutcome, Error> {
        let message = Message::to_json(value).map_err(|err| Error::Json(err.to_string()))?;
        self.send(message).await
    }

    /// Closes with code 1000 and stops reconnecting; see [`close_with`](Self::close_with).
    ///
    /// # Errors
    ///
    /// [`Error::DriverStopped`] when the task has ended.
    ///
    /// # Cancel safety
    ///
    /// The close is requested before the first await point returns.
    pub async fn close(&self) -> Result<(), Error> {
        self.close_with(CloseFrame::normal()).await
    }

    /// Closes with `frame` and stops reconnecting until [`reconnect`](Self::reconnect).
    /// An open connection closes gracefully: [`Event::Close`] follows when the server
    /// answers or the close timeout passes. Queued messages are kept.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCloseCode`] and [`Error::CloseReasonTooLong`] for frames an
    /// application may not send; [`Error::DriverStopped`] when the task has ended.
    ///
    /// # Cancel safety
    ///
    /// As [`close`](Self::close).
    pub async fn close_with(&self, frame: CloseFrame) -> Result<(), Error> {
        self.ask(|reply| Command::Close { frame, reply }).await?
    }

    /// Connects now: replaces the current connection, cuts a backoff wait short, resets
    /// the retry count, and revives a socket that was closed or gave up.
    ///
    /// # Errors
    ///
    /// [`Error::Options`] when no room or base path is set; [`Error::DriverStopped`]
    /// when the task has ended.
    ///
    /// # Cancel safety
    ///
    /// The request is made before the first await point returns.
    pub async fn reconnect(&self) -> Result<(), Error> {
        self.ask(|reply| Command::Reconnect { reply }).await?
    }

    /// Changes the destination or credentials for the next connection (call
    /// [`reconnect`](Self::reconnect) to apply them now). Changes accumulate; the id
    /// stays unless set.
    ///
    /// # Errors
    ///
    /// [`Error::Options`] when the merged options are invalid (nothing changes then);
    /// [`Error::DriverStopped`] when the task has ended.
    ///
    /// # Cancel safety
    ///
    /// The update is handed over before the first await point returns.
    pub async fn update(&self, update: OptionsUpdate) -> Result<(), Error> {
        self.ask(|reply| Command::Update { update, reply }).await?
    }

    /// Removes and returns the queued messages, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::DriverStopped`] when the task has ended.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped after the request reached the task,
    /// the drained messages are lost.
    pub async fn drain_queue(&self) -> Result<Vec<Message>, Error> {
        self.ask(|reply| Command::DrainQueue { reply }).await
    }

    /// The connection id (`_pk`).
    pub fn id(&self) -> String {
        self.snapshot.borrow().options.id().to_owned()
    }

    /// The room URL, without query.
    pub fn room_url(&self) -> String {
        self.snapshot.borrow().options.room_url()
    }

    /// The URL of the latest attempt, `None` before the first. Query values (tokens)
    /// included: redact before logging.
    pub fn url(&self) -> Option<String> {
        self.snapshot.borrow().url.clone()
    }

    /// The subprotocol the server chose on the latest connection.
    pub fn protocol(&self) -> Option<String> {
        self.snapshot.borrow().protocol.clone()
    }

    /// The options in force (after updates).
    pub fn options(&self) -> PartySocketOptions {
        self.snapshot.borrow().options.clone()
    }

    /// The WebSocket `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.snapshot.borrow().state.ready_state()
    }

    /// The detailed connection state.
    pub fn connection_state(&self) -> ConnectionState {
        self.snapshot.borrow().state.clone()
    }

    /// Attempts since the last stable connection or `reconnect()`.
    pub fn retry_count(&self) -> u32 {
        self.snapshot.borrow().retry_count
    }

    /// Payload bytes waiting in the queue.
    pub fn buffered_amount(&self) -> usize {
        self.snapshot.borrow().buffered_amount
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
        let mut snapshot = self.snapshot.clone();
        let found = snapshot
            .wait_for(|snapshot| predicate(&snapshot.state))
            .await
            .map_err(|_| Error::DriverStopped)?;
        Ok(found.state.clone())
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
        match self
            .wait_for(|state| {
                matches!(
                    state,
                    ConnectionState::Open | ConnectionState::Closed { .. }
                )
            })
            .await?
        {
            ConnectionState::Closed { reason } => Err(Error::Stopped(Box::new(reason))),
            _ => Ok(()),
        }
    }
}

/// The events of one socket, in order: a [`Stream`], also readable with
/// [`next`](Events::next). Ends when the socket's task ends.
///
/// Events queue without bound until read: read them promptly (or drop the stream to
/// ignore them).
#[derive(Debug)]
pub struct Events {
    events: mpsc::UnboundedReceiver<Event>,
}

impl Events {
    /// The next event, or `None` when the socket's task has ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an event is never lost to a dropped future.
    pub async fn next(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// The next event if one is ready, without waiting.
    pub fn try_next(&mut self) -> Option<Event> {
        self.events.try_recv().ok()
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.events.poll_recv(cx)
    }
}
