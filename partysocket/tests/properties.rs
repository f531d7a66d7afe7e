//! Property tests: invariants over random URLs and random sequences of commands and
//! transport facts.

mod support;

use partysocket::{PartySocketOptions, Query};
use proptest::prelude::*;
use support::model::{self, Config, Op};

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn machine_invariants_hold_for_any_sequence(config in config(), ops in proptest::collection::vec(op(), 1..120)) {
        if let Err(broken) = model::run(&config, &ops) {
            prop_assert!(false, "{}", broken);
        }
    }
}
