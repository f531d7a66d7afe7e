//! The reconnect state machine, driven by a hand-advanced clock. Test names map to the
//! upstream `partysocket` cases they port; `ours_*` tests pin where we differ.

mod support;

use std::time::Duration;

use partysocket::{
    CloseFrame, ConnectionState, Error, Event, FailurePolicy, Message, OptionsError, OptionsUpdate,
    Query, QueryProvider, ReadyState, SendOutcome, StopReason, TransportError,
};
use support::{Harness, Step, ms, options};

// ----- lifecycle ------------------------------------------------------------------------

#[test]
fn should_report_connecting_state_by_default() {
    let h = Harness::new(options("example.com"));
    assert_eq!(h.machine.ready_state(), ReadyState::Connecting);
    assert_eq!(h.state(), ConnectionState::Connecting { attempt: 0 });
    assert_eq!(h.connect_count(), 1);
    assert_eq!(
        h.connects()[0].url,
        "wss://example.com/parties/main/my-room?_pk=test-id"
    );
}

#[test]
fn should_report_closed_state_when_start_closed() {
    let h = Harness::new(options("example.com").start_closed(true));
    assert_eq!(h.machine.ready_state(), ReadyState::Closed);
    assert_eq!(
        h.state(),
        ConnectionState::Closed {
            reason: StopReason::NotStarted
        }
    );
    assert_eq!(h.connect_count(), 0);
    assert!(!h.machine.should_reconnect());
}

#[test]
fn should_return_no_url_when_not_connected() {
    let h = Harness::new(options("example.com").start_closed(true));
    assert_eq!(h.machine.url(), None);
    assert_eq!(h.machine.protocol(), None);
    assert_eq!(h.machine.buffered_amount(), 0);
}

#[test]
fn should_start_with_retry_count_0() {
    let h = Harness::new(options("example.com"));
    assert_eq!(h.machine.retry_count(), 0);
}

#[test]
fn complete_lifecycle_connect_send_receive_close() {
    let mut h = Harness::new(options("localhost:1999"));
    h.open();
    assert_eq!(h.machine.ready_state(), ReadyState::Open);
    assert_eq!(h.send("hello"), SendOutcome::Sent);
    h.receive("echo: hello");
    h.close();
    assert_eq!(h.machine.ready_state(), ReadyState::Closing);
    h.server_close(Some(CloseFrame::normal()));
    assert_eq!(h.machine.ready_state(), ReadyState::Closed);
    let events = h.plain_events();
    assert!(matches!(events[0], Event::Open { .. }));
    assert_eq!(*events[1], Event::Message(Message::from("echo: hello")));
    assert_eq!(
        *events[2],
        Event::Close {
            frame: CloseFrame::normal(),
            was_clean: true
        }
    );
    assert_eq!(events.len(), 3);
    assert_eq!(h.sent_texts(), ["hello"]);
}

#[test]
fn start_closed_then_reconnect_connects() {
    let mut h = Harness::new(options("example.com").start_closed(true));
    assert!(!h.machine.should_reconnect());
    h.reconnect();
    assert!(h.machine.should_reconnect());
    assert_eq!(h.connect_count(), 1);
    h.open();
    h.close();
    assert!(!h.machine.should_reconnect());
}

#[test]
fn handles_close_when_not_connected() {
    let mut h = Harness::new(options("example.com").start_closed(true));
    h.close();
    h.close();
    assert_eq!(
        h.closes(),
        0,
        "no transport existed: no close event, as upstream"
    );
    assert_eq!(h.machine.ready_state(), ReadyState::Closed);
}

#[test]
fn calling_close_multiple_times_gives_exactly_one_close_event() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.close();
    h.close();
    h.server_close(Some(CloseFrame::normal()));
    h.close();
    h.advance(ms(5000));
    // A late fact about the closed transport changes nothing.
    h.server_close(None);
    assert_eq!(h.closes(), 1);
}

#[test]
fn close_waits_for_the_server_then_times_out_uncleanly() {
    let mut h = Harness::new(options("example.com").close_timeout(ms(500)));
    h.open();
    h.machine
        .close(CloseFrame::new(4000, "bye"), h.now)
        .unwrap();
    h.drain();
    assert_eq!(h.closes(), 0);
    assert_eq!(h.advance_to_next_timer(), ms(500));
    assert_eq!(h.closes(), 1);
    assert!(h.events().contains(&&Event::Close {
        frame: CloseFrame::new(4000, "bye"),
        was_clean: false
    }));
    // The driver is told to drop the transport it could not close gracefully.
    assert!(h.steps.iter().any(|s| matches!(s, Step::Close(_, None))));
}

#[test]
fn close_while_still_connecting_dispatches_its_close_event_at_once() {
    let mut h = Harness::new(options("example.com"));
    h.close();
    assert_eq!(h.closes(), 1);
    assert_eq!(h.machine.ready_state(), ReadyState::Closed);
    assert_eq!(h.opens(), 0);
    // Even if the stalled handshake completes later, nothing opens.
    h.open();
    assert_eq!(h.opens(), 0);
}

#[test]
fn connect_and_close_before_establishing_connection() {
    let mut h = Harness::new(options("example.com"));
    h.close();
    h.advance(ms(60_000));
    assert_eq!(h.opens(), 0);
    assert!(h.closes() <= 1);
    assert_eq!(h.connect_count(), 1);
}

#[test]
fn reconnect_immediately_after_close_does_not_duplicate_the_close_event() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    let old = h.last_transport();
    h.close();
    h.reconnect();
    // The server's late answer to the first close concerns a replaced transport.
    h.machine
        .handle_closed(old, Some(CloseFrame::normal()), h.now);
    h.drain();
    assert_eq!(h.closes(), 1);
    assert_eq!(h.connect_count(), 2);
}

#[test]
fn ours_invalid_close_codes_are_refused() {
    let mut h = Harness::new(options("example.com"));
    assert_eq!(
        h.machine.close(CloseFrame::new(1006, ""), h.now),
        Err(Error::InvalidCloseCode(1006))
    );
    assert_eq!(
        h.machine
            .close(CloseFrame::new(4000, "x".repeat(124)), h.now),
        Err(Error::CloseReasonTooLong(124))
    );
    assert!(
        h.machine.should_reconnect(),
        "a refused close changes nothing"
    );
    assert!(h.machine.close(CloseFrame::new(3000, "ok"), h.now).is_ok());
}

// ----- reconnection ---------------------------------------------------------------------

#[test]
fn handles_server_disconnect_and_reconnect() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.advance(ms(100));
    h.server_close(Some(CloseFrame::new(1001, "going away")));
    // A stable session was never reached (min uptime 5 s): the first retry waits 3 s.
    assert_eq!(h.advance_to_next_timer(), ms(3000));
    assert_eq!(h.connect_count(), 2);
    h.open();
    assert_eq!(h.opens(), 2);
}

#[test]
fn closing_from_the_other_side_should_reconnect() {
    let mut h = Harness::new(
        options("example.com")
            .min_reconnection_delay(ms(10))
            .max_reconnection_delay(ms(100)),
    );
    for _ in 0..3 {
        h.open();
        h.server_close(Some(CloseFrame::new(4000, "again")));
        h.advance(ms(1000));
    }
    assert_eq!(h.opens(), 3);
    assert_eq!(h.connect_count(), 4);
}

#[test]
fn closing_from_the_other_side_should_allow_to_keep_closed() {
    let mut h = Harness::new(options("example.com").min_reconnection_delay(ms(10)));
    h.open();
    h.server_close(Some(CloseFrame::new(4000, "reconnect")));
    h.advance(ms(1000));
    h.open();
    h.server_close(Some(CloseFrame::new(4001, "stay away")));
    // The application reacts to the 4001 close event by closing.
    h.close();
    h.advance(ms(60_000));
    assert_eq!(h.connect_count(), 2);
    assert_eq!(h.machine.ready_state(), ReadyState::Closed);
}

#[test]
fn should_reconnect_on_close_false_stops_reconnecting() {
    let mut h = Harness::new(options("example.com").failure_policy(
        FailurePolicy::default().should_reconnect_on_close(|close| close.code != 1008),
    ));
    h.open();
    h.server_close(Some(CloseFrame::new(1008, "policy")));
    assert!(
        !h.machine.should_reconnect(),
        "decided before the close event is seen"
    );
    h.advance(ms(60_000));
    assert_eq!(h.connect_count(), 1);
    assert!(matches!(
        h.state(),
        ConnectionState::Closed {
            reason: StopReason::GaveUp { .. }
        }
    ));
    assert!(h.state_is_terminal());
}

#[test]
fn should_reconnect_on_close_preserves_default_reconnect_behavior_when_omitted() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.server_close(Some(CloseFrame::new(1008, "policy")));
    h.advance(ms(10_000));
    assert_eq!(h.connect_count(), 2);
}

#[test]
fn reconnect_re_enables_a_socket_stopped_by_should_reconnect_on_close() {
    let mut h = Harness::new(
        options("example.com")
            .failure_policy(FailurePolicy::default().should_reconnect_on_close(|_| false)),
    );
    h.open();
    h.server_close(Some(CloseFrame::new(4000, "")));
    assert!(!h.machine.should_reconnect());
    h.reconnect();
    assert!(h.machine.should_reconnect());
    assert_eq!(h.connect_count(), 2);
    h.open();
    assert_eq!(h.opens(), 2);
}

#[test]
fn reconnect_after_closing() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.close();
    h.server_close(Some(CloseFrame::normal()));
    h.reconnect();
    h.open();
    assert_eq!(h.opens(), 2);
}

#[test]
fn connect_send_receive_reconnect() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    let _ = h.send("one");
    h.advance(ms(100));
    h.machine.handle_timeout(h.now);
    h.reconnect();
    assert_eq!(h.machine.retry_count(), 0);
    assert_eq!(h.machine.ready_state(), ReadyState::Connecting);
    // The old transport is closed gracefully and a new one starts at once.
    assert!(h.steps.iter().any(|s| matches!(s, Step::Close(_, Some(_)))));
    assert_eq!(h.connect_count(), 2);
    h.open();
    let _ = h.send("two");
    assert_eq!(h.sent_texts(), ["one", "two"]);
    assert_eq!(h.opens(), 2);
}

#[test]
fn should_reset_retry_count_when_reconnect_is_called() {
    let mut h = Harness::new(options("example.com").min_reconnection_delay(ms(10)));
    for _ in 0..3 {
        h.refuse();
        h.advance(ms(1000));
    }
    assert_eq!(h.machine.retry_count(), 3);
    h.reconnect();
    assert_eq!(h.machine.retry_count(), 0);
}

#[test]
fn handles_rapid_reconnect_calls() {
    let mut h = Harness::new(options("example.com"));
    for _ in 0..10 {
        h.reconnect();
    }
    // Every replaced attempt was aborted: only the latest is in flight.
    let connects: Vec<_> = h
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Connect(id, _) => Some(*id),
            _ => None,
        })
        .collect();
    let aborted: Vec<_> = h
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Close(id, _) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(connects.len(), 11);
    assert_eq!(aborted, connects[..10]);
}

#[test]
fn handles_reconnect_while_already_connecting() {
    let mut h = Harness::new(options("example.com"));
    h.reconnect();
    h.open();
    assert_eq!(h.opens(), 1);
    assert_eq!(h.machine.ready_state(), ReadyState::Open);
}

#[test]
fn calling_to_reconnect_when_not_ready() {
    let mut h = Harness::new(options("example.com").min_reconnection_delay(ms(100)));
    h.refuse();
    assert!(matches!(h.state(), ConnectionState::BackingOff { .. }));
    h.reconnect();
    h.open();
    assert_eq!(h.opens(), 1);
}

#[test]
fn ours_reconnect_during_backoff_connects_now() {
    // Upstream only resets the counter and waits out the delay.
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.server_close(None);
    assert!(matches!(
        h.state(),
        ConnectionState::BackingOff { attempt: 1, .. }
    ));
    h.advance(ms(100));
    h.reconnect();
    assert_eq!(h.connect_count(), 2, "connected without waiting the 3 s");
    assert_eq!(h.state(), ConnectionState::Connecting { attempt: 0 });
}

#[test]
fn reconnect_works_after_max_retries_has_been_exhausted() {
    let mut h = Harness::new(
        options("example.com")
            .max_retries(2)
            .min_reconnection_delay(ms(10)),
    );
    for _ in 0..3 {
        h.refuse();
        h.advance(ms(1000));
    }
    assert_eq!(h.machine.ready_state(), ReadyState::Closed);
    h.reconnect();
    h.open();
    assert_eq!(h.opens(), 1);
    assert_eq!(h.machine.ready_state(), ReadyState::Open);
}

#[test]
fn throws_when_reconnecting_without_room() {
    let mut h =
        Harness::new(partysocket::PartySocketOptions::builder("example.com").start_closed(true));
    assert_eq!(
        h.machine.reconnect(h.now),
        Err(Error::Options(OptionsError::MissingRoom))
    );
    h.machine
        .update(OptionsUpdate::new().room("second-room"))
        .unwrap();
    assert!(h.machine.reconnect(h.now).is_ok());
}

#[test]
fn does_not_throw_when_reconnecting_with_base_path_and_no_room() {
    let mut h = Harness::new(
        partysocket::PartySocketOptions::builder("example.com")
            .base_path("custom/path")
            .start_closed(true),
    );
    assert!(h.machine.reconnect(h.now).is_ok());
    h.drain();
    assert_eq!(
        h.connects()[0].url.split('?').next(),
        Some("wss://example.com/custom/path")
    );
}

#[test]
fn throws_when_updating_host_to_empty() {
    let mut h = Harness::new(options("example.com"));
    assert_eq!(
        h.machine.update(OptionsUpdate::new().host("")),
        Err(Error::Options(OptionsError::EmptyHost))
    );
}

#[test]
fn room_is_updated_after_calling_update_and_used_on_the_next_attempt() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.machine
        .update(OptionsUpdate::new().room("second-room"))
        .unwrap();
    assert_eq!(h.machine.options().room(), Some("second-room"));
    assert_eq!(h.connect_count(), 1, "an update does not reconnect");
    h.reconnect();
    assert!(
        h.connects()[1]
            .url
            .contains("/parties/main/second-room?_pk=test-id")
    );
}

#[test]
fn ours_clearing_the_room_while_connected_stops_instead_of_connecting_nowhere() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.machine.update(OptionsUpdate::new().clear_room()).unwrap();
    h.server_close(None);
    h.advance(ms(60_000));
    assert_eq!(h.connect_count(), 1);
    assert!(matches!(
        h.state(),
        ConnectionState::Closed {
            reason: StopReason::GaveUp {
                failure: Some(TransportError::InvalidUrl(_)),
                ..
            }
        }
    ));
    assert_eq!(
        h.machine.reconnect(h.now),
        Err(Error::Options(OptionsError::MissingRoom))
    );
}

// ----- backoff and retry counting --------------------------------------------------------

fn delays_between_attempts(
    h: &mut Harness,
    cycles: usize,
    lifetime: impl Fn(usize) -> Option<Duration>,
) -> Vec<u128> {
    let mut delays = Vec::new();
    for cycle in 0..cycles {
        match lifetime(cycle) {
            Some(alive) => {
                h.open();
                h.advance(alive);
                h.server_close(None);
            }
            None => h.refuse(),
        }
        delays.push(h.advance_to_next_timer().as_millis());
    }
    delays
}

#[test]
fn reconnection_delay_grow_factor() {
    let mut h = Harness::new(
        options("example.com")
            .min_reconnection_delay(ms(50))
            .max_reconnection_delay(ms(500))
            .reconnection_delay_grow_factor(2.0),
    );
    let delays = delays_between_attempts(&mut h, 6, |_| None);
    assert_eq!(delays, [50, 100, 200, 400, 500, 500]);
}

#[test]
fn min_uptime_resets_retry_count() {
    // Connections living 20/40/60 ms (< min uptime 75) keep growing the delay;
    // connections living 80/100/120 ms reset it.
    let mut h = Harness::new(
        options("example.com")
            .min_reconnection_delay(ms(50))
            .max_reconnection_delay(ms(500))
            .reconnection_delay_grow_factor(2.0)
            .min_uptime(ms(75)),
    );
    let mut retry_counts = Vec::new();
    let lifetimes = [20, 40, 60, 80, 100, 120];
    let mut delays = Vec::new();
    for alive in lifetimes {
        h.open();
        h.advance(ms(alive));
        h.server_close(None);
        retry_counts.push(h.machine.retry_count());
        delays.push(h.advance_to_next_timer().as_millis());
    }
    assert_eq!(delays, [50, 100, 200, 50, 50, 50]);
    assert_eq!(retry_counts, [1, 2, 3, 1, 1, 1]);
}

#[test]
fn default_delays_match_upstream_through_the_machine() {
    let mut h = Harness::new(options("example.com"));
    let delays = delays_between_attempts(&mut h, 7, |_| None);
    assert_eq!(delays, [3000, 3900, 5070, 6591, 8568, 10_000, 10_000]);
}

#[test]
fn resets_retry_count_on_successful_stable_connection() {
    let mut h = Harness::new(options("example.com").min_reconnection_delay(ms(10)));
    for _ in 0..3 {
        h.refuse();
        h.advance(ms(1000));
    }
    assert!(h.machine.retry_count() > 0);
    h.open();
    assert!(h.machine.retry_count() > 0, "not reset before min uptime");
    h.advance(ms(5000));
    assert_eq!(h.machine.retry_count(), 0);
}

fn max_retries_case(max: u32) {
    let mut h = Harness::new(
        options("example.com")
            .max_retries(max)
            .min_reconnection_delay(ms(10)),
    );
    let mut seen = Vec::new();
    for _ in 0..(max + 5) {
        if h.machine.transport().is_some() {
            h.refuse();
            seen.push(h.machine.retry_count());
        }
        h.advance(ms(1000));
    }
    assert_eq!(
        h.connect_count() as u32,
        max + 1,
        "1 + max_retries attempts from a fresh start"
    );
    assert_eq!(seen.iter().max().copied(), Some(max));
    assert_eq!(h.count(|e| matches!(e, Event::RetriesExhausted { .. })), 1);
    assert_eq!(
        h.state(),
        ConnectionState::Closed {
            reason: StopReason::RetriesExhausted { attempts: max }
        }
    );
}

#[test]
fn max_retries_0() {
    max_retries_case(0);
}

#[test]
fn max_retries_1() {
    max_retries_case(1);
}

#[test]
fn max_retries_5() {
    max_retries_case(5);
}

#[test]
fn stops_retrying_after_max_retries() {
    let mut h = Harness::new(
        options("example.com")
            .max_retries(3)
            .min_reconnection_delay(ms(10))
            .max_reconnection_delay(ms(20)),
    );
    for _ in 0..10 {
        if h.machine.transport().is_some() {
            h.refuse();
        }
        h.advance(ms(100));
    }
    assert_eq!(h.machine.retry_count(), 3);
    assert!(h.errors() >= 3);
}

#[test]
fn immediately_failed_connection_with_0_max_retries_must_not_retry() {
    let mut h = Harness::new(options("example.com").max_retries(0));
    h.refuse();
    h.advance(ms(1100));
    assert_eq!(h.errors(), 1);
    assert_eq!(h.connect_count(), 1);
}

#[test]
fn max_retries_after_a_stable_session_counts_retries_only() {
    let mut h = Harness::new(
        options("example.com")
            .max_retries(2)
            .min_reconnection_delay(ms(10)),
    );
    h.open();
    h.advance(ms(6000));
    h.server_close(None);
    for _ in 0..5 {
        h.advance(ms(1000));
        if h.machine.transport().is_some() {
            h.refuse();
        }
    }
    assert_eq!(h.connect_count(), 1 + 2);
}

#[test]
fn immediately_failed_connection_should_not_timeout() {
    let mut h = Harness::new(
        options("example.com")
            .min_reconnection_delay(ms(10))
            .connection_timeout(ms(100)),
    );
    h.refuse();
    h.advance(ms(50));
    h.refuse();
    h.advance(ms(50));
    assert!(
        !h.events()
            .iter()
            .any(|e| matches!(e, Event::Error(TransportError::Timeout(_))))
    );
    assert_eq!(h.machine.retry_count(), 2);
}

#[test]
fn handles_connection_timeout() {
    let mut h = Harness::new(options("example.com").connection_timeout(ms(100)));
    h.advance(ms(100));
    assert!(
        h.events()
            .contains(&&Event::Error(TransportError::Timeout(ms(100))))
    );
    // The stalled transport is aborted and reported closed with 1006.
    assert!(matches!(
        h.steps.iter().find(|s| matches!(s, Step::Close(..))),
        Some(Step::Close(_, None))
    ));
    assert!(h.events().contains(&&Event::Close {
        frame: CloseFrame::abnormal(""),
        was_clean: false
    }));
    assert!(matches!(
        h.state(),
        ConnectionState::BackingOff { attempt: 1, .. }
    ));
}

#[test]
fn ours_backing_off_is_its_own_state_with_retry_time() {
    let mut h = Harness::new(options("example.com"));
    h.refuse();
    let expected_at = h.now + ms(3000);
    assert_eq!(
        h.state(),
        ConnectionState::BackingOff {
            attempt: 1,
            retry_at: expected_at
        }
    );
    // Upstream reports CLOSED here; the socket is about to connect, so we say CONNECTING.
    assert_eq!(h.machine.ready_state(), ReadyState::Connecting);
    assert!(h.events().contains(&&Event::StateChanged(h.state())));
}

#[test]
fn ours_jitter_is_bounded_and_deterministic_per_seed() {
    let build = || {
        options("example.com")
            .jitter(0.5)
            .min_reconnection_delay(ms(1000))
            .max_reconnection_delay(ms(8000))
            .reconnection_delay_grow_factor(2.0)
    };
    let mut a = Harness::new(build());
    let mut b = Harness::new(build());
    let da = delays_between_attempts(&mut a, 8, |_| None);
    let db = delays_between_attempts(&mut b, 8, |_| None);
    assert_eq!(da, db, "same seed, same schedule");
    let upper = [1000, 2000, 4000, 8000, 8000, 8000, 8000, 8000];
    for (got, max) in da.iter().zip(upper) {
        assert!(
            *got <= max && *got >= max / 2,
            "{got} outside [{}, {max}]",
            max / 2
        );
    }
    assert_ne!(da, upper.map(u128::from), "jitter changed something");
}

// ----- events: real codes, error before close --------------------------------------------

#[test]
fn ours_real_close_code_and_reason_from_the_server() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.server_close(Some(CloseFrame::new(4001, "room full")));
    assert!(h.events().contains(&&Event::Close {
        frame: CloseFrame::new(4001, "room full"),
        was_clean: true
    }));
}

#[test]
fn ours_drop_without_close_frame_is_1006_unclean() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.server_close(None);
    assert!(h.events().contains(&&Event::Close {
        frame: CloseFrame::abnormal(""),
        was_clean: false
    }));
}

#[test]
fn ours_error_comes_before_close_on_a_failed_handshake() {
    let mut h = Harness::new(options("example.com"));
    h.fail(TransportError::Network("refused".into()));
    let events = h.plain_events();
    assert_eq!(
        *events[0],
        Event::Error(TransportError::Network("refused".into()))
    );
    assert_eq!(
        *events[1],
        Event::Close {
            frame: CloseFrame::abnormal(""),
            was_clean: false
        }
    );
}

// ----- failure policy -------------------------------------------------------------------

#[test]
fn ours_handshake_401_stops_with_a_terminal_state() {
    let mut h = Harness::new(options("example.com"));
    h.fail(TransportError::HandshakeRejected {
        status: 401,
        retry_after: None,
    });
    h.advance(ms(60_000));
    assert_eq!(h.connect_count(), 1);
    let ConnectionState::Closed { reason } = h.state() else {
        panic!("expected closed, got {:?}", h.state());
    };
    assert!(reason.is_terminal());
    assert!(matches!(
        reason,
        StopReason::GaveUp {
            failure: Some(TransportError::HandshakeRejected { status: 401, .. }),
            ..
        }
    ));
}

#[test]
fn ours_handshake_429_honours_retry_after() {
    let mut h = Harness::new(options("example.com"));
    h.fail(TransportError::HandshakeRejected {
        status: 429,
        retry_after: Some(Duration::from_secs(7)),
    });
    assert_eq!(h.advance_to_next_timer(), ms(7000));
    assert_eq!(h.connect_count(), 2);
}

#[test]
fn ours_retry_after_shorter_than_backoff_keeps_the_backoff() {
    let mut h = Harness::new(options("example.com"));
    h.fail(TransportError::HandshakeRejected {
        status: 503,
        retry_after: Some(Duration::from_secs(1)),
    });
    assert_eq!(h.advance_to_next_timer(), ms(3000));
}

#[test]
fn ours_always_reconnect_policy_retries_401_like_upstream() {
    let mut h =
        Harness::new(options("example.com").failure_policy(FailurePolicy::always_reconnect()));
    h.fail(TransportError::HandshakeRejected {
        status: 401,
        retry_after: None,
    });
    h.advance(ms(3000));
    assert_eq!(h.connect_count(), 2);
}

// ----- per-attempt query -----------------------------------------------------------------

#[test]
fn ours_per_attempt_query_is_resolved_before_every_attempt() {
    let provider = QueryProvider::new(|| async { Ok(Query::new()) });
    let mut h = Harness::new(
        options("example.com")
            .query(provider)
            .min_reconnection_delay(ms(10)),
    );
    assert!(h.steps.iter().any(|s| matches!(s, Step::Resolve(_))));
    assert_eq!(h.connect_count(), 0);
    h.resolve(Ok(Query::new().with("token", "t1")));
    h.refuse();
    h.advance(ms(10));
    h.resolve(Ok(Query::new().with("token", "t2")));
    let urls: Vec<&str> = h.connects().iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "wss://example.com/parties/main/my-room?_pk=test-id&token=t1",
            "wss://example.com/parties/main/my-room?_pk=test-id&token=t2"
        ]
    );
    assert_eq!(h.providers.len(), 2);
}

#[test]
fn ours_query_provider_failure_is_an_error_without_close() {
    let provider = QueryProvider::new(|| async { Err("no token".to_owned()) });
    let mut h = Harness::new(options("example.com").query(provider));
    h.resolve(Err("Query generation failed".into()));
    assert_eq!(
        h.plain_events(),
        [&Event::Error(TransportError::QueryProvider(
            "Query generation failed".into()
        ))]
    );
    assert!(matches!(h.state(), ConnectionState::BackingOff { .. }));
}

#[test]
fn ours_connection_timeout_covers_a_hanging_query_provider() {
    let provider = QueryProvider::new(|| async { Ok(Query::new()) });
    let mut h = Harness::new(
        options("example.com")
            .query(provider)
            .connection_timeout(ms(200)),
    );
    h.advance(ms(200));
    assert!(
        h.events()
            .contains(&&Event::Error(TransportError::Timeout(ms(200))))
    );
    assert_eq!(h.connect_count(), 0);
    // A late answer for the timed-out attempt is ignored.
    let stale = h.last_transport();
    h.machine
        .handle_query_resolved(stale, Ok(Query::new()), h.now);
    h.drain();
    assert_eq!(h.connect_count(), 0);
}

// ----- stale facts ----------------------------------------------------------------------

#[test]
fn ours_facts_about_a_replaced_transport_are_ignored() {
    let mut h = Harness::new(options("example.com"));
    let old = h.last_transport();
    h.reconnect();
    h.machine.handle_open(old, None, h.now);
    h.machine.handle_message(old, Message::from("stale"), h.now);
    h.machine.handle_closed(old, None, h.now);
    h.machine
        .handle_failed(old, TransportError::Network("x".into()), h.now);
    h.drain();
    assert_eq!(h.opens(), 0);
    assert_eq!(h.errors(), 0);
    assert_eq!(h.state(), ConnectionState::Connecting { attempt: 0 });
}

trait Terminal {
    fn state_is_terminal(&self) -> bool;
}

impl Terminal for Harness {
    fn state_is_terminal(&self) -> bool {
        matches!(self.state(), ConnectionState::Closed { reason } if reason.is_terminal())
    }
}

// ----- messages straight onto the driver's events ----------------------------------------

#[test]
fn ours_handle_message_into_keeps_the_order_of_outputs() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.drain();
    let transport = h.last_transport();
    let mut delivered = std::collections::VecDeque::new();
    // Nothing queued: the event goes straight onto the driver's queue.
    assert!(h.machine.handle_message_into(
        transport,
        Message::from("first"),
        h.now,
        &mut delivered
    ));
    assert!(matches!(delivered.front(), Some(Event::Message(m)) if *m == Message::from("first")));
    assert!(h.machine.poll_output().is_none());
    // An output waits (a message handled the usual way): the next queues behind it.
    h.machine
        .handle_message(transport, Message::from("queued"), h.now);
    assert!(h.machine.has_output());
    let before = delivered.len();
    assert!(!h.machine.handle_message_into(
        transport,
        Message::from("second"),
        h.now,
        &mut delivered
    ));
    assert_eq!(delivered.len(), before);
    let mut outputs = Vec::new();
    while let Some(output) = h.machine.poll_output() {
        outputs.push(output);
    }
    let message_at = outputs.iter().position(|output| {
        matches!(output, partysocket::Output::Event(Event::Message(m)) if *m == Message::from("second"))
    });
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    assert!(message_at == Some(1), "{outputs:?}");
    // A connection the machine is done with delivers nothing.
    h.reconnect();
    h.drain();
    let mut late = std::collections::VecDeque::new();
    assert!(
        !h.machine
            .handle_message_into(transport, Message::from("late"), h.now, &mut late)
    );
    assert!(late.is_empty());
    h.drain();
    assert!(
        !h.events()
            .iter()
            .any(|event| matches!(event, Event::Message(m) if *m == Message::from("late")))
    );
}
