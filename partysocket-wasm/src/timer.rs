//! The driver's one timer: a `setTimeout` re-armed from the machine's next deadline.

use std::time::Duration;

use partysocket::web_time::Instant;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::diagnostics::{change, step};
use crate::listener::Listener;

#[wasm_bindgen]
extern "C" {
    // The global functions, so the driver runs in windows and workers alike.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, milliseconds: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// At most one pending `setTimeout`, with one callback for the driver's whole life (so
/// re-arming allocates nothing).
#[derive(Debug)]
pub(crate) struct Timer {
    callback: Listener,
    armed: Option<(JsValue, Instant)>,
}

impl Timer {
    /// A timer that runs `callback` when it fires.
    pub(crate) fn new(callback: Listener) -> Self {
        Timer {
            callback,
            armed: None,
        }
    }

    /// Makes the timer fire at `deadline` (`None`: not at all). Keeps a pending timeout
    /// for the same instant.
    pub(crate) fn arm(&mut self, deadline: Option<Instant>, now: Instant) {
        if self.armed.as_ref().map(|(_, at)| *at) == deadline {
            return;
        }
        self.clear();
        if let Some(at) = deadline {
            let id = set_timeout(self.callback.function(), milliseconds(at, now));
            change(|counts| step(&mut counts.live_timers, true));
            self.armed = Some((id, at));
        }
    }

    /// The timeout fired: it no longer needs clearing.
    pub(crate) fn fired(&mut self) {
        if self.armed.take().is_some() {
            change(|counts| step(&mut counts.live_timers, false));
        }
    }

    /// Cancels the pending timeout, if any.
    pub(crate) fn clear(&mut self) {
        if let Some((id, _)) = self.armed.take() {
            clear_timeout(&id);
            change(|counts| step(&mut counts.live_timers, false));
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Whole milliseconds from `now` to `at`, rounded up so the timeout never fires before
/// the deadline, and capped to what `setTimeout` accepts.
fn milliseconds(at: Instant, now: Instant) -> i32 {
    let wait = at.saturating_duration_since(now);
    let whole = wait.as_secs().saturating_mul(1000) + u64::from(wait.subsec_millis());
    let rounded = if wait > Duration::from_millis(whole) {
        whole + 1
    } else {
        whole
    };
    i32::try_from(rounded).unwrap_or(i32::MAX)
}

/// Calls `handler` (with no arguments) from a fresh task; returns the id for
/// [`cancel`]. Not counted as the driver's timer.
pub(crate) fn defer(handler: &js_sys::Function) -> JsValue {
    set_timeout(handler, 0)
}

/// Cancels a [`defer`] that has not run.
pub(crate) fn cancel(id: &JsValue) {
    clear_timeout(id);
}
