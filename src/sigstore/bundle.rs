//! One sigstore bundle (`application/vnd.dev.sigstore.bundle[.v0.3]+json`, versions 0.1–0.3),
//! verified as the sigstore client specification says: parse, establish a verified signing
//! time ([`tlog`](super::tlog), [`tsa`](super::tsa)), chain the certificate at that time
//! ([`cert`](super::cert)) or take the key, check the signature over the artifact or the DSSE
//! envelope, check the log entry records this signature, and match the policy.

use super::policy::Policy;
use super::time::Time;
use super::trust_root::TrustedRoot;
use super::SigstoreError;

/// What was signed: the bytes, or only their SHA-256 (`sha256:<hex>` on the command line).
#[derive(Clone, Copy, Debug)]
pub enum Artifact<'a> {
    Bytes(&'a [u8]),
    Sha256(&'a [u8; 32]),
}

/// What a verified bundle says.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The certificate's SAN (keyless) or `None` (key).
    pub identity: Option<String>,
    /// The certificate's OIDC issuer (keyless).
    pub issuer: Option<String>,
    /// The earliest verified signing time.
    pub signing_time: Time,
    /// For a DSSE bundle: the payload type and the payload (an in-toto statement for attestations).
    pub dsse: Option<(String, Vec<u8>)>,
}

/// Verifies a bundle's JSON over `artifact` against `policy` and `root`.
pub fn verify_bundle(
    json: &[u8],
    artifact: Artifact<'_>,
    policy: &Policy,
    root: &TrustedRoot,
) -> Result<Verified, SigstoreError> {
    let _ = (json, artifact, policy, root);
    Err(SigstoreError::Unsupported {
        what: "sigstore bundle",
        detail: "not implemented yet".into(),
    })
}
