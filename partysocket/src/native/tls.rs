//! TLS client configuration: which roots to trust, built once and shared.

use std::fmt;
use std::sync::{Arc, OnceLock};

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::{Cause, Error};

/// The TLS settings sockets and `fetch` use for `wss://` and `https://`: cheap to
/// clone, so one value can serve thousands of sockets.
///
/// Sockets trust the Mozilla root store bundled with the crate (`webpki-roots`) unless
/// given another configuration.
///
/// ```
/// use partysocket::TlsConfig;
///
/// let tls = TlsConfig::builder().native_roots(true).build()?;
/// # let _ = tls;
/// # Ok::<(), partysocket::Error>(())
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    client: Arc<ClientConfig>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Trusts the bundled Mozilla roots: what sockets use unless told otherwise. Built
    /// once per process and shared.
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] if the TLS provider supports no protocol version (not expected
    /// with the bundled provider).
    pub fn webpki_roots() -> Result<Self, Error> {
        static WEBPKI: OnceLock<Result<TlsConfig, Error>> = OnceLock::new();
        WEBPKI
            .get_or_init(|| {
                Ok(TlsConfig {
                    client: client_config(webpki_store())?,
                })
            })
            .clone()
    }

    /// Chooses the trusted roots.
    pub fn builder() -> TlsConfigBuilder {
        TlsConfigBuilder {
            webpki_roots: true,
            native_roots: false,
            extra: Vec::new(),
        }
    }

    /// Uses a rustls configuration as it is (client certificates, custom verifiers).
    pub fn from_rustls(config: Arc<ClientConfig>) -> Self {
        TlsConfig { client: config }
    }

    /// The rustls configuration.
    pub fn rustls(&self) -> Arc<ClientConfig> {
        self.client.clone()
    }
}

/// Builds a [`TlsConfig`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct TlsConfigBuilder {
    webpki_roots: bool,
    native_roots: bool,
    extra: Vec<CertificateDer<'static>>,
}

impl TlsConfigBuilder {
    /// Trust the bundled Mozilla roots (default true).
    pub fn webpki_roots(mut self, on: bool) -> Self {
        self.webpki_roots = on;
        self
    }

    /// Trust the operating system's roots (default false).
    pub fn native_roots(mut self, on: bool) -> Self {
        self.native_roots = on;
        self
    }

    /// Trusts every certificate in a PEM document, e.g. a development server's
    /// self-signed certificate.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCertificate`] when the PEM holds no certificate or cannot be read.
    pub fn add_root_certificate_pem(mut self, pem: impl AsRef<[u8]>) -> Result<Self, Error> {
        let before = self.extra.len();
        for cert in CertificateDer::pem_slice_iter(pem.as_ref()) {
            self.extra
                .push(cert.map_err(|err| Error::InvalidCertificate(Cause::new(err)))?);
        }
        if self.extra.len() == before {
            return Err(Error::InvalidCertificate(
                "no CERTIFICATE block found".into(),
            ));
        }
        Ok(self)
    }

    /// Trusts one DER-encoded certificate.
    pub fn add_root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.extra.push(CertificateDer::from(der.into()));
        self
    }

    /// Builds the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCertificate`] when an added certificate is not a usable trust
    /// anchor.
    pub fn build(self) -> Result<TlsConfig, Error> {
        let mut roots = if self.webpki_roots {
            webpki_store()
        } else {
            RootCertStore::empty()
        };
        if self.native_roots {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                tracing::warn!(%error, "could not load some native root certificates");
            }
            let (added, ignored) = roots.add_parsable_certificates(found.certs);
            tracing::debug!(added, ignored, "native root certificates loaded");
        }
        for cert in self.extra {
            roots
                .add(cert)
                .map_err(|err| Error::InvalidCertificate(Cause::new(err)))?;
        }
        Ok(TlsConfig {
            client: client_config(roots)?,
        })
    }
}

fn webpki_store() -> RootCertStore {
    RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    }
}

fn client_config(roots: RootCertStore) -> Result<Arc<ClientConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| Error::Tls(Cause::new(err)))?;
    Ok(Arc::new(
        builder.with_root_certificates(roots).with_no_client_auth(),
    ))
}
