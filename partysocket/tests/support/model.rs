//! A model of a driver and its application for random sessions: the operations, the
//! bookkeeping, and the machine's invariants. The property tests feed it generated
//! sessions; the fuzz target feeds it arbitrary bytes.

use std::collections::BTreeSet;
use std::time::Duration;

use partysocket::{
    CloseFrame, ConnectionState, Heartbeat, Message, OptionsUpdate, PartySocketOptions, Query,
    QueryProvider, SendOutcome, TransportError, TransportId,
};

use super::{Harness, Step, ms};

/// The longest backoff delay a session configures.
pub const MAX_DELAY: Duration = Duration::from_millis(10_000);

macro_rules! check {
    ($cond:expr $(,)?) => {
        if !$cond {
            return Err(format!("invariant broken: {}", stringify!($cond)));
        }
    };
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

macro_rules! check_eq {
    ($left:expr, $right:expr $(,)?) => {
        if $left != $right {
            return Err(format!("{:?} != {:?}", $left, $right));
        }
    };
    ($left:expr, $right:expr, $($arg:tt)+) => {
        if $left != $right {
            return Err(format!($($arg)+));
        }
    };
}

/// One step of a random session.
#[derive(Debug, Clone)]
pub enum Op {
    Send,
    /// A send with one of three coalescing keys.
    SendCoalesced(u8),
    Open,
    Receive,
    Refuse,
    Timeout,
    ServerClose(Option<u16>),
    Reject(u16),
    Close,
    Reconnect,
    Advance(u64),
    /// The per-attempt query answers (or fails).
    Resolve(bool),
    /// A pong (or any sign of life) on the current transport.
    Pong,
    /// `update()` to another room or query (the destination stays valid).
    Update(u8),
    /// The driver reports a blocked write, or write progress.
    WriteBlocked,
    WriteProgress,
    /// The driver pauses or resumes reading.
    ReadPaused(bool),
}

/// The options a random session runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub max_messages: Option<usize>,
    pub max_bytes: Option<usize>,
    pub max_retries: Option<u32>,
    pub jitter: f64,
    pub start_closed: bool,
    /// Heartbeat interval and timeout, in milliseconds.
    pub heartbeat: Option<(u64, u64)>,
    pub per_attempt_query: bool,
}

/// Runs `ops` on a machine built from `config`, checking after every step that at most
/// one transport is in flight, the queue's caps hold, no delay exceeds the maximum,
/// every state that must move on has a timer, updates keep the id, and what was sent is
/// a prefix of what was accepted, in order, each once; at the end everything accepted
/// was sent or is still queued.
///
/// # Errors
///
/// The first broken invariant, described.
pub fn run(config: &Config, ops: &[Op]) -> Result<(), String> {
    let mut builder = PartySocketOptions::builder("example.com")
        .room("r")
        .id("me")
        .jitter(config.jitter)
        .start_closed(config.start_closed)
        .max_reconnection_delay(MAX_DELAY);
    if let Some(max) = config.max_messages {
        builder = builder.max_enqueued_messages(max);
    }
    if let Some(max) = config.max_bytes {
        builder = builder.max_enqueued_bytes(max);
    }
    if let Some(max) = config.max_retries {
        builder = builder.max_retries(max);
    }
    if let Some((interval, timeout)) = config.heartbeat {
        builder = builder.heartbeat(Heartbeat::new(ms(interval), ms(timeout)));
    }
    if config.per_attempt_query {
        builder = builder.query(QueryProvider::new(|| async { Ok(Query::new()) }));
    }
    let mut h = Harness::new(builder);

    let mut accepted: Vec<(String, Option<u8>)> = Vec::new();
    let mut next_message = 0u32;
    let mut in_flight: BTreeSet<TransportId> = BTreeSet::new();
    let mut closed_by_app = config.start_closed;
    for step in &h.steps {
        if let Step::Connect(t, _) = step {
            in_flight.insert(*t);
        }
    }
    let mut seen_steps = h.steps.len();

    for op in ops.iter().cloned() {
        match op {
            Op::Send => {
                let text = format!("m{next_message}");
                next_message += 1;
                let outcome = h.machine.send(Message::from(text.clone()));
                h.drain();
                if outcome.is_accepted() {
                    check!(matches!(outcome, SendOutcome::Sent | SendOutcome::Queued));
                    accepted.push((text, None));
                }
            }
            Op::SendCoalesced(key) => {
                let text = format!("m{next_message}");
                next_message += 1;
                let outcome = h
                    .machine
                    .send_coalesced(format!("k{key}"), Message::from(text.clone()));
                h.drain();
                if outcome == SendOutcome::Coalesced {
                    // The latest unsent message with this key was replaced.
                    let sent = h.sent_texts().len();
                    let replaced = accepted
                        .iter()
                        .rposition(|(_, k)| *k == Some(key))
                        .filter(|at| *at >= sent);
                    check!(replaced.is_some(), "coalesced with nothing queued");
                    if let Some(at) = replaced {
                        accepted.remove(at);
                    }
                }
                if outcome.is_accepted() {
                    accepted.push((text, Some(key)));
                }
            }
            Op::Resolve(ok) => {
                if matches!(h.state(), ConnectionState::Connecting { .. }) {
                    if let Some(t) = h.machine.transport() {
                        let result = if ok {
                            Ok(Query::new().with("token", "t"))
                        } else {
                            Err("no token".to_owned())
                        };
                        h.machine.handle_query_resolved(t, result, h.now);
                        h.drain();
                    }
                }
            }
            Op::Pong => {
                if let Some(t) = h.machine.transport() {
                    h.machine.handle_pong(t, h.now);
                    h.drain();
                }
            }
            Op::Update(room) => {
                let update = OptionsUpdate::new()
                    .room(format!("room-{room}"))
                    .query(Query::new().with("v", room.to_string()));
                h.machine.update(update).unwrap();
                h.drain();
                check_eq!(h.machine.id(), "me", "updates keep the id");
            }
            Op::WriteBlocked => {
                if let Some(t) = h.machine.transport() {
                    h.machine.handle_write_blocked(t, h.now);
                    h.drain();
                }
            }
            Op::WriteProgress => {
                if let Some(t) = h.machine.transport() {
                    h.machine.handle_write_progress(t);
                    h.drain();
                }
            }
            Op::ReadPaused(paused) => {
                if let Some(t) = h.machine.transport() {
                    h.machine.handle_read_paused(t, paused, h.now);
                    h.drain();
                }
            }
            Op::Open => h.open_if_connecting(),
            Op::Receive => {
                if let Some(t) = h.machine.transport() {
                    h.machine.handle_message(t, Message::from("in"), h.now);
                    h.drain();
                }
            }
            Op::Refuse => h.fail_current(TransportError::Network("refused".into())),
            Op::Timeout => h.fail_current(TransportError::Protocol("garbage".into())),
            Op::ServerClose(code) => {
                if let Some(t) = h.machine.transport() {
                    in_flight.remove(&t);
                    h.machine
                        .handle_closed(t, code.map(|c| CloseFrame::new(c, "")), h.now);
                    h.drain();
                }
            }
            Op::Reject(status) => h.fail_current(TransportError::HandshakeRejected {
                status,
                retry_after: Some(Duration::from_secs(2)),
            }),
            Op::Close => {
                h.machine.close(CloseFrame::normal(), h.now).unwrap();
                h.drain();
                closed_by_app = true;
            }
            Op::Reconnect => {
                h.machine.reconnect(h.now).unwrap();
                h.drain();
                closed_by_app = false;
            }
            Op::Advance(by) => h.advance(ms(by)),
        }

        // Replay the new outputs against the bookkeeping.
        for step in &h.steps[seen_steps..] {
            match step {
                Step::Connect(t, _) => {
                    check!(
                        !closed_by_app,
                        "connected after close() without reconnect()"
                    );
                    in_flight.insert(*t);
                }
                Step::Close(t, _) => {
                    in_flight.remove(t);
                }
                _ => {}
            }
            check!(
                in_flight.len() <= 1,
                "two transports in flight: {:?}",
                in_flight
            );
        }
        seen_steps = h.steps.len();
        if let Some(t) = h.machine.transport() {
            // Whatever the machine considers current is the one in flight.
            if !matches!(h.state(), ConnectionState::Closing) {
                check!(in_flight.is_empty() || in_flight.contains(&t));
            }
        }
        if h.machine.transport().is_none() {
            in_flight.clear();
        }

        // Queue caps.
        if let Some(max) = config.max_messages {
            check!(h.machine.queued_messages() <= max);
        }
        if let Some(max) = config.max_bytes {
            check!(h.machine.buffered_amount() <= max);
        }

        // Delays never exceed the maximum, jitter included (a Retry-After may).
        if let ConnectionState::BackingOff { retry_at, .. } = h.state() {
            let wait = retry_at.saturating_duration_since(h.now);
            check!(
                wait <= MAX_DELAY.max(Duration::from_secs(2)),
                "waiting {:?}",
                wait
            );
        }

        // The shortcut the send path asks agrees with the state.
        check_eq!(
            h.machine.is_open(),
            h.machine.ready_state() == partysocket::ReadyState::Open
        );

        // Nothing waits forever: every state that will move on has a timer.
        if matches!(
            h.state(),
            ConnectionState::BackingOff { .. }
                | ConnectionState::Connecting { .. }
                | ConnectionState::Closing
        ) {
            check!(
                h.machine.poll_timeout().is_some(),
                "no timer in {:?}",
                h.state()
            );
        }

        // Sent so far is a prefix of what was accepted, in order, each once
        // (heartbeat pings are protocol frames, not messages).
        let sent = h.sent_texts();
        let accepted_texts: Vec<String> = accepted.iter().map(|(text, _)| text.clone()).collect();
        check!(sent.len() <= accepted_texts.len());
        check_eq!(&sent[..], &accepted_texts[..sent.len()]);
    }

    // Everything accepted was sent exactly once, in order, or is still queued.
    let mut all = h.sent_texts();
    all.extend(
        h.machine
            .drain_queue()
            .into_iter()
            .map(|m| m.as_text().unwrap().to_owned()),
    );
    let accepted_texts: Vec<String> = accepted.into_iter().map(|(text, _)| text).collect();
    check_eq!(all, accepted_texts);
    Ok(())
}

trait Driver {
    fn open_if_connecting(&mut self);
    fn fail_current(&mut self, error: TransportError);
}

impl Driver for Harness {
    fn open_if_connecting(&mut self) {
        if matches!(self.state(), ConnectionState::Connecting { .. }) {
            if let Some(t) = self.machine.transport() {
                self.machine.handle_open(t, None, self.now);
                self.drain();
            }
        }
    }

    fn fail_current(&mut self, error: TransportError) {
        if let Some(t) = self.machine.transport() {
            self.machine.handle_failed(t, error, self.now);
            self.drain();
        }
    }
}
