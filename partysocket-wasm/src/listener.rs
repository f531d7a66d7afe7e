//! A Rust closure handed to JavaScript, counted while it lives.

use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;

use crate::diagnostics::{change, step};

/// One JavaScript function backed by a Rust closure; freed when dropped.
///
/// Whoever drops it must first make sure JavaScript no longer calls it (detach the
/// handler, clear the timeout). Dropping it while it runs is safe: wasm-bindgen frees it
/// when the call returns.
pub(crate) struct Listener(Closure<dyn FnMut(JsValue)>);

impl Listener {
    pub(crate) fn new(callback: impl FnMut(JsValue) + 'static) -> Self {
        change(|counts| step(&mut counts.live_closures, true));
        Listener(Closure::new(callback))
    }

    /// The JavaScript function to register.
    pub(crate) fn function(&self) -> &js_sys::Function {
        self.0.as_ref().unchecked_ref()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        change(|counts| step(&mut counts.live_closures, false));
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listener")
    }
}
