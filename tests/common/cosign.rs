//! Signatures and referrers made the way cosign and oras write them, with a P-256 key made in
//! the test: cosign 2 `.sig` tags (simple-signing payload, signature annotation) and OCI 1.1
//! referrers (`subject`) listed through the fallback tag `sha256-<hex>`.

use super::fixtures::*;
use super::upload::Client;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{json, Value};

pub const SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIG_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const EMPTY_JSON: &str = "application/vnd.oci.empty.v1+json";

/// A deterministic P-256 key from a seed byte.
pub fn key(seed: u8) -> SigningKey {
    let mut bytes = [seed; 32];
    bytes[0] = 1;
    SigningKey::from_bytes(&bytes.into()).expect("valid P-256 scalar")
}

/// The PEM public key (`cosign.pub`).
pub fn public_pem(k: &SigningKey) -> String {
    k.verifying_key().to_public_key_pem(LineEnding::LF).unwrap()
}

/// The simple-signing payload cosign signs.
pub fn payload(docker_reference: &str, digest: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature"
        },
        "optional": null
    }))
    .unwrap()
}

/// A cosign 2 signature manifest over `digest` for `docker_reference`, signed by `k`; returns
/// (manifest, config, payload layer).
pub fn cosign_signature(docker_reference: &str, digest: &str, k: &SigningKey) -> [Blob; 3] {
    let p = payload(docker_reference, digest);
    let sig: Signature = k.sign(&p);
    signature_with(p, &STANDARD.encode(sig.to_der().as_bytes()))
}

/// A signature manifest over an arbitrary payload with an arbitrary signature annotation.
pub fn signature_with(payload: Vec<u8>, sig_b64: &str) -> [Blob; 3] {
    cosign_manifest(
        Blob::new(SIMPLESIGNING, payload),
        json!({ SIG_ANNOTATION: sig_b64 }),
    )
}

/// A cosign manifest (as cosign writes `.sig` and `.att`) with one layer carrying
/// `annotations`: (manifest, config, layer).
pub fn cosign_manifest(layer: Blob, annotations: Value) -> [Blob; 3] {
    let config = Blob::json(
        OCI_CONFIG,
        &json!({"architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
                "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                "rootfs": {"type": "layers", "diff_ids": [layer.digest]}}),
    );
    let mut ld = layer.descriptor();
    ld["annotations"] = annotations;
    let manifest = Blob::json(
        OCI_MANIFEST,
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.descriptor(), "layers": [ld]}),
    );
    [manifest, config, layer]
}

/// A cosign signature manifest over `digest`, pushed as `repo:sha256-<hex>.sig`.
pub fn push_cosign_signature(
    c: &Client,
    repo: &str,
    docker_reference: &str,
    digest: &str,
    k: &SigningKey,
) -> Blob {
    let [manifest, config, layer] = cosign_signature(docker_reference, digest, k);
    c.push_blob(repo, &config.bytes);
    c.push_blob(repo, &layer.bytes);
    let tag = format!("sha256-{}.sig", digest.trim_start_matches("sha256:"));
    c.push_manifest(repo, &tag, OCI_MANIFEST, &manifest.bytes);
    manifest
}

/// An OCI 1.1 referrer of `subject` (an artifact manifest with `subject`), pushed by digest.
pub fn push_referrer(
    c: &Client,
    repo: &str,
    subject: &Value,
    artifact_type: &str,
    content: &[u8],
) -> Blob {
    let empty = Blob::new(EMPTY_JSON, b"{}".to_vec());
    let layer = Blob::new(artifact_type, content.to_vec());
    let manifest = Blob::json(
        OCI_MANIFEST,
        &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
                "config": empty.descriptor(), "layers": [layer.descriptor()], "subject": subject,
                "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}}),
    );
    c.push_blob(repo, &empty.bytes);
    c.push_blob(repo, &layer.bytes);
    c.push_manifest(repo, &manifest.digest, OCI_MANIFEST, &manifest.bytes);
    manifest
}

/// Writes the referrers fallback tag `sha256-<hex>` of `subject_digest` listing `referrers`
/// (as oras and cosign do on registries without the referrers API).
pub fn set_fallback(c: &Client, repo: &str, subject_digest: &str, referrers: &[(&Blob, &str)]) {
    let entries: Vec<Value> = referrers
        .iter()
        .map(|(b, at)| {
            let mut d = b.descriptor();
            d["artifactType"] = json!(at);
            d
        })
        .collect();
    let idx = Blob::json(
        OCI_INDEX,
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}),
    );
    let tag = format!("sha256-{}", subject_digest.trim_start_matches("sha256:"));
    c.push_manifest(repo, &tag, OCI_INDEX, &idx.bytes);
}
