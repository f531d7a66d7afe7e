//! A Bevy app in the browser: two sockets on `partysocket-wasm` join the mock's game
//! room, receive its greeting, exchange a move sent from a system, and a despawned
//! entity's socket closes.
//!
//! Runs in headless Chromium with `cargo xtask test bevy`, which starts the
//! `party-mock` binary and passes its address at build time in `PARTY_MOCK_HOST`.

#![cfg(target_arch = "wasm32")]

use bevy_app::{App, Update};
use bevy_ecs::prelude::*;
use partysocket::{PartySocketOptions, Query as UrlQuery, ReadyState};
use partysocket_bevy::{
    BrowserSockets, PartySocketCommands, PartySocketConnection, PartySocketPlugin, PartySockets,
    SocketClosed, SocketMessage, SocketOpened,
};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// At most this many frames per wait, 20 ms apart (10 s).
const FRAMES: usize = 500;

fn mock_host() -> &'static str {
    // Read at build time, so builds without a server still compile.
    match option_env!("PARTY_MOCK_HOST") {
        Some(host) => host,
        None => panic!(
            "PARTY_MOCK_HOST was not set at build time: run this test with `cargo xtask test bevy`"
        ),
    }
}

/// Resolves after `ms` milliseconds, letting the page's event loop run the sockets.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let window: web_sys::Window = js_sys::global().unchecked_into();
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}

/// What the app saw, by entity.
#[derive(Resource, Default, Debug)]
struct Seen {
    texts: Vec<(Entity, String)>,
    opened: Vec<Entity>,
    closed: Vec<Entity>,
}

impl Seen {
    fn got(&self, entity: Entity, needle: &str) -> bool {
        self.texts
            .iter()
            .any(|(from, text)| *from == entity && text.contains(needle))
    }
}

fn record(
    mut seen: ResMut<'_, Seen>,
    mut messages: MessageReader<'_, '_, SocketMessage>,
    mut opened: MessageReader<'_, '_, SocketOpened>,
    mut closed: MessageReader<'_, '_, SocketClosed>,
) {
    for arrived in messages.read() {
        if let Some(text) = arrived.message.as_text() {
            seen.texts.push((arrived.entity, text.to_owned()));
        }
    }
    seen.opened.extend(opened.read().map(|open| open.entity));
    seen.closed.extend(closed.read().map(|close| close.entity));
}

/// The player that moves, and whether it has sent its move.
#[derive(Resource, Debug)]
struct Mover {
    entity: Entity,
    sent: bool,
}

/// A game's movement system: sends through `PartySockets` once the socket is open.
fn send_move(sockets: PartySockets<'_, '_>, mut mover: ResMut<'_, Mover>) {
    if mover.sent {
        return;
    }
    if let Some(socket) = sockets.get(mover.entity)
        && socket.ready_state() == ReadyState::Open
    {
        let outcome = socket.send_coalesced("position", r#"{"type":"move","x":7,"y":9}"#);
        mover.sent = outcome.is_ok();
    }
}

fn player(room: &str, id: &str) -> PartySocketOptions {
    PartySocketOptions::builder(mock_host())
        .party("game")
        .room(room)
        .id(id)
        .query(UrlQuery::new().with("name", id))
        .build()
        .expect("valid options")
}

/// Runs frames until `done`, at most [`FRAMES`].
async fn frames_until(app: &mut App, what: &str, done: impl Fn(&World) -> bool) {
    for _ in 0..FRAMES {
        app.update();
        if done(app.world()) {
            return;
        }
        sleep(20).await;
    }
    panic!(
        "no {what} within {FRAMES} frames; saw {:?}",
        app.world().resource::<Seen>()
    );
}

#[wasm_bindgen_test]
async fn a_bevy_app_in_the_browser_receives_the_greeting_and_exchanges_a_move() {
    let room = format!("bevy-web-{}", (js_sys::Math::random() * 1e9) as u64);
    let mut app = App::new();
    app.add_plugins(PartySocketPlugin::default())
        .init_resource::<Seen>()
        .add_systems(Update, (record, send_move));
    let alice = app
        .world_mut()
        .commands()
        .open_party_socket(player(&room, "alice"));
    let bob = app
        .world_mut()
        .commands()
        .open_party_socket(player(&room, "bob"));
    app.world_mut().flush();
    app.insert_resource(Mover {
        entity: alice,
        sent: false,
    });
    assert!(app.world().get::<PartySocketConnection>(alice).is_some());

    // The game party greets every connection with the room's state.
    frames_until(&mut app, "init for both", |world| {
        let seen = world.resource::<Seen>();
        seen.got(alice, r#""type":"init""#) && seen.got(bob, r#""type":"init""#)
    })
    .await;
    let seen = app.world().resource::<Seen>();
    assert!(
        seen.opened.contains(&alice) && seen.opened.contains(&bob),
        "{seen:?}"
    );

    // Alice's system sends a move; the room broadcasts it to Bob.
    frames_until(&mut app, "alice's move at bob", |world| {
        world.resource::<Seen>().got(bob, r#""type":"player-move""#)
    })
    .await;
    let seen = app.world().resource::<Seen>();
    let moved = seen
        .texts
        .iter()
        .find(|(from, text)| *from == bob && text.contains("player-move"))
        .map(|(_, text)| text.clone())
        .unwrap_or_default();
    assert!(moved.contains("alice") && moved.contains('7'), "{moved}");

    // Despawning Alice closes her socket: the room tells Bob she left, and the
    // browser's sockets keep only Bob's.
    app.world_mut().entity_mut(alice).despawn();
    frames_until(&mut app, "alice's leave at bob", |world| {
        world
            .resource::<Seen>()
            .got(bob, r#""type":"player-leave""#)
    })
    .await;
    let mut remaining = app.world_mut().query::<&PartySocketConnection>();
    assert_eq!(remaining.iter(app.world()).count(), 1);
    assert!(format!("{:?}", app.world().non_send::<BrowserSockets>()).contains("sockets: 1"));
}
