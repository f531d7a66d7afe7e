//! Extreme durations, stalled writes, paused reads and messages given back: nothing
//! panics, and every timer still fires in order.

mod support;

use std::time::Duration;

use partysocket::{ConnectionState, Event, FailurePolicy, Heartbeat, Message, TransportError};
use support::{Harness, Step, ms, options};

#[test]
fn the_largest_durations_do_not_overflow_a_deadline() {
    let max = Duration::MAX;
    let mut h = Harness::new(
        options("localhost:1999")
            .connection_timeout(max)
            .min_uptime(max)
            .close_timeout(max)
            .write_timeout(max)
            .min_reconnection_delay(max)
            .max_reconnection_delay(max)
            .heartbeat(Heartbeat::new(max, max))
            .failure_policy(FailurePolicy::default().max_retry_after(max)),
    );
    h.open();
    let transport = h.last_transport();
    h.machine.handle_write_blocked(transport, h.now);
    h.advance(Duration::from_secs(3600));
    assert_eq!(h.state(), ConnectionState::Open);
    h.fail(TransportError::HandshakeRejected {
        status: 429,
        retry_after: Some(Duration::from_secs(u64::MAX)),
    });
    assert!(matches!(h.state(), ConnectionState::BackingOff { .. }));
    assert!(h.machine.poll_timeout().is_some());
    h.reconnect();
    h.open();
    h.close();
    assert_eq!(h.state(), ConnectionState::Closing);
}

#[test]
fn a_write_that_makes_no_progress_replaces_the_connection() {
    let mut h = Harness::new(options("localhost:1999").write_timeout(ms(500)));
    h.open();
    let transport = h.last_transport();
    h.machine.handle_write_blocked(transport, h.now);
    h.advance(ms(400));
    // Progress within the timeout restarts it.
    h.machine.handle_write_progress(transport);
    h.machine.handle_write_blocked(transport, h.now);
    h.advance(ms(400));
    assert_eq!(h.state(), ConnectionState::Open);
    h.advance(ms(100));
    assert!(
        h.events()
            .contains(&&Event::Error(TransportError::WriteTimeout(ms(500))))
    );
    assert!(
        h.steps.contains(&Step::Close(transport, None)),
        "the transport is dropped"
    );
    assert!(matches!(h.state(), ConnectionState::BackingOff { .. }));
}

#[test]
fn the_write_timeout_defaults_to_the_heartbeat_timeout_then_thirty_seconds() {
    let plain = options("localhost:1999").build().unwrap();
    assert_eq!(plain.effective_write_timeout(), Duration::from_secs(30));
    let beating = options("localhost:1999")
        .heartbeat(Heartbeat::new(ms(200), ms(700)))
        .build()
        .unwrap();
    assert_eq!(beating.effective_write_timeout(), ms(700));
}

#[test]
fn a_paused_read_does_not_count_against_the_peer() {
    let mut h = Harness::new(options("localhost:1999").heartbeat(Heartbeat::new(ms(100), ms(200))));
    h.open();
    let transport = h.last_transport();
    h.machine.handle_read_paused(transport, true, h.now);
    h.advance(ms(5000));
    assert_eq!(
        h.state(),
        ConnectionState::Open,
        "no ping, no death while paused"
    );
    assert!(!h.steps.iter().any(|s| matches!(s, Step::Ping(_))));
    h.machine.handle_read_paused(transport, false, h.now);
    h.advance(ms(100));
    assert!(
        h.steps.iter().any(|s| matches!(s, Step::Ping(_))),
        "pings resume"
    );
    h.advance(ms(200));
    assert!(
        h.events()
            .contains(&&Event::Error(TransportError::HeartbeatTimeout(ms(200))))
    );
}

#[test]
fn requeued_messages_go_first_in_their_order() {
    let mut h = Harness::new(options("localhost:1999"));
    h.open();
    let transport = h.last_transport();
    h.fail(TransportError::Network("reset".into()));
    // The driver gives back what it never wrote, before anything queued later.
    h.machine
        .requeue(transport, vec![Message::from("a"), Message::from("b")]);
    h.send("c");
    assert_eq!(h.machine.buffered_amount(), 3);
    h.advance_to_next_timer();
    h.open();
    assert_eq!(h.sent_texts(), ["a", "b", "c"]);
}

#[test]
fn a_resolving_query_is_dropped_on_close_timeout_and_reconnect() {
    let provider = partysocket::QueryProvider::new(|| async { Ok(partysocket::Query::new()) });
    let mut h = Harness::new(
        options("localhost:1999")
            .query(provider)
            .connection_timeout(ms(100)),
    );
    let first = h.last_transport();
    h.advance(ms(100));
    assert!(h.steps.contains(&Step::Close(first, None)), "timed out");
    h.advance_to_next_timer();
    let second = h.last_transport();
    h.reconnect();
    assert!(h.steps.contains(&Step::Close(second, None)), "replaced");
    let third = h.last_transport();
    h.close();
    assert!(h.steps.contains(&Step::Close(third, None)), "closed");
}

/// Found by the soak: a driver that gives back messages before it reports the failure
/// (the transport still open) must see them queued, in order, together with the sends
/// it had not polled yet, not sent again on the dying transport.
#[test]
fn requeue_before_the_failure_keeps_the_order_and_the_unpolled_sends() {
    let mut h = Harness::new(options("localhost:1999"));
    h.open();
    let transport = h.last_transport();
    // The driver took "a" and "b"; "c" and "d" are still in the machine's outputs.
    for text in ["a", "b", "c", "d"] {
        h.machine.send(Message::from(text));
    }
    let mut taken = Vec::new();
    while taken.len() < 2 {
        if let Some(partysocket::Output::Send { message, .. }) = h.machine.poll_output() {
            taken.push(message);
        }
    }
    h.machine.requeue(transport, taken);
    h.machine.handle_closed(transport, None, h.now);
    h.drain();
    assert_eq!(h.machine.queued_messages(), 4);
    assert!(
        h.sent_texts().is_empty(),
        "nothing re-sent on the dead transport"
    );
    h.advance_to_next_timer();
    h.open();
    assert_eq!(h.sent_texts(), ["a", "b", "c", "d"]);
}
