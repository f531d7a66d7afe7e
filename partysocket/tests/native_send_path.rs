//! The native send path's promises, each a finding against the earlier designs: a
//! message is delivered, still queued, or reported lost, never silently gone; a dead
//! connection is always noticed; application code runs outside the socket's lock;
//! mistakes that can never work stop instead of retrying.

#![cfg(feature = "tokio")]

mod net;

use std::sync::{Arc, OnceLock};

use net::{PATIENCE, is_open, mock, ms, options, until};
use party_mock::MockServer;
use partysocket::{
    ConnectionState, Event, FailurePolicy, Heartbeat, OptionsUpdate, PartySocket, Query,
    QueryProvider, StopReason, TransportError,
};

/// 64 KiB and a 5-digit sequence number.
const PAD: usize = 64 * 1024;

fn numbered(i: usize) -> String {
    format!("{i:05} {}", "p".repeat(PAD))
}

/// Waits until `room` (party `main`, which echoes nothing to a lone sender) received
/// message number `last`; returns the numbers received, in order.
async fn received_through(server: &MockServer, room: &str, last: usize) -> Vec<usize> {
    let numbers = || -> Vec<usize> {
        server
            .received("main", room)
            .iter()
            .filter_map(|m| m.message.as_text()?.get(..5)?.parse().ok())
            .collect()
    };
    tokio::time::timeout(PATIENCE, async {
        loop {
            let got = numbers();
            if got.last() == Some(&last) {
                return got;
            }
            tokio::time::sleep(ms(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("message {last} never arrived; got {:?}", numbers().last()))
}

/// In order, no duplicate, and nothing missing but what the stalled connection had
/// already taken (at most `taken`).
fn assert_nothing_queued_lost(numbers: &[usize], total: usize, taken: usize) {
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "no duplicate and no reorder"
    );
    let lost = total - numbers.len();
    assert!(
        lost <= taken,
        "lost {lost}, but the stalled connection had taken only {taken}"
    );
}

/// Sends `total` numbered messages to a peer that stopped reading; returns how many
/// the connection took (the rest are still the socket's).
async fn stall_with(server: &MockServer, socket: &PartySocket, total: usize) -> usize {
    assert_eq!(server.go_silent(true).await, 1);
    for i in 0..total {
        let _ = socket.send(numbered(i)).unwrap();
    }
    // Let the connection take what the kernel buffers hold.
    tokio::time::sleep(ms(300)).await;
    let queued = socket.buffered_amount() / (PAD + 6);
    assert!(queued > 0, "the stall holds messages back");
    total - queued
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_during_a_stall_loses_no_queued_message() {
    let server = mock().await;
    let built = options(&server, "main", "stall-reconnect").build().unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    let total = 600;
    let taken = stall_with(&server, &socket, total).await;
    socket.reconnect().unwrap();
    until(&mut events, is_open).await;
    let numbers = received_through(&server, "stall-reconnect", total - 1).await;
    assert_nothing_queued_lost(&numbers, total, taken);
    assert_eq!(socket.buffered_amount(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_during_a_stall_keeps_the_queue_for_reconnect() {
    let server = mock().await;
    let built = options(&server, "main", "stall-close").build().unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    let total = 300;
    let taken = stall_with(&server, &socket, total).await;
    socket.close().unwrap();
    let reason = tokio::time::timeout(PATIENCE, socket.closed())
        .await
        .expect("the close times out")
        .unwrap();
    assert_eq!(reason, StopReason::ClosedByApp);
    assert!(socket.buffered_amount() > 0, "the unsent messages are kept");
    socket.reconnect().unwrap();
    let numbers = received_through(&server, "stall-close", total - 1).await;
    assert_nothing_queued_lost(&numbers, total, taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_during_a_stall_sends_the_queue_to_the_new_room() {
    let server = mock().await;
    let built = options(&server, "main", "stall-update").build().unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    let total = 300;
    let taken = stall_with(&server, &socket, total).await;
    socket
        .update(OptionsUpdate::new().room("stall-update-2"))
        .unwrap();
    socket.reconnect().unwrap();
    until(&mut events, is_open).await;
    let numbers = received_through(&server, "stall-update-2", total - 1).await;
    // What the old room never got went to the new one, in order.
    let old = server.received("main", "stall-update").len();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]));
    assert!(old + numbers.len() >= total - taken);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_close_writes_what_was_sent_before_it() {
    let server = mock().await;
    let built = options(&server, "main", "bye").build().unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    let _ = socket.send("bye").unwrap();
    socket.close().unwrap();
    let (close, _) = until(&mut events, |e| matches!(e, Event::Close { .. })).await;
    assert!(
        matches!(
            close,
            Event::Close {
                was_clean: true,
                ..
            }
        ),
        "{close:?}"
    );
    let received = server.received("main", "bye");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].message.as_text(), Some("bye"));
}

/// One large send and no other traffic: the write timeout must still fire (the first
/// designs armed no timer after a blocked write, so nothing woke the driver).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_large_send_to_a_silent_peer_hits_the_write_timeout() {
    let server = mock().await;
    let built = options(&server, "main", "one-large")
        .write_timeout(ms(1000))
        .min_uptime(ms(10))
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    tokio::time::sleep(ms(50)).await;
    assert_eq!(server.go_silent(true).await, 1);
    let _ = socket.send(vec![7u8; 48 << 20]).unwrap();
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert_eq!(error, Event::Error(TransportError::WriteTimeout(ms(1000))));
}

/// A pong already in the socket's buffer when the heartbeat's deadline passes (the
/// runtime was busy elsewhere) is read before the timers fire: no false timeout.
#[tokio::test(flavor = "current_thread")]
async fn a_pong_waiting_in_the_buffer_is_not_a_missed_pong() {
    let server = mock().await;
    let built = options(&server, "main", "starved")
        .heartbeat(Heartbeat::new(ms(100), ms(200)))
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    // The ping goes out at 100 ms and its pong arrives at once; then the only thread
    // is blocked well past the pong deadline (300 ms).
    tokio::time::sleep(ms(150)).await;
    std::thread::sleep(ms(600));
    let quiet = tokio::time::timeout(
        ms(400),
        until(&mut events, |e| matches!(e, Event::Error(_))),
    );
    assert!(quiet.await.is_err(), "no heartbeat timeout");
    assert_eq!(socket.connection_state(), ConnectionState::Open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_for_predicate_may_use_another_handle() {
    let server = mock().await;
    let built = options(&server, "main", "predicate").build().unwrap();
    let (socket, _events) = PartySocket::connect(built).unwrap();
    let other = socket.clone();
    let waiting = tokio::spawn(async move {
        socket
            .wait_for(|state| {
                other.buffered_amount() == 0 && matches!(state, ConnectionState::Open)
            })
            .await
    });
    let state = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("no deadlock")
        .unwrap()
        .unwrap();
    assert_eq!(state, ConnectionState::Open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_provider_and_a_close_predicate_may_call_into_the_socket() {
    let server = mock().await;
    let handle: Arc<OnceLock<PartySocket>> = Arc::new(OnceLock::new());
    let for_query = Arc::clone(&handle);
    let provider = QueryProvider::new(move || {
        let attempt = for_query.get().map_or(0, PartySocket::retry_count);
        async move { Ok(Query::new().with("attempt", attempt.to_string())) }
    });
    let for_policy = Arc::clone(&handle);
    let policy = FailurePolicy::default().should_reconnect_on_close(move |_| {
        for_policy
            .get()
            .is_some_and(|socket| socket.connection_state() != ConnectionState::Open)
    });
    let built = options(&server, "main", "reentrant")
        .query(provider)
        .failure_policy(policy)
        .start_closed(true)
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    handle.set(socket.clone()).unwrap();
    socket.reconnect().unwrap();
    until(&mut events, is_open).await;
    assert_eq!(server.drop_all(), 1);
    // The predicate ran (and answered "reconnect"), the provider ran again.
    until(&mut events, is_open).await;
    assert_eq!(server.attempts().len(), 2);
    assert!(server.attempts()[1].url.contains("attempt="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_the_server_does_not_have_stops_at_the_first_404() {
    let server = mock().await;
    server.refuse_next(1, 404, None);
    let built = options(&server, "main", "missing").build().unwrap();
    let (socket, _events) = PartySocket::connect(built).unwrap();
    let reason = tokio::time::timeout(PATIENCE, socket.closed())
        .await
        .expect("it stops")
        .unwrap();
    assert!(
        matches!(
            reason,
            StopReason::GaveUp {
                failure: Some(TransportError::HandshakeRejected { status: 404, .. }),
                ..
            }
        ),
        "{reason:?}"
    );
    tokio::time::sleep(ms(300)).await;
    assert_eq!(server.attempts().len(), 1, "no retry");
}
