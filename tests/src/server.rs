//! The server: configuration, the listener's lifecycle, faults, rooms and the log.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateDer;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::auto_response::WebSocketAutoResponse;
use crate::connection;
use crate::log::{Attempt, Log, Message, Received};
use crate::parties::{ConnCommand, Connection, Room, Storage};
use crate::routing::RouteTable;
use crate::tls::{self, TlsMaterial};

/// How the server listens and routes. `MockConfig::default()` serves plain ws/http on
/// `127.0.0.1` at a free port with the routes of `partykit dev`.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The address to listen on (default `127.0.0.1`).
    pub host: IpAddr,
    /// The port; `0` (the default) picks a free one, kept across [`MockServer::restart`].
    pub port: u16,
    /// Serve wss/https with a generated certificate (default `false`).
    pub tls: bool,
    /// Where to write the CA certificate `ca.pem` when `tls` is on; `None` picks a fresh
    /// folder under the system temporary folder.
    pub cert_dir: Option<PathBuf>,
    /// Which paths reach which party and room.
    pub routes: RouteTable,
    /// The largest WebSocket message accepted, in bytes; larger ones close the connection
    /// with 1009. `None` keeps the WebSocket library's limit (64 MiB).
    pub max_message_size: Option<usize>,
    /// Record every message the rooms receive for [`MockServer::received`] (default
    /// `true`). Turn it off for benchmarks, so memory stays flat however many messages
    /// flow; connection attempts are still logged.
    pub log_messages: bool,
    /// Texts the connections of a party answer themselves, before the party sees them
    /// (default: none, as `partykit dev`). See [`WebSocketAutoResponse`].
    pub websocket_auto_responses: Vec<WebSocketAutoResponse>,
}

impl MockConfig {
    /// Adds an automatic answer, such as [`WebSocketAutoResponse::ping_pong`] for one
    /// party; the first one matching a message wins.
    pub fn websocket_auto_response(mut self, auto_response: WebSocketAutoResponse) -> Self {
        self.websocket_auto_responses.push(auto_response);
        self
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            tls: false,
            cert_dir: None,
            routes: RouteTable::default(),
            max_message_size: None,
            log_messages: true,
            websocket_auto_responses: Vec::new(),
        }
    }
}

/// An open WebSocket connection, as [`MockServer::connections`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The party.
    pub party: String,
    /// The room.
    pub room: String,
    /// The connection id (`_pk`).
    pub id: String,
}

/// A `wait_for_*` call ran out of time; the message says what it was waiting for and what
/// it saw last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitTimeout {
    message: String,
}

impl std::fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WaitTimeout {}

/// A `refuse_next` fault in progress.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refusal {
    pub(crate) remaining: u32,
    pub(crate) status: u16,
    pub(crate) retry_after: Option<u32>,
}

/// The faults currently armed.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub(crate) refusal: Option<Refusal>,
    pub(crate) stall: bool,
    pub(crate) max_message_size: Option<usize>,
}

type RoomKey = (String, String);

/// The listener of one start-to-stop period.
struct Listening {
    stop: watch::Sender<bool>,
    accept: JoinHandle<()>,
}

/// Everything the server's tasks share.
pub(crate) struct Shared {
    pub(crate) routes: RouteTable,
    pub(crate) tls: Option<TlsMaterial>,
    addr: SocketAddr,
    log_messages: bool,
    websocket_auto_responses: Vec<WebSocketAutoResponse>,
    /// The configured message size limit, restored by `reset_faults`.
    default_max_message_size: Option<usize>,
    faults: Mutex<Faults>,
    rooms: Mutex<HashMap<RoomKey, Arc<Mutex<Room>>>>,
    storage: Mutex<HashMap<RoomKey, Storage>>,
    log: Mutex<Log>,
    /// Woken whenever the log or the set of open connections changes.
    changed: Notify,
    next_serial: AtomicU64,
    listening: Mutex<Option<Listening>>,
}

/// Locks `mutex`, ignoring poisoning: every critical section leaves its data consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long `stop` waits for open connections to end before aborting them.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// The longest down time `restart_after` accepts.
pub(crate) const MAX_DOWN_TIME: Duration = Duration::from_secs(60);

impl Shared {
    /// The faults, locked.
    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    /// Arms (or with `count` 0 cancels) a `refuse_next` fault.
    pub(crate) fn refuse_next(&self, count: u32, status: u16, retry_after: Option<u32>) {
        self.faults().refusal = (count > 0).then_some(Refusal {
            remaining: count,
            status,
            retry_after,
        });
    }

    /// Disarms every fault and restores the configured message size limit.
    pub(crate) fn reset_faults(&self) {
        *self.faults() = Faults {
            max_message_size: self.default_max_message_size,
            ..Faults::default()
        };
    }

    /// The answer a connection to `party` gives `text` itself, if an auto-response is on.
    pub(crate) fn auto_response(&self, party: &str, text: &str) -> Option<&str> {
        self.websocket_auto_responses
            .iter()
            .find_map(|auto_response| auto_response.answer(party, text))
    }

    /// A fresh connection serial.
    pub(crate) fn next_serial(&self) -> u64 {
        self.next_serial.fetch_add(1, Ordering::Relaxed)
    }

    /// The room `room` of `party`, started on first use; `None` for an unknown party.
    pub(crate) fn room(&self, party: &str, room: &str) -> Option<Arc<Mutex<Room>>> {
        let key = (party.to_owned(), room.to_owned());
        let mut rooms = lock(&self.rooms);
        if let Some(existing) = rooms.get(&key) {
            return Some(existing.clone());
        }
        let storage = lock(&self.storage).entry(key.clone()).or_default().clone();
        let started = Arc::new(Mutex::new(Room::start(party, storage)?));
        rooms.insert(key, started.clone());
        Some(started)
    }

    /// Appends to the attempt log.
    pub(crate) fn record_attempt(&self, attempt: Attempt) {
        lock(&self.log).attempts.push(attempt);
        self.changed.notify_waiters();
    }

    /// Appends to the log of what `party`/`room` received, unless message logging is off.
    pub(crate) fn record_received(
        &self,
        party: &str,
        room: &str,
        id: &str,
        connection: u64,
        message: &Message,
    ) {
        if !self.log_messages {
            return;
        }
        lock(&self.log)
            .received
            .entry((party.to_owned(), room.to_owned()))
            .or_default()
            .push(Received {
                time: SystemTime::now(),
                connection_id: id.to_owned(),
                connection,
                message: message.clone(),
            });
        self.changed.notify_waiters();
    }

    /// Tells waiters that connections opened or closed.
    pub(crate) fn connections_changed(&self) {
        self.changed.notify_waiters();
    }

    pub(crate) fn attempts(&self) -> Vec<Attempt> {
        lock(&self.log).attempts.clone()
    }

    pub(crate) fn received(&self, party: &str, room: &str) -> Vec<Received> {
        lock(&self.log)
            .received
            .get(&(party.to_owned(), room.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// Everything each room received, by party and room.
    pub(crate) fn all_received(&self) -> Vec<(String, String, Vec<Received>)> {
        let log = lock(&self.log);
        let mut all: Vec<_> = log
            .received
            .iter()
            .map(|((party, room), received)| (party.clone(), room.clone(), received.clone()))
            .collect();
        all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        all
    }

    pub(crate) fn clear_log(&self) {
        let mut log = lock(&self.log);
        log.attempts.clear();
        log.received.clear();
    }

    /// The open connections, each with its party and room.
    fn open_connections(&self) -> Vec<(ConnectionInfo, Connection)> {
        let rooms: Vec<_> = lock(&self.rooms)
            .iter()
            .map(|(key, room)| (key.clone(), room.clone()))
            .collect();
        let mut open = Vec::new();
        for ((party, room_name), room) in rooms {
            for conn in lock(&room).connections() {
                let info = ConnectionInfo {
                    party: party.clone(),
                    room: room_name.clone(),
                    id: conn.id.clone(),
                };
                open.push((info, conn.clone()));
            }
        }
        open.sort_by_key(|(_, conn)| conn.serial);
        open
    }

    pub(crate) fn connections(&self) -> Vec<ConnectionInfo> {
        self.open_connections()
            .into_iter()
            .map(|(info, _)| info)
            .collect()
    }

    /// Sends `command()` to every open connection whose id is `id` (all when `None`);
    /// returns how many there were.
    pub(crate) fn command(&self, id: Option<&str>, command: impl Fn() -> ConnCommand) -> usize {
        let mut count = 0;
        for (info, conn) in self.open_connections() {
            if id.is_none_or(|id| id == info.id) {
                conn.command(command());
                count += 1;
            }
        }
        count
    }

    /// Makes the open connections whose id is `id` (all when `None`) silent or live again,
    /// and waits (bounded) until each has switched; returns how many there were.
    pub(crate) async fn set_silent(&self, id: Option<&str>, on: bool) -> usize {
        let mut confirmations = Vec::new();
        for (info, conn) in self.open_connections() {
            if id.is_none_or(|id| id == info.id) {
                let (done, confirmed) = tokio::sync::oneshot::channel();
                conn.command(ConnCommand::Silent { on, done });
                confirmations.push(confirmed);
            }
        }
        let count = confirmations.len();
        let _ = tokio::time::timeout(STOP_GRACE, async {
            for confirmed in confirmations {
                // An error means the connection ended meanwhile: nothing left to switch.
                let _ = confirmed.await;
            }
        })
        .await;
        count
    }

    /// Binds the configured address and starts accepting.
    fn listen(self: &Arc<Self>) -> io::Result<()> {
        let mut listening = lock(&self.listening);
        if listening.is_none() {
            *listening = Some(self.accept_on(bind(self.addr)?));
        }
        Ok(())
    }

    /// Starts accepting on `listener`.
    fn accept_on(self: &Arc<Self>, listener: TcpListener) -> Listening {
        let (stop, stop_rx) = watch::channel(false);
        let accept = tokio::spawn(accept_loop(self.clone(), listener, stop_rx));
        Listening { stop, accept }
    }

    /// Stops accepting and ends every open, stalled or half-read connection without a close
    /// frame. Rooms restart empty on the next connection; room storage and the log stay.
    pub(crate) async fn stop(&self) {
        let Some(listening) = lock(&self.listening).take() else {
            return;
        };
        let _ = listening.stop.send(true);
        let mut accept = listening.accept;
        if tokio::time::timeout(STOP_GRACE * 2, &mut accept)
            .await
            .is_err()
        {
            accept.abort();
        }
        lock(&self.rooms).clear();
        self.changed.notify_waiters();
    }

    /// Stops, waits `down`, and listens again on the same address.
    pub(crate) async fn restart_after(self: &Arc<Self>, down: Duration) -> io::Result<()> {
        self.stop().await;
        if !down.is_zero() {
            tokio::time::sleep(down.min(MAX_DOWN_TIME)).await;
        }
        // The old socket may linger for a moment after the accept task ends; retry briefly.
        let mut tries = 0;
        loop {
            match self.listen() {
                Err(err) if err.kind() == io::ErrorKind::AddrInUse && tries < 50 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                result => return result,
            }
        }
    }

    fn is_listening(&self) -> bool {
        lock(&self.listening).is_some()
    }

    /// Ends everything at once, without waiting (for `Drop`).
    fn abort(&self) {
        if let Some(listening) = lock(&self.listening).take() {
            let _ = listening.stop.send(true);
            listening.accept.abort();
        }
        lock(&self.rooms).clear();
    }

    /// Waits until `check` returns a value, or `timeout` passes.
    async fn wait_until<T>(
        &self,
        timeout: Duration,
        what: impl Fn() -> String,
        mut check: impl FnMut() -> Option<T>,
    ) -> Result<T, WaitTimeout> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(value) = check() {
                return Ok(value);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return match check() {
                    Some(value) => Ok(value),
                    None => Err(WaitTimeout {
                        message: format!("timed out after {timeout:?} waiting for {}", what()),
                    }),
                };
            }
        }
    }
}

fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Accepts until `stop` fires, then lets the connections end (they watch `stop` too).
async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    tasks.spawn(connection::serve(shared.clone(), stream, stop.clone()));
                }
                Err(err) => {
                    tracing::warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(STOP_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tasks.abort_all();
    }
}

/// A running mock PartyKit server.
///
/// Start it inside a tokio runtime; it serves until [`shutdown`](Self::shutdown) or drop.
/// Every fault method takes effect at once and returns without waiting.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use party_mock::{MockConfig, MockServer};
///
/// let server = MockServer::start(MockConfig::default()).await?;
/// let url = server.ws_url("/parties/echo/room-1?_pk=me");
/// // ... connect a client to `url` ...
/// server.refuse_next(2, 503, Some(1));
/// server.drop_all();
/// # Ok(()) }
/// ```
pub struct MockServer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.shared.addr)
            .field("tls", &self.shared.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Binds `config.host:config.port` and starts serving.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound, or (with `tls`) the certificate cannot be
    /// generated or written.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn start(config: MockConfig) -> io::Result<MockServer> {
        let tls = if config.tls {
            Some(tls::generate(config.cert_dir.as_deref())?)
        } else {
            None
        };
        let listener = bind(SocketAddr::new(config.host, config.port))?;
        // A restart binds this address again, so port 0 is resolved once, here.
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            routes: config.routes,
            tls,
            addr,
            log_messages: config.log_messages,
            websocket_auto_responses: config.websocket_auto_responses,
            default_max_message_size: config.max_message_size,
            faults: Mutex::new(Faults {
                max_message_size: config.max_message_size,
                ..Faults::default()
            }),
            rooms: Mutex::new(HashMap::new()),
            storage: Mutex::new(HashMap::new()),
            log: Mutex::new(Log::default()),
            changed: Notify::new(),
            next_serial: AtomicU64::new(1),
            listening: Mutex::new(None),
        });
        let listening = shared.accept_on(listener);
        *lock(&shared.listening) = Some(listening);
        Ok(MockServer { shared })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `host:port` as a client's `host` option takes it (`127.0.0.1:PORT`, `[::1]:PORT`).
    pub fn host(&self) -> String {
        self.shared.addr.to_string()
    }

    /// Whether the server speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.shared.tls.is_some()
    }

    /// `ws://host:port{path}` (`wss://` with TLS); `path` starts with `/`.
    pub fn ws_url(&self, path: &str) -> String {
        let scheme = if self.is_tls() { "wss" } else { "ws" };
        format!("{scheme}://{}{path}", self.host())
    }

    /// `http://host:port{path}` (`https://` with TLS); `path` starts with `/`.
    pub fn http_url(&self, path: &str) -> String {
        let scheme = if self.is_tls() { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.host())
    }

    /// With TLS: the PEM of the CA certificate that signed the server's certificate; trust
    /// it to connect.
    pub fn ca_pem(&self) -> Option<&str> {
        self.shared.tls.as_ref().map(|tls| tls.ca_pem.as_str())
    }

    /// With TLS: the CA certificate in DER, ready for a rustls root store.
    pub fn ca_der(&self) -> Option<CertificateDer<'static>> {
        self.shared.tls.as_ref().map(|tls| tls.ca_der.clone())
    }

    /// With TLS: the file holding [`ca_pem`](Self::ca_pem) (for `NODE_EXTRA_CA_CERTS`,
    /// `SSL_CERT_FILE` and the like).
    pub fn ca_cert_path(&self) -> Option<&Path> {
        self.shared.tls.as_ref().map(|tls| tls.ca_path.as_path())
    }

    /// Ends every open WebSocket connection without a close frame (the client sees an
    /// abnormal closure, 1006). Returns how many were dropped.
    pub fn drop_all(&self) -> usize {
        self.shared.command(None, || ConnCommand::Drop)
    }

    /// Ends the connections whose id is `id` without a close frame; returns how many.
    pub fn drop_connection(&self, id: &str) -> usize {
        self.shared.command(Some(id), || ConnCommand::Drop)
    }

    /// Closes every open connection with `code` and `reason` (a clean close handshake);
    /// returns how many.
    pub fn close_all(&self, code: u16, reason: &str) -> usize {
        self.shared.command(None, || ConnCommand::Close {
            code,
            reason: reason.to_owned(),
        })
    }

    /// Closes the connections whose id is `id` with `code` and `reason`; returns how many.
    pub fn close_connection(&self, id: &str, code: u16, reason: &str) -> usize {
        self.shared.command(Some(id), || ConnCommand::Close {
            code,
            reason: reason.to_owned(),
        })
    }

    /// Answers the next `count` WebSocket handshakes with `status` (401, 403, 429, 503…)
    /// instead of 101, with `Retry-After: retry_after` seconds when given. Replaces any
    /// refusal still pending; `count` 0 cancels it. Plain HTTP requests are not refused.
    pub fn refuse_next(&self, count: u32, status: u16, retry_after: Option<u32>) {
        self.shared.refuse_next(count, status, retry_after);
    }

    /// While on, WebSocket handshakes are read but never answered: the client's connect
    /// hangs until it times out. Turning it off does not release connections already held;
    /// they end when the client gives up or the server stops.
    pub fn stall_handshakes(&self, on: bool) {
        self.shared.faults().stall = on;
    }

    /// Makes the connections open now half-open (`true`): the server stops reading, stops
    /// answering pings and sends nothing (messages for them are discarded), but keeps the
    /// TCP connection. `false` makes them live again; what the client sent meanwhile is
    /// read then. Connections opened later are unaffected. Returns once every connection
    /// has switched (at most a few seconds), with how many there were: nothing a client
    /// sends afterwards is read or answered.
    ///
    /// # Cancel safety
    ///
    /// Cancelling it does not undo the switch; it only stops waiting for it.
    pub async fn go_silent(&self, on: bool) -> usize {
        self.shared.set_silent(None, on).await
    }

    /// [`go_silent`](Self::go_silent) for the connections whose id is `id`.
    pub async fn go_silent_connection(&self, id: &str, on: bool) -> usize {
        self.shared.set_silent(Some(id), on).await
    }

    /// Limits WebSocket messages to `limit` bytes (`None`: no limit of our own). A larger
    /// message closes its connection with 1009 `Message too big`.
    pub fn set_max_message_size(&self, limit: Option<usize>) {
        self.shared.faults().max_message_size = limit;
    }

    /// Disarms refusals and stalling and restores the configured message size limit.
    pub fn reset_faults(&self) {
        self.shared.reset_faults();
    }

    /// Stops listening and ends all connections without a close frame (a crashed server).
    /// Room state restarts empty; room storage (chat history) and the log survive.
    ///
    /// # Cancel safety
    ///
    /// Cancelling it after the first poll still stops the server, but may leave connection
    /// tasks to end on their own.
    pub async fn stop(&self) {
        self.shared.stop().await;
    }

    /// Stops (when listening) and listens again on the same address.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound again.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: cancelled between stop and listen, the server stays stopped.
    pub async fn restart(&self) -> io::Result<()> {
        self.shared.restart_after(Duration::ZERO).await
    }

    /// Whether the server is accepting connections.
    pub fn is_listening(&self) -> bool {
        self.shared.is_listening()
    }

    /// Every request to a party route so far (WebSocket attempts and HTTP), in arrival order.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.shared.attempts()
    }

    /// Every message `party`/`room` received so far, in arrival order.
    pub fn received(&self, party: &str, room: &str) -> Vec<Received> {
        self.shared.received(party, room)
    }

    /// Forgets the attempts and received messages logged so far.
    pub fn clear_log(&self) {
        self.shared.clear_log();
    }

    /// The open WebSocket connections, oldest first.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        self.shared.connections()
    }

    /// Waits until at least `count` attempts are logged and returns them all.
    ///
    /// # Errors
    ///
    /// [`WaitTimeout`] after `timeout`.
    pub async fn wait_for_attempts(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Attempt>, WaitTimeout> {
        self.shared
            .wait_until(
                timeout,
                || format!("{count} attempts; saw {}", self.shared.attempts().len()),
                || {
                    let attempts = self.shared.attempts();
                    (attempts.len() >= count).then_some(attempts)
                },
            )
            .await
    }

    /// Waits until `party`/`room` has received at least `count` messages and returns them all.
    ///
    /// # Errors
    ///
    /// [`WaitTimeout`] after `timeout`.
    pub async fn wait_for_received(
        &self,
        party: &str,
        room: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<Received>, WaitTimeout> {
        self.shared
            .wait_until(
                timeout,
                || {
                    let seen = self.shared.received(party, room).len();
                    format!("{count} messages in {party}/{room}; saw {seen}")
                },
                || {
                    let received = self.shared.received(party, room);
                    (received.len() >= count).then_some(received)
                },
            )
            .await
    }

    /// Waits until exactly `count` WebSocket connections are open and returns them.
    ///
    /// # Errors
    ///
    /// [`WaitTimeout`] after `timeout`.
    pub async fn wait_for_connections(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ConnectionInfo>, WaitTimeout> {
        self.shared
            .wait_until(
                timeout,
                || {
                    format!(
                        "{count} open connections; saw {:?}",
                        self.shared.connections()
                    )
                },
                || {
                    let open = self.shared.connections();
                    (open.len() == count).then_some(open)
                },
            )
            .await
    }

    /// Stops the server and waits for its connections to end.
    pub async fn shutdown(self) {
        self.shared.stop().await;
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shared.abort();
    }
}
