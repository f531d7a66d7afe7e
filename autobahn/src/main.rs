//! Echo clients for the Autobahn|Testsuite fuzzing server.
//!
//! `autobahn-client <host:port> partysocket [N | N-M]` runs every case (or those) with an echo client built on
//! [`partysocket::PartySocket`]; `autobahn-client <host:port> tokio-tungstenite` runs them
//! with bare tokio-tungstenite, the baseline; `autobahn-client <host:port> update-reports`
//! asks the server to write its reports. Each client echoes every message it receives
//! and never reconnects; each case is bounded in time.

use std::process::ExitCode;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use partysocket::{Event, PartySocket, PartySocketOptions, Protocol, Query};
use tokio_tungstenite::tungstenite;

/// The agent name our native socket reports under.
const OURS: &str = "partysocket";
/// The agent name the bare tokio-tungstenite baseline reports under.
const BASELINE: &str = "tokio-tungstenite";
/// The longest one case may take: all 247 take about ten seconds together, and the
/// server gives up a closing handshake after two.
const CASE_TIME: Duration = Duration::from_secs(5);
/// The longest a control request (case count, report update) may take.
const CONTROL_TIME: Duration = Duration::from_secs(120);
/// The largest message the server sends in the selected cases is 16 MiB (10.1.1 and
/// the 9.* cases, excluded, send more); both clients accept up to this.
const MAX_MESSAGE: usize = 64 << 20;

fn usage() -> String {
    format!(
        "usage: autobahn-client <host:port> ({OURS} | {BASELINE}) [N | N-M]\n       autobahn-client <host:port> update-reports\n\nAUTOBAHN_VERBOSE=1 prints every event of our socket."
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("autobahn-client: cannot start the tokio runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [addr, "update-reports"] => runtime.block_on(update_reports(addr)),
        [addr, agent @ (OURS | BASELINE)] => runtime.block_on(run_cases(addr, agent, None)),
        [addr, agent @ (OURS | BASELINE), range] => {
            runtime.block_on(run_cases(addr, agent, Some(range)))
        }
        _ => Err(usage()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("autobahn-client: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every case the server offers (or those `only` names) with `agent`'s client; a
/// case that hangs is given up after [`CASE_TIME`], the rest still run, and the run fails.
async fn run_cases(addr: &str, agent: &str, only: Option<&str>) -> Result<(), String> {
    let count = case_count(addr).await?;
    let cases = match only {
        Some(range) => parse_range(range, count)?,
        None => (1, count),
    };
    eprintln!(
        "{agent}: running cases {} to {} against {addr}",
        cases.0, cases.1
    );
    let mut hung = Vec::new();
    for case in cases.0..=cases.1 {
        let run = async {
            if agent == OURS {
                echo_partysocket(addr, case).await
            } else {
                echo_tungstenite(addr, case).await
            }
        };
        match tokio::time::timeout(CASE_TIME, run).await {
            Ok(Ok(())) => {}
            // A case that breaks the connection is the server's to judge: go on.
            Ok(Err(err)) => eprintln!("{agent}: case {case}: {err}"),
            Err(_) => {
                eprintln!("{agent}: case {case} did not finish within {CASE_TIME:?}");
                hung.push(case.to_string());
            }
        }
    }
    if hung.is_empty() {
        eprintln!("{agent}: cases {} to {} done", cases.0, cases.1);
        Ok(())
    } else {
        Err(format!(
            "{agent}: case(s) {} (by number) did not finish within {CASE_TIME:?}",
            hung.join(", ")
        ))
    }
}

/// `N` or `N-M`, within `1..=count`.
fn parse_range(range: &str, count: u32) -> Result<(u32, u32), String> {
    let (first, last) = range.split_once('-').unwrap_or((range, range));
    let number = |text: &str| {
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=count).contains(n))
            .ok_or_else(|| format!("case {text:?} is not a number from 1 to {count}"))
    };
    let (first, last) = (number(first)?, number(last)?);
    if first > last {
        return Err(format!("the case range {range:?} is empty"));
    }
    Ok((first, last))
}

/// The number of cases, from the server's `getCaseCount` endpoint.
async fn case_count(addr: &str) -> Result<u32, String> {
    let url = format!("ws://{addr}/getCaseCount");
    let fetch = async {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url)
            .await
            .map_err(|err| format!("cannot connect to {url}: {err}"))?;
        while let Some(message) = ws.next().await {
            match message.map_err(|err| format!("{url}: {err}"))? {
                tungstenite::Message::Text(text) => {
                    let _ = ws.close(None).await;
                    return text
                        .trim()
                        .parse()
                        .map_err(|err| format!("{url} sent {text:?}, not a count: {err}"));
                }
                _ => continue,
            }
        }
        Err(format!("{url} closed without sending the case count"))
    };
    tokio::time::timeout(CONTROL_TIME, fetch)
        .await
        .map_err(|_| format!("{url} did not answer within {CONTROL_TIME:?}"))?
}

/// One case with our native socket: echo every message until the connection closes.
async fn echo_partysocket(addr: &str, case: u32) -> Result<(), String> {
    let options = PartySocketOptions::builder(addr)
        .protocol(Protocol::Ws)
        .base_path("runCase")
        .query(Query::from([
            ("case", case.to_string()),
            ("agent", OURS.to_owned()),
        ]))
        .max_retries(0)
        .max_message_size(MAX_MESSAGE)
        .build()
        .map_err(|err| format!("options: {err}"))?;
    let (socket, mut events) =
        PartySocket::connect(options).map_err(|err| format!("connect: {err}"))?;
    let verbose = std::env::var_os("AUTOBAHN_VERBOSE").is_some();
    let mut failure = None;
    while let Some(event) = events.recv().await {
        if verbose {
            eprintln!("{OURS}: case {case}: {event:?}");
        }
        match event {
            Event::Message(message) => {
                // The outcome (sent, or queued because the connection just ended) is the
                // server's to judge through what it receives.
                let outcome = socket.send(message);
                if verbose {
                    eprintln!("{OURS}: case {case}: echo {outcome:?}");
                }
            }
            Event::Error(err) => failure = Some(err.to_string()),
            Event::Close { .. } | Event::RetriesExhausted { .. } => break,
            _ => {}
        }
    }
    // Nothing else to do with this case: stop the socket so it never reconnects.
    let _ = socket.close();
    drop(socket);
    match failure {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// One case with bare tokio-tungstenite: echo every data message until the stream ends.
async fn echo_tungstenite(addr: &str, case: u32) -> Result<(), String> {
    let url = format!("ws://{addr}/runCase?case={case}&agent={BASELINE}");
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(&url, Some(config), false)
        .await
        .map_err(|err| format!("connect: {err}"))?;
    while let Some(message) = ws.next().await {
        match message {
            Ok(message) if message.is_text() || message.is_binary() => {
                if let Err(err) = ws.send(message).await {
                    return Err(format!("send: {err}"));
                }
            }
            Ok(_) => {}
            Err(err) => return Err(err.to_string()),
        }
    }
    Ok(())
}

/// Asks the server to write the HTML and JSON reports for every agent it has seen.
async fn update_reports(addr: &str) -> Result<(), String> {
    let url = format!("ws://{addr}/updateReports?agent={BASELINE}");
    let update = async {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url)
            .await
            .map_err(|err| format!("cannot connect to {url}: {err}"))?;
        // The server writes the reports before it completes the closing handshake.
        ws.close(None)
            .await
            .map_err(|err| format!("{url}: close: {err}"))?;
        while let Some(message) = ws.next().await {
            if message.is_err() {
                break;
            }
        }
        Ok(())
    };
    tokio::time::timeout(CONTROL_TIME, update)
        .await
        .map_err(|_| format!("{url} did not finish within {CONTROL_TIME:?}"))?
}
