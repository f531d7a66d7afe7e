//! The certificate `--tls-ca` serves: an authority made at start and a certificate it
//! signs for the loopback names, with rustls and the `ring` provider.

use std::path::Path;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// The names the certificate is valid for.
const NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Makes the authority and the certificate, writes the authority's PEM to `ca_path`,
/// and returns the acceptor that serves the certificate.
pub(crate) fn acceptor(ca_path: &Path) -> Result<TlsAcceptor, String> {
    let fail = |what: &str| {
        let what = what.to_owned();
        move |err: &dyn std::fmt::Display| format!("{what}: {err}")
    };
    let mut authority = CertificateParams::new(Vec::<String>::new())
        .map_err(|err| fail("authority parameters")(&err))?;
    authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    authority
        .distinguished_name
        .push(DnType::CommonName, "bench-server authority");
    let authority_key = KeyPair::generate().map_err(|err| fail("authority key")(&err))?;
    let authority = CertifiedIssuer::self_signed(authority, authority_key)
        .map_err(|err| fail("authority certificate")(&err))?;

    let key = KeyPair::generate().map_err(|err| fail("server key")(&err))?;
    let mut params = CertificateParams::new(NAMES.map(str::to_owned).to_vec())
        .map_err(|err| fail("server parameters")(&err))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "bench-server");
    let certificate = params
        .signed_by(&key, &authority)
        .map_err(|err| fail("server certificate")(&err))?;

    let chain = vec![certificate.der().clone(), authority.der().clone()];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| fail("protocol versions")(&err))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|err| fail("server configuration")(&err))?;
    std::fs::write(ca_path, authority.pem())
        .map_err(|err| fail(&format!("writing {}", ca_path.display()))(&err))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
