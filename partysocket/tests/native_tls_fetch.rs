//! wss against the TLS mock, and HTTP requests with the socket's URL rules.

#![cfg(feature = "tokio")]

mod net;

use net::{PATIENCE, is_open, mock, next_text, options, until};
use party_mock::{MockConfig, MockServer};
use partysocket::{
    Error, Event, PartySocket, PartySocketOptions, Protocol, Query, QueryProvider, TlsConfig,
    TransportError,
};
#[cfg(feature = "fetch")]
use partysocket::{FetchError, FetchInit};

async fn tls_mock() -> MockServer {
    MockServer::start(MockConfig {
        tls: true,
        ..MockConfig::default()
    })
    .await
    .expect("TLS mock starts")
}

fn trusting(server: &MockServer) -> TlsConfig {
    TlsConfig::builder()
        .add_root_certificate_pem(server.ca_pem().expect("a TLS server has a CA"))
        .unwrap()
        .build()
        .unwrap()
}

#[tokio::test]
async fn wss_against_the_tls_mock() {
    let server = tls_mock().await;
    let built = options(&server, "echo", "secure")
        .protocol(Protocol::Wss)
        .build()
        .unwrap();
    assert!(built.socket_url(None).starts_with("wss://"));
    let (socket, mut events) = PartySocket::connect_with(built, trusting(&server)).unwrap();
    until(&mut events, is_open).await;
    let _greeting = next_text(&mut events).await;
    let _ = socket.send("over tls").unwrap();
    assert_eq!(next_text(&mut events).await, "over tls");
}

#[tokio::test]
async fn wss_with_an_untrusted_certificate_fails_and_keeps_retrying() {
    let server = tls_mock().await;
    let built = options(&server, "echo", "untrusted")
        .protocol(Protocol::Wss)
        .build()
        .unwrap();
    let (_socket, mut events) = PartySocket::connect(built).unwrap();
    let (error, _) = until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert!(
        matches!(error, Event::Error(TransportError::Tls(_))),
        "{error:?}"
    );
    until(&mut events, |e| matches!(e, Event::Error(_))).await;
    assert!(
        server.attempts().is_empty(),
        "no handshake reached the server"
    );
}

#[test]
fn a_pem_without_certificates_is_a_typed_error() {
    let err = TlsConfig::builder()
        .add_root_certificate_pem("not a certificate")
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCertificate(_)));
}

#[cfg(feature = "fetch")]
#[tokio::test]
async fn fetch_get_and_post_on_the_main_party() {
    let server = mock().await;
    let room = options(&server, "main", "http").build().unwrap();
    let (listener, mut events) = PartySocket::connect(room.clone()).unwrap();
    listener.opened().await.unwrap();
    assert_eq!(next_text(&mut events).await, "Welcome to the party!");

    let response = PartySocket::fetch(&room, FetchInit::get()).await.unwrap();
    assert_eq!(response.status(), 200);
    let count: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(count, serde_json::json!({ "connections": 1 }));

    let response = PartySocket::fetch(&room, FetchInit::post(r#"{"hello":"room"}"#))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "Broadcasted");
    assert_eq!(next_text(&mut events).await, r#"{"hello":"room"}"#);

    let response = PartySocket::fetch(&room, FetchInit::get().method(partysocket::Method::PUT))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[cfg(feature = "fetch")]
#[tokio::test]
async fn fetch_uses_the_same_url_rules_without_the_id() {
    let server = mock().await;
    let provider = QueryProvider::new(|| async { Ok(Query::new().with("token", "abc123")) });
    let room = PartySocketOptions::builder(server.host())
        .room("rules")
        .path("sub")
        .id("never-sent")
        .query(provider)
        .header("Authorization", "Bearer x")
        .build()
        .unwrap();
    let response = PartySocket::fetch(&room, FetchInit::get().header("x-extra", "1"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let attempts = server.wait_for_attempts(1, PATIENCE).await.unwrap();
    let url = &attempts[0].url;
    assert!(
        url.ends_with("/parties/main/rules/sub?token=abc123"),
        "{url}"
    );
    assert!(!url.contains("_pk"));
    assert_eq!(attempts[0].header("authorization"), Some("Bearer x"));
    assert_eq!(attempts[0].header("x-extra"), Some("1"));
}

#[cfg(feature = "fetch")]
#[tokio::test]
async fn fetch_propagates_query_provider_errors() {
    let provider = QueryProvider::new(|| async { Err("Query generation failed".to_owned()) });
    let room = PartySocketOptions::builder("127.0.0.1:9")
        .room("r")
        .query(provider)
        .build()
        .unwrap();
    let err = PartySocket::fetch(&room, FetchInit::get())
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::QueryProvider(ref m) if m == "Query generation failed"));
}

#[cfg(feature = "fetch")]
#[tokio::test]
async fn fetch_over_https_with_a_trusted_certificate() {
    let server = tls_mock().await;
    let room = options(&server, "main", "https")
        .protocol(Protocol::Wss)
        .build()
        .unwrap();
    let response = PartySocket::fetch_with(&room, FetchInit::get(), &trusting(&server))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.url().as_str().starts_with("https://"));
}

#[cfg(feature = "fetch")]
#[tokio::test]
async fn fetch_propagates_network_errors() {
    // Bind and release a port, so nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let room = PartySocketOptions::builder(format!("127.0.0.1:{port}"))
        .room("r")
        .build()
        .unwrap();
    let err = PartySocket::fetch(&room, FetchInit::get())
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Request(ref e) if e.is_connect()),
        "{err:?}"
    );
}
