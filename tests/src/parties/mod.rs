//! Rooms and the parties that run in them: the server patterns of the PartyKit guide.
//!
//! A party is synchronous: each event runs to completion under its room's lock, so every
//! connection sees a room's messages in the order the party sent them. Sending only queues
//! a frame for the connection's own task, so a party never waits on the network.

mod chat;
mod echo;
mod game;
mod main_party;
mod presence;

use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::http::{Request, Response};
use crate::log::Message;

/// The parties this server runs, by the name a URL uses.
pub const PARTY_NAMES: [&str; 5] = ["main", "echo", "chat", "presence", "game"];

/// A new instance of the party called `name`, or `None` for an unknown party.
fn create(name: &str) -> Option<Box<dyn Party>> {
    Some(match name {
        "main" => Box::new(main_party::MainParty),
        "echo" => Box::new(echo::EchoParty),
        "chat" => Box::<chat::ChatParty>::default(),
        "presence" => Box::<presence::PresenceParty>::default(),
        "game" => Box::<game::GameParty>::default(),
        _ => return None,
    })
}

/// What a connection's task is told to do.
#[derive(Debug)]
pub(crate) enum ConnCommand {
    /// Send a frame.
    Send(Message),
    /// Send a close frame, finish the closing handshake, end the connection.
    Close { code: u16, reason: String },
    /// End the connection without a close frame.
    Drop,
    /// Stop (or resume) reading, answering pings and writing; `done` fires once the
    /// connection's task has switched.
    Silent {
        on: bool,
        done: tokio::sync::oneshot::Sender<()>,
    },
}

/// A room's handle on one open WebSocket connection.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// Unique per server, unlike `id`, which a client chooses with `_pk`.
    pub(crate) serial: u64,
    pub(crate) id: String,
    pub(crate) commands: mpsc::UnboundedSender<ConnCommand>,
}

impl Connection {
    /// Queues `message` for this connection.
    pub(crate) fn send(&self, message: Message) {
        // A send fails only when the connection's task has ended; the room forgets it soon.
        let _ = self.commands.send(ConnCommand::Send(message));
    }

    /// Closes this connection with `code` and `reason`.
    pub(crate) fn close(&self, code: u16, reason: &str) {
        let _ = self.commands.send(ConnCommand::Close {
            code,
            reason: reason.to_owned(),
        });
    }

    /// Sends `command` to this connection's task.
    pub(crate) fn command(&self, command: ConnCommand) {
        let _ = self.commands.send(command);
    }
}

/// A room's durable key-value storage (`room.storage`); it outlives the room instance.
pub(crate) type Storage = Arc<Mutex<Map<String, Value>>>;

/// What a party may do with its room while handling an event (`this.room`).
pub(crate) struct RoomCtx<'a> {
    connections: &'a [Connection],
    storage: &'a Storage,
}

impl RoomCtx<'_> {
    /// Sends `message` to every connection whose id is not in `except`.
    pub(crate) fn broadcast(&self, message: &Message, except: &[&str]) {
        for connection in self.connections {
            if !except.contains(&connection.id.as_str()) {
                connection.send(message.clone());
            }
        }
    }

    /// The number of open connections (`[...room.getConnections()].length`).
    pub(crate) fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// `room.storage.get(key)`.
    pub(crate) fn storage_get(&self, key: &str) -> Option<Value> {
        let storage = self.storage.lock().unwrap_or_else(PoisonError::into_inner);
        storage.get(key).cloned()
    }

    /// `room.storage.put(key, value)`.
    pub(crate) fn storage_put(&self, key: &str, value: Value) {
        let mut storage = self.storage.lock().unwrap_or_else(PoisonError::into_inner);
        storage.insert(key.to_owned(), value);
    }
}

/// The server side of one party, in the shape of `Party.Server`.
trait Party: Send {
    /// `onStart`: the room instance was created.
    fn on_start(&mut self, _room: &RoomCtx<'_>) {}

    /// `onConnect(conn, ctx)`; `conn` is already among the room's connections.
    fn on_connect(&mut self, conn: &Connection, request: &Request, room: &RoomCtx<'_>);

    /// `onMessage(message, sender)`.
    fn on_message(&mut self, message: &Message, sender: &Connection, room: &RoomCtx<'_>);

    /// `onClose(conn)`; `conn` is no longer among the room's connections.
    fn on_close(&mut self, _conn: &Connection, _room: &RoomCtx<'_>) {}

    /// `onRequest(req)`; without a handler `partykit dev` answers 500.
    fn on_request(&mut self, _request: &Request, _room: &RoomCtx<'_>) -> Response {
        Response::text(500, "No onRequest handler")
    }
}

/// One room of one party: the party instance and the room's open connections.
pub(crate) struct Room {
    party: Box<dyn Party>,
    connections: Vec<Connection>,
    storage: Storage,
}

impl std::fmt::Debug for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Room")
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

impl Room {
    /// Starts a room of the party `party` on `storage`; `None` for an unknown party.
    pub(crate) fn start(party: &str, storage: Storage) -> Option<Room> {
        let mut room = Room {
            party: create(party)?,
            connections: Vec::new(),
            storage,
        };
        let ctx = RoomCtx {
            connections: &room.connections,
            storage: &room.storage,
        };
        room.party.on_start(&ctx);
        Some(room)
    }

    /// Adds `conn` and runs `onConnect`.
    pub(crate) fn connect(&mut self, conn: Connection, request: &Request) {
        self.connections.push(conn.clone());
        let ctx = RoomCtx {
            connections: &self.connections,
            storage: &self.storage,
        };
        self.party.on_connect(&conn, request, &ctx);
    }

    /// Runs `onMessage` for a message from the connection `serial`, if it is still here.
    pub(crate) fn message(&mut self, serial: u64, message: &Message) {
        let Some(sender) = self.find(serial).cloned() else {
            return;
        };
        let ctx = RoomCtx {
            connections: &self.connections,
            storage: &self.storage,
        };
        self.party.on_message(message, &sender, &ctx);
    }

    /// Removes the connection `serial` and runs `onClose`.
    pub(crate) fn disconnect(&mut self, serial: u64) {
        let Some(at) = self.connections.iter().position(|c| c.serial == serial) else {
            return;
        };
        let conn = self.connections.remove(at);
        let ctx = RoomCtx {
            connections: &self.connections,
            storage: &self.storage,
        };
        self.party.on_close(&conn, &ctx);
    }

    /// Runs `onRequest`.
    pub(crate) fn request(&mut self, request: &Request) -> Response {
        let ctx = RoomCtx {
            connections: &self.connections,
            storage: &self.storage,
        };
        self.party.on_request(request, &ctx)
    }

    /// The open connections, in connection order.
    pub(crate) fn connections(&self) -> &[Connection] {
        &self.connections
    }

    fn find(&self, serial: u64) -> Option<&Connection> {
        self.connections.iter().find(|c| c.serial == serial)
    }
}

/// `JSON.parse` of a text frame; `None` for binary frames and invalid JSON (where the
/// guide's `JSON.parse(message as string)` throws).
fn parse_json(message: &Message) -> Option<Value> {
    message
        .as_text()
        .and_then(|text| serde_json::from_str(text).ok())
        .map(js_numbers)
}

/// Rewrites integral floats as integers, so re-serialising prints numbers as
/// `JSON.stringify` does (`1.0` becomes `1`).
fn js_numbers(value: Value) -> Value {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    match value {
        Value::Number(number) => match number.as_f64() {
            Some(float)
                if !number.is_i64()
                    && !number.is_u64()
                    && float.fract() == 0.0
                    && float.abs() <= MAX_SAFE =>
            {
                // The range check above makes the conversion exact.
                #[allow(clippy::cast_possible_truncation)]
                Value::from(float as i64)
            }
            _ => Value::Number(number),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(js_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key, js_numbers(value)))
                .collect(),
        ),
        other => other,
    }
}

/// A JSON text frame.
fn json_message(value: &Value) -> Message {
    Message::Text(value.to_string())
}

/// The value of `field` in a parsed message, when `data` is an object that has it
/// (`data.field` that is not `undefined`).
fn field<'a>(data: &'a Value, field: &str) -> Option<&'a Value> {
    data.as_object().and_then(|object| object.get(field))
}

/// `data?.type === expected`.
fn has_type(data: &Value, expected: &str) -> bool {
    field(data, "type").and_then(Value::as_str) == Some(expected)
}

/// Sets `key` to `value`, or removes it when `value` is `None` (assigning `undefined`,
/// which `JSON.stringify` leaves out).
fn assign(object: &mut Map<String, Value>, key: &str, value: Option<&Value>) {
    match value {
        Some(value) => {
            object.insert(key.to_owned(), value.clone());
        }
        None => {
            object.shift_remove(key);
        }
    }
}

/// What the guide's parties do with input they cannot parse: close the sender.
fn reject_invalid_json(sender: &Connection) {
    sender.close(1003, "invalid JSON");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_javascript_prints_them() {
        let value: Value =
            serde_json::from_str(r#"{"a":1.0,"b":[2.5,3.0e2],"c":-0.0,"d":7}"#).unwrap_or_default();
        assert_eq!(
            js_numbers(value).to_string(),
            r#"{"a":1,"b":[2.5,300],"c":0,"d":7}"#
        );
    }

    #[test]
    fn only_json_text_parses() {
        assert!(parse_json(&Message::Text("{\"type\":\"x\"}".into())).is_some());
        assert!(parse_json(&Message::Text("not json".into())).is_none());
        assert!(parse_json(&Message::Binary(b"{}".to_vec())).is_none());
    }

    #[test]
    fn unknown_parties_are_not_created() {
        for name in PARTY_NAMES {
            assert!(create(name).is_some(), "{name}");
        }
        assert!(create("nope").is_none());
    }
}
