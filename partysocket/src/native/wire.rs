//! The byte stream under the WebSocket: a read-ahead that costs nothing while idle,
//! and a count of bytes written so the driver can tell a slow write from a dead one.
//!
//! Whoever reads above it (the [`Reader`](super::reader::Reader) on a plain
//! connection, rustls on a TLS one) may ask for less than the socket holds: each system
//! call here reads up to [`READ_AHEAD`] bytes, and a read that brings more than was
//! asked for (the connection is busy) moves the rest into a heap read-ahead buffer,
//! which is then kept, and read into directly, while the connection stays busy (no
//! allocation per read); the driver frees it with [`Wire::trim`] once the connection
//! has been quiet. A read that asks for [`READ_AHEAD`] or more goes straight to the
//! socket. Reads that fit, the greeting of an idle connection among them, go through a
//! stack array: an idle connection holds no read-ahead.

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
    /// The read-ahead buffer: `READ_AHEAD` bytes once a read overflowed, empty before
    /// and after a [`trim`](Self::trim). Bytes `consumed..filled` wait to be read.
    ahead: Vec<u8>,
    consumed: usize,
    filled: usize,
    written: u64,
}

impl<S> Wire<S> {
    pub(crate) fn new(inner: S) -> Self {
        Wire {
            inner,
            ahead: Vec::new(),
            consumed: 0,
            filled: 0,
            written: 0,
        }
    }

    /// Bytes handed to the operating system so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// Frees the read-ahead buffer unless bytes in it wait to be read.
    pub(crate) fn trim(&mut self) {
        if self.consumed == self.filled {
            self.ahead = Vec::new();
            self.consumed = 0;
            self.filled = 0;
        }
    }

    /// Whether [`trim`](Self::trim) would free anything.
    pub(crate) fn has_spare_capacity(&self) -> bool {
        !self.ahead.is_empty() && self.consumed == self.filled
    }

    /// Copies read-ahead bytes into `buf`.
    fn take_ahead(&mut self, buf: &mut ReadBuf<'_>) {
        let available = &self.ahead[self.consumed..self.filled];
        let n = available.len().min(buf.remaining());
        buf.put_slice(&available[..n]);
        self.consumed += n;
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Wire<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.consumed < this.filled {
            this.take_ahead(buf);
            return Poll::Ready(Ok(()));
        }
        if buf.remaining() >= READ_AHEAD {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        if !this.ahead.is_empty() {
            // Busy: read straight into the kept buffer.
            let mut chunk = ReadBuf::new(&mut this.ahead);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut chunk))?;
            this.filled = chunk.filled().len();
            this.consumed = 0;
            this.take_ahead(buf);
            return Poll::Ready(Ok(()));
        }
        let mut scratch = [const { MaybeUninit::<u8>::uninit() }; READ_AHEAD];
        let mut chunk = ReadBuf::uninit(&mut scratch);
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut chunk))?;
        let read = chunk.filled();
        let direct = read.len().min(buf.remaining());
        buf.put_slice(&read[..direct]);
        if direct < read.len() {
            let rest = &read[direct..];
            this.ahead = vec![0; READ_AHEAD];
            this.ahead[..rest.len()].copy_from_slice(rest);
            this.filled = rest.len();
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
    async fn small_reads_take_from_one_large_read_and_trim_frees_it() {
        let (mut server, client) = tokio::io::duplex(256 * 1024);
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        server.write_all(&payload).await.unwrap();
        let mut wire = Wire::new(client);
        assert!(
            !wire.has_spare_capacity(),
            "nothing is allocated before a read"
        );
        let mut got = Vec::new();
        let mut small = [0u8; 1000];
        let mut saw_read_ahead = false;
        let mut allocations = std::collections::HashSet::new();
        while got.len() < payload.len() {
            let n = wire.read(&mut small).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&small[..n]);
            saw_read_ahead |= wire.consumed < wire.filled;
            allocations.insert(wire.ahead.as_ptr());
            if got.len() == n {
                // Trimming while bytes wait frees nothing and loses nothing.
                assert!(wire.consumed < wire.filled);
                wire.trim();
                assert!(!wire.ahead.is_empty());
            }
        }
        assert_eq!(got, payload);
        assert!(
            saw_read_ahead,
            "one read took more than the caller asked for"
        );
        assert_eq!(
            allocations.len(),
            1,
            "the read-ahead is kept across reads, not allocated per read"
        );
        assert!(
            wire.has_spare_capacity(),
            "kept while the connection is busy"
        );
        wire.trim();
        assert_eq!(wire.ahead.capacity(), 0, "trim frees a consumed read-ahead");
        assert!(!wire.has_spare_capacity());
        server.write_all(b"after").await.unwrap();
        let n = wire.read(&mut small).await.unwrap();
        assert_eq!(&small[..n], b"after", "reads go on after a trim");
    }

    #[tokio::test]
    async fn a_read_that_fits_keeps_no_read_ahead() {
        let (mut server, client) = tokio::io::duplex(1024);
        server.write_all(b"a greeting").await.unwrap();
        let mut wire = Wire::new(client);
        let mut buf = [0u8; 1000];
        let n = wire.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"a greeting");
        assert_eq!(
            wire.ahead.capacity(),
            0,
            "an idle connection holds no read-ahead"
        );
        assert!(!wire.has_spare_capacity());
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
        self.wire().written()
    }

    /// See [`Wire::trim`].
    pub(crate) fn trim(&mut self) {
        match self {
            Stream::Plain(wire) => wire.trim(),
            Stream::Tls(tls) => tls.get_mut().0.trim(),
        }
    }

    /// See [`Wire::has_spare_capacity`].
    pub(crate) fn has_spare_capacity(&self) -> bool {
        self.wire().has_spare_capacity()
    }

    fn wire(&self) -> &Wire<TcpStream> {
        match self {
            Stream::Plain(wire) => wire,
            Stream::Tls(tls) => tls.get_ref().0,
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
