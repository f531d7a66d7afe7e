//! Buffers grow under a burst on an open connection and shrink back once it is quiet:
//! the read-ahead, the event queues, the outputs, the queue of unsent messages and the
//! write batch keep their capacity while busy (no allocation per burst) and give it
//! back about a second later. Live heap bytes are counted by this test binary's allocator.

#![cfg(feature = "tokio")]

mod net;

use net::{PATIENCE, is_open, ms, options, until};
use party_mock::{MockConfig, MockServer};
use partysocket::{Event, PartySocket};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// Live heap bytes of the whole test process.
fn live() -> usize {
    dhat::HeapStats::get().curr_bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_on_an_open_connection_leaves_no_buffers_behind() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let server = MockServer::start(MockConfig {
        log_messages: false,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let built = options(&server, "echo", "burst-open").build().unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    // The greeting and the connection's first buffers, then a quiet moment.
    tokio::time::sleep(ms(1_500)).await;
    let before = live();

    // Bursts of 2,000 messages of 1 KiB in flight, 10 times.
    let payload = "x".repeat(1024);
    let mut peak = before;
    for _ in 0..10 {
        for _ in 0..2_000 {
            assert!(socket.send(payload.clone()).unwrap().is_accepted());
        }
        let mut echoed = 0;
        tokio::time::timeout(PATIENCE, async {
            while echoed < 2_000 {
                match events.recv().await {
                    Some(Event::Message(m)) if m.len() == payload.len() => echoed += 1,
                    Some(_) => {}
                    None => panic!("the socket's task ended"),
                }
                peak = peak.max(live());
            }
        })
        .await
        .expect("every message of the burst is echoed");
    }
    assert!(
        peak > before + 500_000,
        "the burst grew the buffers: {before} -> {peak}"
    );

    // tungstenite keeps its write buffer (128 KiB once a burst filled it) for the
    // connection's lifetime; everything of ours goes back.
    let allowed = before + 192 * 1024;
    let end = tokio::time::Instant::now() + PATIENCE;
    let mut after = live();
    while after > allowed && tokio::time::Instant::now() < end {
        tokio::time::sleep(ms(100)).await;
        after = live();
    }
    assert!(
        after <= allowed,
        "{after} bytes live once quiet; {before} before the bursts, {peak} at their peak"
    );
    drop(socket);
}
