//! Per-attempt credentials in the sans-IO machine: a provider's headers merged over the
//! static ones for one attempt, checked like static headers, and refused where the
//! driver cannot send headers (a browser).

mod support;

use partysocket::{
    ConnectionState, Credentials, Event, HeaderError, Query, QueryProvider, TransportError,
};
use support::{Harness, ms, options};

fn provider() -> QueryProvider {
    QueryProvider::with_credentials(|| async { Ok(Credentials::new()) })
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

#[test]
fn provider_headers_replace_static_ones_for_that_attempt_only() {
    let mut h = Harness::new(
        options("example.com")
            .header("authorization", "Bearer static")
            .header("x-client", "rust")
            .query(provider())
            .min_reconnection_delay(ms(10)),
    );
    h.resolve_credentials(Ok(Credentials::new()
        .with_query(Query::new().with("v", "1"))
        .with_header("Authorization", "Bearer t1")));
    h.refuse();
    h.advance(ms(10));
    // The second answer has no header: the static one is back.
    h.resolve_credentials(Ok(Credentials::new()));
    h.refuse();
    h.advance(ms(20));
    h.resolve_credentials(Ok(
        Credentials::new().with_header("Authorization", "Bearer t3")
    ));
    let connects = h.connects();
    assert_eq!(connects.len(), 3);
    assert_eq!(header(&connects[0].headers, "authorization"), ["Bearer t1"]);
    assert_eq!(header(&connects[0].headers, "x-client"), ["rust"]);
    assert!(connects[0].url.ends_with("&v=1"), "{}", connects[0].url);
    assert_eq!(
        header(&connects[1].headers, "authorization"),
        ["Bearer static"]
    );
    assert!(!connects[1].url.contains("v=1"), "{}", connects[1].url);
    assert_eq!(header(&connects[2].headers, "authorization"), ["Bearer t3"]);
    // The options themselves are unchanged.
    assert_eq!(
        h.machine.options().headers()[0],
        ("authorization".to_owned(), "Bearer static".to_owned())
    );
}

#[test]
fn an_invalid_provider_header_fails_the_attempt_naming_it() {
    let mut h = Harness::new(
        options("example.com")
            .query(provider())
            .min_reconnection_delay(ms(10)),
    );
    h.resolve_credentials(Ok(
        Credentials::new().with_header("Authorization", "Bearer a\r\nInjected: yes")
    ));
    assert_eq!(h.connect_count(), 0);
    let errors: Vec<&Event> = h.plain_events();
    let [Event::Error(TransportError::ProviderHeader(error))] = errors.as_slice() else {
        panic!("expected one provider-header error: {errors:?}");
    };
    assert!(
        matches!(error, HeaderError::Invalid { name, character: Some('\r'), .. } if name == "Authorization"),
        "{error:?}"
    );
    assert!(error.to_string().contains("control characters"), "{error}");
    assert!(matches!(h.state(), ConnectionState::BackingOff { .. }));
    // The socket asks again after the backoff, and a good answer connects.
    h.advance(ms(10));
    h.resolve_credentials(Ok(
        Credentials::new().with_header("Authorization", "Bearer b")
    ));
    assert_eq!(h.connect_count(), 1);
}

#[test]
fn provider_headers_the_socket_sets_itself_are_refused() {
    let mut h = Harness::new(options("example.com").query(provider()));
    h.resolve_credentials(Ok(Credentials::new().with_header("Sec-WebSocket-Key", "x")));
    assert_eq!(h.connect_count(), 0);
    assert!(h.plain_events().iter().any(|event| matches!(
        event,
        Event::Error(TransportError::ProviderHeader(HeaderError::Invalid { name, .. }))
            if name == "Sec-WebSocket-Key"
    )));
}

#[test]
fn a_driver_without_headers_refuses_provider_headers_with_a_typed_error() {
    let mut h = Harness::new(options("example.com").query(provider()));
    h.machine.refuse_headers();
    h.resolve_credentials(Ok(Credentials::new()
        .with_query(Query::new().with("token", "t"))
        .with_header("Authorization", "Bearer t")));
    assert_eq!(h.connect_count(), 0);
    assert_eq!(
        h.plain_events(),
        [&Event::Error(TransportError::ProviderHeader(
            HeaderError::InBrowser("Authorization".into())
        ))]
    );
    // The query alone is fine there.
    h.clear();
    h.advance(h.machine.poll_timeout().map_or(ms(0), |at| at - h.now));
    h.resolve_credentials(Ok(Credentials::from(Query::new().with("token", "t"))));
    assert_eq!(h.connect_count(), 1);
    assert!(h.connects()[0].headers.is_empty());
}

#[test]
fn a_query_provider_still_works_and_resolve_keeps_the_query() {
    let plain = QueryProvider::new(|| async { Ok(Query::new().with("token", "q")) });
    let answer = ready_now(plain.resolve_credentials()).expect("query");
    assert_eq!(answer.query().get("token"), Some("q"));
    assert!(answer.headers().is_empty());
    let with_headers = QueryProvider::with_credentials(|| async {
        Ok(Credentials::from(Query::new().with("token", "c")).with_header("Authorization", "x"))
    });
    let query = ready_now(with_headers.resolve()).expect("query");
    assert_eq!(query.get("token"), Some("c"));
}

#[test]
fn credentials_debug_redacts_values() {
    let credentials = Credentials::from(Query::new().with("token", "s3cret"))
        .with_header("Authorization", "Bearer s3cret");
    let shown = format!("{credentials:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(
        shown.contains("Authorization") && shown.contains("token"),
        "{shown}"
    );
}

/// Polls a future that is ready at once (the providers above never wait).
fn ready_now<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("the provider's future waited"),
    }
}

#[test]
fn the_first_invalid_provider_header_is_the_one_reported() {
    let mut h = Harness::new(options("example.com").query(provider()));
    h.resolve_credentials(Ok(Credentials::new()
        .with_header("X-Ok", "fine")
        .with_header("Host", "x")
        .with_header("Bad Name", "y")));
    assert_eq!(h.connect_count(), 0);
    assert!(
        h.plain_events().iter().any(|event| matches!(
            event,
            Event::Error(TransportError::ProviderHeader(HeaderError::Invalid { name, .. }))
                if name == "Host"
        )),
        "{:?}",
        h.plain_events()
    );
}
