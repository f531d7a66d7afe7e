//! The driver keeps the machine's time: with tokio's paused clock and no network at all
//! (a query provider that fails or never answers), delays and timeouts are exact.

#![cfg(feature = "tokio")]

use std::time::Duration;

use partysocket::{Event, PartySocket, PartySocketOptions, Query, QueryProvider, TransportError};
use tokio::time::Instant;

fn options(provider: QueryProvider) -> PartySocketOptions {
    PartySocketOptions::builder("localhost:9")
        .room("timers")
        .query(provider)
        .build()
        .unwrap()
}

async fn next_error(events: &mut partysocket::Events) -> TransportError {
    loop {
        match events.recv().await.expect("the task runs") {
            Event::Error(error) => return error,
            _ => continue,
        }
    }
}

#[tokio::test(start_paused = true)]
async fn default_backoff_schedule_through_the_driver() {
    let provider = QueryProvider::new(|| async { Err::<Query, _>("no token yet".to_owned()) });
    let (_socket, mut events) = PartySocket::connect(options(provider)).unwrap();
    let mut last = Instant::now();
    let mut gaps = Vec::new();
    for _ in 0..7 {
        assert_eq!(
            next_error(&mut events).await,
            TransportError::QueryProvider("no token yet".into())
        );
        let now = Instant::now();
        gaps.push(now.duration_since(last).as_millis());
        last = now;
    }
    // Upstream's schedule; tokio's timer wheel rounds 8568.3 ms up to the next millisecond.
    assert_eq!(gaps, [0, 3000, 3900, 5070, 6591, 8569, 10_000]);
}

#[tokio::test(start_paused = true)]
async fn a_query_provider_that_never_answers_times_out() {
    let provider = QueryProvider::new(std::future::pending::<Result<Query, String>>);
    let (_socket, mut events) = PartySocket::connect(options(provider)).unwrap();
    let started = Instant::now();
    assert_eq!(
        next_error(&mut events).await,
        TransportError::Timeout(Duration::from_secs(4))
    );
    assert_eq!(started.elapsed(), Duration::from_secs(4));
    // And the next attempt comes after the first backoff delay, then times out again.
    assert_eq!(
        next_error(&mut events).await,
        TransportError::Timeout(Duration::from_secs(4))
    );
    assert_eq!(started.elapsed(), Duration::from_secs(4 + 3 + 4));
}
