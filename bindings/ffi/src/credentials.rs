//! The per-attempt credentials provider: a foreign callback asked for the query
//! parameters and handshake headers before every connection attempt, so a short-lived
//! token is fresh on every reconnect.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::lifecycle;
use crate::socket::panic_message;

/// What a [`CredentialsProvider`] gives for one connection attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct Credentials {
    /// Query parameters, merged over the options' static `query` (the provider's value
    /// wins for a key both have).
    #[uniffi(default)]
    pub query: HashMap<String, String>,
    /// Handshake headers such as `Authorization`, sent in name order. Each replaces a
    /// static header of the same name (ignoring ASCII case) for this attempt only. One
    /// that cannot be sent fails the attempt with [`SocketFailure::InvalidHeader`]
    /// naming it.
    ///
    /// [`SocketFailure::InvalidHeader`]: crate::SocketFailure::InvalidHeader
    #[uniffi(default)]
    pub headers: HashMap<String, String>,
}

/// Gives the query parameters and handshake headers for each connection attempt (a
/// token, a signature, an `Authorization` header): the hook for credentials that
/// expire. Asked before every attempt, on a thread of the SDK's blocking pool (so a
/// slow answer delays only that socket's attempt), bounded by `connection_timeout_ms`.
/// What it throws (or a timeout) fails that attempt; the socket backs off and asks
/// again.
///
/// The connection id `_pk` is added to the query as always. With a provider and no
/// `failure_policy`, a 401 or 403 answer does not stop the socket: it backs off and
/// asks the provider again, so a rejected token is replaced without application code.
#[uniffi::export(with_foreign)]
pub trait CredentialsProvider: Send + Sync {
    /// The credentials for the next attempt.
    fn credentials(&self) -> Result<Credentials, ProviderError>;
}

/// The async form of [`CredentialsProvider`] (Kotlin `suspend fun`, Swift `async
/// func`), for a token fetched from a network or a keychain without blocking a thread:
/// give it to [`PartySocket::with_async_credentials`](crate::PartySocket::with_async_credentials).
/// Its answer is used exactly like the blocking provider's.
///
/// The call is started from the SDK's runtime and runs where the language runs foreign
/// futures (Kotlin: a coroutine in `GlobalScope` on `Dispatchers.Default`; Swift: a
/// `Task`); it is bounded by `connection_timeout_ms`, and an attempt that is replaced,
/// closed or times out cancels it (the coroutine or task is cancelled). The Python
/// package runs an `async def credentials()` on the event loop that created the
/// socket, through the blocking provider (see `bindings/README.md`).
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait AsyncCredentialsProvider: Send + Sync {
    /// The credentials for the next attempt.
    async fn credentials(&self) -> Result<Credentials, ProviderError>;
}

/// Where a socket's per-attempt credentials come from.
pub(crate) enum Provider {
    /// Asked on a thread of the blocking pool.
    Blocking(Arc<dyn CredentialsProvider>),
    /// Awaited on the runtime.
    Async(Arc<dyn AsyncCredentialsProvider>),
}

/// What a credentials provider threw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ProviderError {
    /// The provider failed; `reason` describes what it threw.
    #[error("{reason}")]
    Failed {
        /// What the provider threw.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ProviderError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        let reason = error.reason.lines().next().unwrap_or_default().to_owned();
        ProviderError::Failed { reason }
    }
}

/// The core's provider asking `credentials`, over the static `fixed` parameters.
pub(crate) fn query_provider(
    credentials: Provider,
    fixed: HashMap<String, String>,
) -> partysocket::QueryProvider {
    match credentials {
        Provider::Blocking(credentials) => {
            partysocket::QueryProvider::with_credentials(move || {
                let credentials = Arc::clone(&credentials);
                let fixed = fixed.clone();
                async move {
                    let answer = tokio::task::spawn_blocking(move || ask(credentials.as_ref()))
                        .await
                        .map_err(|err| {
                            format!("the credentials provider did not return: {err}")
                        })??;
                    Ok(merge(fixed, answer))
                }
            })
        }
        Provider::Async(credentials) => partysocket::QueryProvider::with_credentials(move || {
            let credentials = Arc::clone(&credentials);
            let fixed = fixed.clone();
            async move {
                if lifecycle::is_shut_down() {
                    return Err("the process is shutting down".to_owned());
                }
                match credentials.credentials().await {
                    Ok(answer) => Ok(merge(fixed, answer)),
                    Err(ProviderError::Failed { reason }) => Err(reason),
                }
            }
        }),
    }
}

/// The core's credentials: the answer's query over `fixed`, everything in key order so
/// that the URL and the headers do not depend on hash order.
fn merge(fixed: HashMap<String, String>, answer: Credentials) -> partysocket::Credentials {
    let mut query: BTreeMap<String, String> = fixed.into_iter().collect();
    query.extend(answer.query);
    let headers: BTreeMap<String, String> = answer.headers.into_iter().collect();
    headers.into_iter().fold(
        partysocket::Credentials::new().with_query(query.into_iter().collect()),
        |credentials, (name, value)| credentials.with_header(name, value),
    )
}

/// One call of the provider: counted as a call into the application, refused once the
/// process shuts down, with what it throws (or a panic of a Rust provider) as the
/// attempt's failure.
fn ask(credentials: &dyn CredentialsProvider) -> Result<Credentials, String> {
    let Some(_call) = lifecycle::enter_foreign() else {
        return Err("the process is shutting down".to_owned());
    };
    match catch_unwind(AssertUnwindSafe(|| credentials.credentials())) {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(ProviderError::Failed { reason })) => Err(reason),
        Err(payload) => Err(panic_message(payload.as_ref())),
    }
}
