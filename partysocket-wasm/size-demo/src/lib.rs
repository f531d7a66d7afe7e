//! The smallest useful browser app on `partysocket-wasm`: connect to the page's own
//! server, send a message, log what arrives. `cargo xtask size` builds it with the
//! `wasm-size` profile and measures it against the official JavaScript client.

use partysocket_wasm::{PartySocket, page_options};
use wasm_bindgen::prelude::*;

/// A free-list allocator instead of the standard library's dlmalloc: chosen by
/// measurement (`cargo xtask size`), it is the smaller of the two in this demo.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console)]
    fn log(text: &str);
}

/// Connects to the room `demo` on the page's server, says hello and logs every text
/// message; the socket lives as long as the page.
///
/// # Errors
///
/// When the options are invalid (no page host).
#[wasm_bindgen(start)]
pub fn start() -> Result<(), JsValue> {
    let invalid = |_| JsValue::from_str("invalid options");
    let options = page_options().room("demo").build().map_err(invalid)?;
    let (socket, _events) =
        PartySocket::connect(options).map_err(|_| JsValue::from_str("cannot connect"))?;
    socket.on_message(|message| {
        if let Some(text) = message.as_text() {
            log(text);
        }
    });
    let _ = socket.send("hello");
    // The page owns the socket from here on.
    std::mem::forget(socket);
    Ok(())
}
