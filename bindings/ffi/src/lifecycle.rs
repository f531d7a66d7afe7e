//! The process-wide exit hook: [`shutdown`] closes every socket and ends every call
//! into the application, so a foreign runtime that is finalizing (Python's interpreter
//! at exit) is never called into from the SDK's threads.
//!
//! Every call into the application (a listener callback, a credentials provider) is
//! counted while it runs; once shut down, no new one starts, the async calls (`next_event`, `opened`, `closed`) return at once, and a
//! listener the SDK still holds is leaked instead of released (releasing it would call
//! into the foreign runtime too).

use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::socket::{self, Handle};

#[derive(Debug, Default)]
struct State {
    shut_down: bool,
    /// Listener callbacks running now.
    in_flight: usize,
    /// Every socket created, while it lives.
    sockets: Vec<Weak<Mutex<Handle>>>,
}

static STATE: LazyLock<(Mutex<State>, Condvar)> =
    LazyLock::new(|| (Mutex::new(State::default()), Condvar::new()));

/// Tells the async calls that wait that the process shuts down.
static SIGNAL: LazyLock<watch::Sender<bool>> = LazyLock::new(|| watch::Sender::new(false));

fn state() -> MutexGuard<'static, State> {
    // `State` is a flag, a count and a list: a panic cannot leave it half-updated.
    STATE.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether [`shutdown`] was called.
pub(crate) fn is_shut_down() -> bool {
    state().shut_down
}

/// Records a new socket, so [`shutdown`] closes it; fails once shut down.
pub(crate) fn register(handle: &Arc<Mutex<Handle>>) -> bool {
    let mut state = state();
    if state.shut_down {
        return false;
    }
    state.sockets.retain(|socket| socket.strong_count() > 0);
    state.sockets.push(Arc::downgrade(handle));
    true
}

thread_local! {
    /// Whether this thread is inside a call into the application.
    static IN_CALL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A call into the application that may run: counted until dropped.
#[derive(Debug)]
pub(crate) struct ForeignCall(());

/// Permission to call into the application, or `None` once shut down.
pub(crate) fn enter_foreign() -> Option<ForeignCall> {
    let mut state = state();
    if state.shut_down {
        return None;
    }
    state.in_flight += 1;
    IN_CALL.with(|inside| inside.set(true));
    Some(ForeignCall(()))
}

impl Drop for ForeignCall {
    fn drop(&mut self) {
        IN_CALL.with(|inside| inside.set(false));
        let mut state = state();
        state.in_flight = state.in_flight.saturating_sub(1);
        drop(state);
        STATE.1.notify_all();
    }
}

/// Resolves once [`shutdown`] was called (at once when it was).
pub(crate) async fn shut_down() {
    let mut receiver = SIGNAL.subscribe();
    // An error means the sender is gone, which a static never is.
    let _ = receiver.wait_for(|shut| *shut).await;
}

/// Closes every socket of the process (code 1000) and stops every call into the
/// application, for an application that exits: call it from the exit hook of your
/// language (the Python package does so with `atexit`; the JVM's
/// `Runtime.addShutdownHook`). Afterwards no listener callback starts, `next_event()`
/// returns nothing, `opened()` and commands fail with `Closed`, and creating a socket
/// fails with `Startup`.
///
/// Waits up to `timeout_ms` for the callbacks that are running to return and for the
/// sockets' closing handshakes; returns whether everything finished in time. Called
/// from a listener callback it does not wait (the callback itself is one of those
/// running) and returns `false`.
#[uniffi::export]
pub fn shutdown(timeout_ms: u64) -> bool {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    let sockets = {
        let mut state = state();
        state.shut_down = true;
        std::mem::take(&mut state.sockets)
    };
    // Wakes the async calls that wait; they return at once.
    SIGNAL.send_replace(true);
    let closing: Vec<partysocket::PartySocket> = sockets
        .iter()
        .filter_map(Weak::upgrade)
        .filter_map(|handle| socket::close_for_shutdown(&handle))
        .collect();
    if IN_CALL.with(std::cell::Cell::get) || tokio::runtime::Handle::try_current().is_ok() {
        // Inside a callback (it is one of those waited for), or on the runtime, which
        // waiting would block.
        return false;
    }
    let mut finished = true;
    if !closing.is_empty() {
        if let Ok(runtime) = socket::runtime() {
            let limit = deadline.saturating_duration_since(Instant::now());
            finished = runtime
                .block_on(async {
                    tokio::time::timeout(limit, async {
                        for socket in &closing {
                            let _ = socket.closed().await;
                        }
                    })
                    .await
                })
                .is_ok();
        }
    }
    let mut state = state();
    while state.in_flight > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        state = STATE
            .1
            .wait_timeout(state, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
    finished
}
