//! The guide's multiplayer game as a headless Bevy app: bots join the `game` party's
//! room, move every frame (`send_coalesced`, so only the latest position waits out an
//! outage), and print `player-join`, `player-move` and `player-leave` as they arrive.
//!
//! ```sh
//! cargo run -p partysocket-bevy --example headless_game                       # bundled mock
//! cargo run -p partysocket-bevy --example headless_game -- --host localhost:1999 --bots 3 --seconds 5
//! ```

use std::time::{Duration, Instant};

use bevy_app::{App, AppExit, Startup, Update};
use bevy_ecs::prelude::*;
use partysocket::{PartySocketOptions, Query as UrlQuery};
use partysocket_bevy::{
    PartySocketCommands, PartySocketPlugin, PartySockets, SocketClosed, SocketMessage, SocketOpened,
};

/// A bot: its name and where it walks.
#[derive(Component, Debug)]
struct Bot {
    name: String,
    step: f64,
}

#[derive(Resource, Debug)]
struct Settings {
    host: String,
    bots: usize,
    until: Instant,
}

#[derive(Resource, Debug, Default)]
struct Tally {
    joins: usize,
    moves: usize,
    leaves: usize,
}

fn join(mut commands: Commands<'_, '_>, settings: Res<'_, Settings>) {
    for n in 0..settings.bots {
        let name = format!("bot-{n}");
        let options = PartySocketOptions::builder(settings.host.as_str())
            .party("game")
            .room("bevy-arena")
            .query(UrlQuery::new().with("name", name.as_str()))
            .build();
        match options {
            Ok(options) => {
                let entity = commands.open_party_socket(options);
                commands.entity(entity).insert(Bot { name, step: 0.0 });
            }
            Err(err) => eprintln!("{name}: {err}"),
        }
    }
}

/// Every frame each bot moves a little; the socket sends it now or keeps only the
/// latest position while disconnected. `PartySockets` is the same natively and in the
/// browser, so this system compiles for both.
fn walk(sockets: PartySockets<'_, '_>, mut bots: Query<'_, '_, (Entity, &mut Bot)>) {
    for (entity, mut bot) in &mut bots {
        let Some(socket) = sockets.get(entity) else {
            continue;
        };
        bot.step += 1.0;
        let (x, y) = (
            400.0 + 100.0 * (bot.step / 20.0).cos(),
            300.0 + bot.step % 50.0,
        );
        let text = format!(r#"{{"type":"move","x":{x:.1},"y":{y:.1}}}"#);
        if let Err(err) = socket.send_coalesced("position", text) {
            eprintln!("{}: {err}", bot.name);
        }
    }
}

fn show(
    bots: Query<'_, '_, &Bot>,
    mut tally: ResMut<'_, Tally>,
    mut opened: MessageReader<'_, '_, SocketOpened>,
    mut closed: MessageReader<'_, '_, SocketClosed>,
    mut messages: MessageReader<'_, '_, SocketMessage>,
) {
    let name = |entity: Entity| bots.get(entity).map_or("?", |bot| bot.name.as_str());
    for open in opened.read() {
        println!("{}: connected", name(open.entity));
    }
    for close in closed.read() {
        println!("{}: closed with {}", name(close.entity), close.frame);
    }
    for arrived in messages.read() {
        let Some(text) = arrived.message.as_text() else {
            continue;
        };
        let kind = text
            .split(r#""type":""#)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("?");
        match kind {
            "player-join" => {
                tally.joins += 1;
                println!("{}: {text}", name(arrived.entity));
            }
            "player-move" => tally.moves += 1,
            "player-leave" => {
                tally.leaves += 1;
                println!("{}: {text}", name(arrived.entity));
            }
            _ => {}
        }
    }
}

fn stop(settings: Res<'_, Settings>, tally: Res<'_, Tally>, mut exit: MessageWriter<'_, AppExit>) {
    if Instant::now() >= settings.until {
        println!(
            "done: {} joins, {} moves, {} leaves seen",
            tally.joins, tally.moves, tally.leaves
        );
        exit.write(AppExit::Success);
    }
}

fn main() -> AppExit {
    let mut host = None;
    let mut bots = 2usize;
    let mut seconds = 2u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        let parsed = match (arg.as_str(), value) {
            ("--host", Some(value)) => {
                host = Some(value);
                Some(())
            }
            ("--bots", Some(value)) => value.parse().ok().map(|n| bots = n),
            ("--seconds", Some(value)) => value.parse().ok().map(|n| seconds = n),
            _ => None,
        };
        if parsed.is_none() {
            eprintln!("usage: headless_game [--host HOST] [--bots N] [--seconds N]");
            return AppExit::error();
        }
    }
    // Without --host, the bundled mock runs in this process.
    let runtime = tokio::runtime::Runtime::new();
    let (_mock, host) = match (host, runtime) {
        (Some(host), _) => (None, host),
        (None, Ok(runtime)) => match runtime.block_on(party_mock::MockServer::start(
            party_mock::MockConfig::default(),
        )) {
            Ok(server) => {
                let host = server.host();
                (Some((runtime, server)), host)
            }
            Err(err) => {
                eprintln!("cannot start the bundled server: {err}");
                return AppExit::error();
            }
        },
        (None, Err(err)) => {
            eprintln!("cannot start a runtime for the bundled server: {err}");
            return AppExit::error();
        }
    };
    let mut app = App::new();
    app.add_plugins(PartySocketPlugin::default())
        .insert_resource(Settings {
            host,
            bots,
            until: Instant::now() + Duration::from_secs(seconds),
        })
        .init_resource::<Tally>()
        .add_systems(Startup, join)
        .add_systems(Update, (walk, show, stop));
    // A headless loop at about 60 frames per second.
    loop {
        app.update();
        if let Some(exit) = app.should_exit() {
            return exit;
        }
        std::thread::sleep(Duration::from_millis(16));
    }
}
