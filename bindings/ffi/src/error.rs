//! The one error type every fallible call raises in the foreign language.

/// Why a call on a [`PartySocket`](crate::PartySocket) failed. Each message says what
/// to change.
///
/// Kotlin sees `PartySocketException` (subclasses per variant), Swift and Python
/// `PartySocketError`; the message is the text below.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum PartySocketError {
    /// An option (or an update) is invalid; the message names it and what to change.
    #[error("{0}")]
    InvalidOptions(String),
    /// A close code or reason the application may not send.
    #[error("{0}")]
    InvalidCloseFrame(String),
    /// The socket was closed with `close()`/`close_with()` (or its task ended).
    #[error("this socket was closed: create a new PartySocket to connect again")]
    Closed,
    /// The socket stopped (closed, gave up after a 401, ran out of retries) while the
    /// caller waited for it to open.
    #[error("the socket stopped before it opened: {0}; see the close and error events for why")]
    Stopped(String),
    /// Events go to the listener given at creation, so `next_event()` has none.
    #[error(
        "this socket delivers its events to the listener given at creation; create the socket without a listener to use next_event()"
    )]
    EventsGoToListener,
    /// `interrupt_next_event()` ended the wait; no event was taken.
    #[error("next_event() was interrupted; call it again to read on")]
    Interrupted,
    /// The shared runtime or the TLS roots could not be set up.
    #[error("the socket could not start: {0}")]
    Startup(String),
}

impl From<partysocket::Error> for PartySocketError {
    fn from(error: partysocket::Error) -> Self {
        use partysocket::Error;
        match error {
            Error::Options(options) => PartySocketError::InvalidOptions(options.to_string()),
            error @ (Error::InvalidCloseCode(_) | Error::CloseReasonTooLong(_)) => {
                PartySocketError::InvalidCloseFrame(error.to_string())
            }
            Error::DriverStopped => PartySocketError::Closed,
            Error::Stopped(reason) => PartySocketError::Stopped(format!("{reason:?}")),
            other => PartySocketError::Startup(other.to_string()),
        }
    }
}

impl From<partysocket::OptionsError> for PartySocketError {
    fn from(error: partysocket::OptionsError) -> Self {
        PartySocketError::InvalidOptions(error.to_string())
    }
}
