//! Natively: a tokio runtime on a background thread owns the I/O, and the component
//! holds the socket's handle and its event stream.

use bevy_app::App;
use bevy_ecs::prelude::*;
use bevy_ecs::system::SystemParam;
use partysocket::{Events, PartySocket, PartySocketOptions};

use crate::messages::{SocketError, SocketFailure, Writers};
use crate::plugin::EventBudget;

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

/// A socket on an entity. Systems send through [`socket`](Self::socket), or through
/// [`PartySockets`], which works in the browser too.
#[derive(Component, Debug)]
pub struct PartySocketConnection {
    socket: PartySocket,
    events: Events,
}

impl PartySocketConnection {
    /// The library's handle: `send`, `send_coalesced`, `close`, `reconnect`, `update`
    /// and the accessors (`ready_state`, `connection_state`, `id`, `room_url`).
    ///
    /// Native only: in the browser the component holds an id, and the handle is
    /// reached through [`PartySockets`].
    pub fn socket(&self) -> &PartySocket {
        &self.socket
    }
}

/// The sockets' handles, by entity: the same system parameter natively and in the
/// browser, so a system that sends compiles for both.
///
/// ```no_run
/// use bevy_ecs::prelude::*;
/// use partysocket_bevy::PartySockets;
///
/// #[derive(Component)]
/// struct Player {
///     x: f32,
///     y: f32,
/// }
///
/// fn send_positions(sockets: PartySockets, players: Query<(Entity, &Player)>) {
///     for (entity, player) in &players {
///         if let Some(socket) = sockets.get(entity) {
///             let position = format!(r#"{{"type":"move","x":{},"y":{}}}"#, player.x, player.y);
///             // While disconnected only the latest position waits for the next connection.
///             let _ = socket.send_coalesced("position", position);
///         }
///     }
/// }
/// ```
#[derive(SystemParam, Debug)]
pub struct PartySockets<'w, 's> {
    connections: Query<'w, 's, (Entity, &'static PartySocketConnection)>,
}

impl PartySockets<'_, '_> {
    /// The handle of `entity`'s socket, if it has one.
    pub fn get(&self, entity: Entity) -> Option<&PartySocket> {
        self.connections
            .get(entity)
            .ok()
            .map(|(_, connection)| &connection.socket)
    }

    /// Every socket with its entity.
    pub fn iter(&self) -> impl Iterator<Item = (Entity, &PartySocket)> {
        self.connections
            .iter()
            .map(|(entity, connection)| (entity, &connection.socket))
    }
}

pub(crate) fn install(app: &mut App) {
    app.insert_resource(SocketRuntime::start());
}

pub(crate) fn queue_open(
    commands: &mut Commands<'_, '_>,
    entity: Entity,
    options: PartySocketOptions,
) {
    commands.queue(move |world: &mut World| open(world, entity, options));
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

pub(crate) fn close(world: &mut World, entity: Entity) {
    if let Some(connection) = world.get::<PartySocketConnection>(entity)
        && let Err(err) = connection.socket.close()
    {
        tracing::warn!(?entity, "closing the socket: {err}");
    }
}

/// Turns up to the budget of each socket's events into messages.
pub(crate) fn drain_sockets(
    budget: Res<'_, EventBudget>,
    mut sockets: Query<'_, '_, (Entity, &mut PartySocketConnection)>,
    mut writers: Writers<'_>,
) {
    for (entity, mut connection) in &mut sockets {
        writers.drain(entity, budget.0, || connection.events.try_recv());
    }
}
