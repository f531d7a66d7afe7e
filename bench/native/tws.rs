//! The second reference client: raw tokio-websockets, as an application would use it.

use futures_util::StreamExt;

use crate::throughput::CONNECT;

/// A raw tokio-websockets connection over plain TCP.
pub(crate) type TwsSocket = tokio_websockets::WebSocketStream<tokio::net::TcpStream>;

/// Connects to `url` (a `ws://` URL; Nagle off, as our driver does; the library's
/// default configuration otherwise) and reads the party's first message, within
/// [`CONNECT`].
pub(crate) async fn open(url: String) -> Result<TwsSocket, String> {
    tokio::time::timeout(CONNECT, async {
        let builder = tokio_websockets::ClientBuilder::new()
            .uri(&url)
            .map_err(|err| format!("{url}: {err}"))?;
        let authority = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .ok_or_else(|| format!("{url}: not a ws:// URL"))?;
        let stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|err| format!("cannot connect to {authority}: {err}"))?;
        stream
            .set_nodelay(true)
            .map_err(|err| format!("nodelay: {err}"))?;
        let (mut ws, _) = builder
            .connect_on(stream)
            .await
            .map_err(|err| err.to_string())?;
        ws.next()
            .await
            .ok_or("no greeting")?
            .map_err(|err| err.to_string())?;
        Ok(ws)
    })
    .await
    .map_err(|_| format!("no connection and greeting within {CONNECT:?}"))?
}
