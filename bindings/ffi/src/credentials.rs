//! The per-attempt credentials provider: a foreign callback asked for the query
//! parameters before every connection attempt, so a short-lived token is fresh on
//! every reconnect.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::lifecycle;
use crate::socket::panic_message;

/// Gives the query parameters for each connection attempt (a token, a signature): the
/// hook for credentials that expire. Asked before every attempt, on a thread of the
/// SDK's blocking pool (so a slow answer delays only that socket's attempt), bounded by
/// `connection_timeout_ms`. What it throws (or a timeout) fails that attempt; the
/// socket backs off and asks again.
///
/// Its answer is merged over the options' static `query` (the provider's value wins for
/// a key both have); the connection id `_pk` is added as always. With a provider and no
/// `failure_policy`, a 401 or 403 answer does not stop the socket: it backs off and
/// asks the provider again, so a rejected token is replaced without application code.
#[uniffi::export(with_foreign)]
pub trait CredentialsProvider: Send + Sync {
    /// The query parameters for the next attempt.
    fn query(&self) -> Result<HashMap<String, String>, ProviderError>;
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

/// The core's query provider asking `credentials`, over the static `fixed` parameters.
pub(crate) fn query_provider(
    credentials: Arc<dyn CredentialsProvider>,
    fixed: HashMap<String, String>,
) -> partysocket::QueryProvider {
    partysocket::QueryProvider::new(move || {
        let credentials = Arc::clone(&credentials);
        let fixed = fixed.clone();
        async move {
            let answer = tokio::task::spawn_blocking(move || ask(credentials.as_ref()))
                .await
                .map_err(|err| format!("the credentials provider did not return: {err}"))??;
            let mut query: BTreeMap<String, String> = fixed.into_iter().collect();
            query.extend(answer);
            Ok(query.into_iter().collect::<partysocket::Query>())
        }
    })
}

/// One call of the provider: counted as a call into the application, refused once the
/// process shuts down, with what it throws (or a panic of a Rust provider) as the
/// attempt's failure.
fn ask(credentials: &dyn CredentialsProvider) -> Result<HashMap<String, String>, String> {
    let Some(_call) = lifecycle::enter_foreign() else {
        return Err("the process is shutting down".to_owned());
    };
    match catch_unwind(AssertUnwindSafe(|| credentials.query())) {
        Ok(Ok(query)) => Ok(query),
        Ok(Err(ProviderError::Failed { reason })) => Err(reason),
        Err(payload) => Err(panic_message(payload.as_ref())),
    }
}
