//! HTTP requests to a room, with the same URL rules as the socket (upstream's
//! `PartySocket.fetch`).

use std::sync::OnceLock;
use std::time::Duration;

use super::PartySocket;
use super::tls::TlsConfig;
use crate::{PartySocketOptions, QuerySource};

/// The answer to [`PartySocket::fetch`]: status, headers and body.
pub type FetchResponse = reqwest::Response;

/// Why a request could not be made or answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The per-attempt query provider failed.
    #[error("query provider failed: {0}")]
    QueryProvider(String),
    /// The query provider did not answer within the connection timeout.
    #[error("query provider did not answer within {0:?}")]
    QueryTimeout(Duration),
    /// The TLS configuration could not be built.
    #[error(transparent)]
    Tls(#[from] crate::Error),
    /// The request failed: network, TLS, or an invalid header.
    #[error(transparent)]
    Request(#[from] reqwest::Error),
}

/// What to send: upstream's `RequestInit`. Defaults to a bodyless `GET`.
#[derive(Debug, Clone)]
#[must_use]
pub struct FetchInit {
    method: reqwest::Method,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Default for FetchInit {
    fn default() -> Self {
        FetchInit::get()
    }
}

impl FetchInit {
    /// A `GET` request.
    pub fn get() -> Self {
        FetchInit {
            method: reqwest::Method::GET,
            headers: Vec::new(),
            body: None,
        }
    }

    /// A `POST` request carrying `body`.
    pub fn post(body: impl Into<Vec<u8>>) -> Self {
        FetchInit::get().method(reqwest::Method::POST).body(body)
    }

    /// Sets the method.
    pub fn method(mut self, method: reqwest::Method) -> Self {
        self.method = method;
        self
    }

    /// Adds a header (after the options' handshake headers, so it can add to them).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets a JSON body and its `Content-Type`.
    ///
    /// # Errors
    ///
    /// When `value` cannot be serialized.
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Self, serde_json::Error> {
        let body = serde_json::to_vec(value)?;
        Ok(self.header("content-type", "application/json").body(body))
    }
}

/// The client `fetch` shares across calls (connection pooling, one TLS setup).
fn default_client() -> Result<reqwest::Client, FetchError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let client = build_client(&TlsConfig::webpki_roots()?)?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

fn build_client(tls: &TlsConfig) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .use_preconfigured_tls((*tls.rustls()).clone())
        .build()
}

impl PartySocket {
    /// Makes an HTTP request to the room the options describe: `http(s)://host/
    /// parties/party/room[/path]?query`, without `_pk`, with `http` for local and
    /// private hosts as for sockets. A per-attempt query provider is asked once, within
    /// the connection timeout; the options' headers (e.g. `Authorization`) are sent,
    /// with the provider's headers replacing those of the same name.
    ///
    /// ```no_run
    /// use partysocket::{FetchInit, PartySocket, PartySocketOptions};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let options = PartySocketOptions::builder("localhost:1999").room("lobby").build()?;
    /// let response = PartySocket::fetch(&options, FetchInit::get()).await?;
    /// println!("{}", response.text().await?);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`FetchError`] when the query provider fails or times out, or the request fails.
    /// An HTTP error status is not an error: check the response.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is shared with other calls.
    pub async fn fetch(
        options: &PartySocketOptions,
        init: FetchInit,
    ) -> Result<FetchResponse, FetchError> {
        send(options, init, default_client()?).await
    }

    /// Like [`fetch`](Self::fetch), with the given TLS configuration (a new HTTP client
    /// per call).
    ///
    /// # Errors
    ///
    /// As [`fetch`](Self::fetch).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn fetch_with(
        options: &PartySocketOptions,
        init: FetchInit,
        tls: &TlsConfig,
    ) -> Result<FetchResponse, FetchError> {
        send(options, init, build_client(tls)?).await
    }
}

async fn send(
    options: &PartySocketOptions,
    init: FetchInit,
    client: reqwest::Client,
) -> Result<FetchResponse, FetchError> {
    let (resolved, provided) = match options.query() {
        QuerySource::Static(_) => (None, Vec::new()),
        QuerySource::PerAttempt(provider) => {
            let limit = options.connection_timeout();
            let (query, headers) = tokio::time::timeout(limit, provider.resolve_credentials())
                .await
                .map_err(|_| FetchError::QueryTimeout(limit))?
                .map_err(FetchError::QueryProvider)?
                .into_parts();
            (Some(query), headers)
        }
    };
    let url = options.http_url(resolved.as_ref());
    let mut request = client.request(init.method, url);
    // The provider's headers replace static ones of the same name, as on the socket.
    let fixed = options
        .headers()
        .iter()
        .filter(|(name, _)| !provided.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)));
    for (name, value) in fixed.chain(&provided).chain(&init.headers) {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(body) = init.body {
        request = request.body(body);
    }
    Ok(request.send().await?)
}
