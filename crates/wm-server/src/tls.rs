//! TLS for any TCP scheme, with rustls: `wss://` and `https://` listeners, or
//! `Worker::tls` on any other; `wss://` clients.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::ConfigError;

fn tls_error(what: &str, error: impl std::fmt::Display) -> ConfigError {
    ConfigError::Tls(format!("{what}: {error}"))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A listener's certificate and key (Workerman's `local_cert` / `local_pk`).
#[derive(Clone)]
pub struct TlsServer(pub(crate) tokio_rustls::TlsAcceptor);

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsServer(..)")
    }
}

impl TlsServer {
    /// From PEM files: the certificate chain (leaf first) and the private key.
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, ConfigError> {
        let read = |path: &Path| {
            std::fs::read(path)
                .map_err(|e| tls_error(&format!("cannot read {}", path.display()), e))
        };
        Self::from_pem(&read(cert.as_ref())?, &read(key.as_ref())?)
    }

    /// From PEM text: the certificate chain (leaf first) and the private key.
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<Self, ConfigError> {
        let chain = CertificateDer::pem_slice_iter(cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| tls_error("bad certificate PEM", e))?;
        if chain.is_empty() {
            return Err(ConfigError::Tls("no certificate in the PEM".to_owned()));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| tls_error("bad key PEM", e))?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error("TLS versions", e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| tls_error("certificate and key do not fit", e))?;
        Ok(Self::from_config(Arc::new(config)))
    }

    /// From a rustls configuration of the application's own (client certificates,
    /// ALPN, session tickets).
    pub fn from_config(config: Arc<rustls::ServerConfig>) -> Self {
        Self(tokio_rustls::TlsAcceptor::from(config))
    }
}

/// What a client trusts: the Mozilla roots by default, or certificates given.
#[derive(Clone)]
pub struct TlsClient(pub(crate) tokio_rustls::TlsConnector);

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsClient(..)")
    }
}

impl Default for TlsClient {
    fn default() -> Self {
        Self::webpki_roots()
    }
}

impl TlsClient {
    /// Trusts the Mozilla root certificates (the `webpki-roots` crate).
    pub fn webpki_roots() -> Self {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Self::with_roots(roots)
    }

    /// Trusts only the certificates in this PEM (a private CA, a self-signed server).
    pub fn with_root_pem(pem: &[u8]) -> Result<Self, ConfigError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| tls_error("bad certificate PEM", e))?;
            roots
                .add(cert)
                .map_err(|e| tls_error("unusable root certificate", e))?;
        }
        if roots.is_empty() {
            return Err(ConfigError::Tls("no certificate in the PEM".to_owned()));
        }
        Ok(Self::with_roots(roots))
    }

    fn with_roots(roots: rustls::RootCertStore) -> Self {
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports the default versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Self::from_config(Arc::new(config))
    }

    /// From a rustls configuration of the application's own.
    pub fn from_config(config: Arc<rustls::ClientConfig>) -> Self {
        Self(tokio_rustls::TlsConnector::from(config))
    }
}
