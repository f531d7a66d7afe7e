//! `partysocket`: a PartyKit room (or any WebSocket URL) from a terminal.
//!
//! - `partysocket connect HOST --party P --room R`: lines on stdin become messages,
//!   messages go to stdout, status to stderr; the socket reconnects and queues as the
//!   library does.
//! - `partysocket connect ws(s)://URL`: the same for any WebSocket server.
//! - `partysocket fetch HOST --party P --room R [-X POST] [-d BODY]`: the room's HTTP
//!   handler.
//!
//! Exit codes: see [`exit`].

mod args;
mod connect;
mod fetch;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The documented exit codes.
pub(crate) mod exit {
    /// Done: input ended and was sent, `--send` messages went out, `--exit-after` was
    /// reached, or the request got a success status.
    pub(crate) const OK: u8 = 0;
    /// Something failed at run time: a network error of `fetch`, stdout closed.
    pub(crate) const FAILED: u8 = 1;
    /// The command line or the options are invalid (nothing was connected).
    pub(crate) const CONFIG: u8 = 2;
    /// The socket gave up: the server refused it for good (401, 403, or a close the
    /// failure policy does not retry) or `--max-retries` was used up.
    pub(crate) const GAVE_UP: u8 = 3;
    /// `fetch` got an HTTP error status (400 and above); the body is still printed.
    pub(crate) const HTTP_ERROR: u8 = 4;
    /// Interrupted (Ctrl-C) while connected: the socket was closed first.
    pub(crate) const INTERRUPTED: u8 = 130;
}

const EXIT_CODES: &str = "\
Exit codes:
  0    done: input ended and was sent, --send went out, --exit-after reached, or fetch got a success status
  1    a run-time failure (fetch could not reach the server, stdout closed)
  2    invalid command line or options
  3    gave up: the server refused for good (401, 403, a close not retried) or --max-retries was used up
  4    fetch got an HTTP error status (the body is still printed)
  130  interrupted with Ctrl-C (the socket is closed first)";

/// Join a PartyKit room, or any WebSocket URL, from a terminal.
#[derive(Debug, Parser)]
#[command(name = "partysocket", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Connect, send stdin's lines, print what arrives; reconnects on its own.
    ///
    /// TARGET is a PartyKit host (`localhost:1999`, `my-app.my-user.partykit.dev`) with
    /// `--room`, or a full `ws://` / `wss://` URL used as given (no room path, no `_pk`).
    #[command(after_help = EXIT_CODES)]
    Connect(Box<connect::ConnectArgs>),
    /// Call a room's HTTP handler (`onRequest`) and print the response body.
    #[command(after_help = EXIT_CODES)]
    Fetch(Box<fetch::FetchArgs>),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                exit::CONFIG
            } else {
                exit::OK
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("partysocket: cannot start the I/O runtime: {err}");
            return ExitCode::from(exit::FAILED);
        }
    };
    let code = runtime.block_on(async {
        match cli.command {
            Command::Connect(args) => connect::run(*args).await,
            Command::Fetch(args) => fetch::run(*args).await,
        }
    });
    ExitCode::from(code)
}
