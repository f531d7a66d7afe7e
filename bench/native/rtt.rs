//! Round-trip latency: one 64 B message at a time to an echo room, the next sent when
//! the echo arrived. Both clients stay connected and take turns in blocks, so a busy
//! moment of the machine falls on both.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use partysocket::{Message, PartySocketOptions};
use tokio_tungstenite::tungstenite;

use crate::Setup;
use crate::bare::{self, BareSocket};
use crate::ours::{self, OurEvents, OurSocket};
use crate::report::{Report, Target, ratio};
use crate::throughput::CONNECT;

/// Round trips measured per client.
const TRIPS: usize = 10_000;
/// Turns the trips are split into.
const BLOCKS: usize = 10;
/// Round trips per client before measuring.
const WARMUP: usize = 500;
/// The longest one echo may take.
const ECHO: Duration = Duration::from_secs(5);
/// Bytes per message.
const SIZE: usize = 64;

pub(crate) async fn run(setup: &Setup, report: &mut Report) {
    println!("rtt: {TRIPS} sequential {SIZE} B round trips per client, in {BLOCKS} turns");
    let samples = async {
        let mut bare = open_bare(setup)
            .await
            .map_err(|err| format!("bare: {err}"))?;
        let (socket, mut events) = open_ours(setup)
            .await
            .map_err(|err| format!("ours: {err}"))?;
        bare_trips(&mut bare, WARMUP).await?;
        our_trips(&socket, &mut events, WARMUP).await?;
        let (mut bare_samples, mut our_samples) = (Vec::new(), Vec::new());
        for _ in 0..BLOCKS {
            bare_samples.extend(bare_trips(&mut bare, TRIPS / BLOCKS).await?);
            our_samples.extend(our_trips(&socket, &mut events, TRIPS / BLOCKS).await?);
        }
        socket.close().await;
        let _ = tokio::time::timeout(Duration::from_secs(1), bare.close(None)).await;
        bare_samples.sort();
        our_samples.sort();
        Ok::<_, String>((our_samples, bare_samples))
    };
    let (ours, bare) = match samples.await {
        Ok(samples) => samples,
        Err(err) => return report.broken(format!("rtt: {err}")),
    };
    for (name, quantile, target) in [
        ("p50", 0.50, Target::None),
        ("p99", 0.99, Target::AtMost(1.10)),
    ] {
        let (ours, bare) = (percentile(&ours, quantile), percentile(&bare, quantile));
        report.value(&format!("rtt_{name}_us"), ours);
        report.value(&format!("rtt_bare_{name}_us"), bare);
        let figure = format!("rtt_{name}_ratio");
        let value = ratio(ours, bare);
        if let Some(value) = value {
            report.value(&figure, value);
        }
        report.row(
            &figure,
            format!("{ours:.1} µs"),
            format!("{bare:.1} µs"),
            value,
            target,
        );
    }
}

/// The `quantile` of `samples` (sorted), in microseconds.
fn percentile(samples: &[Duration], quantile: f64) -> f64 {
    let index = ((samples.len() as f64 * quantile).ceil() as usize).clamp(1, samples.len()) - 1;
    samples[index].as_secs_f64() * 1e6
}

async fn open_ours(setup: &Setup) -> Result<(OurSocket, OurEvents), String> {
    let options = PartySocketOptions::builder(setup.host.as_str())
        .party("echo")
        .room("rtt-ours")
        .build()
        .map_err(|err| err.to_string())?;
    tokio::time::timeout(CONNECT, async {
        let (socket, mut events) = ours::open(options).await?;
        events.message().await.ok_or("no greeting")?;
        Ok((socket, events))
    })
    .await
    .map_err(|_| format!("no connection and greeting within {CONNECT:?}"))?
}

async fn our_trips(
    socket: &OurSocket,
    events: &mut OurEvents,
    trips: usize,
) -> Result<Vec<Duration>, String> {
    let text = "r".repeat(SIZE);
    let mut samples = Vec::with_capacity(trips);
    for _ in 0..trips {
        let began = Instant::now();
        socket.send(Message::from(text.clone())).await?;
        let echo = tokio::time::timeout(ECHO, events.message())
            .await
            .map_err(|_| format!("ours: no echo within {ECHO:?}"))?
            .ok_or("ours: the socket's task ended")?;
        samples.push(began.elapsed());
        if echo.len() != SIZE {
            return Err(format!("ours: unexpected {}-byte message", echo.len()));
        }
    }
    Ok(samples)
}

async fn open_bare(setup: &Setup) -> Result<BareSocket, String> {
    bare::open(
        format!("ws://{}/parties/echo/rtt-bare?_pk=bare", setup.host),
        None,
    )
    .await
}

async fn bare_trips(ws: &mut BareSocket, trips: usize) -> Result<Vec<Duration>, String> {
    let text = "r".repeat(SIZE);
    let mut samples = Vec::with_capacity(trips);
    for _ in 0..trips {
        let began = Instant::now();
        ws.send(tungstenite::Message::text(text.clone()))
            .await
            .map_err(|err| format!("bare: {err}"))?;
        let echo = tokio::time::timeout(ECHO, ws.next())
            .await
            .map_err(|_| format!("bare: no echo within {ECHO:?}"))?
            .ok_or("bare: the server closed the connection")?
            .map_err(|err| format!("bare: {err}"))?;
        samples.push(began.elapsed());
        if echo.len() != SIZE {
            return Err(format!("bare: unexpected frame {echo:?}"));
        }
    }
    Ok(samples)
}
