//! One browser `WebSocket` with the driver's listener attached, detached when dropped.

use partysocket::{CloseFrame, ConnectRequest, Message, TransportError, TransportId};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, WebSocket};

use crate::diagnostics::{change, step};
use crate::listener::Listener;

/// What a transport's listener reports to the driver.
#[derive(Debug)]
pub(crate) enum Fact {
    Open {
        protocol: Option<String>,
    },
    Message(Message),
    /// The browser's `error` event: it carries nothing, and `close` always follows.
    Error,
    Close {
        code: u16,
        reason: String,
    },
    /// The `WebSocket` constructor threw; reported from a fresh task, like a network
    /// failure, so a driver that reconnects at once never loops synchronously.
    Unopenable,
}

impl Fact {
    /// Reads a value the listener was called with: a socket event, or `undefined` for
    /// the deferred report of a constructor failure.
    pub(crate) fn read(value: JsValue) -> Option<Fact> {
        if value.is_undefined() {
            return Some(Fact::Unopenable);
        }
        let event: &web_sys::Event = value.dyn_ref()?;
        Some(match event.type_().as_str() {
            "open" => {
                let socket: WebSocket = event.target()?.dyn_into().ok()?;
                let protocol = socket.protocol();
                Fact::Open {
                    protocol: (!protocol.is_empty()).then_some(protocol),
                }
            }
            "message" => {
                let data = event.dyn_ref::<web_sys::MessageEvent>()?.data();
                Fact::Message(match data.as_string() {
                    Some(text) => Message::from(text),
                    None => Message::from(js_sys::Uint8Array::new(&data).to_vec()),
                })
            }
            "error" => Fact::Error,
            "close" => {
                let close = event.dyn_ref::<web_sys::CloseEvent>()?;
                Fact::Close {
                    code: close.code(),
                    reason: close.reason(),
                }
            }
            _ => return None,
        })
    }
}

/// One connection attempt: a `WebSocket` and the listener its four handlers share.
#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) id: TransportId,
    socket: Option<WebSocket>,
    /// Why the constructor threw, until the deferred report delivers it.
    failure: Option<TransportError>,
    deferred: Option<JsValue>,
    pub(crate) opened: bool,
    pub(crate) errored: bool,
    /// A message over `max_message_size` arrived: nothing more is read or sent.
    pub(crate) faulted: bool,
    pub(crate) max_message_size: Option<usize>,
    // Dropped after the handlers are detached in `drop`.
    listener: Listener,
}

impl Transport {
    /// Opens a `WebSocket` for `request`, reporting through `listener`. When the browser
    /// refuses the URL or subprotocols, the failure is reported to `listener` from a
    /// fresh task.
    pub(crate) fn open(id: TransportId, request: &ConnectRequest, listener: Listener) -> Self {
        let mut transport = Transport {
            id,
            socket: None,
            failure: None,
            deferred: None,
            opened: false,
            errored: false,
            faulted: false,
            max_message_size: request.max_message_size,
            listener,
        };
        match new_socket(request) {
            Ok(socket) => {
                socket.set_binary_type(BinaryType::Arraybuffer);
                let handler = Some(transport.listener.function());
                socket.set_onopen(handler);
                socket.set_onmessage(handler);
                socket.set_onerror(handler);
                socket.set_onclose(handler);
                change(|counts| step(&mut counts.live_sockets, true));
                transport.socket = Some(socket);
            }
            Err(error) => {
                transport.failure = Some(TransportError::InvalidUrl(describe(&error)));
                transport.deferred = Some(crate::timer::defer(transport.listener.function()));
            }
        }
        transport
    }

    /// Why the constructor threw, once.
    pub(crate) fn take_failure(&mut self) -> TransportError {
        self.deferred = None;
        self.failure
            .take()
            .unwrap_or_else(|| TransportError::Network("the WebSocket could not be created".into()))
    }

    /// Sends `message`.
    ///
    /// # Errors
    ///
    /// When the browser throws (the socket is not open).
    pub(crate) fn send(&self, message: &Message) -> Result<(), TransportError> {
        let Some(socket) = &self.socket else {
            return Err(TransportError::Network("the socket is not open".into()));
        };
        let sent = match message.as_text() {
            Some(text) => socket.send_with_str(text),
            None => socket.send_with_u8_array(message.as_bytes()),
        };
        sent.map_err(|error| TransportError::Network(describe(&error).into()))
    }

    /// Whether the browser socket takes frames: `OPEN`, and no close frame arrived
    /// from the server yet (then it is `CLOSING`, and drops what it is given).
    pub(crate) fn is_open(&self) -> bool {
        self.socket
            .as_ref()
            .is_some_and(|socket| socket.ready_state() == WebSocket::OPEN)
    }

    /// The bytes the browser socket holds that are not on the network yet.
    pub(crate) fn buffered_amount(&self) -> usize {
        self.socket
            .as_ref()
            .map_or(0, |socket| socket.buffered_amount() as usize)
    }

    /// Starts the closing handshake with `frame`; the `close` event reports the end.
    ///
    /// Browsers send only `1000` and `3000..=4999`: the protocol codes the machine uses
    /// to fail a connection (`1009` for a message over `max_message_size`) become a
    /// close without a code, which the server sees as `1005`.
    pub(crate) fn close(&self, frame: &CloseFrame) {
        if let Some(socket) = &self.socket {
            let accepted = frame.code == CloseFrame::NORMAL || (3000..=4999).contains(&frame.code);
            let _ = if accepted {
                socket.close_with_code_and_reason(frame.code, &frame.reason)
            } else {
                socket.close()
            };
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        if let Some(id) = self.deferred.take() {
            crate::timer::cancel(&id);
        }
        if let Some(socket) = self.socket.take() {
            socket.set_onopen(None);
            socket.set_onmessage(None);
            socket.set_onerror(None);
            socket.set_onclose(None);
            if matches!(
                socket.ready_state(),
                WebSocket::CONNECTING | WebSocket::OPEN
            ) {
                let _ = socket.close();
            }
            change(|counts| step(&mut counts.live_sockets, false));
        }
    }
}

fn new_socket(request: &ConnectRequest) -> Result<WebSocket, JsValue> {
    if request.protocols.is_empty() {
        return WebSocket::new(&request.url);
    }
    let protocols = js_sys::Array::new();
    for protocol in &request.protocols {
        protocols.push(&JsValue::from_str(protocol));
    }
    WebSocket::new_with_str_sequence(&request.url, &protocols)
}

/// The message of a JavaScript exception.
fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|error| String::from(error.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "the browser refused the operation".into())
}

/// What the close code of a `close` event means for the machine: `None` when no close
/// frame arrived (`1006`).
pub(crate) fn close_frame(code: u16, reason: String) -> Option<CloseFrame> {
    (code != CloseFrame::ABNORMAL).then(|| CloseFrame::new(code, reason))
}
