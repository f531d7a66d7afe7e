//! Room URLs: host parsing and classification, path encoding, query serialization.
//!
//! URLs are what a browser sends for the same input: path segments percent-encoded by
//! the WHATWG URL rules, the query form-encoded as `URLSearchParams` does.

use std::net::Ipv4Addr;
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
use std::net::{IpAddr, Ipv6Addr};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::error::OptionsError;
use super::query::Query;

/// The WHATWG path percent-encode set (`%` is not in it: an encoded path stays as is).
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// One path segment holding a name: `/`, `\` and `%` are data, not structure.
/// [`push_segment`] encodes this set itself (see [`in_segment_set`]); the tests
/// compare the two.
#[cfg(test)]
const SEGMENT: &AsciiSet = &PATH.add(b'/').add(b'\\').add(b'%');

/// The query parameter that carries the connection id.
pub(crate) const ID_PARAM: &str = "_pk";

/// Whether connections are encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `ws://` (and `http://` for HTTP requests).
    Ws,
    /// `wss://` (and `https://` for HTTP requests).
    Wss,
}

impl Protocol {
    /// The WebSocket scheme: `ws` or `wss`.
    pub fn websocket_scheme(self) -> &'static str {
        match self {
            Protocol::Ws => "ws",
            Protocol::Wss => "wss",
        }
    }

    /// The HTTP scheme of the same security: `http` or `https`.
    pub fn http_scheme(self) -> &'static str {
        match self {
            Protocol::Ws => "http",
            Protocol::Wss => "https",
        }
    }

    /// The port a URL of this security leaves out: 80 (`ws`, `http`) or 443 (`wss`,
    /// `https`).
    pub fn default_port(self) -> u16 {
        match self {
            Protocol::Ws => 80,
            Protocol::Wss => 443,
        }
    }
}

/// `host` (normalized) as a URL serializes it under `protocol` (WHATWG): the
/// protocol's default port is left out and other ports lose leading zeros, so
/// `example.com:443` over `wss` is `example.com`, as browsers send it.
pub(crate) fn serialized_host(host: &str, protocol: Protocol) -> String {
    let (authority, path) = match host.split_once('/') {
        Some((authority, path)) => (authority, Some(path)),
        None => (host, None),
    };
    let mut out = match split_host(authority) {
        Some((_, Some(port))) => {
            // `split_host` accepted a port, so the authority ends with `:digits`.
            let name = authority
                .rsplit_once(':')
                .map_or(authority, |(name, _)| name);
            if port == protocol.default_port() {
                name.to_owned()
            } else {
                format!("{name}:{port}")
            }
        }
        _ => authority.to_owned(),
    };
    // A path given with the host is encoded like every other path.
    if let Some(path) = path {
        push_path(&mut out, path);
    }
    out
}

/// Strips a leading `http(s)://` or `ws(s)://` (any case) and trailing slashes, then
/// checks that what is left can be a host with an optional port.
pub(crate) fn normalize_host(host: &str) -> Result<String, OptionsError> {
    let trimmed = host.trim();
    let without_scheme = ["https://", "http://", "wss://", "ws://"]
        .iter()
        .find_map(|scheme| {
            trimmed
                .get(..scheme.len())
                .filter(|head| head.eq_ignore_ascii_case(scheme))
                .and_then(|_| trimmed.get(scheme.len()..))
        })
        .unwrap_or(trimmed);
    let host = without_scheme.trim_end_matches('/');
    if host.is_empty() {
        return Err(OptionsError::EmptyHost);
    }
    let invalid = |why| OptionsError::InvalidHost {
        host: host.to_owned(),
        why,
    };
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("it contains whitespace"));
    }
    if host.contains(['?', '#', '@']) {
        return Err(invalid(
            "a host cannot contain '?', '#' or '@'; pass query parameters with query()",
        ));
    }
    if !host.is_ascii() {
        return Err(invalid(
            "non-ASCII names must be given in their punycode form (xn--…)",
        ));
    }
    let (hostname, _port) = split_host(host).ok_or_else(|| {
        invalid("expected a name or IP address, optionally with :port (IPv6 addresses in brackets)")
    })?;
    if hostname.is_empty() {
        return Err(invalid("the name before the port is empty"));
    }
    let bracketed = host.starts_with('[');
    if !bracketed && hostname.contains(is_forbidden_in_host) {
        return Err(invalid(
            "a host name cannot contain any of < > [ ] \\ ^ | % (WHATWG forbidden host code points)",
        ));
    }
    // The host as a browser's URL parser writes it: IP addresses in their canonical
    // form (`127.1` is `127.0.0.1`, `[0:0::1]` is `[::1]`), names in lowercase.
    let canonical = if bracketed {
        canonical_ipv6(hostname)
            .ok_or_else(|| invalid("the bracketed part is not an IPv6 address"))?
    } else if ends_in_number(hostname) {
        canonical_ipv4(hostname)
            .ok_or_else(|| invalid("a host ending in a number must be a valid IPv4 address"))?
    } else {
        hostname.to_ascii_lowercase()
    };
    // `get` rather than indexing: the same parts, without the panic paths of string
    // slicing (`/` and `:` are ASCII, so every split falls on a character boundary).
    let end = host.find('/').unwrap_or(host.len());
    let (authority, path) = (
        host.get(..end).unwrap_or(host),
        host.get(end..).unwrap_or(""),
    );
    let port = if bracketed {
        authority.rsplit_once(']').map_or("", |(_, port)| port)
    } else {
        authority
            .find(':')
            .and_then(|at| authority.get(at..))
            .unwrap_or("")
    };
    Ok(format!("{canonical}{port}{path}"))
}

/// The WHATWG query percent-encode set of special schemes (`ws`, `wss`): what a
/// browser encodes in a query it is given.
const SPECIAL_QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'\'');

/// A full WebSocket URL, checked and written the way a browser's URL parser writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FullUrl {
    /// `ws` or `wss`, from the scheme.
    pub(crate) protocol: Protocol,
    /// The authority, normalized (`normalize_host`), with the default port kept as given.
    pub(crate) host: String,
    /// The path, starting with `/`, percent-encoded.
    pub(crate) path: String,
    /// The query without `?`, percent-encoded; `None` when the URL has none.
    pub(crate) query: Option<String>,
}

impl FullUrl {
    /// `ws(s)://host/path`, without the query.
    pub(crate) fn without_query(&self, scheme: &str) -> String {
        let host = serialized_host(&self.host, self.protocol);
        format!("{scheme}://{host}{}", self.path)
    }

    /// What [`parse_full_url`] gives for this URL as written (`with_query` under its
    /// own scheme, no extra entries), without parsing: the written host leaves out the
    /// default port and leading zeros of the port, and an empty query is not written.
    /// The path and query are already encoded, and encoding them again changes nothing.
    pub(crate) fn reparsed(&self) -> FullUrl {
        FullUrl {
            protocol: self.protocol,
            host: serialized_host(&self.host, self.protocol),
            path: self.path.clone(),
            query: self.query.clone().filter(|query| !query.is_empty()),
        }
    }

    /// The URL under `scheme` with its own query, then `extra` (form-encoded entries)
    /// after a `&`; no `?` when both are empty.
    pub(crate) fn with_query(&self, scheme: &str, extra: &str) -> String {
        let base = self.without_query(scheme);
        match (self.query.as_deref().filter(|own| !own.is_empty()), extra) {
            (None, "") => base,
            (None, extra) => format!("{base}?{extra}"),
            (Some(own), "") => format!("{base}?{own}"),
            (Some(own), extra) => format!("{base}?{own}&{extra}"),
        }
    }
}

/// Parses a full `ws://` or `wss://` URL for a socket that follows no PartyKit path
/// rules. Refused: another scheme or none, a fragment, credentials, whitespace, a
/// backslash, `.` or `..` path segments, and hosts `normalize_host` refuses.
pub(crate) fn parse_full_url(input: &str) -> Result<FullUrl, OptionsError> {
    let invalid = |why| OptionsError::InvalidUrl {
        url: redact_url(input),
        why,
    };
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(invalid(
            "it is empty: pass a URL such as \"wss://echo.example.com/socket\"",
        ));
    }
    let Some((scheme, rest)) = split_scheme(trimmed) else {
        return Err(invalid(
            "it has no scheme: write ws:// or wss:// in front (for a PartyKit host and room, use PartySocketOptions::builder)",
        ));
    };
    let protocol = if scheme.eq_ignore_ascii_case("ws") {
        Protocol::Ws
    } else if scheme.eq_ignore_ascii_case("wss") {
        Protocol::Wss
    } else if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
        return Err(invalid(
            "a socket URL starts with ws:// or wss://, not http:// or https:// (write ws for http, wss for https)",
        ));
    } else {
        return Err(invalid("the scheme must be ws:// or wss://"));
    };
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(
            "it contains whitespace or control characters: percent-encode them (%20 for a space)",
        ));
    }
    if rest.contains('#') {
        return Err(invalid(
            "WebSocket URLs cannot have a fragment (#...): remove it, or encode # as %23",
        ));
    }
    if rest.contains('\\') {
        return Err(invalid(
            "it contains a backslash, which URL parsers read as '/': write '/' or encode it as %5C",
        ));
    }
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(at) => before_query.split_at(at),
        None => (before_query, "/"),
    };
    if authority.contains('@') {
        return Err(invalid(
            "credentials in the URL (user:password@) are not sent by WebSocket clients: pass them with header(\"Authorization\", ...) or in the query",
        ));
    }
    if authority.is_empty() {
        return Err(invalid("the host is missing after the scheme"));
    }
    let host = normalize_host(authority).map_err(|err| match err {
        OptionsError::InvalidHost { why, .. } => invalid(why),
        _ => invalid("the host is missing after the scheme"),
    })?;
    if path.split('/').any(is_dot_segment) {
        return Err(invalid(
            "its path has a `.` or `..` segment, which URL parsers remove: write the path it stands for",
        ));
    }
    Ok(FullUrl {
        protocol,
        host,
        path: utf8_percent_encode(path, PATH).to_string(),
        query: query.map(|query| utf8_percent_encode(query, SPECIAL_QUERY).to_string()),
    })
}

/// `input` split at its first `://`. Byte-wise rather than `str::split_once("://")`:
/// the same answer without the substring searcher, which is the larger code in a
/// browser build.
fn split_scheme(input: &str) -> Option<(&str, &str)> {
    let at = input.as_bytes().windows(3).position(|w| w == b"://")?;
    // `at` and `at + 3` border ASCII bytes, so both are character boundaries.
    Some((input.get(..at)?, input.get(at + 3..)?))
}

/// Whether a path segment is `.` or `..`, also when written with `%2e` or `%2E` (what
/// URL parsers remove). Each unit is `.` or `%2e` in any case, and there are one or
/// two; the same answer as lowercasing, replacing `%2e` with `.` and comparing, without
/// allocating.
fn is_dot_segment(segment: &str) -> bool {
    let mut rest = segment.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', b'e' | b'E', tail @ ..] => tail,
            _ => return false,
        };
        dots += 1;
    }
    matches!(dots, 1 | 2)
}

/// `[address]` in its canonical form, or `None` when it is not an IPv6 address.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn canonical_ipv6(inside: &str) -> Option<String> {
    let ip: Ipv6Addr = inside.parse().ok()?;
    Some(format!("[{}]", whatwg_ipv6(ip)))
}

/// The address in its canonical dotted form, or `None` when it is not an IPv4 address.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn canonical_ipv4(hostname: &str) -> Option<String> {
    whatwg_ipv4(hostname).map(|ip| ip.to_string())
}

/// In the browser the page's own `URL` parser canonicalizes IP hosts: it is the WHATWG
/// parser this code otherwise imitates, and using it keeps the IP parsers out of the
/// download.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn canonical_ipv6(inside: &str) -> Option<String> {
    browser_hostname("[", inside, "]")
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn canonical_ipv4(hostname: &str) -> Option<String> {
    browser_hostname("", hostname, "")
}

/// `new URL("ws://" + before + host + after + "/").hostname`, or `None` when the parser
/// refuses it (or the environment has no `URL`).
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn browser_hostname(before: &str, host: &str, after: &str) -> Option<String> {
    use wasm_bindgen::{JsCast, JsValue};
    let constructor: js_sys::Function =
        js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("URL"))
            .ok()?
            .dyn_into()
            .ok()?;
    // Pushed rather than `concat`enated: the same text without the generic joining code.
    let mut url = String::new();
    for part in ["ws://", before, host, after, "/"] {
        url.push_str(part);
    }
    let text = JsValue::from_str(&url);
    let url = js_sys::Reflect::construct(&constructor, &js_sys::Array::of1(&text)).ok()?;
    js_sys::Reflect::get(&url, &JsValue::from_str("hostname"))
        .ok()?
        .as_string()
}

/// Whether a host name is meant as an IPv4 address (WHATWG "ends in a number"): its
/// last label, ignoring one trailing dot, is decimal digits or `0x` hex.
fn ends_in_number(hostname: &str) -> bool {
    let trimmed = hostname.strip_suffix('.').unwrap_or(hostname);
    let last = trimmed.rsplit('.').next().unwrap_or(trimmed);
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    last.strip_prefix("0x")
        .or_else(|| last.strip_prefix("0X"))
        .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
/// The WHATWG IPv4 parser: one to four parts, each decimal, octal (leading `0`) or hex
/// (`0x`), the last one filling the remaining bytes.
fn whatwg_ipv4(hostname: &str) -> Option<Ipv4Addr> {
    let trimmed = hostname.strip_suffix('.').unwrap_or(hostname);
    let parts: Vec<&str> = trimmed.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut numbers = Vec::with_capacity(parts.len());
    for part in &parts {
        let (digits, radix) =
            if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
                (hex, 16)
            } else if part.len() > 1 && part.starts_with('0') {
                (&part[1..], 8)
            } else {
                (*part, 10)
            };
        let value = if digits.is_empty() {
            if radix == 10 {
                return None;
            }
            0
        } else {
            u64::from_str_radix(digits, radix).ok()?
        };
        numbers.push(value);
    }
    let (last, leading) = numbers.split_last()?;
    if leading.iter().any(|part| *part > 255) {
        return None;
    }
    let room = 256u64.pow(u32::try_from(5 - numbers.len()).ok()?);
    if *last >= room {
        return None;
    }
    let mut address = *last;
    for (i, part) in leading.iter().enumerate() {
        address += part * 256u64.pow(u32::try_from(3 - i).ok()?);
    }
    Some(Ipv4Addr::from(u32::try_from(address).ok()?))
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
/// An IPv6 address as WHATWG serializes it: lowercase hex pieces, the first longest run
/// of two or more zero pieces compressed, IPv4-mapped addresses in hex too.
fn whatwg_ipv6(ip: Ipv6Addr) -> String {
    let pieces = ip.segments();
    let mut best: Option<(usize, usize)> = None;
    let mut at = 0;
    while at < 8 {
        if pieces[at] == 0 {
            let start = at;
            while at < 8 && pieces[at] == 0 {
                at += 1;
            }
            let len = at - start;
            if len > 1 && best.is_none_or(|(_, best_len)| len > best_len) {
                best = Some((start, len));
            }
        } else {
            at += 1;
        }
    }
    let hex = |range: &[u16]| {
        range
            .iter()
            .map(|piece| format!("{piece:x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    match best {
        Some((start, len)) => format!("{}::{}", hex(&pieces[..start]), hex(&pieces[start + len..])),
        None => hex(&pieces),
    }
}

/// The path a host carries after its authority (`example.com/base` gives `base`).
pub(crate) fn host_path(host: &str) -> Option<&str> {
    host.split_once('/').map(|(_, path)| path)
}

/// The code points a WHATWG domain cannot contain (besides controls and whitespace,
/// refused earlier, and the delimiters `/ : ? # @`, which never reach a host name here).
fn is_forbidden_in_host(c: char) -> bool {
    matches!(c, '<' | '>' | '[' | ']' | '\\' | '^' | '|' | '%' | '\u{7f}')
}

/// Splits `authority[/path]` into the hostname (brackets removed) and port, or `None`
/// when the port or the brackets are malformed.
fn split_host(host: &str) -> Option<(&str, Option<u16>)> {
    let authority = host.split('/').next().unwrap_or(host);
    if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        // In the browser, `normalize_host` has the page's parser check it.
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        inside.parse::<Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?.parse().ok()?),
        };
        return Some((inside, port));
    }
    match authority.rsplit_once(':') {
        Some((name, _)) if name.contains(':') => None,
        Some((name, port)) => Some((name, Some(port.parse().ok()?))),
        None => Some((authority, None)),
    }
}

/// Whether `host` (normalized) is this machine or a private network, where servers
/// usually run without TLS: `localhost`, `127.0.0.0/8`, `10.0.0.0/8`, `172.16.0.0/12`,
/// `192.168.0.0/16`, `::1`, and those IPv4 ranges written as IPv4-mapped IPv6.
pub(crate) fn is_local_host(host: &str) -> bool {
    let Some((hostname, _)) = split_host(host) else {
        return false;
    };
    if hostname == "localhost" || hostname.ends_with(".localhost") {
        return true;
    }
    is_local_ip(hostname)
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn is_local_ip(hostname: &str) -> bool {
    match hostname.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => is_local_v4(v4),
        Ok(IpAddr::V6(v6)) => {
            v6 == Ipv6Addr::LOCALHOST || v6.to_ipv4_mapped().is_some_and(is_local_v4)
        }
        Err(_) => false,
    }
}

/// In the browser the host was canonicalized by the page's parser: an IPv4 address is
/// dotted decimal, an IPv6 one compressed lowercase hex, so reading those forms is
/// enough (`::1`, and `::ffff:` followed by two hex pieces for IPv4-mapped ones).
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn is_local_ip(hostname: &str) -> bool {
    if hostname == "::1" {
        return true;
    }
    let v4 = match hostname.strip_prefix("::ffff:") {
        Some(mapped) => {
            let Some((high, low)) = mapped.split_once(':') else {
                return false;
            };
            match (u16::from_str_radix(high, 16), u16::from_str_radix(low, 16)) {
                (Ok(high), Ok(low)) => {
                    Some(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low)))
                }
                _ => None,
            }
        }
        None => dotted_decimal(hostname),
    };
    v4.is_some_and(is_local_v4)
}

/// `a.b.c.d` with each part a decimal byte, as a canonical IPv4 host is written.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn dotted_decimal(hostname: &str) -> Option<Ipv4Addr> {
    let mut parts = hostname.split('.');
    let mut octets = [0u8; 4];
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts.next().is_none().then(|| Ipv4Addr::from(octets))
}

fn is_local_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback() || ip.is_private()
}

/// The protocol to use for `host` when none is set.
pub(crate) fn default_protocol(host: &str) -> Protocol {
    if is_local_host(host) {
        Protocol::Ws
    } else {
        Protocol::Wss
    }
}

/// The path after the host, starting with `/`: `/<prefix>/<party>/<room>` or
/// `/<base_path>`, then `/<path>` when set.
pub(crate) fn room_path(
    prefix: &str,
    party: &str,
    room: Option<&str>,
    base_path: Option<&str>,
    path: Option<&str>,
) -> String {
    let mut out = String::new();
    match base_path {
        Some(base) => push_path(&mut out, base),
        None => {
            push_path(&mut out, prefix);
            push_segment(&mut out, party);
            push_segment(&mut out, room.unwrap_or_default());
        }
    }
    if let Some(path) = path {
        push_path(&mut out, path);
    }
    out
}

/// Appends a name as one segment: a `/` inside it is data and is encoded.
fn push_segment(out: &mut String, name: &str) {
    out.push('/');
    push_encoded(out, name, in_segment_set);
}

/// Whether `byte` is percent-encoded in a segment holding a name: the WHATWG path
/// percent-encode set with `/`, `\` and `%`, and every byte of a non-ASCII character.
fn in_segment_set(byte: u8) -> bool {
    !(0x20..0x7f).contains(&byte)
        || matches!(
            byte,
            b' ' | b'"' | b'#' | b'<' | b'>' | b'?' | b'`' | b'{' | b'}' | b'/' | b'\\' | b'%'
        )
}

/// Appends `text` with every byte `encoded` picks written as `%XX` (uppercase hex):
/// what `percent-encoding` writes, without its table of all 256 escapes.
fn push_encoded(out: &mut String, text: &str, encoded: fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut plain = 0;
    for (at, byte) in text.bytes().enumerate() {
        if encoded(byte) {
            // Every byte of a non-ASCII character is encoded, so `plain..at` holds
            // whole characters.
            out.push_str(text.get(plain..at).unwrap_or_default());
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
            plain = at + 1;
        }
    }
    out.push_str(text.get(plain..).unwrap_or_default());
}

/// Appends a multi-segment path (`a/b/c`), encoding each segment.
fn push_path(out: &mut String, path: &str) {
    for segment in path.split('/') {
        push_segment(out, segment);
    }
}

/// Serializes query entries in order, as `URLSearchParams` does (`a=1+2&c=x%26y`).
/// The `application/x-www-form-urlencoded` serializer: `*-._`, ASCII letters and
/// digits as they are, a space as `+`, every other byte as `%XX`; the tests compare it
/// with `form_urlencoded`'s.
pub(crate) fn form_encode<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (key, value) in entries {
        if !out.is_empty() {
            out.push('&');
        }
        push_form_encoded(&mut out, key);
        out.push('=');
        push_form_encoded(&mut out, value);
    }
    out
}

/// Appends `text` form-encoded: a space is `+`, see [`form_encode`].
fn push_form_encoded(out: &mut String, text: &str) {
    let mut words = text.split(' ');
    if let Some(first) = words.next() {
        push_encoded(out, first, in_form_set);
    }
    for word in words {
        out.push('+');
        push_encoded(out, word, in_form_set);
    }
}

/// Whether `byte` is percent-encoded by the form serializer (a space, written `+`,
/// never reaches it).
fn in_form_set(byte: u8) -> bool {
    !matches!(byte, b'*' | b'-' | b'.' | b'_' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z')
}

/// The entries of `query` that may go into a URL: present values, without `_pk`, which
/// only the connection id sets.
pub(crate) fn user_params(query: &Query) -> impl Iterator<Item = (&str, &str)> {
    query.present().filter(|(key, _)| *key != ID_PARAM)
}

/// `url` with every query value except `_pk` replaced by `REDACTED`, for logs: query
/// values often carry tokens.
pub fn redact_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key == ID_PARAM => pair.to_owned(),
            Some((key, _)) => format!("{key}={}", super::redact::REDACTED),
            None => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    /// The byte-wise helpers answer what the `str` methods they replace answer.
    mod same_as_str_methods {
        use proptest::prelude::*;

        /// Strings made mostly of the characters that matter here.
        fn pieces() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![
                    Just(".".to_owned()),
                    Just("%2e".to_owned()),
                    Just("%2E".to_owned()),
                    Just("%2".to_owned()),
                    Just("%".to_owned()),
                    Just(":".to_owned()),
                    Just("/".to_owned()),
                    Just("://".to_owned()),
                    Just("é".to_owned()),
                    "[a-zA-Z0-9]{0,2}",
                ],
                0..8,
            )
            .prop_map(|pieces| pieces.concat())
        }

        proptest! {
            #[test]
            fn split_scheme(input in pieces()) {
                prop_assert_eq!(super::super::split_scheme(&input), input.split_once("://"));
            }

            #[test]
            fn is_dot_segment(segment in pieces()) {
                let by_replace = matches!(
                    segment.to_ascii_lowercase().replace("%2e", ".").as_str(),
                    "." | ".."
                );
                prop_assert_eq!(super::super::is_dot_segment(&segment), by_replace);
            }
        }

        #[test]
        fn examples() {
            for (segment, dot) in [
                (".", true),
                ("..", true),
                ("%2e", true),
                ("%2E%2e", true),
                (".%2E", true),
                ("...", false),
                ("%2e%2e%2e", false),
                ("", false),
                ("%2", false),
                ("a.", false),
                ("%2f", false),
            ] {
                assert_eq!(super::super::is_dot_segment(segment), dot, "{segment:?}");
            }
            assert_eq!(
                super::super::split_scheme("ws://a://b"),
                Some(("ws", "a://b"))
            );
            assert_eq!(super::super::split_scheme("é://x"), Some(("é", "x")));
            assert_eq!(super::super::split_scheme("ws:/x"), None);
        }
    }

    /// The encoders answer what `percent-encoding` and `form_urlencoded` answer.
    mod same_as_the_encoding_crates {
        use proptest::prelude::*;

        use super::super::{SEGMENT, form_encode, push_segment};

        fn ours_segment(name: &str) -> String {
            let mut out = String::new();
            push_segment(&mut out, name);
            out
        }

        fn theirs_segment(name: &str) -> String {
            format!("/{}", percent_encoding::utf8_percent_encode(name, SEGMENT))
        }

        fn theirs_form(entries: &[(String, String)]) -> String {
            let mut serializer = form_urlencoded::Serializer::new(String::new());
            for (key, value) in entries {
                serializer.append_pair(key, value);
            }
            serializer.finish()
        }

        #[test]
        fn every_character_up_to_u_0100_and_some_beyond() {
            let chars = (0u32..0x100)
                .chain([0x7ff, 0x800, 0x4e2d, 0xfeff, 0x1f600, 0x10ffff])
                .filter_map(char::from_u32);
            for c in chars {
                let text = format!("a{c}b{c}");
                assert_eq!(ours_segment(&text), theirs_segment(&text), "{c:?}");
                let entries = [(text.clone(), text.clone())];
                assert_eq!(
                    form_encode(entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
                    theirs_form(&entries),
                    "{c:?}"
                );
            }
            assert_eq!(form_encode([]), theirs_form(&[]));
            assert_eq!(form_encode([("", "")]), "=");
            assert_eq!(ours_segment(""), "/");
        }

        proptest! {
            #[test]
            fn segments(name in "\\PC{0,12}|[ -~]{0,12}") {
                prop_assert_eq!(ours_segment(&name), theirs_segment(&name));
            }

            #[test]
            fn forms(entries in proptest::collection::vec(("\\PC{0,6}|[ -~]{0,6}", "\\PC{0,6}|[ -~]{0,6}"), 0..4)) {
                let ours = form_encode(entries.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                prop_assert_eq!(ours, theirs_form(&entries));
            }
        }
    }

    use super::*;

    #[test]
    fn strips_scheme_case_insensitively_and_trailing_slashes() {
        for input in [
            "example.com",
            "https://example.com",
            "http://example.com",
            "ws://example.com",
            "wss://example.com",
            "HTTPS://Example.COM/",
            "example.com//",
        ] {
            assert_eq!(normalize_host(input).unwrap(), "example.com", "{input}");
        }
    }

    #[test]
    fn rejects_hosts_that_cannot_be_hosts() {
        assert_eq!(normalize_host(""), Err(OptionsError::EmptyHost));
        assert_eq!(normalize_host("https://"), Err(OptionsError::EmptyHost));
        for bad in [
            "exa mple.com",
            "example.com?x=1",
            "user@example.com",
            "::1",
            "[::1",
            "h:99999",
            "h:x",
            ":80",
            "exämple.com",
        ] {
            assert!(
                matches!(normalize_host(bad), Err(OptionsError::InvalidHost { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn classifies_local_and_private_hosts_by_parsing() {
        for local in [
            "localhost",
            "localhost:1999",
            "app.localhost:8080",
            "127.0.0.1",
            "127.0.0.1:1999",
            "127.1.2.3:1999",
            "192.168.1.1",
            "192.168.1.100:1999",
            "10.0.0.1",
            "10.0.0.1:1999",
            "172.16.0.1",
            "172.16.0.1:1999",
            "172.20.10.5:1999",
            "172.31.255.255",
            "172.31.255.255:1999",
            "[::1]:1999",
            "[::1]",
            "[::ffff:7f00:1]:1999",
        ] {
            assert!(is_local_host(local), "{local} should be local");
        }
        // Upstream's string prefixes call these local; parsing does not.
        for public in [
            "172.15.0.1:1999",
            "172.32.0.1:1999",
            "172.2.0.1",
            "172.160.0.1",
            "10.example.com",
            "example.com",
            "8.8.8.8:1999",
            "0.0.0.0:1999",
        ] {
            assert!(!is_local_host(public), "{public} should be public");
        }
    }

    #[test]
    fn names_are_encoded_as_single_segments() {
        assert_eq!(
            room_path("parties", "main", Some("my room/é?x"), None, None),
            "/parties/main/my%20room%2F%C3%A9%3Fx"
        );
        assert_eq!(
            room_path("a/b", "p", Some("r"), None, Some("x/y")),
            "/a/b/p/r/x/y"
        );
        assert_eq!(
            room_path("parties", "p", Some("r"), Some("custom/base"), None),
            "/custom/base"
        );
    }

    #[test]
    fn query_is_form_encoded_like_url_search_params() {
        assert_eq!(
            form_encode([("_pk", "me"), ("a", "1 2"), ("c", "x&y"), ("d", "")]),
            "_pk=me&a=1+2&c=x%26y&d="
        );
    }

    #[test]
    fn reparsed_is_what_parsing_the_written_url_gives() {
        for input in [
            "wss://example.com",
            "wss://example.com:443/a",
            "ws://example.com:80/a?",
            "wss://Example.COM:0443/a/é\"?x=é\"&y='z'<>",
            "ws://example.com:08080/%2e%2Fx/?q=%41",
            "ws://127.1:1999/p?a=b?c",
            "wss://[0:0::1]:443/",
            "wss://[::1]:8443/deep/path/?",
            "ws://h/a%20b<c>{d}`e`",
        ] {
            let full = parse_full_url(input).unwrap_or_else(|err| panic!("{input}: {err}"));
            let written = full.with_query(full.protocol.websocket_scheme(), "");
            assert_eq!(parse_full_url(&written), Ok(full.reparsed()), "{input}");
        }
    }

    #[test]
    fn redaction_keeps_only_the_connection_id() {
        assert_eq!(
            redact_url("wss://h/parties/main/r?_pk=abc&token=secret&x"),
            "wss://h/parties/main/r?_pk=abc&token=REDACTED&x"
        );
        assert_eq!(redact_url("wss://h/r"), "wss://h/r");
    }
}
