//! What the command prints: messages on stdout, status on stderr, or, with `--json`,
//! one JSON object per event on stdout.

use std::io::{self, Write};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use partysocket::{CloseFrame, DropReason, Message, StopReason, TransportError, redact_url};
use serde_json::{Value, json};

/// Something to tell the user besides a message.
#[derive(Debug)]
pub(crate) enum Status<'a> {
    /// A connection opened.
    Connected {
        /// The URL (query values are redacted when printed).
        url: &'a str,
        /// The subprotocol the server chose.
        protocol: Option<&'a str>,
    },
    /// An attempt after the first is under way.
    Connecting {
        /// The retry count of the attempt.
        attempt: u32,
    },
    /// Waiting before the next attempt.
    Reconnecting {
        /// The retry count of the coming attempt.
        attempt: u32,
        /// How long until it starts.
        delay: Duration,
    },
    /// A connection closed.
    Closed {
        /// The close frame (1006 when the connection dropped).
        frame: &'a CloseFrame,
        /// Whether the closing handshake completed.
        was_clean: bool,
    },
    /// An attempt or a connection failed.
    Error(&'a TransportError),
    /// The socket stopped for good.
    GaveUp(&'a StopReason),
    /// A full queue evicted older messages.
    Evicted(usize),
    /// A line from stdin was not queued.
    Dropped(DropReason),
    /// A line from stdin could not be read as text.
    Input(&'a str),
}

/// Where and how output goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Report {
    json: bool,
}

impl Report {
    pub(crate) fn new(json: bool) -> Self {
        Report { json }
    }

    /// Prints a received message: its text (binary as base64) as one line, or a JSON
    /// `message` event.
    ///
    /// # Errors
    ///
    /// When stdout is closed.
    pub(crate) fn message(&self, message: &Message) -> io::Result<()> {
        let mut out = io::stdout().lock();
        if self.json {
            let event = match message.as_text() {
                Some(text) => json!({ "event": "message", "text": text }),
                None => json!({ "event": "message", "binary": BASE64.encode(message.as_bytes()) }),
            };
            writeln!(out, "{event}")?;
        } else {
            match message.as_text() {
                Some(text) => writeln!(out, "{text}")?,
                None => writeln!(out, "{}", BASE64.encode(message.as_bytes()))?,
            }
        }
        out.flush()
    }

    /// Prints a status line on stderr, or a JSON event on stdout.
    ///
    /// # Errors
    ///
    /// When stdout is closed (JSON mode; stderr errors are ignored).
    pub(crate) fn status(&self, status: &Status<'_>) -> io::Result<()> {
        if self.json {
            let mut out = io::stdout().lock();
            writeln!(out, "{}", status_json(status))?;
            out.flush()
        } else {
            let _ = writeln!(io::stderr().lock(), "{}", status_text(status));
            Ok(())
        }
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

fn quoted_reason(frame: &CloseFrame) -> String {
    if frame.reason.is_empty() {
        "no reason".to_owned()
    } else {
        format!("{:?}", frame.reason)
    }
}

/// The one-line description of why the socket stopped.
pub(crate) fn stop_text(reason: &StopReason) -> String {
    match reason {
        StopReason::RetriesExhausted { attempts } => {
            format!("{attempts} attempts failed in a row (--max-retries)")
        }
        StopReason::GaveUp {
            close,
            failure: Some(failure),
        } => format!("{failure} (close {})", close.code),
        StopReason::GaveUp {
            close,
            failure: None,
        } => format!(
            "the server closed with {} ({}), which is not retried",
            close.code,
            quoted_reason(close)
        ),
        StopReason::ClosedByApp => "closed".to_owned(),
        StopReason::NotStarted => "not started".to_owned(),
        other => format!("{other:?}"),
    }
}

fn status_text(status: &Status<'_>) -> String {
    match status {
        Status::Connected { url, protocol } => match protocol {
            Some(protocol) => format!("connected: {} (subprotocol {protocol})", redact_url(url)),
            None => format!("connected: {}", redact_url(url)),
        },
        Status::Connecting { attempt } => format!("connecting: attempt {attempt}"),
        Status::Reconnecting { attempt, delay } => {
            format!("reconnecting: attempt {attempt} in {}", seconds(*delay))
        }
        Status::Closed { frame, was_clean } => format!(
            "closed: code {} ({}){}",
            frame.code,
            quoted_reason(frame),
            if *was_clean { "" } else { ", not clean" }
        ),
        Status::Error(error) => format!("error: {error}"),
        Status::GaveUp(reason) => format!("gave up: {}", stop_text(reason)),
        Status::Evicted(count) => {
            format!("queue full: dropped {count} older queued message(s)")
        }
        Status::Dropped(DropReason::QueueFull) => {
            "dropped: the queue is full (--max-queue, --max-queue-bytes)".to_owned()
        }
        Status::Dropped(DropReason::TooLarge) => {
            "dropped: the line is larger than --max-queue-bytes".to_owned()
        }
        Status::Input(problem) => format!("input: {problem}"),
    }
}

fn status_json(status: &Status<'_>) -> Value {
    match status {
        Status::Connected { url, protocol } => {
            json!({ "event": "open", "url": redact_url(url), "protocol": protocol })
        }
        Status::Connecting { attempt } => json!({ "event": "connecting", "attempt": attempt }),
        Status::Reconnecting { attempt, delay } => json!({
            "event": "reconnecting",
            "attempt": attempt,
            "delay_ms": u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        }),
        Status::Closed { frame, was_clean } => json!({
            "event": "close",
            "code": frame.code,
            "reason": frame.reason,
            "was_clean": was_clean,
        }),
        Status::Error(error) => {
            let mut value = json!({ "event": "error", "error": error.to_string() });
            if let TransportError::HandshakeRejected { status, .. } = error {
                value["status"] = json!(status);
            }
            value
        }
        Status::GaveUp(reason) => json!({ "event": "gave_up", "reason": stop_text(reason) }),
        Status::Evicted(count) => json!({ "event": "evicted", "count": count }),
        Status::Dropped(reason) => {
            json!({ "event": "dropped", "reason": format!("{reason:?}") })
        }
        Status::Input(problem) => json!({ "event": "input_error", "error": problem }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_name_attempt_delay_code_and_reason() {
        assert_eq!(
            status_text(&Status::Reconnecting {
                attempt: 2,
                delay: Duration::from_millis(3900)
            }),
            "reconnecting: attempt 2 in 3.9s"
        );
        let frame = CloseFrame::new(4000, "bye");
        assert_eq!(
            status_text(&Status::Closed {
                frame: &frame,
                was_clean: true
            }),
            "closed: code 4000 (\"bye\")"
        );
        let dropped = CloseFrame::abnormal("");
        assert_eq!(
            status_text(&Status::Closed {
                frame: &dropped,
                was_clean: false
            }),
            "closed: code 1006 (no reason), not clean"
        );
        assert_eq!(
            status_text(&Status::Connected {
                url: "ws://h/p?_pk=me&token=secret",
                protocol: None
            }),
            "connected: ws://h/p?_pk=me&token=REDACTED"
        );
    }

    #[test]
    fn json_events_carry_the_fields_scripts_need() {
        let rejected = TransportError::HandshakeRejected {
            status: 401,
            retry_after: None,
        };
        let value = status_json(&Status::Error(&rejected));
        assert_eq!(value["event"], "error");
        assert_eq!(value["status"], 401);
        let value = status_json(&Status::Reconnecting {
            attempt: 1,
            delay: Duration::from_millis(50),
        });
        assert_eq!(
            value,
            json!({"event": "reconnecting", "attempt": 1, "delay_ms": 50})
        );
    }
}
