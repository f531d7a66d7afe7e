//! The HTTP control surface under `/_mock/`: faults and the log for tests in other languages.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::http::{Request, Response};
use crate::parties::ConnCommand;
use crate::server::{MAX_DOWN_TIME, Shared};

/// The path prefix of every control route.
const PREFIX: &str = "/_mock/";

/// Whether `path` belongs to the control surface.
pub(crate) fn is_control_path(path: &str) -> bool {
    path.starts_with(PREFIX) || path == "/_mock"
}

/// Work that must wait until the response is written.
#[derive(Debug)]
pub(crate) enum After {
    /// Stop, stay down this long, listen again.
    Restart(Duration),
}

impl After {
    /// Runs the work on its own task (it outlives the connection that asked for it).
    pub(crate) fn spawn(self, shared: Arc<Shared>) {
        match self {
            After::Restart(down) => {
                tokio::spawn(async move {
                    if let Err(err) = shared.restart_after(down).await {
                        tracing::error!("restart failed: {err}");
                    }
                });
            }
        }
    }
}

/// Answers a control request; some answers schedule work for after the response.
///
/// Every answer allows any origin, so tests running in a browser page (served from
/// another port) can read it; `OPTIONS` answers a CORS preflight.
pub(crate) async fn handle(shared: &Shared, request: &Request) -> (Response, Option<After>) {
    let (response, after) = if request.method == "OPTIONS" {
        let response = Response::json(200, &json!({}))
            .with_header("Access-Control-Allow-Methods", "GET, POST")
            .with_header("Access-Control-Allow-Headers", "*");
        (response, None)
    } else {
        match route(shared, request).await {
            Ok((body, after)) => (Response::json(200, &body), after),
            Err((status, error)) => (Response::json(status, &json!({ "error": error })), None),
        }
    };
    (
        response.with_header("Access-Control-Allow-Origin", "*"),
        after,
    )
}

type Answer = Result<(Value, Option<After>), (u16, String)>;

async fn route(shared: &Shared, request: &Request) -> Answer {
    let name = request.path().trim_start_matches(PREFIX);
    let params = Params(request.query());
    let method = request.method.as_str();
    let expected = match name {
        "log" | "connections" => "GET",
        _ => "POST",
    };
    let known = [
        "log",
        "connections",
        "drop",
        "close",
        "refuse",
        "stall",
        "silent",
        "max-message-size",
        "restart",
        "reset",
        "clear-log",
    ];
    if !known.contains(&name) {
        return Err((
            404,
            format!(
                "no control route {:?}; known: {}",
                request.path(),
                known.join(", ")
            ),
        ));
    }
    if method != expected {
        return Err((405, format!("use {expected} for {PREFIX}{name}")));
    }
    let id = params.get("id");
    let body = match name {
        "log" => log(shared, &params),
        "connections" => json!(
            shared
                .connections()
                .into_iter()
                .map(|c| json!({ "party": c.party, "room": c.room, "id": c.id }))
                .collect::<Vec<_>>()
        ),
        "drop" => json!({ "dropped": shared.command(id, || ConnCommand::Drop) }),
        "close" => {
            let code = params.number("code")?.unwrap_or(1000);
            let code = u16::try_from(code)
                .ok()
                .filter(|code| (1000..5000).contains(code))
                .ok_or((400, format!("code must be 1000..4999: got {code}")))?;
            let reason = params.get("reason").unwrap_or_default().to_owned();
            let closed = shared.command(id, || ConnCommand::Close {
                code,
                reason: reason.clone(),
            });
            json!({ "closed": closed })
        }
        "refuse" => {
            let count = params.number("count")?.unwrap_or(1);
            let status = params.number("status")?.unwrap_or(503);
            let status = u16::try_from(status)
                .ok()
                .filter(|status| (400..600).contains(status))
                .ok_or((400, format!("status must be 400..599: got {status}")))?;
            let retry_after = params.number("retry_after")?;
            let count = u32::try_from(count).map_err(|_| (400, "count too large".to_owned()))?;
            let retry_after = retry_after
                .map(u32::try_from)
                .transpose()
                .map_err(|_| (400, "retry_after too large".to_owned()))?;
            shared.refuse_next(count, status, retry_after);
            json!({ "refusing": count, "status": status, "retry_after": retry_after })
        }
        "stall" => {
            let on = params.flag("on")?;
            shared.faults().stall = on;
            json!({ "stall": on })
        }
        "silent" => {
            let on = params.flag("on")?;
            json!({ "silenced": shared.set_silent(id, on).await, "on": on })
        }
        "max-message-size" => {
            let bytes = params.number("bytes")?;
            let limit = bytes
                .map(usize::try_from)
                .transpose()
                .map_err(|_| (400, "bytes too large".to_owned()))?;
            shared.faults().max_message_size = limit;
            json!({ "max_message_size": limit })
        }
        "restart" => {
            let down = Duration::from_millis(params.number("down_ms")?.unwrap_or(0));
            if down > MAX_DOWN_TIME {
                return Err((
                    400,
                    format!("down_ms must be at most {}", MAX_DOWN_TIME.as_millis()),
                ));
            }
            let after = After::Restart(down);
            return Ok((
                json!({ "restarting": true, "down_ms": down.as_millis() }),
                Some(after),
            ));
        }
        "reset" => {
            shared.reset_faults();
            shared.clear_log();
            json!({ "reset": true })
        }
        "clear-log" => {
            shared.clear_log();
            json!({ "cleared": true })
        }
        _ => unreachable!("checked against `known` above"),
    };
    Ok((body, None))
}

/// `GET /_mock/log[?party=P&room=R]`: attempts and received messages.
fn log(shared: &Shared, params: &Params) -> Value {
    let received: Vec<Value> = shared
        .all_received()
        .into_iter()
        .filter(|(party, room, _)| {
            params.get("party").is_none_or(|p| p == party)
                && params.get("room").is_none_or(|r| r == room)
        })
        .map(
            |(party, room, messages)| json!({ "party": party, "room": room, "messages": messages }),
        )
        .collect();
    json!({ "attempts": shared.attempts(), "received": received })
}

/// The query parameters of a control request.
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn number(&self, name: &str) -> Result<Option<u64>, (u16, String)> {
        self.get(name)
            .map(|value| {
                value
                    .parse::<u64>()
                    .map_err(|_| (400, format!("{name} must be a whole number: got {value:?}")))
            })
            .transpose()
    }

    /// `on=true|false|1|0`; absent means `true`.
    fn flag(&self, name: &str) -> Result<bool, (u16, String)> {
        match self.get(name) {
            None | Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(other) => Err((400, format!("{name} must be true or false: got {other:?}"))),
        }
    }
}
