//! `partysocket fetch`: an HTTP request to a room's handler, with the socket's URL
//! rules (`http(s)://host/parties/party/room?query`, the options' headers).

use std::io::{Read, Write};

use clap::Args;
use partysocket::{FetchInit, PartySocket};
use serde_json::json;

use crate::args::Destination;
use crate::exit;

/// `fetch`'s arguments.
#[derive(Debug, Args)]
pub(crate) struct FetchArgs {
    #[command(flatten)]
    destination: Destination,
    /// The HTTP method [default: GET, or POST with --data].
    #[arg(long, short = 'X', value_name = "METHOD")]
    request: Option<String>,
    /// The request body; `@FILE` reads a file, `@-` stdin.
    #[arg(long, short = 'd', value_name = "BODY")]
    data: Option<String>,
    /// Print one JSON object (status, headers, body) instead of the body.
    #[arg(long)]
    json: bool,
    /// Print the status line and the response headers on stderr.
    #[arg(long, short = 'i')]
    include: bool,
}

fn body(data: &str) -> Result<Vec<u8>, String> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|err| format!("cannot read the body from stdin: {err}"))?;
            Ok(body)
        }
        Some(path) => {
            std::fs::read(path).map_err(|err| format!("cannot read the body from {path}: {err}"))
        }
        None => Ok(data.as_bytes().to_vec()),
    }
}

fn request(args: &FetchArgs) -> Result<(partysocket::PartySocketOptions, FetchInit), String> {
    let options = args
        .destination
        .builder(true)?
        .build()
        .map_err(|err| err.to_string())?;
    let method = match (&args.request, &args.data) {
        (Some(method), _) => reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("-X {method:?} is not an HTTP method"))?,
        (None, Some(_)) => reqwest::Method::POST,
        (None, None) => reqwest::Method::GET,
    };
    let mut init = FetchInit::get().method(method);
    if let Some(data) = &args.data {
        init = init.body(body(data)?);
    }
    Ok((options, init))
}

pub(crate) async fn run(args: FetchArgs) -> u8 {
    let (options, init) = match request(&args) {
        Ok(request) => request,
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
    let response = match PartySocket::fetch_with(&options, init, &tls).await {
        Ok(response) => response,
        Err(err) => {
            eprintln!(
                "partysocket: {}: {err}",
                partysocket::redact_url(&options.http_url(None))
            );
            return exit::FAILED;
        }
    };
    let status = response.status();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(err) => {
            eprintln!("partysocket: reading the response body: {err}");
            return exit::FAILED;
        }
    };
    if args.include && !args.json {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "HTTP {status}");
        for (name, value) in &headers {
            let _ = writeln!(err, "{name}: {value}");
        }
    }
    let mut out = std::io::stdout().lock();
    let written = if args.json {
        let text = String::from_utf8_lossy(&body);
        let value = json!({
            "status": status.as_u16(),
            "headers": headers.iter().map(|(name, value)| json!([name, value])).collect::<Vec<_>>(),
            "body": text,
        });
        writeln!(out, "{value}")
    } else {
        out.write_all(&body)
    }
    .and_then(|()| out.flush());
    if written.is_err() {
        return exit::FAILED;
    }
    if status.is_client_error() || status.is_server_error() {
        exit::HTTP_ERROR
    } else {
        exit::OK
    }
}
