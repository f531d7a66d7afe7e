//! `shutdown()`, the exit hook: every socket closed, pending async calls answered, no
//! listener called or released afterwards, no new socket. Process-wide, so alone in its
//! own test binary.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use party_mock::{MockConfig, MockServer};
use partysocket_ffi::{
    CloseFrame, ConnectionState, ListenerError, Message, PartySocket, PartySocketError,
    PartySocketListener, SocketFailure, shutdown,
};

mod common;
use common::options;

/// Counts its calls; holds `token` so a test can see whether it was released.
struct Counter {
    calls: Arc<AtomicUsize>,
    opened: std::sync::mpsc::Sender<()>,
    _token: Arc<()>,
}

impl Counter {
    fn call(&self) -> Result<(), ListenerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl PartySocketListener for Counter {
    fn on_open(&self, _url: String, _protocol: Option<String>) -> Result<(), ListenerError> {
        let _ = self.opened.send(());
        self.call()
    }
    fn on_message(&self, _message: Message) -> Result<(), ListenerError> {
        self.call()
    }
    fn on_close(&self, _frame: CloseFrame, _was_clean: bool) -> Result<(), ListenerError> {
        self.call()
    }
    fn on_error(&self, _error: SocketFailure, _description: String) -> Result<(), ListenerError> {
        self.call()
    }
    fn on_state_change(&self, _state: ConnectionState) -> Result<(), ListenerError> {
        self.call()
    }
}

#[test]
fn shutdown_closes_every_socket_and_calls_the_application_no_more() {
    // The mock on a runtime of its own; the test thread is a foreign thread, as an
    // exit hook's is.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(MockServer::start(MockConfig::default()))
        .unwrap();

    let calls = Arc::new(AtomicUsize::new(0));
    let token = Arc::new(());
    let (opened, was_opened) = std::sync::mpsc::channel();
    let listener: Arc<dyn PartySocketListener> = Arc::new(Counter {
        calls: Arc::clone(&calls),
        opened,
        _token: Arc::clone(&token),
    });
    let listened =
        PartySocket::new(options(server.host(), "shutdown"), Some(listener), None).unwrap();
    let read = PartySocket::new(options(server.host(), "shutdown"), None, None).unwrap();
    was_opened
        .recv_timeout(Duration::from_secs(10))
        .expect("the listener heard no open");
    runtime.block_on(read.opened()).unwrap();
    // A reader waiting for events, and echoes still arriving.
    let reader = {
        let read = Arc::clone(&read);
        runtime.spawn(async move { while let Ok(Some(_)) = read.next_event().await {} })
    };
    for index in 0..20 {
        listened.send_text(format!("echo {index}")).unwrap();
        read.send_text(format!("echo {index}")).unwrap();
    }

    assert!(
        shutdown(5000),
        "the sockets did not finish closing within 5 s"
    );
    let after = calls.load(Ordering::SeqCst);

    runtime
        .block_on(server.wait_for_connections(0, Duration::from_secs(10)))
        .expect("a connection stayed open after shutdown()");
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(5), reader).await })
        .expect("next_event() still waited after shutdown()")
        .unwrap();
    assert_eq!(
        listened.send_text("late".to_owned()),
        Err(PartySocketError::Closed)
    );
    assert_eq!(
        runtime.block_on(read.opened()),
        Err(PartySocketError::Closed)
    );
    assert!(matches!(
        PartySocket::new(options(server.host(), "late"), None, None),
        Err(PartySocketError::Startup(_))
    ));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        after,
        "a listener callback ran after shutdown()"
    );
    // Leaked, not released: releasing a foreign listener calls into its runtime.
    assert_eq!(Arc::strong_count(&token), 2, "the listener was released");
}
