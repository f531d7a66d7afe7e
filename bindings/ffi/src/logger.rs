//! The core's diagnostics for a foreign logger: the `tracing` events of the
//! `partysocket` crates, as records with their level, target and message, handed to a
//! thread of the logger's own.

use std::fmt::{self, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use crate::error::PartySocketError;
use crate::lifecycle;
use crate::socket::ListenerError;

/// How many records wait for the logger's thread at most; more are dropped and counted
/// ([`dropped_log_records`]).
pub const LOG_CAPACITY: u32 = 1024;

/// The level of a [`LogRecord`], and the least level a [`PartySocketLogger`] receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Step-by-step detail.
    Trace,
    /// What the socket does: attempts, backoff, stable connections.
    Debug,
    /// Opens and closes.
    Info,
    /// Failures the socket recovers from, or gives up on.
    Warn,
    /// Failures of the SDK itself.
    Error,
}

impl LogLevel {
    fn of(level: tracing::Level) -> Self {
        match level {
            tracing::Level::TRACE => LogLevel::Trace,
            tracing::Level::DEBUG => LogLevel::Debug,
            tracing::Level::INFO => LogLevel::Info,
            tracing::Level::WARN => LogLevel::Warn,
            _ => LogLevel::Error,
        }
    }

    fn rank(self) -> u8 {
        self as u8
    }
}

/// One diagnostic of the SDK. URLs in it have their query values (but `_pk`) replaced by
/// `REDACTED`; header values are never logged.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    /// How severe it is.
    pub level: LogLevel,
    /// The module that emitted it, e.g. `partysocket::core::machine::lifecycle`.
    pub target: String,
    /// What happened, then its fields as `name=value`, e.g. `connecting attempt=0
    /// url=wss://host/parties/main/lobby?_pk=...&token=REDACTED`.
    pub message: String,
}

/// Receives the SDK's diagnostics (install it with [`install_logger`]): forward them to
/// Logcat, `os_log` or Python's `logging`. Called in order on a thread of its own
/// (`partysocket-logger`), never on the SDK's I/O threads or under its locks; what it
/// throws is ignored.
#[uniffi::export(with_foreign)]
pub trait PartySocketLogger: Send + Sync {
    /// One record.
    fn log(&self, record: LogRecord) -> Result<(), ListenerError>;
}

/// The installed logger, the least level it receives (a rank; `u8::MAX` for none), and
/// the records dropped because its thread fell behind.
struct Installed {
    logger: Mutex<Option<Arc<dyn PartySocketLogger>>>,
    level: AtomicU8,
    dropped: AtomicU64,
    records: SyncSender<LogRecord>,
}

static INSTALLED: OnceLock<Result<Arc<Installed>, String>> = OnceLock::new();

/// Sends the SDK's diagnostics at `level` and above to `logger`, replacing a logger
/// installed before. The first call installs the process's `tracing` subscriber and
/// starts the logger's thread.
///
/// Records wait in a buffer of [`LOG_CAPACITY`]; when the logger falls behind further,
/// new records are dropped and counted ([`dropped_log_records`]) rather than slowing a
/// socket down.
///
/// # Errors
///
/// [`PartySocketError::Startup`] when another `tracing` subscriber is the process's
/// global one already, or the thread cannot start.
#[uniffi::export]
pub fn install_logger(
    logger: Arc<dyn PartySocketLogger>,
    level: LogLevel,
) -> Result<(), PartySocketError> {
    let installed = installed()?;
    *lock(&installed.logger) = Some(logger);
    installed.level.store(level.rank(), Ordering::SeqCst);
    Ok(())
}

/// Stops sending diagnostics to the installed logger (records already waiting are
/// dropped) and releases it.
#[uniffi::export]
pub fn remove_logger() {
    if let Some(Ok(installed)) = INSTALLED.get() {
        installed.level.store(u8::MAX, Ordering::SeqCst);
        let logger = lock(&installed.logger).take();
        release(logger);
    }
}

/// Records dropped so far because the logger's thread fell [`LOG_CAPACITY`] behind.
#[uniffi::export]
pub fn dropped_log_records() -> u64 {
    match INSTALLED.get() {
        Some(Ok(installed)) => installed.dropped.load(Ordering::Relaxed),
        _ => 0,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // An `Option` swapped whole: a panic cannot leave it half-updated.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Releasing a foreign object calls into its runtime: not once the process shuts down.
fn release(logger: Option<Arc<dyn PartySocketLogger>>) {
    match lifecycle::enter_foreign() {
        Some(_call) => drop(logger),
        None => std::mem::forget(logger),
    }
}

fn installed() -> Result<Arc<Installed>, PartySocketError> {
    INSTALLED
        .get_or_init(|| {
            let (records, inbox) = sync_channel(LOG_CAPACITY as usize);
            let installed = Arc::new(Installed {
                logger: Mutex::new(None),
                level: AtomicU8::new(u8::MAX),
                dropped: AtomicU64::new(0),
                records,
            });
            let forwarding = Arc::clone(&installed);
            std::thread::Builder::new()
                .name("partysocket-logger".to_owned())
                .spawn(move || forward(&forwarding, &inbox))
                .map_err(|err| format!("cannot start the logger's thread: {err}"))?;
            tracing::subscriber::set_global_default(Forwarder(Arc::clone(&installed))).map_err(
                |_| "another tracing subscriber is the process's global one already".to_owned(),
            )?;
            Ok(installed)
        })
        .clone()
        .map_err(PartySocketError::Startup)
}

/// The logger's thread: every record to the logger installed when it is taken, until
/// the process shuts down.
fn forward(installed: &Installed, inbox: &Receiver<LogRecord>) {
    while let Ok(record) = inbox.recv() {
        if record.level.rank() < installed.level.load(Ordering::SeqCst) {
            continue;
        }
        let Some(logger) = lock(&installed.logger).clone() else {
            continue;
        };
        let Some(call) = lifecycle::enter_foreign() else {
            std::mem::forget(logger);
            return;
        };
        // What the logger throws has nowhere to go but another log record.
        let _ = catch_unwind(AssertUnwindSafe(|| logger.log(record)));
        drop(logger);
        drop(call);
    }
}

/// The `tracing` subscriber: events of the `partysocket` crates at the installed level
/// become records on the channel. Spans are not tracked.
struct Forwarder(Arc<Installed>);

impl Forwarder {
    fn wants(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("partysocket")
            && LogLevel::of(*metadata.level()).rank() >= self.0.level.load(Ordering::Relaxed)
    }
}

impl Subscriber for Forwarder {
    fn register_callsite(
        &self,
        _metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // The level can change: ask `enabled` every time.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_span() || self.wants(metadata)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        if !self.wants(metadata) {
            return;
        }
        let mut message = Message::default();
        event.record(&mut message);
        let record = LogRecord {
            level: LogLevel::of(*metadata.level()),
            target: metadata.target().to_owned(),
            message: message.finish(),
        };
        if let Err(TrySendError::Full(_)) = self.0.records.try_send(record) {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// An event's message, then its other fields as `name=value`, URLs redacted.
#[derive(Default)]
struct Message {
    text: String,
    fields: String,
}

impl Message {
    fn push(&mut self, field: &Field, value: String) {
        let value = if value.contains("://") {
            partysocket::redact_url(&value)
        } else {
            value
        };
        if field.name() == "message" {
            self.text = value;
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn finish(self) -> String {
        self.text + &self.fields
    }
}

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, format!("{value:?}"));
    }
}
