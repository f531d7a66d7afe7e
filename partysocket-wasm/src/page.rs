//! The page's own host as the default server: what a PartyKit app served by PartyKit
//! itself wants.

use partysocket::{PartySocketOptions, PartySocketOptionsBuilder, Protocol};
use wasm_bindgen::JsValue;

/// The host (`name[:port]`) of the page (or worker) this code runs in, with `Ws` for an
/// `http:` page and `Wss` for an `https:` one; `None` outside a browser or for other
/// schemes (`file:`, extensions).
///
/// ```no_run
/// use partysocket_wasm::{Protocol, page_host};
///
/// // On https://my-app.my-user.partykit.dev/
/// assert_eq!(
///     page_host(),
///     Some(("my-app.my-user.partykit.dev".to_owned(), Protocol::Wss))
/// );
/// ```
pub fn page_host() -> Option<(String, Protocol)> {
    let location = property(&js_sys::global(), "location")?;
    let host = property(&location, "host")?.as_string()?;
    let protocol = match property(&location, "protocol")?.as_string()?.as_str() {
        "https:" => Protocol::Wss,
        "http:" => Protocol::Ws,
        _ => return None,
    };
    (!host.is_empty()).then_some((host, protocol))
}

/// Options for the server that served the page: [`page_host`] as host and its
/// protocol. Outside a page (no `location`) the host is empty, and
/// [`build`](PartySocketOptionsBuilder::build) fails with
/// [`OptionsError::EmptyHost`](partysocket::OptionsError::EmptyHost).
///
/// ```no_run
/// # fn main() -> Result<(), partysocket_wasm::OptionsError> {
/// let options = partysocket_wasm::page_options().party("chat").room("lobby").build()?;
/// # Ok(())
/// # }
/// ```
pub fn page_options() -> PartySocketOptionsBuilder {
    match page_host() {
        Some((host, protocol)) => PartySocketOptions::builder(host).protocol(protocol),
        None => PartySocketOptions::builder(""),
    }
}

fn property(target: &JsValue, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(target, &JsValue::from_str(name))
        .ok()
        .filter(|value| !value.is_undefined() && !value.is_null())
}
