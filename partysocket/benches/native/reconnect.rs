//! Reconnect latency: the server stops (dropping every connection), stays down for a
//! moment and listens again on the same port; measured is the time from the server
//! listening again to the client's open connection, with zero reconnection delay.
//! Needs control of the server, so it runs an in-process mock on its own thread
//! (pinned to the server's core when there is one).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use partysocket::PartySocketOptions;

use crate::Setup;
use crate::ours;
use crate::report::{Report, Target, median, ratio};
use crate::server::InProcess;
use crate::throughput::CONNECT;

/// Measured rounds per client (after one warm-up round); the median counts.
const ROUNDS: usize = 9;
/// How long the server stays down.
const DOWN: Duration = Duration::from_millis(100);
/// The longest a round may take.
const ROUND_LIMIT: Duration = Duration::from_secs(10);

pub(crate) async fn run(setup: &Setup, report: &mut Report) {
    println!(
        "reconnect: server down {} ms, zero reconnection delay, {ROUNDS} rounds",
        DOWN.as_millis()
    );
    let cpu = setup.server_cpu;
    let server = match tokio::task::spawn_blocking(move || InProcess::start(cpu)).await {
        Ok(Ok(server)) => server,
        Ok(Err(err)) => return report.broken(format!("reconnect: {err}")),
        Err(err) => return report.broken(format!("reconnect: {err}")),
    };
    let bare = bare(&server).await;
    let ours = ours(&server).await;
    tokio::task::spawn_blocking(move || drop(server)).await.ok();
    let (bare, ours) = match (bare, ours) {
        (Ok(bare), Ok(ours)) => (bare, ours),
        (Err(err), _) => return report.broken(format!("reconnect bare: {err}")),
        (_, Err(err)) => return report.broken(format!("reconnect ours: {err}")),
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

fn list(values: &[f64]) -> String {
    let shown: Vec<String> = values.iter().map(|value| format!("{value:.3}")).collect();
    shown.join(" ")
}

/// Milliseconds from `back` to `open` (zero if the open was seen first).
fn millis(back: Instant, open: Instant) -> f64 {
    open.saturating_duration_since(back).as_secs_f64() * 1000.0
}

async fn ours(server: &InProcess) -> Result<Vec<f64>, String> {
    let options = PartySocketOptions::builder(server.host())
        .party("echo")
        .room("reconnect-ours")
        .min_reconnection_delay(Duration::ZERO)
        .reconnection_delay_grow_factor(1.0)
        .build()
        .map_err(|err| err.to_string())?;
    let (socket, mut events) = tokio::time::timeout(CONNECT, ours::open(options))
        .await
        .map_err(|_| format!("not open within {CONNECT:?}"))??;
    let mut samples = Vec::new();
    for round in 0..=ROUNDS {
        let (back, open) = tokio::time::timeout(ROUND_LIMIT, async {
            tokio::join!(server.restart(DOWN), async {
                events.opened().await.map(|()| Instant::now())
            })
        })
        .await
        .map_err(|_| format!("round {round}: not open again within {ROUND_LIMIT:?}"))?;
        let back = back?;
        let open = open.ok_or("the socket's task ended")?;
        if round > 0 {
            samples.push(millis(back, open));
        }
    }
    socket.close().await;
    Ok(samples)
}

/// The hand-written loop: on a dropped connection, call `connect_async` again at once
/// until it succeeds.
async fn bare(server: &InProcess) -> Result<Vec<f64>, String> {
    let url = format!(
        "ws://{}/parties/echo/reconnect-bare?_pk=bare",
        server.host()
    );
    let connect = || tokio_tungstenite::connect_async_with_config(url.clone(), None, true);
    let (mut ws, _) = tokio::time::timeout(CONNECT, connect())
        .await
        .map_err(|_| format!("not open within {CONNECT:?}"))?
        .map_err(|err| err.to_string())?;
    let mut samples = Vec::new();
    for round in 0..=ROUNDS {
        let (back, open) = tokio::time::timeout(ROUND_LIMIT, async {
            tokio::join!(server.restart(DOWN), async {
                // Read until the connection ends (the greeting arrives first).
                while let Some(Ok(_)) = ws.next().await {}
                // Bounded here too: a refused connect may complete without yielding.
                let deadline = Instant::now() + ROUND_LIMIT;
                while Instant::now() < deadline {
                    if let Ok((reopened, _)) = connect().await {
                        ws = reopened;
                        return Ok(Instant::now());
                    }
                }
                Err(format!(
                    "round {round}: not open again within {ROUND_LIMIT:?}"
                ))
            })
        })
        .await
        .map_err(|_| format!("round {round}: not open again within {ROUND_LIMIT:?}"))?;
        let (back, open) = (back?, open?);
        if round > 0 {
            samples.push(millis(back, open));
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
    Ok(samples)
}
