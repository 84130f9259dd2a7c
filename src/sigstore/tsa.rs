//! RFC 3161 timestamps: a timestamp authority's signed statement that a signature existed at a
//! time. Verified against the trust root's timestamp authorities; the message imprint must be
//! the hash of the signature it stamps.

use super::time::Time;
use super::trust_root::TrustedRoot;
use super::SigstoreError;

/// Verifies a DER `TimeStampResp`/`TimeStampToken` over `signature` and returns its `genTime`.
pub fn verify_timestamp(
    token_der: &[u8],
    signature: &[u8],
    root: &TrustedRoot,
) -> Result<Time, SigstoreError> {
    let _ = (token_der, signature, root);
    Err(SigstoreError::Timestamp(
        "verification not implemented yet".into(),
    ))
}
