//! URL building: every row of the upstream URL table, plus where we deliberately differ.

use partysocket::{OptionsError, PartySocketOptions, Protocol, Query, QueryProvider, QuerySource};

fn room_url(builder: partysocket::PartySocketOptionsBuilder) -> String {
    builder.build().expect("valid options").room_url()
}

fn base(host: &str) -> partysocket::PartySocketOptionsBuilder {
    PartySocketOptions::builder(host)
        .room("my-room")
        .id("test-id")
}

#[test]
fn constructs_url_from_host_and_room() {
    assert_eq!(
        room_url(base("example.com")),
        "wss://example.com/parties/main/my-room"
    );
}

#[test]
fn constructs_url_with_custom_party() {
    assert_eq!(
        room_url(base("example.com").party("custom")),
        "wss://example.com/parties/custom/my-room"
    );
}

#[test]
fn handles_trailing_slash_in_host() {
    let options = base("example.com/").build().unwrap();
    assert_eq!(options.host(), "example.com");
    assert_eq!(options.room_url(), "wss://example.com/parties/main/my-room");
}

#[test]
fn strips_protocol_from_host() {
    for host in [
        "https://example.com",
        "http://example.com",
        "ws://example.com",
        "wss://example.com",
    ] {
        let options = base(host).build().unwrap();
        assert_eq!(options.host(), "example.com", "{host}");
        assert!(!options.room_url().contains("://http"), "{host}");
        assert!(!options.room_url().contains("://ws"), "{host}");
    }
}

#[test]
fn strips_protocol_case_insensitively_where_upstream_does_not() {
    // Upstream turns "HTTPS://x" into "wss://HTTPS://x/…".
    assert_eq!(
        room_url(base("HTTPS://Example.com")),
        "wss://example.com/parties/main/my-room"
    );
}

#[test]
fn includes_path_in_url_when_provided() {
    let options = base("example.com").path("subpath").build().unwrap();
    assert_eq!(
        options.room_url(),
        "wss://example.com/parties/main/my-room/subpath"
    );
    assert_eq!(options.path(), Some("subpath"));
}

#[test]
fn throws_when_path_starts_with_slash() {
    let err = base("example.com").path("/invalid").build().unwrap_err();
    assert_eq!(err, OptionsError::PathStartsWithSlash("/invalid".into()));
    assert!(
        err.to_string().contains("path must not start with '/'"),
        "{err}"
    );
}

#[test]
fn uses_base_path_when_provided() {
    assert_eq!(
        room_url(base("example.com").base_path("custom/base/path")),
        "wss://example.com/custom/base/path"
    );
}

#[test]
fn uses_prefix_when_provided() {
    assert_eq!(
        room_url(base("example.com").party("custom-party").prefix("rooms")),
        "wss://example.com/rooms/custom-party/my-room"
    );
}

#[test]
fn multi_segment_prefix() {
    assert_eq!(
        room_url(base("example.com").party("p").prefix("a/b")),
        "wss://example.com/a/b/p/my-room"
    );
}

#[test]
fn base_path_takes_precedence_over_prefix() {
    assert_eq!(
        room_url(
            base("example.com")
                .base_path("absolute/path")
                .prefix("should-be-ignored")
        ),
        "wss://example.com/absolute/path"
    );
}

#[test]
fn base_path_leading_slash_is_ignored_where_upstream_doubles_it() {
    assert_eq!(
        room_url(base("example.com").base_path("/custom")),
        "wss://example.com/custom"
    );
}

#[test]
fn can_override_protocol_with_explicit_option() {
    assert!(room_url(base("example.com").protocol(Protocol::Ws)).starts_with("ws://example.com"));
    assert!(
        room_url(base("localhost:1999").protocol(Protocol::Wss))
            .starts_with("wss://localhost:1999")
    );
}

#[test]
fn uses_ws_for_local_and_private_hosts() {
    for host in [
        "localhost:1999",
        "127.0.0.1:1999",
        "192.168.1.1",
        "192.168.1.100:1999",
        "10.0.0.1",
        "10.0.0.1:1999",
        "172.16.0.1",
        "172.16.0.1:1999",
        "172.20.10.5:1999",
        "172.31.255.255",
        "172.31.255.255:1999",
        "[::ffff:7f00:1]:1999",
    ] {
        assert!(
            room_url(base(host)).starts_with(&format!("ws://{host}/")),
            "{host}"
        );
    }
}

#[test]
fn uses_wss_for_public_hosts() {
    for host in [
        "172.15.0.1:1999",
        "172.32.0.1:1999",
        "example.com",
        "8.8.8.8:1999",
    ] {
        assert!(
            room_url(base(host)).starts_with(&format!("wss://{host}/")),
            "{host}"
        );
    }
}

#[test]
fn classifies_hosts_by_parsing_where_upstream_compares_prefixes() {
    // Upstream: `localhost` and `127.0.0.1` without a port and `[::1]:1999` get wss;
    // `172.2.0.1` and `10.example.com` get ws.
    for local in ["localhost", "127.0.0.1", "[::1]:1999", "127.0.0.2:80"] {
        assert!(room_url(base(local)).starts_with("ws://"), "{local}");
    }
    for public in ["172.2.0.1", "172.160.0.1", "10.example.com", "0.0.0.0:1999"] {
        assert!(room_url(base(public)).starts_with("wss://"), "{public}");
    }
}

#[test]
fn defaults_party_to_main() {
    let options = base("example.com").build().unwrap();
    assert_eq!(options.party(), "main");
    assert_eq!(options.prefix(), "parties");
}

#[test]
fn includes_connection_id_in_query_params_first() {
    let options = base("example.com")
        .id("custom-connection-id")
        .query(Query::new().with("foo", "bar"))
        .build()
        .unwrap();
    assert_eq!(options.id(), "custom-connection-id");
    assert_eq!(
        options.socket_url(None),
        "wss://example.com/parties/main/my-room?_pk=custom-connection-id&foo=bar"
    );
}

#[test]
fn generates_random_id_when_not_provided() {
    let a = PartySocketOptions::builder("example.com")
        .room("r")
        .build()
        .unwrap();
    let b = PartySocketOptions::builder("example.com")
        .room("r")
        .build()
        .unwrap();
    assert_ne!(a.id(), b.id());
    assert_eq!(a.id().len(), 36);
    assert!(a.socket_url(None).contains(&format!("_pk={}", a.id())));
}

#[test]
fn query_keeps_insertion_order_and_omits_absent_values() {
    let options = base("example.com")
        .id("me")
        .query(
            Query::new()
                .with("a", "1 2")
                .with_optional("skip", None::<String>)
                .with("c", "x&y")
                .with("d", ""),
        )
        .build()
        .unwrap();
    assert_eq!(
        options.socket_url(None),
        "wss://example.com/parties/main/my-room?_pk=me&a=1+2&c=x%26y&d="
    );
}

#[test]
fn room_url_has_no_query() {
    for query in [
        Query::new(),
        Query::new().with("foo", "bar"),
        Query::new().with_optional("n", None::<&str>),
    ] {
        let options = base("example.com").query(query).build().unwrap();
        assert_eq!(options.room_url(), "wss://example.com/parties/main/my-room");
    }
}

#[test]
fn pk_in_query_is_rejected_instead_of_duplicated() {
    // Upstream sends `?_pk=me&_pk=override`; servers read the first.
    let err = base("example.com")
        .query(Query::new().with("_pk", "override"))
        .build()
        .unwrap_err();
    assert_eq!(err, OptionsError::ReservedQueryKey);
}

#[test]
fn pk_from_a_provider_is_left_out() {
    let options = base("example.com").id("me").build().unwrap();
    let resolved = Query::new().with("_pk", "override").with("t", "1");
    assert_eq!(
        options.socket_url(Some(&resolved)),
        "wss://example.com/parties/main/my-room?_pk=me&t=1"
    );
}

#[test]
fn names_are_percent_encoded_where_upstream_sends_them_raw() {
    let options = PartySocketOptions::builder("example.com")
        .room("my room/é?x")
        .id("me")
        .disable_name_validation(true)
        .build()
        .unwrap();
    assert_eq!(
        options.room_url(),
        "wss://example.com/parties/main/my%20room%2F%C3%A9%3Fx"
    );
}

// ----- HTTP URLs (upstream's PartySocket.fetch) ---------------------------------------

fn http_url(builder: partysocket::PartySocketOptionsBuilder) -> String {
    builder.build().unwrap().http_url(None)
}

#[test]
fn fetch_constructs_http_url_correctly() {
    assert_eq!(
        http_url(base("example.com")),
        "https://example.com/parties/main/my-room?"
    );
    assert_eq!(
        http_url(base("example.com/")),
        "https://example.com/parties/main/my-room?"
    );
}

#[test]
fn fetch_uses_http_for_local_hosts() {
    assert!(http_url(base("localhost:1999")).starts_with("http://localhost:1999/"));
    assert!(http_url(base("127.0.0.1:1999")).starts_with("http://127.0.0.1:1999/"));
    assert!(http_url(base("192.168.1.1")).starts_with("http://192.168.1.1/"));
}

#[test]
fn fetch_includes_party_path_base_path_and_prefix() {
    assert!(
        http_url(base("example.com").party("custom-party"))
            .contains("/parties/custom-party/my-room")
    );
    assert!(
        http_url(base("example.com").path("subpath")).contains("/parties/main/my-room/subpath")
    );
    assert!(http_url(base("example.com").base_path("custom/base")).contains("/custom/base"));
    assert!(
        http_url(base("example.com").party("custom").prefix("rooms"))
            .contains("/rooms/custom/my-room")
    );
}

#[test]
fn fetch_includes_query_but_not_the_id() {
    let url = http_url(
        base("example.com").query(
            Query::new()
                .with("foo", "bar")
                .with("baz", "qux")
                .with_optional("gone", None::<&str>),
        ),
    );
    assert_eq!(
        url,
        "https://example.com/parties/main/my-room?foo=bar&baz=qux"
    );
    assert!(!url.contains("_pk"));
}

#[test]
fn fetch_with_provider_uses_the_resolved_query() {
    let options = base("example.com")
        .query(QueryProvider::new(|| async {
            Ok(Query::new().with("token", "abc123"))
        }))
        .build()
        .unwrap();
    assert!(matches!(options.query(), QuerySource::PerAttempt(_)));
    let resolved = Query::new().with("token", "abc123");
    assert!(options.http_url(Some(&resolved)).ends_with("?token=abc123"));
    assert!(options.http_url(None).ends_with('?'));
}

#[test]
fn fetch_can_override_protocol() {
    assert!(
        http_url(base("example.com").protocol(Protocol::Ws)).starts_with("http://example.com/")
    );
}

#[test]
fn fetch_and_socket_share_the_path() {
    let options = PartySocketOptions::builder("example.com")
        .room("test-room")
        .party("test-party")
        .path("test-path")
        .build()
        .unwrap();
    let after_scheme = |url: String| {
        let rest = url.split_once("://").unwrap().1.to_owned();
        rest.split('?').next().unwrap().to_owned()
    };
    assert_eq!(
        after_scheme(options.http_url(None)),
        after_scheme(options.socket_url(None))
    );
}

#[test]
fn default_ports_are_left_out_as_browsers_do() {
    let cases = [
        (
            "example.com:443",
            None,
            "wss://example.com/parties/main/my-room",
        ),
        (
            "example.com:80",
            Some(Protocol::Ws),
            "ws://example.com/parties/main/my-room",
        ),
        (
            "example.com:80",
            None,
            "wss://example.com:80/parties/main/my-room",
        ),
        ("localhost:80", None, "ws://localhost/parties/main/my-room"),
        (
            "localhost:443",
            Some(Protocol::Wss),
            "wss://localhost/parties/main/my-room",
        ),
        (
            "[::1]:443",
            Some(Protocol::Wss),
            "wss://[::1]/parties/main/my-room",
        ),
        ("[::1]:1999", None, "ws://[::1]:1999/parties/main/my-room"),
        (
            "example.com:0443",
            None,
            "wss://example.com/parties/main/my-room",
        ),
        (
            "example.com:08080",
            None,
            "wss://example.com:8080/parties/main/my-room",
        ),
    ];
    for (host, protocol, want) in cases {
        let mut builder = base(host);
        if let Some(protocol) = protocol {
            builder = builder.protocol(protocol);
        }
        let options = builder.build().expect("valid options");
        assert_eq!(options.room_url(), want, "host {host}");
        assert!(options.socket_url(None).starts_with(want), "host {host}");
    }
    let http = base("example.com:443").build().unwrap().http_url(None);
    assert_eq!(http, "https://example.com/parties/main/my-room?");
}

/// Found by fuzzing: hosts are written as a browser's URL parser writes them.
#[test]
fn ip_hosts_take_their_canonical_form() {
    let cases = [
        ("127.1:1999", "ws://127.0.0.1:1999/parties/main/my-room"),
        ("0x7f.0.0.1", "ws://127.0.0.1/parties/main/my-room"),
        ("2", "wss://0.0.0.2/parties/main/my-room"),
        ("[0:0::1]:1999", "ws://[::1]:1999/parties/main/my-room"),
        (
            "[::ffff:1.2.3.4]",
            "wss://[::ffff:102:304]/parties/main/my-room",
        ),
        (
            "[2001:DB8:0:0:1:0:0:1]",
            "wss://[2001:db8::1:0:0:1]/parties/main/my-room",
        ),
    ];
    for (host, want) in cases {
        assert_eq!(room_url(base(host)), want, "host {host}");
    }
    for host in ["1.2.3.256", "example.0", "a<b.com", "x^y", "1.2.3.4.5"] {
        let err = base(host).build().unwrap_err();
        assert!(
            matches!(err, OptionsError::InvalidHost { .. }),
            "{host}: {err:?}"
        );
    }
}

/// Found by fuzzing: `.` and `..` segments would be removed by URL parsers.
#[test]
fn dot_segments_in_paths_are_refused() {
    for builder in [
        base("example.com").prefix("a/../b"),
        base("example.com").path("."),
        base("example.com").base_path("x/./y"),
        base("example.com/.."),
    ] {
        assert!(matches!(
            builder.build(),
            Err(OptionsError::DotSegment { .. })
        ));
    }
}

// Full URLs (`PartySocketOptions::for_url`): any WebSocket server, no PartyKit rules.

fn full(url: &str) -> PartySocketOptions {
    PartySocketOptions::for_url(url)
        .id("test-id")
        .build()
        .expect("valid URL")
}

#[test]
fn full_url_is_used_as_given_without_room_path_or_pk() {
    let options = full("wss://stream.example.com/v1/feed?format=json");
    assert_eq!(options.room_url(), "wss://stream.example.com/v1/feed");
    assert_eq!(
        options.socket_url(None),
        "wss://stream.example.com/v1/feed?format=json"
    );
    assert_eq!(
        options.full_url().as_deref(),
        Some("wss://stream.example.com/v1/feed?format=json")
    );
    assert_eq!(options.host(), "stream.example.com");
    assert_eq!(options.protocol(), Protocol::Wss);
    assert_eq!(options.room(), None);
    assert_eq!(options.id(), "test-id");
}

#[test]
fn full_url_is_written_as_a_browser_writes_it() {
    for (input, expected) in [
        ("ws://localhost:1999", "ws://localhost:1999/"),
        ("WSS://Example.COM:443/Path", "wss://example.com/Path"),
        ("ws://example.com:80/", "ws://example.com/"),
        ("ws://127.1:8080/a", "ws://127.0.0.1:8080/a"),
        ("ws://[0:0::1]:9000/x", "ws://[::1]:9000/x"),
        ("wss://h/caf\u{e9}?q=\u{e9}", "wss://h/caf%C3%A9?q=%C3%A9"),
        ("wss://h/already%20encoded", "wss://h/already%20encoded"),
        ("wss://h/a?", "wss://h/a"),
        ("  wss://h/a  ", "wss://h/a"),
        ("wss://h/x?a=1&b", "wss://h/x?a=1&b"),
    ] {
        assert_eq!(full(input).socket_url(None), expected, "{input}");
    }
}

#[test]
fn full_url_appends_the_query_and_sends_pk_only_when_asked() {
    let options = PartySocketOptions::for_url("ws://localhost:1999/socket?v=2")
        .query(Query::new().with("token", "a b").with("_pk", "mine"))
        .build()
        .unwrap();
    assert_eq!(
        options.socket_url(None),
        "ws://localhost:1999/socket?v=2&token=a+b&_pk=mine"
    );
    assert_eq!(
        options.http_url(None),
        "http://localhost:1999/socket?v=2&token=a+b&_pk=mine"
    );
    let resolved = Query::new().with("token", "fresh");
    assert_eq!(
        options.socket_url(Some(&resolved)),
        "ws://localhost:1999/socket?v=2&token=fresh"
    );
    let plain = full("ws://localhost:1999/socket");
    let with_query = plain
        .to_builder()
        .query(Query::new().with("k", "v"))
        .build()
        .unwrap();
    assert_eq!(
        with_query.socket_url(None),
        "ws://localhost:1999/socket?k=v"
    );
}

#[test]
fn full_url_refuses_what_a_websocket_cannot_connect_to() {
    let cases = [
        ("", "empty"),
        ("example.com/socket", "no scheme"),
        ("https://example.com/socket", "not http:// or https://"),
        ("http://example.com/socket", "not http:// or https://"),
        ("ftp://example.com/socket", "must be ws:// or wss://"),
        ("wss://example.com/socket#part", "fragment"),
        ("wss://user:secret@example.com/", "credentials"),
        ("wss://exa mple.com/", "whitespace"),
        ("wss://example.com/a b", "whitespace"),
        ("wss://example.com\\socket", "backslash"),
        ("wss://example.com/a/../b", "`..`"),
        ("wss://example.com/a/%2E%2e/b", "`..`"),
        ("wss:///socket", "host is missing"),
        ("wss://h:99999/", "port"),
        ("wss://ex\u{e4}mple.com/", "punycode"),
    ];
    for (input, why) in cases {
        let err = PartySocketOptions::for_url(input).build().unwrap_err();
        assert!(
            matches!(err, OptionsError::InvalidUrl { .. }),
            "{input}: {err:?}"
        );
        assert!(err.to_string().contains(why), "{input}: {err}");
    }
}

#[test]
fn full_url_errors_do_not_show_query_values() {
    let err = PartySocketOptions::for_url("https://h/socket?token=secret")
        .build()
        .unwrap_err();
    assert!(!err.to_string().contains("secret"), "{err}");
    let debug = format!(
        "{:?}",
        PartySocketOptions::for_url("wss://h/socket?token=secret")
    );
    assert!(!debug.contains("secret"), "{debug}");
    let debug = format!("{:?}", full("wss://h/socket?token=secret"));
    assert!(!debug.contains("secret"), "{debug}");
}

#[test]
fn full_url_refuses_room_options() {
    let builder = || PartySocketOptions::for_url("wss://example.com/socket");
    for (what, result) in [
        ("room", builder().room("lobby").build()),
        ("party", builder().party("chat").build()),
        ("prefix", builder().prefix("rooms").build()),
        ("base_path", builder().base_path("x").build()),
        ("path", builder().path("x").build()),
        ("protocol", builder().protocol(Protocol::Ws).build()),
    ] {
        let err = result.unwrap_err();
        assert_eq!(err, OptionsError::RoomOptionWithUrl(what));
        assert!(err.to_string().starts_with(what), "{err}");
    }
    // The URL's own protocol, set again, is no conflict.
    assert!(builder().protocol(Protocol::Wss).build().is_ok());
}

#[test]
fn full_url_keeps_reconnect_options_and_round_trips() {
    let options = PartySocketOptions::for_url("ws://127.0.0.1:9/echo")
        .max_retries(3)
        .min_reconnection_delay(std::time::Duration::from_millis(10))
        .max_reconnection_delay(std::time::Duration::from_millis(100))
        .header("Authorization", "Bearer t")
        .protocols(["chat"])
        .build()
        .unwrap();
    assert_eq!(options.max_retries(), Some(3));
    assert_eq!(
        options.reconnection_delay(2),
        std::time::Duration::from_millis(13)
    );
    assert_eq!(options.protocols(), ["chat".to_owned()]);
    let again = options.to_builder().build().unwrap();
    assert_eq!(again.socket_url(None), "ws://127.0.0.1:9/echo");
    assert_eq!(again.id(), options.id());
}

#[test]
fn full_url_updates_replace_the_url_and_refuse_a_host() {
    use partysocket::OptionsUpdate;
    let options = full("wss://a.example.com/one");
    let moved = options
        .updated(OptionsUpdate::new().url("wss://b.example.com/two?x=1"))
        .unwrap();
    assert_eq!(moved.socket_url(None), "wss://b.example.com/two?x=1");
    assert_eq!(moved.id(), "test-id");
    assert_eq!(
        options
            .updated(OptionsUpdate::new().host("c.example.com"))
            .unwrap_err(),
        OptionsError::RoomOptionWithUrl("host")
    );
    assert_eq!(
        options
            .updated(OptionsUpdate::new().room("lobby"))
            .unwrap_err(),
        OptionsError::RoomOptionWithUrl("room")
    );
    // A room socket can move to a full URL: the room path goes.
    let room = base("example.com").party("chat").build().unwrap();
    let moved = room
        .updated(OptionsUpdate::new().url("ws://localhost:1999/raw"))
        .unwrap();
    assert_eq!(moved.socket_url(None), "ws://localhost:1999/raw");
    assert_eq!(moved.room(), None);
    assert_eq!(moved.party(), "main");
}

/// The URL cases the browser test `urls_and_url_errors_are_those_of_the_native_build`
/// repeats (the browser build canonicalizes IP hosts with the page's parser): hosts
/// with a port and a path, full URLs with a query, and their errors.
#[test]
fn hosts_with_paths_and_full_urls_with_queries() {
    let options = PartySocketOptions::builder("Example.COM:0443/base")
        .room("r")
        .build()
        .unwrap();
    assert_eq!(options.room_url(), "wss://example.com/base/parties/main/r");
    let options = PartySocketOptions::builder("127.1:1999/a\"b/{c}")
        .room("r")
        .build()
        .unwrap();
    assert_eq!(
        options.room_url(),
        "ws://127.0.0.1:1999/a%22b/%7Bc%7D/parties/main/r"
    );
    for (input, host, socket_url) in [
        (
            "wss://Example.COM:443/feed?x=%41&y=é",
            "example.com:443",
            "wss://example.com/feed?x=%41&y=%C3%A9",
        ),
        (
            "wss://127.1:1999/x?q",
            "127.0.0.1:1999",
            "wss://127.0.0.1:1999/x?q",
        ),
        ("wss://[0:0::1]:8443/", "[::1]:8443", "wss://[::1]:8443/"),
    ] {
        let options = PartySocketOptions::for_url(input).build().unwrap();
        assert_eq!(options.host(), host, "{input}");
        assert_eq!(options.socket_url(None), socket_url, "{input}");
        assert_eq!(options.protocol(), Protocol::Wss, "{input}");
    }
    for bad in [
        "http://example.com",
        "wss://a b",
        "wss://[::1",
        "wss://1.2.3.256/",
        "wss://h:99999/",
        "wss://user@h/",
        "wss://h/#x",
    ] {
        assert!(
            matches!(
                PartySocketOptions::for_url(bad).build(),
                Err(OptionsError::InvalidUrl { .. })
            ),
            "{bad}"
        );
    }
}
