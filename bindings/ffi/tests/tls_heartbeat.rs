//! Root certificates for a development server's CA, and the application-level heartbeat.

use std::time::Duration;

use party_mock::{MockConfig, MockServer};
use partysocket_ffi::{Event, Heartbeat, Message, PartySocket, PartySocketError, Protocol};

mod common;
use common::options;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_development_ca_given_as_pem_is_trusted() {
    let server = MockServer::start(MockConfig {
        tls: true,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let pem = server.ca_pem().expect("a TLS mock has a CA").to_owned();

    // Without the CA the handshake fails: the bundled roots do not know it.
    let mut untrusted = options(server.host(), "tls");
    untrusted.protocol = Some(Protocol::Wss);
    untrusted.max_retries = Some(0);
    let socket = PartySocket::new(untrusted.clone(), None, None).unwrap();
    assert!(
        tokio::time::timeout(Duration::from_secs(10), socket.opened())
            .await
            .expect("the untrusted attempt did not end")
            .is_err()
    );

    let mut trusted = untrusted;
    trusted.max_retries = None;
    trusted.root_certificates_pem = vec![pem];
    let socket = PartySocket::new(trusted, None, None).unwrap();
    tokio::time::timeout(Duration::from_secs(10), socket.opened())
        .await
        .expect("no open within 10 s")
        .unwrap();
    assert!(socket.url().unwrap().starts_with("wss://"));
    socket.close().unwrap();
}

#[test]
fn a_pem_without_a_certificate_names_the_option() {
    let mut bad = options("127.0.0.1:1".to_owned(), "tls");
    bad.root_certificates_pem = vec!["/etc/ssl/dev-ca.pem".to_owned()];
    let Err(PartySocketError::InvalidOptions(message)) = PartySocket::new(bad, None, None) else {
        panic!("a path instead of PEM text was accepted");
    };
    assert!(message.contains("root_certificates_pem[0]"), "{message}");
}

#[test]
fn a_pong_without_a_ping_is_refused() {
    let mut bad = options("127.0.0.1:1".to_owned(), "heartbeat");
    bad.heartbeat = Some(Heartbeat {
        interval_ms: 100,
        timeout_ms: 100,
        ping: None,
        pong: Some(Message::Text {
            text: "pong".to_owned(),
        }),
    });
    let Err(PartySocketError::InvalidOptions(message)) = PartySocket::new(bad, None, None) else {
        panic!("a pong without a ping was accepted");
    };
    assert!(message.contains("heartbeat.pong"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_pings_are_answered_and_the_answers_not_delivered() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let mut opts = options(server.host(), "heartbeat");
    // The echo party answers `hb` with `hb`.
    let hb = Message::Text {
        text: "hb".to_owned(),
    };
    opts.heartbeat = Some(Heartbeat {
        interval_ms: 100,
        timeout_ms: 400,
        ping: Some(hb.clone()),
        pong: Some(hb),
    });
    let socket = PartySocket::new(opts, None, None).unwrap();
    socket.opened().await.unwrap();
    // A second of quiet: about ten pings, each answered.
    let quiet = tokio::time::timeout(Duration::from_millis(1000), async {
        loop {
            match socket.next_event().await.unwrap() {
                Some(Event::Message { message })
                    if message
                        == Message::Text {
                            text: "hb".to_owned(),
                        } =>
                {
                    return "a pong was delivered".to_owned();
                }
                Some(Event::Close { .. }) => return "the connection closed".to_owned(),
                Some(Event::Error { description, .. }) => return description,
                Some(_) => {}
                None => return "the events ended".to_owned(),
            }
        }
    })
    .await;
    if let Ok(what) = quiet {
        panic!("{what}");
    }
    let pings = server.received("echo", "heartbeat").len();
    assert!(pings >= 3, "the server received {pings} pings in a second");
    socket.close().unwrap();
}
