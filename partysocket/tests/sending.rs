//! Sending and the queue: outcomes, caps, order, flush before open, coalescing.

mod support;

use partysocket::{DropPolicy, DropReason, Event, Message, OptionsUpdate, SendOutcome};
use support::{Harness, Step, ms, options};

#[test]
fn send_returns_sent_when_transmitted_and_queued_when_buffered() {
    let mut h = Harness::new(options("example.com"));
    assert_eq!(h.send("early"), SendOutcome::Queued);
    h.open();
    assert_eq!(h.send("late"), SendOutcome::Sent);
}

#[test]
fn enqueue_messages() {
    let mut h = Harness::new(options("example.com"));
    for _ in 0..10 {
        let _ = h.send("message");
    }
    assert_eq!(h.machine.buffered_amount(), 70);
}

#[test]
fn respect_maximum_enqueued_messages() {
    let mut h = Harness::new(options("example.com").max_enqueued_messages(2));
    let outcomes: Vec<SendOutcome> = (0..10).map(|_| h.send("message")).collect();
    assert_eq!(h.machine.buffered_amount(), 14);
    assert_eq!(outcomes[..2], [SendOutcome::Queued, SendOutcome::Queued]);
    assert!(
        outcomes[2..]
            .iter()
            .all(|o| *o == SendOutcome::Dropped(DropReason::QueueFull))
    );
}

#[test]
fn should_queue_messages_up_to_max_enqueued_messages() {
    let mut h = Harness::new(options("example.com").max_enqueued_messages(3));
    for i in 0..3 {
        assert_eq!(h.send(&i.to_string()), SendOutcome::Queued);
    }
    assert!(h.machine.buffered_amount() > 0);
    assert_eq!(h.send("4"), SendOutcome::Dropped(DropReason::QueueFull));
    assert_eq!(h.machine.buffered_amount(), 3);
}

#[test]
fn should_calculate_buffered_amount_for_text_and_binary() {
    let mut h = Harness::new(options("example.com"));
    let _ = h.send("hello");
    assert_eq!(h.machine.buffered_amount(), 5);
    let _ = h.machine.send(Message::binary(vec![0; 8]));
    assert_eq!(h.machine.buffered_amount(), 13);
    // UTF-8 bytes, where upstream counts UTF-16 units.
    let _ = h.send("é");
    assert_eq!(h.machine.buffered_amount(), 15);
}

#[test]
fn should_flush_message_queue_on_connection_before_the_open_event() {
    let mut h = Harness::new(options("example.com"));
    let _ = h.send("queued1");
    let _ = h.send("queued2");
    h.open();
    let first_send = h
        .steps
        .iter()
        .position(|s| matches!(s, Step::Send(..)))
        .unwrap();
    let open = h
        .steps
        .iter()
        .position(|s| matches!(s, Step::Event(Event::Open { .. })))
        .unwrap();
    assert!(first_send < open);
    assert_eq!(h.sent_texts(), ["queued1", "queued2"]);
    assert_eq!(h.machine.buffered_amount(), 0);
}

#[test]
fn enqueue_messages_before_initialization_keep_their_order() {
    let mut h = Harness::new(options("example.com").start_closed(true));
    for text in ["one", "two", "three"] {
        let _ = h.send(text);
    }
    h.reconnect();
    h.open();
    let _ = h.send("four");
    assert_eq!(h.sent_texts(), ["one", "two", "three", "four"]);
}

#[test]
fn handles_extremely_long_message_queue_and_empty_messages() {
    let mut h = Harness::new(options("example.com"));
    for i in 0..1000 {
        let _ = h.send(&format!("m{i}"));
    }
    assert_eq!(h.send(""), SendOutcome::Queued);
    assert_eq!(h.machine.queued_messages(), 1001);
    h.open();
    let sent = h.sent_texts();
    assert_eq!(sent.len(), 1001);
    assert_eq!(sent[999], "m999");
    assert_eq!(sent[1000], "");
}

#[test]
fn drain_queued_messages_removes_and_returns_buffered_messages() {
    let mut h = Harness::new(options("example.com"));
    let _ = h.send("one");
    let _ = h.send("two");
    assert_eq!(h.machine.buffered_amount(), 6);
    assert_eq!(
        h.machine.drain_queue(),
        vec![Message::from("one"), Message::from("two")]
    );
    assert_eq!(h.machine.buffered_amount(), 0);
    assert!(h.machine.drain_queue().is_empty());
}

#[test]
fn messages_sent_after_close_are_delivered_after_reconnect() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.close();
    h.server_close(None);
    assert_eq!(h.send("after close"), SendOutcome::Queued);
    assert_eq!(h.send("again"), SendOutcome::Queued);
    h.reconnect();
    h.open();
    assert_eq!(h.sent_texts(), ["after close", "again"]);
}

#[test]
fn queue_goes_to_the_new_destination_after_update() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.server_close(None);
    let _ = h.send("follow-me");
    h.machine
        .update(OptionsUpdate::new().room("room-b"))
        .unwrap();
    h.advance(ms(3000));
    assert!(h.connects()[1].url.contains("/room-b?"));
    h.open();
    assert_eq!(h.sent_texts(), ["follow-me"]);
}

#[test]
fn ours_byte_cap_and_too_large() {
    let mut h = Harness::new(options("example.com").max_enqueued_bytes(10));
    assert_eq!(
        h.send("this is eleven"),
        SendOutcome::Dropped(DropReason::TooLarge)
    );
    assert_eq!(h.send("123456"), SendOutcome::Queued);
    assert_eq!(h.send("12345"), SendOutcome::Dropped(DropReason::QueueFull));
    assert_eq!(h.machine.buffered_amount(), 6);
}

#[test]
fn ours_drop_oldest_reports_evicted_messages() {
    let mut h = Harness::new(
        options("example.com")
            .max_enqueued_messages(2)
            .drop_policy(DropPolicy::DropOldest),
    );
    let _ = h.send("a");
    let _ = h.send("b");
    assert_eq!(h.send("c"), SendOutcome::Queued);
    assert!(
        h.events()
            .contains(&&Event::Evicted(vec![Message::from("a")]))
    );
    h.open();
    assert_eq!(h.sent_texts(), ["b", "c"]);
}

#[test]
fn ours_coalesced_sends_deliver_only_the_latest_position() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    h.server_close(None);
    for x in 0..1000 {
        let _ = h
            .machine
            .send_coalesced("position", Message::from(format!("x={x}")));
    }
    let _ = h.machine.send(Message::from("chat: brb"));
    let _ = h
        .machine
        .send_coalesced("position", Message::from("x=final"));
    h.drain();
    assert_eq!(h.machine.queued_messages(), 2);
    h.advance(ms(3000));
    h.open();
    assert_eq!(h.sent_texts(), ["chat: brb", "x=final"]);
}

#[test]
fn ours_coalesced_send_while_open_is_sent_at_once() {
    let mut h = Harness::new(options("example.com"));
    h.open();
    assert_eq!(
        h.machine.send_coalesced("k", Message::from("now")),
        SendOutcome::Sent
    );
}
