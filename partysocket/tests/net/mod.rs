//! Helpers for the native driver's tests: the in-process mock server, options with
//! short delays, and bounded waits on events.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use party_mock::{MockConfig, MockServer};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use partysocket::{
    Event, Events, PartySocketOptions, PartySocketOptionsBuilder, Query, QueryProvider,
};

/// The longest any single wait in these tests may take.
pub const PATIENCE: Duration = Duration::from_secs(15);

pub fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

pub async fn mock() -> MockServer {
    MockServer::start(MockConfig::default())
        .await
        .expect("mock server starts")
}

/// Options for `party`/`room` on `server`, reconnecting quickly.
pub fn options(server: &MockServer, party: &str, room: &str) -> PartySocketOptionsBuilder {
    PartySocketOptions::builder(server.host())
        .party(party)
        .room(room)
        .min_reconnection_delay(ms(50))
        .max_reconnection_delay(ms(200))
        .close_timeout(ms(500))
}

/// The next event, within [`PATIENCE`].
pub async fn next(events: &mut Events) -> Event {
    tokio::time::timeout(PATIENCE, events.recv())
        .await
        .expect("an event within the time limit")
        .expect("the socket's task is running")
}

/// Reads events until one matches `want`; returns it and everything read before it.
pub async fn until(events: &mut Events, want: impl Fn(&Event) -> bool) -> (Event, Vec<Event>) {
    let mut before = Vec::new();
    let found = tokio::time::timeout(PATIENCE, async {
        loop {
            let event = events.recv().await.expect("the socket's task is running");
            if want(&event) {
                return event;
            }
            before.push(event);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no matching event in time; saw {before:?}"));
    (found, before)
}

pub fn is_open(event: &Event) -> bool {
    matches!(event, Event::Open { .. })
}

pub fn is_message(event: &Event) -> bool {
    matches!(event, Event::Message(_))
}

/// The text of the next message event, skipping other events.
pub async fn next_text(events: &mut Events) -> String {
    match until(events, is_message).await.0 {
        Event::Message(message) => message.as_text().expect("a text message").to_owned(),
        _ => unreachable!(),
    }
}

/// Logs for the test binary when `RUST_LOG` is set.
pub fn trace() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A query provider answering `token=t1`, `token=t2`, … on successive attempts.
pub fn numbered_tokens() -> QueryProvider {
    let counter = Arc::new(AtomicU32::new(0));
    QueryProvider::new(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        async move { Ok(Query::new().with("token", format!("t{n}"))) }
    })
}
