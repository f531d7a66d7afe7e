//! The TCP connection, opened as browsers open it: every resolved address raced with
//! a head start for the earlier ones (RFC 8305, "Happy Eyeballs"), so an address
//! family that is black-holed costs a quarter second, not the whole connection
//! timeout. The connection timeout itself bounds the race from outside.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::net::TcpStream;

use crate::{Cause, TransportError};

/// How long an attempt runs alone before the next address starts (RFC 8305 §5).
pub(crate) const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Resolves `host` and connects to `port` on the first address that answers.
///
/// # Errors
///
/// [`TransportError::Network`] naming `host:port`: when the name does not resolve, or
/// when every address refused or failed (the last failure is the cause).
pub(crate) async fn dial(host: &str, port: u16) -> Result<TcpStream, TransportError> {
    let target = target(host, port);
    let network =
        |context: String, err: io::Error| TransportError::Network(Cause::new(err).context(context));
    let addresses: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|err| network(format!("cannot resolve {target}"), err))?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(TransportError::Network(Cause::from(format!(
            "cannot resolve {target}: no addresses"
        ))));
    }
    race(interleave(addresses), ATTEMPT_DELAY)
        .await
        .map_err(|err| network(format!("cannot connect to {target}"), err))
}

/// `host:port` as errors name it (`[::1]:1999` for an IPv6 address).
pub(crate) fn target(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(_)) => format!("[{host}]:{port}"),
        _ => format!("{host}:{port}"),
    }
}

/// `addresses` reordered to alternate between families, starting with the family
/// the resolver put first and otherwise keeping its order (RFC 8305 §4).
pub(crate) fn interleave(addresses: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(first) = addresses.first() else {
        return addresses;
    };
    let preferred = first.is_ipv6();
    let (mut ours, mut theirs): (Vec<_>, Vec<_>) = addresses
        .into_iter()
        .partition(|address| address.is_ipv6() == preferred);
    let mut sorted = Vec::with_capacity(ours.len() + theirs.len());
    ours.reverse();
    theirs.reverse();
    loop {
        match (ours.pop(), theirs.pop()) {
            (None, None) => return sorted,
            (a, b) => sorted.extend(a.into_iter().chain(b)),
        }
    }
}

/// Connects to `addresses` in order, starting the next one when the previous has run
/// for `delay` or has failed, whichever comes first; the first connection wins and
/// the others are dropped.
///
/// # Errors
///
/// The last failure, when every address failed.
pub(crate) async fn race(addresses: Vec<SocketAddr>, delay: Duration) -> io::Result<TcpStream> {
    let mut waiting = addresses.into_iter();
    let mut running = FuturesUnordered::new();
    let mut last_error = None;
    loop {
        if running.is_empty() {
            match waiting.next() {
                Some(address) => running.push(TcpStream::connect(address)),
                None => {
                    return Err(last_error.unwrap_or_else(|| {
                        io::Error::new(io::ErrorKind::NotFound, "no address to connect to")
                    }));
                }
            }
        }
        let more = waiting.len() > 0;
        tokio::select! {
            finished = running.next() => match finished {
                Some(Ok(stream)) => return Ok(stream),
                Some(Err(err)) => {
                    last_error = Some(err);
                    if let Some(address) = waiting.next() {
                        running.push(TcpStream::connect(address));
                    }
                }
                None => {}
            },
            () = tokio::time::sleep(delay), if more => {
                if let Some(address) = waiting.next() {
                    running.push(TcpStream::connect(address));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::{TcpListener, TcpSocket};

    fn v4(last: u8) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, last], 1))
    }

    fn v6(last: u16) -> SocketAddr {
        SocketAddr::from(([0x2001, 0xdb8, 0, 0, 0, 0, 0, last], 1))
    }

    #[test]
    fn families_alternate_from_the_resolvers_first_choice() {
        assert_eq!(
            interleave(vec![v6(1), v6(2), v6(3), v4(1), v4(2)]),
            vec![v6(1), v4(1), v6(2), v4(2), v6(3)]
        );
        assert_eq!(
            interleave(vec![v4(1), v4(2), v6(1)]),
            vec![v4(1), v6(1), v4(2)]
        );
        assert_eq!(interleave(vec![v4(1), v4(2)]), vec![v4(1), v4(2)]);
        assert!(interleave(Vec::new()).is_empty());
    }

    /// A loopback address whose connections hang: a listener that never accepts, its
    /// backlog filled, so the kernel drops further handshakes.
    async fn black_hole() -> (TcpListener, Vec<TcpStream>, SocketAddr) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let address = socket.local_addr().unwrap();
        let socket = socket.listen(1).unwrap();
        let mut held = Vec::new();
        for _ in 0..16 {
            match tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(address))
                .await
            {
                Ok(Ok(stream)) => held.push(stream),
                Ok(Err(err)) => panic!("the black hole refused: {err}"),
                Err(_) => return (socket, held, address),
            }
        }
        panic!("the listener's backlog never filled");
    }

    /// A loopback address nothing listens on: connecting is refused at once.
    async fn refusing() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    }

    #[tokio::test]
    async fn an_address_that_hangs_loses_to_the_next_one() {
        let (_hole, _held, hanging) = black_hole().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = listener.local_addr().unwrap();
        let stream = tokio::time::timeout(
            Duration::from_secs(20),
            race(vec![hanging, good], Duration::from_millis(50)),
        )
        .await
        .expect("the race never finished")
        .unwrap();
        assert_eq!(stream.peer_addr().unwrap(), good);
    }

    #[tokio::test]
    async fn a_refusal_starts_the_next_address_and_all_refused_is_the_last_error() {
        let refusing = refusing().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = listener.local_addr().unwrap();
        // A long head start: only the refusal can start the second attempt early.
        let stream = tokio::time::timeout(
            Duration::from_secs(20),
            race(vec![refusing, good], Duration::from_secs(3600)),
        )
        .await
        .expect("a refusal did not start the next address")
        .unwrap();
        assert_eq!(stream.peer_addr().unwrap(), good);
        let err = race(vec![refusing, refusing], Duration::from_secs(3600))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    }

    #[tokio::test]
    async fn errors_name_the_host_and_port() {
        let refusing = refusing().await;
        let err = dial("127.0.0.1", refusing.port()).await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("cannot connect to 127.0.0.1:{}", refusing.port())),
            "{text}"
        );
        let TransportError::Network(cause) = err else {
            panic!("{err:?}");
        };
        assert_eq!(cause.io_kind(), Some(io::ErrorKind::ConnectionRefused));
        assert!(cause.downcast_ref::<io::Error>().is_some());
        let err = dial("::1", 9).await.unwrap_err();
        assert!(err.to_string().contains("[::1]:9"), "{err}");
    }
}
