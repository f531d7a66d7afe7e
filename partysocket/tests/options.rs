//! Option defaults and validation: each invalid value is a typed error that says what to do.

use std::time::Duration;

use partysocket::{Heartbeat, OptionsError, OptionsUpdate, PartySocketOptions, Query};

fn base() -> partysocket::PartySocketOptionsBuilder {
    PartySocketOptions::builder("example.com").room("my-room")
}

#[test]
fn defaults_match_upstream() {
    let options = base().build().unwrap();
    assert_eq!(options.connection_timeout(), Duration::from_millis(4000));
    assert_eq!(options.max_retries(), None);
    assert!(!options.start_closed());
    assert_eq!(options.party(), "main");
    // The delay schedule covers min delay 3000, grow 1.3 and max 10 000.
    let schedule: Vec<u128> = (0..8)
        .map(|k| options.reconnection_delay(k).as_micros())
        .collect();
    assert_eq!(
        schedule,
        [
            0, 3_000_000, 3_900_000, 5_070_000, 6_591_000, 8_568_300, 10_000_000, 10_000_000
        ]
    );
}

#[test]
fn throws_if_host_is_not_set() {
    let err = PartySocketOptions::builder("")
        .room("r")
        .build()
        .unwrap_err();
    assert_eq!(err, OptionsError::EmptyHost);
    assert!(err.to_string().contains("host must not be empty"));
}

#[test]
fn throws_when_constructing_without_room_or_base_path() {
    let err = PartySocketOptions::builder("example.com")
        .build()
        .unwrap_err();
    assert_eq!(err, OptionsError::MissingRoom);
    assert!(err.to_string().contains("start_closed(true)"), "{err}");
}

#[test]
fn an_empty_room_says_so_rather_than_that_no_room_was_set() {
    let err = PartySocketOptions::builder("example.com")
        .room("")
        .build()
        .unwrap_err();
    assert_eq!(err, OptionsError::EmptyName("room"));
    let text = err.to_string();
    assert!(text.starts_with("room must not be empty"), "{text}");
    assert!(!text.contains("base_path"), "{text}");
    // The same through an update.
    let options = base().build().unwrap();
    assert_eq!(
        options.updated(OptionsUpdate::new().room("")).unwrap_err(),
        OptionsError::EmptyName("room")
    );
}

#[test]
fn every_options_error_names_the_option_and_the_value() {
    let cases: Vec<(OptionsError, &[&str])> = vec![
        (base().party("").build().unwrap_err(), &["party"]),
        (base().prefix("/").build().unwrap_err(), &["prefix"]),
        (base().path("/x").build().unwrap_err(), &["path", "\"/x\""]),
        (
            base()
                .reconnection_delay_grow_factor(0.5)
                .build()
                .unwrap_err(),
            &["reconnection_delay_grow_factor", "0.5"],
        ),
        (base().jitter(2.0).build().unwrap_err(), &["jitter", "2"]),
        (
            base()
                .connection_timeout(Duration::ZERO)
                .build()
                .unwrap_err(),
            &["connection_timeout"],
        ),
        (
            base().event_capacity(0).build().unwrap_err(),
            &["event_capacity", "0"],
        ),
        (
            base().header("X-User", "Jos\u{e9}").build().unwrap_err(),
            &["X-User", "'\u{e9}'", "U+00E9"],
        ),
        (
            base().protocols(["a b"]).build().unwrap_err(),
            &["subprotocol", "\"a b\""],
        ),
    ];
    for (err, words) in cases {
        let text = err.to_string();
        for word in words {
            assert!(text.contains(word), "{text:?} does not name {word:?}");
        }
    }
}

#[test]
fn does_not_throw_without_room_when_start_closed_or_base_path() {
    assert!(
        PartySocketOptions::builder("example.com")
            .start_closed(true)
            .build()
            .is_ok()
    );
    assert!(
        PartySocketOptions::builder("example.com")
            .base_path("x/y")
            .build()
            .is_ok()
    );
}

#[test]
fn rejects_bad_delays_and_timeouts() {
    assert_eq!(
        base()
            .min_reconnection_delay(Duration::from_secs(5))
            .max_reconnection_delay(Duration::from_secs(1))
            .build()
            .unwrap_err(),
        OptionsError::MinDelayAboveMax {
            min: Duration::from_secs(5),
            max: Duration::from_secs(1)
        }
    );
    for grow in [0.5, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            base().reconnection_delay_grow_factor(grow).build(),
            Err(OptionsError::InvalidGrowFactor(_))
        ));
    }
    assert_eq!(
        base()
            .connection_timeout(Duration::ZERO)
            .build()
            .unwrap_err(),
        OptionsError::ZeroDuration("connection_timeout")
    );
    assert_eq!(
        base().close_timeout(Duration::ZERO).build().unwrap_err(),
        OptionsError::ZeroDuration("close_timeout")
    );
    assert_eq!(
        base()
            .heartbeat(Heartbeat::new(Duration::ZERO, Duration::from_secs(1)))
            .build()
            .unwrap_err(),
        OptionsError::ZeroDuration("heartbeat interval")
    );
    assert_eq!(
        base()
            .heartbeat(Heartbeat::new(Duration::from_secs(1), Duration::ZERO))
            .build()
            .unwrap_err(),
        OptionsError::ZeroDuration("heartbeat timeout")
    );
    assert_eq!(
        base().jitter(1.5).build().unwrap_err(),
        OptionsError::InvalidJitter(1.5)
    );
    assert_eq!(
        base().jitter(-0.1).build().unwrap_err(),
        OptionsError::InvalidJitter(-0.1)
    );
}

#[test]
fn rejects_empty_party_and_prefix() {
    assert_eq!(
        base().party("").build().unwrap_err(),
        OptionsError::EmptyName("party")
    );
    assert_eq!(
        base().prefix("/").build().unwrap_err(),
        OptionsError::EmptyName("prefix")
    );
}

#[test]
fn rejects_headers_and_subprotocols_that_cannot_be_sent() {
    assert!(matches!(
        base().header("Bad Name", "x").build(),
        Err(OptionsError::InvalidHeader { .. })
    ));
    assert!(matches!(
        base()
            .header("Authorization", "Bearer a\r\nInjected: 1")
            .build(),
        Err(OptionsError::InvalidHeader { .. })
    ));
    assert!(matches!(
        base().header("Sec-WebSocket-Key", "x").build(),
        Err(OptionsError::InvalidHeader { .. })
    ));
    assert!(
        base()
            .header("Authorization", "Bearer token")
            .build()
            .is_ok()
    );
    // Every attempt would fail on these: build() says so, naming the character.
    assert_eq!(
        base().header("X-User", "Jos\u{e9}").build().unwrap_err(),
        OptionsError::InvalidHeader {
            name: "X-User".into(),
            character: Some('\u{e9}'),
            why: "a header value is visible ASCII, spaces and tabs: percent-encode or base64 other text",
        }
    );
    assert!(matches!(
        base().header("Authorization", "Bearer \u{2026}").build(),
        Err(OptionsError::InvalidHeader {
            character: Some('\u{2026}'),
            ..
        })
    ));
    assert!(matches!(
        base().header("X-Caf\u{e9}", "x").build(),
        Err(OptionsError::InvalidHeader {
            character: Some('\u{e9}'),
            ..
        })
    ));
    assert!(matches!(
        base().header("X-Tab", "a\u{7f}").build(),
        Err(OptionsError::InvalidHeader {
            character: Some('\u{7f}'),
            ..
        })
    ));
    assert!(base().header("X-Tab", "a\tb c").build().is_ok());
    // And an update is checked the same way.
    let options = base().build().unwrap();
    assert!(matches!(
        options.updated(OptionsUpdate::new().headers([("X-User", "Jos\u{e9}")])),
        Err(OptionsError::InvalidHeader { .. })
    ));
    assert_eq!(
        base().protocols(["chat v2"]).build().unwrap_err(),
        OptionsError::InvalidSubprotocol("chat v2".into())
    );
}

#[test]
fn uses_provided_id() {
    assert_eq!(
        base().id("my-custom-client-id").build().unwrap().id(),
        "my-custom-client-id"
    );
}

// ----- updates: accumulate and keep the id (upstream reverts and re-rolls) -------------

#[test]
fn updates_room_host_party_and_path() {
    let options = base().build().unwrap();
    let id = options.id().to_owned();
    let updated = options
        .updated(
            OptionsUpdate::new()
                .room("second-room")
                .host("other.com")
                .party("p2")
                .path("new-path"),
        )
        .unwrap();
    assert_eq!(updated.room(), Some("second-room"));
    assert_eq!(updated.host(), "other.com");
    assert_eq!(updated.party(), "p2");
    assert_eq!(updated.path(), Some("new-path"));
    assert_eq!(updated.id(), id);
}

#[test]
fn partial_updates_accumulate() {
    // Upstream: {party:"p2"} then {room:"r3"} puts the party back to its original.
    let options = base()
        .party("p1")
        .query(Query::new().with("t", "1"))
        .build()
        .unwrap();
    let id = options.id().to_owned();
    let once = options.updated(OptionsUpdate::new().party("p2")).unwrap();
    let twice = once.updated(OptionsUpdate::new().room("r3")).unwrap();
    assert_eq!(twice.party(), "p2");
    assert_eq!(twice.room(), Some("r3"));
    assert_eq!(twice.id(), id);
    assert!(twice.socket_url(None).ends_with("t=1"));
}

#[test]
fn updates_keep_a_path_and_can_clear_it() {
    // Upstream throws "path must not start with a slash" on any update lacking `path`.
    let options = base().path("sub").build().unwrap();
    let kept = options.updated(OptionsUpdate::new().room("r2")).unwrap();
    assert_eq!(kept.path(), Some("sub"));
    let cleared = kept.updated(OptionsUpdate::new().clear_path()).unwrap();
    assert_eq!(cleared.path(), None);
}

#[test]
fn updates_are_validated() {
    let options = base().build().unwrap();
    assert_eq!(
        options.updated(OptionsUpdate::new().host("")).unwrap_err(),
        OptionsError::EmptyHost
    );
    assert_eq!(
        options
            .updated(OptionsUpdate::new().path("/x"))
            .unwrap_err(),
        OptionsError::PathStartsWithSlash("/x".into())
    );
}

#[test]
fn updates_change_the_id_only_when_asked() {
    let options = base().id("a").build().unwrap();
    assert_eq!(
        options.updated(OptionsUpdate::new().id("b")).unwrap().id(),
        "b"
    );
}

#[test]
fn debug_output_redacts_header_and_query_values() {
    let options = base()
        .header("Authorization", "Bearer secret-token")
        .query(Query::new().with("token", "secret-query"))
        .build()
        .unwrap();
    let update = OptionsUpdate::new()
        .headers([("Authorization", "Bearer secret-token")])
        .query(Query::new().with("token", "secret-query"));
    for text in [
        format!("{options:?}"),
        format!("{:?}", options.to_builder()),
        format!("{update:?}"),
        format!("{:?}", Query::new().with("token", "secret-query")),
    ] {
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("REDACTED"), "{text}");
    }
    let text = format!("{options:?}");
    assert!(text.contains("Authorization"), "{text}");
    assert!(text.contains("token"), "{text}");
    assert!(text.contains("connection_timeout"), "{text}");
}

/// Headers and subprotocols are checked when set, but `build` reports their errors in
/// the same place among its checks as when it checked them itself: after the host and
/// the room, the first invalid header before any subprotocol.
#[test]
fn header_and_subprotocol_errors_keep_their_place_among_the_checks() {
    let bad_header = OptionsError::from(partysocket::HeaderError::Invalid {
        name: "bad name".to_owned(),
        character: Some(' '),
        why: "a header name is ASCII letters, digits and !#$%&'*+-.^_`|~",
    });
    let err = PartySocketOptions::builder("exa mple.com")
        .header("bad name", "v")
        .protocols(["bad protocol"])
        .build()
        .unwrap_err();
    assert!(matches!(err, OptionsError::InvalidHost { .. }), "{err:?}");
    let err = PartySocketOptions::builder("example.com")
        .header("bad name", "v")
        .protocols(["bad protocol"])
        .build()
        .unwrap_err();
    assert_eq!(err, OptionsError::MissingRoom);
    let err = base()
        .header("ok", "v")
        .header("bad name", "v")
        .header("host", "v")
        .protocols(["bad protocol"])
        .build()
        .unwrap_err();
    assert_eq!(err, bad_header);
    // A later list of subprotocols replaces the earlier one, error included.
    let options = base()
        .protocols(["bad protocol"])
        .protocols(["chat.v1"])
        .build()
        .unwrap();
    assert_eq!(options.protocols(), ["chat.v1"]);
    let err = base()
        .protocols(["chat.v1"])
        .protocols(["", "x y"])
        .build()
        .unwrap_err();
    assert_eq!(err, OptionsError::InvalidSubprotocol(String::new()));
    // An update replaces the headers, and is checked.
    let options = base().header("ok", "v").build().unwrap();
    let err = options
        .updated(OptionsUpdate::new().headers([("bad name", "v")]))
        .unwrap_err();
    assert_eq!(err, bad_header);
    let err = options
        .updated(OptionsUpdate::new().protocols(["x y"]))
        .unwrap_err();
    assert_eq!(err, OptionsError::InvalidSubprotocol("x y".to_owned()));
}

/// Options made from a full URL, rebuilt from `to_builder` (as an update or the
/// browser's heartbeat mapping does), are those the written URL gives.
#[test]
fn full_url_options_rebuilt_are_those_of_the_written_url() {
    for input in [
        "wss://Example.com:443/feed?",
        "ws://example.com:08080/a/%2e%2Fb?x=1&y",
        "wss://[0:0::1]:8443/",
    ] {
        let options = PartySocketOptions::for_url(input).build().unwrap();
        let written = options.full_url().unwrap();
        let rebuilt = options.to_builder().build().unwrap();
        let parsed = PartySocketOptions::for_url(written.clone())
            .id(options.id())
            .build()
            .unwrap();
        assert_eq!(rebuilt.full_url(), Some(written), "{input}");
        assert_eq!(rebuilt.host(), parsed.host(), "{input}");
        assert_eq!(rebuilt.room_url(), parsed.room_url(), "{input}");
        assert_eq!(rebuilt.socket_url(None), parsed.socket_url(None), "{input}");
        assert_eq!(rebuilt.protocol(), parsed.protocol(), "{input}");
        assert_eq!(format!("{rebuilt:?}"), format!("{parsed:?}"), "{input}");
    }
    let err = PartySocketOptions::for_url("http://example.com")
        .room("r")
        .build()
        .unwrap_err();
    assert!(matches!(err, OptionsError::InvalidUrl { .. }), "{err:?}");
}
