//! The artifacts cosign writes with the test Sigstore: keyless `.sig` signatures, keyless `.att`
//! attestations and sigstore bundles pushed as OCI 1.1 referrers.

use super::*;

impl TestSigstore {
    /// A cosign 2 keyless `.sig` manifest over `digest` (manifest, config, payload layer).
    pub fn keyless_signature(
        &self,
        docker_reference: &str,
        digest: &str,
        s: &Signing,
    ) -> [Blob; 3] {
        let signed_digest = match &s.tamper {
            Tamper::OtherSubject(d) => d.as_str(),
            _ => digest,
        };
        let p = payload(docker_reference, signed_digest);
        let leaf = self.leaf(s);
        let sig: p256::ecdsa::Signature = if s.tamper == Tamper::BadSignature {
            leaf.key.sign(&payload(
                docker_reference,
                &super::super::digest(b"another payload"),
            ))
        } else {
            leaf.key.sign(&p)
        };
        let sig_b64 = STANDARD.encode(sig.to_der().as_bytes());
        let body = hashedrekord_body(&Sha256::digest(&p).into(), &sig_b64, &leaf.pem);
        let entry = self.log(body, s);
        let annotations = json!({
            SIG_ANNOTATION: sig_b64,
            CERT_ANNOTATION: leaf.pem,
            CHAIN_ANNOTATION: self.chain_pem(),
            BUNDLE_ANNOTATION: entry.cosign_bundle(),
        });
        cosign_manifest(Blob::new(SIMPLESIGNING, p), annotations)
    }

    /// Pushes [`keyless_signature`](Self::keyless_signature) as `repo:sha256-<hex>.sig`.
    pub fn push_keyless_signature(
        &self,
        c: &Client,
        repo: &str,
        docker_reference: &str,
        digest: &str,
        s: &Signing,
    ) -> Blob {
        push_tagged(
            c,
            repo,
            digest,
            "sig",
            self.keyless_signature(docker_reference, digest, s),
        )
    }

    /// A DSSE envelope over an in-toto statement for `digest` signed by `s`'s leaf, and that
    /// leaf: (envelope JSON bytes, payload, signature, leaf).
    fn dsse(
        &self,
        subject_name: &str,
        digest: &str,
        s: &Signing,
    ) -> (Vec<u8>, Vec<u8>, Vec<u8>, Leaf) {
        let subject = match &s.tamper {
            Tamper::OtherSubject(d) => d.as_str(),
            _ => digest,
        };
        let statement = in_toto_statement(subject_name, subject);
        let leaf = self.leaf(s);
        let signed = if s.tamper == Tamper::BadSignature {
            pae(
                IN_TOTO,
                &in_toto_statement(subject_name, &super::super::digest(b"another")),
            )
        } else {
            pae(IN_TOTO, &statement)
        };
        let sig: p256::ecdsa::Signature = leaf.key.sign(&signed);
        let sig = sig.to_der().as_bytes().to_vec();
        let envelope = serde_json::to_vec(&json!({
            "payloadType": IN_TOTO,
            "payload": STANDARD.encode(&statement),
            "signatures": [{"keyid": "", "sig": STANDARD.encode(&sig)}],
        }))
        .unwrap();
        (envelope, statement, sig, leaf)
    }

    /// A cosign 2 keyless `.att` manifest: one DSSE layer with an in-toto SLSA provenance
    /// statement about `digest` (manifest, config, envelope layer).
    pub fn keyless_attestation(&self, subject_name: &str, digest: &str, s: &Signing) -> [Blob; 3] {
        let (envelope, statement, sig, leaf) = self.dsse(subject_name, digest, s);
        let entry = self.log(intoto_body(&statement, &sig, &leaf.pem), s);
        let annotations = json!({
            SIG_ANNOTATION: "",
            BUNDLE_ANNOTATION: entry.cosign_bundle(),
            CERT_ANNOTATION: leaf.pem,
            CHAIN_ANNOTATION: self.chain_pem(),
            PREDICATE_TYPE_ANNOTATION: SLSA_PROVENANCE_V1,
        });
        cosign_manifest(Blob::new(DSSE_ENVELOPE, envelope), annotations)
    }

    /// Pushes [`keyless_attestation`](Self::keyless_attestation) as `repo:sha256-<hex>.att`.
    pub fn push_keyless_attestation(
        &self,
        c: &Client,
        repo: &str,
        subject_name: &str,
        digest: &str,
        s: &Signing,
    ) -> Blob {
        push_tagged(
            c,
            repo,
            digest,
            "att",
            self.keyless_attestation(subject_name, digest, s),
        )
    }

    /// A sigstore bundle v0.3 (JSON bytes) holding a DSSE in-toto statement about `digest`, the
    /// leaf certificate and one intoto 0.0.2 log entry with its promise and proof.
    pub fn bundle(&self, subject_name: &str, digest: &str, s: &Signing) -> Vec<u8> {
        let (_, statement, sig, leaf) = self.dsse(subject_name, digest, s);
        let entry = self.log(intoto_body(&statement, &sig, &leaf.pem), s);
        serde_json::to_vec(&json!({
            "mediaType": SIGSTORE_BUNDLE_V03,
            "verificationMaterial": {
                "certificate": {"rawBytes": STANDARD.encode(&leaf.der)},
                "tlogEntries": [entry.bundle_entry("intoto", "0.0.2")],
            },
            "dsseEnvelope": {
                "payload": STANDARD.encode(&statement),
                "payloadType": IN_TOTO,
                "signatures": [{"sig": STANDARD.encode(&sig)}],
            },
        }))
        .unwrap()
    }

    /// Pushes [`bundle`](Self::bundle) as an OCI 1.1 referrer of `subject` (a descriptor of the
    /// signed manifest) the way cosign 3 does, by digest. The caller writes the fallback tag
    /// (`cosign::set_fallback` with [`SIGSTORE_BUNDLE_V03`]) once all referrers are pushed.
    /// Returns (the referrer manifest, the bundle blob).
    pub fn push_bundle_referrer(
        &self,
        c: &Client,
        repo: &str,
        subject_name: &str,
        subject: &Value,
        s: &Signing,
    ) -> (Blob, Blob) {
        let digest = subject["digest"].as_str().unwrap();
        let layer = Blob::new(SIGSTORE_BUNDLE_V03, self.bundle(subject_name, digest, s));
        let empty = Blob::new(EMPTY_JSON, b"{}".to_vec());
        let manifest = Blob::json(
            OCI_MANIFEST,
            &json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "artifactType": SIGSTORE_BUNDLE_V03,
            "config": empty.descriptor(), "layers": [layer.descriptor()],
            "subject": subject,
            "annotations": {
                "dev.sigstore.bundle.content": "dsse-envelope",
                "dev.sigstore.bundle.predicateType": SLSA_PROVENANCE_V1,
                "org.opencontainers.image.created": rfc3339(s.integrated_time),
            }}),
        );
        c.push_blob(repo, &empty.bytes);
        c.push_blob(repo, &layer.bytes);
        c.push_manifest(repo, &manifest.digest, OCI_MANIFEST, &manifest.bytes);
        (manifest, layer)
    }
}

pub use super::super::cosign::cosign_manifest;

/// A simple-signing signature manifest whose layer carries arbitrary `annotations`.
pub fn signature_with_annotations(payload: Vec<u8>, annotations: Value) -> [Blob; 3] {
    cosign_manifest(Blob::new(SIMPLESIGNING, payload), annotations)
}

/// Pushes a cosign manifest as `repo:sha256-<hex of digest>.<suffix>`; returns the manifest.
pub fn push_tagged(c: &Client, repo: &str, digest: &str, suffix: &str, blobs: [Blob; 3]) -> Blob {
    let [manifest, config, layer] = blobs;
    c.push_blob(repo, &config.bytes);
    c.push_blob(repo, &layer.bytes);
    let tag = format!("sha256-{}.{suffix}", digest.trim_start_matches("sha256:"));
    c.push_manifest(repo, &tag, OCI_MANIFEST, &manifest.bytes);
    manifest
}

/// An in-toto v1 statement (SLSA provenance v1) about `digest`, named `name`, compact JSON.
pub fn in_toto_statement(name: &str, digest: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": IN_TOTO_STATEMENT_V1,
        "subject": [{"name": name, "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": "https://ferry.test/buildtypes/release/v1",
                "externalParameters": {"repository": "https://github.com/ferry-test/app", "ref": "refs/heads/main"},
            },
            "runDetails": {"builder": {"id": "https://github.com/ferry-test/app/.github/workflows/release.yml@refs/heads/main"}},
        },
    }))
    .unwrap()
}

/// DSSE's pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    v.extend_from_slice(payload);
    v
}
