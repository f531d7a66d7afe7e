//! The server half of RFC 6455, as much as the bench needs and no more costly than it
//! must be: the upgrade handshake, client frames parsed (and unmasked in place) from a
//! read buffer that grows under load, and server frames written into a connection's
//! output buffer, so that one system call carries a whole batch.

use std::io;
use std::ops::Range;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// The longest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// The largest frame payload accepted.
const MAX_PAYLOAD: usize = 64 << 20;
/// The read buffer's first size; it doubles, up to [`MAX_CHUNK`], while reads fill it.
const FIRST_CHUNK: usize = 4 * 1024;
/// The most one read asks for (a frame larger than this is read whole).
const MAX_CHUNK: usize = 64 * 1024;

pub(crate) const CONTINUATION: u8 = 0x0;
pub(crate) const TEXT: u8 = 0x1;
pub(crate) const BINARY: u8 = 0x2;
pub(crate) const CLOSE: u8 = 0x8;
pub(crate) const PING: u8 = 0x9;
pub(crate) const PONG: u8 = 0xA;

/// Close codes the server sends.
pub(crate) const PROTOCOL_ERROR: u16 = 1002;
pub(crate) const UNSUPPORTED: u16 = 1003;

/// A request head that asked for a WebSocket.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Upgrade {
    /// The request target (path and query).
    pub(crate) target: String,
    /// The `Sec-WebSocket-Accept` value that answers its key.
    pub(crate) accept: String,
}

/// Where the request head ends (just past its blank line), once it is complete.
pub(crate) fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Reads one request head: the head and the bytes read past it. `Ok(None)` when the
/// peer ended before the head was complete; an error when it is longer than 16 KiB.
pub(crate) async fn read_head<R>(reader: &mut R) -> io::Result<Option<(Vec<u8>, Vec<u8>)>>
where
    R: AsyncRead + Unpin,
{
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let read = reader.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&chunk[..read]);
        if let Some(end) = head_end(&head) {
            let rest = head.split_off(end);
            return Ok(Some((head, rest)));
        }
        if head.len() > MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head longer than 16 KiB",
            ));
        }
    }
}

/// Parses a complete request head: a `GET` with a `Sec-WebSocket-Key`.
pub(crate) fn parse_request(head: &[u8]) -> Result<Upgrade, &'static str> {
    let text = std::str::from_utf8(head).map_err(|_| "the request head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    if request_line.next() != Some("GET") {
        return Err("a WebSocket upgrade is a GET request");
    }
    let target = request_line
        .next()
        .filter(|target| !target.is_empty())
        .ok_or("the request line has no target")?;
    let key = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-key"))
        .map(|(_, value)| value.trim())
        .filter(|key| !key.is_empty())
        .ok_or("no Sec-WebSocket-Key header")?;
    Ok(Upgrade {
        target: target.to_owned(),
        accept: derive_accept_key(key.as_bytes()),
    })
}

/// The `101` that completes the handshake.
pub(crate) fn switching_protocols(accept: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )
}

/// A refusal with a plain-text body; the connection closes after it.
pub(crate) fn refusal(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// One client frame in the read buffer, its payload unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) fin: bool,
    pub(crate) opcode: u8,
    /// Where the payload is in the buffer.
    pub(crate) payload: Range<usize>,
}

/// What [`parse`] found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A whole frame: it and the bytes it took.
    Frame(Frame, usize),
    /// Not yet a whole frame: the bytes it needs in all.
    Need(usize),
}

/// Parses the client frame at the start of `buf` and unmasks its payload in place.
/// The error says which rule of RFC 6455 the frame broke.
pub(crate) fn parse(buf: &mut [u8]) -> Result<Parsed, &'static str> {
    let (Some(&first), Some(&second)) = (buf.first(), buf.get(1)) else {
        return Ok(Parsed::Need(2));
    };
    if first & 0x70 != 0 {
        return Err("reserved bits set without an extension");
    }
    if second & 0x80 == 0 {
        return Err("a client frame must be masked");
    }
    let (fin, opcode) = (first & 0x80 != 0, first & 0x0F);
    if !matches!(opcode, CONTINUATION | TEXT | BINARY | CLOSE | PING | PONG) {
        return Err("reserved opcode");
    }
    let (length, mask_at) = match second & 0x7F {
        126 => match buf.get(2..4) {
            Some(&[high, low]) => (u64::from(u16::from_be_bytes([high, low])), 4),
            _ => return Ok(Parsed::Need(4)),
        },
        127 => match buf.get(2..10) {
            Some(bytes) => {
                let mut length = [0u8; 8];
                length.copy_from_slice(bytes);
                (u64::from_be_bytes(length), 10)
            }
            None => return Ok(Parsed::Need(10)),
        },
        short => (u64::from(short), 2),
    };
    if opcode >= CLOSE && (!fin || length > 125) {
        return Err("a control frame must be whole and at most 125 bytes");
    }
    let length = usize::try_from(length)
        .ok()
        .filter(|length| *length <= MAX_PAYLOAD)
        .ok_or("frame larger than 64 MiB")?;
    let start = mask_at + 4;
    let end = start + length;
    if buf.len() < end {
        return Ok(Parsed::Need(end));
    }
    let mut mask = [0u8; 4];
    mask.copy_from_slice(&buf[mask_at..start]);
    unmask(&mut buf[start..end], mask);
    Ok(Parsed::Frame(
        Frame {
            fin,
            opcode,
            payload: start..end,
        },
        end,
    ))
}

/// XORs `payload` with the repeated `mask`, eight bytes at a time.
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = payload.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    for (index, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[index % 4];
    }
}

/// Appends a server frame's header (unmasked) for a payload of `length` bytes.
pub(crate) fn put_header(out: &mut Vec<u8>, fin: bool, opcode: u8, length: usize) {
    out.push((u8::from(fin) << 7) | opcode);
    match length {
        0..=125 => out.push(length as u8),
        126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(length as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&(length as u64).to_be_bytes());
        }
    }
}

/// Appends a whole server frame.
pub(crate) fn put_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    put_header(out, true, opcode, payload.len());
    out.extend_from_slice(payload);
}

/// Appends a close frame with `code` and `reason` (cut to fit a control frame).
pub(crate) fn put_close(out: &mut Vec<u8>, code: u16, reason: &str) {
    let mut payload = code.to_be_bytes().to_vec();
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    payload.extend_from_slice(&reason.as_bytes()[..cut]);
    put_frame(out, CLOSE, &payload);
}

/// A connection's read buffer: bytes read and not yet parsed, between `start` and `end`.
#[derive(Debug)]
pub(crate) struct Inbound {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The bytes the frame at `start` needs in all, when it is incomplete.
    need: usize,
}

impl Inbound {
    /// A buffer holding the bytes read past the request head.
    pub(crate) fn new(rest: Vec<u8>) -> Inbound {
        let end = rest.len();
        Inbound {
            buf: rest,
            start: 0,
            end,
            need: 0,
        }
    }

    /// Reads once, after making room for the incomplete frame (read whole) or for the
    /// next chunk; returns the bytes read (0 when the peer ended).
    pub(crate) async fn fill<R>(&mut self, reader: &mut R) -> io::Result<usize>
    where
        R: AsyncRead + Unpin,
    {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        let chunk = if self.buf.len() < FIRST_CHUNK {
            FIRST_CHUNK
        } else {
            self.buf.len().min(MAX_CHUNK)
        };
        let wanted = self.need.max(self.end - self.start + 1).max(chunk);
        if self.buf.len() - self.start < wanted {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            if self.buf.len() < wanted {
                self.buf.resize(wanted, 0);
            }
        }
        let read = reader.read(&mut self.buf[self.end..]).await?;
        self.end += read;
        // A read that filled the buffer asks for more next time.
        if self.end == self.buf.len() && self.buf.len() < MAX_CHUNK {
            let grown = (self.buf.len() * 2).min(MAX_CHUNK);
            self.buf.resize(grown, 0);
        }
        Ok(read)
    }

    /// The next whole frame, its payload unmasked; `Ok(None)` until more is read.
    pub(crate) fn next_frame(&mut self) -> Result<Option<Frame>, &'static str> {
        match parse(&mut self.buf[self.start..self.end])? {
            Parsed::Frame(mut frame, taken) => {
                let base = self.start;
                frame.payload = base + frame.payload.start..base + frame.payload.end;
                self.start += taken;
                self.need = 0;
                Ok(Some(frame))
            }
            Parsed::Need(bytes) => {
                self.need = bytes;
                Ok(None)
            }
        }
    }

    /// A frame's payload.
    pub(crate) fn payload(&self, frame: &Frame) -> &[u8] {
        &self.buf[frame.payload.clone()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame, as a client writes it.
    fn client_frame(fin: bool, opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut out = Vec::new();
        put_header(&mut out, fin, opcode, payload.len());
        out[1] |= 0x80;
        out.extend_from_slice(&mask);
        out.extend(
            payload
                .iter()
                .enumerate()
                .map(|(index, byte)| byte ^ mask[index % 4]),
        );
        out
    }

    #[test]
    fn parses_and_unmasks_frames_of_every_length_form() {
        for length in [0, 1, 7, 8, 9, 125, 126, 127, 65_535, 65_536, 70_001] {
            let payload: Vec<u8> = (0..length).map(|index| (index * 7 % 251) as u8).collect();
            let mut bytes = client_frame(true, BINARY, &payload, [1, 2, 3, 250]);
            let total = bytes.len();
            let Ok(Parsed::Frame(frame, taken)) = parse(&mut bytes) else {
                panic!("no frame for length {length}");
            };
            assert_eq!(taken, total, "length {length}");
            assert!(frame.fin);
            assert_eq!(frame.opcode, BINARY);
            assert_eq!(&bytes[frame.payload], &payload[..], "length {length}");
        }
    }

    #[test]
    fn an_incomplete_frame_says_how_many_bytes_it_needs() {
        let bytes = client_frame(true, TEXT, &[b'x'; 300], [9, 8, 7, 6]);
        let total = bytes.len();
        for cut in 0..total {
            let mut partial = bytes[..cut].to_vec();
            let Ok(Parsed::Need(need)) = parse(&mut partial) else {
                panic!("a frame from {cut} of {total} bytes");
            };
            assert!(need > cut && need <= total, "cut {cut}: need {need}");
        }
    }

    #[test]
    fn frames_that_break_the_rules_are_refused() {
        let mut unmasked = Vec::new();
        put_frame(&mut unmasked, TEXT, b"hi");
        assert_eq!(parse(&mut unmasked), Err("a client frame must be masked"));
        let mut reserved = client_frame(true, TEXT, b"hi", [1, 1, 1, 1]);
        reserved[0] |= 0x40;
        assert!(parse(&mut reserved).is_err());
        let mut opcode = client_frame(true, 0x3, b"hi", [1, 1, 1, 1]);
        assert_eq!(parse(&mut opcode), Err("reserved opcode"));
        let mut long_ping = client_frame(true, PING, &[0; 126], [1, 1, 1, 1]);
        assert!(parse(&mut long_ping).is_err());
        let mut split_ping = client_frame(false, PING, b"x", [1, 1, 1, 1]);
        assert!(parse(&mut split_ping).is_err());
        let mut huge = vec![0x82, 0xFF];
        huge.extend_from_slice(&(65u64 << 20).to_be_bytes());
        assert_eq!(parse(&mut huge), Err("frame larger than 64 MiB"));
    }

    #[test]
    fn server_frames_carry_their_length_and_no_mask() {
        for (length, header) in [(5, 2), (126, 4), (65_536, 10)] {
            let mut out = Vec::new();
            put_frame(&mut out, BINARY, &vec![3; length]);
            assert_eq!(out.len(), header + length);
            assert_eq!(out[0], 0x82);
            assert_eq!(out[1] & 0x80, 0);
        }
        let mut close = Vec::new();
        put_close(&mut close, 1003, &"é".repeat(100));
        assert_eq!(close[1] as usize, close.len() - 2);
        assert!(close.len() - 2 <= 125);
        assert!(std::str::from_utf8(&close[4..]).is_ok());
    }

    #[test]
    fn the_request_head_yields_the_target_and_the_accept_key() {
        let head = b"GET /parties/echo/r?_pk=a HTTP/1.1\r\nHost: x\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
        assert_eq!(head_end(head), Some(head.len()));
        assert_eq!(
            parse_request(head),
            Ok(Upgrade {
                target: "/parties/echo/r?_pk=a".into(),
                // RFC 6455's own example.
                accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into(),
            })
        );
        assert!(parse_request(b"POST / HTTP/1.1\r\n\r\n").is_err());
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Err("no Sec-WebSocket-Key header")
        );
    }

    /// Serves `bytes` in reads of `step` bytes.
    struct Trickle {
        bytes: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            let end = (self.at + self.step)
                .min(self.bytes.len())
                .min(self.at + buf.remaining());
            let at = self.at;
            buf.put_slice(&self.bytes[at..end]);
            self.at = end;
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn the_read_buffer_yields_every_frame_whatever_the_reads() {
        let payloads: Vec<Vec<u8>> = [0usize, 64, 200, 16_384, 70_000, 3]
            .iter()
            .map(|length| vec![(*length % 256) as u8; *length])
            .collect();
        let mut stream = Vec::new();
        for payload in &payloads {
            stream.extend(client_frame(true, BINARY, payload, [5, 6, 7, 8]));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        for step in [1, 3, 1000, 4096, 1 << 20] {
            let (head, rest) = stream.split_at(10);
            let mut reader = Trickle {
                bytes: rest.to_vec(),
                at: 0,
                step,
            };
            let mut inbound = Inbound::new(head.to_vec());
            let mut seen = Vec::new();
            runtime.block_on(async {
                loop {
                    while let Some(frame) = inbound.next_frame().expect("valid frames") {
                        seen.push(inbound.payload(&frame).to_vec());
                    }
                    if inbound.fill(&mut reader).await.expect("no error") == 0 {
                        break;
                    }
                }
            });
            assert_eq!(seen, payloads, "reads of {step} bytes");
        }
    }
}
