//! The read side of a connection: frames parsed straight from the byte stream, into a
//! buffer that grows while the connection is busy, is reused from read to read, and is
//! freed once the connection is quiet.
//!
//! tungstenite writes (framing, masking, its close state); reading is done here because
//! tungstenite's read buffer has one size for the connection's lifetime: a small one
//! costs a large message many calls and a copy through the read-ahead, a large one
//! costs every idle socket its size. A read here offers at least the current chunk,
//! which starts at [`MIN_CHUNK`] and doubles while reads fill what they were offered,
//! up to [`MAX_CHUNK`]; [`Reader::trim`] frees the buffer when nothing in it waits, and
//! the chunk starts small again.
//!
//! Payloads leave the buffer as copies, so that no message the application holds keeps
//! the buffer alive and the next read reuses it: a buffer given away with its payloads
//! is a fresh allocation per read, whose pages the kernel faults in anew (at 16 KiB
//! over TLS, two page faults per message). Small payloads share slabs (see
//! [`DETACH_BELOW`]); a payload over [`DIRECT_ABOVE`] is read straight into its own
//! allocation, in as few calls as the stream allows, and never passes through the
//! buffer.
//!
//! The rules are RFC 6455's for a client, and the errors are tungstenite's values, so
//! the failure policy reads them as it reads tungstenite's own.

use std::io::{self, Cursor};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, ReadBuf};
use tokio_tungstenite::tungstenite::error::{CapacityError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::FrameHeader;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Control, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error, Message, Utf8Bytes};

/// The least a read offers, and the chunk after a trim.
const MIN_CHUNK: usize = 4 * 1024;
/// The most the chunk grows to; the read-ahead under it reads directly into buffers
/// this large (see [`Wire`](super::wire::Wire)).
const MAX_CHUNK: usize = 128 * 1024;
/// Payloads up to this size are copied into a slab that the small payloads of the same
/// reads share (one allocation for a burst of them, not one each), sized to what the
/// read buffer holds and at most [`SLAB_MAX`]: a small message the application keeps
/// holds its slab, never the read buffer. Larger payloads get an allocation each.
pub(crate) const DETACH_BELOW: usize = 512;
/// A payload over this size that the buffer does not hold whole yet is read straight
/// into its own allocation (what the buffer holds of it is copied there first): it
/// neither grows the buffer to its size nor costs a second copy.
const DIRECT_ABOVE: usize = MAX_CHUNK / 2;
/// The largest slab small payloads are copied into.
const SLAB_MAX: usize = 16 * 1024;
/// The most payload bytes a control frame carries.
const CONTROL_MAX: usize = 125;

/// The read state of one connection.
#[derive(Debug)]
pub(crate) struct Reader {
    /// Bytes read and not yet parsed.
    buf: BytesMut,
    /// Where the next small payloads are copied (see [`DETACH_BELOW`]): its capacity is
    /// what is left of the current slab. While a large payload is read directly (see
    /// [`DIRECT_ABOVE`]), that payload, allocated to its length.
    slab: BytesMut,
    /// The least the next read offers.
    chunk: usize,
    /// The frame whose payload is awaited.
    header: Option<Awaited>,
    /// A fragmented message being assembled.
    partial: Option<Partial>,
    max_frame: usize,
    max_message: usize,
    /// The stream ended or broke: nothing more is read.
    ended: bool,
}

/// The header of the frame whose payload is awaited, with the payload's length.
#[derive(Debug)]
struct Awaited {
    header: FrameHeader,
    len: usize,
    /// The payload is read into [`Reader::slab`], not the buffer.
    direct: bool,
}

/// A fragmented message so far.
#[derive(Debug)]
struct Partial {
    text: bool,
    data: Vec<u8>,
    /// For text, how many leading bytes are known to be valid UTF-8.
    valid: usize,
}

impl Reader {
    /// A reader that starts with `leftover` (bytes that came with the handshake
    /// response) and enforces `config`'s frame and message limits.
    pub(crate) fn new(leftover: Vec<u8>, config: &WebSocketConfig) -> Reader {
        Reader {
            buf: BytesMut::from(leftover.as_slice()),
            slab: BytesMut::new(),
            chunk: MIN_CHUNK,
            header: None,
            partial: None,
            max_frame: config.max_frame_size.unwrap_or(usize::MAX),
            max_message: config.max_message_size.unwrap_or(usize::MAX),
            ended: false,
        }
    }

    /// Frees the buffer unless bytes in it wait to be parsed, and what is left of the
    /// slab.
    pub(crate) fn trim(&mut self) {
        if !self.reading_direct() {
            self.slab = BytesMut::new();
        }
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
            self.chunk = MIN_CHUNK;
        }
    }

    /// Whether [`trim`](Self::trim) would free anything.
    pub(crate) fn has_spare_capacity(&self) -> bool {
        (self.slab.capacity() > 0 && !self.reading_direct())
            || (self.buf.is_empty() && (self.buf.capacity() > 0 || self.chunk > MIN_CHUNK))
    }

    /// A large payload is being read into the slab (see [`DIRECT_ABOVE`]).
    fn reading_direct(&self) -> bool {
        self.header.as_ref().is_some_and(|awaited| awaited.direct)
    }

    /// The next message or control frame from `stream`. `None` once an earlier call
    /// returned an error: the end of the stream is one, as without a closing handshake
    /// (the read side ends with the close frame).
    pub(crate) fn poll_next<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        loop {
            let error = match self.parse() {
                Ok(Some(message)) => {
                    if self.buf.is_empty() && self.chunk == MIN_CHUNK {
                        // Not busy, and all read: what a stack read copied goes too.
                        self.buf = BytesMut::new();
                        self.slab = BytesMut::new();
                    }
                    return Poll::Ready(Some(Ok(message)));
                }
                Ok(None) => match ready!(self.poll_fill(stream, cx)) {
                    Ok(0) => Error::Protocol(ProtocolError::ResetWithoutClosingHandshake),
                    Ok(_) => continue,
                    Err(err) => Error::Io(err),
                },
                Err(error) => error,
            };
            self.ended = true;
            return Poll::Ready(Some(Err(error)));
        }
    }

    /// Reads once into the buffer; the number of bytes read, 0 at the end of the stream.
    fn poll_fill<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        let needed = match &self.header {
            Some(awaited) if awaited.direct => return poll_read_into(&mut self.slab, stream, cx),
            Some(awaited) => awaited.len.saturating_sub(self.buf.len()),
            None => 0,
        };
        if self.buf.capacity() == 0 && needed <= MIN_CHUNK {
            // Quiet until now: read through the stack, so that a connection that gets a
            // small message now and then holds no buffer of a chunk's size.
            let mut scratch = [const { MaybeUninit::<u8>::uninit() }; MIN_CHUNK];
            let mut read = ReadBuf::uninit(&mut scratch);
            ready!(Pin::new(stream).poll_read(cx, &mut read))?;
            let filled = read.filled();
            self.buf.extend_from_slice(filled);
            if filled.len() == MIN_CHUNK {
                self.chunk *= 2;
            }
            return Poll::Ready(Ok(filled.len()));
        }
        let want = needed.max(self.chunk);
        if self.buf.capacity() - self.buf.len() < want {
            // The buffer is the reader's alone (payloads leave it as copies): once what
            // was parsed is gone, this reuses its allocation.
            self.buf.reserve(want);
        }
        let offered = self.buf.capacity() - self.buf.len();
        let filled = ready!(poll_read_into(&mut self.buf, stream, cx))?;
        if filled == offered && self.chunk < MAX_CHUNK {
            // Busy: the next read may bring more at once.
            self.chunk *= 2;
        }
        Poll::Ready(Ok(filled))
    }

    /// The next complete message or control frame in the buffer; `None` when more bytes
    /// are needed.
    fn parse(&mut self) -> Result<Option<Message>, Error> {
        loop {
            if self.header.is_none() {
                let mut cursor = Cursor::new(&self.buf[..]);
                let Some((header, len)) = FrameHeader::parse(&mut cursor)? else {
                    return Ok(None);
                };
                let used = usize::try_from(cursor.position()).unwrap_or(usize::MAX);
                self.buf.advance(used.min(self.buf.len()));
                let len = self.check(&header, len)?;
                let direct = len > DIRECT_ABOVE && self.buf.len() < len;
                if direct {
                    // The buffer holds the start of this payload and nothing after it.
                    let mut payload = BytesMut::with_capacity(len);
                    payload.extend_from_slice(&self.buf);
                    self.buf.clear();
                    self.slab = payload;
                }
                self.header = Some(Awaited {
                    header,
                    len,
                    direct,
                });
            }
            let Some(awaited) = &self.header else {
                return Ok(None);
            };
            let (len, direct) = (awaited.len, awaited.direct);
            let have = if direct {
                self.slab.len()
            } else {
                self.buf.len()
            };
            if have < len {
                return Ok(None);
            }
            let Some(Awaited { header, .. }) = self.header.take() else {
                return Ok(None);
            };
            let payload = if direct {
                std::mem::take(&mut self.slab).freeze()
            } else if len <= DETACH_BELOW {
                self.copy_small(len)
            } else {
                let payload = Bytes::copy_from_slice(&self.buf[..len]);
                self.buf.advance(len);
                payload
            };
            if let Some(message) = self.frame(&header, payload)? {
                return Ok(Some(message));
            }
        }
    }

    /// The next `len` (at most [`DETACH_BELOW`]) bytes of the buffer, copied into the
    /// slab.
    fn copy_small(&mut self, len: usize) -> Bytes {
        if len == 0 {
            return Bytes::new();
        }
        if self.slab.capacity() < len {
            // Room for the small payloads the buffer may still hold (their headers
            // count too: it is a bound).
            let room = self.buf.len().clamp(len, SLAB_MAX);
            self.slab = BytesMut::with_capacity(room);
        }
        self.slab.extend_from_slice(&self.buf[..len]);
        self.buf.advance(len);
        self.slab.split().freeze()
    }

    /// Checks a frame's header before its payload is read; its payload length.
    fn check(&self, header: &FrameHeader, len: u64) -> Result<usize, Error> {
        // Compared in u64: a length beyond usize cannot wrap past the limit.
        if len > self.max_frame as u64 {
            return Err(Error::Capacity(CapacityError::MessageTooLong {
                size: usize::try_from(len).unwrap_or(usize::MAX),
                max_size: self.max_frame,
            }));
        }
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Err(Error::Protocol(ProtocolError::NonZeroReservedBits));
        }
        if header.mask.is_some() {
            return Err(Error::Protocol(ProtocolError::MaskedFrameFromServer));
        }
        match header.opcode {
            OpCode::Control(_) if !header.is_final => {
                Err(Error::Protocol(ProtocolError::FragmentedControlFrame))
            }
            OpCode::Control(_) if len > CONTROL_MAX => {
                Err(Error::Protocol(ProtocolError::ControlFrameTooBig))
            }
            OpCode::Control(Control::Reserved(code)) => Err(Error::Protocol(
                ProtocolError::UnknownControlFrameType(code),
            )),
            OpCode::Control(_) => Ok(len),
            OpCode::Data(Data::Reserved(code)) => {
                Err(Error::Protocol(ProtocolError::UnknownDataFrameType(code)))
            }
            OpCode::Data(Data::Continue) => match &self.partial {
                None => Err(Error::Protocol(ProtocolError::UnexpectedContinueFrame)),
                Some(partial) => self.check_size(partial.data.len(), len),
            },
            OpCode::Data(data) if self.partial.is_some() => {
                Err(Error::Protocol(ProtocolError::ExpectedFragment(data)))
            }
            OpCode::Data(_) => self.check_size(0, len),
        }
    }

    /// `len` more bytes on a message of `so_far` bytes stay within the message limit.
    fn check_size(&self, so_far: usize, len: usize) -> Result<usize, Error> {
        if so_far > self.max_message || len > self.max_message - so_far {
            return Err(Error::Capacity(CapacityError::MessageTooLong {
                size: so_far.saturating_add(len),
                max_size: self.max_message,
            }));
        }
        Ok(len)
    }

    /// A frame whose header passed [`check`](Self::check), with its payload: the
    /// message or control frame it completes, `None` for a fragment that does not.
    fn frame(&mut self, header: &FrameHeader, payload: Bytes) -> Result<Option<Message>, Error> {
        let message = match header.opcode {
            OpCode::Control(Control::Close) => Message::Close(close_frame(payload)?),
            OpCode::Control(Control::Ping) => Message::Ping(payload),
            OpCode::Control(Control::Pong) => Message::Pong(payload),
            OpCode::Data(Data::Continue) => {
                let Some(partial) = self.partial.as_mut() else {
                    return Err(Error::Protocol(ProtocolError::UnexpectedContinueFrame));
                };
                partial.data.extend_from_slice(&payload);
                partial.check_text()?;
                if !header.is_final {
                    return Ok(None);
                }
                let Some(partial) = self.partial.take() else {
                    return Ok(None);
                };
                partial.complete()?
            }
            OpCode::Data(data) if !header.is_final => {
                let partial = Partial {
                    text: data == Data::Text,
                    data: payload.to_vec(),
                    valid: 0,
                };
                self.partial = Some(partial);
                if let Some(partial) = self.partial.as_mut() {
                    partial.check_text()?;
                }
                return Ok(None);
            }
            OpCode::Data(Data::Text) => Message::Text(Utf8Bytes::try_from(payload)?),
            OpCode::Data(_) => Message::Binary(payload),
            OpCode::Control(Control::Reserved(code)) => {
                return Err(Error::Protocol(ProtocolError::UnknownControlFrameType(
                    code,
                )));
            }
        };
        Ok(Some(message))
    }
}

/// Reads once from `stream` into `buf`'s spare capacity; the number of bytes read.
fn poll_read_into<S: AsyncRead + Unpin>(
    buf: &mut BytesMut,
    stream: &mut S,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    let mut read = ReadBuf::uninit(buf.spare_capacity_mut());
    ready!(Pin::new(stream).poll_read(cx, &mut read))?;
    let filled = read.filled().len();
    // SAFETY: `ReadBuf` counts as filled only bytes the stream wrote, and those are the
    // first `filled` bytes of the spare capacity, right after the buffer's end.
    #[allow(unsafe_code)]
    unsafe {
        buf.set_len(buf.len() + filled);
    }
    Poll::Ready(Ok(filled))
}

impl Partial {
    /// For text, fails as soon as the bytes so far cannot begin valid UTF-8 (a
    /// sequence cut at the end may still be completed by the next fragment).
    fn check_text(&mut self) -> Result<(), Error> {
        if !self.text {
            return Ok(());
        }
        match std::str::from_utf8(&self.data[self.valid..]) {
            Ok(_) => self.valid = self.data.len(),
            Err(err) if err.error_len().is_none() => self.valid += err.valid_up_to(),
            Err(err) => return Err(Error::Utf8(err.to_string())),
        }
        Ok(())
    }

    fn complete(self) -> Result<Message, Error> {
        let data = Bytes::from(self.data);
        if self.text {
            Ok(Message::Text(Utf8Bytes::try_from(data)?))
        } else {
            Ok(Message::Binary(data))
        }
    }
}

/// A close frame's payload: nothing, or a code and a UTF-8 reason. A code a peer may
/// not send is reported (and answered) as a protocol error, as tungstenite does.
fn close_frame(payload: Bytes) -> Result<Option<CloseFrame>, Error> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(Error::Protocol(ProtocolError::InvalidCloseSequence)),
        _ => {
            let code = CloseCode::from(u16::from_be_bytes([payload[0], payload[1]]));
            let reason = Utf8Bytes::try_from(payload.slice(2..))?;
            if code.is_allowed() {
                Ok(Some(CloseFrame { code, reason }))
            } else {
                Ok(Some(CloseFrame {
                    code: CloseCode::Protocol,
                    reason: Utf8Bytes::from_static("Protocol violation"),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// One unmasked frame as a server sends it.
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        match payload.len() {
            len @ 0..=125 => out.push(len as u8),
            len @ 126..=0xFFFF => {
                out.push(126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
        out
    }

    fn reader() -> Reader {
        Reader::new(Vec::new(), &WebSocketConfig::default())
    }

    /// Every frame `bytes` holds, read in one go, then what ended the stream.
    async fn read_all(mut reader: Reader, bytes: &[u8]) -> (Vec<Message>, Option<Error>) {
        let mut stream = bytes;
        let mut out = Vec::new();
        loop {
            match std::future::poll_fn(|cx| reader.poll_next(&mut stream, cx)).await {
                Some(Ok(message)) => out.push(message),
                Some(Err(error)) => {
                    let after = std::future::poll_fn(|cx| reader.poll_next(&mut stream, cx)).await;
                    assert!(after.is_none(), "nothing is read after an error");
                    return (out, Some(error));
                }
                None => return (out, None),
            }
        }
    }

    fn protocol(error: Option<Error>) -> ProtocolError {
        match error {
            Some(Error::Protocol(error)) => error,
            other => panic!("expected a protocol error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn every_kind_of_frame_is_read_and_the_end_is_a_reset() {
        let mut bytes = frame(true, 0x1, "José ✓".as_bytes());
        bytes.extend(frame(true, 0x2, &[0, 1, 2]));
        bytes.extend(frame(true, 0x9, b"ping"));
        bytes.extend(frame(true, 0xA, b"pong"));
        bytes.extend(frame(true, 0x2, &vec![7u8; 70_000]));
        let mut close = 4000u16.to_be_bytes().to_vec();
        close.extend_from_slice(b"bye");
        bytes.extend(frame(true, 0x8, &close));
        // The first frame's start came with the handshake.
        let leftover = bytes[..3].to_vec();
        let reader = Reader::new(leftover, &WebSocketConfig::default());
        let (messages, end) = read_all(reader, &bytes[3..]).await;
        assert_eq!(messages.len(), 6);
        assert!(matches!(&messages[0], Message::Text(t) if t.as_str() == "José ✓"));
        assert!(matches!(&messages[1], Message::Binary(b) if b[..] == [0, 1, 2]));
        assert!(matches!(&messages[2], Message::Ping(p) if &p[..] == b"ping"));
        assert!(matches!(&messages[3], Message::Pong(p) if &p[..] == b"pong"));
        assert!(
            matches!(&messages[4], Message::Binary(b) if b.len() == 70_000 && b.iter().all(|&x| x == 7))
        );
        assert!(matches!(
            &messages[5],
            Message::Close(Some(CloseFrame { code: CloseCode::Library(4000), reason })) if reason.as_str() == "bye"
        ));
        assert_eq!(protocol(end), ProtocolError::ResetWithoutClosingHandshake);
    }

    #[tokio::test]
    async fn fragments_make_one_message_and_bad_text_fails_before_the_last() {
        // "é" is split across the two fragments.
        let text = "a é b".as_bytes();
        let mut bytes = frame(false, 0x1, &text[..3]);
        bytes.extend(frame(true, 0x9, b"between"));
        bytes.extend(frame(true, 0x0, &text[3..]));
        bytes.extend(frame(false, 0x2, b"bin"));
        bytes.extend(frame(true, 0x0, b"ary"));
        let (messages, _) = read_all(reader(), &bytes).await;
        assert!(
            matches!(&messages[0], Message::Ping(_)),
            "a control frame may come between fragments"
        );
        assert!(matches!(&messages[1], Message::Text(t) if t.as_str() == "a é b"));
        assert!(matches!(&messages[2], Message::Binary(b) if &b[..] == b"binary"));

        let mut bad = frame(false, 0x1, &[b'o', b'k', 0xFF]);
        bad.extend(frame(false, 0x0, b"never read"));
        let (messages, end) = read_all(reader(), &bad[..bad.len() - 4]).await;
        assert!(messages.is_empty());
        assert!(
            matches!(end, Some(Error::Utf8(_))),
            "fails at the first fragment: {end:?}"
        );

        let (_, end) = read_all(reader(), &frame(true, 0x1, &[0xC3])).await;
        assert!(matches!(end, Some(Error::Utf8(_))));
    }

    #[tokio::test]
    async fn protocol_violations_are_tungstenites_errors() {
        let masked = {
            let mut f = frame(true, 0x1, b"");
            f[1] |= 0x80;
            f.extend_from_slice(&[1, 2, 3, 4]);
            f
        };
        let rsv = {
            let mut f = frame(true, 0x1, b"x");
            f[0] |= 0x40;
            f
        };
        let cases: Vec<(Vec<u8>, ProtocolError)> = vec![
            (masked, ProtocolError::MaskedFrameFromServer),
            (rsv, ProtocolError::NonZeroReservedBits),
            (
                frame(false, 0x9, b""),
                ProtocolError::FragmentedControlFrame,
            ),
            (
                frame(true, 0x9, &[0; 126]),
                ProtocolError::ControlFrameTooBig,
            ),
            (frame(true, 0xB, b""), ProtocolError::InvalidOpcode(11)),
            (frame(true, 0x3, b""), ProtocolError::InvalidOpcode(3)),
            (
                frame(true, 0x0, b"x"),
                ProtocolError::UnexpectedContinueFrame,
            ),
            (
                [frame(false, 0x1, b"a"), frame(true, 0x2, b"b")].concat(),
                ProtocolError::ExpectedFragment(Data::Binary),
            ),
            (frame(true, 0x8, &[3]), ProtocolError::InvalidCloseSequence),
        ];
        for (bytes, expected) in cases {
            let (_, end) = read_all(reader(), &bytes).await;
            assert_eq!(protocol(end), expected);
        }
        let mut bad_reason = 1000u16.to_be_bytes().to_vec();
        bad_reason.push(0xFF);
        let (_, end) = read_all(reader(), &frame(true, 0x8, &bad_reason)).await;
        assert!(matches!(end, Some(Error::Utf8(_))));
        // A code a peer may not send (1005) is answered as a protocol error.
        let (messages, _) = read_all(reader(), &frame(true, 0x8, &1005u16.to_be_bytes())).await;
        assert!(matches!(
            &messages[0],
            Message::Close(Some(CloseFrame {
                code: CloseCode::Protocol,
                ..
            }))
        ));
    }

    #[tokio::test]
    async fn limits_hold_before_the_payload_arrives_and_across_fragments() {
        let config = WebSocketConfig::default()
            .max_frame_size(Some(100))
            .max_message_size(Some(150));
        // Only the header of a frame over the limit: refused without waiting.
        let header = &frame(true, 0x2, &[0; 101])[..2];
        let (_, end) = read_all(Reader::new(Vec::new(), &config), header).await;
        assert!(matches!(
            end,
            Some(Error::Capacity(CapacityError::MessageTooLong {
                max_size: 100,
                ..
            }))
        ));
        let fragments = [frame(false, 0x2, &[0; 100]), frame(true, 0x0, &[0; 51])].concat();
        let (_, end) = read_all(Reader::new(Vec::new(), &config), &fragments).await;
        assert!(matches!(
            end,
            Some(Error::Capacity(CapacityError::MessageTooLong {
                size: 151,
                max_size: 150
            }))
        ));
        let within = [frame(false, 0x2, &[0; 100]), frame(true, 0x0, &[0; 50])].concat();
        let (messages, _) = read_all(Reader::new(Vec::new(), &config), &within).await;
        assert!(matches!(&messages[0], Message::Binary(b) if b.len() == 150));
    }

    /// Every message `reader` reads from `stream` before it would wait.
    fn ready_messages(reader: &mut Reader, stream: &mut Pieces<'_>) -> Vec<Message> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut messages = Vec::new();
        while let Poll::Ready(Some(message)) = reader.poll_next(stream, &mut cx) {
            messages.push(message.unwrap());
        }
        messages
    }

    #[tokio::test]
    async fn the_buffer_grows_under_load_takes_a_large_payload_whole_and_is_freed_after() {
        let large = vec![9u8; 1 << 20];
        let mut bytes = frame(true, 0x2, &large);
        for i in 0..2_000u32 {
            bytes.extend(frame(true, 0x1, format!("{i:060}").as_bytes()));
        }
        let mut stream = Pieces::waiting_after(&bytes);
        let mut reader = reader();
        let mut messages = ready_messages(&mut reader, &mut stream);
        assert_eq!(messages.len(), 2_001);
        assert!(matches!(&messages[0], Message::Binary(b) if b[..] == large[..]));
        // The 1 MiB payload: one read for the header's chunk, one for the rest; then
        // 2,000 small frames (128 KB) in reads of a growing chunk.
        assert!(stream.reads <= 10, "{} reads", stream.reads);
        assert!(reader.chunk == MAX_CHUNK, "grew under load");
        assert!(
            reader.buf.capacity() < large.len() / 2,
            "the large payload went straight to its own allocation: {} B of buffer",
            reader.buf.capacity()
        );
        // Small payloads are copies, laid end to end in slabs they share: one
        // allocation per slab, not per message, and none keeps the read buffer alive.
        let mut slabs: Vec<(usize, usize)> = Vec::new();
        for (i, message) in messages.drain(1..).enumerate() {
            let Message::Text(text) = message else {
                panic!("text")
            };
            assert_eq!(text.as_str(), format!("{i:060}"));
            let at = text.as_str().as_ptr() as usize;
            match slabs.last_mut() {
                Some((start, end)) if *end == at => *end = at + 60,
                _ => slabs.push((at, at + 60)),
            }
        }
        assert!(
            (120_000 / SLAB_MAX..=40).contains(&slabs.len()),
            "{} slabs for 2,000 small payloads",
            slabs.len()
        );
        assert!(slabs.iter().all(|(start, end)| end - start <= SLAB_MAX));
        drop(messages);
        assert!(reader.has_spare_capacity());
        reader.trim();
        assert_eq!(reader.buf.capacity(), 0, "trim frees the buffer");
        assert_eq!(reader.chunk, MIN_CHUNK, "and the chunk starts small again");
        assert!(!reader.has_spare_capacity());
        // It reads on after a trim.
        let more = frame(true, 0x1, b"after");
        let mut stream = Pieces::waiting_after(&more);
        let message = std::future::poll_fn(|cx| reader.poll_next(&mut stream, cx)).await;
        assert!(matches!(message, Some(Ok(Message::Text(t))) if t.as_str() == "after"));
    }

    #[tokio::test]
    async fn kept_payloads_leave_the_read_buffer_to_the_reader() {
        // 16 KiB payloads, read 128 KiB at a time once the chunk has grown, all of
        // them kept: none shares the read buffer, which each read reuses.
        let mut bytes = Vec::new();
        for i in 0..64u8 {
            bytes.extend(frame(true, 0x2, &[i; 16 * 1024]));
        }
        let mut stream = Pieces::waiting_after(&bytes);
        let mut reader = reader();
        let kept = ready_messages(&mut reader, &mut stream);
        assert_eq!(kept.len(), 64);
        for (i, message) in kept.iter().enumerate() {
            let Message::Binary(b) = message else {
                panic!("unexpected {message:?}");
            };
            assert!(b[..] == [i as u8; 16 * 1024][..]);
            assert!(b.is_unique(), "message {i} shares its allocation");
        }
        assert_eq!(reader.chunk, MAX_CHUNK, "grew under load");
        assert!(reader.buf.is_empty());
        assert!(
            reader.buf.try_reclaim(MAX_CHUNK),
            "the read buffer is the reader's alone, whole again once parsed"
        );
    }

    #[tokio::test]
    async fn a_kept_small_message_holds_its_slab_only_and_a_trim_frees_the_rest() {
        let mut bytes = Vec::new();
        for i in 0..100u32 {
            bytes.extend(frame(true, 0x2, &[i as u8; 100]));
        }
        let mut stream = Pieces::waiting_after(&bytes);
        let mut reader = reader();
        let payloads: Vec<Bytes> = ready_messages(&mut reader, &mut stream)
            .into_iter()
            .map(|message| match message {
                Message::Binary(payload) => payload,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(payloads.len(), 100);
        assert_eq!(
            payloads[0].as_ptr() as usize + 100,
            payloads[1].as_ptr() as usize,
            "the first two share a slab"
        );
        let first = payloads[0].clone();
        drop(payloads);
        assert!(reader.has_spare_capacity());
        reader.trim();
        assert_eq!(reader.slab.capacity(), 0, "the slab's rest is freed");
        assert!(!reader.has_spare_capacity());
        assert_eq!(&first[..], &[0u8; 100][..], "the kept message is intact");
    }

    #[tokio::test]
    async fn a_quiet_connection_keeps_no_buffer_after_a_small_message() {
        let (mut server, mut client) = tokio::io::duplex(1024);
        let mut reader = reader();
        for text in ["greeting", "later"] {
            server
                .write_all(&frame(true, 0x1, text.as_bytes()))
                .await
                .unwrap();
            let message = std::future::poll_fn(|cx| reader.poll_next(&mut client, cx)).await;
            assert!(matches!(message, Some(Ok(Message::Text(t))) if t.as_str() == text));
            assert_eq!(reader.buf.capacity(), 0, "nothing kept after {text:?}");
            assert!(!reader.has_spare_capacity(), "no trim needed");
        }
    }

    #[tokio::test]
    async fn a_trim_keeps_bytes_that_wait() {
        let (mut server, mut client) = tokio::io::duplex(1024);
        let whole = frame(true, 0x1, b"split across reads");
        server.write_all(&whole[..5]).await.unwrap();
        let mut reader = reader();
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(reader.poll_next(&mut client, &mut cx).is_pending());
        reader.trim();
        server.write_all(&whole[5..]).await.unwrap();
        let message = std::future::poll_fn(|cx| reader.poll_next(&mut client, cx)).await;
        assert!(
            matches!(message, Some(Ok(Message::Text(t))) if t.as_str() == "split across reads")
        );
    }

    /// Serves its bytes in the given read sizes (then as much as it is offered), counts
    /// its reads, and at the end reports the end of the stream or, for
    /// [`waiting_after`](Self::waiting_after), that nothing is ready yet.
    struct Pieces<'a> {
        bytes: &'a [u8],
        sizes: Vec<usize>,
        reads: usize,
        end_pending: bool,
    }

    impl<'a> Pieces<'a> {
        fn new(bytes: &'a [u8], sizes: Vec<usize>) -> Self {
            Pieces {
                bytes,
                sizes,
                reads: 0,
                end_pending: false,
            }
        }

        fn waiting_after(bytes: &'a [u8]) -> Self {
            Pieces {
                end_pending: true,
                ..Pieces::new(bytes, Vec::new())
            }
        }
    }

    impl AsyncRead for Pieces<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let size = if self.sizes.is_empty() {
                usize::MAX
            } else {
                self.sizes.remove(0)
            };
            let n = size.max(1).min(buf.remaining()).min(self.bytes.len());
            let (now, rest) = self.bytes.split_at(n);
            buf.put_slice(now);
            self.bytes = rest;
            self.reads += 1;
            if n == 0 && self.end_pending {
                Poll::Pending
            } else {
                Poll::Ready(Ok(()))
            }
        }
    }

    /// Everything `stream` yields until it ends, the error that ended it as text.
    fn drain(reader: &mut Reader, stream: &mut Pieces<'_>) -> (Vec<Message>, String) {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut out = Vec::new();
        // Each call reads at least one byte or ends: bounded by the input's length.
        for _ in 0..=stream.bytes.len() + 1 {
            match reader.poll_next(stream, &mut cx) {
                Poll::Ready(Some(Ok(message))) => out.push(message),
                Poll::Ready(Some(Err(error))) => return (out, error.to_string()),
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        (out, "not ended".to_owned())
    }

    /// The binary payloads a reader makes of `bytes` read in pieces of `sizes`, and how
    /// the stream ended.
    fn binaries_read_in(bytes: &[u8], sizes: Vec<usize>) -> (Vec<Vec<u8>>, String) {
        let mut stream = Pieces::new(bytes, sizes);
        let (messages, end) = drain(&mut reader(), &mut stream);
        let got = messages
            .into_iter()
            .map(|m| match m {
                Message::Binary(b) => b.to_vec(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        (got, end)
    }

    proptest::proptest! {
        /// However the bytes are split into reads, the same frames come out, and the
        /// end of the stream is a reset.
        #[test]
        fn any_split_of_valid_frames_reads_the_same(
            payloads in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..3000), 1..12),
            sizes in proptest::collection::vec(1usize..5000, 0..40),
        ) {
            let bytes: Vec<u8> = payloads.iter().flat_map(|p| frame(true, 0x2, p)).collect();
            let (got, end) = binaries_read_in(&bytes, sizes);
            proptest::prop_assert_eq!(got, payloads);
            proptest::prop_assert_eq!(
                end,
                Error::Protocol(ProtocolError::ResetWithoutClosingHandshake).to_string()
            );
        }

        /// Large payloads (read straight into their own allocation) and small ones
        /// mixed, split at random: the same frames come out.
        #[test]
        fn any_split_of_large_and_small_frames_reads_the_same(
            lens in proptest::collection::vec(proptest::sample::select(vec![0usize, 3, 600, DIRECT_ABOVE, DIRECT_ABOVE + 1, 200_000]), 1..6),
            sizes in proptest::collection::vec(1usize..100_000, 0..20),
        ) {
            let payloads: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, len)| (0..*len).map(|j| (i * 31 + j) as u8).collect()).collect();
            let bytes: Vec<u8> = payloads.iter().flat_map(|p| frame(true, 0x2, p)).collect();
            let (got, end) = binaries_read_in(&bytes, sizes);
            proptest::prop_assert_eq!(got, payloads);
            proptest::prop_assert_eq!(
                end,
                Error::Protocol(ProtocolError::ResetWithoutClosingHandshake).to_string()
            );
        }

        /// Arbitrary bytes never panic the reader, and it stops at the first error.
        #[test]
        fn arbitrary_bytes_end_in_an_error_without_a_panic(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4000),
            sizes in proptest::collection::vec(1usize..600, 0..20),
        ) {
            let config = WebSocketConfig::default().max_frame_size(Some(1 << 16)).max_message_size(Some(1 << 17));
            let mut reader = Reader::new(Vec::new(), &config);
            let mut stream = Pieces::new(&bytes, sizes);
            let (_, end) = drain(&mut reader, &mut stream);
            proptest::prop_assert_ne!(end, "not ended");
            let waker = std::task::Waker::noop();
            let mut cx = Context::from_waker(waker);
            proptest::prop_assert!(matches!(reader.poll_next(&mut stream, &mut cx), Poll::Ready(None)));
        }
    }
}
