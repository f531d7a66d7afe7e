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

/// The machine owns every unsent message: what the driver has not pulled when the
/// transport fails stays queued, in order, ahead of what is sent later, and nothing is
/// sent again on the dead transport (a soak finding of the earlier, push-style design).
#[test]
fn unpulled_messages_survive_a_failure_in_order() {
    let mut h = Harness::new(options("localhost:1999"));
    h.open();
    let transport = h.last_transport();
    h.writable = false;
    for text in ["a", "b", "c", "d"] {
        assert_eq!(
            h.machine.send(Message::from(text)),
            partysocket::SendOutcome::Sent
        );
    }
    // The connection took "a" only.
    assert_eq!(
        h.machine.poll_transmit(transport),
        Some(partysocket::Transmit::Message("a".into()))
    );
    assert_eq!(h.machine.buffered_amount(), 3);
    h.machine.handle_closed(transport, None, h.now);
    h.drain();
    assert_eq!(h.machine.queued_messages(), 3);
    assert_eq!(
        h.machine.poll_transmit(transport),
        None,
        "the dead transport gets nothing"
    );
    let _ = h.machine.send(Message::from("e"));
    h.writable = true;
    h.advance_to_next_timer();
    h.open();
    assert_eq!(h.sent_texts(), ["b", "c", "d", "e"]);
}
