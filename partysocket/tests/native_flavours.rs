//! The handle's accessors agree with the events already delivered, on both runtime
//! flavours: the state lives in one place, behind one lock.

#![cfg(feature = "tokio")]

mod net;

use net::{is_open, mock, options, until};
use partysocket::{ConnectionState, Event, PartySocket, ReadyState};

async fn state_is_never_stale(rounds: usize) {
    let server = mock().await;
    let built = options(&server, "echo", "flavours").build().unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    until(&mut events, is_open).await;
    for round in 0..rounds {
        socket.close().unwrap();
        socket.reconnect().unwrap();
        assert!(
            matches!(
                socket.connection_state(),
                ConnectionState::Connecting { .. } | ConnectionState::Open
            ),
            "round {round}: {:?} right after reconnect()",
            socket.connection_state()
        );
        socket.opened().await.unwrap();
        assert_eq!(socket.ready_state(), ReadyState::Open, "round {round}");
        // Every open event read so far is backed by the state: reconnect() is the
        // only thing that could have moved it on, and it has not been called since.
        let (event, _) = until(&mut events, is_open).await;
        assert!(matches!(event, Event::Open { .. }));
        assert_eq!(socket.ready_state(), ReadyState::Open, "round {round}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn state_agrees_with_events_on_a_current_thread_runtime() {
    state_is_never_stale(50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_agrees_with_events_on_a_multi_thread_runtime() {
    state_is_never_stale(200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_on_a_multi_thread_runtime() {
    let server = mock().await;
    let built = options(&server, "echo", "lifecycle").build().unwrap();
    let (socket, mut events) = PartySocket::connect(built).unwrap();
    // On another worker the driver may already have opened the loopback connection;
    // the first event still says the socket started by connecting.
    let state = socket.ready_state();
    assert!(
        matches!(state, ReadyState::Connecting | ReadyState::Open),
        "{state:?}"
    );
    let first = tokio::time::timeout(net::PATIENCE, events.recv())
        .await
        .unwrap();
    assert!(
        matches!(
            first,
            Some(Event::StateChanged(ConnectionState::Connecting {
                attempt: 0
            }))
        ),
        "{first:?}"
    );
    until(&mut events, is_open).await;
    let _ = socket.send("ping me").unwrap();
    let (echo, _) = until(
        &mut events,
        |e| matches!(e, Event::Message(m) if m.as_text() == Some("ping me")),
    )
    .await;
    assert!(matches!(echo, Event::Message(_)));
    socket.close().unwrap();
    let (close, _) = until(&mut events, |e| matches!(e, Event::Close { .. })).await;
    assert!(matches!(
        close,
        Event::Close {
            was_clean: true,
            ..
        }
    ));
    assert!(matches!(
        socket.connection_state(),
        ConnectionState::Closed { .. }
    ));
    drop(socket);
    let ended = tokio::time::timeout(net::PATIENCE, async {
        while events.recv().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the event stream ends with the last handle");
}
