//! `game`: the guide's Multiplayer Game State pattern.

use serde_json::{Map, Value, json};

use super::{
    Connection, Party, RoomCtx, assign, field, has_type, json_message, parse_json,
    reject_invalid_json,
};
use crate::http::Request;
use crate::log::Message;

/// Keeps `{id, x, y, name}` per connection (random start position, name from the `name`
/// query parameter): `init` to the newcomer, `player-join` to the others, `player-move` to
/// all but the mover, `player-leave` to everyone.
#[derive(Default)]
pub(super) struct GameParty {
    players: Map<String, Value>,
}

impl Party for GameParty {
    fn on_connect(&mut self, conn: &Connection, request: &Request, room: &RoomCtx<'_>) {
        let name = request
            .query_value("name")
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "Player".to_owned());
        let player = json!({
            "id": conn.id,
            "x": random_unit() * 800.0,
            "y": random_unit() * 600.0,
            "name": name,
        });
        self.players.insert(conn.id.clone(), player.clone());
        conn.send(json_message(
            &json!({ "type": "init", "players": self.players }),
        ));
        room.broadcast(
            &json_message(&json!({ "type": "player-join", "player": player })),
            &[&conn.id],
        );
    }

    fn on_message(&mut self, message: &Message, sender: &Connection, room: &RoomCtx<'_>) {
        let Some(data) = parse_json(message) else {
            reject_invalid_json(sender);
            return;
        };
        if !has_type(&data, "move") {
            return;
        }
        let Some(Value::Object(player)) = self.players.get_mut(&sender.id) else {
            return;
        };
        let (x, y) = (field(&data, "x"), field(&data, "y"));
        assign(player, "x", x);
        assign(player, "y", y);
        let mut moved = Map::new();
        moved.insert("type".to_owned(), json!("player-move"));
        moved.insert("id".to_owned(), json!(sender.id));
        assign(&mut moved, "x", x);
        assign(&mut moved, "y", y);
        room.broadcast(&json_message(&Value::Object(moved)), &[&sender.id]);
    }

    fn on_close(&mut self, conn: &Connection, room: &RoomCtx<'_>) {
        self.players.shift_remove(&conn.id);
        room.broadcast(
            &json_message(&json!({ "type": "player-leave", "id": conn.id })),
            &[],
        );
    }
}

/// `Math.random()`: uniform in `[0, 1)`.
fn random_unit() -> f64 {
    // The low 62 bits of a version 4 UUID are random; 53 of them fit an f64 mantissa.
    let bits = uuid::Uuid::new_v4().as_u128() & ((1 << 53) - 1);
    #[allow(clippy::cast_precision_loss)]
    let unit = bits as f64 / (1u64 << 53) as f64;
    unit
}
