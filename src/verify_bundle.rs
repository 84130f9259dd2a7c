//! `ferry verify-bundle`: one sigstore bundle over one artifact, offline, as the sigstore
//! conformance suite drives a client. Reads the files the options name and hands the bytes to
//! [`sigstore::verify_bundle`](crate::sigstore::verify_bundle), which decides.

use std::path::{Path, PathBuf};

use crate::sigstore::{self, Artifact, Pattern, Policy, PublicKey, SigstoreError, TrustedRoot};

/// What to verify, against whom, with which trust root.
#[derive(Clone, Debug)]
pub struct VerifyBundleOptions {
    /// The bundle's JSON file (`*.sigstore.json`).
    pub bundle: PathBuf,
    pub artifact: ArtifactInput,
    pub signer: Signer,
    pub trusted_root: TrustRoot,
}

/// The artifact: a file, or only its SHA-256 (`sha256:<hex>`).
#[derive(Clone, Debug)]
pub enum ArtifactInput {
    File(PathBuf),
    Sha256([u8; 32]),
}

/// Who must have signed.
#[derive(Clone, Debug)]
pub enum Signer {
    /// A managed key: a PEM public key file (`--key`).
    Key(PathBuf),
    /// Keyless: the certificate's identity and OIDC issuer.
    Identity { identity: Pattern, issuer: Pattern },
}

/// Where trust comes from: a snapshot built into ferry, or a `trusted_root.json`.
#[derive(Clone, Debug)]
pub enum TrustRoot {
    Builtin { staging: bool },
    File(PathBuf),
}

/// Why a bundle could not be verified: an input could not be read, or a check failed (the
/// source says which).
#[derive(Debug, thiserror::Error)]
pub enum VerifyBundleError {
    #[error("cannot read the {what} {}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--key {}", path.display())]
    Key {
        path: PathBuf,
        source: SigstoreError,
    },
    #[error("--trusted-root {}", path.display())]
    TrustedRoot {
        path: PathBuf,
        source: SigstoreError,
    },
    #[error("{} does not verify", path.display())]
    Verify {
        path: PathBuf,
        source: SigstoreError,
    },
}

/// Verifies the bundle; never touches the network.
pub fn verify_bundle(opts: &VerifyBundleOptions) -> Result<sigstore::Verified, VerifyBundleError> {
    let root = match &opts.trusted_root {
        TrustRoot::Builtin { staging } => TrustedRoot::builtin(*staging),
        TrustRoot::File(p) => {
            let text = read_text("trusted root", p)?;
            TrustedRoot::from_json(&text).map_err(|source| VerifyBundleError::TrustedRoot {
                path: p.clone(),
                source,
            })?
        }
    };
    let policy = match &opts.signer {
        Signer::Key(p) => {
            let pem = read_text("key", p)?;
            Policy::Key(
                PublicKey::from_pem(&pem).map_err(|source| VerifyBundleError::Key {
                    path: p.clone(),
                    source,
                })?,
            )
        }
        Signer::Identity { identity, issuer } => Policy::Identity {
            identity: identity.clone(),
            issuer: issuer.clone(),
        },
    };
    let json = read("bundle", &opts.bundle)?;
    let bytes;
    let artifact = match &opts.artifact {
        ArtifactInput::File(p) => {
            bytes = read("artifact", p)?;
            Artifact::Bytes(&bytes)
        }
        ArtifactInput::Sha256(d) => Artifact::Sha256(d),
    };
    sigstore::verify_bundle(&json, artifact, &policy, &root).map_err(|source| {
        VerifyBundleError::Verify {
            path: opts.bundle.clone(),
            source,
        }
    })
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, VerifyBundleError> {
    std::fs::read(path).map_err(|source| VerifyBundleError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

fn read_text(what: &'static str, path: &Path) -> Result<String, VerifyBundleError> {
    std::fs::read_to_string(path).map_err(|source| VerifyBundleError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}
