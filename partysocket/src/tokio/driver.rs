//! The task that owns the machine and the transport. One per socket; it ends when every
//! handle is dropped (after a graceful close) or the runtime shuts down.

use std::future::Future;
use std::pin::Pin;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite;
use web_time::Instant;

use super::tls::TlsConfig;
use super::transport::{self, Ws};
use crate::{
    CloseFrame, ConnectRequest, ConnectionState, Error, Event, Machine, Message, OptionsUpdate,
    Output, PartySocketOptions, QueryFuture, QueryResult, SendOutcome, TransportError, TransportId,
};

/// A request from a handle to the task.
pub(crate) enum Command {
    Send {
        message: Message,
        key: Option<String>,
        reply: oneshot::Sender<SendOutcome>,
    },
    Close {
        frame: CloseFrame,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Reconnect {
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Update {
        update: OptionsUpdate,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    DrainQueue {
        reply: oneshot::Sender<Vec<Message>>,
    },
}

/// What handles can read without asking the task.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) state: ConnectionState,
    pub(crate) retry_count: u32,
    pub(crate) buffered_amount: usize,
    pub(crate) url: Option<String>,
    pub(crate) protocol: Option<String>,
    pub(crate) options: PartySocketOptions,
}

impl Snapshot {
    pub(crate) fn of(machine: &Machine) -> Self {
        Snapshot {
            state: machine.connection_state(),
            retry_count: machine.retry_count(),
            buffered_amount: machine.buffered_amount(),
            url: machine.url().map(str::to_owned),
            protocol: machine.protocol().map(str::to_owned),
            options: machine.options().clone(),
        }
    }
}

type Connecting =
    Pin<Box<dyn Future<Output = Result<(Ws, Option<String>), TransportError>> + Send>>;

/// Why the task woke up.
enum Wake {
    Command(Option<Command>),
    Query(TransportId, QueryResult),
    Connected(
        TransportId,
        Result<(Box<Ws>, Option<String>), TransportError>,
    ),
    Frame(
        TransportId,
        Option<Result<tungstenite::Message, tungstenite::Error>>,
    ),
    CloseFinished(TransportId, Option<CloseFrame>),
    Timer,
}

pub(crate) struct Driver {
    machine: Machine,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<Event>,
    snapshot: watch::Sender<Snapshot>,
    tls: TlsConfig,
    resolving: Option<(TransportId, QueryFuture)>,
    connecting: Option<(TransportId, Connecting)>,
    open: Option<(TransportId, Ws)>,
    closes_tx: mpsc::UnboundedSender<(TransportId, Option<CloseFrame>)>,
    closes_rx: mpsc::UnboundedReceiver<(TransportId, Option<CloseFrame>)>,
    /// Set by an update, so the next publish refreshes the options handles read.
    options_changed: bool,
}

/// How many waiting commands one wake-up takes before writing.
const COMMAND_BATCH: usize = 256;

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl Driver {
    pub(crate) fn new(
        machine: Machine,
        commands: mpsc::UnboundedReceiver<Command>,
        events: mpsc::UnboundedSender<Event>,
        snapshot: watch::Sender<Snapshot>,
        tls: TlsConfig,
    ) -> Self {
        let (closes_tx, closes_rx) = mpsc::unbounded_channel();
        Driver {
            machine,
            commands,
            events,
            snapshot,
            tls,
            resolving: None,
            connecting: None,
            open: None,
            closes_tx,
            closes_rx,
            options_changed: false,
        }
    }

    pub(crate) async fn run(mut self) {
        let mut handles_gone = false;
        loop {
            self.perform_outputs().await;
            self.publish();
            if handles_gone
                && matches!(
                    self.machine.connection_state(),
                    ConnectionState::Closed { .. }
                )
            {
                return;
            }
            match self.wait(!handles_gone).await {
                Wake::Command(Some(command)) => {
                    self.command(command);
                    // Take what else is waiting, so a burst of sends is written and
                    // flushed together.
                    for _ in 0..COMMAND_BATCH {
                        match self.commands.try_recv() {
                            Ok(command) => self.command(command),
                            Err(_) => break,
                        }
                    }
                }
                Wake::Command(None) => {
                    // Every handle is gone: close gracefully, then stop once closed
                    // (within the close timeout).
                    handles_gone = true;
                    let _ = self.machine.close(CloseFrame::normal(), now());
                }
                Wake::Query(transport, result) => {
                    self.machine.handle_query_resolved(transport, result, now())
                }
                Wake::Connected(transport, Ok((ws, protocol))) => {
                    self.open = Some((transport, *ws));
                    self.machine.handle_open(transport, protocol, now());
                }
                Wake::Connected(transport, Err(error)) => {
                    self.machine.handle_failed(transport, error, now())
                }
                Wake::Frame(transport, frame) => self.frame(transport, frame),
                Wake::CloseFinished(transport, frame) => {
                    self.machine.handle_closed(transport, frame, now())
                }
                Wake::Timer => self.machine.handle_timeout(now()),
            }
        }
    }

    async fn wait(&mut self, listen: bool) -> Wake {
        let Driver {
            machine,
            commands,
            resolving,
            connecting,
            open,
            closes_rx,
            ..
        } = self;
        let deadline = machine.poll_timeout();
        tokio::select! {
            command = commands.recv(), if listen => Wake::Command(command),
            wake = resolve_query(resolving), if resolving.is_some() => wake,
            wake = finish_connect(connecting), if connecting.is_some() => wake,
            wake = next_frame(open), if open.is_some() => wake,
            Some((transport, frame)) = closes_rx.recv() => Wake::CloseFinished(transport, frame),
            () = sleep_until(deadline), if deadline.is_some() => Wake::Timer,
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Send {
                message,
                key,
                reply,
            } => {
                let outcome = match key {
                    Some(key) => self.machine.send_coalesced(key, message),
                    None => self.machine.send(message),
                };
                let _ = reply.send(outcome);
            }
            Command::Close { frame, reply } => {
                let _ = reply.send(self.machine.close(frame, now()));
            }
            Command::Reconnect { reply } => {
                let _ = reply.send(self.machine.reconnect(now()));
            }
            Command::Update { update, reply } => {
                self.options_changed = true;
                let _ = reply.send(self.machine.update(update));
            }
            Command::DrainQueue { reply } => {
                let _ = reply.send(self.machine.drain_queue());
            }
        }
    }

    fn frame(
        &mut self,
        transport: TransportId,
        frame: Option<Result<tungstenite::Message, tungstenite::Error>>,
    ) {
        let at = now();
        match frame {
            Some(Ok(tungstenite::Message::Text(text))) => {
                self.machine
                    .handle_message(transport, Message::Text(text.as_str().to_owned()), at);
            }
            Some(Ok(tungstenite::Message::Binary(bytes))) => {
                self.machine
                    .handle_message(transport, Message::Binary(bytes.to_vec()), at);
            }
            // tungstenite answers pings itself; both directions prove the peer alive.
            Some(Ok(tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_))) => {
                self.machine.handle_pong(transport, at);
            }
            Some(Ok(tungstenite::Message::Close(frame))) => {
                // Let tungstenite send its echo and see the end of the stream, bounded.
                if let Some((_, ws)) = self.open.take() {
                    self.finish_in_background(transport, ws, None);
                }
                self.machine
                    .handle_closed(transport, Some(transport::close_from_wire(frame)), at);
            }
            Some(Ok(tungstenite::Message::Frame(_))) => {}
            Some(Err(error)) if !transport::is_drop(&error) => {
                self.open = None;
                self.machine
                    .handle_failed(transport, transport::classify(error), at);
            }
            Some(Err(_)) | None => {
                self.open = None;
                self.machine.handle_closed(transport, None, at);
            }
        }
    }

    /// Carries out every pending output, in order.
    async fn perform_outputs(&mut self) {
        loop {
            let mut unflushed = false;
            while let Some(output) = self.machine.poll_output() {
                match output {
                    Output::ResolveQuery {
                        transport,
                        provider,
                    } => {
                        self.resolving = Some((transport, provider.resolve()));
                    }
                    Output::Connect { transport, request } => {
                        self.connecting = Some((transport, self.connect(request)));
                    }
                    Output::Send { transport, message } => {
                        unflushed |= self.write(transport, transport::to_wire(message)).await;
                    }
                    Output::Ping { transport } => {
                        unflushed |= self
                            .write(transport, tungstenite::Message::Ping(Vec::new().into()))
                            .await;
                    }
                    Output::Close { transport, frame } => self.close_transport(transport, frame),
                    Output::Event(event) => {
                        // A dropped `Events` stream only means nobody listens.
                        let _ = self.events.send(event);
                    }
                }
            }
            if !unflushed {
                return;
            }
            if let Some((transport, ws)) = &mut self.open {
                if let Err(error) = ws.flush().await {
                    let transport = *transport;
                    self.open = None;
                    self.machine
                        .handle_failed(transport, transport::classify(error), now());
                    continue;
                }
            }
            return;
        }
    }

    fn connect(&self, request: ConnectRequest) -> Connecting {
        Box::pin(transport::connect(request, self.tls.clone()))
    }

    /// Queues a frame on the open transport; true when it needs a flush.
    async fn write(&mut self, transport: TransportId, message: tungstenite::Message) -> bool {
        let Some((current, ws)) = &mut self.open else {
            return false;
        };
        if *current != transport {
            return false;
        }
        match ws.feed(message).await {
            Ok(()) => true,
            Err(error) => {
                self.open = None;
                self.machine
                    .handle_failed(transport, transport::classify(error), now());
                false
            }
        }
    }

    fn close_transport(&mut self, transport: TransportId, frame: Option<CloseFrame>) {
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
        if self.open.as_ref().is_some_and(|(t, _)| *t == transport) {
            if let Some((_, ws)) = self.open.take() {
                match frame {
                    Some(frame) => self.finish_in_background(transport, ws, Some(frame)),
                    // Abort: dropping the stream closes TCP without a close frame.
                    None => drop(ws),
                }
            }
        }
    }

    /// Sends `frame` (when given) and reads until the peer's close frame or the end of
    /// the stream, within the close timeout, then reports the outcome.
    fn finish_in_background(&self, transport: TransportId, mut ws: Ws, frame: Option<CloseFrame>) {
        let report = self.closes_tx.clone();
        let limit = self.machine.options().close_timeout();
        let reply_wanted = frame.is_some();
        tokio::spawn(async move {
            let handshake = async {
                if let Some(frame) = frame {
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
                let _ = report.send((transport, answer));
            }
        });
    }

    fn publish(&mut self) {
        let machine = &self.machine;
        let options_changed = std::mem::take(&mut self.options_changed);
        self.snapshot.send_if_modified(|current| {
            let changed = options_changed
                || current.retry_count != machine.retry_count()
                || current.buffered_amount != machine.buffered_amount()
                || current.url.as_deref() != machine.url()
                || current.protocol.as_deref() != machine.protocol()
                || current.state != machine.connection_state();
            if changed {
                *current = Snapshot::of(machine);
            }
            changed
        });
    }
}

async fn resolve_query(slot: &mut Option<(TransportId, QueryFuture)>) -> Wake {
    let Some((transport, future)) = slot.as_mut() else {
        return std::future::pending().await;
    };
    let result = future.await;
    let transport = *transport;
    *slot = None;
    Wake::Query(transport, result)
}

async fn finish_connect(slot: &mut Option<(TransportId, Connecting)>) -> Wake {
    let Some((transport, future)) = slot.as_mut() else {
        return std::future::pending().await;
    };
    let result = future.await.map(|(ws, protocol)| (Box::new(ws), protocol));
    let transport = *transport;
    *slot = None;
    Wake::Connected(transport, result)
}

async fn next_frame(slot: &mut Option<(TransportId, Ws)>) -> Wake {
    let Some((transport, ws)) = slot.as_mut() else {
        return std::future::pending().await;
    };
    let frame = ws.next().await;
    Wake::Frame(*transport, frame)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
