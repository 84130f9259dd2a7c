//! Rekor transparency-log entries (v1 and v2): the signed entry timestamp (SET), the inclusion
//! proof against a signed checkpoint (a signed note), and whether the entry's body is the one
//! for this signature, key and artifact (hashedrekord, intoto, dsse kinds).

use serde::Deserialize;

use super::time::Time;
use super::trust_root::TrustedRoot;
use super::SigstoreError;

/// A bundle's `TransparencyLogEntry` (protobuf-specs JSON: int64 as strings, bytes as base64).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    #[serde(default)]
    pub log_index: Option<String>,
    pub log_id: LogId,
    pub kind_version: KindVersion,
    #[serde(default)]
    pub integrated_time: Option<String>,
    #[serde(default)]
    pub inclusion_promise: Option<InclusionPromise>,
    #[serde(default)]
    pub inclusion_proof: Option<InclusionProof>,
    pub canonicalized_body: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    pub key_id: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct KindVersion {
    pub kind: String,
    pub version: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionPromise {
    pub signed_entry_timestamp: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    pub log_index: String,
    pub root_hash: String,
    pub tree_size: String,
    #[serde(default)]
    pub hashes: Vec<String>,
    pub checkpoint: Option<Checkpoint>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Checkpoint {
    pub envelope: String,
}

/// What a verified entry proves.
#[derive(Clone, Debug)]
pub struct Proven {
    /// The entry's `integratedTime`, when it is a verified signing time (Rekor v1 with a valid
    /// SET or proof); `None` for Rekor v2, whose time must come from a timestamp authority.
    pub integrated_time: Option<Time>,
}

/// What the entry's body must say: the signature and who made it, over which artifact.
pub enum Expected<'a> {
    /// A `messageSignature`: `signature` over an artifact whose SHA-256 is `digest`.
    Message {
        digest: &'a [u8],
        signature: &'a [u8],
        verifier: Signer<'a>,
    },
    /// A DSSE envelope (raw JSON bytes as in the bundle, and its parsed view).
    Dsse {
        envelope: &'a super::dsse::Envelope,
        verifier: Signer<'a>,
    },
}

/// The signer as the log records it.
#[derive(Clone, Copy)]
pub enum Signer<'a> {
    /// A leaf certificate, DER.
    Certificate(&'a [u8]),
    /// A public key, DER SubjectPublicKeyInfo.
    Key(&'a [u8]),
}

/// Verifies the entry's SET and/or inclusion proof and checkpoint with `root`'s logs.
pub fn verify_entry(entry: &Entry, root: &TrustedRoot) -> Result<Proven, SigstoreError> {
    let _ = (entry, root);
    Err(SigstoreError::Tlog(
        "verification not implemented yet".into(),
    ))
}

/// Verifies a Rekor v1 signed entry timestamp: the log's signature over the canonical JSON of
/// `{body, integratedTime, logID, logIndex}` (cosign's `dev.sigstore.cosign/bundle` too).
/// `body_b64` is the base64 canonicalized body, `log_id_hex` the hex log id.
pub fn verify_set(
    body_b64: &str,
    integrated_time: i64,
    log_index: i64,
    log_id_hex: &str,
    set: &[u8],
    root: &TrustedRoot,
) -> Result<(), SigstoreError> {
    let _ = (body_b64, integrated_time, log_index, log_id_hex, set, root);
    Err(SigstoreError::Tlog(
        "verification not implemented yet".into(),
    ))
}

/// Checks the entry's body records exactly `expected`.
pub fn check_body(entry: &Entry, expected: &Expected<'_>) -> Result<(), SigstoreError> {
    let _ = (entry, expected);
    Err(SigstoreError::Tlog("body check not implemented yet".into()))
}
