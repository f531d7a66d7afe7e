//! The driver contract's types: transports, connect requests, outputs, user calls and
//! the frames a driver pulls.
use std::fmt;

#[cfg(doc)]
use super::Machine;

use crate::core::error::TransportError;
use crate::core::event::Event;
use crate::core::message::{CloseFrame, Message};
use crate::core::policy::{Decision, FailurePolicy};
use crate::core::query::QueryProvider;
use crate::core::redact;
use crate::core::url::redact_url;

/// Names one transport (one WebSocket connection attempt). Facts about a transport the
/// machine has already replaced are ignored, so drivers need not filter stale callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportId(pub(super) u64);

impl TransportId {
    /// The id as a number, for logs.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// What the driver opens for an attempt. Its `Debug` shows header names and query keys
/// but not their values (tokens).
#[derive(Clone, PartialEq)]
pub struct ConnectRequest {
    /// The WebSocket URL, `_pk` and query included.
    pub url: String,
    /// Subprotocols to offer.
    pub protocols: Vec<String>,
    /// Extra handshake headers (drivers that cannot send headers ignore them).
    pub headers: Vec<(String, String)>,
    /// The largest incoming message to accept, when limited.
    pub max_message_size: Option<usize>,
}

impl fmt::Debug for ConnectRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectRequest")
            .field("url", &redact_url(&self.url))
            .field("protocols", &self.protocols)
            .field("headers", &redact::Headers(&self.headers))
            .field("max_message_size", &self.max_message_size)
            .finish()
    }
}

/// Work for the driver, in order. Drain with [`Machine::poll_output`] until `None`
/// after every call that changes the machine.
///
/// Frames for a connection are not outputs: the driver pulls them with
/// [`Machine::poll_transmit`] when the connection can take them.
#[derive(Debug)]
#[non_exhaustive]
pub enum Output {
    /// Run the application's code: a query provider or a failure policy's predicate.
    /// Carry it out after releasing every lock or borrow that code could need: it may
    /// call back into the socket.
    UserCall(UserCall),
    /// Open a WebSocket; report the outcome with [`Machine::handle_open`],
    /// [`Machine::handle_failed`] or [`Machine::handle_closed`].
    Connect {
        /// The new transport.
        transport: TransportId,
        /// Where and how to connect.
        request: ConnectRequest,
    },
    /// The machine is done with the transport: with `Some(frame)`, send that close frame
    /// and let the connection finish on its own (bounded by the close timeout); with
    /// `None`, drop it at once. Report nothing more about it either way.
    Close {
        /// The transport.
        transport: TransportId,
        /// The close frame to send, or `None` to abort.
        frame: Option<CloseFrame>,
    },
    /// Deliver an event to the application.
    Event(Event),
}

/// Work that runs the application's code, from [`Output::UserCall`].
#[derive(Debug)]
pub enum UserCall {
    /// Resolve the per-attempt credentials
    /// ([`QueryProvider::resolve_credentials`]), then report them with
    /// [`Machine::handle_credentials_resolved`].
    ResolveQuery {
        /// The attempt.
        transport: TransportId,
        /// The provider to call.
        provider: QueryProvider,
    },
    /// Ask the failure policy (it holds the application's `should_reconnect_on_close`
    /// predicate) how to go on after a connection ended, with [`PolicyQuestion::ask`],
    /// and report the answer with [`Machine::handle_decision`].
    Decide(PolicyQuestion),
}

/// The failure policy's question about a connection that ended.
#[derive(Debug, Clone)]
pub struct PolicyQuestion(pub(super) Box<Question>);

/// What a [`PolicyQuestion`] holds, boxed: a rare output need not widen every
/// [`Output`], which carries each received message.
#[derive(Debug, Clone)]
pub(super) struct Question {
    pub(super) transport: TransportId,
    pub(super) policy: FailurePolicy,
    pub(super) close: CloseFrame,
    pub(super) failure: Option<TransportError>,
}

impl PolicyQuestion {
    /// The transport that ended.
    pub fn transport(&self) -> TransportId {
        self.0.transport
    }

    /// How it ended.
    pub fn close(&self) -> &CloseFrame {
        &self.0.close
    }

    /// Why, when it failed rather than closed.
    pub fn failure(&self) -> Option<&TransportError> {
        self.0.failure.as_ref()
    }

    /// Runs the policy: the application's predicate runs here, so call this with no
    /// lock held.
    pub fn ask(self) -> PolicyAnswer {
        PolicyAnswer {
            decision: self.0.policy.decide(&self.0.close, self.0.failure.as_ref()),
            transport: self.0.transport,
        }
    }

    /// The answer `decision`, given without asking the policy (tests and drivers that
    /// decide for themselves).
    pub fn answer(self, decision: Decision) -> PolicyAnswer {
        PolicyAnswer {
            decision,
            transport: self.0.transport,
        }
    }
}

/// The failure policy's answer, for [`Machine::handle_decision`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyAnswer {
    pub(super) transport: TransportId,
    pub(super) decision: Decision,
}

impl PolicyAnswer {
    /// What the policy decided.
    pub fn decision(&self) -> Decision {
        self.decision
    }
}

/// A frame for the connection, pulled with [`Machine::poll_transmit`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Transmit {
    /// A data message.
    Message(Message),
    /// A protocol-level ping (the heartbeat).
    Ping,
    /// The close frame of a graceful close: the last frame; report the server's answer
    /// with [`Machine::handle_closed`].
    Close(CloseFrame),
}
