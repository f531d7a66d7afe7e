//! Two clients join a room, talk, survive a server restart, and deliver what was sent
//! while the server was down.
//!
//! ```sh
//! cargo run --example quickstart                       # bundled server, restart included
//! cargo run --example quickstart -- --host my-app.my-user.partykit.dev
//! ```

#[path = "support/mod.rs"]
mod support;

use std::time::Duration;

use clap::Parser;
use partysocket::{Event, Events, PartySocket, PartySocketOptions, SendOutcome};
use support::{Timeline, describe};
use tokio::sync::mpsc;

/// Two PartySocket clients in one room: messages, a server restart, reconnection.
#[derive(Parser, Debug)]
struct Args {
    /// A PartyKit host to use instead of the bundled server (no restart then).
    #[arg(long)]
    host: Option<String>,
    /// The room to join.
    #[arg(long, default_value = "quickstart")]
    room: String,
}

/// Prints `who`'s events on the timeline and forwards received texts.
fn follow(
    who: &'static str,
    mut events: Events,
    timeline: Timeline,
) -> mpsc::UnboundedReceiver<String> {
    let (texts_tx, texts) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if let Some(line) = describe(&event) {
                timeline.say(who, line);
            }
            if let Event::Message(message) = event {
                if let Some(text) = message.as_text() {
                    let _ = texts_tx.send(text.to_owned());
                }
            }
        }
    });
    texts
}

async fn expect_text(
    texts: &mut mpsc::UnboundedReceiver<String>,
    want: &str,
) -> Result<(), String> {
    let wait = async {
        while let Some(text) = texts.recv().await {
            if text == want {
                return Ok(());
            }
        }
        Err(format!("stopped before receiving {want:?}"))
    };
    tokio::time::timeout(Duration::from_secs(8), wait)
        .await
        .map_err(|_| format!("did not receive {want:?} within 8 s"))?
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let timeline = Timeline::new();
    let (server, host) = support::server_or(args.host.clone(), &timeline).await?;

    // Bob retries sooner than Alice, so he is back in the room when Alice's queued
    // message goes out.
    let client = |id: &str, first_retry_ms: u64| {
        PartySocketOptions::builder(host.as_str())
            .room(args.room.as_str())
            .id(id)
            .min_reconnection_delay(Duration::from_millis(first_retry_ms))
            .max_reconnection_delay(Duration::from_secs(2))
            .build()
    };
    let (alice, alice_events) = PartySocket::connect(client("alice", 1000)?)?;
    let (bob, bob_events) = PartySocket::connect(client("bob", 300)?)?;
    timeline.say("alice", format!("joining {}", alice.room_url()));
    let mut alice_texts = follow("alice", alice_events, timeline);
    let mut bob_texts = follow("bob", bob_events, timeline);
    // The greeting comes from the room once it has registered the connection, so after
    // it broadcasts reach that client.
    expect_text(&mut alice_texts, "Welcome to the party!").await?;
    expect_text(&mut bob_texts, "Welcome to the party!").await?;

    let outcome = alice.send("hi bob!")?;
    timeline.say("alice", format!("sent \"hi bob!\" ({outcome:?})"));
    expect_text(&mut bob_texts, "hi bob!").await?;

    if let Some(server) = &server {
        timeline.say("server", "crashing: connections end without a close frame");
        server.stop().await;
        alice
            .wait_for(|state| !matches!(state, partysocket::ConnectionState::Open))
            .await?;
        let outcome = alice.send("did you miss me?")?;
        timeline.say(
            "alice",
            format!("sent \"did you miss me?\" while offline: {outcome:?}"),
        );
        if outcome != SendOutcome::Queued {
            return Err(
                format!("expected the offline message to be queued, got {outcome:?}").into(),
            );
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        server.restart().await?;
        timeline.say("server", "back on the same port");
        alice.opened().await?;
        bob.opened().await?;
        expect_text(&mut bob_texts, "did you miss me?").await?;
        let received = server.received("main", &args.room);
        let copies = received
            .iter()
            .filter(|r| r.message.as_text() == Some("did you miss me?"))
            .count();
        timeline.say(
            "server",
            format!("received the queued message {copies} time(s)"),
        );
        if copies != 1 {
            return Err(format!("expected the queued message exactly once, got {copies}").into());
        }
    }

    alice.close()?;
    bob.close()?;
    alice
        .wait_for(|state| matches!(state, partysocket::ConnectionState::Closed { .. }))
        .await?;
    bob.wait_for(|state| matches!(state, partysocket::ConnectionState::Closed { .. }))
        .await?;
    // Let the printers catch up with the last events.
    tokio::time::sleep(Duration::from_millis(50)).await;
    timeline.say("done", "both clients closed");
    Ok(())
}
