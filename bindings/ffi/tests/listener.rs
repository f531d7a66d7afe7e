//! The listener path from Rust: events in order, a panicking callback contained and
//! reported, the socket working on, and `close()` ending the task.

use std::sync::Arc;
use std::time::Duration;

use party_mock::{MockConfig, MockServer};
use partysocket_ffi::{
    CloseFrame, ConnectionState, ListenerError, Message, PartySocket, PartySocketError,
    PartySocketListener, SocketFailure, StopReason,
};

mod common;
use common::options;
use tokio::sync::mpsc;

struct Recorder {
    lines: mpsc::UnboundedSender<String>,
}

impl PartySocketListener for Recorder {
    fn on_open(&self, _url: String, _protocol: Option<String>) -> Result<(), ListenerError> {
        let _ = self.lines.send("open".to_owned());
        Ok(())
    }
    fn on_message(&self, message: Message) -> Result<(), ListenerError> {
        match message {
            Message::Text { text } if text == "panic" => panic!("listener panicked"),
            Message::Text { text } if text == "fail" => Err(ListenerError::Failed {
                reason: "listener failed".to_owned(),
            }),
            Message::Text { text } if !text.starts_with('{') => {
                let _ = self.lines.send(format!("message {text}"));
                Ok(())
            }
            _ => Ok(()),
        }
    }
    fn on_close(&self, frame: CloseFrame, _was_clean: bool) -> Result<(), ListenerError> {
        let _ = self.lines.send(format!("close {}", frame.code));
        Ok(())
    }
    fn on_error(&self, error: SocketFailure, _description: String) -> Result<(), ListenerError> {
        if let SocketFailure::ListenerFailed { callback, message } = error {
            let _ = self.lines.send(format!("failed {callback}: {message}"));
        }
        Ok(())
    }
    fn on_state_change(&self, state: ConnectionState) -> Result<(), ListenerError> {
        if let ConnectionState::Closed { reason } = state {
            let _ = self.lines.send(format!("closed {reason:?}"));
        }
        Ok(())
    }
}

async fn expect(lines: &mut mpsc::UnboundedReceiver<String>, prefix: &str) -> String {
    let wait = async {
        while let Some(line) = lines.recv().await {
            if line.starts_with(prefix) {
                return line;
            }
        }
        panic!("the listener was released before {prefix:?}");
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("no {prefix:?} within 10 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_listener_is_reported_and_the_socket_works_on() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let (sender, mut lines) = mpsc::unbounded_channel();
    let listener: Arc<dyn PartySocketListener> = Arc::new(Recorder { lines: sender });
    let socket =
        PartySocket::new(options(server.host(), "listener"), Some(listener), None).unwrap();

    expect(&mut lines, "open").await;
    socket.send_text("panic".to_owned()).unwrap();
    let failure = expect(&mut lines, "failed").await;
    assert_eq!(failure, "failed on_message: listener panicked");
    socket.send_text("fail".to_owned()).unwrap();
    let failure = expect(&mut lines, "failed").await;
    assert_eq!(failure, "failed on_message: listener failed");
    socket.send_text("still here".to_owned()).unwrap();
    expect(&mut lines, "message still here").await;

    assert_eq!(
        socket.next_event().await,
        Err(PartySocketError::EventsGoToListener)
    );

    socket.close().unwrap();
    expect(&mut lines, "close 1000").await;
    expect(&mut lines, "closed ClosedByApp").await;
    // The task ends and releases the listener: the channel closes.
    let released = tokio::time::timeout(Duration::from_secs(10), async {
        while lines.recv().await.is_some() {}
    })
    .await;
    assert!(
        released.is_ok(),
        "the listener was not released after close"
    );
    assert_eq!(
        socket.send_text("late".to_owned()),
        Err(PartySocketError::Closed)
    );
    assert_eq!(socket.closed().await, StopReason::ClosedByApp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_socket_ends_its_events() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let socket = PartySocket::new(options(server.host(), "drop"), None, None).unwrap();
    socket.opened().await.unwrap();
    let events = Arc::clone(&socket);
    drop(socket);
    // `events` is the last reference: dropping it releases the handle, and the socket's
    // task closes the connection; the server sees the connection go.
    drop(events);
    server
        .wait_for_connections(0, Duration::from_secs(10))
        .await
        .expect("the connection was not closed after the socket was dropped");
}
