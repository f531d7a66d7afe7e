//! The `Commands` extension that opens and closes sockets.

use bevy_ecs::prelude::*;
use partysocket::PartySocketOptions;

use crate::driver;

/// Opening and closing sockets from systems.
pub trait PartySocketCommands {
    /// Spawns an entity and starts a socket on it; returns the entity at once (the
    /// component is inserted when the commands are applied).
    fn open_party_socket(&mut self, options: PartySocketOptions) -> Entity;
    /// Starts a socket on an existing entity, replacing a socket already there.
    fn open_party_socket_on(&mut self, entity: Entity, options: PartySocketOptions);
    /// Closes the entity's socket gracefully (1000); the entity and component stay, so
    /// the close is still reported and `reconnect()` can start it again. Despawning
    /// the entity (or removing its [`PartySocketConnection`](crate::PartySocketConnection))
    /// closes the socket too.
    fn close_party_socket(&mut self, entity: Entity);
}

impl PartySocketCommands for Commands<'_, '_> {
    fn open_party_socket(&mut self, options: PartySocketOptions) -> Entity {
        let entity = self.spawn_empty().id();
        self.open_party_socket_on(entity, options);
        entity
    }

    fn open_party_socket_on(&mut self, entity: Entity, options: PartySocketOptions) {
        driver::queue_open(self, entity, options);
    }

    fn close_party_socket(&mut self, entity: Entity) {
        self.queue(move |world: &mut World| driver::close(world, entity));
    }
}
