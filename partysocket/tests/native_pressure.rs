//! The native driver under pressure: stalled writes, many large messages in flight, a
//! slow consumer, and messages caught in a failing connection.

#![cfg(feature = "tokio")]

mod net;

use std::collections::BTreeSet;

use futures_util::SinkExt;
use net::{PATIENCE, is_open, mock, ms, options, until};
use partysocket::{ConnectionState, Event, Heartbeat, Message, PartySocket, TransportError};

/// Reads events until `count` messages arrived (the echo party's greeting skipped);
/// returns their texts in order.
async fn messages(events: &mut partysocket::Events, count: usize) -> Vec<String> {
    let mut texts = Vec::with_capacity(count);
    tokio::time::timeout(PATIENCE, async {
        while texts.len() < count {
            if let Event::Message(message) =
                events.recv().await.expect("the socket's task is running")
            {
                let text = message.as_text().unwrap_or_default();
                if !text.starts_with("{\"id\"") {
                    texts.push(text.to_owned());
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("only {} of {count} messages arrived", texts.len()));
    texts
}

/// The freeze of the first design: the server stops reading, the application keeps
/// sending 64 KiB messages until the socket buffers are full. The heartbeat must still
/// declare the connection dead, `close()` must take effect, and dropping the handle
/// must end the task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_write_never_freezes_the_socket() {
    let server = mock().await;
    let built = options(&server, "echo", "stalled")
        .heartbeat(Heartbeat::new(ms(200), ms(300)))
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    assert_eq!(server.go_silent(true).await, 1);
    let chunk = "x".repeat(64 * 1024);
    // 8 MB: far more than the kernel buffers of both ends hold.
    for _ in 0..128 {
        let _ = socket.send(chunk.as_str()).unwrap();
    }
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert!(
        matches!(
            error,
            Event::Error(TransportError::HeartbeatTimeout(_) | TransportError::WriteTimeout(_))
        ),
        "the dead connection is detected: {error:?}"
    );
    socket.close().unwrap();
    let reason = tokio::time::timeout(PATIENCE, socket.closed())
        .await
        .expect("close takes effect")
        .unwrap();
    assert_eq!(reason, partysocket::StopReason::ClosedByApp);
    drop(socket);
    tokio::time::timeout(PATIENCE, async { while events.recv().await.is_some() {} })
        .await
        .expect("dropping the last handle ends the task");
}

/// A stalled write is a dead connection even without a heartbeat: the write timeout
/// replaces it, and the messages it never wrote are sent on the next connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritten_messages_survive_a_write_timeout_in_order() {
    let server = mock().await;
    let built = options(&server, "echo", "write-timeout")
        .write_timeout(ms(300))
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    assert_eq!(server.go_silent(true).await, 1);
    let total = 400;
    let pad = "p".repeat(32 * 1024);
    for i in 0..total {
        let _ = socket.send(format!("{i:05} {pad}")).unwrap();
    }
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert_eq!(error, Event::Error(TransportError::WriteTimeout(ms(300))));
    until(&mut events, is_open).await;
    let last = format!("{:05}", total - 1);
    let received = tokio::time::timeout(PATIENCE, async {
        loop {
            let received = server.received("echo", "write-timeout");
            if received
                .last()
                .and_then(|m| m.message.as_text())
                .is_some_and(|t| t.starts_with(&last))
            {
                return received;
            }
            tokio::time::sleep(ms(20)).await;
        }
    })
    .await
    .expect("the last message arrives after the reconnect");
    let numbers: Vec<usize> = received
        .iter()
        .filter_map(|m| m.message.as_text()?.get(..5)?.parse().ok())
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "no duplicate and no reorder"
    );
    let lost = total - numbers.len();
    // Only what was already in the kernel's buffers and tungstenite's is lost (at
    // most once); everything the driver still held was re-queued.
    assert!(lost < total / 2, "lost {lost} of {total}");
    drop(socket);
}

/// 1,000 messages of 16 KiB in flight to an echo peer: the client keeps reading while
/// it writes, so neither end blocks the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_large_messages_in_flight_do_not_deadlock() {
    let server = mock().await;
    let built = options(&server, "echo", "inflight").build().unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    let pad = "z".repeat(16 * 1024 - 6);
    for i in 0..1000 {
        assert_eq!(
            socket.send(format!("{i:05} {pad}")).unwrap(),
            partysocket::SendOutcome::Sent
        );
    }
    let texts = messages(&mut events, 1000).await;
    for (i, text) in texts.iter().enumerate() {
        assert!(text.starts_with(&format!("{i:05} ")), "echo {i} in order");
    }
}

/// A consumer that stops reading: at most `event_capacity` events wait, the server
/// is held back by TCP, and nothing is lost once the consumer reads again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_bounds_the_events_and_loses_nothing() {
    let server = mock().await;
    let built = options(&server, "echo", "slow")
        .event_capacity(64)
        .heartbeat(Heartbeat::new(ms(100), ms(200)))
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    let total = 3000;
    let pad = "s".repeat(1024);
    for i in 0..total {
        let _ = socket.send(format!("{i:05} {pad}")).unwrap();
    }
    // Not reading for longer than the heartbeat's timeout: a paused read must not
    // count against the server.
    tokio::time::sleep(ms(800)).await;
    assert!(events.len() <= 64, "{} events waiting", events.len());
    assert_eq!(socket.connection_state(), ConnectionState::Open);
    let texts = messages(&mut events, total).await;
    for (i, text) in texts.iter().enumerate() {
        assert!(text.starts_with(&format!("{i:05} ")), "echo {i} in order");
    }
    assert_eq!(server.attempts().len(), 1, "no reconnect while paused");
}

/// `PartySocket` is a `Sink<Message>`, for code written against tokio-tungstenite.
#[tokio::test]
async fn the_handle_is_a_sink() {
    let server = mock().await;
    let built = options(&server, "echo", "sink").build().unwrap();
    let (mut socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    for i in 0..100 {
        socket.feed(Message::from(format!("{i}"))).await.unwrap();
    }
    socket.flush().await.unwrap();
    let texts = messages(&mut events, 100).await;
    let expected: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    assert_eq!(texts, expected);
    let full = options(&server, "echo", "sink-full")
        .start_closed(true)
        .max_enqueued_messages(1)
        .build()
        .unwrap();
    let (mut closed, _events) = PartySocket::connect(full).unwrap();
    SinkExt::send(&mut closed, Message::from("kept"))
        .await
        .unwrap();
    let refused = SinkExt::send(&mut closed, Message::from("dropped"))
        .await
        .unwrap_err();
    assert!(matches!(refused, partysocket::Error::MessageDropped(_)));
}

/// An open socket to `room` of the echo party, its greeting read (nothing else arrives
/// to wake the driver), with the stable-connection timer far off.
async fn greeted(
    server: &party_mock::MockServer,
    room: &str,
) -> (PartySocket, partysocket::Events) {
    let built = options(server, "echo", room)
        .min_uptime(ms(60_000))
        .build()
        .unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    until(&mut events, |e| matches!(e, Event::Message(_))).await;
    (socket, events)
}

/// The `Sink` follows the network's pace: against a server that stopped reading it
/// stops being ready once 1 MiB waits unsent, having taken at most the one message that
/// crossed the mark; when the server reads again it is ready again and nothing fed was
/// lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sink_is_not_ready_while_a_mebibyte_waits_and_loses_nothing() {
    const MARK: usize = 1 << 20;
    let server = mock().await;
    let (mut socket, mut events) = greeted(&server, "sink-stalled").await;
    assert_eq!(server.go_silent(true).await, 1);
    let chunk = "z".repeat(64 * 1024);
    let mut fed = 0;
    // The kernel buffers of both ends take a few MB before the mark can be reached.
    let stopped = tokio::time::timeout(PATIENCE * 2, async {
        let message = || Message::from(chunk.as_str());
        while let Ok(result) = tokio::time::timeout(ms(500), socket.feed(message())).await {
            result.unwrap();
            fed += 1;
            assert!(fed < 2_000, "the sink never pushed back");
        }
    })
    .await;
    assert!(stopped.is_ok(), "the sink kept taking messages: {fed} fed");
    let waiting = socket.buffered_amount();
    assert!(
        (MARK..MARK + chunk.len()).contains(&waiting),
        "not ready with {waiting} bytes unsent ({fed} fed)"
    );
    assert_eq!(server.go_silent(false).await, 1);
    tokio::time::timeout(PATIENCE, socket.flush())
        .await
        .expect("the flush completes once the server reads")
        .unwrap();
    let echoed = tokio::time::timeout(PATIENCE * 2, async {
        let mut echoed = 0;
        while echoed < fed {
            if let Some(Event::Message(m)) = events.recv().await {
                if m.as_text().is_some_and(|t| t == chunk) {
                    echoed += 1;
                }
            }
        }
        echoed
    })
    .await
    .expect("every fed message is echoed");
    assert_eq!(echoed, fed);
}

/// The `Sink` buffers like tokio-tungstenite's: fed messages wait for a flush (one
/// write for the burst), for 128 KiB to gather, or for the next `send`, which takes
/// them along in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sink_buffers_until_a_flush_a_full_batch_or_a_send() {
    let server = mock().await;
    // No timer of the socket's may wake the driver during the check below: the
    // stable-connection timer is far off, and the buffers the connection grew are
    // trimmed (a tenth of a second after it went quiet) before it starts.
    let (mut socket, mut events) = greeted(&server, "sink-batch").await;
    tokio::time::sleep(ms(1_500)).await;
    for i in 0..10 {
        socket
            .feed(Message::from(format!("fed {i}")))
            .await
            .unwrap();
    }
    tokio::time::sleep(ms(200)).await;
    assert_eq!(
        socket.buffered_amount(),
        10 * "fed 0".len(),
        "fed messages wait for a flush"
    );
    socket.flush().await.unwrap();
    assert_eq!(socket.buffered_amount(), 0, "the flush handed them over");
    let expected: Vec<String> = (0..10).map(|i| format!("fed {i}")).collect();
    assert_eq!(messages(&mut events, 10).await, expected);

    // 128 KiB fed go out without a flush.
    let chunk = "y".repeat(16 * 1024);
    for _ in 0..8 {
        socket.feed(Message::from(chunk.as_str())).await.unwrap();
    }
    let echoed = messages(&mut events, 8).await;
    assert!(echoed.iter().all(|text| *text == chunk));

    // A plain send takes what was fed before it along, in order.
    socket.feed(Message::from("fed before")).await.unwrap();
    assert!(socket.send("sent after").unwrap().is_accepted());
    assert_eq!(
        messages(&mut events, 2).await,
        ["fed before".to_owned(), "sent after".to_owned()]
    );
}

/// Handles can be used from many threads at once; every accepted message is sent
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_from_many_threads_each_arrive_once() {
    let server = mock().await;
    let built = options(&server, "echo", "threads").build().unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let socket = socket.clone();
            std::thread::spawn(move || {
                for i in 0..250 {
                    let _ = socket.send(format!("{t}-{i}")).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let texts = messages(&mut events, 1000).await;
    let unique: BTreeSet<&String> = texts.iter().collect();
    assert_eq!(unique.len(), 1000);
    for t in 0..4 {
        let mine: Vec<usize> = texts
            .iter()
            .filter_map(|text| text.strip_prefix(&format!("{t}-"))?.parse().ok())
            .collect();
        assert_eq!(mine, (0..250).collect::<Vec<_>>(), "thread {t} in order");
    }
}
