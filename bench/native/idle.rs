//! Idle memory: resident-set growth per open, idle socket, each client kind measured in
//! a fresh process of its own (this bench re-run as `idle-child`, or Node), so
//! allocator history does not mix.

use std::io::Read;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::join_all;
use partysocket::PartySocketOptions;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::Setup;
use crate::bare;
use crate::ours;
use crate::report::{Report, Target, ratio};
use crate::system;
use crate::throughput::CONNECT;

/// Idle sockets per client kind (fewer when the descriptor limit is lower).
const SOCKETS: usize = 10_000;
/// Sockets connecting at once.
const BATCH: usize = 250;
/// How long the sockets sit idle before the second reading.
const IDLE: Duration = Duration::from_secs(1);
/// How long one child may take.
const CHILD_TIME: Duration = Duration::from_secs(180);
/// Descriptors kept for everything else (runtime, stdio, the JS client's extras).
const SPARE_DESCRIPTORS: u64 = 500;
/// tungstenite's read buffer in the small-buffer baseline.
const SMALL_READ_BUFFER: usize = 8 * 1024;

/// The client kinds measured in a child of this bench.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Ours,
    BareDefault,
    BareSmall,
    /// tokio-websockets, the second reference.
    Tws,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::BareDefault => "bare-default",
            Kind::BareSmall => "bare-8k",
            Kind::Tws => "tws",
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        [Kind::Ours, Kind::BareDefault, Kind::BareSmall, Kind::Tws]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// One child's readings.
#[derive(Debug, Clone, Copy)]
struct Growth {
    before: u64,
    after: u64,
    sockets: u64,
}

impl Growth {
    fn per_socket(self) -> f64 {
        self.after.saturating_sub(self.before) as f64 / self.sockets.max(1) as f64
    }
}

pub(crate) fn run(setup: &Setup, report: &mut Report) {
    let limit = system::open_files_limit().unwrap_or(1024);
    let sockets = SOCKETS.min(limit.saturating_sub(SPARE_DESCRIPTORS) as usize);
    if sockets < SOCKETS {
        report.note(format!(
            "idle memory measured at {sockets} sockets: the descriptor limit is {limit}"
        ));
    }
    report.value("idle_sockets", sockets as f64);
    println!("idle memory: {sockets} idle sockets per client, each kind in a fresh process");
    let mut measured = Vec::new();
    for kind in [Kind::Ours, Kind::BareDefault, Kind::BareSmall, Kind::Tws] {
        let result = rust_child(kind, &setup.host, sockets);
        settle();
        match result {
            Ok(growth) => {
                println!("  {}: {:.0} B per socket", kind.name(), growth.per_socket());
                measured.push((kind, growth));
            }
            Err(err) => report.broken(format!("idle {}: {err}", kind.name())),
        }
    }
    let js = match &setup.js_project {
        Some(project) => {
            let args = [
                "idle".to_owned(),
                setup.host.clone(),
                sockets.to_string(),
                BATCH.to_string(),
            ];
            let result = crate::js::run_script(project, &["--expose-gc"], &args).and_then(|out| {
                let field = |name: &str| {
                    out[name]
                        .as_f64()
                        .map(|value| value as u64)
                        .ok_or_else(|| format!("bench-client.mjs printed no {name}: {out}"))
                };
                Ok(Growth {
                    before: field("before")?,
                    after: field("after")?,
                    sockets: field("sockets")?,
                })
            });
            settle();
            match result {
                Ok(growth) => {
                    println!("  js: {:.0} B per socket", growth.per_socket());
                    Some(growth.per_socket())
                }
                Err(err) => {
                    report.broken(format!("idle js: {err}"));
                    None
                }
            }
        }
        None => {
            report.note("idle_socket_js_bytes not measured: no --js-project".to_owned());
            None
        }
    };
    let find = |wanted: &str| {
        measured
            .iter()
            .find(|(kind, _)| kind.name() == wanted)
            .map(|(_, growth)| growth.per_socket())
    };
    let (ours, bare, small, tws) = (
        find("ours"),
        find("bare-default"),
        find("bare-8k"),
        find("tws"),
    );
    for (key, value) in [
        ("idle_socket_bytes", ours),
        ("idle_socket_bare_bytes", bare),
        ("idle_socket_bare_8k_bytes", small),
        ("idle_socket_tws_bytes", tws),
        ("idle_socket_js_bytes", js),
    ] {
        if let Some(value) = value {
            report.value(key, value.round());
        }
    }
    let bytes =
        |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |value| format!("{value:.0} B"));
    let pair = |a: Option<f64>, b: Option<f64>| a.zip(b).and_then(|(a, b)| ratio(a, b));
    if let Some(vs_js) = pair(ours, js) {
        report.value("idle_socket_vs_js", vs_js);
    }
    report.row(
        "idle_socket_vs_js (bytes/socket)",
        bytes(ours),
        bytes(js),
        pair(ours, js),
        Target::AtMost(1.0),
    );
    report.row(
        "idle vs bare, default config",
        bytes(ours),
        bytes(bare),
        pair(ours, bare),
        Target::None,
    );
    report.row(
        "idle vs bare, 8 KiB read buffer",
        bytes(ours),
        bytes(small),
        pair(ours, small),
        Target::None,
    );
    // Below every reference (the smallest of them), and at most 4 KB.
    let smallest = [bare, small, tws, js]
        .into_iter()
        .flatten()
        .fold(f64::INFINITY, f64::min);
    let smallest = smallest.is_finite().then_some(smallest);
    if let Some(value) = pair(ours, smallest) {
        report.value("idle_socket_vs_smallest", value);
    }
    report.row(
        "idle vs the smallest reference",
        bytes(ours),
        bytes(smallest),
        pair(ours, smallest),
        Target::AtMost(1.0),
    );
    if let Some(ours) = ours {
        report.value("idle_socket_vs_4kb", ours / 4_000.0);
    }
    report.row(
        "idle_socket_bytes vs 4 KB",
        bytes(ours),
        "4000 B".to_owned(),
        ours.map(|ours| ours / 4_000.0),
        Target::AtMost(1.0),
    );
}

/// Gives the server a moment to let go of the previous child's connections.
fn settle() {
    std::thread::sleep(Duration::from_secs(1));
}

/// Runs this bench as `idle-child KIND HOST COUNT` and reads its one line.
fn rust_child(kind: Kind, host: &str, sockets: usize) -> Result<Growth, String> {
    let exe = std::env::current_exe().map_err(|err| err.to_string())?;
    let mut child = Command::new(exe)
        .args(["idle-child", kind.name(), host, &sockets.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|err| format!("cannot start the child: {err}"))?;
    let mut stdout = child.stdout.take().ok_or("stdout is not piped")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + CHILD_TIME;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                // Only this child, by its PID.
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the child ran longer than {CHILD_TIME:?}"));
            }
        }
    };
    let text = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("the child failed ({status})"));
    }
    parse_line(text.lines().last().unwrap_or_default())
}

fn parse_line(line: &str) -> Result<Growth, String> {
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| format!("the child printed {line:?}"))
    };
    Ok(Growth {
        before: field("before")?,
        after: field("after")?,
        sockets: field("sockets")?,
    })
}

/// `idle-child KIND HOST COUNT`: opens one socket, reads the resident set, opens COUNT
/// more (each reads its greeting), lets them sit idle, reads the resident set again and
/// prints `idle before=B after=B sockets=N`. Exits without closing them.
pub(crate) fn child(args: &[String]) -> ExitCode {
    let (Some(kind), Some(host), Some(count)) = (
        args.first().and_then(|name| Kind::parse(name)),
        args.get(1).cloned(),
        args.get(2).and_then(|count| count.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: idle-child ours|bare-default|bare-8k|tws HOST:PORT COUNT");
        return ExitCode::from(2);
    };
    let runtime = crate::runtime();
    let result = runtime.block_on(async move {
        tokio::spawn(async move {
            match kind {
                Kind::Ours => ours_idle(&host, count).await,
                Kind::BareDefault => bare_idle(&host, count, None).await,
                Kind::BareSmall => {
                    let config = WebSocketConfig::default().read_buffer_size(SMALL_READ_BUFFER);
                    bare_idle(&host, count, Some(config)).await
                }
                Kind::Tws => tws_idle(&host, count).await,
            }
        })
        .await
        .map_err(|err| err.to_string())
        .and_then(|result| result)
    });
    match result {
        Ok(growth) => {
            println!(
                "idle before={} after={} sockets={}",
                growth.before, growth.after, growth.sockets
            );
            // Exiting closes every socket at once; dropping 10,000 would take longer.
            std::process::exit(0);
        }
        Err(err) => {
            eprintln!("idle-child {}: {err}", kind.name());
            std::process::exit(1);
        }
    }
}

fn resident() -> Result<u64, String> {
    system::resident_bytes().ok_or_else(|| "/proc/self/status has no VmRSS".to_owned())
}

async fn ours_idle(host: &str, count: usize) -> Result<Growth, String> {
    let open = |index: usize| {
        let host = host.to_owned();
        async move {
            let options = PartySocketOptions::builder(host)
                .party("echo")
                .room("idle-ours")
                .build()
                .map_err(|err| err.to_string())?;
            tokio::time::timeout(CONNECT, async {
                let (socket, mut events) = ours::open(options).await?;
                events.message().await.ok_or("no greeting")?;
                Ok::<_, String>((socket, events))
            })
            .await
            .map_err(|_| format!("socket {index}: no connection and greeting within {CONNECT:?}"))?
        }
    };
    let mut sockets = vec![open(0).await?];
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = resident()?;
    for first in (0..count).step_by(BATCH) {
        let batch = first..(first + BATCH).min(count);
        for socket in join_all(batch.map(|index| open(index + 1))).await {
            sockets.push(socket?);
        }
    }
    tokio::time::sleep(IDLE).await;
    let after = resident()?;
    let growth = Growth {
        before,
        after,
        sockets: (sockets.len() - 1) as u64,
    };
    // Held until measured.
    drop(std::hint::black_box(sockets));
    Ok(growth)
}

/// Bare tokio-tungstenite: each connection read by its own task, as an application
/// must to see messages, pings and the close.
async fn bare_idle(
    host: &str,
    count: usize,
    config: Option<WebSocketConfig>,
) -> Result<Growth, String> {
    raw_idle(count, |index| {
        let url = format!("ws://{host}/parties/echo/idle-bare?_pk=bare-{index}");
        async move {
            let mut ws = bare::open(url, config)
                .await
                .map_err(|err| format!("socket {index}: {err}"))?;
            Ok(tokio::spawn(async move {
                while let Some(Ok(_)) = ws.next().await {}
            }))
        }
    })
    .await
}

/// Bare tokio-websockets, read by a task per connection like the bare baseline.
async fn tws_idle(host: &str, count: usize) -> Result<Growth, String> {
    raw_idle(count, |index| {
        let url = format!("ws://{host}/parties/echo/idle-tws?_pk=tws-{index}");
        async move {
            let mut ws = crate::tws::open(url)
                .await
                .map_err(|err| format!("socket {index}: {err}"))?;
            Ok(tokio::spawn(async move {
                while let Some(Ok(_)) = ws.next().await {}
            }))
        }
    })
    .await
}

/// Opens one connection with `open`, reads the resident set, opens `count` more and
/// reads it again after they sat idle.
async fn raw_idle<F, Fut>(count: usize, open: F) -> Result<Growth, String>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<tokio::task::JoinHandle<()>, String>>,
{
    let mut readers = vec![open(0).await?];
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = resident()?;
    for first in (0..count).step_by(BATCH) {
        let batch = first..(first + BATCH).min(count);
        for reader in join_all(batch.map(&open)).await {
            readers.push(reader?);
        }
    }
    tokio::time::sleep(IDLE).await;
    let after = resident()?;
    Ok(Growth {
        before,
        after,
        sockets: (readers.len() - 1) as u64,
    })
}
