//! What arrives, as Bevy messages, and the per-frame drain that writes them (the same
//! on every target).

use bevy_ecs::prelude::*;
use partysocket::{CloseFrame, ConnectionState, Event, Message, TransportError};

/// A connection opened; messages queued while disconnected have been sent on it.
#[derive(Message, Debug, Clone)]
pub struct SocketOpened {
    /// The socket's entity.
    pub entity: Entity,
    /// The URL connected to (query values included: redact before logging).
    pub url: String,
}

/// A message arrived.
#[derive(Message, Debug, Clone)]
pub struct SocketMessage {
    /// The socket's entity.
    pub entity: Entity,
    /// The message (text or binary).
    pub message: Message,
}

/// A connection closed (the socket reconnects unless it stopped: see
/// [`SocketStateChanged`]).
#[derive(Message, Debug, Clone)]
pub struct SocketClosed {
    /// The socket's entity.
    pub entity: Entity,
    /// The close frame; 1006 when the connection dropped.
    pub frame: CloseFrame,
    /// Whether the closing handshake completed.
    pub was_clean: bool,
}

/// An attempt or a connection failed, or the socket could not be opened at all.
#[derive(Message, Debug, Clone)]
pub struct SocketError {
    /// The socket's entity.
    pub entity: Entity,
    /// What went wrong.
    pub error: SocketFailure,
}

/// What a [`SocketError`] reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SocketFailure {
    /// A connection attempt or an open connection failed; the socket goes on.
    Transport(TransportError),
    /// The socket could not be started; nothing was inserted on the entity. Natively:
    /// the I/O runtime did not start. In the browser: options the browser cannot use
    /// (handshake headers; pass credentials in the query instead).
    Open(String),
}

/// The socket's [`ConnectionState`] changed (connecting, open, backing off, closed).
#[derive(Message, Debug, Clone)]
pub struct SocketStateChanged {
    /// The socket's entity.
    pub entity: Entity,
    /// The new state.
    pub state: ConnectionState,
}

/// A full queue with `DropPolicy::DropOldest` evicted these queued messages.
#[derive(Message, Debug, Clone)]
pub struct SocketEvicted {
    /// The socket's entity.
    pub entity: Entity,
    /// The evicted messages, oldest first.
    pub messages: Vec<Message>,
}

/// The messages a frame's drain writes.
#[derive(bevy_ecs::system::SystemParam)]
pub(crate) struct Writers<'w> {
    opened: MessageWriter<'w, SocketOpened>,
    messages: MessageWriter<'w, SocketMessage>,
    closed: MessageWriter<'w, SocketClosed>,
    errors: MessageWriter<'w, SocketError>,
    states: MessageWriter<'w, SocketStateChanged>,
    evicted: MessageWriter<'w, SocketEvicted>,
}

impl Writers<'_> {
    /// Turns up to `budget` of one socket's events into messages; `next` takes the
    /// socket's next queued event without waiting.
    pub(crate) fn drain(
        &mut self,
        entity: Entity,
        budget: usize,
        mut next: impl FnMut() -> Option<Event>,
    ) {
        for _ in 0..budget {
            let Some(event) = next() else {
                break;
            };
            self.write(entity, event);
        }
    }

    fn write(&mut self, entity: Entity, event: Event) {
        match event {
            Event::Open { url, .. } => {
                self.opened.write(SocketOpened { entity, url });
            }
            Event::Message(message) => {
                self.messages.write(SocketMessage { entity, message });
            }
            Event::Close { frame, was_clean } => {
                self.closed.write(SocketClosed {
                    entity,
                    frame,
                    was_clean,
                });
            }
            Event::Error(error) => {
                self.errors.write(SocketError {
                    entity,
                    error: SocketFailure::Transport(error),
                });
            }
            Event::StateChanged(state) => {
                self.states.write(SocketStateChanged { entity, state });
            }
            Event::Evicted(messages) => {
                self.evicted.write(SocketEvicted { entity, messages });
            }
            // Retries exhausted is also a state change to `Closed`, reported above.
            _ => {}
        }
    }
}
