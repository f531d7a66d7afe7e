//! `presence`: the guide's Presence / Who's Online pattern.

use serde_json::{Map, Value, json};

use super::{
    Connection, Party, RoomCtx, assign, field, has_type, json_message, parse_json,
    reject_invalid_json,
};
use crate::http::Request;
use crate::log::Message;

/// Keeps `{name, status}` per connection (name from the `name` query parameter) and
/// broadcasts `{type:"presence", users}` on every join, status change and leave.
#[derive(Default)]
pub(super) struct PresenceParty {
    users: Map<String, Value>,
}

impl PresenceParty {
    fn broadcast_presence(&self, room: &RoomCtx<'_>) {
        room.broadcast(
            &json_message(&json!({ "type": "presence", "users": self.users })),
            &[],
        );
    }
}

impl Party for PresenceParty {
    fn on_connect(&mut self, conn: &Connection, request: &Request, room: &RoomCtx<'_>) {
        let name = request
            .query_value("name")
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "Anonymous".to_owned());
        self.users
            .insert(conn.id.clone(), json!({ "name": name, "status": "online" }));
        self.broadcast_presence(room);
    }

    fn on_message(&mut self, message: &Message, sender: &Connection, room: &RoomCtx<'_>) {
        let Some(data) = parse_json(message) else {
            reject_invalid_json(sender);
            return;
        };
        if !has_type(&data, "status") {
            return;
        }
        if let Some(Value::Object(user)) = self.users.get_mut(&sender.id) {
            assign(user, "status", field(&data, "status"));
            self.broadcast_presence(room);
        }
    }

    fn on_close(&mut self, conn: &Connection, room: &RoomCtx<'_>) {
        self.users.shift_remove(&conn.id);
        self.broadcast_presence(room);
    }
}
