//! In the browser: `partysocket-wasm`, driven by the page's event loop (no I/O thread).
//! Its handle is not `Send`, so it cannot live in a component: the sockets live in the
//! non-`Send` [`BrowserSockets`] resource, keyed by entity, and the component holds the
//! socket's id. Each socket's listener fills its event queue; the frame's drain empties
//! it.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use bevy_app::App;
use bevy_ecs::prelude::*;
use bevy_ecs::system::SystemParam;
use partysocket::PartySocketOptions;
use partysocket_wasm::{Events, PartySocket};

use crate::messages::{SocketError, SocketFailure, Writers};
use crate::plugin::EventBudget;

thread_local! {
    /// Options on their way from a system's `Commands` to the world. A command must be
    /// `Send`, and in the browser options are not (a query provider's future is a
    /// JavaScript promise), so the command carries only this id.
    static IN_TRANSIT: RefCell<HashMap<u64, PartySocketOptions>> = RefCell::new(HashMap::new());
    /// The next socket id.
    static NEXT_ID: Cell<u64> = const { Cell::new(0) };
}

/// A socket on an entity. In the browser it holds the socket's id; reach the handle
/// with [`PartySockets`].
#[derive(Component, Debug)]
pub struct PartySocketConnection {
    id: u64,
}

/// The browser's sockets, by entity: a non-`Send` resource the plugin inserts (the
/// browser's handle is not `Send`). A socket whose entity was despawned, or whose
/// [`PartySocketConnection`] was removed, is closed and dropped in the next frame's
/// `PreUpdate`.
#[derive(Default)]
pub struct BrowserSockets {
    sockets: BTreeMap<Entity, BrowserSocket>,
}

impl fmt::Debug for BrowserSockets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserSockets")
            .field("sockets", &self.sockets.len())
            .finish()
    }
}

struct BrowserSocket {
    id: u64,
    socket: PartySocket,
    events: Events,
}

/// The sockets' handles, by entity: the same system parameter natively and in the
/// browser, so a system that sends compiles for both.
#[derive(SystemParam, Debug)]
pub struct PartySockets<'w, 's> {
    sockets: Option<NonSend<'w, BrowserSockets>>,
    connections: Query<'w, 's, &'static PartySocketConnection>,
}

impl PartySockets<'_, '_> {
    /// The handle of `entity`'s socket, if it has one.
    pub fn get(&self, entity: Entity) -> Option<&PartySocket> {
        let id = self.connections.get(entity).ok()?.id;
        let socket = self.sockets.as_ref()?.sockets.get(&entity)?;
        (socket.id == id).then_some(&socket.socket)
    }

    /// Every socket with its entity.
    pub fn iter(&self) -> impl Iterator<Item = (Entity, &PartySocket)> {
        self.sockets
            .iter()
            .flat_map(|sockets| sockets.sockets.iter())
            .filter(|(entity, socket)| {
                self.connections
                    .get(**entity)
                    .is_ok_and(|connection| connection.id == socket.id)
            })
            .map(|(entity, socket)| (*entity, &socket.socket))
    }
}

pub(crate) fn install(app: &mut App) {
    app.insert_non_send(BrowserSockets::default());
}

pub(crate) fn queue_open(
    commands: &mut Commands<'_, '_>,
    entity: Entity,
    options: PartySocketOptions,
) {
    let id = NEXT_ID.with(|next| {
        let id = next.get();
        next.set(id.wrapping_add(1));
        id
    });
    IN_TRANSIT.with(|in_transit| in_transit.borrow_mut().insert(id, options));
    commands.queue(move |world: &mut World| open(world, entity, id));
}

fn open(world: &mut World, entity: Entity, id: u64) {
    let options = IN_TRANSIT.with(|in_transit| in_transit.borrow_mut().remove(&id));
    let failure = |reason: &str| SocketError {
        entity,
        error: SocketFailure::Open(reason.to_owned()),
    };
    let Some(options) = options else {
        world.write_message(failure(
            "the socket's options were queued on another thread: open browser sockets from the main thread",
        ));
        return;
    };
    if !world.contains_non_send::<BrowserSockets>() {
        world.write_message(failure("PartySocketPlugin is not added to the app"));
        return;
    }
    if world.get_entity(entity).is_err() {
        tracing::warn!(?entity, "the entity was despawned before its socket opened");
        return;
    }
    match PartySocket::connect(options) {
        Ok((socket, events)) => {
            let replaced = world
                .non_send_mut::<BrowserSockets>()
                .sockets
                .insert(entity, BrowserSocket { id, socket, events });
            world
                .entity_mut(entity)
                .insert(PartySocketConnection { id });
            // A replaced socket closes here, with no borrow of the world's sockets held.
            drop(replaced);
        }
        Err(err) => {
            world.write_message(failure(&err.to_string()));
        }
    }
}

pub(crate) fn close(world: &mut World, entity: Entity) {
    let socket = world
        .get_non_send::<BrowserSockets>()
        .and_then(|sockets| sockets.sockets.get(&entity))
        .map(|socket| socket.socket.clone());
    if let Some(socket) = socket
        && let Err(err) = socket.close()
    {
        tracing::warn!(?entity, "closing the socket: {err}");
    }
}

/// Drops the sockets whose component is gone, then turns up to the budget of each
/// socket's events into messages.
pub(crate) fn drain_sockets(
    budget: Res<'_, EventBudget>,
    mut sockets: NonSendMut<'_, BrowserSockets>,
    connections: Query<'_, '_, &PartySocketConnection>,
    mut writers: Writers<'_>,
) {
    let gone: Vec<BrowserSocket> = sockets
        .sockets
        .extract_if(.., |entity, socket| {
            !connections
                .get(*entity)
                .is_ok_and(|connection| connection.id == socket.id)
        })
        .map(|(_, socket)| socket)
        .collect();
    // Each closes as it drops (code 1000).
    drop(gone);
    for (entity, socket) in &mut sockets.sockets {
        writers.drain(*entity, budget.0, || socket.events.try_recv());
    }
}
