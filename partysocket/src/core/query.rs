//! Query parameters: a static list, or a provider asked again on every attempt (for
//! the query, and natively for handshake headers too).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::error::HeaderError;
use super::options::validate_header;

/// Ordered query parameters. Entries whose value is `None` are left out of URLs, as
/// upstream drops `null`/`undefined` values.
///
/// `Debug` output keeps the keys and shows the values as `REDACTED`: query values often
/// carry tokens.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Query {
    entries: Vec<(String, Option<String>)>,
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries: Vec<(&str, Option<&str>)> = self
            .entries
            .iter()
            .map(|(key, value)| {
                (
                    key.as_str(),
                    value.as_ref().map(|_| super::redact::REDACTED),
                )
            })
            .collect();
        f.debug_struct("Query").field("entries", &entries).finish()
    }
}

impl Query {
    pub(crate) const EMPTY: Query = Query {
        entries: Vec::new(),
    };

    /// No parameters.
    pub fn new() -> Self {
        Query::default()
    }

    /// Appends `key=value`, keeping insertion order.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.entries.push((key.into(), Some(value.into())));
        self
    }

    /// Appends `key` with an optional value; `None` is left out of URLs.
    pub fn with_optional(
        mut self,
        key: impl Into<String>,
        value: Option<impl Into<String>>,
    ) -> Self {
        self.entries.push((key.into(), value.map(Into::into)));
        self
    }

    /// The entries that go into a URL, in order (values of `None` skipped).
    pub fn present(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .filter_map(|(key, value)| value.as_deref().map(|value| (key.as_str(), value)))
    }

    /// The value of the first entry named `key` that has a value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.present().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Whether no entry would appear in a URL.
    pub fn is_empty(&self) -> bool {
        self.present().next().is_none()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Query {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Query {
            entries: iter
                .into_iter()
                .map(|(key, value)| (key.into(), Some(value.into())))
                .collect(),
        }
    }
}

impl<K: Into<String>, V: Into<String>, const N: usize> From<[(K, V); N]> for Query {
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

/// What a provider gives for one connection attempt: query parameters, and handshake
/// headers (native drivers only) merged over the options' static headers for that
/// attempt alone.
///
/// `Debug` output keeps the keys and names and shows every value as `REDACTED`.
///
/// ```
/// use partysocket::{Credentials, Query};
///
/// let credentials = Credentials::new()
///     .with_query(Query::new().with("client", "web"))
///     .with_header("Authorization", "Bearer t0k3n");
/// assert_eq!(credentials.query().get("client"), Some("web"));
/// assert_eq!(credentials.headers()[0].0, "Authorization");
/// assert!(!format!("{credentials:?}").contains("t0k3n"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Credentials {
    query: Query,
    headers: Vec<(String, String)>,
    /// Why the first header that cannot be sent cannot, found when it was added (so
    /// the check is only in programs whose providers give headers).
    invalid_header: Option<HeaderError>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("query", &self.query)
            .field("headers", &super::redact::Headers(&self.headers))
            .finish()
    }
}

impl Credentials {
    /// No query parameters and no headers.
    pub fn new() -> Self {
        Credentials::default()
    }

    /// Sets the query parameters, merged over the options' static query (the provider's
    /// value wins for a key both have).
    pub fn with_query(mut self, query: Query) -> Self {
        self.query = query;
        self
    }

    /// Appends a handshake header for this attempt. It replaces a static header of the
    /// same name (compared ignoring ASCII case) and is checked like the options'
    /// headers: one that cannot be sent fails the attempt with
    /// [`TransportError::ProviderHeader`](crate::TransportError::ProviderHeader).
    /// Browsers cannot send headers: there any header fails the attempt.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        if self.invalid_header.is_none() {
            self.invalid_header = validate_header(&name, &value).err();
        }
        self.headers.push((name, value));
        self
    }

    /// Why the first of the headers that cannot be sent cannot, if one cannot.
    pub(crate) fn invalid_header(&self) -> Option<&HeaderError> {
        self.invalid_header.as_ref()
    }

    /// The query parameters.
    pub fn query(&self) -> &Query {
        &self.query
    }

    /// The handshake headers, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The query parameters and the headers, taken apart.
    pub fn into_parts(self) -> (Query, Vec<(String, String)>) {
        (self.query, self.headers)
    }
}

impl From<Query> for Credentials {
    fn from(query: Query) -> Self {
        Credentials::new().with_query(query)
    }
}

/// What a query provider's future yields: the query, or a message saying why not.
pub type QueryResult = Result<Query, String>;

/// What a credentials provider's future yields: the credentials, or a message saying
/// why not.
pub type CredentialsResult = Result<Credentials, String>;

/// The future [`QueryProvider::resolve`] returns (`Send` except in the browser).
#[cfg(not(target_arch = "wasm32"))]
pub type QueryFuture = Pin<Box<dyn Future<Output = QueryResult> + Send>>;
/// The future [`QueryProvider::resolve`] returns (`Send` except in the browser).
#[cfg(target_arch = "wasm32")]
pub type QueryFuture = Pin<Box<dyn Future<Output = QueryResult>>>;

/// The future [`QueryProvider::resolve_credentials`] returns (`Send` except in the
/// browser).
#[cfg(not(target_arch = "wasm32"))]
pub type CredentialsFuture = Pin<Box<dyn Future<Output = CredentialsResult> + Send>>;
/// The future [`QueryProvider::resolve_credentials`] returns (`Send` except in the
/// browser).
#[cfg(target_arch = "wasm32")]
pub type CredentialsFuture = Pin<Box<dyn Future<Output = CredentialsResult>>>;

#[cfg(not(target_arch = "wasm32"))]
type ProviderFn = dyn Fn() -> CredentialsFuture + Send + Sync;
#[cfg(target_arch = "wasm32")]
type ProviderFn = dyn Fn() -> CredentialsFuture;

/// A function asked for fresh query parameters (and, natively, handshake headers)
/// before every connection attempt: the hook for refreshing short-lived auth tokens.
///
/// Its future is bounded by `connection_timeout`; an error or a timeout fails that
/// attempt and the socket backs off and asks again.
#[derive(Clone)]
pub struct QueryProvider(Arc<ProviderFn>);

impl QueryProvider {
    /// Wraps an async function returning the query for the next attempt.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new<F, Fut>(provider: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = QueryResult> + Send + 'static,
    {
        QueryProvider(Arc::new(move || {
            let query = provider();
            Box::pin(async move { query.await.map(Credentials::from) }) as CredentialsFuture
        }))
    }

    /// Wraps an async function returning the query for the next attempt.
    #[cfg(target_arch = "wasm32")]
    pub fn new<F, Fut>(provider: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = QueryResult> + 'static,
    {
        QueryProvider(Arc::new(move || {
            let query = provider();
            Box::pin(async move { query.await.map(Credentials::from) }) as CredentialsFuture
        }))
    }

    /// Wraps an async function returning the query and the handshake headers for the
    /// next attempt, e.g. a fresh `Authorization` header.
    ///
    /// ```
    /// use partysocket::{Credentials, PartySocketOptions, QueryProvider};
    ///
    /// let provider = QueryProvider::with_credentials(|| async {
    ///     let token = "t0k3n"; // fetched or refreshed here
    ///     Ok(Credentials::new().with_header("Authorization", format!("Bearer {token}")))
    /// });
    /// let options = PartySocketOptions::builder("localhost:1999")
    ///     .room("lobby")
    ///     .query(provider)
    ///     .build()?;
    /// # Ok::<(), partysocket::OptionsError>(())
    /// ```
    #[cfg(not(target_arch = "wasm32"))]
    pub fn with_credentials<F, Fut>(provider: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = CredentialsResult> + Send + 'static,
    {
        QueryProvider(Arc::new(move || Box::pin(provider()) as CredentialsFuture))
    }

    /// Wraps an async function returning the query and the handshake headers for the
    /// next attempt (in the browser, any header fails the attempt).
    #[cfg(target_arch = "wasm32")]
    pub fn with_credentials<F, Fut>(provider: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = CredentialsResult> + 'static,
    {
        QueryProvider(Arc::new(move || Box::pin(provider()) as CredentialsFuture))
    }

    /// Starts resolving the credentials for one attempt.
    pub fn resolve_credentials(&self) -> CredentialsFuture {
        (self.0)()
    }

    /// Starts resolving one attempt's query alone (headers the provider gives are left
    /// out: use [`resolve_credentials`](Self::resolve_credentials) to keep them).
    pub fn resolve(&self) -> QueryFuture {
        let credentials = self.resolve_credentials();
        Box::pin(async move { credentials.await.map(|credentials| credentials.query) })
    }
}

impl fmt::Debug for QueryProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueryProvider(..)")
    }
}

/// Where a socket's query parameters come from.
#[derive(Debug, Clone)]
pub enum QuerySource {
    /// The same parameters on every attempt.
    Static(Query),
    /// Parameters asked for again before every attempt.
    PerAttempt(QueryProvider),
}

impl Default for QuerySource {
    fn default() -> Self {
        QuerySource::Static(Query::new())
    }
}

impl From<Query> for QuerySource {
    fn from(query: Query) -> Self {
        QuerySource::Static(query)
    }
}

impl From<QueryProvider> for QuerySource {
    fn from(provider: QueryProvider) -> Self {
        QuerySource::PerAttempt(provider)
    }
}
