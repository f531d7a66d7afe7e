//! `bench-server`: the echo and broadcast server `cargo xtask bench` measures clients
//! against.
//!
//! `party-mock` writes and flushes every echo on its own (one system call per message),
//! which caps every client near its own rate. This server costs each message as little
//! as it can, so that the clients, not the server, set the pace: it speaks the server
//! half of RFC 6455 itself (`wire`), parses client frames straight from a read buffer,
//! answers everything one read brought with one write, and frames a broadcast message
//! once for the whole room, copying those bytes into each member's output, which the
//! member's writer sends with one write per wake. Its CPU is recorded by the bench,
//! which flags any round where the server used its whole core.
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

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;

use crate::wire::Inbound;

mod tls;
mod wire;

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
    accept(listener, tls).await
}

/// Serves every connection the listener accepts, on this thread.
async fn accept(listener: TcpListener, tls: Option<TlsAcceptor>) -> Result<(), String> {
    let rooms = Rc::new(Rooms::default());
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

/// Answers the upgrade request and serves the route it asked for.
async fn connection<S>(mut stream: S, rooms: Rc<Rooms>)
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let Ok(Some((head, rest))) = wire::read_head(&mut stream).await else {
        return;
    };
    let upgrade = match wire::parse_request(&head) {
        Ok(upgrade) => upgrade,
        Err(why) => {
            let _ = answer(&mut stream, &wire::refusal("400 Bad Request", why)).await;
            return;
        }
    };
    let Some(joined) = route(&upgrade.target) else {
        let body = format!("no party at {}", upgrade.target);
        let _ = answer(&mut stream, &wire::refusal("404 Not Found", &body)).await;
        return;
    };
    if answer(&mut stream, &wire::switching_protocols(&upgrade.accept))
        .await
        .is_err()
    {
        return;
    }
    let inbound = Inbound::new(rest);
    let _ = match joined {
        Route::Echo { id } => echo(stream, inbound, &id).await,
        Route::Broadcast { room } => broadcast(stream, inbound, room, rooms).await,
    };
}

/// Writes a handshake answer.
async fn answer<S: AsyncWrite + Unpin>(stream: &mut S, text: &str) -> io::Result<()> {
    stream.write_all(text.as_bytes()).await?;
    stream.flush().await
}

/// Writes what `out` holds with one call and empties it.
async fn write_out<S: AsyncWrite + Unpin>(stream: &mut S, out: &mut Vec<u8>) -> io::Result<()> {
    if !out.is_empty() {
        stream.write_all(out).await?;
        stream.flush().await?;
        out.clear();
    }
    Ok(())
}

/// Echoes every data frame as it came (fragments as fragments) and answers pings;
/// what one read brought is answered with one write.
async fn echo<S>(mut stream: S, mut inbound: Inbound, id: &str) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut out = Vec::new();
    wire::put_frame(
        &mut out,
        wire::TEXT,
        format!("{{\"id\":\"{id}\"}}").as_bytes(),
    );
    write_out(&mut stream, &mut out).await?;
    loop {
        let mut closing = false;
        loop {
            match inbound.next_frame() {
                Ok(Some(frame)) => {
                    let payload = inbound.payload(&frame);
                    match frame.opcode {
                        wire::PING => wire::put_frame(&mut out, wire::PONG, payload),
                        wire::PONG => {}
                        wire::CLOSE => {
                            wire::put_frame(&mut out, wire::CLOSE, payload);
                            closing = true;
                            break;
                        }
                        opcode => {
                            wire::put_header(&mut out, frame.fin, opcode, payload.len());
                            out.extend_from_slice(payload);
                        }
                    }
                }
                Ok(None) => break,
                Err(why) => {
                    wire::put_close(&mut out, wire::PROTOCOL_ERROR, why);
                    closing = true;
                    break;
                }
            }
        }
        write_out(&mut stream, &mut out).await?;
        if closing {
            return stream.shutdown().await;
        }
        if inbound.fill(&mut stream).await? == 0 {
            return Ok(());
        }
    }
}

/// One connection of a broadcast room: what the room sends it waits in `out`, which
/// its writer sends with one write whenever it finds it not empty.
#[derive(Debug)]
struct Member {
    id: u64,
    out: RefCell<Vec<u8>>,
    ready: Notify,
    /// The connection stopped reading: the writer sends what is left, then ends.
    closing: Cell<bool>,
}

impl Member {
    /// Appends to the output and wakes the writer when it was empty (a writer that
    /// finds it not empty is already on its way).
    fn push(&self, frame: impl FnOnce(&mut Vec<u8>)) {
        let mut out = self.out.borrow_mut();
        let was_empty = out.is_empty();
        frame(&mut out);
        drop(out);
        if was_empty {
            self.ready.notify_one();
        }
    }
}

/// The members of every broadcast room, on the server's one thread.
#[derive(Debug, Default)]
struct Rooms {
    next: Cell<u64>,
    rooms: RefCell<HashMap<String, Vec<Rc<Member>>>>,
}

impl Rooms {
    fn join(&self, room: &str) -> Rc<Member> {
        self.next.set(self.next.get() + 1);
        let member = Rc::new(Member {
            id: self.next.get(),
            out: RefCell::new(Vec::new()),
            ready: Notify::new(),
            closing: Cell::new(false),
        });
        self.rooms
            .borrow_mut()
            .entry(room.to_owned())
            .or_default()
            .push(Rc::clone(&member));
        member
    }

    fn leave(&self, room: &str, id: u64) {
        let mut rooms = self.rooms.borrow_mut();
        if let Some(members) = rooms.get_mut(room) {
            members.retain(|member| member.id != id);
            if members.is_empty() {
                rooms.remove(room);
            }
        }
    }

    /// Appends `frame` to the output of everyone in `room` but `sender`.
    fn relay(&self, room: &str, sender: u64, frame: &[u8]) {
        let rooms = self.rooms.borrow();
        for member in rooms.get(room).into_iter().flatten() {
            if member.id != sender {
                member.push(|out| out.extend_from_slice(frame));
            }
        }
    }
}

/// Sends every data frame to the room's other connections. Each message is framed
/// once and copied into every member's output; fragmented messages are refused
/// (close 1003), as the bench's clients never send them.
async fn broadcast<S>(
    stream: S,
    mut inbound: Inbound,
    room: String,
    rooms: Rc<Rooms>,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let (mut reader, writer) = tokio::io::split(stream);
    let me = rooms.join(&room);
    me.push(|out| wire::put_frame(out, wire::TEXT, b"Welcome to the party!"));
    let written = tokio::task::spawn_local(write_member(writer, Rc::clone(&me)));
    let mut frame = Vec::new();
    let read = async {
        loop {
            loop {
                match inbound.next_frame() {
                    Ok(Some(found)) => {
                        let payload = inbound.payload(&found);
                        match found.opcode {
                            wire::TEXT | wire::BINARY if found.fin => {
                                frame.clear();
                                wire::put_frame(&mut frame, found.opcode, payload);
                                rooms.relay(&room, me.id, &frame);
                            }
                            wire::PING => me.push(|out| wire::put_frame(out, wire::PONG, payload)),
                            wire::PONG => {}
                            wire::CLOSE => {
                                me.push(|out| wire::put_frame(out, wire::CLOSE, payload));
                                return Ok(());
                            }
                            _ => {
                                me.push(|out| {
                                    wire::put_close(
                                        out,
                                        wire::UNSUPPORTED,
                                        "fragmented messages are not relayed",
                                    )
                                });
                                return Ok(());
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(why) => {
                        me.push(|out| wire::put_close(out, wire::PROTOCOL_ERROR, why));
                        return Ok(());
                    }
                }
            }
            if inbound.fill(&mut reader).await? == 0 {
                return Ok::<(), io::Error>(());
            }
        }
    }
    .await;
    rooms.leave(&room, me.id);
    me.closing.set(true);
    me.ready.notify_one();
    let written = written
        .await
        .unwrap_or_else(|err| Err(io::Error::other(err.to_string())));
    read.and(written)
}

/// Writes what the room left in the member's output, one write per wake, until the
/// member closes.
async fn write_member<W: AsyncWrite + Unpin>(mut writer: W, me: Rc<Member>) -> io::Result<()> {
    let mut batch = Vec::new();
    loop {
        me.ready.notified().await;
        std::mem::swap(&mut batch, &mut *me.out.borrow_mut());
        write_out(&mut writer, &mut batch).await?;
        if me.closing.get() && me.out.borrow().is_empty() {
            return writer.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Error, Message};

    type Client = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

    /// Runs `test` against a server on a loopback port, on one thread, within 20 s.
    fn with_server<F, Fut>(test: F)
    where
        F: FnOnce(SocketAddr) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
            let addr = listener.local_addr().expect("an address");
            let server = tokio::task::spawn_local(accept(listener, None));
            tokio::time::timeout(std::time::Duration::from_secs(20), test(addr))
                .await
                .expect("the test ends within 20 s");
            server.abort();
        });
    }

    async fn connect(addr: SocketAddr, path: &str) -> Result<Client, Error> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}{path}"), stream).await?;
        Ok(ws)
    }

    async fn next_data(ws: &mut Client) -> Message {
        loop {
            match ws.next().await {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => return message,
                Some(Ok(_)) => {}
                other => panic!("no data frame: {other:?}"),
            }
        }
    }

    /// Closes `ws` and checks that the next frame is the server's close (or the end).
    async fn close_and_expect_the_answer(ws: &mut Client) {
        ws.close(None).await.expect("closes");
        match ws.next().await {
            Some(Ok(Message::Close(_))) | None => {}
            other => panic!("not the answer to the close: {other:?}"),
        }
    }

    #[test]
    fn echoes_text_binary_and_pings_in_order() {
        with_server(|addr| async move {
            let mut ws = connect(addr, "/parties/echo/r?_pk=me")
                .await
                .expect("connects");
            assert_eq!(next_data(&mut ws).await, Message::text("{\"id\":\"me\"}"));
            let sent: Vec<Message> = (0..50)
                .map(|index| match index % 3 {
                    0 => Message::text(format!("text {index}")),
                    1 => Message::binary(vec![index as u8; 70_000 + index]),
                    _ => Message::binary(vec![index as u8; index]),
                })
                .collect();
            for message in &sent {
                ws.feed(message.clone()).await.expect("feeds");
            }
            ws.send(Message::Ping(b"are you there".to_vec().into()))
                .await
                .expect("pings");
            for message in &sent {
                assert_eq!(&next_data(&mut ws).await, message);
            }
            match ws.next().await {
                Some(Ok(Message::Pong(payload))) => assert_eq!(&payload[..], b"are you there"),
                other => panic!("no pong: {other:?}"),
            }
            close_and_expect_the_answer(&mut ws).await;
        });
    }

    #[test]
    fn broadcasts_to_everyone_in_the_room_but_the_sender() {
        with_server(|addr| async move {
            let mut members = Vec::new();
            for index in 0..3 {
                let mut ws = connect(addr, "/parties/main/lobby")
                    .await
                    .expect("connects");
                assert_eq!(
                    next_data(&mut ws).await,
                    Message::text("Welcome to the party!")
                );
                members.push((index, ws));
            }
            let mut elsewhere = connect(addr, "/parties/main/other")
                .await
                .expect("connects");
            next_data(&mut elsewhere).await;
            for (index, ws) in &mut members {
                ws.send(Message::text(format!("from {index}")))
                    .await
                    .expect("sends");
            }
            for (index, ws) in &mut members {
                let mut heard: Vec<Message> = Vec::new();
                for _ in 0..2 {
                    heard.push(next_data(ws).await);
                }
                heard.sort_by_key(|message| message.to_string());
                let expected: Vec<Message> = (0..3)
                    .filter(|other| other != index)
                    .map(|other| Message::text(format!("from {other}")))
                    .collect();
                assert_eq!(heard, expected, "member {index}");
            }
            // The other room heard nothing: its next frame is the answer to its close.
            close_and_expect_the_answer(&mut elsewhere).await;
        });
    }

    #[test]
    fn refuses_unknown_parties_and_fragmented_broadcasts() {
        with_server(|addr| async move {
            match connect(addr, "/parties/chat/r").await {
                Err(Error::Http(response)) => assert_eq!(response.status(), 404),
                other => panic!("an unknown party was not refused: {other:?}"),
            }
            let mut ws = connect(addr, "/parties/main/frag").await.expect("connects");
            next_data(&mut ws).await;
            let fragment = tokio_tungstenite::tungstenite::protocol::frame::Frame::message(
                b"part".to_vec(),
                tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
                    tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text,
                ),
                false,
            );
            ws.send(Message::Frame(fragment))
                .await
                .expect("sends a fragment");
            match ws.next().await {
                Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1003),
                other => panic!("a fragment was not refused: {other:?}"),
            }
        });
    }

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
