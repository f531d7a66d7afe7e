//! The hook on a server (feature `ssr`) or any target but `wasm32`: nothing is created,
//! so nothing needs letting go.

use partysocket_wasm::{Message, PartySocket};

/// What turns a received message into the hook's `In` (the codec's `decode`); an
/// error skips the message.
pub(crate) type Decode<In> = fn(&Message) -> Result<In, Box<dyn std::error::Error>>;

/// Never constructed here: the inert hook holds no socket.
#[derive(Debug)]
pub(crate) enum Session {}

impl Session {
    pub(crate) fn socket(&self) -> Option<PartySocket> {
        match *self {}
    }
}
