//! Warnings and logs: name validation, send after close, and redacted URLs in `tracing`.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use partysocket::{Message, PartySocketOptions, ReadyState};
use support::{Harness, options};

/// Collects everything `tracing` prints while `run` runs.
fn logs(run: impl FnOnce()) -> String {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, run);
    let bytes = buffer.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn warns_when_party_or_room_name_contains_forward_slash() {
    let out = logs(|| {
        PartySocketOptions::builder("example.com")
            .party("bad/party")
            .room("bad/room")
            .build()
            .unwrap();
    });
    assert!(
        out.contains("party name \"bad/party\" contains '/'"),
        "{out}"
    );
    assert!(out.contains("room name \"bad/room\" contains '/'"), "{out}");
}

#[test]
fn can_disable_name_validation_and_valid_names_do_not_warn() {
    let out = logs(|| {
        PartySocketOptions::builder("example.com")
            .room("a/b")
            .disable_name_validation(true)
            .build()
            .unwrap();
        PartySocketOptions::builder("example.com")
            .room("fine")
            .build()
            .unwrap();
    });
    assert!(!out.contains("contains '/'"), "{out}");
}

#[test]
fn warns_once_when_send_is_called_after_close() {
    let out = logs(|| {
        let mut h = Harness::new(options("example.com"));
        h.open();
        h.close();
        h.server_close(None);
        assert_eq!(h.machine.ready_state(), ReadyState::Closed);
        let _ = h.machine.send(Message::from("one"));
        let _ = h.machine.send(Message::from("two"));
        assert_eq!(h.machine.queued_messages(), 2);
    });
    assert_eq!(
        out.matches("send() was called after close()").count(),
        1,
        "{out}"
    );
}

#[test]
fn logged_urls_redact_query_values() {
    let out = logs(|| {
        let mut h = Harness::new(
            options("example.com").query(partysocket::Query::new().with("token", "s3cret")),
        );
        h.open();
    });
    assert!(out.contains("token=REDACTED"), "{out}");
    assert!(!out.contains("s3cret"), "{out}");
}

#[test]
fn ready_state_has_the_websocket_numbers() {
    assert_eq!(
        [
            ReadyState::Connecting,
            ReadyState::Open,
            ReadyState::Closing,
            ReadyState::Closed
        ]
        .map(|s| s as u8),
        [0, 1, 2, 3]
    );
}
