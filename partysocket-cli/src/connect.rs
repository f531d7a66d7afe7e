//! `partysocket connect`: stdin lines become messages, messages go to stdout, status
//! to stderr; the library reconnects and queues.

use std::io::BufRead;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use partysocket::{
    ConnectionState, DropPolicy, Event, FailurePolicy, Heartbeat, PartySocket, PartySocketOptions,
    SendOutcome, StopReason,
};
use tokio::sync::mpsc;

use crate::args::{Destination, parse_duration};
use crate::exit;
use crate::report::{Report, Status};

/// `connect`'s arguments.
#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    #[command(flatten)]
    destination: Destination,
    /// The connection id, sent as `_pk` [default: a random UUID; not sent to a full URL].
    #[arg(long)]
    id: Option<String>,
    /// A WebSocket subprotocol to offer; repeat for more.
    #[arg(long = "subprotocol", value_name = "NAME")]
    subprotocols: Vec<String>,
    /// Print one JSON object per event (messages and status) on stdout.
    #[arg(long)]
    json: bool,
    /// Send TEXT instead of reading stdin (repeatable), then close and exit once sent.
    #[arg(long, value_name = "TEXT")]
    send: Vec<String>,
    /// Exit after N messages have arrived.
    #[arg(long, value_name = "N")]
    exit_after: Option<u64>,
    /// Stay connected after stdin ends (until Ctrl-C or --exit-after).
    #[arg(long)]
    keep_open: bool,
    /// Give up after N failed reconnection attempts in a row [default: never].
    #[arg(long, value_name = "N")]
    max_retries: Option<u32>,
    /// The first reconnection delay, e.g. 500ms [default: 3s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    min_delay: Option<Duration>,
    /// The longest reconnection delay [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    max_delay: Option<Duration>,
    /// How much each reconnection delay grows [default: 1.3].
    #[arg(long, value_name = "FACTOR")]
    grow_factor: Option<f64>,
    /// Shorten each delay by a random fraction of up to this (0.0 to 1.0) [default: 0].
    #[arg(long, value_name = "FRACTION")]
    jitter: Option<f64>,
    /// How long a connection must stay up before the retry count resets [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    min_uptime: Option<Duration>,
    /// How long an attempt may take to open [default: 4s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    connection_timeout: Option<Duration>,
    /// How long closing waits for the server's close frame [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    close_timeout: Option<Duration>,
    /// Ping after this much silence, reconnecting when nothing answers [default: off].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    heartbeat: Option<Duration>,
    /// How long to wait for traffic after a ping [default: the --heartbeat interval].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "heartbeat")]
    heartbeat_timeout: Option<Duration>,
    /// How many lines the queue holds while disconnected [default: unlimited].
    #[arg(long, value_name = "N")]
    max_queue: Option<usize>,
    /// How many bytes the queue holds while disconnected [default: unlimited].
    #[arg(long, value_name = "BYTES")]
    max_queue_bytes: Option<usize>,
    /// What a full queue drops [default: newest].
    #[arg(long, value_enum, value_name = "WHICH")]
    drop: Option<Drop>,
    /// The largest message to accept, in bytes [default: the library's limit].
    #[arg(long, value_name = "BYTES")]
    max_message_size: Option<usize>,
    /// Reconnect even after a 401/403 or another refusal that is normally final.
    #[arg(long)]
    always_reconnect: bool,
}

/// `--drop`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Drop {
    /// Refuse the new line.
    Newest,
    /// Evict the oldest queued line.
    Oldest,
}

impl ConnectArgs {
    fn options(&self) -> Result<PartySocketOptions, String> {
        let mut builder = self.destination.builder(false)?;
        if let Some(id) = &self.id {
            builder = builder.id(id.as_str());
        }
        if !self.subprotocols.is_empty() {
            builder = builder.protocols(self.subprotocols.iter().map(String::as_str));
        }
        if let Some(max) = self.max_retries {
            builder = builder.max_retries(max);
        }
        if let Some(delay) = self.min_delay {
            builder = builder.min_reconnection_delay(delay);
        }
        if let Some(delay) = self.max_delay {
            builder = builder.max_reconnection_delay(delay);
        }
        if let Some(factor) = self.grow_factor {
            builder = builder.reconnection_delay_grow_factor(factor);
        }
        if let Some(jitter) = self.jitter {
            builder = builder.jitter(jitter);
        }
        if let Some(uptime) = self.min_uptime {
            builder = builder.min_uptime(uptime);
        }
        if let Some(timeout) = self.connection_timeout {
            builder = builder.connection_timeout(timeout);
        }
        if let Some(timeout) = self.close_timeout {
            builder = builder.close_timeout(timeout);
        }
        if let Some(interval) = self.heartbeat {
            let timeout = self.heartbeat_timeout.unwrap_or(interval);
            builder = builder.heartbeat(Heartbeat::new(interval, timeout));
        }
        if let Some(max) = self.max_queue {
            builder = builder.max_enqueued_messages(max);
        }
        if let Some(max) = self.max_queue_bytes {
            builder = builder.max_enqueued_bytes(max);
        }
        if let Some(drop) = self.drop {
            builder = builder.drop_policy(match drop {
                Drop::Newest => DropPolicy::DropNewest,
                Drop::Oldest => DropPolicy::DropOldest,
            });
        }
        if let Some(bytes) = self.max_message_size {
            builder = builder.max_message_size(bytes);
        }
        if self.always_reconnect {
            builder = builder.failure_policy(FailurePolicy::always_reconnect());
        }
        builder.build().map_err(|err| err.to_string())
    }
}

/// A line read from stdin, or why one could not be.
type Line = Result<String, String>;

/// Reads stdin on a thread of its own (a blocked read must not keep the process from
/// exiting), one line per message; the channel closes at the end of input.
fn read_stdin(lines: mpsc::Sender<Line>) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut stdin = stdin.lock();
        let mut buffer = Vec::new();
        let mut number = 0u64;
        loop {
            buffer.clear();
            match stdin.read_until(b'\n', &mut buffer) {
                Ok(0) => return,
                Ok(_) => {
                    number += 1;
                    if buffer.last() == Some(&b'\n') {
                        buffer.pop();
                        if buffer.last() == Some(&b'\r') {
                            buffer.pop();
                        }
                    }
                    let line = String::from_utf8(buffer.clone())
                        .map_err(|_| format!("line {number} is not UTF-8 text; skipped"));
                    if lines.blocking_send(line).is_err() {
                        return;
                    }
                }
                Err(err) => {
                    let _ = lines.blocking_send(Err(format!("cannot read stdin: {err}")));
                    return;
                }
            }
        }
    });
}

/// What the loop waits for before exiting on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading input and printing messages.
    Running,
    /// Input is done: close once open (the close sends what came before it).
    Finishing,
    /// `close()` was called: exit when the socket reports closed.
    Closing,
}

pub(crate) async fn run(args: ConnectArgs) -> u8 {
    let report = Report::new(args.json);
    let options = match args.options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("partysocket: {message}");
            return exit::CONFIG;
        }
    };
    let tls = match args.destination.tls() {
        Ok(tls) => tls,
        Err(message) => {
            eprintln!("partysocket: {message}");
            return exit::CONFIG;
        }
    };
    // Ctrl-C is listened for before anything connects, so it always closes cleanly.
    let (interrupt, mut interrupted_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        match tokio::signal::ctrl_c().await {
            Ok(()) => {
                let _ = interrupt.send(());
            }
            // No signal handling here: never report an interrupt.
            Err(_) => {
                let _held = interrupt;
                std::future::pending::<()>().await;
            }
        }
    });
    tokio::task::yield_now().await;
    let (socket, mut events) = match PartySocket::connect_with(options, tls) {
        Ok(connected) => connected,
        Err(err) => {
            eprintln!("partysocket: {err}");
            return exit::FAILED;
        }
    };
    let (sender, mut lines) = mpsc::channel::<Line>(64);
    let mut reading = args.send.is_empty();
    let mut phase = Phase::Running;
    if reading {
        read_stdin(sender);
    } else {
        drop(sender);
        for text in &args.send {
            if let Some(code) = send(&socket, text.clone(), report) {
                return code;
            }
        }
        if args.exit_after.is_none() {
            phase = Phase::Finishing;
        }
    }
    let mut received = 0u64;
    // After Ctrl-C: the close is reported, bounded by the close timeout.
    let mut interrupted: Option<tokio::time::Instant> = None;
    loop {
        if phase == Phase::Finishing && socket.ready_state() == partysocket::ReadyState::Open {
            if let Err(err) = socket.close() {
                eprintln!("partysocket: {err}");
                return exit::FAILED;
            }
            phase = Phase::Closing;
        }
        tokio::select! {
            line = lines.recv(), if reading => match line {
                Some(Ok(line)) => {
                    if let Some(code) = send(&socket, line, report) {
                        return code;
                    }
                }
                Some(Err(problem)) => {
                    if report.status(&Status::Input(&problem)).is_err() {
                        return exit::FAILED;
                    }
                }
                None => {
                    reading = false;
                    if !args.keep_open && args.exit_after.is_none() && phase == Phase::Running {
                        phase = Phase::Finishing;
                    }
                }
            },
            event = events.recv() => {
                let Some(event) = event else {
                    eprintln!("partysocket: the socket's task ended");
                    return exit::FAILED;
                };
                match on_event(&event, report) {
                    Ok(Some(code)) => return code,
                    Ok(None) => {}
                    Err(_) => return exit::FAILED,
                }
                if let Event::StateChanged(ConnectionState::Closed { reason: StopReason::ClosedByApp }) = event {
                    if interrupted.is_some() {
                        return exit::INTERRUPTED;
                    }
                    if phase == Phase::Closing {
                        return exit::OK;
                    }
                }
                if matches!(event, Event::Message(_)) {
                    received += 1;
                    if args.exit_after.is_some_and(|limit| received >= limit) && phase == Phase::Running {
                        phase = Phase::Finishing;
                    }
                }
            }
            _ = &mut interrupted_rx, if interrupted.is_none() => {
                if socket.close().is_err() {
                    return exit::INTERRUPTED;
                }
                let limit = socket.options().close_timeout() + Duration::from_secs(1);
                interrupted = Some(tokio::time::Instant::now() + limit);
                reading = false;
                phase = Phase::Closing;
            }
            () = tokio::time::sleep_until(interrupted.unwrap_or_else(tokio::time::Instant::now)), if interrupted.is_some() => {
                return exit::INTERRUPTED;
            }
        }
    }
}

/// Sends one line; reports a drop. `Some(code)` when the process must exit.
fn send(socket: &PartySocket, text: String, report: Report) -> Option<u8> {
    match socket.send(text) {
        Ok(SendOutcome::Dropped(reason)) => report
            .status(&Status::Dropped(reason))
            .err()
            .map(|_| exit::FAILED),
        Ok(_) => None,
        Err(err) => {
            eprintln!("partysocket: {err}");
            Some(exit::FAILED)
        }
    }
}

/// Prints `event`; `Some(code)` when the socket gave up.
fn on_event(event: &Event, report: Report) -> std::io::Result<Option<u8>> {
    match event {
        Event::Message(message) => report.message(message)?,
        Event::Open { url, protocol } => report.status(&Status::Connected {
            url,
            protocol: protocol.as_deref(),
        })?,
        Event::Close { frame, was_clean } => report.status(&Status::Closed {
            frame,
            was_clean: *was_clean,
        })?,
        Event::Error(error) => report.status(&Status::Error(error))?,
        Event::Evicted(messages) => report.status(&Status::Evicted(messages.len()))?,
        Event::StateChanged(ConnectionState::Connecting { attempt }) if *attempt > 0 => {
            report.status(&Status::Connecting { attempt: *attempt })?;
        }
        Event::StateChanged(ConnectionState::BackingOff { attempt, retry_at }) => {
            let delay = retry_at.saturating_duration_since(Instant::now());
            report.status(&Status::Reconnecting {
                attempt: *attempt,
                delay,
            })?;
        }
        Event::StateChanged(ConnectionState::Closed { reason }) if reason.is_terminal() => {
            report.status(&Status::GaveUp(reason))?;
            return Ok(Some(exit::GAVE_UP));
        }
        _ => {}
    }
    Ok(None)
}
