//! An interactive terminal chat on the guide's Chat Room party: type a line to send it,
//! `/quit` (or end of input) to leave. Connection state changes are shown as they happen.
//!
//! ```sh
//! cargo run --example chat                                   # bundled server
//! cargo run -p party-mock --bin party-mock -- --port 1999    # or a shared local server…
//! cargo run --example chat -- --host localhost:1999 --name ada
//! ```

#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use clap::Parser;
use partysocket::{ConnectionState, Event, Message, PartySocket, PartySocketOptions};
use serde_json::{Value, json};
use support::{Timeline, describe};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Chat in a PartyKit room from the terminal.
#[derive(Parser, Debug)]
struct Args {
    /// The PartyKit host (default: start the bundled server in-process).
    #[arg(long)]
    host: Option<String>,
    /// The room to join.
    #[arg(long, default_value = "lobby")]
    room: String,
    /// Your name in the chat.
    #[arg(long, default_value = "guest")]
    name: String,
    /// The party serving the chat.
    #[arg(long, default_value = "chat")]
    party: String,
}

fn show(timeline: &Timeline, message: &Message) {
    let Ok(value) = message.json::<Value>() else {
        timeline.say("room", format!("{message:?}"));
        return;
    };
    let line = |m: &Value| {
        format!(
            "[{}] {}",
            m["user"].as_str().unwrap_or("?"),
            m["text"].as_str().unwrap_or("")
        )
    };
    match value["type"].as_str() {
        Some("sync") => {
            let history = value["messages"].as_array().cloned().unwrap_or_default();
            timeline.say("room", format!("{} earlier message(s)", history.len()));
            for m in &history {
                timeline.say("room", line(m));
            }
        }
        Some("message") => timeline.say("room", line(&value["message"])),
        _ => timeline.say("room", value),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let timeline = Timeline::new();
    let (_server, host) = support::server_or(args.host.clone(), &timeline).await?;
    let options = PartySocketOptions::builder(host)
        .party(args.party.as_str())
        .room(args.room.as_str())
        .build()?;
    let (socket, mut events) = PartySocket::connect(options)?;
    timeline.say(
        "you",
        format!(
            "joining {} as {}; type a message, /quit to leave",
            socket.room_url(),
            args.name
        ),
    );

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut input_open = true;
    while input_open {
        tokio::select! {
            line = lines.next_line() => match line? {
                Some(line) if line.trim() == "/quit" => input_open = false,
                Some(line) if line.trim().is_empty() => {}
                Some(line) => {
                    let outcome = socket
                        .send_json(&json!({ "type": "message", "user": args.name, "text": line }))?;
                    if outcome != partysocket::SendOutcome::Sent {
                        timeline.say("you", format!("offline: message {outcome:?}"));
                    }
                }
                None => input_open = false,
            },
            event = events.recv() => match event {
                Some(Event::Message(message)) => show(&timeline, &message),
                Some(event) => {
                    if let Some(line) = describe(&event) {
                        timeline.say("socket", line);
                    }
                }
                None => break,
            },
        }
    }

    // Give the room a moment to echo what was just sent, then leave.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Some(event) = events.recv().await {
            if let Event::Message(message) = event {
                show(&timeline, &message);
            }
        }
    })
    .await;
    socket.close()?;
    socket
        .wait_for(|s| matches!(s, ConnectionState::Closed { .. }))
        .await?;
    timeline.say("you", "left the room");
    Ok(())
}
