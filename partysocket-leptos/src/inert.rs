//! The hook on a server (feature `ssr`) or any target but `wasm32`: nothing is created,
//! so nothing needs letting go.

use partysocket_wasm::{Message, PartySocket};

/// What turns a received message into the hook's `In`; `None` skips it.
pub(crate) type Decode<In> = fn(&Message) -> Option<In>;

/// Never constructed here: the inert hook holds no socket.
#[derive(Debug)]
pub(crate) enum Session {}

impl Session {
    pub(crate) fn socket(&self) -> Option<PartySocket> {
        match *self {}
    }
}
