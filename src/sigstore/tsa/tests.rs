use super::*;
use crate::sigstore::time::format_rfc3339;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/vectors/sigstore-conformance/bundle-verify/"
);

/// A case's first timestamp, the stamped signature bytes, the leaf certificate and its root.
fn case(name: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>, TrustedRoot) {
    let dir = format!("{VECTORS}{name}/");
    let text = std::fs::read_to_string(format!("{dir}bundle.sigstore.json")).unwrap();
    let b: serde_json::Value = serde_json::from_str(&text).unwrap();
    // One case's base64 is wrapped in lines (as Go and Python decoders accept).
    let b64 = |v: &serde_json::Value| {
        let s: String = v.as_str().unwrap().split_whitespace().collect();
        crate::sigstore::b64("test", &s).unwrap()
    };
    let vm = &b["verificationMaterial"];
    let token = b64(&vm["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"]);
    let sig = if b["messageSignature"].is_object() {
        b64(&b["messageSignature"]["signature"])
    } else {
        b64(&b["dsseEnvelope"]["signatures"][0]["sig"])
    };
    let leaf = if vm["certificate"].is_object() {
        b64(&vm["certificate"]["rawBytes"])
    } else {
        b64(&vm["x509CertificateChain"]["certificates"][0]["rawBytes"])
    };
    let root = std::fs::read_to_string(format!("{dir}trusted_root.json")).unwrap();
    (token, sig, leaf, TrustedRoot::from_json(&root).unwrap())
}

fn ts_err(r: Result<Time, SigstoreError>) -> String {
    match r {
        Err(SigstoreError::Timestamp(m)) => m,
        other => panic!("expected a timestamp error, got {other:?}"),
    }
}

#[test]
fn timestamps_of_the_trusted_tsa_verify() {
    for (c, want) in [
        (
            "rekor2-timestamp-with-embedded-cert",
            "2025-08-06T18:51:36Z",
        ),
        (
            "rekor2-timestamp-without-embedded-cert",
            "2025-08-06T19:03:51Z",
        ),
        // The chain has expired since, but was valid at genTime.
        (
            "rekor2-timestamp-with-expired-cert-chain",
            "2025-08-07T15:32:26Z",
        ),
        ("intoto-with-custom-trust-root", "2023-02-01T00:00:00Z"),
        // genTime is the inclusive end of the TSA's validFor.
        (
            "trust-root-tsa-validity-end-inclusive",
            "2025-06-12T12:02:20Z",
        ),
    ] {
        let (token, sig, leaf, root) = case(c);
        let t = verify_timestamp(&token, &sig, &root).unwrap();
        assert_eq!(format_rfc3339(t), want, "{c}");
        crate::sigstore::cert::verify_chain(&leaf, &[], &root, t).unwrap();
    }
}

#[test]
fn a_tsa_outside_its_trust_root_validity_fails() {
    let (token, sig, _, root) = case("rekor2-timestamp-outside-trust-root-tsa-validity_fail");
    let m = ts_err(verify_timestamp(&token, &sig, &root));
    assert!(
        m.contains("is not valid at 2025-06-12T12:02:20Z (valid 2025-04-09T00:00:00Z..2025-06-01T00:00:00Z)"),
        "{m}"
    );
}

#[test]
fn a_tsa_certificate_expired_at_gen_time_fails() {
    let (token, sig, _, root) = case("rekor2-timestamp-outside-tsa-cert-validity_fail");
    let m = ts_err(verify_timestamp(&token, &sig, &root));
    assert!(
        m.contains("\"CN=Test TSA Timestamping,O=local\" is not valid at 2025-08-07T15:38:32Z"),
        "{m}"
    );
}

#[test]
fn a_timestamp_of_another_signature_fails() {
    let (token, sig, _, root) = case("rekor2-timestamp-payload-mismatch_fail");
    let m = ts_err(verify_timestamp(&token, &sig, &root));
    assert!(m.contains("message imprint"), "{m}");
}

#[test]
fn an_untrusted_tsa_fails() {
    let (token, sig, _, root) = case("rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail");
    let m = ts_err(verify_timestamp(&token, &sig, &root));
    assert!(m.contains("does not chain") && m.contains("freetsa"), "{m}");
    let (token, sig, _, root) = case("rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail");
    let m = ts_err(verify_timestamp(&token, &sig, &root));
    assert!(m.contains("no certificate for the signer"), "{m}");
}

/// These timestamps are valid; what fails is the signing certificate at genTime, which the
/// bundle checks by chaining the leaf at the verified time.
#[test]
fn a_timestamp_outside_the_signing_certificate_fails_the_chain() {
    for c in [
        "rekor2-timestamp-with-incorrect-time_fail",
        "intoto-tsa-timestamp-outside-cert-validity_fail",
    ] {
        let (token, sig, leaf, root) = case(c);
        let t = verify_timestamp(&token, &sig, &root).unwrap();
        match crate::sigstore::cert::verify_chain(&leaf, &[], &root, t) {
            Err(SigstoreError::Certificate(m)) => assert!(m.contains("is not valid at"), "{m}"),
            other => panic!("{c}: {other:?}"),
        }
    }
}

#[test]
fn a_tampered_tst_info_fails_its_message_digest() {
    let (mut token, sig, _, root) = case("rekor2-timestamp-with-embedded-cert");
    let at = token
        .windows(14)
        .position(|w| w == b"20250806185136")
        .unwrap();
    token[at + 13] = b'7';
    let m = ts_err(verify_timestamp(&token, &sig, &root));
    assert!(m.contains("message digest"), "{m}");
}

#[test]
fn garbage_is_malformed_not_a_panic() {
    let (token, sig, _, root) = case("rekor2-timestamp-with-embedded-cert");
    for n in [0, 1, 2, 10, 100, token.len() / 2, token.len() - 1] {
        assert!(verify_timestamp(&token[..n], &sig, &root).is_err());
    }
    assert!(matches!(
        verify_timestamp(b"\x30\x03\x02\x01\x00", &sig, &root),
        Err(SigstoreError::Malformed { .. })
    ));
}

#[test]
fn gen_time_fractions_are_dropped() {
    assert_eq!(generalized_time(b"19700101000001Z"), Some(1));
    assert_eq!(generalized_time(b"19700101000001.999Z"), Some(1));
    assert_eq!(generalized_time(b"19700101000001."), None);
    assert_eq!(generalized_time(b"1970010100000Z"), None);
}
