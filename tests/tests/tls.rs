//! TLS: wss and https with a certificate generated at start, trusted through its CA.

mod support;

use std::sync::Arc;

use party_mock::{MockConfig, MockServer};
use rustls_pki_types::ServerName;
use support::{Seen, WAIT, next, next_json, send_text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::Connector;

fn client_config(server: &MockServer) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(server.ca_der().expect("a TLS server has a CA"))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

async fn tls_server() -> MockServer {
    MockServer::start(MockConfig {
        tls: true,
        ..MockConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn wss_works_for_a_client_that_trusts_the_ca() {
    let server = tls_server().await;
    assert!(server.is_tls());
    for host in ["127.0.0.1", "localhost"] {
        let url = format!(
            "wss://{host}:{}/parties/echo/secure?_pk=s",
            server.addr().port()
        );
        let connector = Connector::Rustls(client_config(&server));
        let (mut socket, _) = tokio::time::timeout(
            WAIT,
            tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(connector)),
        )
        .await
        .unwrap()
        .unwrap_or_else(|err| panic!("wss to {host}: {err}"));
        let hello = next_json(&mut socket).await;
        assert_eq!(hello["id"], "s");
        assert!(
            hello["url"].as_str().unwrap().starts_with("https://"),
            "{hello}"
        );
        send_text(&mut socket, "sealed").await;
        assert_eq!(next(&mut socket).await, Seen::Text("sealed".into()));
    }
}

#[tokio::test]
async fn https_answers_and_untrusting_clients_are_refused() {
    let server = tls_server().await;
    let connector = TlsConnector::from(client_config(&server));
    let tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"GET /parties/main/r HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(WAIT, tls.read_to_end(&mut bytes))
        .await
        .unwrap();
    let answer = support::parse_answer(&bytes);
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, r#"{"connections":0}"#)
    );

    // A client with an empty trust store fails the handshake; the server carries on.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let untrusting = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    assert!(
        TlsConnector::from(Arc::new(untrusting))
            .connect(name, tcp)
            .await
            .is_err()
    );
    assert!(server.is_listening());
}

#[tokio::test]
async fn the_ca_is_written_to_a_file_and_exposed_as_pem() {
    let dir = std::env::temp_dir().join(format!("party-mock-test-{}", std::process::id()));
    let server = MockServer::start(MockConfig {
        tls: true,
        cert_dir: Some(dir.clone()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let path = server.ca_cert_path().unwrap().to_owned();
    assert_eq!(path, dir.join("ca.pem"));
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, server.ca_pem().unwrap());
    assert!(written.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(server.ws_url("/x").starts_with("wss://"));
    assert!(server.http_url("/x").starts_with("https://"));
    drop(server);
    let _ = std::fs::remove_dir_all(dir);

    let plain = support::server().await;
    assert!(plain.ca_pem().is_none() && plain.ca_cert_path().is_none());
}
