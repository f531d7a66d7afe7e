//! `cargo xtask bench`: speed and memory of the native client, each figure a ratio
//! against a baseline measured in the same run against the same server, so the numbers
//! mean something on a busy machine. `BENCHMARKS.md` at the repository root describes
//! every figure; `cargo xtask bench` starts the server and pins client and server to
//! different cores.
//!
//! Arguments (all optional; `cargo bench` alone uses an in-process server and skips the
//! JS client):
//!
//! - `--server HOST:PORT` a running `party-mock --no-message-log`;
//! - `--server-pid PID` its process, to report how busy it was;
//! - `--server-cpu N` the core it is pinned to (the reconnect figure's in-process
//!   server thread is pinned there too);
//! - `--report PATH` the JSON report to update;
//! - `--js-project DIR` the folder with `bench-client.mjs` and its `node_modules`;
//! - `--only NAME[,NAME]` run only some groups: core, throughput, js, rtt, fanout,
//!   reconnect, idle;
//! - `--tls-ca PATH` the certificate authority (PEM) of a server that also answers
//!   `wss://` on the same address (`bench-server --tls-ca`): adds the 16 KiB throughput
//!   over TLS;
//! - `--clients NAME[,NAME]` the throughput and fan-out rounds run only these clients
//!   (ours, bare, tws), to profile one of them; ratios to a client left out are not
//!   computed.
//!
//! `idle-child KIND HOST COUNT` is the mode in which the bench runs itself to measure
//! one client kind's idle memory in a fresh process.

mod bare;
mod core_figures;
mod fanout;
mod idle;
mod js;
mod ours;
mod reconnect;
mod report;
mod rtt;
mod server;
mod system;
mod throughput;
mod tws;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use report::Report;

/// Where the bench runs and what it may use.
#[derive(Debug, Clone, Default)]
pub(crate) struct Setup {
    /// The echo/broadcast server's `host:port`.
    pub(crate) host: String,
    /// The server's process, when it runs in its own.
    pub(crate) server_pid: Option<u32>,
    /// The core the server is pinned to.
    pub(crate) server_cpu: Option<u32>,
    /// The fidelity project holding `bench-client.mjs`.
    pub(crate) js_project: Option<PathBuf>,
    /// Only these throughput clients (`ours`, `bare`, `tws`), for profiling one.
    pub(crate) clients: Option<Vec<String>>,
    /// The certificate authority (PEM) of the server's `wss://` answer, when it has one.
    pub(crate) tls_ca: Option<String>,
}

impl Setup {
    /// Whether `--clients` (when given) includes the client `name`.
    pub(crate) fn runs(&self, name: &str) -> bool {
        self.clients
            .as_ref()
            .is_none_or(|only| only.iter().any(|client| client == name))
    }
}

#[derive(Debug, Default)]
struct Args {
    server: Option<String>,
    server_pid: Option<u32>,
    server_cpu: Option<u32>,
    report: Option<PathBuf>,
    js_project: Option<PathBuf>,
    only: Option<Vec<String>>,
    clients: Option<Vec<String>>,
    tls_ca: Option<PathBuf>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = |name: &str| {
            rest.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--server" => parsed.server = Some(value(arg)?),
            "--server-pid" => {
                parsed.server_pid = Some(value(arg)?.parse().map_err(|_| "bad --server-pid")?)
            }
            "--server-cpu" => {
                parsed.server_cpu = Some(value(arg)?.parse().map_err(|_| "bad --server-cpu")?)
            }
            "--report" => parsed.report = Some(PathBuf::from(value(arg)?)),
            "--js-project" => parsed.js_project = Some(PathBuf::from(value(arg)?)),
            "--only" => {
                parsed.only = Some(value(arg)?.split(',').map(str::to_owned).collect());
            }
            "--tls-ca" => parsed.tls_ca = Some(PathBuf::from(value(arg)?)),
            "--clients" => {
                parsed.clients = Some(value(arg)?.split(',').map(str::to_owned).collect());
            }
            // Cargo passes `--bench` to bench targets.
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(parsed)
}

/// A runtime like `#[tokio::main]` on the cores this process may use (one when the
/// client is pinned to a core).
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("idle-child") {
        return idle::child(&args[1..]);
    }
    let args = match parse_args(&args) {
        Ok(args) => args,
        Err(err) => {
            eprintln!("bench: {err}");
            return ExitCode::from(2);
        }
    };
    let began = Instant::now();
    let wanted = |group: &str| {
        args.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|name| name == group))
    };
    let mut report = Report::default();

    if wanted("core") {
        core_figures::run(&mut report);
    }
    let runtime = runtime();
    let fallback = match &args.server {
        Some(_) => None,
        None => Some(server::InProcess::start(1, None).expect("an in-process mock server")),
    };
    let setup = Setup {
        host: match (&args.server, &fallback) {
            (Some(host), _) => host.clone(),
            (None, Some(server)) => server.host(0).to_owned(),
            (None, None) => unreachable!("a server is always set"),
        },
        server_pid: args.server_pid,
        server_cpu: args.server_cpu,
        js_project: args.js_project.clone(),
        clients: args.clients.clone(),
        tls_ca: match &args.tls_ca {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(pem) => Some(pem),
                Err(err) => {
                    eprintln!("bench: cannot read {}: {err}", path.display());
                    return ExitCode::from(2);
                }
            },
            None => None,
        },
    };
    match (&args.server, setup.server_pid) {
        (Some(host), Some(pid)) => println!("server: process {pid} at {host}"),
        (Some(host), None) => println!("server: {host}"),
        (None, _) => println!(
            "server: in-process mock at {} (`cargo xtask bench` runs one in its own process)",
            setup.host
        ),
    }
    println!(
        "client: {} worker thread(s); descriptor limit {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        system::open_files_limit().map_or_else(|| "unknown".to_owned(), |n| n.to_string())
    );

    runtime.block_on(async {
        // Every measurement runs in a task on the runtime's workers, as an application's
        // would, never on the thread blocked in `block_on`.
        let setup = setup.clone();
        let groups: Vec<&str> = ["throughput", "js", "rtt", "fanout", "reconnect"]
            .into_iter()
            .filter(|group| wanted(group))
            .collect();
        let task = tokio::spawn(async move {
            let mut report = Report::default();
            for group in groups {
                match group {
                    "throughput" => throughput::run(&setup, &mut report).await,
                    "js" => js::throughput(&setup, &mut report).await,
                    "rtt" => rtt::run(&setup, &mut report).await,
                    "fanout" => fanout::run(&setup, &mut report).await,
                    "reconnect" => reconnect::run(&setup, &mut report).await,
                    _ => {}
                }
            }
            report
        });
        match task.await {
            Ok(measured) => report.extend(measured),
            Err(err) => report.broken(format!("a measurement task panicked: {err}")),
        }
    });
    if wanted("idle") {
        idle::run(&setup, &mut report);
    }
    drop(fallback);
    runtime.shutdown_timeout(Duration::from_secs(1));

    report.print();
    println!("\nbench wall time: {:.1} s", began.elapsed().as_secs_f64());
    if let Some(path) = &args.report {
        match report.write_json(path) {
            Ok(()) => println!("report: {}", path.display()),
            Err(err) => report.broken(format!("cannot write {}: {err}", path.display())),
        }
    }
    report.exit_code()
}
