//! Fan-out: 1,000 sockets in 10 rooms of the broadcasting `main` party (Quick Start:
//! every message goes to everyone in the room but its sender). In each burst every
//! socket sends a few messages and reads until it has everyone else's; the figure is
//! messages delivered per second.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use partysocket::{Message, PartySocketOptions};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite;

use crate::Setup;
use crate::bare::{self, BareSocket};
use crate::ours;
use crate::report::{Report, Target, micros_per_message, per_second, ratio};
use crate::system::LoadMark;
use crate::throughput::{CONNECT, Round, cpu_per_message, describe, shared_limits, summarize};

/// Sockets in all rooms together.
const SOCKETS: usize = 1_000;
/// Rooms they are spread over.
const ROOMS: usize = 10;
/// Messages each socket sends per burst.
const SENDS: usize = 2;
/// Bursts per client; the median counts.
const BURSTS: u32 = 15;
/// Sockets connecting at once.
const CONNECT_BATCH: usize = 100;
/// The longest one burst may take.
const BURST_LIMIT: Duration = Duration::from_secs(60);
/// Bytes per message.
const SIZE: usize = 64;

/// Messages every socket receives per burst.
const QUOTA: usize = SENDS * (SOCKETS / ROOMS - 1);
/// Messages delivered per burst, all sockets together.
const DELIVERED: usize = SOCKETS * QUOTA;

pub(crate) async fn run(setup: &Setup, report: &mut Report) {
    println!(
        "fanout: {SOCKETS} sockets per client in {ROOMS} rooms, {SENDS} messages each per burst ({DELIVERED} deliveries), {BURSTS} bursts per client, taking turns"
    );
    // `--clients` leaves either group out, to profile the other (no ratio then).
    let rates = async {
        let mut bare = match setup.runs("bare") {
            true => Some(Group::connect(setup, Client::Bare).await?),
            false => None,
        };
        let mut ours = match setup.runs("ours") {
            true => Some(Group::connect(setup, Client::Ours).await?),
            false => None,
        };
        let (mut bare_rates, mut our_rates) = (Vec::new(), Vec::new());
        // Burst 0 warms both up (buffers grown, code paths hot) and is not counted.
        let pid = setup.server_pid;
        for number in 0..=BURSTS {
            for (group, rates) in [(&mut bare, &mut bare_rates), (&mut ours, &mut our_rates)] {
                if let Some(group) = group {
                    let round = group.burst(number, pid).await?;
                    if number > 0 {
                        rates.push(round);
                    }
                }
            }
        }
        for group in [bare, ours].into_iter().flatten() {
            group.finish().await;
        }
        Ok::<_, String>((our_rates, bare_rates))
    };
    let (our_rounds, bare_rounds) = match rates.await {
        Ok(rates) => rates,
        Err(err) => return report.broken(format!("fanout: {err}")),
    };
    let ours = summarize(report, "fanout", &our_rounds);
    let bare = summarize(report, "fanout_bare", &bare_rounds);
    shared_limits(report, "fanout", &[&our_rounds, &bare_rounds]);
    let value = ratio(ours, bare);
    if let Some(value) = value {
        report.value("fanout_ratio", value);
    }
    report.row(
        "fanout_ratio (delivered/s)",
        per_second(ours),
        per_second(bare),
        value,
        Target::AtLeast(0.95),
    );
    // What the client spends per delivery: the figure a server-bound rate hides.
    let (ours_cpu, bare_cpu) = (cpu_per_message(&our_rounds), cpu_per_message(&bare_rounds));
    for (key, cost) in [
        ("fanout_cpu_us_per_msg", ours_cpu),
        ("fanout_bare_cpu_us_per_msg", bare_cpu),
    ] {
        if let Some(cost) = cost {
            report.value(key, cost);
        }
    }
    let cpu_ratio = ours_cpu
        .zip(bare_cpu)
        .and_then(|(ours, bare)| ratio(ours, bare));
    if let Some(value) = cpu_ratio {
        report.value("fanout_cpu_ratio", value);
    }
    report.row(
        "fanout_cpu_ratio (client CPU per delivery)",
        micros_per_message(ours_cpu),
        micros_per_message(bare_cpu),
        cpu_ratio,
        Target::AtMost(1.10),
    );
}

#[derive(Debug, Clone, Copy)]
enum Client {
    Ours,
    Bare,
}

/// One client's sockets, each served by a task that runs a burst when told.
struct Group {
    client: Client,
    bursts: watch::Sender<u32>,
    finished: mpsc::UnboundedReceiver<Result<(), String>>,
    members: JoinSet<()>,
}

impl Group {
    /// Connects every socket (each reads its welcome first).
    async fn connect(setup: &Setup, client: Client) -> Result<Group, String> {
        let (bursts, burst) = watch::channel(u32::MAX);
        let (done, finished) = mpsc::unbounded_channel();
        let mut members = JoinSet::new();
        let began = Instant::now();
        for first in (0..SOCKETS).step_by(CONNECT_BATCH) {
            let batch = first..(first + CONNECT_BATCH).min(SOCKETS);
            match client {
                Client::Ours => {
                    let opened = join_all(batch.map(|index| open_ours(setup, index))).await;
                    for member in opened {
                        let (socket, events) = member?;
                        members.spawn(our_member(socket, events, burst.clone(), done.clone()));
                    }
                }
                Client::Bare => {
                    let opened = join_all(batch.map(|index| open_bare(setup, index))).await;
                    for member in opened {
                        members.spawn(bare_member(member?, burst.clone(), done.clone()));
                    }
                }
            }
        }
        println!(
            "  {client:?}: {SOCKETS} sockets open in {:.1} s",
            began.elapsed().as_secs_f64()
        );
        Ok(Group {
            client,
            bursts,
            finished,
            members,
        })
    }

    /// Runs burst `number`; returns the deliveries per second and the load.
    async fn burst(&mut self, number: u32, server_pid: Option<u32>) -> Result<Round, String> {
        let (began, mark) = (Instant::now(), LoadMark::now(server_pid));
        self.bursts
            .send(number)
            .map_err(|_| "every member ended".to_owned())?;
        for _ in 0..SOCKETS {
            match tokio::time::timeout_at((began + BURST_LIMIT).into(), self.finished.recv()).await
            {
                Ok(Some(Ok(()))) => {}
                Ok(Some(Err(err))) => return Err(format!("{:?}: {err}", self.client)),
                Ok(None) => return Err(format!("{:?}: every member ended", self.client)),
                Err(_) => {
                    return Err(format!(
                        "{:?}: burst {number} took longer than {BURST_LIMIT:?}",
                        self.client
                    ));
                }
            }
        }
        let rate = DELIVERED as f64 / began.elapsed().as_secs_f64();
        let load = mark.load();
        println!(
            "  {:?} burst {number}: {}",
            self.client,
            describe(Round::Rate(rate, load))
        );
        Ok(Round::Rate(rate, load))
    }

    /// Ends the members (those waiting for a burst end when the sender goes).
    async fn finish(self) {
        let Group {
            bursts,
            mut members,
            ..
        } = self;
        drop(bursts);
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while members.join_next().await.is_some() {}
        })
        .await;
        members.abort_all();
    }
}

fn room(client: &str, index: usize) -> String {
    format!("fanout-{client}-{}", index % ROOMS)
}

async fn open_ours(
    setup: &Setup,
    index: usize,
) -> Result<(ours::OurSocket, ours::OurEvents), String> {
    let options = PartySocketOptions::builder(setup.host.as_str())
        .room(room("ours", index))
        .build()
        .map_err(|err| err.to_string())?;
    tokio::time::timeout(CONNECT, async {
        let (socket, mut events) = ours::open(options).await?;
        events.message().await.ok_or("no welcome")?;
        Ok((socket, events))
    })
    .await
    .map_err(|_| format!("socket {index}: no connection and welcome within {CONNECT:?}"))?
}

async fn open_bare(setup: &Setup, index: usize) -> Result<BareSocket, String> {
    let url = format!(
        "ws://{}/parties/main/{}?_pk=bare-{index}",
        setup.host,
        room("bare", index)
    );
    bare::open(url, None)
        .await
        .map_err(|err| format!("socket {index}: {err}"))
}

/// One socket of ours: per burst, send, then read everyone else's messages.
async fn our_member(
    socket: ours::OurSocket,
    mut events: ours::OurEvents,
    mut burst: watch::Receiver<u32>,
    done: mpsc::UnboundedSender<Result<(), String>>,
) {
    let text = "f".repeat(SIZE);
    while burst.changed().await.is_ok() {
        let result = async {
            for _ in 0..SENDS {
                socket.send(Message::from(text.clone())).await?;
            }
            for _ in 0..QUOTA {
                events.message().await.ok_or("the socket's task ended")?;
            }
            Ok(())
        }
        .await;
        let failed = result.is_err();
        let _ = done.send(result);
        if failed {
            break;
        }
    }
    socket.close().await;
}

/// One bare socket: per burst, send and flush, then read everyone else's messages.
async fn bare_member(
    mut ws: BareSocket,
    mut burst: watch::Receiver<u32>,
    done: mpsc::UnboundedSender<Result<(), String>>,
) {
    let text = "f".repeat(SIZE);
    while burst.changed().await.is_ok() {
        let result = async {
            for _ in 0..SENDS {
                ws.feed(tungstenite::Message::text(text.clone()))
                    .await
                    .map_err(|err| err.to_string())?;
            }
            ws.flush().await.map_err(|err| err.to_string())?;
            let mut received = 0;
            while received < QUOTA {
                match ws.next().await {
                    Some(Ok(tungstenite::Message::Text(_) | tungstenite::Message::Binary(_))) => {
                        received += 1
                    }
                    Some(Ok(_)) => {}
                    Some(Err(err)) => return Err(err.to_string()),
                    None => return Err("the server closed the connection".to_owned()),
                }
            }
            Ok(())
        }
        .await;
        let failed = result.is_err();
        let _ = done.send(result);
        if failed {
            break;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
}
