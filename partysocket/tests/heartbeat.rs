//! Liveness: pings after quiet periods, and half-open connections turned into reconnects.

mod support;

use partysocket::{CloseFrame, ConnectionState, Event, Heartbeat, Message, TransportError};
use support::{Harness, Step, ms, options};

fn pings(h: &Harness) -> usize {
    h.steps
        .iter()
        .filter(|s| matches!(s, Step::Ping(_)))
        .count()
}

#[test]
fn pings_after_a_quiet_interval() {
    let mut h = Harness::new(options("example.com").heartbeat(Heartbeat::new(ms(1000), ms(500))));
    h.open();
    h.advance(ms(999));
    assert_eq!(pings(&h), 0);
    h.advance(ms(1));
    assert_eq!(pings(&h), 1);
}

#[test]
fn any_traffic_postpones_the_ping_and_answers_it() {
    let mut h = Harness::new(options("example.com").heartbeat(Heartbeat::new(ms(1000), ms(500))));
    h.open();
    for _ in 0..10 {
        h.advance(ms(900));
        h.receive("chatter");
    }
    assert_eq!(pings(&h), 0);
    h.advance(ms(1000));
    assert_eq!(pings(&h), 1);
    h.advance(ms(400));
    let transport = h.last_transport();
    h.machine.handle_pong(transport, h.now);
    h.drain();
    h.advance(ms(400));
    assert_eq!(h.machine.connection_state(), ConnectionState::Open);
    assert_eq!(h.errors(), 0);
}

#[test]
fn half_open_connection_is_detected_within_interval_plus_timeout() {
    let mut h = Harness::new(options("example.com").heartbeat(Heartbeat::new(ms(1000), ms(500))));
    h.open();
    h.advance(ms(1499));
    assert_eq!(h.errors(), 0);
    h.advance(ms(1));
    assert!(
        h.events()
            .contains(&&Event::Error(TransportError::HeartbeatTimeout(ms(500))))
    );
    assert!(h.events().contains(&&Event::Close {
        frame: CloseFrame::abnormal(""),
        was_clean: false
    }));
    // The dead transport is dropped and a reconnect is scheduled.
    assert!(h.steps.iter().any(|s| matches!(s, Step::Close(_, None))));
    assert!(matches!(h.state(), ConnectionState::BackingOff { .. }));
    h.advance(ms(3000));
    assert_eq!(h.connect_count(), 2);
}

#[test]
fn application_level_ping_and_pong() {
    let heartbeat =
        Heartbeat::new(ms(1000), ms(500)).application("ping", Some(Message::from("pong")));
    let mut h = Harness::new(options("example.com").heartbeat(heartbeat));
    h.open();
    h.advance(ms(1000));
    assert_eq!(h.sent_texts(), ["ping"]);
    assert_eq!(pings(&h), 0, "no protocol ping");
    h.receive("pong");
    h.receive("hello");
    let messages: Vec<&Event> = h
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::Message(_)))
        .collect();
    assert_eq!(
        messages,
        [&Event::Message(Message::from("hello"))],
        "the pong is not delivered"
    );
    h.advance(ms(1400));
    assert_eq!(h.errors(), 0);
}

#[test]
fn no_heartbeat_means_no_timers_while_open_and_stable() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.advance(ms(6000));
    assert_eq!(h.machine.poll_timeout(), None);
}
