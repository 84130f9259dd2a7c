//! Which CAs a connection trusts and which client certificate it presents (DESIGN §1), as
//! docker, podman and skopeo decide it: the system's store (honouring `SSL_CERT_FILE` and
//! `SSL_CERT_DIR`), `--ca-file`, and one certs.d directory per registry, or `--cert-dir` for
//! every registry. In such a directory `*.crt` files are CAs and each `NAME.cert` + `NAME.key`
//! pair is a client certificate (mutual TLS), as containers/image reads them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};

use super::transport::TransportOptions;
use super::{RegistryError, TrustProblem};
use crate::error::Boxed;

/// Replaces the default certs.d roots (`:`-separated); tests use it so they never touch /etc.
pub const CERTS_D_ENV: &str = "FERRY_CERTS_D";

/// The default certs.d roots, first match wins (containers/image's order; docker's last).
fn default_roots() -> Vec<PathBuf> {
    if let Some(v) = std::env::var_os(CERTS_D_ENV) {
        return std::env::split_paths(&v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
    }
    let mut roots = Vec::new();
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        roots.push(PathBuf::from(home).join(".config/containers/certs.d"));
    }
    roots.push("/etc/containers/certs.d".into());
    roots.push("/etc/docker/certs.d".into());
    roots
}

/// A client certificate chain and its key, with the file it came from for messages.
#[derive(Clone)]
struct Identity {
    cert_path: PathBuf,
    cert: ClientCert,
}

/// What one certs.d directory (or `--cert-dir`) holds.
#[derive(Default)]
struct CertDir {
    cas: Vec<Certificate<'static>>,
    /// The first `*.cert` + `*.key` pair by name (ureq presents one certificate).
    identity: Option<Identity>,
}

impl CertDir {
    fn is_empty(&self) -> bool {
        self.cas.is_empty() && self.identity.is_none()
    }
}

/// The TLS settings of connections to one host, and the client certificate they present.
pub struct HostTls {
    pub config: TlsConfig,
    pub client_cert: Option<PathBuf>,
}

/// Trust settings of a client, built once; per-host settings are derived on demand.
pub struct Trust {
    /// The system's CAs (the bundled webpki roots where it has none), `--ca-file` and the
    /// CAs of `--cert-dir`.
    base: Arc<Vec<Certificate<'static>>>,
    /// The client certificate of `--cert-dir`, for every host.
    everywhere: Option<Identity>,
    /// certs.d roots searched per host; none when `--cert-dir` is given.
    roots: Vec<PathBuf>,
    insecure: bool,
}

impl Trust {
    pub fn new(opts: &TransportOptions) -> Result<Trust, RegistryError> {
        let mut base = system_roots()?;
        base.extend(load_ca_files(&opts.ca_files)?);
        let (everywhere, roots) = match &opts.cert_dir {
            Some(dir) => {
                // skopeo ignores a missing --cert-dir; a typo is better named.
                match std::fs::metadata(dir) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        return Err(trust_error("--cert-dir", dir, TrustProblem::NotADirectory))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        return Err(trust_error(
                            "--cert-dir",
                            dir,
                            TrustProblem::NoSuchDirectory,
                        ))
                    }
                    Err(e) => return Err(read_error("--cert-dir", dir, e)),
                }
                let found = read_cert_dir(dir)?;
                base.extend(found.cas);
                (found.identity, Vec::new())
            }
            None => (None, default_roots()),
        };
        Ok(Trust {
            base: Arc::new(base),
            everywhere,
            roots,
            insecure: opts.insecure_skip_tls_verify,
        })
    }

    /// The settings of hosts without a certs.d directory of their own.
    pub fn shared(&self) -> HostTls {
        self.build(Arc::clone(&self.base), self.everywhere.as_ref())
    }

    /// The settings of `host` (`name[:port]`) when a certs.d directory holds CAs or a client
    /// certificate for it; `None` when the shared settings apply.
    pub fn for_host(&self, host: &str) -> Result<Option<HostTls>, RegistryError> {
        let Some(dir) = self.host_dir(host)? else {
            return Ok(None);
        };
        let found = read_cert_dir(&dir)?;
        if found.is_empty() {
            return Ok(None);
        }
        let mut roots = Vec::with_capacity(self.base.len() + found.cas.len());
        roots.extend(self.base.iter().cloned());
        roots.extend(found.cas);
        Ok(Some(self.build(Arc::new(roots), found.identity.as_ref())))
    }

    /// The first existing `ROOT/HOST` (Docker Hub's API host also answers to `docker.io`).
    fn host_dir(&self, host: &str) -> Result<Option<PathBuf>, RegistryError> {
        let mut names = vec![host];
        if host == "registry-1.docker.io" {
            names.push("docker.io");
        }
        for root in &self.roots {
            for name in &names {
                let dir = root.join(name);
                match std::fs::metadata(&dir) {
                    Ok(m) if m.is_dir() => return Ok(Some(dir)),
                    Ok(_) => {}
                    // Missing, or not ours to read (root's dirs, rootless): the next root.
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                        ) => {}
                    Err(e) => return Err(read_error("certs.d directory", &dir, e)),
                }
            }
        }
        Ok(None)
    }

    fn build(&self, roots: Arc<Vec<Certificate<'static>>>, id: Option<&Identity>) -> HostTls {
        let mut b = TlsConfig::builder().client_cert(id.map(|i| i.cert.clone()));
        if self.insecure {
            b = b.disable_verification(true);
        } else {
            b = b.root_certs(RootCerts::Specific(roots));
        }
        HostTls {
            config: b.build(),
            client_cert: id.map(|i| i.cert_path.clone()),
        }
    }
}

/// The system's store; the bundled webpki roots only when it holds no certificate at all.
fn system_roots() -> Result<Vec<Certificate<'static>>, RegistryError> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        // A store named explicitly that yields nothing is a mistake, not "no store".
        for var in ["SSL_CERT_FILE", "SSL_CERT_DIR"] {
            if let Some(v) = std::env::var_os(var) {
                if let Some(e) = found.errors.into_iter().next() {
                    return Err(RegistryError::SystemStore {
                        var,
                        path: v.into(),
                        source: Boxed::new(e),
                    });
                }
                break;
            }
        }
        let bundled = webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter();
        return Ok(bundled
            .map(|c| Certificate::from_der(c).to_owned())
            .collect());
    }
    Ok(found
        .certs
        .iter()
        .map(|c| Certificate::from_der(c).to_owned())
        .collect())
}

fn read_error(what: &'static str, path: &Path, source: std::io::Error) -> RegistryError {
    RegistryError::TrustRead {
        what,
        path: path.to_path_buf(),
        source,
    }
}

fn trust_error(what: &'static str, path: &Path, problem: TrustProblem) -> RegistryError {
    RegistryError::Trust {
        what,
        path: path.to_path_buf(),
        problem,
    }
}

/// Every PEM certificate in `path`; an error when it holds none.
fn pem_certs(
    what: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, RegistryError> {
    let bytes = std::fs::read(path).map_err(|e| read_error(what, path, e))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(trust_error(what, path, TrustProblem::NoPemCertificate));
    }
    Ok(certs)
}

fn to_ureq(certs: &[CertificateDer<'static>]) -> Vec<Certificate<'static>> {
    certs
        .iter()
        .map(|c| Certificate::from_der(c).to_owned())
        .collect()
}

/// `--ca-file` certificates (PEM), added to the system's.
fn load_ca_files(files: &[PathBuf]) -> Result<Vec<Certificate<'static>>, RegistryError> {
    let mut out = Vec::new();
    for f in files {
        out.extend(to_ureq(&pem_certs("--ca-file", f)?));
    }
    Ok(out)
}

/// Reads a certs.d directory the way containers/image does: files in name order, no
/// recursion; a `.cert` needs its `.key` and a `.key` its `.cert`.
fn read_cert_dir(dir: &Path) -> Result<CertDir, RegistryError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CertDir::default()),
        Err(e) => return Err(read_error("certs directory", dir, e)),
    };
    let mut names = Vec::new();
    for e in entries {
        let e = e.map_err(|e| read_error("certs directory", dir, e))?;
        if let Some(n) = e.file_name().to_str() {
            names.push(n.to_string());
        }
    }
    names.sort();
    let has = |n: &str| names.iter().any(|m| m == n);
    let mut out = CertDir::default();
    for name in &names {
        let path = dir.join(name);
        if name.ends_with(".crt") {
            match pem_certs("CA file", &path) {
                Ok(c) => out.cas.extend(to_ureq(&c)),
                // A dangling link, or a race with a deletion: containers/image skips it too.
                Err(RegistryError::TrustRead { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        } else if let Some(stem) = name.strip_suffix(".cert") {
            let key = format!("{stem}.key");
            if !has(&key) {
                return Err(trust_error(
                    "client certificate",
                    &path,
                    TrustProblem::NoKey { key },
                ));
            }
            let id = load_identity(&path, &dir.join(&key))?;
            out.identity.get_or_insert(id);
        } else if let Some(stem) = name.strip_suffix(".key") {
            let cert = format!("{stem}.cert");
            if !has(&cert) {
                return Err(trust_error(
                    "client key",
                    &path,
                    TrustProblem::NoCertificate { cert },
                ));
            }
        }
    }
    Ok(out)
}

/// A client certificate and its key, checked to belong together (ureq would panic later).
fn load_identity(cert_path: &Path, key_path: &Path) -> Result<Identity, RegistryError> {
    let chain = pem_certs("client certificate", cert_path)?;
    let key_pem = std::fs::read(key_path).map_err(|e| read_error("client key", key_path, e))?;
    let no_key = || trust_error("client key", key_path, TrustProblem::NoPemKey);
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| no_key())?;
    let key = PrivateKey::from_pem(&key_pem).map_err(|_| no_key())?;
    let provider = rustls::crypto::ring::default_provider();
    let key_name = key_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let key_name = key_name.unwrap_or_default();
    match rustls::sign::CertifiedKey::from_der(chain.clone(), key_der, &provider) {
        Ok(_) => {}
        Err(rustls::Error::InconsistentKeys(_)) => {
            return Err(trust_error(
                "client certificate",
                cert_path,
                TrustProblem::KeyMismatch { key: key_name },
            ))
        }
        Err(e) => {
            return Err(RegistryError::ClientKey {
                path: key_path.to_path_buf(),
                source: Boxed::new(e),
            })
        }
    }
    Ok(Identity {
        cert_path: cert_path.to_path_buf(),
        cert: ClientCert::new_with_certs(&to_ureq(&chain), key.to_owned()),
    })
}

/// The TLS library's error inside a ureq error: a handshake failure reaches ferry as an
/// `io::Error` wrapping it (rustls' `complete_io`), a configuration error as itself.
fn rustls_error(e: &ureq::Error) -> Option<&rustls::Error> {
    match e {
        ureq::Error::Rustls(t) => Some(t),
        ureq::Error::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        _ => None,
    }
}

/// The alert a server sent about our (absent or refused) client certificate, if that is
/// what `e` is.
fn client_auth_alert(e: &ureq::Error) -> Option<rustls::AlertDescription> {
    use rustls::AlertDescription as A;
    match rustls_error(e) {
        Some(rustls::Error::AlertReceived(
            a @ (A::BadCertificate
            | A::CertificateRequired
            | A::UnknownCA
            | A::CertificateUnknown
            | A::CertificateExpired
            | A::CertificateRevoked
            | A::UnsupportedCertificate
            | A::AccessDenied),
        )) => Some(*a),
        _ => None,
    }
}

/// The verdict on the server's certificate, if `e` is one: invalid (untrusted issuer, bad
/// signature, wrong name, expired, …) or absent.
fn server_cert_verdict(e: &ureq::Error) -> Option<&rustls::Error> {
    rustls_error(e).filter(|t| {
        matches!(
            t,
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
        )
    })
}

/// The error to report for a certificate failure talking to `host`, which presented
/// `client_cert` (if any); `None` when `e` is not about certificates, ours or the server's
/// (only then may a loopback host fall back to http).
pub fn tls_error(host: &str, e: &ureq::Error, client_cert: Option<&Path>) -> Option<RegistryError> {
    if let Some(alert) = client_auth_alert(e) {
        return Some(match client_cert {
            None => RegistryError::ClientCertRequired { host: host.into() },
            Some(cert) => RegistryError::ClientCertRejected {
                host: host.into(),
                cert: cert.to_path_buf(),
                alert,
            },
        });
    }
    server_cert_verdict(e).map(|verdict| RegistryError::Certificate {
        host: host.into(),
        verdict: Box::new(verdict.clone()),
    })
}
