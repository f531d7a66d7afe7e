//! Buffers shrink after a burst: a long outage's queue does not stay allocated once it
//! has been flushed. Live heap bytes are counted by this test binary's allocator.

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
    tokio::time::timeout(PATIENCE, async {
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
    tokio::time::sleep(ms(200)).await;
    let after = live();
    assert!(
        after < before + 1_000_000,
        "after the flush {after} bytes are live; {before} before the burst, {peak} at its peak"
    );
    drop(socket);
}
