//! Property tests: invariants over random URLs and random sequences of commands and
//! transport facts.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use partysocket::{
    CloseFrame, ConnectionState, Message, PartySocketOptions, Query, SendOutcome, TransportError,
    TransportId,
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
    Open,
    Receive,
    Refuse,
    Timeout,
    ServerClose(Option<u16>),
    Reject(u16),
    Close,
    Reconnect,
    Advance(u64),
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
    ]
}

#[derive(Debug, Clone)]
struct Config {
    max_messages: Option<usize>,
    max_bytes: Option<usize>,
    max_retries: Option<u32>,
    jitter: f64,
    start_closed: bool,
}

fn config() -> impl Strategy<Value = Config> {
    (
        proptest::option::of(0usize..8),
        proptest::option::of(0usize..64),
        proptest::option::of(0u32..6),
        0.0f64..=1.0,
        any::<bool>(),
    )
        .prop_map(
            |(max_messages, max_bytes, max_retries, jitter, start_closed)| Config {
                max_messages,
                max_bytes,
                max_retries,
                jitter,
                start_closed,
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
        let mut h = Harness::new(builder);

        let mut accepted: Vec<String> = Vec::new();
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
                        accepted.push(text);
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

            // Sent so far is a prefix of what was accepted, in order, each once.
            let sent = h.sent_texts();
            prop_assert!(sent.len() <= accepted.len());
            prop_assert_eq!(&sent[..], &accepted[..sent.len()]);
        }

        // Everything accepted was sent exactly once, in order, or is still queued.
        let mut all = h.sent_texts();
        all.extend(h.machine.drain_queue().into_iter().map(|m| m.as_text().unwrap().to_owned()));
        prop_assert_eq!(all, accepted);
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
