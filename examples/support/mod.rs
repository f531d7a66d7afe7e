//! What the examples share: a timeline printer and the in-process mock server.

#![allow(dead_code, unreachable_pub)]

use std::time::Instant;

use party_mock::{MockConfig, MockServer};
use partysocket::{ConnectionState, Event, Message, StopReason};

/// Prints lines stamped with the seconds since the program started.
#[derive(Debug, Clone, Copy)]
pub struct Timeline {
    start: Instant,
}

impl Timeline {
    pub fn new() -> Self {
        Timeline {
            start: Instant::now(),
        }
    }

    pub fn say(&self, who: &str, what: impl std::fmt::Display) {
        println!(
            "{:>7.3}s  {who:<7} {what}",
            self.start.elapsed().as_secs_f64()
        );
    }
}

/// The host to talk to: `host` when given, else the bundled PartyKit-compatible server,
/// started on a free loopback port (kept running while the returned server lives).
pub async fn server_or(
    host: Option<String>,
    timeline: &Timeline,
) -> Result<(Option<MockServer>, String), std::io::Error> {
    if let Some(host) = host {
        return Ok((None, host));
    }
    let server = MockServer::start(MockConfig::default()).await?;
    let host = server.host();
    timeline.say(
        "server",
        format!("bundled PartyKit mock listening on {host}"),
    );
    Ok((Some(server), host))
}

fn text(message: &Message) -> String {
    match message {
        Message::Text(text) => format!("{text:?}"),
        Message::Binary(bytes) => format!("<{} bytes>", bytes.len()),
    }
}

/// One readable line for an event, or `None` for events not worth a line.
pub fn describe(event: &Event) -> Option<String> {
    Some(match event {
        Event::Open { .. } => "open".to_owned(),
        Event::Message(message) => format!("received {}", text(message)),
        Event::Close { frame, was_clean } => format!(
            "closed: code {}{}{}",
            frame.code,
            if frame.reason.is_empty() {
                String::new()
            } else {
                format!(" {:?}", frame.reason)
            },
            if *was_clean {
                ""
            } else {
                " (no close handshake)"
            }
        ),
        Event::Error(error) => format!("error: {error}"),
        Event::StateChanged(ConnectionState::Connecting { attempt }) => {
            format!("connecting (attempt {attempt})")
        }
        Event::StateChanged(ConnectionState::BackingOff { attempt, retry_at }) => format!(
            "retrying in {:.2}s (attempt {attempt})",
            retry_at
                .saturating_duration_since(std::time::Instant::now())
                .as_secs_f64()
        ),
        Event::StateChanged(ConnectionState::Closed { reason }) => match reason {
            StopReason::ClosedByApp => "stopped (closed by the application)".to_owned(),
            StopReason::NotStarted => "waiting to be started".to_owned(),
            StopReason::RetriesExhausted { attempts } => {
                format!("gave up after {attempts} attempts")
            }
            StopReason::GaveUp {
                failure: Some(failure),
                ..
            } => format!("gave up: {failure}"),
            StopReason::GaveUp { close, .. } => format!("gave up after close {close}"),
            other => format!("stopped: {other:?}"),
        },
        Event::StateChanged(_) => return None,
        Event::RetriesExhausted { attempts } => format!("retries exhausted after {attempts}"),
        Event::Evicted(messages) => format!("queue full: evicted {} message(s)", messages.len()),
        _ => return None,
    })
}
