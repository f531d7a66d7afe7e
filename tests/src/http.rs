//! A small HTTP/1.1 reader and writer: request heads, `Content-Length` bodies, plain responses.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The longest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// The most headers a request may carry.
const MAX_HEADERS: usize = 64;
/// How long a client may take to send a whole request head.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest HTTP request body accepted.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// A parsed request, as a party sees it (`ctx.request` / `onRequest`'s argument).
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// The request target as sent: path and query.
    pub(crate) target: String,
    /// The absolute URL, `http(s)://{Host}{target}`.
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Whether the client asked to keep the connection open after the response.
    pub(crate) keep_alive: bool,
}

impl Request {
    /// The path part of the target.
    pub(crate) fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The decoded query pairs, in order.
    pub(crate) fn query(&self) -> Vec<(String, String)> {
        parse_query(&self.target)
    }

    /// The first value of the query parameter `name`.
    pub(crate) fn query_value(&self, name: &str) -> Option<String> {
        self.query()
            .into_iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// The first header called `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether the header `name` lists `token` (comma-separated, case-insensitive).
    pub(crate) fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .flat_map(|(_, value)| value.split(','))
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    }
}

/// The decoded query pairs of a request target (`application/x-www-form-urlencoded` rules,
/// as `URLSearchParams`).
pub(crate) fn parse_query(target: &str) -> Vec<(String, String)> {
    match target.split_once('?') {
        Some((_, query)) => form_urlencoded::parse(query.as_bytes())
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect(),
        None => Vec::new(),
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed the connection before sending anything.
    Closed,
    /// The peer sent something that is not an acceptable HTTP/1.1 request; answer this status.
    Invalid(u16, &'static str),
    /// The connection failed or ended mid-request.
    Broken,
}

/// Reads one request from `stream`. `buffer` holds bytes already read past the previous
/// request and, on return, the bytes read past this one (the first WebSocket frames, or a
/// pipelined request).
pub(crate) async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
    scheme: &str,
) -> Result<Request, ReadError> {
    let head_len = loop {
        if let Some(end) = find_head_end(buffer) {
            break end;
        }
        if buffer.len() >= MAX_HEAD {
            return Err(ReadError::Invalid(431, "Request Header Fields Too Large"));
        }
        let mut chunk = [0u8; 4096];
        let read = stream
            .read(&mut chunk)
            .await
            .map_err(|_| ReadError::Broken)?;
        if read == 0 {
            return Err(if buffer.is_empty() {
                ReadError::Closed
            } else {
                ReadError::Broken
            });
        }
        buffer.extend_from_slice(&chunk[..read]);
    };

    let mut header_slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut header_slots);
    match parsed.parse(&buffer[..head_len]) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(ReadError::Invalid(400, "Bad Request")),
    }
    let method = parsed.method.unwrap_or_default().to_owned();
    let target = parsed.path.unwrap_or_default().to_owned();
    let http_1_0 = parsed.version == Some(0);
    let mut headers = Vec::with_capacity(parsed.headers.len());
    for header in parsed.headers.iter() {
        let Ok(value) = std::str::from_utf8(header.value) else {
            return Err(ReadError::Invalid(400, "Bad Request"));
        };
        headers.push((header.name.to_owned(), value.to_owned()));
    }
    buffer.drain(..head_len);
    if !target.starts_with('/') {
        return Err(ReadError::Invalid(400, "Bad Request"));
    }

    let mut request = Request {
        method,
        url: String::new(),
        target,
        headers,
        body: Vec::new(),
        keep_alive: !http_1_0,
    };
    if request.header_has_token("connection", "close") {
        request.keep_alive = false;
    }
    if request.header_has_token("connection", "keep-alive") {
        request.keep_alive = true;
    }
    let host = request.header("host").unwrap_or("localhost").to_owned();
    request.url = format!("{scheme}://{host}{}", request.target);

    if request.header("transfer-encoding").is_some() {
        return Err(ReadError::Invalid(411, "Length Required"));
    }
    let length = match request.header("content-length") {
        None => 0,
        Some(value) => value
            .trim()
            .parse::<usize>()
            .map_err(|_| ReadError::Invalid(400, "Bad Request"))?,
    };
    if length > MAX_BODY {
        return Err(ReadError::Invalid(413, "Payload Too Large"));
    }
    while buffer.len() < length {
        let mut chunk = [0u8; 8192];
        let read = stream
            .read(&mut chunk)
            .await
            .map_err(|_| ReadError::Broken)?;
        if read == 0 {
            return Err(ReadError::Broken);
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    request.body = buffer.drain(..length).collect();
    Ok(request)
}

fn find_head_end(buffer: &[u8]) -> Option<usize> {
    buffer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// An HTTP response with a complete body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// A `text/plain;charset=UTF-8` response, as `new Response(text)` makes one.
    pub(crate) fn text(status: u16, body: impl Into<String>) -> Self {
        Response {
            status,
            headers: vec![(
                "Content-Type".to_owned(),
                "text/plain;charset=UTF-8".to_owned(),
            )],
            body: body.into().into_bytes(),
        }
    }

    /// An `application/json` response, as `Response.json(value)` makes one.
    pub(crate) fn json(status: u16, value: &serde_json::Value) -> Self {
        Response {
            status,
            headers: vec![("Content-Type".to_owned(), "application/json".to_owned())],
            body: value.to_string().into_bytes(),
        }
    }

    /// Adds a header.
    pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Writes the response; `keep_alive` decides the `Connection` header.
    pub(crate) async fn write_to<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        keep_alive: bool,
    ) -> io::Result<()> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\n",
            self.status,
            reason_phrase(self.status)
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        head.push_str(if keep_alive {
            "Connection: keep-alive\r\n\r\n"
        } else {
            "Connection: close\r\n\r\n"
        });
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        stream.write_all(&bytes).await?;
        stream.flush().await
    }
}

/// The standard reason phrase for `status`.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("Unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(raw: &[u8]) -> (Result<Request, ReadError>, Vec<u8>) {
        let mut stream = raw;
        let mut buffer = Vec::new();
        let result = read_request(&mut stream, &mut buffer, "http").await;
        (result, buffer)
    }

    #[tokio::test]
    async fn reads_head_body_and_keeps_the_rest() {
        let raw = b"POST /parties/main/r?a=1&a=2&b=x+y HTTP/1.1\r\nHost: h:1\r\nContent-Length: 3\r\n\r\nabcNEXT";
        let (request, rest) = read(raw).await;
        let request = request.unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "http://h:1/parties/main/r?a=1&a=2&b=x+y");
        assert_eq!(request.path(), "/parties/main/r");
        assert_eq!(request.query_value("a").as_deref(), Some("1"));
        assert_eq!(request.query_value("b").as_deref(), Some("x y"));
        assert_eq!(request.body, b"abc");
        assert!(request.keep_alive);
        assert_eq!(rest, b"NEXT");
    }

    #[tokio::test]
    async fn rejects_garbage_and_oversize() {
        assert!(matches!(
            read(b"\x00\x01 nonsense\r\n\r\n").await.0,
            Err(ReadError::Invalid(400, _))
        ));
        assert!(matches!(read(b"").await.0, Err(ReadError::Closed)));
        let big = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY + 1
        );
        assert!(matches!(
            read(big.as_bytes()).await.0,
            Err(ReadError::Invalid(413, _))
        ));
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(matches!(
            read(chunked).await.0,
            Err(ReadError::Invalid(411, _))
        ));
    }

    #[tokio::test]
    async fn connection_close_and_http_1_0_end_the_connection() {
        let (request, _) = read(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n").await;
        assert!(!request.unwrap().keep_alive);
        let (request, _) = read(b"GET / HTTP/1.0\r\n\r\n").await;
        assert!(!request.unwrap().keep_alive);
    }
}
