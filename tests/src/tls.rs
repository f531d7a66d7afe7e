//! A certificate authority and a server certificate generated at start, for wss and https.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// The names the server certificate is valid for.
const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The generated certificates and the acceptor that serves them.
pub(crate) struct TlsMaterial {
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) ca_pem: String,
    pub(crate) ca_der: CertificateDer<'static>,
    pub(crate) ca_path: PathBuf,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_path", &self.ca_path)
            .finish_non_exhaustive()
    }
}

/// Generates a self-signed CA and a server certificate it signs, and writes the CA's PEM to
/// `ca.pem` in `dir` (a fresh folder under the system temporary folder when `None`).
pub(crate) fn generate(dir: Option<&Path>) -> io::Result<TlsMaterial> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "party-mock test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(other)?)
        .map_err(other)?;

    let server_key = KeyPair::generate().map_err(other)?;
    let mut server_params =
        CertificateParams::new(SERVER_NAMES.map(str::to_owned).to_vec()).map_err(other)?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "party-mock");
    let server_cert = server_params.signed_by(&server_key, &ca).map_err(other)?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let chain = vec![server_cert.der().clone(), ca.der().clone()];
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(other)?;

    let dir = match dir {
        Some(dir) => dir.to_owned(),
        None => fresh_temp_dir(),
    };
    std::fs::create_dir_all(&dir)?;
    let ca_path = dir.join("ca.pem");
    let ca_pem = ca.pem();
    std::fs::write(&ca_path, &ca_pem)?;

    Ok(TlsMaterial {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_pem,
        ca_der: ca.der().clone(),
        ca_path,
    })
}

/// A folder name no other server in this or another process uses.
fn fresh_temp_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("party-mock-{}-{n}", std::process::id()))
}

fn other(err: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("TLS setup failed: {err}"))
}
