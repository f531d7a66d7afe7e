//! PartyKit rooms in a [Bevy](https://bevyengine.org) app, with only `bevy_app` and
//! `bevy_ecs` (no rendering: headless servers and bots use it too).
//!
//! - [`PartySocketPlugin`] owns the I/O: a tokio runtime on a background thread.
//! - A socket is a [`PartySocketConnection`] component on an entity, so an app can be
//!   in several rooms at once. Open one with
//!   [`PartySocketCommands::open_party_socket`] (a `Commands` extension), close it with
//!   [`PartySocketCommands::close_party_socket`] or by despawning the entity.
//! - Systems send directly: [`PartySocketConnection::socket`] is the library's
//!   synchronous handle (`send`, `send_coalesced` for positions, `send_json`), which
//!   queues while disconnected and reconnects on its own.
//! - What arrives becomes Bevy messages, read with `MessageReader`: [`SocketOpened`],
//!   [`SocketMessage`], [`SocketClosed`], [`SocketError`], [`SocketStateChanged`] and
//!   [`SocketEvicted`]. They are drained in `PreUpdate`, at most
//!   [`PartySocketPlugin::events_per_frame`] per socket per frame, so a burst cannot
//!   stall a frame; the rest waits for the next one (and the socket stops reading while
//!   its event buffer is full, holding the server back).
//!
//! ```no_run
//! use bevy_app::{App, Startup, Update};
//! use bevy_ecs::prelude::*;
//! use partysocket::PartySocketOptions;
//! use partysocket_bevy::{PartySocketCommands, PartySocketPlugin, SocketMessage};
//!
//! fn join(mut commands: Commands) {
//!     match PartySocketOptions::builder("localhost:1999").party("game").room("arena").build() {
//!         Ok(options) => {
//!             commands.open_party_socket(options);
//!         }
//!         Err(err) => eprintln!("{err}"),
//!     }
//! }
//!
//! fn print(mut messages: MessageReader<SocketMessage>) {
//!     for arrived in messages.read() {
//!         println!("{:?} got {:?}", arrived.entity, arrived.message);
//!     }
//! }
//!
//! App::new()
//!     .add_plugins(PartySocketPlugin::default())
//!     .add_systems(Startup, join)
//!     .add_systems(Update, print)
//!     .run();
//! ```

use bevy_app::{App, Plugin, PreUpdate};
use bevy_ecs::prelude::*;
use partysocket::{
    CloseFrame, ConnectionState, Event, Events, Message, PartySocket, PartySocketOptions,
    TransportError,
};

/// The plugin: the I/O runtime, the message types and the system that drains sockets.
#[derive(Debug, Clone)]
pub struct PartySocketPlugin {
    /// How many events one socket turns into messages per frame (default 256).
    pub events_per_frame: usize,
}

impl Default for PartySocketPlugin {
    fn default() -> Self {
        PartySocketPlugin {
            events_per_frame: 256,
        }
    }
}

impl Plugin for PartySocketPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(SocketRuntime::start())
            .insert_resource(EventBudget(self.events_per_frame.max(1)))
            .add_message::<SocketOpened>()
            .add_message::<SocketMessage>()
            .add_message::<SocketClosed>()
            .add_message::<SocketError>()
            .add_message::<SocketStateChanged>()
            .add_message::<SocketEvicted>()
            .add_systems(PreUpdate, drain_sockets);
    }
}

/// The tokio runtime the sockets run on: one worker thread, named `partysocket-io`.
#[derive(Resource, Debug)]
pub struct SocketRuntime {
    runtime: Result<tokio::runtime::Runtime, String>,
}

impl SocketRuntime {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("partysocket-io")
            .enable_all()
            .build()
            .map_err(|err| format!("cannot start the socket runtime: {err}"));
        if let Err(err) = &runtime {
            tracing::error!("{err}");
        }
        SocketRuntime { runtime }
    }

    /// Starts a socket on this runtime.
    fn connect(&self, options: PartySocketOptions) -> Result<(PartySocket, Events), String> {
        let runtime = self.runtime.as_ref().map_err(Clone::clone)?;
        let _entered = runtime.enter();
        PartySocket::connect(options).map_err(|err| err.to_string())
    }
}

#[derive(Resource, Debug, Clone, Copy)]
struct EventBudget(usize);

/// A socket on an entity. Systems send through [`socket`](Self::socket).
#[derive(Component, Debug)]
pub struct PartySocketConnection {
    socket: PartySocket,
    events: Events,
}

impl PartySocketConnection {
    /// The library's handle: `send`, `send_coalesced`, `close`, `reconnect`, `update`
    /// and the accessors (`ready_state`, `connection_state`, `id`, `room_url`).
    pub fn socket(&self) -> &PartySocket {
        &self.socket
    }
}

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
    /// The socket could not be started (the I/O runtime did not start); nothing was
    /// inserted on the entity.
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

/// Opening and closing sockets from systems.
pub trait PartySocketCommands {
    /// Spawns an entity and starts a socket on it; returns the entity at once (the
    /// component is inserted when the commands are applied).
    fn open_party_socket(&mut self, options: PartySocketOptions) -> Entity;
    /// Starts a socket on an existing entity, replacing a socket already there.
    fn open_party_socket_on(&mut self, entity: Entity, options: PartySocketOptions);
    /// Closes the entity's socket gracefully (1000); the entity and component stay, so
    /// the close is still reported and `reconnect()` can start it again. Despawning
    /// the entity closes the socket too.
    fn close_party_socket(&mut self, entity: Entity);
}

impl PartySocketCommands for Commands<'_, '_> {
    fn open_party_socket(&mut self, options: PartySocketOptions) -> Entity {
        let entity = self.spawn_empty().id();
        self.open_party_socket_on(entity, options);
        entity
    }

    fn open_party_socket_on(&mut self, entity: Entity, options: PartySocketOptions) {
        self.queue(move |world: &mut World| open(world, entity, options));
    }

    fn close_party_socket(&mut self, entity: Entity) {
        self.queue(move |world: &mut World| {
            if let Some(connection) = world.get::<PartySocketConnection>(entity)
                && let Err(err) = connection.socket.close()
            {
                tracing::warn!(?entity, "closing the socket: {err}");
            }
        });
    }
}

fn open(world: &mut World, entity: Entity, options: PartySocketOptions) {
    let started = match world.get_resource::<SocketRuntime>() {
        Some(runtime) => runtime.connect(options),
        None => Err("PartySocketPlugin is not added to the app".to_owned()),
    };
    match started {
        Ok((socket, events)) => match world.get_entity_mut(entity) {
            Ok(mut entity) => {
                entity.insert(PartySocketConnection { socket, events });
            }
            Err(_) => tracing::warn!(?entity, "the entity was despawned before its socket opened"),
        },
        Err(reason) => {
            world.write_message(SocketError {
                entity,
                error: SocketFailure::Open(reason),
            });
        }
    }
}

/// The messages a frame's drain writes.
#[derive(bevy_ecs::system::SystemParam)]
struct Writers<'w> {
    opened: MessageWriter<'w, SocketOpened>,
    messages: MessageWriter<'w, SocketMessage>,
    closed: MessageWriter<'w, SocketClosed>,
    errors: MessageWriter<'w, SocketError>,
    states: MessageWriter<'w, SocketStateChanged>,
    evicted: MessageWriter<'w, SocketEvicted>,
}

/// Turns up to the budget of each socket's events into messages.
fn drain_sockets(
    budget: Res<'_, EventBudget>,
    mut sockets: Query<'_, '_, (Entity, &mut PartySocketConnection)>,
    mut writers: Writers<'_>,
) {
    for (entity, mut connection) in &mut sockets {
        for _ in 0..budget.0 {
            let Some(event) = connection.events.try_recv() else {
                break;
            };
            match event {
                Event::Open { url, .. } => {
                    writers.opened.write(SocketOpened { entity, url });
                }
                Event::Message(message) => {
                    writers.messages.write(SocketMessage { entity, message });
                }
                Event::Close { frame, was_clean } => {
                    writers.closed.write(SocketClosed {
                        entity,
                        frame,
                        was_clean,
                    });
                }
                Event::Error(error) => {
                    writers.errors.write(SocketError {
                        entity,
                        error: SocketFailure::Transport(error),
                    });
                }
                Event::StateChanged(state) => {
                    writers.states.write(SocketStateChanged { entity, state });
                }
                Event::Evicted(messages) => {
                    writers.evicted.write(SocketEvicted { entity, messages });
                }
                // Retries exhausted is also a state change to `Closed`, reported above.
                _ => {}
            }
        }
    }
}
