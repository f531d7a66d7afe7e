//! `main`: the Quick Start server with the guide's HTTP Requests handler.

use serde_json::{Value, json};

use super::{Connection, Party, RoomCtx, js_numbers};
use crate::http::{Request, Response};
use crate::log::Message;

/// Greets, broadcasts every message to everyone but its sender, and over HTTP counts
/// connections (GET) or broadcasts a JSON body (POST).
pub(super) struct MainParty;

impl Party for MainParty {
    fn on_connect(&mut self, conn: &Connection, _request: &Request, _room: &RoomCtx<'_>) {
        conn.send(Message::Text("Welcome to the party!".to_owned()));
    }

    fn on_message(&mut self, message: &Message, sender: &Connection, room: &RoomCtx<'_>) {
        room.broadcast(message, &[&sender.id]);
    }

    fn on_request(&mut self, request: &Request, room: &RoomCtx<'_>) -> Response {
        match request.method.as_str() {
            "GET" => Response::json(200, &json!({ "connections": room.connection_count() })),
            "POST" => {
                let text = String::from_utf8_lossy(&request.body);
                match serde_json::from_str::<Value>(&text) {
                    Ok(body) => {
                        room.broadcast(&Message::Text(js_numbers(body).to_string()), &[]);
                        Response::text(200, "Broadcasted")
                    }
                    Err(_) => Response::text(400, "Invalid JSON"),
                }
            }
            _ => Response::text(404, "Not found"),
        }
    }
}
