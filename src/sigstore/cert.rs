//! Fulcio certificates: parse a leaf, chain it to a CA of the trust root valid at the signing
//! time, check its embedded SCTs against the root's CT logs, and read its identity (SAN) and
//! OIDC issuer (extension 1.3.6.1.4.1.57264.1.8, or the legacy 1.3.6.1.4.1.57264.1.1).

use super::key::PublicKey;
use super::time::Time;
use super::trust_root::TrustedRoot;
use super::SigstoreError;

/// What a verified leaf certificate says.
#[derive(Clone, Debug)]
pub struct Leaf {
    /// DER of the leaf.
    pub der: Vec<u8>,
    pub public_key: PublicKey,
    /// The subject alternative name: a URI, an email or another name, as a string.
    pub identity: Option<String>,
    /// The OIDC issuer extension's value.
    pub issuer: Option<String>,
    pub not_before: Time,
    pub not_after: Time,
}

/// Reads a leaf certificate (no trust decision).
pub fn parse_leaf(der: &[u8]) -> Result<Leaf, SigstoreError> {
    let _ = der;
    Err(SigstoreError::Unsupported {
        what: "certificate",
        detail: "not implemented yet".into(),
    })
}

/// Verifies `leaf_der` chains, through `intermediates` (from the bundle, may be empty) or the
/// trust root's own chains, to a certificate authority of `root` whose validity contains `at`;
/// that every certificate of the chain is valid at `at`; that the leaf is a code-signing
/// certificate; and that its embedded SCTs verify against `root`'s CT logs.
pub fn verify_chain(
    leaf_der: &[u8],
    intermediates: &[Vec<u8>],
    root: &TrustedRoot,
    at: Time,
) -> Result<Leaf, SigstoreError> {
    let _ = (leaf_der, intermediates, root, at);
    Err(SigstoreError::Unsupported {
        what: "certificate",
        detail: "not implemented yet".into(),
    })
}
