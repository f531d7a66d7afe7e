//! Who's online: the guide's Presence pattern from the client side. Bots join with a
//! name, change their status now and then, and everyone sees the presence list update.
//!
//! ```sh
//! cargo run --example presence -- --bots 3 --seconds 5
//! ```

#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use clap::Parser;
use partysocket::{Event, PartySocket, PartySocketOptions, Query};
use serde_json::{Value, json};
use support::Timeline;

/// Watch a presence list while bots come, change status and go.
#[derive(Parser, Debug)]
struct Args {
    /// The PartyKit host (default: start the bundled server in-process).
    #[arg(long)]
    host: Option<String>,
    /// The room.
    #[arg(long, default_value = "office")]
    room: String,
    /// Your name.
    #[arg(long, default_value = "watcher")]
    name: String,
    /// How many bots join.
    #[arg(long, default_value_t = 2)]
    bots: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 4)]
    seconds: u64,
}

fn options(
    host: &str,
    room: &str,
    name: &str,
) -> Result<PartySocketOptions, partysocket::OptionsError> {
    PartySocketOptions::builder(host)
        .party("presence")
        .room(room)
        .query(Query::new().with("name", name))
        .build()
}

fn summary(users: &Value) -> String {
    let mut entries: Vec<String> = users
        .as_object()
        .map(|map| {
            map.values()
                .map(|u| {
                    format!(
                        "{} ({})",
                        u["name"].as_str().unwrap_or("?"),
                        u["status"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    format!("{} online: {}", entries.len(), entries.join(", "))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let timeline = Timeline::new();
    let (_server, host) = support::server_or(args.host.clone(), &timeline).await?;

    let (me, mut events) = PartySocket::connect(options(&host, &args.room, &args.name)?)?;
    me.opened().await?;
    timeline.say(&args.name, format!("watching {}", me.room_url()));

    let mut bots = Vec::new();
    for i in 0..args.bots {
        let (bot, _events) =
            PartySocket::connect(options(&host, &args.room, &format!("bot-{i}"))?)?;
        let handle = bot.clone();
        tokio::spawn(async move {
            let statuses = ["away", "busy", "online"];
            for round in 0..u64::MAX {
                tokio::time::sleep(Duration::from_millis(700 + 300 * i as u64)).await;
                let status = statuses[(round as usize + i) % statuses.len()];
                if handle
                    .send_json(&json!({ "type": "status", "status": status }))
                    .is_err()
                {
                    return;
                }
            }
        });
        bots.push(bot);
    }

    let deadline = tokio::time::sleep(Duration::from_secs(args.seconds));
    tokio::pin!(deadline);
    let mut last = String::new();
    loop {
        tokio::select! {
            () = &mut deadline => break,
            event = events.recv() => match event {
                Some(Event::Message(message)) => {
                    if let Ok(value) = message.json::<Value>() {
                        let line = summary(&value["users"]);
                        if line != last {
                            timeline.say("room", &line);
                            last = line;
                        }
                    }
                }
                Some(_) => {}
                None => break,
            },
        }
    }
    for bot in &bots {
        bot.close()?;
    }
    me.close()?;
    timeline.say(&args.name, "done");
    Ok(())
}
