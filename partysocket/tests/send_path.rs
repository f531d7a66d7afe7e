//! The core owns every unsent message: whatever a failure, `reconnect()`, `close()` or
//! `update()` finds not yet pulled by the driver stays queued, in order, ahead of newer
//! messages. Frames leave the machine only through `poll_transmit`.

mod support;

use partysocket::{
    CloseFrame, ConnectionState, Decision, Event, FailurePolicy, Message, OptionsUpdate,
    SendOutcome, StopReason, Transmit, TransportError, Violation,
};
use support::{Harness, Step, ms, options};

/// An open socket whose connection has stopped taking frames.
fn stalled() -> Harness {
    let mut h = Harness::new(options("localhost:1999").close_timeout(ms(500)));
    h.open();
    h.writable = false;
    h
}

fn send_all(h: &mut Harness, texts: &[&str]) {
    for text in texts {
        assert_eq!(h.machine.send(Message::from(*text)), SendOutcome::Sent);
    }
}

#[test]
fn reconnect_during_a_stall_keeps_every_unsent_message_for_the_new_connection() {
    let mut h = stalled();
    send_all(&mut h, &["1", "2", "3"]);
    assert_eq!(h.machine.buffered_amount(), 3);
    h.reconnect();
    assert_eq!(
        h.machine.queued_messages(),
        3,
        "nothing lost to the replaced connection"
    );
    let _ = h.send("4");
    h.writable = true;
    h.open();
    assert_eq!(h.sent_texts(), ["1", "2", "3", "4"]);
    assert_eq!(h.machine.buffered_amount(), 0);
}

#[test]
fn a_graceful_close_sends_what_came_before_it_then_the_close_frame() {
    let mut h = Harness::new(options("localhost:1999"));
    h.open();
    let transport = h.last_transport();
    h.writable = false;
    send_all(&mut h, &["bye"]);
    h.close();
    assert_eq!(h.state(), ConnectionState::Closing);
    // Sent after close(): kept for a later reconnect, not written on the closing socket.
    assert_eq!(h.send("later"), SendOutcome::Queued);
    assert_eq!(
        h.machine.poll_transmit(transport),
        Some(Transmit::Message("bye".into()))
    );
    assert_eq!(
        h.machine.poll_transmit(transport),
        Some(Transmit::Close(CloseFrame::normal()))
    );
    assert_eq!(h.machine.poll_transmit(transport), None);
    h.server_close(Some(CloseFrame::normal()));
    assert!(matches!(
        h.state(),
        ConnectionState::Closed {
            reason: StopReason::ClosedByApp
        }
    ));
    assert_eq!(h.machine.drain_queue(), vec![Message::from("later")]);
}

#[test]
fn a_close_that_times_out_keeps_what_the_connection_never_took() {
    let mut h = stalled();
    send_all(&mut h, &["a", "b"]);
    h.close();
    h.advance(ms(500));
    assert!(matches!(h.state(), ConnectionState::Closed { .. }));
    assert_eq!(h.machine.queued_messages(), 2);
    let _ = h.send("c");
    h.writable = true;
    h.reconnect();
    h.open();
    assert_eq!(h.sent_texts(), ["a", "b", "c"]);
}

#[test]
fn reconnect_during_a_graceful_close_lifts_the_close_limit() {
    let mut h = stalled();
    send_all(&mut h, &["a"]);
    h.close();
    let _ = h.send("b");
    h.writable = true;
    h.reconnect();
    h.open();
    assert_eq!(h.sent_texts(), ["a", "b"]);
}

#[test]
fn an_update_during_a_stall_keeps_the_queue_and_the_connection() {
    let mut h = stalled();
    send_all(&mut h, &["a", "b"]);
    h.machine
        .update(OptionsUpdate::new().room("elsewhere"))
        .expect("valid update");
    assert_eq!(h.state(), ConnectionState::Open);
    assert_eq!(h.machine.queued_messages(), 2);
    h.reconnect();
    h.writable = true;
    h.open();
    assert_eq!(h.sent_texts(), ["a", "b"]);
    assert!(h.connects().last().unwrap().url.contains("/elsewhere?"));
}

#[test]
fn coalescing_replaces_a_message_the_slow_connection_has_not_taken() {
    let mut h = stalled();
    let transport = h.last_transport();
    assert_eq!(
        h.machine.send_coalesced("pos", Message::from("p1")),
        SendOutcome::Sent
    );
    let _ = h.machine.send(Message::from("chat"));
    assert_eq!(
        h.machine.send_coalesced("pos", Message::from("p2")),
        SendOutcome::Coalesced
    );
    let pulled: Vec<_> = std::iter::from_fn(|| h.machine.poll_transmit(transport)).collect();
    assert_eq!(
        pulled,
        [
            Transmit::Message("chat".into()),
            Transmit::Message("p2".into())
        ]
    );
}

#[test]
fn a_coalesced_replacement_during_a_close_does_not_send_later_messages() {
    let mut h = stalled();
    let transport = h.last_transport();
    let _ = h.machine.send_coalesced("pos", Message::from("p1"));
    h.close();
    // Replaces p1, which was due before the close frame; p2 itself came after close().
    assert_eq!(
        h.machine.send_coalesced("pos", Message::from("p2")),
        SendOutcome::Coalesced
    );
    assert_eq!(
        h.machine.poll_transmit(transport),
        Some(Transmit::Close(CloseFrame::normal()))
    );
    assert_eq!(h.machine.queued_messages(), 1);
}

#[test]
fn a_blocked_write_always_arms_a_deadline() {
    let mut h = Harness::new(
        options("localhost:1999")
            .write_timeout(ms(1000))
            .min_uptime(ms(10)),
    );
    h.open();
    h.advance(ms(20));
    let transport = h.last_transport();
    // No heartbeat and the connection is stable: no timer runs.
    assert_eq!(h.machine.poll_timeout(), None);
    h.machine.handle_write_blocked(transport, h.now);
    assert_eq!(h.machine.poll_timeout(), Some(h.now + ms(1000)));
    h.advance(ms(1000));
    assert!(
        h.events()
            .contains(&&Event::Error(TransportError::WriteTimeout(ms(1000))))
    );
    assert!(h.steps.contains(&Step::Close(transport, None)), "aborted");
}

#[test]
fn the_close_predicate_is_asked_through_an_output_not_inside_the_machine() {
    let mut h = Harness::new(options("localhost:1999").failure_policy(
        FailurePolicy::default().should_reconnect_on_close(|frame| frame.code != 4000),
    ));
    h.open();
    let transport = h.last_transport();
    h.machine
        .handle_closed(transport, Some(CloseFrame::new(4000, "bye")), h.now);
    // Until the driver answers, the machine waits: no attempt, no timer.
    let mut decide = None;
    while let Some(output) = h.machine.poll_output() {
        if let partysocket::Output::UserCall(partysocket::UserCall::Decide(question)) = output {
            decide = Some(question);
        }
    }
    let question = decide.expect("the policy is asked");
    assert_eq!(question.transport(), transport);
    assert_eq!(question.close().code, 4000);
    let answer = question.ask();
    assert_eq!(answer.decision(), Decision::Stop);
    assert_eq!(h.machine.poll_timeout(), None);
    h.machine.handle_decision(answer, h.now);
    h.drain();
    assert!(matches!(
        h.state(),
        ConnectionState::Closed {
            reason: StopReason::GaveUp { .. }
        }
    ));
}

#[test]
fn a_peer_fault_leaves_the_connection_open_for_answers_until_caught_up() {
    let mut h = Harness::new(options("localhost:1999"));
    h.open();
    let transport = h.last_transport();
    h.receive("question");
    let fault = TransportError::Protocol("reserved bits set".into());
    h.machine
        .handle_peer_fault(transport, Violation::Protocol, fault.clone(), h.now);
    h.drain();
    assert!(h.machine.is_faulted(transport));
    assert_eq!(h.state(), ConnectionState::Open);
    assert_eq!(h.send("answer"), SendOutcome::Sent);
    assert_eq!(h.sent_texts(), ["answer"]);
    h.machine.handle_caught_up(transport, h.now);
    h.drain();
    assert!(h.events().contains(&&Event::Error(fault)));
    // Failed with the close frame RFC 6455 gives a protocol error, not dropped.
    let frame = CloseFrame::new(CloseFrame::PROTOCOL_ERROR, "protocol error");
    assert!(
        h.steps.contains(&Step::Close(transport, Some(frame))),
        "{:?}",
        h.steps
    );
    assert!(matches!(h.state(), ConnectionState::BackingOff { .. }));
}

#[test]
fn a_peer_fault_ends_the_connection_after_the_grace_when_nobody_answers() {
    let mut h = Harness::new(options("localhost:1999"));
    h.open();
    let transport = h.last_transport();
    let error = TransportError::Protocol("not UTF-8".into());
    h.machine
        .handle_peer_fault(transport, Violation::InvalidPayload, error, h.now);
    assert_eq!(
        h.machine.poll_timeout(),
        Some(h.now + partysocket::FAULT_GRACE)
    );
    h.advance(partysocket::FAULT_GRACE);
    let frame = Violation::InvalidPayload.close_frame();
    assert_eq!(frame.code, CloseFrame::INVALID_PAYLOAD);
    assert!(
        h.steps.contains(&Step::Close(transport, Some(frame))),
        "{:?}",
        h.steps
    );
    assert!(!h.machine.is_faulted(transport));
}

#[test]
fn a_handshake_404_or_an_invalid_header_stops_instead_of_retrying() {
    for error in [
        TransportError::HandshakeRejected {
            status: 404,
            retry_after: None,
        },
        TransportError::InvalidUrl("header x-user is not text".into()),
    ] {
        let mut h = Harness::new(options("localhost:1999"));
        h.fail(error.clone());
        assert_eq!(h.connect_count(), 1, "{error}: no second attempt");
        assert_eq!(
            h.state(),
            ConnectionState::Closed {
                reason: StopReason::GaveUp {
                    close: CloseFrame::abnormal(""),
                    failure: Some(error),
                }
            }
        );
    }
}
