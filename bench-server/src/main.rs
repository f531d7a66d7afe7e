//! `bench-server`: the echo and broadcast server `cargo xtask bench` measures clients
//! against.
//!
//! `party-mock` writes and flushes every echo on its own (one system call per message),
//! which caps every client near its own rate. This server does what a production server
//! under load does: it reads every frame that is already readable, writes the answers
//! into the connection's buffer and flushes once per batch. Its CPU is recorded by the
//! bench, which flags any round where the server used its whole core.
//!
//! Routes (a subset of `party-mock`'s, the ones the bench uses):
//!
//! | path | on connect | on message |
//! | --- | --- | --- |
//! | `/parties/echo/:room` | `{"id":"<_pk>"}` | echoed to the sender |
//! | `/parties/main/:room` | `Welcome to the party!` | sent to everyone else in the room |
//!
//! Anything else is answered `404`. Usage: `bench-server [--host 127.0.0.1] [--port 0]
//! [--tls-ca PATH]`; the first line on stdout is `listening on HOST:PORT`. With
//! `--tls-ca`, the server makes a certificate authority and a certificate for
//! `localhost`, `127.0.0.1` and `::1` at start, writes the authority's PEM to `PATH`, and
//! answers `wss://` on the same port as `ws://` (a connection that opens with a TLS
//! handshake record is served over TLS).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::{Error, Message};

mod tls;

/// Frames answered before a flush is forced, so one busy connection cannot hold its
/// answers back without bound.
const MAX_BATCH: usize = 1_024;

/// Which party a connection joined.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Echo { id: String },
    Broadcast { room: String },
}

/// `/parties/:party/:room[?query]` to a route; `None` for any other path.
fn route(path_and_query: &str) -> Option<Route> {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut parts = path.strip_prefix("/parties/")?.split('/');
    let (party, room) = (parts.next()?, parts.next()?);
    if room.is_empty() || parts.next().is_some() {
        return None;
    }
    match party {
        "echo" => {
            let id = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("_pk="))
                .unwrap_or("anonymous")
                .to_owned();
            Some(Route::Echo { id })
        }
        "main" => Some(Route::Broadcast {
            room: room.to_owned(),
        }),
        _ => None,
    }
}

/// The connections of every broadcast room, on the server's one thread.
#[derive(Debug, Default)]
struct Rooms {
    next: u64,
    rooms: HashMap<String, Vec<(u64, mpsc::UnboundedSender<Message>)>>,
}

type Shared = Rc<RefCell<Rooms>>;

fn main() -> ExitCode {
    let mut host = "127.0.0.1".to_owned();
    let mut port = "0".to_owned();
    let mut ca = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "--host" => &mut host,
            "--port" => &mut port,
            "--tls-ca" => &mut ca,
            other => {
                eprintln!(
                    "bench-server: unknown argument {other:?} (expected --host, --port, --tls-ca)"
                );
                return ExitCode::from(2);
            }
        };
        match args.next() {
            Some(value) => *slot = value,
            None => {
                eprintln!("bench-server: {arg} needs a value");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("bench-server: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let tls = if ca.is_empty() {
        None
    } else {
        match tls::acceptor(std::path::Path::new(&ca)) {
            Ok(acceptor) => Some(acceptor),
            Err(err) => {
                eprintln!("bench-server: cannot set up TLS: {err}");
                return ExitCode::FAILURE;
            }
        }
    };
    let local = tokio::task::LocalSet::new();
    match local.block_on(&runtime, serve(&host, &port, tls)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench-server: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(host: &str, port: &str, tls: Option<TlsAcceptor>) -> Result<(), String> {
    let listener = TcpListener::bind(format!("{host}:{port}"))
        .await
        .map_err(|err| format!("cannot listen on {host}:{port}: {err}"))?;
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(|err| format!("no local address: {err}"))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {addr}")
        .and_then(|()| stdout.flush())
        .map_err(|err| format!("cannot print the address: {err}"))?;
    let rooms = Shared::default();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of descriptors and the like: the bench sees the failed connection.
            Err(err) => {
                eprintln!("bench-server: accept: {err}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let rooms = rooms.clone();
        match &tls {
            None => {
                tokio::task::spawn_local(connection(stream, rooms));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::task::spawn_local(async move {
                    // A TLS connection opens with a handshake record (content type 22).
                    let mut first = [0u8; 1];
                    match stream.peek(&mut first).await {
                        Ok(1) if first[0] == 22 => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                connection(stream, rooms).await;
                            }
                        }
                        Ok(_) => connection(stream, rooms).await,
                        Err(_) => {}
                    }
                });
            }
        }
    }
}

// tungstenite's handshake callback returns its `ErrorResponse` by value.
#[allow(clippy::result_large_err)]
async fn connection<S>(stream: S, rooms: Shared)
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let mut joined = None;
    let accepted = tokio_tungstenite::accept_hdr_async(stream, |request: &Request, response| {
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |path| path.as_str());
        match route(path) {
            Some(found) => {
                joined = Some(found);
                Ok::<Response, ErrorResponse>(response)
            }
            None => {
                let mut refusal = ErrorResponse::new(Some(format!("no party at {path}")));
                *refusal.status_mut() = StatusCode::NOT_FOUND;
                Err(refusal)
            }
        }
    })
    .await;
    let (Ok(ws), Some(joined)) = (accepted, joined) else {
        return;
    };
    let _ = match joined {
        Route::Echo { id } => echo(ws, id).await,
        Route::Broadcast { room } => broadcast(ws, room, rooms).await,
    };
}

/// Echoes every data frame; answers a batch with one flush.
async fn echo<S>(mut ws: WebSocketStream<S>, id: String) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    ws.send(Message::text(format!("{{\"id\":\"{id}\"}}")))
        .await?;
    while let Some(first) = ws.next().await {
        let mut next = Some(first);
        let mut batch = 0;
        while let Some(message) = next.take() {
            match message? {
                message @ (Message::Text(_) | Message::Binary(_)) => ws.feed(message).await?,
                Message::Close(_) => return ws.flush().await,
                // Pongs to pings are queued by tungstenite and go out with the flush.
                _ => {}
            }
            batch += 1;
            if batch < MAX_BATCH {
                // What is already readable, without waiting.
                next = ws.next().now_or_never().flatten();
            }
        }
        ws.flush().await?;
    }
    Ok(())
}

/// Sends every data frame to the room's other connections, each of which writes what
/// is waiting for it with one flush.
async fn broadcast<S>(ws: WebSocketStream<S>, room: String, rooms: Shared) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let (mut sink, mut stream) = ws.split();
    let (outbox, mut inbox) = mpsc::unbounded_channel();
    let me = {
        let mut rooms = rooms.borrow_mut();
        rooms.next += 1;
        let me = rooms.next;
        rooms
            .rooms
            .entry(room.clone())
            .or_default()
            .push((me, outbox.clone()));
        me
    };
    let _ = outbox.send(Message::text("Welcome to the party!"));
    drop(outbox);
    let writer = tokio::task::spawn_local(async move {
        while let Some(first) = inbox.recv().await {
            sink.feed(first).await?;
            while let Ok(next) = inbox.try_recv() {
                sink.feed(next).await?;
            }
            sink.flush().await?;
        }
        Ok::<(), Error>(())
    });
    let result = async {
        while let Some(message) = stream.next().await {
            let message = message?;
            if !matches!(message, Message::Text(_) | Message::Binary(_)) {
                continue;
            }
            let rooms = rooms.borrow();
            for (peer, outbox) in rooms.rooms.get(&room).into_iter().flatten() {
                if *peer != me {
                    let _ = outbox.send(message.clone());
                }
            }
        }
        Ok(())
    }
    .await;
    {
        let mut rooms = rooms.borrow_mut();
        if let Some(members) = rooms.rooms.get_mut(&room) {
            members.retain(|(peer, _)| *peer != me);
            if members.is_empty() {
                rooms.rooms.remove(&room);
            }
        }
    }
    writer.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_the_two_parties_and_nothing_else() {
        assert_eq!(
            route("/parties/echo/r1?_pk=abc&x=1"),
            Some(Route::Echo { id: "abc".into() })
        );
        assert_eq!(
            route("/parties/echo/r1"),
            Some(Route::Echo {
                id: "anonymous".into()
            })
        );
        assert_eq!(
            route("/parties/main/room-7?_pk=z"),
            Some(Route::Broadcast {
                room: "room-7".into()
            })
        );
        assert_eq!(route("/parties/chat/r1"), None);
        assert_eq!(route("/parties/echo/"), None);
        assert_eq!(route("/parties/echo/r1/extra"), None);
        assert_eq!(route("/party/r1"), None);
    }
}
