//! `verify --key`: cosign 2 key-based signatures, offline (DESIGN §6). A signature is an entry
//! tagged `sha256-<hex>.sig` with `io.ferry.subject`; each of its simple-signing layers carries
//! a base64 DER ECDSA P-256 signature (`dev.cosignproject.cosign/signature`) over the layer's
//! bytes, a JSON payload naming the signed manifest digest. Cosign 3 sigstore bundles (OCI
//! referrers) are recognised and reported as not checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::Serialize;

use super::VerifyError;
use crate::digest::Digest;
use crate::layout::graph::{Entries, Graph};
use crate::layout::reader::Bundle;
use crate::manifest::MAX_MANIFEST_SIZE;

/// Media type of a cosign simple-signing payload layer.
pub const SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Layer annotation holding the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Artifact type prefix of cosign 3 / sigstore bundles stored as referrers.
pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle";

/// The signature state of one manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "kebab-case")]
pub enum SigStatus {
    /// A cosign signature verified with the key over this manifest's digest.
    Valid,
    /// Cosign signatures exist, none of them verifies; the reason of the first.
    Invalid(String),
    Unsigned,
    /// Signed only in a format ferry does not check (sigstore bundle).
    NotChecked(String),
    /// Cosign signatures exist but no `--key` was given.
    NoKey,
}

impl std::fmt::Display for SigStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigStatus::Valid => write!(f, "signed, valid"),
            SigStatus::Invalid(r) => write!(f, "signed, INVALID ({r})"),
            SigStatus::Unsigned => write!(f, "unsigned"),
            SigStatus::NotChecked(what) => write!(f, "signed in a format not checked ({what})"),
            SigStatus::NoKey => write!(f, "signed, not checked (no --key)"),
        }
    }
}

/// Reads a PEM public key (`-----BEGIN PUBLIC KEY-----`, an ECDSA P-256 SubjectPublicKeyInfo).
pub fn load_key(path: &Path) -> Result<VerifyingKey, VerifyError> {
    let text = std::fs::read_to_string(path).map_err(|source| VerifyError::KeyRead {
        path: path.to_path_buf(),
        source,
    })?;
    VerifyingKey::from_public_key_pem(text.trim()).map_err(|source| VerifyError::KeyFormat {
        path: path.to_path_buf(),
        source,
    })
}

/// Checks one simple-signing layer; Err is why it does not count.
fn check_layer(
    bundle: &Bundle,
    key: &VerifyingKey,
    layer: &crate::manifest::Checked,
    subject: &Digest,
) -> Result<(), String> {
    let sig_b64 = layer
        .descriptor
        .annotations
        .get(SIGNATURE_ANNOTATION)
        .ok_or_else(|| {
            format!(
                "layer {} has no {SIGNATURE_ANNOTATION} annotation",
                layer.digest
            )
        })?;
    let payload = match bundle.read_blob_verified(&layer.digest, MAX_MANIFEST_SIZE) {
        Ok(Some(p)) => p,
        Ok(None) => return Err(format!("payload {} is missing", layer.digest)),
        Err(e) => return Err(format!("payload {}: {e}", layer.digest)),
    };
    verify_payload(key, &payload, sig_b64, subject)
}

/// Checks a base64 DER signature over `payload` with `key`, and that the payload signs
/// `subject`; Err is why not.
pub fn verify_payload(
    key: &VerifyingKey,
    payload: &[u8],
    sig_b64: &str,
    subject: &Digest,
) -> Result<(), String> {
    let der = STANDARD
        .decode(sig_b64.trim())
        .map_err(|e| format!("the signature is not base64: {e}"))?;
    let sig = Signature::from_der(&der)
        .map_err(|_| "the signature is not an ASN.1 DER ECDSA P-256 signature".to_string())?;
    key.verify(payload, &sig)
        .map_err(|_| "the signature does not verify with this key".to_string())?;
    let v: serde_json::Value = serde_json::from_slice(payload)
        .map_err(|e| format!("the signed payload is not JSON: {e}"))?;
    let signed = v
        .pointer("/critical/image/docker-manifest-digest")
        .and_then(|x| x.as_str())
        .ok_or("the signed payload has no critical.image.docker-manifest-digest")?;
    if signed != subject.to_string() {
        return Err(format!(
            "the payload signs {signed}, not this manifest {subject}"
        ));
    }
    Ok(())
}

/// Checks one `.sig` entry over `subject`; Err is why it is invalid.
fn check_entry(
    bundle: &Bundle,
    key: &VerifyingKey,
    graph: &Graph,
    tag: Option<&str>,
    subject: &Digest,
    in_bundle: &BTreeSet<Digest>,
) -> Result<(), String> {
    let expected_tag = format!("{}-{}.sig", subject.algorithm().name(), subject.hex());
    if tag != Some(expected_tag.as_str()) {
        return Err(format!(
            "tag {} does not name the subject {subject}",
            tag.unwrap_or("(none)")
        ));
    }
    if !in_bundle.contains(subject) {
        return Err(format!(
            "the signed manifest {subject} is not in the bundle"
        ));
    }
    let Some(root) = graph.root() else {
        return Err("the signature manifest cannot be read".into());
    };
    let layers: Vec<_> = root
        .layers
        .iter()
        .filter(|l| l.descriptor.media_type == SIMPLESIGNING)
        .collect();
    if layers.is_empty() {
        return Err("the signature manifest has no simple-signing layer".into());
    }
    let mut first = None;
    for l in layers {
        match check_layer(bundle, key, l, subject) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.unwrap_or_default())
}

/// Signature states of every subject that has a signature, and the invalid ones as
/// (signature entry, subject, reason).
pub struct Signatures {
    pub by_subject: BTreeMap<Digest, SigStatus>,
    pub invalid: Vec<(String, Digest, String)>,
}

/// Finds every signature in the bundle and checks the cosign ones with `key`.
pub fn check_all(
    bundle: &Bundle,
    entries: &Entries,
    graphs: &[Graph],
    key: Option<&VerifyingKey>,
) -> Signatures {
    let in_bundle: BTreeSet<Digest> = graphs
        .iter()
        .flat_map(|g| g.nodes.iter().map(|n| n.digest.clone()))
        .collect();
    // Per subject, each `.sig` entry's result: Err((entry name, reason)).
    type Checks = Vec<Result<(), (String, String)>>;
    let mut cosign: BTreeMap<Digest, Checks> = BTreeMap::new();
    let mut sigstore: BTreeSet<Digest> = BTreeSet::new();
    for (e, g) in entries.entries.iter().zip(graphs) {
        let Some(subject) = &e.subject else { continue };
        let artifact_type = e
            .artifact_type()
            .map(str::to_string)
            .or_else(|| g.root().and_then(|r| artifact_type_of(&r.bytes)));
        if artifact_type.is_some_and(|t| t.starts_with(SIGSTORE_BUNDLE)) {
            sigstore.insert(subject.clone());
            continue;
        }
        if !e.tag().is_some_and(|t| t.ends_with(".sig")) {
            continue;
        }
        let result = match key {
            None => Ok(()),
            Some(k) => check_entry(bundle, k, g, e.tag(), subject, &in_bundle)
                .map_err(|r| (e.name.clone(), r)),
        };
        cosign.entry(subject.clone()).or_default().push(result);
    }
    let mut out = Signatures {
        by_subject: BTreeMap::new(),
        invalid: Vec::new(),
    };
    for (subject, results) in cosign {
        let status = if key.is_none() {
            SigStatus::NoKey
        } else if results.iter().any(Result::is_ok) {
            SigStatus::Valid
        } else {
            let (name, reason) = results
                .into_iter()
                .find_map(Result::err)
                .unwrap_or_default();
            out.invalid.push((name, subject.clone(), reason.clone()));
            SigStatus::Invalid(reason)
        };
        out.by_subject.insert(subject, status);
    }
    for s in sigstore {
        out.by_subject
            .entry(s)
            .or_insert_with(|| SigStatus::NotChecked("sigstore bundle".into()));
    }
    out
}

fn artifact_type_of(bytes: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    v.get("artifactType")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::SigningKey;

    #[test]
    fn checks_key_signature_and_signed_digest() {
        let k = SigningKey::from_bytes(&[3u8; 32].into()).unwrap();
        let other = SigningKey::from_bytes(&[4u8; 32].into()).unwrap();
        let subject = Digest::sha256_of(b"manifest");
        let payload = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"r.local/a"}},"image":{{"docker-manifest-digest":"{subject}"}},"type":"cosign container image signature"}},"optional":null}}"#
        );
        let sign = |k: &SigningKey, p: &[u8]| {
            let s: Signature = k.sign(p);
            STANDARD.encode(s.to_der().as_bytes())
        };
        let good = sign(&k, payload.as_bytes());
        let vk = k.verifying_key();
        assert_eq!(
            verify_payload(vk, payload.as_bytes(), &good, &subject),
            Ok(())
        );
        let wrong_key = verify_payload(other.verifying_key(), payload.as_bytes(), &good, &subject);
        assert!(wrong_key.unwrap_err().contains("does not verify"));
        let elsewhere = Digest::sha256_of(b"another");
        let err = verify_payload(vk, payload.as_bytes(), &good, &elsewhere).unwrap_err();
        assert!(err.contains("the payload signs"), "{err}");
        assert!(verify_payload(vk, b"tampered", &good, &subject).is_err());
        assert!(verify_payload(vk, payload.as_bytes(), "%%", &subject).is_err());
        assert!(verify_payload(vk, payload.as_bytes(), "AAAA", &subject).is_err());
        assert_eq!(
            SigStatus::Invalid("x".into()).to_string(),
            "signed, INVALID (x)"
        );
    }
}
