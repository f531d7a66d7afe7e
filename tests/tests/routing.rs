//! Routing like `partykit dev`: party and classic routes, custom prefixes and base paths,
//! 404s, connection ids, and the request as the party sees it.

mod support;

use party_mock::{AttemptKind, MockConfig, MockServer, Outcome, RouteTable};
use support::{WAIT, connect, http, next_json, next_text, server, try_connect};
use tokio_tungstenite::tungstenite;

#[tokio::test]
async fn parties_route_and_classic_route_reach_the_same_main_room() {
    let server = server().await;
    let mut modern = connect(&server, "/parties/main/lobby?_pk=modern").await;
    let mut classic = connect(&server, "/party/lobby?_pk=classic").await;
    assert_eq!(next_text(&mut modern).await, "Welcome to the party!");
    assert_eq!(next_text(&mut classic).await, "Welcome to the party!");
    let open = server.wait_for_connections(2, WAIT).await.unwrap();
    assert!(
        open.iter().all(|c| c.party == "main" && c.room == "lobby"),
        "{open:?}"
    );
    let answer = http(&server, "GET", "/party/lobby", None).await;
    assert_eq!(answer.json(), serde_json::json!({ "connections": 2 }));
}

#[tokio::test]
async fn sub_paths_after_the_room_reach_the_room() {
    let server = server().await;
    let mut socket = connect(&server, "/parties/echo/r1/a/b?x=1").await;
    let hello = next_json(&mut socket).await;
    assert!(
        hello["url"]
            .as_str()
            .unwrap()
            .ends_with("/parties/echo/r1/a/b?x=1"),
        "{hello}"
    );
    let open = server.connections();
    assert_eq!(
        (open[0].party.as_str(), open[0].room.as_str()),
        ("echo", "r1")
    );
}

#[tokio::test]
async fn unknown_party_answers_404_party_not_found() {
    let server = server().await;
    let answer = http(&server, "GET", "/parties/nope/r", None).await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body, "Party nope not found");
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain;charset=UTF-8")
    );

    match try_connect(&server, "/parties/nope/r").await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404);
            let body = response.body().as_deref().unwrap_or_default();
            assert_eq!(body, b"Party nope not found");
        }
        other => panic!("expected a 404 handshake, got {other:?}"),
    }
}

#[tokio::test]
async fn paths_outside_every_route_answer_404_not_found() {
    let server = server().await;
    for path in [
        "/",
        "/parties/main",
        "/parties/main/",
        "/party/",
        "/elsewhere/x/y",
    ] {
        let answer = http(&server, "GET", path, None).await;
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (404, "Not found"),
            "{path}"
        );
    }
    match try_connect(&server, "/parties/main").await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!("expected a 404 handshake, got {other:?}"),
    }
}

#[tokio::test]
async fn custom_prefix_and_base_path_are_reachable() {
    let routes = RouteTable::default().with_prefix("api/v1").with_base_path(
        "/custom/lobby",
        "echo",
        "fixed-room",
    );
    let server = MockServer::start(MockConfig {
        routes,
        ..MockConfig::default()
    })
    .await
    .unwrap();

    let mut prefixed = connect(&server, "/api/v1/main/r?_pk=p").await;
    assert_eq!(next_text(&mut prefixed).await, "Welcome to the party!");
    let mut based = connect(&server, "/custom/lobby?_pk=b").await;
    assert_eq!(next_json(&mut based).await["id"], "b");
    let open = server.wait_for_connections(2, WAIT).await.unwrap();
    assert!(
        open.iter()
            .any(|c| c.party == "echo" && c.room == "fixed-room" && c.id == "b"),
        "{open:?}"
    );
    // The default routes stay.
    let mut default = connect(&server, "/parties/echo/r").await;
    next_json(&mut default).await;
}

#[tokio::test]
async fn connection_id_is_the_first_pk_value_else_a_uuid() {
    let server = server().await;
    let mut first = connect(&server, "/parties/echo/ids?_pk=one&_pk=two").await;
    assert_eq!(next_json(&mut first).await["id"], "one");

    let mut generated = connect(&server, "/parties/echo/ids?name=x").await;
    let id = next_json(&mut generated).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let parsed = uuid::Uuid::parse_str(&id).expect("a UUID");
    assert_eq!(parsed.get_version_num(), 4);

    let mut decoded = connect(&server, "/parties/echo/ids?_pk=a%20b").await;
    assert_eq!(next_json(&mut decoded).await["id"], "a b");
}

#[tokio::test]
async fn the_party_sees_the_request_url_headers_and_query() {
    let server = server().await;
    let mut request = format!(
        "ws://{}/parties/presence/q?_pk=me&name=Zo%C3%AB",
        server.host()
    )
    .parse::<tungstenite::http::Uri>()
    .map(tungstenite::client::IntoClientRequest::into_client_request)
    .unwrap()
    .unwrap();
    request
        .headers_mut()
        .insert("authorization", "Bearer t0ken".parse().unwrap());
    let (mut socket, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .unwrap()
        .unwrap();
    let presence = next_json(&mut socket).await;
    assert_eq!(presence["users"]["me"]["name"], "Zoë", "{presence}");

    let attempts = server.attempts();
    let attempt = attempts.last().unwrap();
    assert_eq!(attempt.kind, AttemptKind::WebSocket);
    assert_eq!(attempt.outcome, Outcome::Accepted);
    assert_eq!(
        attempt.url,
        format!(
            "http://{}/parties/presence/q?_pk=me&name=Zo%C3%AB",
            server.host()
        )
    );
    assert_eq!(attempt.header("Authorization"), Some("Bearer t0ken"));
    assert_eq!(attempt.connection_id.as_deref(), Some("me"));
    assert_eq!(
        (attempt.party.as_deref(), attempt.room.as_deref()),
        (Some("presence"), Some("q"))
    );
}

#[tokio::test]
async fn http_requests_are_logged_with_their_status() {
    let server = server().await;
    http(&server, "GET", "/parties/main/r", None).await;
    http(&server, "GET", "/parties/nope/r", None).await;
    let attempts = server.wait_for_attempts(2, WAIT).await.unwrap();
    assert_eq!(attempts[0].kind, AttemptKind::Http);
    assert_eq!(attempts[0].outcome, Outcome::Answered { status: 200 });
    assert_eq!(attempts[1].outcome, Outcome::Answered { status: 404 });
    assert_eq!(attempts[1].party.as_deref(), Some("nope"));
}
