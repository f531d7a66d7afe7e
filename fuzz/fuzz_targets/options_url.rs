//! Arbitrary option values: building never panics; valid options give URLs that are
//! already in the form a browser sends, with `_pk` exactly once and the query after it.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use partysocket::{PartySocketOptions, Protocol, Query};

fn build(u: &mut Unstructured<'_>) -> Result<()> {
    let mut builder = PartySocketOptions::builder(u.arbitrary::<String>()?);
    if u.arbitrary()? {
        builder = builder.room(u.arbitrary::<String>()?);
    }
    if u.arbitrary()? {
        builder = builder.party(u.arbitrary::<String>()?);
    }
    if u.arbitrary()? {
        builder = builder.prefix(u.arbitrary::<String>()?);
    }
    if u.arbitrary()? {
        builder = builder.base_path(u.arbitrary::<String>()?);
    }
    if u.arbitrary()? {
        builder = builder.path(u.arbitrary::<String>()?);
    }
    if u.arbitrary()? {
        builder = builder.id(u.arbitrary::<String>()?);
    }
    if u.arbitrary()? {
        builder = builder.protocol(if u.arbitrary()? {
            Protocol::Ws
        } else {
            Protocol::Wss
        });
    }
    let pairs: Vec<(String, String)> = u.arbitrary()?;
    builder = builder.query(pairs.into_iter().collect::<Query>());
    builder = builder
        .min_reconnection_delay(Duration::from_millis(u.arbitrary()?))
        .max_reconnection_delay(Duration::from_millis(u.arbitrary()?))
        .reconnection_delay_grow_factor(u.arbitrary()?)
        .jitter(u.arbitrary()?)
        .connection_timeout(Duration::from_nanos(u.arbitrary()?))
        .disable_name_validation(true);
    let Ok(options) = builder.build() else {
        return Ok(());
    };
    let socket_url = options.socket_url(None);
    let parsed = url::Url::parse(&socket_url)
        .unwrap_or_else(|err| panic!("{socket_url:?} does not parse: {err}"));
    assert_eq!(
        parsed.as_str(),
        socket_url,
        "already serialized as WHATWG does"
    );
    let pk: Vec<_> = parsed
        .query_pairs()
        .filter(|(key, _)| key == "_pk")
        .collect();
    assert_eq!(pk.len(), 1, "_pk exactly once");
    assert_eq!(pk[0].1, options.id());
    assert_eq!(
        parsed.query_pairs().next().map(|(key, _)| key.into_owned()),
        Some("_pk".to_owned()),
        "_pk first"
    );
    let room_url = url::Url::parse(&options.room_url()).expect("the room URL parses");
    assert_eq!(room_url.query(), None);
    let http = options.http_url(None);
    url::Url::parse(&http).expect("the HTTP URL parses");
    for retry in [0, 1, 2, 50, u32::MAX] {
        assert!(options.reconnection_delay(retry) <= options_max_delay(&options));
    }
    Ok(())
}

fn options_max_delay(options: &PartySocketOptions) -> Duration {
    // The schedule's cap: the delay after very many attempts.
    options.reconnection_delay(u32::MAX)
}

fuzz_target!(|data: &[u8]| {
    let _ = build(&mut Unstructured::new(data));
});
