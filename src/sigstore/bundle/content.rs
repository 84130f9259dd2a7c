//! The checks that tie a bundle's content to the artifact: the stated message digest is the
//! artifact's, the signature verifies over the artifact (or its digest), and a DSSE envelope's
//! signature verifies and its in-toto statement names the artifact as a subject.

use sha2::{Digest as _, Sha256};

use super::super::dsse::{Envelope, Statement, IN_TOTO};
use super::super::key::PublicKey;
use super::super::{hex, SigstoreError};
use super::Artifact;

/// The artifact's SHA-256, from its bytes or as given.
pub fn sha256(artifact: Artifact<'_>) -> [u8; 32] {
    match artifact {
        Artifact::Bytes(b) => Sha256::digest(b).into(),
        Artifact::Sha256(d) => *d,
    }
}

/// The bundle's `messageDigest` (a hint the signer wrote, not authenticated by itself) must be
/// the artifact's: a bundle that disagrees with itself is refused before any cryptography.
pub fn check_stated_digest(stated: Option<&[u8]>, actual: &[u8; 32]) -> Result<(), SigstoreError> {
    match stated {
        Some(d) if d != actual.as_slice() => Err(SigstoreError::Artifact(format!(
            "the bundle's messageDigest sha256:{} is not the artifact's sha256:{}",
            hex(d),
            hex(actual)
        ))),
        _ => Ok(()),
    }
}

/// Verifies a `messageSignature` over the artifact: over its bytes when ferry has them, over
/// the digest (prehashed) when it has only `sha256:<hex>`.
pub fn check_message_signature(
    key: &PublicKey,
    artifact: Artifact<'_>,
    signature: &[u8],
) -> Result<(), SigstoreError> {
    let what = "artifact (messageSignature)";
    match artifact {
        Artifact::Bytes(b) => key.verify(b, signature, what),
        Artifact::Sha256(d) => match key {
            PublicKey::P384(_) => Err(SigstoreError::Unsupported {
                what: "P-384 signature",
                detail: "over a SHA-256 digest without the artifact (it signs SHA-384)".into(),
            }),
            _ => key.verify_prehashed(d, signature, what),
        },
    }
}

/// Verifies the envelope's signature and that its (now signed) in-toto statement names the
/// artifact; returns the payload.
pub fn check_dsse(
    key: &PublicKey,
    envelope: &Envelope,
    artifact_sha256: &[u8; 32],
) -> Result<Vec<u8>, SigstoreError> {
    let payload = envelope.verify(key)?;
    check_subject(&envelope.payload_type, &payload, artifact_sha256)?;
    Ok(payload)
}

/// An envelope ties to the artifact only through an in-toto statement's subjects.
pub fn check_subject(
    payload_type: &str,
    payload: &[u8],
    artifact_sha256: &[u8; 32],
) -> Result<(), SigstoreError> {
    if payload_type != IN_TOTO {
        return Err(SigstoreError::Unsupported {
            what: "DSSE payload type",
            detail: format!(
                "{payload_type:?}: only an in-toto statement ({IN_TOTO}) names the artifact"
            ),
        });
    }
    let statement = Statement::parse(payload)?;
    if !statement.is_statement() {
        return Err(SigstoreError::malformed(
            "in-toto statement",
            format!("_type {:?} is not an in-toto statement", statement.type_),
        ));
    }
    let want = hex(artifact_sha256);
    if !statement.names_sha256(&want) {
        let named: Vec<String> = statement
            .subject
            .iter()
            .filter_map(|s| s.digest.get("sha256").map(|d| format!("sha256:{d}")))
            .collect();
        return Err(SigstoreError::Artifact(format!(
            "the in-toto statement's subjects ({}) do not include the artifact sha256:{want}",
            if named.is_empty() {
                "none with a sha256 digest".to_string()
            } else {
                named.join(", ")
            }
        )));
    }
    Ok(())
}
