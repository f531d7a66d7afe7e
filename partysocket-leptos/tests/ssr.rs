//! On a server (feature `ssr`, or any target but `wasm32`) the hook is inert: it
//! renders its initial state and creates nothing.

#![cfg(not(target_arch = "wasm32"))]

use leptos::prelude::*;
use partysocket_leptos::{
    ConnectionState, Error, Message, ReadyState, StopReason, UsePartySocketOptions,
    provide_party_socket, use_party_socket, use_party_socket_context, use_party_socket_json,
};

#[test]
fn the_hook_is_inert_on_the_server() {
    let owner = Owner::new();
    let (enabled, disabled) = owner.with(|| {
        let enabled = use_party_socket(
            UsePartySocketOptions::default()
                .host("127.0.0.1:1")
                .room("lobby")
                .on_open(|| panic!("nothing opens on the server")),
        );
        let disabled = use_party_socket_json::<serde_json::Value, serde_json::Value>(
            UsePartySocketOptions::default()
                .host("127.0.0.1:1")
                .room("lobby")
                .enabled(false),
        );
        (enabled, disabled)
    });
    // The state a browser starts from too, so server HTML and the first client render
    // agree.
    assert_eq!(enabled.ready_state.get_untracked(), ReadyState::Connecting);
    assert_eq!(
        enabled.connection_state.get_untracked(),
        ConnectionState::Connecting { attempt: 0 }
    );
    assert_eq!(disabled.ready_state.get_untracked(), ReadyState::Closed);
    assert_eq!(
        disabled.connection_state.get_untracked(),
        ConnectionState::Closed {
            reason: StopReason::NotStarted
        }
    );
    assert_eq!(enabled.message.get_untracked(), None::<Message>);
    assert!(enabled.socket().is_none());
    assert!(matches!(enabled.send("hi"), Err(Error::DriverStopped)));
    assert!(matches!(
        disabled.send_json(&serde_json::json!({"type": "hi"})),
        Err(Error::DriverStopped)
    ));
    assert!(matches!(enabled.reconnect(), Err(Error::DriverStopped)));
    assert!(matches!(enabled.close(), Err(Error::DriverStopped)));
    assert_eq!(enabled.error.get_untracked(), None);
    owner.cleanup();
}

#[test]
fn a_provided_socket_is_inert_on_the_server_too() {
    let owner = Owner::new();
    owner.with(|| {
        let provided = provide_party_socket(
            UsePartySocketOptions::default()
                .host("127.0.0.1:1")
                .room("lobby"),
        );
        // A child component's view of it: the same signals.
        let child = Owner::new();
        child.with(|| {
            let shared = use_party_socket_context().expect("provided above");
            shared.on_message(|_| panic!("nothing arrives on the server"));
            assert_eq!(
                shared.connection_state.get_untracked(),
                provided.connection_state.get_untracked()
            );
            assert!(matches!(shared.send("hi"), Err(Error::DriverStopped)));
        });
    });
    assert!(Owner::new().with(use_party_socket_context).is_none());
    owner.cleanup();
}
