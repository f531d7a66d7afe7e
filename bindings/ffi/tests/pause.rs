//! `pause()` and `resume()`: the connection closes, the socket keeps its id and queue,
//! and the messages sent while paused go out once on resume.

use std::time::Duration;

use party_mock::{MockConfig, MockServer};
use partysocket_ffi::{Event, Message, PartySocket, PartySocketError, SendOutcome};

mod common;
use common::options;

async fn next(socket: &PartySocket, what: &str, matches: impl Fn(&Event) -> bool) -> Event {
    let wait = async {
        while let Some(event) = socket.next_event().await.unwrap() {
            if matches(&event) {
                return event;
            }
        }
        panic!("the events ended before {what}");
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("no {what} within 10 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_keeps_the_id_and_the_queue_and_resume_delivers_it_once() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let socket = PartySocket::new(options(server.host(), "pause"), None, None).unwrap();
    socket.opened().await.unwrap();
    let id = socket.id();

    socket.pause().unwrap();
    let Event::Close { frame, .. } =
        next(&socket, "the close", |e| matches!(e, Event::Close { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(frame.code, 1000);
    assert_eq!(
        socket.send_text("while paused".to_owned()).unwrap(),
        SendOutcome::Queued
    );
    // Paused: no reconnect on its own.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.connections().len(), 0);

    socket.resume().unwrap();
    let Event::Open { url, .. } =
        next(&socket, "the reopen", |e| matches!(e, Event::Open { .. })).await
    else {
        unreachable!()
    };
    assert!(url.contains(&format!("_pk={id}")), "{url}");
    next(&socket, "the queued echo", |e| {
        matches!(e, Event::Message { message: Message::Text { text } } if text == "while paused")
    })
    .await;
    let received = server.received("echo", "pause");
    let copies = received
        .iter()
        .filter(|r| format!("{:?}", r.message).contains("while paused"))
        .count();
    assert_eq!(copies, 1, "{received:?}");
    socket.close().unwrap();
    assert_eq!(socket.pause(), Err(PartySocketError::Closed));
}
