//! Buffers grow under load and shrink back: a long outage's queue, and the buffers a
//! burst of traffic on an open connection grew, do not stay allocated once the socket
//! is quiet. Live heap bytes are counted by this test binary's allocator.

#![cfg(feature = "tokio")]

mod net;

use net::{PATIENCE, is_open, ms, options, until};
use party_mock::{MockConfig, MockServer};
use partysocket::{Event, PartySocket, SendOutcome};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// Live heap bytes of the whole test process.
fn live() -> usize {
    dhat::HeapStats::get().curr_bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_of_a_long_outage_is_freed_after_the_flush() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let server = MockServer::start(MockConfig {
        log_messages: false,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let built = options(&server, "echo", "burst")
        .min_reconnection_delay(ms(100))
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    server.stop().await;
    until(&mut events, |e| matches!(e, Event::Close { .. })).await;
    let before = live();
    let total = 100_000;
    for i in 0..total {
        assert_eq!(
            socket.send(format!("{i:06} queued")).unwrap(),
            SendOutcome::Queued
        );
    }
    let peak = live();
    assert!(peak > before + 5_000_000, "the queue holds the burst");
    server.restart().await.unwrap();
    let mut echoed = 0;
    // 100,000 echoes under a counting allocator: slow on a busy machine.
    tokio::time::timeout(PATIENCE * 4, async {
        while echoed < total {
            if let Some(Event::Message(m)) = events.recv().await {
                if m.as_text().is_some_and(|t| t.ends_with(" queued")) {
                    echoed += 1;
                }
            }
        }
    })
    .await
    .expect("every queued message is echoed");
    let after = settled_below(before + 1_000_000).await;
    assert!(
        after < before + 1_000_000,
        "after the flush {after} bytes are live; {before} before the burst, {peak} at its peak"
    );
    drop(socket);
}

/// Live bytes once they fell below `limit`, or after [`PATIENCE`]: the driver gives back
/// what a burst left about a second after the socket went quiet.
async fn settled_below(limit: usize) -> usize {
    let end = tokio::time::Instant::now() + PATIENCE;
    loop {
        let now = live();
        if now < limit || tokio::time::Instant::now() >= end {
            return now;
        }
        tokio::time::sleep(ms(100)).await;
    }
}
