//! The baseline client: raw tokio-tungstenite, as an application would use it.

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::throughput::CONNECT;

/// A raw tokio-tungstenite connection.
pub(crate) type BareSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to `url` (Nagle off, as our driver does; `config` `None` is tungstenite's
/// default) and reads the party's first message, within [`CONNECT`].
pub(crate) async fn open(
    url: String,
    config: Option<WebSocketConfig>,
) -> Result<BareSocket, String> {
    greeted(tokio_tungstenite::connect_async_with_config(
        url, config, true,
    ))
    .await
}

/// Like [`open`] over `wss://`, with the given rustls configuration.
pub(crate) async fn open_tls(
    url: String,
    tls: std::sync::Arc<rustls::ClientConfig>,
) -> Result<BareSocket, String> {
    let connector = tokio_tungstenite::Connector::Rustls(tls);
    greeted(tokio_tungstenite::connect_async_tls_with_config(
        url,
        None,
        true,
        Some(connector),
    ))
    .await
}

/// Waits for `connect`, then for the party's first message, within [`CONNECT`].
async fn greeted<R>(
    connect: impl std::future::Future<Output = Result<(BareSocket, R), tungstenite::Error>>,
) -> Result<BareSocket, String> {
    tokio::time::timeout(CONNECT, async {
        let (mut ws, _) = connect.await.map_err(|err| err.to_string())?;
        ws.next()
            .await
            .ok_or("no greeting")?
            .map_err(|err| err.to_string())?;
        Ok(ws)
    })
    .await
    .map_err(|_| format!("no connection and greeting within {CONNECT:?}"))?
}
