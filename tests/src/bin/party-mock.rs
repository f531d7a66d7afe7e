//! `party-mock`: the mock PartyKit server as a process, for tests in other languages.
//!
//! Prints `listening on HOST:PORT` (with ` ca-cert PATH` appended under `--tls`) as its
//! first line, then serves until interrupted.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use party_mock::{MockConfig, MockServer, PARTY_NAMES, WebSocketAutoResponse};

const USAGE: &str =
    "usage: party-mock [--port N] [--host ADDR] [--tls] [--cert-dir DIR] [--no-message-log]
                  [--websocket-auto-response PARTY]...

  --port N        port to listen on; 0 (the default) picks a free one
  --host ADDR     address to listen on (default 127.0.0.1)
  --tls           serve wss/https with a certificate generated at start; its CA is
                  written to DIR/ca.pem and printed on the first line
  --cert-dir DIR  where to write ca.pem (default: a fresh temporary folder)
  --no-message-log
                  do not record received messages (for benchmarks: memory stays flat)
  --websocket-auto-response PARTY
                  connections to PARTY answer the text `ping` with `pong` themselves,
                  before the party sees it (Cloudflare's setWebSocketAutoResponse);
                  repeat for more parties. Off by default, as in `partykit dev`

The first line printed is `listening on HOST:PORT`, followed by ` ca-cert PATH` with --tls.";

fn parse_args(args: &[String]) -> Result<MockConfig, String> {
    let mut config = MockConfig::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = |name: &str| {
            rest.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--port" | "-p" => {
                let port = value("--port")?;
                config.port = port
                    .parse()
                    .map_err(|_| format!("--port must be 0..65535: got {port:?}"))?;
            }
            "--host" => {
                let host = value("--host")?;
                config.host = host
                    .parse::<IpAddr>()
                    .map_err(|_| format!("--host must be an IP address: got {host:?}"))?;
            }
            "--tls" => config.tls = true,
            "--no-message-log" => config.log_messages = false,
            "--cert-dir" => config.cert_dir = Some(PathBuf::from(value("--cert-dir")?)),
            "--websocket-auto-response" => {
                let party = value("--websocket-auto-response")?;
                if !PARTY_NAMES.contains(&party.as_str()) {
                    return Err(format!(
                        "--websocket-auto-response needs one of the parties {}: got {party:?}",
                        PARTY_NAMES.join(", ")
                    ));
                }
                config = config.websocket_auto_response(WebSocketAutoResponse::ping_pong(party));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(config)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = match parse_args(&args) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("party-mock: {err}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("party-mock: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let server = match MockServer::start(config).await {
            Ok(server) => server,
            Err(err) => {
                eprintln!("party-mock: {err}");
                return ExitCode::FAILURE;
            }
        };
        let mut line = format!("listening on {}", server.host());
        if let Some(path) = server.ca_cert_path() {
            line.push_str(&format!(" ca-cert {}", path.display()));
        }
        println!("{line}");
        wait_for_signal().await;
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Returns on Ctrl-C or, on Unix, SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<MockConfig, String> {
        parse_args(&args.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_set_the_config() {
        let config = parse(&[
            "--port",
            "1999",
            "--host",
            "::1",
            "--tls",
            "--no-message-log",
        ])
        .unwrap();
        assert_eq!(config.port, 1999);
        assert_eq!(config.host.to_string(), "::1");
        assert!(config.tls && !config.log_messages);
        let config = parse(&[]).unwrap();
        assert_eq!(
            (config.port, config.tls, config.log_messages),
            (0, false, true)
        );
        assert!(config.websocket_auto_responses.is_empty());
    }

    #[test]
    fn the_auto_response_is_per_party_and_repeatable() {
        let config = parse(&[
            "--websocket-auto-response",
            "echo",
            "--websocket-auto-response",
            "main",
        ])
        .unwrap();
        assert_eq!(
            config.websocket_auto_responses,
            [
                WebSocketAutoResponse::ping_pong("echo"),
                WebSocketAutoResponse::ping_pong("main")
            ]
        );
        assert_eq!(
            parse(&["--websocket-auto-response"]).unwrap_err(),
            "--websocket-auto-response needs a value"
        );
        let unknown = parse(&["--websocket-auto-response", "nope"]).unwrap_err();
        assert!(unknown.contains("main, echo, chat"), "{unknown}");
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        assert_eq!(parse(&["--port"]).unwrap_err(), "--port needs a value");
        assert!(
            parse(&["--port", "70000"])
                .unwrap_err()
                .contains("0..65535")
        );
        assert!(
            parse(&["--host", "localhost"])
                .unwrap_err()
                .contains("IP address")
        );
        assert!(parse(&["--what"]).unwrap_err().contains("unknown argument"));
    }
}
