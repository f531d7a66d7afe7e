//! The logger: the core's diagnostics at the installed level and above, redacted, on
//! the logger's own thread; a logger that fails does not break the socket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use party_mock::{MockConfig, MockServer};
use partysocket_ffi::{
    Event, ListenerError, LogLevel, LogRecord, PartySocket, PartySocketLogger, SendOutcome,
    install_logger, remove_logger,
};

mod common;
use common::options;

/// Keeps every record and the thread it arrived on; fails every call when `failing`.
#[derive(Default)]
struct Collecting {
    records: Mutex<Vec<(LogRecord, Option<String>)>>,
    failing: bool,
}

impl PartySocketLogger for Collecting {
    fn log(&self, record: LogRecord) -> Result<(), ListenerError> {
        let thread = std::thread::current().name().map(str::to_owned);
        self.records.lock().unwrap().push((record, thread));
        if self.failing {
            return Err(ListenerError::Failed {
                reason: "the logger broke".to_owned(),
            });
        }
        Ok(())
    }
}

impl Collecting {
    fn records(&self) -> Vec<(LogRecord, Option<String>)> {
        self.records.lock().unwrap().clone()
    }

    async fn wait_for(&self, what: &str, wanted: impl Fn(&LogRecord) -> bool) -> LogRecord {
        for _ in 0..100 {
            if let Some((record, _)) = self.records().into_iter().find(|(r, _)| wanted(r)) {
                return record;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no record {what}: {:?}", self.records());
    }
}

async fn next_open(socket: &PartySocket) {
    let wait = async {
        while let Some(event) = socket.next_event().await.unwrap() {
            if matches!(event, Event::Open { .. }) {
                return;
            }
        }
        panic!("the events ended before the open");
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("no open within 10 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_at_the_level_redacted_and_a_failing_logger_is_harmless() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();

    // Info: the open is logged, the attempt (Debug) is not; the token is redacted.
    let info = Arc::new(Collecting::default());
    install_logger(info.clone(), LogLevel::Info).unwrap();
    let mut opts = options(server.host(), "logger-info");
    opts.query = HashMap::from([("token".to_owned(), "s3cret".to_owned())]);
    let socket = PartySocket::new(opts, None, None).unwrap();
    next_open(&socket).await;
    let opened = info
        .wait_for("about the open", |r| r.message.contains("logger-info"))
        .await;
    assert_eq!(opened.level, LogLevel::Info);
    assert!(opened.target.starts_with("partysocket"), "{opened:?}");
    assert!(opened.message.contains("token=REDACTED"), "{opened:?}");
    let records = info.records();
    assert!(
        records
            .iter()
            .all(|(r, _)| r.level >= LogLevel::Info && !r.message.contains("s3cret")),
        "{records:?}"
    );
    assert!(
        records
            .iter()
            .all(|(_, thread)| thread.as_deref() == Some("partysocket-logger")),
        "{records:?}"
    );
    socket.close().unwrap();

    // Debug, with a logger that fails on every record: the attempt is logged and the
    // socket works as ever.
    let failing = Arc::new(Collecting {
        failing: true,
        ..Collecting::default()
    });
    install_logger(failing.clone(), LogLevel::Debug).unwrap();
    let socket = PartySocket::new(options(server.host(), "logger-debug"), None, None).unwrap();
    next_open(&socket).await;
    let connecting = failing
        .wait_for("about the attempt", |r| {
            r.level == LogLevel::Debug
                && r.message.starts_with("connecting")
                && r.message.contains("logger-debug")
        })
        .await;
    assert!(
        connecting.target.starts_with("partysocket"),
        "{connecting:?}"
    );
    assert_eq!(
        socket.send_text("still".to_owned()).unwrap(),
        SendOutcome::Sent
    );
    let echoed = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = socket.next_event().await.unwrap() {
            // The echo party greets first: wait for the echo itself.
            if let Event::Message {
                message: partysocket_ffi::Message::Text { text },
            } = event
            {
                if text == "still" {
                    return text;
                }
            }
        }
        panic!("the events ended before the echo");
    })
    .await
    .expect("no echo within 10 s");
    assert_eq!(echoed, "still");
    // The first logger receives nothing more.
    let before = info.records().len();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(info.records().len(), before);

    remove_logger();
    let after = failing.records().len();
    socket.close().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        failing.records().len(),
        after,
        "records after remove_logger()"
    );
}
