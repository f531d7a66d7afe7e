//! Counters of what the driver holds in the browser, so tests can prove that reconnects
//! do not leak closures, timers or sockets.

use std::cell::Cell;

thread_local! {
    static COUNTS: Cell<Diagnostics> = const { Cell::new(Diagnostics::ZERO) };
}

/// What every socket on this thread holds right now, and what the drivers ignored.
///
/// Not part of the stable API: for tests and leak hunting.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Diagnostics {
    /// Rust closures handed to JavaScript and not yet freed (socket listeners and timer
    /// callbacks).
    pub live_closures: u32,
    /// `setTimeout`s armed and neither fired nor cleared.
    pub live_timers: u32,
    /// `WebSocket` objects with the driver's handlers attached.
    pub live_sockets: u32,
    /// Query providers' futures still running (one at most per socket: the futures of
    /// attempts that were closed, timed out or replaced are dropped).
    pub live_queries: u32,
    /// Drivers alive (one per `PartySocket::connect` whose handles or callbacks live).
    pub live_drivers: u32,
    /// Events from a socket the driver had already replaced, ignored (the count only
    /// grows).
    pub stale_events: u32,
}

impl Diagnostics {
    const ZERO: Diagnostics = Diagnostics {
        live_closures: 0,
        live_timers: 0,
        live_sockets: 0,
        live_queries: 0,
        live_drivers: 0,
        stale_events: 0,
    };
}

/// The counters of this thread (the page, or the worker).
#[doc(hidden)]
pub fn diagnostics() -> Diagnostics {
    COUNTS.with(Cell::get)
}

pub(crate) fn change(update: impl FnOnce(&mut Diagnostics)) {
    COUNTS.with(|counts| {
        let mut now = counts.get();
        update(&mut now);
        counts.set(now);
    });
}

/// Adds `by` (+1 or -1) to a counter without overflowing.
pub(crate) fn step(counter: &mut u32, up: bool) {
    *counter = if up {
        counter.saturating_add(1)
    } else {
        counter.saturating_sub(1)
    };
}
