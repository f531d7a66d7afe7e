//! Echo throughput on one socket with 1,000 messages in flight: a writer keeps the
//! window full, a reader counts echoes and opens the window again; the same harness for
//! our client and for bare tokio-tungstenite.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use partysocket::{Message, PartySocketOptions};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite;

use crate::Setup;
use crate::ours;
use crate::report::{Report, Target, median, micros_per_message, per_second, ratio};
use crate::system::{Load, LoadMark};

/// Messages in flight.
pub(crate) const WINDOW: usize = 1_000;
/// Rounds per client and size; the median counts.
pub(crate) const ROUNDS: usize = 5;
/// Echoes before the measurement starts.
pub(crate) const WARMUP: Duration = Duration::from_millis(300);
/// How long echoes are counted.
pub(crate) const MEASURE: Duration = Duration::from_millis(1_500);
/// No echo for this long while messages are in flight: the client stalled.
pub(crate) const STALL: Duration = Duration::from_secs(3);
/// How long the messages in flight may take to come back after a round.
const DRAIN: Duration = Duration::from_secs(30);
/// How long connecting and the greeting may take.
pub(crate) const CONNECT: Duration = Duration::from_secs(10);

/// What one message carries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Payload {
    /// Bytes per message.
    pub(crate) size: usize,
    /// Text (64 B, like JSON chatter) or binary (16 KiB, like a state snapshot).
    pub(crate) text: bool,
}

impl Payload {
    pub(crate) const SMALL: Payload = Payload {
        size: 64,
        text: true,
    };
    pub(crate) const LARGE: Payload = Payload {
        size: 16 * 1024,
        text: false,
    };

    fn ours(self) -> impl Fn() -> Message + Send + 'static {
        let text = "x".repeat(self.size);
        let bytes = vec![0xA5u8; self.size];
        move || {
            if self.text {
                Message::from(text.clone())
            } else {
                Message::from(bytes.clone())
            }
        }
    }

    fn tws(self) -> impl Fn() -> tokio_websockets::Message + Send + 'static {
        let text = "x".repeat(self.size);
        let bytes = vec![0xA5u8; self.size];
        move || {
            if self.text {
                tokio_websockets::Message::text(text.clone())
            } else {
                tokio_websockets::Message::binary(bytes.clone())
            }
        }
    }

    fn bare(self) -> impl Fn() -> tungstenite::Message + Send + 'static {
        let text = "x".repeat(self.size);
        let bytes = vec![0xA5u8; self.size];
        move || {
            if self.text {
                tungstenite::Message::text(text.clone())
            } else {
                tungstenite::Message::binary(bytes.clone())
            }
        }
    }
}

/// The counters a writer, a reader and the timer share.
#[derive(Debug)]
struct Flow {
    sent: AtomicU64,
    echoed: AtomicU64,
    stop: AtomicBool,
    window: Semaphore,
    failure: Mutex<Option<String>>,
}

impl Flow {
    fn new() -> Arc<Flow> {
        Arc::new(Flow {
            sent: AtomicU64::new(0),
            echoed: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            window: Semaphore::new(WINDOW),
            failure: Mutex::new(None),
        })
    }

    fn fail(&self, what: String) {
        let mut failure = self.failure.lock().unwrap_or_else(|err| err.into_inner());
        failure.get_or_insert(what);
    }

    fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|err| err.into_inner())
            .clone()
    }

    /// Waits for a free slot in the window; `false` when the round is over.
    async fn slot(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return false;
        }
        match self.window.acquire().await {
            Ok(permit) => permit.forget(),
            Err(_) => return false,
        }
        !self.stop.load(Ordering::Relaxed)
    }

    fn echo(&self) {
        self.echoed.fetch_add(1, Ordering::Relaxed);
        self.window.add_permits(1);
    }
}

/// One round's outcome.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Round {
    /// Echoes per second, and how busy client and server were.
    Rate(f64, Load),
    /// No echo arrived for [`STALL`] with messages in flight.
    Stalled { echoed: u64, in_flight: u64 },
}

/// Which client a round drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Ours,
    /// Bare tokio-tungstenite: the baseline.
    Bare,
    /// Bare tokio-websockets: the second reference.
    Tws,
}

impl Client {
    /// The key part of its figures (`throughput_64b{suffix}_...`).
    fn suffix(self) -> &'static str {
        match self {
            Client::Ours => "",
            Client::Bare => "_bare",
            Client::Tws => "_tws",
        }
    }
}

pub(crate) async fn run(setup: &Setup, report: &mut Report) {
    // 16 KiB over TLS when the server answers `wss://` too: ours against bare
    // tokio-tungstenite with the same rustls configuration.
    let tls = setup
        .tls_ca
        .as_ref()
        .map(|_| (Payload::LARGE, "wss_16k", true));
    let cases = [
        (Payload::SMALL, "64b", false),
        (Payload::LARGE, "16k", false),
    ];
    for (payload, label, secure) in cases.into_iter().chain(tls) {
        if std::env::var("BENCH_SIZES")
            .is_ok_and(|sizes| !sizes.split(',').any(|size| size == label))
        {
            continue;
        }
        println!(
            "throughput {label}: one socket, {WINDOW} in flight, {ROUNDS} rounds of {} ms",
            MEASURE.as_millis()
        );
        let clients = [Client::Bare, Client::Tws, Client::Ours];
        let mut rounds: [Vec<Round>; 3] = Default::default();
        for round in 0..ROUNDS {
            for (index, client) in clients.into_iter().enumerate() {
                let name = format!("{client:?}").to_lowercase();
                if !setup.runs(&name) || (secure && client == Client::Tws) {
                    continue;
                }
                let room = format!("throughput-{label}-{client:?}-{round}").to_lowercase();
                let outcome = match client {
                    Client::Ours => round_ours(setup, payload, &room, secure).await,
                    Client::Bare => round_bare(setup, payload, &room, secure).await,
                    Client::Tws => round_tws(setup, payload, &room).await,
                };
                match outcome {
                    Ok(outcome) => {
                        println!("  {client:?} round {round}: {}", describe(outcome));
                        rounds[index].push(outcome);
                    }
                    Err(err) => {
                        report.broken(format!("throughput {label} {client:?}: {err}"));
                        return;
                    }
                }
            }
        }
        let [bare, tws, ours] = &rounds;
        let key = |client: Client| format!("throughput_{label}{}", client.suffix());
        let ours_rate = summarize(report, &key(Client::Ours), ours);
        let bare_rate = summarize(report, &key(Client::Bare), bare);
        // Over TLS only bare tokio-tungstenite runs (the target is against it).
        let tws_rate = if secure {
            f64::NAN
        } else {
            summarize(report, &key(Client::Tws), tws)
        };
        shared_limits(report, &format!("throughput {label}"), &[ours, bare, tws]);
        let stalls = ours
            .iter()
            .filter(|round| matches!(round, Round::Stalled { .. }))
            .count();
        if stalls > 0 {
            report.value(&format!("throughput_{label}_stalled_rounds"), stalls as f64);
            report.broken(format!(
                "throughput {label}: our client stalled in {stalls} of {ROUNDS} rounds (no echo for {} s with messages in flight)",
                STALL.as_secs()
            ));
        }
        let stalled = (stalls > 0).then_some(0.0);

        let figure = format!("throughput_ratio_{label}");
        let vs_bare = ratio(ours_rate, bare_rate).or(stalled);
        if let Some(value) = vs_bare {
            report.value(&figure, value);
        }
        report.row(
            &figure,
            rate_text(ours_rate, stalls),
            rate_text(bare_rate, 0),
            vs_bare,
            Target::AtLeast(0.95),
        );
        if !secure {
            let (best, best_name) = if tws_rate > bare_rate {
                (tws_rate, "tws")
            } else {
                (bare_rate, "bare")
            };
            let figure = format!("throughput_vs_best_{label}");
            let vs_best = ratio(ours_rate, best).or(stalled);
            if let Some(value) = vs_best {
                report.value(&figure, value);
            }
            report.row(
                &figure,
                rate_text(ours_rate, stalls),
                format!("{} ({best_name})", rate_text(best, 0)),
                vs_best,
                Target::AtLeast(0.95),
            );
        }

        let cpu = |report: &mut Report, client: Client, rounds: &[Round]| {
            let cost = cpu_per_message(rounds);
            if let Some(cost) = cost {
                report.value(&format!("{}_cpu_us_per_msg", key(client)), cost);
            }
            cost
        };
        let ours_cpu = cpu(report, Client::Ours, ours);
        let bare_cpu = cpu(report, Client::Bare, bare);
        let tws_cpu = if secure {
            None
        } else {
            cpu(report, Client::Tws, tws)
        };
        let figure = format!("throughput_cpu_{label}_ratio");
        let cpu_ratio = ours_cpu
            .zip(bare_cpu)
            .and_then(|(ours, bare)| ratio(ours, bare));
        if let Some(value) = cpu_ratio {
            report.value(&figure, value);
        }
        if let Some(value) = ours_cpu
            .zip(tws_cpu)
            .and_then(|(ours, tws)| ratio(ours, tws))
        {
            report.value(&format!("throughput_cpu_{label}_vs_tws_ratio"), value);
        }
        report.row(
            &figure,
            micros_per_message(ours_cpu),
            if secure {
                micros_per_message(bare_cpu)
            } else {
                format!(
                    "{} (tws {})",
                    micros_per_message(bare_cpu),
                    micros_per_message(tws_cpu)
                )
            },
            cpu_ratio,
            Target::AtMost(1.10),
        );
    }
}

/// The client's CPU time per echoed (or delivered) message in microseconds, median
/// over the rounds that measured it.
pub(crate) fn cpu_per_message(rounds: &[Round]) -> Option<f64> {
    let costs: Vec<f64> = rounds
        .iter()
        .filter_map(|round| match round {
            Round::Rate(rate, load) if *rate > 0.0 => load.client.map(|cores| cores * 1e6 / rate),
            _ => None,
        })
        .collect();
    (!costs.is_empty()).then(|| median(&costs))
}

fn rate_text(rate: f64, stalls: usize) -> String {
    if stalls > 0 && rate == 0.0 {
        "stalled".to_owned()
    } else {
        per_second(rate)
    }
}

/// Records the median rate (stalled rounds count as 0) and the mean load; returns the
/// median.
pub(crate) fn summarize(report: &mut Report, key: &str, rounds: &[Round]) -> f64 {
    let rates: Vec<f64> = rounds
        .iter()
        .map(|round| match round {
            Round::Rate(rate, _) => *rate,
            Round::Stalled { .. } => 0.0,
        })
        .collect();
    let rate = median(&rates);
    report.value(&format!("{key}_msgs_per_sec"), rate);
    let loads: Vec<Load> = rounds
        .iter()
        .filter_map(|round| match round {
            Round::Rate(_, load) => Some(*load),
            Round::Stalled { .. } => None,
        })
        .collect();
    let mean = |values: Vec<f64>| {
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    if let Some(client) = mean(loads.iter().filter_map(|load| load.client).collect()) {
        report.value(&format!("{key}_client_cpu"), client);
    }
    if let Some(server) = mean(loads.iter().filter_map(|load| load.server).collect()) {
        report.value(&format!("{key}_server_cpu"), server);
    }
    if let Some(steal) = mean(loads.iter().filter_map(|load| load.steal).collect()) {
        report.value(&format!("{key}_steal"), steal);
    }
    rate
}

/// Server load at or above this (of one core) means the server, not the client, set
/// the pace.
pub(crate) const SERVER_BOUND: f64 = 0.9;

/// Steal at or above this (of one core, all cores together) in a round means the host
/// took a noticeable share of the machine from the bench.
pub(crate) const STOLEN: f64 = 0.1;

/// Notes what the clients shared that may have set the pace: the server, when it was
/// saturated in any round (both clients then run at its pace and the ratio understates
/// the difference between them), and the host, when it took time from this machine
/// (rates are then lower and noisier than on a quiet host; the clients took turns, so a
/// ratio still compares them, with more noise).
pub(crate) fn shared_limits(report: &mut Report, what: &str, rounds: &[&[Round]]) {
    let busiest = |of: fn(&Load) -> Option<f64>| {
        rounds
            .iter()
            .flat_map(|rounds| rounds.iter())
            .filter_map(|round| match round {
                Round::Rate(_, load) => of(load),
                Round::Stalled { .. } => None,
            })
            .fold(f64::NAN, f64::max)
    };
    let server = busiest(|load| load.server);
    if server >= SERVER_BOUND {
        report.note(format!(
            "{what}: the server used up to {:.0}% of its core: server-bound, the ratio understates the clients' difference",
            server * 100.0
        ));
    }
    let stolen = busiest(|load| load.steal);
    if stolen >= STOLEN {
        report.note(format!(
            "{what}: the host took up to {:.0}% of a core from this machine in a round (steal): rates are lower and noisier than on a quiet host",
            stolen * 100.0
        ));
    }
}

pub(crate) fn describe(round: Round) -> String {
    match round {
        Round::Rate(rate, load) => {
            let busy = |value: Option<f64>| {
                value.map_or_else(|| "?".to_owned(), |value| format!("{:.0}%", value * 100.0))
            };
            format!(
                "{} (cpu: client {}, server {}, stolen {})",
                per_second(rate),
                busy(load.client),
                busy(load.server),
                busy(load.steal)
            )
        }
        Round::Stalled { echoed, in_flight } => {
            format!("STALLED after {echoed} echoes with {in_flight} in flight")
        }
    }
}

/// Our client: a writer task sends into the window, a reader task counts echoes.
async fn round_ours(
    setup: &Setup,
    payload: Payload,
    room: &str,
    secure: bool,
) -> Result<Round, String> {
    let protocol = if secure {
        partysocket::Protocol::Wss
    } else {
        partysocket::Protocol::Ws
    };
    let options = PartySocketOptions::builder(setup.host.as_str())
        .party("echo")
        .room(room)
        .protocol(protocol)
        .build()
        .map_err(|err| err.to_string())?;
    let tls = tls_config(setup, secure)?;
    let (socket, mut events) = tokio::time::timeout(CONNECT, async {
        let (socket, mut events) = ours::open_with(options, tls).await?;
        events.message().await.ok_or("no greeting")?;
        Ok::<_, String>((socket, events))
    })
    .await
    .map_err(|_| format!("no connection and greeting within {CONNECT:?}"))??;

    let flow = Flow::new();
    let make = payload.ours();
    let writer = tokio::spawn({
        let (flow, mut socket) = (flow.clone(), socket.clone());
        async move {
            // The same flow control as the bare writer's (`round_raw`): the socket's
            // `Sink` waits while the connection is behind, and a full window is flushed.
            let result = async {
                loop {
                    if flow.window.available_permits() == 0 {
                        socket.flush().await?;
                    }
                    if !flow.slot().await {
                        break;
                    }
                    socket.feed(make()).await?;
                    flow.sent.fetch_add(1, Ordering::Relaxed);
                }
                socket.flush().await
            }
            .await;
            if let Err(err) = result {
                flow.fail(err);
            }
        }
    });
    let reader = tokio::spawn({
        let flow = flow.clone();
        async move {
            loop {
                match events.message().await {
                    Some(message) if message.len() == payload.size => flow.echo(),
                    Some(message) => {
                        flow.fail(format!("unexpected {}-byte message", message.len()));
                        break;
                    }
                    None => {
                        flow.fail("the socket's task ended".to_owned());
                        break;
                    }
                }
            }
        }
    });
    let outcome = time_round(&flow, writer, &reader, setup.server_pid).await;
    reader.abort();
    socket.close().await;
    outcome
}

/// The TLS configuration both clients use: the server's authority as the only root
/// (the default one when `secure` is false, unused then).
fn tls_config(setup: &Setup, secure: bool) -> Result<partysocket::TlsConfig, String> {
    let builder = partysocket::TlsConfig::builder();
    match (&setup.tls_ca, secure) {
        (Some(pem), true) => builder
            .webpki_roots(false)
            .add_root_certificate_pem(pem)
            .and_then(|builder| builder.build())
            .map_err(|err| format!("TLS configuration: {err}")),
        (None, true) => Err("no certificate authority for wss (--tls-ca)".to_owned()),
        (_, false) => builder
            .build()
            .map_err(|err| format!("TLS configuration: {err}")),
    }
}

/// Bare tokio-tungstenite, default configuration.
async fn round_bare(
    setup: &Setup,
    payload: Payload,
    room: &str,
    secure: bool,
) -> Result<Round, String> {
    let scheme = if secure { "wss" } else { "ws" };
    let url = format!(
        "{scheme}://{}/parties/echo/{room}?_pk=bare-{room}",
        setup.host
    );
    let ws = if secure {
        let tls = tls_config(setup, true)?.rustls();
        crate::bare::open_tls(url, tls).await?
    } else {
        crate::bare::open(url, None).await?
    };
    round_raw(setup, ws, payload.bare(), |frame| match frame {
        tungstenite::Message::Text(text) => Frame::Data(text.len()),
        tungstenite::Message::Binary(bytes) => Frame::Data(bytes.len()),
        tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => Frame::Control,
        other => Frame::Unexpected(format!("{other:?}")),
    })
    .await
}

/// Bare tokio-websockets, default configuration.
async fn round_tws(setup: &Setup, payload: Payload, room: &str) -> Result<Round, String> {
    let url = format!("ws://{}/parties/echo/{room}?_pk=tws-{room}", setup.host);
    let ws = crate::tws::open(url).await?;
    round_raw(setup, ws, payload.tws(), |frame| {
        if frame.is_text() || frame.is_binary() {
            Frame::Data(frame.as_payload().len())
        } else if frame.is_ping() || frame.is_pong() {
            Frame::Control
        } else {
            Frame::Unexpected(format!("{frame:?}"))
        }
    })
    .await
}

/// What a reference client read.
enum Frame {
    /// A data message of this many bytes.
    Data(usize),
    /// A ping or a pong.
    Control,
    /// Anything else, described.
    Unexpected(String),
}

/// A reference client split into a sink and a stream so reading never waits for a
/// write: the writer feeds while the window has room and flushes before it waits.
async fn round_raw<W, M, E>(
    setup: &Setup,
    ws: W,
    make: impl Fn() -> M + Send + Sync + 'static,
    classify: fn(&M) -> Frame,
) -> Result<Round, String>
where
    W: futures_util::Stream<Item = Result<M, E>>
        + futures_util::Sink<M, Error = E>
        + Send
        + 'static,
    M: Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let (mut sink, mut stream) = ws.split();
    let size = make_size(&make, classify)?;
    let flow = Flow::new();
    let writer = tokio::spawn({
        let flow = flow.clone();
        async move {
            let result = async {
                loop {
                    if flow.window.available_permits() == 0 {
                        sink.flush().await?;
                    }
                    if !flow.slot().await {
                        break;
                    }
                    sink.feed(make()).await?;
                    flow.sent.fetch_add(1, Ordering::Relaxed);
                }
                sink.flush().await
            }
            .await;
            if let Err(err) = result {
                flow.fail(format!("write: {err}"));
            }
        }
    });
    let reader = tokio::spawn({
        let flow = flow.clone();
        async move {
            loop {
                match stream
                    .next()
                    .await
                    .map(|item| item.map(|frame| classify(&frame)))
                {
                    Some(Ok(Frame::Data(len))) if len == size => flow.echo(),
                    Some(Ok(Frame::Data(len))) => {
                        flow.fail(format!("unexpected {len}-byte message"));
                        break;
                    }
                    Some(Ok(Frame::Control)) => {}
                    Some(Ok(Frame::Unexpected(what))) => {
                        flow.fail(format!("unexpected frame {what}"));
                        break;
                    }
                    Some(Err(err)) => {
                        flow.fail(format!("read: {err}"));
                        break;
                    }
                    None => {
                        flow.fail("the server closed the connection".to_owned());
                        break;
                    }
                }
            }
        }
    });
    let outcome = time_round(&flow, writer, &reader, setup.server_pid).await;
    reader.abort();
    outcome
}

/// The size of the messages `make` builds.
fn make_size<M>(make: &impl Fn() -> M, classify: fn(&M) -> Frame) -> Result<usize, String> {
    match classify(&make()) {
        Frame::Data(size) => Ok(size),
        _ => Err("the message template is not a data message".to_owned()),
    }
}

/// Warms up, counts echoes over [`MEASURE`], stops the writer and waits until every
/// message in flight has come back.
async fn time_round(
    flow: &Flow,
    mut writer: JoinHandle<()>,
    reader: &JoinHandle<()>,
    server_pid: Option<u32>,
) -> Result<Round, String> {
    let watch = Watch::new(flow);
    if let Some(stalled) = watch.run_for(WARMUP, reader).await? {
        writer.abort();
        return Ok(stalled);
    }
    let (mark, before) = (
        LoadMark::now(server_pid),
        flow.echoed.load(Ordering::Relaxed),
    );
    let began = Instant::now();
    if let Some(stalled) = watch.run_for(MEASURE, reader).await? {
        writer.abort();
        return Ok(stalled);
    }
    let echoed = flow.echoed.load(Ordering::Relaxed) - before;
    let (elapsed, load) = (began.elapsed(), mark.load());

    flow.stop.store(true, Ordering::Relaxed);
    // The writer may wait for a slot; echoes still arriving free one.
    if tokio::time::timeout(STALL, &mut writer).await.is_err() {
        writer.abort();
        return Ok(watch.stalled());
    }
    if let Some(failure) = flow.failure() {
        return Err(failure);
    }
    if let Some(stalled) = watch.drain(reader).await? {
        return Ok(stalled);
    }
    if std::env::var_os("BENCH_TOTALS").is_some() {
        // For instruction counts per message under callgrind: every echo of the round.
        eprintln!("echoed in all: {}", flow.echoed.load(Ordering::Relaxed));
    }
    Ok(Round::Rate(echoed as f64 / elapsed.as_secs_f64(), load))
}

/// Checks a round's progress every few milliseconds.
struct Watch<'a> {
    flow: &'a Flow,
}

/// How often progress is checked.
const TICK: Duration = Duration::from_millis(20);

impl<'a> Watch<'a> {
    fn new(flow: &'a Flow) -> Self {
        Watch { flow }
    }

    fn in_flight(&self) -> u64 {
        let sent = self.flow.sent.load(Ordering::Relaxed);
        sent.saturating_sub(self.flow.echoed.load(Ordering::Relaxed))
    }

    fn stalled(&self) -> Round {
        Round::Stalled {
            echoed: self.flow.echoed.load(Ordering::Relaxed),
            in_flight: self.in_flight(),
        }
    }

    /// Lets the round run for `span`; a stall or a failure ends it early.
    async fn run_for(
        &self,
        span: Duration,
        reader: &JoinHandle<()>,
    ) -> Result<Option<Round>, String> {
        let end = Instant::now() + span;
        let mut last = (self.flow.echoed.load(Ordering::Relaxed), Instant::now());
        while Instant::now() < end {
            tokio::time::sleep(TICK.min(end.saturating_duration_since(Instant::now()))).await;
            if let Some(failure) = self.flow.failure() {
                return Err(failure);
            }
            if reader.is_finished() {
                return Err("the reader ended".to_owned());
            }
            let echoed = self.flow.echoed.load(Ordering::Relaxed);
            if echoed != last.0 {
                last = (echoed, Instant::now());
            } else if last.1.elapsed() >= STALL {
                return Ok(Some(self.stalled()));
            }
        }
        Ok(None)
    }

    /// Waits until every message sent has been echoed.
    async fn drain(&self, reader: &JoinHandle<()>) -> Result<Option<Round>, String> {
        let mut last = (self.flow.echoed.load(Ordering::Relaxed), Instant::now());
        let end = Instant::now() + DRAIN;
        while self.in_flight() > 0 {
            if Instant::now() >= end {
                return Err(format!(
                    "{} echoes still missing after {DRAIN:?}",
                    self.in_flight()
                ));
            }
            tokio::time::sleep(TICK).await;
            if let Some(failure) = self.flow.failure() {
                return Err(failure);
            }
            if reader.is_finished() {
                return Err("the reader ended".to_owned());
            }
            let echoed = self.flow.echoed.load(Ordering::Relaxed);
            if echoed != last.0 {
                last = (echoed, Instant::now());
            } else if last.1.elapsed() >= STALL {
                return Ok(Some(self.stalled()));
            }
        }
        Ok(None)
    }
}
