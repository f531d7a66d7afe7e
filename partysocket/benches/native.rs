//! `cargo xtask bench`: speed and memory, each as a ratio against a baseline measured in
//! the same run on the same machine, so the numbers mean something on a busy machine.
//!
//! - core: sends through an open `Machine` vs pushing into a bare `VecDeque`;
//! - throughput: echo round trips through `PartySocket` vs raw tokio-tungstenite;
//! - idle memory: resident bytes per idle connection, `PartySocket` vs raw
//!   tokio-tungstenite with its default configuration.
//!
//! The server is the `party-mock` binary in its own process (path in `PARTY_MOCK_BIN`)
//! so its memory is not counted; without it, an in-process mock is used and the memory
//! figures include the server's share.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use partysocket::web_time;
use partysocket::{Machine, Message, Output, PartySocket, PartySocketOptions};
use tokio_tungstenite::tungstenite;

const CORE_SENDS: usize = 1_000_000;
const ECHOES: usize = 20_000;
const IDLE: usize = 1_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    println!("partysocket bench (ratios: ours / baseline, lower is better)\n");
    core_sends();
    runtime.block_on(async {
        let server = Server::start().await;
        throughput(&server.host).await;
        idle_memory(&server.host).await;
        server.stop();
    });
}

fn report(name: &str, ours: f64, baseline: f64, unit: &str) {
    println!(
        "{name:<44} ours {ours:>12.1} {unit:<10} baseline {baseline:>12.1} {unit:<10} ratio {:>6.2}",
        ours / baseline
    );
}

fn core_sends() {
    let options = PartySocketOptions::builder("localhost:1")
        .room("r")
        .id("b")
        .build()
        .expect("options");
    let start = web_time::Instant::now();
    let mut machine = Machine::with_seed(options, start, 1);
    let mut transport = None;
    while let Some(output) = machine.poll_output() {
        if let Output::Connect { transport: id, .. } = output {
            transport = Some(id);
        }
    }
    machine.handle_open(transport.expect("an attempt"), None, start);
    while machine.poll_output().is_some() {}
    let payload = Message::from("x".repeat(32));

    let began = Instant::now();
    let mut sent = 0usize;
    for _ in 0..CORE_SENDS {
        machine.send(payload.clone());
        while let Some(output) = machine.poll_output() {
            if matches!(output, Output::Send { .. }) {
                sent += 1;
            }
        }
    }
    let ours = began.elapsed();
    assert_eq!(sent, CORE_SENDS);

    let began = Instant::now();
    let mut queue = VecDeque::new();
    let mut popped = 0usize;
    for _ in 0..CORE_SENDS {
        queue.push_back(std::hint::black_box(payload.clone()));
        while queue.pop_front().is_some() {
            popped += 1;
        }
    }
    let baseline = began.elapsed();
    assert_eq!(popped, CORE_SENDS);
    report(
        &format!("core: {CORE_SENDS} sends through an open machine"),
        ns_per(ours, CORE_SENDS),
        ns_per(baseline, CORE_SENDS),
        "ns/send",
    );
}

fn ns_per(elapsed: Duration, count: usize) -> f64 {
    elapsed.as_nanos() as f64 / count as f64
}

struct Server {
    host: String,
    child: Option<Child>,
    _in_process: Option<party_mock::MockServer>,
}

impl Server {
    async fn start() -> Server {
        if let Ok(binary) = std::env::var("PARTY_MOCK_BIN") {
            let mut child = Command::new(binary)
                .args(["--port", "0", "--host", "127.0.0.1", "--no-message-log"])
                .stdout(Stdio::piped())
                .spawn()
                .expect("party-mock starts");
            let stdout = child.stdout.take().expect("piped stdout");
            let mut line = String::new();
            BufReader::new(stdout)
                .read_line(&mut line)
                .expect("party-mock prints its address");
            let host = line
                .trim()
                .strip_prefix("listening on ")
                .expect("a `listening on` line")
                .to_owned();
            println!("server: party-mock process at {host}\n");
            return Server {
                host,
                child: Some(child),
                _in_process: None,
            };
        }
        let server = party_mock::MockServer::start(party_mock::MockConfig::default())
            .await
            .expect("in-process mock");
        println!("server: in-process mock (set PARTY_MOCK_BIN for a separate process)\n");
        Server {
            host: server.host(),
            child: None,
            _in_process: Some(server),
        }
    }

    fn stop(mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn throughput(host: &str) {
    let options = PartySocketOptions::builder(host)
        .party("echo")
        .room("bench-ours")
        .build()
        .expect("options");
    let (socket, mut events) = PartySocket::connect(options).expect("runtime");
    socket.opened().await.expect("open");
    let mut greeting = true;
    let began = Instant::now();
    let reader = tokio::spawn(async move {
        let mut echoes = 0;
        while echoes < ECHOES {
            match events.next().await {
                Some(partysocket::Event::Message(_)) if greeting => greeting = false,
                Some(partysocket::Event::Message(_)) => echoes += 1,
                Some(_) => {}
                None => break,
            }
        }
        echoes
    });
    for i in 0..ECHOES {
        socket.send(format!("message {i:08}")).expect("send");
    }
    assert_eq!(reader.await.expect("reader"), ECHOES);
    let ours = began.elapsed();

    let url = format!("ws://{host}/parties/echo/bench-raw?_pk=raw");
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("raw connect");
    let (mut sink, mut stream) = ws.split();
    let _greeting = stream.next().await;
    let began = Instant::now();
    let reader = tokio::spawn(async move {
        let mut echoes = 0;
        while echoes < ECHOES {
            match stream.next().await {
                Some(Ok(tungstenite::Message::Text(_))) => echoes += 1,
                Some(Ok(_)) => {}
                _ => break,
            }
        }
        echoes
    });
    for i in 0..ECHOES {
        sink.feed(tungstenite::Message::text(format!("message {i:08}")))
            .await
            .expect("feed");
        if i % 64 == 63 {
            sink.flush().await.expect("flush");
        }
    }
    sink.flush().await.expect("flush");
    assert_eq!(reader.await.expect("reader"), ECHOES);
    let baseline = began.elapsed();
    report(
        &format!("native: {ECHOES} echo round trips"),
        ns_per(ours, ECHOES) / 1000.0,
        ns_per(baseline, ECHOES) / 1000.0,
        "µs/msg",
    );
    socket.close().expect("close");
}

fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

async fn idle_memory(host: &str) {
    let Some(before) = resident_bytes() else {
        println!("idle memory: /proc/self/statm unavailable, skipped");
        return;
    };
    let mut ours = Vec::with_capacity(IDLE);
    for i in 0..IDLE {
        let options = PartySocketOptions::builder(host)
            .party("echo")
            .room(format!("idle-{i}"))
            .build()
            .expect("options");
        ours.push(PartySocket::connect(options).expect("runtime"));
    }
    for (socket, events) in &mut ours {
        socket.opened().await.expect("open");
        // Read the greeting so every connection has used its read path once.
        while !matches!(events.next().await, Some(partysocket::Event::Message(_))) {}
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let with_ours = resident_bytes().unwrap_or(before);
    let per_ours = with_ours.saturating_sub(before) as f64 / IDLE as f64;

    let mut raw = Vec::with_capacity(IDLE);
    for i in 0..IDLE {
        let url = format!("ws://{host}/parties/echo/idle-raw-{i}?_pk=raw-{i}");
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("raw connect");
        let _greeting = ws.next().await;
        raw.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let with_raw = resident_bytes().unwrap_or(with_ours);
    let per_raw = with_raw.saturating_sub(with_ours) as f64 / IDLE as f64;
    report(
        &format!("idle memory: {IDLE} open connections"),
        per_ours / 1024.0,
        per_raw / 1024.0,
        "KiB/conn",
    );
    drop(raw);
    for (socket, _) in &ours {
        let _ = socket.close();
    }
}
