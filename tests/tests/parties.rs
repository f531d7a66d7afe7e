//! Each party against the PartyKit guide's patterns, message for message.

mod support;

use party_mock::{Message, MockConfig, MockServer, WebSocketAutoResponse};
use serde_json::json;
use support::{
    Seen, WAIT, connect, http, next, next_json, next_text, send_binary, send_text, server,
};

#[tokio::test]
async fn main_greets_and_broadcasts_to_everyone_but_the_sender() {
    let server = server().await;
    let mut a = connect(&server, "/parties/main/r?_pk=a").await;
    let mut b = connect(&server, "/parties/main/r?_pk=b").await;
    let mut c = connect(&server, "/parties/main/r?_pk=c").await;
    for socket in [&mut a, &mut b, &mut c] {
        assert_eq!(next_text(socket).await, "Welcome to the party!");
    }
    send_text(&mut a, "from a").await;
    send_binary(&mut b, &[1, 2, 3]).await;
    assert_eq!(next(&mut b).await, Seen::Text("from a".into()));
    assert_eq!(next(&mut c).await, Seen::Text("from a".into()));
    assert_eq!(next(&mut c).await, Seen::Binary(vec![1, 2, 3]));
    // `a` gets `b`'s frame and nothing of its own: had it been echoed, it would come first.
    assert_eq!(next(&mut a).await, Seen::Binary(vec![1, 2, 3]));

    let received = server.received("main", "r");
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].connection_id, "a");
    assert_eq!(received[0].message, Message::Text("from a".into()));
    assert_eq!(received[1].message, Message::Binary(vec![1, 2, 3]));
}

#[tokio::test]
async fn main_http_counts_broadcasts_and_rejects() {
    let server = server().await;
    let mut a = connect(&server, "/parties/main/h").await;
    let mut b = connect(&server, "/parties/main/h").await;
    next_text(&mut a).await;
    next_text(&mut b).await;

    let get = http(&server, "GET", "/parties/main/h", None).await;
    assert_eq!(get.status, 200);
    assert_eq!(get.header("content-type"), Some("application/json"));
    assert_eq!(get.body, r#"{"connections":2}"#);

    let post = http(
        &server,
        "POST",
        "/parties/main/h",
        Some(r#"{"b":1.0,"a":[2.5]}"#),
    )
    .await;
    assert_eq!((post.status, post.body.as_str()), (200, "Broadcasted"));
    // Re-serialised as `JSON.stringify` does: key order kept, `1.0` printed as `1`.
    assert_eq!(next_text(&mut a).await, r#"{"b":1,"a":[2.5]}"#);
    assert_eq!(next_text(&mut b).await, r#"{"b":1,"a":[2.5]}"#);

    let invalid = http(&server, "POST", "/parties/main/h", Some("nope")).await;
    assert_eq!(
        (invalid.status, invalid.body.as_str()),
        (400, "Invalid JSON")
    );
    let put = http(&server, "PUT", "/parties/main/h", Some("x")).await;
    assert_eq!((put.status, put.body.as_str()), (404, "Not found"));
}

#[tokio::test]
async fn echo_says_who_you_are_and_echoes_text_and_binary() {
    let server = server().await;
    let mut socket = connect(&server, "/parties/echo/e?_pk=me&x=1").await;
    let hello = next_json(&mut socket).await;
    assert_eq!(
        hello,
        json!({ "id": "me", "url": format!("http://{}/parties/echo/e?_pk=me&x=1", server.host()) })
    );
    send_text(&mut socket, "héllo").await;
    assert_eq!(next(&mut socket).await, Seen::Text("héllo".into()));
    send_binary(&mut socket, &[0, 255, 7]).await;
    assert_eq!(next(&mut socket).await, Seen::Binary(vec![0, 255, 7]));
    send_text(&mut socket, "").await;
    assert_eq!(next(&mut socket).await, Seen::Text(String::new()));

    let answer = http(&server, "POST", "/parties/echo/e/sub?q=2", Some("body")).await;
    assert_eq!(
        answer.json(),
        json!({
            "method": "POST",
            "url": format!("http://{}/parties/echo/e/sub?q=2", server.host()),
            "body": "body",
        })
    );
}

#[tokio::test]
async fn chat_syncs_stores_and_broadcasts_messages() {
    let server = server().await;
    let mut alice = connect(&server, "/parties/chat/c?_pk=alice").await;
    assert_eq!(
        next_json(&mut alice).await,
        json!({ "type": "sync", "messages": [] })
    );
    let mut bob = connect(&server, "/parties/chat/c?_pk=bob").await;
    next_json(&mut bob).await;

    send_text(
        &mut alice,
        r#"{"type":"message","user":"alice","text":"hi"}"#,
    )
    .await;
    send_text(&mut alice, r#"{"type":"other","text":"ignored"}"#).await;
    send_text(&mut alice, r#"{"type":"message","text":"anonymous"}"#).await;
    for socket in [&mut alice, &mut bob] {
        let first = next_json(socket).await;
        assert_eq!(first["type"], "message");
        let message = first["message"].as_object().unwrap();
        let keys: Vec<&str> = message.keys().map(String::as_str).collect();
        assert_eq!(keys, ["id", "user", "text", "timestamp"]);
        assert_eq!(
            (message["user"].as_str(), message["text"].as_str()),
            (Some("alice"), Some("hi"))
        );
        uuid::Uuid::parse_str(message["id"].as_str().unwrap()).expect("a UUID id");
        assert!(message["timestamp"].as_u64().unwrap() > 1_600_000_000_000);
        // A field the client did not send is left out, as `JSON.stringify` does.
        let second = next_json(socket).await;
        let keys: Vec<&str> = second["message"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["id", "text", "timestamp"]);
    }
}

#[tokio::test]
async fn chat_history_survives_reconnects_and_restarts_and_syncs_the_last_100() {
    let server = server().await;
    let mut writer = connect(&server, "/parties/chat/history").await;
    next_json(&mut writer).await;
    for n in 0..105 {
        send_text(
            &mut writer,
            &format!(r#"{{"type":"message","user":"w","text":"m{n}"}}"#),
        )
        .await;
    }
    for _ in 0..105 {
        next_json(&mut writer).await;
    }
    drop(writer);

    let mut again = connect(&server, "/parties/chat/history").await;
    let sync = next_json(&mut again).await;
    let messages = sync["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 100);
    assert_eq!(messages[0]["text"], "m5");
    assert_eq!(messages[99]["text"], "m104");

    server.restart().await.unwrap();
    let mut after_restart = connect(&server, "/parties/chat/history").await;
    assert_eq!(next_json(&mut after_restart).await, sync);

    // Another room has its own history.
    let mut other = connect(&server, "/parties/chat/elsewhere").await;
    assert_eq!(next_json(&mut other).await["messages"], json!([]));
}

#[tokio::test]
async fn presence_tracks_joins_status_and_leaves() {
    let server = server().await;
    let mut alice = connect(&server, "/parties/presence/p?_pk=a&name=alice").await;
    assert_eq!(
        next_json(&mut alice).await,
        json!({ "type": "presence", "users": { "a": { "name": "alice", "status": "online" } } })
    );
    let mut anon = connect(&server, "/parties/presence/p?_pk=b").await;
    let both = json!({ "type": "presence", "users": {
        "a": { "name": "alice", "status": "online" },
        "b": { "name": "Anonymous", "status": "online" },
    } });
    assert_eq!(next_json(&mut anon).await, both);
    assert_eq!(next_json(&mut alice).await, both);

    send_text(&mut anon, r#"{"type":"status","status":"away"}"#).await;
    let away = json!({ "type": "presence", "users": {
        "a": { "name": "alice", "status": "online" },
        "b": { "name": "Anonymous", "status": "away" },
    } });
    assert_eq!(next_json(&mut alice).await, away);
    assert_eq!(next_json(&mut anon).await, away);

    drop(anon);
    assert_eq!(
        next_json(&mut alice).await,
        json!({ "type": "presence", "users": { "a": { "name": "alice", "status": "online" } } })
    );
}

#[tokio::test]
async fn game_sends_init_join_move_and_leave() {
    let server = server().await;
    let mut one = connect(&server, "/parties/game/g?_pk=one&name=alice").await;
    let init = next_json(&mut one).await;
    assert_eq!(init["type"], "init");
    let me = &init["players"]["one"];
    assert_eq!(
        (me["id"].as_str(), me["name"].as_str()),
        (Some("one"), Some("alice"))
    );
    let (x, y) = (me["x"].as_f64().unwrap(), me["y"].as_f64().unwrap());
    assert!(
        (0.0..800.0).contains(&x) && (0.0..600.0).contains(&y),
        "{me}"
    );

    let mut two = connect(&server, "/parties/game/g?_pk=two").await;
    let init_two = next_json(&mut two).await;
    let ids: Vec<&str> = init_two["players"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(ids, ["one", "two"]);
    assert_eq!(init_two["players"]["two"]["name"], "Player");
    let join = next_json(&mut one).await;
    assert_eq!(join["type"], "player-join");
    assert_eq!(join["player"], init_two["players"]["two"]);

    send_text(&mut one, r#"{"type":"move","x":10,"y":20.5}"#).await;
    assert_eq!(
        next_json(&mut two).await,
        json!({ "type": "player-move", "id": "one", "x": 10, "y": 20.5 })
    );

    drop(two);
    // The mover got nothing of its own move: the leave is the next thing it sees.
    assert_eq!(
        next_json(&mut one).await,
        json!({ "type": "player-leave", "id": "two" })
    );
    let mut three = connect(&server, "/parties/game/g?_pk=three").await;
    let init_three = next_json(&mut three).await;
    assert_eq!(init_three["players"]["one"]["x"], 10);
    assert_eq!(init_three["players"]["one"]["y"], 20.5);
    server
        .wait_for_received("game", "g", 1, WAIT)
        .await
        .unwrap();
}

#[tokio::test]
async fn by_default_a_ping_reaches_the_party_like_any_other_text() {
    // As on `partykit dev`: no auto-response unless one is turned on.
    let server = server().await;

    let mut e = connect(&server, "/parties/echo/hb?_pk=e").await;
    next(&mut e).await;
    send_text(&mut e, "ping").await;
    assert_eq!(next(&mut e).await, Seen::Text("ping".into()));

    let mut a = connect(&server, "/parties/main/hb?_pk=a").await;
    let mut b = connect(&server, "/parties/main/hb?_pk=b").await;
    next(&mut a).await;
    next(&mut b).await;
    send_text(&mut a, "ping").await;
    assert_eq!(next(&mut b).await, Seen::Text("ping".into()));

    let mut c = connect(&server, "/parties/chat/hb?_pk=c").await;
    next(&mut c).await;
    send_text(&mut c, "ping").await;
    assert_eq!(
        next(&mut c).await,
        Seen::Close(Some((1003, "invalid JSON".into())))
    );

    let received = server.received("echo", "hb");
    assert_eq!(received[0].message, Message::Text("ping".into()));
}

#[tokio::test]
async fn an_auto_response_answers_ping_for_its_party_only() {
    let config =
        MockConfig::default().websocket_auto_response(WebSocketAutoResponse::ping_pong("main"));
    let server = MockServer::start(config).await.unwrap();

    // `main` would broadcast it: the sender gets `pong`, and `b` sees the next message,
    // not the ping.
    let mut a = connect(&server, "/parties/main/hb?_pk=a").await;
    let mut b = connect(&server, "/parties/main/hb?_pk=b").await;
    next(&mut a).await;
    next(&mut b).await;
    send_text(&mut a, "ping").await;
    assert_eq!(next(&mut a).await, Seen::Text("pong".into()));
    send_text(&mut a, "after").await;
    assert_eq!(next(&mut b).await, Seen::Text("after".into()));
    // Only the exact text: anything else goes to the party.
    send_text(&mut a, "ping ").await;
    assert_eq!(next(&mut b).await, Seen::Text("ping ".into()));
    // The log records what arrived, the answered ping included.
    let received = server.received("main", "hb");
    let texts: Vec<_> = received.iter().map(|r| r.message.clone()).collect();
    assert_eq!(
        texts,
        ["ping", "after", "ping "].map(|t| Message::Text(t.into()))
    );

    // Another party on the same server has no auto-response: `echo` sends `ping` back.
    let mut e = connect(&server, "/parties/echo/hb?_pk=e").await;
    next(&mut e).await;
    send_text(&mut e, "ping").await;
    assert_eq!(next(&mut e).await, Seen::Text("ping".into()));
}
