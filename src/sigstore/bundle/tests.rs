//! The bundle checks of this module against the sigstore-conformance vectors: the parts that
//! need no certificate, log or timestamp verification run whole; the signature checks run with
//! the leaf's key read here; the time rules run with stand-in verifiers.

use der::{Decode, Encode};

use super::*;
use crate::sigstore::dsse::Statement;
use crate::sigstore::key::PublicKey;
use crate::sigstore::policy::Pattern;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/vectors/sigstore-conformance/bundle-verify"
);

fn read(case: &str, file: &str) -> Vec<u8> {
    std::fs::read(format!("{VECTORS}/{case}/{file}")).unwrap()
}

fn bundle_json(case: &str) -> Vec<u8> {
    read(case, "bundle.sigstore.json")
}

fn artifact(case: &str) -> Vec<u8> {
    std::fs::read(format!("{VECTORS}/{case}/artifact"))
        .unwrap_or_else(|_| std::fs::read(format!("{VECTORS}/a.txt")).unwrap())
}

fn default_policy() -> Policy {
    Policy::Identity {
        identity: Pattern::Exact("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into()),
        issuer: Pattern::Exact("https://token.actions.githubusercontent.com".into()),
    }
}

fn key_policy(case: &str) -> Policy {
    let pem = String::from_utf8(read(case, "key.pub")).unwrap();
    Policy::Key(PublicKey::from_pem(&pem).unwrap())
}

fn verify(case: &str, policy: &Policy) -> Result<Verified, SigstoreError> {
    let a = artifact(case);
    verify_bundle(
        &bundle_json(case),
        Artifact::Bytes(&a),
        policy,
        &case_root(case),
    )
}

/// The case's own trusted root, else the production one (as the conformance suite says).
fn case_root(case: &str) -> TrustedRoot {
    let p = std::path::Path::new(VECTORS)
        .join(case)
        .join("trusted_root.json");
    match std::fs::read_to_string(p) {
        Ok(t) => TrustedRoot::from_json(&t).unwrap(),
        Err(_) => TrustedRoot::builtin(false),
    }
}

/// The leaf's public key, read here without any trust decision.
fn leaf_key(b: &Bundle) -> PublicKey {
    let Material::Certificate { leaf, .. } = &b.material else {
        panic!("not keyless")
    };
    let c = x509_cert::Certificate::from_der(leaf).unwrap();
    let spki = c.tbs_certificate.subject_public_key_info.to_der().unwrap();
    PublicKey::from_spki_der(&spki).unwrap()
}

fn parse(case: &str) -> Bundle {
    Bundle::parse(&bundle_json(case)).unwrap()
}

#[test]
fn the_four_media_types_are_read_and_others_refused() {
    for (case, v) in [
        ("happy-path-v0.1", Version::V01),
        ("happy-path-v0.2", Version::V02),
        ("happy-path-v0.3", Version::V03),
        ("happy-path-v0.3-new-mediaType", Version::V03),
        ("happy-path-intoto-in-dsse-v3", Version::V03),
        ("managed-key-happy-path", Version::V03),
    ] {
        assert_eq!(parse(case).version, v, "{case}");
    }
    let e = verify("bundle-unknown-version_fail", &default_policy()).unwrap_err();
    assert!(
        matches!(&e, SigstoreError::Unsupported { what: "sigstore bundle", detail } if detail.contains("version=99.9")),
        "{e}"
    );
    assert!(Version::of("application/vnd.dev.sigstore.bundle.v0.4+json").is_err());
}

#[test]
fn malformed_bundles_are_refused_before_any_check() {
    let e = verify("bundle-malformed-json_fail", &default_policy()).unwrap_err();
    assert!(
        matches!(
            e,
            SigstoreError::Malformed {
                what: "sigstore bundle",
                ..
            }
        ),
        "{e}"
    );
    let e = verify("bundle-empty-certificate-chain_fail", &default_policy()).unwrap_err();
    assert!(
        matches!(&e, SigstoreError::Malformed { detail, .. } if detail.contains("empty")),
        "{e}"
    );
    let e = verify("bundle-invalid-base64-signature_fail", &default_policy()).unwrap_err();
    assert!(
        matches!(&e, SigstoreError::Malformed { what: "bundle message signature", detail } if detail.contains("base64")),
        "{e}"
    );
    for bad in [&b"{}"[..], b"[]", b"", b"\xff", b"{\"mediaType\":1}"] {
        assert!(Bundle::parse(bad).is_err());
    }
}

#[test]
fn a_chain_with_a_root_certificate_is_refused() {
    let e = verify("bundle-with-root-cert_fail", &default_policy()).unwrap_err();
    assert!(
        matches!(&e, SigstoreError::Certificate(m) if m.contains("root certificate")),
        "{e}"
    );
    // A chain of the leaf alone, or a leaf and an intermediate, is accepted as a shape.
    let Material::Certificate { intermediates, .. } = parse("happy-path-v0.1").material else {
        panic!()
    };
    assert!(intermediates.len() <= 1);
}

#[test]
fn log_entries_carry_what_the_bundle_version_requires() {
    let e = verify("bundle-negative-log-index_fail", &default_policy()).unwrap_err();
    assert!(
        matches!(&e, SigstoreError::Tlog(m) if m.contains("logIndex \"-1\"")),
        "{e}"
    );
    for case in [
        "intoto-missing-inclusion-proof_fail",
        "rekor2-no-inclusion-proof_fail",
    ] {
        let e = verify(case, &default_policy()).unwrap_err();
        assert!(
            matches!(&e, SigstoreError::Tlog(m) if m.contains("no inclusion proof")),
            "{case}: {e}"
        );
    }
    let mut v: serde_json::Value = serde_json::from_slice(&bundle_json("happy-path-v0.3")).unwrap();
    v["verificationMaterial"]["tlogEntries"] = serde_json::json!([]);
    let e = Bundle::parse(&serde_json::to_vec(&v).unwrap()).unwrap_err();
    assert!(matches!(&e, SigstoreError::Tlog(m) if m.contains("no transparency-log entry")));
}

#[test]
fn a_managed_key_bundle_needs_the_key_and_only_that_key() {
    let e = verify("managed-key-no-key_fail", &default_policy()).unwrap_err();
    assert!(
        matches!(&e, SigstoreError::Identity(m) if m.contains("managed key")),
        "{e}"
    );
    // The vector's "wrong key" is not even a key (its base64 is broken): refused as such.
    let pem = String::from_utf8(read("managed-key-wrong-key_fail", "key.pub")).unwrap();
    assert!(matches!(
        PublicKey::from_pem(&pem),
        Err(SigstoreError::Malformed {
            what: "public key",
            ..
        })
    ));
    // Another valid key does not verify the signature.
    let other = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let e = verify(
        "managed-key-happy-path",
        &Policy::Key(PublicKey::P256(*other.verifying_key())),
    )
    .unwrap_err();
    assert!(
        matches!(e, SigstoreError::BadSignature { what } if what.contains("messageSignature")),
        "{e}"
    );
    // A keyless bundle under a key policy is refused as the wrong kind of signer.
    let e = verify("happy-path-v0.3", &key_policy("managed-key-happy-path")).unwrap_err();
    assert!(
        matches!(&e, SigstoreError::Identity(m) if m.contains("keyless")),
        "{e}"
    );
}

#[test]
fn the_managed_key_signature_verifies_over_bytes_and_digest() {
    for case in ["managed-key-happy-path", "managed-key-and-trusted-root"] {
        let Policy::Key(key) = key_policy(case) else {
            panic!()
        };
        let b = parse(case);
        let Content::Message { signature, digest } = &b.content else {
            panic!()
        };
        let a = artifact(case);
        let d = content::sha256(Artifact::Bytes(&a));
        content::check_stated_digest(digest.as_deref(), &d).unwrap();
        content::check_message_signature(&key, Artifact::Bytes(&a), signature).unwrap();
        content::check_message_signature(&key, Artifact::Sha256(&d), signature).unwrap();
        // The key a log entry is compared with round-trips through DER.
        let der = key.spki_der().unwrap();
        assert!(PublicKey::from_spki_der(&der).is_ok());
    }
}

#[test]
fn the_message_digest_must_be_the_artifacts() {
    let e = verify("message-digest-mismatch_fail", &default_policy()).unwrap_err();
    assert!(
        matches!(&e, SigstoreError::Artifact(m) if m.contains("messageDigest")),
        "{e}"
    );
    // The same check holds for a digest-only artifact.
    let d = [0u8; 32];
    let e = verify_bundle(
        &bundle_json("happy-path-v0.3"),
        Artifact::Sha256(&d),
        &default_policy(),
        &TrustedRoot::builtin(false),
    )
    .unwrap_err();
    assert!(matches!(e, SigstoreError::Artifact(_)), "{e}");
}

#[test]
fn keyless_message_signatures_verify_with_the_leaf_key() {
    for case in [
        "happy-path-v0.1",
        "happy-path-v0.2",
        "happy-path-v0.3",
        "happy-path-v0.3-new-mediaType",
        "rekor2-happy-path",
    ] {
        let b = parse(case);
        let Content::Message { signature, .. } = &b.content else {
            panic!()
        };
        let a = artifact(case);
        let d = content::sha256(Artifact::Bytes(&a));
        let key = leaf_key(&b);
        content::check_message_signature(&key, Artifact::Bytes(&a), signature).unwrap();
        content::check_message_signature(&key, Artifact::Sha256(&d), signature).unwrap();
    }
    for case in ["signature-mismatch_fail", "wrong-material_fail"] {
        let b = parse(case);
        let Content::Message { signature, .. } = &b.content else {
            panic!()
        };
        let a = artifact(case);
        let e = content::check_message_signature(&leaf_key(&b), Artifact::Bytes(&a), signature)
            .unwrap_err();
        assert!(
            matches!(e, SigstoreError::BadSignature { .. }),
            "{case}: {e}"
        );
    }
}

#[test]
fn dsse_envelopes_verify_and_name_the_artifact() {
    for case in [
        "happy-path-intoto-in-dsse-v3",
        "rekor2-dsse-happy-path",
        "intoto-with-custom-trust-root",
    ] {
        let b = parse(case);
        let Content::Dsse { envelope, .. } = &b.content else {
            panic!()
        };
        let d = content::sha256(Artifact::Bytes(&artifact(case)));
        let payload = content::check_dsse(&leaf_key(&b), envelope, &d).unwrap();
        assert!(Statement::parse(&payload).unwrap().is_statement());
        // Another artifact is not a subject.
        let e = content::check_dsse(&leaf_key(&b), envelope, &[7; 32]).unwrap_err();
        assert!(
            matches!(&e, SigstoreError::Artifact(m) if m.contains("subjects")),
            "{case}: {e}"
        );
    }
    for case in ["dsse-invalid-sig_fail", "rekor2-dsse-invalid-sig_fail"] {
        let b = parse(case);
        let Content::Dsse { envelope, .. } = &b.content else {
            panic!()
        };
        let d = content::sha256(Artifact::Bytes(&artifact(case)));
        let e = content::check_dsse(&leaf_key(&b), envelope, &d).unwrap_err();
        assert!(
            matches!(e, SigstoreError::BadSignature { .. }),
            "{case}: {e}"
        );
    }
    // Whole-bundle: the subject check comes before any certificate work.
    let e = verify_bundle(
        &bundle_json("happy-path-intoto-in-dsse-v3"),
        Artifact::Bytes(b"not the subject"),
        &default_policy(),
        &TrustedRoot::builtin(false),
    )
    .unwrap_err();
    assert!(matches!(e, SigstoreError::Artifact(_)), "{e}");
}

#[test]
fn a_verified_time_is_required_and_none_may_be_in_the_future() {
    let now = 2_000_000_000;
    // Rekor v2: the entry proves no time, so without a timestamp there is none.
    let b = parse("rekor2-no-timestamp_fail");
    let e = collect_times(&b, now, |_, _| Ok(1), |_| Ok(None)).unwrap_err();
    assert!(
        matches!(&e, SigstoreError::Timestamp(m) if m.contains("no verified signing time")),
        "{e}"
    );
    // With a timestamp, that is the time; the signature is what it stamps.
    let b = parse("rekor2-happy-path");
    let Content::Message { signature, .. } = &b.content else {
        panic!()
    };
    let times = collect_times(
        &b,
        now,
        |_, sig| {
            assert_eq!(sig, signature.as_slice());
            Ok(1_700_000_000)
        },
        |_| Ok(None),
    )
    .unwrap();
    assert_eq!(times, vec![(1_700_000_000, TimeSource::Timestamp)]);
    // Rekor v1: the integrated time counts, and a failing entry is an error, not ignored.
    let b = parse("happy-path-v0.3");
    let times = collect_times(&b, now, |_, _| Ok(0), |_| Ok(Some(1_689_177_396))).unwrap();
    assert_eq!(times, vec![(1_689_177_396, TimeSource::Tlog)]);
    let e = collect_times(&b, now, |_, _| Ok(0), |_| Ok(Some(now + 1))).unwrap_err();
    assert!(
        matches!(&e, SigstoreError::Tlog(m) if m.contains("future")),
        "{e}"
    );
    let e = collect_times(
        &b,
        now,
        |_, _| Ok(0),
        |_| Err(SigstoreError::Tlog("bad SET".into())),
    )
    .unwrap_err();
    assert!(
        matches!(&e, SigstoreError::Tlog(m) if m == "bad SET"),
        "{e}"
    );
    // A timestamp that fails is an error too.
    let b = parse("rekor2-happy-path");
    let e = collect_times(
        &b,
        now,
        |_, _| Err(SigstoreError::Timestamp("untrusted TSA".into())),
        |_| Ok(None),
    )
    .unwrap_err();
    assert!(matches!(e, SigstoreError::Timestamp(_)));
}
