use super::*;
use crate::sigstore::time::parse_rfc3339;
use crate::sigstore::trust_root::PRODUCTION;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/vectors/sigstore-conformance/bundle-verify/"
);

/// A case's certificates (leaf first), first log entry's integratedTime and trust root.
fn case(name: &str) -> (Vec<Vec<u8>>, Option<Time>, TrustedRoot) {
    let dir = format!("{VECTORS}{name}/");
    let text = std::fs::read_to_string(format!("{dir}bundle.sigstore.json")).unwrap();
    let b: serde_json::Value = serde_json::from_str(&text).unwrap();
    let vm = &b["verificationMaterial"];
    let raw: Vec<&serde_json::Value> = match vm["x509CertificateChain"]["certificates"].as_array() {
        Some(a) => a.iter().collect(),
        None => vec![&vm["certificate"]],
    };
    let certs = raw
        .iter()
        .map(|c| crate::sigstore::b64("cert", c["rawBytes"].as_str().unwrap()).unwrap())
        .collect();
    let at = vm["tlogEntries"][0]["integratedTime"]
        .as_str()
        .map(|s| s.parse().unwrap());
    let root = std::fs::read_to_string(format!("{dir}trusted_root.json"))
        .unwrap_or_else(|_| PRODUCTION.to_string());
    (certs, at, TrustedRoot::from_json(&root).unwrap())
}

fn cert_err(r: Result<Leaf, SigstoreError>) -> String {
    match r {
        Err(SigstoreError::Certificate(m)) => m,
        other => panic!("expected a certificate error, got {other:?}"),
    }
}

#[test]
fn happy_path_v03_chains_with_its_sct() {
    let (certs, at, root) = case("happy-path-v0.3");
    let leaf = verify_chain(&certs[0], &[], &root, at.unwrap()).unwrap();
    assert_eq!(
        leaf.identity.as_deref(),
        Some("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main")
    );
    assert_eq!(
        leaf.issuer.as_deref(),
        Some("https://token.actions.githubusercontent.com")
    );
    assert!(leaf.not_before <= at.unwrap() && at.unwrap() <= leaf.not_after);
}

#[test]
fn a_time_outside_the_leaf_validity_fails() {
    let (certs, at, root) = case("happy-path-v0.3");
    let leaf = parse_leaf(&certs[0]).unwrap();
    let m = cert_err(verify_chain(&certs[0], &[], &root, leaf.not_after + 1));
    assert!(m.contains("is not valid at"), "{m}");
    let m = cert_err(verify_chain(&certs[0], &[], &root, leaf.not_before - 1));
    assert!(m.contains("is not valid at"), "{m}");
    assert!(verify_chain(&certs[0], &[], &root, at.unwrap()).is_ok());
}

#[test]
fn a_root_in_the_bundle_chain_is_refused() {
    let (certs, at, root) = case("bundle-with-root-cert_fail");
    assert_eq!(certs.len(), 3);
    let m = cert_err(verify_chain(&certs[0], &certs[1..], &root, at.unwrap()));
    assert!(m.contains("contains the root certificate"), "{m}");
}

#[test]
fn the_sct_must_verify_with_a_trusted_ct_log_key() {
    let (certs, at, root) = case("invalid-ct-key_fail");
    let m = cert_err(verify_chain(&certs[0], &certs[1..], &root, at.unwrap()));
    assert!(
        m.contains("no embedded SCT verifies") && m.contains("is not a CT log of the trust root"),
        "{m}"
    );
    // The same certificate chains and its SCT verifies under the production root.
    let prod = TrustedRoot::from_json(PRODUCTION).unwrap();
    verify_chain(&certs[0], &[], &prod, at.unwrap()).unwrap();
}

#[test]
fn an_sct_with_extensions_verifies() {
    let (certs, _, root) = case("bundle-with-sct-with-extensions");
    let leaf = parse_leaf(&certs[0]).unwrap();
    verify_chain(&certs[0], &[], &root, leaf.not_before + 1).unwrap();
}

#[test]
fn a_certificate_outside_the_ca_validity_fails() {
    // The leaf is issued in 2030; the log entry says 2023.
    let (certs, at, root) = case("intoto-expired-certificate_fail");
    let m = cert_err(verify_chain(&certs[0], &[], &root, at.unwrap()));
    assert!(m.contains("is not valid at 2023-02-01T00:00:00Z"), "{m}");
}

#[test]
fn a_custom_trust_root_is_the_only_anchor() {
    let (certs, at, root) = case("intoto-with-custom-trust-root");
    let leaf = verify_chain(&certs[0], &[], &root, at.unwrap()).unwrap();
    assert!(leaf.identity.is_some());
    // Not under the production root.
    let prod = TrustedRoot::from_json(PRODUCTION).unwrap();
    let m = cert_err(verify_chain(&certs[0], &[], &prod, at.unwrap()));
    assert!(m.contains("does not chain"), "{m}");
}

#[test]
fn the_ca_validity_period_must_contain_the_time() {
    let (certs, at, mut root) = case("happy-path-v0.3");
    for ca in &mut root.certificate_authorities {
        ca.valid_for.end = Some(parse_rfc3339("2024-01-01T00:00:00Z").unwrap());
    }
    let m = cert_err(verify_chain(&certs[0], &[], &root, at.unwrap()));
    assert!(m.contains("is not valid at 2024-03-19"), "{m}");
}

#[test]
fn garbage_is_malformed_not_a_panic() {
    let root = TrustedRoot::from_json(PRODUCTION).unwrap();
    for bytes in [&b""[..], b"\x30\x03\x02\x01\x00", b"\x30\x80"] {
        assert!(matches!(
            verify_chain(bytes, &[], &root, 0),
            Err(SigstoreError::Malformed { .. })
        ));
        assert!(parse_leaf(bytes).is_err());
    }
}
