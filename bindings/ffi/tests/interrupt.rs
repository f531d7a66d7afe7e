//! `interrupt_next_event()`: a waiting `next_event()` returns `Interrupted` at once and
//! no event is lost.

use std::sync::Arc;
use std::time::Duration;

use party_mock::{MockConfig, MockServer};
use partysocket_ffi::{Event, Message, PartySocket, PartySocketError};

mod common;
use common::options;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_wait_returns_at_once_and_loses_no_event() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let socket = PartySocket::new(options(server.host(), "interrupt"), None, None).unwrap();
    socket.opened().await.unwrap();
    // Read what the connect produced, until the socket is quiet.
    while let Ok(Ok(Some(_))) =
        tokio::time::timeout(Duration::from_millis(200), socket.next_event()).await
    {}

    let waiting = {
        let socket = Arc::clone(&socket);
        tokio::spawn(async move { socket.next_event().await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    socket.interrupt_next_event();
    let interrupted = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("the interrupted wait did not return")
        .unwrap();
    assert_eq!(interrupted, Err(PartySocketError::Interrupted));

    socket.send_text("after the interrupt".to_owned()).unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match socket.next_event().await.unwrap() {
                Some(Event::Message { message }) => return message,
                Some(_) => {}
                None => panic!("the events ended"),
            }
        }
    })
    .await
    .expect("no echo within 10 s");
    assert_eq!(
        event,
        Message::Text {
            text: "after the interrupt".to_owned()
        }
    );
    socket.close().unwrap();
}
