//! Property tests: invariants over random URLs and random sequences of commands and
//! transport facts.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use partysocket::{
    CloseFrame, ConnectionState, Heartbeat, Message, OptionsUpdate, PartySocketOptions, Query,
    QueryProvider, SendOutcome, TransportError, TransportId,
};
use proptest::prelude::*;
use support::{Harness, Step, ms};

// ----- URLs --------------------------------------------------------------------------

fn name() -> impl Strategy<Value = String> {
    any::<String>().prop_filter("a usable name", |s| !s.is_empty() && s != "." && s != "..")
}

proptest! {
    #[test]
    fn any_room_party_and_query_yield_a_url_that_parses(
        room in name(),
        party in name(),
        id in "[a-zA-Z0-9-]{1,40}",
        query in proptest::collection::vec((any::<String>(), any::<String>()), 0..5),
    ) {
        let query: Vec<(String, String)> = query.into_iter().filter(|(k, _)| k != "_pk").collect();
        let options = PartySocketOptions::builder("example.com:8080")
            .room(room.clone())
            .party(party.clone())
            .id(id.clone())
            .disable_name_validation(true)
            .query(query.iter().cloned().collect::<Query>())
            .build()
            .unwrap();
        let socket_url = options.socket_url(None);
        let parsed = url::Url::parse(&socket_url).unwrap();
        // Already in the form a browser would send: parsing changes nothing.
        prop_assert_eq!(parsed.as_str(), socket_url.as_str());
        let pairs: Vec<(String, String)> = parsed.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        prop_assert_eq!(pairs.iter().filter(|(k, _)| k == "_pk").count(), 1);
        prop_assert_eq!(&pairs[0], &("_pk".to_owned(), id));
        prop_assert_eq!(&pairs[1..], &query[..]);
        // Party and room come back as single segments.
        let segments: Vec<String> = parsed
            .path_segments()
            .unwrap()
            .map(percent_decode)
            .collect();
        prop_assert_eq!(segments, vec!["parties".to_owned(), party, room]);

        let room_url = url::Url::parse(&options.room_url()).unwrap();
        prop_assert_eq!(room_url.query(), None);
        prop_assert_eq!(room_url.as_str(), options.room_url());
    }
}

fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

// ----- the machine ----------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
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

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Send),
        3 => Just(Op::Open),
        1 => Just(Op::Receive),
        2 => Just(Op::Refuse),
        1 => Just(Op::Timeout),
        2 => proptest::option::of(prop_oneof![Just(1000u16), Just(1001), Just(4000), Just(4001)]).prop_map(Op::ServerClose),
        1 => prop_oneof![Just(401u16), Just(429), Just(500)].prop_map(Op::Reject),
        1 => Just(Op::Close),
        1 => Just(Op::Reconnect),
        4 => (0u64..12_000).prop_map(Op::Advance),
        2 => (0u8..3).prop_map(Op::SendCoalesced),
        2 => any::<bool>().prop_map(Op::Resolve),
        1 => Just(Op::Pong),
        1 => (0u8..4).prop_map(Op::Update),
        1 => Just(Op::WriteBlocked),
        1 => Just(Op::WriteProgress),
        1 => any::<bool>().prop_map(Op::ReadPaused),
    ]
}

#[derive(Debug, Clone)]
struct Config {
    max_messages: Option<usize>,
    max_bytes: Option<usize>,
    max_retries: Option<u32>,
    jitter: f64,
    start_closed: bool,
    /// Heartbeat interval and timeout, in milliseconds.
    heartbeat: Option<(u64, u64)>,
    per_attempt_query: bool,
}

fn config() -> impl Strategy<Value = Config> {
    (
        proptest::option::of(0usize..8),
        proptest::option::of(0usize..64),
        proptest::option::of(0u32..6),
        0.0f64..=1.0,
        any::<bool>(),
        proptest::option::of((1u64..5_000, 1u64..5_000)),
        any::<bool>(),
    )
        .prop_map(
            |(
                max_messages,
                max_bytes,
                max_retries,
                jitter,
                start_closed,
                heartbeat,
                per_attempt_query,
            )| Config {
                max_messages,
                max_bytes,
                max_retries,
                jitter,
                start_closed,
                heartbeat,
                per_attempt_query,
            },
        )
}

const MAX_DELAY: Duration = Duration::from_millis(10_000);

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn machine_invariants_hold_for_any_sequence(config in config(), ops in proptest::collection::vec(op(), 1..120)) {
        let mut builder = PartySocketOptions::builder("example.com")
            .room("r")
            .id("me")
            .jitter(config.jitter)
            .start_closed(config.start_closed)
            .max_reconnection_delay(MAX_DELAY);
        if let Some(max) = config.max_messages { builder = builder.max_enqueued_messages(max); }
        if let Some(max) = config.max_bytes { builder = builder.max_enqueued_bytes(max); }
        if let Some(max) = config.max_retries { builder = builder.max_retries(max); }
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

        for op in ops {
            match op {
                Op::Send => {
                    let text = format!("m{next_message}");
                    next_message += 1;
                    let outcome = h.machine.send(Message::from(text.clone()));
                    h.drain();
                    if outcome.is_accepted() {
                        prop_assert!(matches!(outcome, SendOutcome::Sent | SendOutcome::Queued));
                        accepted.push((text, None));
                    }
                }
                Op::SendCoalesced(key) => {
                    let text = format!("m{next_message}");
                    next_message += 1;
                    let outcome = h.machine.send_coalesced(format!("k{key}"), Message::from(text.clone()));
                    h.drain();
                    if outcome == SendOutcome::Coalesced {
                        // The latest unsent message with this key was replaced.
                        let sent = h.sent_texts().len();
                        let replaced = accepted
                            .iter()
                            .rposition(|(_, k)| *k == Some(key))
                            .filter(|at| *at >= sent);
                        prop_assert!(replaced.is_some(), "coalesced with nothing queued");
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
                            let result = if ok { Ok(Query::new().with("token", "t")) } else { Err("no token".to_owned()) };
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
                    prop_assert_eq!(h.machine.id(), "me", "updates keep the id");
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
                        h.machine.handle_closed(t, code.map(|c| CloseFrame::new(c, "")), h.now);
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
                        prop_assert!(!closed_by_app, "connected after close() without reconnect()");
                        in_flight.insert(*t);
                    }
                    Step::Close(t, _) => {
                        in_flight.remove(t);
                    }
                    _ => {}
                }
                prop_assert!(in_flight.len() <= 1, "two transports in flight: {:?}", in_flight);
            }
            seen_steps = h.steps.len();
            if let Some(t) = h.machine.transport() {
                // Whatever the machine considers current is the one in flight.
                if !matches!(h.state(), ConnectionState::Closing) {
                    prop_assert!(in_flight.is_empty() || in_flight.contains(&t));
                }
            }
            if h.machine.transport().is_none() {
                in_flight.clear();
            }

            // Queue caps.
            if let Some(max) = config.max_messages { prop_assert!(h.machine.queued_messages() <= max); }
            if let Some(max) = config.max_bytes { prop_assert!(h.machine.buffered_amount() <= max); }

            // Delays never exceed the maximum, jitter included (a Retry-After may).
            if let ConnectionState::BackingOff { retry_at, .. } = h.state() {
                let wait = retry_at.saturating_duration_since(h.now);
                prop_assert!(wait <= MAX_DELAY.max(Duration::from_secs(2)), "waiting {:?}", wait);
            }

            // Nothing waits forever: every state that will move on has a timer.
            if matches!(
                h.state(),
                ConnectionState::BackingOff { .. } | ConnectionState::Connecting { .. } | ConnectionState::Closing
            ) {
                prop_assert!(h.machine.poll_timeout().is_some(), "no timer in {:?}", h.state());
            }

            // Sent so far is a prefix of what was accepted, in order, each once
            // (heartbeat pings are protocol frames, not messages).
            let sent = h.sent_texts();
            let accepted_texts: Vec<String> = accepted.iter().map(|(text, _)| text.clone()).collect();
            prop_assert!(sent.len() <= accepted_texts.len());
            prop_assert_eq!(&sent[..], &accepted_texts[..sent.len()]);
        }

        // Everything accepted was sent exactly once, in order, or is still queued.
        let mut all = h.sent_texts();
        all.extend(h.machine.drain_queue().into_iter().map(|m| m.as_text().unwrap().to_owned()));
        let accepted_texts: Vec<String> = accepted.into_iter().map(|(text, _)| text).collect();
        prop_assert_eq!(all, accepted_texts);
    }
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
