//! `echo`: for tests and benchmarks; says who the client is, then echoes every frame.

use serde_json::json;

use super::{Connection, Party, RoomCtx, json_message};
use crate::http::{Request, Response};
use crate::log::Message;

/// Sends `{"id","url"}` on connect and every text or binary frame back to its sender;
/// over HTTP answers `{"method","url","body"}`.
pub(super) struct EchoParty;

impl Party for EchoParty {
    fn on_connect(&mut self, conn: &Connection, request: &Request, _room: &RoomCtx<'_>) {
        conn.send(json_message(&json!({ "id": conn.id, "url": request.url })));
    }

    fn on_message(&mut self, message: &Message, sender: &Connection, _room: &RoomCtx<'_>) {
        sender.send(message.clone());
    }

    fn on_request(&mut self, request: &Request, _room: &RoomCtx<'_>) -> Response {
        Response::json(
            200,
            &json!({
                "method": request.method,
                "url": request.url,
                "body": String::from_utf8_lossy(&request.body),
            }),
        )
    }
}
