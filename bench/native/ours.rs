//! Every use of our handle, in one place, so the bench follows changes of the driver's
//! API in a few lines.
//!
//! Messages are built only with `Message::from` and read only with `len()`, so the
//! bench does not depend on how `Message` stores its payload.

use futures_util::SinkExt;
use partysocket::{Event, Events, Message, PartySocket, PartySocketOptions, TlsConfig};

/// The sending half: a clone of our handle.
#[derive(Clone)]
pub(crate) struct OurSocket(PartySocket);

/// The receiving half: our event stream.
pub(crate) struct OurEvents(Events);

/// Starts a socket without waiting for it to open.
pub(crate) fn start(options: PartySocketOptions) -> Result<(OurSocket, OurEvents), String> {
    let (socket, events) =
        PartySocket::connect(options).map_err(|err| format!("connect: {err}"))?;
    Ok((OurSocket(socket), OurEvents(events)))
}

/// Starts a socket and waits until it is open (not bounded here: callers wrap it in a
/// timeout).
pub(crate) async fn open(options: PartySocketOptions) -> Result<(OurSocket, OurEvents), String> {
    let (socket, events) = start(options)?;
    socket.opened().await?;
    Ok((socket, events))
}

/// Like [`open`], with the given TLS configuration.
pub(crate) async fn open_with(
    options: PartySocketOptions,
    tls: TlsConfig,
) -> Result<(OurSocket, OurEvents), String> {
    let (socket, events) =
        PartySocket::connect_with(options, tls).map_err(|err| format!("connect: {err}"))?;
    let (socket, events) = (OurSocket(socket), OurEvents(events));
    socket.opened().await?;
    Ok((socket, events))
}

impl OurSocket {
    /// Hands `message` to the socket; an outcome other than sent or queued is an error.
    pub(crate) async fn send(&self, message: Message) -> Result<(), String> {
        let outcome = self.0.send(message).map_err(|err| format!("send: {err}"))?;
        if outcome.is_accepted() {
            Ok(())
        } else {
            Err(format!("send: {outcome:?}"))
        }
    }

    /// Hands `message` to the socket through its `Sink`: waits first while the
    /// connection has not taken what came before (as a tokio-tungstenite writer waits).
    pub(crate) async fn feed(&mut self, message: Message) -> Result<(), String> {
        SinkExt::feed(&mut self.0, message)
            .await
            .map_err(|err| format!("send: {err}"))
    }

    /// Waits until the connection has taken everything handed to it.
    pub(crate) async fn flush(&mut self) -> Result<(), String> {
        SinkExt::flush(&mut self.0)
            .await
            .map_err(|err| format!("flush: {err}"))
    }

    /// Waits until the connection is open (or the socket stops).
    pub(crate) async fn opened(&self) -> Result<(), String> {
        self.0.opened().await.map_err(|err| format!("open: {err}"))
    }

    /// Closes the socket; does not wait for the closing handshake.
    pub(crate) async fn close(&self) {
        let _ = self.0.close();
    }
}

impl OurEvents {
    /// The next event, `None` when the socket's task has ended.
    async fn next_event(&mut self) -> Option<Event> {
        self.0.recv().await
    }

    /// The next message, skipping other events; `None` when the socket's task has ended.
    pub(crate) async fn message(&mut self) -> Option<Message> {
        loop {
            if let Event::Message(message) = self.next_event().await? {
                return Some(message);
            }
        }
    }

    /// Waits for the next `Open` event, skipping others (messages included); `None`
    /// when the socket's task has ended.
    pub(crate) async fn opened(&mut self) -> Option<()> {
        loop {
            if let Event::Open { .. } = self.next_event().await? {
                return Some(());
            }
        }
    }
}
