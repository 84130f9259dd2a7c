//! The signature flags of `verify`, `verify-bundle`, `export --require-signed` and
//! `import --require-signed`, resolved into a [`Checker`]: a key or a keyless identity, and the
//! trust root (a file, or one of the built-in ones). Reading the key and the root happens here,
//! once, before any bundle or registry is touched.

use std::path::PathBuf;

use super::image::Checker;
use super::key::PublicKey;
use super::policy::{Pattern, Policy};
use super::trust_root::TrustedRoot;
use super::SigstoreError;

/// The signature flags of `verify`, `export --require-signed` and `import --require-signed`.
#[derive(Debug, Clone, Default)]
pub struct TrustOptions {
    /// `--key`: a PEM public key.
    pub key: Option<PathBuf>,
    /// `--certificate-identity[-regexp]`.
    pub identity: Option<Pattern>,
    /// `--certificate-oidc-issuer[-regexp]`.
    pub issuer: Option<Pattern>,
    /// `--trusted-root`; else the built-in production root (or staging with `staging`).
    pub trusted_root: Option<PathBuf>,
    pub staging: bool,
}

/// Why the signature flags cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("--key {}", path.display())]
    KeyRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--key {}: not a PEM public key (-----BEGIN PUBLIC KEY-----), as cosign generate-key-pair writes", path.display())]
    KeyFormat {
        path: PathBuf,
        source: SigstoreError,
    },
    #[error("--trusted-root {}", path.display())]
    RootRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--trusted-root {}: not a sigstore trusted_root.json", path.display())]
    RootFormat {
        path: PathBuf,
        source: SigstoreError,
    },
    #[error("keyless verification needs both --certificate-identity (or -regexp) and --certificate-oidc-issuer (or -regexp), as in cosign")]
    Incomplete,
    #[error("--key and --certificate-identity/--certificate-oidc-issuer exclude each other")]
    Both,
}

impl TrustOptions {
    /// Whether any signature check was asked for.
    pub fn is_set(&self) -> bool {
        self.key.is_some() || self.identity.is_some() || self.issuer.is_some()
    }

    /// The checker these flags ask for; None when no key or identity was given.
    pub fn checker(&self) -> Result<Option<Checker>, TrustError> {
        let policy = match (&self.key, &self.identity, &self.issuer) {
            (None, None, None) => return Ok(None),
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => return Err(TrustError::Both),
            (Some(path), None, None) => {
                let text = std::fs::read_to_string(path).map_err(|source| TrustError::KeyRead {
                    path: path.clone(),
                    source,
                })?;
                Policy::Key(
                    PublicKey::from_pem(&text).map_err(|source| TrustError::KeyFormat {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
            (None, Some(identity), Some(issuer)) => Policy::Identity {
                identity: identity.clone(),
                issuer: issuer.clone(),
            },
            (None, _, _) => return Err(TrustError::Incomplete),
        };
        let root = match &self.trusted_root {
            None => TrustedRoot::builtin(self.staging),
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| TrustError::RootRead {
                        path: path.clone(),
                        source,
                    })?;
                TrustedRoot::from_json(&text).map_err(|source| TrustError::RootFormat {
                    path: path.clone(),
                    source,
                })?
            }
        };
        Ok(Some(Checker { policy, root }))
    }
}
