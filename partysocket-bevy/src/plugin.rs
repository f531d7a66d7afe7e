//! The plugin: what it registers, and the per-frame budget.

use bevy_app::{App, Plugin, PreUpdate};
use bevy_ecs::prelude::*;

use crate::driver;
use crate::messages::{
    SocketClosed, SocketError, SocketEvicted, SocketMessage, SocketOpened, SocketStateChanged,
};

/// The plugin: the sockets' driver (natively a tokio runtime on a background thread, in
/// the browser the page's event loop), the message types and the system that drains
/// sockets each frame.
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
        driver::install(app);
        app.insert_resource(EventBudget(self.events_per_frame.max(1)))
            .add_message::<SocketOpened>()
            .add_message::<SocketMessage>()
            .add_message::<SocketClosed>()
            .add_message::<SocketError>()
            .add_message::<SocketStateChanged>()
            .add_message::<SocketEvicted>()
            .add_systems(PreUpdate, driver::drain_sockets);
    }
}

/// How many events per socket a frame turns into messages.
#[derive(Resource, Debug, Clone, Copy)]
pub(crate) struct EventBudget(pub(crate) usize);
