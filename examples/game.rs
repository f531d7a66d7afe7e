//! Multiplayer game state: bots walk in circles at 60 ticks a second but send their
//! position at most every 50 ms (debounced), with a coalescing key so that while
//! disconnected only the latest position waits in the queue.
//!
//! ```sh
//! cargo run --example game -- --bots 3 --seconds 3
//! ```

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Parser;
use partysocket::{Event, Message, PartySocket, PartySocketOptions, Query};
use serde_json::{Value, json};
use support::Timeline;

/// Bots moving in a shared game room.
#[derive(Parser, Debug)]
struct Args {
    /// The PartyKit host (default: start the bundled server in-process).
    #[arg(long)]
    host: Option<String>,
    /// The room.
    #[arg(long, default_value = "arena")]
    room: String,
    /// How many bots play.
    #[arg(long, default_value_t = 3)]
    bots: usize,
    /// How long to play, in seconds.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
}

const TICK: Duration = Duration::from_millis(16);
const SEND_EVERY: Duration = Duration::from_millis(50);

/// What one bot saw and did.
#[derive(Debug, Default)]
struct Tally {
    ticks: u64,
    sent: u64,
    others: BTreeMap<String, (f64, f64)>,
}

fn apply(tally: &mut Tally, me: &str, message: &Message) {
    let Ok(value) = message.json::<Value>() else {
        return;
    };
    let position = |v: &Value| {
        (
            v["x"].as_f64().unwrap_or(0.0),
            v["y"].as_f64().unwrap_or(0.0),
        )
    };
    match value["type"].as_str() {
        Some("init") => {
            for (id, player) in value["players"].as_object().into_iter().flatten() {
                if id != me {
                    tally.others.insert(id.clone(), position(player));
                }
            }
        }
        Some("player-join") => {
            let player = &value["player"];
            if let Some(id) = player["id"].as_str().filter(|id| *id != me) {
                tally.others.insert(id.to_owned(), position(player));
            }
        }
        Some("player-move") => {
            if let Some(id) = value["id"].as_str() {
                tally.others.insert(id.to_owned(), position(&value));
            }
        }
        Some("player-leave") => {
            if let Some(id) = value["id"].as_str() {
                tally.others.remove(id);
            }
        }
        _ => {}
    }
}

async fn play(
    host: String,
    room: String,
    index: usize,
    for_how_long: Duration,
) -> Result<(String, Tally), String> {
    let name = format!("bot-{index}");
    let options = PartySocketOptions::builder(host)
        .party("game")
        .room(room)
        .id(name.clone())
        .query(Query::new().with("name", name.as_str()))
        .build()
        .map_err(|e| e.to_string())?;
    let (socket, mut events) = PartySocket::connect(options).map_err(|e| e.to_string())?;
    socket.opened().await.map_err(|e| e.to_string())?;
    let mut tally = Tally::default();
    let mut ticker = tokio::time::interval(TICK);
    let started = Instant::now();
    let mut last_sent = None::<Instant>;
    while started.elapsed() < for_how_long {
        tokio::select! {
            _ = ticker.tick() => {
                tally.ticks += 1;
                let angle = tally.ticks as f64 / 30.0 + index as f64;
                let (x, y) = (400.0 + 100.0 * angle.cos(), 300.0 + 100.0 * angle.sin());
                if last_sent.is_none_or(|at| at.elapsed() >= SEND_EVERY) {
                    let message = Message::to_json(&json!({ "type": "move", "x": x, "y": y })).map_err(|e| e.to_string())?;
                    // Sent, or (while disconnected) Coalesced with the move still queued.
                    let _ = socket.send_coalesced("move", message).map_err(|e| e.to_string())?;
                    tally.sent += 1;
                    last_sent = Some(Instant::now());
                }
            }
            event = events.recv() => match event {
                Some(Event::Message(message)) => apply(&mut tally, &name, &message),
                Some(_) => {}
                None => break,
            },
        }
    }
    socket.close().map_err(|e| e.to_string())?;
    Ok((name, tally))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let timeline = Timeline::new();
    let (_server, host) = support::server_or(args.host.clone(), &timeline).await?;
    timeline.say(
        "game",
        format!(
            "{} bots playing for {} s in room {}",
            args.bots, args.seconds, args.room
        ),
    );
    let games: Vec<_> = (0..args.bots)
        .map(|i| {
            tokio::spawn(play(
                host.clone(),
                args.room.clone(),
                i,
                Duration::from_secs(args.seconds),
            ))
        })
        .collect();
    for game in games {
        let (name, tally) = game.await??;
        let seen: Vec<String> = tally
            .others
            .iter()
            .map(|(id, (x, y))| format!("{id}@({x:.0},{y:.0})"))
            .collect();
        timeline.say(
            &name,
            format!(
                "{} ticks, {} moves sent (debounced), sees {}",
                tally.ticks,
                tally.sent,
                if seen.is_empty() {
                    "nobody".to_owned()
                } else {
                    seen.join(" ")
                }
            ),
        );
    }
    Ok(())
}
