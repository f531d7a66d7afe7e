//! The sans-IO core alone: sends through an open `Machine`, and attempt URLs built.

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::Instant;

use partysocket::web_time;
use partysocket::{Machine, Message, Output, PartySocketOptions, Transmit};

use crate::report::{Report, Target, per_second, ratio};

/// Sends per measurement.
const SENDS: usize = 1_000_000;
/// URLs built per measurement.
const URLS: usize = 200_000;
/// Measurements per figure; the median counts.
const ROUNDS: usize = 3;

pub(crate) fn run(report: &mut Report) {
    println!("core: {SENDS} sends through an open machine, {URLS} attempt URLs");
    let options = PartySocketOptions::builder("localhost:1999")
        .party("bench")
        .room("room-one")
        .id("b")
        .build()
        .expect("options");

    let mut ours = Vec::new();
    let mut queue = Vec::new();
    for _ in 0..ROUNDS {
        ours.push(machine_sends(&options));
        queue.push(queue_sends());
    }
    let (ours, queue) = (crate::report::median(&ours), crate::report::median(&queue));
    report.value("core_steps_per_sec", ours);
    report.value("core_send_queue_per_sec", queue);
    // Time per send, ours over the bare queue's: lower is better.
    let send_ratio = ratio(queue, ours);
    if let Some(send_ratio) = send_ratio {
        report.value("core_send_ratio", send_ratio);
    }
    report.row(
        "core_steps_per_sec (send + drain, vs VecDeque)",
        per_second(ours),
        per_second(queue),
        ratio(ours, queue),
        Target::None,
    );

    let mut ours = Vec::new();
    let mut formatted = Vec::new();
    for _ in 0..ROUNDS {
        ours.push(url_builds(&options));
        formatted.push(format_builds(&options));
    }
    let (ours, formatted) = (
        crate::report::median(&ours),
        crate::report::median(&formatted),
    );
    report.value("url_builds_per_sec", ours);
    report.value("url_format_per_sec", formatted);
    report.row(
        "url_builds_per_sec (socket_url, vs format!)",
        per_second(ours),
        per_second(formatted),
        ratio(ours, formatted),
        Target::None,
    );
}

/// Sends per second through an open machine: `send`, then pull it with `poll_transmit`.
fn machine_sends(options: &PartySocketOptions) -> f64 {
    let start = web_time::Instant::now();
    let mut machine = Machine::with_seed(options.clone(), start, 1);
    let mut transport = None;
    while let Some(output) = machine.poll_output() {
        if let Output::Connect { transport: id, .. } = output {
            transport = Some(id);
        }
    }
    let transport = transport.expect("an attempt");
    machine.handle_open(transport, None, start);
    while machine.poll_output().is_some() {}
    let payload = Message::from("x".repeat(32));

    let began = Instant::now();
    let mut sent = 0usize;
    for _ in 0..SENDS {
        let _ = machine.send(payload.clone());
        while let Some(frame) = machine.poll_transmit(transport) {
            if matches!(frame, Transmit::Message(_)) {
                sent += 1;
            }
        }
    }
    let elapsed = began.elapsed().as_secs_f64();
    assert_eq!(sent, SENDS, "every send leaves the machine");
    SENDS as f64 / elapsed
}

/// The same payload clones through a bare `VecDeque`: the floor for any queue.
fn queue_sends() -> f64 {
    let payload = Message::from("x".repeat(32));
    let began = Instant::now();
    let mut queue = VecDeque::new();
    let mut popped = 0usize;
    for _ in 0..SENDS {
        queue.push_back(black_box(payload.clone()));
        while let Some(message) = queue.pop_front() {
            black_box(message);
            popped += 1;
        }
    }
    let elapsed = began.elapsed().as_secs_f64();
    assert_eq!(popped, SENDS);
    SENDS as f64 / elapsed
}

/// Attempt URLs built per second.
fn url_builds(options: &PartySocketOptions) -> f64 {
    let began = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..URLS {
        bytes += black_box(black_box(options).socket_url(None)).len();
    }
    let elapsed = began.elapsed().as_secs_f64();
    assert!(bytes > 0);
    URLS as f64 / elapsed
}

/// The same URL from one `format!` with nothing to encode: the floor.
fn format_builds(options: &PartySocketOptions) -> f64 {
    let (host, party, room, id) = (
        options.host(),
        options.party(),
        options.room().unwrap_or_default(),
        options.id(),
    );
    let began = Instant::now();
    let mut bytes = 0usize;
    for _ in 0..URLS {
        let url = format!(
            "ws://{}/parties/{}/{}?_pk={}",
            black_box(host),
            black_box(party),
            black_box(room),
            black_box(id)
        );
        bytes += black_box(url).len();
    }
    let elapsed = began.elapsed().as_secs_f64();
    assert!(bytes > 0);
    URLS as f64 / elapsed
}
