//! Query parameters: a static list, or a provider asked again on every attempt.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

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

/// What a query provider's future yields: the query, or a message saying why not.
pub type QueryResult = Result<Query, String>;

/// The future a [`QueryProvider`] returns (`Send` except in the browser).
#[cfg(not(target_arch = "wasm32"))]
pub type QueryFuture = Pin<Box<dyn Future<Output = QueryResult> + Send>>;
/// The future a [`QueryProvider`] returns (`Send` except in the browser).
#[cfg(target_arch = "wasm32")]
pub type QueryFuture = Pin<Box<dyn Future<Output = QueryResult>>>;

#[cfg(not(target_arch = "wasm32"))]
type ProviderFn = dyn Fn() -> QueryFuture + Send + Sync;
#[cfg(target_arch = "wasm32")]
type ProviderFn = dyn Fn() -> QueryFuture;

/// A function asked for fresh query parameters before every connection attempt: the
/// hook for refreshing short-lived auth tokens.
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
        QueryProvider(Arc::new(move || Box::pin(provider()) as QueryFuture))
    }

    /// Wraps an async function returning the query for the next attempt.
    #[cfg(target_arch = "wasm32")]
    pub fn new<F, Fut>(provider: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = QueryResult> + 'static,
    {
        QueryProvider(Arc::new(move || Box::pin(provider()) as QueryFuture))
    }

    /// Starts resolving the query for one attempt.
    pub fn resolve(&self) -> QueryFuture {
        (self.0)()
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
