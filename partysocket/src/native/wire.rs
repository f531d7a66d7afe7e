//! The byte stream under the WebSocket: a read-ahead that costs nothing while idle,
//! and a count of bytes written so the driver can tell a slow write from a dead one.
//!
//! tungstenite reads into a buffer it keeps for the connection's lifetime, sized by
//! its `read_buffer_size`: large buffers make every idle socket expensive, small ones
//! make a large message cost many system calls. Here tungstenite keeps a small buffer
//! and each system call reads up to [`READ_AHEAD`] bytes into a stack array; what
//! tungstenite does not take at once is kept in a heap buffer that is freed as soon as
//! it has been consumed. An idle connection holds no read-ahead at all.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The most one read system call takes from the socket.
const READ_AHEAD: usize = 64 * 1024;

/// A stream with read-ahead and a written-bytes counter.
#[derive(Debug)]
pub(crate) struct Wire<S> {
    inner: S,
    /// Bytes read from the socket and not yet consumed, from `consumed` on. Empty, with
    /// no allocation, whenever everything has been consumed.
    ahead: Vec<u8>,
    consumed: usize,
    written: u64,
}

impl<S> Wire<S> {
    pub(crate) fn new(inner: S) -> Self {
        Wire {
            inner,
            ahead: Vec::new(),
            consumed: 0,
            written: 0,
        }
    }

    /// Bytes handed to the operating system so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// Copies read-ahead bytes into `buf`; frees the read-ahead once consumed.
    fn take_ahead(&mut self, buf: &mut ReadBuf<'_>) {
        let available = &self.ahead[self.consumed..];
        let n = available.len().min(buf.remaining());
        buf.put_slice(&available[..n]);
        self.consumed += n;
        if self.consumed == self.ahead.len() {
            self.ahead = Vec::new();
            self.consumed = 0;
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Wire<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.consumed < this.ahead.len() {
            this.take_ahead(buf);
            return Poll::Ready(Ok(()));
        }
        if buf.remaining() >= READ_AHEAD {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let mut scratch = [const { MaybeUninit::<u8>::uninit() }; READ_AHEAD];
        let mut chunk = ReadBuf::uninit(&mut scratch);
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut chunk))?;
        let read = chunk.filled();
        let direct = read.len().min(buf.remaining());
        buf.put_slice(&read[..direct]);
        if direct < read.len() {
            this.ahead = read[direct..].to_vec();
            this.consumed = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Wire<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        this.written += n as u64;
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
        this.written += n as u64;
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_take_from_one_large_read_and_free_it() {
        let (mut server, client) = tokio::io::duplex(256 * 1024);
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        server.write_all(&payload).await.unwrap();
        let mut wire = Wire::new(client);
        let mut got = Vec::new();
        let mut small = [0u8; 1000];
        let mut saw_read_ahead = false;
        while got.len() < payload.len() {
            let n = wire.read(&mut small).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&small[..n]);
            if wire.ahead.is_empty() {
                assert_eq!(wire.ahead.capacity(), 0, "a consumed read-ahead is freed");
            } else {
                saw_read_ahead = true;
            }
        }
        assert_eq!(got, payload);
        assert!(
            saw_read_ahead,
            "one read took more than the caller asked for"
        );
        assert_eq!(wire.ahead.capacity(), 0);
    }

    #[tokio::test]
    async fn writes_are_counted() {
        let (server, client) = tokio::io::duplex(1024);
        let mut wire = Wire::new(client);
        wire.write_all(b"hello").await.unwrap();
        assert_eq!(wire.written(), 5);
        drop(server);
    }
}

/// The byte stream of one connection: plain TCP, or TLS over it. The TLS state is
/// boxed so that plain connections do not carry its size.
#[derive(Debug)]
pub(crate) enum Stream {
    Plain(Wire<TcpStream>),
    Tls(Box<TlsStream<Wire<TcpStream>>>),
}

impl Stream {
    /// Bytes handed to the operating system so far (TLS records included).
    pub(crate) fn written(&self) -> u64 {
        match self {
            Stream::Plain(wire) => wire.written(),
            Stream::Tls(tls) => tls.get_ref().0.written(),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(wire) => Pin::new(wire).poll_read(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(wire) => Pin::new(wire).poll_write(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(wire) => Pin::new(wire).poll_write_vectored(cx, bufs),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(wire) => wire.is_write_vectored(),
            Stream::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(wire) => Pin::new(wire).poll_flush(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(wire) => Pin::new(wire).poll_shutdown(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}
