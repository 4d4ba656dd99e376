//! TLS to the database: libpq's `sslmode` and `sslrootcert`, carried out with rustls (the `ring`
//! provider) through `tokio-postgres-rustls`. See docs/TLS.md.
//!
//! tokio-postgres itself only knows `disable`, `prefer` and `require`; the verifying modes are
//! taken out of the connection string by `target::parse_connect_settings` and kept here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::{Error, Result};

/// The connector every connection uses (the pool, `connect_one`, `live::listen`).
pub type TlsConnector = MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// libpq's `allow` (plain first, TLS if the server insists) is treated as `prefer`.
    Allow,
    /// TLS when the server offers it, else plain; the certificate is not checked (as libpq).
    #[default]
    Prefer,
    /// TLS or no connection; the certificate is not checked (as libpq without a root
    /// certificate).
    Require,
    /// TLS, and the server's certificate chain must lead to a trusted root; the host name is
    /// not checked.
    VerifyCa,
    /// TLS, a trusted chain, and the certificate must be for the host connected to.
    VerifyFull,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// True for the modes that fail rather than connect without TLS.
    pub fn requires_tls(self) -> bool {
        self >= SslMode::Require
    }

    /// True for the modes that check the server's certificate.
    pub fn verifies(self) -> bool {
        self >= SslMode::VerifyCa
    }

    /// What tokio-postgres is told: it negotiates, rustls verifies.
    pub fn for_tokio_postgres(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Pg;
        match self {
            SslMode::Disable => Pg::Disable,
            SslMode::Allow | SslMode::Prefer => Pg::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Pg::Require,
        }
    }

    fn from_tokio_postgres(mode: tokio_postgres::config::SslMode) -> SslMode {
        use tokio_postgres::config::SslMode as Pg;
        match mode {
            Pg::Disable => SslMode::Disable,
            Pg::Require => SslMode::Require,
            _ => SslMode::Prefer,
        }
    }
}

impl std::fmt::Display for SslMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SslMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<SslMode> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(Error::BadDatabaseUrl(format!(
                    "invalid sslmode {other:?} (expected disable, allow, prefer, require, \
                     verify-ca or verify-full)"
                )));
            }
        })
    }
}

/// How connections are encrypted and what is trusted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    /// `sslrootcert` from the connection string, else `PGSSLROOTCERT`. Without it the verifying
    /// modes use `~/.postgresql/root.crt` if there is one, else the system's roots.
    /// `system` means the system's roots, as in libpq.
    pub root_cert: Option<PathBuf>,
}

impl TlsSettings {
    /// What a bare tokio-postgres configuration asks for: its own mode, never verifying.
    pub fn from_config(config: &tokio_postgres::Config) -> TlsSettings {
        TlsSettings {
            mode: SslMode::from_tokio_postgres(config.get_ssl_mode()),
            root_cert: None,
        }
    }

    /// The rustls connector for these settings. Reads the root certificates (verifying modes
    /// only): a missing or unusable file is an error naming it.
    pub fn connector(&self) -> Result<TlsConnector> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Invalid(format!("TLS setup: {e}")))?;
        let config = match self.mode {
            SslMode::VerifyFull => builder
                .with_root_certificates(self.root_store()?)
                .with_no_client_auth(),
            SslMode::VerifyCa => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(WithoutHostName {
                    roots: Some(Arc::new(self.root_store()?)),
                    provider,
                }))
                .with_no_client_auth(),
            _ => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(WithoutHostName {
                    roots: None,
                    provider,
                }))
                .with_no_client_auth(),
        };
        Ok(MakeRustlsConnect::new(config))
    }

    /// Where the verifying modes take their roots from, as libpq: the setting, then
    /// `~/.postgresql/root.crt` if it exists, then the system (None).
    pub fn root_cert_file(&self) -> Option<PathBuf> {
        match &self.root_cert {
            Some(path) if path.as_os_str() == "system" => None,
            Some(path) => Some(path.clone()),
            None => std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".postgresql/root.crt"))
                .filter(|p| p.is_file()),
        }
    }

    fn root_store(&self) -> Result<RootCertStore> {
        match self.root_cert_file() {
            Some(path) => roots_from_file(&path),
            None => Ok(system_roots()),
        }
    }
}

/// The certificates in a PEM file, as trust anchors.
pub fn roots_from_file(path: &Path) -> Result<RootCertStore> {
    let fail = |message: String| Error::File {
        path: path.display().to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| {
        fail(format!(
            "cannot read the TLS root certificate file (sslrootcert): {e}"
        ))
    })?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&bytes) {
        let cert =
            cert.map_err(|e| fail(format!("not a PEM certificate file (sslrootcert): {e}")))?;
        roots
            .add(cert)
            .map_err(|e| fail(format!("unusable root certificate (sslrootcert): {e}")))?;
    }
    if roots.is_empty() {
        return Err(fail(
            "no certificate in the TLS root certificate file (sslrootcert)".into(),
        ));
    }
    Ok(roots)
}

/// The operating system's trusted roots, else the Mozilla roots built into the program.
fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    roots
}

/// When a connection attempt failed because of TLS itself (a certificate that does not verify,
/// a server without TLS when TLS is required), the reason: trying again will not help.
pub fn configuration_problem(e: &tokio_postgres::Error) -> Option<String> {
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<std::io::Error>()
            && let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(match tls {
                rustls::Error::InvalidCertificate(_) => format!(
                    "the server's TLS certificate was rejected: {tls} (check sslrootcert and \
                     the host name, or use a weaker sslmode)"
                ),
                other => format!("TLS failed: {other}"),
            });
        }
        if inner.to_string() == "server does not support TLS" {
            return Some(
                "the server does not support TLS, but the sslmode requires it (use \
                 sslmode=prefer or disable, or turn on ssl in the server)"
                    .into(),
            );
        }
        source = inner.source();
    }
    None
}

/// The verifiers for the modes that do not check the host name: `prefer` and `require`
/// (`roots` None: encryption without authentication, as libpq does without a root
/// certificate) and `verify-ca` (the chain must lead to one of `roots`). The handshake's
/// signatures are checked in every mode.
#[derive(Debug)]
struct WithoutHostName {
    roots: Option<Arc<RootCertStore>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for WithoutHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_map_to_tokio_postgres() {
        use tokio_postgres::config::SslMode as Pg;
        for (text, mode, pg) in [
            ("disable", SslMode::Disable, Pg::Disable),
            ("allow", SslMode::Allow, Pg::Prefer),
            ("prefer", SslMode::Prefer, Pg::Prefer),
            ("require", SslMode::Require, Pg::Require),
            ("verify-ca", SslMode::VerifyCa, Pg::Require),
            ("verify-full", SslMode::VerifyFull, Pg::Require),
        ] {
            let parsed: SslMode = text.parse().unwrap();
            assert_eq!(parsed, mode);
            assert_eq!(parsed.as_str(), text);
            assert_eq!(parsed.for_tokio_postgres(), pg);
        }
        assert!("verify_full".parse::<SslMode>().is_err());
    }

    #[test]
    fn a_missing_root_certificate_is_an_error_naming_the_file() {
        let settings = TlsSettings {
            mode: SslMode::VerifyFull,
            root_cert: Some("/nonexistent/icash-root.crt".into()),
        };
        let err = settings.connector().err().expect("an error").to_string();
        assert!(err.contains("/nonexistent/icash-root.crt"), "{err}");
        assert!(err.contains("sslrootcert"), "{err}");
        // Without verification the file is not needed.
        let settings = TlsSettings {
            mode: SslMode::Require,
            ..settings
        };
        assert!(settings.connector().is_ok());
    }

    #[test]
    fn a_file_without_certificates_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.crt");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = roots_from_file(&path).expect_err("an error").to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
    }
}
