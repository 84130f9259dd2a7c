//! Rekor transparency-log entries (v1 and v2): the signed entry timestamp (SET), the inclusion
//! proof against a signed checkpoint (a signed note), and whether the entry's body is the one
//! for this signature, key and artifact (hashedrekord, intoto, dsse kinds).

use serde::Deserialize;

use super::time::Time;
use super::trust_root::{Log, TrustedRoot};
use super::{b64, hex, SigstoreError};

mod body;
mod checkpoint;
mod merkle;
mod schema;
mod set;
#[cfg(test)]
mod tests;

pub use set::verify_set;

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
    /// The entry's `integratedTime`, when it is a verified signing time: a Rekor v1 entry whose
    /// SET verified (an inclusion proof alone does not sign the time, as in sigstore-go);
    /// `None` for Rekor v2, whose time must come from a timestamp authority.
    pub integrated_time: Option<Time>,
    /// Whether the entry is a Rekor v2 one (kind version 0.0.2 of hashedrekord or dsse).
    pub rekor_v2: bool,
    /// Whether an inclusion proof against a signed checkpoint verified.
    pub inclusion_proven: bool,
}

/// What the entry's body must say: the signature and who made it, over which artifact.
pub enum Expected<'a> {
    /// A `messageSignature`: `signature` over an artifact whose SHA-256 is `digest`.
    Message {
        digest: &'a [u8],
        signature: &'a [u8],
        verifier: Signer<'a>,
    },
    /// A DSSE envelope, parsed (its digests and signature are compared, not its JSON bytes).
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

/// What a bundle's version requires of its log entries (sigstore bundle spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requires {
    /// Bundle v0.1: an inclusion promise (SET); the inclusion proof is optional.
    Promise,
    /// Bundle v0.2 and later: an inclusion proof with a checkpoint.
    Proof,
}

impl Requires {
    /// What a bundle of `version` (`"0.1"`, `"v0.2"`, `"0.3"`…) requires.
    pub fn for_bundle_version(version: &str) -> Requires {
        if version.trim().trim_start_matches('v') == "0.1" {
            Requires::Promise
        } else {
            Requires::Proof
        }
    }
}

/// Whether an entry is a Rekor v2 one: it has no SET and no integrated time.
pub fn is_rekor_v2(entry: &Entry) -> bool {
    let kv = &entry.kind_version;
    kv.version == "0.0.2" && matches!(kv.kind.as_str(), "hashedrekord" | "dsse")
}

/// Verifies the entry's SET and/or inclusion proof and checkpoint with `root`'s logs.
/// It checks what the entry itself must have (a SET or a proof; a proof for Rekor v2), not
/// what the bundle's version requires: [`verify_entry_for`] does both.
pub fn verify_entry(entry: &Entry, root: &TrustedRoot) -> Result<Proven, SigstoreError> {
    verify_at(entry, root, None, now())
}

/// [`verify_entry`], plus the proofs the bundle's version requires (`Requires::for_bundle_version`).
pub fn verify_entry_for(
    entry: &Entry,
    root: &TrustedRoot,
    requires: Requires,
) -> Result<Proven, SigstoreError> {
    verify_at(entry, root, Some(requires), now())
}

fn now() -> Time {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as Time)
}

pub(crate) fn tlog_err(detail: impl std::fmt::Display) -> SigstoreError {
    SigstoreError::Tlog(detail.to_string())
}

/// A protobuf-JSON int64 (a decimal string; absent means 0).
fn int64(what: &'static str, s: Option<&str>) -> Result<i64, SigstoreError> {
    match s {
        None => Ok(0),
        Some(s) => s
            .trim()
            .parse()
            .map_err(|_| SigstoreError::malformed(what, format!("{s:?} is not an integer"))),
    }
}

fn verify_at(
    entry: &Entry,
    root: &TrustedRoot,
    requires: Option<Requires>,
    now: Time,
) -> Result<Proven, SigstoreError> {
    let log_index = int64("log entry logIndex", entry.log_index.as_deref())?;
    if log_index < 0 {
        return Err(tlog_err(format!("the log index {log_index} is negative")));
    }
    let log_id = b64("log entry logId", &entry.log_id.key_id)?;
    let log = root.tlog(&log_id).ok_or_else(|| {
        tlog_err(format!(
            "the entry is from log {}, which the trusted root does not name",
            hex(&log_id)
        ))
    })?;
    let rekor_v2 = is_rekor_v2(entry);
    let (promise, proof) = (&entry.inclusion_promise, &entry.inclusion_proof);
    if rekor_v2 && proof.is_none() {
        return Err(tlog_err("a Rekor v2 entry has no inclusion proof"));
    }
    if rekor_v2 && promise.is_some() {
        return Err(tlog_err(
            "a Rekor v2 entry carries a signed entry timestamp, which Rekor v2 does not make",
        ));
    }
    if promise.is_none() && proof.is_none() {
        return Err(tlog_err(
            "the entry has neither an inclusion promise nor an inclusion proof",
        ));
    }
    match requires {
        Some(Requires::Promise) if promise.is_none() => {
            return Err(tlog_err(
                "a v0.1 bundle's entry needs an inclusion promise (signed entry timestamp)",
            ))
        }
        Some(Requires::Proof) if proof.is_none() => {
            return Err(tlog_err(
                "the entry has no inclusion proof (required from bundle v0.2 on; ferry never asks the log)",
            ))
        }
        _ => {}
    }
    let body = b64("canonicalizedBody", &entry.canonicalized_body)?;
    let mut integrated_time = None;
    if let Some(promise) = promise {
        let t = int64("log entry integratedTime", entry.integrated_time.as_deref())?;
        if t <= 0 {
            return Err(tlog_err(
                "the entry has an inclusion promise but no integrated time",
            ));
        }
        if t > now {
            return Err(tlog_err(format!(
                "the integrated time {} is in the future (now {})",
                super::time::format_rfc3339(t),
                super::time::format_rfc3339(now)
            )));
        }
        let set = b64("signed entry timestamp", &promise.signed_entry_timestamp)?;
        set::verify_with(&body_b64(&body), t, log_index, &log_id, &set, log)?;
        integrated_time = Some(t);
    }
    if let Some(proof) = proof {
        verify_proof(&body, log_index, proof, log, rekor_v2)?;
    }
    Ok(Proven {
        integrated_time,
        rekor_v2,
        inclusion_proven: proof.is_some(),
    })
}

/// The canonical (padded, standard) base64 of the body, as Rekor signs it in a SET.
pub(crate) fn body_b64(body: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(body)
}

/// Verifies the inclusion proof against its checkpoint, signed by `log`.
fn verify_proof(
    body: &[u8],
    entry_index: i64,
    proof: &InclusionProof,
    log: &Log,
    rekor_v2: bool,
) -> Result<(), SigstoreError> {
    let cp = proof
        .checkpoint
        .as_ref()
        .ok_or_else(|| tlog_err("the inclusion proof has no checkpoint"))?;
    let index = int64("inclusion proof logIndex", Some(&proof.log_index))?;
    let size = int64("inclusion proof treeSize", Some(&proof.tree_size))?;
    let (Ok(index), Ok(size)) = (u64::try_from(index), u64::try_from(size)) else {
        return Err(tlog_err(format!(
            "inclusion proof: negative index {index} or tree size {size}"
        )));
    };
    // Rekor v1 proofs index the entry in its shard's tree; Rekor v2 has one tree.
    if rekor_v2 && i64::try_from(index).ok() != Some(entry_index) {
        return Err(tlog_err(format!(
            "inclusion proof: it is for index {index}, the entry is at {entry_index}"
        )));
    }
    let to_hash = |what: &'static str, s: &str| -> Result<merkle::Hash, SigstoreError> {
        let v = b64(what, s)?;
        v.as_slice().try_into().map_err(|_| {
            SigstoreError::malformed(what, format!("{} bytes, not 32 (SHA-256)", v.len()))
        })
    };
    let root_hash = to_hash("inclusion proof rootHash", &proof.root_hash)?;
    let path = proof
        .hashes
        .iter()
        .map(|h| to_hash("inclusion proof hash", h))
        .collect::<Result<Vec<_>, _>>()?;

    let signed = checkpoint::verify(&cp.envelope, log, rekor_v2)?;
    if signed.size != size || signed.root_hash != root_hash {
        return Err(tlog_err(format!(
            "checkpoint: it signs tree size {} root {}, the inclusion proof is for size {size} root {}",
            signed.size,
            hex(&signed.root_hash),
            hex(&root_hash)
        )));
    }
    let computed = merkle::root_from_path(index, size, merkle::leaf_hash(body), &path)
        .map_err(|e| tlog_err(format!("inclusion proof: {e}")))?;
    if computed != root_hash {
        return Err(tlog_err(format!(
            "inclusion proof: the path leads to root {}, not the checkpoint's {}",
            hex(&computed),
            hex(&root_hash)
        )));
    }
    Ok(())
}

/// Checks the entry's body records exactly `expected`: the same signature, the same signer
/// (certificates and keys compared as DER) and the same artifact digest or DSSE payload.
pub fn check_body(entry: &Entry, expected: &Expected<'_>) -> Result<(), SigstoreError> {
    body::check(entry, expected)
}
