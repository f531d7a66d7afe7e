//! Listener calls run off the I/O runtime: two listeners that sleep 2 s (as many as the
//! runtime has workers) delay neither another socket's echo nor its heartbeat.

use std::sync::Arc;
use std::time::{Duration, Instant};

use party_mock::{MockConfig, MockServer};
use partysocket_ffi::{
    CloseFrame, ConnectionState, Event, Heartbeat, ListenerError, Message, PartySocket,
    PartySocketListener, SocketFailure,
};

mod common;
use common::options;

/// Sleeps 2 s on every message.
struct Sleepy {
    woke: std::sync::mpsc::Sender<()>,
}

impl PartySocketListener for Sleepy {
    fn on_open(&self, _url: String, _protocol: Option<String>) -> Result<(), ListenerError> {
        Ok(())
    }
    fn on_message(&self, _message: Message) -> Result<(), ListenerError> {
        std::thread::sleep(Duration::from_secs(2));
        let _ = self.woke.send(());
        Ok(())
    }
    fn on_close(&self, _frame: CloseFrame, _was_clean: bool) -> Result<(), ListenerError> {
        Ok(())
    }
    fn on_error(&self, _error: SocketFailure, _description: String) -> Result<(), ListenerError> {
        Ok(())
    }
    fn on_state_change(&self, _state: ConnectionState) -> Result<(), ListenerError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleeping_listeners_delay_no_other_socket() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let (woke, woken) = std::sync::mpsc::channel();
    let mut sleepers = Vec::new();
    for index in 0..2 {
        let listener: Arc<dyn PartySocketListener> = Arc::new(Sleepy { woke: woke.clone() });
        let socket = PartySocket::new(
            options(server.host(), &format!("sleepy-{index}")),
            Some(listener),
            None,
        )
        .unwrap();
        sleepers.push(socket);
    }
    let mut probe_options = options(server.host(), "probe");
    probe_options.heartbeat = Some(Heartbeat {
        interval_ms: 100,
        timeout_ms: 300,
        ping: None,
        pong: None,
    });
    let probe = PartySocket::new(probe_options, None, None).unwrap();
    probe.opened().await.unwrap();
    for sleeper in &sleepers {
        sleeper.opened().await.unwrap();
    }
    // Both listeners are now asleep in on_message (the echo party greets nobody: send).
    for sleeper in &sleepers {
        sleeper.send_text("sleep".to_owned()).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    probe.send_text("ping through".to_owned()).unwrap();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), probe.next_event())
            .await
            .expect("the probe heard nothing within 5 s")
            .unwrap()
            .expect("the probe's events ended");
        match event {
            Event::Message {
                message: Message::Text { text },
            } if text == "ping through" => break,
            Event::Close { .. } | Event::Error { .. } => panic!("the probe failed: {event:?}"),
            _ => {}
        }
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(1000),
        "the echo took {took:?} while two listeners slept"
    );
    // The probe's heartbeat (300 ms timeout) kept the connection through the sleep.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(probe.connection_state(), ConnectionState::Open);
    for _ in 0..2 {
        woken
            .recv_timeout(Duration::from_secs(5))
            .expect("a sleeping listener never returned");
    }
}
