//! The options `connect` and `fetch` share: where the room is, its query and headers,
//! TLS; turned into the library's builder, which checks every value.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use partysocket::{PartySocketOptions, PartySocketOptionsBuilder, Protocol, Query, TlsConfig};

/// Where to connect and what to send with the handshake.
#[derive(Debug, Args)]
pub(crate) struct Destination {
    /// A PartyKit host (with --room), or a full ws:// or wss:// URL.
    #[arg(value_name = "TARGET")]
    pub(crate) target: String,
    /// The party, as the server's partykit.json names it [default: main].
    #[arg(long, short = 'p')]
    pub(crate) party: Option<String>,
    /// The room to join.
    #[arg(long, short = 'r')]
    pub(crate) room: Option<String>,
    /// The path prefix before party and room [default: parties].
    #[arg(long)]
    pub(crate) prefix: Option<String>,
    /// A path that replaces `prefix/party/room` entirely.
    #[arg(long, value_name = "PATH")]
    pub(crate) base_path: Option<String>,
    /// A path after the room (no leading '/').
    #[arg(long)]
    pub(crate) path: Option<String>,
    /// A query parameter `key=value`; repeat for more.
    #[arg(long, short = 'q', value_name = "KEY=VALUE", value_parser = parse_query)]
    pub(crate) query: Vec<(String, String)>,
    /// A handshake header `'Name: value'` (e.g. Authorization); repeat for more.
    #[arg(long, short = 'H', value_name = "NAME: VALUE", value_parser = parse_header)]
    pub(crate) header: Vec<(String, String)>,
    /// Force ws or wss [default: ws for local and private hosts, else wss].
    #[arg(long, value_enum)]
    pub(crate) protocol: Option<Scheme>,
    /// Also trust the CA certificate(s) in this PEM file for wss:// and https://.
    #[arg(long, value_name = "PEM")]
    pub(crate) ca_cert: Option<PathBuf>,
    /// Trust the system's root certificates as well as the bundled ones.
    #[arg(long)]
    pub(crate) native_roots: bool,
}

/// `--protocol`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Scheme {
    /// Plain `ws://` and `http://`.
    Ws,
    /// Encrypted `wss://` and `https://`.
    Wss,
}

impl Destination {
    /// The builder for this destination: a room on a host, or a full URL (for HTTP
    /// requests, `http(s)://` URLs too, taken as the `ws(s)://` URL of the same place).
    ///
    /// # Errors
    ///
    /// A message for the user when a host is given without a room.
    pub(crate) fn builder(&self, http: bool) -> Result<PartySocketOptionsBuilder, String> {
        let room_options = self.room.is_some() || self.base_path.is_some();
        let after = |scheme: &str| {
            self.target
                .get(..scheme.len())
                .filter(|head| head.eq_ignore_ascii_case(scheme))
                .map(|_| &self.target[scheme.len()..])
        };
        let mut builder = if room_options {
            PartySocketOptions::builder(self.target.as_str())
        } else if after("ws://").is_some() || after("wss://").is_some() {
            PartySocketOptions::for_url(self.target.as_str())
        } else if let (true, Some(rest)) = (http, after("http://")) {
            PartySocketOptions::for_url(format!("ws://{rest}"))
        } else if let (true, Some(rest)) = (http, after("https://")) {
            PartySocketOptions::for_url(format!("wss://{rest}"))
        } else {
            return Err(format!(
                "{:?} needs a room: add --room NAME (and --party NAME), or give a full {} URL",
                self.target,
                if http {
                    "http(s)://"
                } else {
                    "ws:// or wss://"
                }
            ));
        };
        // Set only what was given: the library refuses room options on a full URL
        // and says so.
        if let Some(party) = &self.party {
            builder = builder.party(party.as_str());
        }
        if let Some(room) = &self.room {
            builder = builder.room(room.as_str());
        }
        if let Some(prefix) = &self.prefix {
            builder = builder.prefix(prefix.as_str());
        }
        if let Some(base_path) = &self.base_path {
            builder = builder.base_path(base_path.as_str());
        }
        if let Some(path) = &self.path {
            builder = builder.path(path.as_str());
        }
        if let Some(protocol) = self.protocol {
            builder = builder.protocol(match protocol {
                Scheme::Ws => Protocol::Ws,
                Scheme::Wss => Protocol::Wss,
            });
        }
        if !self.query.is_empty() {
            let query = self
                .query
                .iter()
                .fold(Query::new(), |query, (key, value)| query.with(key, value));
            builder = builder.query(query);
        }
        for (name, value) in &self.header {
            builder = builder.header(name.as_str(), value.as_str());
        }
        Ok(builder)
    }

    /// The TLS configuration: the bundled roots, plus `--native-roots` and `--ca-cert`.
    ///
    /// # Errors
    ///
    /// A message naming the file when the certificate cannot be read or parsed.
    pub(crate) fn tls(&self) -> Result<TlsConfig, String> {
        let mut builder = TlsConfig::builder().native_roots(self.native_roots);
        if let Some(path) = &self.ca_cert {
            let pem = std::fs::read(path)
                .map_err(|err| format!("cannot read --ca-cert {}: {err}", path.display()))?;
            builder = builder
                .add_root_certificate_pem(pem)
                .map_err(|err| format!("--ca-cert {}: {err}", path.display()))?;
        }
        builder.build().map_err(|err| err.to_string())
    }
}

/// `key=value`, split at the first `=`.
fn parse_query(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!(
            "expected KEY=VALUE, e.g. --query token=abc: got {text:?}"
        )),
    }
}

/// `Name: value`, split at the first `:`, the value trimmed.
fn parse_header(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!(
            "expected 'Name: value', e.g. --header 'Authorization: Bearer abc': got {text:?}"
        )),
    }
}

/// A duration with its unit: `250ms`, `3s`, `1.5s`, `2m`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale = match unit.trim() {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "" => {
            return Err(format!("{text:?} needs a unit: write e.g. 500ms, 3s or 1m"));
        }
        other => return Err(format!("unknown unit {other:?}: use ms, s or m")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 3s or 1m"))?;
    Duration::try_from_secs_f64(value * scale).map_err(|_| format!("{text:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("3").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("3h").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("x s").is_err());
    }

    #[test]
    fn queries_and_headers_split_at_the_first_separator() {
        assert_eq!(parse_query("a=b=c"), Ok(("a".to_owned(), "b=c".to_owned())));
        assert_eq!(parse_query("flag="), Ok(("flag".to_owned(), String::new())));
        assert!(parse_query("novalue").is_err());
        assert!(parse_query("=x").is_err());
        assert_eq!(
            parse_header("Authorization:  Bearer a:b "),
            Ok(("Authorization".to_owned(), "Bearer a:b".to_owned()))
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header(": value").is_err());
    }
}
