//! The credentials provider from Rust: a fresh token and `Authorization` header on
//! every attempt (in the mock's attempt log), a 401 recovered from without application
//! code, a provider that fails one attempt, and one that gives a header that cannot be
//! sent.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use party_mock::{AttemptKind, MockConfig, MockServer};
use partysocket_ffi::{
    AsyncCredentialsProvider, ConnectionState, Credentials, CredentialsProvider, Event,
    PartySocket, ProviderError, SocketFailure,
};

mod common;
use common::options;

/// token-1, token-2, ...; fails the attempts whose number is in `failing`.
struct Tokens {
    issued: AtomicUsize,
    failing: Vec<usize>,
}

impl CredentialsProvider for Tokens {
    fn credentials(&self) -> Result<Credentials, ProviderError> {
        let attempt = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        if self.failing.contains(&attempt) {
            return Err(ProviderError::Failed {
                reason: "token service down".to_owned(),
            });
        }
        Ok(Credentials {
            query: HashMap::from([("token".to_owned(), format!("token-{attempt}"))]),
            headers: HashMap::from([(
                "Authorization".to_owned(),
                format!("Bearer header-{attempt}"),
            )]),
        })
    }
}

fn authorization_in_log(server: &MockServer) -> Vec<Vec<String>> {
    server
        .attempts()
        .into_iter()
        .filter(|attempt| attempt.kind == AttemptKind::WebSocket)
        .map(|attempt| {
            attempt
                .headers
                .iter()
                .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
                .map(|(_, value)| value.clone())
                .collect()
        })
        .collect()
}

fn tokens_in_log(server: &MockServer) -> Vec<String> {
    server
        .attempts()
        .into_iter()
        .filter(|attempt| attempt.kind == AttemptKind::WebSocket)
        .filter_map(|attempt| {
            let query = attempt.url.split_once('?')?.1.to_owned();
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("token=").map(str::to_owned))
        })
        .collect()
}

async fn next(socket: &PartySocket, what: &str, matches: impl Fn(&Event) -> bool) -> Event {
    let wait = async {
        while let Some(event) = socket.next_event().await.unwrap() {
            if matches(&event) {
                return event;
            }
        }
        panic!("the events ended before {what}");
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("no {what} within 10 s"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_per_attempt_and_a_401_recovered_from() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let mut opts = options(server.host(), "credentials");
    opts.query = HashMap::from([
        ("client".to_owned(), "rust".to_owned()),
        ("token".to_owned(), "static".to_owned()),
    ]);
    opts.headers = HashMap::from([
        ("authorization".to_owned(), "Bearer static".to_owned()),
        ("X-Client".to_owned(), "rust".to_owned()),
    ]);
    opts.min_reconnection_delay_ms = 100;
    opts.max_reconnection_delay_ms = 200;
    let tokens = Arc::new(Tokens {
        issued: AtomicUsize::new(0),
        failing: Vec::new(),
    });
    let socket = PartySocket::new(opts, None, Some(tokens)).unwrap();

    let Event::Open { url, .. } =
        next(&socket, "the open", |e| matches!(e, Event::Open { .. })).await
    else {
        unreachable!()
    };
    assert!(url.contains("client=rust&token=token-1"), "{url}");

    server.refuse_next(1, 401, None);
    socket.reconnect().unwrap();
    let Event::Error { error, .. } =
        next(&socket, "the 401", |e| matches!(e, Event::Error { .. })).await
    else {
        unreachable!()
    };
    assert_eq!(
        error,
        SocketFailure::HandshakeRejected {
            status: 401,
            retry_after_ms: None
        }
    );
    let Event::Open { url, .. } =
        next(&socket, "the reopen", |e| matches!(e, Event::Open { .. })).await
    else {
        unreachable!()
    };
    assert!(url.contains("token=token-3"), "{url}");
    assert_eq!(socket.connection_state(), ConnectionState::Open);
    server
        .wait_for_attempts(3, Duration::from_secs(10))
        .await
        .expect("the attempts were not logged");
    assert_eq!(tokens_in_log(&server), ["token-1", "token-2", "token-3"]);
    // The provider's header replaced the static one of the same name on every attempt.
    assert_eq!(
        authorization_in_log(&server),
        [
            ["Bearer header-1"],
            ["Bearer header-2"],
            ["Bearer header-3"]
        ]
    );
    assert!(
        server
            .attempts()
            .iter()
            .all(|attempt| attempt.header("x-client") == Some("rust"))
    );
    socket.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_provider_fails_the_attempt_and_is_asked_again() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let mut opts = options(server.host(), "credentials-failing");
    opts.min_reconnection_delay_ms = 100;
    opts.max_reconnection_delay_ms = 200;
    let tokens = Arc::new(Tokens {
        issued: AtomicUsize::new(0),
        failing: vec![1],
    });
    let socket = PartySocket::new(opts, None, Some(tokens)).unwrap();
    let Event::Error { description, .. } = next(&socket, "the failed attempt", |e| {
        matches!(e, Event::Error { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert!(description.contains("token service down"), "{description}");
    let Event::Open { url, .. } =
        next(&socket, "the open", |e| matches!(e, Event::Open { .. })).await
    else {
        unreachable!()
    };
    assert!(url.contains("token=token-2"), "{url}");
    // The failed attempt never reached the server.
    server
        .wait_for_attempts(1, Duration::from_secs(10))
        .await
        .expect("the attempt was not logged");
    assert_eq!(tokens_in_log(&server), ["token-2"]);
    socket.close().unwrap();
}

/// Gives a header with a line break once, then a good one.
struct Injecting {
    calls: AtomicUsize,
}

impl CredentialsProvider for Injecting {
    fn credentials(&self) -> Result<Credentials, ProviderError> {
        let first = self.calls.fetch_add(1, Ordering::SeqCst) == 0;
        let value = if first {
            "Bearer a\r\nX-Evil: 1"
        } else {
            "Bearer ok"
        };
        Ok(Credentials {
            query: HashMap::new(),
            headers: HashMap::from([("Authorization".to_owned(), value.to_owned())]),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_that_cannot_be_sent_fails_the_attempt_naming_it() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let mut opts = options(server.host(), "credentials-header");
    opts.min_reconnection_delay_ms = 100;
    opts.max_reconnection_delay_ms = 200;
    let provider = Arc::new(Injecting {
        calls: AtomicUsize::new(0),
    });
    let socket = PartySocket::new(opts, None, Some(provider)).unwrap();
    let Event::Error { error, description } = next(&socket, "the refused header", |e| {
        matches!(e, Event::Error { .. })
    })
    .await
    else {
        unreachable!()
    };
    let SocketFailure::InvalidHeader { name, message } = error else {
        panic!("expected InvalidHeader, got {error:?}");
    };
    assert_eq!(name, "Authorization");
    assert!(message.contains("control characters"), "{message}");
    assert_eq!(description, message);
    next(&socket, "the open", |e| matches!(e, Event::Open { .. })).await;
    server
        .wait_for_attempts(1, Duration::from_secs(10))
        .await
        .expect("the attempt was not logged");
    assert_eq!(authorization_in_log(&server), [["Bearer ok"]]);
    socket.close().unwrap();
}

/// An async provider that waits before answering: fails its first call, then hands out
/// header-2, header-3, ...
struct SlowTokens {
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl AsyncCredentialsProvider for SlowTokens {
    async fn credentials(&self) -> Result<Credentials, ProviderError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
        if call == 1 {
            return Err(ProviderError::Failed {
                reason: "token service down".to_owned(),
            });
        }
        Ok(Credentials {
            query: HashMap::new(),
            headers: HashMap::from([("Authorization".to_owned(), format!("Bearer header-{call}"))]),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_provider_is_awaited_per_attempt_and_its_failure_retried() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let mut opts = options(server.host(), "credentials-async");
    opts.min_reconnection_delay_ms = 100;
    opts.max_reconnection_delay_ms = 200;
    let provider = Arc::new(SlowTokens {
        calls: AtomicUsize::new(0),
    });
    let socket = PartySocket::with_async_credentials(opts, provider.clone(), None).unwrap();
    let Event::Error { description, .. } = next(&socket, "the failed attempt", |e| {
        matches!(e, Event::Error { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert!(description.contains("token service down"), "{description}");
    next(&socket, "the open", |e| matches!(e, Event::Open { .. })).await;
    socket.reconnect().unwrap();
    next(&socket, "the reopen", |e| matches!(e, Event::Open { .. })).await;
    server
        .wait_for_attempts(2, Duration::from_secs(10))
        .await
        .expect("the attempts were not logged");
    assert_eq!(
        authorization_in_log(&server),
        [["Bearer header-2"], ["Bearer header-3"]]
    );
    assert_eq!(provider.calls.load(Ordering::SeqCst), 3);
    socket.close().unwrap();
}
