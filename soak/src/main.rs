//! `cargo xtask soak`: sockets on both runtime flavours send numbered messages to rooms
//! of the echo and the broadcasting party while `party-mock` (its own process) suffers
//! random faults. At the end the mock's log must show every message reported `Queued`
//! exactly once and in order, nothing twice or out of order, every socket open again,
//! and memory, descriptors and tasks back at their starting level.
//!
//! ```text
//! partysocket-soak --mock PATH [--seconds 120] [--sockets 50] [--seed N]
//! ```
//!
//! It prints a summary and exits non-zero on a lost queued message, a duplicate, a
//! reorder, a stuck socket or a leak. Messages reported `Sent` that the server never
//! saw were in flight on a dying connection (at most once, as documented): they are
//! counted, not failures. So are queued messages flushed into a connection that died
//! within [`FLUSH_LOSS_WINDOW`] of opening (a server silenced right after the
//! handshake): once written, a queued message is in flight like any other.
//!
//! Order is checked on each of the server's connections (strictly increasing) and
//! across them. A message the server reads from a connection the client has replaced,
//! after newer messages arrived on its successor, was in flight too: it was written
//! before the client gave up on that connection, and a server that goes on reading a
//! connection the client abandoned can always see that (an abortive close does not
//! take back bytes already in the server's receive buffer). It is counted as read late,
//! not as a reorder.

mod control;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use control::Mock;
use partysocket::{
    ConnectionState, Event, Heartbeat, OptionsUpdate, PartySocket, PartySocketOptions, Query,
    SendOutcome,
};

/// The server's message size limit; the oversize fault sends twice as much.
const SIZE_LIMIT: usize = 4096;
/// How long every socket may take to be open again after the last fault: the largest
/// backoff delay, a Retry-After, a connection timeout and a heartbeat timeout.
const RECOVERY: Duration = Duration::from_secs(8);

struct Args {
    seconds: u64,
    sockets: usize,
    seed: u64,
    mock: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        seconds: 120,
        sockets: 50,
        seed: 0,
        mock: std::env::var("PARTY_MOCK_BIN").unwrap_or_default(),
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, got {value:?}"))
        };
        match flag.as_str() {
            "--seconds" => args.seconds = number()?.clamp(1, 24 * 3600),
            "--sockets" => args.sockets = usize::try_from(number()?.clamp(2, 2000)).unwrap_or(50),
            "--seed" => args.seed = number()?,
            "--mock" => args.mock = value,
            _ => {
                return Err(format!(
                    "unknown flag {flag}; see the program's documentation"
                ));
            }
        }
    }
    if args.mock.is_empty() {
        return Err("pass the party-mock binary with --mock PATH (or PARTY_MOCK_BIN)".into());
    }
    if args.seed == 0 {
        args.seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |elapsed| elapsed.as_nanos() as u64 | 1);
    }
    Ok(args)
}

/// xorshift64*: the faults' randomness, reproducible from `--seed`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

/// How long after a connection opened its death may still take messages flushed into
/// it: a silenced server is found by the heartbeat (interval plus timeout) or the write
/// timeout, with a margin. A queued message lost later than that was never written.
const FLUSH_LOSS_WINDOW: Duration = Duration::from_secs(3);

/// What one socket sent and what became of it.
#[derive(Default)]
struct Sends {
    next: u64,
    /// Sequence number, whether the send was reported `Queued` (else `Sent`), and when.
    outcomes: Vec<(u64, bool, Instant)>,
}

/// When the socket's connections opened (`true`) and ended (`false`), in order.
type Timeline = Mutex<Vec<(Instant, bool)>>;

struct Client {
    id: String,
    party: &'static str,
    room: String,
    socket: PartySocket,
    sends: Mutex<Sends>,
    timeline: Timeline,
    opens: AtomicU64,
    errors: AtomicU64,
}

impl Client {
    fn mark(&self, open: bool) {
        self.timeline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((Instant::now(), open));
    }

    /// Whether a message queued at `at` was flushed into a connection that ended
    /// within [`FLUSH_LOSS_WINDOW`] of opening: then it was in flight on a dying
    /// connection, not lost from the queue.
    fn flushed_into_a_dying_connection(&self, at: Instant) -> bool {
        let timeline = self.timeline.lock().unwrap_or_else(|p| p.into_inner());
        let Some(opened) = timeline
            .iter()
            .position(|(when, open)| *open && *when >= at)
        else {
            return false;
        };
        let opened_at = timeline[opened].0;
        timeline[opened + 1..]
            .iter()
            .find(|(_, open)| !*open)
            .is_some_and(|(ended, _)| ended.duration_since(opened_at) <= FLUSH_LOSS_WINDOW)
    }

    /// Sends the next numbered message (with `pad` bytes of padding).
    fn send_next(&self, pad: usize) {
        let mut sends = self.sends.lock().unwrap_or_else(|p| p.into_inner());
        let seq = sends.next;
        let text = format!("{} {seq:08} {}", self.id, "p".repeat(pad));
        match self.socket.send(text) {
            Ok(SendOutcome::Sent) => sends.outcomes.push((seq, false, Instant::now())),
            Ok(SendOutcome::Queued) => sends.outcomes.push((seq, true, Instant::now())),
            // No caps are set: nothing is coalesced or dropped.
            Ok(other) => eprintln!("soak: unexpected outcome {other:?}"),
            Err(_) => return,
        }
        sends.next += 1;
    }
}

/// The server stops reading from `target` while it writes large messages.
fn stall_writes(mock: &Mock, target: &Client) -> Result<(), String> {
    mock.post(&format!("silent?on=true&id={}", target.id))?;
    for _ in 0..40 {
        target.send_next(SIZE_LIMIT / 2);
    }
    Ok(())
}

/// Bytes the checker holds for its records of every send and connection.
fn records_bytes(clients: &[Arc<Client>]) -> u64 {
    clients
        .iter()
        .map(|client| {
            let sends = client.sends.lock().unwrap_or_else(|p| p.into_inner());
            let timeline = client.timeline.lock().unwrap_or_else(|p| p.into_inner());
            sends.outcomes.capacity() * std::mem::size_of::<(u64, bool, Instant)>()
                + timeline.capacity() * std::mem::size_of::<(Instant, bool)>()
        })
        .sum::<usize>() as u64
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count())
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("soak: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<bool, String> {
    let args = parse_args()?;
    let mock = Mock::start(&args.mock)?;
    mock.post(&format!("max-message-size?bytes={SIZE_LIMIT}"))?;
    println!(
        "soak: {} sockets for {} s against party-mock at {} (seed {})",
        args.sockets, args.seconds, mock.host, args.seed
    );

    // Both runtime flavours: a multi-thread runtime here, a current-thread one on its
    // own thread.
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| format!("runtime: {err}"))?;
    let (handle_tx, handle_rx) = std::sync::mpsc::channel();
    let (stop_current, stopped) = tokio::sync::oneshot::channel::<()>();
    let current_thread = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        let _ = handle_tx.send(runtime.handle().clone());
        runtime.block_on(async {
            let _ = stopped.await;
        });
    });
    let current = handle_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "the current-thread runtime did not start")?;
    let runtimes = [multi.handle().clone(), current];

    let sending = Arc::new(AtomicBool::new(true));
    let mut clients = Vec::new();
    for i in 0..args.sockets {
        let runtime = &runtimes[i % 2];
        let _entered = runtime.enter();
        let party = if i % 3 == 0 { "main" } else { "echo" };
        let room = format!("soak-{}", i % 7);
        let id = format!("soak-{i}");
        let options = PartySocketOptions::builder(mock.host.clone())
            .party(party)
            .room(room.clone())
            .id(id.clone())
            .min_reconnection_delay(Duration::from_millis(100))
            .max_reconnection_delay(Duration::from_millis(1000))
            .reconnection_delay_grow_factor(1.5)
            .jitter(0.5)
            .connection_timeout(Duration::from_millis(1500))
            .heartbeat(Heartbeat::new(
                Duration::from_millis(500),
                Duration::from_millis(1000),
            ))
            .build()
            .map_err(|err| format!("options: {err}"))?;
        let (socket, mut events) =
            PartySocket::connect(options).map_err(|err| format!("connect: {err}"))?;
        let client = Arc::new(Client {
            id,
            party,
            room,
            socket,
            sends: Mutex::default(),
            timeline: Mutex::default(),
            opens: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        });
        let reader = Arc::clone(&client);
        runtime.spawn(async move {
            while let Some(event) = events.recv().await {
                match event {
                    Event::Open { .. } => {
                        reader.opens.fetch_add(1, Ordering::Relaxed);
                        reader.mark(true);
                    }
                    Event::Close { .. } => reader.mark(false),
                    Event::Error(_) => {
                        reader.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
        });
        let sender = Arc::clone(&client);
        let go = Arc::clone(&sending);
        let mut rng = Rng(args.seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9));
        runtime.spawn(async move {
            while go.load(Ordering::Relaxed) {
                sender.send_next(0);
                tokio::time::sleep(Duration::from_millis(10 + rng.below(60))).await;
            }
        });
        clients.push(client);
    }

    if !all_open(&clients, Duration::from_secs(30)) {
        return Err("the sockets did not all open at the start".into());
    }
    std::thread::sleep(Duration::from_secs(1));
    let start_rss = rss_bytes();
    let start_records = records_bytes(&clients);
    let start_fds = open_descriptors();
    let start_tasks: usize = runtimes.iter().map(|r| r.metrics().num_alive_tasks()).sum();
    let mut peak_rss = start_rss;

    // Faults at random times, of random kinds.
    let mut rng = Rng(args.seed);
    let mut faults: BTreeMap<&'static str, u64> = BTreeMap::new();
    let began = Instant::now();
    let mut stall_until: Option<Instant> = None;
    while began.elapsed() < Duration::from_secs(args.seconds) {
        std::thread::sleep(Duration::from_millis(200 + rng.below(1300)));
        if stall_until.is_some_and(|until| Instant::now() >= until) {
            mock.post("stall?on=false")?;
            stall_until = None;
        }
        let target = &clients[rng.below(clients.len() as u64) as usize];
        let kind = match rng.below(12) {
            0 => {
                mock.post(&format!("drop?id={}", target.id))?;
                "drop"
            }
            1 => {
                mock.post(&format!("restart?down_ms={}", 200 + rng.below(1300)))?;
                "restart"
            }
            2 if stall_until.is_none() => {
                mock.post("stall?on=true")?;
                stall_until = Some(Instant::now() + Duration::from_millis(500 + rng.below(1500)));
                "stalled handshakes"
            }
            3 => {
                mock.post(&format!("silent?on=true&id={}", target.id))?;
                "half-open silence"
            }
            4 => {
                let status = if rng.below(2) == 0 { 429 } else { 503 };
                mock.post(&format!(
                    "refuse?count={}&status={status}&retry_after=1",
                    1 + rng.below(4)
                ))?;
                "refusal with Retry-After"
            }
            5 => {
                mock.post(&format!(
                    "close?code={}&reason=soak&id={}",
                    4000 + rng.below(999),
                    target.id
                ))?;
                "4xxx close"
            }
            6 => {
                if target.socket.connection_state() == ConnectionState::Open {
                    // Over the server's limit: it closes the connection with 1009.
                    let _ = target
                        .socket
                        .send(format!("oversize {}", "o".repeat(2 * SIZE_LIMIT)));
                }
                "oversize frame"
            }
            7 => {
                stall_writes(&mock, target)?;
                "server stops reading"
            }
            // The application acts while its writes are stalled: what the stalled
            // connection had not taken must go out on the next one, in order.
            8 => {
                stall_writes(&mock, target)?;
                let _ = target.socket.reconnect();
                "reconnect() during a stalled write"
            }
            9 => {
                stall_writes(&mock, target)?;
                let _ = target.socket.close();
                std::thread::sleep(Duration::from_millis(rng.below(1500)));
                let _ = target.socket.reconnect();
                "close() and reconnect() during a stalled write"
            }
            10 => {
                stall_writes(&mock, target)?;
                let generation = rng.next();
                let _ = target.socket.update(
                    OptionsUpdate::new()
                        .query(Query::new().with("generation", generation.to_string())),
                );
                let _ = target.socket.reconnect();
                "update() and reconnect() during a stalled write"
            }
            _ => {
                mock.post("drop")?;
                "drop all"
            }
        };
        *faults.entry(kind).or_default() += 1;
        peak_rss = peak_rss.max(rss_bytes());
    }
    if stall_until.is_some() {
        mock.post("stall?on=false")?;
    }
    mock.post("silent?on=false")?;
    let last_fault = Instant::now();

    let mut ok = true;
    let recovered = all_open(&clients, RECOVERY);
    if !recovered {
        ok = false;
        for client in &clients {
            let state = client.socket.connection_state();
            if state != ConnectionState::Open {
                println!("FAIL stuck socket: {} is {state:?}", client.id);
            }
        }
    }
    println!(
        "recovery: every socket open {:.1} s after the last fault",
        last_fault.elapsed().as_secs_f64()
    );
    sending.store(false, Ordering::Relaxed);
    let drained = wait_until(Duration::from_secs(20), || {
        clients.iter().all(|c| c.socket.buffered_amount() == 0)
    });
    if !drained {
        ok = false;
        println!("FAIL some sockets still hold unsent messages");
    }
    std::thread::sleep(Duration::from_secs(2));

    // Resources back at their starting level (every socket open, none sending),
    // measured before the logs are fetched: they are the checker's, not the clients'.
    let end_rss = rss_bytes();
    let end_fds = open_descriptors();
    let end_tasks: usize = runtimes.iter().map(|r| r.metrics().num_alive_tasks()).sum();
    // The sender tasks have ended since the start.
    let expected_tasks = start_tasks.saturating_sub(args.sockets);
    // The checker's own records of every send grow with the run; they are not the
    // clients' memory.
    let records = records_bytes(&clients).saturating_sub(start_records);
    let rss_allowance = 8 * 1024 * 1024 + start_rss / 4 + records;
    if end_fds > start_fds + 2 {
        ok = false;
        println!("FAIL descriptors: {start_fds} at the start, {end_fds} at the end");
    }
    if end_tasks > expected_tasks + 2 {
        ok = false;
        println!("FAIL tasks: {expected_tasks} expected, {end_tasks} alive");
    }
    if end_rss > start_rss + rss_allowance {
        ok = false;
        println!(
            "FAIL memory: {start_rss} bytes resident at the start, {end_rss} at the end ({records} of it the checker's records)"
        );
    }

    // The server's log against the clients' records.
    let mut rooms: BTreeMap<(&str, &str), Vec<&Client>> = BTreeMap::new();
    for client in &clients {
        rooms
            .entry((client.party, client.room.as_str()))
            .or_default()
            .push(client);
    }
    let mut totals = Totals::default();
    for ((party, room), members) in rooms {
        let log = mock.get(&format!("log?party={party}&room={room}"))?;
        for client in members {
            ok &= check(client, &log, &mut totals);
        }
    }

    let reconnects: u64 = clients
        .iter()
        .map(|c| c.opens.load(Ordering::Relaxed).saturating_sub(1))
        .sum();
    let errors: u64 = clients
        .iter()
        .map(|c| c.errors.load(Ordering::Relaxed))
        .sum();
    println!("faults: {}", faults.values().sum::<u64>());
    for (kind, count) in &faults {
        println!("  {kind:<48} {count}");
    }
    println!(
        "messages: {} sent ({} reported Queued), {} delivered, {} lost in flight ({} of them flushed from the queue into a connection that died within {:?}), {} queued and lost, {} duplicated, {} out of order ({} read late from a replaced connection)",
        totals.sent,
        totals.queued,
        totals.delivered,
        totals.lost_in_flight,
        totals.queued_lost_in_flight,
        FLUSH_LOSS_WINDOW,
        totals.queued_lost,
        totals.duplicates,
        totals.reorders,
        totals.late_from_replaced
    );
    println!("reconnects: {reconnects}; error events: {errors}");
    println!(
        "memory: {:.1} MiB resident at the start, {:.1} MiB peak, {:.1} MiB at the end, of which {:.1} MiB the checker's records of every send; descriptors {start_fds} -> {end_fds}; tasks {expected_tasks} -> {end_tasks}",
        mib(start_rss),
        mib(peak_rss),
        mib(end_rss),
        mib(records)
    );
    println!("soak: {}", if ok { "passed" } else { "FAILED" });

    for client in &clients {
        let _ = client.socket.close();
    }
    drop(clients);
    let _ = stop_current.send(());
    let _ = current_thread.join();
    multi.shutdown_timeout(Duration::from_secs(5));
    Ok(ok)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[derive(Default)]
struct Totals {
    sent: u64,
    queued: u64,
    delivered: u64,
    lost_in_flight: u64,
    /// Of those, messages queued, then flushed into a connection that died at once.
    queued_lost_in_flight: u64,
    queued_lost: u64,
    duplicates: u64,
    reorders: u64,
    /// Messages the server read from a replaced connection after newer messages had
    /// arrived on its successor.
    late_from_replaced: u64,
}

/// Compares what `client` sent with what its room received from it.
fn check(client: &Client, log: &serde_json::Value, totals: &mut Totals) -> bool {
    let prefix = format!("{} ", client.id);
    // (sequence number, the server's connection it came on), in arrival order.
    let received: Vec<(u64, u64)> = log["received"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|room| room["messages"].as_array().into_iter().flatten())
        .filter(|m| m["connection_id"] == client.id.as_str())
        .filter_map(|m| {
            let text = m["message"]["data"].as_str()?;
            let seq = text.strip_prefix(&prefix)?.get(..8)?.parse().ok()?;
            Some((seq, m["connection"].as_u64()?))
        })
        .collect();
    let sends = client.sends.lock().unwrap_or_else(|p| p.into_inner());
    let mut ok = true;
    let mut seen = std::collections::HashSet::new();
    let mut highest: Option<(u64, u64)> = None;
    let mut last_on: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    for &(seq, connection) in &received {
        if !seen.insert(seq) {
            totals.duplicates += 1;
            ok = false;
            println!("FAIL {}: {seq} arrived twice", client.id);
            continue;
        }
        // One connection delivers in order, always.
        if let Some(last) = last_on.insert(connection, seq) {
            if seq < last {
                totals.reorders += 1;
                ok = false;
                println!(
                    "FAIL {}: {seq} arrived after {last} on one connection",
                    client.id
                );
                continue;
            }
        }
        match highest {
            Some((top, top_connection)) if seq < top => {
                if connection < top_connection {
                    // Written into a connection the client has since replaced, and
                    // read by the server only after newer messages on the new one: in
                    // flight, like a message lost with its connection.
                    totals.late_from_replaced += 1;
                } else {
                    totals.reorders += 1;
                    ok = false;
                    println!("FAIL {}: {seq} arrived after {top}", client.id);
                }
            }
            _ => highest = Some((seq, connection)),
        }
    }
    totals.delivered += received.len() as u64;
    for &(seq, queued, at) in &sends.outcomes {
        totals.sent += 1;
        totals.queued += u64::from(queued);
        if seen.contains(&seq) {
            continue;
        }
        if !queued {
            totals.lost_in_flight += 1;
        } else if client.flushed_into_a_dying_connection(at) {
            totals.lost_in_flight += 1;
            totals.queued_lost_in_flight += 1;
        } else {
            totals.queued_lost += 1;
            ok = false;
            println!(
                "FAIL {}: message {seq} was reported Queued and never arrived",
                client.id
            );
        }
    }
    ok
}

fn all_open(clients: &[Arc<Client>], limit: Duration) -> bool {
    wait_until(limit, || {
        clients
            .iter()
            .all(|c| c.socket.connection_state() == ConnectionState::Open)
    })
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}
