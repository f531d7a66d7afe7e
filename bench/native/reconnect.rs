//! Reconnect latency: the server stops (dropping every connection), stays down for a
//! moment and listens again on the same port; measured is the time from the server
//! listening again to the client's open connection, with zero reconnection delay.
//! Needs control of the server, so it runs in-process mock servers on a thread of their
//! own (pinned to the server's core when there is one): one per client, restarted in
//! turns, so a busy moment of the machine falls on both.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use partysocket::PartySocketOptions;

use crate::Setup;
use crate::ours::{self, OurEvents, OurSocket};
use crate::report::{Report, Target, median, ratio};
use crate::server::InProcess;
use crate::throughput::CONNECT;

/// Measured rounds per client (after one warm-up round); the median counts.
const ROUNDS: usize = 15;
/// How long the server stays down.
const DOWN: Duration = Duration::from_millis(100);
/// The longest a round may take.
const ROUND_LIMIT: Duration = Duration::from_secs(10);
/// The server each client uses.
const BARE_SERVER: usize = 0;
const OUR_SERVER: usize = 1;

use crate::bare::BareSocket;

pub(crate) async fn run(setup: &Setup, report: &mut Report) {
    println!(
        "reconnect: server down {} ms, zero reconnection delay, {ROUNDS} rounds per client, taking turns",
        DOWN.as_millis()
    );
    let cpu = setup.server_cpu;
    let servers = match tokio::task::spawn_blocking(move || InProcess::start(2, cpu)).await {
        Ok(Ok(servers)) => servers,
        Ok(Err(err)) => return report.broken(format!("reconnect: {err}")),
        Err(err) => return report.broken(format!("reconnect: {err}")),
    };
    let samples = measure(&servers).await;
    tokio::task::spawn_blocking(move || drop(servers))
        .await
        .ok();
    let (ours, bare) = match samples {
        Ok(samples) => samples,
        Err(err) => return report.broken(format!("reconnect: {err}")),
    };
    println!("  bare ms: {}", list(&bare));
    println!("  ours ms: {}", list(&ours));
    let (ours, bare) = (median(&ours), median(&bare));
    report.value("reconnect_ms", ours);
    report.value("reconnect_bare_ms", bare);
    let value = ratio(ours, bare);
    if let Some(value) = value {
        report.value("reconnect_ms_ratio", value);
    }
    report.row(
        "reconnect_ms_ratio (back → open)",
        format!("{ours:.3} ms"),
        format!("{bare:.3} ms"),
        value,
        Target::AtMost(1.05),
    );
}

/// Connects both clients, then restarts their servers in turns; returns the
/// milliseconds of ours and of the bare loop.
async fn measure(servers: &InProcess) -> Result<(Vec<f64>, Vec<f64>), String> {
    let url = format!(
        "ws://{}/parties/echo/reconnect-bare?_pk=bare",
        servers.host(BARE_SERVER)
    );
    let (mut ws, _) = tokio::time::timeout(CONNECT, connect_bare(&url))
        .await
        .map_err(|_| format!("bare: not open within {CONNECT:?}"))?
        .map_err(|err| format!("bare: {err}"))?;
    let options = PartySocketOptions::builder(servers.host(OUR_SERVER))
        .party("echo")
        .room("reconnect-ours")
        .min_reconnection_delay(Duration::ZERO)
        .reconnection_delay_grow_factor(1.0)
        .build()
        .map_err(|err| err.to_string())?;
    let (socket, mut events) = tokio::time::timeout(CONNECT, async {
        let (socket, mut events) = ours::open(options).await?;
        // Each round waits for the next `Open` event: consume this connection's first.
        events.opened().await.ok_or("no open event")?;
        Ok::<_, String>((socket, events))
    })
    .await
    .map_err(|_| format!("ours: not open within {CONNECT:?}"))??;
    let (mut our_samples, mut bare_samples) = (Vec::new(), Vec::new());
    for round in 0..=ROUNDS {
        let bare = bare_round(servers, &url, &mut ws)
            .await
            .map_err(|err| format!("bare round {round}: {err}"))?;
        let ours = our_round(servers, &mut events)
            .await
            .map_err(|err| format!("ours round {round}: {err}"))?;
        if round > 0 {
            bare_samples.push(bare);
            our_samples.push(ours);
        }
    }
    close(socket, ws).await;
    Ok((our_samples, bare_samples))
}

async fn close(socket: OurSocket, mut ws: BareSocket) {
    socket.close().await;
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
}

fn list(values: &[f64]) -> String {
    let shown: Vec<String> = values.iter().map(|value| format!("{value:.3}")).collect();
    shown.join(" ")
}

/// Milliseconds from `back` to `open`. The server thread reads the clock before it
/// accepts anything, so an open seen first is an event from an earlier connection.
fn millis(back: Instant, open: Instant) -> Result<f64, String> {
    if open < back {
        return Err("an open before the server was back: a stale event".to_owned());
    }
    Ok((open - back).as_secs_f64() * 1000.0)
}

async fn our_round(servers: &InProcess, events: &mut OurEvents) -> Result<f64, String> {
    let (back, open) = tokio::time::timeout(ROUND_LIMIT, async {
        tokio::join!(servers.restart(OUR_SERVER, DOWN), async {
            events.opened().await.map(|()| Instant::now())
        })
    })
    .await
    .map_err(|_| format!("not open again within {ROUND_LIMIT:?}"))?;
    millis(back?, open.ok_or("the socket's task ended")?)
}

fn connect_bare(
    url: &str,
) -> impl std::future::Future<
    Output = Result<
        (
            BareSocket,
            tokio_tungstenite::tungstenite::handshake::client::Response,
        ),
        tokio_tungstenite::tungstenite::Error,
    >,
> + use<> {
    tokio_tungstenite::connect_async_with_config(url.to_owned(), None, true)
}

/// The hand-written loop: on a dropped connection, call `connect_async` again at once
/// until it succeeds.
async fn bare_round(servers: &InProcess, url: &str, ws: &mut BareSocket) -> Result<f64, String> {
    let (back, open) = tokio::time::timeout(ROUND_LIMIT, async {
        tokio::join!(servers.restart(BARE_SERVER, DOWN), async {
            // Read until the connection ends (the greeting arrives first).
            while let Some(Ok(_)) = ws.next().await {}
            // Bounded here too: a refused connect may complete without yielding.
            let deadline = Instant::now() + ROUND_LIMIT;
            while Instant::now() < deadline {
                if let Ok((reopened, _)) = connect_bare(url).await {
                    *ws = reopened;
                    return Ok(Instant::now());
                }
            }
            Err(format!("not open again within {ROUND_LIMIT:?}"))
        })
    })
    .await
    .map_err(|_| format!("not open again within {ROUND_LIMIT:?}"))?;
    millis(back?, open?)
}
