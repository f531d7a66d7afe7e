//! `chat`: the guide's Chat Room, with history in the room's storage.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::{
    Connection, Party, RoomCtx, field, has_type, json_message, parse_json, reject_invalid_json,
};
use crate::http::Request;
use crate::log::Message;

/// How many stored messages a new connection receives.
const SYNC_LIMIT: usize = 100;

/// `sync` with the last 100 messages on connect; `{type:"message", user, text}` is stored
/// with an id and a timestamp and broadcast to everyone as `{type:"message", message}`.
#[derive(Default)]
pub(super) struct ChatParty {
    messages: Vec<Value>,
}

impl Party for ChatParty {
    fn on_start(&mut self, room: &RoomCtx<'_>) {
        self.messages = match room.storage_get("messages") {
            Some(Value::Array(messages)) => messages,
            _ => Vec::new(),
        };
    }

    fn on_connect(&mut self, conn: &Connection, _request: &Request, _room: &RoomCtx<'_>) {
        let recent = &self.messages[self.messages.len().saturating_sub(SYNC_LIMIT)..];
        conn.send(json_message(&json!({ "type": "sync", "messages": recent })));
    }

    fn on_message(&mut self, message: &Message, sender: &Connection, room: &RoomCtx<'_>) {
        let Some(data) = parse_json(message) else {
            reject_invalid_json(sender);
            return;
        };
        if !has_type(&data, "message") {
            return;
        }
        let mut stored = Map::new();
        stored.insert("id".to_owned(), json!(uuid::Uuid::new_v4().to_string()));
        // `JSON.stringify` leaves out fields the client did not send.
        for key in ["user", "text"] {
            if let Some(value) = field(&data, key) {
                stored.insert(key.to_owned(), value.clone());
            }
        }
        stored.insert("timestamp".to_owned(), json!(now_millis()));
        let stored = Value::Object(stored);
        self.messages.push(stored.clone());
        room.storage_put("messages", Value::Array(self.messages.clone()));
        room.broadcast(
            &json_message(&json!({ "type": "message", "message": stored })),
            &[],
        );
    }
}

/// `Date.now()`.
fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}
