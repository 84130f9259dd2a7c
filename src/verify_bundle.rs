//! `ferry verify-bundle`: one sigstore bundle over one artifact, offline, as the sigstore
//! conformance suite drives a client. Reads the files the options name and hands the bytes to
//! [`sigstore::verify_bundle`](crate::sigstore::verify_bundle), which decides.
//! It imports only `sigstore`; never the registry, the layout or the CLI.

use std::path::{Path, PathBuf};

use crate::sigstore::trust::{TrustError, TrustOptions};
use crate::sigstore::{self, Artifact, SigstoreError};

/// What to verify, against whom, with which trust root.
#[derive(Clone, Debug)]
pub struct VerifyBundleOptions {
    /// The bundle's JSON file (`*.sigstore.json`).
    pub bundle: PathBuf,
    pub artifact: ArtifactInput,
    /// Who must have signed (a key, or a keyless identity and issuer) and the trust root.
    pub trust: TrustOptions,
}

/// The artifact: a file, or only its SHA-256 (`sha256:<hex>`).
#[derive(Clone, Debug)]
pub enum ArtifactInput {
    File(PathBuf),
    Sha256([u8; 32]),
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
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error("verify-bundle needs --key, or --certificate-identity and --certificate-oidc-issuer")]
    NoSigner,
    #[error("{} does not verify", path.display())]
    Verify {
        path: PathBuf,
        source: SigstoreError,
    },
}

/// Verifies the bundle; never touches the network.
pub fn verify_bundle(opts: &VerifyBundleOptions) -> Result<sigstore::Verified, VerifyBundleError> {
    let checker = opts.trust.checker()?.ok_or(VerifyBundleError::NoSigner)?;
    let json = read("bundle", &opts.bundle)?;
    let bytes;
    let artifact = match &opts.artifact {
        ArtifactInput::File(p) => {
            bytes = read("artifact", p)?;
            Artifact::Bytes(&bytes)
        }
        ArtifactInput::Sha256(d) => Artifact::Sha256(d),
    };
    sigstore::verify_bundle(&json, artifact, &checker.policy, &checker.root).map_err(|source| {
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
