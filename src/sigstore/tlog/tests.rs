//! The log-entry checks against real entries from the sigstore-conformance bundles.

use sha2::{Digest as _, Sha256};

use super::super::dsse::Envelope;
use super::super::{b64, SigstoreError, TrustedRoot};
use super::*;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/vectors/sigstore-conformance/bundle-verify"
);

/// One conformance case: its bundle, first log entry and trusted root.
struct Case {
    dir: String,
    bundle: serde_json::Value,
    entry: Entry,
    root: TrustedRoot,
}

fn case(name: &str) -> Case {
    let dir = format!("{VECTORS}/{name}");
    let bundle: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/bundle.sigstore.json")).unwrap(),
    )
    .unwrap();
    let entry: Entry =
        serde_json::from_value(bundle["verificationMaterial"]["tlogEntries"][0].clone()).unwrap();
    let root = match std::fs::read_to_string(format!("{dir}/trusted_root.json")) {
        Ok(t) => TrustedRoot::from_json(&t).unwrap(),
        Err(_) => TrustedRoot::builtin(false),
    };
    Case {
        dir,
        bundle,
        entry,
        root,
    }
}

impl Case {
    fn verify(&self) -> Result<Proven, SigstoreError> {
        let version = self.bundle["mediaType"].as_str().unwrap();
        let v = if version.ends_with("version=0.1") {
            "0.1"
        } else {
            "0.2+"
        };
        verify_entry_for(&self.entry, &self.root, Requires::for_bundle_version(v))
    }

    /// The signer's DER: the bundle's leaf certificate, or the case's `key.pub`.
    fn signer_der(&self) -> (bool, Vec<u8>) {
        let vm = &self.bundle["verificationMaterial"];
        let cert = vm["certificate"]["rawBytes"]
            .as_str()
            .or(vm["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str());
        match cert {
            Some(c) => (true, b64("cert", c).unwrap()),
            None => {
                let pem = std::fs::read_to_string(format!("{}/key.pub", self.dir)).unwrap();
                let (_, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
                (false, der)
            }
        }
    }

    /// Checks the body against the bundle's signature and the case's artifact.
    fn check_body(&self) -> Result<(), SigstoreError> {
        let (is_cert, der) = self.signer_der();
        let verifier = if is_cert {
            Signer::Certificate(&der)
        } else {
            Signer::Key(&der)
        };
        if let Some(env) = self.bundle.get("dsseEnvelope") {
            let envelope: Envelope = serde_json::from_value(env.clone()).unwrap();
            check_body(
                &self.entry,
                &Expected::Dsse {
                    envelope: &envelope,
                    verifier,
                },
            )
        } else {
            let artifact = std::fs::read(format!("{}/artifact", self.dir))
                .or_else(|_| std::fs::read(format!("{VECTORS}/a.txt")))
                .unwrap();
            let digest = Sha256::digest(&artifact);
            let sig = b64(
                "sig",
                self.bundle["messageSignature"]["signature"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
            check_body(
                &self.entry,
                &Expected::Message {
                    digest: &digest,
                    signature: &sig,
                    verifier,
                },
            )
        }
    }
}

fn tlog_error(r: Result<impl std::fmt::Debug, SigstoreError>, why: &str, name: &str) {
    match r {
        Err(SigstoreError::Tlog(m)) => assert!(m.contains(why), "{name}: {m:?} lacks {why:?}"),
        other => panic!("{name}: expected a transparency-log error ({why}), got {other:?}"),
    }
}

#[test]
fn happy_entries_verify_and_match_their_bundles() {
    for name in [
        "happy-path-v0.1",
        "happy-path-v0.2",
        "happy-path-v0.3",
        "happy-path-v0.3-new-mediaType",
        "happy-path-intoto-in-dsse-v3",
        "intoto-with-custom-trust-root",
        "managed-key-happy-path",
        "managed-key-and-trusted-root",
        "trust-root-tlog-validity-end-inclusive",
        "rekor2-happy-path",
        "rekor2-dsse-happy-path",
        "rekor2-checkpoint-cosigned",
        "rekor2-checkpoint-multiple-cosigs",
        "rekor2-checkpoint-origin-not-first",
        "rekor2-checkpoint-two-sigs-cosigned",
        "rekor2-checkpoint-two-sigs-from-origin",
        "rekor2-timestamp-with-embedded-cert",
        "rekor2-timestamp-without-embedded-cert",
        "bundle-with-sct-with-extensions",
    ] {
        let c = case(name);
        let p = c.verify().unwrap_or_else(|e| panic!("{name}: verify: {e}"));
        assert_eq!(
            p.rekor_v2,
            name.starts_with("rekor2") || name == "bundle-with-sct-with-extensions"
        );
        assert_eq!(p.integrated_time.is_none(), p.rekor_v2, "{name}");
        if let Some(t) = p.integrated_time {
            assert_eq!(
                t.to_string(),
                c.entry.integrated_time.clone().unwrap(),
                "{name}"
            );
        }
        c.check_body()
            .unwrap_or_else(|e| panic!("{name}: body: {e}"));
    }
}

#[test]
fn broken_proofs_and_promises_are_refused_for_the_right_reason() {
    for (name, why) in [
        (
            "bundle-from-wrong-instance_fail",
            "which the trusted root does not name",
        ),
        (
            "set-invalid-signature_fail",
            "signed entry timestamp does not verify",
        ),
        (
            "inclusion-proof-corrupted-hash_fail",
            "inclusion proof: the path leads to root",
        ),
        (
            "invalid-inclusion-proof_fail",
            "the inclusion proof has no checkpoint",
        ),
        ("bundle-negative-log-index_fail", "log index -1 is negative"),
        ("checkpoint-bad-keyhint_fail", "no signature from the log"),
        (
            "checkpoint-wrong-roothash_fail",
            "checkpoint: it signs tree size 75610772",
        ),
        (
            "invalid-checkpoint-signature_fail",
            "does not verify with the log's key",
        ),
        (
            "rekor2-no-inclusion-proof_fail",
            "Rekor v2 entry has no inclusion proof",
        ),
        (
            "intoto-missing-inclusion-proof_fail",
            "has no inclusion proof",
        ),
        (
            "rekor2-checkpoint-missing-log-signature_fail",
            "no signature lines",
        ),
        (
            "rekor2-checkpoint-missing-origin_fail",
            "needs an origin, a tree size and a root hash",
        ),
        (
            "rekor2-checkpoint-missing-root-hash_fail",
            "needs an origin, a tree size and a root hash",
        ),
        (
            "rekor2-checkpoint-missing-size_fail",
            "needs an origin, a tree size and a root hash",
        ),
        (
            "rekor2-checkpoint-no-matching-signature_fail",
            "is not the log's name",
        ),
    ] {
        tlog_error(case(name).verify(), why, name);
    }
}

#[test]
fn bodies_that_record_another_signature_signer_or_artifact_are_refused() {
    for (name, why) in [
        (
            "wrong-hashedrekord-artifact_fail",
            "logged artifact digest is sha256:",
        ),
        ("wrong-hashedrekord-cert-and-sig_fail", "not the bundle's"),
        (
            "wrong-hashedrekord-entry_fail",
            "logged artifact digest is sha256:9d92fa",
        ),
        (
            "intoto-log-entry-mismatch_fail",
            "signature is not the envelope's",
        ),
        (
            "dsse-mismatch-envelope_fail",
            "logged payload digest is sha256:",
        ),
        (
            "rekor2-dsse-mismatch-envelope_fail",
            "the logged digest is SHA2_256",
        ),
    ] {
        let c = case(name);
        // The proofs are sound: only the body gives these away.
        c.verify().unwrap_or_else(|e| panic!("{name}: verify: {e}"));
        tlog_error(c.check_body(), why, name);
    }
}

#[test]
fn a_set_is_bound_to_every_field_it_signs() {
    let c = case("happy-path-v0.1");
    let e = &c.entry;
    let set = b64(
        "set",
        &e.inclusion_promise.as_ref().unwrap().signed_entry_timestamp,
    )
    .unwrap();
    let id = hex(&b64("id", &e.log_id.key_id).unwrap());
    let (t, i): (i64, i64) = (
        e.integrated_time.as_ref().unwrap().parse().unwrap(),
        e.log_index.as_ref().unwrap().parse().unwrap(),
    );
    verify_set(&e.canonicalized_body, t, i, &id, &set, &c.root).unwrap();
    tlog_error(
        verify_set(&e.canonicalized_body, t + 1, i, &id, &set, &c.root),
        "does not verify",
        "time",
    );
    tlog_error(
        verify_set(&e.canonicalized_body, t, i + 1, &id, &set, &c.root),
        "does not verify",
        "index",
    );
    tlog_error(
        verify_set("e30=", t, i, &id, &set, &c.root),
        "does not verify",
        "body",
    );
    tlog_error(
        verify_set(&e.canonicalized_body, t, i, &"00".repeat(32), &set, &c.root),
        "does not name",
        "log",
    );
    // Outside the log key's validity the SET is not even checked.
    tlog_error(
        verify_set(&e.canonicalized_body, 1_000_000_000, i, &id, &set, &c.root),
        "was not valid at the integrated time",
        "validity",
    );
}

#[test]
fn an_integrated_time_in_the_future_is_refused() {
    let c = case("happy-path-v0.1");
    let t: i64 = c.entry.integrated_time.as_ref().unwrap().parse().unwrap();
    tlog_error(
        verify_at(&c.entry, &c.root, None, t - 1),
        "is in the future",
        "future",
    );
    assert!(verify_at(&c.entry, &c.root, None, t).is_ok());
}

#[test]
fn bundle_versions_require_their_proofs() {
    // A v0.1 entry needs its SET: take it away and only the proof remains.
    let mut c = case("happy-path-v0.1");
    c.entry.inclusion_promise = None;
    tlog_error(
        verify_entry_for(&c.entry, &c.root, Requires::Promise),
        "needs an inclusion promise",
        "v0.1",
    );
    let p = verify_entry_for(&c.entry, &c.root, Requires::Proof).unwrap();
    assert_eq!(
        p.integrated_time, None,
        "a proof alone does not sign the time"
    );
    c.entry.inclusion_proof = None;
    tlog_error(
        verify_entry(&c.entry, &c.root),
        "neither an inclusion promise nor an inclusion proof",
        "none",
    );
}

#[test]
fn a_body_of_another_kind_or_a_tampered_body_is_refused() {
    let mut c = case("rekor2-happy-path");
    c.entry.kind_version.kind = "dsse".into();
    tlog_error(c.check_body(), "the entry says dsse", "kind");
    let c = case("happy-path-v0.3");
    let env: Envelope = serde_json::from_str(
        r#"{"payload":"e30=","payloadType":"x","signatures":[{"sig":"AA=="}]}"#,
    )
    .unwrap();
    tlog_error(
        check_body(
            &c.entry,
            &Expected::Dsse {
                envelope: &env,
                verifier: Signer::Key(b"k"),
            },
        ),
        "a hashedrekord 0.0.1 entry cannot record a DSSE envelope",
        "dsse in hashedrekord",
    );
    let mut c = c;
    let mut body = b64("b", &c.entry.canonicalized_body).unwrap();
    if let Some(b) = body.iter_mut().rev().find(|b| b.is_ascii_digit()) {
        *b = if *b == b'0' { b'1' } else { b'0' };
    }
    use base64::Engine;
    c.entry.canonicalized_body = base64::engine::general_purpose::STANDARD.encode(&body);
    assert!(
        c.verify().is_err(),
        "a tampered body breaks the SET and the proof"
    );
}
