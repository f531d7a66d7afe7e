//! One accepted TCP connection: TLS, HTTP requests, the WebSocket handshake and the socket.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Error as WsError};

use crate::control;
use crate::http::{self, ReadError, Request, Response};
use crate::log::{Attempt, AttemptKind, Message, Outcome};
use crate::parties::{ConnCommand, Connection, Room};
use crate::routing::RouteMatch;
use crate::server::{Shared, lock};

/// How long a TLS handshake may take.
const TLS_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server waits for the client's answer to its close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The initial read buffer of a WebSocket connection (the library's default is 128 KiB).
const READ_BUFFER: usize = 4 * 1024;
/// The longest close reason a close frame can carry.
const MAX_REASON: usize = 123;

/// Serves one accepted connection until it ends or `stop` fires; on `stop` it is dropped
/// wherever it is, without a close frame.
pub(crate) async fn serve(shared: Arc<Shared>, stream: TcpStream, mut stop: watch::Receiver<bool>) {
    let work = async {
        match &shared.tls {
            Some(tls) => {
                let accepted = tokio::time::timeout(TLS_TIMEOUT, tls.acceptor.accept(stream)).await;
                if let Ok(Ok(stream)) = accepted {
                    serve_requests(&shared, stream, "https").await;
                }
            }
            None => serve_requests(&shared, stream, "http").await,
        }
    };
    tokio::select! {
        () = work => {}
        () = async {
            let _ = stop.wait_for(|stopped| *stopped).await;
        } => {}
    }
}

/// Answers HTTP requests on one connection until it closes or upgrades to a WebSocket.
async fn serve_requests<S>(shared: &Arc<Shared>, mut stream: S, scheme: &str)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut buffer = Vec::new();
    loop {
        let read = tokio::time::timeout(
            http::HEAD_TIMEOUT,
            http::read_request(&mut stream, &mut buffer, scheme),
        )
        .await;
        let request = match read {
            Ok(Ok(request)) => request,
            Ok(Err(ReadError::Invalid(status, text))) => {
                let _ = Response::text(status, text)
                    .write_to(&mut stream, false)
                    .await;
                return;
            }
            Ok(Err(ReadError::Closed | ReadError::Broken)) | Err(_) => return,
        };

        if control::is_control_path(request.path()) {
            let (response, after) = control::handle(shared, &request).await;
            if response
                .write_to(&mut stream, request.keep_alive)
                .await
                .is_err()
            {
                return;
            }
            if let Some(after) = after {
                after.spawn(shared.clone());
            }
        } else if request.header_has_token("upgrade", "websocket") {
            return serve_websocket(shared, stream, buffer, request).await;
        } else {
            let response = serve_http(shared, &request);
            if response
                .write_to(&mut stream, request.keep_alive)
                .await
                .is_err()
            {
                return;
            }
        }
        if !request.keep_alive {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

/// A log entry for `request`, stamped now; its outcome is filled in once known.
fn attempt(kind: AttemptKind, request: &Request, route: Option<&RouteMatch>) -> Attempt {
    Attempt {
        time: SystemTime::now(),
        kind,
        method: request.method.clone(),
        url: request.url.clone(),
        headers: request.headers.clone(),
        party: route.map(|route| route.party.clone()),
        room: route.map(|route| route.room.clone()),
        connection_id: None,
        outcome: Outcome::Answered { status: 0 },
    }
}

/// The route and room a request reaches, or the 404 `partykit dev` answers instead.
fn find_room(
    shared: &Shared,
    route: Option<&RouteMatch>,
) -> Result<(Arc<Mutex<Room>>, RouteMatch), Response> {
    let Some(route) = route else {
        return Err(Response::text(404, "Not found"));
    };
    match shared.room(&route.party, &route.room) {
        Some(room) => Ok((room, route.clone())),
        None => Err(Response::text(
            404,
            format!("Party {} not found", route.party),
        )),
    }
}

/// A plain HTTP request to a party route: the party's `onRequest`.
fn serve_http(shared: &Shared, request: &Request) -> Response {
    let route = shared.routes.resolve(request.path());
    let mut logged = attempt(AttemptKind::Http, request, route.as_ref());
    let response = match find_room(shared, route.as_ref()) {
        Ok((room, _)) => lock(&room).request(request),
        Err(not_found) => not_found,
    };
    logged.outcome = Outcome::Answered {
        status: response.status,
    };
    shared.record_attempt(logged);
    response
}

/// What the upgrade headers lack, if anything.
fn upgrade_problem(request: &Request) -> Option<&'static str> {
    if request.method != "GET" {
        Some("WebSocket upgrade must use GET")
    } else if !request.header_has_token("connection", "upgrade") {
        Some("missing Connection: Upgrade")
    } else if request.header("sec-websocket-key").is_none() {
        Some("missing Sec-WebSocket-Key")
    } else if request.header("sec-websocket-version").map(str::trim) != Some("13") {
        Some("unsupported Sec-WebSocket-Version (expected 13)")
    } else {
        None
    }
}

/// What the armed faults and the upgrade headers make of a handshake.
enum Admission {
    /// Hold the connection without an answer.
    Stall,
    /// Answer with a `refuse_next` status.
    Refuse(Response),
    /// Answer 400: the upgrade headers are incomplete.
    Reject(Response),
    /// Go on to the route and the party.
    Pass,
}

fn admit(shared: &Shared, request: &Request) -> Admission {
    if let Some(problem) = upgrade_problem(request) {
        let response = Response::text(400, format!("Bad Request: {problem}"))
            .with_header("Sec-WebSocket-Version", "13");
        return Admission::Reject(response);
    }
    let mut faults = shared.faults();
    if faults.stall {
        return Admission::Stall;
    }
    let Some(refusal) = faults.refusal.as_mut() else {
        return Admission::Pass;
    };
    refusal.remaining = refusal.remaining.saturating_sub(1);
    let status = refusal.status;
    let mut response = Response::text(
        status,
        format!("Refused by party-mock: {}", http::reason_phrase(status)),
    );
    if let Some(seconds) = refusal.retry_after {
        response = response.with_header("Retry-After", seconds.to_string());
    }
    if refusal.remaining == 0 {
        faults.refusal = None;
    }
    Admission::Refuse(response)
}

/// A WebSocket upgrade request: faults first, then routing, then the party.
async fn serve_websocket<S>(shared: &Arc<Shared>, mut stream: S, buffer: Vec<u8>, request: Request)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let route = shared.routes.resolve(request.path());
    let mut logged = attempt(AttemptKind::WebSocket, &request, route.as_ref());

    let found = match admit(shared, &request) {
        Admission::Stall => {
            logged.outcome = Outcome::Stalled;
            shared.record_attempt(logged);
            hold_silently(&mut stream).await;
            return;
        }
        Admission::Refuse(response) => Err((
            Outcome::Refused {
                status: response.status,
            },
            response,
        )),
        Admission::Reject(response) => Err((
            Outcome::Answered {
                status: response.status,
            },
            response,
        )),
        Admission::Pass => find_room(shared, route.as_ref()).map_err(|response| {
            (
                Outcome::Answered {
                    status: response.status,
                },
                response,
            )
        }),
    };
    let (room, route) = match found {
        Ok(found) => found,
        Err((outcome, response)) => {
            logged.outcome = outcome;
            shared.record_attempt(logged);
            let _ = response.write_to(&mut stream, false).await;
            return;
        }
    };

    let id = request
        .query_value("_pk")
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let key = request.header("sec-websocket-key").unwrap_or_default();
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.trim().as_bytes())
    );
    // The room knows the connection before the client can see it open, so a test that
    // acts on the server as soon as its socket opens finds the connection there.
    let (commands, inbox) = mpsc::unbounded_channel();
    let conn = Connection {
        serial: shared.next_serial(),
        id: id.clone(),
        commands,
    };
    lock(&room).connect(conn.clone(), &request);
    shared.connections_changed();
    if stream.write_all(head.as_bytes()).await.is_err() || stream.flush().await.is_err() {
        lock(&room).disconnect(conn.serial);
        shared.connections_changed();
        return;
    }
    logged.connection_id = Some(id);
    logged.outcome = Outcome::Accepted;
    shared.record_attempt(logged);

    let limit = shared.faults().max_message_size;
    // A small read buffer keeps thousands of idle connections cheap; it grows on demand.
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(limit.or(WebSocketConfig::default().max_message_size))
        .max_frame_size(limit.or(WebSocketConfig::default().max_frame_size));
    let mut socket =
        WebSocketStream::from_partially_read(stream, buffer, Role::Server, Some(config)).await;

    let session = Session {
        shared,
        room: &room,
        route: &route,
        conn: &conn,
    };
    let ending = session.run(&mut socket, inbox).await;
    // The room forgets the connection before the closing handshake, as PartyKit does once
    // a connection is closing.
    lock(&room).disconnect(conn.serial);
    shared.connections_changed();
    if let Some((code, reason)) = ending {
        close(&mut socket, code, &reason).await;
    }
}

/// Reads and discards whatever the client sends, until it closes the connection.
async fn hold_silently<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut sink = [0u8; 1024];
    while let Ok(read) = stream.read(&mut sink).await {
        if read == 0 {
            return;
        }
    }
}

/// One open WebSocket connection in its room.
struct Session<'a> {
    shared: &'a Shared,
    room: &'a Mutex<Room>,
    route: &'a RouteMatch,
    conn: &'a Connection,
}

impl Session<'_> {
    /// Moves frames between the socket and the room until the connection ends; returns
    /// the close frame to send, if the server is the one closing.
    async fn run<S>(
        &self,
        socket: &mut WebSocketStream<S>,
        mut inbox: mpsc::UnboundedReceiver<ConnCommand>,
    ) -> Option<(u16, String)>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut silent = false;
        loop {
            tokio::select! {
                command = inbox.recv() => match command {
                    Some(ConnCommand::Send(message)) => {
                        if !silent && socket.send(to_frame(message)).await.is_err() {
                            return None;
                        }
                    }
                    Some(ConnCommand::Close { code, reason }) => return Some((code, reason)),
                    Some(ConnCommand::Drop) | None => return None,
                    Some(ConnCommand::Silent { on, done }) => {
                        silent = on;
                        let _ = done.send(());
                    }
                },
                frame = socket.next(), if !silent => match frame {
                    Some(Ok(frame)) => {
                        if let Some((code, reason)) = self.deliver(frame) {
                            return Some((code, reason.to_owned()));
                        }
                    }
                    Some(Err(err)) => {
                        return close_for_error(&err).map(|(code, reason)| (code, reason.to_owned()));
                    }
                    None => return None,
                },
            }
        }
    }

    /// Logs a data frame and hands it to the party; returns a close to send when the
    /// frame breaks the size limit.
    fn deliver(&self, frame: tungstenite::Message) -> Option<(u16, &'static str)> {
        let message = match frame {
            tungstenite::Message::Text(text) => Message::Text(text.as_str().to_owned()),
            tungstenite::Message::Binary(bytes) => Message::Binary(bytes.to_vec()),
            // Pings are answered by the library; the peer's close is echoed by it too.
            _ => return None,
        };
        let limit = self.shared.faults().max_message_size;
        if limit.is_some_and(|limit| message.len() > limit) {
            return Some((1009, "Message too big"));
        }
        let (party, room) = (&self.route.party, &self.route.room);
        self.shared
            .record_received(party, room, &self.conn.id, self.conn.serial, &message);
        let answer = message
            .as_text()
            .and_then(|text| self.shared.auto_response(party, text));
        if let Some(answer) = answer {
            // Answered at the connection, like Cloudflare's auto-response: the party
            // never sees it.
            self.conn.send(Message::Text(answer.to_owned()));
            return None;
        }
        lock(self.room).message(self.conn.serial, &message);
        None
    }
}

/// The close code and reason for a read error, when the peer can still be told.
fn close_for_error(err: &WsError) -> Option<(u16, &'static str)> {
    match err {
        WsError::Utf8(_) => Some((1007, "Invalid UTF-8 in text frame")),
        WsError::Capacity(_) => Some((1009, "Message too big")),
        WsError::Protocol(_) => Some((1002, "Protocol error")),
        _ => None,
    }
}

/// Sends a close frame and waits (bounded) for the client to answer it.
async fn close<S>(socket: &mut WebSocketStream<S>, code: u16, reason: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame {
        code: code.into(),
        reason: reason[..end].to_owned().into(),
    };
    if socket.close(Some(frame)).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(_)) = socket.next().await {}
    })
    .await;
}

fn to_frame(message: Message) -> tungstenite::Message {
    match message {
        Message::Text(text) => tungstenite::Message::Text(text.into()),
        Message::Binary(bytes) => tungstenite::Message::Binary(bytes.into()),
    }
}
