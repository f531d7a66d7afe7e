//! Two headless Bevy apps in the mock's game room exchange moves and survive a server
//! restart with nothing queued lost (checked in the mock's log).

#![cfg(not(target_arch = "wasm32"))]

use std::time::{Duration, Instant};

use bevy_app::{App, Update};
use bevy_ecs::prelude::*;
use party_mock::{MockConfig, MockServer};
use partysocket::{ConnectionState, PartySocketOptions, Query as UrlQuery, ReadyState};
use partysocket_bevy::{
    PartySocketCommands, PartySocketConnection, PartySocketPlugin, PartySockets, SocketClosed,
    SocketMessage, SocketOpened, SocketStateChanged,
};

const PATIENCE: Duration = Duration::from_secs(20);

/// What one app saw, for the test to check.
#[derive(Resource, Default, Debug)]
struct Seen {
    texts: Vec<String>,
    opened: usize,
    closed: usize,
    backing_off: usize,
}

fn record(
    mut seen: ResMut<'_, Seen>,
    mut messages: MessageReader<'_, '_, SocketMessage>,
    mut opened: MessageReader<'_, '_, SocketOpened>,
    mut closed: MessageReader<'_, '_, SocketClosed>,
    mut states: MessageReader<'_, '_, SocketStateChanged>,
) {
    for arrived in messages.read() {
        if let Some(text) = arrived.message.as_text() {
            seen.texts.push(text.to_owned());
        }
    }
    seen.opened += opened.read().count();
    seen.closed += closed.read().count();
    seen.backing_off += states
        .read()
        .filter(|changed| matches!(changed.state, ConnectionState::BackingOff { .. }))
        .count();
}

fn player(server: &MockServer, id: &str) -> App {
    let options = PartySocketOptions::builder(server.host())
        .party("game")
        .room("arena")
        .id(id)
        .query(UrlQuery::new().with("name", id))
        .min_reconnection_delay(Duration::from_millis(50))
        .max_reconnection_delay(Duration::from_millis(200))
        .build()
        .expect("valid options");
    let mut app = App::new();
    app.add_plugins(PartySocketPlugin::default())
        .init_resource::<Seen>()
        .add_systems(Update, record);
    app.world_mut().commands().open_party_socket(options);
    app.world_mut().flush();
    app
}

fn seen(app: &App) -> &Seen {
    app.world().resource::<Seen>()
}

/// Runs frames of both apps until `done`, at most [`PATIENCE`].
fn frames_until(apps: &mut [&mut App], what: &str, done: impl Fn(&[&mut App]) -> bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        for app in apps.iter_mut() {
            app.update();
        }
        if done(apps) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} in time; saw {:?}",
            apps.iter().map(|app| seen(app)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A system-side send: what a game's movement system does.
fn send_move(app: &mut App, x: u32, coalesce: bool) -> partysocket::SendOutcome {
    let world = app.world_mut();
    let mut sockets = world.query::<&PartySocketConnection>();
    let connection = sockets.single(world).expect("one socket");
    let text = format!(r#"{{"type":"move","x":{x},"y":0}}"#);
    let outcome = if coalesce {
        connection.socket().send_coalesced("position", text)
    } else {
        connection.socket().send(text)
    };
    outcome.expect("the socket's task runs")
}

fn ready_state(app: &mut App) -> ReadyState {
    let world = app.world_mut();
    let mut sockets = world.query::<&PartySocketConnection>();
    sockets
        .single(world)
        .expect("one socket")
        .socket()
        .ready_state()
}

#[test]
fn two_apps_exchange_moves_and_survive_a_restart_with_nothing_lost() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let server = runtime
        .block_on(MockServer::start(MockConfig::default()))
        .expect("the mock starts");
    let mut alice = player(&server, "alice");
    let mut bob = player(&server, "bob");

    frames_until(&mut [&mut alice, &mut bob], "init for both", |apps| {
        apps.iter().all(|app| {
            seen(app)
                .texts
                .iter()
                .any(|t| t.contains(r#""type":"init""#))
        })
    });
    // Whoever joined first hears of the other.
    frames_until(&mut [&mut alice, &mut bob], "a player-join", |apps| {
        apps.iter()
            .any(|app| seen(app).texts.iter().any(|t| t.contains("player-join")))
    });

    assert_eq!(
        send_move(&mut alice, 1, true),
        partysocket::SendOutcome::Sent
    );
    frames_until(&mut [&mut alice, &mut bob], "alice's move at bob", |apps| {
        seen(apps[1])
            .texts
            .iter()
            .any(|t| t.contains("player-move") && t.contains("alice") && t.contains(r#""x":1"#))
    });

    runtime.block_on(server.stop());
    frames_until(&mut [&mut alice, &mut bob], "both closed", |apps| {
        apps.iter()
            .all(|app| seen(app).closed >= 1 && seen(app).backing_off >= 1)
    });
    assert_eq!(ready_state(&mut alice), ReadyState::Connecting);
    // Moves during the outage: every one queued, none lost.
    for x in 2..=6 {
        assert_eq!(
            send_move(&mut alice, x, false),
            partysocket::SendOutcome::Queued
        );
    }
    runtime
        .block_on(async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            server.restart().await
        })
        .expect("the mock restarts");
    frames_until(&mut [&mut alice, &mut bob], "both open again", |apps| {
        apps.iter().all(|app| seen(app).opened >= 2)
    });
    let received = runtime
        .block_on(server.wait_for_received("game", "arena", 6, PATIENCE))
        .expect("every move reaches the room");
    let from_alice: Vec<String> = received
        .iter()
        .filter(|received| received.connection_id == "alice")
        .filter_map(|received| received.message.as_text().map(str::to_owned))
        .collect();
    let expected: Vec<String> = (1..=6)
        .map(|x| format!(r#"{{"type":"move","x":{x},"y":0}}"#))
        .collect();
    assert_eq!(from_alice, expected, "each move once, in order");
}

#[test]
fn opening_without_the_plugin_reports_an_error_message_instead_of_panicking() {
    let mut app = App::new();
    app.add_message::<partysocket_bevy::SocketError>();
    let options = PartySocketOptions::builder("localhost:1999")
        .room("r")
        .build()
        .unwrap();
    let entity = app.world_mut().commands().open_party_socket(options);
    app.world_mut().flush();
    assert!(app.world().get::<PartySocketConnection>(entity).is_none());
    let messages = app
        .world()
        .resource::<bevy_ecs::message::Messages<partysocket_bevy::SocketError>>();
    let mut cursor = messages.get_cursor();
    let errors: Vec<_> = cursor.read(messages).collect();
    assert_eq!(errors.len(), 1);
    assert!(
        matches!(&errors[0].error, partysocket_bevy::SocketFailure::Open(reason) if reason.contains("PartySocketPlugin")),
        "{errors:?}"
    );
}

/// What a system saw through `PartySockets`.
#[derive(Resource, Default, Debug)]
struct Handles {
    urls: Vec<(Entity, String)>,
    found: Option<String>,
}

#[test]
fn systems_reach_each_socket_by_entity_through_party_sockets() {
    let first = PartySocketOptions::builder("127.0.0.1:9")
        .room("one")
        .start_closed(true)
        .build()
        .unwrap();
    let second = PartySocketOptions::builder("127.0.0.1:9")
        .room("two")
        .start_closed(true)
        .build()
        .unwrap();
    let mut app = App::new();
    app.add_plugins(PartySocketPlugin::default())
        .init_resource::<Handles>();
    let one = app.world_mut().commands().open_party_socket(first);
    let two = app.world_mut().commands().open_party_socket(second);
    let plain = app.world_mut().spawn_empty().id();
    app.world_mut().flush();
    app.add_systems(
        Update,
        move |sockets: PartySockets<'_, '_>, mut handles: ResMut<'_, Handles>| {
            handles.urls = sockets
                .iter()
                .map(|(entity, socket)| (entity, socket.room_url()))
                .collect();
            handles.urls.sort();
            handles.found = sockets.get(two).map(|socket| socket.room_url());
            assert!(
                sockets.get(plain).is_none(),
                "an entity without a socket has none"
            );
        },
    );
    app.update();
    let handles = app.world().resource::<Handles>();
    let mut expected = vec![
        (one, "ws://127.0.0.1:9/parties/main/one".to_owned()),
        (two, "ws://127.0.0.1:9/parties/main/two".to_owned()),
    ];
    expected.sort();
    assert_eq!(handles.urls, expected);
    assert_eq!(
        handles.found.as_deref(),
        Some("ws://127.0.0.1:9/parties/main/two")
    );

    app.world_mut().entity_mut(two).despawn();
    app.update();
    let handles = app.world().resource::<Handles>();
    assert_eq!(handles.urls.len(), 1, "{:?}", handles.urls);
    assert_eq!(handles.found, None);
}
