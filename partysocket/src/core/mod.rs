//! The sans-IO core: options, URLs, backoff, the queue and the state machine.
//!
//! Nothing here performs I/O or reads a clock; it compiles for every target.

pub(crate) mod backoff;
pub(crate) mod error;
pub(crate) mod event;
pub(crate) mod machine;
pub(crate) mod message;
pub(crate) mod options;
pub(crate) mod policy;
pub(crate) mod query;
pub(crate) mod queue;
pub(crate) mod redact;
pub(crate) mod rng;
pub(crate) mod timers;
/// The native driver's trim schedule (the browser driver trims on a rule of its own).
#[cfg(any(test, feature = "tokio"))]
pub(crate) mod trim;
pub(crate) mod url;
