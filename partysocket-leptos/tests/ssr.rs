//! On a server (feature `ssr`, or any target but `wasm32`) the hook is inert: it
//! renders its initial state and creates nothing.

#![cfg(not(target_arch = "wasm32"))]

use leptos::prelude::*;
use partysocket_leptos::{
    Codec, ConnectionState, Error, JsonCodec, Message, MessageCodec, ReadyState, SendError,
    StopReason, UsePartySocketOptions, provide_party_socket, use_party_socket,
    use_party_socket_context, use_party_socket_json, use_party_socket_with_codec,
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

#[test]
fn a_codec_socket_is_inert_on_the_server_and_encodes_first() {
    let owner = Owner::new();
    let socket = owner.with(|| {
        use_party_socket_with_codec::<serde_json::Value, serde_json::Value, JsonCodec>(
            UsePartySocketOptions::default()
                .host("127.0.0.1:1")
                .room("lobby")
                .on_decode_error(|_, _| panic!("nothing is received on the server")),
        )
    });
    assert_eq!(
        socket.connection_state.get_untracked(),
        ConnectionState::Connecting { attempt: 0 }
    );
    assert!(matches!(
        socket.send_value(&serde_json::json!({"type": "hi"})),
        Err(SendError::Socket(Error::DriverStopped))
    ));
    // A map with non-string keys has no JSON form: the codec says so before any socket
    // is asked.
    let mut map = std::collections::BTreeMap::new();
    map.insert(vec![1u8], 1u8);
    let err = <JsonCodec as Codec<serde_json::Value, _>>::encode(&map).unwrap_err();
    assert!(err.to_string().contains("key must be a string"), "{err}");
    let refused = SendError::<serde_json::Error>::Encode(err);
    assert!(
        refused
            .to_string()
            .starts_with("cannot encode the value to send")
    );
    owner.cleanup();
}

#[test]
fn the_json_and_message_codecs_round_trip() {
    let sent =
        <JsonCodec as Codec<serde_json::Value>>::encode(&serde_json::json!({"n": 1})).unwrap();
    assert_eq!(sent.as_text(), Some(r#"{"n":1}"#));
    let back: serde_json::Value = <JsonCodec as Codec<serde_json::Value>>::decode(&sent).unwrap();
    assert_eq!(back, serde_json::json!({"n": 1}));
    // Binary JSON decodes from its bytes; what is not JSON is a typed error.
    let binary = Message::binary(br#"[1,2]"#.to_vec());
    assert_eq!(
        <JsonCodec as Codec<Vec<u8>>>::decode(&binary).unwrap(),
        vec![1, 2]
    );
    let err = <JsonCodec as Codec<serde_json::Value>>::decode(&Message::text("nope")).unwrap_err();
    assert!(err.is_syntax(), "{err}");
    let raw = Message::binary(vec![0, 255]);
    assert_eq!(MessageCodec::encode(&raw).unwrap(), raw);
    assert_eq!(MessageCodec::decode(&raw).unwrap(), raw);
}
